#!/usr/bin/env bash
# bench/dimse: pacsd's DICOM listener against Debian's Orthanc 1.10, one
# after the other, same corpus, same clients (dcmtk's storescu and findscu,
# and a raw Python C-FIND client); prints pacsd's ratio to Orthanc for
# C-STORE ingest (one storescu, then PROCS at once) and C-FIND latency.
#
# usage: bench/dimse/run.sh         (`make bench` builds, then runs this)
# env:   BENCH_INSTANCES=10000  corpus size (e.g. 1000 for a quick run)
#        BUILD=dir      where pacsd is (default build/)
#        PACSD=path     the pacsd binary (default $BUILD/pacsd)
#        CORPUS=dir     corpus cache, shared with bench/server (default
#                       $BUILD/bench-server-corpus)
#        SERVERS="pacsd orthanc"  which servers to measure
#        PROCS=4        concurrent storescu processes in the parallel phase
#        REPEAT=5       passes over the 10+10 C-FIND queries (so 50 of each
#                       kind by default), for each way of sending them
#        NAGLE_FILES=500  size of the extra single-storescu run with dcmtk's
#                       default socket options (0: skip it; first run only)
#        RUNS=2         full runs per server, alternating pacsd, Orthanc,
#                       pacsd...; the best figure of each phase is kept (the
#                       machine is shared: fsync latency and CPU vary)
#        PACSD_ARGS="--sync-each"  extra `pacsd serve` arguments
#        KEEP=1         keep the data directories and logs for a look
#
# Each server is measured on fresh data directories: one for the single
# storescu phase, one for a short run with dcmtk's default socket options,
# another for the parallel phase, whose data then serves the C-FIND phase.
#
# Nagle: dcmtk 3.6.7 leaves Nagle's algorithm on unless the environment has
# TCP_NODELAY=1. storescu then writes a C-STORE-RQ as two PDUs (command,
# data set) and the second waits for the ACK of the first, which the
# receiver delays (Linux: up to 40 ms) since no answer is due yet: ~40 ms
# per instance whatever the server does. Orthanc (dcmtk inside) has the
# same delay on its C-FIND answers. So storescu, findscu and Orthanc run
# with TCP_NODELAY=1, and one extra row shows storescu's defaults. Builds nothing; installs Orthanc through scripts/deps.sh
# bench when missing. Exits 0 even when a target is missed (this is a
# benchmark); non-zero only when the harness itself fails or a server
# cannot be started. A phase that did not store every instance is printed
# as FAILED, never as a speed. See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build}
n=${BENCH_INSTANCES:-10000}
pacsd=${PACSD:-$build/pacsd}
corpus=${CORPUS:-$build/bench-server-corpus}
servers=${SERVERS:-pacsd orthanc}
procs=${PROCS:-4}
repeat=${REPEAT:-5}
nagle=${NAGLE_FILES:-500}
runs=${RUNS:-2}
py=/usr/bin/python3
bench=bench/dimse
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"

