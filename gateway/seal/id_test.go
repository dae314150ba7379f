package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestNewMessageID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewMessageID()
		if len(id) != 24 || !validID(id) {
			t.Fatalf("NewMessageID() = %q, want 24 base64url characters", id)
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) < 16 {
			t.Fatalf("NewMessageID() = %q carries %d bytes, want at least 16 (128 bits): %v", id, len(raw), err)
		}
		if seen[id] {
			t.Fatalf("NewMessageID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestSignVerifyID(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	sum := sha256.Sum256([]byte("ciphertext"))
	id := NewMessageID()
	v := SignID(key, id, sum[:])

	gotID, gotSum, ok := VerifyID(key, v)
	if !ok || gotID != id || !bytes.Equal(gotSum, sum[:]) {
		t.Fatalf("VerifyID(SignID()) = %q, %x, %v", gotID, gotSum, ok)
	}
	pid, psum, pmac, err := ParseID(v)
	if err != nil || pid != id || !bytes.Equal(psum, sum[:]) || len(pmac) != 32 {
		t.Fatalf("ParseID(SignID()) = %q, %x, %x, %v", pid, psum, pmac, err)
	}

	otherID := NewMessageID()
	otherSum := sha256.Sum256([]byte("other"))
	h := base64.RawURLEncoding.EncodeToString(sum[:])
	m := base64.RawURLEncoding.EncodeToString(pmac)
	flipped := func(s string) string {
		b := []byte(s)
		if b[3] == 'A' {
			b[3] = 'B'
		} else {
			b[3] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name  string
		key   []byte
		value string
	}{
		{"tampered id", key, otherID + "; v=1; h=" + h + "; m=" + m},
		{"tampered id one char", key, flipped(id) + "; v=1; h=" + h + "; m=" + m},
		{"tampered hash", key, id + "; v=1; h=" + base64.RawURLEncoding.EncodeToString(otherSum[:]) + "; m=" + m},
		{"tampered hash one char", key, id + "; v=1; h=" + flipped(h) + "; m=" + m},
		{"tampered mac", key, id + "; v=1; h=" + h + "; m=" + flipped(m)},
		{"mac of another message", key, SignID(key, otherID, otherSum[:])[len(otherID):]},
		{"wrong key", bytes.Repeat([]byte{2}, 32), v},
		{"key too short", key[:16], SignID(key[:16], id, sum[:])},
		{"empty key", nil, SignID(nil, id, sum[:])},
		{"version 2", key, id + "; v=2; h=" + h + "; m=" + m},
		{"missing mac", key, id + "; v=1; h=" + h},
		{"empty", key, ""},
	}
	for _, tt := range tests {
		if _, _, ok := VerifyID(tt.key, tt.value); ok {
			t.Errorf("%s: VerifyID accepted %q", tt.name, tt.value)
		}
	}

	// Folding whitespace and parameter order do not matter.
	for _, alt := range []string{
		id + ";v=1;h=" + h + ";m=" + m,
		id + ";\r\n v=1;\r\n h=" + h + ";\r\n\tm=" + m,
		" " + id + " ; m=" + m + " ; h=" + h + " ; v=1 ",
	} {
		alt = strings.NewReplacer("\r\n", "").Replace(alt)
		if gotID, _, ok := VerifyID(key, alt); !ok || gotID != id {
			t.Errorf("VerifyID(%q) = %q, %v; want the id", alt, gotID, ok)
		}
	}
}

func TestParseIDErrors(t *testing.T) {
	h := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	tests := []string{
		"",
		"; v=1; h=" + h + "; m=" + h,
		"id with space; v=1; h=" + h + "; m=" + h,
		"id.dot; v=1; h=" + h + "; m=" + h,
		strings.Repeat("a", 65) + "; v=1; h=" + h + "; m=" + h,
		"id; v=1; h=" + h,
		"id; v=1; m=" + h,
		"id; h=" + h + "; m=" + h,
		"id; v=1; v=1; h=" + h + "; m=" + h,
		"id; v=1; h=" + h + "; h=" + h + "; m=" + h,
		"id; v=1; h=" + h + "; m=" + h + "; m=" + h,
		"id; v=1; h=" + h + "; m=" + h + "; x=1",
		"id; v=1; h=" + h + "; m=" + h + ";",
		"id; v=1; h=" + h + "; m=" + h + "; m",
		"id; V=1; h=" + h + "; m=" + h,
		"id; v=01; h=" + h + "; m=" + h,
		"id; v=1; h=" + h + "=; m=" + h,
		"id; v=1; h=" + h[:42] + "; m=" + h,
		"id; v=1; h=" + h + "AA; m=" + h,
		"id; v=1; h=" + strings.ReplaceAll(h, "A", "+") + "; m=" + h,
		"id; v=1; h=" + h[:42] + "B; m=" + h, // non-canonical trailing bits
	}
	for _, v := range tests {
		if _, _, _, err := ParseID(v); !errors.Is(err, ErrMalformedID) {
			t.Errorf("ParseID(%q) error = %v, want ErrMalformedID", v, err)
		}
	}
}

func FuzzParseID(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	sum := sha256.Sum256(nil)
	f.Add(SignID(key, "AAAAAAAAAAAAAAAAAAAAAAAA", sum[:]))
	f.Add("id; v=1; h=; m=")
	f.Add("a;v=1;h=AAAA;m=AAAA;;")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		id, h, m, err := ParseID(v)
		if err != nil {
			if !errors.Is(err, ErrMalformedID) {
				t.Fatalf("ParseID(%q): error %v is not ErrMalformedID", v, err)
			}
			if _, _, ok := VerifyID(key, v); ok {
				t.Fatalf("VerifyID accepted %q that ParseID refuses", v)
			}
			return
		}
		if !validID(id) || len(h) != 32 || len(m) != 32 {
			t.Fatalf("ParseID(%q) = %q, %x, %x", v, id, h, m)
		}
		// Re-signing the parsed id and hash gives a value that parses to the
		// same id and hash.
		id2, h2, _, err := ParseID(SignID(key, id, h))
		if err != nil || id2 != id || !bytes.Equal(h2, h) {
			t.Fatalf("round trip of %q failed: %q %x %v", v, id2, h2, err)
		}
		// A fuzzed value verifies only if its MAC is the right one.
		if _, _, ok := VerifyID(key, v); ok && !bytes.Equal(m, idMAC(key, id, h)) {
			t.Fatalf("VerifyID accepted a wrong MAC in %q", v)
		}
	})
}
