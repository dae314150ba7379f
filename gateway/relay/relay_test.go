package relay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/emersion/go-message"
	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/gateway/seal"
)

const nhsNumber = "943 476 5919" // a valid NHS number (mod 11 check digit)

func sensitiveMessage(subject string) string {
	return crlf(`From: Dr Example <doctor@example.org>
To: Patient <patient@example.net>
Bcc: secret-bcc@example.org
X-Sealpost-Recipient-Phone: +447700900123
Subject: ` + subject + `
Date: Mon, 23 Nov 2026 06:00:00 +0000
Message-ID: <letter-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Dear Ms Patient,
Your NHS number is ` + nhsNumber + `. Diagnosis: type 2 diabetes, HbA1c 48 mmol/mol.
`)
}

// plantedPHI are strings that must never reach the next hop in the clear.
var plantedPHI = []string{"Discharge", "943 476 5919", "9434765919", "diabetes", "HbA1c", "secret-bcc", "+447700900123", "7700900123"}

// walkParts calls f with every decoded header and body of a MIME message.
func walkParts(t *testing.T, raw []byte, f func(where string, data []byte)) {
	t.Helper()
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("delivered copy does not parse: %v", err)
	}
	var walk func(e *message.Entity, depth int)
	walk = func(e *message.Entity, depth int) {
		fields := e.Header.Fields()
		for fields.Next() {
			v, _ := fields.Text()
			f("header "+fields.Key(), []byte(v))
		}
		if mr := e.MultipartReader(); mr != nil {
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("part: %v", err)
				}
				walk(p, depth+1)
			}
			return
		}
		b, err := io.ReadAll(e.Body)
		if err != nil {
			t.Fatalf("body: %v", err)
		}
		f(fmt.Sprintf("body at depth %d", depth), b)
	}
	walk(ent, 0)
}

func assertNoPHI(t *testing.T, where string, data []byte) {
	t.Helper()
	for _, s := range plantedPHI {
		if bytes.Contains(bytes.ToLower(data), bytes.ToLower([]byte(s))) {
			t.Errorf("%s contains planted PHI %q", where, s)
		}
	}
}

// sealedAttachment returns the decoded message.eml.age of a delivered copy.
func sealedAttachment(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	found, err := seal.ExtractSealedAttachment(bytes.NewReader(raw), &out)
	if err != nil || !found {
		t.Fatalf("no sealed attachment: found=%v err=%v", found, err)
	}
	return out.Bytes()
}

func decrypt(t *testing.T, ct []byte, id age.Identity) []byte {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	b, err := io.ReadAll(r)
	must(t, err)
	return b
}

