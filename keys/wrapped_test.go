package keys

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	vaultpolicy "github.com/sealpost/sealpost/deploy/vault"
)

func TestParseWrapped(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		scheme  WrapScheme
		version int
	}{
		{"spw1:vault:v1:AAEC", true, SchemeLocal, 1},
		{"spt1:vault:v12:AAEC", true, SchemeTransit, 12},
		{"spw1:vault:v999999999:AA==", true, SchemeLocal, 999999999},
		{"", false, 0, 0},
		{"spw1", false, 0, 0},
		{"spw1:", false, 0, 0},
		{"vault:v1:AAEC", false, 0, 0},
		{"spw2:vault:v1:AAEC", false, 0, 0},
		{"SPW1:vault:v1:AAEC", false, 0, 0},
		{"spw1:vault:v0:AAEC", false, 0, 0},
		{"spw1:vault:v01:AAEC", false, 0, 0},
		{"spw1:vault:v-1:AAEC", false, 0, 0},
		{"spw1:vault:v+1:AAEC", false, 0, 0},
		{"spw1:vault:v1000000000:AAEC", false, 0, 0},
		{"spw1:vault:v1:", false, 0, 0},
		{"spw1:vault:v1:AAE", false, 0, 0},    // unpadded
		{"spw1:vault:v1:AAF=", false, 0, 0},   // non-canonical trailing bits
		{"spw1:vault:v1:AA\nEC", false, 0, 0}, // line break
		{"spw1:vault:v1:AA-_", false, 0, 0},   // URL alphabet
		{"spw1:vault:v1:AAEC ", false, 0, 0},
		{"spw1:vault:v1:" + strings.Repeat("A", 1372), false, 0, 0},
	}
	for _, tt := range tests {
		w, err := ParseWrapped([]byte(tt.in))
		if !tt.ok {
			if !errors.Is(err, ErrMalformedWrapped) {
				t.Errorf("ParseWrapped(%q): got %v, want ErrMalformedWrapped", tt.in, err)
			}
			continue
		}
		if err != nil || w.Scheme != tt.scheme || w.KeyVersion != tt.version {
			t.Errorf("ParseWrapped(%q) = %+v, %v", tt.in, w, err)
			continue
		}
		if got := w.Marshal(); string(got) != tt.in {
			t.Errorf("Marshal(ParseWrapped(%q)) = %q", tt.in, got)
		}
	}
}

func TestBinding(t *testing.T) {
	p := bindPlaintext("01JD4ZP0S5", []byte("AGE-SECRET-KEY-1\x00with nul"))
	id, secret, err := parseBound(p)
	if err != nil || id != "01JD4ZP0S5" || string(secret) != "AGE-SECRET-KEY-1\x00with nul" {
		t.Fatalf("parseBound(bindPlaintext) = %q, %q, %v", id, secret, err)
	}
	for _, bad := range []string{"", "sealpost-wrap-v1\x00", "sealpost-wrap-v1\x00id", "sealpost-wrap-v1\x00id\x00",
		"sealpost-wrap-v2\x00id\x00s", "sealpost-wrap-v1\x00\x00s", "sealpost-wrap-v1\x00a b\x00s"} {
		if _, _, err := parseBound([]byte(bad)); !errors.Is(err, ErrMalformedWrapped) {
			t.Errorf("parseBound(%q): got %v, want ErrMalformedWrapped", bad, err)
		}
	}
}

func TestRenderPolicies(t *testing.T) {
	c, err := New(Config{Address: "http://127.0.0.1:1", Token: "t",
		TransitMount: "ops/transit", KVMount: "mail", WrapKey: "w1", AuditKey: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.renderPolicies()
	if err != nil {
		t.Fatal(err)
	}
	relay := got[vaultpolicy.Relay]
	for _, want := range []string{`path "ops/transit/keys/w1"`, `path "ops/transit/encrypt/w1"`,
		`path "ops/transit/sign/a1"`, `path "mail/data/directory/*"`, `path "mail/data/config/mac"`, `path "auth/token/lookup-self"`} {
		if !strings.Contains(relay, want) {
			t.Errorf("rendered relay policy lacks %s:\n%s", want, relay)
		}
	}
	for name, p := range got {
		if strings.Contains(p, `"transit/`) || strings.Contains(p, "sealpost-wrap\"") || strings.Contains(p, `"sealpost/`) {
			t.Errorf("rendered %s policy still names a default:\n%s", name, p)
		}
	}
}

func FuzzParseWrapped(f *testing.F) {
	for _, s := range []string{"spw1:vault:v1:AAEC", "spt1:vault:v2:AA==", "spw1:vault:v01:AA==", "spw1:vault:v1:AA\n==", "spt1:"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWrapped(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedWrapped) {
				t.Fatalf("error does not match ErrMalformedWrapped: %v", err)
			}
			return
		}
		// One encoding per value: nothing malleable gets through.
		if got := w.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("Marshal(ParseWrapped(%q)) = %q", b, got)
		}
		if w.KeyVersion < 1 || len(w.Ciphertext) == 0 || len(w.Ciphertext) > maxWrappedCiphertext {
			t.Fatalf("parsed out-of-range value %+v", w)
		}
	})
}

