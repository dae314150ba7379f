package portal

import (
	"bytes"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadReplyForm feeds arbitrary multipart bodies to the reply form
// reader: it must never panic, never return more file bytes than it was
// given, and only ever return UTF-8 text.
func FuzzReadReplyForm(f *testing.F) {
	seed := func(build func(*multipart.Writer)) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.SetBoundary("BOUNDARY")
		build(mw)
		mw.Close()
		f.Add(b.Bytes())
	}
	seed(func(mw *multipart.Writer) { mw.WriteField("text", "Thank you") })
	seed(func(mw *multipart.Writer) {
		mw.WriteField("text", "see attached")
		w, _ := mw.CreateFormFile("files", "scan é.pdf")
		w.Write([]byte("%PDF-1.4"))
		w, _ = mw.CreateFormFile("files", "")
		w.Write(nil)
		mw.WriteField("other", "ignored")
	})
	f.Add([]byte("--BOUNDARY\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\xff\xfe\r\n--BOUNDARY--\r\n"))
	f.Add([]byte("--BOUNDARY\r\nContent-Disposition: form-data; name=files; filename*=UTF-8''%E2%82%AC.txt\r\n" +
		"Content-Type: text/plain; charset=\"\r\n\r\nx\r\n--BOUNDARY--\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequest(http.MethodPost, "https://portal.example.com/m/x/reply", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "multipart/form-data; boundary=BOUNDARY")
		text, atts, err := readReplyForm(req)
		if err != nil {
			return
		}
		if !utf8.ValidString(text) {
			t.Errorf("text is not UTF-8: %q", text)
		}
		total := len(text)
		for _, a := range atts {
			total += len(a.Data)
			if a.ContentType == "" {
				t.Errorf("attachment %q has no content type", a.Name)
			}
		}
		if total > len(body) {
			t.Errorf("read %d bytes of text and files from a %d-byte body", total, len(body))
		}
		if len(atts) > maxReplyFiles {
			t.Errorf("%d files, limit %d", len(atts), maxReplyFiles)
		}
	})
}

// FuzzContentDisposition checks that every file name gives a header that
// parses back, as an attachment, to the same name, with an ASCII-only
// fallback.
func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{"report.pdf", "Résultats sanguins.pdf", `a"b\c;d=e`, "東京.png", "50% off", "\x00\r\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		cd := contentDisposition(name)
		for i := 0; i < len(cd); i++ {
			if cd[i] < 0x20 || cd[i] > 0x7e {
				t.Fatalf("header %q has a byte 0x%02x that is not printable ASCII", cd, cd[i])
			}
		}
		disp, params, err := mime.ParseMediaType(cd)
		if err != nil || disp != "attachment" {
			t.Fatalf("%q parses as %q, %v", cd, disp, err)
		}
		want := name
		if want == "" {
			want = "attachment"
		}
		if utf8.ValidString(want) && params["filename"] != want {
			t.Errorf("filename*= gives %q, want %q", params["filename"], want)
		}
		_, fallback, _ := strings.Cut(cd, `filename="`)
		fallback, _, _ = strings.Cut(fallback, `"`)
		if strings.ContainsAny(fallback, "\\%") {
			t.Errorf("fallback %q has a quoting character", fallback)
		}
	})
}
