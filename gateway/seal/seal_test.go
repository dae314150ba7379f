package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// original is a message with PHI everywhere, Bcc and control fields.
const original = "From: Dr A Clinician <a.clinician@trust.example>\r\n" +
	"To: Patient Person <patient@mail.example>\r\n" +
	"Bcc: records@trust.example,\r\n" +
	"  audit@trust.example\r\n" +
	"X-Sealpost-Recipient-Phone: +44 7700 900123\r\n" +
	"Subject: Discharge summary: NHS 943 476 5919, type 2 diabetes\r\n" +
	"Date: Mon, 6 Jan 2025 10:00:00 +0000\r\n" +
	"Message-ID: <discharge-1@trust.example>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b1\r\n" +
	"x-sealpost-encrypt: yes\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"Dear Patient, your HbA1c was 64 mmol/mol.\r\n" +
	"--b1\r\n" +
	"Content-Type: application/pdf\r\n" +
	"Content-Disposition: attachment; filename=\"HIV-result-Patient-Person.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0xLjQK\r\n" +
	"--b1--\r\n"

// originalStripped is original without Bcc and X-Sealpost-* fields.
var originalStripped = strings.Replace(strings.Replace(strings.Replace(original,
	"Bcc: records@trust.example,\r\n  audit@trust.example\r\n", "", 1),
	"X-Sealpost-Recipient-Phone: +44 7700 900123\r\n", "", 1),
	"x-sealpost-encrypt: yes\r\n", "", 1)

// ageCLI returns the path of the stock age tool, failing the test if it is
// not installed.
func ageCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("age")
	if err != nil {
		t.Fatalf("the age CLI is required for this test and was not found in PATH (apt-get install age): %v", err)
	}
	return path
}

// decryptCLI decrypts ciphertext with `age -d -i keyFile`.
func decryptCLI(t *testing.T, keyFile string, ciphertext []byte) []byte {
	t.Helper()
	in := filepath.Join(t.TempDir(), "message.eml.age")
	if err := os.WriteFile(in, ciphertext, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ageCLI(t), "-d", "-i", keyFile, in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("age -d -i %s: %v: %s", filepath.Base(keyFile), err, stderr.String())
	}
	return out
}

