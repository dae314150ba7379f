// Package browser tests the recipient portal end to end in a real browser:
// headless Chromium (driven by [github.com/sealpost/sealpost/internal/browser])
// against a whole Sealpost node, as a recipient uses it.
//
// The stack under test is real: a Vault dev server set up with the scoped
// relay, portal and admin tokens; a node (gateway/node) running the relay
// with a policy file of the test's own and the portal with its own Vault
// token; a capture next hop over verified STARTTLS that writes every
// delivered message (notices, mailbox codes, replies) to an outbox of .eml
// files; and an SMS webhook that records what the portal sends. Mail goes
// into the relay over SMTP. Admin actions (enrolment codes, recall,
// break-glass) use the admin Vault token through keys and lifecycle, as
// `sealpost message show|recall|decrypt` do.
//
// The browser reaches the portal as http://localhost:PORT (WebAuthn refuses
// IP addresses) through a recording reverse proxy, so that a test can show
// that no request (for example to /pwned) ever reached the portal.
//
// The package holds tests only. TestPortal starts one stack and runs the
// recipient journeys against it in order; later journeys continue the
// sessions that earlier ones signed in. Every page visited is captured
// under var/screenshots/<journey>-<step>.png, and each distinct page is
// checked with axe-core (WCAG 2.2 A and AA; serious and critical
// violations fail the test).
//
// Run it with `go test -count=1 -v ./test/browser/` with bin/vault present
// (`make vault`) and the Debian package chromium installed (`make deps`).
package browser
