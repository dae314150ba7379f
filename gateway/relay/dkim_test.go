package relay

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

func TestDeliveredCopiesAreDKIMSigned(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	must(t, err)
	keyFile := filepath.Join(t.TempDir(), "dkim.pem")
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	signer, err := LoadDKIM("example.org", "sp1", keyFile)
	must(t, err)

	h := newHarness(t, harnessOpts{dkim: signer})
	must(t, h.send("doctor@example.org", []string{"patient@example.net"}, sensitiveMessage("[secure] Discharge summary")))
	must(t, h.send("a@example.org", []string{"b@example.net"}, crlf("From: a@example.org\nSubject: lunch\n\nnoon\n")))
	ds := h.capture.Deliveries()
	if len(ds) != 2 {
		t.Fatalf("%d deliveries", len(ds))
	}
	lookup := func(domain string) ([]string, error) {
		if domain != "sp1._domainkey.example.org" {
			t.Errorf("looked up %q", domain)
		}
		return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}
	for i, d := range ds {
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(d.Data), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.org" {
			t.Fatalf("copy %d: DKIM does not verify: %v %+v", i, err, vs)
		}
		tampered := bytes.Replace(d.Data, []byte("\r\n\r\n"), []byte("\r\n\r\nX"), 1)
		vs, _ = dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{LookupTXT: lookup})
		if len(vs) == 1 && vs[0].Err == nil {
			t.Fatalf("copy %d: a changed body still verifies", i)
		}
	}
}

func TestLoadDKIMRejectsBadKeys(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	must(t, os.WriteFile(bad, []byte("not a key"), 0o600))
	for _, c := range []struct{ domain, selector, file string }{
		{"", "s", bad}, {"example.org", "", bad}, {"example.org", "s", bad}, {"example.org", "s", filepath.Join(dir, "missing")},
	} {
		if _, err := LoadDKIM(c.domain, c.selector, c.file); err == nil {
			t.Errorf("LoadDKIM(%q, %q, %q) accepted", c.domain, c.selector, c.file)
		}
	}
}
