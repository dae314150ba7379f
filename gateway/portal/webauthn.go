package portal

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sealpost/sealpost/gateway/store"
)

// Passkeys. portal.js fetches the ceremony options from .../begin, runs
// navigator.credentials.create or .get, and posts the result to
// .../finish. The ceremony's session data (the challenge) is kept in the
// flow row, so begin and finish may reach different portal nodes.

// maxWebAuthnBody bounds a ceremony response.
const maxWebAuthnBody = 64 << 10

// waUser is an account as go-webauthn sees it.
type waUser struct {
	acct  *store.Account
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.acct.UserHandle }
func (u *waUser) WebAuthnName() string                       { return u.acct.Address }
func (u *waUser) WebAuthnDisplayName() string                { return u.acct.Address }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

var _ webauthn.User = (*waUser)(nil)

// loadUser loads the account of address with its passkeys.
func (s *Server) loadUser(r *http.Request, address string) (*waUser, error) {
	acct, err := s.d.Store.Account(r.Context(), address)
	if err != nil {
		return nil, err
	}
	u := &waUser{acct: acct}
	pks, err := s.d.Store.Passkeys(r.Context(), address)
	if err != nil {
		return nil, err
	}
	for _, p := range pks {
		var c webauthn.Credential
		if err := json.Unmarshal(p.Credential, &c); err != nil || len(c.ID) == 0 {
			continue // a damaged row cannot sign in
		}
		u.creds = append(u.creds, c)
	}
	return u, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// jsonError answers a ceremony request with a message from the text map.
func jsonError(w http.ResponseWriter, status int, key string) {
	writeJSON(w, status, map[string]string{"error": tr(key)})
}

// jsonLimited is limited for the JSON endpoints.
func (s *Server) jsonLimited(w http.ResponseWriter, r *http.Request) bool {
	if s.limits.allow(limitCheck, "check:"+clientIP(r), s.d.Now()) {
		return false
	}
	w.Header().Set("Retry-After", "60")
	jsonError(w, http.StatusTooManyRequests, "err.ratelimit")
	return true
}

// jsonInternal answers a ceremony request with a 500 for an unexpected
// failure; err is logged (it never holds PHI).
func (s *Server) jsonInternal(w http.ResponseWriter, what string, err error) {
	s.log.Error("portal: "+what, "err", err)
	jsonError(w, http.StatusInternalServerError, "err.internal")
}

// passkeyFlow runs the steps every ceremony request starts with: the rate
// limit, the flow of kind (an enrolment ready to register an
// authenticator; for a finish, one with a ceremony under way) and the
// flow's account with its passkeys. A login stops at a locked account. It
// answers the request itself and returns false when the request stops
// here.
func (s *Server) passkeyFlow(w http.ResponseWriter, r *http.Request, kind string, finish bool) (*flow, *waUser, bool) {
	if s.jsonLimited(w, r) {
		return nil, nil, false
	}
	f, ok := s.loadFlow(r, kind)
	if !ok || (kind == flowEnrol && !f.readyToEnrol()) || (finish && f.WebAuthn == nil) {
		jsonError(w, http.StatusBadRequest, "err.flow")
		return nil, nil, false
	}
	u, err := s.loadUser(r, f.Address)
	if err != nil {
		s.jsonInternal(w, "failed to load account for passkey", err)
		return nil, nil, false
	}
	if kind == flowLogin && u.acct.Locked(s.d.Now()) {
		jsonError(w, http.StatusTooManyRequests, "err.locked")
		return nil, nil, false
	}
	return f, u, true
}

// sendOptions keeps the ceremony's session data in the flow and sends the
// ceremony options to the browser.
func (s *Server) sendOptions(w http.ResponseWriter, r *http.Request, f *flow, sd *webauthn.SessionData, options any) {
	f.WebAuthn = sd
	if err := s.saveFlow(r.Context(), f); err != nil {
		s.jsonInternal(w, "failed to save flow", err)
		return
	}
	writeJSON(w, http.StatusOK, options)
}

// spendChallenge takes the ceremony's session data out of the flow and
// saves it: the challenge is spent whatever the outcome. It answers the
// request and returns false when the flow cannot be saved.
func (s *Server) spendChallenge(w http.ResponseWriter, r *http.Request, f *flow) (webauthn.SessionData, bool) {
	sd := *f.WebAuthn
	f.WebAuthn = nil
	if err := s.saveFlow(r.Context(), f); err != nil {
		s.jsonInternal(w, "failed to save flow", err)
		return sd, false
	}
	return sd, true
}

// ceremonyRefused logs and audits a refused ceremony (what names it in the
// log, check in the audit entry). When the entry cannot be written it
// answers with a 500 and returns false.
func (s *Server) ceremonyRefused(w http.ResponseWriter, r *http.Request, f *flow, what, check, reason string, err error) bool {
	s.log.Info("portal: "+what+" refused", "reason", reason, "err", err)
	if s.audit(r, Actor(f.Address), ActionLoginFailed, f.MsgID, map[string]string{"check": check, "reason": reason}) != nil {
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return false
	}
	return true
}

// handlePasskeyEnrolBegin starts registering a passkey.
func (s *Server) handlePasskeyEnrolBegin(w http.ResponseWriter, r *http.Request) {
	f, u, ok := s.passkeyFlow(w, r, flowEnrol, false)
	if !ok {
		return
	}
	creation, sd, err := s.auth.wa.BeginRegistration(u,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		s.jsonInternal(w, "failed to begin passkey registration", err)
		return
	}
	s.sendOptions(w, r, f, sd, creation)
}

// handlePasskeyEnrolFinish checks the new credential and enrols the
// account with it.
func (s *Server) handlePasskeyEnrolFinish(w http.ResponseWriter, r *http.Request) {
	f, u, ok := s.passkeyFlow(w, r, flowEnrol, true)
	if !ok {
		return
	}
	sd, ok := s.spendChallenge(w, r, f)
	if !ok {
		return
	}
	fail := func(reason string, err error) {
		if s.ceremonyRefused(w, r, f, "passkey registration", "passkey-register", reason, err) {
			jsonError(w, http.StatusBadRequest, "err.passkey.register")
		}
	}
	parsed, err := protocol.ParseCredentialCreationResponseBody(io.LimitReader(r.Body, maxWebAuthnBody))
	if err != nil {
		fail("malformed", err)
		return
	}
	cred, err := s.auth.wa.CreateCredential(u, sd, parsed)
	if err != nil {
		fail("invalid", err)
		return
	}
	credJSON, err := json.Marshal(cred)
	if err != nil {
		s.jsonInternal(w, "failed to encode credential", err)
		return
	}
	now := s.d.Now()
	s.enrol(w, r, f, store.Enrolment{
		Method:  store.MethodPasskey,
		Passkey: &store.Passkey{CredentialID: cred.ID, Address: f.Address, Credential: credJSON, Created: now},
	}, true)
}

// handlePasskeyLoginBegin starts a passkey login for the flow's account.
func (s *Server) handlePasskeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	f, u, ok := s.passkeyFlow(w, r, flowLogin, false)
	if !ok {
		return
	}
	if len(u.creds) == 0 {
		jsonError(w, http.StatusBadRequest, "err.passkey.none")
		return
	}
	assertion, sd, err := s.auth.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		s.jsonInternal(w, "failed to begin passkey login", err)
		return
	}
	s.sendOptions(w, r, f, sd, assertion)
}

