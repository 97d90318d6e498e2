#!/bin/sh
# test_pg_store.sh - the PostgreSQL master through the hubsync command, as
# an office and its reporting tool see it. Run by pg_run.sh (a private
# cluster; HS_TEST_PG* set). Checks:
#   - SQLite's dynamic types survive exactly: 1, 1.0, '1', x'01' and NULL
#     in one column, values not of their column's declared type (text in a
#     REAL column, a real in an INTEGER one, ...), text that PostgreSQL's
#     text cannot hold (invalid UTF-8), empty text and blobs, big integers
#     and reals that need all 17 digits reach another PC as they were;
#   - a reporting tool (psql) reads typed columns: bigint, double
#     precision, text, bytea, the values of the column's own type in them,
#     hubsync's metadata in the schema hubsync;
#   - a master made before the JSON columns' table gets it when opened;
#   - bad addresses get a one-line error, nothing created.
. "$(dirname "$0")/test_cli_lib.sh"

. "$(dirname "$0")/test_pg_lib.sh"
pg_create_db office
URL=$HS_TEST_PG/office
psql_q() { $PSQL -d office -c "$1"; }

SCHEMA="CREATE TABLE t (id INTEGER PRIMARY KEY, v, price REAL, qty INTEGER,
 name TEXT, data BLOB, active BOOLEAN, at DATETIME);"
step "the app's rows, every kind of value"
sql alice.db "$SCHEMA
INSERT INTO t (id, v) VALUES (1, 1), (2, 1.0), (3, '1'), (4, x'01'), (5, NULL);
INSERT INTO t VALUES (6, 'plain', 9.5, 3, 'Schrank', x'00ff', 1,
 '2025-01-15 10:00:00');
INSERT INTO t VALUES (7, -9223372036854775808, 0.1, 9223372036854775807,
 '', x'', 0, NULL);
INSERT INTO t VALUES (8, 1e300, 'n/a', 2.5, 42, 'text in a blob', 'yes', 17);
INSERT INTO t VALUES (9, CAST(x'ff00fe' AS TEXT), -0.0, '12', 4.25, 7,
 NULL, 2.5);
INSERT INTO t VALUES (10, 'üñí €', 1.0000000000000002, 0, 'é', NULL, 2, 'x');"
sql bob.db "$SCHEMA"
run 0 init alice.db --master "$URL" --user alice
run 0 init bob.db --master "$URL" --user bob
run 0 sync alice.db
run 0 sync bob.db
Q="SELECT id, quote(v), typeof(v), quote(price), typeof(price), quote(qty),
 typeof(qty), quote(name), typeof(name), quote(data), typeof(data),
 quote(active), typeof(active), quote(at), typeof(at) FROM t ORDER BY id"
sqlite3 alice.db "$Q" >want
sqlite3 bob.db "$Q" >got
cmp -s want got || { diff want got; fail "bob's rows differ from alice's"; }
expect_eq "rows at bob" "$(sqlite3 bob.db 'SELECT count(*) FROM t')" 10
expect_eq "v of 1..5" "$(sqlite3 bob.db "SELECT group_concat(quote(v), ' ')
 FROM (SELECT v FROM t WHERE id <= 5 ORDER BY id)")" "1 1.0 '1' X'01' NULL"

step "an edit back through PostgreSQL keeps the other columns' types"
sql bob.db "UPDATE t SET name = 'changed' WHERE id IN (8, 9)"
run 0 sync bob.db
run 0 sync alice.db
sqlite3 alice.db "$Q" >want
sqlite3 bob.db "$Q" >got
cmp -s want got || { diff want got; fail "alice's rows differ after the edit"; }
expect_eq "price of 8" "$(sqlite3 alice.db 'SELECT quote(price) FROM t WHERE id = 8')" "'n/a'"

step "a reporting tool reads typed columns"
types=$(psql_q "SELECT string_agg(column_name || ' ' || data_type, ', '
 ORDER BY ordinal_position) FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name = 't'")
expect_eq "column types" "$types" "hubsync_pk bytea, id bigint, v text, price double precision, qty bigint, name text, data bytea, active bigint, at text, hubsync_extra jsonb"
expect_eq "a price" "$(psql_q 'SELECT price FROM t WHERE id = 6')" "9.5"
expect_eq "sum of qty" "$(psql_q 'SELECT sum(qty) FROM t WHERE id IN (6, 10)')" "3"
expect_eq "a name" "$(psql_q 'SELECT name FROM t WHERE id = 6')" "Schrank"
expect_eq "a blob" "$(psql_q "SELECT encode(data, 'hex') FROM t WHERE id = 6")" "00ff"
expect_eq "a date" "$(psql_q 'SELECT at::timestamp FROM t WHERE id = 6')" "2025-01-15 10:00:00"
expect_eq "rows of their own type have no shadow" \
	"$(psql_q 'SELECT count(*) FROM t WHERE hubsync_extra IS NULL')" "4"
expect_eq "text in a REAL column, kept beside" \
	"$(psql_q "SELECT coalesce(price::text, 'NULL') || ' ' || (hubsync_extra->>'price') FROM t WHERE id = 8")" "NULL t:n/a"
expect_eq "a whole real in an INTEGER column reads as a number" \
	"$(psql_q "SELECT qty FROM t WHERE id = 10")" "0"
expect_eq "hubsync's own tables" "$(psql_q "SELECT string_agg(table_name, ' '
 ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'hubsync'")" \
	"conflicts history master merge_rules numbers rebases rows sites tables"
expect_eq "the PCs" "$(psql_q 'SELECT string_agg("user", $$ $$ ORDER BY id) FROM hubsync.sites')" "alice bob"

step "a master made before JSON columns gets their table"
psql_q "DROP TABLE hubsync.merge_rules; DROP INDEX hubsync.history_key" ||
	fail "cannot drop"
run 0 merge alice.db t.name json
run 0 sync alice.db
expect_eq "the setting is kept" \
	"$(psql_q "SELECT tbl || '.' || col FROM hubsync.merge_rules")" t.name
expect_eq "the index is back" \
	"$(psql_q "SELECT count(*) FROM pg_indexes WHERE indexname = 'history_key'")" 1
run 0 sync bob.db
run 0 merge bob.db --json
expect_match "bob has the setting" "$OUT" '"column":"name"'

step "bad addresses: one line, nothing made"
sql carol.db "$SCHEMA"
run 1 init carol.db --master "postgresql://nobody@%2Fnonexistent%2Fdir/office" --user carol
one_line_error
expect_match "unreachable server" "$ERR" "cannot connect to the master"
pg_create_db other
expect_eq "carol was left as she was" \
	"$(sqlite3 carol.db "SELECT count(*) FROM sqlite_master WHERE name LIKE 'hubsync%'")" 0
sql dave.db "$SCHEMA"
run 0 init dave.db --master "$HS_TEST_PG/other" --user dave
$PSQL -d other -c "SET client_min_messages = warning; DROP SCHEMA hubsync CASCADE" >/dev/null
run 1 sync dave.db
one_line_error
expect_match "not a master" "$ERR" "not a hubsync master"
echo "ok $TEST_NAME"
