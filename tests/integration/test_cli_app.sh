#!/bin/sh
# Living with the app from the command line (contract 3.6): init leaves the
# app's schema as it was, --stamp, status lists what is not synced, track,
# untrack, an app upgrade, relocate, uninstall; bad input gets one line and
# exit 1 or 2, and changes nothing.
. "$(dirname "$0")/test_cli_lib.sh"

schema() {
	sqlite3 "$1" "SELECT type || '|' || name || '|' || coalesce(sql, '')
		FROM sqlite_master WHERE name NOT LIKE 'hubsync%' AND name NOT LIKE
		'sqlite%' AND name <> 'sync_log' ORDER BY type, name"
}

mkdir share
make_app_db alice.db
make_app_db bob.db
for db in alice.db bob.db; do
	sql $db "CREATE VIRTUAL TABLE search USING fts5(body);
		CREATE TABLE scratch(x);"
done
before=$(schema alice.db)

step "init adds no column to the app's tables"
run 1 init alice.db --master share/server.db --user alice
one_line_error
expect_match "the table without a key is named" "$ERR" "scratch"
run 0 init alice.db --master share/server.db --user alice \
	--tables customers,quotes
expect_eq "schema after init" "$(schema alice.db)" "$before"
run 0 init bob.db --master share/server.db --user bob --tables customers,quotes

step "status lists what is not synced, with the reason"
run 0 status alice.db --json
expect_match "virtual table listed" "$OUT" '"table":"search","reason":"a virtual table'
expect_match "scratch listed" "$OUT" '"table":"scratch","reason":"no primary key'
run 0 status alice.db
expect_match "people see it" "$OUT" "search .a virtual table"
grep -q "search_data" "$OUT" && fail "the virtual table's parts are listed"

step "the app writes as it always did; sync"
sql alice.db "INSERT INTO quotes VALUES ('Q1', 'Conveyor', '001', 'draft',
	'2025-01-02 00:00:00', '2025-01-02 00:00:00')"
run 0 sync alice.db
run 0 sync bob.db
expect_eq "bob has alice's quote" \
	"$(sqlite3 bob.db "SELECT projectName FROM quotes WHERE quoteId = 'Q1'")" \
	"Conveyor"

step "an app upgrade on alice's PC: a new column and a new table"
sql alice.db "ALTER TABLE quotes ADD COLUMN discount REAL;
	UPDATE quotes SET discount = 0.1 WHERE quoteId = 'Q1';
	CREATE TABLE parts (sku TEXT PRIMARY KEY, price REAL);
	INSERT INTO parts VALUES ('P1', 9.5);"
run 0 sync alice.db
run 0 status alice.db --json
expect_match "init had --tables: parts is listed" "$OUT" '"table":"parts"'
run 0 track alice.db parts
expect_match "track says what it did" "$OUT" "parts"
run 0 sync alice.db
sql bob.db "CREATE TABLE parts (sku TEXT PRIMARY KEY, price REAL);
	ALTER TABLE quotes ADD COLUMN discount REAL;"
run 0 track bob.db parts
run 0 sync bob.db
expect_eq "bob got the part" \
	"$(sqlite3 bob.db "SELECT price FROM parts WHERE sku = 'P1'")" "9.5"
expect_eq "bob got the new column's value" \
	"$(sqlite3 bob.db "SELECT discount FROM quotes WHERE quoteId = 'Q1'")" "0.1"

step "untrack: rows stay, changes are no longer sent"
run 0 untrack bob.db parts
sql bob.db "UPDATE parts SET price = 1 WHERE sku = 'P1'"
run 0 sync bob.db
run 0 sync alice.db
expect_eq "alice did not get bob's local change" \
	"$(sqlite3 alice.db "SELECT price FROM parts WHERE sku = 'P1'")" "9.5"

step "bad input: one line, nothing changed"
sum=$(cksum <bob.db)
run 1 track bob.db nosuch
one_line_error
expect_match "names the table" "$ERR" "nosuch"
run 1 untrack bob.db nosuch
one_line_error
run 2 track bob.db
run 2 relocate bob.db
expect_eq "bob.db unchanged" "$(cksum <bob.db)" "$sum"

step "relocate: the same master elsewhere, a different one refused"
mv share moved
run 1 sync alice.db
one_line_error
run 0 relocate alice.db --master moved/server.db
run 0 sync alice.db --json
expect_eq "nothing sent again" "$(json '$.stats.pushed.quotes')" ""
make_app_db other.db
run 0 init other.db --master elsewhere.db --user eve
run 1 relocate alice.db --master elsewhere.db
one_line_error
expect_match "says it is another master" "$ERR" "not the master"

step "uninstall: the schema as before init, the data kept"
bob_schema=$(schema bob.db)
run 0 uninstall bob.db
expect_eq "bob's schema (the app's own changes kept)" "$(schema bob.db)" \
	"$bob_schema"
[ "$(sqlite3 bob.db "SELECT count(*) FROM sqlite_master WHERE name LIKE
	'hubsync%' OR name = 'sync_log'")" = 0 ] || fail "hubsync objects left"
expect_eq "rows kept" "$(sqlite3 bob.db "SELECT count(*) FROM quotes")" "1"
cp alice.db alice-copy.db
run 0 uninstall alice-copy.db
after=$(sqlite3 alice-copy.db "SELECT count(*) FROM sqlite_master WHERE name
	LIKE 'hubsync%'")
expect_eq "alice's copy is clean" "$after" "0"
run 1 sync bob.db
one_line_error
expect_match "says it is not set up" "$ERR" "not set up"

echo "PASS $TEST_NAME"
