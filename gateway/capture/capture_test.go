package capture

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/internal/certs"
)

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial connects a go-smtp client (SMTP or LMTP) to the server.
func dial(t *testing.T, s *Server) *smtp.Client {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	var c *smtp.Client
	if s.cfg.LMTP {
		c = smtp.NewClientLMTP(nc)
	} else {
		c = smtp.NewClient(nc)
	}
	c.CommandTimeout = 20 * time.Second
	c.SubmissionTimeout = 20 * time.Second
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("hello: %v", err)
	}
	return c
}

// send runs one transaction; it returns the first error from any step.
func send(c *smtp.Client, from string, to []string, msg string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	return w.Close()
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// TestStoresExactBytes proves the file holds exactly the message sent, dot-unstuffed, with CRLF, 8-bit bytes
// and a line of a lone dot-dot intact; named after X-Sealpost-Id; mode 0600; no temporary file left behind.
func TestStoresExactBytes(t *testing.T) {
	s := start(t, Config{KeepInMemory: true})
	msg := "X-Sealpost-Id: 20250101-abc; node=relay1\r\n" +
		"Subject: =?utf-8?q?caf=C3=A9?=\r\n" +
		"\r\n" +
		".leading dot\r\n" +
		"..\r\n" +
		".\tdot tab\r\n" +
		"caf\xc3\xa9 8-bit\r\n" +
		"no final newline"
	c := dial(t, s)
	if err := send(c, "a@sender.test", []string{"b@rcpt.test", "c@rcpt.test"}, msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	d, err := s.WaitDeliveries(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(d[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	// go-smtp's client ends an unterminated last line with CRLF before the final dot.
	want := msg + "\r\n"
	if string(got) != want {
		t.Errorf("stored bytes differ:\n got %q\nwant %q", got, want)
	}
	if !bytes.Equal(d[0].Data, got) {
		t.Error("Delivery.Data differs from the file")
	}
	if d[0].ID != "20250101-abc" || filepath.Base(d[0].Path) != "20250101-abc.eml" {
		t.Errorf("id %q path %q, want 20250101-abc(.eml)", d[0].ID, d[0].Path)
	}
	if d[0].From != "a@sender.test" || strings.Join(d[0].To, ",") != "b@rcpt.test,c@rcpt.test" || d[0].TLS {
		t.Errorf("delivery envelope = %+v", d[0])
	}
	fi, err := os.Stat(d[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %o, want 600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(s.cfg.Dir)
	if len(entries) != 1 {
		t.Errorf("directory has %d entries, want 1 (no temporary files)", len(entries))
	}
}

// TestNaming proves ids are never reused (suffixes), unsafe ids are neutralised, and a missing header gives a
// random id.
func TestNaming(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	msgs := []string{
		"X-Sealpost-Id: same\r\n\r\nfirst\r\n",
		"X-Sealpost-Id: same\r\n\r\nsecond\r\n",
		"x-sealpost-id:same;x\r\n\r\nthird\r\n",
		"X-Sealpost-Id: ../../etc/passwd\r\n\r\nfourth\r\n",
		"Subject: none\r\n\r\nfifth\r\n",
	}
	for _, m := range msgs {
		if err := send(c, "a@x.test", []string{"b@y.test"}, m); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	d, err := s.WaitDeliveries(waitCtx(t), len(msgs))
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []string{"same", "same-1", "same-2", "_._.._etc_passwd"}
	for i, want := range wantIDs {
		if d[i].ID != want {
			t.Errorf("message %d: id %q, want %q", i, d[i].ID, want)
		}
	}
	if d[4].ID == "" || strings.Contains(d[4].ID, "same") {
		t.Errorf("message without header: id %q, want a random id", d[4].ID)
	}
	for i, dd := range d {
		if filepath.Dir(dd.Path) != s.cfg.Dir {
			t.Errorf("message %d stored outside Dir: %s", i, dd.Path)
		}
		got, err := os.ReadFile(dd.Path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != msgs[i] {
			t.Errorf("message %d: file holds %q, want %q", i, got, msgs[i])
		}
	}
}

func TestHeaderID(t *testing.T) {
	for _, tc := range []struct{ head, want string }{
		{"X-Sealpost-Id: abc\r\n\r\n", "abc"},
		{"X-Sealpost-Id: abc; v=1\r\n", "abc"},
		{"From: a\r\nX-SEALPOST-ID:\r\n  folded ;x\r\n", "folded"},
		{"From: a\r\n\r\nX-Sealpost-Id: body\r\n", ""},
		{"X-Sealpost-Id: first\nX-Sealpost-Id: second\n", "first"},
		{"X-Sealpost-Idx: no\r\n", ""},
		{"", ""},
	} {
		if got := headerID([]byte(tc.head)); got != tc.want {
			t.Errorf("headerID(%q) = %q, want %q", tc.head, got, tc.want)
		}
	}
	for _, tc := range []struct{ id, want string }{
		{"abc-123", "abc-123"},
		{".hidden", "_hidden"},
		{"a/b\\c d", "a_b_c_d"},
		{"é", "__"},
		{strings.Repeat("x", 300), strings.Repeat("x", maxIDLen)},
		{"", ""},
	} {
		if got := fileID(tc.id); got != tc.want {
			t.Errorf("fileID(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// FuzzFileID checks that any header yields a file name that cannot escape Dir or hide.
func FuzzFileID(f *testing.F) {
	f.Add([]byte("X-Sealpost-Id: abc; v=1\r\n\r\n"))
	f.Add([]byte("X-Sealpost-Id: ../../x\r\n"))
	f.Add([]byte("x-sealpost-id:\r\n\t.\r\n"))
	f.Fuzz(func(t *testing.T, head []byte) {
		id := fileID(headerID(head))
		if len(id) > maxIDLen {
			t.Fatalf("id too long: %d", len(id))
		}
		if strings.HasPrefix(id, ".") || strings.ContainsAny(id, "/\\\x00") {
			t.Fatalf("unsafe id %q", id)
		}
		if id != "" && filepath.Base(id) != id {
			t.Fatalf("id %q is not a plain file name", id)
		}
	})
}

// TestFailureInjection proves each stage's injected error reaches the client, for matching addresses only,
// and that Clear removes them.
func TestFailureInjection(t *testing.T) {
	e451 := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	e550 := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	e554 := &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "content rejected"}
	for _, tc := range []struct {
		name  string
		stage Stage
		addr  string
		err   *smtp.SMTPError
		from  string
		to    []string
		want  int
	}{
		{"mail all", StageMail, "", e451, "a@x.test", []string{"b@y.test"}, 451},
		{"mail by sender", StageMail, "A@X.test", e550, "a@x.test", []string{"b@y.test"}, 550},
		{"mail other sender", StageMail, "z@x.test", e550, "a@x.test", []string{"b@y.test"}, 0},
		{"rcpt match", StageRcpt, "bad@y.test", e550, "a@x.test", []string{"bad@y.test"}, 550},
		{"rcpt other", StageRcpt, "bad@y.test", e550, "a@x.test", []string{"good@y.test"}, 0},
		{"data any rcpt", StageData, "b@y.test", e554, "a@x.test", []string{"a@y.test", "b@y.test"}, 554},
		{"data all", StageData, "", e451, "a@x.test", []string{"a@y.test"}, 451},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Config{})
			s.Fail(tc.stage, tc.addr, tc.err)
			err := send(dial(t, s), tc.from, tc.to, "Subject: x\r\n\r\nbody\r\n")
			if got := code(err); got != tc.want || (tc.want == 0 && err != nil) {
				t.Fatalf("send: err %v (code %d), want code %d", err, got, tc.want)
			}
			if n := len(s.Deliveries()); (tc.want == 0) != (n == 1) {
				t.Errorf("%d deliveries stored, want %v", n, tc.want == 0)
			}
			s.Clear()
			if err := send(dial(t, s), tc.from, tc.to, "Subject: x\r\n\r\nbody\r\n"); err != nil {
				t.Errorf("after Clear: %v", err)
			}
		})
	}
	s := start(t, Config{})
	s.Fail(StageMail, "", e451)
	s.Fail(StageMail, "", nil)
	if err := send(dial(t, s), "a@x.test", []string{"b@y.test"}, "\r\nx\r\n"); err != nil {
		t.Errorf("Fail with nil did not remove the rule: %v", err)
	}
}

// TestLMTP proves LMTP answers per recipient after DATA and stores the message for the accepted ones only.
func TestLMTP(t *testing.T) {
	s := start(t, Config{LMTP: true})
	s.Fail(StageData, "full@y.test", &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"})
	c := dial(t, s)
	err := send(c, "a@x.test", []string{"ok@y.test", "full@y.test", "ok2@y.test"}, "Subject: lmtp\r\n\r\nhi\r\n")
	var lerr smtp.LMTPDataError
	if !errors.As(err, &lerr) {
		t.Fatalf("send: %v, want an LMTPDataError", err)
	}
	if len(lerr) != 1 || lerr["full@y.test"] == nil || lerr["full@y.test"].Code != 452 {
		t.Errorf("per-recipient errors = %v, want only full@y.test 452", lerr)
	}
	d := s.Deliveries()
	if len(d) != 1 || strings.Join(d[0].To, ",") != "ok@y.test,ok2@y.test" {
		t.Fatalf("deliveries = %+v, want one for ok@ and ok2@", d)
	}
	// All recipients failing stores nothing.
	s.Fail(StageData, "", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "down"})
	if err := send(c, "a@x.test", []string{"ok@y.test"}, "\r\nhi\r\n"); !errors.As(err, &lerr) {
		t.Fatalf("send: %v, want an LMTPDataError", err)
	}
	if n := len(s.Deliveries()); n != 1 {
		t.Errorf("%d deliveries, want still 1", n)
	}
	// A plain SMTP client is refused by an LMTP server.
	plain, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Hello("client.test"); code(err) != 500 {
		t.Errorf("EHLO to LMTP server: %v, want 500", err)
	}
}

func tlsFiles(t *testing.T) (certs.Paths, *x509.CertPool) {
	t.Helper()
	p, err := certs.Generate(t.TempDir(), "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	return p, roots
}

// TestTLSAuthRequireTLS proves STARTTLS is offered with the configured certificate, RequireTLS refuses MAIL
// in plaintext, and AUTH PLAIN is needed and checked when configured.
func TestTLSAuthRequireTLS(t *testing.T) {
	p, roots := tlsFiles(t)
	s := start(t, Config{TLSCert: p.Cert, TLSKey: p.Key, RequireTLS: true, Username: "relay", Password: "s3cret"})

	c := dial(t, s)
	if err := c.Mail("a@x.test", nil); code(err) != 530 {
		t.Errorf("MAIL before STARTTLS: %v, want 530", err)
	}

	tlsc, err := smtp.DialStartTLS(s.Addr(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer tlsc.Close()
	if err := tlsc.Mail("a@x.test", nil); code(err) != 530 {
		t.Errorf("MAIL before AUTH: %v, want 530", err)
	}
	if err := tlsc.Auth(sasl.NewPlainClient("", "relay", "wrong")); code(err) != 535 {
		t.Errorf("AUTH with a wrong password: %v, want 535", err)
	}
	if err := tlsc.Auth(sasl.NewPlainClient("", "relay", "s3cret")); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := send(tlsc, "a@x.test", []string{"b@y.test"}, "\r\nhi\r\n"); err != nil {
		t.Fatalf("send: %v", err)
	}
	d := s.Deliveries()
	if len(d) != 1 || !d[0].TLS || d[0].AuthUser != "relay" {
		t.Errorf("deliveries = %+v, want one over TLS by relay", d)
	}
	if s.MailCommands() != 3 {
		t.Errorf("MailCommands = %d, want 3", s.MailCommands())
	}
}

// TestDropAndHold proves DropData cuts the connection without storing, and HoldData keeps the reply back
// until released, after which the message is stored.
func TestDropAndHold(t *testing.T) {
	s := start(t, Config{})
	s.DropData(5)
	if err := send(dial(t, s), "a@x.test", []string{"b@y.test"}, "Subject: x\r\n\r\nbody\r\n"); err == nil || code(err) != 0 {
		t.Errorf("send with DropData: %v, want a connection error", err)
	}
	if n := len(s.Deliveries()); n != 0 {
		t.Errorf("%d deliveries after a dropped DATA", n)
	}
	entries, _ := os.ReadDir(s.cfg.Dir)
	if len(entries) != 0 {
		t.Errorf("dropped DATA left %d files", len(entries))
	}
	s.Clear()

	s.HoldData()
	done := make(chan error, 1)
	c := dial(t, s)
	go func() { done <- send(c, "a@x.test", []string{"b@y.test"}, "\r\nheld\r\n") }()
	if err := s.WaitHeld(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("DATA answered while held: %v", err)
	default:
	}
	if n := len(s.Deliveries()); n != 0 {
		t.Errorf("held message stored before release")
	}
	s.ReleaseData()
	if err := <-done; err != nil {
		t.Errorf("send after release: %v", err)
	}
	if _, err := s.WaitDeliveries(waitCtx(t), 1); err != nil {
		t.Error(err)
	}
}

// TestDownUp proves Down refuses connections and drops open ones, and Up serves again on the same address.
func TestDownUp(t *testing.T) {
	s := start(t, Config{})
	addr := s.Addr()
	c := dial(t, s)
	if err := s.Down(); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(); err == nil {
		t.Error("connection still open after Down")
	}
	if nc, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		nc.Close()
		t.Fatal("connection accepted while down")
	}
	if err := s.Up(); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != addr {
		t.Errorf("address changed: %s -> %s", addr, s.Addr())
	}
	if err := send(dial(t, s), "a@x.test", []string{"b@y.test"}, "\r\nup\r\n"); err != nil {
		t.Errorf("send after Up: %v", err)
	}
	if n := s.CloseConnections(); n != 1 {
		t.Errorf("CloseConnections = %d, want 1", n)
	}
}

// TestMaxSize proves SIZE is advertised and a larger message is refused with 552 and not stored.
func TestMaxSize(t *testing.T) {
	s := start(t, Config{MaxSize: 1000})
	c := dial(t, s)
	if n, ok := c.MaxMessageSize(); !ok || n != 1000 {
		t.Errorf("SIZE = %d, %v; want 1000", n, ok)
	}
	err := send(c, "a@x.test", []string{"b@y.test"}, "\r\n"+strings.Repeat(strings.Repeat("x", 70)+"\r\n", 20))
	if code(err) != 552 {
		t.Errorf("oversized send: %v, want 552", err)
	}
	if n := len(s.Deliveries()); n != 0 {
		t.Errorf("%d deliveries, want 0", n)
	}
}

// TestLongLine proves a line over the limit is refused permanently and not stored.
func TestLongLine(t *testing.T) {
	s := start(t, Config{})
	err := send(dial(t, s), "a@x.test", []string{"b@y.test"}, "\r\n"+strings.Repeat("x", 3000)+"\r\n")
	if code(err) != 554 {
		t.Errorf("send: %v, want 554", err)
	}
	if n := len(s.Deliveries()); n != 0 {
		t.Errorf("%d deliveries, want 0", n)
	}
}

// TestDiscard proves the sink mode accepts and records messages without writing anything.
func TestDiscard(t *testing.T) {
	dir := t.TempDir()
	s := start(t, Config{Dir: dir, Discard: true, KeepInMemory: true})
	msg := "X-Sealpost-Id: sink-1\r\n\r\nbody\r\n"
	if err := send(dial(t, s), "a@x.test", []string{"b@y.test"}, msg); err != nil {
		t.Fatal(err)
	}
	d, err := s.WaitDeliveries(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if d[0].Path != "" || d[0].ID != "sink-1" || string(d[0].Data) != msg {
		t.Errorf("delivery = %+v", d[0])
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Discard wrote %d files", len(entries))
	}
}

func TestStartErrors(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Dir: t.TempDir(), TLSCert: "x"},
		{Dir: t.TempDir(), RequireTLS: true},
		{Dir: t.TempDir(), TLSCert: "/nonexistent", TLSKey: "/nonexistent"},
	} {
		if s, err := Start(cfg); err == nil {
			s.Close()
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
}

// TestStartClose proves Close returns even right after Start, before the serving goroutine runs.
func TestStartClose(t *testing.T) {
	for range 200 {
		s, err := Start(Config{Discard: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
