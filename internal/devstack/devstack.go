// Package devstack is `sealpost dev` (what `make run` starts): the whole stack
// on one machine with no set-up. It runs a real Vault server whose storage
// persists under var/, unsealed with a dev-only key kept there; sets up its
// mounts, keys and policies; starts a capture next hop that writes delivered
// mail to var/outbox; and runs a Sealpost node with the relay's own scoped
// Vault token, never the root token.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
	"gopkg.in/yaml.v3"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/gateway/node"
	"github.com/sealpost/sealpost/internal/certs"
	"github.com/sealpost/sealpost/internal/vaultbin"
	"github.com/sealpost/sealpost/keys"
)

// Options are the dev stack's ports and paths, all settable by flags.
type Options struct {
	Var        string // state directory, default "var"
	SMTP       string // default 127.0.0.1:2525
	LMTP       string // default 127.0.0.1:2424
	Portal     string // default 127.0.0.1:8080
	PortalURL  string // default http://localhost:8080
	Admin      string // default 127.0.0.1:9090
	Vault      string // Vault listen address, default 127.0.0.1:8200
	Capture    string // capture next hop, default 127.0.0.1:2526
	SMSSink    string // the dev SMS webhook that writes var/outbox/sms-<time>.json, default 127.0.0.1:0
	PolicyFile string // default: the built-in policy
	DemoRcpt   string // address registered with a demo age key, default patient@example.net
}

// Defaults fills unset options.
func (o *Options) Defaults() {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&o.Var, "var")
	set(&o.SMTP, "127.0.0.1:2525")
	set(&o.LMTP, "127.0.0.1:2424")
	set(&o.Portal, "127.0.0.1:8080")
	if o.PortalURL == "" {
		_, port, err := net.SplitHostPort(o.Portal)
		if err != nil || port == "0" {
			port = "8080"
		}
		o.PortalURL = "http://localhost:" + port
	}
	set(&o.Admin, "127.0.0.1:9090")
	set(&o.Vault, "127.0.0.1:8200")
	set(&o.Capture, "127.0.0.1:2526")
	set(&o.SMSSink, "127.0.0.1:0")
	set(&o.DemoRcpt, "patient@example.net")
}

