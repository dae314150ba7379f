package portal

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/store"
)

// Regression tests from the security review.

// TestOldFlowCannotOverwriteEnrolment: a mailbox thief who proved the
// mailbox before the owner enrolled keeps a flow that is ready to enrol;
// once the owner has enrolled, that flow must not replace the owner's
// authenticator (nor lower the account to the mailbox level).
func TestOldFlowCannotOverwriteEnrolment(t *testing.T) {
	e := newTestEnv(t)
	const addr = "owner@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Assurance: "mailbox"})

	thief := e.browser()
	r := e.proveMailbox(t, thief, addr, msg.ID, 1)
	requireStatus(t, "thief's mailbox code", r, http.StatusSeeOther, "/enrol")

	owner := e.browser()
	r = e.proveMailbox(t, owner, addr, msg.ID, 2)
	requireStatus(t, "owner's mailbox code", r, http.StatusSeeOther, "/enrol")
	e.finishPasswordEnrolment(t, owner, msg.ID)
	before, err := e.Store.Account(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}

	secret := choosePassword(t, thief, "thief's own password 123")
	r = thief.post(t, "/enrol/totp", url.Values{"code": {totpCode(t, secret, e.now())}})
	requireStatus(t, "enrolment over an enrolled account", r, http.StatusConflict, "")
	if thief.cookie("__Host-sp_session") != "" {
		t.Fatal("the refused enrolment signed the thief in")
	}
	after, _ := e.Store.Account(testCtx(t), addr)
	if after.PasswordHash != before.PasswordHash || after.TOTPSealed != before.TOTPSealed || after.Level != before.Level {
		t.Fatalf("the owner's enrolment was replaced: before %+v after %+v", before, after)
	}
	if x := e.requireAudit(t, ActionLoginFailed, msg.ID); x.Detail["check"] != "enrol" {
		t.Fatalf("refusal entry %+v", x)
	}
	// The owner still signs in with their own password.
	requireStatus(t, "owner's message", owner.get(t, "/m/"+msg.ID), http.StatusOK, "")
}

// TestResetBeatsOldFlow: after an admin reset the next enrolment must prove
// the out-of-band factor, even through a flow that proved the mailbox (for
// a mailbox-assurance message) before the reset.
func TestResetBeatsOldFlow(t *testing.T) {
	e := newTestEnv(t)
	const addr = "reset-race@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Assurance: "mailbox"})

	spare := e.browser() // a second flow, kept ready to enrol
	requireStatus(t, "spare flow", e.proveMailbox(t, spare, addr, msg.ID, 1), http.StatusSeeOther, "/enrol")
	first := e.browser()
	requireStatus(t, "first flow", e.proveMailbox(t, first, addr, msg.ID, 2), http.StatusSeeOther, "/enrol")
	e.finishPasswordEnrolment(t, first, msg.ID)

	if err := e.Store.ResetAccount(testCtx(t), addr, e.now()); err != nil {
		t.Fatal(err)
	}
	secret := choosePassword(t, spare, testPassword)
	r := spare.post(t, "/enrol/totp", url.Values{"code": {totpCode(t, secret, e.now())}})
	requireStatus(t, "mailbox-level enrolment after a reset", r, http.StatusConflict, "")
	acct, _ := e.Store.Account(testCtx(t), addr)
	if acct.Enrolled() || !acct.WasReset() {
		t.Fatalf("reset account enrolled through an old flow: %+v", acct)
	}
	if acct.Level == store.LevelMailbox {
		t.Fatal("reset account at the mailbox level")
	}
}

// TestFormBodyBounded: a form post is read only up to maxFormBody, so a
// huge multipart body (a file part ahead of the real field) is refused
// rather than spooled to disk.
func TestFormBodyBounded(t *testing.T) {
	e := newTestEnv(t)
	const addr = "big@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Assurance: "mailbox"})
	post := func(fileSize int) *resp {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("junk", "junk.bin")
		fw.Write(bytes.Repeat([]byte{'x'}, fileSize))
		mw.WriteField("email", addr)
		mw.WriteField("m", msg.ID)
		mw.Close()
		req, err := http.NewRequest(http.MethodPost, testURL+"/start", &body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return e.browser().do(t, req)
	}
	requireStatus(t, "small multipart start", post(1<<10), http.StatusSeeOther, "/code")
	if r := post(maxFormBody + 1); r.Status == http.StatusSeeOther {
		t.Fatalf("a %d-byte form body was read in full", maxFormBody+1)
	}
}

// TestHopRefusalNotLogged: a next hop's refusal often echoes the address
// in its text; the portal logs only the reply codes.
func TestHopRefusalNotLogged(t *testing.T) {
	e := newTestEnv(t)
	const addr = "echoed.address@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Assurance: "mailbox"})
	e.Codes.Fail = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "<" + addr + ">: Recipient address rejected: User unknown"}
	requireStatus(t, "start", startFlow(t, e.browser(), addr, msg.ID), http.StatusSeeOther, "/code")
	e.Server.wait()
	logs := e.logs()
	if !strings.Contains(logs, "failed to send a mailbox code") || !strings.Contains(logs, "550 5.1.1") {
		t.Fatalf("the failed send is not logged with its codes:\n%s", logs)
	}
	if strings.Contains(logs, addr) {
		t.Fatalf("the log holds the address:\n%s", logs)
	}
}
