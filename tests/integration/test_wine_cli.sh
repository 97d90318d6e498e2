#!/bin/sh
# hubsync.exe under wine, driven as the office drives it (scripts/
# wine-test.sh runs this; docs/WINDOWS.md): three PCs whose master is
# Z:\CTH\database\server.db, reached as Z:\..., as \\nas\cth\... (UNC) and
# as \\?\UNC\nas\cth\... The wine prefix maps drive Z: and the UNC share
# \\nas\cth to folders of this test (dosdevices/z: and dosdevices/unc/nas/cth
# symlinks); the replicas live on C: (the prefix's drive_c). Covers init,
# sync between 3 PCs, a conflict and its resolution, number series, backup
# and restore (byte-exact copies, integrity ok), the daemon's HTTP API with
# curl from Linux, and `hubsync service` install/status/stop/uninstall.
#
# Usage: tests/integration/test_wine_cli.sh PATH/hubsync.exe  (WINEPREFIX set)
set -u
EXE=${1:?usage: $0 PATH/hubsync.exe}
: "${WINEPREFIX:?set WINEPREFIX (scripts/wine-test.sh does)}"
WINE=/usr/lib/wine/wine64
C=$WINEPREFIX/drive_c
mkdir -p "$C/hubsync" "$C/hs-test"
cp "$EXE" "$C/hubsync/hubsync.exe"
# `hubsync` for the helpers: the .exe under wine (the wineserver must not
# see our TMPDIR, which points into the prefix)
WRAP=$C/hs-test/hubsync-wine
printf '#!/bin/sh\nunset TMPDIR\nexec %s "C:\\\\hubsync\\\\hubsync.exe" "$@"\n' \
	"$WINE" >"$WRAP"
chmod +x "$WRAP"
export TMPDIR=$C/hs-test
set -- "$WRAP"
. "$(dirname "$0")/test_daemon_lib.sh"

# The test folder as Windows sees it (C:\hs-test\hubsync-cli.XXXXXX).
WT="C:\\hs-test\\$(basename "$T")"
mkdir -p nas/CTH/database
ln -sfn "$T/nas" "$WINEPREFIX/dosdevices/z:"
mkdir -p "$WINEPREFIX/dosdevices/unc/nas"
ln -sfn "$T/nas/CTH" "$WINEPREFIX/dosdevices/unc/nas/cth"
# Z: back to / when done (the default prefix maps it so)
trap 'for _p in $ALL_PIDS; do kill "$_p" 2>/dev/null; done
	ln -sfn / "$WINEPREFIX/dosdevices/z:"; rm -rf "$T"' EXIT
MZ='Z:\CTH\database\server.db'
MUNC='\\nas\cth\database\server.db'
MLONG='\\?\UNC\nas\cth\database\server.db'
M=$T/nas/CTH/database/server.db

make_app_db alice.db
make_app_db bob.db
make_app_db carol.db

step "init on Z:, UNC and \\\\?\\UNC paths"
run 0 init alice.db --master "$MZ" --user alice
[ -f "$M" ] || fail "init did not create the master on Z:"
expect_match "alice's master" "$OUT" 'master Z:\\CTH\\database\\server\.db'
run 0 init "$WT\\bob.db" --master "$MUNC" --user bob
expect_match "bob's master" "$OUT" 'master \\\\nas\\cth\\database\\server\.db'
run 0 init carol.db --master "$MLONG" --user carol
step "a master folder that is not there: one line, nothing made"
run 1 init carol.db --master 'Z:\nope\server.db'
one_line_error
[ ! -e nas/nope ] || fail "init made the missing folder"

step "three PCs write and sync"
sql alice.db "INSERT INTO quotes(quoteId, projectName, customer)
	VALUES ('CA250115001-A', 'Conveyor line', '001');"
sql bob.db "INSERT INTO customers(customerCode, customerName)
	VALUES ('003', 'Cog & Gear');"
sql carol.db "INSERT INTO quotes(quoteId, projectName, customer)
	VALUES ('CA250115002-A', 'Palletizer', '002');"
for pc in alice bob carol alice bob; do
	run 0 sync $pc.db
	expect_match "$pc's summary" "$OUT" '^pulled [0-9]+, pushed [0-9]+, 0 conflicts in '
done
expect_eq "alice vs bob" "$(app_rows alice.db)" "$(app_rows bob.db)"
expect_eq "bob vs carol" "$(app_rows bob.db)" "$(app_rows carol.db)"
expect_eq "master vs alice" "$(app_rows "$M")" "$(app_rows alice.db)"
[ ! -e "$M.lock" ] || fail "a lock folder was left behind"
grep -q "$(printf '\r')" "$OUT" && fail "CR on stdout (text mode)"

