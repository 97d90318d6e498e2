#!/bin/sh
# Build the libFuzzer targets (fuzz/) with clang and run each for SECONDS
# on its committed corpus. Usage: scripts/fuzz.sh BUILD_DIR SECONDS
#
# Each target starts from fuzz/corpus/<target>/ (read only) plus what
# earlier runs found in BUILD_DIR/corpus/<target>/ (written). A crash, a
# leak, a sanitizer report, a failed check or an input slower than 10 s
# fails the run; the input is kept as BUILD_DIR/artifacts/<target>-*.
# No clang or no fuzzer runtime (libclang-rt-14-dev) is an error, never a
# silent skip: scripts/setup.sh test installs both.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build-fuzz}
secs=${2:-20}
targets="csv api_body parse_time master_rows wire serve"

die() {
	echo "fuzz: $*" >&2
	exit 1
}

command -v clang >/dev/null 2>&1 ||
	die "clang is missing; run 'sh scripts/setup.sh test' (installs clang and libclang-rt-14-dev)"
probe=$(mktemp -d "${TMPDIR:-/tmp}/hubsync-fuzz-probe.XXXXXX")
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" \
	>"$probe/log" 2>&1 ||
	die "clang cannot link libFuzzer ($(tail -n 1 "$probe/log")); run 'sh scripts/setup.sh test' (installs libclang-rt-14-dev)"

case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac
cmake -S "$root/fuzz" -B "$dir" -DCMAKE_C_COMPILER=clang \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$probe/cmake.log" 2>&1 ||
	{ cat "$probe/cmake.log" >&2; die "cannot configure the fuzz build in $dir"; }
for t in $targets; do
	cmake --build "$dir" --target "fuzz_$t" -j "$(nproc 2>/dev/null || echo 2)" \
		>"$probe/build.log" 2>&1 ||
		{ tail -n 40 "$probe/build.log" >&2; die "cannot build fuzz_$t"; }
done

failed=
for t in $targets; do
	seeds=$root/fuzz/corpus/$t
	[ -d "$seeds" ] && [ -n "$(ls "$seeds")" ] || die "no committed corpus in fuzz/corpus/$t"
	mkdir -p "$dir/corpus/$t" "$dir/artifacts"
	log=$dir/$t.log
	if (cd "$dir" && "./fuzz_$t" -max_total_time="$secs" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" \
		"$dir/corpus/$t" "$seeds") >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1 |
			sed -n 's/.*cov: \([0-9]*\).*/\1/p')
		echo "fuzz: $t: ${runs:-?} runs in ${secs}s, coverage ${cov:-?} edges, no failure"
	else
		echo "fuzz: $t FAILED; log $log, input kept in $dir/artifacts/:" >&2
		grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written' "$log" | head -n 20 >&2
		failed="$failed $t"
	fi
done
[ -z "$failed" ] || die "failed:$failed"
