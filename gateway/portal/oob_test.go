package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sealpost/sealpost/gateway/store"
)

const testPhone = "+447700900123"

// TestEnrolWithSMS: an "oob" message with a phone on file: the mailbox
// code, then an SMS code through the webhook, then a password: level oob.
func TestEnrolWithSMS(t *testing.T) {
	e := newTestEnv(t)
	const addr = "sam@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Phones: map[string]string{addr: testPhone}})
	b := e.browser()
	r := e.proveMailbox(t, b, addr, msg.ID, 1)
	requireStatus(t, "mailbox code", r, http.StatusSeeOther, "/oob")
	mailCode := e.mailboxCode(t, addr, 1)

	// Enrolment is not open until the factor is proved.
	requireStatus(t, "enrol before oob", b.get(t, "/enrol"), http.StatusSeeOther, "/oob")

	r = b.get(t, "/oob")
	requireStatus(t, "oob page", r, http.StatusOK, "")
	requireBody(t, "oob page", r, tr("oob.sms.send", "23"), `action="/oob/code"`)
	requirePageHeaders(t, "oob page", r)
	if strings.Contains(r.Body, testPhone) || strings.Contains(r.Body, "900123") {
		t.Fatal("the page shows more of the phone number than its last two digits")
	}

	r = b.post(t, "/oob/sms", nil)
	requireStatus(t, "send SMS", r, http.StatusSeeOther, "/oob")
	code, sms := e.SMS.code(t, 1)
	if sms.To != testPhone || sms.Auth != "Bearer "+testSMSAuth {
		t.Fatalf("SMS to %q with auth %q", sms.To, sms.Auth)
	}
	// The text holds the organisation's name and the code, nothing else.
	if rest := strings.NewReplacer(testOrg, "", code, "").Replace(sms.Text); strings.Trim(rest, " :") != "code" {
		t.Fatalf("SMS text %q holds more than the organisation and the code", sms.Text)
	}
	r = b.get(t, "/oob")
	requireBody(t, "oob page after send", r, tr("oob.sms.sent", "23"), `inputmode="numeric"`)

	r = b.post(t, "/oob/sms/check", url.Values{"code": {wrongDigits(code)}})
	requireStatus(t, "wrong SMS code", r, http.StatusBadRequest, "")
	requireBody(t, "wrong SMS code", r, `aria-describedby="sms-error"`, tr("err.code.wrong"))
	r = b.post(t, "/oob/sms/check", url.Values{"code": {code}})
	requireStatus(t, "SMS code", r, http.StatusSeeOther, "/enrol")

	r = b.get(t, "/enrol")
	requireStatus(t, "method page", r, http.StatusOK, "")
	if strings.Contains(r.Body, tr("method.lower.label")) {
		t.Fatal("an oob enrolment is labelled lower assurance")
	}
	secret := e.finishPasswordEnrolment(t, b, msg.ID)
	acct, err := e.Store.Account(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Level != store.LevelOOB || !strings.HasPrefix(acct.PhoneSealed, "vault:v") || acct.Failures != 0 {
		t.Fatalf("account level %q, phone sealed %v, failures %d", acct.Level, acct.PhoneSealed != "", acct.Failures)
	}
	r = b.get(t, "/m/"+msg.ID)
	requireBody(t, "message", r, "marker-"+msg.ID)

	if x := e.requireAudit(t, ActionStepUp, msg.ID); x.Detail["factor"] != "sms" {
		t.Fatalf("step-up entry %+v", x)
	}
	if x := e.requireAudit(t, ActionEnrol, msg.ID); x.Detail["level"] != "oob" {
		t.Fatalf("enrol entry %+v", x)
	}
	sent := 0
	for _, x := range e.auditEntries(t) {
		if x.Action == ActionCodeSent && x.Detail["channel"] == "sms" {
			sent++
		}
	}
	if sent != 1 {
		t.Fatalf("%d SMS code-sent entries, want 1", sent)
	}
	e.requireNoSecrets(t, testPhone, "7700900123", code, mailCode, secret, testPassword)
}

// TestEnrolWithEnrolmentCode: factor "code": no SMS is offered; the code
// the sender passes on is accepted as typed (lower case, spaces).
func TestEnrolWithEnrolmentCode(t *testing.T) {
	e := newTestEnv(t)
	const addr = "lee@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, OOBFactor: "code", Phones: map[string]string{addr: testPhone}})
	b := e.browser()
	requireStatus(t, "mailbox", e.proveMailbox(t, b, addr, msg.ID, 1), http.StatusSeeOther, "/oob")
	r := b.get(t, "/oob")
	requireBody(t, "oob page", r, `action="/oob/code"`, `aria-describedby="enrol-help"`)
	if strings.Contains(r.Body, "/oob/sms") {
		t.Fatal("SMS offered for a message whose factor is code")
	}
	requireStatus(t, "SMS refused", b.post(t, "/oob/sms", nil), http.StatusSeeOther, "/oob")
	if len(e.SMS.Messages()) != 0 {
		t.Fatal("an SMS went out for a code-only message")
	}

	want, err := e.AdminKeys.EnrollmentCode(testCtx(t), msg.ID, addr)
	if err != nil {
		t.Fatal(err)
	}
	r = b.post(t, "/oob/code", url.Values{"code": {"AAAA-BBBB-CCCC"}})
	requireStatus(t, "wrong enrolment code", r, http.StatusBadRequest, "")
	requireBody(t, "wrong enrolment code", r, tr("err.enrolcode.wrong"), `aria-invalid="true"`)
	typed := strings.ToLower(strings.ReplaceAll(want, "-", " "))
	r = b.post(t, "/oob/code", url.Values{"code": {typed}})
	requireStatus(t, "enrolment code", r, http.StatusSeeOther, "/enrol")
	e.finishPasswordEnrolment(t, b, msg.ID)
	acct, _ := e.Store.Account(testCtx(t), addr)
	if acct.Level != store.LevelOOB {
		t.Fatalf("level %q", acct.Level)
	}
	if x := e.requireAudit(t, ActionStepUp, msg.ID); x.Detail["factor"] != "code" {
		t.Fatalf("step-up entry %+v", x)
	}
	e.requireNoSecrets(t, want, typed, testPhone)
}

// TestContactSenderWhenNoFactor: factor "sms" without a phone on file.
func TestContactSenderWhenNoFactor(t *testing.T) {
	e := newTestEnv(t)
	const addr = "ash@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, OOBFactor: "sms"})
	b := e.browser()
	requireStatus(t, "mailbox", e.proveMailbox(t, b, addr, msg.ID, 1), http.StatusSeeOther, "/oob")
	r := b.get(t, "/oob")
	requireStatus(t, "contact page", r, http.StatusOK, "")
	requireBody(t, "contact page", r, tr("title.contact"))
	e.requireAudit(t, ActionContactShown, msg.ID)
	requireStatus(t, "enrol", b.get(t, "/enrol"), http.StatusSeeOther, "/oob")
}

// TestSMSWithoutWebhook: factor "any" with a phone on file but no SMS
// webhook configured: only the enrolment code is offered.
func TestSMSWithoutWebhook(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.SMS = SMSConfig{} })
	const addr = "jo@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Phones: map[string]string{addr: testPhone}})
	b := e.browser()
	requireStatus(t, "mailbox", e.proveMailbox(t, b, addr, msg.ID, 1), http.StatusSeeOther, "/oob")
	r := b.get(t, "/oob")
	requireBody(t, "oob page", r, `action="/oob/code"`)
	if strings.Contains(r.Body, "/oob/sms") {
		t.Fatal("SMS offered without a webhook")
	}
}

