package devstack_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/testutil"

	"filippo.io/age"

	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/gateway/seal"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/internal/devstack"
	"github.com/sealpost/sealpost/keys"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// running is one devstack.Run in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
	env    map[string]string
	out    *bytes.Buffer
}

// startStack runs the dev stack on free loopback ports with its state in
// varDir, and waits for var/dev.env.
func startStack(t *testing.T, varDir, vaultAddr string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1), out: &bytes.Buffer{}}
	o := devstack.Options{
		Var: varDir, SMTP: "127.0.0.1:0", LMTP: "127.0.0.1:0", Portal: "127.0.0.1:0",
		Admin: "127.0.0.1:0", Vault: vaultAddr, Capture: "127.0.0.1:0",
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { r.done <- devstack.Run(ctx, o, r.out, log) }()
	t.Cleanup(func() { r.stop(t) })

	envFile := filepath.Join(varDir, "dev.env")
	deadline := time.Now().Add(90 * time.Second)
	for {
		if b, err := os.ReadFile(envFile); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			r.env = parseEnv(string(b))
			return r
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("devstack.Run returned before writing dev.env: %v\n%s", err, vaultLog(varDir))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 90s\n%s", envFile, vaultLog(varDir))
		}
	}
}

// stop cancels Run and waits for it to return. It is safe to call twice.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("devstack.Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("devstack.Run did not return within 60s of its context ending")
	}
}

func vaultLog(varDir string) string {
	b, _ := os.ReadFile(filepath.Join(varDir, "vault", "vault.log"))
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return "vault.log:\n" + string(b)
}

func parseEnv(s string) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

// vaultProcesses lists the pids of processes running the Vault server
// config of varDir.
func vaultProcesses(t *testing.T, varDir string) []string {
	t.Helper()
	want := "-config=" + filepath.Join(varDir, "vault", "vault.hcl")
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		if bytes.Contains(b, []byte(want)) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}

