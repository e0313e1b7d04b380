#!/bin/sh
# tests/it/stale.sh BIN: the server goes silent (TCP stays up, nothing is
# sent or answered) -> after SKYKEEPER_IDLE_DEADLINE without an inbound
# frame the connection is stale and gets an explicit ping; after
# SKYKEEPER_PING_DEADLINE without an answer it is dropped and the session
# reconnects with backoff to the server, which talks again by then.
# Deadlines from the trace's own clock; the wall clock bounds the whole.
# Server: it received the stale ping and answered nothing; the old
# connection is gone, the device logged in a second time, never two at once.
# Store: the lease is kept through the reconnect (same grant).
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db
IDLE=1.5
PING=1

start_server
SID=stale$$
device s "$SID"
daemon s "$tmp/s.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID" \
    SKYKEEPER_KEEPALIVE=0.5 SKYKEEPER_KEEPALIVE_JITTER=0.1 \
    SKYKEEPER_IDLE_DEADLINE=$IDLE SKYKEEPER_PING_DEADLINE=$PING \
    SKYKEEPER_CONNECT_TIMEOUT=2 SKYKEEPER_BACKOFF_INITIAL=0.3 \
    SKYKEEPER_BACKOFF_MAX=0.5 LOG_LEVEL=debug
wait_for "$tmp/s.out" "$OPEN" 5 || fail "not open"
# keepalives answered: pongs keep it open
wait_for "$tmp/s.out" "id=$SID state=open event=pong " 3 2 || fail "no pongs"
row0=$(lease_row "$SID")

ts=$(now)
control /policy "{\"device\":\"$DEV\",\"silent\":true}" >/dev/null || fail "policy"
wait_for "$tmp/s.out" "id=$SID state=open event=timeout guard=- next=stale kind=trans actions=send_ping" 4 ||
    fail "never stale"
# The stale ping went out with that step; once the silent server has it
# (and dropped the answer), talking again lets the reconnect in at once,
# while the stale connection still waits for its pong in vain.
pid=""
i=0
while [ -z "$pid" ] && [ $i -lt 100 ]; do
	pid=$(sed -n "s/.*session=$SID msg=\"ping sent\" why=stale id=\([^ ]*\).*/\1/p" "$tmp/s.out")
	[ -n "$pid" ] || sleep 0.01
	i=$((i + 1))
done
[ -n "$pid" ] || fail "no stale ping logged"
wait_for "$tmp/stanzas.jsonl" "\"dir\":\"in\".*\"id\":\"$pid\"" 2 || fail "server never got the stale ping"
sleep 0.05
control /clear '{}' >/dev/null || fail "clear"
wait_for "$tmp/s.out" "id=$SID state=stale event=timeout guard=- next=backoff kind=trans actions=note_failure,close_transport" 3 ||
    fail "stale connection not dropped"
drop_ms=$(elapsed_ms "$ts" "$(now)")
td=$(now)
wait_for "$tmp/s.out" "$OPEN" 3 2 || fail "not reconnected"
echo "FIGURE dropped to open again: $(elapsed_ms "$td" "$(now)") ms (backoff cap 300 ms)"
echo "FIGURE silent to dropped: $drop_ms ms (limit (idle $IDLE + ping $PING) s + 500 ms)"
[ "$drop_ms" -le "$(echo "$IDLE $PING" | awk '{ printf "%d", ($1 + $2) * 1000 + 500 }')" ] ||
    fail "dropped too late"

# the deadlines, on the trace's clock: stale exactly IDLE after the last
# inbound frame; dropped exactly PING after the ping (timers fire a little
# late on a real loop, never early)
t_stale=$(trace_t "$tmp/s.out" "next=stale")
t_drop=$(trace_t "$tmp/s.out" "state=stale event=timeout")
t_last=$(grep -E ' fsm=lifecycle .*state=open event=(frame|pong) ' "$tmp/s.out" |
    sed -n 's/.* t=\([0-9.]*\) .*/\1/p' |
    awk -v s="$t_stale" '$1 <= s { t = $1 } END { print t }')
echo "FIGURE last inbound t=$t_last, stale t=$t_stale, dropped t=$t_drop"
echo "$t_last $t_stale $t_drop $IDLE $PING" | awk '{
    idle = $2 - $1; ping = $3 - $2
    printf "FIGURE idle measured %.3f s (deadline %s), ping wait %.3f s (deadline %s)\n", idle, $4, ping, $5
    exit !(idle >= $4 - 0.002 && idle <= $4 + 0.3 && ping >= $5 - 0.002 && ping <= $5 + 0.3) }' ||
    fail "deadlines not kept"

# the server: the stale ping came in after the silence and got no answer
pings=$(stanzas "$DEV" | awk -v t="$ts" -F'"t":' '{ split($2, a, ","); if (a[1] + 0 >= t + 0) print }' |
    grep '"dir":"in"' | grep -c '"xmlns":"w:p"')
echo "FIGURE pings the server received while silent: $pings"
[ "$pings" -ge 1 ] || fail "server saw no ping while silent"
lg=$(dev_num "$DEV" logins)
mx=$(dev_num "$DEV" max_simultaneous)
cur=$(dev_num "$DEV" current)
echo "FIGURE server: logins=$lg max_simultaneous=$mx current=$cur"
[ "$lg" = 2 ] && [ "$mx" = 1 ] && [ "$cur" = 1 ] || fail "server saw logins=$lg max=$mx current=$cur"

# the store: the same lease grant
row1=$(lease_row "$SID")
[ "$row0" = "$row1" ] || fail "lease row changed: $row0 -> $row1"

stop s
[ "$rc" -eq 0 ] || fail "exit $rc"
replay_ok s || fail "trace"
echo "PASS stale"