step "a conflict, listed and resolved"
sql alice.db "UPDATE quotes SET status = 'sent' WHERE quoteId = 'CA250115001-A';"
sql bob.db "UPDATE quotes SET status = 'lost' WHERE quoteId = 'CA250115001-A';"
run 0 sync alice.db
run 0 sync bob.db
expect_match "bob's sync reports it" "$OUT" ', 1 conflict'
run 0 conflicts bob.db --json
is_json
ID=$(json '$[0].id')
[ -n "$ID" ] || fail "no conflict id"
run 0 resolve bob.db "$ID" --keep local
for pc in bob alice carol; do run 0 sync $pc.db; done
expect_eq "bob's value wins everywhere" \
	"$(sqlite3 carol.db "SELECT status FROM quotes WHERE quoteId='CA250115001-A'")" lost
expect_eq "converged" "$(app_rows alice.db)" "$(app_rows carol.db)"

step "number series: distinct across PCs"
run 0 number alice.db quote
N1=$(cat "$OUT")
run 0 number bob.db quote
N2=$(cat "$OUT")
run 0 number carol.db quote
N3=$(cat "$OUT")
[ "$N1" != "$N2" ] && [ "$N2" != "$N3" ] && [ "$N1" != "$N3" ] ||
	fail "numbers repeat: $N1 $N2 $N3"

step "backup on Z: (checked, integrity ok)"
run 0 backup "$MZ" --keep 3
expect_match "backup line" "$OUT" 'integrity ok'
B=$(ls nas/CTH/database/backups/server.db.*.bak)
[ -f "$B" ] || fail "no backup in Z:\\CTH\\database\\backups"
expect_eq "backup integrity" "$(sqlite3 "$B" 'PRAGMA integrity_check')" ok
expect_eq "backup content" "$(app_rows "$B")" "$(app_rows "$M")"
BWIN="Z:\\CTH\\database\\backups\\$(basename "$B")"

step "restore over UNC: the old master kept byte for byte"
sql alice.db "INSERT INTO customers(customerCode, customerName)
	VALUES ('004', 'After the backup');"
run 0 sync alice.db
BEFORE=$(cksum <"$M")
run 1 restore "$MUNC" "$MZ"
expect_match "the master itself" "$ERR" 'master itself'
run 0 restore "$MUNC" "$BWIN"
ASIDE=$(ls nas/CTH/database/server.db.before-restore-* | head -n 1)
expect_eq "old master copied byte for byte" "$(cksum <"$ASIDE")" "$BEFORE"
expect_eq "restored integrity" "$(sqlite3 "$M" 'PRAGMA integrity_check')" ok
for pc in alice bob carol alice; do run 0 sync $pc.db; done
expect_eq "after restore: alice vs carol" "$(app_rows alice.db)" "$(app_rows carol.db)"
expect_eq "nothing lost" \
	"$(sqlite3 carol.db "SELECT customerName FROM customers WHERE customerCode='004'")" \
	"After the backup"

step "the daemon's API, curl from Linux"
"$HUBSYNC" daemon alice.db --listen 127.0.0.1:0 --port-file port \
	--log daemon.log >daemon.out 2>&1 &
DPID=$!
ALL_PIDS="$ALL_PIDS $DPID"
wait_until 60 "the daemon to listen" test -s port
PORT=$(tr -d '\r\n' <port)
http GET /api/sync/status
expect_code 200
is_json
http POST /api/sync/manual '{}'
expect_code 200
http GET /api/sync/history
expect_code 200
[ "$(json_len)" -ge 1 ] || fail "no sync in the history"

step "the daemon stops cleanly on a stop request"
run 0 service stop alice.db
expect_match "stop" "$OUT" '^stop requested'
_tries=150
while kill -0 "$DPID" 2>/dev/null; do
	_tries=$((_tries - 1))
	[ "$_tries" -gt 0 ] || fail "the daemon did not stop within 30 s"
	sleep 0.2
done
wait "$DPID" || fail "the daemon exited $? after the stop request"
grep -q 'stop request received, shutting down' daemon.log ||
	fail "no shutdown line in daemon.log"
grep -q ' info stopped' daemon.log || fail "no 'stopped' line in daemon.log"

step "hubsync service install / status / uninstall"
rm -f bport
run 0 service install bob.db --listen 127.0.0.1:0 --port-file "$WT\\bport"
expect_match "installed" "$OUT" '^installed: hubsync daemon for '
run 0 service status bob.db
expect_match "registered" "$OUT" '^installed: .*hubsync\.exe" "daemon"'
wait_until 60 "the service's daemon to listen" test -s bport
PORT=$(tr -d '\r\n' <bport)
http GET /api/sync/status
expect_code 200
run 0 service uninstall bob.db
expect_match "uninstalled" "$OUT" '^stop requested; uninstalled'
wait_until 30 "the service's daemon to stop" grep -q ' info stopped' bob.db.daemon.log
run 0 service status bob.db
expect_match "gone" "$OUT" '^not installed'

echo "PASS test_wine_cli"
