# sealpost-relay: what the SMTP relay may do in Vault.
#
# The relay seals mail; it must never be able to unseal it. It reads the
# public half of the wrap key and wraps per-message identities locally
# (or asks Transit to encrypt them), signs audit checkpoints, and reads the
# recipient directory and the header MAC key. It has no transit/decrypt,
# no transit/rewrap, no key export and no write access anywhere.
#
# Mount and key names below are the defaults; `sealpost vault setup`
# rewrites them when the configuration names others.

# Public half of the RSA wrap key (Transit never returns private material here).
path "transit/keys/sealpost-wrap" {
  capabilities = ["read"]
}

# Transit-side wrapping (keys.Client.WrapTransit, batched).
path "transit/encrypt/sealpost-wrap" {
  capabilities = ["update"]
}

# Audit checkpoints.
path "transit/sign/sealpost-audit" {
  capabilities = ["update"]
}

path "transit/verify/sealpost-audit" {
  capabilities = ["update"]
}

# Recipient directory (direct mode) and the X-Sealpost-Id MAC key.
path "sealpost/data/directory/*" {
  capabilities = ["read"]
}

path "sealpost/data/config/mac" {
  capabilities = ["read"]
}

# The token's own lifecycle (tokens are created without the default policy).
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}
