// Package e2e tests the built sealpost binary end to end, as an operator
// runs it: `sealpost serve` as a subprocess with a YAML config, a real Vault
// dev server, a private Postfix instance in front of it (relayhost or LMTP
// content_filter), swaks and smtp-source as clients, a capture next hop over
// verified STARTTLS behind it, and the stock age CLI to open what arrives.
//
// The package holds tests only. TestMain builds the binary once; every test
// starts its own Vault, gateway and Postfix, so tests are independent.
//
// Run it with `go test ./test/e2e` as root (Postfix needs it) with bin/vault
// present (`make vault`) and the Debian packages postfix, swaks, age and
// sqlite3 installed (`make deps`).
package e2e
