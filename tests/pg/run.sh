#!/bin/sh
# tests/pg/run.sh CMD [ARGS...]: runs CMD with a throwaway PostgreSQL
# cluster (tools/pgtmp) and removes the cluster afterwards, whatever CMD
# did.  CMD sees:
#   SKYKEEPER_TEST_DATABASE_URL  postgres://skykeeper@127.0.0.1:PORT/skykeeper
#   SKYKEEPER_TEST_PGTMP         tools/pgtmp's absolute path
#   SKYKEEPER_TEST_PGTMP_DIR     the cluster's directory (for pgtmp down/up)
# Exits with CMD's status (2 when the cluster cannot start).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
pgtmp=$root/tools/pgtmp
dir=$(mktemp -d "${TMPDIR:-/tmp}/skykeeper-pg.XXXXXX") || exit 2
cleanup() {
	"$pgtmp" stop "$dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
url=$("$pgtmp" start "$dir") || { echo "tests/pg/run.sh: no cluster" >&2; exit 2; }
SKYKEEPER_TEST_DATABASE_URL=$url SKYKEEPER_TEST_PGTMP=$pgtmp SKYKEEPER_TEST_PGTMP_DIR=$dir \
    "$@"
