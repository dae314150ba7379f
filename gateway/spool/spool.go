package spool

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"filippo.io/age"
)

// Errors returned for calls made in the wrong state.
var (
	ErrSealed    = errors.New("spool: buffer already sealed")
	ErrNotSealed = errors.New("spool: buffer not sealed yet")
	ErrRemoved   = errors.New("spool: buffer removed")
)

// tempPattern names spill files; the suffix says what they hold.
const tempPattern = "sealpost-spool-*.age"

// minGrow is the smallest memory allocation a Buffer makes.
const minGrow = 4096

// Spool makes Buffers that share a temporary directory and a memory limit.
// A Spool holds no state besides its settings and is safe for concurrent use.
type Spool struct {
	dir      string
	memLimit int64
}

// New returns a Spool that keeps up to memLimit bytes of each message in
// memory and spills larger messages, encrypted, to files in dir. An empty
// dir means [os.TempDir]. A memLimit of zero or less spills every message.
func New(dir string, memLimit int64) *Spool {
	if dir == "" {
		dir = os.TempDir()
	}
	return &Spool{dir: dir, memLimit: memLimit}
}

// Buffer holds one message. It is written sequentially (Write is not safe
// for concurrent use), then sealed; after Seal, Open, Size, SHA256 and Remove
// are safe for concurrent use.
type Buffer struct {
	spool *Spool

	mu      sync.Mutex
	mem     []byte
	size    int64
	hash    hash.Hash
	sum     []byte
	err     error // sticky write error
	sealed  bool
	removed bool

	// Set once the buffer has spilled to disk.
	file     *os.File
	path     string
	identity *age.X25519Identity
	enc      io.WriteCloser
	fileSize countingWriter
}

// NewBuffer returns an empty Buffer.
func (s *Spool) NewBuffer() *Buffer {
	return &Buffer{spool: s, hash: sha256.New()}
}

// Write appends p to the message. Once the message exceeds the memory limit,
// it and all later writes are encrypted to a temporary file. After an error,
// every later Write returns the same error.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.removed:
		return 0, ErrRemoved
	case b.sealed:
		return 0, ErrSealed
	case b.err != nil:
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}

	if b.file == nil && b.size+int64(len(p)) <= b.spool.memLimit {
		b.growMem(len(p))
		b.mem = append(b.mem, p...)
	} else {
		if b.file == nil {
			if err := b.spill(); err != nil {
				b.err = err
				return 0, err
			}
		}
		if _, err := b.enc.Write(p); err != nil {
			b.err = fmt.Errorf("failed to write spool file: %w", err)
			return 0, b.err
		}
	}
	b.hash.Write(p)
	b.size += int64(len(p))
	return len(p), nil
}

// growMem makes room for n more bytes in mem, wiping the old backing array
// when it has to move.
func (b *Buffer) growMem(n int) {
	need := len(b.mem) + n
	if need <= cap(b.mem) {
		return
	}
	newCap := max(2*cap(b.mem), need, minGrow)
	if int64(newCap) > b.spool.memLimit {
		newCap = int(b.spool.memLimit)
	}
	grown := make([]byte, len(b.mem), newCap)
	copy(grown, b.mem)
	clear(b.mem[:cap(b.mem)])
	b.mem = grown
}

// spill moves the buffer to an encrypted temporary file.
func (b *Buffer) spill() error {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return fmt.Errorf("failed to generate spool key: %w", err)
	}
	f, err := os.CreateTemp(b.spool.dir, tempPattern)
	if err != nil {
		return fmt.Errorf("failed to create spool file: %w", err)
	}
	b.fileSize.w = f
	enc, err := age.Encrypt(&b.fileSize, id.Recipient())
	if err == nil && len(b.mem) > 0 {
		_, err = enc.Write(b.mem)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("failed to encrypt spool file: %w", err)
	}
	b.file, b.path, b.identity, b.enc = f, f.Name(), id, enc
	clear(b.mem[:cap(b.mem)])
	b.mem = nil
	return nil
}

// Seal finishes writing. After Seal, Open may be called any number of times.
// Seal on a sealed buffer is a no-op.
func (b *Buffer) Seal() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.removed:
		return ErrRemoved
	case b.sealed:
		return nil
	case b.err != nil:
		return b.err
	}
	if b.enc != nil {
		if err := b.enc.Close(); err != nil {
			b.err = fmt.Errorf("failed to finish spool file: %w", err)
			return b.err
		}
		b.enc = nil
	}
	b.sum = b.hash.Sum(nil)
	b.sealed = true
	return nil
}

// Size returns the number of plaintext bytes written so far.
func (b *Buffer) Size() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size
}

// SHA256 returns the SHA-256 of the plaintext written so far.
func (b *Buffer) SHA256() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sealed {
		return bytes.Clone(b.sum)
	}
	return b.hash.Sum(nil)
}

// Open returns a new reader over the whole plaintext. The buffer must be
// sealed. Readers fail with [ErrRemoved] (or a closed-file error) once the
// buffer is removed; close them before calling Remove.
func (b *Buffer) Open() (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.removed:
		return nil, ErrRemoved
	case !b.sealed:
		return nil, ErrNotSealed
	}
	if b.file == nil {
		return &memReader{b: b}, nil
	}
	sr := io.NewSectionReader(b.file, 0, b.fileSize.n)
	r, err := age.Decrypt(sr, b.identity)
	if err != nil {
		return nil, fmt.Errorf("failed to decrypt spool file: %w", err)
	}
	return io.NopCloser(r), nil
}

// Remove wipes the in-memory copy, forgets the file key and deletes the
// temporary file. Calling it more than once is harmless.
func (b *Buffer) Remove() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.removed {
		return nil
	}
	b.removed = true
	clear(b.mem[:cap(b.mem)])
	b.mem = nil
	b.identity = nil
	b.enc = nil
	if b.file == nil {
		return nil
	}
	errClose := b.file.Close()
	errRemove := os.Remove(b.path)
	if errRemove != nil {
		return fmt.Errorf("failed to delete spool file: %w", errRemove)
	}
	if errClose != nil {
		return fmt.Errorf("failed to close spool file: %w", errClose)
	}
	return nil
}

// memReader reads the in-memory copy under the buffer's lock, so that Remove
// cannot wipe bytes while they are being copied.
type memReader struct {
	b      *Buffer
	off    int
	closed bool
}

func (r *memReader) Read(p []byte) (int, error) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if r.closed {
		return 0, os.ErrClosed
	}
	if r.b.removed {
		return 0, ErrRemoved
	}
	if r.off >= len(r.b.mem) {
		return 0, io.EOF
	}
	n := copy(p, r.b.mem[r.off:])
	r.off += n
	return n, nil
}

func (r *memReader) Close() error {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	r.closed = true
	return nil
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
