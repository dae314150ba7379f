package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sealpost/sealpost/internal/vaultbin"
)

// sealpostBin is the binary under test and shared the package's Vault, both
// set up once by TestMain before any test runs.
var (
	sealpostBin string
	shared      *sharedVault
)

// book collects every gateway's log and the trace ids of the messages it
// answered 250, for the package-wide log check in TestMain.
var book = &logBook{traces: map[string]string{}}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := vaultbin.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "sealpost-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	sealpostBin = filepath.Join(tmp, "sealpost")
	build := exec.Command("go", "build", "-o", sealpostBin, "./cmd/sealpost")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: failed to build sealpost: %v\n%s", err, out)
		return 1
	}
	tb := &mainTB{dir: tmp}
	defer tb.runCleanups()
	if shared, err = startSharedVault(tb); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		return code
	}
	// Test 8, across the whole package run: the union of every gateway's
	// log holds no planted PHI, and every message answered 250 has its
	// trace id and a decision in it.
	n, err := book.verify()
	if err != nil {
		fmt.Fprintf(os.Stderr, "--- FAIL: package-wide log check: %v\n", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Printf("package-wide log check: %d gateway logs, %d trace ids, no planted PHI\n", len(book.logs), n)
	}
	return 0
}

type logBook struct {
	mu     sync.Mutex
	logs   []string          // each gateway's whole stderr
	traces map[string]string // trace id of a 250 -> the test that saw it
}

func (b *logBook) add(log string, traces map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logs = append(b.logs, log)
	for tr, test := range traces {
		b.traces[tr] = test
	}
}

// verify checks the aggregated logs and returns how many trace ids it
// checked.
func (b *logBook) verify() (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	all := strings.Join(b.logs, "\n")
	var errs []error
	if err := checkNoPHI("the aggregated gateway logs", []byte(all)); err != nil {
		errs = append(errs, err)
	}
	decisions := decisionsByTrace(all)
	var missing []string
	for tr, test := range b.traces {
		if len(decisions[tr]) == 0 {
			missing = append(missing, tr+" ("+test+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%d trace id(s) answered 250 but never logged with a decision: %s",
			len(missing), strings.Join(missing, ", ")))
	}
	return len(b.traces), errors.Join(errs...)
}

// decisionsByTrace reads JSON log lines and returns, for each trace id, the
// decision fields logged with it.
func decisionsByTrace(log string) map[string][]string {
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		tr, _ := rec["trace"].(string)
		dec, _ := rec["decision"].(string)
		if tr != "" && dec != "" {
			out[tr] = append(out[tr], dec)
		}
	}
	return out
}
