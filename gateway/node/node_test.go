package node_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/gateway/node"
	"github.com/sealpost/sealpost/internal/certs"
	"github.com/sealpost/sealpost/internal/vaulttest"
)

// hopMaxSize is the capture next hop's own SIZE limit.
const hopMaxSize = 1 << 20

// env is a real Vault, set up with the relay's scoped token, and a capture
// next hop over verified STARTTLS that accepts at most hopMaxSize bytes.
type env struct {
	vault       *vaulttest.Server
	relayToken  string
	portalToken string
	capture     *capture.Server
	hopCA       string
	dir         string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{vault: vaulttest.Start(t), dir: t.TempDir()}
	creds := vaulttest.Setup(t, e.vault)
	e.relayToken, e.portalToken = creds.RelayToken, creds.PortalToken
	hop, err := certs.Generate(filepath.Join(e.dir, "hop-tls"), "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e.hopCA = hop.CA
	e.capture, err = capture.Start(capture.Config{
		Dir: filepath.Join(e.dir, "outbox"), TLSCert: hop.Cert, TLSKey: hop.Key, RequireTLS: true,
		MaxSize: hopMaxSize, KeepInMemory: true, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.capture.Close() })
	return e
}

// relayTLS makes the relay's STARTTLS certificate in dir and returns the
// paths and a pool trusting it.
func relayTLS(t *testing.T, dir string, hosts ...string) (certs.Paths, *x509.CertPool) {
	t.Helper()
	p, err := certs.Generate(dir, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("failed to read the relay CA")
	}
	return p, pool
}

// config returns a node config for e with every listener on a free port.
func (e *env) config(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	c := &config.Config{
		Hostname: "relay.test",
		Relay:    config.Relay{SMTPListen: "127.0.0.1:0", LMTPListen: "127.0.0.1:0"},
		Portal:   config.Portal{Listen: "127.0.0.1:0", URL: "http://localhost:8080"},
		Admin:    config.Admin{Listen: "127.0.0.1:0"},
		Vault:    config.Vault{Address: e.vault.Addr, Token: e.relayToken},
		Store:    config.Store{Path: filepath.Join(dir, "sealpost.db")},
		Audit:    config.Audit{CheckpointPath: filepath.Join(dir, "audit.checkpoint")},
		NextHop:  config.NextHop{Addr: e.capture.Addr(), TLS: "verify", ServerName: "localhost", CAFile: e.hopCA},
		Spool:    config.Spool{Dir: dir},
	}
	return c
}

func start(t *testing.T, c *config.Config) *node.Node {
	t.Helper()
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("test config does not validate: %v", err)
	}
	// The context is the node's lifetime (token renewal, retention,
	// checkpoints): Close ends it, not the end of this function.
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := node.Start(context.Background(), c, log)
	if err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

func dial(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("failed to dial the relay: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	return c
}

// dialTLS connects and runs STARTTLS, verifying the relay with cfg.
func dialTLS(t *testing.T, addr string, cfg *tls.Config) *smtp.Client {
	t.Helper()
	c, err := smtp.DialStartTLS(addr, cfg)
	if err != nil {
		t.Fatalf("STARTTLS to the relay: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	// The handshake runs with the EHLO that follows STARTTLS.
	if err := c.Noop(); err != nil {
		t.Fatalf("TLS handshake and EHLO: %v", err)
	}
	return c
}

func smtpCode(err error) (int, smtp.EnhancedCode) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code, se.EnhancedCode
	}
	return 0, smtp.EnhancedCode{}
}

func send(c *smtp.Client, from, to, msg string, opts *smtp.MailOptions) error {
	if err := c.Mail(from, opts); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		return fmt.Errorf("RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	return w.Close()
}

func waitDelivery(t *testing.T, cs *capture.Server, n int) []capture.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ds, err := cs.WaitDeliveries(ctx, n)
	if err != nil {
		t.Fatalf("waiting for delivery %d at the next hop: %v", n, err)
	}
	return ds
}

const plainMsg = "From: a@example.org\r\nTo: b@example.net\r\nSubject: lunch\r\nMessage-ID: <m1@example.org>\r\n\r\nSandwiches at one?\r\n"

func TestNode(t *testing.T) {
	e := newEnv(t)
	tlsPaths, pool := relayTLS(t, filepath.Join(t.TempDir(), "relay-tls"), "localhost", "127.0.0.1")
	cfg := e.config(t)
	cfg.Relay.TLSCert, cfg.Relay.TLSKey = tlsPaths.Cert, tlsPaths.Key
	n := start(t, cfg)
	clientTLS := &tls.Config{RootCAs: pool, ServerName: "localhost"}

	t.Run("EHLO", func(t *testing.T) {
		c := dial(t, n.SMTPAddr)
		for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING", "ENHANCEDSTATUSCODES", "STARTTLS"} {
			if ok, _ := c.Extension(ext); !ok {
				t.Errorf("EHLO does not advertise %s", ext)
			}
		}
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("AUTH advertised without auth_users_file")
		}
		size, ok := c.MaxMessageSize()
		if !ok || size <= 0 {
			t.Fatalf("SIZE = %d, %v; want a limit", size, ok)
		}
		// The sealed copy is about 1.4 times the original: it must still fit
		// the next hop's 1 MiB.
		if limit := hopMaxSize * 10 / 14; size > limit {
			t.Errorf("SIZE %d > %d: a sealed copy of a maximal message would not fit the next hop's %d", size, limit, hopMaxSize)
		}
	})

	t.Run("STARTTLS then deliver", func(t *testing.T) {
		c := dialTLS(t, n.SMTPAddr, clientTLS)
		before := len(e.capture.Deliveries())
		if err := send(c, "a@example.org", "b@example.net", plainMsg, nil); err != nil {
			t.Fatalf("send: %v", err)
		}
		ds := waitDelivery(t, e.capture, before+1)
		d := ds[before]
		if !d.TLS || !slices.Equal(d.To, []string{"b@example.net"}) {
			t.Errorf("delivery = TLS %v to %v", d.TLS, d.To)
		}
		if !strings.Contains(string(d.Data), "Sandwiches at one?") {
			t.Errorf("the passed message lost its body:\n%s", d.Data)
		}
	})

	t.Run("BDAT LAST", func(t *testing.T) {
		before := len(e.capture.Deliveries())
		conn, err := net.Dial("tcp", n.SMTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		expect := func(code string) string {
			t.Helper()
			var last string
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("reading the reply (want %s): %v", code, err)
				}
				last = line
				if len(line) < 4 || line[3] != '-' {
					break
				}
			}
			if !strings.HasPrefix(last, code+" ") {
				t.Fatalf("reply %q, want %s", last, code)
			}
			return last
		}
		say := func(s string) {
			t.Helper()
			if _, err := io.WriteString(conn, s); err != nil {
				t.Fatal(err)
			}
		}
		expect("220")
		say("EHLO client.test\r\n")
		expect("250")
		say("MAIL FROM:<a@example.org>\r\n")
		expect("250")
		say("RCPT TO:<chunked@example.net>\r\n")
		expect("250")
		msg := "From: a@example.org\r\nTo: chunked@example.net\r\nSubject: chunks\r\n\r\nfirst chunk "
		msg2 := "and the last.\r\n.leading dot stays\r\n"
		say("BDAT " + strconv.Itoa(len(msg)) + "\r\n" + msg)
		expect("250")
		say("BDAT " + strconv.Itoa(len(msg2)) + " LAST\r\n" + msg2)
		expect("250")
		say("QUIT\r\n")
		expect("221")
		ds := waitDelivery(t, e.capture, before+1)
		d := ds[before]
		if !slices.Equal(d.To, []string{"chunked@example.net"}) {
			t.Errorf("delivered to %v", d.To)
		}
		if !strings.Contains(string(d.Data), "first chunk and the last.\r\n.leading dot stays\r\n") {
			t.Errorf("chunks not joined exactly:\n%q", d.Data)
		}
	})

	t.Run("SMTPUTF8 and 8BITMIME preserved", func(t *testing.T) {
		c := dial(t, n.SMTPAddr)
		before := len(e.capture.Deliveries())
		msg := "From: dr.müller@exämple.org\r\nTo: pätient@example.net\r\nSubject: Grüße\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nBis Dienstag, schöne Grüße.\r\n"
		err := send(c, "dr.müller@exämple.org", "pätient@example.net", msg, &smtp.MailOptions{UTF8: true, Body: smtp.Body8BitMIME})
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		d := waitDelivery(t, e.capture, before+1)[before]
		if !d.SMTPUTF8 {
			t.Error("the next hop's MAIL lacked SMTPUTF8")
		}
		if d.Body != smtp.Body8BitMIME {
			t.Errorf("the next hop's MAIL had BODY=%q, want 8BITMIME", d.Body)
		}
		if d.From != "dr.müller@exämple.org" || !slices.Equal(d.To, []string{"pätient@example.net"}) {
			t.Errorf("envelope = %q → %q, want the UTF-8 addresses unchanged", d.From, d.To)
		}
		if !strings.Contains(string(d.Data), "schöne Grüße") {
			t.Errorf("8-bit body not passed unchanged:\n%s", d.Data)
		}
	})

	t.Run("certificate reload", func(t *testing.T) {
		served := func() *x509.Certificate {
			t.Helper()
			// Verification is off only to read whatever is served; the
			// certificate is compared below.
			c, err := smtp.DialStartTLS(n.SMTPAddr, &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatalf("STARTTLS: %v", err)
			}
			defer c.Close()
			if err := c.Noop(); err != nil {
				t.Fatalf("TLS handshake: %v", err)
			}
			st, ok := c.TLSConnectionState()
			if !ok || len(st.PeerCertificates) == 0 {
				t.Fatal("no peer certificate")
			}
			return st.PeerCertificates[0]
		}
		first := served()
		if !slices.Contains(first.DNSNames, "localhost") {
			t.Fatalf("first certificate names %v", first.DNSNames)
		}
		next, _ := relayTLS(t, filepath.Join(t.TempDir(), "renewed"), "relay2.test", "127.0.0.1")
		for _, f := range []struct{ from, to string }{{next.Key, tlsPaths.Key}, {next.Cert, tlsPaths.Cert}} {
			b, err := os.ReadFile(f.from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.to, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		want, err := tls.LoadX509KeyPair(next.Cert, next.Key)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := served()
			if got.Equal(want.Leaf) {
				if !slices.Contains(got.DNSNames, "relay2.test") || got.SerialNumber.Cmp(first.SerialNumber) == 0 {
					t.Errorf("renewed certificate: names %v serial %v", got.DNSNames, got.SerialNumber)
				}
				break
			}
			if !got.Equal(first) {
				t.Fatalf("served a certificate that is neither the old nor the new one: %v", got.DNSNames)
			}
			if time.Now().After(deadline) {
				t.Fatal("the relay still serves the old certificate 20s after the files changed")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

func TestNodeAuth(t *testing.T) {
	e := newEnv(t)
	tlsPaths, pool := relayTLS(t, filepath.Join(t.TempDir(), "relay-tls"), "localhost", "127.0.0.1")
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte("# submission clients\nscanner:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := e.config(t)
	cfg.Relay.TLSCert, cfg.Relay.TLSKey = tlsPaths.Cert, tlsPaths.Key
	cfg.Relay.AuthUsersFile = users
	cfg.Relay.AllowNetworks = []string{"10.0.0.0/8"} // 127.0.0.1 is not trusted
	n := start(t, cfg)
	clientTLS := &tls.Config{RootCAs: pool, ServerName: "localhost"}

	t.Run("untrusted without AUTH is refused", func(t *testing.T) {
		c := dial(t, n.SMTPAddr)
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("AUTH offered before STARTTLS")
		}
		err := c.Mail("a@example.org", nil)
		if code, enh := smtpCode(err); code != 550 || enh != (smtp.EnhancedCode{5, 7, 1}) {
			t.Errorf("MAIL from an untrusted client without AUTH = %v, want 550 5.7.1", err)
		}
		// Also over TLS, when the client simply does not authenticate.
		c = dialTLS(t, n.SMTPAddr, clientTLS)
		err = c.Mail("a@example.org", nil)
		if code, enh := smtpCode(err); code != 550 || enh != (smtp.EnhancedCode{5, 7, 1}) {
			t.Errorf("MAIL over TLS without AUTH = %v, want 550 5.7.1", err)
		}
	})

	t.Run("AUTH PLAIN before STARTTLS is refused", func(t *testing.T) {
		c := dial(t, n.SMTPAddr)
		err := c.Auth(sasl.NewPlainClient("", "scanner", "correct horse"))
		if err == nil {
			t.Fatal("AUTH PLAIN accepted in clear text")
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		c := dialTLS(t, n.SMTPAddr, clientTLS)
		if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, "PLAIN") {
			t.Fatalf("AUTH after STARTTLS = %v %q, want PLAIN", ok, mechs)
		}
		err := c.Auth(sasl.NewPlainClient("", "scanner", "battery staple"))
		if code, enh := smtpCode(err); code != 535 || enh != (smtp.EnhancedCode{5, 7, 8}) {
			t.Errorf("AUTH with a wrong password = %v, want 535 5.7.8", err)
		}
		err = c.Mail("a@example.org", nil)
		if code, _ := smtpCode(err); code != 550 {
			t.Errorf("MAIL after a failed AUTH = %v, want 550", err)
		}
	})

	t.Run("AUTH over STARTTLS delivers", func(t *testing.T) {
		c := dialTLS(t, n.SMTPAddr, clientTLS)
		if err := c.Auth(sasl.NewPlainClient("", "scanner", "correct horse")); err != nil {
			t.Fatalf("AUTH PLAIN with the right password: %v", err)
		}
		before := len(e.capture.Deliveries())
		if err := send(c, "a@example.org", "b@example.net", plainMsg, nil); err != nil {
			t.Fatalf("send after AUTH: %v", err)
		}
		d := waitDelivery(t, e.capture, before+1)[before]
		if !slices.Equal(d.To, []string{"b@example.net"}) {
			t.Errorf("delivered to %v", d.To)
		}
	})
}

func TestNodeRequireTLS(t *testing.T) {
	e := newEnv(t)
	tlsPaths, pool := relayTLS(t, filepath.Join(t.TempDir(), "relay-tls"), "localhost", "127.0.0.1")
	cfg := e.config(t)
	cfg.Relay.TLSCert, cfg.Relay.TLSKey = tlsPaths.Cert, tlsPaths.Key
	cfg.Relay.RequireTLS = true
	n := start(t, cfg)

	c := dial(t, n.SMTPAddr)
	err := c.Mail("a@example.org", nil)
	if code, enh := smtpCode(err); code != 530 || enh != (smtp.EnhancedCode{5, 7, 0}) {
		t.Errorf("MAIL before STARTTLS = %v, want 530 5.7.0", err)
	}
	c = dialTLS(t, n.SMTPAddr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err := send(c, "a@example.org", "b@example.net", plainMsg, nil); err != nil {
		t.Errorf("send over TLS with require_tls: %v", err)
	}
	waitDelivery(t, e.capture, 1)
}

func TestNodeAdmin(t *testing.T) {
	e := newEnv(t)
	n := start(t, e.config(t))
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + n.AdminAddr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", code)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, "vault: ok") {
		t.Errorf("/readyz = %d %q, want 200 with vault ok", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "sealpost_vault_up") {
		t.Errorf("/metrics = %d, sealpost_vault_up missing", code)
	}

	e.vault.Stop(t)
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Vault stopped = %d, want 503", code)
	}
	if !strings.Contains(body, "vault: not ready") || !strings.Contains(body, "store: ok") {
		t.Errorf("/readyz body %q should name vault as not ready and the store as ok", body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with Vault stopped = %d: the process is alive", code)
	}
}
