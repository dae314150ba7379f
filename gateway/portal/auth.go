package portal

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/keys"
)

// The recipient's identity journey:
//
//	GET /m/{id}, GET /        startPage: the email form (signed out)
//	POST /start               enrolled account → /login; else a flow and a mailbox code → /code
//	GET|POST /code            the 8-digit mailbox code
//	GET /oob, POST /oob/...   the out-of-band factor: SMS code or enrolment code
//	GET /enrol[/...]          register a passkey, or a password and TOTP
//	GET|POST /login[/...]     an enrolled account signs in
//	GET /stepup?m=ID          a mailbox-level account proves the out-of-band factor
//	POST /logout
//
// A visitor who is not a recipient gets a decoy flow: the same pages and
// answers, but no code is sent and every code fails, so the portal does
// not tell who is a recipient.

// authState is the auth side's part of Server.
type authState struct {
	wa        *webauthn.WebAuthn
	argon     argonParams
	smsClient *http.Client
	// dummyHash is checked against when an account has no password, so a
	// login takes as long either way.
	dummyOnce sync.Once
	dummyHash string
	// bg counts mailbox codes being sent in the background.
	bg sync.WaitGroup
}

// initAuth sets up WebAuthn (relying party id = the URL's host name,
// origin = the URL's origin) and the rest of authState.
func (s *Server) initAuth() error {
	origin := s.base.Scheme + "://" + s.base.Host
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          s.base.Hostname(),
		RPDisplayName: s.cfg.Branding.Name,
		RPOrigins:     []string{origin},
	})
	if err != nil {
		return fmt.Errorf("portal: failed to configure WebAuthn for %s: %w", origin, err)
	}
	s.auth.wa = wa
	s.auth.argon = defaultArgon
	s.auth.smsClient = &http.Client{Timeout: s.cfg.SMS.Timeout}
	return nil
}

// wait waits for the mailbox codes being sent in the background.
func (s *Server) wait() { s.auth.bg.Wait() }

func (s *Server) dummyPasswordHash() string {
	s.auth.dummyOnce.Do(func() { s.auth.dummyHash = hashPassword("sealpost-dummy-password", s.auth.argon) })
	return s.auth.dummyHash
}

// authRoutes registers enrolment, login, step-up and logout.
func (s *Server) authRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /start", s.handleStart)
	mux.HandleFunc("GET /code", s.handleCodePage)
	mux.HandleFunc("POST /code", s.handleCode)
	mux.HandleFunc("GET /oob", s.handleOOBPage)
	mux.HandleFunc("POST /oob/sms", s.handleSendSMS)
	mux.HandleFunc("POST /oob/sms/check", s.handleCheckSMS)
	mux.HandleFunc("POST /oob/code", s.handleEnrolmentCode)
	mux.HandleFunc("GET /enrol", s.handleMethodPage)
	mux.HandleFunc("GET /enrol/password", s.handlePasswordPage)
	mux.HandleFunc("POST /enrol/password", s.handleSetPassword)
	mux.HandleFunc("POST /enrol/totp", s.handleConfirmTOTP)
	mux.HandleFunc("GET /enrol/passkey", s.handlePasskeyPage)
	mux.HandleFunc("POST /enrol/passkey/begin", s.handlePasskeyEnrolBegin)
	mux.HandleFunc("POST /enrol/passkey/finish", s.handlePasskeyEnrolFinish)
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login/password", s.handleLoginPassword)
	mux.HandleFunc("POST /login/passkey/begin", s.handlePasskeyLoginBegin)
	mux.HandleFunc("POST /login/passkey/finish", s.handlePasskeyLoginFinish)
	mux.HandleFunc("GET /stepup", s.handleStepUp)
	mux.HandleFunc("POST /logout", s.handleLogout)
}

// stepUpURL is where a signed-in mailbox-level account goes to prove the
// out-of-band factor before it may open msgID.
func (s *Server) stepUpURL(msgID string) string {
	return "/stepup?m=" + url.QueryEscape(msgID)
}

// msgPath is the page of msgID, or the start page when there is none.
func msgPath(msgID string) string {
	if msgID == "" {
		return "/"
	}
	return "/m/" + url.PathEscape(msgID)
}

// validMsgID reports whether id can be a message id from a link.
func validMsgID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// parseAddress returns the bare, lower-case address typed in a form.
func parseAddress(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", false
	}
	addr, err := store.NormalizeAddress(a.Address)
	if err != nil {
		return "", false
	}
	return addr, true
}

func redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// limited takes a token from the client's bucket of kind; when there is
// none it shows the rate-limit page and returns true.
func (s *Server) limited(w http.ResponseWriter, r *http.Request, kind bucketKind, name string) bool {
	if s.limits.allow(kind, name+":"+clientIP(r), s.d.Now()) {
		return false
	}
	w.Header().Set("Retry-After", "60")
	s.fail(w, r, http.StatusTooManyRequests, "err.ratelimit")
	return true
}

// internal shows the generic error page for an unexpected failure; err is
// logged (it never holds PHI: store and keys errors name no address).
func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error("portal: "+what, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "err.internal")
}

