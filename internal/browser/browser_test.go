package browser

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// pages serves small test pages. Each handler counts its hits.
type pages struct {
	mux  *http.ServeMux
	hits map[string]*atomic.Int64
	url  string // http://localhost:PORT
}

func newPages(t *testing.T) *pages {
	t.Helper()
	p := &pages{mux: http.NewServeMux(), hits: map[string]*atomic.Int64{}}
	srv := httptest.NewServer(p.mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	p.url = LocalURL(srv.URL)
	// Chromium asks for a favicon; a 404 would be a console error.
	p.mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if !strings.HasPrefix(p.url, "http://localhost:") {
		t.Fatalf("LocalURL(%q) = %q", srv.URL, p.url)
	}
	return p
}

// html serves body as an HTML page at path, with extra headers.
func (p *pages) html(path, body string, headers ...string) {
	p.handle(path, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	})
}

func (p *pages) handle(path string, h http.HandlerFunc) {
	n := new(atomic.Int64)
	p.hits[path] = n
	p.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	})
}

func (p *pages) count(path string) int64 { return p.hits[path].Load() }

const goodPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>Open your letter</h1>
<form action="/submitted" method="get">
  <label for="name">Your name</label>
  <input id="name" name="name" type="text" autocomplete="name">
  <button type="submit">Continue</button>
</form>
</main></body></html>`

const badPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bad</title></head>
<body><main>
<h1>Bad page</h1>
<p id="faint" style="color:#c8c8c8;background:#fff">This text is far too faint to read.</p>
<input id="nolabel" type="text">
<iframe title="inner form" src="/bad-frame"></iframe>
</main></body></html>`

