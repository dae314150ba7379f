package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrNotFound is returned when a message does not exist.
var ErrNotFound = errors.New("store: message not found")

// ErrRecalled is returned when the ciphertext of a recalled message is
// requested, or a message is recalled twice.
var ErrRecalled = errors.New("store: message recalled")

// ErrExists is returned by [Store.PutMessage] for an id that is already
// stored.
var ErrExists = errors.New("store: message already exists")

// busyTimeout is how long a connection waits for a lock held by another
// connection or process before giving up with SQLITE_BUSY.
const busyTimeout = 30 * time.Second

// Store is the SQLite message store. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	// wmu serialises this process's write transactions so that they queue
	// in Go (honouring their contexts) rather than polling SQLite's busy
	// handler. It is a channel so that waiting can be cancelled.
	wmu chan struct{}

	qmu   sync.Mutex
	queue []*writeReq // writes waiting for the next group commit (commit.go)
}

// Open opens the store at path, creating the file, its parent directories
// and the schema if needed, and applying any pending migrations.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("failed to open store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("failed to resolve store path: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("failed to create store directory: %w", err)
	}
	// Create the file owner-only before SQLite opens it: it holds wrapped
	// secrets and ciphertext, and SQLite gives the -wal and -shm files the
	// same mode as the database file.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to create store file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("failed to create store file: %w", err)
	}
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "1")
	q.Add("_pragma", "secure_delete(ON)")
	// Keep the WAL file from staying large after a big message.
	q.Add("_pragma", "journal_size_limit(67108864)")
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("failed to open store: %w", err)
	}
	s := &Store{db: db, path: abs, wmu: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
	defer cancel()
	if err := s.checkPragmas(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// checkPragmas confirms that the connection settings the store's guarantees
// rest on are in force.
func (s *Store) checkPragmas(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("failed to open store connection: %w", err)
	}
	defer conn.Close()
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("failed to read journal mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("failed to enable WAL mode: journal mode is %q", mode)
	}
	var secure int
	if err := conn.QueryRowContext(ctx, "PRAGMA secure_delete").Scan(&secure); err != nil {
		return fmt.Errorf("failed to read secure_delete: %w", err)
	}
	if secure != 1 {
		return fmt.Errorf("failed to enable secure_delete: value is %d", secure)
	}
	var fk int
	if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("failed to read foreign_keys: %w", err)
	}
	if fk != 1 {
		return errors.New("failed to enable foreign keys")
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("failed to close store: %w", err)
	}
	return nil
}

// Ping checks that the database file is reachable and readable.
func (s *Store) Ping(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("failed to ping store: %w", err)
	}
	return nil
}

// DB returns the underlying database, for [gateway/audit], which keeps its
// table in the same file. Its read-write transactions begin IMMEDIATE.
//
// [gateway/audit]: https://pkg.go.dev/github.com/sealpost/sealpost/gateway/audit
func (s *Store) DB() *sql.DB { return s.db }

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// lockWrite takes the in-process write lock, or fails when ctx ends first.
func (s *Store) lockWrite(ctx context.Context) error {
	select {
	case s.wmu <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("failed to wait for the store write lock: %w", ctx.Err())
	}
}

func (s *Store) unlockWrite() { <-s.wmu }

// toNanos converts t to Unix nanoseconds, mapping the zero time to 0.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of toNanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// validTime reports whether t can be stored (zero, or within the range of
// Unix nanoseconds).
func validTime(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	return t.Year() > 1678 && t.Year() < 2262
}
