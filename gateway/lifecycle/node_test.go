package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultpolicy "github.com/sealpost/sealpost/deploy/vault"

	"filippo.io/age"
	"github.com/emersion/go-smtp"
	vaultapi "github.com/hashicorp/vault/api"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/gateway/lifecycle"
	"github.com/sealpost/sealpost/gateway/node"
	"github.com/sealpost/sealpost/gateway/seal"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/keys"
)

// nodeEnv is a running node (relay with its scoped token, the real store)
// in front of a capture next hop, beside the env's Vault.
type nodeEnv struct {
	*env
	node    *node.Node
	capture *capture.Server
	dbPath  string
}

func startNode(t *testing.T, e *env, edit func(*config.Config)) *nodeEnv {
	t.Helper()
	dir := t.TempDir()
	cs, err := capture.Start(capture.Config{Dir: filepath.Join(dir, "outbox"), KeepInMemory: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	c := &config.Config{
		Hostname: "relay.test",
		Relay:    config.Relay{SMTPListen: "127.0.0.1:0", LMTPListen: "off"},
		Portal:   config.Portal{Listen: "127.0.0.1:0"},
		Admin:    config.Admin{Listen: "127.0.0.1:0"},
		Vault:    config.Vault{Address: e.vault.Addr, Token: e.creds.RelayToken},
		Store:    config.Store{Path: filepath.Join(dir, "sealpost.db")},
		Audit:    config.Audit{CheckpointPath: filepath.Join(dir, "audit.checkpoint")},
		NextHop:  config.NextHop{Addr: cs.Addr(), TLS: "none"},
		Spool:    config.Spool{Dir: dir},
	}
	if edit != nil {
		edit(c)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("test config does not validate: %v", err)
	}
	// The node's background jobs live as long as ctx: Close ends them.
	n, err := node.Start(context.Background(), c, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("node Close: %v", err)
		}
	})
	return &nodeEnv{env: e, node: n, capture: cs, dbPath: c.Store.Path}
}

