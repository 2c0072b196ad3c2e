#!/usr/bin/python3
"""WADO-RS and WADO-URI against a running pacsd, judged with pydicom.

usage: check_wado.py BASE_URL WORKDIR [--perf N] [--pid PID]

Makes test instances from pydicom's files (new UIDs, so that files sharing
their UIDs can be stored side by side; each keeps its transfer syntax),
stores them with STOW-RS, then checks retrieve (multipart and single part,
as stored and transcoded), metadata (+ ETag), frames, rendered, thumbnail,
bulk data and WADO-URI, and the error statuses. With --perf N, stores N more
instances in one series and times metadata and retrieve of that series
(--pid: the server's, to report its peak memory).
Prints one line per check and "N passed, M failed" last.
"""
import copy
import http.client
import io
import json
import os
import re
import struct
import sys
import time
import urllib.parse
import warnings

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import generate_pixel_data_frame
from pydicom.pixel_data_handlers.util import convert_color_space
from pydicom.uid import generate_uid

warnings.simplefilter("ignore")

DATA = "/usr/lib/python3/dist-packages/pydicom/data/test_files/"
EXPLICIT = "1.2.840.10008.1.2.1"

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL " + name + (": " + str(detail) if detail else ""))
    return cond


class Client:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.base = base

    def req(self, method, path, headers=None, body=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=120)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def get(self, path, accept=None, headers=None):
        h = dict(headers or {})
        if accept is not None:
            h["Accept"] = accept
        return self.req("GET", path, h)


def mt_params(ctype):
    """'a/b; x=1; y="2"' -> ('a/b', {'x': '1', 'y': '2'})"""
    parts = re.findall(r'(?:[^;"]|"[^"]*")+', ctype)
    main = parts[0].strip().lower()
    params = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return main, params


def multipart(ctype, body):
    """Parts of a multipart/related body as (headers, bytes)."""
    main, params = mt_params(ctype)
    assert main == "multipart/related", ctype
    b = b"--" + params["boundary"].encode()
    out = []
    pos = body.index(b)
    while True:
        pos += len(b)
        if body[pos:pos + 2] == b"--":
            break
        assert body[pos:pos + 2] == b"\r\n", body[pos:pos + 10]
        hend = body.index(b"\r\n\r\n", pos)
        headers = {}
        for line in body[pos + 2:hend].split(b"\r\n"):
            k, v = line.decode().split(":", 1)
            headers[k.strip().lower()] = v.strip()
        nxt = body.index(b"\r\n" + b, hend + 4)
        out.append((headers, body[hend + 4:nxt]))
        pos = nxt + 2
    return out


def stow(cl, files_bytes):
    boundary = "wadotestboundary%d" % time.time_ns()
    buf = io.BytesIO()
    for data in files_bytes:
        buf.write(b"--" + boundary.encode() + b"\r\n")
        buf.write(b"Content-Type: application/dicom\r\n\r\n")
        buf.write(data)
        buf.write(b"\r\n")
    buf.write(b"--" + boundary.encode() + b"--\r\n")
    return cl.req("POST", "/dicom-web/studies", {
        "Content-Type": 'multipart/related; type="application/dicom"; '
                        "boundary=" + boundary,
        "Accept": "application/dicom+json"}, buf.getvalue())


def make(src, study, series, name, workdir, tweak=None):
    ds = pydicom.dcmread(DATA + src)
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.SOPInstanceUID = generate_uid()
    if "MediaStorageSOPInstanceUID" in ds.file_meta:
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if tweak is not None:
        tweak(ds)
    path = os.path.join(workdir, name + ".dcm")
    ds.save_as(path, write_like_original=True)
    with open(path, "rb") as f:
        data = f.read()
    return {"name": name, "path": path, "bytes": data,
            "ds": pydicom.dcmread(path), "study": study, "series": series,
            "sop": ds.SOPInstanceUID,
            "ts": str(pydicom.dcmread(path).file_meta.TransferSyntaxUID)}


def url(inst, suffix=""):
    return "/dicom-web/studies/%s/series/%s/instances/%s%s" % (
        inst["study"], inst["series"], inst["sop"], suffix)


