package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sealpost/sealpost/gateway/store"
)

// TestLockout: five wrong logins lock the account; the locked page does not
// say which check failed; a correct login while locked is refused; once the
// lock passes the right password works, and one more failure run locks
// for twice as long.
func TestLockout(t *testing.T) {
	e := newTestEnv(t)
	const addr = "lo@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Assurance: "mailbox"})
	secret := e.enrolPassword(t, e.browser(), addr, msg.ID)

	b := e.browser()
	requireStatus(t, "start", startFlow(t, b, addr, msg.ID), http.StatusSeeOther, "/login")
	for i := 1; i <= store.LockAfter; i++ {
		e.advance(30 * time.Second)
		var form url.Values
		if i%2 == 0 { // a wrong password with a right code, or a right password with a wrong code
			form = url.Values{"password": {"not the password at all"}, "code": {totpCode(t, secret, e.now())}}
		} else {
			form = url.Values{"password": {testPassword}, "code": {wrongDigits(totpCode(t, secret, e.now()))}}
		}
		r := b.post(t, "/login/password", form)
		if i < store.LockAfter {
			requireStatus(t, "wrong login", r, http.StatusBadRequest, "")
			requireBody(t, "wrong login", r, tr("err.login.wrong"))
			continue
		}
		requireStatus(t, "locking login", r, http.StatusTooManyRequests, "")
		requireBody(t, "locked page", r, tr("title.locked"))
		requirePageHeaders(t, "locked page", r)
		for _, hint := range []string{"password is", "code is", tr("err.login.wrong")} {
			if strings.Contains(r.Body, hint) {
				t.Fatalf("the locked page hints at which check failed (%q)", hint)
			}
		}
	}
	x := e.requireAudit(t, ActionLockout, msg.ID)
	if x.Actor != Actor(addr) || x.Detail["until"] == "" {
		t.Fatalf("lockout entry %+v", x)
	}
	if n := e.countAudit(t, ActionLoginFailed); n != store.LockAfter {
		t.Fatalf("%d login-failed entries, want %d", n, store.LockAfter)
	}

	// Locked: even the right password and code are refused, and the login
	// page shows the locked page.
	e.advance(30 * time.Second)
	r := b.post(t, "/login/password", url.Values{"password": {testPassword}, "code": {totpCode(t, secret, e.now())}})
	requireStatus(t, "login while locked", r, http.StatusTooManyRequests, "")
	requireStatus(t, "login page while locked", b.get(t, "/login"), http.StatusTooManyRequests, "")

	// After the lock: one more failure locks again, for 30 minutes.
	e.advance(store.LockBase)
	r = b.post(t, "/login/password", url.Values{"password": {"still wrong password"}, "code": {totpCode(t, secret, e.now())}})
	requireStatus(t, "failure after the lock", r, http.StatusTooManyRequests, "")
	acct, _ := e.Store.Account(testCtx(t), addr)
	if got := acct.LockedUntil.Sub(e.now()); got != 2*store.LockBase {
		t.Fatalf("second lockout lasts %v, want %v", got, 2*store.LockBase)
	}
	e.advance(2 * store.LockBase)
	// The login flow itself has expired by now (flowTTL): start again.
	requireBody(t, "expired flow", b.get(t, "/login"), tr("err.flow"))
	requireStatus(t, "start", startFlow(t, b, addr, msg.ID), http.StatusSeeOther, "/login")
	r = b.post(t, "/login/password", url.Values{"password": {testPassword}, "code": {totpCode(t, secret, e.now())}})
	requireStatus(t, "login after the lock", r, http.StatusSeeOther, "/m/"+msg.ID)
	acct, _ = e.Store.Account(testCtx(t), addr)
	if acct.Failures != 0 || !acct.LockedUntil.IsZero() {
		t.Fatalf("success did not reset failures (%d) and lock (%v)", acct.Failures, acct.LockedUntil)
	}
	e.requireNoSecrets(t, testPassword, "not the password at all", secret)
}

// TestOOBFailuresLock: wrong enrolment codes count toward the lockout.
func TestOOBFailuresLock(t *testing.T) {
	e := newTestEnv(t)
	const addr = "ol@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, OOBFactor: "code"})
	b := e.browser()
	requireStatus(t, "mailbox", e.proveMailbox(t, b, addr, msg.ID, 1), http.StatusSeeOther, "/oob")
	var r *resp
	for range store.LockAfter {
		r = b.post(t, "/oob/code", url.Values{"code": {"AAAA-AAAA-AAAA"}})
	}
	requireStatus(t, "locked", r, http.StatusTooManyRequests, "")
	requireBody(t, "locked", r, tr("title.locked"))
	requireStatus(t, "oob page while locked", b.get(t, "/oob"), http.StatusTooManyRequests, "")
	e.requireAudit(t, ActionLockout, msg.ID)
}

