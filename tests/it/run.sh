#!/bin/sh
# tests/it/run.sh BIN: every tests/it/*.sh (but this one and lib.sh) under
# one throwaway PostgreSQL cluster (tests/pg/run.sh, unless
# SKYKEEPER_TEST_DATABASE_URL is already set), each bounded by timeout(1).
# Prints PASS/FAIL per test and "it: N passed, M failed".
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
for t in "$here"/*.sh; do
	n=$(basename "$t" .sh)
	case $n in run | lib) continue ;; esac
	if timeout -s KILL 120 sh "$t" "$BIN" >"$log/$n.log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS $n"
		grep '^FIGURE' "$log/$n.log" | sed 's/^FIGURE /    /'
	else
		fail=$((fail + 1))
		echo "FAIL $n"
		tail -n 30 "$log/$n.log" | sed 's/^/    /'
	fi
done
rm -rf "$log"
echo "it: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
