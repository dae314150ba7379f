package keys

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// wrapPublicKey is the cached public half of one version of the wrap key.
type wrapPublicKey struct {
	version  int
	pub      *rsa.PublicKey
	fetched  time.Time
	maxPlain int // largest RSA-OAEP-SHA256 plaintext for pub
}

func (c *Client) transitPath(op, name string) string {
	return c.cfg.TransitMount + "/" + op + "/" + name
}

// Wrap wraps secret (a per-message age identity) for message msgID. It runs
// locally: RSA-OAEP with SHA-256 under the cached public half of the wrap
// key, producing the ciphertext Transit decrypt accepts. Only a token
// allowed transit/decrypt on the wrap key can open the result, and only
// [Client.Unwrap] with the same msgID returns the secret. Wrap contacts
// Vault only to refresh the public key (see Config.WrapKeyMaxAge).
//
// The result is the versioned format described at [Wrapped].
func (c *Client) Wrap(ctx context.Context, msgID string, secret []byte) ([]byte, error) {
	if err := checkWrapInput(msgID, secret); err != nil {
		return nil, fmt.Errorf("failed to wrap secret: %w", err)
	}
	pt := bindPlaintext(msgID, secret)
	defer clear(pt)
	out, err := c.wrapLocal(ctx, pt)
	if err != nil {
		return nil, fmt.Errorf("failed to wrap secret: %w", err)
	}
	return out, nil
}

// wrapLocal encrypts a bound plaintext with RSA-OAEP under the cached
// public half of the wrap key and returns it in the [Wrapped] format.
func (c *Client) wrapLocal(ctx context.Context, pt []byte) ([]byte, error) {
	k, err := c.currentWrapKey(ctx, false)
	if err != nil {
		return nil, err
	}
	if len(pt) > k.maxPlain {
		return nil, fmt.Errorf("%d bytes exceed the wrap key's %d-byte limit", len(pt), k.maxPlain)
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, k.pub, pt, nil)
	if err != nil {
		return nil, err
	}
	return Wrapped{Scheme: SchemeLocal, KeyVersion: k.version, Ciphertext: ct}.Marshal(), nil
}

func checkWrapInput(msgID string, secret []byte) error {
	if err := checkMsgID(msgID); err != nil {
		return err
	}
	if len(secret) == 0 {
		return errors.New("empty secret")
	}
	return nil
}

