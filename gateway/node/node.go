// Package node assembles one Sealpost node from its configuration: the
// store, the audit log, the Vault client, the policy, the next hops, the
// relay's SMTP and LMTP listeners, the portal and the admin endpoints. Both
// `sealpost serve` and `sealpost dev` run a node.
package node

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sealpost/sealpost/gateway/admin"
	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/gateway/lifecycle"
	"github.com/sealpost/sealpost/gateway/nexthop"
	"github.com/sealpost/sealpost/gateway/portal"
	"github.com/sealpost/sealpost/gateway/relay"
	"github.com/sealpost/sealpost/gateway/spool"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/keys"
	"github.com/sealpost/sealpost/policy"
	"github.com/sealpost/sealpost/policy/classify"
	"github.com/sealpost/sealpost/policy/detect"
)

// sealedGrowth is how much larger a sealed copy is than the original: base64
// of the age ciphertext (4/3) plus the notice and MIME framing.
const sealedGrowth = 1.4

// Node is a running Sealpost node.
type Node struct {
	cfg    *config.Config
	log    *slog.Logger
	Store  *store.Store
	Audit  *audit.Log
	Keys   *keys.Client
	Policy relay.PolicySource
	Relay  *relay.Relay

	// Addresses actually bound, useful when the config asks for port 0.
	SMTPAddr, LMTPAddr, PortalAddr, AdminAddr string

	listeners []net.Listener
	https     []*http.Server
	hops      []*nexthop.Client
	replyHop  *nexthop.Client // the portal's; a pooled connection to our own relay
	portal    *portal.Server
	wg        sync.WaitGroup
	cancel    context.CancelFunc
}

