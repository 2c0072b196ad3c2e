/*
 * render.c - a decoded frame to an 8-bit image for display: the grey-scale
 * pipeline of PS3.4 N.2.1.1 (Modality LUT, VOI LUT, Presentation), palette
 * colour expansion, RGB scaling, and area-averaged shrinking.
 *
 * Grey output, for a stored value x (the reference other tests match):
 *   m = Modality LUT(x)            lut_int.h pix__modality_apply
 *   f = VOI(m) in 0..1              lut.c pix__voi_apply
 *   y = floor(f * 255 + 0.5)        then 255 - y for MONOCHROME1
 * where VOI(m) with no window and no VOI LUT is (m - min) / (max - min)
 * over the frame's own modality values.
 *
 * Speed: this is the render hot path. When the frame's stored values span
 * at most 65536 values (every Bits Stored <= 16 image) or no more than its
 * pixel count, the whole chain is computed once per possible value into
 * one uint8_t table and each pixel is a single lookup; wider ranges fall
 * back to computing each pixel in double.
 */
#include "lut_int.h"

#include <math.h>
#include <string.h>

#define FAST_TABLE_MIN 65536u

static uint8_t to_byte(double f)
{
	double y = floor(f * 255 + 0.5);

	if (!(y > 0))
		return 0;
	return y >= 255 ? 255 : (uint8_t)y;
}

static enum pc_status alloc_image(struct pix_image *img, uint32_t w, uint32_t h,
				  uint16_t channels, struct pc_err *err)
{
	size_t n;

	img->w = w;
	img->h = h;
	img->channels = channels;
	img->data = NULL;
	if (!pc_mul_ok((size_t)w * h, channels, &n))
		return pc_err_set(err, PC_LIMIT, 0, "image of %ux%u too large",
				  w, h);
	img->data = pc_malloc(n ? n : 1);
	if (img->data == NULL)
		return pc_err_set(err, PC_NOMEM, 0,
				  "out of memory for a %ux%u image", w, h);
	return PC_OK;
}

/* ---- grey ---------------------------------------------------------------- */

/* Smallest and largest sample of a grey frame (as pix__sample reads them). */
static void sample_range(const struct pix_frame *f, size_t n, int64_t *lo,
			 int64_t *hi)
{
	const int32_t *px = f->data;

	if (pix__frame_u32(f)) {
		uint32_t mn = UINT32_MAX, mx = 0;

		for (size_t i = 0; i < n; i++) {
			uint32_t u = (uint32_t)px[i];

			mn = u < mn ? u : mn;
			mx = u > mx ? u : mx;
		}
		*lo = mn;
		*hi = mx;
		return;
	}
	int32_t mn = INT32_MAX, mx = INT32_MIN;

	for (size_t i = 0; i < n; i++) {
		mn = px[i] < mn ? px[i] : mn;
		mx = px[i] > mx ? px[i] : mx;
	}
	*lo = mn;
	*hi = mx;
}

static enum pc_status render_grey(const dcm_dataset *ds,
				  const struct pix_frame *f, uint32_t frame,
				  const struct pix_render_opts *o,
				  struct pix_image *img, struct pc_err *err)
{
	struct pix__modality m;
	struct pix__voi v;
	size_t n = (size_t)f->rows * f->cols;
	const int32_t *px = f->data;
	int64_t smin, smax;
	double mlo, mhi;
	bool invert = f->photometric == PIX_MONOCHROME1;
	uint8_t *table = NULL;
	uint64_t span;
	enum pc_status st;

