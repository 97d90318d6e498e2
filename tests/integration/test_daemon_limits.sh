#!/bin/sh
# `hubsync daemon` keeps answering whatever other local programs do with
# its port (issue 12): 200 idle connections held open, the API still
# answers within 1 s; idle connections are closed after the idle timeout
# (15 s, src/daemon/http.h), but a request that waits longer than that (a
# manual sync waiting 20 s for the master lock) still gets its answer.
# The idle connections are bash's /dev/tcp (bash is essential in Debian).
. "$(dirname "$0")/test_daemon_lib.sh"

IDLE=200
command -v bash >/dev/null || fail "bash is missing"

mkdir share
make_app_db alice.db
run 0 init alice.db --master share/server.db --user alice
start_daemon alice.db --no-sync-at-start --lock-timeout 60000

step "$IDLE idle connections"
# Each connection sends nothing; the holder reports how many it opened,
# then waits for the daemon to close them (read returns at EOF).
bash -c '
	n=0
	for i in $(seq "$2"); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$1" || break
		fds="$fds $fd"
		n=$((n + 1))
	done
	echo "$n" >"$3.tmp" && mv "$3.tmp" "$3"
	start=$(date +%s)
	for fd in $fds; do read -r -t 60 line <&"$fd"; done
	echo $(($(date +%s) - start)) >"$4"
' _ "$PORT" "$IDLE" "$T/opened" "$T/closed_after" &
HOLDER=$!
ALL_PIDS="$ALL_PIDS $HOLDER"
wait_until 30 "the idle connections to open" test -s "$T/opened"
expect_eq "connections opened" "$(cat "$T/opened")" "$IDLE"

# The API answers at once (10 tries, each must take under 1 s).
for i in 1 2 3 4 5 6 7 8 9 10; do
	TIME=$(curl -s -o "$OUT" -w '%{http_code} %{time_total}' --max-time 5 \
		"http://127.0.0.1:$PORT/api/sync/status") || TIME="000 5"
	set -- $TIME
	expect_eq "status answered with $IDLE idle connections" "$1" 200
	awk -v t="$2" 'BEGIN { exit !(t < 1.0) }' ||
		fail "status took $2 s with $IDLE idle connections"
	echo "  status in $2 s"
done

step "a request that waits longer than the idle timeout gets its answer"
hold_master_lock share/server.db
(sleep 20 && release_master_lock share/server.db) &
ALL_PIDS="$ALL_PIDS $!"
http POST /api/sync/manual '{}'
expect_code 200
expect_eq "the sync ran after the lock was released" \
	"$(json_type '$.success')" true

step "idle connections are closed by the daemon"
wait_until 60 "the daemon to close the idle connections" test -s "$T/closed_after"
wait "$HOLDER" 2>/dev/null
echo "  closed after $(cat "$T/closed_after") s"
[ "$(cat "$T/closed_after")" -lt 60 ] || fail "idle connections stayed open"

stop_daemon TERM
echo "ok $TEST_NAME"
