package detect

import (
	"cmp"
	"regexp"
	"slices"
	"testing"
)

func sortMatches(ms []Match) {
	slices.SortFunc(ms, func(a, b Match) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End), cmp.Compare(a.Detector, b.Detector))
	})
}

// FuzzFind runs every detector over arbitrary text: no panic, offsets in
// range, evidence that never shows more than the last 4 characters of a
// value (nothing of dates and ICD-10 codes) and quotes only known context
// words, and the single-pass Combined detector agreeing with the separate
// ones.
func FuzzFind(f *testing.F) {
	for _, s := range []string{
		"Patient NHS No: 943 476 5919, DOB: 01/02/1960, seen in clinic today.",
		"NHS number 943-476-5919; CHI 0101901232; H&C 320 123 4567",
		"NI number AB 12 34 56 C; SSN 536-22-1234; NPI 1234567893; DEA AB1234563",
		"Medicare MBI 1EG4-TE5-MK73; SNOMED CT 22298006; Dx E11.9, S72.001A, C4A.0, I10",
		"MRN: RX1234567 unit no RX7654321 XRX1234567",
		"born on 3rd March 1945; D.O.B. 1 Feb 1960; dob 01.02.60; born February 1, 1960",
		"Order 4505577104 call +44 7700 900123 or 020 7946 0958, INV-4505577104",
		"4505577104.5 1.4505577104 943 476 59190 12-943-476-5919 4111 1111 1111 1111",
		"DOB 01-Feb-60 DOB 31/02/1960 DOB 2099-01-01",
		"\x00\xff€ NHS\u00a09434765919 ＮＨＳ",
		"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 4505577104",
		"A9 B1 C4A. Z3A.1 DOB DOB DOB 1",
	} {
		f.Add(s)
	}
	cfg := testConfig(f)
	kws := knownKeywords(cfg)
	combined := Combined(cfg)
	dets := Identifiers(cfg)
	plain := regexp.MustCompile(`\bRX[0-9]{7}\b`)
	fast := newMRNPattern(cfg.MRN[0])
	f.Fuzz(func(t *testing.T, text string) {
		all := combined.Find(text, nil)
		for _, m := range all {
			checkMatch(t, text, m, kws)
		}
		var sep []Match
		for _, d := range dets {
			before := len(sep)
			sep = d.Find(text, sep)
			for _, m := range sep[before:] {
				if m.Detector != d.Name() {
					t.Fatalf("detector %s returned a %s match", d.Name(), m.Detector)
				}
			}
		}
		sortMatches(all)
		sortMatches(sep)
		if !slices.Equal(all, sep) {
			t.Fatalf("Combined and the separate detectors disagree:\n%+v\n%+v", all, sep)
		}
		want := plain.FindAllStringIndex(text, -1)
		var got [][]int
		fast.each(text, 1<<30, func(s, e int) { got = append(got, []int{s, e}) })
		if !slices.EqualFunc(want, got, slices.Equal[[]int]) {
			t.Fatalf("MRN fast path %v, regexp %v", got, want)
		}
	})
}
