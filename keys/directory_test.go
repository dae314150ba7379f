package keys_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/sealpost/sealpost/keys"
)

const x25519A = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"

func TestDirectory(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	x25519B := mustX25519(t)
	hybrid := mustHybrid(t)
	sshEd := mustSSH(t, "ed25519") + " partner@clinic"

	// Unknown addresses have no recipients.
	if rs, err := e.relay.Directory(ctx, "nobody@nowhere.example"); err != nil || len(rs) != 0 {
		t.Fatalf("Directory(unknown) = %v, %v; want empty", rs, err)
	}

	adds := []struct{ key, recipient string }{
		{"Dr.Who@Clinic.Example", x25519A},
		{"dr.who@clinic.example", hybrid},
		{"@clinic.example", sshEd},
		{"@clinic.example", x25519B},
		{"@clinic.example", x25519A},       // also listed for the address: reported once
		{"dr.who@clinic.example", x25519A}, // idempotent
		{"  @clinic.example ", " " + x25519B + "\n"},
	}
	for _, a := range adds {
		if err := e.admin.AddRecipient(ctx, a.key, a.recipient); err != nil {
			t.Fatalf("AddRecipient(%s): %v", a.key, err)
		}
	}

	tests := []struct {
		address string
		want    []string
	}{
		{"DR.WHO@clinic.example", []string{x25519A, hybrid, sshEd, x25519B}},
		{"nurse@clinic.example", []string{sshEd, x25519B, x25519A}},
		{"dr.who@other.example", nil},
	}
	for _, tt := range tests {
		for name, c := range map[string]*keys.Client{"relay": e.relay, "portal": e.portal} {
			got, err := c.Directory(ctx, tt.address)
			if err != nil {
				t.Fatalf("%s Directory(%s): %v", name, tt.address, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("%s Directory(%s) = %v, want %v", name, tt.address, got, tt.want)
			}
			for _, r := range got {
				if _, err := keys.ParseRecipient(r); err != nil {
					t.Fatalf("directory returned an unparsable recipient: %v", err)
				}
			}
		}
	}

	all, err := e.admin.ListRecipients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || len(all["dr.who@clinic.example"]) != 2 || len(all["@clinic.example"]) != 3 {
		t.Fatalf("ListRecipients = %v", all)
	}

	// Remove, then removing again reports not found.
	if err := e.admin.RemoveRecipient(ctx, "@clinic.example", sshEd); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.RemoveRecipient(ctx, "@clinic.example", sshEd); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("second remove: got %v, want ErrNotFound", err)
	}
	for _, r := range []string{x25519A, hybrid} {
		if err := e.admin.RemoveRecipient(ctx, "DR.WHO@clinic.example", r); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := e.relay.Directory(ctx, "dr.who@clinic.example"); !slices.Equal(got, []string{x25519B, x25519A}) {
		t.Fatalf("after removals Directory = %v", got)
	}
	all, err = e.admin.ListRecipients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := all["dr.who@clinic.example"]; ok || len(all) != 1 {
		t.Fatalf("emptied entry still listed: %v", all)
	}

	// Bad input is refused before anything is written.
	bad := []struct{ key, recipient, wantErr string }{
		{"a@b.example", "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3290GG", "identity (a private key)"},
		{"a@b.example", "age1notvalid", "malformed"},
		{"a@b.example", "pgp:0xDEADBEEF", "unknown recipient type"},
		{"a@b.example", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "unsupported SSH key type"},
		{"a@b.example", "", "empty"},
		{"not-an-address", x25519A, "address"},
		{"a/b@c.example", x25519A, `contains '/'`},
		{"a@", x25519A, "invalid domain"},
		{"a@b..example", x25519A, "invalid domain"},
	}
	for _, b := range bad {
		err := e.admin.AddRecipient(ctx, b.key, b.recipient)
		if err == nil || !strings.Contains(err.Error(), b.wantErr) {
			t.Errorf("AddRecipient(%q, %q): got %v, want error containing %q", b.key, b.recipient, err, b.wantErr)
		}
		if strings.HasPrefix(b.recipient, "AGE-SECRET-KEY") && err != nil && strings.Contains(err.Error(), b.recipient) {
			t.Errorf("error echoes the private key")
		}
	}
	if all2, _ := e.admin.ListRecipients(ctx); len(all2) != len(all) {
		t.Fatalf("rejected input changed the directory: %v", all2)
	}
}

func mustX25519(t testing.TB) string {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String()
}

// mustSSH returns an authorized_keys line for a fresh key of the given kind.
func mustSSH(t testing.TB, kind string) string {
	t.Helper()
	var pub any
	switch kind {
	case "ed25519":
		p, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub = p
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub = &k.PublicKey
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
}

func mustHybrid(t testing.TB) string {
	t.Helper()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String()
}

// writePlugin puts a fake age-plugin-<name> on PATH. ParseRecipient only
// checks that the plugin is installed; it runs it when sealing.
func writePlugin(t *testing.T, name string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "age-plugin-"+name), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}
