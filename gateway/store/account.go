package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Recipients' portal accounts: one per address, with the authenticator the
// recipient registered (passkeys, or a password and a TOTP seed), the
// one-time codes sent to prove a mailbox or a phone, the flows that carry a
// visitor through enrolment or login, and the sessions that follow.
//
// Secrets never appear in clear: codes and tokens are stored as SHA-256
// hashes, passwords as argon2id PHC strings, TOTP seeds and phone numbers
// as Transit ciphertext (the portal seals them before calling the store).

// Account levels (see [Account].Level).
const (
	// LevelNone is an account that has not enrolled (or was reset).
	LevelNone = ""
	// LevelMailbox is an account enrolled with the mailbox code alone:
	// lower assurance.
	LevelMailbox = "mailbox"
	// LevelOOB is an account that proved an out-of-band factor.
	LevelOOB = "oob"
)

// Account methods (see [Account].Method).
const (
	MethodPasskey  = "passkey"
	MethodPassword = "password"
)

// Code purposes (see [Store.CreateCode]).
const (
	CodeMailbox = "mailbox"
	CodeSMS     = "sms"
)

// Lockout: the LockAfter-th consecutive failure locks the account for
// LockBase; every further failure before a success locks it again for twice
// as long as the previous lockout, up to LockMax.
const (
	LockAfter = 5
	LockBase  = 15 * time.Minute
	LockMax   = 24 * time.Hour
)

// MaxCodeAttempts is how many wrong guesses a code takes before it is dead.
const MaxCodeAttempts = 5

// codeKeep is how long a code row is kept after it expires: rows bound the
// rate at which codes are sent to an address, so they outlive the code.
const codeKeep = 24 * time.Hour

// maxAddressLen bounds an account address (RFC 5321's path limit).
const maxAddressLen = 256

// Errors of the account methods.
var (
	ErrNoAccount = errors.New("store: account not found")
	ErrNoPasskey = errors.New("store: passkey not found")
	ErrNoFlow    = errors.New("store: flow not found or expired")
	ErrNoSession = errors.New("store: session not found or expired")
	// ErrPasskeyExists is returned by [Store.Enrol] for a credential id
	// that is already registered.
	ErrPasskeyExists = errors.New("store: passkey already registered")
	// ErrEnrolRefused is returned by [Store.Enrol] for an account that is
	// already enrolled (unless [Enrolment].Replace is set), and for an
	// account an admin reset that would enrol below [LevelOOB].
	ErrEnrolRefused = errors.New("store: enrolment refused")
)

// Account is a recipient's portal account.
type Account struct {
	Address      string // lower case
	Created      time.Time
	Level        string // LevelNone, LevelMailbox or LevelOOB
	Method       string // "", MethodPasskey or MethodPassword
	UserHandle   []byte // random WebAuthn user handle, 32 bytes
	PasswordHash string // argon2id PHC string, "" when none
	TOTPSealed   string // Transit ciphertext of the TOTP seed, "" when none
	TOTPLastStep int64  // last accepted TOTP step
	PhoneSealed  string // Transit ciphertext of a verified phone number, "" when none
	Failures     int    // consecutive failed checks
	LockedUntil  time.Time
	ResetAt      time.Time // last admin reset; zero when never reset
	EnrolledAt   time.Time
}

// Enrolled reports whether the account has registered an authenticator.
func (a *Account) Enrolled() bool { return a.Level != LevelNone }

// WasReset reports whether an admin reset the account and it has not
// enrolled since: its next enrolment must prove the out-of-band factor.
func (a *Account) WasReset() bool { return a.Level == LevelNone && !a.ResetAt.IsZero() }

// Locked reports whether the account is locked at now.
func (a *Account) Locked(now time.Time) bool { return now.Before(a.LockedUntil) }

// NormalizeAddress returns address trimmed and in lower case, or an error
// when it cannot name an account.
func NormalizeAddress(address string) (string, error) {
	a := strings.ToLower(strings.TrimSpace(address))
	switch {
	case a == "":
		return "", errors.New("empty address")
	case len(a) > maxAddressLen:
		return "", fmt.Errorf("address longer than %d bytes", maxAddressLen)
	case !utf8.ValidString(a):
		return "", errors.New("address is not valid UTF-8")
	case strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", errors.New("address holds a control character")
	case strings.Count(a, "@") != 1:
		return "", errors.New("address must hold one @")
	}
	return a, nil
}

