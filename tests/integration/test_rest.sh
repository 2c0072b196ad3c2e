#!/bin/bash
# test_rest.sh - the seed REST API and the HTTP glue of `pacsd serve`, driven
# with curl and pydicom against the real binary: uploads (multipart, chunked,
# concurrent, duplicates, conflicts, non-DICOM, limits), byte-exact
# downloads, PNG rendering and frames, header attributes, errors with their
# exact JSON bodies, 404/405, CORS preflight, HEAD, keep-alive, request logs,
# SIGTERM and restart with the data kept, and start-up failures.
#
# Env: PACSD (the binary), PACSD_SOURCE_DIR (the repository), KEEP_WORK=1
# (keeps the work directory). Prints "N passed, M failed"; exit 1 on failure.
set -u

PACSD=${PACSD:?set PACSD to the pacsd binary}
SRC=${PACSD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/integration/lib.sh"
require_py test_rest pydicom PIL
DATA=$(pydicom_files)
make_work rest

# expect DESC WANT GOT
expect() {
	if [ "$2" == "$3" ]; then ok "$1"; else bad "$1 (want '$2', got '$3')"; fi
}

# serve NAME DATA_DIR [ARGS...]: start_pacsd with stderr in $WORK/NAME.log
# (stdout apart, in NAME.out); a failure, and the end, when it does not start.
serve() {
	local name=$1 dir=$2
	shift 2
	if ! PACSD_STDOUT="$WORK/$name.out" start_pacsd "$dir" "$WORK/$name.log" "$@"; then
		bad "server $name did not start"
		finish
	fi
}

# http METHOD URL [CURL ARGS...]: body to $WORK/body, headers to $WORK/hdr,
# prints the status.
http() {
	local method=$1 url=$2
	shift 2
	curl -s -X "$method" -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' "$@" "$url"
}

upload() { # FILE -> prints status; body in $WORK/body
	http POST "$BASE/upload_file" -F "file=@$1;type=application/dicom"
}

json_get() { # KEY from $WORK/body
	$PY -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/body" "$1"
}

header() { # NAME from $WORK/hdr (case-insensitive), without CR
	grep -i "^$1:" "$WORK/hdr" | head -1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'
}

is_handle() { [[ $1 =~ ^[0-9a-f]{32}$ ]]; }

mkdir -p "$WORK/files"
CT=$DATA/CT_small.dcm
MR=$DATA/MR_small.dcm
JPEG=$DATA/SC_rgb_jpeg_dcmtk.dcm
RGB2=$DATA/SC_rgb_rle_2frame.dcm # RGB, RLE, 2 frames
RGB=$DATA/SC_rgb_small_odd.dcm   # RGB 3x3
# rtdose (15 frames, implicit VR) and rtplan (no pixel data) name another
# SOP Instance UID in their file meta than in the data set, which ingest
# refuses: copies with the meta fixed.
MULTI=$WORK/files/rtdose.dcm
PLAN=$WORK/files/rtplan.dcm
for f in rtdose rtplan; do
	$PY - "$DATA/$f.dcm" "$WORK/files/$f.dcm" <<'EOF'
import sys, pydicom
d = pydicom.dcmread(sys.argv[1])
d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
d.save_as(sys.argv[2], write_like_original=True)
EOF
done

serve main "$WORK/data"
MAIN=$PACSD_PID

# ---- health -------------------------------------------------------------------
st=$(http GET "$BASE/health")
expect "/health 200" 200 "$st"
expect "/health status ok" ok "$(json_get status)"
check "/health names the libraries" grep -q '"libmicrohttpd": "0.9' "$WORK/body"
check "/health is application/json" grep -qi '^content-type: application/json' "$WORK/hdr"

# ---- uploads ------------------------------------------------------------------
declare -A H
for f in CT MR JPEG MULTI RGB2 RGB PLAN; do
	st=$(upload "${!f}")
	expect "upload $f -> 201" 201 "$st"
	H[$f]=$(json_get storage_handle 2>/dev/null)
	check "upload $f gives a 32-hex handle" is_handle "${H[$f]}"
done
expect "upload Location header" "/uploads/dicom/${H[PLAN]}" "$(header Location)"

st=$(upload "$CT")
expect "same file again -> 201" 201 "$st"
expect "same file again -> same handle" "${H[CT]}" "$(json_get storage_handle)"

# Chunked transfer encoding (no Content-Length).
st=$(http POST "$BASE/upload_file" -H 'Transfer-Encoding: chunked' -F "file=@$MR")
expect "chunked upload -> 201" 201 "$st"
expect "chunked upload -> same handle" "${H[MR]}" "$(json_get storage_handle)"

# Other parts before and after the file are ignored.
st=$(http POST "$BASE/upload_file" -F 'note=hello' -F "file=@$RGB;filename=x.dcm" -F 'more=1')
expect "upload with extra parts -> 201" 201 "$st"
expect "upload with extra parts -> handle" "${H[RGB]}" "$(json_get storage_handle)"

# Not DICOM, no file part, not multipart, bad multipart.
head -c 5000 /dev/urandom >"$WORK/files/random.bin"
st=$(upload "$WORK/files/random.bin")
expect "non-DICOM upload -> 400" 400 "$st"
expect "non-DICOM upload body" '{"error": "Invalid file."}' "$(cat "$WORK/body")"
st=$(http POST "$BASE/upload_file" -F "other=@$CT")
expect "no 'file' part -> 400" 400 "$st"
expect "no 'file' part body" '{"error": "Invalid file."}' "$(cat "$WORK/body")"
st=$(http POST "$BASE/upload_file" -H 'Content-Type: application/dicom' --data-binary "@$CT")
expect "not multipart -> 415" 415 "$st"
st=$(http POST "$BASE/upload_file" -H 'Content-Type: multipart/form-data; boundary=zz' --data-binary 'no boundary here')
expect "garbage multipart -> 400" 400 "$st"
printf -- '--zz\r\nContent-Disposition: form-data; name="file"\r\n\r\nDICM' >"$WORK/files/trunc.txt"
st=$(http POST "$BASE/upload_file" -H 'Content-Type: multipart/form-data; boundary=zz' --data-binary "@$WORK/files/trunc.txt")
expect "truncated multipart -> 400" 400 "$st"

# Same SOP Instance UID, other bytes -> 409.
$PY - "$CT" "$WORK/files/ct_changed.dcm" <<'EOF'
import sys, pydicom
d = pydicom.dcmread(sys.argv[1])
d.PatientName = "Changed^Bytes"
d.save_as(sys.argv[2])
EOF
st=$(upload "$WORK/files/ct_changed.dcm")
expect "same UID, other bytes -> 409" 409 "$st"
check "409 body is a JSON error" grep -q '^{"error": "' "$WORK/body"

# ---- downloads ----------------------------------------------------------------
for f in CT MR JPEG MULTI RGB2 RGB PLAN; do
	st=$(http GET "$BASE/uploads/dicom/${H[$f]}")
	expect "download $f -> 200" 200 "$st"
	check "download $f equals the original" cmp -s "$WORK/body" "${!f}"
done
st=$(http GET "$BASE/uploads/dicom/${H[CT]}")
expect "download content type" application/dicom "$(header Content-Type)"
check "download names the file" grep -qi '^content-disposition: attachment; filename="1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322.dcm"' "$WORK/hdr"
cp "$WORK/body" "$WORK/files/ct_down.dcm"
uid=$($PY -c 'import sys, pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$WORK/files/ct_down.dcm")
expect "pydicom reads the download, SOP Instance UID" "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322" "$uid"

st=$(curl -s -I -o /dev/null -D "$WORK/hdr" -w '%{http_code}' "$BASE/uploads/dicom/${H[CT]}")
expect "HEAD download -> 200" 200 "$st"
expect "HEAD Content-Length" "$(stat -c %s "$CT")" "$(header Content-Length)"

st=$(http GET "$BASE/uploads/dicom/0123456789abcdef0123456789abcdef")
expect "unknown handle -> 404" 404 "$st"
expect "unknown handle body" '{"error": "File not found."}' "$(cat "$WORK/body")"
for badh in NOTAHANDLE 0123456789ABCDEF0123456789ABCDEF ../../etc/passwd %2e%2e; do
	st=$(http GET "$BASE/uploads/dicom/$badh")
	expect "malformed handle $badh -> 404" 404 "$st"
done
expect "malformed handle body" '{"error": "File not found."}' "$(cat "$WORK/body")"

# ---- images -------------------------------------------------------------------
png_info() { # prints "WxH MODE" of $WORK/body
	$PY -c 'import sys; from PIL import Image; im = Image.open(sys.argv[1]); print("%dx%d %s %s" % (im.size[0], im.size[1], im.mode, im.format))' "$WORK/body"
}
st=$(http GET "$BASE/uploads/image/${H[CT]}")
expect "image CT -> 200" 200 "$st"
expect "image CT content type" image/png "$(header Content-Type)"
expect "image CT is a 128x128 grey PNG" "128x128 L PNG" "$(png_info)"
st=$(http GET "$BASE/uploads/image/${H[MR]}")
expect "image MR is a 64x64 PNG" "64x64 L PNG" "$(png_info)"
st=$(http GET "$BASE/uploads/image/${H[JPEG]}")
expect "image JPEG baseline -> 200" 200 "$st"
expect "image JPEG is a 100x100 RGB PNG" "100x100 RGB PNG" "$(png_info)"
st=$(http GET "$BASE/uploads/image/${H[RGB]}")
expect "image RGB is a 3x3 RGB PNG" "3x3 RGB PNG" "$(png_info)"
st=$(http GET "$BASE/uploads/image/${H[RGB2]}?frame=2")
expect "image RLE frame=2 -> 200" 200 "$st"
expect "image RLE frame 2 is RGB" "100x100 RGB PNG" "$(png_info)"
st=$(http GET "$BASE/uploads/image/${H[MULTI]}?frame=15")
expect "image multi-frame frame=15 -> 200" 200 "$st"
expect "image multi-frame frame 15" "10x10 L PNG" "$(png_info)"
st=$(http GET "$BASE/uploads/image/${H[MULTI]}?frame=1")
cp "$WORK/body" "$WORK/files/f1.png"
st=$(http GET "$BASE/uploads/image/${H[MULTI]}?frame=8")
check "frames 1 and 8 differ" bash -c "! cmp -s '$WORK/body' '$WORK/files/f1.png'"
for fr in 16 0 -1 abc 1.5 ''; do
	st=$(http GET "$BASE/uploads/image/${H[MULTI]}?frame=$fr")
	expect "image frame='$fr' -> 400" 400 "$st"
done
check "frame out of range is a JSON error" grep -q '^{"error": "Frame 16 out of range (1-15)."}$' <(http GET "$BASE/uploads/image/${H[MULTI]}?frame=16" >/dev/null; cat "$WORK/body")
st=$(http GET "$BASE/uploads/image/${H[PLAN]}")
expect "image of a file without pixels -> 400" 400 "$st"
st=$(http GET "$BASE/uploads/image/ffffffffffffffffffffffffffffffff")
expect "image unknown handle -> 404" 404 "$st"

# ---- header attributes -------------------------------------------------------
st=$(http GET "$BASE/header_attributes/${H[CT]}")
expect "header_attributes -> 200" 200 "$st"
cp "$WORK/body" "$WORK/files/attrs.json"
check "header_attributes agree with pydicom" $PY - "$CT" "$WORK/files/attrs.json" <<'EOF'
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
got = json.load(open(sys.argv[2]))
keys = list(got)
assert keys == sorted(keys), "not in tag order"
want = ["0x%08X" % int(e.tag) for e in ds]
assert keys == want, (set(keys) ^ set(want))
pn = got["0x00100010"]
assert pn == {"VR": "PN", "name": "Patient's Name", "value": str(ds.PatientName)}, pn
assert got["0x00080060"]["value"] == "CT"
assert got["0x00280010"] == {"VR": "US", "name": "Rows", "value": 128}, got["0x00280010"]
ipp = got["0x00200032"]["value"]
assert [float(x) for x in ds.ImagePositionPatient] == ipp, ipp
assert got["0x7FE00010"]["VR"] == "OW" and got["0x7FE00010"]["length"] == 32768
assert "value" not in got["0x7FE00010"]
assert got["0x00080005"]["value"] == "ISO_IR 100"
# private tags get a name
assert all("name" in v and "VR" in v for v in got.values())
EOF
st=$(http GET "$BASE/header_attributes/${H[CT]}?tags=0x00100010,0x00080060")
expect "header_attributes tags -> 200" 200 "$st"
expect "header_attributes selected tags" '["0x00080060", "0x00100010"]' "$($PY -c 'import json,sys; print(json.dumps(list(json.load(open(sys.argv[1])))))' "$WORK/body")"
st=$(http GET "$BASE/header_attributes/${H[CT]}?tags=00100010,PatientID,0x7fe00010,0x00991000")
expect "tags without 0x, keywords, lower case, absent" '["0x00100010", "0x00100020", "0x7FE00010"]' "$($PY -c 'import json,sys; print(json.dumps(list(json.load(open(sys.argv[1])))))' "$WORK/body")"
for t in 0x0010001 0xZZ100010 nonsense 0x00100010,,0x00080060 ''; do
	st=$(http GET "$BASE/header_attributes/${H[CT]}?tags=$t")
	expect "tags='$t' -> 400" 400 "$st"
	expect "tags='$t' body" '{"error": "Invalid tags."}' "$(cat "$WORK/body")"
done
st=$(http GET "$BASE/header_attributes/${H[CT]}" -H 'Content-Type: application/json' --data '{"tags": ["0x00100020"]}')
expect "tags in a JSON body -> 200" 200 "$st"
expect "tags in a JSON body select" '["0x00100020"]' "$($PY -c 'import json,sys; print(json.dumps(list(json.load(open(sys.argv[1])))))' "$WORK/body")"
st=$(http GET "$BASE/header_attributes/${H[CT]}" --data '{"tags": [16]}')
expect "bad JSON tags -> 400" 400 "$st"
st=$(http GET "$BASE/header_attributes/${H[PLAN]}")
check "sequences are arrays of item objects" $PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
sq = [v for v in d.values() if v["VR"] == "SQ"]
assert sq and all(isinstance(v["value"], list) for v in sq)
assert any(v["value"] and isinstance(v["value"][0], dict) for v in sq)
' "$WORK/body"
st=$(http GET "$BASE/header_attributes/abc")
expect "header_attributes bad handle -> 404" 404 "$st"

# ---- routing, methods, CORS, keep-alive, logs ----------------------------------
st=$(http GET "$BASE/nothing/here")
expect "unknown path -> 404" 404 "$st"
expect "unknown path body" '{"error": "Not found."}' "$(cat "$WORK/body")"
st=$(http GET "$BASE/upload_file")
expect "wrong method -> 405" 405 "$st"
expect "405 Allow" "POST, OPTIONS" "$(header Allow)"
st=$(http OPTIONS "$BASE/upload_file")
expect "OPTIONS without CORS config -> 204" 204 "$st"
check "no CORS headers when none configured" bash -c "! grep -qi '^access-control' '$WORK/hdr'"
n=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects}\n' "$BASE/health" "$BASE/health" | paste -sd' ')
expect "keep-alive: two requests, one connection" "1 0" "$n"
check "request log line on stderr" grep -qE 'info GET /health 200 [0-9]+ [0-9.]+ms' "$WORK/main.log"
check "log line keeps the query" grep -qE "GET /uploads/image/${H[MULTI]}\\?frame=16 400 " "$WORK/main.log"

# ---- concurrent uploads -------------------------------------------------------
$PY - "$CT" "$WORK/files/many" <<'EOF'
import sys, os, pydicom
from pydicom.uid import generate_uid
os.makedirs(sys.argv[2])
for i in range(24):
    d = pydicom.dcmread(sys.argv[1])
    d.SOPInstanceUID = generate_uid()
    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
    if i % 3 == 0:
        d.SeriesInstanceUID = generate_uid()
    d.save_as(os.path.join(sys.argv[2], "f%02d.dcm" % i), write_like_original=True)
EOF
ls "$WORK"/files/many/*.dcm | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' -F 'file=@{}' "$BASE/upload_file" >"$WORK/codes"
expect "24 concurrent uploads (8 at a time) -> 201" "24" "$(grep -c '^201$' "$WORK/codes")"
st=$(http GET "$BASE/health")
expect "/health counts them" "$((24 + 7))" "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["index"]["instances"])' "$WORK/body")"

# ---- SIGTERM during an upload, restart ------------------------------------------
# A ~600 KB instance sent at 200 KB/s is in flight when SIGTERM arrives: it
# must complete (grace period), new connections must be refused meanwhile,
# and the server must then exit 0.
$PY - "$CT" "$WORK/files/slow.dcm" <<'EOF'
import sys, pydicom
from pydicom.uid import generate_uid
d = pydicom.dcmread(sys.argv[1])
d.SOPInstanceUID = generate_uid()
d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
d.add_new(0x00090010, "LO", "PACSD TEST")
d.add_new(0x00091001, "OB", bytes(600000))
d.save_as(sys.argv[2])
EOF
curl -s -o "$WORK/slow.out" -w '%{http_code}' --limit-rate 200k -F "file=@$WORK/files/slow.dcm" "$BASE/upload_file" >"$WORK/slow.code" &
CURL=$!
sleep 1
kill -TERM "$MAIN"
sleep 0.3
check "new connections refused while stopping" bash -c "! curl -s -m 2 -o /dev/null '$BASE/health'"
wait "$CURL"
expect "upload in flight at SIGTERM completes -> 201" 201 "$(cat "$WORK/slow.code")"
SLOW=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["storage_handle"])' "$WORK/slow.out" 2>/dev/null)
wait "$MAIN"
expect "SIGTERM -> exit 0" 0 "$?"
check "stop is logged" grep -q 'SIGTERM received' "$WORK/main.log"
check "nothing listens after stop" bash -c "! curl -s -o /dev/null '$BASE/health'"
serve main2 "$WORK/data"
MAIN=$PACSD_PID
MAIN_PORT=$HTTP_PORT
st=$(http GET "$BASE/uploads/dicom/${H[MR]}")
expect "after restart: download -> 200" 200 "$st"
check "after restart: same bytes" cmp -s "$WORK/body" "$MR"
st=$(http GET "$BASE/uploads/dicom/$SLOW")
expect "after restart: the upload finished during the stop is there" 200 "$st"
check "after restart: its bytes" cmp -s "$WORK/body" "$WORK/files/slow.dcm"

# ---- limits and CORS (a second server) ------------------------------------------
serve small "$WORK/data-small" --max-body 2000 --cors-origins "https://viewer.example,https://other.example"
SMALL=$PACSD_PID
st=$(upload "$CT")
expect "body over --max-body (Content-Length) -> 413" 413 "$st"
check "413 is a JSON error" grep -q '^{"error": "Request body too large' "$WORK/body"
st=$(http POST "$BASE/upload_file" -H 'Transfer-Encoding: chunked' -F "file=@$CT")
expect "body over --max-body (chunked) -> 413" 413 "$st"
head -c 3000000 /dev/zero >"$WORK/files/big.bin"
st=$(http POST "$BASE/upload_file" -F "file=@$WORK/files/big.bin")
expect "3 MB over --max-body (100-continue) -> 413" 413 "$st"
st=$(http OPTIONS "$BASE/uploads/dicom/${H[CT]}" -H 'Origin: https://viewer.example' -H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: accept, x-custom')
expect "CORS preflight -> 204" 204 "$st"
expect "preflight Allow-Origin" https://viewer.example "$(header Access-Control-Allow-Origin)"
expect "preflight Allow-Methods" "GET, HEAD, OPTIONS" "$(header Access-Control-Allow-Methods)"
expect "preflight Allow-Headers" "accept, x-custom" "$(header Access-Control-Allow-Headers)"
check "preflight Max-Age" test -n "$(header Access-Control-Max-Age)"
st=$(http GET "$BASE/health" -H 'Origin: https://other.example')
expect "CORS on a GET" https://other.example "$(header Access-Control-Allow-Origin)"
check "CORS exposes ETag" grep -qi '^access-control-expose-headers:.*ETag' "$WORK/hdr"
check "Vary: Origin" grep -qi '^vary: origin' "$WORK/hdr"
st=$(http GET "$BASE/health" -H 'Origin: https://evil.example')
check "other origin gets no CORS header" bash -c "! grep -qi '^access-control-allow-origin' '$WORK/hdr'"
st=$(http GET "$BASE/nothing" -H 'Origin: https://viewer.example')
expect "CORS on a 404 too" https://viewer.example "$(header Access-Control-Allow-Origin)"
stop_pacsd "$SMALL"
expect "second server SIGTERM -> exit 0" 0 "$?"

# ---- IPv6 (when the machine has ::1) --------------------------------------------
if P6=$($PY -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); print(s.getsockname()[1])' 2>/dev/null); then
	"$PACSD" serve --data-dir "$WORK/data-v6" --http "[::1]:$P6" \
		--dicom "127.0.0.1:$(free_port)" 2>>"$WORK/v6.log" &
	V6=$!
	track_pid "$V6"
	for _ in $(seq 100); do
		curl -s -g -o /dev/null "http://[::1]:$P6/health" && break
		sleep 0.1
	done
	st=$(http GET "http://[::1]:$P6/health" -g)
	expect "IPv6 [::1] listen -> 200" 200 "$st"
	stop_pacsd "$V6"
	expect "IPv6 server SIGTERM -> exit 0" 0 "$?"
fi

# ---- start-up failures --------------------------------------------------------
out=$("$PACSD" serve --data-dir "$WORK/data-bad" --http nonsense 2>&1)
rc=$?
check "bad --http -> non-zero exit" test "$rc" -ne 0
check "bad --http names the option" grep -q -- '--http' <<<"$out"
check "bad config: nothing created" test ! -e "$WORK/data-bad"
# Port in use: the main server (restarted) still holds its port.
out=$(timeout 10 "$PACSD" serve --data-dir "$WORK/data-busy" --http "127.0.0.1:$MAIN_PORT" --dicom "127.0.0.1:$(free_port)" 2>&1)
rc=$?
check "port in use -> exit 1" test "$rc" -eq 1
check "port in use message" grep -q 'cannot listen on 127.0.0.1:.*Address already in use' <<<"$out"
out=$("$PACSD" serve --help 2>&1)
check "serve --help -> 0 and lists --max-body" grep -q -- '--max-body' <<<"$out"

stop_pacsd "$MAIN"
expect "final SIGTERM -> exit 0" 0 "$?"

finish
