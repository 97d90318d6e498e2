#!/bin/sh
# test_install.sh CMAKE BUILD_DIR SOURCE_DIR - what `make install` gives a
# user, checked on a real install of BUILD_DIR into a temporary folder:
#
#  1. with DESTDIR, every file lands under DESTDIR + the configured prefix,
#     and the files that name paths (hubsync.pc, the systemd unit) name the
#     prefix, never DESTDIR; the shared library has its SONAME and exports
#     exactly the functions of include/hubsync.h;
#  2. with --prefix DIR, a program of someone else's (tiny.c) builds with
#     `pkg-config --cflags --libs hubsync` against the installed library,
#     runs against it (LD_LIBRARY_PATH) and really syncs two databases
#     through a master; it also links the static library with the
#     libraries of hubsync.pc's Requires.private; `man` finds the installed
#     pages by MANPATH.
set -u
CMAKE=${1:?usage: $0 CMAKE BUILD_DIR SOURCE_DIR}
BUILD=$(cd "${2:?}" && pwd)
SRC=$(cd "${3:?}" && pwd)
CC=${CC:-cc}

. "$(dirname "$0")/install_lib.sh"
for t in pkg-config sqlite3 objdump nm man "$CC"; do
	command -v "$t" >/dev/null ||
		fail "$t is missing; run 'sh scripts/setup.sh test'"
done
cache() {
	sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"
}
prefix=$(cache CMAKE_INSTALL_PREFIX)
libdir=$(cache CMAKE_INSTALL_LIBDIR)
version=$("$BUILD/hubsync" --version | sed 's/^hubsync //')

step "DESTDIR install"
DESTDIR=$T/dest "$CMAKE" --install "$BUILD" >"$T/log" 2>&1 ||
	fail "cmake --install with DESTDIR failed"
[ -e "$T/dest$prefix/bin/hubsync" ] ||
	fail "DESTDIR=$T/dest not honoured: no $T/dest$prefix/bin/hubsync"
root=$T/dest$prefix
for f in bin/hubsync include/hubsync.h "$libdir/libhubsync.a" \
	"$libdir/libhubsync.so" "$libdir/libhubsync.so.0" \
	"$libdir/libhubsync.so.$version" "$libdir/pkgconfig/hubsync.pc" \
	lib/systemd/user/hubsync-daemon.service share/doc/hubsync/README.md \
	share/doc/hubsync/docs/DAEMON.md; do
	[ -e "$root/$f" ] || fail "$prefix/$f was not installed"
done
for page in "$SRC"/man/*.1; do
	[ -f "$root/share/man/man1/${page##*/}" ] ||
		fail "man page ${page##*/} was not installed"
done
grep -qx "prefix=$prefix" "$root/$libdir/pkgconfig/hubsync.pc" ||
	fail "hubsync.pc does not say prefix=$prefix"
grep -q "^ExecStart=$prefix/bin/hubsync daemon" \
	"$root/lib/systemd/user/hubsync-daemon.service" ||
	fail "the unit does not start $prefix/bin/hubsync"
leaked=$(grep -rl "$T" "$T/dest")
[ -z "$leaked" ] || fail "DESTDIR written into installed files: $leaked"

step "shared library"
lib=$root/$libdir/libhubsync.so
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
[ "$soname" = libhubsync.so.0 ] || fail "SONAME is '$soname', not libhubsync.so.0"
nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sort >"$T/exported"
grep -o 'hs_[a-z0-9_]*(' "$SRC/include/hubsync.h" | tr -d '(' | sort -u >"$T/declared"
cmp -s "$T/exported" "$T/declared" ||
	fail "exported functions differ from hubsync.h: $(diff "$T/declared" "$T/exported" | grep '^[<>]' | tr '\n' ' ')"

step "--prefix install"
"$CMAKE" --install "$BUILD" --prefix "$T/prefix" >"$T/log" 2>&1 ||
	fail "cmake --install --prefix failed"
