#!/usr/bin/python3
"""Generates the seed corpus of fuzz/fuzz_rle.c.

Run with Debian's Python (it has pydicom 2.3 and numpy):

    /usr/bin/python3 fuzz/make_rle_corpus.py [OUTDIR]

OUTDIR defaults to fuzz/corpus/rle beside this script. Files this script
wrote before are replaced; files named crash-* (minimized crashers found
by fuzzing, committed by hand) are kept. The output is deterministic.

Each seed is the 4 shape bytes fuzz_rle.c reads (rows - 1, columns - 1,
bits/samples/sign, high bit/planar/YBR) followed by one RLE frame:
  real-*     every frame of pydicom's RLE test files, with their shapes;
  enc-*      small frames encoded here (PackBits per PS3.5 G.3.1) for the
             shapes the real files lack: signed, 12 in 16 bits, High Bit
             above Bits Stored - 1, YBR_FULL, 1x1 and 256x256;
  hostile-*  one defect each: short header, 16 segments, offsets before
             the header / past the end / backwards, short segments, a
             literal run crossing the segment end, only -128 no-ops;
  frames-*   inputs for the frame.c part of the target (mode byte = byte 0
             XOR byte 1: frames, Basic / Extended Offset Table, transfer
             syntax), fragments written as a length byte + bytes.
"""
import glob
import os
import struct
import sys
import warnings

import pydicom
from pydicom.encaps import generate_pixel_data_frame

