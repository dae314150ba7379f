package corpus

import (
	"strings"
	"testing"
)

func TestFamily(t *testing.T) {
	for in, want := range map[string]string{
		"uk-discharge-summary-03.eml": "uk-discharge-summary",
		"biz-invoice-00.eml":          "biz-invoice",
		"plain.eml":                   "plain",
		"x-y.eml":                     "x-y",
		"00001.abc.txt":               "00001.abc",
	} {
		if got := family(in); got != want {
			t.Errorf("family(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEvaluateAndCheck(t *testing.T) {
	s := func(class string, score float64) Scored {
		return Scored{Sample: Sample{Path: class, Class: class, Group: class}, Score: score}
	}
	scored := []Scored{
		s(Clinical, 0.9), s(Clinical, 0.8), s(Clinical, 0.2), s(Clinical, 0.7),
		s(Business, 0.1), s(Business, 0.6), s(Health, 0.4), s(Health, 0.3), s(Spam, 0.9),
	}
	f := Evaluate(scored, 0.5)
	if c := f.Class(Clinical); c.N != 4 || c.Flagged != 3 || c.Rate != 0.75 {
		t.Errorf("clinical figures %+v", c)
	}
	if c := f.Class(Business); c.Rate != 0.5 {
		t.Errorf("business figures %+v", c)
	}
	// Spam never counts against precision.
	if f.Precision != 0.75 || f.Recall != 0.75 {
		t.Errorf("precision %v recall %v, want 0.75 0.75", f.Precision, f.Recall)
	}
	miss := strings.Join(f.Check(), "; ")
	for _, want := range []string{"recall", "business"} {
		if !strings.Contains(miss, want) {
			t.Errorf("Check() = %q, lacks %q", miss, want)
		}
	}
	if strings.Contains(miss, "health") {
		t.Errorf("Check() = %q flags health at 0%%", miss)
	}
	var b strings.Builder
	f.Print(&b, "t")
	if !strings.Contains(b.String(), "recall (target >= 0.98)") {
		t.Errorf("Print output:\n%s", b.String())
	}
}

func TestInTestIsStable(t *testing.T) {
	// The split must never change: these were decided when the corpus was
	// committed.
	if !InTest("clinical/uk-gp-note-abbrev") || InTest("clinical/uk-discharge-summary") {
		t.Fatal("the split of committed families changed")
	}
}
