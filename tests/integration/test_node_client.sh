#!/usr/bin/env bash
# Node DICOMweb client against `pacsd serve`.
#
# Installs the packages of tests/integration/node/package-lock.json
# (dicomweb-client 0.11, the client OHIF uses; xhr2; dcmjs 0.51.1) into a
# cache under the build directory with `npm ci` (never into the source
# tree), starts a fresh server on free loopback ports, and runs
# node/client.js: STOW-RS of 15 pydicom test files (native, big endian,
# deflated, RLE, JPEG baseline/extended, JPEG-LS, JPEG 2000, multi-frame,
# waveform, SR, SEG, RT), QIDO-RS with wildcards, date ranges, includefield,
# limit/offset, metadata, bulk data, byte-identical WADO-RS retrieval with
# transfer-syntax=*, frames, rendered PNG/JPEG, dcmjs parsing of retrieved
# instances, DELETE. Then the server must stop cleanly on SIGTERM.
# Instances stored as Implicit VR Little Endian or Big Endian come back
# from transfer-syntax=* re-encoded as Explicit VR Little Endian (PS3.18
# 8.7.3 bars those two syntaxes from web services); the others must
# come back byte for byte.
#
# Env: PACSD = the pacsd binary; PACSD_SOURCE_DIR = the repository;
# PACSD_BUILD_DIR = where the npm cache goes (a temporary dir if unset).
# Prints "N passed, M failed" last; exits non-zero on any failure. The npm
# registry must be reachable the first time (the cache is reused after).
set -u

