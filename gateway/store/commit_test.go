package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// TestGroupCommitIsolatesFailures runs many concurrent writers, every third
// of which fails after writing: the failures leave nothing behind, every
// other write is there (also after reopening), and writers did share
// transactions.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("CREATE TABLE t (k TEXT PRIMARY KEY)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const n = 60
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Write(ctx, func(tx *sql.Tx) error {
				if _, err := tx.Exec("INSERT INTO t (k) VALUES (?)", fmt.Sprint(i)); err != nil {
					return err
				}
				if i%3 == 0 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%3 == 0 && !errors.Is(err, boom) {
			t.Errorf("writer %d: got %v, want its own error", i, err)
		}
		if i%3 != 0 && err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < n; i++ {
		var k string
		err := s.DB().QueryRow("SELECT k FROM t WHERE k = ?", fmt.Sprint(i)).Scan(&k)
		switch {
		case i%3 == 0 && !errors.Is(err, sql.ErrNoRows):
			t.Errorf("failed writer %d left its row behind (err %v)", i, err)
		case i%3 != 0 && err != nil:
			t.Errorf("writer %d's row is missing: %v", i, err)
		}
	}
}

// TestGroupCommitBatches shows that writers arriving during a commit share
// the next transaction: while one writer holds the commit, the others queue
// and are then committed together.
func TestGroupCommitBatches(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("CREATE TABLE t (k INTEGER)")
		return err
	}))
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_ = s.Write(ctx, func(tx *sql.Tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	const n = 10
	var wg sync.WaitGroup
	txSeen := make(chan *sql.Tx, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			must(s.Write(ctx, func(tx *sql.Tx) error {
				txSeen <- tx
				_, err := tx.Exec("INSERT INTO t (k) VALUES (?)", i)
				return err
			}))
		}()
	}
	// Let every writer queue behind the held commit, then release it.
	for {
		s.qmu.Lock()
		q := len(s.queue)
		s.qmu.Unlock()
		if q == n {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	close(txSeen)
	distinct := map[*sql.Tx]bool{}
	for tx := range txSeen {
		distinct[tx] = true
	}
	if len(distinct) != 1 {
		t.Errorf("%d queued writers used %d transactions, want 1", n, len(distinct))
	}
	var count int
	must(s.DB().QueryRow("SELECT count(*) FROM t").Scan(&count))
	if count != n {
		t.Errorf("%d rows, want %d", count, n)
	}
}
