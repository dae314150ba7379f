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

// handlePasskeyEnrolBegin starts registering a passkey.
func (s *Server) handlePasskeyEnrolBegin(w http.ResponseWriter, r *http.Request) {
	if s.jsonLimited(w, r) {
		return
	}
	f, ok := s.loadFlow(r, flowEnrol)
	if !ok || !f.readyToEnrol() {
		jsonError(w, http.StatusBadRequest, "err.flow")
		return
	}
	u, err := s.loadUser(r, f.Address)
	if err != nil {
		s.log.Error("portal: failed to load account for passkey", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
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
		s.log.Error("portal: failed to begin passkey registration", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	f.WebAuthn = sd
	if err := s.saveFlow(r.Context(), f); err != nil {
		s.log.Error("portal: failed to save flow", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	writeJSON(w, http.StatusOK, creation)
}

// handlePasskeyEnrolFinish checks the new credential and enrols the
// account with it.
func (s *Server) handlePasskeyEnrolFinish(w http.ResponseWriter, r *http.Request) {
	if s.jsonLimited(w, r) {
		return
	}
	f, ok := s.loadFlow(r, flowEnrol)
	if !ok || !f.readyToEnrol() || f.WebAuthn == nil {
		jsonError(w, http.StatusBadRequest, "err.flow")
		return
	}
	sd := *f.WebAuthn
	u, err := s.loadUser(r, f.Address)
	if err != nil {
		s.log.Error("portal: failed to load account for passkey", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	// The challenge is spent whatever the outcome.
	f.WebAuthn = nil
	if err := s.saveFlow(r.Context(), f); err != nil {
		s.log.Error("portal: failed to save flow", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	fail := func(reason string, err error) {
		s.log.Info("portal: passkey registration refused", "reason", reason, "err", err)
		if s.audit(r, Actor(f.Address), ActionLoginFailed, f.MsgID, map[string]string{"check": "passkey-register", "reason": reason}) != nil {
			jsonError(w, http.StatusInternalServerError, "err.internal")
			return
		}
		jsonError(w, http.StatusBadRequest, "err.passkey.register")
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
		s.log.Error("portal: failed to encode credential", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
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
	if s.jsonLimited(w, r) {
		return
	}
	f, ok := s.loadFlow(r, flowLogin)
	if !ok {
		jsonError(w, http.StatusBadRequest, "err.flow")
		return
	}
	u, err := s.loadUser(r, f.Address)
	if err != nil {
		s.log.Error("portal: failed to load account for passkey", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	if u.acct.Locked(s.d.Now()) {
		jsonError(w, http.StatusTooManyRequests, "err.locked")
		return
	}
	if len(u.creds) == 0 {
		jsonError(w, http.StatusBadRequest, "err.passkey.none")
		return
	}
	assertion, sd, err := s.auth.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		s.log.Error("portal: failed to begin passkey login", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	f.WebAuthn = sd
	if err := s.saveFlow(r.Context(), f); err != nil {
		s.log.Error("portal: failed to save flow", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	writeJSON(w, http.StatusOK, assertion)
}

// handlePasskeyLoginFinish checks the assertion, updates the passkey's
// sign count and signs the account in. A sign count that went backwards
// (a cloned authenticator) is refused.
func (s *Server) handlePasskeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	if s.jsonLimited(w, r) {
		return
	}
	ctx := r.Context()
	f, ok := s.loadFlow(r, flowLogin)
	if !ok || f.WebAuthn == nil {
		jsonError(w, http.StatusBadRequest, "err.flow")
		return
	}
	sd := *f.WebAuthn
	u, err := s.loadUser(r, f.Address)
	if err != nil {
		s.log.Error("portal: failed to load account for passkey", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	if u.acct.Locked(s.d.Now()) {
		jsonError(w, http.StatusTooManyRequests, "err.locked")
		return
	}
	// The challenge is spent whatever the outcome.
	f.WebAuthn = nil
	if err := s.saveFlow(ctx, f); err != nil {
		s.log.Error("portal: failed to save flow", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	fail := func(reason string, err error) {
		s.log.Info("portal: passkey login refused", "reason", reason, "err", err)
		if s.audit(r, Actor(f.Address), ActionLoginFailed, f.MsgID, map[string]string{"check": "passkey", "reason": reason}) != nil {
			jsonError(w, http.StatusInternalServerError, "err.internal")
			return
		}
		until, err := s.d.Store.RecordFailure(ctx, f.Address, s.d.Now())
		if err != nil {
			s.log.Error("portal: failed to record failure", "err", err)
			jsonError(w, http.StatusInternalServerError, "err.internal")
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
		s.log.Error("portal: failed to encode credential", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	if err := s.d.Store.UpdatePasskey(ctx, cred.ID, credJSON, s.d.Now()); err != nil {
		s.log.Error("portal: failed to update passkey", "err", err)
		jsonError(w, http.StatusInternalServerError, "err.internal")
		return
	}
	s.loggedIn(w, r, f, f.Address, store.MethodPasskey, true)
}
