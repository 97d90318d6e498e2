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
run_exe() { # NAME EXE
	log=$build/wine-$1.log
	t0=$(date +%s)
	if (cd "$build" && timeout 900 "$wine" "$2") >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "wine: $1 ok ($(($(date +%s) - t0)) s)"
	else
		failed=$((failed + 1))
		echo "wine: $1 FAILED ($(($(date +%s) - t0)) s); last lines of $log:"
		tail -n 30 "$log"
	fi
}
tests=$build/cmake/tests
for t in test_platform test_csv test_demo_converge; do
	run_exe unit_$t "$tests/unit/$t.exe"
done
for t in test_converge test_identity test_names test_clock; do
	run_exe integration_$t "$tests/integration/$t.exe"
done

t0=$(date +%s)
if sh "$root/tests/integration/test_wine_cli.sh" "$build/cmake/hubsync.exe" \
	>"$build/wine-cli.log" 2>&1; then
	passed=$((passed + 1))
	echo "wine: cli scenario ok ($(($(date +%s) - t0)) s)"
else
	failed=$((failed + 1))
	echo "wine: cli scenario FAILED; last lines of $build/wine-cli.log:"
	tail -n 40 "$build/wine-cli.log"
fi
echo "wine tests: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
