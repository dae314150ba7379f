package extract

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// state is the work on one message: its budgets and what was found so far.
type state struct {
	ctx      context.Context
	lim      Limits
	res      *Result
	out      int64 // text bytes produced
	inflated int64 // bytes inflated or read into memory from containers
	parts    int   // MIME parts and archive entries seen
	steps    uint  // loop iterations, for cheap context checks
	hook     func(kind string)
}

// tick counts one step of a loop and reports errBudget once the context is
// done. It looks at the context every 256 steps.
func (s *state) tick() error {
	s.steps++
	if s.steps&255 == 0 && s.ctx.Err() != nil {
		return errBudget
	}
	return nil
}

// done reports whether the context is done, looking at it now.
func (s *state) done() bool { return s.ctx.Err() != nil }

// addPart counts one more MIME part or archive entry.
func (s *state) addPart() error {
	s.parts++
	if s.parts > s.lim.MaxParts {
		return errBudget
	}
	return nil
}

func (s *state) skip(where, kind, reason string) {
	s.res.Skipped = append(s.res.Skipped, Skipped{Where: where, Kind: kind, Reason: reason})
}

// fail records that the part at where could not be read wholly, because of
// err.
func (s *state) fail(where, kind string, err error) {
	switch {
	case errors.Is(err, errEncrypted):
		s.skip(where, kind, ReasonEncrypted)
	case errors.Is(err, errBudget):
		s.res.Truncated = true
		s.skip(where, kind, ReasonUnscannable)
	default:
		s.skip(where, kind, ReasonUnscannable)
	}
}

// inflateReader returns r bounded by the decompression budget: reading past
// it fails with errBudget, as does reading after the context is done.
func (s *state) inflateReader(r io.Reader) io.Reader {
	return &budgetReader{s: s, r: r}
}

type budgetReader struct {
	s *state
	r io.Reader
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.s.done() {
		return 0, errBudget
	}
	left := b.s.lim.MaxDecompressed - b.s.inflated
	if left <= 0 {
		return 0, errBudget
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.r.Read(p)
	b.s.inflated += int64(n)
	return n, err
}

// readAll reads r within the decompression budget and the given cap. A read
// cut short returns what was read and errBudget.
func (s *state) readAll(r io.Reader, max int64) ([]byte, error) {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, io.LimitReader(s.inflateReader(r), max+1))
	data := buf.Bytes()
	if int64(len(data)) > max {
		return data[:max], errBudget
	}
	return data, err
}

// readPart reads a MIME part body, at most MaxPartBytes (and at most
// MaxDecompressed) bytes of it.
func (s *state) readPart(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	max := min(s.lim.MaxPartBytes, s.lim.MaxDecompressed)
	_, err := io.Copy(&buf, io.LimitReader(&ctxReader{ctx: s.ctx, r: r}, max+1))
	data := buf.Bytes()
	if int64(len(data)) > max {
		return data[:max], errBudget
	}
	return data, err
}

// sink collects the text of one unit within the MaxBytes budget.
type sink struct {
	s    *state
	b    strings.Builder
	full bool
}

func (k *sink) WriteString(p string) error {
	n, err := k.take(len(p))
	k.b.WriteString(p[:n])
	return err
}

// writeBytes is WriteString for a byte slice, without a copy.
func (k *sink) writeBytes(p []byte) error {
	n, err := k.take(len(p))
	k.b.Write(p[:n])
	return err
}

// take books n bytes against the MaxBytes budget and returns how many fit,
// with errBudget once the budget is full.
func (k *sink) take(n int) (int, error) {
	if k.full {
		return 0, errBudget
	}
	if left := k.s.lim.MaxBytes - k.s.out; int64(n) > left {
		n = int(left)
		k.full = true
	}
	k.s.out += int64(n)
	if k.full {
		return n, errBudget
	}
	return n, nil
}

func (k *sink) WriteByte(c byte) error {
	if k.full || k.s.out >= k.s.lim.MaxBytes {
		k.full = true
		return errBudget
	}
	k.b.WriteByte(c)
	k.s.out++
	return nil
}

func (k *sink) WriteRune(r rune) error {
	if r < utf8.RuneSelf {
		return k.WriteByte(byte(r))
	}
	n := int64(utf8.RuneLen(r))
	if n < 0 {
		r, n = utf8.RuneError, 3
	}
	if k.full || k.s.out+n > k.s.lim.MaxBytes {
		k.full = true
		return errBudget
	}
	k.b.WriteRune(r)
	k.s.out += n
	return nil
}

// lastByte returns the last byte written, or '\n' if none.
func (k *sink) lastByte() byte {
	s := k.b.String()
	if s == "" {
		return '\n'
	}
	return s[len(s)-1]
}

// sep writes c (a space or a newline) unless the text already ends in
// white space.
func (k *sink) sep(c byte) error {
	switch k.lastByte() {
	case '\n':
		return nil
	case ' ', '\t':
		if c == ' ' || c == '\t' {
			return nil
		}
	}
	return k.WriteByte(c)
}

func (k *sink) String() string { return strings.ToValidUTF8(k.b.String(), "\uFFFD") }
