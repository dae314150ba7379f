package portal

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sealpost/sealpost/gateway/store"
)

// FuzzDecodeFlowState: whatever a flow row holds, decodeFlowState either
// refuses it or returns a state that passes validate and encodes back to
// something it decodes to the same state.
func FuzzDecodeFlowState(f *testing.F) {
	for _, s := range []*flowState{
		{Kind: flowEnrol, Address: "a@example.net", MsgID: "m1", CodeID: "c"},
		{Kind: flowLogin, Address: "b@example.net"},
		{Kind: flowStepUp, Address: "c@example.net", MsgID: "m", Mailbox: true, OOB: factorSMS, SMSCodeID: "s"},
		{Kind: flowEnrol, Address: "d@example.net", Decoy: true},
	} {
		b, err := encodeFlowState(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"k":"enrol","a":"A@x"}`))
	f.Add([]byte(`{"v":1,"k":"enrol","a":"a@x","wa":{"challenge":"abc","user_id":"AAAA"}}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeFlowState(b)
		if err != nil {
			return
		}
		if err := st.validate(); err != nil {
			t.Fatalf("decoded state fails validate: %v", err)
		}
		if a, err := store.NormalizeAddress(st.Address); err != nil || a != st.Address {
			t.Fatalf("decoded address %q is not normalised", st.Address)
		}
		enc, err := encodeFlowState(st)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := decodeFlowState(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		x, _ := json.Marshal(st)
		y, _ := json.Marshal(again)
		if string(x) != string(y) {
			t.Fatalf("round trip changed the state:\n%s\n%s", x, y)
		}
	})
}

// FuzzNormalizeDigits: an accepted code is exactly n digits, and it is
// what the input holds once separators are removed.
func FuzzNormalizeDigits(f *testing.F) {
	for _, s := range []string{"12345678", "1234 5678", "1234-5678", "123456", "12 34 56", "１２３", "1234567a", "", "123456789"} {
		f.Add(s, 8)
		f.Add(s, 6)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 16 {
			return
		}
		got, ok := normalizeDigits(s, n)
		if !ok {
			if got != "" {
				t.Fatalf("refused %q but returned %q", s, got)
			}
			return
		}
		if len(got) != n || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("normalizeDigits(%q, %d) = %q", s, n, got)
		}
		if strings.NewReplacer(" ", "", "-", "", ".", "", "\t", "").Replace(s) != got {
			t.Fatalf("normalizeDigits(%q) = %q: not the input without separators", s, got)
		}
	})
}

// FuzzParsePHC: parsePHC never panics, accepts only parameters within the
// limits, and accepts what hashPassword writes.
func FuzzParsePHC(f *testing.F) {
	f.Add(hashPassword("password", argonParams{memory: 64, time: 1, threads: 1}))
	f.Add("$argon2id$v=19$m=47104,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdA$aGFzaA")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA")
	f.Add("$argon2id$v=19$m=64,m=64,p=1$c2FsdA$aGFzaA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		p := h.params
		if p.memory > maxArgonMemory || p.time < 1 || p.time > maxArgonTime || p.threads < 1 || p.threads > maxArgonThreads {
			t.Fatalf("parsePHC(%q) accepted parameters %+v", s, p)
		}
		if len(h.salt) < 8 || len(h.key) < 16 {
			t.Fatalf("parsePHC(%q) accepted a short salt or hash", s)
		}
	})
}
