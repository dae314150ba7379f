package extract

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

var (
	generate = flag.Bool("generate", false, "rewrite the testdata/*.eml fixtures from their builders")
	update   = flag.Bool("update", false, "rewrite the testdata/*.golden files")
)

// fixtures builds each testdata/*.eml. File names in them deliberately
// hold a patient's name, which must never reach a Where.
func fixtures(t testing.TB) map[string]string {
	latin1 := func(s string) string {
		b, err := charmap.ISO8859_1.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	qp := func(s string) string {
		var b bytes.Buffer
		w := quotedprintable.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.String()
	}
	cp1252, _ := charmap.Windows1252.NewEncoder().String("<html><head><title>Clinic letter</title><style>p{color:red}</style><script>var nhs='000';</script></head>" +
		"<body><p>Dear Dr Jones,</p><p>Re: Mrs O&#8217;Neill &amp; her \u201cnew\u201d meds &ndash; sertraline&nbsp;50mg</p>" +
		"<table><tr><td>HbA1c</td><td>48 mmol/mol</td></tr></table><ul><li>first</li><li>second</li></ul>Regards<br>GP</body></html>")
	utf16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String("Referral: patient née Zoë Brontë, DOB 02/03/1961\r\n")
	rtf := `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Times New Roman;}}{\colortbl;\red255\green0\blue0;}{\*\generator Msftedit 5.41;}` +
		`\pard\f0\fs24 Discharge summary\par Patient: Ren\'e9e Dupont\tab Ward 7\par ` +
		`Diagnosis: \b type 2 diabetes\b0 . Unicode: \u8364? 5 and caf\u233\'e9 done.{\*\ignored hidden text}\par}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Name = "PatientSmith-notes.txt"
	zw.ModTime = fixedTime
	zw.Write([]byte("gzipped clinic note: eGFR 52\n"))
	zw.Close()

	inner := email("Fwd: results for Smith", multipart("mixed", "inner-b",
		mimePart{header: "Content-Type: text/plain; charset=utf-8", body: "Inner body: bloods attached.\r\n"},
		attachment("application/zip", "PatientSmith.zip", buildZip(t,
			zipEntry{name: "PatientSmith/results.csv", data: []byte("test,value\nHbA1c,48\n")},
			zipEntry{name: "PatientSmith/letter.docx", data: buildDOCX(t, "Hospital header", "Zipped letter text.")},
			zipEntry{name: "PatientSmith/more.zip", data: buildZip(t, zipEntry{name: "deeper.txt", data: []byte("deep text in a zip in a zip")})},
		)),
	))

	signedInner := "Content-Type: multipart/mixed; boundary=\"s\"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nSigned note: INR 2.5 on warfarin.\r\n" +
		"--s\r\nContent-Type: text/csv; name=\"Smith.csv\"\r\nContent-Disposition: attachment; filename=\"Smith.csv\"\r\n\r\nname,inr\r\nx,2.5\r\n--s--\r\n"

	return map[string]string{
		"plain-qp-latin1.eml": "From: a@example.org\r\nTo: b@example.net\r\nSubject: =?ISO-8859-1?Q?R=E9sum=E9_of_clinic?= visit\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			qp(latin1("Patient seen in clinic: naïve to metformin, café au lait spots noted.\nA long line that the quoted-printable encoder has to wrap because it is longer than seventy-six characters in all.\n")),
		"alternative-html-cp1252.eml": email("Letter", multipart("alternative", "alt-b",
			mimePart{header: "Content-Type: text/plain; charset=us-ascii", body: "Dear Dr Jones, plain version.\r\n"},
			mimePart{header: "Content-Type: text/html; charset=windows-1252\r\nContent-Transfer-Encoding: base64", body: b64([]byte(cp1252))},
		)),
		"utf16-bom.eml": email("=?UTF-8?B?UmVmZXJyYWwg4oCT?= urgent", mimePart{
			header: "Content-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64", body: b64([]byte(utf16)),
		}),
		"attachments.eml": email("Discharge summary attached", multipart("mixed", "mixed-b",
			mimePart{header: "Content-Type: text/plain; charset=utf-8", body: "Please see attached.\r\n"},
			attachment("application/pdf", "PatientSmith.pdf", buildPDF(t, pdfOpts{}, "Discharge summary", "Patient name: John (Jack) Smith", "Diagnosis: asthma")),
			attachment("application/octet-stream", "PatientSmith2.pdf", buildPDF(t, pdfOpts{compress: true, cid: true, form: "Page footer text", field: "Zoë Field-Value"}, "Clinic letter for Andrée", "sertraline 50mg mane")),
			attachment("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "PatientSmith.docx", buildDOCX(t, "NHS Trust letterhead", "Dear Dr Patel,", "Thank you for referring Mr Smith & his wife.")),
			attachment("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PatientSmith.xlsx", buildXLSX(t, [][2]string{{"NHS number", "9434765919"}, {"eGFR", "52"}})),
			attachment("application/vnd.openxmlformats-officedocument.presentationml.presentation", "PatientSmith.pptx", buildPPTX(t, "Case review: slide one", "Slide two: plan")),
			attachment("application/vnd.oasis.opendocument.text", "PatientSmith.odt", buildODT(t, "ODT letter line one", "Line two  with spaces")),
			attachment("application/rtf", "PatientSmith.rtf", []byte(rtf)),
			attachment("text/csv", "PatientSmith.csv", []byte("name,dob\r\nSmith,1961-03-02\r\n")),
			attachment("application/octet-stream", "PatientSmith.txt", []byte(latin1("Unlabelled Latin-1 note: señor Muñoz\n"))),
			attachment("application/gzip", "PatientSmith.txt.gz", gz.Bytes()),
		)),
		"nested.eml": email("Fwd: nested", multipart("mixed", "outer-b",
			mimePart{header: "Content-Type: text/plain", body: "Outer body.\r\n"},
			mimePart{header: "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"Smith.eml\"", body: inner},
		)),
		"encrypted.eml": email("Mixed bag", multipart("mixed", "enc-b",
			mimePart{header: "Content-Type: text/plain", body: "Before armor.\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA1234567890abcdef\r\n=abcd\r\n-----END PGP MESSAGE-----\r\nAfter armor.\r\n"},
			attachment("application/zip", "PatientSmith.zip", buildZip(t,
				zipEntry{name: "secret.txt", data: []byte("password protected"), encrypted: true},
				zipEntry{name: "open.txt", data: []byte("open entry text")},
			)),
			attachment("application/pdf", "PatientSmith-locked.pdf", buildPDF(t, pdfOpts{encrypted: true}, "hidden")),
			attachment("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "PatientSmith-locked.docx", oleEncryptedFile()),
			attachment("application/msword", "PatientSmith.doc", append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), make([]byte, 600)...)),
			attachment("application/octet-stream", "PatientSmith.age", []byte("age-encryption.org/v1\n-> X25519 abc\nxyz\n--- mac\n\x00\x01binary")),
			attachment("image/png", "PatientSmith.png", append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)),
			attachment("application/octet-stream", "PatientSmith.bin", []byte{0, 1, 2, 3, 0, 5, 6, 7, 8, 0}),
		)),
		"pgp-mime.eml": email("Encrypted", mimePart{
			header: "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"pgp-b\"",
			body: multipart("x", "pgp-b",
				mimePart{header: "Content-Type: application/pgp-encrypted", body: "Version: 1\r\n"},
				mimePart{header: "Content-Type: application/octet-stream", body: "-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA\r\n-----END PGP MESSAGE-----\r\n"},
			).body,
		}),
		"smime-signed.eml": email("Signed letter", mimePart{
			header: "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64",
			body:   b64(buildSignedData([]byte(signedInner))),
		}),
		"smime-enveloped.eml": email("Sealed", mimePart{
			header: "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64",
			body:   b64(buildEnvelopedData()),
		}),
		"tnef.eml": email("Outlook rich text", multipart("mixed", "tnef-b",
			mimePart{header: "Content-Type: text/plain", body: "See the rich text version.\r\n"},
			attachment("application/ms-tnef", "winmail.dat", buildTNEF(`{\rtf1\ansi\ansicpg1252 TNEF body: HbA1c 48 mmol/mol\par Second line\par}`,
				"PatientSmith.txt", []byte("TNEF attachment text"))),
		)),
	}
}

// TestGenerateFixtures writes the fixtures when run with -generate, and
// otherwise checks that the committed ones match their builders.
func TestGenerateFixtures(t *testing.T) {
	for name, content := range fixtures(t) {
		path := filepath.Join("testdata", name)
		if *generate {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("fixture %s missing; run go test -run TestGenerateFixtures -generate: %v", name, err)
		}
		if !bytes.Equal(got, []byte(content)) {
			t.Errorf("fixture %s differs from its builder; run go test -run TestGenerateFixtures -generate", name)
		}
	}
}

// render prints a result for golden comparison.
func render(r *Result) string {
	var b strings.Builder
	for _, u := range r.Units {
		fmt.Fprintf(&b, "=== unit %s [%s] raw=%d\n%s\n", u.Where, u.Kind, len(u.Raw), strings.TrimRight(u.Text, " \t\n"))
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "=== skipped %s [%s]: %s\n", s.Where, s.Kind, s.Reason)
	}
	fmt.Fprintf(&b, "=== truncated: %v\n", r.Truncated)
	return b.String()
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(fixtures(t)) {
		t.Fatalf("found %d fixtures in testdata, want %d; run go test -run TestGenerateFixtures -generate", len(files), len(fixtures(t)))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			msg, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Extract(context.Background(), bytes.NewReader(msg), testLimits())
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			got := render(res)
			golden := strings.TrimSuffix(f, ".eml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("golden file missing; run go test -run TestGolden -update: %v", err)
			}
			if got != string(want) {
				t.Errorf("Extract(%s) differs from %s:\n--- got\n%s--- want\n%s", f, golden, got, want)
			}
			for _, u := range res.Units {
				if strings.Contains(u.Where, "Smith") {
					t.Errorf("Where %q holds a file name", u.Where)
				}
			}
			for _, s := range res.Skipped {
				if strings.Contains(s.Where, "Smith") {
					t.Errorf("Skipped Where %q holds a file name", s.Where)
				}
			}
		})
	}
}

func readFixture(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}
