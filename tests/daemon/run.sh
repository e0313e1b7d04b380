#!/bin/sh
# tests/daemon/run.sh BIN: `skykeeper run` against bin/wa-testserver, on
# 127.0.0.1 only, with short intervals from the environment: the checks
# that are not lifecycle scenarios of tests/it/ (open, 515, stale, server
# down, 440, 401, SIGTERM, restart, the fallbacks, lease lost, restart
# overlap, database outage live there): a second signal during the drain,
# bad configuration, 503, 405, a session without credentials next to a
# paired one, two sessions,
# the heavy activity, and (under tests/pg/run.sh) a drain budget too short
# for the database.
# One server; each check gets its own device and data dir and runs in a
# subshell that stops its daemons when it ends.  The helpers are
# tests/it/lib.sh's.  Every daemon is bounded by timeout(1); every log
# replays.  Prints PASS/FAIL per check and "daemon: N passed, M failed".
set -u
BIN=${1:-bin}
. "$(dirname "$0")/../it/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP

for b in "$SK" "$TS" "$SEED"; do
	if [ ! -x "$b" ]; then
		echo "FAIL setup: $b is not built"
		echo "daemon: 0 passed, 1 failed"
		exit 1
	fi
done
start_server

pass=0
fail=0
t() {
	tname=$1
	shift
	if (trap 'for p in $pids; do kill -9 "$p" 2>/dev/null; done' EXIT
	    "$@") >"$tmp/$tname.log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS $tname"
		grep '^FIGURE' "$tmp/$tname.log" | sed 's/^FIGURE /    /'
	else
		fail=$((fail + 1))
		echo "FAIL $tname"
		tail -n 40 "$tmp/$tname.log" | sed 's/^/    /'
	fi
}

check_sigterm_twice() {
	device term2
	daemon term2 "$tmp/term2.data"
	wait_for "$tmp/term2.out" "$OPEN" 3 || fail "not open"
	stop term2 "TERM INT"
	[ "$rc" -eq 0 ] || fail "exit $rc"
	echo "FIGURE drain with SIGTERM then SIGINT: $stop_ms ms"
	grep -q "state=draining event=drain .*kind=ignore" "$tmp/term2.out" ||
	    fail "the second signal was not ignored"
	[ "$(count "$tmp/term2.out" 'state=draining event=flushed .*next=closed')" -eq 1 ] ||
	    fail "not one flush"
	replay_ok term2 || fail "trace"
}

check_bad_env() {
	device bad
	daemon bad "$tmp/bad.data" SKYKEEPER_KEEPALIVE=abc SKYKEEPER_DRAIN_BUDGET=45
	wait "$TPID_bad"
	rc=$?
	[ "$rc" -eq 2 ] || fail "exit $rc, want 2"
	grep -qx 'at=error msg="bad configuration" var=SKYKEEPER_KEEPALIVE value="abc" want="seconds, a number, 0 < N <= 3600"' "$tmp/bad.err" ||
	    { cat "$tmp/bad.err"; fail "no exact line for SKYKEEPER_KEEPALIVE"; }
	grep -q 'var=SKYKEEPER_DRAIN_BUDGET value="45"' "$tmp/bad.err" ||
	    fail "no line for SKYKEEPER_DRAIN_BUDGET"
	[ ! -s "$tmp/bad.out" ] || fail "started anyway"
}

check_503() {
	device u503
	daemon u503 "$tmp/u503.data" SKYKEEPER_BACKOFF_INITIAL=0.2 SKYKEEPER_BACKOFF_MAX=0.5
	wait_for "$tmp/u503.out" "$OPEN" 3 || fail "not open"
	control /inject "{\"kind\":\"503\",\"device\":\"$DEV\"}" >/dev/null || fail "inject"
	wait_for "$tmp/u503.out" "state=open event=transport_down .*next=backoff" 2 ||
	    fail "503 not a backoff"
	wait_for "$tmp/u503.out" "$OPEN" 3 2 || fail "not open again"
	grep -q 'count#skykeeper.reconnects=1' "$tmp/u503.out" || fail "no reconnect metric"
	stop u503
	[ "$rc" -eq 0 ] || fail "exit $rc"
	replay_ok u503 || fail "trace"
}

