#!/bin/sh
# tests/daemon/run.sh BIN: `skykeeper run` against bin/wa-testserver, on
# 127.0.0.1 only, with short intervals from the environment.  One server;
# each check gets its own device and data dir.  Every daemon is bounded by
# timeout(1); everything started here is killed on exit.
#
# Daemon binary: BIN/skykeeper-daemon (tests/daemon/build.sh) when present,
# else BIN/skykeeper.  Seeds the file store with BIN/daemon-seed.
# Prints PASS/FAIL per check and "daemon: N passed, M failed".
set -u
BIN=${1:-bin}
SK=$BIN/skykeeper-daemon
[ -x "$SK" ] || SK=$BIN/skykeeper
REPLAY=$BIN/skykeeper
TS=$BIN/wa-testserver
SEED=$BIN/daemon-seed
[ -x "$SEED" ] || SEED=$BIN/tests/daemon-seed

for b in "$SK" "$TS" "$SEED" "$REPLAY"; do
	if [ ! -x "$b" ]; then
		echo "FAIL setup: $b is not built"
		echo "daemon: 0 passed, 1 failed"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sk-daemon.XXXXXX")
srv=""
dpid=""
tpid=""
cleanup() {
	[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
	[ -n "$tpid" ] && kill -9 "$tpid" 2>/dev/null
	if [ -n "$srv" ]; then
		kill "$srv" 2>/dev/null
		wait "$srv" 2>/dev/null
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass=0
fail=0
t() {
	tname=$1
	shift
	if "$@" >"$tmp/$tname.log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS $tname"
		grep '^FIGURE' "$tmp/$tname.log" | sed 's/^FIGURE /    /'
	else
		fail=$((fail + 1))
		echo "FAIL $tname"
		tail -n 40 "$tmp/$tname.log" | sed 's/^/    /'
	fi
}

now() { date +%s.%N; }
elapsed_ms() { echo "$1 $2" | awk '{ printf "%.0f", ($2 - $1) * 1000 }'; }

# wait_for FILE ERE SECONDS [COUNT]: FILE has COUNT (default 1) lines
# matching ERE within SECONDS.
wait_for() {
	n=${4:-1}
	end=$(($(date +%s) + $3))
	while [ "$(date +%s)" -le "$end" ]; do
		c=$(grep -cE -- "$2" "$1" 2>/dev/null)
		[ "${c:-0}" -ge "$n" ] && return 0
		sleep 0.05
	done
	echo "no $n line(s) matching '$2' in $1 within $3 s (have ${c:-0})"
	return 1
}

hasnt() {
	grep -qE -- "$2" "$1" || return 0
	echo "unexpected line matching '$2' in $1"
	return 1
}

control() {
	curl -sf --max-time 5 -d "$2" "http://127.0.0.1:$CPORT$1" >/dev/null
}

# --- server -------------------------------------------------------------------
"$TS" --registry "$tmp/reg" --log "$tmp/stanzas.jsonl" >"$tmp/server.out" \
    2>"$tmp/server.err" &
srv=$!
i=0
while [ $i -lt 100 ] && ! grep -q '^root_key=' "$tmp/server.out"; do
	sleep 0.1
	i=$((i + 1))
done
ROOT=$(sed -n 's/^root_key=\([0-9a-fA-F]\{64\}\).*/\1/p' "$tmp/server.out")
PORT=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$tmp/server.out")
CPORT=$(sed -n 's/.* control_port=\([0-9]*\).*/\1/p' "$tmp/server.out")
if [ -z "$ROOT" ] || [ -z "$PORT" ]; then
	echo "FAIL setup: wa-testserver did not start"
	echo "daemon: 0 passed, 1 failed"
	exit 1
fi

# device NAME: a new device in DEV (phone:device); creds in $tmp/NAME.dev,
# seeded into $tmp/NAME.data as session "main".
device() {
	"$TS" --registry "$tmp/reg" --make-device "$tmp/$1.dev" \
	    >"$tmp/$1.make" 2>&1 || return 1
	DEV=$(sed -n 's/^device=\([0-9:]*\).*/\1/p' "$tmp/$1.make")
	"$SEED" put "$tmp/$1.data" main "$tmp/$1.dev"
}

# daemon NAME [VAR=VALUE...]: starts the daemon for NAME's data dir, output
# in $tmp/NAME.out, pid in $dpid, start time in $t0.
daemon() {
	name=$1
	shift
	t0=$(now)
	env SKYKEEPER_DATA_DIR="$tmp/$name.data" \
	    SKYKEEPER_WA_URL="ws://127.0.0.1:$PORT/ws/chat" \
	    SKYKEEPER_WA_ROOT_KEY="$ROOT" "$@" \
	    timeout -s KILL 60 "$SK" run >"$tmp/$name.out" 2>"$tmp/$name.err" &
	tpid=$!
	# The daemon itself, not timeout(1): signals go straight to it.
	i=0
	dpid=""
	while [ -z "$dpid" ] && [ $i -lt 100 ]; do
		dpid=$(pgrep -P "$tpid")
		[ -n "$dpid" ] || sleep 0.01
		i=$((i + 1))
	done
}

# stop [SIGNALS]: SIGTERM (or the given signals, in order), wait; $drc,
# $drain_ms.
stop() {
	ts=$(now)
	for sig in ${1:-TERM}; do
		kill -s "$sig" "$dpid" 2>/dev/null
	done
	wait "$tpid"
	drc=$?
	drain_ms=$(elapsed_ms "$ts" "$(now)")
	dpid=""
}

OPEN='event=logged_in .*next=open'

check_open() {
	device open || return 1
	daemon open
	wait_for "$tmp/open.out" "$OPEN" 3 || return 1
	t1=$(now)
	echo "FIGURE exec to open: $(elapsed_ms "$t0" "$t1") ms (incl. process start)"
	grep -o 'measure#skykeeper.connect_ms=[0-9]*' "$tmp/open.out" |
	    sed 's/^/FIGURE /'
	stop
	[ "$drc" -eq 0 ] || { echo "exit $drc"; return 1; }
	# the test server's root key overrides WhatsApp's: warned at start
	grep -q 'at=warn msg="SKYKEEPER_WA_ROOT_KEY overrides' "$tmp/open.out" ||
	    { echo "no root-key override warning"; return 1; }
}

check_515() {
	device r515 || return 1
	daemon r515
	wait_for "$tmp/r515.out" "$OPEN" 3 || return 1
	ti=$(now)
	control /inject "{\"kind\":\"515\",\"device\":\"$DEV\"}" || return 1
	wait_for "$tmp/r515.out" "event=restart_required .*next=connecting" 2 ||
	    return 1
	wait_for "$tmp/r515.out" "$OPEN" 2 2 || return 1
	echo "FIGURE 515 to open again: $(elapsed_ms "$ti" "$(now)") ms"
	hasnt "$tmp/r515.out" "next=backoff" || return 1
	stop
	[ "$drc" -eq 0 ]
}

check_stale() {
	device stale || return 1
	daemon stale SKYKEEPER_KEEPALIVE=1 SKYKEEPER_KEEPALIVE_JITTER=0.2 \
	    SKYKEEPER_IDLE_DEADLINE=2 SKYKEEPER_PING_DEADLINE=1 \
	    SKYKEEPER_CONNECT_TIMEOUT=2 SKYKEEPER_BACKOFF_INITIAL=0.2 \
	    SKYKEEPER_BACKOFF_MAX=0.5
	wait_for "$tmp/stale.out" "$OPEN" 3 || return 1
	control /policy "{\"device\":\"$DEV\",\"silent\":true}" || return 1
	wait_for "$tmp/stale.out" "state=open event=timeout .*next=stale .*actions=send_ping" 5 || return 1
	wait_for "$tmp/stale.out" "state=stale event=timeout .*next=backoff" 3 || return 1
	wait_for "$tmp/stale.out" "state=backoff event=timeout .*next=connecting" 3 || return 1
	control /clear '{}' || return 1
	wait_for "$tmp/stale.out" "$OPEN" 8 2 || return 1
	stop
	[ "$drc" -eq 0 ]
}

check_replaced() {
	device repl || return 1
	daemon repl SKYKEEPER_REPLACED_FLOOR=0.3 SKYKEEPER_BACKOFF_INITIAL=0.1 \
	    SKYKEEPER_BACKOFF_MAX=0.5
	for k in 1 2; do
		wait_for "$tmp/repl.out" "$OPEN" 3 "$k" || return 1
		control /inject "{\"kind\":\"replaced\",\"device\":\"$DEV\"}" ||
		    return 1
		wait_for "$tmp/repl.out" "event=replaced guard=replaced_too_often:no next=backoff" 2 "$k" || return 1
	done
	grep -E 'msg="reconnecting later"' "$tmp/repl.out" |
	    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^delay_s=/) { split($i, a, "="); if (a[2] + 0 < 0.3) bad = 1 } } END { exit bad }' ||
	    { echo "a delay under the 440 floor"; return 1; }
	wait_for "$tmp/repl.out" "$OPEN" 3 3 || return 1
	control /inject "{\"kind\":\"replaced\",\"device\":\"$DEV\"}" || return 1
	wait_for "$tmp/repl.out" "event=replaced guard=replaced_too_often:yes next=closed .*park_replaced" 2 || return 1
	wait_for "$tmp/repl.out" "another client keeps using this session" 1 || return 1
	sleep 1
	[ "$(grep -cE "$OPEN" "$tmp/repl.out")" -eq 3 ] ||
	    { echo "reconnected after parking"; return 1; }
	# what the server saw: three logins of the device, no more
	curl -sf --max-time 5 "http://127.0.0.1:$CPORT/status?device=$DEV" |
	    grep -q '"logins": *3[,}]' || { echo "server login count not 3"; return 1; }
	stop
	[ "$drc" -eq 0 ]
}

