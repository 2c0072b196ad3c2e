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
PY=/usr/bin/python3 # Debian's python, which has pydicom
HERE="$SRC/tests/integration/dicomweb"

pass=0
fail=0
ok() {
	pass=$((pass + 1))
	echo "ok   $*"
}
bad() {
	fail=$((fail + 1))
	echo "FAIL $*"
}

for tool in "$PY" curl; do
	if ! command -v "$tool" >/dev/null; then
		echo "test_dicomweb: $tool is missing" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done

work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start NAME [extra flags...]: sets $base and $pid.
start() {
	local name=$1 http dicom i
	shift
	http=$(free_port)
	dicom=$(free_port)
	mkdir -p "$work/$name"
	"$PACSD" serve --data-dir "$work/$name/data" --http "127.0.0.1:$http" \
		--dicom "127.0.0.1:$dicom" "$@" >"$work/$name/log" 2>&1 &
	pid=$!
	pids+=("$pid")
	base="http://127.0.0.1:$http"
	for i in $(seq 1 100); do
		if curl -s -o /dev/null "$base/dicom-web/studies"; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "--- server log ($name)"
	tail -20 "$work/$name/log"
	return 1
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
	pass=$((pass + p))
	fail=$((fail + f))
}

# stop NAME PID: SIGTERM, must exit 0 within 10 s.
stop() {
	local name=$1 p=$2 i
	kill -TERM "$p" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$p" 2>/dev/null; then
		bad "$name server did not stop on SIGTERM"
		kill -KILL "$p" 2>/dev/null
	fi
	if wait "$p"; then
		ok "$name server stopped cleanly"
	else
		bad "$name server exited with status $?"
		tail -20 "$work/$name/log"
	fi
}

# sanitizer_clean NAME: no ASan/UBSan/LSan report in the server's log.
sanitizer_clean() {
	if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$work/$1/log"; then
		bad "sanitizer report in the $1 server log"
		grep -E -A8 'AddressSanitizer|runtime error|LeakSanitizer' "$work/$1/log" | head -40
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

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
