package policy

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// staticAnalyzer is a test plug-in that reports fixed findings under
// several names, counting its calls.
type staticAnalyzer struct {
	names    []string
	analysis *Analysis
	err      error
	calls    *int
}

func (a staticAnalyzer) Name() string    { return "analyzer" }
func (a staticAnalyzer) Names() []string { return a.names }
func (a staticAnalyzer) Detect(context.Context, *Input) (*Finding, error) {
	return nil, errors.New("Detect must not be called on an Analyzer")
}

func (a staticAnalyzer) Analyze(context.Context, *Input) (*Analysis, error) {
	if a.calls != nil {
		*a.calls++
	}
	if a.analysis == nil {
		return nil, a.err
	}
	an := *a.analysis
	an.Findings = slices.Clone(an.Findings)
	return &an, a.err
}

func TestAnalyzerConditions(t *testing.T) {
	full := &Analysis{
		Findings: []Finding{
			{Detector: "phi", Count: 1, Score: 0.83, Evidence: []string{"clinical_x_person +2.1"}},
			{Detector: "nhs_number", Count: 2, Score: 0.95, Evidence: []string{"NHS number ••• ••• 5919"}},
			{Detector: FindingUnscannable, Count: 1, Score: 1, Evidence: []string{"attachment 2 (image)"}},
			{Detector: FindingEncryptedAttachment, Count: 1, Score: 1},
			{Detector: "not-declared", Count: 5, Score: 1},
			{Detector: "clinical", Count: 0, Score: 0.9},
		},
		AttachmentTypes: []string{"PDF", "zip"},
	}
	empty := &Analysis{Findings: []Finding{{Detector: "phi", Count: 1, Score: 0.1}}}
	names := []string{"phi", "clinical", "nhs_number", FindingUnscannable, FindingEncryptedAttachment}
	tests := []struct {
		name, when string
		an         *Analysis
		rcpt       string
		want       Action
	}{
		{"phi over", `{detector: [{name: phi, min_score: 0.6}]}`, full, "", ActionSeal},
		{"phi under", `{detector: [{name: phi, min_score: 0.6}]}`, empty, "", ActionPass},
		{"identifier count", `{detector: [{name: nhs_number, min_count: 2}]}`, full, "", ActionSeal},
		{"zero count dropped", `{detector: [{name: clinical}]}`, full, "", ActionPass},
		{"unscannable", `{unscannable: true}`, full, "", ActionSeal},
		{"unscannable absent", `{unscannable: true}`, empty, "", ActionPass},
		{"scannable", `{unscannable: false}`, empty, "", ActionSeal},
		{"encrypted attachment", `{encrypted_attachment: true}`, full, "", ActionSeal},
		{"encrypted attachment absent", `{encrypted_attachment: true}`, empty, "", ActionPass},
		{"attachment type", `{attachment_type: [pdf]}`, full, "", ActionSeal},
		{"attachment type any", `{attachment_type: [docx, ZIP]}`, full, "", ActionSeal},
		{"attachment type none", `{attachment_type: [docx]}`, full, "", ActionPass},
		{"external", `{external_recipient: true}`, empty, "x@outside.example", ActionSeal},
		{"internal", `{external_recipient: true}`, empty, "x@clinic.example", ActionPass},
		{"internal subdomain", `{external_recipient: false}`, empty, "x@ward.clinic.example", ActionSeal},
		{"and", `{unscannable: true, external_recipient: true}`, full, "x@clinic.example", ActionPass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := "version: 1\ninternal_domains: [clinic.example, '*.clinic.example']\nrules:\n  - name: r\n    when: " + tt.when + "\n    action: seal\ndefault: pass\n"
			calls := 0
			e := mustParse(t, pol, WithDetectors(staticAnalyzer{names: names, analysis: tt.an, calls: &calls}))
			rcpt := tt.rcpt
			if rcpt == "" {
				rcpt = "someone@example.net"
			}
			d := decide(t, e, &Input{Recipients: []string{rcpt, rcpt}, Header: header(t, "Subject: hello")})
			if got := d.Outcomes[0].Action; got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			if calls != 1 {
				t.Fatalf("Analyze ran %d times for one message with two recipients; want once", calls)
			}
		})
	}
}

