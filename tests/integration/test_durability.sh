#!/usr/bin/env bash
# Durability: kill -9 `pacsd serve` under upload load, restart, check nothing
# acknowledged was lost and nothing half-written shows.
#
# Three cycles on one data directory: start the server, run
# durability/load.py (threads streaming distinct instances to POST
# /upload_file, one of them 20-50 MB instances in slow chunks so that the
# kill lands mid-upload), kill -9 the server after a random 1-4 s, wait for
# the client to notice, restart on the same data directory, and run
# durability/verify.py over everything recorded so far: acknowledged
# uploads byte-identical through REST and WADO-RS, found by QIDO-RS, on
# disk; uploads cut by the kill absent or complete; no temp file left; blob
# files = indexed instances (the start-up sweep of src/ingest/ingest.h).
# The last restart is then stopped with SIGTERM and must exit 0.
#
# Env: PACSD = the pacsd binary; PACSD_SOURCE_DIR = the repository.
# Prints "N passed, M failed" last; exits non-zero on any failure.
set -u

PACSD=${PACSD:?set PACSD to the pacsd binary}
SRC=${PACSD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE="$SRC/tests/integration/durability"
CYCLES=3
. "$SRC/tests/integration/lib.sh"

require_tools test_durability "$PY" curl
require_py test_durability pydicom

make_work durability
data="$WORK/data"
server_pid=
load_pid=
cleanup() {
	kill_now "$load_pid" "$server_pid"
	remove_work
}
trap cleanup EXIT

# Starts the server on fresh ports and waits for /health; sets server_pid
# and base. Returns 1 when it does not come up within 30 s.
start_server() {
	PACSD_START_S=30 start_pacsd "$data" "$WORK/server.$1.log" || return 1
	server_pid=$PACSD_PID
	base=$BASE
}

# Runs verify.py and adds its counts to ours.
verify() {
	local label=$1 out
	out=$("$PY" "$HERE/verify.py" "$base" "$data" "$WORK" "$label" 2>&1)
	echo "$out"
	add_summary "$out" || bad "$label: verify.py ended without a summary"
}

if ! start_server 0; then
	bad "server: pacsd serve did not answer /health within 30 s"
	finish
fi
ok "server up on $base"
# Which durability mode runs (ctest runs this test in both).
if [ "${PACSD_SYNC_EACH:-false}" = true ]; then
	want="durability: fsync of each blob"
else
	want="durability: one syncfs per group"
fi
if grep -q "$want" "$WORK/server.0.log"; then
	ok "server runs with \"$want\""
else
	bad "server log does not say \"$want\""
fi

for cycle in $(seq 1 "$CYCLES"); do
	# The load runs until the server is gone (or 30 s, a safety net).
	"$PY" "$HERE/load.py" "$base" "$WORK" "$cycle" 30 >"$WORK/load.$cycle.log" 2>&1 &
	load_pid=$!
	for _ in $(seq 1 100); do
		[ -e "$WORK/ready.$cycle" ] && break
		kill -0 "$load_pid" 2>/dev/null || break
		sleep 0.1
	done
	delay_ms=$((1000 + RANDOM % 3001))
	sleep "$((delay_ms / 1000)).$(printf '%03d' $((delay_ms % 1000)))"
	if ! kill -0 "$server_pid" 2>/dev/null; then
		wait "$server_pid"
		bad "cycle $cycle: the server died by itself under load (exit status $?)"
		tail -n 30 "$WORK/server.$((cycle - 1)).log"
		server_pid=
		finish
	fi
	kill_now "$server_pid"
	server_pid=
	sanitizer_check server "$WORK/server.$((cycle - 1)).log"
	# The client notices the dead server at its next connect.
	for _ in $(seq 1 300); do
		kill -0 "$load_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$load_pid" 2>/dev/null; then
		kill -KILL "$load_pid"
		bad "cycle $cycle: load.py still running 30 s after the kill"
	fi
	wait "$load_pid"
	load_rc=$?
	load_pid=
	cat "$WORK/load.$cycle.log"
	if [ "$load_rc" -ne 0 ]; then
		bad "cycle $cycle: load.py exited $load_rc"
	fi
	echo "cycle $cycle: killed after ${delay_ms} ms"

	if ! start_server "$cycle"; then
		bad "cycle $cycle: pacsd serve did not restart on the killed data directory"
		finish
	fi
	ok "cycle $cycle: restarted on the same data directory"
	verify "cycle $cycle"
done

# At least one kill must have cut an upload, or the test proved less than
# it claims (the large uploads take seconds each, so this should hold).
cut=$(sed -nE 's/.* ([0-9]+) interrupted.*/\1/p' "$WORK"/load.*.log | awk '{ s += $1 } END { print s + 0 }')
cut_large=$(sed -nE 's/.* interrupted \(([0-9]+) large\).*/\1/p' "$WORK"/load.*.log | awk '{ s += $1 } END { print s + 0 }')
if [ "${cut:-0}" -gt 0 ]; then
	ok "$cut uploads were in flight at a kill ($cut_large large)"
else
	bad "no upload was in flight at any kill"
fi

# Clean stop of the last server.
stop_checked server "$server_pid" "$WORK/server.$CYCLES.log" 15
server_pid=
sanitizer_check server "$WORK/server.$CYCLES.log"
finish
