#!/bin/sh
# tests/probe/run.sh BIN: `skykeeper probe` against bin/wa-testserver, on
# 127.0.0.1 only.  Starts one server (and, for a port nobody listens on, a
# second one it stops at once), kills what it started on any exit, bounds
# every probe with --timeout and with timeout(1).
#
# Prints PASS/FAIL per check and "probe: N passed, M failed"; exits non-zero
# when anything failed.
set -u
BIN=${1:-bin}
SK=$BIN/skykeeper
TS=$BIN/wa-testserver

for b in "$SK" "$TS"; do
	if [ ! -x "$b" ]; then
		echo "FAIL setup: $b is not built"
		echo "probe: 0 passed, 1 failed"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sk-probe.XXXXXX")
srv=""
cleanup() {
	if [ -n "$srv" ]; then
		kill "$srv" 2>/dev/null
		wait "$srv" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass=0
fail=0

# t NAME FUNCTION: runs one check; its output is shown only when it fails.
t() {
	name=$1
	shift
	if "$@" >"$tmp/$name.log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name"
		tail -n 40 "$tmp/$name.log" | sed 's/^/    /'
	fi
}

# has TEXT ERE: TEXT has a line matching ERE.
has() {
	printf '%s\n' "$1" | grep -qE -- "$2" && return 0
	echo "missing a line matching: $2"
	return 1
}

hasnt() {
	printf '%s\n' "$1" | grep -qE -- "$2" || return 0
	echo "unexpected line matching: $2"
	return 1
}

# probe ARGS...: the probe, output on stdout, status in $rc.
probe() {
	out=$(timeout 60 "$SK" probe "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
}

want_rc() {
	[ "$rc" -eq "$1" ] && return 0
	echo "exit status $rc, want $1"
	return 1
}

# --- setup: a device, a server ------------------------------------------------
if ! "$TS" --registry "$tmp/reg" --make-device "$tmp/dev" \
    >"$tmp/make.out" 2>&1; then
	echo "FAIL setup: wa-testserver --make-device"
	sed 's/^/    /' "$tmp/make.out"
	echo "probe: 0 passed, 1 failed"
	exit 1
fi
# A device the server does not know: another registry.
"$TS" --registry "$tmp/reg2" --make-device "$tmp/stranger" \
    >"$tmp/make2.out" 2>&1

# start_server OUTFILE: starts wa-testserver on the main registry; sets
# $spid and waits (at most 10 s) for its start line in OUTFILE.
start_server() {
	"$TS" --registry "$tmp/reg" --log "$tmp/stanzas.jsonl" \
	    >"$1" 2>"$1.err" &
	spid=$!
	i=0
	while [ $i -lt 100 ]; do
		grep -q '^root_key=' "$1" 2>/dev/null && return 0
		kill -0 "$spid" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

field() {   # field NAME FILE: NAME=value from the start line
	sed -n "s/^root_key=.* $1=\([0-9]*\).*/\1/p" "$2" | head -1
}

# A port nothing listens on: one a server had a moment ago.
if start_server "$tmp/dead.out"; then
	DEAD_PORT=$(field port "$tmp/dead.out")
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
else
	DEAD_PORT=""
fi

if ! start_server "$tmp/server.out"; then
	echo "FAIL setup: wa-testserver did not start"
	sed 's/^/    /' "$tmp/server.out" "$tmp/server.out.err"
	kill "$spid" 2>/dev/null
	echo "probe: 0 passed, 1 failed"
	exit 1
fi
srv=$spid
ROOT=$(sed -n 's/^root_key=\([0-9a-fA-F]\{64\}\).*/\1/p' "$tmp/server.out")
PORT=$(field port "$tmp/server.out")
CPORT=$(field control_port "$tmp/server.out")
URL="ws://127.0.0.1:$PORT/ws/chat"

control() {   # control PATH [JSON]: POST when JSON is given
	if [ $# -gt 1 ]; then
		curl -sf --max-time 5 -d "$2" "http://127.0.0.1:$CPORT$1"
	else
		curl -sf --max-time 5 "http://127.0.0.1:$CPORT$1"
	fi
}

# --- the checks ---------------------------------------------------------------

strict_with_server_root_key() {
	probe --url "$URL" --creds "$tmp/dev" --root-key "$ROOT" --timeout 10
	want_rc 0 || return 1
	has "$out" '^at=info step=connect result=ok' || return 1
	has "$out" '^at=info step=handshake result=ok' || return 1
	has "$out" '^at=info step=certificate result=verified root=flag' ||
	    return 1
	has "$out" '^at=info step=login result=success' || return 1
	n=$(printf '%s\n' "$out" |
	    grep -cE '^at=info step=ping n=[123] result=ok rtt_ms=[0-9]+\.[0-9]+$')
	[ "$n" -eq 3 ] || { echo "want 3 ping lines, got $n"; return 1; }
	has "$out" '^at=warn .*root key overridden.* source=--root-key' ||
	    return 1
	has "$out" '^at=info step=done result=ok pings=3' || return 1
	printf '%s\n' "$out" >"$tmp/strict.out"
}

root_key_from_environment() {
	out=$(SKYKEEPER_WA_ROOT_KEY=$ROOT timeout 60 "$SK" probe --url "$URL" \
	    --creds "$tmp/dev" --timeout 10 2>&1)
	rc=$?
	printf '%s\n' "$out"
	want_rc 0 || return 1
	has "$out" 'step=certificate result=verified root=env' || return 1
	has "$out" '^at=warn .*source=SKYKEEPER_WA_ROOT_KEY' || return 1
}

builtin_whatsapp_key_fails_certificate() {
	probe --url "$URL" --creds "$tmp/dev" --timeout 10
	want_rc 1 || return 1
	has "$out" '^at=error step=certificate result=failed reason=".+"' ||
	    return 1
	hasnt "$out" 'step=login' || return 1
	hasnt "$out" 'step=ping' || return 1
	hasnt "$out" 'at=warn' || return 1   # the built-in key warns of nothing
}

no_cert_check_says_unchecked() {
	probe --url "$URL" --creds "$tmp/dev" --no-cert-check --timeout 10
	want_rc 0 || return 1
	has "$out" '^at=warn step=certificate result=unchecked' || return 1
	has "$out" '^at=warn msg="certificate checking is off' || return 1
}

nothing_listening_fails_connect() {
	[ -n "$DEAD_PORT" ] || { echo "no dead port found"; return 1; }
	probe --url "ws://127.0.0.1:$DEAD_PORT/ws/chat" --creds "$tmp/dev" \
	    --root-key "$ROOT" --timeout 10
	want_rc 1 || return 1
	has "$out" '^at=error step=connect result=failed reason=".+"' ||
	    return 1
}

wrong_creds_dir_fails_creds() {
	probe --url "$URL" --creds "$tmp/no-such-dir" --root-key "$ROOT" \
	    --timeout 10
	want_rc 1 || return 1
	has "$out" '^at=error step=creds result=failed reason=".*creds\.json' ||
	    return 1
	hasnt "$out" 'step=connect' || return 1
}

unknown_device_fails_login() {
	probe --url "$URL" --creds "$tmp/stranger" --root-key "$ROOT" \
	    --timeout 10
	want_rc 1 || return 1
	has "$out" '^at=info step=certificate result=verified' || return 1
	has "$out" '^at=error step=login result=failed reason=".*401' ||
	    return 1
}

outdated_version_is_explained() {
	control /policy '{"fail_login":405}' >/dev/null || {
		echo "control /policy failed"; return 1; }
	probe --url "$URL" --creds "$tmp/dev" --root-key "$ROOT" --timeout 10
	control /clear '{}' >/dev/null
	want_rc 1 || return 1
	has "$out" '^at=error step=login result=failed reason=".*405.*version' ||
	    return 1
}

silent_server_is_bounded() {
	control /policy '{"silent":true}' >/dev/null || {
		echo "control /policy failed"; return 1; }
	start=$(date +%s)
	probe --url "$URL" --creds "$tmp/dev" --root-key "$ROOT" --timeout 2
	took=$(( $(date +%s) - start ))
	control /clear '{}' >/dev/null
	want_rc 1 || return 1
	has "$out" '^at=error step=[a-z]+ .*result=failed reason=".*time limit' ||
	    return 1
	[ "$took" -le 6 ] || { echo "took ${took}s for a 2 s limit"; return 1; }
}

server_answered_three_pings() {
	st=$(control /status?brief=1) || { echo "control /status failed"; return 1; }
	echo "$st"
	n=$(printf '%s' "$st" | sed -n 's/.*"pings_answered":\([0-9]*\).*/\1/p')
	if [ -z "$n" ] || [ "$n" -lt 3 ]; then
		echo "pings_answered=$n, want at least 3"
		return 1
	fi
}

# Every byte string in creds.json (keys, the adv secret), as base64 and as
# hex, and the phone number: none may appear in what the probe printed.
secrets_never_printed() {
	[ -f "$tmp/strict.out" ] || {
		echo "no output from the strict run"; return 1; }
	grep -oE '"(data|advSecretKey)":"[^"]*"' "$tmp/dev/creds.json" |
	    cut -d'"' -f4 | sort -u >"$tmp/secrets.b64"
	[ -s "$tmp/secrets.b64" ] || {
		echo "no secrets found in creds.json"; return 1; }
	while read -r b; do
		printf '%s\n' "$b"
		printf '%s' "$b" | base64 -d 2>/dev/null | od -An -v -tx1 |
		    tr -d ' \n'
		echo
	done <"$tmp/secrets.b64" | awk 'length($0) >= 16' >"$tmp/secrets.all"
	if grep -qiF -f "$tmp/secrets.all" "$tmp/strict.out"; then
		echo "a secret from creds.json appears in the output"
		return 1
	fi
	phone=$(sed -n 's/^device=\([0-9]*\):.*/\1/p' "$tmp/make.out")
	[ -n "$phone" ] || { echo "no phone number in make-device output"; return 1; }
	if grep -qF "$phone" "$tmp/strict.out"; then
		echo "the phone number appears in the output"
		return 1
	fi
}

usage_errors_exit_2() {
	probe --creds "$tmp/dev" --root-key "$ROOT" --no-cert-check
	want_rc 2 || return 1
	probe --url "$URL"
	want_rc 2 || return 1
	probe --creds "$tmp/dev" --root-key 1234
	want_rc 2 || return 1
	probe --creds "$tmp/dev" --version 2.3000
	want_rc 2 || return 1
}

t strict_with_server_root_key strict_with_server_root_key
t root_key_from_environment root_key_from_environment
t builtin_whatsapp_key_fails_certificate builtin_whatsapp_key_fails_certificate
t no_cert_check_says_unchecked no_cert_check_says_unchecked
t nothing_listening_fails_connect nothing_listening_fails_connect
t wrong_creds_dir_fails_creds wrong_creds_dir_fails_creds
t unknown_device_fails_login unknown_device_fails_login
t outdated_version_is_explained outdated_version_is_explained
t silent_server_is_bounded silent_server_is_bounded
t server_answered_three_pings server_answered_three_pings
t secrets_never_printed secrets_never_printed
t usage_errors_exit_2 usage_errors_exit_2

echo "probe: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
