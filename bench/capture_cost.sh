#!/bin/sh
# Instructions a row that the capture triggers add to the black box's
# one-statement writes (docs/PERFORMANCE.md, "Second round"), counted by
# valgrind's callgrind in the sqlite3 shell: the insert of N rows, the
# update of 1 column of them, the delete of them, each minus the same
# statement on an empty table. Instruction counts repeat exactly on a
# loaded machine, unlike times.
#
#   bench/capture_cost.sh plain                 # no hubsync
#   bench/capture_cost.sh build/hubsync         # after `hubsync init`
#   bench/capture_cost.sh build/hubsync v.sql   # then v.sql run on it
#                                               # (variants of the triggers)
# Needs valgrind and the sqlite3 shell. N: $N (default 5000).
set -eu
. "$(dirname "$0")/items.sh"
h=$1
variant=${2:-}
n=${N:-5000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/hs_capture_cost.XXXXXX")
trap 'rm -rf "$dir"' EXIT
command -v valgrind >/dev/null || { echo "capture_cost: needs valgrind (apt-get install valgrind)" >&2; exit 1; }

make_db() { # name rows
	sqlite3 "$dir/$1.db" "$ITEMS_TABLE"
	if [ "$h" != plain ]; then
		"$h" init "$dir/$1.db" --master "$dir/m-$1.db" --user bench >/dev/null
		[ -z "$variant" ] || sqlite3 "$dir/$1.db" <"$variant"
	fi
}
count() { # name sql
	valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		sqlite3 "$dir/$1.db" "$2" 2>&1 | awk '/Collected/ {print $4}'
}
make_db empty
make_db full
i0=$(count empty "$(items_rows 0)")
i1=$(count full "$(items_rows "$n")")
upd="BEGIN; UPDATE items SET price = price + 1; COMMIT;"
u0=$(count empty "$upd")
u1=$(count full "$upd")
del="BEGIN; DELETE FROM items WHERE id IS NOT NULL; COMMIT;"
d0=$(count empty "$del")
d1=$(count full "$del")
echo "instructions a row ($n rows): insert $(((i1 - i0) / n))" \
	"update $(((u1 - u0) / n)) delete $(((d1 - d0) / n))"
