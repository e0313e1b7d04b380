#!/bin/sh
# tests/it/sigterm.sh BIN: SIGTERM to an open session -> draining: presence
# unavailable, final save to both copies, transport closed, lease released;
# exit 0 well inside SKYKEEPER_DRAIN_BUDGET (and Heroku's 30 s).
# Server: presence unavailable from the device, then its connection gone.
# Store: the file copy and the database row both hold the generation of
# the final save ("final save done generation=N"), state draining; the
# lease row has no owner.
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db

start_server
SID=term$$
device t "$SID"
daemon t "$tmp/t.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID"
wait_for "$tmp/t.out" "$OPEN" 5 || fail "not open"
sleep 0.3
gen0=$(copy_gen "$(store_json "$tmp/t.data" "$SID")" pg)

stop t TERM
echo "FIGURE SIGTERM to exit: $stop_ms ms (budget 20000; $(grep -o 'measure#skykeeper.drain_ms=[0-9]*' "$tmp/t.out"))"
[ "$rc" -eq 0 ] || fail "exit $rc"
[ "$stop_ms" -lt 5000 ] || fail "drain too slow"
grep -q "id=$SID state=open event=drain guard=- next=draining kind=trans actions=say_unavailable,flush_session" "$tmp/t.out" ||
    fail "no drain step"
grep -q "id=$SID state=draining event=flushed guard=- next=closed kind=trans actions=close_transport,release_lease" "$tmp/t.out" ||
    fail "not closed by the flush"
grep -q 'msg="drained: every session closed, store closed" .*exit=0' "$tmp/t.out" || fail "no drained line"
hasnt "$tmp/t.out" 'database copy not saved|NOT-CONFIRMED|not saved before' || fail "a copy missed the final save"
gen=$(sed -n "s/.*session=$SID msg=\"final save done\" generation=\([0-9]*\).*/\1/p" "$tmp/t.out")
[ -n "$gen" ] || fail "no final save line"

# the server: presence unavailable, then the connection closed
stanzas "$DEV" | grep '"dir":"in"' | grep -q '"presence".*"type":"unavailable"' ||
    fail "server saw no presence unavailable"
cur=$(dev_num "$DEV" current)
echo "FIGURE server after exit: current=$cur logins=$(dev_num "$DEV" logins)"
[ "$cur" = 0 ] || fail "server still has $cur connections"

# the store: both copies hold the final generation, the lease is free
js=$(store_json "$tmp/t.data" "$SID")
fg=$(copy_gen "$js" file)
pgg=$(copy_gen "$js" pg)
row=$(lease_row "$SID")
echo "FIGURE final save generation $gen (before: $gen0): file copy $fg, database copy $pgg; lease row $row"
[ "$fg" = "$gen" ] && [ "$pgg" = "$gen" ] && [ "$gen" -gt "$gen0" ] || fail "copies: $js"
[ "$(json_word "$js" last_state)" = draining ] || fail "last_state: $js"
[ "${row%%|*}" = "" ] && [ "${row##*|}" = "$gen" ] || fail "lease row: $row"
"$SEED" show "$tmp/t.data" "$SID" | grep -q "generation=$gen logged_out=0 state=draining" ||
    fail "file copy read back: $("$SEED" show "$tmp/t.data" "$SID")"

replay_ok t || fail "trace"
echo "PASS sigterm"
