package browser

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-message"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sealpost/sealpost/gateway/lifecycle"
	"github.com/sealpost/sealpost/gateway/store"
	harness "github.com/sealpost/sealpost/internal/browser"
)

// The recipients.
const (
	patientA = "patient-a@example.net" // passkey; reads, downloads, replies
	patientB = "patient-b@example.net" // passkey; tries patient A's message
	patientC = "patient-c@example.net" // mailbox code only, then a step-up
	patientD = "patient-d@example.net" // password and TOTP, then locked out
)

// TestPortal runs the recipient journeys against one stack, in order: the
// later ones continue sessions and use messages of the earlier ones.
func TestPortal(t *testing.T) {
	s := startStack(t)
	t.Run("PasskeyEnrolment", s.passkeyEnrolment)
	t.Run("PasswordTOTP", s.passwordTOTP)
	t.Run("MailboxAssurance", s.mailboxAssurance)
	t.Run("Attachment", s.attachment)
	t.Run("SecureReply", s.secureReply)
	t.Run("Recall", s.recallJourney)
	t.Run("SecondRecipient", s.secondRecipient)
	t.Run("HostileHTML", s.hostileHTML)
	t.Run("Expired", s.expired)

	// Every kind of page was checked for accessibility by some journey.
	var missed []string
	for kind := range headings {
		if !s.checked[kind] {
			missed = append(missed, kind)
		}
	}
	if !s.checked["message"] {
		missed = append(missed, "message")
	}
	if len(missed) > 0 {
		slices.Sort(missed)
		t.Errorf("no journey reached (and checked) these pages: %v", missed)
	}
	// Nothing anyone did made a request for a "pwned" path reach the portal.
	if got := s.proxy.matching("pwned"); len(got) > 0 {
		t.Errorf("requests for pwned paths reached the portal: %v", got)
	}
}

// enrolPasskey takes a visitor on the start page of message id through
// enrolment with a passkey: the mailbox code, then the enrolment code when
// oob, then a passkey. It ends on the message page of subject.
func (v *visitor) enrolPasskey(id, address, subject string, oob bool) {
	v.t.Helper()
	n := v.startAs(address)
	v.at("code")
	v.mustShow(address)
	v.b.Fill("#code", v.s.mailboxCode(v.t, address, n))
	v.submit(`form[action="/code"] button[type=submit]`)
	if oob {
		v.at("oob")
		v.b.Fill("#enrol-code", v.s.enrolmentCode(v.t, id, address))
		v.submit(`form[action="/oob/code"] button[type=submit]`)
	}
	v.at("method")
	v.submit(`a[href="/enrol/passkey"]`)
	v.at("passkey")
	v.passkeyCeremony("")
	v.atMessage(subject)
}

