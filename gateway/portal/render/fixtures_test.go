package render

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime/quotedprintable"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// crlf turns the "\n" line ends of a fixture into "\r\n".
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// mimePart is one part of a multipart fixture: header lines and body.
type mimePart struct {
	header string // header lines, "\n" separated
	body   string
}

// multipart builds a multipart body with the given subtype and boundary,
// and returns the Content-Type header line and the body.
func multipart(subtype, boundary string, parts ...mimePart) mimePart {
	var b strings.Builder
	b.WriteString("This is a multi-part message in MIME format.\n")
	for _, p := range parts {
		fmt.Fprintf(&b, "--%s\n%s\n\n%s\n", boundary, strings.TrimRight(p.header, "\n"), p.body)
	}
	fmt.Fprintf(&b, "--%s--\n", boundary)
	return mimePart{
		header: fmt.Sprintf("Content-Type: multipart/%s; boundary=%q", subtype, boundary),
		body:   b.String(),
	}
}

// buildMessage builds a whole message with the usual header and p as its body.
func buildMessage(subject string, p mimePart) []byte {
	h := "From: =?utf-8?q?Dr_Ren=C3=A9e_Martin?= <renee@clinic.example>\n" +
		"To: Patient One <patient@example.org>\n" +
		"Cc: records@clinic.example\n" +
		"Date: Tue, 03 Mar 2026 10:15:00 +0000\n" +
		"Subject: " + subject + "\n" +
		"Message-ID: <m1.2026@clinic.example>\n" +
		"References: <r0@clinic.example> <r1@clinic.example>\n" +
		"MIME-Version: 1.0\n"
	return []byte(crlf(h + strings.TrimRight(p.header, "\n") + "\n\n" + p.body))
}

func textPart(s string) mimePart {
	return mimePart{header: "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit", body: s}
}

func htmlPart(s string) mimePart {
	return mimePart{header: "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable", body: qp(s)}
}

// binaryPart is a base64 part with the given extra header lines.
func binaryPart(header string, data []byte) mimePart {
	return mimePart{header: header + "\nContent-Transfer-Encoding: base64", body: b64(data)}
}

func qp(s string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// b64 encodes data in 76-character lines.
func b64(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func latin1(t testing.TB, s string) string {
	out, err := charmap.ISO8859_1.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// testImage is a small picture with some colour in it.
func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range 16 {
		img.Set(i%4, i/4, color.RGBA{uint8(i * 16), 80, 160, 255})
	}
	return img
}

func pngBytes(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testImage()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifBytes(t testing.TB) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// webpBytes is the start of a lossy WebP file: enough for sniffing.
func webpBytes() []byte {
	b := []byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00")
	return append(b, bytes.Repeat([]byte{0x30}, 24)...)
}

const svgImage = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.domain)</script><rect width="10" height="10"/></svg>`

// fixtures are the messages of the golden test, by name.
func fixtures(t testing.TB) map[string][]byte {
	pngData := pngBytes(t)
	inner := buildMessage("Blood results for review", multipart("mixed", "inner",
		textPart("Inner message body.\n"),
		binaryPart("Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"inner.pdf\"", []byte("%PDF-1.4 inner")),
	))
	return map[string][]byte{
		"plain": buildMessage("=?utf-8?b?UsOpc3VsdGF0cyDinJM=?=", mimePart{
			header: "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable",
			body:   qp("Dear patient,\n\nYour appointment is on Friday at 10:00.\nCaf\u00e9 on the ground floor.\n"),
		}),
		"alternative": buildMessage("Appointment", multipart("alternative", "alt",
			textPart("Plain version.\n"),
			htmlPart(`<html><head><title>T</title><style>p{color:red}</style></head><body><p>HTML <b>version</b>.</p><p><a href="https://clinic.example/x">portal</a></p></body></html>`),
		)),
		"inline-image": buildMessage("Letter with logo", multipart("related", "rel",
			multipart("alternative", "alt2",
				textPart("Letter text.\n"),
				htmlPart(`<p>Letter <img src="cid:logo@clinic.example" alt="Clinic logo" width="40" style="border:1px"> and <img src="cid:vector@clinic.example"> and <img src="http://tracker.example/p.gif"></p>`),
			),
			binaryPart("Content-Type: image/png\nContent-ID: <logo@clinic.example>\nContent-Disposition: inline", pngData),
			mimePart{header: "Content-Type: image/svg+xml\nContent-ID: <vector@clinic.example>", body: svgImage},
		)),
		"attachments": buildMessage("Files", multipart("mixed", "mix",
			textPart("See the files.\n"),
			binaryPart("Content-Type: application/pdf\nContent-Disposition: attachment;\n filename*0*=utf-8''R%C3%A9sultats%20;\n filename*1*=sanguins.pdf", []byte("%PDF-1.4 one")),
			binaryPart("Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"=?iso-8859-1?q?lettre_=E9t=E9.doc?=\"", []byte("doc bytes")),
			binaryPart("Content-Type: text/plain\nContent-Disposition: attachment; filename=\"../../etc/passwd\"", []byte("root:x:0:0\n")),
			binaryPart("Content-Type: image/jpeg; name=\"..\\\\..\\\\photo.jpg\"", jpegBytes(t)),
			binaryPart("Content-Type: image/svg+xml\nContent-Disposition: attachment; filename=\"chart.svg\"", []byte(svgImage)),
			binaryPart("Content-Type: application/octet-stream\nContent-Disposition: attachment; filename*=iso-8859-1''na%EFve.txt", []byte("naive")),
			binaryPart("Content-Type: image/png\nContent-Disposition: attachment", []byte("not a png at all")),
		)),
		"nested": buildMessage("Fwd: results", multipart("mixed", "outer",
			textPart("Forwarding the results.\n"),
			mimePart{header: "Content-Type: message/rfc822\nContent-Disposition: inline", body: string(inner)},
		)),
		"latin1": buildMessage("Accents", mimePart{
			header: "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable",
			body:   qp(latin1(t, "Bonjour, votre d\u00e9j\u00e0-vu na\u00efve \u00e9t\u00e9 r\u00e9sum\u00e9.\n")),
		}),
		"html-only": buildMessage("HTML only", htmlPart(
			`<html><body><h1>Results</h1><p>Dear&nbsp;patient,<br>your results are <i>normal</i>.</p>`+
				`<ul><li>HbA1c</li><li>eGFR</li></ul><table><tr><td>a</td><td>b</td></tr></table>`+
				`<p>See <a href="https://clinic.example/r">the portal</a> &amp; call us.</p><script>alert(1)</script></body></html>`)),
		"bad-boundary": buildMessage("Broken", mimePart{
			header: `Content-Type: multipart/mixed; boundary="declared"`,
			body:   "--actual\nContent-Type: text/plain\n\nThe body is still here.\n--actual--\n",
		}),
	}
}
