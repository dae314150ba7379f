package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	modeEnforce = "enforce"
	modeMonitor = "monitor"

	// defaultRuleName is the Outcome.Rule of recipients no rule matched.
	defaultRuleName = "default"
	// defaultRejectText is used when a reject has no reject_text.
	defaultRejectText = "Message refused by the sender's mail policy"
	// maxRetention bounds durations so that they cannot overflow.
	maxRetention = 100 * 365 * 24 * time.Hour
	// maxRejectText bounds reject_text so that it fits an SMTP reply line.
	maxRejectText = 200
)

// The YAML schema. Pointers tell "absent" from the zero value.
type file struct {
	Version     int          `yaml:"version"`
	Mode        string       `yaml:"mode"`
	SubjectTags []string     `yaml:"subject_tags"`
	Defaults    fileDefaults `yaml:"defaults"`
	Rules       []fileRule   `yaml:"rules"`
	Default     string       `yaml:"default"`

	InternalDomains []string `yaml:"internal_domains"`
}

type fileDefaults struct {
	Assurance   string  `yaml:"assurance"`
	OOBFactor   string  `yaml:"oob_factor"`
	ReadReceipt *bool   `yaml:"read_receipt"`
	Retention   *string `yaml:"retention"`
	AllowDirect *bool   `yaml:"allow_direct"`
}

type fileRule struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	When        *fileWhen `yaml:"when"`
	Action      string    `yaml:"action"`
	RejectText  *string   `yaml:"reject_text"`
	Assurance   string    `yaml:"assurance"`
	OOBFactor   string    `yaml:"oob_factor"`
	ReadReceipt *bool     `yaml:"read_receipt"`
	Retention   *string   `yaml:"retention"`
	AllowDirect *bool     `yaml:"allow_direct"`
}

type fileWhen struct {
	SubjectTag      *bool                `yaml:"subject_tag"`
	Header          map[string][]string  `yaml:"header"`
	MSIPLabel       []string             `yaml:"msip_label"`
	Sender          []string             `yaml:"sender"`
	SenderDomain    []string             `yaml:"sender_domain"`
	Recipient       []string             `yaml:"recipient"`
	RecipientDomain []string             `yaml:"recipient_domain"`
	Encrypted       *bool                `yaml:"encrypted"`
	TLS             *bool                `yaml:"tls"`
	Authenticated   *bool                `yaml:"authenticated"`
	Detector        []fileDetectorSelect `yaml:"detector"`

	Unscannable         *bool    `yaml:"unscannable"`
	EncryptedAttachment *bool    `yaml:"encrypted_attachment"`
	AttachmentType      []string `yaml:"attachment_type"`
	ExternalRecipient   *bool    `yaml:"external_recipient"`
}

type fileDetectorSelect struct {
	Name     string  `yaml:"name"`
	MinScore float64 `yaml:"min_score"`
	MinCount int     `yaml:"min_count"`
}

// yamlTypeNames maps schema type names in yaml.v3 errors to policy terms.
var yamlTypeNames = strings.NewReplacer(
	"in type policy.fileWhen", "in when",
	"in type policy.fileRule", "in rule",
	"in type policy.fileDefaults", "in defaults",
	"in type policy.fileDetectorSelect", "in detector condition",
	"in type policy.file", "at top level",
)

// settings are the per-outcome values that defaults set and rules override.
type settings struct {
	assurance   string
	oobFactor   string
	readReceipt bool
	retention   time.Duration
	allowDirect bool
}

// Engine is a validated, compiled policy. It is immutable and safe for
// concurrent use.
type Engine struct {
	monitor     bool
	tags        []string
	defaults    settings
	rules       []*rule
	defaultRule *rule
	detectors   []Detector
	digest      string
	// internal are the organisation's own domains (internal_domains): a
	// recipient outside them is external.
	internal []domainPattern
	// missing lists the built-in detector names that rules use but no
	// registered detector provides.
	missing []string
}

// Missing returns the built-in detector names (see [BuiltinDetectorNames])
// that the policy's rules use but that no detector given with
// [WithDetectors] provides. Conditions on them never match. A relay must
// refuse to run a policy with missing detectors; tools that only validate
// may ignore them.
func (e *Engine) Missing() []string { return append([]string(nil), e.missing...) }

