package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

func newTestState(lim Limits) *state {
	return &state{ctx: context.Background(), lim: lim.withDefaults(), res: &Result{}}
}

func TestHTMLText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"paragraphs", "<p>a</p><p>b</p>", "a\nb"},
		{"script and style dropped", "<style>p{}</style><script>var x='<p>no</p>';</script>yes<template>t</template>", "yes"},
		{"entities", "&lt;&amp;&gt; &eacute;&#233;&#x41; O&#8217;Neill", "<&> ééA O\u2019Neill"},
		{"no-break spaces collapse", "a&nbsp;&nbsp; b", "a b"},
		{"br", "line one<br>line two<br/>three", "line one\nline two\nthree"},
		{"table", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a\tb\t\nc"},
		{"white space collapses", "<p>  hello \n\t world  </p>", "hello world"},
		{"malformed", "<div><b>bold<i>x</div></span>>", "boldx\n>"},
		{"comment dropped", "a<!-- NHS 943 476 5919 -->b", "ab"},
		{"inline elements join", "<span>NHS</span> <b>No</b>:<i>1</i>", "NHS No:1"},
		{"title kept", "<html><head><title>Clinic letter</title></head><body>Body</body></html>", "Clinic letter\nBody"},
		{"list", "<ul><li>one</li><li>two</li></ul>", "one\ntwo"},
		{"unclosed script", "before<script>never closed", "before"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestState(Limits{})
			k := &sink{s: s}
			if err := s.htmlText(strings.NewReader(tc.in), k); err != nil {
				t.Fatalf("htmlText: %v", err)
			}
			if got := strings.TrimSpace(k.String()); got != tc.want {
				t.Errorf("htmlText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRTFText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"paragraphs", `{\rtf1 Hello\par World}`, "Hello\nWorld"},
		{"hex in 1252", `{\rtf1\ansi\ansicpg1252 caf\'e9 \'80 5}`, "café € 5"},
		{"hex in 1251", `{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8}`, "При"},
		{"unicode with fallback", `{\rtf1 \u1055?\u1088?}`, "Пр"},
		{"uc2", `{\rtf1\uc2 \u1055??x}`, "Пx"},
		{"fallback as hex", `{\rtf1 \u233\'e9!}`, "é!"},
		{"ignorable destination", `{\rtf1 a{\*\foo hidden}b}`, "ab"},
		{"font table", `{\rtf1{\fonttbl{\f0\fswiss Arial;}}{\colortbl;\red0\green0\blue0;}text}`, "text"},
		{"escapes", `{\rtf1 \{x\}\\}`, `{x}\`},
		{"binary data", `{\rtf1 a{\pict\bin4 ABCD}b}`, "ab"},
		{"unbalanced", `{\rtf1 a}}}b{{`, "ab"},
		{"tab cell row", `{\rtf1 a\tab b\cell c\row}`, "a\tb\tc"},
		{"field instruction", `{\rtf1 {\field{\*\fldinst HYPERLINK "x"}{\fldrslt link}}}`, "link"},
		{"encapsulated html", `{\rtf1\fromhtml1 {\*\htmltag <p>}\htmlrtf {\b junk}\htmlrtf0 Real text}`, "Real text"},
		{"deep nesting", strings.Repeat("{", 10000) + "x" + strings.Repeat("}", 10000), "x"},
		{"truncated control", `{\rtf1 end\`, "end"},
		{"truncated hex", `{\rtf1 end\'4`, "end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestState(Limits{})
			k := &sink{s: s}
			if err := s.rtfText([]byte(tc.in), k); err != nil {
				t.Fatalf("rtfText: %v", err)
			}
			if got := strings.TrimSpace(k.String()); got != tc.want {
				t.Errorf("rtfText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// body runs Extract on a one-part message and returns the body unit's text.
func bodyText(t *testing.T, header string, body []byte) string {
	t.Helper()
	msg := append([]byte("Subject: x\r\nMIME-Version: 1.0\r\n"+header+"\r\n\r\n"), body...)
	res, err := Extract(context.Background(), bytes.NewReader(msg), testLimits())
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	for _, u := range res.Units {
		if u.Kind != "header-subject" {
			return strings.TrimSpace(u.Text)
		}
	}
	t.Fatalf("no body unit in %+v", res)
	return ""
}

func TestCharsets(t *testing.T) {
	tests := []struct {
		name   string
		header string
		body   []byte
		want   string
	}{
		{"ISO-8859-1", "Content-Type: text/plain; charset=ISO-8859-1", []byte("caf\xe9 na\xefve"), "café naïve"},
		{"latin1 alias", "Content-Type: text/plain; charset=latin1", []byte("se\xf1or"), "señor"},
		{"windows-1252", "Content-Type: text/plain; charset=windows-1252", []byte("\x93quoted\x94 \x80 5 \x96 dash"), "\u201cquoted\u201d € 5 \u2013 dash"},
		{"UTF-16 LE with BOM", "Content-Type: text/plain; charset=utf-16", []byte("\xff\xfeZ\x00o\x00\xeb\x00"), "Zoë"},
		{"UTF-16 BE with BOM", "Content-Type: text/plain; charset=UTF-16", []byte("\xfe\xff\x00Z\x00o\x00\xeb"), "Zoë"},
		{"UTF-16 BOM without charset", "Content-Type: application/octet-stream\r\nContent-Disposition: attachment", []byte("\xff\xfeZ\x00o\x00\xeb\x00"), "Zoë"},
		{"UTF-8 BOM dropped", "Content-Type: text/plain; charset=utf-8", []byte("\xef\xbb\xbfBOM"), "BOM"},
		{"unlabelled 8-bit read as 1252", "Content-Type: text/plain", []byte("caf\xe9 \x80"), "café €"},
		{"unknown charset keeps ASCII", "Content-Type: text/plain; charset=x-no-such", []byte("plain ascii"), "plain ascii"},
		{"ISO-8859-15", "Content-Type: text/plain; charset=iso-8859-15", []byte("\xa4 5"), "€ 5"},
		{"quoted-printable", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable", []byte("caf=C3=A9 soft=\r\nbreak"), "café softbreak"},
		{"base64", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64", []byte("Y2Fmw6k=\r\n"), "café"},
		{"no content type", "X-Nothing: 1", []byte("default text/plain"), "default text/plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := bodyText(t, tc.header, tc.body); got != tc.want {
				t.Errorf("body = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSubjectDecoded(t *testing.T) {
	msg := "Subject: =?UTF-8?Q?Discharge_summary_for_Zo=C3=AB?=\r\n\r\nbody\r\n"
	res, err := Extract(context.Background(), strings.NewReader(msg), testLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Units) == 0 || res.Units[0].Kind != "header-subject" || res.Units[0].Text != "Discharge summary for Zoë" {
		t.Errorf("first unit = %+v, want the decoded subject", res.Units)
	}
}

func TestUnreadableMessage(t *testing.T) {
	// A header line without a colon cannot be read.
	_, err := Extract(context.Background(), strings.NewReader("this is not a header\r\n\r\nbody"), testLimits())
	if err == nil {
		t.Fatal("Extract of a message without a header succeeded, want an error")
	}
}

func TestLZFuSpecExample(t *testing.T) {
	// The example of MS-OXRTFCP section 4.1: compressed RTF of a short document.
	comp, _ := hex.DecodeString("2d0000002b0000004c5a4675f1c5c7a703000a0072637067313235423" +
		"20af32068656c090020627705b06c647d0a800fa0")
	s := newTestState(Limits{})
	out, err := s.lzfu(comp)
	if err != nil {
		t.Fatalf("lzfu: %v", err)
	}
	if want := "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"; string(out) != want {
		t.Errorf("lzfu = %q, want %q", out, want)
	}
}

func TestPanicRecoveredPerPart(t *testing.T) {
	msg, err := readFixture("attachments.eml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := extract(context.Background(), bytes.NewReader(msg), testLimits(), func(kind string) {
		if kind == "pdf" {
			panic("injected failure")
		}
	})
	if err != nil {
		t.Fatalf("extract: %v", err)
	}
	pdfSkipped := 0
	for _, s := range res.Skipped {
		if s.Kind == "pdf" && s.Reason == ReasonUnscannable {
			pdfSkipped++
		}
	}
	if pdfSkipped != 2 {
		t.Errorf("skipped PDFs = %d, want 2 (both PDF attachments): %+v", pdfSkipped, res.Skipped)
	}
	kinds := map[string]bool{}
	for _, u := range res.Units {
		kinds[u.Kind] = true
	}
	for _, k := range []string{"docx", "xlsx", "pptx", "odt", "rtf", "csv"} {
		if !kinds[k] {
			t.Errorf("no %s unit after a PDF extractor panicked: extraction did not go on", k)
		}
	}
	if kinds["pdf"] {
		t.Error("a pdf unit was kept from a panicking extractor")
	}
}

// attachMessage wraps one attachment in a message.
func attachMessage(mt string, data []byte) []byte {
	return []byte(email("budget", multipart("mixed", "b", mimePart{header: "Content-Type: text/plain", body: "body\r\n"}, attachment(mt, "f", data))))
}

func hasSkipped(res *Result, reason string) bool {
	for _, s := range res.Skipped {
		if s.Reason == reason {
			return true
		}
	}
	return false
}

func TestBudgets(t *testing.T) {
	small := Limits{MaxBytes: 1 << 20, MaxDecompressed: 4 << 20, MaxDepth: 8, MaxParts: 500, Timeout: time.Minute}

	nestedZip := []byte("bottom")
	for i := 0; i < 50; i++ {
		nestedZip = buildZip(t, zipEntry{name: fmt.Sprintf("level%d.zip", i), data: nestedZip})
	}

	var manyParts []mimePart
	for i := 0; i < 10000; i++ {
		manyParts = append(manyParts, mimePart{header: "Content-Type: text/plain", body: fmt.Sprintf("part %d\r\n", i)})
	}

	deepMessage := "Content-Type: text/plain\r\n\r\ninnermost\r\n"
	for i := 0; i < 100; i++ {
		deepMessage = fmt.Sprintf("Subject: level %d\r\nContent-Type: message/rfc822\r\n\r\n%s", i, deepMessage)
	}
	deepMultipart := mimePart{header: "Content-Type: text/plain", body: "innermost\r\n"}
	for i := 0; i < 100; i++ {
		deepMultipart = multipart("mixed", fmt.Sprintf("b%d", i), deepMultipart)
	}

	var sst bytes.Buffer
	sst.WriteString(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	for i := 0; i < 200000; i++ {
		fmt.Fprintf(&sst, "<si><t>shared string number %d with some padding text</t></si>", i)
	}
	sst.WriteString("</sst>")
	hugeXLSX := buildZip(t,
		zipEntry{name: "xl/workbook.xml", data: []byte("<workbook/>")},
		zipEntry{name: "xl/sharedStrings.xml", data: sst.Bytes()},
		zipEntry{name: "xl/worksheets/sheet1.xml", data: []byte(`<worksheet><sheetData><row><c t="s"><v>0</v></c></row></sheetData></worksheet>`)},
	)

	// A PDF whose stream claims 1 GB but holds a short content stream.
	lyingPDF := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] >> endobj\n" +
		"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n4 0 obj << /Length 1073741824 >>\nstream\nBT (declared huge) Tj ET\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	// A PDF whose stream inflates to 1 GiB of zeros.
	bomb := repeatedDeflate(1 << 10)
	inflatingPDF := append([]byte(fmt.Sprintf("%%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] >> endobj\n"+
		"3 0 obj << /Type /Page /Parent 2 0 R /Contents [5 0 R 4 0 R] >> endobj\n5 0 obj << /Length 22 >>\nstream\nBT (before bomb) Tj ET\nendstream\nendobj\n"+
		"4 0 obj << /Length %d /Filter /FlateDecode /DecodeParms << >> >>\nstream\n", len(bomb)+2)), append([]byte{0x78, 0x01}, bomb...)...)
	inflatingPDF = append(inflatingPDF, "\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"...)

	tests := []struct {
		name      string
		msg       []byte
		lim       Limits
		truncated bool
		skipped   string // a reason expected among the skipped, or ""
		check     func(t *testing.T, res *Result)
	}{
		{name: "zip bomb of 10 GiB", msg: attachMessage("application/zip", zipBomb(t, 10)), lim: Limits{Timeout: time.Minute},
			truncated: true, skipped: ReasonUnscannable},
		{name: "zips nested 50 deep", msg: attachMessage("application/zip", nestedZip), lim: small, truncated: true, skipped: ReasonUnscannable},
		{name: "10,000 parts", msg: []byte(email("many", multipart("mixed", "many", manyParts...))), lim: small, truncated: true, skipped: ReasonUnscannable,
			check: func(t *testing.T, res *Result) {
				if len(res.Units) > small.MaxParts+1 {
					t.Errorf("%d units from a message cut at %d parts", len(res.Units), small.MaxParts)
				}
			}},
		{name: "message/rfc822 nested 100 deep", msg: []byte(deepMessage), lim: small, truncated: true, skipped: ReasonUnscannable,
			check: func(t *testing.T, res *Result) {
				for _, u := range res.Units {
					if strings.Contains(u.Text, "innermost") {
						t.Errorf("text below the depth limit extracted: %q", u.Where)
					}
				}
			}},
		{name: "multipart nested 100 deep", msg: []byte(email("deep", deepMultipart)), lim: small, truncated: true, skipped: ReasonUnscannable},
		{name: "XLSX with a huge sharedStrings", msg: attachMessage("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", hugeXLSX),
			lim: small, truncated: true, skipped: ReasonUnscannable},
		{name: "PDF stream declaring 1 GB", msg: attachMessage("application/pdf", lyingPDF), lim: small,
			check: func(t *testing.T, res *Result) {
				if !unitContains(res, "declared huge") {
					t.Errorf("text of a stream with a lying /Length lost: %+v", res.Units)
				}
			}},
		{name: "PDF stream inflating to 1 GiB", msg: attachMessage("application/pdf", inflatingPDF), lim: small, truncated: true, skipped: ReasonUnscannable,
			check: func(t *testing.T, res *Result) {
				if !unitContains(res, "before bomb") {
					t.Errorf("text before the bomb lost: %+v", res.Units)
				}
			}},
		{name: "text over MaxBytes", msg: append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("word "), 1<<20)...), lim: small,
			truncated: true, skipped: ReasonUnscannable,
			check: func(t *testing.T, res *Result) {
				total := 0
				for _, u := range res.Units {
					total += len(u.Text)
				}
				if int64(total) > small.MaxBytes {
					t.Errorf("%d bytes of text produced, over MaxBytes %d", total, small.MaxBytes)
				}
			}},
		{name: "part over MaxDecompressed", msg: attachMessage("text/plain", bytes.Repeat([]byte("x"), 5<<20)), lim: small,
			truncated: true, skipped: ReasonUnscannable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Extract(context.Background(), bytes.NewReader(tc.msg), tc.lim)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if res.Truncated != tc.truncated {
				t.Errorf("Truncated = %v, want %v", res.Truncated, tc.truncated)
			}
			if tc.skipped != "" && !hasSkipped(res, tc.skipped) {
				t.Errorf("nothing skipped as %q: %+v", tc.skipped, res.Skipped)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func unitContains(res *Result, s string) bool {
	for _, u := range res.Units {
		if strings.Contains(u.Text, s) {
			return true
		}
	}
	return false
}

func TestContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	msg, err := readFixture("attachments.eml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Extract(ctx, bytes.NewReader(msg), testLimits())
	if err != nil {
		t.Fatalf("Extract with a done context: %v, want a truncated result", err)
	}
	if !res.Truncated {
		t.Error("Truncated = false with a done context")
	}
}

func TestZipEntryCountBounded(t *testing.T) {
	var entries []zipEntry
	for i := 0; i < 2000; i++ {
		entries = append(entries, zipEntry{name: fmt.Sprintf("f%d.txt", i), data: []byte("x")})
	}
	lim := testLimits()
	lim.MaxParts = 100
	res, err := Extract(context.Background(), bytes.NewReader(attachMessage("application/zip", buildZip(t, entries...))), lim)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || len(res.Units) > 102 {
		t.Errorf("Truncated = %v with %d units from 2000 entries and MaxParts 100", res.Truncated, len(res.Units))
	}
}

func TestOverlappingZipEntries(t *testing.T) {
	// Many central directory entries pointing at the same compressed data
	// (the overlapping-file zip bomb): the shared inflation budget bounds
	// the total.
	one := buildZip(t, zipEntry{name: "a.txt", data: bytes.Repeat([]byte("A"), 3<<20)})
	zr, err := zip.NewReader(bytes.NewReader(one), int64(len(one)))
	if err != nil {
		t.Fatal(err)
	}
	f := zr.File[0]
	dataOff, err := f.DataOffset()
	if err != nil {
		t.Fatal(err)
	}
	raw := one[:dataOff+int64(f.CompressedSize64)]
	var cd bytes.Buffer
	const n = 100
	for i := 0; i < n; i++ {
		// A central directory header for the same local file at offset 0.
		h := []byte{0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0}
		cd.Write(h)
		cd.Write(le32(f.CRC32))
		cd.Write(le32(uint32(f.CompressedSize64)))
		cd.Write(le32(uint32(f.UncompressedSize64)))
		cd.Write([]byte{5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // name length, then zeros up to the local header offset 0
		cd.WriteString("a.txt")
	}
	end := []byte{0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, n, 0, n, 0}
	end = append(end, le32(uint32(cd.Len()))...)
	end = append(end, le32(uint32(len(raw)))...)
	end = append(end, 0, 0)
	bombZip := append(append(append([]byte{}, raw...), cd.Bytes()...), end...)
	lim := Limits{MaxBytes: 64 << 20, MaxDecompressed: 16 << 20, Timeout: time.Minute}
	res, err := Extract(context.Background(), bytes.NewReader(attachMessage("application/zip", bombZip)), lim)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated {
		t.Error("Truncated = false for 100 overlapping 3 MiB entries under a 16 MiB budget")
	}
	total := 0
	for _, u := range res.Units {
		total += len(u.Text)
	}
	if total > 16<<20 {
		t.Errorf("%d bytes extracted, over the 16 MiB decompression budget", total)
	}
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

// testLimits are the default limits with a deadline that a loaded test
// machine cannot hit, so that results do not depend on load.
func testLimits() Limits {
	lim := DefaultLimits()
	lim.Timeout = time.Minute
	return lim
}

func TestDefaultLimits(t *testing.T) {
	want := Limits{MaxBytes: 8 << 20, MaxDecompressed: 32 << 20, MaxPartBytes: 8 << 20, MaxDepth: 8, MaxParts: 500, Timeout: 2 * time.Second}
	if got := DefaultLimits(); got != want {
		t.Errorf("DefaultLimits() = %+v, want %+v", got, want)
	}
	if got := (Limits{}).withDefaults(); got != want {
		t.Errorf("zero Limits get %+v, want the defaults %+v", got, want)
	}
}

// TestLargePartIsCutShortAndReported: a part over MaxPartBytes is read only
// that far (memory stays bounded) and is reported unscannable, so that
// policy can seal it rather than pass what it never read.
func TestLargePartIsCutShortAndReported(t *testing.T) {
	lim := testLimits()
	lim.MaxPartBytes = 64 << 10
	body := strings.Repeat("plain office text line\r\n", 20000) // ~480 KB
	msg := "Subject: big\r\nContent-Type: text/plain\r\n\r\n" + body
	res, err := Extract(context.Background(), strings.NewReader(msg), lim)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated {
		t.Error("a part over MaxPartBytes did not set Truncated")
	}
	var text int
	for _, u := range res.Units {
		text += len(u.Text)
	}
	if text > int(lim.MaxPartBytes)+1024 {
		t.Errorf("extracted %d bytes of text from a part capped at %d", text, lim.MaxPartBytes)
	}
	if len(res.Skipped) == 0 || res.Skipped[0].Reason != ReasonUnscannable {
		t.Errorf("the cut part is not reported unscannable: %+v", res.Skipped)
	}
}
