package policy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
)

const msipConfidential = "MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Enabled=true; " +
	"MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_SetDate=2024-05-01T10:00:00Z; " +
	"MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Method=Standard; " +
	"MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Name=Highly Confidential; " +
	"MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_SiteId=0c1c2a7e-0000-4000-8000-000000000000; " +
	"MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_ContentBits=0"

// TestConditions checks each condition alone, in a policy with one seal rule
// and a pass default: "seal" means the condition matched.
func TestConditions(t *testing.T) {
	plain := header(t, "Subject: hello", "From: a@example.org")
	tests := []struct {
		name   string
		when   string
		in     Input
		detect []Detector
		want   Action
	}{
		{"empty when matches all", `{}`, Input{Header: plain}, nil, ActionSeal},

		{"subject tag present", `{subject_tag: true}`, Input{Header: header(t, "Subject: Results [secure] for review")}, nil, ActionSeal},
		{"subject tag upper case", `{subject_tag: true}`, Input{Header: header(t, "Subject: [SECURE] results")}, nil, ActionSeal},
		{"subject tag second list entry", `{subject_tag: true}`, Input{Header: header(t, "Subject: [Encrypt] results")}, nil, ActionSeal},
		{"subject tag absent", `{subject_tag: true}`, Input{Header: plain}, nil, ActionPass},
		{"subject tag without brackets", `{subject_tag: true}`, Input{Header: header(t, "Subject: secure results")}, nil, ActionPass},
		{"subject tag false on untagged", `{subject_tag: false}`, Input{Header: plain}, nil, ActionSeal},
		{"subject tag false on tagged", `{subject_tag: false}`, Input{Header: header(t, "Subject: [secure]")}, nil, ActionPass},
		{"no subject header", `{subject_tag: true}`, Input{Header: header(t, "From: a@example.org")}, nil, ActionPass},

		{"header value", `{header: {Sensitivity: [private, company-confidential]}}`, Input{Header: header(t, "Sensitivity: Company-Confidential")}, nil, ActionSeal},
		{"header name case-insensitive", `{header: {sensitivity: [private]}}`, Input{Header: header(t, "SENSITIVITY:  PRIVATE ")}, nil, ActionSeal},
		{"header other value", `{header: {Sensitivity: [private]}}`, Input{Header: header(t, "Sensitivity: Personal")}, nil, ActionPass},
		{"header absent", `{header: {Sensitivity: [private]}}`, Input{Header: plain}, nil, ActionPass},
		{"header second occurrence", `{header: {X-Sealpost-Encrypt: ["yes"]}}`, Input{Header: header(t, "X-Sealpost-Encrypt: no", "X-Sealpost-Encrypt: yes")}, nil, ActionSeal},
		{"header numeric value", `{header: {X-Sealpost-Encrypt: [yes, true, "1"]}}`, Input{Header: header(t, "X-Sealpost-Encrypt: 1")}, nil, ActionSeal},
		{"header yaml bool value", `{header: {X-Sealpost-Encrypt: [yes, true, 1]}}`, Input{Header: header(t, "X-Sealpost-Encrypt: TRUE")}, nil, ActionSeal},
		{"header encoded word", `{header: {Sensitivity: [private]}}`, Input{Header: header(t, "Sensitivity: =?UTF-8?Q?Private?=")}, nil, ActionSeal},
		{"header any value", `{header: {X-Classified: ["*"]}}`, Input{Header: header(t, "X-Classified: whatever")}, nil, ActionSeal},
		{"header any value absent", `{header: {X-Classified: ["*"]}}`, Input{Header: plain}, nil, ActionPass},
		{"two headers both", `{header: {Sensitivity: [private], X-Sealpost-Encrypt: ["yes"]}}`, Input{Header: header(t, "Sensitivity: private", "X-Sealpost-Encrypt: yes")}, nil, ActionSeal},
		{"two headers one", `{header: {Sensitivity: [private], X-Sealpost-Encrypt: ["yes"]}}`, Input{Header: header(t, "Sensitivity: private")}, nil, ActionPass},

		{"msip label by name", `{msip_label: ["highly confidential"]}`, Input{Header: header(t, "msip_labels: "+msipConfidential)}, nil, ActionSeal},
		{"msip label by guid", `{msip_label: [F42AA342-8706-4288-BD11-EBB85995028C]}`, Input{Header: header(t, "msip_labels: "+msipConfidential)}, nil, ActionSeal},
		{"msip label other name", `{msip_label: [Public]}`, Input{Header: header(t, "msip_labels: "+msipConfidential)}, nil, ActionPass},
		{"msip label disabled", `{msip_label: [Secret]}`, Input{Header: header(t, "msip_labels: MSIP_Label_1_Enabled=False; MSIP_Label_1_Name=Secret;")}, nil, ActionPass},
		{"msip label folded", `{msip_label: [Secret]}`, Input{Header: header(t, "msip_labels: MSIP_Label_1_Enabled=true;", " MSIP_Label_1_Name=Secret;")}, nil, ActionSeal},
		{"msip garbage", `{msip_label: [Secret]}`, Input{Header: header(t, "msip_labels: ;;==;MSIP_Label_=x;MSIP_Label__Name=Secret;msip_label_x")}, nil, ActionPass},

		{"sender", `{sender: [Clinic@Example.org]}`, Input{Sender: "clinic@example.org", Header: plain}, nil, ActionSeal},
		{"sender other", `{sender: [clinic@example.org]}`, Input{Sender: "other@example.org", Header: plain}, nil, ActionPass},
		{"sender null", `{sender: [clinic@example.org]}`, Input{Sender: "", Header: plain}, nil, ActionPass},
		{"sender domain", `{sender_domain: [example.org]}`, Input{Sender: "x@EXAMPLE.org", Header: plain}, nil, ActionSeal},
		{"sender domain not subdomain", `{sender_domain: [example.org]}`, Input{Sender: "x@mail.example.org", Header: plain}, nil, ActionPass},
		{"sender domain wildcard", `{sender_domain: ["*.example.org"]}`, Input{Sender: "x@mail.example.org", Header: plain}, nil, ActionSeal},
		{"sender domain wildcard not apex", `{sender_domain: ["*.example.org"]}`, Input{Sender: "x@example.org", Header: plain}, nil, ActionPass},
		{"sender domain idna", `{sender_domain: [bücher.example]}`, Input{Sender: "x@xn--bcher-kva.example", Header: plain}, nil, ActionSeal},

		{"recipient", `{recipient: [patient@example.net]}`, Input{Recipients: []string{"<Patient@Example.NET>"}, Header: plain}, nil, ActionSeal},
		{"recipient other", `{recipient: [patient@example.net]}`, Input{Recipients: []string{"p2@example.net"}, Header: plain}, nil, ActionPass},
		{"recipient domain", `{recipient_domain: [example.net, partner.example]}`, Input{Recipients: []string{"x@partner.example."}, Header: plain}, nil, ActionSeal},
		{"recipient domain other", `{recipient_domain: [partner.example]}`, Input{Recipients: []string{"x@partner.example.evil"}, Header: plain}, nil, ActionPass},

		{"encrypted true on pgp header", `{encrypted: true}`, Input{Header: header(t, `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=x`)}, nil, ActionSeal},
		{"encrypted true on plain", `{encrypted: true}`, Input{Header: plain}, nil, ActionPass},
		{"encrypted false on plain", `{encrypted: false}`, Input{Header: plain}, nil, ActionSeal},

		{"tls true", `{tls: true}`, Input{TLS: true, Header: plain}, nil, ActionSeal},
		{"tls true without", `{tls: true}`, Input{Header: plain}, nil, ActionPass},
		{"authenticated false", `{authenticated: false}`, Input{Header: plain}, nil, ActionSeal},
		{"authenticated false with", `{authenticated: false}`, Input{Authenticated: true, Header: plain}, nil, ActionPass},

		{"detector found", `{detector: [{name: nhs-number, min_score: 0.8}]}`, Input{Header: plain},
			[]Detector{staticDetector{name: "nhs-number", finding: &Finding{Count: 2, Score: 0.9}}}, ActionSeal},
		{"detector low score", `{detector: [{name: nhs-number, min_score: 0.8}]}`, Input{Header: plain},
			[]Detector{staticDetector{name: "nhs-number", finding: &Finding{Count: 2, Score: 0.5}}}, ActionPass},
		{"detector min count", `{detector: [{name: nhs-number, min_count: 3}]}`, Input{Header: plain},
			[]Detector{staticDetector{name: "nhs-number", finding: &Finding{Count: 2, Score: 1}}}, ActionPass},
		{"detector nothing", `{detector: [{name: nhs-number}]}`, Input{Header: plain},
			[]Detector{staticDetector{name: "nhs-number"}}, ActionPass},
		{"detector any of two", `{detector: [{name: nhs-number}, {name: clinical}]}`, Input{Header: plain},
			[]Detector{staticDetector{name: "nhs-number"}, staticDetector{name: "clinical", finding: &Finding{Count: 1, Score: 0.1}}}, ActionSeal},

		{"and: all hold", `{subject_tag: true, recipient_domain: [example.net], tls: true}`,
			Input{TLS: true, Recipients: []string{"a@example.net"}, Header: header(t, "Subject: [secure]")}, nil, ActionSeal},
		{"and: one fails", `{subject_tag: true, recipient_domain: [example.net], tls: true}`,
			Input{TLS: false, Recipients: []string{"a@example.net"}, Header: header(t, "Subject: [secure]")}, nil, ActionPass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := "version: 1\nsubject_tags: ['[secure]', '[encrypt]']\nrules:\n  - name: r\n    when: " + tt.when + "\n    action: seal\ndefault: pass\n"
			e := mustParse(t, pol, WithDetectors(tt.detect...))
			in := tt.in
			if in.Recipients == nil {
				in.Recipients = []string{"someone@example.net"}
			}
			d := decide(t, e, &in)
			o := d.Outcomes[0]
			if o.Action != tt.want {
				t.Fatalf("action = %s, want %s (rule %q)", o.Action, tt.want, o.Rule)
			}
			wantRule := "r"
			if tt.want == ActionPass {
				wantRule = "default"
			}
			if o.Rule != wantRule {
				t.Errorf("rule = %q, want %q", o.Rule, wantRule)
			}
			if o.Recipient != in.Recipients[0] {
				t.Errorf("recipient = %q, want %q unchanged", o.Recipient, in.Recipients[0])
			}
		})
	}
}

