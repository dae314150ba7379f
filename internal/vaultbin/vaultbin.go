// Package vaultbin finds the Vault server binary that `make vault` provides,
// for `sealpost dev` and for the tests.
package vaultbin

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Find returns the Vault (or OpenBao) server binary: $SEALPOST_VAULT_BIN,
// then a vault beside the running executable (bin/sealpost and bin/vault),
// then bin/vault in the repository (found with [RepoRoot]), then `vault` or
// `bao` on PATH. The error says how to get one.
func Find() (string, error) {
	if p := os.Getenv("SEALPOST_VAULT_BIN"); p != "" {
		if !isExec(p) {
			return "", fmt.Errorf("SEALPOST_VAULT_BIN=%s is not an executable file", p)
		}
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "vault"); isExec(p) {
			return p, nil
		}
	}
	if root, err := RepoRoot(); err == nil {
		if p := filepath.Join(root, "bin", "vault"); isExec(p) {
			return p, nil
		}
	}
	for _, name := range []string{"vault", "bao"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Vault server binary: run `make vault` (it builds Vault once and caches it), " +
		"or put vault or bao on PATH, or set SEALPOST_VAULT_BIN")
}

// RepoRoot walks up from the working directory to the go.mod of the
// Sealpost module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/sealpost/sealpost\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/sealpost/sealpost above the working directory")
		}
		dir = parent
	}
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}
