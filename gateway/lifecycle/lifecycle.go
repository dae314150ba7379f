package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/keys"
)

// Audit actions written by this package.
const (
	ActionRecall        = "recall"
	ActionExpire        = "expire"
	ActionBreakGlass    = "break-glass"
	ActionBreakGlassErr = "break-glass-failed"
	ActionRotate        = "key.rotate"
	ActionRewrap        = "key.rewrap"
	ActionMinVersion    = "key.min-decryption-version"
)

// ActorExpiry is the audit actor of retention expiry.
const ActorExpiry = "expiry"

// MaxReasonLen bounds a recall or break-glass reason.
const MaxReasonLen = 512

// Deps are what a [Manager] works with.
type Deps struct {
	// Store is the message store. Required.
	Store *store.Store
	// Audit is the audit log in the same database. Required.
	Audit *audit.Log
	// Keys talks to Vault. Needed for rotation, rewrap, the minimum version
	// and break-glass; recall and expiry work without it.
	Keys *keys.Client
	// Logger receives progress and failures. Default: slog.Default().
	Logger *slog.Logger
	// Metrics are optional.
	Metrics *Metrics
}

// Manager runs lifecycle operations. It is safe for concurrent use, but
// runs of one job should not overlap (the node runs each in one goroutine).
type Manager struct {
	d Deps
}

