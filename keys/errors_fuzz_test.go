package keys

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitMultiError(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"permission denied", []string{"permission denied"}},
		{"1 error occurred:\n\t* permission denied\n\n", []string{"permission denied"}},
		{"2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n", []string{"permission denied", "invalid token"}},
		{"  spaced  ", []string{"spaced"}},
		{"no occurred here:\n\t* x", []string{"no occurred here:\n\t* x"}},
		{"0 errors occurred:\n\n", []string{"0 errors occurred:"}},
	}
	for _, tt := range tests {
		if got := splitMultiError(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitMultiError(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSplitMultiError: any string yields at least one message, and Vault's
// multi-error format built from one-line messages gives them back.
func FuzzSplitMultiError(f *testing.F) {
	f.Add("permission denied", "invalid token")
	f.Add("1 error occurred:\n\t* x\n\n", "")
	f.Add("* leading star", "  ")
	f.Fuzz(func(t *testing.T, a, b string) {
		if got := splitMultiError(a); len(got) == 0 {
			t.Fatalf("no message for %q", a)
		}
		oneLine := func(s string) bool {
			return !strings.ContainsAny(s, "\r\n") && strings.TrimSpace(s) == s && s != "" &&
				strings.TrimSpace(strings.TrimPrefix(s, "*")) == s
		}
		if !oneLine(a) || !oneLine(b) {
			return
		}
		in := "2 errors occurred:\n\t* " + a + "\n\t* " + b + "\n\n"
		if got := splitMultiError(in); !slices.Equal(got, []string{a, b}) {
			t.Fatalf("splitMultiError(%q) = %q, want [%q %q]", in, got, a, b)
		}
	})
}
