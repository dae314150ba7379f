package seal_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"

	"filippo.io/age"
	"github.com/emersion/go-message/textproto"

	"github.com/sealpost/sealpost/gateway/seal"
)

// This example seals a message to a fresh per-message identity, wraps the
// ciphertext in an envelope and then recognises the envelope as one of ours.
func Example() {
	msg := "From: clinic@trust.example\r\n" +
		"To: patient@mail.example\r\n" +
		"Bcc: records@trust.example\r\n" +
		"Subject: Your results\r\n" +
		"\r\n" +
		"Dear patient, ...\r\n"
	idKey := bytes.Repeat([]byte{0x5e}, 32) // from the relay's config in real use

	secret, recipient, err := seal.NewIdentity(false)
	if err != nil {
		log.Fatal(err)
	}
	_ = secret // wrap with the keys package and store; never log it

	var ciphertext bytes.Buffer
	sum, _, err := seal.Encrypt(&ciphertext, strings.NewReader(msg), []age.Recipient{recipient})
	if err != nil {
		log.Fatal(err)
	}

	var original textproto.Header
	original.Add("From", "clinic@trust.example")
	original.Add("To", "patient@mail.example")
	original.Add("Subject", "Your results")
	id := seal.NewMessageID()
	var envelope bytes.Buffer
	err = seal.WriteEnvelope(&envelope, seal.Envelope{
		Original:  original,
		PortalURL: "https://portal.example/m/" + id,
		OrgName:   "Example NHS Trust",
		IDHeader:  seal.SignID(idKey, id, sum),
		Sender:    "clinic@trust.example",
	}, &ciphertext)
	if err != nil {
		log.Fatal(err)
	}

	found, ok, err := seal.FindSealedAttachment(bytes.NewReader(envelope.Bytes()))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("attachment found:", ok)
	fmt.Println("attachment hash matches:", bytes.Equal(found, sum))
	fmt.Println("original subject in envelope:", strings.Contains(envelope.String(), "Your results"))
	// Output:
	// attachment found: true
	// attachment hash matches: true
	// original subject in envelope: false
}