const raisePolicy = `
version: 1
subject_tags: ["[secure]"]
rules:
  - name: internal-pass
    when: { recipient_domain: [internal.example] }
    action: pass
  - name: partner-tls
    when: { recipient_domain: [partner.example] }
    action: require-tls
  - name: blocked
    when: { recipient_domain: [blocked.example] }
    action: reject
    reject_text: "Recipient domain is blocked"
  - name: direct-partner
    when: { recipient_domain: [direct.example] }
    action: seal-direct
  - name: plain-domain-seal
    when: { recipient_domain: [sealme.example] }
    action: seal
  - name: tagged
    when: { subject_tag: true }
    action: seal
    retention: 7d
  - name: labelled
    when: { msip_label: [Secret] }
    action: seal
    assurance: mailbox
  - name: asked
    when: { header: { X-Sealpost-Encrypt: ["yes"] } }
    action: seal-direct
default: pass
`

// TestRaiseOnly checks that a sender signal's seal beats an earlier pass or
// require-tls rule, but not a reject or another seal, and that only sender
// signals get this treatment.
func TestRaiseOnly(t *testing.T) {
	e := mustParse(t, raisePolicy)
	tagged := header(t, "Subject: [secure] letter")
	labelled := header(t, "Subject: x", "msip_labels: MSIP_Label_9_Enabled=true; MSIP_Label_9_Name=Secret")
	asked := header(t, "Subject: x", "X-Sealpost-Encrypt: yes")
	plain := header(t, "Subject: x")
	tests := []struct {
		name           string
		h              textproto.Header
		rcpt           string
		want           Action
		rule, sig, ovr string
		retention      time.Duration
		assurance      string
	}{
		{"tag beats earlier pass", tagged, "a@internal.example", ActionSeal, "tagged", "tagged", "internal-pass", 7 * 24 * time.Hour, "oob"},
		{"tag beats earlier require-tls", tagged, "a@partner.example", ActionSeal, "tagged", "tagged", "partner-tls", 7 * 24 * time.Hour, "oob"},
		{"tag does not beat reject", tagged, "a@blocked.example", ActionReject, "blocked", "tagged", "", 30 * 24 * time.Hour, "oob"},
		{"tag keeps earlier seal-direct", tagged, "a@direct.example", ActionSealDirect, "direct-partner", "tagged", "", 30 * 24 * time.Hour, "oob"},
		{"tag beats default pass", tagged, "a@other.example", ActionSeal, "tagged", "tagged", "", 7 * 24 * time.Hour, "oob"},
		{"label beats require-tls", labelled, "a@partner.example", ActionSeal, "labelled", "labelled", "partner-tls", 30 * 24 * time.Hour, "mailbox"},
		{"header beats pass with its own action", asked, "a@internal.example", ActionSealDirect, "asked", "asked", "internal-pass", 30 * 24 * time.Hour, "oob"},
		{"no signal: first match wins", plain, "a@partner.example", ActionRequireTLS, "partner-tls", "", "", 30 * 24 * time.Hour, "oob"},
		{"no signal: non-signal seal is ordinary", plain, "a@sealme.example", ActionSeal, "plain-domain-seal", "", "", 30 * 24 * time.Hour, "oob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, e, &Input{Header: tt.h, Recipients: []string{tt.rcpt}})
			o := d.Outcomes[0]
			if o.Action != tt.want || o.Would != tt.want {
				t.Fatalf("action/would = %s/%s, want %s", o.Action, o.Would, tt.want)
			}
			if o.Rule != tt.rule || o.Signal != tt.sig || o.Overridden != tt.ovr {
				t.Errorf("rule/signal/overridden = %q/%q/%q, want %q/%q/%q", o.Rule, o.Signal, o.Overridden, tt.rule, tt.sig, tt.ovr)
			}
			if o.Retention != tt.retention || o.Assurance != tt.assurance {
				t.Errorf("retention/assurance = %v/%s, want %v/%s", o.Retention, o.Assurance, tt.retention, tt.assurance)
			}
			if tt.want == ActionReject && o.RejectText != "Recipient domain is blocked" {
				t.Errorf("reject text = %q", o.RejectText)
			}
		})
	}
}