check_logged_out() {
	device lo || return 1
	daemon lo
	wait_for "$tmp/lo.out" "$OPEN" 3 || return 1
	control /inject "{\"kind\":\"device_removed\",\"device\":\"$DEV\"}" ||
	    return 1
	wait_for "$tmp/lo.out" "event=logged_out .*next=closed .*mark_logged_out" 2 || return 1
	wait_for "$tmp/lo.out" "Pair this session again" 1 || return 1
	stop
	[ "$drc" -eq 0 ] || { echo "exit $drc"; return 1; }
	"$SEED" show "$tmp/lo.data" main | tee "$tmp/lo.show"
	grep -q 'logged_out=1' "$tmp/lo.show" || return 1
	# A restart must not resurrect it.
	daemon lo
	wait_for "$tmp/lo.out" "next=closed" 3 || return 1
	hasnt "$tmp/lo.out" "$OPEN" || return 1
	stop
}

check_sigterm() {
	device term || return 1
	daemon term
	wait_for "$tmp/term.out" "$OPEN" 3 || return 1
	sleep 0.3
	stop TERM
	echo "FIGURE drain (SIGTERM to exit): $drain_ms ms, budget 20000 ms"
	[ "$drc" -eq 0 ] || { echo "exit $drc"; return 1; }
	[ "$drain_ms" -lt 5000 ] || { echo "drain too slow"; return 1; }
	grep -q "\"dev\":\"$DEV\".*\"presence\".*\"type\":\"unavailable\"" \
	    "$tmp/stanzas.jsonl" || { echo "server saw no presence unavailable"; return 1; }
	"$SEED" show "$tmp/term.data" main | tee "$tmp/term.show"
	grep -q 'generation=[2-9]' "$tmp/term.show" || return 1
	grep -q 'state=draining' "$tmp/term.show"
}

