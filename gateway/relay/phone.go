package relay

import (
	"context"
	"fmt"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/sealpost/sealpost/keys"
	"github.com/sealpost/sealpost/policy"
)

// PhoneHeader carries phone numbers for the portal's SMS factor. Each field
// is either a number for every sealed recipient of the message,
//
//	X-Sealpost-Recipient-Phone: +44 7700 900123
//
// or a number for one recipient, the address first:
//
//	X-Sealpost-Recipient-Phone: patient@example.net: +44 7700 900123
//	X-Sealpost-Recipient-Phone: <patient@example.net> +44 7700 900123
//
// A number for one recipient overrides a number for all. Numbers are in
// E.164 form: "+", then 8 to 15 digits, the first not 0; spaces, tabs,
// dashes and parentheses are ignored. Like every X-Sealpost-* field it is
// stripped before sealing (seal.IsStrippedHeader). A field that does not
// parse, or that contradicts another, is ignored, never fatal: it is
// counted in the seal audit entry as phone_invalid.
const PhoneHeader = "X-Sealpost-Recipient-Phone"

// maxPhoneFields bounds how many PhoneHeader fields are read.
const maxPhoneFields = 100

// phoneSpec is what the PhoneHeader fields of one message say. It holds
// numbers in the clear: it lives only while the message is processed and
// is never logged.
type phoneSpec struct {
	all       string            // number for every recipient, or ""
	per       map[string]string // lowercased address → number
	invalid   int               // fields ignored as malformed or contradictory
	conflicts map[string]bool   // per-address keys ("" for all) given two different numbers
}

// parsePhoneHeaders reads every PhoneHeader field of h.
func parsePhoneHeaders(h textproto.Header) *phoneSpec {
	ps := &phoneSpec{per: map[string]string{}, conflicts: map[string]bool{}}
	for i, v := range h.Values(PhoneHeader) {
		if i == maxPhoneFields {
			ps.invalid += len(h.Values(PhoneHeader)) - maxPhoneFields
			break
		}
		addr, number, ok := parsePhoneField(v)
		if !ok {
			ps.invalid++
			continue
		}
		ps.set(addr, number)
	}
	return ps
}

func (ps *phoneSpec) set(addr, number string) {
	prev := ps.all
	if addr != "" {
		prev = ps.per[addr]
	}
	switch {
	case ps.conflicts[addr]:
		ps.invalid++
		return
	case prev != "" && prev != number:
		// Two numbers for one recipient: sending a code to the wrong one
		// would hand the message to a stranger, so neither is used.
		ps.conflicts[addr] = true
		ps.invalid += 2
		if addr == "" {
			ps.all = ""
		} else {
			delete(ps.per, addr)
		}
		return
	}
	if addr == "" {
		ps.all = number
	} else {
		ps.per[addr] = number
	}
}

// forRcpt returns the number for recipient rcpt, or "".
func (ps *phoneSpec) forRcpt(rcpt string) string {
	if n, ok := ps.per[strings.ToLower(rcpt)]; ok {
		return n
	}
	return ps.all
}

// unmatched counts per-recipient numbers for addresses that are not among
// rcpts (all envelope recipients of the message).
func (ps *phoneSpec) unmatched(rcpts []string) int {
	seen := map[string]bool{}
	for _, r := range rcpts {
		seen[strings.ToLower(r)] = true
	}
	n := 0
	for a := range ps.per {
		if !seen[a] {
			n++
		}
	}
	return n
}

// parsePhoneField parses one PhoneHeader value. addr is "" for a number
// that applies to every recipient, otherwise the lowercased address.
func parsePhoneField(v string) (addr, number string, ok bool) {
	v = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, v))
	if v == "" {
		return "", "", false
	}
	if c := v[0]; c == '+' || c == '(' {
		number, ok = normalizeE164(v)
		return "", number, ok
	}
	i := strings.IndexAny(v, ": \t")
	if i < 0 {
		return "", "", false
	}
	a, rest := v[:i], strings.TrimSpace(v[i:])
	rest = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	if !plausibleAddress(a) {
		return "", "", false
	}
	number, ok = normalizeE164(rest)
	if !ok {
		return "", "", false
	}
	return strings.ToLower(a), number, true
}

// plausibleAddress accepts local@domain with no spaces, brackets or
// control characters; the address only has to match an envelope
// recipient, which the session already validated.
func plausibleAddress(a string) bool {
	if len(a) < 3 || len(a) > 256 || strings.Count(a, "@") != 1 || a[0] == '@' || a[len(a)-1] == '@' {
		return false
	}
	for _, r := range a {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == '(' || r == ')' || r == ',' || r == ';' || r == '"' {
			return false
		}
	}
	return true
}

// normalizeE164 returns s as "+" and digits if it is an E.164 number: a
// "+" first, then 8 to 15 digits (the first not 0), ignoring spaces, tabs,
// dashes and parentheses.
func normalizeE164(s string) (string, bool) {
	var b strings.Builder
	seenPlus := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '-' || c == '(' || c == ')':
		case c == '+':
			if seenPlus || b.Len() > 0 {
				return "", false
			}
			seenPlus = true
			b.WriteByte('+')
		case c >= '0' && c <= '9':
			if !seenPlus || (b.Len() == 1 && c == '0') {
				return "", false
			}
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	n := b.Len() - 1
	if !seenPlus || n < 8 || n > 15 {
		return "", false
	}
	return b.String(), true
}

// wrappedPhone is one recipient's wrapped number, ready for the store.
type wrappedPhone struct {
	rcpt    string
	wrapped []byte
}

// usesPhone reports whether the portal may use a phone number for a
// message with this outcome: only assurance oob with a factor that
// includes SMS. Numbers it would never use are not stored.
func usesPhone(o policy.Outcome) bool {
	return o.Assurance == policy.AssuranceOOB && o.OOBFactor != policy.OOBFactorCode
}

// wrapPhones wraps the number of each recipient in rcpts that has one, for
// message msgID. Each recipient appears once, whatever the case of its
// address.
func (r *Relay) wrapPhones(ctx context.Context, msgID string, ps *phoneSpec, rcpts []string) ([]wrappedPhone, error) {
	var out []wrappedPhone
	done := map[string]bool{}
	for _, rc := range rcpts {
		key := strings.ToLower(rc)
		number := ps.forRcpt(rc)
		if number == "" || done[key] {
			continue
		}
		done[key] = true
		w, err := r.deps.Keys.WrapData(ctx, msgID, keys.PurposePhone, []byte(number))
		if err != nil {
			return nil, fmt.Errorf("failed to wrap a phone number: %w", err)
		}
		out = append(out, wrappedPhone{rcpt: rc, wrapped: w})
	}
	return out, nil
}
