package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/internal/failpoint"
)

type backend struct {
	r    *Relay
	lmtp bool
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s := &session{r: b.r, conn: c, lmtp: b.lmtp}
	if addr, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(addr.IP)
		s.remote = ip.Unmap()
		for _, p := range b.r.opt.AllowNetworks {
			if p.Contains(s.remote) {
				s.trusted = true
				break
			}
		}
	}
	return s, nil
}

// session is one SMTP or LMTP connection. It collects the envelope and hands
// the message to a transaction after DATA.
type session struct {
	r       *Relay
	conn    *smtp.Conn
	lmtp    bool
	remote  netip.Addr
	trusted bool
	user    string // authenticated user, "" if none

	trace string
	from  string
	opts  smtp.MailOptions
	rcpts []string
	began bool
}

var _ smtp.LMTPSession = (*session)(nil)
var _ smtp.AuthSession = (*session)(nil)

func newTrace() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *session) isTLS() bool {
	_, ok := s.conn.TLSConnectionState()
	return ok
}

func (s *session) AuthMechanisms() []string {
	if s.r.opt.Users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.r.opt.Users == nil || mech != sasl.Plain || !s.isTLS() {
		return nil, reply(504, smtp.EnhancedCode{5, 5, 4}, "Authentication mechanism not supported", "")
	}
	return genericSASL{sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return reply(535, smtp.EnhancedCode{5, 7, 8}, "Authentication credentials invalid", "")
		}
		if !s.r.opt.Users.Check(username, password) {
			s.r.m.authFailed.Inc()
			s.r.log.Warn("authentication failed", "remote", s.remote.String())
			return reply(535, smtp.EnhancedCode{5, 7, 8}, "Authentication credentials invalid", "")
		}
		s.user = username
		return nil
	})}, nil
}

// genericSASL makes every error of a SASL exchange an explicit SMTP reply:
// go-smtp would otherwise send the text of go-sasl's own errors.
type genericSASL struct{ sasl.Server }

func (g genericSASL) Next(response []byte) ([]byte, bool, error) {
	challenge, done, err := g.Server.Next(response)
	if err != nil {
		if _, ok := err.(*smtp.SMTPError); !ok {
			err = reply(535, smtp.EnhancedCode{5, 7, 8}, "Authentication credentials invalid", "")
		}
	}
	return challenge, done, err
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.reset()
	s.trace = newTrace()
	if s.r.opt.RequireTLS && !s.isTLS() {
		return reply(replyAuthRequired, codePermSecurity, "Must issue a STARTTLS command first", s.trace)
	}
	if !s.trusted && s.user == "" {
		s.r.m.relayDenied.Inc()
		return reply(replyRejected, codeNotAuthorized, "Relaying denied", s.trace)
	}
	if from != "" && !validAddress(from) {
		return reply(replyBadSyntax, codeBadSender, "Bad sender address syntax", s.trace)
	}
	if opts != nil {
		s.opts = *opts
	}
	s.from = from
	s.began = true
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.began {
		return reply(replyBadSequence, smtp.EnhancedCode{5, 5, 1}, "MAIL first", s.trace)
	}
	if !validAddress(to) {
		return reply(replyBadSyntax, codeBadAddress, "Bad recipient address syntax", s.trace)
	}
	if len(s.rcpts) >= s.r.opt.MaxRecipients {
		return reply(replyTempStorage, codeTooManyRcpts, "Too many recipients", s.trace)
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// validAddress accepts a local@domain address with no control characters or
// spaces; the next hop does the full RFC 5321 check.
func validAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || len(a) > 320 {
		return false
	}
	for _, c := range a {
		if c <= ' ' || c == 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

func (s *session) Data(r io.Reader) error {
	results, err := s.receive(r)
	if err != nil {
		return err
	}
	return s.r.summarise(s.tx(), results)
}

func (s *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	results, err := s.receive(r)
	if err != nil {
		return err
	}
	for i, rcpt := range s.rcpts {
		if results[i] == nil {
			status.SetStatus(rcpt, nil)
		} else {
			status.SetStatus(rcpt, results[i])
		}
	}
	return nil
}

// receive spools the message and runs the transaction. It returns one result
// per recipient (nil = delivered), or a single error for the whole message.
func (s *session) receive(r io.Reader) ([]*smtp.SMTPError, error) {
	if !s.began || len(s.rcpts) == 0 {
		_, _ = io.Copy(io.Discard, r)
		return nil, reply(replyBadSequence, smtp.EnhancedCode{5, 5, 1}, "No valid recipients", s.trace)
	}
	buf := s.r.deps.Spool.NewBuffer()
	defer buf.Remove()
	// The spool reads the message itself (Buffer.ReadFrom), through a recycled buffer.
	if _, err := io.Copy(buf, failpoint.Reader(r)); err != nil {
		_, _ = io.Copy(io.Discard, r)
		var se *smtp.SMTPError
		if errors.As(err, &se) && se == smtp.ErrDataTooLarge {
			s.r.m.messages.WithLabelValues("too_large").Inc()
			return nil, reply(552, smtp.EnhancedCode{5, 3, 4}, "Message too big", s.trace)
		}
		s.r.log.Warn("receive failed", "trace", s.trace, "err", err)
		return nil, tempFailure(s.trace)
	}
	if err := buf.Seal(); err != nil {
		s.r.log.Error("spool failed", "trace", s.trace, "err", err)
		return nil, tempFailure(s.trace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.r.opt.ProcessTimeout)
	defer cancel()
	t := s.tx()
	t.buf = buf
	return s.r.process(ctx, t), nil
}

func (s *session) tx() *txn {
	return &txn{
		trace: s.trace, from: s.from, rcpts: s.rcpts, body: s.opts.Body, utf8: s.opts.UTF8,
		helo: s.conn.Hostname(), remote: s.remote, tls: s.isTLS(), user: s.user, lmtp: s.lmtp,
	}
}

func (s *session) reset() {
	s.from, s.rcpts, s.began = "", nil, false
	s.opts = smtp.MailOptions{}
}

func (s *session) Reset()        { s.reset() }
func (s *session) Logout() error { return nil }
