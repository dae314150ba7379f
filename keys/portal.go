package keys

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The portal key is a derived aes256-gcm96 Transit key: Vault derives a
// separate key from every context, so a ciphertext sealed for one context
// ("totp:" + address) never opens under another ("phone:" + address, or
// another address).

// maxPortalCiphertext bounds what OpenPortal sends to Vault.
const maxPortalCiphertext = 64 << 10

// maxPortalContext bounds a key-derivation context.
const maxPortalContext = 1024

// SealPortal encrypts plaintext with the portal key through Transit
// encrypt, deriving the key from context (for example "totp:" + address
// or "phone:" + address). It returns Transit's "vault:v<N>:…" ciphertext,
// which only [Client.OpenPortal] with the same context opens. The portal
// policy allows it; relay and admin tokens get [ErrPermissionDenied].
func (c *Client) SealPortal(ctx context.Context, context string, plaintext []byte) (string, error) {
	if err := checkPortalContext(context); err != nil {
		return "", fmt.Errorf("failed to seal portal secret: %w", err)
	}
	if len(plaintext) == 0 {
		return "", errors.New("failed to seal portal secret: empty plaintext")
	}
	d, err := c.write(ctx, "transit encrypt", c.transitPath("encrypt", c.cfg.PortalKey), map[string]any{
		"plaintext": base64.StdEncoding.EncodeToString(plaintext),
		"context":   base64.StdEncoding.EncodeToString([]byte(context)),
	})
	if err != nil {
		return "", fmt.Errorf("failed to seal portal secret: %w", err)
	}
	ct, _ := d["ciphertext"].(string)
	if !strings.HasPrefix(ct, "vault:v") {
		return "", errors.New("failed to seal portal secret: vault returned no ciphertext")
	}
	return ct, nil
}

// OpenPortal decrypts a ciphertext from [Client.SealPortal] through Transit
// decrypt with the same context. A ciphertext that does not open under
// context (sealed for another one, or altered) gives an error matching
// [ErrPortalCiphertext]; a token without the portal policy gets
// [ErrPermissionDenied].
func (c *Client) OpenPortal(ctx context.Context, context string, ciphertext string) ([]byte, error) {
	if err := checkPortalContext(context); err != nil {
		return nil, fmt.Errorf("failed to open portal secret: %w", err)
	}
	if !strings.HasPrefix(ciphertext, "vault:v") || len(ciphertext) > maxPortalCiphertext ||
		strings.ContainsAny(ciphertext, " \t\r\n") {
		return nil, fmt.Errorf("failed to open portal secret: %w: not a Transit ciphertext", ErrPortalCiphertext)
	}
	d, err := c.write(ctx, "transit decrypt", c.transitPath("decrypt", c.cfg.PortalKey), map[string]any{
		"ciphertext": ciphertext,
		"context":    base64.StdEncoding.EncodeToString([]byte(context)),
	})
	if err != nil {
		var ve *VaultError
		if errors.As(err, &ve) && ve.StatusCode == http.StatusBadRequest {
			// Vault answers 400 when authentication fails under the derived
			// key (wrong context) or the ciphertext is malformed.
			return nil, fmt.Errorf("failed to open portal secret: %w: %v", ErrPortalCiphertext, err)
		}
		return nil, fmt.Errorf("failed to open portal secret: %w", err)
	}
	p64, _ := d["plaintext"].(string)
	pt, err := base64.StdEncoding.DecodeString(p64)
	if err != nil || len(pt) == 0 {
		return nil, errors.New("failed to open portal secret: vault returned no plaintext")
	}
	return pt, nil
}

func checkPortalContext(context string) error {
	if context == "" || len(context) > maxPortalContext {
		return fmt.Errorf("key-derivation context must be 1 to %d bytes", maxPortalContext)
	}
	return nil
}

// Enrollment codes.
const (
	// enrollPrefix starts the HMAC input of an enrollment code.
	enrollPrefix = "sealpost-enroll-v1\x00"
	// crockford is Crockford's base32 alphabet: no I, L, O or U.
	crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	// enrollChars is the number of base32 characters in a code (60 bits).
	enrollChars = 12
	// maxAddressLen bounds a recipient address (RFC 5321's path limit).
	maxAddressLen = 256
)