// TestDecoyLooksTheSame: an address that is not a recipient gets the same
// redirect, page and status as a recipient, no mail, and no code works.
func TestDecoyLooksTheSame(t *testing.T) {
	e := newTestEnv(t)
	const real, other = "rea@example.net", "nob@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{real}, Assurance: "mailbox"})

	pages := map[string][]*resp{}
	for _, addr := range []string{real, other} {
		b := e.browser()
		r1 := startFlow(t, b, addr, msg.ID)
		requireCookie(t, r1, "__Host-sp_flow")
		r2 := b.get(t, "/code")
		r3 := b.post(t, "/code", url.Values{"code": {"00000000"}})
		pages[addr] = []*resp{r1, r2, r3}
	}
	for i := range 3 {
		a, b := pages[real][i], pages[other][i]
		if a.Status != b.Status || a.Location != b.Location {
			t.Fatalf("step %d: recipient %d %q, other %d %q", i, a.Status, a.Location, b.Status, b.Location)
		}
		if strings.ReplaceAll(a.Body, real, other) != b.Body {
			t.Fatalf("step %d: pages differ beyond the address:\n%s\n----\n%s", i, a.Body, b.Body)
		}
	}
	e.Server.wait()
	for _, m := range e.Codes.Sent() {
		if m.Env.To[0] == other {
			t.Fatal("a code was mailed to an address that is not a recipient")
		}
	}
	// Guessing every code cannot open a decoy: even a code that matches
	// the stored (never sent) one fails; here, five wrong guesses kill it.
	b := e.browser()
	startFlow(t, b, other, msg.ID)
	var last *resp
	for range 5 {
		last = b.post(t, "/code", url.Values{"code": {"12345678"}})
	}
	requireStatus(t, "dead decoy code", last, http.StatusBadRequest, "")
	requireBody(t, "dead decoy code", last, tr("err.code.dead"))
	if _, err := e.Store.Account(testCtx(t), other); err == nil {
		t.Fatal("a decoy created an account")
	}
	// Without a message id and without an account: a decoy too.
	b = e.browser()
	requireStatus(t, "no message", startFlow(t, b, "new@example.net", ""), http.StatusSeeOther, "/code")
	e.Server.wait()
	if n := len(e.Codes.Sent()); n != 1 {
		t.Fatalf("%d code mails, want 1 (the recipient's only)", n)
	}
}

