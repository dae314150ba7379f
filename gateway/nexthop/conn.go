package nexthop

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// conn is one SMTP connection to the next hop, ready for MAIL.
type conn struct {
	raw       net.Conn // the TCP connection
	nc        net.Conn // what the SMTP client talks over: raw, or TLS over raw
	c         *smtp.Client
	tls       bool
	reused    bool // taken from the pool
	broken    bool // must not be reused
	idleSince time.Time

	// Kept with the connection for its next message (see dataWriter).
	data    *bufio.Writer
	dw      dataWriter
	copyBuf []byte
}

// dataWriter returns the connection's DATA writer, reset for a new message, each write onto the connection
// bounded by timeout.
func (cn *conn) dataWriter(timeout time.Duration) *dataWriter {
	dst := &deadlineWriter{w: cn.nc, cn: cn, timeout: timeout}
	if cn.data == nil {
		cn.data = bufio.NewWriterSize(dst, dataBufferSize)
		cn.copyBuf = make([]byte, 32<<10)
	} else {
		cn.data.Reset(dst)
	}
	cn.dw.reset(cn.data)
	return &cn.dw
}

func (cn *conn) close() {
	cn.broken = true
	cn.raw.Close()
}

// quit says goodbye politely, bounded by timeout, and closes.
func (cn *conn) quit(timeout time.Duration) {
	cn.c.CommandTimeout = min(timeout, 5*time.Second)
	_ = cn.c.Quit()
	cn.close()
}

// greetedConn replays a synthetic 220 greeting before the real stream, so that go-smtp's client can take over
// a connection whose greeting, EHLO and STARTTLS were handled here.
type greetedConn struct {
	net.Conn
	pending []byte
}

func (g *greetedConn) Read(b []byte) (int, error) {
	if len(g.pending) > 0 {
		n := copy(b, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	return g.Conn.Read(b)
}

// connect dials the next hop and brings the session to the point where MAIL may be sent: greeting, EHLO,
// STARTTLS as the TLS mode requires, EHLO again, AUTH.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("failed to connect to next hop: %w", err)
	}
	raw, err := c.dialer.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to next hop: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	cn, err := c.open(raw)
	if !stop() {
		raw.Close()
		return nil, fmt.Errorf("failed to connect to next hop: %w", ctx.Err())
	}
	if err != nil {
		raw.Close()
		return nil, err
	}
	c.log.Debug("connected to next hop", "addr", c.cfg.Addr, "tls", cn.tls)
	return cn, nil
}

func (c *Client) open(raw net.Conn) (*conn, error) {
	cn := &conn{raw: raw, nc: raw}
	if c.cfg.TLS != TLSNone {
		if err := raw.SetDeadline(time.Now().Add(c.cfg.Timeout)); err != nil {
			return nil, fmt.Errorf("failed to set deadline: %w", err)
		}
		nc, isTLS, err := c.startTLS(raw)
		if err != nil {
			return nil, err
		}
		if err := raw.SetDeadline(time.Time{}); err != nil {
			return nil, fmt.Errorf("failed to clear deadline: %w", err)
		}
		cn.nc, cn.tls = nc, isTLS
		// go-smtp expects to read a greeting first.
		nc = &greetedConn{Conn: nc, pending: []byte("220 " + c.cfg.ServerName + " ESMTP\r\n")}
		cn.c = smtp.NewClient(nc)
	} else {
		cn.c = smtp.NewClient(raw)
	}
	cn.c.CommandTimeout = c.cfg.Timeout
	cn.c.SubmissionTimeout = c.cfg.DataTimeout
	if err := cn.c.Hello(c.cfg.HeloName); err != nil {
		return nil, fmt.Errorf("failed to greet next hop: %w", err)
	}
	if c.cfg.Username != "" {
		if !cn.tls {
			return nil, fmt.Errorf("failed to authenticate to next hop: %w", ErrAuthWithoutTLS)
		}
		if !cn.c.SupportsAuth(sasl.Plain) {
			return nil, errors.New("failed to authenticate to next hop: AUTH PLAIN not offered")
		}
		if err := cn.c.Auth(sasl.NewPlainClient("", c.cfg.Username, c.cfg.Password)); err != nil {
			return nil, fmt.Errorf("failed to authenticate to next hop: %w", err)
		}
	}
	return cn, nil
}

