package keys

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
)

// Sign signs data (an audit checkpoint) with the ed25519 audit key through
// transit/sign and returns Vault's signature string "vault:v<N>:<base64>".
func (c *Client) Sign(ctx context.Context, data []byte) (string, error) {
	d, err := c.write(ctx, "transit sign", c.transitPath("sign", c.cfg.AuditKey),
		map[string]any{"input": base64.StdEncoding.EncodeToString(data)})
	if err != nil {
		return "", fmt.Errorf("failed to sign: %w", err)
	}
	sig, _ := d["signature"].(string)
	if _, _, err := parseTransitCiphertext([]byte(sig)); err != nil {
		return "", fmt.Errorf("failed to sign: vault returned a malformed signature")
	}
	return sig, nil
}

// Verify checks sig over data with the audit key through transit/verify.
// It returns nil only for a valid signature; an invalid or malformed one
// gives an error matching ErrBadSignature.
func (c *Client) Verify(ctx context.Context, data []byte, sig string) error {
	if !strings.HasPrefix(sig, "vault:v") {
		return fmt.Errorf("failed to verify: %w: malformed signature", ErrBadSignature)
	}
	if _, _, err := parseTransitCiphertext([]byte(sig)); err != nil {
		return fmt.Errorf("failed to verify: %w: malformed signature", ErrBadSignature)
	}
	d, err := c.write(ctx, "transit verify", c.transitPath("verify", c.cfg.AuditKey), map[string]any{
		"input":     base64.StdEncoding.EncodeToString(data),
		"signature": sig,
	})
	if err != nil {
		if ve, ok := err.(*VaultError); ok && ve.StatusCode == 400 {
			// Vault answers 400 for signatures it cannot parse or whose key
			// version does not exist.
			return fmt.Errorf("failed to verify: %w: %v", ErrBadSignature, err)
		}
		return fmt.Errorf("failed to verify: %w", err)
	}
	if valid, _ := d["valid"].(bool); !valid {
		return fmt.Errorf("failed to verify: %w", ErrBadSignature)
	}
	return nil
}
