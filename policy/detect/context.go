package detect

import (
	"strings"
	"unicode/utf8"
)

// Context windows, in bytes before the start and after the end of a match.
const (
	contextBefore = 60
	contextAfter  = 20
)

// negativeFactor multiplies the score of a match that has a business word
// ("invoice", "tel", "order", ...) and no positive context word near it.
const negativeFactor = 0.5

// keyword is a context word. lc is its lower-case form; a space in it matches
// one space, tab, line break, '-' or '_' in the text. show is how evidence
// quotes it, so evidence never copies text from the message.
type keyword struct {
	lc   string
	show string
}

func newKeyword(show string) keyword {
	return keyword{lc: strings.ToLower(strings.TrimSpace(show)), show: strings.TrimSpace(show)}
}

// keywordSet indexes keywords by their first byte, so a window is searched
// with one table lookup per byte.
type keywordSet struct {
	kws   []keyword
	first [256][]uint16
}

func newKeywordSet(kws []keyword) *keywordSet {
	s := &keywordSet{}
	for _, k := range kws {
		if k.lc == "" || len(s.kws) == 1<<16-1 {
			continue
		}
		c := k.lc[0]
		s.first[c] = append(s.first[c], uint16(len(s.kws)))
		if c >= 'a' && c <= 'z' {
			s.first[c-'a'+'A'] = s.first[c]
		}
		s.kws = append(s.kws, k)
	}
	return s
}

func keywords(show ...string) *keywordSet {
	out := make([]keyword, len(show))
	for i, s := range show {
		out[i] = newKeyword(s)
	}
	return newKeywordSet(out)
}

// Positive context words per detector.
var (
	nhsContext    = keywords("NHS", "NHS No", "NHS number", "NHS num", "NHS#", "patient")
	chiContext    = keywords("CHI", "CHI No", "CHI number", "Community Health Index", "patient")
	hcContext     = keywords("H&C", "H&C No", "H&C number", "HCN", "Health and Care number", "Health & Care number", "patient")
	ninoContext   = keywords("NINO", "NI No", "NI number", "National Insurance", "National Insurance number", "NI#")
	ssnContext    = keywords("SSN", "SSN#", "SS#", "Social Security", "Social Security number", "Social Security No")
	npiContext    = keywords("NPI", "NPI#", "National Provider Identifier", "provider", "prescriber")
	deaContext    = keywords("DEA", "DEA#", "DEA No", "DEA number", "DEA registration", "prescriber")
	mbiContext    = keywords("MBI", "Medicare", "Medicare number", "Medicare Beneficiary Identifier", "Medicare ID", "beneficiary")
	snomedContext = keywords("SNOMED", "SNOMED CT", "SCTID", "SCT", "concept", "concept id", "conceptId")
	icdContext    = keywords("ICD", "ICD-10", "ICD10", "ICD-10-CM", "diagnosis", "diagnoses", "Dx", "Ddx", "code", "diag")
	mrnContext    = keywords("MRN", "MRN#", "medical record", "medical record number", "record number", "hospital number", "hospital no", "hosp no", "patient", "unit number", "PAS")

	// negativeContext marks business numbers: orders, invoices, parcels,
	// phones, bank and company references.
	negativeContext = keywords("order", "order no", "invoice", "inv", "tracking", "track", "parcel",
		"shipment", "consignment", "delivery", "tel", "telephone", "phone", "mobile", "mob", "cell", "fax",
		"call", "account", "acct", "sort code", "IBAN", "SWIFT", "ref", "reference", "PO", "purchase order",
		"serial", "SKU", "customer", "booking", "ticket", "ISBN", "VAT", "company", "case", "quote",
		"transaction", "payment", "receipt")
)

// findContext returns the keyword of set that occurs as a whole word within
// the context window around t[start:end] closest to the match (the longer
// one when two are as close: "NHS No" before "NHS").
func findContext(t string, start, end int, set *keywordSet) (keyword, bool) {
	var best keyword
	bestDist := -1
	consider := func(p int, kw keyword) {
		var d int
		switch {
		case p+len(kw.lc) <= start:
			d = start - (p + len(kw.lc))
		case p >= end:
			d = p - end
		default:
			return // overlaps the match
		}
		if bestDist < 0 || d < bestDist || (d == bestDist && len(kw.lc) > len(best.lc)) {
			best, bestDist = kw, d
		}
	}
	scan := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			c := t[p]
			if p > 0 && class[c]&cAlnum != 0 && class[t[p-1]]&cAlnum != 0 {
				continue // inside a word
			}
			for _, ki := range set.first[c] {
				kw := set.kws[ki]
				if p+len(kw.lc) <= hi && wordAt(t, p, kw.lc) {
					consider(p, kw)
				}
			}
		}
	}
	scan(max(0, start-contextBefore), start)
	scan(end, min(len(t), end+contextAfter))
	return best, bestDist >= 0
}

