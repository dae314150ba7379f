package seal

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// idPlaceholder stands in for the X-Sealpost-Id value while the body of an
// envelope is written and hashed.
const idPlaceholder = "sealpost-id-pending"

// PreparedEnvelope is an envelope whose body has been written and hashed
// and which waits for its X-Sealpost-Id. The X-Sealpost-Id MAC covers the
// message id and BodySHA256, so that a sealed copy whose body was changed in
// any way, an added part or an edited notice, no longer verifies and is
// sealed again instead of passing as already sealed.
type PreparedEnvelope struct {
	header []byte
	// BodySHA256 is the SHA-256 of every byte after the header's blank line.
	BodySHA256 []byte
}

// PrepareEnvelope writes the body of the envelope for e (as [WriteEnvelope]
// would) to body, streaming, and hashes it. e.IDHeader is ignored: sign the
// id with [SignID] over BodySHA256 and pass it to [PreparedEnvelope.Write].
func PrepareEnvelope(body io.Writer, e Envelope, ciphertext io.Reader) (*PreparedEnvelope, error) {
	e.IDHeader = idPlaceholder
	sp := &headerSplitter{body: body, sum: sha256.New()}
	if err := WriteEnvelope(sp, e, ciphertext); err != nil {
		return nil, err
	}
	if !sp.inBody {
		return nil, errors.New("seal: envelope has no header/body separator")
	}
	return &PreparedEnvelope{header: sp.head.Bytes(), BodySHA256: sp.sum.Sum(nil)}, nil
}

// Write writes the header, with idValue (from [SignID]) as X-Sealpost-Id,
// then the body read from body.
func (p *PreparedEnvelope) Write(dst io.Writer, idValue string, body io.Reader) error {
	h, err := p.headerWithID(idValue)
	if err != nil {
		return err
	}
	if _, err := dst.Write(h); err != nil {
		return fmt.Errorf("failed to write envelope header: %w", err)
	}
	if _, err := io.CopyBuffer(dst, body, make([]byte, 32<<10)); err != nil {
		return fmt.Errorf("failed to write envelope body: %w", err)
	}
	return nil
}

// Reader returns the same bytes as [PreparedEnvelope.Write] as a reader:
// the header, with idValue (from [SignID]) as X-Sealpost-Id, then body,
// read as the returned reader is. It needs no copy and no goroutine.
func (p *PreparedEnvelope) Reader(idValue string, body io.Reader) (io.Reader, error) {
	h, err := p.headerWithID(idValue)
	if err != nil {
		return nil, err
	}
	return io.MultiReader(bytes.NewReader(h), body), nil
}

// headerWithID returns the header with idValue in place of the placeholder.
func (p *PreparedEnvelope) headerWithID(idValue string) ([]byte, error) {
	if !printableASCII(idValue) {
		return nil, fmt.Errorf("%w: bad %s value", ErrInvalidEnvelope, IDHeader)
	}
	old := []byte(IDHeader + ": " + idPlaceholder + "\r\n")
	if bytes.Count(p.header, old) != 1 {
		return nil, errors.New("seal: prepared header has no single X-Sealpost-Id placeholder")
	}
	return bytes.Replace(p.header, old, []byte(IDHeader+": "+foldID(idValue)+"\r\n"), 1), nil
}

// foldID folds an X-Sealpost-Id value after each "; " so that no line is
// longer than 76 characters.
func foldID(v string) string {
	return strings.ReplaceAll(v, "; ", ";\r\n ")
}

// BodySHA256 returns the SHA-256 of everything after the header of msg:
// the value an X-Sealpost-Id MAC covers.
func BodySHA256(msg io.Reader) ([]byte, error) {
	br := bufio.NewReaderSize(msg, 32<<10)
	if _, err := textproto.ReadHeader(br); err != nil {
		return nil, fmt.Errorf("failed to read header: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, br); err != nil {
		return nil, fmt.Errorf("failed to read body: %w", err)
	}
	return h.Sum(nil), nil
}

// headerSplitter keeps the header of a message in memory and passes the
// body on, hashing it.
type headerSplitter struct {
	head   bytes.Buffer
	body   io.Writer
	sum    hash.Hash
	inBody bool
}

func (s *headerSplitter) Write(p []byte) (int, error) {
	if s.inBody {
		s.sum.Write(p)
		return s.body.Write(p)
	}
	n := len(p)
	start := max(0, s.head.Len()-3)
	s.head.Write(p)
	i := bytes.Index(s.head.Bytes()[start:], []byte("\r\n\r\n"))
	if i < 0 {
		if s.head.Len() > MaxHeaderBytes {
			return 0, ErrHeaderTooLarge
		}
		return n, nil
	}
	end := start + i + 4
	rest := append([]byte(nil), s.head.Bytes()[end:]...)
	s.head.Truncate(end)
	s.inBody = true
	if len(rest) > 0 {
		s.sum.Write(rest)
		if _, err := s.body.Write(rest); err != nil {
			return 0, err
		}
	}
	return n, nil
}
