package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"github.com/sealpost/sealpost/policy"
)

// TestPDFFile proves the attachment is a well-formed PDF of exactly the size
// asked for: header, every cross-reference entry pointing at its object,
// startxref pointing at the table, and the end-of-file marker.
func TestPDFFile(t *testing.T) {
	for _, size := range []int{pdfBytes, 16 << 10, 1 << 20} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			pdf, err := pdfFile(size, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(pdf) != size {
				t.Fatalf("size %d, want %d", len(pdf), size)
			}
			if !bytes.HasPrefix(pdf, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(pdf, []byte("%%EOF\n")) {
				t.Fatalf("missing PDF header or trailer: %q … %q", pdf[:12], pdf[len(pdf)-8:])
			}
			m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(pdf)
			if m == nil {
				t.Fatal("no startxref")
			}
			xref, _ := strconv.Atoi(string(m[1]))
			if !bytes.HasPrefix(pdf[xref:], []byte("xref\n0 ")) {
				t.Fatalf("startxref %d does not point at the xref table", xref)
			}
			sc := bufio.NewScanner(bytes.NewReader(pdf[xref:]))
			sc.Scan() // xref
			sc.Scan() // 0 N
			n, _ := strconv.Atoi(strings.Fields(sc.Text())[1])
			sc.Scan() // the free entry
			for obj := 1; obj < n; obj++ {
				sc.Scan()
				off, err := strconv.Atoi(strings.Fields(sc.Text())[0])
				if err != nil {
					t.Fatalf("xref entry %d: %q", obj, sc.Text())
				}
				if want := strconv.Itoa(obj) + " 0 obj\n"; !bytes.HasPrefix(pdf[off:], []byte(want)) {
					t.Errorf("xref entry %d points at %q", obj, pdf[off:off+12])
				}
			}
			if n-1 != 8 {
				t.Errorf("%d objects, want 8 (catalog, pages, font, 2 pages with contents, padding)", n-1)
			}
			again, _ := pdfFile(size, 1)
			if !bytes.Equal(pdf, again) {
				t.Error("the same size and seed gave different bytes")
			}
		})
	}
}

// TestTextPart proves the text part has the exact size and is valid SMTP
// text: CRLF line endings, short lines, no line that needs dot-stuffing.
func TestTextPart(t *testing.T) {
	for _, size := range []int{100, textBytes, 3500} {
		b := textPart(size)
		if len(b) != size {
			t.Errorf("textPart(%d) has %d bytes", size, len(b))
		}
		if !bytes.HasSuffix(b, []byte("\r\n")) {
			t.Errorf("textPart(%d) does not end with CRLF", size)
		}
		for i, l := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
			if len(l) > 78 || strings.HasPrefix(l, ".") || strings.ContainsAny(l, "\r\n()\\") {
				t.Errorf("textPart(%d) line %d is not plain: %q", size, i, l)
			}
		}
	}
}

// TestTemplate parses a benchmark message with go-message and checks that
// it is what the report says: multipart/mixed with a 20 KiB text part and
// the 100 KiB PDF, about 160 KB in all.
func TestTemplate(t *testing.T) {
	tmpl, err := newTemplate(textBytes, pdfBytes)
	if err != nil {
		t.Fatal(err)
	}
	raw := append(tmpl.header("t-1", time.Unix(1700000000, 0)), tmpl.body...)
	if size := tmpl.size(); size < 155_000 || size > 165_000 {
		t.Errorf("message is %d bytes, want about 160 KB", size)
	}
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := ent.Header.Get("Message-Id"); got != "<t-1@bench.sealpost.localhost>" {
		t.Errorf("Message-ID %q", got)
	}
	mr := ent.MultipartReader()
	if mr == nil {
		t.Fatal("not multipart")
	}
	wantPDF, _ := pdfFile(pdfBytes, 1)
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := p.Header.ContentType()
		types = append(types, ct)
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch ct {
		case "text/plain":
			if len(body) != textBytes {
				t.Errorf("text part is %d bytes, want %d", len(body), textBytes)
			}
		case "application/pdf":
			if !bytes.Equal(body, wantPDF) {
				t.Errorf("attachment decodes to %d bytes that are not the PDF", len(body))
			}
		}
	}
	if strings.Join(types, ",") != "text/plain,application/pdf" {
		t.Errorf("parts %v", types)
	}
}

// TestTemplateOfSize proves the large message lands within a line of the
// size asked for.
func TestTemplateOfSize(t *testing.T) {
	tmpl, err := newTemplateOfSize(50_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if d := tmpl.size() - 50_000_000; d < -4096 || d > 0 {
		t.Errorf("size %d, want just under 50,000,000", tmpl.size())
	}
}

// TestPolicies proves the premise of setups (a) and (b): the derived policy
// seals a benchmark message and the shipped default passes it.
func TestPolicies(t *testing.T) {
	tmpl, err := newTemplate(textBytes, pdfBytes)
	if err != nil {
		t.Fatal(err)
	}
	raw := append(tmpl.header("t-2", time.Unix(1700000000, 0)), tmpl.body...)
	hdr, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	sealYAML, err := sealEverythingPolicy()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		yaml []byte
		want policy.Action
	}{
		{"seal everything", sealYAML, policy.ActionSeal},
		{"shipped default", policy.DefaultYAML(), policy.ActionPass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := policy.Parse(tc.yaml)
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.Decide(context.Background(), &policy.Input{
				Sender: benchFrom, Recipients: []string{benchTo}, Header: hdr, Size: int64(len(raw)),
				Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Outcomes[0].Action; got != tc.want {
				t.Errorf("action %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var out []time.Duration
		for _, x := range xs {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 … 1, unsorted on purpose
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(3, 1, 2), 50, 2 * time.Millisecond},
		{"median of even is the lower", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
	} {
		if got := percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("%s: percentile(%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 5},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestVaultKind(t *testing.T) {
	for _, tc := range []struct {
		method, path, want string
	}{
		{"GET", "/v1/sealpost/data/directory/facilities@example.net", vaultDirectory},
		{"GET", "/v1/sealpost/data/config/mac", vaultDirectory},
		{"PUT", "/v1/transit/sign/sealpost-audit", vaultTransit},
		{"GET", "/v1/transit/keys/sealpost-wrap", vaultTransit},
		{"PUT", "/v1/transit/encrypt/sealpost-wrap", vaultEncrypt},
		{"POST", "/v1/transit/encrypt/sealpost-wrap", vaultEncrypt},
		{"GET", "/v1/sys/health", vaultHealth},
		{"GET", "/v1/auth/token/lookup-self", vaultHealth},
		{"POST", "/v1/sealpost/data/directory/x", vaultOther},
	} {
		r, err := http.NewRequest(tc.method, "http://vault"+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := vaultKind(r); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
