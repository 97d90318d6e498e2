#!/bin/sh
# `hubsync daemon` syncs on its schedule, in real time: the interval set
# through the API (1 minute, the smallest) fires a sync; an interval changed
# from the command line (`hubsync schedule`) is picked up without a restart.
# Takes about 1.5 minutes.
. "$(dirname "$0")/test_daemon_lib.sh"

mkdir share
make_app_db alice.db
run 0 init alice.db --master share/server.db --user alice

step "the schedule from the API fires a sync"
start_daemon alice.db --no-sync-at-start
http PUT /api/sync/schedule '{"intervalMinutes": 1}'
expect_code 200
http GET /api/sync/status
NEXT=$(json '$.nextSyncTime')
[ "$(json_type '$.lastSyncTime')" = null ] || fail "synced already"
wait_until 80 "the scheduled sync" grep -q 'sync done' "$DLOG"
grep -q 'sync started (scheduled)' "$DLOG" || fail "not a scheduled sync"
http GET /api/sync/history
expect_eq "one sync" "$(json_len)" 1
expect_eq "it succeeded" "$(json '$[0].status')" success
LATE=$(sqlite3 :memory: "SELECT CAST((julianday('$(json '$[0].timestamp')') - julianday('$NEXT')) * 86400 AS INTEGER)")
[ "$LATE" -ge -1 ] && [ "$LATE" -le 10 ] ||
	fail "the sync ran ${LATE}s away from the announced nextSyncTime $NEXT"
http GET /api/sync/status
NEXT2=$(json '$.nextSyncTime')
[ "$NEXT2" \> "$NEXT" ] || fail "nextSyncTime did not move on ($NEXT2)"

step "an interval set from the command line is picked up"
run 0 schedule alice.db 0
_schedule_off() {
	http GET /api/sync/status
	[ "$(json_type '$.nextSyncTime')" = null ]
}
wait_until 40 "the daemon to re-read the schedule" _schedule_off
grep -q 'schedule changed to 0 minutes' "$DLOG" || fail "change not logged"
stop_daemon

echo "ok $TEST_NAME"
