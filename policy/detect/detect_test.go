package detect

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixedNow is the clock of every test: dates of birth are judged against it.
func fixedNow() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

func testConfig(t testing.TB) Config {
	t.Helper()
	p, err := CompilePattern("trust-mrn", `\bRX[0-9]{7}\b`, "unit no")
	if err != nil {
		t.Fatalf("CompilePattern: %v", err)
	}
	return Config{MRN: []NamedPattern{p}, Now: fixedNow}
}

func detectorByName(t testing.TB, cfg Config, name string) Detector {
	t.Helper()
	for _, d := range Identifiers(cfg) {
		if d.Name() == name {
			return d
		}
	}
	t.Fatalf("no detector named %q", name)
	return nil
}

// labels are the evidence labels, so tests can find the masked part.
var labels = map[string]string{
	NHSNumber: "NHS number", CHINumber: "CHI number", HCNumber: "H&C number", NINO: "NI number",
	SSN: "SSN", NPI: "NPI", DEA: "DEA number", MBI: "Medicare MBI", MRN: "MRN",
	SNOMED: "SNOMED CT concept id", ICD10: "ICD-10 code", DOB: "date of birth",
}

// knownKeywords are every context word evidence may quote.
func knownKeywords(cfg Config) map[string]bool {
	out := map[string]bool{}
	for _, l := range []*keywordSet{nhsContext, chiContext, hcContext, ninoContext, ssnContext, npiContext,
		deaContext, mbiContext, snomedContext, icdContext, mrnContext, negativeContext} {
		for _, k := range l.kws {
			out[k.show] = true
		}
	}
	for _, k := range dobKeywords {
		out[k.show] = true
	}
	for _, p := range cfg.MRN {
		for _, w := range p.Context {
			out[strings.TrimSpace(w)] = true
		}
	}
	return out
}

func alnumOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isAlnum(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

var contextRE = regexp.MustCompile(`\((?:[^;()]*; )?(?:no context|(?:business )?context '([^']*)')\)$`)

// checkMatch asserts the invariants of every match: offsets in range, score
// in [0,1], a known detector, and evidence that reveals at most the last 4
// letters or digits of the value (none for dates and ICD-10 codes), never
// the value itself, and quotes only a known context keyword.
func checkMatch(t testing.TB, text string, m Match, kws map[string]bool) {
	t.Helper()
	if m.Start < 0 || m.End > len(text) || m.Start >= m.End {
		t.Fatalf("match %+v: offsets out of range for a text of %d bytes", m, len(text))
	}
	if m.Score < 0 || m.Score > 1 {
		t.Fatalf("match %+v: score out of [0,1]", m)
	}
	label, ok := labels[m.Detector]
	if !ok {
		t.Fatalf("match %+v: unknown detector", m)
	}
	if !strings.HasPrefix(m.Evidence, label+" ") {
		t.Fatalf("evidence %q does not start with %q", m.Evidence, label)
	}
	cm := contextRE.FindStringSubmatchIndex(m.Evidence)
	if cm == nil {
		t.Fatalf("evidence %q: no notes", m.Evidence)
	}
	if cm[2] >= 0 && !kws[m.Evidence[cm[2]:cm[3]]] {
		t.Fatalf("evidence %q quotes %q, which is not a context keyword", m.Evidence, m.Evidence[cm[2]:cm[3]])
	}
	masked := m.Evidence[len(label)+1 : cm[0]-1]
	value := alnumOf(text[m.Start:m.End])
	shown := alnumOf(masked)
	limit := min(4, len(value)/2)
	if m.Detector == DOB || m.Detector == ICD10 {
		limit = 0
	}
	if len(shown) > limit {
		t.Fatalf("evidence %q shows %q of %q: more than %d characters", m.Evidence, shown, value, limit)
	}
	if !strings.HasSuffix(value, shown) {
		t.Fatalf("evidence %q shows %q, which is not the end of the value", m.Evidence, shown)
	}
	if len(value) > 4 && (strings.Contains(m.Evidence, value) || strings.Contains(m.Evidence, text[m.Start:m.End])) {
		t.Fatalf("evidence %q contains the value", m.Evidence)
	}
}

type row struct {
	name   string
	text   string
	want   string  // the matched text; "" means no match from this detector
	min    float64 // score bounds when matched
	max    float64
	ctx    string // the context keyword evidence must quote; "" means none
	eviden string // exact evidence, when set
}

func runTable(t *testing.T, detector string, rows []row) {
	t.Helper()
	cfg := testConfig(t)
	kws := knownKeywords(cfg)
	single := detectorByName(t, cfg, detector)
	combined := Combined(cfg)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got := single.Find(r.text, nil)
			for _, m := range got {
				checkMatch(t, r.text, m, kws)
				if m.Detector != detector {
					t.Fatalf("detector %s returned a %s match", detector, m.Detector)
				}
			}
			var fromCombined []Match
			for _, m := range combined.Find(r.text, nil) {
				checkMatch(t, r.text, m, kws)
				if m.Detector == detector {
					fromCombined = append(fromCombined, m)
				}
			}
			if !slices.Equal(got, fromCombined) {
				t.Fatalf("Combined found %+v, the %s detector %+v", fromCombined, detector, got)
			}
			if r.want == "" {
				if len(got) != 0 {
					t.Fatalf("want no %s match in %q, got %+v", detector, r.text, got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one %s match %q in %q, got %+v", detector, r.want, r.text, got)
			}
			m := got[0]
			if s := r.text[m.Start:m.End]; s != r.want {
				t.Fatalf("matched %q, want %q", s, r.want)
			}
			if !m.Valid && detector != MRN {
				t.Fatalf("match %+v not marked valid", m)
			}
			if m.Score < r.min || m.Score > r.max {
				t.Fatalf("score %.3f, want between %.2f and %.2f (%s)", m.Score, r.min, r.max, m.Evidence)
			}
			if r.ctx == "" && strings.Contains(m.Evidence, " context '") && !strings.Contains(m.Evidence, "business context '") {
				t.Fatalf("evidence %q: want no positive context", m.Evidence)
			}
			if r.ctx != "" && !strings.Contains(m.Evidence, "context '"+r.ctx+"'") {
				t.Fatalf("evidence %q: want context %q", m.Evidence, r.ctx)
			}
			if r.eviden != "" && m.Evidence != r.eviden {
				t.Fatalf("evidence %q, want %q", m.Evidence, r.eviden)
			}
		})
	}
}

const (
	lowMax  = 0.35 // no context: never enough on its own
	highMin = 0.75 // with context
)

