package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// States of a message in a recipient's inbox.
const (
	StateAvailable = "available" // it can be opened
	StateRecalled  = "recalled"  // an admin recalled it: its key material is destroyed
	StateExpired   = "expired"   // its retention passed (shredded by the expiry job, or due to be)
)

// InboxEntry is one message in a recipient's inbox. It holds nothing from
// inside the ciphertext: no subject, no content.
type InboxEntry struct {
	ID      string
	Created time.Time
	Sender  string // the envelope sender
	State   string // StateAvailable, StateRecalled or StateExpired
}

// InboxQuery selects one page of a recipient's inbox for [Store.Inbox].
type InboxQuery struct {
	// Rcpt is the recipient address, matched without regard to case.
	// Required.
	Rcpt string
	// Now decides whether a retention deadline has passed. Required.
	Now time.Time
	// ExpiryActor is the actor the expiry job records on the messages it
	// recalls (lifecycle.ActorExpiry): those are expired, not recalled.
	// Required.
	ExpiryActor string
	// Offset skips this many entries, newest first.
	Offset int
	// Limit is the page size: 0 means 50, capped at 500.
	Limit int
}

// Inbox returns a page of the messages sealed to q.Rcpt, newest first, and
// whether more follow.
func (s *Store) Inbox(ctx context.Context, q InboxQuery) (entries []InboxEntry, more bool, err error) {
	switch {
	case strings.TrimSpace(q.Rcpt) == "":
		return nil, false, errors.New("failed to list inbox: no recipient")
	case q.Now.IsZero() || !validTime(q.Now):
		return nil, false, errors.New("failed to list inbox: time out of range")
	case q.ExpiryActor == "":
		return nil, false, errors.New("failed to list inbox: no expiry actor")
	case q.Offset < 0:
		return nil, false, errors.New("failed to list inbox: negative offset")
	}
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	rows, err := s.db.QueryContext(ctx, `SELECT m.id, m.created, m.sender,
			CASE
				WHEN m.recalled_at != 0 AND m.recalled_by = ? THEN ?
				WHEN m.recalled_at != 0 THEN ?
				WHEN m.retain_until != 0 AND m.retain_until <= ? THEN ?
				ELSE ?
			END
		FROM message_recipients r JOIN messages m ON m.id = r.message_id
		WHERE r.rcpt = ?
		ORDER BY m.created DESC, m.id
		LIMIT ? OFFSET ?`,
		q.ExpiryActor, StateExpired, StateRecalled, q.Now.UnixNano(), StateExpired, StateAvailable,
		q.Rcpt, limit+1, q.Offset)
	if err != nil {
		return nil, false, fmt.Errorf("failed to list inbox: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e InboxEntry
		var created int64
		if err := rows.Scan(&e.ID, &created, &e.Sender, &e.State); err != nil {
			return nil, false, fmt.Errorf("failed to read inbox entry: %w", err)
		}
		e.Created = fromNanos(created)
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("failed to list inbox: %w", err)
	}
	if len(entries) > limit {
		return entries[:limit], true, nil
	}
	return entries, false, nil
}
