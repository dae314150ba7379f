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
	// 2: the portal. Recipient accounts (one per address), their passkeys,
	// one-time codes, pre-login flows and sessions; per-message portal
	// settings; phone numbers the sender supplied; first views (read
	// receipts). Codes and tokens are stored only as SHA-256 hashes; TOTP
	// seeds and phone numbers only as Transit ciphertext.
	`
ALTER TABLE messages ADD COLUMN oob_factor TEXT NOT NULL DEFAULT 'any';   -- any | sms | code
ALTER TABLE messages ADD COLUMN read_receipt INTEGER NOT NULL DEFAULT 0;

CREATE TABLE message_phones (
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	rcpt       TEXT NOT NULL COLLATE NOCASE,
	wrapped    BLOB NOT NULL,                   -- keys.Client.Wrap(message id, phone): only Transit decrypt opens it
	PRIMARY KEY (message_id, rcpt)
);

CREATE TABLE message_views (
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	rcpt       TEXT NOT NULL COLLATE NOCASE,
	first_view INTEGER NOT NULL,
	receipt_at INTEGER NOT NULL DEFAULT 0,      -- when a read receipt went to the sender, 0 = none
	PRIMARY KEY (message_id, rcpt)
);

CREATE TABLE accounts (
	address        TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
	created        INTEGER NOT NULL,
	level          TEXT NOT NULL DEFAULT '',    -- '' not enrolled, 'mailbox' (lower assurance), 'oob'
	method         TEXT NOT NULL DEFAULT '',    -- '' none yet, 'passkey', 'password'
	user_handle    BLOB NOT NULL,               -- random WebAuthn user handle
	password_hash  TEXT NOT NULL DEFAULT '',    -- argon2id PHC string
	totp_sealed    TEXT NOT NULL DEFAULT '',    -- Transit ciphertext of the TOTP seed
	totp_last_step INTEGER NOT NULL DEFAULT 0,  -- last accepted TOTP step (no replay)
	phone_sealed   TEXT NOT NULL DEFAULT '',    -- Transit ciphertext of the verified phone number
	failures       INTEGER NOT NULL DEFAULT 0,  -- consecutive failed checks
	locked_until   INTEGER NOT NULL DEFAULT 0,
	reset_at       INTEGER NOT NULL DEFAULT 0,  -- last admin reset; the next enrolment needs the out-of-band factor
	enrolled_at    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE passkeys (
	credential_id BLOB PRIMARY KEY NOT NULL,
	address       TEXT NOT NULL REFERENCES accounts (address) ON DELETE CASCADE,
	credential    BLOB NOT NULL,                -- JSON of the webauthn.Credential (public key, sign count, flags)
	created       INTEGER NOT NULL,
	last_used     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_address ON passkeys (address);

CREATE TABLE codes (
	id         TEXT PRIMARY KEY NOT NULL,        -- random, names the code in a flow
	address    TEXT NOT NULL COLLATE NOCASE,
	purpose    TEXT NOT NULL,                    -- 'mailbox' | 'sms'
	message_id TEXT NOT NULL DEFAULT '',
	code_hash  BLOB NOT NULL,                    -- SHA-256 of (id, code)
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	used       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX codes_address ON codes (address, created);

CREATE TABLE flows (
	token_hash BLOB PRIMARY KEY NOT NULL,        -- SHA-256 of the flow cookie
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	state      BLOB NOT NULL                     -- JSON: address, message id, proofs so far, WebAuthn ceremony data
);

CREATE TABLE sessions (
	token_hash BLOB PRIMARY KEY NOT NULL,        -- SHA-256 of the session cookie
	address    TEXT NOT NULL REFERENCES accounts (address) ON DELETE CASCADE,
	created    INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	expires    INTEGER NOT NULL,                 -- absolute expiry
	method     TEXT NOT NULL                     -- how this session logged in: 'passkey' | 'password'
);
CREATE INDEX sessions_address ON sessions (address);
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
