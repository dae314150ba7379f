package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Sizes of the standard benchmark message: about 20 KB of text and a 100 KB
// PDF attachment, about 160 KB on the wire once the PDF is base64 encoded.
const (
	textBytes = 20 << 10
	pdfBytes  = 100 << 10
)

// Envelope of every benchmark message.
const (
	benchFrom = "estates@example.org"
	benchTo   = "facilities@example.net"
)

// pdfFile returns a minimal valid PDF of exactly size bytes: a catalog, a
// page tree, two pages of text in a standard font, and an unreferenced
// stream of incompressible pseudo-random bytes, marked like an embedded font
// program, that brings the file to size (a real PDF's bulk is compressed
// fonts and images). The cross-reference table gives the exact offset of
// every object. The bytes depend only on size and seed.
func pdfFile(size int, seed uint64) ([]byte, error) {
	const pages = 2
	build := func(pad int) []byte {
		var b bytes.Buffer
		var offsets []int
		obj := func(body string) {
			offsets = append(offsets, b.Len())
			fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
		}
		b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
		// Objects 1 catalog, 2 page tree, 3 font, then a page and its
		// content stream per page.
		obj("<< /Type /Catalog /Pages 2 0 R >>")
		kids := make([]string, pages)
		for i := range pages {
			kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
		}
		obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
		obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
		lines := strings.Split(strings.TrimSpace(string(textPart(3500))), "\r\n")
		for i := range pages {
			var c strings.Builder
			c.WriteString("BT /F1 10 Tf 13 TL 56 800 Td\n")
			for _, l := range lines {
				c.WriteString("(" + l + ") Tj T*\n") // the prose has no parentheses or backslashes
			}
			c.WriteString("ET")
			obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R /Resources << /Font << /F1 3 0 R >> >> >>", 5+2*i))
			obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", c.Len(), c.String()))
		}
		noise := make([]byte, pad)
		rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
		_, _ = rng.Read(noise)
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d /Length1 %d >>\nstream\n", len(offsets), pad, pad)
		b.Write(noise)
		b.WriteString("\nendstream\nendobj\n")
		xref := b.Len()
		fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
		for _, o := range offsets {
			fmt.Fprintf(&b, "%010d 00000 n \n", o)
		}
		fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
		return b.Bytes()
	}
	pad := 0
	for range 8 { // the digits of /Length and startxref move with pad; this converges in two or three steps
		got := len(build(pad))
		if got == size {
			return build(pad), nil
		}
		pad += size - got
		if pad < 0 {
			return nil, fmt.Errorf("failed to make a PDF of %d bytes: the smallest is larger", size)
		}
	}
	return nil, fmt.Errorf("failed to make a PDF of exactly %d bytes", size)
}

// sentences make up the text. They are neutral office prose, so that the
// shipped policy's classifier has nothing to seal in setup (b).
var sentences = []string{
	"The estates team completed the quarterly inspection of the east wing and found the roof repairs on schedule.",
	"Car park resurfacing will start next month; staff are asked to use the overflow site during the works.",
	"The catering contract renewal is out to tender and responses are due by the end of the quarter.",
	"Energy use fell by four per cent against the same period last year, mostly from the new lighting controls.",
	"Please send comments on the attached report to the facilities office before the next committee meeting.",
	"A copy of this note has been sent to the finance director and to the chair of the estates committee.",
}

// textPart returns exactly size bytes of CRLF-terminated lines of prose,
// none longer than 78 characters and none starting with a dot.
func textPart(size int) []byte {
	var b bytes.Buffer
	line := ""
	i := 0
	for b.Len() < size {
		for _, w := range strings.Fields(sentences[i%len(sentences)]) {
			if len(line)+1+len(w) > 72 {
				b.WriteString(line + "\r\n")
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		i++
	}
	out := b.Bytes()[:size-2]
	out = append(bytes.TrimRight(out, "\r"), "\r\n"...)
	for len(out) < size { // trimming a split CRLF shortened it by one
		out = append(out[:len(out)-2], 'x', '\r', '\n')
	}
	return out
}

// template is a benchmark message without its per-message header: every
// message gets its own Message-ID, because the relay's ledger recognises a
// resent identical message and would not deliver it again.
type template struct {
	body []byte // MIME-Version, Content-Type and the multipart body
	pdf  int    // size of the attached PDF in bytes
}

const boundary = "sealpost-bench-7b1f2c"

// newTemplate builds a multipart/mixed message with a text part of textSize
// bytes and a PDF of pdfSize bytes, base64 encoded in 76-character lines.
func newTemplate(textSize, pdfSize int) (*template, error) {
	pdf, err := pdfFile(pdfSize, 1)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(textSize + pdfSize*140/100 + 1024)
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n")
	b.WriteString("This is a multi-part message in MIME format.\r\n")
	b.WriteString("--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n")
	b.WriteString("Content-Transfer-Encoding: 7bit\r\n\r\n")
	b.Write(textPart(textSize))
	b.WriteString("\r\n--" + boundary + "\r\n") // the CRLF before a boundary belongs to the boundary
	b.WriteString("Content-Type: application/pdf; name=\"estates-report.pdf\"\r\n")
	b.WriteString("Content-Disposition: attachment; filename=\"estates-report.pdf\"\r\n")
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding
	line := make([]byte, 76)
	for off := 0; off < len(pdf); off += 57 {
		chunk := pdf[off:min(off+57, len(pdf))]
		n := enc.EncodedLen(len(chunk))
		enc.Encode(line, chunk)
		b.Write(line[:n])
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return &template{body: b.Bytes(), pdf: pdfSize}, nil
}

// newTemplateOfSize builds a message like newTemplate's whose total size,
// with the header, is close to total bytes: the PDF grows to fill it.
func newTemplateOfSize(total int) (*template, error) {
	overhead := textBytes + 2048
	pdf := (total - overhead) / 78 * 57 // each 78-byte base64 line carries 57 bytes
	if pdf < 1024 {
		return nil, fmt.Errorf("failed to make a message of %d bytes: too small", total)
	}
	return newTemplate(textBytes, pdf)
}

// header returns the per-message header.
func (t *template) header(id string, date time.Time) []byte {
	return []byte("From: A Example <" + benchFrom + ">\r\n" +
		"To: <" + benchTo + ">\r\n" +
		"Subject: Quarterly estates report\r\n" +
		"Date: " + date.Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + id + "@bench.sealpost.localhost>\r\n")
}

// size is the size of one message on the wire, before dot-stuffing.
func (t *template) size() int {
	return len(t.header("x", time.Unix(0, 0))) + len(t.body)
}