// passkeyEnrolment: patient A follows the notice's link, proves the
// mailbox and the enrolment code, registers a passkey and reads the
// message; signs out, and signs in again with the passkey alone.
func (s *stack) passkeyEnrolment(t *testing.T) {
	const subject = "[secure] Discharge summary"
	const marker = "HbA1c 48 mmol/mol on discharge (passkey-journey)"
	body := "Dear Ms Thistlewood,\r\n\r\nNHS number 943 476 5919. " + marker + ".\r\nMetformin 500 mg twice daily.\r\n"
	id := s.send(t, doctor, patientA, mail(doctor, patientA, subject, text(body)), marker, "Discharge summary")

	v := s.visitor(t, "passkey")
	if st := v.open("/m/" + id); st != 200 {
		t.Errorf("the notice's link answered %d", st)
	}
	v.at("start")
	if got := v.attr(`input[name="m"]`, "value"); got != id {
		t.Errorf("the start page carries message %q, want %q", got, id)
	}
	v.mustNotShow(marker, "Discharge")
	v.phone("start")

	n := v.startAs(patientA)
	v.at("code")
	code := s.mailboxCode(t, patientA, n)
	v.b.Fill("#code", code)
	v.submit(`form[action="/code"] button[type=submit]`)
	v.at("oob")
	// No phone number came with the message: the enrolment code is the
	// only factor offered.
	if v.exists(`form[action="/oob/sms"]`) || !v.exists("#enrol-code") {
		t.Errorf("the oob page should offer the enrolment code only")
	}
	v.b.Fill("#enrol-code", strings.ToLower(s.enrolmentCode(t, id, patientA))) // as a person might type it
	v.submit(`form[action="/oob/code"] button[type=submit]`)
	v.at("method")
	if v.exists(".notice.lower") {
		t.Errorf("an oob enrolment is labelled lower assurance")
	}
	v.submit(`a[href="/enrol/passkey"]`)
	v.at("passkey")
	auth := v.passkeyCeremony("")
	v.atMessage(subject)

	if got := v.b.Text("dl.headers"); !strings.Contains(got, doctor) || !strings.Contains(got, patientA) {
		t.Errorf("the message headers show %q, want the sender %s and the recipient %s", got, doctor, patientA)
	}
	if got := v.b.Text("pre.text"); !strings.Contains(got, marker) || !strings.Contains(got, "Metformin 500 mg") {
		t.Errorf("the message text shows %q, want the letter", got)
	}
	if v.exists(".notice.warn") {
		t.Errorf("an oob message is labelled lower assurance")
	}
	creds := v.b.Credentials(auth)
	if len(creds) != 1 {
		t.Fatalf("the authenticator holds %d credentials, want 1", len(creds))
	}
	if creds[0].RpID != "localhost" || !creds[0].IsResidentCredential {
		t.Errorf("credential rp %q resident %v, want a resident credential for localhost", creds[0].RpID, creds[0].IsResidentCredential)
	}
	if c := v.b.Cookie(sessionCookie); c == nil || !c.HTTPOnly || !c.Secure || c.SameSite != "Lax" {
		t.Errorf("session cookie = %+v, want HttpOnly, Secure, SameSite=Lax", c)
	}
	v.phone("message")

	v.open("/")
	v.at("inbox")
	v.mustShow(doctor, "Open")
	v.mustNotShow("Discharge")

	// Sign out, then in again with the passkey alone: no mailbox code.
	v.submit(`form.logout button[type=submit]`)
	v.at("start")
	if v.session() != "" {
		t.Errorf("the session cookie survived signing out")
	}
	if st := v.open("/m/" + id); st != 200 {
		t.Errorf("the message link answered %d after signing out", st)
	}
	v.at("start")
	v.mustNotShow(marker)
	n = v.startAs(patientA)
	v.at("login")
	if v.exists("#password") {
		t.Errorf("the login page of a passkey account asks for a password")
	}
	v.passkeyCeremony(auth)
	v.atMessage(subject)
	v.mustShow(marker)
	if got := v.b.Credentials(auth); len(got) != 1 || got[0].SignCount < 2 {
		t.Errorf("after signing in the authenticator holds %d credentials, want the one, used twice", len(got))
	}
	time.Sleep(200 * time.Millisecond)
	for _, d := range s.capture.Deliveries()[n:] {
		if slices.Contains(d.To, patientA) {
			t.Errorf("signing in with the passkey sent mail to %s", patientA)
		}
	}
	s.remember("session", patientA, v.session())
}

