package portal

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/sealpost/sealpost/gateway/lifecycle"
	"github.com/sealpost/sealpost/gateway/store"
)

const (
	patA = "pat.a@example.net"
	patB = "pat.b@example.net"
)

// testPNG is a small valid PNG.
func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// richMessage is a sealed-for-the-portal message with a text and an HTML
// body, an inline image referenced by cid:, and three attachments: a PDF
// with a non-ASCII name, a PNG and an SVG.
type richMessage struct {
	raw                    []byte
	png, pdf, svg, inline  []byte
	pdfName, subject, text string
	marker                 string
}

func buildRich(t *testing.T, to, marker string) richMessage {
	t.Helper()
	m := richMessage{
		png: testPNG(t), inline: testPNG(t),
		pdf:     []byte("%PDF-1.4\n% results " + marker + "\n%%EOF\n"),
		svg:     []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
		pdfName: "Résultats sanguins.pdf",
		subject: "Blood results " + marker,
		text:    "Dear patient, your HbA1c was 48 mmol/mol. " + marker,
		marker:  marker,
	}
	m.inline[len(m.inline)-1] ^= 0 // same bytes, separate slice
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Dr Who <%s>\r\nTo: <%s>\r\nCc: <gp@example.com>\r\nSubject: %s\r\n"+
		"Date: Mon, 04 Mar 2030 08:30:00 +0000\r\nMessage-ID: <orig-%s@hospital.example>\r\n"+
		"References: <older@hospital.example>\r\nMIME-Version: 1.0\r\n", testSender, to, m.subject, marker)
	mw := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%s\r\n\r\n", mw.Boundary())

	// multipart/related: alternative (text, html) + inline image.
	var rel bytes.Buffer
	rw := multipart.NewWriter(&rel)
	var alt bytes.Buffer
	aw := multipart.NewWriter(&alt)
	p, _ := aw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}})
	io.WriteString(p, m.text+"\r\n")
	p, _ = aw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/html; charset=utf-8"}})
	io.WriteString(p, `<p>Dear patient, your <b>HbA1c</b> was 48 mmol/mol. `+marker+`</p>`+
		`<img src="cid:scan@x" alt="scan"><script>alert("x")</script><a href="javascript:alert(1)">x</a>`)
	aw.Close()
	p, _ = rw.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/alternative; boundary=" + aw.Boundary()}})
	p.Write(alt.Bytes())
	p, _ = rw.CreatePart(textproto.MIMEHeader{
		"Content-Type": {"image/png"}, "Content-Id": {"<scan@x>"}, "Content-Transfer-Encoding": {"base64"},
		"Content-Disposition": {"inline"},
	})
	io.WriteString(p, base64.StdEncoding.EncodeToString(m.inline))
	rw.Close()
	p, _ = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/related; boundary=" + rw.Boundary()}})
	p.Write(rel.Bytes())

	attach := func(typ, name string, data []byte) {
		disp := mime.FormatMediaType("attachment", map[string]string{"filename": name})
		p, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type": {typ}, "Content-Disposition": {disp}, "Content-Transfer-Encoding": {"base64"},
		})
		io.WriteString(p, base64.StdEncoding.EncodeToString(data))
	}
	attach("application/pdf", m.pdfName, m.pdf)
	attach("image/png", "photo.png", m.png)
	attach("image/svg+xml", "drawing.svg", m.svg)
	mw.Close()
	m.raw = b.Bytes()
	return m
}

// parts maps the attachment names of a message page to their indexes.
var attRE = regexp.MustCompile(`/m/[A-Za-z0-9_-]+/att/(\d+)`)

// partIndexOf finds the index of the part called name on the message page.
func partIndexOf(t *testing.T, page, name string) string {
	t.Helper()
	i := strings.Index(page, name)
	if i < 0 {
		t.Fatalf("message page does not name %q", name)
	}
	m := attRE.FindStringSubmatch(page[i:])
	if m == nil {
		t.Fatalf("no download link after %q", name)
	}
	return m[1]
}

