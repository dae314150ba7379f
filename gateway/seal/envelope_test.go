package seal

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

var testIDKey = bytes.Repeat([]byte{0x42}, 32)

// phi is planted in the original's subject, body, attachment names and
// non-copied headers; none of it may appear in an envelope.
var phi = []string{
	"Discharge", "943 476 5919", "9434765919", "diabetes", "HbA1c", "64 mmol",
	"HIV-result", "records@trust.example", "audit@trust.example", "7700 900123",
	"Oncology follow-up", "Thread-Topic", "X-Patient", "Jane Q Patient",
}

// phiOriginal is original with more PHI-bearing header fields, and
// Cc/In-Reply-To/References to copy.
const phiOriginal = "Thread-Topic: Oncology follow-up\r\n" +
	"X-Patient: Jane Q Patient\r\n" +
	"Cc: Ward 7 <ward7@trust.example>\r\n" +
	"In-Reply-To: <prev@trust.example>\r\n" +
	"References: <first@trust.example>\r\n <prev@trust.example>\r\n" +
	"Content-Disposition: inline; filename=\"HIV-result.txt\"\r\n" +
	original

func readHeader(t testing.TB, msg string) textproto.Header {
	t.Helper()
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testEnvelope(t testing.TB, orig string, ctSum []byte) Envelope {
	id := "AAAAAAAAAAAAAAAAAAAAAAAA"
	return Envelope{
		Original:  readHeader(t, orig),
		Subject:   "Secure message from Example NHS Trust",
		PortalURL: "https://portal.example/m/" + id,
		OrgName:   "Example NHS Trust",
		IDHeader:  SignID(testIDKey, id, ctSum),
		Sender:    "a.clinician@trust.example",
	}
}

// sealed returns the ciphertext of phiOriginal and its hash.
func sealed(t testing.TB) ([]byte, []byte) {
	t.Helper()
	_, r, err := NewIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	sum, _, err := Encrypt(&ct, strings.NewReader(phiOriginal), []age.Recipient{r})
	if err != nil {
		t.Fatal(err)
	}
	return ct.Bytes(), sum
}

// part is a decoded leaf of a parsed envelope.
type part struct {
	path   string // media types from the root, joined by ">"
	header message.Header
	body   []byte
}

// parseEnvelope parses msg with go-message and returns its top header and
// decoded leaves.
func parseEnvelope(t testing.TB, msg []byte) (message.Header, []part) {
	t.Helper()
	e, err := message.Read(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("envelope does not parse: %v", err)
	}
	var parts []part
	var walk func(e *message.Entity, path string)
	walk = func(e *message.Entity, path string) {
		mt, _, err := e.Header.ContentType()
		if err != nil {
			t.Fatalf("bad Content-Type at %s: %v", path, err)
		}
		path += ">" + mt
		if mr := e.MultipartReader(); mr != nil {
			for {
				p, err := mr.NextPart()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					t.Fatalf("bad part under %s: %v", path, err)
				}
				walk(p, path)
			}
		}
		body, err := io.ReadAll(e.Body)
		if err != nil {
			t.Fatalf("cannot decode %s: %v", path, err)
		}
		parts = append(parts, part{path: path, header: e.Header, body: body})
	}
	walk(e, "")
	return e.Header, parts
}

// checkLines checks that every line of msg ends in CRLF, with no bare CR
// or LF, and is at most max characters long.
func checkLines(t testing.TB, msg []byte, max int) {
	t.Helper()
	if !bytes.HasSuffix(msg, []byte("\r\n")) {
		t.Error("envelope does not end in CRLF")
	}
	for i, line := range bytes.Split(msg, []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > max {
			t.Fatalf("line %d is %d characters long, want at most %d: %q", i+1, len(line), max, line)
		}
	}
}

