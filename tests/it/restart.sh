#!/bin/sh
# tests/it/restart.sh BIN: a restart logs in without pairing.  Process 1
# runs the session and is stopped with SIGTERM; process 2 (same data dir,
# same database) restores the final generation and logs in; process 3 is a
# new dyno (empty data dir, the database only) and does the same from the
# database copy.  None of them registers or asks for pairing.
# Server: three ordinary logins of the same device (a registration would be
# refused and counted as a failure), one at a time.
# Store: each process restored the generation its predecessor saved last;
# the new dyno's restore repaired its missing file copy.
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db

start_server
SID=rst$$
device p "$SID"
mkdir -p "$tmp/new.data"
prev=""
for r in p1:p.data p2:p.data p3:new.data; do
	dn=${r%%:*}
	daemon "$dn" "$tmp/${r#*:}" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID"
	wait_for "$tmp/$dn.out" "$OPEN" 5 || fail "$dn not open"
	if [ -n "$prev" ]; then
		grep -q "session=$SID msg=\"session restored\" generation=$prev\$" "$tmp/$dn.out" ||
		    fail "$dn did not restore generation $prev: $(grep 'restored' "$tmp/$dn.out")"
	fi
	hasnt "$tmp/$dn.out" 'pairing|registration|not paired' || fail "$dn spoke of pairing"
	sleep 0.2
	stop "$dn"
	[ "$rc" -eq 0 ] || fail "$dn exit $rc"
	prev=$(sed -n "s/.*session=$SID msg=\"final save done\" generation=\([0-9]*\).*/\1/p" "$tmp/$dn.out")
	[ -n "$prev" ] || fail "$dn: no final save"
	echo "FIGURE $dn: $(grep -o "event=restored from=[a-z]* generation=[0-9]*" "$tmp/$dn.out"), final save generation $prev"
	replay_ok "$dn" || fail "$dn trace"
done
grep -q "session=$SID event=restored from=file generation=2 pg_generation=2 reason=\"copies agree\"" "$tmp/p2.out" ||
    fail "p2 did not restore agreeing copies"
grep -q "session=$SID event=restored from=pg generation=3 file=missing reason=\"no file copy\" repaired=file" "$tmp/p3.out" ||
    fail "p3 did not restore from the database"

# the server: three ordinary logins, no failure, one at a time
lg=$(dev_num "$DEV" logins)
fl=$(dev_num "$DEV" failures)
mx=$(dev_num "$DEV" max_simultaneous)
echo "FIGURE server: logins=$lg failures=$fl max_simultaneous=$mx login_failures=$(srv_num login_failures)"
[ "$lg" = 3 ] && [ "$fl" = 0 ] && [ "$mx" = 1 ] && [ "$(srv_num login_failures)" = 0 ] ||
    fail "server saw logins=$lg failures=$fl max=$mx"

# the store: the new dyno's file copy and the database hold its final save
js=$(store_json "$tmp/new.data" "$SID")
[ "$(copy_gen "$js" file)" = "$prev" ] && [ "$(copy_gen "$js" pg)" = "$prev" ] ||
    fail "copies after p3: $js"
echo "PASS restart"
