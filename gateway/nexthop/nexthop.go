package nexthop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// TLSMode says how the connection to the next hop is protected.
type TLSMode string

// The TLS modes.
const (
	// TLSVerify requires STARTTLS and a certificate that verifies for Config.ServerName. The default.
	TLSVerify TLSMode = "verify"
	// TLSOpportunistic uses STARTTLS when offered, without verifying the certificate, and plaintext otherwise.
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSNone never uses TLS. Unsafe: mail travels in plaintext. Must be chosen explicitly.
	TLSNone TLSMode = "none"
)

// Defaults for Config.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultDataTimeout = 10 * time.Minute
	DefaultMaxIdle     = 4
	DefaultIdleTimeout = 60 * time.Second
)

// Config configures a [Client].
type Config struct {
	// Addr is the next hop's host:port. Required.
	Addr string
	// TLS is the TLS mode. Default TLSVerify.
	TLS TLSMode
	// ServerName is the name the certificate must be valid for. Default: the host part of Addr.
	ServerName string
	// CAFile is a PEM file of roots trusted in addition to the system roots. Default: none.
	CAFile string
	// Username and Password, when Username is set, authenticate with AUTH PLAIN, only ever over TLS.
	// Default: no authentication.
	Username string
	Password string
	// HeloName is the name sent in EHLO. Default: the host name of this machine.
	HeloName string
	// Timeout bounds the dial, the TLS handshake, each command's reply and each write of the message.
	// Default 30s.
	Timeout time.Duration
	// DataTimeout bounds the wait for the reply to the final dot of DATA, when the next hop may be scanning the
	// message. Default 10 minutes (RFC 5321 section 4.5.3.2.6).
	DataTimeout time.Duration
	// MaxIdle is the number of idle connections kept for reuse. Default 4; negative: no reuse.
	MaxIdle int
	// IdleTimeout is how long an idle connection is kept before it is closed instead of reused. It should be
	// below the next hop's own idle timeout (Postfix: 300s). Default 60s.
	IdleTimeout time.Duration
	// Logger receives connection events; never addresses, content or credentials. Default slog.Default().
	Logger *slog.Logger
}

// Envelope is the SMTP envelope of one message.
type Envelope struct {
	From     string   // reverse path; "" for the null sender
	To       []string // recipients; duplicates are sent once
	SMTPUTF8 bool     // the message needs SMTPUTF8 (RFC 6531)
	// Body is the BODY= type the message was received with: "" or 7BIT, or 8BITMIME. go-smtp declares
	// BODY=8BITMIME whenever the next hop offers 8BITMIME, which is correct for 7-bit content too. BINARYMIME is
	// refused (permanently), as is 8BITMIME or SMTPUTF8 to a next hop that does not offer it.
	Body smtp.BodyType
	Size int64 // optional SIZE= hint in bytes, sent when the next hop offers SIZE
}

// Result is the next hop's answer to one message. A recipient was delivered when Rcpt has a nil entry for it
// and Data is nil: see [Result.Err].
type Result struct {
	// Rcpt has an entry for every recipient: nil when the next hop accepted the RCPT, else its answer. An
	// answer to MAIL is copied to every recipient.
	Rcpt map[string]*smtp.SMTPError
	// Data is the answer to DATA or to the final dot, which applies to every recipient accepted at RCPT. nil
	// when the message was accepted, or when DATA was not sent because no recipient was accepted.
	Data *smtp.SMTPError
}

// Err is the outcome for one recipient: nil when the next hop accepted the message for it.
func (r *Result) Err(rcpt string) *smtp.SMTPError {
	e, ok := r.Rcpt[rcpt]
	if !ok {
		return errNotRecipient
	}
	if e != nil {
		return e
	}
	return r.Data
}

// Delivered lists, sorted, the recipients the next hop accepted the message for.
func (r *Result) Delivered() []string {
	var out []string
	for rcpt := range r.Rcpt {
		if r.Err(rcpt) == nil {
			out = append(out, rcpt)
		}
	}
	slices.Sort(out)
	return out
}

// Temporary reports whether e is a temporary (4xx) SMTP answer.
func Temporary(e *smtp.SMTPError) bool {
	return e != nil && e.Code >= 400 && e.Code < 500
}

// Errors returned by the client. Each is temporary.
var (
	ErrNoSTARTTLS     = errors.New("next hop does not offer STARTTLS")
	ErrAuthWithoutTLS = errors.New("refusing to send credentials to the next hop without TLS")
	ErrClosed         = errors.New("next-hop client is closed")
)

// Answers made up by the client itself, reported in a Result like the next hop's own.
var (
	// errNoSMTPUTF8 is RFC 6531 section 3.2's permanent refusal when the next hop lacks SMTPUTF8.
	errNoSMTPUTF8 = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 6, 7}, Message: "Next hop does not support SMTPUTF8"}
	// errNo8BitMIME is RFC 3463's "conversion required but not supported" (X.6.3): we do not downgrade.
	errNo8BitMIME = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 3}, Message: "Next hop does not support 8BITMIME"}
	// errBinaryMIME: BDAT is not implemented towards the next hop (RFC 3030), X.6.3 as above.
	errBinaryMIME = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 3}, Message: "BINARYMIME is not supported towards the next hop"}
	// errNotRecipient is Result.Err's answer for an address that was not in the envelope.
	errNotRecipient = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 5, 0}, Message: "Not a recipient of this message"}
)

