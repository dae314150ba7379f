package audit

import (
	"bytes"
	"testing"
	"time"
)

// FuzzEntryEncoding checks that any entry's canonical encoding decodes back
// to the same entry, and so to the same bytes.
func FuzzEntryEncoding(f *testing.F) {
	f.Add(int64(1), int64(1735787045123456789), "relay", "message.seal", "trace-1", "msg-1", "rule", "nhs-number", "", "", genesis)
	f.Add(int64(42), int64(0), "admin:alice", "message.recall", "", "", "a", "", "b", "x\x00y", []byte{1, 2, 3})
	f.Add(int64(9), int64(-5), "", "", "\xff", "é", "k", "v", "k", "w", []byte(nil))
	f.Fuzz(func(t *testing.T, seq, nanos int64, actor, action, trace, msg, k1, v1, k2, v2 string, prev []byte) {
		if seq < 0 {
			seq = -seq
			if seq < 0 {
				seq = 0
			}
		}
		e := Entry{Seq: seq, Actor: actor, Action: action, TraceID: trace, MessageID: msg, PrevHash: prev}
		if nanos != 0 {
			e.Time = time.Unix(0, nanos)
		}
		if k1 != "" || v1 != "" || k2 != "" || v2 != "" {
			e.Detail = map[string]string{k1: v1, k2: v2}
		}
		if len(e.PrevHash) == 0 {
			e.PrevHash = nil
		}
		b := e.canonical()
		d, err := decodeCanonical(b)
		if err != nil {
			t.Fatalf("decode(encode(%+v)) = %v", e, err)
		}
		if d.Seq != e.Seq || timeNanos(d.Time) != timeNanos(e.Time) || d.Actor != e.Actor || d.Action != e.Action ||
			d.TraceID != e.TraceID || d.MessageID != e.MessageID || !bytes.Equal(d.PrevHash, e.PrevHash) ||
			len(d.Detail) != len(e.Detail) {
			t.Fatalf("round trip changed the entry:\n got %+v\nwant %+v", d, e)
		}
		for k, v := range e.Detail {
			if d.Detail[k] != v {
				t.Fatalf("detail %q = %q, want %q", k, d.Detail[k], v)
			}
		}
		if !bytes.Equal(d.canonical(), b) {
			t.Fatal("re-encoding the decoded entry gives different bytes")
		}
	})
}

// FuzzDecodeCanonical checks that the decoder accepts only canonical
// encodings: whatever it accepts re-encodes to exactly the input.
func FuzzDecodeCanonical(f *testing.F) {
	f.Add((&Entry{Seq: 1, Time: time.Unix(0, 7), Actor: "a", Action: "b", Detail: map[string]string{"x": "1", "y": "2"}, PrevHash: genesis}).canonical())
	f.Add((&Entry{}).canonical())
	f.Add([]byte(entryMagic))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeCanonical(b)
		if err != nil {
			return
		}
		if got := e.canonical(); !bytes.Equal(got, b) {
			t.Fatalf("accepted a non-canonical encoding:\n in %x\nout %x", b, got)
		}
	})
}

// FuzzParseCheckpoint checks that the checkpoint parser never panics and
// accepts only what MarshalText writes.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("sealpost-audit-checkpoint v1\nseq: 42\nhash: " +
		"abababababababababababababababababababababababababababababababab" +
		"\ntime: 2025-01-02T03:04:05.123456789Z\nsignature: vault:v1:c2lnbmF0dXJl\n"))
	f.Add([]byte("sealpost-audit-checkpoint v1\nseq: 1\nhash: " +
		"0000000000000000000000000000000000000000000000000000000000000000" +
		"\ntime: 2025-01-02T03:04:05Z\nsignature: ed25519:AAAA\n"))
	f.Add([]byte("sealpost-audit-checkpoint v1\nseq: 042\nhash: 00\ntime: 2025-01-02T03:04:05+01:00\nsignature: x\n"))
	f.Add([]byte("sealpost-audit-checkpoint v1\r\nseq: 9223372036854775807\r\nhash: \r\ntime: \r\nsignature: \r\n"))
	f.Add([]byte("sealpost-audit-checkpoint v1\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckpoint(b)
		if err != nil {
			return
		}
		out, err := c.MarshalText()
		if err != nil {
			t.Fatalf("parsed checkpoint does not marshal: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("accepted a non-canonical checkpoint:\n in %q\nout %q", b, out)
		}
		if c2, err := ParseCheckpoint(out); err != nil || !bytes.Equal(c2.SignedData(), c.SignedData()) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