// auditOK appends an entry and shows the error page when it cannot be
// written; it reports whether the caller may go on.
func (s *Server) auditOK(w http.ResponseWriter, r *http.Request, actor, action, msgID string, detail map[string]string) bool {
	if err := s.audit(r, actor, action, msgID, detail); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal")
		return false
	}
	return true
}

// flowActor is the audit actor of a flow: the address, unless the flow is
// a decoy (whose address is nobody's we know, and is not recorded).
func flowActor(f *flowState) string {
	if f.Decoy {
		return "portal"
	}
	return Actor(f.Address)
}

// startData is the start page's data.
type startData struct {
	MsgID   string
	Address string
	Error   string
}

// startPage is the signed-out page for /m/{id} and /: it asks for the
// email address (msgID rides along in a hidden field) and leads to sign-in
// or enrolment.
func (s *Server) startPage(w http.ResponseWriter, r *http.Request, msgID string) {
	if !validMsgID(msgID) {
		msgID = ""
	}
	s.render(w, r, http.StatusOK, "start", "title.start", startData{MsgID: msgID})
}

// handleStart takes the email address: an enrolled account goes to the
// login page; anyone else gets a mailbox code (or, when the address is not
// a recipient, a decoy flow that behaves the same).
func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, limitSend, "send") {
		return
	}
	ctx := r.Context()
	msgID := r.PostFormValue("m")
	if !validMsgID(msgID) {
		msgID = ""
	}
	addr, ok := parseAddress(r.PostFormValue("email"))
	if !ok {
		s.render(w, r, http.StatusBadRequest, "start", "title.start",
			startData{MsgID: msgID, Address: r.PostFormValue("email"), Error: "err.email"})
		return
	}
	acct, err := s.d.Store.Account(ctx, addr)
	if err != nil && !errors.Is(err, store.ErrNoAccount) {
		s.internal(w, r, "failed to look up account", err)
		return
	}
	if acct != nil && acct.Enrolled() {
		if _, err := s.newFlow(ctx, w, &flowState{Kind: flowLogin, Address: addr, MsgID: msgID}); err != nil {
			s.internal(w, r, "failed to start login", err)
			return
		}
		redirect(w, r, "/login")
		return
	}
	isRcpt := false
	if msgID != "" {
		if isRcpt, err = s.d.Store.IsRecipient(ctx, msgID, addr); err != nil {
			s.internal(w, r, "failed to check recipient", err)
			return
		}
	} else {
		isRcpt = acct != nil
	}
	// A decoy gets a code row too (never sent), so that the per-address
	// limit and the attempt counting behave the same.
	code, codeID, ok := s.newCode(w, r, addr, msgID, store.CodeMailbox, mailboxCodeDigits)
	if !ok {
		return
	}
	st := &flowState{Kind: flowEnrol, Address: addr, MsgID: msgID, Decoy: !isRcpt, CodeID: codeID}
	if _, err := s.newFlow(ctx, w, st); err != nil {
		s.internal(w, r, "failed to start flow", err)
		return
	}
	if isRcpt {
		s.sendMailboxCode(addr, code)
	}
	detail := map[string]string{"channel": "email"}
	if !isRcpt {
		detail["decoy"] = "true"
	}
	if !s.auditOK(w, r, flowActor(st), ActionCodeSent, msgID, detail) {
		return
	}
	redirect(w, r, "/code")
}

// newCode makes a code of digits for address (purpose is
// store.CodeMailbox or store.CodeSMS) and stores it, unless the address
// was given maxCodesPerHour codes in the last hour. It answers the request
// itself and returns false when the request stops here.
func (s *Server) newCode(w http.ResponseWriter, r *http.Request, address, msgID, purpose string, digits int) (code, id string, ok bool) {
	ctx := r.Context()
	now := s.d.Now()
	n, err := s.d.Store.CodesSince(ctx, address, now.Add(-time.Hour))
	if err != nil {
		s.internal(w, r, "failed to count codes", err)
		return "", "", false
	}
	if n >= maxCodesPerHour {
		w.Header().Set("Retry-After", "3600")
		s.fail(w, r, http.StatusTooManyRequests, "err.ratelimit")
		return "", "", false
	}
	code = newDigits(digits)
	id, err = s.d.Store.CreateCode(ctx, store.Code{
		Address: address, Purpose: purpose, MessageID: msgID, Created: now, Expires: now.Add(s.cfg.CodeTTL),
	}, code)
	if err != nil {
		s.internal(w, r, "failed to create code", err)
		return "", "", false
	}
	return code, id, true
}

// codeErrKey is the error shown for a code that failed its check: a dead
// code (expired, used, or tried too often) needs a new one.
func codeErrKey(res store.CodeCheck) string {
	switch res {
	case store.CodeExpired, store.CodeTooMany, store.CodeUsed:
		return "err.code.dead"
	}
	return "err.code.wrong"
}

// codeData is the mailbox code page's data.
type codeData struct {
	MsgID   string
	Address string
	Minutes int
	Error   string
}

