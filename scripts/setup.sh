#!/bin/sh
# Install the Debian packages hubsync needs to build and test, if missing.
# Works as root without sudo and as a user with sudo; silent when nothing is
# missing. Usage: scripts/setup.sh [build|test]
set -eu
what=${1:-build}
pkgs="build-essential cmake pkg-config libsqlite3-dev sqlite3 libjansson-dev \
libmicrohttpd-dev libcmocka-dev"
if [ "$what" = test ]; then
	pkgs="$pkgs valgrind"
fi
missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
sudo=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || {
		echo "setup: need root or sudo to install:$missing" >&2
		exit 1
	}
	sudo=sudo
fi
echo "setup: installing$missing" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
