#!/usr/bin/python3
"""Check pacsd's pixel decoders and renderer against pydicom over a corpus.

Usage: pixel_check.py --pacsd PATH [-v] [-j JOBS] [--max-frames N]
                      [--no-corrupt] FILE_OR_DIR...

For every file with Pixel Data (directories are walked recursively) and each
checked frame -- all frames of files with at most --max-frames frames
(default 3), else the first --max-frames - 1 and the last, so that locating
a frame past the first is covered too:

 (a) decode: `pacsd render F -o out.raw --format raw --frame N` writes the
     decoded samples (before any LUT) as little-endian int32, rows x cols x
     samples interleaved. They are compared with pydicom's pixel_array for
     that frame (pydicom 2.3 with numpy, gdcm and Pillow: gdcm decodes every
     compressed syntax):
       * lossless transfer syntaxes: exactly equal;
       * lossy ones (.50, .51, .81, .91): PSNR >= 45 dB, peak 2^BitsStored-1;
       * colour: pix.h promises RGB for every YBR form. pydicom (gdcm)
         returns YBR_FULL / YBR_FULL_422 samples unconverted; they are
         converted with pydicom's convert_color_space (PS3.3 C.7.6.3.1.2,
         rounded to nearest) and must then still be equal for lossless
         syntaxes: the transform is specified to the rounding.
       * 32-bit unsigned samples come back from pacsd as int32: compared
         modulo 2^32.
 (b) render: `pacsd render F -o out.png --frame N` is read with Pillow and
     compared with the reference pipeline, max |difference| <= 1 grey level:
       * grey: pydicom apply_modality_lut, then apply_voi_lut(prefer_lut=
         False) -- pix.h prefers Window Center/Width to a VOI LUT Sequence --
         scaled from pydicom's output range [y_min, y_max] to 0..255 (this is
         PS3.3 C.11.2.1.2.1 with y_min = 0, y_max = 255); a VOI LUT
         Sequence's output scaled from 0..2^depth-1; no window and no VOI
         LUT: the frame's modality min..max mapped linearly to 0..255;
         MONOCHROME1 inverted (255 - v);
       * RGB: passed through, shifted right by BitsStored - 8 when wider;
       * PALETTE COLOR: apply_color_lut, 16-bit entries shifted right by 8.
     For lossless syntaxes the reference pipeline starts from pydicom's
     decoded frame; for lossy ones from pacsd's (already checked within
     PSNR in (a)), so that a lossy decoder's legitimate difference is not
     counted twice and the renderer itself is held to 1 grey level.
     One file per kind is also rendered with --window C,W (compared with the
     same pipeline and that window), --size (dimensions: fit inside, aspect
     kept) and --format jpeg (decodes, PSNR >= 30 dB against the PNG).
 (c) a frame past the last one must make pacsd exit non-zero with a message.

Files pydicom cannot decode must make pacsd exit non-zero with a message on
stderr (and no crash). Known differences are listed in EXCEPTIONS by file
name with the reason: such a file must give a clean pacsd error; it prints
as XFAIL and counts as passed, and prints XPASS when pacsd decodes it
correctly after all.

Unless --no-corrupt, one compressed file per codec is damaged two ways --
its last fragment truncated to half, and bytes inside the codestream
flipped -- and rendered: pacsd must not crash (no signal, no sanitizer
report on stderr); a truncated codestream must give a non-zero exit status
with a message; a flipped one may decode (garbage in, garbage out) but a
non-zero exit must come with a message.

The last line printed is "N passed, M failed" (files, plus one entry per
corrupted file); the exit status is 1 when M > 0.
"""

import argparse
import concurrent.futures
import copy
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings

try:
    import numpy as np
    import pydicom
    from PIL import Image
    from pydicom.pixel_data_handlers.util import (apply_color_lut,
                                                  apply_modality_lut,
                                                  apply_voi,
                                                  apply_voi_lut,
                                                  apply_windowing,
                                                  convert_color_space,
                                                  get_nr_frames)
except ImportError as e:  # pragma: no cover
    sys.exit("pixel_check.py: %s (run with /usr/bin/python3)" % e)

# pydicom's handlers print codec warnings through gdcm on stderr; they are
# not ours.
warnings.simplefilter("ignore")

