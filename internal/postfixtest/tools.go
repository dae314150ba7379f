package postfixtest

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// SMTPSource sends n messages of sizeKB kilobytes of body each to addr
// (host:port) over the given number of parallel SMTP sessions, using
// Postfix's smtp-source, and fails the test if smtp-source fails: it exits
// non-zero on the first refused connection or rejected command (unless
// extra has -A). extra arguments go before the address (for example
// "-N" to vary the recipient, or "-r", "3" for three recipients a message).
func SMTPSource(t testing.TB, addr string, n, sizeKB, sessions int, from, to string, extra ...string) {
	t.Helper()
	bin := lookSbin(t, "smtp-source", "postfix")
	args := []string{
		"-m", strconv.Itoa(n),
		"-l", strconv.Itoa(sizeKB * 1024),
		"-s", strconv.Itoa(sessions),
		"-f", from,
		"-t", to,
		"-M", "smtp-source.localhost",
	}
	args = append(args, extra...)
	args = append(args, addr)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("smtp-source %s failed: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Swaks runs swaks with args and returns its transcript (stdout and stderr
// interleaved, as a terminal would show them) and the exit error, if any.
// A non-nil error is the answer to check for expected SMTP rejections; the
// test fails only if swaks is not installed.
func Swaks(t testing.TB, args ...string) (stdout string, err error) {
	t.Helper()
	bin, lerr := exec.LookPath("swaks")
	if lerr != nil {
		t.Fatal("swaks not found: install it with `apt-get install swaks`")
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), err
	}
	if err != nil {
		t.Fatalf("failed to run swaks: %v", err)
	}
	return string(out), nil
}

// lookSbin finds a program on PATH or in /usr/sbin, failing the test with
// the Debian package to install.
func lookSbin(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := exec.LookPath(p); err == nil {
		return p
	}
	t.Fatalf("%s not found: install it with `apt-get install %s`", name, pkg)
	return ""
}
