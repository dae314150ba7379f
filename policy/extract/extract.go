package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // registers every charset with go-message
)

// Limits bounds the work done for one message. A zero field takes its
// default (see [DefaultLimits]).
type Limits struct {
	MaxBytes        int64         // total decoded text produced across all units (default 8 MiB)
	MaxDecompressed int64         // total bytes inflated from zip/docx/xlsx/odt/pdf/gzip streams (default 32 MiB)
	MaxPartBytes    int64         // the most read of any one MIME part; a larger part is cut short and reported unscannable (default 8 MiB), which bounds the relay's memory for a 50 MB message
	MaxDepth        int           // nesting of multipart / message/rfc822 / zip (default 8)
	MaxParts        int           // MIME parts + archive entries (default 500)
	Timeout         time.Duration // wall clock for the whole message (default 2s)
}

// DefaultLimits returns the limits the relay uses.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:        8 << 20,
		MaxDecompressed: 32 << 20,
		MaxPartBytes:    8 << 20,
		MaxDepth:        8,
		MaxParts:        500,
		Timeout:         2 * time.Second,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDecompressed <= 0 {
		l.MaxDecompressed = d.MaxDecompressed
	}
	if l.MaxPartBytes <= 0 {
		l.MaxPartBytes = d.MaxPartBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	return l
}

// Unit is one piece of text from a message.
type Unit struct {
	// Where names the place of the text in the message, for example "body",
	// "body/html", "attachment 2 (application/pdf)" or
	// "attachment 3/zip entry 1 (text/csv)". It never holds a file name.
	Where string
	// Kind is the format the text came from: "header-subject", "text",
	// "html", "csv", "rtf", "pdf", "docx", "xlsx", "pptx", "odt", "ods",
	// "odp" or "dicom".
	Kind string
	// Text is the extracted plain text, in UTF-8.
	Text string
	// Raw holds up to the first 64 KiB of the decoded part, for sniffing
	// structured payloads (HL7, FHIR, CDA, DICOM); nil for units that are
	// not a whole part (the subject, the pieces of an office document).
	Raw []byte
}

// Skipped is a part that could not be read, or not wholly.
type Skipped struct {
	Where  string
	Kind   string // "image", "binary", "pdf", "zip", "office", "pgp", "smime", "age", "text", ...
	Reason string // ReasonUnscannable or ReasonEncrypted
}

// Reasons a part is skipped.
const (
	// ReasonUnscannable: an image, an unknown or legacy binary format, a
	// malformed file, or a part cut short by a budget.
	ReasonUnscannable = "unscannable"
	// ReasonEncrypted: a password-protected archive or document, PGP,
	// S/MIME enveloped data or age.
	ReasonEncrypted = "encrypted"
)

// Result is what Extract found in a message.
type Result struct {
	Units     []Unit
	Skipped   []Skipped
	Truncated bool // a budget was hit
}

// rawPrefix is how much of a part Unit.Raw keeps.
const rawPrefix = 64 << 10

// Extract reads the message from msg and returns its text units. It returns
// an error only when the message header cannot be read at all; budgets hit
// give Result.Truncated and Skipped entries, and a panic in the extractor of
// one part is recovered and reported as that part being unscannable.
func Extract(ctx context.Context, msg io.Reader, lim Limits) (*Result, error) {
	return extract(ctx, msg, lim, nil)
}

// extract is Extract with a hook called before each leaf is extracted (for
// tests to inject failures; nil otherwise).
func extract(ctx context.Context, msg io.Reader, lim Limits, hook func(kind string)) (*Result, error) {
	lim = lim.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	s := &state{ctx: ctx, lim: lim, res: &Result{}, hook: hook}
	e, err := message.Read(&ctxReader{ctx: ctx, r: msg})
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		if ctx.Err() != nil {
			s.res.Truncated = true
			return s.res, nil
		}
		return nil, fmt.Errorf("failed to read message header: %w", err)
	}
	s.parts++
	s.message(e, node{}, 0)
	return s.res, nil
}

// errBudget reports that a budget (bytes, inflation, parts, depth or time)
// was hit. It never leaves the package.
var errBudget = errors.New("extraction budget exhausted")

// errEncrypted reports that a part turned out to be encrypted.
var errEncrypted = errors.New("encrypted content")

// ctxReader fails reads once the context is done, so that go-message and
// the standard library parsers stop with it.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, errBudget
	}
	return c.r.Read(p)
}
