package portal

import (
	"sync"
	"time"
)

// Per-client rate limits. Each key (such as "check:" + IP) has a token
// bucket: a request takes a token, and tokens come back at a steady rate
// up to the burst. The buckets live in memory, so each node limits on its
// own; the per-account lockout and per-address send limit, which live in
// the store, hold across nodes.

// bucketKind is the burst and refill rate of one kind of limit.
type bucketKind struct {
	burst float64
	every time.Duration // one token comes back this often
}

var (
	// limitCheck bounds code, password and passkey checks per client.
	limitCheck = bucketKind{burst: 30, every: 2 * time.Second}
	// limitSend bounds the mail and SMS codes one client makes the portal send.
	limitSend = bucketKind{burst: 10, every: time.Minute}
)

// maxBuckets bounds the memory the limiter holds; when full, buckets that
// have refilled are dropped, and then the whole map if need be.
const maxBuckets = 50000

// limiter rate-limits code sends and checks per client.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
	kind   bucketKind
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*bucket{}} }

// allow takes a token from the bucket of kind for key at now, and reports
// whether there was one.
func (l *limiter) allow(kind bucketKind, key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: kind.burst, at: now, kind: kind}
		l.buckets[key] = b
	}
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(b.kind.burst, b.tokens+float64(d)/float64(b.kind.every))
		b.at = now
	}
}

// prune drops full buckets (they carry no state), or every bucket if none
// is full: a flood of distinct clients then resets the limits rather than
// exhausting memory.
func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		b.refill(now)
		if b.tokens >= b.kind.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}
