package extract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/emersion/go-message"
)

// node is a place in the message tree; base is its Where without the type,
// such as "attachment 3" or "attachment 3/zip entry 2". The root is "".
type node struct {
	base string
}

func (n node) child(label string) node {
	if n.base == "" {
		return node{base: label}
	}
	return node{base: n.base + "/" + label}
}

// counters number the parts of one message.
type counters struct {
	attachments int
	plain, html int
	other       int
}

// message extracts a whole message (the top level or a nested one): its
// subject, then its body.
func (s *state) message(e *message.Entity, n node, depth int) {
	subj, err := e.Header.Text("Subject")
	if err != nil {
		subj = e.Header.Get("Subject")
	}
	if subj = strings.TrimSpace(subj); subj != "" {
		k := &sink{s: s}
		err := k.WriteString(subj)
		s.res.Units = append(s.res.Units, Unit{Where: n.child("subject").base, Kind: "header-subject", Text: k.String()})
		if err != nil {
			s.res.Truncated = true
		}
	}
	s.entity(e, n, depth, &counters{})
}

// entity walks one MIME entity.
func (s *state) entity(e *message.Entity, n node, depth int, c *counters) {
	mt, params, _ := e.Header.ContentType()
	if mt == "" {
		mt = "text/plain"
	}
	if s.done() {
		s.res.Truncated = true
		return
	}
	switch {
	case mt == "multipart/encrypted":
		c.attachments++
		s.skip(n.child(fmt.Sprintf("attachment %d", c.attachments)).base+" ("+mt+")", "pgp", ReasonEncrypted)
		return
	case strings.HasPrefix(mt, "multipart/"):
		if depth >= s.lim.MaxDepth {
			s.res.Truncated = true
			s.skip(n.child("nested multipart").base+" ("+mt+")", "multipart", ReasonUnscannable)
			return
		}
		mr := e.MultipartReader()
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil && p == nil {
				if s.done() {
					s.res.Truncated = true
				} else {
					s.skip(n.child("malformed multipart").base+" ("+mt+")", "multipart", ReasonUnscannable)
				}
				return
			}
			if err := s.addPart(); err != nil {
				s.res.Truncated = true
				s.skip(n.child("parts over the limit").base+" ("+mt+")", "multipart", ReasonUnscannable)
				return
			}
			s.entity(p, n, depth+1, c)
			if s.done() {
				s.res.Truncated = true
				return
			}
		}
	case mt == "message/rfc822" || mt == "message/global":
		c.attachments++
		child := n.child(fmt.Sprintf("attachment %d", c.attachments))
		s.nested(e.Body, child, mt, depth+1)
		return
	}

	disp, dparams, _ := e.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	ext := strings.ToLower(path.Ext(name))
	inline := disp != "attachment" && name == "" && (mt == "text/plain" || mt == "text/html")

	data, err := s.readPart(e.Body)
	if err != nil && !errors.Is(err, errBudget) && len(data) == 0 {
		err = fmt.Errorf("failed to decode part: %w", err)
	}

	var it item
	it.data, it.depth, it.declared = data, depth, mt
	if inline {
		it.kind = "text"
		if mt == "text/html" {
			it.kind = "html"
		}
		switch {
		case mt == "text/plain" && c.plain == 0:
			it.where = n.child("body").base
		case mt == "text/html" && c.html == 0:
			it.where = n.child("body/html").base
		default:
			c.other++
			it.where = n.child(fmt.Sprintf("body part %d", c.other+1)).base + " (" + mt + ")"
		}
		if mt == "text/plain" {
			c.plain++
		} else {
			c.html++
		}
		if b := bytes.TrimLeft(data, " \t\r\n"); bytes.HasPrefix(b, []byte("-----BEGIN AGE ENCRYPTED FILE-----")) || bytes.HasPrefix(b, []byte("age-encryption.org/v1\n")) {
			it.kind = "age"
		}
	} else {
		c.attachments++
		it.base = n.child(fmt.Sprintf("attachment %d", c.attachments))
		it.where = it.base.base + " (" + mt + ")"
		it.kind = sniff(mt, params, ext, data)
	}
	if err != nil {
		s.fail(it.where, it.kind, err)
		if len(data) == 0 {
			return
		}
	}
	s.item(it)
}

