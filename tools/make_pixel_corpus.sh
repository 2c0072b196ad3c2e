#!/usr/bin/env bash
# make_pixel_corpus.sh OUTDIR - the image corpus of the pixel tests
# (tools/pixel_check.py, tests/integration/test_pixel.sh).
#
# OUTDIR/files/     every file with Pixel Data from pydicom's test_files and
#                   palettes, and the DICOM files Debian's nibabel ships
#                   (some gzipped), copied byte for byte;
# OUTDIR/orig/      uncompressed originals, made from those files by dcmconv
#                   or rewritten by pydicom when no real file has the
#                   property wanted (signed 12-bit, unsigned 16-bit using
#                   all bits, MONOCHROME1, VOI LUT and Modality LUT
#                   Sequences, YBR_FULL, planar RGB, a short multi-frame);
# OUTDIR/gen/       variants of the originals made by the reference encoders:
#                   dcmcrle (RLE), dcmcjpeg (lossless SV1 .70, process 14
#                   with each predictor .57, baseline .50, extended 12-bit
#                   .51), dcmcjpls (lossless .80, near-lossless .81),
#                   gdcmconv --j2k (.90) and --j2k --lossy (.91), dcmquant
#                   (PALETTE COLOR). Each name is ORIGINAL_VARIANT.dcm,
#                   e.g. mono12u_jpll57sv3.dcm, rgb8_jpeg50ybr422.dcm.
#
# Everything is regenerated from installed Debian packages (pydicom,
# nibabel, dcmtk, gdcm): nothing here is committed. A variant that an encoder
# refuses is reported on stderr and skipped. LIMIT_FRAMES (default 4) is
# the number of frames of the synthetic multi-frame original.
set -euo pipefail

out=${1:?usage: make_pixel_corpus.sh OUTDIR}
PY=/usr/bin/python3
mkdir -p "$out/files" "$out/orig" "$out/gen"
files=$out/files orig=$out/orig gen=$out/gen

if ! DATA=$("$PY" -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data"))'); then
	echo "make_pixel_corpus: pydicom is not installed for $PY (make deps)" >&2
	exit 1
fi
T=$DATA/test_files
for tool in dcmconv dcmcrle dcmcjpeg dcmcjpls dcmquant dcmdrle gdcmconv; do
	command -v "$tool" >/dev/null || { echo "make_pixel_corpus: $tool missing (make deps)" >&2; exit 1; }
done

# 1. Real files: everything with Pixel Data (even files pydicom cannot
# decode: the check then expects pacsd to refuse them with an error).
"$PY" - "$files" "$T" "$DATA/palettes" <<'EOF'
import os, shutil, sys, warnings
warnings.simplefilter("ignore")
import pydicom
out = sys.argv[1]
for d in sys.argv[2:]:
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        if not os.path.isfile(path):
            continue
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=False)
        except Exception:
            continue
        if "PixelData" in ds:
            shutil.copyfile(path, os.path.join(out, name))
EOF
# Named after their path: nibabel/nicom/tests/data/0.dcm is
# nibabel_nicom_tests_data_0.dcm.
while IFS= read -r f; do
	n=nibabel_$(tr / _ <<<"${f#*/nibabel/}")
	case "$f" in
	*.dcm.gz) gzip -dc "$f" >"$files/${n%.gz}" ;;
	*.dcm) cp "$f" "$files/$n" ;;
	esac
done < <(dpkg -L python3-nibabel 2>/dev/null | grep -E '\.dcm(\.gz)?$' || true)

