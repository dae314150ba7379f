package spool

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

const marker = "PATIENT NHS 943 476 5919 DIAGNOSIS"

// message returns n bytes of random data with marker planted at the start,
// in the middle and at the end.
func message(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	copy(b, marker)
	copy(b[n/2:], marker)
	copy(b[n-len(marker):], marker)
	return b
}

// writeChunks writes msg to w in chunks of size chunk.
func writeChunks(t testing.TB, w io.Writer, msg []byte, chunk int) {
	t.Helper()
	for len(msg) > 0 {
		n := min(chunk, len(msg))
		if m, err := w.Write(msg[:n]); err != nil || m != n {
			t.Fatalf("Write = %d, %v; want %d, nil", m, err, n)
		}
		msg = msg[n:]
	}
}

func readAll(t testing.TB, b *Buffer) []byte {
	t.Helper()
	r, err := b.Open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading buffer: %v", err)
	}
	return got
}

func dirFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, filepath.Join(dir, e.Name()))
	}
	return names
}

func TestBuffer(t *testing.T) {
	const limit = 64 << 10
	tests := []struct {
		name     string
		memLimit int64
		size     int
		chunk    int
		wantFile bool
	}{
		{"empty", limit, 0, 1, false},
		{"small", limit, 100, 7, false},
		{"exactly at limit", limit, limit, 1000, false},
		{"one byte over", limit, limit + 1, 1000, true},
		{"spill inside a write", limit, 3 * limit, 50000, true},
		{"large many small writes", limit, 1 << 20, 333, true},
		{"large one write", limit, 1 << 20, 1 << 20, true},
		{"zero limit spills everything", 0, 10, 3, true},
		{"negative limit spills everything", -1, 10, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			b := New(dir, tt.memLimit).NewBuffer()
			msg := message(t, max(tt.size, len(marker)))[:tt.size]
			writeChunks(t, b, msg, tt.chunk)
			if err := b.Seal(); err != nil {
				t.Fatalf("Seal: %v", err)
			}

			files := dirFiles(t, dir)
			if tt.wantFile && len(files) != 1 {
				t.Fatalf("files in spool dir = %v, want exactly one", files)
			}
			if !tt.wantFile && len(files) != 0 {
				t.Fatalf("files in spool dir = %v, want none (message should stay in memory)", files)
			}
			if tt.wantFile {
				raw, err := os.ReadFile(files[0])
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n")) {
					t.Errorf("spool file does not start with an age header")
				}
				if tt.size >= len(marker) && bytes.Contains(raw, []byte(marker)) {
					t.Errorf("spool file contains the plaintext marker")
				}
				fi, err := os.Stat(files[0])
				if err != nil {
					t.Fatal(err)
				}
				if perm := fi.Mode().Perm(); perm != 0o600 {
					t.Errorf("spool file mode = %v, want 0600", perm)
				}
			}

			if got := b.Size(); got != int64(tt.size) {
				t.Errorf("Size = %d, want %d", got, tt.size)
			}
			want := sha256.Sum256(msg)
			if got := b.SHA256(); !bytes.Equal(got, want[:]) {
				t.Errorf("SHA256 = %x, want %x", got, want)
			}
			first := readAll(t, b)
			second := readAll(t, b)
			if !bytes.Equal(first, msg) {
				t.Errorf("first Open returned %d bytes that differ from the %d written", len(first), len(msg))
			}
			if !bytes.Equal(second, first) {
				t.Errorf("second Open differs from the first")
			}

			if err := b.Remove(); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			if files := dirFiles(t, dir); len(files) != 0 {
				t.Errorf("files after Remove = %v, want none", files)
			}
			if _, err := b.Open(); !errors.Is(err, ErrRemoved) {
				t.Errorf("Open after Remove = %v, want ErrRemoved", err)
			}
			if err := b.Remove(); err != nil {
				t.Errorf("second Remove = %v, want nil", err)
			}
		})
	}
}

func TestBufferStateErrors(t *testing.T) {
	b := New(t.TempDir(), 16).NewBuffer()
	if _, err := b.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(); !errors.Is(err, ErrNotSealed) {
		t.Errorf("Open before Seal = %v, want ErrNotSealed", err)
	}
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	if err := b.Seal(); err != nil {
		t.Errorf("second Seal = %v, want nil", err)
	}
	if _, err := b.Write([]byte("more")); !errors.Is(err, ErrSealed) {
		t.Errorf("Write after Seal = %v, want ErrSealed", err)
	}
	if err := b.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write([]byte("more")); !errors.Is(err, ErrRemoved) {
		t.Errorf("Write after Remove = %v, want ErrRemoved", err)
	}
	if err := b.Seal(); !errors.Is(err, ErrRemoved) {
		t.Errorf("Seal after Remove = %v, want ErrRemoved", err)
	}
}