const accountCols = `address, created, level, method, user_handle, password_hash, totp_sealed,
	totp_last_step, phone_sealed, failures, locked_until, reset_at, enrolled_at`

func scanAccount(row scanner) (*Account, error) {
	var a Account
	var created, locked, reset, enrolled int64
	err := row.Scan(&a.Address, &created, &a.Level, &a.Method, &a.UserHandle, &a.PasswordHash, &a.TOTPSealed,
		&a.TOTPLastStep, &a.PhoneSealed, &a.Failures, &locked, &reset, &enrolled)
	if err != nil {
		return nil, err
	}
	a.Created, a.LockedUntil, a.ResetAt, a.EnrolledAt = fromNanos(created), fromNanos(locked), fromNanos(reset), fromNanos(enrolled)
	return &a, nil
}

// Account returns the account of address, or [ErrNoAccount].
func (s *Store) Account(ctx context.Context, address string) (*Account, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return nil, fmt.Errorf("failed to get account: %w", ErrNoAccount)
	}
	a, err := scanAccount(s.db.QueryRowContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE address = ?", addr))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("failed to get account: %w", ErrNoAccount)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get account: %w", err)
	}
	return a, nil
}

// EnsureAccount returns the account of address, creating it (not
// enrolled, with a fresh random user handle) if there is none.
func (s *Store) EnsureAccount(ctx context.Context, address string, now time.Time) (*Account, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return nil, fmt.Errorf("failed to create account: %w", err)
	}
	if !validTime(now) {
		return nil, errors.New("failed to create account: time out of range")
	}
	handle := make([]byte, 32)
	rand.Read(handle)
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT OR IGNORE INTO accounts (address, created, user_handle) VALUES (?, ?, ?)",
			addr, toNanos(now), handle)
		if err != nil {
			return fmt.Errorf("failed to create account: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Account(ctx, addr)
}

// ListAccounts returns every account, ordered by address.
func (s *Store) ListAccounts(ctx context.Context) ([]*Account, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+accountCols+" FROM accounts ORDER BY address")
	if err != nil {
		return nil, fmt.Errorf("failed to list accounts: %w", err)
	}
	defer rows.Close()
	var out []*Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list accounts: %w", err)
	}
	return out, nil
}

// Enrolment is what an account registers when it enrols.
type Enrolment struct {
	Level        string // LevelMailbox or LevelOOB
	Method       string // MethodPasskey or MethodPassword
	PasswordHash string // with MethodPassword
	TOTPSealed   string // with MethodPassword
	TOTPStep     int64  // with MethodPassword: the step of the code that confirmed the seed
	Passkey      *Passkey
	At           time.Time
	// Replace lets the enrolment replace an account's existing one. The
	// portal never sets it: an enrolled account signs in, and only an
	// admin reset opens it to enrolment again.
	Replace bool
}

func (e *Enrolment) validate() error {
	switch {
	case e.Level != LevelMailbox && e.Level != LevelOOB:
		return fmt.Errorf("level %q is not mailbox or oob", e.Level)
	case e.Method == MethodPassword && (e.PasswordHash == "" || e.TOTPSealed == "" || e.Passkey != nil):
		return errors.New("a password enrolment needs a password hash and a TOTP seed, and no passkey")
	case e.Method == MethodPasskey && (e.Passkey == nil || e.PasswordHash != "" || e.TOTPSealed != ""):
		return errors.New("a passkey enrolment needs a passkey, and no password or TOTP seed")
	case e.Method != MethodPassword && e.Method != MethodPasskey:
		return fmt.Errorf("method %q is not passkey or password", e.Method)
	case e.At.IsZero() || !validTime(e.At):
		return errors.New("enrolment time missing or out of range")
	}
	return nil
}

