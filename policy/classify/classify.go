package classify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-message/textproto"

	"github.com/sealpost/sealpost/policy"
	"github.com/sealpost/sealpost/policy/clinical"
	"github.com/sealpost/sealpost/policy/detect"
	"github.com/sealpost/sealpost/policy/extract"
)

// Finding names reported by the classifier, besides the identifier
// detectors' own names (detect.NHSNumber and the rest).
const (
	// PHI is the message-level score: how likely the message is to carry
	// a patient's health information.
	PHI = "phi"
	// Clinical counts clinical language (diagnoses, drugs with doses, lab
	// values, …).
	Clinical = "clinical"
	// Structured counts structured health payloads (HL7 v2, FHIR, CDA,
	// DICOM).
	Structured = "structured"
	// AnalyzerName is the name of the policy detector that runs the
	// classifier.
	AnalyzerName = "classify"
)

// Config configures a Classifier. The zero value is usable.
type Config struct {
	// Identifiers configures the identifier detectors (admin MRN patterns).
	Identifiers detect.Config
	// Limits bounds extraction. Zero fields take extract.DefaultLimits.
	Limits extract.Limits
}

// Classifier scores messages. It is immutable and safe for concurrent use.
type Classifier struct {
	limits  extract.Limits
	ids     detect.Detector
	lex     *clinical.Matcher
	weights [NumFeatures]float64
}

// New returns a classifier with the trained weights.
func New(cfg Config) *Classifier {
	return &Classifier{
		limits:  cfg.Limits,
		ids:     detect.Combined(cfg.Identifiers),
		lex:     clinical.Lexicon(),
		weights: trainedWeights,
	}
}

// Report is the classifier's answer for one message.
type Report struct {
	// Score is the message-level PHI score, 0..1.
	Score float64
	// Features are the model's inputs (see [FeatureNames]).
	Features []float64
	// Findings hold the PHI score, clinical language, structured payloads,
	// each identifier kind found, and unscannable or encrypted parts. All
	// evidence is redacted.
	Findings []policy.Finding
	// AttachmentTypes are the short types of the attachments ("pdf",
	// "docx", "zip", "image", …).
	AttachmentTypes []string
	// Truncated reports that extraction hit a budget.
	Truncated bool
}

// Finding returns the finding with the given name, or nil.
func (r *Report) Finding(name string) *policy.Finding {
	for i := range r.Findings {
		if r.Findings[i].Detector == name {
			return &r.Findings[i]
		}
	}
	return nil
}

// Classify extracts the message's text once and runs every detector on it.
// It fails only if ctx is done. A message whose structure cannot be read at
// all is reported as unscannable (so that a policy can seal it rather than
// defer it forever).
func (c *Classifier) Classify(ctx context.Context, msg io.Reader) (*Report, error) {
	res, err := extract.Extract(ctx, msg, c.limits)
	if cerr := ctx.Err(); cerr != nil {
		return nil, fmt.Errorf("failed to classify: %w", cerr)
	}
	if err != nil {
		res = &extract.Result{Skipped: []extract.Skipped{{Where: "message", Kind: "message", Reason: extract.ReasonUnscannable}}}
	}
	return c.classifyResult(res), nil
}

// idFinding accumulates one identifier kind.
type idFinding struct {
	count    int
	score    float64
	evidence []string
}

const maxEvidence = 8

