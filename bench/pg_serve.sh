#!/bin/sh
# pg_serve.sh - the issue 10 benchmark: PCs syncing through `hubsync serve`
# on PostgreSQL against the folder store, and a first sync of N rows into
# PostgreSQL against a plain COPY of the same rows. Needs a cluster: run it
# through tests/integration/pg_run.sh (a private one, removed afterwards):
#
#   sh tests/integration/pg_run.sh sh bench/pg_serve.sh build/hubsync [--quick]
#
# 1. Fleet: PCS simulated PCs (processes running the real `hubsync sync`),
#    each with its own replica and user; every PC in turn inserts a row,
#    edits a row all PCs share, and syncs, ROUNDS times, all PCs at once.
#    Per-sync latency (the whole command, as a PC's scheduler sees it)
#    p50/p95/max and syncs per second over the phase, for
#      folder: one serve process on a folder store (its master file);
#      pg:     two serve processes on one PostgreSQL database, the PCs
#              split between them.
# 2. First sync: a replica with ROWS rows (7 columns) synced into an empty
#    PostgreSQL master, directly (postgresql://) and through serve, against
#    psql's \copy of the same rows (CSV) into a table with the same typed
#    columns: the ratio sync / COPY.
# --quick: 10 PCs x 3 rounds, 2,000 rows (a smoke run). --first: only the
# first sync (2.). HUBSYNC_BEFORE=PATH: another hubsync command (an older
# build) measured in the same run for the first sync, just before this
# one, for a before/after on the same machine load. Prints a table;
# exits 1 when a sync fails or the PCs do not converge.
set -eu
HUBSYNC=${1:?usage: pg_serve.sh HUBSYNC [--quick|--first]}
: "${HS_TEST_PG:?run through tests/integration/pg_run.sh}"
PCS=100 ROUNDS=5 ROWS=100000 FLEET=1
[ "${2:-}" = --quick ] && { PCS=10; ROUNDS=3; ROWS=2000; }
[ "${2:-}" = --first ] && FLEET=
BEFORE=${HUBSYNC_BEFORE:-}
PSQL="$HS_TEST_PG_BIN/psql -X -q -A -t -h $HS_TEST_PG_DIR -U $HS_TEST_PG_USER"
T=$(mktemp -d "${TMPDIR:-/tmp}/hs-pgbench.XXXXXX")
chmod 755 "$T"
SERVE_PIDS=
trap 'for p in $SERVE_PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
die() { echo "pg_serve.sh: $*" >&2; exit 1; }
newdb() { $PSQL -d postgres -c "CREATE DATABASE $1 ENCODING 'UTF8' TEMPLATE template0"; }

# serve STORE NAME: start a serve process; its address in $T/NAME.url.
serve() {
	"$HUBSYNC" serve "$1" --listen 127.0.0.1:0 --port-file "$T/$2.port" \
		--quiet 2>>"$T/serve.log" &
	SERVE_PIDS="$SERVE_PIDS $!"
	_i=0
	while [ ! -s "$T/$2.port" ]; do
		_i=$((_i + 1))
		[ $_i -lt 600 ] || die "serve $1 did not start: $(tail -n 2 "$T/serve.log")"
		sleep 0.1
	done
	echo "http://127.0.0.1:$(cat "$T/$2.port")" >"$T/$2.url"
}

# pc_loop DIR K: PC K's rounds; one latency (ms) per line in DIR/lat.K.
pc_loop() {
	_db=$1/pc$2.db
	for _r in $(seq 1 "$ROUNDS"); do
		sqlite3 "$_db" "INSERT INTO items VALUES ('pc$2-$_r', $_r, 'new');
			UPDATE items SET v = v + 1, note = 'pc$2' WHERE id = 'shared'" ||
			return 1
		_s=$(date +%s%N)
		"$HUBSYNC" sync "$_db" >/dev/null 2>>"$1/err.$2" || return 1
		echo $(( ($(date +%s%N) - _s) / 1000000 )) >>"$1/lat.$2"
	done
}

