package seal

import (
	"crypto/sha256"
	"fmt"
	"io"

	"filippo.io/age"
)

// NewIdentity generates a fresh per-message age identity and returns its
// secret key string (AGE-SECRET-KEY-1… or, when hybrid, the post-quantum
// AGE-SECRET-KEY-PQ-1…) and its recipient. The secret is for the caller to
// wrap (see the keys package) and then forget.
func NewIdentity(hybrid bool) (secret string, r age.Recipient, err error) {
	if hybrid {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return "", nil, fmt.Errorf("failed to generate hybrid identity: %w", err)
		}
		return id.String(), id.Recipient(), nil
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", nil, fmt.Errorf("failed to generate X25519 identity: %w", err)
	}
	return id.String(), id.Recipient(), nil
}

// hybridReporter is implemented by recipients that know whether they are
// post-quantum, such as filippo.io/age/tag.Recipient.
type hybridReporter interface {
	Hybrid() bool
}

// NeedsHybrid reports whether the per-message identity must be a
// post-quantum hybrid one, because age refuses to mix post-quantum and
// classic recipients in one file (the file would only be as strong as the
// classic ones).
//
// It is true when any directory recipient is post-quantum: an
// [*age.HybridRecipient] (age1pq1…), or a recipient with a Hybrid() bool
// method that returns true (filippo.io/age/tag's age1tagpq1…).
//
// SSH recipients (ssh-ed25519, ssh-rsa, from filippo.io/age/agessh) and
// X25519 recipients are classic. Plugin recipients (age1<name>1…) only say
// whether they are post-quantum when the plugin runs to wrap a key, so they
// are treated as classic here; if a plugin does report the "postquantum"
// label, or the directory mixes post-quantum and classic recipients for one
// message, [Encrypt] fails with age's "incompatible recipients" error and no
// ciphertext is produced (fail closed). Such a directory entry needs an
// admin to fix it.
func NeedsHybrid(rs []age.Recipient) bool {
	for _, r := range rs {
		switch r := r.(type) {
		case *age.HybridRecipient:
			return true
		case hybridReporter:
			if r.Hybrid() {
				return true
			}
		}
	}
	return false
}

// Encrypt seals the original message to recipients: it streams it through
// [StripHeaders] into [age.Encrypt] and writes the binary age file to dst.
// It returns the SHA-256 and size of the ciphertext written to dst. On
// error, dst holds an incomplete file that must be discarded.
func Encrypt(dst io.Writer, original io.Reader, recipients []age.Recipient) (ciphertextSHA256 []byte, size int64, err error) {
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(dst, h)}
	w, err := age.Encrypt(cw, recipients...)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to start encryption: %w", err)
	}
	if err := StripHeaders(w, original); err != nil {
		return nil, 0, fmt.Errorf("failed to encrypt message: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, 0, fmt.Errorf("failed to finish encryption: %w", err)
	}
	return h.Sum(nil), cw.n, nil
}

// countingWriter counts the bytes written to w.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
