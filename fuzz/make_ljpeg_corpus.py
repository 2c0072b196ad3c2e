#!/usr/bin/python3
"""Generates the seed corpus of fuzz/fuzz_ljpeg.c: JPEG Lossless codestreams.

Run with Debian's /usr/bin/python3 (numpy, pydicom; dcmtk's dcmcjpeg on PATH):

    /usr/bin/python3 fuzz/make_ljpeg_corpus.py [--check]

Writes fuzz/corpus/ljpeg/:
  dcmtk_*      frames that dcmcjpeg (a real encoder) makes from small
               synthetic images: every predictor, 8/12/16 bits, 1 and 3
               samples, a point transform;
  enc_*        frames from the small encoder below, for what dcmcjpeg never
               writes: restart intervals (row aligned and mid-row),
               (whole lines), components in separate scans, precision 2..16, the
               difference 32768 (SSSS = 16), long Huffman codes;
  bad_*        hostile variants: truncated, bad lengths, bad tables,
               missing SOF, wrong RST numbers, unsupported processes;
  crash_*      inputs that once crashed the decoder, found by libFuzzer
               (kept when the corpus is regenerated): crash_dht_code_overflow
               is a DHT whose code counts overflow the code space, which
               wrote past the look-up table before huff_define checked it.

--check decodes every enc_* stream with GDCM (through pydicom) and
compares it with the image it was made from: proof that the encoder below
(and so the restart and multi-scan rules of ljpeg.c it shares) agrees with
an independent decoder. The fuzz target takes the image shape from SOF3.
"""
import heapq
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "ljpeg")


# ---- a small JPEG Lossless encoder (T.81 Annex H) --------------------------

def predict(sel, ra, rb, rc):
    return {1: ra, 2: rb, 3: rc, 4: ra + rb - rc, 5: ra + ((rb - rc) >> 1),
            6: rb + ((ra - rc) >> 1), 7: (ra + rb) >> 1}[sel]


def scan_diffs(img, comps, P, sel, pt, restart):
    """Differences of one scan in coding order, with H.1.2.1's rules."""
    h, w, _ = img.shape
    x = (img >> pt).astype(np.int64)
    init = 1 << (P - pt - 1)
    out = []
    for y in range(h):
        for xx in range(w):
            m = y * w + xx
            k0 = (m // restart) * restart if restart else 0
            for c in comps:
                if m == k0:
                    px = init
                elif y == k0 // w:
                    px = x[y, xx - 1, c]
                elif xx == 0:
                    px = x[y - 1, xx, c]
                else:
                    px = predict(sel, x[y, xx - 1, c], x[y - 1, xx, c],
                                 x[y - 1, xx - 1, c])
                d = (int(x[y, xx, c]) - int(px)) & 0xFFFF
                if d >= 32768:
                    d -= 65536
                out.append(d)
    return out


def ssss(d):
    return 16 if d == -32768 else abs(d).bit_length()


def huff_lengths(freq):
    """Code lengths (<= 16) of a Huffman code for the symbols in freq, with
    one extra dummy symbol so that no code is all ones (T.81 K.2)."""
    syms = [s for s in range(17) if freq.get(s)] or [0]
    heap = [(freq.get(s, 1), i, [s]) for i, s in enumerate(syms)]
    heap.append((0, len(syms), [-1]))
    heapq.heapify(heap)
    length = {s: 0 for s in syms + [-1]}
    n = len(heap)
    while len(heap) > 1:
        f1, _, a = heapq.heappop(heap)
        f2, _, b = heapq.heappop(heap)
        for s in a + b:
            length[s] += 1
        heapq.heappush(heap, (f1 + f2, n, a + b))
        n += 1
    length.pop(-1)
    if max(length.values()) > 16:
        length = {s: 5 for s in range(17)}
    return length


def dht(lengths, th=0):
    by_len = sorted(lengths, key=lambda s: (lengths[s], s))
    bits = [0] * 17
    for s in by_len:
        bits[lengths[s]] += 1
    body = bytes([th]) + bytes(bits[1:]) + bytes(by_len)
    return b"\xff\xc4" + (len(body) + 2).to_bytes(2, "big") + body


def codes_of(lengths):
    code, out = 0, {}
    for l in range(1, 17):
        for s in sorted(s for s in lengths if lengths[s] == l):
            out[s] = (code, l)
            code += 1
        code <<= 1
    return out


class BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, v, n):
        for i in range(n - 1, -1, -1):
            self.acc = (self.acc << 1) | ((v >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)
                self.acc = self.n = 0

    def flush(self):
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)


