#!/bin/sh
# tools/bench/daemon_figures.sh BIN: the daemon's figures (issue 5), on
# loopback against BIN/wa-testserver, in well under two minutes:
#   rss_kib        VmRSS of `skykeeper run` with 1 and with 100 idle open
#                  sessions (file store); targets 8 MiB and 16 MiB
#   exec_to_open   fork+exec of `skykeeper run` to its `open` transition
#                  line on stdout, file store, median of 7 runs, timed by
#                  perl's Time::HiRes (the shell's polling fallback adds
#                  tens of ms of fork cost); target 100 ms.  connect_ms is
#                  the trace clock's t= at that line (session start -> open:
#                  restore, WebSocket, Noise, login)
#   cpu            utime+stime of the 100-session process over an idle
#                  window of 30 s (default keepalive 25 s, so every session
#                  pings at least once), divided by 100 sessions and scaled
#                  by 3600/30: CPU seconds per idle session per hour
#   drain_ms       100 open sessions with PostgreSQL (tools/pgtmp): SIGTERM
#                  to exit, every final save landed in the database
#   rss_map        where the RSS of the rss_kib line above it is, from
#                  /proc/PID/smaps, KiB: heap_kib ([heap]), anon_other_kib
#                  (anonymous mmaps, stack), lib_anon_kib (anonymous pages
#                  inside the binary's and libraries' mappings: relocated
#                  data, bss), file_kib (file-backed pages: the code and
#                  read-only data touched, mapped in 64 KiB fault-around
#                  blocks), top (the six largest mappings, all pages)
# Each line: `bench: daemon NAME key=value ... [target=... ok|OVER]`.
# Exit 0 even over target (figures, not a test); 1 when a run failed.
set -u
BIN=${1:-bin}
SK=$BIN/skykeeper
TS=$BIN/wa-testserver
SEED=$BIN/daemon-seed
[ -x "$SEED" ] || SEED=$BIN/tests/daemon-seed
root=$(cd "$(dirname "$0")/../.." && pwd)
N=${BENCH_SESSIONS:-100}
IDLE=${BENCH_IDLE_S:-30}
for b in "$SK" "$TS" "$SEED"; do
	[ -x "$b" ] || { echo "bench: daemon error=\"$b is not built\""; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sk-bench.XXXXXX")
srv=""
pgdir=""
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	[ -n "$pgdir" ] && "$root/tools/pgtmp" stop "$pgdir" >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
die() { echo "bench: daemon error=\"$*\""; exit 1; }
now() { date +%s.%N; }
OPEN='event=logged_in .*next=open'

# wait_n FILE ERE COUNT SECONDS
wait_n() {
	end=$(($(date +%s) + $4))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(grep -cE -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.002
	done
	return 1
}

"$TS" --registry "$tmp/reg" >"$tmp/server.out" 2>"$tmp/server.err" &
srv=$!
i=0
while [ $i -lt 100 ] && ! grep -q '^root_key=' "$tmp/server.out"; do
	sleep 0.1
	i=$((i + 1))
done
ROOT=$(sed -n 's/^root_key=\([0-9a-fA-F]\{64\}\).*/\1/p' "$tmp/server.out")
PORT=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$tmp/server.out")
[ -n "$ROOT" ] && [ -n "$PORT" ] || die "wa-testserver did not start"

# N devices, seeded as sessions s1..sN into one data dir (the file store);
# the first also alone into another.
ids=""
i=1
while [ $i -le "$N" ]; do
	"$TS" --registry "$tmp/reg" --make-device "$tmp/dev$i" >/dev/null 2>&1 ||
	    die "make-device $i"
	"$SEED" put "$tmp/many.data" "s$i" "$tmp/dev$i" >/dev/null || die "seed $i"
	ids="$ids${ids:+,}s$i"
	i=$((i + 1))
done
"$SEED" put "$tmp/one.data" s1 "$tmp/dev1" >/dev/null || die "seed one"

# run NAME DATADIR [VAR=VALUE...]: the daemon in the background; $dpid
run() {
	name=$1
	dd=$2
	shift 2
	env SKYKEEPER_DATA_DIR="$dd" SKYKEEPER_WA_URL="ws://127.0.0.1:$PORT/ws/chat" \
	    SKYKEEPER_WA_ROOT_KEY="$ROOT" "$@" "$SK" run >"$tmp/$name.out" 2>"$tmp/$name.err" &
	dpid=$!
	pids="$pids $dpid"
}
stop() {
	kill -TERM "$dpid" 2>/dev/null
	wait "$dpid"
}
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
rssanon() { sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
verdict() { [ "$1" -le "$2" ] && echo ok || echo OVER; }
# rssmap PID: one line of key=value, KiB (see rss_map above)
rssmap() {
	awk '
	/^[0-9a-f]+-[0-9a-f]+ / {
		name = NF >= 6 ? $6 : "[anon]"
		sub(/.*\//, "", name)
		next
	}
	$1 == "Rss:" { rss[name] += $2; next }
	$1 == "Anonymous:" { anon[name] += $2; next }
	END {
		for (n in rss) {
			if (n == "[heap]") heap += rss[n]
			else if (n == "[anon]" || n ~ /^\[/) other += rss[n]
			else file += rss[n] - anon[n]
			if (n !~ /^\[/) libanon += anon[n]
		}
		printf "heap_kib=%d anon_other_kib=%d lib_anon_kib=%d file_kib=%d top=", heap, other, libanon, file
		for (k = 0; k < 6; k++) {
			best = ""; bv = -1
			for (n in rss) if (!(n in done) && rss[n] > bv) { best = n; bv = rss[n] }
			if (best == "") break
			done[best] = 1
			printf "%s%s:%d", k ? "," : "", best, bv
		}
		printf "\n"
	}' "/proc/$1/smaps"
}

# --- exec to open, 1 session, file store -------------------------------------
# Timed by perl (Time::HiRes): clock read, fork, exec of skykeeper itself,
# its stdout read line by line until the `open` transition; no shell
# polling in the measurement.  Falls back to polling from the shell.
exec_to_open() {
	SKYKEEPER_DATA_DIR="$tmp/one.data" SKYKEEPER_WA_URL="ws://127.0.0.1:$PORT/ws/chat" \
	SKYKEEPER_WA_ROOT_KEY="$ROOT" SKYKEEPER_SESSIONS=s1 \
	    timeout 10 perl -MTime::HiRes=time -e '
		my ($sk, $out) = @ARGV;
		open(my $log, ">", $out) or die;
		pipe(my $r, my $w) or die;
		my $t0 = time;
		my $pid = fork();
		die unless defined $pid;
		if ($pid == 0) {
			close $r;
			open(STDOUT, ">&", $w) or die;
			exec($sk, "run") or exit 127;
		}
		close $w;
		while (my $l = <$r>) {
			print $log $l;
			if ($l =~ /event=logged_in .*next=open/) {
				printf "%.1f\n", (time - $t0) * 1000;
				last;
			}
		}
		kill "TERM", $pid;
		while (my $l = <$r>) { print $log $l; }
		waitpid($pid, 0);
		exit($? >> 8);' "$SK" "$1"
}
: >"$tmp/wall"
: >"$tmp/trace"
how=perl
perl -MTime::HiRes -e 1 2>/dev/null || how=shell
for k in 1 2 3 4 5 6 7; do
	if [ "$how" = perl ]; then
		ms=$(exec_to_open "$tmp/open$k.out") || die "run $k: exit $?"
		[ -n "$ms" ] || die "run $k: not open"
		echo "$ms" >>"$tmp/wall"
	else
		t0=$(now)
		run open$k "$tmp/one.data" SKYKEEPER_SESSIONS=s1
		wait_n "$tmp/open$k.out" "$OPEN" 1 5 || die "run $k: not open"
		t1=$(now)
		echo "$t0 $t1" | awk '{ printf "%.1f\n", ($2 - $1) * 1000 }' >>"$tmp/wall"
		stop
	fi
	sed -n 's/.*t=\([0-9.]*\) fsm=lifecycle .*event=logged_in .*next=open.*/\1/p' \
	    "$tmp/open$k.out" | head -n 1 | awk '{ printf "%.1f\n", $1 * 1000 }' >>"$tmp/trace"
done
# RSS of one idle open session
run one "$tmp/one.data" SKYKEEPER_SESSIONS=s1
wait_n "$tmp/one.out" "$OPEN" 1 5 || die "1 session not open"
sleep 1
r1=$(rss "$dpid")
h1=$(hwm "$dpid")
ra1=$(rssanon "$dpid")
m1=$(rssmap "$dpid")
stop
med() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mw=$(med "$tmp/wall")
mt=$(med "$tmp/trace")
echo "bench: daemon exec_to_open store=file runs=7 timer=$how median_ms=$mw median_connect_ms=$mt all_ms=$(tr '\n' ',' <"$tmp/wall" | sed 's/,$//') target_ms=100 $(verdict "${mw%.*}" 100)"
echo "bench: daemon rss_kib sessions=1 rss_kib=$r1 anon_kib=$ra1 hwm_kib=$h1 target_kib=8192 $(verdict "$r1" 8192)"
echo "bench: daemon rss_map sessions=1 $m1"

# --- N idle sessions: RSS, then CPU over an idle window ----------------------
run many "$tmp/many.data" SKYKEEPER_SESSIONS="$ids"
wait_n "$tmp/many.out" "$OPEN" "$N" 20 || die "$N sessions not open ($(grep -cE "$OPEN" "$tmp/many.out"))"
sleep 1
rN=$(rss "$dpid")
hN=$(hwm "$dpid")
raN=$(rssanon "$dpid")
echo "bench: daemon rss_kib sessions=$N rss_kib=$rN anon_kib=$raN hwm_kib=$hN target_kib=16384 $(verdict "$rN" 16384)"
echo "bench: daemon rss_map sessions=$N $(rssmap "$dpid")"
hz=$(getconf CLK_TCK)
# fields 14, 15 of /proc/PID/stat (after the ")" of the command name)
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
c0=$(ticks "$dpid")
w0=$(now)
sleep "$IDLE"
c1=$(ticks "$dpid")
w1=$(now)
rN2=$(rss "$dpid")
pings=$(grep -c 'msg="ping sent"' "$tmp/many.out")
echo "$c0 $c1 $w0 $w1 $hz $N" | awk '{ cpu = ($2 - $1) / $5; win = $4 - $3
    printf "bench: daemon cpu sessions=%d window_s=%.1f cpu_s=%.3f cpu_s_per_session_hour=%.4f (cpu_s / sessions * 3600 / window_s; tick %.3f s)\n",
    $6, win, cpu, cpu / $6 * 3600 / win, 1 / $5 }'
echo "bench: daemon rss_kib sessions=$N after_idle_s=$IDLE rss_kib=$rN2"
stop
hasnt_bad=$(grep -cE 'event=(transport_down|lease_lost)' "$tmp/many.out")
[ "$hasnt_bad" -eq 0 ] || echo "bench: daemon warning=\"$hasnt_bad transport_down/lease_lost during the idle window\""

# --- drain of N sessions with PostgreSQL ------------------------------------
# its own directory: the server user must reach it (mktemp -d is 0700)
pgdir=$(mktemp -d /tmp/sk-bench-pg.XXXXXX) || die "mktemp"
DB=$("$root/tools/pgtmp" start "$pgdir" 2>"$tmp/pg.err") || die "no PostgreSQL: $(tail -n 1 "$tmp/pg.err")"
run drain "$tmp/many.data" SKYKEEPER_SESSIONS="$ids" DATABASE_URL="$DB"
wait_n "$tmp/drain.out" "$OPEN" "$N" 30 || die "$N sessions not open with PostgreSQL"
sleep 1
t0=$(now)
stop
rc=$?
t1=$(now)
saves=$(grep -c 'msg="final save done"' "$tmp/drain.out")
missed=$(grep -c 'final save: database copy not saved' "$tmp/drain.out")
dm=$(sed -n 's/.*measure#skykeeper.drain_ms=\([0-9]*\).*/\1/p' "$tmp/drain.out")
# every final generation is in the database
inpg=$(env SKYKEEPER_DATA_DIR="$tmp/many.data" DATABASE_URL="$DB" timeout 20 "$SK" status --json 2>/dev/null |
    tr -d ' \n' | grep -o '"agree":true' | wc -l)
echo "$t0 $t1" | awk -v n="$N" -v rc="$rc" -v s="$saves" -v m="$missed" -v d="$dm" -v a="$inpg" '{
    printf "bench: daemon drain_ms sessions=%d store=postgres+file sigterm_to_exit_ms=%.0f measure_drain_ms=%s exit=%s final_saves=%s db_missed=%s copies_agree=%s budget_ms=20000\n",
    n, ($2 - $1) * 1000, d, rc, s, m, a }'
[ "$rc" -eq 0 ] && [ "$saves" -eq "$N" ] && [ "$missed" -eq 0 ] && [ "$inpg" -eq "$N" ] ||
    die "drain with PostgreSQL incomplete"
