package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "sub", "dir", "sealpost.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// genReader produces n deterministic pseudo-random bytes without holding
// them, and samples the Go heap on every Read.
type genReader struct {
	rng      *mrand.ChaCha8
	left     int64
	peakHeap uint64
	reads    int
}

func newGen(seed byte, n int64) *genReader {
	var s [32]byte
	s[0] = seed
	return &genReader{rng: mrand.NewChaCha8(s), left: n}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	g.rng.Read(p)
	g.left -= int64(len(p))
	g.reads++
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	g.peakHeap = max(g.peakHeap, ms.HeapAlloc)
	return len(p), nil
}

func genSum(seed byte, n int64) []byte {
	h := sha256.New()
	io.Copy(h, newGen(seed, n))
	return h.Sum(nil)
}

func testMessage(id string) *Message {
	return &Message{
		ID:          id,
		Created:     time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC),
		TraceID:     "trace-" + id,
		Sender:      "clinic@example.org",
		Recipients:  []string{"patient@example.net", "gp@example.com"},
		Decision:    json.RawMessage(`{"action":"seal","rule":"nhs-number","evidence":"*** *** 4567"}`),
		Assurance:   "oob",
		RetainUntil: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC),
		WrapVersion: 1,
		Wrapped:     []byte("wrapped-secret-" + id),
	}
}

func heapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestRoundtripLargeStreamed(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	const size = 20_000_000
	// A low GC target makes the heap track live memory closely, so a
	// store that buffered the whole message would show it.
	defer debug.SetGCPercent(debug.SetGCPercent(10))

	m := testMessage("big")
	gen := newGen(1, size)
	base := heapNow()
	if err := s.PutMessage(ctx, m, gen); err != nil {
		t.Fatalf("PutMessage: %v", err)
	}
	if gen.left != 0 {
		t.Fatalf("PutMessage left %d bytes unread", gen.left)
	}
	if growth := int64(gen.peakHeap) - int64(base); growth > 6*ChunkSize {
		t.Errorf("heap grew by %d bytes while storing a %d-byte message; want chunked streaming (< %d)", growth, size, 6*ChunkSize)
	}
	if m.CiphertextSize != size || !bytes.Equal(m.CiphertextSHA256, genSum(1, size)) {
		t.Fatalf("PutMessage filled size %d sha %x, want %d %x", m.CiphertextSize, m.CiphertextSHA256, size, genSum(1, size))
	}

	var chunks, maxLen int64
	if err := s.DB().QueryRow("SELECT count(*), max(length(data)) FROM chunks WHERE message_id = ?", "big").Scan(&chunks, &maxLen); err != nil {
		t.Fatal(err)
	}
	if want := int64((size + ChunkSize - 1) / ChunkSize); chunks != want || maxLen != ChunkSize {
		t.Errorf("stored %d chunks of at most %d bytes, want %d of at most %d", chunks, maxLen, want, ChunkSize)
	}

	got, err := s.GetMessage(ctx, "big")
	if err != nil {
		t.Fatalf("GetMessage: %v", err)
	}
	want := *m
	if !messagesEqual(got, &want) {
		t.Errorf("GetMessage = %+v\nwant %+v", got, &want)
	}

	rc, err := s.OpenCiphertext(ctx, "big")
	if err != nil {
		t.Fatalf("OpenCiphertext: %v", err)
	}
	base = heapNow()
	h := sha256.New()
	var peak uint64
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, err := rc.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if n%(4<<20) < int64(k) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading ciphertext: %v", err)
		}
	}
	rc.Close()
	if n != size || !bytes.Equal(h.Sum(nil), m.CiphertextSHA256) {
		t.Errorf("read back %d bytes with sha %x, want %d %x", n, h.Sum(nil), size, m.CiphertextSHA256)
	}
	if growth := int64(peak) - int64(base); growth > 6*ChunkSize {
		t.Errorf("heap grew by %d bytes while reading a %d-byte message; want chunked streaming", growth, size)
	}
	if _, err := rc.Read(buf); err == nil || err == io.EOF {
		t.Errorf("Read after Close = %v, want an error", err)
	}
}

