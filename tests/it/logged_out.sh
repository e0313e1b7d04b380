#!/bin/sh
# tests/it/logged_out.sh BIN: the server logs the device out while open
# (<stream:error code="401"><conflict type="device_removed"/>) -> the
# session is parked in closed with the line telling the operator to pair
# again, and the snapshot is marked logged out in both copies.  Restarts
# must not resurrect it: neither from the file copy (same data dir) nor
# from the database copy alone (a new dyno's empty data dir); nor does a
# login refused with <failure reason="401"/> (the other form) retry.
# Server: the device logged in once, never again.
# Store: `skykeeper status --json` of each copy on its own: logged_out
# true, the same generation, above the one before the 401.
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db

start_server
SID=lo$$
device l "$SID"
daemon l "$tmp/l.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID" \
    SKYKEEPER_BACKOFF_INITIAL=0.1 SKYKEEPER_BACKOFF_MAX=0.2
wait_for "$tmp/l.out" "$OPEN" 5 || fail "not open"
gen0=$(copy_gen "$(store_json "$tmp/l.data" "$SID")" pg)

control /inject "{\"kind\":\"device_removed\",\"device\":\"$DEV\"}" | grep -q '"affected":1' ||
    fail "inject reached no connection"
wait_for "$tmp/l.out" "id=$SID state=open event=logged_out guard=- next=closed kind=trans actions=mark_logged_out,close_transport,release_lease" 3 ||
    fail "not parked"
wait_for "$tmp/l.out" "session=$SID msg=\"logged out by WhatsApp .*Pair this session again" 1 ||
    fail "no operator line"
# nothing more happens
sleep 1.5
awk '/event=logged_out .*next=closed/ { p = 1; next } p && / fsm=lifecycle / { bad = 1 } END { exit bad }' "$tmp/l.out" ||
    fail "the session moved after parking"
stop l
[ "$rc" -eq 0 ] || fail "exit $rc"
replay_ok l || fail "trace"

# the store: each copy on its own says logged out, at the same generation
fjs=$(store_json "$tmp/l.data" "$SID" nodb)
mkdir -p "$tmp/empty.data"
pjs=$(store_json "$tmp/empty.data" "$SID")
fg=$(copy_gen "$fjs" file)
pgg=$(copy_gen "$pjs" pg)
echo "FIGURE before the 401: generation $gen0; file copy: generation $fg logged_out=$(json_word "$fjs" logged_out); database copy: generation $pgg logged_out=$(json_word "$pjs" logged_out)"
[ "$(json_word "$fjs" logged_out)" = true ] || fail "file copy not marked: $fjs"
[ "$(json_word "$pjs" logged_out)" = true ] || fail "database copy not marked: $pjs"
[ -n "$fg" ] && [ "$fg" = "$pgg" ] && [ "$fg" -gt "$gen0" ] || fail "copies: file $fg, database $pgg, before $gen0"

# restart with the same data dir, then as a new dyno (database copy only):
# restored, refused, parked; no connection
for r in l2:l.data l3:new.data; do
	dn=${r%%:*}
	mkdir -p "$tmp/${r#*:}"
	daemon "$dn" "$tmp/${r#*:}" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID"
	wait_for "$tmp/$dn.out" "id=$SID state=connecting event=logged_out guard=- next=closed" 5 ||
	    fail "$dn: not parked at once"
	grep -q "session=$SID msg=\"this session was logged out" "$tmp/$dn.out" || fail "$dn: no line"
	sleep 0.5
	hasnt "$tmp/$dn.out" "$OPEN" || fail "$dn: logged in"
	stop "$dn"
	[ "$rc" -eq 0 ] || fail "$dn: exit $rc"
	replay_ok "$dn" || fail "$dn: trace"
done
grep -q "session=$SID event=restored from=pg .*reason=\"no file copy\"" "$tmp/l3.out" ||
    fail "the new dyno did not restore the database copy"

# the other form: a login answered <failure reason="401"/> parks as well
device f "f$SID"
control /policy "{\"device\":\"$DEV\",\"fail_login\":401}" >/dev/null || fail "policy"
daemon f "$tmp/f.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="f$SID" \
    SKYKEEPER_BACKOFF_INITIAL=0.1 SKYKEEPER_BACKOFF_MAX=0.2
wait_for "$tmp/f.out" "id=f$SID state=connecting event=logged_out guard=- next=closed kind=trans actions=mark_logged_out" 5 ||
    fail "failure 401 did not park"
sleep 1
[ "$(dev_num "$DEV" failures)" = 1 ] || fail "the refused device tried $(dev_num "$DEV" failures) times"
stop f
[ "$rc" -eq 0 ] || fail "f: exit $rc"
[ "$(json_word "$(store_json "$tmp/f.data" "f$SID")" logged_out)" = true ] || fail "f: not marked"
replay_ok f || fail "f: trace"

# the server: the first device logged in once, never again
lg=$(status_of "$(sed -n 's/^device=\([0-9:]*\).*/\1/p' "$tmp/l.make")" | tr -d ' \n' | sed 's/.*"devices":\[//')
echo "FIGURE server, first device: logins=$(json_num "$lg" logins) failures=$(json_num "$lg" failures)"
[ "$(json_num "$lg" logins)" = 1 ] || fail "first device logged in again"
stanzas "$(sed -n 's/^device=\([0-9:]*\).*/\1/p' "$tmp/l.make")" | grep '"dir":"out"' |
    grep -q '"device_removed"' || fail "server log has no device_removed sent"
echo "PASS logged_out"
