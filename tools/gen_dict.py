#!/usr/bin/python3
"""Generate src/dicom/dict_data.c, the PS3.6 data dictionary tables.

Usage:  /usr/bin/python3 tools/gen_dict.py [OUTPUT.c] [--pydicom DIR]

Reads the machine-readable dictionaries that Debian's python3-pydicom
installs (no pydicom import, the files are parsed with ast.literal_eval):

  _dicom_dict.py   DicomDictionary      {tag: (VR, VM, Name, Retired, Keyword)}
                   RepeatersDictionary  {"60xx3000": (same)}
  _private_dict.py private_dictionaries {creator: {"0019xx0a": (VR, VM,
                                         Name, Retired)}}

and writes the tables that src/dicom/dict.c searches (layout described in
src/dicom/dict_int.h). Output goes to stdout unless a path is given.

Decisions taken here, so that dict.c stays a plain binary search:
  * 'x' digits become 0 in the tag and 0 nibbles in the mask.
  * "US or SS" -> vr US, vr_alt SS; "US or SS or OW" keeps the first two;
    private "OB_OW" is read the same way. "NONE" (items and delimiters,
    which have no VR) -> DCM_VR_NONE; anything else unknown -> DCM_VR_UN.
  * GDCM's convention "CREATOR^NN" for a creator that is only meaningful
    when reserved at block NN (Toshiba "PMTF INFORMATION DATA^10") is
    folded into creator "CREATOR" with the full element (gggg,NNee): the
    name a file carries in (gggg,00NN) is the plain creator string.
  * Private keys take pydicom's three forms "ggggeeee", "ggggxxee",
    "ggxxxxee"; entries of one creator are ordered in that order, then by
    tag, so that dict.c tries an exact block, then 'xx' blocks. Keys that
    wildcard the element's low byte ("000910xx") are skipped and listed
    in the output's header comment.
"""

import ast
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DCM_H = os.path.join(HERE, "..", "src", "dicom", "dcm.h")
PYDICOM_DIR = "/usr/lib/python3/dist-packages/pydicom"


def die(msg):
    sys.stderr.write("gen_dict.py: %s\n" % msg)
    sys.exit(1)