func messagesEqual(a, b *Message) bool {
	return a.ID == b.ID && a.Created.Equal(b.Created) && a.TraceID == b.TraceID && a.Sender == b.Sender &&
		strings.Join(a.Recipients, ",") == strings.Join(b.Recipients, ",") &&
		bytes.Equal(a.Decision, b.Decision) && a.Assurance == b.Assurance && a.RetainUntil.Equal(b.RetainUntil) &&
		a.WrapVersion == b.WrapVersion && bytes.Equal(a.Wrapped, b.Wrapped) &&
		a.CiphertextSize == b.CiphertextSize && bytes.Equal(a.CiphertextSHA256, b.CiphertextSHA256) &&
		a.RecalledAt.Equal(b.RecalledAt) && a.RecalledBy == b.RecalledBy && a.RecallReason == b.RecallReason
}

// failingReader fails after n bytes.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("upstream broke")
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

func TestPutMessageRejects(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	good := []byte("age-encryption.org/v1 pretend ciphertext")
	goodSum := sha256.Sum256(good)

	if err := s.PutMessage(ctx, testMessage("dup"), bytes.NewReader(good)); err != nil {
		t.Fatalf("PutMessage: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Message)
		body   io.Reader
		want   error
	}{
		{"duplicate id", func(m *Message) { m.ID = "dup" }, bytes.NewReader(good), ErrExists},
		{"wrong sha", func(m *Message) { m.CiphertextSHA256 = make([]byte, 32) }, bytes.NewReader(good), nil},
		{"wrong size", func(m *Message) { m.CiphertextSize = int64(len(good) + 1) }, bytes.NewReader(good), nil},
		{"short sha", func(m *Message) { m.CiphertextSHA256 = goodSum[:5] }, bytes.NewReader(good), nil},
		{"empty ciphertext", func(m *Message) {}, bytes.NewReader(nil), nil},
		{"reader fails mid-stream", func(m *Message) {}, &failingReader{n: 3*ChunkSize + 17}, nil},
		{"no id", func(m *Message) { m.ID = "" }, bytes.NewReader(good), nil},
		{"no assurance", func(m *Message) { m.Assurance = "" }, bytes.NewReader(good), nil},
		{"invalid decision", func(m *Message) { m.Decision = json.RawMessage("{") }, bytes.NewReader(good), nil},
		{"already recalled", func(m *Message) { m.RecalledAt = time.Now() }, bytes.NewReader(good), nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage(fmt.Sprintf("reject-%d", i))
			tt.mutate(m)
			err := s.PutMessage(ctx, m, tt.body)
			if err == nil {
				t.Fatal("PutMessage succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("PutMessage = %v, want %v", err, tt.want)
			}
			if m.ID == "" || m.ID == "dup" {
				return
			}
			if _, err := s.GetMessage(ctx, m.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("after a failed PutMessage, GetMessage = %v, want ErrNotFound", err)
			}
		})
	}
	var chunks int
	s.DB().QueryRow("SELECT count(*) FROM chunks").Scan(&chunks)
	if chunks != 1 {
		t.Errorf("%d chunk rows after the failures, want only the 1 of the stored message", chunks)
	}
	// The stored one still reads back, and a matching size/sha is accepted.
	m := testMessage("checked")
	m.CiphertextSize, m.CiphertextSHA256 = int64(len(good)), goodSum[:]
	if err := s.PutMessage(ctx, m, bytes.NewReader(good)); err != nil {
		t.Fatalf("PutMessage with matching size and sha: %v", err)
	}
	rc, err := s.OpenCiphertext(ctx, "checked")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(b, good) {
		t.Errorf("read back %q, %v", b, err)
	}
	if _, err := s.OpenCiphertext(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenCiphertext(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetMessage(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetMessage(unknown) = %v, want ErrNotFound", err)
	}
}

func TestOpenCiphertextDetectsCorruption(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.PutMessage(ctx, testMessage("c"), newGen(2, 2*ChunkSize+5)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sql  string
	}{
		{"flipped chunk", "UPDATE chunks SET data = zeroblob(length(data)) WHERE message_id = 'c' AND seq = 1"},
		{"missing chunk", "DELETE FROM chunks WHERE message_id = 'c' AND seq = 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.DB().Exec(tt.sql); err != nil {
				t.Fatal(err)
			}
			rc, err := s.OpenCiphertext(ctx, "c")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if _, err := io.Copy(io.Discard, rc); err == nil {
				t.Error("reading a corrupted ciphertext succeeded")
			}
		})
	}
}

// fileContains reads the raw database files and reports which contain marker.
func filesContaining(t *testing.T, path string, marker []byte) []string {
	t.Helper()
	var hits []string
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, marker) {
			hits = append(hits, filepath.Base(path+suffix))
		}
	}
	return hits
}

