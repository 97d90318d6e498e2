#!/bin/sh
# test_pg_listen.sh - LISTEN/NOTIFY between serve processes (issue 10): two
# `hubsync serve` on one PostgreSQL database; a client waits on serve #2's
# real-time channel (GET /v1/wait) while a PC pushes a change through serve
# #1: the wait must end with the new sequence (changed: true) long before
# its 20 s timeout; without the wake-up it would only end at the timeout.
# Run by pg_run.sh. Usage: test_pg_listen.sh HUBSYNC
. "$(dirname "$0")/test_cli_lib.sh"
. "$(dirname "$0")/test_serve_lib.sh"

command -v curl >/dev/null || fail "curl is missing (scripts/setup.sh test)"
. "$(dirname "$0")/test_pg_lib.sh"
pg_create_db office
STORE=$HS_TEST_PG/office
DB=$STORE
trap 'kill ${SPID_1:-} ${SPID_2:-} 2>/dev/null; rm -rf "$T"' EXIT
start_named 1 --quiet
U1=$URL
start_named 2 --quiet
U2=$URL
run 0 user add "$DB" ann
TA=$(cat "$OUT")
run 0 user add "$DB" bob
TB=$(cat "$OUT")
sql a.db "CREATE TABLE items(id TEXT PRIMARY KEY, v INTEGER)"
sql b.db "CREATE TABLE items(id TEXT PRIMARY KEY, v INTEGER)"
sql a.db "INSERT INTO items VALUES ('x', 1)"
run 0 init a.db --master "$U1" --token "$TA"
run 0 init b.db --master "$U2" --token "$TB"
for p in a b; do run 0 sync $p.db; done

step "a change through serve #1 wakes a wait on serve #2"
curl -s -H "Authorization: Bearer $TB" "$U2/v1/wait?since=0&timeout=0" >"$T/now.json"
SEQ=$(json '$.seq' "$T/now.json")
[ -n "$SEQ" ] && [ "$SEQ" -gt 0 ] || fail "no sequence from serve #2: $(cat "$T/now.json")"
T0=$(date +%s%N)
curl -s -H "Authorization: Bearer $TB" "$U2/v1/wait?since=$SEQ&timeout=20" \
	>"$T/wait.json" &
CURL=$!
sleep 1 # the wait is held by serve #2
sql a.db "INSERT INTO items VALUES ('y', 2)"
run 0 sync a.db
wait "$CURL"
MS=$(( ($(date +%s%N) - T0) / 1000000 ))
expect_eq "woken with a change" "$(json '$.changed' "$T/wait.json")" 1
[ "$(json '$.seq' "$T/wait.json")" -gt "$SEQ" ] || fail "sequence did not move: $(cat "$T/wait.json")"
[ "$MS" -lt 15000 ] || fail "the wait ended after $MS ms: not woken (timeout 20 s)"
run 0 sync b.db
expect_eq "b has the row" "$(sqlite3 b.db "SELECT v FROM items WHERE id = 'y'")" 2
echo "ok $TEST_NAME: woken after $MS ms"
