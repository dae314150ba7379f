// Command corpusgen writes the synthetic labelled corpus of package
// classify: realistic clinical letters and notes (positives) and hard
// negatives (business mail; health-related mail that is not about a
// patient), as .eml files, some with the letter in a PDF or DOCX attachment.
//
// The output is deterministic (a fixed seed per message), so the committed
// corpus can be regenerated and reviewed:
//
//	go run ./policy/classify/cmd/corpusgen -out testdata/corpus
//
// Every name, date and identifier in it is made up.
package main

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"math/rand/v2"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type attachment struct {
	name, ctype string
	data        []byte
}

type letter struct {
	subject string
	text    string // the letter or note; "" if it only comes as attachments
	cover   string // the body when the content is attached
	attach  []attachment
}

type family struct {
	name  string
	class string // "clinical", "business", "health"
	us    bool
	make  func(*gen) letter
}

func main() {
	out := flag.String("out", "testdata/corpus", "output directory")
	per := flag.Int("n", 6, "messages per family")
	flag.Parse()
	var all []family
	all = append(all, clinicalFamilies...)
	all = append(all, businessFamilies...)
	all = append(all, healthFamilies...)
	count := map[string]int{}
	for _, fam := range all {
		dir := filepath.Join(*out, fam.class)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			log.Fatal(err)
		}
		for i := range *per {
			seed := fnv.New64a()
			fmt.Fprintf(seed, "%s/%d", fam.name, i)
			g := &gen{r: rand.New(rand.NewPCG(seed.Sum64(), 2025)), us: fam.us}
			l := fam.make(g)
			raw := render(g, fam, i, l)
			name := filepath.Join(dir, fmt.Sprintf("%s-%02d.eml", fam.name, i))
			if err := os.WriteFile(name, raw, 0o644); err != nil {
				log.Fatal(err)
			}
			count[fam.class]++
		}
	}
	fmt.Println(count)
}

// delivery decides how the letter travels: in the body as text or HTML, or
// as a PDF or DOCX attachment with a short cover note.
func delivery(fam family, i int) string {
	if fam.class == "clinical" {
		return []string{"text", "text", "html", "pdf", "docx", "text"}[i%6]
	}
	return []string{"text", "html", "text", "pdf", "text", "docx"}[i%6]
}

func render(g *gen, fam family, i int, l letter) []byte {
	var b bytes.Buffer
	date := time.Date(2025, time.Month(1+i%11), 3+i, 9+i%8, 14, 0, 0, time.UTC)
	from := g.pick("a.jones", "reception", "j.smith", "noreply", "m.patel", "info", "team")
	fmt.Fprintf(&b, "From: %s@%s\r\n", from, g.pick("sender.example", "trust.example.nhs.uk", "mail.example.com"))
	fmt.Fprintf(&b, "To: %s@%s\r\n", g.pick("dr.brown", "admin", "k.lee", "customer", "office"), g.pick("recipient.example", "practice.example.org", "example.net"))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", l.subject))
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s-%d@corpus.example>\r\n", fam.name, i)
	b.WriteString("MIME-Version: 1.0\r\n")

	how := delivery(fam, i)
	if l.text == "" {
		how = "attach-only"
	}
	var parts []attachment
	body, html := l.text, ""
	switch how {
	case "html":
		html = toHTML(l.text)
	case "pdf", "docx":
		cover := l.cover
		if cover == "" {
			cover = g.pick("Please find attached.", "Please see attached letter.", "Attached, thanks.", "See attachment.", "FYI - attached.")
		}
		body = cover + "\n"
		if how == "pdf" {
			parts = append(parts, attachment{name: "letter.pdf", ctype: "application/pdf", data: makePDF(l.text)})
		} else {
			parts = append(parts, attachment{name: "letter.docx", ctype: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", data: makeDOCX(l.text)})
		}
	case "attach-only":
		body = l.cover + "\n"
	}
	parts = append(parts, l.attach...)

	writeBody := func() {
		if html != "" {
			b.WriteString("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n")
			b.WriteString("--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
			b.WriteString(crlf(body))
			b.WriteString("\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
			b.WriteString(qp(html))
			b.WriteString("\r\n--alt--\r\n")
			return
		}
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(crlf(body))
	}
	if len(parts) == 0 {
		writeBody()
		return b.Bytes()
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\n")
	writeBody()
	for _, p := range parts {
		fmt.Fprintf(&b, "\r\n--mix\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", p.ctype, p.name, p.name)
		enc := base64.StdEncoding.EncodeToString(p.data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--mix--\r\n")
	return b.Bytes()
}

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func qp(s string) string {
	var b bytes.Buffer
	w := newQP(&b)
	w.Write([]byte(s))
	w.Close()
	return crlf(b.String())
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func toHTML(text string) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>p{font-family:Arial;font-size:11pt}</style></head><body>\n")
	for _, para := range strings.Split(text, "\n\n") {
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(htmlEscape(para), "\n", "<br>\n"))
		b.WriteString("</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// makePDF writes a one-page PDF whose page content (Flate-compressed) shows
// text line by line in Helvetica. Non-ASCII runes become '?'.
func makePDF(text string) []byte {
	var content bytes.Buffer
	content.WriteString("BT /F1 10 Tf 12 TL 50 800 Td\n")
	for _, line := range strings.Split(text, "\n") {
		var esc strings.Builder
		for _, r := range line {
			switch {
			case r == '(' || r == ')' || r == '\\':
				esc.WriteByte('\\')
				esc.WriteRune(r)
			case r < 32 || r > 126:
				esc.WriteByte('?')
			default:
				esc.WriteRune(r)
			}
		}
		fmt.Fprintf(&content, "(%s) '\n", esc.String())
	}
	content.WriteString("ET\n")
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(content.Bytes())
	zw.Close()

	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		b.WriteString(s)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	obj("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
	obj("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>\nendobj\n")
	obj("4 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n")
	offs = append(offs, b.Len())
	fmt.Fprintf(&b, "5 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", z.Len())
	b.Write(z.Bytes())
	b.WriteString("\nendstream\nendobj\n")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// makeDOCX writes a minimal Word document with one paragraph per line.
func makeDOCX(text string) []byte {
	var doc strings.Builder
	doc.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(&doc, `<w:p><w:r><w:t xml:space="preserve">%s</w:t></w:r></w:p>`, htmlEscape(line))
	}
	doc.WriteString(`</w:body></w:document>`)
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", doc.String()},
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			log.Fatal(err)
		}
		w.Write([]byte(f.body))
	}
	zw.Close()
	return b.Bytes()
}
