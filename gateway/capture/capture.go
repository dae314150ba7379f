package capture

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Stage is the SMTP command at which [Server.Fail] injects an error.
type Stage string

// The stages of a mail transaction.
const (
	StageMail Stage = "mail" // MAIL FROM; the address given to Fail is matched against the sender
	StageRcpt Stage = "rcpt" // RCPT TO, per recipient
	StageData Stage = "data" // the reply after the final dot; over LMTP per recipient
)

// Config configures a capture server. Only Dir is required.
type Config struct {
	// Addr is the TCP listen address. Default "127.0.0.1:0" (a free port; see [Server.Addr]).
	Addr string
	// Dir receives one <id>.eml file per accepted message. Created with mode 0700 if missing. Required unless
	// Discard is set.
	Dir string
	// TLSCert and TLSKey are PEM files. When both are set, STARTTLS is offered. Default: no TLS.
	TLSCert, TLSKey string
	// RequireTLS rejects MAIL with 530 5.7.0 before STARTTLS. Default false.
	RequireTLS bool
	// LMTP speaks LMTP (LHLO, one reply per recipient after DATA) instead of SMTP. Default false.
	LMTP bool
	// MaxSize is the largest message accepted in bytes, advertised as SIZE. Default 0: no limit (SIZE without
	// a number).
	MaxSize int64
	// NoSMTPUTF8 stops offering SMTPUTF8, to play a next hop without it. Default false (offered).
	NoSMTPUTF8 bool
	// Discard accepts messages without writing them to disk (Delivery.Path is empty): a sink for benchmarks
	// and load tests. Default false.
	Discard bool
	// KeepInMemory also keeps each message's bytes in [Delivery.Data]. Default false.
	KeepInMemory bool
	// Username and Password, when Username is set, offer AUTH PLAIN (only after STARTTLS) and make MAIL
	// require it. Default: no AUTH.
	Username, Password string
	// Domain is the host name in the greeting. Default "capture.localhost".
	Domain string
	// Timeout is the idle read and write timeout per connection. Default 5 minutes.
	Timeout time.Duration
	// Logger receives connection-level events at debug level; no addresses or content. Default slog.Default().
	Logger *slog.Logger
}

// Delivery is one message the server accepted and stored.
type Delivery struct {
	ID       string        // file name without the .eml extension
	From     string        // reverse path from MAIL FROM
	To       []string      // recipients the message was accepted for
	Path     string        // absolute path of the .eml file
	TLS      bool          // the transaction ran over TLS
	AuthUser string        // SASL user name, if the client authenticated
	SMTPUTF8 bool          // MAIL carried SMTPUTF8
	Body     smtp.BodyType // MAIL's BODY= parameter ("" if absent)
	Size     int64         // MAIL's SIZE= parameter (0 if absent)
	Conn     int64         // sequence number of the connection, from 1 (see [Server.Connections])
	Data     []byte        // the message, only with Config.KeepInMemory
}

// Server is a running capture next hop. Its methods are safe for concurrent use.
type Server struct {
	cfg       Config
	log       *slog.Logger
	tlsConfig *tls.Config
	addr      string

	conns atomic.Int64 // connections accepted
	mails atomic.Int64 // MAIL commands received

	inflight sync.WaitGroup // DATA commands being handled

	mu         sync.Mutex
	closed     bool
	srv        *smtp.Server // nil while down
	ln         net.Listener // srv's listener
	served     chan struct{}
	open       map[*trackedConn]struct{}
	deliveries []Delivery
	changed    chan struct{} // closed and replaced when deliveries or held change
	fails      map[failKey]*smtp.SMTPError
	holdCh     chan struct{} // non-nil while DATA is held
	held       int
	dropAfter  int64 // <0: off
}

type failKey struct {
	stage Stage
	addr  string // lower case; "" = every message
}

// Start listens on cfg.Addr and serves in the background until [Server.Close].
func Start(cfg Config) (*Server, error) {
	if cfg.Dir == "" && !cfg.Discard {
		return nil, errors.New("failed to start capture: Config.Dir is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Domain == "" {
		cfg.Domain = "capture.localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		changed:   make(chan struct{}),
		fails:     make(map[failKey]*smtp.SMTPError),
		open:      make(map[*trackedConn]struct{}),
		dropAfter: -1,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("failed to start capture: TLSCert and TLSKey must be set together")
	}
	if cfg.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("failed to load capture TLS key pair: %w", err)
		}
		s.tlsConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	if cfg.RequireTLS && s.tlsConfig == nil {
		return nil, errors.New("failed to start capture: RequireTLS needs TLSCert and TLSKey")
	}
	if !cfg.Discard {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("failed to create capture directory: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen for capture: %w", err)
	}
	s.addr = ln.Addr().String()
	s.mu.Lock()
	s.serveLocked(ln)
	s.mu.Unlock()
	return s, nil
}

