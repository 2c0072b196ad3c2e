#!/usr/bin/env bash
# Runs every libFuzzer target built in build-fuzz/ for SECONDS each.
#
# usage: scripts/fuzz.sh [SECONDS]        (default 60; `make fuzz` builds first)
#
# Each target fuzz_<name> starts from a scratch copy of its committed corpus
# fuzz/corpus/<name>/, which is also passed as a second, read-only corpus
# directory: libFuzzer writes new inputs only to the first directory, so a
# run never rewrites the committed corpus. Crashers, leaks and timeouts go
# to build-fuzz/artifacts/<name>/; the script then prints their paths and
# exits 1. Copy a minimized crasher (libFuzzer -minimize_crash=1) into the
# committed corpus as crash-<what> so that it stays a regression test.
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
artifacts=$build/artifacts
scratch=$build/corpus-scratch

if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
	echo "usage: $0 SECONDS" >&2
	exit 2
fi

shopt -s nullglob
targets=()
for t in "$build"/fuzz_*; do
	[ -f "$t" ] && [ -x "$t" ] && targets+=("$t")
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no targets in $build (run 'make fuzz-build' first)" >&2
	exit 1
fi

# libFuzzer is blind without coverage instrumentation in the library
# (CMakeLists.txt adds -fsanitize=fuzzer-no-link under PACSD_FUZZ): refuse to
# report a meaningless "no crash" run on an uninstrumented one.
lib=$build/libpacsd_lib.a
# (grep -c, not -q: with pipefail, -q closing the pipe early fails nm.)
if [ -f "$lib" ] && [ "$(nm "$lib" 2>/dev/null | grep -c '__sanitizer_cov_')" -eq 0 ]; then
	echo "fuzz: $lib has no coverage instrumentation: rebuild with 'make fuzz-build'" >&2
	exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for t in "${targets[@]}"; do
	name=$(basename "$t")
	short=${name#fuzz_}
	committed=$root/fuzz/corpus/$short
	work=$scratch/$short
	art=$artifacts/$short
	mkdir -p "$art" "$work" "$committed"
	# Start from the committed seeds plus whatever earlier runs found.
	cp -f "$committed"/* "$work"/ 2>/dev/null || true
	before=$(ls "$art")
	log=$art/fuzz-$(date +%Y%m%d-%H%M%S).log
	echo "fuzz: $name for ${seconds}s (corpus $(ls "$work" | wc -l) inputs, log $log)"
	set +e
	# -fork is not used: one process keeps the stack of the first crash
	# in the log. -timeout makes a slow input (quadratic walk, bomb) an
	# artifact too; -rss_limit_mb catches allocation blow-ups.
	(cd "$art" && "$t" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 \
		-artifact_prefix="$art/" "$work" "$committed") >"$log" 2>&1
	rc=$?
	set -e
	grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
	# New artifacts of this run: anything not there before it started.
	crashers=()
	while IFS= read -r f; do
		case $f in crash-*|leak-*|timeout-*|oom-*) crashers+=("$art/$f") ;; esac
	done < <(comm -13 <(printf '%s\n' "$before" | sort) <(ls "$art" | sort))
	if [ "$rc" -ne 0 ] || [ ${#crashers[@]} -gt 0 ]; then
		failed=1
		echo "fuzz: $name FAILED (exit $rc); first report:" >&2
		grep -m1 -A30 -E '==[0-9]+==ERROR|runtime error|deadly signal|fuzz_dicom_read:|ALARM|out-of-memory' "$log" >&2 || tail -40 "$log" >&2
		for f in "${crashers[@]}"; do
			echo "fuzz: crasher $f" >&2
		done
		echo "fuzz: reproduce with: $t <crasher>   (or build/fuzz_$short in a gcc build)" >&2
	else
		echo "fuzz: $name ok (corpus now $(ls "$work" | wc -l) inputs in $work)"
	fi
done
exit $failed
