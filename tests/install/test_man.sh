#!/bin/sh
# test_man.sh HUBSYNC SOURCE_DIR - the man pages (man/*.1) render without a
# warning and say what the command says:
#
#  - every command of `hubsync --help` has its page man/hubsync-CMD.1, whose
#    NAME line is the command's summary from `hubsync --help`, and which
#    has an OPTIONS entry for every option of `hubsync CMD --help`; hubsync(1) lists it under
#    COMMANDS with the same summary; README.md's command table has it;
#  - every page belongs to a command (no page left after a command goes);
#  - `man --warnings -l` renders every page with no warning.
#
# Adding a command: copy a page of a similar command to man/hubsync-CMD.1,
# edit it, and add its two lines to the COMMANDS list of man/hubsync.1.
set -u
HUBSYNC=${1:?usage: $0 HUBSYNC SOURCE_DIR}
SRC=${2:?}
MAN=$SRC/man
T=$(mktemp -d "${TMPDIR:-/tmp}/hubsync-man.XXXXXX")
trap 'rm -rf "$T"' EXIT
errors=0

problem() {
	echo "FAIL test_man: $*"
	errors=$((errors + 1))
}
command -v man >/dev/null ||
	{ echo "FAIL test_man: man is missing; run 'sh scripts/setup.sh test'"; exit 1; }

# The text of a page's roff source with the escapes of names undone:
# "\-\-keep" -> "--keep", "\e" -> "\".
plain() {
	sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\%//g' "$1"
}

"$HUBSYNC" --help >"$T/help" || problem "hubsync --help failed"
# "  init       start syncing ..." lines after "commands:".
sed -n '/^commands:/,/^$/p' "$T/help" | sed -n 's/^  \([a-z][a-z-]*\)  *\(.*\)$/\1	\2/p' \
	>"$T/commands"
[ -s "$T/commands" ] || problem "no commands found in hubsync --help"
plain "$MAN/hubsync.1" >"$T/hubsync.1"

while IFS='	' read -r cmd summary; do
	page=$MAN/hubsync-$cmd.1
	if [ ! -f "$page" ]; then
		problem "no man page for '$cmd': write man/hubsync-$cmd.1 (copy one of a similar command) and list it in man/hubsync.1"
		continue
	fi
	plain "$page" >"$T/page"
	grep -qxF "hubsync-$cmd - $summary" "$T/page" ||
		problem "man/hubsync-$cmd.1: its NAME line should be 'hubsync\\-$cmd \\- $summary' (the summary of hubsync --help)"
	awk -v cmd="hubsync-$cmd" -v summary="$summary" '
		prev == ".BR " cmd " (1)" && $0 == summary { found = 1 }
		{ prev = $0 }
		END { exit !found }' "$T/hubsync.1" ||
		problem "man/hubsync.1: COMMANDS lacks '.TP', '.BR hubsync\\-$cmd (1)', '$summary'"
	grep -q "^|.*\`hubsync ${cmd}[ \`]" "$SRC/README.md" ||
		problem "README.md: the command table has no row for 'hubsync $cmd'"
	"$HUBSYNC" "$cmd" --help >"$T/cmdhelp" 2>&1 ||
		problem "hubsync $cmd --help failed"
	# Each option of the help (a line that starts with it, after blanks
	# and "-h, ") is an entry of OPTIONS: ".TP" then ".B --opt ..." (or
	# .BI/.BR; "-h", "--help" for the help).
	for opt in $(sed -n 's/^ *\(-h, \)\{0,1\}\(--[a-z][a-z-]*\).*/\2/p' "$T/cmdhelp" | sort -u); do
		awk -v opt="$opt" '
			prev == ".TP" && ($0 ~ "^\\.B[IR]? " opt "([ \"]|$)" ||
				$0 == ".BR -h \", \" " opt) { found = 1 }
			{ prev = $0 }
			END { exit !found }' "$T/page" ||
			problem "man/hubsync-$cmd.1 has no OPTIONS entry for $opt (hubsync $cmd --help has it)"
	done
done <"$T/commands"

for page in "$MAN"/hubsync-*.1; do
	cmd=${page##*/hubsync-}
	cmd=${cmd%.1}
	cut -f1 "$T/commands" | grep -qx "$cmd" ||
		problem "man/${page##*/} is about '$cmd', which hubsync --help does not list"
done

for page in "$MAN"/*.1; do
	MANWIDTH=80 man --warnings -l "$page" >"$T/out" 2>"$T/warnings" ||
		problem "man -l ${page##*/} failed"
	[ -s "$T/warnings" ] &&
		problem "man --warnings -l ${page##*/}: $(head -n 3 "$T/warnings")"
	grep -q '^NAME' "$T/out" || problem "man -l ${page##*/} shows no NAME section"
done

[ "$errors" -eq 0 ] || exit 1
echo "ok: $(wc -l <"$T/commands") commands, $(ls "$MAN"/*.1 | wc -l) pages"
