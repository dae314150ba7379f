package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMessagePortalSettings(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, tt := range []struct {
		id, factor, want string
		receipt          bool
	}{
		{"m-default", "", "any", false},
		{"m-sms", "sms", "sms", true},
		{"m-code", "code", "code", false},
	} {
		m := testMessage(tt.id)
		m.OOBFactor, m.ReadReceipt = tt.factor, tt.receipt
		if err := s.PutMessage(ctx, m, strings.NewReader("ciphertext")); err != nil {
			t.Fatal(err)
		}
		if m.OOBFactor != tt.want {
			t.Errorf("%s: PutMessage left OOBFactor %q, want %q", tt.id, m.OOBFactor, tt.want)
		}
		got, err := s.GetMessage(ctx, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.OOBFactor != tt.want || got.ReadReceipt != tt.receipt {
			t.Errorf("%s: stored oob_factor %q read_receipt %v, want %q %v", tt.id, got.OOBFactor, got.ReadReceipt, tt.want, tt.receipt)
		}
	}
	// FindMessages reads the same columns.
	ms, err := s.FindMessages(ctx, Filter{})
	if err != nil || len(ms) != 3 {
		t.Fatalf("FindMessages: %d, %v", len(ms), err)
	}
	m := testMessage("m-bad")
	m.OOBFactor = "email"
	if err := s.PutMessage(ctx, m, strings.NewReader("ciphertext")); err == nil {
		t.Fatal("PutMessage accepted an unknown oob_factor")
	}
}

func putWithPhones(t *testing.T, s *Store, m *Message, phones map[string][]byte) error {
	t.Helper()
	ctx := context.Background()
	return s.PutMessage(ctx, m, strings.NewReader("ciphertext"), func(tx *sql.Tx) error {
		for rcpt, w := range phones {
			if err := PutPhoneTx(ctx, tx, m.ID, rcpt, w); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestPhones(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	m := testMessage("m1") // recipients patient@example.net, gp@example.com
	if err := putWithPhones(t, s, m, map[string][]byte{"Patient@Example.NET": []byte("spw1:wrapped-1")}); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"patient@example.net", "PATIENT@EXAMPLE.NET"} {
		got, err := s.Phone(ctx, "m1", rcpt)
		if err != nil || !bytes.Equal(got, []byte("spw1:wrapped-1")) {
			t.Errorf("Phone(%q) = %q, %v", rcpt, got, err)
		}
	}
	for _, tc := range []struct{ id, rcpt string }{{"m1", "gp@example.com"}, {"m1", "nobody@example.org"}, {"m2", "patient@example.net"}} {
		if _, err := s.Phone(ctx, tc.id, tc.rcpt); !errors.Is(err, ErrNotFound) {
			t.Errorf("Phone(%q, %q): %v, want ErrNotFound", tc.id, tc.rcpt, err)
		}
	}
	if rs, err := s.PhoneRecipients(ctx, "m1"); err != nil || len(rs) != 1 || !strings.EqualFold(rs[0], "patient@example.net") {
		t.Errorf("PhoneRecipients = %v, %v", rs, err)
	}

	// A number for someone who is not a recipient fails the whole message:
	// nothing of it is stored.
	err := putWithPhones(t, s, testMessage("m2"), map[string][]byte{"stranger@example.org": []byte("w")})
	if err == nil || !strings.Contains(err.Error(), "not a recipient") {
		t.Fatalf("phone for a stranger: %v", err)
	}
	if _, err := s.GetMessage(ctx, "m2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("message m2 stored despite the failed phone: %v", err)
	}
	// One number per recipient; an empty one is refused.
	if err := s.Write(ctx, func(tx *sql.Tx) error {
		return PutPhoneTx(ctx, tx, "m1", "patient@example.net", []byte("again"))
	}); err == nil {
		t.Error("second number for one recipient accepted")
	}
	if err := s.Write(ctx, func(tx *sql.Tx) error {
		return PutPhoneTx(ctx, tx, "m1", "gp@example.com", nil)
	}); err == nil {
		t.Error("empty wrapped number accepted")
	}

	// After a recall the number is no longer handed out.
	if err := s.Recall(ctx, "m1", "admin:test", "wrong recipient"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Phone(ctx, "m1", "patient@example.net"); !errors.Is(err, ErrRecalled) {
		t.Errorf("Phone after recall: %v, want ErrRecalled", err)
	}
	// and its wrapped blob is gone from the table (shredded with the key).
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM message_phones WHERE message_id = 'm1'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d phone rows left after recall, want 0", n)
	}
}

func TestRecordViewAndReceipt(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.PutMessage(ctx, testMessage("m1"), strings.NewReader("ciphertext")); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 5, 10, 0, 0, 0, time.UTC)

	if v, err := s.View(ctx, "m1", "patient@example.net"); err != nil || !v.FirstView.IsZero() {
		t.Fatalf("View before any view = %+v, %v", v, err)
	}
	if err := s.MarkReceipt(ctx, "m1", "patient@example.net", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("MarkReceipt before a view: %v, want ErrNotFound", err)
	}
	if _, err := s.RecordView(ctx, "m1", "stranger@example.org", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RecordView by a stranger: %v, want ErrNotFound", err)
	}
	if _, err := s.RecordView(ctx, "nope", "patient@example.net", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RecordView of an unknown message: %v, want ErrNotFound", err)
	}
	if _, err := s.RecordView(ctx, "m1", "patient@example.net", time.Time{}); err == nil {
		t.Fatal("RecordView accepted a zero time")
	}

	first, err := s.RecordView(ctx, "m1", "Patient@Example.net", t0)
	if err != nil || !first {
		t.Fatalf("first RecordView = %v, %v; want true", first, err)
	}
	first, err = s.RecordView(ctx, "m1", "patient@example.net", t0.Add(time.Hour))
	if err != nil || first {
		t.Fatalf("second RecordView = %v, %v; want false", first, err)
	}
	if err := s.MarkReceipt(ctx, "m1", "PATIENT@example.net", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkReceipt(ctx, "m1", "patient@example.net", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	v, err := s.View(ctx, "m1", "patient@example.net")
	if err != nil || !v.FirstView.Equal(t0) || !v.ReceiptAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("View = %+v, %v; want the first view and the first receipt time", v, err)
	}

	// Concurrent first views of the other recipient: exactly one is first.
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := s.RecordView(ctx, "m1", "gp@example.com", t0.Add(time.Duration(i)*time.Second))
			if err != nil {
				t.Error(err)
				return
			}
			if f {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Fatalf("%d concurrent views reported first, want exactly 1", firsts)
	}
}

func TestIsRecipient(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.PutMessage(ctx, testMessage("m1"), strings.NewReader("ciphertext")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, addr string
		want     bool
	}{
		{"m1", "patient@example.net", true},
		{"m1", "PATIENT@EXAMPLE.NET", true},
		{"m1", "GP@example.com", true},
		{"m1", "patient@example.ne", false},
		{"m1", "", false},
		{"m2", "patient@example.net", false},
		{"", "patient@example.net", false},
	} {
		got, err := s.IsRecipient(ctx, tc.id, tc.addr)
		if err != nil || got != tc.want {
			t.Errorf("IsRecipient(%q, %q) = %v, %v; want %v", tc.id, tc.addr, got, err, tc.want)
		}
	}
}
