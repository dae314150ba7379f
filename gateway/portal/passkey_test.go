package portal

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/sealpost/sealpost/gateway/store"
)

// softAuthenticator is a software WebAuthn authenticator: one ECDSA P-256
// credential, "none" attestation, user present and verified.
type softAuthenticator struct {
	key       *ecdsa.PrivateKey
	credID    []byte
	userID    []byte
	signCount uint32
	origin    string
	rpID      string
}

func newSoftAuthenticator(t *testing.T) *softAuthenticator {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &softAuthenticator{key: k, credID: id, origin: testURL, rpID: "portal.example.com"}
}

var b64 = base64.RawURLEncoding

// options is what the begin endpoints return (the parts used here).
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AuthenticatorSelection struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

func parseOptions(t *testing.T, r *resp) options {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("begin: status %d: %s", r.Status, r.Body)
	}
	var o options
	if err := json.Unmarshal([]byte(r.Body), &o); err != nil {
		t.Fatalf("begin: %v: %s", err, r.Body)
	}
	return o
}

func (a *softAuthenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

// authData builds authenticator data; attested adds the credential.
func (a *softAuthenticator) authData(t *testing.T, attested bool) []byte {
	t.Helper()
	rp := sha256.Sum256([]byte(a.rpID))
	flags := byte(0x01 | 0x04) // user present, user verified
	if attested {
		flags |= 0x40
	}
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.signCount)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.credID)))
		out = append(out, a.credID...)
		pub, err := a.key.PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			t.Fatal(err)
		}
		x, y := pub[1:33], pub[33:65]
		em, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			t.Fatal(err)
		}
		cose, err := em.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cose...)
	}
	return out
}

// register answers a creation options object.
func (a *softAuthenticator) register(t *testing.T, o options) map[string]any {
	t.Helper()
	uid, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		t.Fatalf("user id: %v", err)
	}
	a.userID = uid
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(t, true)})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	}
}

// assert answers a request options object.
func (a *softAuthenticator) assert(t *testing.T, o options) map[string]any {
	t.Helper()
	cd := a.clientData("webauthn.get", o.PublicKey.Challenge)
	ad := a.authData(t, false)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.userID),
		},
		"clientExtensionResults": map[string]any{},
	}
}

