package cli_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sealpost/sealpost/internal/vaulttest"
)

// `sealpost vault setup` prints the AppRole role ids (stable across runs),
// secret ids only when asked, and enables the audit device once.
func TestVaultSetupAppRolesAndAudit(t *testing.T) {
	v := vaulttest.Start(t) // before isolate: it finds bin/vault from the working directory
	dir := isolate(t)
	t.Setenv("VAULT_ADDR", v.Addr)
	t.Setenv("VAULT_TOKEN", v.RootToken)
	audit := filepath.Join(dir, "vault-audit.log")

	roleRE := regexp.MustCompile(`(?m)^  sealpost-relay:\s+role_id (\S+)(?:\s+secret_id (\S+))?$`)
	setup := func(args ...string) (roleID, secretID, out string) {
		t.Helper()
		code, stdout, stderr := run(t, append([]string{"vault", "setup"}, args...)...)
		if code != 0 {
			t.Fatalf("vault setup %v: exit %d: %s", args, code, stderr)
		}
		m := roleRE.FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("vault setup %v printed no relay role id:\n%s", args, stdout)
		}
		return m[1], m[2], stdout
	}

	id1, sid1, out := setup()
	if sid1 != "" || !strings.Contains(out, "WARNING: Vault has no audit device") {
		t.Fatalf("setup without flags: secret id %q, output:\n%s", sid1, out)
	}
	id2, sid2, out := setup("-audit-file", audit, "-secret-ids")
	if id2 != id1 || sid2 == "" || !strings.Contains(out, "Vault audit devices: sealpost/ (file)") {
		t.Fatalf("setup -audit-file -secret-ids: role id %q (first %q), secret id %q, output:\n%s", id2, id1, sid2, out)
	}
	id3, sid3, out := setup("-audit-file", audit, "-secret-ids")
	if id3 != id1 || sid3 == "" || sid3 == sid2 || strings.Count(out, "(file)") != 1 {
		t.Fatalf("second setup with the audit file: role id %q, secret id %q (before %q), output:\n%s", id3, sid3, sid2, out)
	}

	if code, _, stderr := run(t, "vault", "setup", "-audit-file"); code != 2 || stderr == "" {
		t.Fatalf("vault setup -audit-file without a value: exit %d %q, want a usage error", code, stderr)
	}
	if code, _, stderr := run(t, "vault", "setup", "-audit-file", "relative.log"); code != 1 || !strings.Contains(stderr, "absolute") {
		t.Fatalf("vault setup with a relative audit file: exit %d %q", code, stderr)
	}
}