func stripped(msg string) string {
	var out []string
	for _, l := range strings.SplitAfter(msg, "\r\n") {
		if strings.HasPrefix(l, "Bcc:") || strings.HasPrefix(l, "X-Sealpost-") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

func TestSealedMessageReachesNextHopAsCiphertextOnly(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	own := h.registerKey("patient@example.net")
	msg := sensitiveMessage("[secure] Discharge summary")
	if err := h.send("doctor@example.org", []string{"patient@example.net"}, msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	ds := h.capture.Deliveries()
	if len(ds) != 1 {
		t.Fatalf("got %d deliveries, want 1", len(ds))
	}
	d := ds[0]
	if d.From != "doctor@example.org" || len(d.To) != 1 || d.To[0] != "patient@example.net" || !d.TLS {
		t.Fatalf("envelope not kept or not over TLS: %+v", d)
	}
	assertNoPHI(t, "raw delivered copy", d.Data)
	walkParts(t, d.Data, func(where string, data []byte) { assertNoPHI(t, where, data) })

	ent, err := message.Read(bytes.NewReader(d.Data))
	must(t, err)
	for _, k := range []string{"From", "To", "Date", "Message-Id"} {
		if ent.Header.Get(k) == "" {
			t.Errorf("header %s not kept", k)
		}
	}
	if got := ent.Header.Get("Subject"); got != "Secure message from Test Trust" {
		t.Errorf("subject = %q", got)
	}
	idHeader := ent.Header.Get("X-Sealpost-Id")
	id, _, ok := seal.VerifyID(h.relay.deps.MACKey, idHeader)
	if !ok {
		t.Fatalf("X-Sealpost-Id does not verify: %q", idHeader)
	}
	if !bytes.Contains(d.Data, []byte("http://localhost:8080/m/"+id)) {
		t.Errorf("notice does not link to the portal")
	}

	// The directory recipient opens it with its own key, byte for byte.
	ct := sealedAttachment(t, d.Data)
	if got, want := string(decrypt(t, ct, own)), stripped(msg); got != want {
		t.Fatalf("direct recipient decrypted:\n%q\nwant:\n%q", got, want)
	}

	// The portal path: the stored wrapped secret unwraps with the portal's
	// token, never with the relay's, and opens the same ciphertext.
	m, err := h.store.GetMessage(context.Background(), id)
	must(t, err)
	if sec, err := h.relayKC.Unwrap(context.Background(), id, m.Wrapped); err == nil {
		root, rerr := h.relayKC.IsRootToken(context.Background())
		t.Fatalf("the relay's token unwrapped a message secret (%d bytes, root=%v %v, tok=%s)", len(sec), root, rerr, h.creds.RelayToken[:8])
	} else {
		t.Logf("relay unwrap refused: %v", err)
	}
	portalKC := newKeysClient(t, h, h.creds.PortalToken)
	secret, err := portalKC.Unwrap(context.Background(), id, m.Wrapped)
	must(t, err)
	ids, err := age.ParseIdentities(bytes.NewReader(secret))
	must(t, err)
	if got := string(decrypt(t, ct, ids[0])); got != stripped(msg) {
		t.Fatal("the per-message identity does not open the delivered ciphertext")
	}
	rc, err := h.store.OpenCiphertext(context.Background(), id)
	must(t, err)
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(stored, ct) {
		t.Fatal("stored ciphertext differs from the delivered one")
	}

	// Audit: a seal entry and a delivery entry for this message.
	var seen []string
	var buf bytes.Buffer
	must(t, h.audit.Export(context.Background(), &buf, 0))
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, id) {
			seen = append(seen, line)
		}
	}
	if len(seen) < 2 {
		t.Errorf("audit has %d entries for the message, want seal and deliver:\n%s", len(seen), buf.String())
	}
	assertNoPHI(t, "audit log", buf.Bytes())
	assertNoPHI(t, "logs", []byte(h.logs.String()))
	assertNoDiskPHI(t, h)
}

// assertNoDiskPHI reads every file the relay wrote (store, WAL, the spool
// directory) and fails if a planted string is in any.
func assertNoDiskPHI(t *testing.T, h *harness) {
	t.Helper()
	files := 0
	for _, dir := range []string{h.dir} {
		_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() || strings.Contains(p, "outbox") {
				return nil
			}
			files++
			b, err := os.ReadFile(p)
			if err == nil {
				for _, s := range []string{"943 476 5919", "HbA1c 48"} {
					if bytes.Contains(b, []byte(s)) {
						t.Errorf("%s holds plaintext %q", p, s)
					}
				}
			}
			return nil
		})
	}
	if files < 2 {
		t.Fatalf("scanned %d files: the store was not where it was looked for", files)
	}
}

func TestPassedMessageIsForwardedByteForByte(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	msg := crlf("From: a@example.org\nTo: b@example.net\nSubject: lunch\n\nSee you at noon.\n")
	must(t, h.send("a@example.org", []string{"b@example.net"}, msg))
	ds := h.capture.Deliveries()
	if len(ds) != 1 {
		t.Fatalf("got %d deliveries", len(ds))
	}
	got := string(ds[0].Data)
	if !strings.HasPrefix(got, "Received: from client.test (127.0.0.1)") {
		t.Errorf("no Received header first: %q", got[:min(len(got), 80)])
	}
	if !strings.HasSuffix(got, msg) {
		t.Errorf("original not forwarded byte for byte")
	}
}

