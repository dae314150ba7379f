package detect

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Detector names, as they appear in [Match.Detector] and in policy files.
const (
	NHSNumber = "nhs_number"
	CHINumber = "chi_number"
	HCNumber  = "hc_number"
	NINO      = "nino"
	SSN       = "ssn"
	NPI       = "npi"
	DEA       = "dea"
	MBI       = "mbi"
	MRN       = "mrn"
	SNOMED    = "snomed"
	ICD10     = "icd10"
	DOB       = "dob"
	// CombinedName is the name of the detector returned by [Combined]. Its
	// matches carry the names above, never this one.
	CombinedName = "identifiers"
)

// MaxMatchesPerDetector bounds how many matches one detector appends in one
// call to Find, so a hostile text cannot grow the result without limit. A
// text with more identifiers than this is sensitive whatever the exact count.
const MaxMatchesPerDetector = 4096

// Match is one identifier found in a text.
type Match struct {
	// Detector is the name of the detector that found it, e.g. "nhs_number".
	Detector string
	// Start and End are byte offsets of the identifier in the text
	// (text[Start:End]); for "dob" they cover the date only.
	Start, End int
	// Score is the confidence, from 0 to 1, after validation and context.
	Score float64
	// Valid reports that a check digit, a date or a code list confirmed the
	// value. Detectors that cannot validate (admin MRN patterns) leave it
	// false.
	Valid bool
	// Evidence says what was found without revealing it, e.g.
	// "NHS number ••• ••• 5919 (check digit valid; context 'NHS No')". It
	// shows at most the last 4 characters of an identifier (none of an
	// ICD-10 code or a date) and never any text around it except the
	// context keyword, quoted from the detector's own list.
	Evidence string
}

// Detector finds one kind of identifier in plain text.
type Detector interface {
	// Name is the detector's name as used in policy files.
	Name() string
	// Find appends the identifiers found in text to dst and returns it. It
	// does not allocate per byte of text; it allocates the evidence string of
	// each match.
	Find(text string, dst []Match) []Match
}

// NamedPattern is an admin-defined medical record number pattern.
type NamedPattern struct {
	// Name labels the pattern in evidence, e.g. "trust-mrn". Required:
	// letters, digits, '.', '_' and '-', at most 40 characters.
	Name string
	// Regexp matches one record number. Matches of the empty string are
	// ignored.
	Regexp *regexp.Regexp
	// Context lists extra words that raise the score when they appear near a
	// match, in addition to the built-in ones ("MRN", "medical record",
	// "hospital number", "patient", ...). Compared case-insensitively.
	Context []string
}

// CompilePattern compiles expr into a NamedPattern and validates it.
func CompilePattern(name, expr string, context ...string) (NamedPattern, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return NamedPattern{}, fmt.Errorf("failed to compile MRN pattern %q: %w", name, err)
	}
	p := NamedPattern{Name: name, Regexp: re, Context: context}
	if err := p.validate(); err != nil {
		return NamedPattern{}, err
	}
	return p, nil
}

func (p NamedPattern) validate() error {
	if p.Name == "" || len(p.Name) > 40 {
		return fmt.Errorf("MRN pattern name %q: must be 1 to 40 characters", p.Name)
	}
	for i := 0; i < len(p.Name); i++ {
		c := p.Name[i]
		if !(isAlnum(c) || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("MRN pattern name %q: only letters, digits, '.', '_' and '-' are allowed", p.Name)
		}
	}
	if p.Regexp == nil {
		return fmt.Errorf("MRN pattern %q: no regexp", p.Name)
	}
	if p.Regexp.MatchString("") {
		return fmt.Errorf("MRN pattern %q: matches the empty string", p.Name)
	}
	for _, w := range p.Context {
		if strings.TrimSpace(w) == "" || len(w) > 40 {
			return fmt.Errorf("MRN pattern %q: context words must be 1 to 40 characters", p.Name)
		}
	}
	return nil
}

// Config configures the identifier detectors.
type Config struct {
	// MRN holds the admin's medical record number patterns. Default: none
	// (the "mrn" detector is still present and finds nothing).
	MRN []NamedPattern
	// Now is the clock used to judge whether a date of birth is plausible
	// (not in the future, not more than 120 years ago). Default: time.Now.
	Now func() time.Time
}

// Validate reports the first problem with c, naming the pattern.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for _, p := range c.MRN {
		if err := p.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("MRN pattern %q: duplicate name", p.Name))
		}
		seen[p.Name] = true
	}
	return errors.Join(errs...)
}

// Identifiers returns one detector per identifier kind, in this order:
// nhs_number, chi_number, hc_number, nino, ssn, npi, dea, mbi, mrn, snomed,
// icd10, dob. MRN patterns that fail [Config.Validate] are ignored; validate
// the config first to report them.
//
// Each detector scans the text on its own. To find every kind in a single
// pass over the text, use [Combined].
func Identifiers(cfg Config) []Detector {
	base := newScanner(cfg, 0, "")
	out := make([]Detector, 0, len(allKinds))
	for _, k := range allKinds {
		s := *base
		s.kinds = k.bit
		s.name = k.name
		out = append(out, &s)
	}
	return out
}

// Combined returns one detector, named "identifiers", that finds every
// identifier kind in a single pass over the text. Its matches are the union
// of those of the [Identifiers] detectors, each carrying its own detector
// name; only their order may differ.
func Combined(cfg Config) Detector {
	var all kind
	for _, k := range allKinds {
		all |= k.bit
	}
	return newScanner(cfg, all, CombinedName)
}
