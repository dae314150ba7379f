package keys

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// macKeySize is the length of the X-Sealpost-Id header MAC key.
const macKeySize = 32

func (c *Client) macPath() string { return c.cfg.KVMount + "/data/config/mac" }

// MACKey returns the 32-byte key that authenticates the X-Sealpost-Id
// header, stored at <KVMount>/data/config/mac by [Setup]. It is read once
// and then cached for the life of the client: it cannot unwrap anything.
func (c *Client) MACKey(ctx context.Context) ([]byte, error) {
	c.macMu.Lock()
	defer c.macMu.Unlock()
	if c.macKey == nil {
		d, _, err := c.kvRead(ctx, "kv read mac key", c.macPath())
		if err != nil {
			return nil, fmt.Errorf("failed to read MAC key: %w", err)
		}
		if d == nil {
			return nil, fmt.Errorf("failed to read MAC key: %w (run sealpost vault setup)", notFound("kv read mac key"))
		}
		k, err := decodeMACKey(d)
		if err != nil {
			return nil, fmt.Errorf("failed to read MAC key: %w", err)
		}
		c.macKey = k
	}
	return append([]byte(nil), c.macKey...), nil
}

func decodeMACKey(d map[string]any) ([]byte, error) {
	s, _ := d["key"].(string)
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(k) != macKeySize {
		return nil, errors.New("stored MAC key is not 32 base64-encoded bytes")
	}
	return k, nil
}

// ensureMACKey creates the MAC key unless it exists (check-and-set 0, so
// concurrent setups cannot overwrite each other).
func (c *Client) ensureMACKey(ctx context.Context) error {
	d, _, err := c.kvRead(ctx, "kv read mac key", c.macPath())
	if err != nil {
		return err
	}
	if d != nil {
		_, err := decodeMACKey(d)
		return err
	}
	k := make([]byte, macKeySize)
	if _, err := rand.Read(k); err != nil {
		return err
	}
	err = c.kvWriteCAS(ctx, "kv write mac key", c.macPath(), map[string]any{"key": base64.StdEncoding.EncodeToString(k)}, 0)
	if isCASConflict(err) {
		return nil
	}
	return err
}
