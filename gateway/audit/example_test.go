package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sealpost/sealpost/gateway/audit"
	"github.com/sealpost/sealpost/gateway/store"
)

func Example() {
	dir, _ := os.MkdirTemp("", "sealpost-example")
	defer os.RemoveAll(dir)
	s, err := store.Open(filepath.Join(dir, "sealpost.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	log, err := audit.New(s.DB())
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	// Only ids, codes and counts: never PHI.
	e, err := log.Append(ctx, audit.Entry{
		Actor:     "relay",
		Action:    "message.seal",
		TraceID:   "t-1",
		MessageID: "01J9Z6Q4M8",
		Detail:    map[string]string{"rule": "patient-letter", "recipients": "1"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("appended seq", e.Seq)

	// Without a checkpoint path, Verify checks the chain alone; production
	// passes a keys.Client as the Signer and the checkpoint file.
	r, err := log.Verify(ctx, nil, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("entries", r.Entries, "ok", r.OK())
	// Output:
	// appended seq 1
	// entries 1 ok true
}
