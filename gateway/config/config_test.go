package config

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// minimal is the smallest valid file: everything else has a default.
const minimal = `
vault:
  address: http://127.0.0.1:8200
  token: s.test
next_hop:
  addr: 127.0.0.1:25
`

// clearVaultEnv keeps the developer's VAULT_ADDR and VAULT_TOKEN out of the
// defaults under test.
func clearVaultEnv(t *testing.T) {
	t.Helper()
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("VAULT_TOKEN", "")
}

// fieldErrors returns the fields named by every *FieldError inside err.
func fieldErrors(t *testing.T, err error) []string {
	t.Helper()
	var fields []string
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*FieldError); ok {
			fields = append(fields, fe.Field)
			if !strings.Contains(fe.Error(), fe.Field) {
				t.Errorf("error %q does not name its field %q", fe.Error(), fe.Field)
			}
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		t.Errorf("error %v (%T) is neither a *FieldError nor a joined error", err, err)
	}
	walk(err)
	slices.Sort(fields)
	return fields
}

func TestParseDefaults(t *testing.T) {
	clearVaultEnv(t)
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatalf("Parse(minimal): %v", err)
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"hostname", c.Hostname, host},
		{"organisation", c.Organisation, "Sealpost"},
		{"relay.smtp_listen", c.Relay.SMTPListen, "127.0.0.1:2525"},
		{"relay.lmtp_listen", c.Relay.LMTPListen, "127.0.0.1:2424"},
		{"relay.tls_cert", c.Relay.TLSCert, ""},
		{"relay.require_tls", c.Relay.RequireTLS, false},
		{"relay.allow_networks", c.Relay.AllowNetworks, []string{"127.0.0.0/8", "::1/128"}},
		{"relay.max_message_bytes", c.Relay.MaxMessageBytes, int64(50 << 20)},
		{"relay.max_recipients", c.Relay.MaxRecipients, 100},
		{"relay.max_connections", c.Relay.MaxConnections, 200},
		{"relay.read_timeout", c.Relay.ReadTimeout, 5 * time.Minute},
		{"relay.write_timeout", c.Relay.WriteTimeout, 5 * time.Minute},
		{"relay.process_timeout", c.Relay.ProcessTimeout, 2 * time.Minute},
		{"portal.listen", c.Portal.Listen, "127.0.0.1:8080"},
		{"portal.url", c.Portal.URL, "http://localhost:8080"},
		{"admin.listen", c.Admin.Listen, "127.0.0.1:9090"},
		{"vault.transit_mount", c.Vault.TransitMount, "transit"},
		{"vault.wrap_key", c.Vault.WrapKey, "sealpost-wrap"},
		{"vault.audit_key", c.Vault.AuditKey, "sealpost-audit"},
		{"vault.portal_key", c.Vault.PortalKey, "sealpost-portal"},
		{"vault.kv_mount", c.Vault.KVMount, "sealpost"},
		{"vault.timeout", c.Vault.Timeout, 5 * time.Second},
		{"vault.wrap", c.Vault.Wrap, "local"},
		{"store.path", c.Store.Path, "var/sealpost.db"},
		{"audit.checkpoint_path", c.Audit.CheckpointPath, "var/audit.checkpoint"},
		{"audit.checkpoint_every", c.Audit.CheckpointEvery, 10 * time.Second},
		{"policy.path", c.Policy.Path, ""},
		{"seal.subject", c.Seal.Subject, "Secure message from Sealpost"},
		{"next_hop.tls", c.NextHop.TLS, "verify"},
		{"next_hop.timeout", c.NextHop.Timeout, 30 * time.Second},
		{"next_hop.max_idle", c.NextHop.MaxIdle, 4},
		{"tls_next_hop.addr", c.TLSNextHop.Addr, ""},
		{"tls_next_hop.tls", c.TLSNextHop.TLS, "verify"},
		{"tls_next_hop.timeout", c.TLSNextHop.Timeout, 30 * time.Second},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"spool.dir", c.Spool.Dir, ""},
		{"spool.memory_limit", c.Spool.MemoryLimit, int64(1 << 20)},
		{"degraded.pass_when_vault_down", c.Degraded.PassWhenVaultDown, false},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want default %#v", tc.name, tc.got, tc.want)
		}
	}
}

