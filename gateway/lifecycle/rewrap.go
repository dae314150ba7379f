package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/keys"
)

// RewrapCursor is the name of the rewrap job's cursor in the store.
const RewrapCursor = "rewrap"

// DefaultRewrapBatch is how many secrets one Transit rewrap request carries.
const DefaultRewrapBatch = 64

// RewrapOptions configures one [Manager.Rewrap] run.
type RewrapOptions struct {
	// Actor is recorded in the audit entry of a run. Default: "rewrap".
	Actor string
	// BatchSize is how many secrets one Transit request carries, at most
	// keys.MaxRewrapBatch. Default: DefaultRewrapBatch.
	BatchSize int
	// Progress, if set, is called after every batch.
	Progress func(RewrapProgress)
}

// RewrapProgress counts the work of one rewrap run.
type RewrapProgress struct {
	// Target is the wrap key version secrets are moved to.
	Target int
	// Resumed is the id the run started after (a stored cursor), or "".
	Resumed string
	// Scanned counts unrecalled messages looked at in this run.
	Scanned int
	// Rewrapped counts secrets moved to Target.
	Rewrapped int
	// Current counts secrets that already were at Target or newer.
	Current int
	// Skipped counts secrets recalled or changed while being rewrapped.
	Skipped int
	// Failed counts secrets that did not parse or that Transit refused
	// (for example, below the key's min_decryption_version). They are
	// logged by message id and left as they were.
	Failed int
	// Done is set when the run reached the end of the store.
	Done bool
}

// Rewrap moves every unrecalled wrapped secret below the wrap key's latest
// version to that version, with Transit rewrap in batches. It resumes from
// the cursor a previous run stored for the same target version, stores its
// cursor after every batch, and clears it when it reaches the end. Recalled
// messages are never touched. A run with nothing to do costs one pass over
// the store's wrapped secrets, which are small.
func (m *Manager) Rewrap(ctx context.Context, o RewrapOptions) (RewrapProgress, error) {
	if o.Actor == "" {
		o.Actor = "rewrap"
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultRewrapBatch
	}
	o.BatchSize = min(o.BatchSize, keys.MaxRewrapBatch)
	var p RewrapProgress
	kc, err := m.keys()
	if err != nil {
		return p, fmt.Errorf("failed to rewrap: %w", err)
	}
	kv, err := kc.WrapKeyVersions(ctx)
	if err != nil {
		return p, fmt.Errorf("failed to rewrap: %w", err)
	}
	p.Target = kv.Latest
	cur, err := m.d.Store.Cursor(ctx, RewrapCursor)
	if err != nil {
		return p, fmt.Errorf("failed to rewrap: %w", err)
	}
	after := ""
	if v, id, ok := parseCursor(cur); ok && v == p.Target {
		after = id
		p.Resumed = id
	}
	log := m.d.Logger.With("job", "rewrap", "target_version", p.Target)
	log.Info("rewrap started", "resume_after", after)
	for {
		page, err := m.d.Store.WrappedAfter(ctx, after, o.BatchSize)
		if err != nil {
			return p, fmt.Errorf("failed to rewrap: %w", err)
		}
		if len(page) == 0 {
			break
		}
		if err := m.rewrapPage(ctx, kc, page, &p, log); err != nil {
			return p, err
		}
		after = page[len(page)-1].ID
		if err := m.d.Store.SetCursor(ctx, RewrapCursor, formatCursor(p.Target, after)); err != nil {
			return p, fmt.Errorf("failed to rewrap: %w", err)
		}
		log.Debug("rewrap progress", "scanned", p.Scanned, "rewrapped", p.Rewrapped, "failed", p.Failed)
		if o.Progress != nil {
			o.Progress(p)
		}
	}
	if err := m.d.Store.SetCursor(ctx, RewrapCursor, ""); err != nil {
		return p, fmt.Errorf("failed to rewrap: %w", err)
	}
	p.Done = true
	log.Info("rewrap finished", "scanned", p.Scanned, "rewrapped", p.Rewrapped, "current", p.Current,
		"skipped", p.Skipped, "failed", p.Failed)
	if o.Progress != nil {
		o.Progress(p)
	}
	if p.Rewrapped > 0 || p.Failed > 0 {
		if _, err := m.d.Audit.Append(ctx, audit.Entry{
			Actor: o.Actor, Action: ActionRewrap,
			Detail: map[string]string{
				"key": "wrap", "version": strconv.Itoa(p.Target),
				"rewrapped": strconv.Itoa(p.Rewrapped), "failed": strconv.Itoa(p.Failed),
			},
		}); err != nil {
			return p, fmt.Errorf("rewrap finished, but %w", err)
		}
	}
	return p, nil
}

