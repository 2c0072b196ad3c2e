#!/usr/bin/python3
"""pydicom's side of bench/render: FILE -> 8-bit PNG, R times in one process.

usage: pydicom_render.py [--repeat R] FILE

Each repetition does what `pacsd render FILE -o OUT` does, the pydicom way:
dcmread, pixel_array (numpy for native data, gdcm for compressed, as
configured in Debian's pydicom 2.3), then for grey images
apply_modality_lut + apply_voi_lut (the file's first window, else min..max)
scaled to 0..255, for YBR colour convert_color_space to RGB; then Pillow
encodes a PNG into memory. One untimed run first (imports, page cache).

Prints the line bench/render/run.sh parses:
  frames=R seconds=S frames_per_s=F mb_per_s=M pixel_bytes=P out_bytes=O
  cpu_s=C
MB = 10^6 bytes of decoded pixels at their native size (rows x cols x
samples x BitsAllocated/8), as for the other tools.
"""

import argparse
import io
import sys
import time
import warnings

import numpy as np
import pydicom
from PIL import Image
from pydicom.pixel_data_handlers.util import (apply_modality_lut,
                                              apply_voi_lut, apply_windowing,
                                              convert_color_space)

warnings.simplefilter("ignore")


def render(path):
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    spp = int(ds.SamplesPerPixel)
    if spp == 3:
        pi = str(ds.PhotometricInterpretation)
        if pi.startswith("YBR_FULL"):
            arr = convert_color_space(arr, pi, "RGB")
        if int(ds.BitsStored) > 8:
            arr = arr >> (int(ds.BitsStored) - 8)
        img = arr.astype(np.uint8)
    else:
        m = apply_modality_lut(arr, ds)
        if "WindowCenter" in ds and "WindowWidth" in ds:
            v = apply_voi_lut(m, ds, prefer_lut=False)
            lo, hi = apply_windowing(np.array([-1e300, 1e300]), ds)
        else:
            v = m
            lo, hi = float(m.min()), float(m.max())
        img = np.clip((v - lo) * (255.0 / max(hi - lo, 1e-12)) + 0.5,
                      0, 255).astype(np.uint8)
        if ds.PhotometricInterpretation == "MONOCHROME1":
            img = 255 - img
    out = io.BytesIO()
    Image.fromarray(img).save(out, format="PNG")
    size = (int(ds.Rows) * int(ds.Columns) * spp *
            ((int(ds.BitsAllocated) + 7) // 8))
    return size, out.tell()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("file")
    a = ap.parse_args()
    render(a.file)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.repeat):
        size, out = render(a.file)
    s = max(time.perf_counter() - t0, 1e-9)
    cpu = time.process_time() - c0
    print("frames=%d seconds=%.6f frames_per_s=%.1f mb_per_s=%.2f "
          "pixel_bytes=%d out_bytes=%d cpu_s=%.6f" % (
              a.repeat, s, a.repeat / s, size * a.repeat / 1e6 / s, size,
              out, cpu))
    return 0


if __name__ == "__main__":
    sys.exit(main())
