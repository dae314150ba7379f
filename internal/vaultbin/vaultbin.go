// Package vaultbin finds the Vault server binary that `make vault` provides.
package vaultbin

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// Find returns the Vault (or OpenBao) server binary: $SEALPOST_VAULT_BIN,
// then a vault beside the running executable (bin/sealpost and bin/vault),
// then bin/vault in the repository (found by walking up from the working
// directory to go.mod), then `vault` or `bao` on PATH.
func Find() (string, error) {
	if p := os.Getenv("SEALPOST_VAULT_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", errors.New("SEALPOST_VAULT_BIN does not name a file: " + p)
		}
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "vault"); isExec(p) {
			return p, nil
		}
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				if p := filepath.Join(dir, "bin", "vault"); isExec(p) {
					return p, nil
				}
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	for _, name := range []string{"vault", "bao"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Vault server binary: run `make vault` (it builds Vault once and caches it), or put vault or bao on PATH")
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