func TestWriteEnvelope(t *testing.T) {
	ct, sum := sealed(t)
	env := testEnvelope(t, phiOriginal, sum)
	var out bytes.Buffer
	if err := WriteEnvelope(&out, env, bytes.NewReader(ct)); err != nil {
		t.Fatalf("WriteEnvelope: %v", err)
	}
	msg := out.Bytes()
	checkLines(t, msg, 76)

	top, parts := parseEnvelope(t, msg)

	// Exactly the allowed header fields, with the original values.
	var keys []string
	for f := top.Fields(); f.Next(); {
		keys = append(keys, f.Key())
	}
	wantKeys := []string{"From", "To", "Cc", "Date", "Message-Id", "In-Reply-To", "References",
		"Subject", "Mime-Version", "X-Sealpost-Id", "Content-Type"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("envelope header fields = %v, want %v", keys, wantKeys)
	}
	for _, k := range CopiedHeaders() {
		if got, want := top.Get(k), env.Original.Get(k); got != want {
			t.Errorf("%s = %q, want the original %q", k, got, want)
		}
	}
	if got, _ := top.Text("Subject"); got != env.Subject {
		t.Errorf("Subject = %q, want %q", got, env.Subject)
	}
	if got := top.Get(IDHeader); got != env.IDHeader {
		t.Errorf("%s = %q, want %q", IDHeader, got, env.IDHeader)
	}

	// Structure.
	var paths []string
	for _, p := range parts {
		paths = append(paths, p.path)
	}
	wantPaths := []string{
		">multipart/mixed>multipart/alternative>text/plain",
		">multipart/mixed>multipart/alternative>text/html",
		">multipart/mixed>application/octet-stream",
	}
	if !slices.Equal(paths, wantPaths) {
		t.Fatalf("envelope parts = %v, want %v", paths, wantPaths)
	}
	text, html, att := parts[0], parts[1], parts[2]

	// The notice.
	for _, p := range []part{text, html} {
		for _, s := range []string{env.PortalURL, env.OrgName, env.Sender, AttachmentName, "age -d"} {
			if !bytes.Contains(p.body, []byte(s)) {
				t.Errorf("%s notice does not contain %q", p.path, s)
			}
		}
	}
	if !bytes.Contains(html.body, []byte(`<a href="`+env.PortalURL+`">`)) {
		t.Error("HTML notice has no link to the portal")
	}

	// The attachment.
	if !bytes.Equal(att.body, ct) {
		t.Error("attachment does not decode to the ciphertext")
	}
	if disp, params, _ := att.header.ContentDisposition(); disp != "attachment" || params["filename"] != AttachmentName {
		t.Errorf("attachment disposition = %q %v", disp, params)
	}
	if _, params, _ := att.header.ContentType(); params["name"] != AttachmentName {
		t.Errorf("attachment Content-Type name = %q", params["name"])
	}

	// No PHI anywhere: raw bytes, decoded headers, decoded notice parts.
	var decoded bytes.Buffer
	for f := top.Fields(); f.Next(); {
		v, _ := message.HeaderFields(f).Text()
		fmt.Fprintf(&decoded, "%s: %s\n", f.Key(), v)
	}
	for _, p := range parts[:2] {
		for f := p.header.Fields(); f.Next(); {
			fmt.Fprintf(&decoded, "%s: %s\n", f.Key(), f.Value())
		}
		decoded.Write(p.body)
	}
	for f := att.header.Fields(); f.Next(); {
		fmt.Fprintf(&decoded, "%s: %s\n", f.Key(), f.Value())
	}
	for _, s := range phi {
		if bytes.Contains(msg, []byte(s)) {
			t.Errorf("envelope bytes contain PHI %q", s)
		}
		if bytes.Contains(decoded.Bytes(), []byte(s)) {
			t.Errorf("decoded envelope contains PHI %q", s)
		}
		if bytes.Contains(att.body, []byte(s)) {
			t.Errorf("attachment contains PHI %q in the clear", s)
		}
	}

	// The id verifies and matches the attachment FindSealedAttachment finds.
	id, idSum, ok := VerifyID(testIDKey, top.Get(IDHeader))
	if !ok || id != "AAAAAAAAAAAAAAAAAAAAAAAA" {
		t.Fatalf("VerifyID(%q) = %q, %v", top.Get(IDHeader), id, ok)
	}
	found, ok, err := FindSealedAttachment(bytes.NewReader(msg))
	if err != nil || !ok {
		t.Fatalf("FindSealedAttachment = %v, %v", ok, err)
	}
	if !bytes.Equal(found, idSum) || !bytes.Equal(found, sum) {
		t.Errorf("attachment hash %x, id hash %x, Encrypt hash %x: want all equal", found, idSum, sum)
	}
}

var boundaryRE = regexp.MustCompile(`sealpost-[0-9a-f]{30}`)