warnings.filterwarnings("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
BA_CODE = {8: 0, 16: 1, 32: 2}


def shape(rows, cols, ba, bs=None, samples=1, signed=False, extra_hb=0,
          planar=False, ybr=False):
    """The 4 shape bytes of fuzz_rle.c."""
    bs = ba if bs is None else bs
    b2 = BA_CODE[ba] | (4 if samples == 3 else 0) | (8 if signed else 0)
    b2 |= (ba - bs) << 4
    b3 = extra_hb | (0x40 if planar else 0) | (0x80 if ybr else 0)
    return bytes([rows - 1, cols - 1, b2, b3])


def packbits(plane):
    """PackBits of one byte plane (runs of 2+ replicated, else literal)."""
    out = bytearray()
    i, n = 0, len(plane)
    while i < n:
        j = i
        while j + 1 < n and plane[j + 1] == plane[i] and j - i < 127:
            j += 1
        if j > i:
            out += bytes([257 - (j - i + 1), plane[i]])
            i = j + 1
            continue
        j = i
        while (j < n and j - i < 128 and
               not (j + 1 < n and plane[j + 1] == plane[j])):
            j += 1
        out += bytes([j - i - 1]) + bytes(plane[i:j])
        i = j
    return bytes(out)


def rle_frame(segments):
    """Header (G.5) + segments."""
    header = struct.pack("<I", len(segments))
    offset = 64
    for s in segments:
        header += struct.pack("<I", offset)
        offset += len(s)
    header += b"\0" * (64 - len(header))
    return header + b"".join(segments)


def encode(values, rows, cols, ba, samples=1):
    """Samples (interleaved, as unsigned words) -> RLE frame."""
    nbytes = ba // 8
    segs = []
    for s in range(samples):
        words = values[s::samples]
        for b in reversed(range(nbytes)):
            segs.append(packbits(bytes((w >> (8 * b)) & 0xFF
                                       for w in words)))
    return rle_frame(segs)


def seeds():
    out = {}
    # Real frames from pydicom's RLE files.
    for path in sorted(glob.glob(os.path.join(DATA, "*rle*.dcm")) +
                       glob.glob(os.path.join(DATA, "*RLE*.dcm"))):
        ds = pydicom.dcmread(path)
        if ds.file_meta.TransferSyntaxUID != "1.2.840.10008.1.2.5":
            continue
        nf = int(getattr(ds, "NumberOfFrames", 1) or 1)
        head = shape(ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored,
                     ds.SamplesPerPixel, ds.PixelRepresentation == 1)
        name = os.path.basename(path)[:-4]
        for i, fr in enumerate(generate_pixel_data_frame(ds.PixelData, nf)):
            if nf > 2 and i not in (0, nf - 1):
                continue
            out["real-%s-%d" % (name, i)] = head + fr

    # Encoded here, for the shapes the real files lack.
    ramp = [(i * 37) % 251 for i in range(64)]
    out["enc-u8-8x8"] = shape(8, 8, 8) + encode(ramp, 8, 8, 8)
    out["enc-u8-1x1"] = shape(1, 1, 8) + encode([200], 1, 1, 8)
    flat = [7] * (256 * 256)
    out["enc-u8-256x256-flat"] = shape(256, 256, 8) + encode(
        flat, 256, 256, 8)
    s12 = [(v * 129) & 0xFFFF for v in range(48)]
    out["enc-s12in16-6x8"] = shape(6, 8, 16, 12, signed=True) + encode(
        s12, 6, 8, 16)
    out["enc-s12hb15-6x8"] = shape(6, 8, 16, 12, signed=True,
                                   extra_hb=4) + encode(s12, 6, 8, 16)
    ybr = [(i * 53) & 0xFF for i in range(3 * 25)]
    out["enc-ybr-5x5"] = shape(5, 5, 8, samples=3, ybr=True) + encode(
        ybr, 5, 5, 8, 3)
    out["enc-rgb16-planar-3x4"] = shape(3, 4, 16, samples=3,
                                        planar=True) + encode(
        [(i * 4099) & 0xFFFF for i in range(36)], 3, 4, 16, 3)
    out["enc-s32-4x4"] = shape(4, 4, 32, signed=True) + encode(
        [(i * 0x10204081) & 0xFFFFFFFF for i in range(16)], 4, 4, 32)
    # Native-oriented: 1-bit and 4:2:2 paths of run_native (selector
    # data[3] ^ data[2]: low bits 3 = 1-bit, 2 = 4:2:2).
    out["enc-native-1bit"] = bytes([7, 7, 0x00, 0x17]) + bytes(range(80))
    out["enc-native-422"] = bytes([3, 3, 0x04, 0x06]) + bytes(range(96))

    # Hostile frames.
    one = packbits(bytes(ramp[:16]))
    ok = rle_frame([one])
    h = shape(4, 4, 8)
    out["hostile-empty"] = h
    out["hostile-short-header"] = h + ok[:63]
    out["hostile-16-segments"] = h + struct.pack("<I", 16) + ok[4:]
    out["hostile-huge-count"] = h + struct.pack("<I", 0xFFFFFFFF) + ok[4:]
    out["hostile-count-mismatch"] = h + rle_frame([one, one])
    out["hostile-offset-in-header"] = h + ok[:4] + struct.pack(
        "<I", 8) + ok[8:]
    out["hostile-offset-past-end"] = h + ok[:4] + struct.pack(
        "<I", len(ok) + 100) + ok[8:]
    two = rle_frame([one, one])
    back = bytearray(two)
    back[4:12] = struct.pack("<II", 64 + len(one), 64)
    out["hostile-offsets-backwards"] = shape(4, 4, 16) + bytes(back)
    out["hostile-short-segment"] = h + rle_frame([one[:-3]])
    out["hostile-literal-cross"] = h + rle_frame([bytes([0x7F]) + b"x" * 5])
    out["hostile-replicate-no-byte"] = h + rle_frame([bytes([0x81])])
    out["hostile-noops"] = h + rle_frame([bytes([0x80]) * 200])
    out["hostile-overlong"] = h + rle_frame([bytes([0x81, 1]) * 50])
    out["hostile-rgb16-short-last"] = shape(2, 2, 16, samples=3) + \
        rle_frame([packbits(b"\1\2\3\4")] * 5 + [b"\x01\x09"])

    # frame.c: mode bits 0-2 frames - 1, 3 BOT, 4 EOT, 5 EOT lengths,
    # 6-7 transfer syntax (RLE, JPEG baseline, J2K, encapsulated native).
    def frags(*parts):
        return b"".join(bytes([len(p)]) + p for p in parts)

    def mode_bytes(mode):
        return bytes([mode, 0, 0, 0])

    out["frames-bot-3"] = mode_bytes(0x0A) + struct.pack(
        "<3I", 0, 12, 22) + frags(b"AAAA", b"BB", b"CCCCCC")
    out["frames-eot-3"] = mode_bytes(0x32) + struct.pack(
        "<3Q", 0, 12, 22) + struct.pack("<3Q", 4, 2, 5) + frags(
        b"AAAA", b"BB", b"CCCCCC")
    out["frames-scan-jpeg"] = mode_bytes(0x42) + frags(
        b"\xff\xd8a1", b"a2", b"\xff\xd8b1", b"\xff\xd8c1", b"c2")
    out["frames-scan-j2k"] = mode_bytes(0x81) + frags(
        b"\xff\x4f\xff\x51", b"x", b"\0\0\0\x0cjP  \r\n\x87\n", b"y")
    out["frames-scan-rle"] = mode_bytes(0x01) + frags(ok, b"zz", ok)
    out["frames-one-joined"] = mode_bytes(0xC0) + frags(b"ab", b"", b"cd")
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        HERE, "corpus", "rle")
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):
        if not f.startswith("crash-"):
            os.unlink(os.path.join(outdir, f))
    total = 0
    for name, data in sorted(seeds().items()):
        with open(os.path.join(outdir, name), "wb") as fp:
            fp.write(data)
        total += len(data)
    print("%d seeds, %d bytes in %s" % (len(os.listdir(outdir)), total,
                                        outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
