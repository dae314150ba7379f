package portal

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sealpost/sealpost/gateway/store"
)

const testPassword = "correct horse battery staple"

// requireStatus fails unless r has status (and, for a redirect, goes to
// location when location is not empty).
func requireStatus(t *testing.T, what string, r *resp, status int, location string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body:\n%s", what, r.Status, status, r.Body)
	}
	if location != "" && r.Location != location {
		t.Fatalf("%s: redirect to %q, want %q", what, r.Location, location)
	}
}

// requireBody fails unless r's body holds each of want (HTML-escaped as
// the templates escape it).
func requireBody(t *testing.T, what string, r *resp, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.Body, html.EscapeString(w)) && !strings.Contains(r.Body, w) {
			t.Fatalf("%s: page lacks %q:\n%s", what, w, r.Body)
		}
	}
}

// startFlow posts the start form and returns the response.
func startFlow(t *testing.T, b *browser, addr, msgID string) *resp {
	t.Helper()
	return b.post(t, "/start", url.Values{"email": {addr}, "m": {msgID}})
}

// proveMailbox goes from the start form through the mailbox code; it
// returns the response to the code (a redirect to /oob or /enrol).
// n is how many code mails addr has had before, plus one.
func (e *testEnv) proveMailbox(t *testing.T, b *browser, addr, msgID string, n int) *resp {
	t.Helper()
	r := startFlow(t, b, addr, msgID)
	requireStatus(t, "start", r, http.StatusSeeOther, "/code")
	code := e.mailboxCode(t, addr, n)
	r = b.post(t, "/code", url.Values{"code": {code}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("mailbox code: status %d:\n%s", r.Status, r.Body)
	}
	return r
}

var secretRE = regexp.MustCompile(`<code class="secret"[^>]*>([A-Z2-7 ]+)</code>`)

// choosePassword sets a password and returns the TOTP secret the page
// shows (after checking the QR code is there too).
func choosePassword(t *testing.T, b *browser, password string) string {
	t.Helper()
	r := b.post(t, "/enrol/password", url.Values{"password": {password}, "confirm": {password}})
	requireStatus(t, "set password", r, http.StatusSeeOther, "/enrol/password")
	r = b.get(t, "/enrol/password")
	requireStatus(t, "TOTP page", r, http.StatusOK, "")
	requireBody(t, "TOTP page", r, `src="data:image/png;base64,`, `autocomplete="one-time-code"`)
	m := secretRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("TOTP page shows no secret:\n%s", r.Body)
	}
	return strings.ReplaceAll(m[1], " ", "")
}

