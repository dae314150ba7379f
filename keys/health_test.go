package keys_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

func TestHealth(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	for name, c := range map[string]*keys.Client{"root": e.root, "relay": e.relay, "portal": e.portal, "admin": e.admin} {
		if err := c.Health(ctx); err != nil {
			t.Fatalf("%s Health: %v", name, err)
		}
	}
	bogus := e.srv.Client(t, "hvs.not-a-token")
	requireDenied(t, "Health with unknown token", bogus.Health(ctx))

	// A restarted dev server is empty: the old token is unknown until Setup
	// runs again.
	e.srv.Restart(t)
	requireDenied(t, "Health with token from before restart", e.relay.Health(ctx))
	creds := vaulttest.Setup(t, e.srv)
	if err := e.srv.Client(t, creds.RelayToken).Health(ctx); err != nil {
		t.Fatalf("Health after restart and setup: %v", err)
	}

	e.srv.Stop(t)
	err := e.relay.Health(ctx)
	if err == nil {
		t.Fatal("Health succeeded with vault stopped")
	}
	var ve *keys.VaultError
	if !errors.As(err, &ve) || ve.StatusCode != 0 || !ve.Temporary() {
		t.Fatalf("Health with vault stopped: got %v, want a temporary error with no HTTP status", err)
	}
	// Sealing fails closed too once the cached key is gone.
	if _, err := e.relay.RefreshWrapKey(ctx); err == nil {
		t.Fatal("RefreshWrapKey succeeded with vault stopped")
	}
	if _, err := e.relay.WrapTransit(ctx, "m1", []byte("s")); err == nil {
		t.Fatal("WrapTransit succeeded with vault stopped")
	}
}

// A token file (Vault Agent sink) is re-read when it changes.
func TestTokenFile(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	blob, err := e.relay.Wrap(ctx, "m1", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "token")
	write := func(tok string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	write(e.creds.RelayToken, now)
	c, err := keys.New(keys.Config{Address: e.srv.Addr, TokenFile: path})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Unwrap(ctx, "m1", blob)
	requireDenied(t, "unwrap with relay token from file", err)

	write(e.creds.PortalToken, now.Add(time.Second))
	got, err := c.Unwrap(ctx, "m1", blob)
	if err != nil || string(got) != "secret" {
		t.Fatalf("unwrap after the token file changed: %q, %v", got, err)
	}

	write("", now.Add(2*time.Second))
	if err := c.Health(ctx); err == nil {
		t.Fatal("Health succeeded with an empty token file")
	}
}

// CACert is honoured: with it the client verifies Vault's certificate,
// without it the connection is refused.
func TestCACert(t *testing.T) {
	srv := vaulttest.StartTLS(t)
	ctx := ctxT(t)
	creds := vaulttest.Setup(t, srv)
	c, err := keys.New(keys.Config{Address: srv.Addr, Token: creds.RelayToken, CACert: srv.CACert})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatalf("Health over TLS with the CA: %v", err)
	}
	if _, err := c.Wrap(ctx, "m1", []byte("secret")); err != nil {
		t.Fatalf("Wrap over TLS: %v", err)
	}
	noCA, err := keys.New(keys.Config{Address: srv.Addr, Token: creds.RelayToken})
	if err != nil {
		t.Fatal(err)
	}
	if err := noCA.Health(ctx); err == nil {
		t.Fatal("Health over TLS succeeded without the CA certificate")
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.New(keys.Config{Address: srv.Addr, Token: "t", CACert: notPEM}); err == nil {
		t.Fatal("New accepted a CA file with no certificates")
	}
}
