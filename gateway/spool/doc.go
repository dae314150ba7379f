// Package spool buffers a message while it is being received, without ever
// writing plaintext to disk.
//
// # Memory and disk
//
// A [Buffer] keeps up to the [Spool]'s memory limit in memory. As soon as a
// message grows beyond that limit, everything received so far and everything
// after it goes to a temporary file, encrypted with [filippo.io/age] to an
// X25519 identity generated for that one buffer. The identity exists only in
// this process's memory, so the file is STREAM-AEAD ciphertext that nobody
// can read once the process is gone: a crash leaves undecryptable files,
// never plaintext. Memory use stays bounded whatever the message size (age
// works in 64 KiB chunks).
//
// # Life cycle
//
// A Buffer is written sequentially as an [io.Writer] while the message is
// received (for example by an SMTP DATA handler), then sealed with
// [Buffer.Seal]. After that, [Buffer.Open] returns a fresh reader over the
// whole plaintext each time, and may be called concurrently (the classifier,
// the sealer and the next-hop delivery each read the message). [Buffer.Remove]
// wipes the memory copy, forgets the key and deletes the file.
//
// The size of the plaintext is counted while writing. Its SHA-256 is
// computed while writing once the buffer has spilled to disk (so the file
// is never read back for it), and otherwise from memory the first time
// [Buffer.SHA256] asks, so that buffers whose hash nobody needs (the
// relay's ciphertext and sealed copy) cost no hashing. Memory is held in
// 64 KiB chunks that are recycled, wiped, between buffers, so that a
// growing message is never copied.
//
// # Limits of wiping
//
// Go cannot guarantee that memory is wiped: the runtime may have copied
// data, and readers handed out by Open keep their own buffers. Remove clears
// the buffers this package owns, which shortens the time plaintext stays in
// memory; it is not a guarantee.
package spool
