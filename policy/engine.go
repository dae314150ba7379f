package policy

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"slices"
	"strings"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/net/idna"
)

// rule is one compiled rule. Empty conditions are absent and match.
type rule struct {
	name       string
	action     Action
	rejectText string
	settings   settings
	// signal marks a seal rule driven by a sender signal (subject tag,
	// header, label): its seal is never lowered by another rule.
	signal bool

	subjectTag       *bool
	headers          []headerCond
	labels           []string
	senders          []string
	senderDomains    []domainPattern
	recipients       []string
	recipientDomains []domainPattern
	encrypted        *bool
	tls              *bool
	authenticated    *bool
	detectors        []detectorCond

	unscannable         *bool
	encryptedAttachment *bool
	attachmentTypes     []string
	externalRecipient   *bool
}

// uses lists the built-in finding names the rule depends on, for
// [Engine.Missing]. attachment_type depends on an analyzer being present,
// which every analyzer reporting FindingUnscannable is.
func (r *rule) uses() []string {
	var out []string
	for _, d := range r.detectors {
		if slices.Contains(BuiltinDetectorNames(), d.name) {
			out = append(out, d.name)
		}
	}
	if r.unscannable != nil || r.attachmentTypes != nil {
		out = append(out, FindingUnscannable)
	}
	if r.encryptedAttachment != nil {
		out = append(out, FindingEncryptedAttachment)
	}
	return out
}

type headerCond struct {
	name   string
	values []string // lower-case; "*" matches any value
}

func sortHeaderConds(hs []headerCond) {
	slices.SortFunc(hs, func(a, b headerCond) int { return strings.Compare(a.name, b.name) })
}

type domainPattern struct {
	domain     string
	subdomains bool // "*.domain": strict subdomains only
}

func (p domainPattern) match(domain string) bool {
	if domain == "" {
		return false
	}
	if p.subdomains {
		return strings.HasSuffix(domain, "."+p.domain)
	}
	return domain == p.domain
}

type detectorCond struct {
	name     string
	minScore float64
	minCount int
}

// message holds the per-message facts that rules test.
type message struct {
	in           *Input
	hasTag       bool
	sender       string
	senderDomain string
	encrypted    string
	labels       []msipLabel
	headerCache  map[string][]string
	findings     map[string]*Finding
	attachTypes  []string
}

// Decide applies the policy to one message. It fails only if the context is
// done, the message cannot be read, or a detector fails; the caller must then
// answer with a temporary failure.
func (e *Engine) Decide(ctx context.Context, in *Input) (*Decision, error) {
	if in == nil {
		return nil, errors.New("failed to decide: nil input")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("failed to decide: %w", err)
	}
	m := &message{in: in, headerCache: map[string][]string{}}
	m.sender = normalizeAddress(in.Sender)
	_, m.senderDomain = splitAddress(m.sender)
	m.hasTag = hasSubjectTag(in.Header, e.tags)
	m.labels = parseMSIPLabels(in.Header)

	if in.Open != nil {
		enc, err := sniffOpen(in.Open)
		if err != nil {
			return nil, err
		}
		m.encrypted = enc
	} else {
		m.encrypted = DetectEncrypted(in.Header)
	}

	d := &Decision{Monitor: e.monitor, Encrypted: m.encrypted, Policy: e.digest}
	if len(e.detectors) > 0 {
		m.findings = map[string]*Finding{}
		for _, det := range e.detectors {
			if a, ok := det.(Analyzer); ok {
				an, err := a.Analyze(ctx, in)
				if err != nil {
					return nil, fmt.Errorf("failed to run detector %s: %w", det.Name(), err)
				}
				if an == nil {
					continue
				}
				names := a.Names()
				for i := range an.Findings {
					f := an.Findings[i]
					if f.Count <= 0 || !slices.Contains(names, f.Detector) || m.findings[f.Detector] != nil {
						continue
					}
					m.findings[f.Detector] = &f
					d.Findings = append(d.Findings, f)
				}
				for _, t := range an.AttachmentTypes {
					t = strings.ToLower(t)
					if !slices.Contains(m.attachTypes, t) {
						m.attachTypes = append(m.attachTypes, t)
					}
				}
				continue
			}
			f, err := det.Detect(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("failed to run detector %s: %w", det.Name(), err)
			}
			if f == nil || f.Count <= 0 {
				continue
			}
			f.Detector = det.Name()
			m.findings[f.Detector] = f
			d.Findings = append(d.Findings, *f)
		}
		d.AttachmentTypes = m.attachTypes
	}

	d.Outcomes = make([]Outcome, len(in.Recipients))
	for i, rcpt := range in.Recipients {
		d.Outcomes[i] = e.decideRecipient(m, rcpt)
	}
	return d, nil
}

