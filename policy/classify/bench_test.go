package classify

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sealpost/sealpost/policy/clinical"
	"github.com/sealpost/sealpost/policy/detect"
	"github.com/sealpost/sealpost/policy/extract"
)

// benchCorpus loads every message of the committed corpus (clinical,
// business and health mail, with PDF and DOCX attachments) and its
// extracted text.
func benchCorpus(b *testing.B) (raws [][]byte, results []*extract.Result, texts []string) {
	b.Helper()
	files, err := filepath.Glob("../../testdata/corpus/*/*.eml")
	if err != nil || len(files) == 0 {
		b.Fatalf("no corpus under ../../testdata/corpus: %v", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		res, err := extract.Extract(context.Background(), bytes.NewReader(raw), extract.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
		results = append(results, res)
		for _, u := range res.Units {
			if u.Text != "" {
				texts = append(texts, u.Text)
			}
		}
	}
	return raws, results, texts
}

// naiveBaseline is the obvious way to do the same matching: one Go regexp,
// an alternation of every lexicon term with word boundaries,
// case-insensitive, white space as \s+.
func naiveBaseline(m *clinical.Matcher) *regexp.Regexp {
	alts := make([]string, 0, len(m.Terms()))
	for _, t := range m.Terms() {
		q := strings.ReplaceAll(regexp.QuoteMeta(t.Text), " ", `\s+`)
		alts = append(alts, q)
	}
	return regexp.MustCompile(`(?i)\b(?:` + strings.Join(alts, "|") + `)\b`)
}

// BenchmarkClassify reports MB/s per core (the benchmark runs on one
// goroutine) on the mixed corpus:
//
//   - eml: the whole classifier from raw message bytes (MIME, PDF and DOCX
//     extraction, identifiers, lexicon, structured sniffing, scoring);
//   - text: the classifier on already extracted text (identifiers, lexicon,
//     sniffing, scoring), bytes counted as text bytes;
//   - text-one-message: the same text as one message;
//   - lexicon: the Aho–Corasick lexicon alone on the text;
//   - identifiers: the identifier detectors alone on the text;
//   - regexp-baseline: the naive regexp alternation of the same lexicon on
//     the same text.
func BenchmarkClassify(b *testing.B) {
	raws, results, texts := benchCorpus(b)
	c := New(Config{})
	var rawBytes, textBytes int64
	for _, r := range raws {
		rawBytes += int64(len(r))
	}
	for _, t := range texts {
		textBytes += int64(len(t))
	}
	b.Run("eml", func(b *testing.B) {
		b.SetBytes(rawBytes)
		b.ReportAllocs()
		for b.Loop() {
			for _, r := range raws {
				if _, err := c.Classify(context.Background(), bytes.NewReader(r)); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("text", func(b *testing.B) {
		b.SetBytes(textBytes)
		b.ReportAllocs()
		for b.Loop() {
			for _, res := range results {
				c.classifyResult(res)
			}
		}
	})
	b.Run("text-one-message", func(b *testing.B) {
		// All the text as one message: per-byte cost without the
		// per-message work (findings, evidence, the report).
		one := &extract.Result{Units: []extract.Unit{{Where: "body", Kind: "text", Text: strings.Join(texts, "\n")}}}
		b.SetBytes(textBytes)
		b.ReportAllocs()
		for b.Loop() {
			c.classifyResult(one)
		}
	})
	b.Run("lexicon", func(b *testing.B) {
		b.SetBytes(textBytes)
		b.ReportAllocs()
		hits := make([]clinical.Hit, 0, 1024)
		for b.Loop() {
			for _, t := range texts {
				hits = c.lex.Scan(t, hits[:0])
			}
		}
	})
	b.Run("identifiers", func(b *testing.B) {
		b.SetBytes(textBytes)
		b.ReportAllocs()
		var ms []detect.Match
		for b.Loop() {
			for _, t := range texts {
				ms = c.ids.Find(t, ms[:0])
			}
		}
	})
	b.Run("regexp-baseline", func(b *testing.B) {
		re := naiveBaseline(c.lex)
		b.SetBytes(textBytes)
		b.ReportAllocs()
		for b.Loop() {
			for _, t := range texts {
				re.FindAllStringIndex(t, -1)
			}
		}
	})
}
