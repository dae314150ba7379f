package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	harness "github.com/sealpost/sealpost/internal/browser"
)

// sessionCookie is the portal's session cookie on http://localhost (which
// browsers treat as secure, so the name carries the __Host- prefix).
const sessionCookie = "__Host-sp_session"

// headings are the <h1> of each kind of portal page, from the portal's
// strings. A message page's heading is its subject: see atMessage.
var headings = map[string]string{
	"start":    "Open your secure messages",
	"code":     "Check your email",
	"oob":      "One more check",
	"method":   "Set up how you sign in",
	"passkey":  "Create a passkey",
	"password": "Choose a password",
	"totp":     "Add an authenticator app",
	"login":    "Sign in",
	"stepup":   "One more check for this message",
	"inbox":    "Your secure messages",
	"reply":    "Reply securely",
	"sent":     "Your reply was sent",
	"recalled": "This message was withdrawn",
	"expired":  "This message has expired",
	"locked":   "Account locked",
	"notfound": "We could not find that message",
}

// visitor is one recipient's browser in one journey.
type visitor struct {
	t       *testing.T
	s       *stack
	b       *harness.Browser
	journey string
	step    int
}

// visitor opens a fresh browser (its own cookies and authenticators) for
// the journey.
func (s *stack) visitor(t *testing.T, journey string) *visitor {
	t.Helper()
	b := harness.Start(t)
	b.SetTimeout(browseTimeout)
	v := &visitor{t: t, s: s, b: b, journey: journey}
	t.Cleanup(func() {
		// What the pages logged, for the record (CSP refusals of hostile
		// content show here; they are expected).
		for _, m := range b.ConsoleErrors() {
			t.Logf("console (%s): %s %s [%s]", journey, m.Type, m.Text, m.URL)
		}
	})
	return v
}

// open loads the portal path and returns the HTTP status of the page.
func (v *visitor) open(path string) int {
	v.t.Helper()
	return v.b.Navigate(v.s.url(path))
}

// submit clicks what sel selects (a submit button, a link) and returns the
// status of the page it loads.
func (v *visitor) submit(sel string) int {
	v.t.Helper()
	return v.b.ClickNavigate(sel)
}