def encode(img, P, sel=1, pt=0, restart=0, interleave=True, long_codes=False,
           ids=None):
    """img: (h, w, nc) ints in 0..2^P-1. Returns the codestream."""
    h, w, nc = img.shape
    ids = ids or list(range(1, nc + 1))
    out = bytearray(b"\xff\xd8")
    sof = bytes([P]) + h.to_bytes(2, "big") + w.to_bytes(2, "big") + \
        bytes([nc]) + b"".join(bytes([i, 0x11, 0]) for i in ids)
    out += b"\xff\xc3" + (len(sof) + 2).to_bytes(2, "big") + sof
    if restart:
        out += b"\xff\xdd\x00\x04" + restart.to_bytes(2, "big")
    scans = [list(range(nc))] if interleave else [[c] for c in range(nc)]
    for comps in scans:
        diffs = scan_diffs(img, comps, P, sel, pt, restart)
        if long_codes:
            # Symbol k gets k+1 bits (k < 14), 14..16 get 16 bits: codes
            # longer than the decoder's 9-bit lookahead.
            lengths = {k: min(k + 1, 16) for k in range(14)}
            lengths.update({14: 16, 15: 16, 16: 16})
        else:
            freq = {}
            for d in diffs:
                freq[ssss(d)] = freq.get(ssss(d), 0) + 1
            lengths = huff_lengths(freq)
        out += dht(lengths)
        sos = bytes([len(comps)]) + b"".join(bytes([ids[c], 0x00])
                                              for c in comps)
        sos += bytes([sel, 0, pt])
        out += b"\xff\xda" + (len(sos) + 2).to_bytes(2, "big") + sos
        codes = codes_of(lengths)
        bw = BitWriter()
        per_mcu = len(comps)
        rst = 0
        for i, d in enumerate(diffs):
            m = i // per_mcu
            if restart and m and m % restart == 0 and i % per_mcu == 0:
                bw.flush()
                out += bw.out
                out += bytes([0xFF, 0xD0 + rst])
                rst = (rst + 1) & 7
                bw = BitWriter()
            s = ssss(d)
            bw.put(*codes[s])
            if 0 < s < 16:
                bw.put(d if d > 0 else d + (1 << s) - 1, s)
        bw.flush()
        out += bw.out
    out += b"\xff\xd9"
    return bytes(out)


# ---- images ---------------------------------------------------------------

