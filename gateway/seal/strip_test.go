package seal

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

func TestIsStrippedHeader(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"Bcc", true},
		{"bcc", true},
		{"BCC", true},
		{"Bcc ", true},
		{"Bcc\t", true},
		{"Resent-Bcc", true},
		{"resent-bcc", true},
		{"X-Sealpost-Recipient-Phone", true},
		{"x-sealpost-encrypt", true},
		{"X-SEALPOST-ID", true},
		{"X-Sealpost-", true},
		{"X-Sealpost", false},
		{"X-Sealpostal", false},
		{"X-Sealpos-Encrypt", false},
		{"Bccx", false},
		{"Resent-To", false},
		{"Cc", false},
		{" Bcc", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsStrippedHeader(tt.name); got != tt.want {
			t.Errorf("IsStrippedHeader(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestStripHeaders(t *testing.T) {
	longKept := "X-Long: " + strings.Repeat("k", 50000) + "\r\n"
	longBcc := "Bcc: " + strings.Repeat("a@b.example, ", 3000) + "\r\n" + strings.Repeat("\t"+strings.Repeat("c", 40000)+"\r\n", 2)
	tests := []struct {
		name, in, want string
	}{
		{
			name: "no stripped fields",
			in:   "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nbody\r\n",
			want: "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nbody\r\n",
		},
		{
			name: "bcc in the middle",
			in:   "From: a@example.org\r\nBcc: secret@example.com\r\nTo: b@example.net\r\n\r\nbody\r\n",
			want: "From: a@example.org\r\nTo: b@example.net\r\n\r\nbody\r\n",
		},
		{
			name: "folded bcc",
			in:   "From: a\r\nBcc: one@example.com,\r\n two@example.com,\r\n\tthree@example.com\r\nTo: b\r\n\r\nbody",
			want: "From: a\r\nTo: b\r\n\r\nbody",
		},
		{
			name: "folding of kept fields is kept",
			in:   "Subject: a\r\n  folded\r\n\tsubject\r\nBcc: x\r\n y\r\nReferences: <1@x>\r\n <2@x>\r\n\r\n",
			want: "Subject: a\r\n  folded\r\n\tsubject\r\nReferences: <1@x>\r\n <2@x>\r\n\r\n",
		},
		{
			name: "LF only",
			in:   "From: a\nBcc: s@example.com\n  more@example.com\nTo: b\n\nline 1\nBcc: in body\n",
			want: "From: a\nTo: b\n\nline 1\nBcc: in body\n",
		},
		{
			name: "mixed line endings kept as they are",
			in:   "From: a\nBcc: s\r\nTo: b\r\n\nbody\r\nmore\n",
			want: "From: a\nTo: b\r\n\nbody\r\nmore\n",
		},
		{
			name: "bcc first",
			in:   "Bcc: s\r\nFrom: a\r\n\r\nbody",
			want: "From: a\r\n\r\nbody",
		},
		{
			name: "bcc at the end of the header",
			in:   "From: a\r\nTo: b\r\nBcc: s\r\n\tt\r\n\r\nbody",
			want: "From: a\r\nTo: b\r\n\r\nbody",
		},
		{
			name: "no body",
			in:   "From: a\r\nBcc: s\r\n\r\n",
			want: "From: a\r\n\r\n",
		},
		{
			name: "only stripped fields",
			in:   "Bcc: s\r\nX-Sealpost-Encrypt: yes\r\n\r\nbody",
			want: "\r\nbody",
		},
		{
			name: "empty header",
			in:   "\r\nbody",
			want: "\r\nbody",
		},
		{
			name: "empty bcc",
			in:   "From: a\r\nBcc:\r\nTo: b\r\n\r\n",
			want: "From: a\r\nTo: b\r\n\r\n",
		},
		{
			name: "control headers in mixed case",
			in:   "From: a\r\nx-sealpost-recipient-phone: +44 7700 900123\r\nX-SEALPOST-ENCRYPT: yes\r\nX-Sealpost-Id: abc; v=1\r\nX-SealPost-Policy: seal\r\n folded\r\nSubject: s\r\n\r\nb",
			want: "From: a\r\nSubject: s\r\n\r\nb",
		},
		{
			name: "resent-bcc",
			in:   "Resent-From: r\r\nResent-Bcc: hidden\r\nFrom: a\r\n\r\nb",
			want: "Resent-From: r\r\nFrom: a\r\n\r\nb",
		},
		{
			name: "space before colon",
			in:   "From: a\r\nBcc : hidden\r\nBCC\t: hidden2\r\n\r\nb",
			want: "From: a\r\n\r\nb",
		},
		{
			name: "lookalike names kept",
			in:   "Bccx: keep\r\nX-Sealpost: keep\r\nX-Sealpostal: keep\r\nX-Bcc: keep\r\n\r\nb",
			want: "Bccx: keep\r\nX-Sealpost: keep\r\nX-Sealpostal: keep\r\nX-Bcc: keep\r\n\r\nb",
		},
		{
			name: "whitespace-only continuation belongs to the bcc",
			in:   "From: a\r\nBcc: s\r\n \r\n\tt\r\nTo: b\r\n\r\nb",
			want: "From: a\r\nTo: b\r\n\r\nb",
		},
		{
			name: "continuation at the very start is kept",
			in:   " odd\r\nBcc: s\r\nFrom: a\r\n\r\nb",
			want: " odd\r\nFrom: a\r\n\r\nb",
		},
		{
			name: "lines without a colon are kept",
			in:   "From sender@example.org Mon Jan  1 00:00:00 2024\nBcc: s\nFrom: a\n\nb",
			want: "From sender@example.org Mon Jan  1 00:00:00 2024\nFrom: a\n\nb",
		},
		{
			name: "bcc in a MIME part header is body and kept",
			in:   "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nBcc: part\r\n\r\npart body\r\n--x--\r\n",
			want: "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nBcc: part\r\n\r\npart body\r\n--x--\r\n",
		},
		{
			name: "binary body copied exactly",
			in:   "From: a\r\nBcc: b\r\n\r\n\x00\xff\r\r\n\n\n\x80",
			want: "From: a\r\n\r\n\x00\xff\r\r\n\n\n\x80",
		},
		{
			name: "lines longer than the read buffer",
			in:   "From: a\r\n" + longBcc + longKept + "\r\nbody",
			want: "From: a\r\n" + longKept + "\r\nbody",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := StripHeaders(&out, strings.NewReader(tt.in)); err != nil {
				t.Fatalf("StripHeaders: %v", err)
			}
			if got := out.String(); got != tt.want {
				t.Errorf("StripHeaders output:\n%q\nwant:\n%q", trunc(got), trunc(tt.want))
			}
			if err := checkStripped(out.Bytes()); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestStripHeadersErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrNoBodySeparator},
		{"header without blank line", "From: a\r\nTo: b\r\n", ErrNoBodySeparator},
		{"last line without newline", "From: a\r\nTo: b", ErrNoBodySeparator},
		{"single bcc", "Bcc: s", ErrNoBodySeparator},
		{"header just over the limit", "X: " + strings.Repeat("a", MaxHeaderBytes) + "\r\n\r\nbody", ErrHeaderTooLarge},
		{"many fields over the limit", strings.Repeat("X: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", MaxHeaderBytes/32+1) + "\r\n", ErrHeaderTooLarge},
		{"huge folded bcc", "Bcc: a\r\n" + strings.Repeat(" a\r\n", MaxHeaderBytes/4) + "\r\n", ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := StripHeaders(io.Discard, strings.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Errorf("StripHeaders error = %v, want %v", err, tt.want)
			}
		})
	}

	// Exactly at the limit is accepted.
	field := "X: " + strings.Repeat("a", MaxHeaderBytes-3-2-2) + "\r\n"
	in := field + "\r\nbody"
	var out bytes.Buffer
	if err := StripHeaders(&out, strings.NewReader(in)); err != nil {
		t.Errorf("header of exactly MaxHeaderBytes: %v", err)
	} else if out.String() != in {
		t.Error("header of exactly MaxHeaderBytes was altered")
	}
}

// The body is streamed: a huge body after a small header passes whatever
// its size.
func TestStripHeadersLargeBody(t *testing.T) {
	body := bytes.Repeat([]byte("Bcc: not a header\r\n"), 200000)
	in := append([]byte("Bcc: x\r\nFrom: a\r\n\r\n"), body...)
	var out bytes.Buffer
	if err := StripHeaders(&out, bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if want := append([]byte("From: a\r\n\r\n"), body...); !bytes.Equal(out.Bytes(), want) {
		t.Error("large body was altered")
	}
}

// checkStripped parses the header of out with go-message and reports any
// stripped field that survived.
func checkStripped(out []byte) error {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(out)))
	if err != nil {
		return nil // go-message does not accept this header; nothing to check
	}
	for f := h.Fields(); f.Next(); {
		if IsStrippedHeader(f.Key()) {
			return errors.New("stripped field " + f.Key() + " survived")
		}
	}
	return nil
}

