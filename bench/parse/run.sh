#!/usr/bin/env bash
# bench/parse: header-only and full parsing of a few thousand files by
# pacsd, pydicom and dcmtk's dcmdump, in one run, with pacsd's ratios.
#
# usage: bench/parse/run.sh            (`make bench` builds, then runs this)
# env:   BUILD=dir      where parse_bench is (default build/)
#        CORPUS=dir     corpus directory (default $BUILD/bench-corpus)
#        N=3000         corpus size in files
#        RUNS=3         measurements per tool and mode; the best is kept
#        REPEAT=5       passes over the list per parse_bench measurement
#                       (pacsd is fast enough that one pass is noise)
#
# Builds nothing. The corpus is made by make_corpus.py when missing. Every
# file is read once before timing so that all tools see a warm page cache.
# Exits 0 even when a target is missed (this is a report); misses are
# printed as MISSED. See bench/README.md for what each tool runs and why.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build}
corpus=${CORPUS:-$build/bench-corpus}
n=${N:-3000}
runs=${RUNS:-3}
repeat=${REPEAT:-5}
py=/usr/bin/python3
bench=$build/parse_bench

if [ ! -x "$bench" ]; then
	echo "bench/parse: $bench not found; run 'make build' first" >&2
	exit 1
fi
"$py" "$here/make_corpus.py" --n "$n" --out "$corpus" --quiet
list=$corpus/files.txt
mapfile -t files <"$list"
nfiles=${#files[@]}
nbytes=$(cat "${files[@]}" | wc -c)   # also warms the page cache
echo "corpus: $nfiles files, $(awk -v b="$nbytes" 'BEGIN{printf "%.1f", b/1e6}') MB in $corpus"

# A first pass that reports files pacsd rejects: they would make pacsd's
# figures look better than they are.
check=$("$bench" --list-errors "@$list" 2>"$corpus/pacsd-errors.txt")
perr=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$check")
if [ "${perr:-0}" -ne 0 ]; then
	echo "WARNING: pacsd failed to parse $perr of $nfiles files (see $corpus/pacsd-errors.txt):"
	sort -u "$corpus/pacsd-errors.txt" | sed 's/^/  /' | head -10
fi

field() { sed -n "s/.*$1=\\([0-9.]*\\).*/\\1/p" <<<"$2"; }

# best_of CMD...: runs CMD (which prints a parse_bench-style line) $runs
# times and prints the line with the highest files_per_s.
best_of() {
	local best="" bestf=0 line f
	for _ in $(seq "$runs"); do
		line=$("$@")
		f=$(field files_per_s "$line")
		if [ -z "$best" ] || awk -v a="$f" -v b="$bestf" 'BEGIN{exit !(a>b)}'; then
			best=$line
			bestf=$f
		fi
	done
	echo "$best"
}

# dcmdump_line OPTIONS...: times one dcmdump process over every file and
# prints a parse_bench-style line.
dcmdump_line() {
	local t0 t1 rc=0
	t0=$(date +%s%N)
	dcmdump -q "$@" "${files[@]}" >/dev/null 2>&1 || rc=$?
	t1=$(date +%s%N)
	awk -v n="$nfiles" -v b="$nbytes" -v ns="$((t1 - t0))" -v rc="$rc" 'BEGIN{
		s = ns / 1e9;
		printf "files=%d bytes=%d seconds=%.6f files_per_s=%.1f mb_per_s=%.2f errors=%s\n",
			n, b, s, n / s, b / 1e6 / s, (rc == 0 ? 0 : "rc" rc) }'
}

declare -A res
run_mode() {
	local mode=$1 pflag="" dflags=()
	if [ "$mode" = header-only ]; then
		pflag=--header-only
		# Stop before the top-level Pixel Data, and do not load other
		# long values either (pacsd never copies values: they are
		# slices of the mapping).
		dflags=(-M +sb 7fe0,0010)
	fi
	res[pacsd,$mode]=$(best_of "$bench" $pflag --repeat "$repeat" "@$list")
	res[pydicom,$mode]=$(best_of "$py" "$here/pydicom_bench.py" $pflag "@$list")
	# The reference: dcmdump parses everything but prints one tag, so
	# that it is timed parsing, not formatting text.
	res[dcmdump,$mode]=$(best_of dcmdump_line "${dflags[@]}" +P 0008,0018)
	# For information: dcmdump's ordinary full dump to /dev/null.
	res[dcmdump-print,$mode]=$(best_of dcmdump_line "${dflags[@]}")
}

run_mode header-only
run_mode full

printf '\n%-15s %-12s %12s %10s %8s\n' tool mode files/s MB/s errors
for mode in header-only full; do
	for tool in pacsd pydicom dcmdump dcmdump-print; do
		line=${res[$tool,$mode]}
		printf '%-15s %-12s %12s %10s %8s\n' "$tool" "$mode" \
			"$(field files_per_s "$line")" "$(field mb_per_s "$line")" \
			"$(sed -n 's/.*errors=\([^ ]*\).*/\1/p' <<<"$line")"
	done
done
echo

missed=0
ratio_line() {
	local mode=$1 ref=$2 target=$3 a b r
	a=$(field files_per_s "${res[pacsd,$mode]}")
	b=$(field files_per_s "${res[$ref,$mode]}")
	r=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.1f", a / b}')
	if [ -n "$target" ]; then
		if awk -v r="$r" -v t="$target" 'BEGIN{exit !(r >= t)}'; then
			echo "$mode: pacsd/$ref = ${r}x (target >= ${target}x) ok"
		else
			echo "$mode: pacsd/$ref = ${r}x (target >= ${target}x) MISSED"
			missed=1
		fi
	else
		echo "$mode: pacsd/$ref = ${r}x"
	fi
}
ratio_line header-only pydicom 20
ratio_line header-only dcmdump 2
ratio_line header-only dcmdump-print ""
ratio_line full pydicom ""
ratio_line full dcmdump ""
ratio_line full dcmdump-print ""
if [ "$missed" -ne 0 ]; then
	echo "bench/parse: MISSED a target (see above)"
fi
exit 0
