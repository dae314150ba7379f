package relay

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/emersion/go-message/textproto"

	"github.com/sealpost/sealpost/gateway/seal"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/keys"
	"github.com/sealpost/sealpost/policy"
)

func TestParsePhoneField(t *testing.T) {
	tests := []struct {
		in, addr, number string
		ok               bool
	}{
		{"+447700900123", "", "+447700900123", true},
		{"  +44 7700 900123 ", "", "+447700900123", true},
		{"+1 (555) 555-0100", "", "+15555550100", true},
		{"(+1) 555 555 0100", "", "+15555550100", true},
		{"+12345678", "", "+12345678", true},               // 8 digits
		{"+123456789012345", "", "+123456789012345", true}, // 15 digits
		{"Patient@Example.NET: +44 7700 900123", "patient@example.net", "+447700900123", true},
		{"patient@example.net +447700900123", "patient@example.net", "+447700900123", true},
		{"<patient@example.net> +447700900123", "patient@example.net", "+447700900123", true},
		{"patient+tag@example.net:+447700900123", "patient+tag@example.net", "+447700900123", true},
		{"patient@example.net:\r\n +447700900123", "patient@example.net", "+447700900123", true},

		{"", "", "", false},
		{"447700900123", "", "", false},      // no +
		{"+1234567", "", "", false},          // 7 digits
		{"+1234567890123456", "", "", false}, // 16 digits
		{"+044 7700 900123", "", "", false},  // country code 0
		{"+44 7700 900123 ext 4", "", "", false},
		{"+44+7700900123", "", "", false},
		{"+44.7700.900123", "", "", false},
		{"tel:+447700900123", "", "", false},
		{"patient@example.net", "", "", false},               // no number
		{"patient@example.net: 07700 900123", "", "", false}, // national form
		{"patient: +447700900123", "", "", false},            // not an address
		{"a@b@c: +447700900123", "", "", false},
		{"Patient <patient@example.net>: +447700900123", "", "", false},
		{"+４４7700900123", "", "", false}, // full-width digits
	}
	for _, tt := range tests {
		addr, number, ok := parsePhoneField(tt.in)
		if addr != tt.addr || number != tt.number || ok != tt.ok {
			t.Errorf("parsePhoneField(%q) = %q, %q, %v; want %q, %q, %v", tt.in, addr, number, ok, tt.addr, tt.number, tt.ok)
		}
	}
}

func TestParsePhoneHeaders(t *testing.T) {
	var h textproto.Header
	h.Add(PhoneHeader, "+44 7700 900123")
	h.Add("x-sealpost-recipient-phone", "gp@example.com: +1 555 555 0100")
	h.Add(PhoneHeader, "not a number")
	h.Add(PhoneHeader, "twice@example.org: +447700900001")
	h.Add(PhoneHeader, "TWICE@example.org: +447700900002")
	h.Add(PhoneHeader, "same@example.org: +447700900003")
	h.Add(PhoneHeader, "same@example.org: +44 7700 900003")
	h.Add(PhoneHeader, "stranger@example.org: +447700900004")
	ps := parsePhoneHeaders(h)
	for rcpt, want := range map[string]string{
		"patient@example.net": "+447700900123", // the number for all
		"GP@example.com":      "+15555550100",  // its own
		"twice@example.org":   "+447700900123", // its two numbers contradict: the one for all
		"same@example.org":    "+447700900003", // the same number twice is fine
	} {
		if got := ps.forRcpt(rcpt); got != want {
			t.Errorf("forRcpt(%q) = %q, want %q", rcpt, got, want)
		}
	}
	if ps.invalid != 3 {
		t.Errorf("invalid = %d, want 3 (one malformed, two contradictory)", ps.invalid)
	}
	if n := ps.unmatched([]string{"patient@example.net", "gp@example.com", "same@example.org"}); n != 1 {
		t.Errorf("unmatched = %d, want 1 (stranger)", n)
	}

	// Two numbers for all: neither is used.
	var h2 textproto.Header
	h2.Add(PhoneHeader, "+447700900001")
	h2.Add(PhoneHeader, "+447700900002")
	h2.Add(PhoneHeader, "+447700900003")
	if ps := parsePhoneHeaders(h2); ps.forRcpt("a@b.example") != "" || ps.invalid != 3 {
		t.Errorf("contradictory numbers for all: %q, invalid %d", ps.forRcpt("a@b.example"), ps.invalid)
	}

	// Only so many fields are read.
	var h3 textproto.Header
	for range maxPhoneFields + 5 {
		h3.Add(PhoneHeader, "x")
	}
	if ps := parsePhoneHeaders(h3); ps.invalid != maxPhoneFields+5 {
		t.Errorf("invalid = %d, want %d", ps.invalid, maxPhoneFields+5)
	}
	// The header is one of the fields stripped before sealing.
	if !seal.IsStrippedHeader(PhoneHeader) {
		t.Error("PhoneHeader is not stripped before sealing")
	}
}

