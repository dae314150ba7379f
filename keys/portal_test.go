package keys_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sealpost/sealpost/keys"
)

func TestPortalKeyCreatedDerived(t *testing.T) {
	e := newEnv(t)
	s, err := rootAPI(t, e.srv).Logical().Read("transit/keys/" + keys.DefaultPortalKey)
	if err != nil || s == nil {
		t.Fatalf("read portal key: %v", err)
	}
	if typ := s.Data["type"]; typ != "aes256-gcm96" {
		t.Errorf("portal key type %v, want aes256-gcm96", typ)
	}
	if d, _ := s.Data["derived"].(bool); !d {
		t.Error("portal key is not derived")
	}
	if x, _ := s.Data["exportable"].(bool); x {
		t.Error("portal key is exportable")
	}
}

func TestSealOpenPortal(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	seed := make([]byte, 20)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	const ctxTOTP = "totp:patient@example.net"
	ct, err := e.portal.SealPortal(ctx, ctxTOTP, seed)
	if err != nil {
		t.Fatalf("SealPortal: %v", err)
	}
	if !strings.HasPrefix(ct, "vault:v1:") || strings.Contains(ct, base64.StdEncoding.EncodeToString(seed)) {
		t.Fatalf("ciphertext %q is not an opaque Transit ciphertext", ct)
	}
	got, err := e.portal.OpenPortal(ctx, ctxTOTP, ct)
	if err != nil || !bytes.Equal(got, seed) {
		t.Fatalf("OpenPortal = %x, %v; want the seed back", got, err)
	}
	// Sealing twice gives different ciphertexts (random nonce).
	if ct2, err := e.portal.SealPortal(ctx, ctxTOTP, seed); err != nil || ct2 == ct {
		t.Fatalf("second SealPortal: %v, same ciphertext %v", err, ct2 == ct)
	}

	// Another context derives another key: the ciphertext opens under none.
	for _, other := range []string{
		"phone:patient@example.net",
		"totp:other@example.net",
		"totp:patient@example.ne",
		"TOTP:patient@example.net",
	} {
		got, err := e.portal.OpenPortal(ctx, other, ct)
		if !errors.Is(err, keys.ErrPortalCiphertext) {
			t.Errorf("OpenPortal with context %q: got %x, %v; want ErrPortalCiphertext", other, got, err)
		}
	}
	// An altered ciphertext does not open either.
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ct, "vault:v1:"))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	if _, err := e.portal.OpenPortal(ctx, ctxTOTP, "vault:v1:"+base64.StdEncoding.EncodeToString(raw)); !errors.Is(err, keys.ErrPortalCiphertext) {
		t.Errorf("altered ciphertext: got %v, want ErrPortalCiphertext", err)
	}
	for _, bad := range []string{"", "spw1:vault:v1:AA==", "vault:v1:AA==\n", "plain"} {
		if _, err := e.portal.OpenPortal(ctx, ctxTOTP, bad); !errors.Is(err, keys.ErrPortalCiphertext) {
			t.Errorf("OpenPortal(%q): got %v, want ErrPortalCiphertext", bad, err)
		}
	}
	// Bad input never reaches Vault.
	if _, err := e.portal.SealPortal(ctx, "", seed); err == nil {
		t.Error("SealPortal accepted an empty context")
	}
	if _, err := e.portal.SealPortal(ctx, ctxTOTP, nil); err == nil {
		t.Error("SealPortal accepted an empty plaintext")
	}
	if _, err := e.portal.OpenPortal(ctx, "", ct); err == nil {
		t.Error("OpenPortal accepted an empty context")
	}
}

var codeRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

