#!/bin/sh
# tests/interop/login/run.sh [BIN]: stock Baileys logs into bin/wa-testserver
# and sees each injected fault as it should (login.mjs).  Everything it
# starts is killed on exit; the whole run is bounded (TIMEOUT seconds).
# Prints the PASS/FAIL lines and "login interop: N passed, M failed".
set -u
BIN=${1:-bin}
TIMEOUT=${TIMEOUT:-90}
here=$(cd "$(dirname "$0")" && pwd)
interop=$(dirname "$here")
root=$(cd "$interop/../.." && pwd)
case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac
server=$BIN/wa-testserver

[ -x "$server" ] || { echo "login interop: $server is not built"; exit 2; }
command -v node >/dev/null || { echo "login interop: node is not installed"; exit 2; }
if [ ! -d "$interop/node_modules/@whiskeysockets/baileys" ]; then
	(cd "$interop" && npm ci --no-audit --no-fund >/dev/null 2>&1) || {
		echo "login interop: npm ci failed in $interop"; exit 2; }
fi

tmp=$(mktemp -d /tmp/sk-login-interop.XXXXXX)
spid=
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

"$server" --registry "$tmp/reg" --make-device "$tmp/auth" >"$tmp/device" || {
	echo "login interop: --make-device failed"; exit 2; }
device=$(sed -n 's/^device=\([0-9:]*\) .*/\1/p' "$tmp/device")

"$server" --registry "$tmp/reg" --log "$tmp/stanzas.jsonl" >"$tmp/ports" \
    2>"$tmp/server.err" &
spid=$!
i=0
while ! grep -q '^root_key=' "$tmp/ports" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && { echo "login interop: server did not start"; cat "$tmp/server.err"; exit 2; }
	sleep 0.1
done
port=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$tmp/ports")
cport=$(sed -n 's/.*control_port=\([0-9]*\).*/\1/p' "$tmp/ports")

timeout -k 5 "$TIMEOUT" node "$here/login.mjs" "$port" "$cport" "$tmp/auth" \
    "$tmp/stanzas.jsonl" "$device"
rc=$?
if [ $rc -ne 0 ]; then
	[ $rc -eq 124 ] && echo "login interop: timed out after ${TIMEOUT}s"
	echo "--- server stderr (tail)"
	tail -n 30 "$tmp/server.err"
fi
kill "$spid" 2>/dev/null
wait "$spid"
src=$?
spid=
[ $src -eq 0 ] || { echo "FAIL server exits 0 on SIGTERM (status $src)"; rc=1; }
exit $rc
