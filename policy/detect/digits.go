package detect

// Identifiers that start with a digit: NHS, CHI and H&C numbers, NPI, SSN,
// SNOMED CT concept ids and Medicare MBIs.

var (
	nhsScoring    = scoring{kind: kNHS, label: "NHS number", base: 0.2, bonus: 0.15, boost: 0.6, pos: nhsContext, neg: true}
	chiScoring    = scoring{kind: kCHI, label: "CHI number", base: 0.2, bonus: 0.1, boost: 0.6, pos: chiContext, neg: true}
	hcScoring     = scoring{kind: kHC, label: "H&C number", base: 0.2, bonus: 0.15, boost: 0.6, pos: hcContext, neg: true}
	npiScoring    = scoring{kind: kNPI, label: "NPI", base: 0.15, boost: 0.6, pos: npiContext, neg: true}
	ssnScoring    = scoring{kind: kSSN, label: "SSN", base: 0.05, bonus: 0.4, boost: 0.6, pos: ssnContext, neg: true}
	snomedScoring = scoring{kind: kSNOMED, label: "SNOMED CT concept id", base: 0.05, boost: 0.45, pos: snomedContext, neg: true}
	mbiScoring    = scoring{kind: kMBI, label: "Medicare MBI", base: 0.5, boost: 0.45, pos: mbiContext, neg: true}
)

// maxGroups bounds how many digit groups one sequence may have before the
// scanner starts a new sequence.
const maxGroups = 16

// digitGroup is a run of digits. A tainted group is glued to something that
// makes it part of a longer token: letters, a decimal point or a slash
// between digits, or a hyphenated alphanumeric prefix or suffix.
type digitGroup struct {
	start, end int
	tainted    bool
}

func isJoin(c byte) bool { return c == '.' || c == ',' || c == '/' || c == ':' }

// groupSep reports the separator between digit groups at t[j] and its length
// in bytes: a space, a no-break space (U+00A0, common in text converted from
// HTML; reported as ' ') or a hyphen.
func groupSep(t string, j int) (byte, int) {
	if j >= len(t) {
		return 0, 0
	}
	switch t[j] {
	case ' ', '-':
		return t[j], 1
	case 0xC2:
		if j+1 < len(t) && t[j+1] == 0xA0 {
			return ' ', 2
		}
	}
	return 0, 0
}

// digitWord handles a word that starts with a digit at i. It returns where
// scanning should resume.
func (st *state) digitWord(i int) int {
	t := st.t
	n := len(t)
	j := i
	for j < n && isDigit(t[j]) {
		j++
	}
	if j < n && isLetter(t[j]) {
		// Glued to letters: only an MBI (digit, letter, …) can start here.
		if j == i+1 {
			if e, ok := st.mbi(i); ok {
				return e
			}
		}
		return j
	}
	// A '+' before the first group is an international phone number.
	phone := i > 0 && t[i-1] == '+'
	lead := i >= 2 && ((isJoin(t[i-1]) && isDigit(t[i-2])) || (t[i-1] == '-' && isAlnum(t[i-2])))

	var gs [maxGroups]digitGroup
	var seps [maxGroups]byte
	gs[0] = digitGroup{start: i, end: j, tainted: lead}
	k := 1
	for k < maxGroups {
		sep, sl := groupSep(t, j)
		if sl == 0 || j+sl >= n || !isDigit(t[j+sl]) {
			break
		}
		seps[k-1] = sep
		a := j + sl
		b := a
		for b < n && isDigit(t[b]) {
			b++
		}
		gs[k] = digitGroup{start: a, end: b}
		k++
		j = b
		if b < n && isLetter(t[b]) {
			break
		}
	}
	last := &gs[k-1]
	if j < n && isLetter(t[j]) {
		last.tainted = true
	}
	if j+1 < n && ((isJoin(t[j]) && isDigit(t[j+1])) || (t[j] == '-' && isAlnum(t[j+1]))) {
		last.tainted = true
	}
	if !phone {
		st.digitSequence(gs[:k], seps[:k-1])
	}
	return j
}

// digitSequence looks for identifiers in groups of digits joined by single
// spaces or hyphens (seps[i] joins gs[i] and gs[i+1]). Hyphens bind: a
// grouped form must not continue with a hyphen on either side, and a single
// group counts alone only between spaces.
func (st *state) digitSequence(gs []digitGroup, seps []byte) {
	k := len(gs)
	for a := 0; a < k; {
		if m := st.groupedForm(gs, seps, a); m > 0 {
			a += m
			continue
		}
		g := gs[a]
		if !g.tainted && (a == 0 || seps[a-1] == ' ') && (a == k-1 || seps[a] == ' ') {
			st.plainRun(g.start, g.end)
		}
		a++
	}
}