func TestReadMessage(t *testing.T) {
	e := newTestEnv(t)
	rich := buildRich(t, patA, "marker-rich-1")
	msg := e.sealMessage(t, sealSpec{Recipients: []string{patA}, Original: rich.raw})
	b := e.signIn(t, patA, store.LevelOOB)

	r := b.get(t, "/m/"+msg.ID)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /m = %d\n%s", r.Status, r.Body)
	}
	requirePageHeaders(t, "message", r)
	for _, want := range []string{
		"Blood results marker-rich-1",      // subject
		testSender, patA, "gp@example.com", // From, To, Cc
		"4 Mar 2030",                  // Date
		"your HbA1c was 48 mmol/mol.", // text
		`<iframe class="body" sandbox src="/m/` + msg.ID + `/body" title=`,
		"Résultats sanguins.pdf", "photo.png", "drawing.svg",
		`href="/m/` + msg.ID + `/reply"`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("message page lacks %q", want)
		}
	}
	if strings.Contains(r.Body, "allow-scripts") || strings.Contains(r.Body, "allow-same-origin") {
		t.Error("the body frame's sandbox allows scripts or same-origin")
	}
	if strings.Contains(r.Body, "<script") {
		t.Error("the message page carries a script element")
	}
	if strings.Contains(r.Body, "Lower assurance") {
		t.Error("an oob message is labelled lower assurance")
	}
	if n := strings.Count(r.Body, "/att/"); n != 3 {
		t.Errorf("%d download links, want 3 (the body's inline image is not an attachment)", n)
	}
	pngIdx := partIndexOf(t, r.Body, "photo.png")
	pdfIdx := partIndexOf(t, r.Body, "Résultats sanguins.pdf")
	svgIdx := partIndexOf(t, r.Body, "drawing.svg")
	if !strings.Contains(r.Body, `<img src="/m/`+msg.ID+`/part/`+pngIdx+`"`) {
		t.Errorf("the PNG attachment is not shown inline")
	}
	if strings.Contains(r.Body, `/part/`+svgIdx+`"`) || strings.Contains(r.Body, `/part/`+pdfIdx+`"`) {
		t.Errorf("a non-raster part is shown inline")
	}
	view := e.requireAudit(t, ActionView, msg.ID)
	if view.Actor != Actor(patA) || view.Detail["user_agent"] != b.UserAgent {
		t.Errorf("view entry = %+v", view)
	}

	// The HTML body: its own sandboxed document.
	r = b.get(t, "/m/"+msg.ID+"/body")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /body = %d", r.Status)
	}
	if got := r.Header.Get("Content-Security-Policy"); got != cspMessage || !strings.HasPrefix(got, "sandbox;") {
		t.Errorf("body CSP = %q, want cspMessage", got)
	}
	if r.Header.Get("X-Frame-Options") != "SAMEORIGIN" || r.Header.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("body headers = %v", r.Header)
	}
	if !strings.Contains(r.Body, "<b>HbA1c</b>") || strings.Contains(r.Body, "<script") || strings.Contains(r.Body, "javascript:") {
		t.Errorf("body is not the sanitised HTML:\n%s", r.Body)
	}
	// The sandboxed body's requests would carry no session: its cid:
	// image travels inside it, and nothing else can load.
	if !strings.Contains(r.Body, `src="data:image/png;base64,`+base64.StdEncoding.EncodeToString(rich.inline)+`"`) {
		t.Errorf("the cid: image is not embedded as a data: URL:\n%s", r.Body)
	}
	if !strings.Contains(cspMessage, "; img-src data:;") || strings.Count(cspMessage, "img-src") != 1 {
		t.Errorf("cspMessage %q lets the body load more than its embedded images", cspMessage)
	}

	// Raster parts, shown inline in the page.
	for _, n := range []string{pngIdx} {
		r = b.get(t, "/m/"+msg.ID+"/part/"+n)
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || r.Body != string(rich.png) {
			t.Errorf("GET /part/%s = %d %q (%d bytes)", n, r.Status, r.Header.Get("Content-Type"), len(r.Body))
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Cache-Control") != "no-store" ||
			!strings.HasPrefix(r.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("part headers = %v", r.Header)
		}
	}
	// Only raster images are served for display.
	for _, n := range []string{svgIdx, pdfIdx, "99", "x"} {
		if r = b.get(t, "/m/"+msg.ID+"/part/"+n); r.Status != http.StatusNotFound {
			t.Errorf("GET /part/%s = %d, want 404", n, r.Status)
		}
	}
}

