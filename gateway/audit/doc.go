// Package audit is Sealpost's append-only, hash-chained audit log. It keeps
// its table, audit, in the same SQLite database as [gateway/store] and is
// checkpointed with a signing key held in Vault Transit, so that even a chain
// rewritten consistently from end to end is caught.
//
// # No PHI
//
// An [Entry] records who did what to which message: an actor id, an action
// code, a trace id, a message id and a small map of details. Callers pass
// only ids, codes and counts — never a subject, a body, a file name, a
// patient identifier or a recipient's full address. The log is meant to be
// exported to a SIEM ([Log.Export]) and kept for years, so anything written
// to it must be safe to copy anywhere. Field lengths are capped to keep free
// text out.
//
// # The chain
//
// Entries are numbered from 1 without gaps. Each holds the hash of the entry
// before it (32 zero bytes for the first), and its own hash is the SHA-256
// of a canonical encoding of (seq, time, actor, action, trace id, message id,
// detail, previous hash):
//
//	"sealpost-audit-v1\x00"
//	seq            uint64, big-endian
//	time           int64 Unix nanoseconds, big-endian
//	actor          uint32 length, big-endian, then the bytes
//	action         likewise
//	trace id       likewise
//	message id     likewise
//	detail         uint32 count, then each key and value as above,
//	               keys in strictly ascending byte order
//	previous hash  uint32 length, then the bytes
//
// Every field is length-prefixed and detail keys are sorted and unique, so
// each entry has exactly one encoding and no two entries share one.
// Database triggers refuse UPDATE and DELETE on the table; that stops
// mistakes, and the chain catches anyone who drops the triggers.
//
// # Checkpoints
//
// [Log.Checkpoint] signs (seq, hash, time) of the head through a [Signer]
// (Vault Transit, ed25519) and writes it atomically to a small text file kept
// outside the database, ideally on other storage. Before signing it checks
// that the chain still extends the previous checkpoint, so a rewritten
// history is never laundered into a fresh signature; if no checkpoint file
// exists it trusts the current head. [Log.RunCheckpointer] does this
// periodically, whenever the head has moved.
//
// [Log.Verify] walks the whole chain and the checkpoint and reports, as
// [Problem]s ordered by sequence number: altered entries, missing entries,
// reordered entries, a log truncated below the checkpoint, and a chain whose
// entry at the checkpoint's seq no longer has the signed hash (a consistent
// rewrite, which happened at or before that entry). Entries appended after
// the last checkpoint are protected by the chain only until the next
// checkpoint signs them, so the checkpoint interval is the window in which a
// consistent rewrite of the newest entries goes unnoticed.
//
// [gateway/store]: https://pkg.go.dev/github.com/sealpost/sealpost/gateway/store
package audit