# fleet KIND STORE URL...: set up PCS PCs on the serve processes at the
# URLs (by turns), run the rounds, print one result line.
fleet() {
	kind=$1 store=$2
	shift 2
	d=$T/$kind
	mkdir -p "$d"
	n=$#
	k=0
	while [ $k -lt "$PCS" ]; do
		shift_by=$((k % n))
		set -- "$@" # (the URLs stay in $@)
		i=0
		for u in "$@"; do
			[ $i -eq $shift_by ] && url=$u
			i=$((i + 1))
		done
		tok=$("$HUBSYNC" user add "$store" "pc$k")
		sqlite3 "$d/pc$k.db" "CREATE TABLE items(id TEXT PRIMARY KEY, v INTEGER, note TEXT)"
		[ $k -eq 0 ] && sqlite3 "$d/pc$k.db" "INSERT INTO items VALUES ('shared', 0, '')"
		"$HUBSYNC" init "$d/pc$k.db" --master "$url" --token "$tok" >/dev/null ||
			die "init pc$k ($kind)"
		"$HUBSYNC" sync "$d/pc$k.db" >/dev/null || die "first sync pc$k ($kind)"
		k=$((k + 1))
	done
	"$HUBSYNC" sync "$d/pc0.db" >/dev/null || die "sync pc0 ($kind)"
	start=$(now_ms)
	pids=
	k=0
	while [ $k -lt "$PCS" ]; do
		pc_loop "$d" $k &
		pids="$pids $!"
		k=$((k + 1))
	done
	bad=0
	for p in $pids; do wait "$p" || bad=$((bad + 1)); done
	took=$(( $(now_ms) - start ))
	[ $bad -eq 0 ] || die "$bad PCs failed a sync ($kind): $(cat "$d"/err.* | head -n 3)"
	# everyone converges
	for k in $(seq 0 $((PCS - 1))) 0; do
		"$HUBSYNC" sync "$d/pc$k.db" >/dev/null || die "settle pc$k ($kind)"
	done
	# (the shared row: concurrent edits, the later one wins everywhere)
	want=$(sqlite3 "$d/pc0.db" "SELECT count(*) || ':' || (SELECT v || note FROM items WHERE id = 'shared') FROM items")
	[ "${want%%:*}" = "$((PCS * ROUNDS + 1))" ] ||
		die "$kind: pc0 has $want, expected $((PCS * ROUNDS + 1)) rows"
	for k in $(seq 1 $((PCS - 1))); do
		"$HUBSYNC" sync "$d/pc$k.db" >/dev/null || die "settle pc$k ($kind)"
		got=$(sqlite3 "$d/pc$k.db" "SELECT count(*) || ':' || (SELECT v || note FROM items WHERE id = 'shared') FROM items")
		[ "$got" = "$want" ] || die "$kind: pc$k has $got, pc0 $want"
	done
	cat "$d"/lat.* | sort -n >"$d/lat"
	total=$(wc -l <"$d/lat")
	p50=$(sed -n "$(( (total + 1) / 2 ))p" "$d/lat")
	p95=$(sed -n "$(( (total * 95 + 99) / 100 ))p" "$d/lat")
	max=$(tail -n 1 "$d/lat")
	rate=$(echo "scale=1; $total * 1000 / $took" | bc)
	label="$kind, $n serve process"
	[ "$n" -gt 1 ] && label="${label}es"
	printf '%-44s %6s %6s %6s %8s\n' "$label" "$p50" "$p95" "$max" "$rate" \
		>>"$T/fleet.txt"
}

