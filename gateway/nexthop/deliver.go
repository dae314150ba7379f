package nexthop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// staleError marks a failure on a pooled connection before anything past MAIL was sent, which is safe to
// retry once on a fresh connection.
type staleError struct{ err error }

func (e *staleError) Error() string { return e.err.Error() }
func (e *staleError) Unwrap() error { return e.err }

// Deliver runs one mail transaction with the next hop. It returns an error, always temporary, for failures
// that are not an SMTP answer (see the package documentation); otherwise the Result holds the next hop's
// answers. msg is read only during DATA, and only once.
func (c *Client) Deliver(ctx context.Context, env Envelope, msg io.Reader) (*Result, error) {
	rcpts := unique(env.To)
	if len(rcpts) == 0 {
		return nil, errors.New("failed to deliver: no recipients")
	}
	for _, a := range append([]string{env.From}, rcpts...) {
		if strings.ContainsAny(a, "\r\n<>") {
			return nil, errors.New("failed to deliver: malformed address in envelope")
		}
	}
	for attempt := 0; ; attempt++ {
		cn, err := c.get(ctx)
		if err != nil {
			return nil, err
		}
		res, err := c.transact(ctx, cn, env, rcpts, msg)
		if err == nil {
			c.put(cn)
			return res, nil
		}
		cn.close()
		var stale *staleError
		if attempt == 0 && cn.reused && errors.As(err, &stale) && ctx.Err() == nil {
			c.log.Debug("pooled next-hop connection was dead, retrying on a fresh one", "addr", c.cfg.Addr)
			continue
		}
		return nil, err
	}
}

// transact runs MAIL, RCPT and DATA on cn. On error the caller discards cn.
func (c *Client) transact(ctx context.Context, cn *conn, env Envelope, rcpts []string, msg io.Reader) (res *Result, err error) {
	stop := context.AfterFunc(ctx, func() { cn.raw.Close() })
	defer func() {
		if !stop() {
			cn.broken = true
			if err != nil {
				err = fmt.Errorf("%w (%w)", err, ctx.Err())
			}
			// A Result that arrived before the cancellation stands: the next hop has answered.
		}
	}()

	res = &Result{Rcpt: make(map[string]*smtp.SMTPError, len(rcpts))}
	all := func(e *smtp.SMTPError) *Result {
		for _, r := range rcpts {
			res.Rcpt[r] = e
		}
		return res
	}

	// What the next hop cannot take, refuse before MAIL.
	if env.SMTPUTF8 {
		if ok, _ := cn.c.Extension("SMTPUTF8"); !ok {
			return all(errNoSMTPUTF8), nil
		}
	}
	switch strings.ToUpper(string(env.Body)) {
	case "", string(smtp.Body7Bit):
	case string(smtp.Body8BitMIME):
		if ok, _ := cn.c.Extension("8BITMIME"); !ok {
			return all(errNo8BitMIME), nil
		}
	case string(smtp.BodyBinaryMIME):
		return all(errBinaryMIME), nil
	default:
		return nil, fmt.Errorf("failed to deliver: unknown body type %q", env.Body)
	}

	if err := cn.c.Mail(env.From, &smtp.MailOptions{Size: env.Size, UTF8: env.SMTPUTF8}); err != nil {
		if se := smtpAnswer(err); se != nil {
			return all(se), nil
		}
		return nil, &staleError{fmt.Errorf("failed MAIL at next hop: %w", err)}
	}

	accepted := 0
	for _, r := range rcpts {
		err := cn.c.Rcpt(r, nil)
		if err == nil {
			res.Rcpt[r] = nil
			accepted++
			continue
		}
		se := smtpAnswer(err)
		if se == nil {
			return nil, fmt.Errorf("failed RCPT at next hop: %w", err)
		}
		res.Rcpt[r] = se
	}
	if accepted == 0 {
		c.reset(cn)
		return res, nil
	}

	w, err := cn.c.Data()
	if err != nil {
		if se := smtpAnswer(err); se != nil {
			res.Data = se
			c.reset(cn)
			return res, nil
		}
		return nil, fmt.Errorf("failed DATA at next hop: %w", err)
	}
	// go-smtp has flushed DATA and read the 354, so nothing of its own is buffered: the body goes straight onto
	// the connection through dataWriter, and only the final line ending and dot through w.
	src := &readErrReader{r: msg}
	dw := cn.dataWriter(c.cfg.Timeout)
	if _, err := io.CopyBuffer(dw, src, cn.copyBuf); err != nil {
		// No final dot: the caller drops the connection, so the next hop discards the partial message.
		if src.err != nil {
			return nil, fmt.Errorf("failed to read message: %w", src.err)
		}
		return nil, fmt.Errorf("failed to send message to next hop: %w", err)
	}
	if err := dw.finish(w); err != nil {
		return nil, fmt.Errorf("failed to send message to next hop: %w", err)
	}
	if _, err := w.CloseWithResponse(); err != nil {
		if se := smtpAnswer(err); se != nil {
			res.Data = se
			return res, nil
		}
		return nil, fmt.Errorf("failed to complete DATA at next hop: %w", err)
	}
	return res, nil
}

// reset ends an abandoned transaction with RSET (and EHLO, which go-smtp requires after it). A connection
// that fails it is not reused.
func (c *Client) reset(cn *conn) {
	if err := cn.c.Reset(); err != nil {
		cn.broken = true
		return
	}
	if err := cn.c.Hello(c.cfg.HeloName); err != nil {
		cn.broken = true
	}
}

// unique returns the addresses in order, without exact duplicates.
func unique(addrs []string) []string {
	seen := make(map[string]bool, len(addrs))
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// readErrReader remembers the error of the message reader, to tell it from a write error.
type readErrReader struct {
	r   io.Reader
	err error
}

func (r *readErrReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// deadlineWriter bounds each write of the message by the command timeout.
type deadlineWriter struct {
	w       io.Writer
	cn      *conn
	timeout time.Duration
}

func (d *deadlineWriter) Write(b []byte) (int, error) {
	if err := d.cn.nc.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil {
		return 0, err
	}
	return d.w.Write(b)
}
