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
PY=/usr/bin/python3 # Debian's python, which has pydicom and numpy
PERF_N=${WADO_PERF_N:-5000}

if ! "$PY" -c 'import pydicom, numpy' 2>/dev/null; then
	echo "test_wado: $PY lacks pydicom or numpy" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

http=$(free_port)
dicom=$(free_port)
"$PACSD" serve --data-dir "$work/data" --http "127.0.0.1:$http" \
	--dicom "127.0.0.1:$dicom" >"$work/log" 2>&1 &
pid=$!
base="http://127.0.0.1:$http"
up=0
for _ in $(seq 1 100); do
	if "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $http), 1)" 2>/dev/null; then
		up=1
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ "$up" != 1 ]; then
	echo "test_wado: the server did not start:"
	tail -20 "$work/log"
	echo "0 passed, 1 failed"
	exit 1
fi

mkdir -p "$work/files"
"$PY" "$SRC/tests/integration/wado/check_wado.py" "$base" "$work/files" \
	--perf "$PERF_N" --pid "$pid" 2>"$work/py-stderr" | tee "$work/py-out" |
	grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
counts=$(tail -1 "$work/py-out")
pass=$(echo "$counts" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
fail=$(echo "$counts" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
if [ -z "$pass" ]; then
	echo "FAIL the checker did not finish"
	pass=0
	fail=1
fi

# The server must still be alive and stop cleanly on SIGTERM.
if ! kill -0 "$pid" 2>/dev/null; then
	echo "FAIL server died during the test"
	fail=$((fail + 1))
else
	kill -TERM "$pid"
	if wait "$pid"; then
		echo "ok   server stopped cleanly"
		pass=$((pass + 1))
	else
		echo "FAIL server exit status on SIGTERM"
		fail=$((fail + 1))
	fi
fi
pid=
if [ "$fail" != 0 ]; then
	if grep -q Traceback "$work/py-stderr"; then
		sed -n '/Traceback/,$p' "$work/py-stderr" | tail -30
	fi
	echo "--- server log (errors and warnings)"
	grep -E "ERROR|WARN|error" "$work/log" | tail -20
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
