#!/bin/sh
# test_pg_migrate.sh - `hubsync migrate MASTER_FILE postgresql://...` (issue
# 10): an office moves from its NAS master file (or a folder store) to PostgreSQL behind
# `hubsync serve`, losing nothing. The file master has rows in two tables
# (one with an integer key, re-keyed ids included), versions, a conflict,
# audit history, a number series, a column merged as JSON (hubsync merge)
# and three PCs. After the migrate:
#   - the database holds exactly what the file held: every table's rows,
#     hubsync.rows, conflicts, history, rebases, numbers, sites, the JSON
#     columns, and the master's id and sequence;
#   - the PCs relocate to a serve process on it and sync with nothing sent
#     again either way; the conflict is still listed, a number is never
#     handed out twice, new changes flow; the JSON column still merges
#     member by member;
#   - a database that already holds a master is refused, nothing changed;
#   - a folder store moves too, its users with it (their tokens work).
# Run by pg_run.sh. Usage: test_pg_migrate.sh HUBSYNC
. "$(dirname "$0")/test_cli_lib.sh"
. "$(dirname "$0")/test_serve_lib.sh"

. "$(dirname "$0")/test_pg_lib.sh"
for d in office other fromfolder; do
	pg_create_db $d
done
DB=$HS_TEST_PG/office
pq() { $PSQL -d office -c "$1" || fail "psql: $1"; }
M=$T/nas/master.db
mq() { sqlite3 -readonly "$M" "$1" || fail "sqlite3: $1"; }
trap '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"' EXIT

step "a file master with everything in it"
mkdir "$T/nas"
for p in n1 n2 n3; do
	sql $p.db "CREATE TABLE items(id TEXT PRIMARY KEY, name TEXT, qty INTEGER,
			price REAL, data BLOB);
		CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, v);"
	run 0 init $p.db --master "$M" --user "u$p"
done
sql n1.db "INSERT INTO items VALUES ('m1', 'one', 1, 1.5, x'00ff'),
	('m2', 'two', 2, NULL, NULL);
	INSERT INTO notes(id, body, v) VALUES (1, 'a', 1), (2, 'b', 1.0);"
sql n2.db "INSERT INTO notes(id, body, v) VALUES (1, 'c', '1'), (2, 'd', x'01');"
for p in n1 n2 n3 n1 n2; do run 0 sync $p.db; done
sql n1.db "UPDATE items SET qty = 10 WHERE id = 'm1'"
sql n2.db "UPDATE items SET qty = 20 WHERE id = 'm1'; DELETE FROM items WHERE id = 'm2'"
for p in n1 n2 n3 n1; do run 0 sync $p.db; done
run 0 merge n1.db items.name json
run 0 sync n1.db
[ "$(mq "SELECT count(*) FROM hubsync_merge_rules")" = 1 ] || fail "no JSON column to move"
run 0 number n1.db quote
Q1=$(cat "$OUT")
run 0 number n3.db quote
Q3=$(cat "$OUT")
[ "$(mq "SELECT count(*) FROM hubsync_conflicts")" -ge 1 ] || fail "no conflict to move"
[ "$(mq "SELECT count(*) FROM hubsync_rebases")" -ge 1 ] || fail "no re-keyed id to move"
mq "SELECT count(*) FROM hubsync_history" >"$T/history.n"

