package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ChunkSize is the largest piece of ciphertext held in one row, and so the
// most ciphertext the store holds in memory at once per message.
const ChunkSize = 1 << 20

// maxIDLen bounds message ids (they appear in URLs and headers).
const maxIDLen = 255

// Message is the stored record of one sealed message. It never holds
// plaintext content.
type Message struct {
	ID               string
	Created          time.Time
	TraceID          string
	Sender           string
	Recipients       []string        // the sealed recipients
	Decision         json.RawMessage // the policy decision with its REDACTED explanation
	Assurance        string          // assurance level the policy asked for, e.g. "mailbox", "oob"
	OOBFactor        string          // out-of-band enrolment factor: "any" (the default when empty), "sms" or "code"
	ReadReceipt      bool            // the portal tells the sender when each recipient first opens the message
	RetainUntil      time.Time       // zero = no expiry
	WrapVersion      int             // version of the wrapped-secret format
	Wrapped          []byte          // the wrapped per-message identity secret (only Vault can unwrap)
	CiphertextSize   int64
	CiphertextSHA256 []byte // SHA-256 of the age ciphertext
	RecalledAt       time.Time
	RecalledBy       string
	RecallReason     string
}

// Recalled reports whether the message has been recalled.
func (m *Message) Recalled() bool { return !m.RecalledAt.IsZero() }

func (m *Message) validate() error {
	switch {
	case m == nil:
		return errors.New("nil message")
	case m.ID == "":
		return errors.New("message has no id")
	case len(m.ID) > maxIDLen:
		return fmt.Errorf("message id longer than %d bytes", maxIDLen)
	case !utf8.ValidString(m.ID):
		return errors.New("message id is not valid UTF-8")
	case m.Assurance == "":
		return errors.New("message has no assurance level")
	case m.OOBFactor != "" && m.OOBFactor != "any" && m.OOBFactor != "sms" && m.OOBFactor != "code":
		return fmt.Errorf("unknown out-of-band factor %q", m.OOBFactor)
	case m.CiphertextSize < 0:
		return errors.New("negative ciphertext size")
	case m.CiphertextSHA256 != nil && len(m.CiphertextSHA256) != sha256.Size:
		return fmt.Errorf("ciphertext SHA-256 is %d bytes, want %d", len(m.CiphertextSHA256), sha256.Size)
	case len(m.Decision) > 0 && !json.Valid(m.Decision):
		return errors.New("decision is not valid JSON")
	case !m.RecalledAt.IsZero():
		return errors.New("a new message cannot be already recalled")
	case !validTime(m.Created) || !validTime(m.RetainUntil):
		return errors.New("time out of range")
	}
	return nil
}

