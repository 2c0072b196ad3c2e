#!/usr/bin/env bash
# bench/render: one frame -> 8-bit PNG, per transfer syntax, by pacsd, dcmtk
# (dcm2pnm and its JPEG / JPEG-LS builds dcmj2pnm, dcml2pnm) and pydicom, in
# one run, with pacsd's ratios.
#
# usage: bench/render/run.sh           (`make build` first)
# env:   BUILD=dir      where pacsd and render_bench are (default build/)
#        FILES=dir      test images (default $BUILD/bench-render; made by
#                       make_files.sh when missing)
#        PROCS=100      processes per per-process measurement
#        REPEAT=100     renders per in-process measurement (render_bench)
#        PYREPEAT=20    renders per pydicom measurement
#        RUNS=3         measurements per tool and syntax; the best is kept
#
# Two kinds of figures, never mixed in a ratio:
#   per-process  the wall time of PROCS runs of `pacsd render F -o OUT` and
#                of `dcm2pnm ... F OUT` from a shell loop: start-up, read,
#                decode, LUTs, PNG encode, write -- what a script calling
#                either tool pays. The target ratio (pacsd/dcm2pnm >= 2x)
#                is computed on these.
#   in-process   render_bench (pacsd's library in a loop: open + parse,
#                decode, render, encode to memory) and pydicom_render.py
#                (dcmread, pixel_array, LUTs, Pillow PNG to memory); pydicom
#                per process would be mostly interpreter start-up.
# Frames/s and MB/s of decoded pixels at their native size (rows x cols x
# samples x BitsAllocated/8, MB = 10^6 bytes). Exits 0 even when a target
# is missed (this is a report); misses print MISSED. See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build}
files=${FILES:-$build/bench-render}
procs=${PROCS:-100}
repeat=${REPEAT:-100}
pyrepeat=${PYREPEAT:-20}
runs=${RUNS:-3}
py=/usr/bin/python3
pacsd=$build/pacsd
bench=$build/render_bench

for b in "$pacsd" "$bench"; do
	if [ ! -x "$b" ]; then
		echo "bench/render: $b not found; run 'make build' first" >&2
		exit 1
	fi
done
bash "$here/make_files.sh" "$files"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# syntax label, file, dcmtk tool ("-" when dcmtk cannot decode it), dcmtk
# VOI option matching what pacsd does by default (the file's first window,
# else min..max; none for colour).
cases=(
	"native-16bit-mono ct16.dcm dcm2pnm +Wi:1"
	"native-8bit-rgb rgb8.dcm dcm2pnm -"
	"rle ct16_rle.dcm dcm2pnm +Wi:1"
	"jpeg-baseline-rgb rgb8_jpeg50.dcm dcmj2pnm -"
	"jpeg-baseline-grey grey8_jpeg50.dcm dcmj2pnm +Wm"
	"jpeg-lossless-sv1 ct16_jpll70.dcm dcmj2pnm +Wi:1"
	"jpeg-ls-lossless ct16_jpls80.dcm dcml2pnm +Wi:1"
	"j2k-lossless ct16_j2k90.dcm - -"
)

field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }

# best_of CMD...: runs CMD (which prints a frames=... line) $runs times and
# prints the line with the highest frames_per_s; "error" if any run failed.
best_of() {
	local best="" bestf=0 line f
	for _ in $(seq "$runs"); do
		if ! line=$("$@"); then
			echo "error"
			return
		fi
		f=$(field frames_per_s "$line")
		if [ -z "$best" ] || awk -v a="$f" -v b="$bestf" 'BEGIN{exit !(a>b)}'; then
			best=$line
			bestf=$f
		fi
	done
	echo "$best"
}

# per_process PIXEL_BYTES OUT CMD...: $procs runs of CMD (which writes OUT)
# from a subshell, timed as a whole: wall time, and the CPU time (user +
# sys) of the children from `times`, which other load on the machine
# disturbs less. Prints a frames=... line.
per_process() {
	local pb=$1 out=$2 ns cpu
	shift 2
	"$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
	(
		t0=$(date +%s%N)
		for _ in $(seq "$procs"); do
			"$@" >/dev/null 2>&1
		done
		t1=$(date +%s%N)
		echo "$((t1 - t0))"
		times
	) >"$work/times"
	ns=$(sed -n 1p "$work/times")
	# Second line of `times`: children's user and system time, "1m2.5s".
	cpu=$(sed -n 3p "$work/times" | awk '{
		t = 0
		for (i = 1; i <= 2; i++) {
			split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2]
		}
		print t }')
	awk -v n="$procs" -v pb="$pb" -v ns="$ns" -v cpu="$cpu" -v ob="$(stat -c %s "$out")" 'BEGIN{
		s = ns / 1e9;
		printf "frames=%d seconds=%.6f frames_per_s=%.1f mb_per_s=%.2f pixel_bytes=%d out_bytes=%d cpu_s=%.6f\n",
			n, s, n / s, pb * n / 1e6 / s, pb, ob, cpu }'
}

