package keys_test

import (
	"errors"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/sealpost/sealpost/keys"
)

// TestRewrapAndMinVersion proves, against a real Vault, that Transit
// rewrap moves both wrapped formats to the new key version with the same
// bound plaintext, that only admin may rewrap and raise the minimum, and
// that raising the minimum shreds every secret left under an older version.
func TestRewrapAndMinVersion(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	secret := func() string {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		return id.String()
	}
	local, transit := secret(), secret()
	blobLocal, err := e.relay.Wrap(ctx, "m-local", []byte(local))
	if err != nil {
		t.Fatal(err)
	}
	blobTransit, err := e.relay.WrapTransit(ctx, "m-transit", []byte(transit))
	if err != nil {
		t.Fatal(err)
	}

	kv, err := e.admin.WrapKeyVersions(ctx)
	if err != nil {
		t.Fatalf("admin reads wrap key versions: %v", err)
	}
	if kv.Latest != 1 || kv.MinDecryption != 1 || kv.Created[1].IsZero() {
		t.Fatalf("fresh wrap key versions = %+v, want latest 1, min 1, a creation time", kv)
	}
	if v, err := e.admin.RotateWrapKey(ctx); err != nil || v != 2 {
		t.Fatalf("rotate = %d, %v; want 2", v, err)
	}

	in := [][]byte{blobLocal, blobTransit, []byte("spw1:not a blob")}
	for name, c := range map[string]*keys.Client{"relay": e.relay, "portal": e.portal} {
		_, err := c.Rewrap(ctx, in)
		requireDenied(t, name+" rewrap", err)
		requireDenied(t, name+" set min_decryption_version", c.SetWrapKeyMinDecryptionVersion(ctx, 2))
	}
	res, err := e.admin.Rewrap(ctx, in)
	if err != nil {
		t.Fatalf("admin rewrap: %v", err)
	}
	rewrapped := res
	if len(res) != len(in) {
		t.Fatalf("rewrap returned %d results for %d inputs", len(res), len(in))
	}
	if !errors.Is(res[2].Err, keys.ErrMalformedWrapped) {
		t.Errorf("malformed input: err %v, want ErrMalformedWrapped", res[2].Err)
	}
	for i, tc := range []struct {
		id, secret string
		scheme     keys.WrapScheme
	}{{"m-local", local, keys.SchemeLocal}, {"m-transit", transit, keys.SchemeTransit}} {
		r := res[i]
		if r.Err != nil {
			t.Fatalf("%s: rewrap failed: %v", tc.id, r.Err)
		}
		w, err := keys.ParseWrapped(r.Wrapped)
		if err != nil {
			t.Fatalf("%s: rewrapped blob does not parse: %v", tc.id, err)
		}
		if w.KeyVersion != 2 || r.KeyVersion != 2 || w.Scheme != tc.scheme {
			t.Errorf("%s: rewrapped to version %d (%d) scheme %v, want 2 and %v", tc.id, w.KeyVersion, r.KeyVersion, w.Scheme, tc.scheme)
		}
		got, err := e.portal.Unwrap(ctx, tc.id, r.Wrapped)
		if err != nil || string(got) != tc.secret {
			t.Fatalf("%s: portal unwrap of the rewrapped blob: %v (same secret: %v)", tc.id, err, string(got) == tc.secret)
		}
		// The binding survived the rewrap: it opens for its own id only.
		if _, err := e.portal.Unwrap(ctx, "m-other", r.Wrapped); !errors.Is(err, keys.ErrWrongMessage) {
			t.Errorf("%s: rewrapped blob under another id: %v, want ErrWrongMessage", tc.id, err)
		}
	}

	if err := e.admin.SetWrapKeyMinDecryptionVersion(ctx, 2); err != nil {
		t.Fatalf("admin raises min_decryption_version: %v", err)
	}
	kv, err = e.relay.WrapKeyVersions(ctx)
	if err != nil {
		t.Fatalf("relay reads wrap key versions: %v", err)
	}
	if kv.Latest != 2 || kv.MinDecryption != 2 {
		t.Fatalf("after raising: %+v, want latest 2, min 2", kv)
	}
	// The un-rewrapped version-1 blobs are shredded for everyone, admin
	// included, and can no longer be rewrapped either.
	for _, c := range []*keys.Client{e.portal, e.admin} {
		if _, err := c.Unwrap(ctx, "m-local", blobLocal); err == nil {
			t.Fatal("a version-1 blob still opens after min_decryption_version was raised to 2")
		}
	}
	res, err = e.admin.Rewrap(ctx, [][]byte{blobTransit})
	if err != nil {
		t.Fatalf("rewrap request: %v", err)
	}
	if res[0].Err == nil {
		t.Fatal("Transit rewrapped a blob below min_decryption_version")
	}
	// The rewrapped ones still open.
	for i, tc := range []struct{ id, secret string }{{"m-local", local}, {"m-transit", transit}} {
		if got, err := e.portal.Unwrap(ctx, tc.id, rewrapped[i].Wrapped); err != nil || string(got) != tc.secret {
			t.Errorf("%s: rewrapped blob after raising the minimum: %v", tc.id, err)
		}
	}
}