check_405() {
	device v405
	control /policy "{\"device\":\"$DEV\",\"fail_login\":405}" >/dev/null || fail "policy"
	daemon v405 "$tmp/v405.data" SKYKEEPER_WA_VERSION=2.2000.1 \
	    SKYKEEPER_BACKOFF_INITIAL=0.5 SKYKEEPER_BACKOFF_MAX=2
	wait_for "$tmp/v405.out" "state=connecting event=login_failed .*next=backoff" 3 ||
	    fail "405 not a backoff"
	wait_for "$tmp/v405.out" 'login refused \(405\).*client version 2\.2000\.1 outdated; set SKYKEEPER_WA_VERSION' 1 ||
	    fail "no line naming the version"
	grep -q 'floor_s=2.0' "$tmp/v405.out" || fail "no floor at the cap"
	control /policy "{\"device\":\"$DEV\",\"fail_login\":0}" >/dev/null || fail "policy"
	stop v405
	[ "$rc" -eq 0 ] || fail "exit $rc"
	replay_ok v405 || fail "trace"
}

# A session without credentials next to a paired one: it gets new device
# credentials and shows pairing QR codes (tests/pair/ pairs it for real),
# the paired one opens undisturbed, and both drain.
check_new_session_pairs() {
	device pair
	daemon pair "$tmp/pair.data" SKYKEEPER_SESSIONS=main,fresh
	wait_for "$tmp/pair.out" "$OPEN" 3 || fail "main not open"
	wait_for "$tmp/pair.out" 'session=fresh msg="no stored credentials for this session: pairing a new device' 3 ||
	    fail "no pairing line"
	wait_for "$tmp/pair.out" "id=fresh state=connecting event=pair_device .*next=pairing" 3 ||
	    fail "fresh not pairing"
	grep -q 'session=fresh qr_text="' "$tmp/pair.out" || fail "no QR text"
	[ "$(count "$tmp/pair.out" "id=main state=connecting event=logged_in")" -eq 1 ] ||
	    fail "main was disturbed"
	stop pair
	[ "$rc" -eq 0 ] || fail "exit $rc"
	grep -q "id=fresh state=draining event=flushed .*next=closed" "$tmp/pair.out" ||
	    fail "fresh not drained"
	"$SEED" show "$tmp/pair.data" fresh | grep -q 'logged_out=0' ||
	    fail "fresh's new credentials not in the file copy"
	replay_ok pair || fail "trace"
}

check_two_sessions() {
	device two
	D1=$DEV
	"$TS" --registry "$tmp/reg" --make-device "$tmp/two2.dev" \
	    >"$tmp/two2.make" 2>&1 || fail "make-device"
	D2=$(sed -n 's/^device=\([0-9:]*\).*/\1/p' "$tmp/two2.make")
	"$SEED" put "$tmp/two.data" second "$tmp/two2.dev" >/dev/null || fail "seed"
	daemon two "$tmp/two.data" SKYKEEPER_SESSIONS=main,second
	wait_for "$tmp/two.out" "id=main state=connecting event=logged_in" 3 || fail "main not open"
	wait_for "$tmp/two.out" "id=second state=connecting event=logged_in" 3 || fail "second not open"
	control /inject "{\"kind\":\"515\",\"device\":\"$D2\"}" >/dev/null || fail "inject"
	wait_for "$tmp/two.out" "id=second state=connecting event=logged_in" 3 2 ||
	    fail "second not open again"
	[ "$(count "$tmp/two.out" 'id=main state=connecting event=logged_in')" -eq 1 ] ||
	    fail "main was disturbed by second's 515"
	stop two
	[ "$rc" -eq 0 ] || fail "exit $rc"
	stanzas "$D1" | grep -q '"unavailable"' || fail "no presence unavailable from main"
	stanzas "$D2" | grep -q '"unavailable"' || fail "no presence unavailable from second"
	replay_ok two || fail "trace"
}

