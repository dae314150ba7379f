package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// harness adapts the test helpers vaulttest and postfixtest, which take a
// testing.TB, to this program. It implements the methods those helpers call;
// the embedded interface is nil, so any other method panics, which would be
// a defect in this program rather than a measurement problem.
//
// Fatal and FailNow panic with errFatal; run recovers it, runs the cleanups
// and exits non-zero.
type harness struct {
	testing.TB

	log io.Writer
	dir string

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	temps    int
}

// fatalError is what harness.FailNow panics with.
type fatalError struct{}

var _ testing.TB = (*harness)(nil)

func newHarness(dir string, log io.Writer) *harness {
	return &harness{dir: dir, log: log}
}

func (h *harness) Helper()      {}
func (h *harness) Name() string { return "bench" }

func (h *harness) Cleanup(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cleanups = append(h.cleanups, f)
}

// runCleanups runs the registered cleanups, last first.
func (h *harness) runCleanups() {
	for {
		h.mu.Lock()
		if len(h.cleanups) == 0 {
			h.mu.Unlock()
			return
		}
		f := h.cleanups[len(h.cleanups)-1]
		h.cleanups = h.cleanups[:len(h.cleanups)-1]
		h.mu.Unlock()
		f()
	}
}

func (h *harness) Log(args ...any)                 { fmt.Fprintln(h.log, args...) }
func (h *harness) Logf(format string, args ...any) { fmt.Fprintf(h.log, format+"\n", args...) }

func (h *harness) Fail() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed = true
}

func (h *harness) Failed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed
}

func (h *harness) FailNow() {
	h.Fail()
	panic(fatalError{})
}

func (h *harness) Error(args ...any) {
	h.Log(args...)
	h.Fail()
}

func (h *harness) Errorf(format string, args ...any) {
	h.Logf(format, args...)
	h.Fail()
}

func (h *harness) Fatal(args ...any) {
	h.Log(args...)
	h.FailNow()
}

func (h *harness) Fatalf(format string, args ...any) {
	h.Logf(format, args...)
	h.FailNow()
}

func (h *harness) TempDir() string {
	h.mu.Lock()
	h.temps++
	n := h.temps
	h.mu.Unlock()
	d := filepath.Join(h.dir, "tmp"+strconv.Itoa(n))
	if err := os.MkdirAll(d, 0o700); err != nil {
		h.Fatalf("failed to create a temporary directory: %v", err)
	}
	return d
}

func (h *harness) Context() context.Context { return context.Background() }
func (h *harness) Output() io.Writer        { return h.log }