func TestParseKeepsExplicitValues(t *testing.T) {
	clearVaultEnv(t)
	c, err := Parse([]byte(`
organisation: Example NHS Trust
relay:
  smtp_listen: "off"
  lmtp_listen: 0.0.0.0:24
  allow_networks: [10.0.0.0/8]
  max_message_bytes: 2048
  read_timeout: 30s
vault:
  address: https://vault.example.org:8200
  token_file: /run/token
  wrap: transit
next_hop:
  addr: mx.example.org:25
  tls: opportunistic
log:
  level: DEBUG
  format: json
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Relay.SMTPListen != "off" || c.Relay.LMTPListen != "0.0.0.0:24" {
		t.Errorf("listen = %q, %q; want off, 0.0.0.0:24", c.Relay.SMTPListen, c.Relay.LMTPListen)
	}
	if !slices.Equal(c.Relay.AllowNetworks, []string{"10.0.0.0/8"}) {
		t.Errorf("allow_networks = %v, the default must not be merged in", c.Relay.AllowNetworks)
	}
	if c.Relay.MaxMessageBytes != 2048 || c.Relay.ReadTimeout != 30*time.Second || c.Relay.WriteTimeout != 5*time.Minute {
		t.Errorf("relay = %+v", c.Relay)
	}
	if c.Seal.Subject != "Secure message from Example NHS Trust" {
		t.Errorf("seal.subject = %q, want it to follow organisation", c.Seal.Subject)
	}
	if c.NextHop.TLS != "opportunistic" {
		t.Errorf("next_hop.tls = %q", c.NextHop.TLS)
	}
	if c.Vault.Wrap != "transit" {
		t.Errorf("vault.wrap = %q, want transit", c.Vault.Wrap)
	}
}

func TestParseVaultFromEnvironment(t *testing.T) {
	t.Setenv("VAULT_ADDR", "http://vault.internal:8200")
	t.Setenv("VAULT_TOKEN", "s.from-env")
	c, err := Parse([]byte("next_hop: {addr: 127.0.0.1:25}\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Vault.Address != "http://vault.internal:8200" || c.Vault.Token != "s.from-env" {
		t.Errorf("vault = %q, %q; want the environment's", c.Vault.Address, c.Vault.Token)
	}
	// With a token file, VAULT_TOKEN must not be used behind the file's back.
	c, err = Parse([]byte("vault: {token_file: /run/token}\nnext_hop: {addr: 127.0.0.1:25}\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Vault.Token != "" {
		t.Errorf("vault.token = %q with token_file set, want empty", c.Vault.Token)
	}
}

func TestParseErrors(t *testing.T) {
	clearVaultEnv(t)
	const vaultOK = "vault: {address: http://127.0.0.1:8200, token: t}\n"
	const hopOK = "next_hop: {addr: 127.0.0.1:25}\n"
	for _, tc := range []struct {
		name   string
		yaml   string
		fields []string // the fields named, sorted
	}{
		{"bad smtp listen", "relay: {smtp_listen: nope}\n" + vaultOK + hopOK, []string{"relay.smtp_listen"}},
		{"bad lmtp listen", "relay: {lmtp_listen: '2424'}\n" + vaultOK + hopOK, []string{"relay.lmtp_listen"}},
		{"bad portal listen", "portal: {listen: localhost}\n" + vaultOK + hopOK, []string{"portal.listen"}},
		{"bad admin listen", "admin: {listen: '9090'}\n" + vaultOK + hopOK, []string{"admin.listen"}},
		{"both listeners off", "relay: {smtp_listen: 'off', lmtp_listen: 'off'}\n" + vaultOK + hopOK, []string{"relay"}},
		{"tls_key without tls_cert", "relay: {tls_key: /k.pem}\n" + vaultOK + hopOK, []string{"relay.tls_cert"}},
		{"tls_cert without tls_key", "relay: {tls_cert: /c.pem}\n" + vaultOK + hopOK, []string{"relay.tls_cert"}},
		{"require_tls without cert", "relay: {require_tls: true}\n" + vaultOK + hopOK, []string{"relay.require_tls"}},
		{"auth without cert", "relay: {auth_users_file: /u}\n" + vaultOK + hopOK, []string{"relay.auth_users_file"}},
		{"bad CIDR", "relay: {allow_networks: [10.0.0.0/33]}\n" + vaultOK + hopOK, []string{"relay.allow_networks[0]"}},
		{"bare address is not a CIDR", "relay: {allow_networks: [127.0.0.0/8, 10.1.2.3]}\n" + vaultOK + hopOK, []string{"relay.allow_networks[1]"}},
		{"tiny max message", "relay: {max_message_bytes: 100}\n" + vaultOK + hopOK, []string{"relay.max_message_bytes"}},
		{"negative max recipients", "relay: {max_recipients: -1}\n" + vaultOK + hopOK, []string{"relay.max_recipients"}},
		{"negative max connections", "relay: {max_connections: -5}\n" + vaultOK + hopOK, []string{"relay.max_connections"}},
		{"negative read timeout", "relay: {read_timeout: -1s}\n" + vaultOK + hopOK, []string{"relay.read_timeout"}},
		{"negative process timeout", "relay: {process_timeout: -2m}\n" + vaultOK + hopOK, []string{"relay.process_timeout"}},
		{"portal url not http", "portal: {url: 'ftp://files.example.org'}\n" + vaultOK + hopOK, []string{"portal.url"}},
		{"portal url without host", "portal: {url: 'https://'}\n" + vaultOK + hopOK, []string{"portal.url"}},
		{"portal url plain http", "portal: {url: 'http://portal.example.org'}\n" + vaultOK + hopOK, []string{"portal.url"}},
		{"missing vault address", "vault: {token: t}\n" + hopOK, []string{"vault.address"}},
		{"vault address not a URL", "vault: {address: vault.example.org, token: t}\n" + hopOK, []string{"vault.address"}},
		{"missing vault token", "vault: {address: http://127.0.0.1:8200}\n" + hopOK, []string{"vault.token_file"}},
		{"negative vault timeout", "vault: {address: http://127.0.0.1:8200, token: t, timeout: -5s}\n" + hopOK, []string{"vault.timeout"}},
		{"vault.wrap unknown", "vault: {address: http://127.0.0.1:8200, token: t, wrap: remote}\n" + hopOK, []string{"vault.wrap"}},
		{"missing next_hop.addr", vaultOK, []string{"next_hop.addr"}},
		{"next_hop.addr without port", vaultOK + "next_hop: {addr: mx.example.org}\n", []string{"next_hop.addr"}},
		{"next_hop.tls unknown", vaultOK + "next_hop: {addr: 127.0.0.1:25, tls: maybe}\n", []string{"next_hop.tls"}},
		{"next_hop username without password", vaultOK + "next_hop: {addr: 127.0.0.1:25, username: u}\n", []string{"next_hop.password_file"}},
		{"next_hop negative max_idle", vaultOK + "next_hop: {addr: 127.0.0.1:25, max_idle: -1}\n", []string{"next_hop.max_idle"}},
		{"next_hop negative timeout", vaultOK + "next_hop: {addr: 127.0.0.1:25, timeout: -1s}\n", []string{"next_hop.timeout"}},
		{"tls_next_hop not verify", vaultOK + hopOK + "tls_next_hop: {addr: 127.0.0.1:26, tls: opportunistic}\n", []string{"tls_next_hop.tls"}},
		{"tls_next_hop none", vaultOK + hopOK + "tls_next_hop: {addr: 127.0.0.1:26, tls: none}\n", []string{"tls_next_hop.tls"}},
		{"tls_next_hop bad addr", vaultOK + hopOK + "tls_next_hop: {addr: partner}\n", []string{"tls_next_hop.addr"}},
		{"bad log level", vaultOK + hopOK + "log: {level: loud}\n", []string{"log.level"}},
		{"bad log format", vaultOK + hopOK + "log: {format: xml}\n", []string{"log.format"}},
		{"negative spool limit", vaultOK + hopOK + "spool: {memory_limit: -1}\n", []string{"spool.memory_limit"}},
		{"checkpoint too often", vaultOK + hopOK + "audit: {checkpoint_every: 500ms}\n", []string{"audit.checkpoint_every"}},
		{
			"several at once",
			"relay: {smtp_listen: nope, allow_networks: [bad], require_tls: true}\nlog: {level: loud}\n",
			[]string{"log.level", "next_hop.addr", "relay.allow_networks[0]", "relay.require_tls", "relay.smtp_listen", "vault.address", "vault.token_file"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			if got := fieldErrors(t, err); !slices.Equal(got, tc.fields) {
				t.Errorf("fields named = %q, want %q (error: %v)", got, tc.fields, err)
			}
		})
	}
}

func TestParseRejectsUnknownAndMistyped(t *testing.T) {
	clearVaultEnv(t)
	for _, tc := range []struct {
		name, yaml, mention string
	}{
		{"unknown top-level field", minimal + "colour: red\n", "colour"},
		{"unknown nested field", minimal + "relay: {smtp_port: 25}\n", "smtp_port"},
		{"misspelt section", minimal + "nexthop: {addr: 127.0.0.1:25}\n", "nexthop"},
		{"string for a number", minimal + "relay: {max_recipients: lots}\n", "lots"},
		{"number for a duration", minimal + "relay: {read_timeout: 300}\n", "300"},
		{"bad duration", "vault: {address: http://v:8200, token: t, timeout: soon}\nnext_hop: {addr: 127.0.0.1:25}\n", "soon"},
		{"not a mapping", "- a\n- b\n", "config"},
		{"duplicate key", minimal + "log: {level: info}\nlog: {level: debug}\n", "log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", c)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
			var fe *FieldError
			if errors.As(err, &fe) {
				t.Errorf("a decode error came back as a field error: %v", fe)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	clearVaultEnv(t)
	_, err := Parse(nil)
	if got, want := fieldErrors(t, err), []string{"next_hop.addr", "vault.address", "vault.token_file"}; !slices.Equal(got, want) {
		t.Errorf("empty file: fields = %q, want %q", got, want)
	}
}

func TestLoad(t *testing.T) {
	clearVaultEnv(t)
	path := filepath.Join(t.TempDir(), "sealpost.yaml")
	if err := os.WriteFile(path, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.NextHop.Addr != "127.0.0.1:25" {
		t.Errorf("next_hop.addr = %q", c.NextHop.Addr)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a wrapped ErrNotExist", err)
	}
}

// TestFieldDocs keeps the reference honest: every leaf field of the config
// has its own doc comment that gives its default or says it is required, and
// a yaml tag.
func TestFieldDocs(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	structs := map[string]*ast.StructType{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, s := range gd.Specs {
			ts := s.(*ast.TypeSpec)
			if st, ok := ts.Type.(*ast.StructType); ok {
				structs[ts.Name.Name] = st
				if gd.Doc == nil && ts.Doc == nil {
					t.Errorf("type %s has no doc comment", ts.Name.Name)
				}
			}
		}
	}
	leaves := 0
	for _, typ := range []string{"Config", "Relay", "Portal", "PortalBranding", "PortalSMS", "PortalVault", "Admin", "Vault", "VaultAppRole", "Store", "Audit", "Policy", "Seal", "NextHop", "Log", "Spool", "Degraded", "Retention", "Rewrap"} {
		st, ok := structs[typ]
		if !ok {
			t.Errorf("type %s not found in config.go", typ)
			continue
		}
		for _, fld := range st.Fields.List {
			for _, name := range fld.Names {
				where := fmt.Sprintf("%s.%s (%s)", typ, name.Name, fset.Position(name.Pos()))
				if fld.Tag == nil || !strings.Contains(fld.Tag.Value, `yaml:"`) {
					t.Errorf("%s has no yaml tag", where)
				}
				if id, ok := fld.Type.(*ast.Ident); ok && structs[id.Name] != nil {
					continue // a section: its own fields are checked
				}
				leaves++
				if len(fld.Names) != 1 {
					t.Errorf("%s shares a declaration with other fields; give each its own comment", where)
				}
				if fld.Doc == nil {
					t.Errorf("%s has no doc comment", where)
					continue
				}
				doc := fld.Doc.Text()
				if !strings.Contains(doc, "Default") && !strings.Contains(doc, "Required") {
					t.Errorf("%s: doc comment %q gives neither its Default nor Required", where, doc)
				}
				if !strings.HasPrefix(doc, name.Name+" ") {
					t.Errorf("%s: doc comment should begin with the field name: %q", where, doc)
				}
			}
		}
	}
	if leaves < 40 {
		t.Errorf("checked only %d leaf fields; the walk is broken", leaves)
	}
}

