package postfixtest

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// queueTimeout bounds how long a test waits for Postfix to deliver. It is a
// hang guard, not a performance assertion.
const queueTimeout = 60 * time.Second

func TestRelayHostDelivers(t *testing.T) {
	t.Parallel()
	gw := &recorder{}
	p := Start(t, Options{Mode: RelayHost, Gateway: startRecorder(t, gw, false)})

	submit(t, p.SMTPAddr, "sender@example.org", []string{"rcpt@example.net"}, "relay-1")
	p.WaitQueueEmpty(t, queueTimeout)

	msgs := gw.messages()
	if len(msgs) != 1 {
		t.Fatalf("gateway got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "sender@example.org" || !slices.Equal(m.To, []string{"rcpt@example.net"}) {
		t.Errorf("envelope = %q -> %q, want sender@example.org -> [rcpt@example.net]", m.From, m.To)
	}
	if !bytes.Contains(m.Data, []byte("marker relay-1")) {
		t.Errorf("body lost its marker:\n%s", m.Data)
	}
	if !bytes.Contains(m.Data, []byte("by postfix-test.localhost (Postfix)")) {
		t.Errorf("no Received header from the test instance:\n%s", m.Data)
	}
	if log := p.Log(t); !strings.Contains(log, "status=sent") {
		t.Errorf("mail log has no status=sent line:\n%s", log)
	}
}

func TestRelayHostQueuesWhileGatewayDown(t *testing.T) {
	t.Parallel()
	gwAddr, listen := reservePort(t)
	p := Start(t, Options{Mode: RelayHost, Gateway: gwAddr})

	submit(t, p.SMTPAddr, "sender@example.org", []string{"rcpt@example.net"}, "down-1")
	q := waitDeferred(t, p)
	if len(q) != 1 || len(q[0].Recipients) != 1 || !strings.Contains(q[0].Recipients[0].DelayReason, "Connection refused") {
		t.Fatalf("want one deferred message refused by the gateway, got:\n%s", FormatQueue(q))
	}
	if n := p.QueueLen(t); n != 1 {
		t.Fatalf("QueueLen = %d, want 1", n)
	}

	gw := &recorder{}
	serve(t, gw, listen(), false)
	p.Flush(t)
	p.WaitQueueEmpty(t, queueTimeout)
	if msgs := gw.messages(); len(msgs) != 1 || !bytes.Contains(msgs[0].Data, []byte("marker down-1")) {
		t.Fatalf("gateway got %d messages after it came back, want the one queued", len(msgs))
	}
}

// waitDeferred waits until a queued message records a failed delivery
// attempt. Its queue is usually "deferred", but with one-second backoffs
// Postfix sometimes finds the file still locked by the delivery agent, logs
// "skipped, still being delivered" and parks it in "incoming" for 60 s.
func waitDeferred(t *testing.T, p *Instance) []QueuedMessage {
	t.Helper()
	deadline := time.Now().Add(queueTimeout)
	for {
		q := p.Queue(t)
		if slices.ContainsFunc(q, func(m QueuedMessage) bool {
			return slices.ContainsFunc(m.Recipients, func(r QueuedRecipient) bool { return r.DelayReason != "" })
		}) {
			return q
		}
		if time.Now().After(deadline) {
			t.Fatalf("no deferred message after %v; queue:\n%s\nlog:\n%s", queueTimeout, FormatQueue(q), p.Log(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestContentFilterLMTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// gatewayFailures is how many LMTP DATA commands the gateway fails
		// with 451 before it accepts.
		gatewayFailures int
		// failRcptOnce are recipients the gateway defers once through
		// LMTP's per-recipient replies, accepting the others.
		failRcptOnce []string
		to           []string
		// wantAttempts is how many LMTP transactions reach DATA.
		wantAttempts int
	}{
		{name: "accepted", to: []string{"a@example.net"}, wantAttempts: 1},
		{name: "temporary failure is retried", gatewayFailures: 1, to: []string{"a@example.net"}, wantAttempts: 2},
		{
			name:         "per-recipient deferral retries only that recipient",
			to:           []string{"a@example.net", "b@example.net"},
			failRcptOnce: []string{"b@example.net"},
			wantAttempts: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			next := &recorder{}
			nextAddr := startRecorder(t, next, false)

			var mu sync.Mutex
			var reinject string
			gw := &recorder{failNext: tt.gatewayFailures, failRcptOnce: map[string]bool{}}
			for _, r := range tt.failRcptOnce {
				gw.failRcptOnce[r] = true
			}
			gw.forward = forwardTo(func() string { mu.Lock(); defer mu.Unlock(); return reinject })
			gwAddr := startRecorder(t, gw, true)

			p := Start(t, Options{Mode: ContentFilterLMTP, Gateway: gwAddr, NextHop: nextAddr})
			mu.Lock()
			reinject = p.ReinjectAddr
			mu.Unlock()

			submit(t, p.SMTPAddr, "sender@example.org", tt.to, "cf-1")
			p.WaitQueueEmpty(t, queueTimeout)

			if got := gw.attemptCount(); got != tt.wantAttempts {
				t.Errorf("gateway saw %d LMTP DATA attempts, want %d", got, tt.wantAttempts)
			}
			// Every recipient arrives at the next hop exactly once, and only
			// through the filter.
			count := map[string]int{}
			for _, m := range next.messages() {
				if !bytes.Contains(m.Data, []byte("\r\nX-Test-Filtered: yes\r\n")) {
					t.Errorf("next hop got a message that bypassed the filter:\n%s", m.Data)
				}
				if !bytes.Contains(m.Data, []byte("marker cf-1")) {
					t.Errorf("next hop got a message without the marker:\n%s", m.Data)
				}
				for _, to := range m.To {
					count[to]++
				}
			}
			for _, to := range tt.to {
				if count[to] != 1 {
					t.Errorf("recipient %s arrived %d times at the next hop, want 1", to, count[to])
				}
			}
			if len(count) != len(tt.to) {
				t.Errorf("next hop recipients = %v, want %v", count, tt.to)
			}
			log := p.Log(t)
			wantLog := []string{"postfix/" + FilterTransport + "/lmtp", "postfix/reinject/smtpd"}
			if tt.wantAttempts > 1 {
				wantLog = append(wantLog, "status=deferred (host 127.0.0.1[127.0.0.1] said: 451 4.3.0")
			}
			for _, want := range wantLog {
				if !strings.Contains(log, want) {
					t.Errorf("mail log has no %q line:\n%s", want, log)
				}
			}
		})
	}
}

func TestSMTPSource(t *testing.T) {
	t.Parallel()
	gw := &recorder{}
	p := Start(t, Options{Mode: RelayHost, Gateway: startRecorder(t, gw, false)})
	SMTPSource(t, p.SMTPAddr, 50, 4, 4, "load@example.org", "sink@example.net")
	p.WaitQueueEmpty(t, queueTimeout)
	msgs := gw.messages()
	if len(msgs) != 50 {
		t.Fatalf("gateway got %d messages, want 50", len(msgs))
	}
	for i, m := range msgs {
		if len(m.Data) < 4*1024 {
			t.Fatalf("message %d is %d bytes, want at least 4 KiB", i, len(m.Data))
		}
	}
}

func TestMaxSizeRejectsWithSwaks(t *testing.T) {
	t.Parallel()
	gw := &recorder{}
	p := Start(t, Options{Mode: RelayHost, Gateway: startRecorder(t, gw, false), MaxSize: 10 << 10})
	out, err := Swaks(t, "--server", p.SMTPAddr, "--from", "a@example.org", "--to", "b@example.net",
		"--body", strings.Repeat("0123456789abcdef\n", 1500))
	if err == nil {
		t.Fatalf("swaks succeeded with a 25 KB message over a 10 KB limit:\n%s", out)
	}
	if !strings.Contains(out, "552") {
		t.Fatalf("want a 552 rejection in the transcript:\n%s", out)
	}
	if n := p.QueueLen(t); n != 0 {
		t.Fatalf("QueueLen = %d after a rejected message, want 0", n)
	}
}

// TestConfig checks that Postfix itself reads the generated configuration
// as intended, and that `postfix check` has nothing to say about it.
func TestConfig(t *testing.T) {
	t.Parallel()
	gw := &recorder{}
	gwAddr := startRecorder(t, gw, true)
	reinjectPort := FreePort(t)
	tests := []struct {
		name       string
		opts       Options
		wantParams map[string]string
		// wantService is a master.cf service that must exist, and
		// wantServiceOpts settings `postconf -P` must report for it.
		wantService     string
		wantServiceOpts []string
	}{
		{
			name: "relayhost",
			opts: Options{Mode: RelayHost, Gateway: gwAddr},
			wantParams: map[string]string{
				"relayhost":           "[127.0.0.1]:" + portOf(gwAddr),
				"content_filter":      "",
				"message_size_limit":  strconv.Itoa(DefaultMaxSize),
				"mydestination":       "",
				"inet_interfaces":     "127.0.0.1",
				"compatibility_level": "3.6",
			},
		},
		{
			name: "content filter",
			opts: Options{Mode: ContentFilterLMTP, Gateway: gwAddr, NextHop: "127.0.0.1:2525", ReinjectPort: reinjectPort, MaxSize: 1 << 20},
			wantParams: map[string]string{
				"relayhost":                "[127.0.0.1]:2525",
				"content_filter":           FilterTransport + ":[127.0.0.1]:" + portOf(gwAddr),
				"receive_override_options": "no_address_mappings",
				"message_size_limit":       strconv.Itoa(1 << 20),
			},
			wantService: "127.0.0.1:" + strconv.Itoa(reinjectPort) + "/inet",
			wantServiceOpts: []string{
				"content_filter=",
				"message_size_limit=" + strconv.Itoa(2<<20),
				"receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Start(t, tt.opts)
			for k, want := range tt.wantParams {
				out, err := exec.Command(p.tools.postconf, "-c", p.ConfigDir, "-h", k).CombinedOutput()
				if err != nil {
					t.Fatalf("postconf -h %s: %v\n%s", k, err, out)
				}
				if got := strings.TrimSpace(string(out)); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tt.wantService != "" {
				out, err := exec.Command(p.tools.postconf, "-c", p.ConfigDir, "-P", tt.wantService).CombinedOutput()
				if err != nil {
					t.Fatalf("postconf -P %s: %v\n%s", tt.wantService, err, out)
				}
				lines := strings.Split(string(out), "\n")
				for _, o := range tt.wantServiceOpts {
					k, v, _ := strings.Cut(o, "=")
					want := strings.TrimSpace(tt.wantService + "/" + k + " = " + v)
					if !slices.Contains(lines, want) {
						t.Errorf("service %s lacks %q:\n%s", tt.wantService, want, out)
					}
				}
			}
		})
	}
}

// TestPostfixCheck compares the queue tree Start creates with the Debian
// package's postfix-files, and runs `postfix check` on the instance.
func TestPostfixCheck(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{Mode: RelayHost, Gateway: "127.0.0.1:1"})

	const meta = "/etc/postfix/postfix-files"
	b, err := os.ReadFile(meta)
	if err != nil {
		t.Fatalf("failed to read %s (part of the postfix package): %v", meta, err)
	}
	checked := 0
	for _, line := range strings.Split(string(b), "\n") {
		// $queue_directory/active:d:$mail_owner:-:700:ucr
		f := strings.Split(line, ":")
		if len(f) < 5 || f[1] != "d" || !strings.HasPrefix(f[0], "$queue_directory/") {
			continue
		}
		name := strings.TrimPrefix(f[0], "$queue_directory/")
		fi, err := os.Stat(filepath.Join(p.Dir, "queue", name))
		if err != nil {
			t.Errorf("queue directory %s: %v", name, err)
			continue
		}
		checked++
		st := fi.Sys().(*syscall.Stat_t)
		wantMode, _ := strconv.ParseUint(f[4], 8, 32)
		if uint64(fi.Mode().Perm()) != wantMode {
			t.Errorf("%s mode = %o, want %s", name, fi.Mode().Perm(), f[4])
		}
		owner, _ := user.LookupId(strconv.Itoa(int(st.Uid)))
		wantOwner := map[string]string{"$mail_owner": "postfix", "root": "root"}[f[2]]
		if owner == nil || owner.Username != wantOwner {
			t.Errorf("%s owner = %v, want %s", name, owner, f[2])
		}
		group, _ := user.LookupGroupId(strconv.Itoa(int(st.Gid)))
		wantGroup := map[string]string{"$setgid_group": "postdrop", "-": "root"}[f[3]]
		if group == nil || group.Name != wantGroup {
			t.Errorf("%s group = %v, want %s", name, group, f[3])
		}
	}
	if checked != len(queueLayout) {
		t.Errorf("postfix-files lists %d queue directories, Start creates %d", checked, len(queueLayout))
	}

	out, err := exec.Command(p.tools.postfix, "-c", p.ConfigDir, "check").CombinedOutput()
	if err != nil {
		t.Fatalf("postfix check: %v\n%s", err, out)
	}
	if strings.Contains(string(out), p.Dir) {
		t.Errorf("postfix check complains about the instance:\n%s", out)
	}
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

func TestStop(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{Mode: RelayHost, Gateway: "127.0.0.1:1"})
	status := func() error {
		return exec.Command(p.tools.postfix, "-c", p.ConfigDir, "status").Run()
	}
	if err := status(); err != nil {
		t.Fatalf("postfix status says a started instance is not running: %v", err)
	}
	if log := p.Log(t); !regexp.MustCompile(`postfix/master\[\d+\]: daemon started`).MatchString(log) {
		t.Errorf("mail log lacks the master's start line:\n%s", log)
	}
	p.Stop(t)
	p.Stop(t) // idempotent
	if err := status(); err == nil {
		t.Fatal("postfix status says the instance still runs after Stop")
	}
	if c, err := net.Dial("tcp", p.SMTPAddr); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Stop", p.SMTPAddr)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"relayhost ok", Options{Gateway: "127.0.0.1:25"}, ""},
		{"content filter ok", Options{Mode: ContentFilterLMTP, Gateway: "127.0.0.1:24", NextHop: "127.0.0.1:25"}, ""},
		{"no gateway", Options{}, "Gateway"},
		{"gateway without port", Options{Gateway: "127.0.0.1"}, "Gateway"},
		{"gateway port zero", Options{Gateway: "127.0.0.1:0"}, "Gateway"},
		{"gateway without host", Options{Gateway: ":25"}, "Gateway"},
		{"content filter without next hop", Options{Mode: ContentFilterLMTP, Gateway: "127.0.0.1:24"}, "NextHop"},
		{"reinject port out of range", Options{Mode: ContentFilterLMTP, Gateway: "127.0.0.1:24", NextHop: "127.0.0.1:25", ReinjectPort: 70000}, "ReinjectPort"},
		{"negative size", Options{Gateway: "127.0.0.1:25", MaxSize: -1}, "MaxSize"},
		{"unknown mode", Options{Mode: 7, Gateway: "127.0.0.1:25"}, "Mode(7)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("validate() = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestStartReportsTakenPort checks that a listener port held by another
// process is diagnosed as such (Start then retries with fresh ports, unless
// the caller fixed the port), although the master daemon reports its bind
// failure only to syslog.
func TestStartReportsTakenPort(t *testing.T) {
	t.Parallel()
	tl, err := findTools()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = start(t, tl, Options{Mode: ContentFilterLMTP, Gateway: "127.0.0.1:1", NextHop: "127.0.0.1:2", ReinjectPort: port, MaxSize: DefaultMaxSize})
	var inUse *portInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("start() error = %v, want a portInUseError", err)
	}
	if inUse.addr != l.Addr().String() {
		t.Fatalf("taken address = %s, want %s", inUse.addr, l.Addr())
	}
}