// Enrol records that the account of address registered an authenticator
// at the given level: its passkeys are replaced by e.Passkey (or removed),
// its password and TOTP seed by e's, and its failures are cleared. The
// account must exist. It fails with [ErrEnrolRefused] when the account is
// already enrolled and e.Replace is not set (a flow begun before another
// enrolment must not overwrite it), or when an admin reset the account and
// e.Level is not [LevelOOB]; both are checked in the transaction that
// writes. Each function in also runs in the same transaction.
func (s *Store) Enrol(ctx context.Context, address string, e Enrolment, also ...func(*sql.Tx) error) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return fmt.Errorf("failed to enrol: %w", err)
	}
	if err := e.validate(); err != nil {
		return fmt.Errorf("failed to enrol: %w", err)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var level string
		var reset int64
		err := tx.QueryRowContext(ctx, "SELECT level, reset_at FROM accounts WHERE address = ?", addr).Scan(&level, &reset)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("failed to enrol: %w", ErrNoAccount)
		case err != nil:
			return fmt.Errorf("failed to enrol: %w", err)
		case level != LevelNone && !e.Replace:
			return fmt.Errorf("failed to enrol: account already enrolled: %w", ErrEnrolRefused)
		case level == LevelNone && reset != 0 && e.Level != LevelOOB:
			return fmt.Errorf("failed to enrol: a reset account must prove the out-of-band factor: %w", ErrEnrolRefused)
		}
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET level = ?, method = ?, password_hash = ?,
			totp_sealed = ?, totp_last_step = ?, failures = 0, locked_until = 0, enrolled_at = ?
			WHERE address = ?`,
			e.Level, e.Method, e.PasswordHash, e.TOTPSealed, e.TOTPStep, toNanos(e.At), addr)
		if err != nil {
			return fmt.Errorf("failed to enrol: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("failed to enrol: %w", ErrNoAccount)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM passkeys WHERE address = ?", addr); err != nil {
			return fmt.Errorf("failed to enrol: %w", err)
		}
		if p := e.Passkey; p != nil {
			if err := insertPasskey(ctx, tx, addr, p); err != nil {
				return err
			}
		}
		for _, fn := range also {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// StepUp raises a mailbox-level account to LevelOOB, after it proved the
// out-of-band factor. It fails with [ErrNoAccount] unless the account
// exists and is enrolled.
func (s *Store) StepUp(ctx context.Context, address string, also ...func(*sql.Tx) error) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return fmt.Errorf("failed to step up: %w", err)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE accounts SET level = ? WHERE address = ? AND level != ''", LevelOOB, addr)
		if err != nil {
			return fmt.Errorf("failed to step up: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("failed to step up: %w", ErrNoAccount)
		}
		for _, fn := range also {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// ResetAccount is an admin's reset: it deletes the account's passkeys and
// sessions, clears its password, TOTP seed and phone, its level and method,
// unlocks it and sets reset_at, so that its next enrolment must prove the
// out-of-band factor. Each function in also runs in the same transaction
// (the CLI appends the audit entry this way).
func (s *Store) ResetAccount(ctx context.Context, address string, at time.Time, also ...func(*sql.Tx) error) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return fmt.Errorf("failed to reset account: %w", err)
	}
	if at.IsZero() || !validTime(at) {
		return errors.New("failed to reset account: time missing or out of range")
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET level = '', method = '', password_hash = '',
			totp_sealed = '', totp_last_step = 0, phone_sealed = '', failures = 0, locked_until = 0,
			reset_at = ?, enrolled_at = 0 WHERE address = ?`, toNanos(at), addr)
		if err != nil {
			return fmt.Errorf("failed to reset account: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("failed to reset account: %w", ErrNoAccount)
		}
		for _, q := range []string{"DELETE FROM passkeys WHERE address = ?", "DELETE FROM sessions WHERE address = ?"} {
			if _, err := tx.ExecContext(ctx, q, addr); err != nil {
				return fmt.Errorf("failed to reset account: %w", err)
			}
		}
		for _, fn := range also {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// UseTOTPStep records step as the account's last accepted TOTP step if it
// is later than the one recorded, and reports whether it was: a code is
// accepted at most once, even by two requests at the same moment.
func (s *Store) UseTOTPStep(ctx context.Context, address string, step int64) (bool, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return false, fmt.Errorf("failed to record TOTP step: %w", err)
	}
	var ok bool
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"UPDATE accounts SET totp_last_step = ? WHERE address = ? AND totp_last_step < ?", step, addr, step)
		if err != nil {
			return fmt.Errorf("failed to record TOTP step: %w", err)
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	return ok, err
}

// RecordFailure counts a failed check against the account of address and
// returns the time it is locked until (zero when it is not locked): the
// [LockAfter]-th consecutive failure locks it for [LockBase], and every
// further failure before a success for twice the previous lockout, up to
// [LockMax].
func (s *Store) RecordFailure(ctx context.Context, address string, now time.Time) (time.Time, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return time.Time{}, fmt.Errorf("failed to record failure: %w", err)
	}
	if !validTime(now) {
		return time.Time{}, errors.New("failed to record failure: time out of range")
	}
	var until time.Time
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		var failures int
		err := tx.QueryRowContext(ctx, "SELECT failures FROM accounts WHERE address = ?", addr).Scan(&failures)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("failed to record failure: %w", ErrNoAccount)
		}
		if err != nil {
			return fmt.Errorf("failed to record failure: %w", err)
		}
		failures++
		if d := LockoutFor(failures); d > 0 {
			until = now.Add(d)
		}
		_, err = tx.ExecContext(ctx, "UPDATE accounts SET failures = ?, locked_until = ? WHERE address = ?",
			failures, toNanos(until), addr)
		if err != nil {
			return fmt.Errorf("failed to record failure: %w", err)
		}
		return nil
	})
	return until, err
}

