package audit

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
)

// TestAppendTxAndGroupedWriters: entries appended inside a caller's
// transaction are durable with it and vanish with its rollback, and entries
// appended concurrently through the store's group commit still form one
// chain that verifies.
func TestAppendTxAndGroupedWriters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lg, err := New(f.st.DB(), WithWriter(f.st.Write))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lg.AppendTx(ctx, nil, Entry{Actor: "a", Action: "x"}); err == nil {
		t.Fatal("AppendTx accepted a nil transaction")
	}
	boom := errors.New("boom")
	err = f.st.Write(ctx, func(tx *sql.Tx) error {
		if _, err := lg.AppendTx(ctx, tx, Entry{Actor: "relay", Action: "seal", MessageID: "m1"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if head, err := lg.Head(ctx); err == nil && head.Seq != 0 {
		t.Fatalf("a rolled-back entry is in the chain: head %d", head.Seq)
	}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				if _, err := lg.Append(ctx, Entry{Actor: "relay", Action: "deliver"}); err != nil {
					t.Error(err)
				}
				return
			}
			if err := f.st.Write(ctx, func(tx *sql.Tx) error {
				_, err := lg.AppendTx(ctx, tx, Entry{Actor: "relay", Action: "seal"})
				return err
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, err := lg.Checkpoint(ctx, f.sig, f.cp); err != nil {
		t.Fatal(err)
	}
	rep, err := lg.Verify(ctx, f.sig, f.cp)
	if err != nil || !rep.OK() || rep.Entries != 40 {
		t.Fatalf("chain after grouped appends: entries %d, problems %v, err %v", rep.Entries, rep.Problems, err)
	}
}
