#!/bin/sh
# test_pg_reconnect.sh - `hubsync serve postgresql://` after its database
# connection broke (issue 10): two serve processes on one database, three
# PCs split between them.
#   - every backend of the serve processes is ended by the database
#     (pg_terminate_backend, as an administrator or a failover tool does)
#     between syncs: the next sync through either process succeeds, and
#     each process says in one line of its log that it connected again;
#   - the same while the PCs sync in a loop at the same time: a sync that
#     was inside the database at that moment may fail (one line), every
#     sync after it succeeds, nothing is lost;
#   - the PostgreSQL server itself restarted (pg_ctl restart) while the
#     serve processes keep running: the next syncs succeed;
#   - at the end every PC holds every row once.
# Run by pg_run.sh. Usage: test_pg_reconnect.sh HUBSYNC
. "$(dirname "$0")/test_cli_lib.sh"
. "$(dirname "$0")/test_serve_lib.sh"

. "$(dirname "$0")/test_pg_lib.sh"
pg_create_db office
STORE=$HS_TEST_PG/office
trap 'kill ${SPID_1:-} ${SPID_2:-} ${LOOP:-} 2>/dev/null; rm -rf "$T"' EXIT
start_named 1 --quiet
U1=$URL
start_named 2 --quiet
U2=$URL
n=0
for p in a b c; do
	run 0 user add "$STORE" "u$p"
	tok=$(cat "$OUT")
	sql $p.db "CREATE TABLE items(id TEXT PRIMARY KEY, pc TEXT, k INTEGER)"
	u=$U1
	[ $((n % 2)) = 1 ] && u=$U2
	run 0 init $p.db --master "$u" --token "$tok"
	n=$((n + 1))
done
for p in a b c; do run 0 sync $p.db; done

# End every connection of the serve processes (not psql's own).
terminate() {
	$PSQL -d postgres -c "SELECT count(pg_terminate_backend(pid)) FROM
		pg_stat_activity WHERE datname = 'office' AND pid <> pg_backend_pid()" \
		>"$T/killed" || fail "pg_terminate_backend failed"
}
# Number of "connected again" lines in the serve processes' log.
reconnects() {
	grep -c "connected again" "$T/serve.log" || true
}
k=0
add() { # PC, then one row of it
	k=$((k + 1))
	sql $1.db "INSERT INTO items VALUES ('$1$k', '$1', $k)"
}

step "backends ended between syncs"
for round in 1 2 3; do
	terminate
	[ "$(cat "$T/killed")" -ge 2 ] || fail "no serve connection to end: $(cat "$T/killed")"
	before=$(reconnects)
	for p in a b c; do
		add $p
		run 0 sync $p.db
	done
	[ "$(reconnects)" -gt "$before" ] ||
		fail "no line in the log about connecting again: $(tail -n 5 "$T/serve.log")"
done
grep "connected again" "$T/serve.log" | head -n 1 >"$T/line"
[ "$(wc -l <"$T/serve.log")" -ge 1 ] || fail "empty log"
expect_match "the log line names the store and the cause" "$T/line" \
	"PostgreSQL .*office.*connected again"

step "backends ended while PCs sync"
# the PCs sync in a loop; a failed sync is logged, and must be followed
# by a good one
( i=0
  while [ ! -e "$T/stop" ]; do
	for p in a b c; do
		i=$((i + 1))
		sqlite3 $p.db "INSERT INTO items VALUES ('$p-loop$i', '$p', $i)" ||
			echo "app write $p $i" >>"$T/loop.bad"
		if "$HUBSYNC" sync $p.db >"$T/loop.out" 2>"$T/loop.err"; then
			echo "ok $p" >>"$T/loop.log"
		else
			echo "failed $p: $(head -n 1 "$T/loop.err")" >>"$T/loop.log"
		fi
	done
  done ) &
LOOP=$!
for round in 1 2 3 4 5; do
	sleep 1
	terminate
done
sleep 1
touch "$T/stop"
wait "$LOOP"
LOOP=
[ ! -e "$T/loop.bad" ] || fail "the app could not write: $(cat "$T/loop.bad")"
# after the last break every PC synced well at least once more
for p in a b c; do
	last=$(grep " $p" "$T/loop.log" | tail -n 1)
	expect_eq "$p's last sync in the loop" "$last" "ok $p"
done
grep -c '^ok' "$T/loop.log" >"$T/oks"
[ "$(cat "$T/oks")" -ge 6 ] || fail "too few syncs went through: $(cat "$T/loop.log")"
if grep -q '^failed' "$T/loop.log"; then
	grep '^failed' "$T/loop.log" | head -n 3
fi

step "the PostgreSQL server restarted"
(cd / && ${HS_TEST_PG_AS:-} "$HS_TEST_PG_BIN/pg_ctl" -D "$HS_TEST_PG_DIR/data" \
	-l "$HS_TEST_PG_DIR/server.log" -m fast -w -t 120 restart >/dev/null) ||
	fail "pg_ctl restart failed"
for p in a b c; do
	add $p
	run 0 sync $p.db
done
kill -0 "$SPID_1" && kill -0 "$SPID_2" || fail "a serve process ended"

step "every PC has every row"
for p in a b c a b c; do run 0 sync $p.db; done
want=$(sqlite3 a.db "SELECT count(*), count(DISTINCT id) FROM items")
for p in b c; do
	expect_eq "$p's rows" "$(sqlite3 $p.db "SELECT group_concat(id) FROM (SELECT id FROM items ORDER BY id)")" \
		"$(sqlite3 a.db "SELECT group_concat(id) FROM (SELECT id FROM items ORDER BY id)")"
done
expect_eq "every row once" "${want#*|}" "${want%%|*}"
expect_eq "the database's rows" \
	"$($PSQL -d office -c "SELECT count(*) FROM items")" "${want%%|*}"
cp "$T/serve.log" "${HS_TEST_KEEP_LOG:-/dev/null}" 2>/dev/null
echo "ok $TEST_NAME"