pixel_bytes() {
	"$py" - "$1" <<'EOF'
import sys, warnings
warnings.simplefilter("ignore")
import pydicom
ds = pydicom.dcmread(sys.argv[1], stop_before_pixels=True)
print(int(ds.Rows) * int(ds.Columns) * int(ds.SamplesPerPixel) * ((int(ds.BitsAllocated) + 7) // 8))
EOF
}

declare -A res
labels=()
for c in "${cases[@]}"; do
	read -r label file dtool voi <<<"$c"
	labels+=("$label")
	f=$files/$file
	cat "$f" >/dev/null # page cache
	pb=$(pixel_bytes "$f")
	res[$label,pacsd]=$(best_of per_process "$pb" "$work/p.png" "$pacsd" render "$f" -o "$work/p.png")
	if [ "$dtool" != - ]; then
		vopt=()
		[ "$voi" != - ] && read -r -a vopt <<<"${voi/:/ }"
		res[$label,dcmtk]=$(best_of per_process "$pb" "$work/d.png" \
			"$dtool" -q --write-png -il "${vopt[@]}" "$f" "$work/d.png")
		res[$label,dcmtk-name]=$dtool
	else
		res[$label,dcmtk]="n/a"
	fi
	res[$label,inproc]=$(best_of "$bench" --repeat "$repeat" "$f")
	res[$label,pydicom]=$(best_of "$py" "$here/pydicom_render.py" --repeat "$pyrepeat" "$f")
	echo "bench/render: $label done" >&2
done

printf '\n%-20s %-24s %9s %8s %9s %9s %7s\n' syntax tool frames/s MB/s ms/frame cpu_ms/fr out_KB
row() {
	local label=$1 name=$2 line=$3 fps
	if [ "$line" = "n/a" ] || [ "$line" = "error" ]; then
		printf '%-20s %-24s %10s\n' "$label" "$name" "$line"
		return
	fi
	fps=$(field frames_per_s "$line")
	printf '%-20s %-24s %9s %8s %9.2f %9.2f %7.1f\n' "$label" "$name" "$fps" \
		"$(field mb_per_s "$line")" "$(awk -v f="$fps" 'BEGIN{print 1000 / f}')" \
		"$(awk -v c="$(field cpu_s "$line")" -v n="$(field frames "$line")" 'BEGIN{print c * 1000 / n}')" \
		"$(awk -v b="$(field out_bytes "$line")" 'BEGIN{print b / 1024}')"
}
for label in "${labels[@]}"; do
	row "$label" "pacsd (per-process)" "${res[$label,pacsd]}"
	row "$label" "${res[$label,dcmtk-name]:-dcm2pnm} (per-process)" "${res[$label,dcmtk]}"
	row "$label" "pacsd (in-process)" "${res[$label,inproc]}"
	row "$label" "pydicom (in-process)" "${res[$label,pydicom]}"
done

# Where pacsd's in-process time goes (render_bench's stage sums).
printf '\npacsd in-process, ms per frame:\n%-20s %7s %7s %7s %7s\n' syntax open decode render encode
for label in "${labels[@]}"; do
	line=${res[$label,inproc]}
	[ "$line" = error ] && continue
	n=$(field frames "$line")
	printf '%-20s' "$label"
	for st in open_s decode_s render_s encode_s; do
		printf ' %7.2f' "$(awk -v t="$(field "$st" "$line")" -v n="$n" 'BEGIN{print t * 1000 / n}')"
	done
	echo
done
echo

missed=0
ratio() {
	local a b
	a=$(field frames_per_s "$1")
	b=$(field frames_per_s "$2")
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo ""
		return
	fi
	awk -v a="$a" -v b="$b" 'BEGIN{printf "%.1f", a / b}'
}
# Ratio of CPU time per frame (dcmtk's over pacsd's).
cpu_ratio() {
	local a b
	a=$(field cpu_s "$1")
	b=$(field cpu_s "$2")
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo ""
		return
	fi
	awk -v a="$a" -v b="$b" -v na="$(field frames "$1")" -v nb="$(field frames "$2")" \
		'BEGIN{printf "%.1f", (b / nb) / (a / na)}'
}
for label in "${labels[@]}"; do
	r=$(ratio "${res[$label,pacsd]}" "${res[$label,dcmtk]}")
	if [ "${res[$label,dcmtk]}" = "n/a" ]; then
		echo "render $label: pacsd/dcm2pnm = n/a (dcmtk 3.6.7 has no JPEG 2000 decoder)"
	elif [ -z "$r" ]; then
		echo "render $label: pacsd/dcm2pnm = error (see above) MISSED"
		missed=1
	elif awk -v r="$r" 'BEGIN{exit !(r >= 2)}'; then
		echo "render $label: pacsd/dcm2pnm = ${r}x (target >= 2x) ok"
	else
		echo "render $label: pacsd/dcm2pnm = ${r}x (target >= 2x) MISSED"
		missed=1
	fi
	c=$(cpu_ratio "${res[$label,pacsd]}" "${res[$label,dcmtk]}")
	[ -n "$c" ] && echo "render $label: pacsd/dcm2pnm by CPU time = ${c}x (information)"
	r=$(ratio "${res[$label,inproc]}" "${res[$label,pydicom]}")
	echo "render $label: pacsd/pydicom (in-process) = ${r:-error}x"
done
if [ "$missed" -ne 0 ]; then
	echo "bench/render: MISSED a target (see above)"
fi
exit 0
