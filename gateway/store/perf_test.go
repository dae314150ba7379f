package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"io"
	"path/filepath"
	"testing"
)

// TestPageSize checks that a new store gets 16 KiB pages and that a store
// made with SQLite's default 4 KiB keeps them and works as before; and that
// either checkpoints every 2 MiB of log, on every connection.
func TestPageSize(t *testing.T) {
	pragma := func(db *sql.DB, name string) int {
		var n int
		if err := db.QueryRow("PRAGMA " + name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	pageSize := func(s *Store) int { return pragma(s.DB(), "page_size") }
	checkAuto := func(s *Store, want int) {
		t.Helper()
		for _, db := range []*sql.DB{s.db, s.wdb} {
			if got := pragma(db, "wal_autocheckpoint"); got != want {
				t.Errorf("wal_autocheckpoint = %d, want %d", got, want)
			}
		}
	}
	s := openTest(t)
	if got := pageSize(s); got != newPageSize {
		t.Errorf("new store: page size %d, want %d", got, newPageSize)
	}
	checkAuto(s, checkpointBytes/newPageSize)

	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"PRAGMA page_size = 4096", "PRAGMA journal_mode = WAL", "CREATE TABLE older (x)"} {
		if _, err := old.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := pageSize(s); got != 4096 {
		t.Errorf("existing store: page size %d, want it kept at 4096", got)
	}
	checkAuto(s, checkpointBytes/4096)
	ct := bytes.Repeat([]byte("ciphertext"), 30_000)
	if err := s.PutMessage(context.Background(), testMessage("m"), bytes.NewReader(ct)); err != nil {
		t.Fatal(err)
	}
	rc, err := s.OpenCiphertext(context.Background(), "m")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, ct) {
		t.Errorf("existing store: read back %d bytes (%v), want the %d stored", len(got), err, len(ct))
	}
}

// TestPutMessageKnownCiphertext checks the path the relay takes, with the
// ciphertext's size and hash given: the record is written complete, across
// chunks, and a stream that matches only one of the two is refused.
func TestPutMessageKnownCiphertext(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	const size = 5*ChunkSize/2 + 7
	sum := genSum(3, size)
	m := testMessage("known")
	m.CiphertextSize, m.CiphertextSHA256 = size, sum
	if err := s.PutMessage(ctx, m, newGen(3, size)); err != nil {
		t.Fatal(err)
	}
	var gotSize, chunks int64
	var gotSum []byte
	err := s.DB().QueryRow("SELECT ciphertext_size, ciphertext_sha256, chunk_count FROM messages WHERE id = 'known'").
		Scan(&gotSize, &gotSum, &chunks)
	if err != nil || gotSize != size || !bytes.Equal(gotSum, sum) || chunks != 3 {
		t.Fatalf("row: size %d sha %x chunks %d (%v), want %d %x 3", gotSize, gotSum, chunks, err, size, sum)
	}
	rc, err := s.OpenCiphertext(ctx, "known")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if n, err := io.Copy(h, rc); err != nil || n != size || !bytes.Equal(h.Sum(nil), sum) {
		t.Fatalf("read back %d bytes (%v) that do not match", n, err)
	}

	for _, tt := range []struct {
		name string
		size int64
		sum  []byte
	}{
		{"right size, wrong hash", size, make([]byte, 32)},
		{"wrong size, right hash", size + 1, sum},
	} {
		m := testMessage("bad")
		m.CiphertextSize, m.CiphertextSHA256 = tt.size, tt.sum
		if err := s.PutMessage(ctx, m, newGen(3, size)); err == nil {
			t.Errorf("%s: PutMessage succeeded, want an error", tt.name)
		}
		if _, err := s.GetMessage(ctx, "bad"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: GetMessage = %v, want ErrNotFound", tt.name, err)
		}
	}
}

// TestWriterConnection checks that the store's writes go through its one
// writer connection and the settings its guarantees rest on hold there too.
func TestWriterConnection(t *testing.T) {
	s := openTest(t)
	if n := s.wdb.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer handle allows %d connections, want 1", n)
	}
	var sync, fk int
	var mode string
	err := s.Write(context.Background(), func(tx *sql.Tx) error {
		if err := tx.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
			return err
		}
		if err := tx.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil {
			return err
		}
		return tx.QueryRow("PRAGMA journal_mode").Scan(&mode)
	})
	if err != nil || sync != 2 || fk != 1 || mode != "wal" {
		t.Errorf("writer connection: synchronous %d, foreign_keys %d, journal_mode %q (%v); want 2, 1, wal", sync, fk, mode, err)
	}
	before := s.wdb.Stats().OpenConnections
	for range 5 {
		if err := s.LedgerRecord(context.Background(), LedgerKey([]byte("m"), []string{"r@x.example"}), "m", "250"); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.wdb.Stats(); st.OpenConnections != 1 || before != 1 {
		t.Errorf("writer connections: %d before, %d after, want 1", before, st.OpenConnections)
	}
}
