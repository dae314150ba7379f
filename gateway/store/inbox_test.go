package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestInbox(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	base := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	now := base.Add(24 * time.Hour)
	put := func(id string, created time.Time, retain time.Time, rcpts ...string) {
		t.Helper()
		m := testMessage(id)
		m.Created, m.RetainUntil, m.Recipients = created, retain, rcpts
		if err := s.PutMessage(ctx, m, strings.NewReader("ct-"+id)); err != nil {
			t.Fatalf("PutMessage %s: %v", id, err)
		}
	}
	put("old", base, time.Time{}, "Patient@Example.net")
	put("recalled", base.Add(time.Hour), time.Time{}, "patient@example.net")
	put("shredded", base.Add(2*time.Hour), base.Add(3*time.Hour), "patient@example.net")
	put("due", base.Add(3*time.Hour), now.Add(-time.Minute), "patient@example.net", "gp@example.com")
	put("other", base.Add(4*time.Hour), time.Time{}, "gp@example.com")
	put("new", base.Add(5*time.Hour), now.Add(time.Hour), "patient@example.net")
	if err := s.Recall(ctx, "recalled", "admin:alice", "sent in error"); err != nil {
		t.Fatal(err)
	}
	if err := s.Recall(ctx, "shredded", "expiry", "retention expired"); err != nil {
		t.Fatal(err)
	}

	got, more, err := s.Inbox(ctx, InboxQuery{Rcpt: "PATIENT@example.net", Now: now, ExpiryActor: "expiry"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"new:available", "due:expired", "shredded:expired", "recalled:recalled", "old:available"}
	var have []string
	for _, e := range got {
		have = append(have, e.ID+":"+e.State)
		if e.Sender != "clinic@example.org" || e.Created.IsZero() {
			t.Errorf("entry %s = %+v, want sender and created set", e.ID, e)
		}
	}
	if fmt.Sprint(have) != fmt.Sprint(want) || more {
		t.Errorf("Inbox = %v (more %v), want %v (more false)", have, more, want)
	}

	// Pages.
	var paged []string
	for off := 0; ; off += 2 {
		page, more, err := s.Inbox(ctx, InboxQuery{Rcpt: "patient@example.net", Now: now, ExpiryActor: "expiry", Offset: off, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("page of %d entries, limit 2", len(page))
		}
		for _, e := range page {
			paged = append(paged, e.ID+":"+e.State)
		}
		if !more {
			break
		}
	}
	if fmt.Sprint(paged) != fmt.Sprint(want) {
		t.Errorf("paged Inbox = %v, want %v", paged, want)
	}

	if got, _, err := s.Inbox(ctx, InboxQuery{Rcpt: "nobody@example.net", Now: now, ExpiryActor: "expiry"}); err != nil || len(got) != 0 {
		t.Errorf("Inbox(nobody) = %v, %v; want empty", got, err)
	}
	for _, q := range []InboxQuery{
		{Now: now, ExpiryActor: "expiry"},
		{Rcpt: "a@b", ExpiryActor: "expiry"},
		{Rcpt: "a@b", Now: now},
		{Rcpt: "a@b", Now: now, ExpiryActor: "expiry", Offset: -1},
	} {
		if _, _, err := s.Inbox(ctx, q); err == nil {
			t.Errorf("Inbox(%+v) succeeded, want an error", q)
		}
	}
}
