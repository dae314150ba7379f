package keys_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sealpost/sealpost/internal/vaulttest"
	"github.com/sealpost/sealpost/keys"
)

// env is a Vault dev server prepared by keys.Setup, with one client per role.
type env struct {
	srv                        *vaulttest.Server
	creds                      keys.Credentials
	root, relay, portal, admin *keys.Client
}

func newEnv(t testing.TB) *env {
	t.Helper()
	srv := vaulttest.Start(t)
	creds := vaulttest.Setup(t, srv)
	return &env{
		srv:    srv,
		creds:  creds,
		root:   srv.Client(t, srv.RootToken),
		relay:  srv.Client(t, creds.RelayToken),
		portal: srv.Client(t, creds.PortalToken),
		admin:  srv.Client(t, creds.AdminToken),
	}
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// requireDenied fails unless err is Vault's 403 permission denied (and not
// some other failure that merely happens to be an error).
func requireDenied(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want permission denied", what)
	}
	var ve *keys.VaultError
	if !errors.Is(err, keys.ErrPermissionDenied) || !errors.As(err, &ve) || ve.StatusCode != http.StatusForbidden {
		t.Fatalf("%s: got %v, want a 403 permission denied", what, err)
	}
	if !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("%s: error %q does not say permission denied", what, err)
	}
}
