package seal

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

func preparedEnvelope(t *testing.T, ct []byte) ([]byte, []byte, string) {
	t.Helper()
	var orig textproto.Header
	orig.Set("From", "doctor@example.org")
	orig.Set("To", "patient@example.net")
	key := bytes.Repeat([]byte{7}, 32)
	id := NewMessageID()
	var body bytes.Buffer
	p, err := PrepareEnvelope(&body, Envelope{
		Original: orig, PortalURL: "https://portal.example/m/" + id, OrgName: "Example Trust",
	}, bytes.NewReader(ct))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := p.Write(&out, SignID(key, id, p.BodySHA256), &body); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), key, id
}

func TestPreparedEnvelopeIDCoversTheWholeBody(t *testing.T) {
	ct := make([]byte, 100<<10)
	rand.Read(ct)
	msg, key, id := preparedEnvelope(t, ct)

	ent, err := message.Read(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("envelope does not parse: %v", err)
	}
	gotID, sum, ok := VerifyID(key, ent.Header.Get(IDHeader))
	if !ok || gotID != id {
		t.Fatalf("X-Sealpost-Id does not verify: %q", ent.Header.Get(IDHeader))
	}
	body, err := BodySHA256(bytes.NewReader(msg))
	if err != nil || !bytes.Equal(body, sum) {
		t.Fatalf("body hash %x, MAC covers %x (err %v)", body, sum, err)
	}
	for _, line := range strings.Split(string(msg), "\r\n") {
		if len(line) > 76 {
			t.Fatalf("line longer than 76: %q", line)
		}
	}
	// A Received header in front changes nothing; a changed body does.
	withReceived := append([]byte("Received: from x by y; Mon, 23 Nov 2026 06:00:00 +0000\r\n"), msg...)
	if h, _ := BodySHA256(bytes.NewReader(withReceived)); !bytes.Equal(h, sum) {
		t.Error("a trace header changed the body hash")
	}
	edited := bytes.Replace(msg, []byte("has sent you a secure message"), []byte("has sent you a secure massage"), 1)
	if h, _ := BodySHA256(bytes.NewReader(edited)); bytes.Equal(h, sum) {
		t.Error("an edited notice kept the body hash")
	}
	var att bytes.Buffer
	found, err := ExtractSealedAttachment(bytes.NewReader(msg), &att)
	if err != nil || !found || !bytes.Equal(att.Bytes(), ct) {
		t.Fatalf("attachment: found=%v err=%v equal=%v", found, err, bytes.Equal(att.Bytes(), ct))
	}
}

func TestHeaderSplitterAcrossWrites(t *testing.T) {
	msg := "A: 1\r\nB: 2\r\n\r\nbody line\r\n"
	for split := 0; split <= len(msg); split++ {
		var body bytes.Buffer
		s := &headerSplitter{body: &body, sum: sha256.New()}
		s.Write([]byte(msg[:split]))
		s.Write([]byte(msg[split:]))
		if s.head.String() != "A: 1\r\nB: 2\r\n\r\n" || body.String() != "body line\r\n" {
			t.Fatalf("split at %d: head %q body %q", split, s.head.String(), body.String())
		}
	}
}

// TestPreparedEnvelopeReader checks that Reader gives exactly what Write
// writes, and refuses a bad id value as Write does.
func TestPreparedEnvelopeReader(t *testing.T) {
	ct := make([]byte, 50<<10)
	rand.Read(ct)
	var orig textproto.Header
	orig.Set("From", "doctor@example.org")
	var body bytes.Buffer
	p, err := PrepareEnvelope(&body, Envelope{
		Original: orig, PortalURL: "https://portal.example/m/x", OrgName: "Example Trust",
	}, bytes.NewReader(ct))
	if err != nil {
		t.Fatal(err)
	}
	idValue := SignID(bytes.Repeat([]byte{7}, 32), "x", p.BodySHA256)
	var written bytes.Buffer
	if err := p.Write(&written, idValue, bytes.NewReader(body.Bytes())); err != nil {
		t.Fatal(err)
	}
	r, err := p.Reader(idValue, bytes.NewReader(body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	read, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(read, written.Bytes()) {
		t.Fatalf("Reader gave %d bytes (err %v) that differ from Write's %d", len(read), err, written.Len())
	}
	if _, err := p.Reader("bad\r\nvalue", &body); !errors.Is(err, ErrInvalidEnvelope) {
		t.Errorf("Reader with a bad id value = %v, want ErrInvalidEnvelope", err)
	}
}
