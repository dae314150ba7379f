package portal

import (
	"context"
	"net/http"
	"time"
)

// Session is a signed-in recipient, as loaded for one request.
type Session struct {
	// Address is the account's address (lower case).
	Address string
	// Method is how this session logged in: "passkey" or "password".
	Method string
	// Level is the account's assurance: "mailbox" (enrolled with the
	// mailbox code alone, lower assurance) or "oob".
	Level string
	// Created is when the session logged in.
	Created time.Time
}

type sessionKey struct{}

// sessionFrom returns the session attached to r by requireSession or
// loadSession, if any.
func sessionFrom(r *http.Request) (*Session, bool) {
	s, ok := r.Context().Value(sessionKey{}).(*Session)
	return s, ok && s != nil
}

// withSession attaches sess to r.
func withSession(r *http.Request, sess *Session) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess))
}