func TestAttachmentDownload(t *testing.T) {
	e := newTestEnv(t)
	rich := buildRich(t, patA, "marker-att")
	msg := e.sealMessage(t, sealSpec{Recipients: []string{patA}, Original: rich.raw})
	b := e.signIn(t, patA, store.LevelOOB)
	page := b.get(t, "/m/"+msg.ID).Body

	for _, tc := range []struct {
		name, typ string
		data      []byte
	}{
		{rich.pdfName, "application/octet-stream", rich.pdf},
		{"photo.png", "image/png", rich.png},
		{"drawing.svg", "application/octet-stream", rich.svg}, // never image/svg+xml, never inline
	} {
		n := partIndexOf(t, page, tc.name)
		r := b.get(t, "/m/"+msg.ID+"/att/"+n)
		if r.Status != http.StatusOK || r.Body != string(tc.data) {
			t.Errorf("%s: GET /att/%s = %d, %d bytes", tc.name, n, r.Status, len(r.Body))
			continue
		}
		if got := r.Header.Get("Content-Type"); got != tc.typ {
			t.Errorf("%s: Content-Type %q, want %q", tc.name, got, tc.typ)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", tc.name, r.Header)
		}
		cd := r.Header.Get("Content-Disposition")
		disp, params, err := mime.ParseMediaType(cd)
		if err != nil || disp != "attachment" || params["filename"] != tc.name {
			t.Errorf("%s: Content-Disposition %q parses as %q %v %v", tc.name, cd, disp, params, err)
		}
		if !strings.Contains(cd, `filename="`) || !strings.Contains(cd, "filename*=UTF-8''") {
			t.Errorf("%s: Content-Disposition %q lacks the ASCII fallback or the RFC 8187 name", tc.name, cd)
		}
	}
	cd := contentDisposition(rich.pdfName)
	if want := `attachment; filename="R_sultats sanguins.pdf"; filename*=UTF-8''R%C3%A9sultats%20sanguins.pdf`; cd != want {
		t.Errorf("contentDisposition = %q, want %q", cd, want)
	}
	dl := e.requireAudit(t, ActionDownload, msg.ID)
	if dl.Detail["part"] == "" || dl.Detail["size"] == "" {
		t.Errorf("download entry = %+v, want part and size", dl)
	}
	e.requireNoSecrets(t, rich.pdfName, "photo.png", rich.marker)
}

func TestNotARecipient(t *testing.T) {
	e := newTestEnv(t)
	rich := buildRich(t, patA, "marker-deny")
	msg := e.sealMessage(t, sealSpec{Recipients: []string{patA}, Original: rich.raw})
	b := e.signIn(t, patB, store.LevelOOB)
	unknown := b.get(t, "/m/AAAAAAAAAAAAAAAAAAAAAAAA")
	if unknown.Status != http.StatusNotFound {
		t.Fatalf("unknown id = %d, want 404", unknown.Status)
	}
	before := e.countAudit(t, ActionDenied)
	for _, path := range []string{"", "/body", "/part/1", "/att/0", "/reply"} {
		r := b.get(t, "/m/"+msg.ID+path)
		if r.Status != http.StatusNotFound || r.Body != unknown.Body {
			t.Errorf("B GET /m/ID%s = %d, want the unknown-id 404 page", path, r.Status)
		}
		if strings.Contains(r.Body, rich.marker) {
			t.Errorf("B GET /m/ID%s shows content", path)
		}
	}
	r := b.postReply(t, msg.ID, "hello", nil)
	if r.Status != http.StatusNotFound || r.Body != unknown.Body {
		t.Errorf("B POST /reply = %d, want 404", r.Status)
	}
	if got := e.countAudit(t, ActionDenied) - before; got != 6 {
		t.Errorf("%d denied entries for 6 attempts", got)
	}
	d := e.requireAudit(t, ActionDenied, msg.ID)
	if d.Actor != Actor(patB) {
		t.Errorf("denied entry = %+v", d)
	}
	if e.countAudit(t, ActionView) != 0 || len(e.Replies.Sent()) != 0 {
		t.Error("a denied request viewed or replied")
	}
}

