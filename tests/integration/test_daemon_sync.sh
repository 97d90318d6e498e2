#!/bin/sh
# `hubsync daemon` while syncs run and fail: status answers in parallel with
# a running sync, a second sync is refused with 409, an unreachable master
# makes it offline and retry with backoff until the master is back; plus
# the token, the listen rules and start-up errors.
. "$(dirname "$0")/test_daemon_lib.sh"

mkdir share
make_app_db alice.db
run 0 init alice.db --master share/server.db --user alice

step "a sync waiting for the master lock"
start_daemon alice.db --no-sync-at-start --retry 1 --lock-timeout 30000
sql alice.db "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Conveyor');"
hold_master_lock share/server.db
curl -s -o "$T/manual.json" -w '%{http_code}' --max-time 60 -X POST \
	-H 'Content-Type: application/json' --data '{}' \
	"http://127.0.0.1:$PORT/api/sync/manual" >"$T/manual.code" &
CURL_PID=$!
_waits_for_lock() {
	http GET /api/sync/progress
	[ "$(json '$.phase')" = lock ]
}
wait_until 10 "the sync to wait for the lock" _waits_for_lock
expect_eq "progress isSyncing" "$(json_type '$.isSyncing')" true
expect_eq "progress trigger" "$(json '$.trigger')" manual
[ "$(json_type '$.startedAt')" = text ] || fail "progress has no startedAt"

step "ten status requests at once during the sync"
i=0
while [ $i -lt 10 ]; do
	curl -s -o "$T/par.$i" -w '%{http_code} %{time_total}\n' --max-time 5 \
		"http://127.0.0.1:$PORT/api/sync/status" >"$T/par.$i.code" &
	i=$((i + 1))
done
_all_answered() {
	[ "$(cat "$T"/par.*.code | wc -l)" -eq 10 ]
}
wait_until 10 "the parallel requests" _all_answered
i=0
while [ $i -lt 10 ]; do
	read -r code secs <"$T/par.$i.code"
	expect_eq "parallel status $i" "$code" 200
	expect_eq "isSyncing in parallel status $i" \
		"$(json_type '$.isSyncing' "$T/par.$i")" true
	i=$((i + 1))
done
echo "  10 parallel status requests during a sync: $(sort -k2 -n "$T"/par.*.code | tail -n 1 | cut -d' ' -f2) s slowest"
http GET /api/sync/status
expect_eq "progress in status" "$(json '$.progress.phase')" lock
expect_eq "next sync shown as running" "$(json_type '$.isSyncing')" true
http GET /api/sync/history
expect_code 200
http GET /api/sync/conflicts
expect_code 200

step "a second sync is refused with 409"
http POST /api/sync/manual '{}'
expect_error 409
grep -q 'already running' "$OUT" || fail "409 does not say why"

step "the schedule can change during a sync"
http PUT /api/sync/schedule '{"intervalMinutes": 30}'
expect_code 200

step "the sync ends when the lock is released"
release_master_lock share/server.db
wait "$CURL_PID"
expect_eq "manual sync status" "$(cat "$T/manual.code")" 200
expect_eq "manual sync success" "$(json_type '$.success' "$T/manual.json")" true
expect_eq "pushed" "$(json '$.stats.pushed.quotes' "$T/manual.json")" 1
http GET /api/sync/status
expect_eq "idle again" "$(json_type '$.isSyncing')" false
expect_eq "no progress when idle" "$(json_type '$.progress')" ""
expect_eq "master got the row" \
	"$(sqlite3 share/server.db "SELECT projectName FROM quotes WHERE quoteId = 'Q1'")" \
	Conveyor

step "the master cannot be reached: error, offline, retries"
mv share share.unmounted
http POST /api/sync/manual '{}'
expect_code 200
expect_eq "failed sync" "$(json_type '$.success')" false
grep -q 'is not there' "$OUT" || fail "the message does not say why"
http GET /api/sync/status
expect_eq "offline" "$(json_type '$.offline')" true
[ "$(json_type '$.offlineSince')" = text ] || fail "no offlineSince"
grep -q 'is not there' "$OUT" || fail "lastError does not say why"
SINCE=$(json '$.offlineSince')
http GET /api/sync/history
expect_eq "the failure is in the history" "$(json '$[0].status')" error
[ "$(json_type '$[0].error_message')" = text ] || fail "no error_message"
wait_until 20 "a retry" grep -q 'sync started (retry)' "$DLOG"
_retried_twice() {
	[ "$(grep -c 'sync started (retry)' "$DLOG")" -ge 2 ]
}
wait_until 20 "a second retry" _retried_twice
grep -q 'next attempt in 2 s' "$DLOG" || fail "no backoff (1 s, then 2 s)"
http GET /api/sync/status
expect_eq "offline since the first failure" "$(json '$.offlineSince')" "$SINCE"