func TestNHSNumber(t *testing.T) {
	runTable(t, NHSNumber, []row{
		{name: "spaced with context", text: "Patient NHS No: 943 476 5919, seen today.", want: "943 476 5919", min: 0.9, max: 1, ctx: "NHS No",
			eviden: "NHS number ••• ••• 5919 (check digit valid; context 'NHS No')"},
		{name: "hyphenated", text: "NHS number 943-476-5919", want: "943-476-5919", min: highMin, max: 1, ctx: "NHS number",
			eviden: "NHS number •••-•••-5919 (check digit valid; context 'NHS number')"},
		{name: "plain", text: "NHS 4505577104.", want: "4505577104", min: highMin, max: 1, ctx: "NHS",
			eviden: "NHS number ••••••7104 (check digit valid; context 'NHS')"},
		{name: "context after", text: "4505577104 (NHS)", want: "4505577104", min: highMin, max: 1, ctx: "NHS"},
		{name: "context patient", text: "the patient, 612 345 6784, was", want: "612 345 6784", min: highMin, max: 1, ctx: "patient"},
		{name: "no context plain", text: "see 4505577104 for details", want: "4505577104", min: 0.1, max: 0.25},
		{name: "no context spaced", text: "see 943 476 5919 for details", want: "943 476 5919", min: 0.2, max: lowMax},
		{name: "context too far", text: "NHS" + strings.Repeat(" filler", 12) + " 4505577104", want: "4505577104", max: lowMax},
		{name: "invalid checksum", text: "NHS No: 943 476 5918"},
		{name: "check digit would be 10", text: "NHS No: 1234567890"},
		{name: "repeated digits", text: "NHS No: 444 444 4444"},
		{name: "repeated zeros", text: "NHS No: 0000000000"},
		{name: "all nines", text: "NHS No: 9999999999"},
		{name: "glued letter before", text: "NHS No: A4505577104"},
		{name: "glued letter after", text: "NHS No: 4505577104B"},
		{name: "longer run", text: "NHS No: 45055771041"},
		{name: "longer run before", text: "NHS No: 14505577104"},
		{name: "grouped then more digits", text: "NHS No: 943 476 59190"},
		{name: "hyphen continues", text: "NHS No: 943-476-5919-12"},
		{name: "hyphen prefix", text: "NHS No: 12-943-476-5919"},
		{name: "mixed separators", text: "NHS No: 943 476-5919"},
		{name: "decimal", text: "NHS No: 4505577104.5"},
		{name: "decimal before", text: "NHS No: 1.4505577104"},
		{name: "alnum prefix", text: "NHS No: INV-4505577104"},
		{name: "phone country code", text: "NHS No: +4505577104"},
		{name: "CHI range is not NHS", text: "NHS No: 0101901232"},
		{name: "H&C range is not NHS", text: "NHS No: 3201234567"},
		{name: "spaced among other numbers", text: "NHS No 943 476 5919 22 Acacia Avenue", want: "943 476 5919", min: highMin, max: 1, ctx: "NHS No"},
		{name: "case-insensitive context", text: "nhs number: 4505577104", want: "4505577104", min: highMin, max: 1, ctx: "NHS number"},
		{name: "start of text", text: "4505577104", want: "4505577104", max: lowMax},
		{name: "no-break spaces", text: "NHS No:\u00a0943\u00a0476\u00a05919", want: "943\u00a0476\u00a05919", min: 0.9, max: 1, ctx: "NHS No",
			eviden: "NHS number ••• ••• 5919 (check digit valid; context 'NHS No')"},
	})
}

func TestCHINumber(t *testing.T) {
	runTable(t, CHINumber, []row{
		{name: "plain with context", text: "CHI: 0101901232", want: "0101901232", min: highMin, max: 1, ctx: "CHI",
			eviden: "CHI number ••••••1232 (date and check digit valid; context 'CHI')"},
		{name: "6-4", text: "CHI number 150372 4565", want: "150372 4565", min: highMin, max: 1, ctx: "CHI number"},
		{name: "leap day", text: "CHI 2902845677", want: "2902845677", min: highMin, max: 1, ctx: "CHI"},
		{name: "no context", text: "ref: 3112990013", want: "3112990013", max: lowMax},
		{name: "invalid date", text: "CHI 3202845671"},
		{name: "month 13", text: "CHI 0113901234"},
		{name: "bad checksum", text: "CHI 0101901233"},
		{name: "glued", text: "CHI X0101901232"},
		{name: "repeated", text: "CHI 1111111111"},
	})
}

func TestHCNumber(t *testing.T) {
	runTable(t, HCNumber, []row{
		{name: "with context", text: "H&C number: 320 123 4567", want: "320 123 4567", min: 0.9, max: 1, ctx: "H&C number"},
		{name: "plain", text: "Health and Care number 3912345678", want: "3912345678", min: highMin, max: 1, ctx: "Health and Care number"},
		{name: "no context", text: "3201234567", want: "3201234567", max: lowMax},
		{name: "bad checksum", text: "H&C 3201234568"},
		{name: "outside range", text: "H&C 4505577104"},
		{name: "repeated", text: "H&C 3333333333"},
	})
}

