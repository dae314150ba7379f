package postfixtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/testutil"
)

// Mode selects how the instance hands mail to the Sealpost gateway.
type Mode int

const (
	// RelayHost makes the gateway Postfix's smarthost:
	// relayhost = [gateway-host]:gateway-port. Everything Postfix accepts is
	// relayed to the gateway over SMTP.
	RelayHost Mode = iota
	// ContentFilterLMTP makes the gateway an after-queue content filter
	// reached over LMTP, with a second, filter-exempt smtpd listener on
	// 127.0.0.1:ReinjectPort where the gateway re-injects what it has
	// processed. Re-injected mail is relayed to [Options.NextHop].
	ContentFilterLMTP
)

// String returns the Go name of the mode.
func (m Mode) String() string {
	switch m {
	case RelayHost:
		return "RelayHost"
	case ContentFilterLMTP:
		return "ContentFilterLMTP"
	default:
		return "Mode(" + strconv.Itoa(int(m)) + ")"
	}
}

// DefaultMaxSize is the message_size_limit used when Options.MaxSize is 0.
const DefaultMaxSize = 60 << 20

// FilterTransport is the master.cf service name of the LMTP client that
// feeds the gateway in ContentFilterLMTP mode (content_filter =
// FilterTransport:[host]:port).
const FilterTransport = "sealpost"

// Options configures an instance.
type Options struct {
	// Mode is how mail reaches the gateway. Default RelayHost.
	Mode Mode
	// Gateway is host:port of the Sealpost relay: its SMTP listener in
	// RelayHost mode, its LMTP listener in ContentFilterLMTP mode. Required.
	// The host must be an IPv4 address or a name that resolves to one
	// (the instance speaks IPv4 only).
	Gateway string
	// NextHop is host:port where the re-injection listener relays mail after
	// the filter. Required in ContentFilterLMTP mode, ignored in RelayHost.
	NextHop string
	// ReinjectPort is the loopback port of the re-injection listener in
	// ContentFilterLMTP mode; the gateway must deliver to
	// 127.0.0.1:ReinjectPort. 0 picks a free port (read it from
	// Instance.ReinjectAddr). Ignored in RelayHost mode.
	ReinjectPort int
	// MaxSize is message_size_limit in bytes on the public listener.
	// Default DefaultMaxSize (60 MiB). The re-injection listener accepts
	// twice as much, because sealing makes a message bigger.
	MaxSize int64
}

// Instance is a running private Postfix.
type Instance struct {
	// SMTPAddr is the public smtpd listener ("127.0.0.1:PORT"), where tests
	// submit mail.
	SMTPAddr string
	// ReinjectAddr is the re-injection smtpd listener ("127.0.0.1:PORT") in
	// ContentFilterLMTP mode, empty in RelayHost mode.
	ReinjectAddr string
	// Dir is the instance's root directory. It holds etc/ (main.cf and
	// master.cf, the config_directory), queue/, data/ and the maillog file.
	Dir string
	// ConfigDir is the config_directory, for `postfix -c`, `postconf -c`
	// and `postqueue -c`.
	ConfigDir string
	// Mode is the mode the instance was started in.
	Mode Mode

	tools   tools
	opts    Options
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
}

// tools holds the paths of the Postfix programs.
type tools struct {
	postfix, postconf, postqueue, master string
}

const installHint = "install it with `apt-get install postfix` (Debian/Ubuntu)"

// findTools locates the Postfix programs, with an error naming the package
// when one is missing.
func findTools() (tools, error) {
	var tl tools
	var err error
	look := func(name string) string {
		if err != nil {
			return ""
		}
		var p string
		p, err = exec.LookPath(name)
		if err != nil {
			// Debian keeps these in /usr/sbin, which a non-login PATH may lack.
			alt := filepath.Join("/usr/sbin", name)
			if fi, serr := os.Stat(alt); serr == nil && fi.Mode().IsRegular() {
				p, err = alt, nil
			} else {
				err = fmt.Errorf("postfix program %s not found: %s", name, installHint)
			}
		}
		return p
	}
	tl.postfix = look("postfix")
	tl.postconf = look("postconf")
	tl.postqueue = look("postqueue")
	if err != nil {
		return tools{}, err
	}
	out, cerr := exec.Command(tl.postconf, "-h", "daemon_directory", "mail_version").Output()
	if cerr != nil {
		return tools{}, fmt.Errorf("failed to run postconf: %w (%s)", cerr, installHint)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		return tools{}, fmt.Errorf("failed to read daemon_directory from postconf: %q", out)
	}
	tl.master = filepath.Join(lines[0], "master")
	if _, serr := os.Stat(tl.master); serr != nil {
		return tools{}, fmt.Errorf("postfix master daemon not found at %s: %s", tl.master, installHint)
	}
	if !versionAtLeast(lines[1], 3, 4) {
		return tools{}, fmt.Errorf("postfix %s is too old: need 3.4 or later (maillog_file, master -s)", lines[1])
	}
	if _, uerr := user.Lookup("postfix"); uerr != nil {
		return tools{}, fmt.Errorf("no postfix user: %s", installHint)
	}
	if _, gerr := user.LookupGroup("postdrop"); gerr != nil {
		return tools{}, fmt.Errorf("no postdrop group: %s", installHint)
	}
	if os.Geteuid() != 0 {
		return tools{}, errors.New("a private Postfix instance needs root (its master daemon binds ports and drops privileges to the postfix user); run the tests as root")
	}
	return tl, nil
}

