package keys

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/vault/api"
)

// Config configures a [Client]. The zero value of every optional field
// selects the documented default.
type Config struct {
	// Address is the Vault address, e.g. "http://127.0.0.1:8200". Required.
	Address string
	// FailoverAddresses are further nodes of the same Vault cluster. When
	// the current node does not answer, answers 5xx or is sealed, the
	// client moves to the next address (and stays there). Any unsealed
	// node serves requests: a standby forwards them to the active node.
	// Default none.
	FailoverAddresses []string
	// Token is a literal Vault token. Exactly one of Token, TokenFile and
	// AppRoleID must be set.
	Token string
	// TokenFile is the path of a file holding the token, such as a Vault
	// Agent sink. It is re-read whenever its modification time changes,
	// and when Vault calls the token invalid.
	TokenFile string
	// AppRoleID is the role id of an AppRole login (see [Setup]). The
	// client logs in on its first request, and again whenever Vault calls
	// its token invalid; [Client.KeepAlive] renews the token and logs in
	// again before it expires.
	AppRoleID string
	// AppRoleSecretIDFile is the file holding the AppRole secret id,
	// required with AppRoleID. It is read at each login.
	AppRoleSecretIDFile string
	// AppRoleMount is the path of the AppRole auth method. Default
	// "approle".
	AppRoleMount string
	// CACert is an optional PEM file of CA certificates for Vault's TLS.
	CACert string
	// TransitMount is the Transit mount path. Default "transit".
	TransitMount string
	// WrapKey is the rsa-4096 Transit key that wraps per-message identities.
	// Default "sealpost-wrap".
	WrapKey string
	// AuditKey is the ed25519 Transit key that signs audit checkpoints.
	// Default "sealpost-audit".
	AuditKey string
	// PortalKey is the derived aes256-gcm96 Transit key of the portal: it
	// seals TOTP seeds and phone numbers (each under its own key-derivation
	// context) and computes enrollment codes. Default "sealpost-portal".
	PortalKey string
	// KVMount is the KV v2 mount holding the recipient directory and the
	// header MAC key. Default "sealpost".
	KVMount string
	// Timeout bounds each Vault call. Default 5s.
	Timeout time.Duration
	// WrapKeyMaxAge is how long the public half of WrapKey is cached before
	// Wrap fetches it again (which is how a rotation is picked up).
	// Default 5m.
	WrapKeyMaxAge time.Duration
	// BatchWindow is how long WrapTransit waits to collect concurrent calls
	// into one Transit request. Default 2ms.
	BatchWindow time.Duration
	// BatchSize sends a WrapTransit batch as soon as it holds this many
	// items. Default 64.
	BatchSize int
	// HTTPClient is the HTTP client used for Vault. Default: a pooled client
	// from go-cleanhttp, with CACert applied. If set, CACert must be empty
	// (configure TLS on the client instead).
	HTTPClient *http.Client
	// Logger receives token renewals, logins and failovers. It never logs
	// a token or secret id. Default: discard.
	Logger *slog.Logger
}

// Default names and limits.
const (
	DefaultTransitMount  = "transit"
	DefaultWrapKey       = "sealpost-wrap"
	DefaultAuditKey      = "sealpost-audit"
	DefaultPortalKey     = "sealpost-portal"
	DefaultKVMount       = "sealpost"
	DefaultTimeout       = 5 * time.Second
	DefaultWrapKeyMaxAge = 5 * time.Minute
	DefaultBatchWindow   = 2 * time.Millisecond
	DefaultBatchSize     = 64
)