func TestRecalledAndExpired(t *testing.T) {
	e := newTestEnv(t)
	ctx := testCtx(t)
	recalled := e.sealMessage(t, sealSpec{Recipients: []string{patA}})
	shredded := e.sealMessage(t, sealSpec{Recipients: []string{patA}})
	due := e.sealMessage(t, sealSpec{Recipients: []string{patA}, Retain: time.Hour})
	// (sealSpec.Retain counts from the real clock; the portal's is in 2030.)
	if err := e.Store.Recall(ctx, recalled.ID, "admin:alice", "sent to the wrong patient"); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Recall(ctx, shredded.ID, lifecycle.ActorExpiry, "retention expired"); err != nil {
		t.Fatal(err)
	}
	b := e.signIn(t, patA, store.LevelOOB)
	for _, tc := range []struct {
		msg    sealedMsg
		action string
		text   string
	}{
		{recalled, ActionRecalledShown, "withdrawn"},
		{shredded, ActionExpiredShown, "expired"},
		{due, ActionExpiredShown, "expired"},
	} {
		for _, path := range []string{"", "/body", "/att/0", "/reply"} {
			r := b.get(t, "/m/"+tc.msg.ID+path)
			if r.Status != http.StatusGone || !strings.Contains(r.Body, tc.text) {
				t.Errorf("GET /m/ID%s = %d, want 410 %s", path, r.Status, tc.text)
			}
			if strings.Contains(r.Body, "marker-"+tc.msg.ID) || strings.Contains(r.Body, "Your results") {
				t.Errorf("the %s page shows content", tc.text)
			}
			requirePageHeaders(t, tc.text, r)
		}
		e.requireAudit(t, tc.action, tc.msg.ID)
	}
	if e.countAudit(t, ActionView) != 0 {
		t.Error("a recalled or expired message was viewed")
	}
	// The inbox shows the states, and no subject.
	r := b.get(t, "/")
	for _, want := range []string{"Withdrawn by the sender", "Expired"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("inbox lacks %q", want)
		}
	}
	if strings.Contains(r.Body, "/m/"+recalled.ID+`"`) {
		t.Error("the inbox links to a recalled message")
	}
}

func TestAssurance(t *testing.T) {
	e := newTestEnv(t)
	high := e.sealMessage(t, sealSpec{Recipients: []string{patA}})
	low := e.sealMessage(t, sealSpec{Recipients: []string{patA}, Assurance: "mailbox"})
	b := e.signIn(t, patA, store.LevelMailbox)
	for _, path := range []string{"", "/body", "/part/0", "/att/0", "/reply"} {
		r := b.get(t, "/m/"+high.ID+path)
		if r.Status != http.StatusSeeOther || r.Location != e.Server.stepUpURL(high.ID) {
			t.Errorf("mailbox-level GET /m/ID%s = %d %q, want a redirect to step-up", path, r.Status, r.Location)
		}
	}
	r := b.postReply(t, high.ID, "hi", nil)
	if r.Status != http.StatusSeeOther || r.Location != e.Server.stepUpURL(high.ID) {
		t.Errorf("mailbox-level POST reply = %d %q, want a redirect to step-up", r.Status, r.Location)
	}
	r = b.get(t, "/m/"+low.ID)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "marker-"+low.ID) || !strings.Contains(r.Body, "Lower assurance") {
		t.Errorf("mailbox message for a mailbox account = %d, want it shown and labelled", r.Status)
	}
	if len(e.Replies.Sent()) != 0 || e.countAudit(t, ActionView) != 1 {
		t.Error("the step-up redirects viewed or sent something")
	}
}

