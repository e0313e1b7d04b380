#!/bin/sh
# tests/pg/build.sh [OUT]: builds the PostgreSQL store's test and benchmark
# outside the Makefile, while their files may still be named *.c.wip (each
# file is taken as NAME.c if it exists, else NAME.c.wip).  Same flags as
# the Makefile; SAN=1 adds ASan+UBSan.  Binaries: OUT/check_pg and
# OUT/bench_store_pg (OUT defaults to build/pg).  Run the test with
#   tests/pg/run.sh build/pg/check_pg
set -eu
out=${1:-build/pg}
mkdir -p "$out"
san=""
[ "${SAN:-0}" = 1 ] && san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CC=${CC:-gcc}
common="-std=c11 -Wall -Wextra -Werror -O2 -g $san -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -I/usr/include/postgresql"

# compile NAME (without .c): echoes the object's path
cc_one() {
	f=$1.c
	[ -f "$f" ] || f=$1.c.wip
	o=$out/$(basename "$1").o
	# shellcheck disable=SC2086 # $common is a list of flags
	$CC $common -x c -c -o "$o" "$f"
	echo "$o"
}

objs=""
for n in src/log/log src/store/pg src/store/pg_ops src/store/pg_queue src/store/pg_sql \
    src/store/pg_url; do
	objs="$objs $(cc_one "$n")"
done
t=$(cc_one tests/check_pg)
b=$(cc_one tools/bench/bench_store_pg)
# shellcheck disable=SC2086,SC2046
$CC $common -o "$out/check_pg" "$t" $objs $(pkg-config --libs check) -lpq -lev -lm
# shellcheck disable=SC2086
$CC $common -o "$out/bench_store_pg" "$b" $objs -lpq -lev -lm