// totpCode is the code of the key's TOTP at step.
func totpCode(t *testing.T, key *otp.Key, step int64) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(key.Secret(), time.Unix(step*int64(key.Period()), 0), totp.ValidateOpts{
		Period: uint(key.Period()), Digits: key.Digits(), Algorithm: key.Algorithm(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// passwordTOTP: patient D enrols with a password and an authenticator app
// (codes computed here from the secret on the page), signs out, signs in
// with the password and a fresh code (the code used at enrolment is
// refused), then is locked out by wrong passwords.
func (s *stack) passwordTOTP(t *testing.T) {
	const subject = "[secure] Clinic letter"
	const marker = "Your thyroid function is normal (totp-journey)"
	const password = "correct horse battery staple 42"
	id := s.send(t, doctor, patientD, mail(doctor, patientD, subject, text(marker+"\r\n")), marker)

	v := s.visitor(t, "totp")
	v.open("/m/" + id)
	v.at("start")
	n := v.startAs(patientD)
	v.at("code")
	v.b.Fill("#code", s.mailboxCode(t, patientD, n))
	v.submit(`form[action="/code"] button[type=submit]`)
	v.at("oob")
	v.b.Fill("#enrol-code", s.enrolmentCode(t, id, patientD))
	v.submit(`form[action="/oob/code"] button[type=submit]`)
	v.at("method")
	v.submit(`a[href="/enrol/password"]`)
	v.at("password")
	v.b.Fill("#password", password)
	v.b.Fill("#confirm", password)
	v.submit(`form[action="/enrol/password"] button[type=submit]`)
	v.at("totp")

	secret := strings.ReplaceAll(v.b.Text("code.secret"), " ", "")
	key, err := otp.NewKeyFromURL(harness.EvalAs[string](v.b, `document.querySelector('a[href^="otpauth:"]').href`))
	if err != nil {
		t.Fatalf("the otpauth link does not parse: %v", err)
	}
	if !strings.EqualFold(key.Secret(), secret) || key.Type() != "totp" {
		t.Fatalf("the page shows secret %q, the otpauth link %q (%s)", secret, key.Secret(), key.Type())
	}
	if src := v.attr("img.qr", "src"); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Errorf("the QR code is %.40q, want a PNG data URL", src)
	}
	period := int64(key.Period())
	enrolStep := time.Now().Unix() / period
	v.b.Fill("#code", totpCode(t, key, enrolStep))
	v.submit(`form[action="/enrol/totp"] button[type=submit]`)
	v.atMessage(subject)
	v.mustShow(marker)

	v.submit(`form.logout button[type=submit]`)
	v.at("start")
	v.open("/m/" + id)
	v.at("start")
	v.startAs(patientD)
	v.at("login")
	if v.exists("#passkey") && v.attr("#passkey", "hidden") == "" {
		t.Errorf("the login page of a password account offers a passkey")
	}
	// The code of the enrolment is spent.
	v.b.Fill("#password", password)
	v.b.Fill("#code", totpCode(t, key, enrolStep))
	if st := v.submit(`form[action="/login/password"] button[type=submit]`); st != 400 {
		t.Errorf("a replayed TOTP code answered %d, want 400", st)
	}
	v.at("login", "error")
	if !v.exists("#login-error") {
		t.Errorf("a replayed TOTP code signed in or showed no error")
	}
	// A fresh code: the current one, or, still within the enrolment's 30
	// seconds, the next one (which the authenticator app shows moments
	// later, and the portal accepts as one step of clock skew).
	fresh := max(enrolStep+1, time.Now().Unix()/period)
	v.b.Fill("#password", password)
	v.b.Fill("#code", totpCode(t, key, fresh))
	v.submit(`form[action="/login/password"] button[type=submit]`)
	v.atMessage(subject)
	v.mustShow(marker)

	// Wrong passwords lock the account at the LockAfter-th failure.
	v.submit(`form.logout button[type=submit]`)
	v.at("start")
	v.open("/")
	v.at("start")
	v.startAs(patientD)
	v.at("login")
	for i := 1; i <= store.LockAfter; i++ {
		v.b.Fill("#password", fmt.Sprintf("not the password %d!", i))
		v.b.Fill("#code", totpCode(t, key, time.Now().Unix()/period))
		st := v.submit(`form[action="/login/password"] button[type=submit]`)
		if i < store.LockAfter {
			if st != 400 {
				t.Errorf("wrong password %d answered %d, want 400", i, st)
			}
			v.at("login", "error")
			if !v.exists("#login-error") {
				t.Errorf("wrong password %d showed no error", i)
			}
			continue
		}
		if st != 429 {
			t.Errorf("wrong password %d (the locking one) answered %d, want 429", i, st)
		}
		v.at("locked")
	}
	// Locked means locked: the right password and a fresh code are refused.
	f := v.fetchPath("POST", "/login/password", map[string]string{
		"password": password, "code": totpCode(t, key, time.Now().Unix()/period+1),
	})
	if f.Status != 429 || !strings.Contains(f.Body, headings["locked"]) || strings.Contains(f.Body, marker) {
		t.Errorf("the right password on a locked account answered %d, want 429 and the locked page", f.Status)
	}
}

// mailboxAssurance: patient C enrols with the mailbox code alone for a
// message whose policy asks only that (labelled lower assurance); a later
// message that needs the out-of-band factor sends C to the step-up page
// until C proves an SMS code.
func (s *stack) mailboxAssurance(t *testing.T) {
	const subject1 = "Appointment reminder"
	const marker1 = "Diabetes clinic on 12 May at 10:30 (mailbox-journey)"
	const subject2 = "[secure] Diabetes review results"
	const marker2 = "Retinal screening shows no change (stepup-journey)"
	m1 := s.send(t, reminders, patientC, mail(reminders, patientC, subject1, text(marker1+"\r\n")), marker1)
	if a := s.message(t, m1).Assurance; a != store.LevelMailbox {
		t.Fatalf("the reminder was sealed with assurance %q, want mailbox (policy rule appointment-reminders)", a)
	}

	v := s.visitor(t, "mailbox")
	v.open("/m/" + m1)
	v.at("start")
	n := v.startAs(patientC)
	v.at("code")
	v.b.Fill("#code", s.mailboxCode(t, patientC, n))
	v.submit(`form[action="/code"] button[type=submit]`)
	v.at("method") // no out-of-band step
	v.mustShow("Lower assurance.", patientC)
	v.submit(`a[href="/enrol/passkey"]`)
	v.at("passkey")
	v.mustShow("Lower assurance.")
	auth := v.passkeyCeremony("")
	v.atMessage(subject1)
	v.mustShow(marker1, "Lower assurance.")
	if len(v.b.Credentials(auth)) != 1 {
		t.Errorf("no passkey registered")
	}

	const phone = "+447700900456"
	m2 := s.send(t, doctor, patientC, mail(doctor, patientC, subject2, text(marker2+"\r\n"),
		"X-Sealpost-Recipient-Phone", patientC+": +44 7700 900456"), marker2, "7700900456")
	if a := s.message(t, m2).Assurance; a != "oob" {
		t.Fatalf("the results were sealed with assurance %q, want oob", a)
	}
	v.open("/m/" + m2)
	v.at("stepup")
	if !strings.HasPrefix(strings.TrimPrefix(v.b.URL(), s.portal), "/stepup?m="+m2) {
		t.Errorf("the oob message led to %s, want the step-up page", v.b.URL())
	}
	v.mustNotShow(marker2, "Retinal")
	for _, sub := range []string{"/body", "/att/0", "/part/0", "/reply"} {
		f := v.fetchPath("GET", "/m/"+m2+sub, nil)
		if strings.Contains(f.Body, marker2) || !strings.Contains(f.URL, "/stepup?m=") {
			t.Errorf("GET /m/ID%s before the step-up ended at %s (%d), want the step-up page and no content", sub, f.URL, f.Status)
		}
	}
	v.mustShow("ending in 56")

	// A wrong enrolment code is refused.
	v.b.Fill("#enrol-code", "ABCD-EFGH-JKMN")
	if st := v.submit(`form[action="/oob/code"] button[type=submit]`); st != 400 {
		t.Errorf("a wrong enrolment code answered %d, want 400", st)
	}
	v.at("stepup", "error")
	if !v.exists("#enrol-error") {
		t.Errorf("a wrong enrolment code showed no error")
	}
	if !v.exists("form.logout") {
		t.Errorf("the step-up page shown after a wrong enrolment code (POST /oob/code) does not show that %s is "+
			"signed in, nor the sign-out button, which the same page shows on GET /stepup: the out-of-band handlers "+
			"render without the session on the request (gateway/portal/auth.go oobFlow uses loadSessionQuiet, "+
			"whose request with the session is dropped)", patientC)
	}
	if got := v.fetchPath("GET", "/m/"+m2, nil); !strings.Contains(got.URL, "/stepup") || strings.Contains(got.Body, marker2) {
		t.Errorf("after a wrong code the message answered %s", got.URL)
	}

	// The SMS code, through the webhook.
	k := s.sms.count()
	v.submit(`form[action="/oob/sms"] button[type=submit]`)
	v.at("stepup")
	sms := s.sms.waitAfter(t, k)
	if sms.To != phone {
		t.Errorf("the SMS went to %q, want %q", sms.To, phone)
	}
	code := regexp.MustCompile(`\b\d{6}\b`).FindString(sms.Text)
	if code == "" || strings.Contains(sms.Text, "Diabetes") {
		t.Fatalf("the SMS text %q holds no 6-digit code, or names the message", sms.Text)
	}
	v.b.Fill("#sms-code", code)
	v.submit(`form[action="/oob/sms/check"] button[type=submit]`)
	v.atMessage(subject2)
	v.mustShow(marker2)
	if v.exists(".notice.warn") {
		t.Errorf("the oob message is labelled lower assurance after the step-up")
	}
}

// attachment: patient A downloads a PDF from a sealed message; the bytes
// are those sent, and the response was an attachment.
func (s *stack) attachment(t *testing.T) {
	const subject = "[secure] Blood test results"
	const marker = "Please find your results attached (attachment-journey)"
	pdf := samplePDF()
	msg := mail(doctor, patientA, subject, part{Type: "multipart/mixed", Parts: []part{
		text(marker + "\r\n"),
		{Type: "application/pdf", Name: "results.pdf", Body: pdf},
	}})
	id := s.send(t, doctor, patientA, msg, marker, "results.pdf")

	v := s.visitor(t, "attachment")
	v.resume(s.recall(t, "session", patientA, "PasskeyEnrolment"))
	v.open("/m/" + id)
	v.atMessage(subject)
	v.mustShow(marker, "results.pdf", "Attachments")
	href := v.attr(`.files li a[href*="/att/"]`, "href")
	if !strings.HasPrefix(href, "/m/"+id+"/att/") {
		t.Fatalf("the download link is %q", href)
	}
	data, name := v.b.Download(func() { v.b.Click(`.files li a[href*="/att/"]`) })
	if !bytes.Equal(data, pdf) {
		t.Errorf("the downloaded file (%d bytes) differs from the PDF sent (%d bytes)", len(data), len(pdf))
	}
	if name != "results.pdf" {
		t.Errorf("the download is named %q, want results.pdf", name)
	}
	f := v.fetchPath("GET", href, nil)
	if f.Status != 200 || !strings.HasPrefix(f.Disposition, "attachment") || !strings.Contains(f.Disposition, "results.pdf") {
		t.Errorf("GET %s = %d, Content-Disposition %q, want an attachment named results.pdf", href, f.Status, f.Disposition)
	}
	if f.Type != "application/octet-stream" {
		t.Errorf("the PDF is served as %q, want application/octet-stream (never rendered inline)", f.Type)
	}
	s.remember("msg", "results", id)
	s.remember("msg", "results-att", href)
}

// secureReply: patient A replies from the portal with text and a file; the
// reply reaches the doctor's next hop sealed, from the portal's address,
// and break-glass shows it whole inside.
func (s *stack) secureReply(t *testing.T) {
	id := s.recall(t, "msg", "results", "Attachment")
	const subject = "[secure] Blood test results"
	const marker = "Thank you, my home readings are attached (reply-journey)"
	file := []byte("date,glucose\r\n2025-05-01,6.1\r\n2025-05-02,5.8\r\n\x00\x01\xfe\xff")
	path := filepath.Join(t.TempDir(), "readings.csv")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	orig := s.message(t, id)

	v := s.visitor(t, "reply")
	v.resume(s.recall(t, "session", patientA, "PasskeyEnrolment"))
	v.open("/m/" + id)
	v.atMessage(subject)
	v.submit(`a.button[href$="/reply"]`)
	v.at("reply")
	v.mustShow(doctor, "Re: "+subject)
	v.b.Fill("#text", marker)
	ctx, cancel := context.WithTimeout(v.b.Context(), browseTimeout)
	err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{path}))
	cancel()
	if err != nil {
		t.Fatalf("failed to choose the file: %v", err)
	}
	n := s.deliveries()
	v.submit(`form[enctype="multipart/form-data"] button[type=submit]`)
	v.at("sent")
	v.mustShow(doctor)

	d := s.waitDelivery(t, n, doctor, nil)
	if d.From != portalFrom {
		t.Errorf("the reply's envelope sender is %q, want the portal's %s", d.From, portalFrom)
	}
	// The subject carries [secure]: the relay sealed the reply.
	if bytes.Contains(d.raw, []byte(marker)) || bytes.Contains(d.raw, []byte("glucose")) {
		t.Errorf("the reply reached the next hop in the clear")
	}
	replyID := s.noticeID(t, d)
	sealed := s.message(t, replyID)
	if sealed.Sender != portalFrom {
		t.Errorf("the sealed reply's sender is %q", sealed.Sender)
	}

	// Break-glass, as `sealpost message decrypt --break-glass` does.
	var raw bytes.Buffer
	bctx, bcancel := context.WithTimeout(context.Background(), time.Minute)
	defer bcancel()
	if err := s.life.BreakGlass(bctx, replyID, "admin:browser-test", "check the secure reply", &raw); err != nil {
		t.Fatalf("break-glass on the reply: %v", err)
	}
	m, err := message.Read(bytes.NewReader(raw.Bytes()))
	if err != nil {
		t.Fatalf("the reply does not parse: %v", err)
	}
	h := m.Header
	for _, c := range []struct{ field, want string }{
		{"From", portalFrom}, {"To", doctor}, {"Reply-To", patientA}, {"Subject", "Re: " + subject},
	} {
		if got := h.Get(c.field); !strings.Contains(got, c.want) {
			t.Errorf("the reply's %s is %q, want %s", c.field, got, c.want)
		}
	}
	if origMsgID := originalMessageID(t, s, orig); origMsgID != "" && !strings.Contains(h.Get("In-Reply-To"), origMsgID) {
		t.Errorf("the reply's In-Reply-To is %q, want %s", h.Get("In-Reply-To"), origMsgID)
	}
	var gotText string
	var gotFile []byte
	var gotName string
	err = m.Walk(func(_ []int, e *message.Entity, err error) error {
		if err != nil {
			return err
		}
		mt, _, _ := e.Header.ContentType()
		_, dp, _ := e.Header.ContentDisposition()
		switch {
		case dp["filename"] != "":
			gotName = dp["filename"]
			gotFile, err = io.ReadAll(e.Body)
		case mt == "text/plain":
			var b []byte
			b, err = io.ReadAll(e.Body)
			gotText += string(b)
		}
		return err
	})
	if err != nil {
		t.Fatalf("failed to read the reply: %v", err)
	}
	if !strings.Contains(gotText, marker) {
		t.Errorf("the reply's text is %q, want %q", gotText, marker)
	}
	if gotName != "readings.csv" || !bytes.Equal(gotFile, file) {
		t.Errorf("the reply's attachment is %q (%d bytes), want readings.csv, %d bytes intact", gotName, len(gotFile), len(file))
	}
}

