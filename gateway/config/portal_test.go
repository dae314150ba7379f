package config

import (
	"slices"
	"testing"
	"time"
)

func TestPortalDefaults(t *testing.T) {
	clearVaultEnv(t)
	c, err := Parse([]byte("hostname: mx.example.org\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Portal
	if p.From != "no-reply@mx.example.org" || p.Branding.PrimaryColor != "#1d4f91" || p.SessionIdle != 15*time.Minute ||
		p.SessionMax != 8*time.Hour || p.CodeTTL != 10*time.Minute || p.MaxReplyBytes != 25<<20 || p.SMS.Timeout != 10*time.Second {
		t.Errorf("portal defaults = %+v", p)
	}
	if h := p.ReplyNextHop; h.Addr != "127.0.0.1:2525" || h.TLS != "opportunistic" || h.Timeout != 30*time.Second || h.MaxIdle != 4 {
		t.Errorf("reply_next_hop = %+v, want the relay's own SMTP listener", h)
	}
	if p.Vault != (PortalVault{}) {
		t.Errorf("portal.vault = %+v, want no credentials by default (never the relay's)", p.Vault)
	}

	// A relay listening on every address is dialled on loopback; with SMTP
	// off, replies go to next_hop.
	c, err = Parse([]byte("relay: {smtp_listen: '[::]:25'}\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Portal.ReplyNextHop.Addr; got != "[::1]:25" {
		t.Errorf("reply_next_hop.addr = %q, want [::1]:25", got)
	}
	c, err = Parse([]byte("relay: {smtp_listen: 'off'}\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Portal.ReplyNextHop != c.NextHop {
		t.Errorf("reply_next_hop = %+v, want next_hop %+v", c.Portal.ReplyNextHop, c.NextHop)
	}
	// An explicit hop gets next_hop's defaults.
	c, err = Parse([]byte("portal: {reply_next_hop: {addr: 'mx.example.org:25'}}\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	if h := c.Portal.ReplyNextHop; h.TLS != "verify" || h.MaxIdle != 4 {
		t.Errorf("explicit reply_next_hop = %+v, want tls verify", h)
	}
}

func TestPortalErrors(t *testing.T) {
	clearVaultEnv(t)
	for _, tc := range []struct {
		name, yaml string
		fields     []string
	}{
		{"from with a name", "portal: {from: 'Portal <p@example.org>'}\n", []string{"portal.from"}},
		{"from not an address", "portal: {from: portal}\n", []string{"portal.from"}},
		{"colour not hex", "portal: {branding: {primary_color: blue}}\n", []string{"portal.branding.primary_color"}},
		{"colour low contrast", "portal: {branding: {primary_color: '#7799cc'}}\n", []string{"portal.branding.primary_color"}},
		{"logo type", "portal: {branding: {logo_file: /logo.gif}}\n", []string{"portal.branding.logo_file"}},
		{"idle too short", "portal: {session_idle: 10s}\n", []string{"portal.session_idle"}},
		{"max below idle", "portal: {session_idle: 2h, session_max: 1h}\n", []string{"portal.session_max"}},
		{"code ttl", "portal: {code_ttl: 48h}\n", []string{"portal.code_ttl"}},
		{"reply bytes", "portal: {max_reply_bytes: 10}\n", []string{"portal.max_reply_bytes"}},
		{"sms url", "portal: {sms: {webhook_url: 'ftp://x'}}\n", []string{"portal.sms.webhook_url"}},
		{"sms token alone", "portal: {sms: {token_file: /t}}\n", []string{"portal.sms.token_file"}},
		{"reply hop tls", "portal: {reply_next_hop: {addr: 'a:25', tls: maybe}}\n", []string{"portal.reply_next_hop.tls"}},
		{"relay's token", "portal: {vault: {token: s.test}}\n", []string{"portal.vault.token"}},
		{"token and file", "portal: {vault: {token: a, token_file: /b}}\n", []string{"portal.vault.token"}},
		{"approle and token", "portal: {vault: {token: a, approle: {role_id: r, secret_id_file: /s}}}\n", []string{"portal.vault.approle.role_id"}},
		{"approle without secret", "portal: {vault: {approle: {role_id: r}}}\n", []string{"portal.vault.approle.secret_id_file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml + minimal))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if got := fieldErrors(t, err); !slices.Equal(got, tc.fields) {
				t.Errorf("fields = %q, want %q (%v)", got, tc.fields, err)
			}
		})
	}
	// The relay's token file is refused too.
	_, err := Parse([]byte(`
vault: {address: 'http://127.0.0.1:8200', token_file: /run/relay.token}
next_hop: {addr: '127.0.0.1:25'}
portal: {vault: {token_file: /run/../run/relay.token}}
`))
	if got := fieldErrors(t, err); !slices.Equal(got, []string{"portal.vault.token_file"}) {
		t.Errorf("fields = %q, want portal.vault.token_file (%v)", got, err)
	}
	// A good configuration.
	if _, err := Parse([]byte(`
portal:
  from: secure@example.org
  branding: {primary_color: '#005EB8', logo_file: /etc/sealpost/logo.svg}
  sms: {webhook_url: 'https://sms.example.org/send', token_file: /run/sms.token}
  vault: {approle: {role_id: portal-role, secret_id_file: /run/portal.secret}}
` + minimal)); err != nil {
		t.Errorf("Parse(good portal) = %v", err)
	}
}

func TestContrastWithWhite(t *testing.T) {
	for _, tc := range []struct {
		color    string
		min, max float64
	}{
		{"#000000", 20.9, 21.1},
		{"#ffffff", 0.99, 1.01},
		{"#1d4f91", 8, 9},
		{"#005EB8", 6.3, 6.5}, // NHS blue
		{"#767676", 4.5, 4.6},
		{"nope", 0.99, 1.01},
	} {
		if r := ContrastWithWhite(tc.color); r < tc.min || r > tc.max {
			t.Errorf("ContrastWithWhite(%s) = %.3f, want in [%v, %v]", tc.color, r, tc.min, tc.max)
		}
	}
}