// PutMessage stores m and streams ciphertext into chunk rows of at most
// [ChunkSize] bytes, all in one transaction, so that either the whole message
// is stored or none of it. If m.CiphertextSize or m.CiphertextSHA256 is set,
// the streamed ciphertext must match it; otherwise PutMessage fills them in.
// A zero m.Created is set to the current time.
//
// The database write lock is held while ciphertext is read, so it should
// come from a fast source (age.Encrypt over a message already received in
// full), never straight from a network peer.
//
// Each function in also runs in the same transaction after the message is
// written (the relay appends the message's audit entry this way, so the
// record and its audit entry are committed together, with one fsync).
func (s *Store) PutMessage(ctx context.Context, m *Message, ciphertext io.Reader, also ...func(*sql.Tx) error) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("failed to store message: %w", err)
	}
	created := m.Created
	if created.IsZero() {
		created = time.Now().UTC()
	}
	rcpts := m.Recipients
	if rcpts == nil {
		rcpts = []string{}
	}
	rcptJSON, err := json.Marshal(rcpts)
	if err != nil {
		return fmt.Errorf("failed to encode recipients: %w", err)
	}
	var decision any
	if len(m.Decision) > 0 {
		decision = []byte(m.Decision)
	}
	var wrapped any
	if m.Wrapped != nil {
		wrapped = m.Wrapped
	}
	oobFactor := m.OOBFactor
	if oobFactor == "" {
		oobFactor = "any"
	}

	// When the caller gives the ciphertext's size and hash, as the relay
	// does, the row is written complete and the streamed ciphertext checked
	// against it; otherwise they are filled in once it has been read.
	known := m.CiphertextSize > 0 && m.CiphertextSHA256 != nil
	var size, chunks int64
	sum := []byte{}
	if known {
		size, sum, chunks = m.CiphertextSize, m.CiphertextSHA256, (m.CiphertextSize+ChunkSize-1)/ChunkSize
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.StmtContext(ctx, s.st.messageExists).QueryRowContext(ctx, m.ID).Scan(&one)
		if err == nil {
			return ErrExists
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("failed to check for an existing message: %w", err)
		}
		_, err = tx.StmtContext(ctx, s.st.insertMessage).ExecContext(ctx,
			m.ID, toNanos(created), m.TraceID, m.Sender, string(rcptJSON), decision, m.Assurance,
			oobFactor, m.ReadReceipt, toNanos(m.RetainUntil), m.WrapVersion, wrapped, size, sum, chunks)
		if err != nil {
			return fmt.Errorf("failed to insert message: %w", err)
		}
		insertRcpt := tx.StmtContext(ctx, s.st.insertRecipient)
		for _, r := range rcpts {
			if _, err := insertRcpt.ExecContext(ctx, m.ID, r); err != nil {
				return fmt.Errorf("failed to insert recipient: %w", err)
			}
		}
		gotSize, gotSum, gotChunks, err := putChunks(ctx, tx.StmtContext(ctx, s.st.insertChunk), m.ID, ciphertext)
		if err != nil {
			return err
		}
		if gotSize == 0 {
			return errors.New("failed to store message: empty ciphertext")
		}
		if m.CiphertextSize != 0 && m.CiphertextSize != gotSize {
			return fmt.Errorf("failed to store message: ciphertext is %d bytes, message says %d", gotSize, m.CiphertextSize)
		}
		if m.CiphertextSHA256 != nil && !bytes.Equal(m.CiphertextSHA256, gotSum) {
			return errors.New("failed to store message: ciphertext SHA-256 does not match the message")
		}
		if !known {
			size, sum, chunks = gotSize, gotSum, gotChunks
			_, err = tx.ExecContext(ctx,
				"UPDATE messages SET ciphertext_size = ?, ciphertext_sha256 = ?, chunk_count = ? WHERE id = ?",
				size, sum, chunks, m.ID)
			if err != nil {
				return fmt.Errorf("failed to record ciphertext size: %w", err)
			}
		}
		for _, fn := range also {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrExists) {
			return fmt.Errorf("failed to store message: %w", err)
		}
		return err
	}
	m.Created = created
	m.OOBFactor = oobFactor
	m.CiphertextSize = size
	m.CiphertextSHA256 = sum
	return nil
}

// chunkBufs recycles the [ChunkSize] buffers of putChunks: a fresh 1 MiB
// buffer per message was a visible share of the relay's CPU. SQLite copies
// a bound blob, so a buffer is free again once Exec returns.
var chunkBufs = sync.Pool{New: func() any { b := make([]byte, ChunkSize); return &b }}

// putChunks copies r into chunk rows with stmt, the chunk insert, one
// [ChunkSize] buffer at a time.
func putChunks(ctx context.Context, stmt *sql.Stmt, id string, r io.Reader) (size int64, sum []byte, chunks int64, err error) {
	if r == nil {
		return 0, nil, 0, errors.New("failed to store message: nil ciphertext reader")
	}
	h := sha256.New()
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := stmt.ExecContext(ctx, id, chunks, buf[:n]); err != nil {
				return 0, nil, 0, fmt.Errorf("failed to insert ciphertext chunk: %w", err)
			}
			h.Write(buf[:n])
			size += int64(n)
			chunks++
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return 0, nil, 0, fmt.Errorf("failed to read ciphertext: %w", rerr)
		}
	}
	return size, h.Sum(nil), chunks, nil
}

const messageColumns = `id, created, trace_id, sender, recipients, decision, assurance, oob_factor, read_receipt,
	retain_until, wrap_version, wrapped, ciphertext_size, ciphertext_sha256, recalled_at, recalled_by, recall_reason`

type scanner interface{ Scan(dest ...any) error }

func scanMessage(row scanner) (*Message, error) {
	var (
		m                           Message
		created, retain, recalledAt int64
		rcptJSON                    string
		decision, wrapped           []byte
	)
	err := row.Scan(&m.ID, &created, &m.TraceID, &m.Sender, &rcptJSON, &decision, &m.Assurance, &m.OOBFactor, &m.ReadReceipt, &retain,
		&m.WrapVersion, &wrapped, &m.CiphertextSize, &m.CiphertextSHA256, &recalledAt, &m.RecalledBy, &m.RecallReason)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(rcptJSON), &m.Recipients); err != nil {
		return nil, fmt.Errorf("failed to decode recipients of a stored message: %w", err)
	}
	if len(decision) > 0 {
		m.Decision = json.RawMessage(decision)
	}
	m.Wrapped = wrapped
	m.Created = fromNanos(created)
	m.RetainUntil = fromNanos(retain)
	m.RecalledAt = fromNanos(recalledAt)
	return &m, nil
}

