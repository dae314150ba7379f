package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/internal/failpoint"
	"github.com/sealpost/sealpost/internal/postfixtest"
)

// Test 1: swaks straight to the gateway; a [secure] message with planted PHI
// reaches the next hop once, as ciphertext only, leaves no plaintext on the
// gateway's disk, and opens with the stock tools to exactly what was sent
// less Bcc and the X-Sealpost-* control headers.
func TestSwaksMessageIsSealedAndOpensWithAgeCLI(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	g := startGateway(t, st, gatewayOpts{})
	st.register(t, "patient@example.net")
	msg := phiMessage("discharge-1@example.org", "", "Patient <patient@example.net>")

	// Hold the next hop's reply so that the gateway's spool files (the
	// received message, the ciphertext, the sealed copy) exist while we
	// read them.
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Fatal("swaks not found: install it with `apt-get install swaks`")
	}
	st.capture.HoldData()
	done := make(chan swaksResult, 1)
	go func() { done <- swaks(t, g.smtp, "doctor@example.org", []string{"patient@example.net"}, msg) }()
	ctx, cancel := context.WithTimeout(context.Background(), deliverTimeout)
	defer cancel()
	if err := st.capture.WaitHeld(ctx, 1); err != nil {
		t.Fatalf("the sealed copy never reached the next hop: %v\n%s", err, g.logTail())
	}
	spills, _ := filepath.Glob(filepath.Join(g.spool, "sealpost-spool-*"))
	if len(spills) == 0 {
		t.Errorf("no spool files in %s while the message was in flight (memory_limit is 1 byte)", g.spool)
	}
	g.scanDiskForPHI(t)
	st.capture.ReleaseData()
	r := <-done
	if r.err != nil || r.trace == "" {
		t.Fatalf("swaks: %v (trace %q)\n%s", r.err, r.trace, r.out)
	}
	g.expectTrace(r.trace)

	ds := st.capture.Deliveries()
	if len(ds) != 1 {
		t.Fatalf("capture has %d messages, want exactly 1", len(ds))
	}
	d := ds[0]
	if d.From != "doctor@example.org" || len(d.To) != 1 || d.To[0] != "patient@example.net" || !d.TLS {
		t.Errorf("envelope not kept, or not over TLS: from %q to %q tls %v", d.From, d.To, d.TLS)
	}
	assertNoPHI(t, "raw delivered copy", d.Data)
	parts := 0
	walkParts(t, d.Data, func(where string, data []byte) {
		parts++
		assertNoPHI(t, where, data)
	})
	if parts < 3 {
		t.Errorf("walked only %d headers and bodies of the delivered copy", parts)
	}
	if got := header(t, d.Data, "Subject"); got != neutralSubject {
		t.Errorf("delivered subject %q, want %q", got, neutralSubject)
	}
	if got := header(t, d.Data, "Message-Id"); got != "<discharge-1@example.org>" {
		t.Errorf("delivered Message-Id %q, want the original", got)
	}
	if !isSealed(d.Data) {
		t.Fatal("delivered copy has no message.eml.age")
	}

	// Nothing on the gateway's disk: the store and its WAL (while the
	// gateway still runs, so the WAL is there), the checkpoint, spool and
	// temp directories.
	for _, p := range []string{g.db, g.db + "-wal"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("expected %s to exist: %v", p, err)
		}
	}
	if n := g.scanDiskForPHI(t); n < 3 {
		t.Errorf("scanned only %d files under %s", n, g.dir)
	}

	got := openSealed(t, d.Path, st.keyFile)
	if want := withoutControlHeaders(msg); string(got) != want {
		t.Fatalf("age -d gave\n%q\nwant\n%q", got, want)
	}
}

