package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/testutil"

	"github.com/emersion/go-message"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/internal/certs"
	"github.com/sealpost/sealpost/internal/postfixtest"
	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// Timeouts of the waits in this package. Generous: the machine is shared.
const (
	startTimeout    = 60 * time.Second // a gateway answering 220 and seeing Vault
	deliverTimeout  = 60 * time.Second // mail reaching the capture next hop
	queueTimeout    = 90 * time.Second // a Postfix queue draining
	logTimeout      = 20 * time.Second // a line appearing in a log
	commandTimeout  = 60 * time.Second // one CLI command
	organisation    = "E2E Trust"
	neutralSubject  = "Secure message from " + organisation
	gatewayHostname = "gw.e2e.test"
)

// plantedPHI are strings planted in test messages that must never appear in
// the clear at the next hop, on the gateway's disk or in its logs. They are
// matched without regard to case.
var plantedPHI = []string{
	"Discharge summary",
	"943 476 5919", "9434765919", // NHS number (valid check digit)
	"Thistlewood",         // patient surname
	"14/03/1961",          // date of birth
	"type 2 diabetes",     // diagnosis
	"HbA1c 48",            // result
	"metformin",           // medication
	"secret-bcc",          // Bcc recipient
	"+447700900123",       // the X-Sealpost-Recipient-Phone value
	"7700900123",          // the same without its prefix
	"Flat 3, 12 Elm Road", // address
}

func checkNoPHI(where string, data []byte) error {
	low := bytes.ToLower(data)
	var errs []error
	for _, s := range plantedPHI {
		if bytes.Contains(low, []byte(strings.ToLower(s))) {
			errs = append(errs, fmt.Errorf("%s contains planted PHI %q", where, s))
		}
	}
	return errors.Join(errs...)
}

func assertNoPHI(t *testing.T, where string, data []byte) {
	t.Helper()
	if err := checkNoPHI(where, data); err != nil {
		t.Error(err)
	}
}