func (s *Server) codePage(w http.ResponseWriter, r *http.Request, status int, f *flow, errKey string) {
	s.render(w, r, status, "code", "title.code",
		codeData{MsgID: f.MsgID, Address: f.Address, Minutes: int(s.cfg.CodeTTL.Minutes()), Error: errKey})
}

// handleCodePage asks for the mailbox code.
func (s *Server) handleCodePage(w http.ResponseWriter, r *http.Request) {
	f, ok := s.loadFlow(r, flowEnrol)
	if !ok || f.Mailbox {
		s.flowGone(w, r, f)
		return
	}
	s.codePage(w, r, http.StatusOK, f, "")
}

// flowGone sends a visitor without a usable flow where they belong: on
// to the next step of a flow that has moved on, else back to the start.
func (s *Server) flowGone(w http.ResponseWriter, r *http.Request, f *flow) {
	switch {
	case f == nil:
		s.render(w, r, http.StatusBadRequest, "start", "title.start", startData{Error: "err.flow"})
	case f.readyToEnrol():
		redirect(w, r, "/enrol")
	case f.Kind == flowEnrol && f.Mailbox:
		redirect(w, r, "/oob")
	default:
		redirect(w, r, msgPath(f.MsgID))
	}
}

// handleCode checks the mailbox code.
func (s *Server) handleCode(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, limitCheck, "check") {
		return
	}
	ctx := r.Context()
	f, ok := s.loadFlow(r, flowEnrol)
	if !ok || f.Mailbox {
		s.flowGone(w, r, f)
		return
	}
	code, _ := normalizeDigits(r.PostFormValue("code"), mailboxCodeDigits)
	res, err := s.d.Store.CheckCode(ctx, f.CodeID, f.Address, store.CodeMailbox, code, s.d.Now())
	if err != nil {
		s.internal(w, r, "failed to check code", err)
		return
	}
	if f.Decoy && res == store.CodeOK {
		res = store.CodeWrong
	}
	if res != store.CodeOK {
		if !s.auditOK(w, r, flowActor(f.flowState), ActionLoginFailed, f.MsgID,
			map[string]string{"check": "mailbox-code", "reason": res.String()}) {
			return
		}
		s.codePage(w, r, http.StatusBadRequest, f, codeErrKey(res))
		return
	}
	acct, err := s.d.Store.EnsureAccount(ctx, f.Address, s.d.Now())
	if err != nil {
		s.internal(w, r, "failed to create account", err)
		return
	}
	f.Mailbox = true
	f.CodeID = ""
	f.NeedOOB = acct.WasReset()
	if !f.NeedOOB {
		msg, err := s.d.Store.GetMessage(ctx, f.MsgID)
		switch {
		case errors.Is(err, store.ErrNotFound) || f.MsgID == "":
			f.NeedOOB = true
		case err != nil:
			s.internal(w, r, "failed to get message", err)
			return
		default:
			f.NeedOOB = msg.Assurance != store.LevelMailbox
		}
	}
	if err := s.saveFlow(ctx, f); err != nil {
		s.internal(w, r, "failed to save flow", err)
		return
	}
	if f.NeedOOB {
		redirect(w, r, "/oob")
		return
	}
	redirect(w, r, "/enrol")
}

// oobOptions are the out-of-band factors a recipient may use for a
// message.
type oobOptions struct {
	SMS       bool
	PhoneTail string
	phone     string
	Code      bool
}

func (o oobOptions) any() bool { return o.SMS || o.Code }

// has reports whether factor is one of the options.
func (o oobOptions) has(factor string) bool {
	switch factor {
	case factorSMS:
		return o.SMS
	case factorCode:
		return o.Code
	}
	return false
}

// oobFactors works out which factors the message's policy allows and which
// are possible for address: SMS needs a phone on file for (message,
// recipient) and a configured webhook.
func (s *Server) oobFactors(ctx context.Context, msgID, address string) (oobOptions, error) {
	var o oobOptions
	if msgID == "" {
		return o, nil
	}
	msg, err := s.d.Store.GetMessage(ctx, msgID)
	if errors.Is(err, store.ErrNotFound) {
		return o, nil
	}
	if err != nil {
		return o, err
	}
	if msg.Recalled() {
		// A recalled message (perhaps sent to the wrong address) proves
		// nothing any more: no factor, so the contact-the-sender page.
		return o, nil
	}
	if ok, err := s.d.Store.IsRecipient(ctx, msgID, address); err != nil || !ok {
		return o, err
	}
	factor := msg.OOBFactor
	if factor == "" {
		factor = "any"
	}
	o.Code = factor == "any" || factor == factorCode
	if (factor == "any" || factor == factorSMS) && s.cfg.SMS.URL != "" {
		wrapped, err := s.d.Store.Phone(ctx, msgID, address)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return o, err
		default:
			phone, err := s.d.Keys.UnwrapData(ctx, msgID, keys.PurposePhone, wrapped)
			if err != nil {
				return o, err
			}
			o.SMS, o.phone, o.PhoneTail = true, string(phone), phoneTail(string(phone))
		}
	}
	return o, nil
}

// oobData is the data of the out-of-band and step-up pages.
type oobData struct {
	oobOptions
	MsgID    string
	Address  string
	SMSSent  bool
	Error    string
	ErrorFor string // "sms" or "code": the form the error belongs to
}