// checkBurst checks a burst of n tagged and n untagged smtp-source messages
// (recipients made unique by -N) at the capture: each exactly once, the
// tagged ones sealed with the neutral subject, the others passed with the
// original subject and Sealpost's Received header (with the protocol given).
// It returns the trace ids found in Sealpost's Received headers.
func checkBurst(t *testing.T, ds []capture.Delivery, n int, sealedRcpt, plainRcpt, plainSubject, proto string) []string {
	t.Helper()
	count := map[string]int{}
	sealed, passed := 0, 0
	var traces []string
	receivedRE := regexp.MustCompile(`by ` + regexp.QuoteMeta(gatewayHostname) + ` \(Sealpost\) with ` + proto + ` id ([0-9a-f]{16});`)
	for _, d := range ds {
		if len(d.To) != 1 {
			t.Errorf("a copy for %d recipients, want 1 (smtp-source sends one per message)", len(d.To))
			continue
		}
		rc := d.To[0]
		count[rc]++
		switch {
		case strings.HasSuffix(rc, sealedRcpt):
			sealed++
			if !isSealed(d.Data) {
				t.Errorf("tagged message to %s was not sealed", rc)
			}
			if s := header(t, d.Data, "Subject"); s != neutralSubject {
				t.Errorf("sealed copy to %s has subject %q", rc, s)
			}
			if bytes.Contains(d.Data, []byte("[secure]")) {
				t.Errorf("sealed copy to %s carries the original subject", rc)
			}
		case strings.HasSuffix(rc, plainRcpt):
			passed++
			if isSealed(d.Data) {
				t.Errorf("untagged message to %s was sealed", rc)
			}
			if s := header(t, d.Data, "Subject"); s != plainSubject {
				t.Errorf("passed copy to %s has subject %q, want %q", rc, s, plainSubject)
			}
			m := receivedRE.FindSubmatch(d.Data)
			if m == nil {
				t.Errorf("passed copy to %s has no Sealpost Received header with %s", rc, proto)
				continue
			}
			traces = append(traces, string(m[1]))
		default:
			t.Errorf("unexpected recipient %s", rc)
		}
	}
	for rc, c := range count {
		if c != 1 {
			t.Errorf("%s received %d copies, want exactly 1", rc, c)
		}
	}
	if sealed != n || passed != n || len(count) != 2*n {
		t.Errorf("got %d sealed and %d passed copies for %d distinct recipients, want %d, %d and %d",
			sealed, passed, len(count), n, n, 2*n)
	}
	return traces
}

// sendBurst runs two smtp-source runs at once, n tagged and n untagged
// messages, each with 4 parallel sessions and a unique recipient (-N).
func sendBurst(t *testing.T, addr string, n int, sealedRcpt, plainRcpt, plainSubject string) {
	t.Helper()
	t.Run("smtp-source", func(t *testing.T) {
		t.Run("tagged", func(t *testing.T) {
			t.Parallel()
			postfixtest.SMTPSource(t, addr, n, 2, 4, "doctor@example.org", sealedRcpt, "-N", "-S", "[secure] Lab results")
		})
		t.Run("untagged", func(t *testing.T) {
			t.Parallel()
			postfixtest.SMTPSource(t, addr, n, 2, 4, "office@example.org", plainRcpt, "-N", "-S", plainSubject)
		})
	})
	if t.Failed() {
		t.FailNow()
	}
}

