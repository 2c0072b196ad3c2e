#!/usr/bin/env bash
# DICOMweb STOW-RS, QIDO-RS and DELETE against the real server.
#
# Starts `pacsd serve` on free loopback ports with a fresh data dir and lets
# tests/integration/dicomweb/check_dicomweb.py drive it with synthetic
# studies and pydicom's test corpus (results compared with what pydicom
# reads); then a second server with --qido-max-results 2 --max-body 1M for
# Warning 299 and 413.
# Also checks that the server survives it all and stops cleanly.
# Env: PACSD = the pacsd binary; PACSD_SOURCE_DIR = the repository.
# Prints "N passed, M failed" last; exits non-zero on any failure.
set -u

PACSD=${PACSD:?set PACSD to the pacsd binary}
SRC=${PACSD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE="$SRC/tests/integration/dicomweb"
. "$SRC/tests/integration/lib.sh"
require_tools test_dicomweb "$PY" curl

work=$(mktemp -d)
cleanup() {
	kill_tracked
	rm -rf "$work"
}
trap cleanup EXIT

# start NAME [extra flags...]: sets $base and $pid.
start() {
	local name=$1
	shift
	mkdir -p "$work/$name"
	start_pacsd "$work/$name/data" "$work/$name/log" "$@" || return 1
	pid=$PACSD_PID
	base=$BASE
}

# run_py ARGS...: runs the checker and adds its counts.
run_py() {
	local out="$work/py.out" p f
	"$PY" "$HERE/check_dicomweb.py" "$@" >"$out" 2>&1
	grep -v '^PY_RESULT' "$out" | grep -v '^ok ' || true
	read -r p f < <(awk '/^PY_RESULT/ {print $2, $3}' "$out")
	if [ -z "${p:-}" ]; then
		bad "check_dicomweb.py $1 did not finish"
		tail -5 "$out"
		return
	fi
	add_counts "$p" "$f"
}

# stop NAME PID: SIGTERM, must exit 0 within 10 s.
stop() {
	local name=$1 rc
	stop_pacsd "$2"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$name server stopped cleanly"
	elif [ "$rc" -eq 124 ]; then
		bad "$name server did not stop on SIGTERM"
	else
		bad "$name server exited with status $rc"
		tail -20 "$work/$name/log"
	fi
}

# sanitizer_clean NAME: no ASan/UBSan/LSan report in the server's log.
sanitizer_clean() {
	if sanitizer_report "$work/$1/log"; then
		bad "sanitizer report in the $1 server log"
	else
		ok "no sanitizer report ($1)"
	fi
}

if start main; then
	ok "server started"
	main_pid=$pid
	run_py main "$base" "$work/main/data" "$work"
	# stow.py, the command-line helper, on one corpus file.
	out=$("$PY" "$HERE/stow.py" "$base" \
		"$("$PY" -c 'import os, pydicom.data as d; print(os.path.join(os.path.dirname(d.__file__), "test_files", "CT_small.dcm"))')")
	case $out in
	*'"status": 200'*'00081199'*) ok "stow.py stores a file" ;;
	*) bad "stow.py: $out" ;;
	esac
	stop main "$main_pid"
	sanitizer_clean main
else
	bad "server did not start"
fi

if start maxres --qido-max-results 2 --max-body 1M; then
	run_py maxresults "$base" "$work"
	stop maxres "$pid"
	sanitizer_clean maxres
else
	bad "server with --qido-max-results did not start"
fi

summary
