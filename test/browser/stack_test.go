package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // notices and codes may use any charset

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/gateway/lifecycle"
	"github.com/sealpost/sealpost/gateway/node"
	"github.com/sealpost/sealpost/gateway/store"
	harness "github.com/sealpost/sealpost/internal/browser"
	"github.com/sealpost/sealpost/internal/certs"
	"github.com/sealpost/sealpost/internal/testutil"
	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// Waits, generous: the machine has 2 cores and other work runs on it.
const (
	mailTimeout   = 60 * time.Second // a message reaching the capture next hop
	browseTimeout = 45 * time.Second // one browser step
	expiryTimeout = 60 * time.Second // the retention sweep shredding a message
)

// Names the stack uses.
const (
	organisation = "Riverside Clinic"
	portalFrom   = "secure@sealpost.test"
	doctor       = "doctor@clinic.example"
	reminders    = "reminders@clinic.example" // the policy seals its mail with mailbox assurance
	results      = "results@clinic.example"   // the policy seals its mail with a short retention
	shortRetain  = 3 * time.Second
)

// testPolicy is the stack's policy: two sender rules that set the
// assurance and the retention, then the usual subject tag and PHI rules.
const testPolicy = `version: 1
mode: enforce
internal_domains: [clinic.example]
subject_tags: ["[secure]"]
defaults:
  assurance: oob
  oob_factor: any
  retention: 30d
rules:
  - name: appointment-reminders
    description: Reminders need only the mailbox (lower assurance).
    when: { sender: [reminders@clinic.example] }
    action: seal
    assurance: mailbox
  - name: short-lived-results
    description: Results that may be read for a few seconds only.
    when: { sender: [results@clinic.example] }
    action: seal
    retention: 3s
  - name: sender-asked-to-seal
    when: { subject_tag: true }
    action: seal
  - name: patient-health-information
    when: { detector: [{name: phi, min_score: 0.5}] }
    action: seal
default: pass
`

// stack is one Sealpost node with everything around it.
type stack struct {
	node      *node.Node
	capture   *capture.Server
	portal    string // http://localhost:PORT, the recording proxy in front of the portal
	proxy     *requestLog
	sms       *smsSink
	remote    *requestLog // a "remote" server that hostile HTML points at
	remoteURL string      // http://127.0.0.1:PORT
	admin     *keys.Client
	life      *lifecycle.Manager

	mu      sync.Mutex
	checked map[string]bool // pages that axe-core has checked
	session map[string]string
	msgs    map[string]string // message ids that later journeys use, by name
}

// requestLog records the requests a server received.
type requestLog struct {
	mu   sync.Mutex
	reqs []string // "METHOD /path?query"
}

func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.RequestURI())
}