// Test 2: Postfix with the gateway as relayhost; a burst of 100 messages,
// half tagged, arrives exactly once each, sealed or passed as tagged.
func TestPostfixRelayhostBurst(t *testing.T) {
	st := newStack(t)
	g := startGateway(t, st, gatewayOpts{})
	pf := postfixtest.Start(t, postfixtest.Options{Mode: postfixtest.RelayHost, Gateway: g.smtp})
	const n = 50
	sendBurst(t, pf.SMTPAddr, n, "sealed@example.net", "plain@example.net", "Weekly rota")
	pf.WaitQueueEmpty(t, queueTimeout)

	ds := st.capture.Deliveries()
	if len(ds) != 2*n {
		t.Errorf("capture has %d messages after the queue drained, want %d", len(ds), 2*n)
	}
	for _, d := range ds {
		if !d.TLS {
			t.Fatal("a copy reached the next hop without TLS")
		}
	}
	receivedTraces := checkBurst(t, ds, n, "sealed@example.net", "plain@example.net", "Weekly rota", "ESMTP")

	// Postfix logs the gateway's 250 reply, trace id included, per message.
	log := waitPostfixLog(t, pf, postfixSentRE, 2*n)
	traces := postfixTraces(log)
	seen := map[string]bool{}
	for _, tr := range traces {
		seen[tr] = true
		g.expectTrace(tr)
	}
	if len(seen) != 2*n {
		t.Errorf("Postfix logged %d distinct gateway trace ids for %d messages", len(seen), 2*n)
	}
	for _, tr := range receivedTraces {
		if !seen[tr] {
			t.Errorf("trace %s of a Received header is not in a 250 reply Postfix logged", tr)
		}
	}
}

// Test 3: Postfix with the gateway as LMTP content_filter, the gateway
// re-injecting into Postfix, which relays to the capture.
func TestPostfixLMTPContentFilterBurst(t *testing.T) {
	st := newStack(t)
	// Postfix's next hop after the filter: plain SMTP, as Postfix's own
	// smtp client is configured by postfixtest.
	out := startCapture(t, filepath.Join(t.TempDir(), "outbox"), nil)
	reinject := postfixtest.FreePort(t)
	// The gateway's next hop is Postfix's own re-injection smtpd on
	// loopback (README: "a second smtpd on 127.0.0.1:10025 ... for
	// re-injection"). That hop never leaves the machine and offers no TLS,
	// so tls: none is the explicit opt-out here, and only here; every other
	// test delivers over verified STARTTLS.
	g := startGateway(t, st, gatewayOpts{nextHop: fmt.Sprintf("127.0.0.1:%d", reinject), nextHopTLS: "none"})
	pf := postfixtest.Start(t, postfixtest.Options{
		Mode: postfixtest.ContentFilterLMTP, Gateway: g.lmtp, NextHop: out.Addr(), ReinjectPort: reinject,
	})
	const n = 20
	sendBurst(t, pf.SMTPAddr, n, "sealed@example.net", "plain@example.net", "Clinic hours")
	pf.WaitQueueEmpty(t, queueTimeout)

	ds := out.Deliveries()
	if len(ds) != 2*n {
		t.Errorf("capture has %d messages after the queue drained, want %d", len(ds), 2*n)
	}
	traces := checkBurst(t, ds, n, "sealed@example.net", "plain@example.net", "Clinic hours", "LMTP")
	// LMTP success replies carry no trace id; the passed copies' Received
	// headers and the store's records of the sealed ones do.
	for _, tr := range traces {
		g.expectTrace(tr)
	}
	sealedTraces := strings.Fields(g.sqlite("SELECT trace_id FROM messages"))
	if len(sealedTraces) != n {
		t.Errorf("store has %d sealed messages, want %d", len(sealedTraces), n)
	}
	for _, tr := range sealedTraces {
		g.expectTrace(tr)
	}
	if len(st.capture.Deliveries()) != 0 {
		t.Error("mail bypassed Postfix's re-injection")
	}
	if !strings.Contains(pf.Log(t), "postfix/"+postfixtest.FilterTransport) {
		t.Error("Postfix's log shows no delivery through the LMTP filter transport")
	}
}

