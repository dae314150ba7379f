package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/sealpost/sealpost/gateway/store"
)

// Sessions and flows are named by cookies holding 32 random bytes
// (base64url); the store keeps only their SHA-256.

// touchEvery is how often a session's last_seen is written: at most once a
// minute, so reading a message is not a database write per request.
const touchEvery = time.Minute

// flowTTL bounds a flow (enrolment, login or step-up) from its start.
const flowTTL = 30 * time.Minute

// cookie names, with the __Host- prefix when cookies can be Secure.
func (s *Server) sessionCookie() string {
	if s.secure {
		return "__Host-sp_session"
	}
	return "sp_session"
}

func (s *Server) flowCookie() string {
	if s.secure {
		return "__Host-sp_flow"
	}
	return "sp_flow"
}

// newToken returns a fresh cookie token and its hash.
func newToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, tokenHash(token)
}

// tokenHash is the SHA-256 of a cookie token, as the store keeps it.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// cookieToken returns the token in cookie name, if it looks like one.
func cookieToken(r *http.Request, name string) (string, bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(b) != 32 {
		return "", false
	}
	return c.Value, true
}

// setCookie sets cookie name to value; maxAge < 0 deletes it.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// loadSession reads the session cookie, checks the idle and absolute
// expiry, refreshes last_seen (at most once a minute) and returns the
// session with r carrying it (see sessionFrom). It returns (nil, r) when
// the visitor is signed out; an expired or unknown cookie is cleared. The
// account's level is read from the account on every request, so a reset
// or a step-up takes effect at once.
func (s *Server) loadSession(w http.ResponseWriter, r *http.Request) (*Session, *http.Request) {
	token, ok := cookieToken(r, s.sessionCookie())
	if !ok {
		return nil, r
	}
	ctx := r.Context()
	hash := tokenHash(token)
	now := s.d.Now()
	row, err := s.d.Store.Session(ctx, hash)
	if err != nil {
		if !errors.Is(err, store.ErrNoSession) {
			s.log.Error("portal: failed to load session", "err", err)
		}
		s.setCookie(w, s.sessionCookie(), "", -1)
		return nil, r
	}
	if !now.Before(row.Expires) || !now.Before(row.LastSeen.Add(s.cfg.SessionIdle)) {
		s.endSession(ctx, hash)
		s.setCookie(w, s.sessionCookie(), "", -1)
		return nil, r
	}
	acct, err := s.d.Store.Account(ctx, row.Address)
	if err != nil || !acct.Enrolled() {
		// A reset deletes the sessions too; this covers a race with it.
		s.endSession(ctx, hash)
		s.setCookie(w, s.sessionCookie(), "", -1)
		return nil, r
	}
	if now.Sub(row.LastSeen) >= touchEvery {
		if err := s.d.Store.TouchSession(ctx, hash, now); err != nil {
			s.log.Warn("portal: failed to refresh session", "err", err)
		}
	}
	sess := &Session{Address: acct.Address, Method: row.Method, Level: acct.Level, Created: row.Created}
	return sess, withSession(r, sess)
}

func (s *Server) endSession(ctx context.Context, hash []byte) {
	if err := s.d.Store.DeleteSession(context.WithoutCancel(ctx), hash); err != nil {
		s.log.Warn("portal: failed to delete session", "err", err)
	}
}

// startSession creates a session for address and sets its cookie.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, address, method string) error {
	token, hash := newToken()
	now := s.d.Now()
	err := s.d.Store.CreateSession(ctx, &store.Session{
		TokenHash: hash, Address: address, Created: now, LastSeen: now,
		Expires: now.Add(s.cfg.SessionMax), Method: method,
	})
	if err != nil {
		return err
	}
	s.setCookie(w, s.sessionCookie(), token, 0)
	return nil
}

// PurgeExpired deletes expired flows, sessions past their absolute or idle
// expiry, and old codes, and returns how many rows went. A node runs it
// now and then (every few minutes is plenty); expired rows are refused on
// read whether or not they have been purged.
func (s *Server) PurgeExpired(ctx context.Context) (int64, error) {
	return s.d.Store.PurgeAuth(ctx, s.d.Now(), s.cfg.SessionIdle)
}

// RunPurge calls [Server.PurgeExpired] every interval until ctx ends.
func (s *Server) RunPurge(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := s.PurgeExpired(ctx); err != nil {
			s.log.Warn("portal: failed to purge expired sessions and codes", "err", err)
		} else if n > 0 {
			s.log.Debug("portal: purged expired sessions and codes", "rows", n)
		}
	}
}

// Wait waits for the mailbox codes the portal is sending in the
// background; call it before closing the store.
func (s *Server) Wait() { s.wait() }
