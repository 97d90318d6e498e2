#!/bin/sh
# The floor of the black box's first push in this data layout: what the
# master and the replica must write, done by the `sqlite3` shell as sets
# (one INSERT ... SELECT a table), counted by valgrind's callgrind next to
# the plain insert of the same rows (docs/PERFORMANCE.md, "Sixth round").
#
#   bench/push_floor.sh build/hubsync
# Needs valgrind and the sqlite3 shell. N: $N (default 20000).
#
# A real first push (`hubsync sync A`, as bench/push_cost.sh) makes the
# rows, versions and trail entries; the master's tables are then written
# again, from those, into an emptied copy of the master (same settings as
# store_file.c: journal TRUNCATE, synchronous FULL), and the replica's
# side (its copy of the trail, the log emptied) into a copy of A as it was
# before its push. Nothing is read through an index or decided per row:
# no key lookups, no merge, no values in C. `WHERE 1` keeps SQLite from
# copying the stored records as they are (its transfer optimization of
# `INSERT INTO t SELECT * FROM u`): each row is decoded and encoded again,
# as a real push must.
set -eu
. "$(dirname "$0")/items.sh"
h=$1
n=${N:-20000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/hs_push_floor.XXXXXX")
trap 'rm -rf "$dir"' EXIT
command -v valgrind >/dev/null || { echo "push_floor: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cg() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 \
	>/dev/null | awk -v n="$n" '/Collected/ {printf "%.1fk", $4 / n / 1000}'; }
sqlite3 "$dir/p.db" "$ITEMS_TABLE"
plain=$(cg sqlite3 "$dir/p.db" "$(items_rows "$n")")
sqlite3 "$dir/a.db" "$ITEMS_TABLE"
"$h" init "$dir/a.db" --master "$dir/m.db" --user bench >/dev/null
sqlite3 "$dir/a.db" "$(items_rows "$n")"
cp "$dir/a.db" "$dir/a0.db"
"$h" sync "$dir/a.db" >/dev/null
cp "$dir/m.db" "$dir/f.db"
sqlite3 "$dir/f.db" "DELETE FROM items; DELETE FROM hubsync_rows;
	DELETE FROM hubsync_history; VACUUM;"
master=$(cg sqlite3 "$dir/f.db" "PRAGMA journal_mode=TRUNCATE;
	PRAGMA synchronous=FULL; ATTACH '$dir/a0.db' AS r;
	ATTACH '$dir/m.db' AS m; BEGIN;
	INSERT INTO items SELECT * FROM r.items WHERE 1;
	INSERT INTO hubsync_rows SELECT * FROM m.hubsync_rows WHERE 1;
	INSERT INTO hubsync_history SELECT * FROM m.hubsync_history WHERE 1;
	COMMIT;")
replica=$(cg sqlite3 "$dir/a0.db" "ATTACH '$dir/m.db' AS m; BEGIN;
	INSERT INTO hubsync_history SELECT * FROM m.hubsync_history WHERE 1;
	DELETE FROM hubsync_changes; COMMIT;")
echo "N = $n, instructions a row: plain insert $plain; the floor of the" \
	"first push: the master's writes $master, the replica's $replica"
