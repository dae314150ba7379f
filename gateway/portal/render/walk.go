package render

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // registers every charset with go-message
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

var (
	errEmpty    = errors.New("empty message")
	errTooLarge = errors.New("message larger than the limit")
)

const (
	// sniffLen is how much of a part http.DetectContentType looks at.
	sniffLen = 512
	// messageHeadLen is how much of an attached message is kept to read its
	// Subject from.
	messageHeadLen = 64 << 10
	// captureLen is how much of a multipart body is kept to show as text
	// when no part of it can be found.
	captureLen = 1 << 20
	// maxReferences is how many ids of References are kept.
	maxReferences = 50
)

// piece is one body part, as text or as HTML.
type piece struct {
	s    string
	html bool
}

// content is what an entity contributes to the body: the pieces to show as
// plain text and the pieces to show as HTML, in order. A text/plain leaf
// contributes itself to both, and so does a text/html leaf; an alternative
// picks one child for each.
type content struct {
	text, html []piece
}

// has reports whether pieces holds a piece of the given kind.
func has(pieces []piece, html bool) bool {
	for _, p := range pieces {
		if p.html == html {
			return true
		}
	}
	return false
}

// headerValues are the display values of the top-level header.
type headerValues struct {
	from, to, cc, date, subject string
	messageID, references       string
	time                        time.Time
}

// walker walks the MIME tree of one message once. Parse and OpenPart walk
// the same way, so that indexes and metadata agree; OpenPart only keeps the
// bytes of the part it wants.
type walker struct {
	want       int    // index of the part whose content to keep; -1 for none
	wanted     []byte // that part's content
	parts      []Part
	hdr        headerValues
	body       content
	entities   int   // entities read, against MaxParts
	decoded    int64 // decoded bytes read, against maxDecoded
	maxDecoded int64
	incomplete bool
	buf        []byte // read buffer
}

// walk reads raw and returns the finished walker. The decoded parts may
// add up to twice the raw size (and 1 MiB for small messages).
func walk(raw []byte, want int) (*walker, error) {
	return walkBudget(raw, want, 2*int64(len(raw))+1<<20)
}

// walkBudget is walk with a given budget of decoded bytes.
func walkBudget(raw []byte, want int, maxDecoded int64) (*walker, error) {
	if len(raw) == 0 {
		return nil, errEmpty
	}
	if len(raw) > MaxMessageSize {
		return nil, errTooLarge
	}
	w := &walker{want: want, maxDecoded: maxDecoded, entities: 1}
	br := bufio.NewReader(bytes.NewReader(raw))
	h, err := textproto.ReadHeader(br)
	w.hdr = displayHeader(message.Header{Header: h})
	if err != nil {
		// Without a whole header there is no telling where the body
		// starts: offer the whole message as an attached message.
		w.incomplete = true
		var mh textproto.Header
		mh.Set("Content-Type", "message/rfc822")
		w.body = w.leaf(message.Header{Header: mh}, "message/rfc822", nil, bytes.NewReader(raw))
		return w, nil
	}
	w.body = w.entity(message.Header{Header: h}, br, 0, "text/plain")
	return w, nil
}

// entity walks one MIME entity at the given depth. defType is the media type
// of an entity without a Content-Type (message/rfc822 in a digest).
func (w *walker) entity(h message.Header, body io.Reader, depth int, defType string) content {
	mt, params, ok := contentType(h, defType)
	if !ok {
		w.incomplete = true
	}
	if strings.HasPrefix(mt, "multipart/") {
		if b := params["boundary"]; b != "" {
			return w.multipart(mt, b, body, depth)
		}
		// A multipart without a boundary cannot be split (RFC 2046
		// section 5.1.1): show it as text.
		w.incomplete = true
		mt, params = "text/plain", nil
	}
	return w.leaf(h, mt, params, body)
}

// multipart walks the parts of a multipart entity and combines what they
// contribute to the body.
func (w *walker) multipart(mt, boundary string, body io.Reader, depth int) content {
	if depth >= MaxDepth {
		w.incomplete = true
		return content{}
	}
	capture := &prefixWriter{max: captureLen}
	mr := textproto.NewMultipartReader(io.TeeReader(body, capture), boundary)
	childType := "text/plain"
	if mt == "multipart/digest" {
		childType = "message/rfc822"
	}
	var kids []content
	failed := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			failed = true
			break
		}
		capture.stop()
		if w.entities >= MaxParts || w.decoded >= w.maxDecoded {
			w.incomplete = true
			break
		}
		w.entities++
		kids = append(kids, w.entity(message.Header{Header: p.Header}, p, depth+1, childType))
	}
	if failed {
		w.incomplete = true
		if len(kids) == 0 {
			// No boundary was found: the body is all there is to show.
			w.decoded += int64(len(capture.b))
			p := piece{s: decodeText(capture.b, "", false)}
			return content{text: []piece{p}, html: []piece{p}}
		}
	}
	if mt == "multipart/alternative" {
		return alternative(kids)
	}
	var c content
	for _, k := range kids {
		c.text = append(c.text, k.text...)
		c.html = append(c.html, k.html...)
	}
	return c
}

