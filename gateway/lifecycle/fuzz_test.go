package lifecycle

import "testing"

// FuzzParseCursor checks that the rewrap cursor parser never panics and
// that every cursor it accepts has exactly one encoding.
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"", "v1:", "v2:AbC-_123", "v0:x", "v-1:x", "v12", "x2:abc", "v2:a:b", "v99999999999999999999:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, after, ok := parseCursor(s)
		if !ok {
			return
		}
		if v < 1 {
			t.Fatalf("parseCursor(%q) accepted version %d", s, v)
		}
		if got := formatCursor(v, after); got != s {
			// Leading zeros or a plus sign parse but are not canonical;
			// the job only ever reads what formatCursor wrote.
			if v2, a2, ok2 := parseCursor(got); !ok2 || v2 != v || a2 != after {
				t.Fatalf("formatCursor(parseCursor(%q)) = %q does not parse back", s, got)
			}
		}
	})
}
