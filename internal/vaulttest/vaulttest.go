package vaulttest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/vaultbin"

	"github.com/sealpost/sealpost/keys"
)

// Server is a running Vault dev server.
type Server struct {
	// Addr is the server's address, e.g. "http://127.0.0.1:41234".
	Addr string
	// RootToken is the dev server's root token.
	RootToken string
	// CACert is the PEM file of the CA that signed the server's certificate
	// when it was started with [StartTLS]; empty otherwise.
	CACert string
	// UnsealKey is the single unseal key of a server started with
	// [StartPersistent] or [StartCluster]; empty for a dev server.
	UnsealKey string

	bin     string
	tls     bool
	listen  string // host:port
	dir     string
	logPath string
	runs    int
	cmd     *exec.Cmd
	exited  chan struct{}

	// hcl, if set, is the server configuration: the server runs with
	// -config instead of -dev, and is ready as soon as it answers at all
	// (sealed, standby or uninitialised).
	hcl string
	// standby is set for a node of a cluster: Unseal waits only until it
	// is unsealed, active or not.
	standby bool
}

// readyTimeout bounds how long a starting server may take to answer.
const readyTimeout = 60 * time.Second

// Binary returns the Vault (or OpenBao) server binary tests should use, or
// an error saying how to get one: see [vaultbin.Find].
func Binary() (string, error) { return vaultbin.Find() }

// Start runs a Vault dev server for the rest of the test. It fails the test
// if no binary is found or the server does not become ready.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartTLS is like [Start], but the server listens with TLS (`-dev-tls`)
// under a certificate from a fresh CA whose PEM file is Server.CACert.
func StartTLS(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, useTLS bool) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		t.Fatal(err)
	}
	s := &Server{
		RootToken: "sp-test-" + hex.EncodeToString(tok),
		bin:       bin,
		tls:       useTLS,
		dir:       t.TempDir(),
	}
	t.Cleanup(func() {
		s.Stop(t)
		if t.Failed() {
			s.dumpLog(t)
		}
	})
	var lastErr error
	for range 3 { // a free port can be taken by someone else before Vault binds it
		s.listen, err = freePort()
		if err != nil {
			t.Fatalf("failed to find a free port: %v", err)
		}
		if lastErr = s.start(); lastErr == nil {
			return s
		}
		s.Stop(t)
	}
	s.dumpLog(t)
	t.Fatalf("failed to start vault dev server (%s): %v", bin, lastErr)
	return nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (s *Server) start() error {
	s.runs++
	s.Addr = "http://" + s.listen
	if s.tls {
		s.Addr = "https://" + s.listen
	}
	s.logPath = filepath.Join(s.dir, "vault-"+strconv.Itoa(s.runs)+".log")
	logf, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	home := filepath.Join(s.dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	args := []string{"server", "-dev",
		"-dev-root-token-id=" + s.RootToken,
		"-dev-listen-address=" + s.listen,
		"-log-level=warn"}
	if s.hcl != "" {
		cfgPath := filepath.Join(s.dir, "vault.hcl")
		if err := os.WriteFile(cfgPath, []byte(s.hcl), 0o600); err != nil {
			return err
		}
		args = []string{"server", "-config=" + cfgPath, "-log-level=warn"}
	}
	if s.tls {
		certDir := filepath.Join(s.dir, "tls-"+strconv.Itoa(s.runs))
		if err := os.MkdirAll(certDir, 0o700); err != nil {
			return err
		}
		args = append(args, "-dev-tls", "-dev-tls-cert-dir="+certDir)
		s.CACert = filepath.Join(certDir, "vault-ca.pem")
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = s.dir
	// HOME points at a temporary directory so the dev server does not
	// overwrite the developer's ~/.vault-token; VAULT_* settings of the
	// developer's shell must not leak into the server either.
	cmd.Env = append(filteredEnv(), "HOME="+home)
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("failed to run %s: %w", s.bin, err)
	}
	s.cmd = cmd
	exited := make(chan struct{})
	s.exited = exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return s.waitReady()
}

func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "BAO_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		if s.tls && hc.Transport == nil {
			// The CA file appears once the server has generated it.
			pool := x509.NewCertPool()
			if b, err := os.ReadFile(s.CACert); err == nil && pool.AppendCertsFromPEM(b) {
				hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Addr+"/v1/sys/health", nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || s.hcl != "" {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("vault exited before it was ready (%s)", s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("vault was not ready within %v", readyTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop kills the server. It is safe to call more than once.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("vault process %d did not exit after SIGKILL", s.cmd.Process.Pid)
	}
	s.cmd = nil
}

// Restart stops the server and starts a fresh one on the same address with
// the same root token. A dev server keeps its state in memory, so the new
// one is empty: run [Setup] again. A TLS server gets a new CA (CACert).
//
// A server from [StartPersistent] keeps its data instead: Restart starts it
// again on its storage and unseals it with UnsealKey, as an operator would.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err = s.start(); err == nil {
			if s.UnsealKey != "" {
				s.Unseal(t)
			}
			return
		}
		s.Stop(t)
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // the old socket may linger briefly
	}
	s.dumpLog(t)
	t.Fatalf("failed to restart vault on %s: %v", s.listen, err)
}

// Log returns what the server has printed so far in its current run.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func (s *Server) dumpLog(t testing.TB) {
	t.Helper()
	out := s.Log()
	const max = 8 << 10
	if len(out) > max {
		out = "…" + out[len(out)-max:]
	}
	t.Logf("vault server output (%s):\n%s", s.logPath, out)
}

// Client returns a keys client for the server with the given token and
// otherwise default configuration.
func (s *Server) Client(t testing.TB, token string) *keys.Client {
	t.Helper()
	c, err := keys.New(keys.Config{Address: s.Addr, Token: token, CACert: s.CACert})
	if err != nil {
		t.Fatalf("failed to create keys client: %v", err)
	}
	return c
}

// Setup runs [keys.Setup] against s with its root token and returns the
// scoped tokens.
func Setup(t testing.TB, s *Server) keys.Credentials {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	creds, err := keys.Setup(ctx, s.Client(t, s.RootToken))
	if err != nil {
		t.Fatalf("failed to set up vault: %v", err)
	}
	return creds
}
