// Command sealpost is the Sealpost gateway: an SMTP relay that seals patient
// health information with age, using keys held in Vault. See `sealpost help`.
package main

import (
	"os"

	"github.com/sealpost/sealpost/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
