package render

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, raw []byte) *View {
	t.Helper()
	v, err := Parse(raw, testPartURL)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checkOpenParts(t, raw, v)
	return v
}

// checkOpenParts checks that every part of v opens with the same metadata.
func checkOpenParts(t testing.TB, raw []byte, v *View) {
	t.Helper()
	for i, p := range v.Parts {
		if p.Index != i {
			t.Errorf("part %d has Index %d", i, p.Index)
		}
		got, data, err := OpenPart(raw, i)
		if err != nil {
			t.Errorf("OpenPart(%d): %v", i, err)
			continue
		}
		if got != p {
			t.Errorf("OpenPart(%d) = %+v, Parse said %+v", i, got, p)
		}
		if int64(len(data)) != p.Size {
			t.Errorf("OpenPart(%d): %d bytes, Size %d", i, len(data), p.Size)
		}
	}
}

func TestParsePlain(t *testing.T) {
	v := mustParse(t, fixtures(t)["plain"])
	want := View{
		From:       "Dr Renée Martin <renee@clinic.example>",
		To:         "Patient One <patient@example.org>",
		Cc:         "records@clinic.example",
		Date:       "Tue, 03 Mar 2026 10:15:00 +0000",
		Subject:    "Résultats ✓",
		MessageID:  "<m1.2026@clinic.example>",
		References: "<r0@clinic.example> <r1@clinic.example>",
		Time:       time.Date(2026, 3, 3, 10, 15, 0, 0, time.UTC),
		Text:       "Dear patient,\n\nYour appointment is on Friday at 10:00.\nCafé on the ground floor.\n",
	}
	if v.From != want.From || v.To != want.To || v.Cc != want.Cc || v.Date != want.Date || v.Subject != want.Subject ||
		v.MessageID != want.MessageID || v.References != want.References || !v.Time.Equal(want.Time) {
		t.Errorf("header values = %+v, want %+v", v, want)
	}
	if v.Text != want.Text {
		t.Errorf("Text = %q, want %q", v.Text, want.Text)
	}
	if v.HTML != "" || len(v.Parts) != 0 || v.Incomplete {
		t.Errorf("HTML %q, %d parts, Incomplete %v; want none", v.HTML, len(v.Parts), v.Incomplete)
	}
}

