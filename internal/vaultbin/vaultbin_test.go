package vaultbin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindHonoursTheEnvironmentFirst(t *testing.T) {
	p := filepath.Join(t.TempDir(), "vault")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SEALPOST_VAULT_BIN", p)
	got, err := Find()
	if err != nil || got != p {
		t.Fatalf("Find() = %q, %v; want %q", got, err, p)
	}
	t.Setenv("SEALPOST_VAULT_BIN", filepath.Join(t.TempDir(), "missing"))
	if _, err := Find(); err == nil || !strings.Contains(err.Error(), "SEALPOST_VAULT_BIN") {
		t.Fatalf("a missing SEALPOST_VAULT_BIN was not reported: %v", err)
	}
}

func TestFindFailsWithInstructions(t *testing.T) {
	t.Setenv("SEALPOST_VAULT_BIN", "")
	t.Setenv("PATH", t.TempDir())
	t.Chdir(t.TempDir())
	_, err := Find()
	// The test binary lives in a temp dir with no vault beside it.
	if err == nil || !strings.Contains(err.Error(), "make vault") {
		t.Fatalf("want an error naming `make vault`, got %v", err)
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "vaultbin", "vaultbin.go")); err != nil {
		t.Fatalf("RepoRoot = %s, which does not hold this package: %v", root, err)
	}
}