// TestWriteEnvelopeGolden pins the exact envelope, with boundaries and the
// attachment normalised, in testdata/envelope.golden (go test -update).
func TestWriteEnvelopeGolden(t *testing.T) {
	sum := sha256.Sum256([]byte("ciphertext"))
	env := testEnvelope(t, phiOriginal, sum[:])
	var out bytes.Buffer
	if err := WriteEnvelope(&out, env, strings.NewReader("ciphertext")); err != nil {
		t.Fatal(err)
	}
	n := 0
	seen := map[string]string{}
	got := boundaryRE.ReplaceAllFunc(out.Bytes(), func(b []byte) []byte {
		if _, ok := seen[string(b)]; !ok {
			n++
			seen[string(b)] = fmt.Sprintf("BOUNDARY-%d", n)
		}
		return []byte(seen[string(b)])
	})
	path := filepath.Join("testdata", "envelope.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("envelope differs from %s (run go test -update and review the diff):\n%s", path, got)
	}
}

func TestWriteEnvelopeNonASCII(t *testing.T) {
	sum := sha256.Sum256(nil)
	env := Envelope{
		Original:  readHeader(t, "From: =?utf-8?q?Dr_M=C3=BCller?= <m@klinik.example>\r\nTo: Zoë <z@example.net>\r\n\r\n"),
		PortalURL: "https://portal.example/m/x",
		OrgName:   "Klinik Müller – Kardiologie",
		IDHeader:  SignID(testIDKey, "x", sum[:]),
		Sender:    "Dr Müller",
	}
	var out bytes.Buffer
	if err := WriteEnvelope(&out, env, strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	checkLines(t, out.Bytes(), 76)
	top, parts := parseEnvelope(t, out.Bytes())
	raw, err := top.Raw("Subject")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range raw {
		if c >= 0x80 {
			t.Fatalf("Subject is not ASCII: %q", raw)
		}
	}
	if got, _ := top.Text("Subject"); got != "Secure message from Klinik Müller – Kardiologie" {
		t.Errorf("default Subject = %q", got)
	}
	if top.Get("To") != "Zoë <z@example.net>" || top.Get("From") != env.Original.Get("From") {
		t.Errorf("copied fields changed: From %q To %q", top.Get("From"), top.Get("To"))
	}
	if !bytes.Contains(parts[0].body, []byte("Dr Müller has sent you a secure message\r\nthrough Klinik Müller – Kardiologie.")) {
		t.Errorf("text notice does not name the sender and organisation:\n%s", parts[0].body)
	}
	if len(parts[2].body) != 0 {
		t.Errorf("empty ciphertext gave a %d-byte attachment", len(parts[2].body))
	}
}

func TestWriteEnvelopeFolding(t *testing.T) {
	var refs []string
	for i := range 40 {
		refs = append(refs, fmt.Sprintf("<ref-%d-%s@mail.example>", i, strings.Repeat("r", 20)))
	}
	longToken := "<" + strings.Repeat("x", 900) + "@example>"
	orig := "From: a@example.org\r\nReferences: " + strings.Join(refs, " ") + "\r\nMessage-ID: " + longToken + "\r\n\r\n"
	sum := sha256.Sum256(nil)
	env := testEnvelope(t, orig, sum[:])
	var out bytes.Buffer
	if err := WriteEnvelope(&out, env, strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	checkLines(t, out.Bytes(), 998)
	top, _ := parseEnvelope(t, out.Bytes())
	if got := top.Get("References"); got != strings.Join(refs, " ") {
		t.Errorf("References changed by folding:\n%q", got)
	}
	if got := top.Get("Message-Id"); got != longToken {
		t.Errorf("long Message-ID changed: %q", got)
	}
	// No Date in the original: one is added.
	if top.Get("Date") == "" {
		t.Error("no Date field added")
	}
}

func TestWriteEnvelopeInvalid(t *testing.T) {
	sum := sha256.Sum256(nil)
	good := func() Envelope { return testEnvelope(t, "From: a\r\nTo: b\r\n\r\n", sum[:]) }
	tests := []struct {
		name   string
		modify func(*Envelope)
	}{
		{"no organisation", func(e *Envelope) { e.OrgName = "" }},
		{"no portal URL", func(e *Envelope) { e.PortalURL = "" }},
		{"javascript URL", func(e *Envelope) { e.PortalURL = "javascript:alert(1)" }},
		{"relative URL", func(e *Envelope) { e.PortalURL = "/m/abc" }},
		{"URL with space", func(e *Envelope) { e.PortalURL = "https://portal.example/m/a b" }},
		{"URL with quote", func(e *Envelope) { e.PortalURL = `https://portal.example/m/a"onclick=x` }},
		{"URL with user", func(e *Envelope) { e.PortalURL = "https://user@portal.example/m/a" }},
		{"URL with CRLF", func(e *Envelope) { e.PortalURL = "https://portal.example/\r\nBcc: x" }},
		{"no id header", func(e *Envelope) { e.IDHeader = "" }},
		{"id header injection", func(e *Envelope) { e.IDHeader = "x\r\nSubject: PHI" }},
		{"subject injection", func(e *Envelope) { e.Subject = "ok\r\nX-Patient: PHI" }},
		{"sender control character", func(e *Envelope) { e.Sender = "a\x00b" }},
		{"org invalid UTF-8", func(e *Envelope) { e.OrgName = "Trust\xff" }},
		{"copied value injection", func(e *Envelope) { e.Original.Set("To", "b@example.net\r\nBcc: hidden@example.com") }},
		{"copied value NUL", func(e *Envelope) { e.Original.Set("Cc", "c\x00@example.net") }},
		{"copied value invalid UTF-8", func(e *Envelope) { e.Original.Set("From", "\xfe\xff") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good()
			tt.modify(&e)
			err := WriteEnvelope(io.Discard, e, strings.NewReader("ct"))
			if !errors.Is(err, ErrInvalidEnvelope) {
				t.Errorf("WriteEnvelope error = %v, want ErrInvalidEnvelope", err)
			}
		})
	}
	if err := WriteEnvelope(io.Discard, good(), strings.NewReader("ct")); err != nil {
		t.Errorf("the valid envelope fails: %v", err)
	}
}

// streamSource produces n pseudo-random bytes and fails the test if it is
// read again after reporting EOF (WriteEnvelope must make one pass).
type streamSource struct {
	t       testing.TB
	left    int64
	state   uint64
	sawEOF  bool
	hash    io.Writer
	readErr error
}

func (s *streamSource) Read(p []byte) (int, error) {
	if s.sawEOF {
		s.t.Error("ciphertext read again after EOF")
		return 0, errors.New("read after EOF")
	}
	if s.readErr != nil {
		return 0, s.readErr
	}
	if s.left == 0 {
		s.sawEOF = true
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.left))
	for i := range n {
		s.state = s.state*6364136223846793005 + 1442695040888963407
		p[i] = byte(s.state >> 56)
	}
	s.left -= int64(n)
	if s.hash != nil {
		s.hash.Write(p[:n])
	}
	return n, nil
}

// TestWriteEnvelopeStreams writes a 50 MB ciphertext and checks that
// WriteEnvelope reads it once and never holds it whole: the live heap,
// sampled every 8 MB of output, stays within a few MB, and the bytes
// allocated in total stay below half the ciphertext. (go-message allocates
// a few bytes of garbage per base64 line, about 2 MB here, more under
// -race; buffering the ciphertext would allocate at least 50 MB.)
func TestWriteEnvelopeStreams(t *testing.T) {
	const size = 50 << 20
	const bound = 4 << 20
	const allocBound = size / 2
	sum := sha256.Sum256(nil)
	env := testEnvelope(t, phiOriginal, sum[:])
	src := &streamSource{t: t, left: size}
	out := &heapProbe{}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := WriteEnvelope(out, env, src); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > allocBound {
		t.Errorf("WriteEnvelope of a 50 MB ciphertext allocated %d bytes, want at most %d", alloc, allocBound)
	}
	if out.peak-int64(before.HeapAlloc) > bound {
		t.Errorf("live heap grew by %d bytes while streaming, want at most %d", out.peak-int64(before.HeapAlloc), bound)
	}
	if !src.sawEOF {
		t.Error("ciphertext not read to the end")
	}
	if want := int64(size) * 4 / 3; out.n < want {
		t.Errorf("envelope is %d bytes, want more than %d", out.n, want)
	}
}

// heapProbe discards what is written, counting it, and samples the live
// heap every 8 MB written.
type heapProbe struct {
	n, next, peak int64
}

func (h *heapProbe) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	if h.n >= h.next {
		h.next = h.n + 8<<20
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peak = max(h.peak, int64(ms.HeapAlloc))
	}
	return len(p), nil
}

