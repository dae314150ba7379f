package keys

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// KeyVersions describes the versions of a Transit key.
type KeyVersions struct {
	// Latest is the newest version; new wraps and signatures use it.
	Latest int
	// MinDecryption is the oldest version Transit still decrypts (or
	// verifies) with. Secrets wrapped under an older version no longer open.
	MinDecryption int
	// MinEncryption is the oldest version Transit encrypts with; 0 means
	// the latest.
	MinEncryption int
	// Created holds each available version's creation time.
	Created map[int]time.Time
}

// WrapKeyVersions reads the versions of the wrap key. The relay, admin and
// a rewrap token may read them; the portal may not.
func (c *Client) WrapKeyVersions(ctx context.Context) (KeyVersions, error) {
	return c.keyVersions(ctx, c.cfg.WrapKey)
}

// AuditKeyVersions reads the versions of the audit signing key (admin only).
func (c *Client) AuditKeyVersions(ctx context.Context) (KeyVersions, error) {
	return c.keyVersions(ctx, c.cfg.AuditKey)
}

func (c *Client) keyVersions(ctx context.Context, name string) (KeyVersions, error) {
	d, err := c.read(ctx, "transit read key", c.transitPath("keys", name))
	if err != nil {
		return KeyVersions{}, fmt.Errorf("failed to read key versions: %w", err)
	}
	var kv KeyVersions
	if kv.Latest, err = intField(d, "latest_version"); err != nil {
		return KeyVersions{}, fmt.Errorf("failed to read key versions: %w", err)
	}
	if kv.MinDecryption, err = intField(d, "min_decryption_version"); err != nil {
		return KeyVersions{}, fmt.Errorf("failed to read key versions: %w", err)
	}
	kv.MinEncryption, _ = intField(d, "min_encryption_version")
	kv.Created = make(map[int]time.Time)
	versions, _ := d["keys"].(map[string]any)
	for k, v := range versions {
		n, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		entry, _ := v.(map[string]any)
		s, _ := entry["creation_time"].(string)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			kv.Created[n] = t
		}
	}
	return kv, nil
}

// SetWrapKeyMinDecryptionVersion raises (or lowers) the oldest wrap key
// version Transit decrypts with (admin only). Every secret wrapped under an
// older version stops opening — through the portal, break-glass and rewrap
// alike — so the caller must first make sure that no secret it still needs
// is older (see gateway/lifecycle, which refuses while any unrecalled
// message is). Secrets in old backups of the store are shredded by it too.
func (c *Client) SetWrapKeyMinDecryptionVersion(ctx context.Context, version int) error {
	return c.setMinDecryption(ctx, c.cfg.WrapKey, version)
}

func (c *Client) setMinDecryption(ctx context.Context, name string, version int) error {
	if version < 1 {
		return fmt.Errorf("failed to set min_decryption_version: version %d is below 1", version)
	}
	_, err := c.write(ctx, "transit configure key", c.transitPath("keys", name)+"/config",
		map[string]any{"min_decryption_version": version})
	if err != nil {
		return fmt.Errorf("failed to set min_decryption_version: %w", err)
	}
	return nil
}

// RewrapResult is the outcome for one secret passed to [Client.Rewrap].
type RewrapResult struct {
	// Wrapped is the secret re-encrypted under KeyVersion, in the same
	// format and with the same scheme tag as the input. Nil if Err is set.
	Wrapped []byte
	// KeyVersion is the wrap key version of Wrapped.
	KeyVersion int
	// Err says why this one secret was not rewrapped: it is malformed, or
	// Transit refused it (for example because its version is below the
	// key's min_decryption_version).
	Err error
}

// MaxRewrapBatch is the most secrets [Client.Rewrap] sends in one request.
const MaxRewrapBatch = 256

