package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
)

// LedgerKey returns the delivery-ledger key for one next-hop group: the hex
// SHA-256 over a length-prefixed encoding of the raw message hash and the
// group's recipients, sorted, so that the same group of the same message
// always gets the same key whatever order the recipients arrived in.
func LedgerKey(messageHash []byte, recipients []string) string {
	rcpts := slices.Clone(recipients)
	slices.Sort(rcpts)
	h := sha256.New()
	h.Write([]byte("sealpost-ledger-v1\x00"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(messageHash)))
	h.Write(n[:])
	h.Write(messageHash)
	binary.BigEndian.PutUint64(n[:], uint64(len(rcpts)))
	h.Write(n[:])
	for _, r := range rcpts {
		binary.BigEndian.PutUint64(n[:], uint64(len(r)))
		h.Write(n[:])
		h.Write([]byte(r))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func checkLedgerKey(key string) error {
	if b, err := hex.DecodeString(key); err != nil || len(b) != sha256.Size {
		return errors.New("ledger key is not a hex SHA-256")
	}
	return nil
}

// LedgerDelivered reports whether the group identified by key (see
// [LedgerKey]) has already been accepted by the next hop.
func (s *Store) LedgerDelivered(ctx context.Context, key string) (bool, error) {
	if err := checkLedgerKey(key); err != nil {
		return false, fmt.Errorf("failed to check delivery ledger: %w", err)
	}
	var one int
	err := s.st.ledgerGet.QueryRowContext(ctx, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to check delivery ledger: %w", err)
	}
	return true, nil
}

// LedgerRecord records that the group identified by key was accepted by the
// next hop, with the message id and the next hop's reply (which must not
// carry message content). Recording a key again replaces its entry.
func (s *Store) LedgerRecord(ctx context.Context, key, messageID, reply string) error {
	return s.LedgerRecordAll(ctx, []string{key}, messageID, reply)
}

// LedgerRecordAll records several deliveries of one message in one
// transaction; each function in also runs in it too (the relay appends the
// delivery's audit entry this way).
func (s *Store) LedgerRecordAll(ctx context.Context, keys []string, messageID, reply string, also ...func(*sql.Tx) error) error {
	for _, key := range keys {
		if err := checkLedgerKey(key); err != nil {
			return fmt.Errorf("failed to record delivery: %w", err)
		}
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UnixNano()
		put := tx.StmtContext(ctx, s.st.ledgerPut)
		for _, key := range keys {
			_, err := put.ExecContext(ctx, key, messageID, reply, now)
			if err != nil {
				return fmt.Errorf("failed to record delivery: %w", err)
			}
		}
		for _, fn := range also {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// LedgerExpire deletes ledger entries recorded before the given time and
// returns how many it deleted.
func (s *Store) LedgerExpire(ctx context.Context, before time.Time) (int64, error) {
	if !validTime(before) {
		return 0, errors.New("failed to expire delivery ledger: time out of range")
	}
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM ledger WHERE recorded < ?", toNanos(before))
		if err != nil {
			return fmt.Errorf("failed to expire delivery ledger: %w", err)
		}
		n, err = res.RowsAffected()
		if err != nil {
			return fmt.Errorf("failed to expire delivery ledger: %w", err)
		}
		return nil
	})
	return n, err
}
