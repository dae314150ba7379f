package config

import (
	"strings"
	"testing"
)

func TestMRNPatternsAreValidated(t *testing.T) {
	base := "vault: {address: http://127.0.0.1:8200, token: t}\nnext_hop: {addr: 127.0.0.1:25}\n"
	good := base + "policy:\n  mrn_patterns:\n    - {name: trust-mrn, regexp: 'RX[0-9]{7}', context: [MRN]}\n"
	c, err := Parse([]byte(good))
	if err != nil {
		t.Fatalf("good patterns refused: %v", err)
	}
	if len(c.Policy.MRNPatterns) != 1 || c.Policy.MRNPatterns[0].Context[0] != "MRN" {
		t.Fatalf("patterns not kept: %+v", c.Policy.MRNPatterns)
	}
	for _, tc := range []struct{ yaml, field string }{
		{"    - {name: a, regexp: 'RX[0-9'}\n", "policy.mrn_patterns[0].regexp"},
		{"    - {regexp: 'RX[0-9]{7}'}\n", "policy.mrn_patterns[0].name"},
		{"    - {name: a}\n", "policy.mrn_patterns[0].regexp"},
		{"    - {name: a, regexp: 'A[0-9]{6}'}\n    - {name: a, regexp: 'B[0-9]{6}'}\n", "policy.mrn_patterns[1].name"},
	} {
		_, err := Parse([]byte(base + "policy:\n  mrn_patterns:\n" + tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%q: got %v, want an error naming %s", tc.yaml, err, tc.field)
		}
	}
}
