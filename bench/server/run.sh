#!/usr/bin/env bash
# bench/server: pacsd against Debian's Orthanc (1.10 + DICOMweb plugin 1.7),
# one after the other, same corpus, same client, same URLs; prints pacsd's
# ratio to Orthanc for STOW-RS ingest, QIDO-RS latency, WADO-RS retrieve,
# rendered PNG frames and peak RSS.
#
# usage: bench/server/run.sh            (`make bench` builds, then runs this)
# env:   BENCH_INSTANCES=10000  corpus size (e.g. 1000 for a quick run)
#        BUILD=dir      where pacsd and load_bench are (default build/)
#        PACSD=path     the pacsd binary (default $BUILD/pacsd)
#        CORPUS=dir     corpus cache (default $BUILD/bench-server-corpus)
#        SERVERS="pacsd orthanc"  which servers to measure (one of them
#                       alone gives its figures without ratios)
#        CLIENTS=4      concurrent clients for the WADO and render phases
#        RUNS=2         full runs per server, alternating; the best figure of
#                       each phase is kept (fsync latency on a shared disk
#                       varies a lot from one minute to the next)
#        ORTHANC_SYNC=true      Orthanc's SyncStorageArea (its default)
#        PACSD_ARGS="--sync-each"  extra `pacsd serve` arguments
#        KEEP=1         keep the data directories and logs for a look
#
# Builds nothing (run `make build` first); installs Orthanc through
# scripts/deps.sh bench when missing. Exits 0 even when a target is missed
# (this is a benchmark); non-zero only when the harness itself fails or a
# server cannot be started. A phase with errors is printed as FAILED, never
# as a speed. See bench/README.md for what is measured and why.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build}
n=${BENCH_INSTANCES:-10000}
pacsd=${PACSD:-$build/pacsd}
load=$build/load_bench
corpus=${CORPUS:-$build/bench-server-corpus}
servers=${SERVERS:-pacsd orthanc}
clients=${CLIENTS:-4}
runs=${RUNS:-2}
orthanc_sync=${ORTHANC_SYNC:-true}
py=/usr/bin/python3
bench=bench/server
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"
plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so

bash "$root/scripts/deps.sh" bench
require_inputs "$load" /usr/sbin/Orthanc "$plugin"

