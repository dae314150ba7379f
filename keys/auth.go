package keys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// DefaultAppRoleMount is where [Setup] enables the AppRole auth method.
const DefaultAppRoleMount = "approle"

// authState is how a Client authenticates: a literal token, a token file,
// or an AppRole login. Every change of the token happens under mu.
type authState struct {
	mu sync.Mutex

	// Token file: what was last read.
	fileMTime time.Time
	fileSize  int64

	// AppRole: the response of the last login, for the lifetime watcher.
	login *api.Secret

	// changed receives a value whenever the token is replaced, so that
	// KeepAlive stops watching the old one.
	changed chan struct{}
}

// checkAuth validates the authentication settings; it is part of
// Config.setDefaults. Error messages name the Config fields.
func (cfg *Config) checkAuth() error {
	set := 0
	for _, v := range []string{cfg.Token, cfg.TokenFile, cfg.AppRoleID} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return errors.New("exactly one of Token, TokenFile and AppRoleID must be set")
	}
	if (cfg.AppRoleID == "") != (cfg.AppRoleSecretIDFile == "") {
		return errors.New("AppRoleID and AppRoleSecretIDFile must be set together")
	}
	if cfg.AppRoleMount == "" {
		cfg.AppRoleMount = DefaultAppRoleMount
	}
	cfg.AppRoleMount = strings.Trim(cfg.AppRoleMount, "/")
	if !mountRE.MatchString(cfg.AppRoleMount) || strings.Contains(cfg.AppRoleMount, "..") {
		return fmt.Errorf("invalid AppRole mount %q", cfg.AppRoleMount)
	}
	return nil
}

// initAuth loads the first token. A token file must be readable now, so
// that a typo in its path is found at start; an AppRole secret id file is
// read at each login, the first on the first request.
func (c *Client) initAuth() error {
	c.auth.changed = make(chan struct{}, 1)
	switch {
	case c.cfg.Token != "":
		c.api.SetToken(c.cfg.Token)
	case c.cfg.TokenFile != "":
		if _, err := c.loadToken(false); err != nil {
			return err
		}
	case c.cfg.AppRoleID != "":
		if _, err := readSecretFile(c.cfg.AppRoleSecretIDFile, "AppRole secret id"); err != nil {
			return err
		}
	}
	return nil
}

// setTokenLocked installs tok; c.auth.mu must be held.
func (c *Client) setTokenLocked(tok string) {
	if c.api.Token() == tok {
		return
	}
	c.api.SetToken(tok)
	select {
	case c.auth.changed <- struct{}{}:
	default:
	}
}

// loadToken (re-)reads TokenFile when its modification time or size
// changed, or always with force. It reports whether the token changed.
func (c *Client) loadToken(force bool) (bool, error) {
	if c.cfg.TokenFile == "" {
		return false, nil
	}
	c.auth.mu.Lock()
	defer c.auth.mu.Unlock()
	fi, err := os.Stat(c.cfg.TokenFile)
	if err != nil {
		return false, fmt.Errorf("failed to stat vault token file: %w", err)
	}
	if !force && fi.ModTime().Equal(c.auth.fileMTime) && fi.Size() == c.auth.fileSize {
		return false, nil
	}
	tok, err := readSecretFile(c.cfg.TokenFile, "vault token")
	if err != nil {
		return false, err
	}
	old := c.api.Token()
	c.setTokenLocked(tok)
	c.auth.fileMTime, c.auth.fileSize = fi.ModTime(), fi.Size()
	return tok != old, nil
}

func readSecretFile(path, what string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("failed to read %s file: %w", what, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s file is empty", what)
	}
	return s, nil
}

