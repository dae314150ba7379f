package render

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// Attachment is a file attached to a reply.
type Attachment struct {
	Name        string // file name; cleaned with CleanName
	ContentType string // media type; parameters are dropped; "" means application/octet-stream
	Data        []byte
}

// Reply is a secure reply written in the portal.
type Reply struct {
	From, ReplyTo, To string // From = the portal's own address; ReplyTo = the recipient; To = the original sender
	// Subject is the ORIGINAL subject; ComposeReply adds "Re: " unless
	// it is there already.
	Subject string
	// InReplyTo and References are the original message's Message-ID and
	// References (as in View). ComposeReply adds the ids of InReplyTo to
	// the end of References, as RFC 5322 section 3.6.4 asks.
	InReplyTo, References string
	Text                  string
	Attachments           []Attachment
	Date                  time.Time
	MessageID             string            // full "<...@...>" id chosen by the caller
	Headers               map[string]string // extra headers, e.g. X-Sealpost-Reply-To-Message: <id>
}

// ErrLineBreak is wrapped by the error ComposeReply returns for a CR or LF
// in a header field: the attempt of a header injection.
var ErrLineBreak = errors.New("line break in a header field")

// ComposeReply returns r as an RFC 5322 message with CRLF line ends: a
// text/plain UTF-8 quoted-printable body, in a multipart/mixed with the
// attachments (base64, RFC 2231 file names) when there are any. Header
// fields are RFC 2047 encoded where needed. A CR, LF or other control
// character in any header field, invalid UTF-8, an address that does not
// parse, a malformed Message-ID or a missing Date is an error.
func ComposeReply(r Reply) ([]byte, error) {
	if err := checkLineBreaks(r); err != nil {
		return nil, err
	}
	fields, err := replyHeader(r)
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(r.Text) {
		return nil, errors.New("invalid reply text: not UTF-8")
	}
	text := strings.ReplaceAll(strings.ReplaceAll(r.Text, "\r\n", "\n"), "\r", "\n")
	atts := make([]Attachment, len(r.Attachments))
	for i, a := range r.Attachments {
		if atts[i], err = cleanAttachment(a, i); err != nil {
			return nil, err
		}
	}
	fields = append(fields, field{"MIME-Version", "1.0"})
	textType := []field{
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
	}

	var buf bytes.Buffer
	if len(atts) == 0 {
		w, err := message.CreateWriter(&buf, newHeader(append(fields, textType...)))
		if err != nil {
			return nil, fmt.Errorf("failed to write reply: %w", err)
		}
		if err := writeClose(w, []byte(text)); err != nil {
			return nil, fmt.Errorf("failed to write reply: %w", err)
		}
		return buf.Bytes(), nil
	}

	boundary := "sealpost-" + rand.Text()
	fields = append(fields, field{"Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary})})
	mw, err := message.CreateWriter(&buf, newHeader(fields))
	if err != nil {
		return nil, fmt.Errorf("failed to write reply: %w", err)
	}
	if err := writePart(mw, newHeader(textType), []byte(text)); err != nil {
		return nil, fmt.Errorf("failed to write reply text: %w", err)
	}
	for _, a := range atts {
		h := newHeader([]field{
			{"Content-Type", mime.FormatMediaType(a.ContentType, map[string]string{"name": a.Name})},
			{"Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})},
			{"Content-Transfer-Encoding", "base64"},
		})
		if err := writePart(mw, h, a.Data); err != nil {
			return nil, fmt.Errorf("failed to write reply attachment: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("failed to write reply: %w", err)
	}
	return buf.Bytes(), nil
}

// field is a header field, its value already encoded.
type field struct{ key, value string }

// newHeader returns a header with fields in the given order. (A go-message
// header writes the field set last first.)
func newHeader(fields []field) message.Header {
	var h message.Header
	for i := len(fields) - 1; i >= 0; i-- {
		h.Add(fields[i].key, fields[i].value)
	}
	return h
}

func writePart(mw *message.Writer, h message.Header, data []byte) error {
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	return writeClose(w, data)
}

func writeClose(w io.WriteCloser, data []byte) error {
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// replyHeader checks the header fields of r and returns the reply's header
// fields, in order.
func replyHeader(r Reply) ([]field, error) {
	checks := []field{
		{"From", r.From}, {"Reply-To", r.ReplyTo}, {"To", r.To}, {"Subject", r.Subject},
		{"In-Reply-To", r.InReplyTo}, {"References", r.References}, {"Message-ID", r.MessageID},
	}
	for _, f := range checks {
		if err := checkField(f.key, f.value); err != nil {
			return nil, err
		}
	}
	if r.Date.IsZero() {
		return nil, errors.New("invalid reply: no Date")
	}
	if !validMsgID(r.MessageID) {
		return nil, errors.New("invalid Message-ID: want <id@domain>")
	}
	from, err := addressList("From", r.From)
	if err != nil {
		return nil, err
	}
	if len(from) != 1 {
		return nil, errors.New("invalid From: want one address")
	}
	to, err := addressList("To", r.To)
	if err != nil {
		return nil, err
	}
	var replyTo []*mail.Address
	if strings.TrimSpace(r.ReplyTo) != "" {
		if replyTo, err = addressList("Reply-To", r.ReplyTo); err != nil {
			return nil, err
		}
	}
	inReplyTo := msgIDs(r.InReplyTo)
	if strings.TrimSpace(r.InReplyTo) != "" && len(inReplyTo) == 0 {
		return nil, errors.New("invalid In-Reply-To: no message id")
	}
	refs := msgIDs(r.References)
	for _, id := range inReplyTo {
		if !slices.Contains(refs, id) {
			refs = append(refs, id)
		}
	}
	if len(refs) > maxReferences {
		refs = refs[len(refs)-maxReferences:]
	}

	fields := []field{
		{"Date", r.Date.Format("Mon, 02 Jan 2006 15:04:05 -0700")},
		{"From", formatAddresses(from)},
	}
	if len(replyTo) > 0 {
		fields = append(fields, field{"Reply-To", formatAddresses(replyTo)})
	}
	fields = append(fields,
		field{"To", formatAddresses(to)},
		field{"Subject", encodeText(replySubject(r.Subject))},
		field{"Message-ID", strings.TrimSpace(r.MessageID)},
	)
	if len(inReplyTo) > 0 {
		fields = append(fields, field{"In-Reply-To", strings.Join(inReplyTo, " ")})
	}
	if len(refs) > 0 {
		fields = append(fields, field{"References", strings.Join(refs, " ")})
	}
	names := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if err := checkHeaderName(k); err != nil {
			return nil, err
		}
		if err := checkField(k, r.Headers[k]); err != nil {
			return nil, err
		}
		fields = append(fields, field{k, encodeText(strings.TrimSpace(r.Headers[k]))})
	}
	return fields, nil
}

// formatAddresses formats an address list, RFC 2047 encoding the names
// that need it.
func formatAddresses(list []*mail.Address) string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.String()
	}
	return strings.Join(out, ", ")
}

// checkLineBreaks refuses a CR or LF in any field of r that goes into a
// header, before anything else is checked.
func checkLineBreaks(r Reply) error {
	fields := []field{
		{"From", r.From}, {"Reply-To", r.ReplyTo}, {"To", r.To}, {"Subject", r.Subject},
		{"In-Reply-To", r.InReplyTo}, {"References", r.References}, {"Message-ID", r.MessageID},
	}
	for k, v := range r.Headers {
		fields = append(fields, field{"header name", k}, field{"header " + k, v})
	}
	for _, a := range r.Attachments {
		fields = append(fields, field{"attachment name", a.Name}, field{"attachment type", a.ContentType})
	}
	for _, f := range fields {
		if strings.ContainsAny(f.value, "\r\n") {
			return fmt.Errorf("invalid %s: %w", strings.ToValidUTF8(strings.ReplaceAll(strings.ReplaceAll(f.key, "\r", " "), "\n", " "), "?"), ErrLineBreak)
		}
	}
	return nil
}

// checkField refuses a header field value with a line break, another
// control character (tab aside) or invalid UTF-8.
func checkField(name, v string) error {
	if strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("invalid %s: %w", name, ErrLineBreak)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("invalid %s: not UTF-8", name)
	}
	for _, c := range v {
		if c != '\t' && (c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0) {
			return fmt.Errorf("invalid %s: control character", name)
		}
	}
	return nil
}

var (
	// fieldName is an RFC 5322 field name: printable ASCII but the colon.
	fieldName = regexp.MustCompile(`^[!-9;-~]{1,76}$`)
	// reserved are the header fields ComposeReply writes itself, or that
	// an extra header must not claim.
	reserved = set("from", "sender", "reply-to", "to", "cc", "bcc", "subject", "date", "message-id",
		"in-reply-to", "references", "mime-version", "return-path", "received", "dkim-signature")
)

// checkHeaderName refuses an extra header name that is malformed or that
// would replace a field ComposeReply sets.
func checkHeaderName(k string) error {
	if strings.ContainsAny(k, "\r\n") {
		return fmt.Errorf("invalid header name: %w", ErrLineBreak)
	}
	if !fieldName.MatchString(k) {
		return fmt.Errorf("invalid header name %q", k)
	}
	l := strings.ToLower(k)
	if reserved[l] || strings.HasPrefix(l, "content-") || strings.HasPrefix(l, "resent-") {
		return fmt.Errorf("header %q is not an extra header", k)
	}
	return nil
}

// addressList parses a list of one or more addresses.
func addressList(name, v string) ([]*mail.Address, error) {
	list, err := mail.ParseAddressList(v)
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", name, err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("invalid %s: no address", name)
	}
	return list, nil
}

// fullMsgID matches a whole Message-ID as ComposeReply accepts it.
var fullMsgID = regexp.MustCompile(`^<[!-;=?-~]+@[!-;=?-~]+>$`)

func validMsgID(id string) bool {
	return fullMsgID.MatchString(strings.TrimSpace(id))
}

// replySubject prefixes "Re: " unless the subject already starts with it.
func replySubject(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 3 && strings.EqualFold(s[:3], "re:") {
		return s
	}
	if s == "" {
		return "Re:"
	}
	return "Re: " + s
}

// encodeText RFC 2047 encodes an unstructured header value where needed:
// when it is not plain ASCII, or when it holds "=?", which a reader would
// otherwise take for the start of an encoded word.
func encodeText(s string) string {
	if q := mime.QEncoding.Encode("utf-8", s); q != s {
		return q
	}
	if !strings.Contains(s, "=?") {
		return s
	}
	// Base64 words of at most 45 bytes each keep every word within the
	// 75 characters of RFC 2047 section 2.
	var words []string
	for s != "" {
		n := min(len(s), 45)
		for n < len(s) && n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// cleanAttachment checks an attachment and cleans its name and type.
func cleanAttachment(a Attachment, i int) (Attachment, error) {
	if err := checkField("attachment name", a.Name); err != nil {
		return a, err
	}
	if err := checkField("attachment type", a.ContentType); err != nil {
		return a, err
	}
	ct := "application/octet-stream"
	if strings.TrimSpace(a.ContentType) != "" {
		mt, _, err := mime.ParseMediaType(a.ContentType)
		if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) || !strings.Contains(mt, "/") {
			return a, fmt.Errorf("invalid attachment type %q", a.ContentType)
		}
		if strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "message/") {
			mt = "application/octet-stream" // base64 is not allowed for these (RFC 2046)
		}
		ct = mt
	}
	return Attachment{Name: CleanName(a.Name, i), ContentType: ct, Data: a.Data}, nil
}