// originalMessageID returns the Message-ID of the original message as the
// portal shows it, through break-glass ("" if it has none).
func originalMessageID(t *testing.T, s *stack, m *store.Message) string {
	t.Helper()
	var raw bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.life.BreakGlass(ctx, m.ID, "admin:browser-test", "check the reply threading", &raw); err != nil {
		t.Fatalf("break-glass on the original: %v", err)
	}
	msg, err := message.Read(&raw)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Trim(msg.Header.Get("Message-ID"), "<> ")
}

// recallJourney: an admin recalls a message patient A has read; the portal
// then shows the recalled page and no content, on every URL of it.
func (s *stack) recallJourney(t *testing.T) {
	const subject = "[secure] Referral letter"
	const marker = "Referred to cardiology for an echocardiogram (recall-journey)"
	id := s.send(t, doctor, patientA, mail(doctor, patientA, subject, part{Type: "multipart/mixed", Parts: []part{
		text(marker + "\r\n"),
		{Type: "application/octet-stream", Name: "ecg.bin", Body: []byte("ecg-data-recall-journey\x00\x01")},
	}}), marker)

	v := s.visitor(t, "recall")
	v.resume(s.recall(t, "session", patientA, "PasskeyEnrolment"))
	v.open("/m/" + id)
	v.atMessage(subject)
	v.mustShow(marker)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.life.Recall(ctx, id, "admin:browser-test", "sent to the wrong patient"); err != nil {
		t.Fatalf("recall: %v", err)
	}
	if st := v.open("/m/" + id); st != 410 {
		t.Errorf("the recalled message answered %d, want 410", st)
	}
	v.at("recalled")
	v.mustNotShow(marker, "cardiology", "Referral")
	v.mustShow(doctor)
	for _, sub := range []string{"/body", "/att/0", "/att/1", "/part/0", "/reply"} {
		f := v.fetchPath("GET", "/m/"+id+sub, nil)
		if f.Status != 410 || strings.Contains(f.Body, marker) || strings.Contains(f.Body, "ecg-data") {
			t.Errorf("GET /m/ID%s after the recall = %d, want 410 and no content", sub, f.Status)
		}
	}
	f := v.fetchPath("POST", "/m/"+id+"/reply", map[string]string{"text": "a reply to a recalled message"})
	if f.Status != 410 {
		t.Errorf("a reply to the recalled message answered %d, want 410", f.Status)
	}
	v.open("/")
	v.at("inbox")
	v.mustShow("Withdrawn by the sender")
}

