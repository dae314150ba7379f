package policy

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"time"

	"github.com/emersion/go-message/textproto"
)

// Action is what the relay does with one recipient's copy of a message.
type Action string

// The actions a rule (or the policy default) can select.
const (
	// ActionSeal seals the message for the portal; recipients with a key in
	// the directory also get ciphertext they can open themselves.
	ActionSeal Action = "seal"
	// ActionSealDirect seals only to the recipient's own key from the
	// directory. The relay falls back to ActionSeal if there is none.
	ActionSealDirect Action = "seal-direct"
	// ActionRequireTLS delivers in the clear, but only through the next hop
	// that verifies TLS (for trusted partner domains).
	ActionRequireTLS Action = "require-tls"
	// ActionPass delivers the message unchanged.
	ActionPass Action = "pass"
	// ActionReject refuses the recipient with Outcome.RejectText.
	ActionReject Action = "reject"
)

// Valid reports whether a is one of the known actions.
func (a Action) Valid() bool {
	switch a {
	case ActionSeal, ActionSealDirect, ActionRequireTLS, ActionPass, ActionReject:
		return true
	}
	return false
}

// Seals reports whether a produces a sealed copy.
func (a Action) Seals() bool { return a == ActionSeal || a == ActionSealDirect }

// Assurance levels for opening a sealed message in the portal.
const (
	// AssuranceOOB needs something the mailbox does not hold (passkey,
	// password plus TOTP, or a code sent out of band). The default.
	AssuranceOOB = "oob"
	// AssuranceMailbox lets whoever holds the mailbox open the message. It is
	// lower assurance and the portal labels it as such.
	AssuranceMailbox = "mailbox"
)

// Out-of-band factors: what a recipient must prove, besides the mailbox,
// to enrol in the portal for a message with [AssuranceOOB].
const (
	// OOBFactorAny uses a code sent by SMS when the sender supplied a phone
	// number for the recipient (X-Sealpost-Recipient-Phone), and otherwise
	// the enrollment code that an admin passes on out of band. The default.
	OOBFactorAny = "any"
	// OOBFactorSMS accepts only a code sent by SMS to the number the sender
	// supplied; a recipient without one cannot enrol for the message.
	OOBFactorSMS = "sms"
	// OOBFactorCode accepts only the enrollment code, even when a phone
	// number is on file.
	OOBFactorCode = "code"
)

// Input is everything the policy may look at for one message.
type Input struct {
	// Sender is the envelope sender (MAIL FROM), "" for the null sender.
	Sender string
	// Recipients are the envelope recipients (RCPT TO), in order.
	Recipients []string
	// Header is the parsed top-level header of the message.
	Header textproto.Header
	// Open returns the raw message (header and body) from the start. It may be
	// called more than once. It may be nil, and then only the header is used.
	Open func() (io.ReadCloser, error)
	// Size is the message size in bytes.
	Size int64
	// TLS reports whether the client connection used TLS.
	TLS bool
	// Authenticated reports whether the client authenticated (SMTP AUTH).
	Authenticated bool
}

// Outcome is the policy's answer for one recipient.
type Outcome struct {
	// Recipient is the envelope recipient this outcome is for.
	Recipient string
	// Action is what the relay must do. In monitor mode it is ActionPass,
	// unless a sender signal forced sealing.
	Action Action
	// Would is what the policy would have done in enforce mode. It differs
	// from Action only in monitor mode.
	Would Action
	// Rule names the rule that decided Would, or "default".
	Rule string
	// Signal names the sender-signal rule (subject tag, sensitivity header,
	// label…) that matched this recipient, or "". A sender signal can only
	// raise protection: see the package documentation.
	Signal string
	// Overridden names the rule whose pass or require-tls outcome the sender
	// signal overrode, or "".
	Overridden string
	// Assurance is AssuranceOOB or AssuranceMailbox.
	Assurance string
	// OOBFactor is OOBFactorAny, OOBFactorSMS or OOBFactorCode: the
	// out-of-band proof a recipient gives to enrol (with AssuranceOOB).
	OOBFactor string
	// ReadReceipt asks the portal to tell the sender when each recipient
	// first opens the message.
	ReadReceipt bool
	// Retention is how long the sealed message stays openable; 0 means until
	// it is recalled.
	Retention time.Duration
	// AllowDirect lets recipients with their own key in the directory skip
	// the portal.
	AllowDirect bool
	// RejectText is the text for the SMTP reply when Action is ActionReject
	// (printable ASCII, no line breaks).
	RejectText string
}

// Finding is what one detector found in a message. Evidence must already be
// redacted: it is stored and audited, so it never holds PHI in the clear.
type Finding struct {
	Detector string
	Count    int
	Score    float64
	Evidence []string
}

// Detector looks for one kind of sensitive content. Detectors are given to
// the engine with [WithDetectors] and referred to by name from a rule's
// `detector` condition.
type Detector interface {
	// Name is the detector's name as used in policy files.
	Name() string
	// Detect inspects the message. It returns nil or a Finding with Count 0
	// when it found nothing. An error makes Decide fail (the relay then
	// answers with a temporary failure, never plaintext).
	Detect(ctx context.Context, in *Input) (*Finding, error)
}

// Analyzer is a [Detector] that examines a message once and reports
// findings under several names, together with facts about the message's
// parts. The engine calls Analyze instead of Detect, once per message, so
// that expensive work (extracting text from attachments) is shared by every
// finding. Rules refer to each name in Names with a `detector` condition,
// and to the facts with `unscannable`, `encrypted_attachment` and
// `attachment_type`.
type Analyzer interface {
	Detector
	// Names lists every finding name Analyze may report.
	Names() []string
	// Analyze inspects the message. Findings whose Detector is not in
	// Names are dropped. An error makes Decide fail.
	Analyze(ctx context.Context, in *Input) (*Analysis, error)
}

