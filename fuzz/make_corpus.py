#!/usr/bin/python3
"""Generates the seed corpus of fuzz/fuzz_dicom_read.c.

Run with Debian's Python (it has pydicom 2.3 and numpy):

    /usr/bin/python3 fuzz/make_corpus.py [OUTDIR]

OUTDIR defaults to fuzz/corpus/dicom_read beside this script. Every file
the script wrote before is replaced; files named crash-* (minimized crashers
found by fuzzing, committed by hand) are kept. The output is deterministic,
so re-running it on an unchanged pydicom gives the same bytes.

Three kinds of seeds:
  orig-*    pydicom test files of at most 16 KiB, byte for byte (real
            encoders' quirks are what a rewrite would lose);
  small-*   larger pydicom test files with pixel / waveform data cut to a
            few bytes by pydicom, and head-* prefixes of them that stop
            just inside the pixel data;
  ts-*      a sequence-heavy file transcoded to every transfer syntax;
  hostile-* hand-made inputs, one defect each (see the table at the end).

Bounds: each seed <= 16 KiB except the 10000-level nesting seeds, and the
directory <= 2 MiB.
"""
import copy
import io
import os
import struct
import sys
import warnings
import zlib

import pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import (DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian,
                         ExplicitVRLittleEndian, ImplicitVRLittleEndian)

warnings.filterwarnings("ignore")

DATA = os.path.dirname(pydicom.__file__) + "/data"
TEST_FILES = DATA + "/test_files"
CHARSET_FILES = DATA + "/charset_files"
MAX_SEED = 16 * 1024
MAX_DIR = 2 * 1024 * 1024
# Seeds allowed past MAX_SEED: deep nesting cannot be expressed smaller.
BIG_OK = ("hostile-deep-",)

OUT = (sys.argv[1] if len(sys.argv) > 1 else
       os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "corpus", "dicom_read"))

seeds = {}


def add(name, data):
    if name in seeds:
        raise SystemExit(f"duplicate seed name {name}")
    if len(data) > MAX_SEED and not name.startswith(BIG_OK):
        raise SystemExit(f"seed {name} is {len(data)} bytes (> {MAX_SEED})")
    seeds[name] = bytes(data)


# ---- encoders ------------------------------------------------------------

# Explicit VR with a 2-byte reserved field and a 32-bit length (PS3.5 7.1.2).
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN",
            b"UR", b"UT", b"SV", b"UV"}
UNDEF = 0xFFFFFFFF


def ex(group, elem, vr, value=b"", length=None, be=False):
    """One explicit VR element; `length` overrides the encoded length."""
    e = ">" if be else "<"
    n = len(value) if length is None else length
    if vr in LONG_VRS:
        hdr = struct.pack(e + "HH", group, elem) + vr + b"\0\0" + \
            struct.pack(e + "I", n)
    else:
        hdr = struct.pack(e + "HH", group, elem) + vr + struct.pack(e + "H", n)
    return hdr + value


def im(group, elem, value=b"", length=None):
    """One implicit VR little endian element."""
    n = len(value) if length is None else length
    return struct.pack("<HHI", group, elem, n) + value


def item(content=b"", undefined=False, be=False, length=None):
    e = ">" if be else "<"
    if undefined:
        return (struct.pack(e + "HHI", 0xFFFE, 0xE000, UNDEF) + content +
                struct.pack(e + "HHI", 0xFFFE, 0xE00D, 0))
    n = len(content) if length is None else length
    return struct.pack(e + "HHI", 0xFFFE, 0xE000, n) + content


def seq_delim(be=False):
    return struct.pack((">" if be else "<") + "HHI", 0xFFFE, 0xE0DD, 0)


def sq(group, elem, items, undefined=False, implicit=False, be=False):
    body = b"".join(items)
    if undefined:
        body += seq_delim(be)
    n = UNDEF if undefined else len(body)
    if implicit:
        return struct.pack("<HHI", group, elem, n) + body
    e = ">" if be else "<"
    return struct.pack(e + "HH", group, elem) + b"SQ\0\0" + \
        struct.pack(e + "I", n) + body


def ui(s):
    b = s.encode()
    return b + b"\0" if len(b) % 2 else b