// yamlPaths lists the dotted yaml paths of every leaf field of t, with the
// Go type name of the section holding it.
func yamlPaths(t reflect.Type, prefix string) (paths []string, section map[string]string) {
	section = map[string]string{}
	var walk func(reflect.Type, string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			p := tag
			if prefix != "" {
				p = prefix + "." + tag
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
				walk(f.Type, p)
				continue
			}
			paths = append(paths, p)
			section[p] = t.Name()
		}
	}
	walk(t, prefix)
	return paths, section
}

// docYAML returns the YAML block of docs/config.md.
func docYAML(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	if err != nil {
		t.Fatalf("failed to read the reference: %v", err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	if !ok {
		t.Fatal("docs/config.md has no ```yaml block")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("docs/config.md: the yaml block is not closed")
	}
	return []byte(block)
}

// TestDocsListEveryField checks that docs/config.md documents every yaml key
// of the Config struct, and nothing that is not one.
func TestDocsListEveryField(t *testing.T) {
	block := docYAML(t)
	var root yaml.Node
	if err := yaml.Unmarshal(block, &root); err != nil {
		t.Fatalf("docs/config.md's YAML does not parse: %v", err)
	}
	keys := map[string]bool{}
	comments := map[string]string{} // section → every comment in it
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind == yaml.DocumentNode {
			walk(n.Content[0], prefix)
			return
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if prefix != "" {
				p = prefix + "." + k.Value
			}
			keys[p] = true
			comments[prefix] += k.HeadComment + k.LineComment + v.LineComment + v.HeadComment + "\n"
			walk(v, p)
		}
	}
	walk(&root, "")

	paths, section := yamlPaths(reflect.TypeFor[Config](), "")
	documentedIn := map[string]bool{} // "NextHop.addr": a section of that type lists the key
	for _, p := range paths {
		if keys[p] {
			_, leaf := splitLast(p)
			documentedIn[section[p]+"."+leaf] = true
		}
	}
	for _, p := range paths {
		if keys[p] {
			continue
		}
		sec, leaf := splitLast(p)
		switch {
		case documentedIn[section[p]+"."+leaf]:
			// Another section of the same type (next_hop for tls_next_hop)
			// documents the key.
		case strings.Contains(comments[sec], leaf+":"):
			// Named in the section's comments, e.g. "Or token:".
		default:
			t.Errorf("docs/config.md does not document %s", p)
		}
	}

	// And the documented example is itself a valid file: no key the struct
	// lacks, no value the validation refuses.
	clearVaultEnv(t)
	if _, err := Parse(block); err != nil {
		t.Errorf("docs/config.md's example does not parse: %v", err)
	}
	if len(paths) < 40 {
		t.Errorf("found only %d yaml paths; the walk is broken", len(paths))
	}
}

func splitLast(p string) (prefix, leaf string) {
	i := strings.LastIndexByte(p, '.')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// TestDocsDefaultsMatch checks the defaults that docs/config.md states as
// values against what Defaults fills in.
func TestDocsDefaultsMatch(t *testing.T) {
	clearVaultEnv(t)
	doc, err := Parse(docYAML(t))
	if err != nil {
		t.Fatalf("docs/config.md's example does not parse: %v", err)
	}
	def, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	// Fields where the doc shows an example rather than the default.
	examples := map[string]bool{
		"hostname": true, "organisation": true, "relay.tls_cert": true, "relay.tls_key": true,
		"vault.address": true, "vault.token_file": true, "vault.token": true, "next_hop.addr": true,
		"seal.subject": true, "portal.from": true,
	}
	paths, _ := yamlPaths(reflect.TypeFor[Config](), "")
	checked := 0
	for _, p := range paths {
		if examples[p] {
			continue
		}
		got, want := lookup(reflect.ValueOf(*doc), p), lookup(reflect.ValueOf(*def), p)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("docs/config.md gives %s as %v, but the default is %v", p, got, want)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("compared only %d fields", checked)
	}
}

func lookup(v reflect.Value, path string) any {
	for _, part := range strings.Split(path, ".") {
		t := v.Type()
		for i := range t.NumField() {
			tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if tag == part {
				v = v.Field(i)
				break
			}
		}
	}
	return v.Interface()
}
