package render

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add(hostileMessage(f, `<a href="javascript:alert(1)">x</a><img src="cid:logo@x" onerror="alert(1)"><img src="cid:vector@x"><svg><script>alert(1)</script></svg>`))
	f.Add(hostileMessage(f, `<noscript><p title="</noscript><img src=x onerror=alert(1)>"><style>@import url(http://t.example/)</style>`))
	f.Add(nestedBomb(30))
	f.Add([]byte("Subject: broken\r\nno colon here\r\n\r\nbody"))
	f.Add([]byte("Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: in digest\r\n\r\nx\r\n--d--\r\n"))
	f.Add([]byte("Content-Type: text/html; charset=x-unknown\r\n\r\n<p>caf\xe9</p>"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := Parse(raw, testPartURL)
		if err != nil {
			if len(raw) != 0 {
				t.Fatalf("Parse: %v", err)
			}
			return
		}
		urls := map[string]bool{}
		for i, p := range v.Parts {
			urls[testPartURL(i)] = true
			if p.Inline && !p.Raster {
				t.Errorf("part %d is Inline but not Raster", i)
			}
			if n := p.Name; n == "" || len(n) > maxNameLen || strings.ContainsAny(n, "/\\\x00\r\n") || strings.HasPrefix(n, ".") || !utf8.ValidString(n) {
				t.Errorf("part %d has an unclean name %q", i, n)
			}
		}
		checkOpenParts(t, raw, v)
		if bad := unsafeHTML(v.HTML, urls); len(bad) > 0 {
			t.Errorf("unsafe HTML %v: %q", bad, v.HTML)
		}
		for _, s := range []string{v.Text, v.HTML, v.From, v.To, v.Cc, v.Subject, v.Date} {
			if !utf8.ValidString(s) {
				t.Errorf("invalid UTF-8: %q", s)
			}
		}
	})
}

func FuzzComposeReply(f *testing.F) {
	f.Add("Portal <portal@sealpost.example>", "patient@example.org", "Dr Renée <renee@clinic.example>", "Résultats ✓", "<m1@clinic.example>", "<r0@clinic.example>", "Hello\nthere\r\n", "scan été.pdf", "application/pdf", []byte("%PDF"), "X-Sealpost-Reply-To-Message", "<m1@clinic.example>")
	f.Add("portal@sealpost.example", "", "renee@clinic.example", "Re: already", "", "", "", "", "", []byte(nil), "", "")
	f.Add("portal@sealpost.example", "p@example.org", "renee@clinic.example", "x\r\nBcc: evil@example.org", "<a@b>", "<c@d>", "t", "a\r\nb.txt", "text/plain\r\nX: y", []byte("x"), "X-A\r\nBcc", "v\nw")
	f.Add("portal@sealpost.example", "p@example.org", "renee@clinic.example", "=?utf-8?q?literal?= word", "<a@b>", "garbage <c@d> more", "=2E\n.\n", "../../x", "image/png", []byte{0x89, 'P', 'N', 'G'}, "Content-Type", "text/html")
	f.Fuzz(func(t *testing.T, from, replyTo, to, subject, inReplyTo, refs, text, attName, attType string, attData []byte, hdrName, hdrValue string) {
		r := testReply()
		r.From, r.ReplyTo, r.To, r.Subject, r.InReplyTo, r.References, r.Text = from, replyTo, to, subject, inReplyTo, refs, text
		r.Attachments = nil
		if attName != "" || attData != nil {
			r.Attachments = []Attachment{{Name: attName, ContentType: attType, Data: attData}}
		}
		r.Headers = nil
		if hdrName != "" {
			r.Headers = map[string]string{hdrName: hdrValue}
		}
		raw, err := ComposeReply(r)
		used := from + replyTo + to + subject + inReplyTo + refs
		if r.Attachments != nil {
			used += attName + attType
		}
		if r.Headers != nil {
			used += hdrName + hdrValue
		}
		injected := strings.ContainsAny(used, "\r\n")
		if injected {
			if !errors.Is(err, ErrLineBreak) {
				t.Fatalf("a line break in a header field gave %v, want ErrLineBreak", err)
			}
			return
		}
		if err != nil {
			return
		}
		mr, err := mail.CreateReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("composed reply does not parse: %v\n%s", err, raw)
		}
		allowed := map[string]bool{"Date": true, "From": true, "Reply-To": true, "To": true, "Subject": true, "Message-Id": true,
			"In-Reply-To": true, "References": true, "Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true}
		if hdrName != "" {
			allowed[canonical(hdrName)] = true
		}
		for fs := mr.Header.Fields(); fs.Next(); {
			if !allowed[fs.Key()] {
				t.Fatalf("unexpected header field %q in:\n%s", fs.Key(), raw)
			}
		}
		if got, _ := mr.Header.Subject(); strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(replySubject(subject)), " ") {
			t.Errorf("Subject = %q, want %q", got, replySubject(subject))
		}
		var body string
		var atts [][]byte
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("NextPart: %v\n%s", err, raw)
			}
			data, err := io.ReadAll(p.Body)
			if err != nil {
				t.Fatalf("reading part: %v", err)
			}
			if _, ok := p.Header.(*mail.AttachmentHeader); ok {
				atts = append(atts, data)
			} else {
				body += string(data)
			}
		}
		norm := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n") }
		if norm(body) != norm(text) {
			t.Errorf("body = %q, want %q", body, text)
		}
		if len(atts) != len(r.Attachments) || len(atts) == 1 && !bytes.Equal(atts[0], attData) {
			t.Errorf("attachments = %q, want %q", atts, attData)
		}
		if !bytes.Contains(raw, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("line ends are not all CRLF")
		}
	})
}

// canonical is the canonical form of a header name, as go-message keys it.
func canonical(k string) string {
	var h mail.Header
	h.Set(k, "x")
	fs := h.Fields()
	fs.Next()
	return fs.Key()
}
