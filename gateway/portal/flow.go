package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sealpost/sealpost/gateway/store"
)

// A flow carries a visitor who is not signed in (or is stepping up) from
// one page to the next: whom they claim to be, for which message, and what
// they have proved so far. It lives in the store (flows table), named by
// the hash of the flow cookie, so any portal node can serve the next step.

// Flow kinds.
const (
	flowEnrol  = "enrol"  // mailbox code, maybe the out-of-band factor, then an authenticator
	flowLogin  = "login"  // an enrolled account signs in
	flowStepUp = "stepup" // a signed-in mailbox-level account proves the out-of-band factor
)

// Out-of-band factors.
const (
	factorSMS  = "sms"
	factorCode = "code"
)

// flowVersion is the version of the flowState encoding.
const flowVersion = 1

// flowState is a flow's state, stored as JSON.
type flowState struct {
	V       int    `json:"v"`
	Kind    string `json:"k"`
	Address string `json:"a"`
	MsgID   string `json:"m,omitempty"`
	// Decoy marks a flow for an address that is not a recipient: it looks
	// the same from outside, but no code was sent and every code fails.
	Decoy bool `json:"d,omitempty"`
	// CodeID names the mailbox code sent for this flow.
	CodeID string `json:"c,omitempty"`
	// Mailbox is set once the mailbox code was entered.
	Mailbox bool `json:"mb,omitempty"`
	// NeedOOB is set when enrolment must prove the out-of-band factor.
	NeedOOB bool `json:"no,omitempty"`
	// OOB names the out-of-band factor proved, if any.
	OOB string `json:"oob,omitempty"`
	// SMSCodeID names the SMS code sent for this flow.
	SMSCodeID string `json:"s,omitempty"`
	// PasswordHash and TOTPSealed hold a password enrolment until its
	// first TOTP code confirms it.
	PasswordHash string `json:"ph,omitempty"`
	TOTPSealed   string `json:"ts,omitempty"`
	// WebAuthn is the ceremony under way.
	WebAuthn *webauthn.SessionData `json:"wa,omitempty"`
}

// maxFlowState bounds an encoded flow state.
const maxFlowState = 16 << 10

var errBadFlow = errors.New("invalid flow state")

// level is the account level an enrolment in this flow reaches.
func (f *flowState) level() string {
	if f.OOB != "" {
		return store.LevelOOB
	}
	return store.LevelMailbox
}

// readyToEnrol reports whether the flow may register an authenticator.
func (f *flowState) readyToEnrol() bool {
	return f.Kind == flowEnrol && !f.Decoy && f.Mailbox && (f.OOB != "" || !f.NeedOOB)
}

// validate checks what decodeFlowState accepts.
func (f *flowState) validate() error {
	switch {
	case f.V != flowVersion:
		return fmt.Errorf("%w: version %d", errBadFlow, f.V)
	case f.Kind != flowEnrol && f.Kind != flowLogin && f.Kind != flowStepUp:
		return fmt.Errorf("%w: kind %q", errBadFlow, f.Kind)
	case f.OOB != "" && f.OOB != factorSMS && f.OOB != factorCode:
		return fmt.Errorf("%w: factor %q", errBadFlow, f.OOB)
	case len(f.MsgID) > 255 || !utf8.ValidString(f.MsgID):
		return fmt.Errorf("%w: message id", errBadFlow)
	}
	if a, err := store.NormalizeAddress(f.Address); err != nil || a != f.Address {
		return fmt.Errorf("%w: address", errBadFlow)
	}
	return nil
}

func encodeFlowState(f *flowState) ([]byte, error) {
	f.V = flowVersion
	if err := f.validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("failed to encode flow state: %w", err)
	}
	if len(b) > maxFlowState {
		return nil, fmt.Errorf("%w: %d bytes", errBadFlow, len(b))
	}
	return b, nil
}

// decodeFlowState parses and checks a stored flow state.
func decodeFlowState(b []byte) (*flowState, error) {
	if len(b) > maxFlowState {
		return nil, fmt.Errorf("%w: %d bytes", errBadFlow, len(b))
	}
	var f flowState
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadFlow, err)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// flow is a loaded flow: its state and the hash naming it.
type flow struct {
	*flowState
	hash []byte
}

// newFlow stores state as a new flow and sets the flow cookie.
func (s *Server) newFlow(ctx context.Context, w http.ResponseWriter, st *flowState) (*flow, error) {
	b, err := encodeFlowState(st)
	if err != nil {
		return nil, err
	}
	token, hash := newToken()
	now := s.d.Now()
	if err := s.d.Store.CreateFlow(ctx, &store.Flow{TokenHash: hash, Created: now, Expires: now.Add(flowTTL), State: b}); err != nil {
		return nil, err
	}
	s.setCookie(w, s.flowCookie(), token, 0)
	return &flow{flowState: st, hash: hash}, nil
}

// loadFlow returns the visitor's flow if it exists, has not expired and
// is of one of kinds.
func (s *Server) loadFlow(r *http.Request, kinds ...string) (*flow, bool) {
	token, ok := cookieToken(r, s.flowCookie())
	if !ok {
		return nil, false
	}
	hash := tokenHash(token)
	row, err := s.d.Store.Flow(r.Context(), hash, s.d.Now())
	if err != nil {
		if !errors.Is(err, store.ErrNoFlow) {
			s.log.Error("portal: failed to load flow", "err", err)
		}
		return nil, false
	}
	st, err := decodeFlowState(row.State)
	if err != nil {
		s.log.Error("portal: stored flow state is invalid", "err", err)
		return nil, false
	}
	for _, k := range kinds {
		if st.Kind == k {
			return &flow{flowState: st, hash: hash}, true
		}
	}
	return nil, false
}

// saveFlow writes the flow's state back.
func (s *Server) saveFlow(ctx context.Context, f *flow) error {
	b, err := encodeFlowState(f.flowState)
	if err != nil {
		return err
	}
	return s.d.Store.UpdateFlow(ctx, f.hash, b)
}

// endFlow deletes the flow and its cookie.
func (s *Server) endFlow(ctx context.Context, w http.ResponseWriter, f *flow) {
	if err := s.d.Store.DeleteFlow(context.WithoutCancel(ctx), f.hash); err != nil {
		s.log.Warn("portal: failed to delete flow", "err", err)
	}
	s.setCookie(w, s.flowCookie(), "", -1)
}