pc=$(find "$T/prefix" -name hubsync.pc)
[ -n "$pc" ] || fail "no hubsync.pc under $T/prefix"
export PKG_CONFIG_PATH="${pc%/hubsync.pc}"
instlib=$(pkg-config --variable=libdir hubsync)
[ "$instlib" = "$T/prefix/$libdir" ] || fail "hubsync.pc libdir is $instlib"
got=$(pkg-config --modversion hubsync)
[ "$got" = "$version" ] || fail "pkg-config --modversion says $got, hubsync --version $version"
"$T/prefix/bin/hubsync" --version >"$T/log" 2>&1 || fail "installed hubsync does not run"

step "a program built with pkg-config"
cd "$T" || fail "cd $T"
# shellcheck disable=SC2046 # the flags are words
$CC -Wall -Werror $(pkg-config --cflags hubsync) "$SRC/tests/install/tiny.c" \
	-o tiny $(pkg-config --libs hubsync) >"$T/log" 2>&1 ||
	fail "cannot build tiny.c with pkg-config --cflags --libs hubsync"
objdump -p tiny | grep -q 'NEEDED *libhubsync.so.0' ||
	fail "tiny is not linked with libhubsync.so.0"
schema="CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
sqlite3 a.db "$schema INSERT INTO notes VALUES (1, 'written on a');" &&
	sqlite3 b.db "$schema INSERT INTO notes VALUES (2, 'written on b');" ||
	fail "sqlite3 cannot create the app databases"
LD_LIBRARY_PATH=$instlib ldd ./tiny | grep -q "libhubsync.so.0 => $instlib/" ||
	fail "tiny does not load the installed library: $(LD_LIBRARY_PATH=$instlib ldd ./tiny | grep hubsync)"
LD_LIBRARY_PATH=$instlib ./tiny master.db a.db b.db >"$T/log" 2>&1 ||
	fail "tiny failed"
grep -qx "libhubsync $version" "$T/log" || fail "tiny did not print the library version"
for db in a.db b.db; do
	rows=$(sqlite3 "$db" "SELECT group_concat(id || ':' || body, ',') FROM (SELECT * FROM notes ORDER BY id)")
	[ "$rows" = "1:written on a,2:written on b" ] ||
		fail "$db holds '$rows' after the syncs, not both rows"
done

step "the static library with what Requires.private names"
# (Linked dynamically: pkg-config --static would ask for the static
# dependencies of SQLite too, zlib's among them.)
# shellcheck disable=SC2046
privlibs=$(pkg-config --libs $(pkg-config --print-requires-private hubsync | cut -d' ' -f1))
# shellcheck disable=SC2046,SC2086
$CC $(pkg-config --cflags hubsync) "$SRC/tests/install/tiny.c" -o tiny-static \
	-L"$instlib" -Wl,-Bstatic -lhubsync -Wl,-Bdynamic $privlibs >"$T/log" 2>&1 ||
	fail "cannot link libhubsync.a with the libraries of hubsync.pc's Requires.private"
if objdump -p tiny-static | grep -q 'NEEDED *libhubsync'; then
	fail "tiny-static still needs libhubsync.so"
fi
rm -f a.db b.db master.db
sqlite3 a.db "$schema INSERT INTO notes VALUES (1, 'static');" &&
	sqlite3 b.db "$schema" || fail "sqlite3 cannot create the app databases"
./tiny-static master.db a.db b.db >"$T/log" 2>&1 || fail "tiny-static failed"
[ "$(sqlite3 b.db 'SELECT body FROM notes')" = static ] ||
	fail "tiny-static did not sync"

step "man finds the installed pages"
found=$(MANPATH=$T/prefix/share/man man -w hubsync-sync 2>&1)
[ "$found" = "$T/prefix/share/man/man1/hubsync-sync.1" ] ||
	fail "man -w hubsync-sync gave '$found'"
echo "ok: installed under DESTDIR and --prefix, tiny.c built with pkg-config and synced"
