#!/usr/bin/python3
"""Reference data for tests/unit/test_jpeg.c (src/pixel/ljpeg.c, jpeg.c).

Run with Debian's Python (pydicom 2.3.1 + numpy + python-gdcm + Pillow):

    /usr/bin/python3 tools/gen_jpeg_refs.py

It writes tests/unit/data/jpeg/refs.h: generated C tables with, for every
JPEG Baseline / Extended / Lossless file among pydicom's test files, what
pydicom's pixel_array returns (GDCM handler first, Pillow next, as pydicom
picks them), YBR_FULL / YBR_FULL_422 converted to RGB with pydicom's
convert_color_space (pacsd lets libjpeg do that conversion): the frame
geometry, the photometric interpretation pacsd reports, an FNV-1a hash of
the int32 samples (little endian), min, max, and a grid of at most ~1024
samples (every `stride`-th of the interleaved frame) so that lossy frames
can be compared by PSNR and maximum error without committing whole images.

Expected results that differ from pydicom's are listed in KNOWN with the
reason; the test expects that status for them.
"""

import glob
import os
import sys
import warnings

import numpy as np
import pixel_refs
import pydicom
from pydicom.pixel_data_handlers import gdcm_handler, pillow_handler
from pydicom.pixel_data_handlers.util import convert_color_space

warnings.simplefilter("ignore")

TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data",
                          "test_files")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "unit", "data", "jpeg")

SYNTAXES = {
    "1.2.840.10008.1.2.4.50": True,   # JPEG Baseline (Process 1)
    "1.2.840.10008.1.2.4.51": True,   # JPEG Extended (Process 2 & 4)
    "1.2.840.10008.1.2.4.57": False,  # JPEG Lossless (Process 14)
    "1.2.840.10008.1.2.4.70": False,  # JPEG Lossless SV1
}

# Files where pacsd deliberately differs from pydicom.
KNOWN = {
    # 12-bit JPEG Extended: Debian's libjpeg62-turbo is an 8-bit build.
    "JPEG-lossy.dcm": "PC_UNSUPPORTED",
    "JPGExtended.dcm": "PC_UNSUPPORTED",
}



def photometric_out(ds):
    pi = str(ds.PhotometricInterpretation).strip()
    return "RGB" if pi in ("YBR_FULL", "YBR_FULL_422") else pi


def pixels(ds):
    pydicom.config.pixel_data_handlers = [gdcm_handler, pillow_handler]
    arr = ds.pixel_array
    pi = str(ds.PhotometricInterpretation).strip()
    if int(ds.SamplesPerPixel) == 3 and pi in ("YBR_FULL", "YBR_FULL_422"):
        arr = convert_color_space(arr, pi, "RGB")
    return arr


def reference(path):
    ds = pydicom.dcmread(path)
    name = os.path.basename(path)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    rows, cols, spp = int(ds.Rows), int(ds.Columns), int(ds.SamplesPerPixel)
    ts = str(ds.file_meta.TransferSyntaxUID)
    ref = dict(name=name, ts=ts, lossy=SYNTAXES[ts], frames=frames,
               rows=rows, cols=cols, samples=spp,
               status=KNOWN.get(name, "PC_OK"), bits=int(ds.BitsStored),
               signed=int(ds.PixelRepresentation),
               photometric=photometric_out(ds), frame=[])
    if ref["status"] != "PC_OK":
        return ref
    arr = pixels(ds).astype(np.int64).reshape(frames, -1)
    for f in range(frames):
        a = arr[f]
        ref["frame"].append(pixel_refs.frame_ref(a, cols * spp))
    return ref


def write_header(refs):
    pixel_refs.write_header(os.path.join(OUT, "refs.h"), refs,
                            "gen_jpeg_refs.py", "jref", 16)


def main():
    os.makedirs(OUT, exist_ok=True)
    refs = []
    for path in sorted(glob.glob(os.path.join(TEST_FILES, "*.dcm"))):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            ts = str(ds.file_meta.TransferSyntaxUID)
            has_rows = "Rows" in ds
        except Exception:
            continue
        if ts in SYNTAXES and has_rows:
            refs.append(reference(path))
    if not refs:
        sys.exit("no JPEG files found in " + TEST_FILES)
    write_header(refs)
    for r in refs:
        print(r["name"], r["ts"], r["status"])


if __name__ == "__main__":
    main()
