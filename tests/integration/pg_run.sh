#!/bin/sh
# pg_run.sh - run a command against a private PostgreSQL cluster: initdb
# into a temporary folder, the server listening only on a unix socket in
# that folder (no TCP port to collide with), as the user nobody when run
# as root (initdb refuses root); HS_TEST_PG is set to the server's address
# without a database name (testutil.c's tu_master_new makes one database
# per office), HS_TEST_PG_DIR, _BIN and _USER to the socket folder (the
# cluster's data in its data/, its log server.log), the server's programs
# (psql) and the user to connect as, HS_TEST_PG_AS to the command prefix
# that runs pg_ctl as the cluster's owner (empty unless root); the cluster
# is stopped and removed afterwards, whatever the
# command did. Exit status: the command's; 77 (skipped) only when the
# PostgreSQL server binaries are not installed (scripts/setup.sh test
# installs them).
#
# Usage: pg_run.sh COMMAND [ARGS...]
# Settings for speed, not durability (a test cluster): fsync off.
set -eu
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
	echo "skipped: the PostgreSQL server is not installed (scripts/setup.sh test)"
	exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/hs-pg.XXXXXX")
as=
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
	user=nobody
	chown nobody "$dir"
	as="runuser -u nobody --"
fi
stop() {
	$as "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop \
		>/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM
if ! $as "$bin/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 \
	--locale=C >"$dir/initdb.log" 2>&1; then
	cat "$dir/initdb.log" >&2
	echo "pg_run: initdb failed" >&2
	exit 1
fi
if ! $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 \
	-o "-c listen_addresses='' -c unix_socket_directories='$dir' \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off \
-c max_connections=300" start >/dev/null; then
	cat "$dir/server.log" >&2
	echo "pg_run: the server did not start" >&2
	exit 1
fi
HS_TEST_PG="postgresql://$user@$(printf %s "$dir" | sed 's|/|%2F|g')"
HS_TEST_PG_DIR=$dir
HS_TEST_PG_BIN=$bin
HS_TEST_PG_USER=$user
HS_TEST_PG_AS=$as
export HS_TEST_PG HS_TEST_PG_DIR HS_TEST_PG_BIN HS_TEST_PG_USER HS_TEST_PG_AS
set +e
"$@"
rc=$?
set -e
if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
	echo "pg_run: server log (last lines):" >&2
	tail -n 20 "$dir/server.log" >&2
fi
exit "$rc"
