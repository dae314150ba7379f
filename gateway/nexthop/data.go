package nexthop

import (
	"bufio"
	"bytes"
	"io"
)

// dataBufferSize is the size of the buffer between the message and the connection during DATA: four TLS
// records of the largest size.
const dataBufferSize = 64 << 10

// dataWriter writes a message body for DATA (RFC 5321 section 4.5.2) straight onto the connection: every line
// ends in CRLF (a bare LF gets a CR in front) and a line that begins with "." gets another one in front.
//
// What it writes is byte for byte what net/textproto's DotWriter, which go-smtp's client uses for DATA, makes of
// the same input, quirks included (of an even run of CRs before an LF, none is taken as the CR of the line
// ending). But DotWriter works a byte at a time into a 4 KiB buffer, which made the sealed copy's dot-stuffing
// and its 4 KiB TLS records a tenth of the relay's CPU; dataWriter copies whole lines into a 64 KiB buffer.
//
// The message's final line ending is held back: [dataWriter.finish] writes it through go-smtp's writer, whose
// Close then adds the final dot and reads the reply, so that go-smtp's own state stays consistent.
type dataWriter struct {
	bw      *bufio.Writer
	bol     bool  // the next byte begins a line
	cr      bool  // a CR is held back: whether it ends a line depends on the next byte
	eol     bool  // a line ending (CRLF) is held back
	written bool  // the message is not empty
	err     error // the first write error
}

// reset prepares d for a new message written to bw.
func (d *dataWriter) reset(bw *bufio.Writer) {
	*d = dataWriter{bw: bw, bol: true}
}

// Write writes p, dot-stuffed and with CRLF line endings.
func (d *dataWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n := len(p)
	if n > 0 {
		d.written = true
	}
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.span(p)
			break
		}
		d.span(p[:i])
		// The LF ends the line, after a held-back CR or not: either way the line ending is CRLF.
		d.flushEOL()
		d.cr, d.eol, d.bol = false, true, true
		p = p[i+1:]
	}
	if d.err != nil {
		return 0, d.err
	}
	return n, nil
}

// span writes s, which holds no LF.
func (d *dataWriter) span(s []byte) {
	if len(s) == 0 {
		return
	}
	d.flushEOL()
	if d.cr {
		// The held-back CR did not end a line, so it is data, and so is the byte after it, even a CR.
		d.writeByte('\r')
		d.writeByte(s[0])
		d.cr = false
		s = s[1:]
		if len(s) == 0 {
			return
		}
	}
	if d.bol && s[0] == '.' {
		d.writeByte('.')
	}
	d.bol = false
	// In a run of CRs the first may begin a line ending, the next is then data, and so on: an odd run at the
	// end leaves its last CR held back.
	r := 0
	for r < len(s) && s[len(s)-1-r] == '\r' {
		r++
	}
	if r%2 == 1 {
		d.write(s[:len(s)-1])
		d.cr = true
		return
	}
	d.write(s)
}

// crlf is a line ending (a package variable, so that writing it allocates nothing).
var crlf = []byte("\r\n")

// flushEOL writes a held-back line ending.
func (d *dataWriter) flushEOL() {
	if d.eol {
		d.write(crlf)
		d.eol = false
	}
}

func (d *dataWriter) write(p []byte) {
	if d.err == nil {
		_, d.err = d.bw.Write(p)
	}
}

func (d *dataWriter) writeByte(c byte) {
	if d.err == nil {
		d.err = d.bw.WriteByte(c)
	}
}

// finish flushes the buffer and writes the final line ending through dot, go-smtp's DATA writer (which has
// seen nothing before): a held-back line ending or CR, or the one a message that does not end in a line
// ending needs, is always CRLF. An empty message gets none, as DotWriter would give it. Closing dot then
// writes the final ".".
func (d *dataWriter) finish(dot io.Writer) error {
	if d.err != nil {
		return d.err
	}
	if err := d.bw.Flush(); err != nil {
		d.err = err
		return err
	}
	if !d.written {
		return nil
	}
	if _, err := dot.Write(crlf); err != nil {
		d.err = err
		return err
	}
	return nil
}
