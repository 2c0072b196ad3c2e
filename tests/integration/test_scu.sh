#!/usr/bin/env bash
# pacsd's DIMSE client commands (echo, store, find, move, get) against dcmtk
# peers we did not write:
#   - storescp (+B, bit-preserving, with an association profile preferring
#     each file's own transfer syntax): `pacsd store` of pydicom files in 12
#     syntaxes/classes arrives with the same transfer syntax and the same
#     data set bytes (group 0002 aside; deflated streams compared inflated);
#     a plain storescp (+xa) that picks Explicit VR LE for a big-endian file
#     gets it re-encoded with equal values; 130 (class, syntax) pairs go
#     over two associations; non-DICOM files are reported and skipped.
#   - dcmqrscp (config in a temp dir, loaded with storescu): `pacsd find`
#     at PATIENT/STUDY/SERIES/IMAGE levels returns the expected matches
#     (text and --json), `pacsd move --dest` reaches a storescp registered
#     in dcmqrscp's HostTable, `pacsd get --out` receives the files (and an
#     RLE one with --prefer), each equal to what dcmqrscp stored.
#   - errors: unreachable port, rejected association (wrong called AE),
#     unknown move destination, usage errors.
# Env: PACSD = the pacsd binary; PACSD_SOURCE_DIR = the repository;
# KEEP_WORK=1 keeps the work directory. Prints "N passed, M failed" last.
set -u

