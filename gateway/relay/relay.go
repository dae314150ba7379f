package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"
	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/nexthop"
	"github.com/sealpost/sealpost/gateway/spool"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/policy"
)

// Keys is what the relay needs from Vault. *keys.Client implements it. The
// relay's own Vault token can wrap but not unwrap. Wrap (local RSA-OAEP
// with the wrap key's public half) is used unless Options.WrapTransit
// selects WrapTransit (batched Transit encrypt). Phone numbers from
// [PhoneHeader] are always wrapped locally with WrapData.
type Keys interface {
	Wrap(ctx context.Context, msgID string, secret []byte) ([]byte, error)
	WrapTransit(ctx context.Context, msgID string, secret []byte) ([]byte, error)
	WrapData(ctx context.Context, msgID, purpose string, data []byte) ([]byte, error)
	Directory(ctx context.Context, address string) ([]string, error)
	Health(ctx context.Context) error
}

// Hop delivers to a next hop. *nexthop.Client implements it.
type Hop interface {
	Deliver(ctx context.Context, env nexthop.Envelope, msg io.Reader) (*nexthop.Result, error)
}

// PolicySource gives the current policy; *policy.Holder implements it.
type PolicySource interface {
	Engine() *policy.Engine
}

// Options are the relay's settings. Zero values are not defaulted here:
// package config documents and fills the defaults.
type Options struct {
	Hostname          string
	Organisation      string
	Subject           string // neutral subject of sealed copies
	PortalURL         string // base URL; links are PortalURL + "/m/" + id
	MaxMessageBytes   int64  // advertised SIZE and hard limit
	MaxRecipients     int
	MaxConnections    int
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	ProcessTimeout    time.Duration
	RequireTLS        bool
	AllowNetworks     []netip.Prefix
	Users             Users // nil: AUTH not offered
	PassWhenVaultDown bool
	HealthEvery       time.Duration // how often Vault health is probed; default 2s
	DirectoryTTL      time.Duration // how long directory answers are reused; 0 = every message asks Vault
	WrapTransit       bool          // wrap with Keys.WrapTransit (a Vault call, batched) instead of Keys.Wrap (local)
}

// Deps are the relay's collaborators, passed in explicitly.
type Deps struct {
	Keys      Keys
	Store     *store.Store
	Audit     *audit.Log
	Policy    PolicySource
	NextHop   Hop
	TLSHop    Hop // nil: require-tls outcomes are deferred
	Spool     *spool.Spool
	MACKey    []byte
	Archive   age.Recipient // nil unless explicitly configured
	TLSConfig *tls.Config   // nil: no STARTTLS
	DKIM      *DKIM         // nil: delivered copies are not signed
	Logger    *slog.Logger
	Metrics   *Metrics
}

// Relay is the SMTP and LMTP front end. Create it with [New].
type Relay struct {
	opt  Options
	deps Deps
	log  *slog.Logger
	m    *Metrics

	vaultUp atomic.Bool
	conns   atomic.Int64
	dir     *dirCache

	mu      sync.Mutex
	servers []*smtp.Server
}

// New checks the dependencies and returns a relay.
func New(opt Options, deps Deps) (*Relay, error) {
	switch {
	case deps.Keys == nil, deps.Store == nil, deps.Audit == nil, deps.Policy == nil,
		deps.NextHop == nil, deps.Spool == nil:
		return nil, errors.New("relay: keys, store, audit, policy, next hop and spool are required")
	case len(deps.MACKey) < 16:
		return nil, errors.New("relay: the X-Sealpost-Id MAC key must be at least 16 bytes")
	case opt.Users != nil && deps.TLSConfig == nil:
		return nil, errors.New("relay: AUTH needs TLS")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics(nil)
	}
	if opt.HealthEvery == 0 {
		opt.HealthEvery = 2 * time.Second
	}
	r := &Relay{opt: opt, deps: deps, log: deps.Logger, m: deps.Metrics}
	r.dir = newDirCache(deps.Keys, opt.DirectoryTTL, 10000)
	return r, nil
}

// VaultUp reports the last Vault health probe.
func (r *Relay) VaultUp() bool { return r.vaultUp.Load() }

// WatchVault probes Vault's health until ctx ends, so that a Vault outage is
// noticed before a message needs it and recovery is automatic.
func (r *Relay) WatchVault(ctx context.Context) {
	r.probeVault(ctx)
	t := time.NewTicker(r.opt.HealthEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.probeVault(ctx)
		}
	}
}

func (r *Relay) probeVault(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := r.deps.Keys.Health(ctx)
	up := err == nil
	if was := r.vaultUp.Swap(up); was != up {
		if up {
			r.log.Info("vault available")
		} else {
			r.log.Warn("vault unavailable: sealing is deferred with 4xx", "err", err)
		}
	}
	r.m.setVaultUp(up)
}

// Server returns a configured go-smtp server; lmtp selects LMTP.
func (r *Relay) Server(lmtp bool) *smtp.Server {
	s := smtp.NewServer(&backend{r: r, lmtp: lmtp})
	s.Domain = r.opt.Hostname
	s.LMTP = lmtp
	s.MaxMessageBytes = r.opt.MaxMessageBytes
	s.MaxRecipients = r.opt.MaxRecipients
	s.ReadTimeout = r.opt.ReadTimeout
	s.WriteTimeout = r.opt.WriteTimeout
	s.EnableSMTPUTF8 = true
	s.TLSConfig = r.deps.TLSConfig
	s.ErrorLog = slogAdapter{r.log}
	r.mu.Lock()
	r.servers = append(r.servers, s)
	r.mu.Unlock()
	return s
}

// Serve accepts connections on l until it is closed, at most MaxConnections
// at once; the rest get 421.
func (r *Relay) Serve(l net.Listener, lmtp bool) error {
	s := r.Server(lmtp)
	return s.Serve(&limitListener{Listener: l, r: r})
}

// Shutdown stops every server started by Serve, letting sessions finish until
// ctx ends.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	servers := r.servers
	r.mu.Unlock()
	var errs []error
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// limitListener answers 421 to connections beyond MaxConnections.
type limitListener struct {
	net.Listener
	r *Relay
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if n := l.r.conns.Add(1); l.r.opt.MaxConnections > 0 && n > int64(l.r.opt.MaxConnections) {
			l.r.conns.Add(-1)
			l.r.m.connRefused.Inc()
			go func() {
				_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "%d %d.%d.%d Too many connections, try again later\r\n", replyServiceNA,
					codeTempSecurity[0], codeTempSecurity[1], codeTempSecurity[2])
				_ = c.Close()
			}()
			continue
		}
		return &countedConn{Conn: c, r: l.r}, nil
	}
}

type countedConn struct {
	net.Conn
	r    *Relay
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.r.conns.Add(-1) })
	return c.Conn.Close()
}

// slogAdapter sends go-smtp's own error log to slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) { a.l.Warn("smtp: " + fmt.Sprintf(format, v...)) }
func (a slogAdapter) Println(v ...any)               { a.l.Warn("smtp: " + fmt.Sprint(v...)) }