func FuzzParsePhoneField(f *testing.F) {
	for _, s := range []string{"+447700900123", "a@b.example: +1 (555) 555-0100", "<a@b> +12345678", "+", "a@b:", "(+0)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, number, ok := parsePhoneField(s)
		if !ok {
			if addr != "" || number != "" {
				t.Fatalf("parsePhoneField(%q) failed but returned %q, %q", s, addr, number)
			}
			return
		}
		if again, ok := normalizeE164(number); !ok || again != number {
			t.Fatalf("number %q from %q is not canonical E.164", number, s)
		}
		if n := len(number) - 1; number[0] != '+' || n < 8 || n > 15 || number[1] == '0' {
			t.Fatalf("number %q from %q is out of range", number, s)
		}
		if addr != "" && (addr != strings.ToLower(addr) || strings.Count(addr, "@") != 1 || strings.ContainsAny(addr, " \t\r\n<>")) {
			t.Fatalf("address %q from %q is not a lowercased plain address", addr, s)
		}
	})
}

const phonePolicy = `
version: 1
defaults: { oob_factor: any, read_receipt: true }
rules:
  - name: code-only
    when: { recipient_domain: [code.example] }
    action: seal
    oob_factor: code
    read_receipt: false
  - name: mailbox
    when: { recipient_domain: [mailbox.example] }
    action: seal
    assurance: mailbox
default: seal
`

