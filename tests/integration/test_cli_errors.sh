#!/bin/sh
# Bad input gets exit status 1, one line on stderr that names the problem,
# and changes no data: a wrong path, a file that is not a database, a table
# without a primary key, an unknown table, a database never initialized, a
# vanished or corrupt master, an unknown conflict id, an unknown table or
# column for hubsync merge.
. "$(dirname "$0")/test_cli_lib.sh"

# bad CHECK_WORD ARGS...: hubsync ARGS must fail with exit 1 and one line
# containing CHECK_WORD.
bad() {
	_word=$1
	shift
	run 1 "$@"
	one_line_error
	expect_match "names the problem" "$ERR" "$_word"
}

step "a database that does not exist"
bad "missing.db.*does not exist.*check the path" status missing.db
bad "does not exist" init missing.db --master m.db
bad "does not exist" sync missing.db
[ ! -e missing.db ] || fail "a missing database was created"
[ ! -e m.db ] || fail "a master was created for a missing database"

step "a directory"
mkdir adir
bad "directory" init adir --master m.db

step "a file that is not a database"
echo "quote list, not a database" >notes.txt
sum=$(cksum <notes.txt)
bad "notes.txt" init notes.txt --master m.db
expect_eq "file unchanged" "$(cksum <notes.txt)" "$sum"
[ ! -e m.db ] || fail "init of a non-database created a master"

step "a table without a primary key is refused by name"
make_app_db nopk.db
sql nopk.db "CREATE TABLE audit_notes(msg TEXT); INSERT INTO audit_notes VALUES ('x');"
sum=$(cksum <nopk.db)
bad "audit_notes" init nopk.db --master m.db --user carol
expect_eq "database unchanged" "$(cksum <nopk.db)" "$sum"
[ ! -e m.db ] || fail "a refused init created the master"
run 0 init nopk.db --master m.db --user carol --tables customers,quotes

step "an unknown table is refused by name"
make_app_db app.db
sum=$(cksum <app.db)
bad "nosuch" init app.db --master share/server.db --tables customers,nosuch
expect_eq "database unchanged" "$(cksum <app.db)" "$sum"

step "a database never initialized"
bad "init" sync app.db
expect_eq "database unchanged" "$(cksum <app.db)" "$sum"

step "the master vanished (share not mounted)"
mkdir share
run 0 init app.db --master share/server.db --user alice
run 0 sync app.db

step "hubsync merge: an unknown table or column is refused by name"
sum=$(cksum <app.db)
bad "nosuch" merge app.db nosuch.pricing json
bad "nocol" merge app.db quotes.nocol json --key sku
bad "primary key" merge app.db quotes.quoteId json
expect_eq "database unchanged" "$(cksum <app.db)" "$sum"
run 2 merge app.db quotes.pricing jsn
run 0 merge app.db quotes.status json --key sku
run 0 merge app.db --json
expect_match "pending setting listed" "$OUT" '"column":"status","mode":"json","key":"sku","pending":true'
run 0 sync app.db
run 0 merge app.db
expect_match "the office's setting" "$OUT" '^quotes.status json --key sku$'

step "init cannot switch an initialized database to another master"
rows=$(app_rows app.db)
bad "other.db" init app.db --master share/other.db
[ ! -e share/other.db ] || fail "a refused init created the other master"
expect_eq "app data unchanged" "$(app_rows app.db)" "$rows"
run 0 status app.db --json
expect_eq "still the first master" "$(json '$.nasDbPath')" "$T/share/server.db"

step "the master vanished (share not mounted)"
sql app.db "INSERT INTO quotes(quoteId, projectName) VALUES ('Q9', 'Offline');"
rows=$(app_rows app.db)
mv share unmounted
bad "server.db" sync app.db
expect_eq "app data unchanged" "$(app_rows app.db)" "$rows"
[ ! -e share/server.db ] || fail "sync created a master"
expect_eq "logged as an error" \
	"$(sqlite3 app.db "SELECT status FROM sync_log ORDER BY id DESC LIMIT 1")" error
run 1 sync app.db --json
is_json
expect_eq "success false" "$(json '$.success')" 0
[ -n "$(json '$.message')" ] || fail "no message in the failed result"
run 1 sync app.db
one_line_error
run 0 status app.db
expect_match "status shows the error" "$OUT" '^last error: .*server\.db'

step "the share is back: the next sync completes"
mv unmounted share
run 0 sync app.db
expect_match "pushed the offline row" "$OUT" 'pushed [1-9]'
expect_eq "on the master" \
	"$(sqlite3 share/server.db "SELECT projectName FROM quotes WHERE quoteId = 'Q9'")" \
	Offline

step "a corrupt master"
cp share/server.db good.db
sql app.db "UPDATE quotes SET projectName = 'Offline 2' WHERE quoteId = 'Q9';"
rows=$(app_rows app.db)
dd if=/dev/urandom of=share/server.db bs=1024 seek=1 count=8 conv=notrunc \
	2>/dev/null
run 1 sync app.db
one_line_error
expect_eq "app data unchanged" "$(app_rows app.db)" "$rows"
cp good.db share/server.db
run 0 sync app.db
expect_eq "integrity" "$(sqlite3 app.db "PRAGMA integrity_check")" ok

step "an unknown conflict id"
sum=$(app_rows app.db)
bad "42" resolve app.db 42 --keep local
expect_eq "app data unchanged" "$(app_rows app.db)" "$sum"

echo "PASS $TEST_NAME"