// TestRaiseOnlyOrderIndependent moves the signal rule before and after a
// catch-all pass: the tagged message is sealed either way.
func TestRaiseOnlyOrderIndependent(t *testing.T) {
	pass := "  - name: everything-passes\n    when: {}\n    action: pass\n"
	tag := "  - name: tagged\n    when: {subject_tag: true}\n    action: seal\n"
	for name, rules := range map[string]string{"signal first": tag + pass, "signal last": pass + tag} {
		t.Run(name, func(t *testing.T) {
			e := mustParse(t, "version: 1\nsubject_tags: ['[secure]']\nrules:\n"+rules+"default: pass\n")
			d := decide(t, e, &Input{Header: header(t, "Subject: [secure]"), Recipients: []string{"a@b.example"}})
			if got := d.Outcomes[0]; got.Action != ActionSeal || got.Rule != "tagged" {
				t.Fatalf("got %s by %q, want seal by tagged", got.Action, got.Rule)
			}
			d = decide(t, e, &Input{Header: header(t, "Subject: plain"), Recipients: []string{"a@b.example"}})
			if got := d.Outcomes[0]; got.Action != ActionPass {
				t.Fatalf("untagged: got %s by %q, want pass", got.Action, got.Rule)
			}
		})
	}
}

const monitorPolicy = `
version: 1
mode: monitor
subject_tags: ["[secure]"]
rules:
  - name: blocked
    when: { recipient_domain: [blocked.example] }
    action: reject
  - name: patients
    when: { recipient_domain: [patients.example] }
    action: seal
  - name: tagged
    when: { subject_tag: true }
    action: seal
    assurance: mailbox
default: require-tls
`