// Client delivers to one next hop. It is safe for concurrent use; each Deliver uses its own connection.
type Client struct {
	cfg       Config
	log       *slog.Logger
	tlsConfig *tls.Config // nil in TLSNone
	dialer    net.Dialer

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
}

// New checks cfg and makes a client. It does not connect: see [Client.Probe].
func New(cfg Config) (*Client, error) {
	if cfg.Addr == "" {
		return nil, errors.New("failed to configure next hop: Addr is required")
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("failed to configure next hop: bad Addr: %w", err)
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSVerify
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if cfg.HeloName == "" {
		cfg.HeloName, err = os.Hostname()
		if err != nil || cfg.HeloName == "" {
			cfg.HeloName = "localhost"
		}
	}
	if strings.ContainsAny(cfg.HeloName, " \t\r\n") {
		return nil, errors.New("failed to configure next hop: HeloName contains white space")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.DataTimeout <= 0 {
		cfg.DataTimeout = DefaultDataTimeout
	}
	if cfg.MaxIdle == 0 {
		cfg.MaxIdle = DefaultMaxIdle
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	c := &Client{cfg: cfg, log: cfg.Logger, dialer: net.Dialer{Timeout: cfg.Timeout}}
	if c.log == nil {
		c.log = slog.Default()
	}
	switch cfg.TLS {
	case TLSVerify:
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("failed to read next-hop CA file: %w", err)
			}
			if !roots.AppendCertsFromPEM(pem) {
				return nil, errors.New("failed to parse next-hop CA file: no PEM certificate found")
			}
		}
		c.tlsConfig = &tls.Config{
			ServerName:         cfg.ServerName,
			RootCAs:            roots,
			MinVersion:         tls.VersionTLS12,
			ClientSessionCache: tls.NewLRUClientSessionCache(0),
			// Full-size records from the start: small first records help a browser's first paint, not a relay.
			DynamicRecordSizingDisabled: true,
		}
	case TLSOpportunistic:
		// Opportunistic TLS (RFC 7435) protects against passive eavesdropping only; an unverified
		// certificate is the point of this mode, which the admin chose explicitly.
		c.tlsConfig = &tls.Config{
			ServerName:         cfg.ServerName,
			InsecureSkipVerify: true, //nolint:gosec // opportunistic mode, chosen by the admin
			MinVersion:         tls.VersionTLS12,
			ClientSessionCache: tls.NewLRUClientSessionCache(0),
			// Full-size records from the start: small first records help a browser's first paint, not a relay.
			DynamicRecordSizingDisabled: true,
		}
	case TLSNone:
		if cfg.Username != "" {
			return nil, fmt.Errorf("failed to configure next hop: %w", ErrAuthWithoutTLS)
		}
		c.log.Warn("UNSAFE: next-hop TLS is disabled; mail to the next hop travels in plaintext", "addr", cfg.Addr)
	default:
		return nil, fmt.Errorf("failed to configure next hop: unknown TLS mode %q", cfg.TLS)
	}
	return c, nil
}

// Probe connects, greets the next hop (with STARTTLS and AUTH as configured) and returns the SIZE it
// advertises, 0 when none. The connection is kept for reuse.
func (c *Client) Probe(ctx context.Context) (maxSize int64, err error) {
	cn, err := c.connect(ctx)
	if err != nil {
		return 0, err
	}
	if n, ok := cn.c.MaxMessageSize(); ok {
		maxSize = int64(n)
	}
	c.put(cn)
	return maxSize, nil
}

// Close closes the idle connections and makes later calls fail. Deliveries in progress finish first, and
// their connections are then closed.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.closed = true
	c.mu.Unlock()
	for _, cn := range idle {
		cn.quit(c.cfg.Timeout)
	}
	return nil
}

// get returns an idle pooled connection, or a new one.
func (c *Client) get(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		if len(c.idle) == 0 {
			c.mu.Unlock()
			return c.connect(ctx)
		}
		cn := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		c.mu.Unlock()
		if time.Since(cn.idleSince) > c.cfg.IdleTimeout {
			cn.quit(c.cfg.Timeout)
			continue
		}
		cn.reused = true
		return cn, nil
	}
}

// put returns a healthy connection to the pool, or closes it.
func (c *Client) put(cn *conn) {
	if cn.broken {
		cn.close()
		return
	}
	c.mu.Lock()
	if c.closed || len(c.idle) >= c.cfg.MaxIdle {
		c.mu.Unlock()
		cn.quit(c.cfg.Timeout)
		return
	}
	cn.idleSince = time.Now()
	c.idle = append(c.idle, cn)
	c.mu.Unlock()
}
