package render

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
)

func testReply() Reply {
	return Reply{
		From:       "Sealpost Portal <portal@sealpost.example>",
		ReplyTo:    "patient@example.org",
		To:         "Dr Renée Martin <renee@clinic.example>",
		Subject:    "Résultats d'analyse ✓",
		InReplyTo:  "<m1.2026@clinic.example>",
		References: "<r0@clinic.example> <r1@clinic.example>",
		Text:       "Thank you, doctor.\nSee the scan attached.\r\n\nUne ligne accentuée = ok.\n",
		Attachments: []Attachment{
			{Name: "scan été.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4\x00\xff binary")},
			{Name: "notes.txt", ContentType: "text/plain; charset=utf-8", Data: []byte("line one\nline two\n")},
		},
		Date:      time.Date(2026, 3, 4, 9, 30, 0, 0, time.UTC),
		MessageID: "<reply.1@sealpost.example>",
		Headers:   map[string]string{"X-Sealpost-Reply-To-Message": "<m1.2026@clinic.example>"},
	}
}

// readReply parses a composed reply with go-message: its header, text and
// attachments.
func readReply(t testing.TB, raw []byte) (mail.Header, string, []Attachment) {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.CreateReader: %v", err)
	}
	var text string
	var atts []Attachment
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		data, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatalf("reading part: %v", err)
		}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			text += string(data)
		case *mail.AttachmentHeader:
			name, err := h.Filename()
			if err != nil {
				t.Fatalf("Filename: %v", err)
			}
			ct, _, _ := h.ContentType()
			atts = append(atts, Attachment{Name: name, ContentType: ct, Data: data})
		}
	}
	return mr.Header, text, atts
}