// secondRecipient: patient B, enrolled and signed in, cannot open patient
// A's message by any of its URLs; each is the same not-found page as an
// id that does not exist.
func (s *stack) secondRecipient(t *testing.T) {
	aID := s.recall(t, "msg", "results", "Attachment")
	att := s.recall(t, "msg", "results-att", "Attachment")
	const subject = "[secure] Physiotherapy appointment"
	const marker = "Bring comfortable clothes (second-recipient-journey)"
	bID := s.send(t, doctor, patientB, mail(doctor, patientB, subject, text(marker+"\r\n")), marker)

	v := s.visitor(t, "other")
	v.open("/m/" + bID)
	v.at("start")
	v.enrolPasskey(bID, patientB, subject, true)
	v.mustShow(marker)

	n := s.deliveries()
	secrets := []string{"Please find your results attached", "results.pdf", "Blood test", "%PDF"}
	partN := strings.Replace(att, "/att/", "/part/", 1)
	for _, path := range []string{"/m/" + aID, "/m/" + aID + "/body", att, partN, "/m/" + aID + "/reply", "/m/AAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if st := v.open(path); st != 404 {
			t.Errorf("patient B: GET %s = %d, want 404", path, st)
		}
		v.at("notfound")
		v.mustNotShow(secrets...)
	}
	f := v.fetchPath("POST", "/m/"+aID+"/reply", map[string]string{"text": "not my message"})
	if f.Status != 404 || !strings.Contains(f.Body, headings["notfound"]) {
		t.Errorf("patient B: POST a reply to A's message = %d, want 404", f.Status)
	}
	time.Sleep(300 * time.Millisecond)
	if got := s.deliveries(); got != n {
		t.Errorf("patient B's attempts sent %d messages", got-n)
	}
}

