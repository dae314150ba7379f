package clinical

import (
	"strings"
)

// Payload is a structured health payload recognised by [Sniff].
type Payload struct {
	// Kind is "hl7v2", "fhir-json", "fhir-xml", "cda" or "dicom".
	Kind string
	// Detail is safe to record: the HL7 v2 message type ("ADT^A01"), the
	// FHIR resource type ("Patient"), or "" — never a field value.
	Detail string
	// Score is how sure the sniffer is, 0..1.
	Score float64
}

// Describe returns a human-readable, PHI-free description.
func (p Payload) Describe() string {
	name := map[string]string{
		"hl7v2": "HL7 v2 message", "fhir-json": "FHIR resource (JSON)", "fhir-xml": "FHIR resource (XML)",
		"cda": "HL7 CDA document", "dicom": "DICOM file",
	}[p.Kind]
	if name == "" {
		name = p.Kind
	}
	if p.Detail != "" {
		return name + " " + p.Detail
	}
	return name
}

// maxSniff bounds how much of a payload the sniffers look at.
const maxSniff = 64 << 10

// Sniff reports whether data (the start of a decoded part, or extracted
// text) is a structured health payload. It looks at no more than the first
// 64 KiB.
func Sniff(data string) (Payload, bool) {
	if len(data) > maxSniff {
		data = data[:maxSniff]
	}
	if p, ok := sniffDICOM(data); ok {
		return p, true
	}
	if p, ok := sniffHL7v2(data); ok {
		return p, true
	}
	if p, ok := sniffCDA(data); ok {
		return p, true
	}
	if p, ok := sniffFHIRJSON(data); ok {
		return p, true
	}
	if p, ok := sniffFHIRXML(data); ok {
		return p, true
	}
	return Payload{}, false
}

// sniffDICOM: a 128-byte preamble, "DICM", then the file meta group (0002).
func sniffDICOM(d string) (Payload, bool) {
	if len(d) < 136 || d[128:132] != "DICM" {
		return Payload{}, false
	}
	if d[132] != 0x02 || d[133] != 0x00 {
		return Payload{Kind: "dicom", Score: 0.8}, true
	}
	return Payload{Kind: "dicom", Score: 0.99}, true
}

// sniffHL7v2 finds an MSH segment: "MSH", a field separator, the encoding
// characters, and the separator again; then reads the message type (MSH-9)
// and looks for a patient segment.
func sniffHL7v2(d string) (Payload, bool) {
	off := 0
	for off < len(d) {
		i := strings.Index(d[off:], "MSH")
		if i < 0 {
			return Payload{}, false
		}
		i += off
		off = i + 3
		// MSH must start a line (or the data).
		if i > 0 && d[i-1] != '\r' && d[i-1] != '\n' && d[i-1] != '\x0b' {
			continue
		}
		if len(d) < i+9 {
			return Payload{}, false
		}
		sep := d[i+3]
		if isWord(sep) || isSpace(sep) {
			continue
		}
		enc := d[i+4:]
		n := 0
		for n < len(enc) && n < 5 && enc[n] != sep {
			if isWord(enc[n]) || isSpace(enc[n]) {
				n = -1
				break
			}
			n++
		}
		if n < 4 || n >= len(enc) || enc[n] != sep {
			continue
		}
		seg := d[i:]
		if e := strings.IndexAny(seg, "\r\n"); e >= 0 {
			seg = seg[:e]
		}
		fields := strings.Split(seg, string(sep))
		p := Payload{Kind: "hl7v2", Score: 0.9}
		if len(fields) > 8 && validMessageType(fields[8]) {
			p.Detail = fields[8]
		}
		rest := d[i:]
		for _, s := range []string{"PID", "PV1", "OBX", "OBR", "ORC", "DG1", "AL1", "RXE", "RXO"} {
			if hasSegment(rest, s, sep) {
				p.Score = 0.99
				break
			}
		}
		return p, true
	}
	return Payload{}, false
}

func hasSegment(d, name string, sep byte) bool {
	pat := name + string(sep)
	for _, nl := range []string{"\r", "\n"} {
		if strings.Contains(d, nl+pat) {
			return true
		}
	}
	return false
}

