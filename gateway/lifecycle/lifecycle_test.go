package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/lifecycle"
	"github.com/sealpost/sealpost/gateway/seal"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// env is a real Vault prepared by keys.SetupWith (with a file audit
// device), a real store with its audit log, and a lifecycle manager per
// Vault role.
type env struct {
	vault              *vaulttest.Server
	creds              keys.Credentials
	vaultAudit         string
	relay, portal      *keys.Client
	adminKeys          *keys.Client
	st                 *store.Store
	log                *audit.Log
	admin, relayM, prM *lifecycle.Manager
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := vaulttest.Start(t)
	e := &env{vault: srv, vaultAudit: filepath.Join(t.TempDir(), "vault-audit.log")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	e.creds, err = keys.SetupWith(ctx, client(t, srv, srv.RootToken), keys.SetupOptions{AuditFile: e.vaultAudit})
	if err != nil {
		t.Fatalf("vault setup: %v", err)
	}
	e.relay = client(t, srv, e.creds.RelayToken)
	e.portal = client(t, srv, e.creds.PortalToken)
	e.adminKeys = client(t, srv, e.creds.AdminToken)
	e.st, err = store.Open(filepath.Join(t.TempDir(), "sealpost.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.log, err = audit.New(e.st.DB())
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	mgr := func(kc *keys.Client) *lifecycle.Manager {
		m, err := lifecycle.New(lifecycle.Deps{Store: e.st, Audit: e.log, Keys: kc, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	e.admin, e.relayM, e.prM = mgr(e.adminKeys), mgr(e.relay), mgr(e.portal)
	return e
}

// client is a keys client with a generous per-call timeout: the machine
// running the tests is shared and Vault answers slowly under load.
func client(t *testing.T, srv *vaulttest.Server, token string) *keys.Client {
	t.Helper()
	c, err := keys.New(keys.Config{Address: srv.Addr, Token: token, CACert: srv.CACert, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sealed is one message sealed the way the relay seals it.
type sealed struct {
	id         string
	original   []byte
	ciphertext []byte // the message.eml.age a recipient's mailbox holds
}

// sealMessage does what the relay does for one sealed message: a fresh
// per-message identity, age encryption to it and to direct, the identity
// wrapped by the relay's client, and the row stored with its retention.
func sealMessage(t *testing.T, e *env, wrapper *keys.Client, retain time.Duration, direct ...age.Recipient) sealed {
	t.Helper()
	ctx := ctxT(t)
	secret, own, err := seal.NewIdentity(seal.NeedsHybrid(direct))
	if err != nil {
		t.Fatal(err)
	}
	id := seal.NewMessageID()
	original := []byte("From: dr@example.org\r\nTo: patient@example.net\r\nSubject: results " + id +
		"\r\n\r\nDear patient, your HbA1c was 48 mmol/mol. marker-" + id + "\r\n")
	var ct bytes.Buffer
	sum, size, err := seal.Encrypt(&ct, bytes.NewReader(original), append([]age.Recipient{own}, direct...))
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := wrapper.Wrap(ctx, id, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	m := &store.Message{
		ID: id, TraceID: "trace-" + id, Sender: "dr@example.org", Recipients: []string{"patient@example.net"},
		Assurance: "oob", WrapVersion: 1, Wrapped: wrapped, CiphertextSize: size, CiphertextSHA256: sum,
	}
	if retain > 0 {
		m.RetainUntil = time.Now().Add(retain)
	}
	if err := e.st.PutMessage(ctx, m, bytes.NewReader(ct.Bytes())); err != nil {
		t.Fatal(err)
	}
	return sealed{id: id, original: original, ciphertext: ct.Bytes()}
}

// openPortal opens a message the portal's way: the portal token unwraps,
// the stored ciphertext is decrypted.
func openPortal(ctx context.Context, e *env, id string) ([]byte, error) {
	var out bytes.Buffer
	err := lifecycle.Open(ctx, e.st, e.portal.Unwrap, id, &out)
	return out.Bytes(), err
}

func wrapVersion(t *testing.T, e *env, id string) int {
	t.Helper()
	m, err := e.st.GetMessage(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	w, err := keys.ParseWrapped(m.Wrapped)
	if err != nil {
		t.Fatalf("message %s: %v", id, err)
	}
	return w.KeyVersion
}

func requireDenied(t *testing.T, what string, err error) {
	t.Helper()
	var ve *keys.VaultError
	if !errors.Is(err, keys.ErrPermissionDenied) || !errors.As(err, &ve) || ve.StatusCode != http.StatusForbidden {
		t.Fatalf("%s: got %v, want Vault's 403 permission denied", what, err)
	}
}

// actions returns the audit actions recorded for message id ("" for
// entries about no message), in order.
func actions(t *testing.T, e *env, id string) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := e.log.Export(ctxT(t), &buf, 0); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		if id == "" && !strings.Contains(line, `"message_id"`) || id != "" && strings.Contains(line, `"message_id":"`+id+`"`) {
			_, rest, _ := strings.Cut(line, `"action":"`)
			a, _, _ := strings.Cut(rest, `"`)
			out = append(out, a)
		}
	}
	return out
}

// TestRotateRewrapRaiseMinimum seals under version 1, rotates, rewraps
// (interrupted and resumed from the stored cursor), raises the minimum and
// then opens the old messages the portal's way. A version-1 secret that was
// not rewrapped makes the raise refuse, and the same secret no longer opens
// once the minimum is raised: that is why the refusal matters.
func TestRotateRewrapRaiseMinimum(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	var msgs []sealed
	for range 5 {
		msgs = append(msgs, sealMessage(t, e, e.relay, 0))
	}
	recalled := sealMessage(t, e, e.relay, 0)
	if err := e.admin.Recall(ctx, recalled.id, "admin:test", "sent to the wrong practice"); err != nil {
		t.Fatal(err)
	}

	for name, m := range map[string]*lifecycle.Manager{"relay": e.relayM, "portal": e.prM} {
		_, err := m.RotateWrapKey(ctx, "admin:test")
		requireDenied(t, name+" rotates the wrap key", err)
	}
	v, err := e.admin.RotateWrapKey(ctx, "admin:test")
	if err != nil || v != 2 {
		t.Fatalf("rotate = %d, %v; want 2", v, err)
	}
	for name, m := range map[string]*lifecycle.Manager{"relay": e.relayM, "portal": e.prM} {
		// The portal may not even read the key; the relay may read it but
		// not rewrap. Both are refused by Vault, and nothing changes.
		_, err := m.Rewrap(ctx, lifecycle.RewrapOptions{})
		requireDenied(t, name+" rewrap", err)
		if c, _ := e.st.Cursor(ctx, lifecycle.RewrapCursor); c != "" {
			t.Fatalf("a refused rewrap stored cursor %q", c)
		}
	}

	// A straggler: the relay's cached public key is still version 1, as it
	// is for up to five minutes after a rotation.
	straggler := sealMessage(t, e, e.relay, 0)
	if got := wrapVersion(t, e, straggler.id); got != 1 {
		t.Fatalf("straggler wrapped under version %d, want the cached 1", got)
	}

	// Interrupt the rewrap after its first batch of two.
	ictx, stop := context.WithCancel(ctx)
	var seen []lifecycle.RewrapProgress
	_, err = e.admin.Rewrap(ictx, lifecycle.RewrapOptions{Actor: "admin:test", BatchSize: 2, Progress: func(p lifecycle.RewrapProgress) {
		seen = append(seen, p)
		stop()
	}})
	if err == nil {
		t.Fatal("the interrupted rewrap reported success")
	}
	if len(seen) != 1 || seen[0].Rewrapped != 2 || seen[0].Target != 2 {
		t.Fatalf("progress before the interruption = %+v, want one batch of 2 rewrapped to version 2", seen)
	}
	cursor, err := e.st.Cursor(ctx, lifecycle.RewrapCursor)
	if err != nil || !strings.HasPrefix(cursor, "v2:") || len(cursor) <= 3 {
		t.Fatalf("stored cursor = %q, %v; want v2:<last id>", cursor, err)
	}

	// min-version refuses while stragglers are below it, and while the new
	// version is younger than the grace period.
	err = e.admin.SetMinDecryptionVersion(ctx, "admin:test", 2, 0)
	var oe *lifecycle.OutdatedError
	if !errors.As(err, &oe) || oe.Below != 4 {
		t.Fatalf("raise with 4 messages below: %v, want an OutdatedError counting 4", err)
	}
	if err := e.admin.SetMinDecryptionVersion(ctx, "admin:test", 2, time.Hour); !errors.Is(err, lifecycle.ErrTooSoon) {
		t.Fatalf("raise within the grace period: %v, want ErrTooSoon", err)
	}

	// Resume: the second run starts after the cursor and finishes.
	var final lifecycle.RewrapProgress
	p, err := e.admin.Rewrap(ctx, lifecycle.RewrapOptions{Actor: "admin:test", BatchSize: 2, Progress: func(p lifecycle.RewrapProgress) { final = p }})
	if err != nil {
		t.Fatalf("resumed rewrap: %v", err)
	}
	if p.Resumed != cursor[3:] || !p.Done || !final.Done {
		t.Fatalf("resumed run: %+v, want it to resume after %s and finish", p, cursor[3:])
	}
	if p.Rewrapped != 4 || p.Failed != 0 || p.Rewrapped+seen[0].Rewrapped != 6 {
		t.Fatalf("resumed run rewrapped %d (failed %d); with the first run's 2 want all 6 unrecalled", p.Rewrapped, p.Failed)
	}
	if c, _ := e.st.Cursor(ctx, lifecycle.RewrapCursor); c != "" {
		t.Fatalf("cursor after a finished run = %q, want none", c)
	}
	for _, m := range append(msgs, straggler) {
		if got := wrapVersion(t, e, m.id); got != 2 {
			t.Fatalf("message %s still at version %d after the rewrap", m.id, got)
		}
	}
	if rm, err := e.st.GetMessage(ctx, recalled.id); err != nil || rm.Wrapped != nil || !rm.Recalled() {
		t.Fatalf("the recalled message was touched by the rewrap: %+v, %v", rm, err)
	}

	// A second straggler, kept aside as a backup would keep it.
	late := sealMessage(t, e, e.relay, 0)
	lateRow, err := e.st.GetMessage(ctx, late.id)
	if err != nil {
		t.Fatal(err)
	}
	backup := bytes.Clone(lateRow.Wrapped)
	if err := e.admin.SetMinDecryptionVersion(ctx, "admin:test", 2, 0); !errors.As(err, &oe) || oe.Below != 1 || oe.Example != late.id {
		t.Fatalf("raise with one straggler: %v, want a refusal naming %s", err, late.id)
	}
	if _, err := e.admin.Rewrap(ctx, lifecycle.RewrapOptions{Actor: "admin:test"}); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.SetMinDecryptionVersion(ctx, "admin:test", 2, 0); err != nil {
		t.Fatalf("raise after the rewrap: %v", err)
	}
	kv, err := e.adminKeys.WrapKeyVersions(ctx)
	if err != nil || kv.MinDecryption != 2 {
		t.Fatalf("wrap key after raising: %+v, %v", kv, err)
	}

	// Every old message opens the portal's way, to its original bytes.
	for _, m := range append(msgs, straggler, late) {
		got, err := openPortal(ctx, e, m.id)
		if err != nil {
			t.Fatalf("portal open of %s after rotation: %v", m.id, err)
		}
		if !bytes.Equal(got, m.original) {
			t.Fatalf("portal open of %s returned other bytes", m.id)
		}
	}
	// The version-1 copy no longer opens, for the portal or break-glass.
	if _, err := e.portal.Unwrap(ctx, late.id, backup); err == nil {
		t.Fatal("a version-1 wrapped secret still opens after the minimum was raised to 2")
	}
	if _, err := e.adminKeys.Unwrap(ctx, late.id, backup); err == nil {
		t.Fatal("admin opened a version-1 wrapped secret after the minimum was raised to 2")
	}

	got := actions(t, e, "")
	for _, want := range []string{lifecycle.ActionRotate, lifecycle.ActionRewrap, lifecycle.ActionMinVersion} {
		if !contains(got, want) {
			t.Errorf("audit log has %v, missing %s", got, want)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestAuditKeyRotationKeepsCheckpoints rotates the audit signing key
// between two checkpoints and verifies the chain with both.
func TestAuditKeyRotationKeepsCheckpoints(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	cpPath := filepath.Join(t.TempDir(), "audit.checkpoint")
	if _, err := e.log.Append(ctx, audit.Entry{Actor: "relay", Action: "seal", MessageID: "m1"}); err != nil {
		t.Fatal(err)
	}
	old, err := e.log.Checkpoint(ctx, e.relay, cpPath)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.admin.RotateAuditKey(ctx, "admin:test")
	if err != nil || v != 2 {
		t.Fatalf("rotate audit key: %d, %v", v, err)
	}
	// The old checkpoint, signed with version 1, still verifies.
	rep, err := e.log.Verify(ctx, e.portal, cpPath)
	if err != nil || !rep.OK() || rep.Checkpoint == nil || !strings.HasPrefix(rep.Checkpoint.Signature, "vault:v1:") {
		t.Fatalf("verify with the version-1 checkpoint after rotation: %+v, %v", rep, err)
	}
	fresh, err := e.log.Checkpoint(ctx, e.relay, cpPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(fresh.Signature, "vault:v2:") || fresh.Seq <= old.Seq {
		t.Fatalf("new checkpoint %d signed %q…; want a later one signed with version 2", fresh.Seq, fresh.Signature[:9])
	}
	if err := e.portal.Verify(ctx, old.SignedData(), old.Signature); err != nil {
		t.Fatalf("the version-1 checkpoint signature no longer verifies: %v", err)
	}
	rep, err = e.log.Verify(ctx, e.portal, cpPath)
	if err != nil || !rep.OK() {
		t.Fatalf("verify with the version-2 checkpoint: %+v, %v", rep, err)
	}
}

// TestBreakGlass opens a message as an administrator, and proves that it
// needs a reason and an admin token, is recorded in Sealpost's audit log
// and in Vault's, and cannot open a recalled message.
func TestBreakGlass(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	m := sealMessage(t, e, e.relay, 0)

	for name, mgr := range map[string]*lifecycle.Manager{"relay": e.relayM, "portal": e.prM} {
		var out bytes.Buffer
		err := mgr.BreakGlass(ctx, m.id, "admin:test", "clinical emergency", &out)
		requireDenied(t, name+" break-glass", err)
		if out.Len() != 0 {
			t.Fatalf("%s break-glass wrote %d bytes", name, out.Len())
		}
	}
	if err := e.admin.BreakGlass(ctx, m.id, "admin:test", " ", io.Discard); err == nil {
		t.Fatal("break-glass without a reason succeeded")
	}

	var out bytes.Buffer
	if err := e.admin.BreakGlass(ctx, m.id, "admin:alice", "clinical emergency", &out); err != nil {
		t.Fatalf("admin break-glass: %v", err)
	}
	if !bytes.Equal(out.Bytes(), m.original) {
		t.Fatal("break-glass returned other bytes than the original")
	}

	// Sealpost's audit log: the two refused attempts and the access.
	got := actions(t, e, m.id)
	want := []string{"break-glass", "break-glass-failed", "break-glass", "break-glass-failed", "break-glass"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit actions for the message = %v, want %v", got, want)
	}
	var exp bytes.Buffer
	if err := e.log.Export(ctx, &exp, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(exp.String(), `"actor":"admin:alice"`) || !strings.Contains(exp.String(), `"reason":"clinical emergency"`) ||
		!strings.Contains(exp.String(), `"vault_token":"token-sealpost-admin"`) {
		t.Errorf("the audit log does not name actor, reason and Vault token:\n%s", exp.String())
	}
	if strings.Contains(exp.String(), "HbA1c") {
		t.Error("the audit log holds message content")
	}

	// Vault's audit device: the break-glass record and the Transit decrypt.
	raw, err := os.ReadFile(e.vaultAudit)
	if err != nil {
		t.Fatalf("vault audit device: %v", err)
	}
	for _, path := range []string{`"path":"sealpost/data/break-glass/` + m.id + `"`, `"path":"transit/decrypt/sealpost-wrap"`} {
		if !bytes.Contains(raw, []byte(path)) {
			t.Errorf("Vault's audit log has no request with %s", path)
		}
	}

	if err := e.admin.Recall(ctx, m.id, "admin:test", "patient withdrew consent"); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.BreakGlass(ctx, m.id, "admin:alice", "clinical emergency", io.Discard); !errors.Is(err, store.ErrRecalled) {
		t.Fatalf("break-glass of a recalled message: %v, want ErrRecalled", err)
	}
}

// TestExpireDue shreds messages whose retention passed, and only those.
func TestExpireDue(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	short := sealMessage(t, e, e.relay, time.Hour)
	long := sealMessage(t, e, e.relay, 48*time.Hour)
	forever := sealMessage(t, e, e.relay, 0)

	n, err := e.admin.ExpireDue(ctx, time.Now())
	if err != nil || n != 0 {
		t.Fatalf("ExpireDue now = %d, %v; want nothing due", n, err)
	}
	n, err = e.admin.ExpireDue(ctx, time.Now().Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("ExpireDue in two hours = %d, %v; want 1", n, err)
	}
	if _, err := openPortal(ctx, e, short.id); !errors.Is(err, store.ErrRecalled) {
		t.Fatalf("portal open of the expired message: %v, want ErrRecalled", err)
	}
	for _, m := range []sealed{long, forever} {
		if _, err := openPortal(ctx, e, m.id); err != nil {
			t.Fatalf("a message not yet due was shredded: %v", err)
		}
	}
	row, err := e.st.GetMessage(ctx, short.id)
	if err != nil || row.RecalledBy != lifecycle.ActorExpiry || row.Wrapped != nil {
		t.Fatalf("expired row = %+v, %v", row, err)
	}
	if got := actions(t, e, short.id); !contains(got, lifecycle.ActionExpire) {
		t.Fatalf("audit actions for the expired message = %v, want %s", got, lifecycle.ActionExpire)
	}
	n, err = e.admin.ExpireDue(ctx, time.Now().Add(100*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("ExpireDue in 100 days = %d, %v; want the 48h message only", n, err)
	}
}
