package relay

import (
	"bufio"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeListener hands net.Pipe connections to a go-smtp server.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2525} }

// pipeConn reports a loopback remote address, so the session is trusted.
type pipeConn struct{ net.Conn }

func (pipeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }

var replyLine = regexp.MustCompile(`^[2-5][0-9][0-9][ -]`)

// FuzzSession drives a whole SMTP session, against a relay wired to a real
// Vault, store and next hop, with arbitrary client input. Every line the
// server sends must be a well-formed reply, and none may leak an internal
// detail.
func FuzzSession(f *testing.F) {
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: [secure] x\r\n\r\nhello\r\n.\r\nQUIT\r\n"))
	f.Add([]byte("LHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nno header\r\n.\r\n"))
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@example.org> SMTPUTF8 BODY=8BITMIME\r\nRCPT TO:<b@exämple.net>\r\nBDAT 20 LAST\r\nSubject: x\r\n\r\nhi\r\n\r\n"))
	f.Add([]byte("HELO x\r\nRCPT TO:<b@example.net>\r\nDATA\r\nRSET\r\nMAIL FROM:<>\r\nRCPT TO:<@@>\r\nNOOP\r\n"))
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nX-Sealpost-Id: abc; v=1; h=AA; m=BB\r\nSubject: x\r\n\r\n..dot\r\n.\r\n"))
	h := newHarness(f, harnessOpts{})
	ln := newPipeListener()
	go h.relay.Serve(ln, false)
	f.Cleanup(func() { ln.Close() })

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 64<<10 {
			return
		}
		client, server := net.Pipe()
		ln.conns <- pipeConn{server}
		defer client.Close()
		_ = client.SetDeadline(time.Now().Add(3 * time.Second))
		go func() {
			_, _ = client.Write(in)
			_, _ = client.Write([]byte("\r\n.\r\nQUIT\r\n"))
		}()
		br := bufio.NewReader(client)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				if !replyLine.MatchString(line) {
					t.Fatalf("malformed reply line %q", line)
				}
				low := strings.ToLower(line)
				for _, leak := range []string{"vault", "sqlite", "permission denied", "panic", "goroutine", "127.0.0.1:"} {
					if strings.Contains(low, leak) {
						t.Fatalf("reply leaks %q: %q", leak, line)
					}
				}
			}
			if err != nil {
				if err != io.EOF && !strings.Contains(err.Error(), "closed") && !strings.Contains(err.Error(), "deadline") {
					t.Fatalf("read: %v", err)
				}
				return
			}
		}
	})
}
