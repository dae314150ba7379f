package keys

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	vaultpolicy "github.com/sealpost/sealpost/deploy/vault"
)

// Credentials are the tokens [Setup] issues, one per role. Each is an
// orphan, renewable, periodic token (period TokenPeriod) carrying only its
// role's policy, without Vault's default policy.
type Credentials struct {
	RelayToken  string
	PortalToken string
	AdminToken  string

	// AppRoles are the roles' AppRole credentials, keyed by policy name
	// (sealpost-relay, sealpost-portal, sealpost-admin). RoleID is always
	// set; SecretID only when [SetupOptions].SecretIDs asked for one.
	AppRoles map[string]AppRoleCredentials
	// AuditDevices lists Vault's enabled audit devices after Setup, as
	// "path (type)". Empty means Vault records nothing, unwraps included.
	AuditDevices []string
}

// TokenPeriod is the period of the tokens Setup issues.
const TokenPeriod = 768 * time.Hour

// Setup prepares Vault for Sealpost, idempotently, using root, a client
// holding a root token (or one allowed to mount engines, write policies and
// create orphan tokens):
//
//   - enables Transit at TransitMount and KV v2 at KVMount if absent;
//   - creates WrapKey (rsa-4096), AuditKey (ed25519) and PortalKey
//     (aes256-gcm96, derived) if absent, and refuses existing keys of
//     another type (or a portal key that is not derived);
//   - creates the MAC key if absent;
//   - writes the policies sealpost-relay, sealpost-portal and
//     sealpost-admin (see [vaultpolicy]), rewritten for the configured
//     mount and key names;
//   - issues one token per role.
//
// Running it again changes nothing but issuing new tokens: no key is
// recreated or rotated, and the MAC key is kept.
//
// Setup also creates the AppRoles and, with options, the audit device:
// see [SetupWith]. Setup(ctx, root) is SetupWith(ctx, root, SetupOptions{}).
func Setup(ctx context.Context, root *Client) (Credentials, error) {
	return SetupWith(ctx, root, SetupOptions{})
}

// SetupWith is [Setup] with options. Besides what Setup does, it
//
//   - enables the AppRole auth method at AppRoleMount and writes one role
//     per policy (sealpost-relay, sealpost-portal, sealpost-admin): tokens
//     carry only that policy, are renewable, and live
//     SetupOptions.AppRoleTokenTTL, at most AppRoleTokenMaxTTL;
//   - issues one new secret id per role if SetupOptions.SecretIDs is set;
//   - enables a file audit device writing to SetupOptions.AuditFile, unless
//     one already writes there.
//
// Run twice with the same options, it changes nothing but issuing new
// tokens and secret ids: role ids stay, and no second audit device is
// enabled.
func SetupWith(ctx context.Context, root *Client, opt SetupOptions) (Credentials, error) {
	if err := opt.setDefaults(); err != nil {
		return Credentials{}, err
	}
	if err := root.setupMounts(ctx); err != nil {
		return Credentials{}, fmt.Errorf("failed to set up vault mounts: %w", err)
	}
	if err := root.ensureTransitKey(ctx, root.cfg.WrapKey, "rsa-4096", "rsa-"); err != nil {
		return Credentials{}, fmt.Errorf("failed to set up wrap key: %w", err)
	}
	if err := root.ensureTransitKey(ctx, root.cfg.AuditKey, "ed25519", "ed25519"); err != nil {
		return Credentials{}, fmt.Errorf("failed to set up audit key: %w", err)
	}
	if err := root.ensurePortalKey(ctx); err != nil {
		return Credentials{}, fmt.Errorf("failed to set up portal key: %w", err)
	}
	if err := root.ensureMACKey(ctx); err != nil {
		return Credentials{}, fmt.Errorf("failed to set up MAC key: %w", err)
	}
	policies, err := root.renderPolicies()
	if err != nil {
		return Credentials{}, fmt.Errorf("failed to render policies: %w", err)
	}
	for _, name := range vaultpolicy.Names() {
		if err := root.putPolicy(ctx, name, policies[name]); err != nil {
			return Credentials{}, fmt.Errorf("failed to write policy %s: %w", name, err)
		}
	}
	var creds Credentials
	for _, t := range []struct {
		policy string
		dst    *string
	}{
		{vaultpolicy.Relay, &creds.RelayToken},
		{vaultpolicy.Portal, &creds.PortalToken},
		{vaultpolicy.Admin, &creds.AdminToken},
	} {
		tok, err := root.createToken(ctx, t.policy)
		if err != nil {
			return Credentials{}, fmt.Errorf("failed to create %s token: %w", t.policy, err)
		}
		*t.dst = tok
	}
	if creds.AppRoles, err = root.setupAppRoles(ctx, opt); err != nil {
		return Credentials{}, fmt.Errorf("failed to set up AppRoles: %w", err)
	}
	if creds.AuditDevices, err = root.setupAudit(ctx, opt.AuditFile); err != nil {
		return Credentials{}, fmt.Errorf("failed to set up the audit device: %w", err)
	}
	return creds, nil
}

