# sealpost-rewrap: the background job that moves stored wrapped secrets to the
# latest version of the wrap key after a rotation (rewrap.token_file).
#
# Transit rewrap re-encrypts inside Vault without returning the plaintext, so
# this token can keep old secrets current but cannot unwrap any of them, wrap
# new ones, or change a key.

path "transit/keys/sealpost-wrap" {
  capabilities = ["read"]
}

path "transit/rewrap/sealpost-wrap" {
  capabilities = ["update"]
}

# The token's own lifecycle (tokens are created without the default policy).
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}