func (s *Server) serveLocked(ln net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Network = "tcp"
	srv.Addr = s.addr
	srv.Domain = s.cfg.Domain
	srv.LMTP = s.cfg.LMTP
	srv.TLSConfig = s.tlsConfig
	srv.MaxMessageBytes = s.cfg.MaxSize
	srv.EnableSMTPUTF8 = !s.cfg.NoSMTPUTF8
	srv.ReadTimeout = s.cfg.Timeout
	srv.WriteTimeout = s.cfg.Timeout
	srv.ErrorLog = logAdapter{s.log}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(&listener{Listener: ln, s: s}); err != nil {
			s.log.Debug("capture listener stopped", "err", err)
		}
	}()
	s.srv = srv
	s.ln = ln
	s.served = served
}

// Addr is the address the server listens on, such as "127.0.0.1:40123". It stays the same across Down and Up.
func (s *Server) Addr() string { return s.addr }

// Close stops the server, drops its connections, releases held DATA commands and waits until every DATA
// command in progress has finished. Stored files remain.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.ReleaseData()
	err := s.down()
	s.inflight.Wait()
	return err
}

// Down closes the listener and every open connection, so that new connections are refused, until [Server.Up].
func (s *Server) Down() error {
	return s.down()
}

func (s *Server) down() error {
	s.mu.Lock()
	srv, ln, served := s.srv, s.ln, s.served
	s.srv, s.ln = nil, nil
	open := make([]*trackedConn, 0, len(s.open))
	for c := range s.open {
		open = append(open, c)
	}
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	// go-smtp's Close misses a listener that Serve has not registered yet; closing it here ends Serve in
	// every case.
	ln.Close()
	for _, c := range open {
		c.Close()
	}
	<-served
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("failed to close capture listener: %w", err)
	}
	return nil
}

// Up listens again on the same address after [Server.Down]. It does nothing while the server is up.
func (s *Server) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("failed to start capture: server closed")
	}
	if s.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("failed to listen for capture: %w", err)
	}
	s.serveLocked(ln)
	return nil
}

// CloseConnections drops every open connection without a reply, as a server restart or an idle timeout would,
// and keeps listening. It returns how many were dropped.
func (s *Server) CloseConnections() int {
	s.mu.Lock()
	open := make([]*trackedConn, 0, len(s.open))
	for c := range s.open {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
	return len(open)
}

// Connections is the number of connections accepted so far.
func (s *Server) Connections() int64 { return s.conns.Load() }

// MailCommands is the number of MAIL commands received so far, whether accepted or not.
func (s *Server) MailCommands() int64 { return s.mails.Load() }

// Deliveries returns the messages stored so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// WaitDeliveries waits until at least n messages have been stored, and returns them all.
func (s *Server) WaitDeliveries(ctx context.Context, n int) ([]Delivery, error) {
	for {
		s.mu.Lock()
		if len(s.deliveries) >= n {
			d := slices.Clone(s.deliveries)
			s.mu.Unlock()
			return d, nil
		}
		ch := s.changed
		have := len(s.deliveries)
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("failed to wait for %d deliveries (have %d): %w", n, have, ctx.Err())
		}
	}
}

// Fail makes the server answer err at stage for messages that involve addr (compared without regard to case),
// or for every message when addr is "", until [Server.Clear]. At StageMail addr is matched against the sender;
// at StageData a message fails over SMTP when any recipient matches, and over LMTP only for the matching
// recipients. A nil err removes the rule for that stage and addr.
func (s *Server) Fail(stage Stage, addr string, err *smtp.SMTPError) {
	k := failKey{stage: stage, addr: strings.ToLower(addr)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.fails, k)
		return
	}
	s.fails[k] = err
}

// Clear removes every injected failure, releases held DATA commands and stops dropping connections at DATA.
func (s *Server) Clear() {
	s.mu.Lock()
	clear(s.fails)
	s.dropAfter = -1
	s.mu.Unlock()
	s.ReleaseData()
}

// HoldData makes every following DATA command wait, after the message has been read and before it is stored
// and answered, until [Server.ReleaseData], [Server.Clear] or [Server.Close]. A released message is then stored
// and answered as usual, even if its client has gone.
func (s *Server) HoldData() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holdCh == nil {
		s.holdCh = make(chan struct{})
	}
}

// ReleaseData lets every held DATA command go on, and stops holding new ones.
func (s *Server) ReleaseData() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holdCh != nil {
		close(s.holdCh)
		s.holdCh = nil
	}
}

// WaitHeld waits until at least n DATA commands are being held.
func (s *Server) WaitHeld(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		if s.held >= n {
			s.mu.Unlock()
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("failed to wait for %d held DATA commands: %w", n, ctx.Err())
		}
	}
}

