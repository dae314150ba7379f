package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/store"
)

// accountUsage is the usage line of `sealpost account`.
const accountUsage = "account list | show ADDRESS | reset ADDRESS --reason TEXT"

// actionAccountReset is the audit action of a reset (gateway/portal's
// ActionReset).
const actionAccountReset = "account.reset"

// cmdAccount lists, shows and resets recipients' portal accounts. It never
// prints a password hash, a TOTP seed or a phone number.
func cmdAccount(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageError{msg: "want: " + accountUsage}
	}
	switch args[0] {
	case "list":
		if len(args) != 1 {
			return usageError{msg: "want: account list"}
		}
		return accountList(ctx, e)
	case "show":
		if len(args) != 2 {
			return usageError{msg: "want: account show ADDRESS"}
		}
		return accountShow(ctx, e, args[1])
	case "reset":
		return accountReset(ctx, e, args[1:])
	}
	return usageError{msg: "want: " + accountUsage}
}

// levelLabel names an account level for people.
func levelLabel(level string) string {
	switch level {
	case store.LevelNone:
		return "not enrolled"
	case store.LevelMailbox:
		return "mailbox (LOWER ASSURANCE)"
	case store.LevelOOB:
		return "oob"
	}
	return level
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func accountList(ctx context.Context, e *env) error {
	l, err := openLifecycle(ctx, e, false)
	if err != nil {
		return err
	}
	defer l.Close()
	accts, err := l.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tLEVEL\tMETHOD\tENROLLED\tLOCKED UNTIL")
	now := time.Now()
	for _, a := range accts {
		locked := "-"
		if a.Locked(now) {
			locked = fmtTime(a.LockedUntil)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Address, levelLabel(a.Level), dash(a.Method), fmtTime(a.EnrolledAt), locked)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func accountShow(ctx context.Context, e *env, address string) error {
	l, err := openLifecycle(ctx, e, false)
	if err != nil {
		return err
	}
	defer l.Close()
	a, err := l.store.Account(ctx, address)
	if errors.Is(err, store.ErrNoAccount) {
		return fmt.Errorf("no portal account for %s", address)
	}
	if err != nil {
		return err
	}
	pks, err := l.store.Passkeys(ctx, a.Address)
	if err != nil {
		return err
	}
	writeAccount(e.stdout, a, len(pks), time.Now())
	return nil
}

// writeAccount prints what an admin may see of an account: never the
// password hash, the TOTP seed or the phone number, only whether they are
// set.
func writeAccount(w io.Writer, a *store.Account, passkeys int, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("address:", a.Address)
	row("level:", levelLabel(a.Level))
	row("method:", dash(a.Method))
	row("passkeys:", fmt.Sprint(passkeys))
	row("password:", yesNo(a.PasswordHash != ""))
	row("totp:", yesNo(a.TOTPSealed != ""))
	row("phone proved:", yesNo(a.PhoneSealed != ""))
	row("created:", fmtTime(a.Created))
	row("enrolled:", fmtTime(a.EnrolledAt))
	row("reset:", fmtTime(a.ResetAt))
	if a.Locked(now) {
		row("locked until:", fmtTime(a.LockedUntil))
	} else {
		row("locked until:", "-")
	}
	row("failed checks:", fmt.Sprint(a.Failures))
	tw.Flush()
	if a.Level == store.LevelMailbox {
		fmt.Fprintln(w, "this account proved only its mailbox: messages that need more make it step up first")
	}
}

func yesNo(b bool) string {
	if b {
		return "set"
	}
	return "none"
}

// accountReset deletes an account's passkeys and sessions and clears its
// password, TOTP seed and phone, so that its next enrolment must prove the
// out-of-band factor again. It needs an admin Vault token (like every
// admin act) and appends account.reset with the reason to the audit log
// in the same transaction.
func accountReset(ctx context.Context, e *env, args []string) error {
	l, address, reason, err := openAdminAct(ctx, e, "account reset", "ADDRESS", args)
	if err != nil {
		return err
	}
	defer l.Close()
	lg, err := audit.New(l.store.DB())
	if err != nil {
		return err
	}
	a, err := l.store.Account(ctx, address)
	if errors.Is(err, store.ErrNoAccount) {
		return fmt.Errorf("no portal account for %s", address)
	}
	if err != nil {
		return err
	}
	entry := audit.Entry{
		Actor: l.actor, Action: actionAccountReset,
		Detail: map[string]string{"account": "recipient:" + a.Address, "reason": reason},
	}
	err = l.store.ResetAccount(ctx, a.Address, time.Now(), func(tx *sql.Tx) error {
		_, err := lg.AppendTx(ctx, tx, entry)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "reset %s: passkeys, password, TOTP and sessions removed\n", a.Address)
	fmt.Fprintln(e.stdout, "its next enrolment must prove the out-of-band factor (SMS or enrolment code), whatever the message's assurance")
	return nil
}