func TestParseBodies(t *testing.T) {
	tests := []struct {
		name     string
		body     mimePart
		text     string
		html     string // "" means no HTML
		htmlHas  []string
		htmlNot  []string
		parts    int
		complete bool
	}{
		{
			name:     "alternative",
			body:     multipart("alternative", "a", textPart("Plain version.\n"), htmlPart("<p>HTML <b>version</b>.</p>")),
			text:     "Plain version.\n",
			html:     "<p>HTML <b>version</b>.</p>",
			complete: true,
		},
		{
			name:     "alternative html first",
			body:     multipart("alternative", "a", htmlPart("<p>Rich</p>"), textPart("Poor\n")),
			text:     "Poor\n",
			html:     "<p>Rich</p>",
			complete: true,
		},
		{
			name:     "html only",
			body:     htmlPart("<p>Para one</p><p>Para&nbsp;two &amp; more<br>next line</p>"),
			text:     "Para one\n\nPara two & more\nnext line\n",
			html:     "<p>Para one</p><p>Para\u00a0two &amp; more<br>next line</p>",
			complete: true,
		},
		{
			name:     "mixed text and html",
			body:     multipart("mixed", "m", textPart("First <plain> & part\n"), htmlPart("<p>Second</p>")),
			text:     "First <plain> & part\n\nSecond\n",
			html:     "<pre>First &lt;plain&gt; &amp; part\n</pre>\n<p>Second</p>",
			complete: true,
		},
		{
			name: "alternative in mixed with attachment",
			body: multipart("mixed", "m",
				multipart("alternative", "a", textPart("Body text\n"), htmlPart("<p>Body html</p>")),
				binaryPart("Content-Type: application/pdf\nContent-Disposition: attachment; filename=r.pdf", []byte("%PDF")),
			),
			text:     "Body text\n",
			html:     "<p>Body html</p>",
			parts:    1,
			complete: true,
		},
		{
			name: "signed",
			body: multipart("signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256", "s",
				textPart("Signed text\n"),
				binaryPart("Content-Type: application/pkcs7-signature; name=smime.p7s\nContent-Disposition: attachment; filename=smime.p7s", []byte{0x30, 0x82, 0x01}),
			),
			text:     "Signed text\n",
			parts:    1,
			complete: true,
		},
		{
			name: "text with a filename is an attachment",
			body: multipart("mixed", "m", textPart("Body\n"),
				mimePart{header: "Content-Type: text/plain; name=notes.txt", body: "attached notes"},
				mimePart{header: "Content-Type: text/html\nContent-Disposition: attachment", body: "<p>attached html</p>"},
				mimePart{header: "Content-Type: text/calendar", body: "BEGIN:VCALENDAR"},
			),
			text:     "Body\n",
			parts:    3,
			complete: true,
		},
		{
			name:     "digest parts default to message/rfc822",
			body:     multipart("digest", "d", mimePart{header: "", body: "Subject: First digest entry\n\nentry one"}),
			parts:    1,
			complete: true,
		},
		{
			name: "missing final boundary",
			body: mimePart{
				header: `Content-Type: multipart/mixed; boundary="b"`,
				body:   "--b\nContent-Type: text/plain\n\nKept text\n--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=cut.pdf\n\n%PDF cut short",
			},
			text:  "Kept text\n",
			parts: 1,
		},
		{
			name: "boundary that is never used",
			body: mimePart{
				header: `Content-Type: multipart/mixed; boundary="declared"`,
				body:   "--actual\nContent-Type: text/plain\n\nThe body is still here.\n--actual--\n",
			},
			text: "--actual\nContent-Type: text/plain\n\nThe body is still here.\n--actual--\n",
		},
		{
			name: "multipart without a boundary",
			body: mimePart{header: "Content-Type: multipart/mixed", body: "Just some text.\n"},
			text: "Just some text.\n",
		},
		{
			name: "unparseable content type",
			body: mimePart{header: "Content-Type: ///;;;", body: "Still shown.\n"},
			text: "Still shown.\n",
		},
		{
			name:     "unknown charset",
			body:     mimePart{header: "Content-Type: text/plain; charset=x-no-such-charset", body: "caf\xe9 ok\n"},
			text:     "caf\uFFFD ok\n",
			complete: true,
		},
		{
			name:     "no charset, not UTF-8",
			body:     mimePart{header: "Content-Type: text/plain", body: "na\xefve \x93quoted\x94\n"},
			text:     "naïve \u201cquoted\u201d\n",
			complete: true,
		},
		{
			name:     "html with meta charset and no MIME charset",
			body:     mimePart{header: "Content-Type: text/html", body: `<meta charset="iso-8859-1"><p>d` + "\xe9" + `j` + "\xe0" + `</p>`},
			text:     "déjà\n",
			html:     "<p>déjà</p>",
			complete: true,
		},
		{
			name:     "unknown transfer encoding shown as it is",
			body:     mimePart{header: "Content-Type: text/plain\nContent-Transfer-Encoding: x-unknown", body: "raw text\n"},
			text:     "raw text\n",
			complete: true,
		},
		{
			name: "bad base64 keeps what decodes",
			body: multipart("mixed", "m", textPart("Body\n"),
				mimePart{header: "Content-Type: application/pdf\nContent-Disposition: attachment; filename=x.pdf\nContent-Transfer-Encoding: base64", body: "JVBERi0x\n!!!!"},
			),
			text:  "Body\n",
			parts: 1,
		},
		{
			name:     "control characters removed",
			body:     mimePart{header: "Content-Type: text/plain", body: "bell\x07 nul\x00 esc\x1b[31m ok\r\nnext\n"},
			text:     "bell nul esc[31m ok\nnext\n",
			complete: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustParse(t, buildMessage("Test", tt.body))
			if v.Text != tt.text {
				t.Errorf("Text = %q, want %q", v.Text, tt.text)
			}
			if v.HTML != tt.html {
				t.Errorf("HTML = %q, want %q", v.HTML, tt.html)
			}
			if len(v.Parts) != tt.parts {
				t.Errorf("%d parts (%+v), want %d", len(v.Parts), v.Parts, tt.parts)
			}
			if v.Incomplete == tt.complete {
				t.Errorf("Incomplete = %v, want %v", v.Incomplete, !tt.complete)
			}
		})
	}
}