PACSD=${PACSD:?set PACSD to the pacsd binary}
SRC=${PACSD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
NODE_SRC="$SRC/tests/integration/node"
. "$SRC/tests/integration/lib.sh"

require_tools test_node_client node npm "$PY" curl

make_work node
server_pid=
cleanup() {
	kill_now "$server_pid"
	remove_work
}
trap cleanup EXIT

# ---- npm packages, cached per lockfile -------------------------------------
cache=${PACSD_BUILD_DIR:-$WORK}/node-itests
stamp="$cache/lock.sha256"
want_sum=$(sha256sum "$NODE_SRC/package-lock.json" | cut -d' ' -f1)
if [ ! -d "$cache/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want_sum" ]; then
	rm -rf "$cache"
	mkdir -p "$cache"
	cp "$NODE_SRC/package.json" "$NODE_SRC/package-lock.json" "$cache/"
	# --ignore-scripts: core-js-pure's postinstall only prints a banner.
	if timeout 600 npm ci --prefix "$cache" --no-audit --no-fund --ignore-scripts \
		>"$WORK/npm.log" 2>&1; then
		echo "$want_sum" >"$stamp"
		ok "npm ci"
	else
		cat "$WORK/npm.log"
		bad "npm ci --prefix $cache failed (is the npm registry reachable?)"
		rm -rf "$cache"
		finish
	fi
else
	ok "npm packages cached in $cache"
fi
export NODE_PATH="$cache/node_modules"

# ---- test files and what pydicom reads in them -----------------------------
# MR_small_jpeg_ls_lossless.dcm has MR_small's SOP Instance UID with other
# bytes: stored as is it must be refused; a copy with a new SOP Instance UID
# (same study and series) is stored, so the MR series holds two instances.
if ! "$PY" - "$WORK" >"$WORK/manifest.log" 2>&1 <<'EOF'; then
import hashlib, json, os, sys
import pydicom
from pydicom.uid import generate_uid

work = sys.argv[1]
data = os.path.join(os.path.dirname(pydicom.__file__), 'data', 'test_files')
names = ['CT_small.dcm', 'MR_small.dcm', 'JPEG-lossy.dcm', 'JPEG2000.dcm',
         'SC_rgb_rle.dcm', 'SC_rgb_jpeg_dcmtk.dcm', '693_J2KI.dcm',
         'rtplan.dcm', 'rtdose.dcm', 'ExplVR_BigEnd.dcm', 'image_dfl.dcm',
         'waveform_ecg.dcm', 'test-SR.dcm', 'liver_1frame.dcm']
conflict = 'MR_small_jpeg_ls_lossless.dcm'

copy = pydicom.dcmread(os.path.join(data, conflict))
copy.SOPInstanceUID = generate_uid(prefix='1.2.826.0.1.3680043.8.498.')
copy.file_meta.MediaStorageSOPInstanceUID = copy.SOPInstanceUID
copy_path = os.path.join(work, 'MR_small_jpeg_ls_copy.dcm')
copy.save_as(copy_path, write_like_original=True)

def sha(b):
    return hashlib.sha256(bytes(b)).hexdigest()

# pydicom's rtplan and rtdose carry a MediaStorageSOPInstanceUID (0002,0003)
# that is not their SOPInstanceUID (PS3.10 7.1 wants the same UID), which
# pacsd refuses: store copies with the meta information corrected.
for n in ('rtplan.dcm', 'rtdose.dcm'):
    ds = pydicom.dcmread(os.path.join(data, n))
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(os.path.join(work, n), write_like_original=True)

files = [(n, os.path.join(work if n in ('rtplan.dcm', 'rtdose.dcm') else data, n), True)
         for n in names]
files += [('MR_small_jpeg_ls_copy.dcm', copy_path, True),
          (conflict, os.path.join(data, conflict), False)]
out = []
for name, path, store in files:
    ds = pydicom.dcmread(path)
    e = {
        'name': name, 'path': path, 'store': store,
        'sop': ds.SOPInstanceUID, 'sop_class': ds.SOPClassUID,
        'study': ds.StudyInstanceUID, 'series': ds.SeriesInstanceUID,
        'patient_name': str(ds.get('PatientName', '')),
        'study_date': str(ds.get('StudyDate', '')),
        'study_description': ds.get('StudyDescription'),
        'patient_age': ds.get('PatientAge'),
        'ts': str(ds.file_meta.TransferSyntaxUID),
    }
    if 'PixelData' in ds:
        rows, cols = int(ds.Rows), int(ds.Columns)
        spp, bits = int(ds.SamplesPerPixel), int(ds.BitsAllocated)
        frames = int(ds.get('NumberOfFrames', 1) or 1)
        e.update(rows=rows, cols=cols, spp=spp, bits=bits, frames=frames,
                 frame_bytes=rows * cols * spp * bits // 8)
        if name in ('CT_small.dcm', 'rtdose.dcm'):
            # Native little endian: frame n is a slice of the value.
            fb = e['frame_bytes']
            e['frame1_sha256'] = sha(ds.PixelData[:fb])
            e['framelast_sha256'] = sha(ds.PixelData[(frames - 1) * fb:frames * fb])
        if name == 'SC_rgb_rle.dcm':
            arr = ds.pixel_array  # (rows, cols, 3), decoded by pydicom
            e['frame1_sha256'] = sha(arr.tobytes())                   # interleaved
            e['frame1_planar_sha256'] = sha(arr.transpose(2, 0, 1).tobytes())
    if name == 'waveform_ecg.dcm':
        w = ds.WaveformSequence[0].WaveformData
        e.update(waveform_bytes=len(w), waveform_sha256=sha(w))
    out.append(e)
json.dump({'files': out, 'conflict': conflict},
          open(os.path.join(work, 'manifest.json'), 'w'), indent=1)
EOF
	cat "$WORK/manifest.log"
	bad "manifest: pydicom could not prepare the test files"
	finish
fi
ok "manifest of $(grep -c '"name"' "$WORK/manifest.json") files"

# ---- server ----------------------------------------------------------------
if ! start_pacsd "$WORK/data" "$WORK/server.log"; then
	bad "server: pacsd serve did not answer /health within 20 s"
	finish
fi
server_pid=$PACSD_PID
base=$BASE
ok "server up on $base"

# ---- the client ------------------------------------------------------------
node "$NODE_SRC/client.js" "$base" "$WORK/manifest.json" >"$WORK/client.log" 2>&1
client_rc=$?
cat "$WORK/client.log"
if ! add_summary "$(cat "$WORK/client.log")"; then
	bad "client: node exited $client_rc without a summary"
elif [ "$client_rc" -ne 0 ] && [ "$SUB_FAIL" -eq 0 ]; then
	bad "client: node exited $client_rc"
fi

# ---- clean stop ------------------------------------------------------------
if kill -0 "$server_pid" 2>/dev/null; then
	stop_checked server "$server_pid" "$WORK/server.log" 10
	server_pid=
else
	wait "$server_pid"
	rc=$?
	server_pid=
	tail -n 30 "$WORK/server.log"
	bad "server: died during the test (exit status $rc)"
fi
sanitizer_check server "$WORK/server.log"
finish
