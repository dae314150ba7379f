package policy

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/testutil"
)

const (
	policyV1  = "version: 1\nrules:\n  - name: first\n    when: {}\n    action: seal\ndefault: pass\n"
	policyV2  = "version: 1\nrules:\n  - name: second\n    when: {}\n    action: require-tls\ndefault: pass\n"
	policyV3  = "version: 1\nrules:\n  - name: third\n    when: {}\n    action: pass\ndefault: pass\n"
	policyBad = "version: 1\nrules:\n  - name: broken\n    when: {}\n    action: sael\ndefault: pass\n"
)

func writePolicy(t *testing.T, path, text string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	// Set the modification time explicitly: two writes within one tick of
	// the file system clock must still look different to the poller.
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func newTestHolder(t *testing.T, text string) (*Holder, string, *testutil.SyncBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writePolicy(t, path, text, time.Unix(1_700_000_000, 0))
	logs := &testutil.SyncBuffer{}
	h, err := NewHolder(path, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatalf("NewHolder: %v", err)
	}
	return h, path, logs
}

func firstRule(h *Holder) string { return h.Engine().Rules()[0] }

func TestHolderReloadKeepsOldPolicyOnBadFile(t *testing.T) {
	h, path, logs := newTestHolder(t, policyV1)
	if got := firstRule(h); got != "first" {
		t.Fatalf("initial policy: rule %q", got)
	}
	old := h.Engine()

	writePolicy(t, path, policyBad, time.Unix(1_700_000_100, 0))
	err := h.Reload()
	if err == nil || !strings.Contains(err.Error(), `"broken"`) || !strings.Contains(err.Error(), "sael") {
		t.Fatalf("Reload of a bad file: err = %v, want one naming the rule and the bad action", err)
	}
	if h.Engine() != old {
		t.Fatal("a bad file replaced the policy in force")
	}
	if l := logs.String(); !strings.Contains(l, `"level":"ERROR"`) || !strings.Contains(l, "keeping the previous policy") {
		t.Errorf("bad reload was not logged at error level:\n%s", l)
	}

	writePolicy(t, path, policyV2, time.Unix(1_700_000_200, 0))
	if err := h.Reload(); err != nil {
		t.Fatalf("Reload of a good file: %v", err)
	}
	if got := firstRule(h); got != "second" {
		t.Fatalf("after reload: rule %q, want second", got)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(); err == nil {
		t.Fatal("Reload of a missing file: no error")
	}
	if got := firstRule(h); got != "second" {
		t.Fatalf("missing file replaced the policy: rule %q", got)
	}
}

func TestNewHolderRefusesBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writePolicy(t, path, policyBad, time.Now())
	if _, err := NewHolder(path, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("NewHolder accepted an invalid policy")
	}
	if _, err := NewHolder(filepath.Join(t.TempDir(), "none.yaml"), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("NewHolder accepted a missing file")
	}
}

// waitForRule waits (bounded) until the holder's first rule is want.
func waitForRule(t *testing.T, h *Holder, want string, poke func()) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for firstRule(h) != want {
		if time.Now().After(deadline) {
			t.Fatalf("policy not reloaded: rule %q, want %q", firstRule(h), want)
		}
		if poke != nil {
			poke()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHolderWatchPollsFile(t *testing.T) {
	h, path, logs := newTestHolder(t, policyV1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Watch(ctx, 10*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()

	writePolicy(t, path, policyV2, time.Unix(1_700_000_100, 0))
	waitForRule(t, h, "second", nil)

	// A bad file is logged and ignored; the next good one is picked up.
	writePolicy(t, path, policyBad, time.Unix(1_700_000_200, 0))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "keeping the previous policy") {
		if time.Now().After(deadline) {
			t.Fatal("bad file was not reported by the poller")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := firstRule(h); got != "second" {
		t.Fatalf("bad file replaced the policy: rule %q", got)
	}
	writePolicy(t, path, policyV3, time.Unix(1_700_000_300, 0))
	waitForRule(t, h, "third", nil)
}

func TestHolderWatchSIGHUP(t *testing.T) {
	// Keep the test process alive whatever the order of signal handlers.
	guard := make(chan os.Signal, 16)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	h, path, _ := newTestHolder(t, policyV1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Watch(ctx, time.Hour); close(done) }() // polling cannot fire
	defer func() { cancel(); <-done }()

	// Same modification time and size: only SIGHUP can make it reload.
	v2 := strings.Replace(policyV1, "first", "again", 1)
	if len(v2) != len(policyV1) {
		t.Fatalf("test files differ in size: %d vs %d", len(v2), len(policyV1))
	}
	writePolicy(t, path, v2, time.Unix(1_700_000_000, 0))
	waitForRule(t, h, "again", func() {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	})
}