check_sigterm_twice() {
	device term2 || return 1
	daemon term2
	wait_for "$tmp/term2.out" "$OPEN" 3 || return 1
	stop "TERM INT"
	[ "$drc" -eq 0 ] || { echo "exit $drc"; return 1; }
	echo "FIGURE drain with SIGTERM then SIGINT: $drain_ms ms"
	wait_for "$tmp/term2.out" "state=draining event=drain .*kind=ignore" 1 ||
	    return 1
	[ "$(grep -c 'state=draining event=flushed .*next=closed' "$tmp/term2.out")" -eq 1 ]
}

check_bad_env() {
	device bad || return 1
	daemon bad SKYKEEPER_KEEPALIVE=abc SKYKEEPER_DRAIN_BUDGET=45
	wait "$tpid"
	rc=$?
	dpid=""
	[ "$rc" -eq 2 ] || { echo "exit $rc, want 2"; return 1; }
	grep -qx 'at=error msg="bad configuration" var=SKYKEEPER_KEEPALIVE value="abc" want="seconds, a number, 0 < N <= 3600"' "$tmp/bad.err" || { cat "$tmp/bad.err"; return 1; }
	grep -q 'var=SKYKEEPER_DRAIN_BUDGET value="45"' "$tmp/bad.err" || return 1
	[ ! -s "$tmp/bad.out" ] || { echo "started anyway"; return 1; }
}

