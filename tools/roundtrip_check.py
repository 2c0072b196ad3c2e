#!/usr/bin/python3
"""roundtrip_check.py - pydicom's side of tests/integration/test_roundtrip.sh.

  roundtrip_check.py list DIR...      files pydicom reads, one per line:
                                      path TAB ts_uid (or "-") TAB fixed(0/1)
                                      TAB preamble(0/1); fixed = can only be
                                      written in its own syntax (compressed
                                      pixel data, or a DICOMDIR whose record
                                      offsets count bytes)
  roundtrip_check.py compare MANIFEST each line: orig TAB out TAB ts_uid
                                      (or "-" not to check it);
                                      prints "PASS out" or "FAIL out: why"

The comparison works on the raw value bytes pydicom read (Dataset.get_item),
so it does not depend on how pydicom would interpret a VR:
  - values read big endian are brought to little endian per value unit of
    their VR (native Pixel Data per Bits Allocated / 8), then compared;
  - an odd-length value may come back with one pad byte (PS3.5 7.1.1);
  - group lengths (gggg,0000) must be present on both sides, their values
    are not compared (they depend on the encoding);
  - explicit VRs must match, except that UN may become the dictionary VR
    (pacsd's reader resolves UN of known tags, like pydicom) and that
    native Pixel Data's OB/OW follows Bits Allocated in big endian;
  - in the meta, (0002,0000), (0002,0010), (0002,0012), (0002,0013) and
    elements the original lacked are expected to differ.
The output must also be readable by pydicom without force=True, with every
value decodable, and carry the requested transfer syntax.
Run with /usr/bin/python3 (Debian's pydicom 2.3).
"""
import os
import sys
import warnings

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.datadict import dictionary_VR
from pydicom.encaps import generate_pixel_data_fragment
from pydicom.filebase import DicomBytesIO
from pydicom.sequence import Sequence
from pydicom.uid import UID

warnings.simplefilter("ignore")

SKIP_EXT = (".txt", ".json", ".gz", ".dump", ".py")
PIXEL_DATA = 0x7FE00010
DICOMDIR = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage
BITS_ALLOCATED = 0x00280100
META_EXPECTED_DIFF = {0x00020000, 0x00020010, 0x00020012, 0x00020013}

UNIT = {"US": 2, "SS": 2, "OW": 2, "AT": 2, "UL": 4, "SL": 4, "FL": 4,
        "OF": 4, "OL": 4, "FD": 8, "OD": 8, "SV": 8, "UV": 8, "OV": 8}


def read(path, force):
    """Reads and decodes every value, so that a bad one raises here. The
    returned data set holds converted elements: use read_raw to compare."""
    ds = pydicom.dcmread(path, force=force)
    meta = getattr(ds, "file_meta", None)
    for elem in meta.iterall() if meta is not None else []:
        _ = elem.value
    for elem in ds.iterall():
        _ = elem.value
    return ds


def read_raw(path, force):
    return pydicom.dcmread(path, force=force)


def cmd_list(dirs):
    for d in dirs:
        for root, _dirs, files in os.walk(d):
            _dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                if name.endswith(SKIP_EXT) or name.startswith("README"):
                    continue
                try:
                    ds = read(path, True)
                except Exception:  # pydicom does not read it: not ours
                    continue
                meta = getattr(ds, "file_meta", None)
                ts = str(meta.get("TransferSyntaxUID", "")) if meta else ""
                sop = str(meta.get("MediaStorageSOPClassUID", "")) \
                    if meta else ""
                fixed = sop == DICOMDIR
                try:
                    fixed = fixed or (bool(ts) and UID(ts).is_compressed and
                                      PIXEL_DATA in ds)
                except Exception:
                    pass
                pre = getattr(ds, "preamble", None)
                print("%s\t%s\t%d\t%d" % (path, ts or "-", int(fixed),
                                           int(pre is not None)))


def vr_of(raw, tag):
    vr = getattr(raw, "VR", None)
    if vr:
        return vr
    try:
        return dictionary_VR(tag)
    except KeyError:
        return "UN"


def pixel_unit(ds):
    raw = ds.get_item(BITS_ALLOCATED)
    if raw is None:
        return None
    try:
        bits = ds.BitsAllocated
    except Exception:
        return None
    if bits in (16, 32, 64):
        return bits // 8
    if isinstance(bits, int) and 0 < bits <= 8:
        return 1
    return None


def to_le(value, unit):
    if unit < 2:
        return value
    n = len(value) - len(value) % unit
    out = bytearray(value)
    for i in range(0, n, unit):
        out[i:i + unit] = value[i:i + unit][::-1]
    return bytes(out)


def canon(ds, elem, tag, resolved_vr):
    """Raw bytes in little endian; None if pydicom already converted it."""
    if not isinstance(elem, RawDataElement):
        return None
    is_le = elem.is_little_endian
    value = elem.value
    if value is None:
        return b""
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    if not isinstance(value, (bytes, bytearray)):
        return None  # already converted: caller compares values
    value = bytes(value)
    if is_le:
        return value
    unit = UNIT.get(resolved_vr, 1)
    if tag == PIXEL_DATA:
        pu = pixel_unit(ds)
        if pu is not None:
            unit = pu
    return to_le(value, unit)


