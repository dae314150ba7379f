// Package keys is the only part of Sealpost that talks to HashiCorp Vault.
//
// It wraps and unwraps per-message age identities with a Transit key,
// keeps the recipient directory and the header MAC key in KV v2, signs
// audit checkpoints with a Transit signing key, and prepares a Vault for
// Sealpost ([Setup]).
//
// # Per-message identities
//
// Every sealed message gets a fresh age identity. Its secret is wrapped with
// the Transit key WrapKey (rsa-4096, never exportable) and the wrapped
// secret is kept in the message store next to the message.
//
// [Client.Wrap] wraps locally. The relay fetches the public half of the
// wrap key (GET transit/keys/<WrapKey>, cached for five minutes) and
// computes RSA-OAEP with SHA-256 itself, producing exactly the ciphertext
// that Transit decrypt accepts. This is deliberate:
//
//   - the relay needs no Vault round trip per message, so sealing is not
//     bounded by Vault latency;
//   - the relay holds nothing that can unwrap: no private key and no cached
//     symmetric data key. A stolen relay host, or its token, opens no mail
//     it sent before ("the relay cannot read the past");
//   - only Transit decrypt opens a wrapped secret, so every unwrap is a
//     Vault request that Vault's audit device records.
//
// The RSA plaintext binds the message id ("sealpost-wrap-v1" NUL id NUL
// secret) and OAEP is non-malleable, so [Client.Unwrap] refuses a wrapped
// secret that was moved to another message's row in the store
// ([ErrWrongMessage]). Recall deletes the wrapped secret from the store;
// with it goes the only copy of the identity (crypto-shredding).
//
// [Client.WrapTransit] is the alternative that lets Vault encrypt: it
// coalesces concurrent calls into one batch_input request. It needs Vault
// up for every message and sends the plaintext secret to Vault, so Wrap is
// the default. Both produce the versioned format documented at [Wrapped];
// Unwrap opens either.
//
// After an admin rotates the wrap key ([Client.RotateWrapKey]), new
// messages use the new version once the relay's cached public key expires
// (or on [Client.RefreshWrapKey]); old wrapped secrets keep unwrapping
// until the key's min_decryption_version is raised.
//
// [Client.Rewrap] moves stored secrets to the latest version with Transit
// rewrap (batch_input): Vault decrypts and re-encrypts internally, so the
// bound plaintext never leaves it and is unchanged.
// [Client.SetWrapKeyMinDecryptionVersion] then retires the old versions;
// gateway/lifecycle refuses to call it while the store still needs them.
// [Client.BreakGlass] is an administrator's unwrap: it first records the
// access in KV (which only the admin policy may write, so relay and portal
// tokens get 403), then unwraps like the portal. There is no separate
// escrow key: the wrap key, which never leaves Vault, is the escrow.
//
// # The portal key
//
// PortalKey (aes256-gcm96, derived, never exportable) holds the portal's
// own recipient secrets. [Client.SealPortal] and [Client.OpenPortal]
// encrypt and decrypt under a key-derivation context ("totp:" + address
// for TOTP seeds, "phone:" + address for verified phone numbers), so a
// ciphertext opens only under the context it was sealed for
// ([ErrPortalCiphertext]). [Client.EnrollmentCode] is a Transit HMAC over
// the message id and recipient, written as "XXXX-XXXX-XXXX" in Crockford
// base32: it is never stored, the portal recomputes it to check what a
// recipient types ([NormalizeEnrollmentCode], [EnrollmentCodesEqual]) and
// an admin recomputes it to pass it on out of band.
//
// Phone numbers the sender supplies are not sealed with the portal key,
// which the relay may not use: the relay wraps them like identities with
// [Client.WrapData] (purpose [PurposePhone]), and the portal opens them
// with [Client.UnwrapData]. The purpose is part of the bound plaintext, so
// a phone blob never opens as an identity, nor an identity as a phone.
//
// # Tokens and what they can do
//
// [Setup] installs three policies (files in deploy/vault) and issues one
// periodic, orphan token per role, without Vault's default policy:
//
//   - relay (sealpost-relay): read the wrap key's public half, Transit
//     encrypt with it, sign and verify with the audit key, read the
//     directory and the MAC key. It cannot decrypt, rewrap, rotate, export,
//     or write anything.
//   - portal (sealpost-portal): Transit decrypt with the wrap key (unwrap),
//     encrypt, decrypt and HMAC with the portal key, verify audit
//     signatures, read the directory. It cannot wrap, sign, rotate, or read
//     the MAC key.
//   - admin (sealpost-admin): everything in the KV mount (directory
//     edits, MAC key), rotate and configure the wrap and audit keys,
//     rewrap, decrypt for break-glass access, and HMAC with the portal key
//     (enrollment codes). It cannot delete or export the keys, nor decrypt
//     with the portal key.
//
// The relay has no grant on the portal key.
//
// The package tests prove each of these grants and denials against a real
// Vault server. [Client.IsRootToken] lets the relay and portal refuse to
// run with a root token.
//
// # Recipient directory
//
// Recipients that hold their own age key (direct mode) are stored at
// <KVMount>/data/directory/<key>, where key is a lowercased address or
// "@domain". [Client.Directory] returns the recipients for an address and
// its domain. Every entry is validated with [ParseRecipient]: X25519,
// post-quantum hybrid, tagged P-256, SSH, and plugin recipients whose
// plugin binary is installed.
//
// # Authentication and availability
//
// A [Client] holds a literal token, a token file (re-read when it changes,
// as a Vault Agent sink is), or logs in with AppRole ([Config].AppRoleID
// and AppRoleSecretIDFile; [SetupWith] creates one role per policy).
// [Client.KeepAlive] renews the token with the Vault API's lifetime watcher
// and logs in again before an AppRole token reaches its maximum TTL. Every
// request also recovers on its own: when Vault calls the token invalid
// ([ErrInvalidToken]) the client logs in again or re-reads the token file
// and retries once; a plain policy denial is never retried.
//
// [Config].FailoverAddresses lists further nodes of an HA cluster. When
// the current node does not answer, answers 5xx or is sealed, the client
// moves to the next one; any unsealed standby forwards to the active node.
//
// # Errors
//
// Failed Vault calls return a [*VaultError], which matches
// [ErrPermissionDenied] or [ErrNotFound] with errors.Is and has a
// Temporary method. Error strings name the operation and Vault's message,
// never a token, secret or message content.
package keys
