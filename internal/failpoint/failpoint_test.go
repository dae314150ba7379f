package failpoint

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestHitKillsOnlyWhenArmed re-runs this test binary as a child that hits a
// failpoint; the child must die of SIGKILL exactly when the point is armed.
func TestHitKillsOnlyWhenArmed(t *testing.T) {
	if os.Getenv("FAILPOINT_CHILD") == "1" {
		Hit(AfterStore)
		_, _ = os.Stdout.WriteString("survived\n")
		os.Exit(0)
	}
	for _, c := range []struct {
		armed  string
		killed bool
	}{{"", false}, {AfterSpool, false}, {AfterStore, true}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHitKillsOnlyWhenArmed$")
		cmd.Env = append(os.Environ(), "FAILPOINT_CHILD=1", "SEALPOST_FAILPOINT="+c.armed)
		out, err := cmd.Output()
		var ee *exec.ExitError
		gotKilled := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
		if gotKilled != c.killed {
			t.Errorf("armed %q: killed=%v, want %v (err %v)", c.armed, gotKilled, c.killed, err)
		}
		if !c.killed && !strings.Contains(string(out), "survived") {
			t.Errorf("armed %q: child did not run to the end: %q", c.armed, out)
		}
	}
}