step "migrate"
run 0 migrate "$M" "$DB"
for q in "SELECT count(*) FROM hubsync_sites@@SELECT count(*) FROM hubsync.sites" \
	"SELECT count(*) FROM hubsync_conflicts@@SELECT count(*) FROM hubsync.conflicts" \
	"SELECT count(*) FROM hubsync_history@@SELECT count(*) FROM hubsync.history" \
	"SELECT count(*) FROM hubsync_rebases@@SELECT count(*) FROM hubsync.rebases" \
	"SELECT group_concat(series || '=' || next) FROM hubsync_numbers@@SELECT string_agg(series || '=' || next, ',') FROM hubsync.numbers" \
	"SELECT group_concat(tbl || hex(pk) || alive || '.' || seq || '.' || vseq || '.' || hlc || '.' || site || hex(clocks), ',') FROM (SELECT * FROM hubsync_rows ORDER BY tbl, pk)@@SELECT string_agg(tbl || upper(encode(pk, 'hex')) || alive || '.' || seq || '.' || vseq || '.' || hlc || '.' || site || upper(encode(clocks, 'hex')), ',' ORDER BY tbl, pk) FROM hubsync.rows" \
	"SELECT group_concat(tbl || '.' || col || '=' || ifnull(key, ''), ',') FROM hubsync_merge_rules@@SELECT string_agg(tbl || '.' || col || '=' || coalesce(key, ''), ',') FROM hubsync.merge_rules" \
	"SELECT value FROM hubsync_master WHERE key = 'seq'@@SELECT value FROM hubsync.master WHERE key = 'seq'" \
	"SELECT value FROM hubsync_master WHERE key = 'id'@@SELECT value FROM hubsync.master WHERE key = 'id'" \
	"SELECT group_concat(id || '=' || qty, ',') FROM (SELECT * FROM items ORDER BY id)@@SELECT string_agg(id || '=' || qty, ',' ORDER BY id) FROM items" \
	"SELECT group_concat(id || body, ',') FROM (SELECT * FROM notes ORDER BY id)@@SELECT string_agg(id || body, ',' ORDER BY id) FROM notes"; do
	expect_eq "moved: ${q%%@@*}" "$(pq "${q#*@@}")" "$(mq "${q%%@@*}")"
done

step "a database with a master already is refused"
run 1 migrate "$M" "$DB"
one_line_error
expect_match "refused" "$ERR" "holds a master with data"
expect_eq "nothing added" "$(pq "SELECT count(*) FROM hubsync.sites")" 3
run 1 migrate "$T/nas/none.db" "$HS_TEST_PG/other"
one_line_error

step "the PCs carry on through hubsync serve on PostgreSQL"
STORE=$DB
start_server --quiet
for p in n1 n2 n3; do
	run 0 user add "$DB" "u$p"
	run 0 relocate $p.db --master "$URL" --token "$(cat "$OUT")"
done
for p in n1 n2 n3; do
	run 0 sync $p.db --json
	expect_eq "$p: nothing pushed again" "$(json '$.stats.pushed.items')$(json '$.stats.pushed.notes')" ""
	expect_eq "$p: nothing pulled again" "$(json '$.stats.pulled.items')$(json '$.stats.pulled.notes')" ""
done
run 0 conflicts n2.db --json
[ "$(json_len)" -ge 1 ] || fail "the conflict is no longer listed"
run 0 number n2.db quote
Q2=$(cat "$OUT")
[ "$Q2" != "$Q1" ] && [ "$Q2" != "$Q3" ] || fail "number $Q2 handed out twice"
sql n3.db "INSERT INTO items VALUES ('m3', 'three', 3, 3.25, x'03');
	INSERT INTO notes(body, v) VALUES ('e', 2)"
for p in n3 n1 n2; do run 0 sync $p.db; done
expect_eq "new rows flow" "$(sqlite3 n1.db "SELECT name || (SELECT body FROM notes WHERE v = 2) FROM items WHERE id = 'm3'")" threee
# items.name moved as a JSON column: two PCs' edits of different members
sql n1.db "UPDATE items SET name = '{\"a\":1,\"b\":1}' WHERE id = 'm3'"
for p in n1 n2; do run 0 sync $p.db; done
sql n1.db "UPDATE items SET name = '{\"a\":2,\"b\":1}' WHERE id = 'm3'"
sql n2.db "UPDATE items SET name = '{\"a\":1,\"b\":2}' WHERE id = 'm3'"
for p in n1 n2 n3 n1; do run 0 sync $p.db; done
expect_eq "both members kept" "$(sqlite3 n1.db "SELECT name FROM items WHERE id = 'm3'")" '{"a":2,"b":2}'
for p in n2 n3; do
	expect_eq "$p agrees with n1" \
		"$(sqlite3 $p.db "SELECT group_concat(quote(id) || quote(name) || quote(qty) || quote(price) || quote(data), ',') FROM (SELECT * FROM items ORDER BY id); SELECT group_concat(id || quote(body) || quote(v), ',') FROM (SELECT * FROM notes ORDER BY id)")" \
		"$(sqlite3 n1.db "SELECT group_concat(quote(id) || quote(name) || quote(qty) || quote(price) || quote(data), ',') FROM (SELECT * FROM items ORDER BY id); SELECT group_concat(id || quote(body) || quote(v), ',') FROM (SELECT * FROM notes ORDER BY id)")"
done
stop_server

step "from a folder store: its master and its users, tokens kept"
run 0 migrate "$M" "$T/folder"
run 0 user add "$T/folder" carl --tables items
TCARL=$(cat "$OUT")
run 0 migrate "$T/folder" "$HS_TEST_PG/fromfolder" --json
expect_eq "one user moved" "$(json '$.users')" 1
run 0 user list "$HS_TEST_PG/fromfolder" --json
expect_eq "the user and its tables" "$(json '$[0].name')/$(json '$[0].tables[0]')" carl/items
STORE=$HS_TEST_PG/fromfolder
SPORT=
start_server --quiet
sql c.db "CREATE TABLE items(id TEXT PRIMARY KEY, name TEXT, qty INTEGER,
	price REAL, data BLOB)"
run 0 init c.db --master "$URL" --token "$TCARL"
run 0 sync c.db
expect_eq "carl's token works, the rows are there" \
	"$(sqlite3 c.db "SELECT group_concat(id || '=' || qty, ',') FROM (SELECT * FROM items ORDER BY id)")" \
	"$(mq "SELECT group_concat(id || '=' || qty, ',') FROM (SELECT * FROM items ORDER BY id)")"
stop_server
echo "ok $TEST_NAME"