func (m *Manager) rewrapPage(ctx context.Context, kc *keys.Client, page []store.WrappedSecret, p *RewrapProgress, log *slog.Logger) error {
	var todo []store.WrappedSecret
	for _, ws := range page {
		p.Scanned++
		w, err := keys.ParseWrapped(ws.Wrapped)
		if err != nil {
			p.Failed++
			m.d.Metrics.rewrapFail.Inc()
			log.Warn("stored wrapped secret does not parse; left as it is", "id", ws.ID, "err", err)
			continue
		}
		if w.KeyVersion >= p.Target {
			p.Current++
			continue
		}
		todo = append(todo, ws)
	}
	if len(todo) == 0 {
		return nil
	}
	blobs := make([][]byte, len(todo))
	for i, ws := range todo {
		blobs[i] = ws.Wrapped
	}
	res, err := kc.Rewrap(ctx, blobs)
	if err != nil {
		return fmt.Errorf("failed to rewrap: %w", err)
	}
	var updates []store.WrappedUpdate
	for i, r := range res {
		if r.Err != nil {
			p.Failed++
			m.d.Metrics.rewrapFail.Inc()
			log.Warn("transit refused to rewrap a secret; left as it is", "id", todo[i].ID, "err", r.Err)
			continue
		}
		updates = append(updates, store.WrappedUpdate{ID: todo[i].ID, Old: todo[i].Wrapped, New: r.Wrapped})
	}
	replaced, skipped, err := m.d.Store.ReplaceWrapped(ctx, updates)
	if err != nil {
		return fmt.Errorf("failed to rewrap: %w", err)
	}
	p.Rewrapped += replaced
	p.Skipped += skipped
	m.d.Metrics.rewrapped.Add(float64(replaced))
	return nil
}

func formatCursor(version int, after string) string {
	return "v" + strconv.Itoa(version) + ":" + after
}

func parseCursor(s string) (version int, after string, ok bool) {
	rest, ok := strings.CutPrefix(s, "v")
	if !ok {
		return 0, "", false
	}
	num, after, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, "", false
	}
	v, err := strconv.Atoi(num)
	if err != nil || v < 1 {
		return 0, "", false
	}
	return v, after, true
}

// Outdated counts the unrecalled messages whose wrapped secret is below
// version, and among them those that are already below the key's current
// min_decryption_version (unopenable already; they should be recalled) or
// that do not parse.
type Outdated struct {
	// Below counts secrets at a version from the current minimum up to
	// version-1: they still open, and would stop opening.
	Below int
	// Dead counts secrets that already cannot open: below the current
	// minimum, or unparsable.
	Dead int
	// Example is the id of one message counted in Below, for the operator.
	Example string
}

// CountOutdated walks the store and counts secrets below version, given
// the wrap key's current min_decryption_version.
func (m *Manager) CountOutdated(ctx context.Context, version, currentMin int) (Outdated, error) {
	var o Outdated
	after := ""
	for {
		page, err := m.d.Store.WrappedAfter(ctx, after, 500)
		if err != nil {
			return o, err
		}
		if len(page) == 0 {
			return o, nil
		}
		for _, ws := range page {
			w, err := keys.ParseWrapped(ws.Wrapped)
			switch {
			case err != nil || w.KeyVersion < currentMin:
				o.Dead++
			case w.KeyVersion < version:
				o.Below++
				if o.Example == "" {
					o.Example = ws.ID
				}
			}
		}
		after = page[len(page)-1].ID
	}
}

// OutdatedError is the refusal of [Manager.SetMinDecryptionVersion] while
// messages still hold secrets that the new minimum would make unopenable.
type OutdatedError struct {
	Version int
	Outdated
}

