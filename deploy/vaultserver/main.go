// Command vault is the stock HashiCorp Vault server, built from the Go module
// proxy so that `make run` and `make test` need nothing but Go. It is only
// used when no `vault` or `bao` binary is on PATH.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
