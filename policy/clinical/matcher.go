package clinical

import (
	"fmt"
)

// Hit is one lexicon match in a text.
type Hit struct {
	// Term indexes Matcher.Terms.
	Term  int32
	Group Group
	// Start and End are byte offsets in the text.
	Start, End int
	// Qualified: for a drug, a dose or frequency follows; for a title, a
	// capitalised name follows; for a lab test or vital sign (reported only
	// with a value) always true; otherwise false.
	Qualified bool
}

// Matcher finds lexicon terms in text with an Aho–Corasick automaton. It is
// immutable and safe for concurrent use.
type Matcher struct {
	terms []Term
	pats  []string // normalized (folded) patterns, per term
	ac    *automaton
}

// NewMatcher compiles terms.
func NewMatcher(terms []Term) (*Matcher, error) {
	m := &Matcher{terms: append([]Term(nil), terms...)}
	m.pats = make([]string, len(terms))
	for i, t := range terms {
		m.pats[i] = normalizePattern(t.Text)
		if m.pats[i] == "" {
			return nil, fmt.Errorf("term %d: empty", i)
		}
		if t.Case {
			// Keep the case-sensitive form comparable: same white space
			// normalization, original case.
			m.terms[i].Text = normalizeSpace(t.Text)
		}
	}
	marked := make([]string, len(m.pats))
	for i, p := range m.pats {
		marked[i] = markPattern(p)
	}
	ac, err := buildAutomaton(marked)
	if err != nil {
		return nil, fmt.Errorf("failed to compile lexicon: %w", err)
	}
	m.ac = ac
	return m, nil
}

func normalizeSpace(s string) string {
	out := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, s[i])
	}
	return string(out)
}

// Terms returns the lexicon terms; Hit.Term indexes it. Do not modify it.
func (m *Matcher) Terms() []Term { return m.terms }

// Name is the detector name of the clinical lexicon.
func (m *Matcher) Name() string { return "clinical" }

// Scan appends the hits in text to dst and returns it. It allocates nothing
// beyond growing dst. Overlapping hits are all reported.
func (m *Matcher) Scan(text string, dst []Hit) []Hit {
	dst, _ = m.ScanWords(text, dst)
	return dst
}

// ScanWords is Scan that also counts the words of text (runs of word bytes:
// ASCII letters and digits, and non-ASCII bytes), which it sees anyway.
func (m *Matcher) ScanWords(text string, dst []Hit) ([]Hit, int) {
	words := 0
	a := m.ac
	delta, class, word := a.delta, &a.class, &a.word
	s := uint32(0)
	prevSpace, prevWord := true, false
	for i := 0; i < len(text); i++ {
		b := text[i]
		c := class[b]
		if c == spaceClass {
			if prevSpace {
				continue
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
		if w := word[b]; w != prevWord {
			prevWord = w
			if w {
				// A word starts: feed the boundary symbol. No pattern ends
				// with it, so the state it leads to has no outputs.
				s = delta[s+boundaryClass] & stateMask
				words++
			}
		}
		v := delta[s+uint32(c)]
		s = v & stateMask
		if v&outFlag != 0 {
			dst = m.emit(text, i+1, s/uint32(a.nclass), dst)
		}
	}
	return dst, words
}

// emit appends the valid hits among the outputs of state st for a match
// ending at end.
func (m *Matcher) emit(text string, end int, st uint32, dst []Hit) []Hit {
	a := m.ac
	for _, id := range a.outs[a.outIdx[st]:a.outIdx[st+1]] {
		pat := m.pats[id]
		start := matchStart(text, end, pat)
		if !boundaryOK(text, start, end, pat) {
			continue
		}
		t := &m.terms[id]
		if t.Case && !sameCase(text[start:end], t.Text) {
			continue
		}
		h := Hit{Term: id, Group: t.Group, Start: start, End: end}
		switch {
		case t.Value:
			if !valueFollows(text, end, t.Unit) {
				continue
			}
			h.Qualified = true
		case t.Dose:
			h.Qualified = doseFollows(text, end)
		case t.Name:
			h.Qualified = nameFollows(text, end)
		}
		dst = append(dst, h)
	}
	return dst
}

// isWord reports whether b is part of a word: ASCII letters and digits, and
// any non-ASCII byte (so that a term never matches inside a longer UTF-8
// word).
func isWord(b byte) bool {
	return ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') || ('0' <= b && b <= '9') || b >= 0x80
}

// boundaryOK checks word boundaries at the edges of a match whose pattern
// begins or ends with a word byte.
func boundaryOK(text string, start, end int, pat string) bool {
	if isWord(pat[0]) && start > 0 && isWord(text[start-1]) {
		return false
	}
	if isWord(pat[len(pat)-1]) && end < len(text) && isWord(text[end]) {
		return false
	}
	return true
}

// sameCase compares a matched span with a case-sensitive term, treating any
// run of white space in the span as the term's single space.
func sameCase(span, term string) bool {
	j := 0
	for i := 0; i < len(span); i++ {
		if j >= len(term) {
			return false
		}
		if isSpace(span[i]) {
			if term[j] != ' ' {
				return false
			}
			for i+1 < len(span) && isSpace(span[i+1]) {
				i++
			}
			j++
			continue
		}
		if span[i] != term[j] {
			return false
		}
		j++
	}
	return j == len(term)
}
