#!/bin/sh
# tests/pair/run.sh BIN: pairing a new device end to end (issue 6), under a
# throwaway PostgreSQL (tests/pg/run.sh) with wa-testserver playing the
# phone.  Each check asserts on what the daemon logged, what the server
# saw (/status, the pair-qr / pair-code answers) and what the store holds
# (skykeeper status --json: both copies); every daemon trace replays.
#   qr         empty store -> QR in the logs and the PNG -> zbarimg reads the
#              PNG -> the server pairs with that text -> 515 -> logged in ->
#              both copies hold the account -> a restart (and a new dyno
#              with an empty disk) log in without pairing
#   code       PAIRING_NUMBER -> pairing_code=XXXX-XXXX -> the phone types it
#              -> logged in; a wrong code pairs nothing
#   bad_hmac, bad_sig   rejected, nothing stored, a paced new attempt
#   exhausted  refs run out -> clear line -> new attempt after PAIR_RETRY
#   cli        skykeeper pair: exit 0 after pairing (QR, then --phone
#              --force), 1 when already paired, 1 when nobody scans
# Prints PASS/FAIL per check and "pair: N passed, M failed".
set -u
BIN=${1:-bin}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${SKYKEEPER_TEST_DATABASE_URL:-}" ]; then
	exec "$root/tests/pg/run.sh" "$0" "$@"
fi
. "$root/tests/it/lib.sh"
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP
DB=$SKYKEEPER_TEST_DATABASE_URL
pass=0
nfail=0

# Short pairing windows; the real ones are 60 s / 20 s / 30 s.
FAST="SKYKEEPER_QR_FIRST=3 SKYKEEPER_QR_NEXT=2 SKYKEEPER_PAIR_RETRY=1"

json_str() {
	printf '%s' "$1" | tr -d '\n' |
	    sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" | head -n 1
}
json_bool() {
	printf '%s' "$1" | tr -d ' \n' |
	    sed -n "s/.*\"$2\":\(true\|false\).*/\1/p" | head -n 1
}

# store_of SID DATADIR: skykeeper status --json, the object of one session.
store_of() {
	env DATABASE_URL="$DB" SKYKEEPER_DATA_DIR="$2" "$SK" status --json |
	    sed 's/},{"id"/}\n{"id"/g' | grep "\"id\":\"$1\"" | head -n 1
}

# The QR text a daemon logged last (the raw text line).
last_qr() {
	sed -n 's/.*qr_text="\([^"]*\)".*/\1/p' "$1" | tail -n 1
}

# trace_gap LOG ERE1 ERE2: ms of trace time from the first line matching
# ERE1 to the first line after it matching ERE2.
trace_gap() {
	awk -v a="$2" -v b="$3" '
	    $0 ~ a && !t1 { for (i = 1; i <= NF; i++) if ($i ~ /^t=/) t1 = substr($i, 3) + 0; next }
	    t1 && $0 ~ b { for (i = 1; i <= NF; i++) if ($i ~ /^t=/) { printf "%.0f", (substr($i, 3) - t1) * 1000; exit } }' "$1"
}

stop_daemon() {
	eval "p=\$PID_$1 tp=\$TPID_$1"
	kill -TERM "$p" 2>/dev/null
	wait "$tp"
}

run_check() {
	name=$1
	shift
	case " ${ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
	if out=$("$@" 2>&1); then
		pass=$((pass + 1))
		echo "PASS $name"
		printf '%s\n' "$out" | grep '^FIGURE' | sed 's/^FIGURE /    /'
	else
		nfail=$((nfail + 1))
		echo "FAIL $name"
		printf '%s\n' "$out" | tail -n 25 | sed 's/^/    /'
	fi
}

