package policy

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	const head = "version: 1\nrules:\n"
	rule := func(body string) string { return head + body + "default: pass\n" }
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"empty file", "", []string{"empty"}},
		{"not yaml", "version: [1\n", []string{"YAML"}},
		{"wrong version", "version: 2\ndefault: pass\n", []string{"version", "must be 1"}},
		{"missing version", "default: pass\n", []string{"version"}},
		{"unknown mode", "version: 1\nmode: shadow\ndefault: pass\n", []string{"mode", `"shadow"`}},
		{"missing default", "version: 1\n", []string{"default", "missing"}},
		{"unknown default", "version: 1\ndefault: drop\n", []string{"default", `"drop"`}},
		{"empty subject tag", "version: 1\nsubject_tags: [' ']\ndefault: pass\n", []string{"subject_tags[0]"}},
		{"bad default assurance", "version: 1\ndefaults: {assurance: none}\ndefault: pass\n", []string{"defaults.assurance", `"none"`}},
		{"bad default retention", "version: 1\ndefaults: {retention: 30days}\ndefault: pass\n", []string{"defaults.retention", `"30days"`}},
		{"unknown top-level field", "version: 1\ndefault: pass\nrulez: []\n", []string{"line 3", "rulez", "at top level"}},

		{"unknown action", rule("  - name: r1\n    when: {}\n    action: encrypt\n"),
			[]string{`rule "r1"`, "rules[0]", "line 3", "action", `"encrypt"`}},
		{"missing action", rule("  - name: r1\n    when: {}\n"), []string{`rule "r1"`, "action: missing"}},
		{"unknown field in when", rule("  - name: ok\n    when: {}\n    action: pass\n  - name: r2\n    when: {recipient_domian: [a.example]}\n    action: seal\n"),
			[]string{"line 7", `rules[1] "r2"`, "recipient_domian", "in when"}},
		{"unknown field in rule", rule("  - name: r1\n    when: {}\n    action: seal\n    retain: 1d\n"),
			[]string{"line 6", `rules[0] "r1"`, "retain", "in rule"}},
		{"wrong type", rule("  - name: r1\n    when: {subject_tag: maybe}\n    action: seal\n"),
			[]string{"line 4", `"r1"`, "bool"}},
		{"bad duration", rule("  - name: r1\n    when: {}\n    action: seal\n    retention: 30x\n"),
			[]string{`rule "r1"`, "retention", `"30x"`}},
		{"negative duration", rule("  - name: r1\n    when: {}\n    action: seal\n    retention: -1h\n"),
			[]string{`rule "r1"`, "retention", "negative"}},
		{"huge duration", rule("  - name: r1\n    when: {}\n    action: seal\n    retention: 99999999d\n"),
			[]string{`rule "r1"`, "retention"}},
		{"empty rule name", rule("  - name: \"\"\n    when: {}\n    action: seal\n"), []string{"rules[0]", "name: missing"}},
		{"missing rule name", rule("  - when: {}\n    action: seal\n"), []string{"rules[0]", "line 3", "name: missing"}},
		{"bad rule name", rule("  - name: \"has space\"\n    when: {}\n    action: seal\n"), []string{"rules[0]", "name: must be"}},
		{"reserved rule name", rule("  - name: Default\n    when: {}\n    action: seal\n"), []string{"reserved"}},
		{"duplicate names", rule("  - name: dup\n    when: {}\n    action: seal\n  - name: dup\n    when: {tls: true}\n    action: pass\n"),
			[]string{`rule "dup"`, "rules[1]", "line 6", "duplicate", "rules[0]"}},
		{"missing when", rule("  - name: r1\n    action: seal\n"), []string{`rule "r1"`, "when: missing"}},
		{"reject text on seal", rule("  - name: r1\n    when: {}\n    action: seal\n    reject_text: no\n"), []string{"reject_text", "only allowed"}},
		{"reject text with newline", rule("  - name: r1\n    when: {}\n    action: reject\n    reject_text: \"a\\r\\n250 ok\"\n"), []string{"reject_text", "printable ASCII"}},
		{"reject text too long", rule("  - name: r1\n    when: {}\n    action: reject\n    reject_text: " + strings.Repeat("x", 201) + "\n"), []string{"reject_text", "longer"}},
		{"bad rule assurance", rule("  - name: r1\n    when: {}\n    action: seal\n    assurance: weak\n"), []string{`rule "r1"`, "assurance", `"weak"`}},
		{"bad default oob_factor", "version: 1\ndefaults: {oob_factor: email}\ndefault: pass\n", []string{"defaults.oob_factor", `"email"`, "any, sms or code"}},
		{"default oob_factor with mailbox", "version: 1\ndefaults: {assurance: mailbox, oob_factor: sms}\ndefault: pass\n", []string{"defaults.oob_factor", "only with assurance oob"}},
		{"bad default read_receipt", "version: 1\ndefaults: {read_receipt: sometimes}\ndefault: pass\n", []string{"line 2", "bool"}},
		{"bad rule oob_factor", rule("  - name: r1\n    when: {}\n    action: seal\n    oob_factor: SMS\n"), []string{`rule "r1"`, "oob_factor", `"SMS"`, "any, sms or code"}},
		{"rule oob_factor with mailbox", rule("  - name: r1\n    when: {}\n    action: seal\n    assurance: mailbox\n    oob_factor: code\n"),
			[]string{`rule "r1"`, "oob_factor", "only with assurance oob", "mailbox"}},
		{"bad rule read_receipt", rule("  - name: r1\n    when: {}\n    action: seal\n    read_receipt: 1x\n"), []string{`"r1"`, "bool"}},
		{"bad header name", rule("  - name: r1\n    when: {header: {\"Bad Header\": [x]}}\n    action: seal\n"), []string{`rule "r1"`, "header name"}},
		{"empty header list", rule("  - name: r1\n    when: {header: {Sensitivity: []}}\n    action: seal\n"), []string{"when.header.Sensitivity", "empty"}},
		{"empty recipient list", rule("  - name: r1\n    when: {recipient: []}\n    action: seal\n"), []string{"when.recipient", "empty"}},
		{"bad recipient", rule("  - name: r1\n    when: {recipient: [example.org]}\n    action: seal\n"), []string{"when.recipient", "not an address"}},
		{"bad domain", rule("  - name: r1\n    when: {recipient_domain: [user@example.org]}\n    action: seal\n"), []string{"when.recipient_domain", "not a domain"}},
		{"bad wildcard", rule("  - name: r1\n    when: {sender_domain: [\"*example.org\"]}\n    action: seal\n"), []string{"when.sender_domain"}},
		{"unknown detector", rule("  - name: r1\n    when: {detector: [{name: nhs-number}]}\n    action: seal\n"), []string{`rule "r1"`, "unknown detector", "nhs-number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse accepted an invalid policy (%d rules):\n%s", len(e.rules), tt.yaml)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseDetectorValidation(t *testing.T) {
	det := staticDetector{name: "nhs-number"}
	tests := []struct {
		when string
		want string
	}{
		{"{detector: [{name: nhs-number, min_score: 1.5}]}", "min_score"},
		{"{detector: [{name: nhs-number, min_count: -1}]}", "min_count"},
		{"{detector: [{min_score: 0.5}]}", "name: missing"},
		{"{detector: []}", "empty"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte("version: 1\nrules:\n  - name: r\n    when: "+tt.when+"\n    action: seal\ndefault: pass\n"), WithDetectors(det))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("when %s: err = %v, want mention of %q", tt.when, err, tt.want)
		}
	}
	if _, err := Parse([]byte("version: 1\ndefault: pass\n"), WithDetectors(det, det)); err == nil || !strings.Contains(err.Error(), "two detectors") {
		t.Errorf("duplicate detectors: err = %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"12h", 12 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"0", 0, true},
		{" 7d ", 7 * 24 * time.Hour, true},
		{"36500d", 36500 * 24 * time.Hour, true},
		{"36501d", 0, false},
		{"", 0, false},
		{"d", 0, false},
		{"-3d", 0, false},
		{"1.5d", 0, false},
		{"30", 0, false},
		{"forever", 0, false},
		{"9999999999h", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseSettings(t *testing.T) {
	e := mustParse(t, `
version: 1
defaults: { assurance: mailbox, retention: 12h, allow_direct: false }
rules:
  - name: keep
    when: {}
    action: seal
    retention: "0"
    assurance: oob
    allow_direct: true
default: seal
`)
	d := decide(t, e, &Input{Recipients: []string{"a@b.example"}, Header: header(t, "Subject: x")})
	if o := d.Outcomes[0]; o.Retention != 0 || o.Assurance != AssuranceOOB || !o.AllowDirect {
		t.Errorf("rule settings not applied: %+v", o)
	}
	if r := e.defaultRule.settings; r.retention != 12*time.Hour || r.assurance != AssuranceMailbox || r.allowDirect {
		t.Errorf("defaults not applied: %+v", r)
	}
	if got := e.Rules(); len(got) != 1 || got[0] != "keep" {
		t.Errorf("Rules() = %v", got)
	}
}

func TestParsePortalSettings(t *testing.T) {
	e := mustParse(t, `
version: 1
defaults: { oob_factor: code, read_receipt: true }
rules:
  - name: sms-only
    when: { recipient_domain: [sms.example] }
    action: seal
    oob_factor: sms
    read_receipt: false
  - name: mailbox
    when: { recipient_domain: [mailbox.example] }
    action: seal
    assurance: mailbox
  - name: inherit
    when: { recipient_domain: [inherit.example] }
    action: seal
default: seal
`)
	d := decide(t, e, &Input{
		Recipients: []string{"a@sms.example", "b@mailbox.example", "c@inherit.example", "d@other.example"},
		Header:     header(t, "Subject: x"),
	})
	want := []struct {
		assurance, factor string
		receipt           bool
	}{
		{AssuranceOOB, OOBFactorSMS, false},
		{AssuranceMailbox, OOBFactorCode, true}, // inherited; unused with mailbox assurance
		{AssuranceOOB, OOBFactorCode, true},
		{AssuranceOOB, OOBFactorCode, true},
	}
	for i, w := range want {
		o := d.Outcomes[i]
		if o.Assurance != w.assurance || o.OOBFactor != w.factor || o.ReadReceipt != w.receipt {
			t.Errorf("outcome %d (%s): assurance/oob_factor/read_receipt = %s/%s/%v, want %s/%s/%v",
				i, o.Rule, o.Assurance, o.OOBFactor, o.ReadReceipt, w.assurance, w.factor, w.receipt)
		}
	}
	// Without settings: any factor, no receipt.
	d = decide(t, mustParse(t, "version: 1\ndefault: seal\n"), &Input{Recipients: []string{"a@b.example"}, Header: header(t, "Subject: x")})
	if o := d.Outcomes[0]; o.OOBFactor != OOBFactorAny || o.ReadReceipt {
		t.Errorf("defaults: oob_factor %q, read_receipt %v; want any, false", o.OOBFactor, o.ReadReceipt)
	}
}

// The settings reach the stored explanation, and a sender signal carries
// its own settings in monitor mode too.
func TestPortalSettingsInDecision(t *testing.T) {
	e := mustParse(t, `
version: 1
mode: monitor
subject_tags: ["[secure]"]
defaults: { read_receipt: false }
rules:
  - name: tagged
    when: { subject_tag: true }
    action: seal
    oob_factor: sms
    read_receipt: true
default: pass
`)
	d := decide(t, e, &Input{Recipients: []string{"a@b.example"}, Header: header(t, "Subject: [secure] x")})
	o := d.Outcomes[0]
	if o.Action != ActionSeal || o.OOBFactor != OOBFactorSMS || !o.ReadReceipt {
		t.Fatalf("monitor-mode signal outcome = %+v", o)
	}
	var j struct {
		Outcomes []struct {
			OOBFactor   string `json:"oob_factor"`
			ReadReceipt *bool  `json:"read_receipt"`
		} `json:"outcomes"`
	}
	if err := json.Unmarshal(d.JSON(), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Outcomes) != 1 || j.Outcomes[0].OOBFactor != "sms" || j.Outcomes[0].ReadReceipt == nil || !*j.Outcomes[0].ReadReceipt {
		t.Errorf("decision JSON lacks the settings: %s", d.JSON())
	}
}

// TestExamplePolicy keeps deploy/policy.example.yaml valid and checks that it
// does what its comments say.
func TestExamplePolicy(t *testing.T) {
	data, err := os.ReadFile("../deploy/policy.example.yaml")
	if err != nil {
		t.Fatalf("example policy missing: %v", err)
	}
	e := mustParse(t, string(data))
	in := &Input{
		Sender:     "gp@clinic.example",
		Recipients: []string{"a@partner.example", "b@nhs.example", "c@gmail.example"},
		Header:     header(t, "Subject: =?UTF-8?Q?=5Bsecure=5D_results?="),
	}
	d := decide(t, e, in)
	for i, o := range d.Outcomes {
		if !o.Action.Seals() {
			t.Errorf("tagged message to %s: %s by %q, want sealed", in.Recipients[i], o.Action, o.Rule)
		}
	}
	in.Header = header(t, "Subject: minutes")
	d = decide(t, e, in)
	if o := d.Outcomes[0]; o.Action != ActionRequireTLS {
		t.Errorf("partner: %s by %q, want require-tls", o.Action, o.Rule)
	}
	if o := d.Outcomes[2]; o.Action != ActionPass {
		t.Errorf("untagged other: %s by %q, want pass", o.Action, o.Rule)
	}
}

func TestDefaultParses(t *testing.T) {
	if _, err := Parse(defaultPolicy); err != nil {
		t.Fatalf("embedded default policy is invalid: %v", err)
	}
}