// Start builds and starts a node. It returns once every listener is bound.
// ctx is the node's lifetime, not a start-up deadline: the background jobs
// (Vault token renewal, retention, audit checkpoints, the portal's purge)
// stop when it ends. [Node.Close] stops everything.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *Node, err error) {
	n := &Node{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	ctx, n.cancel = context.WithCancel(ctx)

	kc, err := keys.New(keys.Config{
		Address: cfg.Vault.Address, Token: cfg.Vault.Token, TokenFile: cfg.Vault.TokenFile,
		CACert: cfg.Vault.CACert, TransitMount: cfg.Vault.TransitMount, WrapKey: cfg.Vault.WrapKey,
		AuditKey: cfg.Vault.AuditKey, PortalKey: cfg.Vault.PortalKey, KVMount: cfg.Vault.KVMount, Timeout: cfg.Vault.Timeout,
		FailoverAddresses: cfg.Vault.FailoverAddresses, AppRoleID: cfg.Vault.AppRole.RoleID,
		AppRoleSecretIDFile: cfg.Vault.AppRole.SecretIDFile, Logger: log.With("component", "vault"),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to set up the Vault client: %w", err)
	}
	n.Keys = kc

	if n.Store, err = store.Open(cfg.Store.Path); err != nil {
		return nil, fmt.Errorf("failed to open the store: %w", err)
	}
	if n.Audit, err = audit.New(n.Store.DB(), audit.WithWriter(n.Store.Write), audit.WithLogger(log)); err != nil {
		return nil, fmt.Errorf("failed to open the audit log: %w", err)
	}
	// The classifier (text extraction, identifier detectors, clinical
	// lexicon, structured payloads, PHI score) runs once per message inside
	// Decide; rules refer to its findings by name.
	var ids detect.Config
	for _, p := range cfg.Policy.MRNPatterns {
		pat, err := detect.CompilePattern(p.Name, p.Regexp, p.Context...)
		if err != nil {
			return nil, fmt.Errorf("policy.mrn_patterns: %w", err)
		}
		ids.MRN = append(ids.MRN, pat)
	}
	if err := ids.Validate(); err != nil {
		return nil, fmt.Errorf("policy.mrn_patterns: %w", err)
	}
	detectors := policy.WithDetectors(classify.New(classify.Config{Identifiers: ids}).Detectors()...)
	var holder *policy.Holder
	if cfg.Policy.Path != "" {
		if holder, err = policy.NewHolder(cfg.Policy.Path, log, detectors); err != nil {
			return nil, fmt.Errorf("failed to load the policy: %w", err)
		}
		n.Policy = holder
	} else {
		n.Policy = builtinPolicy{policy.Default(detectors)}
	}

	macKey, err := n.macKey(ctx)
	if err != nil {
		return nil, err
	}
	var archive age.Recipient
	if cfg.Seal.ArchiveRecipient != "" {
		if archive, err = keys.ParseRecipient(cfg.Seal.ArchiveRecipient); err != nil {
			return nil, fmt.Errorf("seal.archive_recipient: %w", err)
		}
		log.Warn("an archive recipient is configured: recall cannot shred the copies sealed to it")
	}

	hop, err := n.newHop(cfg.NextHop)
	if err != nil {
		return nil, fmt.Errorf("next_hop: %w", err)
	}
	var tlsHop relay.Hop
	if cfg.TLSNextHop.Addr != "" {
		h, err := n.newHop(cfg.TLSNextHop)
		if err != nil {
			return nil, fmt.Errorf("tls_next_hop: %w", err)
		}
		tlsHop = h
	}

	maxSize := cfg.Relay.MaxMessageBytes
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	if hopMax, err := hop.Probe(pctx); err != nil {
		log.Warn("next hop not reachable at start; mail is deferred until it is", "err", err)
	} else if hopMax > 0 {
		if fit := int64(float64(hopMax)/sealedGrowth) - 64<<10; fit < maxSize {
			maxSize = max(fit, 1024)
		}
	}
	pcancel()

	var tlsCfg *tls.Config
	if cfg.Relay.TLSCert != "" {
		certs, err := newCertReloader(cfg.Relay.TLSCert, cfg.Relay.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("relay.tls_cert: %w", err)
		}
		tlsCfg = &tls.Config{GetCertificate: certs.get, MinVersion: tls.VersionTLS12}
	}
	var signer *relay.DKIM
	if d := cfg.Seal.DKIM; d.KeyFile != "" {
		if signer, err = relay.LoadDKIM(d.Domain, d.Selector, d.KeyFile); err != nil {
			return nil, fmt.Errorf("seal.dkim: %w", err)
		}
	}
	var users relay.Users
	if cfg.Relay.AuthUsersFile != "" {
		if users, err = relay.LoadUsers(cfg.Relay.AuthUsersFile); err != nil {
			return nil, fmt.Errorf("relay.auth_users_file: %w", err)
		}
	}
	var nets []netip.Prefix
	for _, s := range cfg.Relay.AllowNetworks {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("relay.allow_networks: %w", err)
		}
		nets = append(nets, p)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.Relay, err = relay.New(relay.Options{
		Hostname: cfg.Hostname, Organisation: cfg.Organisation, Subject: cfg.Seal.Subject,
		PortalURL: cfg.Portal.URL, MaxMessageBytes: maxSize, MaxRecipients: cfg.Relay.MaxRecipients,
		MaxConnections: cfg.Relay.MaxConnections, ReadTimeout: cfg.Relay.ReadTimeout,
		WriteTimeout: cfg.Relay.WriteTimeout, ProcessTimeout: cfg.Relay.ProcessTimeout,
		RequireTLS: cfg.Relay.RequireTLS, AllowNetworks: nets, Users: users,
		PassWhenVaultDown: cfg.Degraded.PassWhenVaultDown,
		DirectoryTTL:      cfg.Vault.DirectoryTTL,
		WrapTransit:       cfg.Vault.Wrap == "transit",
	}, relay.Deps{
		Keys: kc, Store: n.Store, Audit: n.Audit, Policy: n.Policy, NextHop: hop, TLSHop: tlsHop,
		Spool: spool.New(cfg.Spool.Dir, cfg.Spool.MemoryLimit), MACKey: macKey, Archive: archive,
		TLSConfig: tlsCfg, DKIM: signer, Logger: log, Metrics: relay.NewMetrics(reg),
	})
	if err != nil {
		return nil, err
	}

	if err := n.startLifecycle(ctx, reg); err != nil {
		return nil, err
	}

	// Renew the Vault token (log in again with AppRole) for as long as the
	// node runs.
	n.goRun(func() { kc.KeepAlive(ctx) })
	n.goRun(func() { n.Relay.WatchVault(ctx) })
	n.awaitVaultProbe(ctx)
	if holder != nil {
		n.goRun(func() { holder.Watch(ctx, 2*time.Second) })
	}
	n.goRun(func() { n.Audit.RunCheckpointer(ctx, kc, cfg.Audit.CheckpointPath, cfg.Audit.CheckpointEvery) })

	for _, l := range []struct {
		addr string
		lmtp bool
		out  *string
	}{{cfg.Relay.SMTPListen, false, &n.SMTPAddr}, {cfg.Relay.LMTPListen, true, &n.LMTPAddr}} {
		if l.addr == "off" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return nil, fmt.Errorf("failed to listen for %s: %w", proto(l.lmtp), err)
		}
		n.listeners = append(n.listeners, ln)
		*l.out = ln.Addr().String()
		lmtp := l.lmtp
		n.goRun(func() {
			if err := n.Relay.Serve(ln, lmtp); err != nil && !errors.Is(err, net.ErrClosed) {
				log.Error("relay listener stopped", "proto", proto(lmtp), "err", err)
			}
		})
	}

	checks := map[string]admin.Check{
		"vault": func(ctx context.Context) error { return kc.Health(ctx) },
		"store": func(ctx context.Context) error { return n.Store.Ping(ctx) },
	}
	if n.AdminAddr, err = n.serveHTTP(cfg.Admin.Listen, admin.Handler(reg, checks)); err != nil {
		return nil, fmt.Errorf("admin.listen: %w", err)
	}
	if cfg.Portal.Listen != "off" {
		ph, err := n.newPortal(ctx, hop)
		if err != nil {
			return nil, err
		}
		if n.PortalAddr, err = n.serveHTTP(cfg.Portal.Listen, ph); err != nil {
			return nil, fmt.Errorf("portal.listen: %w", err)
		}
	}
	log.Info("sealpost node started", "smtp", n.SMTPAddr, "lmtp", n.LMTPAddr, "portal", n.PortalAddr,
		"admin", n.AdminAddr, "advertised_size", maxSize)
	return n, nil
}