func wordAt(t string, p int, kw string) bool {
	if len(kw) == 0 || lower(t[p]) != kw[0] || !equalFoldKeyword(t[p:p+len(kw)], kw) {
		return false
	}
	if isAlnum(kw[0]) && p > 0 && isAlnum(t[p-1]) {
		return false
	}
	e := p + len(kw)
	return !(isAlnum(kw[len(kw)-1]) && e < len(t) && isAlnum(t[e]))
}

func equalFoldKeyword(s, kw string) bool {
	for i := 0; i < len(kw); i++ {
		c := s[i]
		if kw[i] == ' ' {
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '-' && c != '_' {
				return false
			}
			continue
		}
		if lower(c) != kw[i] {
			return false
		}
	}
	return true
}

// scoring describes one detector's scores and evidence.
type scoring struct {
	kind  kind
	label string      // evidence label, e.g. "NHS number"
	base  float64     // validated match, no context
	bonus float64     // added for the canonical grouped form ("943 476 5919")
	boost float64     // added when a positive context word is near
	pos   *keywordSet // positive context words
	neg   bool        // whether business words lower the score
}

// emit scores the match t[start:end], builds its evidence and appends it.
// reveal is how many trailing letters and digits the evidence may show.
func (st *state) emit(sc *scoring, start, end int, grouped bool, check string, reveal int) {
	score := sc.base
	if grouped {
		score += sc.bonus
	}
	kw, found := scoreContext(st.t, start, end, sc.pos, sc.neg, sc.boost, &score)
	st.add(sc.kind, Match{
		Detector: allKinds[kindIndex(sc.kind)].name,
		Start:    start,
		End:      end,
		Score:    clamp(score),
		Valid:    true,
		Evidence: evidence(sc.label, st.t[start:end], reveal, check, kw.show, found),
	})
}

// Which context evidence reports.
const (
	noContext = iota
	positiveContext
	businessContext
)

// scoreContext applies the context rules to *score and returns the keyword
// found and its kind.
func scoreContext(t string, start, end int, pos *keywordSet, neg bool, boost float64, score *float64) (keyword, int) {
	if kw, ok := findContext(t, start, end, pos); ok {
		*score += boost
		return kw, positiveContext
	}
	if neg {
		if kw, ok := findContext(t, start, end, negativeContext); ok {
			*score *= negativeFactor
			return kw, businessContext
		}
	}
	return keyword{}, noContext
}

func clamp(f float64) float64 {
	return min(1, max(0, f))
}

// evidence renders "LABEL MASKED (CHECK; context 'KW')"; the last part is
// "business context 'KW'" for a business word and "no context" without one.
func evidence(label, value string, reveal int, check, kw string, found int) string {
	var b strings.Builder
	b.Grow(len(label) + 3*min(len(value), maxMasked) + len(check) + len(kw) + 32)
	b.WriteString(label)
	b.WriteByte(' ')
	writeMasked(&b, value, reveal)
	b.WriteString(" (")
	if check != "" {
		b.WriteString(check)
		b.WriteString("; ")
	}
	switch found {
	case positiveContext, businessContext:
		if found == businessContext {
			b.WriteString("business ")
		}
		b.WriteString("context '")
		b.WriteString(kw)
		b.WriteString("'")
	default:
		b.WriteString("no context")
	}
	b.WriteByte(')')
	return b.String()
}

// maxMasked bounds the masked rendering of a value, in runes.
const maxMasked = 24

const bullet = "•"

// writeMasked writes value with every character replaced by a bullet except
// the last reveal ASCII letters and digits, and the separators ' ', '-', '/',
// '.' and ':', which keep the shape of the value (a no-break space is
// written as a space). reveal is capped at 4 and
// at half the letters and digits in value, so a short value is never shown
// whole. Long values are shortened from the left.
func writeMasked(b *strings.Builder, value string, reveal int) {
	alnum := 0
	for i := 0; i < len(value); i++ {
		if isAlnum(value[i]) {
			alnum++
		}
	}
	reveal = min(reveal, 4, alnum/2)
	runes := utf8.RuneCountInString(value)
	skip := 0
	if runes > maxMasked {
		skip = runes - maxMasked
		b.WriteString("…")
	}
	seen := 0 // alnum seen so far
	ri := 0
	for _, r := range value {
		ri++
		if r < utf8.RuneSelf && isAlnum(byte(r)) {
			seen++
		}
		if ri <= skip {
			continue
		}
		switch {
		case r < utf8.RuneSelf && isAlnum(byte(r)):
			if seen > alnum-reveal {
				b.WriteRune(r)
			} else {
				b.WriteString(bullet)
			}
		case r == ' ' || r == '-' || r == '/' || r == '.' || r == ':':
			b.WriteRune(r)
		case r == '\u00a0':
			b.WriteByte(' ')
		default:
			b.WriteString(bullet)
		}
	}
}