func (c *Client) setupMounts(ctx context.Context) error {
	mctx, cancel, err := c.prepare(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	mounts, err := c.api.Sys().ListMountsWithContext(mctx)
	if err != nil {
		return vaultErr("list mounts", err)
	}
	if m, ok := mounts[c.cfg.TransitMount+"/"]; ok {
		if m.Type != "transit" {
			return fmt.Errorf("mount %s/ has type %q, want transit", c.cfg.TransitMount, m.Type)
		}
	} else if err := c.api.Sys().MountWithContext(mctx, c.cfg.TransitMount, &api.MountInput{
		Type: "transit", Description: "Sealpost keys",
	}); err != nil {
		return vaultErr("enable transit", err)
	}
	if m, ok := mounts[c.cfg.KVMount+"/"]; ok {
		if m.Type != "kv" || m.Options["version"] != "2" {
			return fmt.Errorf("mount %s/ is %q version %q, want kv version 2", c.cfg.KVMount, m.Type, m.Options["version"])
		}
		return nil
	}
	if err := c.api.Sys().MountWithContext(mctx, c.cfg.KVMount, &api.MountInput{
		Type: "kv", Description: "Sealpost directory and configuration", Options: map[string]string{"version": "2"},
	}); err != nil {
		return vaultErr("enable kv", err)
	}
	// A fresh KV v2 mount answers with errors for a moment while it
	// initialises; wait until its config reads.
	deadline := time.Now().Add(c.cfg.Timeout)
	for {
		_, err := c.read(ctx, "kv config", c.cfg.KVMount+"/config")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kv mount did not become ready: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Client) ensureTransitKey(ctx context.Context, name, typ, wantPrefix string) error {
	_, err := c.ensureTransitKeyWith(ctx, name, typ, wantPrefix, nil)
	return err
}

// ensurePortalKey creates the portal key, a derived aes256-gcm96 key, and
// refuses an existing one that is not derived: SealPortal names a
// key-derivation context with every call.
func (c *Client) ensurePortalKey(ctx context.Context) error {
	d, err := c.ensureTransitKeyWith(ctx, c.cfg.PortalKey, "aes256-gcm96", "aes256-gcm96",
		map[string]any{"derived": true})
	if err != nil {
		return err
	}
	if derived, _ := d["derived"].(bool); d != nil && !derived {
		return fmt.Errorf("transit key %s exists but is not derived; Sealpost requires derived: true", c.cfg.PortalKey)
	}
	return nil
}

// ensureTransitKeyWith creates the key with type typ and the extra
// parameters, or checks an existing one and returns its data (nil for a
// key it created).
func (c *Client) ensureTransitKeyWith(ctx context.Context, name, typ, wantPrefix string, extra map[string]any) (map[string]any, error) {
	path := c.transitPath("keys", name)
	d, err := c.read(ctx, "transit read key", path)
	switch {
	case errors.Is(err, ErrNotFound):
		body := map[string]any{"type": typ}
		for k, v := range extra {
			body[k] = v
		}
		return nil, c.writeSlow(ctx, "transit create key", path, body)
	case err != nil:
		return nil, err
	}
	got, _ := d["type"].(string)
	if !strings.HasPrefix(got, wantPrefix) {
		return nil, fmt.Errorf("transit key %s exists with type %q, want %s", name, got, typ)
	}
	if exp, _ := d["exportable"].(bool); exp {
		return nil, fmt.Errorf("transit key %s is exportable; Sealpost requires keys that never leave Vault", name)
	}
	return d, nil
}

// createKeyTimeout bounds Transit key creation: generating an RSA-4096 key
// can take far longer than an ordinary call on a busy host.
const createKeyTimeout = 2 * time.Minute

func (c *Client) putPolicy(ctx context.Context, name, rules string) error {
	pctx, cancel, err := c.prepare(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if err := c.api.Sys().PutPolicyWithContext(pctx, name, rules); err != nil {
		return vaultErr("write policy", err)
	}
	return nil
}

func (c *Client) createToken(ctx context.Context, policy string) (string, error) {
	tctx, cancel, err := c.prepare(ctx)
	if err != nil {
		return "", err
	}
	defer cancel()
	renewable := true
	s, err := c.api.Auth().Token().CreateOrphanWithContext(tctx, &api.TokenCreateRequest{
		Policies:        []string{policy},
		NoDefaultPolicy: true,
		Period:          TokenPeriod.String(),
		Renewable:       &renewable,
		DisplayName:     policy,
		Metadata:        map[string]string{"sealpost-role": strings.TrimPrefix(policy, "sealpost-")},
	})
	if err != nil {
		return "", vaultErr("create token", err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return "", errors.New("vault returned no token")
	}
	return s.Auth.ClientToken, nil
}

var policyPathRE = regexp.MustCompile(`(?m)^(\s*path\s+")([^"]*)(")`)

// renderPolicies returns the embedded policies with the default mount and
// key names replaced by the configured ones. Names were validated by New
// and contain no quotes or glob characters.
func (c *Client) renderPolicies() (map[string]string, error) {
	out := make(map[string]string)
	for name, src := range vaultpolicy.Policies() {
		out[name] = policyPathRE.ReplaceAllStringFunc(src, func(m string) string {
			sub := policyPathRE.FindStringSubmatch(m)
			return sub[1] + c.renderPath(sub[2]) + sub[3]
		})
	}
	for _, name := range vaultpolicy.Names() {
		if out[name] == "" {
			return nil, fmt.Errorf("policy %s is missing from the embedded set", name)
		}
	}
	return out, nil
}

func (c *Client) renderPath(p string) string {
	segs := strings.Split(p, "/")
	switch segs[0] {
	case DefaultTransitMount:
		for i := 1; i < len(segs); i++ {
			switch segs[i] {
			case DefaultWrapKey:
				segs[i] = c.cfg.WrapKey
			case DefaultAuditKey:
				segs[i] = c.cfg.AuditKey
			case DefaultPortalKey:
				segs[i] = c.cfg.PortalKey
			}
		}
		segs[0] = c.cfg.TransitMount
	case DefaultKVMount:
		segs[0] = c.cfg.KVMount
	}
	return strings.Join(segs, "/")
}
