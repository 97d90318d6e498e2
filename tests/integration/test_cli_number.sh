#!/bin/sh
# `hubsync number DB SERIES`: numbers are unique across two replicas (also
# while one is offline), each replica's numbers increase, --json prints
# {"series", "number"}, --block sets the block size, and a replica that has
# used up its block offline exits 1 with one line naming the series and
# what to do, handing out nothing.
. "$(dirname "$0")/test_cli_lib.sh"

mkdir share
make_app_db alice.db
make_app_db bob.db
run 0 init alice.db --master share/server.db --user alice
run 0 init bob.db --master share/server.db --user bob

# take DB N [SERIES]: take N numbers of SERIES (default quote), appending
# "DB NUMBER" lines to numbers.txt; each must be greater than the last one
# DB took.
take() {
	_db=$1 _n=$2 _series=${3:-quote}
	_last=$(sed -n "s/^$_db //p" numbers.txt 2>/dev/null | tail -n 1)
	while [ "$_n" -gt 0 ]; do
		run 0 number "$_db" "$_series"
		_got=$(cat "$OUT")
		case $_got in
		'' | *[!0-9]*) fail "not a number: '$_got'" ;;
		esac
		[ -z "$_last" ] || [ "$_got" -gt "$_last" ] ||
			fail "$_db: $_got after $_last (numbers must increase)"
		echo "$_db $_got" >>numbers.txt
		_last=$_got
		_n=$((_n - 1))
	done
}

# no_duplicates: no number appears twice in numbers.txt.
no_duplicates() {
	_dups=$(cut -d' ' -f2 numbers.txt | sort -n | uniq -d | tr '\n' ' ')
	[ -z "$_dups" ] || fail "numbers handed out twice: $_dups"
}

step "online: both replicas draw, no number twice"
take alice.db 5
take bob.db 5
take alice.db 3
no_duplicates

step "--json and --help"
run 0 number alice.db quote --json
is_json
expect_eq "series" "$(json '$.series')" quote
expect_eq "type of number" "$(json_type '$.number')" integer
echo "alice.db $(json '$.number')" >>numbers.txt
run 0 number alice.db --help
expect_match "help" "$OUT" '^usage: hubsync number DB SERIES'

step "another series is numbered on its own"
run 0 number alice.db project
expect_eq "first project number" "$(cat "$OUT")" 1

step "syncs top up the blocks; numbers stay unique and increasing"
run 0 sync alice.db
run 0 sync bob.db
take bob.db 25
take alice.db 25
run 0 sync bob.db
take bob.db 10
no_duplicates

step "bob sets a small block and goes offline"
run 0 number bob.db quote --block 3
echo "bob.db $(cat "$OUT")" >>numbers.txt
run 0 sync bob.db # tops up with blocks of 3
mv share share.away
# Whatever bob still holds is at most one old block plus 3; draw until it
# runs out, and check it runs out soon.
drawn=0
while "$HUBSYNC" number bob.db quote >"$OUT" 2>"$ERR"; do
	echo "bob.db $(cat "$OUT")" >>numbers.txt
	drawn=$((drawn + 1))
	[ "$drawn" -le 40 ] || fail "bob drew $drawn numbers offline"
done
echo "bob drew $drawn numbers offline before running out"

step "exhausted offline: exit 1, one line, names the series and the fix"
sum=$(cksum <bob.db)
run 1 number bob.db quote
one_line_error
expect_match "names the series" "$ERR" '\bquote\b'
expect_match "says what to do" "$ERR" 'sync .*share'
expect_eq "nothing changed" "$(cksum <bob.db)" "$sum"
run 1 number bob.db quote --json
one_line_error
[ ! -s "$OUT" ] || fail "a failed number printed '$(cat "$OUT")'"

step "alice, still online, keeps drawing unique numbers"
mv share.away share
take alice.db 5
no_duplicates

step "back online: bob draws again, above what he had"
take bob.db 5
run 0 sync bob.db
run 0 sync alice.db
take alice.db 5
take bob.db 5
no_duplicates

step "bad input"
run 2 number bob.db quote --block 0
run 2 number bob.db quote --block lots
run 2 number bob.db
run 1 number bob.db ""
one_line_error
run 1 number missing.db quote
one_line_error

echo "PASS $TEST_NAME ($(wc -l <numbers.txt) numbers, none twice)"
