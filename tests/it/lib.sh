# tests/it/lib.sh: helpers for the integration tests (sourced; also by
# tests/daemon/run.sh).  Loopback only; every daemon runs under timeout(1);
# every wait is bounded; the caller's EXIT trap calls it_cleanup.  Needs BIN
# (skykeeper, wa-testserver, tests/daemon-seed) and, for the database
# helpers, SKYKEEPER_TEST_DATABASE_URL / SKYKEEPER_TEST_PGTMP(_DIR) from
# tests/pg/run.sh.
#
# The helpers keep their own variables in names starting with '_' (and the
# older ones in n, c, end, i, name, dd, tp, dp): tests should not use those.
set -u
SK=$BIN/skykeeper
TS=$BIN/wa-testserver
SEED=$BIN/daemon-seed
[ -x "$SEED" ] || SEED=$BIN/tests/daemon-seed
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sk-it.XXXXXX")
srv=""
pids=""
DB=${SKYKEEPER_TEST_DATABASE_URL:-}
# SAN=1 for a sanitizer build: its processes start several times slower,
# so the few wall-clock limits that include a process start are doubled
# there (the daemon's own figures keep the plain limits).
SAN=0
ldd "$SK" 2>/dev/null | grep -q libasan && SAN=1
# limit_ms MS: MS, doubled for a sanitizer build.
limit_ms() { echo $(($1 * (SAN + 1))); }

it_cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	if [ -n "$srv" ]; then
		kill "$srv" 2>/dev/null
		wait "$srv" 2>/dev/null
	fi
	[ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}

