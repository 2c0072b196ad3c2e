#!/usr/bin/python3
"""Synthesises the bench/server corpus: N DICOM instances with fresh UIDs.

usage: make_corpus.py --n N --out DIR [--quiet]

A few of pydicom's test files are the seeds. Each seed is rewritten into
many distinct instances: new Study/Series/SOP Instance UIDs (and the
matching MediaStorageSOPInstanceUID), a patient from a list of realistic
names (so that wildcard queries like SMI* match a subset), a StudyDate
spread over 2005-2024, accession and instance numbers. Files keep their
transfer syntax (write_like_original). One extra seed, a 512x512 CT slice,
is made from CT_small by upsampling with some noise, so that retrieval and
rendering also see realistic slice sizes.

Studies hold 2-4 series of one seed each. The mix, by instances:
  CT_small (128x128, 16-bit, 39 KB)        35%
  MR_small (64x64, explicit VR)            25%
  MR_small_implicit (implicit VR)          10%
  CT 512x512 (16-bit, 525 KB)               8%
  SC_rgb_jpeg_dcmd (256x256 RGB, 197 KB)    7%
  MR_small_RLE (RLE lossless)               7%
  SC_rgb_jpeg_dcmtk (JPEG baseline RGB)     8%
so about 80% of the instances are uncompressed and every one of them is
something both servers can render.

The output directory gets the files (s<study>/<series>/<n>.dcm), files.txt
(one path a line, in store order: study by study) and manifest.tsv (path,
study UID, series UID, SOP UID, bytes, seed, patient name, study date). It
is reused as is when its stamp matches N and this script's version.
Deterministic: the same N gives the same corpus.
"""
import argparse
import os
import random
import shutil
import sys
import warnings

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

VERSION = 2
UID_ROOT = "1.2.826.0.1.3680043.10.1234."  # a private-looking root

SEEDS = [  # (name, source file or None for the generated CT, weight)
    ("ct128", "CT_small.dcm", 35),
    ("mr64", "MR_small.dcm", 25),
    ("mr64i", "MR_small_implicit.dcm", 10),
    ("ct512", None, 8),
    ("rgb256", "SC_rgb_jpeg_dcmd.dcm", 7),
    ("mrrle", "MR_small_RLE.dcm", 7),
    ("rgbjpeg", "SC_rgb_jpeg_dcmtk.dcm", 8),
]

FAMILY = [
    "SMITH", "SMITHSON", "SMIRNOV", "JOHNSON", "JOHNSTON", "JONES",
    "GARCIA", "GARNER", "MILLER", "MILLS", "BROWN", "BROWNING", "DAVIS",
    "DAVIDSON", "MARTIN", "MARTINEZ", "WILSON", "WILLIAMS", "ANDERSON",
    "ANDREWS", "TAYLOR", "THOMAS", "THOMPSON", "MOORE", "JACKSON", "WHITE",
    "HARRIS", "CLARK", "LEWIS", "ROBINSON", "WALKER", "YOUNG", "ALLEN",
    "KING", "WRIGHT", "SCOTT", "GREEN", "BAKER", "ADAMS", "NELSON", "HILL",
    "CAMPBELL", "MITCHELL", "ROBERTS", "CARTER", "PHILLIPS", "EVANS",
    "TURNER", "TORRES", "PARKER",
]
GIVEN = [
    "JAMES", "MARY", "JOHN", "PATRICIA", "ROBERT", "JENNIFER", "MICHAEL",
    "LINDA", "WILLIAM", "ELIZABETH", "DAVID", "BARBARA", "RICHARD", "SUSAN",
    "JOSEPH", "JESSICA", "THOMAS", "SARAH", "CHARLES", "KAREN", "ANNA",
    "PETER", "LAURA", "PAUL",
]
DESCRIPTIONS = {
    "ct128": "CT CHEST", "ct512": "CT ABDOMEN", "mr64": "MR BRAIN",
    "mr64i": "MR SPINE", "mrrle": "MR KNEE", "rgb256": "SC PHOTO",
    "rgbjpeg": "SC PHOTO JPEG",
}


def make_ct512(ct):
    """A 512x512 CT slice from CT_small: 4x upsampled, plus noise, so that
    its pixels do not compress to nothing in a PNG."""
    ds = ct.copy()
    arr = ct.pixel_array
    big = np.kron(arr.astype(np.int32), np.ones((4, 4), dtype=np.int32))
    rng = np.random.default_rng(512)
    big = big + rng.integers(-12, 13, size=big.shape)
    big = np.clip(big, -32768, 32767).astype(arr.dtype)
    ds.Rows, ds.Columns = 512, 512
    ps = [float(v) / 4 for v in ct.PixelSpacing]
    ds.PixelSpacing = ps
    ds.PixelData = big.tobytes()
    return ds


