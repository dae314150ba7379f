package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Group commit.
//
// Every write is committed with synchronous=FULL before it returns, and on
// the disks Sealpost runs on an fsync costs milliseconds. With one
// transaction per write, concurrent sessions queue behind each other's
// fsyncs, and a sealed message (record, audit entries, ledger) pays several.
// So writers that arrive while a commit is under way are gathered into the
// next transaction: each runs inside its own SAVEPOINT, so one writer's
// failure rolls back only its own work, and one COMMIT (one fsync) makes the
// whole batch durable before any of them returns. A writer that arrives
// alone commits alone, exactly as before.

// maxBatch bounds how many writes share one transaction.
const maxBatch = 64

type writeReq struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error
}

// Write runs fn in a read-write transaction that is committed, and durable,
// before Write returns; fn may share that transaction with other writers
// (see above), but never sees their uncommitted failures. gateway/audit
// appends through Write so that its entries join the same commits.
func (s *Store) Write(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.writeTx(ctx, fn)
}

// writeTx queues fn and either becomes the leader that commits the queue,
// or waits for the leader that took fn to finish.
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("failed to write: %w", err)
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.qmu.Lock()
	s.queue = append(s.queue, req)
	s.qmu.Unlock()
	for {
		select {
		case err := <-req.done:
			return err
		case s.wmu <- struct{}{}:
			s.qmu.Lock()
			n := min(len(s.queue), maxBatch)
			batch := s.queue[:n:n]
			s.queue = s.queue[n:]
			s.qmu.Unlock()
			if len(batch) > 0 {
				s.commitBatch(batch)
			}
			<-s.wmu
		}
	}
}

// commitBatch runs a batch in one transaction and answers every writer.
func (s *Store) commitBatch(batch []*writeReq) {
	if len(batch) == 1 {
		r := batch[0]
		if err := r.ctx.Err(); err != nil {
			r.done <- fmt.Errorf("failed to write: %w", err)
			return
		}
		r.done <- s.inTx(r.ctx, r.fn)
		return
	}
	errs := make([]error, len(batch))
	answer := func() {
		for i, r := range batch {
			r.done <- errs[i]
		}
	}
	failAll := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		answer()
	}
	tx, err := s.wdb.BeginTx(context.Background(), nil)
	if err != nil {
		failAll(fmt.Errorf("failed to begin transaction: %w", err))
		return
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("failed to write: %w", err)
			continue
		}
		if _, err := tx.Exec("SAVEPOINT sealpost_write"); err != nil {
			tx.Rollback()
			failAll(fmt.Errorf("failed to open savepoint: %w", err))
			return
		}
		if err := r.fn(tx); err != nil {
			errs[i] = err
			if _, rerr := tx.Exec("ROLLBACK TO sealpost_write"); rerr != nil {
				tx.Rollback()
				failAll(fmt.Errorf("failed to roll back a write, so the batch was: %w", rerr))
				return
			}
		}
		if _, err := tx.Exec("RELEASE sealpost_write"); err != nil {
			tx.Rollback()
			failAll(fmt.Errorf("failed to release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		failAll(fmt.Errorf("failed to commit transaction: %w", err))
		return
	}
	answer()
}
