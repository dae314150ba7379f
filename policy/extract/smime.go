package extract

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// DER of the CMS content type identifiers.
var (
	oidSignedData    = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02}
	oidEnvelopedData = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03}
	oidAuthEnveloped = []byte{0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17}
)

// maxBERDepth bounds nesting in BER.
const maxBERDepth = 32

// smimeFile reads application/pkcs7-mime: enveloped data is encrypted;
// signed data is unwrapped and its content extracted as a MIME entity.
func (s *state) smimeFile(it item) error {
	data := it.data
	if b := bytes.TrimSpace(data); bytes.HasPrefix(b, []byte("-----BEGIN PKCS7-----")) {
		b = bytes.TrimPrefix(b, []byte("-----BEGIN PKCS7-----"))
		b, _, _ = bytes.Cut(b, []byte("-----END PKCS7-----"))
		data = b
	}
	if len(data) > 0 && data[0] != 0x30 { // base64 text rather than DER
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, data)
		n, err := base64.StdEncoding.Decode(dec, clean)
		if err != nil {
			return errors.Join(errUnscannable, err)
		}
		data = dec[:n]
	}
	content, err := cmsSignedContent(data)
	if err != nil {
		return err
	}
	if it.depth+1 > s.lim.MaxDepth {
		return errBudget
	}
	s.nested(bytes.NewReader(content), it.base.child("signed content"), "message/rfc822", it.depth+1)
	return nil
}

// cmsSignedContent returns the encapsulated content of a CMS SignedData
// ContentInfo, errEncrypted for enveloped data, and errUnscannable for
// anything else.
func cmsSignedContent(der []byte) ([]byte, error) {
	ci, ok := berChildren(der, 0x30)
	if !ok || len(ci) < 1 {
		return nil, errUnscannable
	}
	switch {
	case bytes.Equal(ci[0].raw, oidEnvelopedData), bytes.Equal(ci[0].raw, oidAuthEnveloped):
		return nil, errEncrypted
	case !bytes.Equal(ci[0].raw, oidSignedData) || len(ci) < 2:
		return nil, errUnscannable
	}
	// [0] EXPLICIT SignedData
	sd, ok := berChildren(ci[1].raw, 0xa0)
	if !ok || len(sd) < 1 {
		return nil, errUnscannable
	}
	fields, ok := berChildren(sd[0].raw, 0x30)
	if !ok || len(fields) < 3 {
		return nil, errUnscannable
	}
	// version, digestAlgorithms, encapContentInfo
	eci, ok := berChildren(fields[2].raw, 0x30)
	if !ok || len(eci) < 2 {
		return nil, errUnscannable // detached signature: no content here
	}
	wrapped, ok := berChildren(eci[1].raw, 0xa0)
	if !ok || len(wrapped) < 1 {
		return nil, errUnscannable
	}
	return berOctets(wrapped[0], 0), nil
}

// berTLV is one BER element: its first tag byte, its whole encoding (raw)
// and its contents.
type berTLV struct {
	tag  byte
	raw  []byte
	body []byte
}

// berRead reads one element from b and returns it and the rest.
func berRead(b []byte, depth int) (berTLV, []byte, bool) {
	if len(b) < 2 || depth > maxBERDepth {
		return berTLV{}, nil, false
	}
	tag := b[0]
	i := 1
	if tag&0x1f == 0x1f { // high tag number
		for n := 0; ; n++ {
			if i >= len(b) || n > 4 {
				return berTLV{}, nil, false
			}
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return berTLV{}, nil, false
	}
	l := b[i]
	i++
	switch {
	case l < 0x80:
		end := i + int(l)
		if end > len(b) {
			return berTLV{}, nil, false
		}
		return berTLV{tag: tag, raw: b[:end], body: b[i:end]}, b[end:], true
	case l == 0x80: // indefinite: children up to an end-of-contents
		if tag&0x20 == 0 {
			return berTLV{}, nil, false
		}
		j := i
		for {
			if j+1 < len(b) && b[j] == 0 && b[j+1] == 0 {
				return berTLV{tag: tag, raw: b[:j+2], body: b[i:j]}, b[j+2:], true
			}
			_, rest, ok := berRead(b[j:], depth+1)
			if !ok {
				return berTLV{}, nil, false
			}
			j = len(b) - len(rest)
		}
	default:
		n := int(l & 0x7f)
		if n > 4 || i+n > len(b) {
			return berTLV{}, nil, false
		}
		var size uint32
		var buf [4]byte
		copy(buf[4-n:], b[i:i+n])
		size = binary.BigEndian.Uint32(buf[:])
		i += n
		if uint64(i)+uint64(size) > uint64(len(b)) {
			return berTLV{}, nil, false
		}
		end := i + int(size)
		return berTLV{tag: tag, raw: b[:end], body: b[i:end]}, b[end:], true
	}
}

// berChildren reads the element at the start of b, which must have tag
// want, and returns its children.
func berChildren(b []byte, want byte) ([]berTLV, bool) {
	t, _, ok := berRead(b, 0)
	if !ok || t.tag != want {
		return nil, false
	}
	var out []berTLV
	for rest := t.body; len(rest) > 0; {
		c, r, ok := berRead(rest, 1)
		if !ok {
			return out, len(out) > 0
		}
		out = append(out, c)
		rest = r
	}
	return out, true
}

// berOctets returns the contents of an OCTET STRING, joining the chunks of
// a constructed one.
func berOctets(t berTLV, depth int) []byte {
	if t.tag&0x20 == 0 || depth > maxBERDepth {
		return t.body
	}
	var out []byte
	for rest := t.body; len(rest) > 0; {
		c, r, ok := berRead(rest, depth+1)
		if !ok {
			break
		}
		out = append(out, berOctets(c, depth+1)...)
		rest = r
	}
	return out
}

// oleEncrypted reports whether an OLE compound file is an encrypted OOXML
// package: such files hold a stream named "EncryptedPackage".
func oleEncrypted(data []byte) bool {
	name := []byte("EncryptedPackage")
	wide := make([]byte, 0, 2*len(name))
	for _, c := range name {
		wide = append(wide, c, 0)
	}
	return bytes.Contains(data, wide)
}