// newPortal builds the portal. It has a Vault client of its own, with the
// portal's credentials (portal.vault): the relay's token may not unwrap,
// and the portal never borrows it. Without credentials the portal still
// serves, but only a 503 page. Mailbox codes go straight to the next hop
// (they carry no content); secure replies and read receipts go to
// portal.reply_next_hop, by default this node's own SMTP listener, so that
// the policy classifies them and seals them when it says so.
func (n *Node) newPortal(ctx context.Context, codes *nexthop.Client) (http.Handler, error) {
	cfg := n.cfg
	pc := cfg.Portal
	var pk *keys.Client
	if pv := pc.Vault; pv.Token != "" || pv.TokenFile != "" || pv.AppRole.RoleID != "" {
		v := cfg.Vault
		var err error
		pk, err = keys.New(keys.Config{
			Address: v.Address, Token: pv.Token, TokenFile: pv.TokenFile, CACert: v.CACert,
			TransitMount: v.TransitMount, WrapKey: v.WrapKey, AuditKey: v.AuditKey, PortalKey: v.PortalKey,
			KVMount: v.KVMount, Timeout: v.Timeout, FailoverAddresses: v.FailoverAddresses, AppRoleID: pv.AppRole.RoleID,
			AppRoleSecretIDFile: pv.AppRole.SecretIDFile, Logger: n.log.With("component", "vault", "role", "portal"),
		})
		if err != nil {
			return nil, fmt.Errorf("portal.vault: %w", err)
		}
		n.goRun(func() { pk.KeepAlive(ctx) })
	} else {
		n.log.Warn("portal.vault has no credentials: the portal cannot open messages and answers 503 until it has its own sealpost-portal token")
	}
	replyHop := pc.ReplyNextHop
	if n.SMTPAddr != "" && replyHop.Addr == config.LoopbackAddr(cfg.Relay.SMTPListen) {
		// The default, this node's own listener: dial the address it bound
		// (smtp_listen may ask for port 0).
		replyHop.Addr = config.LoopbackAddr(n.SMTPAddr)
	}
	replies, err := n.newHop(replyHop)
	if err != nil {
		return nil, fmt.Errorf("portal.reply_next_hop: %w", err)
	}
	n.replyHop = replies
	brand := portal.Branding{Name: cfg.Organisation, Primary: pc.Branding.PrimaryColor}
	if f := pc.Branding.LogoFile; f != "" {
		if brand.Logo, brand.LogoType, err = readLogo(f); err != nil {
			return nil, fmt.Errorf("portal.branding.logo_file: %w", err)
		}
	}
	sms := portal.SMSConfig{URL: pc.SMS.WebhookURL, Timeout: pc.SMS.Timeout}
	if f := pc.SMS.TokenFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("portal.sms.token_file: %w", err)
		}
		sms.Token = strings.TrimSpace(string(b))
	}
	s, err := portal.New(portal.Config{
		URL: pc.URL, From: pc.From, Branding: brand, SessionIdle: pc.SessionIdle, SessionMax: pc.SessionMax,
		CodeTTL: pc.CodeTTL, MaxReplyBytes: pc.MaxReplyBytes, SMS: sms,
	}, portal.Deps{
		Store: n.Store, Audit: n.Audit, Keys: pk, Codes: codes, Replies: replies,
		Logger: n.log.With("component", "portal"),
	})
	if err != nil {
		return nil, err
	}
	n.portal = s
	n.goRun(func() { s.RunPurge(ctx, 5*time.Minute) })
	return s.Handler(), nil
}