func TestParseLatin1(t *testing.T) {
	v := mustParse(t, fixtures(t)["latin1"])
	if want := "Bonjour, votre déjà-vu naïve été résumé.\n"; v.Text != want {
		t.Errorf("Text = %q, want %q", v.Text, want)
	}
}

func TestParseInlineImage(t *testing.T) {
	raw := fixtures(t)["inline-image"]
	v := mustParse(t, raw)
	if !strings.Contains(v.HTML, `<img src="/part/0" alt="Clinic logo" width="40">`) {
		t.Errorf("HTML does not show the logo from its part URL: %q", v.HTML)
	}
	if strings.Count(v.HTML, "<img") != 1 {
		t.Errorf("HTML has %d images, want 1 (no SVG, no remote): %q", strings.Count(v.HTML, "<img"), v.HTML)
	}
	for _, bad := range []string{"cid:", "tracker", "vector", "style"} {
		if strings.Contains(v.HTML, bad) {
			t.Errorf("HTML contains %q: %q", bad, v.HTML)
		}
	}
	if len(v.Parts) != 2 {
		t.Fatalf("%d parts, want 2", len(v.Parts))
	}
	logo := Part{Index: 0, Name: "attachment-0", ContentType: "image/png", Size: int64(len(pngBytes(t))), ContentID: "logo@clinic.example", Inline: true, Raster: true}
	if v.Parts[0] != logo {
		t.Errorf("logo part = %+v, want %+v", v.Parts[0], logo)
	}
	if p := v.Parts[1]; p.Inline || p.Raster || p.ContentType != "image/svg+xml" {
		t.Errorf("SVG part = %+v, want neither Inline nor Raster", p)
	}
	_, data, err := OpenPart(raw, 0)
	if err != nil || !bytes.Equal(data, pngBytes(t)) {
		t.Errorf("OpenPart(0) = %d bytes, %v; want the PNG", len(data), err)
	}

	// Without a partURL the cid reference stays.
	v, err = Parse(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.HTML, `src="cid:logo@clinic.example"`) || !v.Parts[0].Inline {
		t.Errorf("Parse(raw, nil): HTML %q, logo %+v", v.HTML, v.Parts[0])
	}
}

func TestRaster(t *testing.T) {
	tests := []struct {
		ct   string
		data []byte
		want bool
	}{
		{"image/png", pngBytes(t), true},
		{"image/jpeg", jpegBytes(t), true},
		{"image/gif", gifBytes(t), true},
		{"image/webp", webpBytes(), true},
		{"image/png", jpegBytes(t), false}, // the bytes disagree
		{"image/jpeg", []byte("<html><script>alert(1)</script>"), false},
		{"image/svg+xml", []byte(svgImage), false},
		{"image/bmp", []byte("BM\x00\x00"), false},
		{"application/octet-stream", pngBytes(t), false},
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			raw := buildMessage("img", multipart("related", "r",
				htmlPart(`<p><img src="cid:pic@x"></p>`),
				binaryPart("Content-Type: "+tt.ct+"\nContent-ID: <pic@x>", tt.data),
			))
			v := mustParse(t, raw)
			if len(v.Parts) != 1 {
				t.Fatalf("%d parts, want 1", len(v.Parts))
			}
			if p := v.Parts[0]; p.Raster != tt.want || p.Inline != tt.want {
				t.Errorf("part = %+v, want Raster and Inline %v", p, tt.want)
			}
			if got := strings.Contains(v.HTML, `<img src="/part/0">`); got != tt.want {
				t.Errorf("HTML %q: image shown %v, want %v", v.HTML, got, tt.want)
			}
		})
	}
}

