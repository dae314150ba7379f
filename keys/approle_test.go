package keys_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/testutil"

	"github.com/hashicorp/vault/api"

	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// writeSecret writes a secret id or token file, mode 0600.
func writeSecret(t testing.TB, path, v string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// appRoleClient returns a client that logs in as role with a secret id
// written to a file.
func appRoleClient(t testing.TB, srv *vaulttest.Server, ar keys.AppRoleCredentials, log *slog.Logger) *keys.Client {
	t.Helper()
	sidFile := filepath.Join(t.TempDir(), "secret-id")
	writeSecret(t, sidFile, ar.SecretID)
	c, err := keys.New(keys.Config{Address: srv.Addr, AppRoleID: ar.RoleID, AppRoleSecretIDFile: sidFile, Logger: log})
	if err != nil {
		t.Fatalf("New with AppRole: %v", err)
	}
	return c
}

func setupWith(t testing.TB, srv *vaulttest.Server, opt keys.SetupOptions) keys.Credentials {
	t.Helper()
	creds, err := keys.SetupWith(ctxT(t), srv.Client(t, srv.RootToken), opt)
	if err != nil {
		t.Fatalf("SetupWith: %v", err)
	}
	return creds
}

// Each role logs in with AppRole and gets exactly its policy, with a
// short, renewable token; least privilege holds for AppRole tokens too.
func TestAppRoleLogin(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := ctxT(t)
	creds := setupWith(t, srv, keys.SetupOptions{SecretIDs: true})
	admin := srv.Client(t, creds.AdminToken)
	blob, err := admin.Wrap(ctx, "m1", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		role      string
		canUnwrap bool
		canWrap   bool
	}{
		{"sealpost-relay", false, true},
		{"sealpost-portal", true, false},
		{"sealpost-admin", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			ar := creds.AppRoles[tt.role]
			if ar.RoleID == "" || ar.SecretID == "" {
				t.Fatalf("Setup returned no AppRole credentials for %s: %+v", tt.role, ar)
			}
			c := appRoleClient(t, srv, ar, nil)
			ti, err := c.TokenInfo(ctx)
			if err != nil {
				t.Fatalf("TokenInfo: %v", err)
			}
			if !slices.Equal(ti.Policies, []string{tt.role}) || ti.Meta["role_name"] != tt.role {
				t.Fatalf("AppRole token: policies %v, role_name %q; want only %s", ti.Policies, ti.Meta["role_name"], tt.role)
			}
			if !ti.Renewable || ti.TTL <= 0 || ti.TTL > keys.DefaultAppRoleTokenTTL {
				t.Fatalf("AppRole token: renewable %v, TTL %v; want renewable, at most %v", ti.Renewable, ti.TTL, keys.DefaultAppRoleTokenTTL)
			}
			got, err := c.Unwrap(ctx, "m1", blob)
			if tt.canUnwrap {
				if err != nil || string(got) != "secret" {
					t.Fatalf("Unwrap: %q, %v", got, err)
				}
			} else {
				requireDenied(t, "Unwrap", err)
				if errors.Is(err, keys.ErrInvalidToken) {
					t.Fatalf("a policy denial was taken for an invalid token: %v", err)
				}
			}
			_, err = c.Wrap(ctx, "m2", []byte("s"))
			if tt.canWrap != (err == nil) {
				t.Fatalf("Wrap: %v, want allowed=%v", err, tt.canWrap)
			}
			// A policy denial does not log in again.
			if ti2, err := c.TokenInfo(ctx); err != nil || ti2.Accessor != ti.Accessor {
				t.Fatalf("token changed after a policy denial: %v", err)
			}
		})
	}

	// A wrong secret id fails to log in, with a clear error and no secret.
	bad := keys.AppRoleCredentials{RoleID: creds.AppRoles["sealpost-relay"].RoleID, SecretID: "not-the-secret-id"}
	err = appRoleClient(t, srv, bad, nil).Health(ctx)
	if err == nil || !strings.Contains(err.Error(), "AppRole") || strings.Contains(err.Error(), "not-the-secret-id") {
		t.Fatalf("Health with a wrong secret id: %v", err)
	}
}

