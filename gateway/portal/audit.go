package portal

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sealpost/sealpost/gateway/audit"
)

// Audit actions the portal appends. Every entry also carries the client's
// IP address and user agent in Detail ("ip", "user_agent").
const (
	ActionCodeSent      = "portal.code-sent"      // a mailbox or SMS code went out (detail: channel)
	ActionEnrol         = "portal.enrol"          // an account registered its authenticator (detail: method, level)
	ActionStepUp        = "portal.step-up"        // an account proved the out-of-band factor (detail: factor)
	ActionLogin         = "portal.login"          // a login succeeded (detail: method)
	ActionLoginFailed   = "portal.login-failed"   // a code, password, TOTP or passkey check failed (detail: check, reason)
	ActionLockout       = "portal.lockout"        // too many failures locked the account
	ActionLogout        = "portal.logout"         //
	ActionView          = "portal.view"           // a message was opened
	ActionDownload      = "portal.download"       // an attachment was downloaded (detail: part, size)
	ActionReply         = "portal.reply"          // a secure reply was sent (detail: reply message id)
	ActionReceipt       = "portal.read-receipt"   // a read receipt went to the sender
	ActionRecalledShown = "portal.recalled-shown" // the recalled page was shown
	ActionExpiredShown  = "portal.expired-shown"  // the expired page was shown
	ActionDenied        = "portal.denied"         // a signed-in account asked for a message it may not open (detail: reason)
	ActionContactShown  = "portal.contact-shown"  // no out-of-band factor was possible: the contact-the-sender page was shown
	ActionReset         = "account.reset"         // an admin reset an account (detail: reason)
)

// Actor names a recipient in the audit log.
func Actor(address string) string { return "recipient:" + strings.ToLower(address) }

// audit appends an entry for the request r. Callers that show content
// append first and refuse to show it if the entry cannot be written.
func (s *Server) audit(r *http.Request, actor, action, msgID string, detail map[string]string) error {
	if detail == nil {
		detail = map[string]string{}
	}
	detail["ip"] = clientIP(r)
	detail["user_agent"] = truncate(r.UserAgent(), 512)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	_, err := s.d.Audit.Append(ctx, audit.Entry{Actor: actor, Action: action, MessageID: msgID, Detail: detail})
	if err != nil {
		s.log.Error("portal: failed to append audit entry", "action", action, "err", err)
	}
	return err
}

// clientIP is the peer's IP address. The portal does not trust
// X-Forwarded-For: a reverse proxy in front must be configured to pass
// the address another way, or the proxy's address is recorded.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
