package detect

import (
	"math/bits"
	"time"
)

// kind is a bit set of identifier kinds.
type kind uint16

const (
	kNHS kind = 1 << iota
	kCHI
	kHC
	kNINO
	kSSN
	kNPI
	kDEA
	kMBI
	kMRN
	kSNOMED
	kICD10
	kDOB
)

var allKinds = [...]struct {
	bit  kind
	name string
}{
	{kNHS, NHSNumber}, {kCHI, CHINumber}, {kHC, HCNumber}, {kNINO, NINO},
	{kSSN, SSN}, {kNPI, NPI}, {kDEA, DEA}, {kMBI, MBI}, {kMRN, MRN},
	{kSNOMED, SNOMED}, {kICD10, ICD10}, {kDOB, DOB},
}

// kindIndex maps a single kind bit to its index in allKinds (the bits are
// declared in the same order).
func kindIndex(k kind) int { return bits.TrailingZeros16(uint16(k)) }

// Byte classes.
const (
	cDigit byte = 1 << iota
	cUpper
	cLower
	cAlnum = cDigit | cUpper | cLower
)

var class = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = cUpper
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cLower
	}
	return t
}()

func isDigit(c byte) bool { return class[c]&cDigit != 0 }
func isUpper(c byte) bool { return class[c]&cUpper != 0 }
func isAlnum(c byte) bool { return class[c]&cAlnum != 0 }
func isLetter(c byte) bool {
	return class[c]&(cUpper|cLower) != 0
}
func lower(c byte) byte {
	if isUpper(c) {
		return c + 'a' - 'A'
	}
	return c
}

// scanner implements Detector for one or more kinds.
type scanner struct {
	kinds kind
	name  string
	now   func() time.Time
	icd   *icdTable
	mrn   []mrnPattern
}

func newScanner(cfg Config, kinds kind, name string) *scanner {
	s := &scanner{kinds: kinds, name: name, now: cfg.Now, icd: icdCategories()}
	if s.now == nil {
		s.now = time.Now
	}
	for _, p := range cfg.MRN {
		if p.validate() != nil {
			continue
		}
		mp := newMRNPattern(p)
		s.mrn = append(s.mrn, mp)
	}
	return s
}

func (s *scanner) Name() string { return s.name }

func (s *scanner) Find(text string, dst []Match) []Match {
	st := state{s: s, t: text, dst: dst}
	if s.kinds&^kMRN != 0 {
		st.run()
	}
	if s.kinds&kMRN != 0 {
		st.findMRN()
	}
	return st.dst
}

// state is one call to Find.
type state struct {
	s      *scanner
	t      string
	dst    []Match
	counts [len(allKinds)]int
	today  date // zero until a date of birth needs it
}

// want reports whether kind k is enabled and still under its match cap.
func (st *state) want(k kind) bool {
	return st.s.kinds&k != 0 && st.counts[kindIndex(k)] < MaxMatchesPerDetector
}

func (st *state) add(k kind, m Match) {
	st.counts[kindIndex(k)]++
	st.dst = append(st.dst, m)
}

// run walks the text word by word. A word is a maximal run of ASCII letters
// and digits; every byte outside a word is skipped with one table lookup, and
// a word is parsed only when its first bytes could start an identifier.
// Parsing, and so how far an identifier carries the walk, does not depend on
// which kinds are enabled (only emitting does), so a single detector finds
// exactly what Combined finds for its kind.
func (st *state) run() {
	t := st.t
	n := len(t)
	k := st.s.kinds
	i := 0
	for i < n {
		c := class[t[i]]
		if c&cAlnum == 0 {
			i++
			continue
		}
		next := i + 1
		switch {
		case c&cDigit != 0:
			next = max(next, st.digitWord(i))
		case c&cUpper != 0:
			if i+1 < n && class[t[i+1]]&(cDigit|cUpper) != 0 {
				next = max(next, st.upperWord(i))
			}
			if k&kDOB != 0 && (t[i] == 'D' || t[i] == 'B') {
				st.dobKeyword(i)
			}
		default:
			if k&kDOB != 0 && (t[i] == 'd' || t[i] == 'b') {
				st.dobKeyword(i)
			}
		}
		// Skip the rest of the word.
		for next < n && class[t[next]]&cAlnum != 0 {
			next++
		}
		i = next
	}
}