func TestSignedOut(t *testing.T) {
	e := newTestEnv(t)
	msg := e.sealMessage(t, sealSpec{Recipients: []string{patA}})
	b := e.browser()
	r := b.get(t, "/m/"+msg.ID)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, msg.ID) || strings.Contains(r.Body, "marker-"+msg.ID) {
		t.Errorf("signed-out /m/ID = %d, want the start page keeping the id", r.Status)
	}
	requirePageHeaders(t, "start", r)
	for _, path := range []string{"/body", "/part/0", "/att/0", "/reply"} {
		r := b.get(t, "/m/"+msg.ID+path)
		if r.Status != http.StatusSeeOther || r.Location != "/m/"+msg.ID {
			t.Errorf("signed-out %s = %d %q, want a redirect to the message", path, r.Status, r.Location)
		}
	}
	if r := b.get(t, "/"); r.Status != http.StatusOK || strings.Contains(r.Body, msg.ID) {
		t.Errorf("signed-out / = %d", r.Status)
	}
	if e.countAudit(t, ActionView) != 0 {
		t.Error("a signed-out visitor viewed")
	}
}

func TestInbox(t *testing.T) {
	e := newTestEnv(t)
	var ids []string
	for range inboxPageSize + 3 {
		ids = append(ids, e.sealMessage(t, sealSpec{Recipients: []string{patA}}).ID)
	}
	other := e.sealMessage(t, sealSpec{Recipients: []string{patB}})
	b := e.signIn(t, patA, store.LevelOOB)
	r := b.get(t, "/")
	if r.Status != http.StatusOK {
		t.Fatalf("GET / = %d", r.Status)
	}
	requirePageHeaders(t, "inbox", r)
	r2 := b.get(t, "/?page=2")
	all := r.Body + r2.Body
	for _, id := range ids {
		if strings.Count(all, `href="/m/`+id+`"`) != 1 {
			t.Errorf("message %s is not listed exactly once over the two pages", id)
		}
	}
	if strings.Contains(all, other.ID) {
		t.Error("the inbox lists another recipient's message")
	}
	if strings.Contains(all, "Your results") || strings.Contains(all, "marker-") {
		t.Error("the inbox shows a subject or content")
	}
	if !strings.Contains(r.Body, `href="/?page=2"`) || !strings.Contains(r2.Body, `href="/?page=1"`) {
		t.Error("the inbox pages do not link to each other")
	}
	if strings.Count(r.Body, `class="button small" href="/m/`) != inboxPageSize {
		t.Errorf("page 1 does not list %d messages", inboxPageSize)
	}
}

// postReply sends the reply form as multipart/form-data.
func (b *browser) postReply(t *testing.T, id, text string, files map[string][]byte) *resp {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("text", text)
	if len(files) == 0 {
		w, _ := mw.CreateFormFile("files", "")
		w.Write(nil)
	}
	for name, data := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "files", "filename": name}))
		h.Set("Content-Type", "application/octet-stream")
		w, _ := mw.CreatePart(h)
		w.Write(data)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, testURL+"/m/"+id+"/reply", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	b.setOrigin(req)
	return b.do(t, req)
}

