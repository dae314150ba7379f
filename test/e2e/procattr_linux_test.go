package e2e

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill a gateway if the test binary dies
// without running its cleanups (for example on a test timeout).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
