package seal

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"mime/quotedprintable"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// AttachmentName is the file name of the ciphertext attachment in every
// envelope. A recipient saves it and runs `age -d` on it.
const AttachmentName = "message.eml.age"

// AttachmentType is the media type of the ciphertext attachment. age has no
// registered media type; application/octet-stream is what every mail client
// offers to save.
const AttachmentType = "application/octet-stream"

// ErrInvalidEnvelope is returned by [WriteEnvelope] for an [Envelope] it
// refuses to write.
var ErrInvalidEnvelope = errors.New("seal: invalid envelope")

// CopiedHeaders returns the names of the only original header fields that
// [WriteEnvelope] copies into the envelope, in the order it writes them.
// They are needed to deliver and thread the mail; every other field
// (Subject above all) may carry health information and stays inside the
// ciphertext.
func CopiedHeaders() []string {
	return []string{"From", "To", "Cc", "Date", "Message-Id", "In-Reply-To", "References"}
}

// Envelope is what the delivered message says around the ciphertext.
type Envelope struct {
	// Original is the original message header. Only the fields named by
	// [CopiedHeaders] are copied, with their values unchanged (they are
	// re-folded). Values must be valid UTF-8 without control characters.
	Original textproto.Header
	// Subject is the neutral subject of the envelope, such as "Secure
	// message from Example NHS Trust". Empty means "Secure message from "
	// followed by OrgName.
	Subject string
	// PortalURL is the link to the message in the portal, such as
	// https://portal.example/m/<id>. Required; http or https.
	PortalURL string
	// OrgName names the sending organisation in the notice. Required.
	OrgName string
	// IDHeader is the value of the X-Sealpost-Id field, from [SignID].
	// Required.
	IDHeader string
	// Sender names who sent the message in the notice ("<Sender> has sent
	// you a secure message"). The sender's address is already in the copied
	// From field, so naming it here reveals nothing new; a display name can
	// reveal a department, though, so pass the bare address, or leave it
	// empty to name only OrgName.
	Sender string
}

// noticeData is what the notice templates see.
type noticeData struct {
	Sender, OrgName, PortalURL, Attachment string
}

var noticeText = texttemplate.Must(texttemplate.New("text").Parse(
	`{{.Sender}} has sent you a secure message
through {{.OrgName}}.

The message is encrypted. To read it, open this link in a web browser:

{{.PortalURL}}

You will be asked to confirm who you are before the message is shown.
If you were not expecting a message from {{.OrgName}}, do not open the
link; contact them in a way you already know.

The encrypted message is also attached to this email as
"{{.Attachment}}". If your organisation has registered its own age key
with {{.OrgName}}, you can decrypt the attachment without the portal,
using the standard age tool (https://age-encryption.org):

    age -d -i your-key.txt -o message.eml {{.Attachment}}

No other part of this email contains any of the message.
`))

var noticeHTML = htmltemplate.Must(htmltemplate.New("html").Parse(
	`<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Secure message</title></head>
<body>
<p>{{.Sender}} has sent you a secure message
through {{.OrgName}}.</p>
<p>The message is encrypted. To read it, open this link in a web browser:</p>
<p><a href="{{.PortalURL}}">Open the secure message</a></p>
<p>{{.PortalURL}}</p>
<p>You will be asked to confirm who you are before the message is shown.
If you were not expecting a message from {{.OrgName}}, do not open the
link; contact them in a way you already know.</p>
<p>The encrypted message is also attached to this email as
&ldquo;{{.Attachment}}&rdquo;. If your organisation has registered its own
age key with {{.OrgName}}, you can decrypt the attachment without the
portal, using the standard <a href="https://age-encryption.org">age</a>
tool:</p>
<pre>age -d -i your-key.txt -o message.eml {{.Attachment}}</pre>
<p>No other part of this email contains any of the message.</p>
</body>
</html>
`))

