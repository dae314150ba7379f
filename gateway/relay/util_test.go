package relay

import (
	"errors"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/sealpost/sealpost/gateway/store"
	"github.com/sealpost/sealpost/keys"
)

func asSMTP(err error, out **smtp.SMTPError) bool { return errors.As(err, out) }

func storeFilterAll() store.Filter { return store.Filter{Limit: 1000} }

func newKeysClient(t *testing.T, h *harness, token string) *keys.Client {
	t.Helper()
	c, err := keys.New(keys.Config{Address: h.vault.Addr, Token: token})
	must(t, err)
	return c
}