# 2. Uncompressed originals, explicit VR little endian.
dcmconv -q +te "$T/image_dfl.dcm" "$orig/mono8.dcm"            # 512x512 8-bit
dcmconv -q +te "$files/nibabel_tests_data_0.dcm" "$orig/mono12u.dcm" # 256x256
dcmconv -q +te "$T/CT_small.dcm" "$orig/mono16s.dcm"           # rescale -1024
dcmconv -q +te "$T/SC_rgb_jpeg_dcmd.dcm" "$orig/rgbflat.dcm"   # 256x256 RGB, flat
dcmdrle -q "$T/SC_rgb_rle_2frame.dcm" "$orig/mfrgb8.dcm"       # 2 frames RGB
# A real 512x512 CT, 13-bit signed (its J2K codestream is unsigned: pydicom
# and gdcm correct that, the decompressed file is plain signed 13-bit).
gdcmconv --raw "$T/J2K_pixelrep_mismatch.dcm" "$orig/ct512.tmp.dcm"
dcmconv -q +te "$orig/ct512.tmp.dcm" "$orig/ct512s13.dcm"
rm -f "$orig/ct512.tmp.dcm"

"$PY" - "$orig" "$T" "$files" "${LIMIT_FRAMES:-4}" <<'EOF'
import os, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.pixel_data_handlers.util import convert_color_space
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

orig, T, files, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def save(ds, name):
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(os.path.join(orig, name), write_like_original=False)

def mono(src, arr, bits, signed, name, extra=None):
    ds = pydicom.dcmread(src)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits, bits - 1
    ds.PixelRepresentation = 1 if signed else 0
    arr = arr.astype(np.int16 if signed else np.uint16)
    ds.PixelData = arr.tobytes()
    ds["PixelData"].VR = "OW"
    if extra:
        extra(ds)
    save(ds, name)

mr = pydicom.dcmread(os.path.join(T, "MR_small.dcm")).pixel_array.astype(np.int64)
ct = pydicom.dcmread(os.path.join(T, "CT_small.dcm")).pixel_array.astype(np.int64)

# Unsigned 16-bit using the top bits too (MR values x 16), windowed.
def win16(ds):
    ds.WindowCenter, ds.WindowWidth = 20000, 40000
mono(os.path.join(T, "MR_small.dcm"), np.clip(mr * 16, 0, 65535), 16, False,
     "mono16u.dcm", win16)
# Signed 12-bit stored in 16 (sign-extended), from CT values.
def ct_window(ds):
    ds.WindowCenter, ds.WindowWidth = 40, 400
mono(os.path.join(T, "CT_small.dcm"), np.clip(ct - 1024, -2048, 2047), 12, True,
     "mono12s.dcm", ct_window)
# MONOCHROME1 (inverted display), 12-bit, window from the file.
def m1(ds):
    ds.PhotometricInterpretation = "MONOCHROME1"
src0 = os.path.join(orig, "mono12u.dcm")
a0 = pydicom.dcmread(src0).pixel_array
mono(src0, a0, 12, False, "mono12u_m1.dcm", m1)
# No window at all: min..max of the modality values.
def nowin(ds):
    for k in ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation"):
        if k in ds:
            delattr(ds, k)
mono(src0, a0, 12, False, "mono12u_nowin.dcm", nowin)
# VOI LUT Sequence instead of a window (PS3.3 C.11.2): a 12-bit gamma curve.
def voilut(ds):
    nowin(ds)
    item = Dataset()
    first, n = 0, 4096
    item.LUTDescriptor = [n, first, 16]
    x = np.arange(n) / (n - 1)
    item.LUTData = [int(v) for v in np.round(65535 * x ** 0.5)]
    item["LUTDescriptor"].VR = "US"
    item["LUTData"].VR = "US"
    item.LUTExplanation = "gamma 0.5"
    ds.VOILUTSequence = Sequence([item])