func TestReaderAfterRemove(t *testing.T) {
	for _, limit := range []int64{1 << 20, 0} {
		b := New(t.TempDir(), limit).NewBuffer()
		writeChunks(t, b, message(t, 256<<10), 4096)
		if err := b.Seal(); err != nil {
			t.Fatal(err)
		}
		r, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		if err := b.Remove(); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(r); err == nil {
			t.Errorf("memLimit %d: reading an open reader after Remove succeeded, want an error", limit)
		}
		r.Close()
	}
}

func TestSpillFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	b := New(dir, 8).NewBuffer()
	if _, err := b.Write([]byte("0123456789")); err == nil {
		t.Fatal("Write spilling into a missing directory succeeded, want an error")
	}
	if _, err := b.Write([]byte("x")); err == nil {
		t.Error("Write after a failed spill succeeded, want the sticky error")
	}
	if err := b.Seal(); err == nil {
		t.Error("Seal after a failed spill succeeded, want an error")
	}
}

func TestConcurrentOpen(t *testing.T) {
	for _, limit := range []int64{1 << 20, 1 << 10} {
		b := New(t.TempDir(), limit).NewBuffer()
		msg := message(t, 300<<10)
		writeChunks(t, b, msg, 10000)
		if err := b.Seal(); err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256(msg)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				r, err := b.Open()
				if err != nil {
					errs <- err
					return
				}
				defer r.Close()
				h := sha256.New()
				if _, err := io.Copy(h, r); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(h.Sum(nil), want[:]) {
					errs <- errors.New("concurrent reader got different bytes")
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("memLimit %d: %v", limit, err)
		}
		if err := b.Remove(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLargeMessageBoundedMemory writes and reads back 50 MB and checks that
// the message is never held whole: writing allocates far less than the
// message size, and the live heap stays small while writing and while
// reading. (age allocates a short-lived 64 KiB buffer per chunk when
// decrypting, so allocations on the read side are churn, not retention.)
func TestLargeMessageBoundedMemory(t *testing.T) {
	const size = 50 << 20
	const bound = 8 << 20
	dir := t.TempDir()
	b := New(dir, 1<<20).NewBuffer()

	chunk := make([]byte, 32<<10)
	rand.Read(chunk)
	copy(chunk[100:], marker)
	want := sha256.New()

	base := liveHeap()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for written := 0; written < size; written += len(chunk) {
		if _, err := b.Write(chunk); err != nil {
			t.Fatal(err)
		}
		want.Write(chunk)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound {
		t.Errorf("writing 50 MB allocated %d bytes, want at most %d", alloc, bound)
	}
	if live := liveHeap() - base; live > bound {
		t.Errorf("live heap grew by %d bytes while writing 50 MB, want at most %d", live, bound)
	}
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}

	r, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	buf := make([]byte, 32<<10)
	n, err := io.CopyBuffer(got, io.LimitReader(r, size/2), buf)
	if err != nil {
		t.Fatal(err)
	}
	if live := liveHeap() - base; live > bound {
		t.Errorf("live heap grew by %d bytes halfway through reading 50 MB, want at most %d", live, bound)
	}
	m, err := io.CopyBuffer(got, r, buf)
	if err != nil {
		t.Fatal(err)
	}

	if n+m != size || b.Size() != size {
		t.Errorf("read back %d bytes, Size %d, want %d", n+m, b.Size(), size)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) || !bytes.Equal(b.SHA256(), want.Sum(nil)) {
		t.Error("50 MB round trip changed the data")
	}
	files := dirFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("files = %v, want one", files)
	}
	if err := b.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(files[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool file still exists after Remove: %v", err)
	}
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestChunkBoundaries writes messages whose sizes sit on and around the
// in-memory chunk size, in writes that straddle chunks, and reads them back.
func TestChunkBoundaries(t *testing.T) {
	for _, size := range []int{1, memChunk - 1, memChunk, memChunk + 1, 3*memChunk - 7, 3 * memChunk, 5*memChunk + 123} {
		for _, write := range []int{1 << 20, memChunk, 7777} {
			b := New(t.TempDir(), 1<<20).NewBuffer()
			msg := message(t, max(size, len(marker)))[:size]
			writeChunks(t, b, msg, write)
			if err := b.Seal(); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, b); !bytes.Equal(got, msg) {
				t.Errorf("size %d in writes of %d: read back %d bytes that differ", size, write, len(got))
			}
			want := sha256.Sum256(msg)
			if got := b.SHA256(); !bytes.Equal(got, want[:]) {
				t.Errorf("size %d in writes of %d: SHA256 = %x, want %x", size, write, got, want)
			}
			if len(b.mem) != (size+memChunk-1)/memChunk {
				t.Errorf("size %d: %d chunks in memory, want %d", size, len(b.mem), (size+memChunk-1)/memChunk)
			}
			b.Remove()
		}
	}
}

// TestReadFrom checks that ReadFrom stores exactly what the reader returns,
// in memory and across a spill, and passes on the reader's error.
func TestReadFrom(t *testing.T) {
	for _, limit := range []int64{1 << 20, 100 << 10, 0} {
		b := New(t.TempDir(), limit).NewBuffer()
		msg := message(t, 300<<10)
		n, err := b.ReadFrom(io.MultiReader(bytes.NewReader(msg[:1000]), bytes.NewReader(msg[1000:])))
		if err != nil || n != int64(len(msg)) {
			t.Fatalf("memLimit %d: ReadFrom = %d, %v; want %d, nil", limit, n, err, len(msg))
		}
		if err := b.Seal(); err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256(msg)
		if got := readAll(t, b); !bytes.Equal(got, msg) || !bytes.Equal(b.SHA256(), want[:]) {
			t.Errorf("memLimit %d: ReadFrom stored different bytes", limit)
		}
		b.Remove()
	}
	b := New(t.TempDir(), 1<<20).NewBuffer()
	boom := errors.New("connection reset")
	n, err := b.ReadFrom(io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || n != 7 || b.Size() != 7 {
		t.Errorf("ReadFrom of a failing reader = %d, %v (size %d); want 7, %v", n, err, b.Size(), boom)
	}
	b.Seal()
	if _, err := b.ReadFrom(strings.NewReader("more")); !errors.Is(err, ErrSealed) {
		t.Errorf("ReadFrom after Seal = %v, want ErrSealed", err)
	}
}

// TestSHA256Lazy checks that an in-memory message is hashed only when its
// hash is asked for, that the hash so far is right before Seal, and what
// SHA256 gives after Remove.
func TestSHA256Lazy(t *testing.T) {
	msg := message(t, 200<<10)
	b := New(t.TempDir(), 1<<20).NewBuffer()
	writeChunks(t, b, msg[:100<<10], 4096)
	if b.hashed != 0 {
		t.Errorf("%d bytes hashed while writing in memory, want 0", b.hashed)
	}
	want := sha256.Sum256(msg[:100<<10])
	if got := b.SHA256(); !bytes.Equal(got, want[:]) {
		t.Errorf("SHA256 halfway = %x, want %x", got, want)
	}
	writeChunks(t, b, msg[100<<10:], 5000)
	b.Seal()
	want = sha256.Sum256(msg)
	if got := b.SHA256(); !bytes.Equal(got, want[:]) {
		t.Errorf("SHA256 = %x, want %x", got, want)
	}
	b.Remove()
	if got := b.SHA256(); !bytes.Equal(got, want[:]) {
		t.Errorf("SHA256 after Remove, asked before = %x, want %x", got, want)
	}

	never := New(t.TempDir(), 1<<20).NewBuffer()
	writeChunks(t, never, msg, 1<<20)
	never.Seal()
	never.Remove()
	if got := never.SHA256(); got != nil {
		t.Errorf("SHA256 after Remove, never asked = %x, want nil", got)
	}

	// A spilled buffer hashes as it writes; its hash outlives Remove.
	spilled := New(t.TempDir(), 1<<10).NewBuffer()
	writeChunks(t, spilled, msg, 3000)
	spilled.Seal()
	spilled.Remove()
	if got := spilled.SHA256(); !bytes.Equal(got, want[:]) {
		t.Errorf("spilled: SHA256 after Remove = %x, want %x", got, want)
	}
}

// TestRemoveWipesChunks checks that the memory chunks are cleared before
// they are recycled, and when the buffer spills.
func TestRemoveWipesChunks(t *testing.T) {
	for _, spill := range []bool{false, true} {
		b := New(t.TempDir(), 150<<10).NewBuffer()
		msg := message(t, 140<<10)
		writeChunks(t, b, msg, 10000)
		chunks := slices.Clone(b.mem)
		if spill {
			writeChunks(t, b, msg, 10000)
			if b.mem != nil {
				t.Fatal("buffer did not spill")
			}
		} else {
			b.Seal()
			b.Remove()
		}
		for i, c := range chunks {
			if !bytes.Equal(c[:], make([]byte, memChunk)) {
				t.Errorf("spill %v: chunk %d not wiped", spill, i)
			}
		}
		b.Remove()
	}
}

// BenchmarkBuffer writes a 160 KB message in 32 KiB writes, seals it, reads
// it back and removes it: a relay's spool buffer for one message.
func BenchmarkBuffer(b *testing.B) {
	msg := message(b, 160_000)
	sp := New(b.TempDir(), 1<<20)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		bb := sp.NewBuffer()
		writeChunks(b, bb, msg, 32<<10)
		if err := bb.Seal(); err != nil {
			b.Fatal(err)
		}
		r, err := bb.Open()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
			b.Fatal(err)
		}
		r.Close()
		bb.Remove()
	}
}
