# tests/integration/lib.sh - the shell harness shared by the integration
# tests: counters, free ports, starting and stopping `pacsd serve`,
# sanitizer reports, clean-up of what a test started.
#
# Sourced (never run) by tests/integration/test_*.sh:
#   . "$SRC/tests/integration/lib.sh"
# after PACSD is set. Uses bash; defines the globals pass, fail, PY (unless
# already set), PACSD_PIDS, and what start_pacsd, start_bg, make_work and
# add_summary set (below).
#
# Helpers: ok, bad, bad_out, check, add_counts, summary, finish (counters);
# run_py, add_summary (sub-checkers' counts); require_tools, require_py,
# pydicom_files (what a test needs); make_work, remove_work (scratch folder
# and EXIT trap); track_pid, kill_tracked, kill_now, start_bg, wait_port,
# free_port, start_pacsd, start_named, stop_pacsd, stop_checked
# (processes); sanitizer_report, sanitizer_check, sanitizer_clean (server
# logs).

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
# bad_out MESSAGE OUTPUT: one check failed; OUTPUT (what the command said)
# follows, its first 20 lines indented.
bad_out() {
	bad "$1"
	if [ -n "${2:-}" ]; then
		printf '%s\n' "$2" | head -n 20 | sed 's/^/     /'
	fi
}
# check MESSAGE CMD...: one check, passed when CMD exits 0. What CMD prints
# (stdout and stderr) is captured and shown, as by bad_out, on failure only.
# CMD runs in a subshell: it cannot set the script's variables.
check() {
	local msg=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$msg"
	else
		bad_out "$msg" "$out"
	fi
}
# add_counts P F: adds the counts of a sub-checker (python, node).
add_counts() {
	pass=$((pass + $1))
	fail=$((fail + $2))
}
# run_py NAME SCRIPT ARGS...: runs the python checker SCRIPT, which ends
# with a line "PY_RESULT P F", and adds its counts; prints its lines other
# than "ok ..." (failures, listings), then NAME's counts. One failure when
# no PY_RESULT line came. Output kept in $WORK/py.NAME.out (make_work first).
run_py() {
	local name=$1 out="$WORK/py.$1.out" p f
	shift
	"$PY" "$@" >"$out" 2>&1
	grep -v '^PY_RESULT' "$out" | grep -v '^ok ' || true
	read -r p f < <(awk '/^PY_RESULT/ {print $2, $3}' "$out")
	if [ -z "${p:-}" ]; then
		bad "$name did not finish"
		tail -5 "$out"
		return
	fi
	add_counts "$p" "$f"
	echo "     ($name: $p passed, $f failed)"
}
# add_summary TEXT: adds the counts of the last "N passed, M failed" line of
# TEXT (what a sub-checker printed) and sets SUB_FAIL to its M; returns 1,
# adding nothing, when TEXT has no such line. Not in a subshell.
add_summary() {
	local line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$1" | tail -n 1)
	[ -n "$line" ] || return 1
	read -r p _ f _ <<<"$line"
	add_counts "$p" "$f"
	SUB_FAIL=$f
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

# require_py NAME MODULE...: exits as one failure when $PY cannot import a
# module (pydicom, numpy, PIL...).
require_py() {
	local name=$1 mods
	shift
	mods=$(IFS=,; echo "$*")
	if ! "$PY" -c "import $mods" 2>/dev/null; then
		echo "$name: $PY cannot import $mods" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
}
# pydicom_files: prints the folder of pydicom's test files (CT_small.dcm,
# MR_small.dcm...).
pydicom_files() {
	"$PY" -c 'import os, pydicom.data as d; print(os.path.join(os.path.dirname(d.__file__), "test_files"))'
}

# ---- scratch folder --------------------------------------------------------
# make_work NAME: makes the test's scratch folder, sets WORK to it
# (${TMPDIR:-/tmp}/pacsd-NAME.XXXXXX), and sets remove_work as the EXIT
# trap. Not in a subshell: WORK and the trap must reach the script.
make_work() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/pacsd-$1.XXXXXX") || exit 1
	trap remove_work EXIT
}
# remove_work: kill_tracked, then removes WORK (kept, and named, when
# KEEP_WORK is set). A script with an EXIT trap of its own calls it there.
remove_work() {
	kill_tracked
	if [ -n "${KEEP_WORK:-}" ]; then
		echo "kept $WORK"
	else
		rm -rf "$WORK"
	fi
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

# kill_now PID...: SIGKILL to each PID still running (empty ones skipped),
# then reaps it. For EXIT traps, where a server or client left running by a
# failed check must not hold up the exit.
kill_now() {
	local p
	for p in "$@"; do
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		fi
	done
}

# start_bg LOG CMD...: runs CMD (a peer: storescp, dcmqrscp...) in the
# background, stdout and stderr to LOG (truncated); sets BG_PID (tracked).
start_bg() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	BG_PID=$!
	track_pid "$BG_PID"
}
# wait_port PORT [SECONDS]: true once something accepts TCP connections on
# 127.0.0.1:PORT, false after SECONDS (default 10). The probe connects and
# closes at once: a DICOM peer sees an association that never starts.
wait_port() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# free_port: prints a TCP port free on 127.0.0.1 (bound to 0 by the kernel,
# so tests never collide on fixed ports).
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_pacsd DATA_DIR LOG [extra serve flags...]: starts `pacsd serve` on
# two free loopback ports with DATA_DIR, stdout and stderr appended to LOG;
# sets PACSD_PID (tracked), HTTP_PORT, DICOM_PORT and BASE (the HTTP URL).
# When PACSD_STDOUT names a file, stdout is appended there instead and LOG
# holds stderr alone (for tests of what goes where).
# Waits until GET /health answers and, when PACSD_WAIT_DICOM=1, until
# echoscu gets a C-ECHO through; at most PACSD_START_S seconds (default 20).
# Returns 1, with the log's tail printed, when the server died or did not
# come up in time.
start_pacsd() {
	local data=$1 log=$2 i args
	shift 2
	HTTP_PORT=$(free_port)
	DICOM_PORT=$(free_port)
	BASE="http://127.0.0.1:$HTTP_PORT"
	args=(serve --data-dir "$data" --http "127.0.0.1:$HTTP_PORT"
		--dicom "127.0.0.1:$DICOM_PORT" "$@")
	if [ -n "${PACSD_STDOUT:-}" ]; then
		"$PACSD" "${args[@]}" >>"$PACSD_STDOUT" 2>>"$log" &
	else
		"$PACSD" "${args[@]}" >>"$log" 2>&1 &
	fi
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

# start_named NAME [extra serve flags...]: start_pacsd with data dir
# $WORK/NAME/data and log $WORK/NAME/log (make_work first).
start_named() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	start_pacsd "$WORK/$name/data" "$WORK/$name/log" "$@"
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

# stop_checked LABEL PID LOG [SECONDS]: stop_pacsd PID SECONDS (default 10)
# as one check, passed when the server exits 0 on SIGTERM in time; on
# another exit status the tail of LOG is printed.
stop_checked() {
	local label=$1 rc
	stop_pacsd "$2" "${4:-10}"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$label: clean exit on SIGTERM"
	elif [ "$rc" -eq 124 ]; then
		bad "$label: still running ${4:-10} s after SIGTERM"
	else
		bad "$label: exit status $rc after SIGTERM"
		tail -n 20 "$3"
	fi
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
# sanitizer_check LABEL LOG: one failure when LOG holds a sanitizer report
# (printed); counts nothing when it holds none.
sanitizer_check() {
	if sanitizer_report "$2"; then
		bad "$1: sanitizer report in $(basename "$2")"
	fi
}
# sanitizer_clean LABEL LOG: one check, passed when LOG holds no sanitizer
# report (sanitizer_check that counts the clean case too).
sanitizer_clean() {
	if sanitizer_report "$2"; then
		bad "$1: sanitizer report in $(basename "$2")"
	else
		ok "$1: no sanitizer report in $(basename "$2")"
	fi
}
