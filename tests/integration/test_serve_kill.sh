#!/bin/sh
# test_serve_kill.sh - `hubsync serve` SIGKILLed at random points while PCs
# sync through it (issue 9 part 3): in each trial the PCs write (a new row
# each, an edit of a shared row, an autoincrement note) and sync at once;
# a server is killed after a random 0-400 ms, restarted, and everyone
# syncs twice. Then: every row written is on the server and on every PC
# exactly once (nothing lost, nothing doubled), the PCs agree with the
# server, and the store is intact.
#
# Two stores:
#  - a folder (default): one serve process, three PCs; the master file
#    passes PRAGMA integrity_check;
#  - PostgreSQL (run by pg_run.sh, HS_TEST_PG set; issue 10): two serve
#    processes on one database, four PCs split between them; each trial
#    kills one of the two at random, its PCs move to the other (hubsync
#    relocate) and everyone carries on there, then it is restarted and
#    they move back; the database's versions (hubsync.rows) agree with the
#    tables.
# Trials: HS_KILL_TRIALS (default 25, PostgreSQL 15; HS_SOAK=1: 120).
. "$(dirname "$0")/test_cli_lib.sh"
. "$(dirname "$0")/test_serve_lib.sh"

if [ -n "${HS_TEST_PG:-}" ]; then
	. "$(dirname "$0")/test_pg_lib.sh"
	pg_create_db office
	STORE=$HS_TEST_PG/office
	SERVES="a b"
	PCS="p1 p2 p3 p4"
	TRIALS=${HS_KILL_TRIALS:-15}
else
	STORE=$T/store
	SERVES="a"
	PCS="p1 p2 p3"
	TRIALS=${HS_KILL_TRIALS:-25}
fi
[ -n "${HS_SOAK:-}" ] && TRIALS=${HS_KILL_TRIALS:-120}
trap 'for s in $SERVES; do eval "p=\${SPID_$s:-}"; [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

# master_q SQLITE_SQL PG_SQL: one answer from the store's master.
master_q() {
	if [ -n "${HS_TEST_PG:-}" ]; then
		$PSQL -d office -c "$2" || fail "psql: $2"
	else
		sqlite3 -readonly "$STORE/master.db" "$1" || fail "sqlite3: $1"
	fi
}

# serve_of P: the serve process PC P syncs through (by turns).
serve_of() {
	set -- $SERVES
	_n=$#
	_k=$(echo "$PCS" | tr ' ' '\n' | grep -n "^$P\$" | cut -d: -f1)
	shift $(((_k - 1) % _n))
	echo "$1"
}

# relocate P S: PC P syncs through serve process S from now on.
relocate() {
	eval "_port=\$PORT_$2"
	run 0 relocate "$1.db" --master "http://127.0.0.1:$_port"
}

rand_ms() { # 0..$1-1
	echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1 ))
}

for p in $PCS; do
	run 0 user add "$STORE" $p
	eval "TOK_$p=\$(cat \"\$OUT\")"
done
for s in $SERVES; do start_named $s --quiet; done
for p in $PCS; do
	sql $p.db "CREATE TABLE items(id TEXT PRIMARY KEY, v INTEGER);
		CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
	eval "tok=\$TOK_$p"
	P=$p
	eval "port=\$PORT_$(serve_of)"
	run 0 init $p.db --master "http://127.0.0.1:$port" --token "$tok"
done
sql p1.db "INSERT INTO items VALUES ('shared', 0)"
for p in $PCS $PCS; do run 0 sync $p.db; done

killed=0
i=1
while [ $i -le "$TRIALS" ]; do
	step "trial $i"
	for p in $PCS; do
		sql $p.db "INSERT INTO items VALUES ('t$i-$p', $i);
			UPDATE items SET v = $i WHERE id = 'shared';
			INSERT INTO notes(body) VALUES ('t$i-$p');"
	done
	pids=
	for p in $PCS; do
		"$HUBSYNC" sync $p.db >/dev/null 2>&1 &
		pids="$pids $!"
	done
	set -- $SERVES
	[ $# -gt 1 ] && [ "$(rand_ms 2)" = 1 ] && shift
	victim=$1
	other=$(echo $SERVES | tr ' ' '\n' | grep -v "^$victim\$" | head -n 1)
	ms=$(rand_ms 400)
	sleep "$(printf '0.%03d' "$ms")"
	eval "vpid=\$SPID_$victim"
	kill -9 "$vpid" 2>/dev/null && killed=$((killed + 1))
	wait "$vpid" 2>/dev/null
	for pid in $pids; do wait "$pid"; done
	moved=
	if [ -n "$other" ]; then # its PCs carry on through the other
		for p in $PCS; do
			P=$p
			[ "$(serve_of)" = "$victim" ] || continue
			relocate $p "$other"
			moved="$moved $p"
		done
		for p in $PCS $PCS; do run 0 sync $p.db; done
	fi
	start_named "$victim" --quiet
	for p in $moved; do relocate $p "$victim"; done
	for p in $PCS $PCS; do run 0 sync $p.db; done
	i=$((i + 1))
done

step "after $TRIALS trials ($killed kills)"
if [ -n "${HS_TEST_PG:-}" ]; then
	expect_eq "versions agree with the tables" \
		"$(master_q "" "SELECT (SELECT count(*) FROM hubsync.rows WHERE tbl = 'items' AND alive = 1) || '|' || (SELECT count(*) FROM items) || '|' || (SELECT count(*) FROM hubsync.rows WHERE tbl = 'notes' AND alive = 1) || '|' || (SELECT count(*) FROM notes)")" \
		"$(master_q "" "SELECT count(*) || '|' || count(*) FROM items")|$(master_q "" "SELECT count(*) || '|' || count(*) FROM notes")"
else
	expect_eq "store intact" "$(master_q "PRAGMA integrity_check" "")" ok
fi
npcs=$(echo $PCS | wc -w)
want=$((TRIALS * npcs + 1))
expect_eq "every row once on the server" \
	"$(master_q "SELECT count(*) || '|' || count(DISTINCT id) FROM items" \
		"SELECT count(*) || '|' || count(DISTINCT id) FROM items")" "$want|$want"
expect_eq "every note once on the server" \
	"$(master_q "SELECT count(*) || '|' || count(DISTINCT body) FROM notes" \
		"SELECT count(*) || '|' || count(DISTINCT body) FROM notes")" \
	"$((TRIALS * npcs))|$((TRIALS * npcs))"
items=$(master_q "SELECT group_concat(id || '=' || v, ',') FROM (SELECT * FROM items ORDER BY id)" \
	"SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM items")
notes=$(master_q "SELECT group_concat(id || body, ',') FROM (SELECT * FROM notes ORDER BY id)" \
	"SELECT string_agg(id || body, ',' ORDER BY id) FROM notes")
for p in $PCS; do
	expect_eq "$p agrees" \
		"$(sqlite3 $p.db "SELECT group_concat(id || '=' || v, ',') FROM (SELECT * FROM items ORDER BY id)")" \
		"$items"
	expect_eq "$p notes" \
		"$(sqlite3 $p.db "SELECT group_concat(id || body, ',') FROM (SELECT * FROM notes ORDER BY id)")" \
		"$notes"
	expect_eq "$p intact" "$(sqlite3 $p.db "PRAGMA integrity_check")" ok
done
for s in $SERVES; do
	eval "p=\$SPID_$s"
	kill "$p"
	wait "$p"
	eval "SPID_$s="
done
echo "ok $TEST_NAME: $TRIALS trials, $killed kills"
