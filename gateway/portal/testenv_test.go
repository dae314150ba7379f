package portal

// Shared test setup for the portal's HTTP tests: a real Vault (prepared by
// keys.Setup), a real SQLite store with its audit log, recording mailers, a
// recording SMS webhook, an injectable clock, and the portal served over
// TLS as https://portal.example.com. Other test files may append helpers
// to this file; do not change what is here without telling the other
// portal helpers.
//
// Typical use:
//
//	e := newTestEnv(t)                                   // or newTestEnv(t, func(c *Config) { c.SMS.URL = "" })
//	msg := e.sealMessage(t, sealSpec{Recipients: []string{"pat@example.net"}, Assurance: "mailbox"})
//	b := e.signIn(t, "pat@example.net", store.LevelOOB)  // a browser with a session (store shortcut)
//	r := b.get(t, "/m/"+msg.ID)                          // r.Status, r.Body, r.Header, r.Location
//	e.advance(20 * time.Minute)                          // move the portal's clock
//	e.requireAudit(t, ActionView, msg.ID)                // an entry with that action exists
//
// To go through the real enrolment over HTTP instead, see enrolPassword
// in auth_test.go.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/nexthop"
	"github.com/sealpost/sealpost/gateway/seal"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/internal/testutil"
	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// Test constants: the portal's URL, its own address and the organisation.
const (
	testURL     = "https://portal.example.com"
	testFrom    = "portal@hospital.example"
	testOrg     = "St Example Hospital"
	testSender  = "dr@hospital.example"
	testSMSAuth = "sms-webhook-token"
)

// testEnv is one portal with real dependencies.
type testEnv struct {
	Vault      *vaulttest.Server
	Store      *store.Store
	Audit      *audit.Log
	Keys       *keys.Client // the portal's token (policy sealpost-portal)
	RelayKeys  *keys.Client // the relay's token: wraps identities and phones as the relay does
	AdminKeys  *keys.Client // the admin's token
	Codes      *recMailer   // Deps.Codes: mailbox codes
	Replies    *recMailer   // Deps.Replies: secure replies and read receipts
	SMS        *recSMS      // the SMS webhook cfg.SMS points at
	Server     *Server
	TLS        *httptest.Server
	Config     Config // as given to New (after mods)
	clock      *testClock
	logBuf     *testutil.SyncBuffer // the portal's slog output
	httpClient *http.Client
}

