#!/bin/sh
# test_pg_concurrency.sh - several processes merging into one PostgreSQL
# master at once: test_concurrency (the real `hubsync sync`, again and
# again, beside each PC's app writing) with every PC's master the same
# postgresql:// database. Each sync is its own process with its own
# connection, so pushes meet in PostgreSQL itself; every replica must end
# with exactly what every app committed (a reader that skipped a sequence
# taken by a later-committing push would miss rows for good).
# Run by pg_run.sh. Usage: test_pg_concurrency.sh HUBSYNC TEST_CONCURRENCY
# [PCS [SECONDS]]
set -eu
: "${HS_TEST_PG:?run through pg_run.sh}"
hubsync=$1 test=$2 pcs=${3:-6} seconds=${4:-20}
"$HS_TEST_PG_BIN/psql" -X -q -h "$HS_TEST_PG_DIR" -U "$HS_TEST_PG_USER" \
	-d postgres -c "CREATE DATABASE office ENCODING 'UTF8' TEMPLATE template0"
masters=$HS_TEST_PG/office
i=1
while [ "$i" -lt "$pcs" ]; do
	masters="$masters,$HS_TEST_PG/office"
	i=$((i + 1))
done
exec "$test" "$hubsync" --seconds "$seconds" --masters "$masters"