# --- QR: log -> PNG -> zbarimg -> phone -> 515 -> open -> restart ---------
check_qr() {
	SID=qr$$
	mkdir -p "$tmp/qr.data"
	daemon qr "$tmp/qr.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS=$SID \
	    SKYKEEPER_QR_PNG="$tmp/qr.png"
	wait_for "$tmp/qr.out" 'qr_text="' 10 || return 1
	# the picture in the log: 2 module rows per line, so under 40 lines
	n=$(grep -c "session=$SID qr=\"" "$tmp/qr.out")
	[ "$n" -ge 10 ] && [ "$n" -le 40 ] || { echo "QR art lines: $n"; return 1; }
	# the PNG scans back to the logged text
	wait_for "$tmp/qr.out" 'msg="QR code written"' 5 || return 1
	scanned=$(zbarimg --raw -q "$tmp/qr.png" 2>/dev/null) ||
	    { echo "zbarimg could not read $tmp/qr.png"; return 1; }
	logged=$(last_qr "$tmp/qr.out")
	[ "$scanned" = "$logged" ] || { echo "PNG '$scanned' != log '$logged'"; return 1; }
	case $logged in https://wa.me/settings/linked_devices#*,*,*,*,*) ;;
	*) echo "QR text shape: $logged"; return 1 ;; esac
	# nothing of the pairing is stored before the phone answers
	st=$(store_of "$SID" "$tmp/qr.data")
	[ -n "$st" ] || { echo "the new credentials were not saved first"; return 1; }
	printf '%s' "$st" | grep -q '"account":null' || { echo "account before pairing: $st"; return 1; }
	# the phone scans what the PNG shows
	ans=$(curl -s --max-time 30 -d "{\"qr\":\"$scanned\",\"phone\":\"15550007777\"}" \
	    "http://127.0.0.1:$CPORT/pair-qr") || { echo "pair-qr: $ans"; return 1; }
	[ "$(json_bool "$ans" ok)" = true ] || { echo "pair-qr: $ans"; return 1; }
	dev=$(json_str "$ans" device)
	printf '%s' "$ans" | grep -q '"device_signature":"valid"' || { echo "$ans"; return 1; }
	wait_for "$tmp/qr.out" "$OPEN" 10 || return 1
	grep -q 'event=pair_device .*next=pairing' "$tmp/qr.out" || return 1
	grep -q 'event=pair_success .*next=paired' "$tmp/qr.out" || return 1
	grep -q 'state=paired event=restart_required .*next=connecting' "$tmp/qr.out" ||
	    { echo "no 515 after pairing"; return 1; }
	echo "FIGURE QR pairing: pair-success to logged in $(trace_gap "$tmp/qr.out" 'event=pair_success' 'event=logged_in') ms (verify, sign, reply, save, 515, login)"
	# both copies hold the account
	sleep 0.5
	st=$(store_of "$SID" "$tmp/qr.data")
	printf '%s' "$st" | grep -q '"copies":"file,pg"' || { echo "copies: $st"; return 1; }
	printf '%s' "$st" | grep -q '"agree":true' || { echo "agree: $st"; return 1; }
	printf '%s' "$st" | grep -q "\"account\":\"15550007777\"" || { echo "account: $st"; return 1; }
	stop_daemon qr || { echo "daemon exit"; return 1; }
	replay_ok qr || return 1
	# restart: the same disk, no pairing
	daemon qr2 "$tmp/qr.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS=$SID
	wait_for "$tmp/qr2.out" "$OPEN" 10 || return 1
	hasnt "$tmp/qr2.out" 'event=pair_device' || return 1
	stop_daemon qr2 || return 1
	# a new dyno: empty disk, the database copy
	mkdir -p "$tmp/qr3.data"
	daemon qr3 "$tmp/qr3.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS=$SID
	wait_for "$tmp/qr3.out" "$OPEN" 10 || return 1
	hasnt "$tmp/qr3.out" 'event=pair_device' || return 1
	stop_daemon qr3 || return 1
	st=$(status_of "$dev") || { echo "no server status for $dev"; return 1; }
	logins=$(json_num "$st" logins)
	echo "FIGURE device $dev: logins=$logins (pairing login + two restarts)"
	[ "$logins" = 3 ] || { echo "server status: $st"; return 1; }
	replay_ok qr2 && replay_ok qr3
}