func TestRecipientsAreSplitByOutcome(t *testing.T) {
	h := newHarness(t, harnessOpts{tlsHop: true, policyYAML: `
version: 1
rules:
  - name: partner
    when: { recipient_domain: [partner.example] }
    action: require-tls
  - name: blocked
    when: { recipient_domain: [blocked.example] }
    action: reject
    reject_text: "Recipient domain not allowed"
  - name: clinic
    when: { recipient_domain: [clinic.example] }
    action: seal
default: pass
`})
	msg := crlf("From: a@example.org\nTo: x\nSubject: hello\n\nbody\n")
	res := h.sendLMTP("a@example.org", []string{"p@partner.example", "b@blocked.example", "c@clinic.example", "o@other.example"}, msg)
	if res["p@partner.example"] != nil || res["c@clinic.example"] != nil || res["o@other.example"] != nil {
		t.Fatalf("unexpected failures: %v", res)
	}
	if e := res["b@blocked.example"]; e == nil || e.Code != 550 || !strings.Contains(e.Message, "Recipient domain not allowed") {
		t.Fatalf("reject reply = %v", e)
	}
	ds := h.capture.Deliveries()
	if len(ds) != 3 {
		t.Fatalf("got %d deliveries, want 3 groups", len(ds))
	}
	sealed := 0
	for _, d := range ds {
		if len(d.To) != 1 {
			t.Errorf("group has %d recipients", len(d.To))
		}
		if bytes.Contains(d.Data, []byte("message.eml.age")) {
			sealed++
			if d.To[0] != "c@clinic.example" {
				t.Errorf("sealed copy went to %s", d.To[0])
			}
		}
	}
	if sealed != 1 {
		t.Errorf("%d sealed copies, want 1", sealed)
	}
}

func TestRelayingDeniedOutsideAllowlist(t *testing.T) {
	h := newHarness(t, harnessOpts{allow: []string{"10.0.0.0/8"}})
	err := h.send("a@example.org", []string{"b@example.net"}, crlf("Subject: x\n\nx\n"))
	var se *smtp.SMTPError
	if !asSMTP(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) {
		t.Fatalf("got %v, want 550 5.7.1", err)
	}
	if n := len(h.capture.Deliveries()); n != 0 {
		t.Fatalf("%d deliveries", n)
	}
}

func TestNextHopDownDefersThenDelivers(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	msg := sensitiveMessage("[secure] results")
	must(t, h.capture.Down())
	err := h.send("doctor@example.org", []string{"patient@example.net"}, msg)
	if smtpCode(err) != 451 {
		t.Fatalf("next hop down: got %v, want 451", err)
	}
	must(t, h.capture.Up())
	must(t, h.send("doctor@example.org", []string{"patient@example.net"}, msg))
	if n := len(h.capture.Deliveries()); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
}

func TestRetryAfterPartialSuccessSendsOnlyWhatIsOwed(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	msg := crlf("From: a@example.org\nSubject: note\n\nhello\n")
	h.capture.Fail(capture.StageRcpt, "late@example.net", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "busy"})
	err := h.send("a@example.org", []string{"first@example.net", "late@example.net"}, msg)
	if smtpCode(err) != 451 {
		t.Fatalf("got %v, want 451 while a copy is owed", err)
	}
	h.capture.Clear()
	must(t, h.send("a@example.org", []string{"first@example.net", "late@example.net"}, msg))
	count := map[string]int{}
	for _, d := range h.capture.Deliveries() {
		for _, rc := range d.To {
			count[rc]++
		}
	}
	if count["first@example.net"] != 1 || count["late@example.net"] != 1 {
		t.Fatalf("deliveries per recipient = %v, want exactly one each", count)
	}
	// A third identical submission is answered from the ledger.
	must(t, h.send("a@example.org", []string{"first@example.net", "late@example.net"}, msg))
	if n := len(h.capture.Deliveries()); n != 2 {
		t.Fatalf("%d deliveries after a duplicate submission, want 2", n)
	}
}

