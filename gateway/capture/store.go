package capture

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

const (
	// headerScan is how much of a message is kept to look for X-Sealpost-Id.
	headerScan = 64 << 10
	// maxIDLen bounds the file name taken from X-Sealpost-Id.
	maxIDLen = 128
	// maxSuffix bounds the search for a free file name.
	maxSuffix = 10000
)

// received is a message read into a temporary file in Dir (none with Config.Discard).
type received struct {
	f      *os.File // nil with Config.Discard
	header []byte   // the first headerScan bytes
	data   []byte   // the whole message, with KeepInMemory
}

func (m *received) discard() {
	if m.f == nil {
		return
	}
	name := m.f.Name()
	m.f.Close()
	os.Remove(name)
}

// prefixBuffer keeps the first limit bytes written to it.
type prefixBuffer struct {
	buf   []byte
	limit int
}

func (p *prefixBuffer) Write(b []byte) (int, error) {
	if room := p.limit - len(p.buf); room > 0 {
		p.buf = append(p.buf, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

// receive reads the message into a temporary file, applying DropData and HoldData.
func (ss *session) receive(r io.Reader) (*received, error) {
	s := ss.s
	s.mu.Lock()
	dropAfter := s.dropAfter
	s.mu.Unlock()
	if dropAfter >= 0 {
		_, _ = io.CopyN(io.Discard, r, dropAfter)
		s.log.Debug("capture dropping connection in DATA as injected", "conn", ss.connNo)
		ss.conn.Conn().Close()
		return nil, errDropped
	}

	m := &received{}
	head := &prefixBuffer{limit: headerScan}
	writers := []io.Writer{head}
	if !s.cfg.Discard {
		f, err := os.CreateTemp(s.cfg.Dir, ".tmp-*.eml")
		if err != nil {
			s.log.Error("capture failed to create temporary file", "err", err)
			return nil, errStore
		}
		m.f = f
		writers = append(writers, f)
	}
	var mem *bytes.Buffer
	if s.cfg.KeepInMemory {
		mem = new(bytes.Buffer)
		writers = append(writers, mem)
	}
	if _, err := io.Copy(io.MultiWriter(writers...), r); err != nil {
		m.discard()
		var smtpErr *smtp.SMTPError
		if errors.As(err, &smtpErr) {
			return nil, smtpErr // the size limit, as go-smtp phrases it
		}
		if errors.Is(err, smtp.ErrTooLongLine) {
			return nil, errLineTooLong
		}
		s.log.Debug("capture failed to read message", "conn", ss.connNo, "err", err)
		return nil, errStore
	}
	m.header = head.buf
	if mem != nil {
		m.data = mem.Bytes()
	}

	s.mu.Lock()
	hold := s.holdCh
	if hold != nil {
		s.held++
		s.notifyLocked()
	}
	s.mu.Unlock()
	if hold != nil {
		<-hold
		s.mu.Lock()
		s.held--
		s.notifyLocked()
		s.mu.Unlock()
	}
	return m, nil
}

// store makes the message durable under its final name and records the delivery.
func (ss *session) store(m *received, to []string) error {
	s := ss.s
	id := fileID(headerID(m.header))
	if id == "" {
		id = randomID()
	}
	if m.f == nil {
		ss.record(Delivery{ID: id}, m, to)
		return nil
	}
	tmp := m.f.Name()
	defer os.Remove(tmp) // after the link, only the final name remains
	if err := m.f.Sync(); err != nil {
		m.f.Close()
		s.log.Error("capture failed to sync message", "err", err)
		return fmt.Errorf("failed to sync message: %w", err)
	}
	if err := m.f.Close(); err != nil {
		s.log.Error("capture failed to close message", "err", err)
		return fmt.Errorf("failed to close message: %w", err)
	}
	final, id, err := linkUnique(tmp, s.cfg.Dir, id)
	if err != nil {
		s.log.Error("capture failed to name message", "err", err)
		return err
	}
	if err := syncDir(s.cfg.Dir); err != nil {
		os.Remove(final)
		s.log.Error("capture failed to sync directory", "err", err)
		return err
	}
	abs, err := filepath.Abs(final)
	if err != nil {
		abs = final
	}
	ss.record(Delivery{ID: id, Path: abs}, m, to)
	return nil
}

// record completes d from the session and adds it to the server's deliveries.
func (ss *session) record(d Delivery, m *received, to []string) {
	d.From = ss.from
	d.To = append([]string(nil), to...)
	d.TLS = ss.tls
	d.AuthUser = ss.authUser
	d.SMTPUTF8 = ss.opts.UTF8
	d.Body = ss.opts.Body
	d.Size = ss.opts.Size
	d.Conn = ss.connNo
	d.Data = m.data
	s := ss.s
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Debug("capture accepted message", "id", d.ID, "rcpts", len(to), "conn", ss.connNo, "stored", d.Path != "")
}

// linkUnique gives tmp the name dir/<id>.eml, or dir/<id>-N.eml when taken; it never replaces a file.
func linkUnique(tmp, dir, id string) (path, finalID string, err error) {
	for i := 0; i < maxSuffix; i++ {
		finalID = id
		if i > 0 {
			finalID = id + "-" + strconv.Itoa(i)
		}
		path = filepath.Join(dir, finalID+".eml")
		err = os.Link(tmp, path)
		if err == nil {
			return path, finalID, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", "", fmt.Errorf("failed to link message: %w", err)
		}
	}
	return "", "", fmt.Errorf("failed to find a free name for message %q", id)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("failed to open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("failed to sync directory: %w", err)
	}
	return nil
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// headerID returns the X-Sealpost-Id value of the message header in head, up to the first ';' and trimmed,
// or "" if there is none. Folded lines are unfolded; the first occurrence wins.
func headerID(head []byte) string {
	const name = "x-sealpost-id"
	var value []byte
	in := false
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // end of the header
		}
		if line[0] == ' ' || line[0] == '\t' {
			if in {
				value = append(value, line...)
			}
			continue
		}
		if in {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		if strings.EqualFold(string(bytes.TrimRight(line[:colon], " \t")), name) {
			in = true
			value = append(value, line[colon+1:]...)
		}
	}
	v := string(value)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// fileID turns an id into a safe file name stem: ASCII letters, digits and "-_.@+=" kept, anything else
// replaced by '_', no leading '.', at most maxIDLen bytes. It returns "" for an empty id.
func fileID(id string) string {
	var b strings.Builder
	for i := 0; i < len(id) && b.Len() < maxIDLen; i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '@', c == '+', c == '=':
			b.WriteByte(c)
		case c == '.':
			if b.Len() == 0 {
				b.WriteByte('_')
			} else {
				b.WriteByte('.')
			}
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