func TestReply(t *testing.T) {
	e := newTestEnv(t)
	rich := buildRich(t, patA, "marker-reply")
	msg := e.sealMessage(t, sealSpec{Recipients: []string{patA}, Original: rich.raw})
	b := e.signIn(t, patA, store.LevelOOB)
	b.Origin, b.SecFetchSite = testURL, "same-origin"

	form := b.get(t, "/m/"+msg.ID+"/reply")
	if form.Status != http.StatusOK {
		t.Fatalf("GET /reply = %d", form.Status)
	}
	requirePageHeaders(t, "reply form", form)
	for _, want := range []string{
		`enctype="multipart/form-data"`, `<label for="text">`, `<textarea id="text" name="text"`,
		`<label for="files">`, `type="file" id="files" name="files" multiple`, "Re: Blood results marker-reply", testSender,
	} {
		if !strings.Contains(form.Body, want) {
			t.Errorf("reply form lacks %q", want)
		}
	}

	// Nothing to send.
	if r := b.postReply(t, msg.ID, "  \n", nil); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "Please write a reply") {
		t.Errorf("empty reply = %d", r.Status)
	}

	scan := bytes.Repeat([]byte{0, 1, 2, 0xff, '\r', '\n', '.', '\n'}, 5000)
	files := map[string][]byte{"scan.bin": scan, "lettre été.txt": []byte("merci\r\n.\r\n")}
	r := b.postReply(t, msg.ID, "Thank you, doctor. See you on Tuesday.\n.\nBye", files)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "Your reply was sent") {
		t.Fatalf("POST reply = %d\n%s", r.Status, r.Body)
	}
	requirePageHeaders(t, "sent", r)
	sent := e.Replies.waitFor(t, testSender, 1)
	if sent.Env.From != testFrom || len(sent.Env.To) != 1 || sent.Env.To[0] != testSender {
		t.Errorf("reply envelope = %+v", sent.Env)
	}
	mr, err := gomail.CreateReader(bytes.NewReader(sent.Data))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	if rt, _ := h.AddressList("Reply-To"); len(rt) != 1 || rt[0].Address != patA {
		t.Errorf("Reply-To = %v, want the recipient", rt)
	}
	if from, _ := h.AddressList("From"); len(from) != 1 || from[0].Address != testFrom {
		t.Errorf("From = %v, want the portal's address", from)
	}
	if to, _ := h.AddressList("To"); len(to) != 1 || to[0].Address != testSender {
		t.Errorf("To = %v, want the sender", to)
	}
	if s, _ := h.Subject(); s != "Re: "+rich.subject {
		t.Errorf("Subject = %q", s)
	}
	if irt := h.Get("In-Reply-To"); irt != "<orig-marker-reply@hospital.example>" {
		t.Errorf("In-Reply-To = %q", irt)
	}
	if refs := h.Get("References"); !strings.Contains(refs, "<older@hospital.example>") || !strings.Contains(refs, "<orig-marker-reply@hospital.example>") {
		t.Errorf("References = %q", refs)
	}
	replyID := h.Get("Message-Id")
	if !strings.HasSuffix(replyID, "@portal.example.com>") {
		t.Errorf("Message-ID = %q, want one at the portal's host", replyID)
	}
	got := map[string][]byte{}
	var text string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(p.Body)
		switch ph := p.Header.(type) {
		case *gomail.AttachmentHeader:
			name, _ := ph.Filename()
			got[name] = data
		case *gomail.InlineHeader:
			text += string(data)
		}
	}
	if !strings.Contains(text, "See you on Tuesday.") {
		t.Errorf("reply text = %q", text)
	}
	for name, data := range files {
		if !bytes.Equal(got[name], data) {
			t.Errorf("attachment %q: %d bytes arrived, want %d intact", name, len(got[name]), len(data))
		}
	}
	entry := e.requireAudit(t, ActionReply, msg.ID)
	if entry.Detail["reply_message_id"] != replyID || entry.Detail["attachments"] != "2" {
		t.Errorf("reply entry = %+v", entry)
	}
	e.requireNoSecrets(t, "Tuesday", "scan.bin", "lettre", rich.marker)

	// Too large: refused, nothing sent.
	big := map[string][]byte{"big.bin": bytes.Repeat([]byte("x"), int(e.Server.cfg.MaxReplyBytes)+1)}
	if r := b.postReply(t, msg.ID, "big", big); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("too-large reply = %d, want 413", r.Status)
	}
	// The next hop refuses: an error page, and the failure on the record.
	e.Replies.Fail = fmt.Errorf("connection refused")
	if r := b.postReply(t, msg.ID, "again", nil); r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "could not be sent") {
		t.Errorf("reply with the hop down = %d", r.Status)
	}
	if len(e.Replies.Sent()) != 1 {
		t.Errorf("%d replies sent, want 1", len(e.Replies.Sent()))
	}
}

