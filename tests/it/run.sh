#!/bin/sh
# tests/it/run.sh BIN: every tests/it/*.sh (but this one and lib.sh) under
# one throwaway PostgreSQL cluster (tests/pg/run.sh, unless
# SKYKEEPER_TEST_DATABASE_URL is already set), each bounded by timeout(1).
# Prints PASS/FAIL per test and "it: N passed, M failed".
#
# A test that mostly waits says so with a line "# it: parallel": it runs
# in the background while the others run one after the other.  A test
# that disturbs the others (stops the database) says "# it: alone": it
# runs last, by itself.
set -u
BIN=${1:-bin}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${SKYKEEPER_TEST_DATABASE_URL:-}" ]; then
	exec "$root/tests/pg/run.sh" "$0" "$@"
fi
for b in skykeeper wa-testserver; do
	[ -x "$BIN/$b" ] || { echo "FAIL setup: $BIN/$b is not built"; echo "it: 0 passed, 1 failed"; exit 1; }
done
log=$(mktemp -d "${TMPDIR:-/tmp}/sk-it-run.XXXXXX")
pass=0
fail=0
bg=""
# a test under timeout(1) passes a TERM on to it: its own EXIT trap then
# stops what it started
trap 'for p in $bg; do kill -TERM "${p#*:}" 2>/dev/null; wait "${p#*:}"; done; rm -rf "$log"' EXIT
trap 'exit 1' INT TERM HUP

# the limit of one test, in seconds
LIMIT=120

run_one() {
	timeout -s KILL $LIMIT sh "$here/$1.sh" "$BIN" >"$log/$1.log" 2>&1
	echo $? >"$log/$1.rc"
}

start_bg() {
	timeout -s KILL $LIMIT sh "$here/$1.sh" "$BIN" >"$log/$1.log" 2>&1 &
	bg="$bg $1:$!"
}

report() {
	# from its start to its log's last line (a background test is
	# reported late)
	secs=$(($(stat -c %Y "$log/$1.log") - $(cat "$log/$1.t0")))
	if [ "$(cat "$log/$1.rc" 2>/dev/null)" = 0 ]; then
		pass=$((pass + 1))
		echo "PASS $1 (${secs} s)"
		grep '^FIGURE' "$log/$1.log" | sed 's/^FIGURE /    /'
	else
		fail=$((fail + 1))
		echo "FAIL $1 (${secs} s)"
		tail -n 30 "$log/$1.log" | sed 's/^/    /'
	fi
}

kind() {
	sed -n 's/^# it: \([a-z]*\)$/\1/p' "$here/$1.sh" | head -n 1
}

names=""
for t in "$here"/*.sh; do
	n=$(basename "$t" .sh)
	case $n in run | lib) continue ;; esac
	names="$names $n"
done
for n in $names; do
	[ "$(kind "$n")" = parallel ] || continue
	date +%s >"$log/$n.t0"
	start_bg "$n"
done
for n in $names; do
	case $(kind "$n") in parallel | alone) continue ;; esac
	date +%s >"$log/$n.t0"
	run_one "$n"
	report "$n"
done
for p in $bg; do
	wait "${p#*:}"
	echo $? >"$log/${p%%:*}.rc"
	report "${p%%:*}"
done
bg=""
for n in $names; do
	[ "$(kind "$n")" = alone ] || continue
	date +%s >"$log/$n.t0"
	run_one "$n"
	report "$n"
done
echo "it: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
