# The black box's table and rows for the bench's shell scripts (sourced:
# . "$(dirname "$0")/items.sh"): the same 6-column items table and row
# generator as case_blackbox.c, so that their counts compare.

# The items table's CREATE TABLE.
ITEMS_TABLE="CREATE TABLE items(id TEXT PRIMARY KEY, name TEXT,
	category TEXT, vendor TEXT, price REAL, qty INTEGER, notes TEXT)"

# The insert of rows 1..$1 in one statement, in one transaction.
items_rows() {
	echo "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1
		FROM c WHERE i < $1) INSERT INTO items(id, name, category, vendor,
		price, qty, notes) SELECT printf('item-%09d', i), 'name ' || i,
		'cat ' || (i % 20), 'vendor ' || (i % 50), i * 0.25, i % 100,
		'some notes about item ' || i FROM c; COMMIT;"
}
