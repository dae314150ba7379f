package keys

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
)

// WrapScheme says how a wrapped secret was produced. Both schemes yield a
// Transit ciphertext of the wrap key that Transit decrypt opens.
type WrapScheme uint8

const (
	// SchemeLocal is RSA-OAEP (SHA-256, empty label) computed by the relay
	// with the exported public half of the wrap key. Tag "spw1".
	SchemeLocal WrapScheme = 1
	// SchemeTransit is a Transit encrypt call (batched). Tag "spt1".
	SchemeTransit WrapScheme = 2
)

const (
	tagLocal   = "spw1"
	tagTransit = "spt1"
	// maxWrappedCiphertext bounds the decoded ciphertext: an RSA-8192
	// ciphertext is 1024 bytes, and Transit's largest RSA key is 4096 bits.
	maxWrappedCiphertext = 1024
)

func (s WrapScheme) String() string {
	switch s {
	case SchemeLocal:
		return "local-rsa-oaep"
	case SchemeTransit:
		return "transit-encrypt"
	}
	return "unknown"
}

// Wrapped is a parsed wrapped secret.
//
// # Format
//
// A wrapped secret is ASCII, one line, no trailing newline:
//
//	wrapped    = tag ":" transit-ct
//	tag        = "spw1"   ; format 1, wrapped locally (SchemeLocal)
//	           / "spt1"   ; format 1, wrapped by Transit encrypt (SchemeTransit)
//	transit-ct = "vault:v" version ":" base64
//	version    = %x31-39 *DIGIT   ; wrap key version, no leading zero
//	base64     = RFC 4648 standard alphabet, padded, canonical
//
// transit-ct is exactly the ciphertext format Transit decrypt accepts. The
// RSA-OAEP plaintext inside it is
//
//	"sealpost-wrap-v1" NUL message-id NUL secret
//
// so an unwrap checks that the secret belongs to the message asked for.
// A future format uses a new tag; parsers reject tags they do not know.
// Each wrapped secret has exactly one encoding: ParseWrapped followed by
// Marshal returns the input unchanged.
type Wrapped struct {
	Scheme     WrapScheme
	KeyVersion int
	Ciphertext []byte
}

// ParseWrapped parses a wrapped secret. Errors match ErrMalformedWrapped.
func ParseWrapped(b []byte) (Wrapped, error) {
	bad := func(why string) (Wrapped, error) {
		return Wrapped{}, fmt.Errorf("%w: %s", ErrMalformedWrapped, why)
	}
	tag, rest, ok := bytes.Cut(b, []byte(":"))
	if !ok {
		return bad("no scheme tag")
	}
	var w Wrapped
	switch string(tag) {
	case tagLocal:
		w.Scheme = SchemeLocal
	case tagTransit:
		w.Scheme = SchemeTransit
	default:
		return bad("unknown scheme tag")
	}
	v, ct, err := parseTransitCiphertext(rest)
	if err != nil {
		return bad(err.Error())
	}
	w.KeyVersion, w.Ciphertext = v, ct
	return w, nil
}

// parseTransitCiphertext parses "vault:v<N>:<base64>" strictly.
func parseTransitCiphertext(b []byte) (int, []byte, error) {
	rest, ok := bytes.CutPrefix(b, []byte("vault:v"))
	if !ok {
		return 0, nil, fmt.Errorf("no vault:v prefix")
	}
	num, b64, ok := bytes.Cut(rest, []byte(":"))
	if !ok {
		return 0, nil, fmt.Errorf("no key version separator")
	}
	if len(num) == 0 || len(num) > 9 || num[0] == '0' {
		return 0, nil, fmt.Errorf("bad key version")
	}
	for _, ch := range num {
		if ch < '0' || ch > '9' {
			return 0, nil, fmt.Errorf("bad key version")
		}
	}
	v, err := strconv.Atoi(string(num))
	if err != nil {
		return 0, nil, fmt.Errorf("bad key version")
	}
	// The standard decoder silently skips CR and LF; refuse them so that the
	// encoding stays canonical.
	if bytes.ContainsAny(b64, "\r\n") {
		return 0, nil, fmt.Errorf("line break in ciphertext")
	}
	if len(b64) == 0 || len(b64) > base64.StdEncoding.EncodedLen(maxWrappedCiphertext) {
		return 0, nil, fmt.Errorf("bad ciphertext length")
	}
	ct, err := base64.StdEncoding.Strict().DecodeString(string(b64))
	if err != nil {
		return 0, nil, fmt.Errorf("bad ciphertext encoding")
	}
	return v, ct, nil
}

// TransitCiphertext returns the "vault:v<N>:<base64>" string that Transit
// decrypt (and rewrap) accept.
func (w Wrapped) TransitCiphertext() string {
	return "vault:v" + strconv.Itoa(w.KeyVersion) + ":" + base64.StdEncoding.EncodeToString(w.Ciphertext)
}

// Marshal returns the wrapped secret's encoding.
func (w Wrapped) Marshal() []byte {
	tag := tagLocal
	if w.Scheme == SchemeTransit {
		tag = tagTransit
	}
	return []byte(tag + ":" + w.TransitCiphertext())
}

const bindPrefix = "sealpost-wrap-v1\x00"

// maxMsgIDLen bounds message ids so that id and secret fit one RSA-OAEP
// block of the rsa-4096 wrap key together with any age identity string.
const maxMsgIDLen = 128

func checkMsgID(msgID string) error {
	if msgID == "" || len(msgID) > maxMsgIDLen {
		return fmt.Errorf("message id must be 1 to %d bytes", maxMsgIDLen)
	}
	for i := 0; i < len(msgID); i++ {
		if c := msgID[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("message id must be printable ASCII without spaces")
		}
	}
	return nil
}

// bindPlaintext returns the plaintext that is wrapped for msgID.
func bindPlaintext(msgID string, secret []byte) []byte {
	p := make([]byte, 0, len(bindPrefix)+len(msgID)+1+len(secret))
	p = append(p, bindPrefix...)
	p = append(p, msgID...)
	p = append(p, 0)
	return append(p, secret...)
}

// parseBound splits an unwrapped plaintext into message id and secret.
func parseBound(p []byte) (msgID string, secret []byte, err error) {
	rest, ok := bytes.CutPrefix(p, []byte(bindPrefix))
	if !ok {
		return "", nil, fmt.Errorf("%w: unknown plaintext binding", ErrMalformedWrapped)
	}
	id, secret, ok := bytes.Cut(rest, []byte{0})
	if !ok {
		return "", nil, fmt.Errorf("%w: no message id terminator", ErrMalformedWrapped)
	}
	if err := checkMsgID(string(id)); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrMalformedWrapped, err)
	}
	if len(secret) == 0 {
		return "", nil, fmt.Errorf("%w: empty secret", ErrMalformedWrapped)
	}
	return string(id), secret, nil
}
