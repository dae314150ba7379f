package browser

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// part is one MIME part of a test message: a leaf (Type and Body, base64
// when Name is set or the body is binary) or a multipart (Type
// multipart/..., Parts).
type part struct {
	Type  string
	Name  string // an attachment's file name
	Body  []byte
	Parts []part
}

// mail builds a CRLF message from sender to rcpt with the headers (name,
// value pairs) and the body part.
func mail(from, to, subject string, body part, headers ...string) string {
	var b strings.Builder
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", to)
	h("Subject", subject)
	h("Date", time.Now().Format(time.RFC1123Z))
	h("Message-ID", "<"+rand.Text()+"@clinic.example>")
	for i := 0; i+1 < len(headers); i += 2 {
		h(headers[i], headers[i+1])
	}
	h("MIME-Version", "1.0")
	writePart(&b, body)
	return b.String()
}

// writePart writes the part's own header fields, a blank line and its body.
func writePart(b *strings.Builder, p part) {
	if len(p.Parts) > 0 {
		boundary := "b-" + rand.Text()
		fmt.Fprintf(b, "Content-Type: %s; boundary=%q\r\n\r\n", p.Type, boundary)
		for _, c := range p.Parts {
			fmt.Fprintf(b, "--%s\r\n", boundary)
			writePart(b, c)
		}
		fmt.Fprintf(b, "--%s--\r\n", boundary)
		return
	}
	if p.Name != "" {
		fmt.Fprintf(b, "Content-Type: %s; name=%q\r\n", p.Type, p.Name)
		fmt.Fprintf(b, "Content-Disposition: attachment; filename=%q\r\n", p.Name)
	} else {
		fmt.Fprintf(b, "Content-Type: %s; charset=utf-8\r\n", p.Type)
	}
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(p.Body)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
}

// text is a text/plain part.
func text(s string) part { return part{Type: "text/plain", Body: []byte(s)} }

// samplePDF is a small PDF document with a run of every byte value in a
// stream, so that any text-mode mangling on the way shows.
func samplePDF() []byte {
	var bin []byte
	for i := range 512 {
		bin = append(bin, byte(i*7+3))
	}
	doc := "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" +
		"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n" +
		fmt.Sprintf("3 0 obj << /Length %d >> stream\n", len(bin)) + string(bin) + "\nendstream endobj\n" +
		"trailer << /Root 1 0 R >>\n%%EOF\n"
	return []byte(doc)
}
