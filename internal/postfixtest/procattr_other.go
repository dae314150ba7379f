//go:build !linux

package postfixtest

import "os/exec"

func setProcAttr(cmd *exec.Cmd) {}
