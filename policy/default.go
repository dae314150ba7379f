package policy

import (
	_ "embed"
	"fmt"
)

//go:embed default.yaml
var defaultPolicy []byte

// DefaultYAML returns the text of the shipped default policy.
func DefaultYAML() []byte { return append([]byte(nil), defaultPolicy...) }

// Default returns the shipped default policy: subject tags, X-Sealpost-Encrypt
// and Sensitivity headers seal; already-encrypted mail passes; a PHI score of
// 0.5 or more seals, as do unscannable and encrypted parts bound for external
// recipients; everything else passes. The content rules need the classifier's
// detectors in opts (see [Engine.Missing]).
func Default(opts ...Option) *Engine {
	e, err := Parse(defaultPolicy, opts...)
	if err != nil {
		// The embedded file is tested; this is a build defect.
		panic(fmt.Sprintf("policy: invalid embedded default policy: %v", err))
	}
	return e
}