// maxLogo bounds the logo file.
const maxLogo = 1 << 20

// readLogo reads the logo and names its type by its extension (which
// config validation restricts to PNG, JPEG and SVG).
func readLogo(path string) ([]byte, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	if len(b) == 0 || len(b) > maxLogo {
		return nil, "", fmt.Errorf("the logo must be 1 byte to %d KiB", maxLogo>>10)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return b, "image/png", nil
	case ".jpg", ".jpeg":
		return b, "image/jpeg", nil
	case ".svg":
		return b, "image/svg+xml", nil
	}
	return nil, "", errors.New("the logo must be a .png, .jpg or .svg file")
}

// startLifecycle starts the retention job, and the rewrap job if
// rewrap.token_file is set. The rewrap job has its own Vault client: the
// relay's token may not rewrap.
func (n *Node) startLifecycle(ctx context.Context, reg prometheus.Registerer) error {
	metrics := lifecycle.NewMetrics(reg)
	mgr, err := lifecycle.New(lifecycle.Deps{Store: n.Store, Audit: n.Audit, Logger: n.log, Metrics: metrics})
	if err != nil {
		return err
	}
	n.goRun(func() { mgr.RunRetention(ctx, n.cfg.Retention.SweepEvery) })
	if n.cfg.Rewrap.TokenFile == "" {
		return nil
	}
	v := n.cfg.Vault
	kc, err := keys.New(keys.Config{
		Address: v.Address, TokenFile: n.cfg.Rewrap.TokenFile, CACert: v.CACert, TransitMount: v.TransitMount,
		WrapKey: v.WrapKey, AuditKey: v.AuditKey, PortalKey: v.PortalKey, KVMount: v.KVMount, Timeout: v.Timeout,
	})
	if err != nil {
		return fmt.Errorf("rewrap.token_file: %w", err)
	}
	rw, err := lifecycle.New(lifecycle.Deps{Store: n.Store, Audit: n.Audit, Keys: kc, Logger: n.log, Metrics: metrics})
	if err != nil {
		return err
	}
	n.goRun(func() { rw.RunRewrap(ctx, n.cfg.Rewrap.Every, "rewrap") })
	return nil
}

