#!/usr/bin/python3
"""Checks pacsd's STOW-RS, QIDO-RS and DELETE against what pydicom reads.

  check_dicomweb.py main BASE_URL DATA_DIR WORK_DIR
      synthetic studies: STOW (quoted/unquoted type, study URL, wrong study,
      non-DICOM parts, duplicates, malformed bodies, chunked large part),
      QIDO at each level with each matching rule, DELETE; then pydicom's
      test corpus: every file STOWed alone, QIDO results compared with
      what pydicom reads from the stored files.
  check_dicomweb.py maxresults BASE_URL WORK_DIR
      a server started with --qido-max-results 2 --max-body 1M: Warning
      299, 413.

Prints "ok ..."/"FAIL ..." lines and last "PY_RESULT <passed> <failed>".
"""
import copy
import fnmatch
import glob
import hashlib
import os
import sys
import warnings

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dwlib  # noqa: E402
from dwlib import Part, get, seq_items, stow, value, values  # noqa: E402

import pydicom  # noqa: E402

warnings.filterwarnings("ignore")  # pydicom's remarks on odd corpus files
from pydicom.uid import generate_uid  # noqa: E402

import pydicom.data  # noqa: E402
PYDICOM_DATA = os.path.dirname(pydicom.data.__file__)

PASSED = 0
FAILED = 0

T_STUDY = "0020000D"
T_SERIES = "0020000E"
T_SOP = "00080018"
T_RETRIEVE_URL = "00081190"
T_FAILED_SEQ = "00081198"
T_REF_SEQ = "00081199"
T_REF_CLASS = "00081150"
T_REF_SOP = "00081155"
T_REASON = "00081197"
SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"
MORE = "There are additional results that can be requested"


