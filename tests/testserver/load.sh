#!/bin/sh
# tests/testserver/load.sh [BIN] [COUNT]: wa-testserver memory per idle
# logged-in connection at 1,000 and COUNT (default 10,000) connections.
# Registers COUNT devices in a temporary registry, starts the server,
# runs `wa-testserver load` (real handshake + login per connection) and
# prints its step lines plus a summary.  Figures are printed, not asserted
# (exit 1 only when connections failed).  Bounded: TIMEOUT seconds (300).
set -u
BIN=${1:-bin}
COUNT=${2:-10000}
TIMEOUT=${TIMEOUT:-300}
root=$(cd "$(dirname "$0")/../.." && pwd)
case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac
TS=$BIN/wa-testserver
[ -x "$TS" ] || { echo "load: $TS is not built"; exit 2; }

tmp=$(mktemp -d /tmp/sk-ts-load.XXXXXX)
spid=
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

steps=$COUNT
[ "$COUNT" -gt 1000 ] && steps=1000,$COUNT
"$TS" --registry "$tmp/reg" --make-devices "$COUNT" "$tmp/bulk" >/dev/null || exit 2
"$TS" --registry "$tmp/reg" >"$tmp/ports" 2>"$tmp/server.err" &
spid=$!
i=0
while ! grep -q '^root_key=' "$tmp/ports" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && { echo "load: server did not start"; exit 2; }
	sleep 0.1
done
port=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$tmp/ports")
pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$tmp/ports")
timeout -k 5 "$TIMEOUT" "$TS" load --port "$port" --bulk "$tmp/bulk" \
    --count "$COUNT" --steps "$steps" --server-pid "$pid" --hold-ms 1000 \
    --timeout-s "$TIMEOUT" >"$tmp/out"
rc=$?
cat "$tmp/out"
awk '/^step=/ { for (i = 1; i <= NF; i++) { split($i, kv, "=");
        v[kv[1]] = kv[2] }
    printf "wa-testserver RSS per idle connection at %d: %.1f KiB (target <= 16)\n",
        v["step"], v["per_conn_bytes"] / 1024 }' "$tmp/out"
exit $rc