	sample_range(f, n, &smin, &smax);
	st = pix__modality_init(&m, ds, frame, f->is_signed, err);
	if (st != PC_OK)
		return st;
	pix__modality_range(&m, smin, smax, &mlo, &mhi);
	st = pix__voi_init(&v, ds, frame, o, mlo, mhi, err);
	if (st != PC_OK)
		goto cleanup;
	if (v.kind == PIX__VOI_NONE) {
		/* No VOI in the data set: the frame's own range, the way
		 * dcm2pnm +Wm and most viewers show such images. With a
		 * Modality LUT the range is that of the values present. */
		v.kind = PIX__VOI_MINMAX;
		v.lo = mlo;
		v.hi = mhi;
		if (m.has_lut) {
			v.lo = INFINITY;
			v.hi = -INFINITY;
			for (size_t i = 0; i < n; i++) {
				double y = pix__modality_apply(
				    &m, (double)pix__sample(f, px[i]));

				v.lo = y < v.lo ? y : v.lo;
				v.hi = y > v.hi ? y : v.hi;
			}
		}
	}
	st = alloc_image(img, f->cols, f->rows, 1, err);
	if (st != PC_OK)
		goto cleanup;
	span = (uint64_t)(smax - smin) + 1;
	if (span <= FAST_TABLE_MIN || span <= n) {
		/* One table over every value present: modality, VOI and
		 * presentation fused; then one lookup per pixel. */
		table = pc_malloc((size_t)span);
		if (table == NULL) {
			st = pc_err_set(err, PC_NOMEM, 0,
					"out of memory for a display LUT");
			goto cleanup;
		}
		for (uint64_t k = 0; k < span; k++) {
			double x = (double)(smin + (int64_t)k);
			uint8_t y = to_byte(
			    pix__voi_apply(&v, pix__modality_apply(&m, x)));

			table[k] = invert ? (uint8_t)(255 - y) : y;
		}
		if (pix__frame_u32(f)) {
			uint32_t base = (uint32_t)smin;

			for (size_t i = 0; i < n; i++)
				img->data[i] = table[(uint32_t)px[i] - base];
		} else {
			int32_t base = (int32_t)smin;

			for (size_t i = 0; i < n; i++)
				img->data[i] =
				    table[(uint32_t)px[i] - (uint32_t)base];
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			double x = (double)pix__sample(f, px[i]);
			uint8_t y = to_byte(
			    pix__voi_apply(&v, pix__modality_apply(&m, x)));

			img->data[i] = invert ? (uint8_t)(255 - y) : y;
		}
	}
cleanup:
	pc_free(table);
	pix__voi_cleanup(&v);
	pix__modality_cleanup(&m);
	if (st != PC_OK)
		pix_image_cleanup(img);
	return st;
}

/* ---- colour -------------------------------------------------------------- */

static enum pc_status render_rgb(const struct pix_frame *f,
				 struct pix_image *img, struct pc_err *err)
{
	size_t n = (size_t)f->rows * f->cols * 3;
	unsigned shift = f->bits_stored > 8 ? f->bits_stored - 8u : 0;
	enum pc_status st;

	st = alloc_image(img, f->cols, f->rows, 3, err);
	if (st != PC_OK)
		return st;
	for (size_t i = 0; i < n; i++) {
		int64_t y = pix__sample(f, f->data[i]);

		y = y < 0 ? 0 : y >> shift;
		img->data[i] = (uint8_t)(y > 255 ? 255 : y);
	}
	return PC_OK;
}

static enum pc_status render_palette(const dcm_dataset *ds,
				     const struct pix_frame *f,
				     struct pix_image *img, struct pc_err *err)
{
	struct pix__palette p;
	size_t n = (size_t)f->rows * f->cols;
	enum pc_status st;

	st = pix__palette_init(&p, ds, f->is_signed, err);
	if (st != PC_OK)
		return st;
	st = alloc_image(img, f->cols, f->rows, 3, err);
	if (st != PC_OK)
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < 3; c++) {
			/* PS3.3 C.7.6.3.1.5: indices below the first mapped
			 * value take the first entry, above the last the
			 * last. */
			int64_t k = (int64_t)f->data[i] - p.first[c];

			k = k < 0 ? 0 : k >= p.n[c] ? p.n[c] - 1 : k;
			img->data[3 * i + (size_t)c] = p.rgb[c][k];
		}
	}
