#!/bin/sh
# `hubsync daemon`'s HTTP API (DESIGN.md 3.4), every endpoint and its error
# paths, against the real daemon on a free loopback port. Two users: alice
# runs the daemon, bob syncs with the command line; sqlite3 plays the app.
. "$(dirname "$0")/test_daemon_lib.sh"

mkdir share
make_app_db alice.db
make_app_db bob.db
run 0 init alice.db --master share/server.db --user alice
run 0 init bob.db --master share/server.db --user bob
sql alice.db "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Conveyor');"

step "start; never synced"
start_daemon alice.db --no-sync-at-start
http GET /api/sync/status
expect_code 200
for key in enabled isSyncing lastSyncTime stats scheduledSync intervalMinutes \
	username nasDbPath nextSyncTime offline; do
	[ -n "$(json_type "\$.$key")" ] || fail "status has no key $key"
done
expect_eq "lastSyncTime" "$(json_type '$.lastSyncTime')" null
expect_eq "isSyncing" "$(json_type '$.isSyncing')" false
expect_eq "offline" "$(json_type '$.offline')" false
expect_eq "username" "$(json '$.username')" alice
expect_eq "stats.conflicts" "$(json '$.stats.conflicts')" 0
expect_eq "next sync planned" "$(json_type '$.nextSyncTime')" text
http GET /api/sync/history
expect_code 200
expect_eq "empty history" "$(json_len)" 0
http GET /api/sync/progress
expect_code 200
expect_eq "progress idle" "$(json_type '$.isSyncing')" false

step "the page and its assets"
http GET /
expect_code 200
grep -qi '^content-type: text/html' "$HDR" || fail "/ is not text/html"
grep -q '<title>hubsync</title>' "$OUT" || fail "/ is not the status page"
grep -qi '^content-security-policy:' "$HDR" || fail "no CSP header"
http GET /app.js
expect_code 200
grep -qi '^content-type: text/javascript' "$HDR" || fail "app.js type"
http GET /style.css
expect_code 200
grep -qi '^content-type: text/css' "$HDR" || fail "style.css type"

step "sync now"
http POST /api/sync/manual '{}'
expect_code 200
expect_eq "success" "$(json_type '$.success')" true
expect_eq "message" "$(json '$.message')" "Sync completed successfully"
expect_eq "pushed quotes" "$(json '$.stats.pushed.quotes')" 1
[ "$(json_type '$.duration')" = text ] || fail "no duration"
http GET /api/sync/status
expect_eq "lastSyncTime set" "$(json_type '$.lastSyncTime')" text
expect_eq "not syncing" "$(json_type '$.isSyncing')" false
http GET /api/sync/history
expect_eq "one sync" "$(json_len)" 1
for key in id timestamp direction status records_pulled records_pushed \
	conflicts duration_ms; do
	[ -n "$(json_type "\$[0].$key")" ] || fail "history row has no $key"
done
expect_eq "history status" "$(json '$[0].status')" success
expect_eq "history direction" "$(json '$[0].direction')" bidirectional
expect_eq "what started it" "$(json '$[0].trigger')" manual
grep -q 'sync started (manual)' "$DLOG" || fail "manual sync not logged"

step "version and uptime"
http GET /api/sync/status
expect_eq "version" "$(json '$.version')" "$("$HUBSYNC" --version | awk '{print $NF}')"
[ "$(json_type '$.uptimeSeconds')" = integer ] || fail "no uptimeSeconds"
[ "$(json_type '$.daemonStartedAt')" = text ] || fail "no daemonStartedAt"

step "bad JSON is 400 on every POST and PUT, and changes nothing"
for bad in '{bad json' '[1]' '"x"' 'null'; do
	for req in "POST /api/sync/manual" "PUT /api/sync/schedule" \
		"PUT /api/sync/pause" "POST /api/sync/conflicts/1/resolve"; do
		http $req "$bad"
		expect_error 400
	done
done
http POST /api/sync/manual '' -H 'Content-Type: application/json'
expect_error 400
http GET /api/sync/history
expect_eq "no sync ran" "$(json_len)" 1

