package policy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-message/textproto"
)

func FuzzParse(f *testing.F) {
	f.Add(defaultPolicy)
	if b, err := os.ReadFile("../deploy/policy.example.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(raisePolicy))
	f.Add([]byte(monitorPolicy))
	f.Add([]byte("version: 1\nrules:\n  - name: r\n    when: {retention: 1d}\ndefault: pass\n"))
	f.Add([]byte("version: 1\ndefaults: {retention: 99999999999d}\ndefault: pass\n"))
	f.Add([]byte("version: 1\nrules: [{name: a, when: {header: {X: ['*']}}, action: seal}]\ndefault: reject\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("version: 1\ndefaults: {oob_factor: sms, read_receipt: true}\nrules:\n  - {name: a, when: {}, action: seal, oob_factor: code}\ndefault: seal\n"))
	in := &Input{Sender: "a@example.org", Recipients: []string{"b@partner.example", "c@blocked.example"},
		Header: textproto.HeaderFromMap(map[string][]string{"Subject": {"[secure] x"}, "Sensitivity": {"private"}})}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data)
		if err != nil {
			return
		}
		d, err := e.Decide(context.Background(), in)
		if err != nil {
			t.Fatalf("Decide on a parsed policy: %v", err)
		}
		checkDecision(t, e, in, d)
		for _, o := range d.Outcomes {
			switch o.OOBFactor {
			case OOBFactorAny, OOBFactorSMS, OOBFactorCode:
			default:
				t.Fatalf("outcome with oob_factor %q", o.OOBFactor)
			}
		}
	})
}

func FuzzDetectEncrypted(f *testing.F) {
	for _, name := range []string{"pgp-mime.eml", "pgp-inline.eml", "smime-enveloped.eml", "smime-signed.eml"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\n\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: application/age\r\n\r\nage-encryption.org/v1\r\n-> X25519 abc\r\nAAAA\r\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\x00\x01"))
	f.Add([]byte("\r\n-----BEGIN AGE ENCRYPTED FILE-----\r\nYWdl\r\n-----END AGE ENCRYPTED FILE-----\r\n"))
	f.Add([]byte("Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6A=\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := SniffEncrypted(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("SniffEncrypted on an in-memory reader: %v", err)
		}
		h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			if got != "" {
				t.Fatalf("unparsable message sniffed as %q", got)
			}
			return
		}
		claim := DetectEncrypted(h)
		switch {
		case got == "":
		case claim != "" && got != claim:
			t.Fatalf("header claims %q, body sniffed as %q", claim, got)
		case claim == "" && got != EncryptedPGPInline && got != EncryptedAge:
			t.Fatalf("no header claim, body sniffed as %q", got)
		}
	})
}

func FuzzDecide(f *testing.F) {
	f.Add([]byte("Subject: =?UTF-8?B?W3NlY3VyZV0=?=\r\n\r\nbody"), "a@clinic.example", "b@partner.example", false, true)
	f.Add([]byte("Subject: x\r\nmsip_labels: "+msipConfidential+"\r\n\r\n"), "", "<B@Blocked.Example>", true, false)
	f.Add([]byte("Subject: x\r\nSensitivity: =?x?q?=FF?=\r\nX-Sealpost-Encrypt: yes\r\n\r\n"), "@", "@@", false, false)
	f.Add([]byte("Subject: =?UTF-8?Q?=5Bsec?= =?UTF-8?Q?ure=5D?=\r\nContent-Type: multipart/encrypted; protocol=application/pgp-encrypted; boundary=b\r\n\r\n--b--"), "x@xn--bcher-kva.example", "y@bücher.example", true, true)
	engines := []*Engine{Default(), mustParse(f, raisePolicy), mustParse(f, monitorPolicy)}
	f.Fuzz(func(t *testing.T, raw []byte, sender, rcpt string, tls, auth bool) {
		h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		for _, open := range []func() (io.ReadCloser, error){nil, func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(raw)), nil
		}} {
			in := &Input{Sender: sender, Recipients: []string{rcpt, "z@partner.example"}, Header: h,
				Open: open, TLS: tls, Authenticated: auth, Size: int64(len(raw))}
			for _, e := range engines {
				d, err := e.Decide(context.Background(), in)
				if err != nil {
					t.Fatalf("Decide: %v", err)
				}
				checkDecision(t, e, in, d)
			}
		}
	})
}

// checkDecision asserts what must hold for any decision.
func checkDecision(t *testing.T, e *Engine, in *Input, d *Decision) {
	t.Helper()
	if len(d.Outcomes) != len(in.Recipients) {
		t.Fatalf("%d outcomes for %d recipients", len(d.Outcomes), len(in.Recipients))
	}
	for i, o := range d.Outcomes {
		if o.Recipient != in.Recipients[i] {
			t.Fatalf("outcome %d is for %q, not %q", i, o.Recipient, in.Recipients[i])
		}
		if !o.Action.Valid() || !o.Would.Valid() || o.Rule == "" {
			t.Fatalf("outcome %d incomplete: %+v", i, o)
		}
		if o.Signal != "" && !o.Would.Seals() && o.Would != ActionReject {
			t.Fatalf("sender signal %q lowered to %s by %q", o.Signal, o.Would, o.Rule)
		}
		if e.monitor {
			if o.Signal != "" && !o.Action.Seals() {
				t.Fatalf("monitor mode: sender signal %q did not seal (%s)", o.Signal, o.Action)
			}
			if o.Signal == "" && o.Action != ActionPass {
				t.Fatalf("monitor mode: %s without a sender signal", o.Action)
			}
		} else if o.Action != o.Would {
			t.Fatalf("enforce mode: action %s differs from would %s", o.Action, o.Would)
		}
		if o.Action == ActionReject && o.RejectText == "" {
			t.Fatal("reject without text")
		}
	}
	if !json.Valid(d.JSON()) {
		t.Fatalf("invalid JSON: %s", d.JSON())
	}
}