// TestAuditKeyRotation proves that checkpoints signed before a rotation of
// the audit key still verify, and that only admin may rotate it.
func TestAuditKeyRotation(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	data := []byte("checkpoint 1")
	old, err := e.relay.Sign(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*keys.Client{"relay": e.relay, "portal": e.portal} {
		_, err := c.RotateAuditKey(ctx)
		requireDenied(t, name+" rotates the audit key", err)
	}
	if v, err := e.admin.RotateAuditKey(ctx); err != nil || v != 2 {
		t.Fatalf("admin rotates the audit key: %d, %v; want 2", v, err)
	}
	kv, err := e.admin.AuditKeyVersions(ctx)
	if err != nil || kv.Latest != 2 || kv.MinDecryption != 1 {
		t.Fatalf("audit key versions = %+v, %v; want latest 2, min 1", kv, err)
	}
	fresh, err := e.relay.Sign(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(old, "vault:v1:") || !strings.HasPrefix(fresh, "vault:v2:") {
		t.Fatalf("signatures %q… and %q… do not name versions 1 and 2", old[:9], fresh[:9])
	}
	for name, c := range map[string]*keys.Client{"relay": e.relay, "portal": e.portal} {
		for _, sig := range []string{old, fresh} {
			if err := c.Verify(ctx, data, sig); err != nil {
				t.Errorf("%s verifies a %s signature after rotation: %v", name, sig[:8], err)
			}
		}
		if err := c.Verify(ctx, []byte("checkpoint 2"), old); !errors.Is(err, keys.ErrBadSignature) {
			t.Errorf("%s: old signature over other data: %v, want ErrBadSignature", name, err)
		}
	}
}

// TestBreakGlassNeedsAdmin proves that break-glass is refused with Vault's
// 403 for the relay and the portal (although the portal may unwrap for
// recipients), and needs a reason.
func TestBreakGlassNeedsAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	blob, err := e.relay.Wrap(ctx, "m-bg", []byte(id.String()))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*keys.Client{"relay": e.relay, "portal": e.portal} {
		_, err := c.BreakGlass(ctx, "m-bg", blob, "admin:test", "court order 12")
		requireDenied(t, name+" break-glass", err)
	}
	for _, tc := range []struct{ id, actor, reason string }{
		{"m-bg", "admin:test", ""},
		{"m-bg", "", "reason"},
		{"../config/mac", "admin:test", "reason"},
	} {
		if _, err := e.admin.BreakGlass(ctx, tc.id, blob, tc.actor, tc.reason); err == nil || errors.Is(err, keys.ErrPermissionDenied) {
			t.Errorf("break-glass %+v: %v, want a refusal before Vault", tc, err)
		}
	}
	got, err := e.admin.BreakGlass(ctx, "m-bg", blob, "admin:test", "court order 12")
	if err != nil {
		t.Fatalf("admin break-glass: %v", err)
	}
	if string(got) != id.String() {
		t.Fatal("break-glass returned a different secret")
	}
	name, err := e.admin.TokenName(ctx)
	if err != nil || !strings.Contains(name, "sealpost-admin") {
		t.Errorf("admin TokenName = %q, %v; want it to name sealpost-admin", name, err)
	}
}