// LockoutFor returns how long an account is locked after its n-th
// consecutive failure: 0 below [LockAfter], then [LockBase] doubling with
// every further failure, at most [LockMax].
func LockoutFor(n int) time.Duration {
	if n < LockAfter {
		return 0
	}
	d := LockBase
	for i := LockAfter; i < n && d < LockMax; i++ {
		d *= 2
	}
	return min(d, LockMax)
}

// RecordSuccess clears the account's consecutive failures.
func (s *Store) RecordSuccess(ctx context.Context, address string) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return fmt.Errorf("failed to record success: %w", err)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE accounts SET failures = 0, locked_until = 0 WHERE address = ? AND failures != 0", addr)
		if err != nil {
			return fmt.Errorf("failed to record success: %w", err)
		}
		return nil
	})
}

// SetPhone records the Transit ciphertext of a phone number the account
// proved (by an SMS code).
func (s *Store) SetPhone(ctx context.Context, address, phoneSealed string) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return fmt.Errorf("failed to set phone: %w", err)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE accounts SET phone_sealed = ? WHERE address = ?", phoneSealed, addr)
		if err != nil {
			return fmt.Errorf("failed to set phone: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("failed to set phone: %w", ErrNoAccount)
		}
		return nil
	})
}

// Passkey is a registered WebAuthn credential.
type Passkey struct {
	CredentialID []byte
	Address      string
	Credential   []byte // JSON of the webauthn.Credential
	Created      time.Time
	LastUsed     time.Time
}

func insertPasskey(ctx context.Context, tx *sql.Tx, addr string, p *Passkey) error {
	if len(p.CredentialID) == 0 || len(p.CredentialID) > 1023 || len(p.Credential) == 0 || !validTime(p.Created) {
		return errors.New("failed to add passkey: credential id, credential or time missing or invalid")
	}
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM passkeys WHERE credential_id = ?", p.CredentialID).Scan(&one)
	if err == nil {
		return fmt.Errorf("failed to add passkey: %w", ErrPasskeyExists)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("failed to add passkey: %w", err)
	}
	_, err = tx.ExecContext(ctx,
		"INSERT INTO passkeys (credential_id, address, credential, created, last_used) VALUES (?, ?, ?, ?, ?)",
		p.CredentialID, addr, p.Credential, toNanos(p.Created), toNanos(p.LastUsed))
	if err != nil {
		return fmt.Errorf("failed to add passkey: %w", err)
	}
	return nil
}

// AddPasskey registers another passkey for the (existing) account of
// p.Address.
func (s *Store) AddPasskey(ctx context.Context, p *Passkey) error {
	addr, err := NormalizeAddress(p.Address)
	if err != nil {
		return fmt.Errorf("failed to add passkey: %w", err)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error { return insertPasskey(ctx, tx, addr, p) })
}

const passkeyCols = "credential_id, address, credential, created, last_used"

func scanPasskey(row scanner) (*Passkey, error) {
	var p Passkey
	var created, used int64
	if err := row.Scan(&p.CredentialID, &p.Address, &p.Credential, &created, &used); err != nil {
		return nil, err
	}
	p.Created, p.LastUsed = fromNanos(created), fromNanos(used)
	return &p, nil
}

