package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Signer signs and verifies checkpoints. *keys.Client implements it with a
// Vault Transit ed25519 key.
type Signer interface {
	Sign(ctx context.Context, data []byte) (string, error)
	Verify(ctx context.Context, data []byte, sig string) error
}

// Checkpoint is a signed statement that the log's entry Seq had hash Hash at
// Time.
type Checkpoint struct {
	Seq       int64
	Hash      []byte
	Time      time.Time
	Signature string // opaque, e.g. "vault:v1:..."
}

const (
	checkpointHeader = "sealpost-audit-checkpoint v1"
	checkpointMagic  = "sealpost-audit-checkpoint-v1\x00"
	maxCheckpointLen = 4096
)

// SignedData returns the bytes the signature covers: a fixed label, then
// seq and time (Unix nanoseconds) as big-endian 64-bit integers, then the
// hash.
func (c *Checkpoint) SignedData() []byte {
	b := make([]byte, 0, len(checkpointMagic)+16+len(c.Hash))
	b = append(b, checkpointMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(timeNanos(c.Time)))
	return append(b, c.Hash...)
}

// MarshalText returns the checkpoint file format:
//
//	sealpost-audit-checkpoint v1
//	seq: 42
//	hash: <64 lowercase hex digits>
//	time: 2025-01-02T03:04:05.123456789Z
//	signature: vault:v1:...
//
// with every line ending in a newline.
func (c *Checkpoint) MarshalText() ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nseq: %d\nhash: %s\ntime: %s\nsignature: %s\n",
		checkpointHeader, c.Seq, hex.EncodeToString(c.Hash), c.Time.UTC().Format(time.RFC3339Nano), c.Signature)
	return b.Bytes(), nil
}

func (c *Checkpoint) check() error {
	switch {
	case c.Seq < 1:
		return errors.New("checkpoint seq must be positive")
	case len(c.Hash) != sha256.Size:
		return errors.New("checkpoint hash must be 32 bytes")
	case c.Time.IsZero() || c.Time.Year() <= 1678 || c.Time.Year() >= 2262:
		return errors.New("checkpoint time out of range")
	case !validSignature(c.Signature):
		return errors.New("checkpoint signature is empty or not printable ASCII")
	}
	return nil
}

func validSignature(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// ParseCheckpoint parses the file format written by [Checkpoint.MarshalText].
// It is strict: it accepts only what MarshalText produces.
func ParseCheckpoint(b []byte) (Checkpoint, error) {
	if len(b) > maxCheckpointLen {
		return Checkpoint{}, errors.New("checkpoint file too large")
	}
	s := string(b)
	if !strings.HasSuffix(s, "\n") {
		return Checkpoint{}, errors.New("checkpoint file does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != 5 || lines[0] != checkpointHeader {
		return Checkpoint{}, errors.New("not a sealpost audit checkpoint v1 file")
	}
	field := func(line, name string) (string, error) {
		v, ok := strings.CutPrefix(line, name+": ")
		if !ok {
			return "", fmt.Errorf("checkpoint line %q: want %q", line, name)
		}
		return v, nil
	}
	var c Checkpoint
	v, err := field(lines[1], "seq")
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Seq, err = strconv.ParseInt(v, 10, 64); err != nil || strconv.FormatInt(c.Seq, 10) != v {
		return Checkpoint{}, fmt.Errorf("checkpoint seq %q is not a canonical decimal", v)
	}
	if v, err = field(lines[2], "hash"); err != nil {
		return Checkpoint{}, err
	}
	if c.Hash, err = hex.DecodeString(v); err != nil || hex.EncodeToString(c.Hash) != v {
		return Checkpoint{}, fmt.Errorf("checkpoint hash is not lowercase hex")
	}
	if v, err = field(lines[3], "time"); err != nil {
		return Checkpoint{}, err
	}
	if c.Time, err = time.Parse(time.RFC3339Nano, v); err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint time: %w", err)
	}
	c.Time = c.Time.UTC()
	if c.Time.Format(time.RFC3339Nano) != v {
		return Checkpoint{}, fmt.Errorf("checkpoint time %q is not canonical RFC 3339 UTC", v)
	}
	if c.Signature, err = field(lines[4], "signature"); err != nil {
		return Checkpoint{}, err
	}
	if err := c.check(); err != nil {
		return Checkpoint{}, err
	}
	return c, nil
}

// ReadCheckpoint reads and parses a checkpoint file. A missing file gives an
// error matching [fs.ErrNotExist].
func ReadCheckpoint(path string) (Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("failed to read audit checkpoint: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCheckpointLen+1))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("failed to read audit checkpoint: %w", err)
	}
	c, err := ParseCheckpoint(b)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("failed to parse audit checkpoint: %w", err)
	}
	return c, nil
}

