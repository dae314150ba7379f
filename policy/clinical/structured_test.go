package clinical

import (
	"strings"
	"testing"

	"github.com/sealpost/sealpost/policy/extract"
)

func dicom(meta bool) string {
	b := make([]byte, 140)
	copy(b[128:], "DICM")
	if meta {
		b[132], b[133] = 0x02, 0x00
	}
	return string(b)
}

func TestSniff(t *testing.T) {
	hl7 := "MSH|^~\\&|EPIC|HOSP|LAB|HOSP|20240301120000||ORU^R01|MSG00001|P|2.5\r" +
		"PID|1||123456^^^HOSP^MR||DOE^JANE||19700101|F\rOBX|1|NM|HBA1C||48|mmol/mol\r"
	tests := []struct {
		name, data string
		kind       string // "" for none
		detail     string
	}{
		{"hl7 oru", hl7, "hl7v2", "ORU^R01"},
		{"hl7 after text", "Please see below\n" + hl7, "hl7v2", "ORU^R01"},
		{"hl7 v2.7 five encoding chars", "MSH|^~\\&#|A|B|C|D|2024||ADT^A01|1|P|2.7\nPID|1\n", "hl7v2", "ADT^A01"},
		{"msh in prose", "The MSH|segment is described in chapter 2", "", ""},
		{"msh mid-line", "xMSH|^~\\&|A|B", "", ""},
		{"fhir json patient", `{"resourceType": "Patient", "id": "x"}`, "fhir-json", "Patient"},
		{"fhir json observation compact", `{"resourceType":"Observation"}`, "fhir-json", "Observation"},
		{"fhir json capability", `{"resourceType": "CapabilityStatement"}`, "", ""},
		{"fhir xml patient", `<?xml version="1.0"?><Patient xmlns="http://hl7.org/fhir"><id value="1"/></Patient>`, "fhir-xml", "Patient"},
		{"fhir xml prefixed", `<f:Bundle xmlns:f="http://hl7.org/fhir">`, "fhir-xml", "Bundle"},
		{"fhir xml valueset", `<ValueSet xmlns="http://hl7.org/fhir">`, "", ""},
		{"fhir ns prefix only", `<Patient xmlns="http://hl7.org/fhirx">`, "", ""},
		{"cda", `<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="x">`, "cda", ""},
		{"cda without ns", `<ClinicalDocument>`, "", ""},
		{"dicom", dicom(true), "dicom", ""},
		{"dicom no meta", dicom(false), "dicom", ""},
		{"short", "DICM", "", ""},
		{"plain", "Dear Dr Smith, thank you for seeing Mrs Jones.", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := Sniff(tt.data)
			if tt.kind == "" {
				if ok {
					t.Fatalf("Sniff found %+v; want nothing", p)
				}
				return
			}
			if !ok || p.Kind != tt.kind || p.Detail != tt.detail {
				t.Fatalf("Sniff = %+v, %v; want kind %q detail %q", p, ok, tt.kind, tt.detail)
			}
			if p.Score <= 0 || p.Score > 1 {
				t.Fatalf("score %v out of range", p.Score)
			}
			if d := p.Describe(); d == "" || strings.Contains(d, "DOE") {
				t.Fatalf("Describe() = %q", d)
			}
		})
	}
}

func TestSniffBounded(t *testing.T) {
	// A payload beyond the first 64 KiB is not looked at.
	d := strings.Repeat("x", maxSniff) + `{"resourceType":"Patient"}`
	if p, ok := Sniff(d); ok {
		t.Fatalf("Sniff looked past 64 KiB: %+v", p)
	}
}

func TestStructuredUnit(t *testing.T) {
	tests := []struct {
		u    extract.Unit
		want string
	}{
		{extract.Unit{Where: "attachment 1 (application/dicom)", Kind: "dicom", Raw: []byte(dicom(true))}, "DICOM file in attachment 1 (application/dicom)"},
		{extract.Unit{Where: "body", Kind: "text", Text: "see below\nMSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\nPID|1\n"}, "HL7 v2 message ADT^A01 in body"},
		{extract.Unit{Where: "attachment 2 (application/json)", Kind: "text", Text: `{"resourceType":"Observation"}`, Raw: []byte(`{"resourceType":"Observation"}`)}, "FHIR resource (JSON) Observation in attachment 2 (application/json)"},
		{extract.Unit{Where: "body", Kind: "text", Text: "nothing structured"}, ""},
	}
	for _, tt := range tests {
		ms := Structured(tt.u)
		if tt.want == "" {
			if len(ms) != 0 {
				t.Errorf("%s: unexpected %+v", tt.u.Where, ms)
			}
			continue
		}
		if len(ms) != 1 || ms[0].Evidence != tt.want || ms[0].Detector != StructuredName || !ms[0].Valid {
			t.Errorf("%s: got %+v, want evidence %q", tt.u.Where, ms, tt.want)
		}
	}
}