def txt(s, enc="ascii"):
    b = s.encode(enc) if isinstance(s, str) else s
    return b + b" " if len(b) % 2 else b


TS_IMPLICIT = "1.2.840.10008.1.2"
TS_EXPLICIT = "1.2.840.10008.1.2.1"
TS_DEFLATED = "1.2.840.10008.1.2.1.99"
TS_BIG = "1.2.840.10008.1.2.2"
TS_JPEG = "1.2.840.10008.1.2.4.50"
TS_RLE = "1.2.840.10008.1.2.5"
SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture
SOP_INST = "1.2.826.0.1.3680043.2.1143.1"


def meta(ts=TS_EXPLICIT, group_length=None, ts_raw=None, extra=b"",
         preamble=True):
    """Preamble + DICM + File Meta Information (PS3.10 7.1)."""
    body = ex(0x0002, 0x0001, b"OB", b"\0\1")
    body += ex(0x0002, 0x0002, b"UI", ui(SOP_CLASS))
    body += ex(0x0002, 0x0003, b"UI", ui(SOP_INST))
    if ts is not None or ts_raw is not None:
        body += ex(0x0002, 0x0010, b"UI", ts_raw if ts_raw else ui(ts))
    body += ex(0x0002, 0x0012, b"UI", ui("1.2.826.0.1.3680043.9.7433.1"))
    body += extra
    gl = len(body) if group_length is None else group_length
    out = (b"\0" * 128 if preamble else b"") + b"DICM"
    if group_length != "missing":
        out += ex(0x0002, 0x0000, b"UL", struct.pack("<I", gl))
    return out + body


def basic(be=False):
    """A few ordinary top-level elements, explicit VR."""
    return (ex(0x0008, 0x0016, b"UI", ui(SOP_CLASS), be=be) +
            ex(0x0008, 0x0018, b"UI", ui(SOP_INST), be=be) +
            ex(0x0010, 0x0010, b"PN", txt("Doe^John"), be=be) +
            ex(0x0010, 0x0020, b"LO", txt("ID123"), be=be))


def basic_implicit():
    return (im(0x0008, 0x0016, ui(SOP_CLASS)) +
            im(0x0008, 0x0018, ui(SOP_INST)) +
            im(0x0010, 0x0010, txt("Doe^John")) +
            im(0x0010, 0x0020, txt("ID123")))


def deflate(raw):
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(raw) + c.flush()


# ---- pydicom test files --------------------------------------------------

def pixel_tag_offset(data, be):
    pat = b"\x7f\xe0\x00\x10" if be else b"\xe0\x7f\x10\x00"
    return data.find(pat, 132)


def shrink(ds):
    """Cuts pixel and waveform data of `ds` (in place) to a few bytes."""
    tsu = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if "PixelData" in ds:
        if tsu is not None and tsu.is_compressed:
            # Two frames of fake JPEG so that fragments and the offset
            # table have something to index.
            frame = b"\xff\xd8" + b"\x00" * 28 + b"\xff\xd9"
            ds.PixelData = encapsulate([frame, frame], has_bot=True)
            ds["PixelData"].is_undefined_length = True
            if "NumberOfFrames" in ds:
                ds.NumberOfFrames = 2
        else:
            ds.PixelData = bytes(ds.PixelData[:64])
    if "WaveformAnnotationSequence" in ds:
        del ds.WaveformAnnotationSequence[4:]
    if "WaveformSequence" in ds:
        for it in ds.WaveformSequence:
            if "WaveformData" in it:
                it.WaveformData = bytes(it.WaveformData[:64])
    return ds


def save(ds, like_original=True):
    buf = io.BytesIO()
    ds.save_as(buf, write_like_original=like_original)
    return buf.getvalue()


def read_any(path):
    try:
        return pydicom.dcmread(path), False
    except Exception:
        return pydicom.dcmread(path, force=True), True


def test_file_list():
    out = []
    for root, dirs, files in os.walk(TEST_FILES):
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".txt", ".json", ".dump", ".gz")) or f == "README":
                continue
            out.append(os.path.join(root, f))
    for f in sorted(os.listdir(CHARSET_FILES)):
        if f.endswith(".dcm"):
            out.append(os.path.join(CHARSET_FILES, f))
    return out