// Test 4: with the next hop down the gateway answers 4xx, Postfix keeps the
// message queued, and once the next hop is back it arrives exactly once.
func TestNextHopDownKeepsMailQueuedInPostfix(t *testing.T) {
	st := newStack(t)
	g := startGateway(t, st, gatewayOpts{})
	pf := postfixtest.Start(t, postfixtest.Options{Mode: postfixtest.RelayHost, Gateway: g.smtp})
	if err := st.capture.Down(); err != nil {
		t.Fatal(err)
	}
	msg := phiMessage("hop-down-1@example.org", "", "patient@example.net")
	if r := swaks(t, pf.SMTPAddr, "doctor@example.org", []string{"patient@example.net"}, msg); r.err != nil {
		t.Fatalf("Postfix refused the message: %v\n%s", r.err, r.out)
	}
	deferred := regexp.MustCompile(`status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 4[0-9][0-9] 4\.[0-9]+\.[0-9]+ [^\n]*\[[0-9a-f]{16}\]`)
	waitPostfixLog(t, pf, deferred, 1)
	if n := pf.QueueLen(t); n < 1 {
		t.Fatalf("Postfix queue holds %d messages after the gateway's 4xx, want the message", n)
	}
	if n := len(st.capture.Deliveries()); n != 0 {
		t.Fatalf("capture has %d messages while it was down", n)
	}

	if err := st.capture.Up(); err != nil {
		t.Fatal(err)
	}
	pf.Flush(t)
	pf.WaitQueueEmpty(t, queueTimeout)
	ds := st.capture.Deliveries()
	if len(ds) != 1 {
		t.Fatalf("capture has %d messages after the retry, want exactly 1", len(ds))
	}
	if !isSealed(ds[0].Data) {
		t.Error("the retried message was not sealed")
	}
	assertNoPHI(t, "delivered copy", ds[0].Data)
	for _, tr := range postfixTraces(waitPostfixLog(t, pf, postfixSentRE, 1)) {
		g.expectTrace(tr)
	}
}

// Test 5: the gateway is killed (SIGKILL) at each stage of the message path
// while Postfix relays through it. After a restart without the failpoint and
// Postfix's retry, each recipient has exactly one copy, and it opens.
func TestKillAtEveryStageLosesNothingAndSendsOnce(t *testing.T) {
	st := newStack(t)
	// The Vault directory is shared by the package: an address of this
	// test's own.
	st.register(t, "kill-patient@example.net")
	for _, fp := range []string{failpoint.MidData, failpoint.AfterSpool, failpoint.AfterStore, failpoint.AfterDeliver} {
		t.Run(fp, func(t *testing.T) {
			t.Parallel()
			c := startCapture(t, filepath.Join(t.TempDir(), "outbox"), &st.tls)
			g := newGateway(t, st, gatewayOpts{nextHop: c.Addr(), nextHopTLS: "verify"})
			g.start(fp)
			pf := postfixtest.Start(t, postfixtest.Options{Mode: postfixtest.RelayHost, Gateway: g.smtp})

			// Two recipients in one message, sealed as one group: after the
			// crash at after-deliver, only the ledger stops a second copy.
			msgID := "kill-" + fp + "@example.org"
			rcpts := []string{"kill-patient@example.net", "gp@clinic.example"}
			msg := phiMessage(msgID, "", rcpts...)
			if r := swaks(t, pf.SMTPAddr, "doctor@example.org", rcpts, msg); r.err != nil {
				t.Fatalf("Postfix refused the message: %v\n%s", r.err, r.out)
			}
			state := g.waitDead(deliverTimeout)
			if ws, ok := state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("gateway ended with %v, want SIGKILL from the %s failpoint", state, fp)
			}
			if n := pf.QueueLen(t); n < 1 {
				t.Fatalf("Postfix dropped the message when the gateway died (queue %d)", n)
			}
			wantBefore := 0
			if fp == failpoint.AfterDeliver {
				wantBefore = 1 // delivered and recorded in the ledger, then killed before the 250
			}
			if n := len(c.Deliveries()); n != wantBefore {
				t.Fatalf("capture has %d messages at the crash, want %d", n, wantBefore)
			}

			g.start("")
			pf.Flush(t)
			pf.WaitQueueEmpty(t, queueTimeout)

			perRcpt := map[string]int{}
			var sealed []capture.Delivery
			for _, d := range c.Deliveries() {
				if header(t, d.Data, "Message-Id") != "<"+msgID+">" {
					continue
				}
				sealed = append(sealed, d)
				for _, rc := range d.To {
					perRcpt[rc]++
				}
			}
			for _, rc := range rcpts {
				if perRcpt[rc] != 1 {
					t.Errorf("%s received %d copies, want exactly 1", rc, perRcpt[rc])
				}
			}
			if len(perRcpt) != len(rcpts) {
				t.Errorf("copies went to %v, want %v", perRcpt, rcpts)
			}
			for _, d := range sealed {
				assertNoPHI(t, "delivered copy", d.Data)
				plain := string(openSealed(t, d.Path, st.keyFile))
				if !strings.Contains(plain, "Message-ID: <"+msgID+">\r\n") ||
					!strings.HasSuffix(plain, msg[strings.Index(msg, "\r\n\r\n"):]) {
					t.Errorf("age -d does not give back the original message:\n%q", plain)
				}
				if strings.Contains(plain, "secret-bcc") {
					t.Error("the sealed original still has its Bcc header")
				}
			}
			if fp == failpoint.AfterDeliver && !strings.Contains(g.log(), `"decision":"duplicate"`) {
				t.Error("the retry after the crash was not answered from the ledger")
			}
			for _, tr := range postfixTraces(waitPostfixLog(t, pf, postfixSentRE, 1)) {
				g.expectTrace(tr)
			}
		})
	}
}

