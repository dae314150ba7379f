// Package portal is the recipients' web portal: they prove who they are,
// then read, download and securely reply to the messages sealed for them.
//
// The link in a notice (/m/<id>) never opens a message by itself: a stolen
// mailbox holds the link. A recipient first proves control of the mailbox
// (a one-time code mailed to the address) and, as the message's policy
// demands, a factor from outside the mailbox (an SMS code, or an enrolment
// code the sender passes on), then registers a passkey or a password plus
// TOTP. Assurance is checked per message: an account enrolled with the
// mailbox code alone must step up before it opens a message whose policy
// demands more. See docs/portal.md.
//
// Every enrolment, step-up, login (success or failure), view, download,
// reply and recall or expiry page is appended to the audit log.
package portal

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/nexthop"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/keys"
)

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures the portal. The zero value of every field but URL and
// From takes the documented default.
type Config struct {
	// URL is the portal's public base URL. Its host is the WebAuthn relying
	// party id, so it must be a name, not an IP address. Required.
	URL string
	// From is the portal's own address: mailbox codes, secure replies and
	// read receipts are sent from it. Required.
	From string
	// Branding is the organisation's name, logo and colours.
	Branding Branding
	// SessionIdle ends a session after this long without a request. Default 15m.
	SessionIdle time.Duration
	// SessionMax ends a session this long after login, however active. Default 8h.
	SessionMax time.Duration
	// CodeTTL is how long a mailbox or SMS code stays valid. Default 10m.
	CodeTTL time.Duration
	// MaxReplyBytes bounds a secure reply with its attachments. Default 25 MiB.
	MaxReplyBytes int64
	// SMS sends SMS codes through an HTTP webhook. Empty URL: no SMS, so an
	// out-of-band factor can only be an enrolment code.
	SMS SMSConfig
}

// Branding is what the portal shows of the organisation.
type Branding struct {
	// Name is the organisation's name. Default "Sealpost".
	Name string
	// Logo is the logo image (PNG, JPEG or SVG bytes, served as an <img>, so
	// an SVG cannot run script). Default: none.
	Logo []byte
	// LogoType is Logo's media type, such as image/png.
	LogoType string
	// Primary is the accent colour, "#rrggbb". Default "#1d4f91"; it must
	// keep 4.5:1 contrast with white text.
	Primary string
}

// SMSConfig configures the SMS webhook: the portal POSTs
// {"to": "+447700900123", "text": "..."} as JSON to URL, with
// "Authorization: Bearer <token>" when Token is set. Any 2xx is success.
type SMSConfig struct {
	URL     string
	Token   string
	Timeout time.Duration // Default 10s.
}

// Mailer delivers one message; *nexthop.Client is one.
type Mailer interface {
	Deliver(ctx context.Context, env nexthop.Envelope, msg io.Reader) (*nexthop.Result, error)
}

// Deps are the portal's dependencies.
type Deps struct {
	// Store holds messages, accounts and sessions. Required.
	Store *store.Store
	// Audit is the hash-chained audit log. Required.
	Audit *audit.Log
	// Keys is a Vault client holding the PORTAL's credentials (policy
	// sealpost-portal): it unwraps message secrets and seals TOTP seeds.
	// Nil when the portal has no credentials of its own: it then serves
	// only a 503 page, failing closed.
	Keys *keys.Client
	// Codes sends mailbox codes (the outbound next hop: never sealed).
	// Required.
	Codes Mailer
	// Replies delivers secure replies and read receipts (the inbound next
	// hop; point it at the relay to have replies classified and sealed).
	// Required.
	Replies Mailer
	// Logger receives events without PHI. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Server is the portal.
type Server struct {
	cfg     Config
	d       Deps
	log     *slog.Logger
	base    *url.URL
	secure  bool // cookies carry Secure (https, or localhost which browsers treat as secure)
	pages   map[string]*template.Template
	handler http.Handler
	limits  *limiter
	plain   *semaphore.Weighted // decrypted bytes held at once (PlaintextBudget)
	auth    authState           // auth.go: WebAuthn, argon2 parameters, background sends
}

// New checks cfg and returns a portal server.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Store == nil || d.Audit == nil || d.Codes == nil || d.Replies == nil {
		return nil, errors.New("portal: store, audit, codes and replies are required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("portal: URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.From == "" {
		return nil, errors.New("portal: From (the portal's own address) is required")
	}
	setDefault(&cfg.SessionIdle, 15*time.Minute)
	setDefault(&cfg.SessionMax, 8*time.Hour)
	setDefault(&cfg.CodeTTL, 10*time.Minute)
	setDefault(&cfg.MaxReplyBytes, 25<<20)
	setDefault(&cfg.SMS.Timeout, 10*time.Second)
	if cfg.Branding.Name == "" {
		cfg.Branding.Name = "Sealpost"
	}
	if cfg.Branding.Primary == "" {
		cfg.Branding.Primary = "#1d4f91"
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{cfg: cfg, d: d, log: d.Logger, base: u, limits: newLimiter(), plain: semaphore.NewWeighted(PlaintextBudget)}
	s.secure = u.Scheme == "https" || u.Hostname() == "localhost"
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if err := s.initAuth(); err != nil {
		return nil, err
	}
	if d.Keys == nil {
		s.log.Warn("portal: no Vault credentials of its own (portal.vault): every page answers 503")
		s.handler = s.unavailableRoutes()
		return s, nil
	}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the portal's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
