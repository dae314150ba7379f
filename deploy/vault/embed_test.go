package vaultpolicy

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl"
)

type policyFile struct {
	Path map[string]struct {
		Capabilities []string `hcl:"capabilities"`
	} `hcl:"path"`
}

func parse(t *testing.T, name string) policyFile {
	t.Helper()
	src, ok := Policies()[name]
	if !ok {
		t.Fatalf("policy %s is not embedded", name)
	}
	var p policyFile
	if err := hcl.Decode(&p, src); err != nil {
		t.Fatalf("policy %s does not parse as HCL: %v", name, err)
	}
	return p
}

func TestPoliciesEmbedded(t *testing.T) {
	got := Policies()
	if len(got) != len(Names()) {
		t.Fatalf("embedded %d policies, want %d", len(got), len(Names()))
	}
	for _, name := range Names() {
		if strings.TrimSpace(got[name]) == "" {
			t.Errorf("policy %s is empty", name)
		}
	}
}

// The authoritative check of what each policy allows is the keys package's
// test against a real Vault; this pins the one property that must never
// regress in the files themselves.
func TestPolicyShapes(t *testing.T) {
	tests := []struct {
		policy   string
		path     string
		wantCaps []string // nil means the path must be absent
	}{
		{Relay, "transit/keys/sealpost-wrap", []string{"read"}},
		{Relay, "transit/encrypt/sealpost-wrap", []string{"update"}},
		{Relay, "transit/decrypt/sealpost-wrap", nil},
		{Relay, "transit/rewrap/sealpost-wrap", nil},
		{Relay, "sealpost/*", nil},
		{Portal, "transit/decrypt/sealpost-wrap", []string{"update"}},
		{Portal, "transit/encrypt/sealpost-wrap", nil},
		{Portal, "transit/sign/sealpost-audit", nil},
		{Admin, "transit/decrypt/sealpost-wrap", []string{"update"}},
		{Admin, "transit/keys/sealpost-wrap/*", []string{"update"}},
		{Relay, "transit/encrypt/sealpost-portal", nil},
		{Relay, "transit/decrypt/sealpost-portal", nil},
		{Relay, "transit/hmac/sealpost-portal/sha2-256", nil},
		{Portal, "transit/encrypt/sealpost-portal", []string{"update"}},
		{Portal, "transit/decrypt/sealpost-portal", []string{"update"}},
		{Portal, "transit/hmac/sealpost-portal/sha2-256", []string{"update"}},
		{Admin, "transit/hmac/sealpost-portal/sha2-256", []string{"update"}},
		{Admin, "transit/decrypt/sealpost-portal", nil},
		{Admin, "transit/encrypt/sealpost-portal", nil},
		{Rewrap, "transit/hmac/sealpost-portal/sha2-256", nil},
	}
	for _, tt := range tests {
		p := parse(t, tt.policy)
		got, ok := p.Path[tt.path]
		switch {
		case tt.wantCaps == nil && ok:
			t.Errorf("%s grants %v on %s, want no grant", tt.policy, got.Capabilities, tt.path)
		case tt.wantCaps != nil && !ok:
			t.Errorf("%s has no grant on %s, want %v", tt.policy, tt.path, tt.wantCaps)
		case tt.wantCaps != nil && strings.Join(got.Capabilities, ",") != strings.Join(tt.wantCaps, ","):
			t.Errorf("%s grants %v on %s, want %v", tt.policy, got.Capabilities, tt.path, tt.wantCaps)
		}
	}
	// No policy may ever grant delete on a Transit key or export it.
	for _, name := range Names() {
		for path, rule := range parse(t, name).Path {
			if strings.HasPrefix(path, "transit/export") || strings.HasPrefix(path, "transit/backup") {
				t.Errorf("%s grants %v on %s", name, rule.Capabilities, path)
			}
			if strings.HasPrefix(path, "transit/keys/") {
				for _, c := range rule.Capabilities {
					if c == "delete" {
						t.Errorf("%s grants delete on %s", name, path)
					}
				}
			}
		}
	}
}