// newTestEnv starts everything. mods adjust the Config before New.
func newTestEnv(t *testing.T, mods ...func(*Config)) *testEnv {
	t.Helper()
	srv := vaulttest.Start(t)
	ctx := testCtx(t)
	creds, err := keys.Setup(ctx, testKeysClient(t, srv, srv.RootToken))
	if err != nil {
		t.Fatalf("vault setup: %v", err)
	}
	e := &testEnv{
		Vault:     srv,
		Keys:      testKeysClient(t, srv, creds.PortalToken),
		RelayKeys: testKeysClient(t, srv, creds.RelayToken),
		AdminKeys: testKeysClient(t, srv, creds.AdminToken),
		Codes:     &recMailer{},
		Replies:   &recMailer{},
		clock:     &testClock{now: time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)},
		logBuf:    &testutil.SyncBuffer{},
	}
	e.Store, err = store.Open(filepath.Join(t.TempDir(), "sealpost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Store.Close() })
	e.Audit, err = audit.New(e.Store.DB(), audit.WithWriter(e.Store.Write))
	if err != nil {
		t.Fatal(err)
	}
	e.SMS = newRecSMS(t)
	e.Config = Config{
		URL:      testURL,
		From:     testFrom,
		Branding: Branding{Name: testOrg},
		SMS:      SMSConfig{URL: e.SMS.URL, Token: testSMSAuth},
	}
	for _, m := range mods {
		m(&e.Config)
	}
	e.Server, err = New(e.Config, Deps{
		Store: e.Store, Audit: e.Audit, Keys: e.Keys, Codes: e.Codes, Replies: e.Replies,
		Logger: slog.New(slog.NewTextHandler(e.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    e.clock.Now,
	})
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	fastArgon(e.Server)
	e.TLS = httptest.NewUnstartedServer(e.Server.Handler())
	e.TLS.StartTLS()
	t.Cleanup(e.TLS.Close)
	// The test server's client sends requests for example.com and its
	// subdomains to the test server, trusting its certificate.
	e.httpClient = e.TLS.Client()
	t.Cleanup(func() { e.Server.wait() })
	return e
}

// testKeysClient is a keys client with a generous per-call timeout: the
// machine running the tests is shared and Vault answers slowly under load.
func testKeysClient(t *testing.T, srv *vaulttest.Server, token string) *keys.Client {
	t.Helper()
	c, err := keys.New(keys.Config{Address: srv.Addr, Token: token, CACert: srv.CACert, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// now is the portal's current time; advance moves it.
func (e *testEnv) now() time.Time          { return e.clock.Now() }
func (e *testEnv) advance(d time.Duration) { e.clock.Advance(d) }
func (e *testEnv) logs() string            { return e.logBuf.String() }

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sentMail is one message a recMailer was given.
type sentMail struct {
	Env  nexthop.Envelope
	Data []byte
}

// recMailer is the test next hop: it records every message and accepts
// it, or fails with Fail when set.
type recMailer struct {
	mu   sync.Mutex
	sent []sentMail
	Fail error
}

// Deliver implements Mailer.
func (m *recMailer) Deliver(ctx context.Context, env nexthop.Envelope, msg io.Reader) (*nexthop.Result, error) {
	data, err := io.ReadAll(msg)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	m.sent = append(m.sent, sentMail{Env: env, Data: data})
	res := &nexthop.Result{Rcpt: map[string]*smtp.SMTPError{}}
	for _, r := range env.To {
		res.Rcpt[r] = nil
	}
	return res, nil
}

// Sent returns what the mailer has been given so far.
func (m *recMailer) Sent() []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentMail(nil), m.sent...)
}

// waitFor waits (up to 30 s) until the mailer holds n messages to rcpt,
// and returns the last one.
func (m *recMailer) waitFor(t *testing.T, rcpt string, n int) sentMail {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got []sentMail
		for _, s := range m.Sent() {
			for _, to := range s.Env.To {
				if strings.EqualFold(to, rcpt) {
					got = append(got, s)
				}
			}
		}
		if len(got) >= n {
			return got[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailer: %d message(s) to %s after 30s, want %d", len(got), rcpt, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var eightDigits = regexp.MustCompile(`\b(\d{4}) ?(\d{4})\b`)

// mailboxCode waits for the n-th mail (1-based) to rcpt and returns the
// 8-digit code in it.
func (e *testEnv) mailboxCode(t *testing.T, rcpt string, n int) string {
	t.Helper()
	m := e.Codes.waitFor(t, rcpt, n)
	mm := eightDigits.FindSubmatch(m.Data)
	if mm == nil {
		t.Fatalf("no 8-digit code in the mail:\n%s", m.Data)
	}
	return string(mm[1]) + string(mm[2])
}

// smsMessage is one request the SMS webhook received.
type smsMessage struct {
	To   string `json:"to"`
	Text string `json:"text"`
	Auth string `json:"-"`
}

// recSMS is a recording SMS webhook.
type recSMS struct {
	URL  string
	mu   sync.Mutex
	msgs []smsMessage
	// Status is the webhook's answer; default 200.
	Status int
}

func newRecSMS(t *testing.T) *recSMS {
	r := &recSMS{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m smsMessage
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		m.Auth = req.Header.Get("Authorization")
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		status := r.Status
		r.mu.Unlock()
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(ts.Close)
	r.URL = ts.URL + "/send"
	return r
}

// Messages returns what the webhook received so far.
func (r *recSMS) Messages() []smsMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]smsMessage(nil), r.msgs...)
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// code waits (up to 30 s) for the n-th SMS (1-based) and returns its
// 6-digit code and the whole message.
func (r *recSMS) code(t *testing.T, n int) (string, smsMessage) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if msgs := r.Messages(); len(msgs) >= n {
			m := msgs[n-1]
			c := sixDigits.FindString(m.Text)
			if c == "" {
				t.Fatalf("no 6-digit code in the SMS %q", m.Text)
			}
			return c, m
		}
		if time.Now().After(deadline) {
			t.Fatalf("SMS webhook: fewer than %d messages after 30s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sealSpec describes a message to seal for the portal.
type sealSpec struct {
	Recipients  []string
	Assurance   string            // "oob" (default) or "mailbox"
	OOBFactor   string            // "any" (default), "sms" or "code"
	Phones      map[string]string // recipient → phone number, wrapped as the relay does
	ReadReceipt bool
	Original    []byte        // the RFC 5322 message; default a short text message
	Retain      time.Duration // retention from now (the real clock); 0 = none
	Sender      string        // default testSender
}

// sealedMsg is a sealed message in the store.
type sealedMsg struct {
	ID       string
	Original []byte
}

// sealMessage seals a message as the relay does: a fresh per-message
// identity, age encryption, the identity and any phone numbers wrapped with
// the relay's token, and the row stored (phones in the same transaction).
func (e *testEnv) sealMessage(t *testing.T, s sealSpec) sealedMsg {
	t.Helper()
	ctx := testCtx(t)
	if s.Assurance == "" {
		s.Assurance = "oob"
	}
	if s.OOBFactor == "" {
		s.OOBFactor = "any"
	}
	if s.Sender == "" {
		s.Sender = testSender
	}
	id := seal.NewMessageID()
	if s.Original == nil {
		s.Original = []byte("From: " + s.Sender + "\r\nTo: " + strings.Join(s.Recipients, ", ") +
			"\r\nSubject: Your results " + id + "\r\nDate: Mon, 4 Mar 2030 09:00:00 +0000\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\nDear patient, your HbA1c was 48 mmol/mol. marker-" + id + "\r\n")
	}
	secret, own, err := seal.NewIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	sum, size, err := seal.Encrypt(&ct, bytes.NewReader(s.Original), []age.Recipient{own})
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := e.RelayKeys.Wrap(ctx, id, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	phones := map[string][]byte{}
	for rcpt, phone := range s.Phones {
		w, err := e.RelayKeys.WrapData(ctx, id, keys.PurposePhone, []byte(phone))
		if err != nil {
			t.Fatal(err)
		}
		phones[rcpt] = w
	}
	m := &store.Message{
		ID: id, TraceID: "trace-" + id, Sender: s.Sender, Recipients: s.Recipients,
		Assurance: s.Assurance, OOBFactor: s.OOBFactor, ReadReceipt: s.ReadReceipt,
		WrapVersion: 1, Wrapped: wrapped, CiphertextSize: size, CiphertextSHA256: sum,
	}
	if s.Retain > 0 {
		m.RetainUntil = time.Now().Add(s.Retain)
	}
	err = e.Store.PutMessage(ctx, m, bytes.NewReader(ct.Bytes()), func(tx *sql.Tx) error {
		for rcpt, w := range phones {
			if err := store.PutPhoneTx(ctx, tx, id, rcpt, w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sealedMsg{ID: id, Original: s.Original}
}

// browser is an HTTP client with its own cookie jar, as one person's web
// browser. It never follows redirects by itself (see follow).
type browser struct {
	e         *testEnv
	c         *http.Client
	jar       *cookiejar.Jar
	UserAgent string
	// Origin, when set, is sent as the Origin header of POSTs (with
	// Sec-Fetch-Site when SecFetchSite is set too).
	Origin       string
	SecFetchSite string
}

// browser returns a new browser with an empty cookie jar.
func (e *testEnv) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	c := *e.httpClient
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{e: e, c: &c, jar: jar, UserAgent: "sealpost-test-browser/1.0"}
}

// resp is a response, read in full.
type resp struct {
	Status   int
	Header   http.Header
	Body     string
	Location string // the redirect target's path and query, if any
	Cookies  []*http.Cookie
}

// do sends req and reads the response.
func (b *browser) do(t *testing.T, req *http.Request) *resp {
	t.Helper()
	req.Header.Set("User-Agent", b.UserAgent)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &resp{Status: res.StatusCode, Header: res.Header, Body: string(body), Cookies: res.Cookies()}
	if loc := res.Header.Get("Location"); loc != "" {
		u, err := res.Request.URL.Parse(loc)
		if err != nil {
			t.Fatalf("bad Location %q", loc)
		}
		r.Location = u.RequestURI()
	}
	return r
}

// get fetches path (such as "/m/ID").
func (b *browser) get(t *testing.T, path string) *resp {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, testURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, req)
}

// post sends form to path as application/x-www-form-urlencoded.
func (b *browser) post(t *testing.T, path string, form url.Values) *resp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, testURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.setOrigin(req)
	return b.do(t, req)
}

// postJSON sends v as JSON to path (the passkey endpoints).
func (b *browser) postJSON(t *testing.T, path string, v any) *resp {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, testURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	b.setOrigin(req)
	return b.do(t, req)
}

func (b *browser) setOrigin(req *http.Request) {
	if b.Origin != "" {
		req.Header.Set("Origin", b.Origin)
	}
	if b.SecFetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", b.SecFetchSite)
	}
}

// follow follows r's redirects with GETs until a page that is not a
// redirect (at most 10).
func (b *browser) follow(t *testing.T, r *resp) *resp {
	t.Helper()
	for i := 0; i < 10 && r.Status >= 300 && r.Status < 400; i++ {
		r = b.get(t, r.Location)
	}
	return r
}

// cookie returns the value of the named cookie the browser holds, or "".
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(testURL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setCookie puts a cookie in the browser's jar.
func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(testURL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true}})
}

// signIn returns a browser signed in as address at level (store.LevelOOB
// or store.LevelMailbox), created directly in the store: an enrolled
// account (with a placeholder passkey) and a session cookie. Use it where
// the test is about something other than enrolment or login.
func (e *testEnv) signIn(t *testing.T, address, level string) *browser {
	t.Helper()
	ctx := testCtx(t)
	if _, err := e.Store.EnsureAccount(ctx, address, e.now()); err != nil {
		t.Fatal(err)
	}
	acct, err := e.Store.Account(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	if !acct.Enrolled() {
		id := make([]byte, 16)
		rand.Read(id)
		err = e.Store.Enrol(ctx, address, store.Enrolment{
			Level: level, Method: store.MethodPasskey, At: e.now(),
			Passkey: &store.Passkey{CredentialID: id, Address: address, Credential: []byte(`{}`), Created: e.now()},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	token, hash := newToken()
	now := e.now()
	err = e.Store.CreateSession(ctx, &store.Session{
		TokenHash: hash, Address: address, Created: now, LastSeen: now,
		Expires: now.Add(e.Server.cfg.SessionMax), Method: store.MethodPasskey,
	})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.setCookie(e.Server.sessionCookie(), token)
	return b
}

// auditEntries returns the whole audit log as exported for a SIEM.
func (e *testEnv) auditEntries(t *testing.T) []exportedEntry {
	t.Helper()
	var out []exportedEntry
	for _, line := range strings.Split(strings.TrimSpace(e.auditExport(t)), "\n") {
		if line == "" {
			continue
		}
		var x exportedEntry
		if err := json.Unmarshal([]byte(line), &x); err != nil {
			t.Fatalf("audit export line %q: %v", line, err)
		}
		out = append(out, x)
	}
	return out
}

// auditExport returns the audit log's JSON-lines export.
func (e *testEnv) auditExport(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	if err := e.Audit.Export(testCtx(t), &buf, 0); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// exportedEntry is one line of the audit export.
type exportedEntry struct {
	Seq       int64             `json:"seq"`
	Actor     string            `json:"actor"`
	Action    string            `json:"action"`
	MessageID string            `json:"message_id"`
	Detail    map[string]string `json:"detail"`
}

// requireAudit fails unless the log holds an entry with action (and
// message id msgID, when not empty) carrying ip and user_agent, and
// returns the last such entry.
func (e *testEnv) requireAudit(t *testing.T, action, msgID string) exportedEntry {
	t.Helper()
	var found *exportedEntry
	for _, x := range e.auditEntries(t) {
		if x.Action == action && (msgID == "" || x.MessageID == msgID) {
			found = &x
		}
	}
	if found == nil {
		t.Fatalf("no audit entry %s for message %q", action, msgID)
	}
	if found.Detail["ip"] == "" || found.Detail["user_agent"] == "" {
		t.Fatalf("audit entry %s lacks ip or user_agent: %v", action, found.Detail)
	}
	return *found
}

// countAudit counts the entries with action.
func (e *testEnv) countAudit(t *testing.T, action string) int {
	t.Helper()
	n := 0
	for _, x := range e.auditEntries(t) {
		if x.Action == action {
			n++
		}
	}
	return n
}

// requireNoSecrets fails if the audit export or the portal's log holds any
// of secrets (codes, passwords, phone numbers, content).
func (e *testEnv) requireNoSecrets(t *testing.T, secrets ...string) {
	t.Helper()
	export, logs := e.auditExport(t), e.logs()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(export, s) {
			t.Errorf("the audit export holds the secret %q", s)
		}
		if strings.Contains(logs, s) {
			t.Errorf("the portal log holds the secret %q", s)
		}
	}
}

// requirePageHeaders fails unless r carries the page CSP and no-store.
func requirePageHeaders(t *testing.T, what string, r *resp) {
	t.Helper()
	if got := r.Header.Get("Content-Security-Policy"); got != cspPage {
		t.Errorf("%s: CSP %q, want the page CSP", what, got)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", what, got)
	}
}

// fastArgon makes password hashing cheap, for tests only.
func fastArgon(s *Server) { s.auth.argon = argonParams{memory: 64, time: 1, threads: 1} }
