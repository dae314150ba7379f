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

// memChunk is the size of the pieces a Buffer holds in memory. A message
// is kept in a list of them rather than one slice, so that it never has to
// be copied to grow, and they are recycled through chunkPool.
const memChunk = 64 << 10

// chunkPool recycles memory chunks. A chunk is wiped before it goes back.
var chunkPool = sync.Pool{New: func() any { return new([memChunk]byte) }}

// copyBufs recycles the buffers of [Buffer.ReadFrom].
var copyBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

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
	mem     []*[memChunk]byte // the message while in memory: full chunks, then a partly filled one
	size    int64
	hash    hash.Hash
	hashed  int64  // bytes of the message already written to hash
	sum     []byte // the SHA-256, once the buffer is sealed and it has been asked for
	err     error  // sticky write error
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
		b.appendMem(p)
		return len(p), nil
	}
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
	b.hash.Write(p)
	b.size += int64(len(p))
	b.hashed = b.size
	return len(p), nil
}

// ReadFrom writes everything r returns to the buffer, as Write would, through
// a recycled buffer. It returns the number of bytes written, and the first
// error other than io.EOF.
func (b *Buffer) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[32 << 10]byte)
	defer func() {
		clear(bp[:])
		copyBufs.Put(bp)
	}()
	var n int64
	for {
		m, rerr := r.Read(bp[:])
		if m > 0 {
			if _, err := b.Write(bp[:m]); err != nil {
				return n, err
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// appendMem copies p to the end of the in-memory message.
func (b *Buffer) appendMem(p []byte) {
	for len(p) > 0 {
		if b.size == int64(len(b.mem))*memChunk {
			b.mem = append(b.mem, chunkPool.Get().(*[memChunk]byte))
		}
		off := b.size % memChunk
		n := copy(b.mem[len(b.mem)-1][off:], p)
		p = p[n:]
		b.size += int64(n)
	}
}

// memBytes returns the in-memory message from offset off: the rest of the
// chunk that holds off, or nil at the end.
func (b *Buffer) memBytes(off int64) []byte {
	if off >= b.size || b.file != nil {
		return nil
	}
	c := b.mem[off/memChunk]
	end := min(b.size-off/memChunk*memChunk, memChunk)
	return c[off%memChunk : end]
}

// hashMem brings the hash up to date with the in-memory message. The
// message is hashed only when its SHA-256 is asked for, or when it spills,
// so that a buffer whose hash nobody needs costs no hashing.
func (b *Buffer) hashMem() {
	for b.hashed < b.size {
		p := b.memBytes(b.hashed)
		b.hash.Write(p)
		b.hashed += int64(len(p))
	}
}

// wipeMem clears the in-memory message and recycles its chunks.
func (b *Buffer) wipeMem() {
	for i, c := range b.mem {
		clear(c[:])
		chunkPool.Put(c)
		b.mem[i] = nil
	}
	b.mem = nil
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
	for off := int64(0); err == nil && off < b.size; {
		p := b.memBytes(off)
		_, err = enc.Write(p)
		off += int64(len(p))
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("failed to encrypt spool file: %w", err)
	}
	b.hashMem()
	b.file, b.path, b.identity, b.enc = f, f.Name(), id, enc
	b.wipeMem()
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
	b.sealed = true
	return nil
}

// Size returns the number of plaintext bytes written so far.
func (b *Buffer) Size() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size
}

// SHA256 returns the SHA-256 of the plaintext written so far. A message
// held in memory is hashed the first time this is asked, so after
// [Buffer.Remove] it returns nil unless it had been asked before.
func (b *Buffer) SHA256() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sum != nil {
		return bytes.Clone(b.sum)
	}
	if b.removed && b.hashed < b.size {
		return nil
	}
	b.hashMem()
	sum := b.hash.Sum(nil)
	if b.sealed {
		b.sum = sum
	}
	return bytes.Clone(sum)
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
	b.wipeMem()
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
	off    int64
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
	if r.off >= r.b.size {
		return 0, io.EOF
	}
	n := copy(p, r.b.memBytes(r.off))
	r.off += int64(n)
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
