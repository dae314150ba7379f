package classify_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sealpost/sealpost/policy/classify"
)

// FuzzClassify feeds arbitrary messages to the classifier: it must not
// panic, and the score must stay in 0..1 with one phi finding.
func FuzzClassify(f *testing.F) {
	for _, p := range []string{"clinical/uk-gp-note-abbrev-00.eml", "clinical/hl7-oru-attachment-00.eml", "business/biz-invoice-01.eml"} {
		if b, err := os.ReadFile(filepath.Join(corpusDir, p)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Subject: x\r\n\r\nMSH|^~\\&|A\r\n"))
	c := classify.New(classify.Config{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := c.Classify(context.Background(), bytes.NewReader(raw))
		if err != nil {
			return
		}
		if math.IsNaN(r.Score) || r.Score < 0 || r.Score > 1 {
			t.Fatalf("score %v", r.Score)
		}
		if f := r.Finding(classify.PHI); f == nil || f.Count != 1 {
			t.Fatalf("phi finding %+v", f)
		}
	})
}