// Test 6: with Vault stopped, a [secure] message gets 451 and nothing
// reaches the next hop.
func TestVaultStoppedDefersWith451(t *testing.T) {
	st := newStackOwnVault(t)
	g := startGateway(t, st, gatewayOpts{})
	off := g.logSize()
	st.vault.Stop(t)
	if !g.waitLog(off, `"msg":"vault unavailable`, logTimeout) {
		t.Fatalf("gateway did not notice Vault stopping within %v", logTimeout)
	}
	r := swaks(t, g.smtp, "doctor@example.org", []string{"patient@example.net"},
		phiMessage("vault-down-1@example.org", "", "patient@example.net"))
	if r.err == nil {
		t.Fatalf("swaks succeeded while Vault was down:\n%s", r.out)
	}
	if !regexp.MustCompile(`(?m)^<\*\* +451 4\.[0-9]+\.[0-9]+ .*\[[0-9a-f]{16}\]`).MatchString(r.out) {
		t.Fatalf("no 451 with a trace id in the swaks transcript:\n%s", r.out)
	}
	if n := len(st.capture.Deliveries()); n != 0 {
		t.Errorf("capture has %d messages while Vault was down", n)
	}
	if n := st.capture.MailCommands(); n != 0 {
		t.Errorf("the gateway started %d transactions with the next hop while Vault was down", n)
	}
	if n := g.sqliteInt("SELECT count(*) FROM messages"); n != 0 {
		t.Errorf("store has %d messages", n)
	}
}

// Test 7: a message whose header does not parse gets 554 5.6.0, and nothing
// is delivered or stored.
func TestMalformedHeaderGets554(t *testing.T) {
	t.Parallel()
	st := newStack(t)
	g := startGateway(t, st, gatewayOpts{})
	r := swaks(t, g.smtp, "doctor@example.org", []string{"patient@example.net"},
		"this is not a header\r\nno colon here, NHS number 943 476 5919\r\n")
	if r.err == nil {
		t.Fatalf("swaks succeeded with a malformed message:\n%s", r.out)
	}
	if !regexp.MustCompile(`(?m)^<\*\* +554 5\.6\.0 .*\[[0-9a-f]{16}\]`).MatchString(r.out) {
		t.Fatalf("no 554 5.6.0 in the swaks transcript:\n%s", r.out)
	}
	if n := len(st.capture.Deliveries()); n != 0 || st.capture.MailCommands() != 0 {
		t.Errorf("capture saw %d messages and %d MAIL commands", n, st.capture.MailCommands())
	}
	for _, table := range []string{"messages", "chunks", "ledger"} {
		if n := g.sqliteInt("SELECT count(*) FROM " + table); n != 0 {
			t.Errorf("store table %s has %d rows", table, n)
		}
	}
	if got := g.sqlite("SELECT group_concat(action) FROM audit"); got != "refuse" {
		t.Errorf("audit actions %q, want exactly one refuse", got)
	}
	g.scanDiskForPHI(t)
}