def image(h, w, nc, P, seed):
    rng = np.random.default_rng(seed)
    hi = (1 << P) - 1
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 5 + y * 3) % 61 * hi // 60
    a = np.stack([np.clip(base + rng.integers(-(hi // 16) - 1, hi // 16 + 2,
                                              (h, w)), 0, hi)
                  for _ in range(nc)], -1).astype(np.int64)
    a[0, 0, :] = 0
    a[-1, -1, :] = hi
    if w > 1:
        a[0, 1, :] = hi
    return a


def jump_image(h, w):
    """16-bit samples 32768 apart: differences of exactly 32768."""
    a = np.zeros((h, w, 1), np.int64)
    a[:, 1::2, 0] = 32768
    a[1::3, :, 0] ^= 0x7FFF
    return a


def enc_cases():
    cases = []
    for P in (2, 8, 12, 16):
        for sel in (1, 4, 7):
            cases.append(("p%d_sv%d" % (P, sel), image(9, 11, 1, P, P * 10 + sel),
                          dict(P=P, sel=sel)))
    cases += [
        ("rgb8_sv5", image(7, 10, 3, 8, 1), dict(P=8, sel=5)),
        ("rgb8_separate_scans", image(7, 10, 3, 8, 2),
         dict(P=8, sel=6, interleave=False)),
        ("rgb16_separate_rst9", image(6, 9, 3, 16, 3),
         dict(P=16, sel=4, interleave=False, restart=9)),
        ("four_components", image(5, 6, 4, 8, 4), dict(P=8, sel=2)),
        ("rst_row", image(8, 12, 1, 12, 5), dict(P=12, sel=7, restart=12)),
        ("rst_two_rows", image(8, 12, 1, 12, 6), dict(P=12, sel=6,
                                                      restart=24)),
        ("rst_every", image(4, 5, 3, 8, 7), dict(P=8, sel=3, restart=5)),
        ("rst_8plus", image(12, 4, 1, 8, 8), dict(P=8, sel=1, restart=4)),
        ("pt3", image(8, 8, 1, 16, 9) & ~7, dict(P=16, sel=4, pt=3)),
        ("ssss16", jump_image(6, 8), dict(P=16, sel=1)),
        ("ssss16_pred7", jump_image(6, 8), dict(P=16, sel=7)),
        ("long_codes", image(9, 9, 1, 16, 10), dict(P=16, sel=2,
                                                    long_codes=True)),
        ("ids_rgb", image(4, 4, 3, 8, 11), dict(P=8, sel=1, ids=[82, 71, 66])),
        ("one_pixel", image(1, 1, 1, 8, 12), dict(P=8, sel=1)),
        ("one_row", image(1, 17, 1, 10, 13), dict(P=10, sel=4)),
        ("one_column", image(17, 1, 1, 10, 14), dict(P=10, sel=4)),
    ]
    return cases


# ---- dcmcjpeg -------------------------------------------------------------

def dcmtk_frames(tmp):
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import generate_pixel_data_frame
    from pydicom.uid import ExplicitVRLittleEndian

    out = []
    shapes = [("m8", 1, 8, 8, False), ("m12", 1, 16, 12, False),
              ("m16s", 1, 16, 16, True), ("rgb8", 3, 8, 8, False)]
    for name, spp, ba, bs, signed in shapes:
        a = image(12, 10, spp, bs, len(out))
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
        ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
        ds.SOPInstanceUID = "1.2.3.4"
        ds.Rows, ds.Columns, ds.SamplesPerPixel = 12, 10, spp
        ds.PhotometricInterpretation = "RGB" if spp == 3 else "MONOCHROME2"
        if spp == 3:
            ds.PlanarConfiguration = 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = ba, bs, bs - 1
        ds.PixelRepresentation = int(signed)
        ds.PixelData = a.astype(np.uint8 if ba == 8 else np.uint16).tobytes()
        ds.is_little_endian, ds.is_implicit_VR = True, False
        src = os.path.join(tmp, name + ".dcm")
        ds.save_as(src, write_like_original=False)
        for opts in (["+e1"], ["+el", "+sv", "2"], ["+el", "+sv", "3"],
                     ["+el", "+sv", "4"], ["+el", "+sv", "5"],
                     ["+el", "+sv", "6"], ["+el", "+sv", "7"],
                     ["+e1", "+pt", "2"]):
            if name == "rgb8" and opts[-1] not in ("+e1", "6"):
                continue
            dst = os.path.join(tmp, "out.dcm")
            subprocess.run(["dcmcjpeg"] + opts + [src, dst], check=True)
            ds2 = pydicom.dcmread(dst)
            frame = next(generate_pixel_data_frame(ds2.PixelData))
            # Drop the fragment's even-length padding after EOI.
            frame = frame[:frame.rfind(b"\xff\xd9") + 2]
            tag = "".join(o.strip("+") for o in opts)
            out.append(("dcmtk_%s_%s" % (name, tag), frame))
    return out


# ---- hostile variants -----------------------------------------------------

def hostile(good):
    """Variants of a valid stream that every decoder must refuse or
    survive."""
    g = bytearray(good)
    sof = g.find(b"\xff\xc3")
    dhtp = g.find(b"\xff\xc4")
    sos = g.find(b"\xff\xda")
    out = {}
    out["bad_truncated_header"] = bytes(g[:sos + 4])
    out["bad_truncated_scan"] = bytes(g[:len(g) * 2 // 3])
    out["bad_no_eoi"] = bytes(g[:-2])
    out["bad_no_soi"] = bytes(g[2:])
    b = bytearray(g)
    b[sof + 2:sof + 4] = b"\xff\xf0"
    out["bad_sof_length"] = bytes(b)
    b = bytearray(g)
    b[sof + 4] = 17
    out["bad_precision17"] = bytes(b)
    b = bytearray(g)
    b[sof + 4] = 1
    out["bad_precision1"] = bytes(b)
    b = bytearray(g)
    b[sof + 1] = 0xC0
    out["bad_sof0_marker"] = bytes(b)
    b = bytearray(g)
    b[sof + 1] = 0xCB
    out["bad_sof11_arith"] = bytes(b)
    b = bytearray(g)
    b[sof + 5:sof + 9] = b"\xff\xff\xff\xff"
    out["bad_huge_dims"] = bytes(b)
    b = bytearray(g)
    b[sof + 5:sof + 7] = b"\x00\x00"
    out["bad_zero_rows_dnl"] = bytes(b)
    b = bytearray(g)
    for i in range(dhtp + 5, dhtp + 21):
        b[i] = 0xFF
    out["bad_dht_counts"] = bytes(b)
    b = bytearray(g)
    # Three codes of length 1 (the total count kept): not a prefix code.
    k = max(range(dhtp + 6, dhtp + 21), key=lambda i: b[i])
    b[k] -= 3 - b[dhtp + 5]
    b[dhtp + 5] = 3
    out["bad_dht_overfull"] = bytes(b)
    b = bytearray(g)
    b[sos + 6] = 0x30
    out["bad_sos_table3"] = bytes(b)
    b = bytearray(g)
    b[sos + 7] = 0
    out["bad_sos_predictor0"] = bytes(b)
    b = bytearray(g)
    b[sos + 5] = 99
    out["bad_sos_component"] = bytes(b)
    out["bad_sos_before_sof"] = bytes(g[:2] + g[sos:])
    out["bad_all_ff_scan"] = bytes(g[:sos + 10] + b"\xff\x00" * 64 +
                                   b"\xff\xd9")
    out["bad_zero_scan"] = bytes(g[:sos + 10] + b"\x00" * 64 + b"\xff\xd9")
    out["bad_two_sof"] = bytes(g[:sos] + g[sof:dhtp] + g[sos:])
    out["bad_soi_only"] = b"\xff\xd8"
    out["bad_empty"] = b""
    return out


def gdcm_decode(stream, shape, P):
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.pixel_data_handlers import gdcm_handler

    h, w, nc = shape
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.57"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = h, w, nc
    ds.PhotometricInterpretation = "RGB" if nc == 3 else "MONOCHROME2"
    if nc == 3:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8 if P <= 8 else 16
    # GDCM asserts Bits Stored == Bits Allocated on this path.
    ds.BitsStored = ds.BitsAllocated
    ds.HighBit, ds.PixelRepresentation = ds.BitsAllocated - 1, 0
    ds.PixelData = encapsulate([stream])
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds["PixelData"].VR = "OB"
    pydicom.config.pixel_data_handlers = [gdcm_handler]
    return ds.pixel_array.reshape(h, w, nc).astype(np.int64)


def main():
    check = "--check" in sys.argv
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        # crash_* are inputs libFuzzer found, kept as regression tests.
        if not f.startswith("crash_"):
            os.unlink(os.path.join(OUT, f))
    seeds = {}
    bad = 0
    for name, img, kw in enc_cases():
        s = encode(img, **kw)
        seeds["enc_" + name] = s
        if check and img.shape[2] in (1, 3):
            try:
                got = gdcm_decode(s, img.shape, kw["P"])
                ok = np.array_equal(got, img)
            except Exception as e:  # noqa: BLE001 - report and go on
                ok, got = False, e
            print("gdcm %-24s %s" % (name, "ok" if ok else "MISMATCH"))
            bad += not ok
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in dcmtk_frames(tmp):
            seeds[name] = frame
    seeds.update(hostile(seeds["enc_rst_two_rows"]))
    # A restart inside a line: T.81 lossless wants whole lines (libjpeg
    # and GDCM refuse it too).
    seeds["bad_rst_midrow"] = encode(image(8, 12, 1, 12, 6), P=12, sel=6,
                                     restart=7)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds), OUT))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
