package seal

import (
	"encoding/base64"
	"io"
)

// lineBytes is how many bytes of input make one 76-character line of
// base64 (RFC 2045 section 6.8).
const lineBytes = 57

// lineChars is the length of a full base64 line, without its CRLF.
const lineChars = 76

// outLines is how many lines base64Lines collects before writing them.
const outLines = 105

// base64Lines is an io.WriteCloser that writes what it is given as base64
// in lines of 76 characters, each line after the first preceded by CRLF,
// the last one not ended (a multipart writer ends the part with CRLF and
// the boundary). The output is what go-message writes for a base64 part,
// but it is made a whole line at a time, full lines straight from the
// caller's bytes, into a buffer of whole lines, instead of through a
// streaming encoder and a line wrapper that each copy a few bytes at a
// time.
type base64Lines struct {
	w       io.Writer
	pending [lineBytes]byte // input not yet encoded, less than a line
	npend   int
	out     [outLines * (lineChars + 2)]byte // encoded lines not yet written to w
	nout    int
	started bool  // a line has been made: the next one needs a CRLF first
	err     error // sticky
}

// newBase64Lines returns a base64Lines writing to w.
func newBase64Lines(w io.Writer) *base64Lines {
	return &base64Lines{w: w}
}

// Write encodes p. Output is written to w whenever the buffer is full, and
// by Close.
func (e *base64Lines) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n := len(p)
	if e.npend > 0 {
		k := copy(e.pending[e.npend:], p)
		e.npend += k
		p = p[k:]
		if e.npend < lineBytes {
			return n, nil
		}
		if err := e.line(e.pending[:]); err != nil {
			return 0, err
		}
		e.npend = 0
	}
	for len(p) >= lineBytes {
		if err := e.line(p[:lineBytes]); err != nil {
			return 0, err
		}
		p = p[lineBytes:]
	}
	e.npend = copy(e.pending[:], p)
	return n, nil
}

// line appends the encoding of src, at most lineBytes, as one line.
func (e *base64Lines) line(src []byte) error {
	if len(e.out)-e.nout < lineChars+2 {
		if err := e.flush(); err != nil {
			return err
		}
	}
	if e.started {
		e.out[e.nout], e.out[e.nout+1] = '\r', '\n'
		e.nout += 2
	}
	e.started = true
	base64.StdEncoding.Encode(e.out[e.nout:], src)
	e.nout += base64.StdEncoding.EncodedLen(len(src))
	return nil
}

func (e *base64Lines) flush() error {
	if e.nout == 0 {
		return nil
	}
	if _, err := e.w.Write(e.out[:e.nout]); err != nil {
		e.err = err
		return err
	}
	e.nout = 0
	return nil
}

// Close encodes what is left, with padding, and writes all output to w. It
// does not close w.
func (e *base64Lines) Close() error {
	if e.err != nil {
		return e.err
	}
	if e.npend > 0 {
		if err := e.line(e.pending[:e.npend]); err != nil {
			return err
		}
		e.npend = 0
	}
	return e.flush()
}