PACSD=${PACSD:?set PACSD to the pacsd binary}
SRC=${PACSD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/integration/lib.sh"
require_tools test_scu "$PY" storescp storescu dcmqrscp dcmcjpeg dcmdump
require_py test_scu pydicom
DATA=$(pydicom_files)
make_work scu
CORPUS=$WORK/corpus
mkdir -p "$CORPUS/sub/deeper"

# ---- the corpus: pydicom files, each with its own SOP Instance UID ---------
cat >"$WORK/helper.py" <<'EOF'
import os, sys, zlib, struct
import pydicom
from pydicom.uid import generate_uid

def copy_new_uid(src, dst):
    ds = pydicom.dcmread(src)
    uid = generate_uid(prefix=None)
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.save_as(dst, write_like_original=True)

def dataset_bytes(path):
    """The data set after the File Meta Information, inflated if deflated."""
    b = open(path, "rb").read()
    assert b[128:132] == b"DICM", path
    (glen,) = struct.unpack("<I", b[140:144])
    body = b[144 + glen:]
    ts = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    if ts == "1.2.840.10008.1.2.1.99":
        body = zlib.decompressobj(-15).decompress(body)
    return ts, body

def by_uid(folder):
    out = {}
    for root, _, names in os.walk(folder):
        for n in names:
            p = os.path.join(root, n)
            try:
                ds = pydicom.dcmread(p, stop_before_pixels=True)
                out[str(ds.SOPInstanceUID)] = p
            except Exception:
                pass
    return out

SKIP = lambda t: t.group == 0x0002 or t == 0xFFFCFFFC or t.element == 0

def same_values(a_path, b_path):
    """Element values equal (group 0002, padding and group lengths aside);
    pixel data compared decoded when the byte orders differ."""
    a, b = pydicom.dcmread(a_path), pydicom.dcmread(b_path)
    ta = [t for t in a.keys() if not SKIP(t)]
    tb = [t for t in b.keys() if not SKIP(t)]
    if ta != tb:
        return "tags differ: %s" % sorted(set(ta) ^ set(tb))
    for t in ta:
        if t == 0x7FE00010 and a.file_meta.TransferSyntaxUID != b.file_meta.TransferSyntaxUID:
            if not (a.pixel_array == b.pixel_array).all():
                return "pixel data differs"
        elif a[t].value != b[t].value:
            return "%s differs: %r / %r" % (t, a[t].value, b[t].value)
    return None

cmd = sys.argv[1]
if cmd == "copy":
    copy_new_uid(sys.argv[2], sys.argv[3])
elif cmd == "uid":
    print(pydicom.dcmread(sys.argv[2], stop_before_pixels=True).SOPInstanceUID)
elif cmd == "ts":
    print(pydicom.dcmread(sys.argv[2], stop_before_pixels=True).file_meta.TransferSyntaxUID)
elif cmd == "same-bytes":
    # same-bytes SENT_DIR RECEIVED_DIR: every sent file arrived with the
    # same transfer syntax and data set bytes.
    sent, got = by_uid(sys.argv[2]), by_uid(sys.argv[3])
    bad = 0
    for uid, p in sorted(sent.items()):
        if uid not in got:
            print("missing:", p); bad += 1; continue
        ts1, b1 = dataset_bytes(p)
        ts2, b2 = dataset_bytes(got[uid])
        if ts1 != ts2:
            print("%s: sent in %s, received in %s" % (p, ts1, ts2)); bad += 1
        elif b1 != b2:
            print("%s: data set bytes differ (%d / %d)" % (p, len(b1), len(b2))); bad += 1
    print("%d compared, %d different" % (len(sent), bad))
    sys.exit(1 if bad or len(sent) != len(got) else 0)
elif cmd == "same-values":
    # same-values A_DIR B_DIR [N]: files with the same SOP Instance UID
    # have equal values; N = how many must be compared.
    a, b = by_uid(sys.argv[2]), by_uid(sys.argv[3])
    common = sorted(set(a) & set(b))
    bad = 0
    for uid in common:
        why = same_values(a[uid], b[uid])
        if why:
            print(a[uid], why); bad += 1
    want = int(sys.argv[4]) if len(sys.argv) > 4 else len(a)
    print("%d compared, %d different, %d wanted" % (len(common), bad, want))
    sys.exit(1 if bad or len(common) != want else 0)
elif cmd == "many":
    # many DIR N: N small files, each of its own (private) SOP class.
    ds = pydicom.dcmread(os.path.join(sys.argv[4], "CT_small.dcm"))
    for i in range(int(sys.argv[3])):
        uid = generate_uid(prefix=None)
        cls = "1.2.826.0.1.3680043.10.9999.%d" % (i + 1)
        ds.SOPInstanceUID = uid
        ds.SOPClassUID = cls
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPClassUID = cls
        ds.save_as(os.path.join(sys.argv[2], "f%03d.dcm" % i), write_like_original=True)
elif cmd == "json-uids":
    # json-uids TAG: the values of TAG in a DICOM JSON array on stdin.
    import json
    for m in json.load(sys.stdin):
        print(m[sys.argv[2]]["Value"][0])
elif cmd == "scp-profile":
    # scp-profile FILE EXPLICIT_FIRST_CLASSES IMPLICIT_FIRST_CLASSES: a
    # storescp association profile accepting the syntax each file of ours
    # is in: dcmtk picks by its own order, so the classes whose files are
    # implicit VR list it before explicit (comma-separated keywords).
    compressed = ["1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99",
                  "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
                  "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
                  "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
                  "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
                  "1.2.840.10008.1.2.5"]
    lists = {"Expl": compressed + ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"],
             "Impl": compressed + ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]}
    with open(sys.argv[2], "w") as f:
        f.write("[[TransferSyntaxes]]\n")
        for name, ts in lists.items():
            f.write("[%s]\n" % name)
            for i, t in enumerate(ts):
                f.write("TransferSyntax%d = %s\n" % (i + 1, t))
        f.write("[[PresentationContexts]]\n[Ctx]\n")
        n = 0
        for name, classes in (("Expl", sys.argv[3]), ("Impl", sys.argv[4])):
            for c in classes.split(","):
                n += 1
                f.write("PresentationContext%d = %s\\%s\n" % (n, c, name))
        f.write("[[Profiles]]\n[Exact]\nPresentationContexts = Ctx\n")
EOF
H() { "$PY" "$WORK/helper.py" "$@"; }

i=0
for f in CT_small MR_small_implicit MR_small_bigendian image_dfl SC_rgb_jpeg_dcmtk \
	JPGExtended MR_small_jpeg_ls_lossless MR_small_RLE MR_small_jp2klossless \
	JPEG2000 rtplan; do
	case $((i % 3)) in 0) d=$CORPUS ;; 1) d=$CORPUS/sub ;; 2) d=$CORPUS/sub/deeper ;; esac
	H copy "$DATA/$f.dcm" "$d/$f.dcm" || bad "corpus: $f"
	i=$((i + 1))
done
# JPEG Lossless SV1 (1.2.840.10008.1.2.4.70) made by dcmtk from a CT copy.
H copy "$DATA/CT_small.dcm" "$WORK/ct_copy.dcm"
dcmcjpeg "$WORK/ct_copy.dcm" "$CORPUS/sub/ct_sv1.dcm" || bad "corpus: dcmcjpeg"
echo "not a DICOM file" >"$CORPUS/README.txt"
head -c 300 /dev/urandom >"$CORPUS/sub/random.bin"
N_DICOM=12

