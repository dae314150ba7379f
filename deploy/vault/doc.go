// Package vaultpolicy embeds the Vault ACL policies that Sealpost installs:
//
//   - sealpost-relay: wrap (never unwrap) per-message identities, sign audit
//     checkpoints, read the recipient directory and the header MAC key.
//   - sealpost-portal: unwrap through Transit decrypt, verify checkpoints,
//     read the directory.
//   - sealpost-admin: rotate and configure the Sealpost keys, edit the
//     directory, and break-glass unwrap.
//
// The .hcl files in this directory are the source of truth and can be
// applied by hand with `vault policy write`. They name the default mounts
// (transit, sealpost) and keys (sealpost-wrap, sealpost-audit);
// [github.com/sealpost/sealpost/keys.Setup] rewrites those names when the
// configuration chooses others, and installs the result.
//
// # Proof
//
// What each policy allows and denies is tested against a real Vault server
// in the keys package tests.
package vaultpolicy
