package portal

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sealpost/sealpost/gateway/lifecycle"
	"github.com/sealpost/sealpost/gateway/portal/render"
	"github.com/sealpost/sealpost/gateway/store"
)

// Reading. Every route under /m/{id} runs the same checks (gate): a
// session, the signed-in address a recipient of the message (otherwise the
// same 404 as an unknown id, audited as denied), the message neither
// recalled nor expired (a page saying so, audited, no content), and the
// account's assurance enough for the message (otherwise a redirect to
// step-up). Only then is the access appended to the audit log, and only if
// that succeeds is the message unwrapped (Transit decrypt, with the
// portal's token) and decrypted, into memory: nothing decrypted is written
// to disk, and every response carries Cache-Control: no-store.

// inboxPageSize is how many messages one inbox page lists.
const inboxPageSize = 25

// readRoutes registers the inbox, the message, its body, parts and
// attachments, and the secure reply.
func (s *Server) readRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.inbox)
	mux.HandleFunc("GET /m/{id}", s.message)
	mux.HandleFunc("GET /m/{id}/body", s.body)
	mux.HandleFunc("GET /m/{id}/part/{n}", s.part)
	mux.HandleFunc("GET /m/{id}/att/{n}", s.attachment)
	mux.HandleFunc("GET /m/{id}/reply", s.replyForm)
	mux.HandleFunc("POST /m/{id}/reply", s.replySend)
	mux.HandleFunc("GET /static/brand.css", s.brandCSS)
}

// inboxRow is one message in the inbox page.
type inboxRow struct {
	ID, URL  string
	Received string
	Sender   string
	State    string // a key in text
	Open     bool
}

