package policy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

// header parses a header block written with "\n" line endings.
func header(t testing.TB, lines ...string) textproto.Header {
	t.Helper()
	raw := strings.Join(lines, "\r\n") + "\r\n\r\n"
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("failed to parse test header %q: %v", raw, err)
	}
	return h
}

// rawInput builds an Input from a whole raw message, with Open re-reading it.
func rawInput(t testing.TB, raw []byte, sender string, rcpts ...string) *Input {
	t.Helper()
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("failed to parse test message header: %v", err)
	}
	return &Input{
		Sender:     sender,
		Recipients: rcpts,
		Header:     h,
		Size:       int64(len(raw)),
		Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(raw)), nil
		},
	}
}

func mustParse(t testing.TB, yaml string, opts ...Option) *Engine {
	t.Helper()
	e, err := Parse([]byte(yaml), opts...)
	if err != nil {
		t.Fatalf("Parse: %v\npolicy:\n%s", err, yaml)
	}
	return e
}

func decide(t testing.TB, e *Engine, in *Input) *Decision {
	t.Helper()
	d, err := e.Decide(context.Background(), in)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if len(d.Outcomes) != len(in.Recipients) {
		t.Fatalf("Decide returned %d outcomes for %d recipients", len(d.Outcomes), len(in.Recipients))
	}
	return d
}

// staticDetector is a test plug-in that reports a fixed finding.
type staticDetector struct {
	name    string
	finding *Finding
	err     error
}

func (d staticDetector) Name() string { return d.name }

func (d staticDetector) Detect(_ context.Context, _ *Input) (*Finding, error) {
	if d.finding == nil {
		return nil, d.err
	}
	f := *d.finding
	return &f, d.err
}
