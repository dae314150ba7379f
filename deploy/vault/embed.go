package vaultpolicy

import (
	"embed"
	"io/fs"
	"strings"
)

// FS holds the policy files, named "<policy name>.hcl".
//
//go:embed *.hcl
var FS embed.FS

// Policy names, one per Sealpost role.
const (
	Relay  = "sealpost-relay"
	Portal = "sealpost-portal"
	Admin  = "sealpost-admin"
	// Rewrap is the background rewrap job's policy: Transit rewrap only.
	Rewrap = "sealpost-rewrap"
)

// Names lists the policies in the order Setup installs them.
func Names() []string { return []string{Relay, Portal, Admin, Rewrap} }

// Policies returns every embedded policy keyed by policy name (the file name
// without ".hcl").
func Policies() map[string]string {
	out := make(map[string]string)
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		// The embedded FS is fixed at build time; reading its root cannot fail.
		panic("vaultpolicy: failed to read embedded policies: " + err.Error())
	}
	for _, e := range entries {
		b, err := fs.ReadFile(FS, e.Name())
		if err != nil {
			panic("vaultpolicy: failed to read embedded policy: " + err.Error())
		}
		out[strings.TrimSuffix(e.Name(), ".hcl")] = string(b)
	}
	return out
}
