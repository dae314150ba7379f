package audit

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// ErrEmpty is returned by [Log.Checkpoint] for a log with no entries.
var ErrEmpty = errors.New("audit: log is empty")

const schema = `
CREATE TABLE IF NOT EXISTS audit (
	seq        INTEGER PRIMARY KEY NOT NULL,
	time       INTEGER NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	trace_id   TEXT NOT NULL,
	message_id TEXT NOT NULL,
	detail     TEXT NOT NULL,
	prev_hash  BLOB NOT NULL,
	hash       BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_message ON audit (message_id) WHERE message_id != '';
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
`

// Log is the audit log. It is safe for concurrent use.
type Log struct {
	db     *sql.DB
	logger *slog.Logger
	mu     sync.Mutex // serialises Append within this process
	write  func(context.Context, func(*sql.Tx) error) error
}

// Option configures a [Log].
type Option func(*Log)

// WithLogger sets the logger [Log.RunCheckpointer] reports failures to.
// The default is [slog.Default].
func WithLogger(l *slog.Logger) Option {
	return func(g *Log) { g.logger = l }
}

// WithWriter makes Append write through w, such as (*store.Store).Write,
// which commits concurrent writers in one transaction. w must run fn in a
// read-write transaction that is durable when w returns, and must run the
// functions it is given one at a time.
func WithWriter(w func(context.Context, func(*sql.Tx) error) error) Option {
	return func(g *Log) { g.write = w }
}

// New returns the audit log kept in db (the database of gateway/store),
// creating its table if missing.
func New(db *sql.DB, opts ...Option) (*Log, error) {
	if db == nil {
		return nil, errors.New("failed to open audit log: nil database")
	}
	l := &Log{db: db, logger: slog.Default()}
	for _, o := range opts {
		o(l)
	}
	if _, err := db.Exec(schema); err != nil {
		return nil, fmt.Errorf("failed to create audit table: %w", err)
	}
	return l, nil
}

// Append adds e to the end of the chain and returns it as stored, with Seq,
// PrevHash and Hash set, and Time set to now if it was zero. Appends are
// serialised within the process by a mutex and across processes by an
// IMMEDIATE transaction.
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	return l.append(ctx, nil, e)
}

// AppendTx appends e inside tx, a read-write transaction of the store's
// database that the caller commits: the entry is durable exactly when the
// change it describes is. If tx rolls back, so does the entry.
func (l *Log) AppendTx(ctx context.Context, tx *sql.Tx, e Entry) (Entry, error) {
	if tx == nil {
		return Entry{}, errors.New("failed to append audit entry: nil transaction")
	}
	return l.append(ctx, tx, e)
}

