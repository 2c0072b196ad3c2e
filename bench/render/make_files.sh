#!/usr/bin/env bash
# bench/render/make_files.sh OUTDIR - the test images of bench/render, one
# per transfer syntax, made from pydicom's test files by dcmtk and gdcm
# (never committed; remade when missing):
#
#   ct16.dcm           native, 512x512 CT, 16 bits allocated, signed, with a
#                      window (J2K_pixelrep_mismatch.dcm decompressed by
#                      gdcm: a real CT slice, about 3.9:1 in JPEG-LS; the
#                      other 512x512 CT, 693_J2KI.dcm, was so lossily
#                      compressed that it is too smooth to measure codecs)
#   rgb8.dcm           native, 512x512 RGB, 8 bits: that CT slice through
#                      pydicom's HOT_IRON palette (no real colour image
#                      larger than 400x400 ships with Debian's pydicom, and
#                      those are flat test patterns)
#   ct16_rle.dcm       RLE Lossless (dcmcrle)
#   rgb8_jpeg50.dcm    JPEG baseline, YBR_FULL_422 (dcmcjpeg +eb)
#   grey8_jpeg50.dcm   JPEG baseline, grey 512x512 (image_dfl.dcm, +eb)
#   ct16_jpll70.dcm    JPEG lossless SV1 (dcmcjpeg +e1)
#   ct16_jpls80.dcm    JPEG-LS lossless (dcmcjpls)
#   ct16_j2k90.dcm     JPEG 2000 lossless (gdcmconv --j2k)
set -euo pipefail

out=${1:?usage: make_files.sh OUTDIR}
PY=/usr/bin/python3
mkdir -p "$out"
T=$("$PY" -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))')

[ -f "$out/ct16.dcm" ] || {
	gdcmconv --raw "$T/J2K_pixelrep_mismatch.dcm" "$out/ct16.tmp.dcm"
	dcmconv -q +te "$out/ct16.tmp.dcm" "$out/ct16.dcm"
	rm -f "$out/ct16.tmp.dcm"
}
[ -f "$out/rgb8.dcm" ] || "$PY" - "$out/ct16.dcm" "$out/rgb8.dcm" <<'EOF'
import sys
import warnings
warnings.simplefilter("ignore")
import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_color_lut
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
ds = pydicom.dcmread(sys.argv[1])
a = ds.pixel_array.astype(np.float64)
a = np.round((a - a.min()) / (a.max() - a.min()) * 255).astype(np.uint8)
rgb = apply_color_lut(a, palette="HOT_IRON")
if rgb.dtype != np.uint8:
    rgb = (rgb >> 8).astype(np.uint8)
for k in ("WindowCenter", "WindowWidth", "RescaleSlope", "RescaleIntercept",
          "RescaleType", "PixelPaddingValue", "WindowCenterWidthExplanation"):
    if k in ds:
        delattr(ds, k)
ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
ds.PixelData = np.ascontiguousarray(rgb[..., :3]).tobytes()
ds["PixelData"].VR = "OB"
ds.SOPClassUID = SecondaryCaptureImageStorage
ds.SOPInstanceUID = generate_uid()
ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds.is_little_endian, ds.is_implicit_VR = True, False
ds.save_as(sys.argv[2], write_like_original=False)
EOF
[ -f "$out/grey8.dcm" ] || dcmconv -q +te "$T/image_dfl.dcm" "$out/grey8.dcm"
[ -f "$out/ct16_rle.dcm" ] || dcmcrle -q "$out/ct16.dcm" "$out/ct16_rle.dcm"
[ -f "$out/rgb8_jpeg50.dcm" ] || dcmcjpeg -q +eb "$out/rgb8.dcm" "$out/rgb8_jpeg50.dcm"
[ -f "$out/grey8_jpeg50.dcm" ] || dcmcjpeg -q +eb "$out/grey8.dcm" "$out/grey8_jpeg50.dcm"
[ -f "$out/ct16_jpll70.dcm" ] || dcmcjpeg -q +e1 "$out/ct16.dcm" "$out/ct16_jpll70.dcm"
[ -f "$out/ct16_jpls80.dcm" ] || dcmcjpls -q +el "$out/ct16.dcm" "$out/ct16_jpls80.dcm"
[ -f "$out/ct16_j2k90.dcm" ] || gdcmconv --j2k "$out/ct16.dcm" "$out/ct16_j2k90.dcm"
exit 0