// handlePasskeyLoginFinish checks the assertion, updates the passkey's
// sign count and signs the account in. A sign count that went backwards
// (a cloned authenticator) is refused.
func (s *Server) handlePasskeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	f, u, ok := s.passkeyFlow(w, r, flowLogin, true)
	if !ok {
		return
	}
	ctx := r.Context()
	sd, ok := s.spendChallenge(w, r, f)
	if !ok {
		return
	}
	fail := func(reason string, err error) {
		if !s.ceremonyRefused(w, r, f, "passkey login", "passkey", reason, err) {
			return
		}
		until, err := s.d.Store.RecordFailure(ctx, f.Address, s.d.Now())
		if err != nil {
			s.jsonInternal(w, "failed to record failure", err)
			return
		}
		if !until.IsZero() {
			_ = s.audit(r, Actor(f.Address), ActionLockout, f.MsgID, map[string]string{"until": until.UTC().Format("2006-01-02T15:04:05Z")})
			jsonError(w, http.StatusTooManyRequests, "err.locked")
			return
		}
		jsonError(w, http.StatusBadRequest, "err.passkey.login")
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(io.LimitReader(r.Body, maxWebAuthnBody))
	if err != nil {
		fail("malformed", err)
		return
	}
	cred, err := s.auth.wa.ValidateLogin(u, sd, parsed)
	if err != nil {
		fail("invalid", err)
		return
	}
	if cred.Authenticator.CloneWarning {
		fail("clone-warning", errors.New("sign count did not increase"))
		return
	}
	credJSON, err := json.Marshal(cred)
	if err != nil {
		s.jsonInternal(w, "failed to encode credential", err)
		return
	}
	if err := s.d.Store.UpdatePasskey(ctx, cred.ID, credJSON, s.d.Now()); err != nil {
		s.jsonInternal(w, "failed to update passkey", err)
		return
	}
	s.loggedIn(w, r, f, f.Address, store.MethodPasskey, true)
}
