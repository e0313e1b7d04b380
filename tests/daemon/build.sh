#!/bin/sh
# tests/daemon/build.sh BUILD BIN: links BIN/skykeeper-daemon (the daemon
# with src/session, src/cli/run.c(.wip) and the lifecycle binding) and
# BIN/daemon-seed, on top of an existing `make build BUILD=... BIN=...`.
# Needed only until the Makefile links src/session and lifecycle_bind.o
# into bin/skykeeper (then bin/skykeeper is the daemon).
set -eu
B=${1:-build}
O=${2:-bin}
CF="-std=c11 -Wall -Wextra -Werror -O2 -g ${SAN:-} -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DSK_VERSION=\"0.1.0\" -Isrc -I$B/gen -Igen -I/usr/include/postgresql"
LIBS="-lpq -lwebsockets -lev -ljson-c -lssl -lcrypto -lprotobuf-c -lsignal-protocol-c -lz -lm"
D=$B/daemon
mkdir -p "$D"
objs=""
for f in src/session/*.c src/cli/config.c src/cli/replay.c src/cli/probe.c src/main.c; do
	o=$D/$(echo "$f" | tr / _).o
	gcc $CF -c -o "$o" "$f"
	objs="$objs $o"
done
if [ -f src/cli/run.c.wip ]; then run=src/cli/run.c.wip; else run=src/cli/run.c; fi
gcc $CF -x c -c -o "$D/run.o" "$run"
gcc $CF -c -o "$D/lifecycle_bind.o" "$B/gen/lifecycle_bind.c"
core=$(ls $B/src/fsm/*.o $B/src/log/*.o $B/src/wa/*.o $B/src/net/*.o $B/src/store/*.o)
gcc $CF -o "$O/skykeeper-daemon" $objs "$D/run.o" "$D/lifecycle_bind.o" $core \
    $B/gen/lifecycle_fsm.o $B/gen/*.pb-c.o $LIBS
gcc $CF -o "$O/daemon-seed" tests/daemon/seed.c $B/src/store/baileys.o $B/src/store/file.o \
    $B/src/store/snapshot.o $B/src/wa/*.o $B/gen/*.pb-c.o $LIBS
