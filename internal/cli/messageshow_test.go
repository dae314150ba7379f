package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/keys"
)

// storeForShow stores a message with the given portal settings and wrapped
// phone numbers, as the relay does, and returns its id.
func (s *lifecycleStack) storeForShow(t *testing.T, m *store.Message, phones map[string]string) string {
	t.Helper()
	ctx := context.Background()
	relay, err := keys.New(keys.Config{Address: s.vault.Addr, Token: s.creds.RelayToken, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(s.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m.Sender, m.WrapVersion, m.Wrapped = "dr@example.org", 1, []byte("spw1:placeholder")
	wrapped := map[string][]byte{}
	for rcpt, number := range phones {
		if wrapped[rcpt], err = relay.WrapData(ctx, m.ID, keys.PurposePhone, []byte(number)); err != nil {
			t.Fatal(err)
		}
	}
	err = st.PutMessage(ctx, m, strings.NewReader("age ciphertext"), func(tx *sql.Tx) error {
		for rcpt, w := range wrapped {
			if err := store.PutPhoneTx(ctx, tx, m.ID, rcpt, w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

type shownMessage struct {
	ID              string `json:"id"`
	Assurance       string `json:"assurance"`
	AssuranceLabel  string `json:"assurance_label"`
	OOBFactor       string `json:"oob_factor"`
	ReadReceipt     bool   `json:"read_receipt"`
	EnrollmentCodes string `json:"enrollment_codes"`
	EnrollmentNote  string `json:"enrollment_note"`
	RecipientStatus []struct {
		Address        string `json:"address"`
		PhoneOnFile    string `json:"phone_on_file"`
		Factor         string `json:"factor"`
		EnrollmentCode string `json:"enrollment_code"`
	} `json:"recipient_status"`
}

func show(t *testing.T, id string) (shownMessage, string, string) {
	t.Helper()
	code, stdout, stderr := run(t, "message", "show", id)
	if code != 0 {
		t.Fatalf("message show %s: exit %d\nstdout: %s\nstderr: %s", id, code, stdout, stderr)
	}
	var m shownMessage
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("message show is not JSON: %v\n%s", err, stdout)
	}
	if m.ID != id {
		t.Fatalf("message show printed %q, want %q", m.ID, id)
	}
	for _, n := range []string{"7700900123", "5550100"} {
		if strings.Contains(stdout+stderr, n) {
			t.Fatalf("message show prints a phone number:\n%s\n%s", stdout, stderr)
		}
	}
	return m, stdout, stderr
}

func TestMessageShowPortalSettings(t *testing.T) {
	s := newLifecycleStack(t)
	ctx := context.Background()
	anyID := s.storeForShow(t, &store.Message{ID: "show-any", Assurance: "oob", OOBFactor: "any", ReadReceipt: true,
		Recipients: []string{"Patient@example.net", "gp@example.com"}},
		map[string]string{"patient@example.net": "+447700900123"})
	mailboxID := s.storeForShow(t, &store.Message{ID: "show-mailbox", Assurance: "mailbox",
		Recipients: []string{"patient@example.net"}}, map[string]string{"patient@example.net": "+15555550100"})
	codeID := s.storeForShow(t, &store.Message{ID: "show-code", Assurance: "oob", OOBFactor: "code",
		Recipients: []string{"patient@example.net"}}, map[string]string{"patient@example.net": "+447700900123"})
	smsID := s.storeForShow(t, &store.Message{ID: "show-sms", Assurance: "oob", OOBFactor: "sms",
		Recipients: []string{"gp@example.com"}}, nil)

	portal, err := keys.New(keys.Config{Address: s.vault.Addr, Token: s.creds.PortalToken})
	if err != nil {
		t.Fatal(err)
	}
	gpCode, err := portal.EnrollmentCode(ctx, anyID, "gp@example.com")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("admin token", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", s.creds.AdminToken)
		m, _, stderr := show(t, anyID)
		if m.Assurance != "oob" || m.AssuranceLabel != "oob" || m.OOBFactor != "any" || !m.ReadReceipt {
			t.Errorf("settings = %+v", m)
		}
		if len(m.RecipientStatus) != 2 {
			t.Fatalf("recipient_status = %+v", m.RecipientStatus)
		}
		// The patient has a number: SMS, no code. The GP has none: the
		// code the portal also computes.
		p, g := m.RecipientStatus[0], m.RecipientStatus[1]
		if p.PhoneOnFile != "yes" || p.Factor != "sms" || p.EnrollmentCode != "" {
			t.Errorf("patient = %+v, want phone yes, sms, no code", p)
		}
		if g.PhoneOnFile != "no" || g.Factor != "code" || g.EnrollmentCode != gpCode {
			t.Errorf("gp = %+v, want phone no, code %s", g, gpCode)
		}
		if m.EnrollmentCodes != "shown" || !strings.Contains(m.EnrollmentNote, "out of band") ||
			!strings.Contains(stderr, "out of band") {
			t.Errorf("no out-of-band instruction: %q / %q / %q", m.EnrollmentCodes, m.EnrollmentNote, stderr)
		}

		m, _, _ = show(t, codeID) // factor code: a code even with a number on file
		if r := m.RecipientStatus[0]; r.PhoneOnFile != "yes" || r.Factor != "code" || !keys.EnrollmentCodesEqual(mustCode(t, portal, codeID, r.Address), r.EnrollmentCode) {
			t.Errorf("code-only recipient = %+v", r)
		}
		m, _, _ = show(t, smsID) // factor sms: never a code
		if r := m.RecipientStatus[0]; r.PhoneOnFile != "no" || r.Factor != "sms" || r.EnrollmentCode != "" || m.EnrollmentCodes != "" {
			t.Errorf("sms-only recipient = %+v (%q)", r, m.EnrollmentCodes)
		}
		m, stdout, _ := show(t, mailboxID) // lower assurance: labelled, no factor, no code
		if m.Assurance != "mailbox" || !strings.Contains(m.AssuranceLabel, "LOWER ASSURANCE") ||
			m.RecipientStatus[0].Factor != "" || m.RecipientStatus[0].PhoneOnFile != "yes" || m.EnrollmentCodes != "" {
			t.Errorf("mailbox message = %+v", m)
		}
		if strings.Contains(stdout, "enrollment_code\"") {
			t.Errorf("mailbox message shows a code:\n%s", stdout)
		}

		audit := expectRun(t, 0, nil, nil, "audit", "export")
		if n := strings.Count(audit, `"action":"enrollment-code.show"`); n != 2 {
			t.Errorf("audit export has %d enrollment-code.show entries, want 2 (any, code):\n%s", n, audit)
		}
		if strings.Contains(audit, gpCode) {
			t.Error("the audit log holds an enrollment code")
		}
	})

	t.Run("relay token is refused, the rest still shows", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", s.creds.RelayToken)
		m, _, stderr := show(t, anyID)
		if !strings.Contains(m.EnrollmentCodes, "vault refused") || !strings.Contains(stderr, "vault refused") {
			t.Errorf("enrollment_codes = %q, stderr %q; want the refusal", m.EnrollmentCodes, stderr)
		}
		if m.OOBFactor != "any" || !m.ReadReceipt || len(m.RecipientStatus) != 2 || m.RecipientStatus[0].PhoneOnFile != "yes" {
			t.Errorf("the rest is missing: %+v", m)
		}
		for _, r := range m.RecipientStatus {
			if r.EnrollmentCode != "" {
				t.Errorf("a code was shown with the relay token: %+v", r)
			}
		}
	})

	t.Run("no token", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", "")
		os.Unsetenv("VAULT_TOKEN")
		m, _, _ := show(t, anyID)
		if !strings.Contains(m.EnrollmentCodes, "set VAULT_TOKEN") || m.RecipientStatus[1].EnrollmentCode != "" {
			t.Errorf("without a token: %+v", m)
		}
	})

	t.Run("recalled", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", s.creds.AdminToken)
		expectRun(t, 0, nil, nil, "message", "recall", codeID, "--reason", "wrong patient")
		m, stdout, _ := show(t, codeID)
		if m.EnrollmentCodes != "" || m.RecipientStatus[0].EnrollmentCode != "" || !bytes.Contains([]byte(stdout), []byte(`"recalled"`)) {
			t.Errorf("recalled message = %+v\n%s", m, stdout)
		}
	})
}

func mustCode(t *testing.T, c *keys.Client, id, rcpt string) string {
	t.Helper()
	code, err := c.EnrollmentCode(context.Background(), id, rcpt)
	if err != nil {
		t.Fatal(err)
	}
	return code
}
