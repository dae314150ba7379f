package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sealpost/sealpost/gateway/store"
)

// portalGet fetches path from the node's portal with the session cookie.
func portalRequest(t *testing.T, method, url, token string, body io.Reader, ctype string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		// The portal's URL is http://localhost:…, which browsers treat as
		// secure: the cookie carries the __Host- prefix.
		req.Header.Set("Cookie", "__Host-sp_session="+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// signIn enrols address at the oob level straight in the node's store and
// returns a session cookie value for it.
func signIn(t *testing.T, st *store.Store, address string) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if _, err := st.EnsureAccount(ctx, address, now); err != nil {
		t.Fatal(err)
	}
	cred := make([]byte, 16)
	rand.Read(cred)
	err := st.Enrol(ctx, address, store.Enrolment{
		Level: store.LevelOOB, Method: store.MethodPasskey, At: now,
		Passkey: &store.Passkey{CredentialID: cred, Address: address, Credential: []byte(`{}`), Created: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256([]byte(token))
	err = st.CreateSession(ctx, &store.Session{
		TokenHash: hash[:], Address: address, Created: now, LastSeen: now, Expires: now.Add(time.Hour),
		Method: store.MethodPasskey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// TestNodePortal runs the portal as the node wires it: with its own Vault
// token it opens a message the relay sealed, and a secure reply goes back
// through the node's own relay, whose policy seals it.
func TestNodePortal(t *testing.T) {
	e := newEnv(t)
	cfg := e.config(t)
	cfg.Portal.Vault.Token = e.portalToken
	cfg.Portal.From = "portal@relay.test"
	cfg.Portal.Branding.PrimaryColor = "#005EB8"
	n := start(t, cfg)
	base := "http://" + n.PortalAddr

	if code, body := portalRequest(t, http.MethodGet, base+"/static/brand.css", "", nil, ""); code != http.StatusOK || body != ":root{--brand:#005EB8}\n" {
		t.Errorf("brand.css = %d %q", code, body)
	}

	const marker = "portal-node-marker"
	msg := "From: doctor@example.org\r\nTo: patient@example.net\r\nSubject: [secure] Discharge summary\r\n" +
		"Message-ID: <discharge-1@example.org>\r\n\r\nNHS number 943 476 5919. " + marker + "\r\n"
	if err := send(dial(t, n.SMTPAddr), "doctor@example.org", "patient@example.net", msg, nil); err != nil {
		t.Fatalf("send: %v", err)
	}
	waitDelivery(t, e.capture, 1)
	ctx := context.Background()
	found, err := n.Store.FindMessages(ctx, store.Filter{To: "patient@example.net"})
	if err != nil || len(found) != 1 {
		t.Fatalf("FindMessages = %d, %v; want the sealed message", len(found), err)
	}
	id := found[0].ID

	token := signIn(t, n.Store, "patient@example.net")
	code, body := portalRequest(t, http.MethodGet, base+"/m/"+id, token, nil, "")
	if code != http.StatusOK || !strings.Contains(body, marker) || !strings.Contains(body, "[secure] Discharge summary") {
		t.Fatalf("GET /m/ID = %d; want the decrypted message\n%s", code, body)
	}

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("text", "Thank you. reply-"+marker)
	mw.Close()
	code, body = portalRequest(t, http.MethodPost, base+"/m/"+id+"/reply", token, &form, mw.FormDataContentType())
	if code != http.StatusOK || !strings.Contains(body, "Your reply was sent") {
		t.Fatalf("POST reply = %d\n%s", code, body)
	}
	d := waitDelivery(t, e.capture, 2)[1]
	if d.From != "portal@relay.test" || len(d.To) != 1 || d.To[0] != "doctor@example.org" {
		t.Errorf("reply delivered %q → %v, want portal@relay.test → doctor@example.org", d.From, d.To)
	}
	// It went through the relay, whose policy sealed it ("Re: [secure] …").
	if bytes.Contains(d.Data, []byte("reply-"+marker)) || !bytes.Contains(d.Data, []byte("message.eml.age")) {
		t.Errorf("the reply reached the next hop unsealed:\n%s", d.Data)
	}
	sealed, err := n.Store.FindMessages(ctx, store.Filter{To: "doctor@example.org"})
	if err != nil || len(sealed) != 1 || sealed[0].Sender != "portal@relay.test" {
		t.Errorf("the relay did not seal the reply: %d messages, %v", len(sealed), err)
	}
	actions := map[string]bool{}
	entries, err := n.Audit.ForMessage(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range entries {
		actions[x.Action] = true
	}
	if !actions["portal.view"] || !actions["portal.reply"] {
		t.Errorf("audit actions for the message = %v, want portal.view and portal.reply", actions)
	}
}

// TestNodePortalWithoutToken: without portal.vault the node starts, and the
// portal fails closed.
func TestNodePortalWithoutToken(t *testing.T) {
	e := newEnv(t)
	n := start(t, e.config(t))
	for _, path := range []string{"/", "/m/AAAAAAAAAAAAAAAAAAAAAAAA"} {
		code, body := portalRequest(t, http.MethodGet, "http://"+n.PortalAddr+path, "", nil, "")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "not available") {
			t.Errorf("GET %s without portal credentials = %d", path, code)
		}
	}
}
