"""HTTP side of the DIMSE checks: find an instance by QIDO-RS and fetch its
stored bytes by WADO-RS (standard library only)."""
import json
import re
import urllib.error
import urllib.parse
import urllib.request

WADO_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'


def get(base, path, accept, timeout=60):
    req = urllib.request.Request(base + path, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def qido(base, path):
    st, _, body = get(base, path, "application/dicom+json")
    if st == 204 or not body.strip():
        return []
    if st != 200:
        raise RuntimeError("QIDO %s: HTTP %d %r" % (path, st, body[:200]))
    return json.loads(body)


def value(obj, tag):
    v = obj.get(tag, {}).get("Value")
    return v[0] if v else None


def multipart_parts(ctype, body):
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not m:
        raise RuntimeError("no boundary in %r" % ctype)
    delim = b"--" + m.group(1).encode()
    out = []
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        out.append(data)
    return out


def fetch_instance(base, sop_uid):
    """-> Part 10 bytes as pacsd stored them, or raises."""
    hits = qido(base, "/dicom-web/instances?SOPInstanceUID=" +
                urllib.parse.quote(sop_uid) + "&includefield=0020000D")
    if len(hits) != 1:
        raise RuntimeError("QIDO SOPInstanceUID=%s: %d matches"
                           % (sop_uid, len(hits)))
    study = value(hits[0], "0020000D")
    series = value(hits[0], "0020000E")
    st, ctype, body = get(base, "/dicom-web/studies/%s/series/%s/instances/%s"
                          % (study, series, sop_uid), WADO_ACCEPT)
    if st != 200:
        raise RuntimeError("WADO-RS %s: HTTP %d" % (sop_uid, st))
    parts = multipart_parts(ctype, body)
    if len(parts) != 1:
        raise RuntimeError("WADO-RS %s: %d parts" % (sop_uid, len(parts)))
    return parts[0]


def split_meta(p10):
    """Part 10 bytes -> (meta dict {tag: bytes}, data set bytes). Reads the
    group 0002 elements one by one (explicit VR LE, PS3.10 7.1) rather than
    trusting the group length."""
    import struct
    if len(p10) < 132 or p10[128:132] != b"DICM":
        raise RuntimeError("no DICM prefix")
    i = 132
    meta = {}
    while i + 8 <= len(p10):
        g, e = struct.unpack("<HH", p10[i:i + 4])
        if g != 2:
            break
        vr = p10[i + 4:i + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):
            (n,) = struct.unpack("<I", p10[i + 8:i + 12])
            v = p10[i + 12:i + 12 + n]
            i += 12 + n
        else:
            (n,) = struct.unpack("<H", p10[i + 6:i + 8])
            v = p10[i + 8:i + 8 + n]
            i += 8 + n
        meta[(g << 16) | e] = v
    return meta, p10[i:]


def meta_str(meta, tag):
    return meta.get(tag, b"").rstrip(b"\0 ").decode("ascii", "replace")
