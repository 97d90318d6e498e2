#!/bin/sh
# test_deb.sh SOURCE_DIR WORK_DIR - `make deb` (scripts/deb.sh) builds a
# .deb in WORK_DIR (its build is kept there between runs), and the package
# holds what it should: its control fields (version of `hubsync --version`,
# the Depends dpkg-shlibdeps found), every file (dpkg-deb -c), and files
# that work once unpacked (dpkg-deb -x: the binary runs, hubsync.pc and the
# unit name /usr, the man pages are gzipped and render).
# Installing it on a clean Debian 12 is a manual check (README.md).
set -u
SRC=$(cd "${1:?usage: $0 SOURCE_DIR WORK_DIR}" && pwd)
WORK=${2:?}
mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)
. "$(dirname "$0")/install_lib.sh"

step "make deb"
rm -rf "$WORK/dist"
sh "$SRC/scripts/deb.sh" "$WORK/build" "$WORK/dist" >"$T/log" 2>&1 ||
	fail "scripts/deb.sh failed"
cat "$T/log"
deb=$(ls "$WORK"/dist/hubsync_*.deb 2>/dev/null)
version=$("$WORK/build/hubsync" --version | sed 's/^hubsync //')
arch=$(dpkg --print-architecture)
[ "$deb" = "$WORK/dist/hubsync_${version}_$arch.deb" ] ||
	fail "expected dist/hubsync_${version}_$arch.deb, got '$deb'"

step "dpkg-deb -I"
field() {
	dpkg-deb -f "$deb" "$1"
}
[ "$(field Package)" = hubsync ] || fail "Package is '$(field Package)'"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)'"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture is '$(field Architecture)'"
depends=$(field Depends)
for pkg in libc6 libsqlite3-0 libjansson4 libmicrohttpd12; do
	echo "$depends" | grep -q "\\b$pkg\\b" || fail "Depends lacks $pkg: $depends"
done
dpkg-deb -I "$deb" >"$T/info" || fail "dpkg-deb -I failed"
grep -q "^ Description: local-first multi-user sync for SQLite" "$T/info" ||
	fail "dpkg-deb -I shows no Description"
dpkg-deb --ctrl-tarfile "$deb" | tar -t >"$T/control" || fail "no control archive"
for f in control md5sums shlibs triggers; do
	grep -qx "./$f" "$T/control" || fail "the control archive has no $f"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./shlibs | grep -qx "libhubsync 0 hubsync (>= $version)" ||
	fail "shlibs is not 'libhubsync 0 hubsync (>= $version)'"

step "dpkg-deb -c"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$T/files"
multi=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
for f in /usr/bin/hubsync /usr/include/hubsync.h \
	"/usr/lib/$multi/libhubsync.so.$version" "/usr/lib/$multi/libhubsync.so.0" \
	"/usr/lib/$multi/libhubsync.so" "/usr/lib/$multi/libhubsync.a" \
	"/usr/lib/$multi/pkgconfig/hubsync.pc" \
	/usr/lib/systemd/user/hubsync-daemon.service \
	/usr/share/doc/hubsync/copyright /usr/share/doc/hubsync/changelog.gz \
	/usr/share/doc/hubsync/README.md /usr/share/doc/hubsync/docs/DAEMON.md \
	/usr/share/lintian/overrides/hubsync; do
	grep -qx "$f" "$T/files" || fail "the package lacks $f"
done
for page in "$SRC"/man/*.1; do
	grep -qx "/usr/share/man/man1/${page##*/}.gz" "$T/files" ||
		fail "the package lacks the man page ${page##*/}.gz"
done
outside=$(grep -v '^/usr/' "$T/files" | grep -vx '/')
[ -z "$outside" ] || fail "files outside /usr: $outside"

step "unpacked"
dpkg-deb -x "$deb" "$T/root" || fail "dpkg-deb -x failed"
"$T/root/usr/bin/hubsync" --version >"$T/log" 2>&1 || fail "the packaged hubsync does not run"
grep -qx "prefix=/usr" "$T/root/usr/lib/$multi/pkgconfig/hubsync.pc" ||
	fail "hubsync.pc does not say prefix=/usr"
grep -q "^ExecStart=/usr/bin/hubsync daemon" \
	"$T/root/usr/lib/systemd/user/hubsync-daemon.service" ||
	fail "the unit does not start /usr/bin/hubsync"
[ "$(stat -c %a "$T/root/usr/lib/$multi/libhubsync.so.$version")" = 644 ] ||
	fail "the shared library is executable (lintian: shlib-with-executable-bit)"
MANWIDTH=80 man --warnings -l "$T/root/usr/share/man/man1/hubsync.1.gz" \
	>"$T/out" 2>"$T/log" && [ ! -s "$T/log" ] && grep -q '^NAME' "$T/out" ||
	fail "the packaged hubsync.1.gz does not render cleanly"
(cd "$T/root" && md5sum --quiet -c) <"$WORK/build/stage/DEBIAN/md5sums" >"$T/log" 2>&1 ||
	fail "md5sums do not match the files"
echo "ok: $(basename "$deb") $(du -k "$deb" | cut -f1) KiB, $(wc -l <"$T/files") entries"
