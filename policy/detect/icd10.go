package detect

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

//go:embed data/icd10_categories.txt
var icd10CategoriesTxt string

// icdTable holds the valid 3-character ICD-10 categories: letter, digit,
// digit or letter.
type icdTable struct {
	ok [26 * 10 * 36]bool
}

func icdIndex(a, b, c byte) (int, bool) {
	if !isUpper(a) || !isDigit(b) {
		return 0, false
	}
	var ci int
	switch {
	case isDigit(c):
		ci = int(c - '0')
	case isUpper(c):
		ci = 10 + int(c-'A')
	default:
		return 0, false
	}
	return (int(a-'A')*10+int(b-'0'))*36 + ci, true
}

func (t *icdTable) has(a, b, c byte) bool {
	i, ok := icdIndex(a, b, c)
	return ok && t.ok[i]
}

// icdCategories parses the embedded category list once.
var icdCategories = sync.OnceValue(func() *icdTable {
	t, err := parseICDCategories(icd10CategoriesTxt)
	if err != nil {
		// The file is part of the binary and covered by tests.
		panic(err)
	}
	return t
})

func parseICDCategories(src string) (*icdTable, error) {
	t := &icdTable{}
	for n, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		first, last, isRange := strings.Cut(line, "-")
		if !isRange {
			last = first
		}
		if len(first) != 3 || len(last) != 3 || first[0] != last[0] {
			return nil, fmt.Errorf("failed to parse ICD-10 categories line %d: %q", n+1, line)
		}
		lo, ok1 := icdIndex(first[0], first[1], first[2])
		hi, ok2 := icdIndex(last[0], last[1], last[2])
		if !ok1 || !ok2 || hi < lo || (isRange && (!isDigit(first[2]) || !isDigit(last[2]))) {
			return nil, fmt.Errorf("failed to parse ICD-10 categories line %d: %q", n+1, line)
		}
		if !isRange {
			t.ok[lo] = true
			continue
		}
		for i := lo; i <= hi; i++ {
			if i%36 < 10 { // digit third characters only
				t.ok[i] = true
			}
		}
	}
	return t, nil
}
