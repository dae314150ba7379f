package postfixtest

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel send SIGTERM to the master daemon (which
// then stops its children) if the test binary dies without running its
// cleanups, for example on a test timeout.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
