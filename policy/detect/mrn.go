package detect

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// Medical record numbers: the admin's patterns, matched with regexp.

const (
	mrnBase  = 0.3
	mrnBoost = 0.5
)

// mrnPattern is a compiled admin pattern. When the pattern is `\b` followed
// by a literal (the usual `\bRX\d{7}\b`), Go's regexp cannot skip ahead to
// the literal, so the scanner does: it looks for the literal with
// strings.Index, checks the word boundary itself and runs an anchored copy
// of the rest of the pattern there. The matches are the same as
// Regexp.FindAllStringIndex's.
type mrnPattern struct {
	NamedPattern
	ctx      *keywordSet
	lit      string
	anchored *regexp.Regexp
}

func newMRNPattern(p NamedPattern) mrnPattern {
	kws := append([]keyword(nil), mrnContext.kws...)
	for _, w := range p.Context {
		kws = append(kws, newKeyword(w))
	}
	mp := mrnPattern{NamedPattern: p, ctx: newKeywordSet(kws)}
	mp.lit, mp.anchored = boundaryLiteral(p.Regexp)
	return mp
}

// boundaryLiteral splits `\bLIT…` into LIT and an anchored `^(?:LIT…)`.
func boundaryLiteral(re *regexp.Regexp) (string, *regexp.Regexp) {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return "", nil
	}
	tree = tree.Simplify()
	if tree.Op != syntax.OpConcat || len(tree.Sub) < 2 ||
		tree.Sub[0].Op != syntax.OpWordBoundary || tree.Sub[1].Op != syntax.OpLiteral ||
		tree.Sub[1].Flags&syntax.FoldCase != 0 {
		return "", nil
	}
	lit := string(tree.Sub[1].Rune)
	if lit == "" || !isWordByte(lit[0]) {
		return "", nil // \b before a non-word character means something else
	}
	rest := &syntax.Regexp{Op: syntax.OpConcat, Flags: tree.Flags, Sub: tree.Sub[1:]}
	anchored, err := regexp.Compile(`^(?:` + rest.String() + `)`)
	if err != nil {
		return "", nil
	}
	return lit, anchored
}

func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }

// each calls f for the matches of p in t, at most limit of them.
func (p *mrnPattern) each(t string, limit int, f func(start, end int)) {
	if p.anchored == nil {
		for _, loc := range p.Regexp.FindAllStringIndex(t, limit) {
			f(loc[0], loc[1])
		}
		return
	}
	pos, n := 0, 0
	for n < limit && pos < len(t) {
		i := strings.Index(t[pos:], p.lit)
		if i < 0 {
			return
		}
		s := pos + i
		if s > 0 && isWordByte(t[s-1]) {
			pos = s + 1
			continue
		}
		loc := p.anchored.FindStringIndex(t[s:])
		if loc == nil {
			pos = s + 1
			continue
		}
		f(s, s+loc[1])
		n++
		pos = s + max(loc[1], 1)
	}
}

func (st *state) findMRN() {
	for pi := range st.s.mrn {
		p := &st.s.mrn[pi]
		left := MaxMatchesPerDetector - st.counts[kindIndex(kMRN)]
		if left <= 0 {
			return
		}
		p.each(st.t, left, func(start, end int) {
			if start == end {
				return
			}
			score := mrnBase
			kw, found := scoreContext(st.t, start, end, p.ctx, true, mrnBoost, &score)
			st.add(kMRN, Match{
				Detector: MRN,
				Start:    start,
				End:      end,
				Score:    clamp(score),
				Evidence: evidence("MRN", st.t[start:end], 4, "pattern '"+p.Name+"'", kw.show, found),
			})
		})
	}
}
