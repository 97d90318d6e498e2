#!/bin/sh
# hubsync backup / restore: the copy is consistent and checked, named by its
# UTC time, rotated to the newest N (other files untouched); it waits for the
# master lock; a damaged master rotates no good copy out; restore keeps the
# old master aside, puts the backup in place, and replicas that moved on
# after the backup lose nothing; bad input exits 1 with one line and changes
# nothing; the daemon backs up at start and keeps --backup-keep copies.
# The daemon's scheduled backups (--backup-every) at the end.
. "$(dirname "$0")/test_daemon_lib.sh"

# bad WORD ARGS...: exit 1, one line naming the problem.
bad() {
	_word=$1
	shift
	run 1 "$@"
	one_line_error
	expect_match "names the problem" "$ERR" "$_word"
}

# The files in a folder, one line.
files() {
	ls "$1" | tr '\n' ' '
}

# Rows of the quotes table, for comparing replicas and the master.
quotes() {
	sqlite3 -batch "$1" "SELECT quoteId, projectName FROM quotes ORDER BY 1" ||
		fail "cannot read $1"
}

M=$T/share/server.db
mkdir share
make_app_db a.db
make_app_db b.db
run 0 init a.db --master "$M" --user alice
run 0 init b.db --master "$M" --user bob
sql a.db "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Line A');"
run 0 sync a.db
run 0 sync b.db

step "a backup is a checked copy named by its UTC time"
before=$(date -u +%Y-%m-%dT%H-%M-%S)
run 0 backup "$M" --json
is_json
after=$(date -u +%Y-%m-%dT%H-%M-%S)
B1=$(json '$.backup')
case $B1 in
"$T/share/backups/server.db."????-??-??T??-??-??Z.bak) ;;
*) fail "unexpected backup name $B1" ;;
esac
stamp=${B1#"$T/share/backups/server.db."}
stamp=${stamp%Z.bak}
[ "$stamp" \> "$before" ] || [ "$stamp" = "$before" ] || fail "time $stamp before $before"
[ "$stamp" \< "$after" ] || [ "$stamp" = "$after" ] || fail "time $stamp after $after"
expect_eq "integrity of the copy" "$(sqlite3 "$B1" 'PRAGMA integrity_check')" ok
expect_eq "same rows as the master" "$(quotes "$B1")" "$(quotes "$M")"
expect_eq "sequence reported" "$(json '$.seq')" \
	"$(sqlite3 "$M" "SELECT value FROM hubsync_master WHERE key = 'seq'")"
expect_eq "bytes reported" "$(json '$.bytes')" "$(wc -c <"$B1" | tr -d ' ')"
expect_eq "nothing removed" "$(json_type '$.removed')$(json '$.removed')" "array[]"
[ ! -e "$M.lock" ] || fail "the master lock was left behind"

step "human output says what was done"
run 0 backup "$M"
expect_match "names the copy" "$OUT" "^backed up .*server.db \\(sequence [0-9]+\\) to .*\\.bak \\(.*integrity ok\\)"
expect_match "rotation line" "$OUT" "no old backup removed \\(keeping the newest 7\\)"

step "rotation keeps the newest N copies and nothing else is touched"
echo "notes" >share/backups/README.txt
echo "other" >share/backups/other.db.2020-01-01T00-00-00Z.bak
touch share/backups/server.db.2020-01-01T00-00-00Z.bak.tmp # a killed backup
run 0 backup "$M" --keep 2 --json
B3=$(json '$.backup')
n=$(ls share/backups | grep -c '^server\.db\..*Z\.bak$')
expect_eq "copies kept" "$n" 2
[ -e "$B3" ] || fail "the new copy was rotated out"
[ ! -e "$B1" ] || fail "the oldest copy was kept"
[ -e share/backups/README.txt ] || fail "an unrelated file was deleted"
[ -e share/backups/other.db.2020-01-01T00-00-00Z.bak ] ||
	fail "another master's copy was deleted"
[ ! -e share/backups/server.db.2020-01-01T00-00-00Z.bak.tmp ] ||
	fail "a killed backup's temp file was left"
expect_eq "removed listed" "$(json '$.removed[0]') $(json '$.removed[1]')" \
	"$T/share/backups/server.db.2020-01-01T00-00-00Z.bak.tmp $B1"

step "--dir puts the copies elsewhere"
run 0 backup "$M" --dir "$T/elsewhere" --json
case $(json '$.backup') in
"$T/elsewhere/server.db."*Z.bak) ;;
*) fail "not in --dir: $(json '$.backup')" ;;
esac