LOSSY_TS = {
    "1.2.840.10008.1.2.4.50",   # JPEG baseline
    "1.2.840.10008.1.2.4.51",   # JPEG extended (process 2 and 4)
    "1.2.840.10008.1.2.4.81",   # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.91",   # JPEG 2000 (lossy allowed)
    "1.2.840.10008.1.2.4.203",  # HTJ2K (lossy allowed)
}
PSNR_MIN = 45.0
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehavior",
                   "runtime error:")

# File name -> reason. Each must make pacsd exit non-zero with a message;
# keep this short and precise.
EXCEPTIONS = {
    "JPEG-lossy.dcm":
        "JPEG extended 12-bit (process 4): Debian's libjpeg-turbo 2.1 "
        "(libjpeg62-turbo) is built for 8-bit samples only, so jpeg.c "
        "refuses 12-bit precision with an error naming it",
    "JPGExtended.dcm":
        "JPEG extended 12-bit (process 4): same as JPEG-lossy.dcm",
    "JPEG2000-embedded-sequence-delimiter.dcm":
        "not an image: its one 250-byte fragment is a J2K main header whose "
        "SIZ declares 3722440960 x 1 samples (4292730882 tiles; pydicom "
        "keeps it to test that a delimiter inside a fragment does not end "
        "the sequence). gdcm fails (opj_setup_decoder failure) and pydicom "
        "returns the uninitialised buffer as pixels; OpenJPEG in j2k.c "
        "refuses it with \"Invalid number of tiles\"",
    "mono12u_jpeg51.dcm":
        "JPEG extended 12-bit (process 4) made by dcmcjpeg +ee: same as "
        "JPEG-lossy.dcm",
}


class Result:
    def __init__(self, name):
        self.name = name
        self.fails = []
        self.notes = []
        self.xfail = None
        self.skipped = None

    def fail(self, msg):
        self.fails.append(msg)

    def note(self, msg):
        self.notes.append(msg)


def crashed(p):
    return p.returncode < 0 or any(m in p.stderr for m in SANITIZER_MARKS)


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def run_pacsd(pacsd, args, timeout=120):
    try:
        p = subprocess.run([pacsd, "render"] + args, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        p = subprocess.CompletedProcess(args, 124, b"", b"timeout")
    p.stderr = p.stderr.decode("utf-8", "replace")
    return p


def psnr(a, b, bits):
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(d * d))
    if mse == 0:
        return math.inf
    peak = float((1 << bits) - 1)
    return 10 * math.log10(peak * peak / mse)


def frames_to_check(n, max_frames):
    if n <= max_frames:
        return list(range(n))
    return list(range(max_frames - 1)) + [n - 1]


def reference_frames(ds):
    """pydicom's decoded array as (frames, rows, cols, samples) int64 and
    the photometric interpretation it is in (RGB for the YBR forms, which
    are converted here)."""
    # Read before decoding: pydicom's gdcm handler sets Pixel Representation
    # to 0 on a J2K codestream it finds unsigned, through a group_dataset()
    # copy that shares its data elements with `ds`.
    ba, bs = int(ds.BitsAllocated), int(ds.BitsStored)
    pr = int(ds.PixelRepresentation)
    arr = ds.pixel_array
    ds.PixelRepresentation = pr
    nframes = get_nr_frames(ds)
    spp = int(ds.SamplesPerPixel)
    if nframes == 1:
        arr = arr[np.newaxis, ...]
    if spp == 1:
        arr = arr[..., np.newaxis]
    # PS3.5 8.1.1: only Bits Stored bits (up to High Bit) are the value;
    # pydicom's numpy handler keeps the other bits of native data and does
    # not sign-extend (a 13-bit signed -2000 stored as 0x1830 reads 6192),
    # pix.h masks and sign-extends, as the standard means.
    if bs < ba and ba in (8, 16, 32):
        arr = arr.astype(np.int64) & ((1 << bs) - 1)
        if pr == 1:
            arr = np.where(arr >= (1 << (bs - 1)), arr - (1 << bs), arr)
    pi = str(ds.PhotometricInterpretation).strip()
    if spp == 3 and pi in ("YBR_FULL", "YBR_FULL_422"):
        arr = convert_color_space(arr, pi, "RGB")
        pi = "RGB"
    elif spp == 3 and pi in ("YBR_ICT", "YBR_RCT"):
        pi = "RGB"  # the J2K decoder applied the inverse transform
    return arr.astype(np.int64), pi


