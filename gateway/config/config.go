package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of a Sealpost node.
type Config struct {
	// Hostname names this node in SMTP greetings and Received headers.
	// Default: the operating system's host name.
	Hostname string `yaml:"hostname"`
	// Organisation is the name recipients see in notices. Default: "Sealpost".
	Organisation string `yaml:"organisation"`

	Relay      Relay     `yaml:"relay"`
	Portal     Portal    `yaml:"portal"`
	Admin      Admin     `yaml:"admin"`
	Vault      Vault     `yaml:"vault"`
	Store      Store     `yaml:"store"`
	Audit      Audit     `yaml:"audit"`
	Policy     Policy    `yaml:"policy"`
	Seal       Seal      `yaml:"seal"`
	NextHop    NextHop   `yaml:"next_hop"`
	TLSNextHop NextHop   `yaml:"tls_next_hop"`
	Log        Log       `yaml:"log"`
	Spool      Spool     `yaml:"spool"`
	Degraded   Degraded  `yaml:"degraded"`
	Retention  Retention `yaml:"retention"`
	Rewrap     Rewrap    `yaml:"rewrap"`
}

// Relay configures the SMTP and LMTP listeners.
type Relay struct {
	// SMTPListen is the SMTP listen address. Default: 127.0.0.1:2525. Empty
	// after defaults only if set to "off".
	SMTPListen string `yaml:"smtp_listen"`
	// LMTPListen is the LMTP listen address, for Postfix content_filter
	// = lmtp:… Default: 127.0.0.1:2424. "off" disables it.
	LMTPListen string `yaml:"lmtp_listen"`
	// TLSCert is the PEM certificate (chain) offered with STARTTLS. It is
	// re-read when it changes on disk. Default: none (no STARTTLS).
	TLSCert string `yaml:"tls_cert"`
	// TLSKey is the PEM private key of TLSCert, re-read with it. Required
	// with tls_cert. Default: none.
	TLSKey string `yaml:"tls_key"`
	// RequireTLS refuses MAIL before STARTTLS. Default: false.
	RequireTLS bool `yaml:"require_tls"`
	// AllowNetworks are the client networks (trusted MTAs) allowed to relay
	// without authentication. Default: 127.0.0.0/8 and ::1/128.
	AllowNetworks []string `yaml:"allow_networks"`
	// AuthUsersFile enables AUTH PLAIN over TLS for submission clients: one
	// "user:bcrypt-hash" per line. Default: none (AUTH not offered).
	AuthUsersFile string `yaml:"auth_users_file"`
	// MaxMessageBytes is the largest message accepted. Default: 50 MiB. The
	// SIZE advertised is lowered further so that the sealed copy (about
	// 1.4 times larger) still fits the next hop's own limit.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// MaxRecipients per transaction. Default: 100.
	MaxRecipients int `yaml:"max_recipients"`
	// MaxConnections open at once; more get 421. Default: 200.
	MaxConnections int `yaml:"max_connections"`
	// ReadTimeout bounds reading each SMTP command. Default: 5m.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing each SMTP reply. Default: 5m.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// ProcessTimeout bounds classification, sealing and forwarding of one
	// message after DATA. Default: 2m.
	ProcessTimeout time.Duration `yaml:"process_timeout"`
}

