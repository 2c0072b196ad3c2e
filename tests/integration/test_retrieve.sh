#!/usr/bin/env bash
# test_retrieve.sh - the C-MOVE and C-GET SCPs of `pacsd serve` (PS3.4
# C.4.2, C.4.3) against dcmtk's movescu, getscu and storescp.
#
# pacsd serve gets pydicom's CT_small, MR_small (as a study of 3 instances
# in 2 series), JPEG2000 (lossy J2K), SC_rgb_rle_2frame (RLE, 2 frames)
# and a 40-instance CT study through storescu, then:
#   - movescu at STUDY, SERIES, IMAGE (UID list) and PATIENT level to a
#     storescp DEST that accepts every syntax: the files received hold the
#     originals' data sets (pydicom, group 0002 aside), compressed ones as
#     stored;
#   - a move of the J2K study to PLAIN (a storescp taking only uncompressed
#     syntaxes): refused A702 with the Failed SOP Instance UID List;
#   - a move to an AE that is not configured: A801, twice on one
#     association (--repeat), which stays usable; to one that does not
#     listen: A702, every instance in the Failed SOP Instance UID List;
#   - bad identifiers: A900; an identifier matching nothing: Success with
#     no sub-operation;
#   - movescu --cancel 1 on the 40-instance study: final Cancel, fewer
#     instances sent;
#   - getscu at STUDY level, for J2K and RLE with the syntax proposed: equal
#     files; J2K with only uncompressed syntaxes proposed: that
#     sub-operation fails, the final status says so, nothing hangs;
#   - a raw C-GET client (below): C-CANCEL-RQ sent while a C-STORE
#     sub-operation is unanswered gives Cancel after that one with 39
#     remaining; storage proposed without the SCP role: 40 failed, A702,
#     a 40-UID Failed SOP Instance UID List; both release cleanly; an
#     A-RELEASE-RQ while a sub-operation is unanswered still gets the
#     final Cancel, then the A-RELEASE-RP;
#   - a stored file missing from the blob store: that sub-operation fails,
#     the others complete, Warning B000 (C-MOVE and C-GET).
# Env: PACSD = the pacsd binary; PACSD_SOURCE_DIR = the repository;
# KEEP_WORK=1 keeps the work directory. Prints "N passed, M failed" last.
set -u

