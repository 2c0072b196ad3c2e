#!/usr/bin/python3
"""Reference data for tests/unit/test_jpegls_j2k.c (src/pixel/jpegls.c, j2k.c).

Run with Debian's Python (pydicom 2.3.1 + numpy + python-gdcm + Pillow):

    /usr/bin/python3 tools/gen_jls_j2k_refs.py

It writes, under tests/unit/data/jls_j2k/:

  refs.h   generated C tables: for every JPEG-LS / JPEG 2000 file among
           pydicom's test files, what pydicom's pixel_array returns (GDCM
           handler first, as pydicom picks it): the frame geometry, the
           photometric interpretation pacsd reports, an FNV-1a hash of the
           int32 samples (little endian), min, max, and a grid of at most
           ~1024 samples (every `stride`-th of the interleaved frame) so
           that lossy frames can be compared by PSNR without committing
           whole images.
  *.j2c    High-Throughput JPEG 2000 codestreams (ITU-T T.814) made with
           OpenJPH's ojph_compress (Debian package openjph-tools) from two
           uncompressed pydicom files, because neither dcmtk nor GDCM can
           write HTJ2K. Skipped (existing files kept) when ojph_compress is
           not installed. The test compares them with the originals.

Expected results that differ from pydicom's are listed in KNOWN with the
reason; the test expects an error for them.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pixel_refs
import pydicom

warnings.simplefilter("ignore")

TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data",
                          "test_files")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "unit", "data", "jls_j2k")

SYNTAXES = {
    "1.2.840.10008.1.2.4.80": False,  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81": True,   # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.90": False,  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91": True,   # JPEG 2000 (may be lossy)
    "1.2.840.10008.1.2.4.201": False,
    "1.2.840.10008.1.2.4.202": False,
    "1.2.840.10008.1.2.4.203": True,
}

# Files where pacsd deliberately differs from pydicom.
KNOWN = {
    "JPEG2000-embedded-sequence-delimiter.dcm":
        "PC_PARSE",  # the SIZ segment is overwritten by a sequence
                     # delimiter (FFFE,E0DD): 4292730882 tiles. GDCM's
                     # opj_setup_decoder fails and pydicom returns the raw
                     # bytes as pixels; OpenJPEG refuses it, so do we.
}



def photometric_out(ds):
    # OpenJPEG undoes ICT/RCT itself; every other value passes through.
    pi = str(ds.PhotometricInterpretation).strip()
    return "RGB" if pi in ("YBR_ICT", "YBR_RCT") else pi


def reference(path):
    ds = pydicom.dcmread(path)
    name = os.path.basename(path)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    rows, cols, spp = int(ds.Rows), int(ds.Columns), int(ds.SamplesPerPixel)
    ts = str(ds.file_meta.TransferSyntaxUID)
    lossy = SYNTAXES[ts] or str(getattr(ds, "LossyImageCompression",
                                         "00")) == "01"
    ref = dict(name=name, ts=ts, lossy=lossy, frames=frames, rows=rows,
               cols=cols, samples=spp, status=KNOWN.get(name, "PC_OK"),
               bits=int(ds.BitsStored), signed=int(ds.PixelRepresentation),
               photometric=photometric_out(ds), frame=[])
    if ref["status"] != "PC_OK":
        return ref
    arr = ds.pixel_array.astype(np.int64).reshape(frames, -1)
    for f in range(frames):
        a = arr[f]
        bits = ref["bits"]
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if \
            ref["signed"] else (0, (1 << bits) - 1)
        if a.min() < lo or a.max() > hi:
            sys.exit(f"{name}: values outside Bits Stored; add a rule")
        ref["frame"].append(pixel_refs.frame_ref(a, cols * spp))
    return ref


def write_header(refs):
    pixel_refs.write_header(os.path.join(OUT, "refs.h"), refs,
                            "gen_jls_j2k_refs.py", "ref", 12)


def make_htj2k():
    tool = shutil.which("ojph_compress")
    if tool is None:
        print("ojph_compress not found: HTJ2K files kept as they are")
        return
    with tempfile.TemporaryDirectory() as tmp:
        mr = pydicom.dcmread(os.path.join(TEST_FILES, "MR_small.dcm"))
        raw = os.path.join(tmp, "mr.yuv")
        mr.pixel_array.astype("<i2").tofile(raw)
        rgb = pydicom.dcmread(os.path.join(TEST_FILES,
                                           "SC_rgb_jpeg_dcmd.dcm"))
        ppm = os.path.join(tmp, "rgb.ppm")
        with open(ppm, "wb") as fh:
            fh.write(b"P6\n%d %d\n255\n" % (rgb.Columns, rgb.Rows))
            fh.write(rgb.pixel_array.astype(np.uint8).tobytes())
        jobs = [
            ("ht_mr_lossless.j2c", raw,
             ["-dims", "{64,64}", "-num_comps", "1", "-signed", "true",
              "-bit_depth", "16", "-downsamp", "{1,1}", "-reversible",
              "true"]),
            ("ht_rgb_lossless.j2c", ppm, ["-reversible", "true"]),
            ("ht_rgb_lossy.j2c", ppm, ["-qstep", "0.01"]),
        ]
        for name, src, args in jobs:
            subprocess.run([tool, "-i", src, "-o", os.path.join(OUT, name)]
                           + args, check=True, stdout=subprocess.DEVNULL)


def main():
    os.makedirs(OUT, exist_ok=True)
    refs = []
    for path in sorted(glob.glob(os.path.join(TEST_FILES, "*.dcm"))):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            ts = str(ds.file_meta.TransferSyntaxUID)
        except Exception:
            continue
        if ts in SYNTAXES:
            refs.append(reference(path))
    write_header(refs)
    make_htj2k()
    for r in refs:
        print(r["name"], r["ts"], r["status"])


if __name__ == "__main__":
    main()
