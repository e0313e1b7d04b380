#!/bin/sh
# tests/it/lease_lost.sh BIN: another process takes the session's lease
# over in PostgreSQL while the session is open (psql does what a second
# skykeeper's grant does: new owner, fence + 1).  At its next renewal
# (every third of SKYKEEPER_LEASE_TTL) the daemon finds the lease lost,
# closes its connection and goes to backoff; it then asks for the lease,
# finds it busy and polls it, without connecting, as long as the other
# holder has it.  When the holder lets it go, the daemon takes it (a new
# grant) and logs in again.
# Server: the daemon's connection is gone within a renewal period; no login
# of the device while the other process holds the lease; one more after.
# Store: the row names the other owner while it holds it, then the daemon
# with a newer fence.
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db
TTL=1.5

start_server
SID=lost$$
device l "$SID"
daemon l "$tmp/l.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID" \
    SKYKEEPER_LEASE_TTL=$TTL SKYKEEPER_BACKOFF_INITIAL=0.2 SKYKEEPER_BACKOFF_MAX=0.5
wait_for "$tmp/l.out" "$OPEN" 5 || fail "not open"
owner=$(owner_of l)
row0=$(lease_row "$SID")
fence0=$(echo "$row0" | cut -d'|' -f2)
[ "${row0%%|*}" = "$owner" ] || fail "lease row $row0, want owner $owner"

# the takeover, as another process's grant writes it
tt=$(now)
pg "UPDATE skykeeper_sessions SET owner = 'intruder@elsewhere/1', fence = fence + 1,
    lease_expires = now() + interval '60 seconds' WHERE id = '$SID'" ||
    fail "psql takeover"
# (the renewal's answer does not say who holds it now: holder="" here;
# the acquire that follows names it)
wait_for "$tmp/l.out" "session=$SID msg=\"lease lost: another process owns this session now\"" 3 ||
    fail "lease loss not noticed"
wait_for "$tmp/l.out" "id=$SID state=open event=lease_lost guard=- next=backoff kind=trans actions=note_failure,close_transport" 2 ||
    fail "no open -> backoff on lease_lost"
lost_ms=$(elapsed_ms "$tt" "$(now)")
echo "FIGURE takeover to lease_lost: $lost_ms ms (renewal every $TTL/3 s; limit that + 1000 ms)"
[ "$lost_ms" -le "$(echo $TTL | awk '{ printf "%d", $1 / 3 * 1000 + 1000 }')" ] || fail "noticed late"
# the daemon's connection is gone at the server
i=0
while [ "$(dev_num "$DEV" current)" != 0 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(dev_num "$DEV" current)" = 0 ] || fail "the daemon's connection is still up"

# while the other holds it: busy, polled, no login
wait_for "$tmp/l.out" "session=$SID msg=\"session lease held by another process: polling it .*holder=\"intruder@elsewhere/1\"" 3 3 ||
    fail "the busy lease was not polled"
hasnt "$tmp/l.out" "lease_busy .*next=connecting" || fail "connected anyway"
lg=$(dev_num "$DEV" logins)
[ "$lg" = 1 ] || fail "server saw $lg logins while the lease was taken"
[ "$(count "$tmp/l.out" "$OPEN")" = 1 ] || fail "the daemon logged in again"
row1=$(lease_row "$SID")
echo "FIGURE lease row while taken: $row1"
[ "${row1%%|*}" = "intruder@elsewhere/1" ] || fail "row $row1"

# the other lets it go: the daemon takes it and logs in
tr=$(now)
pg "UPDATE skykeeper_sessions SET owner = NULL, lease_expires = NULL WHERE id = '$SID'" ||
    fail "psql release"
wait_for "$tmp/l.out" "$OPEN" 4 2 || fail "not open after the release"
echo "FIGURE release to open again: $(elapsed_ms "$tr" "$(now)") ms (lease poll 1 s)"
row2=$(lease_row "$SID")
fence2=$(echo "$row2" | cut -d'|' -f2)
echo "FIGURE lease row: before $row0, after $row2"
[ "${row2%%|*}" = "$owner" ] && [ "$fence2" -gt $((fence0 + 1)) ] || fail "row $row2"
lg=$(dev_num "$DEV" logins)
mx=$(dev_num "$DEV" max_simultaneous)
echo "FIGURE server: logins=$lg max_simultaneous=$mx"
[ "$lg" = 2 ] && [ "$mx" = 1 ] || fail "server saw logins=$lg max=$mx"

stop l
[ "$rc" -eq 0 ] || fail "exit $rc"
hasnt "$tmp/l.out" 'final save: database copy not saved' || fail "final save fenced"
replay_ok l || fail "trace"
echo "PASS lease_lost"