step "history limit"
http POST /api/sync/manual '{}'
expect_code 200
http GET '/api/sync/history?limit=1'
expect_code 200
expect_eq "limit 1" "$(json_len)" 1
http GET /api/sync/history
expect_eq "two syncs, newest first" "$(json_len)" 2
[ "$(json '$[0].id')" -gt "$(json '$[1].id')" ] || fail "not newest first"
for bad in 0 -1 abc 1001 ''; do
	http GET "/api/sync/history?limit=$bad"
	expect_error 400
done

step "a conflict, listed and resolved"
run 0 sync bob.db
sql alice.db "UPDATE quotes SET projectName = 'alice edit' WHERE quoteId = 'Q1';"
sql bob.db "UPDATE quotes SET projectName = 'bob edit' WHERE quoteId = 'Q1';"
run 0 sync bob.db
http POST /api/sync/manual '{}'
expect_code 200
expect_eq "one conflict counted" "$(json '$.stats.conflicts')" 1
http GET /api/sync/conflicts
expect_code 200
expect_eq "one conflict" "$(json_len)" 1
for key in id table pk column local_value remote_value winner local_user \
	remote_user detected_at resolved; do
	[ -n "$(json_type "\$[0].$key")" ] || fail "conflict has no $key"
done
expect_eq "table" "$(json '$[0].table')" quotes
expect_eq "pk" "$(json '$[0].pk.quoteId')" Q1
expect_eq "column" "$(json '$[0].column')" projectName
CID=$(json '$[0].id')
http POST /api/sync/conflicts/$CID/resolve '{"keep": "sideways"}'
expect_error 400
http POST /api/sync/conflicts/$CID/resolve '{}'
expect_error 400
http POST /api/sync/conflicts/$CID/resolve '[1]'
expect_error 400
http POST /api/sync/conflicts/$CID/resolve 'not json'
expect_error 400
http POST /api/sync/conflicts/abc/resolve '{"keep": "local"}'
expect_error 400
http POST /api/sync/conflicts/0/resolve '{"keep": "local"}'
expect_error 400
http POST /api/sync/conflicts/999999/resolve '{"keep": "local"}'
expect_error 404
http GET /api/sync/conflicts
expect_eq "bad requests resolved nothing" "$(json_len)" 1
http POST /api/sync/conflicts/$CID/resolve '{"keep": "local"}'
expect_code 200
expect_eq "resolve success" "$(json_type '$.success')" true
expect_eq "kept" "$(json '$.keep')" local
expect_eq "alice's value in place" \
	"$(sqlite3 alice.db "SELECT projectName FROM quotes WHERE quoteId = 'Q1'")" \
	"alice edit"
http GET /api/sync/conflicts
expect_eq "no unresolved conflict" "$(json_len)" 0
http GET '/api/sync/conflicts?all=1'
expect_eq "resolved one listed with all=1" "$(json_len)" 1
expect_eq "resolved flag" "$(json_type '$[0].resolved')" true
http GET '/api/sync/conflicts?all=maybe'
expect_error 400
http POST /api/sync/manual '{}'
run 0 sync bob.db
expect_eq "the resolution reached bob" \
	"$(sqlite3 bob.db "SELECT projectName FROM quotes WHERE quoteId = 'Q1'")" \
	"alice edit"

step "schedule"
http PUT /api/sync/schedule '{"intervalMinutes": 60}'
expect_code 200
expect_eq "schedule result" "$(cat "$OUT")" '{"success":true,"intervalMinutes":60}'
run 0 status alice.db --json
expect_eq "stored in the replica" "$(json '$.intervalMinutes')" 60
http GET /api/sync/status
expect_eq "interval" "$(json '$.intervalMinutes')" 60
NEXT=$(json '$.nextSyncTime')
LAST=$(json '$.lastAttemptTime')
GAP=$(sqlite3 :memory: "SELECT CAST(round((julianday('$NEXT') - julianday('$LAST')) * 1440) AS INTEGER)")
expect_eq "next sync one interval after the last" "$GAP" 60
for bad in '{"intervalMinutes": -1}' '{"intervalMinutes": "60"}' \
	'{"intervalMinutes": 1.5}' '{"intervalMinutes": 99999}' '{}' \
	'{"intervalMinutes": null}' '[]' '{"intervalMinutes": 60'; do
	http PUT /api/sync/schedule "$bad"
	expect_error 400
