# sealpost-portal: what the recipient web portal may do in Vault.
#
# The portal opens sealed mail for a recipient who has proved who they are:
# it unwraps the per-message identity through Transit decrypt, so Vault's
# audit device records every unwrap. It cannot wrap, sign, rotate keys or
# change the directory.
#
# Mount and key names below are the defaults; `sealpost vault setup`
# rewrites them when the configuration names others.

path "transit/decrypt/sealpost-wrap" {
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
