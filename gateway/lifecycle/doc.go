// Package lifecycle runs Sealpost's key and message lifecycle: rotation of
// the Transit keys, the background rewrap of stored wrapped secrets to the
// newest wrap key version, raising the wrap key's min_decryption_version,
// recall and retention expiry by crypto-shredding, and break-glass access.
// It joins [keys] (Vault), [store] (SQLite) and [audit]; every operation
// that changes or reads key material is recorded in the audit log.
//
// # Rotation and rewrap
//
// [Manager.RotateWrapKey] creates a new version of the wrap key. Relays pick
// it up when their cached public key expires (keys.Config.WrapKeyMaxAge,
// five minutes by default), so for a while after a rotation new messages may
// still be wrapped under the previous version.
//
// [Manager.Rewrap] walks every unrecalled message that holds a wrapped
// secret, in id order, and sends those below the latest version to Transit
// rewrap in batches. Transit decrypts and re-encrypts inside Vault, so the
// plaintext (the message's age identity, bound to its id) never leaves it.
// The new secret replaces the old one only if the row is still unrecalled
// and unchanged, so a recall that races a rewrap wins. After every batch the
// job stores its cursor (the target version and the last id done) in the
// store, so an interrupted run resumes where it stopped; a new rotation
// restarts the walk. Progress goes to slog, to the Progress callback and to
// Prometheus ([Metrics]).
//
// [Manager.SetMinDecryptionVersion] raises the wrap key's
// min_decryption_version, which makes every secret wrapped under an older
// version unopenable (in the store, and in every backup of it). It refuses
// while any unrecalled message still holds a secret below the new minimum
// ([*OutdatedError]), and while the new minimum is younger than a grace
// period, because relays with a cached key may still be wrapping under an
// older version.
//
// # Recall and expiry
//
// [Manager.Recall] crypto-shreds one message: [store.Store.Recall] deletes
// its wrapped secret and ciphertext (secure_delete, then a TRUNCATE
// checkpoint of the WAL), and the audit log records who and why. Copies of
// the delivered message.eml.age stay in mailboxes, but without the wrapped
// secret neither the portal nor break-glass can open them. Copies sealed to
// a direct recipient's own key or to a configured archive key are outside
// Sealpost's reach and still open with those keys.
//
// [Manager.ExpireDue] recalls every message whose retention deadline (set
// by policy) has passed; [Manager.RunRetention] does so periodically in the
// node. Being a query over the store, it resumes by construction.
//
// # Opening
//
// [Open] is the portal's path: unwrap through Transit, then age-decrypt the
// stored ciphertext. [Manager.BreakGlass] is the administrator's: it needs
// a reason, records the access in the audit log and in Vault (see
// keys.Client.BreakGlass, which relay and portal tokens are refused), and
// then opens the message the same way. Neither opens a recalled message.
//
// [keys]: https://pkg.go.dev/github.com/sealpost/sealpost/keys
// [store]: https://pkg.go.dev/github.com/sealpost/sealpost/gateway/store
// [audit]: https://pkg.go.dev/github.com/sealpost/sealpost/gateway/audit
package lifecycle