const badFrame = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Inner</title></head>
<body><main><input id="inframe" type="text"></main></body></html>`

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestAxe(t *testing.T) {
	t.Parallel()
	p := newPages(t)
	p.html("/good", goodPage)
	p.html("/bad", badPage)
	p.html("/bad-frame", badFrame)
	b := Start(t)

	b.Navigate(p.url + "/good")
	if vs := b.Axe(); len(vs) != 0 {
		t.Errorf("good page: want no violations at all, got %v", vs)
	}

	b.Navigate(p.url + "/bad")
	rec := &recorder{TB: t}
	vs := b.CheckAccessibility(rec, "bad page")
	byID := map[string]Violation{}
	for _, v := range vs {
		byID[v.ID] = v
	}
	contrast, ok := byID["color-contrast"]
	if !ok || contrast.Impact != "serious" || !slices.Contains(contrast.Nodes[0].Target, "#faint") {
		t.Errorf("bad page: want color-contrast (serious) on #faint, got %+v", vs)
	}
	label, ok := byID["label"]
	if !ok || label.Impact != "critical" {
		t.Fatalf("bad page: want label (critical), got %+v", vs)
	}
	var targets []string
	for _, n := range label.Nodes {
		targets = append(targets, strings.Join(n.Target, " | "))
	}
	// The second proves that axe-core ran inside the same-origin iframe too.
	for _, want := range []string{"#nolabel", "iframe | #inframe"} {
		if !slices.Contains(targets, want) {
			t.Errorf("label violation targets = %q, want %q among them", targets, want)
		}
	}

	if len(rec.errors) != 1 {
		t.Fatalf("CheckAccessibility reported %d errors, want 1: %q", len(rec.errors), rec.errors)
	}
	msg := rec.errors[0]
	for _, want := range []string{`"bad page"`, "color-contrast (serious)", "label (critical)", "#nolabel", "iframe >> #inframe", "axe-core 4."} {
		if !strings.Contains(msg, want) {
			t.Errorf("CheckAccessibility message lacks %q:\n%s", want, msg)
		}
	}
	t.Logf("axe on the bad page:\n%s", msg)
}

func TestFormCookiesAndConsole(t *testing.T) {
	t.Parallel()
	p := newPages(t)
	p.handle("/good", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3cr3t", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, goodPage)
	})
	p.handle("/submitted", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Done</title><p id="msg">Thanks, %s</p>
<script>console.log("page says %%s", "hello"); setTimeout(() => { throw new Error("late boom") }, 0)</script>`,
			strings.ReplaceAll(r.FormValue("name"), "<", ""))
	})
	b := Start(t)

	if status := b.Navigate(p.url + "/good"); status != http.StatusOK {
		t.Fatalf("Navigate status = %d", status)
	}
	if got := b.Title(); got != "Sign in" {
		t.Errorf("Title = %q", got)
	}
	c := b.Cookie("sid")
	if c == nil || c.Value != "s3cr3t" || !c.HTTPOnly {
		t.Errorf("Cookie(sid) = %+v, want the HttpOnly cookie s3cr3t", c)
	}
	if got := b.Eval("document.cookie"); got != "" {
		t.Errorf("document.cookie = %q, want the HttpOnly cookie hidden", got)
	}

	b.Fill("#name", "Ada")
	b.Fill("#name", "Ada Lovelace") // replaces, does not append
	if got := b.Value("#name"); got != "Ada Lovelace" {
		t.Errorf("Value = %q", got)
	}
	if status := b.ClickNavigate("button[type=submit]"); status != http.StatusOK {
		t.Errorf("ClickNavigate status = %d", status)
	}
	b.WaitText("Thanks, Ada Lovelace")
	if got := b.Text("#msg"); got != "Thanks, Ada Lovelace" {
		t.Errorf("Text = %q", got)
	}
	if got := b.URL(); got != p.url+"/submitted?name=Ada+Lovelace" {
		t.Errorf("URL = %q", got)
	}
	if got := EvalAs[float64](b, "Promise.resolve(40 + 2)"); got != 42 {
		t.Errorf("EvalAs awaited %v, want 42", got)
	}

	// The exception is thrown by a timer after the load event.
	b.Eval("new Promise(r => setTimeout(r, 50))")
	var logged bool
	for _, m := range b.ConsoleMessages() {
		logged = logged || (m.Type == chromedp.ConsoleLog && m.Text == "page says hello")
	}
	if !logged {
		t.Errorf("ConsoleMessages lacks the console.log: %v", b.ConsoleMessages())
	}
	ex := b.Exceptions()
	if len(ex) != 1 || !strings.Contains(ex[0].Text, "late boom") {
		t.Errorf("Exceptions = %v, want the one late boom", ex)
	}
	if errs := b.ConsoleErrors(); len(errs) != 1 {
		t.Errorf("ConsoleErrors = %v, want the exception only", errs)
	}

	b.Click("#msg")
	b.Eval(`document.getElementById("msg").remove()`)
	b.WaitGone("#msg")
}

const registerPage = `<!doctype html><html lang="en"><title>Passkey</title><body><script>
function b64url(buf) {
  return btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
async function register() {
  const cred = await navigator.credentials.create({publicKey: {
    challenge: crypto.getRandomValues(new Uint8Array(32)),
    rp: {name: 'Sealpost', id: 'localhost'},
    user: {id: new TextEncoder().encode('recipient-1'), name: 'recipient', displayName: 'Recipient'},
    pubKeyCredParams: [{type: 'public-key', alg: -7}],
    authenticatorSelection: {residentKey: 'required', userVerification: 'required'},
  }});
  return b64url(cred.rawId);
}
async function signIn() {
  const cred = await navigator.credentials.get({publicKey: {
    challenge: crypto.getRandomValues(new Uint8Array(32)), rpId: 'localhost', userVerification: 'required',
  }});
  return b64url(cred.rawId);
}
</script></body></html>`

