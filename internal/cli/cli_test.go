package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/testutil"

	"filippo.io/age"
	"gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/internal/certs"
	"github.com/sealpost/sealpost/internal/cli"
	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/policy"
)

// isolate runs the test in an empty directory (so Main's var/dev.env is not
// the developer's) with none of the environment Main reads, restored after.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for _, k := range []string{"VAULT_ADDR", "VAULT_TOKEN", "SEALPOST_CONFIG"} {
		t.Setenv(k, "") // restores the old value after the test
		os.Unsetenv(k)  // unset, as loadDevEnv only fills unset variables
	}
	return dir
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCommandLine(t *testing.T) {
	dir := isolate(t)
	goodCfg := write(t, filepath.Join(dir, "good.yaml"),
		"vault: {address: 'http://127.0.0.1:8200', token_file: /run/token}\nnext_hop: {addr: '127.0.0.1:25'}\n")
	badCfg := write(t, filepath.Join(dir, "bad.yaml"),
		"relay: {smtp_listen: nowhere}\nvault: {address: 'http://127.0.0.1:8200', token_file: /t}\nnext_hop: {addr: '127.0.0.1:25'}\nlog: {level: loud}\n")
	unknownCfg := write(t, filepath.Join(dir, "unknown.yaml"), "colour: red\n")
	goodPolicy := write(t, filepath.Join(dir, "policy.yaml"), string(policy.DefaultYAML()))
	badPolicy := write(t, filepath.Join(dir, "bad-policy.yaml"),
		"version: 1\nrules:\n  - name: odd\n    when: { subject_tag: true }\n    action: explode\n")

	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings expected on stdout
		stderr     []string // substrings expected on stderr
		noStdout   bool
		notInError []string
	}{
		{name: "version", args: []string{"version"}, code: 0, stdout: []string{"sealpost " + cli.Version}},
		{name: "help", args: []string{"help"}, code: 0, stdout: []string{"sealpost serve", "sealpost keys recipient", "sealpost audit verify"}},
		{name: "no arguments", args: nil, code: 0, stdout: []string{"Usage:"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`, "Usage:"}, noStdout: true},
		{name: "config check good", args: []string{"config", "check", goodCfg}, code: 0, stdout: []string{"ok: " + goodCfg}},
		{name: "config check bad", args: []string{"config", "check", badCfg}, code: 1, stderr: []string{"relay.smtp_listen", `"nowhere"`, "log.level"}, noStdout: true},
		{name: "config check unknown field", args: []string{"config", "check", unknownCfg}, code: 1, stderr: []string{"colour"}, noStdout: true},
		{name: "config check missing file", args: []string{"config", "check", filepath.Join(dir, "nope.yaml")}, code: 1, stderr: []string{"nope.yaml"}},
		{name: "config without check", args: []string{"config", goodCfg}, code: 2, stderr: []string{"usage: sealpost config check FILE"}},
		{name: "policy lint good", args: []string{"policy", "lint", goodPolicy}, code: 0, stdout: []string{"ok: " + goodPolicy}},
		{name: "policy lint bad", args: []string{"policy", "lint", badPolicy}, code: 1, stderr: []string{"explode"}, noStdout: true},
		{name: "policy without lint", args: []string{"policy"}, code: 2, stderr: []string{"usage: sealpost policy lint FILE"}},
		{name: "serve without config", args: []string{"serve"}, code: 2, stderr: []string{"--config FILE is required"}},
		{name: "serve with bad config", args: []string{"serve", "--config", badCfg}, code: 1, stderr: []string{"relay.smtp_listen"}},
		{name: "serve unknown flag", args: []string{"serve", "--colour"}, code: 2, stderr: []string{"colour"}},
		{name: "keys without a token", args: []string{"keys", "recipient", "list"}, code: 2, stderr: []string{"VAULT_TOKEN"}},
		{name: "message without a config", args: []string{"message", "find"}, code: 2, stderr: []string{"SEALPOST_CONFIG"}},
		{name: "extract without a sealed part", args: []string{"extract", goodCfg}, code: 1, stderr: []string{"no message.eml.age attachment"}, noStdout: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout %q lacks %q", stdout, s)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q lacks %q", stderr, s)
				}
			}
			if tc.noStdout && stdout != "" {
				t.Errorf("stdout %q, want nothing on failure", stdout)
			}
		})
	}
}

// TestDevEnv checks that Main picks up var/dev.env from the working directory
// and that variables already set win over it.
func TestDevEnv(t *testing.T) {
	dir := isolate(t)
	cfg := write(t, filepath.Join(dir, "from-dev-env.yaml"), "colour: red\n")
	write(t, filepath.Join(dir, "var", "dev.env"), "# written by sealpost dev\nSEALPOST_CONFIG="+cfg+"\n")
	// message find reads SEALPOST_CONFIG: the file named only in dev.env.
	code, _, stderr := run(t, "message", "find")
	if code != 1 || !strings.Contains(stderr, "colour") {
		t.Errorf("message find with var/dev.env = %d %q, want the config named there (unknown field colour)", code, stderr)
	}
	// An explicit setting wins over dev.env.
	other := write(t, filepath.Join(dir, "explicit.yaml"), "flavour: sour\n")
	t.Setenv("SEALPOST_CONFIG", other)
	code, _, stderr = run(t, "message", "find")
	if code != 1 || !strings.Contains(stderr, "flavour") {
		t.Errorf("message find with SEALPOST_CONFIG set = %d %q, want the explicit config", code, stderr)
	}
}

func TestKeysRecipient(t *testing.T) {
	v := vaulttest.Start(t) // before isolate: it finds bin/vault from the working directory
	isolate(t)
	creds := vaulttest.Setup(t, v)
	t.Setenv("VAULT_ADDR", v.Addr)
	t.Setenv("VAULT_TOKEN", creds.AdminToken)

	list := func() string {
		t.Helper()
		code, stdout, stderr := run(t, "keys", "recipient", "list")
		if code != 0 {
			t.Fatalf("keys recipient list: exit %d: %s", code, stderr)
		}
		return stdout
	}
	newRecipient := func() string {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		return id.Recipient().String()
	}
	alice, partner, bob, carol := newRecipient(), newRecipient(), newRecipient(), newRecipient()

	t.Run("bad key is refused and nothing is written", func(t *testing.T) {
		for _, bad := range []string{"age1notarealkey", "ssh-rsa AAAA", "", alice + "x"} {
			code, stdout, stderr := run(t, "keys", "recipient", "add", "patient@example.net", bad)
			if code != 1 || stdout != "" {
				t.Errorf("add %q: exit %d stdout %q, want 1 and nothing", bad, code, stdout)
			}
			if !strings.Contains(strings.ToLower(stderr), "recipient") {
				t.Errorf("add %q: message %q does not say what is wrong", bad, stderr)
			}
		}
		if got := list(); got != "" {
			t.Errorf("after refused adds the directory lists %q", got)
		}
	})

	t.Run("add, list, remove", func(t *testing.T) {
		if code, stdout, stderr := run(t, "keys", "recipient", "add", "Patient@Example.NET", alice); code != 0 || !strings.Contains(stdout, "patient@example.net") {
			t.Fatalf("add: exit %d %q %q", code, stdout, stderr)
		}
		if code, _, stderr := run(t, "keys", "recipient", "add", "@Partner.Example", partner); code != 0 {
			t.Fatalf("add domain: exit %d %q", code, stderr)
		}
		got := list()
		for _, want := range []string{"patient@example.net\t" + alice + "\n", "@partner.example\t" + partner + "\n"} {
			if !strings.Contains(got, want) {
				t.Errorf("list = %q, lacks %q", got, want)
			}
		}
		if code, _, stderr := run(t, "keys", "recipient", "remove", "patient@example.net", alice); code != 0 {
			t.Fatalf("remove: exit %d %q", code, stderr)
		}
		if got := list(); strings.Contains(got, alice) || !strings.Contains(got, partner) {
			t.Errorf("after remove, list = %q", got)
		}
		if code, _, stderr := run(t, "keys", "recipient", "add", "patient@example.net"); code != 2 || !strings.Contains(stderr, "usage") {
			t.Errorf("add with one argument: exit %d %q, want 2 and usage", code, stderr)
		}
	})

	t.Run("import is all or nothing", func(t *testing.T) {
		before := list()
		bad := write(t, filepath.Join(t.TempDir(), "bad.csv"),
			"# address,recipient\nbob@example.net,"+bob+"\ncarol@example.net,age1broken\n")
		code, stdout, stderr := run(t, "keys", "recipient", "import", bad)
		if code != 1 || !strings.Contains(stderr, "row 2") || !strings.Contains(stderr, "nothing was imported") {
			t.Errorf("import with a bad row: exit %d %q %q, want 1 naming row 2", code, stdout, stderr)
		}
		if got := list(); got != before {
			t.Errorf("a refused import changed the directory: %q → %q", before, got)
		}
		good := write(t, filepath.Join(t.TempDir(), "good.csv"),
			"bob@example.net,"+bob+"\n Carol@Example.net , "+carol+" \n")
		code, stdout, stderr = run(t, "keys", "recipient", "import", good)
		if code != 0 || !strings.Contains(stdout, "imported 2 recipients") {
			t.Fatalf("import: exit %d %q %q", code, stdout, stderr)
		}
		got := list()
		for _, want := range []string{"bob@example.net\t" + bob, "carol@example.net\t" + carol} {
			if !strings.Contains(got, want) {
				t.Errorf("after import, list = %q, lacks %q", got, want)
			}
		}
	})

	t.Run("the relay token cannot edit the directory", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", creds.RelayToken)
		code, _, stderr := run(t, "keys", "recipient", "add", "eve@example.net", newRecipient())
		if code != 1 || !strings.Contains(stderr, "permission denied") {
			t.Errorf("add with the relay token: exit %d %q, want 1, permission denied", code, stderr)
		}
	})
}

// stack is a real Vault and a capture next hop, and a config file for a node
// using them with the relay's token.
type stack struct {
	vault   *vaulttest.Server
	creds   struct{ relay, admin string }
	capture *capture.Server
	cfg     *config.Config
	cfgPath string
}

func newStack(t *testing.T, dir string) *stack {
	t.Helper()
	s := &stack{vault: vaulttest.Start(t)}
	creds := vaulttest.Setup(t, s.vault)
	s.creds.relay, s.creds.admin = creds.RelayToken, creds.AdminToken
	tlsPaths, err := certs.Generate(filepath.Join(dir, "hop-tls"), "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	s.capture, err = capture.Start(capture.Config{
		Dir: filepath.Join(dir, "outbox"), TLSCert: tlsPaths.Cert, TLSKey: tlsPaths.Key, RequireTLS: true,
		KeepInMemory: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.capture.Close() })
	s.cfg = &config.Config{
		Hostname: "relay.test",
		Relay:    config.Relay{SMTPListen: "127.0.0.1:0", LMTPListen: "off", AllowNetworks: []string{"127.0.0.0/8"}},
		Portal:   config.Portal{Listen: "127.0.0.1:0"},
		Admin:    config.Admin{Listen: "127.0.0.1:0"},
		Vault:    config.Vault{Address: s.vault.Addr, Token: s.creds.relay},
		Store:    config.Store{Path: filepath.Join(dir, "sealpost.db")},
		Audit:    config.Audit{CheckpointPath: filepath.Join(dir, "audit.checkpoint"), CheckpointEvery: time.Second},
		NextHop:  config.NextHop{Addr: s.capture.Addr(), ServerName: "localhost", CAFile: tlsPaths.CA},
		Log:      config.Log{Level: "info"},
	}
	s.cfgPath = filepath.Join(dir, "sealpost.yaml")
	s.writeConfig(t)
	return s
}

func (s *stack) writeConfig(t *testing.T) {
	t.Helper()
	b, err := yaml.Marshal(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	write(t, s.cfgPath, string(b))
}

func TestServeRefusesRootToken(t *testing.T) {
	s := newStack(t, t.TempDir()) // before isolate: vaulttest finds bin/vault from the working directory
	isolate(t)
	s.cfg.Vault.Token = s.vault.RootToken
	s.writeConfig(t)
	code, _, stderr := run(t, "serve", "--config", s.cfgPath)
	if code != 1 || !strings.Contains(stderr, "root token") {
		t.Errorf("serve with the root token: exit %d %q, want 1 and a message about the root token", code, stderr)
	}
	if _, err := os.Stat(s.cfg.Store.Path); err == nil {
		t.Error("serve opened the store before refusing the root token")
	}
	// The same refusal when the root token comes from VAULT_TOKEN.
	s.cfg.Vault.Token = ""
	s.writeConfig(t)
	t.Setenv("VAULT_TOKEN", s.vault.RootToken)
	if code, _, stderr := run(t, "serve", "--config", s.cfgPath); code != 1 || !strings.Contains(stderr, "root token") {
		t.Errorf("serve with VAULT_TOKEN=root: exit %d %q", code, stderr)
	}
}

// TestServeMessageAudit runs `sealpost serve` with the relay's token, sends
// it a message to seal, stops it with SIGINT, and then reads what it stored
// with `message find|show` and `audit verify|export`.
func TestServeMessageAudit(t *testing.T) {
	s := newStack(t, t.TempDir()) // before isolate: vaulttest finds bin/vault from the working directory
	isolate(t)

	var stdout, stderr testutil.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- cli.Main([]string{"serve", "--config", s.cfgPath}, &stdout, &stderr) }()
	smtpAddr := waitFor(t, &stderr, done, regexp.MustCompile(`msg="sealpost node started" smtp=(\S+)`))

	const secret = "NHS number 943 476 5919. HbA1c 48 mmol/mol."
	msg := "From: doctor@example.org\r\nTo: patient@example.net\r\nSubject: [secure] Discharge summary\r\n" +
		"Message-ID: <cli-test@example.org>\r\n\r\n" + secret + "\r\n"
	if err := testutil.SendMail(smtpAddr, "doctor@example.org", "patient@example.net", msg); err != nil {
		t.Fatalf("sending to the served relay: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ds, err := s.capture.WaitDeliveries(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	id := ds[0].ID
	if strings.Contains(string(ds[0].Data), secret) {
		t.Fatal("the delivered copy holds the plaintext: it was not sealed")
	}
	// Let the checkpointer (every 1s) sign the head before stopping.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(s.cfg.Audit.CheckpointPath); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no audit checkpoint written within 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// SIGINT reaches serve's signal.NotifyContext, registered before it ran;
	// make sure serve is still running, or the signal would end the test.
	select {
	case code := <-done:
		t.Fatalf("serve exited %d before SIGINT: %s", code, stderr.String())
	default:
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d after SIGINT: %s", code, stderr.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop after SIGINT")
	}
	if strings.Contains(stderr.String(), "patient@example.net") || strings.Contains(stderr.String(), "943 476") {
		t.Errorf("serve's log holds an address or content:\n%s", stderr.String())
	}

	t.Setenv("SEALPOST_CONFIG", s.cfgPath)
	t.Setenv("VAULT_TOKEN", s.creds.admin)

	t.Run("message find", func(t *testing.T) {
		code, out, errs := run(t, "message", "find", "--since", "1h")
		if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "doctor@example.org") || !strings.Contains(out, "1 recipients") {
			t.Errorf("message find: exit %d %q %q, want the message %s", code, out, errs, id)
		}
		code, out, _ = run(t, "message", "find", "--from", "someone-else@example.org")
		if code != 0 || strings.Contains(out, id) {
			t.Errorf("message find --from another sender: exit %d %q", code, out)
		}
	})

	t.Run("message show", func(t *testing.T) {
		code, out, errs := run(t, "message", "show", id)
		if code != 0 {
			t.Fatalf("message show: exit %d %q", code, errs)
		}
		var m struct {
			ID         string   `json:"id"`
			Sender     string   `json:"sender"`
			Recipients []string `json:"recipients"`
			Bytes      int64    `json:"ciphertext_bytes"`
			Decision   any      `json:"decision"`
		}
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("message show is not JSON: %v\n%s", err, out)
		}
		if m.ID != id || m.Sender != "doctor@example.org" || len(m.Recipients) != 1 || m.Bytes <= int64(len(secret)) || m.Decision == nil {
			t.Errorf("message show = %+v", m)
		}
		if strings.Contains(out, "943 476") || strings.Contains(out, "HbA1c") || strings.Contains(out, "Discharge") {
			t.Errorf("message show reveals content:\n%s", out)
		}
		if code, _, errs := run(t, "message", "show", "no-such-message"); code != 1 || !strings.Contains(errs, "not found") {
			t.Errorf("message show of an unknown id: exit %d %q", code, errs)
		}
	})

	t.Run("audit export", func(t *testing.T) {
		code, out, errs := run(t, "audit", "export")
		if code != 0 {
			t.Fatalf("audit export: exit %d %q", code, errs)
		}
		var sealed bool
		for line := range strings.Lines(out) {
			var e struct {
				Action    string `json:"action"`
				MessageID string `json:"message_id"`
			}
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("export line is not JSON: %q", line)
			}
			if e.Action == "seal" && e.MessageID == id {
				sealed = true
			}
		}
		if !sealed {
			t.Errorf("audit export has no seal entry for %s:\n%s", id, out)
		}
		if strings.Contains(out, "patient@example.net") || strings.Contains(out, "943 476") {
			t.Errorf("the audit log holds an address or content:\n%s", out)
		}
	})

	t.Run("audit verify", func(t *testing.T) {
		code, out, errs := run(t, "audit", "verify")
		if code != 0 || !regexp.MustCompile(`^ok: \d+ entries, head \d+, checkpoint at entry \d+ verified\n$`).MatchString(out) {
			t.Fatalf("audit verify: exit %d %q %q", code, out, errs)
		}
		// Rewrite the first entry behind the log's back.
		db, err := sql.Open("sqlite", s.cfg.Store.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range []string{"DROP TRIGGER audit_no_update", "UPDATE audit SET actor = 'someone-else' WHERE seq = 1"} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		code, out, errs = run(t, "audit", "verify")
		if code != 1 || !strings.Contains(out, "entry 1:") || !strings.Contains(errs, "does not verify") {
			t.Errorf("audit verify of a tampered log: exit %d %q %q, want 1 naming entry 1", code, out, errs)
		}
	})
}

// waitFor waits until re matches what Main has written to w, and returns the
// first group. It fails if Main returns first.
func waitFor(t *testing.T, w *testutil.SyncBuffer, done chan int, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := re.FindStringSubmatch(w.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d early: %s", code, w.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start within 60s: %s", w.String())
		}
	}
}
