package keys_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/plugin"
	"filippo.io/age/tag"
	"filippo.io/nistec"

	"github.com/sealpost/sealpost/keys"
)

func TestParseRecipient(t *testing.T) {
	tagged := mustTag(t)
	accepted := []struct {
		name, s string
		check   func(age.Recipient) bool
	}{
		{"x25519", x25519A, func(r age.Recipient) bool { _, ok := r.(*age.X25519Recipient); return ok }},
		{"hybrid", mustHybrid(t), func(r age.Recipient) bool { _, ok := r.(*age.HybridRecipient); return ok }},
		{"ssh-ed25519", mustSSH(t, "ed25519"), func(r age.Recipient) bool { _, ok := r.(*agessh.Ed25519Recipient); return ok }},
		{"ssh-ed25519 with comment", mustSSH(t, "ed25519") + " gp@clinic", func(r age.Recipient) bool { _, ok := r.(*agessh.Ed25519Recipient); return ok }},
		{"ssh-rsa", mustSSH(t, "rsa"), func(r age.Recipient) bool { _, ok := r.(*agessh.RSARecipient); return ok }},
		{"tag", tagged, func(r age.Recipient) bool { _, ok := r.(*tag.Recipient); return ok }},
	}
	for _, tt := range accepted {
		t.Run("accept/"+tt.name, func(t *testing.T) {
			r, err := keys.ParseRecipient(tt.s)
			if err != nil {
				t.Fatalf("ParseRecipient: %v", err)
			}
			if !tt.check(r) {
				t.Fatalf("ParseRecipient returned %T", r)
			}
			// It is usable: age can seal to it.
			if _, err := age.Encrypt(&strings.Builder{}, r); err != nil {
				t.Fatalf("age.Encrypt: %v", err)
			}
		})
	}

	pluginRecipient := plugin.EncodeRecipient("yubikey", []byte("opaque plugin data"))
	rejected := []struct{ name, s, wantErr string }{
		{"empty", "", "empty"},
		{"identity", "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3290GG", "identity (a private key)"},
		{"plugin identity", "AGE-PLUGIN-YUBIKEY-1QQQQQ", "identity (a private key)"},
		{"ssh private key", "-----BEGIN OPENSSH PRIVATE KEY-----", "private key"},
		{"bad checksum", x25519A[:len(x25519A)-1] + "q", "malformed"},
		{"uppercase HRP only", "AGE1QL3Z7HJY54PW3HYWW5AYYFG7ZQGVC7W3J2ELW8ZMRJ2KG5SFN9AQMCAC8P", "unknown recipient type"},
		{"padding", " " + x25519A, "white space"},
		{"newline", x25519A + "\nage1xyz", "control characters"},
		{"dsa", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "unsupported SSH key type"},
		{"ecdsa", "ssh-ecdsa AAAA", "unsupported SSH key type"},
		{"garbage ssh-ed25519", "ssh-ed25519 AAAA", "ssh"},
		{"pgp", "0xDEADBEEF", "unknown recipient type"},
		{"github", "github:someone", "unknown recipient type"},
		{"too long", "age1" + strings.Repeat("q", 9000), "longer than"},
		{"plugin not installed", pluginRecipient, "age-plugin-yubikey on PATH"},
		{"plugin bad name", "age1a/b1qqqq", "invalid"},
	}
	for _, tt := range rejected {
		t.Run("reject/"+tt.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir()) // no plugins anywhere
			r, err := keys.ParseRecipient(tt.s)
			if err == nil {
				t.Fatalf("ParseRecipient accepted it as %T", r)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.HasPrefix(tt.s, "AGE-SECRET-KEY-") && strings.Contains(err.Error(), tt.s) {
				t.Fatal("error echoes the private key")
			}
		})
	}

	t.Run("accept/plugin installed", func(t *testing.T) {
		writePlugin(t, "yubikey")
		r, err := keys.ParseRecipient(pluginRecipient)
		if err != nil {
			t.Fatalf("ParseRecipient: %v", err)
		}
		if s := fmt.Sprint(r); !strings.Contains(s, "age1yubikey1") {
			t.Fatalf("plugin recipient prints as %q", s)
		}
	})
}

// mustTag returns a tagged P-256 recipient, as hardware-key plugins make.
func mustTag(t testing.TB) string {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nistec.NewP256Point().SetBytes(k.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	r, err := tag.NewClassicRecipient(p.BytesCompressed())
	if err != nil {
		t.Fatal(err)
	}
	return r.String()
}

func ExampleParseRecipient() {
	_, err := keys.ParseRecipient("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p")
	fmt.Println(err)
	_, err = keys.ParseRecipient("AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3290GG")
	fmt.Println(err)
	// Output:
	// <nil>
	// invalid age recipient: this is an age identity (a private key), not a recipient; give its public recipient (age-keygen -y) and keep the identity secret
}

func FuzzParseRecipient(f *testing.F) {
	f.Add(x25519A)
	f.Add("age1pq1")
	f.Add(mustTag(f))
	f.Add(plugin.EncodeRecipient("yubikey", []byte("opaque plugin data")))
	f.Add(mustHybrid(f))
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOb6")
	f.Add("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ")
	f.Add("AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3290GG")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := keys.ParseRecipient(s)
		if err != nil {
			if r != nil {
				t.Fatal("recipient returned with an error")
			}
			return
		}
		if r == nil {
			t.Fatal("nil recipient without an error")
		}
		if strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-") {
			t.Fatal("accepted an identity as a recipient")
		}
	})
}
