#!/bin/sh
# tests/interop/import/run.sh [BIN]: Baileys auth state in and out of the
# store.  Stock Baileys makes the credentials (gen.mjs); skykeeper imports
# them (auth folder and every session id form of forms.mjs), shows them in
# status, exports them; Baileys loads the export with useMultiFileAuthState
# and every field skykeeper carries is deep-equal to the original
# (check.mjs); the exported device logs into bin/wa-testserver (login.mjs).
#
# File copy only, or with the database too when SKYKEEPER_TEST_DATABASE_URL
# is set (run it through tests/pg/run.sh).  Everything it starts is killed
# on exit.  Prints PASS/FAIL lines and "import interop: N passed, M failed".
set -u
BIN=${1:-bin}
NAME="import interop"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
interop_setup
sk=$BIN/skykeeper
[ -x "$sk" ] || { echo "$NAME: $sk is not built"; exit 2; }

export SKYKEEPER_DATA_DIR="$tmp/data" SESSION_SECRET="import interop secret"
unset SKYKEEPER_SESSIONS SESSION_ID LOG_LEVEL
if [ -n "${SKYKEEPER_TEST_DATABASE_URL:-}" ]; then
	export DATABASE_URL="$SKYKEEPER_TEST_DATABASE_URL"
	copies=file,pg
else
	unset DATABASE_URL
	copies=file
fi
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$tmp/err" ] && sed 's/^/    /' "$tmp/err" | tail -n 15; }
# expect NAME STATUS CMD...: CMD exits STATUS (stdout in $tmp/out)
expect() {
	name=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then ok "$name"; else
		echo "    exit $got, wanted $want; stdout: $(cat "$tmp/out")"; ko "$name"; fi
}
# has NAME PATTERN: the last stdout matches
has() {
	if grep -Eq -- "$2" "$tmp/out"; then ok "$1"; else
		echo "    stdout: $(cat "$tmp/out")"; ko "$1"; fi
}
nodecheck() {
	if node "$here/check.mjs" "$@" >"$tmp/node" 2>&1; then
		pass=$((pass + $(grep -c '^PASS' "$tmp/node"))); cat "$tmp/node"
	else
		pass=$((pass + $(grep -c '^PASS' "$tmp/node")))
		fail=$((fail + $(grep -c '^FAIL' "$tmp/node") + 0))
		grep -q '^FAIL' "$tmp/node" || fail=$((fail + 1))
		cat "$tmp/node"
	fi
}

cd "$interop" || exit 2
phone=15550109999
node "$here/gen.mjs" "$tmp/orig" $phone 3 >"$tmp/gen" 2>&1 || {
	echo "import interop: gen.mjs failed"; cat "$tmp/gen"; exit 2; }

# --- the auth folder ------------------------------------------------------
expect "import --baileys DIR" 0 "$sk" import --baileys "$tmp/orig" --session interop
has "import names the account, the pre-keys and the copies" \
    "^imported session=interop generation=1 source=baileys-dir account=$phone jid=$phone:3@s.whatsapp.net .*prekeys=5 paired=yes copies=$copies encrypted=yes"
if grep -q 'private\|SESSION_SECRET\|import interop secret' "$tmp/out" "$tmp/err"; then
	ko "import prints no key and no secret"; else ok "import prints no key and no secret"; fi
expect "a second import is refused without --force" 1 \
    "$sk" import --baileys "$tmp/orig" --session interop
if grep -q "already exists (generation 1, account $phone)" "$tmp/err"; then
	ok "the refusal says why"; else ko "the refusal says why"; fi
expect "import --force replaces it" 0 "$sk" import --baileys "$tmp/orig" --session interop --force
has "the replacement is generation 2" "^imported session=interop generation=2 .*replaced=yes"

expect "status" 0 "$sk" status
if [ "$copies" = file,pg ]; then
	has "status shows the session in both copies, agreeing, lease free" \
	    "^session=interop generation=2 copies=file,pg agree=yes file_generation=2 pg_generation=2 lease=free .*last_state=- saved_ago_s=[0-9]+ logged_out=no account=$phone$"
else
	has "status shows the session in the file copy" \
	    "^session=interop generation=2 copies=file agree=- file_generation=2 lease=file-lock last_state=- saved_ago_s=[0-9]+ logged_out=no account=$phone$"
fi
expect "status --json" 0 "$sk" status --json
if node -e 'const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const s = a.find((x) => x.id === "interop");
	process.exit(s && s.generation === 2 && s.logged_out === false && s.account === process.argv[2] ? 0 : 1)' \
	"$tmp/out" $phone; then ok "status --json parses and says the same"; else
	echo "    $(cat "$tmp/out")"; ko "status --json parses and says the same"; fi

expect "export --baileys OUT" 0 "$sk" export --baileys "$tmp/export" --session interop
has "export names what it wrote" "^exported session=interop generation=2 dir=.* account=$phone .*prekeys=5$"
nodecheck folder "$tmp/orig" "$tmp/export" --prekeys 5

# --- the session id forms ----------------------------------------------------
mkdir "$tmp/forms"
node "$here/forms.mjs" "$tmp/orig" "$tmp/forms" >/dev/null || { echo "forms.mjs failed"; exit 2; }
for f in plain tilde colon semigzip glued zlibmap filemap; do
	expect "import --session-id ($f)" 0 "$sk" import --session-id "$(cat "$tmp/forms/$f")" --session "sid-$f"
	expect "export of the $f import" 0 "$sk" export --baileys "$tmp/out-$f" --session "sid-$f"
	case $f in
	zlibmap|filemap) nodecheck "$f" "$tmp/orig" "$tmp/out-$f" --prekeys 5 ;;
	*) nodecheck "$f" "$tmp/orig" "$tmp/out-$f" ;;
	esac
done
SESSION_ID=$(cat "$tmp/forms/semigzip") expect "import --session-id reads SESSION_ID" 0 \
    "$sk" import --session-id --session sid-env
has "it names the form and the prefix" \
    "form=\"base64\\(gzip\\(creds.json\\)\\)\" prefix=\"SKYTEST\" separator=\";;;\""
expect "a download reference is refused" 1 "$sk" import --session-id "$(cat "$tmp/forms/mega")" --session sid-mega
if grep -q "does not download" "$tmp/err" && ! grep -q "Ab3dE6gH" "$tmp/err"; then
	ok "the refusal explains, without echoing the string"; else ko "the refusal explains, without echoing the string"; fi

# --- the exported device logs in ---------------------------------------------
if [ -x "$server" ]; then
	"$server" --registry "$tmp/reg" --adopt-device "$tmp/export" >"$tmp/out" 2>"$tmp/err"
	has "wa-testserver --adopt-device registers the exported device" "^device=$phone:3 "
	interop_server --registry "$tmp/reg"
	if timeout -k 5 30 node "$here/login.mjs" "$port" "$tmp/export" >"$tmp/node" 2>&1; then
		pass=$((pass + 1)); cat "$tmp/node"
	else
		fail=$((fail + 1)); cat "$tmp/node"; tail -n 20 "$tmp/server.err"
	fi
else
	ko "wa-testserver is not built: no login check"
fi

echo "import interop: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
