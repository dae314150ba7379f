package policy_test

import (
	"context"
	"fmt"

	"github.com/emersion/go-message/textproto"
	"github.com/sealpost/sealpost/policy"
)

func Example() {
	e, err := policy.Parse([]byte(`
version: 1
subject_tags: ["[secure]"]
rules:
  - name: partner-tls
    when: { recipient_domain: [partner.example] }
    action: require-tls
  - name: sender-asked-to-seal
    when: { subject_tag: true }
    action: seal
default: pass
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	var h textproto.Header
	h.Set("Subject", "=?UTF-8?Q?=5Bsecure=5D_Discharge_summary?=")
	d, err := e.Decide(context.Background(), &policy.Input{
		Sender:     "gp@clinic.example",
		Recipients: []string{"a@partner.example", "b@mail.example"},
		Header:     h,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range d.Outcomes {
		fmt.Printf("%s: %s by %s (overrode %q)\n", o.Recipient, o.Action, o.Rule, o.Overridden)
	}
	// Output:
	// a@partner.example: seal by sender-asked-to-seal (overrode "partner-tls")
	// b@mail.example: seal by sender-asked-to-seal (overrode "")
}

func ExampleParse_error() {
	_, err := policy.Parse([]byte("version: 1\nrules:\n  - name: oops\n    when: {}\n    action: encrypt\ndefault: pass\n"))
	fmt.Println(err)
	// Output:
	// rule "oops" (rules[0] at line 3): action: unknown action "encrypt" (want seal, seal-direct, require-tls, pass or reject)
}
