#!/usr/bin/python3
"""pydicom reference for bench/parse: times dcmread over a file list.

    /usr/bin/python3 bench/parse/pydicom_bench.py [--header-only]
        [--repeat R] @LISTFILE|FILE...

--header-only: dcmread(path, stop_before_pixels=True), what an indexer
would call; otherwise dcmread(path), which reads every value (pixel data
included) into memory. Either way the top-level element count is taken,
like parse_bench does; values stay raw (pydicom converts them on access).
The file list is read before the clock starts. Prints the same line as
parse_bench:
  files=N bytes=B seconds=S files_per_s=F mb_per_s=M errors=E elements=X
"""
import os
import sys
import time
import warnings

import pydicom

warnings.filterwarnings("ignore")


def main():
    header_only, repeat, paths = False, 1, []
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--header-only":
            header_only = True
        elif a == "--repeat":
            i += 1
            repeat = int(args[i])
        elif a.startswith("@"):
            with open(a[1:]) as fp:
                paths += [l.rstrip("\r\n") for l in fp
                          if l.strip() and not l.startswith("#")]
        else:
            paths.append(a)
        i += 1
    if not paths:
        sys.exit("pydicom_bench: no input files")
    sizes = [os.path.getsize(p) for p in paths]

    files = errors = elements = 0
    dcmread = pydicom.dcmread
    t0 = time.perf_counter()
    for _ in range(repeat):
        for p in paths:
            files += 1
            try:
                ds = dcmread(p, stop_before_pixels=header_only)
            except Exception:
                errors += 1
                continue
            elements += len(ds)
    t1 = time.perf_counter()
    s = max(t1 - t0, 1e-9)
    nbytes = sum(sizes) * repeat
    print(f"files={files} bytes={nbytes} seconds={s:.6f} "
          f"files_per_s={files / s:.1f} mb_per_s={nbytes / 1e6 / s:.2f} "
          f"errors={errors} elements={elements}")


if __name__ == "__main__":
    main()
