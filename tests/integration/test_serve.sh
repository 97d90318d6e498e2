#!/bin/sh
# test_serve.sh - `hubsync serve` and `hubsync user` end to end (DESIGN 3.7,
# issue 9 part 3): a real server on a free 127.0.0.1 port, replicas synced
# through it with the hubsync command, raw requests with curl.
#
#   users        add/list/remove before the first serve, bad input
#   office       3 PCs: conflicts, numbers, offline work (server stopped)
#   tokens       wrong or missing token: 401, one-line errors, nothing changed;
#                --user must match the token; a removed user stops at once
#   read-only    pulls, cannot push (nothing changed on the server)
#   tables       a table-limited user syncs only its tables
#   killed       the server SIGKILLed in the middle of a slow sync, restarted:
#                the sync is re-run, nothing lost or doubled, store intact
. "$(dirname "$0")/test_cli_lib.sh"
. "$(dirname "$0")/test_serve_lib.sh"

command -v curl >/dev/null ||
	{ echo "FAIL: curl is missing (run scripts/setup.sh test)"; exit 1; }

STORE=$T/store
trap '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"' EXIT

app_db() { # DB: the app's schema
	sql "$1" "CREATE TABLE items(id TEXT PRIMARY KEY, name TEXT, qty INTEGER);
		CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
}

master_sql() { # SQL on the server's master (read only)
	sqlite3 -batch -readonly "$STORE/master.db" "$1"
}

step "users before the first serve"
run 0 user list "$STORE"
expect_match "empty list" "$OUT" "no users"
run 0 user add "$STORE" alice
TA=$(cat "$OUT")
expect_eq "token is one line of 32 hex digits" \
	"$(grep -cE '^[0-9a-f]{32}$' "$OUT")" 1
run 0 user add "$STORE" bob
TB=$(cat "$OUT")
run 0 user add "$STORE" carol
TC=$(cat "$OUT")
run 0 user add "$STORE" rita --read-only
TR=$(cat "$OUT")
run 0 user add "$STORE" tom --tables items
TT=$(cat "$OUT")
run 1 user add "$STORE" alice
one_line_error
expect_match "duplicate named" "$ERR" "already exists"
run 1 user add "$STORE" "bad name"
one_line_error
run 0 user list "$STORE" --json
expect_eq "users listed" "$(json_len)" 5
expect_eq "rita read-only" "$(json '$[3].readOnly')" 1
expect_eq "tom's tables" "$(json '$[4].tables[0]')" items
expect_eq "tokens are not kept" "$(grep -c "$TA" "$STORE/users.db")" 0

step "serve"
start_server
for u in alice bob carol; do
	app_db $u.db
done
sql alice.db "INSERT INTO items VALUES ('a', 'apple', 1), ('b', 'banana', 2);"
run 0 init alice.db --master "$URL" --token "$TA"
expect_match "user from the token" "$OUT" "user alice"
HUBSYNC_TOKEN=$TB run 0 init bob.db --master "$URL"
run 0 init carol.db --master "$URL" --token "$TC" --user carol
for u in alice bob carol alice bob carol; do
	run 0 sync $u.db
done
expect_eq "bob pulled" "$(sqlite3 bob.db "SELECT group_concat(name) FROM items ORDER BY id")" "apple,banana"

step "conflicts through the server"
sql alice.db "UPDATE items SET qty = 10 WHERE id = 'a'"
sql bob.db "UPDATE items SET qty = 20 WHERE id = 'a'"
sql carol.db "UPDATE items SET name = 'Apple' WHERE id = 'a'"
for u in alice bob carol alice bob carol; do
	run 0 sync $u.db
done
for u in alice bob carol; do
	expect_eq "$u converged" "$(sqlite3 $u.db "SELECT name || qty FROM items WHERE id = 'a'")" "Apple20"
done
run 0 conflicts alice.db --json
expect_eq "one conflict" "$(json_len)" 1
expect_eq "its users" "$(json '$[0].local_user')/$(json '$[0].remote_user')" "alice/bob"
run 0 log bob.db --json
expect_eq "log names the token's user" "$(json '$[0].user')" carol

step "numbers through the server"
run 0 number alice.db quote
NA=$(cat "$OUT")
run 0 number bob.db quote
NB=$(cat "$OUT")
[ "$NA" != "$NB" ] || fail "two PCs got number $NA"
for u in alice bob carol; do run 0 sync $u.db; done

