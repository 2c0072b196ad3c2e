#!/usr/bin/python3
"""Checks a restarted server against what load.py recorded (test_durability.sh).

Usage: verify.py BASE_URL DATA_DIR OUT_DIR LABEL

Reads OUT_DIR/attempts.jsonl, acks.jsonl and errors.jsonl (every cycle so
far) and checks, after a kill -9 and a restart on DATA_DIR:
  - DATA_DIR/tmp holds no file (the start-up sweep removed unfinished uploads);
  - every acknowledged upload is served byte for byte (SHA-256 and size) by
    GET /uploads/dicom/{handle} and by WADO-RS with transfer-syntax=*, and
    its blob is on disk with its size;
  - QIDO-RS /instances (paged with limit/offset) lists every acknowledged SOP
    Instance UID once, and nothing that was never sent;
  - an upload cut by the kill is either absent or complete (WADO-RS bytes
    equal to what was sent); an upload answered with an error is absent;
  - the blob files on disk are exactly as many as the indexed instances
    (no orphan left by the sweep, no row without bytes), and /health agrees
    when it reports an instance count.
Prints "PASS ..."/"FAIL ..." lines and "N passed, M failed" last.
"""
import hashlib
import http.client
import json
import os
import re
import sys
import urllib.parse

base = urllib.parse.urlsplit(sys.argv[1])
data_dir, out_dir, label = sys.argv[2], sys.argv[3], sys.argv[4]
HEX32 = re.compile(r'^[0-9a-f]{32}$')
passed = failed = 0


def check(name, cond, why=''):
    global passed, failed
    if cond:
        passed += 1
        print(f'PASS {label}: {name}')
    else:
        failed += 1
        print(f'FAIL {label}: {name}: {why}')
    return cond


