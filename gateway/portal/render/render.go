package render

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Bounds applied to every message. They are constants rather than options:
// the portal has one kind of input, a message that the relay accepted.
const (
	// MaxMessageSize is the largest raw message Parse and OpenPart accept.
	MaxMessageSize = 64 << 20
	// MaxDepth is how deeply multiparts may nest; deeper ones are left out
	// and the view is marked Incomplete.
	MaxDepth = 20
	// MaxParts is how many MIME entities (containers and leaves) are read;
	// the rest are left out and the view is marked Incomplete.
	MaxParts = 500
)

// View is a decrypted message prepared for display.
type View struct {
	From, To, Cc, Date, Subject string // decoded (RFC 2047) display values; "" if absent
	MessageID, References       string // raw ids ("<a@b>", space separated), for composing a reply

	// Time is the parsed Date, or the zero time if it is absent or
	// unparseable.
	Time time.Time

	// Text is the text/plain body; if the message has only HTML, a
	// plain-text rendering of it.
	Text string
	// HTML is the sanitised HTML body fragment, or "" if the message has
	// no HTML body. Plain-text pieces of a mixed message appear in it as
	// <pre> blocks, so it is the whole body on its own.
	HTML string
	// Parts are the attachments and inline parts, in message order (not
	// the chosen text and HTML bodies).
	Parts []Part

	// Incomplete is set when part of the message could not be read
	// (malformed MIME, or a bound was hit): what could be shown is shown,
	// and the original message should be offered for download.
	Incomplete bool
}

// Part describes an attachment or inline part of a message.
type Part struct {
	Index       int    // stable index used in URLs (same message bytes → same indexes)
	Name        string // the real file name, decoded and cleaned (see CleanName); "attachment-<Index>" if none
	ContentType string // lower-case media type, no params
	Size        int64  // decoded size in bytes
	ContentID   string // without <>
	Inline      bool   // a raster image referenced by cid: from the HTML body
	Raster      bool   // image/png, image/jpeg, image/gif or image/webp, and the bytes' sniffed type agrees
}

// ErrNoPart is returned by OpenPart for an index that names no part.
var ErrNoPart = errors.New("render: no such part")

// Parse parses raw. partURL(index) gives the URL the HTML should use for an
// inline image part: cid: references to raster image parts are rewritten to
// it, and every other image is removed. A nil partURL leaves the references
// as they are.
//
// Parse returns an error only for input it cannot treat as a message at all
// (empty, or larger than MaxMessageSize); malformed MIME gives a view of
// what could be read, marked Incomplete.
func Parse(raw []byte, partURL func(index int) string) (*View, error) {
	w, err := walk(raw, -1)
	if err != nil {
		return nil, fmt.Errorf("failed to parse message: %w", err)
	}
	return w.view(partURL), nil
}

// OpenPart returns part index's metadata and decoded content. The metadata
// is the same as Parse reports for the same raw bytes.
func OpenPart(raw []byte, index int) (Part, []byte, error) {
	if index < 0 {
		return Part{}, nil, ErrNoPart
	}
	w, err := walk(raw, index)
	if err != nil {
		return Part{}, nil, fmt.Errorf("failed to parse message: %w", err)
	}
	if index >= len(w.parts) {
		return Part{}, nil, ErrNoPart
	}
	v := w.view(nil)
	data := w.wanted
	if data == nil {
		data = []byte{}
	}
	return v.Parts[index], data, nil
}

// view assembles the View from a finished walk.
func (w *walker) view(partURL func(int) string) *View {
	v := &View{
		From:       w.hdr.from,
		To:         w.hdr.to,
		Cc:         w.hdr.cc,
		Date:       w.hdr.date,
		Subject:    w.hdr.subject,
		MessageID:  w.hdr.messageID,
		References: w.hdr.references,
		Time:       w.hdr.time,
		Incomplete: w.incomplete,
	}
	v.Text = joinText(w.body.text)
	inline := map[int]bool{}
	if has(w.body.html, true) {
		v.HTML = joinHTML(w.body.html, newSanitizer(w.parts, partURL, inline))
	}
	v.Parts = make([]Part, len(w.parts))
	for i, p := range w.parts {
		p.Inline = inline[i]
		v.Parts[i] = p
	}
	return v
}

// joinText renders the text pieces of the body as one plain text.
func joinText(pieces []piece) string {
	var out []string
	for _, p := range pieces {
		s := p.s
		if p.html {
			s = htmlToText(s)
		}
		if s = strings.Trim(s, "\n"); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n\n") + "\n"
}

// joinHTML renders the pieces of the body as one sanitised HTML fragment.
func joinHTML(pieces []piece, s *sanitizer) string {
	var b strings.Builder
	for i, p := range pieces {
		if i > 0 {
			b.WriteString("\n")
		}
		if p.html {
			b.WriteString(s.sanitize(p.s))
		} else {
			b.WriteString(textToHTML(p.s))
		}
	}
	return b.String()
}