mono(src0, a0, 12, False, "mono12u_voilut.dcm", voilut)
# Modality LUT Sequence (PS3.3 C.11.1): 12-bit in, 16-bit entries
# (C.11.1.1.1 allows 8 or 16) holding 12-bit values, then a window.
def modlut(ds):
    item = Dataset()
    n = 4096
    item.LUTDescriptor = [n, 0, 16]
    item["LUTDescriptor"].VR = "US"
    item.LUTData = [int(v) for v in (4095 - np.arange(n)) // 2 + 100]
    item["LUTData"].VR = "US"
    item.ModalityLUTType = "US"
    ds.ModalityLUTSequence = Sequence([item])
    for k in ("RescaleSlope", "RescaleIntercept", "RescaleType"):
        if k in ds:
            delattr(ds, k)
    ds.WindowCenter, ds.WindowWidth = 1500, 1000
mono(src0, a0, 12, False, "mono12u_modlut.dcm", modlut)
# Rescale slope/intercept with a window in modality units.
def rescale(ds):
    ds.RescaleSlope, ds.RescaleIntercept = "0.5", "-100"
    ds.WindowCenter, ds.WindowWidth = 150, 500
mono(src0, a0, 12, False, "mono12u_rescale.dcm", rescale)

# A textured 256x256 RGB image: the RGB test files that ship are flat
# patterns (SC_rgb_jpeg_dcmd.dcm has a standard deviation of 0.9), which
# would hide colour conversion and subsampling errors. Red is the CT,
# green a noisy ramp, blue a sine pattern; the corners are saturated
# primaries (the YBR -> RGB clamps).
ds = pydicom.dcmread(os.path.join(orig, "rgbflat.dcm"))
rng = np.random.default_rng(1)
y, x = np.mgrid[0:256, 0:256]
ct2 = np.kron(ct, np.ones((2, 2)))
r = (ct2 - ct2.min()) / (ct2.max() - ct2.min()) * 255
g = (x + y) / 2 + rng.normal(0, 8, x.shape)
b = 128 + 127 * np.sin(x / 9.0) * np.cos(y / 13.0)
rgb = np.clip(np.round(np.stack([r, g, b], axis=-1)), 0, 255).astype(np.uint8)
for (ys, xs), c in (((slice(0, 24), slice(0, 24)), (255, 0, 0)),
                    ((slice(0, 24), slice(232, 256)), (0, 255, 0)),
                    ((slice(232, 256), slice(0, 24)), (0, 0, 255)),
                    ((slice(232, 256), slice(232, 256)), (255, 255, 0))):
    rgb[ys, xs] = c
ds.PixelData = rgb.tobytes()
save(ds, "rgb8.dcm")

# YBR_FULL native, from the RGB original (PS3.3 C.7.6.3.1.2).
ds = pydicom.dcmread(os.path.join(orig, "rgb8.dcm"))
ybr = convert_color_space(ds.pixel_array, "RGB", "YBR_FULL")
ds.PhotometricInterpretation = "YBR_FULL"
ds.PixelData = ybr.astype(np.uint8).tobytes()
save(ds, "ybrfull8.dcm")
# Planar Configuration 1 RGB (R plane, G plane, B plane).
ds = pydicom.dcmread(os.path.join(orig, "rgb8.dcm"))
ds.PlanarConfiguration = 1
ds.PixelData = np.ascontiguousarray(ds.pixel_array.transpose(2, 0, 1)).tobytes()
save(ds, "rgb8planar.dcm")

# A 4-frame 12-bit unsigned image, each frame different (the CT shifted
# and offset), so that decoding the wrong frame shows. (The multi-frame
# Philips file nibabel ships has all-zero pixels.)
ds = pydicom.dcmread(os.path.join(T, "CT_small.dcm"))
frames = [np.clip(np.roll(ct, 9 * k, axis=1) + 150 * k - 100, 0, 4095)
          for k in range(limit)]
ds.NumberOfFrames = limit
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
ds.PixelData = np.stack(frames).astype(np.uint16).tobytes()
ds["PixelData"].VR = "OW"
ds.WindowCenter, ds.WindowWidth = 1200, 2000
for k in ("RescaleSlope", "RescaleIntercept", "RescaleType"):
    if k in ds:
        delattr(ds, k)
save(ds, "mfmono12.dcm")
EOF

# 3. Variants. `v ORIG NAME TOOL ARGS...` makes gen/ORIG_NAME.dcm from
# orig/ORIG.dcm; an encoder that refuses is reported and skipped.
v() {
	local src=$1 name=$2 tool=$3
	shift 3
	local o=$gen/${src}_$name.dcm
	case "$tool" in
	gdcmconv) "$tool" "$@" "$orig/$src.dcm" "$o" >/dev/null 2>&1 ;;
	*) "$tool" -q "$@" "$orig/$src.dcm" "$o" ;;
	esac || { echo "make_pixel_corpus: $tool $* refused $src (skipped)" >&2; rm -f "$o"; }
}

