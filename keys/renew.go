package keys

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/vault/api"
)

// keepAliveRetry is how long KeepAlive waits after a failure (Vault down, a
// token that cannot be renewed) before it tries again. Requests do not wait
// for it: they log in again or re-read the token file themselves.
const keepAliveRetry = 5 * time.Second

// tokenFilePoll is how often KeepAlive looks at a token file for a new token.
const tokenFilePoll = 2 * time.Second

// KeepAlive keeps the client's token valid until ctx ends, with the Vault
// API's lifetime watcher:
//
//   - AppRole: it renews the login's token while Vault allows, and logs in
//     again when the token reaches its maximum TTL or renewal fails for
//     good;
//   - Token and TokenFile: it renews the token (a periodic token, as
//     [Setup] issues, lives as long as it is renewed within its period).
//     With TokenFile it also starts watching the new token as soon as the
//     file changes. Vault Agent renews its sink's token too; renewing it
//     twice is harmless.
//
// A non-renewable token (such as a root token) is left alone. KeepAlive
// never stops mail: a request that meets an invalid token logs in again or
// re-reads the file itself, and KeepAlive only makes that rare.
func (c *Client) KeepAlive(ctx context.Context) {
	for ctx.Err() == nil {
		// Anything signalled so far is about to be picked up.
		select {
		case <-c.auth.changed:
		default:
		}
		secret, err := c.currentAuth(ctx)
		if err != nil {
			c.log.Warn("vault token renewal: cannot read the token's lease; retrying", "err", err)
			c.waitAuth(ctx, keepAliveRetry)
			continue
		}
		if secret == nil || secret.Auth == nil || !secret.Auth.Renewable || secret.Auth.LeaseDuration <= 0 {
			c.waitNonRenewable(ctx, secret)
			continue
		}
		c.watch(ctx, secret)
	}
}

// currentAuth returns a secret carrying the current token's lease: the
// last AppRole login (logging in if there was none) or the answer to a
// renew-self of the token.
func (c *Client) currentAuth(ctx context.Context) (*api.Secret, error) {
	if c.cfg.AppRoleID != "" {
		if _, err := c.ensureToken(ctx); err != nil {
			return nil, err
		}
		c.auth.mu.Lock()
		defer c.auth.mu.Unlock()
		return c.auth.login, nil
	}
	var s *api.Secret
	err := c.call(ctx, "token renew-self", func(ctx context.Context) (err error) {
		s, err = c.api.Auth().Token().RenewSelfWithContext(ctx, 0)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrPermissionDenied) {
			return nil, err
		}
		var ve *VaultError
		if errors.As(err, &ve) && ve.StatusCode == 400 {
			// "lease is not renewable", e.g. a root token.
			return nil, nil
		}
		return nil, err
	}
	return s, nil
}

// watch renews secret's token with a lifetime watcher until the token
// changes, the watcher gives up, or ctx ends.
func (c *Client) watch(ctx context.Context, secret *api.Secret) {
	w, err := c.api.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: secret})
	if err != nil {
		c.log.Error("vault token renewal: cannot start the lifetime watcher", "err", err)
		c.waitAuth(ctx, keepAliveRetry)
		return
	}
	go w.Start()
	defer w.Stop()
	tok := secret.Auth.ClientToken
	var poll <-chan time.Time
	if c.cfg.TokenFile != "" {
		t := time.NewTicker(tokenFilePoll)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.auth.changed:
			return
		case <-poll:
			if changed, err := c.loadToken(false); err != nil {
				c.log.Warn("vault token file unreadable", "err", err)
			} else if changed {
				return
			}
		case r := <-w.RenewCh():
			if r == nil || r.Secret == nil || r.Secret.Auth == nil {
				continue
			}
			lease := r.Secret.Auth.LeaseDuration
			c.log.Debug("vault token renewed", "ttl", time.Duration(lease)*time.Second)
			if c.cfg.AppRoleID != "" && lease < secret.Auth.LeaseDuration {
				// Vault granted less than the role's TTL: the token is near
				// its maximum TTL. Log in again now rather than race the
				// expiry (the watcher's grace period is short).
				c.afterExpiry(ctx, tok)
				return
			}
		case err := <-w.DoneCh():
			// The token reached its maximum TTL (err == nil), or renewal
			// failed until the lease ran out.
			if err != nil {
				c.log.Warn("vault token renewal stopped", "err", err)
			}
			c.afterExpiry(ctx, tok)
			return
		}
	}
}

// afterExpiry handles a token the watcher can no longer keep alive.
func (c *Client) afterExpiry(ctx context.Context, tok string) {
	if c.cfg.AppRoleID != "" {
		c.auth.mu.Lock()
		var err error
		if c.api.Token() == tok {
			c.log.Info("vault token is at its maximum TTL: logging in with AppRole again")
			err = c.loginLocked(ctx)
		}
		c.auth.mu.Unlock()
		if err != nil {
			c.log.Warn("vault AppRole login failed; retrying", "err", err)
			c.waitAuth(ctx, keepAliveRetry)
		}
		return
	}
	c.log.Warn("vault token can no longer be renewed: replace it (token file) before it expires")
	c.waitAuth(ctx, keepAliveRetry)
}

// waitNonRenewable waits while the token cannot be renewed: for AppRole
// until two thirds of its TTL have passed (then logs in again), otherwise
// until the token changes.
func (c *Client) waitNonRenewable(ctx context.Context, secret *api.Secret) {
	if c.cfg.AppRoleID != "" && secret != nil && secret.Auth != nil && secret.Auth.LeaseDuration > 0 {
		d := time.Duration(secret.Auth.LeaseDuration) * time.Second * 2 / 3
		if !c.waitAuth(ctx, d) {
			c.afterExpiry(ctx, secret.Auth.ClientToken)
		}
		return
	}
	c.waitAuth(ctx, time.Minute)
}

// waitAuth waits for d, a token change or the end of ctx, and reports
// whether it was woken by a token change. With TokenFile it also looks at
// the file.
func (c *Client) waitAuth(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	var poll <-chan time.Time
	if c.cfg.TokenFile != "" {
		t := time.NewTicker(tokenFilePoll)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return false
		case <-c.auth.changed:
			return true
		case <-poll:
			if changed, _ := c.loadToken(false); changed {
				return true
			}
		}
	}
}
