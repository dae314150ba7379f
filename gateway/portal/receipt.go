package portal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/sealpost/sealpost/gateway/nexthop"
	"github.com/sealpost/sealpost/gateway/store"
)

// receiptRetryAfter is how long after a first view whose read receipt did
// not go out a later view sends it instead. (Of two concurrent first views
// exactly one is first; waiting keeps the other from sending it twice.)
const receiptRetryAfter = 2 * time.Minute

// recordView records the recipient's view of the message and, when the
// message asked for a read receipt and none went out yet, sends one. A
// failure is logged and never stops the message from being shown.
func (s *Server) recordView(a *access) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.r.Context()), time.Minute)
	defer cancel()
	now := s.d.Now()
	first, err := s.d.Store.RecordView(ctx, a.msg.ID, a.sess.Address, now)
	if err != nil {
		s.log.Error("portal: failed to record view", "id", a.msg.ID, "err", err)
		return
	}
	if !a.msg.ReadReceipt || a.msg.Sender == "" {
		return
	}
	if !first {
		v, err := s.d.Store.View(ctx, a.msg.ID, a.sess.Address)
		if err != nil || !v.ReceiptAt.IsZero() || now.Sub(v.FirstView) < receiptRetryAfter {
			return
		}
	}
	if err := s.sendReceipt(ctx, a, now); err != nil {
		s.log.Error("portal: failed to send read receipt", "id", a.msg.ID, "err", hopError(err))
	}
}

// sendReceipt tells the message's sender that the recipient opened it: the
// message id, the recipient's address and the time, never the subject or
// any content (the receipt itself travels unsealed if policy passes it).
func (s *Server) sendReceipt(ctx context.Context, a *access, at time.Time) error {
	msgID := newMessageID(s.base.Hostname())
	body := tr("receipt.body", a.msg.ID, a.sess.Address, at.UTC().Format(time.RFC1123Z))
	msg, err := composeNotice(s.cfg.From, a.msg.Sender, tr("receipt.subject"), msgID, at, body)
	if err != nil {
		return err
	}
	if err := s.deliver(ctx, a.msg.Sender, msg); err != nil {
		return err
	}
	if err := s.d.Store.MarkReceipt(ctx, a.msg.ID, a.sess.Address, at); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("portal: failed to mark read receipt", "id", a.msg.ID, "err", err)
	}
	return s.audit(a.r, Actor(a.sess.Address), ActionReceipt, a.msg.ID, map[string]string{"receipt_message_id": msgID})
}

// deliver sends msg from the portal's address to rcpt through the reply
// hop, and reports the hop's refusal as an error.
func (s *Server) deliver(ctx context.Context, rcpt string, msg []byte) error {
	env := nexthop.Envelope{
		From: s.cfg.From, To: []string{rcpt}, SMTPUTF8: needsSMTPUTF8(s.cfg.From, rcpt),
		Size: int64(len(msg)),
	}
	res, err := s.d.Replies.Deliver(ctx, env, bytes.NewReader(msg))
	if err != nil {
		return fmt.Errorf("failed to deliver: %w", err)
	}
	if e := res.Err(rcpt); e != nil {
		return fmt.Errorf("failed to deliver: next hop answered %d %v", e.Code, e.EnhancedCode)
	}
	return nil
}

// newMessageID returns a fresh Message-ID, "<random@host>".
func newMessageID(host string) string {
	b := make([]byte, 20)
	rand.Read(b)
	if host == "" {
		host = "sealpost.invalid"
	}
	return "<" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)) + "@" + host + ">"
}

// composeNotice writes a short automatic text/plain message (RFC 3834
// Auto-Submitted: auto-generated). Header values are the portal's own
// strings and addresses, checked to hold no line breaks.
func composeNotice(from, to, subject, msgID string, date time.Time, body string) ([]byte, error) {
	for _, v := range []string{from, to, subject, msgID} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, errors.New("failed to compose notice: line break in a header value")
		}
	}
	if _, err := mail.ParseAddress(to); err != nil {
		return nil, fmt.Errorf("failed to compose notice: bad recipient: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n",
		from, to, subject, date.UTC().Format(time.RFC1123Z), msgID)
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// needsSMTPUTF8 reports whether any of the envelope addresses is not
// ASCII (RFC 6531).
func needsSMTPUTF8(addrs ...string) bool {
	for _, a := range addrs {
		for i := 0; i < len(a); i++ {
			if a[i] >= 0x80 {
				return true
			}
		}
	}
	return false
}
