#!/usr/bin/python3
"""Generate test vectors for src/dicom/charset.c from pydicom.

Run with Debian's Python (it has pydicom 2.3.1):

    /usr/bin/python3 tools/gen_charset_vectors.py \
        > tests/unit/data/charset/vectors.txt

Two kinds of vectors are written:

  file   every SH LO ST LT PN UC UT value of pydicom's charset_files/*.dcm
         (items included, with the character set in force there), decoded
         by pydicom's own charset.decode_bytes exactly as pydicom does when
         it reads the file; the script checks the result against what
         dcmread() shows.
  synth  strings encoded with pydicom and decoded back, plus every byte
         0x80-0xFF of each single-byte set, to cover the whole tables.

Where pydicom 2.3.1 is wrong the expected text comes from Python's codecs
instead and the vector's source column says "codec" (see KNOWN below); the
unit test treats both the same.

Line format (space separated, "-" for an empty field):
    source name vr charset_hex raw_hex expected_utf8_hex [# comment]
charset_hex is the raw value of (0008,0005) in force, raw_hex the element
value without trailing padding (spaces, NULs).
"""

import codecs
import glob
import os
import sys
import warnings

import pydicom
from pydicom.charset import convert_encodings, decode_bytes, encode_string
from pydicom.datadict import dictionary_VR
from pydicom.valuerep import PN_DELIMS, TEXT_VR_DELIMS, _encode_personname

CHARSET_VRS = {"SH", "LO", "ST", "LT", "PN", "UC", "UT"}
TEXT_VRS = {"LT", "ST", "UT"}  # one value; backslash is data
FILES = "/usr/lib/python3/dist-packages/pydicom/data/charset_files"

out = []


def hexs(b):
    return b.hex() if b else "-"


def cs_values(raw):
    """(0008,0005) bytes as the list pydicom's convert_encodings takes."""
    if not raw:
        return [""]
    vals = [v.strip(b" \0").decode("ascii") for v in raw.split(b"\\")]
    return vals


def pydicom_decode(raw, vr, csraw):
    """Decode `raw` the way pydicom does for an element of this VR: split
    multi-valued strings at '\\', PN component groups at '=', then
    charset.decode_bytes() with the VR's delimiters."""
    encs = convert_encodings(cs_values(csraw))
    if vr == "PN":
        return "\\".join(
            "=".join(decode_bytes(c, encs, PN_DELIMS) for c in v.split(b"="))
            for v in raw.split(b"\\"))
    if vr in TEXT_VRS:
        return decode_bytes(raw, encs, TEXT_VR_DELIMS)
    return "\\".join(decode_bytes(v, encs, TEXT_VR_DELIMS)
                     for v in raw.split(b"\\"))


def emit(source, name, vr, csraw, raw, expected, comment=None):
    line = "%s %s %s %s %s %s" % (source, name, vr, hexs(csraw), hexs(raw),
                                  hexs(expected.encode("utf-8")))
    if comment is None:
        comment = repr(expected)[:60]
    out.append(line + "  # " + comment)


def shown(value):
    """What dcmread() shows for an element, as one string."""
    if isinstance(value, (list, pydicom.multival.MultiValue)):
        return "\\".join(shown(v) for v in value)
    return str(value)


def walk(ds, fname, csraw, path):
    if (0x0008, 0x0005) in ds:
        csraw = ds.get_item((0x0008, 0x0005)).value or b""
        if not isinstance(csraw, bytes):
            # dcmread() converts (0008,0005) early; rebuild its bytes.
            if isinstance(csraw, str):
                csraw = [csraw]
            csraw = "\\".join(csraw).encode("ascii")
    for tag in ds.keys():
        raw_elem = ds.get_item(tag)
        vr = raw_elem.VR
        if vr is None:
            try:
                vr = dictionary_VR(tag)
            except KeyError:
                continue
        vr = str(vr)
        if vr == "SQ":
            for i, item in enumerate(ds[tag].value):
                walk(item, fname, csraw, "%s%08X.%d." % (path, int(tag), i))
            continue
        if vr not in CHARSET_VRS:
            continue
        raw = raw_elem.value
        if not isinstance(raw, bytes):
            continue
        raw = raw.rstrip(b" \0")
        if not raw:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = pydicom_decode(raw, vr, csraw)
            seen = shown(ds[tag].value)
        # dcmread() strips padding per value and drops trailing empty PN
        # groups; apart from that it must show what we computed.
        def norm(s):
            return "\\".join(v.rstrip(" \0").rstrip("=")
                             for v in s.split("\\"))
        if norm(expected) != norm(seen):
            sys.exit("%s %s: decode_bytes gives %r, dcmread shows %r"
                     % (fname, tag, expected, seen))
        emit("file", "%s:%s%08X" % (fname, path, int(tag)), vr, csraw, raw,
             expected)


def from_files():
    for path in sorted(glob.glob(os.path.join(FILES, "*.dcm"))):
        ds = pydicom.dcmread(path)
        walk(ds, os.path.basename(path), b"", "")