// all returns the requests so far.
func (l *requestLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

// matching returns the requests whose text contains sub, case-insensitively.
func (l *requestLog) matching(sub string) []string {
	var out []string
	for _, r := range l.all() {
		if strings.Contains(strings.ToLower(r), strings.ToLower(sub)) {
			out = append(out, r)
		}
	}
	return out
}

// smsSink is the SMS webhook: it records each {"to", "text"} it is given.
type smsSink struct {
	mu   sync.Mutex
	msgs []smsMessage
}

type smsMessage struct {
	To   string `json:"to"`
	Text string `json:"text"`
}

func (s *smsSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m smsMessage
	if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&m) != nil {
		http.Error(w, "want a JSON POST", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (s *smsSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// waitAfter waits for an SMS after the first n and returns it.
func (s *smsSink) waitAfter(t *testing.T, n int) smsMessage {
	t.Helper()
	deadline := time.Now().Add(mailTimeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		if len(s.msgs) > n {
			m := s.msgs[n]
			s.mu.Unlock()
			return m
		}
		s.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no SMS reached the webhook within %v", mailTimeout)
	return smsMessage{}
}

// startStack starts Vault, the capture next hop, the SMS webhook, the
// remote server, the recording proxy and the node, all for the rest of t.
func startStack(t *testing.T) *stack {
	t.Helper()
	dir := t.TempDir()
	s := &stack{proxy: &requestLog{}, remote: &requestLog{}, sms: &smsSink{},
		checked: map[string]bool{}, session: map[string]string{}, msgs: map[string]string{}}

	v := vaulttest.Start(t)
	creds := vaulttest.Setup(t, v)
	s.admin = v.Client(t, creds.AdminToken)

	hopTLS, err := certs.Generate(filepath.Join(dir, "hop-tls"), "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	s.capture, err = capture.Start(capture.Config{
		Dir: filepath.Join(dir, "outbox"), TLSCert: hopTLS.Cert, TLSKey: hopTLS.Key, RequireTLS: true,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.capture.Close() })

	smsSrv := httptest.NewServer(s.sms)
	t.Cleanup(smsSrv.Close)
	remoteSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.remote.add(r)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(remoteSrv.Close)
	s.remoteURL = remoteSrv.URL

	// The proxy listens first, so that the portal's URL (the WebAuthn
	// origin and the notices' links) names its port; it forwards to the
	// portal once the node has started, keeping the Host header.
	var target *url.URL
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
	}}
	proxySrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.proxy.add(r)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxySrv.Close)
	s.portal = harness.LocalURL(proxySrv.URL)
	if !strings.HasPrefix(s.portal, "http://localhost:") {
		t.Fatalf("portal URL %q is not http://localhost:PORT", s.portal)
	}

	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte(testPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Hostname:     "sealpost.test",
		Organisation: organisation,
		Relay:        config.Relay{SMTPListen: "127.0.0.1:0", LMTPListen: "127.0.0.1:0"},
		Portal: config.Portal{
			Listen: "127.0.0.1:0", URL: s.portal, From: portalFrom,
			Vault: config.PortalVault{Token: creds.PortalToken},
			SMS:   config.PortalSMS{WebhookURL: smsSrv.URL},
		},
		Admin:     config.Admin{Listen: "127.0.0.1:0"},
		Vault:     config.Vault{Address: v.Addr, Token: creds.RelayToken},
		Store:     config.Store{Path: filepath.Join(dir, "sealpost.db")},
		Audit:     config.Audit{CheckpointPath: filepath.Join(dir, "audit.checkpoint")},
		Policy:    config.Policy{Path: policyFile},
		NextHop:   config.NextHop{Addr: s.capture.Addr(), TLS: "verify", ServerName: "localhost", CAFile: hopTLS.CA},
		Spool:     config.Spool{Dir: filepath.Join(dir, "spool")},
		Retention: config.Retention{SweepEvery: time.Second},
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the stack's config does not validate: %v", err)
	}
	// The context of Start is the node's life: its background jobs (the
	// retention sweep among them) stop when it ends. Close ends it.
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s.node, err = node.Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.node.Close(); err != nil {
			t.Errorf("node Close: %v", err)
		}
	})
	if s.node.PortalAddr == "" {
		t.Fatal("the node runs no portal")
	}
	target = &url.URL{Scheme: "http", Host: s.node.PortalAddr}

	s.life, err = lifecycle.New(lifecycle.Deps{Store: s.node.Store, Audit: s.node.Audit, Keys: s.admin,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// url returns the portal URL of path.
func (s *stack) url(path string) string { return s.portal + path }

// delivery is one message at the capture next hop, read from its .eml file.
type delivery struct {
	capture.Delivery
	raw []byte
}

// deliveries returns how many messages reached the next hop so far.
func (s *stack) deliveries() int { return len(s.capture.Deliveries()) }

// waitDelivery polls the outbox for a message delivered to rcpt after the
// first n deliveries, for which match (if not nil) holds.
func (s *stack) waitDelivery(t *testing.T, n int, rcpt string, match func(d delivery) bool) delivery {
	t.Helper()
	deadline := time.Now().Add(mailTimeout)
	for time.Now().Before(deadline) {
		ds := s.capture.Deliveries()
		for _, d := range ds[min(n, len(ds)):] {
			if !slices.Contains(d.To, rcpt) {
				continue
			}
			raw, err := os.ReadFile(d.Path)
			if err != nil {
				t.Fatalf("failed to read %s from the outbox: %v", d.Path, err)
			}
			dd := delivery{Delivery: d, raw: raw}
			if match == nil || match(dd) {
				return dd
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no message for %s reached the capture next hop within %v", rcpt, mailTimeout)
	return delivery{}
}

// send sends msg into the relay and returns the id of the message sealed
// for rcpt, read from the link in the notice that reached the next hop.
// It checks that none of the secrets reached the next hop in the clear.
func (s *stack) send(t *testing.T, from, rcpt, msg string, secrets ...string) string {
	t.Helper()
	n := s.deliveries()
	if err := testutil.SendMail(s.node.SMTPAddr, from, rcpt, msg); err != nil {
		t.Fatalf("the relay refused the message to %s: %v", rcpt, err)
	}
	d := s.waitDelivery(t, n, rcpt, nil)
	for _, sec := range secrets {
		if bytes.Contains(d.raw, []byte(sec)) {
			t.Errorf("the notice for %s carries %q in the clear", rcpt, sec)
		}
	}
	return s.noticeID(t, d)
}

// noticeID parses the portal link out of the text part of a notice and
// returns the message id in it.
func (s *stack) noticeID(t *testing.T, d delivery) string {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(s.portal) + `/m/([A-Za-z0-9._-]+)`)
	var id string
	text := textParts(t, d.raw)
	if m := link.FindStringSubmatch(text); m != nil {
		id = m[1]
	}
	if id == "" {
		t.Fatalf("the message delivered to %v is not a notice with a link to %s/m/ID:\n%s", d.To, s.portal, d.raw)
	}
	return id
}

// textParts returns the decoded text/plain parts of a message, joined.
func textParts(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		t.Fatalf("failed to parse a delivered message: %v", err)
	}
	var out strings.Builder
	err = m.Walk(func(_ []int, e *message.Entity, err error) error {
		if err != nil && !message.IsUnknownCharset(err) {
			return err
		}
		if mt, _, _ := e.Header.ContentType(); mt == "text/plain" {
			b, err := io.ReadAll(e.Body)
			if err != nil {
				return err
			}
			out.Write(b)
			out.WriteString("\n")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("failed to read a delivered message: %v", err)
	}
	return out.String()
}

// mailboxCode waits for the portal's code mail to address after the first
// n deliveries and returns the 8-digit code in it.
func (s *stack) mailboxCode(t *testing.T, address string, n int) string {
	t.Helper()
	d := s.waitDelivery(t, n, address, func(d delivery) bool { return d.From == portalFrom })
	text := textParts(t, d.raw)
	m := regexp.MustCompile(`\b(\d{4}) ?(\d{4})\b`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("the code mail to %s holds no 8-digit code:\n%s", address, text)
	}
	if strings.Contains(text, "/m/") {
		t.Errorf("the code mail names a message:\n%s", text)
	}
	return m[1] + m[2]
}

// enrolmentCode is what an admin reads with `sealpost message show`: the
// enrolment code of (id, rcpt), computed with the admin Vault token.
func (s *stack) enrolmentCode(t *testing.T, id, rcpt string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := s.admin.EnrollmentCode(ctx, id, rcpt)
	if err != nil {
		t.Fatalf("admin EnrollmentCode: %v", err)
	}
	return code
}

// message returns the store's record of id.
func (s *stack) message(t *testing.T, id string) *store.Message {
	t.Helper()
	m, err := s.node.Store.GetMessage(context.Background(), id)
	if err != nil {
		t.Fatalf("GetMessage(%s): %v", id, err)
	}
	return m
}

// remember keeps a value for later journeys.
func (s *stack) remember(kind, name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == "session" {
		s.session[name] = value
	} else {
		s.msgs[name] = value
	}
}

// recall returns what an earlier journey remembered, or fails t naming the
// journey to run first.
func (s *stack) recall(t *testing.T, kind, name, journey string) string {
	t.Helper()
	s.mu.Lock()
	v := s.msgs[name]
	if kind == "session" {
		v = s.session[name]
	}
	s.mu.Unlock()
	if v == "" {
		t.Fatalf("this journey needs the %s %q of the %s journey, which did not complete: run the whole TestPortal", kind, name, journey)
	}
	return v
}
