#!/usr/bin/env bash
# bench/share.sh - the stream case against a file master on a real SMB share
# (tests/tools/smb-share: Samba on loopback, one smbnetfs client), next to
# the same push and pull through hubsync serve: the server against the
# master an office replaces. Needs root and /dev/fuse, like the SMB test.
#   bash bench/share.sh [BUILD_DIR] [hs_bench arguments...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
[ $# -gt 0 ] && shift
[ -x "$build/hs_bench" ] || { echo "bench/share.sh: no $build/hs_bench: run make build first" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/share.sh: needs root (Samba and FUSE mounts): run it as root" >&2; exit 2; }
dir=$(mktemp -d /tmp/hs-bench-share.XXXXXX)
trap 'bash "$here/tests/tools/smb-share" stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
client=$(bash "$here/tests/tools/smb-share" start "$dir" 1 | head -1)
[ -d "$client" ] || { echo "bench/share.sh: the share did not mount (see $dir/log)" >&2; exit 1; }
"$build/hs_bench" --only stream --share "$client" "$@"