// WriteEnvelope writes the message delivered in place of the original: the
// copied header fields (see [CopiedHeaders]), Subject, MIME-Version,
// X-Sealpost-Id and a multipart/mixed body holding
//
//  1. a multipart/alternative notice, text/plain and text/html, both
//     quoted-printable UTF-8, with the portal link and how to decrypt the
//     attachment with the stock age tool, and
//  2. the ciphertext as an attachment named [AttachmentName], base64,
//     streamed from ciphertext (never held whole).
//
// Every line ends in CRLF and is at most 76 characters, except copied
// header fields holding a word too long to fold (at most 998). Non-ASCII
// Subject text is RFC 2047 encoded. A Date field is added only when the
// original has none. On error, dst holds an incomplete message that must be
// discarded.
func WriteEnvelope(dst io.Writer, e Envelope, ciphertext io.Reader) error {
	boundary := newBoundary()
	h, data, err := envelopeHeader(e, boundary)
	if err != nil {
		return err
	}
	// The structure is written with go-message's multipart writer rather
	// than its entity writer, so that the attachment can be base64-encoded
	// a line at a time (base64Lines) instead of through go-message's
	// byte-wise line wrapper; the bytes are the same.
	bw := bufio.NewWriterSize(dst, 32<<10)
	if err := textproto.WriteHeader(bw, h.Header); err != nil {
		return fmt.Errorf("failed to write envelope header: %w", err)
	}
	mw := textproto.NewMultipartWriter(bw)
	if err := mw.SetBoundary(boundary); err != nil {
		return fmt.Errorf("failed to write envelope header: %w", err)
	}
	if err := writeNotice(mw, data); err != nil {
		return err
	}

	var ah message.Header
	ah.Set("Content-Transfer-Encoding", "base64")
	ah.SetContentDisposition("attachment", map[string]string{"filename": AttachmentName})
	ah.SetContentType(AttachmentType, map[string]string{"name": AttachmentName})
	aw, err := mw.CreatePart(ah.Header)
	if err != nil {
		return fmt.Errorf("failed to start attachment: %w", err)
	}
	enc := newBase64Lines(aw)
	if _, err := io.CopyBuffer(enc, ciphertext, make([]byte, 32<<10)); err != nil {
		return fmt.Errorf("failed to write attachment: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("failed to write attachment: %w", err)
	}
	if err := mw.Close(); err != nil {
		return fmt.Errorf("failed to finish envelope: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("failed to write envelope: %w", err)
	}
	return nil
}

// envelopeHeader validates e and builds the top-level header.
// boundary is the multipart/mixed boundary.
func envelopeHeader(e Envelope, boundary string) (message.Header, noticeData, error) {
	var h message.Header
	var data noticeData
	if e.OrgName == "" || !cleanText(e.OrgName) {
		return h, data, fmt.Errorf("%w: missing or bad organisation name", ErrInvalidEnvelope)
	}
	if !cleanText(e.Sender) || !cleanText(e.Subject) {
		return h, data, fmt.Errorf("%w: control characters in sender or subject", ErrInvalidEnvelope)
	}
	if !validPortalURL(e.PortalURL) {
		return h, data, fmt.Errorf("%w: portal URL must be an absolute http or https URL", ErrInvalidEnvelope)
	}
	if !printableASCII(e.IDHeader) {
		return h, data, fmt.Errorf("%w: missing or bad %s value", ErrInvalidEnvelope, IDHeader)
	}
	subject := e.Subject
	if subject == "" {
		subject = "Secure message from " + e.OrgName
	}
	sender := e.Sender
	if sender == "" {
		sender = e.OrgName
	}
	data = noticeData{Sender: sender, OrgName: e.OrgName, PortalURL: e.PortalURL, Attachment: AttachmentName}

	// go-message writes the most recently added field first, so the fields
	// are added in reverse order.
	h.SetContentType("multipart/mixed", map[string]string{"boundary": boundary})
	h.Add(IDHeader, e.IDHeader)
	h.Add("MIME-Version", "1.0")
	h.Set("Subject", encodeSubject(subject))
	copied := CopiedHeaders()
	for i := len(copied) - 1; i >= 0; i-- {
		k := copied[i]
		vs := e.Original.Values(k)
		if len(vs) == 0 && k == "Date" {
			vs = []string{time.Now().Format(time.RFC1123Z)}
		}
		for j := len(vs) - 1; j >= 0; j-- {
			if !validHeaderValue(vs[j]) {
				return h, data, fmt.Errorf("%w: original %s field has control characters or invalid UTF-8", ErrInvalidEnvelope, k)
			}
			h.Add(k, vs[j])
		}
	}
	return h, data, nil
}

// writeNotice writes the multipart/alternative notice part.
func writeNotice(mw *textproto.MultipartWriter, data noticeData) error {
	boundary := newBoundary()
	var alt message.Header
	alt.SetContentType("multipart/alternative", map[string]string{"boundary": boundary})
	pw, err := mw.CreatePart(alt.Header)
	if err != nil {
		return fmt.Errorf("failed to start notice: %w", err)
	}
	aw := textproto.NewMultipartWriter(pw)
	if err := aw.SetBoundary(boundary); err != nil {
		return fmt.Errorf("failed to start notice: %w", err)
	}
	for _, p := range []struct {
		mediaType string
		execute   func(io.Writer, any) error
	}{
		{"text/plain", noticeText.Execute},
		{"text/html", noticeHTML.Execute},
	} {
		var ph message.Header
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		ph.SetContentType(p.mediaType, map[string]string{"charset": "utf-8"})
		w, err := aw.CreatePart(ph.Header)
		if err != nil {
			return fmt.Errorf("failed to start notice part: %w", err)
		}
		qw := quotedprintable.NewWriter(w)
		if err := p.execute(qw, data); err != nil {
			return fmt.Errorf("failed to write notice: %w", err)
		}
		if err := qw.Close(); err != nil {
			return fmt.Errorf("failed to write notice: %w", err)
		}
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("failed to finish notice: %w", err)
	}
	return nil
}

// maxEncodedChunk is how many bytes of text go in one RFC 2047 encoded word:
// at worst 3 characters each, plus 12 for "=?utf-8?q?" and "?=", so that
// "Subject: " and one word fit in 76 characters.
const maxEncodedChunk = 18

// encodeSubject returns s as is when it is ASCII, or else as a sequence
// of short RFC 2047 Q-encoded words, each small enough that a line holding
// one stays within 76 characters. (mime.QEncoding makes words of up to 75
// characters, which cannot fold after a field name.) Spaces are encoded
// inside the words, so the decoded text is exactly s.
func encodeSubject(s string) string {
	ascii := true
	for _, c := range []byte(s) {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii && !strings.Contains(s, "=?") {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n > 0 && n+size > maxEncodedChunk {
				break
			}
			n += size
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("=?utf-8?q?")
		for _, c := range []byte(s[:n]) {
			switch {
			case c == ' ':
				b.WriteByte('_')
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!*+-/", c) >= 0:
				b.WriteByte(c)
			default:
				fmt.Fprintf(&b, "=%02X", c)
			}
		}
		b.WriteString("?=")
		s = s[n:]
	}
	return b.String()
}

// newBoundary returns a random multipart boundary.
func newBoundary() string {
	return "sealpost-" + hex.EncodeToString(randBytes(15))
}

// cleanText reports whether s is valid UTF-8 without control characters.
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether a copied field value can be written
// as is: valid UTF-8 (RFC 6532) and no control characters other than tab.
func validHeaderValue(s string) bool {
	return cleanText(strings.ReplaceAll(s, "\t", " "))
}

// printableASCII reports whether s is non-empty printable ASCII.
func printableASCII(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// validPortalURL reports whether s is an absolute http(s) URL made of
// printable ASCII without spaces.
func validPortalURL(s string) bool {
	if !printableASCII(s) || strings.ContainsAny(s, " \"<>\\^`{|}") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}
