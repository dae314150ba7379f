package keys_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

func rootAPI(t *testing.T, srv *vaulttest.Server) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(srv.RootToken)
	return c
}

func keyState(t *testing.T, c *api.Client, name string) (latest any, public string) {
	t.Helper()
	s, err := c.Logical().Read("transit/keys/" + name)
	if err != nil || s == nil {
		t.Fatalf("read key %s: %v", name, err)
	}
	keysMap := s.Data["keys"].(map[string]any)
	return s.Data["latest_version"], keysMap["1"].(map[string]any)["public_key"].(string)
}

func TestSetupIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	rc := rootAPI(t, e.srv)

	wrapV, wrapPub := keyState(t, rc, "sealpost-wrap")
	auditV, auditPub := keyState(t, rc, "sealpost-audit")
	mac1, err := e.relay.MACKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := e.relay.Wrap(ctx, "m1", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := e.relay.Sign(ctx, []byte("checkpoint"))
	if err != nil {
		t.Fatal(err)
	}

	creds2, err := keys.Setup(ctx, e.root)
	if err != nil {
		t.Fatalf("second Setup: %v", err)
	}

	if v, p := keyState(t, rc, "sealpost-wrap"); v != wrapV || p != wrapPub {
		t.Fatalf("wrap key changed by second Setup: version %v→%v", wrapV, v)
	}
	if v, p := keyState(t, rc, "sealpost-audit"); v != auditV || p != auditPub {
		t.Fatalf("audit key changed by second Setup: version %v→%v", auditV, v)
	}
	if creds2.RelayToken == e.creds.RelayToken || creds2.PortalToken == e.creds.PortalToken {
		t.Fatal("second Setup returned the same tokens")
	}
	relay2 := e.srv.Client(t, creds2.RelayToken)
	mac2, err := relay2.MACKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mac1, mac2) || len(mac1) != 32 {
		t.Fatal("MAC key changed by second Setup or is not 32 bytes")
	}
	// Old and new tokens both work, and what was made before still opens.
	for _, c := range []*keys.Client{e.portal, e.srv.Client(t, creds2.PortalToken)} {
		if got, err := c.Unwrap(ctx, "m1", blob); err != nil || string(got) != "secret" {
			t.Fatalf("unwrap after second Setup: %q, %v", got, err)
		}
		if err := c.Verify(ctx, []byte("checkpoint"), sig); err != nil {
			t.Fatalf("verify after second Setup: %v", err)
		}
	}

	// Scoped tokens cannot run Setup.
	if _, err := keys.Setup(ctx, e.admin); !errors.Is(err, keys.ErrPermissionDenied) {
		t.Fatalf("Setup with admin token: got %v, want permission denied", err)
	}
}

func TestSetupRefusesWrongKeyTypes(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := ctxT(t)
	rc := rootAPI(t, srv)
	if err := rc.Sys().Mount("transit", &api.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Logical().Write("transit/keys/aes-wrap", map[string]any{"type": "aes256-gcm96"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Logical().Write("transit/keys/export-wrap", map[string]any{"type": "rsa-4096", "exportable": true}); err != nil {
		t.Fatal(err)
	}
	if err := rc.Sys().Mount("kv1", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     keys.Config
		wantErr string
	}{
		{"symmetric wrap key", keys.Config{WrapKey: "aes-wrap"}, `type "aes256-gcm96"`},
		{"exportable wrap key", keys.Config{WrapKey: "export-wrap"}, "exportable"},
		{"KV version 1 mount", keys.Config{KVMount: "kv1"}, "want kv version 2"},
		{"audit key of wrong type", keys.Config{AuditKey: "aes-wrap", WrapKey: "w2"}, `type "aes256-gcm96"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Address, cfg.Token = srv.Addr, srv.RootToken
			c, err := keys.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = keys.Setup(ctx, c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Setup: got %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// Custom mount and key names are honoured, and the installed policies are
// rewritten to match: the relay can still wrap but not unwrap.
func TestSetupCustomNames(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := ctxT(t)
	cfg := func(token string) keys.Config {
		return keys.Config{Address: srv.Addr, Token: token, TransitMount: "pki/transit", KVMount: "mail-kv",
			WrapKey: "w", AuditKey: "a"}
	}
	root, err := keys.New(cfg(srv.RootToken))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := keys.Setup(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	relay, _ := keys.New(cfg(creds.RelayToken))
	portal, _ := keys.New(cfg(creds.PortalToken))
	admin, _ := keys.New(cfg(creds.AdminToken))

	blob, err := relay.Wrap(ctx, "m1", []byte("secret"))
	if err != nil {
		t.Fatalf("relay wrap: %v", err)
	}
	_, err = relay.Unwrap(ctx, "m1", blob)
	requireDenied(t, "relay unwrap", err)
	if got, err := portal.Unwrap(ctx, "m1", blob); err != nil || string(got) != "secret" {
		t.Fatalf("portal unwrap: %q, %v", got, err)
	}
	if err := admin.AddRecipient(ctx, "a@b.example", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"); err != nil {
		t.Fatalf("admin add recipient: %v", err)
	}
	if rs, err := relay.Directory(ctx, "A@B.example"); err != nil || len(rs) != 1 {
		t.Fatalf("relay directory: %v, %v", rs, err)
	}
	if _, err := relay.MACKey(ctx); err != nil {
		t.Fatalf("relay MAC key: %v", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  keys.Config
	}{
		{"no address", keys.Config{Token: "t"}},
		{"no token", keys.Config{Address: "http://127.0.0.1:1"}},
		{"two tokens", keys.Config{Address: "http://127.0.0.1:1", Token: "t", TokenFile: "/x"}},
		{"quote in key name", keys.Config{Address: "http://127.0.0.1:1", Token: "t", WrapKey: `w"`}},
		{"glob in mount", keys.Config{Address: "http://127.0.0.1:1", Token: "t", KVMount: "kv/*"}},
		{"dotdot mount", keys.Config{Address: "http://127.0.0.1:1", Token: "t", KVMount: "a/../b"}},
		{"same keys", keys.Config{Address: "http://127.0.0.1:1", Token: "t", WrapKey: "k", AuditKey: "k"}},
		{"same mounts", keys.Config{Address: "http://127.0.0.1:1", Token: "t", TransitMount: "m", KVMount: "m"}},
		{"missing token file", keys.Config{Address: "http://127.0.0.1:1", TokenFile: "/nonexistent/token"}},
		{"missing CA file", keys.Config{Address: "https://127.0.0.1:1", Token: "t", CACert: "/nonexistent/ca.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := keys.New(tt.cfg); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
	if _, err := keys.New(keys.Config{Address: "http://127.0.0.1:1", Token: "t"}); err != nil {
		t.Fatalf("New rejected a minimal config: %v", err)
	}
}