func redirectOf(t *testing.T, r *resp) string {
	t.Helper()
	var v struct {
		Redirect string `json:"redirect"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("finish: %v: %s", err, r.Body)
	}
	return v.Redirect
}

// TestPasskeyEnrolAndLogin drives both WebAuthn ceremonies with a software
// authenticator: registration, login, sign-count update, a replayed
// challenge, a cloned authenticator (sign count going backwards) and a
// wrong origin.
func TestPasskeyEnrolAndLogin(t *testing.T) {
	e := newTestEnv(t)
	const addr = "kim@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Assurance: "mailbox"})
	b := e.browser()
	r := e.proveMailbox(t, b, addr, msg.ID, 1)
	requireStatus(t, "mailbox code", r, http.StatusSeeOther, "/enrol")
	r = b.get(t, "/enrol/passkey")
	requireStatus(t, "passkey page", r, http.StatusOK, "")
	requireBody(t, "passkey page", r, `<script src="/static/portal.js" defer></script>`, `id="passkey-status"`, `role="alert"`)

	// A finish without a begin is refused.
	a := newSoftAuthenticator(t)
	r = b.postJSON(t, "/enrol/passkey/finish", map[string]any{"id": "x"})
	requireStatus(t, "finish before begin", r, http.StatusBadRequest, "")

	o := parseOptions(t, b.postJSON(t, "/enrol/passkey/begin", nil))
	if o.PublicKey.RP.ID != "portal.example.com" || o.PublicKey.AuthenticatorSelection.ResidentKey != "preferred" ||
		o.PublicKey.AuthenticatorSelection.UserVerification != "preferred" {
		t.Fatalf("creation options: %+v", o.PublicKey)
	}
	// A response from another origin is refused, and costs the challenge.
	a.origin = "https://evil.example"
	r = b.postJSON(t, "/enrol/passkey/finish", a.register(t, o))
	requireStatus(t, "wrong origin", r, http.StatusBadRequest, "")
	a.origin = testURL
	r = b.postJSON(t, "/enrol/passkey/finish", a.register(t, o))
	requireStatus(t, "spent challenge", r, http.StatusBadRequest, "")

	o = parseOptions(t, b.postJSON(t, "/enrol/passkey/begin", nil))
	a.signCount = 1
	r = b.postJSON(t, "/enrol/passkey/finish", a.register(t, o))
	requireStatus(t, "register", r, http.StatusOK, "")
	if got := redirectOf(t, r); got != "/m/"+msg.ID {
		t.Fatalf("register redirect %q", got)
	}
	requireCookie(t, r, "__Host-sp_session")
	acct, err := e.Store.Account(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Level != store.LevelMailbox || acct.Method != store.MethodPasskey {
		t.Fatalf("account level %q method %q", acct.Level, acct.Method)
	}
	if en := e.requireAudit(t, ActionEnrol, msg.ID); en.Detail["method"] != "passkey" {
		t.Fatalf("enrol audit %+v", en)
	}
	r = b.get(t, "/m/"+msg.ID)
	requireBody(t, "message", r, "marker-"+msg.ID)

	// Log in on another browser.
	b2 := e.browser()
	r = startFlow(t, b2, addr, msg.ID)
	requireStatus(t, "start", r, http.StatusSeeOther, "/login")
	r = b2.get(t, "/login")
	requireBody(t, "login page", r, `data-begin="/login/passkey/begin"`)
	o = parseOptions(t, b2.postJSON(t, "/login/passkey/begin", nil))
	if len(o.PublicKey.AllowCredentials) != 1 || o.PublicKey.AllowCredentials[0].ID != b64.EncodeToString(a.credID) {
		t.Fatalf("allowCredentials %+v", o.PublicKey.AllowCredentials)
	}
	a.signCount = 5
	answer := a.assert(t, o)
	r = b2.postJSON(t, "/login/passkey/finish", answer)
	requireStatus(t, "login", r, http.StatusOK, "")
	if got := redirectOf(t, r); got != "/m/"+msg.ID {
		t.Fatalf("login redirect %q", got)
	}
	requireCookie(t, r, "__Host-sp_session")
	pks, err := e.Store.Passkeys(testCtx(t), addr)
	if err != nil || len(pks) != 1 {
		t.Fatalf("passkeys %v %v", pks, err)
	}
	var cred struct {
		Authenticator struct {
			SignCount uint32 `json:"signCount"`
		} `json:"authenticator"`
	}
	if err := json.Unmarshal(pks[0].Credential, &cred); err != nil || cred.Authenticator.SignCount != 5 || pks[0].LastUsed.IsZero() {
		t.Fatalf("sign count %d (want 5), last used %v, err %v", cred.Authenticator.SignCount, pks[0].LastUsed, err)
	}
	if e.requireAudit(t, ActionLogin, msg.ID).Detail["method"] != "passkey" {
		t.Fatal("login audit entry lacks method passkey")
	}

	// A cloned authenticator: the sign count goes backwards.
	b3 := e.browser()
	requireStatus(t, "start", startFlow(t, b3, addr, msg.ID), http.StatusSeeOther, "/login")
	o = parseOptions(t, b3.postJSON(t, "/login/passkey/begin", nil))
	a.signCount = 3
	r = b3.postJSON(t, "/login/passkey/finish", a.assert(t, o))
	requireStatus(t, "clone", r, http.StatusBadRequest, "")
	if b3.cookie("__Host-sp_session") != "" {
		t.Fatal("a cloned authenticator got a session")
	}
	// The same assertion again: the challenge is spent.
	r = b3.postJSON(t, "/login/passkey/finish", answer)
	requireStatus(t, "replayed assertion", r, http.StatusBadRequest, "")
	found := false
	for _, x := range e.auditEntries(t) {
		if x.Action == ActionLoginFailed && x.Detail["check"] == "passkey" && x.Detail["reason"] == "clone-warning" {
			found = true
		}
	}
	if !found {
		t.Fatal("no audit entry for the clone warning")
	}
	acct, _ = e.Store.Account(testCtx(t), addr)
	if acct.Failures == 0 {
		t.Fatal("failed passkey logins did not count toward lockout")
	}
}
