#!/usr/bin/env bash
# Re-fetch the vendored Kokoro v1.0 voice style files from the npm package named in
# provenance.yaml and check each one against the sha256 recorded there.
#
#   voices/kokoro/refresh.sh            # check: fetch, compare, change nothing
#   voices/kokoro/refresh.sh --write    # also copy the files (and LICENSE) into voices/kokoro/
#
# A development step only (needs npm and the package registry); builds never run it: the files
# live in git. To add a voice, append its `name.bin: <sha256>` line to provenance.yaml's files
# (the sha256 of the file in the package) and run with --write.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prov="$here/provenance.yaml"
pkg="$(sed -n 's/^package: *//p' "$prov")"
ver="$(sed -n 's/^version: *//p' "$prov")"
want_sha1="$(sed -n 's/^tarball_sha1: *//p' "$prov")"
write=0
[ "${1:-}" = "--write" ] && write=1

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg@$ver" >/dev/null)
tgz="$(ls "$tmp"/*.tgz)"
got_sha1="$(sha1sum "$tgz" | cut -d' ' -f1)"
if [ "$got_sha1" != "$want_sha1" ]; then
  echo "error: $pkg@$ver tarball sha1 is $got_sha1, provenance.yaml says $want_sha1" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$tmp"

bad=0
# the files: lines look like "  af_heart.bin: <sha256>"
while read -r name sha; do
  src="$tmp/package/voices/$name"
  if [ ! -f "$src" ]; then echo "missing in package: $name" >&2; bad=1; continue; fi
  got="$(sha256sum "$src" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then echo "sha256 mismatch: $name ($got)" >&2; bad=1; continue; fi
  if [ "$write" = 1 ]; then
    cp "$src" "$here/$name"
  elif ! cmp -s "$src" "$here/$name"; then
    echo "differs from the vendored copy (run with --write): $name" >&2; bad=1
  fi
done < <(sed -n 's/^  \([a-z0-9_]*\.bin\): *\([0-9a-f]\{64\}\)$/\1 \2/p' "$prov")
[ "$write" = 1 ] && cp "$tmp/package/LICENSE" "$here/LICENSE"
[ "$bad" = 0 ] || exit 1
echo "ok: $pkg@$ver, $(grep -c '^  [a-z0-9_]*\.bin: ' "$prov") voice files match provenance.yaml"
