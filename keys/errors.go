package keys

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"
)

var (
	// ErrPermissionDenied is matched (errors.Is) by any error caused by Vault
	// answering 403: the token's policy does not allow the operation, or the
	// token is unknown or expired.
	ErrPermissionDenied = errors.New("vault permission denied")

	// ErrNotFound is matched by errors for absent keys, directory entries,
	// recipients and configuration.
	ErrNotFound = errors.New("not found")

	// ErrWrongMessage means a wrapped secret opened, but it is bound to a
	// different message id than the one asked for.
	ErrWrongMessage = errors.New("wrapped secret is bound to a different message")

	// ErrMalformedWrapped means a wrapped blob is not in a format this
	// version understands.
	ErrMalformedWrapped = errors.New("malformed wrapped secret")

	// ErrPortalCiphertext means a portal ciphertext does not open under the
	// key-derivation context given (it was sealed for another one, or was
	// altered), or is not a Transit ciphertext at all.
	ErrPortalCiphertext = errors.New("portal ciphertext does not open with this context")

	// ErrBadSignature means an audit checkpoint signature does not verify.
	ErrBadSignature = errors.New("signature does not verify")

	// ErrSealed means Vault answered but is sealed or uninitialised.
	ErrSealed = errors.New("vault is sealed or not initialised")

	// ErrInvalidToken is matched by a 403 that Vault gave because the token
	// itself is unknown, expired or revoked (not because its policy denies
	// the request). It also matches ErrPermissionDenied.
	ErrInvalidToken = errors.New("vault token is invalid")
)

// VaultError is a failed Vault request. Its message names the operation and
// Vault's status and error strings, never the token or request data.
type VaultError struct {
	// Op names the operation, e.g. "transit decrypt".
	Op string
	// StatusCode is the HTTP status Vault answered with, or 0 when there was
	// no answer (connection refused, timeout).
	StatusCode int
	// Messages are Vault's error strings, if any.
	Messages []string
	// Err is the underlying error.
	Err error
}

func (e *VaultError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vault %s failed", e.Op)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if len(e.Messages) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Messages, "; "))
	} else if e.Err != nil && e.StatusCode == 0 {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *VaultError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrPermissionDenied) and errors.Is(err,
// ErrNotFound) work on Vault's status codes.
func (e *VaultError) Is(target error) bool {
	switch target {
	case ErrPermissionDenied:
		return e.StatusCode == http.StatusForbidden
	case ErrInvalidToken:
		return e.StatusCode == http.StatusForbidden && containsFold(e.Messages, "invalid token")
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrSealed:
		return e.StatusCode == http.StatusServiceUnavailable && containsFold(e.Messages, "sealed")
	}
	return false
}

// Temporary reports whether retrying later may succeed: no answer at all,
// a 5xx, 429 (standby / rate limit) or 412 (replication lag). Permission,
// validation and not-found errors are permanent until someone changes
// Vault. Note that the relay answers 4xx for every keys error regardless;
// Temporary is for logging and alerting.
func (e *VaultError) Temporary() bool {
	return e.StatusCode == 0 || e.StatusCode >= 500 ||
		e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusPreconditionFailed
}

func containsFold(msgs []string, sub string) bool {
	for _, m := range msgs {
		if strings.Contains(strings.ToLower(m), sub) {
			return true
		}
	}
	return false
}

// vaultErr converts an error from the Vault API client into a *VaultError.
func vaultErr(op string, err error) error {
	if err == nil {
		return nil
	}
	ve := &VaultError{Op: op, Err: err}
	var re *api.ResponseError
	if errors.As(err, &re) {
		ve.StatusCode = re.StatusCode
		for _, m := range re.Errors {
			ve.Messages = append(ve.Messages, splitMultiError(m)...)
		}
	}
	return ve
}

// notFound is the error for a read that returned no data.
func notFound(op string) error {
	return &VaultError{Op: op, StatusCode: http.StatusNotFound, Messages: []string{"no data"}, Err: ErrNotFound}
}

// splitMultiError unpacks Vault's go-multierror strings, such as
// "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n", into
// one message per error.
func splitMultiError(m string) []string {
	m = strings.TrimSpace(m)
	head, rest, ok := strings.Cut(m, "\n")
	if !ok || !strings.HasSuffix(head, "occurred:") {
		return []string{m}
	}
	var out []string
	for _, line := range strings.Split(rest, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, strings.TrimSpace(strings.TrimPrefix(line, "*")))
		}
	}
	if len(out) == 0 {
		return []string{m}
	}
	return out
}