// A revoked or expired AppRole token never becomes an outage: the next
// request logs in again with the secret id and succeeds.
func TestAppRoleReloginAfterRevoke(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := ctxT(t)
	creds := setupWith(t, srv, keys.SetupOptions{SecretIDs: true})
	var logs testutil.SyncBuffer
	c := appRoleClient(t, srv, creds.AppRoles["sealpost-relay"], slog.New(slog.NewTextHandler(&logs, nil)))
	before, err := c.TokenInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root := srv.API(t)
	for i := range 3 {
		if err := root.Auth().Token().RevokeAccessor(before.Accessor); err != nil {
			t.Fatal(err)
		}
		// Directory, Health and Wrap's key read all meet the revoked token.
		if _, err := c.Directory(ctx, "gp@clinic.example"); err != nil {
			t.Fatalf("round %d: Directory after the token was revoked: %v", i, err)
		}
		if err := c.Health(ctx); err != nil {
			t.Fatalf("round %d: Health after a re-login: %v", i, err)
		}
		after, err := c.TokenInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after.Accessor == before.Accessor {
			t.Fatalf("round %d: still the revoked token", i)
		}
		before = after
	}
	if !strings.Contains(logs.String(), "logging in with AppRole again") {
		t.Fatalf("no re-login was logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), creds.AppRoles["sealpost-relay"].SecretID) || strings.Contains(logs.String(), "hvs.") {
		t.Fatal("a secret id or token reached the log")
	}

	// With the secret id destroyed too, the failure is reported, not hidden.
	sec, err := root.Logical().Write("auth/approle/role/sealpost-relay/secret-id/destroy",
		map[string]any{"secret_id": creds.AppRoles["sealpost-relay"].SecretID})
	if err != nil {
		t.Fatalf("destroy secret id: %v (%v)", err, sec)
	}
	if err := root.Auth().Token().RevokeAccessor(before.Accessor); err != nil {
		t.Fatal(err)
	}
	err = c.Health(ctx)
	if !errors.Is(err, keys.ErrInvalidToken) || !strings.Contains(err.Error(), "AppRole") {
		t.Fatalf("Health with a revoked token and a destroyed secret id: %v", err)
	}
}

// KeepAlive renews an AppRole token and logs in again before it reaches
// its maximum TTL, so requests never meet an expired token.
func TestKeepAliveAppRole(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := ctxT(t)
	creds := setupWith(t, srv, keys.SetupOptions{SecretIDs: true, AppRoleTokenTTL: 3 * time.Second, AppRoleTokenMaxTTL: 6 * time.Second})
	var logs testutil.SyncBuffer
	c := appRoleClient(t, srv, creds.AppRoles["sealpost-relay"], slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	first, err := c.TokenInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { c.KeepAlive(kctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	// Use the client past two maximum TTLs; the accessor must change at
	// least once, and never because a request met an invalid token.
	seen := map[string]bool{first.Accessor: true}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ti, err := c.TokenInfo(ctx)
		if err != nil {
			t.Fatalf("TokenInfo while KeepAlive runs: %v", err)
		}
		seen[ti.Accessor] = true
		time.Sleep(250 * time.Millisecond)
	}
	out := logs.String()
	if len(seen) < 2 || !strings.Contains(out, "maximum TTL: logging in with AppRole again") {
		t.Fatalf("KeepAlive did not log in again before the max TTL (%d tokens seen):\n%s", len(seen), out)
	}
	if !strings.Contains(out, "vault token renewed") {
		t.Fatalf("KeepAlive did not renew the token:\n%s", out)
	}
	if strings.Contains(out, "no longer valid") {
		t.Fatalf("a request met an expired token although KeepAlive ran:\n%s", out)
	}
}

// KeepAlive renews a plain token: a renewable token with a 3s TTL stays
// valid well past 3s, while an identical token left alone expires.
func TestKeepAliveToken(t *testing.T) {
	srv := vaulttest.Start(t)
	vaulttest.Setup(t, srv)
	ctx := ctxT(t)
	root := srv.API(t)
	mk := func() string {
		t.Helper()
		renewable := true
		s, err := root.Auth().Token().CreateOrphan(&api.TokenCreateRequest{
			Policies: []string{"sealpost-relay"}, NoDefaultPolicy: true, TTL: "3s", Renewable: &renewable,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s.Auth.ClientToken
	}
	kept, alone := srv.Client(t, mk()), srv.Client(t, mk())
	// The token from a file is kept alive the same way.
	tokFile := filepath.Join(t.TempDir(), "token")
	writeSecret(t, tokFile, mk())
	fromFile, err := keys.New(keys.Config{Address: srv.Addr, TokenFile: tokFile})
	if err != nil {
		t.Fatal(err)
	}
	kctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range []*keys.Client{kept, fromFile} {
		wg.Add(1)
		go func() { defer wg.Done(); c.KeepAlive(kctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })

	time.Sleep(8 * time.Second) // well past the 3s TTL
	for name, c := range map[string]*keys.Client{"literal token": kept, "token file": fromFile} {
		if err := c.Health(ctx); err != nil {
			t.Fatalf("%s kept alive: %v", name, err)
		}
	}
	if err := alone.Health(ctx); !errors.Is(err, keys.ErrInvalidToken) {
		t.Fatalf("token not kept alive: got %v, want it expired (invalid token)", err)
	}
}

// A token file with a revoked token fails until the file holds a valid
// token, which is picked up even when the modification time did not move.
func TestTokenFileRevoked(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	root := e.srv.API(t)
	renewable := true
	mk := func() string {
		s, err := root.Auth().Token().CreateOrphan(&api.TokenCreateRequest{
			Policies: []string{"sealpost-relay"}, NoDefaultPolicy: true, Period: "1h", Renewable: &renewable,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s.Auth.ClientToken
	}
	path := filepath.Join(t.TempDir(), "token")
	tok1, tok2 := mk(), mk()
	if len(tok1) != len(tok2) {
		t.Fatalf("tokens of different lengths (%d, %d); the test needs equal sizes", len(tok1), len(tok2))
	}
	writeSecret(t, path, tok1)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := keys.New(keys.Config{Address: e.srv.Addr, TokenFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	if err := root.Auth().Token().RevokeOrphan(tok1); err != nil {
		t.Fatal(err)
	}
	err = c.Health(ctx)
	if !errors.Is(err, keys.ErrInvalidToken) || !errors.Is(err, keys.ErrPermissionDenied) {
		t.Fatalf("Health with a revoked token in the file: got %v, want invalid token", err)
	}
	// Same size, same modification time: only the re-read forced by the
	// invalid token notices the new token.
	writeSecret(t, path, tok2)
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatalf("Health after the token file was replaced: %v", err)
	}
}

// Setup creates the AppRoles and the audit device once; run again it keeps
// role ids and devices, and only issues new secret ids. A portal unwrap is
// then on Vault's own record, with its path and the token's display name.
func TestSetupAppRolesAndAudit(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := ctxT(t)
	auditFile := filepath.Join(t.TempDir(), "audit.log")
	opt := keys.SetupOptions{AuditFile: auditFile, SecretIDs: true}
	c1 := setupWith(t, srv, opt)
	c2 := setupWith(t, srv, opt)
	if want := []string{"sealpost/ (file)"}; !slices.Equal(c1.AuditDevices, want) || !slices.Equal(c2.AuditDevices, want) {
		t.Fatalf("audit devices: first %v, second %v; want %v once", c1.AuditDevices, c2.AuditDevices, want)
	}
	for _, role := range []string{"sealpost-relay", "sealpost-portal", "sealpost-admin"} {
		a, b := c1.AppRoles[role], c2.AppRoles[role]
		if a.RoleID == "" || a.RoleID != b.RoleID {
			t.Fatalf("%s: role id %q then %q; want one stable id", role, a.RoleID, b.RoleID)
		}
		if a.SecretID == "" || b.SecretID == "" || a.SecretID == b.SecretID {
			t.Fatalf("%s: secret ids not issued fresh on each run", role)
		}
	}
	// Without SecretIDs, none is issued; without AuditFile, the existing
	// device is still reported.
	c3 := setupWith(t, srv, keys.SetupOptions{})
	if c3.AppRoles["sealpost-portal"].SecretID != "" || c3.AppRoles["sealpost-portal"].RoleID != c1.AppRoles["sealpost-portal"].RoleID {
		t.Fatalf("Setup without SecretIDs: %+v", c3.AppRoles["sealpost-portal"])
	}
	if !slices.Equal(c3.AuditDevices, c1.AuditDevices) {
		t.Fatalf("Setup without AuditFile reports %v", c3.AuditDevices)
	}
	// Both secret ids of the first run still log in.
	portal := appRoleClient(t, srv, c1.AppRoles["sealpost-portal"], nil)
	if err := portal.Health(ctx); err != nil {
		t.Fatalf("first run's secret id: %v", err)
	}

	// A relative path is refused; another file at the same device path too.
	if _, err := keys.SetupWith(ctx, srv.Client(t, srv.RootToken), keys.SetupOptions{AuditFile: "var/audit.log"}); err == nil {
		t.Fatal("SetupWith accepted a relative audit file")
	}
	other := filepath.Join(t.TempDir(), "other.log")
	if _, err := keys.SetupWith(ctx, srv.Client(t, srv.RootToken), keys.SetupOptions{AuditFile: other}); err == nil ||
		!strings.Contains(err.Error(), "writes elsewhere") {
		t.Fatalf("SetupWith with a second audit file: %v", err)
	}

	// The portal unwraps through Transit decrypt; Vault's audit device has it.
	blob, err := srv.Client(t, c1.RelayToken).Wrap(ctx, "m1", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		c           *keys.Client
		displayName string
	}{
		{"AppRole login", portal, "approle"},
		{"setup token", srv.Client(t, c1.PortalToken), "token-sealpost-portal"},
	} {
		if got, err := tc.c.Unwrap(ctx, "m1", blob); err != nil || string(got) != "secret" {
			t.Fatalf("%s: portal unwrap: %q, %v", tc.name, got, err)
		}
		if !auditHas(t, auditFile, "transit/decrypt/sealpost-wrap", tc.displayName) {
			t.Fatalf("%s: no audit entry for transit/decrypt/sealpost-wrap by %q in %s", tc.name, tc.displayName, auditFile)
		}
	}
	b, err := os.ReadFile(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(c1.PortalToken)) || bytes.Contains(b, []byte(c1.AppRoles["sealpost-portal"].SecretID)) {
		t.Fatal("the audit device recorded a token or secret id in the clear")
	}
}

// auditHas reports whether a response entry of the audit file records path
// for a token with displayName.
func auditHas(t *testing.T, file, path, displayName string) bool {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("audit file: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Type string `json:"type"`
			Auth struct {
				DisplayName string `json:"display_name"`
			} `json:"auth"`
			Request struct {
				Path string `json:"path"`
			} `json:"request"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if e.Type == "response" && e.Request.Path == path && e.Auth.DisplayName == displayName {
			return true
		}
	}
	return false
}

// Config validation names the conflicting auth settings.
func TestNewAuthConfig(t *testing.T) {
	dir := t.TempDir()
	sid := filepath.Join(dir, "sid")
	writeSecret(t, sid, "x")
	tests := []struct {
		name string
		cfg  keys.Config
		want string
	}{
		{"token and approle", keys.Config{Token: "t", AppRoleID: "r", AppRoleSecretIDFile: sid}, "exactly one of Token, TokenFile and AppRoleID"},
		{"token file and approle", keys.Config{TokenFile: sid, AppRoleID: "r", AppRoleSecretIDFile: sid}, "exactly one of Token, TokenFile and AppRoleID"},
		{"approle without secret id file", keys.Config{AppRoleID: "r"}, "AppRoleSecretIDFile"},
		{"secret id file without role", keys.Config{Token: "t", AppRoleSecretIDFile: sid}, "AppRoleSecretIDFile"},
		{"missing secret id file", keys.Config{AppRoleID: "r", AppRoleSecretIDFile: filepath.Join(dir, "none")}, "secret id"},
		{"bad approle mount", keys.Config{AppRoleID: "r", AppRoleSecretIDFile: sid, AppRoleMount: "a/../b"}, "AppRole mount"},
		{"bad failover address", keys.Config{Token: "t", FailoverAddresses: []string{"http://[::1"}}, "failover address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Address = "http://127.0.0.1:1"
			_, err := keys.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