// Run starts everything, prints what it started, and stops everything when
// ctx ends.
func Run(ctx context.Context, o Options, out io.Writer, log *slog.Logger) error {
	o.Defaults()
	varDir, err := filepath.Abs(o.Var)
	if err != nil {
		return err
	}
	for _, d := range []string{varDir, filepath.Join(varDir, "vault"), filepath.Join(varDir, "outbox")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("failed to create %s: %w", d, err)
		}
	}

	// 1. Vault, with file storage under var/vault/data.
	vaultAddr := "http://" + o.Vault
	stopVault, err := startVault(ctx, varDir, o.Vault)
	if err != nil {
		return err
	}
	defer stopVault()
	initCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	rootToken, err := keys.InitOrUnsealDev(initCtx, vaultAddr, filepath.Join(varDir, "vault", "dev-unseal.json"))
	cancel()
	if err != nil {
		return err
	}
	root, err := keys.New(keys.Config{Address: vaultAddr, Token: rootToken})
	if err != nil {
		return err
	}
	// The audit device records every unwrap on Vault's side too.
	creds, err := keys.SetupWith(ctx, root, keys.SetupOptions{AuditFile: filepath.Join(varDir, "vault", "audit.log")})
	if err != nil {
		return fmt.Errorf("failed to set up vault: %w", err)
	}
	relayTokenFile := filepath.Join(varDir, "vault", "relay.token")
	if err := os.WriteFile(relayTokenFile, []byte(creds.RelayToken+"\n"), 0o600); err != nil {
		return err
	}
	// The portal has its own token (sealpost-portal: it may unwrap), never
	// the relay's.
	portalTokenFile := filepath.Join(varDir, "vault", "portal.token")
	if err := os.WriteFile(portalTokenFile, []byte(creds.PortalToken+"\n"), 0o600); err != nil {
		return err
	}

	// A demo recipient with its own age key, so that the first sealed message
	// can be opened with the stock age CLI.
	demoKey := filepath.Join(varDir, "demo-recipient.key")
	demoRcpt, err := demoIdentity(demoKey, o.DemoRcpt)
	if err != nil {
		return err
	}
	if err := root.AddRecipient(ctx, strings.ToLower(o.DemoRcpt), demoRcpt); err != nil {
		return fmt.Errorf("failed to register the demo recipient: %w", err)
	}

	// 2. The capture next hop, over verified STARTTLS with a private CA.
	tlsPaths, err := certs.Generate(filepath.Join(varDir, "tls"), "localhost", "127.0.0.1")
	if err != nil {
		return err
	}
	capt, err := capture.Start(capture.Config{
		Addr: o.Capture, Dir: filepath.Join(varDir, "outbox"),
		TLSCert: tlsPaths.Cert, TLSKey: tlsPaths.Key, RequireTLS: true, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("failed to start the capture next hop: %w", err)
	}
	defer capt.Close()
	outbox := filepath.Join(varDir, "outbox")
	sms, err := startSMSSink(o.SMSSink, outbox, log)
	if err != nil {
		return fmt.Errorf("failed to start the SMS sink: %w", err)
	}
	defer sms.Close()

	// 3. The node, with the relay's scoped token and the portal's own.
	// Mailbox codes go to the next hop (the capture, so var/outbox); SMS
	// codes to the sink; secure replies through the relay itself.
	cfg := &config.Config{
		Hostname:     "sealpost.localhost",
		Organisation: "Sealpost Dev",
		Relay:        config.Relay{SMTPListen: o.SMTP, LMTPListen: o.LMTP},
		Portal: config.Portal{
			Listen: o.Portal, URL: o.PortalURL,
			Vault: config.PortalVault{TokenFile: portalTokenFile},
			SMS:   config.PortalSMS{WebhookURL: sms.URL()},
		},
		Admin:  config.Admin{Listen: o.Admin},
		Vault:  config.Vault{Address: vaultAddr, TokenFile: relayTokenFile},
		Store:  config.Store{Path: filepath.Join(varDir, "sealpost.db")},
		Audit:  config.Audit{CheckpointPath: filepath.Join(varDir, "audit.checkpoint")},
		Policy: config.Policy{Path: o.PolicyFile},
		NextHop: config.NextHop{
			Addr: capt.Addr(), TLS: "verify", ServerName: "localhost", CAFile: tlsPaths.CA,
		},
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfgFile := filepath.Join(varDir, "sealpost.yaml")
	if err := writeYAML(cfgFile, cfg); err != nil {
		return err
	}
	n, err := node.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer n.Close()

	envFile := filepath.Join(varDir, "dev.env")
	env := []string{
		"VAULT_ADDR=" + vaultAddr,
		"VAULT_TOKEN=" + rootToken,
		"SEALPOST_CONFIG=" + cfgFile,
		"SEALPOST_SMTP=" + n.SMTPAddr,
		"SEALPOST_LMTP=" + n.LMTPAddr,
		"SEALPOST_PORTAL_URL=" + o.PortalURL,
		"SEALPOST_PORTAL=" + n.PortalAddr,
		"SEALPOST_ADMIN_URL=http://" + n.AdminAddr,
		"SEALPOST_OUTBOX=" + filepath.Join(varDir, "outbox"),
		"SEALPOST_DEMO_KEY=" + demoKey,
		"SEALPOST_DEMO_RCPT=" + o.DemoRcpt,
	}
	if err := os.WriteFile(envFile, []byte(strings.Join(env, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(envFile)

	host, port, _ := net.SplitHostPort(n.SMTPAddr)
	fmt.Fprintf(out, `
Sealpost dev stack is running. Ctrl-C stops everything.

  Vault          %s   (storage: %s, root token in %s)
  Relay SMTP     %s
  Relay LMTP     %s
  Portal         %s
  Admin          %s/healthz  /readyz  /metrics
  Next hop       %s  (capture: delivered mail lands in %s/<id>.eml)
  Mailbox codes  %s/*.eml      (the portal mails them through the next hop)
  SMS codes      %s/sms-*.json (the dev SMS webhook at %s)
  Store          %s
  Environment    %s  (other sealpost commands here use it)

Send a first sealed message (the [secure] tag forces sealing):

  swaks --server %s --port %s --from doctor@example.org --to %s \
    --header 'Subject: [secure] Discharge summary' --body 'NHS number 943 476 5919, HbA1c 48 mmol/mol'

Then open it with the demo recipient's own age key:

  bin/sealpost extract "$(ls -t %s/*.eml | head -1)" | age -d -i %s

or read it in the portal: follow the link in the notice (%s/m/<id>), enter %s,
type the mailbox code from the newest %s/*.eml, then the enrolment code that
'bin/sealpost message show <id>' prints, and register a passkey or a password.

`, vaultAddr, filepath.Join(varDir, "vault", "data"), filepath.Join(varDir, "vault", "dev-unseal.json"),
		n.SMTPAddr, n.LMTPAddr, portalLink(o.PortalURL), "http://"+n.AdminAddr, capt.Addr(), outbox,
		outbox, outbox, sms.URL(),
		cfg.Store.Path, envFile, host, port, o.DemoRcpt, outbox, demoKey,
		strings.TrimSuffix(portalLink(o.PortalURL), "/"), o.DemoRcpt, outbox)

	<-ctx.Done()
	fmt.Fprintln(out, "stopping")
	return nil
}

func portalLink(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.String()
	}
	return u
}

// startVault runs `vault server` with file storage under var/vault. It
// returns a function that stops it.
func startVault(ctx context.Context, varDir, listen string) (func(), error) {
	bin, err := vaultbin.Find()
	if err != nil {
		return nil, err
	}
	if c, err := net.DialTimeout("tcp", listen, 300*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("something already listens on %s: stop it, or choose another address with -vault", listen)
	}
	dir := filepath.Join(varDir, "vault")
	hcl := fmt.Sprintf(`# Written by sealpost dev. A development Vault: one unseal key kept beside it.
storage "file" {
  path = %q
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
api_addr      = "http://%s"
disable_mlock = true
ui            = false
`, filepath.Join(dir, "data"), listen, listen)
	cfgPath := filepath.Join(dir, "vault.hcl")
	if err := os.WriteFile(cfgPath, []byte(hcl), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "vault.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "-config="+cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("failed to start vault: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done); logf.Close() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	// Wait for the listener, or for an early exit.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond); err == nil {
			c.Close()
			return stop, nil
		}
		select {
		case <-done:
			return nil, errors.New("vault exited at start: see " + filepath.Join(dir, "vault.log"))
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("vault did not listen within 30s: see " + filepath.Join(dir, "vault.log"))
		}
	}
}

// demoIdentity returns the demo recipient's age recipient string, creating
// its identity file on first use.
func demoIdentity(path, addr string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		ids, err := age.ParseIdentities(strings.NewReader(string(b)))
		if err != nil || len(ids) != 1 {
			return "", fmt.Errorf("demo key %s is damaged", path)
		}
		x, ok := ids[0].(*age.X25519Identity)
		if !ok {
			return "", fmt.Errorf("demo key %s is not an X25519 identity", path)
		}
		return x.Recipient().String(), nil
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	content := fmt.Sprintf("# Sealpost dev demo recipient: %s\n# public key: %s\n%s\n", addr, id.Recipient(), id)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return "", err
	}
	return id.Recipient().String(), nil
}

func writeYAML(path string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("# Written by sealpost dev; regenerated at every start.\n"), b...), 0o600)
}
