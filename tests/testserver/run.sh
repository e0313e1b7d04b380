#!/bin/sh
# tests/testserver/run.sh [BIN]: integration tests of bin/wa-testserver.
#
# Starts the server on loopback with a temporary registry, makes devices,
# and checks through the control interface and `wa-testserver client` (a
# client on the same src/wa/ code, other side of the wire) that: logins
# work (also with strict certificate checks against the printed root key),
# wrong keys and unknown devices get 401, the newer of two logins replaces
# the older (counted), every injection reaches the client as it should,
# silent mode keeps TCP open and answers nothing, refuse/fail/delay work,
# malformed input closes only that connection, the stanza log is JSON
# lines, SIGTERM exits 0.  Prints PASS/FAIL per check and
# "testserver: N passed, M failed"; exits 0 only when all passed.
# Bounded: every client has a timeout, every wait a cap.
set -u
BIN=${1:-bin}
root=$(cd "$(dirname "$0")/../.." && pwd)
case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac
TS=$BIN/wa-testserver
[ -x "$TS" ] || { echo "testserver: $TS is not built"; exit 2; }

tmp=$(mktemp -d /tmp/sk-testserver.XXXXXX)
spid=
bg=
cleanup() {
	for p in $bg; do kill "$p" 2>/dev/null; done
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
	[ $# -gt 1 ] && [ -f "$2" ] && sed 's/^/    /' "$2" | tail -n 15
}
judge() {   # judge NAME CMD…: PASS when CMD succeeds
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
check() {   # check NAME FILE PATTERN: FILE has a line matching PATTERN
	if grep -Eq "$3" "$2" 2>/dev/null; then ok "$1"; else bad "$1" "$2"; fi
}

# waits up to $2 tenths of a second for FILE ($1) to match $3
wait_for() {
	i=0
	while ! grep -Eq "$3" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt "$2" ] && return 1
		sleep 0.1
	done
	return 0
}

ctl() {     # ctl PATH [JSON]: the control interface, the answer on stdout
	if [ $# -gt 1 ]; then
		curl -s -m 5 -d "$2" "http://127.0.0.1:$cport$1"
	else
		curl -s -m 5 "http://127.0.0.1:$cport$1"
	fi
}

# a number from the status JSON (top-level key, or the one device's)
stat() {
	ctl "/status${2:-?brief=1}" | tr ',{}' '\n' |
	    sed -n "s/^\"$1\":\([0-9]*\)$/\1/p" | head -n 1
}

client() {  # client OUT [ARGS…]: the test client, bounded
	out=$1
	shift
	"$TS" client --port "$port" --timeout-ms 8000 "$@" >"$out" 2>&1
}

# --- devices and the server -------------------------------------------------
"$TS" --registry "$tmp/reg" --make-device "$tmp/d1" >"$tmp/mk1" 2>&1 &&
    "$TS" --registry "$tmp/reg" --make-device "$tmp/d2" >"$tmp/mk2" 2>&1 &&
    "$TS" --registry "$tmp/other" --make-device "$tmp/stranger" >/dev/null 2>&1
check "make-device writes creds.json and registers the device" "$tmp/mk1" \
    '^device=[0-9]+:1 jid=[0-9]+:1@s\.whatsapp\.net lid=[0-9]+:1@lid'
dev1=$(sed -n 's/^device=\([0-9:]*\) .*/\1/p' "$tmp/mk1")
check "creds.json has registered=true" "$tmp/d1/creds.json" '"registered":true'
check "creds.json has me.id" "$tmp/d1/creds.json" "\"id\":\"${dev1%%:*}:1@s.whatsapp.net\""

"$TS" --registry "$tmp/reg" --root-key "$tmp/root.key" --log "$tmp/log.jsonl" \
    >"$tmp/ports" 2>"$tmp/server.err" &
spid=$!
wait_for "$tmp/ports" 50 '^root_key=' || { echo "testserver: no start"; cat "$tmp/server.err"; exit 2; }
check "prints root key and ports" "$tmp/ports" \
    '^root_key=[0-9a-f]{64} port=[0-9]+ control_port=[0-9]+ pid=[0-9]+$'
rootkey=$(sed -n 's/^root_key=\([0-9a-f]*\) .*/\1/p' "$tmp/ports")
port=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$tmp/ports")
cport=$(sed -n 's/.*control_port=\([0-9]*\).*/\1/p' "$tmp/ports")
# both ports listen on 127.0.0.1 and nowhere else (state 0A = LISTEN)
listeners() {
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$1" '
	    $4 == "0A" { split($2, a, ":"); if (a[2] == sprintf("%04X", p)) print a[1] }'
}
for p in "$port" "$cport"; do
	judge "port $p listens on 127.0.0.1 only" [ "$(listeners "$p")" = "0100007F" ]
done
# registered after the server started: found when it logs in
"$TS" --registry "$tmp/reg" --make-device "$tmp/d3" --phone 15551230000 \
    >"$tmp/mk3" 2>&1
check "make-device --phone assigns that phone" "$tmp/mk3" '^device=15551230000:1 '

# --- logins -----------------------------------------------------------------
client "$tmp/c1" --creds "$tmp/d1" --pings 3 --ping-ms 50
check "login works, pings answered" "$tmp/c1" 'end logged_in=1 pings=3 pongs=3'
check "success carries the device's lid" "$tmp/c1" '^login success lid=[0-9]+:1@lid t=[0-9]+'
check "success is followed by offline count=0" "$tmp/c1" '^offline count=0$'
client "$tmp/c1b" --creds "$tmp/d3"
check "device registered while the server runs logs in" "$tmp/c1b" '^login success'
client "$tmp/c2" --creds "$tmp/d1" --root "$rootkey"
check "certificate chain verifies strictly against the printed root key" "$tmp/c2" '^login success'
client "$tmp/c3" --creds "$tmp/d1" \
    --root 142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b
check "the chain fails against WhatsApp's root key" "$tmp/c3" '^closed how=handshake: '
client "$tmp/c4" --creds "$tmp/d1" --wrong-noise
check "wrong noise key is refused with 401" "$tmp/c4" '^login failure reason=401$'
client "$tmp/c5" --creds "$tmp/stranger"
check "unknown device is refused with 401" "$tmp/c5" '^login failure reason=401$'
n=$(stat login_failures)
judge "failures are counted (${n:-none})" [ "${n:-0}" -ge 2 ]

# --- two logins of one device -----------------------------------------------
ctl /reset-stats '{}' >/dev/null
"$TS" client --port "$port" --timeout-ms 8000 --creds "$tmp/d2" --hold-ms 6000 \
    >"$tmp/old" 2>&1 &
old=$!
bg="$bg $old"
wait_for "$tmp/old" 50 '^login success'
client "$tmp/new" --creds "$tmp/d2" --hold-ms 300
wait "$old"
check "second login succeeds" "$tmp/new" '^login success'
check "older connection gets conflict replaced" "$tmp/old" '^stream_error code=- conflict=replaced$'
check "older connection is closed" "$tmp/old" '^closed how=(eof|reset|ws_close)'
dev2=$(sed -n 's/^device=\([0-9:]*\) .*/\1/p' "$tmp/mk2")
n=$(stat replaced_kicks)
judge "replaced kick counted (${n:-none})" [ "${n:-0}" -eq 1 ]
n=$(stat max_simultaneous "?device=$dev2")
judge "max simultaneous logins of the device is 2 (${n:-none})" [ "${n:-0}" -eq 2 ]

# --- injections -----------------------------------------------------------
inject() {  # inject KIND PATTERN: the client must see PATTERN
	"$TS" client --port "$port" --timeout-ms 8000 --creds "$tmp/d1" \
	    --hold-ms 6000 >"$tmp/inj-$1" 2>&1 &
	p=$!
	bg="$bg $p"
	wait_for "$tmp/inj-$1" 50 '^offline count' || true
	ctl /inject "{\"kind\":\"$1\",\"device\":\"$dev1\"}" >"$tmp/inj-$1.ctl"
	wait "$p"
	if grep -q '"affected":1' "$tmp/inj-$1.ctl" && grep -Eq "$2" "$tmp/inj-$1"; then
		ok "inject $1 reaches the client"
	else
		bad "inject $1 reaches the client" "$tmp/inj-$1"
		cat "$tmp/inj-$1.ctl"
	fi
}
inject 515 '^stream_error code=515 conflict=-$'
inject 503 '^stream_error code=503 conflict=-$'
inject replaced '^stream_error code=- conflict=replaced$'
inject device_removed '^stream_error code=401 conflict=device_removed$'
inject xmlstreamend '^xmlstreamend$'
inject close '^closed how=eof$'
inject reset '^closed how=reset$'

# --- silent ---------------------------------------------------------------
"$TS" client --port "$port" --timeout-ms 8000 --creds "$tmp/d1" --ping-ms 150 \
    --hold-ms 2500 >"$tmp/silent" 2>&1 &
p=$!
bg="$bg $p"
wait_for "$tmp/silent" 50 '^pong' || true
ctl /policy "{\"device\":\"$dev1\",\"silent\":true}" >/dev/null
sleep 0.3
before=$(stat pings_answered)
sleep 1
after=$(stat pings_answered)
wait "$p"
ctl /clear '{}' >/dev/null
judge "silent: no ping answered (${before:-?} -> ${after:-?})" \
    [ "${before:-x}" = "${after:-y}" ]
check "silent: TCP stays open until the client leaves" "$tmp/silent" \
    '^end logged_in=1 pings=[0-9]+ pongs=[0-9]+ closed=0'

# --- refuse, fail, delay ----------------------------------------------------
ctl /policy '{"refuse":true}' >/dev/null
client "$tmp/ref" --creds "$tmp/d1"
check "refuse: new connections are closed" "$tmp/ref" '^closed how=(eof|reset|error)'
n=$(stat refused)
judge "refused connections are counted (${n:-none})" [ "${n:-0}" -ge 1 ]
ctl /policy '{"refuse":false}' >/dev/null
client "$tmp/ref2" --creds "$tmp/d1"
check "refuse off: logins work again" "$tmp/ref2" '^login success'
ctl /policy "{\"device\":\"$dev1\",\"fail_login\":403}" >/dev/null
client "$tmp/fail" --creds "$tmp/d1"
check "fail_login 403 answers <failure reason=403/>" "$tmp/fail" '^login failure reason=403$'
ctl /clear '{}' >/dev/null
ctl /policy '{"delay_ms":300}' >/dev/null
client "$tmp/delay" --creds "$tmp/d1" --pings 2 --ping-ms 50
ctl /clear '{}' >/dev/null
if awk '/^pong/ { split($3, a, "="); if (a[2] + 0 < 290) bad = 1; n++ }
    END { exit !(n == 2 && !bad) }' "$tmp/delay"; then
	ok "delay_ms 300 delays every reply"
else
	bad "delay_ms 300 delays every reply" "$tmp/delay"
fi

# --- malformed input ----------------------------------------------------------
for g in intro hello oversize; do
	"$TS" client --port "$port" --timeout-ms 5000 --garbage $g >"$tmp/g-$g" 2>&1
	check "malformed $g: only that connection is closed" "$tmp/g-$g" '^closed how='
done
curl -s -m 5 -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$port/" >"$tmp/http"
check "plain HTTP on the chat port gets 404" "$tmp/http" '^404$'
client "$tmp/after" --creds "$tmp/d1"
check "the server still serves after malformed input" "$tmp/after" '^login success'
n=$(stat malformed)
judge "malformed input is counted (${n:-none})" [ "${n:-0}" -ge 3 ]

# --- log, control errors, shutdown ------------------------------------------
if grep -q '"dir":"in"' "$tmp/log.jsonl" &&
    grep '"xmlns":"w:p"' "$tmp/log.jsonl" | head -n 1 |
    grep -Eq '^\{"t":[0-9.]+,"conn":[0-9]+,"dev":"[0-9]+:[0-9]+","dir":"in","node":\{"tag":"iq"'; then
	ok "stanza log: one JSON object per stanza"
else
	bad "stanza log: one JSON object per stanza" "$tmp/log.jsonl"
fi
ctl /inject '{"kind":"nope"}' >"$tmp/e1"
check "control: unknown kind is an error" "$tmp/e1" '"ok":false'
ctl /policy '{"device":"1:99","silent":true}' >"$tmp/e2"
check "control: unknown device is an error" "$tmp/e2" '"error":"no such device"'
# pairing requests with no pending pairing: a clear 4xx at once (the flows
# themselves: tests/interop/pair, stock Baileys as the companion)
hcode() {   # hcode PATH JSON OUT: the HTTP status, the body in OUT
	curl -s -m 5 -o "$3" -w '%{http_code}' -d "$2" "http://127.0.0.1:$cport$1"
}
b64zero=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
qr="https://wa.me/settings/linked_devices#2@nosuchref,$b64zero,$b64zero,$b64zero,1"
judge "pair-qr: no qr -> 400" [ "$(hcode /pair-qr '{}' "$tmp/p1")" = 400 ]
judge "pair-qr: not a QR -> 400" [ "$(hcode /pair-qr '{"qr":"x,y"}' "$tmp/p2")" = 400 ]
judge "pair-qr: bad fault -> 400" \
    [ "$(hcode /pair-qr "{\"qr\":\"$qr\",\"fault\":\"nope\"}" "$tmp/p3")" = 400 ]
judge "pair-qr: unknown ref -> 404" \
    [ "$(hcode /pair-qr "{\"qr\":\"$qr\"}" "$tmp/p4")" = 404 ]
check "pair-qr: the 404 says why" "$tmp/p4" '"error":"no pending pairing was sent that ref"'
judge "pair-code: bad code -> 400" \
    [ "$(hcode /pair-code '{"code":"ABCD-EFG0"}' "$tmp/p5")" = 400 ]
judge "pair-code: no companion_hello -> 404" \
    [ "$(hcode /pair-code '{"code":"abcd-efgh"}' "$tmp/p6")" = 404 ]
ctl /pairings >"$tmp/p7"
check "pairings: none pending" "$tmp/p7" '^\{"ok":true,"pairings":\[\]\}$'
judge "status counts registrations" [ "$(stat registrations)" = 0 ]
kill -TERM "$spid"
i=0
while kill -0 "$spid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$spid" 2>/dev/null; then
	bad "SIGTERM: exits within 3 s"
else
	wait "$spid"
	rc=$?
	spid=
	judge "SIGTERM: exits 0 promptly (status $rc)" [ $rc -eq 0 ]
fi

echo "testserver: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