check_503() {
	device u503 || return 1
	daemon u503 SKYKEEPER_BACKOFF_INITIAL=0.2 SKYKEEPER_BACKOFF_MAX=0.5
	wait_for "$tmp/u503.out" "$OPEN" 3 || return 1
	control /inject "{\"kind\":\"503\",\"device\":\"$DEV\"}" || return 1
	wait_for "$tmp/u503.out" "state=open event=transport_down .*next=backoff" 2 || return 1
	wait_for "$tmp/u503.out" "$OPEN" 3 2 || return 1
	grep -q 'count#skykeeper.reconnects=1' "$tmp/u503.out" || return 1
	stop
	[ "$drc" -eq 0 ]
}

check_405() {
	device v405 || return 1
	control /policy "{\"device\":\"$DEV\",\"fail_login\":405}" || return 1
	daemon v405 SKYKEEPER_WA_VERSION=2.2000.1 SKYKEEPER_BACKOFF_INITIAL=0.5 \
	    SKYKEEPER_BACKOFF_MAX=2
	wait_for "$tmp/v405.out" "state=connecting event=login_failed .*next=backoff" 3 || return 1
	wait_for "$tmp/v405.out" 'login refused \(405\).*client version 2\.2000\.1 outdated; set SKYKEEPER_WA_VERSION' 1 || return 1
	grep -q 'floor_s=2.0' "$tmp/v405.out" || { echo "no floor at the cap"; return 1; }
	control /policy "{\"device\":\"$DEV\",\"fail_login\":0}" || return 1
	stop
	[ "$drc" -eq 0 ]
}

check_needs_pairing() {
	device pair || return 1
	daemon pair SKYKEEPER_SESSIONS=main,fresh
	wait_for "$tmp/pair.out" "$OPEN" 3 || return 1
	wait_for "$tmp/pair.out" 'session=fresh msg="no stored credentials for this session: it needs pairing' 3 || return 1
	wait_for "$tmp/pair.out" "id=fresh state=connecting event=login_failed .*next=backoff" 3 || return 1
	grep -q 'session=fresh msg="reconnecting later" attempt=1 delay_s=300' "$tmp/pair.out" || return 1
	stop
	[ "$drc" -eq 0 ] || return 1
	# the session with nothing to save drains too
	grep -q "id=fresh state=draining event=flushed .*next=closed" "$tmp/pair.out"
}

