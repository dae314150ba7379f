package classify_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"

	"github.com/sealpost/sealpost/policy"
	"github.com/sealpost/sealpost/policy/classify"
	"github.com/sealpost/sealpost/policy/classify/internal/corpus"
)

const corpusDir = "../../testdata/corpus"

func classifyFile(t testing.TB, c *classify.Classifier, path string) *classify.Report {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("failed to read %s: %v", path, err)
	}
	r, err := c.Classify(context.Background(), bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("Classify(%s): %v", path, err)
	}
	return r
}

// TestCorpusTargets runs the evaluation on the TEST split of the committed
// corpus and asserts the accuracy targets of issue 3. The weights were
// fitted on the TRAIN split only. (`make eval` adds the SpamAssassin corpus.)
func TestCorpusTargets(t *testing.T) {
	samples, err := corpus.Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	c := classify.New(classify.Config{})
	var scored []corpus.Scored
	for _, s := range samples {
		if !s.Test {
			continue
		}
		r := classifyFile(t, c, s.Path)
		scored = append(scored, corpus.Scored{Sample: s, Score: r.Score})
	}
	fig := corpus.Evaluate(scored, 0.5)
	var b strings.Builder
	fig.Print(&b, "TEST split")
	t.Log("\n" + b.String())
	for _, class := range []string{corpus.Clinical, corpus.Business, corpus.Health} {
		if fig.Class(class).N < 20 {
			t.Errorf("test split has only %d %s messages; the corpus is too small to measure", fig.Class(class).N, class)
		}
	}
	for _, miss := range fig.Check() {
		t.Errorf("target missed on the TEST split: %s", miss)
	}
}

// TestSplitIsByFamily checks that no template family is on both sides.
func TestSplitIsByFamily(t *testing.T) {
	samples, err := corpus.Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	side := map[string]bool{}
	tests := 0
	for _, s := range samples {
		if prev, ok := side[s.Group]; ok && prev != s.Test {
			t.Fatalf("family %s is in both splits", s.Group)
		}
		side[s.Group] = s.Test
		if s.Test {
			tests++
		}
	}
	if tests == 0 || tests == len(samples) {
		t.Fatalf("degenerate split: %d of %d in test", tests, len(samples))
	}
}

func TestNamesMatchPolicyBuiltins(t *testing.T) {
	got, want := slices.Sorted(slices.Values(classify.Names())), slices.Sorted(slices.Values(policy.BuiltinDetectorNames()))
	if !slices.Equal(got, want) {
		t.Fatalf("classify.Names() = %v\npolicy.BuiltinDetectorNames() = %v\nthey must list the same names", got, want)
	}
}