def to_8bit(v, lo, hi):
    if hi <= lo:
        return np.zeros(v.shape, dtype=np.int64)
    return np.floor((v - lo) / (hi - lo) * 255.0 + 0.5).astype(np.int64)


def reference_render(ds, frame, pi, window=None):
    """The 8-bit image the reference pipeline makes of one decoded frame
    (rows, cols, samples), as int64 (rows, cols, channels)."""
    spp = frame.shape[2]
    bits = int(ds.BitsStored)
    if spp == 3:
        out = frame
        if bits > 8:
            out = out >> (bits - 8)
        return np.clip(out, 0, 255)
    px = frame[..., 0]
    if pi == "PALETTE COLOR":
        rgb = apply_color_lut(px.astype(np.uint16 if px.max() > 255
                                        else np.uint8), ds)
        rgb = rgb.astype(np.int64)
        if rgb.max() > 255:
            rgb = rgb >> 8
        return rgb[..., :3]
    ds = copy.deepcopy(ds)
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
        if "VOILUTFunction" in ds:
            del ds.VOILUTFunction
    m = apply_modality_lut(px, ds).astype(np.float64)
    out = None
    if "WindowCenter" in ds and "WindowWidth" in ds:
        try:
            v = apply_voi_lut(m, ds, prefer_lut=False)
            # pydicom maps to [y_min, y_max] of the data type; the extremes
            # of the real line give those bounds exactly.
            lim = apply_windowing(np.array([-1e300, 1e300]), ds)
            out = to_8bit(v, lim[0], lim[1])
        except ValueError:
            out = None  # width < 1: not usable, as if absent
    if out is None and ds.get("VOILUTSequence"):
        depth = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        v = apply_voi(np.round(m).astype(np.int64), ds).astype(np.float64)
        out = to_8bit(v, 0, (1 << depth) - 1)
    if out is None:
        out = to_8bit(m, float(m.min()), float(m.max()))
    if pi == "MONOCHROME1":
        out = 255 - out
    return out[..., np.newaxis]


def read_png(path):
    img = Image.open(path)
    img.load()
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[..., np.newaxis]
    return a.astype(np.int64), img


