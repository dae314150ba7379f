package keys

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/plugin"
	"filippo.io/age/tag"
)

// maxRecipientLen bounds a recipient string. A post-quantum hybrid
// recipient is about 2 KB and an ssh-rsa 16384-bit key about 2.8 KB.
const maxRecipientLen = 8 << 10

// ParseRecipient parses one age recipient string as the `age -r` flag
// would:
//
//   - "age1…" X25519
//   - "age1pq1…" post-quantum hybrid (ML-KEM-768 + X25519)
//   - "age1tag1…" and "age1tagpq1…" tagged P-256 (hardware key) recipients
//   - "ssh-ed25519 …" and "ssh-rsa …" SSH public keys
//   - "age1<name>1…" plugin recipients, only if age-plugin-<name> is on
//     PATH (the relay runs the plugin when sealing)
//
// Anything else, including identities (private keys) pasted by mistake,
// is rejected with an error that says what was expected and never echoes
// a private key.
func ParseRecipient(s string) (age.Recipient, error) {
	r, err := parseRecipient(s)
	if err != nil {
		return nil, fmt.Errorf("invalid age recipient: %w", err)
	}
	return r, nil
}

func parseRecipient(s string) (age.Recipient, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	if len(s) > maxRecipientLen {
		return nil, fmt.Errorf("longer than %d bytes", maxRecipientLen)
	}
	if strings.TrimSpace(s) != s {
		return nil, errors.New("leading or trailing white space")
	}
	for _, c := range s {
		if c < ' ' || c == 0x7f {
			return nil, errors.New("contains control characters")
		}
	}
	upper := strings.ToUpper(s)
	switch {
	case strings.HasPrefix(upper, "AGE-SECRET-KEY-") || strings.HasPrefix(upper, "AGE-PLUGIN-"):
		return nil, errors.New("this is an age identity (a private key), not a recipient; give its public recipient (age-keygen -y) and keep the identity secret")
	case strings.Contains(s, "PRIVATE KEY"):
		return nil, errors.New("this is a private key, not a recipient; give the public key (.pub) instead")
	case strings.HasPrefix(s, "age1tag1") || strings.HasPrefix(s, "age1tagpq1"):
		return tag.ParseRecipient(s)
	case strings.HasPrefix(s, "age1pq1"):
		return age.ParseHybridRecipient(s)
	case strings.HasPrefix(s, "age1") && strings.Count(s, "1") > 1:
		// "1" is not in the bech32 data alphabet, so a second "1" means the
		// human-readable part is "age1<plugin name>".
		name, _, err := plugin.ParseRecipient(s)
		if err != nil {
			return nil, err
		}
		bin := "age-plugin-" + name
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("plugin recipient needs %s on PATH, which was not found", bin)
		}
		return plugin.NewRecipient(s, nonInteractiveUI())
	case strings.HasPrefix(s, "age1"):
		return age.ParseX25519Recipient(s)
	case strings.HasPrefix(s, "ssh-ed25519 ") || strings.HasPrefix(s, "ssh-rsa "):
		return agessh.ParseRecipient(s)
	case strings.HasPrefix(s, "ssh-"):
		return nil, errors.New("unsupported SSH key type; age supports ssh-ed25519 and ssh-rsa")
	}
	return nil, errors.New("unknown recipient type; want age1…, age1pq1…, age1tag1…, ssh-ed25519, ssh-rsa or an age1<plugin>1… recipient")
}

// nonInteractiveUI answers plugins that want to talk to a user: the relay
// has none, so requests for input fail and messages are dropped.
func nonInteractiveUI() *plugin.ClientUI {
	return &plugin.ClientUI{
		DisplayMessage: func(name, message string) error { return nil },
		RequestValue: func(name, prompt string, secret bool) (string, error) {
			return "", fmt.Errorf("age-plugin-%s asked for interactive input, which the relay cannot give", name)
		},
		Confirm: func(name, prompt, yes, no string) (bool, error) {
			return false, fmt.Errorf("age-plugin-%s asked for confirmation, which the relay cannot give", name)
		},
	}
}
