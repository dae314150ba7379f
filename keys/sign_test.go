package keys_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sealpost/sealpost/keys"
)

func TestSignVerify(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	data := []byte("checkpoint seq=42 head=9f86d081884c7d65")
	sig, err := e.relay.Sign(ctx, data)
	if err != nil {
		t.Fatalf("relay sign: %v", err)
	}
	if !strings.HasPrefix(sig, "vault:v1:") {
		t.Fatalf("signature %q is not a Transit signature", sig)
	}
	for name, c := range map[string]*keys.Client{"relay": e.relay, "portal": e.portal, "admin": e.admin} {
		if err := c.Verify(ctx, data, sig); err != nil {
			t.Fatalf("%s verify: %v", name, err)
		}
	}

	other, err := e.relay.Sign(ctx, []byte("another checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(strings.Replace(string(data), "42", "43", 1))
	flipped := []byte(sig)
	flipped[len(flipped)-5] ^= 0x01
	tests := []struct {
		name string
		data []byte
		sig  string
	}{
		{"tampered data", tampered, sig},
		{"empty data", nil, sig},
		{"signature of other data", data, other},
		{"flipped signature byte", data, string(flipped)},
		{"unknown key version", data, strings.Replace(sig, "vault:v1:", "vault:v9:", 1)},
		{"not a signature", data, "hello"},
		{"empty signature", data, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.portal.Verify(ctx, tt.data, tt.sig)
			if !errors.Is(err, keys.ErrBadSignature) {
				t.Fatalf("Verify: got %v, want ErrBadSignature", err)
			}
		})
	}

	// After the audit key is rotated, new checkpoints use version 2 and old
	// ones still verify.
	if v, err := e.admin.RotateAuditKey(ctx); err != nil || v != 2 {
		t.Fatalf("RotateAuditKey = %d, %v", v, err)
	}
	sig2, err := e.relay.Sign(ctx, data)
	if err != nil || !strings.HasPrefix(sig2, "vault:v2:") {
		t.Fatalf("sign after rotation: %q, %v", sig2, err)
	}
	if err := e.relay.Verify(ctx, data, sig); err != nil {
		t.Fatalf("old signature after rotation: %v", err)
	}
}