step "offline work: the server is down"
stop_server
sql carol.db "INSERT INTO notes(body) VALUES ('written offline')"
sql alice.db "INSERT INTO notes(body) VALUES ('alice offline')"
run 1 sync carol.db
one_line_error
expect_match "says what" "$ERR" "cannot reach the sync server"
expect_eq "sync_log error" "$(sqlite3 carol.db "SELECT status FROM sync_log ORDER BY id DESC LIMIT 1")" error
run 0 number carol.db quote # from its blocks, offline
start_server
for u in carol alice bob carol alice bob; do run 0 sync $u.db; done
for u in alice bob carol; do
	expect_eq "$u has both notes" "$(sqlite3 $u.db "SELECT count(*) FROM notes")" 2
done
expect_eq "ids re-keyed apart" "$(sqlite3 bob.db "SELECT count(DISTINCT id) FROM notes")" 2

step "tokens"
SEQ=$(master_sql "SELECT value FROM hubsync_master WHERE key = 'seq'")
app_db eve.db
run 1 init eve.db --master "$URL" --token 0123456789abcdef0123456789abcdef
one_line_error
expect_match "401 explained" "$ERR" "refused the token"
run 1 init eve.db --master "$URL"
one_line_error
expect_match "missing token" "$ERR" "no token"
run 1 init eve.db --master "$URL" --token "$TA" --user mallory
one_line_error
expect_match "user must match" "$ERR" "belongs to user"
CODE=$(curl -s -o "$OUT" -w '%{http_code}' -X POST --data-binary 'HSW1junk' \
	-H 'Authorization: Bearer wrong' "$URL/v1/sync")
expect_eq "wrong token" "$CODE" 401
CODE=$(curl -s -o "$OUT" -w '%{http_code}' -X POST --data-binary 'HSW1junk' "$URL/v1/sync")
expect_eq "no token" "$CODE" 401
CODE=$(curl -s -o "$OUT" -w '%{http_code}' -X POST --data-binary 'HSW1junk' \
	-H "Authorization: Bearer $TA" "$URL/v1/sync")
expect_eq "junk body" "$CODE" 400
expect_eq "nothing changed" "$(master_sql "SELECT value FROM hubsync_master WHERE key = 'seq'")" "$SEQ"

step "read-only user"
app_db rita.db
run 0 init rita.db --master "$URL" --token "$TR"
run 0 sync rita.db
expect_eq "rita pulled" "$(sqlite3 rita.db "SELECT count(*) FROM items")" 2
sql rita.db "UPDATE items SET qty = 99 WHERE id = 'b'"
run 1 sync rita.db
one_line_error
expect_match "cannot push" "$ERR" "may only read"
expect_eq "master unchanged" "$(master_sql "SELECT qty FROM items WHERE id = 'b'")" 2

step "table-limited user"
app_db tom.db
run 1 init tom.db --master "$URL" --token "$TT"
one_line_error
expect_match "names the table" "$ERR" 'may not sync table "notes"'
run 0 init tom.db --master "$URL" --token "$TT" --tables items
run 0 sync tom.db
expect_eq "tom pulled items" "$(sqlite3 tom.db "SELECT count(*) FROM items")" 2
expect_eq "not notes" "$(sqlite3 tom.db "SELECT count(*) FROM notes")" 0
run 0 log tom.db --json
expect_eq "history of items only" \
	"$(sqlite3 :memory: "SELECT count(*) FROM json_each(readfile('$OUT')) WHERE json_extract(value, '$.table') <> 'items'")" 0
sql tom.db "INSERT INTO items VALUES ('t', 'tomato', 5)"
run 0 sync tom.db
run 0 sync alice.db
expect_eq "tom's row reached alice" "$(sqlite3 alice.db "SELECT name FROM items WHERE id = 't'")" tomato

step "a removed user stops at once"
run 0 user remove "$STORE" bob
run 1 sync bob.db
one_line_error
expect_match "401" "$ERR" "refused the token"
run 1 user remove "$STORE" bob
one_line_error

step "server killed in the middle of a sync"
stop_server
start_server --max-rate 20
# a push big enough to take a few seconds at 20 KB/s
sqlite3 carol.db "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
	INSERT INTO items SELECT 'k' || i, hex(randomblob(40)), i FROM n;" ||
	fail "cannot write carol.db"
