package detect

// Dates of birth: a date shortly after "DOB", "date of birth", "born", ….

// dobGap is how far after the keyword the date may start.
const dobGap = 24

// maxAge is the oldest plausible age, in years.
const maxAge = 120

type dobKeywordDef struct {
	lc    string
	show  string
	score float64
}

// dobKeywords are matched at a word start, case-insensitively; the longest
// that matches wins.
var dobKeywords = [...]dobKeywordDef{
	{"date of birth", "date of birth", 0.85},
	{"d.o.b.", "D.O.B.", 0.85},
	{"d.o.b", "D.O.B.", 0.85},
	{"dob", "DOB", 0.85},
	{"birth date", "birth date", 0.85},
	{"birthdate", "birthdate", 0.85},
	{"born on", "born on", 0.7},
	{"born", "born", 0.6},
}

// dobKeyword is called at each word start whose first letter is d or b.
func (st *state) dobKeyword(i int) {
	if !st.want(kDOB) {
		return
	}
	t := st.t
	n := len(t)
	var kw *dobKeywordDef
	for x := range dobKeywords {
		k := &dobKeywords[x]
		if k.lc[0] != lower(t[i]) || i+len(k.lc) > n || !equalFoldKeyword(t[i:i+len(k.lc)], k.lc) {
			continue
		}
		e := i + len(k.lc)
		if isAlnum(k.lc[len(k.lc)-1]) && e < n && isAlnum(t[e]) {
			continue
		}
		if kw == nil || len(k.lc) > len(kw.lc) {
			kw = k
		}
	}
	if kw == nil {
		return
	}
	end := min(n, i+len(kw.lc)+dobGap)
	for p := i + len(kw.lc); p < end; p++ {
		c := t[p]
		if isDigit(c) || (isLetter(c) && !isAlnum(t[p-1]) && monthAt(t, p) > 0) {
			if _, e, ok := st.parseDOB(p); ok {
				st.add(kDOB, Match{
					Detector: DOB,
					Start:    p,
					End:      e,
					Score:    kw.score,
					Valid:    true,
					Evidence: evidence("date of birth", t[p:e], 0, "", kw.show, positiveContext),
				})
			}
			return
		}
	}
}

// parseDOB parses a date at p and checks that it is a plausible date of
// birth. Day-first is preferred over month-first when both are valid.
func (st *state) parseDOB(p int) (date, int, bool) {
	cands, n, e := parseDate(st.t, p)
	if n == 0 {
		return date{}, 0, false
	}
	if st.today == (date{}) {
		now := st.s.now()
		st.today = date{now.Year(), int(now.Month()), now.Day()}
	}
	oldest := date{st.today.y - maxAge, st.today.m, st.today.d}
	for _, c := range cands[:n] {
		if c.y < 100 { // two-digit year: the most recent past century
			if 2000+c.y <= st.today.y {
				c.y += 2000
			} else {
				c.y += 1900
			}
		}
		if c.valid() && !st.today.before(c) && !c.before(oldest) {
			return c, e, true
		}
	}
	return date{}, 0, false
}

var monthNames = [12]string{"january", "february", "march", "april", "may", "june",
	"july", "august", "september", "october", "november", "december"}

// monthAt returns the month (1–12) named at t[p:] and the length of the name
// ("Feb", "Feb.", "February", "Sept"), or 0.
func monthAt(t string, p int) int {
	m, _ := monthLen(t, p)
	return m
}

func monthLen(t string, p int) (int, int) {
	if p+3 > len(t) {
		return 0, 0
	}
	for mi, name := range monthNames {
		if lower(t[p]) != name[0] || lower(t[p+1]) != name[1] || lower(t[p+2]) != name[2] {
			continue
		}
		l := 3
		switch {
		case p+len(name) <= len(t) && equalFoldKeyword(t[p:p+len(name)], name):
			l = len(name)
		case mi == 8 && p+4 <= len(t) && lower(t[p+3]) == 't':
			l = 4 // "Sept"
		}
		if p+l < len(t) && isAlnum(t[p+l]) {
			return 0, 0
		}
		return mi + 1, l
	}
	return 0, 0
}

