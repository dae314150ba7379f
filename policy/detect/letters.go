package detect

// Identifiers that start with an upper-case letter: NINO, DEA numbers and
// ICD-10 codes. They are matched in upper case only, as they are printed.

var (
	ninoScoring = scoring{kind: kNINO, label: "NI number", base: 0.4, bonus: 0.1, boost: 0.5, pos: ninoContext, neg: true}
	deaScoring  = scoring{kind: kDEA, label: "DEA number", base: 0.3, boost: 0.6, pos: deaContext, neg: true}
	icdScoring  = scoring{kind: kICD10, label: "ICD-10 code", base: 0.05, bonus: 0.25, boost: 0.5, pos: icdContext}
)

// upperWord handles a word at i that starts with an upper-case letter
// followed by a digit or another upper-case letter. It returns where
// scanning should resume.
func (st *state) upperWord(i int) int {
	t := st.t
	next := i + 1
	if isDigit(t[i+1]) {
		next = max(next, st.icd10(i))
		if t[i+1] == '9' {
			next = max(next, st.dea(i))
		}
		return next
	}
	next = max(next, st.nino(i))
	next = max(next, st.dea(i))
	return next
}

// hyphenJoined reports whether t[start:end] is joined by a hyphen to a
// letter or digit on either side, making it part of a longer reference
// ("INV-E11.9", "1A00-A00-AA00").
func hyphenJoined(t string, start, end int) bool {
	return (start >= 2 && t[start-1] == '-' && isAlnum(t[start-2])) ||
		(end+1 < len(t) && t[end] == '-' && isAlnum(t[end+1]))
}

// icd10 parses an ICD-10 code at i: a category (letter, digit, digit or
// letter) in the bundled list, optionally followed by a dot and 1 to 4
// upper-case letters or digits. The compact form without a dot ("E119") is
// not matched: it is indistinguishable from product and model numbers.
func (st *state) icd10(i int) int {
	t := st.t
	n := len(t)
	if i+3 > n {
		return i + 1
	}
	if !(isDigit(t[i+2]) || isUpper(t[i+2])) {
		return i + 1
	}
	e := i + 3
	if e < n && isAlnum(t[e]) {
		return e // longer token: a model number, a postcode, …
	}
	dotted := false
	if e+1 < n && t[e] == '.' && isAlnum(t[e+1]) {
		q := e + 1
		for q < n && q-(e+1) <= 4 && (isDigit(t[q]) || isUpper(t[q])) {
			q++
		}
		l := q - (e + 1)
		if l < 1 || l > 4 || (q < n && (isAlnum(t[q]) || (isJoin(t[q]) && q+1 < n && isDigit(t[q+1])))) {
			return q
		}
		dotted = true
		e = q
	}
	if !st.s.icd.has(t[i], t[i+1], t[i+2]) || hyphenJoined(t, i, e) {
		return e
	}
	if st.want(kICD10) {
		st.emit(&icdScoring, i, e, dotted, "category in bundled list", 0)
	}
	return e
}

// nino parses a National Insurance number at i: two prefix letters, six
// digits (as 123456 or 12 34 56, optionally set off by spaces) and a suffix
// A–D.
func (st *state) nino(i int) int {
	t := st.t
	n := len(t)
	if !isUpper(t[i+1]) || !ninoPrefixValid(t[i], t[i+1]) {
		return i + 1
	}
	p := i + 2
	spaced := false
	if p < n && t[p] == ' ' {
		spaced = true
		p++
	}
	digits := 0
	runs := 0
	for p < n && isDigit(t[p]) {
		q := p
		for q < n && isDigit(t[q]) {
			q++
		}
		l := q - p
		digits += l
		runs++
		p = q
		if digits >= 6 || !(l == 2 && p+1 < n && t[p] == ' ' && isDigit(t[p+1])) {
			break
		}
		p++ // the space between pairs
		spaced = true
	}
	if digits != 6 || (runs != 1 && runs != 3) {
		return i + 1
	}
	if p < n && t[p] == ' ' {
		p++
		spaced = true
	}
	if p >= n || t[p] < 'A' || t[p] > 'D' {
		return i + 1
	}
	p++
	if (p < n && isAlnum(t[p])) || hyphenJoined(t, i, p) {
		return i + 1
	}
	if st.want(kNINO) {
		st.emit(&ninoScoring, i, p, spaced, "prefix and suffix valid", 4)
	}
	return p
}

// dea parses a DEA registration number at i: a registrant-type letter, a
// letter (or 9), seven digits, the last a check digit.
func (st *state) dea(i int) int {
	t := st.t
	n := len(t)
	if !deaFirstLetter(t[i]) || !(isUpper(t[i+1]) || t[i+1] == '9') {
		return i + 1
	}
	if i+9 > n {
		return i + 1
	}
	var d [7]byte
	for x := 0; x < 7; x++ {
		c := t[i+2+x]
		if !isDigit(c) {
			return i + 1
		}
		d[x] = c - '0'
	}
	e := i + 9
	if (e < n && isAlnum(t[e])) || hyphenJoined(t, i, e) {
		return i + 1
	}
	if deaValid(&d) && st.want(kDEA) {
		st.emit(&deaScoring, i, e, false, "check digit valid", 4)
	}
	return e
}