# --- pairing code ---------------------------------------------------------------
check_code() {
	SID=code$$
	mkdir -p "$tmp/code.data"
	daemon code "$tmp/code.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS=$SID \
	    PAIRING_NUMBER=15550004444
	wait_for "$tmp/code.out" 'pairing_code=[0-9A-Z]{4}-[0-9A-Z]{4} phone=15550004444' 10 || return 1
	hasnt "$tmp/code.out" 'qr_text=' || return 1
	code=$(sed -n 's/.*pairing_code=\([0-9A-Z-]*\) phone=.*/\1/p' "$tmp/code.out" | head -n 1)
	# a wrong code first: nothing pairs
	wrong=$(printf '%s' "$code" | tr '123456789ABCDEFGHJKLMNPQRSTVWXYZ' 'ABCDEFGHJKLMNPQRSTVWXYZ123456789')
	ans=$(curl -s --max-time 30 -d "{\"code\":\"$wrong\"}" "http://127.0.0.1:$CPORT/pair-code")
	[ "$(json_bool "$ans" ok)" = false ] || { echo "wrong code paired: $ans"; return 1; }
	st=$(store_of "$SID" "$tmp/code.data")
	printf '%s' "$st" | grep -q '"account":null' || { echo "stored after a wrong code: $st"; return 1; }
	# the daemon goes on (the same connection, or a new attempt with a
	# new code after a short backoff): the newest code counts
	sleep 2
	code=$(sed -n 's/.*pairing_code=\([0-9A-Z-]*\) phone=.*/\1/p' "$tmp/code.out" | tail -n 1)
	ans=$(curl -s --max-time 30 -d "{\"code\":\"$code\"}" "http://127.0.0.1:$CPORT/pair-code")
	[ "$(json_bool "$ans" ok)" = true ] || { echo "pair-code: $ans"; return 1; }
	wait_for "$tmp/code.out" "$OPEN" 10 || return 1
	grep -q 'event=code_entered .*next=pairing' "$tmp/code.out" || return 1
	sleep 0.3
	st=$(store_of "$SID" "$tmp/code.data")
	printf '%s' "$st" | grep -q '"account":"15550004444"' || { echo "account: $st"; return 1; }
	printf '%s' "$st" | grep -q '"agree":true' || { echo "agree: $st"; return 1; }
	stop_daemon code || return 1
	replay_ok code
}

# --- a pair-success that does not verify ----------------------------------------
# check_fault FAULT: rejected, nothing stored, the server registered nothing,
# a new attempt after SKYKEEPER_PAIR_RETRY.
check_fault() {
	f=$1
	SID=f$f$$
	dn=$(echo "$f" | tr -c 'a-z\n' '_')
	mkdir -p "$tmp/$dn.data"
	eval daemon "$dn" "$tmp/$dn.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS=$SID $FAST
	wait_for "$tmp/$dn.out" 'qr_text="' 10 || return 1
	ans=$(curl -s --max-time 30 -d "{\"qr\":\"$(last_qr "$tmp/$dn.out")\",\"fault\":\"$f\"}" \
	    "http://127.0.0.1:$CPORT/pair-qr")
	[ "$(json_bool "$ans" registered)" = false ] || { echo "registered with a fault: $ans"; return 1; }
	wait_for "$tmp/$dn.out" 'msg="pairing rejected: ' 5 || return 1
	wait_for "$tmp/$dn.out" 'event=pair_rejected .*next=backoff' 5 || return 1
	grep -q 'nothing was stored' "$tmp/$dn.out" || return 1
	# a new attempt, paced by SKYKEEPER_PAIR_RETRY (1 s)
	wait_for "$tmp/$dn.out" 'event=pair_device .*next=pairing' 10 2 || return 1
	gap=$(trace_gap "$tmp/$dn.out" 'event=pair_rejected' 'event=pair_device')
	echo "FIGURE $f: rejected; next attempt after $gap ms (SKYKEEPER_PAIR_RETRY=1)"
	[ "$gap" -ge 1000 ] || { echo "retry after $gap ms < 1 s"; return 1; }
	st=$(store_of "$SID" "$tmp/$dn.data")
	printf '%s' "$st" | grep -q '"account":null' || { echo "stored: $st"; return 1; }
	stop_daemon "$dn" || return 1
	replay_ok "$dn"
}