PACSD=${PACSD:?set PACSD to the pacsd binary}
SRC=${PACSD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TO="timeout 60"
. "$SRC/tests/integration/lib.sh"
require_tools test_retrieve "$PY" storescu storescp movescu getscu echoscu timeout
require_py test_retrieve pydicom
DATA=$(pydicom_files)
make_work retrieve

# ---- the data ------------------------------------------------------------
mkdir -p "$WORK/in/native" "$WORK/in/many" "$WORK/in/j2k" "$WORK/in/rle"
cp "$DATA/CT_small.dcm" "$WORK/in/native/"
cp "$DATA/JPEG2000.dcm" "$WORK/in/j2k/"
cp "$DATA/SC_rgb_rle_2frame.dcm" "$WORK/in/rle/"
$PY - "$DATA" "$WORK/in" <<'PYEOF' || { bad "making the input files"; finish; }
import sys, pydicom
data, out = sys.argv[1], sys.argv[2]
# MR_small as a study of three instances in two series.
for n, other_series in ((1, False), (2, False), (3, True)):
    d = pydicom.dcmread(data + "/MR_small.dcm")
    d.SOPInstanceUID = d.SOPInstanceUID + ".%d" % n
    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
    if other_series:
        d.SeriesInstanceUID = d.SeriesInstanceUID + ".9"
    d.InstanceNumber = n
    d.save_as("%s/native/MR_%d.dcm" % (out, n), write_like_original=True)
# A 40-instance study, for C-CANCEL.
for n in range(1, 41):
    d = pydicom.dcmread(data + "/CT_small.dcm")
    d.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.7777"
    d.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.7777.1"
    d.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.7777.1.%d" % n
    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
    d.PatientID = "MANY"
    d.InstanceNumber = n
    d.save_as("%s/many/CT_%02d.dcm" % (out, n), write_like_original=True)
PYEOF
uid_of() { # uid_of FILE KEYWORD
	$PY -c 'import sys, pydicom; print(getattr(pydicom.dcmread(sys.argv[1], stop_before_pixels=True), sys.argv[2]))' "$1" "$2"
}
MR_STUDY=$(uid_of "$WORK/in/native/MR_1.dcm" StudyInstanceUID)
MR_SERIES=$(uid_of "$WORK/in/native/MR_1.dcm" SeriesInstanceUID)
MR_SERIES9=$(uid_of "$WORK/in/native/MR_3.dcm" SeriesInstanceUID)
MR_SOP1=$(uid_of "$WORK/in/native/MR_1.dcm" SOPInstanceUID)
MR_SOP2=$(uid_of "$WORK/in/native/MR_2.dcm" SOPInstanceUID)
MR_STUDY_SOP_PREFIX=${MR_SOP1%.1}.
CT_STUDY=$(uid_of "$WORK/in/native/CT_small.dcm" StudyInstanceUID)
J2K_STUDY=$(uid_of "$WORK/in/j2k/JPEG2000.dcm" StudyInstanceUID)
J2K_SOP=$(uid_of "$WORK/in/j2k/JPEG2000.dcm" SOPInstanceUID)
RLE_STUDY=$(uid_of "$WORK/in/rle/SC_rgb_rle_2frame.dcm" StudyInstanceUID)
MANY_STUDY=1.2.826.0.1.3680043.8.498.7777
CT_CLASS=1.2.840.10008.5.1.4.1.1.2

# same_as_originals DIR N: DIR holds N files, each with the data set of the
# input file with its SOP Instance UID. Not compared: group 0002, and Data
# Set Trailing Padding (FFFC,FFFC), which has no meaning (PS3.10 7.2) and
# which storescu drops on the way in (MR_small has one).
cat >"$WORK/same.py" <<'PYEOF'
import glob, sys, pydicom
d, want = sys.argv[1], int(sys.argv[2])
PAD = 0xFFFCFFFC
orig = {}
for p in glob.glob(sys.argv[3] + "/*/*.dcm"):
    o = pydicom.dcmread(p)
    if PAD in o:
        del o[PAD]
    orig[o.SOPInstanceUID] = o
got = sorted(glob.glob(d + "/*"))
bad = 0
for p in got:
    r = pydicom.dcmread(p)
    if PAD in r:
        del r[PAD]
    o = orig.get(r.SOPInstanceUID)
    if o is None or r != o:
        print("  differs: %s" % p)
        bad += 1
    elif r.file_meta.TransferSyntaxUID != o.file_meta.TransferSyntaxUID and \
            o.file_meta.TransferSyntaxUID.is_compressed:
        print("  %s: compressed original arrived as %s" % (p, r.file_meta.TransferSyntaxUID))
        bad += 1
if len(got) != want:
    print("  %d file(s) received, %d expected" % (len(got), want))
sys.exit(0 if bad == 0 and len(got) == want else 1)
PYEOF
same_as_originals() { $PY "$WORK/same.py" "$1" "$2" "$WORK/in"; }

# ---- the peers -----------------------------------------------------------
P_DEST=$(free_port)
P_PLAIN=$(free_port)
P_DOWN=$(free_port) # nothing listens there
mkdir -p "$WORK/dest" "$WORK/plain"
start_bg "$WORK/dest.log" storescp -aet DEST +xa -od "$WORK/dest" "$P_DEST"
start_bg "$WORK/plain.log" storescp -aet PLAIN -od "$WORK/plain" "$P_PLAIN"
if ! PACSD_WAIT_DICOM=1 start_pacsd "$WORK/data" "$WORK/pacsd.log" --aet PACSD \
	--remote-ae "DEST=127.0.0.1:$P_DEST" \
	--remote-ae "PLAIN=127.0.0.1:$P_PLAIN" \
	--remote-ae "DOWN=127.0.0.1:$P_DOWN" ||
	! wait_port "$P_DEST" || ! wait_port "$P_PLAIN"; then
	bad "the servers did not start"
	finish
fi
SPID=$PACSD_PID
P_DICOM=$DICOM_PORT

SCU=(-aec PACSD 127.0.0.1 "$P_DICOM")
check "storescu native files" $TO storescu "${SCU[@]}" "$WORK"/in/native/*.dcm
check "storescu 40 instances" $TO storescu "${SCU[@]}" "$WORK"/in/many/*.dcm
check "storescu JPEG 2000 (-xw)" $TO storescu -xw "${SCU[@]}" "$WORK/in/j2k/JPEG2000.dcm"
check "storescu RLE multi-frame (-xr)" $TO storescu -xr "${SCU[@]}" "$WORK/in/rle/SC_rgb_rle_2frame.dcm"

clear_dir() { rm -f "$1"/*; }
out="$WORK/out.txt"

# ---- C-MOVE --------------------------------------------------------------
# move NAME EXPECTED_FILES MOVESCU-ARGS...: to DEST; exit 0 and the files.
move() {
	local name=$1 n=$2
	shift 2
	clear_dir "$WORK/dest"
	if ! $TO movescu -v -aem DEST "$@" "${SCU[@]}" >"$out" 2>&1; then
		bad "$name: movescu failed"
		sed 's/^/  /' "$out"
		return
	fi
	if grep -q "Final Move Response (Success)" "$out" &&
		same_as_originals "$WORK/dest" "$n"; then
		ok "$name: $n instance(s) equal to the originals"
	else
		bad "$name"
		sed 's/^/  /' "$out" | tail -5
	fi
}
move "C-MOVE STUDY (study root)" 3 -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$MR_STUDY"
move "C-MOVE STUDY list of two studies" 4 -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$MR_STUDY\\$CT_STUDY"
move "C-MOVE SERIES" 1 -S -k QueryRetrieveLevel=SERIES -k "StudyInstanceUID=$MR_STUDY" -k "SeriesInstanceUID=$MR_SERIES9"
move "C-MOVE IMAGE (UID list)" 2 -S -k QueryRetrieveLevel=IMAGE -k "StudyInstanceUID=$MR_STUDY" \
	-k "SeriesInstanceUID=$MR_SERIES" -k "SOPInstanceUID=$MR_SOP1\\$MR_SOP2"
move "C-MOVE PATIENT (patient root)" 3 -P -k QueryRetrieveLevel=PATIENT -k PatientID=4MR1
move "C-MOVE STUDY (patient root, PatientID given)" 3 -P -k QueryRetrieveLevel=STUDY -k PatientID=4MR1 -k "StudyInstanceUID=$MR_STUDY"
move "C-MOVE JPEG 2000 as stored" 1 -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$J2K_STUDY"
move "C-MOVE RLE multi-frame as stored" 1 -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$RLE_STUDY"

# Nothing matches: Success, no sub-operation.
clear_dir "$WORK/dest"
$TO movescu -d -S -aem DEST -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=1.2.3.4.5.6.7 "${SCU[@]}" >"$out" 2>&1
if grep -q "DIMSE Status *: 0x0000" "$out" && grep -q "Completed Suboperations *: 0$" "$out" &&
	[ -z "$(ls "$WORK/dest")" ]; then
	ok "C-MOVE matching nothing: Success with 0 sub-operations"
else
	bad "C-MOVE matching nothing"
fi

# PLAIN accepts no JPEG 2000: the only sub-operation fails -> A702 with
# the Failed SOP Instance UID List.
$TO movescu -d -S -aem PLAIN -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$J2K_STUDY" "${SCU[@]}" >"$out" 2>&1
if grep -q "DIMSE Status *: 0xa702" "$out" &&
	grep -q "FailedSOPInstanceUIDList" "$out" && grep -q "$J2K_SOP" "$out" &&
	grep -q "Failed Suboperations *: 1" "$out"; then
	ok "C-MOVE of J2K to an uncompressed-only destination: A702 + Failed SOP Instance UID List"
else
	bad "C-MOVE of J2K to PLAIN"
	tail -20 "$out" | sed 's/^/  /'
fi

# Mixed: J2K + CT to PLAIN: one fails, one completes -> Warning B000.
$TO movescu -d -S -aem PLAIN -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$J2K_STUDY\\$CT_STUDY" "${SCU[@]}" >"$out" 2>&1
if grep -q "DIMSE Status *: 0xb000" "$out" &&
	grep -q "Failed Suboperations *: 1" "$out" && grep -q "Completed Suboperations *: 1" "$out" &&
	grep -q "$J2K_SOP" "$out"; then
	ok "C-MOVE with one failed sub-operation of two: Warning B000"
else
	bad "C-MOVE mixed to PLAIN"
	tail -20 "$out" | sed 's/^/  /'
fi

# A destination that does not listen: no sub-operation can be performed.
$TO movescu -d -S -aem DOWN -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$MR_STUDY" "${SCU[@]}" >"$out" 2>&1
if grep -q "DIMSE Status *: 0xa702" "$out" && grep -q "Failed Suboperations *: 3" "$out" &&
	[ "$(grep -o "$MR_STUDY_SOP_PREFIX[0-9.]*" "$out" | sort -u | wc -l)" = 3 ]; then
	ok "C-MOVE to a destination that does not listen: A702, 3 failed, 3 UIDs listed"
else
	bad "C-MOVE to a destination that does not listen"
	tail -20 "$out" | sed 's/^/  /'
fi

# Unknown destination, twice on one association: A801 both times.
$TO movescu -v --repeat 2 -S -aem NOWHERE -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$MR_STUDY" "${SCU[@]}" >"$out" 2>&1
if [ "$(grep -c "Final Move Response (Refused: MoveDestinationUnknown)" "$out")" = 2 ] &&
	grep -q "Releasing Association" "$out"; then
	ok "C-MOVE to an unknown AE: A801 (twice on one association)"
else
	bad "C-MOVE to an unknown AE"
	tail -8 "$out" | sed 's/^/  /'
fi

# Identifiers that do not match the SOP class: A900, twice on one
# association, which stays usable.
a900() {
	local name=$1
	shift
	$TO movescu -v --repeat 2 -aem DEST "$@" "${SCU[@]}" >"$out" 2>&1
	if [ "$(grep -c "Final Move Response (Error: DataSetDoesNotMatchSOPClass)" "$out")" = 2 ]; then
		ok "A900: $name"
	else
		bad "A900: $name"
		tail -4 "$out" | sed 's/^/  /'
	fi
}
a900 "PATIENT level in the Study Root model" -S -k QueryRetrieveLevel=PATIENT -k PatientID=4MR1
a900 "no QueryRetrieveLevel" -S -k "StudyInstanceUID=$MR_STUDY"
a900 "SERIES level without SeriesInstanceUID" -S -k QueryRetrieveLevel=SERIES -k "StudyInstanceUID=$MR_STUDY"
a900 "wildcard in a unique key" -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=1.3.6*"
a900 "empty UID in a list" -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=1.2\\\\1.3"
a900 "key below the level" -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$MR_STUDY" -k "SOPInstanceUID=$MR_SOP1"

# C-CANCEL after the first pending response: final Cancel, not all sent.
clear_dir "$WORK/dest"
$TO movescu -d --cancel 1 -S -aem DEST -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$MANY_STUDY" "${SCU[@]}" >"$out" 2>&1
got=$(ls "$WORK/dest" | wc -l)
if grep -q "DIMSE Status *: 0xfe00" "$out" && [ "$got" -ge 1 ] && [ "$got" -lt 40 ] &&
	[ "$(grep "Remaining Suboperations" "$out" | tail -1 | grep -o "[0-9]*$")" = $((40 - got)) ]; then
	ok "C-MOVE C-CANCEL: final Cancel after $got of 40, remaining $((40 - got))"
else
	bad "C-MOVE C-CANCEL ($got received)"
	grep -E "Response|Remaining" "$out" | tail -6 | sed 's/^/  /'
fi

# ---- C-GET ---------------------------------------------------------------
get() { # get NAME EXPECTED_FILES GETSCU-ARGS...
	local name=$1 n=$2
	shift 2
	rm -rf "$WORK/got"
	mkdir -p "$WORK/got"
	if ! $TO getscu -v -od "$WORK/got" "$@" "${SCU[@]}" >"$out" 2>&1; then
		bad "$name: getscu failed"
		tail -5 "$out" | sed 's/^/  /'
		return
	fi
	if grep -q "Number of Failed Suboperations *: 0" "$out" && same_as_originals "$WORK/got" "$n"; then
		ok "$name: $n instance(s) equal to the originals"
	else
		bad "$name"
		tail -8 "$out" | sed 's/^/  /'
	fi
}
get "C-GET STUDY" 3 -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$MR_STUDY"
get "C-GET SERIES (patient root)" 2 -P -k QueryRetrieveLevel=SERIES -k PatientID=4MR1 -k "StudyInstanceUID=$MR_STUDY" -k "SeriesInstanceUID=$MR_SERIES"
get "C-GET JPEG 2000 proposed (+xw)" 1 +xw -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$J2K_STUDY"
get "C-GET RLE multi-frame proposed (+xr)" 1 +xr -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$RLE_STUDY"

# J2K with only uncompressed syntaxes proposed: the sub-operation fails,
# the final status says so (dcmtk's getscu then aborts instead of
# releasing: it does not read the final response's Failed SOP Instance
# UID List), and nothing hangs.
rm -rf "$WORK/got"
mkdir -p "$WORK/got"
$TO getscu -d -S -od "$WORK/got" -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$J2K_STUDY" "${SCU[@]}" >"$out" 2>&1
rc=$?
if [ $rc -ne 124 ] && grep -q "DIMSE Status *: 0xa702" "$out" &&
	grep -q "Number of Failed Suboperations *: 1" "$out" && [ -z "$(ls "$WORK/got")" ]; then
	ok "C-GET of J2K without a J2K context: sub-operation failed, final A702, no hang"
else
	bad "C-GET of J2K without a J2K context (rc $rc)"
	tail -12 "$out" | sed 's/^/  /'
fi

cat >"$WORK/rawget.py" <<'PYEOF'
import socket, struct, sys

# A minimal C-GET SCU over raw PDUs (PS3.8 9.3, PS3.7 9.3.3), for what
# dcmtk's getscu cannot do: cancel while a C-STORE sub-operation is
# unanswered, or propose storage without the SCP role.
# usage: rawget.py PORT STUDY_UID SOP_CLASS MODE (cancel | norole | release)
port, study, sop_class, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
GET = "1.2.840.10008.5.1.4.1.2.2.3"
EXPL = "1.2.840.10008.1.2.1"


def uid(s):
    b = s.encode()
    return b + b"\0" if len(b) % 2 else b


def item(t, body):
    return struct.pack(">BBH", t, 0, len(body)) + body


def pc(pid, abstract, ts):
    return item(0x20, bytes([pid, 0, 0, 0]) + item(0x30, abstract.encode()) + item(0x40, ts.encode()))


def elem(g, e, v):
    if len(v) % 2:
        v += b"\0" if g == 0 else b" "
    return struct.pack("<HHI", g, e, len(v)) + v


def command(fields):
    body = b"".join(elem(0, e, v) for e, v in sorted(fields.items()))
    return elem(0, 0, struct.pack("<I", len(body))) + body


def us(v):
    return struct.pack("<H", v)


def parse_implicit(b):
    out, i = {}, 0
    while i + 8 <= len(b):
        g, e, n = struct.unpack_from("<HHI", b, i)
        out[(g, e)] = b[i + 8:i + 8 + n]
        i += 8 + n
    return out


def explicit_ui(g, e, v):
    v = uid(v) if isinstance(v, str) else v
    return struct.pack("<HH2sH", g, e, b"UI", len(v)) + v


s = socket.create_connection(("127.0.0.1", port), timeout=30)


def send_pdu(t, body):
    s.sendall(struct.pack(">BBI", t, 0, len(body)) + body)


def recv_exact(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("connection closed")
        b += c
    return b


def recv_pdu():
    t, _, n = struct.unpack(">BBI", recv_exact(6))
    return t, recv_exact(n)


def send_msg(pid, cmd, data=None):
    send_pdu(4, struct.pack(">IBB", len(cmd) + 2, pid, 3) + cmd)
    if data is not None:
        send_pdu(4, struct.pack(">IBB", len(data) + 2, pid, 2) + data)


pending = []  # PDVs not yet consumed: (pid, control, bytes)


def next_pdv():
    while not pending:
        t, body = recv_pdu()
        if t != 4:
            raise RuntimeError("unexpected PDU type %d" % t)
        i = 0
        while i < len(body):
            n = struct.unpack_from(">I", body, i)[0]
            pending.append((body[i + 4], body[i + 5], body[i + 6:i + 4 + n]))
            i += 4 + n
    return pending.pop(0)


def recv_msg():
    cmd = b""
    while True:
        pid, ctl, b = next_pdv()
        cmd += b
        if ctl & 2:
            break
    f = parse_implicit(cmd)
    data = None
    if struct.unpack("<H", f[(0, 0x800)])[0] != 0x0101:
        data = b""
        while True:
            pid, ctl, b = next_pdv()
            data += b
            if ctl & 2:
                break
    return pid, f, data


user = item(0x51, struct.pack(">I", 65536)) + item(0x52, b"1.2.3.4")
if mode != "norole":
    r = sop_class.encode()
    user += item(0x54, struct.pack(">H", len(r)) + r + bytes([0, 1]))
rq = (struct.pack(">HH", 1, 0) + b"PACSD".ljust(16) + b"RAWGET".ljust(16) + bytes(32)
      + item(0x10, b"1.2.840.10008.3.1.1.1") + pc(1, GET, EXPL) + pc(3, sop_class, EXPL)
      + item(0x50, user))
send_pdu(1, rq)
t, _ = recv_pdu()
if t != 2:
    sys.exit("association not accepted (PDU type %d)" % t)

ident = (struct.pack("<HH2sH", 8, 0x52, b"CS", 6) + b"STUDY " + explicit_ui(0x20, 0xD, study))
send_msg(1, command({2: uid(GET), 0x100: us(0x10), 0x110: us(1), 0x700: us(0), 0x800: us(0)}), ident)

stores = 0
cancel_sent = False
while True:
    pid, f, data = recv_msg()
    field = struct.unpack("<H", f[(0, 0x100)])[0]
    if field == 0x0001:  # C-STORE-RQ: a sub-operation
        stores += 1
        if mode == "release":
            # A-RELEASE-RQ with the sub-operation unanswered: the final
            # C-GET-RSP must still come, then the A-RELEASE-RP (PS3.8 Sta8).
            send_pdu(5, bytes(4))
            pid, f, data = recv_msg()
            status = struct.unpack("<H", f[(0, 0x900)])[0]
            t, _ = recv_pdu()
            print("stores=%d status=0x%04X release=%s" % (stores, status, "ok" if t == 6 else "pdu %d" % t))
            sys.exit(0)
        if mode == "cancel" and not cancel_sent:
            # PS3.7 9.3.2.3: the C-CANCEL-RQ arrives before the C-STORE-RSP.
            send_msg(1, command({0x100: us(0x0FFF), 0x120: us(1), 0x800: us(0x0101)}))
            cancel_sent = True
        send_msg(pid, command({2: f[(0, 2)], 0x100: us(0x8001), 0x120: f[(0, 0x110)],
                               0x800: us(0x0101), 0x900: us(0), 0x1000: f[(0, 0x1000)]}))
        continue
    if field != 0x8010:
        sys.exit("unexpected command 0x%04x" % field)
    status = struct.unpack("<H", f[(0, 0x900)])[0]
    if status == 0xFF00:
        continue
    def count(e):
        v = f.get((0, e))
        return struct.unpack("<H", v)[0] if v else -1
    failed_list = 0
    if data:
        # Explicit VR LE: (0008,0058) UI with a 16-bit length.
        g, e, vr, n = struct.unpack_from("<HH2sH", data, 0)
        if (g, e) == (8, 0x58):
            failed_list = len(data[8:8 + n].rstrip(b"\0 ").split(b"\\"))
    print("stores=%d status=0x%04X remaining=%d completed=%d failed=%d warning=%d failed_list=%d"
          % (stores, status, count(0x1020), count(0x1021), count(0x1022), count(0x1023), failed_list))
    break

send_pdu(5, bytes(4))
t, _ = recv_pdu()
print("release=%s" % ("ok" if t == 6 else "pdu %d" % t))
PYEOF
$TO $PY "$WORK/rawget.py" "$P_DICOM" "$MANY_STUDY" "$CT_CLASS" cancel >"$out" 2>&1
if grep -q "stores=1 status=0xFE00 remaining=39 completed=1 failed=0" "$out" && grep -q "release=ok" "$out"; then
	ok "C-GET C-CANCEL while a C-STORE is unanswered: Cancel after 1, 39 remaining, release ok"
else
	bad "C-GET C-CANCEL"
	sed 's/^/  /' "$out"
fi
$TO $PY "$WORK/rawget.py" "$P_DICOM" "$MANY_STUDY" "$CT_CLASS" norole >"$out" 2>&1
if grep -q "stores=0 status=0xA702 remaining=-1 completed=0 failed=40 warning=0 failed_list=40" "$out" &&
	grep -q "release=ok" "$out"; then
	ok "C-GET without the SCP role: 40 failed, A702, 40 UIDs in the Failed SOP Instance UID List"
else
	bad "C-GET without the SCP role"
	sed 's/^/  /' "$out"
fi

$TO $PY "$WORK/rawget.py" "$P_DICOM" "$MANY_STUDY" "$CT_CLASS" release >"$out" 2>&1
if grep -q "stores=1 status=0xFE00 release=ok" "$out"; then
	ok "C-GET with A-RELEASE-RQ while a C-STORE is unanswered: final Cancel, then A-RELEASE-RP"
else
	bad "C-GET release during a sub-operation"
	sed 's/^/  /' "$out"
fi

# A stored file gone from the blob store (the index still names it): that
# sub-operation fails, the others complete -> Warning B000 naming it, for
# C-MOVE and C-GET alike.
blob=$($PY - "$WORK/data" "$MR_SOP1" <<'PYEOF'
import os, sys, pydicom
for root, _, files in os.walk(os.path.join(sys.argv[1], "blobs")):
    for f in files:
        p = os.path.join(root, f)
        try:
            if pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID == sys.argv[2]:
                print(p)
        except Exception:
            pass
PYEOF
)
if [ -n "$blob" ] && mv "$blob" "$WORK/moved-blob"; then
	clear_dir "$WORK/dest"
	$TO movescu -d -S -aem DEST -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$MR_STUDY" "${SCU[@]}" >"$out" 2>&1
	if grep -q "DIMSE Status *: 0xb000" "$out" && grep -q "Completed Suboperations *: 2" "$out" &&
		grep -q "FailedSOPInstanceUIDList" "$out" && grep -q "\[$MR_SOP1\]" "$out" &&
		[ "$(ls "$WORK/dest" | wc -l)" = 2 ]; then
		ok "C-MOVE with a stored file missing: B000, 2 completed, the missing one listed"
	else
		bad "C-MOVE with a stored file missing"
		tail -20 "$out" | sed 's/^/  /'
	fi
	rm -rf "$WORK/got"
	mkdir -p "$WORK/got"
	$TO getscu -d -S -od "$WORK/got" -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$MR_STUDY" "${SCU[@]}" >"$out" 2>&1
	if grep -q "DIMSE Status *: 0xb000" "$out" && grep -q "Number of Completed Suboperations *: 2" "$out" &&
		grep -q "Number of Failed Suboperations *: 1" "$out" && [ "$(ls "$WORK/got" | wc -l)" = 2 ]; then
		ok "C-GET with a stored file missing: B000, 2 completed, 1 failed"
	else
		bad "C-GET with a stored file missing"
		tail -20 "$out" | sed 's/^/  /'
	fi
	mv "$WORK/moved-blob" "$blob"
else
	bad "cannot find the blob of $MR_SOP1"
fi

# ---- the server after all that --------------------------------------------
check "pacsd still answers C-ECHO" $TO echoscu "${SCU[@]}"
if grep -q "C-MOVE STUDY from \"MOVESCU\" to \"DEST\": 3 instance(s), 3 completed, 0 failed, 0 warning: status 0x0000" "$WORK/pacsd.log"; then
	ok "one log line per request with the counts"
else
	bad "log line"
fi
stop_pacsd "$SPID"
rc=$?
if [ $rc -eq 0 ] && ! sanitizer_report "$WORK/pacsd.log"; then
	ok "pacsd exits cleanly (sanitizers quiet)"
else
	bad "pacsd exit status $rc"
fi

finish