// rawInput builds a policy input that re-reads raw on each Open.
func rawInput(t testing.TB, raw []byte, rcpts ...string) *policy.Input {
	t.Helper()
	h, err := textproto.ReadHeader(bufioReader(raw))
	if err != nil {
		t.Fatalf("failed to parse header: %v", err)
	}
	return &policy.Input{
		Sender: "clinic@sender.example", Recipients: rcpts, Header: h, Size: int64(len(raw)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
	}
}

// TestDefaultPolicyWithClassifier runs the shipped default policy with the
// classifier on corpus messages: patient letters seal with the content rule
// and an explanation, the rest pass.
func TestDefaultPolicyWithClassifier(t *testing.T) {
	c := classify.New(classify.Config{})
	e := policy.Default(policy.WithDetectors(c.Detectors()...))
	if m := e.Missing(); len(m) != 0 {
		t.Fatalf("default policy with the classifier still misses detectors %v", m)
	}
	tests := []struct {
		file   string
		action policy.Action
		rule   string
	}{
		{"clinical/uk-discharge-summary-00.eml", policy.ActionSeal, "patient-health-information"},
		{"clinical/uk-discharge-summary-03.eml", policy.ActionSeal, "patient-health-information"}, // PDF attachment
		{"clinical/uk-discharge-summary-04.eml", policy.ActionSeal, "patient-health-information"}, // DOCX attachment
		{"clinical/uk-gp-note-abbrev-00.eml", policy.ActionSeal, "patient-health-information"},    // no identifier at all
		{"clinical/hl7-oru-attachment-00.eml", policy.ActionSeal, "patient-health-information"},
		{"clinical/dicom-attachment-00.eml", policy.ActionSeal, "patient-health-information"},
		{"business/biz-invoice-00.eml", policy.ActionPass, "default"},
		{"health/health-research-abstract-00.eml", policy.ActionPass, "default"},
		{"health/health-pharma-marketing-00.eml", policy.ActionPass, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(corpusDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.Decide(context.Background(), rawInput(t, raw, "gp@practice.example"))
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			o := d.Outcomes[0]
			if o.Action != tt.action || o.Rule != tt.rule {
				t.Fatalf("got %s by %q, want %s by %q\n%s", o.Action, o.Rule, tt.action, tt.rule, d.JSON())
			}
			var j struct {
				Findings []struct {
					Detector string   `json:"detector"`
					Count    int      `json:"count"`
					Score    float64  `json:"score"`
					Evidence []string `json:"evidence"`
				} `json:"findings"`
			}
			if err := json.Unmarshal(d.JSON(), &j); err != nil {
				t.Fatal(err)
			}
			if len(j.Findings) == 0 || j.Findings[0].Detector != classify.PHI || len(j.Findings[0].Evidence) == 0 {
				t.Fatalf("explanation lacks the phi finding with evidence: %s", d.JSON())
			}
		})
	}
}

var (
	longDigits = regexp.MustCompile(`\d{5,}|\d{3}[ -]\d{3}[ -]\d{4}`)
	dateLike   = regexp.MustCompile(`\d{1,2}/\d{1,2}/\d{2,4}`)
)

// TestEvidenceIsRedacted checks every finding of every corpus message: no
// identifier, date, name or drug appears in evidence.
func TestEvidenceIsRedacted(t *testing.T) {
	samples, err := corpus.Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	c := classify.New(classify.Config{})
	drugs := []string{"sertraline", "metformin", "ramipril", "amlodipine", "warfarin", "apixaban", "chlamydia", "schizophrenia"}
	for _, s := range samples {
		if s.Class != corpus.Clinical {
			continue
		}
		raw, _ := os.ReadFile(s.Path)
		r := classifyFile(t, c, s.Path)
		for _, f := range r.Findings {
			for _, ev := range f.Evidence {
				low := strings.ToLower(ev)
				if longDigits.MatchString(ev) || dateLike.MatchString(ev) {
					t.Errorf("%s: %s evidence shows digits: %q", s.Path, f.Detector, ev)
				}
				for _, d := range drugs {
					if strings.Contains(low, d) {
						t.Errorf("%s: %s evidence names %q: %q", s.Path, f.Detector, d, ev)
					}
				}
				// Patient names come from the generator's lists; a name in
				// the message must not be in the evidence.
				for _, w := range strings.Fields(ev) {
					w = strings.Trim(w, "'(),:")
					if len(w) > 3 && w[0] >= 'A' && w[0] <= 'Z' && bytes.Contains(raw, []byte(w+" ")) && nameLike(w) {
						t.Errorf("%s: %s evidence may show a name %q: %q", s.Path, f.Detector, w, ev)
					}
				}
			}
		}
	}
}

// nameLike reports words of the generator's name lists that are not also
// words of the evidence vocabulary.
func nameLike(w string) bool {
	for _, n := range []string{"Margaret", "Smith", "Jones", "Taylor", "Patel", "Khan", "Johnson", "Garcia", "Williams", "Hughes"} {
		if w == n {
			return true
		}
	}
	return false
}

func bufioReader(raw []byte) *bufioR { return newBufio(raw) }

func message(parts ...string) []byte {
	var b strings.Builder
	b.WriteString("From: a@sender.example\r\nTo: b@recipient.example\r\nSubject: documents\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPlease see attached.\r\n")
	for _, p := range parts {
		b.WriteString("--b\r\n" + p + "\r\n")
	}
	b.WriteString("--b--\r\n")
	return []byte(b.String())
}

func attachment(ctype string, data []byte) string {
	return fmt.Sprintf("Content-Type: %s\r\nContent-Disposition: attachment; filename=\"x\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s", ctype, base64.StdEncoding.EncodeToString(data))
}

// encryptedZip returns a zip whose one entry is flagged as encrypted
// (traditional PKWARE encryption), as a password-protected archive is.
func encryptedZip(t testing.TB) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "letter.txt", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("ciphertext-ish bytes that nobody can read"))
	zw.Close()
	z := b.Bytes()
	// Set bit 0 (encrypted) of the general purpose flags in the local and
	// central directory headers.
	for _, sig := range [][]byte{{'P', 'K', 3, 4}, {'P', 'K', 1, 2}} {
		i := bytes.Index(z, sig)
		if i < 0 {
			t.Fatal("zip header not found")
		}
		off := 6
		if sig[2] == 1 {
			off = 8
		}
		z[i+off] |= 1
	}
	return z
}

