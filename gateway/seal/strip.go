package seal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxHeaderBytes bounds the header section (every field, with its folded
// continuation lines, up to and including the blank line) that
// [StripHeaders] accepts. It matches go-message's default limit.
const MaxHeaderBytes = 1 << 20

// ControlHeaderPrefix starts every Sealpost control header, such as
// X-Sealpost-Recipient-Phone, X-Sealpost-Encrypt or X-Sealpost-Id. Fields
// with this prefix are stripped before sealing, whatever their case.
const ControlHeaderPrefix = "X-Sealpost-"

// Errors returned by [StripHeaders] for messages it refuses.
var (
	ErrNoBodySeparator = errors.New("seal: message has no blank line ending its header")
	ErrHeaderTooLarge  = errors.New("seal: message header exceeds the size limit")
)

// StrippedHeaders returns the names of the fields that [StripHeaders] removes
// by exact name (compared case-insensitively). Fields starting with
// [ControlHeaderPrefix] are removed too.
func StrippedHeaders() []string {
	return []string{"Bcc", "Resent-Bcc"}
}

// IsStrippedHeader reports whether a field with this name is removed from the
// original message before it is sealed: Bcc and Resent-Bcc must not reach the
// other recipients, and the X-Sealpost-* control headers are instructions to
// the gateway. Trailing spaces and tabs before the colon (an obsolete form
// that parsers still accept) are ignored.
func IsStrippedHeader(name string) bool {
	name = strings.TrimRight(name, " \t")
	for _, s := range StrippedHeaders() {
		if strings.EqualFold(name, s) {
			return true
		}
	}
	return len(name) >= len(ControlHeaderPrefix) &&
		strings.EqualFold(name[:len(ControlHeaderPrefix)], ControlHeaderPrefix)
}

// StripHeaders copies the message from src to dst without the fields for
// which [IsStrippedHeader] is true, including their folded continuation lines.
// Every other byte is copied exactly: the other fields with their order,
// case and folding, the line endings (CRLF or LF), the blank line and the
// whole body. It streams; only one header field is held at a time.
//
// A line starting with a space or tab continues the field before it (a
// whitespace-only line too, as RFC 5322 folding allows), so a removed field
// never leaves a continuation behind. A line without a colon is copied.
//
// A message whose header is not ended by a blank line ([ErrNoBodySeparator])
// or whose header exceeds [MaxHeaderBytes] ([ErrHeaderTooLarge]) is refused.
// On error, what was already written to dst is incomplete and must be
// discarded.
func StripHeaders(dst io.Writer, src io.Reader) error {
	br := bufio.NewReaderSize(src, 32<<10)
	bw := bufio.NewWriterSize(dst, 32<<10)

	var field []byte // the current field: first line and continuations
	total := 0
	flush := func() error {
		if len(field) == 0 || fieldStripped(field) {
			field = field[:0]
			return nil
		}
		_, err := bw.Write(field)
		field = field[:0]
		return err
	}

	for {
		line, err := readHeaderLine(br, &total)
		if err != nil {
			return err
		}
		if isBlankLine(line) {
			if err := flush(); err != nil {
				return fmt.Errorf("failed to write header: %w", err)
			}
			if _, err := bw.Write(line); err != nil {
				return fmt.Errorf("failed to write header: %w", err)
			}
			break
		}
		if len(field) == 0 || (line[0] != ' ' && line[0] != '\t') {
			if err := flush(); err != nil {
				return fmt.Errorf("failed to write header: %w", err)
			}
		}
		field = append(field, line...)
	}

	if _, err := br.WriteTo(bw); err != nil {
		return fmt.Errorf("failed to copy body: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("failed to copy body: %w", err)
	}
	return nil
}

// readHeaderLine returns the next line including its LF, adding its length
// to total and refusing to go beyond MaxHeaderBytes.
func readHeaderLine(br *bufio.Reader, total *int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		*total += len(chunk)
		if *total > MaxHeaderBytes {
			return nil, ErrHeaderTooLarge
		}
		switch {
		case err == nil && line == nil:
			return chunk, nil
		case err == nil:
			return append(line, chunk...), nil
		case errors.Is(err, bufio.ErrBufferFull):
			line = append(line, chunk...)
		case errors.Is(err, io.EOF):
			return nil, ErrNoBodySeparator
		default:
			return nil, fmt.Errorf("failed to read header: %w", err)
		}
	}
}

// isBlankLine reports whether line is the empty line ending a header.
func isBlankLine(line []byte) bool {
	return len(line) == 1 || (len(line) == 2 && line[0] == '\r')
}

// fieldStripped reports whether the raw field must be removed. A field that
// starts with whitespace (a continuation with nothing before it) or has no
// colon has no name and is kept.
func fieldStripped(field []byte) bool {
	colon := bytes.IndexByte(field, ':')
	if colon < 0 {
		return false
	}
	if nl := bytes.IndexByte(field, '\n'); nl < colon {
		return false // the first line has no colon
	}
	return IsStrippedHeader(string(field[:colon]))
}