// decideRecipient finds the first matching rule, then applies the raise-only
// guarantee for sender signals, then monitor mode.
func (e *Engine) decideRecipient(m *message, rcpt string) Outcome {
	nr := normalizeAddress(rcpt)
	_, domain := splitAddress(nr)
	external := !matchDomain(e.internal, domain)

	var first, signal *rule
	for _, r := range e.rules {
		if first != nil && (signal != nil || !r.signal) {
			continue
		}
		if !r.matches(m, nr, domain, external) {
			continue
		}
		if first == nil {
			first = r
		}
		if signal == nil && r.signal {
			signal = r
		}
		if first != nil && signal != nil {
			break
		}
	}
	if first == nil {
		first = e.defaultRule
	}

	decided, overridden := first, ""
	if signal != nil && (first.action == ActionPass || first.action == ActionRequireTLS) {
		// A sender asked for sealing: no rule may lower that, wherever it is
		// in the file. Reject still rejects.
		decided, overridden = signal, first.name
	}

	o := Outcome{
		Recipient:   rcpt,
		Action:      decided.action,
		Would:       decided.action,
		Rule:        decided.name,
		Overridden:  overridden,
		Assurance:   decided.settings.assurance,
		OOBFactor:   decided.settings.oobFactor,
		ReadReceipt: decided.settings.readReceipt,
		Retention:   decided.settings.retention,
		AllowDirect: decided.settings.allowDirect,
		RejectText:  decided.rejectText,
	}
	if signal != nil {
		o.Signal = signal.name
	}
	if e.monitor {
		if signal != nil {
			// Sender signals seal even in monitor mode.
			o.Action = signal.action
			o.Assurance = signal.settings.assurance
			o.OOBFactor = signal.settings.oobFactor
			o.ReadReceipt = signal.settings.readReceipt
			o.Retention = signal.settings.retention
			o.AllowDirect = signal.settings.allowDirect
		} else {
			o.Action = ActionPass
		}
		o.RejectText = ""
	}
	return o
}