// oobFlow loads a flow that is at the out-of-band step: an enrolment that
// proved the mailbox and needs the factor, or a step-up.
func (s *Server) oobFlow(r *http.Request) (*flow, bool) {
	f, ok := s.loadFlow(r, flowEnrol, flowStepUp)
	if !ok {
		return f, false
	}
	if f.Kind == flowEnrol && (f.Decoy || !f.Mailbox || !f.NeedOOB || f.OOB != "") {
		return f, false
	}
	if f.Kind == flowStepUp {
		// A step-up belongs to the session that started it.
		sess, _ := s.loadSessionQuiet(r)
		if sess == nil || sess.Address != f.Address || f.OOB != "" {
			return nil, false
		}
	}
	return f, true
}

// oobPage shows the out-of-band page (or the step-up page) for f, or the
// contact-the-sender page when no factor is possible.
func (s *Server) oobPage(w http.ResponseWriter, r *http.Request, status int, f *flow, errKey, errFor string) {
	ctx := r.Context()
	if s.showLocked(w, r, f.Address, f.MsgID) {
		return
	}
	o, err := s.oobFactors(ctx, f.MsgID, f.Address)
	if err != nil {
		s.internal(w, r, "failed to work out out-of-band factors", err)
		return
	}
	if !o.any() {
		if !s.auditOK(w, r, Actor(f.Address), ActionContactShown, f.MsgID, map[string]string{"reason": "no-factor"}) {
			return
		}
		s.render(w, r, http.StatusOK, "contact", "title.contact", struct{ MsgID string }{f.MsgID})
		return
	}
	page, title := "oob", "title.oob"
	if f.Kind == flowStepUp {
		page, title = "stepup", "title.stepup"
	}
	s.render(w, r, status, page, title, oobData{
		oobOptions: o, MsgID: f.MsgID, Address: f.Address, SMSSent: f.SMSCodeID != "", Error: errKey, ErrorFor: errFor,
	})
}

// handleOOBPage offers the out-of-band factors.
func (s *Server) handleOOBPage(w http.ResponseWriter, r *http.Request) {
	f, ok := s.oobFlow(r)
	if !ok {
		s.flowGone(w, r, f)
		return
	}
	s.oobPage(w, r, http.StatusOK, f, "", "")
}

// oobBack is the page of f's out-of-band step.
func (s *Server) oobBack(f *flow) string {
	if f.Kind == flowStepUp {
		return s.stepUpURL(f.MsgID)
	}
	return "/oob"
}

// oobStep runs the steps every out-of-band form starts with: the client's
// rate limit of kind (named name), a flow at the out-of-band step and an
// account that is not locked. It answers the request itself and returns
// false when the request stops here.
func (s *Server) oobStep(w http.ResponseWriter, r *http.Request, kind bucketKind, name string) (*flow, bool) {
	if s.limited(w, r, kind, name) {
		return nil, false
	}
	f, ok := s.oobFlow(r)
	if !ok {
		s.flowGone(w, r, f)
		return nil, false
	}
	if s.showLocked(w, r, f.Address, f.MsgID) {
		return nil, false
	}
	return f, true
}

// oobOffered works out the factors open to f; when factor is not among
// them it sends the visitor back to the out-of-band page and returns false.
func (s *Server) oobOffered(w http.ResponseWriter, r *http.Request, f *flow, factor string) (oobOptions, bool) {
	o, err := s.oobFactors(r.Context(), f.MsgID, f.Address)
	if err != nil {
		s.internal(w, r, "failed to work out out-of-band factors", err)
		return o, false
	}
	if !o.has(factor) {
		redirect(w, r, s.oobBack(f))
		return o, false
	}
	return o, true
}

// handleSendSMS sends an SMS code to the phone on file.
func (s *Server) handleSendSMS(w http.ResponseWriter, r *http.Request) {
	f, ok := s.oobStep(w, r, limitSend, "send")
	if !ok {
		return
	}
	o, ok := s.oobOffered(w, r, f, factorSMS)
	if !ok {
		return
	}
	code, id, ok := s.newCode(w, r, f.Address, f.MsgID, store.CodeSMS, smsCodeDigits)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := s.sendSMS(ctx, o.phone, s.smsText(code)); err != nil {
		s.log.Error("portal: failed to send SMS code", "err", err)
		s.oobPage(w, r, http.StatusBadGateway, f, "err.sms.send", "sms")
		return
	}
	f.SMSCodeID = id
	if err := s.saveFlow(ctx, f); err != nil {
		s.internal(w, r, "failed to save flow", err)
		return
	}
	if !s.auditOK(w, r, Actor(f.Address), ActionCodeSent, f.MsgID, map[string]string{"channel": "sms"}) {
		return
	}
	redirect(w, r, s.oobBack(f))
}

