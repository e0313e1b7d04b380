#!/bin/sh
# tests/interop/pair/run.sh [BIN]: stock Baileys pairs with bin/wa-testserver
# playing the phone (pair.mjs): by QR, by pairing code (a wrong code first),
# and refuses a corrupted pair-success.  The server starts with an empty
# registry; everything it starts is killed on exit; the whole run is
# bounded (TIMEOUT seconds).  Prints the PASS/FAIL lines and
# "pair interop: N passed, M failed".
set -u
BIN=${1:-bin}
TIMEOUT=${TIMEOUT:-90}
NAME="pair interop"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
interop_setup server
interop_server --registry "$tmp/reg" --log "$tmp/stanzas.jsonl" --pair-refs 3

timeout -k 5 "$TIMEOUT" node "$here/pair.mjs" "$port" "$cport" "$tmp" \
    "$tmp/stanzas.jsonl" "$tmp/reg/devices.tsv"
rc=$?
if [ $rc -ne 0 ]; then
	[ $rc -eq 124 ] && echo "pair interop: timed out after ${TIMEOUT}s"
	echo "--- server stderr (tail)"
	tail -n 40 "$tmp/server.err"
fi
interop_server_stop || rc=1
exit $rc