bash "$root/scripts/deps.sh" bench
require_inputs storescu findscu /usr/sbin/Orthanc

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-dimse.XXXXXX")
# Data directories live beside the build, on the same disk as bench/server
# uses (a tmpfs /tmp would flatter the fsyncs).
data=$(mktemp -d "$build/bench-dimse-data.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$build/bench-dimse-logs"
	mkdir -p "$build/bench-dimse-logs"
	cp "$work"/*.log "$build/bench-dimse-logs/" 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then
		echo "bench/dimse: kept $work and $data"
	else
		rm -rf "$work" "$data"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }

"$py" "$root/bench/server/make_corpus.py" --n "$n" --out "$corpus" --quiet
nfiles=$(wc -l <"$corpus/files.txt")
nstudies=$(cut -f2 "$corpus/manifest.tsv" | sort -u | wc -l)
nbytes=$(awk -F"\t" "{s += \$5} END {print s}" "$corpus/manifest.tsv")
"$py" "$here/split_corpus.py" "$corpus/files.txt" "$work/split" "$procs" >"$work/groups"
xargs -a "$corpus/files.txt" cat >/dev/null # warm the page cache
# The short run with dcmtk's defaults: the first NAGLE_FILES uncompressed
# files, as a group of their own.
if [ "$nagle" -gt 0 ]; then
	mkdir -p "$work/split/nagle/all"
	# (sed, not head: an early close would fail the pipeline)
	find "$work/split/native/all" -name '*.dcm' | sort | sed -n "1,${nagle}p" |
		xargs -I{} cp -P {} "$work/split/nagle/all/"
	echo "nagle -x= $(find "$work/split/nagle/all" -name '*.dcm' | wc -l)" >"$work/groups.nagle"
fi

# C-FIND queries, the same as bench/server's QIDO ones.
for p in SMI JOH GAR MIL BRO DAV MAR WIL AND THO; do
	printf 'name\tPatientName=%s*\n' "$p"
done >"$work/queries.tsv"
for y in 2005 2007 2009 2011 2013 2015 2017 2019 2021 2023; do
	printf 'date\tStudyDate=%s0101-%s1231\n' "$y" "$((y + 1))"
done >>"$work/queries.tsv"

declare -A res # res[server.metric] = value or FAILED(...)


# start_SERVER DIR: sets server_pid, dport and aet.
start_orthanc() {
	local dir=$1 http
	http=$(free_port)
	dport=$(free_port)
	aet=ORTHANC
	mkdir -p "$dir/storage" "$dir/index"
	# Orthanc's defaults otherwise: SQLite index, files uncompressed and
	# fsynced (SyncStorageArea), C-FIND answers read from the index or the
	# files as its StorageAccessOnFind default decides.
	cat >"$dir/orthanc.json" <<-EOF
	{
	  "Name": "bench",
	  "StorageDirectory": "$dir/storage",
	  "IndexDirectory": "$dir/index",
	  "HttpPort": $http,
	  "RemoteAccessAllowed": false,
	  "AuthenticationEnabled": false,
	  "DicomServerEnabled": true,
	  "DicomAet": "$aet",
	  "DicomPort": $dport,
	  "DicomCheckCalledAet": false,
	  "DicomAlwaysAllowStore": true,
	  "DicomAlwaysAllowFind": true,
	  "LimitFindResults": 0,
	  "LimitFindInstances": 0
	}
	EOF
	env -i PATH=/usr/bin:/bin HOME="$dir" TCP_NODELAY=1 /usr/sbin/Orthanc "$dir/orthanc.json" \
		>>"$work/orthanc.log" 2>&1 &
	server_pid=$!
	wait_ready orthanc "http://127.0.0.1:$http/system" "$work/orthanc.log" "$dport"
}

start_pacsd() {
	local dir=$1 http
	http=$(free_port)
	dport=$(free_port)
	aet=PACSD
	# shellcheck disable=SC2086 # PACSD_ARGS is split into arguments
	env -i PATH=/usr/bin:/bin HOME="$dir" "$pacsd" serve --data-dir "$dir" ${PACSD_ARGS:-} \
		--http "127.0.0.1:$http" --dicom "127.0.0.1:$dport" --aet "$aet" \
		>>"$work/pacsd.log" 2>&1 &
	server_pid=$!
	wait_ready pacsd "http://127.0.0.1:$http/dicom-web/studies?limit=1" "$work/pacsd.log" "$dport"
}

# The server's CPU time so far (user + system, clock ticks).
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$server_pid/stat"
}


# store SERVER KEY PARTS [GROUPS NODELAY]: every group in turn (lines of
# GROUPS: "<group> <flag> <files>"), PARTS storescu at once per group
# (PARTS=1: the "all" directory); the time of the whole; then the count
# the server reports by C-FIND.
store() {
	local s=$1 key=$2 parts=$3 groups=${4:-$work/groups} nodelay=${5:-1}
	local g flag cnt t0 t1 k pids got want=0 studies
	local errs=$work/$s.$key.err cpu0 cpu1
	: >"$errs"
	cpu0=$(cpu_ticks)
	t0=$(now)
	while read -r g flag cnt; do
		want=$((want + cnt))
		pids=()
		if [ "$parts" = 1 ]; then
			TCP_NODELAY=$nodelay storescu -aec "$aet" -nh +sd "$flag" \
				127.0.0.1 "$dport" "$work/split/$g/all" >>"$errs" 2>&1 &
			pids+=($!)
		else
			for k in $(seq 0 $((parts - 1))); do
				TCP_NODELAY=$nodelay storescu -aec "$aet" -nh +sd "$flag" \
					127.0.0.1 "$dport" "$work/split/$g/p$k" >>"$errs" 2>&1 &
				pids+=($!)
			done
		fi
		for k in "${pids[@]}"; do
			wait "$k" || echo "storescu exited with $?" >>"$errs"
		done
	done <"$groups"
	t1=$(now)
	cpu1=$(cpu_ticks)
	got=$("$py" "$here/find_bench.py" "$dport" "$aet" --count)
	res[$s.$key.stored]=$got
	local rate
	rate=$(awk -v n="$want" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", n / (b - a)}')
	studies=${got% *}
	if [ "${got#* }" != "$want" ] ||
		{ [ "$key" != nagle ] && [ "$studies" != "$nstudies" ]; }; then
		echo "WARNING: $s $key: the server holds '$got' (studies instances)," \
			"expected $want instances in $nstudies studies; storescu said:" >&2
		sort "$errs" | uniq -c | sort -rn | head -5 >&2
		res[$s.$key.failed]="FAILED(${got// /+})"
	elif awk -v a="$rate" -v b="${res[$s.$key]:-0}" 'BEGIN{ exit !(a > b) }'; then
		res[$s.$key]=$rate # the best run, and the server CPU it took
		res[$s.$key.cpu]=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$want" -v hz="$(getconf CLK_TCK)" \
			'BEGIN{printf "%.2f", (b - a) * 1000 / hz / n}')
	fi
	echo "$s: run $run: $key: $want instances in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}') s ($rate/s)" >&2
}

measure() {
	local s=$1
	echo "$s: C-STORE, one storescu per transfer syntax" >&2
	"start_$s" "$data/$s-$run-1"
	store "$s" store1 1
	res[$s.disk]=$(du -sb "$data/$s-$run-1" | cut -f1)
	# Data directories stay until the bench ends: see "Deletions" in
	# bench/README.md.
	stop_server
	if [ "$nagle" -gt 0 ] && [ "$run" = 1 ]; then
		echo "$s: C-STORE, one storescu with dcmtk's default socket options" >&2
		"start_$s" "$data/$s-$run-nagle"
		store "$s" nagle 1 "$work/groups.nagle" 0
		stop_server
	fi
	echo "$s: C-STORE, $procs storescu at once" >&2
	"start_$s" "$data/$s-$run-$procs"
	store "$s" storeP "$procs"
	echo "$s: C-FIND" >&2
	TCP_NODELAY=1 "$py" "$here/find_bench.py" "$dport" "$aet" "$work/queries.tsv" "$repeat" \
		>"$work/$s.find" 2>"$work/$s.find.err" || true
	if ! grep -q '^errors=0$' "$work/$s.find"; then
		echo "WARNING: $s C-FIND: $(tail -1 "$work/$s.find")" >&2
		tail -5 "$work/$s.find.err" >&2
		res[$s.find.failed]=1
	fi
	cat "$work/$s.find" >>"$work/$s.find.all"
	# The best run per query kind and way: the lowest p50.
	while read -r q way rest; do
		[ -n "$rest" ] || continue
		if [ -z "${res[$s.$q.$way]:-}" ] ||
			awk -v a="$(field p50_ms "$rest")" -v b="$(field p50_ms "${res[$s.$q.$way]}")" \
				'BEGIN{ exit !(a < b) }'; then
			res[$s.$q.$way]=$rest
		fi
	done <"$work/$s.find"
	if kill -0 "$server_pid" 2>/dev/null; then
		local rss
		rss=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$server_pid/status")
		# The peak over all runs.
		if awk -v a="$rss" -v b="${res[$s.rss]:-0}" 'BEGIN{ exit !(a > b) }'; then
			res[$s.rss]=$rss
		fi
	fi
	stop_server
}

echo "corpus: $nfiles instances in $nstudies studies, $(awk -v b="$nbytes" 'BEGIN{printf "%.1f", b/1e6}') MB ($corpus)"
echo "groups (storescu flag, files): $(awk '{printf "%s %s %s; ", $1, $2, $3}' "$work/groups")"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "runs: $runs per server, alternating; best of each phase kept"
for run in $(seq "$runs"); do
	for s in $servers; do
		measure "$s"
	done
done

# ---- report ------------------------------------------------------------------
value() {
	local s=$1 m=$2
	case $m in
	nagle)
		if [ "$nagle" -gt 0 ]; then
			echo "${res[$s.$m.failed]:-${res[$s.$m]:-FAILED(none)}}"
		else
			echo skipped
		fi
		;;
	store1 | storeP)
		echo "${res[$s.$m.failed]:-${res[$s.$m]:-FAILED(none)}}"
		;;
	*.*.p50 | *.*.p99)
		local q=${m%%.*} rest=${m#*.}
		local way=${rest%%.*} p=${rest##*.}
		if [ -n "${res[$s.find.failed]:-}" ]; then
			echo FAILED
		elif [ -z "${res[$s.$q.$way]:-}" ]; then
			echo "FAILED(none)"
		else
			field "${p}_ms" "${res[$s.$q.$way]}"
		fi
		;;
	rss) echo "${res[$s.rss]:-n/a}" ;;
	cpu1) echo "${res[$s.store1.cpu]:-n/a}" ;;
	cpuP) echo "${res[$s.storeP.cpu]:-n/a}" ;;
	disk) awk -v b="${res[$s.disk]:-0}" 'BEGIN{printf "%.1f", b / 1e6}' ;;
	esac
}
rows=(
	"store1|C-STORE, 1 storescu (inst/s)|>=|3"
	"storeP|C-STORE, $procs storescu at once (inst/s)|>=|3"
	"nagle|C-STORE, 1 storescu, dcmtk defaults (inst/s)|info|"
	"cpu1|server CPU per instance, 1 storescu (ms)|info|"
	"cpuP|server CPU per instance, $procs storescu (ms)|info|"
	"name.raw.p50|C-FIND PatientName=XYZ* p50, raw (ms)|<=|0.2"
	"name.raw.p99|C-FIND PatientName=XYZ* p99, raw (ms)|info|"
	"date.raw.p50|C-FIND StudyDate=range p50, raw (ms)|<=|0.2"
	"date.raw.p99|C-FIND StudyDate=range p99, raw (ms)|info|"
	"name.findscu.p50|C-FIND PatientName=XYZ* p50, findscu (ms)|info|"
	"date.findscu.p50|C-FIND StudyDate=range p50, findscu (ms)|info|"
	"rss|peak RSS, VmHWM after C-FIND (MB)|info|"
	"disk|data directory after ingest (MB)|info|"
)
print_table 44 12 8
echo
for s in $servers; do
	echo "$s: stored (studies instances) single=${res[$s.store1.stored]:-?} parallel=${res[$s.storeP.stored]:-?} defaults=${res[$s.nagle.stored]:-?};" \
		"C-FIND matches per query (raw/findscu): name $(field matches "${res[$s.name.raw]:-}")/$(field matches "${res[$s.name.findscu]:-}")" \
		"date $(field matches "${res[$s.date.raw]:-}")/$(field matches "${res[$s.date.findscu]:-}")"
done
echo "durability: both sync each stored file before answering (pacsd: blob, name and index row, one syncfs per group, src/ingest/sync.c; args '${PACSD_ARGS:-}';" \
	"Orthanc: SyncStorageArea, its default); findscu rows include a process start per query;" \
	"TCP_NODELAY=1 for storescu, findscu and Orthanc except in the 'dcmtk defaults' row" \
	"($nagle uncompressed files, first run only)"
for s in $servers; do
	echo "$s raw C-FIND lines (all runs):"
	sed 's/^/  /' "$work/$s.find.all"
done