// Test 9: `sealpost audit verify` accepts the log the gateway wrote, and
// names the entry an attacker with write access to the database altered or
// deleted. Each case runs on a fresh gateway state.
func TestAuditVerifyCLI(t *testing.T) {
	st := newStack(t)
	cases := []struct {
		name   string
		tamper func(seq int) string
		check  func(seq int) string // SQL that returns "ok" once the tamper is in place
	}{
		{
			name: "altered detail",
			tamper: func(seq int) string {
				return fmt.Sprintf(`DROP TRIGGER IF EXISTS audit_no_update;
UPDATE audit SET detail = json_set(detail, '$.rule', 'tampered') WHERE seq = %d;`, seq)
			},
			check: func(seq int) string {
				return fmt.Sprintf(`SELECT CASE WHEN detail LIKE '%%tampered%%' THEN 'ok' END FROM audit WHERE seq = %d`, seq)
			},
		},
		{
			name: "deleted row",
			tamper: func(seq int) string {
				return fmt.Sprintf(`DROP TRIGGER IF EXISTS audit_no_delete; DELETE FROM audit WHERE seq = %d;`, seq)
			},
			check: func(seq int) string {
				return fmt.Sprintf(`SELECT CASE WHEN count(*) = 0 THEN 'ok' END FROM audit WHERE seq = %d`, seq)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, st, gatewayOpts{})
			for i := range 3 {
				r := swaks(t, g.smtp, "doctor@example.org", []string{"patient@example.net"},
					phiMessage(fmt.Sprintf("audit-%d@example.org", i), "", "patient@example.net"))
				if r.err != nil || r.trace == "" {
					t.Fatalf("swaks: %v\n%s", r.err, r.out)
				}
				g.expectTrace(r.trace)
			}
			deadline := time.Now().Add(logTimeout)
			for {
				if _, err := os.Stat(g.cp); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no audit checkpoint at %s after %v", g.cp, logTimeout)
				}
				time.Sleep(100 * time.Millisecond)
			}
			g.stop()

			env := []string{"SEALPOST_CONFIG=" + g.cfg, "VAULT_ADDR=" + st.vault.Addr, "VAULT_TOKEN=" + st.creds.RelayToken}
			out, errOut, code := g.sealpost(env, "audit", "verify")
			if code != 0 || !strings.HasPrefix(out, "ok: ") || !strings.Contains(out, "verified") {
				t.Fatalf("audit verify of an untouched log: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}

			n := g.sqliteInt("SELECT count(*) FROM audit")
			if n < 3 {
				t.Fatalf("audit log has %d entries, want at least 3 to tamper with a middle one", n)
			}
			seq := g.sqliteInt(fmt.Sprintf("SELECT seq FROM audit ORDER BY seq LIMIT 1 OFFSET %d", n/2))
			g.sqlite(tc.tamper(seq))
			if got := g.sqlite(tc.check(seq)); got != "ok" {
				t.Fatalf("tampering with entry %d did not take", seq)
			}

			out, errOut, code = g.sealpost(env, "audit", "verify")
			t.Logf("audit verify after the %s of entry %d: exit %d\n%s%s", tc.name, seq, code, out, errOut)
			if code == 0 {
				t.Fatalf("audit verify accepted a log with entry %d %s:\n%s", seq, tc.name, out)
			}
			if !strings.Contains(out, fmt.Sprintf("entry %d: ", seq)) {
				t.Errorf("audit verify does not name entry %d:\nstdout: %s\nstderr: %s", seq, out, errOut)
			}
			if !strings.Contains(errOut, "does not verify") {
				t.Errorf("audit verify stderr: %s", errOut)
			}
		})
	}
}
