//go:build !linux

package vaulttest

import "os/exec"

func setProcAttr(cmd *exec.Cmd) {}
