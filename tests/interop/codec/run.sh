#!/bin/sh
# tests/interop/codec/run.sh [SEED] [COUNT]: the differential test of our
# binary node codec against stock Baileys, both ways (see codec.mjs).
# One command; exit 0 when every node matched.  Installs the pinned Baileys
# from package-lock.json (npm ci) when tests/interop/node_modules is
# missing; that is the only network use, and nothing here contacts a host.
#
# wa-nodecat is built here with cc from src/wa (no generated headers
# needed), so the test does not depend on a Makefile rule.
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
if [ ! -d tests/interop/node_modules/@whiskeysockets/baileys ]; then
	(cd tests/interop && npm ci --no-audit --no-fund) >&2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/codec.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
# shellcheck disable=SC2086 # CFLAGS may hold several flags
${CC:-cc} -std=c11 -Wall -Wextra -Werror ${CFLAGS:--O2 -g} \
    -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc \
    -o "$tmp/wa-nodecat" tests/interop/codec/wa-nodecat.c \
    src/wa/wa.c src/wa/node.c src/wa/node_dec.c src/wa/node_enc.c \
    src/wa/node_zlib.c \
    src/wa/tokens.c -lz
cd tests/interop
status=0
node codec/codec.mjs "$tmp/wa-nodecat" "${1:-20240601}" "${2:-2000}" || status=$?
exit "$status"