def check_file(args, path, extras):
    name = os.path.basename(path)
    res = Result(name)
    try:
        ds = pydicom.dcmread(path)
    except Exception as e:  # noqa: BLE001
        res.skipped = "pydicom cannot read it: %s" % e
        return res
    if "PixelData" not in ds:
        res.skipped = "no Pixel Data"
        return res
    ts = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    lossy = ts in LOSSY_TS
    work = tempfile.mkdtemp(prefix="pixchk-")
    try:
        ref_err = None
        try:
            ref, ref_pi = reference_frames(ds)
            nframes = ref.shape[0]
        except Exception as e:  # noqa: BLE001
            ref_err = "%s: %s" % (type(e).__name__, first_line(str(e)))
        raw = os.path.join(work, "out.raw")
        png = os.path.join(work, "out.png")

        if ref_err is not None or name in EXCEPTIONS:
            # pacsd must refuse, cleanly.
            why = ("pydicom cannot decode it (%s)" % ref_err
                   if ref_err is not None else EXCEPTIONS[name])
            p1 = run_pacsd(args.pacsd, [path, "-o", raw, "--format", "raw"])
            p2 = run_pacsd(args.pacsd, [path, "-o", png])
            for kind, p in (("raw", p1), ("png", p2)):
                if crashed(p):
                    res.fail("%s: crashed (rc %d): %s" % (
                        kind, p.returncode, first_line(p.stderr)))
                elif p.returncode == 0:
                    if ref_err is None:
                        res.note("XPASS candidate: pacsd decodes it")
                    else:
                        res.fail("%s: pacsd exit 0 where %s" % (kind, why))
                elif not p.stderr.strip():
                    res.fail("%s: exit %d without a message" % (
                        kind, p.returncode))
            if ref_err is None and name in EXCEPTIONS and \
                    p1.returncode == 0 and not res.fails:
                # It decodes now: check it as any other file.
                res.notes.clear()
                res.note("XPASS: %s" % EXCEPTIONS[name])
            else:
                if not res.fails:
                    res.xfail = "%s; pacsd: %s" % (why, first_line(p1.stderr))
                return res

        bits = int(ds.BitsStored)
        unsigned32 = bits == 32 and int(ds.PixelRepresentation) == 0
        for fi in frames_to_check(nframes, args.max_frames):
            tag = "frame %d/%d" % (fi + 1, nframes)
            want = ref[fi]
            rows, cols, spp = want.shape
            # (a) decode
            p = run_pacsd(args.pacsd, [path, "-o", raw, "--format", "raw",
                                       "--frame", str(fi + 1)])
            got = None
            if crashed(p) or p.returncode != 0:
                res.fail("%s: raw: exit %d: %s" % (tag, p.returncode,
                                                  first_line(p.stderr)))
            else:
                data = open(raw, "rb").read()
                if len(data) != rows * cols * spp * 4:
                    res.fail("%s: raw: %d bytes, expected %dx%dx%dx4 = %d" % (
                        tag, len(data), rows, cols, spp, rows * cols * spp * 4))
                else:
                    got = np.frombuffer(data, dtype="<i4").astype(np.int64)
                    got = got.reshape(rows, cols, spp)
                    if unsigned32:
                        got &= 0xFFFFFFFF
                    diff = np.abs(got - want)
                    if lossy:
                        q = psnr(got, want, bits)
                        if q < PSNR_MIN:
                            res.fail("%s: decode PSNR %.1f dB < %.0f (max "
                                     "diff %d)" % (tag, q, PSNR_MIN,
                                                   int(diff.max())))
                    elif diff.max() > 0:
                        idx = np.unravel_index(int(np.argmax(diff)),
                                               diff.shape)
                        res.fail("%s: decode differs at %d pixels, max %d; "
                                 "first at row %d col %d sample %d: pacsd "
                                 "%d, pydicom %d" % (
                                     tag, int(np.count_nonzero(diff)),
                                     int(diff.max()), idx[0], idx[1], idx[2],
                                     int(got[idx]), int(want[idx])))
            # (b) render
            src = got if (lossy and got is not None) else want
            p = run_pacsd(args.pacsd, [path, "-o", png, "--frame",
                                       str(fi + 1)])
            if crashed(p) or p.returncode != 0:
                res.fail("%s: png: exit %d: %s" % (tag, p.returncode,
                                                  first_line(p.stderr)))
                continue
            try:
                img, _ = read_png(png)
            except Exception as e:  # noqa: BLE001
                res.fail("%s: png unreadable: %s" % (tag, e))
                continue
            try:
                exp = reference_render(ds, src, ref_pi)
            except Exception as e:  # noqa: BLE001
                res.fail("%s: reference render failed: %s: %s" % (
                    tag, type(e).__name__, e))
                continue
            compare_render(res, tag + ": png", img, exp)

        # (c) a frame past the end.
        p = run_pacsd(args.pacsd, [path, "-o", raw, "--format", "raw",
                                   "--frame", str(nframes + 1)])
        if crashed(p) or p.returncode == 0 or not p.stderr.strip():
            res.fail("--frame %d of %d frames: exit %d, stderr %r" % (
                nframes + 1, nframes, p.returncode, first_line(p.stderr)))

        if name in extras:
            check_options(args, res, ds, path, work, ref[0], ref_pi)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return res


def compare_render(res, tag, img, exp):
    if img.shape != exp.shape:
        res.fail("%s: image %s, expected %s" % (tag, "x".join(
            map(str, img.shape)), "x".join(map(str, exp.shape))))
        return
    diff = np.abs(img - exp)
    if diff.max() > 1:
        idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
        res.fail("%s: %d values differ by more than 1 grey level, max %d; "
                 "first at row %d col %d channel %d: pacsd %d, reference %d"
                 % (tag, int(np.count_nonzero(diff > 1)), int(diff.max()),
                    idx[0], idx[1], idx[2], int(img[idx]), int(exp[idx])))