// handleCheckSMS checks an SMS code.
func (s *Server) handleCheckSMS(w http.ResponseWriter, r *http.Request) {
	f, ok := s.oobStep(w, r, limitCheck, "check")
	if !ok {
		return
	}
	if f.SMSCodeID == "" {
		redirect(w, r, s.oobBack(f))
		return
	}
	code, _ := normalizeDigits(r.PostFormValue("code"), smsCodeDigits)
	res, err := s.d.Store.CheckCode(r.Context(), f.SMSCodeID, f.Address, store.CodeSMS, code, s.d.Now())
	if err != nil {
		s.internal(w, r, "failed to check code", err)
		return
	}
	if res != store.CodeOK {
		s.oobFailed(w, r, f, "sms-code", res.String(), codeErrKey(res), factorSMS)
		return
	}
	s.oobProved(w, r, f, factorSMS)
}

// handleEnrolmentCode checks the enrolment code the sender passed on. The
// code is recomputed (Transit HMAC), never stored, and compared in
// constant time.
func (s *Server) handleEnrolmentCode(w http.ResponseWriter, r *http.Request) {
	f, ok := s.oobStep(w, r, limitCheck, "check")
	if !ok {
		return
	}
	if _, ok := s.oobOffered(w, r, f, factorCode); !ok {
		return
	}
	want, err := s.d.Keys.EnrollmentCode(r.Context(), f.MsgID, f.Address)
	if err != nil {
		s.internal(w, r, "failed to compute enrolment code", err)
		return
	}
	given, wellFormed := keys.NormalizeEnrollmentCode(r.PostFormValue("code"))
	if !keys.EnrollmentCodesEqual(want, given) {
		reason := "wrong"
		if !wellFormed {
			reason = "malformed"
		}
		s.oobFailed(w, r, f, "enrolment-code", reason, "err.enrolcode.wrong", factorCode)
		return
	}
	s.oobProved(w, r, f, factorCode)
}

// oobFailed counts a failed out-of-band check toward the lockout.
func (s *Server) oobFailed(w http.ResponseWriter, r *http.Request, f *flow, check, reason, errKey, errFor string) {
	if s.checkFailed(w, r, f.Address, f.MsgID, check, reason) {
		return
	}
	s.oobPage(w, r, http.StatusBadRequest, f, errKey, errFor)
}

// oobProved moves a flow on once the factor is proved: an enrolment to
// choosing an authenticator, a step-up to the message.
func (s *Server) oobProved(w http.ResponseWriter, r *http.Request, f *flow, factor string) {
	ctx := r.Context()
	if err := s.d.Store.RecordSuccess(ctx, f.Address); err != nil {
		s.internal(w, r, "failed to record success", err)
		return
	}
	if factor == factorSMS {
		s.rememberPhone(ctx, f)
	}
	if f.Kind == flowStepUp {
		if !s.auditOK(w, r, Actor(f.Address), ActionStepUp, f.MsgID, map[string]string{"factor": factor}) {
			return
		}
		if err := s.d.Store.StepUp(ctx, f.Address); err != nil {
			s.internal(w, r, "failed to step up", err)
			return
		}
		s.endFlow(ctx, w, f)
		redirect(w, r, msgPath(f.MsgID))
		return
	}
	f.OOB = factor
	f.SMSCodeID = ""
	if err := s.saveFlow(ctx, f); err != nil {
		s.internal(w, r, "failed to save flow", err)
		return
	}
	redirect(w, r, "/enrol")
}

// rememberPhone seals the phone number just proved into the account.
func (s *Server) rememberPhone(ctx context.Context, f *flow) {
	o, err := s.oobFactors(ctx, f.MsgID, f.Address)
	if err != nil || o.phone == "" {
		return
	}
	sealed, err := s.d.Keys.SealPortal(ctx, "phone:"+f.Address, []byte(o.phone))
	if err == nil {
		err = s.d.Store.SetPhone(ctx, f.Address, sealed)
	}
	if err != nil {
		s.log.Warn("portal: failed to record the proved phone", "err", err)
	}
}

// checkFailed audits a failed check (check, reason) of address and counts
// it toward the lockout. It returns true when it answered the request (an
// error, or the locked page).
func (s *Server) checkFailed(w http.ResponseWriter, r *http.Request, address, msgID, check, reason string) bool {
	if !s.auditOK(w, r, Actor(address), ActionLoginFailed, msgID, map[string]string{"check": check, "reason": reason}) {
		return true
	}
	return s.recordFailure(w, r, address, msgID)
}

// recordFailure counts a failed check against address; when that locks
// the account it audits the lockout, shows the locked page and returns
// true.
func (s *Server) recordFailure(w http.ResponseWriter, r *http.Request, address, msgID string) bool {
	until, err := s.d.Store.RecordFailure(r.Context(), address, s.d.Now())
	if err != nil {
		s.internal(w, r, "failed to record failure", err)
		return true
	}
	if until.IsZero() {
		return false
	}
	if !s.auditOK(w, r, Actor(address), ActionLockout, msgID, map[string]string{"until": until.UTC().Format(time.RFC3339)}) {
		return true
	}
	s.lockedPage(w, r, until)
	return true
}

// showLocked shows the locked page when address is locked.
func (s *Server) showLocked(w http.ResponseWriter, r *http.Request, address, msgID string) bool {
	acct, err := s.d.Store.Account(r.Context(), address)
	if err != nil {
		return false
	}
	if !acct.Locked(s.d.Now()) {
		return false
	}
	s.lockedPage(w, r, acct.LockedUntil)
	return true
}