func TestNINO(t *testing.T) {
	runTable(t, NINO, []row{
		{name: "compact with context", text: "NI number: AB123456C", want: "AB123456C", min: highMin, max: 1, ctx: "NI number",
			eviden: "NI number •••••456C (prefix and suffix valid; context 'NI number')"},
		{name: "spaced", text: "National Insurance: AB 12 34 56 C", want: "AB 12 34 56 C", min: 0.9, max: 1, ctx: "National Insurance"},
		{name: "six together spaced", text: "NINO JG 103759 A", want: "JG 103759 A", min: highMin, max: 1, ctx: "NINO"},
		{name: "no context", text: "code AB123456D here", want: "AB123456D", min: 0.3, max: 0.5},
		{name: "first letter D", text: "NINO DA123456C"},
		{name: "second letter O", text: "NINO AO123456C"},
		{name: "prefix GB", text: "NINO GB123456C"},
		{name: "prefix ZZ", text: "NINO ZZ123456C"},
		{name: "prefix TN", text: "NINO TN123456C"},
		{name: "suffix E", text: "NINO AB123456E"},
		{name: "no suffix", text: "NINO AB123456"},
		{name: "five digits", text: "NINO AB12345C"},
		{name: "lower case", text: "NINO ab123456c"},
		{name: "glued after", text: "NINO AB123456CX"},
		{name: "glued before", text: "NINO XAB123456C"},
		{name: "uneven pairs", text: "NINO AB 1234 56 C"},
	})
}

func TestSSN(t *testing.T) {
	runTable(t, SSN, []row{
		{name: "hyphenated with context", text: "SSN: 536-22-1234", want: "536-22-1234", min: 0.9, max: 1, ctx: "SSN",
			eviden: "SSN •••-••-1234 (area, group and serial valid; context 'SSN')"},
		{name: "spaced", text: "Social Security number 536 22 1234", want: "536 22 1234", min: 0.6, max: 0.7, ctx: "Social Security number"},
		{name: "spaced no context", text: "536 22 1234", want: "536 22 1234", max: 0.1},
		{name: "hyphenated no context", text: "id 536-22-1234", want: "536-22-1234", min: 0.4, max: 0.5},
		{name: "plain with context", text: "SSN 536221234", want: "536221234", min: 0.6, max: 0.7, ctx: "SSN"},
		{name: "plain no context", text: "536221234", want: "536221234", max: 0.1},
		{name: "area 000", text: "SSN 000-22-1234"},
		{name: "area 666", text: "SSN 666-22-1234"},
		{name: "area 9xx", text: "SSN 912-22-1234"},
		{name: "group 00", text: "SSN 536-00-1234"},
		{name: "serial 0000", text: "SSN 536-22-0000"},
		{name: "advertising number", text: "SSN 078-05-1120"},
		{name: "form example", text: "SSN 123-45-6789"},
		{name: "repeated", text: "SSN 111-11-1111"},
		{name: "longer", text: "SSN 536-22-12345"},
		{name: "date-like", text: "SSN 536/22/1234"},
	})
}

func TestNPI(t *testing.T) {
	runTable(t, NPI, []row{
		{name: "with context", text: "NPI: 1234567893", want: "1234567893", min: highMin, max: 1, ctx: "NPI",
			eviden: "NPI ••••••7893 (check digit valid; context 'NPI')"},
		{name: "no context", text: "1234567893", want: "1234567893", max: lowMax},
		{name: "bad check", text: "NPI 1234567890"},
		{name: "first digit 3", text: "NPI 3234567893"},
		{name: "grouped is not NPI", text: "NPI 123 456 7893"},
		{name: "glued", text: "NPI 1234567893x"},
	})
}

func TestDEA(t *testing.T) {
	runTable(t, DEA, []row{
		{name: "with context", text: "DEA# AB1234563", want: "AB1234563", min: highMin, max: 1, ctx: "DEA#",
			eviden: "DEA number •••••4563 (check digit valid; context 'DEA#')"},
		{name: "digit 9 second", text: "DEA A91234563", want: "A91234563", min: highMin, max: 1, ctx: "DEA"},
		{name: "no context", text: "see MJ1234563 ok", want: "MJ1234563", min: 0.25, max: 0.35},
		{name: "bad check", text: "DEA AB1234564"},
		{name: "bad first letter", text: "DEA ZB1234563"},
		{name: "too long", text: "DEA AB12345630"},
		{name: "lower case", text: "DEA ab1234563"},
	})
}

