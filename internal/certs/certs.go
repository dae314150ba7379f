package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names written by [Generate].
const (
	CAFile   = "ca.pem"
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
)

const (
	// certLifetime is how long a server certificate is valid.
	certLifetime = 397 * 24 * time.Hour
	// renewBefore is how close to expiry existing files are still accepted.
	renewBefore = 30 * 24 * time.Hour
	// clockSkew backdates NotBefore so that a slightly slow clock still accepts a fresh certificate.
	clockSkew = time.Hour
)

// Paths are the absolute paths of the files written by [Generate].
type Paths struct {
	CA   string // PEM CA certificate, to add to a client's roots
	Cert string // PEM server certificate
	Key  string // PEM PKCS #8 private key of the server certificate (mode 0600)
}

// Generate makes a private CA and a server certificate for the given hosts (DNS names and IP addresses, such as
// "localhost" and "127.0.0.1"), and writes ca.pem, cert.pem and key.pem into dir. If the three files already
// exist, chain to each other, cover every host and stay valid for at least 30 more days, they are kept as they
// are. dir is created with mode 0700 if missing.
func Generate(dir string, hosts ...string) (Paths, error) {
	if len(hosts) == 0 {
		return Paths{}, errors.New("failed to generate certificates: no hosts given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Paths{}, fmt.Errorf("failed to resolve certificate directory: %w", err)
	}
	p := Paths{
		CA:   filepath.Join(abs, CAFile),
		Cert: filepath.Join(abs, CertFile),
		Key:  filepath.Join(abs, KeyFile),
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return Paths{}, fmt.Errorf("failed to create certificate directory: %w", err)
	}
	now := time.Now()
	if Check(p, now.Add(renewBefore), hosts...) == nil {
		return p, nil
	}
	caPEM, certPEM, keyPEM, err := generate(now, hosts)
	if err != nil {
		return Paths{}, err
	}
	// The key first, so that a crash never leaves a new certificate next to an old key unnoticed: Check would
	// then fail and the next call makes everything again.
	if err := writeFile(p.Key, keyPEM, 0o600); err != nil {
		return Paths{}, err
	}
	if err := writeFile(p.Cert, certPEM, 0o644); err != nil {
		return Paths{}, err
	}
	if err := writeFile(p.CA, caPEM, 0o644); err != nil {
		return Paths{}, err
	}
	return p, nil
}

// Check reports whether the files at p form a usable set at time at: the key matches the certificate, the
// certificate chains to the CA for server authentication, and it is valid for every host.
func Check(p Paths, at time.Time, hosts ...string) error {
	pair, err := tls.LoadX509KeyPair(p.Cert, p.Key)
	if err != nil {
		return fmt.Errorf("failed to load key pair: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Errorf("failed to parse certificate: %w", err)
	}
	caPEM, err := os.ReadFile(p.CA)
	if err != nil {
		return fmt.Errorf("failed to read CA certificate: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return errors.New("failed to parse CA certificate")
	}
	for _, h := range hosts {
		_, err := leaf.Verify(x509.VerifyOptions{
			DNSName:     h,
			Roots:       roots,
			CurrentTime: at,
			KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			return fmt.Errorf("failed to verify certificate for %q: %w", h, err)
		}
	}
	return nil
}

func generate(now time.Time, hosts []string) (caPEM, certPEM, keyPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("failed to generate CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"Sealpost development"}, CommonName: "Sealpost development CA"},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(certLifetime + 24*time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("failed to create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("failed to parse CA certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("failed to generate server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"Sealpost development"}, CommonName: hosts[0]},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("failed to create server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("failed to marshal server key: %w", err)
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return caPEM, certPEM, keyPEM, nil
}

func serial() *big.Int {
	// 128 random bits, positive: rand.Int cannot fail with crypto/rand.
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

// writeFile replaces name atomically with data, with mode perm, fsync'd.
func writeFile(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return fmt.Errorf("failed to create %s: %w", filepath.Base(name), err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("failed to write %s: %w", filepath.Base(name), err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("failed to set mode of %s: %w", filepath.Base(name), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("failed to sync %s: %w", filepath.Base(name), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to close %s: %w", filepath.Base(name), err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("failed to rename %s: %w", filepath.Base(name), err)
	}
	return nil
}