// startTLS reads the greeting, sends EHLO and, when offered, STARTTLS and runs the TLS handshake. In
// TLSVerify mode every path that does not end in a verified TLS session is an error.
func (c *Client) startTLS(raw net.Conn) (net.Conn, bool, error) {
	verify := c.cfg.TLS == TLSVerify
	tp := textproto.NewConn(raw) // never closed: raw is closed by the caller
	if _, _, err := tp.ReadResponse(220); err != nil {
		return nil, false, fmt.Errorf("failed to read next-hop greeting: %w", err)
	}
	ext, err := ehlo(tp, c.cfg.HeloName)
	if err != nil {
		var perr *textproto.Error
		if verify || !errors.As(err, &perr) {
			return nil, false, fmt.Errorf("failed EHLO at next hop: %w", err)
		}
		ext = nil // the next hop has no EHLO: go-smtp falls back to HELO, in plaintext
	}
	if _, ok := ext["STARTTLS"]; !ok {
		if verify {
			_ = command(tp, 221, "QUIT")
			return nil, false, fmt.Errorf("failed to start TLS: %w", ErrNoSTARTTLS)
		}
		if err := noPipelinedData(tp); err != nil {
			return nil, false, err
		}
		return raw, false, nil
	}
	if err := command(tp, 220, "STARTTLS"); err != nil {
		var perr *textproto.Error
		if verify || !errors.As(err, &perr) {
			return nil, false, fmt.Errorf("failed STARTTLS at next hop: %w", err)
		}
		// Opportunistic: the next hop refused STARTTLS; go on in plaintext.
		if err := noPipelinedData(tp); err != nil {
			return nil, false, err
		}
		return raw, false, nil
	}
	// Anything already buffered was sent before the handshake, in plaintext: a STARTTLS command injection
	// (CVE-2011-0411 and its kin). Refuse.
	if err := noPipelinedData(tp); err != nil {
		return nil, false, err
	}
	tc := tls.Client(raw, c.tlsConfig)
	if err := tc.Handshake(); err != nil {
		return nil, false, fmt.Errorf("failed TLS handshake with next hop: %w", err)
	}
	return tc, true, nil
}

func noPipelinedData(tp *textproto.Conn) error {
	if tp.R.Buffered() > 0 {
		return errors.New("failed to talk to next hop: unexpected data from the server")
	}
	return nil
}

func command(tp *textproto.Conn, expect int, format string, args ...any) error {
	_, err := reply(tp, expect, format, args...)
	return err
}

func reply(tp *textproto.Conn, expect int, format string, args ...any) (string, error) {
	id, err := tp.Cmd(format, args...)
	if err != nil {
		return "", err
	}
	tp.StartResponse(id)
	defer tp.EndResponse(id)
	_, msg, err := tp.ReadResponse(expect)
	return msg, err
}

// ehlo sends EHLO and returns the extension keywords offered, in upper case.
func ehlo(tp *textproto.Conn, name string) (map[string]string, error) {
	msg, err := reply(tp, 250, "EHLO %s", name)
	if err != nil {
		return nil, err
	}
	ext := make(map[string]string)
	lines := strings.Split(msg, "\n")
	for _, line := range lines[1:] {
		kw, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		ext[strings.ToUpper(kw)] = arg
	}
	return ext, nil
}

// smtpAnswer returns err as the next hop's SMTP answer, or nil when err is something else (a network or
// protocol failure) or a 421, after which the next hop closes the connection.
func smtpAnswer(err error) *smtp.SMTPError {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code != 421 {
		return se
	}
	return nil
}