func TestMonitorMode(t *testing.T) {
	e := mustParse(t, monitorPolicy)
	if !e.Monitor() {
		t.Fatal("Monitor() = false for a monitor policy")
	}
	tests := []struct {
		name         string
		subject      string
		rcpt         string
		action, want Action
		assurance    string
	}{
		{"content seal only logged", "x", "a@patients.example", ActionPass, ActionSeal, "oob"},
		{"reject only logged", "x", "a@blocked.example", ActionPass, ActionReject, "oob"},
		{"default only logged", "x", "a@else.example", ActionPass, ActionRequireTLS, "oob"},
		{"[secure] still seals", "[secure] x", "a@else.example", ActionSeal, ActionSeal, "mailbox"},
		{"[secure] seals where policy would reject", "[secure] x", "a@blocked.example", ActionSeal, ActionReject, "mailbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, e, &Input{Header: header(t, "Subject: "+tt.subject), Recipients: []string{tt.rcpt}})
			if !d.Monitor {
				t.Error("Decision.Monitor = false")
			}
			o := d.Outcomes[0]
			if o.Action != tt.action || o.Would != tt.want {
				t.Fatalf("action/would = %s/%s, want %s/%s", o.Action, o.Would, tt.action, tt.want)
			}
			if o.Action.Seals() && o.Assurance != tt.assurance {
				t.Errorf("assurance = %s, want %s", o.Assurance, tt.assurance)
			}
			if o.RejectText != "" {
				t.Errorf("monitor mode carries reject text %q", o.RejectText)
			}
		})
	}
}