# Both servers keep their data under one work directory, so they write to
# the same filesystem.
work=$(mktemp -d "$build/bench-server.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	# The servers' logs and the driver's error reports outlive the run.
	rm -rf "$build/bench-server-logs"
	mkdir -p "$build/bench-server-logs"
	cp "$work"/*.log "$work"/*.err "$work"/*.lines "$build/bench-server-logs/" 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then
		echo "bench/server: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


"$py" "$here/make_corpus.py" --n "$n" --out "$corpus" --quiet
manifest=$corpus/manifest.tsv
nfiles=$(wc -l <"$corpus/files.txt")
nbytes=$(awk -F"\t" "{s += \$5} END {print s}" "$manifest")
nstudies=$(cut -f2 "$manifest" | sort -u | wc -l)
xargs -a "$corpus/files.txt" cat >/dev/null   # warm the page cache

# ---- request lists, identical for both servers --------------------------
# Ingest: the first fifth with one client, the rest with eight; the first
# 20 files of each phase are a warm-up (stored, not timed).
n1=$((nfiles / 5))
[ "$n1" -ge 40 ] || n1=$((nfiles < 40 ? nfiles / 2 : 40))
head -n "$n1" "$corpus/files.txt" >"$work/stow1.txt"
tail -n +"$((n1 + 1))" "$corpus/files.txt" >"$work/stow8.txt"

# Deterministic samples (shuffle SEED COUNT), so both servers get the same
# requests in the same order.
shuffle() { shuf -n "$2" --random-source=<(yes "$1" 2>/dev/null || true); }
awk -F'\t' '{print "/dicom-web/studies/" $2 "/series/" $3 "/instances/" $4}' \
	"$manifest" | shuffle wado 3000 >"$work/wado.txt"
awk -F'\t' '{print "/dicom-web/studies/" $2 "/series/" $3 "/instances/" $4 "/rendered"}' \
	"$manifest" | shuffle render 600 >"$work/render.txt"
for p in SMI JOH GAR MIL BRO DAV MAR WIL AND THO; do
	echo "/dicom-web/studies?PatientName=$p*"
done >"$work/qido-name.txt"
for y in 2005 2007 2009 2011 2013 2015 2017 2019 2021 2023; do
	echo "/dicom-web/studies?StudyDate=${y}0101-$((y + 1))1231"
done >"$work/qido-date.txt"

declare -A res   # res[server.metric] = value, or FAILED(...)

# better KEY NEW OLD: true when driver line NEW beats OLD for phase KEY
# (higher rate for ingest and rendering, MB/s for WADO, lower p50 for QIDO).
better() {
	local f=req_per_s cmp=">"
	case $1 in
	wado) f=mb_per_s ;;
	qname|qdate) f=p50_us cmp="<" ;;
	esac
	[ -z "$3" ] && return 0
	awk -v a="$(field $f "$2")" -v b="$(field $f "$3")" "BEGIN{ exit !(a $cmp b) }"
}

# cpu_ms PID: user + system CPU time the process has used so far, in ms.
clk_tck=$(getconf CLK_TCK)
cpu_ms() {
	awk -v t="$clk_tck" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / t) }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# run_load SERVER KEY ARGS...: runs load_bench against the server's port and
# keeps the best output line over the runs in res[SERVER.KEY.line]. Errors
# in any run mark the phase as failed.
run_load() {
	local s=$1 key=$2 line rc=0 c0 c1
	shift 2
	c0=$(cpu_ms "$server_pid")
	line=$("$load" "$@" 2>"$work/$s.$key.err") || rc=$?
	c1=$(cpu_ms "$server_pid")
	[ -z "$line" ] || line="$line server_cpu_ms=$((c1 - c0))"
	echo "  run $run $key: $line" >>"$work/$s.lines"
	if [ "$rc" -eq 1 ] || [ -z "$line" ]; then
		echo "bench/server: load_bench failed on $s $key:" >&2
		cat "$work/$s.$key.err" >&2
		exit 1
	fi
	if [ "$rc" -ne 0 ]; then
		res[$s.$key.failed]="$(field errors "$line")/$(field requests "$line")"
		cp "$work/$s.$key.err" "$work/$s.$key.run$run.err"
		echo "WARNING: $s $key: $(field errors "$line") of $(field requests "$line") requests failed:" >&2
		sed 's/^/  /' "$work/$s.$key.err" | head -5 >&2
	fi
	if better "$key" "$line" "${res[$s.$key.line]:-}"; then
		res[$s.$key.line]=$line
	fi
}


start_orthanc() {
	# A fresh directory per run, deleted only when the bench ends: see
	# "Deletions" in bench/README.md.
	local dir=$work/orthanc-$run port=$1
	mkdir -p "$dir/storage" "$dir/index"
	# Orthanc's defaults otherwise (SQLite index in WAL mode with
	# synchronous=NORMAL, files stored uncompressed, 50 HTTP threads);
	# no DICOM listener, since only DICOMweb is measured.
	cat >"$dir/orthanc.json" <<-EOF
	{
	  "Name": "bench",
	  "StorageDirectory": "$dir/storage",
	  "IndexDirectory": "$dir/index",
	  "HttpPort": $port,
	  "DicomServerEnabled": false,
	  "DicomPort": $(free_port),
	  "RemoteAccessAllowed": false,
	  "AuthenticationEnabled": false,
	  "SyncStorageArea": $orthanc_sync,
	  "Plugins": ["$plugin"],
	  "DicomWeb": {"Enable": true, "Root": "/dicom-web/"}
	}
	EOF
	env -i PATH=/usr/bin:/bin HOME="$dir" /usr/sbin/Orthanc "$dir/orthanc.json" \
		>>"$work/orthanc.log" 2>&1 &
	server_pid=$!
	wait_ready orthanc "http://127.0.0.1:$port/system" "$work/orthanc.log"
	datadir=$dir
}

start_pacsd() {
	local dir=$work/pacsd-$run port=$1
	mkdir -p "$dir"
	# shellcheck disable=SC2086 # PACSD_ARGS is split into arguments
	env -i PATH=/usr/bin:/bin HOME="$dir" "$pacsd" serve --data-dir "$dir" ${PACSD_ARGS:-} \
		--http "127.0.0.1:$port" --dicom "127.0.0.1:$(free_port)" \
		>>"$work/pacsd.log" 2>&1 &
	server_pid=$!
	wait_ready pacsd "http://127.0.0.1:$port/dicom-web/studies?limit=1" "$work/pacsd.log"
	datadir=$dir
}


# count_stored PORT: studies and instances the server reports, summing
# NumberOfStudyRelatedInstances (0020,1208) over a QIDO of every study.
count_stored() {
	"$py" - "$1" <<-'EOF'
	import json, sys, urllib.request
	req = urllib.request.Request(
	    f"http://127.0.0.1:{sys.argv[1]}/dicom-web/studies?includefield=00201208",
	    headers={"Accept": "application/dicom+json"})
	try:
	    with urllib.request.urlopen(req, timeout=120) as r:
	        body = r.read()
	    studies = json.loads(body) if body.strip() else []
	    n = sum(int(s.get("00201208", {}).get("Value", [0])[0]) for s in studies)
	    print(len(studies), n)
	except Exception as e:
	    print("error", str(e).replace(" ", "_"))
	EOF
}

measure() {
	local s=$1 port got rss
	port=$(free_port)
	echo "$s: run $run: starting" >&2
	"start_$s" "$port"
	local pid=$server_pid
	echo "$s: ingest ($nfiles instances)" >&2
	run_load "$s" stow1 stow --port "$port" --clients 1 --warmup 20 "$work/stow1.txt"
	run_load "$s" stow8 stow --port "$port" --clients 8 --warmup 20 "$work/stow8.txt"
	got=$(count_stored "$port")
	res[$s.stored]=$got
	if [ "$got" != "$nstudies $nfiles" ]; then
		echo "WARNING: $s holds '$got' (studies instances), expected '$nstudies $nfiles'" >&2
		res[$s.stow1.failed]=${res[$s.stow1.failed]:-count}
		res[$s.stow8.failed]=${res[$s.stow8.failed]:-count}
	fi
	res[$s.disk]=$(du -sb "$datadir" | cut -f1)
	echo "$s: QIDO-RS, WADO-RS, rendered" >&2
	run_load "$s" qname get --port "$port" --clients 1 --repeat 30 --warmup 10 \
		--expect json --accept application/dicom+json "$work/qido-name.txt"
	run_load "$s" qdate get --port "$port" --clients 1 --repeat 30 --warmup 10 \
		--expect json --accept application/dicom+json "$work/qido-date.txt"
	run_load "$s" wado get --port "$port" --clients "$clients" --warmup 50 \
		--expect dicom \
		--accept 'multipart/related; type="application/dicom"; transfer-syntax=*' \
		"$work/wado.txt"
	run_load "$s" render get --port "$port" --clients "$clients" --warmup 20 \
		--expect png --accept image/png "$work/render.txt"
	if kill -0 "$pid" 2>/dev/null; then
		rss=$(awk '/^VmHWM:/ {print $2 * 1024}' "/proc/$pid/status")
		# The peak over all runs.
		[ "${res[$s.rss]:-0}" -ge "$rss" ] || res[$s.rss]=$rss
	else
		echo "WARNING: $s (pid $pid) died during the run; its log ends with:" >&2
		tail -5 "$work/$s.log" >&2
		res[$s.rss.failed]=died
	fi
	stop_server
}

echo "runs: $runs per server, alternating; best of each phase kept; peak RSS is the highest"
echo "corpus: $nfiles instances in $nstudies studies, $(awk -v b="$nbytes" 'BEGIN{printf "%.1f", b/1e6}') MB ($corpus)"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
# Runs alternate between the servers (pacsd, orthanc, pacsd, ...), so that
# a busy moment on the shared machine does not hit one server only.
for run in $(seq "$runs"); do
	for s in $servers; do
		measure "$s"
	done
done

# ---- report ---------------------------------------------------------------
# value SERVER METRIC: the figure for the table, or FAILED.
value() {
	local s=$1 m=$2 key line
	case $m in
	stow1|stow8) key=$m ;;
	qname50|qname99) key=qname ;;
	qdate50|qdate99) key=qdate ;;
	cpu8) key=stow8 ;;
	*) key=$m ;;
	esac
	if [ -n "${res[$s.$key.failed]:-}" ]; then
		echo "FAILED(${res[$s.$key.failed]})"
		return
	fi
	if [ -z "${res[$s.$key.line]:-}${res[$s.$key]:-}" ]; then
		echo "FAILED(none)"
		return
	fi
	line=${res[$s.$key.line]:-}
	case $m in
	stow1|stow8|render) awk -v v="$(field req_per_s "$line")" 'BEGIN{printf "%.1f", v}' ;;
	wado) awk -v v="$(field mb_per_s "$line")" 'BEGIN{printf "%.1f", v}' ;;
	qname50|qdate50) awk -v u="$(field p50_us "$line")" 'BEGIN{printf "%.2f", u / 1000}' ;;
	qname99|qdate99) awk -v u="$(field p99_us "$line")" 'BEGIN{printf "%.2f", u / 1000}' ;;
	cpu8) awk -v c="$(field server_cpu_ms "$line")" -v n="$(field requests "$line")" 'BEGIN{printf "%.2f", c / n}' ;;
	rss) awk -v b="${res[$s.rss]}" 'BEGIN{printf "%.1f", b / 1e6}' ;;
	disk) awk -v b="${res[$s.disk]}" 'BEGIN{printf "%.1f", b / 1e6}' ;;
	esac
}

rows=(
	"stow1|STOW-RS ingest, 1 client (inst/s)|>=|3"
	"stow8|STOW-RS ingest, 8 clients (inst/s)|>=|3"
	"cpu8|server CPU per instance, 8 clients (ms)|info|"
	"qname50|QIDO PatientName=XYZ* p50 (ms)|<=|0.2"
	"qname99|QIDO PatientName=XYZ* p99 (ms)|info|"
	"qdate50|QIDO StudyDate=range p50 (ms)|<=|0.2"
	"qdate99|QIDO StudyDate=range p99 (ms)|info|"
	"wado|WADO-RS instance retrieve (MB/s)|>=|2"
	"render|rendered PNG, $clients clients (frames/s)|>=|2"
	"rss|peak RSS, VmHWM (MB)|<=|0.5"
	"disk|data directory after ingest (MB)|info|"
)
print_table 42 16 7
echo
echo "QIDO matches per query (studies): name $(for s in $servers; do printf '%s=%s ' "$s" \
	"$(awk -v i="$(field items "${res[$s.qname.line]}")" -v r="$(field requests "${res[$s.qname.line]}")" 'BEGIN{printf "%.1f", i / r}')"; done)" \
	"date $(for s in $servers; do printf '%s=%s ' "$s" \
	"$(awk -v i="$(field items "${res[$s.qdate.line]}")" -v r="$(field requests "${res[$s.qdate.line]}")" 'BEGIN{printf "%.1f", i / r}')"; done)"
echo "stored (studies instances): $(for s in $servers; do printf '%s=%s ' "$s" "${res[$s.stored]// /+}"; done)"
if [ "$orthanc_sync" = true ]; then
	osync="SyncStorageArea=true (one fdatasync per stored file)"
else
	osync="SyncStorageArea=false (stored files never synced)"
fi
echo "durability: Orthanc $osync, SQLite index WAL synchronous=NORMAL (commits not synced);" \
	"pacsd: blob, its name and index row on stable storage before the answer (one syncfs per group of instances, or per-file fsyncs with --sync-each; src/ingest/sync.c); pacsd args: '${PACSD_ARGS:-}'"
for s in $servers; do
	echo "$s raw:"
	cat "$work/$s.lines"
done