def pixels_match(orig_ds, got_ds, tol=0):
    a = orig_ds.pixel_array
    b = got_ds.pixel_array
    cands = [a]
    if str(orig_ds.PhotometricInterpretation).startswith("YBR"):
        cands.append(convert_color_space(a, "YBR_FULL", "RGB"))
    best = None
    for c in cands:
        if c.shape != b.shape:
            continue
        d = int(np.abs(c.astype(np.int64) - b.astype(np.int64)).max())
        best = d if best is None else min(best, d)
    return best is not None and best <= tol, best


def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", data[16:24])


def jpeg_size(data):
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        m = data[i + 1]
        ln = struct.unpack(">H", data[i + 2:i + 4])[0]
        if m in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + ln
    return None


def icon_tweak(ds):
    """A nested binary value (Icon Image Sequence pixel data, 4 KiB) and a
    top-level one (a palette LUT) for bulk data URIs."""
    icon = Dataset()
    icon.Rows = 64
    icon.Columns = 64
    icon.SamplesPerPixel = 1
    icon.PhotometricInterpretation = "MONOCHROME2"
    icon.BitsAllocated = 8
    icon.BitsStored = 8
    icon.HighBit = 7
    icon.PixelRepresentation = 0
    icon.PixelData = bytes(range(256)) * 16
    ds.IconImageSequence = [icon]
    ds.add_new(0x00281201, "OW", bytes(range(256)) * 8)


