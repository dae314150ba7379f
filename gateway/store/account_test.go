package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func ctxTest(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestAccountLifecycle(t *testing.T) {
	s := openTest(t)
	ctx := ctxTest(t)
	if _, err := s.Account(ctx, "a@example.net"); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("missing account: %v", err)
	}
	a, err := s.EnsureAccount(ctx, " A@Example.NET ", t0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Address != "a@example.net" || len(a.UserHandle) != 32 || a.Enrolled() || a.WasReset() || !a.Created.Equal(t0) {
		t.Fatalf("new account %+v", a)
	}
	again, err := s.EnsureAccount(ctx, "a@EXAMPLE.net", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.UserHandle, a.UserHandle) || !again.Created.Equal(t0) {
		t.Fatal("EnsureAccount replaced an existing account")
	}
	b, _ := s.EnsureAccount(ctx, "b@example.net", t0)
	if bytes.Equal(a.UserHandle, b.UserHandle) {
		t.Fatal("two accounts share a user handle")
	}
	for _, bad := range []string{"", "no-at", "two@@x", "ctl\x01@x", string(make([]byte, 300)) + "@x"} {
		if _, err := s.EnsureAccount(ctx, bad, t0); err == nil {
			t.Errorf("EnsureAccount(%q) succeeded", bad)
		}
	}

	// Enrol with a password.
	err = s.Enrol(ctx, "a@example.net", Enrolment{Level: LevelMailbox, Method: MethodPassword,
		PasswordHash: "$argon2id$x", TOTPSealed: "vault:v1:seed", TOTPStep: 100, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	a, _ = s.Account(ctx, "a@example.net")
	if a.Level != LevelMailbox || a.Method != MethodPassword || a.PasswordHash != "$argon2id$x" ||
		a.TOTPSealed != "vault:v1:seed" || a.TOTPLastStep != 100 || !a.EnrolledAt.Equal(t0) {
		t.Fatalf("enrolled account %+v", a)
	}
	for _, bad := range []Enrolment{
		{Level: "", Method: MethodPassword, PasswordHash: "h", TOTPSealed: "s", At: t0},
		{Level: LevelOOB, Method: MethodPassword, PasswordHash: "h", At: t0},
		{Level: LevelOOB, Method: MethodPasskey, At: t0},
		{Level: LevelOOB, Method: "sms", At: t0},
		{Level: LevelOOB, Method: MethodPassword, PasswordHash: "h", TOTPSealed: "s"},
	} {
		if err := s.Enrol(ctx, "a@example.net", bad); err == nil {
			t.Errorf("Enrol(%+v) succeeded", bad)
		}
	}
	if err := s.Enrol(ctx, "nobody@example.net", Enrolment{Level: LevelOOB, Method: MethodPassword,
		PasswordHash: "h", TOTPSealed: "s", At: t0}); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("Enrol without account: %v", err)
	}

	// TOTP steps: only later steps, once.
	for _, c := range []struct {
		step int64
		want bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}} {
		ok, err := s.UseTOTPStep(ctx, "a@example.net", c.step)
		if err != nil || ok != c.want {
			t.Fatalf("UseTOTPStep(%d) = %v, %v; want %v", c.step, ok, err, c.want)
		}
	}

	// Step up.
	if err := s.StepUp(ctx, "a@example.net"); err != nil {
		t.Fatal(err)
	}
	if err := s.StepUp(ctx, "b@example.net"); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("StepUp of an account not enrolled: %v", err)
	}
	a, _ = s.Account(ctx, "a@example.net")
	if a.Level != LevelOOB {
		t.Fatalf("level after step-up %q", a.Level)
	}

	// Sessions, phone, then a reset clears them all.
	if err := s.SetPhone(ctx, "a@example.net", "vault:v1:phone"); err != nil {
		t.Fatal(err)
	}
	sess := &Session{TokenHash: hashOf("tok"), Address: "A@example.net", Created: t0, LastSeen: t0, Expires: t0.Add(8 * time.Hour), Method: MethodPassword}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	reset := t0.Add(time.Hour)
	if err := s.ResetAccount(ctx, "a@example.net", reset); err != nil {
		t.Fatal(err)
	}
	a, _ = s.Account(ctx, "a@example.net")
	if a.Level != "" || a.Method != "" || a.PasswordHash != "" || a.TOTPSealed != "" || a.PhoneSealed != "" ||
		a.TOTPLastStep != 0 || !a.ResetAt.Equal(reset) || !a.WasReset() || a.Enrolled() {
		t.Fatalf("after reset %+v", a)
	}
	if _, err := s.Session(ctx, hashOf("tok")); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session after reset: %v", err)
	}
	if err := s.ResetAccount(ctx, "nobody@example.net", reset); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("reset of a missing account: %v", err)
	}

	list, err := s.ListAccounts(ctx)
	if err != nil || len(list) != 2 || list[0].Address != "a@example.net" || list[1].Address != "b@example.net" {
		t.Fatalf("ListAccounts = %v, %v", list, err)
	}
}

