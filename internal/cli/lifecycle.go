package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/gateway/lifecycle"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/keys"
)

// Usage lines of the lifecycle commands, shown by `sealpost help`.
const (
	keysUsage = "keys recipient add|list|remove|import … | rotate [--audit-key] | rewrap | min-version N | versions"
	msgUsage  = "message show ID | find … | recall ID --reason TEXT | expire | decrypt ID --break-glass --reason TEXT [-o FILE]"
)

// cmdKeysLifecycle handles rotation, rewrap and the minimum version, and
// hands everything else to cmdKeys.
func cmdKeysLifecycle(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{msg: "want: " + keysUsage}
	}
	switch args[0] {
	case "rotate":
		return keysRotate(ctx, e, args[1:])
	case "rewrap":
		return keysRewrap(ctx, e, args[1:])
	case "min-version":
		return keysMinVersion(ctx, e, args[1:])
	case "versions":
		return keysVersions(ctx, e, args[1:])
	}
	return cmdKeys(ctx, e, args)
}

// cmdMessageLifecycle handles recall, expiry and break-glass, and hands
// everything else to cmdMessage.
func cmdMessageLifecycle(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "recall":
			return messageRecall(ctx, e, args[1:])
		case "expire":
			return messageExpire(ctx, e, args[1:])
		case "decrypt":
			return messageDecrypt(ctx, e, args[1:])
		}
	}
	return cmdMessage(ctx, e, args)
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("recall ID --reason X" and "recall --reason X ID").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// lifecycleEnv is what a lifecycle command works with: the config, the
// store, the audit log and, if asked for, an admin Vault client.
type lifecycleEnv struct {
	cfg   *config.Config
	store *store.Store
	mgr   *lifecycle.Manager
	keys  *keys.Client
	actor string
}

func (l *lifecycleEnv) Close() { l.store.Close() }

// openLifecycle opens the store and audit log of $SEALPOST_CONFIG and, if
// withVault, a Vault client with $VAULT_TOKEN that must carry the
// sealpost-admin policy.
func openLifecycle(ctx context.Context, e *env, withVault bool) (*lifecycleEnv, error) {
	cfg, err := loadConfig("")
	if err != nil {
		return nil, err
	}
	l := &lifecycleEnv{cfg: cfg, actor: adminActor()}
	if withVault {
		tok := os.Getenv("VAULT_TOKEN")
		if tok == "" {
			return nil, usageError{msg: "set VAULT_TOKEN to an admin token (sealpost-admin policy)"}
		}
		if l.keys, err = vaultClient(cfg, tok); err != nil {
			return nil, err
		}
	}
	if l.store, err = store.Open(cfg.Store.Path); err != nil {
		return nil, err
	}
	lg, err := audit.New(l.store.DB())
	if err != nil {
		l.store.Close()
		return nil, err
	}
	l.mgr, err = lifecycle.New(lifecycle.Deps{Store: l.store, Audit: lg, Keys: l.keys, Logger: newLogger(cfg, e.stderr)})
	if err != nil {
		l.store.Close()
		return nil, err
	}
	return l, nil
}

// requireAdmin refuses a token without the sealpost-admin (or root) policy,
// so that a relay or portal token is not used for an admin act.
func (l *lifecycleEnv) requireAdmin(ctx context.Context) error {
	pols, err := l.keys.TokenPolicies(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(pols, "sealpost-admin") && !slices.Contains(pols, "root") {
		return fmt.Errorf("VAULT_TOKEN is not an admin token (its policies: %v); use a token with the sealpost-admin policy", pols)
	}
	return nil
}

// openAdminAct starts an admin act on one thing (named what in the usage:
// ADDRESS, ID) that must give a --reason: it parses args for the command
// name, opens the lifecycle with an admin Vault client and refuses a token
// without the sealpost-admin policy. The caller closes l.
func openAdminAct(ctx context.Context, e *env, name, what string, args []string) (l *lifecycleEnv, target, reason string, err error) {
	fs := newFlags(name, e)
	r := fs.String("reason", "", "why (required; recorded in the audit log, no patient data)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, "", "", err
	}
	if len(pos) != 1 || *r == "" {
		return nil, "", "", usageError{msg: "want: " + name + " " + what + " --reason TEXT"}
	}
	if l, err = openLifecycle(ctx, e, true); err != nil {
		return nil, "", "", err
	}
	if err := l.requireAdmin(ctx); err != nil {
		l.Close()
		return nil, "", "", err
	}
	return l, pos[0], *r, nil
}

// adminActor names the person running the command in audit entries.
func adminActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return "admin:" + name
}

