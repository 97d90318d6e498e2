#!/bin/sh
# make windows: cross-compile hubsync.exe with mingw-w64 and pack
# dist/hubsync-VERSION-windows-x64.zip (docs/WINDOWS.md).
#
# Usage: scripts/windows.sh [BUILD_DIR]     (default build-win)
#
# BUILD_DIR/deps   the dependencies built from Debian's source packages
#                  (scripts/windows-deps.sh; cached by version)
# BUILD_DIR/cmake  the CMake build of hubsync for Windows (warnings are
#                  errors), including the unit and in-process tests that
#                  scripts/wine-test.sh runs under wine
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-win}
mkdir -p "$build"
build=$(cd "$build" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

sh "$root/scripts/setup.sh" windows
sh "$root/scripts/windows-deps.sh" "$build/deps"
prefix=$build/deps/prefix
export HS_WIN_DEPS="$prefix"
export PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig"
export PKG_CONFIG_PATH=
cmake -S "$root" -B "$build/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64.cmake" -DHS_WERROR=ON \
	>"$build/cmake.log" 2>&1 || { tail -n 30 "$build/cmake.log" >&2; exit 1; }
cmake --build "$build/cmake" -j "$jobs"

version=$(sed -n 's/^project(hubsync VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
name=hubsync-$version-windows-x64
stage=$build/$name
rm -rf "$stage"
mkdir -p "$stage/licenses" "$root/dist"
cp "$build/cmake/hubsync.exe" "$stage/"
x86_64-w64-mingw32-strip "$stage/hubsync.exe"
cp "$root/README.md" "$stage/README.md"
cp "$root/docs/WINDOWS.md" "$stage/WINDOWS.md"
[ -f "$root/LICENSE" ] && cp "$root/LICENSE" "$stage/licenses/hubsync-LICENSE"
cp -r "$prefix/licenses/." "$stage/licenses/"
# mingw-w64's runtime and winpthreads are linked in: their terms too
for p in mingw-w64-common gcc-mingw-w64-base; do
	[ -f /usr/share/doc/$p/copyright ] &&
		cp /usr/share/doc/$p/copyright "$stage/licenses/$p.copyright"
done
rm -f "$root/dist/$name.zip"
(cd "$build" && zip -qr9 "$root/dist/$name.zip" "$name")
echo "windows: dist/$name.zip ($(wc -c <"$root/dist/$name.zip") bytes)"