// inbox lists the messages sealed to the signed-in address, newest first.
// It shows no subject: subjects are inside the ciphertext.
func (s *Server) inbox(w http.ResponseWriter, r *http.Request) {
	sess, r := s.loadSession(w, r)
	if sess == nil {
		s.startPage(w, r, "")
		return
	}
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 || page > 10000 {
		page = 1
	}
	entries, more, err := s.d.Store.Inbox(r.Context(), store.InboxQuery{
		Rcpt: sess.Address, Now: s.d.Now(), ExpiryActor: lifecycle.ActorExpiry,
		Offset: (page - 1) * inboxPageSize, Limit: inboxPageSize,
	})
	if err != nil {
		s.log.Error("portal: failed to list inbox", "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	rows := make([]inboxRow, 0, len(entries))
	for _, e := range entries {
		row := inboxRow{
			ID: e.ID, URL: "/m/" + url.PathEscape(e.ID), Received: formatTime(e.Created),
			Sender: e.Sender, State: "inbox.state." + e.State, Open: e.State == store.StateAvailable,
		}
		if row.Sender == "" {
			row.Sender = tr("inbox.nosender")
		}
		rows = append(rows, row)
	}
	data := struct {
		Rows       []inboxRow
		Page       int
		Prev, Next string
	}{Rows: rows, Page: page}
	if page > 1 {
		data.Prev = "/?page=" + strconv.Itoa(page-1)
	}
	if more {
		data.Next = "/?page=" + strconv.Itoa(page+1)
	}
	s.render(w, r, http.StatusOK, "inbox", "title.inbox", data)
}

// access is a request that passed the gate.
type access struct {
	r    *http.Request // carries the session
	sess *Session
	msg  *store.Message
	held int64 // bytes of the plaintext budget this request holds (see finish)
}

// gate runs the checks every /m/{id} route shares. It writes the response
// and returns nil when the request stops here. A signed-out visitor to the
// message page gets the start page; to any other route, a redirect to the
// message page (which then asks them to sign in).
func (s *Server) gate(w http.ResponseWriter, r *http.Request, page bool) *access {
	id := r.PathValue("id")
	sess, r := s.loadSession(w, r)
	if sess == nil {
		if !validMsgID(id) {
			id = ""
		}
		if page || id == "" {
			s.startPage(w, r, id)
		} else {
			http.Redirect(w, r, "/m/"+url.PathEscape(id), http.StatusSeeOther)
		}
		return nil
	}
	actor := Actor(sess.Address)
	ok := false
	var err error
	if validMsgID(id) {
		ok, err = s.d.Store.IsRecipient(r.Context(), id, sess.Address)
		if err != nil {
			s.log.Error("portal: failed to check recipient", "err", err)
			s.fail(w, r, http.StatusServiceUnavailable, "err.unavailable")
			return nil
		}
	} else {
		id = "" // not worth recording: it is no id at all
	}
	if !ok {
		// An unknown id and another recipient's message look the same.
		_ = s.audit(r, actor, ActionDenied, id, map[string]string{"reason": "not-recipient"})
		s.notFound(w, r)
		return nil
	}
	m, err := s.d.Store.GetMessage(r.Context(), id)
	if err != nil {
		s.log.Error("portal: failed to load message", "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "err.unavailable")
		return nil
	}
	switch messageState(m, s.d.Now()) {
	case store.StateRecalled:
		s.gone(w, r, actor, m, ActionRecalledShown, "recalled", "title.recalled")
		return nil
	case store.StateExpired:
		s.gone(w, r, actor, m, ActionExpiredShown, "expired", "title.expired")
		return nil
	}
	if !levelEnough(m, sess) {
		http.Redirect(w, r, s.stepUpURL(id), http.StatusSeeOther)
		return nil
	}
	return &access{r: r, sess: sess, msg: m}
}

// messageState is the message's state, as the inbox shows it: expired when
// the expiry job recalled it or its retention has passed, recalled when
// anyone else recalled it.
func messageState(m *store.Message, now time.Time) string {
	switch {
	case m.Recalled() && m.RecalledBy == lifecycle.ActorExpiry:
		return store.StateExpired
	case m.Recalled():
		return store.StateRecalled
	case !m.RetainUntil.IsZero() && !now.Before(m.RetainUntil):
		return store.StateExpired
	}
	return store.StateAvailable
}

// levelEnough applies the per-message assurance rule: a message whose
// policy asked for the lower "mailbox" assurance opens for any enrolled
// account; every other one needs an account that proved the out-of-band
// factor.
func levelEnough(m *store.Message, sess *Session) bool {
	return m.Assurance == "mailbox" || sess.Level == "oob"
}

// gone shows the recalled or expired page, with no content, and records it.
func (s *Server) gone(w http.ResponseWriter, r *http.Request, actor string, m *store.Message, action, page, title string) {
	if err := s.audit(r, actor, action, m.ID, nil); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	data := struct{ Sender string }{m.Sender}
	s.render(w, r, http.StatusGone, page, title, data)
}

// notFound is the one 404 page for a message that does not exist and for
// one that the signed-in address may not open.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, "notfound", "title.notfound", nil)
}

// cappedBuffer collects a decrypted message in memory, refusing more than
// max bytes.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

var errTooLarge = errors.New("decrypted message exceeds the portal's display limit")

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}

// open appends the access to the audit log and, only if that succeeded,
// unwraps and decrypts the message into memory. It writes an error page
// and returns nil when it fails. Callers clear the bytes when done.
func (s *Server) open(w http.ResponseWriter, a *access, action string, detail map[string]string) []byte {
	if err := s.audit(a.r, Actor(a.sess.Address), action, a.msg.ID, detail); err != nil {
		s.fail(w, a.r, http.StatusServiceUnavailable, "err.unavailable")
		return nil
	}
	raw, _ := s.decryptShown(w, a)
	return raw
}

// decryptShown decrypts the message (see decrypt). When that fails it
// writes the recalled page (recalled between the gate and now) or an error
// page, and returns false.
func (s *Server) decryptShown(w http.ResponseWriter, a *access) ([]byte, bool) {
	raw, err := s.decrypt(a)
	switch {
	case errors.Is(err, store.ErrRecalled):
		s.render(w, a.r, http.StatusGone, "recalled", "title.recalled", struct{ Sender string }{a.msg.Sender})
		return nil, false
	case err != nil:
		s.log.Error("portal: failed to open message", "id", a.msg.ID, "err", err)
		s.fail(w, a.r, http.StatusServiceUnavailable, "err.unavailable")
		return nil, false
	}
	return raw, true
}

// gateOpen runs the gate and opens the message, recording a view of what.
// It returns a nil raw when the request stops here; otherwise the caller
// calls finish.
func (s *Server) gateOpen(w http.ResponseWriter, r *http.Request, page bool, what string) (a *access, raw []byte) {
	if a = s.gate(w, r, page); a == nil {
		return nil, nil
	}
	return a, s.open(w, a, ActionView, map[string]string{"what": what})
}

// decrypt unwraps the message's secret with the portal's Vault token and
// age-decrypts the stored ciphertext into memory, bounded by
// render.MaxMessageSize.
//
// The plaintext counts against the portal's budget (PlaintextBudget) from
// here until the handler calls finish, so parallel requests for large
// messages wait for each other instead of exhausting the node's memory.
func (s *Server) decrypt(a *access) ([]byte, error) {
	ctx, m := a.r.Context(), a.msg
	if s.d.Keys == nil {
		return nil, errors.New("the portal has no Vault credentials")
	}
	weight := min(max(m.CiphertextSize, 1), render.MaxMessageSize)
	if err := s.plain.Acquire(ctx, weight); err != nil {
		return nil, fmt.Errorf("failed to wait for memory to decrypt: %w", err)
	}
	a.held = weight
	buf := &cappedBuffer{max: render.MaxMessageSize}
	buf.Grow(int(min(m.CiphertextSize, render.MaxMessageSize)))
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := lifecycle.Open(ctx, s.d.Store, s.d.Keys.Unwrap, m.ID, buf); err != nil {
		clear(buf.Bytes())
		s.finish(a, nil)
		return nil, err
	}
	return buf.Bytes(), nil
}

// PlaintextBudget bounds the decrypted bytes all requests hold at once.
// It is at least one message at render.MaxMessageSize.
const PlaintextBudget = 4 * render.MaxMessageSize

// finish clears raw and gives its bytes back to the plaintext budget.
func (s *Server) finish(a *access, raw []byte) {
	clear(raw)
	if a.held > 0 {
		s.plain.Release(a.held)
		a.held = 0
	}
}

// partPath is the URL of part n of message id: /m/<id>/<kind>/<n>.
func partPath(id, kind string, n int) string {
	return "/m/" + url.PathEscape(id) + "/" + kind + "/" + strconv.Itoa(n)
}

// attachmentRow is one part in the message page's attachment list.
type attachmentRow struct {
	Name, Type, Size string
	URL              string // download
	Image            string // the inline <img> URL, for raster images
}

// message shows a message: its original headers, text, sanitised HTML
// (in a sandboxed frame), attachments and a reply button.
func (s *Server) message(w http.ResponseWriter, r *http.Request) {
	a, raw := s.gateOpen(w, r, true, "message")
	if raw == nil {
		return
	}
	defer s.finish(a, raw)
	id := a.msg.ID
	v, err := render.Parse(raw, func(n int) string { return partPath(id, "part", n) })
	if err != nil {
		s.log.Error("portal: failed to parse message", "id", id, "err", err)
		s.fail(w, a.r, http.StatusInternalServerError, "err.internal")
		return
	}
	s.recordView(a)
	data := struct {
		ID, Sender         string
		View               *render.View
		BodyURL, ReplyURL  string
		Attachments        []attachmentRow
		LowAssurance       bool
		CanReply           bool
		HasHTML, HasText   bool
		TextOnly, Received string
	}{
		ID: id, Sender: a.msg.Sender, View: v, LowAssurance: a.msg.Assurance == "mailbox",
		CanReply: a.msg.Sender != "", HasHTML: v.HTML != "", HasText: v.Text != "",
		Received: formatTime(a.msg.Created),
	}
	data.BodyURL = "/m/" + url.PathEscape(id) + "/body"
	data.ReplyURL = "/m/" + url.PathEscape(id) + "/reply"
	for _, p := range v.Parts {
		if p.Inline {
			continue // an image of the HTML body, shown there
		}
		row := attachmentRow{Name: p.Name, Type: p.ContentType, Size: formatSize(p.Size), URL: partPath(id, "att", p.Index)}
		if p.Raster && !p.Inline {
			row.Image = partPath(id, "part", p.Index)
		}
		data.Attachments = append(data.Attachments, row)
	}
	s.render(w, a.r, http.StatusOK, "message", "title.message", data)
}

// body serves the message's sanitised HTML as a document of its own, for
// the sandboxed frame of the message page. Its CSP sandboxes it again (no
// scripts, no forms, an opaque origin), so even a direct visit runs
// nothing.
func (s *Server) body(w http.ResponseWriter, r *http.Request) {
	a, raw := s.gateOpen(w, r, false, "html")
	if raw == nil {
		return
	}
	defer s.finish(a, raw)
	v, err := render.Parse(raw, inlineImages(raw))
	if err != nil || v.HTML == "" {
		s.notFound(w, a.r)
		return
	}
	var b bytes.Buffer
	b.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\">" +
		"<meta name=\"referrer\" content=\"no-referrer\"><title></title>" + bodyStyle + "</head><body>\n")
	b.WriteString(v.HTML) // sanitised by render
	b.WriteString("\n</body></html>\n")
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", cspMessage)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	_, _ = w.Write(b.Bytes())
	clear(b.Bytes())
}