func TestEnrollmentCode(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	const msgID, rcpt = "01JD4ZP0S5X8Q2V7", "Patient@Example.NET"
	code, err := e.portal.EnrollmentCode(ctx, msgID, rcpt)
	if err != nil {
		t.Fatalf("portal EnrollmentCode: %v", err)
	}
	if !codeRE.MatchString(code) {
		t.Fatalf("code %q is not XXXX-XXXX-XXXX in Crockford base32", code)
	}
	// The admin computes the same code (to pass it on); case of the
	// address does not matter; it is stable.
	for _, tc := range []struct {
		name string
		c    *keys.Client
		rcpt string
	}{{"admin", e.admin, rcpt}, {"portal lower", e.portal, "patient@example.net"}, {"portal again", e.portal, rcpt}} {
		got, err := tc.c.EnrollmentCode(ctx, msgID, tc.rcpt)
		if err != nil || got != code {
			t.Errorf("%s: EnrollmentCode = %q, %v; want %q", tc.name, got, err, code)
		}
	}
	// Another message or another recipient has another code.
	for _, tc := range []struct{ id, rcpt string }{{msgID + "x", rcpt}, {msgID, "other@example.net"}} {
		got, err := e.portal.EnrollmentCode(ctx, tc.id, tc.rcpt)
		if err != nil || got == code {
			t.Errorf("EnrollmentCode(%q, %q) = %q, %v; want a different code", tc.id, tc.rcpt, got, err)
		}
	}

	// The code is the first 60 bits of Transit's HMAC over the documented
	// input, recomputed here independently with the root token.
	input := "sealpost-enroll-v1\x00" + msgID + "\x00" + strings.ToLower(rcpt)
	s, err := rootAPI(t, e.srv).Logical().Write("transit/hmac/"+keys.DefaultPortalKey+"/sha2-256",
		map[string]any{"input": base64.StdEncoding.EncodeToString([]byte(input))})
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := s.Data["hmac"].(string)
	sum, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(mac, "vault:v1:"))
	if err != nil {
		t.Fatal(err)
	}
	if want := codeFromBits(sum); code != want {
		t.Fatalf("code %q, recomputed from the HMAC %q", code, want)
	}

	// What a recipient types is checked after normalising.
	for _, typed := range []string{
		code,
		strings.ToLower(code),
		strings.ReplaceAll(code, "-", " "),
		strings.ReplaceAll(code, "-", ""),
		" " + strings.ReplaceAll(strings.ReplaceAll(code, "0", "o"), "1", "l") + " ",
		strings.ReplaceAll(code, "1", "I"),
	} {
		if !keys.EnrollmentCodesEqual(code, typed) {
			t.Errorf("EnrollmentCodesEqual(%q, %q) = false", code, typed)
		}
	}
	other, err := e.portal.EnrollmentCode(ctx, msgID, "other@example.net")
	if err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{other, "", code[:13], code + "0", "UUUU-UUUU-UUUU"} {
		if keys.EnrollmentCodesEqual(code, typed) {
			t.Errorf("EnrollmentCodesEqual(%q, %q) = true", code, typed)
		}
	}

	// Bad input never reaches Vault.
	for _, tc := range []struct{ id, rcpt string }{{"", rcpt}, {"a b", rcpt}, {msgID, ""}, {msgID, "a\x00b"}, {msgID, strings.Repeat("a", 300)}} {
		if _, err := e.portal.EnrollmentCode(ctx, tc.id, tc.rcpt); err == nil {
			t.Errorf("EnrollmentCode(%q, %q) accepted bad input", tc.id, tc.rcpt)
		}
	}
}

// codeFromBits is an independent implementation: the first 60 bits of sum
// as a bit string, cut into twelve 5-bit groups.
func codeFromBits(sum []byte) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var bits strings.Builder
	for _, b := range sum[:8] {
		for i := 7; i >= 0; i-- {
			bits.WriteByte('0' + (b>>i)&1)
		}
	}
	s := bits.String()[:60]
	var out strings.Builder
	for i := 0; i < 12; i++ {
		if i == 4 || i == 8 {
			out.WriteByte('-')
		}
		v := 0
		for _, c := range s[i*5 : i*5+5] {
			v = v<<1 | int(c-'0')
		}
		out.WriteByte(alphabet[v])
	}
	return out.String()
}

