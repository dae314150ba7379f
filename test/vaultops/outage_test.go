package vaultops

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// While Vault is unreachable or sealed the relay defers sealing with 451,
// /readyz says not ready and the metrics count it; when Vault returns the
// same relay process seals again, with nothing restarted but Vault.
func TestVaultOutage(t *testing.T) {
	tests := []struct {
		name         string
		down, repair func(t *testing.T, v *vaulttest.Server)
	}{
		{
			name:   "stopped and restarted",
			down:   func(t *testing.T, v *vaulttest.Server) { v.Stop(t) },
			repair: func(t *testing.T, v *vaulttest.Server) { v.Restart(t) }, // unseals, as an operator would
		},
		{
			name:   "sealed and unsealed",
			down:   func(t *testing.T, v *vaulttest.Server) { v.Seal(t) },
			repair: func(t *testing.T, v *vaulttest.Server) { v.Unseal(t) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := vaulttest.StartPersistent(t)
			creds := vaulttest.Setup(t, v)
			s := startStack(t, config.Vault{Address: v.Addr, Token: creds.RelayToken})

			s.requireSealed("before")
			if got := s.metric("sealpost_vault_up"); got != 1 {
				t.Fatalf("sealpost_vault_up = %v before the outage", got)
			}
			deferrals := s.metric("sealpost_vault_unavailable_deferrals_total")

			tt.down(t, v)
			s.waitVault(false)
			s.requireDeferred("during-1")
			s.requireDeferred("during-2")
			if got := s.ready(); got != http.StatusServiceUnavailable {
				t.Fatalf("/readyz during the outage: %d, want 503", got)
			}
			if got := s.metric("sealpost_vault_up"); got != 0 {
				t.Fatalf("sealpost_vault_up = %v during the outage", got)
			}
			if got := s.metric("sealpost_vault_unavailable_deferrals_total"); got < deferrals+2 {
				t.Fatalf("deferrals counted %v, want at least %v", got, deferrals+2)
			}

			tt.repair(t, v)
			s.waitVault(true)
			s.requireSealed("during-1") // the deferred message, retried
			s.requireSealed("after")
			if got := s.ready(); got != http.StatusOK {
				t.Fatalf("/readyz after recovery: %d, want 200", got)
			}
			if got := s.metric("sealpost_vault_up"); got != 1 {
				t.Fatalf("sealpost_vault_up = %v after recovery", got)
			}
			// What was sealed before and after the outage opens.
			portal := v.Client(t, creds.PortalToken)
			for _, id := range []string{"before", "during-1", "after"} {
				got, err := s.open(context.Background(), portal, *s.delivery(id))
				if err != nil || !strings.Contains(got, "results for "+id) {
					t.Fatalf("message %s does not open through the portal path: %v", id, err)
				}
			}
		})
	}
}

// A relay token revoked mid-run: with AppRole the relay logs in again and
// keeps sealing; with a token file it defers until the file holds a new
// valid token, then recovers by itself.
func TestTokenRevokedMidRun(t *testing.T) {
	t.Run("approle", func(t *testing.T) {
		v := vaulttest.StartPersistent(t)
		creds, err := keys.SetupWith(context.Background(), v.Client(t, v.RootToken), keys.SetupOptions{SecretIDs: true})
		if err != nil {
			t.Fatal(err)
		}
		ar := creds.AppRoles["sealpost-relay"]
		sidFile := filepath.Join(t.TempDir(), "secret-id")
		if err := os.WriteFile(sidFile, []byte(ar.SecretID+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s := startStack(t, config.Vault{Address: v.Addr,
			AppRole: config.VaultAppRole{RoleID: ar.RoleID, SecretIDFile: sidFile}})
		s.requireSealed("m0")
		root := v.API(t)
		for i := 1; i <= 3; i++ {
			ti, err := s.node.Keys.TokenInfo(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ti.Meta["role_name"] != "sealpost-relay" {
				t.Fatalf("the node did not log in as sealpost-relay: %+v", ti)
			}
			if err := root.Auth().Token().RevokeAccessor(ti.Accessor); err != nil {
				t.Fatal(err)
			}
			// No deferral: the next Vault request logs in again.
			s.requireSealed(fmt.Sprintf("m%d", i))
			after, err := s.node.Keys.TokenInfo(context.Background())
			if err != nil || after.Accessor == ti.Accessor {
				t.Fatalf("round %d: the node still holds the revoked token (%v)", i, err)
			}
		}
		if !s.node.Relay.VaultUp() {
			t.Fatal("vault marked down although the relay logged in again")
		}
	})

	t.Run("token file", func(t *testing.T) {
		v := vaulttest.StartPersistent(t)
		creds := vaulttest.Setup(t, v)
		tokFile := filepath.Join(t.TempDir(), "relay.token")
		if err := os.WriteFile(tokFile, []byte(creds.RelayToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s := startStack(t, config.Vault{Address: v.Addr, TokenFile: tokFile})
		s.requireSealed("m0")

		if err := v.API(t).Auth().Token().RevokeOrphan(creds.RelayToken); err != nil {
			t.Fatal(err)
		}
		s.waitVault(false)
		s.requireDeferred("m1")
		if got := s.ready(); got != http.StatusServiceUnavailable {
			t.Fatalf("/readyz with a revoked token: %d, want 503", got)
		}

		// The operator (or Vault Agent) writes a new token; no restart.
		renewable := true
		sec, err := v.API(t).Auth().Token().CreateOrphan(&api.TokenCreateRequest{
			Policies: []string{"sealpost-relay"}, NoDefaultPolicy: true, Period: "1h", Renewable: &renewable,
		})
		if err != nil {
			t.Fatal(err)
		}
		tmp := tokFile + ".new"
		if err := os.WriteFile(tmp, []byte(sec.Auth.ClientToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, tokFile); err != nil { // as Vault Agent's sink does
			t.Fatal(err)
		}
		s.waitVault(true)
		s.requireSealed("m1")
		s.requireSealed("m2")
	})
}
