#!/bin/sh
# tests/it/reload.sh BIN: after 5 failures in a row the session is reloaded
# from the store instead of retrying what is in memory, and the reload
# takes the newest valid copy, here the other one.  The daemon runs device
# A (both copies at generation 1); meanwhile the database copy is replaced
# with a newer generation holding device B (what a re-import elsewhere
# leaves), and the server starts refusing A's logins (<failure
# reason="500"/>).  Failures 1 (the dropped connection) to 5 (refused
# logins) retry from memory; the 6th attempt reloads, restores generation
# 2 from the database (the file copy is older, and is repaired), and logs
# in as B.
# Server: A logged in once and was refused 4 times; B logs in once.
# Store: both copies at generation 2 with B's account after the reload; the
# final save puts generation 3 in both.
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db

start_server
SID=rel$$
device a "$SID"
A=$DEV
device b "$SID"
B=$DEV
BPHONE=${B%%:*}
daemon a "$tmp/a.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID" \
    SKYKEEPER_BACKOFF_INITIAL=0.1 SKYKEEPER_BACKOFF_MAX=0.3
wait_for "$tmp/a.out" "$OPEN" 5 || fail "not open"
js=$(store_json "$tmp/a.data" "$SID")
[ "$(copy_gen "$js" file)" = 1 ] && [ "$(copy_gen "$js" pg)" = 1 ] || fail "copies at start: $js"

# B's snapshot of the session at generation 2 (import --force bumps the
# seeded generation 1), written into the database row as a save would
env -u DATABASE_URL SKYKEEPER_DATA_DIR="$tmp/b.data" timeout 20 "$SK" import \
    --baileys "$tmp/b.dev" --session "$SID" --force >"$tmp/import.out" 2>&1 ||
    { cat "$tmp/import.out"; fail "import"; }
grep -q "generation=2" "$tmp/import.out" || fail "import: $(cat "$tmp/import.out")"
hex=$(od -An -v -tx1 "$tmp/b.data/sessions/$SID.snap" | tr -d ' \n')
pg "UPDATE skykeeper_sessions SET generation = 2, blob = decode('$hex', 'hex'), updated_at = now() WHERE id = '$SID'" ||
    fail "psql update"

# A is refused from now on; its connection drops
control /policy "{\"device\":\"$A\",\"fail_login\":500}" >/dev/null || fail "policy"
control /inject "{\"kind\":\"503\",\"device\":\"$A\"}" | grep -q '"affected":1' || fail "inject"
wait_for "$tmp/a.out" "session=$SID msg=\"5 failures in a row: reloading the session from the store\"" 8 ||
    fail "no reload after 5 failures"
wait_for "$tmp/a.out" "$OPEN" 5 2 || fail "not open after the reload"
[ "$(count "$tmp/a.out" "session=$SID msg=\"login refused\" reason=500")" = 4 ] ||
    fail "want 4 refused logins before the reload"
[ "$(count "$tmp/a.out" 'failures in a row: reloading')" = 1 ] || fail "more than one reload"
grep -q "session=$SID event=restored from=pg generation=2 file_generation=1 reason=\"file older\" repaired=file" "$tmp/a.out" ||
    fail "the reload did not take the database copy: $(grep 'event=restored' "$tmp/a.out" | tail -n 1)"
grep -q "session=$SID msg=\"session restored\" generation=2" "$tmp/a.out" || fail "not generation 2"
echo "FIGURE $(grep -o 'event=restored from=pg .*repaired=file' "$tmp/a.out")"

# the server: A once and refused 4 times; B once, connected now
echo "FIGURE server: A logins=$(dev_num "$A" logins) failures=$(dev_num "$A" failures); B logins=$(dev_num "$B" logins) current=$(dev_num "$B" current)"
[ "$(dev_num "$A" logins)" = 1 ] && [ "$(dev_num "$A" failures)" = 4 ] || fail "server: A"
[ "$(dev_num "$B" logins)" = 1 ] && [ "$(dev_num "$B" current)" = 1 ] || fail "server: B"

# the store: the file copy repaired with B's generation 2
js=$(store_json "$tmp/a.data" "$SID")
echo "FIGURE store after the reload: file $(copy_gen "$js" file), pg $(copy_gen "$js" pg), account $(json_word "$js" account)"
[ "$(copy_gen "$js" file)" = 2 ] && [ "$(copy_gen "$js" pg)" = 2 ] &&
    [ "$(json_word "$js" account)" = "$BPHONE" ] || fail "copies after the reload: $js"

stop a
[ "$rc" -eq 0 ] || fail "exit $rc"
js=$(store_json "$tmp/a.data" "$SID")
[ "$(copy_gen "$js" file)" = 3 ] && [ "$(copy_gen "$js" pg)" = 3 ] &&
    [ "$(json_word "$js" account)" = "$BPHONE" ] || fail "copies after the final save: $js"
replay_ok a || fail "trace"
echo "PASS reload"
