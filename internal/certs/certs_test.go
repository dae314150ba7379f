package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readAll(t *testing.T, p Paths) [3][]byte {
	t.Helper()
	var out [3][]byte
	for i, name := range []string{p.CA, p.Cert, p.Key} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		out[i] = b
	}
	return out
}

func TestGenerateModesAndValidity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	p, err := Generate(dir, "localhost", "127.0.0.1", "::1")
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	for _, tc := range []struct {
		path string
		mode os.FileMode
	}{
		{dir, 0o700},
		{p.Key, 0o600},
		{p.Cert, 0o644},
		{p.CA, 0o644},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatalf("stat %s: %v", tc.path, err)
		}
		if got := fi.Mode().Perm(); got != tc.mode {
			t.Errorf("%s: mode %o, want %o", tc.path, got, tc.mode)
		}
	}
	if err := Check(p, time.Now(), "localhost", "127.0.0.1", "::1"); err != nil {
		t.Errorf("Check now: %v", err)
	}
	if err := Check(p, time.Now(), "example.org"); err == nil {
		t.Error("Check accepted a host the certificate was not made for")
	}
	if err := Check(p, time.Now().Add(2*certLifetime), "localhost"); err == nil {
		t.Error("Check accepted an expired certificate")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("directory holds %d entries, want exactly 3 (no CA key, no temp files)", len(entries))
	}
}

// TestGenerateTLSHandshake proves a real TLS client that trusts only ca.pem verifies the server for each host.
func TestGenerateTLSHandshake(t *testing.T) {
	p, err := Generate(t.TempDir(), "localhost", "127.0.0.1")
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	pair, err := tls.LoadX509KeyPair(p.Cert, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	caPEM, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, tc := range []struct {
		serverName string
		ok         bool
	}{
		{"localhost", true},
		{"127.0.0.1", true},
		{"mail.example.org", false},
	} {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: tc.serverName})
		if c != nil {
			c.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("dial as %q: err=%v, want ok=%v", tc.serverName, err, tc.ok)
		}
	}
	// A client with the system roots only must not trust the private CA.
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "localhost"})
	if err == nil {
		c.Close()
		t.Error("a client without ca.pem trusted the private CA")
	}
}

func TestGenerateKeepsOrRegenerates(t *testing.T) {
	dir := t.TempDir()
	p, err := Generate(dir, "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	first := readAll(t, p)

	// Same hosts (a subset too): files are kept byte for byte.
	for _, hosts := range [][]string{{"localhost", "127.0.0.1"}, {"127.0.0.1"}} {
		if _, err := Generate(dir, hosts...); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, p); !bytes.Equal(bytes.Join(got[:], nil), bytes.Join(first[:], nil)) {
			t.Errorf("Generate(%v) rewrote valid files", hosts)
		}
	}

	// A new host: everything is made again, including a new CA.
	if _, err := Generate(dir, "localhost", "127.0.0.1", "relay.test"); err != nil {
		t.Fatal(err)
	}
	second := readAll(t, p)
	for i := range second {
		if bytes.Equal(second[i], first[i]) {
			t.Errorf("file %d unchanged after adding a host", i)
		}
	}
	if err := Check(p, time.Now(), "relay.test"); err != nil {
		t.Errorf("new certificate does not cover the new host: %v", err)
	}

	// A damaged key, a missing CA, a CA that does not sign the certificate: made again.
	damage := []struct {
		name string
		do   func() error
	}{
		{"truncated key", func() error { return os.WriteFile(p.Key, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600) }},
		{"missing CA", func() error { return os.Remove(p.CA) }},
		{"foreign CA", func() error {
			other, err := Generate(t.TempDir(), "localhost")
			if err != nil {
				return err
			}
			b, err := os.ReadFile(other.CA)
			if err != nil {
				return err
			}
			return os.WriteFile(p.CA, b, 0o644)
		}},
	}
	for _, d := range damage {
		if err := d.do(); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		if err := Check(p, time.Now(), "localhost"); err == nil {
			t.Fatalf("%s: Check accepted damaged files", d.name)
		}
		if _, err := Generate(dir, "localhost"); err != nil {
			t.Fatalf("%s: Generate: %v", d.name, err)
		}
		if err := Check(p, time.Now(), "localhost"); err != nil {
			t.Errorf("%s: files not repaired: %v", d.name, err)
		}
	}
}

func TestGenerateNoHosts(t *testing.T) {
	if _, err := Generate(t.TempDir()); err == nil {
		t.Error("Generate with no hosts succeeded")
	}
}
