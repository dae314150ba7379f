package extract

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzLimits keeps each fuzz input cheap.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxDecompressed: 4 << 20, MaxDepth: 6, MaxParts: 100, Timeout: 2 * time.Second}

// checkSink fails if a sink holds invalid UTF-8 or more than the budget.
func checkSink(t *testing.T, k *sink) {
	t.Helper()
	text := k.String()
	if !utf8.ValidString(text) {
		t.Errorf("invalid UTF-8 in extracted text")
	}
	if int64(len(k.b.String())) > k.s.lim.MaxBytes {
		t.Errorf("%d bytes written, over MaxBytes %d", k.b.Len(), k.s.lim.MaxBytes)
	}
}

func FuzzExtract(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		if b, err := readFixture(filepath.Base(name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: y\r\n\r\nz\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		res, err := Extract(context.Background(), bytes.NewReader(msg), fuzzLimits)
		if err != nil {
			return // an unreadable header
		}
		total := int64(0)
		for _, u := range res.Units {
			total += int64(len(u.Text))
			if !utf8.ValidString(u.Text) {
				t.Errorf("unit %q: invalid UTF-8", u.Where)
			}
			if len(u.Raw) > rawPrefix {
				t.Errorf("unit %q: Raw of %d bytes", u.Where, len(u.Raw))
			}
		}
		if total > fuzzLimits.MaxBytes {
			t.Errorf("%d bytes of text, over MaxBytes", total)
		}
		for _, s := range res.Skipped {
			if s.Reason != ReasonUnscannable && s.Reason != ReasonEncrypted {
				t.Errorf("skipped %q with reason %q", s.Where, s.Reason)
			}
		}
	})
}

func FuzzPDF(f *testing.F) {
	f.Add(buildPDF(f, pdfOpts{}, "Discharge summary", "NHS No 943 476 5919"))
	f.Add(buildPDF(f, pdfOpts{compress: true, cid: true, form: "footer"}, "Clinic letter"))
	f.Add(buildPDF(f, pdfOpts{encrypted: true}, "hidden"))
	f.Add([]byte("%PDF-1.4\n1 0 obj << /Type /ObjStm /N 2 /First 8 /Length 30 >>\nstream\n2 0 3 9 << /A [1 2] >> (x)\nendstream endobj"))
	f.Add([]byte("%PDF-1.4\n4 0 obj << /Length 5 >>\nstream\nBT [(a) -300 (b)] TJ (c) ' ET BI /W 1 ID \x00\x01 EI\nendstream\nendobj\n" + strings.Repeat("[", 100)))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newTestState(fuzzLimits)
		k := &sink{s: s}
		_ = s.pdfText(data, k)
		checkSink(t, k)
	})
}

func FuzzRTF(f *testing.F) {
	f.Add([]byte(`{\rtf1\ansi\ansicpg1252{\fonttbl{\f0 Arial;}}\pard Discharge\par caf\'e9 \u8364? {\*\x y}\bin3 abc}`))
	f.Add([]byte(`{\rtf1\uc2 \u-3913??\htmlrtf x\htmlrtf0 \'zz\` + "\n}"))
	f.Add([]byte(strings.Repeat("{", 600) + `\rtf1 deep` + strings.Repeat("}", 600)))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newTestState(fuzzLimits)
		k := &sink{s: s}
		_ = s.rtfText(data, k)
		checkSink(t, k)
	})
}

func FuzzOOXML(f *testing.F) {
	f.Add(buildDOCX(f, "header", "Dear Dr Patel,", "body"))
	f.Add(buildXLSX(f, [][2]string{{"NHS number", "9434765919"}}))
	f.Add(buildPPTX(f, "slide one", "slide two"))
	f.Add(buildODT(f, "odt  text"))
	f.Add(buildZip(f, zipEntry{name: "a.txt", data: []byte("x")}, zipEntry{name: "b.txt", data: []byte("y"), encrypted: true}))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newTestState(fuzzLimits)
		k := &sink{s: s}
		_, _ = s.zipFile(item{where: "fuzz", kind: "zip", data: data}, k)
		checkSink(t, k)
	})
}

func FuzzHTML(f *testing.F) {
	f.Add([]byte("<html><head><title>t</title><style>x</style></head><body><p>a&amp;b</p><table><tr><td>1</td></tr></table><script>s</script></body></html>"))
	f.Add([]byte("<p>unclosed <b>tags &nbsp; &#x1F600; &bogus; <br/>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newTestState(fuzzLimits)
		k := &sink{s: s}
		_ = s.htmlText(bytes.NewReader(data), k)
		checkSink(t, k)
	})
}

func FuzzTNEF(f *testing.F) {
	f.Add(buildTNEF(`{\rtf1 body\par}`, "a.txt", []byte("attachment")))
	f.Add(lzfuLiterals([]byte(`{\rtf1 x}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newTestState(fuzzLimits)
		_ = s.tnefFile(item{where: "fuzz", kind: "tnef", data: data})
		_, _ = s.lzfu(data)
		for _, u := range s.res.Units {
			if !utf8.ValidString(u.Text) {
				t.Errorf("invalid UTF-8 in %q", u.Where)
			}
		}
	})
}

func FuzzCMS(f *testing.F) {
	f.Add(buildSignedData([]byte("Content-Type: text/plain\r\n\r\nsigned")))
	f.Add(buildEnvelopedData())
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0x00, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		content, err := cmsSignedContent(data)
		if err == nil && len(content) > len(data) {
			t.Errorf("content of %d bytes from %d bytes of CMS", len(content), len(data))
		}
	})
}

// BenchmarkExtract measures a 20 KB text message with a 100 KB PDF
// attachment; bytes are those of the whole message.
func BenchmarkExtract(b *testing.B) {
	var body strings.Builder
	for body.Len() < 20<<10 {
		body.WriteString("Dear Dr Jones, thank you for seeing Mrs Smith in clinic today regarding her type 2 diabetes.\r\n")
	}
	var lines []string
	size := 0
	for size < 95<<10 {
		line := "Discharge summary: HbA1c 48 mmol/mol, eGFR 52, sertraline 50mg mane, review in six weeks."
		lines = append(lines, line)
		size += len(line) + 12
	}
	pdf := buildPDF(b, pdfOpts{}, lines...)
	msg := []byte(email("Clinic letter", multipart("mixed", "bench",
		mimePart{header: "Content-Type: text/plain; charset=utf-8", body: body.String()},
		attachment("application/pdf", "letter.pdf", pdf),
	)))
	b.Logf("message %d bytes, PDF %d bytes", len(msg), len(pdf))
	lim := DefaultLimits()
	lim.Timeout = time.Minute // measure throughput, not the deadline on a loaded machine
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Extract(context.Background(), bytes.NewReader(msg), lim)
		if err != nil || res.Truncated || len(res.Units) != 3 {
			b.Fatalf("Extract: %v, %+v", err, res)
		}
	}
}
