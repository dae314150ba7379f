package clinical

import (
	"errors"
	"fmt"
)

// automaton is a byte-level Aho–Corasick automaton compiled to a dense DFA.
//
// Bytes are mapped to classes first: every byte that occurs in a pattern
// (after ASCII case folding) has a class of its own, all ASCII white space
// shares the space class, and every other byte shares class 0. The
// transition table holds, for each state and class, the next state
// pre-multiplied by the number of classes, so that the scan loop is one
// table load per byte. The top bit of an entry marks a state with outputs.
//
// Words only start at word boundaries: the scanner feeds a boundary symbol
// (a class no byte maps to) before every word byte that follows a non-word
// byte, and patterns carry the same symbol in the same places (see
// markPattern). So "pe" can match "PE" but is never even a candidate inside
// "open", which keeps the automaton out of its output states on ordinary
// prose.
type automaton struct {
	class  [256]uint8
	word   [256]bool // bytes that belong to words (see isWord)
	nclass int
	delta  []uint32 // state*nclass + class -> next*nclass | outFlag
	outIdx []int32  // per state: start of its outputs in outs; len = states+1
	outs   []int32  // pattern ids, own outputs then those of the failure chain
}

const (
	outFlag   = 1 << 31
	stateMask = outFlag - 1
	// spaceClass is the class of ASCII white space; runs of it are
	// matched as a single space.
	spaceClass = 1
	// boundaryClass is the word-start symbol; no byte of text maps to it.
	boundaryClass = 2
	// boundaryMark stands for the boundary symbol in marked patterns.
	boundaryMark = 0
)

// markPattern inserts boundaryMark before every word byte that starts a
// word in a normalized pattern, as the scanner does in text.
func markPattern(p string) string {
	out := make([]byte, 0, len(p)+4)
	for i := 0; i < len(p); i++ {
		if isWord(p[i]) && (i == 0 || !isWord(p[i-1])) {
			out = append(out, boundaryMark)
		}
		out = append(out, p[i])
	}
	return string(out)
}

func foldByte(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

// normalizePattern folds ASCII case and turns every run of white space into
// one space, trimming both ends.
func normalizePattern(p string) string {
	out := make([]byte, 0, len(p))
	space := false
	for i := 0; i < len(p); i++ {
		b := p[i]
		if isSpace(b) {
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, foldByte(b))
	}
	return string(out)
}

// buildAutomaton compiles patterns (normalized, then marked with
// markPattern). Pattern i is reported with id i.
func buildAutomaton(patterns []string) (*automaton, error) {
	a := &automaton{}
	for b := range 256 {
		a.word[b] = isWord(byte(b))
	}
	a.class[' '], a.class['\t'], a.class['\n'], a.class['\r'], a.class['\f'], a.class['\v'] =
		spaceClass, spaceClass, spaceClass, spaceClass, spaceClass, spaceClass
	next := boundaryClass + 1
	for _, p := range patterns {
		if p == "" {
			return nil, errors.New("empty pattern")
		}
		for i := 0; i < len(p); i++ {
			b := p[i]
			if b == boundaryMark {
				continue
			}
			if a.class[b] == 0 {
				if next > 255 {
					return nil, errors.New("too many distinct pattern bytes")
				}
				a.class[b] = uint8(next)
				if 'a' <= b && b <= 'z' {
					a.class[b-'a'+'A'] = uint8(next)
				}
				next++
			}
		}
	}
	a.nclass = next
	n := next

	// Trie: goto[state*n+class], -1 for none.
	gotoT := make([]int32, n)
	for i := range gotoT {
		gotoT[i] = -1
	}
	var own [][]int32 // own outputs per state
	own = append(own, nil)
	for id, p := range patterns {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := int(a.class[p[i]])
			if p[i] == boundaryMark {
				c = boundaryClass
			}
			t := gotoT[int(s)*n+c]
			if t < 0 {
				t = int32(len(own))
				own = append(own, nil)
				for range n {
					gotoT = append(gotoT, -1)
				}
				gotoT[int(s)*n+c] = t
			}
			s = t
		}
		own[s] = append(own[s], int32(id))
	}
	states := len(own)
	if states > stateMask/n {
		return nil, fmt.Errorf("automaton too large: %d states", states)
	}

	// Breadth-first: failure links and the full transition function.
	fail := make([]int32, states)
	delta := make([]int32, states*n)
	queue := make([]int32, 0, states)
	for c := range n {
		t := gotoT[c]
		if t < 0 {
			delta[c] = 0
			continue
		}
		delta[c] = t
		fail[t] = 0
		queue = append(queue, t)
	}
	outsOf := make([][]int32, states)
	outsOf[0] = own[0]
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		outsOf[s] = append(append([]int32(nil), own[s]...), outsOf[fail[s]]...)
		for c := range n {
			t := gotoT[int(s)*n+c]
			if t < 0 {
				delta[int(s)*n+c] = delta[int(fail[s])*n+c]
				continue
			}
			delta[int(s)*n+c] = t
			fail[t] = delta[int(fail[s])*n+c]
			queue = append(queue, t)
		}
	}
	// A run of white space is matched as one space: in the scan loop a
	// space following a space does not move the automaton, so the space
	// class needs no self-loop here.

	a.outIdx = make([]int32, states+1)
	for s := range states {
		a.outIdx[s] = int32(len(a.outs))
		a.outs = append(a.outs, outsOf[s]...)
	}
	a.outIdx[states] = int32(len(a.outs))
	a.delta = make([]uint32, states*n)
	for i, t := range delta {
		v := uint32(int(t) * n)
		if a.outIdx[t] != a.outIdx[t+1] {
			v |= outFlag
		}
		a.delta[i] = v
	}
	return a, nil
}

// matchStart returns where in text a match of a pattern of normalized
// length plen ending at end starts, undoing the collapsing of white space.
func matchStart(text string, end int, pat string) int {
	i := end
	for j := len(pat) - 1; j >= 0 && i > 0; j-- {
		i--
		if pat[j] == ' ' {
			for i > 0 && isSpace(text[i-1]) {
				i--
			}
		}
	}
	return i
}