// TestSubjectEncodedWords checks that tags are found in RFC 2047 subjects.
func TestSubjectEncodedWords(t *testing.T) {
	e := Default()
	tests := []struct {
		subject string
		want    Action
	}{
		{"=?UTF-8?B?W3NlY3VyZV0gQmx1dGVyZ2Vibmlzc2Ugw7xiZXJtaXR0ZWx0?=", ActionSeal}, // "[secure] Bluterg…"
		{"=?UTF-8?Q?Re:_=5Bsecure=5D_Befund?=", ActionSeal},
		{"=?utf-8?q?=5BSECURE=5D?=", ActionSeal},
		{"=?ISO-8859-1?Q?Gr=FC=DFe_[encrypt]?=", ActionSeal},
		{"=?windows-1252?B?W3NlY3VyZV0=?=", ActionSeal},
		{"=?UTF-8?B?W3Nl?= =?UTF-8?B?Y3VyZV0=?=", ActionSeal}, // tag split over two words
		{"=?UTF-8?B?!!not base64!!?= [secure]", ActionSeal},   // broken word, raw text still seen
		{"=?x-unknown?Q?=5Bsecure=5D?=", ActionPass},          // unknown charset: cannot decode
		{"=?UTF-8?B?c2VjdXJl?=", ActionPass},                  // "secure" without brackets
		{"=?UTF-8?B?", ActionPass},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			d := decide(t, e, &Input{Header: header(t, "Subject: "+tt.subject), Recipients: []string{"a@b.example"}})
			if got := d.Outcomes[0].Action; got != tt.want {
				t.Fatalf("action = %s, want %s", got, tt.want)
			}
		})
	}
}

const splitPolicy = `
version: 1
subject_tags: ["[secure]"]
rules:
  - name: block-competitor
    when: { recipient_domain: [competitor.example] }
    action: reject
    reject_text: "Mail to this domain is not allowed"
  - name: partner-tls
    when: { recipient_domain: [partner.example] }
    action: require-tls
  - name: patient-letters
    when: { detector: [{name: letter, min_score: 0.5}] }
    action: seal
default: pass
`

// TestPerRecipientSplit sends one message to three recipients and gets three
// different outcomes, in recipient order.
func TestPerRecipientSplit(t *testing.T) {
	e := mustParse(t, splitPolicy, WithDetectors(staticDetector{name: "letter", finding: &Finding{Count: 1, Score: 0.7, Evidence: []string{"Dear Dr ****"}}}))
	in := &Input{
		Sender:     "gp@clinic.example",
		Recipients: []string{"a@partner.example", "b@competitor.example", "patient@mail.example"},
		Header:     header(t, "Subject: your results"),
	}
	d := decide(t, e, in)
	want := []struct {
		action Action
		rule   string
	}{
		{ActionRequireTLS, "partner-tls"},
		{ActionReject, "block-competitor"},
		{ActionSeal, "patient-letters"},
	}
	for i, w := range want {
		o := d.Outcomes[i]
		if o.Recipient != in.Recipients[i] || o.Action != w.action || o.Rule != w.rule {
			t.Errorf("outcome %d = %s %s by %q, want %s %s by %q", i, o.Recipient, o.Action, o.Rule, in.Recipients[i], w.action, w.rule)
		}
	}
	if d.Outcomes[1].RejectText != "Mail to this domain is not allowed" {
		t.Errorf("reject text = %q", d.Outcomes[1].RejectText)
	}
	if len(d.Findings) != 1 || d.Findings[0].Detector != "letter" {
		t.Errorf("findings = %+v, want one from letter", d.Findings)
	}
}

