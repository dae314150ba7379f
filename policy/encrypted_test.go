package policy

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
)

func TestDetectEncrypted(t *testing.T) {
	tests := []struct {
		ct   string
		want string
	}{
		{`multipart/encrypted; protocol="application/pgp-encrypted"; boundary="x"`, EncryptedPGPMIME},
		{`Multipart/Encrypted; Protocol="Application/PGP-Encrypted"; boundary=x`, EncryptedPGPMIME},
		{`multipart/encrypted; boundary=x`, ""},
		{`multipart/encrypted; protocol="application/pkcs7-mime"; boundary=x`, ""},
		{`application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m`, EncryptedSMIME},
		{`application/x-pkcs7-mime; smime-type="authEnveloped-data"`, EncryptedSMIME},
		{`application/pkcs7-mime; smime-type=signed-data`, ""},
		{`application/pkcs7-mime; smime-type=compressed-data`, ""},
		{`application/pkcs7-mime`, ""},
		{`multipart/signed; protocol="application/pkcs7-signature"; boundary=x`, ""},
		{`application/age`, EncryptedAge},
		{`application/x-age; name=letter.age`, EncryptedAge},
		{`text/plain; charset=utf-8`, ""},
		{``, ""},
		{`;;;`, ""},
		{`multipart/encrypted; protocol=`, ""},
		{`multipart/encrypted; protocol="application/pgp-encrypted"; protocol="x"`, ""},
		{`application/pkcs7-mime; smime-type=enveloped-data; bogus`, ""}, // unparsable parameters: not vouched for
		{"\x00\xff/\x01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			h := header(t, "Subject: x")
			if tt.ct != "" {
				h.Set("Content-Type", tt.ct)
			}
			if got := DetectEncrypted(h); got != tt.want {
				t.Fatalf("DetectEncrypted(%q) = %q, want %q", tt.ct, got, tt.want)
			}
		})
	}
}

// ageMessage seals a letter with the real age library, armored or as base64.
func ageMessage(t *testing.T, armored, hybrid bool, ct string) []byte {
	t.Helper()
	var rcpt age.Recipient
	if hybrid {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			t.Fatal(err)
		}
		rcpt = id.Recipient()
	} else {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		rcpt = id.Recipient()
	}
	var ctext bytes.Buffer
	var dst io.Writer = &ctext
	var aw io.WriteCloser
	if armored {
		aw = armor.NewWriter(&ctext)
		dst = aw
	}
	w, err := age.Encrypt(dst, rcpt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "Dear Dr Smith, synthetic test letter."); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if aw != nil {
		if err := aw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var msg bytes.Buffer
	msg.WriteString("From: a@example.org\r\nSubject: sealed\r\n")
	if ct != "" {
		msg.WriteString("Content-Type: " + ct + "\r\n")
	}
	if armored {
		msg.WriteString("\r\n")
		msg.Write(ctext.Bytes())
	} else {
		msg.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString(ctext.Bytes())
		for len(enc) > 76 {
			msg.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		msg.WriteString(enc + "\r\n")
	}
	return msg.Bytes()
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("test fixture missing: %v", err)
	}
	return b
}

func TestSniffEncrypted(t *testing.T) {
	pgpInline := readTestdata(t, "pgp-inline.eml")
	pgpMIME := readTestdata(t, "pgp-mime.eml")
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"pgp/mime (gpg)", pgpMIME, EncryptedPGPMIME},
		{"pgp inline (gpg)", pgpInline, EncryptedPGPInline},
		{"s/mime enveloped (openssl)", readTestdata(t, "smime-enveloped.eml"), EncryptedSMIME},
		{"s/mime signed-data (openssl)", readTestdata(t, "smime-signed.eml"), ""},
		{"age armored in text/plain", ageMessage(t, true, false, "text/plain"), EncryptedAge},
		{"age armored untyped, post-quantum", ageMessage(t, true, true, ""), EncryptedAge},
		{"age binary application/age", ageMessage(t, false, false, "application/age"), EncryptedAge},
		{"age binary application/age, post-quantum", ageMessage(t, false, true, "application/age"), EncryptedAge},
		{"age binary in octet-stream", ageMessage(t, false, false, "application/octet-stream"), ""},

		{"plaintext after armor", append(bytes.Clone(pgpInline), "\r\nPatient: J Bloggs, NHS 943 476 5919\r\n"...), ""},
		{"plaintext before armor", bytes.Replace(pgpInline, []byte("\r\n\r\n-----BEGIN"), []byte("\r\n\r\nHello\r\n-----BEGIN"), 1), ""},
		{"armor without end", bytes.Replace(pgpInline, []byte("-----END PGP MESSAGE-----"), nil, 1), ""},
		{"armor without data", []byte("Subject: x\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\n-----END PGP MESSAGE-----\r\n"), ""},
		{"pgp/mime header, plaintext body", []byte("Subject: x\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPatient letter\r\n--b--\r\n"), ""},
		{"pgp/mime with extra part", bytes.Replace(pgpMIME, []byte("--b1--"), []byte("--b1\r\nContent-Type: text/plain\r\n\r\nplaintext\r\n--b1--"), 1), ""},
		{"pgp/mime without boundary", bytes.Replace(pgpMIME, []byte(";\r\n boundary=\"b1\""), nil, 1), ""},
		{"s/mime header, text body", []byte("Subject: x\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nUGF0aWVudCBsZXR0ZXI=\r\n"), ""},
		{"age header, plaintext body", []byte("Subject: x\r\nContent-Type: application/age\r\n\r\nPatient letter\r\n"), ""},
		{"age version line only", []byte("Subject: x\r\n\r\nage-encryption.org/v1\r\nPatient letter\r\n"), ""},
		{"pgp armor in html", bytes.Replace(pgpInline, []byte("text/plain"), []byte("text/html"), 1), ""},
		{"plain text", []byte("Subject: x\r\n\r\nHello\r\n"), ""},
		{"empty", nil, ""},
		{"header only", []byte("Subject: x\r\n"), ""},
		{"garbage", []byte("\x00\x01\x02: \r\n\r\n"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SniffEncrypted(bytes.NewReader(tt.raw))
			if err != nil {
				t.Fatalf("SniffEncrypted: %v", err)
			}
			if got != tt.want {
				t.Fatalf("SniffEncrypted = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDecideChecksBody shows that with Open given, a header that claims
// encryption over a plaintext body does not make the message "encrypted".
func TestDecideChecksBody(t *testing.T) {
	e := mustParse(t, "version: 1\nrules:\n  - name: plaintext\n    when: {encrypted: false}\n    action: seal\ndefault: pass\n")
	spoof := []byte("Subject: x\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPatient letter\r\n--b--\r\n")
	d := decide(t, e, rawInput(t, spoof, "a@example.org", "b@example.net"))
	if d.Encrypted != "" || d.Outcomes[0].Action != ActionSeal {
		t.Fatalf("spoofed header: encrypted=%q action=%s, want \"\" and seal", d.Encrypted, d.Outcomes[0].Action)
	}
	real := readTestdata(t, "pgp-mime.eml")
	d = decide(t, e, rawInput(t, real, "a@example.org", "b@example.net"))
	if d.Encrypted != EncryptedPGPMIME || d.Outcomes[0].Action != ActionPass {
		t.Fatalf("real PGP/MIME: encrypted=%q action=%s, want pgp-mime and pass", d.Encrypted, d.Outcomes[0].Action)
	}
	if !strings.Contains(string(d.JSON()), `"encrypted":"pgp-mime"`) {
		t.Errorf("JSON lacks the encryption: %s", d.JSON())
	}
}
