#!/usr/bin/env bash
# Pixel test: every image of the corpus decodes to the values pydicom's
# pixel_array gives (exactly for lossless syntaxes, PSNR >= 45 dB for lossy
# ones) and renders within 1 grey level of pydicom's Modality LUT + VOI LUT
# pipeline; files pydicom cannot decode and corrupted codestreams give a
# clean error. tools/pixel_check.py's docstring says exactly what is
# compared and lists the named exceptions.
#
# The corpus: pydicom's and nibabel's images, plus variants made from
# uncompressed originals by dcmtk (dcmcrle, dcmcjpeg, dcmcjpls, dcmquant)
# and gdcm (gdcmconv --j2k), generated into a temporary directory by
# tools/make_pixel_corpus.sh (nothing generated is committed).
#
# Environment: PACSD (the binary, set by ctest), PACSD_SOURCE_DIR (optional),
# PIXEL_MAX_FRAMES (frames checked per multi-frame file, default 3: enough
# to cover frame location while keeping an ASan run short), PIXEL_VERBOSE.
set -euo pipefail

: "${PACSD:?set PACSD to the pacsd binary}"
SRC="${PACSD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
PY=/usr/bin/python3 # Debian's python3 with pydicom 2.3, numpy, Pillow, gdcm

if ! "$PY" -c 'import pydicom, numpy, PIL, gdcm' 2>/dev/null; then
	echo "test_pixel: $PY lacks pydicom, numpy, Pillow or gdcm (make deps)" >&2
	exit 1
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

bash "$SRC/tools/make_pixel_corpus.sh" "$TMP/corpus"

# gdcm prints codec warnings on stderr while pydicom decodes the reference;
# they are kept apart from the report.
"$PY" "$SRC/tools/pixel_check.py" --pacsd "$PACSD" \
	--max-frames "${PIXEL_MAX_FRAMES:-3}" ${PIXEL_VERBOSE:+-v} \
	"$TMP/corpus/files" "$TMP/corpus/gen" 2>"$TMP/reference-stderr.txt" || {
	rc=$?
	if grep -q Traceback "$TMP/reference-stderr.txt"; then
		echo "test_pixel: stderr of the check:" >&2
		sed -n "/Traceback/,\$p" "$TMP/reference-stderr.txt" | tail -40 >&2
	fi
	exit "$rc"
}