// Portal configures the recipients' web portal.
type Portal struct {
	// Listen is the portal's listen address. Default: 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// URL is the public base URL used in notice links. Default:
	// http://localhost:8080 (WebAuthn refuses IP addresses). It must be https,
	// or plain http on localhost only (session cookies are Secure).
	URL string `yaml:"url"`
	// From is the portal's own address: mailbox codes, secure replies and
	// read receipts are sent from it (a reply carries the recipient in
	// Reply-To). Default: no-reply@<hostname>.
	From string `yaml:"from"`
	// Branding is what the portal shows of the organisation, whose name
	// is organisation.
	Branding PortalBranding `yaml:"branding"`
	// SessionIdle ends a session after this long without a request.
	// Default: 15m.
	SessionIdle time.Duration `yaml:"session_idle"`
	// SessionMax ends a session this long after login, however active.
	// Default: 8h.
	SessionMax time.Duration `yaml:"session_max"`
	// CodeTTL is how long a mailbox or SMS code stays valid. Default: 10m.
	CodeTTL time.Duration `yaml:"code_ttl"`
	// MaxReplyBytes bounds a secure reply with its attachments. Default:
	// 25 MiB.
	MaxReplyBytes int64 `yaml:"max_reply_bytes"`
	// SMS sends SMS codes through an HTTP webhook.
	SMS PortalSMS `yaml:"sms"`
	// ReplyNextHop is where secure replies and read receipts go. Default:
	// this node's own SMTP listener (relay.smtp_listen, dialled on
	// loopback when it listens on every address, tls none), so that the
	// relay's policy classifies each reply and seals it when it says so;
	// next_hop when relay.smtp_listen is off.
	ReplyNextHop NextHop `yaml:"reply_next_hop"`
	// Vault holds the portal's own Vault credentials (the sealpost-portal
	// policy, which may unwrap message secrets), never the relay's. The
	// address and key names are vault's.
	Vault PortalVault `yaml:"vault"`
}

// PortalBranding configures the portal's look.
type PortalBranding struct {
	// LogoFile is a PNG, JPEG or SVG logo shown in the portal's header.
	// Default: none, the organisation's name is shown.
	LogoFile string `yaml:"logo_file"`
	// PrimaryColor is the accent colour, "#rrggbb"; it must keep a 4.5:1
	// contrast with white text. Default: "#1d4f91".
	PrimaryColor string `yaml:"primary_color"`
}

