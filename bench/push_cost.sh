#!/bin/sh
# Instructions of the black box's first push (`hubsync sync A` of N rows
# inserted by one statement after `hubsync init`, a file master on the
# local disk), counted by valgrind's callgrind: the whole process, a row,
# and the callgrind output kept for callgrind_annotate (docs/PERFORMANCE.md,
# "Fourth round"). Then the same for the first pull of a fresh PC (`sqlite3`
# creates the empty table, `hubsync init B` on the same master, `hubsync
# sync B`: the N rows and their audit trail), its output in OUT.pull.
# Instruction counts repeat on a loaded machine.
#
#   bench/push_cost.sh build/hubsync [OUT.callgrind]
# Needs valgrind and the sqlite3 shell. N: $N (default 20000).
# With CHANGE=10: the N rows are pushed first (not counted), then the app
# changes a column of 10 rows spread over the table and that push alone is
# counted: the sparse case, which must not cost more when the first push
# gets cheaper. With UPDATE=1: every row is then updated once (one column,
# one statement) before the counted push, as in the black box, whose first
# push folds two log entries a row.
set -eu
. "$(dirname "$0")/items.sh"
h=$1
out=${2:-/dev/null}
n=${N:-20000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/hs_push_cost.XXXXXX")
trap 'rm -rf "$dir"' EXIT
command -v valgrind >/dev/null || { echo "push_cost: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
sqlite3 "$dir/a.db" "$ITEMS_TABLE"
"$h" init "$dir/a.db" --master "$dir/m.db" --user bench >/dev/null
sqlite3 "$dir/a.db" "$(items_rows "$n")"
[ -z "${UPDATE:-}" ] || sqlite3 "$dir/a.db" "UPDATE items SET price = price + 1"
if [ -n "${CHANGE:-}" ]; then
	"$h" sync "$dir/a.db" >/dev/null
	sqlite3 "$dir/a.db" "UPDATE items SET price = price + 1 WHERE
		rowid % ($n / $CHANGE) = 7"
fi
total=$(valgrind --tool=callgrind --callgrind-out-file="$out" \
	"$h" sync "$dir/a.db" 2>&1 >/dev/null | awk '/Collected/ {print $4}')
if [ -n "${CHANGE:-}" ]; then
	echo "push of $CHANGE rows spread over $n: $total instructions"
	exit 0
fi
echo "first push of $n rows: $total instructions, $((total / n)) a row"
sqlite3 "$dir/b.db" "$ITEMS_TABLE"
"$h" init "$dir/b.db" --master "$dir/m.db" --user bench2 >/dev/null
pull_out=/dev/null
[ "$out" = /dev/null ] || pull_out=$out.pull
total=$(valgrind --tool=callgrind --callgrind-out-file="$pull_out" \
	"$h" sync "$dir/b.db" 2>&1 >/dev/null | awk '/Collected/ {print $4}')
got=$(sqlite3 "$dir/b.db" "SELECT count(*) FROM items")
[ "$got" = "$n" ] || { echo "push_cost: the pull gave $got rows, not $n" >&2; exit 1; }
echo "first pull of $n rows: $total instructions, $((total / n)) a row"
