package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/config"
	"github.com/sealpost/sealpost/gateway/node"
	"github.com/sealpost/sealpost/gateway/seal"
	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/internal/devstack"
	"github.com/sealpost/sealpost/keys"
	"github.com/sealpost/sealpost/policy"
)

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags("serve", e)
	path := fs.String("config", "", "config file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: "unexpected argument " + fs.Arg(0)}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.stderr)
	kc, err := vaultClient(cfg, "")
	if err != nil {
		return err
	}
	if root, err := kc.IsRootToken(ctx); err != nil {
		return fmt.Errorf("failed to look up the Vault token: %w", err)
	} else if root {
		return errors.New("refusing to run with a Vault root token: give the relay its scoped sealpost-relay token (see `sealpost vault setup`)")
	}
	n, err := node.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	return n.Close()
}

func cmdDev(ctx context.Context, e *env, args []string) error {
	var o devstack.Options
	fs := newFlags("dev", e)
	fs.StringVar(&o.Var, "var", "var", "state directory")
	fs.StringVar(&o.SMTP, "smtp", "127.0.0.1:2525", "relay SMTP listen address")
	fs.StringVar(&o.LMTP, "lmtp", "127.0.0.1:2424", "relay LMTP listen address")
	fs.StringVar(&o.Portal, "portal", "127.0.0.1:8080", "portal listen address")
	fs.StringVar(&o.PortalURL, "portal-url", "", "portal URL in notices (default http://localhost:<portal port>; WebAuthn refuses IP addresses)")
	fs.StringVar(&o.Admin, "admin", "127.0.0.1:9090", "admin listen address (healthz, readyz, metrics)")
	fs.StringVar(&o.Vault, "vault", "127.0.0.1:8200", "Vault listen address")
	fs.StringVar(&o.Capture, "capture", "127.0.0.1:2526", "capture next hop listen address")
	fs.StringVar(&o.PolicyFile, "policy", "", "policy file (default: the built-in policy)")
	fs.StringVar(&o.DemoRcpt, "demo-recipient", "patient@example.net", "address registered with a demo age key")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := &config.Config{}
	cfg.Log.Level, cfg.Log.Format = "info", "text"
	return devstack.Run(ctx, o, e.stdout, newLogger(cfg, e.stderr))
}

func cmdConfig(_ context.Context, e *env, args []string) error {
	if len(args) != 2 || args[0] != "check" {
		return usageError{msg: "want: config check FILE"}
	}
	if _, err := config.Load(args[1]); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "ok:", args[1])
	return nil
}

func cmdPolicy(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "test" {
		return cmdPolicyTest(ctx, e, args[1:])
	}
	if len(args) != 2 || args[0] != "lint" {
		return usageError{msg: "want: policy lint FILE, or policy test [--policy FILE] [--json] PATH..."}
	}
	// Lint with the classifier's detectors, as the relay loads the file.
	if _, err := policy.Load(args[1], classifierOption()); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "ok:", args[1])
	return nil
}

// vaultClient connects to Vault with the config's address (or VAULT_ADDR)
// and the given token, the config's token, or VAULT_TOKEN.
func vaultClient(cfg *config.Config, token string) (*keys.Client, error) {
	kc := keys.Config{Address: os.Getenv("VAULT_ADDR"), Token: token}
	if cfg != nil {
		kc = keys.Config{
			Address: cfg.Vault.Address, CACert: cfg.Vault.CACert, TransitMount: cfg.Vault.TransitMount,
			WrapKey: cfg.Vault.WrapKey, AuditKey: cfg.Vault.AuditKey, PortalKey: cfg.Vault.PortalKey, KVMount: cfg.Vault.KVMount, Timeout: cfg.Vault.Timeout,
			Token: token, FailoverAddresses: cfg.Vault.FailoverAddresses,
		}
		if token == "" {
			kc.Token, kc.TokenFile = cfg.Vault.Token, cfg.Vault.TokenFile
			kc.AppRoleID, kc.AppRoleSecretIDFile = cfg.Vault.AppRole.RoleID, cfg.Vault.AppRole.SecretIDFile
		}
	}
	if kc.Token == "" && kc.TokenFile == "" && kc.AppRoleID == "" {
		kc.Token = os.Getenv("VAULT_TOKEN")
	}
	if kc.Address == "" {
		return nil, usageError{msg: "no Vault address: set VAULT_ADDR or use a config"}
	}
	if kc.Token == "" && kc.TokenFile == "" && kc.AppRoleID == "" {
		return nil, usageError{msg: "no Vault token: set VAULT_TOKEN"}
	}
	return keys.New(kc)
}