def seed_name(path):
    rel = os.path.relpath(path, DATA)
    rel = rel.replace("test_files/", "").replace("charset_files/", "")
    rel = rel.replace("dicomdirtests/", "dicomdir-").replace("/", "-")
    rel = rel.replace("+", "p")
    return rel if rel.endswith(".dcm") else rel + ".dcm"


def from_pydicom():
    tiny_alpha_taken = False
    for path in test_file_list():
        name = seed_name(path)
        # The DICOMDIR test tree holds dozens of near-identical images;
        # one of each kind is enough.
        if "TINY_ALPHA-PT" in name:
            if tiny_alpha_taken:
                continue
            tiny_alpha_taken = True
        if ("dicomdir-7765" in name or "dicomdir-9889" in name) and \
                not name.endswith(("6154.dcm", "17106.dcm", "6293.dcm",
                                   "15820.dcm")):
            continue
        raw = open(path, "rb").read()
        try:
            ds, forced = read_any(path)
        except Exception:
            ds, forced = None, True
        if len(raw) <= MAX_SEED:
            add("orig-" + name, raw)
            continue
        # A forced read that found (almost) nothing has nothing to shrink.
        if ds is None or (forced and len(ds) < 3):
            ds = None
        be = not getattr(ds, "is_little_endian", True)
        # A header-only prefix ending 16 bytes into the pixel data.
        off = pixel_tag_offset(raw, be)
        if 0 < off < MAX_SEED - 64:
            add("head-" + name, raw[:off + 28])
        if ds is None:
            continue
        try:
            small = save(shrink(ds))
        except Exception as exc:  # pragma: no cover - report and go on
            print(f"skip {name}: {exc}", file=sys.stderr)
            continue
        if len(small) <= MAX_SEED:
            add("small-" + name, small)
        else:
            add("head-small-" + name, small[:MAX_SEED])


def transcodes():
    """Sequence-heavy files in every transfer syntax (pydicom writes
    defined-length items; the hostile seeds cover undefined lengths)."""
    for src in ("rtplan.dcm", "test-SR.dcm", "reportsi.dcm"):
        base = pydicom.dcmread(os.path.join(TEST_FILES, src))
        for ts, implicit, little in (
                (ImplicitVRLittleEndian, True, True),
                (ExplicitVRLittleEndian, False, True),
                (ExplicitVRBigEndian, False, False),
                (DeflatedExplicitVRLittleEndian, False, True)):
            ds = copy.deepcopy(base)
            ds.file_meta.TransferSyntaxUID = ts
            ds.is_implicit_VR = implicit
            ds.is_little_endian = little
            label = {ImplicitVRLittleEndian: "implicit",
                     ExplicitVRLittleEndian: "explicit-le",
                     ExplicitVRBigEndian: "explicit-be",
                     DeflatedExplicitVRLittleEndian: "deflated"}[ts]
            add(f"ts-{label}-{src}", save(ds, like_original=False))


# ---- hand-made hostile inputs --------------------------------------------