func (s *Server) lockedPage(w http.ResponseWriter, r *http.Request, until time.Time) {
	mins := int(until.Sub(s.d.Now()).Round(time.Minute).Minutes())
	w.Header().Set("Retry-After", fmt.Sprint(int(until.Sub(s.d.Now()).Seconds())+1))
	s.render(w, r, http.StatusTooManyRequests, "locked", "title.locked", struct{ Minutes int }{max(mins, 1)})
}

// methodData is the data of the method, passkey and password pages.
type methodData struct {
	MsgID   string
	Address string
	Lower   bool // enrolling at the mailbox level: lower assurance
	Error   string
	// The TOTP step of the password page.
	TOTP   bool
	Secret string       // base32, grouped
	QR     template.URL // data: URI of a PNG (safe: made here)
	URL    template.URL // otpauth:// URL (safe: made here)
}

func (s *Server) enrolFlow(w http.ResponseWriter, r *http.Request) (*flow, bool) {
	f, ok := s.loadFlow(r, flowEnrol)
	if !ok || !f.readyToEnrol() {
		s.flowGone(w, r, f)
		return nil, false
	}
	return f, true
}

// enrolCheck is enrolFlow for a form whose answer is checked: it takes a
// token from the client's check bucket first.
func (s *Server) enrolCheck(w http.ResponseWriter, r *http.Request) (*flow, bool) {
	if s.limited(w, r, limitCheck, "check") {
		return nil, false
	}
	return s.enrolFlow(w, r)
}

// totpSeed opens the TOTP seed of address (sealed with Transit). It shows
// the error page and returns false when it cannot.
func (s *Server) totpSeed(w http.ResponseWriter, r *http.Request, address, sealed string) ([]byte, bool) {
	secret, err := s.d.Keys.OpenPortal(r.Context(), "totp:"+address, sealed)
	if err != nil {
		s.internal(w, r, "failed to open TOTP seed", err)
		return nil, false
	}
	return secret, true
}

func (s *Server) methodData(f *flow) methodData {
	return methodData{MsgID: f.MsgID, Address: f.Address, Lower: f.level() == store.LevelMailbox}
}

// handleMethodPage offers a passkey or a password with TOTP.
func (s *Server) handleMethodPage(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.enrolFlow(w, r); ok {
		s.render(w, r, http.StatusOK, "method", "title.method", s.methodData(f))
	}
}

// handlePasskeyPage is the page that registers a passkey (portal.js runs
// the ceremony).
func (s *Server) handlePasskeyPage(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.enrolFlow(w, r); ok {
		s.render(w, r, http.StatusOK, "passkey", "title.passkey", s.methodData(f))
	}
}

// handlePasswordPage asks for a new password (or, once one is chosen, for
// the first TOTP code).
func (s *Server) handlePasswordPage(w http.ResponseWriter, r *http.Request) {
	f, ok := s.enrolFlow(w, r)
	if !ok {
		return
	}
	if f.TOTPSealed != "" {
		s.totpPage(w, r, http.StatusOK, f, "")
		return
	}
	s.render(w, r, http.StatusOK, "password", "title.password", s.methodData(f))
}