def check_options(args, res, ds, path, work, frame, pi):
    """--window, --size and --format jpeg on one file."""
    png = os.path.join(work, "opt.png")
    jpg = os.path.join(work, "opt.jpg")
    rows, cols, spp = frame.shape
    if spp == 1 and pi != "PALETTE COLOR":
        m = apply_modality_lut(frame[..., 0], ds).astype(np.float64)
        c = float(np.percentile(m, 40))
        w = max(2.0, float(np.percentile(m, 90) - np.percentile(m, 10)))
        p = run_pacsd(args.pacsd, [path, "-o", png, "--window",
                                   "%g,%g" % (c, w)])
        if p.returncode != 0:
            res.fail("--window %g,%g: exit %d: %s" % (
                c, w, p.returncode, first_line(p.stderr)))
        else:
            img, _ = read_png(png)
            compare_render(res, "--window %g,%g" % (c, w), img,
                           reference_render(ds, frame, pi, window=(c, w)))
    # --size: fit inside, aspect kept (area averaging is not compared
    # pixel by pixel: resamplers differ in their weights).
    bw, bh = max(1, cols // 3), max(1, rows // 2)
    p = run_pacsd(args.pacsd, [path, "-o", png, "--size", "%dx%d" % (bw, bh)])
    if p.returncode != 0:
        res.fail("--size %dx%d: exit %d: %s" % (bw, bh, p.returncode,
                                                first_line(p.stderr)))
    else:
        _, im = read_png(png)
        s = min(bw / cols, bh / rows, 1.0)
        ew, eh = max(1, round(cols * s)), max(1, round(rows * s))
        if abs(im.width - ew) > 1 or abs(im.height - eh) > 1 or \
                im.width > bw or im.height > bh:
            res.fail("--size %dx%d of %dx%d: got %dx%d, expected about %dx%d"
                     % (bw, bh, cols, rows, im.width, im.height, ew, eh))
    p1 = run_pacsd(args.pacsd, [path, "-o", png])
    p2 = run_pacsd(args.pacsd, [path, "-o", jpg, "--format", "jpeg",
                                "--quality", "95"])
    if p1.returncode != 0 or p2.returncode != 0:
        res.fail("--format jpeg: exit %d: %s" % (p2.returncode,
                                                 first_line(p2.stderr)))
        return
    try:
        a, _ = read_png(png)
        with open(jpg, "rb") as f:
            magic = f.read(2)
        b, im = read_png(jpg)
        if magic != b"\xff\xd8" or im.format != "JPEG":
            res.fail("--format jpeg: output is not a JPEG file")
        elif a.shape != b.shape:
            res.fail("--format jpeg: %s, PNG %s" % (b.shape, a.shape))
        elif psnr(a, b, 8) < 30:
            res.fail("--format jpeg: PSNR %.1f dB against the PNG" %
                     psnr(a, b, 8))
    except Exception as e:  # noqa: BLE001
        res.fail("--format jpeg: unreadable: %s" % e)


# ---- corrupted codestreams --------------------------------------------------

def encapsulate(bot, fragments):
    """Item of the Basic Offset Table `bot` (kept: truncating the last
    fragment does not move the others), then the fragments (PS3.5 A.4)."""
    out = bytearray(b"\xfe\xff\x00\xe0" + struct.pack("<I", len(bot)) + bot)
    for f in fragments:
        if len(f) % 2:
            f = f + b"\0"
        out += b"\xfe\xff\x00\xe0" + struct.pack("<I", len(f)) + f
    return bytes(out)


def items_of(data):
    """The items of encapsulated Pixel Data (PS3.5 A.4): [BOT, frag...]."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        tag, n = struct.unpack_from("<II", data, pos)
        pos += 8
        if tag != 0xE000FFFE:  # (FFFE,E000) read as a little-endian u32
            break
        out.append(data[pos:pos + n])
        pos += n
    return out


def corrupt_variants(path, work):
    """(label, path) of damaged copies of an encapsulated file."""
    ds = pydicom.dcmread(path)
    items = items_of(ds.PixelData)
    bot, frags = items[0], items[1:]
    base = os.path.splitext(os.path.basename(path))[0]
    out = []
    last = frags[-1]
    trunc = frags[:-1] + [last[:len(last) // 2]]
    d = copy.deepcopy(ds)
    d.PixelData = encapsulate(bot, trunc)
    p = os.path.join(work, base + "_truncated.dcm")
    d.save_as(p)
    out.append(("truncated", p))
    rng = random.Random(base)  # reproducible
    flipped = []
    for f in frags:
        b = bytearray(f)
        # Past the first 64 bytes (headers mostly survive) flip 24 bytes.
        for _ in range(24):
            if len(b) > 80:
                i = rng.randrange(64, len(b) - 4)
                b[i] ^= 0xFF if rng.random() < 0.5 else (1 << rng.randrange(8))
        flipped.append(bytes(b))
    d = copy.deepcopy(ds)
    d.PixelData = encapsulate(bot, flipped)
    p = os.path.join(work, base + "_flipped.dcm")
    d.save_as(p)
    out.append(("flipped", p))
    return out


def check_corrupt(args, path):
    res = Result("corrupt:" + os.path.basename(path))
    work = tempfile.mkdtemp(prefix="pixcor-")
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        last = str(get_nr_frames(ds))  # the frame the truncation damages
        for label, p in corrupt_variants(path, work):
            for fmt in ("raw", "png"):
                r = run_pacsd(args.pacsd, [p, "-o", os.path.join(
                    work, "out." + fmt), "--format", fmt, "--frame", last])
                if crashed(r):
                    res.fail("%s %s: crashed (rc %d): %s" % (
                        label, fmt, r.returncode, first_line(r.stderr)))
                elif r.returncode != 0 and not r.stderr.strip():
                    res.fail("%s %s: exit %d without a message" % (
                        label, fmt, r.returncode))
                elif label == "truncated" and r.returncode == 0:
                    res.fail("%s %s: exit 0 on a truncated codestream" % (
                        label, fmt))
                elif r.returncode != 0:
                    res.note("%s %s: %s" % (label, fmt, first_line(r.stderr)))
                else:
                    res.note("%s %s: decoded (exit 0)" % (label, fmt))
    except Exception as e:  # noqa: BLE001
        res.fail("could not make the corrupted copies: %s" % e)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return res


def walk(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for n in sorted(names):
                    yield os.path.join(root, n)
        else:
            yield p


def pick_one_per_syntax(files):
    """One encapsulated file per transfer syntax (the first by name), for
    the corruption check, and one grey + one colour file for the option
    checks."""
    per_ts, extras = {}, set()
    for f in sorted(files, key=os.path.basename):
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
            ts = str(ds.file_meta.TransferSyntaxUID)
        except Exception:  # noqa: BLE001
            continue
        name = os.path.basename(f)
        if ts.startswith("1.2.840.10008.1.2.4") or ts == "1.2.840.10008.1.2.5":
            if name not in EXCEPTIONS:
                per_ts.setdefault(ts, f)
        if name in ("mono12u.dcm", "mono16s.dcm", "rgb8.dcm",
                    "rgb8_palette.dcm", "CT_small.dcm"):
            extras.add(name)
    return sorted(per_ts.values()), extras


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pacsd", required=True)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--max-frames", type=int, default=3)
    ap.add_argument("--no-corrupt", action="store_true")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()

    files = [f for f in walk(args.paths) if os.path.isfile(f)]
    corrupt, extras = pick_one_per_syntax(files)
    results = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        futs = [ex.submit(check_file, args, f, extras) for f in files]
        if not args.no_corrupt:
            futs += [ex.submit(check_corrupt, args, f) for f in corrupt]
        for fu in futs:
            results.append(fu.result())

    passed = failed = 0
    for r in results:
        if r.skipped is not None:
            if args.verbose:
                print("SKIP  %s: %s" % (r.name, r.skipped))
            continue
        if r.fails:
            failed += 1
            print("FAIL  %s" % r.name)
            for m in r.fails:
                print("      %s" % m)
        elif r.xfail is not None:
            passed += 1
            print("XFAIL %s: %s" % (r.name, r.xfail))
        else:
            passed += 1
            xpass = [n for n in r.notes if n.startswith("XPASS")]
            if xpass:
                print("XPASS %s: %s" % (r.name, xpass[0]))
            elif args.verbose:
                print("PASS  %s" % r.name)
        if args.verbose:
            for n in r.notes:
                if not n.startswith("XPASS"):
                    print("      %s" % n)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