func trunc(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// stripReference is an independent, non-streaming model of StripHeaders:
// it splits the whole input into lines, groups them into fields and drops
// the stripped ones. ok is false where StripHeaders must fail.
func stripReference(in []byte) (out []byte, ok bool) {
	lines := bytes.SplitAfter(in, []byte("\n"))
	end := -1
	for i, l := range lines {
		if string(l) == "\n" || string(l) == "\r\n" {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, false
	}
	headerLen := 0
	for _, l := range lines[:end+1] {
		headerLen += len(l)
	}
	if headerLen > MaxHeaderBytes {
		return nil, false
	}
	var fields [][]byte
	for _, l := range lines[:end] {
		if len(fields) > 0 && (l[0] == ' ' || l[0] == '\t') {
			fields[len(fields)-1] = append(fields[len(fields)-1], l...)
			continue
		}
		fields = append(fields, append([]byte(nil), l...))
	}
	for _, f := range fields {
		first, _, _ := bytes.Cut(f, []byte("\n"))
		name, _, hasColon := bytes.Cut(first, []byte(":"))
		if hasColon && IsStrippedHeader(string(name)) {
			continue
		}
		out = append(out, f...)
	}
	out = append(out, lines[end]...) // the blank line
	return append(out, in[headerLen:]...), true
}

// FuzzStripHeaders checks that the output is the input with only whole
// header fields removed (against stripReference), that the body is
// untouched and that no stripped field survives where go-message can parse
// the result.
func FuzzStripHeaders(f *testing.F) {
	seeds := []string{
		"From: a\r\nBcc: b\r\n\r\nbody",
		"From: a\nBcc: b\n c\nTo: d\n\nbody",
		"Bcc: s\r\n \r\nX-Sealpost-Encrypt: y\r\n\tz\r\n\r\n",
		" lead\r\nbcc : x\r\n\r\n",
		"From: a\r\n",
		"",
		"\r\n",
		"\n\n\n",
		"X-SEALPOST-a: 1\r\nResent-bcc:2\r\n\r\n\x00\xff",
		"From: a\rBcc: b\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		err := StripHeaders(&out, bytes.NewReader(in))
		want, ok := stripReference(in)
		if !ok {
			if err == nil {
				t.Fatalf("StripHeaders accepted %q, the reference refuses it", in)
			}
			return
		}
		if err != nil {
			t.Fatalf("StripHeaders(%q): %v", in, err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("StripHeaders(%q) = %q, want %q", in, out.Bytes(), want)
		}
		if err := checkStripped(out.Bytes()); err != nil {
			t.Fatalf("StripHeaders(%q): %v", in, err)
		}
	})
}
