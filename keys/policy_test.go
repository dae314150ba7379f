package keys_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/sealpost/sealpost/keys"
)

// TestPolicies proves, against a real Vault, what each Setup token can and
// cannot do: least privilege, verified.
func TestPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)

	blob, err := e.admin.Wrap(ctx, "m1", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := e.admin.Sign(ctx, []byte("checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	portalCT, err := e.portal.SealPortal(ctx, "totp:patient@example.net", []byte("seed"))
	if err != nil {
		t.Fatal(err)
	}
	phoneBlob, err := e.relay.WrapData(ctx, "m1", keys.PurposePhone, []byte("+447700900123"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.admin.AddRecipient(ctx, "@clinic.example", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"); err != nil {
		t.Fatal(err)
	}

	type op struct {
		name string
		run  func(c *keys.Client) error
	}
	ops := []op{
		{"Health", func(c *keys.Client) error { return c.Health(ctx) }},
		{"Wrap", func(c *keys.Client) error { _, err := c.Wrap(ctx, "m2", []byte("s")); return err }},
		{"WrapTransit", func(c *keys.Client) error { _, err := c.WrapTransit(ctx, "m2", []byte("s")); return err }},
		{"Unwrap", func(c *keys.Client) error { _, err := c.Unwrap(ctx, "m1", blob); return err }},
		{"Directory", func(c *keys.Client) error { _, err := c.Directory(ctx, "gp@clinic.example"); return err }},
		{"AddRecipient", func(c *keys.Client) error {
			return c.AddRecipient(ctx, "x@clinic.example", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p")
		}},
		{"RemoveRecipient", func(c *keys.Client) error {
			return c.RemoveRecipient(ctx, "@clinic.example", "age1nothere")
		}},
		{"ListRecipients", func(c *keys.Client) error { _, err := c.ListRecipients(ctx); return err }},
		{"MACKey", func(c *keys.Client) error { _, err := c.MACKey(ctx); return err }},
		{"Sign", func(c *keys.Client) error { _, err := c.Sign(ctx, []byte("checkpoint 2")); return err }},
		{"Verify", func(c *keys.Client) error { return c.Verify(ctx, []byte("checkpoint"), sig) }},
		{"RenewSelf", func(c *keys.Client) error { _, err := c.RenewSelf(ctx); return err }},
		{"RotateAuditKey", func(c *keys.Client) error { _, err := c.RotateAuditKey(ctx); return err }},
		{"SealPortal", func(c *keys.Client) error {
			_, err := c.SealPortal(ctx, "totp:patient@example.net", []byte("seed"))
			return err
		}},
		{"OpenPortal", func(c *keys.Client) error {
			_, err := c.OpenPortal(ctx, "totp:patient@example.net", portalCT)
			return err
		}},
		{"EnrollmentCode", func(c *keys.Client) error {
			_, err := c.EnrollmentCode(ctx, "m1", "patient@example.net")
			return err
		}},
		{"WrapData", func(c *keys.Client) error {
			_, err := c.WrapData(ctx, "m2", keys.PurposePhone, []byte("+447700900123"))
			return err
		}},
		{"UnwrapData", func(c *keys.Client) error {
			_, err := c.UnwrapData(ctx, "m1", keys.PurposePhone, phoneBlob)
			return err
		}},
	}
	const (
		allow  = true
		deny   = false
		relay  = 0
		portal = 1
		admin  = 2
	)
	// want[op] = {relay, portal, admin}
	want := map[string][3]bool{
		"Health":         {allow, allow, allow},
		"Wrap":           {allow, deny, allow},
		"WrapTransit":    {allow, deny, allow},
		"Unwrap":         {deny, allow, allow},
		"Directory":      {allow, allow, allow},
		"AddRecipient":   {deny, deny, allow},
		"ListRecipients": {deny, deny, allow},
		"MACKey":         {allow, deny, allow},
		"Sign":           {allow, deny, allow},
		"Verify":         {allow, allow, allow},
		"RenewSelf":      {allow, allow, allow},
		"RotateAuditKey": {deny, deny, allow},
		// The portal key: only the portal seals and opens with it; the
		// admin computes enrollment codes (HMAC) but opens nothing; the
		// relay has no grant at all.
		"SealPortal":     {deny, allow, deny},
		"OpenPortal":     {deny, allow, deny},
		"EnrollmentCode": {deny, allow, allow},
		// Phone numbers are wrapped like identities.
		"WrapData":   {allow, deny, allow},
		"UnwrapData": {deny, allow, allow},
		// Removing an absent recipient reads first (allowed to all), so the
		// expected outcome is "not found" for admin and 403 only on write;
		// handled below.
	}
	roles := []struct {
		name string
		c    *keys.Client
	}{{"relay", e.relay}, {"portal", e.portal}, {"admin", e.admin}}
	for _, o := range ops {
		for i, r := range roles {
			t.Run(o.name+"/"+r.name, func(t *testing.T) {
				err := o.run(r.c)
				if o.name == "RemoveRecipient" {
					// Nothing to remove: everyone gets ErrNotFound, never a
					// write attempt, so nobody is denied.
					if !errors.Is(err, keys.ErrNotFound) {
						t.Fatalf("got %v, want ErrNotFound", err)
					}
					return
				}
				w, ok := want[o.name]
				if !ok {
					t.Fatalf("no expectation for %s", o.name)
				}
				if w[i] {
					if err != nil {
						t.Fatalf("%s as %s: %v, want success", o.name, r.name, err)
					}
					return
				}
				requireDenied(t, o.name+" as "+r.name, err)
			})
		}
	}

	// Removing a present recipient is a write: only admin may.
	for _, r := range roles[:2] {
		err := r.c.RemoveRecipient(ctx, "@clinic.example", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p")
		requireDenied(t, "RemoveRecipient as "+r.name, err)
	}

	// Paths outside the keys API: the scoped tokens reach nothing else.
	raw := func(token string) *api.Client {
		c, err := api.NewClient(&api.Config{Address: e.srv.Addr})
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(token)
		return c
	}
	type rawOp struct {
		name string
		run  func(c *api.Client) error
	}
	rawOps := []rawOp{
		{"read sys/mounts", func(c *api.Client) error { _, err := c.Logical().ReadWithContext(ctx, "sys/mounts"); return err }},
		{"read audit key", func(c *api.Client) error {
			_, err := c.Logical().ReadWithContext(ctx, "transit/keys/sealpost-audit")
			return err
		}},
		{"export wrap key", func(c *api.Client) error {
			_, err := c.Logical().ReadWithContext(ctx, "transit/export/encryption-key/sealpost-wrap")
			return err
		}},
		{"rewrap", func(c *api.Client) error {
			_, err := c.Logical().WriteWithContext(ctx, "transit/rewrap/sealpost-wrap", map[string]any{"ciphertext": "vault:v1:AAAA"})
			return err
		}},
		{"rotate wrap key", func(c *api.Client) error {
			_, err := c.Logical().WriteWithContext(ctx, "transit/keys/sealpost-wrap/rotate", nil)
			return err
		}},
		{"delete wrap key", func(c *api.Client) error {
			_, err := c.Logical().DeleteWithContext(ctx, "transit/keys/sealpost-wrap")
			return err
		}},
		{"write MAC key", func(c *api.Client) error {
			_, err := c.Logical().WriteWithContext(ctx, "sealpost/data/config/mac", map[string]any{"data": map[string]any{"key": "x"}})
			return err
		}},
		{"hmac portal key with another algorithm", func(c *api.Client) error {
			_, err := c.Logical().WriteWithContext(ctx, "transit/hmac/sealpost-portal/sha2-512", map[string]any{"input": "eA=="})
			return err
		}},
		{"read portal key", func(c *api.Client) error {
			_, err := c.Logical().ReadWithContext(ctx, "transit/keys/sealpost-portal")
			return err
		}},
		{"rotate portal key", func(c *api.Client) error {
			_, err := c.Logical().WriteWithContext(ctx, "transit/keys/sealpost-portal/rotate", nil)
			return err
		}},
		{"datakey from portal key", func(c *api.Client) error {
			_, err := c.Logical().WriteWithContext(ctx, "transit/datakey/plaintext/sealpost-portal", map[string]any{"context": "eA=="})
			return err
		}},
		{"read other KV path", func(c *api.Client) error {
			_, err := c.Logical().ReadWithContext(ctx, "sealpost/data/config/other")
			return err
		}},
		{"create token", func(c *api.Client) error {
			_, err := c.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{})
			return err
		}},
		{"write policy", func(c *api.Client) error {
			return c.Sys().PutPolicyWithContext(ctx, "sealpost-relay", `path "*" { capabilities = ["sudo"] }`)
		}},
		{"read cubbyhole (no default policy)", func(c *api.Client) error {
			_, err := c.Logical().ReadWithContext(ctx, "cubbyhole/x")
			return err
		}},
	}
	// The admin may not delete or export keys either, nor mint tokens.
	adminDenied := map[string]bool{"export wrap key": true, "delete wrap key": true, "create token": true,
		"write policy": true, "read sys/mounts": true, "read cubbyhole (no default policy)": true,
		"hmac portal key with another algorithm": true, "read portal key": true, "rotate portal key": true,
		"datakey from portal key": true}
	for _, o := range rawOps {
		for _, r := range []struct{ name, token string }{
			{"relay", e.creds.RelayToken}, {"portal", e.creds.PortalToken}, {"admin", e.creds.AdminToken},
		} {
			if r.name == "admin" && !adminDenied[o.name] {
				continue
			}
			t.Run("raw/"+o.name+"/"+r.name, func(t *testing.T) {
				err := o.run(raw(r.token))
				var re *api.ResponseError
				if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
					t.Fatalf("%s as %s: got %v, want 403", o.name, r.name, err)
				}
			})
		}
	}

	// Root is recognised as root; the scoped tokens are not.
	for _, r := range []struct {
		name string
		c    *keys.Client
		want bool
	}{{"root", e.root, true}, {"relay", e.relay, false}, {"portal", e.portal, false}, {"admin", e.admin, false}} {
		got, err := r.c.IsRootToken(context.Background())
		if err != nil || got != r.want {
			t.Errorf("IsRootToken as %s = %v, %v; want %v", r.name, got, err, r.want)
		}
	}
}