// TestWriteEnvelopeLargeContent checks the content of a multi-chunk
// attachment by streaming the envelope straight into FindSealedAttachment
// (TestWriteEnvelopeStreams covers the 50 MB memory bound).
func TestWriteEnvelopeLargeContent(t *testing.T) {
	h := sha256.New()
	src := &streamSource{t: t, left: 8 << 20, hash: h}
	sum := sha256.Sum256(nil)
	env := testEnvelope(t, phiOriginal, sum[:])
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(WriteEnvelope(pw, env, src))
	}()
	found, ok, err := FindSealedAttachment(pr)
	pr.Close()
	if err != nil || !ok {
		t.Fatalf("FindSealedAttachment = %v, %v", ok, err)
	}
	if !bytes.Equal(found, h.Sum(nil)) {
		t.Error("8 MB attachment does not decode to the ciphertext")
	}
}

func TestWriteEnvelopeReadError(t *testing.T) {
	sum := sha256.Sum256(nil)
	env := testEnvelope(t, phiOriginal, sum[:])
	boom := errors.New("spool gone")
	src := &streamSource{t: t, left: 1 << 20, readErr: boom}
	if err := WriteEnvelope(io.Discard, env, src); !errors.Is(err, boom) {
		t.Errorf("WriteEnvelope error = %v, want the reader's error", err)
	}
}

