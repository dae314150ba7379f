package nexthop

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/internal/certs"
)

const testMsg = "X-Sealpost-Id: t1; v=1\r\nSubject: hello\r\n\r\n.dot line\r\nbody\r\n"

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func genCerts(t testing.TB, hosts ...string) certs.Paths {
	t.Helper()
	p, err := certs.Generate(t.TempDir(), hosts...)
	if err != nil {
		t.Fatalf("certs.Generate: %v", err)
	}
	return p
}

// startCapture starts a capture next hop; with p set, it offers STARTTLS with p's certificate.
func startCapture(t testing.TB, p *certs.Paths, cfg capture.Config) *capture.Server {
	t.Helper()
	cfg.Dir = t.TempDir()
	cfg.KeepInMemory = true
	if p != nil {
		cfg.TLSCert, cfg.TLSKey = p.Cert, p.Key
	}
	s, err := capture.Start(cfg)
	if err != nil {
		t.Fatalf("capture.Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tlsPair is a capture next hop with a verified-TLS client for it.
func tlsPair(t testing.TB, capCfg capture.Config, cfg Config) (*capture.Server, *Client) {
	t.Helper()
	p := genCerts(t, "localhost", "127.0.0.1")
	s := startCapture(t, &p, capCfg)
	cfg.Addr = s.Addr()
	cfg.CAFile = p.CA
	return s, newClient(t, cfg)
}

func simpleEnv(to ...string) Envelope {
	return Envelope{From: "sender@clinic.test", To: to}
}

func mustDeliver(t *testing.T, c *Client, env Envelope, msg string) *Result {
	t.Helper()
	res, err := c.Deliver(ctxT(t), env, strings.NewReader(msg))
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return res
}

// TestDeliverVerifiedTLS proves delivery over verified STARTTLS: accepted for every recipient, carried over
// TLS, and the next hop stored the exact bytes.
func TestDeliverVerifiedTLS(t *testing.T) {
	s, c := tlsPair(t, capture.Config{}, Config{})
	res := mustDeliver(t, c, simpleEnv("a@partner.test", "b@partner.test"), testMsg)
	if got := slices.Sorted(slices.Values(res.Delivered())); !slices.Equal(got, []string{"a@partner.test", "b@partner.test"}) {
		t.Errorf("Delivered = %v", got)
	}
	d, err := s.WaitDeliveries(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !d[0].TLS {
		t.Error("delivery was not over TLS")
	}
	if string(d[0].Data) != testMsg {
		t.Errorf("next hop got %q, want %q", d[0].Data, testMsg)
	}
	file, err := os.ReadFile(d[0].Path)
	if err != nil || string(file) != testMsg || !strings.HasSuffix(d[0].Path, "/t1.eml") {
		t.Errorf("file %s holds %q (%v)", d[0].Path, file, err)
	}
}

// TestVerifyNeverFallsBack proves that in verify mode a next hop without STARTTLS, with a certificate for
// another name, or from an untrusted CA, gets an error and never a MAIL command: no plaintext fallback.
func TestVerifyNeverFallsBack(t *testing.T) {
	good := genCerts(t, "localhost", "127.0.0.1")
	wrongName := genCerts(t, "mail.elsewhere.test")
	otherCA := genCerts(t, "localhost", "127.0.0.1")
	for _, tc := range []struct {
		name       string
		server     *certs.Paths
		clientCA   string
		serverName string
		wantErr    error
		wantSub    string
	}{
		{"no STARTTLS", nil, good.CA, "", ErrNoSTARTTLS, "STARTTLS"},
		{"wrong IP", &wrongName, wrongName.CA, "", nil, "TLS handshake"},
		{"wrong DNS name", &wrongName, wrongName.CA, "localhost", nil, "TLS handshake"},
		{"untrusted CA", &otherCA, good.CA, "", nil, "TLS handshake"},
		{"system roots only", &good, "", "localhost", nil, "TLS handshake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startCapture(t, tc.server, capture.Config{})
			c := newClient(t, Config{Addr: s.Addr(), CAFile: tc.clientCA, ServerName: tc.serverName})
			res, err := c.Deliver(ctxT(t), simpleEnv("a@partner.test"), strings.NewReader(testMsg))
			if err == nil {
				t.Fatalf("Deliver succeeded: %+v", res)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantSub) {
				t.Errorf("err = %v, want it to mention %q", err, tc.wantSub)
			}
			t.Logf("error (as the caller sees it): %v", err)
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if s.Connections() == 0 {
				t.Error("the client never connected; the test proves nothing")
			}
			if n := s.MailCommands(); n != 0 {
				t.Errorf("next hop saw %d MAIL commands", n)
			}
			if d := s.Deliveries(); len(d) != 0 {
				t.Errorf("next hop received %d messages", len(d))
			}
		})
	}
}

// TestTLSModes proves what opportunistic and none do with and without STARTTLS on offer.
func TestTLSModes(t *testing.T) {
	untrusted := genCerts(t, "mail.elsewhere.test")
	for _, tc := range []struct {
		name    string
		mode    TLSMode
		server  *certs.Paths
		wantTLS bool
	}{
		{"opportunistic, unverifiable certificate", TLSOpportunistic, &untrusted, true},
		{"opportunistic, no STARTTLS", TLSOpportunistic, nil, false},
		{"none, STARTTLS offered", TLSNone, &untrusted, false},
		{"none, no STARTTLS", TLSNone, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startCapture(t, tc.server, capture.Config{})
			var logs bytes.Buffer
			c := newClient(t, Config{Addr: s.Addr(), TLS: tc.mode, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if warned := strings.Contains(logs.String(), "UNSAFE"); warned != (tc.mode == TLSNone) {
				t.Errorf("unsafe warning logged = %v for mode %s; log: %s", warned, tc.mode, logs.String())
			}
			mustDeliver(t, c, simpleEnv("a@partner.test"), testMsg)
			d, err := s.WaitDeliveries(ctxT(t), 1)
			if err != nil {
				t.Fatal(err)
			}
			if d[0].TLS != tc.wantTLS || string(d[0].Data) != testMsg {
				t.Errorf("TLS=%v data=%q; want TLS=%v", d[0].TLS, d[0].Data, tc.wantTLS)
			}
		})
	}
}

// TestAuthPlain proves AUTH PLAIN works over TLS, that wrong credentials fail before MAIL, and that
// credentials are never sent without TLS.
func TestAuthPlain(t *testing.T) {
	capCfg := capture.Config{Username: "relay", Password: "s3cret"}
	s, c := tlsPair(t, capCfg, Config{Username: "relay", Password: "s3cret"})
	mustDeliver(t, c, simpleEnv("a@partner.test"), testMsg)
	d, err := s.WaitDeliveries(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if d[0].AuthUser != "relay" {
		t.Errorf("AuthUser = %q, want relay", d[0].AuthUser)
	}

	s2, bad := tlsPair(t, capCfg, Config{Username: "relay", Password: "wrong"})
	if _, err := bad.Deliver(ctxT(t), simpleEnv("a@partner.test"), strings.NewReader(testMsg)); err == nil {
		t.Error("Deliver with a wrong password succeeded")
	}
	if s2.MailCommands() != 0 {
		t.Errorf("MAIL sent after failed AUTH")
	}

	// Opportunistic to a next hop without TLS: the client refuses to authenticate in plaintext.
	plain := startCapture(t, nil, capture.Config{})
	oc := newClient(t, Config{Addr: plain.Addr(), TLS: TLSOpportunistic, Username: "relay", Password: "s3cret"})
	if _, err := oc.Deliver(ctxT(t), simpleEnv("a@partner.test"), strings.NewReader(testMsg)); !errors.Is(err, ErrAuthWithoutTLS) {
		t.Errorf("Deliver: %v, want ErrAuthWithoutTLS", err)
	}
	if plain.MailCommands() != 0 {
		t.Errorf("MAIL sent without TLS and AUTH")
	}
	if _, err := New(Config{Addr: plain.Addr(), TLS: TLSNone, Username: "relay"}); !errors.Is(err, ErrAuthWithoutTLS) {
		t.Errorf("New(TLSNone, Username): %v, want ErrAuthWithoutTLS", err)
	}
}

var (
	e451 = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	e550 = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	e554 = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "content rejected"}
)

// TestAnswers proves how the next hop's SMTP answers map to the Result, per recipient, and that the
// connection survives each of them.
func TestAnswers(t *testing.T) {
	type want struct {
		rcpt      map[string]int // code per recipient at MAIL/RCPT, 0 = accepted
		data      int
		delivered []string // recipients of the stored message; nil = nothing stored
	}
	for _, tc := range []struct {
		name  string
		stage capture.Stage
		addr  string
		err   *smtp.SMTPError
		want  want
	}{
		{"one rcpt 550", capture.StageRcpt, "bad@partner.test", e550,
			want{map[string]int{"bad@partner.test": 550, "good@partner.test": 0}, 0, []string{"good@partner.test"}}},
		{"all rcpts 550, no DATA", capture.StageRcpt, "", e550,
			want{map[string]int{"bad@partner.test": 550, "good@partner.test": 550}, 0, nil}},
		{"MAIL 451", capture.StageMail, "", e451,
			want{map[string]int{"bad@partner.test": 451, "good@partner.test": 451}, 0, nil}},
		{"DATA 554", capture.StageData, "", e554,
			want{map[string]int{"bad@partner.test": 0, "good@partner.test": 0}, 554, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := tlsPair(t, capture.Config{}, Config{})
			s.Fail(tc.stage, tc.addr, tc.err)
			res := mustDeliver(t, c, simpleEnv("bad@partner.test", "good@partner.test"), testMsg)
			for r, code := range tc.want.rcpt {
				e, ok := res.Rcpt[r]
				if !ok {
					t.Errorf("no Rcpt entry for %s", r)
				}
				if got := codeOf(e); got != code {
					t.Errorf("Rcpt[%s] = %v, want %d", r, e, code)
				}
				if code == 451 && !Temporary(e) {
					t.Errorf("Temporary(%v) = false", e)
				}
			}
			if got := codeOf(res.Data); got != tc.want.data {
				t.Errorf("Data = %v, want %d", res.Data, tc.want.data)
			}
			if tc.want.data == 554 && codeOf(res.Err("good@partner.test")) != 554 {
				t.Errorf("Err(good) = %v, want the DATA answer", res.Err("good@partner.test"))
			}
			d := s.Deliveries()
			if tc.want.delivered == nil {
				if len(d) != 0 {
					t.Errorf("%d messages stored, want none", len(d))
				}
			} else if len(d) != 1 || !slices.Equal(d[0].To, tc.want.delivered) {
				t.Errorf("stored %+v, want one message to %v", d, tc.want.delivered)
			}
			if !slices.Equal(res.Delivered(), tc.want.delivered) {
				t.Errorf("Delivered = %v, want %v", res.Delivered(), tc.want.delivered)
			}

			// The connection is reused for the next message, after RSET where a transaction was left open.
			s.Clear()
			mustDeliver(t, c, simpleEnv("good@partner.test"), testMsg)
			if n := s.Connections(); n != 1 {
				t.Errorf("%d connections, want 1 (reused)", n)
			}
			if _, err := s.WaitDeliveries(ctxT(t), len(d)+1); err != nil {
				t.Error(err)
			}
		})
	}
}

func codeOf(e *smtp.SMTPError) int {
	if e == nil {
		return 0
	}
	return e.Code
}

// TestPool proves connection reuse, replacement of a connection the next hop closed while idle, no retry once
// past MAIL, and that 421 is a connection failure.
func TestPool(t *testing.T) {
	s, c := tlsPair(t, capture.Config{}, Config{})
	env := simpleEnv("a@partner.test")
	mustDeliver(t, c, env, testMsg)
	mustDeliver(t, c, env, testMsg)
	d, err := s.WaitDeliveries(ctxT(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Connections() != 1 || d[0].Conn != d[1].Conn {
		t.Errorf("connections = %d (deliveries on %d and %d), want 1", s.Connections(), d[0].Conn, d[1].Conn)
	}

	// The next hop drops the idle connection: the next delivery notices at MAIL and uses a fresh one.
	if n := s.CloseConnections(); n != 1 {
		t.Fatalf("CloseConnections = %d, want 1", n)
	}
	mustDeliver(t, c, env, testMsg)
	if s.Connections() != 2 {
		t.Errorf("connections = %d, want 2", s.Connections())
	}

	// Dropped mid-DATA on a pooled connection: an error, and no second attempt.
	mails := s.MailCommands()
	s.DropData(10)
	if _, err := c.Deliver(ctxT(t), env, strings.NewReader(testMsg)); err == nil {
		t.Error("Deliver succeeded although the connection was dropped in DATA")
	}
	if got := s.MailCommands() - mails; got != 1 {
		t.Errorf("%d MAIL commands for one failed delivery, want 1 (no retry past MAIL)", got)
	}
	s.Clear()

	// 421 at MAIL: an error, after one retry on a fresh connection (the pooled one might have been stale).
	mustDeliver(t, c, env, testMsg) // leaves a pooled connection
	mails, conns := s.MailCommands(), s.Connections()
	s.Fail(capture.StageMail, "", &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "shutting down"})
	if _, err := c.Deliver(ctxT(t), env, strings.NewReader(testMsg)); err == nil {
		t.Error("Deliver returned a Result for 421, want an error")
	}
	if got := s.MailCommands() - mails; got != 2 {
		t.Errorf("%d MAIL commands, want 2 (pooled, then one fresh)", got)
	}
	if got := s.Connections() - conns; got != 1 {
		t.Errorf("%d new connections, want 1", got)
	}
	s.Clear()

	// Without pooling every delivery has its own connection.
	s2, c2 := tlsPair(t, capture.Config{}, Config{MaxIdle: -1})
	mustDeliver(t, c2, env, testMsg)
	mustDeliver(t, c2, env, testMsg)
	if s2.Connections() != 2 {
		t.Errorf("connections without pool = %d, want 2", s2.Connections())
	}
}

// TestDownUp proves a next hop that is down gives an error (temporary), and delivery resumes once it is up.
func TestDownUp(t *testing.T) {
	s, c := tlsPair(t, capture.Config{}, Config{Timeout: 5 * time.Second})
	env := simpleEnv("a@partner.test")
	mustDeliver(t, c, env, testMsg)
	if err := s.Down(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deliver(ctxT(t), env, strings.NewReader(testMsg)); err == nil {
		t.Error("Deliver succeeded while the next hop was down")
	}
	if err := s.Up(); err != nil {
		t.Fatal(err)
	}
	mustDeliver(t, c, env, testMsg)
	if _, err := s.WaitDeliveries(ctxT(t), 2); err != nil {
		t.Error(err)
	}
}

// TestEnvelopePassThrough proves SMTPUTF8, BODY=8BITMIME and SIZE reach the next hop, and what is refused
// permanently because the next hop cannot take it.
func TestEnvelopePassThrough(t *testing.T) {
	s, c := tlsPair(t, capture.Config{}, Config{})
	msg := "Subject: caf\xc3\xa9\r\n\r\nna\xc3\xafve\r\n"
	env := Envelope{From: "dr.müller@klinik.test", To: []string{"patientin@例え.test"}, SMTPUTF8: true, Body: smtp.Body8BitMIME, Size: int64(len(msg))}
	mustDeliver(t, c, env, msg)
	d, err := s.WaitDeliveries(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	got := d[0]
	if !got.SMTPUTF8 || got.Body != smtp.Body8BitMIME || got.Size != int64(len(msg)) ||
		got.From != env.From || !slices.Equal(got.To, env.To) || string(got.Data) != msg {
		t.Errorf("next hop got %+v", got)
	}

	res := mustDeliver(t, c, Envelope{From: "a@x.test", To: []string{"b@y.test"}, Body: smtp.BodyBinaryMIME}, msg)
	if e := res.Err("b@y.test"); codeOf(e) != 554 || Temporary(e) {
		t.Errorf("BINARYMIME: %v, want a permanent 554", e)
	}

	s2, c2 := tlsPair(t, capture.Config{NoSMTPUTF8: true}, Config{})
	res = mustDeliver(t, c2, env, msg)
	if e := res.Err(env.To[0]); codeOf(e) != 553 {
		t.Errorf("SMTPUTF8 to a next hop without it: %v, want 553", e)
	}
	if s2.MailCommands() != 0 {
		t.Error("MAIL was sent to a next hop that cannot take SMTPUTF8")
	}
	mustDeliver(t, c2, simpleEnv("a@partner.test"), testMsg) // the connection is still good
}

// failingReader yields some bytes, then an error.
type failingReader struct{ r io.Reader }

func (f *failingReader) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if err == io.EOF {
		return n, errors.New("disk gone")
	}
	return n, err
}

// TestReaderFailure proves a message whose reader fails is not completed: the next hop stores nothing, and
// the client recovers.
func TestReaderFailure(t *testing.T) {
	s, c := tlsPair(t, capture.Config{}, Config{})
	_, err := c.Deliver(ctxT(t), simpleEnv("a@partner.test"), &failingReader{strings.NewReader("Subject: x\r\n\r\n" + strings.Repeat(strings.Repeat("x", 70)+"\r\n", 1000))})
	if err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Fatalf("Deliver: %v, want the reader's error", err)
	}
	mustDeliver(t, c, simpleEnv("a@partner.test"), testMsg)
	d, err := s.WaitDeliveries(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 1 || string(d[0].Data) != testMsg {
		t.Errorf("deliveries = %d, want only the complete message", len(d))
	}
}

// TestCancelWhileHeld proves a cancelled context ends a delivery stuck waiting for the final reply, with an
// error, as when the relay shuts down.
func TestCancelWhileHeld(t *testing.T) {
	s, c := tlsPair(t, capture.Config{}, Config{})
	s.HoldData()
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() {
		_, err := c.Deliver(ctx, simpleEnv("a@partner.test"), strings.NewReader(testMsg))
		done <- err
	}()
	if err := s.WaitHeld(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Deliver: %v, want context.Canceled", err)
	}
	s.ReleaseData()
	mustDeliver(t, c, simpleEnv("a@partner.test"), testMsg)
}

// TestProbe proves Probe reports the next hop's SIZE, and 0 when it gives no number.
func TestProbe(t *testing.T) {
	for _, size := range []int64{0, 10 << 20} {
		_, c := tlsPair(t, capture.Config{MaxSize: size}, Config{})
		got, err := c.Probe(ctxT(t))
		if err != nil || got != size {
			t.Errorf("Probe = %d, %v; want %d", got, err, size)
		}
	}
}

// TestConfigAndClose proves configuration errors are caught and a closed client refuses work.
func TestConfigAndClose(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Addr: "no-port"},
		{Addr: "127.0.0.1:25", TLS: "maybe"},
		{Addr: "127.0.0.1:25", CAFile: "/nonexistent/ca.pem"},
		{Addr: "127.0.0.1:25", HeloName: "two words"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	_, c := tlsPair(t, capture.Config{}, Config{})
	for _, env := range []Envelope{
		{From: "a@x.test"},
		{From: "a@x.test\r\nRCPT TO:<evil@x.test>", To: []string{"b@y.test"}},
	} {
		if _, err := c.Deliver(ctxT(t), env, strings.NewReader(testMsg)); err == nil {
			t.Errorf("Deliver(%q) succeeded", env.From)
		}
	}
	c.Close()
	if _, err := c.Deliver(ctxT(t), simpleEnv("a@partner.test"), strings.NewReader(testMsg)); !errors.Is(err, ErrClosed) {
		t.Errorf("Deliver after Close: %v, want ErrClosed", err)
	}
}

// BenchmarkDeliverPooledTLS measures one 20 KB message over a pooled, verified TLS connection, to a next hop
// that does not write to disk (so that the next hop's fsync does not dominate).
func BenchmarkDeliverPooledTLS(b *testing.B) {
	p := genCerts(b, "localhost", "127.0.0.1")
	s, err := capture.Start(capture.Config{Discard: true, TLSCert: p.Cert, TLSKey: p.Key})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := newClient(b, Config{Addr: s.Addr(), CAFile: p.CA})
	line := strings.Repeat("abcdefghij", 7) + "\r\n"
	msg := []byte("Subject: bench\r\n\r\n" + strings.Repeat(line, 20*1024/len(line)))
	env := simpleEnv("a@partner.test")
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		res, err := c.Deliver(ctx, env, bytes.NewReader(msg))
		if err != nil || res.Err("a@partner.test") != nil {
			b.Fatalf("Deliver: %v %v", err, res)
		}
	}
	b.StopTimer()
	if s.Connections() != 1 {
		b.Errorf("connections = %d, want 1", s.Connections())
	}
}