var (
	mountRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

func (cfg *Config) setDefaults() error {
	if cfg.Address == "" {
		return errors.New("vault address is required")
	}
	if cfg.TransitMount == "" {
		cfg.TransitMount = DefaultTransitMount
	}
	if cfg.WrapKey == "" {
		cfg.WrapKey = DefaultWrapKey
	}
	if cfg.AuditKey == "" {
		cfg.AuditKey = DefaultAuditKey
	}
	if cfg.PortalKey == "" {
		cfg.PortalKey = DefaultPortalKey
	}
	if cfg.KVMount == "" {
		cfg.KVMount = DefaultKVMount
	}
	cfg.TransitMount = strings.Trim(cfg.TransitMount, "/")
	cfg.KVMount = strings.Trim(cfg.KVMount, "/")
	for _, m := range []struct{ what, v string }{{"transit mount", cfg.TransitMount}, {"KV mount", cfg.KVMount}} {
		if !mountRE.MatchString(m.v) || strings.Contains(m.v, "..") {
			return fmt.Errorf("invalid %s %q", m.what, m.v)
		}
	}
	for _, n := range []struct{ what, v string }{{"wrap key", cfg.WrapKey}, {"audit key", cfg.AuditKey}, {"portal key", cfg.PortalKey}} {
		if !nameRE.MatchString(n.v) || n.v == "." || n.v == ".." {
			return fmt.Errorf("invalid %s name %q", n.what, n.v)
		}
	}
	if cfg.WrapKey == cfg.AuditKey || cfg.PortalKey == cfg.WrapKey || cfg.PortalKey == cfg.AuditKey {
		return errors.New("wrap key, audit key and portal key must differ")
	}
	if cfg.TransitMount == cfg.KVMount {
		return errors.New("transit mount and KV mount must differ")
	}
	if err := cfg.checkAuth(); err != nil {
		return err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.WrapKeyMaxAge <= 0 {
		cfg.WrapKeyMaxAge = DefaultWrapKeyMaxAge
	}
	if cfg.BatchWindow <= 0 {
		cfg.BatchWindow = DefaultBatchWindow
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.HTTPClient != nil && cfg.CACert != "" {
		return errors.New("CA cert and a custom HTTP client are mutually exclusive")
	}
	return nil
}

// Client talks to Vault for one token. It is safe for concurrent use.
type Client struct {
	cfg Config
	api *api.Client
	log *slog.Logger

	auth     authState
	loginAPI *api.Client // carries no token; for AppRole logins

	addrMu  sync.Mutex
	addrs   []string // Address, then FailoverAddresses
	addrIdx int      // index in addrs of the current address

	wrapMu  sync.Mutex // serialises wrap key fetches
	wrapKey atomic.Pointer[wrapPublicKey]

	macMu  sync.Mutex
	macKey []byte

	batchMu sync.Mutex
	pending *pendingBatch
}

// New returns a client for cfg. It does not contact Vault; use
// [Client.Health] for that.
func New(cfg Config) (*Client, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("failed to configure vault client: %w", err)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = cleanhttp.DefaultPooledClient()
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CACert != "" {
			pemBytes, err := os.ReadFile(cfg.CACert)
			if err != nil {
				return nil, fmt.Errorf("failed to read vault CA certificate: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pemBytes) {
				return nil, fmt.Errorf("failed to load vault CA certificate: no PEM certificates in %s", cfg.CACert)
			}
			tlsCfg.RootCAs = pool
		}
		hc.Transport.(*http.Transport).TLSClientConfig = tlsCfg
	}
	// Build the API config by hand instead of api.DefaultConfig so that no
	// VAULT_* environment variable changes where or how we connect.
	ac := &api.Config{
		Address:    cfg.Address,
		HttpClient: hc,
		MaxRetries: 2,
		Timeout:    cfg.Timeout,
	}
	ac.MinRetryWait = 100 * time.Millisecond
	ac.MaxRetryWait = time.Second
	vc, err := api.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf("failed to create vault client: %w", err)
	}
	// api.NewClient picks up VAULT_TOKEN and VAULT_NAMESPACE; drop them.
	vc.ClearToken()
	vc.ClearNamespace()
	lc, err := api.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf("failed to create vault client: %w", err)
	}
	lc.ClearToken()
	lc.ClearNamespace()
	c := &Client{cfg: cfg, api: vc, loginAPI: lc, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.addrs = []string{vc.Address()}
	for _, a := range cfg.FailoverAddresses {
		if err := lc.SetAddress(a); err != nil {
			return nil, fmt.Errorf("failed to configure vault client: failover address %q: %w", a, err)
		}
		c.addrs = append(c.addrs, lc.Address())
	}
	if err := c.initAuth(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) prepare(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if _, err := c.ensureToken(ctx); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	return ctx, cancel, nil
}

// read returns the data of a Vault read, or an error matching ErrNotFound.
func (c *Client) read(ctx context.Context, op, path string) (map[string]any, error) {
	var s *api.Secret
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		s, err = c.api.Logical().ReadWithContext(ctx, path)
		return err
	})
	if err != nil {
		return nil, err
	}
	if s == nil || s.Data == nil {
		return nil, notFound(op)
	}
	return s.Data, nil
}

// write returns the data of a Vault write; nil data is not an error.
func (c *Client) write(ctx context.Context, op, path string, body map[string]any) (map[string]any, error) {
	var s *api.Secret
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		s, err = c.api.Logical().WriteWithContext(ctx, path, body)
		return err
	})
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, nil
	}
	return s.Data, nil
}