func TestAttachmentNames(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   string
	}{
		{"rfc2231 utf-8 continued", "Content-Type: application/pdf\nContent-Disposition: attachment;\n filename*0*=utf-8''R%C3%A9sultats%20;\n filename*1*=sanguins.pdf", "Résultats sanguins.pdf"},
		{"rfc2231 iso-8859-1", "Content-Type: text/plain\nContent-Disposition: attachment; filename*=iso-8859-1''na%EFve.txt", "naïve.txt"},
		{"rfc2047 utf-8", "Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"=?utf-8?b?w6l0w6kucGRm?=\"", "été.pdf"},
		{"rfc2047 iso-8859-1", "Content-Type: application/msword\nContent-Disposition: attachment; filename=\"=?iso-8859-1?q?lettre_=E9t=E9.doc?=\"", "lettre été.doc"},
		{"content-type name only", "Content-Type: application/pdf; name=\"scan.pdf\"", "scan.pdf"},
		{"unquoted with spaces", "Content-Type: application/pdf\nContent-Disposition: attachment; filename=my scan.pdf", "my scan.pdf"},
		{"path traversal", "Content-Type: text/plain\nContent-Disposition: attachment; filename=\"../../etc/passwd\"", "_.._etc_passwd"},
		{"windows traversal", "Content-Type: text/plain\nContent-Disposition: attachment; filename=\"..\\\\..\\\\boot.ini\"", "_.._boot.ini"},
		{"absolute", "Content-Type: text/plain\nContent-Disposition: attachment; filename=\"/etc/shadow\"", "_etc_shadow"},
		{"encoded line break", "Content-Type: text/plain\nContent-Disposition: attachment; filename*=utf-8''evil%0D%0AX-Injected%3A%20yes%00.txt", "evilX-Injected: yes.txt"},
		{"right-to-left override", "Content-Type: application/octet-stream\nContent-Disposition: attachment; filename*=utf-8''invoice%E2%80%AEfdp.exe", "invoicefdp.exe"},
		{"leading dots", "Content-Type: text/plain\nContent-Disposition: attachment; filename=\".bashrc\"", "bashrc"},
		{"only dots", "Content-Type: text/plain\nContent-Disposition: attachment; filename=\"...\"", "attachment-0"},
		{"no name", "Content-Type: application/pdf\nContent-Disposition: attachment", "attachment-0"},
		{"too long", "Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"" + strings.Repeat("a", 300) + ".pdf\"", strings.Repeat("a", 196) + ".pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := buildMessage("names", multipart("mixed", "m", textPart("Body\n"), binaryPart(tt.header, []byte("data"))))
			v := mustParse(t, raw)
			if len(v.Parts) != 1 {
				t.Fatalf("%d parts, want 1", len(v.Parts))
			}
			if got := v.Parts[0].Name; got != tt.want {
				t.Errorf("Name = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCleanName(t *testing.T) {
	long := strings.Repeat("é", 150) + ".pdf"
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"a/b\\c.txt", "a_b_c.txt"},
		{"..\x00/x.txt", "_x.txt"},
		{"  . hidden.txt ", "hidden.txt"},
		{"tab\there.txt", "tab here.txt"},
		{"bad\xffutf8.txt", "bad\uFFFDutf8.txt"},
		{"zero\u200bwidth.txt", "zerowidth.txt"},
		{"", "attachment-7"},
		{"\x01\x02", "attachment-7"},
		{long, strings.Repeat("é", 98) + ".pdf"},
		{strings.Repeat("x", 250) + ".this-extension-is-too-long", strings.Repeat("x", 200)},
	}
	for _, tt := range tests {
		got := CleanName(tt.in, 7)
		if got != tt.want {
			t.Errorf("CleanName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) > maxNameLen || strings.ContainsAny(got, "/\\\x00") || strings.HasPrefix(got, ".") {
			t.Errorf("CleanName(%q) = %q: not clean", tt.in, got)
		}
	}
}

func TestParseNestedMessage(t *testing.T) {
	raw := fixtures(t)["nested"]
	v := mustParse(t, raw)
	if v.Text != "Forwarding the results.\n" {
		t.Errorf("Text = %q", v.Text)
	}
	if len(v.Parts) != 1 {
		t.Fatalf("%d parts, want 1 (the inner message's own parts are not listed): %+v", len(v.Parts), v.Parts)
	}
	p := v.Parts[0]
	if p.Name != "Blood results for review.eml" || p.ContentType != "message/rfc822" {
		t.Errorf("part = %+v", p)
	}
	_, data, err := OpenPart(raw, 0)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := Parse(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if inner.Subject != "Blood results for review" || inner.Text != "Inner message body.\n" || len(inner.Parts) != 1 || inner.Parts[0].Name != "inner.pdf" {
		t.Errorf("inner message = %+v", inner)
	}

	noSubject := buildMessage("x", multipart("mixed", "m", textPart("a\n"),
		mimePart{header: "Content-Type: message/rfc822", body: "From: a@b.example\n\nno subject"}))
	if v := mustParse(t, noSubject); len(v.Parts) != 1 || v.Parts[0].Name != "message.eml" {
		t.Errorf("message without subject: parts %+v", v.Parts)
	}
}

func TestOpenPart(t *testing.T) {
	raw := fixtures(t)["attachments"]
	want := [][]byte{[]byte("%PDF-1.4 one"), []byte("doc bytes"), []byte("root:x:0:0\n"), jpegBytes(t), []byte(svgImage), []byte("naive"), []byte("not a png at all")}
	v := mustParse(t, raw)
	if len(v.Parts) != len(want) {
		t.Fatalf("%d parts, want %d", len(v.Parts), len(want))
	}
	for i, w := range want {
		_, data, err := OpenPart(raw, i)
		if err != nil || !bytes.Equal(data, w) {
			t.Errorf("OpenPart(%d) = %q, %v; want %q", i, data, err, w)
		}
	}
	for _, i := range []int{-1, len(want), 1000} {
		if _, _, err := OpenPart(raw, i); !errors.Is(err, ErrNoPart) {
			t.Errorf("OpenPart(%d) error = %v, want ErrNoPart", i, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := Parse(nil, nil); err == nil {
		t.Error("Parse(nil) succeeded")
	}
	big := make([]byte, MaxMessageSize+1)
	if _, err := Parse(big, nil); err == nil {
		t.Error("Parse of an oversized message succeeded")
	}
	if _, _, err := OpenPart(nil, 0); err == nil {
		t.Error("OpenPart(nil) succeeded")
	}
}

func TestParseBrokenHeader(t *testing.T) {
	raw := []byte("Subject: broken\r\nthis line has no colon\r\n\r\nbody\r\n")
	v := mustParse(t, raw)
	if !v.Incomplete || len(v.Parts) != 1 || v.Parts[0].ContentType != "message/rfc822" || v.Parts[0].Name != "broken.eml" {
		t.Fatalf("view = %+v, want the whole message as one incomplete part", v)
	}
	_, data, err := OpenPart(raw, 0)
	if err != nil || !bytes.Equal(data, raw) {
		t.Errorf("OpenPart(0) = %q, %v; want the raw message", data, err)
	}
}

// nestedBomb is a message of depth multiparts, each inside the last.
func nestedBomb(depth int) []byte {
	var b strings.Builder
	b.WriteString("Subject: bomb\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 1; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\ndeepest text\r\n", depth-1)
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

func TestNestingBomb(t *testing.T) {
	v := mustParse(t, nestedBomb(5000))
	if !v.Incomplete {
		t.Error("not Incomplete")
	}
	if strings.Contains(v.Text, "deepest") {
		t.Error("text below MaxDepth was shown")
	}
	v = mustParse(t, nestedBomb(MaxDepth))
	if v.Incomplete || v.Text != "deepest text\n" {
		t.Errorf("at MaxDepth: Incomplete %v, Text %q; want the text", v.Incomplete, v.Text)
	}
}

func TestPartsBomb(t *testing.T) {
	var parts []mimePart
	for i := range 5000 {
		parts = append(parts, binaryPart(fmt.Sprintf("Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=f%d.bin", i), []byte{byte(i)}))
	}
	raw := buildMessage("many", multipart("mixed", "m", parts...))
	v, err := Parse(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := len(v.Parts) - 1
	if p, data, err := OpenPart(raw, last); err != nil || p != v.Parts[last] || len(data) != 1 {
		t.Errorf("OpenPart(%d) = %+v, %q, %v; want %+v", last, p, data, err, v.Parts[last])
	}
	if !v.Incomplete {
		t.Error("not Incomplete")
	}
	if len(v.Parts) >= MaxParts || len(v.Parts) < MaxParts-2 {
		t.Errorf("%d parts, want just under MaxParts (%d)", len(v.Parts), MaxParts)
	}
}

func TestDecodedBudget(t *testing.T) {
	raw := fixtures(t)["attachments"]
	w, err := walkBudget(raw, -1, 40)
	if err != nil {
		t.Fatal(err)
	}
	if !w.incomplete {
		t.Error("not incomplete")
	}
	if w.decoded > 40 {
		t.Errorf("decoded %d bytes, budget 40", w.decoded)
	}
	total := int64(0)
	for _, p := range w.parts {
		total += p.Size
	}
	if total > 40 {
		t.Errorf("parts total %d bytes, budget 40", total)
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>a</p><p>b</p>", "a\n\nb\n"},
		{"one<br>two<br/><br>three", "one\ntwo\n\nthree\n"},
		{"<div>x</div><div>y</div>", "x\ny\n"},
		{"  lots   of \n\t space  ", "lots of space\n"},
		{"<pre>  keep\n    this</pre>after", "  keep\n    this\n\nafter\n"},
		{"&lt;tag&gt; &amp; &eacute; &#8364; &#x41;", "<tag> & é € A\n"},
		{"<ul><li>one</li><li>two</li></ul>", "- one\n- two\n"},
		{"<table><tr><th>k</th><th>v</th></tr><tr><td>1</td><td>2</td></tr></table>", "k\tv\n1\t2\n"},
		{`<a href="https://x.example/p">link</a>`, "link <https://x.example/p>\n"},
		{`<a href="https://x.example/p">https://x.example/p</a>`, "https://x.example/p\n"},
		{`<a href="javascript:alert(1)">js</a>`, "js\n"},
		{"<head><title>T</title><style>p{}</style></head><script>var x</script><p>body</p>", "body\n"},
		{"<p>unclosed <b>bold", "unclosed bold\n"},
		{"<!-- comment --><p>x</p>", "x\n"},
	}
	for _, tt := range tests {
		if got := htmlToText(tt.in); got != tt.want {
			t.Errorf("htmlToText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestImageAliases(t *testing.T) {
	raw := buildMessage("img", multipart("related", "r",
		htmlPart(`<img src="cid:a@x"><img src="cid:b@x">`),
		binaryPart("Content-Type: image/jpg\nContent-ID: <a@x>", jpegBytes(t)),
		binaryPart("Content-Type: image/x-png\nContent-ID: <b@x>", pngBytes(t)),
	))
	v := mustParse(t, raw)
	if len(v.Parts) != 2 || v.Parts[0].ContentType != "image/jpeg" || v.Parts[1].ContentType != "image/png" || !v.Parts[0].Inline || !v.Parts[1].Inline {
		t.Errorf("parts = %+v, want two inline images with standard types", v.Parts)
	}
}