mono_all="mono8 mono12u mono16s mono16u mono12s mfmono12 mono12u_m1"
colour="rgb8 rgb8planar mfrgb8 ybrfull8"
unsigned="mono8 mono12u mono16u mfmono12 rgb8 mfrgb8"

for s in $mono_all $colour ct512s13 rgbflat; do
	[ -f "$orig/$s.dcm" ] || continue
	v "$s" rle dcmcrle
	v "$s" jpll70 dcmcjpeg +e1
	v "$s" jpls80 dcmcjpls +el
	v "$s" j2k90 gdcmconv --j2k
done
# Process 14 with every predictor on one image, one predictor on others.
for sv in 1 2 3 4 5 6 7; do
	v mono12u "jpll57sv$sv" dcmcjpeg +el +sv "$sv"
done
v mono16s jpll57sv7 dcmcjpeg +el +sv 7
v mono16u jpll57sv5 dcmcjpeg +el +sv 5
v mono12s jpll57sv4 dcmcjpeg +el +sv 4
v rgb8 jpll57sv2 dcmcjpeg +el +sv 2
v mfmono12 jpll57sv6 dcmcjpeg +el +sv 6
# Baseline (8-bit only): grey, and colour as YBR_FULL_422 (the default),
# YBR_FULL 4:4:4 and RGB without colour transform.
v mono8 jpeg50 dcmcjpeg +eb
v rgb8 jpeg50ybr422 dcmcjpeg +eb
v rgb8 jpeg50ybr444 dcmcjpeg +eb +s4
v rgb8 jpeg50rgb dcmcjpeg +eb +cr
v mfrgb8 jpeg50ybr422 dcmcjpeg +eb
v mono8 jpeg50q50 dcmcjpeg +eb +q 50
# Extended, 12-bit (process 4).
v mono12u jpeg51 dcmcjpeg +ee
# JPEG-LS near-lossless (NEAR=2 and 5), unsigned images.
for s in $unsigned; do
	[ -f "$orig/$s.dcm" ] || continue
	v "$s" jpls81near2 dcmcjpls +en +md 2
done
v mono12u jpls81near5 dcmcjpls +en +md 5
v rgb8 jpls80sample dcmcjpls +el +is
v rgb8 jpls80none dcmcjpls +el +in
# JPEG 2000 irreversible.
for s in mono8 mono12u mono16s rgb8 mfmono12 ct512s13; do
	[ -f "$orig/$s.dcm" ] || continue
	v "$s" j2k91 gdcmconv --j2k --lossy
done
# PALETTE COLOR from the RGB image (8-bit and 16-bit LUT entries), and its
# RLE form.
v rgb8 palette dcmquant
v rgb8 palette16 dcmquant +pe
v rgb8 palette64 dcmquant +pc 64
if [ -f "$gen/rgb8_palette.dcm" ]; then
	dcmcrle -q "$gen/rgb8_palette.dcm" "$gen/rgb8_palette_rle.dcm" ||
		echo "make_pixel_corpus: dcmcrle refused the palette image (skipped)" >&2
fi
# Natively encoded originals are part of the corpus too.
cp "$orig"/*.dcm "$gen/"
echo "make_pixel_corpus: $(find "$files" -type f | wc -l) files copied, $(find "$gen" -type f | wc -l) made in $out" >&2