// adminVault is the Vault client for admin commands: VAULT_TOKEN, with the
// config's mounts if a config is known.
func adminVault() (*keys.Client, error) {
	var cfg *config.Config
	if p := os.Getenv("SEALPOST_CONFIG"); p != "" {
		c, err := config.Load(p)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	tok := os.Getenv("VAULT_TOKEN")
	if tok == "" {
		return nil, usageError{msg: "set VAULT_TOKEN to an admin token"}
	}
	return vaultClient(cfg, tok)
}

func cmdVault(ctx context.Context, e *env, args []string) error {
	if len(args) < 1 || args[0] != "setup" {
		return usageError{msg: "want: vault setup [-audit-file PATH] [-secret-ids]"}
	}
	var opt keys.SetupOptions
	fs := newFlags("vault setup", e)
	fs.StringVar(&opt.AuditFile, "audit-file", "", "enable a Vault file audit device writing to this absolute path on the Vault host (once)")
	fs.BoolVar(&opt.SecretIDs, "secret-ids", false, "issue a new AppRole secret id for each role")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: "unexpected argument " + fs.Arg(0)}
	}
	kc, err := adminVault()
	if err != nil {
		return err
	}
	creds, err := keys.SetupWith(ctx, kc, opt)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Vault is set up: transit keys, KV mount, policies and AppRoles sealpost-relay, sealpost-portal, sealpost-admin.")
	fmt.Fprintln(e.stdout, "New tokens (store each in its role's token file, readable only by that service):")
	fmt.Fprintf(e.stdout, "  relay:  %s\n  portal: %s\n  admin:  %s\n", creds.RelayToken, creds.PortalToken, creds.AdminToken)
	fmt.Fprintln(e.stdout, "AppRoles (vault.approle.role_id; the secret id goes in vault.approle.secret_id_file):")
	for _, name := range []string{"sealpost-relay", "sealpost-portal", "sealpost-admin"} {
		ar := creds.AppRoles[name]
		fmt.Fprintf(e.stdout, "  %-16s role_id %s", name+":", ar.RoleID)
		if ar.SecretID != "" {
			fmt.Fprintf(e.stdout, "  secret_id %s", ar.SecretID)
		}
		fmt.Fprintln(e.stdout)
	}
	if len(creds.AuditDevices) == 0 {
		fmt.Fprintln(e.stdout, "WARNING: Vault has no audit device, so unwraps are not on Vault's record: rerun with -audit-file PATH.")
	} else {
		fmt.Fprintln(e.stdout, "Vault audit devices:", strings.Join(creds.AuditDevices, ", "))
	}
	return nil
}

func cmdKeys(ctx context.Context, e *env, args []string) error {
	if len(args) < 2 || args[0] != "recipient" {
		return usageError{msg: "want: keys recipient add|list|remove|import"}
	}
	kc, err := adminVault()
	if err != nil {
		return err
	}
	switch sub, rest := args[1], args[2:]; sub {
	case "add", "remove":
		if len(rest) != 2 {
			return usageError{msg: "want: keys recipient " + sub + " ADDRESS-OR-@DOMAIN AGE-RECIPIENT"}
		}
		key := strings.ToLower(rest[0])
		if sub == "add" {
			if err := kc.AddRecipient(ctx, key, rest[1]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "added a recipient for %s\n", key)
			return nil
		}
		if err := kc.RemoveRecipient(ctx, key, rest[1]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed a recipient for %s\n", key)
		return nil
	case "list":
		all, err := kc.ListRecipients(ctx)
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(all)) {
			for _, r := range all[k] {
				fmt.Fprintf(e.stdout, "%s\t%s\n", k, r)
			}
		}
		return nil
	case "import":
		if len(rest) != 1 {
			return usageError{msg: "want: keys recipient import FILE.csv (address-or-@domain,recipient per line)"}
		}
		return importRecipients(ctx, e, kc, rest[0])
	default:
		return usageError{msg: "unknown keys recipient command " + sub}
	}
}

