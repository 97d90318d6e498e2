#!/bin/sh
# Two users, one master, everything through the hubsync command; the sqlite3
# tool plays the app. Covers: init on a database that already holds data,
# identical seed rows (not conflicts), inserts, updates and deletes flowing
# both ways, a concurrent edit of one value (a conflict, listed and
# resolved), convergence, and the human output of sync/status/conflicts.
. "$(dirname "$0")/test_cli_lib.sh"

mkdir share
make_app_db alice.db
make_app_db bob.db

step "init creates the master and queues existing rows"
run 0 init alice.db --master share/server.db --user alice
[ -f share/server.db ] || fail "init did not create the master"
expect_match "init summary" "$OUT" "^initialized alice.db: user alice"
run 0 init bob.db --master share/server.db --user bob

step "init again with the same master is harmless"
run 0 init bob.db --master share/server.db --user bob

step "the app writes; first syncs"
sql alice.db "INSERT INTO quotes(quoteId, projectName, customer)
	VALUES ('CA250115001-A', 'Conveyor line', '001');
	INSERT INTO quotes(quoteId, projectName, customer)
	VALUES ('CA250115002-A', 'Palletizer', '002');"
sql bob.db "INSERT INTO customers(customerCode, customerName)
	VALUES ('003', 'Cog & Gear');"
run 0 sync alice.db
expect_match "summary line" "$OUT" \
	'^pulled [0-9]+, pushed [0-9]+, 0 conflicts in [0-9]+\.[0-9]+s$'
expect_match "per-table counts" "$OUT" '^  quotes +[0-9]+ +[0-9]+$'
run 0 sync bob.db
expect_match "seed rows are not conflicts" "$OUT" ', 0 conflicts in '
run 0 sync alice.db

step "both replicas converged"
expect_eq "alice vs bob" "$(app_rows alice.db)" "$(app_rows bob.db)"
expect_eq "master" "$(app_rows share/server.db)" "$(app_rows alice.db)"
expect_eq "bob's customer at alice" \
	"$(sqlite3 alice.db "SELECT customerName FROM customers WHERE customerCode='003'")" \
	"Cog & Gear"
expect_eq "alice's quotes at bob" \
	"$(sqlite3 bob.db "SELECT count(*) FROM quotes")" 2

step "updates to different columns of one row both survive"
sql alice.db "UPDATE quotes SET projectName = 'Conveyor line v2'
	WHERE quoteId = 'CA250115001-A';"
sql bob.db "UPDATE quotes SET status = 'sent'
	WHERE quoteId = 'CA250115001-A';"
run 0 sync alice.db
run 0 sync bob.db
expect_match "no conflict for different columns" "$OUT" ', 0 conflicts in '
run 0 sync alice.db
for db in alice.db bob.db; do
	expect_eq "$db merged row" \
		"$(sqlite3 $db "SELECT projectName || '/' || status FROM quotes WHERE quoteId = 'CA250115001-A'")" \
		"Conveyor line v2/sent"
done

step "a delete reaches the other replica"
sql bob.db "DELETE FROM quotes WHERE quoteId = 'CA250115002-A';"
run 0 sync bob.db
run 0 sync alice.db
expect_eq "deleted at alice" \
	"$(sqlite3 alice.db "SELECT count(*) FROM quotes WHERE quoteId = 'CA250115002-A'")" 0

step "a concurrent edit of one value is a conflict"
sql alice.db "UPDATE customers SET customerName = 'Acme (Alice)'
	WHERE customerCode = '001';"
sleep 0.05 2>/dev/null || sleep 1
sql bob.db "UPDATE customers SET customerName = 'Acme (Bob)'
	WHERE customerCode = '001';"
run 0 sync alice.db
run 0 sync bob.db
expect_match "sync reports it" "$OUT" ', 1 conflict in '
expect_match "and where to look" "$OUT" '^review them with: hubsync conflicts bob.db$'
run 0 sync alice.db
expect_eq "the later edit won everywhere" "$(app_rows alice.db)" "$(app_rows bob.db)"
expect_eq "winner" \
	"$(sqlite3 alice.db "SELECT customerName FROM customers WHERE customerCode = '001'")" \
	"Acme (Bob)"

