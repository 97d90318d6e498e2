#!/bin/sh
# Build the static Windows libraries hubsync links, from Debian's source
# packages, with Debian's mingw-w64 (make windows; scripts/setup.sh windows
# installs the tools and a deb-src entry).
#
# Usage: scripts/windows-deps.sh DEPS_DIR
#
# Each package is fetched with `apt-get source` (Debian's patches applied)
# into DEPS_DIR/src and installed into DEPS_DIR/prefix; a stamp file
# DEPS_DIR/stamps/PACKAGE-VERSION keys the cache, so a second run with the
# same Debian versions does nothing. A new Debian version rebuilds that
# package only. Builds run quietly; a failure prints the last log lines.
#
#   sqlite3        the amalgamation (made natively with tclsh), compiled here
#   jansson        cmake
#   libmicrohttpd  autotools, without HTTPS (the daemon listens on loopback)
#   libzstd        cmake (for the sync server's client side)
#   curl           cmake, TLS by Windows' own Schannel, nothing else
#   cmocka         cmake (the unit tests run under wine)
set -eu
deps=${1:?usage: windows-deps.sh DEPS_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$deps/src" "$deps/stamps" "$deps/prefix"
deps=$(cd "$deps" && pwd)
prefix=$deps/prefix
host=x86_64-w64-mingw32
cc=$host-gcc-posix
jobs=$(nproc 2>/dev/null || echo 2)
toolchain=$root/cmake/mingw-w64.cmake
export HS_WIN_DEPS=$prefix

# The versions apt knows, newest first.
versions_of() {
	apt-cache showsrc --only-source "$1" 2>/dev/null |
		sed -n 's/^Version: //p' | sort -rV | uniq
}

# Unpack the source package $1 version $2 into $deps/src/$1-$2; 1 when
# the mirror does not have it (a security update not mirrored, say).
fetch() {
	dir=$deps/src/$1-$2
	[ -f "$dir/.unpacked" ] && return 0
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && apt-get source -qq --only-source "$1=$2") \
		>"$dir.log" 2>&1 || return 1
	touch "$dir/.unpacked"
}

