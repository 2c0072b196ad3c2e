#!/usr/bin/python3
"""Checks what storescu sent against what pacsd answered and stored.

usage: check_store.py WIRE_DIR RUNS_FILE HTTP_BASE DATA_DIR DUMP_DIR

WIRE_DIR holds wiretap.py's recordings; RUNS_FILE has one line per storescu
run: "<verbose log> <first connection> <last connection>" (connections
numbered from 1, first > last when the run opened none).
For every C-STORE-RQ on the wire (paired with the file storescu said it was
sending): the response status; for each instance answered Success, the
stored file (its handle from the index in DATA_DIR, read-only; the file by
GET /uploads/dicom/{handle}) must carry the negotiated transfer syntax and
the same SOP UIDs in its meta header, and its data set must be
byte-identical to the bytes on the wire. WADO-RS (QIDO-RS to find it,
transfer-syntax=*) must give the same bytes, except that it re-encodes
Implicit VR and Big Endian as Explicit VR Little Endian (PS3.18 8.7.3):
then pydicom must read the same elements from both. Each stored file is
written to DUMP_DIR/<n>.dcm for the C-FIND checks. A refusal
must be one of pacsd's documented statuses with a reason the data set
really has (checked with pydicom), and a second transmission of a UID
must succeed if its bytes are those stored and get 0x0111 otherwise.

Prints "ok ..." / "FAIL ..." lines, "REFUSED ..." listing lines, and last
"PY_RESULT <passed> <failed>".
"""
import io
import os
import re
import sys
import warnings

import dul
import httpget

UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
SUCCESS = {0x0000}
WARNING = {0xB000, 0xB006, 0xB007}

passed = 0
failed = 0


def ok(msg):
    global passed
    passed += 1
    print("ok   " + msg)


def bad(msg):
    global failed
    failed += 1
    print("FAIL " + msg)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def connection(wire, n):
    base = os.path.join(wire, "conn-%04d" % n)
    c2s = dul.split_pdus(read(base + ".c2s"))
    s2c = dul.split_pdus(read(base + ".s2c"))
    rq = next((dul.parse_associate(b) for t, b in c2s
               if t == dul.A_ASSOCIATE_RQ), None)
    ac = next((dul.parse_associate(b) for t, b in s2c
               if t == dul.A_ASSOCIATE_AC), None)
    if rq is None or ac is None:
        raise RuntimeError("conn %d: no A-ASSOCIATE-RQ/AC" % n)
    ts_of = {pc: names[0] for pc, (res, names) in ac["contexts"].items()
             if res == 0 and names}
    sent = list(dul.messages(b for t, b in c2s if t == dul.P_DATA_TF))
    rsps = {}
    for pc, cmd, _ in dul.messages(b for t, b in s2c if t == dul.P_DATA_TF):
        rsps[cmd.get("MessageIDBeingRespondedTo")] = cmd
    out = []
    for pc, cmd, data in sent:
        if cmd.get("CommandField") != dul.C_STORE_RQ:
            continue
        rsp = rsps.get(cmd.get("MessageID"), {})
        out.append({"uid": cmd.get("AffectedSOPInstanceUID", ""),
                    "class": cmd.get("AffectedSOPClassUID", ""),
                    "ts": ts_of.get(pc, "?"), "data": data or b"",
                    "status": rsp.get("Status"),
                    "comment": rsp.get("ErrorComment", ""),
                    "rsp_uid": rsp.get("AffectedSOPInstanceUID", "")})
    return out


def files_sent(log):
    """The files storescu sent a C-STORE-RQ for, in order."""
    cur = None
    out = []
    with open(log, errors="replace") as f:
        for line in f:
            m = re.match(r"I: Sending file: (.*)$", line.rstrip("\n"))
            if m:
                cur = m.group(1)
            elif line.startswith("I: Sending Store Request"):
                out.append(cur)
    return out


def refusal_reason(t):
    """Why the data set deserves a refusal, or None when it looks fine."""
    import pydicom
    from pydicom.filereader import read_dataset
    implicit = t["ts"] == dul.IMPLICIT_LE
    little = t["ts"] != "1.2.840.10008.1.2.2"
    data = t["data"]
    if t["ts"] == "1.2.840.10008.1.2.1.99":
        import zlib
        try:
            data = zlib.decompress(data, -15)
        except zlib.error:
            return "deflate stream does not inflate"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = read_dataset(io.BytesIO(data), implicit, little)
            for elem in ds.iterall():  # parse every value, lazily read
                _ = elem.value
    except Exception as e:  # noqa: BLE001
        return "pydicom cannot parse it either: %s" % e
    for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        v = str(ds.get(kw, "")).strip("\0 ")
        if not v:
            return "no %s" % kw
        if len(v) > 64 or not UID_RE.match(v):
            return "%s %r is not a valid UID" % (kw, v)
    if str(ds.SOPInstanceUID).strip("\0 ") != t["uid"]:
        return "SOPInstanceUID differs from the command's"
    del pydicom
    return None