func TestPermanentPartialFailureGets250AndDSN(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.capture.Fail(capture.StageRcpt, "gone@example.net", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
	msg := crlf("From: a@example.org\nSubject: private subject line\n\nhello\n")
	must(t, h.send("a@example.org", []string{"ok@example.net", "gone@example.net"}, msg))
	var dsn *capture.Delivery
	for _, d := range h.capture.Deliveries() {
		if d.From == "" && len(d.To) == 1 && d.To[0] == "a@example.org" {
			dsn = &d
		}
	}
	if dsn == nil {
		t.Fatalf("no DSN to the sender: %+v", h.capture.Deliveries())
	}
	if !bytes.Contains(dsn.Data, []byte("gone@example.net")) || !bytes.Contains(dsn.Data, []byte("Status: 5.1.1")) {
		t.Errorf("DSN does not name the failed recipient and status:\n%s", dsn.Data)
	}
	if bytes.Contains(dsn.Data, []byte("private subject line")) {
		t.Error("DSN carries the original subject")
	}
	// Every recipient failing permanently is a 5xx.
	err := h.send("a@example.org", []string{"gone@example.net"}, msg+"x\r\n")
	if smtpCode(err) != 550 {
		t.Fatalf("all failed: got %v, want 550", err)
	}
}

func TestVaultDownDefersSensitiveMail(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.vault.Stop(t)
	h.waitVault(false)
	err := h.send("doctor@example.org", []string{"patient@example.net"}, sensitiveMessage("[secure] results"))
	if smtpCode(err) != 451 {
		t.Fatalf("vault down: got %v, want 451", err)
	}
	// By default even mail that would pass waits for Vault.
	err = h.send("a@example.org", []string{"b@example.net"}, crlf("Subject: lunch\n\nnoon\n"))
	if smtpCode(err) != 451 {
		t.Fatalf("vault down, pass mail: got %v, want 451", err)
	}
	if n := len(h.capture.Deliveries()); n != 0 {
		t.Fatalf("%d deliveries while Vault was down", n)
	}
}

func TestVaultDownMayPassNonSensitiveWhenConfigured(t *testing.T) {
	h := newHarness(t, harnessOpts{passWhenVaultDown: true})
	h.vault.Stop(t)
	h.waitVault(false)
	if err := h.send("a@example.org", []string{"b@example.net"}, crlf("Subject: lunch\n\nnoon\n")); err != nil {
		t.Fatalf("pass mail with pass_when_vault_down: %v", err)
	}
	err := h.send("doctor@example.org", []string{"patient@example.net"}, sensitiveMessage("[secure] results"))
	if smtpCode(err) != 451 {
		t.Fatalf("sensitive mail with Vault down: got %v, want 451", err)
	}
}

func TestForgedSealpostIDStillSeals(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	forged := "X-Sealpost-Id: abcdefabcdefabcdefabcdef; v=1; h=AAAA; m=BBBB\r\n" + sensitiveMessage("[secure] Discharge summary")
	must(t, h.send("doctor@example.org", []string{"patient@example.net"}, forged))
	ds := h.capture.Deliveries()
	if len(ds) != 1 || !bytes.Contains(ds[0].Data, []byte("message.eml.age")) {
		t.Fatal("a forged X-Sealpost-Id switched sealing off")
	}
	assertNoPHI(t, "delivered copy", ds[0].Data)
}

func TestSealedCopyIsNotSealedTwice(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	must(t, h.send("doctor@example.org", []string{"patient@example.net"}, sensitiveMessage("[secure] Discharge summary")))
	first := h.capture.Deliveries()[0].Data
	// The sealed copy comes back through the relay (say, forwarded
	// internally): it passes unchanged but for a Received header.
	again := strings.Replace(string(first), "Subject: ", "Subject: [secure] ", 1)
	must(t, h.send("doctor@example.org", []string{"patient@example.net"}, again))
	second := h.capture.Deliveries()[1].Data
	if !bytes.HasSuffix(second, []byte(again)) {
		t.Fatal("an already sealed copy was changed")
	}
	// A copy with a broken X-Sealpost-Id, or whose body was changed (an
	// added line of text), is sealed again: the MAC binds the whole body.
	tampered := strings.Replace(again, "X-Sealpost-Id: ", "X-Sealpost-Id: x", 1)
	edited := strings.Replace(again, "has sent you a secure message", "has sent you a secure message. Her NHS number is "+nhsNumber, 1)
	for i, variant := range []string{tampered, edited} {
		must(t, h.send("doctor@example.org", []string{"patient@example.net"}, variant))
		got := h.capture.Deliveries()[2+i].Data
		if bytes.HasSuffix(got, []byte(variant)) {
			t.Fatalf("variant %d passed unsealed", i)
		}
		assertNoPHI(t, "resealed copy", got)
	}
}

func TestMalformedMessageIsRefusedAndChangesNothing(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	before, err := h.audit.Head(context.Background())
	must(t, err)
	err = h.send("a@example.org", []string{"b@example.net"}, "this is not a header\r\nno colon here\r\n")
	var se *smtp.SMTPError
	if !asSMTP(err, &se) || se.Code != 554 || se.EnhancedCode != (smtp.EnhancedCode{5, 6, 0}) {
		t.Fatalf("malformed: got %v, want 554 5.6.0", err)
	}
	if n := len(h.capture.Deliveries()); n != 0 {
		t.Fatalf("%d deliveries", n)
	}
	ms, err := h.store.FindMessages(context.Background(), storeFilterAll())
	must(t, err)
	if len(ms) != 0 {
		t.Fatalf("%d stored messages", len(ms))
	}
	after, err := h.audit.Head(context.Background())
	must(t, err)
	if after.Seq != before.Seq+1 {
		t.Errorf("audit head moved from %d to %d; want exactly one refuse entry", before.Seq, after.Seq)
	}
}

func TestRepliesAreGenericWithTraceID(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.vault.Stop(t)
	h.waitVault(false)
	err := h.send("doctor@example.org", []string{"patient@example.net"}, sensitiveMessage("[secure] x"))
	var se *smtp.SMTPError
	if !asSMTP(err, &se) {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(strings.ToLower(se.Message), "vault") || strings.Contains(se.Message, "127.0.0.1") {
		t.Errorf("reply leaks internals: %q", se.Message)
	}
	if !strings.Contains(se.Message, "[") || se.EnhancedCode[0] != 4 {
		t.Errorf("reply has no trace id or enhanced code: %+v", se)
	}
	if !strings.Contains(h.logs.String(), strings.Trim(se.Message[strings.LastIndex(se.Message, "["):], "[]")) {
		t.Error("the trace id in the reply is not in the logs")
	}
}

func TestTooManyConnectionsGet421(t *testing.T) {
	h := newHarness(t, harnessOpts{maxConns: 1})
	c1, err := net.Dial("tcp", h.smtp)
	must(t, err)
	defer c1.Close()
	buf := make([]byte, 512)
	_ = c1.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := c1.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "220") {
		t.Fatalf("first connection greeted with %q", buf[:n])
	}
	c2, err := net.Dial("tcp", h.smtp)
	must(t, err)
	defer c2.Close()
	_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ = c2.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "421 4.7.0") {
		t.Fatalf("second connection got %q, want 421", buf[:n])
	}
}