check_two_sessions() {
	device two || return 1
	D1=$DEV
	"$TS" --registry "$tmp/reg" --make-device "$tmp/two2.dev" \
	    >"$tmp/two2.make" 2>&1 || return 1
	D2=$(sed -n 's/^device=\([0-9:]*\).*/\1/p' "$tmp/two2.make")
	"$SEED" put "$tmp/two.data" second "$tmp/two2.dev" || return 1
	daemon two SKYKEEPER_SESSIONS=main,second
	wait_for "$tmp/two.out" "id=main state=connecting event=logged_in" 3 || return 1
	wait_for "$tmp/two.out" "id=second state=connecting event=logged_in" 3 || return 1
	control /inject "{\"kind\":\"515\",\"device\":\"$D2\"}" || return 1
	wait_for "$tmp/two.out" "id=second state=connecting event=logged_in" 3 2 || return 1
	[ "$(grep -c 'id=main state=connecting event=logged_in' "$tmp/two.out")" -eq 1 ] ||
	    { echo "main was disturbed by second's 515"; return 1; }
	stop
	[ "$drc" -eq 0 ] || return 1
	grep -q "\"dev\":\"$D1\".*\"unavailable\"" "$tmp/stanzas.jsonl" &&
	grep -q "\"dev\":\"$D2\".*\"unavailable\"" "$tmp/stanzas.jsonl"
}

# With a throwaway PostgreSQL (tests/pg/run.sh sets the URL): the final
# save reaches the database, and a process with an empty data dir restores
# that generation from it.
check_pg_drain_restore() {
	device pg || return 1
	daemon pg DATABASE_URL="$SKYKEEPER_TEST_DATABASE_URL"
	wait_for "$tmp/pg.out" "$OPEN" 5 || return 1
	stop
	echo "FIGURE drain with PostgreSQL: $drain_ms ms"
	[ "$drc" -eq 0 ] || { echo "exit $drc"; return 1; }
	gen=$(sed -n 's/.*msg="final save done" generation=\([0-9]*\).*/\1/p' "$tmp/pg.out")
	[ -n "$gen" ] || { echo "no final save line"; return 1; }
	grep -q 'final save: database copy not saved' "$tmp/pg.out" && return 1
	mv "$tmp/pg.out" "$tmp/pg1.out"
	mkdir -p "$tmp/pg2.data"
	daemon pg2 DATABASE_URL="$SKYKEEPER_TEST_DATABASE_URL"
	wait_for "$tmp/pg2.out" "$OPEN" 5 || return 1
	grep -q "msg=\"session restored\" generation=$gen" "$tmp/pg2.out" ||
	    { echo "restored another generation than $gen"; grep restored "$tmp/pg2.out"; return 1; }
	stop
	[ "$drc" -eq 0 ]
}

# Anti-idle: the heavy activity refreshes presence; the profile "about"
# text is touched only when SKYKEEPER_IDLE_STATUS is set.
check_heavy() {
	device heavy || return 1
	daemon heavy SKYKEEPER_HEAVY_EVERY=0.6 SKYKEEPER_HEAVY_JITTER=0.1
	wait_for "$tmp/heavy.out" "$OPEN" 3 || return 1
	wait_for "$tmp/heavy.out" "event=every:heavy_activity" 3 2 || return 1
	stop
	[ "$drc" -eq 0 ] || return 1
	n=$(grep -c "\"dev\":\"$DEV\".*\"presence\".*\"type\":\"available\"" "$tmp/stanzas.jsonl")
	[ "$n" -ge 3 ] || { echo "presence available seen $n times"; return 1; }
	if grep "\"dev\":\"$DEV\"" "$tmp/stanzas.jsonl" | grep -q '"xmlns":"status"'; then
		echo "profile status touched without SKYKEEPER_IDLE_STATUS"
		return 1
	fi
	mv "$tmp/heavy.out" "$tmp/heavy1.out"
	daemon heavy SKYKEEPER_HEAVY_EVERY=0.6 SKYKEEPER_HEAVY_JITTER=0.1 \
	    SKYKEEPER_IDLE_STATUS="Available 24/7"
	wait_for "$tmp/heavy.out" "event=every:heavy_activity" 3 1 || return 1
	sleep 0.2
	stop
	grep "\"dev\":\"$DEV\"" "$tmp/stanzas.jsonl" | grep -q '"xmlns":"status"' ||
	    { echo "no status iq with SKYKEEPER_IDLE_STATUS set"; return 1; }
}