# --- refs run out ---------------------------------------------------------------
check_exhausted() {
	SID=ex$$
	mkdir -p "$tmp/ex.data"
	eval daemon ex "$tmp/ex.data" DATABASE_URL="$DB" SKYKEEPER_SESSIONS=$SID \
	    SKYKEEPER_QR_FIRST=0.6 SKYKEEPER_QR_NEXT=0.3 SKYKEEPER_PAIR_RETRY=2 \
	    SKYKEEPER_KEEPALIVE=0.4 SKYKEEPER_KEEPALIVE_JITTER=0
	# the server sends 3 refs (SERVER_ARGS below): 3 QR codes, then the line
	wait_for "$tmp/ex.out" 'msg="nobody linked the device in time: all 3 QR codes expired"' 10 || return 1
	n=$(grep -c 'qr_text="' "$tmp/ex.out")
	[ "$n" = 3 ] || { echo "$n QR codes before the refs ran out"; return 1; }
	# keepalive pings go on while the codes change (0.4 s against refs of
	# 0.6 + 0.3 + 0.3 s: a schedule restarted by each new code sends one)
	k=$(awk '/event=refs_exhausted/ { exit } /state=pairing .*actions=send_keepalive/ { k++ } END { print k + 0 }' "$tmp/ex.out")
	echo "FIGURE keepalive pings during the first pairing round: $k"
	[ "$k" -ge 2 ] || { echo "only $k keepalive(s) while pairing"; return 1; }
	wait_for "$tmp/ex.out" 'event=pair_device .*next=pairing' 10 2 || return 1
	gap=$(trace_gap "$tmp/ex.out" 'event=refs_exhausted' 'event=pair_device')
	echo "FIGURE refs exhausted: new attempt after $gap ms (SKYKEEPER_PAIR_RETRY=2)"
	[ "$gap" -ge 2000 ] || { echo "retried after $gap ms"; return 1; }
	grep -q 'delay_s=[2-9]' "$tmp/ex.out" || { grep 'reconnecting later' "$tmp/ex.out"; return 1; }
	# a forgotten bot: the pause doubles after each round
	wait_for "$tmp/ex.out" 'event=pair_device .*next=pairing' 20 3 || return 1
	gap2=$(awk '/event=refs_exhausted/ { n++; if (n == 2) { for (i = 1; i <= NF; i++) if ($i ~ /^t=/) t = substr($i, 3) } }
	    t && /event=pair_device/ && !d { for (i = 1; i <= NF; i++) if ($i ~ /^t=/) { d = 1; printf "%.0f", (substr($i, 3) - t) * 1000 } }' "$tmp/ex.out")
	echo "FIGURE second round: new attempt after $gap2 ms (doubled: at least 4000)"
	[ "${gap2:-0}" -ge 4000 ] || { echo "second pause $gap2 ms"; return 1; }
	grep -q 'round=2' "$tmp/ex.out" || return 1
	stop_daemon ex || return 1
	replay_ok ex
}

# --- skykeeper pair ---------------------------------------------------------------
# pair_cli NAME DATADIR ARGS...: runs `skykeeper pair` in the background.
pair_cli() {
	name=$1
	dd=$2
	shift 2
	env SKYKEEPER_DATA_DIR="$dd" DATABASE_URL="$DB" \
	    SKYKEEPER_WA_URL="ws://127.0.0.1:$PORT/ws/chat" \
	    SKYKEEPER_WA_ROOT_KEY="$ROOT" $FAST ${PAIR_ENV:-} \
	    timeout -s KILL 60 "$SK" pair "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	eval "CLI_$name=\$!"
	# the daemon itself, for signals (timeout(1) is its parent)
	_i=0
	_p=""
	while [ -z "$_p" ] && [ $_i -lt 200 ]; do
		eval "_p=\$(pgrep -P \$CLI_$name)"
		[ -n "$_p" ] || sleep 0.005
		_i=$((_i + 1))
	done
	eval "PCLI_$name=\$_p"
}

check_cli() {
	SID=cli$$
	mkdir -p "$tmp/cli.data"
	pair_cli p1 "$tmp/cli.data" --session "$SID"
	wait_for "$tmp/p1.out" 'qr_text="' 10 || return 1
	ans=$(curl -s --max-time 30 -d "{\"qr\":\"$(last_qr "$tmp/p1.out")\"}" \
	    "http://127.0.0.1:$CPORT/pair-qr")
	[ "$(json_bool "$ans" ok)" = true ] || { echo "pair-qr: $ans"; return 1; }
	wait "$CLI_p1"
	rc=$?
	[ "$rc" = 0 ] || { echo "skykeeper pair exited $rc"; tail -5 "$tmp/p1.out"; return 1; }
	grep -q "$OPEN" "$tmp/p1.out" || return 1
	grep -q 'msg="paired and logged in' "$tmp/p1.out" || return 1
	grep -q "session=$SID msg=\"paired and stored (file and database)" "$tmp/p1.out" || return 1
	grep -q "session=$SID msg=\"lease released\"" "$tmp/p1.out" || return 1
	st=$(store_of "$SID" "$tmp/cli.data")
	printf '%s' "$st" | grep -q '"account":"15550009999"' || { echo "account: $st"; return 1; }
	replay_ok p1 || return 1
	# already paired: exit 1 with the reason, nothing touched
	pair_cli p2 "$tmp/cli.data" --session "$SID"
	wait "$CLI_p2"
	rc=$?
	[ "$rc" = 1 ] || { echo "pair on a paired session exited $rc"; return 1; }
	grep -q 'already paired; skykeeper pair --force' "$tmp/p2.out" || return 1
	hasnt "$tmp/p2.out" 'event=pair_device' || return 1
	# --force, interrupted while the QR shows: the stored session stays
	pair_cli pi "$tmp/cli.data" --session "$SID" --force
	wait_for "$tmp/pi.out" 'qr_text="' 10 || return 1
	kill -INT "$PCLI_pi"
	wait "$CLI_pi"
	rc=$?
	[ "$rc" = 1 ] || { echo "interrupted pair exited $rc"; return 1; }
	st=$(store_of "$SID" "$tmp/cli.data")
	printf '%s' "$st" | grep -q '"account":"15550009999"' ||
	    { echo "an interrupted --force lost the session: $st"; return 1; }
	printf '%s' "$st" | grep -q '"logged_out":false' || { echo "$st"; return 1; }
	# --force --phone: a new device with a pairing code
	pair_cli p3 "$tmp/cli.data" --session "$SID" --force --phone 15550003333
	wait_for "$tmp/p3.out" 'pairing_code=' 10 || return 1
	code=$(sed -n 's/.*pairing_code=\([0-9A-Z-]*\) phone=.*/\1/p' "$tmp/p3.out" | head -n 1)
	ans=$(curl -s --max-time 30 -d "{\"code\":\"$code\"}" "http://127.0.0.1:$CPORT/pair-code")
	[ "$(json_bool "$ans" ok)" = true ] || { echo "pair-code: $ans"; return 1; }
	wait "$CLI_p3"
	rc=$?
	[ "$rc" = 0 ] || { echo "pair --phone exited $rc"; return 1; }
	st=$(store_of "$SID" "$tmp/cli.data")
	printf '%s' "$st" | grep -q '"account":"15550003333"' || { echo "account: $st"; return 1; }
	# nobody scans: exit 1 with the reason
	mkdir -p "$tmp/cli4.data"
	# LOG_LEVEL=warn hides info lines, never the codes a person must see
	PAIR_ENV=LOG_LEVEL=warn pair_cli p4 "$tmp/cli4.data" --session "n$SID"
	wait_for "$tmp/p4.out" 'qr_text="' 10 || return 1
	grep -q "session=n$SID qr=\"" "$tmp/p4.out" || { echo "no QR art at LOG_LEVEL=warn"; return 1; }
	wait "$CLI_p4"
	rc=$?
	[ "$rc" = 1 ] || { echo "pair without a scan exited $rc"; return 1; }
	grep -q 'msg="pairing failed" reason="pairing did not complete"' "$tmp/p4.out" || return 1
	# the heroku run connection drops (SIGHUP): a clean drain, lease released
	mkdir -p "$tmp/cli5.data"
	pair_cli p5 "$tmp/cli5.data" --session "h$SID"
	wait_for "$tmp/p5.out" 'qr_text="' 10 || return 1
	kill -HUP "$PCLI_p5"
	wait "$CLI_p5"
	rc=$?
	[ "$rc" = 1 ] || { echo "pair after SIGHUP exited $rc"; return 1; }
	grep -q "session=h$SID msg=\"lease released\"" "$tmp/p5.out" || { echo "no lease release after SIGHUP"; return 1; }
	# bad arguments
	"$SK" pair --phone +1555 >/dev/null 2>&1
	[ $? = 2 ] || { echo "bad --phone accepted"; return 1; }
	# (p4 ran at LOG_LEVEL=warn: no trace lines to replay)
	replay_ok p3
}

SERVER_ARGS="--pair-refs 3"
start_server
run_check qr check_qr
run_check code check_code
run_check bad_hmac check_fault hmac
run_check bad_account_signature check_fault account-sig
run_check refs_exhausted check_exhausted
run_check pair_cli check_cli
echo "pair: $pass passed, $nfail failed"
[ "$nfail" -eq 0 ]
