#!/bin/sh
# tests/it/replaced.sh BIN: another client logs in as the same device, three
# times in a row (the real server's rule: the newest login wins, the older
# connection gets <conflict type="replaced"/>, Baileys' 440).  The daemon
# must not fight: after the first and second it waits at least
# SKYKEEPER_REPLACED_FLOOR, then logs in again (kicking that client); the
# third in a row parks the session in closed with the line telling the
# operator, and it stays parked.
# Server: the daemon logged in exactly 3 times, and after it parked the
# other client keeps the device undisturbed (no more logins, no more kicks).
# Store: parked = closed, so the lease is released (the row has no owner).
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db
FLOOR=0.4

start_server
SID=repl$$
device r "$SID"
daemon r "$tmp/r.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID" \
    SKYKEEPER_REPLACED_FLOOR=$FLOOR SKYKEEPER_BACKOFF_INITIAL=0.1 \
    SKYKEEPER_BACKOFF_MAX=0.2

# other K: the other client logs in as the device and holds on
other() {
	"$TS" client --port "$PORT" --creds "$tmp/r.dev" --root "$ROOT" \
	    --hold-ms 30000 --timeout-ms 40000 >"$tmp/other$1.out" 2>&1 &
	pids="$pids $!"
}

for k in 1 2 3; do
	wait_for "$tmp/r.out" "$OPEN" 5 "$k" || fail "daemon not open ($k)"
	other $k
	wait_for "$tmp/other$k.out" '^login success' 5 || fail "other client $k: no login"
	if [ $k -lt 3 ]; then
		wait_for "$tmp/r.out" "id=$SID state=open event=replaced guard=replaced_too_often:no next=backoff kind=trans actions=note_replaced,close_transport" 3 "$k" ||
		    fail "replaced $k not a backoff"
		# the daemon's next login kicks this client out
		wait_for "$tmp/other$k.out" 'conflict=replaced' 5 || fail "other client $k not replaced by the daemon"
	fi
done
wait_for "$tmp/r.out" "id=$SID state=open event=replaced guard=replaced_too_often:yes next=closed kind=trans actions=park_replaced,close_transport,release_lease" 3 ||
    fail "third replaced did not park"
wait_for "$tmp/r.out" "session=$SID msg=\"another client keeps using this session .*Stop the other client" 1 ||
    fail "no operator line"
# parked for good: nothing happens for several floors
sleep 2

# the daemon: each wait at least the floor, three logins, no fourth
delays "$tmp/r.out" >"$tmp/delays"
echo "FIGURE delays after replaced (attempt delay floor):" $(cat "$tmp/delays" | tr '\n' ';')
[ "$(wc -l <"$tmp/delays")" = 2 ] || fail "want 2 backoffs"
awk -v f=$FLOOR '$2 < f || $3 != f { bad = 1 } END { exit bad }' "$tmp/delays" ||
    fail "a delay under the 440 floor"
[ "$(count "$tmp/r.out" "$OPEN")" = 3 ] || fail "the daemon logged in $(count "$tmp/r.out" "$OPEN") times"
awk '/replaced_too_often:yes next=closed/ { p = 1; next } p && / fsm=lifecycle / { bad = 1 } END { exit bad }' "$tmp/r.out" ||
    fail "the session moved after parking"

# the server: 3 logins of the daemon + 3 of the other client, 5 kicks (3
# of the daemon, 2 of the other client); the third client still holds it
lg=$(dev_num "$DEV" logins)
kicks=$(dev_num "$DEV" replaced)
cur=$(dev_num "$DEV" current)
mx=$(dev_num "$DEV" max_simultaneous)
echo "FIGURE server: logins=$lg replaced=$kicks current=$cur max_simultaneous=$mx"
[ "$lg" = 6 ] && [ "$kicks" = 5 ] && [ "$cur" = 1 ] || fail "server saw logins=$lg replaced=$kicks current=$cur"
hasnt "$tmp/other3.out" 'conflict=replaced|closed' || fail "the daemon disturbed the other client after parking"

# the store: the parked session released its lease
row=$(lease_row "$SID")
echo "FIGURE lease row after parking: $row"
[ "${row%%|*}" = "" ] || fail "lease still held: $row"

stop r
[ "$rc" -eq 0 ] || fail "exit $rc"
replay_ok r || fail "trace"
echo "PASS replaced"
