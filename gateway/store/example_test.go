package store_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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
	ctx := context.Background()

	m := &store.Message{
		ID:          "01J9Z6Q4M8",
		TraceID:     "t-1",
		Sender:      "letters@clinic.example",
		Recipients:  []string{"patient@example.net"},
		Decision:    []byte(`{"action":"seal","rule":"patient-letter"}`),
		Assurance:   "oob",
		WrapVersion: 1,
		Wrapped:     []byte("wrapped secret"),
	}
	// The ciphertext is streamed in; size and SHA-256 are filled in.
	if err := s.PutMessage(ctx, m, strings.NewReader("age-encryption.org/v1 ...")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stored", m.CiphertextSize, "bytes")

	rc, _ := s.OpenCiphertext(ctx, m.ID)
	b, _ := io.ReadAll(rc)
	rc.Close()
	fmt.Printf("read back %q\n", b)

	if err := s.Recall(ctx, m.ID, "admin:alice", "wrong recipient"); err != nil {
		fmt.Println(err)
		return
	}
	_, err = s.OpenCiphertext(ctx, m.ID)
	fmt.Println(err)
	// Output:
	// stored 25 bytes
	// read back "age-encryption.org/v1 ..."
	// failed to open ciphertext: store: message recalled
}
