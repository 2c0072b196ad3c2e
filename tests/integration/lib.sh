# tests/integration/lib.sh - the shell harness shared by the integration
# tests: counters, free ports, starting and stopping `pacsd serve`,
# sanitizer reports, clean-up of what a test started.
#
# Sourced (never run) by tests/integration/test_*.sh:
#   . "$SRC/tests/integration/lib.sh"
# after PACSD is set. Uses bash; defines the globals pass, fail, PY (unless
# already set), PACSD_PIDS, and what start_pacsd sets (below).

PY=${PY:-/usr/bin/python3} # Debian's python, which has pydicom

# ---- counters --------------------------------------------------------------
pass=0
fail=0
# ok MESSAGE...: one check passed.
ok() {
	pass=$((pass + 1))
	echo "ok   $*"
}
# bad MESSAGE...: one check failed.
bad() {
	fail=$((fail + 1))
	echo "FAIL $*"
}
# add_counts P F: adds the counts of a sub-checker (python, node).
add_counts() {
	pass=$((pass + $1))
	fail=$((fail + $2))
}
# summary: prints the "N passed, M failed" line ctest's log ends with;
# returns non-zero when something failed.
summary() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
# finish: summary, then exit with its status.
finish() {
	summary
	exit
}
# require_tools NAME TOOL...: exits as one failure when a tool is missing.
require_tools() {
	local name=$1 tool
	shift
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			echo "$name: $tool is missing" >&2
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
}

# ---- processes -------------------------------------------------------------
PACSD_PIDS=()
# track_pid PID: killed (SIGTERM) by kill_tracked at exit.
track_pid() {
	PACSD_PIDS+=("$1")
}
# kill_tracked: SIGTERM to every tracked process still running, then reaps
# them. For the scripts' EXIT traps.
kill_tracked() {
	local p
	for p in "${PACSD_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PACSD_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
}

# free_port: prints a TCP port free on 127.0.0.1 (bound to 0 by the kernel,
# so tests never collide on fixed ports).
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_pacsd DATA_DIR LOG [extra serve flags...]: starts `pacsd serve` on
# two free loopback ports with DATA_DIR, stdout and stderr appended to LOG;
# sets PACSD_PID (tracked), HTTP_PORT, DICOM_PORT and BASE (the HTTP URL).
# Waits until GET /health answers and, when PACSD_WAIT_DICOM=1, until
# echoscu gets a C-ECHO through; at most PACSD_START_S seconds (default 20).
# Returns 1, with the log's tail printed, when the server died or did not
# come up in time.
start_pacsd() {
	local data=$1 log=$2 i
	shift 2
	HTTP_PORT=$(free_port)
	DICOM_PORT=$(free_port)
	BASE="http://127.0.0.1:$HTTP_PORT"
	"$PACSD" serve --data-dir "$data" --http "127.0.0.1:$HTTP_PORT" \
		--dicom "127.0.0.1:$DICOM_PORT" "$@" >>"$log" 2>&1 &
	PACSD_PID=$!
	track_pid "$PACSD_PID"
	for ((i = 0; i < ${PACSD_START_S:-20} * 10; i++)); do
		if curl -fs -o /dev/null "$BASE/health" &&
			{ [ "${PACSD_WAIT_DICOM:-0}" != 1 ] ||
				echoscu -to 5 127.0.0.1 "$DICOM_PORT" 2>/dev/null; }; then
			return 0
		fi
		kill -0 "$PACSD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "--- server log ($log)"
	tail -n 30 "$log"
	return 1
}

# stop_pacsd PID [SECONDS]: SIGTERM, then waits up to SECONDS (default 10)
# for the exit; returns the server's exit status, or 124 (after SIGKILL)
# when it was still running.
stop_pacsd() {
	local p=$1 i
	kill -TERM "$p" 2>/dev/null
	for ((i = 0; i < ${2:-10} * 10; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$p" 2>/dev/null; then
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		return 124
	fi
	wait "$p"
}

# sanitizer_report LOG: true (and prints it) when LOG holds an ASan, LSan or
# UBSan report.
sanitizer_report() {
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$1"; then
		grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error' "$1" | head -n 40
		return 0
	fi
	return 1
}
