package vaulttest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealpost/sealpost/keys"
)

func TestBinaryFromEnv(t *testing.T) {
	t.Setenv("SEALPOST_VAULT_BIN", filepath.Join(t.TempDir(), "missing-vault"))
	if _, err := Binary(); err == nil || !strings.Contains(err.Error(), "SEALPOST_VAULT_BIN") {
		t.Fatalf("Binary with a missing SEALPOST_VAULT_BIN: got %v", err)
	}
	exe := filepath.Join(t.TempDir(), "vault")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SEALPOST_VAULT_BIN", exe)
	if got, err := Binary(); err != nil || got != exe {
		t.Fatalf("Binary = %q, %v; want %q", got, err, exe)
	}
}

func TestStartRestartStop(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.Addr, "http://127.0.0.1:") || s.RootToken == "" {
		t.Fatalf("Start returned %+v", s)
	}
	// The dev server stores its root token with the token helper; it must
	// land under the temporary HOME, not in the developer's ~/.vault-token.
	if b, err := os.ReadFile(filepath.Join(s.dir, "home", ".vault-token")); err != nil || string(b) != s.RootToken {
		t.Fatalf("token helper file under the temporary HOME: %q, %v", b, err)
	}
	creds := Setup(t, s)
	ctx := context.Background()
	if err := s.Client(t, creds.RelayToken).Health(ctx); err != nil {
		t.Fatalf("Health after Setup: %v", err)
	}

	addr := s.Addr
	s.Restart(t)
	if s.Addr != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr)
	}
	if err := s.Client(t, creds.RelayToken).Health(ctx); !errors.Is(err, keys.ErrPermissionDenied) {
		t.Fatalf("old token after Restart: got %v, want permission denied (fresh in-memory vault)", err)
	}
	if err := s.Client(t, s.RootToken).Health(ctx); err != nil {
		t.Fatalf("root token after Restart: %v", err)
	}

	s.Stop(t)
	s.Stop(t) // idempotent
	if resp, err := http.Get(addr + "/v1/sys/health"); err == nil {
		resp.Body.Close()
		t.Fatal("server still answers after Stop")
	}
}

// A persistent server keeps its data across a restart and can be sealed
// and unsealed; its tokens stay valid throughout.
func TestPersistentSealRestart(t *testing.T) {
	s := StartPersistent(t)
	if s.UnsealKey == "" || s.RootToken == "" {
		t.Fatalf("StartPersistent returned no keys: %+v", s)
	}
	creds := Setup(t, s)
	ctx := context.Background()
	relay := s.Client(t, creds.RelayToken)
	if err := relay.Health(ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}
	s.Seal(t)
	if err := relay.Health(ctx); !errors.Is(err, keys.ErrSealed) {
		t.Fatalf("Health of a sealed vault: got %v, want ErrSealed", err)
	}
	s.Unseal(t)
	if err := relay.Health(ctx); err != nil {
		t.Fatalf("Health after unseal: %v", err)
	}
	addr := s.Addr
	s.Restart(t)
	if s.Addr != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr)
	}
	if err := relay.Health(ctx); err != nil {
		t.Fatalf("Health with the old token after a restart of persistent storage: %v", err)
	}
}

// A cluster elects a new active node when the active one is killed.
func TestClusterFailover(t *testing.T) {
	c := StartCluster(t, 3)
	if len(c.Addrs()) != 3 {
		t.Fatalf("Addrs = %v", c.Addrs())
	}
	active := c.Active(t)
	if active != 0 {
		t.Fatalf("active node = %d, want the initialised node 0", active)
	}
	c.Kill(t, active)
	next := c.Active(t)
	if next == active {
		t.Fatalf("killed node %d is still active", active)
	}
	// The root token (in raft storage) works on the new active node.
	if _, err := c.Nodes[next].API(t).Sys().ListMounts(); err != nil {
		t.Fatalf("list mounts on the new active node: %v", err)
	}
}