// TestUnscannableAndEncryptedToExternal: the default policy seals an image
// or a password-protected archive bound for an external recipient, and an
// internal_domains list lets it through to colleagues.
func TestUnscannableAndEncryptedToExternal(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)
	tests := []struct {
		name, finding string
		raw           []byte
		types         []string
	}{
		{"image", policy.FindingUnscannable, message(attachment("image/png", png)), []string{"image"}},
		{"encrypted zip", policy.FindingEncryptedAttachment, message(attachment("application/zip", encryptedZip(t))), []string{"zip"}},
	}
	c := classify.New(classify.Config{})
	def := policy.Default(policy.WithDetectors(c.Detectors()...))
	internal := strings.Replace(string(policy.DefaultYAML()), "internal_domains: []", "internal_domains: [clinic.example]", 1)
	withInternal, err := policy.Parse([]byte(internal), policy.WithDetectors(c.Detectors()...))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Classify(context.Background(), bytes.NewReader(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if r.Finding(tt.finding) == nil {
				t.Fatalf("no %s finding; findings %+v", tt.finding, r.Findings)
			}
			for _, typ := range tt.types {
				if !slices.Contains(r.AttachmentTypes, typ) {
					t.Errorf("attachment types %v lack %q", r.AttachmentTypes, typ)
				}
			}
			d, err := def.Decide(context.Background(), rawInput(t, tt.raw, "someone@outside.example"))
			if err != nil {
				t.Fatal(err)
			}
			if o := d.Outcomes[0]; o.Action != policy.ActionSeal {
				t.Fatalf("default policy: %s by %s for an external recipient; want seal\n%s", o.Action, o.Rule, d.JSON())
			}
			d, err = withInternal.Decide(context.Background(), rawInput(t, tt.raw, "colleague@clinic.example", "someone@outside.example"))
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcomes[0].Action != policy.ActionPass || d.Outcomes[1].Action != policy.ActionSeal {
				t.Fatalf("internal then external recipient: got %s, %s; want pass, seal", d.Outcomes[0].Action, d.Outcomes[1].Action)
			}
		})
	}
}

// TestHeaderOnlyInput: without Open the classifier still reads the Subject.
func TestHeaderOnlyInput(t *testing.T) {
	c := classify.New(classify.Config{})
	h := textproto.Header{}
	h.Set("Subject", "Discharge summary: T2DM, metformin 500mg bd, HbA1c 71 mmol/mol")
	an := c.Detectors()[0].(policy.Analyzer)
	res, err := an.Analyze(context.Background(), &policy.Input{Header: h, Recipients: []string{"a@b.example"}})
	if err != nil {
		t.Fatal(err)
	}
	var clin *policy.Finding
	for i := range res.Findings {
		if res.Findings[i].Detector == classify.Clinical {
			clin = &res.Findings[i]
		}
	}
	if clin == nil || clin.Count < 3 {
		t.Fatalf("subject-only input: clinical finding %+v; want the drug, lab value and diagnosis counted", clin)
	}
}

func TestClassifyErrors(t *testing.T) {
	c := classify.New(classify.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Classify(ctx, strings.NewReader("Subject: x\r\n\r\nhello\r\n")); err == nil {
		t.Error("Classify with a cancelled context succeeded")
	}
	// An unreadable message is unscannable, not an error.
	r, err := c.Classify(context.Background(), strings.NewReader("no header here at all\x00\r\n"))
	if err != nil {
		t.Errorf("Classify of an unreadable message: %v", err)
	} else if r.Finding(policy.FindingUnscannable) == nil {
		t.Errorf("unreadable message: findings %+v; want unscannable", r.Findings)
	}
	an := c.Detectors()[0].(policy.Analyzer)
	if _, err := an.Analyze(context.Background(), nil); err == nil {
		t.Error("Analyze(nil) succeeded")
	}
	openErr := fmt.Errorf("disk gone")
	_, err = an.Analyze(context.Background(), &policy.Input{Open: func() (io.ReadCloser, error) { return nil, openErr }})
	if err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Errorf("Analyze with a failing Open: err = %v", err)
	}
}

// TestExplanationHoldsNoPlantedPHI: the decision explanation that the relay
// stores and audits quotes nothing from the message but the identifier
// detectors' context keywords.
func TestExplanationHoldsNoPlantedPHI(t *testing.T) {
	planted := []string{"Discharge summary", "943 476 5919", "9434765919", "Thistlewood", "14/03/1961",
		"type 2 diabetes", "HbA1c 48", "metformin", "Flat 3, 12 Elm Road", "chest pain", "Dear colleague"}
	msg := "From: Dr Example <doctor@example.org>\r\nTo: gp@practice.example\r\nSubject: Discharge summary\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Dear colleague,\r\n\r\nPatient: Mrs Margaret Thistlewood, born 14/03/1961,\r\nof Flat 3, 12 Elm Road.\r\n" +
		"NHS number 943 476 5919 (9434765919).\r\nShe was admitted with chest pain. PMHx: type 2 diabetes.\r\n" +
		"HbA1c 48 mmol/mol. Continue metformin 500mg bd.\r\n"
	c := classify.New(classify.Config{})
	e := policy.Default(policy.WithDetectors(c.Detectors()...))
	d, err := e.Decide(context.Background(), rawInput(t, []byte(msg), "gp@practice.example"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcomes[0].Action != policy.ActionSeal {
		t.Fatalf("the letter was not sealed: %+v", d.Outcomes[0])
	}
	j := strings.ToLower(string(d.JSON()))
	for _, p := range planted {
		if strings.Contains(j, strings.ToLower(p)) {
			t.Errorf("explanation contains %q: %s", p, d.JSON())
		}
	}
	for _, want := range []string{`"phi"`, `"nhs_number"`, `"clinical"`, "5919"} {
		if !strings.Contains(j, want) {
			t.Errorf("explanation lacks %s: %s", want, d.JSON())
		}
	}
}
