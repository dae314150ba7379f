package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/nexthop"
)

// summarise turns per-recipient results into the single reply SMTP allows:
//   - 250 when every recipient was delivered;
//   - 4xx when anything is still owed (a retry re-sends only that, thanks to
//     the ledger);
//   - 250 plus a DSN to the sender when some were delivered and the rest
//     failed permanently;
//   - 5xx when every recipient failed permanently.
func (r *Relay) summarise(t *txn, results []*smtp.SMTPError) error {
	var temp, perm *smtp.SMTPError
	var failed []failedRcpt
	delivered := 0
	for i, e := range results {
		switch {
		case e == nil:
			delivered++
		case e.Code >= 400 && e.Code < 500:
			if temp == nil {
				temp = e
			}
		default:
			if perm == nil {
				perm = e
			}
			failed = append(failed, failedRcpt{rcpt: t.rcpts[i], err: e})
		}
	}
	switch {
	case temp != nil:
		return temp
	case delivered == 0 && perm != nil:
		return perm
	case len(failed) > 0:
		if t.from == "" {
			// Never bounce a bounce (RFC 5321 section 4.5.5).
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.opt.ProcessTimeout)
		defer cancel()
		if err := r.sendDSN(ctx, t, failed); err != nil {
			r.log.Error("DSN failed: deferring so that the sender learns of the failure on retry", "trace", t.trace, "err", err)
			return tempFailure(t.trace)
		}
	}
	return reply(replyOK, codeOK, "Message accepted", t.trace)
}

type failedRcpt struct {
	rcpt string
	err  *smtp.SMTPError
}

// sendDSN reports permanently failed recipients to the sender (RFC 3464),
// with no part of the original message: its subject alone may be PHI.
func (r *Relay) sendDSN(ctx context.Context, t *txn, failed []failedRcpt) error {
	var b bytes.Buffer
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	boundary := "sealpost-" + hex.EncodeToString(rnd[:])
	now := time.Now().Format(time.RFC1123Z)
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", r.opt.Hostname)
	fmt.Fprintf(&b, "To: <%s>\r\n", t.from)
	fmt.Fprintf(&b, "Subject: Undelivered mail [%s]\r\n", t.trace)
	fmt.Fprintf(&b, "Date: %s\r\n", now)
	fmt.Fprintf(&b, "Message-ID: <dsn.%s.%s@%s>\r\n", t.trace, hex.EncodeToString(rnd[:4]), r.opt.Hostname)
	b.WriteString("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status; boundary=%q\r\n\r\n", boundary)

	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary)
	var text strings.Builder
	fmt.Fprintf(&text, "Your message (trace %s) could not be delivered to these recipients:\r\n\r\n", t.trace)
	for _, f := range failed {
		fmt.Fprintf(&text, "  %s: %d %d.%d.%d %s\r\n", f.rcpt, f.err.Code,
			f.err.EnhancedCode[0], f.err.EnhancedCode[1], f.err.EnhancedCode[2], f.err.Message)
	}
	text.WriteString("\r\nThe other recipients received it. This report includes no part of your message.\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(text.String()))
	_ = qp.Close()
	b.WriteString("\r\n")

	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", r.opt.Hostname, now)
	for _, f := range failed {
		fmt.Fprintf(&b, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %d.%d.%d\r\n",
			f.rcpt, f.err.EnhancedCode[0], f.err.EnhancedCode[1], f.err.EnhancedCode[2])
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)

	res, err := r.deps.NextHop.Deliver(ctx, nexthop.Envelope{From: "", To: []string{t.from}, SMTPUTF8: t.utf8}, &b)
	if err != nil {
		return fmt.Errorf("failed to send DSN: %w", err)
	}
	if e := res.Err(t.from); e != nil {
		if e.Code >= 500 {
			// Nowhere to report to: RFC 5321 section 6.1 lets a DSN that
			// cannot be delivered be dropped; the log keeps the trace.
			r.log.Warn("DSN refused permanently by next hop", "trace", t.trace)
			return nil
		}
		return fmt.Errorf("failed to send DSN: %w", e)
	}
	r.auditf(ctx, t, "", "dsn", map[string]string{"failed": fmt.Sprint(len(failed))})
	return nil
}
