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
here=$(cd "$(dirname "$0")" && pwd)
interop=$(dirname "$here")
root=$(cd "$interop/../.." && pwd)
case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac
server=$BIN/wa-testserver

[ -x "$server" ] || { echo "pair interop: $server is not built"; exit 2; }
command -v node >/dev/null || { echo "pair interop: node is not installed"; exit 2; }
if [ ! -d "$interop/node_modules/@whiskeysockets/baileys" ]; then
	(cd "$interop" && npm ci --no-audit --no-fund >/dev/null 2>&1) || {
		echo "pair interop: npm ci failed in $interop"; exit 2; }
fi

tmp=$(mktemp -d /tmp/sk-pair-interop.XXXXXX)
spid=
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

"$server" --registry "$tmp/reg" --log "$tmp/stanzas.jsonl" --pair-refs 3 \
    >"$tmp/ports" 2>"$tmp/server.err" &
spid=$!
i=0
while ! grep -q '^root_key=' "$tmp/ports" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && { echo "pair interop: server did not start"; cat "$tmp/server.err"; exit 2; }
	sleep 0.1
done
port=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$tmp/ports")
cport=$(sed -n 's/.*control_port=\([0-9]*\).*/\1/p' "$tmp/ports")

timeout -k 5 "$TIMEOUT" node "$here/pair.mjs" "$port" "$cport" "$tmp" \
    "$tmp/stanzas.jsonl" "$tmp/reg/devices.tsv"
rc=$?
if [ $rc -ne 0 ]; then
	[ $rc -eq 124 ] && echo "pair interop: timed out after ${TIMEOUT}s"
	echo "--- server stderr (tail)"
	tail -n 40 "$tmp/server.err"
fi
kill "$spid" 2>/dev/null
wait "$spid"
src=$?
spid=
[ $src -eq 0 ] || { echo "FAIL server exits 0 on SIGTERM (status $src)"; rc=1; }
exit $rc
