package relay

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIM signs every delivered copy, for setups where Sealpost is the last hop
// before the internet. Sealing rewrites a message, so an upstream signature
// no longer verifies; where another MTA signs after Sealpost, leave this off.
type DKIM struct {
	opts dkim.SignOptions
}

// signedHeaders are the fields the signature covers. Sealed copies carry
// only these (and Received); passed copies may carry more, which stay
// unsigned.
var signedHeaders = []string{
	"From", "To", "Cc", "Subject", "Date", "Message-Id", "In-Reply-To", "References",
	"Mime-Version", "Content-Type", "Content-Transfer-Encoding", "X-Sealpost-Id",
}

// LoadDKIM reads a PEM private key (RSA in PKCS #1 or #8, or Ed25519 in
// PKCS #8) for signing as selector._domainkey.domain.
func LoadDKIM(domain, selector, keyFile string) (*DKIM, error) {
	if domain == "" || selector == "" {
		return nil, errors.New("dkim: domain and selector are required")
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("failed to read DKIM key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("dkim: key file holds no PEM block")
	}
	var signer crypto.Signer
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("failed to parse DKIM key: %w", err)
		}
		signer = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("failed to parse DKIM key: %w", err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			signer = k
		case ed25519.PrivateKey:
			signer = k
		default:
			return nil, errors.New("dkim: key must be RSA or Ed25519")
		}
	default:
		return nil, fmt.Errorf("dkim: unsupported PEM block %q", block.Type)
	}
	if k, ok := signer.(*rsa.PrivateKey); ok && k.N.BitLen() < 1024 {
		return nil, errors.New("dkim: RSA key shorter than 1024 bits")
	}
	return &DKIM{opts: dkim.SignOptions{
		Domain:                 strings.ToLower(domain),
		Selector:               selector,
		Signer:                 signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedHeaders,
	}}, nil
}

// wrap returns an opener whose message starts with a DKIM-Signature field.
// The message is read twice: once to sign, once to send; it is never held
// whole in memory.
func (d *DKIM) wrap(open func() (io.ReadCloser, error)) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		opts := d.opts
		s, err := dkim.NewSigner(&opts)
		if err != nil {
			return nil, fmt.Errorf("failed to start DKIM signature: %w", err)
		}
		src, err := open()
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(s, src)
		src.Close()
		// Close always: the signer's goroutine ends only when it is closed.
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("failed to sign: %w", err)
		}
		body, err := open()
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(strings.NewReader(s.Signature()), body), body}, nil
	}
}
