package seal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// IDHeader is the header field that carries the signed message id in every
// delivered envelope.
const IDHeader = "X-Sealpost-Id"

// idMACContext separates X-Sealpost-Id MACs from any other use of the key.
const idMACContext = "sealpost-id-v1"

// MinIDKeyBytes is the shortest key [VerifyID] accepts.
const MinIDKeyBytes = 32

// maxIDLen bounds a message id in an X-Sealpost-Id value.
const maxIDLen = 64

// b64 is the encoding of hashes and MACs in X-Sealpost-Id: base64url without
// padding, strict so that each value has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// ErrMalformedID is returned by [ParseID] for a value it cannot parse.
var ErrMalformedID = errors.New("seal: malformed X-Sealpost-Id")

// NewMessageID returns a new unguessable message id: 144 bits from
// crypto/rand, base64url encoded (24 characters, safe in URLs and paths).
func NewMessageID() string {
	return b64.EncodeToString(randBytes(18))
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails; see crypto/rand.Read
	return b
}

// SignID returns the X-Sealpost-Id value
//
//	<id>; v=1; h=<base64url sha256 of ciphertext>; m=<base64url MAC>
//
// where MAC = HMAC-SHA256(key, "sealpost-id-v1" || id || sha256). The hash
// has a fixed length, so the MAC input is unambiguous. id must be a
// [NewMessageID] id, key at least [MinIDKeyBytes] long and
// ciphertextSHA256 32 bytes; otherwise the value will not verify.
func SignID(key []byte, id string, ciphertextSHA256 []byte) string {
	return fmt.Sprintf("%s; v=1; h=%s; m=%s", id,
		b64.EncodeToString(ciphertextSHA256), b64.EncodeToString(idMAC(key, id, ciphertextSHA256)))
}

func idMAC(key []byte, id string, sum []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(idMACContext))
	m.Write([]byte(id))
	m.Write(sum)
	return m.Sum(nil)
}

// ParseID parses an X-Sealpost-Id value without checking its MAC. Spaces
// and tabs around each element are ignored (the field may have been
// folded); the parameters v, h and m must each appear exactly once, in any
// order, v must be 1, and nothing else is allowed.
func ParseID(value string) (id string, ciphertextSHA256, mac []byte, err error) {
	parts := strings.Split(value, ";")
	id = strings.Trim(parts[0], " \t")
	if !validID(id) {
		return "", nil, nil, fmt.Errorf("%w: bad id", ErrMalformedID)
	}
	var haveV bool
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.Trim(p, " \t"), "=")
		if !ok {
			return "", nil, nil, fmt.Errorf("%w: parameter without value", ErrMalformedID)
		}
		switch k {
		case "v":
			if haveV || v != "1" {
				return "", nil, nil, fmt.Errorf("%w: bad or repeated version", ErrMalformedID)
			}
			haveV = true
		case "h":
			if ciphertextSHA256 != nil {
				return "", nil, nil, fmt.Errorf("%w: repeated hash", ErrMalformedID)
			}
			if ciphertextSHA256, err = decode32(v); err != nil {
				return "", nil, nil, fmt.Errorf("%w: bad hash", ErrMalformedID)
			}
		case "m":
			if mac != nil {
				return "", nil, nil, fmt.Errorf("%w: repeated MAC", ErrMalformedID)
			}
			if mac, err = decode32(v); err != nil {
				return "", nil, nil, fmt.Errorf("%w: bad MAC", ErrMalformedID)
			}
		default:
			return "", nil, nil, fmt.Errorf("%w: unknown parameter", ErrMalformedID)
		}
	}
	if !haveV || ciphertextSHA256 == nil || mac == nil {
		return "", nil, nil, fmt.Errorf("%w: missing parameter", ErrMalformedID)
	}
	return id, ciphertextSHA256, mac, nil
}

// VerifyID parses value and checks its MAC with key, in constant time. It
// returns ok false for a malformed value, a wrong MAC or a key shorter than
// [MinIDKeyBytes].
func VerifyID(key []byte, value string) (id string, ciphertextSHA256 []byte, ok bool) {
	if len(key) < MinIDKeyBytes {
		return "", nil, false
	}
	id, sum, mac, err := ParseID(value)
	if err != nil {
		return "", nil, false
	}
	if !hmac.Equal(mac, idMAC(key, id, sum)) {
		return "", nil, false
	}
	return id, sum, true
}

// validID reports whether id is a plausible message id: 1 to 64 base64url
// characters.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func decode32(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) != sha256.Size {
		return nil, errors.New("wrong length")
	}
	return b, nil
}