// Analysis is what an [Analyzer] found in one message.
type Analysis struct {
	// Findings, each with Detector set to one of the analyzer's Names. The
	// findings named [FindingUnscannable] and [FindingEncryptedAttachment]
	// drive the `unscannable` and `encrypted_attachment` conditions.
	Findings []Finding
	// AttachmentTypes are the short types of the message's attachments
	// ("pdf", "docx", "zip", "image", …) for `attachment_type` conditions.
	AttachmentTypes []string
}

// Finding names with a meaning of their own to the engine.
const (
	// FindingUnscannable counts the parts that could not be scanned (images,
	// unknown binaries, malformed files, parts cut short by a budget).
	FindingUnscannable = "unscannable"
	// FindingEncryptedAttachment counts password-protected archives and
	// documents and encrypted parts (PGP, S/MIME, age) inside the message.
	FindingEncryptedAttachment = "encrypted_attachment"
)

// BuiltinDetectorNames returns the names of the findings that Sealpost's own
// classifier (package policy/classify) reports. A policy may refer to them
// even when it is compiled without the classifier (as [Default] is, and as
// tools that only validate a file do); their conditions then never match,
// and [Engine.Missing] lists them. The relay always compiles its policy
// with the classifier.
func BuiltinDetectorNames() []string {
	return []string{
		"phi", "clinical", "structured", FindingUnscannable, FindingEncryptedAttachment,
		"nhs_number", "chi_number", "hc_number", "nino", "ssn", "npi", "dea", "mbi", "mrn",
		"snomed", "icd10", "dob",
	}
}

// Decision is the policy's answer for one message.
type Decision struct {
	// Outcomes has one entry per Input.Recipients entry, in the same order.
	Outcomes []Outcome
	// Monitor reports that the policy was in monitor mode.
	Monitor bool
	// Encrypted names the encryption the message already carries ("pgp-mime",
	// "pgp-inline", "smime-enveloped", "age"), or "".
	Encrypted string
	// Findings are the detectors' findings with redacted evidence.
	Findings []Finding
	// AttachmentTypes are the attachment types an [Analyzer] reported.
	AttachmentTypes []string
	// Policy is the digest of the policy file that decided ("sha256:…").
	Policy string
}

// Limits on what a Decision's explanation carries.
const (
	maxEvidence    = 8
	maxEvidenceLen = 80
)

type jsonOutcome struct {
	Index       int    `json:"rcpt"`
	Domain      string `json:"domain"`
	Action      Action `json:"action"`
	Would       Action `json:"would"`
	Rule        string `json:"rule"`
	Signal      string `json:"signal,omitempty"`
	Overridden  string `json:"overridden,omitempty"`
	Assurance   string `json:"assurance,omitempty"`
	OOBFactor   string `json:"oob_factor,omitempty"`
	ReadReceipt bool   `json:"read_receipt"`
	Retention   int64  `json:"retention_seconds"`
	AllowDirect bool   `json:"allow_direct"`
}

type jsonFinding struct {
	Detector string   `json:"detector"`
	Count    int      `json:"count"`
	Score    float64  `json:"score"`
	Evidence []string `json:"evidence,omitempty"`
}

type jsonDecision struct {
	Policy          string        `json:"policy"`
	Mode            string        `json:"mode"`
	Encrypted       string        `json:"encrypted,omitempty"`
	Findings        []jsonFinding `json:"findings"`
	AttachmentTypes []string      `json:"attachment_types,omitempty"`
	Outcomes        []jsonOutcome `json:"outcomes"`
}

// JSON returns the explanation of d that is stored with the message and in
// the audit log. Recipients appear only by index and domain, never as full
// addresses, and evidence is capped in count and length.
func (d *Decision) JSON() json.RawMessage {
	out := jsonDecision{
		Policy:    d.Policy,
		Mode:      modeEnforce,
		Encrypted: d.Encrypted,
		Findings:  []jsonFinding{},
		Outcomes:  []jsonOutcome{},

		AttachmentTypes: d.AttachmentTypes,
	}
	if d.Monitor {
		out.Mode = modeMonitor
	}
	for _, f := range d.Findings {
		jf := jsonFinding{Detector: f.Detector, Count: f.Count, Score: cleanScore(f.Score)}
		for i, ev := range f.Evidence {
			if i == maxEvidence {
				break
			}
			jf.Evidence = append(jf.Evidence, truncate(ev, maxEvidenceLen))
		}
		out.Findings = append(out.Findings, jf)
	}
	for i, o := range d.Outcomes {
		_, domain := splitAddress(o.Recipient)
		out.Outcomes = append(out.Outcomes, jsonOutcome{
			Index:       i,
			Domain:      domain,
			Action:      o.Action,
			Would:       o.Would,
			Rule:        o.Rule,
			Signal:      o.Signal,
			Overridden:  o.Overridden,
			Assurance:   o.Assurance,
			OOBFactor:   o.OOBFactor,
			ReadReceipt: o.ReadReceipt,
			Retention:   int64(o.Retention / time.Second),
			AllowDirect: o.AllowDirect,
		})
	}
	b, err := json.Marshal(out)
	if err != nil {
		// Unreachable: every value above is plain data with finite floats.
		return json.RawMessage(`{"error":"failed to encode decision"}`)
	}
	return b
}

// cleanScore clamps a detector score into [0, 1] so that it always encodes.
func cleanScore(s float64) float64 {
	switch {
	case math.IsNaN(s) || s < 0:
		return 0
	case s > 1:
		return 1
	}
	return s
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