def same_elements(a_bytes, a_ts, b_bytes, b_ts):
    """pydicom reads the same elements (tag, VR, value) from both data
    sets; -> None or the first difference."""
    from pydicom.filereader import read_dataset

    def load(b, ts):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = read_dataset(io.BytesIO(b), ts == dul.IMPLICIT_LE,
                              ts != "1.2.840.10008.1.2.2")
            return [(e.tag, e.VR, e.value) for e in ds.iterall()
                    if e.VR != "SQ"]
    try:
        a = load(a_bytes, a_ts)
        b = load(b_bytes, b_ts)
    except Exception as e:  # noqa: BLE001
        return "unreadable: %s" % e
    for x, y in zip(a, b):
        if x[0] != y[0] or x[2] != y[2]:
            return "%s %r != %s %r" % (x[0], x[2], y[0], y[2])
    if len(a) != len(b):
        return "%d elements, %d" % (len(a), len(b))
    return None


def handle_of(data_dir, uid):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        data_dir, "index.sqlite3"), uri=True, timeout=30)
    try:
        row = db.execute("SELECT handle FROM instances WHERE sop_uid = ?",
                         (uid,)).fetchone()
    finally:
        db.close()
    return row[0] if row else None


def check_meta(meta, t, ts):
    errs = []
    if httpget.meta_str(meta, 0x00020010) != ts:
        errs.append("meta transfer syntax %s, expected %s"
                    % (httpget.meta_str(meta, 0x00020010), ts))
    if httpget.meta_str(meta, 0x00020003) != t["uid"]:
        errs.append("meta SOP instance %s"
                    % httpget.meta_str(meta, 0x00020003))
    if httpget.meta_str(meta, 0x00020002) != t["class"]:
        errs.append("meta SOP class %s" % httpget.meta_str(meta, 0x00020002))
    return errs


def first_diff(a, b):
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    return "differs at byte %d (stored %d bytes, sent %d)" % (i, len(a), len(b))