func TestMBI(t *testing.T) {
	runTable(t, MBI, []row{
		{name: "dashed with context", text: "Medicare MBI: 1EG4-TE5-MK73", want: "1EG4-TE5-MK73", min: 0.9, max: 1, ctx: "MBI",
			eviden: "Medicare MBI ••••-•••-MK73 (format valid; context 'MBI')"},
		{name: "compact", text: "MBI 1EG4TE5MK73", want: "1EG4TE5MK73", min: 0.9, max: 1, ctx: "MBI"},
		{name: "no context", text: "1EG4TE5MK73", want: "1EG4TE5MK73", min: 0.45, max: 0.55},
		{name: "excluded letter S", text: "MBI 1SG4TE5MK73"},
		{name: "position 1 zero", text: "MBI 0EG4TE5MK73"},
		{name: "position 4 letter", text: "MBI 1EGATE5MK73"},
		{name: "one dash only", text: "MBI 1EG4-TE5MK73"},
		{name: "too long", text: "MBI 1EG4TE5MK734"},
		{name: "lower case", text: "MBI 1eg4te5mk73"},
	})
}

func TestSNOMED(t *testing.T) {
	runTable(t, SNOMED, []row{
		{name: "with context", text: "SNOMED CT 22298006 |Myocardial infarction|", want: "22298006", min: 0.45, max: 0.55, ctx: "SNOMED CT",
			eviden: "SNOMED CT concept id ••••8006 (check digit and partition valid; context 'SNOMED CT')"},
		{name: "sctid", text: "SCTID: 73211009", want: "73211009", min: 0.45, max: 0.55, ctx: "SCTID"},
		{name: "no context", text: "38341003", want: "38341003", max: 0.1},
		{name: "bad check digit", text: "SNOMED 22298007"},
		{name: "bad partition", text: "SNOMED 22298026"},
		{name: "leading zero", text: "SNOMED 022298006"},
		{name: "too short", text: "SNOMED 10006"},
	})
}

func TestSNOMEDTwoConcepts(t *testing.T) {
	cfg := testConfig(t)
	got := detectorByName(t, cfg, SNOMED).Find("concept 404684003 and 195967001", nil)
	if len(got) != 2 || got[0].Score < 0.45 {
		t.Fatalf("want two SNOMED matches with context, got %+v", got)
	}
	for _, m := range got {
		checkMatch(t, "concept 404684003 and 195967001", m, knownKeywords(cfg))
	}
}

func TestICD10(t *testing.T) {
	runTable(t, ICD10, []row{
		{name: "dotted with context", text: "Diagnosis: E11.9 type 2", want: "E11.9", min: 0.75, max: 0.85, ctx: "diagnosis",
			eviden: "ICD-10 code •••.• (category in bundled list; context 'diagnosis')"},
		{name: "seven characters", text: "ICD-10-CM S72.001A", want: "S72.001A", min: 0.75, max: 0.85, ctx: "ICD-10-CM"},
		{name: "letter category", text: "Dx C4A.0", want: "C4A.0", min: 0.75, max: 0.85, ctx: "Dx"},
		{name: "category only with context", text: "ICD I10", want: "I10", min: 0.5, max: 0.6, ctx: "ICD"},
		{name: "dotted no context", text: "F32.1 was", want: "F32.1", min: 0.25, max: 0.35},
		{name: "category no context", text: "take the M25 north", want: "M25", max: 0.1},
		{name: "not a category", text: "Dx B12.0"},
		{name: "U outside list", text: "Dx U99.0"},
		{name: "compact form", text: "Dx E119"},
		{name: "model number", text: "Dx A320neo"},
		{name: "lower case", text: "Dx e11.9"},
		{name: "too long subcode", text: "Dx E11.65432"},
		{name: "glued", text: "Dx XE11.9"},
		{name: "decimal version", text: "Dx E11.9.1"},
	})
}

