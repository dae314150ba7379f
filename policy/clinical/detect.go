package clinical

import (
	"github.com/sealpost/sealpost/policy/detect"
	"github.com/sealpost/sealpost/policy/extract"
)

// Base scores of a single hit, by group, for [Matcher.Find]. One clinical
// word says little; the message-level score in package classify weighs the
// whole message.
var groupScore = [NumGroups]float64{
	Diagnosis: 0.5, Symptom: 0.4, Drug: 0.4, Procedure: 0.5, Lab: 0.7, Vital: 0.6,
	Letter: 0.5, Note: 0.5, Personal: 0.3, Salutation: 0.1, Population: 0.1, Marketing: 0.05, News: 0.05,
}

var _ detect.Detector = (*Matcher)(nil)

// Find implements [detect.Detector]: each lexicon hit becomes a match named
// "clinical". A drug with a dose or a title with a name is Valid and scores
// higher. Evidence names the group only, never the term: even a cue such
// as "discharge summary" quotes the message.
func (m *Matcher) Find(text string, dst []detect.Match) []detect.Match {
	var buf [64]Hit
	for _, h := range m.Scan(text, buf[:0]) {
		dst = append(dst, m.match(h))
	}
	return dst
}

func (m *Matcher) match(h Hit) detect.Match {
	score := groupScore[h.Group]
	ev := h.Group.String()
	if h.Group == Drug && h.Qualified {
		score, ev = 0.8, "drug with a dose"
	}
	if h.Qualified && h.Group != Drug {
		score = min(1, score+0.2)
	}
	return detect.Match{Detector: m.Name(), Start: h.Start, End: h.End, Score: score, Valid: h.Qualified, Evidence: ev}
}

// StructuredName is the detector name of structured payload matches.
const StructuredName = "structured"

// Structured sniffs one extracted unit for a structured health payload:
// its raw bytes first, then its text. A match spans the whole unit text
// (0, len(Text)); evidence names the format and the unit's place.
func Structured(u extract.Unit) []detect.Match {
	p, ok := Sniff(string(u.Raw))
	if !ok && u.Text != "" {
		p, ok = Sniff(u.Text)
	}
	if !ok {
		return nil
	}
	return []detect.Match{{
		Detector: StructuredName, Start: 0, End: len(u.Text), Score: p.Score, Valid: true,
		Evidence: p.Describe() + " in " + u.Where,
	}}
}
