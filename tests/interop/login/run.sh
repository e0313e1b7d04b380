#!/bin/sh
# tests/interop/login/run.sh [BIN]: stock Baileys logs into bin/wa-testserver
# and sees each injected fault as it should (login.mjs).  Everything it
# starts is killed on exit; the whole run is bounded (TIMEOUT seconds).
# Prints the PASS/FAIL lines and "login interop: N passed, M failed".
set -u
BIN=${1:-bin}
TIMEOUT=${TIMEOUT:-90}
NAME="login interop"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
interop_setup server

"$server" --registry "$tmp/reg" --make-device "$tmp/auth" >"$tmp/device" || {
	echo "login interop: --make-device failed"; exit 2; }
device=$(sed -n 's/^device=\([0-9:]*\) .*/\1/p' "$tmp/device")

interop_server --registry "$tmp/reg" --log "$tmp/stanzas.jsonl"

timeout -k 5 "$TIMEOUT" node "$here/login.mjs" "$port" "$cport" "$tmp/auth" \
    "$tmp/stanzas.jsonl" "$device"
rc=$?
if [ $rc -ne 0 ]; then
	[ $rc -eq 124 ] && echo "login interop: timed out after ${TIMEOUT}s"
	echo "--- server stderr (tail)"
	tail -n 30 "$tmp/server.err"
fi
interop_server_stop || rc=1
exit $rc
