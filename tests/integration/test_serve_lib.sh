# test_serve_lib.sh - a real `hubsync serve` for the test scripts that need
# one (not a test itself), on top of test_cli_lib.sh (fail, $T, $HUBSYNC).
# The store is $STORE (set it first); the log goes to $T/serve.log.
#
#   start_server [ARGS...]  serve $STORE on 127.0.0.1 (a free port the first
#                      time, the same one again after a restart) with ARGS,
#                      wait until it listens; sets SPID, SPORT, URL
#   stop_server [SIG]  send SIG (default TERM) and reap it
#   start_named NAME [ARGS...]  one of several serve processes on $STORE
#                      (a PostgreSQL store): start_server for it, its pid
#                      in SPID_NAME, its port in PORT_NAME (the same port
#                      again after a restart), its address in URL
SPID=
SPORT=
URL=

_serve_once() {
	"$HUBSYNC" serve "$STORE" --listen "127.0.0.1:${SPORT:-0}" \
		--port-file "$T/sport" "$@" >>"$T/serve.log" 2>&1 &
	SPID=$!
}

start_server() {
	rm -f "$T/sport"
	_serve_once "$@"
	_i=0
	while [ ! -s "$T/sport" ]; do
		_i=$((_i + 1))
		[ $_i -lt 600 ] || fail "hubsync serve did not start: $(tail -n 3 "$T/serve.log")"
		if ! kill -0 "$SPID" 2>/dev/null; then
			# the port may still be held by a killed server's socket
			[ $_i -lt 100 ] || fail "hubsync serve cannot start: $(tail -n 3 "$T/serve.log")"
			sleep 0.2
			_serve_once "$@"
		fi
		sleep 0.05
	done
	SPORT=$(cat "$T/sport")
	URL=http://127.0.0.1:$SPORT
}

stop_server() {
	kill -"${1:-TERM}" "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
}

start_named() {
	_name=$1
	shift
	eval "SPORT=\${PORT_$_name:-}"
	start_server "$@"
	eval "SPID_$_name=\$SPID PORT_$_name=\$SPORT"
	SPID=
}