func writeKey(t *testing.T, name, key string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newSSHRecipient returns an ssh-ed25519 age recipient and its OpenSSH
// private key file.
func newSSHRecipient(t *testing.T) (age.Recipient, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	r, err := agessh.ParseRecipient(string(ssh.MarshalAuthorizedKey(sshPub)))
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return r, writeKey(t, "id_ed25519", strings.TrimSpace(string(pem.EncodeToMemory(block))))
}

// TestEncryptDecrypt seals to a per-message identity and directory
// recipients of each classic kind, then decrypts with every identity, both
// with the Go library and with the stock age CLI.
func TestEncryptDecrypt(t *testing.T) {
	ageCLI(t)
	msgSecret, msgRecipient, err := NewIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	dirID, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sshRecipient, sshKeyFile := newSSHRecipient(t)
	recipients := []age.Recipient{msgRecipient, dirID.Recipient(), sshRecipient}
	if NeedsHybrid(recipients) {
		t.Fatal("NeedsHybrid is true for classic recipients")
	}

	var ct bytes.Buffer
	sum, size, err := Encrypt(&ct, strings.NewReader(original), recipients)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if size != int64(ct.Len()) {
		t.Errorf("Encrypt size = %d, wrote %d", size, ct.Len())
	}
	if want := sha256.Sum256(ct.Bytes()); !bytes.Equal(sum, want[:]) {
		t.Errorf("Encrypt hash = %x, want the hash of the ciphertext %x", sum, want)
	}
	for _, s := range []string{"Discharge", "9434765919", "943 476 5919", "HbA1c", "Bcc", "HIV"} {
		if bytes.Contains(ct.Bytes(), []byte(s)) {
			t.Errorf("ciphertext contains %q", s)
		}
	}

	msgIdentity, err := age.ParseX25519Identity(msgSecret)
	if err != nil {
		t.Fatal(err)
	}
	sshIdentityPEM, err := os.ReadFile(sshKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	sshIdentity, err := agessh.ParseIdentity(sshIdentityPEM)
	if err != nil {
		t.Fatal(err)
	}

	for name, id := range map[string]age.Identity{"per-message": msgIdentity, "directory x25519": dirID, "directory ssh": sshIdentity} {
		r, err := age.Decrypt(bytes.NewReader(ct.Bytes()), id)
		if err != nil {
			t.Fatalf("%s: age.Decrypt: %v", name, err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: reading plaintext: %v", name, err)
		}
		if string(got) != originalStripped {
			t.Errorf("%s: Go decryption =\n%q\nwant\n%q", name, got, originalStripped)
		}
	}

	for name, keyFile := range map[string]string{
		"per-message":      writeKey(t, "msg.key", msgSecret),
		"directory x25519": writeKey(t, "dir.key", dirID.String()),
		"directory ssh":    sshKeyFile,
	} {
		if got := decryptCLI(t, keyFile, ct.Bytes()); string(got) != originalStripped {
			t.Errorf("%s: age CLI decryption =\n%q\nwant\n%q", name, got, originalStripped)
		}
	}
}

// TestEncryptLarge round-trips a 5 MB body with the age CLI, crossing many
// STREAM chunks.
func TestEncryptLarge(t *testing.T) {
	secret, r, err := NewIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 5<<20)
	rand.Read(body)
	msg := append([]byte("From: a\nBcc: b\n\n"), body...)
	var ct bytes.Buffer
	if _, _, err := Encrypt(&ct, bytes.NewReader(msg), []age.Recipient{r}); err != nil {
		t.Fatal(err)
	}
	got := decryptCLI(t, writeKey(t, "k", secret), ct.Bytes())
	if want := append([]byte("From: a\n\n"), body...); !bytes.Equal(got, want) {
		t.Error("5 MB message changed through Encrypt and age -d")
	}
}

func TestEncryptErrors(t *testing.T) {
	_, classic, err := NewIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	_, hybrid, err := NewIdentity(true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		msg        string
		recipients []age.Recipient
	}{
		{"no recipients", "From: a\r\n\r\n", nil},
		{"post-quantum mixed with classic", "From: a\r\n\r\n", []age.Recipient{hybrid, classic}},
		{"classic mixed with post-quantum", "From: a\r\n\r\n", []age.Recipient{classic, hybrid}},
		{"no header end", "From: a\r\n", []age.Recipient{classic}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Encrypt(io.Discard, strings.NewReader(tt.msg), tt.recipients); err == nil {
				t.Error("Encrypt succeeded, want an error")
			}
		})
	}
}

// TestHybrid seals to a post-quantum directory recipient with a hybrid
// per-message identity, as NeedsHybrid asks, and decrypts with both.
func TestHybrid(t *testing.T) {
	dirID, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	dir := []age.Recipient{dirID.Recipient()}
	if !NeedsHybrid(dir) {
		t.Fatal("NeedsHybrid is false for a hybrid directory recipient")
	}
	secret, msgRecipient, err := NewIdentity(NeedsHybrid(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "AGE-SECRET-KEY-PQ-1") {
		t.Errorf("hybrid secret has prefix %q, want AGE-SECRET-KEY-PQ-1", secret[:min(len(secret), 20)])
	}
	var ct bytes.Buffer
	if _, _, err := Encrypt(&ct, strings.NewReader(original), append(dir, msgRecipient)); err != nil {
		t.Fatalf("Encrypt to hybrid recipients: %v", err)
	}
	msgID, err := age.ParseHybridIdentity(secret)
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]age.Identity{"per-message": msgID, "directory": dirID} {
		r, err := age.Decrypt(bytes.NewReader(ct.Bytes()), id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != originalStripped {
			t.Errorf("%s: hybrid decryption differs from the stripped original", name)
		}
	}

	// A classic per-message identity cannot join a hybrid directory
	// recipient: age refuses, and nothing is sealed.
	_, classic, err := NewIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Encrypt(io.Discard, strings.NewReader(original), append(dir, classic)); err == nil {
		t.Error("Encrypt mixed a hybrid and a classic recipient")
	}
}

type fakeTagRecipient struct{ hybrid bool }

func (fakeTagRecipient) Wrap([]byte) ([]*age.Stanza, error) { return nil, nil }
func (r fakeTagRecipient) Hybrid() bool                     { return r.hybrid }

func TestNeedsHybrid(t *testing.T) {
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	sshR, _ := newSSHRecipient(t)
	tests := []struct {
		name string
		rs   []age.Recipient
		want bool
	}{
		{"none", nil, false},
		{"x25519", []age.Recipient{x.Recipient()}, false},
		{"ssh-ed25519", []age.Recipient{sshR}, false},
		{"hybrid", []age.Recipient{pq.Recipient()}, true},
		{"classic then hybrid", []age.Recipient{x.Recipient(), sshR, pq.Recipient()}, true},
		{"tag-style classic", []age.Recipient{fakeTagRecipient{false}}, false},
		{"tag-style hybrid", []age.Recipient{fakeTagRecipient{true}}, true},
	}
	for _, tt := range tests {
		if got := NeedsHybrid(tt.rs); got != tt.want {
			t.Errorf("NeedsHybrid(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNewIdentityClassic(t *testing.T) {
	secret, r, err := NewIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.ParseX25519Identity(secret)
	if err != nil {
		t.Fatalf("secret does not parse as X25519: %v", err)
	}
	if id.Recipient().String() != r.(*age.X25519Recipient).String() {
		t.Error("recipient does not match the secret")
	}
	secret2, _, err := NewIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	if secret == secret2 {
		t.Error("two identities are equal")
	}
}

func BenchmarkEncrypt120KB(b *testing.B) {
	_, r, err := NewIdentity(false)
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("Dear Dr Smith, the patient was seen in clinic today.\r\n"), 120<<10/54)
	msg := append([]byte("From: a@example.org\r\nTo: b@example.net\r\nBcc: c@example.com\r\nSubject: letter\r\n\r\n"), body...)
	rs := []age.Recipient{r}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, _, err := Encrypt(io.Discard, bytes.NewReader(msg), rs); err != nil {
			b.Fatal(err)
		}
	}
}
