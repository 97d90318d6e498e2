#!/bin/sh
# SQLite's session extension applying 100,000 new rows, against the plain
# insert of the same rows (bench/tools/session_apply.c; docs/PERFORMANCE.md,
# "Fourth round"). Needs a C compiler and libsqlite3-dev.
#
#   bench/session_apply.sh
set -eu
dir=$(mktemp -d "${TMPDIR:-/tmp}/hs_session.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cc -O2 -Wall -Werror -DSQLITE_ENABLE_SESSION -DSQLITE_ENABLE_PREUPDATE_HOOK \
	-o "$dir/session_apply" "$(dirname "$0")/tools/session_apply.c" -lsqlite3
"$dir/session_apply" "$dir"
