package portal

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := newLimiter()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	kind := bucketKind{burst: 3, every: time.Minute}
	for i := range 3 {
		if !l.allow(kind, "a", now) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if l.allow(kind, "a", now) {
		t.Fatal("a request beyond the burst allowed")
	}
	if !l.allow(kind, "b", now) {
		t.Fatal("another client shares the first one's bucket")
	}
	if l.allow(kind, "a", now.Add(59*time.Second)) {
		t.Fatal("a token came back early")
	}
	if !l.allow(kind, "a", now.Add(61*time.Second)) || l.allow(kind, "a", now.Add(61*time.Second)) {
		t.Fatal("want exactly one token back after a minute")
	}
	// Refills stop at the burst.
	later := now.Add(time.Hour)
	for i := range 3 {
		if !l.allow(kind, "a", later) {
			t.Fatalf("request %d after a long pause refused", i+1)
		}
	}
	if l.allow(kind, "a", later) {
		t.Fatal("the bucket refilled beyond its burst")
	}
	// Pruning drops full buckets and keeps the spent ones.
	l.prune(later)
	if _, ok := l.buckets["b"]; ok {
		t.Fatal("a full bucket survived pruning")
	}
	if _, ok := l.buckets["a"]; !ok {
		t.Fatal("a spent bucket was pruned")
	}
}