func FuzzParseBound(f *testing.F) {
	f.Add([]byte(bindPrefix + "01JD4ZP0S5\x00AGE-SECRET-KEY-1XYZ"))
	f.Add([]byte(bindPrefix + "\x00x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, secret, err := parseBound(b)
		if err != nil {
			return
		}
		if got := bindPlaintext(id, secret); !bytes.Equal(got, b) {
			t.Fatalf("bindPlaintext(parseBound(%q)) = %q", b, got)
		}
	})
}

func FuzzDirectoryKey(f *testing.F) {
	for _, s := range []string{"Dr.Who@Clinic.Example", "@clinic.example", "a/b@c", "@", "a@b..c", " x@y "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := DirectoryKey(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(k, "/\\%*") || !strings.Contains(k, "@") {
			t.Fatalf("DirectoryKey(%q) = %q, unsafe in a Vault path", s, k)
		}
		again, err := DirectoryKey(k)
		if err != nil || again != k {
			t.Fatalf("DirectoryKey is not idempotent: %q → %q → %q, %v", s, k, again, err)
		}
	})
}

func FuzzParseBoundData(f *testing.F) {
	f.Add([]byte(dataPrefix + "phone\x0001JD4ZP0S5\x00+447700900123"))
	f.Add([]byte(dataPrefix + "\x00x\x00y"))
	f.Add([]byte(bindPrefix + "01JD4ZP0S5\x00AGE-SECRET-KEY-1XYZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		purpose, id, data, err := parseBoundData(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedWrapped) {
				t.Fatalf("error does not match ErrMalformedWrapped: %v", err)
			}
			return
		}
		if got := bindData(purpose, id, data); !bytes.Equal(got, b) {
			t.Fatalf("bindData(parseBoundData(%q)) = %q", b, got)
		}
		// Identity and data bindings never both accept one plaintext.
		if _, _, err := parseBound(b); err == nil {
			t.Fatalf("%q parses as both an identity and data", b)
		}
	})
}

func FuzzNormalizeEnrollmentCode(f *testing.F) {
	for _, s := range []string{"ABCD-EFGH-JKMN", "abcd efgh jkmn", "o0Oo-iIlL-1234", "ABCD-EFGH-JKMU", "", "----"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := NormalizeEnrollmentCode(s)
		if !ok {
			if c != "" {
				t.Fatalf("NormalizeEnrollmentCode(%q) = %q, false", s, c)
			}
			return
		}
		if len(c) != 14 || c[4] != '-' || c[9] != '-' {
			t.Fatalf("NormalizeEnrollmentCode(%q) = %q, not XXXX-XXXX-XXXX", s, c)
		}
		for i := 0; i < len(c); i++ {
			if i != 4 && i != 9 && !strings.ContainsRune(crockford, rune(c[i])) {
				t.Fatalf("NormalizeEnrollmentCode(%q) = %q, outside the alphabet", s, c)
			}
		}
		if again, ok := NormalizeEnrollmentCode(c); !ok || again != c {
			t.Fatalf("not idempotent: %q → %q → %q", s, c, again)
		}
		if !EnrollmentCodesEqual(c, s) {
			t.Fatalf("EnrollmentCodesEqual(%q, %q) = false", c, s)
		}
	})
}

func TestEnrollmentCodeBits(t *testing.T) {
	tests := []struct {
		sum  []byte
		want string
	}{
		{make([]byte, 32), "0000-0000-0000"},
		{bytes.Repeat([]byte{0xff}, 32), "ZZZZ-ZZZZ-ZZZZ"},
		// 0x0123456789abcdef >> 4 = 0x0123456789abcde: 60 bits, 5 at a time.
		{[]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xff}, "04HM-ASW9-NF6Y"},
	}
	for _, tt := range tests {
		if got := enrollmentCode(tt.sum); got != tt.want {
			t.Errorf("enrollmentCode(%x) = %q, want %q", tt.sum, got, tt.want)
		}
	}
}
