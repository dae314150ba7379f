package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"
)

// Entry is one audit record. It must not hold PHI: only ids, codes and
// counts (see the package documentation).
type Entry struct {
	Seq       int64
	Time      time.Time
	Actor     string // who: "relay", "portal:<recipient id>", "admin:<name>", "expiry"
	Action    string // what: a dotted code such as "message.seal", "message.view", "message.recall"
	TraceID   string
	MessageID string
	Detail    map[string]string // no PHI
	PrevHash  []byte
	Hash      []byte
}

// Limits keep free text (and so PHI) out of entries.
const (
	maxNameLen      = 256 // actor, action, trace id, message id
	maxDetailKeys   = 32
	maxDetailKeyLen = 64
	maxDetailValLen = 1024
)

const entryMagic = "sealpost-audit-v1\x00"

// genesis is the previous hash of the first entry.
var genesis = make([]byte, sha256.Size)

// ComputeHash returns the SHA-256 of e's canonical encoding, ignoring
// e.Hash. An exported entry (see [Log.Export]) can be checked with it.
func (e *Entry) ComputeHash() []byte {
	sum := sha256.Sum256(e.canonical())
	return sum[:]
}

// canonical returns the unambiguous encoding of every field but Hash, as
// described in the package documentation.
func (e *Entry) canonical() []byte {
	n := len(entryMagic) + 8 + 8 + 4*6 + len(e.Actor) + len(e.Action) + len(e.TraceID) + len(e.MessageID) + len(e.PrevHash)
	for k, v := range e.Detail {
		n += 8 + len(k) + len(v)
	}
	b := make([]byte, 0, n)
	b = append(b, entryMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(timeNanos(e.Time)))
	b = appendString(b, e.Actor)
	b = appendString(b, e.Action)
	b = appendString(b, e.TraceID)
	b = appendString(b, e.MessageID)
	keys := make([]string, 0, len(e.Detail))
	for k := range e.Detail {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, e.Detail[k])
	}
	b = appendString(b, string(e.PrevHash))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// timeNanos maps the zero time to 0 so that an unset time encodes stably.
func timeNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func nanosTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// decodeCanonical parses the output of canonical. It accepts exactly the
// encodings canonical produces: encoding the result gives back b.
func decodeCanonical(b []byte) (Entry, error) {
	d := decoder{b: b}
	if !bytes.HasPrefix(b, []byte(entryMagic)) {
		return Entry{}, errors.New("not an audit entry encoding")
	}
	d.b = d.b[len(entryMagic):]
	var e Entry
	seq := d.uint64()
	if seq > math.MaxInt64 {
		return Entry{}, errors.New("seq out of range")
	}
	e.Seq = int64(seq)
	e.Time = nanosTime(int64(d.uint64()))
	e.Actor = d.string()
	e.Action = d.string()
	e.TraceID = d.string()
	e.MessageID = d.string()
	n := d.uint32()
	if d.err == nil && uint64(n)*8 > uint64(len(d.b)) {
		return Entry{}, errors.New("detail count exceeds input")
	}
	prev := ""
	for i := uint32(0); i < n && d.err == nil; i++ {
		k, v := d.string(), d.string()
		if d.err != nil {
			break
		}
		if i > 0 && k <= prev {
			return Entry{}, errors.New("detail keys not in strictly ascending order")
		}
		prev = k
		if e.Detail == nil {
			e.Detail = make(map[string]string, n)
		}
		e.Detail[k] = v
	}
	if p := d.string(); p != "" {
		e.PrevHash = []byte(p)
	}
	if d.err != nil {
		return Entry{}, d.err
	}
	if len(d.b) != 0 {
		return Entry{}, errors.New("trailing bytes after audit entry")
	}
	return e, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errors.New("truncated audit entry encoding")
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) uint64() uint64 {
	if p := d.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if p := d.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) string() string {
	n := d.uint32()
	return string(d.take(uint64(n)))
}

// validate checks what a caller may put in an entry.
func (e *Entry) validate() error {
	if e.Actor == "" || e.Action == "" {
		return errors.New("entry needs an actor and an action")
	}
	for name, s := range map[string]string{"actor": e.Actor, "action": e.Action, "trace id": e.TraceID, "message id": e.MessageID} {
		if len(s) > maxNameLen {
			return fmt.Errorf("%s longer than %d bytes", name, maxNameLen)
		}
		if !utf8.ValidString(s) {
			return fmt.Errorf("%s is not valid UTF-8", name)
		}
	}
	if len(e.Detail) > maxDetailKeys {
		return fmt.Errorf("more than %d detail fields", maxDetailKeys)
	}
	for k, v := range e.Detail {
		if k == "" || len(k) > maxDetailKeyLen || len(v) > maxDetailValLen {
			return fmt.Errorf("detail field %q is empty or too long", k)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return errors.New("detail is not valid UTF-8")
		}
	}
	if !e.Time.IsZero() && (e.Time.Year() <= 1678 || e.Time.Year() >= 2262) {
		return errors.New("time out of range")
	}
	return nil
}
