package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
)

func TestWrappedAfterPagesUnrecalled(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for i := range 7 {
		id := fmt.Sprintf("m%02d", i)
		if err := s.PutMessage(ctx, testMessage(id), strings.NewReader("ct")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Recall(ctx, "m03", "admin:test", "wrong patient"); err != nil {
		t.Fatal(err)
	}
	var got []string
	after := ""
	pages := 0
	for {
		page, err := s.WrappedAfter(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages++
		if len(page) > 2 {
			t.Fatalf("page of %d, limit 2", len(page))
		}
		for _, w := range page {
			if !bytes.Equal(w.Wrapped, []byte("wrapped-secret-"+w.ID)) {
				t.Errorf("%s: wrapped %q", w.ID, w.Wrapped)
			}
			got = append(got, w.ID)
		}
		after = page[len(page)-1].ID
	}
	want := "m00,m01,m02,m04,m05,m06"
	if strings.Join(got, ",") != want || pages != 3 {
		t.Fatalf("walked %v in %d pages, want %s in 3 (the recalled m03 skipped)", got, pages, want)
	}
}

func TestReplaceWrapped(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := s.PutMessage(ctx, testMessage(id), strings.NewReader("ct")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Recall(ctx, "b", "admin:test", "recalled while rewrapping"); err != nil {
		t.Fatal(err)
	}
	oldSecret := []byte("wrapped-secret-a")
	replaced, skipped, err := s.ReplaceWrapped(ctx, []WrappedUpdate{
		{ID: "a", Old: oldSecret, New: []byte("rewrapped-a")},
		{ID: "b", Old: []byte("wrapped-secret-b"), New: []byte("rewrapped-b")},       // recalled meanwhile
		{ID: "c", Old: []byte("stale"), New: []byte("rewrapped-c")},                  // changed meanwhile
		{ID: "missing", Old: []byte("wrapped-secret-x"), New: []byte("rewrapped-x")}, // gone
	})
	if err != nil || replaced != 1 || skipped != 3 {
		t.Fatalf("ReplaceWrapped = %d replaced, %d skipped, %v; want 1 and 3", replaced, skipped, err)
	}
	for id, want := range map[string]string{"a": "rewrapped-a", "c": "wrapped-secret-c"} {
		m, err := s.GetMessage(ctx, id)
		if err != nil || string(m.Wrapped) != want {
			t.Errorf("%s: wrapped %q, %v; want %q", id, m.Wrapped, err, want)
		}
	}
	if m, err := s.GetMessage(ctx, "b"); err != nil || m.Wrapped != nil || !m.Recalled() {
		t.Errorf("the recalled message got a secret back: %+v, %v", m, err)
	}
	// secure_delete: the replaced secret's bytes are gone from the files
	// once the WAL is checkpointed.
	if err := s.truncateWAL(ctx); err != nil {
		t.Fatal(err)
	}
	if hits := filesContaining(t, s.Path(), oldSecret); len(hits) > 0 {
		t.Errorf("the replaced secret survives in %v", hits)
	}
	for _, bad := range [][]WrappedUpdate{
		{{ID: "", Old: []byte("x"), New: []byte("y")}},
		{{ID: "a", Old: nil, New: []byte("y")}},
		{{ID: "a", Old: []byte("x"), New: nil}},
		{{ID: "a", Old: []byte("x"), New: []byte("x")}},
	} {
		if _, _, err := s.ReplaceWrapped(ctx, bad); err == nil {
			t.Errorf("ReplaceWrapped(%+v) accepted", bad)
		}
	}
}

func TestCursor(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if v, err := s.Cursor(ctx, "rewrap"); err != nil || v != "" {
		t.Fatalf("cursor of a new store = %q, %v", v, err)
	}
	want := "v2:" + rand.Text()
	if err := s.SetCursor(ctx, "rewrap", want); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(ctx, "other", "x"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Cursor(ctx, "rewrap"); err != nil || v != want {
		t.Fatalf("cursor = %q, %v; want %q", v, err, want)
	}
	// It persists across a reopen.
	p := s.Path()
	s.Close()
	s2, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if v, err := s2.Cursor(ctx, "rewrap"); err != nil || v != want {
		t.Fatalf("cursor after reopen = %q, %v; want %q", v, err, want)
	}
	if err := s2.SetCursor(ctx, "rewrap", ""); err != nil {
		t.Fatal(err)
	}
	if v, err := s2.Cursor(ctx, "rewrap"); err != nil || v != "" {
		t.Fatalf("cleared cursor = %q, %v", v, err)
	}
	if v, err := s2.Cursor(ctx, "other"); err != nil || v != "x" {
		t.Fatalf("other cursor = %q, %v", v, err)
	}
	if err := s2.SetCursor(ctx, "", "x"); err == nil {
		t.Fatal("SetCursor accepted an empty name")
	}
}
