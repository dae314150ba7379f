package keys

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// pendingBatch collects concurrent WrapTransit calls into one Transit
// encrypt request with batch_input.
type pendingBatch struct {
	inputs  []map[string]any
	results []string // ciphertexts, indexed like inputs
	errs    []error  // per-item errors
	err     error    // whole-request error
	full    chan struct{}
	done    chan struct{}
}

// WrapTransit is the Transit-side alternative to [Client.Wrap]: Vault
// encrypts the bound secret with the wrap key. Concurrent calls are
// coalesced into one batch_input request (up to Config.BatchSize items, or
// whatever arrives within Config.BatchWindow of the first), so many sealed
// messages cost one round trip. The result has the SchemeTransit tag and
// [Client.Unwrap] opens it like a locally wrapped one.
//
// Unlike Wrap, the plaintext secret travels to Vault (over TLS in
// production), and every call needs Vault to be up.
func (c *Client) WrapTransit(ctx context.Context, msgID string, secret []byte) ([]byte, error) {
	if err := checkWrapInput(msgID, secret); err != nil {
		return nil, fmt.Errorf("failed to wrap secret: %w", err)
	}
	pt := bindPlaintext(msgID, secret)
	in := base64.StdEncoding.EncodeToString(pt)
	clear(pt)

	c.batchMu.Lock()
	b := c.pending
	leader := b == nil
	if leader {
		b = &pendingBatch{full: make(chan struct{}), done: make(chan struct{})}
		c.pending = b
	}
	idx := len(b.inputs)
	b.inputs = append(b.inputs, map[string]any{"plaintext": in})
	if len(b.inputs) >= c.cfg.BatchSize {
		c.pending = nil
		close(b.full)
	}
	c.batchMu.Unlock()

	if leader {
		t := time.NewTimer(c.cfg.BatchWindow)
		select {
		case <-t.C:
		case <-b.full:
		case <-ctx.Done():
		}
		t.Stop()
		c.batchMu.Lock()
		if c.pending == b {
			c.pending = nil
		}
		c.batchMu.Unlock()
		// The batch belongs to every caller in it, so the leader's
		// cancellation must not cancel it; Config.Timeout still bounds it.
		c.flush(context.WithoutCancel(ctx), b)
		close(b.done)
	} else {
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("failed to wrap secret: %w", ctx.Err())
		}
	}
	if b.err != nil {
		return nil, fmt.Errorf("failed to wrap secret: %w", b.err)
	}
	if b.errs[idx] != nil {
		return nil, fmt.Errorf("failed to wrap secret: %w", b.errs[idx])
	}
	v, ct, err := parseTransitCiphertext([]byte(b.results[idx]))
	if err != nil {
		return nil, fmt.Errorf("failed to wrap secret: vault returned a malformed ciphertext: %w", err)
	}
	return Wrapped{Scheme: SchemeTransit, KeyVersion: v, Ciphertext: ct}.Marshal(), nil
}

// flush sends b and fills in its results. b is no longer reachable from
// c.pending, so nobody appends to it any more.
func (c *Client) flush(ctx context.Context, b *pendingBatch) {
	n := len(b.inputs)
	b.results = make([]string, n)
	b.errs = make([]error, n)
	d, err := c.write(ctx, "transit encrypt", c.transitPath("encrypt", c.cfg.WrapKey),
		map[string]any{"batch_input": b.inputs})
	b.inputs = nil // drop the base64 plaintexts as soon as possible
	if err != nil {
		b.err = err
		return
	}
	raw, _ := d["batch_results"].([]any)
	if len(raw) != n {
		b.err = fmt.Errorf("vault returned %d batch results for %d inputs", len(raw), n)
		return
	}
	for i, r := range raw {
		m, _ := r.(map[string]any)
		if e, _ := m["error"].(string); e != "" {
			b.errs[i] = &VaultError{Op: "transit encrypt", Messages: []string{e}, Err: errors.New(e)}
			continue
		}
		ct, _ := m["ciphertext"].(string)
		if ct == "" {
			b.errs[i] = errors.New("vault returned no ciphertext")
			continue
		}
		b.results[i] = ct
	}
}
