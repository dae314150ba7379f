#!/usr/bin/env bash
# axe.sh makes sure axe.min.js of a pinned axe-core release is in the user cache, and prints its path.
# It fetches the release once per machine with `npm pack` (npm's own registry client), checks the
# tarball against the pinned integrity, and extracts only axe.min.js. internal/browser calls it.
set -euo pipefail

AXE_VERSION=4.14.1
# dist.integrity of axe-core@4.14.1 as the registry publishes it (npm view axe-core@4.14.1 dist.integrity).
AXE_INTEGRITY=sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==

dir="${SEALPOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealpost}/axe-core/${AXE_VERSION}"
out="$dir/axe.min.js"
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "axe: npm is missing: install the Debian package npm (make deps does it)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "axe: fetching axe-core ${AXE_VERSION} with npm pack into $dir" >&2
(cd "$tmp" && npm pack --silent "axe-core@${AXE_VERSION}" >/dev/null)
tgz="$tmp/axe-core-${AXE_VERSION}.tgz"
# node comes with npm, so it computes the digest in the form npm prints.
got=$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tgz")
if [ "$got" != "$AXE_INTEGRITY" ]; then
  echo "axe: axe-core-${AXE_VERSION}.tgz has integrity $got, want $AXE_INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/axe.min.js
mkdir -p "$dir"
mv "$tmp/package/axe.min.js" "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
