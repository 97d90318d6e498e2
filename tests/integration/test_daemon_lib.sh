# test_daemon_lib.sh - helpers sourced by the test_daemon_*.sh scripts (not a
# test itself), on top of test_cli_lib.sh (run, sql, json, expect_*, ...).
# The daemon is the real `hubsync daemon`, on a free 127.0.0.1 port that it
# picks itself (--listen 127.0.0.1:0 --port-file), talked to with curl.
#
#   start_daemon DB [ARGS...]  start the daemon in the background, wait until
#                      it listens; sets PORT, DPID, DLOG (its log file)
#   stop_daemon [SIG]  send SIG (default TERM), require a clean exit 0 within
#                      10 s and "stopped" in the log
#   http METHOD PATH [BODY [CURL_ARGS...]]   one request; the body (when not
#                      empty) is sent as application/json. Sets CODE, the
#                      response body in $OUT, its headers in $HDR
#   expect_code WANT   require CODE = WANT
#   expect_error WANT  require CODE = WANT and a JSON {"error": "..."} body
#   wait_until SECONDS WHAT COMMAND...   retry COMMAND every 0.2 s until it
#                      succeeds, fail with WHAT after SECONDS
#   hold_master_lock MASTER / release_master_lock MASTER   take the master's
#                      lock directory as a live process of this host would
#                      (lock.c), so that a sync waits for it
. "$(dirname "$0")/test_cli_lib.sh"

command -v curl >/dev/null ||
	{ echo "FAIL: curl is missing (run scripts/setup.sh test)"; exit 1; }

HDR=$T/headers
DLOG=
DPID=
PORT=
ALL_PIDS=

# Also stop every daemon still running when the test ends, however it ends.
trap 'for _p in $ALL_PIDS; do kill "$_p" 2>/dev/null; done; rm -rf "$T"' EXIT

fail() {
	echo "FAIL $TEST_NAME${STEP:+ [$STEP]}: $*"
	if [ -s "$OUT" ]; then echo "--- last response:"; head -c 2000 "$OUT"; echo; fi
	if [ -n "$DLOG" ] && [ -s "$DLOG" ]; then
		echo "--- daemon log:"
		tail -n 40 "$DLOG"
	fi
	exit 1
}

wait_until() {
	_secs=$1
	_what=$2
	shift 2
	_tries=$((_secs * 5))
	while ! "$@"; do
		_tries=$((_tries - 1))
		[ "$_tries" -gt 0 ] || fail "waited ${_secs}s: $_what"
		sleep 0.2
	done
}

_port_known() {
	[ -s "$T/port" ] || ! kill -0 "$DPID" 2>/dev/null
}

start_daemon() {
	rm -f "$T/port"
	DLOG=$T/daemon.$(date +%s%N).log
	"$HUBSYNC" daemon "$@" --listen 127.0.0.1:0 --port-file "$T/port" \
		>"$DLOG" 2>&1 &
	DPID=$!
	ALL_PIDS="$ALL_PIDS $DPID"
	wait_until 20 "the daemon to listen" _port_known
	[ -s "$T/port" ] || fail "the daemon exited before listening"
	PORT=$(cat "$T/port")
}

stop_daemon() {
	kill -"${1:-TERM}" "$DPID" || fail "the daemon is not running"
	_tries=50
	while kill -0 "$DPID" 2>/dev/null; do
		_tries=$((_tries - 1))
		[ "$_tries" -gt 0 ] || fail "the daemon did not stop within 10 s"
		sleep 0.2
	done
	wait "$DPID"
	_rc=$?
	[ "$_rc" -eq 0 ] || fail "the daemon exited $_rc after SIG${1:-TERM}"
	grep -q ' info stopped$' "$DLOG" || fail "no 'stopped' line in the log"
}

http() {
	_method=$1
	_path=$2
	_body=${3:-}
	[ $# -ge 3 ] && shift 3 || shift $#
	if [ -n "$_body" ]; then
		set -- -H 'Content-Type: application/json' --data-binary "$_body" "$@"
	fi
	CODE=$(curl -s -o "$OUT" -D "$HDR" -w '%{http_code}' --max-time 60 \
		-X "$_method" "$@" "http://127.0.0.1:$PORT$_path") ||
		CODE=000
}

expect_code() {
	[ "$CODE" = "$1" ] || fail "HTTP $CODE, expected $1"
}

expect_error() {
	expect_code "$1"
	[ "$(json_type '$.error')" = text ] || fail "no {\"error\": ...} body"
	grep -qi '^content-type: application/json' "$HDR" ||
		fail "the error is not sent as application/json"
}

hold_master_lock() {
	mkdir "$1.lock" || fail "cannot take the lock of $1"
	echo "$(uname -n) $$ $(date +%s)000" >"$1.lock/owner"
}

release_master_lock() {
	rm -rf "$1.lock"
}
