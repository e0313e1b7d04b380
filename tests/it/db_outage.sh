#!/bin/sh
# tests/it/db_outage.sh BIN: PostgreSQL stopped while the session is open
# (tools/pgtmp down) -> the session stays open (no transport_down or
# lease_lost in the trace, keepalives keep being answered); a save made
# during the outage (a 515 reconnect: the server reports 0 pre-keys, so
# every login uploads pre-keys and saves) reaches the file copy at once and
# waits for the database; when it returns (tools/pgtmp up) the newest
# generation lands there (`skykeeper status --json`).  Short keepalive and
# lease settings keep it to seconds.
# it: alone
# (run.sh runs it last, by itself: it stops the shared database)
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap 'it_cleanup; [ -n "${SKYKEEPER_TEST_PGTMP_DIR:-}" ] && "$SKYKEEPER_TEST_PGTMP" up "$SKYKEEPER_TEST_PGTMP_DIR" >/dev/null 2>&1' EXIT
trap 'exit 1' INT TERM HUP
[ -n "${SKYKEEPER_TEST_DATABASE_URL:-}" ] && [ -n "${SKYKEEPER_TEST_PGTMP_DIR:-}" ] ||
    fail "run under tests/pg/run.sh"
DB=$SKYKEEPER_TEST_DATABASE_URL
PGTMP=$SKYKEEPER_TEST_PGTMP
PGDIR=$SKYKEEPER_TEST_PGTMP_DIR

SERVER_ARGS="--prekey-count 0"
start_server
device dbo
SID=dbo$$
"$SEED" put "$tmp/d.data" "$SID" "$tmp/dbo.dev" >/dev/null || fail "seed"

daemon d "$tmp/d.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID" \
    SKYKEEPER_KEEPALIVE=0.5 SKYKEEPER_KEEPALIVE_JITTER=0.1 \
    SKYKEEPER_IDLE_DEADLINE=2 SKYKEEPER_PING_DEADLINE=1 \
    SKYKEEPER_LEASE_TTL=3 SKYKEEPER_DRAIN_BUDGET=10
wait_for "$tmp/d.out" "$OPEN" 5 || fail "not open"
wait_for "$tmp/d.out" "session=$SID msg=\"uploaded pre-keys\"" 3 || fail "no pre-key save"
sleep 0.5

# the session's entry of `skykeeper status --json` (both copies): other
# tests' sessions share the database
store_json "$tmp/d.data" "$SID" >"$tmp/status0.json"

"$PGTMP" down "$PGDIR" >/dev/null 2>&1 || fail "pgtmp down"
echo "database down"
pings0=$(json_num "$(status_of "$DEV")" pings_answered)
sleep 1
# a save during the outage
control /inject "{\"kind\":\"515\",\"device\":\"$DEV\"}" >/dev/null || fail "inject"
wait_for "$tmp/d.out" "$OPEN" 5 2 || fail "not reopened after 515 with the database down"
wait_for "$tmp/d.out" "session=$SID msg=\"uploaded pre-keys\"" 3 2 || fail "no save during the outage"
# longer than the lease TTL (3 s): renewals fail, the session stays
sleep 4
pings1=$(json_num "$(status_of "$DEV")" pings_answered)
echo "FIGURE pings answered during the outage: $((pings1 - pings0))"
[ "$((pings1 - pings0))" -ge 4 ] || fail "keepalives stopped during the outage"
hasnt "$tmp/d.out" "event=(transport_down|lease_lost)" || fail "session left open"
hasnt "$tmp/d.out" "next=backoff" || fail "session went to backoff"
# The file copy has the outage's save; the database copy waits for it.
pg0=$(copy_gen "$(cat "$tmp/status0.json")" pg)
f1=$(copy_gen "$(store_json "$tmp/d.data" "$SID" nodb)" file)
echo "FIGURE during the outage: file generation $f1, database generation before it $pg0"
[ -n "$f1" ] && [ -n "$pg0" ] && [ "$f1" -gt "$pg0" ] || fail "no newer generation saved during the outage"

t0=$(now)
"$PGTMP" up "$PGDIR" >/dev/null 2>&1 || fail "pgtmp up"
echo "database up"
# the newest generation (the file copy's) lands in the database
fgen=""
pgen=""
i=0
while [ $i -lt 100 ]; do
	store_json "$tmp/d.data" "$SID" >"$tmp/status2.json"
	fgen=$(copy_gen "$(cat "$tmp/status2.json")" file)
	pgen=$(copy_gen "$(cat "$tmp/status2.json")" pg)
	[ -n "$fgen" ] && [ "$fgen" = "$pgen" ] && break
	sleep 0.2
	i=$((i + 1))
done
echo "FIGURE after the outage: file generation $fgen, database generation $pgen, $(elapsed_ms "$t0" "$(now)") ms after pgtmp up"
[ -n "$fgen" ] && [ "$fgen" = "$pgen" ] || { cat "$tmp/status2.json"; fail "database not repaired"; }
# queued, not dropped: no save gave up on the database copy
hasnt "$tmp/d.out" "session=$SID msg=\"database copy not saved\"" || fail "a save gave up on the database"
[ "$pgen" -ge "$f1" ] || fail "database generation $pgen older than the outage's save $f1"
# renewals queued through the outage (or failed after the store's db_wait,
# 10 s, and were shrugged off): either way the session kept its lease, and
# renews it again (successful renewals are not logged: the row says so)
n_failed=$(count "$tmp/d.out" "session=$SID msg=\"lease renewal failed")
[ "$n_failed" = 0 ] || echo "note: $n_failed renewals failed"
sleep 1.5
row=$(pg "SELECT coalesce(owner, ''), lease_expires > now() FROM skykeeper_sessions WHERE id = '$SID'")
echo "FIGURE lease after the outage: $row (this process: $(owner_of d))"
[ "$row" = "$(owner_of d)|t" ] || fail "lease not held and renewed after the outage: $row"
hasnt "$tmp/d.out" "event=(transport_down|lease_lost)" || fail "session left open"

kill -TERM "$PID_d"
wait "$TPID_d" || fail "daemon exit non-zero"
grep -q 'final save: database copy not saved' "$tmp/d.out" && fail "final save missed the database"
replay_ok d || fail "trace"
echo "PASS db_outage"
