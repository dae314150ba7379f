package policy

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// Kinds of encryption a message can already carry, as reported by
// DetectEncrypted, SniffEncrypted and Decision.Encrypted.
const (
	EncryptedPGPMIME   = "pgp-mime"
	EncryptedPGPInline = "pgp-inline"
	EncryptedSMIME     = "smime-enveloped"
	EncryptedAge       = "age"
)

// Limits for sniffing a body.
const (
	maxSniffLine   = 64 << 10 // longest line accepted in an armored body
	maxAgeHeader   = 64 << 10 // longest age header accepted
	smimeProbeSize = 64       // bytes of DER searched for the content type OID
)

// DetectEncrypted tells from the top-level header alone whether a message is
// already encrypted: "pgp-mime" for multipart/encrypted with
// protocol=application/pgp-encrypted, "smime-enveloped" for
// application/(x-)pkcs7-mime with smime-type enveloped-data or
// authEnveloped-data (signed-data and compressed-data do not count, nor does a
// missing smime-type), "age" for application/age (or x-age, age-encrypted),
// and "" otherwise, including for malformed headers.
//
// A header is only a claim; SniffEncrypted also checks that the body is
// ciphertext.
func DetectEncrypted(h textproto.Header) string {
	mt, params := contentType(h)
	switch mt {
	case "multipart/encrypted":
		if strings.EqualFold(strings.TrimSpace(params["protocol"]), "application/pgp-encrypted") {
			return EncryptedPGPMIME
		}
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		switch strings.ToLower(strings.TrimSpace(params["smime-type"])) {
		case "enveloped-data", "authenveloped-data":
			return EncryptedSMIME
		}
	case "application/age", "application/x-age", "application/age-encrypted":
		return EncryptedAge
	}
	return ""
}

// contentType returns the lower-case media type and parameters of h's
// Content-Type, or "" when it is missing or cannot be parsed.
func contentType(h textproto.Header) (string, map[string]string) {
	v := h.Get("Content-Type")
	if strings.TrimSpace(v) == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil && err != mime.ErrInvalidMediaParameter {
		return "", nil
	}
	return strings.ToLower(mt), params
}

// SniffEncrypted reads a whole raw message (header and body) and reports what
// encryption it carries, checking the body as well as the header:
//   - a PGP/MIME message must hold an application/pgp-encrypted part and then
//     an application/octet-stream part that is one complete armored PGP
//     message, and nothing else;
//   - an S/MIME enveloped message must be DER (after its transfer encoding)
//     that declares enveloped-data or authEnveloped-data;
//   - an age message must start with the age header or age armor;
//   - a text/plain (or untyped) body that is exactly one armored PGP message
//     is "pgp-inline", and one age file is "age".
//
// Anything else, including plaintext after the armor, is "". A claim the
// body does not back is "", which is the safe answer: the message is then
// classified as plaintext. Errors come only from reading r.
func SniffEncrypted(r io.Reader) (string, error) {
	br := bufio.NewReader(r)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		// Not a parsable message: certainly not one we can vouch for.
		return "", nil
	}
	kind := DetectEncrypted(h)
	mt, params := contentType(h)
	body := decodeTransfer(h, br)
	var ok bool
	switch kind {
	case EncryptedPGPMIME:
		ok = checkPGPMIME(body, params["boundary"])
	case EncryptedSMIME:
		ok = checkSMIME(body)
	case EncryptedAge:
		_, ok = checkAgeOrPGP(body, false)
	default:
		if mt == "" || mt == "text/plain" {
			kind, ok = checkAgeOrPGP(body, true)
		}
	}
	if !ok {
		return "", nil
	}
	return kind, nil
}

// sniffOpen runs SniffEncrypted on a message opened with open.
func sniffOpen(open func() (io.ReadCloser, error)) (string, error) {
	rc, err := open()
	if err != nil {
		return "", fmt.Errorf("failed to open message: %w", err)
	}
	defer rc.Close()
	return SniffEncrypted(rc)
}

