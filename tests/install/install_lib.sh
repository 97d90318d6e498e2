# install_lib.sh - helpers sourced by test_install.sh and test_deb.sh (not a
# test itself): a temporary folder $T removed at exit, and
#
#   step NAME      names what the following checks are about
#   fail MESSAGE   ends the test with a failure: the step, the message and
#                  the end of $T/log (where the scripts send the output of
#                  the command they check)
set -u
TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/hubsync-$TEST_NAME.XXXXXX")
trap 'rm -rf "$T"' EXIT
STEP=""

fail() {
	echo "FAIL $TEST_NAME${STEP:+ [$STEP]}: $*"
	[ -s "$T/log" ] && { echo "--- output:"; tail -n 30 "$T/log"; }
	exit 1
}

step() {
	STEP=$*
}