// versionAtLeast reports whether a Postfix version such as "3.7.11" is at
// least major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// startAttempts bounds retries when a port picked as free is taken before
// the master daemon binds it.
const startAttempts = 3

// readyTimeout bounds how long a starting instance may take to answer.
const readyTimeout = 30 * time.Second

// Start runs a private Postfix instance for the rest of the test and stops it
// (and removes its directory) when the test ends. It fails the test, never
// skips it, if Postfix is missing or does not start.
func Start(t testing.TB, o Options) *Instance {
	t.Helper()
	tl, err := findTools()
	if err != nil {
		t.Fatal(err)
	}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	fixedReinject := o.ReinjectPort != 0
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		oo := o
		if oo.Mode == ContentFilterLMTP && !fixedReinject {
			oo.ReinjectPort = FreePort(t)
		}
		p, err := start(t, tl, oo)
		if err == nil {
			return p
		}
		lastErr = err
		// Retry with new ports only if a port picked here was taken.
		var inUse *portInUseError
		if !errors.As(err, &inUse) || fixedReinject && inUse.addr == p2a(oo.ReinjectPort) {
			break
		}
	}
	t.Fatalf("failed to start Postfix: %v", lastErr)
	return nil
}

// portInUseError reports that another process holds a port the instance
// was to listen on.
type portInUseError struct {
	addr string
	err  error
}

func (e *portInUseError) Error() string {
	return fmt.Sprintf("listener address %s is taken by another process: %v", e.addr, e.err)
}

func (e *portInUseError) Unwrap() error { return e.err }

func (o Options) validate() error {
	if _, _, err := splitHostPort(o.Gateway); err != nil {
		return fmt.Errorf("postfixtest: Options.Gateway: %w", err)
	}
	switch o.Mode {
	case RelayHost:
	case ContentFilterLMTP:
		if _, _, err := splitHostPort(o.NextHop); err != nil {
			return fmt.Errorf("postfixtest: Options.NextHop (required in ContentFilterLMTP mode): %w", err)
		}
		if o.ReinjectPort < 0 || o.ReinjectPort > 65535 {
			return fmt.Errorf("postfixtest: Options.ReinjectPort %d out of range", o.ReinjectPort)
		}
	default:
		return fmt.Errorf("postfixtest: unknown mode %v", o.Mode)
	}
	if o.MaxSize < 0 {
		return fmt.Errorf("postfixtest: Options.MaxSize %d is negative", o.MaxSize)
	}
	return nil
}

// p2a returns the loopback address of a port.
func p2a(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func splitHostPort(hp string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(hp)
	if err != nil {
		return "", "", fmt.Errorf("failed to parse %q as host:port: %w", hp, err)
	}
	if host == "" {
		return "", "", fmt.Errorf("%q has no host", hp)
	}
	if n, perr := strconv.Atoi(port); perr != nil || n <= 0 || n > 65535 {
		return "", "", fmt.Errorf("%q has no valid port", hp)
	}
	return host, port, nil
}

// FreePort returns a loopback TCP port that was free a moment ago. Use it to
// choose Options.ReinjectPort before the gateway under test is started.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("failed to find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("failed to release port %d: %v", port, err)
	}
	return port
}

// makeDir creates the instance root. Postfix keeps its UNIX-domain sockets
// under queue/private and queue/public, and sun_path holds only 107 bytes,
// so the root must be short: t.TempDir() embeds the test name and can be too
// long. Postfix also wants the queue tree owned by root and not writable by
// group or other.
func makeDir(t testing.TB) string {
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "sp-pf-")
	if err != nil {
		t.Fatalf("failed to create the instance directory: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("failed to chmod %s: %v", dir, err)
	}
	return dir
}

func start(t testing.TB, tl tools, o Options) (*Instance, error) {
	t.Helper()
	dir := makeDir(t)
	p := &Instance{
		SMTPAddr:  p2a(FreePort(t)),
		Dir:       dir,
		ConfigDir: filepath.Join(dir, "etc"),
		Mode:      o.Mode,
		tools:     tl,
		opts:      o,
		exited:    make(chan struct{}),
	}
	if o.Mode == ContentFilterLMTP {
		p.ReinjectAddr = p2a(o.ReinjectPort)
	}
	if err := p.writeConfig(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := p.runMaster(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("Postfix instance %s (%s) mail log:\n%s", p.SMTPAddr, p.Dir, p.readLog())
		}
		if err := os.RemoveAll(p.Dir); err != nil {
			t.Errorf("failed to remove %s: %v", p.Dir, err)
		}
	})
	if err := p.waitReady(); err != nil {
		p.Stop(t)
		if taken := p.portsTaken(); taken != "" {
			err = &portInUseError{addr: taken, err: err}
		}
		return nil, fmt.Errorf("%w\nmail log:\n%s", err, p.readLog())
	}
	return p, nil
}

