#!/bin/sh
# tests/it/reresolve.sh BIN: the host name of SKYKEEPER_WA_URL is resolved
# again at every connect, so a server that moved is found without a
# restart.  The daemon runs with an LD_PRELOAD getaddrinfo()
# (tests/it/resolv_shim.c) that answers the test name from a file: first
# the server's address (open), then 127.0.0.3 where nobody listens (the
# connection is dropped by the server; every retry is refused), then the
# server's address again: the next attempt finds it.  Past 5 failures in a
# row the session is also reloaded from the store (the next fallback).
# Server: one login before the move, one after it; nothing in between.
# Store: the reload restored the stored generation; the lease was kept.
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db
NAME=wa.skykeeper.test

resolver_shim

start_server
SID=res$$
device h "$SID"
echo 127.0.0.1 >"$tmp/host"
# daemon() points the URL at 127.0.0.1: the name replaces it here
daemon h "$tmp/h.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID" \
    SKYKEEPER_WA_URL="ws://$NAME:$PORT/ws/chat" \
    SKYKEEPER_BACKOFF_INITIAL=0.1 SKYKEEPER_BACKOFF_MAX=0.3 \
    SK_SHIM_NAME=$NAME SK_SHIM_FILE="$tmp/host" SK_SHIM_LOG="$tmp/lookups" \
    LD_PRELOAD="$tmp/shim.so" ASAN_OPTIONS="$SHIM_ASAN"
wait_for "$tmp/h.out" "$OPEN" 5 || fail "not open through the name"
grep -q "wa_url=\"ws://$NAME:$PORT/ws/chat\"" "$tmp/h.out" || fail "not the name's URL"
[ "$(cat "$tmp/lookups")" = "$NAME 127.0.0.1" ] || fail "lookups: $(cat "$tmp/lookups")"
row0=$(lease_row "$SID")

# the server moves away; the daemon's connection ends
echo 127.0.0.3 >"$tmp/host"
control /inject "{\"kind\":\"close\",\"device\":\"$DEV\"}" >/dev/null || fail "inject"
wait_for "$tmp/h.out" 'msg="reconnecting later"' 10 6 || fail "not retrying"
wait_for "$tmp/h.out" "session=$SID msg=\"5 failures in a row: reloading the session from the store\"" 3 ||
    fail "no reload after 5 failures"
fails=$(count "$tmp/h.out" 'msg="reconnecting later"')
moved=$(grep -c " 127.0.0.3\$" "$tmp/lookups")
echo "FIGURE while moved: $fails failures, $moved lookups answered 127.0.0.3"
[ "$moved" -ge $((fails - 1)) ] || fail "fewer lookups ($moved) than attempts ($fails)"

# back at its address: found at the next attempt
tb=$(now)
echo 127.0.0.1 >"$tmp/host"
wait_for "$tmp/h.out" "$OPEN" 3 2 || fail "not open after the move back"
echo "FIGURE moved back to open: $(elapsed_ms "$tb" "$(now)") ms (backoff cap 300 ms)"
tail -n 1 "$tmp/lookups" | grep -qx "$NAME 127.0.0.1" || fail "last lookup: $(tail -n 1 "$tmp/lookups")"
grep -q "session=$SID event=restored from=file generation=1 pg_generation=1 reason=\"copies agree\"" "$tmp/h.out" ||
    fail "the reload did not restore the stored copies"
# every 5th failure in a row reloads, not every attempt after the 5th
reloads=$(count "$tmp/h.out" "session=$SID msg=\"[0-9]* failures in a row: reloading the session from the store\"")
allfails=$(count "$tmp/h.out" 'msg="reconnecting later"')
echo "FIGURE reloads from the store: $reloads in $allfails failures"
[ "$reloads" -le $((allfails / 5)) ] || fail "reloaded $reloads times in $allfails failures"
[ "$(count "$tmp/h.out" "session=$SID msg=\"session restored\"")" = $((reloads + 1)) ] ||
    fail "want one restore at start and one per reload"

# the server: one login before, one after; the store: the same lease
lg=$(dev_num "$DEV" logins)
mx=$(dev_num "$DEV" max_simultaneous)
echo "FIGURE server: logins=$lg max_simultaneous=$mx; $(wc -l <"$tmp/lookups") lookups in all"
[ "$lg" = 2 ] && [ "$mx" = 1 ] || fail "server saw logins=$lg max=$mx"
[ "$(lease_row "$SID")" = "$row0" ] || fail "lease row changed: $row0 -> $(lease_row "$SID")"

stop h
[ "$rc" -eq 0 ] || fail "exit $rc"
replay_ok h || fail "trace"
echo "PASS reresolve"
