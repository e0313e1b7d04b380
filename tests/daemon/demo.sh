#!/bin/sh
# tests/daemon/demo.sh BIN: `make demo`.  Starts wa-testserver and the
# daemon on 127.0.0.1 with a ready test device and short intervals, then
# walks through the lifecycle, printing what happens at each step:
#   open -> injected 515 -> silent server -> stale -> backoff -> reconnect
#   -> SIGTERM -> drained.
# Everything it starts is stopped on exit; about 20 s in all.  Exit 0 when
# the daemon drained with status 0 and its trace replays with no mismatch
# (tests/daemon/run.sh runs it and checks each step was shown).
set -u
BIN=${1:-bin}
SK=$BIN/skykeeper
TS=$BIN/wa-testserver
SEED=$BIN/daemon-seed
[ -x "$SEED" ] || SEED=$BIN/tests/daemon-seed
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sk-demo.XXXXXX")
srv=""
dpid=""
cleanup() {
	[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

say() { printf '\n== %s\n' "$*"; }
seen=0
# show: the lifecycle transitions logged since the last call, short form.
show() {
	sleep "${1:-0}"
	awk -v from="$seen" 'NR > from && /fsm=lifecycle/ && !/ trace=|event=frame|event=pong|kind=every/ {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = substr($i, length(kv[1]) + 2) }
		printf "   t=%-7s %-10s --%s--> %s  %s\n", f["t"], f["state"], f["event"], f["next"], f["actions"] == "-" ? "" : "[" f["actions"] "]"
	} NR > from && /session=/ && /msg=/ && !/fsm=/ { sub(/^at=/, ""); print "   | " $0 }' "$tmp/daemon.out"
	seen=$(wc -l <"$tmp/daemon.out")
}
control() { curl -sf --max-time 5 -d "$2" "http://127.0.0.1:$CPORT$1" >/dev/null; }

"$TS" --registry "$tmp/reg" --make-device "$tmp/dev" >"$tmp/make.out" 2>&1 || exit 1
DEV=$(sed -n 's/^device=\([0-9:]*\).*/\1/p' "$tmp/make.out")
"$SEED" put "$tmp/data" main "$tmp/dev" || exit 1
"$TS" --registry "$tmp/reg" --log "$tmp/stanzas.jsonl" >"$tmp/server.out" 2>/dev/null &
srv=$!
i=0
while [ $i -lt 100 ] && ! grep -q '^root_key=' "$tmp/server.out"; do sleep 0.1; i=$((i + 1)); done
ROOT=$(sed -n 's/^root_key=\([0-9a-fA-F]\{64\}\).*/\1/p' "$tmp/server.out")
PORT=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$tmp/server.out")
CPORT=$(sed -n 's/.* control_port=\([0-9]*\).*/\1/p' "$tmp/server.out")
say "wa-testserver on 127.0.0.1:$PORT; test device $DEV seeded into $tmp/data"

say "start: skykeeper run (keepalive 2±0.5 s, idle deadline 4 s, ping deadline 2 s)"
SKYKEEPER_DATA_DIR=$tmp/data SKYKEEPER_WA_URL=ws://127.0.0.1:$PORT/ws/chat \
SKYKEEPER_WA_ROOT_KEY=$ROOT SKYKEEPER_KEEPALIVE=2 SKYKEEPER_KEEPALIVE_JITTER=0.5 \
SKYKEEPER_IDLE_DEADLINE=4 SKYKEEPER_PING_DEADLINE=2 SKYKEEPER_CONNECT_TIMEOUT=3 \
SKYKEEPER_BACKOFF_INITIAL=0.5 SKYKEEPER_BACKOFF_MAX=2 \
    "$SK" run >"$tmp/daemon.out" 2>&1 &
dpid=$!
show 1.5

say "the server sends stream error 515 (restart required): reconnect at once, no backoff"
control /inject "{\"kind\":\"515\",\"device\":\"$DEV\"}"
show 1

say "keep-alive pings are answered (server counted them)"
show 2.5
curl -sf "http://127.0.0.1:$CPORT/status?brief=1" | tr ',' '\n' | grep pings_answered | sed 's/^/   /'

say "the server goes silent: idle deadline -> stale -> explicit ping -> backoff"
control /policy "{\"device\":\"$DEV\",\"silent\":true}"
show 7.5

say "the server answers again: the next attempt opens"
control /clear '{}'
show 5

say "SIGTERM: presence unavailable, final save, lease released, exit"
t0=$(date +%s.%N)
kill -TERM "$dpid"
wait "$dpid"
rc=$?
t1=$(date +%s.%N)
dpid=""
show 0
grep -q '"presence".*"unavailable"' "$tmp/stanzas.jsonl" &&
    echo "   server saw: <presence type=unavailable/>"
echo "   exit status $rc after $(echo "$t0 $t1" | awk '{ printf "%.0f", ($2 - $1) * 1000 }') ms"
say "the trace replays against the spec:"
"$SK" replay "$tmp/daemon.out" >"$tmp/replay.out" 2>&1
replay_rc=$?
tail -n 1 "$tmp/replay.out" | sed 's/^/   /'
[ "$rc" -eq 0 ] && [ "$replay_rc" -eq 0 ]
