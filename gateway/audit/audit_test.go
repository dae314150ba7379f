package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealpost/sealpost/gateway/store"
)

// edSigner is a local ed25519 signature primitive for unit tests; the
// integration test uses Vault Transit.
type edSigner struct {
	priv  ed25519.PrivateKey
	signs atomic.Int64
}

func newSigner(t *testing.T) *edSigner {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &edSigner{priv: priv}
}

func (s *edSigner) Sign(_ context.Context, data []byte) (string, error) {
	s.signs.Add(1)
	return "ed25519:" + base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, data)), nil
}

func (s *edSigner) Verify(_ context.Context, data []byte, sig string) error {
	b64, ok := strings.CutPrefix(sig, "ed25519:")
	if !ok {
		return errors.New("malformed signature")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return errors.New("malformed signature")
	}
	if !ed25519.Verify(s.priv.Public().(ed25519.PublicKey), data, raw) {
		return errors.New("signature does not verify")
	}
	return nil
}

type fixture struct {
	st   *store.Store
	log  *Log
	sig  *edSigner
	cp   string // checkpoint path, outside the store directory
	path string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "var", "sealpost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l, err := New(st.DB())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, log: l, sig: newSigner(t), cp: filepath.Join(dir, "checkpoints", "audit.checkpoint"), path: st.Path()}
}

func (f *fixture) appendN(t *testing.T, n int) []Entry {
	t.Helper()
	var out []Entry
	for i := range n {
		e, err := f.log.Append(context.Background(), Entry{
			Actor:     "portal:rcpt-" + fmt.Sprint(i%3),
			Action:    "message.view",
			TraceID:   fmt.Sprintf("trace-%d", i),
			MessageID: fmt.Sprintf("msg-%d", i%4),
			Detail:    map[string]string{"assurance": "oob", "attempt": fmt.Sprint(i)},
		})
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		out = append(out, e)
	}
	return out
}

func TestAppendBuildsChain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if h, err := f.log.Head(ctx); err != nil || h.Seq != 0 {
		t.Fatalf("Head of empty log = %+v, %v", h, err)
	}
	entries := f.appendN(t, 5)
	prev := genesis
	for i, e := range entries {
		if e.Seq != int64(i+1) || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, e.ComputeHash()) || e.Time.IsZero() {
			t.Errorf("entry %d = seq %d prev %x hash %x", i, e.Seq, e.PrevHash, e.Hash)
		}
		prev = e.Hash
	}
	head, err := f.log.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 5 || !bytes.Equal(head.Hash, entries[4].Hash) || !head.Time.Equal(entries[4].Time) ||
		head.Detail["attempt"] != "4" {
		t.Errorf("Head = %+v, want %+v", head, entries[4])
	}
	// Append returns exactly what is stored.
	if !bytes.Equal(head.ComputeHash(), entries[4].Hash) {
		t.Error("the stored head hashes differently from the entry Append returned")
	}

	got, err := f.log.ForMessage(ctx, "msg-0")
	if err != nil || len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 5 {
		t.Errorf("ForMessage(msg-0) = %+v, %v; want seqs 1 and 5", got, err)
	}

	long := strings.Repeat("x", maxDetailValLen+1)
	many := map[string]string{}
	for i := range maxDetailKeys + 1 {
		many[fmt.Sprint(i)] = "1"
	}
	for name, e := range map[string]Entry{
		"no actor":        {Action: "a"},
		"no action":       {Actor: "a"},
		"invalid utf-8":   {Actor: "a\xff", Action: "a"},
		"long value":      {Actor: "a", Action: "a", Detail: map[string]string{"k": long}},
		"empty key":       {Actor: "a", Action: "a", Detail: map[string]string{"": "v"}},
		"too many keys":   {Actor: "a", Action: "a", Detail: many},
		"time far future": {Actor: "a", Action: "a", Time: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := f.log.Append(ctx, e); err == nil {
			t.Errorf("Append accepted an entry with %s", name)
		}
	}
	if h, _ := f.log.Head(ctx); h.Seq != 5 {
		t.Errorf("rejected appends moved the head to %d", h.Seq)
	}
	// The table refuses updates and deletes while its triggers stand.
	for _, q := range []string{"UPDATE audit SET actor = 'x' WHERE seq = 1", "DELETE FROM audit WHERE seq = 5"} {
		if _, err := f.st.DB().Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s = %v, want the append-only error", q, err)
		}
	}
}

