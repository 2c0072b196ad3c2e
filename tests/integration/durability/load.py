#!/usr/bin/python3
"""Upload load for test_durability.sh: distinct instances, until the server dies.

Usage: load.py BASE_URL OUT_DIR CYCLE [MAX_SECONDS]

Threads stream POST /upload_file (multipart/form-data, field "file") with
instances generated from pydicom's CT_small and MR_small (new Study, Series
and SOP Instance UIDs, so every upload is distinct). One thread sends large
multi-frame CT instances (20-50 MB of random pixel data) in 256 KiB chunks
with short sleeps, so that a kill -9 of the server lands in the middle of
one. Every attempt is recorded in OUT_DIR/attempts.jsonl before its first
byte is sent; every acknowledgement (201 or 200 with a storage_handle) in
OUT_DIR/acks.jsonl; any other outcome in OUT_DIR/errors.jsonl. A thread
stops when the server refuses connections (it was killed), after
MAX_SECONDS (default 30), or after its share of uploads.

Prints one summary line: "cycle C: A attempted, K acknowledged, I interrupted
(L large), E errors" (attempts refused at connect, never sent, are not counted).
"""
import hashlib
import http.client
import io
import json
import os
import random
import sys
import threading
import time
import urllib.parse

import pydicom
from pydicom.uid import generate_uid

UID_ROOT = '1.2.826.0.1.3680043.8.498.'  # pydicom's root, for generated UIDs
SMALL_THREADS = 3
SMALL_MAX = 400          # uploads per small thread and cycle
LARGE_MIN_FRAMES = 640   # 128 x 128 x 2 bytes = 32 KiB a frame: 20 MiB
LARGE_MAX_FRAMES = 1600  # 50 MiB
CHUNK = 256 * 1024

base = urllib.parse.urlsplit(sys.argv[1])
out_dir = sys.argv[2]
cycle = int(sys.argv[3])
max_seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
data = os.path.join(os.path.dirname(pydicom.__file__), 'data', 'test_files')
seeds = {n: open(os.path.join(data, n), 'rb').read()
         for n in ('CT_small.dcm', 'MR_small.dcm')}

lock = threading.Lock()
files = {k: open(os.path.join(out_dir, k + '.jsonl'), 'a')
         for k in ('attempts', 'acks', 'errors')}
counts = {'attempted': 0, 'acked': 0, 'interrupted': 0, 'large_interrupted': 0,
          'errors': 0, 'refused': 0}
deadline = time.monotonic() + max_seconds


def record(kind, rec, count):
    with lock:
        files[kind].write(json.dumps(rec) + '\n')
        files[kind].flush()
        counts[count] += 1


def make_instance(seed, tag, n, frames=0, pool=b''):
    """One new instance from `seed`; returns (bytes, uids). A large one
    (frames > 0) takes its pixel data from `pool`, random bytes made once:
    making 50 MB afresh holds the GIL long enough to stall the other
    threads, and the kill would then find no upload in flight."""
    ds = pydicom.dcmread(io.BytesIO(seeds[seed]))
    ds.StudyInstanceUID = generate_uid(prefix=UID_ROOT)
    ds.SeriesInstanceUID = generate_uid(prefix=UID_ROOT)
    ds.SOPInstanceUID = generate_uid(prefix=UID_ROOT)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientID = f'DUR{cycle}-{tag}'
    ds.PatientName = f'Durability^C{cycle}^{tag}'
    ds.InstanceNumber = n
    if frames:
        fb = int(ds.Rows) * int(ds.Columns) * int(ds.BitsAllocated) // 8
        ds.NumberOfFrames = frames
        ds.PixelData = os.urandom(16) + pool[16:fb * frames]
    buf = io.BytesIO()
    ds.save_as(buf, write_like_original=True)
    return buf.getvalue(), {'study': ds.StudyInstanceUID,
                            'series': ds.SeriesInstanceUID,
                            'sop': ds.SOPInstanceUID}


class ServerGone(Exception):
    pass


def upload(body, slow):
    """POST /upload_file; returns (status, response bytes). Raises
    ServerGone when the connection is refused, OSError/HTTPException when it
    breaks on the way."""
    boundary = 'pacsd-durability-' + os.urandom(8).hex()
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="x.dcm"\r\nContent-Type: application/dicom\r\n\r\n').encode()
    tail = f'\r\n--{boundary}--\r\n'.encode()
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=60)
    try:
        try:
            conn.connect()
        except ConnectionRefusedError as e:
            raise ServerGone() from e
        conn.putrequest('POST', '/upload_file')
        conn.putheader('Content-Type', f'multipart/form-data; boundary={boundary}')
        conn.putheader('Content-Length', str(len(head) + len(body) + len(tail)))
        conn.endheaders()
        conn.send(head)
        view = memoryview(body)
        step = CHUNK if slow else len(body)
        for off in range(0, len(body), step):
            conn.send(view[off:off + step])
            if slow:
                time.sleep(0.01)
        conn.send(tail)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def worker(tag, large):
    rng = random.Random()
    n = 0
    while time.monotonic() < deadline and (large or n < SMALL_MAX):
        n += 1
        if large:
            body, uids = make_instance('CT_small.dcm', tag, n,
                                       rng.randint(LARGE_MIN_FRAMES, LARGE_MAX_FRAMES), POOL)
        else:
            body, uids = make_instance(rng.choice(sorted(seeds)), tag, n)
        rec = dict(uids, cycle=cycle, size=len(body),
                   sha256=hashlib.sha256(body).hexdigest())
        record('attempts', rec, 'attempted')
        try:
            status, resp = upload(body, large)
        except ServerGone:
            # Refused before any byte went out: not an upload at all.
            record('errors', dict(rec, error='refused'), 'refused')
            return
        except (OSError, http.client.HTTPException) as e:
            record('errors', dict(rec, error=f'interrupted: {e!r}'), 'interrupted')
            if large:
                with lock:
                    counts['large_interrupted'] += 1
            continue
        handle = None
        if status in (200, 201):
            try:
                handle = json.loads(resp).get('storage_handle')
            except ValueError:
                pass
        if handle:
            record('acks', dict(rec, handle=handle, status=status), 'acked')
        else:
            record('errors', dict(rec, error=f'HTTP {status}: {resp[:200]!r}'), 'errors')


# Made before any thread starts, then OUT_DIR/ready.CYCLE tells the test
# script that the uploads begin: its random delay before the kill starts there.
POOL = os.urandom(128 * 128 * 2 * LARGE_MAX_FRAMES)
threads = [threading.Thread(target=worker, args=(f's{i}', False))
           for i in range(SMALL_THREADS)]
threads.append(threading.Thread(target=worker, args=('L', True)))
for t in threads:
    t.start()
open(os.path.join(out_dir, f'ready.{cycle}'), 'w').close()
for t in threads:
    t.join()
print(f'cycle {cycle}: {counts["attempted"] - counts["refused"]} attempted, {counts["acked"]} acknowledged, '
      f'{counts["interrupted"]} interrupted ({counts["large_interrupted"]} large), '
      f'{counts["errors"]} errors')