func (l *Log) append(ctx context.Context, tx *sql.Tx, e Entry) (Entry, error) {
	if err := e.validate(); err != nil {
		return Entry{}, fmt.Errorf("failed to append audit entry: %w", err)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = nanosTime(e.Time.UnixNano())
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	detail, err := encodeDetail(e.Detail)
	if err != nil {
		return Entry{}, fmt.Errorf("failed to append audit entry: %w", err)
	}

	// The head is read and the entry inserted in one write transaction, so
	// the chain stays linear however writes are batched.
	insert := func(q querier) error {
		var last int64
		var prev []byte
		err := q.QueryRowContext(ctx, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").Scan(&last, &prev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			last, prev = 0, genesis
		case err != nil:
			return fmt.Errorf("failed to read the audit head: %w", err)
		}
		e.Seq = last + 1
		e.PrevHash = prev
		e.Hash = e.ComputeHash()
		_, err = q.ExecContext(ctx, `INSERT INTO audit
			(seq, time, actor, action, trace_id, message_id, detail, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.Time.UnixNano(), e.Actor, e.Action, e.TraceID, e.MessageID, detail, e.PrevHash, e.Hash)
		if err != nil {
			return fmt.Errorf("failed to insert audit entry: %w", err)
		}
		return nil
	}
	switch {
	case tx != nil:
		err = insert(tx)
	case l.write != nil:
		err = l.write(ctx, func(tx *sql.Tx) error { return insert(tx) })
	default:
		l.mu.Lock()
		err = l.immediate(ctx, func(conn *sql.Conn) error { return insert(conn) })
		l.mu.Unlock()
	}
	if err != nil {
		return Entry{}, fmt.Errorf("failed to append audit entry: %w", err)
	}
	return e, nil
}

// immediate runs fn inside BEGIN IMMEDIATE on one connection, whatever the
// transaction mode of db's DSN, and commits if fn succeeds.
func (l *Log) immediate(ctx context.Context, fn func(*sql.Conn) error) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("failed to get a database connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	if err := fn(conn); err != nil {
		rollback(conn)
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback(conn)
		return fmt.Errorf("failed to commit transaction: %w", err)
	}
	return nil
}

// rollback ends a failed transaction; if even that fails, the connection is
// dropped from the pool rather than handed on mid-transaction.
func rollback(conn *sql.Conn) {
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

func encodeDetail(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("failed to encode detail: %w", err)
	}
	return string(b), nil
}

const entryColumns = "seq, time, actor, action, trace_id, message_id, detail, prev_hash, hash"

type scanner interface{ Scan(dest ...any) error }

// scanRaw reads a row, leaving the detail column as stored.
func scanRaw(row scanner) (Entry, string, error) {
	var e Entry
	var nanos int64
	var detail string
	if err := row.Scan(&e.Seq, &nanos, &e.Actor, &e.Action, &e.TraceID, &e.MessageID, &detail, &e.PrevHash, &e.Hash); err != nil {
		return Entry{}, "", err
	}
	e.Time = nanosTime(nanos)
	return e, detail, nil
}

// setDetail decodes a stored detail column into e.
func setDetail(e *Entry, detail string) error {
	if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
		return fmt.Errorf("detail of entry %d is not a JSON object of strings: %w", e.Seq, err)
	}
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	return nil
}

// scanEntry reads a row and decodes its detail.
func scanEntry(row scanner) (Entry, error) {
	e, detail, err := scanRaw(row)
	if err != nil {
		return Entry{}, err
	}
	if err := setDetail(&e, detail); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Head returns the last entry, or a zero Entry (Seq 0) if the log is empty.
func (l *Log) Head(ctx context.Context) (Entry, error) {
	row := l.db.QueryRowContext(ctx, "SELECT "+entryColumns+" FROM audit ORDER BY seq DESC LIMIT 1")
	e, err := scanEntry(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, nil
	}
	if err != nil {
		return Entry{}, fmt.Errorf("failed to read the audit head: %w", err)
	}
	return e, nil
}

// ForMessage returns every entry about one message, oldest first, for an
// admin's trace of who sealed, viewed or recalled it.
func (l *Log) ForMessage(ctx context.Context, messageID string) ([]Entry, error) {
	if messageID == "" {
		return nil, errors.New("failed to read audit entries: empty message id")
	}
	rows, err := l.db.QueryContext(ctx, "SELECT "+entryColumns+" FROM audit WHERE message_id = ? ORDER BY seq", messageID)
	if err != nil {
		return nil, fmt.Errorf("failed to read audit entries: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to read audit entry: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read audit entries: %w", err)
	}
	return out, nil
}

// exported is the JSON-lines form of an entry.
type exported struct {
	Seq       int64             `json:"seq"`
	Time      string            `json:"time"`
	Actor     string            `json:"actor"`
	Action    string            `json:"action"`
	TraceID   string            `json:"trace_id,omitempty"`
	MessageID string            `json:"message_id,omitempty"`
	Detail    map[string]string `json:"detail,omitempty"`
	PrevHash  string            `json:"prev_hash"`
	Hash      string            `json:"hash"`
}

// Export writes the entries with seq greater than since, oldest first, as
// JSON lines for a SIEM: one object per line with the fields seq, time
// (RFC 3339, UTC, nanoseconds), actor, action, trace_id, message_id, detail,
// prev_hash and hash (hex). Export(ctx, w, 0) writes the whole log; passing
// the last seq already shipped continues from there.
func (l *Log) Export(ctx context.Context, w io.Writer, since int64) error {
	rows, err := l.db.QueryContext(ctx, "SELECT "+entryColumns+" FROM audit WHERE seq > ? ORDER BY seq", since)
	if err != nil {
		return fmt.Errorf("failed to export audit log: %w", err)
	}
	defer rows.Close()
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return fmt.Errorf("failed to export audit entry: %w", err)
		}
		x := exported{
			Seq: e.Seq, Time: e.Time.Format(time.RFC3339Nano), Actor: e.Actor, Action: e.Action,
			TraceID: e.TraceID, MessageID: e.MessageID, Detail: e.Detail,
			PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
		}
		if err := enc.Encode(x); err != nil {
			return fmt.Errorf("failed to export audit log: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("failed to export audit log: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("failed to export audit log: %w", err)
	}
	return nil
}

// querier is what Append needs of a *sql.Conn or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
