#!/bin/sh
# Build the Debian package dist/hubsync_VERSION_ARCH.deb (make deb).
# Usage: scripts/deb.sh [BUILD_DIR [OUT_DIR]]   (default build-deb, dist)
#
# A build of its own in BUILD_DIR: prefix /usr, Debian's hardening flags
# (dpkg-buildflags), warnings as errors; only what is installed is built.
# `cmake --install --strip` stages it in BUILD_DIR/stage, then this script
# adds what a .deb needs: gzipped man pages, the copyright and changelog,
# the lintian overrides (packaging/deb/), DEBIAN/control with the Depends
# that dpkg-shlibdeps computes, shlibs, the ldconfig trigger and md5sums.
# One package holds the command, the library, its header and pkg-config
# file: packaging/deb/lintian-overrides says why. Needs only dpkg-dev
# (build-essential); set DEB_MAINTAINER to sign the package with a name.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-deb}
out=${2:-dist}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
maintainer=${DEB_MAINTAINER:-hubsync developers <hubsync@example.org>}

die() {
	echo "deb: $*" >&2
	exit 1
}
for t in dpkg-deb dpkg-shlibdeps dpkg-buildflags; do
	command -v $t >/dev/null 2>&1 ||
		die "$t is missing; run 'sh scripts/setup.sh build' (installs build-essential)"
done

# Every hardening feature (bindnow and PIE on top of the defaults).
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=None \
	-DCMAKE_INSTALL_PREFIX=/usr -DHS_WERROR=ON \
	-DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
	-DCMAKE_SHARED_LINKER_FLAGS="$ldflags" >"$build.log" 2>&1 ||
	{ cat "$build.log" >&2; die "cannot configure $build"; }
rm -f "$build.log"
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" \
	--target hubsync_cli hubsync_shared hubsync hs_dynload_deps \
	-- --no-print-directory >/dev/null

stage=$build/stage
rm -rf "$stage"
DESTDIR=$stage cmake --install "$build" --strip >/dev/null
# What dh_strip also takes out: the compiler's .comment, and the static
# library's debug information.
strip --remove-section=.comment "$stage/usr/bin/hubsync" \
	"$stage"/usr/lib/*/libhubsync.so.*.*
strip --strip-debug --remove-section=.comment --enable-deterministic-archives \
	"$stage"/usr/lib/*/libhubsync.a
version=$("$stage/usr/bin/hubsync" --version | sed 's/^hubsync //')
arch=$(dpkg --print-architecture)
doc=$stage/usr/share/doc/hubsync

# Debian policy: man pages and the changelog gzipped (-n: no time stamp).
gzip -9n "$stage"/usr/share/man/man1/*.1
cp "$root/packaging/deb/copyright" "$doc/copyright"
date=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}")
printf 'hubsync (%s) stable; urgency=medium\n\n  * Built from the hubsync sources, version %s.\n\n -- %s  %s\n' \
	"$version" "$version" "$maintainer" "$date" | gzip -9n >"$doc/changelog.gz"
mkdir -p "$stage/usr/share/lintian/overrides"
cp "$root/packaging/deb/lintian-overrides" "$stage/usr/share/lintian/overrides/hubsync"

# Modes as Debian wants them, whatever the umask: shared libraries are not
# executable.
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
chmod 0755 "$stage/usr/bin/hubsync"

lib=$(cd "$stage" && find usr/lib -name 'libhubsync.so.*.*' -type f)
soname=$(objdump -p "$stage/$lib" | awk '/SONAME/ {print $2}')
[ -n "$soname" ] || die "no SONAME in $lib"
sover=${soname#libhubsync.so.}

# dpkg-shlibdeps wants a debian/control to read; a minimal one will do.
work=$build/shlibdeps
rm -rf "$work" && mkdir -p "$work/debian"
printf 'Source: hubsync\n\nPackage: hubsync\nArchitecture: any\n' >"$work/debian/control"
# hs_dynload_deps links the libraries the command loads when first needed
# (libcurl, libpq, libmicrohttpd: src/lib/dynload.c), which its own ELF
# header does not name.
depends=$(cd "$work" && dpkg-shlibdeps -O "$stage/usr/bin/hubsync" "$stage/$lib" \
	"$build/src/lib/hs_dynload_deps" 2>"$work/log") ||
	{ cat "$work/log" >&2; die "dpkg-shlibdeps failed"; }
depends=${depends#shlibs:Depends=}
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies"

mkdir -p "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
	-e "s|@MAINTAINER@|$maintainer|" -e "s|@DEPENDS@|$depends|" \
	"$root/packaging/deb/control.in" >"$stage/DEBIAN/control"
echo "libhubsync $sover hubsync (>= $version)" >"$stage/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$stage/DEBIAN/triggers"
(cd "$stage" && find usr -type f | LC_ALL=C sort | xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage"/DEBIAN/*

mkdir -p "$out"
deb=$out/hubsync_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "deb: $deb ($(du -k "$deb" | cut -f1) KiB; Depends: $depends)"
