package nexthop

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/textproto"
	"strings"
	"testing"
)

// dotReference is what go-smtp's client sends for msg: net/textproto's DotWriter output, final dot included.
func dotReference(msg []byte) []byte {
	var out bytes.Buffer
	dot := textproto.NewWriter(bufio.NewWriter(&out)).DotWriter()
	dot.Write(msg)
	dot.Close()
	return out.Bytes()
}

// dotViaDataWriter sends msg through dataWriter in writes of the given sizes in turn, then finishes through a
// DotWriter as transact does, with a small buffer so that it flushes often.
func dotViaDataWriter(t testing.TB, msg []byte, sizes []int, bufSize int) []byte {
	t.Helper()
	var out bytes.Buffer
	dot := textproto.NewWriter(bufio.NewWriter(&out)).DotWriter()
	var d dataWriter
	d.reset(bufio.NewWriterSize(&out, bufSize))
	for i := 0; len(msg) > 0; i++ {
		n := min(len(msg), max(sizes[i%len(sizes)], 1))
		if m, err := d.Write(msg[:n]); err != nil || m != n {
			t.Fatalf("Write = %d, %v; want %d, nil", m, err, n)
		}
		msg = msg[n:]
	}
	if err := d.finish(dot); err != nil {
		t.Fatal(err)
	}
	if err := dot.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestDataWriterMatchesDotWriter(t *testing.T) {
	cases := []string{
		"",
		"a",
		".",
		"\n",
		"\r",
		"\r\n",
		"..\r\n.\r\n",
		"Subject: x\r\n\r\n.hidden\r\n..two\r\nend",
		"bare\nline\nfeeds\n.dot\n",
		"a\r\rb\r\r\n.c\r\r\r\n.d\r\n",
		"\r.\r\n\r\r.\n",
		"trailing CR\r",
		"trailing CRs\r\r",
		".\r\n\r\n.\r\n",
		strings.Repeat("A", 100000) + "\r\n." + strings.Repeat("B", 70000),
	}
	for _, c := range cases {
		want := dotReference([]byte(c))
		for _, sizes := range [][]int{{1 << 30}, {1}, {2}, {3, 1, 7}, {4096}} {
			for _, buf := range []int{16, dataBufferSize} {
				if got := dotViaDataWriter(t, []byte(c), sizes, buf); !bytes.Equal(got, want) {
					t.Errorf("%.40q in writes of %v: got %.80q, want %.80q", c, sizes, got, want)
				}
			}
		}
	}
	// Random mixes of the bytes that matter.
	rng := mrand.New(mrand.NewPCG(5, 6))
	alphabet := []byte("\r\n.a")
	for range 2000 {
		msg := make([]byte, rng.IntN(40))
		for i := range msg {
			msg[i] = alphabet[rng.IntN(len(alphabet))]
		}
		sizes := []int{1 + rng.IntN(5), 1 + rng.IntN(5)}
		if got, want := dotViaDataWriter(t, msg, sizes, 16), dotReference(msg); !bytes.Equal(got, want) {
			t.Fatalf("%q in writes of %v: got %q, want %q", msg, sizes, got, want)
		}
	}
}

// failWriter fails every write.
type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestDataWriterError(t *testing.T) {
	boom := errors.New("connection reset")
	var d dataWriter
	d.reset(bufio.NewWriterSize(failWriter{boom}, 16))
	if _, err := d.Write([]byte(strings.Repeat("line\r\n", 10))); !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want %v", err, boom)
	}
	if _, err := d.Write([]byte("more")); !errors.Is(err, boom) {
		t.Errorf("second Write = %v, want the sticky %v", err, boom)
	}
	if err := d.finish(failWriter{errors.New("not reached")}); !errors.Is(err, boom) {
		t.Errorf("finish = %v, want %v", err, boom)
	}
}

func FuzzDataWriter(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\n.hidden\r\nend\r\n"), uint8(1), uint8(3))
	f.Add([]byte("a\r\r\n\r.\n..\r"), uint8(2), uint8(1))
	f.Add([]byte(""), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, msg []byte, w1, w2 uint8) {
		got := dotViaDataWriter(t, msg, []int{int(w1), int(w2)}, 16)
		if want := dotReference(msg); !bytes.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

// BenchmarkDotStuffing compares dataWriter with net/textproto's DotWriter (what go-smtp's client uses) on a
// sealed copy's worth of base64 lines (about 220 KB), both into a buffer of their usual size.
func BenchmarkDotStuffing(b *testing.B) {
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx", 2)[:76] + "\r\n"
	msg := []byte(strings.Repeat(line, 220_000/len(line)))
	b.Run("textproto", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			dot := textproto.NewWriter(bufio.NewWriter(io.Discard)).DotWriter()
			dot.Write(msg)
			dot.Close()
		}
	})
	b.Run("dataWriter", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		bw := bufio.NewWriterSize(io.Discard, dataBufferSize)
		for b.Loop() {
			var d dataWriter
			d.reset(bw)
			d.Write(msg)
			d.finish(io.Discard)
		}
	})
}