done
run 0 status alice.db --json
expect_eq "bad requests changed nothing" "$(json '$.intervalMinutes')" 60
http PUT /api/sync/schedule '{"intervalMinutes": 0}'
expect_code 200
http GET /api/sync/status
expect_eq "scheduled sync off" "$(json_type '$.scheduledSync')" false
expect_eq "no next sync" "$(json_type '$.nextSyncTime')" null

step "pause and resume scheduled sync; the pause outlives a restart"
http PUT /api/sync/schedule '{"intervalMinutes": 30}'
expect_code 200
http PUT /api/sync/pause '{"paused": true}'
expect_code 200
expect_eq "pause result" "$(cat "$OUT")" '{"success":true,"paused":true}'
http GET /api/sync/status
expect_eq "paused" "$(json_type '$.paused')" true
expect_eq "no next sync while paused" "$(json_type '$.nextSyncTime')" null
expect_eq "the interval is kept" "$(json '$.intervalMinutes')" 30
for bad in '{"paused": 1}' '{"paused": "true"}' '{}' '{"paused": null}'; do
	http PUT /api/sync/pause "$bad"
	expect_error 400
done
run 0 status alice.db --json
expect_eq "stored in the replica" "$(json_type '$.paused')" true
stop_daemon TERM
start_daemon alice.db --no-sync-at-start
http GET /api/sync/status
expect_eq "still paused after a restart" "$(json_type '$.paused')" true
expect_eq "still no next sync" "$(json_type '$.nextSyncTime')" null
grep -q 'scheduled sync paused' "$DLOG" && fail "a pause read at start is not a change"
http POST /api/sync/manual '{}'
expect_eq "a sync asked for still runs" "$(json_type '$.success')" true
http PUT /api/sync/pause '{"paused": false}'
expect_eq "resume result" "$(cat "$OUT")" '{"success":true,"paused":false}'
http GET /api/sync/status
expect_eq "resumed" "$(json_type '$.paused')" false
expect_eq "next sync planned again" "$(json_type '$.nextSyncTime')" text
grep -q 'scheduled sync resumed' "$DLOG" || fail "resume not logged"

step "the office's PCs"
run 0 sync bob.db
http POST /api/sync/manual '{}'
http GET /api/sync/peers
expect_code 200
expect_eq "two PCs" "$(json_len)" 2
for key in site user lastSyncTime thisPc behind; do
	[ -n "$(json_type "\$[0].$key")" ] || fail "peer has no $key"
done
expect_eq "this PC first" "$(json '$[0].user')/$(json_type '$[0].thisPc')" alice/true
expect_eq "then bob" "$(json '$[1].user')/$(json_type '$[1].thisPc')" bob/false
expect_eq "bob synced" "$(json_type '$[1].lastSyncTime')" text
[ "$(json '$[0].site')" = "$(sqlite3 alice.db "SELECT value FROM hubsync_meta WHERE key = 'site'")" ] ||
	fail "this PC's site id"
expect_eq "alice is up to date" "$(json_type '$[0].behind')" false
mv share share.unmounted
http GET /api/sync/peers
expect_code 200
expect_eq "offline, the list is still there" "$(json_len)" 2
mv share.unmounted share

step "recent changes (the audit trail)"
sql bob.db "INSERT INTO quotes(quoteId, projectName) VALUES ('Q2', 'Palletizer');"
run 0 sync bob.db
sql alice.db "INSERT INTO quotes(quoteId, projectName) VALUES ('Q3', 'Wrapper');"
http POST /api/sync/manual '{}'
http GET /api/sync/log
expect_code 200
cp "$OUT" api-log.json
run 0 log alice.db --json
[ "$(sqlite3 :memory: "SELECT json(readfile('api-log.json'))")" = \
	"$(sqlite3 :memory: "SELECT json(readfile('$OUT'))")" ] ||
	fail "GET /api/sync/log differs from hubsync log --json"
