#!/bin/sh
# test_demo.sh - `hubsync demo` (DESIGN.md 3.5): it runs from any folder,
# exits 0, reports convergence, and the claim holds when checked
# independently with the sqlite3 tool (every table of the master and the five
# replicas, row by row, synced_at left out). Also: a rerun in the same folder
# replaces the previous run; a folder that is not the demo's is refused and
# left untouched; without DIR a fresh folder is made and named.
#
# Usage: test_demo.sh PATH_OF_HUBSYNC_BINARY (helpers: test_cli_lib.sh)
. "$(dirname "$0")/test_cli_lib.sh"

USERS="alice bob carol dave erin"
TABLES="components customers sub_assemblies quotes projects manual_quotes
generated_numbers"

# rows DB TABLE: the table's rows in primary-key order, every column but
# synced_at, values quoted by type (1, 1.0 and '1' differ).
rows() {
	_cols=$(sqlite3 -batch "$1" "SELECT group_concat('\"' || name || '\"')
		FROM pragma_table_info('$2') WHERE name <> 'synced_at'") ||
		fail "cannot read the columns of $2 in $1"
	_key=$(sqlite3 -batch "$1" "SELECT group_concat('\"' || name || '\"')
		FROM pragma_table_info('$2') WHERE pk > 0") ||
		fail "cannot read the key of $2 in $1"
	sqlite3 -batch -cmd '.mode quote' "$1" \
		"SELECT $_cols FROM \"$2\" ORDER BY $_key" ||
		fail "cannot read $2 in $1"
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
	for db in "$1/nas/server.db" $(for u in $USERS; do echo "$1/$u.db"; done)
	do
		[ -f "$db" ] || fail "missing $db"
		expect_eq "integrity of $db" \
			"$(sqlite3 -batch "$db" 'PRAGMA integrity_check')" ok
	done
	for t in $TABLES; do
		rows "$1/nas/server.db" "$t" >"$T/master.rows"
		n=$(wc -l <"$T/master.rows")
		for u in $USERS; do
			rows "$1/$u.db" "$t" >"$T/$u.rows"
			cmp -s "$T/master.rows" "$T/$u.rows" ||
				fail "table $t differs between master and $u" \
					"($(diff "$T/master.rows" "$T/$u.rows" |
					head -n 4 | tr '\n' ' '))"
		done
		echo "  $t: $n rows, same in master and 5 replicas"
	done
	n=$(sqlite3 -batch "$1/alice.db" "SELECT count(*) FROM components")
	[ "$n" -gt 1200 ] || fail "the catalog did not load: $n components"
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