func TestComposeReplyRoundTrip(t *testing.T) {
	r := testReply()
	raw, err := ComposeReply(r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("a line ends with a bare LF")
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, c := range head {
		if c >= 0x80 {
			t.Fatalf("header has a non-ASCII byte: %s", head)
		}
	}
	if !bytes.Contains(head, []byte("Subject: =?utf-8?")) {
		t.Errorf("Subject is not RFC 2047 encoded: %s", head)
	}
	if !bytes.Contains(raw, []byte(`filename*=utf-8''scan%20%C3%A9t%C3%A9.pdf`)) {
		t.Errorf("attachment name is not RFC 2231 encoded:\n%s", raw)
	}

	h, text, atts := readReply(t, raw)
	checks := []struct{ key, want string }{
		{"Reply-To", "<patient@example.org>"},
		{"Message-Id", "<reply.1@sealpost.example>"},
		{"In-Reply-To", "<m1.2026@clinic.example>"},
		{"References", "<r0@clinic.example> <r1@clinic.example> <m1.2026@clinic.example>"},
		{"X-Sealpost-Reply-To-Message", "<m1.2026@clinic.example>"},
		{"Mime-Version", "1.0"},
	}
	for _, c := range checks {
		if got := h.Get(c.key); got != c.want {
			t.Errorf("%s = %q, want %q", c.key, got, c.want)
		}
	}
	if subj, err := h.Subject(); err != nil || subj != "Re: Résultats d'analyse ✓" {
		t.Errorf("Subject = %q, %v", subj, err)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Sealpost Portal" || from[0].Address != "portal@sealpost.example" {
		t.Errorf("From = %v, %v", from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Dr Renée Martin" || to[0].Address != "renee@clinic.example" {
		t.Errorf("To = %v, %v", to, err)
	}
	if d, err := h.Date(); err != nil || !d.Equal(r.Date) {
		t.Errorf("Date = %v, %v; want %v", d, err, r.Date)
	}
	if want := "Thank you, doctor.\r\nSee the scan attached.\r\n\r\nUne ligne accentuée = ok.\r\n"; text != want {
		t.Errorf("text = %q, want %q", text, want)
	}
	if len(atts) != 2 {
		t.Fatalf("%d attachments, want 2", len(atts))
	}
	for i, want := range []Attachment{
		{Name: "scan été.pdf", ContentType: "application/pdf", Data: r.Attachments[0].Data},
		{Name: "notes.txt", ContentType: "text/plain", Data: r.Attachments[1].Data},
	} {
		if atts[i].Name != want.Name || atts[i].ContentType != want.ContentType || !bytes.Equal(atts[i].Data, want.Data) {
			t.Errorf("attachment %d = %q %q %q, want %q %q %q", i, atts[i].Name, atts[i].ContentType, atts[i].Data, want.Name, want.ContentType, want.Data)
		}
	}

	// The portal reads its own replies with Parse too.
	v := mustParse(t, raw)
	if v.Subject != "Re: Résultats d'analyse ✓" || v.Text != "Thank you, doctor.\nSee the scan attached.\n\nUne ligne accentuée = ok.\n" || len(v.Parts) != 2 || v.Parts[0].Name != "scan été.pdf" {
		t.Errorf("Parse(reply) = %+v", v)
	}
}

func TestComposeReplyWithoutAttachments(t *testing.T) {
	r := testReply()
	r.Attachments = nil
	r.ReplyTo = ""
	r.Headers = nil
	raw, err := ComposeReply(r)
	if err != nil {
		t.Fatal(err)
	}
	h, text, atts := readReply(t, raw)
	if ct := h.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cte := h.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Errorf("Content-Transfer-Encoding = %q", cte)
	}
	if h.Has("Reply-To") {
		t.Error("empty ReplyTo gave a Reply-To")
	}
	if text != "Thank you, doctor.\r\nSee the scan attached.\r\n\r\nUne ligne accentuée = ok.\r\n" || len(atts) != 0 {
		t.Errorf("text %q, %d attachments", text, len(atts))
	}
}

func TestComposeReplySubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Results", "Re: Results"},
		{"Re: Results", "Re: Results"},
		{"RE: Results", "RE: Results"},
		{"re:Results", "re:Results"},
		{"  Results  ", "Re: Results"},
		{"", "Re:"},
		{"Fwd: Results", "Re: Fwd: Results"},
		{"Literal =?utf-8?q?x?= text", "Re: Literal =?utf-8?q?x?= text"},
		{strings.Repeat("Très long sujet ", 20), "Re: " + strings.TrimSpace(strings.Repeat("Très long sujet ", 20))},
	}
	for _, tt := range tests {
		r := testReply()
		r.Subject = tt.in
		raw, err := ComposeReply(r)
		if err != nil {
			t.Fatalf("Subject %q: %v", tt.in, err)
		}
		h, _, _ := readReply(t, raw)
		if got, err := h.Subject(); err != nil || got != tt.want {
			t.Errorf("Subject %q gave %q (%v), want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestComposeReplyInjection(t *testing.T) {
	const inject = "x\r\nBcc: victim@evil.example"
	tests := []struct {
		name string
		edit func(*Reply)
	}{
		{"From", func(r *Reply) { r.From = "portal@sealpost.example" + inject }},
		{"ReplyTo", func(r *Reply) { r.ReplyTo = "patient@example.org" + inject }},
		{"To", func(r *Reply) { r.To = "renee@clinic.example" + inject }},
		{"Subject", func(r *Reply) { r.Subject = "Hello" + inject }},
		{"Subject LF only", func(r *Reply) { r.Subject = "Hello\nBcc: victim@evil.example" }},
		{"Subject CR only", func(r *Reply) { r.Subject = "Hello\rBcc: victim@evil.example" }},
		{"InReplyTo", func(r *Reply) { r.InReplyTo = "<a@b>" + inject }},
		{"References", func(r *Reply) { r.References = "<a@b>" + inject }},
		{"MessageID", func(r *Reply) { r.MessageID = "<a@b>" + inject }},
		{"header value", func(r *Reply) { r.Headers = map[string]string{"X-Test": "v" + inject} }},
		{"header name", func(r *Reply) { r.Headers = map[string]string{"X-Test" + inject: "v"} }},
		{"attachment name", func(r *Reply) { r.Attachments[0].Name = "a.pdf" + inject }},
		{"attachment type", func(r *Reply) { r.Attachments[0].ContentType = "application/pdf" + inject }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testReply()
			tt.edit(&r)
			raw, err := ComposeReply(r)
			if !errors.Is(err, ErrLineBreak) {
				t.Errorf("err = %v, want ErrLineBreak; output:\n%s", err, raw)
			}
		})
	}
}

func TestComposeReplyInvalid(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Reply)
	}{
		{"no From", func(r *Reply) { r.From = "" }},
		{"two From", func(r *Reply) { r.From = "a@x.example, b@x.example" }},
		{"bad To", func(r *Reply) { r.To = "not an address" }},
		{"no To", func(r *Reply) { r.To = "" }},
		{"bad Reply-To", func(r *Reply) { r.ReplyTo = "<<>>" }},
		{"no Date", func(r *Reply) { r.Date = time.Time{} }},
		{"no Message-ID", func(r *Reply) { r.MessageID = "" }},
		{"Message-ID without brackets", func(r *Reply) { r.MessageID = "id@x.example" }},
		{"Message-ID without domain", func(r *Reply) { r.MessageID = "<id>" }},
		{"In-Reply-To without id", func(r *Reply) { r.InReplyTo = "garbage" }},
		{"NUL in Subject", func(r *Reply) { r.Subject = "a\x00b" }},
		{"invalid UTF-8 Subject", func(r *Reply) { r.Subject = "a\xffb" }},
		{"invalid UTF-8 text", func(r *Reply) { r.Text = "a\xffb" }},
		{"reserved header", func(r *Reply) { r.Headers = map[string]string{"Bcc": "victim@evil.example"} }},
		{"content header", func(r *Reply) { r.Headers = map[string]string{"Content-Type": "text/html"} }},
		{"header name with colon", func(r *Reply) { r.Headers = map[string]string{"X-A:B": "v"} }},
		{"header name with space", func(r *Reply) { r.Headers = map[string]string{"X A": "v"} }},
		{"bad attachment type", func(r *Reply) { r.Attachments[0].ContentType = "pdf" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testReply()
			tt.edit(&r)
			if raw, err := ComposeReply(r); err == nil {
				t.Errorf("ComposeReply succeeded:\n%s", raw)
			}
		})
	}
}

