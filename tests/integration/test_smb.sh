#!/bin/sh
# test_smb.sh - hubsync with its master on a real SMB share, reached by five
# PCs through five independent SMB clients (DESIGN.md: network share).
#
# tests/tools/smb-share starts Samba on loopback serving a folder and mounts
# it five times through separate FUSE SMB clients (smbnetfs), one per PC:
# locks one client takes are not seen by the others, exactly as between
# real PCs. PC 1's `hubsync init` creates the master through its mount;
# then five PCs, each with a local replica and its own mount as the master
# path, run a sync loop (`hubsync sync`, the real binary) while their apps
# write (test_concurrency --masters: no failed sync, no failed app write,
# convergence, nothing lost, integrity_check ok). Afterwards the share's
# own copy of the master is checked on the server side too, and no lock is
# left behind.
#
# Then the lock alone (test_lock): 10 processes through the 5 clients take
# the master lock for 20 s, some dying with it; never two holders.
#
# Usage: test_smb.sh PATH_OF_HUBSYNC PATH_OF_TEST_CONCURRENCY PATH_OF_TEST_LOCK
#   HS_SOAK=1: 300 s of syncing instead of 60; HS_SMB_SECONDS=N overrides.
# Needs root and /dev/fuse (and installs samba and smbnetfs if missing):
# without them it says why and exits 77 (skipped).
set -u

USAGE="usage: $0 PATH_OF_HUBSYNC PATH_OF_TEST_CONCURRENCY PATH_OF_TEST_LOCK"
HUBSYNC=${1:?$USAGE}
CONCURRENCY=${2:?$USAGE}
TEST_LOCK=${3:?$USAGE}
SMB_SHARE=$(cd "$(dirname "$0")/../tools" && pwd)/smb-share
PCS=5
if [ -n "${HS_SMB_SECONDS:-}" ]; then
	SECONDS_RUN=$HS_SMB_SECONDS
elif [ -n "${HS_SOAK:-}" ]; then
	SECONDS_RUN=300
else
	SECONDS_RUN=60
fi

skip() {
	echo "SKIP test_smb: $*"
	exit 77
}
fail() {
	echo "FAIL test_smb: $*"
	exit 1
}

[ "$(id -u)" = 0 ] ||
	skip "needs root (Samba on port 445 and FUSE mounts); run as root"
[ -e /dev/fuse ] ||
	skip "no /dev/fuse here (a container without FUSE): the SMB clients cannot mount"
command -v bash >/dev/null || skip "tests/tools/smb-share needs bash"
# One Samba per machine (/dev/tcp is bash's: this script runs under sh).
# Another run of this test (a second checkout, a
# chroot) holds port 445 for a minute or two; wait for it rather than mount
# its share, which would mix two offices' masters on one share.
port_taken() { bash -c 'exec 3<>/dev/tcp/127.0.0.1/445' 2>/dev/null; }
waited=0
while port_taken; do
	[ "$waited" -lt 300 ] ||
		skip "port 445 is taken by another SMB server on this machine" \
			"for more than 300 s"
	[ "$waited" -gt 0 ] || echo "smb: port 445 is taken (another test run?): waiting"
	sleep 2
	waited=$((waited + 2))
done

T=$(mktemp -d "${TMPDIR:-/tmp}/hubsync-smb.XXXXXX")
cleanup() {
	bash "$SMB_SHARE" stop "$T/smb" >/dev/null 2>&1
	if [ -n "${HS_KEEP_TMP:-}" ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! bash "$SMB_SHARE" start "$T/smb" "$PCS" >"$T/clients" 2>"$T/smb.err"; then
	if ! command -v smbd >/dev/null || ! command -v smbnetfs >/dev/null; then
		skip "samba and smbnetfs are not installed and could not be" \
			"installed: $(head -n 3 "$T/smb.err")"
	fi
	fail "the SMB share did not start: $(head -n 5 "$T/smb.err")"
fi
[ "$(wc -l <"$T/clients")" -eq "$PCS" ] ||
	fail "smb-share printed $(wc -l <"$T/clients") client paths, want $PCS"

# The master as each PC reaches it: PC k through client k.
# The clients must reach this run's own share: if another run started its
# Samba at the same moment, smb-share found the port answering and the
# clients may be on that run's share.
marker=hubsync-smb-$$-$(date +%s%N)
: >"$T/smb/share/$marker"
masters=
while read -r client; do
	mountpoint -q "${client%/127.0.0.1/nas}" ||
		fail "$client is not on a mounted SMB client"
	[ -e "$client/$marker" ] ||
		skip "the SMB clients reach another Samba on port 445 (another" \
			"test run started at the same moment); run again"
	masters="$masters${masters:+,}$client/server.db"
done <"$T/clients"
echo "smb: Samba on 127.0.0.1:445, $PCS SMB client mounts:"
sed 's/^/smb:   /' "$T/clients"

rm -f "$T/smb/share/$marker"
start=$(date +%s)
"$CONCURRENCY" "$HUBSYNC" --seconds "$SECONDS_RUN" --masters "$masters" ||
	fail "the concurrent run through the SMB clients failed (above)"
echo "smb: $PCS PCs through $PCS SMB clients, $((SECONDS_RUN))s of syncing," \
	"$(($(date +%s) - start))s in all"

# The server's own view of the files (not through any client).
share=$T/smb/share
[ -f "$share/server.db" ] || fail "no server.db on the share"
ok=$(sqlite3 -readonly "$share/server.db" "PRAGMA integrity_check") ||
	fail "cannot read the master on the server side"
[ "$ok" = ok ] || fail "integrity_check of the master on the server: $ok"
[ ! -e "$share/server.db.lock" ] || fail "a lock is left on the share"
left=$(find "$share" -maxdepth 1 -name 'server.db.lock.stale*' | wc -l)
[ "$left" -eq 0 ] || fail "$left broken stale locks left on the share"
echo "smb: the master on the server: integrity_check ok, no lock left;" \
	"$(ls "$share" | tr '\n' ' ')"

locks=$(sed 's|$|/lock-test.db|' "$T/clients" | paste -sd, -)
"$TEST_LOCK" 20 10 "$locks" || fail "the master lock through the SMB clients (above)"
echo "smb: ok"
