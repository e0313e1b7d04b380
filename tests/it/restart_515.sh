#!/bin/sh
# tests/it/restart_515.sh BIN: stream error 515 (restart required) while
# open -> the daemon reconnects at once: the trace goes open ->
# connecting directly, never through backoff, and the session is open
# again within 1 s.
# Server: it sent the 515, then saw a second login of the device, never two
# connections of it at once.
# Store: the lease is kept across the reconnect (same owner, same fence:
# not taken anew), the snapshot is untouched.
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db

start_server
SID=r515$$
device r "$SID"
daemon r "$tmp/r.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID"
wait_for "$tmp/r.out" "$OPEN" 5 || fail "not open"
row0=$(lease_row "$SID")
sleep 0.2

ti=$(now)
control /inject "{\"kind\":\"515\",\"device\":\"$DEV\"}" | grep -q '"affected":1' ||
    fail "inject reached no connection"
wait_for "$tmp/r.out" "$OPEN" 3 2 || fail "not open again"
ms=$(elapsed_ms "$ti" "$(now)")
echo "FIGURE 515 to open again: $ms ms (limit 1000)"
[ "$ms" -le 1000 ] || fail "reopened after $ms ms"

# the trace: open -restart_required-> connecting, then open; no backoff
grep -q "id=$SID state=open event=restart_required guard=- next=connecting kind=trans actions=close_transport,open_transport" "$tmp/r.out" ||
    fail "no open -> connecting on restart_required"
hasnt "$tmp/r.out" "next=backoff" || fail "went through backoff"
hasnt "$tmp/r.out" 'msg="reconnecting later"' || fail "a backoff delay"
grep -q "session=$SID msg=\"stream error from the server\" code=515" "$tmp/r.out" ||
    fail "the daemon did not log the 515"

# the server: it sent the 515, then a second login, one connection at a time
stanzas "$DEV" | grep '"dir":"out"' | grep -q '"stream:error".*"code":"515"' ||
    fail "server log has no 515 sent"
lg=$(dev_num "$DEV" logins)
mx=$(dev_num "$DEV" max_simultaneous)
cur=$(dev_num "$DEV" current)
echo "FIGURE server: logins=$lg max_simultaneous=$mx current=$cur"
[ "$lg" = 2 ] && [ "$mx" = 1 ] && [ "$cur" = 1 ] || fail "server saw logins=$lg max=$mx current=$cur"

# the store: same lease grant (no re-acquire), same generation
row1=$(lease_row "$SID")
echo "FIGURE lease row before: $row0, after: $row1"
[ "$row0" = "$row1" ] || fail "lease row changed: $row0 -> $row1"
grep -c "session=$SID event=lease op=acquire" "$tmp/r.out" | grep -qx 1 ||
    fail "the lease was acquired again"

stop r
[ "$rc" -eq 0 ] || fail "exit $rc"
replay_ok r || fail "trace"
echo "PASS restart_515"
