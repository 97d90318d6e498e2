# test_cli_lib.sh - helpers sourced by the test_cli_*.sh scripts (not a test
# itself). Each script gets the path of the built hubsync binary as $1, works
# in a fresh temporary directory, and plays the app with the sqlite3 tool.
#
#   run RC ARGS...     run hubsync ARGS, require exit status RC; stdout goes to
#                      $OUT, stderr to $ERR (files)
#   one_line_error     require stderr to be exactly one non-empty line
#   sql DB SQL         run SQL on DB with the sqlite3 tool (stop on error)
#   json PATH [FILE]   the value at JSON path PATH ($.a.b, $[0].id) of FILE
#                      (default $OUT), via sqlite3's json functions
#   json_len [FILE]    the length of the JSON array in FILE (default $OUT)
#   json_type PATH [FILE]  its type: null, true, false, integer, real,
#                      text, array, object, or empty when absent
#   expect_eq WHAT GOT WANT / expect_match WHAT FILE REGEX   assertions
#   fail MESSAGE       end the test with a failure
set -u

HUBSYNC=${1:?usage: $0 PATH_OF_HUBSYNC_BINARY}
case $HUBSYNC in
/*) ;;
*) HUBSYNC=$(pwd)/$HUBSYNC ;;
esac
[ -x "$HUBSYNC" ] || { echo "FAIL: $HUBSYNC is not an executable"; exit 1; }
command -v sqlite3 >/dev/null ||
	{ echo "FAIL: the sqlite3 tool is missing (run scripts/setup.sh)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/hubsync-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
OUT=$T/stdout
ERR=$T/stderr
TEST_NAME=$(basename "$0" .sh)
STEP=""

fail() {
	echo "FAIL $TEST_NAME${STEP:+ [$STEP]}: $*"
	if [ -s "$OUT" ]; then echo "--- stdout:"; head -n 40 "$OUT"; fi
	if [ -s "$ERR" ]; then echo "--- stderr:"; head -n 40 "$ERR"; fi
	exit 1
}

# step NAME: names what the following checks are about (shown on failure).
step() {
	STEP=$*
}

# (Shell functions share variables: helpers use names starting with _.)
run() {
	_want=$1
	shift
	"$HUBSYNC" "$@" >"$OUT" 2>"$ERR"
	_got=$?
	[ "$_got" -eq "$_want" ] ||
		fail "hubsync $* exited $_got, expected $_want"
}

one_line_error() {
	_lines=$(wc -l <"$ERR")
	[ "$_lines" -eq 1 ] || fail "expected one line on stderr, got $_lines"
	grep -q '^hubsync' "$ERR" || fail "stderr does not start with 'hubsync'"
}

sql() {
	sqlite3 -batch -bail "$1" "$2" || fail "sqlite3 $1: $2"
}

# Both json helpers read the file with sqlite3's readfile().
json() {
	sqlite3 -batch :memory: \
		"SELECT json_extract(readfile('${2:-$OUT}'), '$1');" ||
		fail "not JSON: ${2:-$OUT}"
}

json_type() {
	sqlite3 -batch :memory: \
		"SELECT json_type(readfile('${2:-$OUT}'), '$1');" ||
		fail "not JSON: ${2:-$OUT}"
}

json_len() {
	sqlite3 -batch :memory: \
		"SELECT json_array_length(readfile('${1:-$OUT}'));" ||
		fail "not JSON: ${1:-$OUT}"
}

expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

expect_match() {
	grep -Eq -e "$3" "$2" || fail "$1: no line matches /$3/"
}

# is_json FILE: the file holds one valid JSON document.
is_json() {
	_v=$(sqlite3 -batch :memory: "SELECT json_valid(readfile('${1:-$OUT}'));")
	[ "$_v" = 1 ] || fail "output is not valid JSON"
}

# The part of the Craft Tools Hub schema the tests use, plus seed rows
# every install writes (identical in every replica: not conflicts).
make_app_db() {
	sql "$1" "
	CREATE TABLE customers (
		customerCode TEXT PRIMARY KEY,
		customerName TEXT NOT NULL,
		isActive BOOLEAN DEFAULT 1,
		created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
		updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);
	CREATE TABLE quotes (
		quoteId TEXT PRIMARY KEY,
		projectName TEXT,
		customer TEXT,
		status TEXT DEFAULT 'draft',
		created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
		updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);
	INSERT INTO customers(customerCode, customerName, created_at, updated_at)
		VALUES ('001', 'Acme Automation', '2025-01-01 00:00:00',
			'2025-01-01 00:00:00'),
		       ('002', 'Bolt Works', '2025-01-01 00:00:00',
			'2025-01-01 00:00:00');"
}

# A dump of the user tables (what the app sees), for "data unchanged" and
# convergence checks; hubsync's own columns (updated_at, updated_by,
# synced_at) are left out since syncing legitimately sets them.
app_rows() {
	sqlite3 -batch "$1" "
	SELECT customerCode, customerName, isActive FROM customers
		ORDER BY customerCode;
	SELECT quoteId, projectName, customer, status FROM quotes
		ORDER BY quoteId;" || fail "cannot read the app tables of $1"
}
