package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"github.com/emersion/go-message"

	"github.com/sealpost/sealpost/gateway/seal"
	"github.com/sealpost/sealpost/keys"
)

// TestWrapModes proves that both ways of wrapping a message's identity
// give a stored secret that only the portal's token opens, and that it
// opens the delivered ciphertext: local RSA-OAEP (the default) and Transit
// encrypt, with concurrent messages sent at once so that WrapTransit
// batches them.
func TestWrapModes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		wrapTransit bool
		prefix      string
	}{
		{"local", false, "spw1:"},
		{"transit", true, "spt1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{wrapTransit: tc.wrapTransit})
			const n = 6
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					errs[i] = h.send("doctor@example.org", []string{"patient@example.net"},
						sensitiveMessage(fmt.Sprintf("[secure] Discharge summary %d", i)))
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			ds := h.capture.Deliveries()
			if len(ds) != n {
				t.Fatalf("got %d deliveries, want %d", len(ds), n)
			}
			portalKC := newKeysClient(t, h, h.creds.PortalToken)
			ctx := context.Background()
			subjects := map[string]bool{}
			for _, d := range ds {
				assertNoPHI(t, "delivered copy", d.Data)
				ent, err := message.Read(bytes.NewReader(d.Data))
				must(t, err)
				id, _, ok := seal.VerifyID(h.relay.deps.MACKey, ent.Header.Get("X-Sealpost-Id"))
				if !ok {
					t.Fatalf("X-Sealpost-Id does not verify")
				}
				m, err := h.store.GetMessage(ctx, id)
				must(t, err)
				if !strings.HasPrefix(string(m.Wrapped), tc.prefix) {
					t.Fatalf("wrapped secret starts %q, want %q", string(m.Wrapped[:min(5, len(m.Wrapped))]), tc.prefix)
				}
				if _, err := h.relayKC.Unwrap(ctx, id, m.Wrapped); !errors.Is(err, keys.ErrPermissionDenied) {
					t.Fatalf("relay token unwrap: err = %v, want permission denied", err)
				}
				secret, err := portalKC.Unwrap(ctx, id, m.Wrapped)
				must(t, err)
				ids, err := age.ParseIdentities(bytes.NewReader(secret))
				must(t, err)
				plain := string(decrypt(t, sealedAttachment(t, d.Data), ids[0]))
				for i := range n {
					if plain == stripped(sensitiveMessage(fmt.Sprintf("[secure] Discharge summary %d", i))) {
						subjects[plain] = true
					}
				}
			}
			if len(subjects) != n {
				t.Fatalf("%d distinct originals opened, want %d", len(subjects), n)
			}
		})
	}
}