# Nobody listening: capped exponential backoff with full jitter, read from
# the daemon's own lines: attempt n waits within [0, min(max, 0.1 * 2^(n-1))].
check_down() {
	device down || return 1
	daemon down SKYKEEPER_WA_URL=ws://127.0.0.1:1/ws/chat \
	    SKYKEEPER_BACKOFF_INITIAL=0.1 SKYKEEPER_BACKOFF_MAX=0.4
	wait_for "$tmp/down.out" 'msg="reconnecting later"' 8 6 || return 1
	stop
	[ "$drc" -eq 0 ] || return 1
	grep 'msg="reconnecting later"' "$tmp/down.out" | awk '
	    { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	      cap = 0.1 * 2 ^ (f["attempt"] - 1); if (cap > 0.4) cap = 0.4
	      printf "attempt=%d delay=%.3f cap=%.3f\n", f["attempt"], f["delay_s"], cap
	      if (f["attempt"] != NR || f["delay_s"] < 0 || f["delay_s"] > cap + 1e-9) bad = 1 }
	    END { exit bad }'
}

# A budget too short for the database's answer: the session leaves
# draining by its timeout, says what was not confirmed, exit status 1.
check_pg_overrun() {
	device pgo || return 1
	daemon pgo DATABASE_URL="$SKYKEEPER_TEST_DATABASE_URL" \
	    SKYKEEPER_DRAIN_BUDGET=0.001
	wait_for "$tmp/pgo.out" "$OPEN" 5 || return 1
	stop
	[ "$drc" -eq 1 ] || { echo "exit $drc, want 1"; return 1; }
	grep -q 'state=draining event=timeout .*next=closed .*log_drain_overrun' "$tmp/pgo.out" || return 1
	grep -q 'msg="drain budget of 0.001 s exceeded" final_save=NOT-CONFIRMED' "$tmp/pgo.out"
}

check_replay() {
	for f in open r515 stale repl lo term term2 u503 v405 pair two pg1 pg2 heavy1 heavy down pgo; do
		[ -f "$tmp/$f.out" ] || continue
		"$REPLAY" replay "$tmp/$f.out" >"$tmp/$f.replay" 2>&1 ||
		    { echo "$f:"; cat "$tmp/$f.replay"; return 1; }
		grep -q '0 mismatches' "$tmp/$f.replay" ||
		    { cat "$tmp/$f.replay"; return 1; }
	done
}

t open check_open
t restart_515 check_515
t stale_ping_backoff check_stale
t replaced_floor_then_park check_replaced
t logged_out_marked check_logged_out
t sigterm_drain check_sigterm
t sigterm_twice check_sigterm_twice
t bad_env_exit_2 check_bad_env
t unavailable_503_backoff check_503
t login_405_names_version check_405
t new_session_needs_pairing check_needs_pairing
t two_sessions_independent check_two_sessions
t heavy_activity_presence_only check_heavy
t server_down_backoff_grows check_down
if [ -n "${SKYKEEPER_TEST_DATABASE_URL:-}" ]; then
	t pg_final_save_restores check_pg_drain_restore
	t pg_drain_overrun_exit_1 check_pg_overrun
else
	echo "SKIP pg_final_save_restores (run under tests/pg/run.sh for PostgreSQL)"
fi
t replay_traces check_replay

echo "daemon: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