# (charset, VR, text): encoded by pydicom, decoded back by pydicom.
SYNTH = [
    ("ISO_IR 100", "PN", "Buc^Jérôme"),
    ("ISO_IR 101", "PN", "Dvořák^Antonín"),
    ("ISO_IR 109", "LO", "Ġużeppi Ħabib"),
    ("ISO_IR 110", "LO", "Ķēniņš Ąžuolas"),
    ("ISO_IR 144", "PN", "Иванов^Иван^Иванович"),
    ("ISO_IR 127", "PN", "قباني^لنزار"),
    ("ISO_IR 126", "PN", "Διονυσιος^Αλέξης"),
    ("ISO_IR 138", "PN", "שרון^דבורה"),
    ("ISO_IR 148", "PN", "Işık^Çağrı Şükrü"),
    ("ISO_IR 166", "PN", "สมชาย^ใจดี"),
    ("ISO_IR 13", "PN", "ﾔﾏﾀﾞ^ﾀﾛｳ"),
    ("ISO_IR 192", "PN", "Wang^XiaoDong=王^小東"),
    ("ISO_IR 192", "LT", "Ünïcödé ✓ 😀 text\r\nline two"),
    ("GB18030", "PN", "Wang^XiaoDong=王^小东"),
    ("GB18030", "LO", "中文测试 €"),
    ("GBK", "LO", "中文测试"),
    ("ISO 2022 IR 100\\ISO 2022 IR 126", "PN", "Äneas^Διονυσιος"),
    ("ISO 2022 IR 100\\ISO 2022 IR 144", "LO", "Müller Иванов"),
    ("\\ISO 2022 IR 87", "PN", "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    ("\\ISO 2022 IR 87", "LT", "山田太郎\r\nやまだ たろう"),
    ("ISO 2022 IR 13\\ISO 2022 IR 87", "PN", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"),
    ("\\ISO 2022 IR 149", "PN", "Hong^Gildong=洪^吉洞=홍^길동"),
    ("\\ISO 2022 IR 149", "LO", "김희중 서울"),
]

# Raw values pydicom 2.3.1 decodes wrongly: (charset, VR, raw, expected,
# reason). The expected text is assembled from Python's codecs.
GB = lambda s: s.encode("gb2312")  # noqa: E731
KNOWN = [
    ("\\ISO 2022 IR 58", "PN",
     b"Zhang^XiaoDong=\x1b$)A" + GB("张") + b"^\x1b$)A" + GB("小东") + b"=",
     "Zhang^XiaoDong=张^小东=",
     "pydicom keeps ESC $ ) A in the text (iso_ir_58 is not ISO 2022)"),
    ("\\ISO 2022 IR 58", "LO", b"\x1b$)A" + GB("中文"), "中文",
     "pydicom keeps ESC $ ) A in the text"),
    ("\\ISO 2022 IR 87", "PN", b"\x1b$B$=$i\x1b(B", "そら",
     "0x3D is half of JIS X 0208 'so'; pydicom splits PN groups at "
     "every 0x3D byte first"),
    ("ISO_IR 203", "LO", "€ Šš Žž Œœ Ÿ".encode("iso8859_15"), "€ Šš Žž Œœ Ÿ",
     "pydicom 2.3.1 has no ISO_IR 203 and falls back to Latin-1"),
    ("\\ISO 2022 IR 159", "LO", b"\x1b$(D" + "丂".encode("iso2022_jp_2")[4:6]
     + b"\x1b(B", "丂", "JIS X 0212 (pydicom decodes it right; for cover)"),
]


def synth():
    for cs, vr, text in SYNTH:
        csraw = cs.encode("ascii")
        encs = convert_encodings(cs_values(csraw))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            if vr == "PN":
                raw = _encode_personname(text.split("="), encs)
            else:
                raw = encode_string(text, encs)
            got = pydicom_decode(raw, vr, csraw)
        if got != text:
            sys.exit("pydicom round trip failed for %r in %s: %r"
                     % (text, cs, got))
        emit("synth", "encode:" + cs.replace(" ", "_"), vr, csraw, raw, got)

    for cs, vr, raw, expected, why in KNOWN:
        csraw = cs.encode("ascii")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            py = pydicom_decode(raw, vr, csraw)
        src = "synth" if py == expected else "codec"
        emit(src, "known:" + cs.replace(" ", "_"), vr, csraw, raw, expected,
             why + ("" if src == "synth" else "; pydicom: %r" % py))

    # Whole tables: bytes 0x80-0xFF as one LT value.
    tables = [("", None), ("ISO_IR 100", None), ("ISO_IR 101", None),
              ("ISO_IR 109", None), ("ISO_IR 110", None),
              ("ISO_IR 144", None), ("ISO_IR 127", None),
              ("ISO_IR 126", None), ("ISO_IR 138", None),
              ("ISO_IR 148", None), ("ISO_IR 166", None),
              ("ISO_IR 203", "iso8859_15")]
    raw = bytes(range(0x80, 0x100))
    for cs, codec in tables:
        csraw = cs.encode("ascii")
        if codec is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = pydicom_decode(raw, "LT", csraw)
            src = "synth"
        else:
            expected = raw.decode(codec, errors="replace")
            src = "codec"
        emit(src, "table:" + (cs.replace(" ", "_") or "default"), "LT", csraw,
             raw, expected, "bytes 0x80-0xFF")
    # ISO_IR 13: katakana and the ASCII half (0x5C and 0x7E stay ASCII).
    raw = bytes(range(0x20, 0x7F)) + bytes(range(0xA1, 0xE0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pydicom_decode(raw, "LT", b"ISO_IR 13")
    emit("synth", "table:ISO_IR_13", "LT", b"ISO_IR 13", raw, expected,
         "bytes 0x20-0x7E, 0xA1-0xDF")


def main():
    from_files()
    synth()
    print("# generated by tools/gen_charset_vectors.py from pydicom %s "
          "(charset_files and synthetic); do not edit"
          % pydicom.__version__)
    print("# source name vr charset_hex raw_hex expected_utf8_hex # comment")
    for line in out:
        print(line)


if __name__ == "__main__":
    main()