// scratch is per-call working memory, pooled so that classifying a message
// does not allocate it afresh.
type scratch struct {
	seen    []uint8
	hits    []clinical.Hit
	matches []detect.Match
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (s *scratch) reset(terms int) {
	if cap(s.seen) < terms {
		s.seen = make([]uint8, terms)
	}
	s.seen = s.seen[:terms]
	clear(s.seen)
}

func (c *Classifier) classifyResult(res *extract.Result) *Report {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.reset(len(c.lex.Terms()))
	var (
		cnt      counts
		seen     = sc.seen     // per term: bit 0 seen, bit 1 seen qualified
		hits     = sc.hits[:0] // reused across units
		matches  = sc.matches[:0]
		ids      = map[string]*idFinding{}
		payloads []string
		r        = &Report{Truncated: res.Truncated}
	)
	defer func() { sc.hits, sc.matches = hits[:0], matches[:0] }()
	for _, u := range res.Units {
		// A whole part is sniffed in its decoded form (Raw); text without
		// a part of its own (the Subject, pieces of documents) as text.
		sniff := u.Text
		if u.Raw != nil {
			sniff = string(u.Raw)
		}
		if p, ok := clinical.Sniff(sniff); ok {
			cnt.payloadOK = true
			cnt.payload = math.Max(cnt.payload, p.Score)
			payloads = append(payloads, p.Describe()+" in "+u.Where)
		}
		if u.Text == "" {
			continue
		}
		var words int
		hits, words = c.lex.ScanWords(u.Text, hits[:0])
		cnt.words += words
		for _, h := range hits {
			cnt.hits[h.Group]++
			if seen[h.Term]&1 == 0 {
				seen[h.Term] |= 1
				cnt.distinct[h.Group]++
			}
			if h.Qualified && seen[h.Term]&2 == 0 {
				switch h.Group {
				case clinical.Drug:
					seen[h.Term] |= 2
					cnt.drugDose++
				case clinical.Salutation:
					seen[h.Term] |= 2
					cnt.named++
				}
			}
		}
		matches = c.ids.Find(u.Text, matches[:0])
		for _, m := range matches {
			if m.Score < 0.5 {
				continue
			}
			f := ids[m.Detector]
			if f == nil {
				f = &idFinding{}
				ids[m.Detector] = f
			}
			f.count++
			f.score = math.Max(f.score, m.Score)
			if len(f.evidence) < maxEvidence {
				f.evidence = append(f.evidence, m.Evidence+" in "+u.Where)
			}
			switch m.Detector {
			case detect.DOB:
				cnt.dob++
			case detect.ICD10, detect.SNOMED:
				cnt.codes++
			default:
				cnt.ids++
				if m.Score >= 0.9 {
					cnt.strongIDs++
				}
			}
		}
	}

	v := cnt.vector()
	r.Features = v[:]
	z := 0.0
	for i, w := range c.weights {
		z += w * v[i]
	}
	score := 1 / (1 + math.Exp(-z))
	if cnt.payloadOK {
		score = math.Max(score, cnt.payload)
	}
	r.Score = score

	r.Findings = append(r.Findings, policy.Finding{Detector: PHI, Count: 1, Score: score, Evidence: c.explain(v, payloads)})
	clin := cnt.distinct[clinical.Diagnosis] + cnt.distinct[clinical.Symptom] + cnt.distinct[clinical.Drug] +
		cnt.distinct[clinical.Procedure] + cnt.hits[clinical.Lab] + cnt.hits[clinical.Vital]
	if clin > 0 {
		r.Findings = append(r.Findings, policy.Finding{
			Detector: Clinical, Count: clin, Score: math.Min(1, float64(clin)/10),
			Evidence: clinicalEvidence(&cnt),
		})
	}
	if len(payloads) > 0 {
		r.Findings = append(r.Findings, policy.Finding{Detector: Structured, Count: len(payloads), Score: cnt.payload, Evidence: capList(payloads)})
	}
	names := make([]string, 0, len(ids))
	for name := range ids {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := ids[name]
		r.Findings = append(r.Findings, policy.Finding{Detector: name, Count: f.count, Score: f.score, Evidence: f.evidence})
	}

	var unscannable, encrypted []string
	for _, s := range res.Skipped {
		ev := s.Where + " (" + s.Kind + ")"
		if s.Reason == extract.ReasonEncrypted {
			encrypted = append(encrypted, ev)
		} else {
			unscannable = append(unscannable, ev)
		}
	}
	if res.Truncated && len(unscannable) == 0 {
		unscannable = append(unscannable, "message cut short by a scanning budget")
	}
	if len(unscannable) > 0 {
		r.Findings = append(r.Findings, policy.Finding{Detector: policy.FindingUnscannable, Count: len(unscannable), Score: 1, Evidence: capList(unscannable)})
	}
	if len(encrypted) > 0 {
		r.Findings = append(r.Findings, policy.Finding{Detector: policy.FindingEncryptedAttachment, Count: len(encrypted), Score: 1, Evidence: capList(encrypted)})
	}
	r.AttachmentTypes = attachmentTypes(res)
	return r
}

func capList(s []string) []string {
	if len(s) > maxEvidence {
		s = s[:maxEvidence]
	}
	return slices.Clone(s)
}

// clinicalEvidence gives counts per group, never a term: a drug name next to
// a recipient is health information, and even a cue ("discharge summary")
// quotes the message.
func clinicalEvidence(cnt *counts) []string {
	d := &cnt.distinct
	var b []byte
	list := func(prefix string, items ...any) string {
		b = append(b[:0], prefix...)
		first := true
		for i := 0; i+1 < len(items); i += 2 {
			n := items[i].(int)
			if n <= 0 {
				continue
			}
			if !first {
				b = append(b, ", "...)
			}
			first = false
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, ' ')
			b = append(b, items[i+1].(string)...)
		}
		if first {
			return ""
		}
		return string(b)
	}
	var ev []string
	if s := list("terms: ",
		d[clinical.Diagnosis], "diagnoses", d[clinical.Symptom], "symptoms", cnt.drugDose, "drugs with a dose",
		d[clinical.Drug]-cnt.drugDose, "other drug names", d[clinical.Procedure], "procedures",
		cnt.hits[clinical.Lab], "lab values", cnt.hits[clinical.Vital], "vital signs"); s != "" {
		ev = append(ev, s)
	}
	if s := list("cues: ",
		d[clinical.Letter], "letter", d[clinical.Note], "note shorthand", d[clinical.Personal], "personal",
		cnt.named, "named person", d[clinical.Population], "population", d[clinical.Marketing], "marketing",
		d[clinical.News], "news"); s != "" {
		ev = append(ev, s)
	}
	return ev
}