// Rewrap moves wrapped secrets to the latest version of the wrap key with
// one Transit rewrap request (batch_input). Transit decrypts and
// re-encrypts inside Vault: the plaintext, and so its binding to the
// message id, never leaves Vault and stays exactly as it was, so the
// result unwraps for the same message only.
//
// Only admin (or a token with a rewrap policy) may call it; it returns an
// error matching ErrPermissionDenied for the relay and the portal. The
// request as a whole fails with an error; each secret gets a result, in
// input order, whose Err is set if that secret alone failed. At most
// [MaxRewrapBatch] secrets are accepted per call.
func (c *Client) Rewrap(ctx context.Context, wrapped [][]byte) ([]RewrapResult, error) {
	if len(wrapped) == 0 {
		return nil, nil
	}
	if len(wrapped) > MaxRewrapBatch {
		return nil, fmt.Errorf("failed to rewrap: %d secrets exceed the batch limit of %d", len(wrapped), MaxRewrapBatch)
	}
	results := make([]RewrapResult, len(wrapped))
	parsed := make([]Wrapped, len(wrapped))
	var batch []map[string]any
	var index []int // batch position → input position
	for i, b := range wrapped {
		w, err := ParseWrapped(b)
		if err != nil {
			results[i].Err = err
			continue
		}
		parsed[i] = w
		batch = append(batch, map[string]any{"ciphertext": w.TransitCiphertext()})
		index = append(index, i)
	}
	if len(batch) == 0 {
		return results, nil
	}
	d, err := c.write(ctx, "transit rewrap", c.transitPath("rewrap", c.cfg.WrapKey),
		map[string]any{"batch_input": batch})
	if err != nil {
		return nil, fmt.Errorf("failed to rewrap: %w", err)
	}
	out, _ := d["batch_results"].([]any)
	if len(out) != len(batch) {
		return nil, fmt.Errorf("failed to rewrap: vault returned %d results for %d secrets", len(out), len(batch))
	}
	for j, raw := range out {
		i := index[j]
		item, _ := raw.(map[string]any)
		if msg, _ := item["error"].(string); msg != "" {
			results[i].Err = &VaultError{Op: "transit rewrap", StatusCode: 400, Messages: []string{msg}, Err: errors.New(msg)}
			continue
		}
		ct, _ := item["ciphertext"].(string)
		v, raw, err := parseTransitCiphertext([]byte(ct))
		if err != nil {
			results[i].Err = fmt.Errorf("%w: vault returned a malformed ciphertext", ErrMalformedWrapped)
			continue
		}
		results[i] = RewrapResult{
			Wrapped:    Wrapped{Scheme: parsed[i].Scheme, KeyVersion: v, Ciphertext: raw}.Marshal(),
			KeyVersion: v,
		}
	}
	return results, nil
}

// TokenName returns the display name of the client's token (for example
// "token-sealpost-admin"), which Vault's audit device also records, so
// that Sealpost's audit entries name the same credential.
func (c *Client) TokenName(ctx context.Context) (string, error) {
	d, err := c.lookupSelf(ctx)
	if err != nil {
		return "", fmt.Errorf("failed to look up vault token: %w", err)
	}
	name, _ := d["display_name"].(string)
	return name, nil
}

// TokenPolicies returns the policies of the client's token.
func (c *Client) TokenPolicies(ctx context.Context) ([]string, error) {
	d, err := c.lookupSelf(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to look up vault token: %w", err)
	}
	return stringSlice(d["policies"]), nil
}

// BreakGlass opens a message's wrapped secret for an administrator, outside
// the portal. It first records the access in Vault itself — a KV v2 entry
// at <KVMount>/data/break-glass/<msgID> holding the actor, the reason and
// the time, one version per access — and only then unwraps through Transit
// decrypt. The KV write is allowed to the admin policy only, so a relay or
// portal token gets an error matching ErrPermissionDenied before anything
// is decrypted; and both requests land in Vault's audit device.
//
// reason must be non-empty. The caller records the access in Sealpost's
// own audit log too.
func (c *Client) BreakGlass(ctx context.Context, msgID string, wrapped []byte, actor, reason string) ([]byte, error) {
	if err := checkMsgID(msgID); err != nil {
		return nil, fmt.Errorf("failed to break glass: %w", err)
	}
	if !nameRE.MatchString(msgID) || msgID == "." || msgID == ".." {
		return nil, errors.New("failed to break glass: message id must be letters, digits, '.', '_' or '-'")
	}
	if actor == "" || reason == "" {
		return nil, errors.New("failed to break glass: an actor and a reason are required")
	}
	_, err := c.write(ctx, "record break-glass", c.cfg.KVMount+"/data/break-glass/"+msgID, map[string]any{
		"data": map[string]any{
			"actor":  actor,
			"reason": reason,
			"time":   time.Now().UTC().Format(time.RFC3339),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to break glass: %w", err)
	}
	secret, err := c.Unwrap(ctx, msgID, wrapped)
	if err != nil {
		return nil, fmt.Errorf("failed to break glass: %w", err)
	}
	return secret, nil
}

// writeSlow is write with createKeyTimeout instead of Config.Timeout, for
// requests that generate a key inside Vault: rotating an rsa-4096 key takes
// seconds on a busy host.
func (c *Client) writeSlow(ctx context.Context, op, path string, body map[string]any) error {
	tok, err := c.ensureToken(ctx)
	if err != nil {
		return err
	}
	cl, err := c.api.Clone()
	if err != nil {
		return fmt.Errorf("failed to clone vault client: %w", err)
	}
	cl.ClearNamespace()
	cl.SetToken(tok)
	if err := cl.SetAddress(c.api.Address()); err != nil {
		return fmt.Errorf("failed to clone vault client: %w", err)
	}
	cl.SetClientTimeout(createKeyTimeout)
	ctx, cancel := context.WithTimeout(ctx, createKeyTimeout)
	defer cancel()
	if _, err := cl.Logical().WriteWithContext(ctx, path, body); err != nil {
		return vaultErr(op, err)
	}
	return nil
}