// TestCodeRateLimits: at most five codes an hour per address (decoy or
// not), and a per-IP bucket on sends.
func TestCodeRateLimits(t *testing.T) {
	e := newTestEnv(t)
	msg := e.sealMessage(t, sealSpec{Recipients: []string{"rl@example.net"}, Assurance: "mailbox"})
	for _, addr := range []string{"rl@example.net", "not@example.net"} {
		for i := range 5 {
			requireStatus(t, "start", startFlow(t, e.browser(), addr, msg.ID), http.StatusSeeOther, "/code")
			_ = i
		}
		r := startFlow(t, e.browser(), addr, msg.ID)
		requireStatus(t, "sixth code in an hour", r, http.StatusTooManyRequests, "")
		requireBody(t, "sixth code", r, tr("err.ratelimit"))
		e.advance(10 * time.Minute) // refills the per-IP bucket, not the per-address hour
	}
	e.advance(41 * time.Minute)
	requireStatus(t, "after an hour", startFlow(t, e.browser(), "rl@example.net", msg.ID), http.StatusSeeOther, "/code")
	// The per-IP bucket: the burst is spent, one token comes back a minute.
	var r *resp
	for i := 0; i < int(limitSend.burst)+1; i++ {
		r = startFlow(t, e.browser(), "bucket"+string(rune('a'+i))+"@example.net", msg.ID)
		if r.Status == http.StatusTooManyRequests {
			break
		}
	}
	requireStatus(t, "per-IP limit", r, http.StatusTooManyRequests, "")
}

// TestStepUp: a mailbox-level account asks for an "oob" message, goes to
// the step-up page, proves the enrolment code and opens the message.
func TestStepUp(t *testing.T) {
	e := newTestEnv(t)
	const addr = "up@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Assurance: "oob"})
	other := e.sealMessage(t, sealSpec{Recipients: []string{"else@example.net"}, Assurance: "oob"})
	b := e.signIn(t, addr, store.LevelMailbox)

	r := b.get(t, "/m/"+msg.ID)
	requireStatus(t, "message needing more", r, http.StatusSeeOther, e.Server.stepUpURL(msg.ID))
	r = b.follow(t, r)
	requireStatus(t, "step-up page", r, http.StatusOK, "")
	requireBody(t, "step-up page", r, tr("title.stepup"), `action="/oob/code"`)
	requirePageHeaders(t, "step-up page", r)

	// Not a recipient: not found, audited.
	requireStatus(t, "step-up for another's message", b.get(t, e.Server.stepUpURL(other.ID)), http.StatusNotFound, "")
	e.requireAudit(t, ActionDenied, other.ID)

	// Signed out: back to the message's start page.
	requireStatus(t, "signed out", e.browser().get(t, e.Server.stepUpURL(msg.ID)), http.StatusSeeOther, "/m/"+msg.ID)

	b.get(t, e.Server.stepUpURL(msg.ID))
	r = b.post(t, "/oob/code", url.Values{"code": {"ZZZZ-ZZZZ-ZZZZ"}})
	requireStatus(t, "wrong code", r, http.StatusBadRequest, "")
	requireBody(t, "wrong code", r, tr("title.stepup"), tr("err.enrolcode.wrong"))
	want, err := e.AdminKeys.EnrollmentCode(testCtx(t), msg.ID, addr)
	if err != nil {
		t.Fatal(err)
	}
	r = b.post(t, "/oob/code", url.Values{"code": {want}})
	requireStatus(t, "step-up", r, http.StatusSeeOther, "/m/"+msg.ID)
	acct, _ := e.Store.Account(testCtx(t), addr)
	if acct.Level != store.LevelOOB {
		t.Fatalf("level after step-up %q", acct.Level)
	}
	if x := e.requireAudit(t, ActionStepUp, msg.ID); x.Detail["factor"] != "code" || x.Actor != Actor(addr) {
		t.Fatalf("step-up entry %+v", x)
	}
	r = b.get(t, "/m/"+msg.ID)
	requireStatus(t, "message after step-up", r, http.StatusOK, "")
	requireBody(t, "message after step-up", r, "marker-"+msg.ID)
	// Stepping up again goes straight to the message.
	requireStatus(t, "oob account", b.get(t, e.Server.stepUpURL(msg.ID)), http.StatusSeeOther, "/m/"+msg.ID)
	e.requireNoSecrets(t, want)
}

