package config

import (
	"slices"
	"testing"
)

// The Vault login settings: exactly one of token, token_file and approle,
// and every problem names its field.
func TestVaultAuthValidation(t *testing.T) {
	const head = "next_hop:\n  addr: 127.0.0.1:25\nvault:\n  address: http://127.0.0.1:8200\n"
	tests := []struct {
		name  string
		vault string // more keys of the vault section
		env   string // VAULT_TOKEN
		want  []string
	}{
		{"token", "  token: s.t\n", "", nil},
		{"token file", "  token_file: /run/t\n", "", nil},
		{"approle", "  approle: {role_id: r, secret_id_file: /run/sid}\n", "", nil},
		{"approle ignores VAULT_TOKEN", "  approle: {role_id: r, secret_id_file: /run/sid}\n", "s.env", nil},
		{"approle and token file", "  token_file: /run/t\n  approle: {role_id: r, secret_id_file: /run/sid}\n", "", []string{"vault.approle.role_id"}},
		{"approle and token", "  token: s.t\n  approle: {role_id: r, secret_id_file: /run/sid}\n", "", []string{"vault.approle.role_id"}},
		{"role id without secret id file", "  approle: {role_id: r}\n", "", []string{"vault.approle.secret_id_file"}},
		{"secret id file without role id", "  token: s.t\n  approle: {secret_id_file: /run/sid}\n", "", []string{"vault.approle.role_id"}},
		{"nothing", "", "", []string{"vault.token_file"}},
		{"failover addresses", "  token: s.t\n  failover_addresses: [http://v2:8200, https://v3:8200]\n", "", nil},
		{"bad failover address", "  token: s.t\n  failover_addresses: [http://v2:8200, v3]\n", "", []string{"vault.failover_addresses[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearVaultEnv(t)
			t.Setenv("VAULT_TOKEN", tt.env)
			c, err := Parse([]byte(head + tt.vault))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if c.Vault.AppRole.RoleID != "" && c.Vault.Token != "" {
					t.Fatalf("VAULT_TOKEN was taken alongside an AppRole: %+v", c.Vault)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse accepted the config")
			}
			if got := fieldErrors(t, err); !slices.Equal(got, tt.want) {
				t.Fatalf("fields %v, want %v (%v)", got, tt.want, err)
			}
		})
	}
}