func TestNormalizeEnrollmentCode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"ABCD-EFGH-JKMN", "ABCD-EFGH-JKMN", true},
		{"abcd efgh jkmn", "ABCD-EFGH-JKMN", true},
		{"abcdefghjkmn", "ABCD-EFGH-JKMN", true},
		{"  o0Oo-iIlL-1234 ", "0000-1111-1234", true},
		{"AB-CD-EF-GH-JK-MN", "ABCD-EFGH-JKMN", true},
		{"ABCD-EFGH-JKMU", "", false},  // U is not in the alphabet
		{"ABCD-EFGH-JKM", "", false},   // 11 characters
		{"ABCD-EFGH-JKMNP", "", false}, // 13 characters
		{"ABCD_EFGH_JKMN", "", false},  // other separators
		{"ABCD-EFGH-JKMÑ", "", false},  // non-ASCII
		{"", "", false},                // nothing
		{strings.Repeat(" ", 100), "", false},
	}
	for _, tt := range tests {
		got, ok := keys.NormalizeEnrollmentCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeEnrollmentCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWrapData(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	const msgID, phone = "01JD4ZP0S5X8Q2V7", "+447700900123"
	blob, err := e.relay.WrapData(ctx, msgID, keys.PurposePhone, []byte(phone))
	if err != nil {
		t.Fatalf("relay WrapData: %v", err)
	}
	if bytes.Contains(blob, []byte("447700900123")) {
		t.Fatal("wrapped blob holds the number")
	}
	if w, err := keys.ParseWrapped(blob); err != nil || w.Scheme != keys.SchemeLocal {
		t.Fatalf("wrapped blob: %+v, %v", w, err)
	}
	for name, c := range map[string]*keys.Client{"portal": e.portal, "admin": e.admin} {
		got, err := c.UnwrapData(ctx, msgID, keys.PurposePhone, blob)
		if err != nil || string(got) != phone {
			t.Fatalf("%s UnwrapData = %q, %v", name, got, err)
		}
	}
	_, err = e.relay.UnwrapData(ctx, msgID, keys.PurposePhone, blob)
	requireDenied(t, "relay UnwrapData", err)

	// Bound to the message and the purpose.
	if _, err := e.portal.UnwrapData(ctx, msgID+"x", keys.PurposePhone, blob); !errors.Is(err, keys.ErrWrongMessage) {
		t.Errorf("UnwrapData for another message: %v, want ErrWrongMessage", err)
	}
	if _, err := e.portal.UnwrapData(ctx, msgID, "totp", blob); !errors.Is(err, keys.ErrMalformedWrapped) {
		t.Errorf("UnwrapData for another purpose: %v, want ErrMalformedWrapped", err)
	}
	// A phone blob never opens as an identity, nor an identity as a phone.
	if got, err := e.portal.Unwrap(ctx, msgID, blob); !errors.Is(err, keys.ErrMalformedWrapped) {
		t.Errorf("Unwrap of a phone blob = %q, %v; want ErrMalformedWrapped", got, err)
	}
	idBlob, err := e.relay.Wrap(ctx, msgID, []byte("AGE-SECRET-KEY-1QQQQ"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.portal.UnwrapData(ctx, msgID, keys.PurposePhone, idBlob); !errors.Is(err, keys.ErrMalformedWrapped) {
		t.Errorf("UnwrapData of an identity blob = %q, %v; want ErrMalformedWrapped", got, err)
	}
	// Bad input.
	for _, tc := range []struct {
		name, id, purpose string
		data              []byte
	}{
		{"empty purpose", msgID, "", []byte(phone)},
		{"upper-case purpose", msgID, "Phone", []byte(phone)},
		{"purpose with NUL", msgID, "ph\x00one", []byte(phone)},
		{"empty data", msgID, keys.PurposePhone, nil},
		{"bad id", "a b", keys.PurposePhone, []byte(phone)},
		{"too large", msgID, keys.PurposePhone, make([]byte, 500)},
	} {
		if _, err := e.relay.WrapData(ctx, tc.id, tc.purpose, tc.data); err == nil {
			t.Errorf("WrapData %s: accepted", tc.name)
		}
	}
}

// Setup refuses a portal key that is not derived, or of another type.
func TestSetupRefusesBadPortalKey(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	rc := rootAPI(t, e.srv)
	for name, body := range map[string]map[string]any{
		"plain-aes": {"type": "aes256-gcm96"},
		"ed-key":    {"type": "ed25519"},
	} {
		if _, err := rc.Logical().Write("transit/keys/"+name, body); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ key, want string }{{"plain-aes", "not derived"}, {"ed-key", `type "ed25519"`}} {
		c, err := keys.New(keys.Config{Address: e.srv.Addr, Token: e.srv.RootToken, PortalKey: tt.key})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := keys.Setup(ctx, c); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Setup with portal key %s: %v, want an error containing %q", tt.key, err, tt.want)
		}
	}
	// A portal key named like another key is refused before Vault is asked.
	if _, err := keys.New(keys.Config{Address: e.srv.Addr, Token: "t", PortalKey: keys.DefaultWrapKey}); err == nil {
		t.Error("New accepted a portal key named like the wrap key")
	}
}

// The portal key may be renamed; the installed policies follow.
func TestPortalKeyCustomName(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	cfg := func(token string) keys.Config {
		return keys.Config{Address: e.srv.Addr, Token: token, PortalKey: "clinic-portal"}
	}
	root, err := keys.New(cfg(e.srv.RootToken))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := keys.Setup(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	portal, _ := keys.New(cfg(creds.PortalToken))
	admin, _ := keys.New(cfg(creds.AdminToken))
	relay, _ := keys.New(cfg(creds.RelayToken))
	ct, err := portal.SealPortal(ctx, "phone:a@b.example", []byte("+15555550100"))
	if err != nil {
		t.Fatalf("portal SealPortal with a custom key: %v", err)
	}
	if got, err := portal.OpenPortal(ctx, "phone:a@b.example", ct); err != nil || string(got) != "+15555550100" {
		t.Fatalf("portal OpenPortal: %q, %v", got, err)
	}
	pc, err := portal.EnrollmentCode(ctx, "m1", "a@b.example")
	if err != nil {
		t.Fatal(err)
	}
	if ac, err := admin.EnrollmentCode(ctx, "m1", "a@b.example"); err != nil || ac != pc {
		t.Fatalf("admin EnrollmentCode = %q, %v; want %q", ac, err, pc)
	}
	_, err = relay.EnrollmentCode(ctx, "m1", "a@b.example")
	requireDenied(t, "relay EnrollmentCode", err)
	// The default-named key is another key: the code differs. (Setup just
	// rewrote the policies for "clinic-portal", so ask as root.)
	if dc, err := e.root.EnrollmentCode(ctx, "m1", "a@b.example"); err != nil || dc == pc {
		t.Fatalf("default portal key code %q, %v; want a code other than %q", dc, err, pc)
	}
}