// Phone numbers from X-Sealpost-Recipient-Phone are stored wrapped per
// recipient, opened only with the portal's token, and appear in the clear
// nowhere: not in the store, the delivered copies, the logs or the audit.
func TestRecipientPhonesAreWrapped(t *testing.T) {
	h := newHarness(t, harnessOpts{policyYAML: phonePolicy})
	ctx := context.Background()
	msg := crlf(`From: Dr Example <doctor@example.org>
To: patient@example.net, gp@example.com, c@code.example, m@mailbox.example
X-Sealpost-Recipient-Phone: +44 7700 900123
X-Sealpost-Recipient-Phone: GP@example.com: +1 (555) 555-0199
X-Sealpost-Recipient-Phone: c@code.example: +33 6 12 34 56 78
X-Sealpost-Recipient-Phone: 0800 not a number
Subject: results

Dear patient, your results are ready.
`)
	rcpts := []string{"patient@example.net", "gp@example.com", "c@code.example", "m@mailbox.example"}
	must(t, h.send("doctor@example.org", rcpts, msg))

	ms, err := h.store.FindMessages(ctx, storeFilterAll())
	must(t, err)
	if len(ms) != 3 {
		t.Fatalf("%d sealed messages, want 3 (one per oob_factor/read_receipt/assurance group)", len(ms))
	}
	byRcpt := map[string]*store.Message{}
	for _, m := range ms {
		for _, r := range m.Recipients {
			byRcpt[r] = m
		}
	}
	main := byRcpt["patient@example.net"]
	if main == nil || byRcpt["gp@example.com"] != main || len(main.Recipients) != 2 {
		t.Fatalf("patient and gp do not share one sealed copy: %+v", byRcpt)
	}
	for _, tc := range []struct {
		rcpt, factor string
		receipt      bool
		assurance    string
	}{
		{"patient@example.net", policy.OOBFactorAny, true, policy.AssuranceOOB},
		{"c@code.example", policy.OOBFactorCode, false, policy.AssuranceOOB},
		{"m@mailbox.example", policy.OOBFactorAny, true, policy.AssuranceMailbox},
	} {
		m := byRcpt[tc.rcpt]
		if m.OOBFactor != tc.factor || m.ReadReceipt != tc.receipt || m.Assurance != tc.assurance {
			t.Errorf("%s: stored %s/%s/%v, want %s/%s/%v", tc.rcpt, m.Assurance, m.OOBFactor, m.ReadReceipt,
				tc.assurance, tc.factor, tc.receipt)
		}
	}

	portal := newKeysClient(t, h, h.creds.PortalToken)
	for rcpt, want := range map[string]string{"patient@example.net": "+447700900123", "GP@EXAMPLE.COM": "+15555550199"} {
		w, err := h.store.Phone(ctx, main.ID, rcpt)
		if err != nil {
			t.Fatalf("Phone(%s): %v", rcpt, err)
		}
		got, err := portal.UnwrapData(ctx, main.ID, keys.PurposePhone, w)
		if err != nil || string(got) != want {
			t.Errorf("portal unwraps the number of %s as %q, %v; want %q", rcpt, got, err, want)
		}
		_, err = h.relayKC.UnwrapData(ctx, main.ID, keys.PurposePhone, w)
		if !errors.Is(err, keys.ErrPermissionDenied) {
			t.Errorf("relay unwrap of a phone: %v, want permission denied", err)
		}
		// Bound to its message and purpose: not an identity.
		if _, err := portal.Unwrap(ctx, main.ID, w); !errors.Is(err, keys.ErrMalformedWrapped) {
			t.Errorf("a phone blob opened as an identity: %v", err)
		}
	}
	// Numbers that would never be used are not stored: code-only and
	// mailbox assurance.
	for _, rcpt := range []string{"c@code.example", "m@mailbox.example"} {
		if _, err := h.store.Phone(ctx, byRcpt[rcpt].ID, rcpt); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Phone(%s) = %v, want ErrNotFound", rcpt, err)
		}
	}

	// The seal entry counts numbers; it never holds one.
	var audit bytes.Buffer
	must(t, h.audit.Export(ctx, &audit, 0))
	var sealLine string
	for _, l := range strings.Split(audit.String(), "\n") {
		if strings.Contains(l, main.ID) && strings.Contains(l, `"actor":"relay","action":"seal"`) {
			sealLine = l
		}
	}
	for _, want := range []string{`"phones":"2"`, `"phone_invalid":"1"`, `"oob_factor":"any"`, `"receipt":"true"`} {
		if !strings.Contains(sealLine, want) {
			t.Errorf("seal audit entry lacks %s: %s", want, sealLine)
		}
	}

	// Nowhere in the clear.
	numbers := []string{"7700900123", "7700 900123", "5555550199", "555) 555-0199", "612345678", "6 12 34 56 78"}
	check := func(where string, data []byte) {
		for _, n := range numbers {
			if bytes.Contains(data, []byte(n)) {
				t.Errorf("%s holds the phone number %q", where, n)
			}
		}
	}
	check("audit log", audit.Bytes())
	check("logs", []byte(h.logs.String()))
	ds := h.capture.Deliveries()
	if len(ds) != 3 {
		t.Fatalf("%d deliveries, want 3", len(ds))
	}
	for _, d := range ds {
		check("delivered copy", d.Data)
	}
	files := 0
	must(t, filepath.Walk(h.dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.Contains(p, "outbox") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil {
			files++
			check(p, b)
		}
		return nil
	}))
	if files < 2 {
		t.Fatalf("scanned %d files", files)
	}
	// The sealed original does not carry the header either.
	m, err := h.store.GetMessage(ctx, main.ID)
	must(t, err)
	secret, err := portal.Unwrap(ctx, main.ID, m.Wrapped)
	must(t, err)
	id := mustIdentity(t, secret)
	rc, err := h.store.OpenCiphertext(ctx, main.ID)
	must(t, err)
	var ct bytes.Buffer
	_, err = ct.ReadFrom(rc)
	rc.Close()
	must(t, err)
	pt := decrypt(t, ct.Bytes(), id)
	if bytes.Contains(bytes.ToLower(pt), []byte("x-sealpost-recipient-phone")) {
		t.Error("the sealed original still carries X-Sealpost-Recipient-Phone")
	}
	check("sealed original", pt)
}

func mustIdentity(t *testing.T, secret []byte) age.Identity {
	t.Helper()
	ids, err := age.ParseIdentities(bytes.NewReader(secret))
	must(t, err)
	return ids[0]
}
