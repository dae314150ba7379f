package portal

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/nexthop"
)

// Code lengths: a mailbox code has 8 digits, an SMS code 6.
const (
	mailboxCodeDigits = 8
	smsCodeDigits     = 6
)

// maxCodesPerHour bounds the codes (mail and SMS) sent to one address.
const maxCodesPerHour = 5

// newDigits returns n random decimal digits.
func newDigits(n int) string {
	var b strings.Builder
	for range n {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

// normalizeDigits returns the n digits of a code as typed (spaces, dashes
// and dots ignored; other characters, or another count, refused).
func normalizeDigits(s string, n int) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if b.Len() == n {
				return "", false
			}
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '.' || c == '\t':
		default:
			return "", false
		}
	}
	if b.Len() != n {
		return "", false
	}
	return b.String(), true
}

// groupDigits writes a code in groups of four, for reading: "1234 5678".
func groupDigits(code string) string {
	if len(code) <= 4 {
		return code
	}
	var parts []string
	for len(code) > 4 {
		parts = append(parts, code[:4])
		code = code[4:]
	}
	return strings.Join(append(parts, code), " ")
}

// mailboxCodeMessage builds the mail carrying a mailbox code. It holds the
// code, its expiry and the organisation's name: never anything about a
// message (not even that one exists).
func (s *Server) mailboxCodeMessage(to, code string, now time.Time) []byte {
	org := s.cfg.Branding.Name
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", mime.QEncoding.Encode("utf-8", org)+" <"+s.cfg.From+">")
	h("To", "<"+to+">")
	h("Subject", mime.QEncoding.Encode("utf-8", tr("mail.code.subject", org)))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+rand.Text()+"@"+domainOf(s.cfg.From)+">")
	h("Auto-Submitted", "auto-generated")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	body := tr("mail.code.body", org, groupDigits(code), int(s.cfg.CodeTTL.Minutes()))
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return b.Bytes()
}

// isPlainASCII reports whether s is all ASCII (else the envelope needs
// SMTPUTF8).
func isPlainASCII(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= 0x80 }) < 0
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i+1 < len(addr) {
		return addr[i+1:]
	}
	return "sealpost.invalid"
}

// sendMailboxCode mails code to address in the background, so that the
// answer to the visitor takes the same time whether or not a code went
// out (see handleStart).
func (s *Server) sendMailboxCode(address, code string) {
	msg := s.mailboxCodeMessage(address, code, s.d.Now())
	env := nexthop.Envelope{From: s.cfg.From, To: []string{address}, SMTPUTF8: !isPlainASCII(address + s.cfg.From)}
	s.auth.bg.Add(1)
	go func() {
		defer s.auth.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := s.d.Codes.Deliver(ctx, env, bytes.NewReader(msg))
		if err == nil && res != nil {
			if e := res.Err(address); e != nil {
				err = e
			}
		}
		if err != nil {
			s.log.Error("portal: failed to send a mailbox code", "err", hopError(err))
		}
	}()
}

// hopError is a next hop's error fit for the log: the text of an SMTP
// reply often echoes the recipient's address, so only its codes are kept.
func hopError(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fmt.Errorf("next hop answered %d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	return err
}