func TestDOB(t *testing.T) {
	runTable(t, DOB, []row{
		{name: "slashes", text: "DOB: 01/02/1960", want: "01/02/1960", min: 0.8, max: 0.9, ctx: "DOB",
			eviden: "date of birth ••/••/•••• (context 'DOB')"},
		{name: "dotted keyword", text: "D.O.B. 1 Feb 1960", want: "1 Feb 1960", min: 0.8, max: 0.9, ctx: "D.O.B.",
			eviden: "date of birth • ••• •••• (context 'D.O.B.')"},
		{name: "iso", text: "Date of birth: 1960-02-01.", want: "1960-02-01", min: 0.8, max: 0.9, ctx: "date of birth"},
		{name: "two-digit year", text: "dob 01.02.60", want: "01.02.60", min: 0.8, max: 0.9, ctx: "DOB"},
		{name: "ordinal month name", text: "Born on 3rd March 1945 in Leeds", want: "3rd March 1945", min: 0.65, max: 0.75, ctx: "born on"},
		{name: "month first", text: "born February 1, 1960", want: "February 1, 1960", min: 0.55, max: 0.65, ctx: "born"},
		{name: "hyphen month", text: "DOB 01-Feb-60", want: "01-Feb-60", min: 0.8, max: 0.9, ctx: "DOB"},
		{name: "US order", text: "DOB: 12/31/1970", want: "12/31/1970", min: 0.8, max: 0.9, ctx: "DOB"},
		{name: "of month", text: "date of birth 1st of February 1960", want: "1st of February 1960", min: 0.8, max: 0.9, ctx: "date of birth"},
		{name: "sept", text: "DOB 9 Sept 1999", want: "9 Sept 1999", min: 0.8, max: 0.9, ctx: "DOB"},
		{name: "next line", text: "DOB:\n 01/02/1960", want: "01/02/1960", min: 0.8, max: 0.9, ctx: "DOB"},
		{name: "impossible date", text: "DOB: 31/02/1960"},
		{name: "future", text: "DOB: 01/02/2099"},
		{name: "tomorrow", text: "DOB: 2025-06-02"},
		{name: "too old", text: "DOB: 01/01/1850"},
		{name: "year only", text: "born in 1960"},
		{name: "no keyword", text: "meeting on 01/02/1960"},
		{name: "too far", text: "DOB unknown; meeting arranged for 01/02/1960"},
		{name: "keyword inside word", text: "Dobson 01/02/1960"},
		{name: "first-born", text: "firstborn 01/02/1960"},
		{name: "longer number", text: "DOB 01/02/19601"},
	})
}

func TestMRN(t *testing.T) {
	runTable(t, MRN, []row{
		{name: "with context", text: "MRN: RX1234567", want: "RX1234567", min: 0.75, max: 0.85, ctx: "MRN",
			eviden: "MRN •••••4567 (pattern 'trust-mrn'; context 'MRN')"},
		{name: "admin context", text: "unit no RX7654321", want: "RX7654321", min: 0.75, max: 0.85, ctx: "unit no"},
		{name: "no context", text: "RX7654321", want: "RX7654321", min: 0.25, max: 0.35},
		{name: "no match", text: "RX123"},
	})
}