// GetMessage returns the message with the given id, or [ErrNotFound].
// A recalled message is returned too, with its recall fields set and no
// wrapped secret.
func (s *Store) GetMessage(ctx context.Context, id string) (*Message, error) {
	row := s.db.QueryRowContext(ctx, "SELECT "+messageColumns+" FROM messages WHERE id = ?", id)
	m, err := scanMessage(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get message: %w", err)
	}
	return m, nil
}

// Filter selects messages for [Store.FindMessages]. Empty fields match
// everything. From and To are full addresses, matched without regard to
// case; To matches any one of the sealed recipients.
type Filter struct {
	From, To string
	Since    time.Time // created at or after
	Limit    int       // at most this many, newest first; 0 means 100, capped at 10000
}

// FindMessages returns the messages matching f, newest first.
func (s *Store) FindMessages(ctx context.Context, f Filter) ([]*Message, error) {
	var where []string
	var args []any
	if f.From != "" {
		where = append(where, "sender = ? COLLATE NOCASE")
		args = append(args, f.From)
	}
	if f.To != "" {
		where = append(where, "EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = messages.id AND r.rcpt = ?)")
		args = append(args, f.To)
	}
	if !f.Since.IsZero() {
		if !validTime(f.Since) {
			return nil, errors.New("failed to find messages: time out of range")
		}
		where = append(where, "created >= ?")
		args = append(args, f.Since.UnixNano())
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 100
	case limit > 10000:
		limit = 10000
	}
	q := "SELECT " + messageColumns + " FROM messages"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created DESC, id LIMIT ?"
	args = append(args, limit)
	return s.queryMessages(ctx, q, args...)
}

// Expired returns up to limit messages whose retention deadline is at or
// before now and that are not yet recalled, oldest deadline first, for an
// expiry sweeper to [Store.Recall].
func (s *Store) Expired(ctx context.Context, now time.Time, limit int) ([]*Message, error) {
	if !validTime(now) || now.IsZero() {
		return nil, errors.New("failed to find expired messages: time out of range")
	}
	if limit <= 0 {
		limit = 100
	}
	return s.queryMessages(ctx, "SELECT "+messageColumns+` FROM messages
		WHERE retain_until != 0 AND recalled_at = 0 AND retain_until <= ?
		ORDER BY retain_until LIMIT ?`, now.UnixNano(), limit)
}

func (s *Store) queryMessages(ctx context.Context, q string, args ...any) ([]*Message, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to query messages: %w", err)
	}
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to read message: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to query messages: %w", err)
	}
	return out, nil
}

// OpenCiphertext streams the age ciphertext of a message, one chunk at a
// time. It returns [ErrNotFound] for an unknown id and [ErrRecalled] for a
// recalled one. The reader checks the size and SHA-256 recorded at
// [Store.PutMessage] and fails at the end instead of returning io.EOF if
// they do not match. ctx must stay valid while the reader is used.
func (s *Store) OpenCiphertext(ctx context.Context, id string) (io.ReadCloser, error) {
	var (
		recalledAt, size, chunks int64
		sum                      []byte
	)
	err := s.db.QueryRowContext(ctx,
		"SELECT recalled_at, ciphertext_size, ciphertext_sha256, chunk_count FROM messages WHERE id = ?", id).
		Scan(&recalledAt, &size, &sum, &chunks)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("failed to open ciphertext: %w", err)
	}
	if recalledAt != 0 {
		return nil, fmt.Errorf("failed to open ciphertext: %w", ErrRecalled)
	}
	return &chunkReader{ctx: ctx, s: s, id: id, chunks: chunks, size: size, sum: sum, h: sha256.New()}, nil
}

