#!/bin/sh
# tests/binding-missing.sh BIN BUILD: a missing action binding is a build
# error.  Links the generated enginetest binding with every action defined
# but one and expects the link to fail naming that action; then with all of
# them, and expects success (so the failure is not something else).
set -eu
BIN=$1
BUILD=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen=$BUILD/gen
cat > "$tmp/defs.c" <<'C'
#include "enginetest_fsm.h"
#define A(n) void enginetest_act_##n(struct fsm *m, void *c) { (void)m; (void)c; }
A(enter_idle) A(exit_idle) A(enter_busy) A(exit_busy) A(on_go) A(on_kick)
A(raise_kick) A(tick) A(on_timeout) A(on_wait_over)
#ifndef DROP_ON_STOP
A(on_stop)
#endif
int enginetest_guard_allowed(struct fsm *m, void *c) { (void)m; (void)c; return 0; }
double enginetest_delay_wait(struct fsm *m, void *c) { (void)m; (void)c; return 1; }
int main(void) { return enginetest_binding.actions[0] == 0; }
C
cc="${CC:-gcc} -std=c11 -Wall -Wextra -Werror -Isrc -I$gen"
$cc -o "$tmp/ok" "$tmp/defs.c" "$gen/enginetest_bind.c" "$gen/enginetest_fsm.c"
echo "complete binding links"
if $cc -DDROP_ON_STOP -o "$tmp/bad" "$tmp/defs.c" "$gen/enginetest_bind.c" \
    "$gen/enginetest_fsm.c" 2>"$tmp/err"; then
	echo "a binding without enginetest_act_on_stop linked" >&2
	exit 1
fi
grep -q 'enginetest_act_on_stop' "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
echo "missing enginetest_act_on_stop: build fails as it must"
