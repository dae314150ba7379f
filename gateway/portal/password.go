package portal

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"
)

// Passwords are hashed with argon2id and stored as PHC strings:
//
//	$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>
//
// with salt and hash in unpadded standard base64.

// argonParams are argon2id's cost parameters.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

// defaultArgon is OWASP's first recommended argon2id setting (46 MiB, one
// pass, one lane).
var defaultArgon = argonParams{memory: 46 * 1024, time: 1, threads: 1}

// Limits on what parsePHC accepts, so a damaged row cannot make a login
// cost gigabytes.
const (
	maxArgonMemory  = 1 << 20 // 1 GiB in KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	argonSaltLen    = 16
	argonKeyLen     = 32
)

// Password length limits, in characters.
const (
	minPasswordLen = 12
	maxPasswordLen = 256
)

// hashPassword returns the PHC string of password under p.
func hashPassword(password string, p argonParams) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// phc is a parsed argon2id PHC string.
type phc struct {
	params argonParams
	salt   []byte
	key    []byte
}

var errBadPHC = errors.New("not an argon2id PHC string")

// parsePHC parses an argon2id PHC string.
func parsePHC(s string) (phc, error) {
	var out phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return out, errBadPHC
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return out, fmt.Errorf("%w: version", errBadPHC)
	}
	var seen [3]bool
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" || len(v) > 10 || strings.TrimLeft(v, "0123456789") != "" {
			return out, fmt.Errorf("%w: parameter %q", errBadPHC, kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return out, fmt.Errorf("%w: parameter %q", errBadPHC, kv)
		}
		var i int
		switch k {
		case "m":
			i, out.params.memory = 0, uint32(n)
		case "t":
			i, out.params.time = 1, uint32(n)
		case "p":
			if n > 255 {
				return out, fmt.Errorf("%w: lanes", errBadPHC)
			}
			i, out.params.threads = 2, uint8(n)
		default:
			return out, fmt.Errorf("%w: parameter %q", errBadPHC, k)
		}
		if seen[i] {
			return out, fmt.Errorf("%w: repeated parameter %q", errBadPHC, k)
		}
		seen[i] = true
	}
	p := out.params
	if !seen[0] || !seen[1] || !seen[2] || p.time < 1 || p.time > maxArgonTime || p.threads < 1 ||
		p.threads > maxArgonThreads || p.memory < 8*uint32(p.threads) || p.memory > maxArgonMemory {
		return out, fmt.Errorf("%w: parameters out of range", errBadPHC)
	}
	var err error
	if out.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(out.salt) < 8 || len(out.salt) > 64 {
		return out, fmt.Errorf("%w: salt", errBadPHC)
	}
	if out.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(out.key) < 16 || len(out.key) > 64 {
		return out, fmt.Errorf("%w: hash", errBadPHC)
	}
	return out, nil
}

// checkPassword reports whether password matches the PHC string hash. The
// comparison is constant-time; a malformed hash never matches.
func checkPassword(hash, password string) bool {
	h, err := parsePHC(hash)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.time, h.params.memory, h.params.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// passwordProblem returns the text key of what is wrong with a new
// password for address, or "" when it is acceptable.
func passwordProblem(password, confirm, address string) string {
	n := utf8.RuneCountInString(password)
	local, _, _ := strings.Cut(strings.ToLower(address), "@")
	switch {
	case !utf8.ValidString(password):
		return "err.password.invalid"
	case n < minPasswordLen:
		return "err.password.short"
	case n > maxPasswordLen:
		return "err.password.long"
	case len(local) >= 3 && strings.Contains(strings.ToLower(password), local):
		return "err.password.address"
	case subtle.ConstantTimeCompare([]byte(password), []byte(confirm)) != 1:
		return "err.password.mismatch"
	}
	return ""
}

// TOTP: SHA-1, 6 digits, 30-second steps (what every authenticator app
// reads), one step of skew either way, and each step accepted once.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpSkew   = 1
)

// newTOTPKey returns a fresh 20-byte TOTP key for address.
func newTOTPKey(issuer, address string) (*otp.Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: address, Period: totpPeriod, SecretSize: 20,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to generate TOTP key: %w", err)
	}
	return k, nil
}

// newTOTPKeyFromSecret rebuilds the key of a base32 secret, to show it
// again.
func newTOTPKeyFromSecret(issuer, address, secret string) (*otp.Key, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return nil, fmt.Errorf("failed to decode TOTP secret: %w", err)
	}
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: address, Period: totpPeriod, Secret: raw,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to rebuild TOTP key: %w", err)
	}
	return k, nil
}

// totpQR returns the key's otpauth URL as a PNG data: URI.
func totpQR(k *otp.Key) (string, error) {
	img, err := k.Image(240, 240)
	if err != nil {
		return "", fmt.Errorf("failed to draw TOTP QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("failed to encode TOTP QR code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// groupSecret writes a base32 secret in groups of four, for typing.
func groupSecret(secret string) string {
	var parts []string
	for len(secret) > 4 {
		parts = append(parts, secret[:4])
		secret = secret[4:]
	}
	return strings.Join(append(parts, secret), " ")
}

// totpStep returns the step of a code (one of now's step and its
// neighbours) that matches code, comparing every candidate in constant
// time; ok is false when none does.
func totpStep(secret, code string, now time.Time) (step int64, ok bool) {
	if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret)); err != nil {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	found := 0
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		s := cur + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
		})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found == 0 {
			step, found = s, 1
		}
	}
	return step, found == 1
}
