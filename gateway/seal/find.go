package seal

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-message"
)

// Bounds for [FindSealedAttachment].
const (
	// MaxFindDepth is the deepest multipart nesting walked.
	MaxFindDepth = 16
	// MaxFindParts is the most MIME parts walked.
	MaxFindParts = 1000
)

// Errors returned by [FindSealedAttachment].
var (
	ErrTooComplex          = errors.New("seal: message nests too deep or has too many parts")
	ErrDuplicateAttachment = errors.New("seal: message has more than one " + AttachmentName + " attachment")
)

// FindSealedAttachment walks the MIME structure of msg looking for the part
// named [AttachmentName] (by Content-Disposition filename or Content-Type
// name), decodes its transfer encoding and returns the SHA-256 of the
// decoded bytes, which for an envelope from [WriteEnvelope] is the
// ciphertext hash signed in X-Sealpost-Id. The relay uses it to recognise
// mail it has already sealed.
//
// It walks at most [MaxFindParts] parts, [MaxFindDepth] levels deep, and
// does not descend into message/rfc822 parts (a forwarded envelope is not
// this message's ciphertext). The top-level header is limited to 1 MiB;
// the attachment is hashed as it streams, so memory does not grow with its
// size. A message with two such attachments is an error
// ([ErrDuplicateAttachment]): which one is "the" ciphertext would be
// ambiguous. Parts it does not need are not decoded, so an unknown transfer
// encoding or charset elsewhere is no error.
func FindSealedAttachment(msg io.Reader) (ciphertextSHA256 []byte, found bool, err error) {
	return findAttachment(msg, nil)
}

// ExtractSealedAttachment writes the decoded [AttachmentName] part of msg
// to w, with the same bounds and rules as [FindSealedAttachment]. On error,
// w may hold part of the attachment.
func ExtractSealedAttachment(msg io.Reader, w io.Writer) (found bool, err error) {
	_, found, err = findAttachment(msg, w)
	return found, err
}

func findAttachment(msg io.Reader, out io.Writer) ([]byte, bool, error) {
	e, err := message.Read(msg)
	if err != nil && !tolerable(err) {
		return nil, false, fmt.Errorf("failed to parse message: %w", err)
	}
	f := finder{out: out}
	if err := f.walk(e, err, 0); err != nil {
		return nil, false, err
	}
	return f.sum, f.sum != nil, nil
}

type finder struct {
	parts int
	sum   []byte
	out   io.Writer // where the attachment is copied, if not nil
}

// tolerable reports whether err only says that the body of a part cannot
// be decoded, which matters only for the attachment itself.
func tolerable(err error) bool {
	return message.IsUnknownCharset(err) || message.IsUnknownEncoding(err)
}

func (f *finder) walk(e *message.Entity, decodeErr error, depth int) error {
	f.parts++
	if f.parts > MaxFindParts || depth > MaxFindDepth {
		return ErrTooComplex
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil && !tolerable(err) {
				return fmt.Errorf("failed to parse message part: %w", err)
			}
			if err := f.walk(p, err, depth+1); err != nil {
				return err
			}
		}
	}
	if !isSealedAttachment(e.Header) {
		return nil
	}
	if f.sum != nil {
		return ErrDuplicateAttachment
	}
	if message.IsUnknownEncoding(decodeErr) {
		return fmt.Errorf("failed to decode %s: %w", AttachmentName, decodeErr)
	}
	h := sha256.New()
	var dst io.Writer = h
	if f.out != nil {
		dst = io.MultiWriter(h, f.out)
	}
	if _, err := io.Copy(dst, e.Body); err != nil {
		return fmt.Errorf("failed to decode %s: %w", AttachmentName, err)
	}
	f.sum = h.Sum(nil)
	return nil
}

// isSealedAttachment reports whether a part is named AttachmentName.
func isSealedAttachment(h message.Header) bool {
	if _, params, err := h.ContentDisposition(); err == nil && params["filename"] == AttachmentName {
		return true
	}
	_, params, err := h.ContentType()
	return err == nil && params["name"] == AttachmentName
}