cleanup:
	pix__palette_cleanup(&p);
	return st;
}

/* ---- resizing ------------------------------------------------------------ */

/* The largest size within max_w x max_h with the aspect of w x h, never
 * larger than w x h (0 = no bound on that side). */
static void fit_size(uint32_t w, uint32_t h, uint32_t max_w, uint32_t max_h,
		     uint32_t *ow, uint32_t *oh)
{
	double s = 1;

	if (max_w != 0 && w > max_w)
		s = (double)max_w / w;
	if (max_h != 0 && h > max_h && (double)max_h / h < s)
		s = (double)max_h / h;
	*ow = w;
	*oh = h;
	if (s >= 1)
		return;
	*ow = (uint32_t)floor(w * s + 0.5);
	*oh = (uint32_t)floor(h * s + 0.5);
	if (max_w != 0 && *ow > max_w)
		*ow = max_w;
	if (max_h != 0 && *oh > max_h)
		*oh = max_h;
	*ow = *ow ? *ow : 1;
	*oh = *oh ? *oh : 1;
}

/*
 * The source samples covering each output sample along one axis: output i
 * covers [i*r, (i+1)*r) of the input (r = in/out >= 1); each input sample
 * weighs its overlap with that interval divided by r (box filter with
 * fractional coverage).
 */
struct axis {
	uint32_t *start; /* first input index of output i */
	uint32_t *count; /* inputs contributing */
	float *weight;   /* count[i] weights from woff[i] */
	size_t *woff;
};

static void axis_cleanup(struct axis *a)
{
	pc_free(a->start);
	pc_free(a->count);
	pc_free(a->weight);
	pc_free(a->woff);
	memset(a, 0, sizeof(*a));
}

static enum pc_status axis_init(struct axis *a, uint32_t in, uint32_t out,
				struct pc_err *err)
{
	double r = (double)in / out;
	size_t max_w = (size_t)out * ((size_t)ceil(r) + 2), k = 0;

	memset(a, 0, sizeof(*a));
	a->start = pc_malloc(sizeof(uint32_t) * out);
	a->count = pc_malloc(sizeof(uint32_t) * out);
	a->woff = pc_malloc(sizeof(size_t) * out);
	a->weight = pc_malloc(sizeof(float) * max_w);
	if (a->start == NULL || a->count == NULL || a->woff == NULL ||
	    a->weight == NULL) {
		axis_cleanup(a);
		return pc_err_set(err, PC_NOMEM, 0,
				  "out of memory for resizing");
	}
	for (uint32_t i = 0; i < out; i++) {
		double lo = i * r, hi = (i + 1) * r;
		uint32_t j0 = (uint32_t)floor(lo);
		uint32_t j1 = (uint32_t)ceil(hi);

		if (j1 > in)
			j1 = in;
		if (j0 >= j1)
			j0 = j1 - 1;
		a->start[i] = j0;
		a->count[i] = j1 - j0;
		a->woff[i] = k;
		for (uint32_t j = j0; j < j1; j++) {
			double l = j > lo ? j : lo, h = j + 1 < hi ? j + 1 : hi;

			a->weight[k++] = (float)((h > l ? h - l : 0) / r);
		}
	}
	return PC_OK;
}

static enum pc_status resize(const struct pix_image *in, uint32_t w, uint32_t h,
			     struct pix_image *out, struct pc_err *err)
{
	struct axis ax = {0}, ay = {0};
	float *tmp = NULL;
	uint16_t ch = in->channels;
	size_t row = (size_t)w * ch;
	enum pc_status st;

