package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// TestCheckpointWithVaultTransit signs and verifies checkpoints with the
// real ed25519 Transit audit key, with the tokens keys.Setup issues: the
// relay signs, the portal can only verify.
func TestCheckpointWithVaultTransit(t *testing.T) {
	srv := vaulttest.Start(t)
	creds := vaulttest.Setup(t, srv)
	relay, err := keys.New(keys.Config{Address: srv.Addr, Token: creds.RelayToken})
	if err != nil {
		t.Fatal(err)
	}
	portal, err := keys.New(keys.Config{Address: srv.Addr, Token: creds.PortalToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	f := newFixture(t)
	f.appendN(t, 6)
	cp, err := f.log.Checkpoint(ctx, relay, f.cp)
	if err != nil {
		t.Fatalf("Checkpoint with Vault: %v", err)
	}
	if !strings.HasPrefix(cp.Signature, "vault:v1:") {
		t.Errorf("signature %q is not a Vault Transit signature", cp.Signature)
	}
	f.appendN(t, 2)
	// A second checkpoint verifies the first through Vault before signing.
	if _, err := f.log.Checkpoint(ctx, relay, f.cp); err != nil {
		t.Fatalf("second Checkpoint with Vault: %v", err)
	}
	r, err := f.log.Verify(ctx, portal, f.cp)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Checkpoint == nil || r.Checkpoint.Seq != 8 {
		t.Fatalf("Verify with the portal token: %+v", r)
	}
	// The portal may verify but not sign.
	if _, err := f.log.Checkpoint(ctx, portal, f.cp); !errors.Is(err, keys.ErrPermissionDenied) {
		t.Errorf("Checkpoint with the portal token = %v, want permission denied", err)
	}

	// Rewrite the chain consistently and sign a checkpoint over it with a
	// key that is not Vault's: Verify must reject the signature and the
	// checkpoint signed by Vault must not match the rewritten chain.
	dropTriggers(t, f.st.DB())
	rewriteFrom(t, f, 2)
	r, err = f.log.Verify(ctx, portal, f.cp)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || r.Problems[0].Seq != 8 {
		t.Errorf("after a consistent rewrite, problems = %+v, want the first at seq 8", r.Problems)
	}
	local := newSigner(t)
	head, _ := f.log.Head(ctx)
	forged := Checkpoint{Seq: head.Seq, Hash: head.Hash, Time: time.Now().UTC()}
	forged.Signature, _ = local.Sign(ctx, forged.SignedData())
	forged.Signature = "vault:v1:" + strings.TrimPrefix(forged.Signature, "ed25519:")
	if err := writeCheckpoint(f.cp, forged); err != nil {
		t.Fatal(err)
	}
	r, err = f.log.Verify(ctx, portal, f.cp)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || r.Problems[0].Seq != 0 || !strings.Contains(r.Problems[0].Reason, "signature") {
		t.Errorf("forged checkpoint: problems = %+v, want a signature problem", r.Problems)
	}
}
