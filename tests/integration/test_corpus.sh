#!/usr/bin/env bash
# Corpus test: every file pydicom reads, pacsd reads with the same elements
# and values; every file pydicom rejects, pacsd rejects with an error on
# stderr. tools/compare_json.py compares `pacsd dump --json --inline-binary`
# with pydicom's to_json_dict() element by element (see its docstring for
# how values are compared and the list of named exceptions).
#
# The corpus: pydicom's data folders (test_files, charset_files, palettes),
# any *.dcm file a dcmtk package ships, the scanner files nibabel ships, the worklist examples dcmtk ships as
# dumps (turned into files with dump2dcm), and a few files rewritten by
# dcmconv in implicit VR, explicit big endian and deflated transfer syntaxes
# so that every reader path is compared.
#
# Environment: PACSD (the binary, set by ctest), PACSD_SOURCE_DIR (optional).
set -euo pipefail

: "${PACSD:?set PACSD to the pacsd binary}"
SRC="${PACSD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
PY=/usr/bin/python3 # Debian's python3 with pydicom 2.3 and numpy

if ! DATA=$("$PY" -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data"))'); then
	echo "test_corpus: pydicom is not installed for $PY (make deps)" >&2
	exit 1
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

corpus=()
for d in test_files charset_files palettes; do
	[ -d "$DATA/$d" ] && corpus+=("$DATA/$d")
done
while IFS= read -r f; do
	[ -f "$f" ] && corpus+=("$f")
done < <(dpkg -L dcmtk libdcmtk17 2>/dev/null | grep -i '\.dcm$' || true)

# Real scanner files (Siemens mosaic with CSA headers, Philips) that
# Debian's nibabel ships in its tests, some gzipped.
mkdir -p "$TMP/nibabel"
while IFS= read -r f; do
	case "$f" in
	*.dcm.gz) gzip -dc "$f" >"$TMP/nibabel/$(basename "$f" .gz)" ;;
	*.dcm) cp "$f" "$TMP/nibabel/" ;;
	esac
done < <(dpkg -L python3-nibabel 2>/dev/null | grep -E '\.dcm(\.gz)?$' || true)
corpus+=("$TMP/nibabel")

# dcmtk's worklist examples, as Part 10 files.
if command -v dump2dcm >/dev/null; then
	mkdir -p "$TMP/dcmtk"
	for f in /usr/share/doc/dcmtk/examples/*/*.dump \
		 /usr/share/doc/dcmtk/examples/*/*/*.dump; do
		[ -f "$f" ] || continue
		dump2dcm -q "$f" "$TMP/dcmtk/$(basename "$(dirname "$f")")_$(basename "$f" .dump).dcm" ||
			echo "test_corpus: dump2dcm could not convert $f (skipped)" >&2
	done
	corpus+=("$TMP/dcmtk")
fi

# The same data sets in the other uncompressed transfer syntaxes.
if command -v dcmconv >/dev/null; then
	mkdir -p "$TMP/dcmconv"
	for f in "$DATA"/test_files/{CT_small,MR_small,rtplan,rtdose,test-SR,waveform_ecg,nested_priv_SQ,priv_SQ,reportsi}.dcm \
		 "$DATA"/charset_files/*.dcm; do
		[ -f "$f" ] || continue
		b=$(basename "$f" .dcm)
		for ts in ti tb td; do
			dcmconv -q "+$ts" "$f" "$TMP/dcmconv/${b}_$ts.dcm" ||
				echo "test_corpus: dcmconv +$ts could not convert $f (skipped)" >&2
		done
	done
	corpus+=("$TMP/dcmconv")
fi

"$PY" "$SRC/tools/compare_json.py" --pacsd "$PACSD" ${CORPUS_VERBOSE:+-v} "${corpus[@]}"
