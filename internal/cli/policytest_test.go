package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPolicyTestCommand runs `sealpost policy test` on corpus messages with
// the built-in policy and with a policy file, in text and JSON form.
func TestPolicyTestCommand(t *testing.T) {
	corpus := filepath.Join("..", "..", "testdata", "corpus")
	letter := filepath.Join(corpus, "clinical", "uk-discharge-summary-00.eml")
	invoice := filepath.Join(corpus, "business", "biz-invoice-00.eml")
	dir := t.TempDir()
	sub := filepath.Join(dir, "mail")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{letter, invoice} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(sub, "notes.txt"), []byte("not a message"), 0o644)
	passAll := filepath.Join(dir, "pass.yaml")
	os.WriteFile(passAll, []byte("version: 1\nrules:\n  - name: only-ids\n    when: {detector: [{name: nhs_number, min_score: 0.9}]}\n    action: reject\n    reject_text: no identifiers please\ndefault: pass\n"), 0o644)

	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(append([]string{"policy", "test"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errOut := run("--json", sub)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON line per .eml file (2), got %d:\n%s", len(lines), out)
	}
	got := map[string]policyTestResult{}
	for _, l := range lines {
		var r policyTestResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		got[filepath.Base(r.File)] = r
	}
	l, inv := got[filepath.Base(letter)], got[filepath.Base(invoice)]
	if l.Action != "seal" || l.Rule != "patient-health-information" || l.Score < 0.5 || len(l.Findings) == 0 {
		t.Errorf("letter: %+v; want seal by patient-health-information with score and findings", l)
	}
	if inv.Action != "pass" || inv.Rule != "default" || inv.Score >= 0.5 {
		t.Errorf("invoice: %+v; want pass by default", inv)
	}
	// Only redacted evidence: no identifier or date of birth in the output.
	if m := regexp.MustCompile(`\d{3} \d{3} \d{4}|\d{2}/\d{2}/\d{4}`).FindString(out); m != "" {
		t.Errorf("output shows %q", m)
	}

	code, out, _ = run("--policy", passAll, letter)
	if code != 0 || !strings.Contains(out, "reject (rule only-ids") {
		t.Errorf("with --policy: exit %d, output:\n%s", code, out)
	}

	if code, _, errOut = run(); code != 2 || !strings.Contains(errOut, "usage: sealpost policy") {
		t.Errorf("no paths: exit %d, stderr %s", code, errOut)
	}
	if code, _, errOut = run(filepath.Join(dir, "missing.eml")); code != 1 || !strings.Contains(errOut, "missing.eml") {
		t.Errorf("missing file: exit %d, stderr %s", code, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nrules:\n  - name: r\n    when: {detector: [{name: no_such}]}\n    action: seal\ndefault: pass\n"), 0o644)
	if code, _, errOut = run("--policy", bad, letter); code != 1 || !strings.Contains(errOut, "no_such") {
		t.Errorf("bad policy: exit %d, stderr %s", code, errOut)
	}
}
