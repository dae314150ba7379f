package keys_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"filippo.io/age"

	"github.com/sealpost/sealpost/keys"
)

// The relay makes a fresh age identity per sealed message and stores only
// the wrapped secret; the portal unwraps it when the recipient opens the
// message.
func ExampleClient_Wrap() {
	ctx := context.Background()
	relay, err := keys.New(keys.Config{Address: "http://127.0.0.1:8200", TokenFile: "/run/sealpost/relay-token"})
	if err != nil {
		log.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		log.Fatal(err)
	}
	wrapped, err := relay.Wrap(ctx, "01JD4ZP0S5X8Q2V7", []byte(id.String()))
	if err != nil {
		log.Fatal(err) // the relay answers 451 and the sender's MTA retries
	}
	// ... seal the message to id.Recipient(), store wrapped with it ...

	portal, err := keys.New(keys.Config{Address: "http://127.0.0.1:8200", TokenFile: "/run/sealpost/portal-token"})
	if err != nil {
		log.Fatal(err)
	}
	secret, err := portal.Unwrap(ctx, "01JD4ZP0S5X8Q2V7", wrapped)
	if err != nil {
		log.Fatal(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(secret))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(ids))
}
