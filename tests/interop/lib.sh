# tests/interop/lib.sh: what the interop harnesses share (sourced after
# NAME and BIN are set; `here` is the caller's folder).  Loopback only;
# everything started is killed on exit.
#   interop_setup [server] BIN made absolute (with "server": bin/wa-testserver
#                          must be built), node and the pinned Baileys
#                          (npm ci from the lockfile) present, $tmp made,
#                          the EXIT trap set; exits 2 when something is
#                          missing
#   interop_server ARGS    starts bin/wa-testserver ARGS in the background
#                          (pid $spid, stderr $tmp/server.err); sets
#                          $port and $cport once it printed them
#   interop_server_stop    SIGTERM; prints a FAIL line and returns 1 unless
#                          it exits 0
interop=$(cd "$here/.." && pwd)
root=$(cd "$interop/../.." && pwd)

interop_setup() {
	case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac
	server=$BIN/wa-testserver
	[ "${1:-}" != server ] || [ -x "$server" ] ||
	    { echo "$NAME: $server is not built"; exit 2; }
	command -v node >/dev/null || { echo "$NAME: node is not installed"; exit 2; }
	if [ ! -d "$interop/node_modules/@whiskeysockets/baileys" ]; then
		(cd "$interop" && npm ci --no-audit --no-fund >/dev/null 2>&1) || {
			echo "$NAME: npm ci failed in $interop"; exit 2; }
	fi
	tmp=$(mktemp -d "/tmp/sk-interop.XXXXXX")
	spid=
	trap interop_cleanup EXIT
	trap 'exit 2' INT TERM
}

# shellcheck disable=SC2317  # called from the trap
interop_cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}

interop_server() {
	"$server" "$@" >"$tmp/ports" 2>"$tmp/server.err" &
	spid=$!
	_i=0
	while ! grep -q '^root_key=' "$tmp/ports" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt 50 ] && { echo "$NAME: server did not start"; cat "$tmp/server.err"; exit 2; }
		sleep 0.1
	done
	port=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$tmp/ports")
	cport=$(sed -n 's/.*control_port=\([0-9]*\).*/\1/p' "$tmp/ports")
}

interop_server_stop() {
	kill "$spid" 2>/dev/null
	wait "$spid"
	_src=$?
	spid=
	[ $_src -eq 0 ] || { echo "FAIL server exits 0 on SIGTERM (status $_src)"; return 1; }
}