http GET '/api/sync/log?user=bob'
[ "$(json_len)" -gt 0 ] || fail "bob's changes missing"
expect_eq "only bob's" "$(json_len)" "$(grep -o '"user":"bob"' "$OUT" | wc -l)"
http GET '/api/sync/log?key=Q2&table=quotes'
expect_eq "one change to Q2" "$(json_len)" 1
expect_eq "Q2 by bob" "$(json '$[0].user')" bob
http GET '/api/sync/log?limit=1'
expect_eq "limit 1" "$(json_len)" 1
http GET '/api/sync/log?since=2099-01-01'
expect_eq "nothing in the future" "$(cat "$OUT")" "[]"
http GET '/api/sync/log?user=&table='
expect_code 200
http GET '/api/sync/log?table=nosuch'
expect_error 400
http GET '/api/sync/log?since=yesterday'
expect_error 400
for bad in 0 -1 abc 5001; do
	http GET "/api/sync/log?limit=$bad"
	expect_error 400
done

step "wrong method, unknown path"
http GET /api/sync/manual
expect_error 405
grep -qi '^allow: POST' "$HDR" || fail "405 without Allow: POST"
http POST /api/sync/status '{}'
expect_error 405
http DELETE /api/sync/schedule
expect_error 405
http GET /api/sync/conflicts/1/resolve
expect_error 405
http POST /
expect_error 405
http GET /api/nothing
expect_error 404
http GET /api/sync/conflicts/1
expect_error 404
http GET /nothing.html
expect_error 404

step "state changes need JSON and a matching Origin"
http POST /api/sync/manual
expect_error 400
http POST /api/sync/manual '' -H 'Content-Type: text/plain' --data 'x'
expect_error 400
http PUT /api/sync/schedule '' -H 'Content-Type: application/x-www-form-urlencoded' \
	--data 'intervalMinutes=5'
expect_error 400
http POST /api/sync/manual '{}' -H 'Origin: http://evil.example'
expect_error 403
http PUT /api/sync/schedule '{"intervalMinutes": 5}' -H "Origin: http://127.0.0.1:$((PORT + 1))"
expect_error 403
http PUT /api/sync/schedule '{"intervalMinutes": 5}' -H "Origin: http://127.0.0.1:$PORT"
expect_code 200
http PUT /api/sync/schedule '{"intervalMinutes": 5}' \
	-H 'Content-Type: application/json; charset=utf-8'
expect_code 200

step "a body too large"
head -c 70000 /dev/zero | tr '\0' ' ' >big.json
http PUT /api/sync/schedule '' -H 'Content-Type: application/json' \
	--data-binary @big.json
expect_error 400

step "DNS rebinding: a foreign Host is refused"
http GET /api/sync/status '' -H 'Host: attacker.example'
expect_error 400
http GET /api/sync/status '' -H "Host: localhost:$PORT"
expect_code 200

step "the replica cannot be opened: 500 with the reason"
mv alice.db alice.db.away
for path in /api/sync/status /api/sync/history /api/sync/conflicts; do
	http GET $path
	expect_error 500
	grep -q 'alice.db' "$OUT" || fail "$path: the error does not name the file"
done
http PUT /api/sync/schedule '{"intervalMinutes": 5}'
expect_error 500
mv alice.db.away alice.db
http GET /api/sync/status
expect_code 200

step "SIGTERM stops it cleanly"
stop_daemon TERM
grep -q 'SIGTERM received' "$DLOG" || fail "SIGTERM not logged"
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z info ' "$DLOG" ||
	fail "log lines are not timestamped"

step "--log FILE gets the same lines; sync at start"
start_daemon alice.db --log "$T/file.log"
wait_until 20 "the start sync" grep -q 'sync done' "$T/file.log"
grep -q 'sync started (start)' "$T/file.log" || fail "no sync at start"
stop_daemon INT
grep -q 'SIGINT received' "$T/file.log" || fail "SIGINT not in the log file"

echo "ok $TEST_NAME"
