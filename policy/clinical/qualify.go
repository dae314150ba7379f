package clinical

// Post-match checks: a dose after a drug, a value after a lab test or vital
// sign. They look at most a few dozen bytes past the match and allocate
// nothing.

const lookahead = 40

func lower(b byte) byte { return foldByte(b) }

// hasPrefixFold reports whether s[i:] starts with p (p lower-case ASCII).
func hasPrefixFold(s string, i int, p string) bool {
	if len(s)-i < len(p) {
		return false
	}
	for k := 0; k < len(p); k++ {
		if lower(s[i+k]) != p[k] {
			return false
		}
	}
	return true
}

// wordEnd reports whether position i ends a word (end of text or a non-word
// byte).
func wordEnd(s string, i int) bool { return i >= len(s) || !isWord(s[i]) }

func skipSpace(s string, i, limit int) int {
	for i < limit && (isSpace(s[i]) || s[i] == 0xC2 || s[i] == 0xA0) {
		i++
	}
	return i
}

// number scans digits with an optional decimal part at s[i:]. It returns
// the index past it, or i if there is none.
func number(s string, i, limit int) int {
	j := i
	for j < limit && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	if j == i {
		return i
	}
	if j+1 < limit && (s[j] == '.' || s[j] == ',') && '0' <= s[j+1] && s[j+1] <= '9' {
		j++
		for j < limit && '0' <= s[j] && s[j] <= '9' {
			j++
		}
	}
	return j
}

// Units of drug doses, lower-case, longest first where they share a prefix.
var doseUnits = [...]string{
	"micrograms", "microgram", "mcg", "ug", "\xc2\xb5g", "mg/ml", "mg", "ml", "mmol", "g",
	"units", "unit", "iu", "%", "puffs", "puff", "tablets", "tablet", "tabs", "tab",
	"capsules", "capsule", "caps", "drops", "sachets", "sachet", "patch", "nebs", "neb",
}

// Frequencies that may follow a drug directly ("paracetamol prn").
var frequencies = [...]string{
	"od", "bd", "bid", "tds", "tid", "qds", "qid", "qid", "mane", "nocte", "prn", "stat",
	"once daily", "twice daily", "three times daily", "four times daily", "daily", "weekly",
	"once a day", "twice a day", "at night", "in the morning", "as required", "as needed",
}

// Formulation words that may sit between a drug and its dose.
var formulations = [...]string{
	"modified release", "m/r", "s/r", "mr", "sr", "xl", "la", "cr", "er", "xr", "ec",
	"tablets", "tablet", "tabs", "capsules", "oral", "po", "iv", "im", "sc", "inhaler",
	"injection", "cream", "solution", "suspension", "dose", "was started on", "started at",
	"increased to", "reduced to", "at",
}

func matchAny(s string, i int, list []string) int {
	for _, p := range list {
		if hasPrefixFold(s, i, p) && wordEnd(s, i+len(p)) {
			return i + len(p)
		}
	}
	return i
}

// doseFollows reports whether a dose ("50mg", "500 mg", "2.5 mg", "1 g",
// "10 units") or a frequency ("bd", "nocte") follows a drug name ending at
// end.
func doseFollows(s string, end int) bool {
	limit := min(len(s), end+lookahead)
	i := skipSpace(s, end, limit)
	if i < limit && (s[i] == '(' || s[i] == ':' || s[i] == '-' || s[i] == ',') {
		i = skipSpace(s, i+1, limit)
	}
	for range 2 {
		if j := matchAny(s, i, formulations[:]); j > i {
			i = skipSpace(s, j, limit)
		}
	}
	if j := matchAny(s, i, frequencies[:]); j > i {
		return true
	}
	j := number(s, i, limit)
	if j == i {
		return false
	}
	// A range or a second strength: "5-10mg", "500/125".
	if j < limit && (s[j] == '-' || s[j] == '/') {
		if k := number(s, j+1, limit); k > j+1 {
			j = k
		}
	}
	j = skipSpace(s, j, limit)
	for _, u := range doseUnits {
		if hasPrefixFold(s, j, u) && (u == "%" || wordEnd(s, j+len(u)) || s[j+len(u)] == '/') {
			return true
		}
	}
	return false
}

// Units of lab values and vital signs (prefixes, lower-case).
var valueUnits = [...]string{
	"mmol", "umol", "\xc2\xb5mol", "\xce\xbcmol", "pmol", "nmol", "mol/", "g/", "mg/", "ng/", "ug/",
	"iu/", "u/l", "mu/", "miu/", "x10", "x 10", "10^", "10*", "%", "fl", "ml/", "mmhg", "mm hg",
	"bpm", "/min", "kg", "\xc2\xb0", "c ", "c.", "c,", "l/min", "seconds", "sec", "pg", "mg",
	"g", "cm", "breaths", "beats",
}

// valueFollows reports whether a value follows a lab test or vital sign
// ending at end: optional ":", "=", "of", "was", "is", "-", a comparator, a
// number (or n/n), and, when unit is set, a unit.
func valueFollows(s string, end int, unit bool) bool {
	limit := min(len(s), end+lookahead)
	i := skipSpace(s, end, limit)
	for range 2 {
		switch {
		case i < limit && (s[i] == ':' || s[i] == '=' || s[i] == '-'):
			i = skipSpace(s, i+1, limit)
		case hasPrefixFold(s, i, "of") && wordEnd(s, i+2):
			i = skipSpace(s, i+2, limit)
		case hasPrefixFold(s, i, "was") && wordEnd(s, i+3):
			i = skipSpace(s, i+3, limit)
		case hasPrefixFold(s, i, "is") && wordEnd(s, i+2):
			i = skipSpace(s, i+2, limit)
		case hasPrefixFold(s, i, "now") && wordEnd(s, i+3):
			i = skipSpace(s, i+3, limit)
		}
	}
	if i < limit && (s[i] == '<' || s[i] == '>' || s[i] == '~') {
		i = skipSpace(s, i+1, limit)
	}
	j := number(s, i, limit)
	if j == i {
		return false
	}
	if j < limit && s[j] == '/' {
		if k := number(s, j+1, limit); k > j+1 {
			return true // a ratio such as blood pressure 142/88
		}
	}
	// "52" followed by a letter that is not a unit ("52nd", "2024abc") is no
	// value.
	u := skipSpace(s, j, limit)
	for _, p := range valueUnits {
		if hasPrefixFold(s, u, p) {
			return true
		}
	}
	if unit {
		return false
	}
	return j >= len(s) || !isWord(s[j])
}

// nameFollows reports whether a capitalised word follows a title ending at
// end: "Mrs Hughes", "Mr. O'Brien", "Dr A Patel".
func nameFollows(s string, end int) bool {
	limit := min(len(s), end+lookahead)
	i := end
	if i < limit && s[i] == '.' {
		i++
	}
	if i >= limit || s[i] != ' ' {
		return false
	}
	i++
	// An initial: "A " or "A. ".
	if i+1 < limit && 'A' <= s[i] && s[i] <= 'Z' && (s[i+1] == ' ' || s[i+1] == '.') {
		i += 2
		if i < limit && s[i] == ' ' {
			i++
		}
	}
	return i+1 < limit && 'A' <= s[i] && s[i] <= 'Z' && (('a' <= s[i+1] && s[i+1] <= 'z') || s[i+1] == '\'' || ('A' <= s[i+1] && s[i+1] <= 'Z'))
}