func TestCompilePatternErrors(t *testing.T) {
	for _, tc := range []struct{ name, expr string }{
		{"", `\d+`},
		{"bad name", `\d+`},
		{"ok", `(`},
		{"empty", `\d*`},
	} {
		if _, err := CompilePattern(tc.name, tc.expr); err == nil {
			t.Errorf("CompilePattern(%q, %q): want an error", tc.name, tc.expr)
		}
	}
	p, err := CompilePattern("a", `A\d{6}`)
	if err != nil {
		t.Fatal(err)
	}
	if err := (Config{MRN: []NamedPattern{p, p}}).Validate(); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("Validate with a duplicate name: %v", err)
	}
	if err := (Config{MRN: []NamedPattern{p}}).Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestIdentifiersNames(t *testing.T) {
	var names []string
	for _, d := range Identifiers(Config{}) {
		names = append(names, d.Name())
	}
	want := []string{NHSNumber, CHINumber, HCNumber, NINO, SSN, NPI, DEA, MBI, MRN, SNOMED, ICD10, DOB}
	if !slices.Equal(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	if Combined(Config{}).Name() != CombinedName {
		t.Fatal("Combined has the wrong name")
	}
}

// TestBusinessMail is the negative set: order and invoice numbers, phone
// numbers, tracking numbers, bank details and ordinary dates must never
// reach a score that a policy would act on.
func TestBusinessMail(t *testing.T) {
	cfg := testConfig(t)
	kws := knownKeywords(cfg)
	texts := []string{
		"Your order 4505577104 has shipped and will arrive on 01/02/2024.",
		"Invoice INV-4505577104 is attached. Payment ref 9434765919, sort code 12-34-56, account 12345678.",
		"Call us on 07700 900123, +44 7700 900123, +447700900123 or 020 7946 0958.",
		"US office: (555) 123-4567 or 555-123-4567, fax 555 123 4567.",
		"Tracking number 1Z999AA10123456784; parcel 9434765919 via Royal Mail JD014600003784987651.",
		"Card ending 4111 1111 1111 1111, expiry 09/27.",
		"Meeting on 1 Feb 2024 in room 3; quarterly results Q3 2024 up 4.5%.",
		"Quote 6123456784 valid until 2024-03-15. VAT reg GB123456789.",
		"Ticket #7500000014 was resolved. Booking reference 4505577104.",
		"ISBN 978-0-306-40615-7; serial 3201234567; PO 0101901232.",
	}
	for _, text := range texts {
		for _, m := range Combined(cfg).Find(text, nil) {
			checkMatch(t, text, m, kws)
			if m.Score > 0.3 {
				t.Errorf("%q: %s scored %.2f (%s)", text, m.Detector, m.Score, m.Evidence)
			}
		}
	}
	// Phone numbers are never identifiers at all.
	for _, text := range []string{"07700 900123", "+44 7700 900123", "+44 7700900123", "+4520112345", "020 7946 0958", "0161 496 0000"} {
		if got := Combined(cfg).Find(text, nil); len(got) != 0 {
			t.Errorf("phone %q: got %+v", text, got)
		}
	}
}

// TestRandomOrderNumbers: about 1 in 11 random 10-digit numbers passes the
// NHS check digit; with no context they must stay low.
func TestRandomOrderNumbers(t *testing.T) {
	cfg := testConfig(t)
	kws := knownKeywords(cfg)
	det := Combined(cfg)
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "Thanks for your purchase, item %010d will be dispatched soon.\n", r.Int64N(1e10))
	}
	text := b.String()
	got := det.Find(text, nil)
	nhs := 0
	for _, m := range got {
		checkMatch(t, text, m, kws)
		if m.Detector == NHSNumber {
			nhs++
		}
		if m.Score > 0.25 {
			t.Errorf("%s scored %.2f without context: %s", m.Detector, m.Score, m.Evidence)
		}
	}
	if nhs == 0 {
		t.Fatal("expected some random numbers to pass the NHS check digit (at low score)")
	}
}

func TestContextScoring(t *testing.T) {
	cfg := testConfig(t)
	det := detectorByName(t, cfg, NHSNumber)
	score := func(text string) float64 {
		got := det.Find(text, nil)
		if len(got) != 1 {
			t.Fatalf("%q: want one match, got %+v", text, got)
		}
		return got[0].Score
	}
	plain := score("value 4505577104 here")
	withCtx := score("NHS number 4505577104 here")
	negative := score("order 4505577104 here")
	both := score("order for NHS No 4505577104")
	if !(withCtx > plain && plain > negative) {
		t.Fatalf("scores: context %.2f, plain %.2f, negative %.2f", withCtx, plain, negative)
	}
	if both != withCtx {
		t.Fatalf("a positive context word must win over a negative one: %.2f vs %.2f", both, withCtx)
	}
}