// Passkeys returns the passkeys of address, oldest first.
func (s *Store) Passkeys(ctx context.Context, address string) ([]*Passkey, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return nil, fmt.Errorf("failed to list passkeys: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+passkeyCols+" FROM passkeys WHERE address = ? ORDER BY created, credential_id", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to list passkeys: %w", err)
	}
	defer rows.Close()
	var out []*Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list passkeys: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list passkeys: %w", err)
	}
	return out, nil
}

// PasskeyByID returns the passkey with the given credential id, or
// [ErrNoPasskey].
func (s *Store) PasskeyByID(ctx context.Context, credentialID []byte) (*Passkey, error) {
	p, err := scanPasskey(s.db.QueryRowContext(ctx, "SELECT "+passkeyCols+" FROM passkeys WHERE credential_id = ?", credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("failed to get passkey: %w", ErrNoPasskey)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get passkey: %w", err)
	}
	return p, nil
}

// UpdatePasskey replaces a passkey's credential JSON (its sign count and
// flags after a login) and records when it was used.
func (s *Store) UpdatePasskey(ctx context.Context, credentialID, credential []byte, used time.Time) error {
	if !validTime(used) || len(credential) == 0 {
		return errors.New("failed to update passkey: credential missing or time out of range")
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE passkeys SET credential = ?, last_used = ? WHERE credential_id = ?",
			credential, toNanos(used), credentialID)
		if err != nil {
			return fmt.Errorf("failed to update passkey: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("failed to update passkey: %w", ErrNoPasskey)
		}
		return nil
	})
}

// Code is a one-time code sent to prove a mailbox or a phone.
type Code struct {
	ID        string // random; names the code (a flow holds it)
	Address   string
	Purpose   string // CodeMailbox or CodeSMS
	MessageID string
	Created   time.Time
	Expires   time.Time
}

// CodeCheck is the outcome of [Store.CheckCode].
type CodeCheck int

// Outcomes of [Store.CheckCode].
const (
	CodeOK      CodeCheck = iota // the code matched; it is now used
	CodeWrong                    // no match (or no such code)
	CodeExpired                  // the code expired
	CodeUsed                     // the code was already used
	CodeTooMany                  // MaxCodeAttempts wrong guesses killed the code
)

// String names the outcome, for audit details.
func (c CodeCheck) String() string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeWrong:
		return "wrong"
	case CodeExpired:
		return "expired"
	case CodeUsed:
		return "used"
	case CodeTooMany:
		return "too-many"
	}
	return "unknown"
}

// codeHash is SHA-256 over the code's id and the code, length-prefixed so
// that no two (id, code) pairs share an input.
func codeHash(id, code string) []byte {
	h := sha256.New()
	h.Write([]byte("sealpost-code-v1\x00"))
	fmt.Fprintf(h, "%d:%s%d:%s", len(id), id, len(code), code)
	return h.Sum(nil)
}

// NewCodeID returns a random code id.
func NewCodeID() string { return rand.Text() }

// CreateCode stores c, which holds code only as SHA-256(id, code). An
// empty c.ID is filled in; c.ID is returned.
func (s *Store) CreateCode(ctx context.Context, c Code, code string) (string, error) {
	addr, err := NormalizeAddress(c.Address)
	if err != nil {
		return "", fmt.Errorf("failed to create code: %w", err)
	}
	switch {
	case c.Purpose != CodeMailbox && c.Purpose != CodeSMS:
		return "", fmt.Errorf("failed to create code: purpose %q", c.Purpose)
	case code == "":
		return "", errors.New("failed to create code: empty code")
	case c.Created.IsZero() || !validTime(c.Created) || !validTime(c.Expires) || !c.Expires.After(c.Created):
		return "", errors.New("failed to create code: times missing or out of order")
	}
	if c.ID == "" {
		c.ID = NewCodeID()
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO codes (id, address, purpose, message_id, code_hash, created, expires)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, addr, c.Purpose, c.MessageID, codeHash(c.ID, code), toNanos(c.Created), toNanos(c.Expires))
		if err != nil {
			return fmt.Errorf("failed to create code: %w", err)
		}
		return nil
	})
	return c.ID, err
}

