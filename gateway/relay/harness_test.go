package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/testutil"

	"filippo.io/age"
	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/gateway/nexthop"
	"github.com/sealpost/sealpost/gateway/spool"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/internal/certs"
	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
	"github.com/sealpost/sealpost/policy"
)

// harness is a relay wired to real components: a Vault dev server, the
// SQLite store, the audit log, a capture next hop over verified STARTTLS.
type harness struct {
	t       testing.TB
	vault   *vaulttest.Server
	creds   keys.Credentials
	relayKC *keys.Client
	adminKC *keys.Client
	store   *store.Store
	audit   *audit.Log
	capture *capture.Server
	relay   *Relay
	smtp    string // relay SMTP address
	lmtp    string // relay LMTP address
	logs    *testutil.SyncBuffer
	dir     string
	policy  *staticPolicy
	spool   string
}

type harnessOpts struct {
	policyYAML        string
	allow             []string // default: 127.0.0.0/8
	passWhenVaultDown bool
	tlsHop            bool
	maxRcpts          int
	maxConns          int
	dkim              *DKIM
	wrapTransit       bool // Options.WrapTransit
}

type staticPolicy struct {
	mu sync.Mutex
	e  *policy.Engine
}

func (p *staticPolicy) Engine() *policy.Engine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.e
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), logs: &testutil.SyncBuffer{}}
	h.vault = vaulttest.Start(t)
	h.creds = vaulttest.Setup(t, h.vault)
	var err error
	h.relayKC, err = keys.New(keys.Config{Address: h.vault.Addr, Token: h.creds.RelayToken})
	must(t, err)
	h.adminKC, err = keys.New(keys.Config{Address: h.vault.Addr, Token: h.creds.AdminToken})
	must(t, err)

	h.store, err = store.Open(filepath.Join(h.dir, "sealpost.db"))
	must(t, err)
	t.Cleanup(func() { h.store.Close() })
	h.audit, err = audit.New(h.store.DB(), audit.WithWriter(h.store.Write))
	must(t, err)

	paths, err := certs.Generate(filepath.Join(h.dir, "tls"), "localhost", "127.0.0.1")
	must(t, err)
	h.capture, err = capture.Start(capture.Config{
		Dir: filepath.Join(h.dir, "outbox"), TLSCert: paths.Cert, TLSKey: paths.Key, RequireTLS: true, KeepInMemory: true,
	})
	must(t, err)
	t.Cleanup(func() { h.capture.Close() })
	hop, err := nexthop.New(nexthop.Config{Addr: h.capture.Addr(), TLS: nexthop.TLSVerify, ServerName: "localhost", CAFile: paths.CA})
	must(t, err)
	t.Cleanup(func() { hop.Close() })

	eng := policy.Default()
	if o.policyYAML != "" {
		eng, err = policy.Parse([]byte(o.policyYAML))
		must(t, err)
	}
	h.policy = &staticPolicy{e: eng}

	macKey, err := h.relayKC.MACKey(context.Background())
	must(t, err)
	allow := o.allow
	if allow == nil {
		allow = []string{"127.0.0.0/8"}
	}
	var nets []netip.Prefix
	for _, a := range allow {
		nets = append(nets, netip.MustParsePrefix(a))
	}
	if o.maxRcpts == 0 {
		o.maxRcpts = 50
	}
	if o.maxConns == 0 {
		o.maxConns = 50
	}
	h.spool = filepath.Join(h.dir, "spool")
	must(t, os.MkdirAll(h.spool, 0o700))
	deps := Deps{
		Keys: h.relayKC, Store: h.store, Audit: h.audit, Policy: h.policy, NextHop: hop,
		Spool: spool.New(h.spool, 4<<10), MACKey: macKey,
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if o.tlsHop {
		deps.TLSHop = hop
	}
	deps.DKIM = o.dkim
	h.relay, err = New(Options{
		Hostname: "relay.test", Organisation: "Test Trust", Subject: "Secure message from Test Trust",
		PortalURL: "http://localhost:8080", MaxMessageBytes: 60 << 20, MaxRecipients: o.maxRcpts,
		MaxConnections: o.maxConns, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		ProcessTimeout: time.Minute, AllowNetworks: nets, PassWhenVaultDown: o.passWhenVaultDown,
		HealthEvery: 200 * time.Millisecond, WrapTransit: o.wrapTransit,
	}, deps)
	must(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go h.relay.WatchVault(ctx)
	for _, lmtp := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		if lmtp {
			h.lmtp = ln.Addr().String()
		} else {
			h.smtp = ln.Addr().String()
		}
		go h.relay.Serve(ln, lmtp)
		// go-smtp's Shutdown misses a listener Serve has not registered
		// yet; closing it ourselves always ends Serve.
		t.Cleanup(func() { ln.Close() })
	}
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_ = h.relay.Shutdown(sctx)
	})
	h.waitVault(true)
	return h
}

func (h *harness) waitVault(up bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for h.relay.VaultUp() != up {
		if time.Now().After(deadline) {
			h.t.Fatalf("vault health did not become %v", up)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// send submits one message over SMTP and returns the final reply (nil for
// 250), or the error of an earlier command.
func (h *harness) send(from string, to []string, msg string) error {
	h.t.Helper()
	c, err := smtp.Dial(h.smtp)
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, rc := range to {
		if err := c.Rcpt(rc, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	err = w.Close()
	_ = c.Quit()
	return err
}

// sendLMTP submits over LMTP and returns one reply per recipient.
func (h *harness) sendLMTP(from string, to []string, msg string) map[string]*smtp.SMTPError {
	h.t.Helper()
	conn, err := net.Dial("tcp", h.lmtp)
	must(h.t, err)
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	must(h.t, c.Hello("client.test"))
	must(h.t, c.Mail(from, nil))
	for _, rc := range to {
		must(h.t, c.Rcpt(rc, nil))
	}
	w, err := c.Data()
	must(h.t, err)
	_, err = io.WriteString(w, msg)
	must(h.t, err)
	resp, err := w.CloseWithLMTPResponse()
	out := map[string]*smtp.SMTPError{}
	for rc := range resp {
		out[rc] = nil
	}
	var lerr smtp.LMTPDataError
	if errors.As(err, &lerr) {
		for rc, e := range lerr {
			out[rc] = e
		}
	} else if err != nil {
		h.t.Fatalf("LMTP DATA: %v", err)
	}
	for _, rc := range to {
		if _, ok := out[rc]; !ok {
			h.t.Fatalf("no LMTP reply for a recipient")
		}
	}
	return out
}

// registerKey registers a fresh X25519 key for addr in the directory and
// returns its identity.
func (h *harness) registerKey(addr string) *age.X25519Identity {
	h.t.Helper()
	id, err := age.GenerateX25519Identity()
	must(h.t, err)
	must(h.t, h.adminKC.AddRecipient(context.Background(), addr, id.Recipient().String()))
	return id
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

var _ = tls.VersionTLS12
