// Package certs makes a private certificate authority and a server certificate for development and tests.
//
// # Use
//
// [Generate] writes ca.pem, cert.pem and key.pem into a directory. A relay, a portal or the capture next hop
// serves cert.pem and key.pem; a client that should trust them adds ca.pem to its roots (for example
// nexthop.Config.CAFile).
//
// # Safety
//
// The CA's private key is never written to disk: it lives only for the duration of [Generate] and is then
// dropped, so nobody who later reads the directory can mint further certificates. When the files must be made
// again (a host was added, or the certificate is near expiry), a new CA is made too. key.pem is written with
// mode 0600. These certificates are for development and tests only; production deployments bring their own.
package certs
