package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Viewport sizes of [Browser.Desktop] and [Browser.Phone], in CSS pixels.
const (
	DesktopWidth  = 1280
	DesktopHeight = 900
	PhoneWidth    = 390
	PhoneHeight   = 844
)

// DefaultTimeout bounds each helper of a [Browser] that waits: a navigation,
// a query for an element, a poll, a download.
const DefaultTimeout = 15 * time.Second

// debianChromium is where the Debian package chromium installs the browser.
const debianChromium = "/usr/bin/chromium"

// Browser is one tab, in a browser context of its own, of the headless
// Chromium that the test binary shares. One test owns it, and its methods
// fail that test on error. It is not safe for concurrent use.
type Browser struct {
	t       testing.TB
	ctx     context.Context
	timeout time.Duration

	downloads string // the directory that Chromium saves downloads in

	console *consoleLog
}

// Start opens a fresh incognito-like browser context with one tab for the
// test, with a 1280x900 viewport and a blank page, and closes it when the
// test ends. Start fails the test when Chromium is missing or does not start.
//
// All the tests of a test binary share one headless Chromium process, started
// by the first Start; each test gets its own browser context (cookies,
// storage, cache and permissions that no other test sees), its own download
// directory, and a tab whose console and virtual authenticators are its own.
// On this project's 2-core machine, under load, Chromium took 1.7 to 3.9 s to
// start and a new browser context with its tab 0.5 to 1 s, so a process per
// test would cost an e2e suite much more than the little isolation it adds.
// The process ends with the test binary.
func Start(t testing.TB) *Browser {
	t.Helper()
	// TempDir before the cleanup below, so that it is removed after the
	// tab is gone (cleanups run last in, first out).
	downloads := t.TempDir()
	ctx, cancel, err := newTab()
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	t.Cleanup(cancel)

	b := &Browser{t: t, ctx: ctx, timeout: DefaultTimeout, downloads: downloads}
	b.console = watchConsole(ctx)
	if err := b.allowDownloads(); err != nil {
		t.Fatalf("browser: %v", err)
	}
	b.Desktop()
	return b
}

// newTab opens a tab in a new browser context of the shared browser. When the
// shared browser has died, it starts another one, once.
func newTab() (context.Context, context.CancelFunc, error) {
	var err error
	for range 2 {
		var parent context.Context
		if parent, err = shared.get(); err != nil {
			return nil, nil, err
		}
		ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
		if err = chromedp.Do(ctx); err == nil {
			return ctx, cancel, nil
		}
		cancel()
		shared.reset(parent)
	}
	return nil, nil, fmt.Errorf("failed to open a tab: %w", err)
}

// shared is the Chromium process of the test binary.
var shared sharedBrowser

// sharedBrowser starts Chromium on first use and keeps it for the life of
// the test binary. Chromium dies with the binary (chromedp starts it with a
// parent-death signal); its profile directory is removed by the next binary
// that starts one, see sweepProfiles.
type sharedBrowser struct {
	mu   sync.Mutex
	ctx  context.Context // a chromedp context whose first action started the browser
	stop func()          // kills the browser and removes its profile
}

// get returns the context of the running browser, starting it if need be.
func (s *sharedBrowser) get() (context.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx != nil {
		return s.ctx, nil
	}
	path, err := chromiumPath()
	if err != nil {
		return nil, err
	}
	sweepProfiles()
	profile, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", profilePrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("failed to create a profile directory: %w", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(DesktopWidth, DesktopHeight),
	)
	// Cancelled only by reset: the browser lives as long as the binary.
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	stop := func() {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(profile)
	}
	// The first action starts the browser, and binds its life to ctx.
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("failed to start %s: %w", path, err)
	}
	s.ctx, s.stop = ctx, stop
	return ctx, nil
}

// reset forgets the browser of ctx, so that the next get starts another.
func (s *sharedBrowser) reset(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == ctx {
		s.stop()
		s.ctx, s.stop = nil, nil
	}
}

// profilePrefix starts the name of the profile directory of a shared
// browser, followed by the pid of the test binary.
const profilePrefix = "sealpost-browser-"

// sweepProfiles removes the profile directories that the shared browsers of
// test binaries that have ended left in the temporary directory.
func sweepProfiles() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), profilePrefix+"*"))
	for _, dir := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), profilePrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.RemoveAll(dir)
	}
}

// processAlive reports whether a process with the pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// chromiumPath finds the Chromium binary, or says how to install it.
func chromiumPath() (string, error) {
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	if _, err := os.Stat(debianChromium); err == nil {
		return debianChromium, nil
	}
	return "", errors.New("chromium is missing: install the Debian package chromium (make deps does it)")
}

// SetTimeout changes how long each waiting helper may take (default
// [DefaultTimeout]).
func (b *Browser) SetTimeout(d time.Duration) { b.timeout = d }

// Context returns the chromedp context of the tab, for what the helpers do
// not cover. Actions run with it have no deadline of their own.
func (b *Browser) Context() context.Context { return b.ctx }

// do runs the actions with the helper timeout and fails the test on error.
func (b *Browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: failed to %s: %v", what, err)
	}
}

// run runs one action with the helper timeout and fails the test on error.
func run[T any](b *Browser, what string, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("browser: failed to %s: %v", what, err)
	}
	return v
}

