package seal

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/emersion/go-message"
)

// wantBase64Lines is the reference: the standard encoding of src cut into
// lines of 76 characters joined by CRLF, the last line not ended.
func wantBase64Lines(src []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(src)
	var lines []string
	for len(enc) > lineChars {
		lines = append(lines, enc[:lineChars])
		enc = enc[lineChars:]
	}
	if enc != "" {
		lines = append(lines, enc)
	}
	return []byte(strings.Join(lines, "\r\n"))
}

// encodeInWrites encodes src with base64Lines, cutting it into writes of
// the given sizes in turn.
func encodeInWrites(t testing.TB, src []byte, sizes []int) []byte {
	t.Helper()
	var out bytes.Buffer
	e := newBase64Lines(&out)
	for i := 0; len(src) > 0; i++ {
		n := min(len(src), max(sizes[i%len(sizes)], 1))
		if m, err := e.Write(src[:n]); err != nil || m != n {
			t.Fatalf("Write = %d, %v; want %d, nil", m, err, n)
		}
		src = src[n:]
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestBase64Lines(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	sizes := []int{0, 1, 2, 3, 56, 57, 58, 113, 114, 115, 57 * outLines, 57*outLines + 1, 57 * 2 * outLines, 100_000, 161_246}
	writes := [][]int{{1 << 30}, {1}, {56}, {57}, {58}, {7, 1000, 3}, {32 << 10}}
	for _, size := range sizes {
		src := make([]byte, size)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		want := wantBase64Lines(src)
		for _, w := range writes {
			if got := encodeInWrites(t, src, w); !bytes.Equal(got, want) {
				t.Errorf("%d bytes in writes of %v: output differs from the standard encoding", size, w)
			}
		}
	}
}

// errWriter fails every write.
type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestBase64LinesWriteError(t *testing.T) {
	boom := errors.New("disk full")
	e := newBase64Lines(errWriter{boom})
	// Less than the buffer: the error shows at Close.
	if _, err := e.Write(make([]byte, 1000)); err != nil {
		t.Fatalf("Write = %v, want nil (buffered)", err)
	}
	if err := e.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close = %v, want %v", err, boom)
	}
	// More than the buffer: the error shows at Write, and sticks.
	e = newBase64Lines(errWriter{boom})
	if _, err := e.Write(make([]byte, 57*outLines*2)); !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want %v", err, boom)
	}
	if _, err := e.Write([]byte("x")); !errors.Is(err, boom) {
		t.Fatalf("second Write = %v, want the sticky %v", err, boom)
	}
}

func FuzzBase64Lines(f *testing.F) {
	f.Add([]byte(""), uint8(1), uint8(1))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 abc\n"), uint8(3), uint8(57))
	f.Add(bytes.Repeat([]byte{0xff}, 500), uint8(56), uint8(58))
	f.Fuzz(func(t *testing.T, src []byte, w1, w2 uint8) {
		got := encodeInWrites(t, src, []int{int(w1), int(w2)})
		if want := wantBase64Lines(src); !bytes.Equal(got, want) {
			t.Fatalf("output differs from the standard encoding:\ngot  %q\nwant %q", got, want)
		}
		dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(got), "\r\n", ""))
		if err != nil || !bytes.Equal(dec, src) {
			t.Fatalf("output does not decode to the input: %v", err)
		}
	})
}

// writeEnvelopeGoMessage is WriteEnvelope as it was written with go-message's
// entity writer, which encodes base64 through its own line wrapper: the
// reference the current writer must match byte for byte.
func writeEnvelopeGoMessage(dst io.Writer, e Envelope, ciphertext io.Reader) error {
	h, data, err := envelopeHeader(e, newBoundary())
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(dst)
	mw, err := message.CreateWriter(bw, h)
	if err != nil {
		return err
	}
	var alt message.Header
	alt.SetContentType("multipart/alternative", map[string]string{"boundary": newBoundary()})
	aw, err := mw.CreatePart(alt)
	if err != nil {
		return err
	}
	for _, p := range []struct {
		mediaType string
		execute   func(io.Writer, any) error
	}{
		{"text/plain", noticeText.Execute},
		{"text/html", noticeHTML.Execute},
	} {
		var ph message.Header
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		ph.SetContentType(p.mediaType, map[string]string{"charset": "utf-8"})
		pw, err := aw.CreatePart(ph)
		if err != nil {
			return err
		}
		if err := p.execute(pw, data); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	if err := aw.Close(); err != nil {
		return err
	}
	var ah message.Header
	ah.Set("Content-Transfer-Encoding", "base64")
	ah.SetContentDisposition("attachment", map[string]string{"filename": AttachmentName})
	ah.SetContentType(AttachmentType, map[string]string{"name": AttachmentName})
	cw, err := mw.CreatePart(ah)
	if err != nil {
		return err
	}
	if _, err := io.Copy(cw, ciphertext); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// TestWriteEnvelopeMatchesGoMessage checks that WriteEnvelope writes the
// same bytes as go-message's entity writer, boundaries aside, for
// ciphertexts around line and buffer boundaries.
func TestWriteEnvelopeMatchesGoMessage(t *testing.T) {
	normalise := func(b []byte) []byte {
		n := 0
		seen := map[string]string{}
		return boundaryRE.ReplaceAllFunc(b, func(m []byte) []byte {
			if _, ok := seen[string(m)]; !ok {
				n++
				seen[string(m)] = fmt.Sprintf("BOUNDARY-%d", n)
			}
			return []byte(seen[string(m)])
		})
	}
	rng := mrand.New(mrand.NewPCG(3, 4))
	for _, size := range []int{0, 1, 56, 57, 58, 57 * 4, 57 * outLines, 120 << 10, 161_246} {
		ct := make([]byte, size)
		for i := range ct {
			ct[i] = byte(rng.Uint32())
		}
		sum := sha256.Sum256(ct)
		env := testEnvelope(t, phiOriginal, sum[:])
		var got, want bytes.Buffer
		if err := WriteEnvelope(&got, env, bytes.NewReader(ct)); err != nil {
			t.Fatal(err)
		}
		if err := writeEnvelopeGoMessage(&want, env, bytes.NewReader(ct)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(normalise(got.Bytes()), normalise(want.Bytes())) {
			t.Errorf("%d-byte ciphertext: envelope differs from go-message's", size)
		}
	}
}
