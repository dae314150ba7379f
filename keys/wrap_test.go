package keys_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"filippo.io/age"

	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

type wrapFunc func(c *keys.Client, ctx context.Context, msgID string, secret []byte) ([]byte, error)

var schemes = []struct {
	name   string
	scheme keys.WrapScheme
	wrap   wrapFunc
}{
	{"local", keys.SchemeLocal, (*keys.Client).Wrap},
	{"transit", keys.SchemeTransit, (*keys.Client).WrapTransit},
}

func TestWrapUnwrap(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	for _, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			// The secret is a real per-message age identity; the post-quantum
			// one is the largest the relay makes.
			x, err := age.GenerateX25519Identity()
			if err != nil {
				t.Fatal(err)
			}
			pq, err := age.GenerateHybridIdentity()
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []interface {
				age.Identity
				String() string
			}{x, pq} {
				msgID := "01JD4ZP0S5" + sc.name
				blob, err := sc.wrap(e.relay, ctx, msgID, []byte(id.String()))
				if err != nil {
					t.Fatalf("relay wrap: %v", err)
				}
				w, err := keys.ParseWrapped(blob)
				if err != nil {
					t.Fatalf("wrap produced an unparsable blob: %v", err)
				}
				if w.Scheme != sc.scheme || w.KeyVersion != 1 {
					t.Fatalf("blob has scheme %v version %d, want %v version 1", w.Scheme, w.KeyVersion, sc.scheme)
				}
				if bytes.Contains(blob, []byte(id.String())) {
					t.Fatal("blob contains the plaintext secret")
				}

				// Portal and admin (break-glass) open it, and the identity
				// it yields decrypts mail sealed to its recipient.
				for name, c := range map[string]*keys.Client{"portal": e.portal, "admin": e.admin} {
					got, err := c.Unwrap(ctx, msgID, blob)
					if err != nil {
						t.Fatalf("%s unwrap: %v", name, err)
					}
					if string(got) != id.String() {
						t.Fatalf("%s unwrap returned a different secret", name)
					}
				}
				checkIdentityOpens(t, id.String())

				// The relay cannot read the past.
				_, err = e.relay.Unwrap(ctx, msgID, blob)
				requireDenied(t, "relay unwrap", err)
				if strings.Contains(err.Error(), e.creds.RelayToken) {
					t.Fatal("error message contains the token")
				}

				// A blob moved to another message's row opens nothing.
				if _, err := e.portal.Unwrap(ctx, msgID+"x", blob); !errors.Is(err, keys.ErrWrongMessage) {
					t.Fatalf("unwrap with another message id: got %v, want ErrWrongMessage", err)
				}

				// A tampered ciphertext fails in Vault (OAEP is non-malleable).
				w.Ciphertext[len(w.Ciphertext)/2] ^= 1
				if got, err := e.portal.Unwrap(ctx, msgID, w.Marshal()); err == nil {
					t.Fatalf("tampered blob unwrapped to %d bytes", len(got))
				}
			}
		})
	}
}

func checkIdentityOpens(t *testing.T, secret string) {
	t.Helper()
	ids, err := age.ParseIdentities(strings.NewReader(secret))
	if err != nil {
		t.Fatalf("unwrapped secret is not an age identity: %v", err)
	}
	var r age.Recipient
	switch id := ids[0].(type) {
	case *age.X25519Identity:
		r = id.Recipient()
	case *age.HybridIdentity:
		r = id.Recipient()
	default:
		t.Fatalf("unexpected identity type %T", id)
	}
	var sealed bytes.Buffer
	w, err := age.Encrypt(&sealed, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Dear Dr Jones, discharge summary")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rd, err := age.Decrypt(&sealed, ids...)
	if err != nil {
		t.Fatalf("unwrapped identity does not open its mail: %v", err)
	}
	if b, _ := io.ReadAll(rd); string(b) != "Dear Dr Jones, discharge summary" {
		t.Fatal("decrypted text differs")
	}
}

func TestWrapRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	tests := []struct {
		name   string
		msgID  string
		secret []byte
	}{
		{"empty id", "", []byte("s")},
		{"id with NUL", "a\x00b", []byte("s")},
		{"id with space", "a b", []byte("s")},
		{"long id", strings.Repeat("a", 129), []byte("s")},
		{"empty secret", "m1", nil},
		{"secret too large for one RSA block", "m1", bytes.Repeat([]byte("s"), 500)},
	}
	for _, tt := range tests {
		for _, sc := range schemes {
			t.Run(sc.name+"/"+tt.name, func(t *testing.T) {
				if blob, err := sc.wrap(e.relay, ctx, tt.msgID, tt.secret); err == nil {
					t.Fatalf("wrapped into %d bytes, want an error", len(blob))
				}
			})
		}
	}
	// Unwrap refuses malformed blobs before asking Vault.
	for _, blob := range []string{"", "vault:v1:AAAA", "spw1:vault:v0:AAAA", "spx1:vault:v1:AAAA", "spw1:vault:v1:A A="} {
		if _, err := e.portal.Unwrap(ctx, "m1", []byte(blob)); !errors.Is(err, keys.ErrMalformedWrapped) {
			t.Errorf("Unwrap(%q): got %v, want ErrMalformedWrapped", blob, err)
		}
	}
}

