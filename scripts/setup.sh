#!/bin/sh
# Install the Debian packages hubsync needs to build and test, if missing.
# Works as root without sudo and as a user with sudo; silent when nothing is
# missing. Usage: scripts/setup.sh [build|test]
#
# build brings libpq-dev (the PostgreSQL master). test also brings
# postgresql (the PostgreSQL master's tests run a private cluster) and
# what the daemon's tests use: curl, Debian's chromium and Node.js with npm (kept when already there, from Debian or elsewhere), and
# the browser tests' npm packages in tests/web/node_modules and
# tests/node/node_modules (npm ci, from each package-lock.json), clang with
# libclang-rt-14-dev for the fuzz targets, and man-db for the man page
# tests.
#
# windows brings the cross-build and its test runner (make windows,
# scripts/windows.sh): mingw-w64, wine64, zip, tcl (SQLite makes its
# amalgamation with it) and dpkg-dev, plus a deb-src entry of our own for
# bookworm (when no deb-src line is there yet) so that `apt-get source`
# finds the dependencies' Debian source packages.
set -eu
what=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
pkgs="build-essential cmake pkg-config libsqlite3-dev sqlite3 libjansson-dev \
libmicrohttpd-dev libcmocka-dev libpq-dev libcurl4-gnutls-dev libzstd-dev"
if [ "$what" = test ]; then
	pkgs="$pkgs valgrind curl chromium"
	# the fuzz targets (scripts/fuzz.sh): clang and its libFuzzer runtime
	pkgs="$pkgs clang libclang-rt-14-dev"
	# the release tests (tests/install): man renders the man pages
	pkgs="$pkgs man-db"
	# the PostgreSQL master's tests start a private cluster (initdb, pg_ctl)
	pkgs="$pkgs postgresql"
	command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi
if [ "$what" = windows ]; then
	pkgs="$pkgs gcc-mingw-w64-x86-64-posix wine64 zip unzip tcl dpkg-dev xz-utils curl ninja-build"
fi
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
# Our own deb-src entry for bookworm, only when apt has none yet.
add_deb_src() {
	src=/etc/apt/sources.list.d/hubsync-deb-src.sources
	[ -e "$src" ] && return 0
	grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list \
		/etc/apt/sources.list.d/ && return 0
	printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' \
		'Suites: bookworm bookworm-updates' 'Components: main' \
		'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' '' \
		'Types: deb-src' 'URIs: http://deb.debian.org/debian-security' \
		'Suites: bookworm-security' 'Components: main' \
		'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
		$sudo tee "$src" >/dev/null
}
missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -n "$missing" ]; then
	if [ -n "$sudo" ]; then
		command -v sudo >/dev/null || {
			echo "setup: need root or sudo to install:$missing" >&2
			exit 1
		}
	fi
	echo "setup: installing$missing" >&2
	[ "$what" = windows ] && add_deb_src
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	# wine64 recommends a desktop's worth of media libraries: not needed
	norec=
	[ "$what" = windows ] && norec=--no-install-recommends
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $norec \
		$missing >/dev/null
fi
if [ "$what" = windows ] && ! apt-cache showsrc sqlite3 2>/dev/null | grep -q '^Package:'; then
	add_deb_src
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
fi
if [ "$what" = test ]; then
	# npm ci only when package-lock.json changed since the last one.
	for dir in tests/web tests/node; do
		d=$root/$dir
		stamp=$d/node_modules/.hubsync-installed-lock
		if ! cmp -s "$d/package-lock.json" "$stamp" 2>/dev/null; then
			echo "setup: npm ci in $dir" >&2
			(cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
			cp "$d/package-lock.json" "$stamp"
		fi
	done
fi