// TestSessionExpiry: a session ends after SessionIdle without a request,
// and SessionMax after login however active; last_seen is written at most
// once a minute.
func TestSessionExpiry(t *testing.T) {
	e := newTestEnv(t)
	const addr = "se@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Assurance: "mailbox"})
	open := func(b *browser) bool {
		t.Helper()
		r := b.get(t, "/m/"+msg.ID)
		return r.Status == http.StatusOK && strings.Contains(r.Body, "marker-"+msg.ID)
	}

	b := e.signIn(t, addr, store.LevelOOB)
	if !open(b) {
		t.Fatal("a fresh session cannot open the message")
	}
	e.advance(14 * time.Minute)
	if !open(b) {
		t.Fatal("the session ended before the idle timeout")
	}
	e.advance(14 * time.Minute) // 28 minutes after login, 14 after the last request
	if !open(b) {
		t.Fatal("a request did not refresh the idle timeout")
	}
	e.advance(15 * time.Minute)
	if open(b) {
		t.Fatal("the session outlived the idle timeout")
	}
	if b.cookie("__Host-sp_session") != "" {
		t.Fatal("the expired session's cookie was not cleared")
	}

	// Absolute: active every 10 minutes, still ends after 8 hours.
	b = e.signIn(t, addr, store.LevelOOB)
	for i := 0; i < 47; i++ {
		e.advance(10 * time.Minute)
		if !open(b) {
			t.Fatalf("the session ended after %v", time.Duration(i+1)*10*time.Minute)
		}
	}
	e.advance(10 * time.Minute) // 8h after login
	if open(b) {
		t.Fatal("the session outlived the absolute timeout")
	}

	// loadSession writes last_seen at most once a minute.
	b = e.signIn(t, addr, store.LevelOOB)
	token := b.cookie("__Host-sp_session")
	e.advance(30 * time.Second)
	open(b)
	row, err := e.Store.Session(testCtx(t), tokenHash(token))
	if err != nil {
		t.Fatal(err)
	}
	if !row.LastSeen.Equal(row.Created) {
		t.Fatal("last_seen written within a minute of the last write")
	}
	e.advance(31 * time.Second)
	open(b)
	row, _ = e.Store.Session(testCtx(t), tokenHash(token))
	if !row.LastSeen.Equal(e.now()) {
		t.Fatalf("last_seen %v, want %v", row.LastSeen, e.now())
	}
}

// TestLoadSessionLevelFromAccount: the level comes from the account on
// every request, and a reset ends the session.
func TestLoadSessionLevelFromAccount(t *testing.T) {
	e := newTestEnv(t)
	const addr = "lv@example.net"
	b := e.signIn(t, addr, store.LevelMailbox)
	req, _ := http.NewRequest(http.MethodGet, testURL+"/", nil)
	req.AddCookie(&http.Cookie{Name: "__Host-sp_session", Value: b.cookie("__Host-sp_session")})
	sess, r2 := e.Server.loadSession(discardCookies{}, req)
	if sess == nil || sess.Level != store.LevelMailbox || sess.Address != addr || sess.Method != store.MethodPasskey {
		t.Fatalf("session %+v", sess)
	}
	if got, ok := sessionFrom(r2); !ok || got != sess {
		t.Fatal("loadSession did not attach the session to the request")
	}
	if err := e.Store.StepUp(testCtx(t), addr); err != nil {
		t.Fatal(err)
	}
	if sess, _ = e.Server.loadSession(discardCookies{}, req); sess == nil || sess.Level != store.LevelOOB {
		t.Fatalf("after step-up: %+v", sess)
	}
	if err := e.Store.ResetAccount(testCtx(t), addr, e.now()); err != nil {
		t.Fatal(err)
	}
	if sess, r3 := e.Server.loadSession(discardCookies{}, req); sess != nil || r3 != req {
		t.Fatal("a reset account still has a session")
	}
	// A malformed cookie is no session.
	req.Header.Del("Cookie")
	req.AddCookie(&http.Cookie{Name: "__Host-sp_session", Value: "not-a-token"})
	if sess, _ := e.Server.loadSession(discardCookies{}, req); sess != nil {
		t.Fatal("a malformed cookie made a session")
	}
}

