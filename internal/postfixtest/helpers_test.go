package postfixtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/emersion/go-smtp"
)

// received is one transaction a test server accepted.
type received struct {
	From string
	To   []string
	Data []byte
}

// recorder accepts SMTP or LMTP transactions and keeps them. failNext
// makes the next DATA commands fail with 451; failRcptOnce makes the named
// recipient fail once (LMTP per-recipient status) while the others succeed.
type recorder struct {
	mu           sync.Mutex
	msgs         []received
	attempts     int
	failNext     int
	failRcptOnce map[string]bool
	// forward, if set, is called with each message before it is accepted;
	// an error from it fails the transaction with 451.
	forward func(m received) error
}

func (r *recorder) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.msgs...)
}

func (r *recorder) attemptCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

var errTempFail = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "test: try again later"}

type recSession struct {
	r    *recorder
	from string
	to   []string
}

func (s *recSession) Reset()        { s.from, s.to = "", nil }
func (s *recSession) Logout() error { return nil }
func (s *recSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *recSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *recSession) Data(rd io.Reader) error {
	return s.LMTPData(rd, nil)
}

// LMTPData accepts the message for the recipients that do not fail. With a
// nil status (SMTP) any failure fails the whole transaction.
func (s *recSession) LMTPData(rd io.Reader, status smtp.StatusCollector) error {
	data, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	r := s.r
	r.mu.Lock()
	r.attempts++
	if r.failNext > 0 {
		r.failNext--
		r.mu.Unlock()
		return errTempFail
	}
	var ok, failed []string
	for _, to := range s.to {
		if r.failRcptOnce[to] {
			delete(r.failRcptOnce, to)
			failed = append(failed, to)
			continue
		}
		ok = append(ok, to)
	}
	fwd := r.forward
	r.mu.Unlock()
	if status == nil && len(failed) > 0 {
		return errTempFail
	}
	m := received{From: s.from, To: ok, Data: data}
	if len(ok) > 0 && fwd != nil {
		if err := fwd(m); err != nil {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 0}, Message: "test: forward failed: " + err.Error()}
		}
	}
	if len(ok) > 0 {
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
	}
	if status != nil {
		for _, to := range s.to {
			var e error
			for _, f := range failed {
				if f == to {
					e = errTempFail
				}
			}
			status.SetStatus(to, e)
		}
	}
	return nil
}

// serve runs r as an SMTP (or LMTP) server on l until the test ends.
func serve(t testing.TB, r *recorder, l net.Listener, lmtp bool) {
	t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &recSession{r: r}, nil
	}))
	srv.Domain = "recorder.localhost"
	srv.LMTP = lmtp
	srv.EnableSMTPUTF8 = true
	srv.MaxMessageBytes = 200 << 20
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("test server on %s: %v", l.Addr(), err)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
}

// startRecorder runs r on a fresh loopback port and returns its address.
func startRecorder(t testing.TB, r *recorder, lmtp bool) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, r, l, lmtp)
	return l.Addr().String()
}

// forwardTo returns a forward function that re-submits a message over SMTP
// to addr(), with a header marking it as filtered — what Sealpost does in
// ContentFilterLMTP mode.
func forwardTo(addr func() string) func(received) error {
	return func(m received) error {
		c, err := smtp.Dial(addr())
		if err != nil {
			return fmt.Errorf("failed to dial: %w", err)
		}
		defer c.Close()
		body := append([]byte("X-Test-Filtered: yes\r\n"), m.Data...)
		if err := c.SendMail(m.From, m.To, bytes.NewReader(body)); err != nil {
			return fmt.Errorf("failed to send: %w", err)
		}
		return c.Quit()
	}
}

// submit sends one message with swaks and fails the test unless Postfix
// queued it.
func submit(t testing.TB, addr, from string, to []string, marker string) {
	t.Helper()
	out, err := Swaks(t, "--server", addr, "--from", from, "--to", strings.Join(to, ","),
		"--header", "Subject: postfixtest "+marker, "--body", "marker "+marker)
	if err != nil {
		t.Fatalf("swaks failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "queued as") {
		t.Fatalf("Postfix did not queue the message:\n%s", out)
	}
}

// reservePort binds a loopback TCP socket without listening on it: clients
// connecting to the port are refused, as by a host whose server is down, and
// no other process can take the port. listen turns the same socket into a
// listener, so the server comes back on the same port without a window in
// which another process (tests run concurrently on a shared machine) could
// grab it.
func reservePort(t testing.TB) (addr string, listen func() net.Listener) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("failed to create a socket: %v", err)
	}
	f := os.NewFile(uintptr(fd), "reserved-port")
	t.Cleanup(func() { f.Close() })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("failed to bind a socket: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("failed to read the socket's port: %v", err)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	listen = func() net.Listener {
		t.Helper()
		if err := syscall.Listen(fd, 128); err != nil {
			t.Fatalf("failed to listen on %s: %v", addr, err)
		}
		l, err := net.FileListener(f) // dups the descriptor
		if err != nil {
			t.Fatalf("failed to make a listener of %s: %v", addr, err)
		}
		return l
	}
	return addr, listen
}