def literal_assignments(path, names):
    """Values of the top-level assignments `names` in a Python file."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    out = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        for t in targets:
            if isinstance(t, ast.Name) and t.id in names:
                out[t.id] = ast.literal_eval(value)
    missing = set(names) - set(out)
    if missing:
        die("%s: no %s" % (path, ", ".join(sorted(missing))))
    return out


def known_vrs():
    """The two-letter VRs dcm.h defines (DCM_VR_AE ...)."""
    with open(DCM_H, encoding="utf-8") as f:
        vrs = set(re.findall(r"\bDCM_VR_([A-Z]{2})\s*=", f.read()))
    if len(vrs) < 30:
        die("%s: found only %d DCM_VR_ constants" % (DCM_H, len(vrs)))
    return vrs


def parse_vr(text, vrs):
    """('US', 'SS') from "US or SS"; unknown -> UN, "NONE" -> NONE."""
    text = text.strip()
    if text == "NONE":
        return "NONE", "NONE"
    parts = [p for p in re.split(r"\s+or\s+|_|/", text) if p]
    parts = [p if p in vrs else "UN" for p in parts] or ["UN"]
    return parts[0], parts[1] if len(parts) > 1 else "NONE"


def parse_mask(key):
    """("60xx3000") -> (0x60003000, 0xFF00FFFF)."""
    if len(key) != 8 or not re.fullmatch(r"[0-9A-Fa-fx]{8}", key):
        die("bad tag key %r" % key)
    tag = int(key.replace("x", "0"), 16)
    mask = int("".join("0" if c == "x" else "F" for c in key), 16)
    return tag, mask


def c_str(s):
    """A C string literal. '?' is escaped: -std=c17 still has trigraphs."""
    out = []
    for ch in s:
        o = ord(ch)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 32 <= o < 127:
            out.append(ch)
        else:
            # Octal escapes cannot swallow a following hex-looking digit.
            for b in ch.encode("utf-8"):
                out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'


# The key forms pydicom's get_private_entry looks up, most specific first:
# "ggggeeee", "ggggxxee", "ggxxxxee".
PRIVATE_MASKS = (0xFFFFFFFF, 0xFFFF00FF, 0xFF0000FF)


def popcount(x):
    return bin(x).count("1")


def main(argv):
    out_path = None
    pyd = PYDICOM_DIR
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a == "--pydicom" and args:
            pyd = args.pop(0)
        elif a.startswith("-"):
            die("usage: gen_dict.py [OUTPUT.c] [--pydicom DIR]")
        else:
            out_path = a

    version = literal_assignments(os.path.join(pyd, "_version.py"),
                                  ["__version__"])["__version__"]
    std = literal_assignments(os.path.join(pyd, "_dicom_dict.py"),
                              ["DicomDictionary", "RepeatersDictionary"])
    prv = literal_assignments(os.path.join(pyd, "_private_dict.py"),
                              ["private_dictionaries"])
    vrs = known_vrs()

    # ---- standard entries: exact tags sorted, then repeaters ----------
    exact = []
    for tag, (vr, vm, name, retired, kw) in std["DicomDictionary"].items():
        exact.append((tag, 0xFFFFFFFF, parse_vr(vr, vrs), kw, name, vm,
                      retired == "Retired"))
    exact.sort(key=lambda e: e[0])
    rep = []
    for key, (vr, vm, name, retired, kw) in \
            std["RepeatersDictionary"].items():
        tag, mask = parse_mask(key)
        rep.append((tag, mask, parse_vr(vr, vrs), kw, name, vm,
                    retired == "Retired"))
    # Most specific first, so a linear scan returns the best match.
    rep.sort(key=lambda e: (-popcount(e[1]), e[0], e[1]))
    entries = exact + rep
    if len(entries) > 0xFFFF:
        die("too many standard entries for uint16_t indices")

    kw_seen = {}
    for i, e in enumerate(entries):
        if not e[3]:
            continue
        if e[3] in kw_seen:
            die("duplicate keyword %s" % e[3])
        kw_seen[e[3]] = i
    kw_index = sorted(kw_seen.items(), key=lambda kv: kv[0].encode())

    # ---- private entries grouped by creator ---------------------------
    creators = {}
    skipped = []
    for creator, table in prv["private_dictionaries"].items():
        block = None
        m = re.fullmatch(r"(.*)\^([0-9A-Fa-f]{2})", creator)
        if m:
            creator, block = m.group(1), int(m.group(2), 16)
        rows = creators.setdefault(creator, {})
        for key, (vr, vm, name, retired) in table.items():
            tag, mask = parse_mask(key)
            if mask not in PRIVATE_MASKS:
                # "000910xx" (GEMS_* "Private Element Creator") wildcards
                # the low byte: no single element, and pydicom's own
                # get_private_entry never reaches it. The creator element
                # itself is covered by dcm_dict_find.
                skipped.append("%s %s" % (creator, key))
                continue
            if block is not None:
                if mask != 0xFFFFFFFF or tag & 0xFF00:
                    die("%s^%02X: unexpected key %s" % (creator, block, key))
                tag |= block << 8
            if (tag, mask) in rows:
                die("%s: duplicate key %s" % (creator, key))
            rows[(tag, mask)] = (tag, mask, parse_vr(vr, vrs), "", name, vm,
                                 retired == "Retired")
    prv_entries = []
    prv_creators = []
    for creator in sorted(creators, key=lambda s: s.encode()):
        if not creators[creator]:
            continue  # every key skipped (BioPri3D)
        rows = sorted(creators[creator].values(),
                      key=lambda e: (PRIVATE_MASKS.index(e[1]), e[0]))
        prv_creators.append((creator, len(prv_entries), len(rows)))
        prv_entries.extend(rows)
    if len(prv_entries) > 0xFFFF:
        die("too many private entries for uint16_t indices")

    # ---- output ---------------------------------------------------------
    o = []
    w = o.append
    w("/* generated by tools/gen_dict.py from pydicom %s _dicom_dict.py and "
      "_private_dict.py; do not edit */" % version)
    w("/*")
    w(" * %d standard entries with exact tags, %d repeating-group entries,"
      % (len(exact), len(rep)))
    w(" * %d keywords, %d private entries of %d creators. Layout: dict_int.h."
      % (len(kw_index), len(prv_entries), len(prv_creators)))
    if skipped:
        w(" * Skipped %d private keys that wildcard the element's low byte:"
          % len(skipped))
        line = " *"
        for k in skipped:
            item = " %s," % k.replace("*/", "* /")
            if len(line) + len(item) > 78:
                w(line)
                line = " *"
            line += item
        w(line.rstrip(","))
    w(" */")
    w('#include "dict_int.h"')
    w("")
    w("/* E: exact tag; R: repeating group (tag, mask); P: private. */")
    w("#define E(t, v, a, kw, name, vm, ret) \\")
    w("\t{t, 0xFFFFFFFFu, DCM_VR_##v, DCM_VR_##a, kw, name, vm, ret}")
    w("#define R(t, m, v, a, kw, name, vm, ret) \\")
    w("\t{t, m, DCM_VR_##v, DCM_VR_##a, kw, name, vm, ret}")
    w("#define P(t, m, v, a, name, vm, ret) \\")
    w('\t{t, m, DCM_VR_##v, DCM_VR_##a, "", name, vm, ret}')
    w("")

    def row(e, kind):
        tag, mask, (vr, alt), kw, name, vm, ret = e
        ret = 1 if ret else 0
        if kind == "E":
            return "\tE(0x%08Xu, %s, %s, %s, %s, %s, %d)," % (
                tag, vr, alt, c_str(kw), c_str(name), c_str(vm), ret)
        if kind == "R":
            return "\tR(0x%08Xu, 0x%08Xu, %s, %s, %s, %s, %s, %d)," % (
                tag, mask, vr, alt, c_str(kw), c_str(name), c_str(vm), ret)
        return "\tP(0x%08Xu, 0x%08Xu, %s, %s, %s, %s, %d)," % (
            tag, mask, vr, alt, c_str(name), c_str(vm), ret)

    w("const struct dcm_dict_entry dcm__dict_std[] = {")
    for e in exact:
        w(row(e, "E"))
    w("\t/* repeating groups, most specific mask first (PS3.5 7.6) */")
    for e in rep:
        w(row(e, "R"))
    w("};")
    w("const size_t dcm__dict_exact_count = %d;" % len(exact))
    w("const size_t dcm__dict_std_count = %d;" % len(entries))
    w("")
    w("/* Indexes into dcm__dict_std in strcmp order of keyword. */")
    w("const uint16_t dcm__dict_keyword_index[] = {")
    line = "\t"
    for _, i in kw_index:
        item = "%d," % i
        if len(line.expandtabs(8)) + len(item) + 1 > 79:
            w(line.rstrip())
            line = "\t"
        line += item + " "
    w(line.rstrip())
    w("};")
    w("const size_t dcm__dict_keyword_count = %d;" % len(kw_index))
    w("")
    w("const struct dcm_dict_entry dcm__dict_private[] = {")
    for creator, first, count in prv_creators:
        w("\t/* %s */" % creator.replace("*/", "* /"))
        for e in prv_entries[first:first + count]:
            w(row(e, "P"))
    w("};")
    w("const size_t dcm__dict_private_count = %d;" % len(prv_entries))
    w("")
    w("/* Sorted by memcmp order of the name; entries [first, first+count). */")
    w("const struct dcm__dict_creator dcm__dict_creators[] = {")
    for creator, first, count in prv_creators:
        w("\t{%s, %d, %d, %d}," % (c_str(creator), len(creator.encode()),
                                  first, count))
    w("};")
    w("const size_t dcm__dict_creator_count = %d;" % len(prv_creators))
    text = "\n".join(o) + "\n"

    if out_path:
        tmp = out_path + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(text)
        os.replace(tmp, out_path)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
