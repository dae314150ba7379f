package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Holder keeps the current policy and reloads it from its file. Reloads are
// validated first: an invalid file leaves the previous policy in force.
type Holder struct {
	path   string
	logger *slog.Logger
	opts   []Option
	cur    atomic.Pointer[Engine]

	mu      sync.Mutex // serialises reloads and guards the fields below
	modTime time.Time
	size    int64
	statErr bool // the last stat failed (to log a failure once)
}

// NewHolder loads the policy at path. It fails if the file is missing or
// invalid: a relay must not start without a valid policy.
func NewHolder(path string, logger *slog.Logger, opts ...Option) (*Holder, error) {
	if logger == nil {
		return nil, errors.New("failed to create policy holder: nil logger")
	}
	h := &Holder{path: path, logger: logger, opts: opts}
	if err := h.reload(true); err != nil {
		return nil, err
	}
	return h, nil
}

// Engine returns the policy in force. It never returns nil.
func (h *Holder) Engine() *Engine { return h.cur.Load() }

// Reload reads and validates the file and, if it is valid, puts it in force.
// If it is invalid, the previous policy stays in force, the failure is logged
// at error level, and the error is returned.
func (h *Holder) Reload() error { return h.reload(true) }

func (h *Holder) reload(force bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	fi, err := os.Stat(h.path)
	if err != nil {
		err = fmt.Errorf("failed to stat policy: %w", err)
		if force || !h.statErr {
			h.logFailure(err)
		}
		h.statErr = true
		return err
	}
	h.statErr = false
	if !force && fi.ModTime().Equal(h.modTime) && fi.Size() == h.size {
		return nil
	}
	e, err := Load(h.path, h.opts...)
	if err != nil {
		// Remember the file state so that polling does not log the same
		// broken file on every tick; SIGHUP or Reload still retry.
		h.modTime, h.size = fi.ModTime(), fi.Size()
		h.logFailure(err)
		return err
	}
	h.modTime, h.size = fi.ModTime(), fi.Size()
	if old := h.cur.Load(); old != nil && old.digest == e.digest {
		return nil
	}
	h.cur.Store(e)
	h.logger.Info("policy loaded", "path", h.path, "digest", e.digest,
		"rules", len(e.rules), "monitor", e.monitor)
	return nil
}

func (h *Holder) logFailure(err error) {
	if h.cur.Load() == nil {
		return // NewHolder returns the error itself
	}
	h.logger.Error("policy reload failed; keeping the previous policy",
		"path", h.path, "digest", h.cur.Load().digest, "err", err)
}

// Watch reloads the policy when the process receives SIGHUP and when the
// file's modification time or size changes, checked every interval. It
// returns when ctx is done. Run it in its own goroutine.
func (h *Holder) Watch(ctx context.Context, every time.Duration) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	h.watch(ctx, every, hup)
}

func (h *Holder) watch(ctx context.Context, every time.Duration, hup <-chan os.Signal) {
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			h.logger.Info("SIGHUP: reloading policy", "path", h.path)
			_ = h.reload(true) // failures are logged
		case <-t.C:
			_ = h.reload(false)
		}
	}
}
