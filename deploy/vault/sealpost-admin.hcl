# sealpost-admin: what Sealpost administrators may do in Vault.
#
# Admins own the keys and the directory: they rotate and configure the wrap
# and audit keys, rewrap stored secrets to the newest key version, edit the
# recipient directory and read the whole sealpost KV mount. They can also
# unwrap a message's identity (break-glass); every such unwrap is a Transit
# decrypt and lands in Vault's audit device. They cannot delete the keys
# (deletion is not granted), export them, or touch other Transit keys.
#
# Mount and key names below are the defaults; `sealpost vault setup`
# rewrites them when the configuration names others.

path "transit/keys/sealpost-wrap" {
  capabilities = ["read", "update"]
}

# rotate, config, trim
path "transit/keys/sealpost-wrap/*" {
  capabilities = ["update"]
}

path "transit/encrypt/sealpost-wrap" {
  capabilities = ["update"]
}

path "transit/decrypt/sealpost-wrap" {
  capabilities = ["update"]
}

path "transit/rewrap/sealpost-wrap" {
  capabilities = ["update"]
}

path "transit/keys/sealpost-audit" {
  capabilities = ["read", "update"]
}

path "transit/keys/sealpost-audit/*" {
  capabilities = ["update"]
}

path "transit/sign/sealpost-audit" {
  capabilities = ["update"]
}

path "transit/verify/sealpost-audit" {
  capabilities = ["update"]
}

# Enrollment codes: `sealpost message show` recomputes a recipient's code
# (Transit HMAC with the portal key) for the admin to pass on out of band.
# No encrypt or decrypt: admins cannot open TOTP seeds or phone numbers
# sealed with the portal key.
path "transit/hmac/sealpost-portal/sha2-256" {
  capabilities = ["update"]
}

# Everything in the sealpost KV v2 mount: directory, MAC key, history.
path "sealpost/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}

path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}
