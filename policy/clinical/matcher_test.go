package clinical

import (
	"regexp"
	"strings"
	"testing"
)

// hitsOf returns "group:text[+]" for each hit, "+" marking a qualified hit.
func hitsOf(m *Matcher, text string) []string {
	var out []string
	for _, h := range m.Scan(text, nil) {
		s := h.Group.String() + ":" + text[h.Start:h.End]
		if h.Qualified {
			s += "+"
		}
		out = append(out, s)
	}
	return out
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

func TestLexiconMatches(t *testing.T) {
	m := Lexicon()
	tests := []struct {
		text    string
		want    []string // each must be among the hits
		notWant []string // none may be among the hits
	}{
		{"Started sertraline 50mg mane.", []string{"drug:sertraline+"}, nil},
		{"metformin 500 mg bd", []string{"drug:metformin+", "note:bd"}, nil},
		{"Ramipril 2.5mg OD and Amlodipine 5 mg once daily", []string{"drug:Ramipril+", "drug:Amlodipine+"}, nil},
		{"Metformin MR 500mg", []string{"drug:Metformin+"}, nil},
		{"paracetamol prn", []string{"drug:paracetamol+"}, nil},
		{"we discussed whether metformin helps", []string{"drug:metformin"}, []string{"drug:metformin+"}},
		{"HbA1c 48 mmol/mol", []string{"lab:HbA1c+"}, nil},
		{"eGFR 52, K+ 5.9 mmol/L, Hb 98 g/L", []string{"lab:eGFR+", "lab:K++", "lab:Hb+"}, nil},
		{"HbA1c: 48", []string{"lab:HbA1c+"}, nil},
		{"an HbA1c test measures", nil, []string{"lab:HbA1c+"}},
		{"K+ 5.9", []string{"lab:K++"}, nil},
		{"Na 138", nil, []string{"lab:Na+"}},
		{"Na 138 mmol/L", []string{"lab:Na+"}, nil},
		{"Dear Mrs Hughes and Mr. O'Brien, Dr A Patel", []string{"salutation:Mrs+", "salutation:Mr+", "salutation:Dr+"}, nil},
		{"mrs smith", []string{"salutation:mrs"}, []string{"salutation:mrs+"}},
		{"BP 142/88, HR 96, SpO2 94%", []string{"vital:BP+", "vital:HR+", "vital:SpO2+"}, nil},
		{"Discharge  Summary\n", []string{"letter:Discharge  Summary"}, nil},
		{"Dear Dr Patel,", []string{"letter:Dear Dr"}, nil},
		{"PMHx: T2DM, HTN. O/E chest clear. Imp: LRTI. Plan: abx", []string{"note:PMHx", "note:T2DM", "note:HTN", "note:O/E", "note:chest clear", "letter:Imp:", "note:LRTI", "letter:Plan:", "note:abx"}, nil},
		{"c/o SOB on exertion", []string{"note:c/o", "note:SOB"}, nil},
		{"he began to sob quietly", nil, []string{"note:sob"}},
		{"an asthmatic", nil, []string{"diagnosis:asthma"}},
		{"history of asthma.", []string{"diagnosis:asthma"}, nil},
		{"she was admitted with chest pain", []string{"personal:she was admitted", "symptom:chest pain"}, nil},
		{"unsubscribe from this newsletter", []string{"marketing:unsubscribe", "marketing:newsletter"}, nil},
		{"In a randomised controlled trial of 400 participants", []string{"population:randomised controlled trial", "population:participants"}, nil},
		{"Order 4412345678 shipped", nil, []string{"lab:Order"}},
		{"pharmacists", nil, []string{"diagnosis:pharmacists"}},
	}
	for _, tt := range tests {
		got := hitsOf(m, tt.text)
		for _, w := range tt.want {
			if !contains(got, w) {
				t.Errorf("%q: missing %s; got %v", tt.text, w, got)
			}
		}
		for _, w := range tt.notWant {
			if contains(got, w) {
				t.Errorf("%q: unexpected %s; got %v", tt.text, w, got)
			}
		}
	}
}

func TestScanOffsets(t *testing.T) {
	m := Lexicon()
	text := "x\tDISCHARGE \r\n SUMMARY  and   Past   Medical History."
	for _, h := range m.Scan(text, nil) {
		span := text[h.Start:h.End]
		term := m.Terms()[h.Term].Text
		if normalizePattern(span) != normalizePattern(term) {
			t.Errorf("hit %q at [%d,%d) does not spell term %q", span, h.Start, h.End, term)
		}
	}
}

// TestScanAgainstNaive checks the automaton against a plain search for every
// term over texts built from the lexicon itself.
func TestScanAgainstNaive(t *testing.T) {
	m := Lexicon()
	var b strings.Builder
	for i, term := range m.Terms() {
		b.WriteString(term.Text)
		switch i % 4 {
		case 0:
			b.WriteString(" 5 mg/L ")
		case 1:
			b.WriteString(", ")
		case 2:
			b.WriteString("\n")
		default:
			b.WriteString(" x")
		}
	}
	text := b.String()
	got := map[[3]int]bool{}
	for _, h := range m.Scan(text, nil) {
		got[[3]int{int(h.Term), h.Start, h.End}] = true
	}
	// Naive: a regexp per term with the same rules.
	for id, term := range m.Terms() {
		if term.Value {
			continue // depends on what follows; covered by TestLexiconMatches
		}
		expr := regexp.QuoteMeta(term.Text)
		expr = strings.ReplaceAll(expr, " ", `\s+`)
		if !term.Case {
			expr = "(?i)" + expr
		}
		re := regexp.MustCompile(expr)
		for _, loc := range re.FindAllStringIndex(text, -1) {
			if !boundaryOK(text, loc[0], loc[1], m.pats[id]) {
				continue
			}
			if !got[[3]int{id, loc[0], loc[1]}] {
				t.Errorf("term %q at [%d,%d) %q not found by Scan", term.Text, loc[0], loc[1], text[loc[0]:loc[1]])
			}
		}
	}
}

func TestScanAllocs(t *testing.T) {
	m := Lexicon()
	text := strings.Repeat("Dear Dr Smith, I saw this 67 year old man with T2DM on metformin 500mg bd. HbA1c 58 mmol/mol. ", 50)
	dst := make([]Hit, 0, 4096)
	allocs := testing.AllocsPerRun(20, func() { dst = m.Scan(text, dst[:0]) })
	if allocs != 0 {
		t.Fatalf("Scan allocated %.1f times per run with a large enough dst; want 0", allocs)
	}
	if len(dst) == 0 {
		t.Fatal("Scan found nothing in a clinical text")
	}
}

func TestParseLexiconErrors(t *testing.T) {
	for _, src := range []string{"", "term\n", "[nosuch]\nx\n", "[drug]\nx !bogus\n", "[]\n"} {
		if _, err := ParseLexicon(src); err == nil {
			t.Errorf("ParseLexicon(%q) succeeded; want an error", src)
		}
	}
}

func TestFindEvidence(t *testing.T) {
	m := Lexicon()
	text := "Discharge summary. Sertraline 50mg mane for depression. HbA1c 48 mmol/mol."
	ms := m.Find(text, nil)
	if len(ms) == 0 {
		t.Fatal("Find found nothing")
	}
	for _, x := range ms {
		low := strings.ToLower(x.Evidence)
		for _, secret := range []string{"sertraline", "depression", "hba1c", "48", "discharge"} {
			if strings.Contains(low, secret) {
				t.Errorf("evidence %q reveals %q", x.Evidence, secret)
			}
		}
		if x.Detector != "clinical" || x.Score <= 0 || x.Score > 1 || text[x.Start:x.End] == "" {
			t.Errorf("bad match %+v", x)
		}
	}
	var sawDose, sawCue bool
	for _, x := range ms {
		sawDose = sawDose || (x.Evidence == "drug with a dose" && x.Valid)
		sawCue = sawCue || x.Evidence == "letter"
	}
	if !sawDose || !sawCue {
		t.Errorf("want a valid drug-with-dose match and the letter cue; got %+v", ms)
	}
}
