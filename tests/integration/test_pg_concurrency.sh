#!/bin/sh
# test_pg_concurrency.sh - several processes merging into one PostgreSQL
# master at once: test_concurrency (the real `hubsync sync`, again and
# again, beside each PC's app writing) with every PC's master the same
# postgresql:// database, or (SERVES > 0) with SERVES `hubsync serve`
# processes on that database, PC k syncing through server k mod SERVES.
# Pushes meet in PostgreSQL itself (each sync, or each server, has its own
# connection); every replica must end with exactly what every app
# committed (a reader that skipped a sequence taken by a later-committing
# push would miss rows for good).
# Run by pg_run.sh. Usage: test_pg_concurrency.sh HUBSYNC TEST_CONCURRENCY
# [PCS [SECONDS [SERVES]]]
set -eu
: "${HS_TEST_PG:?run through pg_run.sh}"
hubsync=$1 test=$2 pcs=${3:-6} seconds=${4:-20} serves=${5:-0}
"$HS_TEST_PG_BIN/psql" -X -q -h "$HS_TEST_PG_DIR" -U "$HS_TEST_PG_USER" \
	-d postgres -c "CREATE DATABASE office ENCODING 'UTF8' TEMPLATE template0"
db=$HS_TEST_PG/office
if [ "$serves" -eq 0 ]; then
	masters=$db
	i=1
	while [ "$i" -lt "$pcs" ]; do
		masters="$masters,$db"
		i=$((i + 1))
	done
	exec "$test" "$hubsync" --seconds "$seconds" --masters "$masters"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hs-pgc.XXXXXX")
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
s=0
while [ "$s" -lt "$serves" ]; do
	"$hubsync" serve "$db" --listen 127.0.0.1:0 --port-file "$tmp/port$s" \
		--quiet 2>>"$tmp/serve.log" &
	pids="$pids $!"
	s=$((s + 1))
done
masters= tokens=
k=0
while [ "$k" -lt "$pcs" ]; do
	s=$((k % serves))
	n=0
	while [ ! -s "$tmp/port$s" ]; do
		n=$((n + 1))
		[ "$n" -lt 600 ] || { echo "FAIL: serve $s did not start"; cat "$tmp/serve.log"; exit 1; }
		sleep 0.1
	done
	masters="$masters${masters:+,}http://127.0.0.1:$(cat "$tmp/port$s")"
	tokens="$tokens${tokens:+,}$("$hubsync" user add "$db" "pc$k")"
	k=$((k + 1))
done
rc=0
"$test" "$hubsync" --seconds "$seconds" --masters "$masters" \
	--tokens "$tokens" || rc=$?
[ "$rc" -eq 0 ] || { echo "serve log:"; tail -n 20 "$tmp/serve.log"; }
exit "$rc"