# ---- echo and store against storescp ---------------------------------------
SC_PORT=$(free_port)
mkdir -p "$WORK/sc_out"
H scp-profile "$WORK/scp.cfg" VerificationSOPClass,CTImageStorage,SecondaryCaptureImageStorage \
	MRImageStorage,RTPlanStorage
start_bg "$WORK/storescp.log" storescp -v +B -aet STORESCP -xf "$WORK/scp.cfg" Exact \
	-od "$WORK/sc_out" "$SC_PORT"
wait_port "$SC_PORT" || bad_out "storescp starts" "$(cat "$WORK/storescp.log")"

out=$("$PACSD" echo --aec STORESCP 127.0.0.1 "$SC_PORT" 2>&1)
if [ $? -eq 0 ] && echo "$out" | grep -q "status 0x0000 (success)"; then
	ok "echo storescp"
else
	bad_out "echo storescp" "$out"
fi

out=$("$PACSD" store --aet PACSD_T --aec STORESCP 127.0.0.1 "$SC_PORT" "$CORPUS" 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "^$N_DICOM sent, 0 failed, 2 skipped (not DICOM)$"; then
	ok "store: $N_DICOM files of 12 syntaxes sent, 2 non-DICOM skipped"
else
	bad_out "store: $N_DICOM files sent (rc $rc)" "$out"
fi
if echo "$out" | grep -q "README.txt: skipped: not DICOM"; then
	ok "store: non-DICOM file reported"
else
	bad_out "store: non-DICOM file reported" "$out"
fi
check "store: storescp received every file in its own syntax, same data set bytes" \
	H same-bytes "$CORPUS" "$WORK/sc_out"
n_assoc=$(grep -c "Association Acknowledged" "$WORK/storescp.log")
[ "$n_assoc" -eq 2 ] && ok "store: one association (plus the echo's)" ||
	bad_out "store: one association (plus the echo's)" "$n_assoc associations"

# A peer that picks Explicit VR LE for a big-endian file: re-encoded, equal.
SC2_PORT=$(free_port)
mkdir -p "$WORK/sc2_out" "$WORK/big"
cp "$CORPUS/sub/deeper/MR_small_bigendian.dcm" "$WORK/big/"
start_bg "$WORK/storescp2.log" storescp +xa -aet STORESCP -od "$WORK/sc2_out" "$SC2_PORT"
wait_port "$SC2_PORT" || bad "storescp (+xa) starts"
out=$("$PACSD" store --aec STORESCP 127.0.0.1 "$SC2_PORT" "$WORK/big" 2>&1)
rc=$?
got=$(ls "$WORK/sc2_out" | head -1)
if [ $rc -eq 0 ] && [ -n "$got" ] &&
	[ "$(H ts "$WORK/sc2_out/$got")" = 1.2.840.10008.1.2.1 ]; then
	ok "store: big endian file re-encoded for a peer that chose Explicit VR LE"
else
	bad_out "store: big endian re-encoded" "$out"
fi
check "store: re-encoded big endian file has equal values" \
	H same-values "$WORK/big" "$WORK/sc2_out" 1

# More than 128 (class, syntax) pairs: several associations.
mkdir -p "$WORK/many" "$WORK/sc3_out"
H many "$WORK/many" 130 "$DATA"
SC3_PORT=$(free_port)
start_bg "$WORK/storescp3.log" storescp -v -pm -aet STORESCP -od "$WORK/sc3_out" "$SC3_PORT"
wait_port "$SC3_PORT" || bad "storescp (-pm) starts"
out=$("$PACSD" store --aec STORESCP 127.0.0.1 "$SC3_PORT" "$WORK/many" 2>&1)
rc=$?
n_assoc=$(grep -c "Association Acknowledged" "$WORK/storescp3.log")
if [ $rc -eq 0 ] && echo "$out" | grep -q "^130 sent, 0 failed$" && [ "$n_assoc" -eq 2 ] &&
	[ "$(ls "$WORK/sc3_out" | wc -l)" -eq 130 ]; then
	ok "store: 130 SOP classes over 2 associations"
else
	bad_out "store: 130 SOP classes over 2 associations (rc $rc, $n_assoc assoc)" "$out"
fi

# ---- dcmqrscp: find, move, get ------------------------------------------------
QR_PORT=$(free_port)
DEST_PORT=$(free_port)
mkdir -p "$WORK/qr/db" "$WORK/moved"
cat >"$WORK/qr/dcmqrscp.cfg" <<EOF
NetworkTCPPort  = $QR_PORT
MaxPDUSize      = 16384
MaxAssociations = 16

HostTable BEGIN
dest = (DEST, 127.0.0.1, $DEST_PORT)
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
QRSCP   $WORK/qr/db   RW (200, 1024mb)   ANY
AETable END
EOF
start_bg "$WORK/dcmqrscp.log" dcmqrscp +xr -c "$WORK/qr/dcmqrscp.cfg"
start_bg "$WORK/dest.log" storescp -aet DEST +B -od "$WORK/moved" "$DEST_PORT"
wait_port "$QR_PORT" || bad_out "dcmqrscp starts" "$(cat "$WORK/dcmqrscp.log")"
wait_port "$DEST_PORT" || bad "move destination starts"

# Study A: one CT; study B: two MR (same series); study C: one RLE SC.
CT=$CORPUS/CT_small.dcm
MR1=$CORPUS/sub/MR_small_implicit.dcm
MR2=$CORPUS/sub/deeper/MR_small_bigendian.dcm
H copy "$DATA/SC_rgb_rle.dcm" "$WORK/sc_rle.dcm"
storescu -aec QRSCP 127.0.0.1 "$QR_PORT" "$CT" "$MR1" "$MR2" &&
	storescu -xr -aec QRSCP 127.0.0.1 "$QR_PORT" "$WORK/sc_rle.dcm" ||
	bad "storescu loads dcmqrscp"
STUDY_A=1.3.6.1.4.1.5962.1.2.1.20040119072730.12322
STUDY_B=1.3.6.1.4.1.5962.1.2.4.20040826185059.5457
SERIES_B=1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457
STUDY_C=1.2.826.0.1.3680043.8.498.12406831542731051035295345080039845114

out=$("$PACSD" echo --aec QRSCP 127.0.0.1 "$QR_PORT" 2>&1)
[ $? -eq 0 ] && ok "echo dcmqrscp" || bad_out "echo dcmqrscp" "$out"

out=$("$PACSD" find --aec QRSCP -L STUDY -k PatientName -k StudyInstanceUID 127.0.0.1 "$QR_PORT" 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "^3 matches, C-FIND status 0x0000 (success)$" &&
	echo "$out" | grep -q "(0020,000d) UI \[$STUDY_A\]" &&
	echo "$out" | grep -q "(0010,0010) PN \[CompressedSamples^MR1\]"; then
	ok "find STUDY: 3 studies, printed as dump lines"
else
	bad_out "find STUDY (rc $rc)" "$out"
fi

out=$("$PACSD" find --json --aec QRSCP -L SERIES -k StudyInstanceUID=$STUDY_B \
	-k SeriesInstanceUID -k 0008,0060 127.0.0.1 "$QR_PORT" 2>/dev/null)
if [ "$(echo "$out" | H json-uids 0020000E)" = "$SERIES_B" ] &&
	[ "$(echo "$out" | H json-uids 00080060)" = MR ]; then
	ok "find SERIES --json: the MR series"
else
	bad_out "find SERIES --json" "$out"
fi

want=$(printf '%s\n' "$(H uid "$MR1")" "$(H uid "$MR2")" | sort)
out=$("$PACSD" find --json --aec QRSCP -L IMAGE -k StudyInstanceUID=$STUDY_B \
	-k SeriesInstanceUID=$SERIES_B -k SOPInstanceUID 127.0.0.1 "$QR_PORT" 2>/dev/null)
if [ "$(echo "$out" | H json-uids 00080018 | sort)" = "$want" ]; then
	ok "find IMAGE: the two MR instances"
else
	bad_out "find IMAGE" "$out"
fi

out=$("$PACSD" find -P --aec QRSCP -L PATIENT -k "PatientName=CompressedSamples*" -k PatientID \
	127.0.0.1 "$QR_PORT" 2>&1)
if [ $? -eq 0 ] && echo "$out" | grep -q "^2 matches" &&
	echo "$out" | grep -q "\[1CT1\]" && echo "$out" | grep -q "\[4MR1\]"; then
	ok "find -P PATIENT with a wildcard: 2 patients"
else
	bad_out "find -P PATIENT" "$out"
fi

out=$("$PACSD" find --aec QRSCP -k "NoSuchKeyword=1" 127.0.0.1 "$QR_PORT" 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q "unknown attribute" && ok "find: unknown key is a usage error" ||
	bad_out "find: unknown key" "$out"

out=$("$PACSD" move --aec QRSCP --dest DEST -k StudyInstanceUID=$STUDY_B 127.0.0.1 "$QR_PORT" 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "C-MOVE status 0x0000 (success): 2 completed, 0 failed" &&
	echo "$out" | grep -q "^pending:"; then
	ok "move study B to DEST: progress and 2 completed"
else
	bad_out "move study B (rc $rc)" "$out"
fi
check "move: DEST received the two instances, equal to dcmqrscp's" \
	H same-values "$WORK/moved" "$WORK/qr/db" 2

out=$("$PACSD" move --aec QRSCP --dest NOWHERE -k StudyInstanceUID=$STUDY_A 127.0.0.1 "$QR_PORT" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -qi "move destination unknown"; then
	ok "move to an unknown destination fails with 0xA801"
else
	bad_out "move to an unknown destination (rc $rc)" "$out"
fi

out=$("$PACSD" get --aec QRSCP --out "$WORK/got" -k StudyInstanceUID=$STUDY_B 127.0.0.1 "$QR_PORT" 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "C-GET status 0x0000 (success): 2 completed, 0 failed" &&
	[ -f "$WORK/got/$(H uid "$MR1").dcm" ] && [ -f "$WORK/got/$(H uid "$MR2").dcm" ]; then
	ok "get study B: 2 files named by SOP Instance UID"
else
	bad_out "get study B (rc $rc)" "$out"
fi
"$PACSD" get -P --aec QRSCP --out "$WORK/got" -L PATIENT -k PatientID=1CT1 \
	127.0.0.1 "$QR_PORT" >"$WORK/get_ct.log" 2>&1 &&
	ok "get -P PATIENT 1CT1" || bad_out "get -P PATIENT 1CT1" "$(cat "$WORK/get_ct.log")"
check "get: the three files equal dcmqrscp's" H same-values "$WORK/got" "$WORK/qr/db" 3
if dcmdump "$WORK/got/$(H uid "$CT").dcm" >/dev/null 2>&1; then
	ok "get: dcmdump reads a received file"
else
	bad "get: dcmdump reads a received file"
fi

out=$("$PACSD" get --aec QRSCP --out "$WORK/got_rle" --prefer 1.2.840.10008.1.2.5 \
	-k StudyInstanceUID=$STUDY_C 127.0.0.1 "$QR_PORT" 2>&1)
rc=$?
f=$WORK/got_rle/$(H uid "$WORK/sc_rle.dcm").dcm
if [ $rc -eq 0 ] && [ -f "$f" ] && [ "$(H ts "$f")" = 1.2.840.10008.1.2.5 ]; then
	ok "get --prefer RLE: received in RLE Lossless"
else
	bad_out "get --prefer RLE" "$out"
fi
check "get --prefer RLE: equal to dcmqrscp's" H same-values "$WORK/got_rle" "$WORK/qr/db" 1

# ---- errors ----------------------------------------------------------------
DEAD=$(free_port)
out=$("$PACSD" store 127.0.0.1 "$DEAD" "$CT" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "^pacsd store: cannot connect to 127.0.0.1:$DEAD: Connection refused$"; then
	ok "store to a closed port: clear message, exit $rc"
else
	bad_out "store to a closed port (rc $rc)" "$out"
fi
out=$("$PACSD" echo 127.0.0.1 "$DEAD" 2>&1)
rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "Connection refused" && ok "echo to a closed port: exit $rc" ||
	bad_out "echo to a closed port" "$out"
out=$("$PACSD" echo --aec WRONG_AE 127.0.0.1 "$QR_PORT" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "rejected the association .*called AE title not recognized"; then
	ok "echo with a wrong called AE: rejection reason printed"
else
	bad_out "echo with a wrong called AE (rc $rc)" "$out"
fi
out=$("$PACSD" find --aec WRONG_AE -k PatientName 127.0.0.1 "$QR_PORT" 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "called AE title not recognized" &&
	ok "find with a wrong called AE: rejected" || bad_out "find with a wrong called AE" "$out"
out=$("$PACSD" store --aec STORESCP 127.0.0.1 "$SC_PORT" "$CORPUS/README.txt" 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "no DICOM files to send" &&
	ok "store with only non-DICOM files fails" || bad_out "store with only non-DICOM files" "$out"
"$PACSD" echo 127.0.0.1 >/dev/null 2>&1
[ $? -eq 2 ] && ok "echo without PORT: usage, exit 2" || bad "echo without PORT: exit 2"
"$PACSD" move -k PatientID=1 127.0.0.1 "$QR_PORT" >/dev/null 2>&1
[ $? -eq 2 ] && ok "move without --dest: usage, exit 2" || bad "move without --dest: exit 2"

finish
