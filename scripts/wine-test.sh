#!/bin/sh
# make test-windows: run the Windows build (make windows) under Debian's
# wine64, headless, in a wine prefix of our own (BUILD_DIR/wine):
#   1. the unit tests (cmocka) and the in-process integration tests
#      (converge, identity, names, clock; each case re-runs the test binary)
#   2. tests/integration/test_wine_cli.sh: hubsync.exe driven as an office
#      would, the master on Z:\ and on \\nas\cth (docs/WINDOWS.md)
# Usage: scripts/wine-test.sh [BUILD_DIR]   (default build-win)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build-win}" && pwd)
wine=/usr/lib/wine/wine64
[ -x "$wine" ] || { echo "wine-test: $wine missing: run scripts/setup.sh windows" >&2; exit 1; }
start=$(date +%s)

# Headless: no X display, no prompts to install Mono or Gecko, quiet.
unset DISPLAY WAYLAND_DISPLAY TMPDIR
export WINEPREFIX="$build/wine" WINEDEBUG=-all WINEARCH=win64
# wine stores Windows' Unicode file names in the Unix locale's charset:
# without a UTF-8 locale (CI has none set) "Müller" cannot be a file name
export LC_ALL=C.UTF-8
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
if [ ! -f "$WINEPREFIX/.hubsync-ready" ]; then
	rm -rf "$WINEPREFIX"
	mkdir -p "$WINEPREFIX"
	"$wine" wineboot -i >/dev/null 2>&1 || true
	touch "$WINEPREFIX/.hubsync-ready"
fi
ln -sfn / "$WINEPREFIX/dosdevices/z:" # as wineboot made it
# One wineserver for the whole run (started now, ended at exit).
/usr/lib/wine/wineserver64 -p 30 2>/dev/null || true # already running
trap '/usr/lib/wine/wineserver64 -k 2>/dev/null || true' EXIT

passed=0 failed=0
# check NAME COMMAND...: run it, log to BUILD_DIR/wine-NAME.log, count it.
check() {
	name=$1
	shift
	log=$build/wine-$name.log
	t0=$(date +%s)
	if (cd "$build" && timeout 900 "$@") >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "wine: $name ok ($(($(date +%s) - t0)) s)"
	else
		failed=$((failed + 1))
		echo "wine: $name FAILED ($(($(date +%s) - t0)) s); last lines of $log:"
		tail -n 40 "$log"
	fi
}
tests=$build/cmake/tests
for t in test_platform test_csv test_demo_converge; do
	check unit_$t "$wine" "$tests/unit/$t.exe"
done
for t in test_converge test_identity test_names test_clock; do
	check integration_$t "$wine" "$tests/integration/$t.exe"
done

check cli sh "$root/tests/integration/test_wine_cli.sh" \
	"$build/cmake/hubsync.exe"
echo "wine tests: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
