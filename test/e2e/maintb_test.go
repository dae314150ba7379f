package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// sharedVault is the package's Vault dev server, started and set up once by
// TestMain: setting Vault up creates an RSA-4096 Transit key, which takes
// seconds on a busy 2-core machine. Tests that stop Vault start their own.
type sharedVault struct {
	vault *vaulttest.Server
	creds keys.Credentials
}

// startSharedVault starts the shared Vault with tb, whose cleanups the
// caller runs after the tests.
func startSharedVault(tb *mainTB) (sv *sharedVault, err error) {
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(mainFatal); ok {
				err = fmt.Errorf("failed to start the shared Vault: %s", string(f))
				return
			}
			panic(r)
		}
	}()
	v := vaulttest.Start(tb)
	return &sharedVault{vault: v, creds: vaulttest.Setup(tb, v)}, nil
}

// mainTB lets TestMain call helpers written for tests (vaulttest.Start and
// vaulttest.Setup). It implements only the methods those helpers use; the
// embedded nil testing.TB makes any other call panic loudly. Fatal panics
// with a mainFatal, which startSharedVault recovers.
type mainTB struct {
	testing.TB
	dir      string
	cleanups []func()
	failed   bool
}

type mainFatal string

func (m *mainTB) Helper()      {}
func (m *mainTB) Name() string { return "TestMain" }
func (m *mainTB) Failed() bool { return m.failed }

func (m *mainTB) TempDir() string {
	d, err := os.MkdirTemp(m.dir, "vault-")
	if err != nil {
		m.Fatal(err)
	}
	return d
}

func (m *mainTB) Cleanup(f func()) { m.cleanups = append(m.cleanups, f) }

func (m *mainTB) Log(args ...any) { fmt.Fprintln(os.Stderr, args...) }

func (m *mainTB) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func (m *mainTB) Error(args ...any) {
	m.failed = true
	m.Log(args...)
}

func (m *mainTB) Errorf(format string, args ...any) {
	m.failed = true
	m.Logf(format, args...)
}

func (m *mainTB) Fatal(args ...any) {
	m.failed = true
	panic(mainFatal(fmt.Sprint(args...)))
}

func (m *mainTB) Fatalf(format string, args ...any) {
	m.failed = true
	panic(mainFatal(fmt.Sprintf(format, args...)))
}

// runCleanups runs the registered cleanups, last first.
func (m *mainTB) runCleanups() {
	for i := len(m.cleanups) - 1; i >= 0; i-- {
		m.cleanups[i]()
	}
	m.cleanups = nil
}