// explainDenied turns Vault's 403 into advice.
func explainDenied(err error, what string) error {
	if errors.Is(err, keys.ErrPermissionDenied) {
		return fmt.Errorf("vault refused %s (HTTP 403 permission denied): VAULT_TOKEN must be an admin token with the sealpost-admin policy, not the relay's or the portal's: %w", what, err)
	}
	return err
}

func keysRotate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys rotate", e)
	auditKey := fs.Bool("audit-key", false, "rotate the audit checkpoint signing key instead of the wrap key")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: "want: keys rotate [--audit-key]"}
	}
	l, err := openLifecycle(ctx, e, true)
	if err != nil {
		return err
	}
	defer l.Close()
	if *auditKey {
		v, err := l.mgr.RotateAuditKey(ctx, l.actor)
		if err != nil {
			return explainDenied(err, "the rotation")
		}
		fmt.Fprintf(e.stdout, "audit key rotated to version %d; new checkpoints are signed with it, older ones still verify\n", v)
		return nil
	}
	v, err := l.mgr.RotateWrapKey(ctx, l.actor)
	if err != nil {
		return explainDenied(err, "the rotation")
	}
	fmt.Fprintf(e.stdout, "wrap key rotated to version %d\n", v)
	fmt.Fprintf(e.stdout, "relays wrap with it once their cached key expires (5 minutes by default).\n")
	fmt.Fprintf(e.stdout, "next: `sealpost keys rewrap`, then, after %s, `sealpost keys min-version %d`\n", lifecycle.DefaultMinVersionGrace, v)
	return nil
}

func keysRewrap(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys rewrap", e)
	batch := fs.Int("batch", lifecycle.DefaultRewrapBatch, "secrets per Transit rewrap request")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: "want: keys rewrap [--batch N]"}
	}
	l, err := openLifecycle(ctx, e, true)
	if err != nil {
		return err
	}
	defer l.Close()
	p, err := l.mgr.Rewrap(ctx, lifecycle.RewrapOptions{
		Actor: l.actor, BatchSize: *batch,
		Progress: func(p lifecycle.RewrapProgress) {
			if !p.Done {
				fmt.Fprintf(e.stderr, "rewrap: %d scanned, %d rewrapped, %d failed\n", p.Scanned, p.Rewrapped, p.Failed)
			}
		},
	})
	if err != nil {
		return explainDenied(err, "the rewrap")
	}
	if p.Resumed != "" {
		fmt.Fprintf(e.stdout, "resumed after message %s\n", p.Resumed)
	}
	fmt.Fprintf(e.stdout, "rewrap to version %d done: %d scanned, %d rewrapped, %d already current, %d skipped (recalled meanwhile), %d failed\n",
		p.Target, p.Scanned, p.Rewrapped, p.Current, p.Skipped, p.Failed)
	if p.Failed > 0 {
		return fmt.Errorf("%d secret(s) could not be rewrapped; the log names them", p.Failed)
	}
	return nil
}

func keysMinVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys min-version", e)
	grace := fs.Duration("grace", lifecycle.DefaultMinVersionGrace, "refuse while the new minimum version is younger than this")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{msg: "want: keys min-version N [--grace DURATION]"}
	}
	n, err := strconv.Atoi(pos[0])
	if err != nil || n < 1 {
		return usageError{msg: "N must be a key version (1 or more)"}
	}
	l, err := openLifecycle(ctx, e, true)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := l.mgr.SetMinDecryptionVersion(ctx, l.actor, n, *grace); err != nil {
		return explainDenied(err, "the change")
	}
	fmt.Fprintf(e.stdout, "wrap key min_decryption_version is now %d: secrets wrapped under older versions no longer open, in the store or in any backup\n", n)
	return nil
}

