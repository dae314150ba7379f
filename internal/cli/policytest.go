package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/sealpost/sealpost/policy"
	"github.com/sealpost/sealpost/policy/classify"
)

const policyUsage = "policy lint FILE | test [--policy FILE] [--json] PATH...   validate a policy; run it on .eml files"

// classifierOption gives a policy the classifier's detectors, as the relay
// does (gateway/node).
func classifierOption() policy.Option {
	return policy.WithDetectors(classify.New(classify.Config{}).Detectors()...)
}

// policyTestResult is one line of `policy test --json`. Evidence is redacted
// by the detectors; recipients are not printed.
type policyTestResult struct {
	File     string            `json:"file"`
	Action   string            `json:"action"`
	Rule     string            `json:"rule"`
	Score    float64           `json:"score"`
	Findings []policyTestFinds `json:"findings"`
	Error    string            `json:"error,omitempty"`
}

type policyTestFinds struct {
	Detector string   `json:"detector"`
	Count    int      `json:"count"`
	Score    float64  `json:"score"`
	Evidence []string `json:"evidence,omitempty"`
}

// cmdPolicyTest runs a policy (the built-in default unless --policy) with
// the classifier over .eml files and directories of them.
func cmdPolicyTest(ctx context.Context, e *env, args []string) error {
	fset := newFlags("policy test", e)
	file := fset.String("policy", "", "policy file (default: the built-in policy that sealpost dev runs)")
	asJSON := fset.Bool("json", false, "print one JSON object per message")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if fset.NArg() == 0 {
		return usageError{msg: "want at least one .eml file or directory"}
	}
	var eng *policy.Engine
	if *file != "" {
		var err error
		if eng, err = policy.Load(*file, classifierOption()); err != nil {
			return err
		}
	} else {
		eng = policy.Default(classifierOption())
	}
	var paths []string
	for _, p := range fset.Args() {
		found, err := emlFiles(p)
		if err != nil {
			return err
		}
		paths = append(paths, found...)
	}
	failed := 0
	enc := json.NewEncoder(e.stdout)
	for _, p := range paths {
		res := testOne(ctx, eng, p)
		if res.Error != "" {
			failed++
		}
		if *asJSON {
			if err := enc.Encode(res); err != nil {
				return fmt.Errorf("failed to write result: %w", err)
			}
			continue
		}
		printResult(e.stdout, res)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d messages could not be classified", failed, len(paths))
	}
	return nil
}

// emlFiles returns path itself if it is a file, or the .eml files under it.
func emlFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".eml") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list %s: %w", path, err)
	}
	return out, nil
}

// actionRank orders outcomes from least to most protective, and names them
// as `policy test` prints them.
var actionRank = map[policy.Action]struct {
	rank int
	name string
}{
	policy.ActionPass: {0, "pass"}, policy.ActionRequireTLS: {1, "tls"}, policy.ActionReject: {2, "reject"},
	policy.ActionSealDirect: {3, "seal"}, policy.ActionSeal: {3, "seal"},
}

// testOne decides one message. Recipients come from To and Cc (any
// recipient outside internal_domains is external); the message's action is
// the most protective outcome across them.
func testOne(ctx context.Context, eng *policy.Engine, path string) policyTestResult {
	res := policyTestResult{File: path, Findings: []policyTestFinds{}}
	raw, err := os.ReadFile(path)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		res.Error = "failed to parse header: " + err.Error()
		return res
	}
	in := &policy.Input{
		Sender:     firstAddress(h.Get("From")),
		Recipients: addresses(h.Get("To"), h.Get("Cc")),
		Header:     h,
		Size:       int64(len(raw)),
		Open:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
	}
	if len(in.Recipients) == 0 {
		in.Recipients = []string{"recipient@external.invalid"}
	}
	d, err := eng.Decide(ctx, in)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	best := d.Outcomes[0]
	for _, o := range d.Outcomes[1:] {
		if actionRank[o.Would].rank > actionRank[best.Would].rank {
			best = o
		}
	}
	res.Action, res.Rule = actionRank[best.Would].name, best.Rule
	for _, f := range d.Findings {
		if f.Detector == classify.PHI {
			res.Score = f.Score
		}
		res.Findings = append(res.Findings, policyTestFinds{Detector: f.Detector, Count: f.Count, Score: f.Score, Evidence: f.Evidence})
	}
	return res
}

func printResult(w io.Writer, r policyTestResult) {
	if r.Error != "" {
		fmt.Fprintf(w, "%s: error: %s\n", r.File, r.Error)
		return
	}
	fmt.Fprintf(w, "%s: %s (rule %s, score %.2f)\n", r.File, r.Action, r.Rule, r.Score)
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  %s: count %d, score %.2f\n", f.Detector, f.Count, f.Score)
		for _, ev := range f.Evidence {
			fmt.Fprintf(w, "    %s\n", ev)
		}
	}
}

func firstAddress(v string) string {
	if as := addresses(v); len(as) > 0 {
		return as[0]
	}
	return ""
}

func addresses(values ...string) []string {
	var out []string
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			continue
		}
		list, err := mail.ParseAddressList(v)
		if err != nil {
			continue
		}
		for _, a := range list {
			out = append(out, a.Address)
		}
	}
	return out
}
