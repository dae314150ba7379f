package relay

import (
	"fmt"

	"github.com/emersion/go-smtp"
)

// Reply codes and enhanced status codes Sealpost sends. The basic codes are
// from RFC 5321 section 4.2.3, the enhanced ones from RFC 3463 and the IANA
// registry of enhanced status codes.
var (
	// 4.3.0: "other or undefined mail system status" (RFC 3463 section
	// 3.4). Used when classification, Vault, the store or sealing fail.
	codeTempSystem = smtp.EnhancedCode{4, 3, 0}
	// 4.4.1: "no answer from host" (RFC 3463 section 3.5): the next hop is
	// unreachable.
	codeTempNextHop = smtp.EnhancedCode{4, 4, 1}
	// 4.7.0 and 5.7.0: "other or undefined security status" (RFC 3463
	// section 3.8): TLS required, or too many connections.
	codeTempSecurity = smtp.EnhancedCode{4, 7, 0}
	codePermSecurity = smtp.EnhancedCode{5, 7, 0}
	// 5.7.1: "delivery not authorized, message refused" (RFC 3463 section
	// 3.8): relaying denied and policy rejects.
	codeNotAuthorized = smtp.EnhancedCode{5, 7, 1}
	// 4.5.3: "too many recipients" (RFC 3463 section 3.6).
	codeTooManyRcpts = smtp.EnhancedCode{4, 5, 3}
	// 5.1.3: "bad destination mailbox address syntax" (RFC 3463 section 3.2).
	codeBadAddress = smtp.EnhancedCode{5, 1, 3}
	// 5.1.7: "bad sender's mailbox address syntax".
	codeBadSender = smtp.EnhancedCode{5, 1, 7}
	// 5.6.0: "other or undefined media error" (RFC 3463 section 3.7): the
	// message cannot be parsed.
	codeMedia = smtp.EnhancedCode{5, 6, 0}
	// 2.0.0 and 2.6.0 for success.
	codeOK = smtp.EnhancedCode{2, 0, 0}
)

const (
	// RFC 5321 section 4.2.3 reply codes.
	replyOK           = 250
	replyServiceNA    = 421 // service not available, closing channel
	replyTempLocal    = 451 // requested action aborted: local error
	replyTempStorage  = 452 // insufficient system storage / too many recipients
	replyAuthRequired = 530 // authentication or STARTTLS required (RFC 4954 section 6)
	replyBadSyntax    = 501 // syntax error in parameters
	replyRejected     = 550 // mailbox unavailable / not authorized
	replyTxFailed     = 554 // transaction failed
	replyBadSequence  = 503 // bad sequence of commands
)

// reply builds the explicit SMTP reply a client sees: a generic text and the
// trace id, and never the text of an internal error.
func reply(code int, enh smtp.EnhancedCode, text, trace string) *smtp.SMTPError {
	if trace != "" {
		text = fmt.Sprintf("%s [%s]", text, trace)
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: text}
}

func tempFailure(trace string) *smtp.SMTPError {
	return reply(replyTempLocal, codeTempSystem, "Temporary local problem, please try again later", trace)
}

func tempNextHop(trace string) *smtp.SMTPError {
	return reply(replyTempLocal, codeTempNextHop, "Next hop unavailable, please try again later", trace)
}