// maxInlineImages bounds the image bytes embedded in one HTML body.
const maxInlineImages = 16 << 20

// inlineImages returns the partURL for the HTML body: a data: URL of each
// raster image part the HTML references by cid:. The body is a sandboxed
// document with an opaque origin, whose requests carry no session cookie,
// so its images travel inside it. Past maxInlineImages, or for a part
// whose bytes are not a raster image, the image is left out.
func inlineImages(raw []byte) func(int) string {
	seen := map[int]string{}
	total := 0
	return func(n int) string {
		if u, ok := seen[n]; ok {
			return u
		}
		seen[n] = ""
		p, data, err := render.OpenPart(raw, n)
		if err != nil || !p.Raster || total+len(data) > maxInlineImages {
			return ""
		}
		typ := http.DetectContentType(data)
		if !rasterTypes[typ] {
			return ""
		}
		total += len(data)
		u := "data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(data)
		clear(data)
		seen[n] = u
		return u
	}
}

// rasterTypes are the image types the portal shows inline.
var rasterTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// gatePart runs the gate for a part route and parses the {n} of its URL;
// an index that cannot be a part gets the 404 page. It returns nil when
// the request stops here.
func (s *Server) gatePart(w http.ResponseWriter, r *http.Request) (*access, int) {
	a := s.gate(w, r, false)
	if a == nil {
		return nil, 0
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= render.MaxParts {
		s.notFound(w, a.r)
		return nil, 0
	}
	return a, n
}

// part serves a raster image part for display in the message page (the
// HTML body embeds its own, see inlineImages). Anything else is 404: other
// parts are only ever downloaded, as attachments.
func (s *Server) part(w http.ResponseWriter, r *http.Request) {
	a, n := s.gatePart(w, r)
	if a == nil {
		return
	}
	raw := s.open(w, a, ActionView, map[string]string{"what": "part", "part": strconv.Itoa(n)})
	if raw == nil {
		return
	}
	defer s.finish(a, raw)
	p, data, err := render.OpenPart(raw, n)
	if err != nil || !p.Raster {
		s.notFound(w, a.r)
		return
	}
	defer clear(data)
	// The type the bytes themselves show, which render checked agrees with
	// the declared one.
	typ := http.DetectContentType(data)
	if !rasterTypes[typ] {
		s.notFound(w, a.r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// attachment serves any part as a download: always an attachment, with
// its real name, and never a type the browser would render as a page (an
// SVG or HTML part is application/octet-stream).
func (s *Server) attachment(w http.ResponseWriter, r *http.Request) {
	a, n := s.gatePart(w, r)
	if a == nil {
		return
	}
	raw, ok := s.decryptShown(w, a)
	if !ok {
		return
	}
	defer s.finish(a, raw)
	p, data, err := render.OpenPart(raw, n)
	if err != nil {
		s.notFound(w, a.r)
		return
	}
	defer clear(data)
	// Recorded before a byte is sent (with the size, so after decrypting
	// into memory): no entry, no download.
	if err := s.audit(a.r, Actor(a.sess.Address), ActionDownload, a.msg.ID, map[string]string{
		"part": strconv.Itoa(n), "size": strconv.Itoa(len(data)),
	}); err != nil {
		s.fail(w, a.r, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	typ := "application/octet-stream"
	if p.Raster && rasterTypes[p.ContentType] && http.DetectContentType(data) == p.ContentType {
		typ = p.ContentType
	}
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("Content-Disposition", contentDisposition(p.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// formatTime shows a time to recipients, in UTC.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// formatSize shows a size in bytes, KB or MB (of 1024).
func formatSize(n int64) string {
	switch {
	case n < 1024:
		return tr("size.bytes", n)
	case n < 1024*1024:
		return tr("size.kb", float64(n)/1024)
	}
	return tr("size.mb", float64(n)/(1024*1024))
}

// contentDisposition is an RFC 6266 attachment disposition for name: an
// ASCII fallback in filename= and the real name, UTF-8 and
// percent-encoded, in filename*= (RFC 8187).
func contentDisposition(name string) string {
	if name == "" {
		name = "attachment"
	}
	return fmt.Sprintf("attachment; filename=\"%s\"; filename*=UTF-8''%s", asciiFallback(name), pctEncode(name))
}

// asciiFallback replaces every byte of name that is not printable ASCII,
// and the quoting characters, with '_'.
func asciiFallback(name string) string {
	b := []byte{}
	for _, r := range name {
		switch {
		case r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%':
			b = append(b, '_')
		default:
			b = append(b, byte(r))
		}
	}
	return string(b)
}

// pctEncode percent-encodes every byte of s that is not an RFC 8187
// attr-char.
func pctEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			bytes.IndexByte([]byte("!#$&+-.^_`|~"), c) >= 0 {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

// bodyStyle is the portal's own style for a message's HTML body: the
// sanitiser drops the message's styles, so it would otherwise show in the
// browser's default serif. The body's CSP allows inline style; it allows no
// script, so this is the one thing inline in it.
const bodyStyle = "<style>body{font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;" +
	"color:#1a1a1a;margin:1rem;overflow-wrap:anywhere}img{max-width:100%;height:auto}" +
	"pre{white-space:pre-wrap;font:inherit}table{border-collapse:collapse;max-width:100%}" +
	"td,th{padding:.25rem .5rem;vertical-align:top}a{color:#1d4f91}</style>"