def main():
    wire, runs_file, base, data_dir, dump = sys.argv[1:6]
    os.makedirs(dump, exist_ok=True)
    runs = []
    with open(runs_file) as f:
        for ln in f:
            if ln.strip():
                log, first, last = ln.split()
                runs.append((log, int(first), int(last)))
    trans = []
    for log, first, last in runs:
        stores = []
        try:
            for n in range(first, last + 1):
                stores += connection(wire, n)
        except Exception as e:  # noqa: BLE001
            bad("%s: wire recording unreadable: %s" % (log, e))
            continue
        names = files_sent(log)
        if len(names) != len(stores):
            bad("%s: storescu logged %d store requests, the wire has %d"
                % (os.path.basename(log), len(names), len(stores)))
            names = (names + ["?"] * len(stores))[:len(stores)]
        for name, t in zip(names, stores):
            t["file"] = name
            trans.append(t)
    ok("%d C-STORE-RQ on the wire from %d storescu runs"
       % (len(trans), len(runs)))

    stored = {}  # uid -> the transmission whose bytes pacsd keeps
    refused = []
    n_dup_ok = n_dup_refused = 0
    for t in trans:
        name = os.path.relpath(t["file"], "/usr/lib/python3/dist-packages/"
                               "pydicom/data") if t["file"] != "?" else "?"
        st = t["status"]
        if st is None:
            bad("%s: no C-STORE-RSP" % name)
            continue
        if t["rsp_uid"] and t["rsp_uid"] != t["uid"]:
            bad("%s: response names %s, request %s"
                % (name, t["rsp_uid"], t["uid"]))
        prev = stored.get(t["uid"])
        if prev is not None:
            same = prev["data"] == t["data"] and prev["ts"] == t["ts"]
            if same and st in SUCCESS | WARNING:
                n_dup_ok += 1
            elif not same and st == 0x0111:
                n_dup_refused += 1
                refused.append((name, st, t["comment"],
                                "same SOP Instance UID as %s, other bytes"
                                % os.path.basename(prev["file"])))
            else:
                bad("%s: repeat of %s (%s bytes) answered 0x%04x"
                    % (name, t["uid"], "same" if same else "other", st))
            continue
        if st in SUCCESS | WARNING:
            stored[t["uid"]] = t
            continue
        why = refusal_reason(t)
        refused.append((name, st, t["comment"], why or "?"))
        if st not in (0xA900, 0xC000, 0xA700):
            bad("%s: unexpected status 0x%04x (%s)" % (name, st, t["comment"]))
        elif why is None:
            bad("%s: refused 0x%04x (%s) though pydicom finds its UIDs fine"
                % (name, st, t["comment"]))
        elif st == 0xA700:
            bad("%s: out of resources (0xA700): %s" % (name, t["comment"]))
        else:
            ok("%s refused 0x%04x: %s" % (name, st, why))
    ok("%d repeats with the same bytes answered Success, %d with other "
       "bytes 0x0111" % (n_dup_ok, n_dup_refused))

    for name, st, comment, why in refused:
        print("REFUSED %-46s 0x%04x %-36s | %s"
              % (name, st, comment[:36], why))

    by_ts = {}
    n_same = n_wado = n_wado_reenc = 0
    for uid, t in stored.items():
        name = os.path.basename(t["file"])
        try:
            h = handle_of(data_dir, uid)
            st, _, p10 = httpget.get(base, "/uploads/dicom/%s" % h,
                                     "application/dicom")
            if st != 200:
                raise RuntimeError("GET /uploads/dicom/%s: HTTP %d" % (h, st))
            meta, data = httpget.split_meta(p10)
        except Exception as e:  # noqa: BLE001
            bad("%s (%s): stored file: %s" % (name, uid, e))
            continue
        with open(os.path.join(dump, "%d.dcm" % len(os.listdir(dump))),
                  "wb") as f:
            f.write(p10)
        errs = check_meta(meta, t, t["ts"])
        if data != t["data"]:
            errs.append("data set " + first_diff(data, t["data"]))
        if errs:
            bad("%s (%s): stored file: %s" % (name, uid, "; ".join(errs)))
        else:
            n_same += 1
            by_ts[t["ts"]] = by_ts.get(t["ts"], 0) + 1
        # WADO-RS, transfer-syntax=*.
        try:
            meta, data = httpget.split_meta(httpget.fetch_instance(base, uid))
        except Exception as e:  # noqa: BLE001
            bad("%s (%s): WADO-RS: %s" % (name, uid, e))
            continue
        reenc = t["ts"] in (dul.IMPLICIT_LE, "1.2.840.10008.1.2.2")
        want = dul.EXPLICIT_LE if reenc else t["ts"]
        errs = check_meta(meta, t, want)
        if not reenc and data != t["data"]:
            errs.append("data set " + first_diff(data, t["data"]))
        elif reenc:
            d = same_elements(data, want, t["data"], t["ts"])
            if d:
                errs.append("re-encoded data set: " + d)
        if errs:
            bad("%s (%s): WADO-RS: %s" % (name, uid, "; ".join(errs)))
        elif reenc:
            n_wado_reenc += 1
        else:
            n_wado += 1
    if n_same == len(stored) and stored:
        ok("all %d stored instances byte-identical to the wire (by transfer "
           "syntax: %s)" % (n_same, ", ".join(
               "%s=%d" % (k, v) for k, v in sorted(by_ts.items()))))
    elif stored:
        bad("%d of %d stored instances byte-identical" % (n_same, len(stored)))
    else:
        bad("nothing stored")
    print("INFO stored by negotiated transfer syntax: " + ", ".join(
        "%s=%d" % (k, v) for k, v in sorted(by_ts.items())))
    missing = sorted({t["ts"] for t in trans} - set(by_ts))
    if missing:
        bad("transfer syntaxes sent but never stored byte-identical: %s"
            % ", ".join(missing))
    else:
        ok("every transfer syntax on the wire has stored instances")
    if n_wado + n_wado_reenc == len(stored) and stored:
        ok("WADO-RS transfer-syntax=*: %d byte-identical, %d implicit/big "
           "endian re-encoded as explicit with the same elements"
           % (n_wado, n_wado_reenc))
    print("STORED_UIDS %d" % len(stored))
    print("PY_RESULT %d %d" % (passed, failed))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