// PortalSMS configures the SMS webhook: the portal POSTs {"to": …,
// "text": …} as JSON, with a bearer token when token_file is set.
type PortalSMS struct {
	// WebhookURL receives the POST. Default: none, no SMS codes (an
	// out-of-band factor can then only be an enrolment code).
	WebhookURL string `yaml:"webhook_url"`
	// TokenFile holds the webhook's bearer token. Default: none.
	TokenFile string `yaml:"token_file"`
	// Timeout bounds each webhook call. Default: 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// PortalVault holds the portal's Vault credentials: a token with the
// sealpost-portal policy, or an AppRole login for it. Without any, the
// portal starts but refuses to open a message (503), with a warning at
// start.
type PortalVault struct {
	// TokenFile is re-read when it changes (a Vault Agent sink). Default:
	// none.
	TokenFile string `yaml:"token_file"`
	// Token is a literal token; prefer token_file. Default: none (never
	// VAULT_TOKEN, which is the relay's).
	Token string `yaml:"token"`
	// AppRole logs in with the sealpost-portal AppRole instead.
	AppRole VaultAppRole `yaml:"approle"`
}

// Admin configures the admin listener: /healthz, /readyz and /metrics.
type Admin struct {
	// Listen is the admin listen address. Default: 127.0.0.1:9090.
	Listen string `yaml:"listen"`
}

// Vault configures the connection to Vault. Only package keys uses it.
type Vault struct {
	// Address of Vault. Default: $VAULT_ADDR.
	Address string `yaml:"address"`
	// FailoverAddresses are further nodes of the same Vault cluster, tried
	// in turn when the current node does not answer, answers 5xx or is
	// sealed. Standbys forward to the active node. Default: none.
	FailoverAddresses []string `yaml:"failover_addresses"`
	// TokenFile is re-read when it changes (a Vault Agent sink). Default: none.
	TokenFile string `yaml:"token_file"`
	// Token is a literal token; prefer TokenFile. Default: $VAULT_TOKEN if
	// TokenFile is empty.
	Token string `yaml:"token"`
	// CACert verifies Vault's TLS certificate. Default: system roots.
	CACert string `yaml:"ca_cert"`
	// TransitMount is the Transit mount that `sealpost vault setup`
	// creates. Default: transit.
	TransitMount string `yaml:"transit_mount"`
	// WrapKey is the rsa-4096 Transit key that wraps per-message
	// identities. Default: sealpost-wrap.
	WrapKey string `yaml:"wrap_key"`
	// AuditKey is the ed25519 Transit key that signs audit checkpoints.
	// Default: sealpost-audit.
	AuditKey string `yaml:"audit_key"`
	// PortalKey is the derived aes256-gcm96 Transit key that seals the
	// portal's TOTP seeds and phone numbers and computes enrollment codes.
	// Default: sealpost-portal.
	PortalKey string `yaml:"portal_key"`
	// KVMount is the KV v2 mount holding the recipient directory and the
	// X-Sealpost-Id MAC key. Default: sealpost.
	KVMount string `yaml:"kv_mount"`
	// Timeout bounds each Vault call. Default: 5s.
	Timeout time.Duration `yaml:"timeout"`
	// DirectoryTTL is how long the relay reuses a recipient-directory
	// answer before asking Vault again; a key added or removed takes effect
	// within it. Errors are never reused. Default: 30s.
	DirectoryTTL time.Duration `yaml:"directory_ttl"`
	// Wrap chooses how the relay wraps each message's identity. "local"
	// encrypts with the cached public half of WrapKey (RSA-OAEP) and needs
	// no Vault call per message; "transit" sends the secret to Transit
	// encrypt, coalescing concurrent messages into one batch_input request.
	// Either way only Transit decrypt can unwrap. Default: local.
	Wrap string `yaml:"wrap"`
	// AppRole logs in with AppRole instead of a token; `sealpost vault
	// setup` creates the roles.
	AppRole VaultAppRole `yaml:"approle"`
}

// VaultAppRole configures an AppRole login. It excludes vault.token and
// vault.token_file. The token is renewed, and the node logs in again when
// it expires or Vault calls it invalid.
type VaultAppRole struct {
	// RoleID is the role id (`sealpost vault setup` prints it). Default:
	// none, no AppRole login.
	RoleID string `yaml:"role_id"`
	// SecretIDFile holds the secret id; it is read at each login. Required
	// with role_id. Default: none.
	SecretIDFile string `yaml:"secret_id_file"`
}

// Store configures the message store.
type Store struct {
	// Path of the SQLite database. Default: var/sealpost.db.
	Path string `yaml:"path"`
}

// Audit configures the hash-chained audit log's checkpoints.
type Audit struct {
	// CheckpointPath is where the latest signed checkpoint is kept, outside
	// the store. Default: var/audit.checkpoint.
	CheckpointPath string `yaml:"checkpoint_path"`
	// CheckpointEvery is how often the chain head is signed if it moved.
	// Default: 10s.
	CheckpointEvery time.Duration `yaml:"checkpoint_every"`
}

// Policy configures the policy file.
type Policy struct {
	// Path of the policy file; it is reloaded on SIGHUP and when it changes.
	// Default: none, the built-in default policy.
	Path string `yaml:"path"`
	// MRNPatterns are the organisation's medical record number formats,
	// which the classifier reports as identifiers (detector "mrn").
	// Default: none.
	MRNPatterns []MRNPattern `yaml:"mrn_patterns"`
}

// MRNPattern is one medical record number format.
type MRNPattern struct {
	// Name labels the pattern in explanations. Required.
	Name string `yaml:"name"`
	// Regexp is a Go (RE2) regular expression matching one number. Required.
	Regexp string `yaml:"regexp"`
	// Context are words that, near a match, make it more likely an MRN.
	// Default: none.
	Context []string `yaml:"context"`
}

// Seal configures the sealed copy that recipients receive.
type Seal struct {
	// Subject replaces the original subject. Default: "Secure message from
	// <organisation>".
	Subject string `yaml:"subject"`
	// ArchiveRecipient is an optional age recipient of every sealed message,
	// such as the organisation's archive key. Recall cannot shred what was
	// sealed to it. Default: none.
	ArchiveRecipient string `yaml:"archive_recipient"`
	// MACKeyFile holds the key for the X-Sealpost-Id MAC (32+ bytes, hex).
	// Default: none, the key is read from Vault.
	MACKeyFile string `yaml:"mac_key_file"`
	// DKIM signs every delivered copy, for setups where Sealpost is the last
	// hop. Default: off (sign on the MTA after Sealpost instead).
	DKIM DKIM `yaml:"dkim"`
}

// DKIM configures DKIM signing of delivered copies.
type DKIM struct {
	// Domain is the signing domain (d=). Default: none; all three fields
	// are required to turn signing on.
	Domain string `yaml:"domain"`
	// Selector is the DNS selector (s=). Default: none.
	Selector string `yaml:"selector"`
	// KeyFile is a PEM private key, RSA (2048 bits or more recommended) or
	// Ed25519. Default: none.
	KeyFile string `yaml:"key_file"`
}

// NextHop configures an SMTP next hop.
type NextHop struct {
	// Addr is host:port. Required for next_hop; optional for tls_next_hop,
	// without which the require-tls outcome is deferred (4xx).
	Addr string `yaml:"addr"`
	// TLS is "verify" (STARTTLS required, certificate verified), or the
	// explicit opt-outs "opportunistic" and "none". Default: verify.
	TLS string `yaml:"tls"`
	// ServerName verifies the certificate. Default: the host of Addr.
	ServerName string `yaml:"server_name"`
	// CAFile adds trusted roots. Default: system roots.
	CAFile string `yaml:"ca_file"`
	// Username enables AUTH PLAIN to the next hop. Default: none.
	Username string `yaml:"username"`
	// PasswordFile holds the password for Username. Required with
	// username. Default: none.
	PasswordFile string `yaml:"password_file"`
	// Timeout bounds each command. Default: 30s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxIdle pooled connections. Default: 4.
	MaxIdle int `yaml:"max_idle"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default: info. Addresses are
	// redacted at every level.
	Level string `yaml:"level"`
	// Format is text or json. Default: text.
	Format string `yaml:"format"`
}

// Spool configures how received messages are buffered.
type Spool struct {
	// Dir for spill files, which are encrypted with a key held only in
	// memory. Default: the system temp directory.
	Dir string `yaml:"dir"`
	// MemoryLimit is how much of a message stays in memory before it spills.
	// Default: 1 MiB.
	MemoryLimit int64 `yaml:"memory_limit"`
}

// Degraded configures behaviour while Vault is unavailable.
type Degraded struct {
	// PassWhenVaultDown lets mail that policy passes flow while Vault is
	// down. Sensitive mail is always deferred. Default: false (everything
	// is deferred with 4xx).
	PassWhenVaultDown bool `yaml:"pass_when_vault_down"`
}

// Retention configures the job that crypto-shreds messages whose retention,
// set by the policy, has passed.
type Retention struct {
	// SweepEvery is how often the node recalls every message whose
	// retention deadline has passed (its wrapped secret and ciphertext are
	// destroyed, as by `sealpost message recall`). Default: 5m.
	SweepEvery time.Duration `yaml:"sweep_every"`
}

// Rewrap configures the background job that moves stored wrapped secrets to
// the newest wrap key version after a rotation.
type Rewrap struct {
	// TokenFile holds a Vault token allowed to read the wrap key and to
	// call Transit rewrap on it (the sealpost-rewrap policy in
	// docs/keys.md). It cannot decrypt. Default: none, the node does not
	// rewrap; run `sealpost keys rewrap` after a rotation instead.
	TokenFile string `yaml:"token_file"`
	// Every is how often the node runs the rewrap when token_file is set;
	// a run with nothing to do only reads the store. Default: 1h.
	Every time.Duration `yaml:"every"`
}

// Load reads, defaults and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read config: %w", err)
	}
	return Parse(data)
}

// Parse decodes YAML, rejecting unknown fields, then defaults and validates.
func Parse(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("failed to parse config: %w", err)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Defaults fills every unset field with its documented default.
func (c *Config) Defaults() {
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
		if c.Hostname == "" {
			c.Hostname = "localhost"
		}
	}
	if c.Organisation == "" {
		c.Organisation = "Sealpost"
	}
	r := &c.Relay
	setDefault(&r.SMTPListen, "127.0.0.1:2525")
	setDefault(&r.LMTPListen, "127.0.0.1:2424")
	if r.AllowNetworks == nil {
		r.AllowNetworks = []string{"127.0.0.0/8", "::1/128"}
	}
	setDefaultInt64(&r.MaxMessageBytes, 50<<20)
	setDefaultInt(&r.MaxRecipients, 100)
	setDefaultInt(&r.MaxConnections, 200)
	setDefaultDuration(&r.ReadTimeout, 5*time.Minute)
	setDefaultDuration(&r.WriteTimeout, 5*time.Minute)
	setDefaultDuration(&r.ProcessTimeout, 2*time.Minute)

	setDefault(&c.Portal.Listen, "127.0.0.1:8080")
	setDefault(&c.Portal.URL, "http://localhost:8080")
	setDefault(&c.Admin.Listen, "127.0.0.1:9090")

	v := &c.Vault
	setDefault(&v.Address, os.Getenv("VAULT_ADDR"))
	if len(v.FailoverAddresses) == 0 {
		v.FailoverAddresses = nil // "[]" and absent mean the same
	}
	if v.TokenFile == "" && v.AppRole.RoleID == "" {
		setDefault(&v.Token, os.Getenv("VAULT_TOKEN"))
	}
	setDefault(&v.TransitMount, "transit")
	setDefault(&v.WrapKey, "sealpost-wrap")
	setDefault(&v.AuditKey, "sealpost-audit")
	setDefault(&v.PortalKey, "sealpost-portal")
	setDefault(&v.KVMount, "sealpost")
	setDefaultDuration(&v.Timeout, 5*time.Second)
	if v.DirectoryTTL == 0 {
		v.DirectoryTTL = 30 * time.Second
	}
	setDefault(&v.Wrap, "local")

	if len(c.Policy.MRNPatterns) == 0 {
		c.Policy.MRNPatterns = nil // "mrn_patterns: []" and no key mean the same
	}
	setDefault(&c.Store.Path, "var/sealpost.db")
	setDefault(&c.Audit.CheckpointPath, "var/audit.checkpoint")
	setDefaultDuration(&c.Audit.CheckpointEvery, 10*time.Second)
	setDefault(&c.Seal.Subject, "Secure message from "+c.Organisation)
	for _, h := range []*NextHop{&c.NextHop, &c.TLSNextHop} {
		setDefault(&h.TLS, "verify")
		setDefaultDuration(&h.Timeout, 30*time.Second)
		setDefaultInt(&h.MaxIdle, 4)
	}
	c.Portal.defaults(c)
	setDefault(&c.Log.Level, "info")
	setDefault(&c.Log.Format, "text")
	setDefaultInt64(&c.Spool.MemoryLimit, 1<<20)
	setDefaultDuration(&c.Retention.SweepEvery, 5*time.Minute)
	setDefaultDuration(&c.Rewrap.Every, time.Hour)
}

// defaults fills the portal's defaults; the relay's and next_hop's must be
// filled already.
func (p *Portal) defaults(c *Config) {
	setDefault(&p.From, "no-reply@"+c.Hostname)
	setDefault(&p.Branding.PrimaryColor, "#1d4f91")
	setDefaultDuration(&p.SessionIdle, 15*time.Minute)
	setDefaultDuration(&p.SessionMax, 8*time.Hour)
	setDefaultDuration(&p.CodeTTL, 10*time.Minute)
	setDefaultInt64(&p.MaxReplyBytes, 25<<20)
	setDefaultDuration(&p.SMS.Timeout, 10*time.Second)
	h := &p.ReplyNextHop
	if h.Addr == "" {
		if c.Relay.SMTPListen == "off" {
			*h = c.NextHop
			return
		}
		if _, _, err := net.SplitHostPort(c.Relay.SMTPListen); err == nil {
			// (A bad smtp_listen is reported as such.)
			h.Addr = LoopbackAddr(c.Relay.SMTPListen)
		}
		setDefault(&h.TLS, "opportunistic")
	}
	setDefault(&h.TLS, "verify")
	setDefaultDuration(&h.Timeout, 30*time.Second)
	setDefaultInt(&h.MaxIdle, 4)
}

// LoopbackAddr turns a listen address into one to dial on this host: an
// unspecified host (":2525", "0.0.0.0:2525", "[::]:2525") becomes the
// loopback address of its family; any other address is returned as is.
func LoopbackAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		return net.JoinHostPort("127.0.0.1", port)
	case "::":
		return net.JoinHostPort("::1", port)
	}
	return listen
}

// FieldError names the field of a configuration problem.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate checks every field and returns all problems, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	for _, l := range []struct{ field, addr string }{
		{"relay.smtp_listen", c.Relay.SMTPListen},
		{"relay.lmtp_listen", c.Relay.LMTPListen},
		{"portal.listen", c.Portal.Listen},
		{"admin.listen", c.Admin.Listen},
	} {
		field, addr := l.field, l.addr
		if addr == "off" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(field, "%q is not host:port", addr)
		}
	}
	if c.Relay.SMTPListen == "off" && c.Relay.LMTPListen == "off" {
		bad("relay", "both smtp_listen and lmtp_listen are off")
	}
	if (c.Relay.TLSCert == "") != (c.Relay.TLSKey == "") {
		bad("relay.tls_cert", "tls_cert and tls_key must be set together")
	}
	if c.Relay.RequireTLS && c.Relay.TLSCert == "" {
		bad("relay.require_tls", "requires tls_cert and tls_key")
	}
	if c.Relay.AuthUsersFile != "" && c.Relay.TLSCert == "" {
		bad("relay.auth_users_file", "AUTH is only offered over TLS: set tls_cert and tls_key")
	}
	for i, n := range c.Relay.AllowNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			bad(fmt.Sprintf("relay.allow_networks[%d]", i), "%q is not a CIDR prefix", n)
		}
	}
	if c.Relay.MaxMessageBytes < 1024 {
		bad("relay.max_message_bytes", "must be at least 1024")
	}
	if c.Relay.MaxRecipients < 1 {
		bad("relay.max_recipients", "must be at least 1")
	}
	if c.Relay.MaxConnections < 1 {
		bad("relay.max_connections", "must be at least 1")
	}
	if u, err := url.Parse(c.Portal.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("portal.url", "%q is not an http(s) URL", c.Portal.URL)
	} else if u.Scheme == "http" && u.Hostname() != "localhost" {
		// Session cookies must be Secure; browsers allow that over plain
		// http only for localhost (the dev stack).
		bad("portal.url", "%q: the portal must be served over https (plain http only for localhost)", c.Portal.URL)
	}
	c.Portal.validate(c, bad)
	if c.Vault.Address == "" {
		bad("vault.address", "required (or set VAULT_ADDR)")
	} else if u, err := url.Parse(c.Vault.Address); err != nil || u.Host == "" {
		bad("vault.address", "%q is not a URL", c.Vault.Address)
	}
	for i, a := range c.Vault.FailoverAddresses {
		if u, err := url.Parse(a); err != nil || u.Host == "" {
			bad(fmt.Sprintf("vault.failover_addresses[%d]", i), "%q is not a URL", a)
		}
	}
	switch c.Vault.Wrap {
	case "local", "transit":
	default:
		bad("vault.wrap", "%q is not one of local, transit", c.Vault.Wrap)
	}
	switch ar := c.Vault.AppRole; {
	case ar.RoleID != "" && c.Vault.TokenFile != "":
		bad("vault.approle.role_id", "cannot be combined with vault.token_file: choose one way to log in")
	case ar.RoleID != "" && c.Vault.Token != "":
		bad("vault.approle.role_id", "cannot be combined with vault.token (or VAULT_TOKEN): choose one way to log in")
	case ar.RoleID != "" && ar.SecretIDFile == "":
		bad("vault.approle.secret_id_file", "required with vault.approle.role_id")
	case ar.RoleID == "" && ar.SecretIDFile != "":
		bad("vault.approle.role_id", "required with vault.approle.secret_id_file")
	case ar.RoleID == "" && c.Vault.Token == "" && c.Vault.TokenFile == "":
		bad("vault.token_file", "a token_file (or token, or VAULT_TOKEN, or approle) is required")
	}
	if c.NextHop.Addr == "" {
		bad("next_hop.addr", "required")
	}
	for _, hop := range []struct {
		name string
		h    NextHop
	}{{"next_hop", c.NextHop}, {"tls_next_hop", c.TLSNextHop}, {"portal.reply_next_hop", c.Portal.ReplyNextHop}} {
		name, h := hop.name, hop.h
		if h.Addr != "" {
			if _, _, err := net.SplitHostPort(h.Addr); err != nil {
				bad(name+".addr", "%q is not host:port", h.Addr)
			}
		}
		switch h.TLS {
		case "verify", "opportunistic", "none":
		default:
			bad(name+".tls", "%q is not one of verify, opportunistic, none", h.TLS)
		}
		if h.Username != "" && h.PasswordFile == "" {
			bad(name+".password_file", "required with username")
		}
		if h.Timeout < 0 {
			bad(name+".timeout", "must not be negative")
		}
		if h.MaxIdle < 0 {
			bad(name+".max_idle", "must not be negative")
		}
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{
		{"relay.read_timeout", c.Relay.ReadTimeout},
		{"relay.write_timeout", c.Relay.WriteTimeout},
		{"relay.process_timeout", c.Relay.ProcessTimeout},
		{"vault.timeout", c.Vault.Timeout},
	} {
		if d.d < 0 {
			bad(d.field, "must not be negative")
		}
	}
	if c.TLSNextHop.Addr != "" && c.TLSNextHop.TLS != "verify" {
		bad("tls_next_hop.tls", "must be verify: this hop carries mail that may only travel over verified TLS")
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error", "trace":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error, trace", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if d := c.Seal.DKIM; (d.Domain != "" || d.Selector != "" || d.KeyFile != "") && (d.Domain == "" || d.Selector == "" || d.KeyFile == "") {
		bad("seal.dkim", "domain, selector and key_file must be set together")
	}
	seenMRN := map[string]bool{}
	for i, p := range c.Policy.MRNPatterns {
		field := fmt.Sprintf("policy.mrn_patterns[%d]", i)
		if p.Name == "" {
			bad(field+".name", "required")
		} else if seenMRN[p.Name] {
			bad(field+".name", "%q is used twice", p.Name)
		}
		seenMRN[p.Name] = true
		if p.Regexp == "" {
			bad(field+".regexp", "required")
		} else if _, err := regexp.Compile(p.Regexp); err != nil {
			bad(field+".regexp", "not a valid regular expression: %v", err)
		}
	}
	if c.Spool.MemoryLimit < 0 {
		bad("spool.memory_limit", "must not be negative")
	}
	if c.Audit.CheckpointEvery < time.Second {
		bad("audit.checkpoint_every", "must be at least 1s")
	}
	if c.Retention.SweepEvery < 100*time.Millisecond {
		bad("retention.sweep_every", "must be at least 100ms")
	}
	if c.Rewrap.Every < 100*time.Millisecond {
		bad("rewrap.every", "must be at least 100ms")
	}
	return errors.Join(errs...)
}

// colorRE is a "#rrggbb" colour.
var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// validate checks the portal's fields; the listen address, URL and
// reply_next_hop are checked with their kind.
func (p *Portal) validate(c *Config, bad func(field, format string, args ...any)) {
	if a, err := mail.ParseAddress(p.From); err != nil || a.Address != p.From || a.Name != "" {
		bad("portal.from", "%q is not a bare email address", p.From)
	}
	if !colorRE.MatchString(p.Branding.PrimaryColor) {
		bad("portal.branding.primary_color", "%q is not a #rrggbb colour", p.Branding.PrimaryColor)
	} else if r := ContrastWithWhite(p.Branding.PrimaryColor); r < 4.5 {
		bad("portal.branding.primary_color", "%s has a contrast of %.2f:1 with white text; at least 4.5:1 is needed (WCAG AA)",
			p.Branding.PrimaryColor, r)
	}
	if f := p.Branding.LogoFile; f != "" {
		switch strings.ToLower(filepath.Ext(f)) {
		case ".png", ".jpg", ".jpeg", ".svg":
		default:
			bad("portal.branding.logo_file", "%q is not a .png, .jpg, .jpeg or .svg file", f)
		}
	}
	if p.SessionIdle < time.Minute {
		bad("portal.session_idle", "must be at least 1m")
	}
	if p.SessionMax < p.SessionIdle {
		bad("portal.session_max", "must be at least session_idle")
	}
	if p.CodeTTL < time.Minute || p.CodeTTL > 24*time.Hour {
		bad("portal.code_ttl", "must be between 1m and 24h")
	}
	if p.MaxReplyBytes < 1024 {
		bad("portal.max_reply_bytes", "must be at least 1024")
	}
	if u := p.SMS.WebhookURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			bad("portal.sms.webhook_url", "%q is not an http(s) URL", u)
		}
	} else if p.SMS.TokenFile != "" {
		bad("portal.sms.token_file", "set without portal.sms.webhook_url")
	}
	if p.SMS.Timeout <= 0 {
		bad("portal.sms.timeout", "must be positive")
	}
	v, rv := p.Vault, c.Vault
	switch {
	case v.AppRole.RoleID != "" && (v.Token != "" || v.TokenFile != ""):
		bad("portal.vault.approle.role_id", "cannot be combined with portal.vault.token or token_file: choose one way to log in")
	case v.Token != "" && v.TokenFile != "":
		bad("portal.vault.token", "cannot be combined with portal.vault.token_file")
	case v.AppRole.RoleID != "" && v.AppRole.SecretIDFile == "":
		bad("portal.vault.approle.secret_id_file", "required with portal.vault.approle.role_id")
	case v.AppRole.RoleID == "" && v.AppRole.SecretIDFile != "":
		bad("portal.vault.approle.role_id", "required with portal.vault.approle.secret_id_file")
	}
	// The portal must never run with the relay's credentials: the relay's
	// may not unwrap, and a relay that could would read the past.
	switch {
	case v.Token != "" && v.Token == rv.Token:
		bad("portal.vault.token", "is the relay's token (vault.token or VAULT_TOKEN); the portal needs its own sealpost-portal token")
	case v.TokenFile != "" && filepath.Clean(v.TokenFile) == filepath.Clean(rv.TokenFile):
		bad("portal.vault.token_file", "is the relay's token file; the portal needs its own sealpost-portal token")
	case v.AppRole.RoleID != "" && v.AppRole.RoleID == rv.AppRole.RoleID:
		bad("portal.vault.approle.role_id", "is the relay's role; the portal needs the sealpost-portal role")
	}
}

// ContrastWithWhite returns the WCAG 2 contrast ratio of white text on
// color, a "#rrggbb" colour (1 for anything else).
func ContrastWithWhite(color string) float64 {
	if !colorRE.MatchString(color) {
		return 1
	}
	lum := 0.0
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		n, _ := strconv.ParseUint(color[1+2*i:3+2*i], 16, 8)
		c := float64(n) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		lum += w * c
	}
	return 1.05 / (lum + 0.05)
}

func setDefault(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setDefaultInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDefaultInt64(p *int64, v int64) {
	if *p == 0 {
		*p = v
	}
}

func setDefaultDuration(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}
