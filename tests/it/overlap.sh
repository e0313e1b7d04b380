#!/bin/sh
# tests/it/overlap.sh BIN: the Heroku restart overlap.  Process A (its own
# data dir) runs the session with PostgreSQL; at the same instant A gets
# SIGTERM and process B starts (another, empty data dir, same DATABASE_URL,
# same session).  B finds A's lease busy and polls it every
# SESSION_LEASE_POLL; A releases it right after its final save; B then
# restores A's final generation from the database and logs in.
# Asserts: the server never saw two simultaneous logins of the device
# (max_simultaneous == 1, no replaced kicks); B is open within A's drain
# time + 2 s; B restored A's final generation; both traces replay.
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
[ -n "${SKYKEEPER_TEST_DATABASE_URL:-}" ] || fail "no SKYKEEPER_TEST_DATABASE_URL (run under tests/pg/run.sh)"
DB=$SKYKEEPER_TEST_DATABASE_URL

start_server
device ovl
mkdir -p "$tmp/b.data"
# Each test's own session id: several tests share one database.
SID=ovl$$
"$SEED" put "$tmp/a.data" "$SID" "$tmp/ovl.dev" >/dev/null || fail "seed"
ENVS="DATABASE_URL=$DB SKYKEEPER_SESSIONS=$SID"

daemon a "$tmp/a.data" $ENVS
wait_for "$tmp/a.out" "$OPEN" 5 || fail "A not open"
sleep 0.5

# The same instant: SIGTERM to A, exec of B.
t0=$(now)
kill -TERM "$PID_a"
daemon b "$tmp/b.data" $ENVS
wait "$TPID_a"
arc=$?
[ "$arc" -eq 0 ] || fail "A exited $arc"
wait_for "$tmp/b.out" "$OPEN" 10 || fail "B not open"
tb=$(now)
b_open_ms=$(elapsed_ms "$t0" "$tb")
drain_ms=$(sed -n 's/.*measure#skykeeper.drain_ms=\([0-9]*\).*/\1/p' "$tmp/a.out")
[ -n "$drain_ms" ] || fail "no measure#skykeeper.drain_ms in A's log"
echo "FIGURE A drain: $drain_ms ms; B open $b_open_ms ms after SIGTERM/exec (limit drain + 2000)"
[ "$b_open_ms" -le $((drain_ms + 2000)) ] || fail "B open too late"

# A released the lease, after its final save, before it exited.
grep -q "session=$SID msg=\"final save done\"" "$tmp/a.out" || fail "A: no final save"
grep -q "session=$SID msg=\"lease released\" rc=0" "$tmp/a.out" || fail "A: lease not released"
awk -v s="$SID" '$0 ~ "session=" s " msg=\"final save done\"" { f = NR }
    $0 ~ "session=" s " msg=\"lease released\"" { r = NR }
    END { exit !(f && r && f < r) }' "$tmp/a.out" || fail "A released before its final save"
grep -q 'final save: database copy not saved' "$tmp/a.out" && fail "A: database copy not saved"
# B waited for the lease instead of fighting, then restored A's final save.
grep -q "session=$SID msg=\"session lease held by another process" "$tmp/b.out" ||
    echo "note: B never saw the lease busy (A drained before B asked)"
gen=$(sed -n "s/.*session=$SID msg=\"final save done\" generation=\([0-9]*\).*/\1/p" "$tmp/a.out")
grep -q "session=$SID msg=\"session restored\" generation=$gen" "$tmp/b.out" ||
    fail "B did not restore A's final generation $gen"

# What the server saw.
st=$(status_of "$DEV") || fail "no server status"
maxs=$(json_num "$st" max_simultaneous)
logins=$(json_num "$st" logins)
kicks=$(json_num "$st" replaced_kicks)
echo "FIGURE server: logins=$logins max_simultaneous=$maxs replaced_kicks=$kicks"
[ "$maxs" = 1 ] || fail "max_simultaneous=$maxs"
[ "$kicks" = 0 ] || fail "replaced_kicks=$kicks"
[ "$logins" = 2 ] || fail "logins=$logins, want 2 (A then B)"
hasnt "$tmp/b.out" "event=replaced" || fail "B was replaced"

# Phase 2, the busy path for sure: C starts while B still holds the lease
# (a new dyno booting before the old one got its SIGTERM).  C must poll,
# not connect and not wait out the 30 s TTL; SIGTERM to B then hands over.
mkdir -p "$tmp/c.data"
daemon c "$tmp/c.data" $ENVS
wait_for "$tmp/c.out" "session=$SID msg=\"session lease held by another process" 5 3 ||
    fail "C did not poll the busy lease"
hasnt "$tmp/c.out" "$OPEN" || fail "C opened while B held the lease"
# polls about SESSION_LEASE_POLL apart
grep "session=$SID msg=\"asking for the session lease again\"" "$tmp/c.out" |
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^delay_s=/) { split($i, a, "="); if (a[2] + 0 > 1.001) bad = 1 } } END { exit bad }' ||
    fail "a lease poll longer than 1 s"
t1=$(now)
kill -TERM "$PID_b"
wait "$TPID_b"
brc=$?
[ "$brc" -eq 0 ] || fail "B exited $brc"
wait_for "$tmp/c.out" "$OPEN" 10 || fail "C not open"
c_open_ms=$(elapsed_ms "$t1" "$(now)")
bdrain=$(sed -n 's/.*measure#skykeeper.drain_ms=\([0-9]*\).*/\1/p' "$tmp/b.out")
echo "FIGURE B drain: $bdrain ms; C (polling) open $c_open_ms ms after B's SIGTERM (limit drain + 2000)"
[ "$c_open_ms" -le $((bdrain + 2000)) ] || fail "C open too late"
st=$(status_of "$DEV") || fail "no server status"
maxs=$(json_num "$st" max_simultaneous)
kicks=$(json_num "$st" replaced_kicks)
logins=$(json_num "$st" logins)
echo "FIGURE server after phase 2: logins=$logins max_simultaneous=$maxs replaced_kicks=$kicks"
[ "$maxs" = 1 ] && [ "$kicks" = 0 ] && [ "$logins" = 3 ] || fail "server saw an overlap"
kill -TERM "$PID_c"
wait "$TPID_c" || fail "C exited non-zero"
replay_ok a || fail "A's trace"
replay_ok b || fail "B's trace"
replay_ok c || fail "C's trace"
echo "PASS overlap"
