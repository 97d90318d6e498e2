#!/bin/sh
# --json prints the documents of the contract (DESIGN.md 3.3) with every
# key: status, sync, history, conflicts, plus the log's array. Types are
# checked with sqlite3's json_type.
. "$(dirname "$0")/test_cli_lib.sh"

# keys_have FILE PREFIX TYPE KEY...: each PREFIX.KEY exists with TYPE
# ("any" accepts every type but absence; "nullable-X" accepts null or X).
keys_have() {
	_file=$1 _prefix=$2 _type=$3
	shift 3
	for _k in "$@"; do
		_t=$(json_type "$_prefix.$_k" "$_file")
		case $_type:$_t in
		*:) fail "$_prefix.$_k is missing" ;;
		any:*) ;;
		nullable-*:null) ;;
		nullable-$_t:$_t) ;;
		bool:true | bool:false) ;;
		"$_t":"$_t") ;;
		*) fail "$_prefix.$_k is $_t, expected $_type" ;;
		esac
	done
}

mkdir share
make_app_db alice.db
make_app_db bob.db
run 0 init alice.db --master share/server.db --user alice
run 0 init bob.db --master share/server.db --user bob

step "status before the first sync"
run 0 status alice.db --json
is_json
keys_have "$OUT" '$' bool enabled isSyncing scheduledSync
keys_have "$OUT" '$' integer intervalMinutes
keys_have "$OUT" '$' text username nasDbPath
keys_have "$OUT" '$' null lastSyncTime
keys_have "$OUT" '$' object stats
keys_have "$OUT" '$.stats' object pulled pushed
keys_have "$OUT" '$.stats' integer conflicts
expect_eq "default interval" "$(json '$.intervalMinutes')" 120
expect_eq "username" "$(json '$.username')" alice
expect_eq "master path" "$(json '$.nasDbPath')" "$T/share/server.db"

step "sync result"
sql alice.db "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Line');"
run 0 sync alice.db --json
is_json
keys_have "$OUT" '$' bool success
keys_have "$OUT" '$' text message duration
keys_have "$OUT" '$.stats' object pulled pushed
keys_have "$OUT" '$.stats' integer conflicts
expect_eq "success" "$(json '$.success')" 1
expect_eq "pushed quotes" "$(json '$.stats.pushed.quotes')" 1
expect_match "duration" "$OUT" '"duration": *"[0-9]+\.[0-9]+s"'
run 0 sync bob.db --json
expect_eq "pulled quotes" "$(json '$.stats.pulled.quotes')" 1

step "status after a sync"
run 0 status alice.db --json
keys_have "$OUT" '$' text lastSyncTime
expect_match "ISO time" "$OUT" \
	'"lastSyncTime": *"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"'

step "schedule shows in status"
run 0 schedule alice.db 60
run 0 status alice.db --json
expect_eq "interval" "$(json '$.intervalMinutes')" 60
expect_eq "scheduled" "$(json '$.scheduledSync')" 1
run 0 schedule alice.db 0
run 0 status alice.db --json
expect_eq "scheduled off" "$(json '$.scheduledSync')" 0

step "history"
run 0 sync alice.db
run 0 history alice.db --json
is_json
keys_have "$OUT" '$[0]' integer id records_pulled records_pushed conflicts \
	duration_ms
keys_have "$OUT" '$[0]' text timestamp direction status
keys_have "$OUT" '$[0]' nullable-text error_message
expect_eq "two syncs" "$(json_len)" 2
first=$(json '$[0].id')
second=$(json '$[1].id')
[ "$first" -gt "$second" ] || fail "history is not newest first"
expect_eq "direction" "$(json '$[0].direction')" bidirectional
expect_eq "status" "$(json '$[0].status')" success
expect_eq "what started it" "$(json '$[0].trigger')" command
run 0 history alice.db --json --limit 1
expect_eq "--limit 1" "$(json_len)" 1

step "conflicts"
run 0 conflicts alice.db --json
expect_eq "none yet" "$(json '$')" "[]"
sql alice.db "UPDATE quotes SET projectName = 'Line A' WHERE quoteId = 'Q1';"
sleep 0.05 2>/dev/null || sleep 1
sql bob.db "UPDATE quotes SET projectName = 'Line B' WHERE quoteId = 'Q1';"
run 0 sync alice.db
run 0 sync bob.db --json
expect_eq "counted" "$(json '$.stats.conflicts')" 1
run 0 conflicts bob.db --json
is_json
keys_have "$OUT" '$[0]' integer id
keys_have "$OUT" '$[0]' text table winner local_user remote_user detected_at
keys_have "$OUT" '$[0]' nullable-text column
keys_have "$OUT" '$[0]' any local_value remote_value resolved
keys_have "$OUT" '$[0]' object pk
expect_eq "pk" "$(json '$[0].pk.quoteId')" Q1
expect_eq "column" "$(json '$[0].column')" projectName
expect_eq "users" "$(json '$[0].local_user')/$(json '$[0].remote_user')" bob/alice
run 0 sync alice.db
run 0 conflicts alice.db --json
expect_eq "alice sees it from her side" \
	"$(json '$[0].local_user')/$(json '$[0].remote_user')" alice/bob
expect_eq "her value is the local one" "$(json '$[0].local_value')" "Line A"

step "log"
run 0 log alice.db --json
is_json
expect_eq "an array" "$(json_type '$')" array
[ "$(json_type '$[0]')" = object ] || fail "the log is empty after changes"
keys_have "$OUT" '$[0]' text table key op user at
keys_have "$OUT" '$[0]' object pk
keys_have "$OUT" '$[0]' bool pending
run 0 log alice.db --table quotes --key Q1 --since 1h --limit 5 --json
is_json
expect_eq "an array" "$(json_type '$')" array
run 0 log alice.db --since 2099-01-01 --json
expect_eq "nothing since a future date" "$(json '$')" "[]"
run 0 log alice.db --table quotes
run 0 log alice.db --since 2000-01-01
run 0 log alice.db --user bob --json
[ "$(json_len)" -gt 0 ] || fail "--user bob: bob's changes are missing"
expect_eq "--user bob: only bob's" \
	"$(json_len)" "$(grep -o '"user":"bob"' "$OUT" | wc -l)"
run 0 log alice.db --user nobody --json
expect_eq "--user nobody: nothing" "$(json '$')" "[]"

echo "PASS $TEST_NAME"