func TestRecallShredsBytes(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()

	marker := []byte("SEALPOST-MARKER-" + rand.Text())
	keep := []byte("SEALPOST-KEEP-" + rand.Text())
	// Ciphertext of three chunks with the marker in every chunk, and once
	// across a chunk boundary; the wrapped secret carries it too.
	body := func(m []byte) []byte {
		b := make([]byte, 3*ChunkSize-100)
		rand.Read(b)
		for _, off := range []int{10, ChunkSize - len(m)/2, ChunkSize + 500, 2*ChunkSize + 7, len(b) - len(m)} {
			copy(b[off:], m)
		}
		return b
	}
	for _, tc := range []struct {
		id     string
		marker []byte
	}{{"recall-me", marker}, {"keep-me", keep}} {
		m := testMessage(tc.id)
		m.Wrapped = append([]byte("rsa-oaep:"), tc.marker...)
		if err := s.PutMessage(ctx, m, bytes.NewReader(body(tc.marker))); err != nil {
			t.Fatal(err)
		}
	}
	// Make sure the marker is in a place the scan can see: the main file
	// after a checkpoint, and both files for the other message.
	if hits := filesContaining(t, s.Path(), marker); len(hits) == 0 {
		t.Fatal("control: marker not found in the database files before recall; the scan proves nothing")
	}
	// A reader half-way through the message while it is recalled.
	rc, err := s.OpenCiphertext(ctx, "recall-me")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}

	if err := s.Recall(ctx, "recall-me", "admin:alice", "sent to the wrong patient"); err != nil {
		t.Fatalf("Recall: %v", err)
	}
	if hits := filesContaining(t, s.Path(), marker); len(hits) > 0 {
		t.Errorf("after recall the marker is still in %v", hits)
	}
	if hits := filesContaining(t, s.Path(), keep); len(hits) == 0 {
		t.Error("control: the other message's marker vanished too; the scan is not finding stored bytes")
	}
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, ErrRecalled) {
		t.Errorf("reading on after recall = %v, want ErrRecalled", err)
	}
	rc.Close()

	m, err := s.GetMessage(ctx, "recall-me")
	if err != nil {
		t.Fatal(err)
	}
	if m.Wrapped != nil || !m.Recalled() || m.RecalledBy != "admin:alice" || m.RecallReason != "sent to the wrong patient" ||
		time.Since(m.RecalledAt) > time.Hour {
		t.Errorf("recalled message = wrapped %q at %v by %q for %q", m.Wrapped, m.RecalledAt, m.RecalledBy, m.RecallReason)
	}
	if _, err := s.OpenCiphertext(ctx, "recall-me"); !errors.Is(err, ErrRecalled) {
		t.Errorf("OpenCiphertext after recall = %v, want ErrRecalled", err)
	}
	if err := s.Recall(ctx, "recall-me", "admin:bob", "again"); !errors.Is(err, ErrRecalled) {
		t.Errorf("second Recall = %v, want ErrRecalled", err)
	}
	if m, _ := s.GetMessage(ctx, "recall-me"); m.RecalledBy != "admin:alice" {
		t.Errorf("second recall overwrote the first: by %q", m.RecalledBy)
	}
	if err := s.Recall(ctx, "nope", "admin:alice", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Recall(unknown) = %v, want ErrNotFound", err)
	}
	// The kept message is intact.
	rc, err = s.OpenCiphertext(ctx, "keep-me")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err != nil || !bytes.Contains(b, keep) {
		t.Errorf("kept message unreadable after another's recall: %v", err)
	}
	// After a reopen, the recalled state persists.
	path := s.Path()
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if m, err := s2.GetMessage(ctx, "recall-me"); err != nil || !m.Recalled() {
		t.Errorf("after reopen: %v recalled=%v", err, m != nil && m.Recalled())
	}
	if hits := filesContaining(t, path, marker); len(hits) > 0 {
		t.Errorf("after reopen the marker is in %v", hits)
	}
}