// phiMessage is a CRLF message carrying every planted string: in the
// subject (when subject is ""), in a Bcc header, in the recipient phone
// control header and in the body.
func phiMessage(msgID, subject string, to ...string) string {
	if subject == "" {
		subject = "[secure] Discharge summary"
	}
	lines := []string{
		"From: Dr Example <doctor@example.org>",
		"To: " + strings.Join(to, ", "),
		"Bcc: secret-bcc@example.org",
		"X-Sealpost-Recipient-Phone: +447700900123",
		"Subject: " + subject,
		"Date: Mon, 23 Nov 2026 06:00:00 +0000",
		"Message-ID: <" + msgID + ">",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"Dear colleague,",
		"",
		"Patient: Mrs Margaret Thistlewood, born 14/03/1961,",
		"of Flat 3, 12 Elm Road.",
		"NHS number 943 476 5919 (9434765919).",
		"Diagnosis: type 2 diabetes, HbA1c 48 mmol/mol.",
		"Plan: continue metformin 500 mg twice daily.",
		"",
		"Regards,",
		"Dr Example",
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}

// withoutControlHeaders is what a recipient gets back after opening a
// sealed copy: the original, byte for byte, less Bcc and X-Sealpost-*
// header lines (none of which are folded in these tests).
func withoutControlHeaders(msg string) string {
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	var keep []string
	for _, l := range strings.SplitAfter(head+"\r\n", "\r\n") {
		lower := strings.ToLower(l)
		if l == "" || strings.HasPrefix(lower, "bcc:") || strings.HasPrefix(lower, "x-sealpost-") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "") + "\r\n" + body
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(postfixtest.FreePort(t))
}

// stack is what every test needs around a gateway: a Vault dev server set up
// by `keys.Setup` (usually the package's shared one), a capture next hop over verified STARTTLS, and an age key
// made with the stock age-keygen.
type stack struct {
	vault   *vaulttest.Server
	creds   keys.Credentials
	admin   *keys.Client
	tls     certs.Paths
	capture *capture.Server
	// keyFile is an age identity file written by age-keygen; recipient is
	// its public key.
	keyFile, recipient string
}

// newStack uses the package's shared Vault.
func newStack(t *testing.T) *stack {
	t.Helper()
	return stackWith(t, shared.vault, shared.creds)
}

// newStackOwnVault starts a Vault for this test alone, for a test that stops
// it.
func newStackOwnVault(t *testing.T) *stack {
	t.Helper()
	v := vaulttest.Start(t)
	return stackWith(t, v, vaulttest.Setup(t, v))
}

func stackWith(t *testing.T, v *vaulttest.Server, creds keys.Credentials) *stack {
	t.Helper()
	s := &stack{vault: v, creds: creds}
	s.admin = s.vault.Client(t, s.creds.AdminToken)
	dir := t.TempDir()
	var err error
	s.tls, err = certs.Generate(filepath.Join(dir, "tls"), "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	s.capture = startCapture(t, filepath.Join(dir, "outbox"), &s.tls)

	s.keyFile = filepath.Join(dir, "recipient.key")
	keygen, err := exec.LookPath("age-keygen")
	if err != nil {
		t.Fatal("age-keygen not found: install it with `apt-get install age`")
	}
	if out, err := exec.Command(keygen, "-o", s.keyFile).CombinedOutput(); err != nil {
		t.Fatalf("age-keygen: %v\n%s", err, out)
	}
	key, err := os.ReadFile(s.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^# public key: (age1[0-9a-z]+)$`).FindSubmatch(key)
	if m == nil {
		t.Fatalf("no public key comment in the age-keygen output %s", s.keyFile)
	}
	s.recipient = string(m[1])
	return s
}

// startCapture starts a capture next hop; with paths it requires STARTTLS.
func startCapture(t *testing.T, dir string, paths *certs.Paths) *capture.Server {
	t.Helper()
	cfg := capture.Config{Dir: dir, KeepInMemory: true, Timeout: time.Minute}
	if paths != nil {
		cfg.TLSCert, cfg.TLSKey, cfg.RequireTLS = paths.Cert, paths.Key, true
	}
	c, err := capture.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// register puts the stack's age key in the Vault directory for addr, with
// the admin token, as `sealpost keys recipient add` does.
func (s *stack) register(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.admin.AddRecipient(ctx, addr, s.recipient); err != nil {
		t.Fatalf("failed to register a recipient key: %v", err)
	}
}

// gatewayOpts configures a gateway. The zero value delivers to the stack's
// capture over verified STARTTLS.
type gatewayOpts struct {
	// nextHop and nextHopTLS override the next hop (default: the stack's
	// capture, "verify").
	nextHop, nextHopTLS string
}

// gateway is `sealpost serve` running as a subprocess.
type gateway struct {
	t     *testing.T
	st    *stack
	dir   string // everything the gateway owns lives under it
	cfg   string // the YAML config file
	db    string // the SQLite store
	cp    string // the audit checkpoint
	spool string // spool.dir
	tmp   string // TMPDIR of the process
	logf  string // stderr of every run, appended
	token string // the relay token file
	opts  gatewayOpts
	runs  int // successful starts

	smtp, lmtp, admin, portal string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	traces map[string]string // trace ids answered 250, for the log checks
}

func startGateway(t *testing.T, st *stack, o gatewayOpts) *gateway {
	t.Helper()
	g := newGateway(t, st, o)
	g.start("")
	return g
}

func newGateway(t *testing.T, st *stack, o gatewayOpts) *gateway {
	t.Helper()
	dir := t.TempDir()
	g := &gateway{
		t: t, st: st, opts: o, dir: dir,
		cfg:    filepath.Join(dir, "sealpost.yaml"),
		db:     filepath.Join(dir, "var", "sealpost.db"),
		cp:     filepath.Join(dir, "var", "audit.checkpoint"),
		spool:  filepath.Join(dir, "spool"),
		tmp:    filepath.Join(dir, "tmp"),
		logf:   filepath.Join(dir, "gateway.log"),
		token:  filepath.Join(dir, "relay.token"),
		traces: map[string]string{},
	}
	for _, d := range []string{g.spool, g.tmp, filepath.Join(dir, "var")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(g.token, []byte(st.creds.RelayToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.pickPorts()
	t.Cleanup(g.cleanup)
	return g
}

// pickPorts chooses free loopback ports for the listeners and writes the
// config file with them.
func (g *gateway) pickPorts() {
	g.t.Helper()
	g.smtp, g.lmtp, g.admin, g.portal = freeAddr(g.t), freeAddr(g.t), freeAddr(g.t), freeAddr(g.t)
	hop, hopTLS := g.st.capture.Addr(), "verify"
	if g.opts.nextHop != "" {
		hop, hopTLS = g.opts.nextHop, g.opts.nextHopTLS
	}
	_, portalPort, _ := net.SplitHostPort(g.portal)
	cfg := fmt.Sprintf(`hostname: %s
organisation: %s
relay:
  smtp_listen: %s
  lmtp_listen: %s
  allow_networks: [127.0.0.0/8]
  read_timeout: 1m
  write_timeout: 1m
  process_timeout: 1m
portal:
  listen: %s
  url: http://localhost:%s
admin:
  listen: %s
vault:
  address: %s
  token_file: %s
store:
  path: %s
audit:
  checkpoint_path: %s
  checkpoint_every: 1s
next_hop:
  addr: %s
  tls: %s
  server_name: localhost
  ca_file: %s
  timeout: 20s
log:
  format: json
  level: debug
spool:
  dir: %s
  memory_limit: 1 # every message spills, so spill files are on disk to inspect
`, gatewayHostname, organisation, g.smtp, g.lmtp, g.portal, portalPort, g.admin, g.st.vault.Addr, g.token,
		g.db, g.cp, hop, hopTLS, g.st.tls.CA, g.spool)
	if err := os.WriteFile(g.cfg, []byte(cfg), 0o600); err != nil {
		g.t.Fatal(err)
	}
}

// env is the environment of every sealpost process: the test's own, less
// any Vault or Sealpost settings of the developer's shell.
func (g *gateway) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "SEALPOST_") || strings.HasPrefix(kv, "TMPDIR=") {
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, "TMPDIR="+g.tmp), extra...)
}

// start runs `sealpost serve`, with failpoint armed if not "", and waits
// until SMTP answers 220 and the relay has seen Vault. The first start
// picks new ports if one of them was taken meanwhile; later starts (after a
// crash) keep the ports, since Postfix relays to them.
func (g *gateway) start(failpoint string) {
	g.t.Helper()
	for attempt := 1; ; attempt++ {
		err := g.launch(failpoint)
		if err == nil {
			g.runs++
			return
		}
		if g.runs > 0 || attempt == 3 || !errors.Is(err, errAddrInUse) {
			g.t.Fatalf("%v\n%s", err, g.logTail())
		}
		g.pickPorts()
	}
}

var errAddrInUse = errors.New("a listen address was taken")

func (g *gateway) launch(failpoint string) error {
	g.mu.Lock()
	running := g.cmd != nil
	g.mu.Unlock()
	if running {
		return errors.New("gateway already running")
	}
	logf, err := os.OpenFile(g.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	fi, err := logf.Stat()
	if err != nil {
		return err
	}
	offset := fi.Size()
	var extra []string
	if failpoint != "" {
		extra = append(extra, "SEALPOST_FAILPOINT="+failpoint)
	}
	cmd := exec.Command(sealpostBin, "serve", "--config", g.cfg)
	cmd.Dir = g.dir
	cmd.Env = g.env(extra...)
	cmd.Stdout, cmd.Stderr = logf, logf
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("failed to start sealpost serve: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	g.mu.Lock()
	g.cmd, g.exited = cmd, exited
	g.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		err := testutil.Greet(g.smtp)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway SMTP %s did not answer 220 within %v: %w", g.smtp, startTimeout, err)
		}
		select {
		case <-exited:
			g.mu.Lock()
			g.cmd = nil
			g.mu.Unlock()
			err := fmt.Errorf("gateway exited during start-up (%v)", cmd.ProcessState)
			if strings.Contains(g.log()[offset:], "address already in use") {
				err = fmt.Errorf("%w: %v", errAddrInUse, err)
			}
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !g.waitLog(offset, `"msg":"vault available"`, time.Until(deadline)) {
		return fmt.Errorf("gateway did not report Vault available within %v", startTimeout)
	}
	return nil
}

// log returns everything the gateway has written to stderr.
func (g *gateway) log() string {
	b, _ := os.ReadFile(g.logf)
	return string(b)
}

func (g *gateway) logTail() string {
	l := g.log()
	if len(l) > 8<<10 {
		l = "…" + l[len(l)-8<<10:]
	}
	return l
}

// waitLog waits until the log after offset contains s.
func (g *gateway) waitLog(offset int64, s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if l := g.log(); int64(len(l)) >= offset && strings.Contains(l[offset:], s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logSize is the current length of the log, an offset for waitLog.
func (g *gateway) logSize() int64 {
	fi, err := os.Stat(g.logf)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// running reports whether the process is alive.
func (g *gateway) running() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil {
		return false
	}
	select {
	case <-g.exited:
		return false
	default:
		return true
	}
}

// waitDead waits until the process has exited by itself (a failpoint's
// SIGKILL) and returns how it ended.
func (g *gateway) waitDead(timeout time.Duration) *os.ProcessState {
	g.t.Helper()
	g.mu.Lock()
	cmd, exited := g.cmd, g.exited
	g.mu.Unlock()
	if cmd == nil {
		g.t.Fatal("gateway not started")
	}
	select {
	case <-exited:
	case <-time.After(timeout):
		g.t.Fatalf("gateway still running after %v:\n%s", timeout, g.logTail())
	}
	g.mu.Lock()
	g.cmd = nil
	g.mu.Unlock()
	return cmd.ProcessState
}

// kill sends SIGKILL and waits for the process to go.
func (g *gateway) kill() { g.signal(syscall.SIGKILL) }

// stop asks the gateway to shut down cleanly (SIGTERM) and waits.
func (g *gateway) stop() { g.signal(syscall.SIGTERM) }

func (g *gateway) signal(sig syscall.Signal) {
	g.t.Helper()
	g.mu.Lock()
	cmd, exited := g.cmd, g.exited
	g.cmd = nil
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(40 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		g.t.Errorf("gateway did not exit within 40s of %v", sig)
	}
}

// expectTrace records the trace id of a message the gateway answered 250:
// the log checks require it, with a decision, in the gateway's log.
func (g *gateway) expectTrace(trace string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.traces[trace] = g.t.Name()
}

// cleanup stops the gateway and checks its log (test 8 for this gateway;
// TestMain repeats the check over every gateway's log together).
func (g *gateway) cleanup() {
	g.stop()
	log := g.log()
	g.mu.Lock()
	traces := make(map[string]string, len(g.traces))
	for k, v := range g.traces {
		traces[k] = v
	}
	g.mu.Unlock()
	book.add(log, traces)
	if err := checkNoPHI("gateway log", []byte(log)); err != nil {
		g.t.Error(err)
	}
	decisions := decisionsByTrace(log)
	for tr := range traces {
		if len(decisions[tr]) == 0 {
			g.t.Errorf("trace id %s was answered 250 but has no log line with a decision", tr)
		}
	}
	if g.t.Failed() {
		g.t.Logf("gateway log (%s):\n%s", g.logf, g.logTail())
	}
}

// sealpost runs a sealpost CLI command against this gateway's config, with
// extra environment, and returns stdout, stderr and the exit code.
func (g *gateway) sealpost(env []string, args ...string) (stdout, stderr string, code int) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, sealpostBin, args...)
	cmd.Dir = g.dir
	cmd.Env = g.env(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		g.t.Fatalf("failed to run sealpost %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// sqlite runs SQL on the gateway's store with the sqlite3 CLI.
func (g *gateway) sqlite(sql string) string {
	g.t.Helper()
	bin, err := exec.LookPath("sqlite3")
	if err != nil {
		g.t.Fatal("sqlite3 not found: install it with `apt-get install sqlite3`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-batch", g.db, sql).CombinedOutput()
	if err != nil {
		g.t.Fatalf("sqlite3 %q: %v\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (g *gateway) sqliteInt(sql string) int {
	g.t.Helper()
	s := g.sqlite(sql)
	n, err := strconv.Atoi(s)
	if err != nil {
		g.t.Fatalf("sqlite3 %q: not a number: %q", sql, s)
	}
	return n
}

// scanDiskForPHI reads every file the gateway may have written (its whole
// directory: store, WAL, checkpoint, spool and temp dir) as raw bytes.
// It returns how many files it read.
func (g *gateway) scanDiskForPHI(t *testing.T) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(g.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || p == g.logf {
			return nil // the log has its own check
		}
		b, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // a spill file removed while we walked
			}
			return err
		}
		n++
		assertNoPHI(t, p, b)
		return nil
	})
	if err != nil {
		t.Fatalf("failed to scan %s: %v", g.dir, err)
	}
	return n
}

// swaksResult is one swaks run.
type swaksResult struct {
	out   string
	err   error
	trace string // from the final 250 reply, "" if none
}

var traceRE = regexp.MustCompile(`250 2\.0\.0 Message accepted \[([0-9a-f]{16})\]`)

// swaks sends the exact bytes of msg to addr with `swaks --data @file`.
// --no-data-fixup makes swaks send the file as it is (no token
// substitution, no header rewriting), so the file ends in the terminating
// dot line that swaks would otherwise add.
func swaks(t *testing.T, addr, from string, to []string, msg string) swaksResult {
	t.Helper()
	file := filepath.Join(t.TempDir(), "message.eml")
	if err := os.WriteFile(file, []byte(msg+"."), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	out, err := postfixtest.Swaks(t, "--server", host, "--port", port, "--helo", "client.e2e.test",
		"--from", from, "--to", strings.Join(to, ","), "--data", "@"+file, "--no-data-fixup",
		"--timeout", "120")
	r := swaksResult{out: out, err: err}
	if m := traceRE.FindStringSubmatch(out); m != nil {
		r.trace = m[1]
	}
	return r
}

// walkParts calls f with every decoded header field and every decoded body
// of a MIME message, at any depth.
func walkParts(t *testing.T, raw []byte, f func(where string, data []byte)) {
	t.Helper()
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		t.Fatalf("delivered copy does not parse: %v", err)
	}
	var walk func(e *message.Entity, path string)
	walk = func(e *message.Entity, path string) {
		fields := e.Header.Fields()
		for fields.Next() {
			v, err := fields.Text()
			if err != nil {
				v = fields.Value()
			}
			f(path+" header "+fields.Key(), []byte(v))
		}
		if mr := e.MultipartReader(); mr != nil {
			for i := 0; ; i++ {
				p, err := mr.NextPart()
				if err == io.EOF {
					return
				}
				if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
					t.Fatalf("%s: part %d: %v", path, i, err)
				}
				walk(p, fmt.Sprintf("%s/%d", path, i))
			}
		}
		b, err := io.ReadAll(e.Body)
		if err != nil {
			t.Fatalf("%s: body: %v", path, err)
		}
		f(path+" body", b)
	}
	walk(ent, "message")
}

// header returns a header field of a raw message.
func header(t *testing.T, raw []byte, key string) string {
	t.Helper()
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		t.Fatalf("message does not parse: %v", err)
	}
	v, err := ent.Header.Text(key)
	if err != nil {
		return ent.Header.Get(key)
	}
	return v
}

func isSealed(raw []byte) bool {
	return bytes.Contains(raw, []byte("message.eml.age"))
}

// openSealed runs `sealpost extract FILE.eml | age -d -i KEY`, the stock
// tools a recipient with a registered key uses, and returns the plaintext.
func openSealed(t *testing.T, emlPath, keyFile string) []byte {
	t.Helper()
	ageBin, err := exec.LookPath("age")
	if err != nil {
		t.Fatal("age not found: install it with `apt-get install age`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	extract := exec.CommandContext(ctx, sealpostBin, "extract", emlPath)
	decrypt := exec.CommandContext(ctx, ageBin, "-d", "-i", keyFile)
	pipe, err := extract.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	decrypt.Stdin = pipe
	var plain, extractErr, ageErr bytes.Buffer
	extract.Stderr, decrypt.Stdout, decrypt.Stderr = &extractErr, &plain, &ageErr
	if err := extract.Start(); err != nil {
		t.Fatal(err)
	}
	if err := decrypt.Start(); err != nil {
		t.Fatal(err)
	}
	errD := decrypt.Wait()
	errE := extract.Wait()
	if errE != nil {
		t.Fatalf("sealpost extract %s: %v\n%s", emlPath, errE, extractErr.String())
	}
	if errD != nil {
		t.Fatalf("age -d: %v\n%s", errD, ageErr.String())
	}
	return plain.Bytes()
}

// waitDeliveries waits until the capture holds at least n messages.
func waitDeliveries(t *testing.T, c *capture.Server, n int) []capture.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deliverTimeout)
	defer cancel()
	ds, err := c.WaitDeliveries(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// postfixTraces returns the gateway trace ids in Postfix's log lines for
// mail it handed over with status=sent.
var postfixSentRE = regexp.MustCompile(`status=sent \(250 2\.0\.0 Message accepted \[([0-9a-f]{16})\]\)`)

func postfixTraces(log string) []string {
	var out []string
	for _, m := range postfixSentRE.FindAllStringSubmatch(log, -1) {
		out = append(out, m[1])
	}
	return out
}

// waitPostfixLog waits until the Postfix mail log matches re at least n
// times, and returns the log.
func waitPostfixLog(t *testing.T, pf *postfixtest.Instance, re *regexp.Regexp, n int) string {
	t.Helper()
	deadline := time.Now().Add(logTimeout)
	for {
		log := pf.Log(t)
		if len(re.FindAllStringIndex(log, -1)) >= n {
			return log
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix log has fewer than %d lines matching %s after %v:\n%s", n, re, logTimeout, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
