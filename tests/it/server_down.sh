#!/bin/sh
# tests/it/server_down.sh BIN: the server process is stopped for 20 s
# (connections refused: nobody listens) and started again on the same
# ports with the same root key.  Meanwhile the session retries with capped
# exponential backoff and full jitter: attempt n waits a uniform random
# time in [0, min(MAX, INITIAL * 2^(n-1))].  Read from the daemon's log and
# trace: attempts count 1, 2, 3, ... without a gap; each delay is within
# its cap; the caps double up to MAX (delays above the early caps appear
# later); the delays are jittered (not all equal); the trace armed exactly
# the delays the log names.  When the server is back the session is open
# within one backoff step (the pending delay, at most MAX) + 1 s.
# Server: after its return exactly one login of the device.
# Store: the lease was held all along (same grant, renewed meanwhile).
# it: parallel
# (run.sh runs it beside the others: it mostly sleeps)
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
need_db
DOWN=20
INITIAL=0.25
MAX=4

# the same root key after the restart, and ports nothing else gets meanwhile
SERVER_ARGS="--root-key $tmp/root.key"
start_server_quiet
SID=down$$
device d "$SID"
daemon d "$tmp/d.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS="$SID" \
    SKYKEEPER_BACKOFF_INITIAL=$INITIAL SKYKEEPER_BACKOFF_MAX=$MAX \
    SKYKEEPER_LEASE_TTL=6
wait_for "$tmp/d.out" "$OPEN" 5 || fail "not open"
row0=$(lease_row "$SID")

td=$(now)
stop_server
echo "server stopped"
wait_for "$tmp/d.out" "id=$SID state=open event=transport_down .*next=backoff" 3 ||
    fail "the loss was not noticed"
# really down for DOWN seconds (no loop: one sleep)
sleep $((DOWN - 1))
sleep 1
n_down=$(count "$tmp/d.out" 'msg="reconnecting later"')
tu=$(now)
restart_server
echo "server up again after $(elapsed_ms "$td" "$tu") ms"
wait_for "$tmp/d.out" "$OPEN" $((MAX + 3)) 2 || fail "not open after the server's return"
up_ms=$(elapsed_ms "$tu" "$(now)")

# the delays, as logged, up to the successful reconnect
delays "$tmp/d.out" >"$tmp/delays"
trace_timers "$tmp/d.out" >"$tmp/timers"
echo "FIGURE $(wc -l <"$tmp/delays") backoff delays (attempt delay floor):" $(awk '{ printf "%s:%s ", $1, $2 }' "$tmp/delays")
awk -v ini=$INITIAL -v max=$MAX '
    { cap = ini * 2 ^ ($1 - 1); if (cap > max) cap = max
      if ($1 != NR) { print "attempt " $1 " at line " NR; bad = 1 }
      if ($2 < 0 || $2 > cap + 0.0005) { print "attempt " $1 ": delay " $2 " above its cap " cap; bad = 1 }
      if ($3 != 0) { print "attempt " $1 ": a floor " $3; bad = 1 }
      if (cap >= max) { atmax++; summax += $2; seenmax[$2] = 1 }
      if ($2 > cap - 0.0005) atcap++   # full jitter: almost never the cap itself
      if ($2 > ini * 4) grown++       # above the cap of attempt 3
      seen[$2] = 1; n++ }
    END { for (d in seen) distinct++
      for (d in seenmax) distinctmax++
      printf "FIGURE %d attempts, %d at the cap %s (mean delay %.2f s), %d above %.2f s, %d distinct delays\n",
          n, atmax, max, atmax ? summax / atmax : 0, grown, ini * 4, distinct
      if (n < 8) { print "too few attempts in 20 s: " n; bad = 1 }
      if (atmax < 3) { print "the cap never reached its maximum"; bad = 1 }
      if (grown < 1) { print "no delay above the early caps: no growth"; bad = 1 }
      if (distinct < n / 2 || distinctmax < 2 || atcap > n / 4) {
          print "delays not jittered: " distinct " distinct, " distinctmax " distinct at the cap, " atcap " equal to their cap"; bad = 1 }
      exit bad }' "$tmp/delays" || fail "backoff delays"
# the trace armed the very delays the log names
awk '{ print $2 }' "$tmp/delays" | diff - "$tmp/timers" >/dev/null ||
    { paste "$tmp/delays" "$tmp/timers"; fail "trace timers differ from the logged delays"; }
[ "$(count "$tmp/d.out" 'count#skykeeper.reconnects=1')" = "$(wc -l <"$tmp/delays")" ] ||
    fail "one reconnect metric per failure"
# the attempts kept going during the outage (not given up)
[ "$n_down" -ge 8 ] || fail "only $n_down attempts during the outage"

# back within one backoff step: the delay pending when the server returned
last=$(tail -n 1 "$tmp/delays" | awk '{ print $2 }')
echo "FIGURE server up to open: $up_ms ms (the pending delay was at most $last s; limit it + 1 s)"
[ "$up_ms" -le "$(echo "$last" | awk '{ printf "%d", $1 * 1000 + 1000 }')" ] ||
    fail "open $up_ms ms after the server's return"

# the server (counters restarted with it): one login, one connection
lg=$(dev_num "$DEV" logins)
cur=$(dev_num "$DEV" current)
echo "FIGURE server after its return: logins=$lg current=$cur"
[ "$lg" = 1 ] && [ "$cur" = 1 ] || fail "server saw logins=$lg current=$cur"

# the store: the same lease grant, renewed through the outage
row1=$(lease_row "$SID")
echo "FIGURE lease row before: $row0, after: $row1"
[ "${row0%|*}" = "${row1%|*}" ] || fail "lease changed hands: $row0 -> $row1"
# a 6 s lease still valid 20 s later: renewed (renewals are not logged)
[ "$(pg "SELECT lease_expires > now() FROM skykeeper_sessions WHERE id = '$SID'")" = t ] ||
    fail "the lease was not renewed through the outage"
hasnt "$tmp/d.out" "event=lease_lost|event=lease_busy" || fail "lease trouble"

stop d
[ "$rc" -eq 0 ] || fail "exit $rc"
replay_ok d || fail "trace"
echo "PASS server_down"
