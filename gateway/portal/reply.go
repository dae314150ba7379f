package portal

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sealpost/sealpost/gateway/portal/render"
)

// Secure replies. A recipient who may view a message may answer it: the
// reply goes from the portal's own address (Reply-To the recipient) to the
// message's envelope sender, threaded with In-Reply-To and References, and
// through Deps.Replies, which by default is this node's own relay, so that
// policy classifies the reply and seals it when it says so. The form is
// read into memory (bounded by Config.MaxReplyBytes): a reply is written
// by the recipient and may well carry health data, so it never goes to a
// temporary file.

// maxReplyText bounds the reply's text field.
const maxReplyText = 1 << 20

// maxReplyFiles bounds the number of attached files.
const maxReplyFiles = 20

// replyPage is the data of the reply form.
type replyPage struct {
	ID, Action, Back string
	To, Subject      string
	Text             string
	MaxSize          string
	Error            string // a key in text, or ""
}

// replyGate runs the gate for the reply routes; a message without a
// sender cannot be answered. It returns nil when the request stops here.
func (s *Server) replyGate(w http.ResponseWriter, r *http.Request) *access {
	a := s.gate(w, r, false)
	if a == nil {
		return nil
	}
	if a.msg.Sender == "" {
		s.fail(w, a.r, http.StatusNotFound, "reply.nosender")
		return nil
	}
	return a
}

// replyForm shows the reply form.
func (s *Server) replyForm(w http.ResponseWriter, r *http.Request) {
	a := s.replyGate(w, r)
	if a == nil {
		return
	}
	raw := s.open(w, a, ActionView, map[string]string{"what": "reply-form"})
	if raw == nil {
		return
	}
	defer s.finish(a, raw)
	v, err := render.Parse(raw, nil)
	if err != nil {
		s.fail(w, a.r, http.StatusInternalServerError, "err.internal")
		return
	}
	s.render(w, a.r, http.StatusOK, "reply", "title.reply", s.replyData(a, v.Subject, "", ""))
}

func (s *Server) replyData(a *access, subject, text, errKey string) replyPage {
	id := a.msg.ID
	return replyPage{
		ID: id, Action: "/m/" + url.PathEscape(id) + "/reply", Back: "/m/" + url.PathEscape(id),
		To: a.msg.Sender, Subject: replySubject(subject), Text: text,
		MaxSize: formatSize(s.cfg.MaxReplyBytes), Error: errKey,
	}
}

// replySubject is what the reply's subject will be, as ComposeReply makes
// it.
func replySubject(s string) string {
	if len(s) >= 3 && (s[:3] == "Re:" || s[:3] == "RE:" || s[:3] == "re:") {
		return s
	}
	return "Re: " + s
}

// replySend composes the reply and delivers it.
func (s *Server) replySend(w http.ResponseWriter, r *http.Request) {
	a := s.replyGate(w, r)
	if a == nil {
		return
	}
	r = a.r
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxReplyBytes)
	text, atts, err := readReplyForm(r)
	defer func() {
		for _, at := range atts {
			clear(at.Data)
		}
	}()
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.fail(w, r, http.StatusRequestEntityTooLarge, "reply.toolarge")
		return
	case err != nil:
		s.fail(w, r, http.StatusBadRequest, "err.badrequest")
		return
	}

	// The original's subject and ids thread the reply.
	raw := s.open(w, a, ActionView, map[string]string{"what": "reply"})
	if raw == nil {
		return
	}
	v, err := render.Parse(raw, nil)
	s.finish(a, raw)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	if text == "" && len(atts) == 0 {
		s.render(w, r, http.StatusBadRequest, "reply", "title.reply", s.replyData(a, v.Subject, "", "reply.empty"))
		return
	}
	now := s.d.Now()
	msgID := newMessageID(s.base.Hostname())
	msg, err := render.ComposeReply(render.Reply{
		From: s.cfg.From, ReplyTo: a.sess.Address, To: a.msg.Sender,
		Subject: v.Subject, InReplyTo: v.MessageID, References: v.References,
		Text: text, Attachments: atts, Date: now, MessageID: msgID,
	})
	if err != nil {
		s.log.Warn("portal: failed to compose reply", "id", a.msg.ID, "err", err)
		s.render(w, r, http.StatusBadRequest, "reply", "title.reply", s.replyData(a, v.Subject, text, "reply.invalid"))
		return
	}
	defer clear(msg)
	actor := Actor(a.sess.Address)
	detail := map[string]string{
		"reply_message_id": msgID, "attachments": strconv.Itoa(len(atts)), "size": strconv.Itoa(len(msg)),
	}
	if err := s.audit(r, actor, ActionReply, a.msg.ID, detail); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Minute)
	defer cancel()
	if err := s.deliver(ctx, a.msg.Sender, msg); err != nil {
		s.log.Error("portal: failed to deliver reply", "id", a.msg.ID, "err", hopError(err))
		_ = s.audit(r, actor, ActionReply, a.msg.ID, map[string]string{"reply_message_id": msgID, "outcome": "failed"})
		s.render(w, r, http.StatusServiceUnavailable, "reply", "title.reply", s.replyData(a, v.Subject, text, "reply.failed"))
		return
	}
	s.render(w, r, http.StatusOK, "sent", "title.sent", struct{ To, Back string }{a.msg.Sender, "/m/" + url.PathEscape(a.msg.ID)})
}

// readReplyForm reads the multipart form into memory: the "text" field
// and every file of "files". Any other field is ignored.
func readReplyForm(r *http.Request) (text string, atts []render.Attachment, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, err
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", atts, err
		}
		switch p.FormName() {
		case "text":
			b, err := io.ReadAll(io.LimitReader(p, maxReplyText+1))
			if err != nil {
				return "", atts, err
			}
			if len(b) > maxReplyText || !utf8.Valid(b) {
				return "", atts, errors.New("reply text too long or not UTF-8")
			}
			text = string(b)
		case "files":
			name := p.FileName()
			b, err := io.ReadAll(p)
			if err != nil {
				return "", atts, err
			}
			if name == "" && len(b) == 0 {
				continue // the empty file input
			}
			if len(atts) == maxReplyFiles {
				return "", atts, errors.New("too many files")
			}
			typ := "application/octet-stream"
			if mt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type")); err == nil && mt != "" {
				typ = mt
			}
			atts = append(atts, render.Attachment{Name: name, ContentType: typ, Data: b})
		default:
			_, _ = io.Copy(io.Discard, p)
		}
	}
	return trimText(text), atts, nil
}

// trimText drops a text that is only white space.
func trimText(s string) string {
	if len(bytes.TrimSpace([]byte(s))) == 0 {
		return ""
	}
	return s
}