def load_seeds():
    seeds = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fname, _ in SEEDS:
            if fname is None:
                continue
            seeds[name] = pydicom.dcmread(get_testdata_file(fname))
        seeds["ct512"] = make_ct512(seeds["ct128"])
    return seeds


def plan(n, rnd):
    """Splits n instances into studies of 2-4 series; returns a list of
    (study_index, series_index, seed, count)."""
    n_studies = max(1, n // 64)
    # Per study, a share of the instances that varies between studies.
    shares = [rnd.uniform(0.5, 1.5) for _ in range(n_studies)]
    total = sum(shares)
    counts = [max(1, int(n * s / total)) for s in shares]
    i = 0
    while sum(counts) < n:
        counts[i % n_studies] += 1
        i += 1
    while sum(counts) > n:
        j = max(range(n_studies), key=lambda k: counts[k])
        counts[j] -= 1
    names = [s[0] for s in SEEDS]
    weights = [s[2] for s in SEEDS]
    out = []
    for st, c in enumerate(counts):
        if c == 0:
            continue
        n_series = min(c, rnd.randint(2, 4))
        cuts = sorted(rnd.sample(range(1, c), n_series - 1)) if c > 1 else []
        bounds = [0] + cuts + [c]
        for se in range(n_series):
            seed = rnd.choices(names, weights)[0]
            out.append((st, se, seed, bounds[se + 1] - bounds[se]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if a.n < 1:
        sys.exit("make_corpus.py: --n must be at least 1")
    stamp_path = os.path.join(a.out, "stamp")
    stamp = f"version={VERSION} n={a.n}\n"
    try:
        with open(stamp_path) as f:
            if f.read() == stamp:
                if not a.quiet:
                    print(f"corpus: reusing {a.out}")
                return
    except OSError:
        pass
    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    os.makedirs(a.out)

    rnd = random.Random(20240601 + a.n)
    seeds = load_seeds()
    patients = []  # (name, id, birth date)
    for k in range(max(4, a.n // 128)):
        name = f"{rnd.choice(FAMILY)}^{rnd.choice(GIVEN)}"
        patients.append((name, f"PID{k:06d}",
                         f"{rnd.randint(1930, 2010)}{rnd.randint(1, 12):02d}"
                         f"{rnd.randint(1, 28):02d}"))

    files, rows = [], []
    study = None
    uids = 0

    def new_uid():
        nonlocal uids
        uids += 1
        return generate_uid(UID_ROOT, entropy_srcs=[str(a.n), str(uids)])

    for st, se, seed, count in plan(a.n, rnd):
        if study is None or study["index"] != st:
            pat = rnd.choice(patients)
            date = f"{rnd.randint(2005, 2024)}{rnd.randint(1, 12):02d}" \
                   f"{rnd.randint(1, 28):02d}"
            study = {
                "index": st, "uid": new_uid(), "patient": pat,
                "date": date, "time": f"{rnd.randint(7, 19):02d}"
                                       f"{rnd.randint(0, 59):02d}00",
                "accession": f"ACC{st:07d}{rnd.randint(0, 999):03d}",
                "id": f"S{st:05d}",
            }
            os.makedirs(os.path.join(a.out, f"s{st:05d}"))
        src = seeds[seed]
        series_uid = new_uid()
        for k in range(count):
            ds = src.copy()
            sop = new_uid()
            ds.StudyInstanceUID = study["uid"]
            ds.SeriesInstanceUID = series_uid
            ds.SOPInstanceUID = sop
            ds.file_meta.MediaStorageSOPInstanceUID = sop
            ds.PatientName = study["patient"][0]
            ds.PatientID = study["patient"][1]
            ds.PatientBirthDate = study["patient"][2]
            ds.StudyDate = study["date"]
            ds.StudyTime = study["time"]
            ds.SeriesDate = study["date"]
            ds.ContentDate = study["date"]
            ds.AccessionNumber = study["accession"]
            ds.StudyID = study["id"]
            ds.StudyDescription = DESCRIPTIONS[seed].split()[0] + " STUDY"
            ds.SeriesDescription = DESCRIPTIONS[seed]
            ds.SeriesNumber = se + 1
            ds.InstanceNumber = k + 1
            rel = os.path.join(f"s{st:05d}", f"{se}_{k:05d}.dcm")
            path = os.path.join(a.out, rel)
            ds.save_as(path, write_like_original=True)
            files.append(path)
            rows.append("\t".join([path, study["uid"], series_uid, sop,
                                   str(os.path.getsize(path)), seed,
                                   study["patient"][0], study["date"]]))
    with open(os.path.join(a.out, "files.txt"), "w") as f:
        f.write("\n".join(files) + "\n")
    with open(os.path.join(a.out, "manifest.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    with open(stamp_path, "w") as f:
        f.write(stamp)
    if not a.quiet:
        total = sum(int(r.split("\t")[4]) for r in rows)
        print(f"corpus: {len(files)} instances, {total / 1e6:.1f} MB in {a.out}")


if __name__ == "__main__":
    main()
