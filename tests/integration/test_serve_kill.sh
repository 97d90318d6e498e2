#!/bin/sh
# test_serve_kill.sh - `hubsync serve` SIGKILLed at random points while PCs
# sync through it (issue 9 part 3): in each trial three PCs write (a new
# row each, an edit of a shared row, an autoincrement note) and sync at
# once; the server is killed after a random 0-400 ms, restarted, and
# everyone syncs twice. Then: every row written is on the server and on
# every PC exactly once (nothing lost, nothing doubled), the PCs agree with
# the server, and the store passes PRAGMA integrity_check.
# Trials: HS_KILL_TRIALS (default 25; HS_SOAK=1: 120).
. "$(dirname "$0")/test_cli_lib.sh"
. "$(dirname "$0")/test_serve_lib.sh"

TRIALS=${HS_KILL_TRIALS:-25}
[ -n "${HS_SOAK:-}" ] && TRIALS=${HS_KILL_TRIALS:-120}
STORE=$T/store
trap '[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null; rm -rf "$T"' EXIT

rand_ms() { # 0..$1-1
	echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1 ))
}

PCS="p1 p2 p3"
for p in $PCS; do
	run 0 user add "$STORE" $p
	eval "TOK_$p=\$(cat \"\$OUT\")"
done
start_server --quiet
for p in $PCS; do
	sql $p.db "CREATE TABLE items(id TEXT PRIMARY KEY, v INTEGER);
		CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
	eval "tok=\$TOK_$p"
	run 0 init $p.db --master "http://127.0.0.1:$SPORT" --token "$tok"
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
	ms=$(rand_ms 400)
	sleep "$(printf '0.%03d' "$ms")"
	kill -9 "$SPID" 2>/dev/null && killed=$((killed + 1))
	wait "$SPID" 2>/dev/null
	for pid in $pids; do wait "$pid"; done
	start_server --quiet
	for p in $PCS $PCS; do run 0 sync $p.db; done
	i=$((i + 1))
done

step "after $TRIALS trials ($killed kills)"
M=$STORE/master.db
expect_eq "store intact" "$(sqlite3 -readonly "$M" "PRAGMA integrity_check")" ok
want=$((TRIALS * 3 + 1))
expect_eq "every row once on the server" \
	"$(sqlite3 -readonly "$M" "SELECT count(*), count(DISTINCT id) FROM items")" "$want|$want"
expect_eq "every note once on the server" \
	"$(sqlite3 -readonly "$M" "SELECT count(*), count(DISTINCT body) FROM notes")" \
	"$((TRIALS * 3))|$((TRIALS * 3))"
for p in $PCS; do
	expect_eq "$p agrees" \
		"$(sqlite3 $p.db "SELECT group_concat(id || '=' || v, ',') FROM (SELECT * FROM items ORDER BY id)")" \
		"$(sqlite3 -readonly "$M" "SELECT group_concat(id || '=' || v, ',') FROM (SELECT * FROM items ORDER BY id)")"
	expect_eq "$p notes" \
		"$(sqlite3 $p.db "SELECT group_concat(id || body, ',') FROM (SELECT * FROM notes ORDER BY id)")" \
		"$(sqlite3 -readonly "$M" "SELECT group_concat(id || body, ',') FROM (SELECT * FROM notes ORDER BY id)")"
	expect_eq "$p intact" "$(sqlite3 $p.db "PRAGMA integrity_check")" ok
done
kill "$SPID"
wait "$SPID"
SPID=
echo "ok $TEST_NAME: $TRIALS trials, $killed kills"
