package relay

import (
	"context"
	"strings"
	"sync"
	"time"
)

// dirCache keeps recipient-directory answers for a short time, so that a
// burst of mail to the same recipients does not cost two Vault reads a
// message. Failures are never cached: a Vault error always reaches the
// transaction, which then defers with 4xx. A key added to (or removed from)
// the directory takes effect within the TTL.
type dirCache struct {
	keys Keys
	ttl  time.Duration
	max  int

	mu      sync.Mutex
	entries map[string]dirEntry
}

type dirEntry struct {
	recipients []string
	expires    time.Time
}

func newDirCache(k Keys, ttl time.Duration, max int) *dirCache {
	return &dirCache{keys: k, ttl: ttl, max: max, entries: map[string]dirEntry{}}
}

// lookup returns the directory recipients for addr.
func (c *dirCache) lookup(ctx context.Context, addr string) ([]string, error) {
	key := strings.ToLower(addr)
	now := time.Now()
	if c.ttl > 0 {
		c.mu.Lock()
		e, ok := c.entries[key]
		c.mu.Unlock()
		if ok && now.Before(e.expires) {
			return e.recipients, nil
		}
	}
	rs, err := c.keys.Directory(ctx, addr)
	if err != nil || c.ttl <= 0 {
		return rs, err
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		// Drop what has expired; if that is not enough, start afresh. A
		// simple bound beats an LRU here: entries live for seconds.
		for k, e := range c.entries {
			if now.After(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[key] = dirEntry{recipients: rs, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return rs, nil
}
