package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/sealpost/sealpost/gateway/seal"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// lifecycleStack is a real Vault and a config whose store holds messages
// sealed the way the relay seals them.
type lifecycleStack struct {
	vault   *vaulttest.Server
	creds   keys.Credentials
	cfgPath string
	dbPath  string
}

func newLifecycleStack(t *testing.T) *lifecycleStack {
	t.Helper()
	s := &lifecycleStack{vault: vaulttest.Start(t)} // before isolate: vaulttest finds bin/vault from the working directory
	dir := isolate(t)
	s.creds = vaulttest.Setup(t, s.vault)
	s.dbPath = filepath.Join(dir, "sealpost.db")
	s.cfgPath = write(t, filepath.Join(dir, "sealpost.yaml"),
		"vault: {address: '"+s.vault.Addr+"', token: '"+s.creds.RelayToken+"', timeout: 30s}\n"+
			"store: {path: '"+s.dbPath+"'}\nnext_hop: {addr: '127.0.0.1:25'}\nlog: {level: warn}\n")
	t.Setenv("SEALPOST_CONFIG", s.cfgPath)
	return s
}

// seal stores one sealed message as the relay would, and returns its id
// and original bytes.
func (s *lifecycleStack) seal(t *testing.T, retainUntil time.Time) (string, []byte) {
	t.Helper()
	ctx := context.Background()
	relay, err := keys.New(keys.Config{Address: s.vault.Addr, Token: s.creds.RelayToken, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	secret, own, err := seal.NewIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	id := seal.NewMessageID()
	original := []byte("From: dr@example.org\r\nTo: patient@example.net\r\nSubject: results\r\n\r\nHbA1c 48 mmol/mol " + id + "\r\n")
	var ct bytes.Buffer
	sum, size, err := seal.Encrypt(&ct, bytes.NewReader(original), []age.Recipient{own})
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := relay.Wrap(ctx, id, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(s.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := &store.Message{ID: id, Sender: "dr@example.org", Recipients: []string{"patient@example.net"}, Assurance: "oob",
		WrapVersion: 1, Wrapped: wrapped, CiphertextSize: size, CiphertextSHA256: sum, RetainUntil: retainUntil}
	if err := st.PutMessage(ctx, m, &ct); err != nil {
		t.Fatal(err)
	}
	return id, original
}

func (s *lifecycleStack) row(t *testing.T, id string) *store.Message {
	t.Helper()
	st, err := store.Open(s.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := st.GetMessage(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func expectRun(t *testing.T, code int, stdoutHas, stderrHas []string, args ...string) string {
	t.Helper()
	got, stdout, stderr := run(t, args...)
	if got != code {
		t.Fatalf("sealpost %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, stdout, stderr)
	}
	for _, s := range stdoutHas {
		if !strings.Contains(stdout, s) {
			t.Errorf("sealpost %s: stdout %q lacks %q", strings.Join(args, " "), stdout, s)
		}
	}
	for _, s := range stderrHas {
		if !strings.Contains(stderr, s) {
			t.Errorf("sealpost %s: stderr %q lacks %q", strings.Join(args, " "), stderr, s)
		}
	}
	return stdout
}

func TestKeysRotateRewrapMinVersion(t *testing.T) {
	s := newLifecycleStack(t)
	id, original := s.seal(t, time.Time{})

	t.Setenv("VAULT_TOKEN", s.creds.RelayToken)
	expectRun(t, 1, nil, []string{"403", "admin token"}, "keys", "rotate")
	t.Setenv("VAULT_TOKEN", s.creds.AdminToken)
	expectRun(t, 0, []string{"wrap key rotated to version 2", "keys rewrap"}, nil, "keys", "rotate")
	expectRun(t, 0, []string{"audit key rotated to version 2"}, nil, "keys", "rotate", "--audit-key")
	expectRun(t, 0, []string{"latest version 2", "below the latest version: 1"}, nil, "keys", "versions")

	// The minimum refuses while the message is below it.
	expectRun(t, 1, nil, []string{"refusing", "rewrap"}, "keys", "min-version", "2", "--grace", "0s")
	expectRun(t, 0, []string{"rewrap to version 2 done", "1 rewrapped", "0 failed"}, nil, "keys", "rewrap")
	// And while version 2 is younger than the grace period (10m by default).
	expectRun(t, 1, nil, []string{"too recent"}, "keys", "min-version", "2")
	expectRun(t, 0, []string{"min_decryption_version is now 2"}, nil, "keys", "min-version", "--grace", "0s", "2")
	expectRun(t, 2, nil, []string{"usage"}, "keys", "min-version", "two")

	// The old message opens by break-glass after all this.
	out := expectRun(t, 0, nil, nil, "message", "decrypt", id, "--break-glass", "--reason", "rotation check")
	if out != string(original) {
		t.Fatalf("break-glass after rotation wrote %q, want the original", out)
	}
	if w, err := keys.ParseWrapped(s.row(t, id).Wrapped); err != nil || w.KeyVersion != 2 {
		t.Fatalf("stored secret %+v, %v; want version 2", w, err)
	}
	audit := expectRun(t, 0, nil, nil, "audit", "export")
	for _, a := range []string{`"action":"key.rotate"`, `"action":"key.rewrap"`, `"action":"key.min-decryption-version"`, `"action":"break-glass"`} {
		if !strings.Contains(audit, a) {
			t.Errorf("audit export lacks %s:\n%s", a, audit)
		}
	}
}

func TestMessageRecallDecryptExpire(t *testing.T) {
	s := newLifecycleStack(t)
	id, original := s.seal(t, time.Time{})
	due, _ := s.seal(t, time.Now().Add(-time.Minute))
	out := filepath.Join(t.TempDir(), "opened.eml")

	t.Setenv("VAULT_TOKEN", s.creds.AdminToken)
	expectRun(t, 2, nil, []string{"--reason TEXT is required"}, "message", "decrypt", id, "--break-glass")
	expectRun(t, 2, nil, []string{"portal"}, "message", "decrypt", id, "--reason", "x")
	expectRun(t, 2, nil, []string{"usage"}, "message", "recall", id)

	for name, tok := range map[string]string{"relay": s.creds.RelayToken, "portal": s.creds.PortalToken} {
		t.Setenv("VAULT_TOKEN", tok)
		expectRun(t, 1, nil, []string{"vault refused break-glass access (HTTP 403 permission denied)", "sealpost-admin"},
			"message", "decrypt", id, "--break-glass", "--reason", "testing "+name)
		expectRun(t, 1, nil, []string{"not an admin token"}, "message", "recall", id, "--reason", "testing "+name)
	}

	t.Setenv("VAULT_TOKEN", s.creds.AdminToken)
	expectRun(t, 0, nil, []string{"wrote " + out}, "message", "decrypt", "--break-glass", "--reason", "clinical emergency", "-o", out, id)
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, original) {
		t.Fatalf("-o file: %v, same as the original: %v", err, bytes.Equal(got, original))
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("-o file mode: %v, %v; want 0600", fi.Mode(), err)
	}
	expectRun(t, 1, nil, []string{"exists"}, "message", "decrypt", id, "--break-glass", "--reason", "again", "-o", out)

	expectRun(t, 0, []string{"recalled " + id, "archive"}, nil, "message", "recall", id, "--reason", "sent to the wrong patient")
	m := s.row(t, id)
	if !m.Recalled() || m.Wrapped != nil || m.RecallReason != "sent to the wrong patient" || !strings.HasPrefix(m.RecalledBy, "admin:") {
		t.Fatalf("recalled row = %+v", m)
	}
	expectRun(t, 1, nil, []string{"already recalled"}, "message", "recall", id, "--reason", "twice")
	expectRun(t, 1, nil, []string{"was recalled"}, "message", "decrypt", id, "--break-glass", "--reason", "after recall")

	expectRun(t, 0, []string{"expired 1 message(s)"}, nil, "message", "expire")
	if m := s.row(t, due); !m.Recalled() || m.RecalledBy != "expiry" {
		t.Fatalf("due message after expire = %+v", m)
	}
	expectRun(t, 0, []string{"expired 0 message(s)"}, nil, "message", "expire")

	audit := expectRun(t, 0, nil, nil, "audit", "export")
	for _, a := range []string{`"action":"recall","message_id":"` + id, `"action":"expire","message_id":"` + due,
		`"reason":"clinical emergency"`, `"action":"break-glass-failed"`} {
		if !strings.Contains(audit, a) {
			t.Errorf("audit export lacks %s:\n%s", a, audit)
		}
	}
	if strings.Contains(audit, "HbA1c") {
		t.Error("the audit log holds message content")
	}
	expectRun(t, 0, []string{"rotate [--audit-key]", "recall ID --reason TEXT", "decrypt ID --break-glass"}, nil, "help")
}