// groupedForm tries the grouped forms starting at group a: 3-3-4 (NHS, H&C,
// CHI), 6-4 (CHI) and 3-2-4 (SSN). It returns how many groups it consumed.
func (st *state) groupedForm(gs []digitGroup, seps []byte, a int) int {
	shape := func(lens ...int) bool {
		m := len(lens)
		if a+m > len(gs) {
			return false
		}
		if a > 0 && seps[a-1] == '-' {
			return false
		}
		if a+m < len(gs) && seps[a+m-1] == '-' {
			return false
		}
		for x, l := range lens {
			g := gs[a+x]
			if g.tainted || g.end-g.start != l {
				return false
			}
			if x > 0 && seps[a+x-1] != seps[a] {
				return false
			}
		}
		return true
	}
	t := st.t
	switch {
	case shape(3, 3, 4):
		var d [10]byte
		collectDigits(t, gs[a].start, gs[a+2].end, d[:])
		st.tenDigits(gs[a].start, gs[a+2].end, &d, seps[a] == ' ', false, false)
		return 3
	case shape(6, 4):
		var d [10]byte
		collectDigits(t, gs[a].start, gs[a+1].end, d[:])
		st.tenDigits(gs[a].start, gs[a+1].end, &d, seps[a] == ' ', false, true)
		return 2
	case shape(3, 2, 4):
		var d [9]byte
		collectDigits(t, gs[a].start, gs[a+2].end, d[:])
		if st.want(kSSN) && ssnValid(&d) {
			// Only the hyphenated form is distinctive enough for the bonus.
			st.emit(&ssnScoring, gs[a].start, gs[a+2].end, seps[a] == '-', "area, group and serial valid", 4)
		}
		return 3
	}
	return 0
}

// collectDigits copies the digit values of t[start:end] into d, skipping
// separators.
func collectDigits(t string, start, end int, d []byte) {
	n := 0
	for i := start; i < end && n < len(d); i++ {
		if isDigit(t[i]) {
			d[n] = t[i] - '0'
			n++
		}
	}
}

// plainRun handles one ungrouped run of digits.
func (st *state) plainRun(start, end int) {
	t := st.t
	l := end - start
	switch l {
	case 10:
		var d [10]byte
		collectDigits(t, start, end, d[:])
		st.tenDigits(start, end, &d, false, true, false)
	case 9:
		var d [9]byte
		collectDigits(t, start, end, d[:])
		if st.want(kSSN) && ssnValid(&d) {
			st.emit(&ssnScoring, start, end, false, "area, group and serial valid", 4)
		}
	}
	if l >= 6 && l <= 18 && st.want(kSNOMED) { // consumes nothing
		st.snomed(start, end)
	}
}

// tenDigits handles a 10-digit number. The leading digits decide the
// scheme, so one number is reported as at most one of them: 320–399 is the
// Northern Ireland H&C range, a first digit 0–3 is Scotland's CHI range
// (DDMMYY…), and 4–9 is NHS England and Wales (9 includes the test
// numbers). plain is the ungrouped form (NPI is only looked for there);
// sixFour is the 6-4 form, which only CHI uses.
func (st *state) tenDigits(start, end int, d *[10]byte, grouped, plain, sixFour bool) {
	if repeated(d[:]) {
		return
	}
	if mod11Valid(d) {
		prefix := int(d[0])*100 + int(d[1])*10 + int(d[2])
		switch {
		case prefix >= 320 && prefix <= 399:
			if !sixFour && st.want(kHC) {
				st.emit(&hcScoring, start, end, grouped, "check digit valid", 4)
			}
		case d[0] <= 3:
			if st.want(kCHI) && chiDateValid(d) {
				st.emit(&chiScoring, start, end, grouped, "date and check digit valid", 4)
			}
		default:
			if !sixFour && st.want(kNHS) {
				st.emit(&nhsScoring, start, end, grouped, "check digit valid", 4)
			}
		}
	}
	if plain && (d[0] == 1 || d[0] == 2) && st.want(kNPI) && npiValid(d) {
		st.emit(&npiScoring, start, end, false, "check digit valid", 4)
	}
}

// snomed checks a run of 6 to 18 digits as a SNOMED CT concept id: no
// leading zero, partition identifier (the two digits before the check digit)
// 00 (core concept) or 10 (extension concept), Verhoeff check digit.
func (st *state) snomed(start, end int) {
	t := st.t
	l := end - start
	if t[start] == '0' {
		return
	}
	if t[end-2] != '0' || (t[end-3] != '0' && t[end-3] != '1') {
		return
	}
	var buf [18]byte
	collectDigits(t, start, end, buf[:l])
	if repeated(buf[:l]) || !verhoeffValid(buf[:l]) {
		return
	}
	st.emit(&snomedScoring, start, end, false, "check digit and partition valid", 4)
}

// mbi parses a Medicare Beneficiary Identifier at i: 11 characters, with
// optional hyphens after the 4th and 7th (1EG4-TE5-MK73).
func (st *state) mbi(i int) (int, bool) {
	t := st.t
	n := len(t)
	var c [11]byte
	p := i
	dashes := false
	for pos := 0; pos < 11; pos++ {
		if pos == 4 && p < n && t[p] == '-' {
			dashes = true
			p++
		} else if pos == 7 && dashes {
			if p >= n || t[p] != '-' {
				return 0, false
			}
			p++
		}
		if p >= n {
			return 0, false
		}
		c[pos] = t[p]
		p++
	}
	if p < n && (isAlnum(t[p]) || (t[p] == '-' && p+1 < n && isAlnum(t[p+1]))) {
		return 0, false
	}
	digit := func(b byte) bool { return isDigit(b) }
	alnum := func(b byte) bool { return isDigit(b) || mbiLetter(b) }
	ok := c[0] >= '1' && c[0] <= '9' &&
		mbiLetter(c[1]) && alnum(c[2]) && digit(c[3]) &&
		mbiLetter(c[4]) && alnum(c[5]) && digit(c[6]) &&
		mbiLetter(c[7]) && mbiLetter(c[8]) && digit(c[9]) && digit(c[10])
	if !ok {
		return 0, false
	}
	if st.want(kMBI) {
		st.emit(&mbiScoring, i, p, dashes, "format valid", 4)
	}
	return p, true
}
