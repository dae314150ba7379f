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

// newPageSize is the page size of a newly created store.
const newPageSize = 16 << 10

// checkpointBytes is how much write-ahead log SQLite's automatic checkpoint
// lets gather before it copies it into the database file.
const checkpointBytes = 2 << 20

// maxIdleReaders is how many idle reader connections are kept. database/sql
// keeps two by default; under the relay's concurrency more were opened and
// closed again all the time, each paying for its schema and page cache.
const maxIdleReaders = 8

// busyTimeout is how long a connection waits for a lock held by another
// connection or process before giving up with SQLITE_BUSY.
const busyTimeout = 30 * time.Second

// Store is the SQLite message store. It is safe for concurrent use.
type Store struct {
	db   *sql.DB // readers, and writers from outside the store (see DB)
	wdb  *sql.DB // one connection, for the store's own write transactions
	path string
	// wmu serialises this process's write transactions so that they queue
	// in Go (honouring their contexts) rather than polling SQLite's busy
	// handler. It is a channel so that waiting can be cancelled.
	wmu chan struct{}

	qmu   sync.Mutex
	queue []*writeReq // writes waiting for the next group commit (commit.go)

	st statements // prepared once, for the relay's per-message path
}

// statements are the statements of the relay's per-message path, prepared
// once: SQLite compiling each again for every message was a visible share
// of the store's CPU. database/sql prepares each on a connection the first
// time it is used there. ledgerGet is the readers'; the others are the
// writer's, for use in its transactions (sql.Tx.StmtContext).
type statements struct {
	messageExists, insertMessage, insertRecipient, insertChunk, ledgerGet, ledgerPut *sql.Stmt
}

// prepare prepares the statements.
func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.st.ledgerGet, "SELECT 1 FROM ledger WHERE key = ?"},
		// The rest run in write transactions, so on the writer.
		{&s.st.messageExists, "SELECT 1 FROM messages WHERE id = ?"},
		{&s.st.insertMessage, `INSERT INTO messages
			(id, created, trace_id, sender, recipients, decision, assurance, oob_factor, read_receipt,
			 retain_until, wrap_version, wrapped, ciphertext_size, ciphertext_sha256, chunk_count)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.st.insertRecipient, "INSERT OR IGNORE INTO message_recipients (message_id, rcpt) VALUES (?, ?)"},
		{&s.st.insertChunk, "INSERT INTO chunks (message_id, seq, data) VALUES (?, ?, ?)"},
		{&s.st.ledgerPut, "INSERT OR REPLACE INTO ledger (key, message_id, reply, recorded) VALUES (?, ?, ?, ?)"},
	} {
		db := s.wdb
		if p.stmt == &s.st.ledgerGet {
			db = s.db
		}
		stmt, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("failed to prepare statement: %w", err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (s *Store) closeStatements() {
	for _, stmt := range []*sql.Stmt{s.st.messageExists, s.st.insertMessage, s.st.insertRecipient, s.st.insertChunk, s.st.ledgerGet, s.st.ledgerPut} {
		if stmt != nil {
			stmt.Close()
		}
	}
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
	// Pages of 16 KiB for a new store (an existing one keeps its size):
	// a sealed message's ciphertext, a few hundred KiB, then takes a
	// quarter of the write-ahead-log frames, writes and checkpoint copies
	// it takes with SQLite's default 4 KiB (docs/BENCHMARKS.md).
	q.Add("_pragma", fmt.Sprintf("page_size(%d)", newPageSize))
	ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
	defer cancel()
	pageSize, err := readPageSize(ctx, dsnFor(abs, q))
	if err != nil {
		return nil, err
	}
	// Checkpoint every 2 MiB of log rather than SQLite's default 1000
	// pages (16 MiB with 16 KiB pages): the checkpoint runs inside the
	// commit that crosses the threshold, and a small one (a few milliseconds)
	// on one message in a handful costs the tail latency far less than a
	// large one on one message in several dozen, for the same CPU
	// (docs/BENCHMARKS.md).
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", max(checkpointBytes/pageSize, 32)))
	dsn := dsnFor(abs, q)
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("failed to open store: %w", err)
	}
	wdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("failed to open store: %w", err)
	}
	db.SetMaxIdleConns(maxIdleReaders)
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	s := &Store{db: db, wdb: wdb, path: abs, wmu: make(chan struct{}, 1)}
	fail := func(err error) (*Store, error) {
		s.closeStatements()
		db.Close()
		wdb.Close()
		return nil, err
	}
	for _, d := range []*sql.DB{db, wdb} {
		if err := checkPragmas(ctx, d); err != nil {
			return fail(err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		return fail(err)
	}
	if err := s.prepare(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// dsnFor is the data source name of the database at abs with the
// parameters q.
func dsnFor(abs string, q url.Values) string {
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
}

// readPageSize returns the page size of the database dsn names: its own,
// or for a new one the size dsn asks for.
func readPageSize(ctx context.Context, dsn string) (int, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return 0, fmt.Errorf("failed to open store: %w", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&n); err != nil {
		return 0, fmt.Errorf("failed to read page size: %w", err)
	}
	if n <= 0 {
		return 0, fmt.Errorf("failed to read page size: %d", n)
	}
	return n, nil
}

// checkPragmas confirms that the connection settings the store's guarantees
// rest on are in force.
func checkPragmas(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
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
	var syncMode int
	if err := conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncMode); err != nil {
		return fmt.Errorf("failed to read synchronous: %w", err)
	}
	if syncMode != 2 {
		return fmt.Errorf("failed to set synchronous=FULL: value is %d", syncMode)
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
	s.closeStatements()
	errW := s.wdb.Close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("failed to close store: %w", err)
	}
	if errW != nil {
		return fmt.Errorf("failed to close store: %w", errW)
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
// The store's own writes ([Store.Write] and every method that writes) go
// through a second handle with a single connection: SQLite drops a
// connection's whole page cache whenever another connection has changed the
// database, so one connection that makes every write keeps its cache, where
// writes spread over the pool made each connection re-read (and with 16 KiB
// pages, re-allocate) what it had cached.
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
