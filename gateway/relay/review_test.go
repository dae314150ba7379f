package relay

import (
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// A malformed AUTH PLAIN response gets an explicit SMTP reply, not go-sasl's
// own error text.
func TestSASLErrorsAreExplicitReplies(t *testing.T) {
	g := genericSASL{sasl.NewPlainServer(func(_, _, _ string) error { return nil })}
	_, _, err := g.Next([]byte("no-nul-separators"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 535 || strings.Contains(se.Message, "sasl") {
		t.Fatalf("got %v, want a generic 535 reply", err)
	}
}

// The parser's error for a malformed header quotes the header line; the
// log must not.
func TestMalformedHeaderTextIsNotLogged(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	err := h.send("a@example.org", []string{"b@example.net"}, "Subject diabetes review for Mrs Hughes\r\nmore\r\n")
	if smtpCode(err) != 554 {
		t.Fatalf("got %v, want 554", err)
	}
	if logs := h.logs.String(); strings.Contains(logs, "diabetes") || strings.Contains(logs, "Hughes") {
		t.Fatalf("the log quotes the malformed header:\n%s", logs)
	}
}