func keysVersions(ctx context.Context, e *env, args []string) error {
	if len(args) != 0 {
		return usageError{msg: "want: keys versions"}
	}
	l, err := openLifecycle(ctx, e, true)
	if err != nil {
		return err
	}
	defer l.Close()
	kv, err := l.keys.WrapKeyVersions(ctx)
	if err != nil {
		return explainDenied(err, "reading the wrap key")
	}
	o, err := l.mgr.CountOutdated(ctx, kv.Latest, kv.MinDecryption)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrap key: latest version %d, min_decryption_version %d\n", kv.Latest, kv.MinDecryption)
	fmt.Fprintf(e.stdout, "messages below the latest version: %d; unopenable (below the minimum): %d\n", o.Below, o.Dead)
	return nil
}

func messageRecall(ctx context.Context, e *env, args []string) error {
	l, id, reason, err := openAdminAct(ctx, e, "message recall", "ID", args)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := l.mgr.Recall(ctx, id, l.actor, reason); err != nil {
		if errors.Is(err, store.ErrRecalled) {
			return fmt.Errorf("message %s was already recalled (the WAL was truncated again)", id)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "recalled %s: its wrapped secret and ciphertext are destroyed\n", id)
	fmt.Fprintln(e.stdout, "copies sealed to a recipient's own key or to an archive key still open with those keys; backups of the store are the admin's to shred")
	return nil
}

func messageExpire(ctx context.Context, e *env, args []string) error {
	if len(args) != 0 {
		return usageError{msg: "want: message expire"}
	}
	l, err := openLifecycle(ctx, e, false)
	if err != nil {
		return err
	}
	defer l.Close()
	n, err := l.mgr.ExpireDue(ctx, time.Now())
	fmt.Fprintf(e.stdout, "expired %d message(s)\n", n)
	return err
}

func messageDecrypt(ctx context.Context, e *env, args []string) error {
	fs := newFlags("message decrypt", e)
	breakGlass := fs.Bool("break-glass", false, "open the message as an administrator (audited in Sealpost and Vault)")
	reason := fs.String("reason", "", "why (required; recorded in both audit logs, no patient data)")
	out := fs.String("o", "", "write the message to this new file instead of stdout")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{msg: "want: message decrypt ID --break-glass --reason TEXT [-o FILE]"}
	}
	if !*breakGlass {
		return usageError{msg: "only --break-glass decryption exists here; recipients open messages in the portal"}
	}
	if *reason == "" {
		return usageError{msg: "--reason TEXT is required for break-glass access"}
	}
	l, err := openLifecycle(ctx, e, true)
	if err != nil {
		return err
	}
	defer l.Close()
	var w io.Writer = e.stdout
	var f *os.File
	if *out != "" {
		if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return err
		}
		w = f
	}
	err = l.mgr.BreakGlass(ctx, pos[0], l.actor, *reason, w)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(*out)
		}
	}
	if err != nil {
		if errors.Is(err, store.ErrRecalled) {
			return fmt.Errorf("message %s was recalled: its key is destroyed and nobody can open it here", pos[0])
		}
		return explainDenied(err, "break-glass access")
	}
	if f != nil {
		fmt.Fprintf(e.stderr, "wrote %s (break-glass access recorded)\n", *out)
	}
	return nil
}

// Labels of the assurance levels in `message show`.
const (
	labelOOB     = "oob"
	labelMailbox = "mailbox (LOWER ASSURANCE: the mailbox alone opens it)"
)

// enrollmentNote tells the admin what to do with the codes shown.
const enrollmentNote = "pass each enrollment code to its recipient out of band (by phone, by post or in person), " +
	"never by email: the code is what the mailbox does not hold"

// recipientStatus is one recipient's line in `message show`. It never
// holds a phone number, only whether one is on file.
type recipientStatus struct {
	Address        string `json:"address"`
	PhoneOnFile    string `json:"phone_on_file"`             // "yes" or "no"
	Factor         string `json:"factor,omitempty"`          // what the portal asks for: "sms" or "code"
	EnrollmentCode string `json:"enrollment_code,omitempty"` // recomputed with the admin token, never stored
}