def check(cond, name, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print("ok   " + name)
    else:
        FAILED += 1
        print("FAIL " + name + (": " + str(detail) if detail else ""))
    return cond


def body_text(r):
    return r.body[:300].decode("utf-8", "replace")


# ---- synthetic data ---------------------------------------------------------

class Syn:
    """Four studies with known attributes, made from MR_small.dcm."""

    def __init__(self, work):
        self.dir = os.path.join(work, "syn")
        os.makedirs(self.dir, exist_ok=True)
        self.base = pydicom.dcmread(os.path.join(PYDICOM_DATA, "test_files",
                                                 "MR_small.dcm"))
        self.files = []      # paths in store order
        self.inst = {}       # sop uid -> dict of attributes + path
        self.study = {}      # key -> study uid
        self.series = {}     # key -> series uid
        studies = [
            # key, name, id, date, time, accession, description, charset
            ("A", "Doe^John", "P1", "20200115", "101500", "ACC001", "Alpha", None),
            ("B", "Doe^Jane", "P2", "20210310", "083000", "ACC002", "Beta", None),
            ("C", "Smith^Anna", "P3", "20221201", "235959", "ACC003", "Gamma", None),
            ("D", "Müller^Jörg", "P4", "19991231", "120000", "ACC004", "Delta",
             "ISO_IR 192"),
        ]
        series = [
            # study key, series key, modality, number, instances, sop class
            ("A", "A1", "CT", 1, 3, None),
            ("A", "A2", "MR", 2, 2, None),
            ("B", "B1", "CT", 1, 2, None),
            ("C", "C1", "OT", 1, 1, SC_CLASS),
            ("C", "C2", "MR", 2, 1, None),
            ("D", "D1", "MR", 1, 1, None),
        ]
        sattr = {s[0]: s for s in studies}
        for key in sattr:
            self.study[key] = generate_uid()
        for skey, sekey, modality, number, n, cls in series:
            self.series[sekey] = generate_uid()
            st = sattr[skey]
            for i in range(1, n + 1):
                ds = copy.deepcopy(self.base)
                sop = generate_uid()
                ds.StudyInstanceUID = self.study[skey]
                ds.SeriesInstanceUID = self.series[sekey]
                ds.SOPInstanceUID = sop
                ds.file_meta.MediaStorageSOPInstanceUID = sop
                if cls:
                    ds.SOPClassUID = cls
                    ds.file_meta.MediaStorageSOPClassUID = cls
                if st[7]:
                    ds.SpecificCharacterSet = st[7]
                ds.PatientName = st[1]
                ds.PatientID = st[2]
                ds.StudyDate = st[3]
                ds.StudyTime = st[4]
                ds.AccessionNumber = st[5]
                ds.StudyDescription = st[6]
                ds.Modality = modality
                ds.SeriesNumber = number
                ds.InstanceNumber = i
                path = os.path.join(self.dir, "%s_%d.dcm" % (sekey, i))
                ds.save_as(path, write_like_original=False)
                self.files.append(path)
                self.inst[sop] = {"study": skey, "series": sekey,
                                  "number": i, "path": path,
                                  "class": ds.SOPClassUID}

    def sops(self, series_key):
        return {s for s, a in self.inst.items() if a["series"] == series_key}

    def make_variant(self, sop, name):
        """Same UIDs, other bytes."""
        ds = pydicom.dcmread(self.inst[sop]["path"])
        ds.PatientComments = "changed"
        path = os.path.join(self.dir, name)
        ds.save_as(path, write_like_original=False)
        return path


def uids(r, tag):
    if r.status != 200:
        return None
    return {value(o, tag) for o in r.json()}


def qido_set(base, path, params, tag, name, expect, accept=None):
    r = get(base, path, params, accept=accept)
    if expect:
        ok = check(r.status == 200, name + " status 200", "%d %s" % (r.status, body_text(r)))
        if ok:
            got = uids(r, tag)
            check(got == expect, name + " result set", "got %s want %s" % (got, expect))
    else:
        check(r.status == 204 and r.body == b"", name + " 204 no match",
              "%d %s" % (r.status, body_text(r)))
    return r


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def data_dir_hashes(data_dir):
    out = set()
    for root, _, files in os.walk(data_dir):
        for f in files:
            p = os.path.join(root, f)
            if p.endswith((".sqlite", ".db", "-wal", "-shm", "-journal")):
                continue
            try:
                if os.path.getsize(p) < 128:
                    continue
                out.add(sha(p))
            except OSError:
                pass
    return out


def multipart_parts(r):
    """Bodies of the parts of a multipart response."""
    ct = r.header("content-type") or ""
    b = None
    for p in ct.split(";"):
        p = p.strip()
        if p.lower().startswith("boundary="):
            b = p[9:].strip('"')
    if b is None:
        return []
    delim = b"--" + b.encode()
    out = []
    for chunk in r.body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        out.append(data)
    return out


# ---- STOW-RS ----------------------------------------------------------------

def stow_ok(r, name, sops, status=200):
    if not check(r.status == status, name + " status %d" % status,
                 "%d %s" % (r.status, body_text(r))):
        return None
    ct = r.header("content-type") or ""
    check(ct.startswith("application/dicom+json"), name + " content type", ct)
    j = r.json()
    got = {value(i, T_REF_SOP) for i in seq_items(j, T_REF_SEQ)}
    check(got == set(sops), name + " ReferencedSOPSequence", "got %s" % got)
    for i in seq_items(j, T_REF_SEQ):
        url = value(i, T_RETRIEVE_URL) or ""
        check(url.endswith("/instances/" + value(i, T_REF_SOP)) and "/dicom-web/studies/" in url
              and value(i, T_REF_CLASS), name + " item RetrieveURL and class", i)
        break
    return j


def stow_failed(r, name, status, reason, sop=None):
    if not check(r.status == status, name + " status %d" % status,
                 "%d %s" % (r.status, body_text(r))):
        return None
    j = r.json()
    items = seq_items(j, T_FAILED_SEQ)
    check(len(items) >= 1, name + " FailedSOPSequence", j)
    if items:
        check(value(items[-1], T_REASON) == reason,
              name + " FailureReason 0x%04X" % reason, items[-1])
        if sop is not None:
            check(value(items[-1], T_REF_SOP) == sop,
                  name + " failed item names the SOP instance", items[-1])
    return j


def test_stow(base, syn):
    by_name = {os.path.basename(f)[:-4]: f for f in syn.files}
    sop_of = {a["path"]: s for s, a in syn.inst.items()}
    first = [by_name[k] for k in ("A1_1", "B1_1", "C1_1", "D1_1")]

    # Quoted type, several studies in one request.
    r = stow(base, [Part(path=f) for f in first])
    j = stow_ok(r, "STOW quoted type", {sop_of[f] for f in first})
    if j is not None:
        check(T_RETRIEVE_URL in j and not values(j, T_RETRIEVE_URL),
              "STOW several studies: empty study RetrieveURL", j.get(T_RETRIEVE_URL))

    # Unquoted type; parts without their own Content-Type.
    some = [by_name[k] for k in ("A1_2", "B1_2", "C2_1")]
    r = stow(base, [Part(path=f, ctype=None) for f in some],
             type_param="application/dicom")
    stow_ok(r, "STOW unquoted type, parts without Content-Type", {sop_of[f] for f in some})

    # Accept: application/json honoured.
    r = stow(base, [Part(path=by_name["A1_3"])], accept="application/json")
    check(r.status == 200 and (r.header("content-type") or "").startswith("application/json"),
          "STOW Accept application/json", "%d %s" % (r.status, r.header("content-type")))

    # Chunked transfer, to the study's URL, with a transfer-syntax parameter.
    a_study = syn.study["A"]
    a2 = [by_name["A2_1"], by_name["A2_2"]]
    r = stow(base, [Part(path=f, ctype="application/dicom; transfer-syntax=1.2.840.10008.1.2.1")
                    for f in a2],
             path="/dicom-web/studies/" + a_study, chunked=True)
    j = stow_ok(r, "STOW chunked to /studies/{study}", {sop_of[f] for f in a2})
    if j is not None:
        check((value(j, T_RETRIEVE_URL) or "").endswith("/dicom-web/studies/" + a_study),
              "STOW to a study: study RetrieveURL", j.get(T_RETRIEVE_URL))

    # Identical re-send: success.
    r = stow(base, [Part(path=first[0])])
    stow_ok(r, "STOW identical re-send", {sop_of[first[0]]})

    # Wrong study in the URL.
    b_file = by_name["B1_1"]
    r = stow(base, [Part(path=b_file)], path="/dicom-web/studies/" + syn.study["A"])
    stow_failed(r, "STOW to the wrong study", 409, 0xA900, sop_of[b_file])

    # Same SOP Instance UID, other bytes.
    var = syn.make_variant(sop_of[first[0]], "variant.dcm")
    r = stow(base, [Part(path=var)])
    stow_failed(r, "STOW duplicate UID with other bytes", 409, 0x0111, sop_of[first[0]])

    # Not DICOM: a text part, and garbage announced as application/dicom.
    r = stow(base, [Part(data=b"hello", ctype="text/plain")])
    stow_failed(r, "STOW text/plain part", 409, 0xC000)
    r = stow(base, [Part(data=b"This is no DICOM file. " * 40)])
    stow_failed(r, "STOW garbage application/dicom part", 409, 0xC000)

    # Mixed: one new instance and one garbage part -> 202.
    new = syn.make_variant(sop_of[first[0]], "mixed_new.dcm")
    ds = pydicom.dcmread(new)
    new_sop = generate_uid()
    ds.SOPInstanceUID = new_sop
    ds.file_meta.MediaStorageSOPInstanceUID = new_sop
    ds.InstanceNumber = 99
    ds.save_as(new, write_like_original=False)
    r = stow(base, [Part(path=new), Part(data=b"not dicom at all")])
    j = stow_ok(r, "STOW mixed stored and failed", {new_sop}, status=202)
    if j is not None:
        check(len(seq_items(j, T_FAILED_SEQ)) == 1, "STOW mixed: one failed item", j)
    syn.inst[new_sop] = {"study": syn.inst[sop_of[first[0]]]["study"],
                         "series": syn.inst[sop_of[first[0]]]["series"],
                         "number": 99, "path": new, "class": ds.SOPClassUID}

    # Media types that are refused.
    r = stow(base, [Part(path=first[0])], type_param='"application/dicom+json"')
    check(r.status == 415 and "application/dicom" in body_text(r),
          "STOW type=application/dicom+json -> 415", "%d %s" % (r.status, body_text(r)))
    r = stow(base, [Part(path=first[0])], ctype="application/json")
    check(r.status == 415, "STOW Content-Type application/json -> 415", r.status)
    r = dwlib.request(base, "POST", "/dicom-web/studies", {}, b"")
    check(r.status == 415, "STOW without Content-Type -> 415", r.status)
    r = stow(base, [Part(path=first[0])], accept='multipart/related; type="application/dicom+xml"')
    check(r.status == 406, "STOW Accept dicom+xml -> 406", r.status)
    r = stow(base, [Part(path=first[0])], path="/dicom-web/studies/1.02.3")
    check(r.status == 400, "STOW to an invalid study UID -> 400", r.status)

    # Malformed bodies.
    r = stow(base, [])
    check(r.status == 400, "STOW with no part -> 400", "%d %s" % (r.status, body_text(r)))
    r = stow(base, [Part(path=first[0])], omit_close=True)
    check(r.status == 400, "STOW without closing boundary -> 400",
          "%d %s" % (r.status, body_text(r)))
    size = os.path.getsize(first[1])
    r = stow(base, [Part(path=first[1])], truncate_after=size // 2)
    check(r.status == 400, "STOW truncated in the first part -> 400",
          "%d %s" % (r.status, body_text(r)))
    r = stow(base, [Part(data=b"x")], ctype='multipart/related; type="application/dicom"; boundary=zz')
    check(r.status == 400, "STOW body not matching its boundary -> 400",
          "%d %s" % (r.status, body_text(r)))
    # One whole part stored, then the body breaks: the first stays stored.
    t1 = syn.make_variant(sop_of[first[0]], "trunc1.dcm")
    ds = pydicom.dcmread(t1)
    t1_sop = generate_uid()
    ds.SOPInstanceUID = t1_sop
    ds.file_meta.MediaStorageSOPInstanceUID = t1_sop
    ds.InstanceNumber = 98
    ds.save_as(t1, write_like_original=False)
    full = os.path.getsize(t1) + 300
    r = stow(base, [Part(path=t1), Part(path=first[2])], truncate_after=full + 500)
    j = stow_ok(r, "STOW broken after one whole part keeps it", {t1_sop}, status=202)
    syn.inst[t1_sop] = {"study": syn.inst[sop_of[first[0]]]["study"],
                        "series": syn.inst[sop_of[first[0]]]["series"],
                        "number": 98, "path": t1, "class": ds.SOPClassUID}

    # A large part (about 24 MB), chunked, then read back through WADO-RS.
    big = os.path.join(syn.dir, "big.dcm")
    ds = pydicom.dcmread(syn.files[0])
    ds.Rows, ds.Columns = 3000, 4000
    ds.PixelData = os.urandom(3000 * 4000 * 2)
    big_sop = generate_uid()
    ds.SOPInstanceUID = big_sop
    ds.file_meta.MediaStorageSOPInstanceUID = big_sop
    ds.SeriesInstanceUID = big_series = generate_uid()
    ds.save_as(big, write_like_original=False)
    del ds
    r = stow(base, [Part(path=big)], chunked=True)
    stow_ok(r, "STOW 24 MB part, chunked", {big_sop})
    path = "/dicom-web/studies/%s/series/%s/instances/%s" % (syn.study["A"], big_series, big_sop)
    r = get(base, path, accept='multipart/related; type="application/dicom"')
    if check(r.status == 200, "WADO-RS round trip status", r.status):
        parts = multipart_parts(r)
        with open(big, "rb") as f:
            orig = f.read()
        check(len(parts) == 1 and parts[0] == orig, "WADO-RS round trip bytes",
              "%d parts" % len(parts))
    r = dwlib.delete(base, "/dicom-web/studies/%s/series/%s" % (syn.study["A"], big_series))
    check(r.status == 204, "DELETE the big series", r.status)


def data_files(data_dir):
    out = set()
    for root, _, files in os.walk(data_dir):
        for f in files:
            if ".sqlite" not in f:
                out.add(os.path.join(root, f))
    return out


def test_stow_disconnect(base, syn, data_dir):
    """A client that goes away mid-part leaves nothing behind."""
    import socket
    import time
    import urllib.parse
    before = data_files(data_dir)
    with open(syn.files[0], "rb") as f:
        data = f.read()
    body = (b"--xyz\r\nContent-Type: application/dicom\r\n\r\n" + data +
            b"\r\n--xyz--\r\n")
    u = urllib.parse.urlsplit(base)
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(b"POST /dicom-web/studies HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: multipart/related; type=\"application/dicom\"; boundary=xyz\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body))
    s.sendall(body[:len(body) // 2])
    time.sleep(0.3)
    during = data_files(data_dir) - before
    s.close()
    after = None
    for _ in range(50):
        time.sleep(0.1)
        after = data_files(data_dir) - before
        if not after:
            break
    check(len(during) == 1, "STOW in flight streams to one temporary file", during)
    check(not after, "STOW cut by the client leaves no file", after)
    r = get(base, "/dicom-web/studies", {"limit": 1})
    check(r.status == 200, "server answers after a client went away", r.status)


def test_stow_concurrent(base, syn):
    """Several STOW requests at once, each with its own new instances."""
    import threading
    series = generate_uid()
    jobs = []
    for t in range(4):
        parts, sops = [], set()
        for i in range(3):
            ds = pydicom.dcmread(syn.files[0])
            sop = generate_uid()
            ds.SOPInstanceUID = sop
            ds.file_meta.MediaStorageSOPInstanceUID = sop
            ds.SeriesInstanceUID = series
            ds.InstanceNumber = 100 + t * 3 + i
            path = os.path.join(syn.dir, "conc_%d_%d.dcm" % (t, i))
            ds.save_as(path, write_like_original=False)
            parts.append(Part(path=path))
            sops.add(sop)
        jobs.append((parts, sops))
    results = [None] * len(jobs)

    def run(k):
        results[k] = stow(base, jobs[k][0])

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, r in enumerate(results):
        stow_ok(r, "concurrent STOW %d" % k, jobs[k][1])
    want = set().union(*(j[1] for j in jobs))
    qido_set(base, "/dicom-web/studies/%s/series/%s/instances" % (syn.study["A"], series),
             None, T_SOP, "QIDO the concurrently stored series", want)
    r = dwlib.delete(base, "/dicom-web/studies/%s/series/%s" % (syn.study["A"], series))
    check(r.status == 204, "DELETE the concurrently stored series", r.status)


# ---- QIDO-RS ----------------------------------------------------------------

def test_qido(base, syn):
    S = syn.study
    E = syn.series
    st = "/dicom-web/studies"
    qido_set(base, st, None, T_STUDY, "QIDO all studies", set(S.values()))
    qido_set(base, st, {"PatientName": "Doe^John"}, T_STUDY, "QIDO PatientName exact", {S["A"]})
    qido_set(base, st, {"PatientName": "Doe*"}, T_STUDY, "QIDO PatientName wildcard *",
             {S["A"], S["B"]})
    qido_set(base, st, {"PatientName": "D?e^J*"}, T_STUDY, "QIDO PatientName wildcard ?",
             {S["A"], S["B"]})
    qido_set(base, st, {"PatientName": "Müller^Jörg"}, T_STUDY, "QIDO PatientName UTF-8",
             {S["D"]})
    qido_set(base, st, {"PatientName": "doe", "fuzzymatching": "true"}, T_STUDY,
             "QIDO fuzzymatching", {S["A"], S["B"]})
    qido_set(base, st, {"PatientID": "P3"}, T_STUDY, "QIDO PatientID", {S["C"]})
    qido_set(base, st, {"StudyDate": "20200101-20211231"}, T_STUDY, "QIDO StudyDate closed range",
             {S["A"], S["B"]})
    qido_set(base, st, {"StudyDate": "20210101-"}, T_STUDY, "QIDO StudyDate open end",
             {S["B"], S["C"]})
    qido_set(base, st, {"StudyDate": "-20200115"}, T_STUDY, "QIDO StudyDate open start",
             {S["A"], S["D"]})
    qido_set(base, st, {"StudyDate": "20221201"}, T_STUDY, "QIDO StudyDate single", {S["C"]})
    qido_set(base, st, {"StudyTime": "080000-110000"}, T_STUDY, "QIDO StudyTime range",
             {S["A"], S["B"]})
    qido_set(base, st, {"AccessionNumber": "ACC002"}, T_STUDY, "QIDO AccessionNumber", {S["B"]})
    qido_set(base, st, {"ModalitiesInStudy": "MR"}, T_STUDY, "QIDO ModalitiesInStudy MR",
             {S["A"], S["C"], S["D"]})
    qido_set(base, st, {"ModalitiesInStudy": "CT"}, T_STUDY, "QIDO ModalitiesInStudy CT",
             {S["A"], S["B"]})
    qido_set(base, st, {"StudyInstanceUID": S["A"] + "," + S["C"]}, T_STUDY,
             "QIDO UID list (comma)", {S["A"], S["C"]})
    qido_set(base, st, {"StudyInstanceUID": S["B"] + "\\" + S["D"]}, T_STUDY,
             "QIDO UID list (backslash)", {S["B"], S["D"]})
    qido_set(base, st, {"0020000D": S["B"]}, T_STUDY, "QIDO key by tag", {S["B"]})
    qido_set(base, st, {"PatientName": "Nobody"}, T_STUDY, "QIDO no match", set())
    qido_set(base, st, {"NoSuchParameter": "x"}, T_STUDY, "QIDO unknown parameter ignored",
             set(S.values()))

    r = get(base, st, {"StudyDate": "abc-def"})
    check(r.status == 400 and b"error" in r.body, "QIDO bad date range -> 400",
          "%d %s" % (r.status, body_text(r)))
    r = get(base, st, {"limit": "x"})
    check(r.status == 400, "QIDO bad limit -> 400", r.status)
    r = get(base, st, None, accept='multipart/related; type="application/dicom+xml"')
    check(r.status == 406, "QIDO Accept dicom+xml -> 406", r.status)
    r = get(base, st, {"PatientID": "P1"}, accept="application/json")
    check(r.status == 200 and (r.header("content-type") or "").startswith("application/json"),
          "QIDO Accept application/json", r.header("content-type"))
    r = get(base, st, {"PatientID": "P1"}, accept="application/dicom+json")
    check(r.status == 200 and (r.header("content-type") or "").startswith("application/dicom+json"),
          "QIDO Accept application/dicom+json", r.header("content-type"))

    # Returned attributes and counts.
    r = get(base, st, {"PatientID": "P1"})
    if check(r.status == 200, "QIDO study attributes status", r.status):
        o = r.json()[0]
        pn = value(o, "00100010") or {}
        check(pn.get("Alphabetic") == "Doe^John", "QIDO PatientName in result", pn)
        check(value(o, "00080020") == "20200115", "QIDO StudyDate in result", o.get("00080020"))
        check(value(o, "00080050") == "ACC001", "QIDO AccessionNumber in result")
        check(value(o, "00201206") == 2, "QIDO NumberOfStudyRelatedSeries",
              o.get("00201206"))
        n_a = sum(1 for a in syn.inst.values() if a["study"] == "A")
        check(value(o, "00201208") == n_a, "QIDO NumberOfStudyRelatedInstances",
              "%s want %d" % (o.get("00201208"), n_a))
        check(sorted(values(o, "00080061")) == ["CT", "MR"], "QIDO ModalitiesInStudy in result",
              o.get("00080061"))
        url = value(o, T_RETRIEVE_URL) or ""
        check(url.endswith("/dicom-web/studies/" + S["A"]) and url.startswith("http://"),
              "QIDO RetrieveURL", url)
    for inc, name in (("StudyDescription", "keyword"), ("00081030", "tag"), ("all", "all")):
        r = get(base, st, {"PatientID": "P2", "includefield": inc})
        ok = r.status == 200 and value(r.json()[0], "00081030") == "Beta"
        check(ok, "QIDO includefield by %s" % name, body_text(r))
    r = get(base, st, {"PatientID": "P2", "includefield": "all"})
    if r.status == 200:
        o = r.json()[0]
        check("00180050" in o or "00080070" in o or "00280010" in o,
              "QIDO includefield=all carries other attributes", sorted(o)[:20])

    # Series level.
    qido_set(base, "/dicom-web/series", None, T_SERIES, "QIDO all series", set(E.values()))
    qido_set(base, "/dicom-web/series", {"SeriesNumber": "2"}, T_SERIES, "QIDO SeriesNumber",
             {E["A2"], E["C2"]})
    qido_set(base, "/dicom-web/series", {"Modality": "CT"}, T_SERIES, "QIDO Modality",
             {E["A1"], E["B1"]})
    qido_set(base, "/dicom-web/studies/%s/series" % S["A"], None, T_SERIES,
             "QIDO /studies/{s}/series", {E["A1"], E["A2"]})
    qido_set(base, "/dicom-web/studies/%s/series" % S["A"], {"Modality": "MR"}, T_SERIES,
             "QIDO /studies/{s}/series?Modality", {E["A2"]})
    qido_set(base, "/dicom-web/series", {"PatientName": "Smith*"}, T_SERIES,
             "QIDO series by a patient attribute", {E["C1"], E["C2"]})
    r = get(base, "/dicom-web/studies/%s/series" % S["A"], {"SeriesNumber": "1"})
    if check(r.status == 200, "QIDO series attributes status", r.status):
        o = r.json()[0]
        n = len(syn.sops("A1"))
        check(value(o, "00201209") == n, "QIDO NumberOfSeriesRelatedInstances",
              "%s want %d" % (o.get("00201209"), n))
        check(value(o, "00080060") == "CT", "QIDO Modality in series result")
        url = value(o, T_RETRIEVE_URL) or ""
        check(url.endswith("/studies/%s/series/%s" % (S["A"], E["A1"])), "QIDO series RetrieveURL",
              url)

    # Instance level.
    a1 = syn.sops("A1")
    qido_set(base, "/dicom-web/studies/%s/series/%s/instances" % (S["A"], E["A1"]), None,
             T_SOP, "QIDO /studies/{s}/series/{se}/instances", a1)
    qido_set(base, "/dicom-web/studies/%s/instances" % S["A"], None, T_SOP,
             "QIDO /studies/{s}/instances", syn.sops("A1") | syn.sops("A2"))
    qido_set(base, "/dicom-web/instances", {"SOPClassUID": SC_CLASS}, T_SOP,
             "QIDO SOPClassUID", syn.sops("C1"))
    qido_set(base, "/dicom-web/studies/%s/series/%s/instances" % (S["A"], E["A1"]),
             {"InstanceNumber": "2"}, T_SOP, "QIDO InstanceNumber",
             {s for s in a1 if syn.inst[s]["number"] == 2})
    qido_set(base, "/dicom-web/instances", {"Modality": "MR", "PatientID": "P4"}, T_SOP,
             "QIDO instances by series and patient attributes", syn.sops("D1"))
    qido_set(base, "/dicom-web/instances", {"SOPInstanceUID": "1.2.3.4.5.6.7.8.9"}, T_SOP,
             "QIDO instance no match", set())

    # Pagination: stable order, pages partition the list, same bytes twice.
    r1 = get(base, "/dicom-web/instances", None)
    r2 = get(base, "/dicom-web/instances", None)
    check(r1.status == 200 and r1.body == r2.body, "QIDO same query twice: same bytes")
    if r1.status == 200:
        full = [value(o, T_SOP) for o in r1.json()]
        check(len(full) == len(set(full)) == len(syn.inst), "QIDO all instances count",
              "%d want %d" % (len(full), len(syn.inst)))
        pages = []
        off = 0
        while off < len(full) + 3:
            r = get(base, "/dicom-web/instances", {"limit": 3, "offset": off})
            if r.status == 204:
                break
            if r.status != 200:
                pages = None
                break
            pages += [value(o, T_SOP) for o in r.json()]
            off += 3
        check(pages == full, "QIDO limit/offset pages equal the full list",
              "%s vs %s" % (pages and len(pages), len(full)))
        r = get(base, "/dicom-web/instances", {"limit": 2})
        check(r.status == 200 and len(r.json()) == 2 and "warning" not in r.headers,
              "QIDO limit=2 gives 2, no Warning")
        r = get(base, "/dicom-web/instances", {"offset": len(full)})
        check(r.status == 204, "QIDO offset past the end -> 204", r.status)

    # Bad UIDs in the path.
    r = get(base, "/dicom-web/studies/1.2.abc/series")
    check(r.status == 400, "QIDO invalid UID in path -> 400", r.status)


# ---- DELETE -----------------------------------------------------------------

def test_delete(base, syn, data_dir):
    S = syn.study
    E = syn.series
    hashes = data_dir_hashes(data_dir)
    a2 = syn.sops("A2")
    a2_hashes = {sha(syn.inst[s]["path"]) for s in a2}
    a1_hashes = {sha(syn.inst[s]["path"]) for s in syn.sops("A1")}
    check(a2_hashes <= hashes and a1_hashes <= hashes,
          "stored blobs are byte-identical to the files sent")
    r = dwlib.delete(base, "/dicom-web/studies/%s/series/%s" % (S["A"], E["A2"]))
    check(r.status == 204 and r.body == b"", "DELETE series -> 204", r.status)
    qido_set(base, "/dicom-web/studies/%s/series" % S["A"], None, T_SERIES,
             "QIDO after DELETE series", {E["A1"]})
    qido_set(base, "/dicom-web/series", {"SeriesInstanceUID": E["A2"]}, T_SERIES,
             "QIDO deleted series by UID", set())
    r = get(base, "/dicom-web/studies", {"StudyInstanceUID": S["A"]})
    if r.status == 200:
        n = sum(1 for a in syn.inst.values() if a["study"] == "A" and a["series"] != "A2")
        check(value(r.json()[0], "00201208") == n and
              values(r.json()[0], "00080061") == ["CT"],
              "study counts and modalities updated after DELETE", r.json()[0].get("00201208"))
    hashes = data_dir_hashes(data_dir)
    check(not (a2_hashes & hashes), "DELETE series removed its files from the data dir")
    check(a1_hashes <= hashes, "DELETE series kept the other series' files")
    r = dwlib.delete(base, "/dicom-web/studies/%s/series/%s" % (S["A"], E["A2"]))
    check(r.status == 404, "DELETE again -> 404", r.status)
    one = sorted(syn.sops("B1"))[0]
    r = dwlib.delete(base, "/dicom-web/studies/%s/series/%s/instances/%s" % (S["B"], E["B1"], one))
    check(r.status == 204, "DELETE instance -> 204", r.status)
    qido_set(base, "/dicom-web/studies/%s/instances" % S["B"], None, T_SOP,
             "QIDO after DELETE instance", syn.sops("B1") - {one})
    r = dwlib.delete(base, "/dicom-web/studies/%s" % S["C"])
    check(r.status == 204, "DELETE study -> 204", r.status)
    qido_set(base, "/dicom-web/studies", {"PatientID": "P3"}, T_STUDY,
             "QIDO after DELETE study", set())
    r = dwlib.delete(base, "/dicom-web/studies/1.2.3.999999")
    check(r.status == 404, "DELETE unknown study -> 404", r.status)
    r = dwlib.delete(base, "/dicom-web/studies/abc")
    check(r.status == 400, "DELETE invalid UID -> 400", r.status)
    for s in list(syn.inst):
        if syn.inst[s]["series"] in ("A2", "C1", "C2") or s == one:
            del syn.inst[s]
    del S["C"]
    del E["A2"], E["C1"], E["C2"]


# ---- the pydicom corpus -----------------------------------------------------

def uid_ok(u):
    if not u or len(u) > 64:
        return False
    for c in u.split("."):
        if not c.isdigit() or (len(c) > 1 and c[0] == "0"):
            return False
    return True


def test_corpus(base, syn):
    files = sorted(glob.glob(os.path.join(PYDICOM_DATA, "**", "*.dcm"), recursive=True))
    stored = {}       # sop -> (path, dataset), first stored wins
    outcome = {}
    for f in files:
        r = stow(base, [Part(path=f)])
        name = os.path.relpath(f, PYDICOM_DATA)
        try:
            j = r.json()
        except ValueError:
            j = None
        if not check(r.status in (200, 409) and isinstance(j, dict),
                     "corpus STOW %s answers 200 or 409 with JSON" % name,
                     "%d %s" % (r.status, body_text(r))):
            continue
        try:
            ds = pydicom.dcmread(f, force=True)
            uids4 = [str(ds.get(k, "")).strip("\0 ") for k in
                     ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")]
        except Exception:  # noqa: BLE001 - pydicom cannot read it either
            ds = None
            uids4 = ["", "", "", ""]
        if r.status == 200:
            items = seq_items(j, T_REF_SEQ)
            sop = value(items[0], T_REF_SOP) if items else None
            check(len(items) == 1 and sop == uids4[2] and all(uid_ok(u) for u in uids4),
                  "corpus %s stored with the UIDs pydicom reads" % name, items)
            outcome[name] = "stored"
            if sop not in stored:
                stored[sop] = (f, ds)
            else:
                check(sha(stored[sop][0]) == sha(f), "corpus %s: re-stored only when identical"
                      % name)
        else:
            items = seq_items(j, T_FAILED_SEQ)
            reason = value(items[0], T_REASON) if items else None
            outcome[name] = "failed 0x%04X" % (reason or 0)
            check(reason in (0xC000, 0xA900, 0x0111), "corpus %s failure reason" % name, reason)
            if reason == 0x0111:
                check(uids4[2] in stored, "corpus %s: duplicate of an instance stored before"
                      % name)
            if reason == 0xA900:
                meta = [str(ds.file_meta.get(k, "")).strip("\0 ") if ds is not None and
                        hasattr(ds, "file_meta") else "" for k in
                        ("MediaStorageSOPInstanceUID", "MediaStorageSOPClassUID")]
                mismatch = (meta[0] and meta[0] != uids4[2]) or (meta[1] and meta[1] != uids4[3])
                check(not all(uid_ok(u) for u in uids4) or mismatch,
                      "corpus %s: 0xA900 only when a UID is missing, invalid or differs "
                      "from the file meta information" % name, uids4 + meta)
    n_stored = sum(1 for v in outcome.values() if v == "stored")
    print("corpus: %d files, %d stored, %d distinct instances, failures: %s" % (
        len(files), n_stored, len(stored),
        sorted((k, v) for k, v in outcome.items() if v != "stored")))
    check(len(stored) >= 40, "corpus: most files stored", len(stored))
    alive = get(base, "/dicom-web/studies", {"limit": 1})
    check(alive.status == 200, "server alive after the corpus")

    # Expected entities, from the stored files (study and series attributes
    # come from the first instance stored in them).
    studies = {}
    series = {}
    for sop, (f, ds) in stored.items():
        st = str(ds.StudyInstanceUID)
        se = str(ds.SeriesInstanceUID)
        studies.setdefault(st, {"first": ds, "series": set(), "n": 0})
        studies[st]["series"].add(se)
        studies[st]["n"] += 1
        series.setdefault(se, 0)
        series[se] += 1
    syn_studies = set(syn.study.values())
    syn_series = set(syn.series.values())
    syn_sops = set(syn.inst)

    r = get(base, "/dicom-web/studies")
    if check(r.status == 200, "corpus QIDO all studies", r.status):
        res = r.json()
        got = {value(o, T_STUDY) for o in res}
        check(got == set(studies) | syn_studies, "corpus QIDO study set",
              "missing %s extra %s" % ((set(studies) | syn_studies) - got,
                                       got - set(studies) - syn_studies))
        bad = []
        for o in res:
            u = value(o, T_STUDY)
            if u in studies:
                if value(o, "00201208") != studies[u]["n"] or \
                        value(o, "00201206") != len(studies[u]["series"]):
                    bad.append((u, value(o, "00201208"), studies[u]["n"]))
        check(not bad, "corpus QIDO study instance/series counts", bad[:5])
    r = get(base, "/dicom-web/series")
    if check(r.status == 200, "corpus QIDO all series", r.status):
        got = {value(o, T_SERIES): value(o, "00201209") for o in r.json()}
        check(set(got) == set(series) | syn_series, "corpus QIDO series set")
        bad = [(k, got.get(k), v) for k, v in series.items() if got.get(k) != v]
        check(not bad, "corpus QIDO series instance counts", bad[:5])
    r = get(base, "/dicom-web/instances")
    if check(r.status == 200, "corpus QIDO all instances", r.status):
        got = {value(o, T_SOP) for o in r.json()}
        check(got == set(stored) | syn_sops, "corpus QIDO instance set",
              "missing %d extra %d" % (len((set(stored) | syn_sops) - got),
                                       len(got - set(stored) - syn_sops)))

    # Patient name wildcard over the corpus, against pydicom's names.
    for pattern in ("CompressedSamples*", "*^*", "C*"):
        want = set()
        for u, s in studies.items():
            pn = s["first"].get("PatientName")
            # PS3.5 6.2: trailing empty components and groups are not part
            # of the value ("^^^^" is empty).
            pn = "=".join(g.rstrip("^") for g in str(pn).split("=")).rstrip("=") \
                if pn is not None else None
            if pn and fnmatch.fnmatchcase(pn, pattern):
                want.add(u)
        r = get(base, "/dicom-web/studies", {"PatientName": pattern})
        got = uids(r, T_STUDY) if r.status == 200 else set()
        got = (got or set()) - syn_studies
        check(got == want, "corpus QIDO PatientName=%s" % pattern,
              "missing %s extra %s" % (want - got, got - want))
    # Modality over the corpus, at series level.
    for modality in ("MR", "CT", "OT"):
        want = set()
        for sop, (f, ds) in stored.items():
            if str(ds.get("Modality", "")) == modality:
                want.add(str(ds.SeriesInstanceUID))
        r = get(base, "/dicom-web/series", {"Modality": modality})
        got = (uids(r, T_SERIES) if r.status == 200 else set()) or set()
        got -= syn_series
        check(got == want, "corpus QIDO Modality=%s" % modality,
              "missing %s extra %s" % (want - got, got - want))


def test_maxresults(base, work):
    files = sorted(glob.glob(os.path.join(work, "syn", "[A-D][0-9]_*.dcm")))
    r = stow(base, [Part(path=f) for f in files])
    check(r.status == 200, "max-results server: STOW", r.status)
    r = get(base, "/dicom-web/studies")
    w = r.header("warning") or ""
    check(r.status == 200 and len(r.json()) == 2, "max-results: 2 of 4 studies", r.status)
    check(w.startswith("299 ") and ('"%s"' % MORE) in w, "max-results: Warning 299", w)
    r = get(base, "/dicom-web/studies", {"limit": 1})
    check(r.status == 200 and len(r.json()) == 1 and "warning" not in r.headers,
          "max-results: limit below the maximum, no Warning", r.header("warning"))
    r = get(base, "/dicom-web/studies", {"offset": 2})
    check(r.status == 200 and len(r.json()) == 2 and "warning" not in r.headers,
          "max-results: last page, no Warning", r.header("warning"))
    r = get(base, "/dicom-web/instances")
    check(r.status == 200 and len(r.json()) == 2 and MORE in (r.header("warning") or ""),
          "max-results: instances Warning 299")

    # This server also has --max-body 1M.
    for chunked in (False, True):
        r = stow(base, [Part(data=os.urandom(2 << 20))], chunked=chunked)
        check(r.status == 413 and b"error" in r.body,
              "STOW over --max-body -> 413 (%s)" % ("chunked" if chunked else "Content-Length"),
              "%d %s" % (r.status, body_text(r)))


def main():
    mode = sys.argv[1]
    if mode == "main":
        base, data_dir, work = sys.argv[2:5]
        syn = Syn(work)
        test_stow(base, syn)
        test_stow_disconnect(base, syn, data_dir)
        test_stow_concurrent(base, syn)
        test_qido(base, syn)
        test_delete(base, syn, data_dir)
        test_corpus(base, syn)
    elif mode == "maxresults":
        base, work = sys.argv[2:4]
        test_maxresults(base, work)
    print("PY_RESULT %d %d" % (PASSED, FAILED))


if __name__ == "__main__":
    main()