// Digest identifies the policy source ("sha256:" and the hex digest of the
// file). It is recorded with every decision.
func (e *Engine) Digest() string { return e.digest }

// Monitor reports whether the policy is in monitor mode.
func (e *Engine) Monitor() bool { return e.monitor }

// Rules returns the rule names in evaluation order.
func (e *Engine) Rules() []string {
	names := make([]string, len(e.rules))
	for i, r := range e.rules {
		names[i] = r.name
	}
	return names
}

// Option changes how a policy is compiled.
type Option func(*options)

type options struct {
	detectors []Detector
}

// WithDetectors makes detectors available to rules' `detector` conditions.
// Every detector runs once per message in Decide and its findings are part of
// the Decision.
func WithDetectors(ds ...Detector) Option {
	return func(o *options) { o.detectors = append(o.detectors, ds...) }
}

// Load reads and compiles the policy file at path.
func Load(path string, opts ...Option) (*Engine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read policy: %w", err)
	}
	e, err := Parse(data, opts...)
	if err != nil {
		return nil, fmt.Errorf("invalid policy %s: %w", path, err)
	}
	return e, nil
}

// Parse validates and compiles a policy file. Errors name the field, the rule
// and its line.
func Parse(data []byte, opts ...Option) (*Engine, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}

	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("failed to parse YAML: %w", err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, errors.New("policy is empty")
	}
	lines := ruleLines(&root)

	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, annotateYAMLError(err, &f, lines)
	}

	p := &parser{lines: lines, rules: f.Rules}
	e, err := p.compile(&f, o.detectors)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	e.digest = "sha256:" + hex.EncodeToString(sum[:])
	return e, nil
}

// ruleLines returns the line of each entry of the top-level rules list.
func ruleLines(root *yaml.Node) []int {
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "rules" && doc.Content[i+1].Kind == yaml.SequenceNode {
			var lines []int
			for _, n := range doc.Content[i+1].Content {
				lines = append(lines, n.Line)
			}
			return lines
		}
	}
	return nil
}

var yamlErrLine = regexp.MustCompile(`^line (\d+): `)

// annotateYAMLError rewrites yaml.v3 decode errors so that each one names the
// rule it is in.
func annotateYAMLError(err error, f *file, lines []int) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("failed to parse YAML: %w", err)
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, m := range te.Errors {
		m = yamlTypeNames.Replace(m)
		if sm := yamlErrLine.FindStringSubmatch(m); sm != nil {
			line, _ := strconv.Atoi(sm[1])
			if idx := ruleAtLine(lines, line); idx >= 0 {
				name := ""
				if idx < len(f.Rules) {
					name = f.Rules[idx].Name
				}
				m = fmt.Sprintf("line %d (rules[%d] %q): %s", line, idx, name, m[len(sm[0]):])
			}
		}
		msgs = append(msgs, m)
	}
	return fmt.Errorf("invalid policy: %s", strings.Join(msgs, "; "))
}

// ruleAtLine returns the index of the rule whose text contains line, or -1.
func ruleAtLine(lines []int, line int) int {
	idx := -1
	for i, l := range lines {
		if l <= line {
			idx = i
		}
	}
	return idx
}

type parser struct {
	lines []int
	rules []fileRule
}

// ruleErr formats a validation error about rules[i].
func (p *parser) ruleErr(i int, format string, args ...any) error {
	where := fmt.Sprintf("rules[%d]", i)
	if i < len(p.lines) {
		where += fmt.Sprintf(" at line %d", p.lines[i])
	}
	return fmt.Errorf("rule %q (%s): %s", p.rules[i].Name, where, fmt.Sprintf(format, args...))
}

var ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (p *parser) compile(f *file, detectors []Detector) (*Engine, error) {
	if f.Version != 1 {
		return nil, fmt.Errorf("version: must be 1, got %d", f.Version)
	}
	e := &Engine{detectors: detectors}
	switch f.Mode {
	case "", modeEnforce:
	case modeMonitor:
		e.monitor = true
	default:
		return nil, fmt.Errorf("mode: unknown mode %q (want enforce or monitor)", f.Mode)
	}

	known := map[string]bool{}
	for _, d := range detectors {
		if d == nil {
			return nil, errors.New("detectors: nil detector")
		}
		names := []string{d.Name()}
		if a, ok := d.(Analyzer); ok {
			names = append(names, a.Names()...)
		}
		for _, name := range names {
			if known[name] {
				return nil, fmt.Errorf("detectors: two detectors named %q", name)
			}
			known[name] = true
		}
	}
	var err error
	if len(f.InternalDomains) > 0 { // an empty list is allowed: every recipient is external
		if e.internal, err = domainList("internal_domains", f.InternalDomains); err != nil {
			return nil, err
		}
	}

	for i, t := range f.SubjectTags {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, fmt.Errorf("subject_tags[%d]: empty tag", i)
		}
		e.tags = append(e.tags, strings.ToLower(t))
	}

	e.defaults = settings{assurance: AssuranceOOB, oobFactor: OOBFactorAny, retention: 30 * 24 * time.Hour, allowDirect: true}
	if f.Defaults.Assurance != "" {
		if !validAssurance(f.Defaults.Assurance) {
			return nil, fmt.Errorf("defaults.assurance: unknown assurance %q (want oob or mailbox)", f.Defaults.Assurance)
		}
		e.defaults.assurance = f.Defaults.Assurance
	}
	if f.Defaults.OOBFactor != "" {
		if err := checkOOBFactor(f.Defaults.OOBFactor, e.defaults.assurance); err != nil {
			return nil, fmt.Errorf("defaults.oob_factor: %w", err)
		}
		e.defaults.oobFactor = f.Defaults.OOBFactor
	}
	if f.Defaults.ReadReceipt != nil {
		e.defaults.readReceipt = *f.Defaults.ReadReceipt
	}
	if f.Defaults.Retention != nil {
		d, err := ParseDuration(*f.Defaults.Retention)
		if err != nil {
			return nil, fmt.Errorf("defaults.retention: %w", err)
		}
		e.defaults.retention = d
	}
	if f.Defaults.AllowDirect != nil {
		e.defaults.allowDirect = *f.Defaults.AllowDirect
	}

	names := map[string]int{}
	for i := range f.Rules {
		r, err := p.compileRule(i, &f.Rules[i], e, known)
		if err != nil {
			return nil, err
		}
		if prev, dup := names[r.name]; dup {
			return nil, p.ruleErr(i, "duplicate rule name (first used by rules[%d])", prev)
		}
		names[r.name] = i
		e.rules = append(e.rules, r)
		for _, name := range r.uses() {
			if !known[name] && !slices.Contains(e.missing, name) {
				e.missing = append(e.missing, name)
			}
		}
	}

	if f.Default == "" {
		return nil, errors.New("default: missing (the action for recipients no rule matches, e.g. pass)")
	}
	def := Action(f.Default)
	if !def.Valid() {
		return nil, fmt.Errorf("default: unknown action %q (want seal, seal-direct, require-tls, pass or reject)", f.Default)
	}
	e.defaultRule = &rule{name: defaultRuleName, action: def, settings: e.defaults}
	if def == ActionReject {
		e.defaultRule.rejectText = defaultRejectText
	}
	return e, nil
}

func validAssurance(s string) bool { return s == AssuranceOOB || s == AssuranceMailbox }

// checkOOBFactor validates an oob_factor set explicitly next to the
// assurance it applies to: a factor means nothing for mailbox assurance,
// so asking for one there is a mistake worth reporting.
func checkOOBFactor(factor, assurance string) error {
	switch factor {
	case OOBFactorAny, OOBFactorSMS, OOBFactorCode:
	default:
		return fmt.Errorf("unknown factor %q (want any, sms or code)", factor)
	}
	if assurance != AssuranceOOB {
		return fmt.Errorf("%q applies only with assurance oob, not %s (a mailbox link needs no second factor)", factor, assurance)
	}
	return nil
}

