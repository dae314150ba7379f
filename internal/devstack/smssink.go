package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxSMSBody bounds one webhook request.
const maxSMSBody = 64 << 10

// smsSink is the dev stack's SMS provider: the portal's SMS webhook
// (portal.sms.webhook_url) POSTs {"to": …, "text": …} to it, and it writes
// each message to <dir>/sms-<time>.json instead of sending it, so that a
// developer can read the code there.
type smsSink struct {
	srv  *http.Server
	addr string
	dir  string
	log  *slog.Logger
	mu   sync.Mutex // serialises file names
	last time.Time
}

// startSMSSink listens on addr and serves until Close.
func startSMSSink(addr, dir string, log *slog.Logger) (*smsSink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &smsSink{addr: ln.Addr().String(), dir: dir, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sms", s.receive)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("dev SMS sink stopped", "err", err)
		}
	}()
	return s, nil
}

// URL is the webhook URL to configure.
func (s *smsSink) URL() string { return "http://" + s.addr + "/sms" }

// Close stops the sink.
func (s *smsSink) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// smsMessage is the webhook's JSON body.
type smsMessage struct {
	To   string `json:"to"`
	Text string `json:"text"`
}

func (s *smsSink) receive(w http.ResponseWriter, r *http.Request) {
	var m smsMessage
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSMSBody))
	if err != nil || json.Unmarshal(body, &m) != nil || m.To == "" || m.Text == "" {
		http.Error(w, `want a JSON body {"to": "...", "text": "..."}`, http.StatusBadRequest)
		return
	}
	path, err := s.write(m)
	if err != nil {
		s.log.Error("dev SMS sink: failed to write the message", "err", err)
		http.Error(w, "failed to store the message", http.StatusInternalServerError)
		return
	}
	s.log.Info("dev SMS sink: message written", "file", path)
	w.WriteHeader(http.StatusNoContent)
}

// write stores m as sms-<UTC time>.json, with a name that never repeats.
func (s *smsSink) write(m smsMessage) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	if !now.After(s.last) {
		now = s.last.Add(time.Microsecond)
	}
	s.last = now
	path := filepath.Join(s.dir, "sms-"+now.Format("20060102T150405.000000Z")+".json")
	b, err := json.MarshalIndent(struct {
		smsMessage
		Received time.Time `json:"received"`
	}{m, now}, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("failed to write %s: %w", path, err)
	}
	return path, nil
}