type chunkReader struct {
	ctx    context.Context
	s      *Store
	id     string
	chunks int64
	size   int64
	sum    []byte

	next int64  // next chunk to fetch
	buf  []byte // unread part of the current chunk
	h    hash.Hash
	read int64
	err  error // sticky
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.next == r.chunks {
			r.err = r.finish()
			return 0, r.err
		}
		if err := r.fetch(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *chunkReader) fetch() error {
	rows, err := r.s.db.QueryContext(r.ctx, "SELECT data FROM chunks WHERE message_id = ? AND seq = ?", r.id, r.next)
	if err != nil {
		return fmt.Errorf("failed to read ciphertext chunk: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("failed to read ciphertext chunk: %w", err)
		}
		var recalledAt int64
		err := r.s.db.QueryRowContext(r.ctx, "SELECT recalled_at FROM messages WHERE id = ?", r.id).Scan(&recalledAt)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && recalledAt != 0) {
			return fmt.Errorf("failed to read ciphertext: %w", ErrRecalled)
		}
		return fmt.Errorf("failed to read ciphertext: chunk %d missing", r.next)
	}
	var raw sql.RawBytes
	if err := rows.Scan(&raw); err != nil {
		return fmt.Errorf("failed to read ciphertext chunk: %w", err)
	}
	if cap(r.buf) < len(raw) {
		r.buf = make([]byte, len(raw), ChunkSize)
	}
	r.buf = r.buf[:len(raw)]
	copy(r.buf, raw)
	if err := rows.Close(); err != nil {
		return fmt.Errorf("failed to read ciphertext chunk: %w", err)
	}
	r.h.Write(r.buf)
	r.read += int64(len(r.buf))
	r.next++
	return nil
}

func (r *chunkReader) finish() error {
	if r.read != r.size {
		return fmt.Errorf("failed to read ciphertext: read %d bytes, stored size is %d", r.read, r.size)
	}
	if got := r.h.Sum(nil); !bytes.Equal(got, r.sum) {
		return fmt.Errorf("failed to read ciphertext: SHA-256 %s does not match the stored %s",
			hex.EncodeToString(got), hex.EncodeToString(r.sum))
	}
	return io.EOF
}

func (r *chunkReader) Close() error {
	if r.err == nil || r.err == io.EOF {
		r.err = errors.New("read from closed ciphertext reader")
	}
	r.buf = nil
	return nil
}

// Recall crypto-shreds a message: in one transaction it deletes the wrapped
// secret and every ciphertext chunk and records who recalled it, when and
// why. It then runs a TRUNCATE checkpoint so that the write-ahead log keeps
// no copy; secure_delete has already zeroed the freed pages.
//
// Recalling a message again re-runs the checkpoint and returns an error
// wrapping [ErrRecalled], so a recall whose checkpoint failed can be
// retried. An unknown id gives [ErrNotFound].
func (s *Store) Recall(ctx context.Context, id, actor, reason string) error {
	if actor == "" {
		return errors.New("failed to recall message: no actor")
	}
	if err := s.lockWrite(ctx); err != nil {
		return err
	}
	defer s.unlockWrite()
	already := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var recalledAt int64
		err := tx.QueryRowContext(ctx, "SELECT recalled_at FROM messages WHERE id = ?", id).Scan(&recalledAt)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("failed to look up message: %w", err)
		}
		if recalledAt != 0 {
			already = true
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE messages SET wrapped = NULL, recalled_at = ?, recalled_by = ?, recall_reason = ?
			WHERE id = ?`, time.Now().UnixNano(), actor, reason, id)
		if err != nil {
			return fmt.Errorf("failed to mark message recalled: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM chunks WHERE message_id = ?", id); err != nil {
			return fmt.Errorf("failed to delete ciphertext: %w", err)
		}
		// The sender-supplied phone numbers go with the key material.
		if _, err := tx.ExecContext(ctx, "DELETE FROM message_phones WHERE message_id = ?", id); err != nil {
			return fmt.Errorf("failed to delete phone numbers: %w", err)
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("failed to recall message: %w", err)
	}
	if err := s.truncateWAL(ctx); err != nil {
		return fmt.Errorf("message recalled, but %w (retry the recall to finish shredding)", err)
	}
	if already {
		return fmt.Errorf("failed to recall message: %w", ErrRecalled)
	}
	return nil
}

// inTx runs fn in a read-write transaction; the caller holds the write lock.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to commit transaction: %w", err)
	}
	return nil
}

// truncateWAL copies every WAL frame into the database file and truncates
// the WAL to zero bytes. A reader holding an old snapshot blocks it; SQLite
// waits for such readers up to the busy timeout, and we retry a few times.
func (s *Store) truncateWAL(ctx context.Context) error {
	const attempts = 5
	var busy, logFrames, checkpointed int
	for i := 0; i < attempts; i++ {
		err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed)
		if err != nil {
			return fmt.Errorf("failed to checkpoint the write-ahead log: %w", err)
		}
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("failed to checkpoint the write-ahead log: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("failed to checkpoint the write-ahead log: still busy after %d attempts (%d of %d frames copied)",
		attempts, checkpointed, logFrames)
}
