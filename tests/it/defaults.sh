#!/bin/sh
# tests/it/defaults.sh BIN: `make run` with no environment at all (issue 5
# item 7): the file store in ./var, the real WhatsApp URL, no credentials.
# No outside host may be contacted, so an LD_PRELOAD getaddrinfo
# (resolv_shim.c) answers web.whatsapp.com with 127.0.0.3, where nobody
# listens: what a dyno without internet sees.  Asserts: the defaults are
# the documented ones; a new device is generated and saved in ./var before
# any connection; the session cycles connecting -> backoff with growing
# attempts and calm lines (no at=error); every lookup was the shim's;
# SIGTERM drains, exit 0; the trace replays.
BIN=${1:-bin}
. "$(dirname "$0")/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
case $SK in /*) ;; *) SK=$(pwd)/$SK ;; esac
resolver_shim
echo 127.0.0.3 >"$tmp/host"
mkdir -p "$tmp/cwd"
# nothing but what a process needs: no SKYKEEPER_*, DATABASE_URL, SESSION_SECRET
cd "$tmp/cwd" || fail "cd"
spawn d env -i PATH="$PATH" HOME="$tmp/cwd" LD_PRELOAD="$tmp/shim.so" \
    ASAN_OPTIONS="$SHIM_ASAN" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
    SK_SHIM_NAME=web.whatsapp.com SK_SHIM_FILE="$tmp/host" \
    SK_SHIM_LOG="$tmp/lookups" "$SK" run
cd - >/dev/null || fail "cd back"
grep -q 'wa_url="wss://web.whatsapp.com/ws/chat" .*store=file data_dir="./var" encrypted=no' \
    "$tmp/d.out" 2>/dev/null || wait_for "$tmp/d.out" \
    'wa_url="wss://web.whatsapp.com/ws/chat" .*store=file data_dir="./var" encrypted=no' 5 ||
    fail "not the documented defaults"
wait_for "$tmp/d.out" 'session=main msg="reconnecting later" attempt=3 ' 15 ||
    fail "no third backoff"
[ -f "$tmp/cwd/var/sessions/main.snap" ] || fail "no new device saved in ./var"
awk '/new device credentials generated and saved/ { s = NR } /event=transport_down|event=timeout state=connecting/ && !c { c = NR }
    END { exit !(s && c && s < c) }' "$tmp/d.out" || fail "credentials not saved before the first connection ended"
hasnt "$tmp/d.out" '^at=error' || fail "an error line where calm lines belong"
n=$(count "$tmp/d.out" 'state=connecting event=(transport_down|timeout) .*next=backoff')
[ "$n" -ge 3 ] || fail "$n connecting -> backoff cycles"
grep -v '^web.whatsapp.com 127.0.0.3$' "$tmp/lookups" && fail "a lookup not answered by the shim"
echo "FIGURE no environment: $n connecting -> backoff cycles, $(wc -l <"$tmp/lookups") lookups (all answered 127.0.0.3)"
stop d
[ "$rc" -eq 0 ] || fail "exit $rc after SIGTERM"
replay_ok d || fail "trace"
echo "PASS defaults"