	st = alloc_image(out, w, h, ch, err);
	if (st == PC_OK)
		st = axis_init(&ax, in->w, w, err);
	if (st == PC_OK)
		st = axis_init(&ay, in->h, h, err);
	if (st != PC_OK)
		goto cleanup;
	tmp = pc_malloc(sizeof(float) * row * in->h);
	if (tmp == NULL) {
		st = pc_err_set(err, PC_NOMEM, 0, "out of memory for resizing");
		goto cleanup;
	}
	/* Horizontal pass: every input row shrunk to w samples. */
	for (uint32_t y = 0; y < in->h; y++) {
		const uint8_t *src = in->data + (size_t)y * in->w * ch;
		float *dst = tmp + (size_t)y * row;

		for (uint32_t x = 0; x < w; x++) {
			const float *wt = ax.weight + ax.woff[x];

			for (uint16_t c = 0; c < ch; c++) {
				const uint8_t *s =
				    src + (size_t)ax.start[x] * ch + c;
				float acc = 0;

				for (uint32_t k = 0; k < ax.count[x]; k++)
					acc += wt[k] * s[(size_t)k * ch];
				dst[(size_t)x * ch + c] = acc;
			}
		}
	}
	/* Vertical pass. */
	for (uint32_t y = 0; y < h; y++) {
		const float *wt = ay.weight + ay.woff[y];
		uint8_t *dst = out->data + (size_t)y * row;

		for (size_t i = 0; i < row; i++) {
			float acc = 0;

			for (uint32_t k = 0; k < ay.count[y]; k++)
				acc += wt[k] *
				       tmp[(size_t)(ay.start[y] + k) * row + i];
			acc = floorf(acc + 0.5f);
			dst[i] = (uint8_t)(acc < 0 ? 0 : acc > 255 ? 255 : acc);
		}
	}
cleanup:
	pc_free(tmp);
	axis_cleanup(&ax);
	axis_cleanup(&ay);
	if (st != PC_OK)
		pix_image_cleanup(out);
	return st;
}

/* ---- public -------------------------------------------------------------- */

enum pc_status pix_render_image(const dcm_dataset *ds, const struct pix_desc *d,
				const struct pix_frame *f,
				const struct pix_render_opts *o,
				struct pix_image *out, struct pc_err *err)
{
	struct pix_image full = {0};
	uint32_t frame = o != NULL ? o->frame : 0;
	uint32_t w, h;
	enum pc_status st;

	(void)d; /* everything needed travels with the frame */
	memset(out, 0, sizeof(*out));
	if (f == NULL || f->data == NULL || f->rows == 0 || f->cols == 0 ||
	    (f->samples != 1 && f->samples != 3))
		return pc_err_set(err, PC_INVAL, 0, "no decoded frame");
	if (f->samples == 3)
		st = render_rgb(f, &full, err);
	else if (f->photometric == PIX_PALETTE_COLOR)
		st = render_palette(ds, f, &full, err);
	else
		st = render_grey(ds, f, frame, o, &full, err);
	if (st != PC_OK)
		return st;
	fit_size(full.w, full.h, o != NULL ? o->max_w : 0,
		 o != NULL ? o->max_h : 0, &w, &h);
	if (w == full.w && h == full.h) {
		*out = full;
		return PC_OK;
	}
	st = resize(&full, w, h, out, err);
	pix_image_cleanup(&full);
	return st;
}

enum pc_status pix_render(const dcm_dataset *ds, const struct dcm_ts *ts,
			  const struct pix_render_opts *o, struct pc_buf *out,
			  struct pc_err *err)
{
	static const struct pix_render_opts defaults = {0};
	struct pix_desc d;
	struct pix_frame f = {0};
	struct pix_image img = {0};
	enum pc_status st;

	if (o == NULL)
		o = &defaults;
	st = pix_desc_read(ds, ts, &d, err);
	if (st != PC_OK)
		return st;
	st = pix_frame_decode(&d, o->frame, &f, err);
	if (st != PC_OK)
		return st;
	st = pix_render_image(ds, &d, &f, o, &img, err);
	pix_frame_cleanup(&f);
	if (st != PC_OK)
		return st;
	st = pix_image_encode(&img, o->format, o->quality, out, err);
	pix_image_cleanup(&img);
	return st;
}