// Unwrap opens a wrapped secret through Transit decrypt, which only the
// portal and admin policies allow; Vault's audit device records the call.
// It accepts both schemes. If the secret is bound to another message id the
// error matches ErrWrongMessage; a relay token gets an error matching
// ErrPermissionDenied.
func (c *Client) Unwrap(ctx context.Context, msgID string, wrapped []byte) ([]byte, error) {
	if err := checkMsgID(msgID); err != nil {
		return nil, fmt.Errorf("failed to unwrap secret: %w", err)
	}
	pt, err := c.decryptWrapped(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("failed to unwrap secret: %w", err)
	}
	id, secret, err := parseBound(pt)
	if err != nil {
		clear(pt)
		return nil, fmt.Errorf("failed to unwrap secret: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(msgID)) != 1 {
		clear(pt)
		return nil, fmt.Errorf("failed to unwrap secret: %w", ErrWrongMessage)
	}
	out := make([]byte, len(secret))
	copy(out, secret)
	clear(pt)
	return out, nil
}

// decryptWrapped parses a wrapped blob of either scheme and opens it with
// Transit decrypt, returning the bound plaintext.
func (c *Client) decryptWrapped(ctx context.Context, wrapped []byte) ([]byte, error) {
	w, err := ParseWrapped(wrapped)
	if err != nil {
		return nil, err
	}
	d, err := c.write(ctx, "transit decrypt", c.transitPath("decrypt", c.cfg.WrapKey),
		map[string]any{"ciphertext": w.TransitCiphertext()})
	if err != nil {
		return nil, err
	}
	p64, _ := d["plaintext"].(string)
	pt, err := base64.StdEncoding.DecodeString(p64)
	if err != nil || len(pt) == 0 {
		return nil, errors.New("vault returned no plaintext")
	}
	return pt, nil
}

// RefreshWrapKey fetches the public half of the wrap key now, so that the
// next Wrap uses its latest version, and returns that version.
func (c *Client) RefreshWrapKey(ctx context.Context) (int, error) {
	k, err := c.currentWrapKey(ctx, true)
	if err != nil {
		return 0, fmt.Errorf("failed to refresh wrap key: %w", err)
	}
	return k.version, nil
}

// RotateWrapKey creates a new version of the wrap key (admin only) and
// returns it. Secrets wrapped under older versions still unwrap until an
// admin raises the key's min_decryption_version or trims it.
func (c *Client) RotateWrapKey(ctx context.Context) (int, error) {
	return c.rotate(ctx, c.cfg.WrapKey)
}

// RotateAuditKey creates a new version of the audit signing key (admin
// only) and returns it. Older checkpoints still verify.
func (c *Client) RotateAuditKey(ctx context.Context) (int, error) {
	return c.rotate(ctx, c.cfg.AuditKey)
}

func (c *Client) rotate(ctx context.Context, name string) (int, error) {
	if err := c.writeSlow(ctx, "transit rotate", c.transitPath("keys", name)+"/rotate", map[string]any{}); err != nil {
		return 0, fmt.Errorf("failed to rotate key: %w", err)
	}
	d, err := c.read(ctx, "transit read key", c.transitPath("keys", name))
	if err != nil {
		return 0, fmt.Errorf("failed to read rotated key: %w", err)
	}
	v, err := intField(d, "latest_version")
	if err != nil {
		return 0, fmt.Errorf("failed to read rotated key: %w", err)
	}
	if name == c.cfg.WrapKey {
		// Make the next Wrap fetch the new version.
		c.wrapKey.Store(nil)
	}
	return v, nil
}

func (c *Client) currentWrapKey(ctx context.Context, force bool) (*wrapPublicKey, error) {
	fresh := func(k *wrapPublicKey) bool {
		return k != nil && !force && time.Since(k.fetched) < c.cfg.WrapKeyMaxAge
	}
	if k := c.wrapKey.Load(); fresh(k) {
		return k, nil
	}
	c.wrapMu.Lock()
	defer c.wrapMu.Unlock()
	if k := c.wrapKey.Load(); fresh(k) {
		return k, nil
	}
	k, err := c.fetchWrapKey(ctx)
	if err != nil {
		// Fail closed: a stale key might have been rotated away because it
		// was compromised.
		return nil, err
	}
	c.wrapKey.Store(k)
	return k, nil
}

func (c *Client) fetchWrapKey(ctx context.Context) (*wrapPublicKey, error) {
	d, err := c.read(ctx, "transit read key", c.transitPath("keys", c.cfg.WrapKey))
	if err != nil {
		return nil, err
	}
	typ, _ := d["type"].(string)
	if !strings.HasPrefix(typ, "rsa-") {
		return nil, fmt.Errorf("wrap key has type %q, want rsa-4096", typ)
	}
	v, err := intField(d, "latest_version")
	if err != nil {
		return nil, err
	}
	if minEnc, err := intField(d, "min_encryption_version"); err == nil && minEnc > v {
		return nil, fmt.Errorf("wrap key min_encryption_version %d exceeds latest version %d", minEnc, v)
	}
	versions, _ := d["keys"].(map[string]any)
	entry, _ := versions[strconv.Itoa(v)].(map[string]any)
	pemStr, _ := entry["public_key"].(string)
	block, _ := pem.Decode([]byte(pemStr))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("wrap key version %d has no PEM public key", v)
	}
	pk, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("failed to parse wrap public key: %w", err)
	}
	pub, ok := pk.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < 2048 {
		return nil, errors.New("wrap public key is not an RSA key of at least 2048 bits")
	}
	return &wrapPublicKey{
		version:  v,
		pub:      pub,
		fetched:  time.Now(),
		maxPlain: pub.Size() - 2*sha256.Size - 2,
	}, nil
}

func intField(d map[string]any, name string) (int, error) {
	switch v := d[name].(type) {
	case json.Number:
		n, err := strconv.Atoi(v.String())
		if err == nil {
			return n, nil
		}
	case float64:
		return int(v), nil
	case int:
		return v, nil
	}
	return 0, fmt.Errorf("vault response has no integer %s", name)
}
