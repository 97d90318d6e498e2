#!/bin/sh
# Usage errors exit 2 with one line naming the problem and pointing at
# --help; every command answers --help with exit 0. Nothing here may touch
# the database given on the command line.
. "$(dirname "$0")/test_cli_lib.sh"

sql app.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
	INSERT INTO t VALUES (1, 'x');"
before=$(cksum <app.db)

step "no command"
run 2
one_line_error
expect_match "hint" "$ERR" "hubsync --help"

step "unknown command"
run 2 frobnicate app.db
one_line_error
expect_match "names it" "$ERR" "frobnicate"

step "top-level help"
run 0 --help
for c in init sync status history schedule conflicts resolve log number demo daemon; do
	expect_match "lists $c" "$OUT" "^  $c "
done
run 0 help
run 0 --version
expect_match "version" "$OUT" '^hubsync [0-9]+\.[0-9]+\.[0-9]+$'

step "every command has --help"
for c in init sync status history schedule conflicts resolve log number demo; do
	run 0 "$c" --help
	expect_match "$c usage" "$OUT" "^usage: hubsync $c"
	run 0 help "$c"
	expect_match "$c usage" "$OUT" "^usage: hubsync $c"
	run 0 "$c" app.db --bogus --help
done
run 0 daemon --help
expect_match "daemon usage" "$OUT" "^usage: hubsync daemon"

# Each case: the arguments, then a word the one-line error must contain.
usage_case() {
	want=$1
	shift
	step "usage: $*"
	run 2 "$@"
	one_line_error
	expect_match "names the problem" "$ERR" "$want"
	expect_match "points at --help" "$ERR" "--help'$"
}

usage_case "missing DB" sync
usage_case "missing DB" status
usage_case "unknown option '--frob'" sync app.db --frob
usage_case "unknown option '-x'" status -x app.db
usage_case "unexpected argument 'extra'" status app.db extra
usage_case "takes no value" sync app.db --json=yes
usage_case "missing --master" init app.db
usage_case "--master needs a value" init app.db --master
usage_case "--user needs a non-empty value" init app.db --master m.db --user=
usage_case "missing MINUTES" schedule app.db
usage_case "MINUTES must be a whole number" schedule app.db soon
usage_case "MINUTES must be a whole number" schedule app.db -1
usage_case "MINUTES must be a whole number" schedule app.db 10081
usage_case "MINUTES must be a whole number" schedule app.db 60min
usage_case "--limit must be a whole number" history app.db --limit 0
usage_case "--limit must be a whole number" history app.db --limit=ten
usage_case "--limit needs a value" history app.db --limit
usage_case "--limit must be a whole number" log app.db --limit -3
usage_case "--since must be a time" log app.db --since yesterday
usage_case "--since must be a time" log app.db --since 2025-13-01
usage_case "missing CONFLICT_ID" resolve app.db
usage_case "missing --keep" resolve app.db 1
usage_case "--keep must be 'local' or 'remote'" resolve app.db 1 --keep mine
usage_case "CONFLICT_ID must be a whole number" resolve app.db x --keep local
usage_case "unexpected argument" demo dir1 dir2

step "output that cannot be written is a failure"
if [ -w /dev/full ]; then
	"$HUBSYNC" --help >/dev/full 2>"$ERR"
	expect_eq "exit status" "$?" 1
	one_line_error
fi

step "usage errors leave the database alone"
expect_eq "app.db checksum" "$(cksum <app.db)" "$before"
[ ! -e m.db ] || fail "a usage error created the master"

echo "PASS $TEST_NAME"
