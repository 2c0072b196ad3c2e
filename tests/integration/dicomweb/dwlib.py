"""HTTP helpers for the DICOMweb integration test (standard library only).

stow() streams parts from disk or memory as one multipart/related body
(PS3.18 10.5.1.2), with Content-Length or chunked transfer, so that large
files are never held in memory by the client either.
"""
import http.client
import json
import os
import urllib.parse
import uuid

CHUNK = 64 * 1024


class Part:
    """One body part: `data` (bytes) or `path` (a file streamed from disk);
    `ctype` None omits the part's Content-Type header."""

    def __init__(self, data=None, path=None, ctype="application/dicom"):
        self.data = data
        self.path = path
        self.ctype = ctype

    def size(self):
        return len(self.data) if self.path is None else os.path.getsize(self.path)

    def chunks(self):
        if self.path is None:
            for i in range(0, len(self.data), CHUNK):
                yield self.data[i:i + CHUNK]
            return
        with open(self.path, "rb") as f:
            while True:
                b = f.read(CHUNK)
                if not b:
                    return
                yield b


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict, lower-cased names
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name):
        return self.headers.get(name.lower())


def _conn(base):
    u = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=120), u.path


def _read(c):
    r = c.getresponse()
    body = r.read()
    headers = {k.lower(): v for k, v in r.getheaders()}
    return Response(r.status, headers, body)


def request(base, method, path, headers=None, body=None):
    c, prefix = _conn(base)
    try:
        c.request(method, prefix + path, body=body, headers=headers or {})
        return _read(c)
    finally:
        c.close()


def get(base, path, params=None, accept=None, raw_query=None):
    q = ""
    if raw_query is not None:
        q = "?" + raw_query
    elif params:
        q = "?" + urllib.parse.urlencode(params, safe="*?^,")
    h = {}
    if accept is not None:
        h["Accept"] = accept
    return request(base, "GET", path + q, h)


def delete(base, path):
    return request(base, "DELETE", path)


def stow(base, parts, path="/dicom-web/studies", type_param='"application/dicom"',
         ctype=None, accept=None, chunked=False, truncate_after=None,
         boundary=None, omit_close=False):
    """POSTs `parts`. `ctype` overrides the whole Content-Type header;
    `truncate_after` stops after that many bytes of body (the server sees
    the end of a shorter body); `omit_close` leaves out the closing
    boundary."""
    boundary = boundary or "dwtest-" + uuid.uuid4().hex
    pieces = []
    for p in parts:
        head = b"--" + boundary.encode() + b"\r\n"
        if p.ctype is not None:
            head += b"Content-Type: " + p.ctype.encode() + b"\r\n"
        head += b"\r\n"
        pieces.append((head, p))
    tail = b"" if omit_close else b"--" + boundary.encode() + b"--\r\n"
    total = sum(len(h) + p.size() + 2 for h, p in pieces) + len(tail)
    if truncate_after is not None:
        total = min(total, truncate_after)
    if ctype is None:
        ctype = "multipart/related; type=%s; boundary=%s" % (type_param, boundary)

    def body():
        for h, p in pieces:
            yield h
            for b in p.chunks():
                yield b
            yield b"\r\n"
        yield tail

    c, prefix = _conn(base)
    try:
        c.putrequest("POST", prefix + path)
        c.putheader("Content-Type", ctype)
        if accept is not None:
            c.putheader("Accept", accept)
        if chunked:
            c.putheader("Transfer-Encoding", "chunked")
        else:
            c.putheader("Content-Length", str(total))
        c.endheaders()
        sent = 0
        try:
            for b in body():
                if truncate_after is not None:
                    b = b[:max(0, truncate_after - sent)]
                if not b:
                    continue
                sent += len(b)
                if chunked:
                    c.send(b"%x\r\n" % len(b) + b + b"\r\n")
                else:
                    c.send(b)
            if chunked:
                c.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (415, 413...): read it
        return _read(c)
    finally:
        c.close()


def seq_items(obj, tag):
    """Items of sequence `tag` in a DICOM JSON object ([] when absent)."""
    e = obj.get(tag)
    if not e:
        return []
    return e.get("Value", [])


def value(obj, tag, default=None):
    e = obj.get(tag)
    if not e or "Value" not in e or not e["Value"]:
        return default
    return e["Value"][0]


def values(obj, tag):
    e = obj.get(tag)
    if not e or "Value" not in e:
        return []
    return e["Value"]