func TestTooManyRecipients(t *testing.T) {
	h := newHarness(t, harnessOpts{maxRcpts: 2})
	err := h.send("a@example.org", []string{"1@example.net", "2@example.net", "3@example.net"}, crlf("Subject: x\n\nx\n"))
	if smtpCode(err) != 452 {
		t.Fatalf("got %v, want 452", err)
	}
}

func TestLMTPGivesPerRecipientReplies(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.capture.Fail(capture.StageRcpt, "busy@example.net", &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "full"})
	h.capture.Fail(capture.StageRcpt, "gone@example.net", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no"})
	res := h.sendLMTP("a@example.org", []string{"ok@example.net", "busy@example.net", "gone@example.net"}, crlf("Subject: x\n\nx\n"))
	if res["ok@example.net"] != nil {
		t.Errorf("ok: %v", res["ok@example.net"])
	}
	if e := res["busy@example.net"]; e == nil || e.Code/100 != 4 {
		t.Errorf("busy: %v, want 4xx", e)
	}
	if e := res["gone@example.net"]; e == nil || e.Code/100 != 5 {
		t.Errorf("gone: %v, want 5xx", e)
	}
}

func TestAlreadyEncryptedMailIsRecognisedAndPolicyDecides(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for _, name := range []string{"pgp-mime.eml", "smime-enveloped.eml"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "policy", "testdata", name))
		must(t, err)
		msg := crlf(string(raw))
		must(t, h.send("a@example.org", []string{"b@example.net"}, msg))
		ds := h.capture.Deliveries()
		got := ds[len(ds)-1].Data
		if !bytes.HasSuffix(got, []byte(msg)) {
			t.Fatalf("%s: the default policy passes already-encrypted mail unchanged; it was changed", name)
		}
	}
	// An S/MIME signed-only message is not encrypted: a [secure] tag seals it.
	raw, err := os.ReadFile(filepath.Join("..", "..", "policy", "testdata", "smime-signed.eml"))
	must(t, err)
	signed := strings.Replace(crlf(string(raw)), "Subject: ", "Subject: [secure] ", 1)
	must(t, h.send("a@example.org", []string{"b@example.net"}, signed))
	ds := h.capture.Deliveries()
	if !bytes.Contains(ds[len(ds)-1].Data, []byte("message.eml.age")) {
		t.Fatal("a signed-only message tagged [secure] was not sealed")
	}
	var buf bytes.Buffer
	must(t, h.audit.Export(context.Background(), &buf, 0))
	if !strings.Contains(buf.String(), "pass") {
		t.Errorf("no audit record of the pass decision:\n%s", buf.String())
	}
}