// TestAdminResetNeedsOOB: after a reset, enrolment must prove the
// out-of-band factor even for a mailbox-assurance message.
func TestAdminResetNeedsOOB(t *testing.T) {
	e := newTestEnv(t)
	const addr = "rs@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Assurance: "mailbox"})
	b := e.browser()
	e.enrolPassword(t, b, addr, msg.ID)
	requireBody(t, "message", b.get(t, "/m/"+msg.ID), "marker-"+msg.ID)

	if err := e.Store.ResetAccount(testCtx(t), addr, e.now()); err != nil {
		t.Fatal(err)
	}
	// The old session is gone.
	r := b.get(t, "/m/"+msg.ID)
	requireBody(t, "after reset", r, `action="/start"`)

	b = e.browser()
	r = e.proveMailbox(t, b, addr, msg.ID, 2)
	requireStatus(t, "mailbox after reset", r, http.StatusSeeOther, "/oob")
	want, err := e.AdminKeys.EnrollmentCode(testCtx(t), msg.ID, addr)
	if err != nil {
		t.Fatal(err)
	}
	requireStatus(t, "enrolment code", b.post(t, "/oob/code", url.Values{"code": {want}}), http.StatusSeeOther, "/enrol")
	e.finishPasswordEnrolment(t, b, msg.ID)
	acct, _ := e.Store.Account(testCtx(t), addr)
	if acct.Level != store.LevelOOB || acct.ResetAt.IsZero() {
		t.Fatalf("after re-enrolment: level %q reset %v", acct.Level, acct.ResetAt)
	}
}

// TestNoFactorForRecalledMessage: a message recalled after the recipient
// proved the mailbox (perhaps it went to the wrong address) offers no
// out-of-band factor any more, not even its enrolment code: the recipient
// is asked to contact the sender, and the code is refused.
func TestNoFactorForRecalledMessage(t *testing.T) {
	e := newTestEnv(t)
	const addr = "kim@example.net"
	msg := e.sealMessage(t, sealSpec{Recipients: []string{addr}, Phones: map[string]string{addr: testPhone}})
	code, err := e.AdminKeys.EnrollmentCode(context.Background(), msg.ID, addr)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	requireStatus(t, "mailbox", e.proveMailbox(t, b, addr, msg.ID, 1), http.StatusSeeOther, "/oob")
	if err := e.Store.Recall(context.Background(), msg.ID, "admin:test", "wrong recipient"); err != nil {
		t.Fatal(err)
	}
	r := b.get(t, "/oob")
	requireStatus(t, "contact page", r, http.StatusOK, "")
	requireBody(t, "contact page", r, tr("title.contact"))
	if r := b.post(t, "/oob/code", url.Values{"code": {code}}); r.Location == "/enrol" {
		t.Fatalf("the enrolment code of a recalled message was accepted: %d %s", r.Status, r.Location)
	}
	requireStatus(t, "enrol", b.get(t, "/enrol"), http.StatusSeeOther, "/oob")
	if n := len(e.SMS.Messages()); n != 0 {
		t.Fatalf("%d SMS sent for a recalled message", n)
	}
}