func TestNoReplyToNullSender(t *testing.T) {
	e := newTestEnv(t)
	msg := e.sealMessage(t, sealSpec{Recipients: []string{patA}, Sender: ""})
	// sealSpec defaults an empty sender; make it the null sender.
	if _, err := e.Store.DB().Exec("UPDATE messages SET sender = '' WHERE id = ?", msg.ID); err != nil {
		t.Fatal(err)
	}
	b := e.signIn(t, patA, store.LevelOOB)
	r := b.get(t, "/m/"+msg.ID)
	if r.Status != http.StatusOK || strings.Contains(r.Body, "/reply") {
		t.Errorf("null-sender message = %d, want no reply button", r.Status)
	}
	if r := b.get(t, "/m/"+msg.ID+"/reply"); r.Status != http.StatusNotFound {
		t.Errorf("GET /reply for the null sender = %d, want 404", r.Status)
	}
	if r := b.postReply(t, msg.ID, "hello", nil); r.Status != http.StatusNotFound || len(e.Replies.Sent()) != 0 {
		t.Errorf("POST /reply for the null sender = %d", r.Status)
	}
}

func TestReadReceipt(t *testing.T) {
	e := newTestEnv(t)
	msg := e.sealMessage(t, sealSpec{Recipients: []string{patA, patB}, ReadReceipt: true})
	plain := e.sealMessage(t, sealSpec{Recipients: []string{patA}})
	a := e.signIn(t, patA, store.LevelOOB)
	for range 3 {
		if r := a.get(t, "/m/"+msg.ID); r.Status != http.StatusOK {
			t.Fatalf("GET /m = %d", r.Status)
		}
	}
	a.get(t, "/m/"+plain.ID)
	receipt := e.Replies.waitFor(t, testSender, 1)
	if n := len(e.Replies.Sent()); n != 1 {
		t.Fatalf("%d receipts after three views by A and one of a message without receipts, want 1", n)
	}
	body := string(receipt.Data)
	for _, want := range []string{"Subject: Read receipt", "Auto-Submitted: auto-generated", msg.ID, patA, "From: <" + testFrom + ">"} {
		if !strings.Contains(body, want) {
			t.Errorf("receipt lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Your results") || strings.Contains(body, "marker-") || strings.Contains(body, "HbA1c") {
		t.Errorf("receipt carries the subject or content:\n%s", body)
	}
	v, err := e.Store.View(testCtx(t), msg.ID, patA)
	if err != nil || v.ReceiptAt.IsZero() {
		t.Errorf("View = %+v, %v; want the receipt marked", v, err)
	}
	e.requireAudit(t, ActionReceipt, msg.ID)
	// The other recipient's first view sends its own.
	bb := e.signIn(t, patB, store.LevelOOB)
	bb.get(t, "/m/"+msg.ID)
	second := e.Replies.waitFor(t, testSender, 2)
	if !strings.Contains(string(second.Data), patB) {
		t.Errorf("second receipt does not name B")
	}
	if n := e.countAudit(t, ActionReceipt); n != 2 {
		t.Errorf("%d receipt entries, want 2", n)
	}
}

// TestNothingDecryptedOnDisk views, downloads and replies with planted
// markers, and then scans every file the test created: the store, the
// temp directory (multipart forms spill there) and the test's own.
func TestNothingDecryptedOnDisk(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := newTestEnv(t)
	marker := "PLANTED-MARKER-7f3a9c"
	rich := buildRich(t, patA, marker)
	msg := e.sealMessage(t, sealSpec{Recipients: []string{patA}, Original: rich.raw, ReadReceipt: true})
	b := e.signIn(t, patA, store.LevelOOB)
	page := b.get(t, "/m/"+msg.ID)
	if !strings.Contains(page.Body, marker) {
		t.Fatal("the message did not open")
	}
	b.get(t, "/m/"+msg.ID+"/body")
	b.get(t, "/m/"+msg.ID+"/att/"+partIndexOf(t, page.Body, rich.pdfName))
	reply := bytes.Repeat([]byte("REPLY-"+marker+" "), 200000) // 5 MB: well past any in-memory form threshold
	if r := b.postReply(t, msg.ID, "reply "+marker, map[string][]byte{"big.txt": reply}); r.Status != http.StatusOK {
		t.Fatalf("reply = %d", r.Status)
	}
	if err := e.Store.DB().Close(); err != nil { // flush the WAL into the file
		t.Fatal(err)
	}
	dirs := []string{tmp, filepath.Dir(e.Store.Path()), os.TempDir()}
	scanned := 0
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			scanned++
			if bytes.Contains(data, []byte(marker)) {
				t.Errorf("%s holds decrypted or reply plaintext", path)
			}
			return nil
		})
	}
	if scanned == 0 {
		t.Fatal("scanned no file")
	}
}