def hostile():
    h = {}
    el = meta()

    # Framing of the file itself.
    h["empty"] = b""
    h["one-byte"] = b"\x08"
    h["preamble-only"] = b"\0" * 128
    h["dicm-only"] = b"\0" * 128 + b"DICM"
    h["dicm-no-preamble"] = meta(preamble=False) + basic()
    h["meta-group-length-too-long"] = meta(group_length=5000) + basic()
    h["meta-group-length-too-short"] = meta(group_length=20) + basic()
    h["meta-group-length-huge"] = meta(group_length=0xFFFFFFF0) + basic()
    h["meta-group-length-missing"] = meta(group_length="missing") + basic()
    h["meta-no-transfer-syntax"] = meta(ts=None) + basic()
    h["meta-unknown-ts"] = meta(ts="1.2.3.4.5.6") + basic()
    h["meta-ts-space-padded"] = meta(ts_raw=b"1.2.840.10008.1.2.1 ") + \
        basic()
    h["meta-ts-empty"] = meta(ts_raw=b"") + basic()
    h["meta-ts-garbage"] = meta(ts_raw=b"\xff\xfe\x00\x01") + basic()
    h["meta-implicit-encoded"] = (
        b"\0" * 128 + b"DICM" + im(0x0002, 0x0000, struct.pack("<I", 28)) +
        im(0x0002, 0x0010, ui(TS_IMPLICIT)) + basic_implicit())
    h["meta-truncated"] = meta()[:150]
    h["meta-then-eof"] = meta()
    h["meta-group-0008-inside"] = meta(
        extra=ex(0x0008, 0x0016, b"UI", ui(SOP_CLASS))) + basic()

    # Lengths.
    h["length-past-end"] = el + ex(0x0010, 0x0010, b"PN", b"Doe", length=1000)
    h["length-past-end-long-header"] = el + \
        ex(0x0009, 0x1010, b"OB", b"\0" * 8, length=0x7FFFFFF0)
    h["length-fffffffe"] = el + ex(0x0009, 0x1010, b"OB", b"", length=0xFFFFFFFE)
    h["implicit-length-past-end"] = meta(TS_IMPLICIT) + \
        im(0x0010, 0x0010, b"Doe", length=0x10000)
    h["odd-length-US"] = el + ex(0x0028, 0x0010, b"US", b"\x00\x02\x00")
    h["odd-length-LO"] = el + ex(0x0010, 0x0020, b"LO", b"ABC")
    h["odd-length-FD"] = el + ex(0x0018, 0x0050, b"FD", b"\0" * 7)
    h["odd-length-AT"] = el + ex(0x0020, 0x5000, b"AT", b"\x10\x00\x10")
    h["odd-length-UL-implicit"] = meta(TS_IMPLICIT) + \
        im(0x0008, 0x0000, b"\1\2\3")
    h["undefined-length-UT"] = el + ex(0x0008, 0x0102, b"UT", b"abcd",
                                       length=UNDEF)
    h["undefined-length-OB-not-pixel"] = el + \
        ex(0x0019, 0x0010, b"LO", txt("ACME")) + \
        ex(0x0019, 0x1010, b"OB", length=UNDEF) + \
        item(b"\1\2\3\4") + seq_delim()
    h["undefined-length-PN-implicit"] = meta(TS_IMPLICIT) + \
        im(0x0010, 0x0010, b"Doe^John", length=UNDEF) + \
        struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    h["undefined-length-US-implicit-at-eof"] = meta(TS_IMPLICIT) + \
        im(0x0028, 0x0010, length=UNDEF)
    # CP-246: an undefined-length UN holds an implicit VR sequence.
    h["un-undefined-length-cp246"] = el + \
        ex(0x0008, 0x1115, b"UN", length=UNDEF) + \
        item(im(0x0020, 0x000E, ui("1.2.3")), undefined=True) + seq_delim() + \
        ex(0x0010, 0x0010, b"PN", txt("After^Seq"))
    h["un-undefined-length-garbage"] = el + \
        ex(0x0009, 0x1001, b"UN", b"\xde\xad\xbe\xef" * 4, length=UNDEF)
    h["un-defined-length-known-tag"] = el + \
        ex(0x0010, 0x0010, b"UN", txt("Doe^Jane"))
    h["group-length-bogus"] = el + \
        ex(0x0008, 0x0000, b"UL", struct.pack("<I", 0xFFFFFFFF)) + basic()
    h["zero-length-every-vr"] = el + b"".join(
        ex(0x0009, 0x1000 + i, vr) for i, vr in enumerate(
            [b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL",
             b"IS", b"LO", b"LT", b"OB", b"OD", b"OF", b"OL", b"OV", b"OW",
             b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM", b"UC",
             b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV"]))

    # VR characters.
    h["bad-vr-lowercase"] = el + b"\x10\x00\x10\x00lo\x04\x00Doe " + basic()
    h["bad-vr-nul"] = el + b"\x10\x00\x10\x00\x00\x00\x04\x00Doe "
    h["bad-vr-spaces"] = el + b"\x10\x00\x10\x00  \x04\x00Doe "
    h["bad-vr-ff"] = el + b"\x10\x00\x10\x00\xff\xff\x04\x00\x00\x00Doe "
    h["bad-vr-in-item"] = el + sq(0x0008, 0x1115, [
        item(b"\x20\x00\x0e\x00QQ\x02\x00\x31\x00", undefined=True)],
        undefined=True)
    h["vr-mismatch-US-as-LO"] = el + ex(0x0028, 0x0010, b"LO", txt("512"))

    # Truncation.
    full = el + basic()
    h["truncated-mid-tag"] = full[:len(el) + 2]
    h["truncated-mid-vr"] = full[:len(el) + 5]
    h["truncated-mid-length"] = full[:len(el) + 7]
    h["truncated-mid-long-header"] = el + \
        ex(0x0009, 0x1010, b"OB", b"\0" * 4)[:9]
    h["truncated-in-value"] = full[:-3]
    h["truncated-in-item-header"] = el + \
        sq(0x0008, 0x1115, [item(basic())], undefined=True)[:17]
    h["truncated-implicit-mid-tag"] = (meta(TS_IMPLICIT) + basic_implicit())[
        :len(meta(TS_IMPLICIT)) + 3]

    # Sequences.
    inner = ex(0x0020, 0x000E, b"UI", ui("1.2.3.4"))
    h["sq-defined"] = el + sq(0x0008, 0x1115, [item(inner), item(inner)])
    h["sq-undefined-items-undefined"] = el + sq(
        0x0008, 0x1115, [item(inner, True), item(inner, True)], True)
    h["sq-empty-defined"] = el + sq(0x0008, 0x1115, [])
    h["sq-empty-undefined"] = el + sq(0x0008, 0x1115, [], True)
    h["sq-empty-item"] = el + sq(0x0008, 0x1115, [item(), item(b"", True)],
                                 True)
    h["sq-item-longer-than-seq"] = el + \
        ex(0x0008, 0x1115, b"SQ", length=16) + item(inner + inner)
    h["sq-item-length-past-end"] = el + sq(0x0008, 0x1115, [
        item(inner, length=5000)])
    h["sq-item-length-odd"] = el + sq(0x0008, 0x1115, [
        item(inner + b"\0", length=len(inner) + 1)])
    h["sq-undefined-missing-delimiter"] = el + sq(
        0x0008, 0x1115, [item(inner, True)], True)[:-8]
    h["sq-item-missing-delimiter-eof"] = el + \
        ex(0x0008, 0x1115, b"SQ", length=UNDEF) + \
        struct.pack("<HHI", 0xFFFE, 0xE000, UNDEF) + inner
    h["sq-item-delim-in-defined-item"] = el + sq(0x0008, 0x1115, [
        item(inner + struct.pack("<HHI", 0xFFFE, 0xE00D, 0))])
    h["sq-delim-in-defined-sq"] = el + \
        ex(0x0008, 0x1115, b"SQ", length=24) + item(inner) + seq_delim()
    h["sq-delim-nonzero-length"] = el + \
        ex(0x0008, 0x1115, b"SQ", length=UNDEF) + item(inner) + \
        struct.pack("<HHI", 0xFFFE, 0xE0DD, 4) + b"\0\0\0\0"
    h["sq-non-item-inside"] = el + \
        ex(0x0008, 0x1115, b"SQ", length=UNDEF) + inner + seq_delim()
    h["sq-item-undefined-in-defined-sq"] = el + \
        ex(0x0008, 0x1115, b"SQ", length=len(item(inner, True))) + \
        item(inner, True)
    h["sq-big-endian-undefined"] = meta(TS_BIG) + sq(
        0x0008, 0x1115, [item(ex(0x0020, 0x000E, b"UI", ui("1.2.3"), be=True),
                              True, be=True)], True, be=True)
    h["sq-implicit-private"] = meta(TS_IMPLICIT) + \
        im(0x0029, 0x0010, txt("ACME 1.0")) + \
        sq(0x0029, 0x1010, [item(im(0x0029, 0x0010, txt("ACME 1.0")) +
                                 im(0x0029, 0x1001, b"\1\2\3\4"), True)],
           True, implicit=True)
    h["item-at-top-level"] = el + item(inner) + basic()
    h["seq-delim-at-top-level"] = el + seq_delim() + basic()
    h["item-delim-at-top-level"] = el + \
        struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + basic()
    h["pixel-data-in-item"] = el + sq(0x0008, 0x1115, [item(
        ex(0x7FE0, 0x0010, b"OB", b"\0" * 8), True)], True) + \
        ex(0x0010, 0x0010, b"PN", txt("After"))
    h["charset-in-item"] = el + \
        ex(0x0008, 0x0005, b"CS", txt("ISO_IR 100")) + \
        sq(0x0008, 0x1115, [item(
            ex(0x0008, 0x0005, b"CS", txt("ISO_IR 192")) +
            ex(0x0010, 0x0010, b"PN", txt("Gr\xc3\xbc\xc3\x9f".encode(
                "latin-1"))), True)], True) + \
        ex(0x0010, 0x0010, b"PN", txt(b"Gr\xfc\xdf"))

    # Nesting depth: 10000 levels (both encodings), and around the limits.
    def deep_undefined(levels):
        # Implicit VR: Referenced Series Sequence (0008,1115) is SQ in the
        # dictionary; every level opens a sequence and an item, never
        # closes them.
        one = struct.pack("<HHI", 0x0008, 0x1115, UNDEF) + \
            struct.pack("<HHI", 0xFFFE, 0xE000, UNDEF)
        return meta(TS_IMPLICIT) + one * levels

    def deep_defined(levels):
        body = ex(0x0020, 0x000E, b"UI", ui("1.2.3"))
        for _ in range(levels):
            body = sq(0x0008, 0x1115, [item(body)])
        return el + body

    def deep_closed(levels):
        body = ex(0x0020, 0x000E, b"UI", ui("1.2.3"))
        for _ in range(levels):
            body = sq(0x0008, 0x1115, [item(body, True)], True)
        return el + body

    h["deep-undefined-10000"] = deep_undefined(10000)
    h["deep-defined-10000"] = deep_defined(10000)
    h["nest-closed-31"] = deep_closed(31)
    h["nest-closed-33"] = deep_closed(33)
    h["nest-closed-64"] = deep_closed(64)
    h["nest-closed-65"] = deep_closed(65)
    h["nest-defined-300"] = deep_defined(300)

    # Encapsulated pixel data (PS3.5 A.4).
    jm = meta(TS_JPEG)
    frag = b"\xff\xd8" + b"\0" * 10 + b"\xff\xd9"

    def encaps(*parts, delim=True):
        return ex(0x7FE0, 0x0010, b"OB", length=UNDEF) + b"".join(parts) + \
            (seq_delim() if delim else b"")

    h["encaps-empty-bot"] = jm + basic() + encaps(item(), item(frag),
                                                  item(frag))
    h["encaps-bot-offsets"] = jm + basic() + encaps(
        item(struct.pack("<II", 0, 8 + len(frag))), item(frag), item(frag))
    h["encaps-bot-offsets-bogus"] = jm + basic() + encaps(
        item(struct.pack("<II", 0xFFFFFFF0, 7)), item(frag))
    h["encaps-bot-odd-length"] = jm + basic() + encaps(item(b"\0" * 5),
                                                       item(frag))
    h["encaps-no-items"] = jm + basic() + encaps()
    h["encaps-fragment-past-end"] = jm + basic() + encaps(
        item(), item(frag, length=100000), delim=False)
    h["encaps-fragment-undefined-length"] = jm + basic() + encaps(
        item(), struct.pack("<HHI", 0xFFFE, 0xE000, UNDEF) + frag)
    h["encaps-missing-seq-delim"] = jm + basic() + encaps(
        item(), item(frag), delim=False)
    h["encaps-non-item-inside"] = jm + basic() + encaps(
        item(), ex(0x0010, 0x0010, b"PN", txt("X")), item(frag))
    h["encaps-item-delim-inside"] = jm + basic() + encaps(
        item(), struct.pack("<HHI", 0xFFFE, 0xE00D, 0), item(frag))
    h["encaps-in-native-ts"] = el + basic() + encaps(item(), item(frag))
    h["encaps-defined-length-in-encaps-ts"] = jm + basic() + \
        ex(0x7FE0, 0x0010, b"OB", b"\0" * 16)
    h["encaps-after-pixel-data"] = jm + basic() + encaps(item(), item(frag)) + \
        ex(0xFFFA, 0xFFFA, b"OB", b"\0" * 4) + \
        ex(0xFFFC, 0xFFFC, b"OB", b"\0" * 8)
    h["encaps-ow-rle"] = meta(TS_RLE) + basic() + \
        ex(0x7FE0, 0x0010, b"OW", length=UNDEF) + item() + \
        item(struct.pack("<16I", 1, 64, *([0] * 14)) + b"\x00\x00") + \
        seq_delim()
    h["pixel-data-undefined-implicit"] = meta(TS_IMPLICIT) + \
        basic_implicit() + im(0x7FE0, 0x0010, length=UNDEF) + item() + \
        item(frag) + seq_delim()
    h["pixel-data-then-more"] = el + basic() + \
        ex(0x7FE0, 0x0010, b"OW", b"\0" * 32) + \
        ex(0xFFFC, 0xFFFC, b"OB", b"\0" * 4)

    # Order and duplicates.
    h["elements-out-of-order"] = el + \
        ex(0x0010, 0x0020, b"LO", txt("ID")) + \
        ex(0x0008, 0x0018, b"UI", ui(SOP_INST)) + \
        ex(0x0010, 0x0010, b"PN", txt("Doe"))
    h["elements-duplicate"] = el + \
        ex(0x0010, 0x0010, b"PN", txt("Doe")) + \
        ex(0x0010, 0x0010, b"PN", txt("Roe"))
    h["group-0002-in-dataset"] = el + \
        ex(0x0002, 0x0010, b"UI", ui(TS_BIG)) + basic()
    h["tag-ffff-ffff"] = el + ex(0xFFFF, 0xFFFF, b"OB", b"\0" * 4)

    # Private data elements.
    h["private-no-creator"] = el + ex(0x0009, 0x1001, b"LO", txt("x"))
    h["private-creator-long"] = el + \
        ex(0x0009, 0x0010, b"LO", txt("C" * 200)) + \
        ex(0x0009, 0x1001, b"LO", txt("x"))
    h["private-creator-empty"] = el + ex(0x0009, 0x0010, b"LO") + \
        ex(0x0009, 0x1001, b"LO", txt("x"))
    h["private-creator-not-LO"] = el + \
        ex(0x0009, 0x0010, b"US", b"\1\0") + \
        ex(0x0009, 0x1001, b"LO", txt("x"))

    # Character sets (PS3.5 6.1).
    def cs(term, *elems):
        return el + ex(0x0008, 0x0005, b"CS", txt(term)) + b"".join(elems)

    pn = lambda b: ex(0x0010, 0x0010, b"PN", txt(b))  # noqa: E731
    h["charset-unknown-term"] = cs("ISO_IR 999", pn(b"Doe"))
    h["charset-empty-first-term"] = cs("\\ISO 2022 IR 87",
                                       pn(b"\x1b$B;3ED\x1b(B^Taro"))
    h["charset-only-backslashes"] = cs("\\\\\\", pn(b"Doe"))
    h["charset-nine-terms"] = cs("\\".join(["ISO 2022 IR 100"] * 9),
                                 pn(b"Doe"))
    h["charset-esc-truncated"] = cs("\\ISO 2022 IR 87", pn(b"Yamada\x1b$"))
    h["charset-esc-unknown"] = cs("\\ISO 2022 IR 87", pn(b"\x1b$Zabc"))
    h["charset-jis-odd-bytes"] = cs("\\ISO 2022 IR 87", pn(b"\x1b$B;3E"))
    h["charset-utf8-invalid"] = cs("ISO_IR 192", pn(b"\xc3\x28\xe2\x82"))
    h["charset-utf8-overlong"] = cs("ISO_IR 192", pn(b"\xc0\xaf\xed\xa0\x80"))
    h["charset-gb18030-lone-lead"] = cs("GB18030", pn(b"\x81"))
    h["charset-gb18030-four-byte-cut"] = cs("GB18030", pn(b"\x81\x30\x81"))
    h["charset-gbk-trail-bad"] = cs("GBK", pn(b"\x81\x7f"))
    h["charset-latin1-c1"] = cs("ISO_IR 100", pn(b"\x80\x9f\xff"))
    h["charset-korean-multi"] = cs(
        "\\ISO 2022 IR 149", pn(b"\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce"))
    h["charset-many-values"] = cs(
        "ISO_IR 100", ex(0x0008, 0x1030, b"LO",
                         txt("\\".join(["\xe9t\xe9"] * 300).encode(
                             "latin-1"))[:4000]))

    # Numbers as text and as binary.
    h["numbers-text-edge"] = el + \
        ex(0x0018, 0x0050, b"DS", txt("1e999\\-1e-999\\nan\\-inf\\ \\1.5.5")) + \
        ex(0x0020, 0x0013, b"IS", txt(
            "99999999999999999999\\-9223372036854775809\\+12\\ 7 \\0x10")) + \
        ex(0x0028, 0x0010, b"US", b"\xff\xff") + \
        ex(0x0028, 0x0011, b"US", b"")
    h["numbers-many-backslashes"] = el + \
        ex(0x0018, 0x0050, b"DS", txt("\\" * 4001))
    h["numbers-binary-vm"] = el + \
        ex(0x0018, 0x1310, b"US", struct.pack("<2048H", *range(2048))) + \
        ex(0x0018, 0x9219, b"FD", struct.pack("<3d", float("nan"),
                                              float("inf"), -0.0)) + \
        ex(0x0020, 0x5000, b"AT", struct.pack("<HHHH", 0x10, 0x10, 0xFFFF,
                                              0xFFFF)) + \
        ex(0x0072, 0x0082, b"SV", struct.pack("<q", -2**63)) + \
        ex(0x0072, 0x0083, b"UV", struct.pack("<Q", 2**64 - 1))

    # Deflate (PS3.5 A.5): raw deflate without a zlib header.
    raw_ds = basic() + sq(0x0008, 0x1115, [item(inner, True)], True)
    dm = meta(TS_DEFLATED)
    h["deflate-ok"] = dm + deflate(raw_ds)
    h["deflate-broken-stream"] = dm + b"\x78\x9c\xde\xad\xbe\xef" * 8
    h["deflate-truncated"] = dm + deflate(raw_ds)[:-6]
    h["deflate-zlib-header"] = dm + zlib.compress(raw_ds)
    h["deflate-empty"] = dm
    h["deflate-trailing-garbage"] = dm + deflate(raw_ds) + b"GARBAGE!"
    h["deflate-bomb-8MiB"] = dm + deflate(
        ex(0x0009, 0x0010, b"LO", txt("ACME")) +
        ex(0x0009, 0x1001, b"OB", b"\0" * (8 << 20)))
    h["deflate-inflates-to-garbage"] = dm + deflate(b"\xff" * 4000)

    # Bare data sets (no preamble, no meta): the syntax is guessed.
    h["bare-implicit"] = basic_implicit()
    h["bare-explicit-le"] = basic()
    h["bare-explicit-be"] = basic(be=True)
    h["bare-one-element"] = im(0x0010, 0x0010, txt("Doe"))
    h["bare-starts-group-0002"] = ex(0x0002, 0x0010, b"UI", ui(TS_BIG)) + \
        basic(be=True)
    h["bare-explicit-with-sq"] = \
        ex(0x0008, 0x0016, b"UI", ui(SOP_CLASS)) + \
        sq(0x0008, 0x1115, [item(inner, True)], True)
    h["bare-garbage"] = bytes(range(256))

    for name, data in h.items():
        add("hostile-" + name, data)


def main():
    from_pydicom()
    transcodes()
    hostile()
    total = sum(len(d) for d in seeds.values())
    if total > MAX_DIR:
        raise SystemExit(f"corpus is {total} bytes (> {MAX_DIR})")
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if not f.startswith("crash-"):
            os.unlink(os.path.join(OUT, f))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(OUT, name), "wb") as fp:
            fp.write(data)
    print(f"{len(seeds)} seeds, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