def load(kind):
    path = os.path.join(out_dir, kind + '.jsonl')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Client:
    """One keep-alive connection, reopened when the server closes it."""

    def __init__(self):
        self.conn = None

    def get(self, path, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(base.hostname, base.port, timeout=60)
            try:
                self.conn.request('GET', path, headers=headers or {})
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader('Connection', '').lower() == 'close':
                    self.conn.close()
                    self.conn = None
                return r.status, r.getheader('Content-Type', ''), body
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError('unreachable')


def multipart_parts(ctype, body):
    """The bodies of a multipart response (RFC 2046 5.1)."""
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not m or not ctype.lower().startswith('multipart/'):
        raise ValueError(f'not multipart: {ctype!r}')
    delim = b'--' + m.group(1).encode()
    parts = []
    chunks = body.split(b'\r\n' + delim)
    if body.startswith(delim):
        chunks[0] = chunks[0][len(delim):]
    else:
        chunks = chunks[1:]  # a preamble before the first delimiter
    if not chunks:
        raise ValueError('no boundary')
    for c in chunks:
        if c.startswith(b'--'):
            break  # close delimiter
        hdr_end = c.find(b'\r\n\r\n')
        if hdr_end < 0:
            raise ValueError('part without header end')
        parts.append(c[hdr_end + 4:])
    return parts


def sha(b):
    return hashlib.sha256(b).hexdigest()


client = Client()
attempts = load('attempts')
acks = load('acks')
errors = load('errors')
refused = {e['sop'] for e in errors if e.get('error') == 'refused'}
http_errors = [e for e in errors if e.get('error', '').startswith('HTTP ')]
acked = {a['sop']: a for a in acks}
sent = {a['sop']: a for a in attempts if a['sop'] not in refused}
cut = [a for a in sent.values()
       if a['sop'] not in acked and not any(e['sop'] == a['sop'] for e in http_errors)]

# ---- the temp area ----------------------------------------------------------
tmp_dir = os.path.join(data_dir, 'tmp')
left = [os.path.join(r, f) for r, _, fs in os.walk(tmp_dir) for f in fs]
check('no file left under DATA/tmp after the start-up sweep', not left,
      f'{len(left)} files: {left[:3]}')

check('no upload answered with an error status', not http_errors,
      f'{len(http_errors)}: {[e["error"] for e in http_errors[:3]]}')

# ---- acknowledged uploads ---------------------------------------------------
rest_bad, wado_bad = [], []
for a in acks:
    try:
        st, _, body = client.get(f'/uploads/dicom/{a["handle"]}')
        if st != 200 or len(body) != a['size'] or sha(body) != a['sha256']:
            rest_bad.append(f'{a["handle"]}: HTTP {st}, {len(body)}/{a["size"]} bytes')
    except (OSError, http.client.HTTPException) as e:
        rest_bad.append(f'{a["handle"]}: {e!r}')
    try:
        st, ctype, body = client.get(
            f'/dicom-web/studies/{a["study"]}/series/{a["series"]}/instances/{a["sop"]}',
            {'Accept': 'multipart/related; type="application/dicom"; transfer-syntax=*'})
        parts = multipart_parts(ctype, body) if st == 200 else []
        if st != 200 or len(parts) != 1 or sha(parts[0]) != a['sha256']:
            wado_bad.append(f'{a["sop"][-12:]}: HTTP {st}, {len(parts)} parts, '
                            f'{[len(p) for p in parts]}/{a["size"]} bytes')
    except (OSError, http.client.HTTPException, ValueError) as e:
        wado_bad.append(f'{a["sop"][-12:]}: {e!r}')
big = sum(1 for a in acks if a['size'] > 16 << 20)
check(f'GET /uploads/dicom/{{handle}}: {len(acks)} acknowledged uploads ({big} large) byte-identical',
      not rest_bad, f'{len(rest_bad)} bad: {rest_bad[:3]}')
check(f'WADO-RS transfer-syntax=*: {len(acks)} acknowledged instances byte-identical',
      not wado_bad, f'{len(wado_bad)} bad: {wado_bad[:3]}')

# ---- QIDO-RS ----------------------------------------------------------------
listed = []
qido_err = None
offset = 0
while True:
    st, _, body = client.get(f'/dicom-web/instances?limit=500&offset={offset}',
                             {'Accept': 'application/dicom+json'})
    if st == 204:
        break
    if st != 200:
        qido_err = f'HTTP {st} at offset {offset}: {body[:200]!r}'
        break
    page = json.loads(body) if body.strip() else []
    for o in page:
        listed.append(((o.get('00080018') or {}).get('Value') or [None])[0])
    if len(page) < 500:
        break
    offset += 500
indexed = set(listed)
check('QIDO-RS lists each instance once', qido_err is None and len(indexed) == len(listed),
      qido_err or f'{len(listed)} rows, {len(indexed)} distinct')
missing = [s for s in acked if s not in indexed]
check(f'QIDO-RS finds all {len(acked)} acknowledged SOP Instance UIDs', not missing,
      f'{len(missing)} missing: {missing[:3]}')
strangers = [s for s in indexed if s not in sent]
check('QIDO-RS lists nothing that was never sent', not strangers,
      f'{len(strangers)}: {strangers[:3]}')
rejected_present = [e['sop'] for e in http_errors if e['sop'] in indexed]
check('uploads answered with an error are absent', not rejected_present,
      f'{rejected_present[:3]}')

# ---- uploads cut by the kill ------------------------------------------------
present = [a for a in cut if a['sop'] in indexed]
cut_bad = []
for a in present:
    st, ctype, body = client.get(
        f'/dicom-web/studies/{a["study"]}/series/{a["series"]}/instances/{a["sop"]}',
        {'Accept': 'multipart/related; type="application/dicom"; transfer-syntax=*'})
    try:
        parts = multipart_parts(ctype, body) if st == 200 else []
    except ValueError:
        parts = []
    if len(parts) != 1 or sha(parts[0]) != a['sha256']:
        cut_bad.append(f'{a["sop"][-12:]}: HTTP {st}, {[len(p) for p in parts]}/{a["size"]} bytes')
n_large = sum(1 for a in cut if a['size'] > 16 << 20)
check(f'uploads cut by a kill: {len(cut)} ({n_large} large), of which {len(present)} stored '
      f'complete, {len(cut) - len(present)} absent', not cut_bad, f'incomplete: {cut_bad[:3]}')

# ---- blobs on disk ----------------------------------------------------------
blob_dir = os.path.join(data_dir, 'blobs')
blobs = {}
for r, _, fs in os.walk(blob_dir):
    for f in fs:
        blobs[f] = os.path.getsize(os.path.join(r, f))
odd = [b for b in blobs if not HEX32.match(b)]
check('blob files are named by storage handles', not odd, f'{odd[:3]}')
# Found by walking blobs/, whatever the fan-out layout (src/store/store.c).
disk_bad = [a['handle'] for a in acks if blobs.get(a['handle']) != a['size']]
check('every acknowledged blob is on disk with its size', not disk_bad, f'{disk_bad[:3]}')
check(f'blob files on disk ({len(blobs)}) = indexed instances ({len(indexed)})',
      len(blobs) == len(indexed) and qido_err is None, 'an orphan blob or an instance without bytes')

st, _, body = client.get('/health')
n_health = None
try:
    h = json.loads(body)

    def find(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == 'instances' and isinstance(v, int):
                    return v
                r = find(v)
                if r is not None:
                    return r
        return None
    n_health = find(h)
except ValueError:
    pass
if n_health is None:
    check('/health answers 200', st == 200, f'HTTP {st}')
else:
    check(f'/health instance count ({n_health}) = indexed instances', st == 200 and n_health == len(indexed),
          f'HTTP {st}, {n_health} vs {len(indexed)}')

print(f'{label}: {len(sent)} sent, {len(acks)} acknowledged, {len(cut)} cut, '
      f'{len(indexed)} indexed, {len(blobs)} blobs')
print(f'{passed} passed, {failed} failed')
sys.exit(1 if failed else 0)
