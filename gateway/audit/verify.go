package audit

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// Problem is one finding of [Log.Verify]: the seq of the first entry it
// concerns (0 for the checkpoint file itself) and why.
type Problem struct {
	Seq    int64
	Reason string
}

// Report is the result of [Log.Verify].
type Report struct {
	Entries    int64       // rows in the log
	Head       Entry       // the last row, as stored
	Checkpoint *Checkpoint // the checkpoint read, if any
	Problems   []Problem   // ordered by Seq; empty when the log verifies
}

// OK reports whether the log verified with no problems.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Verify walks the whole chain, then checks it against the checkpoint at
// checkpointPath (skipped if the path is empty). It reports, ordered by
// sequence number with the first bad entry first:
//
//   - an entry whose stored hash is not the hash of its contents (altered);
//   - a gap in the sequence (removed entries), named by the first missing seq;
//   - an entry whose previous-hash link does not match the entry before it
//     (removed or reordered entries);
//   - a head before the checkpoint's seq (truncation), named by the first
//     missing seq;
//   - an entry at the checkpoint's seq whose hash is not the signed one (a
//     chain rewritten consistently, at or before that entry);
//   - a checkpoint file that is missing (unless the log is empty), unreadable
//     or whose signature s does not accept (Seq 0).
//
// Findings are returned in the Report; the error is only for failing to read
// the database. s is used only with a checkpoint and may be nil without one.
func (l *Log) Verify(ctx context.Context, s Signer, checkpointPath string) (Report, error) {
	var r Report
	c := chainChecker{expected: 1, prev: genesis, problems: problemSet{}}
	var cp *Checkpoint
	var cpEntry *Entry
	missing := false
	if checkpointPath != "" {
		got, err := ReadCheckpoint(checkpointPath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = true
		case err != nil:
			c.problems.add(0, err.Error())
		default:
			cp = &got
			r.Checkpoint = cp
		}
	}
	err := l.walk(ctx, 0, -1, func(e Entry, detailErr error) {
		c.check(e, detailErr)
		r.Entries++
		r.Head = e
		if cp != nil && e.Seq == cp.Seq {
			cpEntry = &e
		}
	})
	if err != nil {
		return Report{}, err
	}
	if missing && r.Entries > 0 {
		// An empty log without a checkpoint is a fresh install.
		c.problems.add(0, "checkpoint file missing")
	}
	if cp != nil {
		if err := s.Verify(ctx, cp.SignedData(), cp.Signature); err != nil {
			c.problems.add(0, fmt.Sprintf("checkpoint signature does not verify: %v", err))
		}
		switch {
		case r.Head.Seq < cp.Seq:
			c.problems.add(r.Head.Seq+1, fmt.Sprintf("log truncated: head is seq %d, the signed checkpoint covers seq %d", r.Head.Seq, cp.Seq))
		case cpEntry == nil:
			c.problems.add(cp.Seq, "entry covered by the signed checkpoint is missing")
		case !bytes.Equal(cpEntry.Hash, cp.Hash):
			c.problems.add(cp.Seq, "entry hash differs from the signed checkpoint: the chain was rewritten at or before this entry")
		}
	}
	r.Problems = c.problems.sorted()
	return r, nil
}

// walk streams the entries with from <= seq (and seq <= to unless to < 0)
// in seq order.
func (l *Log) walk(ctx context.Context, from, to int64, fn func(e Entry, detailErr error)) error {
	q := "SELECT " + entryColumns + " FROM audit WHERE seq >= ?"
	args := []any{from}
	if to >= 0 {
		q += " AND seq <= ?"
		args = append(args, to)
	}
	rows, err := l.db.QueryContext(ctx, q+" ORDER BY seq", args...)
	if err != nil {
		return fmt.Errorf("failed to read audit log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, detail, err := scanRaw(rows)
		if err != nil {
			return fmt.Errorf("failed to read audit entry: %w", err)
		}
		fn(e, setDetail(&e, detail))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("failed to read audit log: %w", err)
	}
	return nil
}

// chainChecker checks entries fed to it in seq order.
type chainChecker struct {
	expected int64  // seq the next entry should have
	prev     []byte // stored hash of the entry before it
	problems problemSet
}

func (c *chainChecker) check(e Entry, detailErr error) {
	switch {
	case e.Seq > c.expected:
		if e.Seq == c.expected+1 {
			c.problems.add(c.expected, "entry missing")
		} else {
			c.problems.add(c.expected, fmt.Sprintf("entries %d to %d missing", c.expected, e.Seq-1))
		}
	case e.Seq < c.expected:
		c.problems.add(e.Seq, "entry out of sequence")
	case !bytes.Equal(e.PrevHash, c.prev):
		c.problems.add(e.Seq, "previous-hash link does not match the entry before it (entries removed or reordered)")
	}
	switch {
	case detailErr != nil:
		c.problems.add(e.Seq, "detail column corrupted: entry altered")
	case !bytes.Equal(e.ComputeHash(), e.Hash):
		c.problems.add(e.Seq, "hash does not match the entry's contents: entry altered")
	}
	c.expected = e.Seq + 1
	c.prev = e.Hash
}

// finish reports entries missing at the end, up to head.
func (c *chainChecker) finish(head int64) {
	if c.expected <= head {
		c.problems.add(c.expected, fmt.Sprintf("entries %d to %d missing", c.expected, head))
	}
}

// problemSet collects reasons per seq.
type problemSet map[int64][]string

func (p problemSet) add(seq int64, reason string) {
	if !slices.Contains(p[seq], reason) {
		p[seq] = append(p[seq], reason)
	}
}

func (p problemSet) sorted() []Problem {
	var out []Problem
	for seq, reasons := range p {
		out = append(out, Problem{Seq: seq, Reason: strings.Join(reasons, "; ")})
	}
	slices.SortFunc(out, func(a, b Problem) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}