// waitFor polls the boolean JavaScript expression in the page until it is
// true. Errors while a page is loading are retried.
func (v *visitor) waitFor(what, expr string) {
	v.t.Helper()
	deadline := time.Now().Add(browseTimeout)
	for {
		ctx, cancel := context.WithTimeout(v.b.Context(), 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("%s: %s did not happen within %v (last error: %v); the page is %s",
				v.journey, what, browseTimeout, err, v.b.URL())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// at waits until the page is a portal page of kind, then records it: a
// screenshot <journey>-<step>-<kind>, and axe-core's check the first time
// the journeys meet this kind of page. A state (such as "error") names a
// variant of the page that is checked on its own.
func (v *visitor) at(kind string, state ...string) {
	v.t.Helper()
	h, ok := headings[kind]
	if !ok {
		v.t.Fatalf("unknown page kind %q", kind)
	}
	v.waitFor("the "+kind+" page", fmt.Sprintf(
		`document.readyState === "complete" && (document.querySelector("main h1") || {}).textContent === %s`, js(h)))
	v.record(strings.Join(append([]string{kind}, state...), "-"))
}

// atMessage waits until the page is the message page with the subject.
func (v *visitor) atMessage(subject string) {
	v.t.Helper()
	v.waitFor("the message page of "+subject, fmt.Sprintf(
		`document.readyState === "complete" && location.pathname.startsWith("/m/") && `+
			`(document.querySelector("main h1#subject") || {}).textContent === %s`, js(subject)))
	v.record("message")
}

// record takes the screenshot of the current page, and checks its
// accessibility if no journey has checked a page of its kind yet.
func (v *visitor) record(kind string) {
	v.t.Helper()
	v.step++
	v.b.Screenshot(fmt.Sprintf("%s-%02d-%s", v.journey, v.step, kind))
	v.s.mu.Lock()
	first := !v.s.checked[kind]
	v.s.checked[kind] = true
	v.s.mu.Unlock()
	if first {
		for _, vi := range v.b.CheckAccessibility(v.t, kind) {
			if !vi.Blocking() {
				v.t.Logf("axe (%s page, %s): %s", kind, vi.Impact, vi)
			}
		}
	}
}

// phone takes a phone-width screenshot of the current page, checks that
// nothing makes the page scroll sideways at that width, and returns to the
// desktop viewport.
func (v *visitor) phone(kind string) {
	v.t.Helper()
	v.b.Phone()
	defer v.b.Desktop()
	v.waitFor("the phone layout", `window.innerWidth === 390`)
	v.b.Screenshot(fmt.Sprintf("%s-%02d-%s-phone", v.journey, v.step, kind))
	over := harness.EvalAs[[]string](v.b, `(() => {
		const w = document.documentElement.clientWidth, out = [];
		for (const el of document.querySelectorAll("body *")) {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 1) out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
				(el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") +
				" right=" + Math.round(r.right));
		}
		return out.slice(0, 10);
	})()`)
	if sw := harness.EvalAs[float64](v.b, `document.documentElement.scrollWidth`); sw > 390 || len(over) > 0 {
		v.t.Errorf("%s page at 390px: the page is %vpx wide (it scrolls sideways); elements past the right edge: %v", kind, sw, over)
	}
}

// text returns the visible text of the page's main element.
func (v *visitor) text() string {
	v.t.Helper()
	return harness.EvalAs[string](v.b, `(document.querySelector("main") || document.body).innerText`)
}

// mustShow fails the test unless the page's main text contains each of want.
func (v *visitor) mustShow(want ...string) {
	v.t.Helper()
	text := v.text()
	for _, w := range want {
		if !strings.Contains(text, w) {
			v.t.Errorf("%s: the page %s does not show %q; it shows:\n%s", v.journey, v.b.URL(), w, text)
		}
	}
}

// mustNotShow fails the test if the page's whole text or HTML holds any of
// secrets.
func (v *visitor) mustNotShow(secrets ...string) {
	v.t.Helper()
	html := harness.EvalAs[string](v.b, `document.documentElement.outerHTML`)
	for _, sec := range secrets {
		if strings.Contains(html, sec) {
			v.t.Errorf("%s: the page %s holds %q", v.journey, v.b.URL(), sec)
		}
	}
}

// exists reports whether an element matches the CSS selector.
func (v *visitor) exists(sel string) bool {
	v.t.Helper()
	return harness.EvalAs[bool](v.b, fmt.Sprintf(`document.querySelector(%s) !== null`, js(sel)))
}

// attr returns the attribute of the first element that sel selects ("" if
// it has none).
func (v *visitor) attr(sel, name string) string {
	v.t.Helper()
	return harness.EvalAs[string](v.b, fmt.Sprintf(`(document.querySelector(%s) || {getAttribute(){return ""}}).getAttribute(%s) || ""`, js(sel), js(name)))
}

// session returns the value of the session cookie ("" when signed out).
func (v *visitor) session() string {
	v.t.Helper()
	if c := v.b.Cookie(sessionCookie); c != nil {
		return c.Value
	}
	return ""
}

// resume puts a session that an earlier journey signed in into this
// browser: the same recipient, going on in another window.
func (v *visitor) resume(token string) {
	v.t.Helper()
	yes := true
	ctx, cancel := context.WithTimeout(v.b.Context(), browseTimeout)
	defer cancel()
	_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: sessionCookie, Value: token, URL: v.s.url("/"), Path: "/",
		Secure: &yes, HTTPOnly: &yes, SameSite: network.CookieSameSiteLax,
	})
	if err != nil {
		v.t.Fatalf("failed to set the session cookie: %v", err)
	}
}

// fetched is what fetchPath saw of a response.
type fetched struct {
	Status      int    `json:"status"`
	URL         string `json:"url"` // after redirects
	Type        string `json:"type"`
	Disposition string `json:"disposition"`
	CSP         string `json:"csp"`
	Body        string `json:"body"`
}

// fetchPath requests the portal path from the page with fetch (the page's
// cookies, same origin, redirects followed) and returns the response.
// form, when not nil, is posted as multipart/form-data.
func (v *visitor) fetchPath(method, path string, form map[string]string) fetched {
	v.t.Helper()
	fields, _ := json.Marshal(form)
	expr := fmt.Sprintf(`(async () => {
		const init = {method: %s, credentials: "same-origin"};
		const fields = %s;
		if (fields) { const fd = new FormData(); for (const k in fields) fd.append(k, fields[k]); init.body = fd; }
		const r = await fetch(%s, init);
		return {status: r.status, url: r.url, type: r.headers.get("content-type") || "",
			disposition: r.headers.get("content-disposition") || "",
			csp: r.headers.get("content-security-policy") || "", body: await r.text()};
	})()`, js(method), fields, js(path))
	return harness.EvalAs[fetched](v.b, expr)
}

// passkeyCeremony adds a virtual authenticator if the browser has none,
// clicks the passkey button and returns the authenticator.
func (v *visitor) passkeyCeremony(auth webauthn.AuthenticatorID) webauthn.AuthenticatorID {
	v.t.Helper()
	if auth == "" {
		auth = v.b.AddVirtualAuthenticator()
	}
	v.b.Click("#passkey")
	return auth
}

// startAs types the address into the start page and continues; it returns
// how many messages had reached the next hop before, for mailboxCode.
func (v *visitor) startAs(address string) int {
	v.t.Helper()
	v.b.Fill("#email", address)
	n := v.s.deliveries()
	v.submit(`form[action="/start"] button[type=submit]`)
	return n
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
