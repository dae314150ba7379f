// Package vaultops tests a Sealpost node through Vault outages and
// failover, against real Vault servers started by internal/vaulttest: a
// Vault stopped and restarted, sealed and unsealed, a relay token revoked
// mid-run, and the active node of a three-node Raft cluster killed under
// load. The node runs in-process (gateway/node) with a capture next hop
// (gateway/capture); the package holds only tests.
package vaultops
