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

make_work dicomweb

if start_named main; then
	ok "server started"
	main_pid=$PACSD_PID
	run_py main "$HERE/check_dicomweb.py" main "$BASE" "$WORK/main/data" "$WORK"
	# stow.py, the command-line helper, on one corpus file.
	out=$("$PY" "$HERE/stow.py" "$BASE" "$(pydicom_files)/CT_small.dcm")
	case $out in
	*'"status": 200'*'00081199'*) ok "stow.py stores a file" ;;
	*) bad "stow.py: $out" ;;
	esac
	stop_checked "main server" "$main_pid" "$WORK/main/log"
	sanitizer_clean "main server" "$WORK/main/log"
else
	bad "server did not start"
fi

if start_named maxres --qido-max-results 2 --max-body 1M; then
	run_py maxresults "$HERE/check_dicomweb.py" maxresults "$BASE" "$WORK"
	stop_checked "maxres server" "$PACSD_PID" "$WORK/maxres/log"
	sanitizer_clean "maxres server" "$WORK/maxres/log"
else
	bad "server with --qido-max-results did not start"
fi

summary