func TestComposeReplyAttachmentNames(t *testing.T) {
	r := testReply()
	r.Attachments = []Attachment{
		{Name: "../../etc/passwd", Data: []byte("x")},
		{Name: "", ContentType: "image/png", Data: pngBytes(t)},
		{Name: "mail.eml", ContentType: "message/rfc822", Data: []byte("Subject: x\r\n\r\ny\r\n")},
	}
	raw, err := ComposeReply(r)
	if err != nil {
		t.Fatal(err)
	}
	_, _, atts := readReply(t, raw)
	want := []Attachment{
		{Name: "_.._etc_passwd", ContentType: "application/octet-stream", Data: []byte("x")},
		{Name: "attachment-1", ContentType: "image/png", Data: pngBytes(t)},
		{Name: "mail.eml", ContentType: "application/octet-stream", Data: []byte("Subject: x\r\n\r\ny\r\n")},
	}
	if len(atts) != len(want) {
		t.Fatalf("%d attachments, want %d", len(atts), len(want))
	}
	for i := range want {
		if atts[i].Name != want[i].Name || atts[i].ContentType != want[i].ContentType || !bytes.Equal(atts[i].Data, want[i].Data) {
			t.Errorf("attachment %d = %q %q, want %q %q", i, atts[i].Name, atts[i].ContentType, want[i].Name, want[i].ContentType)
		}
	}
}