// alternative picks, among the contributions of the parts of a
// multipart/alternative, the one to show as text (the first with plain
// text, else the last with anything) and the one to show as HTML (the last
// with HTML, as the richest comes last, else the first with anything).
func alternative(kids []content) content {
	var c content
	for _, k := range kids {
		if has(k.text, false) {
			c.text = k.text
			break
		}
	}
	for i := len(kids) - 1; i >= 0 && c.text == nil; i-- {
		if len(kids[i].text) > 0 {
			c.text = kids[i].text
		}
	}
	for i := len(kids) - 1; i >= 0; i-- {
		if has(kids[i].html, true) {
			c.html = kids[i].html
			break
		}
	}
	for _, k := range kids {
		if c.html != nil {
			break
		}
		if len(k.html) > 0 {
			c.html = k.html
		}
	}
	return c
}

// leaf reads a single-part entity: a body piece (text/plain or text/html
// that is not an attachment) or a Part.
func (w *walker) leaf(h message.Header, mt string, params map[string]string, body io.Reader) content {
	disp, dparams, rawDisp := contentDisposition(h)
	name := param(dparams, rawDisp, "filename")
	if name == "" {
		name = param(params, h.Get("Content-Type"), "name")
	}
	isMessage := mt == "message/rfc822" || mt == "message/global"
	if alias, ok := imageAliases[mt]; ok {
		mt = alias
	}
	body = transferDecoder(h, body)

	if !isMessage && (mt == "text/plain" || mt == "text/html") && disp != "attachment" && name == "" {
		data, _ := w.read(body, true, 0)
		p := piece{s: decodeText(data, params["charset"], mt == "text/html"), html: mt == "text/html"}
		return content{text: []piece{p}, html: []piece{p}}
	}

	idx := len(w.parts)
	keep := idx == w.want
	headLen := sniffLen
	if isMessage {
		headLen = messageHeadLen
	}
	data, size := w.read(body, keep, headLen)
	head := data
	if len(head) > headLen {
		head = head[:headLen]
	}
	if isMessage {
		name = messageName(head)
	}
	w.parts = append(w.parts, Part{
		Index:       idx,
		Name:        CleanName(name, idx),
		ContentType: mt,
		Size:        size,
		ContentID:   contentID(h),
		Raster:      isRaster(mt, head),
	})
	if keep {
		w.wanted = data
	}
	return content{}
}

// read reads r within the decoded-size budget. It returns all of it if keep
// is set, else its first headLen bytes, and its size either way. A read
// error or a spent budget marks the walk incomplete and ends the part there.
func (w *walker) read(r io.Reader, keep bool, headLen int) ([]byte, int64) {
	var data []byte
	var size int64
	if w.buf == nil {
		w.buf = make([]byte, 32<<10)
	}
	buf := w.buf
	for {
		n, err := r.Read(buf)
		if left := w.maxDecoded - w.decoded; int64(n) > left {
			n = int(max(left, 0))
			err = errBudget
		}
		if n > 0 {
			size += int64(n)
			w.decoded += int64(n)
			if keep {
				data = append(data, buf[:n]...)
			} else if len(data) < headLen {
				data = append(data, buf[:min(n, headLen-len(data))]...)
			}
		}
		if err == io.EOF {
			return data, size
		}
		if err != nil {
			w.incomplete = true
			return data, size
		}
	}
}

var errBudget = errors.New("decoded size budget spent")

// transferDecoder undoes the Content-Transfer-Encoding of body. go-message
// also converts text/* charsets when it decodes; the entity is given to it
// with only its transfer encoding so that part bytes stay as they were
// sent, and bodies are converted by decodeText. An unknown encoding leaves
// the body as it is.
func transferDecoder(h message.Header, body io.Reader) io.Reader {
	var th textproto.Header
	if enc := h.Get("Content-Transfer-Encoding"); enc != "" {
		th.Set("Content-Transfer-Encoding", strings.TrimSpace(enc))
	}
	e, _ := message.New(message.Header{Header: th}, body)
	return e.Body
}

// contentType returns the entity's media type (lower case) and parameters.
// A missing Content-Type gives defType; an invalid one gives text/plain
// (RFC 2045 section 5.2) and ok false.
func contentType(h message.Header, defType string) (mt string, params map[string]string, ok bool) {
	v := h.Get("Content-Type")
	if strings.TrimSpace(v) == "" {
		return defType, nil, true
	}
	mt, params, err := mime.ParseMediaType(v)
	switch {
	case err == nil:
		return mt, params, true
	case errors.Is(err, mime.ErrInvalidMediaParameter):
		return mt, nil, true
	default:
		return "text/plain", nil, false
	}
}

