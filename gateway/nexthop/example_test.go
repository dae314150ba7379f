package nexthop_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/sealpost/sealpost/gateway/capture"
	"github.com/sealpost/sealpost/gateway/nexthop"
	"github.com/sealpost/sealpost/internal/certs"
)

// Deliver one message over verified STARTTLS to a capture next hop and read the answer per recipient.
func Example() {
	dir, err := os.MkdirTemp("", "nexthop-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tlsFiles, err := certs.Generate(dir+"/tls", "localhost", "127.0.0.1")
	if err != nil {
		log.Fatal(err)
	}
	hop, err := capture.Start(capture.Config{Dir: dir + "/outbox", TLSCert: tlsFiles.Cert, TLSKey: tlsFiles.Key})
	if err != nil {
		log.Fatal(err)
	}
	defer hop.Close()

	client, err := nexthop.New(nexthop.Config{Addr: hop.Addr(), CAFile: tlsFiles.CA}) // TLS "verify" by default
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	msg := "X-Sealpost-Id: example-1\r\nSubject: hello\r\n\r\nHello.\r\n"
	env := nexthop.Envelope{From: "clinic@example.org", To: []string{"patient@example.net"}}
	res, err := client.Deliver(context.Background(), env, strings.NewReader(msg))
	if err != nil {
		log.Fatal(err) // temporary: answer 4xx upstream
	}
	fmt.Println("delivered to:", res.Delivered())
	d := hop.Deliveries()
	fmt.Println("stored as:", d[0].ID+".eml", "over TLS:", d[0].TLS)
	// Output:
	// delivered to: [patient@example.net]
	// stored as: example-1.eml over TLS: true
}