func TestRotateWrapKey(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	// A relay whose cache always expires, next to the default (5 minutes).
	eager, err := keys.New(keys.Config{Address: e.srv.Addr, Token: e.creds.RelayToken, WrapKeyMaxAge: 1})
	if err != nil {
		t.Fatal(err)
	}

	old, err := e.relay.Wrap(ctx, "m-old", []byte("old secret"))
	if err != nil {
		t.Fatal(err)
	}
	oldTransit, err := e.relay.WrapTransit(ctx, "m-old-t", []byte("old transit secret"))
	if err != nil {
		t.Fatal(err)
	}

	_, err = e.relay.RotateWrapKey(ctx)
	requireDenied(t, "relay rotate", err)
	_, err = e.portal.RotateWrapKey(ctx)
	requireDenied(t, "portal rotate", err)
	v, err := e.admin.RotateWrapKey(ctx)
	if err != nil {
		t.Fatalf("admin rotate: %v", err)
	}
	if v != 2 {
		t.Fatalf("rotated to version %d, want 2", v)
	}

	version := func(c *keys.Client, wrap wrapFunc) int {
		t.Helper()
		blob, err := wrap(c, ctx, "m-new", []byte("new secret"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := keys.ParseWrapped(blob)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.portal.Unwrap(ctx, "m-new", blob); err != nil || string(got) != "new secret" {
			t.Fatalf("unwrap of version %d blob: %q, %v", w.KeyVersion, got, err)
		}
		return w.KeyVersion
	}
	if got := version(e.relay, (*keys.Client).Wrap); got != 1 {
		t.Fatalf("cached relay wrapped with version %d before refresh, want 1 (cache)", got)
	}
	if got := version(eager, (*keys.Client).Wrap); got != 2 {
		t.Fatalf("relay with expired cache wrapped with version %d, want 2", got)
	}
	if got := version(e.relay, (*keys.Client).WrapTransit); got != 2 {
		t.Fatalf("WrapTransit used version %d, want 2", got)
	}
	if got, err := e.relay.RefreshWrapKey(ctx); err != nil || got != 2 {
		t.Fatalf("RefreshWrapKey = %d, %v; want 2", got, err)
	}
	if got := version(e.relay, (*keys.Client).Wrap); got != 2 {
		t.Fatalf("relay wrapped with version %d after refresh, want 2", got)
	}

	// Secrets wrapped before the rotation still open.
	for id, blob := range map[string][]byte{"m-old": old, "m-old-t": oldTransit} {
		if _, err := e.portal.Unwrap(ctx, id, blob); err != nil {
			t.Fatalf("unwrap of pre-rotation blob %s: %v", id, err)
		}
	}
}

// countingProxy forwards to Vault and counts Transit encrypt requests.
func countingProxy(t *testing.T, target string) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/transit/encrypt/") {
			n.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func TestWrapTransitBatches(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	addr, requests := countingProxy(t, e.srv.Addr)
	// A generous window keeps the test independent of machine load; the
	// batch is sent as soon as it holds 64 items anyway.
	relay, err := keys.New(keys.Config{Address: addr, Token: e.creds.RelayToken, BatchWindow: 200e6})
	if err != nil {
		t.Fatal(err)
	}
	const calls = 64
	blobs := make([][]byte, calls)
	errs := make([]error, calls)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			<-start
			blobs[i], errs[i] = relay.WrapTransit(ctx, fmt.Sprintf("msg-%02d", i), fmt.Appendf(nil, "secret-%02d", i))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if got := requests.Load(); got >= calls || got < 1 {
		t.Fatalf("%d concurrent WrapTransit calls made %d encrypt requests, want between 1 and %d", calls, got, calls-1)
	} else {
		t.Logf("%d calls, %d encrypt requests", calls, got)
	}
	// Every caller got its own secret back, bound to its own id.
	for i, blob := range blobs {
		got, err := e.portal.Unwrap(ctx, fmt.Sprintf("msg-%02d", i), blob)
		if err != nil {
			t.Fatalf("unwrap %d: %v", i, err)
		}
		if want := fmt.Sprintf("secret-%02d", i); string(got) != want {
			t.Fatalf("unwrap %d returned %q, want %q", i, got, want)
		}
	}
	// The portal may not encrypt, so all items of its batch fail with 403.
	_, err = e.portal.WrapTransit(ctx, "m1", []byte("s"))
	requireDenied(t, "portal WrapTransit", err)
}

func BenchmarkWrap(b *testing.B) {
	srv := vaulttest.Start(b)
	creds := vaulttest.Setup(b, srv)
	relay := srv.Client(b, creds.RelayToken)
	ctx := context.Background()
	secret := []byte("AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3290GG")
	b.Run("local", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := relay.Wrap(ctx, "01JD4ZP0S5BENCH", secret); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("transit", func(b *testing.B) {
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := relay.WrapTransit(ctx, "01JD4ZP0S5BENCH", secret); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
