#!/usr/bin/python3
"""Checks transcoded files against pydicom's decoding of their originals.

usage: check_transcode.py MANIFEST
MANIFEST holds one "ORIGINAL<TAB>TRANSCODED" pair per line. For each pair:
the transcoded file must be Explicit VR Little Endian with native pixel
data that pydicom reads; its pixels must equal pydicom's decoding of the
original: exactly for lossless syntaxes, within a small tolerance for lossy
ones (two JPEG decoders may round differently) and after YBR -> RGB
conversion (which pacsd applies, pydicom may not). Every other top-level
attribute but the pixel module ones must be unchanged.
Prints one line per pair and exits 1 if any failed.
"""
import sys
import warnings

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import convert_color_space

warnings.simplefilter("ignore")

LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
         "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91",
         "1.2.840.10008.1.2.4.93", "1.2.840.10008.1.2.4.203"}
# Attributes the transcoder may change (pixel module, encapsulation).
CHANGED = {0x00280004, 0x00280006, 0x00280102, 0x7FE00001, 0x7FE00002,
           0x7FE00000, 0x7FE00010, 0xFFFCFFFC}


def candidates(orig_ds, arr):
    """pydicom's array, and its RGB form when the original is YBR."""
    out = [("as decoded", arr)]
    pi = str(orig_ds.PhotometricInterpretation)
    if pi.startswith("YBR") and arr.ndim >= 3 and arr.shape[-1] == 3:
        src = "YBR_FULL" if pi.startswith("YBR_FULL") else pi
        try:
            out.append(("ybr->rgb", convert_color_space(arr, src, "RGB")))
        except Exception:  # noqa: BLE001 - conversion not available
            pass
    return out


def check(orig, conv):
    o = pydicom.dcmread(orig)
    t = pydicom.dcmread(conv)
    ts = str(o.file_meta.TransferSyntaxUID)
    if str(t.file_meta.TransferSyntaxUID) != "1.2.840.10008.1.2.1":
        return False, "transfer syntax %s" % t.file_meta.TransferSyntaxUID
    if t.is_implicit_VR or not t.is_little_endian:
        return False, "not read as explicit little endian"
    for elem in o:
        if elem.tag in CHANGED:
            continue
        if elem.tag not in t:
            return False, "attribute %s lost" % elem.tag
        if elem.VR != "SQ" and t[elem.tag].value != elem.value:
            return False, "attribute %s changed" % elem.tag
    if "PixelData" not in o:
        return True, "no pixel data"
    a = o.pixel_array
    b = t.pixel_array
    best = None
    for name, ref in candidates(o, a):
        if ref.shape != b.shape:
            continue
        d = np.abs(ref.astype(np.int64) - b.astype(np.int64))
        stat = (int(d.max()), float(d.mean()), name)
        if best is None or stat < best:
            best = stat
    if best is None:
        return False, "shape %s vs pydicom %s" % (b.shape, a.shape)
    mx, mean, name = best
    if ts in LOSSY:
        ok = mean <= 1.0 and mx <= 32
    elif name == "ybr->rgb":
        ok = mx <= 2
    else:
        ok = mx == 0
    return ok, "max diff %d mean %.4f (%s, %s)" % (mx, mean, name,
                                                   t.PhotometricInterpretation)


def main():
    failed = 0
    with open(sys.argv[1]) as f:
        pairs = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for orig, conv in pairs:
        try:
            ok, msg = check(orig, conv)
        except Exception as e:  # noqa: BLE001 - report and go on
            ok, msg = False, "exception: %r" % (e,)
        print("%s %s: %s" % ("ok  " if ok else "FAIL", orig.split("/")[-1],
                             msg))
        failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