def main():
    base, workdir = sys.argv[1], sys.argv[2]
    perf = 0
    pid = None
    if "--perf" in sys.argv:
        perf = int(sys.argv[sys.argv.index("--perf") + 1])
    if "--pid" in sys.argv:
        pid = int(sys.argv[sys.argv.index("--pid") + 1])
    cl = Client(base)
    study = generate_uid()
    se = [generate_uid() for _ in range(6)]
    I = {}
    specs = [
        ("ct", "CT_small.dcm", 0, None),
        ("icon", "CT_small.dcm", 0, icon_tweak),
        ("rle", "MR_small_RLE.dcm", 1, None),
        ("jpeg", "SC_rgb_jpeg_dcmtk.dcm", 2, None),
        ("implicit", "MR_small_implicit.dcm", 1, None),
        ("bigend", "MR_small_bigendian.dcm", 1, None),
        ("rle2", "SC_rgb_rle_2frame.dcm", 3, None),
        ("dose", "rtdose.dcm", 3, None),
        ("jls", "MR_small_jpeg_ls_lossless.dcm", 4, None),
        ("j2k", "MR_small_jp2klossless.dcm", 4, None),
        ("dfl", "image_dfl.dcm", 4, None),
        ("sr", "test-SR.dcm", 5, None),
    ]
    for name, src, s, tw in specs:
        I[name] = make(src, study, se[s], name, workdir, tw)

    st, _, body = stow(cl, [i["bytes"] for i in I.values()])
    if not check("STOW %d test instances" % len(I), st == 200,
                 "%s %s" % (st, body[:300])):
        return

    # ---- retrieve --------------------------------------------------------
    any_ts = 'multipart/related; type="application/dicom"; transfer-syntax=*'
    # PS3.18 8.7.3: never Implicit VR LE nor Big Endian over the web, so
    # "*" gives those as Explicit VR LE and every other syntax as stored.
    web_ts = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.2")

    def same_as_stored(inst, ph, data):
        ts = mt_params(ph["content-type"])[1].get("transfer-syntax")
        if inst["ts"] not in web_ts:
            return data == inst["bytes"] and ts == inst["ts"]
        ds = pydicom.dcmread(io.BytesIO(data))
        return (ts == EXPLICIT and str(ds.file_meta.TransferSyntaxUID) ==
                EXPLICIT and pixels_match(inst["ds"], ds)[0])

    for name, inst in I.items():
        st, h, body = cl.get(url(inst), any_ts)
        ok = st == 200
        if ok:
            parts = multipart(h["content-type"], body)
            ok = len(parts) == 1 and same_as_stored(inst, *parts[0])
        check("retrieve %s transfer-syntax=* %s" % (
            name, "-> Explicit VR LE" if inst["ts"] in web_ts
            else "byte-identical"), ok, "%s" % st)

    def level_check(path, insts, what):
        st, h, body = cl.get(path, any_ts)
        parts = multipart(h["content-type"], body) if st == 200 else []
        by_sop = {}
        for ph, data in parts:
            by_sop[pydicom.dcmread(io.BytesIO(data),
                                   stop_before_pixels=True).SOPInstanceUID
                   ] = (ph, data)
        ok = len(parts) == len(insts) and all(
            i["sop"] in by_sop and same_as_stored(i, *by_sop[i["sop"]])
            for i in insts)
        check("%s retrieve: %d parts, each as stored" % (what, len(insts)),
              ok, "%s, %d parts" % (st, len(parts)))
        return st, h

    level_check("/dicom-web/studies/%s/series/%s" % (study, se[1]),
                [i for i in I.values() if i["series"] == se[1]], "series")
    st, h = level_check("/dicom-web/studies/%s" % study, list(I.values()),
                        "study")
    check("study retrieve Content-Type type=application/dicom",
          st == 200 and mt_params(h["content-type"])[1].get("type") ==
          "application/dicom", h.get("content-type"))

    # Default transfer syntax: Explicit VR LE, pixels as pydicom decodes.
    for name in ("rle", "implicit", "bigend", "jls", "j2k", "dfl"):
        inst = I[name]
        st, h, body = cl.get(url(inst),
                             'multipart/related; type="application/dicom"')
        ok = st == 200
        detail = st
        if ok:
            (ph, data), = multipart(h["content-type"], body)
            ds = pydicom.dcmread(io.BytesIO(data))
            ok = (str(ds.file_meta.TransferSyntaxUID) == EXPLICIT and
                  mt_params(ph["content-type"])[1].get("transfer-syntax")
                  == EXPLICIT)
            m, detail = pixels_match(inst["ds"], ds)
            ok = ok and m and ds.SOPInstanceUID == inst["sop"]
        check("retrieve %s default -> Explicit VR LE, pixels equal" % name,
              ok, detail)
    # Lossy stored: default keeps the stored JPEG (PS3.18 8.7.3.3).
    inst = I["jpeg"]
    st, h, body = cl.get(url(inst), "multipart/related; "
                         "type=application/dicom")
    check("retrieve lossy JPEG default -> as stored",
          st == 200 and multipart(h["content-type"], body)[0][1] ==
          inst["bytes"], st)
    st, h, body = cl.get(url(inst), 'multipart/related; type="application/'
                         'dicom"; transfer-syntax=' + EXPLICIT)
    ok = st == 200
    detail = st
    if ok:
        ds = pydicom.dcmread(io.BytesIO(multipart(h["content-type"],
                                                  body)[0][1]))
        ok, detail = pixels_match(inst["ds"], ds, tol=2)
        ok = ok and ds.PhotometricInterpretation == "RGB"
    check("retrieve JPEG as Explicit VR LE: decoded, RGB", ok, detail)

    # Single part.
    inst = I["ct"]
    st, h, body = cl.get(url(inst), "application/dicom")
    check("single part application/dicom, stored bytes",
          st == 200 and h["content-type"].startswith("application/dicom")
          and body == inst["bytes"], "%s %s" % (st, h.get("content-type")))
    st, h, body = cl.get(url(I["rle"]), "application/dicom")
    ok = st == 200 and h["content-type"].startswith("application/dicom")
    if ok:
        ds = pydicom.dcmread(io.BytesIO(body))
        ok = str(ds.file_meta.TransferSyntaxUID) == EXPLICIT and \
            pixels_match(I["rle"]["ds"], ds)[0]
    check("single part application/dicom of RLE -> Explicit VR LE", ok, st)
    st, h, body = cl.get(url(inst) + "?accept=application%2Fdicom",
                         "*/*")
    check("accept query parameter -> single part",
          st == 200 and body == inst["bytes"], st)
    st, h, body = cl.get(url(inst), '*/*')
    check("*/* -> multipart/related application/dicom",
          st == 200 and h["content-type"].startswith("multipart/related"),
          h.get("content-type"))

    st, _, body = cl.get(url(inst), 'multipart/related; type="application/'
                         'dicom"; transfer-syntax=1.2.840.10008.1.2')
    check("406 for Implicit VR Little Endian", st == 406 and
          b"error" in body, st)
    st, _, _ = cl.get(url(inst), 'multipart/related; type="application/'
                      'dicom"; transfer-syntax=1.2.840.10008.1.2.2')
    check("406 for Big Endian", st == 406, st)
    st, _, _ = cl.get(url(I["rle"]), 'multipart/related; type="application/'
                      'dicom"; transfer-syntax=1.2.840.10008.1.2.4.50')
    check("406 for a syntax we cannot encode", st == 406, st)
    st, _, _ = cl.get(url(inst), "application/json")
    check("406 for application/json on an instance", st == 406, st)
    st, _, _ = cl.get(url(inst), 'multipart/related; type="application/'
                      'dicom"; transfer-syntax=1.2.840.10008.1.2.4.50, '
                      'multipart/related; type="application/dicom"; '
                      'transfer-syntax=*')
    check("second Accept entry used when the first cannot be", st == 200, st)

    st, _, body = cl.get("/dicom-web/studies/1.2.3.4.5.6.7", any_ts)
    check("404 unknown study (JSON)", st == 404 and
          json.loads(body).get("error"), st)
    st, _, _ = cl.get("/dicom-web/studies/%s/series/1.2.3.99" % study, any_ts)
    check("404 unknown series", st == 404, st)
    st, _, _ = cl.get("/dicom-web/studies/1.2.abc", any_ts)
    check("400 invalid UID", st == 400, st)

    # ---- metadata -------------------------------------------------------
    st, h, body = cl.get("/dicom-web/studies/%s/metadata" % study,
                         "application/dicom+json")
    ok = st == 200 and h["content-type"].startswith("application/dicom+json")
    arr = json.loads(body) if ok else []
    check("study metadata: %d objects" % len(I), ok and len(arr) == len(I),
          "%s %d" % (st, len(arr)))
    etag = h.get("etag")
    check("metadata ETag quoted", etag is not None and etag.startswith('"')
          and etag.endswith('"'), etag)
    fetched = {}

    def bulk_handler(tag, vr, uri):
        fetched[uri] = True
        return b""

    by_sop = {i["sop"]: i for i in I.values()}
    bulk_uris = {}
    for obj in arr:
        sop = obj.get("00080018", {}).get("Value", [""])[0]
        inst = by_sop.get(sop)
        if inst is None:
            check("metadata object for a stored instance", False, sop)
            continue
        ds = Dataset.from_json(obj, bulk_handler)
        bad = []
        for elem in inst["ds"]:
            if elem.tag.group == 0x0002 or elem.VR in (
                    "OB", "OW", "OF", "OD", "OL", "OV", "UN", "SQ"):
                continue
            if elem.tag not in ds:
                if elem.tag.element != 0 and not elem.tag.is_private:
                    bad.append("missing %s" % elem.tag)
                continue
            a, b = elem.value, ds[elem.tag].value
            if elem.VR in ("DS", "IS", "FL", "FD"):
                la = list(a) if isinstance(a, (list, pydicom.multival.
                                               MultiValue)) else [a]
                lb = list(b) if isinstance(b, (list, pydicom.multival.
                                               MultiValue)) else [b]
                try:
                    same = len(la) == len(lb) and all(
                        abs(float(x) - float(y)) <= 1e-6 * max(1, abs(
                            float(x))) for x, y in zip(la, lb))
                except (TypeError, ValueError):
                    same = str(a) == str(b)
            else:
                same = str(a).rstrip(" \0") == str(b).rstrip(" \0")
            if not same:
                bad.append("%s %r != %r" % (elem.tag, a, b))
        check("metadata %s attributes equal the file's" % inst["name"],
              not bad, bad[:3])
        uris = re.findall(r'"BulkDataURI":\s*"([^"]*)"', json.dumps(obj))
        bulk_uris[inst["name"]] = uris
    ct_uris = bulk_uris.get("ct", [])
    check("BulkDataURI absolute (base + /dicom-web)", ct_uris and all(
        u.startswith(base + "/dicom-web/studies/") for u in ct_uris),
        ct_uris[:2])
    st, h, _ = cl.get("/dicom-web/studies/%s/metadata" % study,
                      "application/dicom+json", {"If-None-Match": etag})
    check("If-None-Match -> 304", st == 304, st)
    check("304 repeats the ETag", h.get("etag") == etag, h.get("etag"))
    st, _, _ = cl.get("/dicom-web/studies/%s/metadata" % study,
                      "application/dicom+json", {"If-None-Match": '"x"'})
    check("other ETag -> 200", st == 200, st)
    st, h, body = cl.get(url(I["ct"], "/metadata"), "application/json")
    check("instance metadata as application/json",
          st == 200 and len(json.loads(body)) == 1, st)
    st, _, _ = cl.get(url(I["ct"], "/metadata"), "application/dicom")
    check("406 metadata as application/dicom", st == 406, st)
    st, _, _ = cl.get("/dicom-web/studies/1.2.3.4.5.6.7/metadata",
                      "application/dicom+json")
    check("404 metadata of unknown study", st == 404, st)
    # A new instance changes the study's ETag.
    extra = make("CT_small.dcm", study, se[0], "extra", workdir)
    stow(cl, [extra["bytes"]])
    st, h, _ = cl.get("/dicom-web/studies/%s/metadata" % study,
                      "application/dicom+json", {"If-None-Match": etag})
    check("ETag changes when an instance is added",
          st == 200 and h.get("etag") != etag, "%s %s" % (st, h.get("etag")))

    # ---- bulk data ------------------------------------------------------
    pix_uri = [u for u in ct_uris if u.endswith("/7FE00010")]
    if check("CT pixel data has a BulkDataURI", len(pix_uri) == 1, ct_uris):
        path = pix_uri[0][len(base):]
        st, h, body = cl.get(path, "multipart/related; "
                             "type=application/octet-stream")
        ok = st == 200
        if ok:
            parts = multipart(h["content-type"], body)
            ok = len(parts) == 1 and parts[0][1] == I["ct"]["ds"].PixelData
            ok = ok and parts[0][0].get("content-location", "").endswith(
                "/bulkdata/7FE00010")
        check("bulk data 7FE00010 = PixelData, Content-Location", ok, st)
        st, h, body = cl.get(path, "application/octet-stream")
        check("bulk data single part octet-stream",
              st == 200 and body == I["ct"]["ds"].PixelData, st)
    iu = bulk_uris.get("icon", [])
    nested = [u for u in iu if "/00880200/0/7FE00010" in u]
    lut = [u for u in iu if u.endswith("/00281201")]
    if check("nested BulkDataURI (icon pixel data)", len(nested) == 1, iu):
        st, h, body = cl.get(nested[0][len(base):], "*/*")
        ok = st == 200 and multipart(h["content-type"], body)[0][1] == \
            bytes(range(256)) * 16
        check("nested bulk data value", ok, st)
    if check("top-level OW BulkDataURI", len(lut) == 1, iu):
        st, h, body = cl.get(lut[0][len(base):], "application/octet-stream")
        check("OW bulk data value", st == 200 and
              body == bytes(range(256)) * 8, st)
    st, _, _ = cl.get(url(I["ct"], "/bulkdata/7FE0"), "*/*")
    check("400 malformed bulk data path", st == 400, st)
    st, _, _ = cl.get(url(I["ct"], "/bulkdata/00091234"), "*/*")
    check("404 bulk data of an absent tag", st == 404, st)
    st, h, body = cl.get(url(I["bigend"], "/bulkdata/7FE00010"),
                         "application/octet-stream")
    check("big endian pixel data bulk -> little endian",
          st == 200 and body == I["bigend"]["ds"].pixel_array.astype(
              I["bigend"]["ds"].pixel_array.dtype.newbyteorder("<"))
          .tobytes(), st)
    st, h, body = cl.get(url(I["rle2"], "/bulkdata/7FE00010"),
                         'multipart/related; type="application/'
                         'octet-stream"; transfer-syntax=*')
    ok = st == 200
    if ok:
        parts = multipart(h["content-type"], body)
        frames = list(generate_pixel_data_frame(I["rle2"]["ds"].PixelData,
                                                2))
        ok = [p[1] for p in parts] == frames
    check("compressed pixel bulk data as stored: one part per frame", ok, st)

    # ---- frames ---------------------------------------------------------
    st, h, body = cl.get(url(I["ct"], "/frames/1"),
                         'multipart/related; type="application/'
                         'octet-stream"')
    ok = st == 200
    if ok:
        (ph, data), = multipart(h["content-type"], body)
        ok = data == I["ct"]["ds"].PixelData and mt_params(
            ph["content-type"])[1].get("transfer-syntax") == EXPLICIT
    check("frame 1 of CT = PixelData", ok, st)
    ds = I["rle2"]["ds"]
    st, h, body = cl.get(url(I["rle2"], "/frames/2"), "*/*")
    ok = st == 200
    if ok:
        parts = multipart(h["content-type"], body)
        ok = len(parts) == 1 and parts[0][1] == ds.pixel_array[1].tobytes()
    check("frame 2 of RLE RGB decoded = pydicom frame 2", ok, st)
    st, h, body = cl.get(url(I["rle2"], "/frames/2,1"), "*/*")
    ok = st == 200
    if ok:
        parts = multipart(h["content-type"], body)
        ok = [p[1] for p in parts] == [ds.pixel_array[1].tobytes(),
                                       ds.pixel_array[0].tobytes()]
    check("frames 2,1 in the order asked", ok, st)
    dose = I["dose"]["ds"]
    st, h, body = cl.get(url(I["dose"], "/frames/3"),
                         "application/octet-stream")
    fb = len(dose.PixelData) // int(dose.NumberOfFrames)
    check("frame 3 of implicit 15-frame dose, single part",
          st == 200 and body == dose.PixelData[2 * fb:3 * fb], st)
    be = I["bigend"]["ds"]
    st, h, body = cl.get(url(I["bigend"], "/frames/1"), "*/*")
    ok = st == 200 and multipart(h["content-type"], body)[0][1] == \
        be.pixel_array.astype(be.pixel_array.dtype.newbyteorder("<")
                              ).tobytes()
    check("big endian frame -> little endian bytes", ok, st)
    jls = I["jls"]["ds"]
    st, h, body = cl.get(url(I["jls"], "/frames/1"),
                         'multipart/related; type="image/jls"')
    ok = st == 200
    if ok:
        (ph, data), = multipart(h["content-type"], body)
        ok = ph["content-type"].startswith("image/jls") and data == next(
            generate_pixel_data_frame(jls.PixelData, 1))
    check("JPEG-LS frame as stored image/jls", ok, st)
    st, h, body = cl.get(url(I["rle"], "/frames/1"),
                         'multipart/related; type="application/'
                         'octet-stream"; transfer-syntax=*')
    ok = st == 200
    if ok:
        (ph, data), = multipart(h["content-type"], body)
        ok = mt_params(ph["content-type"])[1].get("transfer-syntax") == \
            "1.2.840.10008.1.2.5" and data == next(
                generate_pixel_data_frame(I["rle"]["ds"].PixelData, 1))
    check("RLE frame with transfer-syntax=* -> stored bytes", ok, st)
    st, h, body = cl.get(url(I["jpeg"], "/frames/1"), "*/*")
    ok = st == 200 and mt_params(h["content-type"])[1].get("type") == \
        "image/jpeg" and multipart(h["content-type"], body)[0][1][:2] == \
        b"\xff\xd8"
    check("lossy JPEG frame default -> as stored image/jpeg", ok,
          h.get("content-type"))
    st, _, _ = cl.get(url(I["rle"], "/frames/1"),
                      'multipart/related; type="image/jpeg"')
    check("406 image/jpeg frames of RLE", st == 406, st)
    for bad in ("0", "abc", "1,,2", "-1", "1.5"):
        st, _, _ = cl.get(url(I["rle2"], "/frames/" + bad), "*/*")
        check("400 frame list %r" % bad, st == 400, st)
    st, _, _ = cl.get(url(I["rle2"], "/frames/3"), "*/*")
    check("404 frame beyond NumberOfFrames", st == 404, st)
    st, _, _ = cl.get(url(I["sr"], "/frames/1"), "*/*")
    check("404 frames of an instance without pixels", st == 404, st)

    # ---- rendered and thumbnail -----------------------------------------
    st, h, body = cl.get(url(I["ct"], "/rendered"), "image/png")
    check("rendered PNG", st == 200 and h["content-type"] == "image/png"
          and png_size(body) == (128, 128), "%s %s" % (st, png_size(body)))
    st, h, body = cl.get(url(I["ct"], "/rendered"), "*/*")
    check("rendered default JPEG", st == 200 and
          h["content-type"] == "image/jpeg" and jpeg_size(body) ==
          (128, 128), st)
    st, h, body = cl.get(url(I["jpeg"], "/rendered?viewport=50,30"),
                         "image/png")
    check("rendered viewport 50,30 fits (keeps aspect)",
          st == 200 and png_size(body) is not None and
          png_size(body)[0] <= 50 and png_size(body)[1] <= 30,
          png_size(body))
    st, h, body = cl.get(url(I["ct"], "/rendered?window=40,400,linear&"
                             "quality=50"), "image/jpeg")
    check("rendered with window and quality", st == 200 and
          body[:2] == b"\xff\xd8", st)
    for q in ("window=40,0", "window=1,2,sigmoid", "window=abc",
              "quality=0", "quality=101", "viewport=0,10",
              "viewport=10,10,0,0,5,5"):
        st, _, _ = cl.get(url(I["ct"], "/rendered?" + q), "image/jpeg")
        check("400 rendered %s" % q, st == 400, st)
    st, _, _ = cl.get(url(I["ct"], "/rendered"), "application/dicom")
    check("406 rendered as application/dicom", st == 406, st)
    st, h, body = cl.get(url(I["rle2"], "/frames/2/rendered"), "image/png")
    check("frame 2 rendered", st == 200 and png_size(body) == (100, 100), st)
    st, _, _ = cl.get(url(I["rle2"], "/frames/5/rendered"), "image/png")
    check("404 rendered frame 5 of 2", st == 404, st)
    st, h, body = cl.get("/dicom-web/studies/%s/series/%s/rendered" %
                         (study, se[1]), "image/jpeg")
    ok = st == 200
    if ok:
        parts = multipart(h["content-type"], body)
        ok = len(parts) == 3 and all(p[1][:2] == b"\xff\xd8" for p in parts)
    check("series rendered: one JPEG per instance", ok, st)
    st, h, body = cl.get(url(I["ct"], "/thumbnail"), "*/*")
    check("instance thumbnail", st == 200 and jpeg_size(body) is not None
          and max(jpeg_size(body)) <= 128, st)
    st, h, body = cl.get("/dicom-web/studies/%s/thumbnail" % study,
                         "image/png")
    check("study thumbnail PNG <= 128", st == 200 and png_size(body) and
          max(png_size(body)) <= 128, st)
    st, h, body = cl.get("/dicom-web/studies/%s/series/%s/thumbnail"
                         "?viewport=32,32" % (study, se[2]), "image/png")
    check("series thumbnail with viewport", st == 200 and png_size(body) and
          max(png_size(body)) <= 32, st)
    st, _, _ = cl.get(url(I["sr"], "/thumbnail"), "image/png")
    check("404 thumbnail of a non-image", st == 404, st)

    # ---- WADO-URI -------------------------------------------------------
    def wado(inst, **kw):
        q = {"requestType": "WADO", "studyUID": inst["study"],
             "seriesUID": inst["series"], "objectUID": inst["sop"]}
        q.update(kw)
        q = {k: v for k, v in q.items() if v is not None}
        return cl.get("/wado?" + urllib.parse.urlencode(q))

    st, h, body = wado(I["ct"], contentType="application/dicom")
    check("WADO-URI application/dicom = stored file",
          st == 200 and body == I["ct"]["bytes"], st)
    st, h, body = wado(I["rle"], contentType="application/dicom")
    ok = st == 200
    if ok:
        d = pydicom.dcmread(io.BytesIO(body))
        ok = str(d.file_meta.TransferSyntaxUID) == EXPLICIT and \
            pixels_match(I["rle"]["ds"], d)[0]
    check("WADO-URI RLE -> Explicit VR LE", ok, st)
    st, h, body = wado(I["rle"], contentType="application/dicom",
                       transferSyntax="1.2.840.10008.1.2.5")
    check("WADO-URI transferSyntax as stored",
          st == 200 and body == I["rle"]["bytes"], st)
    st, _, _ = wado(I["ct"], contentType="application/dicom",
                    transferSyntax="1.2.840.10008.1.2")
    check("WADO-URI 406 implicit VR", st == 406, st)
    st, h, body = wado(I["ct"])
    check("WADO-URI default image/jpeg", st == 200 and
          h["content-type"] == "image/jpeg" and body[:2] == b"\xff\xd8", st)
    st, h, body = wado(I["ct"], contentType="image/png", rows="64",
                       columns="64", windowCenter="40", windowWidth="400")
    check("WADO-URI PNG 64x64 windowed", st == 200 and
          png_size(body) == (64, 64), "%s %s" % (st, png_size(body)))
    st, h, body = wado(I["rle2"], contentType="image/png", frameNumber="2")
    check("WADO-URI frameNumber 2", st == 200 and png_size(body), st)
    st, _, _ = wado(I["rle2"], contentType="image/png", frameNumber="3")
    check("WADO-URI 400 frameNumber 3 of 2", st == 400, st)
    st, h, body = wado(I["sr"])
    check("WADO-URI non-image default application/dicom",
          st == 200 and body == I["sr"]["bytes"], st)
    st, _, _ = wado(I["ct"], requestType="WADO-RS")
    check("WADO-URI 400 requestType", st == 400, st)
    st, _, _ = wado(I["ct"], objectUID=None)
    check("WADO-URI 400 missing objectUID", st == 400, st)
    st, _, _ = wado(I["ct"], windowCenter="40")
    check("WADO-URI 400 windowCenter alone", st == 400, st)
    st, _, _ = wado(I["ct"], objectUID="1.2.3.4.5.6.7.8")
    check("WADO-URI 404 unknown object", st == 404, st)
    st, _, _ = wado(I["ct"], seriesUID=se[1])
    check("WADO-URI 404 object not in that series", st == 404, st)
    st, _, _ = wado(I["ct"], contentType="text/html")
    check("WADO-URI 406 text/html", st == 406, st)
    st, _, _ = wado(I["ct"], anonymize="yes")
    check("WADO-URI 400 anonymize (unsupported)", st == 400, st)

    if perf:
        perf_test(cl, workdir, perf, pid)