// digitsAt reads 1 to max digits at p.
func digitsAt(t string, p, maxLen int) (v, l int) {
	for p+l < len(t) && l < maxLen+1 && isDigit(t[p+l]) {
		v = v*10 + int(t[p+l]-'0')
		l++
	}
	if l > maxLen {
		return 0, 0
	}
	return v, l
}

// skipSep skips up to 3 bytes of ' ', ',', '-' and '.' and returns the new
// position.
func skipSep(t string, p int) int {
	for x := 0; x < 3 && p < len(t) && (t[p] == ' ' || t[p] == ',' || t[p] == '-' || t[p] == '.'); x++ {
		p++
	}
	return p
}

// skipOrdinal skips "st", "nd", "rd" or "th" after a day number.
func skipOrdinal(t string, p int) int {
	if p+2 <= len(t) {
		a, b := lower(t[p]), lower(t[p+1])
		if (a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') || (a == 't' && b == 'h') {
			if p+2 == len(t) || !isAlnum(t[p+2]) {
				return p + 2
			}
		}
	}
	return p
}

// parseDate parses one date at p in any of the forms 01/02/1960, 1.2.60,
// 1960-02-01, 1 Feb 1960, 1st February 1960, 01-Feb-60 and February 1, 1960.
// It returns up to two readings (day-first, then month-first) and the end.
// Two-digit years are returned as 0–99.
func parseDate(t string, p int) (out [2]date, n int, end int) {
	yearAt := func(q int) (int, int) {
		v, l := digitsAt(t, q, 4)
		if l != 2 && l != 4 {
			return 0, 0
		}
		return v, q + l
	}
	endOK := func(q int) bool {
		return q == len(t) || !(isAlnum(t[q]) || ((t[q] == '/' || t[q] == '-' || t[q] == '.') && q+1 < len(t) && isDigit(t[q+1])))
	}
	if isLetter(t[p]) { // Month D, YYYY
		m, ml := monthLen(t, p)
		if m == 0 {
			return out, 0, 0
		}
		q := p + ml
		if q < len(t) && t[q] == '.' {
			q++
		}
		q = skipSep(t, q)
		d, dl := digitsAt(t, q, 2)
		if dl == 0 {
			return out, 0, 0
		}
		q = skipSep(t, skipOrdinal(t, q+dl))
		y, ye := yearAt(q)
		if ye == 0 || ye-q != 4 || !endOK(ye) {
			return out, 0, 0
		}
		out[0] = date{y, m, d}
		return out, 1, ye
	}
	a, al := digitsAt(t, p, 4)
	if al == 0 {
		return out, 0, 0
	}
	q := p + al
	if q+1 < len(t) && (t[q] == '/' || t[q] == '-' || t[q] == '.') && isDigit(t[q+1]) {
		sep := t[q]
		b, bl := digitsAt(t, q+1, 2)
		r := q + 1 + bl
		if bl == 0 || r+1 >= len(t) || t[r] != sep || !isDigit(t[r+1]) {
			return out, 0, 0
		}
		if al == 4 { // YYYY-MM-DD
			c, cl := digitsAt(t, r+1, 2)
			if cl == 0 || !endOK(r+1+cl) {
				return out, 0, 0
			}
			out[0] = date{a, b, c}
			return out, 1, r + 1 + cl
		}
		if al > 2 {
			return out, 0, 0
		}
		y, ye := yearAt(r + 1)
		if ye == 0 || !endOK(ye) {
			return out, 0, 0
		}
		out[0] = date{y, b, a}
		out[1] = date{y, a, b}
		return out, 2, ye
	}
	if al > 2 { // D Month YYYY
		return out, 0, 0
	}
	q = skipOrdinal(t, q)
	q = skipSep(t, q)
	if q+3 <= len(t) && lower(t[q]) == 'o' && lower(t[q+1]) == 'f' && t[q+2] == ' ' {
		q += 3 // "1st of February"
	}
	m, ml := monthLen(t, q)
	if m == 0 {
		return out, 0, 0
	}
	q += ml
	if q < len(t) && t[q] == '.' {
		q++
	}
	q = skipSep(t, q)
	y, ye := yearAt(q)
	if ye == 0 || !endOK(ye) {
		return out, 0, 0
	}
	out[0] = date{y, m, a}
	return out, 1, ye
}
