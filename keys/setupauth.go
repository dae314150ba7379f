package keys

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/vault/api"

	vaultpolicy "github.com/sealpost/sealpost/deploy/vault"
)

// SetupOptions are the optional parts of [SetupWith].
type SetupOptions struct {
	// AuditFile is the absolute path, on the Vault server's host, of the
	// file audit device SetupWith enables at AuditDevicePath, so that every
	// unwrap (a Transit decrypt) is on Vault's own record. Vault must be
	// able to create and write the file. Default none: no device is
	// enabled, and Credentials.AuditDevices shows whether another one is.
	AuditFile string
	// SecretIDs asks for one new AppRole secret id per role, returned in
	// Credentials.AppRoles. Default false.
	SecretIDs bool
	// AppRoleTokenTTL is the TTL of tokens from an AppRole login; the
	// client renews them (see [Client.KeepAlive]). Default 15m.
	AppRoleTokenTTL time.Duration
	// AppRoleTokenMaxTTL is how long such a token may be renewed; then the
	// client logs in again with its secret id. Default 1h.
	AppRoleTokenMaxTTL time.Duration
}

// Defaults of SetupOptions and the audit device's path in Vault.
const (
	DefaultAppRoleTokenTTL    = 15 * time.Minute
	DefaultAppRoleTokenMaxTTL = time.Hour
	AuditDevicePath           = "sealpost"
)

func (o *SetupOptions) setDefaults() error {
	if o.AppRoleTokenTTL <= 0 {
		o.AppRoleTokenTTL = DefaultAppRoleTokenTTL
	}
	if o.AppRoleTokenMaxTTL <= 0 {
		o.AppRoleTokenMaxTTL = DefaultAppRoleTokenMaxTTL
	}
	if o.AppRoleTokenTTL%time.Second != 0 || o.AppRoleTokenMaxTTL%time.Second != 0 {
		return errors.New("failed to set up vault: AppRole token TTLs must be whole seconds")
	}
	if o.AppRoleTokenMaxTTL < o.AppRoleTokenTTL {
		return errors.New("failed to set up vault: AppRole token max TTL is below its TTL")
	}
	if o.AuditFile != "" && !filepath.IsAbs(o.AuditFile) {
		return fmt.Errorf("failed to set up vault: audit file %q is not an absolute path", o.AuditFile)
	}
	return nil
}

// AppRoleCredentials log in with AppRole: Config.AppRoleID is RoleID, and
// the file Config.AppRoleSecretIDFile holds SecretID.
type AppRoleCredentials struct {
	RoleID   string
	SecretID string
}

// setupAppRoles enables AppRole and writes one role per policy.
func (c *Client) setupAppRoles(ctx context.Context, opt SetupOptions) (map[string]AppRoleCredentials, error) {
	if err := c.ensureAuthMount(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]AppRoleCredentials)
	for _, policy := range vaultpolicy.Names() {
		role := c.appRolePath(policy)
		// Writing a role keeps its role id; writing the same settings again
		// changes nothing.
		if _, err := c.write(ctx, "approle write role", role, map[string]any{
			"token_policies":          []string{policy},
			"token_no_default_policy": true,
			"token_type":              "service",
			"token_ttl":               int(opt.AppRoleTokenTTL / time.Second),
			"token_max_ttl":           int(opt.AppRoleTokenMaxTTL / time.Second),
			"bind_secret_id":          true,
			"secret_id_ttl":           0,
			"secret_id_num_uses":      0,
		}); err != nil {
			return nil, fmt.Errorf("failed to write role %s: %w", policy, err)
		}
		d, err := c.read(ctx, "approle read role id", role+"/role-id")
		if err != nil {
			return nil, fmt.Errorf("failed to read role id of %s: %w", policy, err)
		}
		var cr AppRoleCredentials
		cr.RoleID, _ = d["role_id"].(string)
		if cr.RoleID == "" {
			return nil, fmt.Errorf("vault returned no role id for %s", policy)
		}
		if opt.SecretIDs {
			d, err := c.write(ctx, "approle issue secret id", role+"/secret-id", map[string]any{
				"metadata": `{"issued_by":"sealpost vault setup"}`,
			})
			if err != nil {
				return nil, fmt.Errorf("failed to issue a secret id for %s: %w", policy, err)
			}
			if cr.SecretID, _ = d["secret_id"].(string); cr.SecretID == "" {
				return nil, fmt.Errorf("vault returned no secret id for %s", policy)
			}
		}
		out[policy] = cr
	}
	return out, nil
}

func (c *Client) appRolePath(policy string) string {
	return "auth/" + c.cfg.AppRoleMount + "/role/" + policy
}

// ensureAuthMount enables the AppRole auth method at AppRoleMount if absent.
func (c *Client) ensureAuthMount(ctx context.Context) error {
	var mounts map[string]*api.AuthMount
	if err := c.call(ctx, "list auth methods", func(ctx context.Context) (err error) {
		mounts, err = c.api.Sys().ListAuthWithContext(ctx)
		return err
	}); err != nil {
		return err
	}
	if m, ok := mounts[c.cfg.AppRoleMount+"/"]; ok {
		if m.Type != "approle" {
			return fmt.Errorf("auth method %s/ has type %q, want approle", c.cfg.AppRoleMount, m.Type)
		}
		return nil
	}
	return c.call(ctx, "enable approle", func(ctx context.Context) error {
		return c.api.Sys().EnableAuthWithOptionsWithContext(ctx, c.cfg.AppRoleMount, &api.EnableAuthOptions{
			Type: "approle", Description: "Sealpost relay, portal and admin",
		})
	})
}

// setupAudit enables a file audit device writing to file, unless one
// already does, and returns every enabled device.
func (c *Client) setupAudit(ctx context.Context, file string) ([]string, error) {
	var devs map[string]*api.Audit
	list := func() error {
		return c.call(ctx, "list audit devices", func(ctx context.Context) (err error) {
			devs, err = c.api.Sys().ListAuditWithContext(ctx)
			return err
		})
	}
	if err := list(); err != nil {
		return nil, err
	}
	if file != "" && !hasFileAudit(devs, file) {
		if d, ok := devs[AuditDevicePath+"/"]; ok {
			return nil, fmt.Errorf("audit device %s/ exists but writes elsewhere (type %s, file %q); "+
				"disable it or ask for its file", AuditDevicePath, d.Type, d.Options["file_path"])
		}
		if err := c.call(ctx, "enable audit device", func(ctx context.Context) error {
			return c.api.Sys().EnableAuditWithOptionsWithContext(ctx, AuditDevicePath, &api.EnableAuditOptions{
				Type: "file", Description: "Sealpost: every unwrap on Vault's record",
				Options: map[string]string{"file_path": file},
			})
		}); err != nil {
			return nil, err
		}
		if err := list(); err != nil {
			return nil, err
		}
	}
	var out []string
	for path, d := range devs {
		out = append(out, fmt.Sprintf("%s (%s)", path, d.Type))
	}
	slices.Sort(out)
	return out, nil
}

func hasFileAudit(devs map[string]*api.Audit, file string) bool {
	for _, d := range devs {
		if d.Type == "file" && filepath.Clean(d.Options["file_path"]) == filepath.Clean(file) {
			return true
		}
	}
	return false
}