// Desktop sets the 1280x900 desktop viewport, which is the one [Start] sets.
func (b *Browser) Desktop() {
	b.t.Helper()
	b.do("set the desktop viewport", chromedp.EmulateViewport(DesktopWidth, DesktopHeight))
}

// Phone emulates a 390x844 portrait phone: a mobile viewport (the page's
// meta viewport applies) with touch events. The device pixel ratio stays 1 so
// that screenshots are small. It applies to the current page at once and to
// later pages until [Browser.Desktop].
func (b *Browser) Phone() {
	b.t.Helper()
	b.do("set the phone viewport", chromedp.EmulateViewport(PhoneWidth, PhoneHeight,
		chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
}

// Navigate loads the URL, waits for its load event, and returns the HTTP
// status of the document. A URL that the browser does not render as a page
// (for example an attachment) fails the test: use [Browser.Download].
func (b *Browser) Navigate(url string) int {
	b.t.Helper()
	resp := run(b, "navigate to "+url, chromedp.NavigateResponse(url))
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// ClickNavigate clicks the first element that matches the CSS selector,
// waits for the page that the click loads (a link, a form submission), and
// returns its HTTP status.
func (b *Browser) ClickNavigate(sel string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: failed to click %q and load the next page: %v", sel, err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// Click clicks the first element that matches the CSS selector, once it is
// visible. It does not wait for a navigation: see [Browser.ClickNavigate].
func (b *Browser) Click(sel string) {
	b.t.Helper()
	b.do(fmt.Sprintf("click %q", sel), chromedp.Click(chromedp.CSS(sel)))
}

// Fill replaces the value of the input or textarea that matches the CSS
// selector by typing the value into it, as a person would (key and input
// events fire).
func (b *Browser) Fill(sel, value string) {
	b.t.Helper()
	clear := fmt.Sprintf("document.querySelector(%s).value = ''", jsString(sel))
	b.do(fmt.Sprintf("fill %q", sel),
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](clear),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	)
}

// Value returns the current value of the form field that matches the CSS
// selector.
func (b *Browser) Value(sel string) string {
	b.t.Helper()
	return run(b, fmt.Sprintf("read the value of %q", sel), chromedp.Value(chromedp.CSS(sel)))
}

// WaitVisible waits until an element that matches the CSS selector is
// visible.
func (b *Browser) WaitVisible(sel string) {
	b.t.Helper()
	b.do(fmt.Sprintf("wait for %q to be visible", sel), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// WaitGone waits until no element matches the CSS selector.
func (b *Browser) WaitGone(sel string) {
	b.t.Helper()
	b.do(fmt.Sprintf("wait for %q to go", sel), chromedp.WaitNotPresent(chromedp.CSS(sel)))
}

// WaitText waits until the visible text of the top document contains text.
func (b *Browser) WaitText(text string) {
	b.t.Helper()
	expr := fmt.Sprintf("document.body !== null && document.body.innerText.includes(%s)", jsString(text))
	b.do(fmt.Sprintf("wait for the text %q", text),
		chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(b.timeout)))
}

// Text returns the visible text of the first element that matches the CSS
// selector.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	return run(b, fmt.Sprintf("read the text of %q", sel), chromedp.Text(chromedp.CSS(sel)))
}

// Title returns the title of the current page.
func (b *Browser) Title() string {
	b.t.Helper()
	return run(b, "read the title", chromedp.Title())
}

// URL returns the URL of the current page.
func (b *Browser) URL() string {
	b.t.Helper()
	return run(b, "read the location", chromedp.Location())
}

// Eval evaluates the JavaScript expression in the top document, waits for it
// when it is a promise, and returns its value decoded from JSON: nil for
// undefined and null, bool, float64, string, []any or map[string]any.
// An exception fails the test.
func (b *Browser) Eval(expr string) any {
	b.t.Helper()
	return EvalAs[any](b, expr)
}

// EvalAs is [Browser.Eval] with the result decoded into a T. undefined and null
// fail the test unless T can be nil.
func EvalAs[T any](b *Browser, expr string) T {
	b.t.Helper()
	return run(b, "evaluate "+short(expr), chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// Cookies returns the cookies that the browser would send to the current
// page and its frames, HttpOnly ones included.
func (b *Browser) Cookies() []*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		b.t.Fatalf("browser: failed to read cookies: %v", err)
	}
	return res.Cookies
}

// Cookie returns the cookie of the current page with the name, or nil.
func (b *Browser) Cookie(name string) *network.Cookie {
	b.t.Helper()
	for _, c := range b.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// LocalURL rewrites a loopback URL such as an httptest server's
// http://127.0.0.1:PORT/path to http://localhost:PORT/path. Browsers treat
// localhost as a secure context, and WebAuthn refuses IP-address origins.
func LocalURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return raw
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		u.Host = net.JoinHostPort("localhost", port)
	}
	return u.String()
}

// repoRoot walks up from the working directory (a package directory under
// go test) to the directory that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("failed to get the working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("failed to find go.mod above the working directory")
		}
		dir = parent
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Go string always encodes
	}
	return string(q)
}

// short shortens a script for an error message.
func short(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