// hostileHTML: a sealed HTML message with script, a remote image, a form
// and an SVG attachment with script runs nothing, loads nothing and
// offers the SVG only as a download.
func (s *stack) hostileHTML(t *testing.T) {
	const subject = "[secure] Scan report"
	const marker = "Your scan report is ready (hostile-journey)"
	remote := s.remoteURL
	html := `<html><head><style>body{background:url(` + remote + `/bg.png)}</style></head><body>` +
		`<h1>Scan report</h1><p>` + marker + `</p>` +
		`<script>top.pwned=1;fetch('/pwned')</script>` +
		`<img src="` + remote + `/remote.png" alt="tracker">` +
		`<img src="x" onerror="top.pwned=4;fetch('/pwned-onerror')" alt="x">` +
		`<form action="` + remote + `/steal" method="post"><input name="q" value="nhs"><button>Confirm</button></form>` +
		`<a href="javascript:top.pwned=3">details</a>` +
		`<iframe src="/pwned-frame"></iframe>` +
		`<object data="` + remote + `/object.swf"></object>` +
		`</body></html>`
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">` +
		`<script>top.pwned=2;fetch('/pwned-svg')</script><rect width="20" height="20" fill="red"/></svg>`)
	msg := mail(doctor, patientA, subject, part{Type: "multipart/mixed", Parts: []part{
		{Type: "multipart/alternative", Parts: []part{text(marker + "\r\n"), {Type: "text/html", Body: []byte(html)}}},
		{Type: "image/svg+xml", Name: "diagram.svg", Body: svg},
	}})
	id := s.send(t, doctor, patientA, msg, marker)

	// The remote server does record what reaches it.
	resp, err := http.Get(remote + "/probe")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := s.remote.all(); len(got) != 1 || got[0] != "GET /probe" {
		t.Fatalf("the remote server recorded %v, want its probe", got)
	}
	probes := 1

	v := s.visitor(t, "hostile")
	v.resume(s.recall(t, "session", patientA, "PasskeyEnrolment"))
	v.open("/m/" + id)
	v.atMessage(subject)
	v.waitFor("the message frame", `(() => { const f = document.querySelector("iframe"); return f !== null && f.getAttribute("src") !== null; })()`)
	deadline := time.Now().Add(browseTimeout)
	for len(s.proxy.matching("GET /m/"+id+"/body")) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if len(s.proxy.matching("GET /m/"+id+"/body")) == 0 {
		t.Errorf("the message frame never loaded its body")
	}
	time.Sleep(time.Second) // give any hostile load time to happen

	sandbox := harness.EvalAs[*string](v.b, `document.querySelector("iframe").getAttribute("sandbox")`)
	if sandbox == nil {
		t.Errorf("the message frame has no sandbox attribute")
	} else if strings.Contains(*sandbox, "allow-scripts") || strings.Contains(*sandbox, "allow-same-origin") {
		t.Errorf("the message frame's sandbox is %q", *sandbox)
	}
	if got := harness.EvalAs[string](v.b, `typeof window.pwned`); got != "undefined" {
		t.Errorf("window.pwned is %s in the portal page", got)
	}

	// The SVG is listed, never shown, and served only as a download.
	rows := harness.EvalAs[[]map[string]any](v.b, `Array.from(document.querySelectorAll(".files li")).map(li => ({
		name: li.querySelector(".fname").textContent, href: li.querySelector("a").getAttribute("href"),
		img: li.querySelector("img") !== null}))`)
	var href string
	for _, r := range rows {
		if r["name"] == "diagram.svg" {
			href, _ = r["href"].(string)
			if r["img"] == true {
				t.Errorf("the SVG attachment is shown as an image")
			}
		}
	}
	if href == "" {
		t.Fatalf("the SVG attachment is not listed: %v", rows)
	}
	if n := harness.EvalAs[float64](v.b, `document.querySelectorAll("img[src*='/part/'], object, embed, iframe[src*='/att/'], iframe[src*='/part/']").length`); n != 0 {
		t.Errorf("the message page embeds %v parts", n)
	}
	f := v.fetchPath("GET", href, nil)
	if f.Status != 200 || strings.Contains(f.Type, "svg") || f.Type != "application/octet-stream" || !strings.HasPrefix(f.Disposition, "attachment") {
		t.Errorf("GET %s = %d, %q, %q; want application/octet-stream as an attachment", href, f.Status, f.Type, f.Disposition)
	}
	p := v.fetchPath("GET", strings.Replace(href, "/att/", "/part/", 1), nil)
	if p.Status != 404 || strings.Contains(p.Type, "svg") {
		t.Errorf("the SVG as an inline part = %d %q, want 404", p.Status, p.Type)
	}
	data, name := v.b.Download(func() { v.b.Click(fmt.Sprintf(`.files li a[href=%s]`, js(href))) })
	if !bytes.Equal(data, svg) || name != "diagram.svg" {
		t.Errorf("the SVG download is %q (%d bytes), want diagram.svg, the bytes sent", name, len(data))
	}

	// The frame's document on its own: sandboxed, sanitised.
	b := v.fetchPath("GET", "/m/"+id+"/body", nil)
	if !strings.Contains(b.CSP, "sandbox") {
		t.Errorf("the body's Content-Security-Policy is %q, want a sandbox", b.CSP)
	}
	if !strings.Contains(b.Body, marker) {
		t.Errorf("the body lost the message's text")
	}
	for _, bad := range []string{"<script", "onerror", "<form", "javascript:", remote, "<iframe", "<object", "pwned"} {
		if strings.Contains(strings.ToLower(b.Body), strings.ToLower(bad)) {
			t.Errorf("the sanitised body still holds %q", bad)
		}
	}
	v.open("/m/" + id + "/body")
	v.waitFor("the body document", `document.readyState === "complete"`)
	v.step++
	v.b.Screenshot(fmt.Sprintf("%s-%02d-body", v.journey, v.step))
	if got := harness.EvalAs[string](v.b, `typeof window.pwned`); got != "undefined" {
		t.Errorf("window.pwned is %s in the body document", got)
	}

	time.Sleep(500 * time.Millisecond)
	if got := s.remote.all(); len(got) > probes {
		t.Errorf("the remote server was asked for %v", got[probes:])
	}
	if got := s.proxy.matching("pwned"); len(got) > 0 {
		t.Errorf("the portal was asked for %v", got)
	}
	if ex := v.b.Exceptions(); len(ex) > 0 {
		t.Errorf("the pages threw: %v", ex)
	}
}