def same_padded(a, b):
    """b equals a, or a of odd length plus one pad byte."""
    if a == b:
        return True
    if len(a) % 2 == 1 and len(b) == len(a) + 1 and b[:len(a)] == a \
            and b[-1:] in (b"\x00", b" "):
        return True
    return False


def is_encapsulated(value):
    return isinstance(value, (bytes, bytearray)) and \
        value[:4] == b"\xfe\xff\x00\xe0"


def fragments(value):
    fp = DicomBytesIO(value)
    fp.is_little_endian = True
    return list(generate_pixel_data_fragment(fp))


def compare_ds(a, b, path, errs):
    ta = {t for t in a.keys() if (t >> 16) != 0x0002}
    tb = {t for t in b.keys() if (t >> 16) != 0x0002}
    for t in sorted(ta ^ tb):
        errs.append("%s(%08X): only in %s" % (path, t,
                                                "original" if t in ta
                                                else "output"))
    for t in sorted(ta & tb):
        if len(errs) > 20:
            return
        compare_elem(a, b, t, path, errs)


def compare_elem(a, b, t, path, errs):
    where = "%s(%04X,%04X)" % (path, t >> 16, t & 0xFFFF)
    ra, rb = a.get_item(t), b.get_item(t)
    vra, vrb = vr_of(ra, t), vr_of(rb, t)
    if (t & 0xFFFF) == 0:
        return  # group length: depends on the encoding
    # A sequence on either side: compare items.
    ea, eb = a[t], b[t]
    if isinstance(ea.value, Sequence) or isinstance(eb.value, Sequence):
        if not (isinstance(ea.value, Sequence) and
                isinstance(eb.value, Sequence)):
            errs.append("%s: sequence on one side only" % where)
            return
        if len(ea.value) != len(eb.value):
            errs.append("%s: %d items vs %d" % (where, len(ea.value),
                                                 len(eb.value)))
            return
        for i, (ia, ib) in enumerate(zip(ea.value, eb.value)):
            compare_ds(ia, ib, "%s[%d]" % (where, i), errs)
        return
    explicit_a = isinstance(ra, RawDataElement) and not ra.is_implicit_VR
    explicit_b = isinstance(rb, RawDataElement) and not rb.is_implicit_VR
    if explicit_a and explicit_b and vra != vrb and "UN" not in (vra, vrb) \
            and t != PIXEL_DATA:
        errs.append("%s: VR %s vs %s" % (where, vra, vrb))
    resolved = vra if vra not in ("UN", None) and " or " not in vra else vrb
    if resolved == "UN" or " or " in (resolved or ""):
        try:
            resolved = dictionary_VR(t)
        except KeyError:
            resolved = "UN"
    va = canon(a, ra, t, resolved)
    vb = canon(b, rb, t, resolved)
    if va is None or vb is None:
        empty = (None, "", b"", [])
        if ea.value in empty and eb.value in empty:
            return
        if ea.value != eb.value:
            errs.append("%s: %r vs %r" % (where, ea.value, eb.value))
        return
    if t == PIXEL_DATA and is_encapsulated(va) and is_encapsulated(vb):
        fa, fb = fragments(va), fragments(vb)
        if len(fa) != len(fb) or not all(same_padded(x, y)
                                         for x, y in zip(fa, fb)):
            errs.append("%s: encapsulated fragments differ" % where)
        return
    if not same_padded(va, vb):
        errs.append("%s: value differs (%d vs %d bytes)" % (where, len(va),
                                                           len(vb)))


def meta_of(ds):
    m = {}
    fm = getattr(ds, "file_meta", None)
    if fm is not None:
        for t in fm.keys():
            m[t] = fm[t].value
    for t in ds.keys():
        if (t >> 16) == 0x0002:
            m[t] = ds[t].value
    return m


def compare_files(orig, out, ts):
    errs = []
    try:
        read(out, False)
    except Exception as exc:
        return ["pydicom cannot read the output: %s" % exc]
    a = read_raw(orig, True)
    b = read_raw(out, False)
    got_ts = str(b.file_meta.get("TransferSyntaxUID", ""))
    if ts != "-" and got_ts != ts:
        errs.append("transfer syntax %s, wanted %s" % (got_ts, ts))
    ma, mb = meta_of(a), meta_of(b)
    for t, v in ma.items():
        if t in META_EXPECTED_DIFF:
            continue
        if t not in mb:
            errs.append("meta (%08X) lost" % t)
        elif mb[t] != v and not (isinstance(v, (bytes, str)) and
                                 str(mb[t]).rstrip("\0 ") ==
                                 str(v).rstrip("\0 ")):
            errs.append("meta (%08X): %r vs %r" % (t, v, mb[t]))
    compare_ds(a, b, "", errs)
    return errs


def cmd_compare(manifest):
    with open(manifest) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            orig, out, ts = line.split("\t")
            try:
                errs = compare_files(orig, out, ts)
            except Exception as exc:
                errs = ["checker error: %s: %s" % (type(exc).__name__, exc)]
            if errs:
                print("FAIL %s: %s" % (out, "; ".join(errs[:5])))
            else:
                print("PASS %s" % out)
            sys.stdout.flush()


def main(argv):
    if len(argv) >= 3 and argv[1] == "list":
        cmd_list(argv[2:])
    elif len(argv) == 3 and argv[1] == "compare":
        cmd_compare(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