func TestDecisionJSON(t *testing.T) {
	e := mustParse(t, splitPolicy, WithDetectors(staticDetector{name: "letter", finding: &Finding{
		Count: 3, Score: 2.5, // out of range: clamped
		Evidence: []string{strings.Repeat("é", 100), "2", "3", "4", "5", "6", "7", "8", "9", "10"},
	}}))
	in := &Input{Recipients: []string{"secret.patient@mail.example", "x@partner.example"}, Header: header(t, "Subject: s")}
	d := decide(t, e, in)
	raw := d.JSON()
	if strings.Contains(string(raw), "secret.patient") {
		t.Fatalf("JSON holds a full address: %s", raw)
	}
	var got struct {
		Policy   string `json:"policy"`
		Mode     string `json:"mode"`
		Findings []struct {
			Detector string   `json:"detector"`
			Score    float64  `json:"score"`
			Evidence []string `json:"evidence"`
		} `json:"findings"`
		Outcomes []struct {
			Rcpt      int    `json:"rcpt"`
			Domain    string `json:"domain"`
			Action    string `json:"action"`
			Rule      string `json:"rule"`
			Retention int64  `json:"retention_seconds"`
		} `json:"outcomes"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("JSON does not decode: %v\n%s", err, raw)
	}
	if got.Policy != e.Digest() || !strings.HasPrefix(got.Policy, "sha256:") || got.Mode != "enforce" {
		t.Errorf("policy/mode = %q/%q", got.Policy, got.Mode)
	}
	if len(got.Findings) != 1 || got.Findings[0].Score != 1 || len(got.Findings[0].Evidence) != maxEvidence ||
		len(got.Findings[0].Evidence[0]) > maxEvidenceLen+len("…") {
		t.Errorf("findings not capped: %+v", got.Findings)
	}
	if len(got.Outcomes) != 2 || got.Outcomes[0].Domain != "mail.example" || got.Outcomes[1].Rcpt != 1 ||
		got.Outcomes[0].Action != "seal" || got.Outcomes[0].Rule != "patient-letters" || got.Outcomes[0].Retention != 30*86400 {
		t.Errorf("outcomes = %+v", got.Outcomes)
	}
}

func TestDecideErrors(t *testing.T) {
	boom := errors.New("detector backend down")
	e := mustParse(t, splitPolicy, WithDetectors(staticDetector{name: "letter", err: boom}))
	in := &Input{Recipients: []string{"a@b.example"}, Header: header(t, "Subject: s")}
	if _, err := e.Decide(context.Background(), in); !errors.Is(err, boom) {
		t.Errorf("detector failure: err = %v, want it wrapped", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Default().Decide(ctx, in); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	if _, err := Default().Decide(context.Background(), nil); err == nil {
		t.Error("nil input: no error")
	}
	openErr := errors.New("store unavailable")
	in.Open = func() (io.ReadCloser, error) { return nil, openErr }
	if _, err := Default().Decide(context.Background(), in); !errors.Is(err, openErr) {
		t.Errorf("open failure: err = %v, want it wrapped", err)
	}
}

func TestDefaultPolicy(t *testing.T) {
	e := Default()
	if e.Monitor() {
		t.Fatal("default policy is in monitor mode")
	}
	pgp := `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=b`
	tests := []struct {
		name  string
		lines []string
		want  Action
		rule  string
	}{
		{"plain passes", []string{"Subject: lunch"}, ActionPass, "default"},
		{"[secure] seals", []string{"Subject: [secure] lunch"}, ActionSeal, "sender-asked-to-seal"},
		{"[encrypt] seals", []string{"Subject: lunch [ENCRYPT]"}, ActionSeal, "sender-asked-to-seal"},
		{"X-Sealpost-Encrypt seals", []string{"Subject: x", "X-Sealpost-Encrypt: true"}, ActionSeal, "explicit-encrypt-header"},
		{"X-Sealpost-Encrypt no passes", []string{"Subject: x", "X-Sealpost-Encrypt: no"}, ActionPass, "default"},
		{"Sensitivity private seals", []string{"Subject: x", "Sensitivity: Private"}, ActionSeal, "sensitivity-header"},
		{"Sensitivity personal passes", []string{"Subject: x", "Sensitivity: Personal"}, ActionPass, "default"},
		{"already encrypted passes", []string{"Subject: x", pgp}, ActionPass, "already-encrypted"},
		{"encrypted but tagged seals", []string{"Subject: [secure] x", pgp}, ActionSeal, "sender-asked-to-seal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, e, &Input{Header: header(t, tt.lines...), Recipients: []string{"a@b.example"}})
			if o := d.Outcomes[0]; o.Action != tt.want || o.Rule != tt.rule || o.Assurance != AssuranceOOB {
				t.Fatalf("got %s by %q (%s), want %s by %q", o.Action, o.Rule, o.Assurance, tt.want, tt.rule)
			}
		})
	}
	if string(DefaultYAML()) != string(defaultPolicy) {
		t.Error("DefaultYAML differs from the embedded policy")
	}
}
