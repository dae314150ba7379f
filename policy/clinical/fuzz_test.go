package clinical

import (
	"strings"
	"testing"
)

// FuzzScan checks that Scan never panics, reports spans inside the text that
// spell their term (case and white space aside), and respects case for
// case-sensitive terms.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"Dear Dr Patel, sertraline 50mg mane. HbA1c 48 mmol/mol, eGFR 52, K+ 5.9",
		"PMHx: T2DM. O/E chest clear.\r\n\r\nImp: LRTI  Plan: abx",
		"BP 142/88 HR 96", "Mrs O'Brien", "metformin", "K+", "x\x00\xff\xfe",
		strings.Repeat(" ", 100) + "discharge\t\n summary",
	} {
		f.Add(s)
	}
	m := Lexicon()
	f.Fuzz(func(t *testing.T, text string) {
		for _, h := range m.Scan(text, nil) {
			if h.Start < 0 || h.End > len(text) || h.Start >= h.End {
				t.Fatalf("hit [%d,%d) outside text of %d bytes", h.Start, h.End, len(text))
			}
			term := m.Terms()[h.Term]
			span := text[h.Start:h.End]
			if normalizePattern(span) != normalizePattern(term.Text) {
				t.Fatalf("hit %q does not spell term %q", span, term.Text)
			}
			if term.Case && !sameCase(span, term.Text) {
				t.Fatalf("case-sensitive term %q matched %q", term.Text, span)
			}
			if h.Group != term.Group {
				t.Fatalf("hit group %v, term group %v", h.Group, term.Group)
			}
		}
	})
}

// FuzzSniff checks that the structured sniffers never panic and return
// well-formed payloads.
func FuzzSniff(f *testing.F) {
	for _, s := range []string{
		"MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rPID|1\r",
		"MSH|", "MSH|^~\\&", "\nMSH#^~\\&#x",
		`{"resourceType": "Patient"}`, `{"resourceType" : "Bundle", "x": 1}`, `"resourceType":`,
		`<Patient xmlns="http://hl7.org/fhir">`, `<x:Observation xmlns:x='http://hl7.org/fhir'>`, `http://hl7.org/fhir`,
		`<ClinicalDocument xmlns="urn:hl7-org:v3">`, dicom(true), dicom(false),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		p, ok := Sniff(data)
		if !ok {
			return
		}
		switch p.Kind {
		case "hl7v2", "fhir-json", "fhir-xml", "cda", "dicom":
		default:
			t.Fatalf("unknown kind %q", p.Kind)
		}
		if p.Score <= 0 || p.Score > 1 {
			t.Fatalf("score %v", p.Score)
		}
		if p.Kind == "hl7v2" && p.Detail != "" && !validMessageType(p.Detail) {
			t.Fatalf("detail %q is not a message type", p.Detail)
		}
		if strings.HasPrefix(p.Kind, "fhir") && !clinicalResource(p.Detail) {
			t.Fatalf("FHIR detail %q is not a clinical resource type", p.Detail)
		}
	})
}