func TestConcurrentFind(t *testing.T) {
	det := Combined(testConfig(t))
	text := mixedText(32 << 10)
	want := det.Find(text, nil)
	done := make(chan []Match)
	for range 4 {
		go func() { done <- det.Find(text, nil) }()
	}
	for range 4 {
		if got := <-done; !slices.Equal(got, want) {
			t.Fatal("concurrent Find calls disagree")
		}
	}
}

func TestMatchCap(t *testing.T) {
	text := strings.Repeat("NHS 4505577104\n", MaxMatchesPerDetector+10)
	got := detectorByName(t, testConfig(t), NHSNumber).Find(text, nil)
	if len(got) != MaxMatchesPerDetector {
		t.Fatalf("got %d matches, want the cap %d", len(got), MaxMatchesPerDetector)
	}
}

func TestFindAppends(t *testing.T) {
	det := Combined(testConfig(t))
	dst := []Match{{Detector: "other"}}
	got := det.Find("NHS 4505577104", dst)
	if len(got) != 2 || got[0].Detector != "other" || got[1].Detector != NHSNumber {
		t.Fatalf("Find must append: %+v", got)
	}
}

// TestNoAllocations: scanning text costs no allocation; only matches do.
func TestNoAllocations(t *testing.T) {
	det := Combined(Config{Now: fixedNow})
	text := mixedText(64 << 10)
	// Strip everything that could match, keeping the shape of the text.
	clean := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return 'x'
		}
		return r
	}, text)
	dst := make([]Match, 0, 16)
	allocs := testing.AllocsPerRun(20, func() { dst = det.Find(clean, dst[:0]) })
	if len(dst) != 0 {
		t.Fatalf("cleaned text still matched: %+v", dst[0])
	}
	if allocs != 0 {
		t.Fatalf("Find allocated %.0f times on %d bytes without identifiers", allocs, len(clean))
	}
}

func TestICDCategoriesFile(t *testing.T) {
	tab := icdCategories()
	for _, c := range []string{"A00", "A09", "B20", "C4A", "C7B", "D3A", "E11", "F32", "I10", "I1A", "I5A", "J45", "M1A", "O9A", "S72", "T36", "U07", "Z3A", "Z99"} {
		if !tab.has(c[0], c[1], c[2]) {
			t.Errorf("%s missing", c)
		}
	}
	for _, c := range []string{"A10", "B12", "C42", "E14", "U99", "X60", "Y10", "T00", "E1A", "I5B"} {
		if tab.has(c[0], c[1], c[2]) {
			t.Errorf("%s should not be listed", c)
		}
	}
	for _, bad := range []string{"A00-B09", "A0", "A0A-A0B", "A09-A00"} {
		if _, err := parseICDCategories(bad); err == nil {
			t.Errorf("parseICDCategories(%q): want an error", bad)
		}
	}
}

func TestChecks(t *testing.T) {
	ten := func(s string) *[10]byte {
		var d [10]byte
		collectDigits(s, 0, len(s), d[:])
		return &d
	}
	if !mod11Valid(ten("9434765919")) || mod11Valid(ten("9434765910")) {
		t.Error("mod11")
	}
	if !npiValid(ten("1234567893")) || npiValid(ten("1234567894")) {
		t.Error("npi")
	}
	var d7 [7]byte
	collectDigits("1234563", 0, 7, d7[:])
	if !deaValid(&d7) {
		t.Error("dea")
	}
	for _, s := range []string{"22298006", "73211009", "38341003", "404684003", "195967001", "236974004"} {
		b := make([]byte, len(s))
		collectDigits(s, 0, len(s), b)
		if !verhoeffValid(b) {
			t.Errorf("verhoeff %s", s)
		}
		b[len(b)-1] = (b[len(b)-1] + 1) % 10
		if verhoeffValid(b) {
			t.Errorf("verhoeff %s altered", s)
		}
	}
}
