package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// AxeTags are the axe-core rule tags that [Browser.Axe] runs: WCAG 2.0, 2.1
// and 2.2 at levels A and AA.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// axeTimeout bounds one run of axe-core over a page and its frames.
const axeTimeout = 60 * time.Second

// Violation is one axe-core rule that the page breaks, with the elements
// that break it.
type Violation struct {
	ID      string          `json:"id"`     // the rule, for example "color-contrast"
	Impact  string          `json:"impact"` // "minor", "moderate", "serious" or "critical"
	Help    string          `json:"help"`
	HelpURL string          `json:"helpUrl"`
	Tags    []string        `json:"tags"`
	Nodes   []ViolationNode `json:"nodes"`
}

// ViolationNode is one element that breaks a rule.
type ViolationNode struct {
	// Target locates the element: one CSS selector per document, from the top
	// document down through each iframe; the last selects the element. A
	// selector that crosses shadow roots has its parts joined by " >>> ".
	Target         []string `json:"target"`
	HTML           string   `json:"html"`
	FailureSummary string   `json:"failureSummary"`
}

// Blocking reports whether the violation's impact is serious or critical,
// which [Browser.CheckAccessibility] fails a test for.
func (v Violation) Blocking() bool {
	return v.Impact == "serious" || v.Impact == "critical"
}

// String names the rule, its impact, its help text and up to three elements,
// with the selectors of nested documents joined by " >> ".
func (v Violation) String() string {
	const shown = 3
	var targets []string
	for i, n := range v.Nodes {
		if i == shown {
			targets = append(targets, fmt.Sprintf("and %d more", len(v.Nodes)-shown))
			break
		}
		targets = append(targets, strings.Join(n.Target, " >> "))
	}
	return fmt.Sprintf("%s (%s): %s [%s]", v.ID, v.Impact, v.Help, strings.Join(targets, ", "))
}

// Axe runs axe-core's WCAG 2.0/2.1/2.2 A and AA rules ([AxeTags]) over the
// current page and its same-origin frames, and returns every violation.
// axe-core runs in an isolated world of each frame, so the page cannot
// tamper with it and does not see it. A frame that axe-core cannot enter
// (another origin, an opaque-origin sandbox) is left out after a short wait.
func (b *Browser) Axe() []Violation {
	b.t.Helper()
	vs, _ := b.axe()
	return vs
}

// CheckAccessibility runs [Browser.Axe] and reports an error on t, naming
// pageName, that lists every violation of impact serious or critical. It
// returns all violations, so that a caller can log the minor ones.
func (b *Browser) CheckAccessibility(t testing.TB, pageName string) []Violation {
	t.Helper()
	vs, version := b.axe()
	var blocking []string
	for _, v := range vs {
		if v.Blocking() {
			blocking = append(blocking, v.String())
		}
	}
	if len(blocking) > 0 {
		t.Errorf("browser: page %q has %d serious or critical accessibility violations (axe-core %s, %s):\n\t%s",
			pageName, len(blocking), version, strings.Join(AxeTags, ","), strings.Join(blocking, "\n\t"))
	}
	return vs
}

// axeResult is what the script in the page returns.
type axeResult struct {
	Version    string      `json:"version"`
	Violations []Violation `json:"violations"`
}

// axe injects axe-core into every frame it can reach and runs it from the
// top document. It returns the violations and the axe-core version.
func (b *Browser) axe() ([]Violation, string) {
	b.t.Helper()
	src, err := axeSource()
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, axeTimeout)
	defer cancel()
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		b.t.Fatalf("browser: failed to list the frames: %v", err)
	}
	top, err := injectAxe(ctx, tree.FrameTree, src)
	if err != nil {
		b.t.Fatalf("browser: failed to inject axe-core into %s: %v", tree.FrameTree.Frame.URL, err)
	}
	raw, err := evalIn(ctx, top, axeRunScript())
	if err != nil {
		b.t.Fatalf("browser: axe-core failed on %s: %v", tree.FrameTree.Frame.URL, err)
	}
	var res axeResult
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		b.t.Fatalf("browser: failed to decode the axe-core results: %v", err)
	}
	return res.Violations, res.Version
}

// injectAxe loads axe-core into a new isolated world of the frame and of each
// frame below it, and returns the execution context of the frame's world. A
// child frame that refuses it is skipped: axe-core then leaves it out.
func injectAxe(ctx context.Context, tree *page.FrameTree, src string) (runtime.ExecutionContextID, error) {
	world, err := chromedp.Call(ctx, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{
		FrameID:   tree.Frame.ID,
		WorldName: "sealpost-axe",
	})
	if err != nil {
		return 0, fmt.Errorf("failed to create an isolated world: %w", err)
	}
	if _, err := evalIn(ctx, world.ExecutionContextID, src+"\n;'loaded'"); err != nil {
		return 0, err
	}
	for _, child := range tree.ChildFrames {
		_, _ = injectAxe(ctx, child, src) // best effort, see above
	}
	return world.ExecutionContextID, nil
}

// evalIn evaluates the script in the execution context, waits for a promise,
// and returns the result, which must be a string.
func evalIn(ctx context.Context, id runtime.ExecutionContextID, script string) (string, error) {
	yes := true
	res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{
		Expression:    script,
		ContextID:     id,
		ReturnByValue: &yes,
		AwaitPromise:  &yes,
		Silent:        &yes,
	})
	if err != nil {
		return "", err
	}
	if d := res.ExceptionDetails; d != nil {
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg = d.Exception.Description
		}
		return "", fmt.Errorf("script threw: %s", msg)
	}
	var s string
	if err := json.Unmarshal(res.Result.Value, &s); err != nil {
		return "", fmt.Errorf("script returned %s, not a string", res.Result.Type)
	}
	return s, nil
}

// axeRunScript runs axe-core and returns its version and violations as JSON.
func axeRunScript() string {
	tags, _ := json.Marshal(AxeTags)
	return `axe.run(document, {
	runOnly: {type: 'tag', values: ` + string(tags) + `},
	resultTypes: ['violations'],
	frameWaitTime: 30000,
}).then(r => JSON.stringify({
	version: axe.version,
	violations: r.violations.map(v => ({
		id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl, tags: v.tags,
		nodes: v.nodes.map(n => ({
			target: n.target.map(s => Array.isArray(s) ? s.join(' >>> ') : String(s)),
			html: n.html,
			failureSummary: n.failureSummary || '',
		})),
	})),
}))`
}

var axeSourceOnce = sync.OnceValues(loadAxe)

// axeSource returns axe.min.js, read once per test binary.
func axeSource() (string, error) { return axeSourceOnce() }

// loadAxe asks scripts/axe.sh for the path of the pinned axe.min.js, which
// the script fetches with npm into the user cache the first time, and reads
// it.
func loadAxe() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "scripts", "axe.sh")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("failed to get axe-core with %s: %w: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	path := lines[len(lines)-1]
	src, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("failed to read axe-core: %w", err)
	}
	return string(src), nil
}