// handleSetPassword checks and hashes the new password, then makes a TOTP
// key (sealed with Transit, kept in the flow until confirmed).
func (s *Server) handleSetPassword(w http.ResponseWriter, r *http.Request) {
	f, ok := s.enrolCheck(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	if key := passwordProblem(pw, confirm, f.Address); key != "" {
		d := s.methodData(f)
		d.Error = key
		s.render(w, r, http.StatusBadRequest, "password", "title.password", d)
		return
	}
	k, err := newTOTPKey(s.cfg.Branding.Name, f.Address)
	if err != nil {
		s.internal(w, r, "failed to make TOTP key", err)
		return
	}
	sealed, err := s.d.Keys.SealPortal(ctx, "totp:"+f.Address, []byte(k.Secret()))
	if err != nil {
		s.internal(w, r, "failed to seal TOTP seed", err)
		return
	}
	f.PasswordHash = hashPassword(pw, s.auth.argon)
	f.TOTPSealed = sealed
	if err := s.saveFlow(ctx, f); err != nil {
		s.internal(w, r, "failed to save flow", err)
		return
	}
	redirect(w, r, "/enrol/password")
}

// totpPage shows the TOTP secret (as text and QR code) and asks for the
// first code.
func (s *Server) totpPage(w http.ResponseWriter, r *http.Request, status int, f *flow, errKey string) {
	secret, ok := s.totpSeed(w, r, f.Address, f.TOTPSealed)
	if !ok {
		return
	}
	k, err := newTOTPKeyFromSecret(s.cfg.Branding.Name, f.Address, string(secret))
	if err != nil {
		s.internal(w, r, "failed to rebuild TOTP key", err)
		return
	}
	qr, err := totpQR(k)
	if err != nil {
		s.internal(w, r, "failed to draw QR code", err)
		return
	}
	d := s.methodData(f)
	d.TOTP, d.Secret, d.QR, d.URL, d.Error = true, groupSecret(k.Secret()), template.URL(qr), template.URL(k.URL()), errKey
	s.render(w, r, status, "password", "title.totp", d)
}

// handleConfirmTOTP checks the first TOTP code and enrols the account.
func (s *Server) handleConfirmTOTP(w http.ResponseWriter, r *http.Request) {
	f, ok := s.enrolCheck(w, r)
	if !ok {
		return
	}
	if f.TOTPSealed == "" || f.PasswordHash == "" {
		redirect(w, r, "/enrol/password")
		return
	}
	secret, ok := s.totpSeed(w, r, f.Address, f.TOTPSealed)
	if !ok {
		return
	}
	code, _ := normalizeDigits(r.PostFormValue("code"), int(totpDigits))
	step, ok := totpStep(string(secret), code, s.d.Now())
	if !ok {
		if !s.auditOK(w, r, Actor(f.Address), ActionLoginFailed, f.MsgID, map[string]string{"check": "totp-setup", "reason": "wrong"}) {
			return
		}
		s.totpPage(w, r, http.StatusBadRequest, f, "err.totp.wrong")
		return
	}
	s.enrol(w, r, f, store.Enrolment{
		Method: store.MethodPassword, PasswordHash: f.PasswordHash, TOTPSealed: f.TOTPSealed, TOTPStep: step,
	}, false)
}

// enrol records the enrolment, signs the account in and ends the flow.
// json selects the answer: a JSON redirect (passkey ceremonies) or a 303.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request, f *flow, e store.Enrolment, json bool) {
	ctx := r.Context()
	e.Level, e.At = f.level(), s.d.Now()
	// The flow may have begun before the account enrolled (or before an
	// admin reset it): then it must not replace what is there now. The
	// store checks again in the transaction that writes.
	acct, err := s.d.Store.Account(ctx, f.Address)
	if err != nil {
		s.internal(w, r, "failed to get account", err)
		return
	}
	if acct.Enrolled() || (acct.WasReset() && e.Level != store.LevelOOB) {
		s.enrolRefused(w, r, f, json)
		return
	}
	if f.OOB != "" {
		if !s.auditOK(w, r, Actor(f.Address), ActionStepUp, f.MsgID, map[string]string{"factor": f.OOB}) {
			return
		}
	}
	if !s.auditOK(w, r, Actor(f.Address), ActionEnrol, f.MsgID, map[string]string{"method": e.Method, "level": e.Level}) {
		return
	}
	if err := s.d.Store.Enrol(ctx, f.Address, e); errors.Is(err, store.ErrEnrolRefused) {
		s.enrolRefused(w, r, f, json)
		return
	} else if err != nil {
		s.internal(w, r, "failed to enrol", err)
		return
	}
	s.signIn(w, r, f, f.Address, e.Method, json)
}

// enrolRefused ends an enrolment flow whose account was enrolled or reset
// since the flow began, audits it, and sends the visitor back to the start.
func (s *Server) enrolRefused(w http.ResponseWriter, r *http.Request, f *flow, json bool) {
	if !s.auditOK(w, r, Actor(f.Address), ActionLoginFailed, f.MsgID,
		map[string]string{"check": "enrol", "reason": "account-changed"}) {
		return
	}
	s.endFlow(r.Context(), w, f)
	if json {
		jsonError(w, http.StatusConflict, "err.flow")
		return
	}
	s.render(w, r, http.StatusConflict, "start", "title.start", startData{MsgID: f.MsgID, Error: "err.flow"})
}

// loginData is the login page's data.
type loginData struct {
	MsgID    string
	Address  string
	Passkey  bool // the account has passkeys
	Password bool // the account has a password
	Error    string
}

// loginAccount loads the account of a login flow; a locked account gets
// the locked page. It returns nil when the request stops here.
func (s *Server) loginAccount(w http.ResponseWriter, r *http.Request, f *flow) *store.Account {
	acct, err := s.d.Store.Account(r.Context(), f.Address)
	if err != nil {
		s.internal(w, r, "failed to get account", err)
		return nil
	}
	if acct.Locked(s.d.Now()) {
		s.lockedPage(w, r, acct.LockedUntil)
		return nil
	}
	return acct
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, status int, f *flow, errKey string) {
	acct := s.loginAccount(w, r, f)
	if acct == nil {
		return
	}
	s.render(w, r, status, "login", "title.login", loginData{
		MsgID: f.MsgID, Address: f.Address, Error: errKey,
		Passkey: acct.Method == store.MethodPasskey, Password: acct.Method == store.MethodPassword,
	})
}

// handleLoginPage asks an enrolled account to sign in.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	f, ok := s.loadFlow(r, flowLogin)
	if !ok {
		s.flowGone(w, r, nil)
		return
	}
	s.loginPage(w, r, http.StatusOK, f, "")
}

