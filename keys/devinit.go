package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/vault/api"
)

// devState is what `sealpost dev` keeps about its own Vault: the single
// unseal key and the root token. It is for a developer's machine only: a
// production Vault is initialised by its operators, with its unseal keys
// split among people or held by an auto-unseal KMS.
type devState struct {
	UnsealKey string `json:"unseal_key"`
	RootToken string `json:"root_token"`
}

// InitOrUnsealDev initialises a fresh development Vault at addr with one
// unseal key, or unseals an existing one, keeping the unseal key and root
// token in statePath (mode 0600). It returns the root token.
func InitOrUnsealDev(ctx context.Context, addr, statePath string) (string, error) {
	vc, err := api.NewClient(&api.Config{Address: addr, Timeout: 30 * time.Second})
	if err != nil {
		return "", fmt.Errorf("failed to create vault client: %w", err)
	}
	vc.ClearToken()
	sys := vc.Sys()

	var initialised bool
	for {
		initialised, err = sys.InitStatusWithContext(ctx)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("failed to reach vault: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}

	var st devState
	if !initialised {
		resp, err := sys.InitWithContext(ctx, &api.InitRequest{SecretShares: 1, SecretThreshold: 1})
		if err != nil {
			return "", fmt.Errorf("failed to initialise vault: %w", err)
		}
		st = devState{UnsealKey: resp.KeysB64[0], RootToken: resp.RootToken}
		b, _ := json.MarshalIndent(st, "", "  ")
		if err := os.MkdirAll(filepath.Dir(statePath), 0o700); err != nil {
			return "", fmt.Errorf("failed to create vault state directory: %w", err)
		}
		if err := os.WriteFile(statePath, b, 0o600); err != nil {
			return "", fmt.Errorf("failed to save vault unseal key: %w", err)
		}
	} else {
		b, err := os.ReadFile(statePath)
		if err != nil {
			return "", fmt.Errorf("vault is initialised but its dev unseal key is missing: %w", err)
		}
		if err := json.Unmarshal(b, &st); err != nil || st.UnsealKey == "" || st.RootToken == "" {
			return "", errors.New("vault dev state file is damaged: " + statePath)
		}
	}

	status, err := sys.SealStatusWithContext(ctx)
	if err != nil {
		return "", fmt.Errorf("failed to read seal status: %w", err)
	}
	if status.Sealed {
		if _, err := sys.UnsealWithContext(ctx, st.UnsealKey); err != nil {
			return "", fmt.Errorf("failed to unseal vault: %w", err)
		}
	}
	// Wait until the node is active and serving requests.
	for {
		h, err := sys.HealthWithContext(ctx)
		if err == nil && h.Initialized && !h.Sealed && !h.Standby {
			return st.RootToken, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("vault did not become active: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
