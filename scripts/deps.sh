#!/usr/bin/env bash
# deps.sh makes sure the Debian packages the test suite drives are installed.
# As root with apt it installs what is missing; otherwise it stops and names them.
set -euo pipefail

# command → Debian package
declare -A need=(
  [postfix]=postfix
  [smtp-source]=postfix
  [swaks]=swaks
  [age]=age
  [age-keygen]=age
  [chromium]=chromium
  [sqlite3]=sqlite3
  [npm]=npm
)
missing=()
for cmd in "${!need[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
    missing+=("${need[$cmd]}")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing Debian packages: $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks how it is configured; answer "No configuration" so it does not start a system MTA.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  exit 0
fi
echo "deps: missing Debian packages: $pkgs" >&2
echo "deps: install them with: sudo apt-get install -y $pkgs  (or run make test as root)" >&2
exit 1