"$HUBSYNC" sync carol.db >"$T/bg.out" 2>&1 &
BG=$!
sleep 1.5
stop_server KILL
wait $BG
expect_eq "the cut sync failed" "$?" 1
start_server
run 0 sync carol.db
for u in carol alice tom carol alice tom; do run 0 sync $u.db; done
expect_eq "every row once" "$(master_sql "SELECT count(*) FROM items")" 3003
expect_eq "alice has them" "$(sqlite3 alice.db "SELECT count(*) FROM items")" 3003
expect_eq "store intact" "$(master_sql "PRAGMA integrity_check")" ok
step "--max-rate on sync: never faster than asked"
app_db max.db
run 0 init max.db --master "$URL" --token "$TA"
T0=$(date +%s%N)
run 0 sync max.db --max-rate 50
T1=$(date +%s%N)
OUTB=$(tail -n 1 "$T/serve.log" | sed -n 's/.* out \([0-9]*\) B .*/\1/p')
[ -n "$OUTB" ] && [ "$OUTB" -gt 100000 ] || fail "answer of $OUTB bytes"
# at 50 KB/s the answer takes at least OUTB / 51200 s (a lower bound only:
# a loaded machine is slower, never faster)
[ $(( (T1 - T0) / 1000000 )) -ge $(( (OUTB - 16384) * 1000 / 51200 )) ] ||
	fail "$OUTB bytes in $(( (T1 - T0) / 1000000 )) ms at 50 KB/s"
stop_server

step "migrate: from a master file to a server, nothing sent again"
mkdir "$T/nas"
app_db n1.db
app_db n2.db
sql n1.db "INSERT INTO items VALUES ('m1', 'one', 1)"
run 0 init n1.db --master "$T/nas/master.db" --user ann
run 0 init n2.db --master "$T/nas/master.db" --user ben
for u in n1 n2 n1; do run 0 sync $u.db; done
sql n1.db "UPDATE items SET qty = 10 WHERE id = 'm1'"
sql n2.db "UPDATE items SET qty = 20 WHERE id = 'm1'"
for u in n1 n2 n1; do run 0 sync $u.db; done
run 0 number n1.db quote
Q1=$(cat "$OUT")
run 1 migrate "$T/nas/master.db" "$STORE"
one_line_error
expect_match "a store with data is refused" "$ERR" "holds a master with data"
STORE=$T/store2
run 0 migrate "$T/nas/master.db" "$STORE"
run 0 user add "$STORE" ann
TANN=$(cat "$OUT")
run 0 user add "$STORE" ben
TBEN=$(cat "$OUT")
SPORT=
start_server
run 0 relocate n1.db --master "$URL" --token "$TANN"
run 0 relocate n2.db --master "$URL" --token "$TBEN"
run 0 sync n1.db --json
expect_eq "nothing pushed again" "$(json '$.stats.pushed.items')" ""
expect_eq "nothing pulled again" "$(json '$.stats.pulled.items')" ""
run 0 conflicts n2.db --json
expect_eq "the conflict is still listed" "$(json_len)" 1
run 0 number n2.db quote
[ "$(cat "$OUT")" != "$Q1" ] || fail "number $Q1 handed out twice"
sql n2.db "INSERT INTO items VALUES ('m2', 'two', 2)"
for u in n2 n1; do run 0 sync $u.db; done
expect_eq "syncing through the server" "$(sqlite3 n1.db "SELECT name FROM items WHERE id = 'm2'")" two
run 0 log n1.db --json
expect_eq "the server's user" "$(json '$[0].user')" ben
stop_server

step "TLS"
STORE=$T/store
SPORT=
TLS=$(dirname "$0")/tls # a test-only certificate for 127.0.0.1
case $TLS in /*) ;; *) TLS=$OLDPWD/$TLS ;; esac
run 2 serve "$STORE" --listen 0.0.0.0:0
one_line_error
expect_match "no TLS off loopback" "$ERR" "without TLS"
start_server --tls-cert "$TLS/cert.pem" --tls-key "$TLS/key.pem"
app_db tina.db
run 1 init tina.db --master "https://127.0.0.1:$SPORT" --token "$TA"
one_line_error
expect_match "untrusted certificate explained" "$ERR" "HUBSYNC_CA_FILE"
HUBSYNC_CA_FILE=$TLS/cert.pem run 0 init tina.db --master "https://127.0.0.1:$SPORT" --token "$TA"
HUBSYNC_CA_FILE=$TLS/cert.pem run 0 sync tina.db
expect_eq "pulled over TLS" "$(sqlite3 tina.db "SELECT count(*) FROM items")" 3003
stop_server
echo "ok $TEST_NAME"
