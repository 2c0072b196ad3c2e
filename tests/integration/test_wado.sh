#!/usr/bin/env bash
# WADO-RS and WADO-URI against the real server.
#
# Starts `pacsd serve` on free loopback ports with a fresh data dir; then
# tests/integration/wado/check_wado.py stores pydicom's test files (with new
# UIDs) through STOW-RS and checks retrieve (as stored and transcoded to
# Explicit VR Little Endian, judged with pydicom), metadata and ETags,
# frames, rendered, thumbnail, bulk data, WADO-URI and the error statuses;
# then stores WADO_PERF_N (default 5000) small instances in one series and
# times series metadata and retrieve (WADO_PERF_N=0 skips it).
# Env: PACSD = the pacsd binary; PACSD_SOURCE_DIR = the repository.
# Prints "N passed, M failed" last; exits non-zero on any failure.
set -u

PACSD=${PACSD:?set PACSD to the pacsd binary}
SRC=${PACSD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PERF_N=${WADO_PERF_N:-5000}
. "$SRC/tests/integration/lib.sh"
require_py test_wado pydicom numpy

make_work wado
if ! start_pacsd "$WORK/data" "$WORK/log"; then
	bad "the server did not start"
	finish
fi

mkdir -p "$WORK/files"
"$PY" "$SRC/tests/integration/wado/check_wado.py" "$BASE" "$WORK/files" \
	--perf "$PERF_N" --pid "$PACSD_PID" 2>"$WORK/py-stderr" | tee "$WORK/py-out" |
	grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
read -r p _ f _ < <(tail -1 "$WORK/py-out" | grep -E '^[0-9]+ passed, [0-9]+ failed$')
if [ -n "${p:-}" ]; then
	add_counts "$p" "$f"
else
	bad "the checker did not finish"
fi

# The server must still be alive and stop cleanly on SIGTERM.
if ! kill -0 "$PACSD_PID" 2>/dev/null; then
	bad "server died during the test"
elif stop_pacsd "$PACSD_PID" 60; then
	ok "server stopped cleanly"
else
	bad "server exit status on SIGTERM"
fi
if [ "$fail" != 0 ]; then
	if grep -q Traceback "$WORK/py-stderr"; then
		sed -n '/Traceback/,$p' "$WORK/py-stderr" | tail -30
	fi
	echo "--- server log (errors and warnings)"
	grep -E "ERROR|WARN|error" "$WORK/log" | tail -20
fi
finish