// New returns a Manager for d.
func New(d Deps) (*Manager, error) {
	if d.Store == nil || d.Audit == nil {
		return nil, errors.New("failed to create lifecycle manager: store and audit log are required")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	return &Manager{d: d}, nil
}

func (m *Manager) keys() (*keys.Client, error) {
	if m.d.Keys == nil {
		return nil, errors.New("no Vault client configured")
	}
	return m.d.Keys, nil
}

func checkReason(reason string) error {
	switch {
	case strings.TrimSpace(reason) == "":
		return errors.New("a reason is required")
	case len(reason) > MaxReasonLen:
		return fmt.Errorf("the reason is longer than %d bytes", MaxReasonLen)
	case !utf8.ValidString(reason):
		return errors.New("the reason is not valid UTF-8")
	}
	return nil
}

func checkActor(actor string) error {
	if actor == "" || len(actor) > 200 || !utf8.ValidString(actor) {
		return errors.New("an actor of at most 200 bytes is required")
	}
	return nil
}

// RotateWrapKey creates a new version of the wrap key and records it in the
// audit log. Stored secrets stay under their old version until
// [Manager.Rewrap] moves them.
func (m *Manager) RotateWrapKey(ctx context.Context, actor string) (int, error) {
	return m.rotate(ctx, actor, "wrap", (*keys.Client).RotateWrapKey)
}

// RotateAuditKey creates a new version of the audit signing key and
// records it. Checkpoints signed with older versions still verify (their
// signatures name their version), as long as the key's own
// min_decryption_version is not raised.
func (m *Manager) RotateAuditKey(ctx context.Context, actor string) (int, error) {
	return m.rotate(ctx, actor, "audit", (*keys.Client).RotateAuditKey)
}

func (m *Manager) rotate(ctx context.Context, actor, which string, fn func(*keys.Client, context.Context) (int, error)) (int, error) {
	if err := checkActor(actor); err != nil {
		return 0, fmt.Errorf("failed to rotate the %s key: %w", which, err)
	}
	kc, err := m.keys()
	if err != nil {
		return 0, fmt.Errorf("failed to rotate the %s key: %w", which, err)
	}
	v, err := fn(kc, ctx)
	if err != nil {
		return 0, err
	}
	m.d.Logger.Info("key rotated", "key", which, "version", v)
	if _, err := m.d.Audit.Append(ctx, audit.Entry{
		Actor: actor, Action: ActionRotate,
		Detail: map[string]string{"key": which, "version": strconv.Itoa(v)},
	}); err != nil {
		return v, fmt.Errorf("key rotated to version %d, but %w", v, err)
	}
	return v, nil
}

// Recall crypto-shreds message id: the store deletes its wrapped secret
// and ciphertext and truncates the WAL, and the audit log records actor and
// reason. A message recalled before gives an error matching
// store.ErrRecalled (the WAL checkpoint is re-run); an unknown one
// store.ErrNotFound.
func (m *Manager) Recall(ctx context.Context, id, actor, reason string) error {
	if err := checkActor(actor); err != nil {
		return fmt.Errorf("failed to recall message: %w", err)
	}
	if err := checkReason(reason); err != nil {
		return fmt.Errorf("failed to recall message: %w", err)
	}
	return m.shred(ctx, id, actor, reason, ActionRecall, "recall", nil)
}

func (m *Manager) shred(ctx context.Context, id, actor, reason, action, cause string, detail map[string]string) error {
	if err := m.d.Store.Recall(ctx, id, actor, reason); err != nil {
		return err
	}
	m.d.Metrics.shredded.WithLabelValues(cause).Inc()
	d := map[string]string{"reason": reason}
	for k, v := range detail {
		d[k] = v
	}
	if _, err := m.d.Audit.Append(ctx, audit.Entry{Actor: actor, Action: action, MessageID: id, Detail: d}); err != nil {
		// The message is shredded; only the record failed. Say so loudly.
		m.d.Logger.Error("message shredded but the audit entry failed", "id", id, "action", action, "err", err)
		return fmt.Errorf("message shredded, but %w", err)
	}
	return nil
}

// ExpireDue recalls every unrecalled message whose retention deadline is at
// or before now, oldest first, with actor [ActorExpiry], and returns how
// many it shredded. It stops at the first store failure.
func (m *Manager) ExpireDue(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for {
		due, err := m.d.Store.Expired(ctx, now, 100)
		if err != nil {
			return n, err
		}
		if len(due) == 0 {
			return n, nil
		}
		progressed := false
		for _, msg := range due {
			err := m.shred(ctx, msg.ID, ActorExpiry, "retention expired", ActionExpire, "expiry",
				map[string]string{"retain_until": msg.RetainUntil.UTC().Format(time.RFC3339)})
			switch {
			case err == nil:
				n++
				progressed = true
			case errors.Is(err, store.ErrRecalled), errors.Is(err, store.ErrNotFound):
				// Recalled by someone else meanwhile.
				progressed = true
			default:
				return n, fmt.Errorf("failed to expire message %s: %w", msg.ID, err)
			}
		}
		if !progressed {
			return n, nil
		}
	}
}

// RunRetention runs [Manager.ExpireDue] now and then every interval until
// ctx ends, logging and counting failures; a failed sweep is retried at the
// next tick.
func (m *Manager) RunRetention(ctx context.Context, every time.Duration) {
	m.runEvery(ctx, every, "retention", func(ctx context.Context) error {
		n, err := m.ExpireDue(ctx, time.Now())
		if n > 0 {
			m.d.Logger.Info("retention sweep shredded expired messages", "count", n)
		}
		return err
	})
}

// RunRewrap runs [Manager.Rewrap] now and then every interval until ctx
// ends. Each run resumes from the stored cursor.
func (m *Manager) RunRewrap(ctx context.Context, every time.Duration, actor string) {
	m.runEvery(ctx, every, "rewrap", func(ctx context.Context) error {
		_, err := m.Rewrap(ctx, RewrapOptions{Actor: actor})
		return err
	})
}

func (m *Manager) runEvery(ctx context.Context, every time.Duration, job string, fn func(context.Context) error) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := fn(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			m.d.Metrics.jobErrors.WithLabelValues(job).Inc()
			m.d.Logger.Error("lifecycle job failed; retrying at the next run", "job", job, "err", err)
		} else {
			m.d.Metrics.lastRun.WithLabelValues(job).SetToCurrentTime()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Unwrapper opens a wrapped secret; *keys.Client's Unwrap is one.
type Unwrapper func(ctx context.Context, msgID string, wrapped []byte) ([]byte, error)

// Open is the portal's path to a message: it unwraps the message's secret
// with unwrap (a portal client's Unwrap), and age-decrypts the stored
// ciphertext to w. A recalled message gives an error matching
// store.ErrRecalled; nothing is written to w unless the secret unwrapped.
func Open(ctx context.Context, st *store.Store, unwrap Unwrapper, id string, w io.Writer) error {
	msg, err := openable(ctx, st, id)
	if err != nil {
		return err
	}
	secret, err := unwrap(ctx, id, msg.Wrapped)
	if err != nil {
		return fmt.Errorf("failed to open message: %w", err)
	}
	return decrypt(ctx, st, id, secret, w)
}

func openable(ctx context.Context, st *store.Store, id string) (*store.Message, error) {
	msg, err := st.GetMessage(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("failed to open message: %w", err)
	}
	if msg.Recalled() {
		return nil, fmt.Errorf("failed to open message: %w", store.ErrRecalled)
	}
	if len(msg.Wrapped) == 0 {
		return nil, errors.New("failed to open message: it holds no wrapped secret")
	}
	return msg, nil
}

// decrypt age-decrypts the stored ciphertext of id with secret (an age
// identity string) to w, and clears secret.
func decrypt(ctx context.Context, st *store.Store, id string, secret []byte, w io.Writer) error {
	ids, err := age.ParseIdentities(strings.NewReader(string(secret)))
	clear(secret)
	if err != nil || len(ids) != 1 {
		return errors.New("failed to open message: the unwrapped secret is not one age identity")
	}
	ct, err := st.OpenCiphertext(ctx, id)
	if err != nil {
		return fmt.Errorf("failed to open message: %w", err)
	}
	defer ct.Close()
	r, err := age.Decrypt(ct, ids...)
	if err != nil {
		return fmt.Errorf("failed to open message: %w", err)
	}
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("failed to open message: %w", err)
	}
	return nil
}

// BreakGlass opens message id for an administrator and writes the original
// message to w. It refuses a recalled message and an empty reason. The
// access is recorded before anything is decrypted: in Sealpost's audit log
// (actor, reason, message id, and the Vault token's display name) and in
// Vault (keys.Client.BreakGlass, which only an admin token may call; a relay
// or portal token gets an error matching keys.ErrPermissionDenied). A failed
// attempt is recorded as [ActionBreakGlassErr].
func (m *Manager) BreakGlass(ctx context.Context, id, actor, reason string, w io.Writer) error {
	if err := checkActor(actor); err != nil {
		return fmt.Errorf("failed to break glass: %w", err)
	}
	if err := checkReason(reason); err != nil {
		return fmt.Errorf("failed to break glass: %w", err)
	}
	kc, err := m.keys()
	if err != nil {
		return fmt.Errorf("failed to break glass: %w", err)
	}
	msg, err := openable(ctx, m.d.Store, id)
	if err != nil {
		return err
	}
	detail := map[string]string{"reason": reason}
	if name, err := kc.TokenName(ctx); err == nil && name != "" {
		detail["vault_token"] = name
	}
	if _, err := m.d.Audit.Append(ctx, audit.Entry{Actor: actor, Action: ActionBreakGlass, MessageID: id, Detail: detail}); err != nil {
		return fmt.Errorf("failed to break glass: %w", err)
	}
	m.d.Metrics.breakGlass.Inc()
	m.d.Logger.Warn("break-glass access to a message", "id", id, "actor", actor)
	secret, err := kc.BreakGlass(ctx, id, msg.Wrapped, actor, reason)
	if err == nil {
		err = decrypt(ctx, m.d.Store, id, secret, w)
	}
	if err != nil {
		outcome := "error"
		if errors.Is(err, keys.ErrPermissionDenied) {
			outcome = "permission denied"
		}
		if _, aerr := m.d.Audit.Append(ctx, audit.Entry{
			Actor: actor, Action: ActionBreakGlassErr, MessageID: id, Detail: map[string]string{"outcome": outcome},
		}); aerr != nil {
			m.d.Logger.Error("failed to record a failed break-glass attempt", "id", id, "err", aerr)
		}
		return err
	}
	return nil
}