func TestVirtualAuthenticator(t *testing.T) {
	t.Parallel()
	p := newPages(t)
	p.html("/passkey", registerPage)
	b := Start(t)
	b.Navigate(p.url + "/passkey")
	id := b.AddVirtualAuthenticator()
	if id == "" {
		t.Fatal("AddVirtualAuthenticator returned no id")
	}
	if creds := b.Credentials(id); len(creds) != 0 {
		t.Fatalf("a new authenticator holds %d credentials", len(creds))
	}

	credID := EvalAs[string](b, "register()")
	creds := b.Credentials(id)
	if len(creds) != 1 {
		t.Fatalf("after navigator.credentials.create the authenticator holds %d credentials, want 1", len(creds))
	}
	c := creds[0]
	if got := base64.RawURLEncoding.EncodeToString(c.CredentialID); got != credID {
		t.Errorf("credential id = %s, page got %s", got, credID)
	}
	if c.RpID != "localhost" || !c.IsResidentCredential || string(c.UserHandle) != "recipient-1" {
		t.Errorf("credential = rp %q resident %v user %q", c.RpID, c.IsResidentCredential, c.UserHandle)
	}
	if got := EvalAs[string](b, "signIn()"); got != credID {
		t.Errorf("navigator.credentials.get used %s, want %s", got, credID)
	}
}