// messageShow prints a stored message as JSON: its record (no content), its
// portal settings, and per recipient whether a phone number is on file and,
// when VAULT_TOKEN may compute it (Transit HMAC with the portal key), the
// enrollment code the admin passes on out of band. Computing codes is
// recorded in the audit log first. A Vault that refuses is reported, and
// the rest is still printed.
func messageShow(ctx context.Context, e *env, cfg *config.Config, st *store.Store, id string) error {
	m, err := st.GetMessage(ctx, id)
	if err != nil {
		return err
	}
	phones, err := st.PhoneRecipients(ctx, id)
	if err != nil {
		return err
	}
	oobFactor := m.OOBFactor
	if oobFactor == "" {
		oobFactor = "any"
	}
	rcpts := make([]recipientStatus, len(m.Recipients))
	var needCode []int
	for i, r := range m.Recipients {
		rs := recipientStatus{Address: r, PhoneOnFile: "no"}
		if slices.ContainsFunc(phones, func(p string) bool { return strings.EqualFold(p, r) }) {
			rs.PhoneOnFile = "yes"
		}
		if m.Assurance == "oob" && !m.Recalled() {
			rs.Factor = enrolFactor(oobFactor, rs.PhoneOnFile == "yes")
			if rs.Factor == "code" {
				needCode = append(needCode, i)
			}
		}
		rcpts[i] = rs
	}

	label := labelOOB
	if m.Assurance != "oob" {
		label = labelMailbox
	}
	out := map[string]any{
		"id": m.ID, "created": m.Created, "trace_id": m.TraceID, "sender": m.Sender, "recipients": m.Recipients,
		"assurance": m.Assurance, "assurance_label": label, "oob_factor": oobFactor, "read_receipt": m.ReadReceipt,
		"recipient_status": rcpts, "ciphertext_bytes": m.CiphertextSize, "wrap_version": m.WrapVersion,
		"decision": json.RawMessage(m.Decision),
	}
	if len(m.Decision) == 0 {
		out["decision"] = nil
	}
	if !m.RetainUntil.IsZero() {
		out["retain_until"] = m.RetainUntil
	}
	if m.Recalled() {
		out["recalled"] = map[string]any{"at": m.RecalledAt, "by": m.RecalledBy, "reason": m.RecallReason}
	}

	if len(needCode) > 0 {
		status := enrollmentCodes(ctx, cfg, st, m.ID, rcpts, needCode)
		out["enrollment_codes"] = status
		if status == "shown" {
			out["enrollment_note"] = enrollmentNote
			fmt.Fprintln(e.stderr, "Enrollment codes: "+enrollmentNote+".")
		} else {
			fmt.Fprintln(e.stderr, "Enrollment codes "+status)
		}
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// enrolFactor is what the portal asks a recipient for under factor, given
// whether the sender supplied a phone number for it.
func enrolFactor(factor string, phone bool) string {
	switch {
	case factor == "sms", factor == "any" && phone:
		return "sms"
	}
	return "code"
}

// enrollmentCodes fills in the codes of rcpts[need] with VAULT_TOKEN and
// returns "shown", or why not ("not shown: …").
func enrollmentCodes(ctx context.Context, cfg *config.Config, st *store.Store, id string, rcpts []recipientStatus, need []int) string {
	tok := os.Getenv("VAULT_TOKEN")
	if tok == "" {
		return "not shown: set VAULT_TOKEN to an admin token (sealpost-admin policy) to see them"
	}
	kc, err := vaultClient(cfg, tok)
	if err != nil {
		return "not shown: " + err.Error()
	}
	// Compute every code before recording the access, so that a refusing
	// token leaves no audit entry claiming codes were shown.
	codes := make([]string, len(need))
	for k, i := range need {
		if codes[k], err = kc.EnrollmentCode(ctx, id, rcpts[i].Address); err != nil {
			if errors.Is(err, keys.ErrPermissionDenied) {
				return "not shown: vault refused (HTTP 403 permission denied): VAULT_TOKEN needs the sealpost-admin policy"
			}
			return "not shown: " + err.Error()
		}
	}
	lg, err := audit.New(st.DB())
	if err != nil {
		return "not shown: " + err.Error()
	}
	if _, err := lg.Append(ctx, audit.Entry{
		Actor: adminActor(), Action: "enrollment-code.show", MessageID: id,
		Detail: map[string]string{"recipients": strconv.Itoa(len(need))},
	}); err != nil {
		return "not shown: failed to record the access in the audit log: " + err.Error()
	}
	for k, i := range need {
		rcpts[i].EnrollmentCode = codes[k]
	}
	return "shown"
}