func TestPasskeys(t *testing.T) {
	s := openTest(t)
	ctx := ctxTest(t)
	s.EnsureAccount(ctx, "p@example.net", t0)
	pk := &Passkey{CredentialID: []byte{1, 2, 3}, Address: "p@example.net", Credential: []byte(`{"id":"AQID"}`), Created: t0}
	if err := s.Enrol(ctx, "P@example.net", Enrolment{Level: LevelOOB, Method: MethodPasskey, Passkey: pk, At: t0}); err != nil {
		t.Fatal(err)
	}
	second := &Passkey{CredentialID: []byte{4}, Address: "p@example.net", Credential: []byte(`{}`), Created: t0.Add(time.Second)}
	if err := s.AddPasskey(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPasskey(ctx, second); !errors.Is(err, ErrPasskeyExists) {
		t.Fatalf("duplicate credential id: %v", err)
	}
	list, err := s.Passkeys(ctx, "p@example.net")
	if err != nil || len(list) != 2 || !bytes.Equal(list[0].CredentialID, []byte{1, 2, 3}) {
		t.Fatalf("Passkeys = %v, %v", list, err)
	}
	used := t0.Add(time.Hour)
	if err := s.UpdatePasskey(ctx, []byte{1, 2, 3}, []byte(`{"n":2}`), used); err != nil {
		t.Fatal(err)
	}
	got, err := s.PasskeyByID(ctx, []byte{1, 2, 3})
	if err != nil || string(got.Credential) != `{"n":2}` || !got.LastUsed.Equal(used) || got.Address != "p@example.net" {
		t.Fatalf("PasskeyByID = %+v, %v", got, err)
	}
	if _, err := s.PasskeyByID(ctx, []byte{9}); !errors.Is(err, ErrNoPasskey) {
		t.Fatalf("missing passkey: %v", err)
	}
	if err := s.UpdatePasskey(ctx, []byte{9}, []byte(`{}`), used); !errors.Is(err, ErrNoPasskey) {
		t.Fatalf("update of a missing passkey: %v", err)
	}
	// Enrolling again (with Replace) replaces the passkeys; a reset removes them.
	if err := s.Enrol(ctx, "p@example.net", Enrolment{Level: LevelOOB, Method: MethodPassword, PasswordHash: "h", TOTPSealed: "s", At: t0, Replace: true}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Passkeys(ctx, "p@example.net"); len(list) != 0 {
		t.Fatalf("%d passkeys after a password enrolment", len(list))
	}
	s.AddPasskey(ctx, second)
	s.ResetAccount(ctx, "p@example.net", t0)
	if list, _ := s.Passkeys(ctx, "p@example.net"); len(list) != 0 {
		t.Fatalf("%d passkeys after a reset", len(list))
	}
}

func TestCodes(t *testing.T) {
	s := openTest(t)
	ctx := ctxTest(t)
	mk := func(code string) string {
		t.Helper()
		id, err := s.CreateCode(ctx, Code{Address: "c@example.net", Purpose: CodeMailbox, MessageID: "m1", Created: t0, Expires: t0.Add(10 * time.Minute)}, code)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	id := mk("12345678")
	check := func(id, addr, purpose, code string, at time.Time, want CodeCheck) {
		t.Helper()
		got, err := s.CheckCode(ctx, id, addr, purpose, code, at)
		if err != nil || got != want {
			t.Fatalf("CheckCode(%q, %q, %q, %q) = %v, %v; want %v", id, addr, purpose, code, got, err, want)
		}
	}
	check(id, "c@example.net", CodeMailbox, "87654321", t0, CodeWrong)
	check(id, "other@example.net", CodeMailbox, "12345678", t0, CodeWrong)
	check(id, "c@example.net", CodeSMS, "12345678", t0, CodeWrong)
	check("no-such-id", "c@example.net", CodeMailbox, "12345678", t0, CodeWrong)
	check(id, "C@Example.net", CodeMailbox, "12345678", t0, CodeOK)
	check(id, "c@example.net", CodeMailbox, "12345678", t0, CodeUsed)

	// The stored hash is neither the code nor its bare SHA-256.
	var stored []byte
	s.db.QueryRow("SELECT code_hash FROM codes WHERE id = ?", id).Scan(&stored)
	if bytes.Contains(stored, []byte("12345678")) || bytes.Equal(stored, hashOf("12345678")) {
		t.Fatal("the code is stored in a guessable form")
	}

	// Expiry.
	id2 := mk("11112222")
	check(id2, "c@example.net", CodeMailbox, "11112222", t0.Add(10*time.Minute), CodeExpired)

	// Attempts: MaxCodeAttempts wrong guesses kill the code.
	id3 := mk("33334444")
	for i := 1; i < MaxCodeAttempts; i++ {
		check(id3, "c@example.net", CodeMailbox, "00000000", t0, CodeWrong)
	}
	check(id3, "c@example.net", CodeMailbox, "00000000", t0, CodeTooMany)
	check(id3, "c@example.net", CodeMailbox, "33334444", t0, CodeTooMany)

	if n, err := s.CodesSince(ctx, "C@example.net", t0); err != nil || n != 3 {
		t.Fatalf("CodesSince = %d, %v", n, err)
	}
	if n, _ := s.CodesSince(ctx, "c@example.net", t0.Add(time.Second)); n != 0 {
		t.Fatalf("CodesSince later = %d", n)
	}
	if _, err := s.CreateCode(ctx, Code{Address: "c@example.net", Purpose: "voice", Created: t0, Expires: t0.Add(time.Minute)}, "1"); err == nil {
		t.Fatal("a code with an unknown purpose was created")
	}

	// Two concurrent right guesses: only one wins.
	id4 := mk("55556666")
	var wg sync.WaitGroup
	results := make(chan CodeCheck, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := s.CheckCode(ctx, id4, "c@example.net", CodeMailbox, "55556666", t0)
			results <- r
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for r := range results {
		if r == CodeOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent checks of one code succeeded", ok)
	}
}

func TestLockoutSchedule(t *testing.T) {
	want := map[int]time.Duration{1: 0, 4: 0, 5: 15 * time.Minute, 6: 30 * time.Minute, 7: time.Hour, 11: 16 * time.Hour, 12: 24 * time.Hour, 100: 24 * time.Hour}
	for n, d := range want {
		if got := LockoutFor(n); got != d {
			t.Errorf("LockoutFor(%d) = %v, want %v", n, got, d)
		}
	}
	s := openTest(t)
	ctx := ctxTest(t)
	s.EnsureAccount(ctx, "l@example.net", t0)
	for i := 1; i <= 5; i++ {
		until, err := s.RecordFailure(ctx, "l@example.net", t0)
		if err != nil {
			t.Fatal(err)
		}
		if (i < 5) != until.IsZero() {
			t.Fatalf("failure %d: locked until %v", i, until)
		}
	}
	a, _ := s.Account(ctx, "l@example.net")
	if !a.Locked(t0) || a.Locked(t0.Add(15*time.Minute)) || a.Failures != 5 {
		t.Fatalf("after 5 failures %+v", a)
	}
	if err := s.RecordSuccess(ctx, "l@example.net"); err != nil {
		t.Fatal(err)
	}
	a, _ = s.Account(ctx, "l@example.net")
	if a.Failures != 0 || a.Locked(t0) {
		t.Fatalf("after success %+v", a)
	}
	if _, err := s.RecordFailure(ctx, "nobody@example.net", t0); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("failure of a missing account: %v", err)
	}
}

func TestFlowsAndSessions(t *testing.T) {
	s := openTest(t)
	ctx := ctxTest(t)
	f := &Flow{TokenHash: hashOf("f"), Created: t0, Expires: t0.Add(30 * time.Minute), State: []byte(`{"v":1}`)}
	if err := s.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := s.Flow(ctx, hashOf("f"), t0.Add(time.Minute))
	if err != nil || string(got.State) != `{"v":1}` {
		t.Fatalf("Flow = %+v, %v", got, err)
	}
	if _, err := s.Flow(ctx, hashOf("f"), t0.Add(30*time.Minute)); !errors.Is(err, ErrNoFlow) {
		t.Fatalf("expired flow: %v", err)
	}
	if err := s.UpdateFlow(ctx, hashOf("f"), []byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Flow(ctx, hashOf("f"), t0)
	if string(got.State) != `{"v":2}` {
		t.Fatalf("updated state %s", got.State)
	}
	if err := s.UpdateFlow(ctx, hashOf("nope"), []byte(`{}`)); !errors.Is(err, ErrNoFlow) {
		t.Fatalf("update of a missing flow: %v", err)
	}
	if err := s.CreateFlow(ctx, &Flow{TokenHash: []byte("short"), Created: t0, Expires: t0, State: []byte("x")}); err == nil {
		t.Fatal("a flow with a short token hash was created")
	}
	s.DeleteFlow(ctx, hashOf("f"))
	if _, err := s.Flow(ctx, hashOf("f"), t0); !errors.Is(err, ErrNoFlow) {
		t.Fatalf("deleted flow: %v", err)
	}

	s.EnsureAccount(ctx, "s@example.net", t0)
	for _, tok := range []string{"s1", "s2", "s3"} {
		err := s.CreateSession(ctx, &Session{TokenHash: hashOf(tok), Address: "s@example.net", Created: t0, LastSeen: t0, Expires: t0.Add(8 * time.Hour), Method: MethodPasskey})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, &Session{TokenHash: hashOf("x"), Address: "none@example.net", Created: t0, LastSeen: t0, Expires: t0}); err == nil {
		t.Fatal("a session for a missing account was created")
	}
	if err := s.TouchSession(ctx, hashOf("s1"), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	sess, err := s.Session(ctx, hashOf("s1"))
	if err != nil || !sess.LastSeen.Equal(t0.Add(time.Minute)) || sess.Address != "s@example.net" || sess.Method != MethodPasskey {
		t.Fatalf("Session = %+v, %v", sess, err)
	}
	s.DeleteSession(ctx, hashOf("s1"))
	if _, err := s.Session(ctx, hashOf("s1")); !errors.Is(err, ErrNoSession) {
		t.Fatalf("deleted session: %v", err)
	}
	if n, err := s.DeleteSessions(ctx, "S@example.net"); err != nil || n != 2 {
		t.Fatalf("DeleteSessions = %d, %v", n, err)
	}
}

func TestPurgeAuth(t *testing.T) {
	s := openTest(t)
	ctx := ctxTest(t)
	s.EnsureAccount(ctx, "u@example.net", t0)
	s.CreateFlow(ctx, &Flow{TokenHash: hashOf("old"), Created: t0, Expires: t0.Add(time.Minute), State: []byte("x")})
	s.CreateFlow(ctx, &Flow{TokenHash: hashOf("new"), Created: t0, Expires: t0.Add(time.Hour), State: []byte("x")})
	mkSess := func(tok string, seen, expires time.Time) {
		s.CreateSession(ctx, &Session{TokenHash: hashOf(tok), Address: "u@example.net", Created: t0, LastSeen: seen, Expires: expires, Method: MethodPassword})
	}
	now := t0.Add(30 * time.Minute)
	mkSess("idle", t0, t0.Add(8*time.Hour))                     // idle 30 min > 15
	mkSess("done", now.Add(-time.Minute), now)                  // absolute expiry reached
	mkSess("live", now.Add(-time.Minute), now.Add(7*time.Hour)) // live
	s.CreateCode(ctx, Code{Address: "u@example.net", Purpose: CodeSMS, Created: t0.Add(-48 * time.Hour), Expires: t0.Add(-47 * time.Hour)}, "1")
	s.CreateCode(ctx, Code{Address: "u@example.net", Purpose: CodeSMS, Created: t0, Expires: t0.Add(10 * time.Minute)}, "1")
	n, err := s.PurgeAuth(ctx, now, 15*time.Minute)
	if err != nil || n != 4 {
		t.Fatalf("PurgeAuth = %d, %v; want 4 (a flow, two sessions, a code)", n, err)
	}
	if _, err := s.Session(ctx, hashOf("live")); err != nil {
		t.Fatal("the live session was purged")
	}
	if _, err := s.Flow(ctx, hashOf("new"), now); err != nil {
		t.Fatal("the live flow was purged")
	}
	if c, _ := s.CodesSince(ctx, "u@example.net", t0.Add(-time.Hour)); c != 1 {
		t.Fatalf("%d recent codes left, want 1", c)
	}
}

// FuzzNormalizeAddress: an accepted address is lower case, trimmed, holds
// one @ and no control character, and normalises to itself.
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{"a@b", " A@B.example ", "no-at", "a@@b", "ctl\x00@x", "Ünï@cödé.example", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := NormalizeAddress(s)
		if err != nil {
			return
		}
		if a != strings.ToLower(a) || a != strings.TrimSpace(a) || strings.Count(a, "@") != 1 || len(a) > maxAddressLen {
			t.Fatalf("NormalizeAddress(%q) = %q", s, a)
		}
		if again, err := NormalizeAddress(a); err != nil || again != a {
			t.Fatalf("NormalizeAddress is not idempotent on %q: %q, %v", a, again, err)
		}
	})
}

// TestEnrolRefused: an enrolment never silently overwrites an enrolled
// account (a flow begun before the owner enrolled must not replace their
// authenticator), and a reset account enrols only at LevelOOB.
func TestEnrolRefused(t *testing.T) {
	s := openTest(t)
	ctx := ctxTest(t)
	s.EnsureAccount(ctx, "v@example.net", t0)
	pk := func(id byte) *Passkey {
		return &Passkey{CredentialID: []byte{id}, Address: "v@example.net", Credential: []byte(`{}`), Created: t0}
	}
	if err := s.Enrol(ctx, "v@example.net", Enrolment{Level: LevelOOB, Method: MethodPasskey, Passkey: pk(1), At: t0}); err != nil {
		t.Fatal(err)
	}
	// A second, mailbox-level enrolment (a mailbox thief's older flow) is refused.
	err := s.Enrol(ctx, "V@example.net", Enrolment{Level: LevelMailbox, Method: MethodPassword, PasswordHash: "h", TOTPSealed: "s", At: t0})
	if !errors.Is(err, ErrEnrolRefused) {
		t.Fatalf("enrolment over an enrolled account: %v", err)
	}
	a, _ := s.Account(ctx, "v@example.net")
	if list, _ := s.Passkeys(ctx, "v@example.net"); a.Level != LevelOOB || a.Method != MethodPasskey || a.PasswordHash != "" || len(list) != 1 {
		t.Fatalf("account changed by a refused enrolment: %+v, %d passkeys", a, len(list))
	}
	// After a reset, only an out-of-band enrolment is accepted.
	if err := s.ResetAccount(ctx, "v@example.net", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	err = s.Enrol(ctx, "v@example.net", Enrolment{Level: LevelMailbox, Method: MethodPasskey, Passkey: pk(2), At: t0.Add(2 * time.Hour)})
	if !errors.Is(err, ErrEnrolRefused) {
		t.Fatalf("mailbox-level enrolment after a reset: %v", err)
	}
	if a, _ := s.Account(ctx, "v@example.net"); a.Enrolled() {
		t.Fatalf("reset account enrolled by a refused enrolment: %+v", a)
	}
	if err := s.Enrol(ctx, "v@example.net", Enrolment{Level: LevelOOB, Method: MethodPasskey, Passkey: pk(3), At: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatalf("out-of-band enrolment after a reset: %v", err)
	}
}