func TestBrandCSS(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Branding.Primary = "#005EB8" })
	b := e.browser()
	r := b.get(t, "/static/brand.css")
	if r.Status != http.StatusOK || r.Body != ":root{--brand:#005EB8}\n" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Errorf("brand.css = %d %q %q", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	if r := b.get(t, "/static/portal.css"); r.Status != http.StatusOK || !strings.Contains(r.Body, ":focus-visible") {
		t.Errorf("portal.css = %d", r.Status)
	}
	if page := b.get(t, "/"); !strings.Contains(page.Body, `href="/static/portal.css">`+"\n"+`<link rel="stylesheet" href="/static/brand.css">`) {
		t.Error("the layout does not link brand.css after portal.css")
	}
	e.Server.cfg.Branding.Primary = "red;}body{display:none"
	if r := b.get(t, "/static/brand.css"); r.Body != ":root{--brand:"+defaultBrand+"}\n" {
		t.Errorf("brand.css with a bad colour = %q, want the default", r.Body)
	}
}

func TestNoVaultCredentials(t *testing.T) {
	e := newTestEnv(t)
	msg := e.sealMessage(t, sealSpec{Recipients: []string{patA}})
	s, err := New(e.Config, Deps{Store: e.Store, Audit: e.Audit, Codes: e.Codes, Replies: e.Replies, Now: e.clock.Now})
	if err != nil {
		t.Fatalf("New without keys: %v", err)
	}
	for _, path := range []string{"/", "/m/" + msg.ID, "/m/" + msg.ID + "/att/0", "/login"} {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptestRequest(t, http.MethodGet, path))
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "not available") {
			t.Errorf("GET %s without Vault credentials = %d", path, w.Code)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q", path, w.Header().Get("Cache-Control"))
		}
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptestRequest(t, http.MethodGet, "/static/portal.css"))
	if w.Code != http.StatusOK {
		t.Errorf("static assets without Vault credentials = %d", w.Code)
	}
}

func httptestRequest(t *testing.T, method, path string) *http.Request {
	t.Helper()
	req := httptest.NewRequest(method, testURL+path, nil)
	req.Header.Set("User-Agent", "sealpost-test")
	return req
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 1024: "1 KB", 15300: "15 KB", 25 << 20: "25.0 MB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestPlaintextBudget: while the plaintext budget is spent, a request
// waits for it, and once the bytes are given back the same request opens the message.
// Afterwards the whole budget is free again, so nothing leaked.
func TestPlaintextBudget(t *testing.T) {
	e := newTestEnv(t)
	msg := e.sealMessage(t, sealSpec{Recipients: []string{patA}})
	b := e.signIn(t, patA, store.LevelOOB)

	if err := e.Server.plain.Acquire(context.Background(), PlaintextBudget); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		e.Server.plain.Release(PlaintextBudget)
		close(released)
	}()
	r := b.get(t, "/m/"+msg.ID)
	select {
	case <-released:
	default:
		t.Error("the message opened while the plaintext budget was spent")
	}
	if r.Status != http.StatusOK {
		t.Fatalf("GET /m after the budget came back = %d", r.Status)
	}
	for range 3 {
		if r := b.get(t, "/m/"+msg.ID); r.Status != http.StatusOK {
			t.Fatalf("GET /m again = %d", r.Status)
		}
	}
	if r := b.get(t, "/m/"+msg.ID+"/att/0"); r.Status != http.StatusNotFound {
		t.Fatalf("GET /att/0 of a message without attachments = %d, want 404", r.Status)
	}
	if !e.Server.plain.TryAcquire(PlaintextBudget) {
		t.Fatal("the plaintext budget was not given back in full")
	}
	e.Server.plain.Release(PlaintextBudget)
}