// runMaster starts the master daemon in the foreground (no -w), as our own
// child, so that we know when it exits and the kernel stops it if the test
// binary dies without cleaning up.
func (p *Instance) runMaster() error {
	out, err := os.Create(filepath.Join(p.Dir, "master.out"))
	if err != nil {
		return fmt.Errorf("failed to create master.out: %w", err)
	}
	cmd := exec.Command(p.tools.master, "-c", p.ConfigDir, "-s")
	cmd.Dir = p.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("failed to start %s: %w", p.tools.master, err)
	}
	p.cmd = cmd
	go func() {
		p.waitErr = cmd.Wait()
		out.Close()
		close(p.exited)
	}()
	return nil
}

// waitReady waits until every smtpd listener sends its 220 greeting.
func (p *Instance) waitReady() error {
	addrs := []string{p.SMTPAddr}
	if p.ReinjectAddr != "" {
		addrs = append(addrs, p.ReinjectAddr)
	}
	deadline := time.Now().Add(readyTimeout)
	for _, addr := range addrs {
		for {
			err := testutil.Greet(addr)
			if err == nil {
				break
			}
			select {
			case <-p.exited:
				b, _ := os.ReadFile(filepath.Join(p.Dir, "master.out"))
				return fmt.Errorf("postfix master exited during start-up (%v): %s", p.waitErr, b)
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("postfix listener %s not ready after %v: %w", addr, readyTimeout, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// portsTaken names a listener address of the instance that another process
// holds, after the master has exited. The master's own report of a failed
// bind goes to syslog, before postlogd runs, so it is not in the mail log:
// probing is the only way to tell a port race from another failure.
func (p *Instance) portsTaken() string {
	<-p.exited
	for _, addr := range []string{p.SMTPAddr, p.ReinjectAddr} {
		if addr == "" {
			continue
		}
		l, err := net.Listen("tcp4", addr)
		if err != nil {
			return addr
		}
		l.Close()
	}
	return ""
}

// stopTimeout bounds how long the master may take to exit after SIGTERM.
const stopTimeout = 10 * time.Second

// Stop terminates the instance: SIGTERM to the master daemon, which stops
// its children, then SIGKILL if it has not exited within 10 s. The queue
// and log stay readable until the test's cleanup removes Dir. Stop is
// idempotent and registered with t.Cleanup by Start.
func (p *Instance) Stop(t testing.TB) {
	t.Helper()
	p.stopOnce.Do(func() {
		if p.cmd == nil || p.cmd.Process == nil {
			return
		}
		select {
		case <-p.exited:
			return
		default:
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Logf("failed to signal the Postfix master: %v", err)
		}
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			t.Errorf("Postfix master did not exit within %v of SIGTERM; killing it", stopTimeout)
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// Log returns the instance's mail log (maillog_file), written by postlogd.
// Lines appear asynchronously, shortly after the event they record.
func (p *Instance) Log(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("failed to read the mail log: %v", err)
	}
	return string(b)
}

func (p *Instance) readLog() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	return string(b)
}

// Flush asks Postfix to retry all queued mail now (`postqueue -f`),
// including deferred mail whose retry time has not come, and forgets which
// destinations it had marked dead.
func (p *Instance) Flush(t testing.TB) {
	t.Helper()
	if out, err := exec.Command(p.tools.postqueue, "-c", p.ConfigDir, "-f").CombinedOutput(); err != nil {
		t.Fatalf("failed to run postqueue -f: %v\n%s", err, out)
	}
}

// Queue lists the messages in the instance's queues (`postqueue -j`):
// maildrop, incoming, active, deferred and hold.
func (p *Instance) Queue(t testing.TB) []QueuedMessage {
	t.Helper()
	cmd := exec.Command(p.tools.postqueue, "-c", p.ConfigDir, "-j")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("failed to run postqueue -j: %v\n%s", err, stderr.String())
	}
	msgs, err := ParseQueue(out)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// QueueLen returns how many messages are still queued.
func (p *Instance) QueueLen(t testing.TB) int {
	t.Helper()
	return len(p.Queue(t))
}

// WaitQueueEmpty waits until the queue is empty, flushing it about once a
// second. On timeout it fails the test with the queue listing.
func (p *Instance) WaitQueueEmpty(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	lastFlush := time.Now()
	for {
		q := p.Queue(t)
		if len(q) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix queue not empty after %v; %d message(s) left:\n%s", timeout, len(q), FormatQueue(q))
		}
		if time.Since(lastFlush) >= time.Second {
			p.Flush(t)
			lastFlush = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
}