// contentDisposition returns the disposition type (lower case), its
// parameters and the raw header value.
func contentDisposition(h message.Header) (string, map[string]string, string) {
	v := h.Get("Content-Disposition")
	if strings.TrimSpace(v) == "" {
		return "", nil, v
	}
	disp, params, err := mime.ParseMediaType(v)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		disp, _, _ = strings.Cut(v, ";")
		disp = strings.ToLower(strings.TrimSpace(disp))
	}
	return disp, params, v
}

var (
	// rfc2231Single matches a one-piece RFC 2231 extended parameter, which
	// the standard library reads only in UTF-8 and US-ASCII.
	rfc2231Single = regexp.MustCompile(`(?i)(?:^|;)\s*([a-z]+)\*\s*=\s*"?([a-z0-9_.:-]+)'[^']*'([^;"\s]*)`)
	// looseParam matches key=value where the value is quoted, or is
	// everything up to the next semicolon (file names with spaces, unquoted).
	looseParam = regexp.MustCompile(`(?i)(?:^|;)\s*([a-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))`)
)

// param returns the named parameter, decoded: from the parsed parameters
// (RFC 2047 encoded words decoded too), else from an RFC 2231 value in
// another charset, else from a loose reading of a header that did not parse.
func param(params map[string]string, raw, key string) string {
	if v, ok := params[key]; ok {
		return decodeWords(v)
	}
	for _, m := range rfc2231Single.FindAllStringSubmatch(raw, -1) {
		if strings.EqualFold(m[1], key) {
			if v, ok := decode2231(m[2], m[3]); ok {
				return v
			}
		}
	}
	if params != nil {
		return ""
	}
	for _, m := range looseParam.FindAllStringSubmatch(raw, -1) {
		if strings.EqualFold(m[1], key) {
			v := m[3]
			if m[2] != "" {
				v = strings.ReplaceAll(m[2], `\`, "")
			}
			return decodeWords(strings.TrimSpace(v))
		}
	}
	return ""
}

// contentID returns the Content-ID without angle brackets.
func contentID(h message.Header) string {
	id := strings.TrimSpace(h.Get("Content-Id"))
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	return cleanLine(id)
}

// imageAliases are the non-standard names of raster types that mailers
// use; parts report the standard name.
var imageAliases = map[string]string{"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}

// rasterTypes are the image types a browser shows without running anything.
var rasterTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// isRaster reports whether mt is a raster image type and the bytes agree.
func isRaster(mt string, head []byte) bool {
	return rasterTypes[mt] && http.DetectContentType(head) == mt
}

// messageName names an attached message after its Subject.
func messageName(head []byte) string {
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(head)))
	subj, _ := (&message.Header{Header: h}).Text("Subject")
	if subj = cleanLine(subj); subj == "" {
		subj = "message"
	}
	return subj + ".eml"
}

// displayHeader reads the display values of a message header.
func displayHeader(h message.Header) headerValues {
	mh := mail.Header{Header: h}
	subj, _ := h.Text("Subject")
	v := headerValues{
		from:    addresses(mh, "From"),
		to:      addresses(mh, "To"),
		cc:      addresses(mh, "Cc"),
		date:    cleanLine(h.Get("Date")),
		subject: cleanLine(subj),
	}
	if t, err := mh.Date(); err == nil {
		v.time = t
	}
	if ids := msgIDs(h.Get("Message-Id")); len(ids) > 0 {
		v.messageID = ids[0]
	}
	refs := msgIDs(h.Get("References"))
	if len(refs) > maxReferences {
		refs = refs[len(refs)-maxReferences:]
	}
	v.references = strings.Join(refs, " ")
	return v
}

// addresses returns an address header for display: "Name <addr>, addr".
// A header that does not parse as addresses is shown as decoded text.
func addresses(h mail.Header, key string) string {
	list, err := h.AddressList(key)
	if err != nil {
		s, _ := h.Text(key)
		return cleanLine(s)
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		switch {
		case a.Name != "" && a.Address != "":
			out = append(out, a.Name+" <"+a.Address+">")
		case a.Address != "":
			out = append(out, a.Address)
		default:
			out = append(out, a.Name)
		}
	}
	return cleanLine(strings.Join(out, ", "))
}

// msgIDPattern matches one message id, angle brackets included.
var msgIDPattern = regexp.MustCompile(`<[!-;=?-~]+>`)

// msgIDs returns the message ids in s, each as "<...>".
func msgIDs(s string) []string {
	return msgIDPattern.FindAllString(s, -1)
}

// prefixWriter keeps the first max bytes written to it, until stopped.
type prefixWriter struct {
	b       []byte
	max     int
	stopped bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if !p.stopped && len(p.b) < p.max {
		p.b = append(p.b, b[:min(len(b), p.max-len(p.b))]...)
	}
	return len(b), nil
}

// stop discards what was kept and keeps nothing more.
func (p *prefixWriter) stop() {
	p.stopped, p.b = true, nil
}