// explain lists the features that moved the score most, with their
// contribution, so that an admin can see why a message scored as it did.
func (c *Classifier) explain(v [NumFeatures]float64, payloads []string) []string {
	type contrib struct {
		feature int
		val     float64
	}
	var buf [NumFeatures]contrib
	cs := buf[:0]
	for i := 1; i < NumFeatures; i++ {
		if x := c.weights[i] * v[i]; math.Abs(x) >= 0.05 {
			cs = append(cs, contrib{i, x})
		}
	}
	// Insertion sort by magnitude: at most NumFeatures entries.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && math.Abs(cs[j].val) > math.Abs(cs[j-1].val); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
	ev := make([]string, 0, maxEvidence)
	if len(payloads) > 0 {
		ev = append(ev, "structured payload: "+payloads[0])
	}
	var b []byte
	for _, x := range cs {
		if len(ev) == maxEvidence {
			break
		}
		b = append(b[:0], featureNames[x.feature]...)
		b = appendSigned2(append(b, ' '), x.val)
		ev = append(ev, string(b))
	}
	return ev
}

// appendSigned2 appends v with a sign and two decimals ("+7.93", "-0.05").
func appendSigned2(b []byte, v float64) []byte {
	sign := byte('+')
	if v < 0 {
		sign, v = '-', -v
	}
	cents := int64(math.Round(v * 100))
	b = append(b, sign)
	b = strconv.AppendInt(b, cents/100, 10)
	b = append(b, '.', byte('0'+cents/10%10), byte('0'+cents%10))
	return b
}

// attachmentTypes derives short types from the places of units and
// skipped parts: "pdf", "docx", "zip", "image", …
func attachmentTypes(res *extract.Result) []string {
	var out []string
	add := func(t string) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	consider := func(where, kind string) {
		if !strings.HasPrefix(where, "attachment") {
			return
		}
		if strings.Contains(where, "zip entry") {
			add("zip")
		}
		if strings.Contains(where, "gzip") {
			add("gzip")
		}
		switch kind {
		case "header-subject", "":
		case "text":
			if strings.Contains(where, "text/plain") || !strings.Contains(where, "(") {
				add("text")
			}
		default:
			add(kind)
		}
	}
	for _, u := range res.Units {
		consider(u.Where, u.Kind)
	}
	for _, s := range res.Skipped {
		consider(s.Where, s.Kind)
	}
	sort.Strings(out)
	return out
}

// Names lists the finding names the classifier reports.
func Names() []string {
	return []string{
		PHI, Clinical, Structured, policy.FindingUnscannable, policy.FindingEncryptedAttachment,
		detect.NHSNumber, detect.CHINumber, detect.HCNumber, detect.NINO, detect.SSN, detect.NPI,
		detect.DEA, detect.MBI, detect.MRN, detect.SNOMED, detect.ICD10, detect.DOB,
	}
}

// Detectors returns what policy.WithDetectors needs: a single
// [policy.Analyzer] that extracts the message once per Decide and reports
// every finding in [Names].
func (c *Classifier) Detectors() []policy.Detector { return []policy.Detector{analyzer{c}} }

type analyzer struct{ c *Classifier }

var _ policy.Analyzer = analyzer{}

func (analyzer) Name() string    { return AnalyzerName }
func (analyzer) Names() []string { return Names() }

// Detect reports the PHI finding alone; the engine calls Analyze instead.
func (a analyzer) Detect(ctx context.Context, in *policy.Input) (*policy.Finding, error) {
	an, err := a.Analyze(ctx, in)
	if err != nil {
		return nil, err
	}
	for _, f := range an.Findings {
		if f.Detector == PHI {
			return &f, nil
		}
	}
	return nil, nil
}

func (a analyzer) Analyze(ctx context.Context, in *policy.Input) (*policy.Analysis, error) {
	if in == nil {
		return nil, errors.New("failed to classify: nil input")
	}
	var msg io.Reader
	if in.Open != nil {
		rc, err := in.Open()
		if err != nil {
			return nil, fmt.Errorf("failed to open message: %w", err)
		}
		defer rc.Close()
		msg = rc
	} else {
		// Header only: the Subject still counts.
		var b bytes.Buffer
		if err := textproto.WriteHeader(&b, in.Header); err != nil {
			return nil, fmt.Errorf("failed to write header: %w", err)
		}
		msg = &b
	}
	r, err := a.c.Classify(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &policy.Analysis{Findings: r.Findings, AttachmentTypes: r.AttachmentTypes}, nil
}