// EnrollmentCode returns the out-of-band enrollment code of recipient
// rcpt for message msgID: Transit HMAC-SHA-256 with the portal key over
//
//	"sealpost-enroll-v1" NUL msgID NUL lowercase(rcpt)
//
// whose first 60 bits are written as 12 characters of Crockford base32 in
// three groups, "XXXX-XXXX-XXXX". The code is stored nowhere: the portal
// recomputes it to check what a recipient types (see
// [EnrollmentCodesEqual]), and `sealpost message show` recomputes it for
// the admin to pass on out of band. The portal and admin policies allow
// it; the relay gets [ErrPermissionDenied]. Rotating the portal key
// changes every code not yet used.
func (c *Client) EnrollmentCode(ctx context.Context, msgID, rcpt string) (string, error) {
	if err := checkMsgID(msgID); err != nil {
		return "", fmt.Errorf("failed to compute enrollment code: %w", err)
	}
	if rcpt == "" || len(rcpt) > maxAddressLen || strings.IndexByte(rcpt, 0) >= 0 {
		return "", fmt.Errorf("failed to compute enrollment code: recipient must be 1 to %d bytes without NUL", maxAddressLen)
	}
	input := enrollPrefix + msgID + "\x00" + strings.ToLower(rcpt)
	d, err := c.write(ctx, "transit hmac", c.transitPath("hmac", c.cfg.PortalKey)+"/sha2-256", map[string]any{
		"input": base64.StdEncoding.EncodeToString([]byte(input)),
	})
	if err != nil {
		return "", fmt.Errorf("failed to compute enrollment code: %w", err)
	}
	mac, _ := d["hmac"].(string)
	_, sum, err := parseTransitCiphertext([]byte(mac))
	if err != nil || len(sum) < 8 {
		return "", errors.New("failed to compute enrollment code: vault returned a malformed HMAC")
	}
	return enrollmentCode(sum), nil
}

// enrollmentCode formats the first 60 bits of sum as a code.
func enrollmentCode(sum []byte) string {
	v := binary.BigEndian.Uint64(sum[:8]) >> 4
	var raw [enrollChars]byte
	for i := enrollChars - 1; i >= 0; i-- {
		raw[i] = crockford[v&31]
		v >>= 5
	}
	return formatCode(raw[:])
}

func formatCode(raw []byte) string {
	return string(raw[0:4]) + "-" + string(raw[4:8]) + "-" + string(raw[8:12])
}

// NormalizeEnrollmentCode returns the canonical form "XXXX-XXXX-XXXX" of a
// code as a person may type it: in any case, with spaces or dashes
// anywhere, with O for 0 and I or L for 1. It reports false for anything
// else, including a U, a wrong length or another character.
func NormalizeEnrollmentCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	raw := make([]byte, 0, enrollChars)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '-' || ch == '\t':
			continue
		case ch >= 'a' && ch <= 'z':
			ch -= 'a' - 'A'
		}
		switch ch {
		case 'O':
			ch = '0'
		case 'I', 'L':
			ch = '1'
		}
		if strings.IndexByte(crockford, ch) < 0 || len(raw) == enrollChars {
			return "", false
		}
		raw = append(raw, ch)
	}
	if len(raw) != enrollChars {
		return "", false
	}
	return formatCode(raw), true
}

// EnrollmentCodesEqual reports whether given, as a person typed it, is the
// code want (as [Client.EnrollmentCode] returned it). The comparison takes
// the same time whichever characters differ.
func EnrollmentCodesEqual(want, given string) bool {
	w, okW := NormalizeEnrollmentCode(want)
	g, okG := NormalizeEnrollmentCode(given)
	eq := subtle.ConstantTimeCompare([]byte(w), []byte(g))
	return okW && okG && eq == 1
}

// Purposes of [Client.WrapData].
const (
	// PurposePhone binds a phone number the sender supplied for one
	// recipient of a message.
	PurposePhone = "phone"
)

// dataPrefix starts the RSA-OAEP plaintext of [Client.WrapData]; it differs
// from the identity binding ("sealpost-wrap-v1"), so neither kind of blob
// opens as the other.
const dataPrefix = "sealpost-data-v1\x00"

// maxPurposeLen bounds a WrapData purpose.
const maxPurposeLen = 32

func checkPurpose(p string) error {
	if p == "" || len(p) > maxPurposeLen {
		return fmt.Errorf("purpose must be 1 to %d bytes", maxPurposeLen)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return errors.New("purpose must be lowercase letters, digits and '-'")
		}
	}
	return nil
}