step "a backup waits for the master lock (a live sync holds it)"
mkdir "$M.lock"
echo "$(hostname) $$ $(date +%s)000" >"$M.lock/owner"
listing=$(files share/backups)
bad "lock|busy|locked" backup "$M" --lock-timeout 1500
expect_eq "no copy while locked" "$(files share/backups)" "$listing"
rm -rf "$M.lock"

step "bad input: exit 1, one line, nothing changed"
bad "not there" backup "$T/share/nosuch.db"
[ ! -e "$T/share/nosuch.db" ] || fail "backup created a master"
bad "not a hubsync master" backup a.db
[ ! -e backups ] || fail "a refused backup made a folder"
echo "a file" >plainfile
bad "not a folder" backup "$M" --dir plainfile
bad "backups" backup "$M" --dir "$T/plainfile/backups"
run 2 backup "$M" --keep 0
run 2 backup "$M" --keep many
run 2 backup

step "a damaged master is reported and rotates no good copy out"
cp "$M" damaged.db
cp -r share/backups good-backups
size=$(wc -c <damaged.db)
# Overwrite every page but the first with garbage: the header still says
# SQLite, the tables do not hold together.
dd if=/dev/urandom of=damaged.db bs=4096 seek=1 count=$((size / 4096 - 1)) \
	conv=notrunc 2>/dev/null
mkdir dshare
cp damaged.db dshare/server.db
mkdir dshare/backups
cp good-backups/server.db.*Z.bak dshare/backups/
listing=$(files dshare/backups)
bad "damaged|integrity|not a hubsync master|malformed" backup "$T/dshare/server.db" --keep 1
expect_eq "no copy rotated out" "$(files dshare/backups)" "$listing"

step "restore --check tells a good backup from a bad one"
run 0 restore "$M" "$B3" --check
expect_match "good" "$OUT" "is a good backup: integrity ok"
bad "damaged|not a SQLite" restore "$M" damaged.db --check
bad "not there" restore "$M" nosuch.bak --check

step "edits made after the backup"
sql a.db "INSERT INTO quotes(quoteId, projectName) VALUES ('Q2', 'after backup A');
	  INSERT INTO quotes(quoteId, projectName) VALUES ('Q3', 'after backup A');
	  UPDATE quotes SET projectName = 'renamed by A' WHERE quoteId = 'Q1';"
run 0 sync a.db
run 0 sync b.db
sql b.db "INSERT INTO quotes(quoteId, projectName) VALUES ('Q4', 'B offline');"

step "number blocks reserved after the backup"
run 0 number a.db quote
run 0 number b.db quote
next_before=$(sqlite3 "$M" "SELECT next FROM hubsync_numbers WHERE series = 'quote'")
[ -n "$next_before" ] || fail "no quote series on the master"

step "restore refuses a bad backup and changes nothing"
sum=$(cksum <"$M")
bad "damaged|not a SQLite" restore "$M" damaged.db
bad "not a hubsync master" restore "$M" a.db
bad "not there" restore "$M" nosuch.bak
bad "master itself" restore "$M" "$M"
bad "not there" restore "$T/share/gone.db" "$B3"
expect_eq "master unchanged" "$(cksum <"$M")" "$sum"
[ -z "$(ls share | grep before-restore)" ] || fail "a refused restore kept a copy aside"
[ ! -e "$T/share/gone.db" ] || fail "restore created a missing master"

