package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/store"
)

func TestAccountCommands(t *testing.T) {
	s := newLifecycleStack(t)
	ctx := context.Background()
	st, err := store.Open(s.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	const hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
	const seed = "vault:v1:SEEDCIPHERTEXT"
	const phone = "vault:v1:PHONECIPHERTEXT"
	for _, a := range []string{"low@example.net", "high@example.net"} {
		if _, err := st.EnsureAccount(ctx, a, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Enrol(ctx, "low@example.net", store.Enrolment{Level: store.LevelMailbox, Method: store.MethodPassword,
		PasswordHash: hash, TOTPSealed: seed, At: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPhone(ctx, "low@example.net", phone); err != nil {
		t.Fatal(err)
	}
	err = st.Enrol(ctx, "high@example.net", store.Enrolment{Level: store.LevelOOB, Method: store.MethodPasskey, At: now,
		Passkey: &store.Passkey{CredentialID: []byte{1}, Address: "high@example.net", Credential: []byte(`{}`), Created: now}})
	if err != nil {
		t.Fatal(err)
	}
	err = st.CreateSession(ctx, &store.Session{TokenHash: bytes.Repeat([]byte{7}, 32), Address: "low@example.net",
		Created: now, LastSeen: now, Expires: now.Add(time.Hour), Method: store.MethodPassword})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	out := expectRun(t, 0, []string{"high@example.net", "low@example.net", "mailbox (LOWER ASSURANCE)", "oob", "passkey"}, nil, "account", "list")
	out += expectRun(t, 0, []string{"level:", "mailbox (LOWER ASSURANCE)", "method:", "password", "passkeys:", "0", "enrolled:", "reset:"},
		nil, "account", "show", "LOW@example.net")
	out += expectRun(t, 0, []string{"passkeys:", "1"}, nil, "account", "show", "high@example.net")
	for _, secret := range []string{hash, "argon2id", seed, "SEEDCIPHERTEXT", phone, "PHONECIPHERTEXT"} {
		if strings.Contains(out, secret) {
			t.Fatalf("account output shows %q", secret)
		}
	}
	expectRun(t, 1, nil, []string{"no portal account"}, "account", "show", "nobody@example.net")
	expectRun(t, 2, nil, []string{"--reason"}, "account", "reset", "low@example.net")

	t.Setenv("VAULT_TOKEN", s.creds.PortalToken)
	expectRun(t, 1, nil, []string{"not an admin token"}, "account", "reset", "low@example.net", "--reason", "lost phone")
	t.Setenv("VAULT_TOKEN", s.creds.AdminToken)
	expectRun(t, 0, []string{"reset low@example.net", "out-of-band"}, nil, "account", "reset", "low@example.net", "--reason", "lost phone")
	expectRun(t, 0, []string{"not enrolled", "reset:"}, nil, "account", "show", "low@example.net")

	st, err = store.Open(s.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.Account(ctx, "low@example.net")
	if err != nil {
		t.Fatal(err)
	}
	if a.Enrolled() || !a.WasReset() || a.PasswordHash != "" || a.TOTPSealed != "" || a.PhoneSealed != "" {
		t.Fatalf("after reset %+v", a)
	}
	if _, err := st.Session(ctx, bytes.Repeat([]byte{7}, 32)); err == nil {
		t.Fatal("the session survived the reset")
	}
	lg, err := audit.New(st.DB())
	if err != nil {
		t.Fatal(err)
	}
	var exp bytes.Buffer
	if err := lg.Export(ctx, &exp, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(exp.String(), `"action":"account.reset"`) || !strings.Contains(exp.String(), `"reason":"lost phone"`) ||
		!strings.Contains(exp.String(), `"actor":"admin:`) || !strings.Contains(exp.String(), `"account":"recipient:low@example.net"`) {
		t.Fatalf("audit export lacks the reset entry:\n%s", exp.String())
	}
}