// expired: a message whose retention (3 s, policy rule short-lived-results)
// has passed is shredded by the retention sweep; the portal shows the
// expired page and no content.
func (s *stack) expired(t *testing.T) {
	const subject = "[secure] Potassium result"
	const marker = "Potassium 4.1 mmol/L (expired-journey)"
	id := s.send(t, results, patientA, mail(results, patientA, subject, text(marker+"\r\n")), marker)
	m := s.message(t, id)
	if d := m.RetainUntil.Sub(m.Created); d <= 0 || d > shortRetain+time.Second {
		t.Fatalf("the message is retained for %v, want %v (policy rule short-lived-results)", d, shortRetain)
	}
	deadline := time.Now().Add(expiryTimeout)
	for !m.Recalled() && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		m = s.message(t, id)
	}
	if !m.Recalled() || m.RecalledBy != lifecycle.ActorExpiry {
		t.Fatalf("the retention sweep did not shred the message within %v (recalled by %q)", expiryTimeout, m.RecalledBy)
	}

	v := s.visitor(t, "expired")
	v.resume(s.recall(t, "session", patientA, "PasskeyEnrolment"))
	if st := v.open("/m/" + id); st != 410 {
		t.Errorf("the expired message answered %d, want 410", st)
	}
	v.at("expired")
	v.mustNotShow(marker, "Potassium")
	f := v.fetchPath("GET", "/m/"+id+"/body", nil)
	if f.Status != 410 || strings.Contains(f.Body, marker) {
		t.Errorf("the expired message's body answered %d", f.Status)
	}
	v.open("/")
	v.at("inbox")
	v.mustShow("Expired", "Withdrawn by the sender")
	v.phone("inbox")
}