fail() { echo "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
elapsed_ms() { echo "$1 $2" | awk '{ printf "%.0f", ($2 - $1) * 1000 }'; }

# need_db: this test needs the throwaway cluster (DB is its URL).
need_db() {
	[ -n "$DB" ] || fail "no SKYKEEPER_TEST_DATABASE_URL (run under tests/pg/run.sh)"
}

# wait_for FILE ERE SECONDS [COUNT]: FILE has COUNT (default 1) lines
# matching ERE within SECONDS (whole seconds, rounded up).
wait_for() {
	n=${4:-1}
	end=$(($(date +%s) + $3))
	while [ "$(date +%s)" -le "$end" ]; do
		c=$(grep -cE -- "$2" "$1" 2>/dev/null)
		[ "${c:-0}" -ge "$n" ] && return 0
		sleep 0.02
	done
	echo "no $n line(s) matching '$2' in $1 within $3 s (have ${c:-0})"
	return 1
}

hasnt() {
	grep -qE -- "$2" "$1" || return 0
	echo "unexpected line matching '$2' in $1:"
	grep -E -- "$2" "$1" | head -3
	return 1
}

# count FILE ERE: lines of FILE matching ERE (0 when none).
count() {
	_c=$(grep -cE -- "$2" "$1" 2>/dev/null)
	echo "${_c:-0}"
}

control() { curl -sf --max-time 5 -d "$2" "http://127.0.0.1:$CPORT$1"; }
status_of() { curl -sf --max-time 5 "http://127.0.0.1:$CPORT/status?device=$1"; }

# json_num JSON KEY: the first numeric value of "KEY" in JSON.
json_num() {
	printf '%s' "$1" | tr -d ' \n' |
	    sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p" | head -n 1
}

# dev_num DEVICE KEY: KEY of DEVICE's own entry in the server's status
# ("logins", "current", "max_simultaneous", "replaced", "failures"), not
# the server-wide counter of the same name.
dev_num() {
	_st=$(status_of "$1") || { echo "no server status" >&2; return 1; }
	json_num "$(printf '%s' "$_st" | tr -d ' \n' | sed 's/.*"devices":\[//')" "$2"
}

# srv_num KEY: a server-wide counter.
srv_num() {
	_st=$(curl -sf --max-time 5 "http://127.0.0.1:$CPORT/status?brief=1") ||
	    { echo "no server status" >&2; return 1; }
	json_num "$_st" "$1"
}

# try_server: starts wa-testserver with $SERVER_ARGS; sets ROOT PORT
# CPORT srv, or returns 1 when it did not start.
try_server() {
	: >"$tmp/server.out"
	"$TS" --registry "$tmp/reg" --log "$tmp/stanzas.jsonl" ${SERVER_ARGS:-} \
	    >"$tmp/server.out" 2>>"$tmp/server.err" &
	srv=$!
	i=0
	while [ $i -lt 100 ] && ! grep -q '^root_key=' "$tmp/server.out"; do
		kill -0 "$srv" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	ROOT=$(sed -n 's/^root_key=\([0-9a-fA-F]\{64\}\).*/\1/p' "$tmp/server.out")
	PORT=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$tmp/server.out")
	CPORT=$(sed -n 's/.* control_port=\([0-9]*\).*/\1/p' "$tmp/server.out")
	[ -n "$ROOT" ] && [ -n "$PORT" ] && [ -n "$CPORT" ] && return 0
	stop_server
	return 1
}

# start_server: try_server, or the test fails.
start_server() {
	try_server || { cat "$tmp/server.err"; fail "wa-testserver did not start"; }
}

# quiet_port: a random port below the kernel's ephemeral range, so no
# outgoing connection is ever given it: for a server that must come back
# on the same port after a stop.
quiet_port() {
	_lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${_lo:-0}" -gt 12000 ] || _lo=32768
	_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	echo $((10000 + _r % (_lo - 10002)))
}

# start_server_quiet: start_server on quiet ports (PORT and PORT + 1),
# trying a few, with $SERVER_ARGS too; restart it with restart_server.
start_server_quiet() {
	_base=${SERVER_ARGS:-}
	for _k in 1 2 3 4 5 6 7 8; do
		_q=$(quiet_port)
		SERVER_ARGS="$_base --port $_q --control-port $((_q + 1))"
		try_server && { SERVER_ARGS=$_base; return 0; }
	done
	cat "$tmp/server.err"
	fail "wa-testserver did not start on a quiet port"
}

# restart_server: the server again, on the ports it had.
restart_server() {
	_base=${SERVER_ARGS:-}
	SERVER_ARGS="$_base --port $PORT --control-port $CPORT"
	try_server || { SERVER_ARGS=$_base; cat "$tmp/server.err"; fail "wa-testserver did not restart"; }
	SERVER_ARGS=$_base
}

# stop_server: SIGTERM to the server, wait for it (it exits at once).
stop_server() {
	[ -n "$srv" ] || return 0
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	srv=""
}

# stanzas DEVICE: the server's stanza log lines of DEVICE.
stanzas() { grep -F "\"dev\":\"$1\"" "$tmp/stanzas.jsonl"; }

# device NAME [SID]: a new device (DEV=phone:device; creds in $tmp/NAME.dev),
# seeded into $tmp/NAME.data as session SID (default "main"), generation 1.
device() {
	"$TS" --registry "$tmp/reg" --make-device "$tmp/$1.dev" \
	    >"$tmp/$1.make" 2>&1 || fail "make-device $1"
	DEV=$(sed -n 's/^device=\([0-9:]*\).*/\1/p' "$tmp/$1.make")
	"$SEED" put "$tmp/$1.data" "${2:-main}" "$tmp/$1.dev" >/dev/null ||
	    fail "seed $1"
}

# daemon NAME DATADIR [VAR=VALUE...]: starts `skykeeper run`, output in
# $tmp/NAME.out; sets PID_NAME (the daemon itself) and TPID_NAME.
daemon() {
	name=$1
	dd=$2
	shift 2
	spawn "$name" env SKYKEEPER_DATA_DIR="$dd" \
	    SKYKEEPER_WA_URL="ws://127.0.0.1:$PORT/ws/chat" \
	    SKYKEEPER_WA_ROOT_KEY="$ROOT" "$@" "$SK" run
}

# spawn NAME CMD...: runs CMD (ending in the daemon's exec) under
# timeout(1), output in $tmp/NAME.out/.err; sets PID_NAME (the process
# CMD became) and TPID_NAME.
spawn() {
	name=$1
	shift
	timeout -s KILL 60 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	tp=$!
	pids="$pids $tp"
	i=0
	dp=""
	while [ -z "$dp" ] && [ $i -lt 200 ]; do
		dp=$(pgrep -P "$tp")
		[ -n "$dp" ] || sleep 0.005
		i=$((i + 1))
	done
	pids="$pids $dp"
	eval "PID_$name=\$dp TPID_$name=\$tp"
}

# resolver_shim: (tests/it/ scripts) builds resolv_shim.c into $tmp/shim.so (an
# LD_PRELOAD getaddrinfo answering SK_SHIM_NAME from SK_SHIM_FILE, loopback
# only) and sets SHIM_ASAN, the ASAN_OPTIONS an ASan daemon needs with it.
resolver_shim() {
	cc -shared -fPIC -O2 -o "$tmp/shim.so" "$(dirname "$0")/resolv_shim.c" -ldl ||
	    fail "cannot build the getaddrinfo shim"
	# an ASan daemon wants its runtime first in the library list
	SHIM_ASAN=${ASAN_OPTIONS:-}
	if ldd "$SK" 2>/dev/null | grep -q libasan; then
		SHIM_ASAN="${SHIM_ASAN:+$SHIM_ASAN:}verify_asan_link_order=0"
	fi
}

# stop NAME [SIGNALS]: the signals (default TERM), in order, to daemon
# NAME; waits for it.  Sets rc (its exit status) and stop_ms.
stop() {
	eval "_p=\$PID_$1 _tp=\$TPID_$1"
	_t=$(now)
	for _s in ${2:-TERM}; do
		kill -s "$_s" "$_p" 2>/dev/null
	done
	wait "$_tp"
	rc=$?
	stop_ms=$(elapsed_ms "$_t" "$(now)")
}

# replay_ok NAME: the trace in $tmp/NAME.out replays with 0 mismatches.
replay_ok() {
	"$SK" replay "$tmp/$1.out" >"$tmp/$1.replay" 2>&1 ||
	    { cat "$tmp/$1.replay"; return 1; }
	grep -q '0 mismatches' "$tmp/$1.replay" ||
	    { cat "$tmp/$1.replay"; return 1; }
}

# owner_of NAME: daemon NAME's lease owner name (from its store line).
owner_of() {
	sed -n 's/.*store=mirror event=open .* owner=\([^ ]*\).*/\1/p' "$tmp/$1.out" |
	    head -n 1
}

# --- the store -------------------------------------------------------------

# store_json DATADIR SID [nodb]: session SID's entry of `skykeeper status
# --json`, as one line without blanks: both copies, or (nodb) the file copy
# alone.  With an empty DATADIR it shows the database copy alone.
store_json() {
	if [ "${3:-}" = nodb ]; then
		env -u DATABASE_URL SKYKEEPER_DATA_DIR="$1" timeout 20 "$SK" status --json
	else
		env SKYKEEPER_DATA_DIR="$1" DATABASE_URL="$DB" timeout 20 "$SK" status --json
	fi 2>/dev/null | tr -d ' \n' | sed 's/{"id":"/\
{"id":"/g' | grep -F "{\"id\":\"$2\","
}

# copy_gen JSON file|pg: the generation of that copy ("" when absent).
copy_gen() {
	printf '%s' "$1" | sed -n "s/.*\"$2\":{[^}]*\"generation\":\([0-9]*\).*/\1/p"
}

# json_word JSON KEY: the first value of KEY that is a string or a word
# (true, false, null).
json_word() {
	printf '%s' "$1" |
	    sed -n "s/.*\"$2\":\"\{0,1\}\([A-Za-z0-9_.@\/:-]*\).*/\1/p" | head -n 1
}

# pg SQL: psql's unaligned answer from the test database.
pg() {
	PGCONNECT_TIMEOUT=5 timeout 20 psql -X -q -At -v ON_ERROR_STOP=1 \
	    -d "$DB" -c "$1"
}

# lease_row SID: "OWNER|FENCE|GENERATION" of the session's row.
lease_row() {
	pg "SELECT coalesce(owner, ''), fence, generation FROM skykeeper_sessions WHERE id = '$1'"
}

# --- the trace -------------------------------------------------------------

# delays FILE: "attempt delay_s floor_s" of each backoff the daemon logged.
delays() {
	grep 'msg="reconnecting later"' "$1" | awk '
	    { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	      print f["attempt"], f["delay_s"], f["floor_s"] }'
}

# trace_timers FILE: the delay each entry to backoff armed, from the trace.
trace_timers() {
	grep -E 'fsm=lifecycle .* next=backoff kind=trans' "$1" |
	    sed -n 's/.* timer=\([0-9.]*\).*/\1/p'
}

# trace_t FILE ERE [K]: the trace time (t=) of the K-th (default 1st)
# trace line matching ERE.
trace_t() {
	grep -E -- "$2" "$1" | grep ' fsm=lifecycle ' | sed -n "${3:-1}p" |
	    sed -n 's/.* t=\([0-9.]*\) .*/\1/p'
}

OPEN='event=logged_in .*next=open'