// writeCheckpoint writes c to path atomically: a temporary file in the same
// directory, synced, then renamed over path, then the directory synced.
func writeCheckpoint(path string, c Checkpoint) error {
	b, err := c.MarshalText()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to create checkpoint directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("failed to create checkpoint file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to write checkpoint file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to sync checkpoint file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to write checkpoint file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("failed to install checkpoint file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Checkpoint signs the head's (seq, hash) and the current time with s and
// writes the result atomically to path, a file kept outside the store.
//
// If path already holds a checkpoint, Checkpoint first checks its signature
// and that the chain still extends it: the entry at its seq has its hash and
// every later entry links and hashes correctly. If not, it refuses, so that
// a tampered history is never covered by a new signature; after
// investigating, an operator moves the old file aside to start afresh.
// It returns [ErrEmpty] for an empty log.
func (l *Log) Checkpoint(ctx context.Context, s Signer, path string) (Checkpoint, error) {
	head, err := l.Head(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("failed to checkpoint audit log: %w", err)
	}
	if head.Seq == 0 {
		return Checkpoint{}, fmt.Errorf("failed to checkpoint audit log: %w", ErrEmpty)
	}
	prev, err := ReadCheckpoint(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Checkpoint{}, fmt.Errorf("failed to checkpoint audit log: %w", err)
	default:
		if err := s.Verify(ctx, prev.SignedData(), prev.Signature); err != nil {
			return Checkpoint{}, fmt.Errorf("failed to checkpoint audit log: existing checkpoint at seq %d does not verify: %w", prev.Seq, err)
		}
		if err := l.checkExtends(ctx, prev, head.Seq); err != nil {
			return Checkpoint{}, fmt.Errorf("failed to checkpoint audit log: %w", err)
		}
	}
	c := Checkpoint{Seq: head.Seq, Hash: head.Hash, Time: nanosTime(time.Now().UnixNano())}
	if c.Signature, err = s.Sign(ctx, c.SignedData()); err != nil {
		return Checkpoint{}, fmt.Errorf("failed to sign audit checkpoint: %w", err)
	}
	if err := writeCheckpoint(path, c); err != nil {
		return Checkpoint{}, fmt.Errorf("failed to checkpoint audit log: %w", err)
	}
	return c, nil
}

// checkExtends verifies that entries prev.Seq..head form a valid chain
// starting from the hash prev signed.
func (l *Log) checkExtends(ctx context.Context, prev Checkpoint, head int64) error {
	if head < prev.Seq {
		return fmt.Errorf("audit log truncated: head %d is before the checkpoint at seq %d", head, prev.Seq)
	}
	c := chainChecker{expected: prev.Seq, problems: problemSet{}}
	first := true
	err := l.walk(ctx, prev.Seq, head, func(e Entry, detailErr error) {
		if first {
			first = false
			if e.Seq == prev.Seq && !bytes.Equal(e.Hash, prev.Hash) {
				c.problems.add(e.Seq, "entry differs from the signed checkpoint")
			}
			c.prev = e.PrevHash // the link into the checkpoint is checked by its hash
		}
		c.check(e, detailErr)
	})
	if err != nil {
		return err
	}
	c.finish(head)
	if ps := c.problems.sorted(); len(ps) > 0 {
		return fmt.Errorf("audit chain does not extend the checkpoint at seq %d: entry %d: %s", prev.Seq, ps[0].Seq, ps[0].Reason)
	}
	return nil
}

// RunCheckpointer writes a checkpoint every interval while the head has
// moved since the last one, until ctx ends. Failures are logged (they carry
// no PHI) and retried at the next tick.
func (l *Log) RunCheckpointer(ctx context.Context, s Signer, path string, every time.Duration) {
	var last Checkpoint
	if c, err := ReadCheckpoint(path); err == nil {
		last = c
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		head, err := l.Head(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			l.logger.Error("audit checkpoint failed", "err", err)
		case head.Seq == 0 || (head.Seq == last.Seq && bytes.Equal(head.Hash, last.Hash)):
		default:
			c, err := l.Checkpoint(ctx, s, path)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				l.logger.Error("audit checkpoint failed", "err", err)
			} else {
				last = c
				l.logger.Debug("audit checkpoint written", "seq", c.Seq)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