func (e *OutdatedError) Error() string {
	return fmt.Sprintf("refusing to raise min_decryption_version to %d: %d unrecalled message(s) still hold a secret wrapped under an older version (for example %s); run the rewrap first (sealpost keys rewrap), or recall them",
		e.Version, e.Below, e.Example)
}

// ErrTooSoon is matched by the refusal of [Manager.SetMinDecryptionVersion]
// while the new minimum version is younger than the grace period.
var ErrTooSoon = errors.New("the new minimum version is too recent")

// DefaultMinVersionGrace is how old the new minimum version must be before
// [Manager.SetMinDecryptionVersion] raises to it: the relays' wrap key
// cache (keys.DefaultWrapKeyMaxAge, 5m) plus the time a message may take
// from wrap to store (relay.process_timeout, 2m), with margin.
const DefaultMinVersionGrace = 10 * time.Minute

// SetMinDecryptionVersion sets the wrap key's min_decryption_version to
// version and records it. Raising it makes secrets under older versions
// unopenable everywhere, including in backups of the store, so it refuses
//   - with an error matching ErrTooSoon while version was created less than
//     grace ago (relays may still wrap new messages under older versions);
//   - with an [*OutdatedError] while any unrecalled message still holds an
//     openable secret below version.
//
// Lowering it (to recover) is allowed and recorded. After raising, the
// store is counted again and any message wrapped below the minimum in the
// meantime is logged as an error: it can no longer be opened through the
// portal.
func (m *Manager) SetMinDecryptionVersion(ctx context.Context, actor string, version int, grace time.Duration) error {
	if err := checkActor(actor); err != nil {
		return fmt.Errorf("failed to set min_decryption_version: %w", err)
	}
	kc, err := m.keys()
	if err != nil {
		return fmt.Errorf("failed to set min_decryption_version: %w", err)
	}
	kv, err := kc.WrapKeyVersions(ctx)
	if err != nil {
		return fmt.Errorf("failed to set min_decryption_version: %w", err)
	}
	if version < 1 || version > kv.Latest {
		return fmt.Errorf("failed to set min_decryption_version: version %d is not between 1 and the latest, %d", version, kv.Latest)
	}
	if version == kv.MinDecryption {
		return nil
	}
	raising := version > kv.MinDecryption
	if raising {
		created, ok := kv.Created[version]
		if !ok {
			return fmt.Errorf("failed to set min_decryption_version: vault reports no creation time for version %d", version)
		}
		if old := time.Since(created); old < grace {
			return fmt.Errorf("failed to set min_decryption_version: %w: version %d was created %s ago, and relays may wrap under older versions for up to %s after a rotation; wait, then run the rewrap again",
				ErrTooSoon, version, old.Round(time.Second), grace)
		}
		o, err := m.CountOutdated(ctx, version, kv.MinDecryption)
		if err != nil {
			return fmt.Errorf("failed to set min_decryption_version: %w", err)
		}
		if o.Below > 0 {
			return &OutdatedError{Version: version, Outdated: o}
		}
		if o.Dead > 0 {
			m.d.Logger.Warn("messages hold secrets that already cannot be opened; recall them", "count", o.Dead)
		}
	}
	if err := kc.SetWrapKeyMinDecryptionVersion(ctx, version); err != nil {
		return err
	}
	m.d.Logger.Info("wrap key min_decryption_version set", "version", version, "previous", kv.MinDecryption)
	if _, err := m.d.Audit.Append(ctx, audit.Entry{
		Actor: actor, Action: ActionMinVersion,
		Detail: map[string]string{"key": "wrap", "version": strconv.Itoa(version), "previous": strconv.Itoa(kv.MinDecryption)},
	}); err != nil {
		return fmt.Errorf("min_decryption_version set to %d, but %w", version, err)
	}
	if raising {
		if o, err := m.CountOutdated(ctx, version, kv.MinDecryption); err == nil && o.Below > 0 {
			m.d.Logger.Error("messages were stored under an older wrap key version while the minimum was raised; they no longer open",
				"count", o.Below, "example", o.Example)
		}
	}
	return nil
}
