package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The recipient directory lives in KV v2 at <KVMount>/data/directory/<key>
// as {"recipients": ["age1…", …]}, where key is a lowercased address
// ("dr.who@clinic.example") or a domain with a leading "@" ("@clinic.example").

// DirectoryKey normalises an address or "@domain" into a directory key.
func DirectoryKey(s string) (string, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	if k == "" || len(k) > 254 {
		return "", errors.New("directory key must be an address or @domain of 1 to 254 bytes")
	}
	if !utf8.ValidString(k) {
		return "", errors.New("directory key is not valid UTF-8")
	}
	for _, r := range k {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' || r == '\\' || r == '%' || r == '*' {
			return "", fmt.Errorf("directory key contains %q", r)
		}
	}
	at := strings.LastIndexByte(k, '@')
	if at < 0 {
		return "", errors.New("directory key must be an address (local@domain) or @domain")
	}
	local, domain := k[:at], k[at+1:]
	if domain == "" || strings.Contains(domain, "@") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", errors.New("directory key has an invalid domain")
	}
	if at > 0 && local == "" {
		return "", errors.New("directory key has an empty local part")
	}
	if local == "." || local == ".." {
		return "", errors.New("directory key has an invalid local part")
	}
	return k, nil
}

func (c *Client) directoryPath(key string) string {
	return c.cfg.KVMount + "/data/directory/" + key
}

// kvRead reads a KV v2 secret, returning its data (nil if deleted) and
// current version (0 if it never existed).
func (c *Client) kvRead(ctx context.Context, op, path string) (map[string]any, int, error) {
	d, err := c.read(ctx, op, path)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	meta, _ := d["metadata"].(map[string]any)
	v, _ := intField(meta, "version")
	data, _ := d["data"].(map[string]any)
	return data, v, nil
}

// kvWriteCAS writes a KV v2 secret if its current version is still cas.
func (c *Client) kvWriteCAS(ctx context.Context, op, path string, data map[string]any, cas int) error {
	_, err := c.write(ctx, op, path, map[string]any{
		"data":    data,
		"options": map[string]any{"cas": cas},
	})
	return err
}

func isCASConflict(err error) bool {
	var ve *VaultError
	return errors.As(err, &ve) && ve.StatusCode == 400 && containsFold(ve.Messages, "check-and-set")
}

func (c *Client) readRecipients(ctx context.Context, key string) ([]string, int, error) {
	d, v, err := c.kvRead(ctx, "kv read directory", c.directoryPath(key))
	if err != nil {
		return nil, 0, err
	}
	return stringSlice(d["recipients"]), v, nil
}

// Directory returns the age recipients that mail to address is also sealed
// to: those listed for the address itself, then those for its @domain,
// without duplicates. An address with no entry has no recipients (nil, nil).
func (c *Client) Directory(ctx context.Context, address string) ([]string, error) {
	key, err := DirectoryKey(address)
	if err != nil {
		return nil, fmt.Errorf("failed to look up directory: %w", err)
	}
	keys := []string{key}
	if at := strings.LastIndexByte(key, '@'); at > 0 {
		keys = append(keys, key[at:])
	}
	var out []string
	for _, k := range keys {
		rs, _, err := c.readRecipients(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("failed to look up directory: %w", err)
		}
		for _, r := range rs {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// AddRecipient adds recipient to the directory entry key (an address or
// "@domain"). The recipient is validated with [ParseRecipient]; adding one
// that is already present changes nothing.
func (c *Client) AddRecipient(ctx context.Context, key, recipient string) error {
	k, err := DirectoryKey(key)
	if err != nil {
		return fmt.Errorf("failed to add recipient: %w", err)
	}
	recipient = strings.TrimSpace(recipient)
	if _, err := ParseRecipient(recipient); err != nil {
		return fmt.Errorf("failed to add recipient: %w", err)
	}
	return c.updateRecipients(ctx, "add recipient", k, func(rs []string) ([]string, bool, error) {
		if slices.Contains(rs, recipient) {
			return rs, false, nil
		}
		return append(rs, recipient), true, nil
	})
}

// RemoveRecipient removes recipient from the directory entry key. Removing
// one that is not there returns an error matching ErrNotFound.
func (c *Client) RemoveRecipient(ctx context.Context, key, recipient string) error {
	k, err := DirectoryKey(key)
	if err != nil {
		return fmt.Errorf("failed to remove recipient: %w", err)
	}
	recipient = strings.TrimSpace(recipient)
	return c.updateRecipients(ctx, "remove recipient", k, func(rs []string) ([]string, bool, error) {
		i := slices.Index(rs, recipient)
		if i < 0 {
			return nil, false, fmt.Errorf("recipient %w in directory entry", ErrNotFound)
		}
		return slices.Delete(rs, i, i+1), true, nil
	})
}

// updateRecipients applies change to one entry with check-and-set, retrying
// when another writer got there first.
func (c *Client) updateRecipients(ctx context.Context, what, key string, change func([]string) ([]string, bool, error)) error {
	for range 5 {
		rs, v, err := c.readRecipients(ctx, key)
		if err != nil {
			return fmt.Errorf("failed to %s: %w", what, err)
		}
		next, changed, err := change(rs)
		if err != nil {
			return fmt.Errorf("failed to %s: %w", what, err)
		}
		if !changed {
			return nil
		}
		if next == nil {
			next = []string{}
		}
		err = c.kvWriteCAS(ctx, "kv write directory", c.directoryPath(key), map[string]any{"recipients": next}, v)
		if isCASConflict(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("failed to %s: %w", what, err)
		}
		return nil
	}
	return fmt.Errorf("failed to %s: directory entry kept changing underneath", what)
}

// ListRecipients returns the whole directory (admin only), keyed by
// address or "@domain". Entries with no recipients left are omitted.
func (c *Client) ListRecipients(ctx context.Context) (map[string][]string, error) {
	keys, err := c.list(ctx, "kv list directory", c.cfg.KVMount+"/metadata/directory/")
	if err != nil {
		return nil, fmt.Errorf("failed to list directory: %w", err)
	}
	out := make(map[string][]string, len(keys))
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			continue
		}
		rs, _, err := c.readRecipients(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("failed to list directory: %w", err)
		}
		if len(rs) > 0 {
			out[k] = rs
		}
	}
	return out, nil
}