func TestAnalyzerExplanation(t *testing.T) {
	an := staticAnalyzer{names: []string{"phi", "nhs_number"}, analysis: &Analysis{
		Findings: []Finding{
			{Detector: "phi", Count: 1, Score: 0.9, Evidence: []string{"clinical_x_person +2.1"}},
			{Detector: "nhs_number", Count: 1, Score: 0.95, Evidence: []string{"NHS number ••• ••• 5919"}},
			{Detector: "phi", Count: 1, Score: 0.1}, // a duplicate name is ignored
			{Detector: "undeclared", Count: 1, Score: 1},
		},
		AttachmentTypes: []string{"pdf", "PDF"},
	}}
	e := mustParse(t, "version: 1\nrules:\n  - name: phi\n    when: {detector: [{name: phi, min_score: 0.5}]}\n    action: seal\ndefault: pass\n", WithDetectors(an))
	d := decide(t, e, &Input{Recipients: []string{"a@b.example"}, Header: header(t, "Subject: x")})
	var j struct {
		Findings []struct {
			Detector string   `json:"detector"`
			Score    float64  `json:"score"`
			Evidence []string `json:"evidence"`
		} `json:"findings"`
		Types []string `json:"attachment_types"`
	}
	if err := json.Unmarshal(d.JSON(), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Findings) != 2 || j.Findings[0].Detector != "phi" || j.Findings[0].Score != 0.9 || j.Findings[1].Detector != "nhs_number" {
		t.Fatalf("findings in the explanation: %s", d.JSON())
	}
	if !slices.Equal(j.Types, []string{"pdf"}) {
		t.Fatalf("attachment types %v, want [pdf]", j.Types)
	}
}

func TestAnalyzerErrorFailsDecide(t *testing.T) {
	boom := errors.New("extraction blew up")
	e := mustParse(t, "version: 1\ndefault: pass\n", WithDetectors(staticAnalyzer{names: []string{"phi"}, err: boom}))
	if _, err := e.Decide(context.Background(), &Input{Recipients: []string{"a@b.example"}, Header: header(t, "Subject: x")}); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap the analyzer's error", err)
	}
}

func TestBuiltinNamesWithoutDetectors(t *testing.T) {
	// The shipped default policy uses the classifier's names; parsed without
	// the classifier it is valid, says what is missing, and never matches
	// on them.
	e := Default()
	miss := e.Missing()
	for _, want := range []string{"phi", FindingUnscannable, FindingEncryptedAttachment} {
		if !slices.Contains(miss, want) {
			t.Errorf("Default().Missing() = %v, lacks %q", miss, want)
		}
	}
	d := decide(t, e, &Input{Recipients: []string{"a@b.example"}, Header: header(t, "Subject: Discharge summary")})
	if d.Outcomes[0].Action != ActionPass {
		t.Fatalf("without detectors the content rules matched: %+v", d.Outcomes[0])
	}
	// With an analyzer that provides them, nothing is missing.
	an := staticAnalyzer{names: BuiltinDetectorNames(), analysis: &Analysis{}}
	if m := Default(WithDetectors(an)).Missing(); len(m) != 0 {
		t.Fatalf("Missing() = %v with every built-in name provided", m)
	}
	// An unknown name is still an error.
	if _, err := Parse([]byte("version: 1\nrules:\n  - name: r\n    when: {detector: [{name: phi_score}]}\n    action: seal\ndefault: pass\n")); err == nil || !strings.Contains(err.Error(), "unknown detector") {
		t.Fatalf("unknown detector name: err = %v", err)
	}
}

func TestAnalyzerParseErrors(t *testing.T) {
	dup := staticAnalyzer{names: []string{"phi", "nhs_number"}}
	if _, err := Parse([]byte("version: 1\ndefault: pass\n"), WithDetectors(dup, staticDetector{name: "nhs_number"})); err == nil || !strings.Contains(err.Error(), "two detectors") {
		t.Errorf("analyzer name clash: err = %v", err)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"version: 1\ninternal_domains: [user@clinic.example]\ndefault: pass\n", "internal_domains"},
		{"version: 1\nrules:\n  - name: r\n    when: {attachment_type: []}\n    action: seal\ndefault: pass\n", "attachment_type"},
		{"version: 1\nrules:\n  - name: r\n    when: {attachment_type: [' ']}\n    action: seal\ndefault: pass\n", "attachment_type"},
		{"version: 1\nrules:\n  - name: r\n    when: {unscannable: maybe}\n    action: seal\ndefault: pass\n", "maybe"},
	} {
		if _, err := Parse([]byte(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want mention of %q", tt.yaml, err, tt.want)
		}
	}
}