// TestCrossOriginPostRefused: the CSRF protection refuses a cross-site
// POST to each auth endpoint.
func TestCrossOriginPostRefused(t *testing.T) {
	e := newTestEnv(t)
	msg := e.sealMessage(t, sealSpec{Recipients: []string{"cs@example.net"}, Assurance: "mailbox"})
	b := e.signIn(t, "cs@example.net", store.LevelOOB)
	b.Origin, b.SecFetchSite = "https://evil.example", "cross-site"
	for _, path := range []string{"/start", "/code", "/oob/code", "/oob/sms", "/enrol/password", "/enrol/totp", "/login/password", "/logout"} {
		r := b.post(t, path, url.Values{"email": {"cs@example.net"}, "m": {msg.ID}})
		requireStatus(t, "cross-site POST "+path, r, http.StatusForbidden, "")
	}
	for _, path := range []string{"/enrol/passkey/begin", "/login/passkey/begin"} {
		requireStatus(t, "cross-site POST "+path, b.postJSON(t, path, nil), http.StatusForbidden, "")
	}
	e.Server.wait()
	if len(e.Codes.Sent()) != 0 {
		t.Fatal("a cross-site POST sent a code")
	}
	// Still signed in: the cross-site logout did nothing.
	b.Origin, b.SecFetchSite = "", ""
	requireBody(t, "still signed in", b.get(t, "/m/"+msg.ID), "marker-"+msg.ID)
	// A same-origin POST from a browser passes.
	b.Origin, b.SecFetchSite = testURL, "same-origin"
	requireStatus(t, "same-origin logout", b.post(t, "/logout", nil), http.StatusSeeOther, "/")
}

// TestAuthPagesHeaders: every auth page carries the page CSP and no-store,
// and the flow pages without a flow go back to the start.
func TestAuthPagesHeaders(t *testing.T) {
	e := newTestEnv(t)
	b := e.browser()
	for _, path := range []string{"/", "/code", "/oob", "/enrol", "/enrol/password", "/enrol/passkey", "/login", "/stepup?m=x"} {
		r := b.get(t, path)
		requirePageHeaders(t, path, r)
		if r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: no X-Frame-Options", path)
		}
	}
	r := b.get(t, "/code")
	requireStatus(t, "code without flow", r, http.StatusBadRequest, "")
	requireBody(t, "code without flow", r, tr("err.flow"), `action="/start"`)
	r = b.post(t, "/start", url.Values{"email": {"not an address"}})
	requireStatus(t, "bad address", r, http.StatusBadRequest, "")
	requireBody(t, "bad address", r, `aria-describedby="email-error"`, `role="alert"`, tr("err.email"))
	requirePageHeaders(t, "bad address", r)
	js := b.get(t, "/static/portal.js")
	requireStatus(t, "portal.js", js, http.StatusOK, "")
	if !strings.Contains(js.Body, "navigator.credentials.create") || !strings.Contains(js.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("portal.js: %q", js.Header.Get("Content-Type"))
	}
}

// TestNoInlineScriptOrStyle: the auth templates hold no inline script or
// style (the CSP forbids them) and label every input.
func TestNoInlineScriptOrStyle(t *testing.T) {
	for _, name := range []string{"start", "code", "oob", "stepup", "partials/oobforms", "method", "passkey", "password", "login", "locked", "contact"} {
		b, err := templateFS.ReadFile("templates/" + name + ".html")
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, bad := range []string{"<script>", "style=", "<style", "onclick", "javascript:"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s.html holds %q", name, bad)
			}
		}
		for _, in := range strings.Split(s, "<input ")[1:] {
			if strings.Contains(in, `type="hidden"`) || strings.Contains(in, " hidden") {
				continue
			}
			id := between(in, `id="`, `"`)
			if id == "" || !strings.Contains(s, `<label for="`+id+`"`) {
				t.Errorf("%s.html: an input without a label: %.60s", name, in)
			}
		}
	}
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

// TestPurgeExpired: the node's purge removes the sessions and flows the
// portal no longer accepts.
func TestPurgeExpired(t *testing.T) {
	e := newTestEnv(t)
	msg := e.sealMessage(t, sealSpec{Recipients: []string{"pu@example.net"}, Assurance: "mailbox"})
	b := e.signIn(t, "pu@example.net", store.LevelOOB)
	requireStatus(t, "start", startFlow(t, e.browser(), "pu@example.net", msg.ID), http.StatusSeeOther, "/login")
	if n, err := e.Server.PurgeExpired(testCtx(t)); err != nil || n != 0 {
		t.Fatalf("purge of live rows: %d, %v", n, err)
	}
	e.advance(31 * time.Minute)
	n, err := e.Server.PurgeExpired(testCtx(t))
	if err != nil || n != 2 {
		t.Fatalf("PurgeExpired = %d, %v; want 2 (the idle session and the flow)", n, err)
	}
	if _, err := e.Store.Session(testCtx(t), tokenHash(b.cookie("__Host-sp_session"))); err == nil {
		t.Fatal("the idle session survived the purge")
	}
}