// awaitVaultProbe gives the relay's first Vault health probe a moment to
// finish before the listeners open. Until a probe succeeds the relay treats
// Vault as down, so without this the first messages after a start would be
// deferred with 451 although Vault is up. If Vault does not answer in time,
// the node starts anyway and defers mail until it does.
func (n *Node) awaitVaultProbe(ctx context.Context) {
	deadline := time.Now().Add(n.cfg.Vault.Timeout + time.Second)
	for !n.Relay.VaultUp() && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// builtinPolicy serves the shipped default policy when no file is configured.
type builtinPolicy struct{ e *policy.Engine }

func (b builtinPolicy) Engine() *policy.Engine { return b.e }

func proto(lmtp bool) string {
	if lmtp {
		return "lmtp"
	}
	return "smtp"
}

func (n *Node) goRun(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

func (n *Node) serveHTTP(addr string, h http.Handler) (string, error) {
	if addr == "off" {
		return "", nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	// Slow clients may not hold a connection: a request (a secure reply with
	// attachments at most) has 5 minutes to arrive and its answer (a
	// download) 5 minutes to leave.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	n.https = append(n.https, srv)
	n.goRun(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http listener stopped", "addr", addr, "err", err)
		}
	})
	return ln.Addr().String(), nil
}

func (n *Node) newHop(h config.NextHop) (*nexthop.Client, error) {
	var password string
	if h.PasswordFile != "" {
		b, err := os.ReadFile(h.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("failed to read password_file: %w", err)
		}
		password = strings.TrimSpace(string(b))
	}
	if h.TLS != string(nexthop.TLSVerify) && !loopback(h.Addr) {
		n.log.Warn("next hop TLS verification is off: explicit opt-in", "addr", h.Addr, "tls", h.TLS)
	}
	c, err := nexthop.New(nexthop.Config{
		Addr: h.Addr, TLS: nexthop.TLSMode(h.TLS), ServerName: h.ServerName, CAFile: h.CAFile,
		Username: h.Username, Password: password, HeloName: n.cfg.Hostname, Timeout: h.Timeout, MaxIdle: h.MaxIdle,
	})
	if err != nil {
		return nil, err
	}
	n.hops = append(n.hops, c)
	return c, nil
}

// loopback reports whether addr (host:port) is a loopback IP address, such
// as the node's own SMTP listener that replies go through by default.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// macKey loads the X-Sealpost-Id MAC key from a file, or from Vault. Vault may
// still be starting, so it is retried for a while.
func (n *Node) macKey(ctx context.Context) ([]byte, error) {
	if f := n.cfg.Seal.MACKeyFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("seal.mac_key_file: %w", err)
		}
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 32 {
			return nil, errors.New("seal.mac_key_file: want at least 32 bytes, hex encoded")
		}
		return k, nil
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		k, err := n.Keys.MACKey(ctx)
		if err == nil {
			return k, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("failed to read the MAC key from Vault: %w", err)
		}
		n.log.Warn("waiting for Vault to read the MAC key", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// Close stops the node: the HTTP listeners (portal, admin) first, then the
// relay's, then background work, then the store. Sessions in progress get
// up to 30 seconds to finish.
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	// The portal first: its reply hop may hold an idle SMTP session open
	// on our own relay, which the relay's shutdown would wait for.
	for _, s := range n.https {
		errs = append(errs, s.Shutdown(ctx))
	}
	if n.portal != nil {
		n.portal.Wait() // mailbox codes still being handed to the next hop
	}
	if n.replyHop != nil {
		_ = n.replyHop.Close()
	}
	if n.Relay != nil {
		errs = append(errs, n.Relay.Shutdown(ctx))
	}
	for _, l := range n.listeners {
		_ = l.Close()
	}
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	for _, h := range n.hops {
		_ = h.Close()
	}
	if n.Store != nil {
		errs = append(errs, n.Store.Close())
	}
	return errors.Join(errs...)
}
