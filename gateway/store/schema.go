package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; migrations[i] moves the schema from
// user_version i to i+1. Never edit a released migration: append a new one.
var migrations = []string{
	// 1: messages, their recipients, ciphertext chunks and the delivery ledger.
	`
CREATE TABLE messages (
	id                TEXT PRIMARY KEY NOT NULL,
	created           INTEGER NOT NULL,
	trace_id          TEXT NOT NULL,
	sender            TEXT NOT NULL,
	recipients        TEXT NOT NULL,            -- JSON array, in the order given
	decision          BLOB,                     -- policy decision JSON, redacted
	assurance         TEXT NOT NULL,
	retain_until      INTEGER NOT NULL DEFAULT 0,
	wrap_version      INTEGER NOT NULL,
	wrapped           BLOB,                     -- NULL once recalled
	ciphertext_size   INTEGER NOT NULL,
	ciphertext_sha256 BLOB NOT NULL,
	chunk_count       INTEGER NOT NULL,
	recalled_at       INTEGER NOT NULL DEFAULT 0,
	recalled_by       TEXT NOT NULL DEFAULT '',
	recall_reason     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX messages_created ON messages (created);
CREATE INDEX messages_sender ON messages (sender COLLATE NOCASE, created);
CREATE INDEX messages_retain ON messages (retain_until) WHERE retain_until != 0 AND recalled_at = 0;

CREATE TABLE message_recipients (
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	rcpt       TEXT NOT NULL COLLATE NOCASE,
	PRIMARY KEY (message_id, rcpt)
);
CREATE INDEX message_recipients_rcpt ON message_recipients (rcpt);

CREATE TABLE chunks (
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	data       BLOB NOT NULL,
	UNIQUE (message_id, seq)
);

CREATE TABLE ledger (
	key        TEXT PRIMARY KEY NOT NULL,
	message_id TEXT NOT NULL,
	reply      TEXT NOT NULL,
	recorded   INTEGER NOT NULL
);
CREATE INDEX ledger_recorded ON ledger (recorded);
`,
}

// migrate applies pending migrations, each in its own IMMEDIATE transaction
// that re-reads the version, so two processes opening a new store at once
// do not both apply the same migration.
func (s *Store) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateOne(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

func (s *Store) migrateOne(ctx context.Context) (done bool, err error) {
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		var v int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return fmt.Errorf("failed to read schema version: %w", err)
		}
		if v > len(migrations) {
			return fmt.Errorf("failed to open store: schema version %d is newer than this Sealpost supports (%d)", v, len(migrations))
		}
		if v == len(migrations) {
			done = true
			return nil
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("failed to apply schema migration %d: %w", v+1, err)
		}
		// PRAGMA takes no bound parameters; v+1 is an integer we control.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			return fmt.Errorf("failed to record schema version %d: %w", v+1, err)
		}
		return nil
	})
	return done, err
}