// list returns the keys under a Vault path; an absent path lists nothing.
func (c *Client) list(ctx context.Context, op, path string) ([]string, error) {
	var s *api.Secret
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		s, err = c.api.Logical().ListWithContext(ctx, path)
		return err
	})
	if err != nil {
		return nil, err
	}
	if s == nil || s.Data == nil {
		return nil, nil
	}
	raw, _ := s.Data["keys"].([]any)
	out := make([]string, 0, len(raw))
	for _, k := range raw {
		if s, ok := k.(string); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// Health returns nil only if Vault is reachable, initialised and unsealed,
// and the client's token is valid.
func (c *Client) Health(ctx context.Context) error {
	err := c.call(ctx, "health", func(ctx context.Context) error {
		h, err := c.api.Sys().HealthWithContext(ctx)
		if err != nil {
			return err
		}
		if !h.Initialized || h.Sealed {
			return nodeSealed()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to check vault health: %w", err)
	}
	if _, err := c.lookupSelf(ctx); err != nil {
		return fmt.Errorf("failed to check vault health: %w", err)
	}
	return nil
}

func (c *Client) lookupSelf(ctx context.Context) (map[string]any, error) {
	return c.read(ctx, "token lookup-self", "auth/token/lookup-self")
}

// IsRootToken reports whether the client's token carries the root policy.
// Sealpost refuses to run its relay or portal with a root token.
func (c *Client) IsRootToken(ctx context.Context) (bool, error) {
	d, err := c.lookupSelf(ctx)
	if err != nil {
		return false, fmt.Errorf("failed to look up vault token: %w", err)
	}
	return slices.Contains(stringSlice(d["policies"]), "root"), nil
}

// RenewSelf renews the client's (periodic) token and returns its new TTL.
// Tokens issued by [Setup] have a 768h period and must be renewed within
// it; Vault Agent does this itself when TokenFile is used.
func (c *Client) RenewSelf(ctx context.Context) (time.Duration, error) {
	d, err := c.writeAuth(ctx, "token renew-self", "auth/token/renew-self")
	if err != nil {
		return 0, fmt.Errorf("failed to renew vault token: %w", err)
	}
	return d, nil
}

func (c *Client) writeAuth(ctx context.Context, op, path string) (time.Duration, error) {
	var s *api.Secret
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		s, err = c.api.Logical().WriteWithContext(ctx, path, map[string]any{})
		return err
	})
	if err != nil {
		return 0, err
	}
	if s == nil || s.Auth == nil {
		return 0, &VaultError{Op: op, Messages: []string{"no auth data in response"}, Err: errors.New("no auth data")}
	}
	return time.Duration(s.Auth.LeaseDuration) * time.Second, nil
}

func stringSlice(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, 0, len(raw))
	for _, x := range raw {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
