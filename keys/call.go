package keys

import (
	"context"
	"errors"
	"net/http"
)

// nodeSealed is returned inside call by a health check that reached a
// sealed or uninitialised node; it makes call try the next address.
func nodeSealed() error {
	return &VaultError{Op: "health", StatusCode: http.StatusServiceUnavailable,
		Messages: []string{"Vault is sealed or not initialised"}, Err: ErrSealed}
}

// call runs one Vault request, fn, with the client's token and a timeout of
// Config.Timeout, and recovers from what an operator expects to be
// survivable:
//
//   - Vault answers "invalid token" (expired, revoked): log in again with
//     AppRole, or re-read the token file, and retry once with the new token;
//   - no answer, a 5xx or a sealed node while other addresses are
//     configured (Config.FailoverAddresses): move to the next address and
//     retry, trying each address at most once.
//
// fn's error is converted with vaultErr(op, …) unless it already is a
// *VaultError.
func (c *Client) call(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	refreshed := false
	moved := 0
	for {
		from := c.api.Address()
		tok, err := c.ensureToken(ctx)
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
			err = fn(cctx)
			cancel()
			if err == nil {
				return nil
			}
			var ve *VaultError
			if !errors.As(err, &ve) {
				err = vaultErr(op, err)
			}
			if errors.Is(err, ErrInvalidToken) && !refreshed {
				refreshed = true
				ok, rerr := c.refreshToken(ctx, tok)
				if ok {
					continue
				}
				if rerr != nil {
					return errors.Join(err, rerr)
				}
				return err
			}
		}
		if ctx.Err() == nil && moved < len(c.addrs)-1 && failoverWorthy(err) {
			moved++
			c.nextAddress(from)
			continue
		}
		return err
	}
}

// failoverWorthy reports whether another Vault node might answer where
// this one did not: no answer at all, a sealed node, or a 5xx (a standby
// that has lost its active node answers 5xx until a new one is elected).
func failoverWorthy(err error) bool {
	var ve *VaultError
	if !errors.As(err, &ve) {
		return false
	}
	return ve.StatusCode == 0 || ve.StatusCode >= 500
}

// nextAddress moves the client from the address from to the next one in
// the list, unless another request has moved it already.
func (c *Client) nextAddress(from string) {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	if c.api.Address() != from {
		return
	}
	i := c.addrIdx
	for range c.addrs {
		i = (i + 1) % len(c.addrs)
		if c.addrs[i] != from {
			break
		}
	}
	if err := c.api.SetAddress(c.addrs[i]); err != nil {
		// Every address was parsed by New; this cannot fail.
		c.log.Error("failed to switch vault address", "err", err)
		return
	}
	c.addrIdx = i
	c.log.Warn("vault node did not answer: switched to another node", "from", from, "to", c.addrs[i])
}

// Address returns the Vault address the client currently talks to: the
// configured Address, or a failover address after a failure.
func (c *Client) Address() string { return c.api.Address() }