// handleLoginPassword checks a password and a TOTP code. Both are always
// checked, and a failure never says which was wrong.
func (s *Server) handleLoginPassword(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, limitCheck, "check") {
		return
	}
	ctx := r.Context()
	f, ok := s.loadFlow(r, flowLogin)
	if !ok {
		s.flowGone(w, r, nil)
		return
	}
	acct := s.loginAccount(w, r, f)
	if acct == nil {
		return
	}
	hash := acct.PasswordHash
	if hash == "" {
		hash = s.dummyPasswordHash()
	}
	pwOK := checkPassword(hash, r.PostFormValue("password")) && acct.PasswordHash != ""
	var secret []byte
	if acct.TOTPSealed != "" {
		var ok bool
		if secret, ok = s.totpSeed(w, r, acct.Address, acct.TOTPSealed); !ok {
			return
		}
	}
	code, _ := normalizeDigits(r.PostFormValue("code"), int(totpDigits))
	step, totpOK := totpStep(string(secret), code, s.d.Now())
	totpOK = totpOK && len(secret) > 0
	reason := ""
	switch {
	case !pwOK:
		reason = "password"
	case !totpOK:
		reason = "totp"
	default:
		fresh, err := s.d.Store.UseTOTPStep(ctx, acct.Address, step)
		if err != nil {
			s.internal(w, r, "failed to record TOTP step", err)
			return
		}
		if !fresh {
			reason = "totp-replay"
		}
	}
	if reason != "" {
		if s.checkFailed(w, r, acct.Address, f.MsgID, "password", reason) {
			return
		}
		s.loginPage(w, r, http.StatusBadRequest, f, "err.login.wrong")
		return
	}
	s.loggedIn(w, r, f, acct.Address, store.MethodPassword, false)
}

// loggedIn starts the session after a successful login.
func (s *Server) loggedIn(w http.ResponseWriter, r *http.Request, f *flow, address, method string, json bool) {
	ctx := r.Context()
	if err := s.d.Store.RecordSuccess(ctx, address); err != nil {
		s.internal(w, r, "failed to record success", err)
		return
	}
	if !s.auditOK(w, r, Actor(address), ActionLogin, f.MsgID, map[string]string{"method": method}) {
		return
	}
	s.signIn(w, r, f, address, method, json)
}

// signIn starts a session for address, ends the flow and sends the visitor
// on to the flow's message. json selects the answer: a JSON redirect
// (passkey ceremonies) or a 303.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, f *flow, address, method string, json bool) {
	ctx := r.Context()
	if err := s.startSession(ctx, w, address, method); err != nil {
		s.internal(w, r, "failed to start session", err)
		return
	}
	s.endFlow(ctx, w, f)
	if json {
		writeJSON(w, http.StatusOK, map[string]string{"redirect": msgPath(f.MsgID)})
		return
	}
	redirect(w, r, msgPath(f.MsgID))
}

// loadSessionQuiet is loadSession without writing cookies or last_seen:
// for checks inside a flow.
func (s *Server) loadSessionQuiet(r *http.Request) (*Session, bool) {
	sess, _ := s.loadSession(discardCookies{}, r)
	return sess, sess != nil
}

// discardCookies is a ResponseWriter that drops what loadSession writes.
type discardCookies struct{}

func (discardCookies) Header() http.Header         { return http.Header{} }
func (discardCookies) Write(b []byte) (int, error) { return len(b), nil }
func (discardCookies) WriteHeader(int)             {}

// handleStepUp starts (or resumes) a step-up for a signed-in mailbox-level
// account that wants to open a message needing more.
func (s *Server) handleStepUp(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	msgID := r.URL.Query().Get("m")
	if !validMsgID(msgID) {
		s.fail(w, r, http.StatusNotFound, "err.notfound")
		return
	}
	sess, r := s.loadSession(w, r)
	if sess == nil {
		redirect(w, r, msgPath(msgID))
		return
	}
	if sess.Level == store.LevelOOB {
		redirect(w, r, msgPath(msgID))
		return
	}
	ok, err := s.d.Store.IsRecipient(ctx, msgID, sess.Address)
	if err != nil {
		s.internal(w, r, "failed to check recipient", err)
		return
	}
	if !ok {
		if !s.auditOK(w, r, Actor(sess.Address), ActionDenied, msgID, map[string]string{"reason": "not-recipient"}) {
			return
		}
		s.fail(w, r, http.StatusNotFound, "err.notfound")
		return
	}
	f, ok := s.loadFlow(r, flowStepUp)
	if !ok || f.Address != sess.Address || f.MsgID != msgID {
		f, err = s.newFlow(ctx, w, &flowState{Kind: flowStepUp, Address: sess.Address, MsgID: msgID, Mailbox: true})
		if err != nil {
			s.internal(w, r, "failed to start step-up", err)
			return
		}
	}
	s.oobPage(w, r, http.StatusOK, f, "", "")
}

// handleLogout ends the session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	sess, r := s.loadSession(w, r)
	if sess != nil {
		token, _ := cookieToken(r, s.sessionCookie())
		s.endSession(r.Context(), tokenHash(token))
		if !s.auditOK(w, r, Actor(sess.Address), ActionLogout, "", nil) {
			return
		}
	}
	s.setCookie(w, s.sessionCookie(), "", -1)
	redirect(w, r, "/")
}
