package vaulttest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// StartPersistent runs a Vault server that keeps its data in file storage
// under the test's temporary directory, initialised with a single unseal
// key (Server.UnsealKey) and unsealed, for the rest of the test. Unlike a
// dev server it can be sealed ([Server.Seal]) and unsealed
// ([Server.Unseal]), and [Server.Restart] brings it back with its data,
// tokens included.
func StartPersistent(t testing.TB) *Server {
	t.Helper()
	s := newConfigServer(t, "")
	data := filepath.Join(s.dir, "data")
	var lastErr error
	for range 3 { // a free port can be taken by someone else before Vault binds it
		listen, err := freePort()
		if err != nil {
			t.Fatalf("failed to find a free port: %v", err)
		}
		s.listen = listen
		s.hcl = fmt.Sprintf(`
storage "file" {
  path = %q
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
api_addr      = "http://%s"
disable_mlock = true
`, data, listen, listen)
		if lastErr = s.start(); lastErr == nil {
			break
		}
		s.Stop(t)
	}
	if lastErr != nil {
		s.dumpLog(t)
		t.Fatalf("failed to start vault with file storage (%s): %v", s.bin, lastErr)
	}
	s.initialise(t)
	s.Unseal(t)
	return s
}

// newConfigServer prepares a Server that runs from an HCL configuration.
func newConfigServer(t testing.TB, dir string) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	s := &Server{bin: bin, dir: dir}
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() {
			s.dumpLog(t)
		}
	})
	return s
}

// API returns a Vault API client for the server with its root token,
// untouched by VAULT_* environment variables.
func (s *Server) API(t testing.TB) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: s.Addr, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("failed to create vault api client: %v", err)
	}
	c.ClearNamespace()
	c.SetToken(s.RootToken)
	return c
}

// initialise runs `vault operator init` with one key share.
func (s *Server) initialise(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	resp, err := s.API(t).Sys().InitWithContext(ctx, &api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("failed to initialise vault: %v", err)
	}
	s.RootToken, s.UnsealKey = resp.RootToken, resp.KeysB64[0]
}

// Seal seals the server (`vault operator seal`) and waits until it says so.
func (s *Server) Seal(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := s.API(t).Sys().SealWithContext(ctx); err != nil {
		t.Fatalf("failed to seal vault: %v", err)
	}
	s.waitHealth(t, func(h *api.HealthResponse) bool { return h.Sealed }, "sealed")
}

// Unseal unseals the server with UnsealKey and waits until it is active
// (or, in a cluster, an unsealed standby).
func (s *Server) Unseal(t testing.TB) {
	t.Helper()
	if s.UnsealKey == "" {
		t.Fatal("vaulttest: Unseal needs a server from StartPersistent or StartCluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, err := s.API(t).Sys().UnsealWithContext(ctx, s.UnsealKey); err != nil {
		t.Fatalf("failed to unseal vault: %v", err)
	}
	s.waitHealth(t, func(h *api.HealthResponse) bool { return h.Initialized && !h.Sealed }, "unsealed")
	if !s.standby {
		s.waitHealth(t, func(h *api.HealthResponse) bool { return !h.Standby }, "active")
	}
}

// waitHealth polls the server's health until ok holds.
func (s *Server) waitHealth(t testing.TB, ok func(*api.HealthResponse) bool, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	c := s.API(t)
	var lastErr error
	for {
		h, err := c.Sys().HealthWithContext(ctx)
		if err == nil && ok(h) {
			return
		}
		lastErr = err
		select {
		case <-ctx.Done():
			t.Fatalf("vault at %s did not become %s within %v (last error: %v)", s.Addr, what, readyTimeout, lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