func TestAppendConcurrent(t *testing.T) {
	f := newFixture(t)
	// A second store handle and Log on the same file stand in for another
	// process (the CLI) appending at the same time.
	st2, err := store.Open(f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	l2, err := New(st2.DB())
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := f.log
			if w%2 == 1 {
				l = l2
			}
			for i := range each {
				if _, err := l.Append(context.Background(), Entry{Actor: "relay", Action: "message.seal", MessageID: fmt.Sprintf("m%d-%d", w, i)}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r, err := f.log.Verify(context.Background(), f.sig, "")
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Entries != workers*each || r.Head.Seq != workers*each {
		t.Errorf("after concurrent appends: %d entries, head %d, problems %v", r.Entries, r.Head.Seq, r.Problems)
	}
}

func TestVerifyCleanChain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.log.Checkpoint(ctx, f.sig, f.cp); !errors.Is(err, ErrEmpty) {
		t.Errorf("Checkpoint of an empty log = %v, want ErrEmpty", err)
	}
	r, err := f.log.Verify(ctx, f.sig, f.cp)
	if err != nil || !r.OK() || r.Entries != 0 {
		t.Errorf("Verify(empty, no checkpoint yet) = %+v, %v", r, err)
	}
	f.appendN(t, 12)
	cp, err := f.log.Checkpoint(ctx, f.sig, f.cp)
	if err != nil {
		t.Fatal(err)
	}
	f.appendN(t, 3) // entries after the checkpoint are fine
	r, err = f.log.Verify(ctx, f.sig, f.cp)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Entries != 15 || r.Head.Seq != 15 || r.Checkpoint == nil || r.Checkpoint.Seq != 12 ||
		!bytes.Equal(r.Checkpoint.Hash, cp.Hash) {
		t.Errorf("Verify(clean) = %+v", r)
	}
	// A second checkpoint extends the first.
	cp2, err := f.log.Checkpoint(ctx, f.sig, f.cp)
	if err != nil || cp2.Seq != 15 {
		t.Fatalf("second Checkpoint = %+v, %v", cp2, err)
	}
	fi, err := os.Stat(f.cp)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 512 {
		t.Errorf("checkpoint file is %d bytes", fi.Size())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(f.cp), ".*tmp*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

// tamper helpers work on the raw table, as an attacker with the file would:
// first dropping the append-only triggers.
func dropTriggers(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, q := range []string{"DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// rewriteFrom changes entry seq's detail and recomputes every hash from
// there to the head, leaving a chain that is consistent end to end.
func rewriteFrom(t *testing.T, f *fixture, seq int64) {
	t.Helper()
	ctx := context.Background()
	var all []Entry
	if err := f.log.walk(ctx, 1, -1, func(e Entry, derr error) {
		if derr != nil {
			t.Fatal(derr)
		}
		all = append(all, e)
	}); err != nil {
		t.Fatal(err)
	}
	prev := genesis
	for i := range all {
		e := &all[i]
		if e.Seq == seq {
			e.Detail = map[string]string{"assurance": "none", "attempt": "forged"}
		}
		if e.Seq >= seq {
			e.PrevHash = prev
			e.Hash = e.ComputeHash()
			d, _ := encodeDetail(e.Detail)
			mustExec(t, f.st.DB(), "UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?", d, e.PrevHash, e.Hash, e.Seq)
		}
		prev = e.Hash
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name       string
		checkpoint int64 // append this many, checkpoint, then append to 10
		tamper     func(t *testing.T, f *fixture)
		wantSeq    int64
	}{
		{"alter detail", 10, func(t *testing.T, f *fixture) {
			mustExec(t, f.st.DB(), `UPDATE audit SET detail = '{"assurance":"none","attempt":"2"}' WHERE seq = 3`)
		}, 3},
		{"alter actor", 10, func(t *testing.T, f *fixture) {
			mustExec(t, f.st.DB(), `UPDATE audit SET actor = 'admin:mallory' WHERE seq = 7`)
		}, 7},
		{"alter time", 10, func(t *testing.T, f *fixture) {
			mustExec(t, f.st.DB(), `UPDATE audit SET time = time - 3600000000000 WHERE seq = 9`)
		}, 9},
		{"corrupt detail JSON", 10, func(t *testing.T, f *fixture) {
			mustExec(t, f.st.DB(), `UPDATE audit SET detail = 'not json' WHERE seq = 4`)
		}, 4},
		{"delete a middle row", 10, func(t *testing.T, f *fixture) {
			mustExec(t, f.st.DB(), `DELETE FROM audit WHERE seq = 5`)
		}, 5},
		{"delete the first row", 10, func(t *testing.T, f *fixture) {
			mustExec(t, f.st.DB(), `DELETE FROM audit WHERE seq = 1`)
		}, 1},
		{"delete and renumber", 10, func(t *testing.T, f *fixture) {
			mustExec(t, f.st.DB(), `DELETE FROM audit WHERE seq = 6`)
			for s := 7; s <= 10; s++ {
				mustExec(t, f.st.DB(), `UPDATE audit SET seq = seq - 1 WHERE seq = ?`, s)
			}
		}, 6},
		{"swap two rows", 10, func(t *testing.T, f *fixture) {
			db := f.st.DB()
			mustExec(t, db, `UPDATE audit SET seq = -4 WHERE seq = 4`)
			mustExec(t, db, `UPDATE audit SET seq = 4 WHERE seq = 5`)
			mustExec(t, db, `UPDATE audit SET seq = 5 WHERE seq = -4`)
		}, 4},
		{"delete the tail", 10, func(t *testing.T, f *fixture) {
			mustExec(t, f.st.DB(), `DELETE FROM audit WHERE seq >= 8`)
		}, 8},
		{"delete everything", 10, func(t *testing.T, f *fixture) {
			mustExec(t, f.st.DB(), `DELETE FROM audit`)
		}, 1},
		{"consistent rewrite, checkpoint at head", 10, func(t *testing.T, f *fixture) {
			rewriteFrom(t, f, 3)
		}, 10},
		{"consistent rewrite, checkpoint mid-chain", 6, func(t *testing.T, f *fixture) {
			rewriteFrom(t, f, 3)
		}, 6},
		{"consistent rewrite and forged checkpoint", 10, func(t *testing.T, f *fixture) {
			rewriteFrom(t, f, 3)
			head, _ := f.log.Head(context.Background())
			forged := Checkpoint{Seq: head.Seq, Hash: head.Hash, Time: time.Now().UTC(), Signature: "ed25519:" + base64.StdEncoding.EncodeToString(make([]byte, 64))}
			if err := writeCheckpoint(f.cp, forged); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"checkpoint file removed", 10, func(t *testing.T, f *fixture) {
			if err := os.Remove(f.cp); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"checkpoint file garbled", 10, func(t *testing.T, f *fixture) {
			if err := os.WriteFile(f.cp, []byte("seq: 1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			f.appendN(t, int(tt.checkpoint))
			if _, err := f.log.Checkpoint(ctx, f.sig, f.cp); err != nil {
				t.Fatal(err)
			}
			f.appendN(t, 10-int(tt.checkpoint))
			if r, err := f.log.Verify(ctx, f.sig, f.cp); err != nil || !r.OK() {
				t.Fatalf("before tampering: %v %v", r.Problems, err)
			}
			dropTriggers(t, f.st.DB())
			tt.tamper(t, f)
			r, err := f.log.Verify(ctx, f.sig, f.cp)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() {
				t.Fatal("Verify found no problem")
			}
			if r.Problems[0].Seq != tt.wantSeq {
				t.Errorf("first problem = %+v, want seq %d (all: %+v)", r.Problems[0], tt.wantSeq, r.Problems)
			}
			t.Logf("problems: %+v", r.Problems)
		})
	}
}

func TestCheckpointRefusesToCoverTampering(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.appendN(t, 8)
	if _, err := f.log.Checkpoint(ctx, f.sig, f.cp); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(f.cp)
	if err != nil {
		t.Fatal(err)
	}
	f.appendN(t, 2)
	dropTriggers(t, f.st.DB())
	rewriteFrom(t, f, 5)
	if _, err := f.log.Checkpoint(ctx, f.sig, f.cp); err == nil {
		t.Fatal("Checkpoint signed a rewritten history")
	}
	// So are tampered entries after the checkpoint.
	f2 := newFixture(t)
	f2.appendN(t, 4)
	if _, err := f2.log.Checkpoint(ctx, f2.sig, f2.cp); err != nil {
		t.Fatal(err)
	}
	f2.appendN(t, 4)
	dropTriggers(t, f2.st.DB())
	mustExec(t, f2.st.DB(), `UPDATE audit SET action = 'message.seal' WHERE seq = 7`)
	if _, err := f2.log.Checkpoint(ctx, f2.sig, f2.cp); err == nil {
		t.Error("Checkpoint signed a chain with an altered entry after the last checkpoint")
	}
	after, _ := os.ReadFile(f.cp)
	if !bytes.Equal(before, after) {
		t.Error("a refused Checkpoint changed the checkpoint file")
	}
	// A checkpoint signed by another key is refused too.
	other := newSigner(t)
	if _, err := f2.log.Checkpoint(ctx, other, f2.cp); err == nil {
		t.Error("Checkpoint accepted a previous checkpoint it cannot verify")
	}
}

func TestRunCheckpointer(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		f.log.RunCheckpointer(ctx, f.sig, f.cp, 5*time.Millisecond)
		close(done)
	}()
	defer func() { cancel(); <-done }()

	waitFor := func(seq int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := ReadCheckpoint(f.cp)
			if err == nil && c.Seq == seq {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("checkpointer never wrote seq %d (last: %+v, %v)", seq, c, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	f.appendN(t, 3)
	waitFor(3)
	f.appendN(t, 2)
	waitFor(5)
	signs := f.sig.signs.Load()
	time.Sleep(100 * time.Millisecond) // about 20 ticks with an unmoved head
	if n := f.sig.signs.Load(); n != signs {
		t.Errorf("checkpointer signed %d more times without the head moving", n-signs)
	}
	r, err := f.log.Verify(context.Background(), f.sig, f.cp)
	if err != nil || !r.OK() {
		t.Errorf("Verify after checkpointer: %v %v", r.Problems, err)
	}
}

func TestExport(t *testing.T) {
	f := newFixture(t)
	entries := f.appendN(t, 7)
	var buf bytes.Buffer
	if err := f.log.Export(context.Background(), &buf, 0); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var x exported
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		// A SIEM can recompute the chain from the exported fields.
		tm, err := time.Parse(time.RFC3339Nano, x.Time)
		if err != nil {
			t.Fatal(err)
		}
		prev, _ := hex.DecodeString(x.PrevHash)
		e := Entry{Seq: x.Seq, Time: tm, Actor: x.Actor, Action: x.Action, TraceID: x.TraceID, MessageID: x.MessageID, Detail: x.Detail, PrevHash: prev}
		if got := hex.EncodeToString(e.ComputeHash()); got != x.Hash || x.Hash != hex.EncodeToString(entries[n].Hash) {
			t.Errorf("line %d: recomputed hash %s, exported %s, stored %x", n+1, got, x.Hash, entries[n].Hash)
		}
		n++
	}
	if n != 7 {
		t.Errorf("exported %d lines, want 7", n)
	}
	buf.Reset()
	if err := f.log.Export(context.Background(), &buf, 5); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 2 || !strings.HasPrefix(buf.String(), `{"seq":6,`) {
		t.Errorf("Export(since 5) = %q", buf.String())
	}
}

func TestParseCheckpoint(t *testing.T) {
	good := "sealpost-audit-checkpoint v1\nseq: 42\nhash: " + strings.Repeat("ab", 32) +
		"\ntime: 2025-01-02T03:04:05.123456789Z\nsignature: vault:v1:c2lnbmF0dXJl\n"
	c, err := ParseCheckpoint([]byte(good))
	if err != nil {
		t.Fatalf("ParseCheckpoint(good) = %v", err)
	}
	if c.Seq != 42 || c.Signature != "vault:v1:c2lnbmF0dXJl" || c.Time.Nanosecond() != 123456789 {
		t.Errorf("parsed %+v", c)
	}
	if b, _ := c.MarshalText(); string(b) != good {
		t.Errorf("MarshalText = %q, want %q", b, good)
	}
	bad := map[string]string{
		"leading zero":      strings.Replace(good, "seq: 42", "seq: 042", 1),
		"plus sign":         strings.Replace(good, "seq: 42", "seq: +42", 1),
		"seq zero":          strings.Replace(good, "seq: 42", "seq: 0", 1),
		"negative seq":      strings.Replace(good, "seq: 42", "seq: -1", 1),
		"uppercase hex":     strings.Replace(good, strings.Repeat("ab", 32), strings.Repeat("AB", 32), 1),
		"short hash":        strings.Replace(good, strings.Repeat("ab", 32), strings.Repeat("ab", 31), 1),
		"offset time":       strings.Replace(good, "05.123456789Z", "05.123456789+01:00", 1),
		"trailing zeros":    strings.Replace(good, "05.123456789Z", "05.120Z", 1),
		"no final newline":  strings.TrimSuffix(good, "\n"),
		"CRLF":              strings.ReplaceAll(good, "\n", "\r\n"),
		"extra line":        good + "extra: 1\n",
		"empty signature":   strings.Replace(good, "vault:v1:c2lnbmF0dXJl", "", 1),
		"space in sig":      strings.Replace(good, "vault:v1:c2lnbmF0dXJl", "vault:v1: x", 1),
		"reordered":         strings.Replace(strings.Replace(good, "seq: 42\n", "", 1), "signature:", "seq: 42\nsignature:", 1),
		"wrong header":      strings.Replace(good, "v1", "v2", 1),
		"zero time":         strings.Replace(good, "2025-01-02T03:04:05.123456789Z", "0001-01-01T00:00:00Z", 1),
		"missing separator": strings.Replace(good, "seq: 42", "seq:42", 1),
	}
	for name, in := range bad {
		if _, err := ParseCheckpoint([]byte(in)); err == nil {
			t.Errorf("ParseCheckpoint accepted %s: %q", name, in)
		}
	}
}

func TestCanonicalEncodingIsUnambiguous(t *testing.T) {
	base := Entry{Seq: 1, Time: time.Unix(0, 1).UTC(), Actor: "ab", Action: "c", PrevHash: genesis}
	variants := []Entry{
		base,
		{Seq: 1, Time: base.Time, Actor: "a", Action: "bc", PrevHash: genesis},
		{Seq: 1, Time: base.Time, Actor: "ab", Action: "c", TraceID: "", MessageID: "", Detail: map[string]string{"": ""}, PrevHash: genesis},
		{Seq: 1, Time: base.Time, Actor: "ab", Action: "", TraceID: "c", PrevHash: genesis},
		{Seq: 1, Time: base.Time, Actor: "ab", Action: "c", Detail: map[string]string{"k": "v"}, PrevHash: genesis},
		{Seq: 1, Time: base.Time, Actor: "ab", Action: "c", Detail: map[string]string{"kv": ""}, PrevHash: genesis},
		{Seq: 2, Time: base.Time, Actor: "ab", Action: "c", PrevHash: genesis},
		{Seq: 1, Time: base.Time.Add(1), Actor: "ab", Action: "c", PrevHash: genesis},
		{Seq: 1, Time: base.Time, Actor: "ab", Action: "c", PrevHash: genesis[1:]},
	}
	seen := map[string]int{}
	for i, e := range variants {
		h := hex.EncodeToString(e.ComputeHash())
		if j, ok := seen[h]; ok {
			t.Errorf("variants %d and %d hash the same", j, i)
		}
		seen[h] = i
		d, err := decodeCanonical(e.canonical())
		if err != nil {
			t.Errorf("variant %d does not decode: %v", i, err)
			continue
		}
		if !bytes.Equal(d.canonical(), e.canonical()) {
			t.Errorf("variant %d does not round-trip", i)
		}
	}
}