// CheckCode checks code against the code id sent to address for purpose,
// at now. A matching code is used up; a wrong one counts an attempt, and
// [MaxCodeAttempts] of them kill it. The hash comparison is constant-time
// and is made whether or not the code exists, is expired or used.
func (s *Store) CheckCode(ctx context.Context, id, address, purpose, code string, now time.Time) (CodeCheck, error) {
	addr, _ := NormalizeAddress(address)
	want := codeHash(id, code)
	result := CodeWrong
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var (
			gotAddr, gotPurpose string
			hash                []byte
			expires             int64
			attempts, used      int
		)
		err := tx.QueryRowContext(ctx, "SELECT address, purpose, code_hash, expires, attempts, used FROM codes WHERE id = ?", id).
			Scan(&gotAddr, &gotPurpose, &hash, &expires, &attempts, &used)
		if errors.Is(err, sql.ErrNoRows) {
			hash = make([]byte, sha256.Size)
			gotAddr = "\x00"
		} else if err != nil {
			return fmt.Errorf("failed to check code: %w", err)
		}
		match := subtle.ConstantTimeCompare(hash, want) == 1 && gotAddr == addr && gotPurpose == purpose
		switch {
		case gotAddr == "\x00" || gotAddr != addr || gotPurpose != purpose:
			result = CodeWrong
			return nil
		case used != 0:
			result = CodeUsed
			return nil
		case attempts >= MaxCodeAttempts:
			result = CodeTooMany
			return nil
		case !now.Before(fromNanos(expires)):
			result = CodeExpired
			return nil
		case match:
			result = CodeOK
			_, err = tx.ExecContext(ctx, "UPDATE codes SET used = 1 WHERE id = ?", id)
		default:
			attempts++
			result = CodeWrong
			if attempts >= MaxCodeAttempts {
				result = CodeTooMany
			}
			_, err = tx.ExecContext(ctx, "UPDATE codes SET attempts = ? WHERE id = ?", attempts, id)
		}
		if err != nil {
			return fmt.Errorf("failed to check code: %w", err)
		}
		return nil
	})
	if err != nil {
		return CodeWrong, err
	}
	return result, nil
}

// CodesSince counts the codes created for address since the given time,
// for any purpose: it bounds how often codes are sent to one address.
func (s *Store) CodesSince(ctx context.Context, address string, since time.Time) (int, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return 0, fmt.Errorf("failed to count codes: %w", err)
	}
	var n int
	err = s.db.QueryRowContext(ctx, "SELECT count(*) FROM codes WHERE address = ? AND created >= ?", addr, toNanos(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("failed to count codes: %w", err)
	}
	return n, nil
}

// Flow is a visitor's way through enrolment, login or step-up, named by
// the hash of the flow cookie. State is the portal's own encoding.
type Flow struct {
	TokenHash []byte
	Created   time.Time
	Expires   time.Time
	State     []byte
}

// CreateFlow stores f.
func (s *Store) CreateFlow(ctx context.Context, f *Flow) error {
	if len(f.TokenHash) != sha256.Size || len(f.State) == 0 || !validTime(f.Created) || !validTime(f.Expires) {
		return errors.New("failed to create flow: token hash, state or times invalid")
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO flows (token_hash, created, expires, state) VALUES (?, ?, ?, ?)",
			f.TokenHash, toNanos(f.Created), toNanos(f.Expires), f.State)
		if err != nil {
			return fmt.Errorf("failed to create flow: %w", err)
		}
		return nil
	})
}

// Flow returns the flow named by tokenHash if it has not expired at now,
// else [ErrNoFlow].
func (s *Store) Flow(ctx context.Context, tokenHash []byte, now time.Time) (*Flow, error) {
	f := Flow{TokenHash: tokenHash}
	var created, expires int64
	err := s.db.QueryRowContext(ctx, "SELECT created, expires, state FROM flows WHERE token_hash = ?", tokenHash).
		Scan(&created, &expires, &f.State)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("failed to get flow: %w", ErrNoFlow)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get flow: %w", err)
	}
	f.Created, f.Expires = fromNanos(created), fromNanos(expires)
	if !now.Before(f.Expires) {
		return nil, fmt.Errorf("failed to get flow: %w", ErrNoFlow)
	}
	return &f, nil
}

// UpdateFlow replaces the state of the flow named by tokenHash.
func (s *Store) UpdateFlow(ctx context.Context, tokenHash, state []byte) error {
	if len(state) == 0 {
		return errors.New("failed to update flow: empty state")
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE flows SET state = ? WHERE token_hash = ?", state, tokenHash)
		if err != nil {
			return fmt.Errorf("failed to update flow: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("failed to update flow: %w", ErrNoFlow)
		}
		return nil
	})
}