// importRecipients adds every row of a CSV file. Every row is validated
// before any is written, so a bad file changes nothing.
func importRecipients(ctx context.Context, e *env, kc *keys.Client, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	r.FieldsPerRecord = 2
	rows, err := r.ReadAll()
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", path, err)
	}
	for i, row := range rows {
		if _, err := keys.ParseRecipient(strings.TrimSpace(row[1])); err != nil {
			return fmt.Errorf("%s row %d: %w (nothing was imported)", path, i+1, err)
		}
	}
	for _, row := range rows {
		if err := kc.AddRecipient(ctx, strings.ToLower(strings.TrimSpace(row[0])), strings.TrimSpace(row[1])); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "imported %d recipients\n", len(rows))
	return nil
}

func openStore() (*config.Config, *store.Store, error) {
	cfg, err := loadConfig("")
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(cfg.Store.Path)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

func cmdMessage(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{msg: "want: message show ID | find …"}
	}
	cfg, st, err := openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "show":
		if len(args) != 2 {
			return usageError{msg: "want: message show ID"}
		}
		return messageShow(ctx, e, cfg, st, args[1])
	case "find":
		fs := newFlags("message find", e)
		from := fs.String("from", "", "sender address")
		to := fs.String("to", "", "recipient address")
		since := fs.Duration("since", 0, "only messages newer than this (e.g. 24h)")
		limit := fs.Int("limit", 100, "at most this many")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		f := store.Filter{From: *from, To: *to, Limit: *limit}
		if *since > 0 {
			f.Since = time.Now().Add(-*since)
		}
		ms, err := st.FindMessages(ctx, f)
		if err != nil {
			return err
		}
		for _, m := range ms {
			state := "sealed"
			if !m.RecalledAt.IsZero() {
				state = "recalled"
			}
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\t%s\t%d recipients\n", m.ID, m.Created.Format(time.RFC3339), state, m.Sender, len(m.Recipients))
		}
		return nil
	default:
		return usageError{msg: "unknown message command " + args[0]}
	}
}

func cmdAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{msg: "want: audit verify | export"}
	}
	cfg, st, err := openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	log, err := audit.New(st.DB())
	if err != nil {
		return err
	}
	switch args[0] {
	case "verify":
		kc, err := vaultClient(cfg, os.Getenv("VAULT_TOKEN"))
		if err != nil {
			return err
		}
		rep, err := log.Verify(ctx, kc, cfg.Audit.CheckpointPath)
		if err != nil {
			return err
		}
		if len(rep.Problems) > 0 {
			for _, p := range rep.Problems {
				fmt.Fprintf(e.stdout, "entry %d: %s\n", p.Seq, p.Reason)
			}
			return fmt.Errorf("audit chain does not verify: %d problem(s), first at entry %d", len(rep.Problems), rep.Problems[0].Seq)
		}
		cp := "no checkpoint yet"
		if rep.Checkpoint != nil {
			cp = fmt.Sprintf("checkpoint at entry %d verified", rep.Checkpoint.Seq)
		}
		fmt.Fprintf(e.stdout, "ok: %d entries, head %d, %s\n", rep.Entries, rep.Head.Seq, cp)
		return nil
	case "export":
		fs := newFlags("audit export", e)
		since := fs.Int64("since", 0, "only entries after this sequence number")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		return log.Export(ctx, e.stdout, *since)
	default:
		return usageError{msg: "unknown audit command " + args[0]}
	}
}

func cmdExtract(_ context.Context, e *env, args []string) error {
	if len(args) != 1 {
		return usageError{msg: "want: extract FILE.eml"}
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	found, err := seal.ExtractSealedAttachment(f, e.stdout)
	if err != nil {
		return err
	}
	if !found {
		return errors.New("no message.eml.age attachment in " + args[0])
	}
	return nil
}
