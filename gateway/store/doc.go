// Package store is Sealpost's embedded message store: sealed-message metadata,
// the streamed age ciphertext, the wrapped per-message identity secret, and
// the delivery ledger. It is a single SQLite database (via the pure-Go
// [modernc.org/sqlite] driver), which [gateway/audit] shares for its own
// table.
//
// # What is stored
//
// A [Message] row holds ids, the envelope, the policy decision with its
// redacted explanation, the assurance level, the retention deadline and the
// wrapped secret that only Vault can unwrap. The age ciphertext is split into
// rows of at most [ChunkSize] bytes, written and read one chunk at a time, so
// a 50 MB message is never held in memory whole. Nothing in the store is
// plaintext message content.
//
// # Recall
//
// [Store.Recall] crypto-shreds a message: it deletes the wrapped secret and
// every ciphertext chunk in one transaction, records who recalled it, when
// and why, and then runs a TRUNCATE checkpoint of the write-ahead log.
// Every connection runs with PRAGMA secure_delete=ON, so SQLite overwrites
// freed pages and cells with zeros; the checkpoint copies those zeroed pages
// into the database file and empties the WAL, so no copy of the recalled
// bytes survives in either file.
//
// # Concurrency
//
// The database runs in WAL mode with a busy timeout. Every read-write
// transaction starts with BEGIN IMMEDIATE, and writers inside one process are
// additionally serialised by the [Store], so concurrent writers wait their
// turn instead of failing with SQLITE_BUSY. Another process (the CLI) waits
// on SQLite's busy timeout.
//
// The store's own writes go through one dedicated connection, so that its
// page cache survives from one write to the next (SQLite empties a
// connection's cache whenever another connection has changed the
// database); reads use a pool. Every commit is durable before it returns
// (synchronous=FULL, checked at [Open]). New stores use 16 KiB pages, and
// the write-ahead log is checkpointed every 2 MiB, so that the checkpoint
// that falls inside some commit stays short.
//
// # Delivery ledger
//
// The ledger records that a next-hop group of recipients accepted a given
// raw message ([LedgerKey]), so that a retry after a partial success sends
// only what is still owed. Entries are expired with [Store.LedgerExpire].
//
// # Schema
//
// The schema is versioned with SQLite's user_version and a list of
// migrations applied in order by [Open]; a database written by a newer
// Sealpost is refused rather than guessed at.
//
// [gateway/audit]: https://pkg.go.dev/github.com/sealpost/sealpost/gateway/audit
package store