// totpCode is the TOTP code of secret at when.
func totpCode(t *testing.T, secret string, when time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, when, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolPassword enrols addr over HTTP with a password and TOTP, from the
// start page of msgID (which must let addr enrol at the mailbox level, or
// have had its out-of-band factor proved by the caller: pass afterCode
// true to start from the /enrol page). It returns the TOTP secret; b is
// then signed in.
func (e *testEnv) enrolPassword(t *testing.T, b *browser, addr, msgID string) string {
	t.Helper()
	r := e.proveMailbox(t, b, addr, msgID, 1)
	requireStatus(t, "mailbox code", r, http.StatusSeeOther, "/enrol")
	return e.finishPasswordEnrolment(t, b, msgID)
}

// finishPasswordEnrolment goes from the method page to a session.
func (e *testEnv) finishPasswordEnrolment(t *testing.T, b *browser, msgID string) string {
	t.Helper()
	r := b.get(t, "/enrol")
	requireStatus(t, "method page", r, http.StatusOK, "")
	secret := choosePassword(t, b, testPassword)
	r = b.post(t, "/enrol/totp", url.Values{"code": {totpCode(t, secret, e.now())}})
	requireStatus(t, "confirm TOTP", r, http.StatusSeeOther, "/m/"+msgID)
	if b.cookie("__Host-sp_session") == "" {
		t.Fatal("no session cookie after enrolment")
	}
	return secret
}

func TestEnrolPasswordMailboxLevel(t *testing.T) {
	e := newTestEnv(t)
	const addr = "Pat@Example.NET"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{"pat@example.net"}, Assurance: "mailbox"})
	b := e.browser()

	r := b.get(t, "/m/"+msg.ID)
	requireStatus(t, "start page", r, http.StatusOK, "")
	requireBody(t, "start page", r, `autocomplete="email"`, `name="m" value="`+msg.ID+`"`)
	requirePageHeaders(t, "start page", r)

	r = startFlow(t, b, addr, msg.ID)
	requireStatus(t, "start", r, http.StatusSeeOther, "/code")
	requireCookie(t, r, "__Host-sp_flow")
	r = b.get(t, "/code")
	requireStatus(t, "code page", r, http.StatusOK, "")
	requireBody(t, "code page", r, `inputmode="numeric"`, `autocomplete="one-time-code"`, "pat@example.net")
	requirePageHeaders(t, "code page", r)

	// The code mail: from the portal, to the address, no content.
	code := e.mailboxCode(t, "pat@example.net", 1)
	m := e.Codes.Sent()[0]
	if m.Env.From != testFrom || len(m.Env.To) != 1 || m.Env.To[0] != "pat@example.net" {
		t.Fatalf("code mail envelope %+v", m.Env)
	}
	for _, h := range []string{"Message-ID: <", "Date: ", "Auto-Submitted: auto-generated", "From: ", "To: <pat@example.net>"} {
		if !strings.Contains(string(m.Data), h) {
			t.Errorf("code mail lacks %q:\n%s", h, m.Data)
		}
	}
	for _, leak := range []string{msg.ID, "HbA1c", "Your results", testSender} {
		if strings.Contains(string(m.Data), leak) {
			t.Errorf("code mail holds %q", leak)
		}
	}

	// A wrong code first, then the right one.
	r = b.post(t, "/code", url.Values{"code": {wrongDigits(code)}})
	requireStatus(t, "wrong code", r, http.StatusBadRequest, "")
	requireBody(t, "wrong code", r, `role="alert"`, `aria-describedby="code-error"`)
	r = b.post(t, "/code", url.Values{"code": {code[:4] + " " + code[4:]}})
	requireStatus(t, "code", r, http.StatusSeeOther, "/enrol")

	r = b.get(t, "/enrol")
	requireStatus(t, "method page", r, http.StatusOK, "")
	requireBody(t, "method page", r, tr("method.lower.label"), "/enrol/passkey", "/enrol/password")

	// Password rules.
	for pw, key := range map[string]string{
		"short":                 "err.password.short",
		"my pat password 12345": "err.password.address",
	} {
		r = b.post(t, "/enrol/password", url.Values{"password": {pw}, "confirm": {pw}})
		requireStatus(t, "bad password", r, http.StatusBadRequest, "")
		requireBody(t, "bad password "+pw, r, tr(key), `autocomplete="new-password"`)
	}
	r = b.post(t, "/enrol/password", url.Values{"password": {testPassword}, "confirm": {testPassword + "x"}})
	requireBody(t, "mismatch", r, tr("err.password.mismatch"))

	secret := choosePassword(t, b, testPassword)
	r = b.post(t, "/enrol/totp", url.Values{"code": {wrongDigits(totpCode(t, secret, e.now()))}})
	requireStatus(t, "wrong TOTP", r, http.StatusBadRequest, "")
	requireBody(t, "wrong TOTP", r, tr("err.totp.wrong"))
	first := totpCode(t, secret, e.now())
	r = b.post(t, "/enrol/totp", url.Values{"code": {first}})
	requireStatus(t, "confirm TOTP", r, http.StatusSeeOther, "/m/"+msg.ID)
	sc := requireCookie(t, r, "__Host-sp_session")
	if sc.MaxAge != 0 || sc.Path != "/" {
		t.Errorf("session cookie %+v", sc)
	}

	acct, err := e.Store.Account(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Level != store.LevelMailbox || acct.Method != store.MethodPassword || !strings.HasPrefix(acct.PasswordHash, "$argon2id$") ||
		!strings.HasPrefix(acct.TOTPSealed, "vault:v") {
		t.Fatalf("account after enrolment: level %q method %q", acct.Level, acct.Method)
	}
	if strings.Contains(acct.TOTPSealed, secret) {
		t.Fatal("TOTP seed stored in clear")
	}

	// The session opens the message (a mailbox-assurance one).
	r = b.get(t, "/m/"+msg.ID)
	requireStatus(t, "message", r, http.StatusOK, "")
	requireBody(t, "message", r, "marker-"+msg.ID)

	en := e.requireAudit(t, ActionEnrol, msg.ID)
	if en.Detail["level"] != "mailbox" || en.Detail["method"] != "password" || en.Actor != Actor(addr) {
		t.Errorf("enrol audit entry %+v", en)
	}
	e.requireAudit(t, ActionCodeSent, msg.ID)
	e.requireAudit(t, ActionLoginFailed, msg.ID)
	if e.countAudit(t, ActionStepUp) != 0 {
		t.Error("a mailbox-level enrolment recorded a step-up")
	}

	// Log out, then log in again with the password and a later TOTP code;
	// the code used at enrolment is refused (no replay).
	r = b.post(t, "/logout", nil)
	requireStatus(t, "logout", r, http.StatusSeeOther, "/")
	if b.cookie("__Host-sp_session") != "" {
		t.Fatal("session cookie survived logout")
	}
	e.requireAudit(t, ActionLogout, "")
	r = b.get(t, "/m/"+msg.ID)
	requireBody(t, "after logout", r, `action="/start"`)

	r = startFlow(t, b, addr, msg.ID)
	requireStatus(t, "start (enrolled)", r, http.StatusSeeOther, "/login")
	r = b.get(t, "/login")
	requireStatus(t, "login page", r, http.StatusOK, "")
	requireBody(t, "login page", r, `autocomplete="current-password"`, `autocomplete="one-time-code"`)
	requirePageHeaders(t, "login page", r)
	r = b.post(t, "/login/password", url.Values{"password": {testPassword}, "code": {first}})
	requireStatus(t, "replayed TOTP", r, http.StatusBadRequest, "")
	requireBody(t, "replayed TOTP", r, tr("err.login.wrong"))
	e.advance(30 * time.Second)
	r = b.post(t, "/login/password", url.Values{"password": {testPassword + "!"}, "code": {totpCode(t, secret, e.now())}})
	requireStatus(t, "wrong password", r, http.StatusBadRequest, "")
	requireBody(t, "wrong password", r, tr("err.login.wrong"))
	r = b.post(t, "/login/password", url.Values{"password": {testPassword}, "code": {totpCode(t, secret, e.now())}})
	requireStatus(t, "login", r, http.StatusSeeOther, "/m/"+msg.ID)
	if e.requireAudit(t, ActionLogin, msg.ID).Detail["method"] != "password" {
		t.Error("login audit entry lacks the method")
	}
	acct, _ = e.Store.Account(testCtx(t), addr)
	if acct.Failures != 0 {
		t.Errorf("failures after a successful login: %d", acct.Failures)
	}
	e.requireNoSecrets(t, code, testPassword, secret, first, "HbA1c")
}

// wrongDigits returns a code of the same length that is not code.
func wrongDigits(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// requireCookie fails unless r sets cookie name with HttpOnly, Secure,
// SameSite=Lax and Path=/, and returns it.
func requireCookie(t *testing.T, r *resp, name string) *http.Cookie {
	t.Helper()
	for _, c := range r.Cookies {
		if c.Name == name {
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Fatalf("cookie %s lacks HttpOnly, Secure, SameSite=Lax or Path=/: %+v", name, c)
			}
			if len(c.Value) != 43 {
				t.Fatalf("cookie %s value is not 32 bytes of base64url", name)
			}
			return c
		}
	}
	t.Fatalf("response sets no cookie %s (has %v)", name, r.Cookies)
	return nil
}