func TestFindMessages(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	msgs := []struct {
		id    string
		from  string
		to    []string
		hours int
	}{
		{"m1", "a@clinic.example", []string{"p1@x.example"}, 1},
		{"m2", "b@clinic.example", []string{"p1@x.example", "p2@x.example"}, 2},
		{"m3", "A@Clinic.Example", []string{"p3@x.example"}, 3},
		{"m4", "c@clinic.example", []string{"P2@X.example"}, 4},
	}
	for _, mm := range msgs {
		m := testMessage(mm.id)
		m.Sender, m.Recipients, m.Created = mm.from, mm.to, base.Add(time.Duration(mm.hours)*time.Hour)
		if err := s.PutMessage(ctx, m, strings.NewReader("ct-"+mm.id)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"all newest first", Filter{}, "m4,m3,m2,m1"},
		{"from, any case", Filter{From: "a@CLINIC.example"}, "m3,m1"},
		{"to one of several", Filter{To: "p2@x.example"}, "m4,m2"},
		{"since inclusive", Filter{Since: base.Add(3 * time.Hour)}, "m4,m3"},
		{"limit", Filter{Limit: 1}, "m4"},
		{"from and to", Filter{From: "b@clinic.example", To: "p1@x.example"}, "m2"},
		{"from and to disjoint", Filter{From: "a@clinic.example", To: "p2@x.example"}, ""},
		{"unknown", Filter{To: "nobody@x.example"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.FindMessages(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range got {
				ids = append(ids, m.ID)
			}
			if strings.Join(ids, ",") != tt.want {
				t.Errorf("FindMessages(%+v) = %v, want %s", tt.f, ids, tt.want)
			}
		})
	}
	// Recipients come back in the order given.
	got, _ := s.FindMessages(ctx, Filter{To: "p2@x.example", From: "b@clinic.example"})
	if len(got) != 1 || strings.Join(got[0].Recipients, ",") != "p1@x.example,p2@x.example" {
		t.Errorf("recipients = %v", got)
	}
}

func TestExpired(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for i, retain := range []time.Time{{}, now.Add(-time.Hour), now.Add(time.Hour), now.Add(-2 * time.Hour)} {
		m := testMessage(fmt.Sprintf("e%d", i))
		m.RetainUntil = retain
		if err := s.PutMessage(ctx, m, strings.NewReader("ct")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Recall(ctx, "e3", "expiry", "retention"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Expired(ctx, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "e1" {
		t.Errorf("Expired = %v, want only e1", got)
	}
}

func TestLedger(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	raw := sha256.Sum256([]byte("raw message"))
	k1 := LedgerKey(raw[:], []string{"b@x.example", "a@x.example"})
	if k1 != LedgerKey(raw[:], []string{"a@x.example", "b@x.example"}) {
		t.Error("LedgerKey depends on recipient order")
	}
	distinct := map[string]string{
		"base":            k1,
		"other group":     LedgerKey(raw[:], []string{"a@x.example"}),
		"split boundary":  LedgerKey(raw[:], []string{"a@x.exampleb@x.example"}),
		"other message":   LedgerKey(make([]byte, 32), []string{"a@x.example", "b@x.example"}),
		"hash into rcpts": LedgerKey(nil, []string{string(raw[:]) + "a@x.example", "b@x.example"}),
	}
	seen := map[string]string{}
	for name, k := range distinct {
		if other, ok := seen[k]; ok {
			t.Errorf("LedgerKey collision between %q and %q", name, other)
		}
		seen[k] = name
	}

	if ok, err := s.LedgerDelivered(ctx, k1); err != nil || ok {
		t.Fatalf("LedgerDelivered before record = %v, %v", ok, err)
	}
	if err := s.LedgerRecord(ctx, k1, "msg-1", "250 2.0.0 queued as ABC"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.LedgerDelivered(ctx, k1); err != nil || !ok {
		t.Fatalf("LedgerDelivered after record = %v, %v", ok, err)
	}
	k2 := LedgerKey(raw[:], []string{"c@x.example"})
	if ok, _ := s.LedgerDelivered(ctx, k2); ok {
		t.Error("a different group counts as delivered")
	}
	if err := s.LedgerRecord(ctx, k1, "msg-1", "250 again"); err != nil {
		t.Errorf("recording a key twice: %v", err)
	}
	for _, bad := range []string{"", "zz", hex.EncodeToString(raw[:16])} {
		if err := s.LedgerRecord(ctx, bad, "m", "250"); err == nil {
			t.Errorf("LedgerRecord(%q) accepted a malformed key", bad)
		}
		if _, err := s.LedgerDelivered(ctx, bad); err == nil {
			t.Errorf("LedgerDelivered(%q) accepted a malformed key", bad)
		}
	}
	if n, err := s.LedgerExpire(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("LedgerExpire(past) = %d, %v, want 0", n, err)
	}
	if err := s.LedgerRecord(ctx, k2, "msg-1", "250"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.LedgerExpire(ctx, time.Now().Add(time.Second)); err != nil || n != 2 {
		t.Errorf("LedgerExpire(future) = %d, %v, want 2", n, err)
	}
	if ok, _ := s.LedgerDelivered(ctx, k1); ok {
		t.Error("expired entry still counts as delivered")
	}
}

func TestConcurrentWriters(t *testing.T) {
	s := openTest(t)
	// A second handle on the same file stands in for another process (the
	// CLI recalling while the relay writes); it waits on SQLite's busy
	// timeout rather than the in-process lock.
	other, err := Open(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	const workers, each = 12, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if w%3 == 0 {
				st = other
			}
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := st.PutMessage(ctx, testMessage(id), newGen(byte(w), 3*ChunkSize/2)); err != nil {
					errs <- fmt.Errorf("PutMessage %s: %w", id, err)
					continue
				}
				key := LedgerKey([]byte(id), []string{"r@x.example"})
				if err := st.LedgerRecord(ctx, key, id, "250 ok"); err != nil {
					errs <- fmt.Errorf("LedgerRecord %s: %w", id, err)
				}
				if i%3 == 0 {
					if err := st.Recall(ctx, id, "admin", "test"); err != nil {
						errs <- fmt.Errorf("Recall %s: %w", id, err)
					}
				}
				if _, err := st.FindMessages(ctx, Filter{Limit: 5}); err != nil {
					errs <- fmt.Errorf("FindMessages: %w", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n, recalled int
	s.DB().QueryRow("SELECT count(*), sum(recalled_at != 0) FROM messages").Scan(&n, &recalled)
	if n != workers*each || recalled != workers*3 {
		t.Errorf("%d messages (%d recalled), want %d (%d)", n, recalled, workers*each, workers*3)
	}
}

func TestSchemaVersion(t *testing.T) {
	s := openTest(t)
	path := s.Path()
	var v int
	if err := s.DB().QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != len(migrations) {
		t.Fatalf("user_version = %d, %v; want %d", v, err, len(migrations))
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("store file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	s.Close()
	// Reopening an up-to-date store changes nothing.
	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if _, err := s.DB().Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open accepted a store from a newer schema version")
	}
}
