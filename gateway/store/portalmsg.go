package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Per-message, per-recipient portal state: the phone numbers a sender
// supplied (wrapped, so only Vault opens them) and first views (read
// receipts). Recipient addresses are compared without regard to ASCII case,
// as everywhere in the store.

// maxWrappedPhone bounds a wrapped phone number: an RSA-4096 ciphertext in
// the keys.Wrapped format is well under 1 KiB.
const maxWrappedPhone = 4 << 10

// PutPhoneTx stores, inside tx, the wrapped phone number of recipient rcpt
// of message msgID. The relay calls it from the transaction of
// [Store.PutMessage] (its also functions), so the message and its numbers
// are committed together. rcpt must be one of the message's recipients, and
// a recipient has at most one number.
func PutPhoneTx(ctx context.Context, tx *sql.Tx, msgID, rcpt string, wrapped []byte) error {
	if len(wrapped) == 0 || len(wrapped) > maxWrappedPhone {
		return fmt.Errorf("failed to store phone: wrapped number must be 1 to %d bytes", maxWrappedPhone)
	}
	ok, err := isRecipient(ctx, tx, msgID, rcpt)
	if err != nil {
		return fmt.Errorf("failed to store phone: %w", err)
	}
	if !ok {
		return errors.New("failed to store phone: not a recipient of the message")
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO message_phones (message_id, rcpt, wrapped) VALUES (?, ?, ?)", msgID, rcpt, wrapped); err != nil {
		return fmt.Errorf("failed to store phone: %w", err)
	}
	return nil
}

// Phone returns the wrapped phone number stored for recipient rcpt of
// message msgID (keys.Client.UnwrapData with keys.PurposePhone opens it).
// It returns [ErrNotFound] if there is none, and an error matching
// [ErrRecalled] if the message was recalled: its numbers are no longer
// handed out.
func (s *Store) Phone(ctx context.Context, msgID, rcpt string) ([]byte, error) {
	// Recall deletes the numbers with the key material; the message row
	// stays, so a recalled message still answers ErrRecalled.
	var wrapped []byte
	var recalledAt int64
	err := s.db.QueryRowContext(ctx, `SELECT p.wrapped, m.recalled_at
		FROM messages m LEFT JOIN message_phones p ON p.message_id = m.id AND p.rcpt = ?
		WHERE m.id = ?`, rcpt, msgID).Scan(&wrapped, &recalledAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("failed to read phone: %w", err)
	case recalledAt != 0:
		return nil, fmt.Errorf("failed to read phone: %w", ErrRecalled)
	case wrapped == nil:
		return nil, ErrNotFound
	}
	return wrapped, nil
}

// PhoneRecipients returns the recipients of message msgID that have a
// phone number on file, in no particular order. It never returns the
// numbers.
func (s *Store) PhoneRecipients(ctx context.Context, msgID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT rcpt FROM message_phones WHERE message_id = ?", msgID)
	if err != nil {
		return nil, fmt.Errorf("failed to list phones: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("failed to list phones: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list phones: %w", err)
	}
	return out, nil
}

// RecordView records that recipient rcpt opened message msgID at at, and
// reports whether this was the first view (only the first is kept). Of
// concurrent first views on any number of portal nodes, exactly one
// reports first. A rcpt that is not a recipient of the message gives
// [ErrNotFound].
func (s *Store) RecordView(ctx context.Context, msgID, rcpt string, at time.Time) (first bool, err error) {
	if at.IsZero() || !validTime(at) {
		return false, errors.New("failed to record view: time out of range")
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		ok, err := isRecipient(ctx, tx, msgID, rcpt)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		res, err := tx.ExecContext(ctx,
			"INSERT OR IGNORE INTO message_views (message_id, rcpt, first_view) VALUES (?, ?, ?)",
			msgID, rcpt, at.UnixNano())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		first = n == 1
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("failed to record view: %w", err)
	}
	return first, nil
}

// MarkReceipt records that a read receipt for recipient rcpt of message
// msgID went to the sender at at. It keeps the first time if called again.
// Without a recorded view ([Store.RecordView]) it returns [ErrNotFound].
func (s *Store) MarkReceipt(ctx context.Context, msgID, rcpt string, at time.Time) error {
	if at.IsZero() || !validTime(at) {
		return errors.New("failed to mark read receipt: time out of range")
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var receiptAt int64
		err := tx.QueryRowContext(ctx, "SELECT receipt_at FROM message_views WHERE message_id = ? AND rcpt = ?",
			msgID, rcpt).Scan(&receiptAt)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || receiptAt != 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE message_views SET receipt_at = ? WHERE message_id = ? AND rcpt = ?",
			at.UnixNano(), msgID, rcpt)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("failed to mark read receipt: %w", err)
	}
	return nil
}

// View is what [Store.View] knows about one recipient's view of a message.
type View struct {
	FirstView time.Time // zero: never opened
	ReceiptAt time.Time // zero: no read receipt sent
}

// View returns when recipient rcpt first opened message msgID and when a
// read receipt went out; both are zero if the recipient has not opened it.
func (s *Store) View(ctx context.Context, msgID, rcpt string) (View, error) {
	var first, receipt int64
	err := s.db.QueryRowContext(ctx, "SELECT first_view, receipt_at FROM message_views WHERE message_id = ? AND rcpt = ?",
		msgID, rcpt).Scan(&first, &receipt)
	if errors.Is(err, sql.ErrNoRows) {
		return View{}, nil
	}
	if err != nil {
		return View{}, fmt.Errorf("failed to read view: %w", err)
	}
	return View{FirstView: fromNanos(first), ReceiptAt: fromNanos(receipt)}, nil
}

// IsRecipient reports whether addr (compared without regard to ASCII case)
// is a sealed recipient of message msgID. An unknown message has no
// recipients.
func (s *Store) IsRecipient(ctx context.Context, msgID, addr string) (bool, error) {
	ok, err := isRecipient(ctx, s.db, msgID, addr)
	if err != nil {
		return false, fmt.Errorf("failed to check recipient: %w", err)
	}
	return ok, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func isRecipient(ctx context.Context, q queryRower, msgID, addr string) (bool, error) {
	if msgID == "" || addr == "" {
		return false, nil
	}
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM message_recipients WHERE message_id = ? AND rcpt = ?",
		msgID, addr).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