// DeleteFlow deletes the flow named by tokenHash, if any.
func (s *Store) DeleteFlow(ctx context.Context, tokenHash []byte) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM flows WHERE token_hash = ?", tokenHash); err != nil {
			return fmt.Errorf("failed to delete flow: %w", err)
		}
		return nil
	})
}

// Session is a signed-in recipient's session, named by the hash of the
// session cookie.
type Session struct {
	TokenHash []byte
	Address   string
	Created   time.Time
	LastSeen  time.Time
	Expires   time.Time // absolute expiry
	Method    string    // how it logged in: MethodPasskey or MethodPassword
}

// CreateSession stores sess. Each function in also runs in the same
// transaction.
func (s *Store) CreateSession(ctx context.Context, sess *Session, also ...func(*sql.Tx) error) error {
	addr, err := NormalizeAddress(sess.Address)
	if err != nil {
		return fmt.Errorf("failed to create session: %w", err)
	}
	if len(sess.TokenHash) != sha256.Size || !validTime(sess.Created) || !validTime(sess.LastSeen) || !validTime(sess.Expires) {
		return errors.New("failed to create session: token hash or times invalid")
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, address, created, last_seen, expires, method)
			VALUES (?, ?, ?, ?, ?, ?)`,
			sess.TokenHash, addr, toNanos(sess.Created), toNanos(sess.LastSeen), toNanos(sess.Expires), sess.Method)
		if err != nil {
			return fmt.Errorf("failed to create session: %w", err)
		}
		for _, fn := range also {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// Session returns the session named by tokenHash, or [ErrNoSession]. It
// does not check expiry: the portal does, with its idle timeout.
func (s *Store) Session(ctx context.Context, tokenHash []byte) (*Session, error) {
	sess := Session{TokenHash: tokenHash}
	var created, seen, expires int64
	err := s.db.QueryRowContext(ctx,
		"SELECT address, created, last_seen, expires, method FROM sessions WHERE token_hash = ?", tokenHash).
		Scan(&sess.Address, &created, &seen, &expires, &sess.Method)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("failed to get session: %w", ErrNoSession)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get session: %w", err)
	}
	sess.Created, sess.LastSeen, sess.Expires = fromNanos(created), fromNanos(seen), fromNanos(expires)
	return &sess, nil
}

// TouchSession records that the session was used at.
func (s *Store) TouchSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	if !validTime(at) {
		return errors.New("failed to touch session: time out of range")
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", toNanos(at), tokenHash)
		if err != nil {
			return fmt.Errorf("failed to touch session: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("failed to touch session: %w", ErrNoSession)
		}
		return nil
	})
}

// DeleteSession deletes the session named by tokenHash, if any.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE token_hash = ?", tokenHash); err != nil {
			return fmt.Errorf("failed to delete session: %w", err)
		}
		return nil
	})
}

// DeleteSessions deletes every session of address and returns how many.
func (s *Store) DeleteSessions(ctx context.Context, address string) (int64, error) {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return 0, fmt.Errorf("failed to delete sessions: %w", err)
	}
	var n int64
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE address = ?", addr)
		if err != nil {
			return fmt.Errorf("failed to delete sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// PurgeAuth deletes, at now, expired flows, sessions that passed their
// absolute expiry or sat idle longer than idle, and codes a day after they
// expired. It returns how many rows it deleted.
func (s *Store) PurgeAuth(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	if !validTime(now) || now.IsZero() {
		return 0, errors.New("failed to purge: time missing or out of range")
	}
	var total int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		total = 0
		n := toNanos(now)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"DELETE FROM flows WHERE expires <= ?", []any{n}},
			{"DELETE FROM sessions WHERE expires <= ? OR last_seen <= ?", []any{n, toNanos(now.Add(-idle))}},
			{"DELETE FROM codes WHERE expires <= ?", []any{toNanos(now.Add(-codeKeep))}},
		} {
			res, err := tx.ExecContext(ctx, q.sql, q.args...)
			if err != nil {
				return fmt.Errorf("failed to purge: %w", err)
			}
			c, _ := res.RowsAffected()
			total += c
		}
		return nil
	})
	return total, err
}