step "the master is back: the next retry succeeds"
mv share.unmounted share
_online() {
	http GET /api/sync/status
	[ "$(json_type '$.offline')" = false ]
}
wait_until 30 "the daemon to be back online" _online
expect_eq "no offlineSince" "$(json_type '$.offlineSince')" null
expect_eq "lastError cleared" "$(json_type '$.lastError')" null
http GET /api/sync/history
expect_eq "last sync succeeded" "$(json '$[0].status')" success
stop_daemon

step "the master is back long before the next retry: synced within a minute"
# A backoff of an hour: only the daemon's check that the share is back
# (every HSD_SCHED_REREAD_MS = 30 s) syncs again, and clears the error.
mv share share.unmounted
start_daemon alice.db --retry 3600
_offline() {
	http GET /api/sync/status
	[ "$(json_type '$.offline')" = true ]
}
wait_until 20 "the daemon to be offline" _offline
mv share.unmounted share
wait_until 70 "the daemon to see the master back" _online
expect_eq "lastError cleared" "$(json_type '$.lastError')" null
grep -q 'the master is there again' "$DLOG" || fail "no log line for it"
stop_daemon

step "a token: required on /api/, not on the page"
TOKEN=0123456789abcdef0123
start_daemon alice.db --no-sync-at-start --token $TOKEN
http GET /api/sync/status
expect_error 401
grep -qi '^www-authenticate: Bearer' "$HDR" || fail "401 without WWW-Authenticate"
http GET /api/sync/status '' -H 'Authorization: Bearer wrong-token-wrong-token'
expect_error 401
http GET /api/sync/status '' -H "Authorization: Bearer ${TOKEN}x"
expect_error 401
http POST /api/sync/manual '{}'
expect_error 401
http GET /api/sync/status '' -H "Authorization: Bearer $TOKEN"
expect_code 200
http GET /
expect_code 200
stop_daemon
export HUBSYNC_TOKEN=$TOKEN
start_daemon alice.db --no-sync-at-start
unset HUBSYNC_TOKEN
http GET /api/sync/status
expect_error 401
http GET /api/sync/status '' -H "Authorization: Bearer $TOKEN"
expect_code 200
stop_daemon

step "listening beyond this computer needs a token"
run 2 daemon alice.db --listen 0.0.0.0:0
grep -q 'without a token' "$ERR" || fail "no reason given"
[ "$(wc -l <"$ERR")" -eq 1 ] || fail "more than one line"
run 2 daemon alice.db --listen 0.0.0.0:0 --token short
grep -q 'too short' "$ERR" || fail "a short token is accepted"

step "usage and start-up errors"
run 2 daemon
one_line_error
run 2 daemon alice.db --bogus
one_line_error
run 2 daemon alice.db --listen nonsense
one_line_error
run 2 daemon alice.db --listen 127.0.0.1:99999
run 2 daemon alice.db --retry 0
run 2 daemon alice.db --listen
one_line_error
run 0 daemon --help
grep -q '^usage: hubsync daemon DB' "$OUT" || fail "--help"
run 1 daemon missing.db --listen 127.0.0.1:0
grep -q 'missing.db' "$ERR" || fail "the missing file is not named"
sql plain.db "CREATE TABLE t(id INTEGER PRIMARY KEY);"
run 1 daemon plain.db --listen 127.0.0.1:0
run 1 daemon alice.db --listen 127.0.0.1:0 --log /nonexistent/dir/x.log

step "the port is in use"
start_daemon alice.db --no-sync-at-start
run 1 daemon alice.db --listen 127.0.0.1:$PORT --no-sync-at-start
grep -q 'cannot listen' "$ERR" || fail "no reason given"
stop_daemon

echo "ok $TEST_NAME"