// WrapData wraps data other than a message identity, such as a recipient's
// phone number (purpose [PurposePhone]), for message msgID. Like
// [Client.Wrap] it runs locally with the wrap key's public half (RSA-OAEP,
// the [Wrapped] format, tag "spw1"), and only Transit decrypt opens the
// result. The plaintext is bound to both the purpose and the message id:
//
//	"sealpost-data-v1" NUL purpose NUL message-id NUL data
//
// so [Client.UnwrapData] refuses it for another purpose or message, and
// [Client.Unwrap] (which opens identities) refuses it altogether, as
// UnwrapData refuses a wrapped identity.
func (c *Client) WrapData(ctx context.Context, msgID, purpose string, data []byte) ([]byte, error) {
	if err := checkPurpose(purpose); err != nil {
		return nil, fmt.Errorf("failed to wrap data: %w", err)
	}
	if err := checkWrapInput(msgID, data); err != nil {
		return nil, fmt.Errorf("failed to wrap data: %w", err)
	}
	pt := bindData(purpose, msgID, data)
	defer clear(pt)
	out, err := c.wrapLocal(ctx, pt)
	if err != nil {
		return nil, fmt.Errorf("failed to wrap data: %w", err)
	}
	return out, nil
}

// UnwrapData opens what [Client.WrapData] wrapped for msgID and purpose,
// through Transit decrypt (portal and admin tokens; Vault's audit device
// records it). A blob bound to another message gives [ErrWrongMessage];
// one bound to another purpose, or a wrapped identity, gives
// [ErrMalformedWrapped].
func (c *Client) UnwrapData(ctx context.Context, msgID, purpose string, wrapped []byte) ([]byte, error) {
	if err := checkPurpose(purpose); err != nil {
		return nil, fmt.Errorf("failed to unwrap data: %w", err)
	}
	if err := checkMsgID(msgID); err != nil {
		return nil, fmt.Errorf("failed to unwrap data: %w", err)
	}
	pt, err := c.decryptWrapped(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("failed to unwrap data: %w", err)
	}
	defer clear(pt)
	gotPurpose, id, data, err := parseBoundData(pt)
	if err != nil {
		return nil, fmt.Errorf("failed to unwrap data: %w", err)
	}
	if gotPurpose != purpose {
		return nil, fmt.Errorf("failed to unwrap data: %w: bound to another purpose", ErrMalformedWrapped)
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(msgID)) != 1 {
		return nil, fmt.Errorf("failed to unwrap data: %w", ErrWrongMessage)
	}
	return bytes.Clone(data), nil
}

func bindData(purpose, msgID string, data []byte) []byte {
	p := make([]byte, 0, len(dataPrefix)+len(purpose)+len(msgID)+2+len(data))
	p = append(p, dataPrefix...)
	p = append(p, purpose...)
	p = append(p, 0)
	p = append(p, msgID...)
	p = append(p, 0)
	return append(p, data...)
}

// parseBoundData splits a WrapData plaintext into purpose, message id and
// data.
func parseBoundData(p []byte) (purpose, msgID string, data []byte, err error) {
	rest, ok := bytes.CutPrefix(p, []byte(dataPrefix))
	if !ok {
		return "", "", nil, fmt.Errorf("%w: not wrapped data", ErrMalformedWrapped)
	}
	pur, rest, ok := bytes.Cut(rest, []byte{0})
	if !ok {
		return "", "", nil, fmt.Errorf("%w: no purpose terminator", ErrMalformedWrapped)
	}
	if err := checkPurpose(string(pur)); err != nil {
		return "", "", nil, fmt.Errorf("%w: %v", ErrMalformedWrapped, err)
	}
	id, data, ok := bytes.Cut(rest, []byte{0})
	if !ok {
		return "", "", nil, fmt.Errorf("%w: no message id terminator", ErrMalformedWrapped)
	}
	if err := checkMsgID(string(id)); err != nil {
		return "", "", nil, fmt.Errorf("%w: %v", ErrMalformedWrapped, err)
	}
	if len(data) == 0 {
		return "", "", nil, fmt.Errorf("%w: empty data", ErrMalformedWrapped)
	}
	return string(pur), string(id), data, nil
}
