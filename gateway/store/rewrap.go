package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// WrappedSecret is one unrecalled message's wrapped secret, for a rewrap
// job (see [Store.WrappedAfter]).
type WrappedSecret struct {
	ID      string
	Wrapped []byte
}

// WrappedAfter returns up to limit unrecalled messages that hold a wrapped
// secret and whose id sorts after the id given (byte order; "" starts at
// the beginning), in id order. A job walks every wrapped secret with it,
// passing the last id of one page to get the next, and can persist that id
// as its cursor ([Store.SetCursor]) to resume after a restart. Recalled
// messages are never returned: they hold no wrapped secret.
func (s *Store) WrappedAfter(ctx context.Context, after string, limit int) ([]WrappedSecret, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, wrapped FROM messages
		WHERE id > ? AND recalled_at = 0 AND wrapped IS NOT NULL
		ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("failed to list wrapped secrets: %w", err)
	}
	defer rows.Close()
	var out []WrappedSecret
	for rows.Next() {
		var w WrappedSecret
		if err := rows.Scan(&w.ID, &w.Wrapped); err != nil {
			return nil, fmt.Errorf("failed to list wrapped secrets: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list wrapped secrets: %w", err)
	}
	return out, nil
}

// WrappedUpdate replaces one message's wrapped secret Old by New.
type WrappedUpdate struct {
	ID       string
	Old, New []byte
}

// ReplaceWrapped stores rewrapped secrets in one transaction. Each update
// applies only if the message is still unrecalled and still holds exactly
// Old, so a message recalled (or rewrapped by another job) since it was
// read keeps its state; those are counted as skipped. secure_delete
// overwrites the old secret's bytes in the database file.
func (s *Store) ReplaceWrapped(ctx context.Context, updates []WrappedUpdate) (replaced, skipped int, err error) {
	if len(updates) == 0 {
		return 0, 0, nil
	}
	for _, u := range updates {
		if u.ID == "" || len(u.Old) == 0 || len(u.New) == 0 {
			return 0, 0, errors.New("failed to replace wrapped secrets: update needs an id, the old and the new secret")
		}
		if bytes.Equal(u.Old, u.New) {
			return 0, 0, errors.New("failed to replace wrapped secrets: new secret equals the old one")
		}
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx,
			"UPDATE messages SET wrapped = ? WHERE id = ? AND recalled_at = 0 AND wrapped = ?")
		if err != nil {
			return fmt.Errorf("failed to prepare update: %w", err)
		}
		defer stmt.Close()
		replaced, skipped = 0, 0
		for _, u := range updates {
			res, err := stmt.ExecContext(ctx, u.New, u.ID, u.Old)
			if err != nil {
				return fmt.Errorf("failed to update wrapped secret: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("failed to update wrapped secret: %w", err)
			}
			if n == 1 {
				replaced++
			} else {
				skipped++
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("failed to replace wrapped secrets: %w", err)
	}
	return replaced, skipped, nil
}

// jobsSchema holds the state of background jobs, such as a rewrap's
// cursor. It is created on first use, like the audit table.
const jobsSchema = `CREATE TABLE IF NOT EXISTS job_cursors (
	name    TEXT PRIMARY KEY NOT NULL,
	value   TEXT NOT NULL,
	updated INTEGER NOT NULL
)`

// ensureJobs creates the job cursor table if it is missing. Checking
// first keeps the common case a read.
func (s *Store) ensureJobs(ctx context.Context) error {
	var n int
	err := s.db.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'job_cursors'").Scan(&n)
	if err != nil {
		return fmt.Errorf("failed to look for the job cursor table: %w", err)
	}
	if n == 1 {
		return nil
	}
	if err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, jobsSchema)
		return err
	}); err != nil {
		return fmt.Errorf("failed to create the job cursor table: %w", err)
	}
	return nil
}

// Cursor returns the value a job stored with [Store.SetCursor], or "" if
// there is none.
func (s *Store) Cursor(ctx context.Context, name string) (string, error) {
	if err := s.ensureJobs(ctx); err != nil {
		return "", err
	}
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM job_cursors WHERE name = ?", name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to read job cursor: %w", err)
	}
	return v, nil
}

// SetCursor stores a job's cursor under name; an empty value deletes it.
// Cursors must not hold message content: ids and versions only.
func (s *Store) SetCursor(ctx context.Context, name, value string) error {
	if name == "" {
		return errors.New("failed to set job cursor: empty name")
	}
	if err := s.ensureJobs(ctx); err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		if value == "" {
			_, err = tx.ExecContext(ctx, "DELETE FROM job_cursors WHERE name = ?", name)
		} else {
			_, err = tx.ExecContext(ctx,
				"INSERT OR REPLACE INTO job_cursors (name, value, updated) VALUES (?, ?, ?)",
				name, value, time.Now().UnixNano())
		}
		if err != nil {
			return fmt.Errorf("failed to set job cursor: %w", err)
		}
		return nil
	})
}
