#!/usr/bin/python3
"""Splits the bench corpus by transfer syntax for storescu.

usage: split_corpus.py FILES_TXT OUT_DIR PROCS

storescu proposes one family of transfer syntaxes per run (a flag), so each
syntax gets its own directories of symbolic links, scanned with +sd:
  OUT_DIR/<group>/all/      every file of the group (one storescu)
  OUT_DIR/<group>/p<k>/     the group dealt round robin into PROCS parts
                            (PROCS storescu at once)
Prints "<group> <storescu flag> <files>" per group. Only the File Meta
Information is read.
"""
import os
import sys

from pydicom.filereader import read_file_meta_info

FLAGS = {
    "1.2.840.10008.1.2": ("native", "-x="),
    "1.2.840.10008.1.2.1": ("native", "-x="),
    "1.2.840.10008.1.2.4.50": ("jpeg8", "-xy"),
    "1.2.840.10008.1.2.4.51": ("jpeg12", "-xx"),
    "1.2.840.10008.1.2.4.70": ("jpegll", "-xs"),
    "1.2.840.10008.1.2.4.80": ("jpegls", "-xt"),
    "1.2.840.10008.1.2.4.90": ("j2kll", "-xv"),
    "1.2.840.10008.1.2.4.91": ("j2k", "-xw"),
    "1.2.840.10008.1.2.5": ("rle", "-xr"),
    "1.2.840.10008.1.2.1.99": ("deflate", "-xd"),
}


def main():
    files_txt, out, procs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(files_txt) as f:
        files = [ln.strip() for ln in f if ln.strip()]
    groups = {}
    for p in files:
        ts = str(read_file_meta_info(p).TransferSyntaxUID)
        if ts not in FLAGS:
            sys.exit("split_corpus: %s has transfer syntax %s, which has no "
                     "storescu flag here" % (p, ts))
        groups.setdefault(FLAGS[ts], []).append(os.path.abspath(p))
    for (g, flag), paths in sorted(groups.items()):
        os.makedirs(os.path.join(out, g, "all"))
        for k in range(procs):
            os.makedirs(os.path.join(out, g, "p%d" % k))
        for i, p in enumerate(paths):
            name = "%06d.dcm" % i
            os.symlink(p, os.path.join(out, g, "all", name))
            os.symlink(p, os.path.join(out, g, "p%d" % (i % procs), name))
        print(g, flag, len(paths))


if __name__ == "__main__":
    main()
