package testutil

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// Greet connects to an SMTP listener, reads its 220 greeting and says QUIT:
// the way tests wait for a server to be ready.
func Greet(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("failed to read the greeting from %s: %w", addr, err)
	}
	if !strings.HasPrefix(line, "220 ") && !strings.HasPrefix(line, "220-") {
		return fmt.Errorf("unexpected greeting from %s: %q", addr, strings.TrimSpace(line))
	}
	_, _ = c.Write([]byte("QUIT\r\n"))
	return nil
}

// SendMail sends one message over plain SMTP from loopback (which Sealpost
// trusts by default) and returns the first error, an *smtp.SMTPError for a
// refusal.
func SendMail(addr, from, to, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
