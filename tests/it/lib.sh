# tests/it/lib.sh: helpers for the integration tests (sourced).  Loopback
# only; every daemon runs under timeout(1); the caller's EXIT trap calls
# it_cleanup.  Needs BIN (skykeeper, wa-testserver, tests/daemon-seed) and
# SKYKEEPER_TEST_DATABASE_URL / SKYKEEPER_TEST_PGTMP(_DIR) from
# tests/pg/run.sh.
set -u
SK=$BIN/skykeeper
TS=$BIN/wa-testserver
SEED=$BIN/daemon-seed
[ -x "$SEED" ] || SEED=$BIN/tests/daemon-seed
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sk-it.XXXXXX")
srv=""
pids=""

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

# wait_for FILE ERE SECONDS [COUNT]
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

control() { curl -sf --max-time 5 -d "$2" "http://127.0.0.1:$CPORT$1"; }
status_of() { curl -sf --max-time 5 "http://127.0.0.1:$CPORT/status?device=$1"; }

# json_num JSON KEY: the first numeric value of "KEY" in JSON.
json_num() {
	printf '%s' "$1" | tr -d ' \n' |
	    sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p" | head -n 1
}

start_server() {
	"$TS" --registry "$tmp/reg" --log "$tmp/stanzas.jsonl" ${SERVER_ARGS:-} \
	    >"$tmp/server.out" 2>"$tmp/server.err" &
	srv=$!
	i=0
	while [ $i -lt 100 ] && ! grep -q '^root_key=' "$tmp/server.out"; do
		sleep 0.1
		i=$((i + 1))
	done
	ROOT=$(sed -n 's/^root_key=\([0-9a-fA-F]\{64\}\).*/\1/p' "$tmp/server.out")
	PORT=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$tmp/server.out")
	CPORT=$(sed -n 's/.* control_port=\([0-9]*\).*/\1/p' "$tmp/server.out")
	[ -n "$ROOT" ] && [ -n "$PORT" ] && [ -n "$CPORT" ] ||
	    fail "wa-testserver did not start"
}

# device NAME: a new device (DEV=phone:device), seeded into
# $tmp/NAME.data as session "main".
device() {
	"$TS" --registry "$tmp/reg" --make-device "$tmp/$1.dev" \
	    >"$tmp/$1.make" 2>&1 || fail "make-device $1"
	DEV=$(sed -n 's/^device=\([0-9:]*\).*/\1/p' "$tmp/$1.make")
	"$SEED" put "$tmp/$1.data" main "$tmp/$1.dev" >/dev/null ||
	    fail "seed $1"
}

# daemon NAME DATADIR [VAR=VALUE...]: starts `skykeeper run`, output in
# $tmp/NAME.out; sets PID_NAME (the daemon itself) and TPID_NAME.
daemon() {
	name=$1
	dd=$2
	shift 2
	env SKYKEEPER_DATA_DIR="$dd" \
	    SKYKEEPER_WA_URL="ws://127.0.0.1:$PORT/ws/chat" \
	    SKYKEEPER_WA_ROOT_KEY="$ROOT" "$@" \
	    timeout -s KILL 60 "$SK" run >"$tmp/$name.out" 2>"$tmp/$name.err" &
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

# replay_ok NAME: the trace in $tmp/NAME.out replays with 0 mismatches.
replay_ok() {
	"$SK" replay "$tmp/$1.out" >"$tmp/$1.replay" 2>&1 ||
	    { cat "$tmp/$1.replay"; return 1; }
	grep -q '0 mismatches' "$tmp/$1.replay" ||
	    { cat "$tmp/$1.replay"; return 1; }
}

OPEN='event=logged_in .*next=open'