// nested extracts a message/rfc822 body.
func (s *state) nested(r io.Reader, n node, mt string, depth int) {
	where := n.base + " (" + mt + ")"
	if depth > s.lim.MaxDepth {
		s.res.Truncated = true
		s.skip(where, "message", ReasonUnscannable)
		return
	}
	defer func() {
		if p := recover(); p != nil {
			s.skip(where, "message", ReasonUnscannable)
		}
	}()
	inner, err := message.Read(&ctxReader{ctx: s.ctx, r: r})
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		s.fail(where, "message", err)
		return
	}
	s.message(inner, n, depth)
}

// item is a leaf part, or an entry of an archive, to extract.
type item struct {
	where    string // the full Where
	base     node   // the Where of its children, for containers
	kind     string // from sniff
	declared string // the declared or inferred media type
	data     []byte
	depth    int
	noRaw    bool // a piece of a document rather than a whole part
}

// item extracts one leaf, recovering any panic.
func (s *state) item(it item) {
	if s.done() {
		s.res.Truncated = true
		s.skip(it.where, it.kind, ReasonUnscannable)
		return
	}
	k := &sink{s: s}
	defer func() {
		if p := recover(); p != nil {
			s.skip(it.where, it.kind, ReasonUnscannable)
		}
	}()
	if s.hook != nil {
		s.hook(it.kind)
	}
	var err error
	unitKind := it.kind
	switch it.kind {
	case "text", "csv":
		err = s.plainText(it.data, k, it.where)
	case "html":
		err = s.htmlText(bytes.NewReader(decodeText(it.data)), k)
	case "rtf":
		err = s.rtfText(it.data, k)
	case "pdf":
		err = s.pdfText(it.data, k)
	case "zip":
		unitKind, err = s.zipFile(it, k)
	case "gzip":
		err = s.gzipFile(it)
	case "tnef":
		err = s.tnefFile(it)
	case "message":
		if it.depth+1 > s.lim.MaxDepth {
			err = errBudget
			break
		}
		s.nested(bytes.NewReader(it.data), it.base, it.declared, it.depth+1)
		return
	case "smime":
		err = s.smimeFile(it)
	case "ole":
		err = errUnscannable
		if oleEncrypted(it.data) {
			err = errEncrypted
		}
		unitKind = "office"
	case "pgp", "age":
		err = errEncrypted
	case "smime-enc":
		err = errEncrypted
		unitKind = "smime"
	case "signature":
		return
	case "dicom":
		s.res.Units = append(s.res.Units, Unit{Where: it.where, Kind: "dicom", Raw: rawOf(it.data)})
		return
	default: // image, binary
		err = errUnscannable
	}
	if text := k.String(); strings.TrimSpace(text) != "" {
		u := Unit{Where: it.where, Kind: unitKind, Text: text}
		if !it.noRaw {
			u.Raw = rawOf(it.data)
		}
		s.res.Units = append(s.res.Units, u)
	}
	if err != nil {
		s.fail(it.where, unitKind, err)
	}
}

var errUnscannable = errors.New("unscannable content")

func rawOf(data []byte) []byte {
	if len(data) > rawPrefix {
		data = data[:rawPrefix]
	}
	return data
}

// plainText writes a text part, keeping inline PGP and age armor out of the
// text and reporting it as encrypted.
func (s *state) plainText(data []byte, k *sink, where string) error {
	text := string(decodeText(data))
	for _, a := range [...]struct{ begin, end, kind string }{
		{"-----BEGIN PGP MESSAGE-----", "-----END PGP MESSAGE-----", "pgp"},
		{"-----BEGIN AGE ENCRYPTED FILE-----", "-----END AGE ENCRYPTED FILE-----", "age"},
	} {
		found := false
		for {
			i := strings.Index(text, a.begin)
			if i < 0 {
				break
			}
			found = true
			j := strings.Index(text[i:], a.end)
			if j < 0 {
				text = text[:i]
				break
			}
			text = text[:i] + text[i+j+len(a.end):]
		}
		if found {
			s.skip(where, a.kind, ReasonEncrypted)
		}
	}
	return k.WriteString(text)
}
