/*
 * color.c - YCbCr to RGB (PS3.3 C.7.6.3.1.2).
 *
 * YBR_FULL and YBR_FULL_422 (already expanded to three samples per pixel)
 * use the full-range equations of JPEG File Interchange Format (ITU-T
 * T.871 section 7), the same as pydicom's convert_color_space(arr,
 * 'YBR_FULL', 'RGB'):
 *   R = Y                        + 1.402    (Cr - 128)
 *   G = Y - 0.344136 (Cb - 128)  - 0.714136 (Cr - 128)
 *   B = Y + 1.772    (Cb - 128)
 * YBR_PARTIAL_422 / 420 are ITU-R BT.601 studio range (Y 16..235, Cb and
 * Cr 16..240), the inverse of the matrix PS3.3 gives for them:
 *   R = 1.164384 (Y - 16)                        + 1.596027 (Cr - 128)
 *   G = 1.164384 (Y - 16) - 0.391762 (Cb - 128)  - 0.812968 (Cr - 128)
 *   B = 1.164384 (Y - 16) + 2.017232 (Cb - 128)
 * For other precisions the offsets scale with the sample range (128 becomes
 * 2^(bits - 1)). Results are rounded half up and clamped to the range.
 *
 * 8-bit frames (all real ones) go through per-frame tables indexed by the
 * sample, so a pixel costs a few loads and adds. The arithmetic is single
 * precision in the order numpy's float32 matmul uses, which makes the
 * result identical to pydicom's for every one of the 2^24 YCbCr inputs
 * (checked exhaustively when this was written; test_pixel.c pins a sample
 * of pydicom's values). The tables hold single products and the pixel
 * loop only adds, so no compiler can fuse a multiply-add and change the
 * rounding.
 */
#include "pixel_int.h"

#include <math.h>

struct ybr_coef {
	float ky;            /* Y gain */
	float y0;            /* Y offset at 8 bits (0 or 16) */
	float rcr, gcb, gcr, bcb;
};

/* Coefficients written as pydicom writes them so that the float32
 * products round the same way. */
static const struct ybr_coef full = {
	1.0f, 0.0f, 1.402f, (float)(-0.114 * 1.772 / 0.587),
	(float)(-0.299 * 1.402 / 0.587), 1.772f,
};
static const struct ybr_coef partial = {
	(float)(255.0 / 219.0), 16.0f, (float)(255.0 / 224.0 * 1.402),
	(float)(-255.0 / 224.0 * 0.114 * 1.772 / 0.587),
	(float)(-255.0 / 224.0 * 0.299 * 1.402 / 0.587),
	(float)(255.0 / 224.0 * 1.772),
};

/* floor(v + 0.5), round half up as pydicom does, clamped to 0..255. The
 * sum v + 0.5 is made in single precision like numpy's. Clamping first in
 * float makes truncation a floor: a negative sum ends up 0 either way, and
 * anything from 255 up is 255. */
static inline int32_t round8(float v)
{
	float t = v + 0.5f;

	t = t < 0.0f ? 0.0f : t;
	t = t > 255.0f ? 255.0f : t;
	return (int32_t)t;
}

static void convert8(struct pix_frame *f, const struct ybr_coef *k)
{
	float ty[256], tr[256], tgb[256], tgr[256], tb[256];
	size_t n = (size_t)f->rows * f->cols;
	int32_t *p = f->data;

	for (int i = 0; i < 256; i++) {
		float c = (float)i - 128.0f;

		ty[i] = ((float)i - k->y0) * k->ky;
		tr[i] = c * k->rcr;
		tgb[i] = c * k->gcb;
		tgr[i] = c * k->gcr;
		tb[i] = c * k->bcb;
	}
	for (size_t i = 0; i < n; i++, p += 3) {
		/* Samples were masked to 8 bits by the decoder; the mask
		 * here only guards the table index. */
		float y = ty[p[0] & 0xFF];
		int cb = p[1] & 0xFF, cr = p[2] & 0xFF;

		p[0] = round8(y + tr[cr]);
		p[1] = round8(y + tgb[cb] + tgr[cr]);
		p[2] = round8(y + tb[cb]);
	}
}

static void convert_any(struct pix_frame *f, const struct ybr_coef *k)
{
	unsigned bits = f->bits_stored;
	double scale = ldexp(1.0, (int)bits - 8);
	double half = ldexp(1.0, (int)bits - 1);
	double max = ldexp(1.0, (int)bits) - 1.0;
	double y0 = k->y0 * scale;
	size_t n = (size_t)f->rows * f->cols;
	int32_t *p = f->data;

	for (size_t i = 0; i < n; i++, p += 3) {
		double y = ((double)p[0] - y0) * k->ky;
		double cb = (double)p[1] - half, cr = (double)p[2] - half;
		double rgb[3] = {
			y + k->rcr * cr,
			y + k->gcb * cb + k->gcr * cr,
			y + k->bcb * cb,
		};

		for (int c = 0; c < 3; c++) {
			double v = floor(rgb[c] + 0.5);

			p[c] = v < 0.0 ? 0 : v > max ? (int32_t)max : (int32_t)v;
		}
	}
}

void pix__ybr_to_rgb(struct pix_frame *f)
{
	const struct ybr_coef *k;

	switch (f->photometric) {
	case PIX_YBR_FULL:
	case PIX_YBR_FULL_422:
		k = &full;
		break;
	case PIX_YBR_PARTIAL_422:
	case PIX_YBR_PARTIAL_420:
		k = &partial;
		break;
	default:
		return;
	}
	if (f->samples != 3 || f->data == NULL)
		return;
	/* Signed YCbCr is not a thing (PS3.3 C.7.6.3.1.2 defines unsigned
	 * ranges only); such frames are converted as their bit patterns. A
	 * precision outside 2..31 bits is left alone. */
	if (f->bits_stored == 8)
		convert8(f, k);
	else if (f->bits_stored >= 2 && f->bits_stored <= 31)
		convert_any(f, k);
	else
		return;
	f->photometric = PIX_RGB;
	f->is_signed = false;
}
