#!/usr/bin/python3
"""C-FIND latency at STUDY level, two ways.

usage: find_bench.py PORT AET QUERIES_TSV REPEAT
       find_bench.py PORT AET --count   prints "<studies> <instances>" from
                                        one C-FIND of every study (summing
                                        NumberOfStudyRelatedInstances)

QUERIES_TSV: one query a line, "<name>\t<key>=<value>[\t<key>=<value>...]".
Every query is sent REPEAT times, round robin over the lines, after one
unmeasured warm-up pass:
  raw      one association (tests/integration/dimse/dul.py), identifiers
           encoded beforehand, the time from sending the C-FIND-RQ to the
           final response: what the server costs, without process start-up
  findscu  dcmtk's findscu, one process (and association) per query, timed
           around the subprocess: what a user of the command line sees
Both ask for the same return keys. Prints one line per (query name, way):
  <name> <way> n=<queries> p50_ms=.. p99_ms=.. mean_ms=.. matches=<per query>
and "errors=<n>" last (a non-Success final status or a failed findscu).
"""
import os
import re
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "integration",
                                "dimse"))
import dul  # noqa: E402
from pydicom.dataset import Dataset  # noqa: E402

RETURN_KEYS = ["StudyInstanceUID", "PatientName", "PatientID", "StudyDate",
               "StudyTime", "AccessionNumber", "StudyDescription",
               "ModalitiesInStudy", "NumberOfStudyRelatedInstances"]


def identifier(keys):
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    for kw in RETURN_KEYS:
        setattr(ds, kw, "")
    for kw, v in keys.items():
        setattr(ds, kw, v)
    return ds


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def count(port, aet):
    a = dul.Assoc("127.0.0.1", port, [(dul.STUDY_ROOT_FIND, [dul.EXPLICIT_LE])],
                  called=aet, timeout=600)
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = ""
    ds.NumberOfStudyRelatedInstances = ""
    got, st = a.find(dul.STUDY_ROOT_FIND, ds)
    a.release()
    if st != 0:
        print("error status=0x%04x" % st)
        return
    print(len(got), sum(int(g.NumberOfStudyRelatedInstances or 0)
                        for g in got))


def main():
    port = int(sys.argv[1])
    aet = sys.argv[2]
    if sys.argv[3] == "--count":
        count(port, aet)
        return
    queries = []
    with open(sys.argv[3]) as f:
        for ln in f:
            parts = ln.rstrip("\n").split("\t")
            if len(parts) < 2:
                continue
            keys = dict(p.split("=", 1) for p in parts[1:])
            queries.append((parts[0], keys))
    repeat = int(sys.argv[4])
    errors = 0
    names = []
    for n, _ in queries:
        if n not in names:
            names.append(n)
    times = {(n, w): [] for n in names for w in ("raw", "findscu")}
    found = {(n, w): [] for n in names for w in ("raw", "findscu")}

    # raw: one association for everything.
    a = dul.Assoc("127.0.0.1", port, [(dul.STUDY_ROOT_FIND, [dul.EXPLICIT_LE])],
                  called=aet, timeout=120)
    enc = [(n, dul.encode_identifier(identifier(k), implicit=False))
           for n, k in queries]
    for n, b in enc:  # warm-up
        a.find_raw(dul.STUDY_ROOT_FIND, b)
    for _ in range(repeat):
        for n, b in enc:
            t0 = time.perf_counter()
            cnt, st = a.find_raw(dul.STUDY_ROOT_FIND, b)
            dt = time.perf_counter() - t0
            if st != 0:
                errors += 1
            times[(n, "raw")].append(dt)
            found[(n, "raw")].append(cnt)
    a.release()

    # findscu: a process per query.
    def findscu(keys):
        args = ["findscu", "-S", "-aec", aet, "-k", "QueryRetrieveLevel=STUDY"]
        for kw in RETURN_KEYS:
            if kw not in keys:
                args += ["-k", kw]
        for kw, v in keys.items():
            args += ["-k", "%s=%s" % (kw, v)]
        args += ["-v", "127.0.0.1", str(port)]
        t0 = time.perf_counter()
        r = subprocess.run(args, capture_output=True)
        dt = time.perf_counter() - t0
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        ok = r.returncode == 0 and \
            "Received Final Find Response (Success)" in out
        return dt, len(re.findall(r"Find Response: \d+ \(Pending", out)), ok
    for n, k in queries:  # warm-up
        findscu(k)
    for _ in range(repeat):
        for n, k in queries:
            dt, cnt, ok = findscu(k)
            if not ok:
                errors += 1
            times[(n, "findscu")].append(dt)
            found[(n, "findscu")].append(cnt)

    for n in names:
        for w in ("raw", "findscu"):
            v = times[(n, w)]
            if not v:
                continue
            print("%s %s n=%d p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f matches=%.1f"
                  % (n, w, len(v), pct(v, 50) * 1e3, pct(v, 99) * 1e3,
                     statistics.mean(v) * 1e3,
                     statistics.mean(found[(n, w)])))
    print("errors=%d" % errors)


if __name__ == "__main__":
    main()