func (p *parser) compileRule(i int, fr *fileRule, e *Engine, detectors map[string]bool) (*rule, error) {
	if fr.Name == "" {
		return nil, p.ruleErr(i, "name: missing")
	}
	if !ruleName.MatchString(fr.Name) {
		return nil, p.ruleErr(i, "name: must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if strings.EqualFold(fr.Name, defaultRuleName) {
		return nil, p.ruleErr(i, "name: %q is reserved for the policy default", defaultRuleName)
	}
	r := &rule{name: fr.Name, action: Action(fr.Action), settings: e.defaults}
	if fr.Action == "" {
		return nil, p.ruleErr(i, "action: missing")
	}
	if !r.action.Valid() {
		return nil, p.ruleErr(i, "action: unknown action %q (want seal, seal-direct, require-tls, pass or reject)", fr.Action)
	}
	if fr.RejectText != nil {
		if r.action != ActionReject {
			return nil, p.ruleErr(i, "reject_text: only allowed with action reject")
		}
		if err := validRejectText(*fr.RejectText); err != nil {
			return nil, p.ruleErr(i, "reject_text: %v", err)
		}
		r.rejectText = *fr.RejectText
	} else if r.action == ActionReject {
		r.rejectText = defaultRejectText
	}
	if fr.Assurance != "" {
		if !validAssurance(fr.Assurance) {
			return nil, p.ruleErr(i, "assurance: unknown assurance %q (want oob or mailbox)", fr.Assurance)
		}
		r.settings.assurance = fr.Assurance
	}
	if fr.OOBFactor != "" {
		if err := checkOOBFactor(fr.OOBFactor, r.settings.assurance); err != nil {
			return nil, p.ruleErr(i, "oob_factor: %v", err)
		}
		r.settings.oobFactor = fr.OOBFactor
	}
	if fr.ReadReceipt != nil {
		r.settings.readReceipt = *fr.ReadReceipt
	}
	if fr.Retention != nil {
		d, err := ParseDuration(*fr.Retention)
		if err != nil {
			return nil, p.ruleErr(i, "retention: %v", err)
		}
		r.settings.retention = d
	}
	if fr.AllowDirect != nil {
		r.settings.allowDirect = *fr.AllowDirect
	}
	if fr.When == nil {
		return nil, p.ruleErr(i, "when: missing (write `when: {}` to match every message)")
	}
	if err := compileWhen(r, fr.When, detectors); err != nil {
		return nil, p.ruleErr(i, "%v", err)
	}
	r.signal = r.action.Seals() && ((r.subjectTag != nil && *r.subjectTag) || len(r.headers) > 0 || len(r.labels) > 0)
	return r, nil
}

func validRejectText(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > maxRejectText {
		return fmt.Errorf("longer than %d characters", maxRejectText)
	}
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return errors.New("must be printable ASCII on one line")
		}
	}
	return nil
}

var headerName = regexp.MustCompile(`^[!#$%&'*+.^_` + "`" + `|~0-9A-Za-z-]+$`)

