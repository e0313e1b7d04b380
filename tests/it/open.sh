#!/bin/sh
# tests/it/open.sh BIN: a session with stored credentials is open within
# 1 s of the exec (2 s for a sanitizer build; PostgreSQL store, strict certificate check against the
# test server's root key, which the daemon warns about).
# Server: one login of the device, one connection, presence available.
# Store: the lease row names this process, and the first restore repaired
# the missing database copy, so both copies hold generation 1.
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db

start_server
SID=open$$
device o "$SID"

t0=$(now)
daemon o "$tmp/o.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID"
wait_for "$tmp/o.out" "$OPEN" 3 || fail "not open"
ms=$(elapsed_ms "$t0" "$(now)")
cms=$(sed -n 's/.*measure#skykeeper.connect_ms=\([0-9]*\).*/\1/p' "$tmp/o.out")
echo "FIGURE exec to open: $ms ms (limit $(limit_ms 1000)); lease, restore and login: $cms ms (limit 1000)"
[ "$ms" -le "$(limit_ms 1000)" ] || fail "open after $ms ms"
[ -n "$cms" ] && [ "$cms" -le 1000 ] || fail "connect took $cms ms"
grep -q 'at=warn msg="SKYKEEPER_WA_ROOT_KEY overrides' "$tmp/o.out" ||
    fail "no root-key override warning"
hasnt "$tmp/o.out" "next=backoff" || fail "a failure on the way"

# the server: exactly one login, one connection, presence available
wait_for "$tmp/stanzas.jsonl" "\"dev\":\"$DEV\".*\"presence\".*\"type\":\"available\"" 2 ||
    fail "server saw no presence available"
[ "$(dev_num "$DEV" logins)" = 1 ] || fail "server logins $(dev_num "$DEV" logins), want 1"
[ "$(dev_num "$DEV" current)" = 1 ] || fail "server connections $(dev_num "$DEV" current), want 1"
[ "$(srv_num login_failures)" = 0 ] || fail "server saw login failures"

# the store: our lease, both copies at generation 1
owner=$(owner_of o)
row=$(lease_row "$SID")
echo "FIGURE lease row: $row; this process: $owner"
[ "${row%%|*}" = "$owner" ] || fail "lease row owner '${row%%|*}', want '$owner'"
js=$(store_json "$tmp/o.data" "$SID")
[ "$(copy_gen "$js" file)" = 1 ] && [ "$(copy_gen "$js" pg)" = 1 ] ||
    fail "copies: $js"

stop o
[ "$rc" -eq 0 ] || fail "exit $rc"
replay_ok o || fail "trace"
echo "PASS open"