func FuzzWriteEnvelope(f *testing.F) {
	f.Add("Secure message", "Example NHS Trust", "a@trust.example", "https://portal.example/m/x",
		"A <a@trust.example>", "b@example.net", "<id@x>", "<r1@x> <r2@x>", []byte("ciphertext"))
	f.Add("", "Klinik Müller", "", "http://localhost:8080/m/abc?x=1&y=2#frag",
		"=?utf-8?q?M=C3=BCller?= <m@x>", "", "", "", []byte{})
	f.Add("ü"+strings.Repeat("long subject ", 20), "O", "s", "https://p/m",
		strings.Repeat("x", 1200), "t", "<"+strings.Repeat("y", 1000)+">", "", bytes.Repeat([]byte{0xff}, 3000))
	f.Fuzz(func(t *testing.T, subject, org, sender, portal, from, to, msgID, refs string, ct []byte) {
		var orig textproto.Header
		for k, v := range map[string]string{"From": from, "To": to, "Message-Id": msgID, "References": refs} {
			if v != "" {
				orig.Add(k, v)
			}
		}
		orig.Add("Subject", "PLANTED-PHI")
		sum := sha256.Sum256(ct)
		env := Envelope{Original: orig, Subject: subject, PortalURL: portal, OrgName: org,
			IDHeader: SignID(testIDKey, "abc", sum[:]), Sender: sender}
		var out bytes.Buffer
		if err := WriteEnvelope(&out, env, bytes.NewReader(ct)); err != nil {
			if !errors.Is(err, ErrInvalidEnvelope) {
				t.Fatalf("WriteEnvelope: unexpected error %v", err)
			}
			return
		}
		msg := out.Bytes()
		for i, line := range bytes.Split(msg, []byte("\r\n")) {
			if bytes.ContainsAny(line, "\r\n") || len(line) > 998 {
				t.Fatalf("line %d is bad: %q", i+1, line)
			}
		}
		if bytes.Contains(msg, []byte("PLANTED-PHI")) {
			t.Fatal("original Subject reached the envelope")
		}
		top, parts := parseEnvelope(t, msg)
		for fs := top.Fields(); fs.Next(); {
			if k := fs.Key(); !slices.Contains(append(CopiedHeaders(), "Subject", "Mime-Version", IDHeader, "Content-Type"), k) {
				t.Fatalf("unexpected field %q", k)
			}
		}
		if len(parts) != 3 || !bytes.Equal(parts[2].body, ct) {
			t.Fatal("attachment does not decode to the ciphertext")
		}
		found, ok, err := FindSealedAttachment(bytes.NewReader(msg))
		if err != nil || !ok || !bytes.Equal(found, sum[:]) {
			t.Fatalf("FindSealedAttachment = %x, %v, %v", found, ok, err)
		}
	})
}

func BenchmarkWriteEnvelope120KB(b *testing.B) {
	ct := make([]byte, 120<<10)
	for i := range ct {
		ct[i] = byte(i * 7)
	}
	sum := sha256.Sum256(ct)
	env := testEnvelope(b, phiOriginal, sum[:])
	b.SetBytes(int64(len(ct)))
	for b.Loop() {
		if err := WriteEnvelope(io.Discard, env, bytes.NewReader(ct)); err != nil {
			b.Fatal(err)
		}
	}
}
