#!/usr/bin/python3
"""Builds the parse benchmark corpus: N copies of pydicom's test files.

    /usr/bin/python3 bench/parse/make_corpus.py [--n 3000] [--out DIR]

DIR defaults to build/bench-corpus under the repository (never committed).
Source files are pydicom's test_files/ and charset_files/ that both
pydicom (dcmread without force) and, when installed, dcmtk's dcmdump read
without error, so that every tool in run.sh does the same work on every
file. They are copied byte for byte, round robin, to DIR/files/NNNNN-name
until there are N files, and DIR/files.txt lists their absolute paths. The
DICOMDIR test tree holds dozens of near-identical 740-byte images; only a
few of them are used so that they do not dominate the mix.

Re-running with the same N and sources does nothing (DIR/manifest.txt).
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import warnings

import pydicom

warnings.filterwarnings("ignore")

DATA = os.path.dirname(pydicom.__file__) + "/data"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SKIP_SUFFIX = (".txt", ".json", ".dump", ".gz", ".py")
MAX_PER_DIR = 4  # images taken from one dicomdirtests/ series folder


def candidates():
    out = []
    for base in ("test_files", "charset_files"):
        for root, dirs, files in os.walk(os.path.join(DATA, base)):
            dirs.sort()
            taken = 0
            for f in sorted(files):
                if f.endswith(SKIP_SUFFIX) or f.startswith(("README", ".")):
                    continue
                if "dicomdirtests" in root and root.count(os.sep) > \
                        DATA.count(os.sep) + 2:
                    if taken >= MAX_PER_DIR:
                        continue
                    taken += 1
                out.append(os.path.join(root, f))
    return out


def readable(path, dcmdump):
    try:
        pydicom.dcmread(path)
    except Exception:
        return False, "pydicom"
    if dcmdump:
        r = subprocess.run([dcmdump, "-q", "+P", "0008,0018", path],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            return False, "dcmdump"
    return True, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--out", default=os.path.join(ROOT, "build",
                                                  "bench-corpus"))
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    dcmdump = shutil.which("dcmdump")

    sources, skipped = [], []
    for path in candidates():
        ok, why = readable(path, dcmdump)
        if ok:
            sources.append(path)
        else:
            skipped.append(f"{os.path.relpath(path, DATA)} ({why})")
    if not sources:
        sys.exit("make_corpus: no readable source files")

    h = hashlib.sha256()
    for s in sources:
        h.update(s.encode() + b"\0" + str(os.path.getsize(s)).encode())
    manifest = f"n={args.n} sources={len(sources)} hash={h.hexdigest()}\n"
    mpath = os.path.join(out, "manifest.txt")
    if os.path.exists(mpath) and open(mpath).read() == manifest and \
            os.path.exists(os.path.join(out, "files.txt")):
        if not args.quiet:
            print(f"make_corpus: {out} is up to date ({args.n} files)")
        return

    files_dir = os.path.join(out, "files")
    if os.path.isdir(files_dir):
        shutil.rmtree(files_dir)
    os.makedirs(files_dir)
    paths, total = [], 0
    for i in range(args.n):
        src = sources[i % len(sources)]
        name = os.path.relpath(src, DATA).replace(os.sep, "-")
        dst = os.path.join(files_dir, f"{i:05d}-{name}")
        shutil.copyfile(src, dst)
        paths.append(dst)
        total += os.path.getsize(src)
    with open(os.path.join(out, "files.txt"), "w") as fp:
        fp.write("\n".join(paths) + "\n")
    with open(mpath, "w") as fp:
        fp.write(manifest)
    if not args.quiet:
        print(f"make_corpus: {args.n} files, {total / 1e6:.1f} MB from "
              f"{len(sources)} sources in {out}")
        for s in skipped:
            print(f"make_corpus: skipped {s}")


if __name__ == "__main__":
    main()
