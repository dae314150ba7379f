package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParse checks that Parse never panics, that whatever it accepts is
// valid, and that an accepted config written back out parses to the same
// config (defaults are idempotent and nothing is lost on the way).
func FuzzParse(f *testing.F) {
	f.Setenv("VAULT_ADDR", "")
	f.Setenv("VAULT_TOKEN", "")
	f.Add([]byte(minimal))
	f.Add([]byte(""))
	f.Add([]byte("relay: {smtp_listen: 'off', lmtp_listen: 'off'}\n"))
	f.Add([]byte("relay:\n  allow_networks: [10.0.0.0/8, '::1/128']\n  read_timeout: 1m30s\n" + minimal[1:]))
	f.Add([]byte("next_hop: {addr: '[::1]:25', tls: none}\nvault: {address: 'http://[::1]:8200', token_file: /t}\n"))
	f.Add([]byte("organisation: \"Ünïcode \\u2028 Trust\"\n" + minimal[1:]))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("log: {level: TRACE, format: json}\n" + minimal[1:]))
	if b, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a config and an error")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that does not validate: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("failed to marshal an accepted config: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("the accepted config, written out, does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, again)
		}
	})
}
