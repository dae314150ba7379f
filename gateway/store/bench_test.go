package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration { return cpuTimeT() }

func cpuTimeT() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSealCommit measures what the relay asks of the store for one
// sealed message of the benchmark's size: the record with 162 KB of
// ciphertext in one transaction, then the delivery ledger entry in another.
// It reports the CPU time per message besides the wall time (which is
// mostly the two fsyncs).
func BenchmarkSealCommit(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "sealpost.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ct := make([]byte, 162_000)
	rand.Read(ct)
	sum := sha256.Sum256(ct)
	ctx := context.Background()
	b.SetBytes(int64(len(ct)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for i := range b.N {
		id := fmt.Sprintf("bench-%d", i)
		m := testMessage(id)
		m.CiphertextSize = int64(len(ct))
		m.CiphertextSHA256 = sum[:]
		if err := s.PutMessage(ctx, m, bytes.NewReader(ct)); err != nil {
			b.Fatal(err)
		}
		key := LedgerKey(sum[:], []string{id})
		if err := s.LedgerRecord(ctx, key, id, "250"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkSealCommitParallel is BenchmarkSealCommit from eight goroutines,
// as the relay's sessions do it, each also reading the ledger first.
func BenchmarkSealCommitParallel(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "sealpost.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ct := make([]byte, 162_000)
	rand.Read(ct)
	sum := sha256.Sum256(ct)
	ctx := context.Background()
	b.SetBytes(int64(len(ct)))
	b.SetParallelism(4) // 8 goroutines on 2 CPUs
	var n atomic.Int64
	b.ResetTimer()
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("bench-%d", n.Add(1))
			key := LedgerKey(sum[:], []string{id})
			if _, err := s.LedgerDelivered(ctx, key); err != nil {
				b.Error(err)
				return
			}
			m := testMessage(id)
			m.CiphertextSize = int64(len(ct))
			m.CiphertextSHA256 = sum[:]
			if err := s.PutMessage(ctx, m, bytes.NewReader(ct)); err != nil {
				b.Error(err)
				return
			}
			if _, err := s.GetMessage(ctx, id); err != nil {
				b.Error(err)
				return
			}
			if err := s.LedgerRecord(ctx, key, id, "250"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
