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
// and Sensitivity headers seal; already-encrypted mail and everything else
// passes.
func Default(opts ...Option) *Engine {
	e, err := Parse(defaultPolicy, opts...)
	if err != nil {
		// The embedded file is tested; this is a build defect.
		panic(fmt.Sprintf("policy: invalid embedded default policy: %v", err))
	}
	return e
}