// DropData makes every following DATA command close the connection, without a reply, after reading n bytes of
// the message, until [Server.Clear]. Nothing is stored.
func (s *Server) DropData(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropAfter = max(n, 0)
}

// notifyLocked wakes WaitDeliveries and WaitHeld. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// failure returns the injected error for stage that matches any of addrs, or nil.
func (s *Server) failure(stage Stage, addrs ...string) *smtp.SMTPError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fails[failKey{stage: stage}]; err != nil {
		return err
	}
	for _, a := range addrs {
		if err := s.fails[failKey{stage: stage, addr: strings.ToLower(a)}]; err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) authenticate(user, pass string) bool {
	if s.cfg.Username == "" {
		return false
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.Username))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.Password))
	return u&p == 1
}

// listener counts and tracks accepted connections.
type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, n: l.s.conns.Add(1), s: l.s}
	l.s.mu.Lock()
	l.s.open[tc] = struct{}{}
	l.s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	n    int64
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.open, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// logAdapter sends go-smtp's server log to slog at debug level. Those lines name the remote IP address and the
// error, never message content.
type logAdapter struct{ l *slog.Logger }

func (a logAdapter) Printf(format string, v ...any) {
	a.l.Debug("capture smtp", "msg", fmt.Sprintf(format, v...))
}

func (a logAdapter) Println(v ...any) {
	a.l.Debug("capture smtp", "msg", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &session{s: b.s, conn: c}
	nc := c.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		sess.tls = true
		nc = tc.NetConn()
	}
	if tc, ok := nc.(*trackedConn); ok {
		sess.connNo = tc.n
	}
	return sess, nil
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.LMTPSession = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

// Replies of the capture server itself.
var (
	// errTLSRequired is RFC 3207 section 4's reply to a command that needs TLS first.
	errTLSRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	// errAuthRequired is RFC 4954 section 6's reply when authentication is required.
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	// errAuthFailed is RFC 4954 section 6's reply to wrong credentials.
	errAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	// errStore is a temporary local error (RFC 5321 section 4.2.2 code 451, RFC 3463 4.3.0).
	errStore = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Failed to store message, try again later"}
	// errLineTooLong refuses a message with a line over RFC 5321 section 4.5.3.1.6's limit (RFC 3463 5.6.0).
	errLineTooLong = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message has a line that is too long"}
	// errDropped is returned to go-smtp after the connection was cut on purpose; nobody reads it.
	errDropped = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Connection dropped"}
)

type session struct {
	s        *Server
	conn     *smtp.Conn
	connNo   int64
	tls      bool
	authUser string

	from string
	opts smtp.MailOptions
	to   []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.cfg.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.cfg.Username == "" || mech != sasl.Plain {
		return nil, errAuthFailed
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return errAuthFailed
		}
		if !ss.s.authenticate(username, password) {
			return errAuthFailed
		}
		ss.authUser = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	ss.s.mails.Add(1)
	if ss.s.cfg.RequireTLS && !ss.tls {
		return errTLSRequired
	}
	if ss.s.cfg.Username != "" && ss.authUser == "" {
		return errAuthRequired
	}
	if err := ss.s.failure(StageMail, from); err != nil {
		return err
	}
	ss.from = from
	ss.to = nil
	ss.opts = smtp.MailOptions{}
	if opts != nil {
		ss.opts = *opts
	}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.failure(StageRcpt, to); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	ss.s.inflight.Add(1)
	defer ss.s.inflight.Done()
	msg, err := ss.receive(r)
	if err != nil {
		return err
	}
	if ferr := ss.s.failure(StageData, ss.to...); ferr != nil {
		msg.discard()
		return ferr
	}
	if err := ss.store(msg, ss.to); err != nil {
		return errStore
	}
	return nil
}

func (ss *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	ss.s.inflight.Add(1)
	defer ss.s.inflight.Done()
	msg, err := ss.receive(r)
	if err != nil {
		return err
	}
	var accepted []string
	var failed []*smtp.SMTPError
	for _, rcpt := range ss.to {
		ferr := ss.s.failure(StageData, rcpt)
		failed = append(failed, ferr)
		if ferr == nil {
			accepted = append(accepted, rcpt)
		}
	}
	if len(accepted) == 0 {
		msg.discard()
	} else if err := ss.store(msg, accepted); err != nil {
		for i := range failed {
			if failed[i] == nil {
				failed[i] = errStore
			}
		}
	}
	for i, rcpt := range ss.to {
		if failed[i] != nil {
			status.SetStatus(rcpt, failed[i])
		} else {
			status.SetStatus(rcpt, nil)
		}
	}
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
	ss.opts = smtp.MailOptions{}
}

func (ss *session) Logout() error { return nil }