// send relays one message through the node and returns the delivered copy.
func (ne *nodeEnv) send(t *testing.T, to, msg string) capture.Delivery {
	t.Helper()
	before := len(ne.capture.Deliveries())
	c, err := smtp.Dial(ne.node.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("dr@example.org", []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ds, err := ne.capture.WaitDeliveries(ctx, before+1)
	if err != nil {
		t.Fatalf("waiting for the delivery: %v", err)
	}
	return ds[before]
}

func phiMessage(marker string) string {
	return "From: Dr Example <dr@example.org>\r\nTo: patient@example.net\r\nSubject: [secure] your results\r\n" +
		"Message-ID: <" + seal.NewMessageID() + "@example.org>\r\n\r\nDear Ms Thistlewood,\r\nyour HbA1c was 48 mmol/mol. " + marker + "\r\n"
}

// storeFiles reads the database and its WAL as they are on disk.
func storeFiles(t *testing.T, dbPath string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-journal"} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func anyContains(files map[string][]byte, needle []byte) string {
	for name, b := range files {
		if bytes.Contains(b, needle) {
			return name
		}
	}
	return ""
}

// TestRecallEndToEnd relays a sealed message through a real node, keeps
// the delivered message.eml.age as a mailbox would, recalls the message and
// proves: the portal path and break-glass no longer open it, no other key
// does either, but a direct recipient's own key and the configured archive
// key still do (the documented limit of recall); and no copy of the
// wrapped secret or the ciphertext survives in the SQLite file or its WAL.
func TestRecallEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	direct, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	archive, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.adminKeys.AddRecipient(ctx, "patient@example.net", direct.Recipient().String()); err != nil {
		t.Fatal(err)
	}
	ne := startNode(t, e, func(c *config.Config) { c.Seal.ArchiveRecipient = archive.Recipient().String() })
	// The node's own store: the lifecycle manager works on the same one.
	mgr, err := lifecycle.New(lifecycle.Deps{Store: ne.node.Store, Audit: ne.node.Audit, Keys: e.adminKeys})
	if err != nil {
		t.Fatal(err)
	}

	marker := "recall-marker-" + seal.NewMessageID()
	d := ne.send(t, "patient@example.net", phiMessage(marker))
	if bytes.Contains(d.Data, []byte(marker)) {
		t.Fatal("the delivered copy carries the body in the clear")
	}
	var mailbox bytes.Buffer // message.eml.age as the recipient's mailbox keeps it
	if found, err := seal.ExtractSealedAttachment(bytes.NewReader(d.Data), &mailbox); err != nil || !found {
		t.Fatalf("no message.eml.age in the delivered copy: %v", err)
	}
	ms, err := ne.node.Store.FindMessages(ctx, store.Filter{})
	if err != nil || len(ms) != 1 {
		t.Fatalf("store holds %d messages, %v; want 1", len(ms), err)
	}
	id, wrapped := ms[0].ID, bytes.Clone(ms[0].Wrapped)

	open := func(ids ...age.Identity) ([]byte, error) {
		r, err := age.Decrypt(bytes.NewReader(mailbox.Bytes()), ids...)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	// Before the recall: the portal path opens the stored copy, and the
	// wrapped secret and ciphertext are in the database files.
	var viaPortal bytes.Buffer
	if err := lifecycle.Open(ctx, ne.node.Store, e.portal.Unwrap, id, &viaPortal); err != nil {
		t.Fatalf("portal open before the recall: %v", err)
	}
	if !bytes.Contains(viaPortal.Bytes(), []byte(marker)) {
		t.Fatal("the portal path opened something else")
	}
	ctSample := mailbox.Bytes()[30:70] // inside the age header: random, unique
	before := storeFiles(t, ne.dbPath)
	if anyContains(before, wrapped) == "" || anyContains(before, ctSample) == "" {
		t.Fatal("the planted wrapped secret or ciphertext is not in the store files before the recall: the scan proves nothing")
	}

	if err := mgr.Recall(ctx, id, "admin:alice", "sent to the wrong patient"); err != nil {
		t.Fatalf("recall: %v", err)
	}

	// No recoverable copy in SQLite's file (free pages included) or WAL.
	after := storeFiles(t, ne.dbPath)
	if f := anyContains(after, wrapped); f != "" {
		t.Errorf("the wrapped secret survives the recall in %s", f)
	}
	if f := anyContains(after, ctSample); f != "" {
		t.Errorf("the ciphertext survives the recall in %s", f)
	}
	// (The WAL is not empty: the audit entry of the recall was appended
	// after the store truncated it. What matters is that it holds no copy.)

	// The portal path: no wrapped secret any more.
	if err := lifecycle.Open(ctx, ne.node.Store, e.portal.Unwrap, id, io.Discard); !errors.Is(err, store.ErrRecalled) {
		t.Fatalf("portal open after the recall: %v, want ErrRecalled", err)
	}
	// Break-glass: the same.
	if err := mgr.BreakGlass(ctx, id, "admin:alice", "checking the recall", io.Discard); !errors.Is(err, store.ErrRecalled) {
		t.Fatalf("break-glass after the recall: %v, want ErrRecalled", err)
	}
	// Anyone else's key opens nothing.
	stranger, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open(stranger); err == nil {
		t.Fatal("a stranger's key opened the recalled message")
	}
	// The direct recipient and the archive key still open the mailbox copy.
	for name, k := range map[string]age.Identity{"direct recipient": direct, "archive": archive} {
		got, err := open(k)
		if err != nil || !bytes.Contains(got, []byte(marker)) {
			t.Errorf("%s key after the recall: %v (want it to still open: the documented limit)", name, err)
		}
	}

	row, err := ne.node.Store.GetMessage(ctx, id)
	if err != nil || row.RecalledBy != "admin:alice" || row.RecallReason != "sent to the wrong patient" {
		t.Fatalf("recalled row = %+v, %v", row, err)
	}
	var exp bytes.Buffer
	if err := ne.node.Audit.Export(ctx, &exp, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(exp.String(), `"actor":"admin:alice","action":"recall","message_id":"`+id+`"`) ||
		!strings.Contains(exp.String(), `"reason":"sent to the wrong patient"`) {
		t.Errorf("the audit log does not record who recalled and why:\n%s", exp.String())
	}
}

// TestNodeRetentionSweep runs a node with a policy whose retention is one
// second and a sweep every 200ms, and waits for the node to shred the
// message by itself.
func TestNodeRetentionSweep(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte(`version: 1
mode: enforce
subject_tags: ["[secure]"]
defaults:
  assurance: oob
  retention: 1s
rules:
  - name: sender-asked-to-seal
    when: { subject_tag: true }
    action: seal
default: pass
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ne := startNode(t, e, func(c *config.Config) {
		c.Policy.Path = pol
		c.Retention.SweepEvery = 200 * time.Millisecond
	})
	ne.send(t, "patient@example.net", phiMessage("retention-marker"))
	ms, err := ne.node.Store.FindMessages(ctx, store.Filter{})
	if err != nil || len(ms) != 1 || ms[0].RetainUntil.IsZero() {
		t.Fatalf("stored = %v, %v; want one message with a retention deadline", ms, err)
	}
	id := ms[0].ID
	// The job shreds the row, then appends the audit entry: wait for both.
	want := fmt.Sprintf(`"actor":"expiry","action":"expire","message_id":"%s"`, id)
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := ne.node.Store.GetMessage(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var exp bytes.Buffer
		if err := ne.node.Audit.Export(ctx, &exp, 0); err != nil {
			t.Fatal(err)
		}
		if m.Recalled() && strings.Contains(exp.String(), want) {
			if m.RecalledBy != lifecycle.ActorExpiry || m.Wrapped != nil {
				t.Fatalf("expired row = %+v", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node did not shred and record the expired message within 30s (recalled: %v); audit log:\n%s", m.Recalled(), exp.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := ne.node.Store.OpenCiphertext(ctx, id); !errors.Is(err, store.ErrRecalled) {
		t.Fatalf("ciphertext of the expired message: %v, want ErrRecalled", err)
	}
}

// rewrapPolicy is the shipped sealpost-rewrap policy (deploy/vault).
var rewrapPolicy = vaultpolicy.Policies()[vaultpolicy.Rewrap]

// TestNodeRewrap gives a node a token with only the documented rewrap
// policy, rotates the wrap key, and waits for the node to move the stored
// secret to the new version. The rewrap token cannot unwrap anything.
func TestNodeRewrap(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	root, err := vaultapi.NewClient(&vaultapi.Config{Address: e.vault.Addr})
	if err != nil {
		t.Fatal(err)
	}
	root.SetToken(e.vault.RootToken)
	if err := root.Sys().PutPolicyWithContext(ctx, "sealpost-rewrap", rewrapPolicy); err != nil {
		t.Fatal(err)
	}
	sec, err := root.Auth().Token().CreateOrphanWithContext(ctx, &vaultapi.TokenCreateRequest{
		Policies: []string{"sealpost-rewrap"}, NoDefaultPolicy: true, TTL: "1h",
	})
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "rewrap-token")
	if err := os.WriteFile(tokenFile, []byte(sec.Auth.ClientToken), 0o600); err != nil {
		t.Fatal(err)
	}
	rewrapper, err := keys.New(keys.Config{Address: e.vault.Addr, TokenFile: tokenFile})
	if err != nil {
		t.Fatal(err)
	}

	ne := startNode(t, e, func(c *config.Config) {
		c.Rewrap.TokenFile = tokenFile
		c.Rewrap.Every = 200 * time.Millisecond
	})
	ne.send(t, "patient@example.net", phiMessage("rewrap-marker"))
	ms, err := ne.node.Store.FindMessages(ctx, store.Filter{})
	if err != nil || len(ms) != 1 {
		t.Fatalf("stored = %v, %v", ms, err)
	}
	id, v1 := ms[0].ID, bytes.Clone(ms[0].Wrapped)
	if w, err := keys.ParseWrapped(v1); err != nil || w.KeyVersion != 1 {
		t.Fatalf("sealed under %+v, %v; want version 1", w, err)
	}
	_, err = rewrapper.Unwrap(ctx, id, v1)
	requireDenied(t, "rewrap token unwraps", err)

	if _, err := e.admin.RotateWrapKey(ctx, "admin:test"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := ne.node.Store.GetMessage(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		w, err := keys.ParseWrapped(m.Wrapped)
		if err != nil {
			t.Fatal(err)
		}
		if w.KeyVersion == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the node did not rewrap the stored secret within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var out bytes.Buffer
	if err := lifecycle.Open(ctx, ne.node.Store, e.portal.Unwrap, id, &out); err != nil || !bytes.Contains(out.Bytes(), []byte("rewrap-marker")) {
		t.Fatalf("portal open after the node's rewrap: %v", err)
	}
}
