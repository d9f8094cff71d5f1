#!/bin/sh
# Regenerates the spandsp G.722 reference files (see spandsp_ref.c).
# Needs gcc and Debian's libspandsp2 (no headers required).
set -eu
cd "$(dirname "$0")"
lib=$(ldconfig -p | awk '/libspandsp\.so\.2 /{print $NF; exit}')
[ -n "$lib" ] || { echo "libspandsp.so.2 not found (apt-get install libspandsp2)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -Wall -o "$tmp/spandsp_ref" spandsp_ref.c "$lib" -lm
"$tmp/spandsp_ref"
sha256sum input.s16 input.g722 input.dec.s16 random.g722 random.dec.s16