# The unpacked source folder of $1 version $2.
source_dir() {
	dir=$deps/src/$1-$2
	for d in "$dir"/*/; do
		[ -d "$d/debian" ] && { echo "${d%/}"; return; }
	done
	echo "windows-deps: no unpacked source in $dir" >&2
	exit 1
}

# Run a build step quietly into log $1; on failure show its tail.
quiet() {
	log=$1
	shift
	"$@" >>"$log" 2>&1 || {
		echo "windows-deps: failed: $*  (log: $log)" >&2
		tail -n 30 "$log" >&2
		exit 1
	}
}

cmake_dep() { # source-dir build-dir log [cmake args]
	s=$1 b=$2 log=$3
	shift 3
	quiet "$log" cmake -S "$s" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_INSTALL_PREFIX="$prefix" \
		-DBUILD_SHARED_LIBS=OFF "$@"
	quiet "$log" cmake --build "$b" -j "$jobs"
	quiet "$log" cmake --install "$b"
}

build_sqlite3() { # src log version
	b=$1/build-native
	mkdir -p "$b"
	(cd "$b" && quiet "$2" ../configure --disable-tcl)
	quiet "$2" make -C "$b" sqlite3.c
	# Debian's own feature set for the library, as far as hubsync cares
	quiet "$2" $cc -O2 -c "$b/sqlite3.c" -o "$b/sqlite3.o" \
		-DSQLITE_THREADSAFE=1 -DSQLITE_ENABLE_COLUMN_METADATA \
		-DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_RTREE \
		-DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ENABLE_MATH_FUNCTIONS \
		-DSQLITE_ENABLE_UNLOCK_NOTIFY -DSQLITE_MAX_VARIABLE_NUMBER=250000
	mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
	rm -f "$prefix/lib/libsqlite3.a"
	quiet "$2" $host-gcc-ar-posix rcs "$prefix/lib/libsqlite3.a" "$b/sqlite3.o"
	cp "$b/sqlite3.h" "$1/src/sqlite3ext.h" "$prefix/include/" 2>/dev/null ||
		cp "$b/sqlite3.h" "$b/sqlite3ext.h" "$prefix/include/"
	printf '%s\n' "prefix=$prefix" 'Name: SQLite' 'Description: SQL database engine' \
		"Version: ${3%%-*}" 'Libs: -L${prefix}/lib -lsqlite3' \
		'Cflags: -I${prefix}/include' >"$prefix/lib/pkgconfig/sqlite3.pc"
}

build_jansson() {
	cmake_dep "$1" "$1/build-win" "$2" -DJANSSON_BUILD_DOCS=OFF \
		-DJANSSON_EXAMPLES=OFF -DJANSSON_WITHOUT_TESTS=ON \
		-DJANSSON_BUILD_SHARED_LIBS=OFF
}

build_libmicrohttpd() {
	(cd "$1" && quiet "$2" ./configure --host=$host CC=$cc \
		--prefix="$prefix" --enable-static --disable-shared \
		--disable-https --without-gnutls --disable-doc --disable-examples \
		--disable-curl --disable-nls --disable-dependency-tracking)
	quiet "$2" make -C "$1/src/microhttpd" -j "$jobs" install
	quiet "$2" make -C "$1" install-pkgconfigDATA
	quiet "$2" make -C "$1/src/include" install
}

build_libzstd() { # its cmake project wants a C++ compiler: plain make
	quiet "$2" make -C "$1/lib" -j "$jobs" libzstd.a CC=$cc \
		AR=$host-gcc-ar-posix ZSTD_LEGACY_SUPPORT=0
	mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
	cp "$1/lib/libzstd.a" "$prefix/lib/"
	cp "$1/lib/zstd.h" "$1/lib/zdict.h" "$1/lib/zstd_errors.h" \
		"$prefix/include/"
	printf '%s\n' "prefix=$prefix" 'Name: zstd' 'Description: fast compression' \
		"Version: ${3%%+*}" 'Libs: -L${prefix}/lib -lzstd' \
		'Cflags: -I${prefix}/include' >"$prefix/lib/pkgconfig/libzstd.pc"
}

build_curl() {
	cmake_dep "$1" "$1/build-win" "$2" -DCURL_USE_SCHANNEL=ON \
		-DCURL_USE_OPENSSL=OFF -DCURL_ZLIB=OFF -DCURL_BROTLI=OFF \
		-DCURL_ZSTD=OFF -DUSE_NGHTTP2=OFF -DUSE_LIBIDN2=OFF \
		-DCURL_USE_LIBPSL=OFF -DCURL_USE_LIBSSH2=OFF -DCURL_DISABLE_LDAP=ON \
		-DENABLE_MANUAL=OFF -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF \
		-DBUILD_LIBCURL_DOCS=OFF -DCURL_STATICLIB=ON
}

build_cmocka() { # builds its DLL anyway: the tests link the static one
	cmake_dep "$1" "$1/build-win" "$2" -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
		-DWITH_STATIC_LIB=ON
	mv "$prefix/lib/libcmocka-static.a" "$prefix/lib/libcmocka.a"
	rm -f "$prefix/lib/libcmocka.dll.a" "$prefix/bin/cmocka.dll"
}

for pkg in sqlite3 jansson libmicrohttpd libzstd curl cmocka; do
	vers=$(versions_of $pkg)
	[ -n "$vers" ] || {
		echo "windows-deps: apt has no source package $pkg: run" \
			"scripts/setup.sh windows (it adds a deb-src entry)" >&2
		exit 1
	}
	# cached: a build of any version apt still lists
	ver=
	for v in $vers; do
		[ -f "$deps/stamps/$pkg-$v" ] && ver=$v && break
	done
	[ -n "$ver" ] && continue
	start=$(date +%s)
	for v in $vers; do
		fetch $pkg "$v" && ver=$v && break
	done
	[ -n "$ver" ] || {
		echo "windows-deps: cannot download the source of $pkg" \
			"($(echo $vers)): see $deps/src/$pkg-*.log" >&2
		exit 1
	}
	stamp=$deps/stamps/$pkg-$ver
	src=$(source_dir $pkg "$ver")
	log=$deps/$pkg-$ver.build.log
	: >"$log"
	rm -rf "$src/build-win" "$src/build-native"
	[ $pkg = libzstd ] && make -C "$src/lib" clean >/dev/null 2>&1
	build_$pkg "$src" "$log" "$ver"
	# the licenses travel with the zip
	mkdir -p "$prefix/licenses/$pkg"
	cp "$src/debian/copyright" "$prefix/licenses/$pkg/copyright"
	for f in LICENSE LICENSE.txt COPYING COPYING.txt; do
		[ -f "$src/$f" ] && cp "$src/$f" "$prefix/licenses/$pkg/"
	done
	touch "$stamp"
	echo "windows-deps: $pkg $ver built in $(($(date +%s) - start)) s" >&2
done
