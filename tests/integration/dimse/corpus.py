#!/usr/bin/python3
"""Lists pydicom's test corpus grouped by transfer syntax, with the storescu
flag that proposes it (/work/shared/PEERS.md: storescu proposes only
uncompressed syntaxes unless told).

usage: corpus.py OUT_DIR
Writes OUT_DIR/groups.tsv: "<group>\t<storescu flag>\t<path>" per file, and
OUT_DIR/skipped.tsv: files that are not DICOM at all (json, text, gz...)
with the reason. Files without File Meta Information go in group "nometa"
with storescu's default (it reads them as bare data sets).
"""
import os
import sys
import warnings

import pydicom
import pydicom.data

FLAGS = {
    "1.2.840.10008.1.2.1": ("explicit", "-xe"),
    "1.2.840.10008.1.2": ("implicit", "-xi"),
    "1.2.840.10008.1.2.2": ("bigendian", "-xb"),
    "1.2.840.10008.1.2.1.99": ("deflate", "-xd"),
    "1.2.840.10008.1.2.4.50": ("jpeg8", "-xy"),
    "1.2.840.10008.1.2.4.51": ("jpeg12", "-xx"),
    "1.2.840.10008.1.2.4.70": ("jpeglossless", "-xs"),
    "1.2.840.10008.1.2.4.80": ("jpegls", "-xt"),
    "1.2.840.10008.1.2.4.81": ("jpeglslossy", "-xu"),
    "1.2.840.10008.1.2.4.90": ("j2klossless", "-xv"),
    "1.2.840.10008.1.2.4.91": ("j2k", "-xw"),
    "1.2.840.10008.1.2.5": ("rle", "-xr"),
}


def corpus_files():
    base = os.path.dirname(pydicom.data.__file__)
    for sub in ("test_files", "charset_files"):
        for root, dirs, files in os.walk(os.path.join(base, sub)):
            dirs.sort()
            for f in sorted(files):
                yield os.path.join(root, f)


def main():
    out = sys.argv[1]
    warnings.simplefilter("ignore")
    groups = []
    skipped = []
    for p in corpus_files():
        with open(p, "rb") as f:
            head = f.read(132)
        has_meta = len(head) == 132 and head[128:132] == b"DICM"
        try:
            ds = pydicom.dcmread(p, force=True, stop_before_pixels=True)
        except Exception as e:  # noqa: BLE001 - any parse failure skips
            if has_meta:
                groups.append(("unreadable", "-x=", p))
            else:
                skipped.append((p, "pydicom: %s" % type(e).__name__))
            continue
        if not has_meta:
            if "SOPClassUID" in ds:
                groups.append(("nometa", "-x=", p))
            else:
                skipped.append((p, "not DICOM (no preamble, no SOP class)"))
            continue
        ts = str(ds.file_meta.get("TransferSyntaxUID", ""))
        g, flag = FLAGS.get(ts, ("other", "-x="))
        groups.append((g, flag, p))
    with open(os.path.join(out, "groups.tsv"), "w") as f:
        for g, flag, p in groups:
            f.write("%s\t%s\t%s\n" % (g, flag, p))
    with open(os.path.join(out, "skipped.tsv"), "w") as f:
        for p, why in skipped:
            f.write("%s\t%s\n" % (p, why))


if __name__ == "__main__":
    main()
