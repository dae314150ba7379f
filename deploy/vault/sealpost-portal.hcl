# sealpost-portal: what the recipient web portal may do in Vault.
#
# The portal opens sealed mail for a recipient who has proved who they are:
# it unwraps the per-message identity through Transit decrypt, so Vault's
# audit device records every unwrap (phone numbers the sender supplied are
# wrapped the same way). It cannot wrap, sign, rotate keys or change the
# directory.
#
# Mount and key names below are the defaults; `sealpost vault setup`
# rewrites them when the configuration names others.

path "transit/decrypt/sealpost-wrap" {
  capabilities = ["update"]
}

# The portal key (derived aes256-gcm96): seal and open recipients' TOTP
# seeds and phone numbers, each under its own key-derivation context, and
# compute enrollment codes (HMAC) to check what a recipient types.
path "transit/encrypt/sealpost-portal" {
  capabilities = ["update"]
}

path "transit/decrypt/sealpost-portal" {
  capabilities = ["update"]
}

path "transit/hmac/sealpost-portal/sha2-256" {
  capabilities = ["update"]
}

# Verify audit checkpoints shown to admins and recipients.
path "transit/verify/sealpost-audit" {
  capabilities = ["update"]
}

path "sealpost/data/directory/*" {
  capabilities = ["read"]
}

path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}
