package vaultops

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/testutil"

	"filippo.io/age"
	"github.com/emersion/go-message"
	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/gateway/node"
	"github.com/sealpost/sealpost/gateway/seal"
	"github.com/sealpost/sealpost/internal/certs"
	"github.com/sealpost/sealpost/keys"
)

// stack is an in-process Sealpost node whose relay forwards to a capture
// next hop over verified STARTTLS.
type stack struct {
	t       *testing.T
	node    *node.Node
	capture *capture.Server
	mac     []byte
	logs    *testutil.SyncBuffer
}

// startStack starts a node with the given Vault settings (address and
// credentials) and the built-in policy.
func startStack(t *testing.T, v config.Vault) *stack {
	t.Helper()
	dir := t.TempDir()
	hopTLS, err := certs.Generate(filepath.Join(dir, "hop-tls"), "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	capt, err := capture.Start(capture.Config{
		Dir: filepath.Join(dir, "outbox"), TLSCert: hopTLS.Cert, TLSKey: hopTLS.Key, RequireTLS: true,
		KeepInMemory: true, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { capt.Close() })
	cfg := &config.Config{
		Hostname: "relay.test",
		Relay:    config.Relay{SMTPListen: "127.0.0.1:0", LMTPListen: "off", MaxConnections: 50},
		Portal:   config.Portal{Listen: "127.0.0.1:0", URL: "http://localhost:8080"},
		Admin:    config.Admin{Listen: "127.0.0.1:0"},
		Vault:    v,
		Store:    config.Store{Path: filepath.Join(dir, "sealpost.db")},
		Audit:    config.Audit{CheckpointPath: filepath.Join(dir, "audit.checkpoint")},
		NextHop:  config.NextHop{Addr: capt.Addr(), TLS: "verify", ServerName: "localhost", CAFile: hopTLS.CA},
		Spool:    config.Spool{Dir: dir},
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config does not validate: %v", err)
	}
	logs := &testutil.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The node's background work lives as long as the node, not as long as
	// a start-up deadline.
	n, err := node.Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	s := &stack{t: t, node: n, capture: capt, logs: logs}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("node Close: %v", err)
		}
		if t.Failed() {
			t.Logf("node log:\n%s", tail(logs.String(), 8<<10))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if s.mac, err = n.Keys.MACKey(ctx); err != nil {
		t.Fatalf("MAC key: %v", err)
	}
	s.waitVault(true)
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// waitVault waits until the relay's Vault health probe says up.
func (s *stack) waitVault(up bool) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.node.Relay.VaultUp() != up {
		if time.Now().After(deadline) {
			s.t.Fatalf("the relay's vault health did not become %v", up)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sealedMessage is a message the built-in policy seals (the sender asked
// for it), marked with a unique Message-ID and body line.
func sealedMessage(id string) string {
	return strings.ReplaceAll(`From: Dr Example <doctor@example.org>
To: Patient <patient@example.net>
X-Sealpost-Encrypt: yes
X-Sealpost-Recipient-Phone: +447700900123
Subject: Your results
Date: Mon, 23 Nov 2026 06:00:00 +0000
Message-ID: <`+id+`@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Dear patient, results for `+id+` are attached.
`, "\n", "\r\n")
}

// send submits one message and returns nil for 250, or the SMTP error.
func (s *stack) send(id string) error {
	c, err := smtp.Dial(s.node.SMTPAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	if err := c.Mail("doctor@example.org", nil); err != nil {
		return err
	}
	if err := c.Rcpt("patient@example.net", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, sealedMessage(id)); err != nil {
		return err
	}
	err = w.Close()
	_ = c.Quit()
	return err
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// requireSealed sends id and fails unless it is accepted and the capture
// holds it sealed.
func (s *stack) requireSealed(id string) {
	s.t.Helper()
	if err := s.send(id); err != nil {
		s.t.Fatalf("message %s: got %v, want 250", id, err)
	}
	d := s.delivery(id)
	if d == nil {
		s.t.Fatalf("message %s was accepted but is not at the next hop", id)
	}
	if bytes.Contains(d.Data, []byte("results for "+id)) {
		s.t.Fatalf("message %s reached the next hop in the clear", id)
	}
}

// requireDeferred sends id and fails unless the reply is 451.
func (s *stack) requireDeferred(id string) {
	s.t.Helper()
	err := s.send(id)
	if smtpCode(err) != 451 {
		s.t.Fatalf("message %s with vault unavailable: got %v, want 451", id, err)
	}
	if s.delivery(id) != nil {
		s.t.Fatalf("message %s was deferred but reached the next hop", id)
	}
}

// delivery returns the captured copy of the message with this id, or nil.
func (s *stack) delivery(id string) *capture.Delivery {
	for _, d := range s.capture.Deliveries() {
		if messageID(d.Data) == "<"+id+"@example.org>" {
			return &d
		}
	}
	return nil
}

func messageID(raw []byte) string {
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil && ent == nil {
		return ""
	}
	return ent.Header.Get("Message-Id")
}

// open opens a delivered sealed copy the portal's way: the stored wrapped
// secret, unwrapped by portal (Transit decrypt), opens the ciphertext.
func (s *stack) open(ctx context.Context, portal *keys.Client, d capture.Delivery) (string, error) {
	ent, err := message.Read(bytes.NewReader(d.Data))
	if err != nil {
		return "", fmt.Errorf("delivered copy does not parse: %w", err)
	}
	id, _, ok := seal.VerifyID(s.mac, ent.Header.Get("X-Sealpost-Id"))
	if !ok {
		return "", errors.New("X-Sealpost-Id does not verify")
	}
	m, err := s.node.Store.GetMessage(ctx, id)
	if err != nil {
		return "", err
	}
	secret, err := portal.Unwrap(ctx, id, m.Wrapped)
	if err != nil {
		return "", err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(secret))
	if err != nil {
		return "", err
	}
	var ct bytes.Buffer
	if found, err := seal.ExtractSealedAttachment(bytes.NewReader(d.Data), &ct); err != nil || !found {
		return "", fmt.Errorf("no sealed attachment (found=%v): %v", found, err)
	}
	r, err := age.Decrypt(&ct, ids...)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// ready returns the status of the admin /readyz endpoint.
func (s *stack) ready() int {
	s.t.Helper()
	resp, err := http.Get("http://" + s.node.AdminAddr + "/readyz")
	if err != nil {
		s.t.Fatalf("readyz: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// metric returns the value of an unlabelled metric from /metrics.
func (s *stack) metric(name string) float64 {
	s.t.Helper()
	resp, err := http.Get("http://" + s.node.AdminAddr + "/metrics")
	if err != nil {
		s.t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				s.t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	s.t.Fatalf("metric %s not exported", name)
	return 0
}