step "conflicts lists it readably"
run 0 conflicts bob.db
expect_match "header" "$OUT" '^#[0-9]+  customers  customerCode=001  column customerName$'
expect_match "alice's value" "$OUT" '"Acme \(Alice\)"'
expect_match "bob's value won" "$OUT" '"Acme \(Bob\)"   <- won$'
expect_match "both users" "$OUT" ' alice '
expect_match "when" "$OUT" '^    detected '
run 0 conflicts bob.db --json
id=$(json '$[0].id')
expect_eq "conflict table" "$(json '$[0].table')" customers

step "resolve keeps the value that lost, everywhere"
cp "$OUT" conflicts.json
case $(json '$[0].winner' conflicts.json) in
local) keep=remote ;;
remote) keep=local ;;
*) fail "winner is neither local nor remote" ;;
esac
run 1 resolve bob.db 999999 --keep "$keep"
one_line_error
run 0 resolve bob.db "$(json '$[0].id' conflicts.json)" --keep "$keep"
run 0 sync bob.db
run 0 sync alice.db
for db in alice.db bob.db share/server.db; do
	expect_eq "$db after resolve" \
		"$(sqlite3 $db "SELECT customerName FROM customers WHERE customerCode = '001'")" \
		"Acme (Alice)"
done
expect_eq "converged after resolve" "$(app_rows alice.db)" "$(app_rows bob.db)"
run 0 conflicts bob.db --json
expect_eq "no unresolved conflict left" "$(json '$')" "[]"
run 0 conflicts bob.db
expect_match "says so" "$OUT" '^no conflicts$'
run 0 conflicts bob.db --all --json
expect_eq "--all keeps the resolved one" "$(json '$[0].resolved')" 1

step "status reads well"
run 0 status alice.db
expect_match "state" "$OUT" '^state: +idle$'
expect_match "last sync" "$OUT" '^last sync: +(just now|[0-9]+ seconds ago) '
expect_match "next sync" "$OUT" '^next sync: +in (120 minutes|[0-9]+ minutes)'
expect_match "user" "$OUT" '^user: +alice$'
expect_match "master" "$OUT" "^master: +$T/share/server.db\$"

step "history is a table, newest first"
run 0 history alice.db
expect_match "header" "$OUT" '^ID +WHEN +DIRECTION +STATUS +PULLED +PUSHED +CONFLICTS +DURATION +ERROR$'
expect_match "rows" "$OUT" '^ *[0-9]+  [0-9-]+ [0-9:]+  bidirectional +success '
run 0 history alice.db --limit 2
expect_eq "--limit 2" "$(wc -l <"$OUT")" 3

step "log shows who changed what"
run 0 log alice.db --table quotes --key CA250115001-A
expect_match "header" "$OUT" '^WHEN +USER +TABLE +KEY +OP +STATE +CHANGES$'
expect_match "alice's update" "$OUT" \
	' alice +quotes +CA250115001-A +update +synced +projectName: Conveyor line -> Conveyor line v2$'
expect_match "bob's update" "$OUT" ' bob +quotes +CA250115001-A +update +synced +status: draft -> sent$'
sql alice.db "UPDATE quotes SET status = 'won' WHERE quoteId = 'CA250115001-A';"
run 0 log alice.db --table quotes --limit 1
expect_match "a pending change" "$OUT" ' alice +quotes +CA250115001-A +update +pending +status$'
run 1 log alice.db --table nosuch
one_line_error
run 0 sync alice.db
run 0 sync bob.db

step "a second sync with nothing new moves nothing"
run 0 sync alice.db
run 0 sync alice.db
expect_match "nothing moved" "$OUT" '^pulled 0, pushed 0, 0 conflicts in '

echo "PASS $TEST_NAME"
