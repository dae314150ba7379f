// Package vaulttest runs a real Vault dev server for tests.
//
// [Start] launches `vault server -dev` on a free loopback port with a random
// root token, waits until it is ready and stops it when the test ends.
// [Setup] runs [keys.Setup] against it and returns the scoped tokens. The
// server keeps everything in memory: [Server.Restart] gives a fresh, empty
// Vault on the same address.
//
// [StartPersistent] runs a server with file storage, initialised with one
// unseal key, that can be sealed, unsealed and restarted with its data.
// [StartCluster] runs a Raft cluster of n such servers on loopback ports
// for failover tests.
//
// # Finding the binary
//
// The first of these that exists is used:
//
//  1. the SEALPOST_VAULT_BIN environment variable;
//  2. bin/vault in the repository root (built by `make vault`);
//  3. vault, then bao (OpenBao), on PATH.
//
// If none exists the test fails, telling the developer to run `make vault`.
// Tests never skip for a missing Vault.
package vaulttest