func TestDownload(t *testing.T) {
	t.Parallel()
	p := newPages(t)
	report := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0, 1, 2, 0xff}, 4096)...)
	p.html("/letter", `<!doctype html><title>Letter</title><a id="dl" href="/report">Download</a>`)
	p.handle("/report", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="report.pdf"`)
		w.Write(report)
	})
	b := Start(t)
	b.Navigate(p.url + "/letter")

	data, name := b.Download(func() { b.Click("#dl") })
	if name != "report.pdf" {
		t.Errorf("suggested name = %q, want report.pdf", name)
	}
	if !bytes.Equal(data, report) {
		t.Errorf("downloaded %d bytes, want the %d served", len(data), len(report))
	}
	// A second download through location.href, while the page stays.
	data, name = b.Download(func() { b.Eval(`location.href = "/report"`) })
	if name != "report.pdf" || !bytes.Equal(data, report) {
		t.Errorf("second download: %q, %d bytes", name, len(data))
	}
	if got := p.count("/report"); got != 2 {
		t.Errorf("server saw %d downloads, want 2", got)
	}
}

func TestScreenshot(t *testing.T) {
	t.Parallel()
	p := newPages(t)
	// Taller than the viewport, to show that the screenshot is of the full page.
	p.html("/long", `<!doctype html><html lang="en"><title>Long</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<body style="margin:0"><div style="height:1500px;background:linear-gradient(#036,#fc0)">tall</div></body></html>`)
	b := Start(t)
	b.Navigate(p.url + "/long")

	for _, tc := range []struct {
		name          string
		setup         func()
		width, height int
	}{
		{"browser-selftest-desktop", b.Desktop, DesktopWidth, 1500},
		{"browser-selftest-phone", b.Phone, PhoneWidth, 1500},
	} {
		tc.setup()
		path := b.Screenshot(tc.name)
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(root, "var", "screenshots", tc.name+".png"); path != want {
			t.Errorf("Screenshot path = %s, want %s", path, want)
		}
		f, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(f))
		if err != nil {
			t.Fatalf("%s is not a PNG: %v", path, err)
		}
		if got := img.Bounds().Size(); got.X != tc.width || got.Y != tc.height {
			t.Errorf("%s is %v, want %dx%d", tc.name, got, tc.width, tc.height)
		}
	}
	if got := EvalAs[float64](b, "window.innerWidth"); got != PhoneWidth {
		t.Errorf("phone innerWidth = %v", got)
	}
}

// hostileMessage is what a hostile sender puts in a letter: a script that
// reaches for the portal page and phones home.
const hostileMessage = `<!doctype html><html lang="en"><title>Letter</title><body><p>Dear patient</p>
<script>top.pwned = 1; fetch('/pwned'); console.error('hostile ran'); throw new Error('hostile')</script></body></html>`

func TestSandboxedFrame(t *testing.T) {
	t.Parallel()
	p := newPages(t)
	p.html("/message/sandboxed", hostileMessage, "Content-Security-Policy", "sandbox")
	p.html("/message/open", hostileMessage)
	p.html("/pwned", "")
	p.html("/view/sandboxed", `<!doctype html><html lang="en"><title>View</title>
<iframe sandbox title="message" src="/message/sandboxed"></iframe>`)
	p.html("/view/open", `<!doctype html><html lang="en"><title>View</title>
<iframe title="message" src="/message/open"></iframe>`)

	t.Run("sandboxed", func(t *testing.T) {
		b := Start(t)
		b.Navigate(p.url + "/view/sandboxed") // waits for the load event, which waits for the frame
		if got := p.count("/message/sandboxed"); got != 1 {
			t.Fatalf("the frame was fetched %d times, want 1", got)
		}
		assertChildFrame(t, b, p.url+"/message/sandboxed")
		if got := b.Eval("window.pwned"); got != nil {
			t.Errorf("window.pwned = %v: the sandboxed script reached the parent", got)
		}
		if ex := b.Exceptions(); len(ex) != 0 {
			t.Errorf("Exceptions = %v, want none", ex)
		}
		for _, m := range b.ConsoleMessages() {
			if strings.Contains(m.Text, "hostile") {
				t.Errorf("console has %v: the sandboxed script ran", m)
			}
		}
		if got := p.count("/pwned"); got != 0 {
			t.Errorf("/pwned was requested %d times", got)
		}
		// axe-core cannot enter the opaque-origin frame, and still finishes.
		start := time.Now()
		b.CheckAccessibility(t, "sandboxed view")
		t.Logf("axe over a page with a sandboxed frame took %v", time.Since(start))
	})

	// The same checks see the script when it does run.
	t.Run("open", func(t *testing.T) {
		b := Start(t)
		b.Navigate(p.url + "/view/open")
		assertChildFrame(t, b, p.url+"/message/open")
		if got := b.Eval("window.pwned"); got != float64(1) {
			t.Errorf("window.pwned = %v, want 1 set by the frame's script", got)
		}
		ex := b.Exceptions()
		if len(ex) != 1 || !strings.Contains(ex[0].Text, "hostile") {
			t.Errorf("Exceptions = %v, want the frame's Error('hostile')", ex)
		}
		var logged bool
		for _, m := range b.ConsoleErrors() {
			logged = logged || m.Text == "hostile ran"
		}
		if !logged {
			t.Errorf("ConsoleErrors lacks the frame's console.error: %v", b.ConsoleErrors())
		}
		deadline := time.Now().Add(5 * time.Second)
		for p.count("/pwned") == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := p.count("/pwned"); got != 1 {
			t.Errorf("/pwned was requested %d times, want 1", got)
		}
	})
}

// assertChildFrame checks that the page loaded a frame from url, in its own
// process or in the page's.
func assertChildFrame(t *testing.T, b *Browser, url string) {
	t.Helper()
	tree, err := chromedp.Call(b.Context(), page.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tree.FrameTree.ChildFrames {
		if f.Frame.URL == url {
			return
		}
	}
	targets, err := chromedp.Targets(b.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range targets {
		if info.Type == "iframe" && info.URL == url {
			return
		}
	}
	t.Fatalf("no frame at %s: frame tree %+v, targets %+v", url, tree.FrameTree.ChildFrames, targets)
}

func TestLocalURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:4321/a?b=c": "http://localhost:4321/a?b=c",
		"http://[::1]:80/":            "http://localhost:80/",
		"http://localhost:1/":         "http://localhost:1/",
		"https://example.org:8443/x":  "https://example.org:8443/x",
		"http://192.0.2.1:8080/":      "http://192.0.2.1:8080/",
		"not a url with a port: %zz%": "not a url with a port: %zz%",
	} {
		if got := LocalURL(in); got != want {
			t.Errorf("LocalURL(%q) = %q, want %q", in, got, want)
		}
	}
}
