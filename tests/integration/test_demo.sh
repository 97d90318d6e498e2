#!/bin/sh
# test_demo.sh - `hubsync demo` (DESIGN.md 3.5): it runs from any folder,
# exits 0, reports convergence, and the claim holds when checked
# independently with the sqlite3 tool (every table of the master and the five
# replicas, row by row, synced_at left out). Also: a rerun in the same folder
# replaces the previous run; a folder that is not the demo's is refused and
# left untouched; without DIR a fresh folder is made and named. Quote ids
# (from the numbered series) are distinct in the master, and the report
# says that rows made offline with ids already used got new ones.
#
# Usage: test_demo.sh PATH_OF_HUBSYNC_BINARY (helpers: test_cli_lib.sh)
. "$(dirname "$0")/test_cli_lib.sh"

USERS="alice bob carol dave erin"
TABLES="'components', 'customers', 'sub_assemblies', 'quotes', 'projects',
	'manual_quotes', 'generated_numbers'"

# dump DB: "ok" from PRAGMA integrity_check, then every app table ("== name"
# and its rows in primary-key order, columns by name, synced_at left out,
# values quoted by type so that 1, 1.0 and '1' differ). Two sqlite3 runs per
# database: the first writes the queries, the second runs them.
dump() {
	sqlite3 -batch "$1" >"$T/dump.sql" <<SQL ||
SELECT 'PRAGMA integrity_check;';
SELECT 'SELECT ''== ' || m.name || ''';' || char(10) ||
	'SELECT ' || (SELECT group_concat(q) FROM (SELECT '"' || c.name || '"' q
		FROM pragma_table_info(m.name) c
		WHERE c.name <> 'synced_at' ORDER BY c.name)) ||
	' FROM "' || m.name || '" ORDER BY ' || (SELECT group_concat(q) FROM
		(SELECT '"' || c.name || '"' q FROM pragma_table_info(m.name) c
		WHERE c.pk > 0 ORDER BY c.pk)) || ';'
FROM sqlite_master m WHERE m.type = 'table' AND m.name IN ($TABLES)
ORDER BY m.name;
SQL
		fail "cannot read the tables of $1"
	sqlite3 -batch -cmd '.mode quote' "$1" <"$T/dump.sql" ||
		fail "cannot dump $1"
}

# check_run DIR: the output in $OUT reports success and the files agree.
check_run() {
	expect_match "report" "$OUT" '^all 6 databases identical: yes$'
	if grep -q '^  FAIL ' "$OUT"; then fail "a demo check failed"; fi
	for u in $USERS; do
		expect_match "report line of $u" "$OUT" \
			"^  $u +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ ms$"
	done
	[ -f "$1/nas/server.db" ] || fail "no master $1/nas/server.db"
	dump "$1/nas/server.db" >"$T/master.dump"
	expect_eq "integrity of the master" "$(head -n 1 "$T/master.dump")" \
		"'ok'"
	expect_eq "tables in the master" "$(grep -c "^'== " "$T/master.dump")" 7
	for u in $USERS; do
		[ -f "$1/$u.db" ] || fail "missing $1/$u.db"
		dump "$1/$u.db" >"$T/$u.dump"
		cmp -s "$T/master.dump" "$T/$u.dump" ||
			fail "master and $u differ:" \
				"$(diff "$T/master.dump" "$T/$u.dump" |
				head -n 6 | tr '\n' ' ')"
	done
	echo "master and 5 replicas identical ($(wc -l <"$T/master.dump")" \
		"lines of dump)"
	n=$(sqlite3 -batch "$1/alice.db" "SELECT count(*) FROM components")
	[ "$n" -gt 1200 ] || fail "the catalog did not load: $n components"
	# Quote ids come from the numbered series: distinct, each quote has
	# its generated number; integer keys made offline got new ids.
	expect_eq "quote ids distinct, every quote numbered" "$(sqlite3 -batch \
		"$1/nas/server.db" "SELECT count(*) = count(DISTINCT fullId) AND
		count(*) >= 4 AND (SELECT count(*) FROM quotes WHERE quoteId NOT
		IN (SELECT fullId FROM generated_numbers WHERE type = 'quote'))
		= 0 FROM generated_numbers WHERE type = 'quote'")" 1
	expect_match "report of new ids" "$OUT" \
		'^  ok    [1-9][0-9]* rows made with an id another PC had already used .* got new ids'
}

step "demo in a named folder, run from elsewhere"
mkdir elsewhere && cd elsewhere || fail "cannot cd"
start=$(date +%s)
run 0 demo "$T/office"
took=$(( $(date +%s) - start ))
cd "$T" || fail "cannot cd"
check_run "$T/office"
[ "$took" -le 60 ] || fail "the demo took ${took}s (should take a few)"
echo "demo ran in about ${took}s"

step "rerun in the same folder replaces the previous run"
sqlite3 -batch office/alice.db "INSERT INTO customers (customerCode,
	customerName) VALUES ('999', 'left over from the last run')"
echo "mine" >office/notes.txt
run 0 demo office
check_run office
expect_eq "old rows gone" "$(sqlite3 -batch office/alice.db \
	"SELECT count(*) FROM customers WHERE customerCode = '999'")" 0
expect_eq "other files kept" "$(cat office/notes.txt)" mine

step "a folder that is not the demo's is refused and left alone"
mkdir mine && echo "keep" >mine/keep.txt
run 1 demo mine
one_line_error
grep -q "not empty" "$ERR" || fail "the refusal does not say why"
expect_eq "file kept" "$(cat mine/keep.txt)" keep
expect_eq "nothing added" "$(ls -A mine)" keep.txt

step "without DIR: a fresh folder, named in the output"
mkdir cwd && cd cwd || fail "cannot cd"
run 0 demo
cd "$T" || fail "cannot cd"
dir=$(sed -n 's/^folder: //p' "$OUT")
case $dir in
./hubsync-demo-*) ;;
*) fail "the output does not name a ./hubsync-demo-XXXXXX folder: '$dir'" ;;
esac
check_run "cwd/$dir"

echo "PASS test_demo"