step "restore keeps the old master aside and puts the backup in place"
old_sum=$(cksum <"$M")
run 0 restore "$M" "$B3" --json
is_json
aside=$(json '$.kept_aside')
case $aside in
"$M.before-restore-"????-??-??T??-??-??Z) ;;
*) fail "unexpected aside name $aside" ;;
esac
expect_eq "old master kept byte for byte" "$(cksum <"$aside")" "$old_sum"
expect_eq "restored rows" "$(quotes "$M")" "$(quotes "$B3")"
expect_eq "number series not sent back (blocks stay unique)" \
	"$(sqlite3 "$M" "SELECT next FROM hubsync_numbers WHERE series = 'quote'")" "$next_before"
expect_eq "integrity" "$(sqlite3 "$M" 'PRAGMA integrity_check')" ok
expect_eq "restore recorded" "$(sqlite3 "$M" "SELECT value FROM hubsync_master WHERE key = 'restored_from'")" \
	"$(basename "$B3")"
[ -z "$(ls share | grep restore-tmp)" ] || fail "a temp file was left"
[ ! -e "$M.lock" ] || fail "the master lock was left behind"
expect_eq "previous_seq" "$(json '$.previous_seq')" \
	"$(sqlite3 "$aside" "SELECT value FROM hubsync_master WHERE key = 'seq'")"
expect_eq "numbers carried" "$(json '$.numbers_carried')" 1

step "replicas lose nothing they did after the backup"
run 0 sync a.db
run 0 sync b.db
run 0 sync a.db
run 0 sync b.db
want="Q1|renamed by A
Q2|after backup A
Q3|after backup A
Q4|B offline"
expect_eq "master" "$(quotes "$M")" "$want"
expect_eq "alice" "$(quotes a.db)" "$want"
expect_eq "bob" "$(quotes b.db)" "$want"

step "human output of restore"
run 0 backup "$M" --json
B4=$(json '$.backup')
prev=$(sqlite3 "$M" "SELECT value FROM hubsync_master WHERE key = 'seq'")
run 0 restore "$M" "$B4"
expect_match "what" "$OUT" "^restored .*server.db from .*\\.bak \\(sequence [0-9]+; the replaced master was at $prev\\)"
expect_match "aside" "$OUT" "kept as .*before-restore-"
expect_match "what next" "$OUT" "hubsync conflicts"

step "the daemon backs the master up at start and rotates"
listing=$(files share/backups)
start_daemon a.db --no-sync-at-start --backup-every 24 --backup-keep 1
wait_until 20 "a backup in the daemon log" grep -q "backup written" "$DLOG"
stop_daemon
n=$(ls share/backups | grep -c '^server\.db\..*Z\.bak$')
expect_eq "copies kept by the daemon" "$n" 1
[ "$(files share/backups)" != "$listing" ] || fail "no new copy"
run 2 daemon a.db --backup-keep 3
run 2 daemon a.db --backup-every 0

step "a live journal of the old master moves aside with it"
printf 'not empty' >"$M-journal"
B5=$(ls "$T"/share/backups/server.db.*Z.bak | tail -n 1)
run 0 restore "$M" "$B5" --json
aside=$(json '$.kept_aside')
expect_eq "its journal kept with it" "$(cat "$aside-journal")" "not empty"
[ ! -s "$M-journal" ] || fail "the old journal stayed next to the restored master"
# A live journal means the old master cannot be read without changing it.
expect_eq "previous_seq unknown" "$(json_type '$.previous_seq')" null
expect_eq "numbers not read then" "$(json '$.numbers_carried')" 0
expect_eq "integrity" "$(sqlite3 "$M" 'PRAGMA integrity_check')" ok
run 0 sync a.db

echo "PASS test_backup"