// decodeTransfer undoes a part's Content-Transfer-Encoding. Decoding errors
// surface as read errors, which the checks treat as "not encrypted".
func decodeTransfer(h textproto.Header, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

func checkPGPMIME(body io.Reader, boundary string) bool {
	if boundary == "" {
		return false
	}
	mr := textproto.NewMultipartReader(body, boundary)
	p1, err := mr.NextPart()
	if err != nil {
		return false
	}
	if mt, _ := contentType(p1.Header); mt != "application/pgp-encrypted" {
		return false
	}
	// The control part says "Version: 1"; keep it small.
	if n, err := io.Copy(io.Discard, io.LimitReader(p1, 4<<10+1)); err != nil || n > 4<<10 {
		return false
	}
	p2, err := mr.NextPart()
	if err != nil {
		return false
	}
	if mt, _ := contentType(p2.Header); mt != "application/octet-stream" {
		return false
	}
	if kind, ok := checkAgeOrPGP(decodeTransfer(p2.Header, p2), true); !ok || kind != EncryptedPGPInline {
		return false
	}
	_, err = mr.NextPart()
	return err == io.EOF
}

var (
	oidEnvelopedData     = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03}
	oidAuthEnvelopedData = []byte{0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17}
)

func checkSMIME(body io.Reader) bool {
	head := make([]byte, smimeProbeSize)
	n, err := io.ReadFull(body, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return false
	}
	head = head[:n]
	if len(head) < 2 || head[0] != 0x30 {
		return false
	}
	if !bytes.Contains(head, oidEnvelopedData) && !bytes.Contains(head, oidAuthEnvelopedData) {
		return false
	}
	// The rest must decode cleanly too.
	_, err = io.Copy(io.Discard, body)
	return err == nil
}

// checkAgeOrPGP checks that body is exactly one armored PGP message
// (pgp-inline, only if allowPGP), one armored age file, or a binary age file.
func checkAgeOrPGP(body io.Reader, allowPGP bool) (string, bool) {
	br := bufio.NewReaderSize(body, 4096)
	// Skip leading blank lines.
	var first string
	for {
		line, err := readLine(br)
		if err != nil {
			return "", false
		}
		if strings.TrimSpace(line) != "" {
			first = strings.TrimRight(line, " \t\r")
			break
		}
	}
	switch {
	case first == "age-encryption.org/v1":
		return EncryptedAge, checkAgeHeader(br)
	case first == "-----BEGIN AGE ENCRYPTED FILE-----":
		return EncryptedAge, checkArmorBody(br, "-----END AGE ENCRYPTED FILE-----", false)
	case allowPGP && first == "-----BEGIN PGP MESSAGE-----":
		return EncryptedPGPInline, checkArmorBody(br, "-----END PGP MESSAGE-----", true)
	}
	return "", false
}

// readLine reads one line without its line ending, refusing overlong lines.
func readLine(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		frag, err := br.ReadSlice('\n')
		sb.Write(frag)
		if sb.Len() > maxSniffLine {
			return "", fmt.Errorf("line too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && (err != io.EOF || sb.Len() == 0) {
			return "", err
		}
		return strings.TrimRight(sb.String(), "\r\n"), nil
	}
}

// checkArmorBody checks the rest of an armored block: optional armor headers
// (PGP only), base64 lines, an optional checksum line, the end line, and then
// nothing but blank lines.
func checkArmorBody(br *bufio.Reader, end string, headers bool) bool {
	data := 0
	inHeaders := headers
	for {
		line, err := readLine(br)
		if err != nil {
			return false
		}
		line = strings.TrimRight(line, " \t")
		if line == end {
			break
		}
		if inHeaders {
			if line == "" {
				inHeaders = false
				continue
			}
			if k, _, ok := strings.Cut(line, ": "); ok && k != "" && !strings.ContainsAny(k, " =") {
				continue
			}
			inHeaders = false // headers are optional
		}
		if line == "" {
			continue
		}
		if headers && line[0] == '=' && len(line) == 5 && isBase64(line[1:]) {
			continue // CRC-24 checksum
		}
		if !isBase64(line) {
			return false
		}
		data++
	}
	if data == 0 {
		return false
	}
	for {
		line, err := readLine(br)
		if err == io.EOF {
			return true
		}
		if err != nil || strings.TrimSpace(line) != "" {
			return false
		}
	}
}

func isBase64(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// checkAgeHeader checks the rest of a binary age header after the version
// line: stanzas ("-> type args" followed by base64 lines) and the MAC line
// ("--- " and 43 base64 characters). The payload after it is binary and
// cannot be checked.
func checkAgeHeader(br *bufio.Reader) bool {
	read, stanzas := 0, 0
	for read < maxAgeHeader {
		line, err := readLine(br)
		if err != nil {
			return false
		}
		read += len(line) + 1
		switch {
		case strings.HasPrefix(line, "--- "):
			mac := line[4:]
			return stanzas > 0 && len(mac) == 43 && isBase64(mac)
		case strings.HasPrefix(line, "-> "):
			stanzas++
		case stanzas > 0 && (line == "" || (len(line) <= 64 && isBase64(line))):
		default:
			return false
		}
	}
	return false
}