func TestRunTwiceKeepsVaultState(t *testing.T) {
	varDir := filepath.Join(t.TempDir(), "var")
	vaultAddr := freePort(t)

	// First run: send a message to the demo recipient and open it with the
	// demo key, as the README tells a newcomer to.
	first := startStack(t, varDir, vaultAddr)
	env := first.env
	for _, k := range []string{"VAULT_ADDR", "VAULT_TOKEN", "SEALPOST_CONFIG", "SEALPOST_SMTP", "SEALPOST_LMTP",
		"SEALPOST_ADMIN_URL", "SEALPOST_OUTBOX", "SEALPOST_DEMO_KEY", "SEALPOST_DEMO_RCPT"} {
		if env[k] == "" {
			t.Errorf("dev.env lacks %s", k)
		}
	}
	if env["VAULT_ADDR"] != "http://"+vaultAddr || env["SEALPOST_DEMO_RCPT"] != "patient@example.net" {
		t.Errorf("dev.env: VAULT_ADDR=%s SEALPOST_DEMO_RCPT=%s", env["VAULT_ADDR"], env["SEALPOST_DEMO_RCPT"])
	}
	cfg, err := config.Load(env["SEALPOST_CONFIG"])
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	if cfg.Vault.Token != "" || cfg.Vault.TokenFile != filepath.Join(varDir, "vault", "relay.token") {
		t.Errorf("the node's config uses token %q, token_file %q; want only the relay token file", cfg.Vault.Token, cfg.Vault.TokenFile)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := keys.New(keys.Config{Address: env["VAULT_ADDR"], Token: env["VAULT_TOKEN"]})
	if err != nil {
		t.Fatal(err)
	}
	if isRoot, err := root.IsRootToken(ctx); err != nil || !isRoot {
		t.Errorf("dev.env's VAULT_TOKEN: root = %v, %v; want the root token", isRoot, err)
	}
	relayToken, err := os.ReadFile(filepath.Join(varDir, "vault", "relay.token"))
	if err != nil {
		t.Fatal(err)
	}
	relayKC, err := keys.New(keys.Config{Address: env["VAULT_ADDR"], Token: strings.TrimSpace(string(relayToken))})
	if err != nil {
		t.Fatal(err)
	}
	if isRoot, err := relayKC.IsRootToken(ctx); err != nil || isRoot {
		t.Errorf("var/vault/relay.token: root = %v, %v; the relay must not run with the root token", isRoot, err)
	}

	// The portal runs with its own token, not the relay's and not root.
	portalTokenFile := filepath.Join(varDir, "vault", "portal.token")
	if cfg.Portal.Vault.TokenFile != portalTokenFile || cfg.Portal.Vault.Token != "" {
		t.Errorf("the portal's config uses token_file %q, want %s", cfg.Portal.Vault.TokenFile, portalTokenFile)
	}
	portalToken, err := os.ReadFile(portalTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(portalToken)) == strings.TrimSpace(string(relayToken)) {
		t.Error("the portal and the relay share a token")
	}
	portalKC, err := keys.New(keys.Config{Address: env["VAULT_ADDR"], Token: strings.TrimSpace(string(portalToken))})
	if err != nil {
		t.Fatal(err)
	}
	if isRoot, err := portalKC.IsRootToken(ctx); err != nil || isRoot {
		t.Errorf("var/vault/portal.token: root = %v, %v; want the scoped portal token", isRoot, err)
	}
	// With its token the portal serves its pages (without one it answers
	// 503 to everything).
	if code, body := httpGet(t, "http://"+env["SEALPOST_PORTAL"]+"/"); code != http.StatusOK || !strings.Contains(body, "Sealpost Dev") {
		t.Errorf("portal GET / = %d, want the start page", code)
	}
	// SMS codes land in var/outbox/sms-*.json.
	smsBody := `{"to": "+447700900123", "text": "Your Sealpost code is 123456"}`
	resp, err := http.Post(cfg.Portal.SMS.WebhookURL, "application/json", strings.NewReader(smsBody))
	if err != nil {
		t.Fatalf("the dev SMS webhook: %v", err)
	}
	resp.Body.Close()
	smsFiles, _ := filepath.Glob(filepath.Join(env["SEALPOST_OUTBOX"], "sms-*.json"))
	if resp.StatusCode != http.StatusNoContent || len(smsFiles) != 1 {
		t.Fatalf("SMS webhook = %d, files %v; want one sms-*.json", resp.StatusCode, smsFiles)
	}
	if b, _ := os.ReadFile(smsFiles[0]); !bytes.Contains(b, []byte("Your Sealpost code is 123456")) || !bytes.Contains(b, []byte("+447700900123")) {
		t.Errorf("%s = %s", smsFiles[0], b)
	}

	msg := "From: doctor@example.org\r\nTo: patient@example.net\r\nSubject: [secure] Discharge summary\r\n" +
		"Date: Mon, 23 Nov 2026 09:00:00 +0000\r\nMessage-ID: <dev-1@example.org>\r\n\r\n" +
		"NHS number 943 476 5919. HbA1c 48 mmol/mol.\r\n"
	if err := testutil.SendMail(env["SEALPOST_SMTP"], "doctor@example.org", "patient@example.net", msg); err != nil {
		t.Fatalf("sending the first message: %v", err)
	}
	outbox, err := filepath.Glob(filepath.Join(env["SEALPOST_OUTBOX"], "*.eml"))
	if err != nil || len(outbox) != 1 {
		t.Fatalf("outbox holds %v (%v), want one .eml", outbox, err)
	}
	eml, err := os.ReadFile(outbox[0])
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(eml, []byte("943 476 5919")) || bytes.Contains(eml, []byte("Discharge")) {
		t.Fatal("the delivered copy holds plaintext content")
	}
	var sealed bytes.Buffer
	if found, err := seal.ExtractSealedAttachment(bytes.NewReader(eml), &sealed); err != nil || !found {
		t.Fatalf("ExtractSealedAttachment = %v, %v", found, err)
	}
	keyFile, err := os.Open(env["SEALPOST_DEMO_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(keyFile)
	keyFile.Close()
	if err != nil {
		t.Fatalf("the demo key does not parse: %v", err)
	}
	if got := decrypt(t, bytes.NewReader(sealed.Bytes()), ids...); got != msg {
		t.Errorf("the demo key opens:\n%q\nwant the message sent:\n%q", got, msg)
	}
	id := strings.TrimSuffix(filepath.Base(outbox[0]), ".eml")

	// Stop: Vault, the listeners and dev.env are gone.
	first.stop(t)
	// The banner (complete once Run returned) says where mailbox and SMS
	// codes land, and how to read the message in the portal.
	for _, want := range []string{"Mailbox codes", "sms-*.json", "sealpost message show", "/m/<id>"} {
		if !strings.Contains(first.out.String(), want) {
			t.Errorf("the banner does not mention %q", want)
		}
	}
	if pids := vaultProcesses(t, varDir); len(pids) > 0 {
		t.Errorf("the Vault server is still running after Run returned: pids %v", pids)
	}
	for _, addr := range []string{vaultAddr, env["SEALPOST_SMTP"], env["SEALPOST_LMTP"], strings.TrimPrefix(env["SEALPOST_ADMIN_URL"], "http://"), cfg.NextHop.Addr, env["SEALPOST_PORTAL"]} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Run returned", addr)
		}
	}
	if _, err := os.Stat(filepath.Join(varDir, "dev.env")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dev.env after stop: %v, want it removed", err)
	}

	// Second run on the same var: Vault's storage and unseal key persisted,
	// so the first message's wrapped secret still unwraps.
	second := startStack(t, varDir, vaultAddr)
	if second.env["VAULT_TOKEN"] != env["VAULT_TOKEN"] {
		t.Error("the second run has a different root token: Vault was initialised again")
	}
	root, err = keys.New(keys.Config{Address: second.env["VAULT_ADDR"], Token: second.env["VAULT_TOKEN"]})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(varDir, "sealpost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := st.GetMessage(ctx, id)
	if err != nil {
		t.Fatalf("the first run's message %s: %v", id, err)
	}
	secret, err := root.Unwrap(ctx, id, m.Wrapped)
	if err != nil {
		t.Fatalf("unwrapping the first run's secret through the restarted Vault: %v", err)
	}
	identity, err := age.ParseX25519Identity(string(secret))
	if err != nil {
		t.Fatalf("the unwrapped secret is not an age identity: %v", err)
	}
	ct, err := st.OpenCiphertext(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Close()
	if got := decrypt(t, ct, identity); got != msg {
		t.Errorf("the stored ciphertext opens to\n%q\nwant\n%q", got, msg)
	}
	// And the second run still works end to end.
	if err := testutil.SendMail(second.env["SEALPOST_SMTP"], "doctor@example.org", "patient@example.net", msg); err != nil {
		t.Errorf("sending through the second run: %v", err)
	}
	second.stop(t)
	if pids := vaultProcesses(t, varDir); len(pids) > 0 {
		t.Errorf("the Vault server is still running after the second run: pids %v", pids)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func decrypt(t *testing.T, r io.Reader, ids ...age.Identity) string {
	t.Helper()
	pr, err := age.Decrypt(r, ids...)
	if err != nil {
		t.Fatalf("age.Decrypt: %v", err)
	}
	b, err := io.ReadAll(pr)
	if err != nil {
		t.Fatalf("reading the plaintext: %v", err)
	}
	return string(b)
}
