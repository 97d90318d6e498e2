# test_pg_lib.sh - sourced by the tests pg_run.sh runs on a private
# PostgreSQL cluster (after test_cli_lib.sh, for fail): psql on that
# cluster, and a new database in it.
: "${HS_TEST_PG:?run through pg_run.sh}"
PSQL="$HS_TEST_PG_BIN/psql -X -q -A -t -h $HS_TEST_PG_DIR -U $HS_TEST_PG_USER"

# pg_create_db NAME: a new, empty UTF-8 database NAME.
pg_create_db() {
	$PSQL -d postgres -c "CREATE DATABASE $1 ENCODING 'UTF8' TEMPLATE template0" ||
		fail "cannot create the database $1"
}