def rss_kib(pid):
    if pid is None:
        return None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def perf_test(cl, workdir, n, pid):
    """N instances in one series: metadata must be fast, retrieve must
    stream (the server's peak memory is reported)."""
    seed = pydicom.dcmread(DATA + "CT_small.dcm")
    # 32 x 32 pixels: the metadata is what is measured, not the disk.
    seed.PixelData = seed.pixel_array[:32, :32].tobytes()
    seed.Rows = seed.Columns = 32
    study, series = generate_uid(), generate_uid()
    seed.StudyInstanceUID = study
    seed.SeriesInstanceUID = series
    t0 = time.time()
    batch = []
    stored = 0
    for i in range(n):
        ds = copy.copy(seed)
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta = copy.copy(seed.file_meta)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = i + 1
        b = io.BytesIO()
        ds.save_as(b, write_like_original=False)
        batch.append(b.getvalue())
        if len(batch) == 500 or i == n - 1:
            st, _, body = stow(cl, batch)
            if st != 200:
                check("perf STOW batch", False, "%s %s" % (st, body[:200]))
                return
            stored += len(batch)
            batch = []
    t_store = time.time() - t0
    check("perf: %d instances stored (%.1f s incl. generation)" %
          (stored, t_store), stored == n)
    # The body streams: the server's memory must stay flat between the
    # first MiB received and the end (the instance list and the index's
    # caches are in place by then).
    t0 = time.time()
    c = http.client.HTTPConnection(cl.host, cl.port, timeout=120)
    c.request("GET", "/dicom-web/studies/%s/series/%s" % (study, series),
              headers={"Accept": 'multipart/related; type="application/'
                                 'dicom"; transfer-syntax=*'})
    r = c.getresponse()
    chunks = []
    rss_first = None
    size = 0
    while True:
        d = r.read(1 << 20)
        if not d:
            break
        chunks.append(d)
        size += len(d)
        if rss_first is None:
            rss_first = rss_kib(pid)
    rss_end = rss_kib(pid)
    c.close()
    dt = time.time() - t0
    body = b"".join(chunks)
    nparts = body.count(b"\r\nContent-Type: application/dicom")
    extra = ""
    if rss_first is not None:
        extra = ", server RSS %d -> %d KiB while streaming" % (rss_first,
                                                              rss_end)
    check("perf: series retrieve %d parts, %.1f MB in %.2f s%s" %
          (nparts, size / 1e6, dt, extra),
          r.status == 200 and nparts == n and
          (rss_first is None or rss_end - rss_first < 8 * 1024),
          r.status)
    path = "/dicom-web/studies/%s/series/%s/metadata" % (study, series)
    best = None
    for _ in range(3):
        t0 = time.time()
        st, h, body = cl.get(path, "application/dicom+json")
        dt = time.time() - t0
        best = dt if best is None else min(best, dt)
    arr = json.loads(body) if st == 200 else []
    check("perf: series metadata of %d instances in %.3f s (%.1f MB)" %
          (n, best, len(body) / 1e6), st == 200 and len(arr) == n and
          best < 1.0, "%s %d" % (st, len(arr)))
    t0 = time.time()
    st, h, _ = cl.get(path, "application/dicom+json",
                      {"If-None-Match": h.get("etag", "")})
    check("perf: 304 for %d instances in %.3f s" % (n, time.time() - t0),
          st == 304, st)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - count it, show it
        import traceback
        traceback.print_exc()
        check("no exception in the checker", False, repr(e))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