// ensureToken makes sure the client holds a token before a request and
// returns it: it re-reads a changed token file, and logs in with AppRole
// if there is no token yet.
func (c *Client) ensureToken(ctx context.Context) (string, error) {
	switch {
	case c.cfg.TokenFile != "":
		if _, err := c.loadToken(false); err != nil {
			return "", err
		}
	case c.cfg.AppRoleID != "":
		if tok := c.api.Token(); tok != "" {
			return tok, nil
		}
		c.auth.mu.Lock()
		defer c.auth.mu.Unlock()
		if c.api.Token() == "" {
			if err := c.loginLocked(ctx); err != nil {
				return "", err
			}
		}
	}
	return c.api.Token(), nil
}

// loginLocked logs in with AppRole; c.auth.mu must be held. The secret id
// file is read afresh, so that a new secret id written there is used.
func (c *Client) loginLocked(ctx context.Context) error {
	secretID, err := readSecretFile(c.cfg.AppRoleSecretIDFile, "AppRole secret id")
	if err != nil {
		return err
	}
	// The login client carries no token: the login path needs none, and a
	// revoked token must not be sent along.
	c.loginAPI.SetAddress(c.api.Address())
	lctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	s, err := c.loginAPI.Logical().WriteWithContext(lctx, "auth/"+c.cfg.AppRoleMount+"/login", map[string]any{
		"role_id": c.cfg.AppRoleID, "secret_id": secretID,
	})
	if err != nil {
		return fmt.Errorf("failed to log in to vault with AppRole: %w", vaultErr("approle login", err))
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return errors.New("failed to log in to vault with AppRole: no token in the response")
	}
	c.auth.login = s
	c.setTokenLocked(s.Auth.ClientToken)
	c.log.Info("logged in to vault with AppRole", "ttl", time.Duration(s.Auth.LeaseDuration)*time.Second,
		"renewable", s.Auth.Renewable)
	return nil
}

// refreshToken is called after Vault answered "invalid token" to a request
// made with stale. It logs in again (AppRole) or re-reads the token file,
// and reports whether there is now a different token worth one retry.
func (c *Client) refreshToken(ctx context.Context, stale string) (bool, error) {
	switch {
	case c.cfg.TokenFile != "":
		if _, err := c.loadToken(true); err != nil {
			return false, err
		}
		return c.api.Token() != stale, nil
	case c.cfg.AppRoleID != "":
		c.auth.mu.Lock()
		defer c.auth.mu.Unlock()
		if c.api.Token() != stale {
			return true, nil // another request already logged in again
		}
		c.log.Warn("vault token is no longer valid: logging in with AppRole again")
		if err := c.loginLocked(ctx); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// TokenInfo describes the client's current token, without the token.
type TokenInfo struct {
	// Accessor identifies the token in Vault (e.g. to revoke it) without
	// granting anything.
	Accessor string
	// DisplayName is the name Vault's audit device records for the token.
	DisplayName string
	// Policies are the token's policies.
	Policies []string
	// TTL is the time left before the token expires; 0 means it does not.
	TTL time.Duration
	// Renewable reports whether the token can be renewed.
	Renewable bool
	// Meta is the token's metadata, e.g. role_name for an AppRole login.
	Meta map[string]string
}

// TokenInfo looks up the client's current token.
func (c *Client) TokenInfo(ctx context.Context) (TokenInfo, error) {
	d, err := c.lookupSelf(ctx)
	if err != nil {
		return TokenInfo{}, fmt.Errorf("failed to look up vault token: %w", err)
	}
	ti := TokenInfo{Policies: stringSlice(d["policies"]), Meta: map[string]string{}}
	ti.Accessor, _ = d["accessor"].(string)
	ti.DisplayName, _ = d["display_name"].(string)
	ti.Renewable, _ = d["renewable"].(bool)
	if ttl, err := intField(d, "ttl"); err == nil {
		ti.TTL = time.Duration(ttl) * time.Second
	}
	if m, ok := d["meta"].(map[string]any); ok {
		for k, v := range m {
			if s, ok := v.(string); ok {
				ti.Meta[k] = s
			}
		}
	}
	slices.Sort(ti.Policies)
	return ti, nil
}
