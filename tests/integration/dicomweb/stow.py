#!/usr/bin/python3
"""stow.py BASE_URL FILE... [--study UID] [--chunked]: POSTs the files as one
STOW-RS request (multipart/related; type="application/dicom"), streaming
them from disk, and prints {"status": N, "body": <JSON or text>}."""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dwlib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--study")
    ap.add_argument("--chunked", action="store_true")
    a = ap.parse_args()
    path = "/dicom-web/studies" + ("/" + a.study if a.study else "")
    r = dwlib.stow(a.base, [dwlib.Part(path=f) for f in a.files], path=path,
                   chunked=a.chunked)
    try:
        body = r.json()
    except ValueError:
        body = r.body.decode("utf-8", "replace")
    print(json.dumps({"status": r.status, "body": body}))
    return 0 if r.status in (200, 202) else 1


if __name__ == "__main__":
    sys.exit(main())