# Anti-idle: the heavy activity refreshes presence; the profile "about"
# text is touched only when SKYKEEPER_IDLE_STATUS is set.
# make demo: every step of the walk-through shows, the daemon drains with
# status 0 and its trace replays (demo.sh's own exit status).
check_demo() {
	"$(dirname "$0")/demo.sh" "$BIN" >"$tmp/demo.txt" 2>&1 ||
	    { tail -n 20 "$tmp/demo.txt"; return 1; }
	for step in 'connecting +--logged_in--> open' \
	    'open +--restart_required--> connecting' \
	    'open +--timeout--> stale +\[send_ping\]' \
	    'stale +--timeout--> backoff' 'backoff +--timeout--> connecting' \
	    'open +--drain--> draining' 'draining +--flushed--> closed' \
	    'exit status 0' '0 mismatches'; do
		grep -qE -- "$step" "$tmp/demo.txt" ||
		    { echo "demo did not show: $step"; cat "$tmp/demo.txt"; return 1; }
	done
}

check_heavy() {
	device heavy
	daemon heavy "$tmp/heavy.data" SKYKEEPER_HEAVY_EVERY=0.6 SKYKEEPER_HEAVY_JITTER=0.1
	wait_for "$tmp/heavy.out" "$OPEN" 3 || fail "not open"
	wait_for "$tmp/heavy.out" "event=every:heavy_activity" 3 2 || fail "no heavy activity"
	stop heavy
	[ "$rc" -eq 0 ] || fail "exit $rc"
	replay_ok heavy || fail "trace"
	hn=$(stanzas "$DEV" | grep -c '"presence".*"type":"available"')
	[ "$hn" -ge 3 ] || fail "presence available seen $hn times"
	stanzas "$DEV" | grep -q '"xmlns":"status"' &&
	    fail "profile status touched without SKYKEEPER_IDLE_STATUS"
	daemon heavy2 "$tmp/heavy.data" SKYKEEPER_HEAVY_EVERY=0.6 SKYKEEPER_HEAVY_JITTER=0.1 \
	    SKYKEEPER_IDLE_STATUS="Available 24/7"
	wait_for "$tmp/heavy2.out" "event=every:heavy_activity" 3 1 || fail "no heavy activity"
	sleep 0.2
	stop heavy2
	[ "$rc" -eq 0 ] || fail "exit $rc"
	stanzas "$DEV" | grep -q '"xmlns":"status"' ||
	    fail "no status iq with SKYKEEPER_IDLE_STATUS set"
	replay_ok heavy2 || fail "trace"
}

# A budget too short for the database's answer: the session leaves
# draining by its timeout, says what was not confirmed, exit status 1.
check_pg_overrun() {
	device pgo
	daemon pgo "$tmp/pgo.data" DATABASE_URL="$DB" SKYKEEPER_DRAIN_BUDGET=0.001
	wait_for "$tmp/pgo.out" "$OPEN" 5 || fail "not open"
	stop pgo
	[ "$rc" -eq 1 ] || fail "exit $rc, want 1"
	grep -q 'state=draining event=timeout .*next=closed .*log_drain_overrun' "$tmp/pgo.out" ||
	    fail "no overrun step"
	grep -q 'msg="drain budget of 0.001 s exceeded" final_save=NOT-CONFIRMED' "$tmp/pgo.out" ||
	    fail "no overrun line"
	replay_ok pgo || fail "trace"
}

t sigterm_twice check_sigterm_twice
t bad_env_exit_2 check_bad_env
t unavailable_503_backoff check_503
t login_405_names_version check_405
t new_session_pairs check_new_session_pairs
t two_sessions_independent check_two_sessions
t heavy_activity_presence_only check_heavy
t make_demo_walkthrough check_demo
if [ -n "$DB" ]; then
	t pg_drain_overrun_exit_1 check_pg_overrun
else
	echo "SKIP pg_drain_overrun_exit_1 (run under tests/pg/run.sh for PostgreSQL)"
fi

echo "daemon: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