// validMessageType accepts "ADT^A01", "ORU^R01^ORU_R01" and the like: upper
// case letters, digits, '_' and the component separator.
func validMessageType(s string) bool {
	if len(s) < 3 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') && c != '_' && c != '^' {
			return false
		}
	}
	return true
}

// fhirClinical lists the FHIR resource types that carry information about a
// patient (conformance and terminology resources are not listed).
var fhirClinical = []string{
	"AdverseEvent", "AllergyIntolerance", "Appointment", "Bundle", "CarePlan", "CareTeam", "Claim",
	"ClinicalImpression", "Communication", "Composition", "Condition", "Consent", "Coverage",
	"DetectedIssue", "DiagnosticReport", "DocumentReference", "Encounter", "EpisodeOfCare",
	"ExplanationOfBenefit", "FamilyMemberHistory", "Flag", "Goal", "ImagingStudy", "Immunization",
	"MedicationAdministration", "MedicationDispense", "MedicationRequest", "MedicationStatement",
	"NutritionOrder", "Observation", "Patient", "Procedure", "QuestionnaireResponse",
	"RelatedPerson", "RiskAssessment", "ServiceRequest", "Specimen",
}

func clinicalResource(name string) bool {
	for _, r := range fhirClinical {
		if r == name {
			return true
		}
	}
	return false
}

// sniffFHIRJSON finds "resourceType": "<clinical type>".
func sniffFHIRJSON(d string) (Payload, bool) {
	off := 0
	for {
		i := strings.Index(d[off:], `"resourceType"`)
		if i < 0 {
			return Payload{}, false
		}
		j := off + i + len(`"resourceType"`)
		off = j
		j = skipJSONSpace(d, j)
		if j >= len(d) || d[j] != ':' {
			continue
		}
		j = skipJSONSpace(d, j+1)
		if j >= len(d) || d[j] != '"' {
			continue
		}
		k := strings.IndexByte(d[j+1:], '"')
		if k < 0 || k > 40 {
			continue
		}
		name := d[j+1 : j+1+k]
		if !clinicalResource(name) {
			continue
		}
		score := 0.95
		if name == "Bundle" {
			score = 0.8
		}
		return Payload{Kind: "fhir-json", Detail: name, Score: score}, true
	}
}

func skipJSONSpace(d string, i int) int {
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	return i
}

const fhirNS = "http://hl7.org/fhir"

// sniffFHIRXML finds a clinical resource element in the FHIR namespace:
// <Patient xmlns="http://hl7.org/fhir">.
func sniffFHIRXML(d string) (Payload, bool) {
	off := 0
	for {
		i := strings.Index(d[off:], fhirNS)
		if i < 0 {
			return Payload{}, false
		}
		i += off
		off = i + len(fhirNS)
		// The namespace must be the whole attribute value.
		if off < len(d) && d[off] != '"' && d[off] != '\'' {
			continue
		}
		lt := strings.LastIndexByte(d[:i], '<')
		if lt < 0 || i-lt > 200 {
			continue
		}
		tag := d[lt+1 : i]
		end := 0
		for end < len(tag) && !isSpace(tag[end]) && tag[end] != '>' {
			end++
		}
		name := tag[:end]
		if c := strings.IndexByte(name, ':'); c >= 0 {
			name = name[c+1:]
		}
		if !clinicalResource(name) {
			continue
		}
		return Payload{Kind: "fhir-xml", Detail: name, Score: 0.95}, true
	}
}

// sniffCDA finds <ClinicalDocument in the HL7 v3 namespace.
func sniffCDA(d string) (Payload, bool) {
	i := strings.Index(d, "<ClinicalDocument")
	if i < 0 {
		if i = strings.Index(d, ":ClinicalDocument"); i < 0 || strings.LastIndexByte(d[:i], '<') < 0 {
			return Payload{}, false
		}
	}
	if !strings.Contains(d[i:], "urn:hl7-org:v3") {
		return Payload{}, false
	}
	return Payload{Kind: "cda", Score: 0.99}, true
}