func compileWhen(r *rule, w *fileWhen, detectors map[string]bool) error {
	r.subjectTag = w.SubjectTag
	r.encrypted = w.Encrypted
	r.tls = w.TLS
	r.authenticated = w.Authenticated

	for name, values := range w.Header {
		if !headerName.MatchString(name) {
			return fmt.Errorf("when.header: invalid header name %q", name)
		}
		if len(values) == 0 {
			return fmt.Errorf("when.header.%s: empty list matches nothing", name)
		}
		hc := headerCond{name: name}
		for _, v := range values {
			v = strings.TrimSpace(v)
			if v == "" {
				return fmt.Errorf("when.header.%s: empty value", name)
			}
			hc.values = append(hc.values, strings.ToLower(v))
		}
		r.headers = append(r.headers, hc)
	}
	// Map order is random; keep evaluation and explanations stable.
	sortHeaderConds(r.headers)

	var err error
	if r.labels, err = lowerList("when.msip_label", w.MSIPLabel, nil); err != nil {
		return err
	}
	if r.senders, err = lowerList("when.sender", w.Sender, validAddress); err != nil {
		return err
	}
	if r.recipients, err = lowerList("when.recipient", w.Recipient, validAddress); err != nil {
		return err
	}
	if r.senderDomains, err = domainList("when.sender_domain", w.SenderDomain); err != nil {
		return err
	}
	if r.recipientDomains, err = domainList("when.recipient_domain", w.RecipientDomain); err != nil {
		return err
	}
	if w.Detector != nil && len(w.Detector) == 0 {
		return errors.New("when.detector: empty list matches nothing")
	}
	for j, d := range w.Detector {
		if d.Name == "" {
			return fmt.Errorf("when.detector[%d].name: missing", j)
		}
		if !detectors[d.Name] && !slices.Contains(BuiltinDetectorNames(), d.Name) {
			return fmt.Errorf("when.detector[%d].name: unknown detector %q", j, d.Name)
		}
		if d.MinScore < 0 || d.MinScore > 1 {
			return fmt.Errorf("when.detector[%d].min_score: must be between 0 and 1", j)
		}
		if d.MinCount < 0 {
			return fmt.Errorf("when.detector[%d].min_count: must not be negative", j)
		}
		minCount := d.MinCount
		if minCount == 0 {
			minCount = 1
		}
		r.detectors = append(r.detectors, detectorCond{name: d.Name, minScore: d.MinScore, minCount: minCount})
	}
	r.unscannable = w.Unscannable
	r.encryptedAttachment = w.EncryptedAttachment
	r.externalRecipient = w.ExternalRecipient
	if w.AttachmentType != nil && len(w.AttachmentType) == 0 {
		return errors.New("when.attachment_type: empty list matches nothing")
	}
	for _, t := range w.AttachmentType {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			return errors.New("when.attachment_type: empty entry")
		}
		r.attachmentTypes = append(r.attachmentTypes, t)
	}
	return nil
}

func validAddress(s string) error {
	local, domain := splitAddress(s)
	if local == "" || domain == "" || strings.ContainsAny(s, " \t<>") {
		return fmt.Errorf("%q is not an address like user@example.org", s)
	}
	return nil
}

// lowerList checks and lower-cases a list condition. A present but empty list
// is an error: it would match nothing, which is never what was meant.
func lowerList(field string, in []string, check func(string) error) ([]string, error) {
	if in != nil && len(in) == 0 {
		return nil, fmt.Errorf("%s: empty list matches nothing", field)
	}
	var out []string
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" {
			return nil, fmt.Errorf("%s: empty entry", field)
		}
		if check != nil {
			if err := check(v); err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
		}
		out = append(out, normalizeAddress(v))
	}
	return out, nil
}

func domainList(field string, in []string) ([]domainPattern, error) {
	if in != nil && len(in) == 0 {
		return nil, fmt.Errorf("%s: empty list matches nothing", field)
	}
	var out []domainPattern
	for _, v := range in {
		v = strings.TrimSpace(v)
		p := domainPattern{}
		if rest, ok := strings.CutPrefix(v, "*."); ok {
			p.subdomains = true
			v = rest
		}
		if v == "" || strings.ContainsAny(v, "@ *\t") || strings.HasPrefix(v, ".") || strings.Contains(v, "..") {
			return nil, fmt.Errorf("%s: %q is not a domain (write example.org, or *.example.org for its subdomains)", field, v)
		}
		p.domain = normalizeDomain(v)
		out = append(out, p)
	}
	return out, nil
}

// ParseDuration parses a retention: a Go duration ("12h", "90m", "1h30m"),
// whole days ("30d") or weeks ("2w"), or "0" for "until recalled".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if s == "0" {
		return 0, nil
	}
	var d time.Duration
	if n, unit := s[:len(s)-1], s[len(s)-1]; unit == 'd' || unit == 'w' {
		v, err := strconv.ParseUint(n, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 30d, 2w, 12h)", s)
		}
		per := 24 * time.Hour
		if unit == 'w' {
			per *= 7
		}
		if v > uint64(maxRetention/per) {
			return 0, fmt.Errorf("duration %q is longer than 100 years", s)
		}
		d = time.Duration(v) * per
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 30d, 2w, 12h)", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	if d > maxRetention {
		return 0, fmt.Errorf("duration %q is longer than 100 years", s)
	}
	return d, nil
}