echo "pg_serve.sh: $PCS PCs x $ROUNDS rounds; first sync of $ROWS rows"
: >"$T/fleet.txt"
if [ -n "$FLEET" ]; then
	serve "$T/folder-store" f1
	fleet folder "$T/folder-store" "$(cat "$T/f1.url")"
	newdb fleet
	serve "$HS_TEST_PG/fleet" p1
	serve "$HS_TEST_PG/fleet" p2
	fleet pg "$HS_TEST_PG/fleet" "$(cat "$T/p1.url")" "$(cat "$T/p2.url")"
fi

# ---- first sync of ROWS rows against COPY ----
SEED="CREATE TABLE items(id INTEGER PRIMARY KEY, sku TEXT, name TEXT,
	category TEXT, price REAL, qty INTEGER, note TEXT);
	WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $ROWS)
	INSERT INTO items SELECT i, 'SKU-' || i, 'Item number ' || i,
	'cat' || (i % 37), i * 1.25, i % 100, 'a note of about forty characters, ' || i FROM c;"
first() { # first NAME MASTER [TOKEN]: ms of the first sync
	sqlite3 "$T/$1.db" "$SEED"
	if [ -n "${3:-}" ]; then
		"$HUBSYNC" init "$T/$1.db" --master "$2" --token "$3" >/dev/null
	else
		"$HUBSYNC" init "$T/$1.db" --master "$2" --user first >/dev/null
	fi
	_s=$(now_ms)
	"$HUBSYNC" sync "$T/$1.db" >/dev/null || die "first sync $1"
	echo $(( $(now_ms) - _s ))
}
# first_pg TAG: the direct and served first syncs with $HUBSYNC, into
# databases named after TAG: ms in FD and FS
first_pg() {
	newdb "direct$1"
	FD=$(first "direct$1" "$HS_TEST_PG/direct$1")
	newdb "served$1"
	serve "$HS_TEST_PG/served$1" "s$1"
	FS=$(first "served$1" "$(cat "$T/s$1.url")" \
		"$("$HUBSYNC" user add "$HS_TEST_PG/served$1" first)")
}
if [ -n "$BEFORE" ]; then
	AFTER=$HUBSYNC
	HUBSYNC=$BEFORE
	first_pg _before
	ms_direct_before=$FD ms_served_before=$FS
	HUBSYNC=$AFTER
fi
first_pg ""
ms_direct=$FD ms_served=$FS
mkdir -p "$T/first-store"
ms_folder=$(first folder "$T/first-store/master.db")
n=$($PSQL -d direct -c "SELECT count(*) FROM items")
[ "$n" = "$ROWS" ] || die "direct: $n rows in PostgreSQL, expected $ROWS"
newdb copy
$PSQL -d copy -c "CREATE TABLE items(id bigint PRIMARY KEY, sku text, name text,
	category text, price double precision, qty bigint, note text)"
sqlite3 -csv "$T/direct.db" "SELECT id, sku, name, category, price, qty, note FROM items" >"$T/items.csv"
_s=$(now_ms)
$PSQL -d copy -c "\\copy items FROM '$T/items.csv' WITH (FORMAT csv)"
ms_copy=$(( $(now_ms) - _s ))
[ "$ms_copy" -gt 0 ] || ms_copy=1

if [ -n "$FLEET" ]; then
	echo
	printf '%-44s %6s %6s %6s %8s\n' "fleet: latency per sync (ms)" p50 p95 max "syncs/s"
	cat "$T/fleet.txt"
fi
echo
printf '%-44s %8s %8s\n' "first sync of $ROWS rows" ms "x COPY"
set -- "postgresql:// (direct)=$ms_direct" "serve on PostgreSQL=$ms_served" \
	"file master (for reference)=$ms_folder" "psql \\copy (CSV)=$ms_copy"
[ -n "$BEFORE" ] && set -- "before: postgresql:// (direct)=$ms_direct_before" \
	"before: serve on PostgreSQL=$ms_served_before" "$@"
for x in "$@"; do
	v=${x##*=}
	printf '%-44s %8s %8s\n' "${x%=*}" "$v" "$(echo "scale=1; $v / $ms_copy" | bc)"
done