// matches reports whether every condition of r holds for recipient rcpt
// (normalized) in domain.
func (r *rule) matches(m *message, rcpt, domain string, external bool) bool {
	if r.subjectTag != nil && *r.subjectTag != m.hasTag {
		return false
	}
	if r.encrypted != nil && *r.encrypted != (m.encrypted != "") {
		return false
	}
	if r.tls != nil && *r.tls != m.in.TLS {
		return false
	}
	if r.authenticated != nil && *r.authenticated != m.in.Authenticated {
		return false
	}
	if r.senders != nil && !slices.Contains(r.senders, m.sender) {
		return false
	}
	if r.senderDomains != nil && !matchDomain(r.senderDomains, m.senderDomain) {
		return false
	}
	if r.recipients != nil && !slices.Contains(r.recipients, rcpt) {
		return false
	}
	if r.recipientDomains != nil && !matchDomain(r.recipientDomains, domain) {
		return false
	}
	for _, hc := range r.headers {
		if !m.headerMatches(hc) {
			return false
		}
	}
	if r.labels != nil && !matchLabels(m.labels, r.labels) {
		return false
	}
	if r.detectors != nil && !m.detectorMatches(r.detectors) {
		return false
	}
	if r.externalRecipient != nil && *r.externalRecipient != external {
		return false
	}
	if r.unscannable != nil && *r.unscannable != (m.findings[FindingUnscannable] != nil) {
		return false
	}
	if r.encryptedAttachment != nil && *r.encryptedAttachment != (m.findings[FindingEncryptedAttachment] != nil) {
		return false
	}
	if r.attachmentTypes != nil && !anyIn(r.attachmentTypes, m.attachTypes) {
		return false
	}
	return true
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

func matchDomain(ps []domainPattern, domain string) bool {
	for _, p := range ps {
		if p.match(domain) {
			return true
		}
	}
	return false
}

func (m *message) detectorMatches(conds []detectorCond) bool {
	for _, c := range conds {
		f := m.findings[c.name]
		if f != nil && f.Count >= c.minCount && f.Score >= c.minScore {
			return true
		}
	}
	return false
}

// headerMatches reports whether any value of the header equals any wanted
// value (case-insensitive, after RFC 2047 decoding and trimming).
func (m *message) headerMatches(hc headerCond) bool {
	values, ok := m.headerCache[hc.name]
	if !ok {
		for _, v := range m.in.Header.Values(hc.name) {
			values = append(values, strings.ToLower(strings.TrimSpace(decodeWords(v))))
		}
		m.headerCache[hc.name] = values
	}
	for _, want := range hc.values {
		if want == "*" && len(values) > 0 {
			return true
		}
		if slices.Contains(values, want) {
			return true
		}
	}
	return false
}

// decodeWords decodes RFC 2047 encoded words. Undecodable input is returned
// as it is: the header is the sender's, and a broken one must not panic or
// hide the rest of the value.
func decodeWords(s string) string {
	dec := mime.WordDecoder{CharsetReader: charset.Reader}
	out, err := dec.DecodeHeader(s)
	if err != nil {
		return s
	}
	return out
}

// hasSubjectTag reports whether any Subject header holds any tag, looking
// at the decoded and the raw value, case-insensitively.
func hasSubjectTag(h textproto.Header, tags []string) bool {
	if len(tags) == 0 {
		return false
	}
	for _, raw := range h.Values("Subject") {
		for _, s := range []string{strings.ToLower(decodeWords(raw)), strings.ToLower(raw)} {
			for _, t := range tags {
				if strings.Contains(s, t) {
					return true
				}
			}
		}
	}
	return false
}

// msipLabel is one Microsoft Information Protection label from the
// msip_labels header.
type msipLabel struct {
	id   string // lower-case GUID
	name string // lower-case display name
}

// parseMSIPLabels reads the msip_labels header that Outlook and Exchange add:
// "MSIP_Label_<guid>_Enabled=true; MSIP_Label_<guid>_Name=Confidential; …".
// Labels explicitly disabled (Enabled=false) are left out.
func parseMSIPLabels(h textproto.Header) []msipLabel {
	type state struct {
		name     string
		disabled bool
	}
	labels := map[string]*state{}
	var order []string
	for _, v := range h.Values("Msip_labels") {
		for _, item := range strings.Split(decodeWords(v), ";") {
			key, value, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok {
				continue
			}
			rest, ok := cutPrefixFold(strings.TrimSpace(key), "msip_label_")
			if !ok {
				continue
			}
			sep := strings.LastIndexByte(rest, '_')
			if sep <= 0 {
				continue
			}
			id, field := strings.ToLower(rest[:sep]), strings.ToLower(rest[sep+1:])
			st := labels[id]
			if st == nil {
				st = &state{}
				labels[id] = st
				order = append(order, id)
			}
			value = strings.TrimSpace(value)
			switch field {
			case "name":
				st.name = strings.ToLower(value)
			case "enabled":
				st.disabled = strings.EqualFold(value, "false")
			}
		}
	}
	var out []msipLabel
	for _, id := range order {
		if st := labels[id]; !st.disabled {
			out = append(out, msipLabel{id: id, name: st.name})
		}
	}
	return out
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

func matchLabels(have []msipLabel, want []string) bool {
	for _, l := range have {
		for _, w := range want {
			if w == l.id || (l.name != "" && w == l.name) {
				return true
			}
		}
	}
	return false
}

// splitAddress splits an address at its last '@'.
func splitAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}

// normalizeAddress lower-cases an address, drops angle brackets, and puts its
// domain in ASCII (IDNA) form so that U-labels and A-labels compare equal.
func normalizeAddress(addr string) string {
	addr = strings.TrimSpace(addr)
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	local, domain := splitAddress(addr)
	if domain == "" {
		return strings.ToLower(local)
	}
	return strings.ToLower(local) + "@" + normalizeDomain(domain)
}

func normalizeDomain(d string) string {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if a, err := idna.Lookup.ToASCII(d); err == nil {
		return a
	}
	return d
}
