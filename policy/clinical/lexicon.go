package clinical

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

//go:embed lexicon.txt
var lexiconText string

// Group is the kind of clinical or contextual language a term belongs to.
// The classifier weighs each group separately.
type Group uint8

// The groups of the lexicon.
const (
	// Diagnosis: conditions and diseases ("atrial fibrillation", "T2DM").
	Diagnosis Group = iota
	// Symptom: complaints and signs ("chest pain", "night sweats").
	Symptom
	// Drug: medicines; a hit is qualified when a dose or frequency
	// follows ("sertraline 50mg mane").
	Drug
	// Procedure: operations, investigations and therapies.
	Procedure
	// Lab: laboratory tests; they count only with a value ("eGFR 52").
	Lab
	// Vital: vital signs with a value ("BP 142/88", "SpO2 94%").
	Vital
	// Letter: the cues of a clinical letter or record ("discharge
	// summary", "Dear Dr", "Plan:", "NHS number").
	Letter
	// Note: clinical shorthand of notes ("PMHx", "O/E", "SOB", "bd").
	Note
	// Personal: language about one person ("he was admitted", "you were
	// seen", "this gentleman").
	Personal
	// Salutation: weak personal address ("your", "Mrs").
	Salutation
	// Population: research and population-level language ("patients",
	// "cohort", "95% CI", "case report").
	Population
	// Marketing: newsletters, promotion and pharma marketing
	// ("unsubscribe", "prescribing information").
	Marketing
	// News: press and news language ("according to", "spokesperson").
	News

	numGroups
)

// NumGroups is the number of groups; groups are 0..NumGroups-1.
const NumGroups = int(numGroups)

var groupNames = [...]string{
	Diagnosis: "diagnosis", Symptom: "symptom", Drug: "drug", Procedure: "procedure",
	Lab: "lab", Vital: "vital", Letter: "letter", Note: "note", Personal: "personal",
	Salutation: "salutation", Population: "population", Marketing: "marketing", News: "news",
}

// String returns the group's name as used in the lexicon file.
func (g Group) String() string {
	if int(g) < len(groupNames) {
		return groupNames[g]
	}
	return fmt.Sprintf("group(%d)", g)
}

// Sensitive reports whether a term of the group is itself health
// information about whoever the text is about. Evidence for such hits names
// only the group, never the term.
func (g Group) Sensitive() bool {
	switch g {
	case Diagnosis, Symptom, Drug, Procedure, Lab, Vital:
		return true
	}
	return false
}

// Term is one lexicon entry.
type Term struct {
	// Text is the term as written in the lexicon (white space normalized).
	Text  string
	Group Group
	// Case: the term matches only in exactly this case.
	Case bool
	// Dose: a drug; hits are qualified when a dose or frequency follows.
	Dose bool
	// Value: a lab test or vital sign; it is reported only when a value
	// follows.
	Value bool
	// Unit: with Value, the value must carry a unit.
	Unit bool
	// Name: a title ("Mrs"); hits are qualified when a capitalised name
	// follows ("Mrs Hughes").
	Name bool
}

// ParseLexicon reads a lexicon in the format of the embedded lexicon.txt:
// "[group flags]" section lines, one term per line with optional " !flag"
// suffixes, and "#" comments.
func ParseLexicon(src string) ([]Term, error) {
	var (
		terms   []Term
		cur     Term
		inGroup bool
	)
	for n, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			fields := strings.Fields(line[1 : len(line)-1])
			if len(fields) == 0 {
				return nil, fmt.Errorf("line %d: empty section", n+1)
			}
			g, ok := groupByName(fields[0])
			if !ok {
				return nil, fmt.Errorf("line %d: unknown group %q", n+1, fields[0])
			}
			cur = Term{Group: g}
			for _, f := range fields[1:] {
				if err := setFlag(&cur, f); err != nil {
					return nil, fmt.Errorf("line %d: %w", n+1, err)
				}
			}
			inGroup = true
			continue
		}
		if !inGroup {
			return nil, fmt.Errorf("line %d: term before the first section", n+1)
		}
		t := cur
		text, flags, _ := strings.Cut(line, " !")
		for _, f := range strings.Fields(strings.ReplaceAll(flags, "!", " ")) {
			if err := setFlag(&t, f); err != nil {
				return nil, fmt.Errorf("line %d: %w", n+1, err)
			}
		}
		t.Text = strings.Join(strings.Fields(text), " ")
		if t.Text == "" {
			return nil, fmt.Errorf("line %d: empty term", n+1)
		}
		terms = append(terms, t)
	}
	if len(terms) == 0 {
		return nil, fmt.Errorf("lexicon has no terms")
	}
	return terms, nil
}

func groupByName(s string) (Group, bool) {
	for g, name := range groupNames {
		if name == s {
			return Group(g), true
		}
	}
	return 0, false
}

func setFlag(t *Term, f string) error {
	switch f {
	case "case":
		t.Case = true
	case "dose":
		t.Dose = true
	case "value":
		t.Value = true
	case "unit":
		t.Value, t.Unit = true, true
	case "name":
		t.Name = true
	default:
		return fmt.Errorf("unknown flag %q", f)
	}
	return nil
}

var lexicon = sync.OnceValue(func() *Matcher {
	terms, err := ParseLexicon(lexiconText)
	if err != nil {
		panic(fmt.Sprintf("clinical: invalid embedded lexicon: %v", err))
	}
	m, err := NewMatcher(terms)
	if err != nil {
		panic(fmt.Sprintf("clinical: failed to compile embedded lexicon: %v", err))
	}
	return m
})

// Lexicon returns the matcher for the embedded, curated lexicon. It is built
// once and shared; a Matcher is immutable and safe for concurrent use.
func Lexicon() *Matcher { return lexicon() }
