/*
 * test_render.c - the display pipeline: Modality LUT, VOI (window
 * functions, VOI LUT), MONOCHROME1, the min..max fallback, palettes
 * (plain and segmented), resizing, and PNG / JPEG output decoded back.
 *
 * LUT values are checked against numbers worked out by hand from PS3.3
 * C.11; whole images against values pydicom's apply_modality_lut /
 * apply_windowing / apply_color_lut produce for pydicom's own test files,
 * scaled to 8 bits as render.c documents:
 *   windowed:  y = floor((v - y_min) / (y_max - y_min) * 255 + 0.5)
 *   VOI LUT:   y = floor(v / (2^bits - 1) * 255 + 0.5)
 *   neither:   y = floor((m - min) / (max - min) * 255 + 0.5)
 *   then 255 - y for MONOCHROME1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pixel/lut_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <spng.h>

#define PYDICOM_DATA "/usr/lib/python3/dist-packages/pydicom/data/"

#define TAG_ROWS DCM_TAG(0x0028, 0x0010)
#define TAG_COLS DCM_TAG(0x0028, 0x0011)

/* ---- helpers ------------------------------------------------------------- */

static void set_str(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
		    const char *s)
{
	assert_int_equal(dcm_dataset_set_string(ds, tag, vr, s), PC_OK);
}

static void set_u16(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
		    const uint16_t *v, size_t n)
{
	uint8_t *b = malloc(2 * n + 1);

	for (size_t i = 0; i < n; i++) {
		b[2 * i] = (uint8_t)v[i];
		b[2 * i + 1] = (uint8_t)(v[i] >> 8);
	}
	assert_int_equal(dcm_dataset_set(ds, tag, vr, b, 2 * n), PC_OK);
	free(b);
}

static dcm_dataset *add_item(dcm_dataset *ds, uint32_t seq_tag)
{
	dcm_elem *seq;
	dcm_dataset *item;

	assert_int_equal(dcm_dataset_set_sequence(ds, seq_tag, &seq), PC_OK);
	assert_int_equal(dcm_elem_add_item(seq, &item), PC_OK);
	return item;
}

/* A grey frame over caller-owned samples. */
static struct pix_frame grey_frame(int32_t *data, uint32_t w, uint32_t h,
				   uint16_t bits, bool is_signed,
				   enum pix_photometric pi)
{
	struct pix_frame f = {0};

	f.rows = h;
	f.cols = w;
	f.samples = 1;
	f.bits_stored = bits;
	f.is_signed = is_signed;
	f.photometric = pi;
	f.data = data;
	return f;
}

/* Decodes a PNG with libspng into malloc'd samples in the PNG's format. */
static uint8_t *png_decode(const void *p, size_t n, struct spng_ihdr *ihdr)
{
	spng_ctx *ctx = spng_ctx_new(0);
	size_t size;
	uint8_t *out;

	assert_non_null(ctx);
	assert_int_equal(spng_set_png_buffer(ctx, p, n), 0);
	assert_int_equal(spng_get_ihdr(ctx, ihdr), 0);
	assert_int_equal(spng_decoded_image_size(ctx, SPNG_FMT_PNG, &size), 0);
	out = malloc(size);
	assert_int_equal(spng_decode_image(ctx, out, size, SPNG_FMT_PNG, 0), 0);
	spng_ctx_free(ctx);
	return out;
}

static uint8_t *jpeg_decode(const void *p, size_t n, uint32_t *w, uint32_t *h,
			    int *ch)
{
	struct jpeg_decompress_struct c;
	struct jpeg_error_mgr e;
	uint8_t *out;

	c.err = jpeg_std_error(&e);
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, p, (unsigned long)n);
	assert_int_equal(jpeg_read_header(&c, TRUE), JPEG_HEADER_OK);
	jpeg_start_decompress(&c);
	*w = c.output_width;
	*h = c.output_height;
	*ch = c.output_components;
	out = malloc((size_t)*w * *h * (size_t)*ch);
	while (c.output_scanline < c.output_height) {
		JSAMPROW row = out + (size_t)c.output_scanline * *w * (size_t)*ch;

		jpeg_read_scanlines(&c, &row, 1);
	}
	jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
	return out;
}

static void assert_near(double a, double b)
{
	if (fabs(a - b) > 1e-9) {
		fprintf(stderr, "expected %.12g, got %.12g\n", b, a);
		fail();
	}
}

/*
 * Fails each allocation of pix_render_image in turn: every failure must be
 * PC_NOMEM (and, under ASan, leak nothing); then it succeeds.
 */
static void render_image_oom(const dcm_dataset *ds, const struct pix_frame *f,
			     const struct pix_render_opts *o)
{
	for (uint64_t n = 1;; n++) {
		struct pix_image img = {0};
		enum pc_status st;

		pc_alloc_fail_after(n);
		st = pix_render_image(ds, NULL, f, o, &img, NULL);
		pc_alloc_fail_after(0);
		pix_image_cleanup(&img);
		if (st == PC_OK)
			break;
		assert_int_equal(st, PC_NOMEM);
		assert_true(n < 100);
	}
}

/* ---- Modality LUT -------------------------------------------------------- */

static void test_rescale(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	struct pix__modality m;

	(void)state;
	/* Absent: identity. */
	assert_int_equal(pix__modality_init(&m, ds, 0, true, NULL), PC_OK);
	assert_false(m.has_lut);
	assert_near(pix__modality_apply(&m, -7), -7);
	pix__modality_cleanup(&m);

	set_str(ds, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, "2.5");
	set_str(ds, DCM_TAG(0x0028, 0x1052), DCM_VR_DS, "-1024");
	assert_int_equal(pix__modality_init(&m, ds, 0, false, NULL), PC_OK);
	assert_near(pix__modality_apply(&m, 0), -1024);
	assert_near(pix__modality_apply(&m, 1000), 1476);
	pix__modality_cleanup(&m);

	/* Only the intercept: slope defaults to 1. */
	assert_int_equal(dcm_dataset_remove(ds, DCM_TAG(0x0028, 0x1053)),
			 PC_OK);
	assert_int_equal(pix__modality_init(&m, ds, 0, false, NULL), PC_OK);
	assert_near(pix__modality_apply(&m, 24), -1000);
	pix__modality_cleanup(&m);

	/* A slope that is not a number is an error naming the tag. */
	{
		struct pc_err err = {0};

		set_str(ds, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, "abc");
		assert_int_equal(pix__modality_init(&m, ds, 0, false, &err),
				 PC_PARSE);
		assert_non_null(strstr(err.msg, "(0028,1053)"));
	}
	dcm_dataset_destroy(ds);
}

static void test_rescale_functional_groups(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	dcm_dataset *shared, *pvt;
	dcm_elem *per;
	struct pix__modality m;

	(void)state;
	/* Enhanced images: Shared, then Per-frame Functional Groups. */
	shared = add_item(ds, DCM_TAG(0x5200, 0x9229));
	pvt = add_item(shared, DCM_TAG(0x0028, 0x9145));
	set_str(pvt, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, "2");
	set_str(pvt, DCM_TAG(0x0028, 0x1052), DCM_VR_DS, "1");
	assert_int_equal(dcm_dataset_set_sequence(ds, DCM_TAG(0x5200, 0x9230),
						  &per),
			 PC_OK);
	for (int i = 0; i < 2; i++) {
		dcm_dataset *fr;
		dcm_elem *seq;
		dcm_dataset *it;

		assert_int_equal(dcm_elem_add_item(per, &fr), PC_OK);
		if (i == 0)
			continue;
		assert_int_equal(dcm_dataset_set_sequence(
					 fr, DCM_TAG(0x0028, 0x9145), &seq),
				 PC_OK);
		assert_int_equal(dcm_elem_add_item(seq, &it), PC_OK);
		set_str(it, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, "3");
		set_str(it, DCM_TAG(0x0028, 0x1052), DCM_VR_DS, "-5");
	}
	assert_int_equal(pix__modality_init(&m, ds, 0, false, NULL), PC_OK);
	assert_near(pix__modality_apply(&m, 10), 21);
	pix__modality_cleanup(&m);
	assert_int_equal(pix__modality_init(&m, ds, 1, false, NULL), PC_OK);
	assert_near(pix__modality_apply(&m, 10), 25);
	pix__modality_cleanup(&m);
	assert_int_equal(pix__modality_init(&m, ds, UINT32_MAX, false, NULL),
			 PC_OK);
	assert_near(pix__modality_apply(&m, 10), 21);
	pix__modality_cleanup(&m);
	dcm_dataset_destroy(ds);
}

static void test_modality_lut_sequence(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	dcm_dataset *item = add_item(ds, DCM_TAG(0x0028, 0x3000));
	/* 3 entries from -2 (0xFFFE as US, signed pixels), 16 bits. */
	uint16_t desc[3] = {3, 0xFFFE, 16};
	uint16_t data[3] = {1000, 2000, 65535};
	struct pix__modality m;
	double lo, hi;

	(void)state;
	set_u16(item, DCM_TAG(0x0028, 0x3002), DCM_VR_US, desc, 3);
	set_u16(item, DCM_TAG(0x0028, 0x3006), DCM_VR_OW, data, 3);
	/* A rescale beside it is ignored: the sequence wins. */
	set_str(ds, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, "7");
	assert_int_equal(pix__modality_init(&m, ds, 0, true, NULL), PC_OK);
	assert_true(m.has_lut);
	assert_int_equal(m.lut.first, -2);
	assert_near(pix__modality_apply(&m, -100), 1000);
	assert_near(pix__modality_apply(&m, -2), 1000);
	assert_near(pix__modality_apply(&m, -1), 2000);
	assert_near(pix__modality_apply(&m, 0), 65535);
	assert_near(pix__modality_apply(&m, 500), 65535);
	pix__modality_range(&m, -1, 0, &lo, &hi);
	assert_near(lo, 2000);
	assert_near(hi, 65535);
	pix__modality_cleanup(&m);

	/* Unsigned pixels read the same descriptor as first = 65534. */
	assert_int_equal(pix__modality_init(&m, ds, 0, false, NULL), PC_OK);
	assert_int_equal(m.lut.first, 65534);
	pix__modality_cleanup(&m);

	/* Entries 0 means 65536; data too short is an error. */
	desc[0] = 0;
	desc[1] = 0;
	set_u16(item, DCM_TAG(0x0028, 0x3002), DCM_VR_US, desc, 3);
	{
		struct pc_err err = {0};

		assert_int_equal(pix__modality_init(&m, ds, 0, false, &err),
				 PC_PARSE);
		assert_non_null(strstr(err.msg, "65536 entries"));
	}
	dcm_dataset_destroy(ds);
}

/* ---- VOI ----------------------------------------------------------------- */

static struct pix__voi window(enum pix__voi_func f, double c, double w)
{
	struct pix__voi v = {0};

	v.kind = PIX__VOI_WINDOW;
	v.func = f;
	v.center = c;
	v.width = w;
	return v;
}

static void test_window_linear(void **state)
{
	struct pix__voi v;

	(void)state;
	/* PS3.3 C.11.2.1.2.1, the examples of the note: c=2048 w=4096:
	 * x <= 0 -> 0; x > 4095 -> max; else ((x - 2047.5) / 4095 + 0.5). */
	v = window(PIX__VOI_LINEAR, 2048, 4096);
	assert_near(pix__voi_apply(&v, -10), 0);
	assert_near(pix__voi_apply(&v, 0), 0);
	assert_near(pix__voi_apply(&v, 1), (1 - 2047.5) / 4095 + 0.5);
	assert_near(pix__voi_apply(&v, 2048), 0.5 / 4095 + 0.5);
	assert_near(pix__voi_apply(&v, 4095), 1);
	assert_near(pix__voi_apply(&v, 4096), 1);
	/* c=2048 w=1: x <= 2047.5 -> 0, else max. */
	v = window(PIX__VOI_LINEAR, 2048, 1);
	assert_near(pix__voi_apply(&v, 2047), 0);
	assert_near(pix__voi_apply(&v, 2047.5), 0);
	assert_near(pix__voi_apply(&v, 2048), 1);
	/* c=0 w=100: x <= -50 -> 0; x > 49 -> max. */
	v = window(PIX__VOI_LINEAR, 0, 100);
	assert_near(pix__voi_apply(&v, -50), 0);
	assert_near(pix__voi_apply(&v, -49), (-49 + 0.5) / 99 + 0.5);
	assert_near(pix__voi_apply(&v, 49), 1);
	assert_near(pix__voi_apply(&v, 0), 0.5 / 99 + 0.5);
	/* c=0 w=1: x <= -0.5 -> 0, else max. */
	v = window(PIX__VOI_LINEAR, 0, 1);
	assert_near(pix__voi_apply(&v, -1), 0);
	assert_near(pix__voi_apply(&v, 0), 1);
}

static void test_window_exact_sigmoid(void **state)
{
	struct pix__voi v;

	(void)state;
	/* C.11.2.1.3.2: x <= c - w/2 -> 0; x > c + w/2 -> max; else
	 * ((x - c) / w + 0.5). */
	v = window(PIX__VOI_LINEAR_EXACT, 0, 100);
	assert_near(pix__voi_apply(&v, -50), 0);
	assert_near(pix__voi_apply(&v, -25), 0.25);
	assert_near(pix__voi_apply(&v, 0), 0.5);
	assert_near(pix__voi_apply(&v, 50), 1);
	assert_near(pix__voi_apply(&v, 51), 1);
	v = window(PIX__VOI_LINEAR_EXACT, 10, 0.5);
	assert_near(pix__voi_apply(&v, 10.125), 0.75);
	/* C.11.2.1.3.1: 1 / (1 + exp(-4 (x - c) / w)). */
	v = window(PIX__VOI_SIGMOID, 0, 100);
	assert_near(pix__voi_apply(&v, 0), 0.5);
	assert_near(pix__voi_apply(&v, 25), 1 / (1 + exp(-1.0)));
	assert_near(pix__voi_apply(&v, -25), 1 / (1 + exp(1.0)));
}

static void test_voi_from_dataset(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	struct pix_render_opts o = {0};
	struct pix__voi v;
	struct pc_err err = {0};

	(void)state;
	assert_int_equal(pix__voi_init(&v, ds, 0, NULL, 0, 10, NULL), PC_OK);
	assert_int_equal(v.kind, PIX__VOI_NONE);
	/* First of several windows; LINEAR by default. */
	set_str(ds, DCM_TAG(0x0028, 0x1050), DCM_VR_DS, "40\\300");
	set_str(ds, DCM_TAG(0x0028, 0x1051), DCM_VR_DS, "400\\1500");
	assert_int_equal(pix__voi_init(&v, ds, 0, NULL, 0, 10, NULL), PC_OK);
	assert_int_equal(v.kind, PIX__VOI_WINDOW);
	assert_int_equal(v.func, PIX__VOI_LINEAR);
	assert_near(v.center, 40);
	assert_near(v.width, 400);
	set_str(ds, DCM_TAG(0x0028, 0x1056), DCM_VR_CS, "SIGMOID");
	assert_int_equal(pix__voi_init(&v, ds, 0, NULL, 0, 10, NULL), PC_OK);
	assert_int_equal(v.func, PIX__VOI_SIGMOID);
	set_str(ds, DCM_TAG(0x0028, 0x1056), DCM_VR_CS, "LINEAR_EXACT");
	assert_int_equal(pix__voi_init(&v, ds, 0, NULL, 0, 10, NULL), PC_OK);
	assert_int_equal(v.func, PIX__VOI_LINEAR_EXACT);
	/* The caller's window wins, and is LINEAR. */
	o.window = true;
	o.center = 5;
	o.width = 7;
	assert_int_equal(pix__voi_init(&v, ds, 0, &o, 0, 10, NULL), PC_OK);
	assert_int_equal(v.func, PIX__VOI_LINEAR);
	assert_near(v.center, 5);
	assert_near(v.width, 7);
	/* A LINEAR width below 1 from the caller is refused... */
	assert_int_equal(dcm_dataset_remove(ds, DCM_TAG(0x0028, 0x1056)),
			 PC_OK);
	o.width = 0.5;
	assert_int_equal(pix__voi_init(&v, ds, 0, &o, 0, 10, &err), PC_INVAL);
	/* ...and from the data set skipped. */
	set_str(ds, DCM_TAG(0x0028, 0x1051), DCM_VR_DS, "0");
	assert_int_equal(pix__voi_init(&v, ds, 0, NULL, 0, 10, NULL), PC_OK);
	assert_int_equal(v.kind, PIX__VOI_NONE);
	dcm_dataset_destroy(ds);
}

static void test_voi_lut_sequence(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	dcm_dataset *item = add_item(ds, DCM_TAG(0x0028, 0x3010));
	uint16_t desc[3] = {4, (uint16_t)-10, 8}; /* first -10 as US */
	uint16_t data[4] = {0, 51, 204, 255};
	struct pix__voi v;

	(void)state;
	set_u16(item, DCM_TAG(0x0028, 0x3002), DCM_VR_US, desc, 3);
	set_u16(item, DCM_TAG(0x0028, 0x3006), DCM_VR_US, data, 4);
	/* Modality values can be negative: 0xFFF6 reads as -10. */
	assert_int_equal(pix__voi_init(&v, ds, 0, NULL, -100, 100, NULL),
			 PC_OK);
	assert_int_equal(v.kind, PIX__VOI_LUT);
	assert_int_equal(v.lut.first, -10);
	assert_near(pix__voi_apply(&v, -11), 0);
	assert_near(pix__voi_apply(&v, -9), 0.2);
	assert_near(pix__voi_apply(&v, -8.6), 0.2); /* nearest: 1 */
	assert_near(pix__voi_apply(&v, -8.5), 0.8); /* 1.5 rounds up */
	assert_near(pix__voi_apply(&v, -8), 0.8);
	assert_near(pix__voi_apply(&v, -7), 1);
	assert_near(pix__voi_apply(&v, 1000), 1);
	pix__voi_cleanup(&v);
	/* Unsigned input: 65526. */
	assert_int_equal(pix__voi_init(&v, ds, 0, NULL, 0, 100, NULL), PC_OK);
	assert_int_equal(v.lut.first, 65526);
	pix__voi_cleanup(&v);
	/* Through the renderer: x=-9 -> 51, x=-7 -> 255 (signed pixels). */
	{
		int32_t px[2] = {-9, -7};
		struct pix_frame f =
			grey_frame(px, 2, 1, 16, true, PIX_MONOCHROME2);
		struct pix_image img;

		assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img,
						  NULL),
				 PC_OK);
		assert_int_equal(img.data[0], 51);
		assert_int_equal(img.data[1], 255);
		pix_image_cleanup(&img);
		render_image_oom(ds, &f, NULL);
	}
	/* A malformed VOI LUT is skipped: min..max applies. */
	{
		uint16_t bad[3] = {100, 0, 8}; /* 100 entries, 4 given */

		set_u16(item, DCM_TAG(0x0028, 0x3002), DCM_VR_US, bad, 3);
		assert_int_equal(pix__voi_init(&v, ds, 0, NULL, 0, 100, NULL),
				 PC_OK);
		assert_int_equal(v.kind, PIX__VOI_NONE);
		set_u16(item, DCM_TAG(0x0028, 0x3002), DCM_VR_US, desc, 3);
	}
	/* A window beside the LUT is preferred (pix.h's order). */
	set_str(ds, DCM_TAG(0x0028, 0x1050), DCM_VR_DS, "1");
	set_str(ds, DCM_TAG(0x0028, 0x1051), DCM_VR_DS, "2");
	assert_int_equal(pix__voi_init(&v, ds, 0, NULL, 0, 100, NULL), PC_OK);
	assert_int_equal(v.kind, PIX__VOI_WINDOW);
	dcm_dataset_destroy(ds);
}

/* ---- whole grey pipeline on hand-made frames ----------------------------- */

static void test_minmax_and_monochrome1(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	int32_t px[4] = {0, 100, 200, 300};
	struct pix_frame f = grey_frame(px, 2, 2, 12, false, PIX_MONOCHROME2);
	struct pix_image img;

	(void)state;
	/* No window, no VOI LUT: min..max -> 0..255. */
	assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img, NULL),
			 PC_OK);
	assert_int_equal(img.w, 2);
	assert_int_equal(img.h, 2);
	assert_int_equal(img.channels, 1);
	assert_int_equal(img.data[0], 0);
	assert_int_equal(img.data[1], 85);
	assert_int_equal(img.data[2], 170);
	assert_int_equal(img.data[3], 255);
	pix_image_cleanup(&img);
	/* MONOCHROME1: inverted after VOI. */
	f.photometric = PIX_MONOCHROME1;
	assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img, NULL),
			 PC_OK);
	assert_int_equal(img.data[0], 255);
	assert_int_equal(img.data[1], 170);
	assert_int_equal(img.data[2], 85);
	assert_int_equal(img.data[3], 0);
	pix_image_cleanup(&img);
	/* With a rescale the range is in modality units: a negative slope
	 * turns the picture round again. */
	set_str(ds, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, "-2");
	assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img, NULL),
			 PC_OK);
	assert_int_equal(img.data[0], 0);
	assert_int_equal(img.data[3], 255);
	pix_image_cleanup(&img);
	/* A window, LINEAR: c=150 w=201 -> c'=149.5 w'=200. */
	set_str(ds, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, "1");
	set_str(ds, DCM_TAG(0x0028, 0x1050), DCM_VR_DS, "150");
	set_str(ds, DCM_TAG(0x0028, 0x1051), DCM_VR_DS, "201");
	f.photometric = PIX_MONOCHROME2;
	assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img, NULL),
			 PC_OK);
	/* x=100: ((100 - 149.5) / 200 + 0.5) * 255 = 64.39 -> 64;
	 * x=200: 0.7525 * 255 = 191.89 -> 192. */
	assert_int_equal(img.data[0], 0);
	assert_int_equal(img.data[1], 64);
	assert_int_equal(img.data[2], 192);
	assert_int_equal(img.data[3], 255);
	pix_image_cleanup(&img);
	/* A constant frame without VOI is black. */
	assert_int_equal(dcm_dataset_remove(ds, DCM_TAG(0x0028, 0x1050)),
			 PC_OK);
	px[0] = px[1] = px[2] = px[3] = 7;
	assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img, NULL),
			 PC_OK);
	assert_int_equal(img.data[0], 0);
	pix_image_cleanup(&img);
	dcm_dataset_destroy(ds);
}

static void test_wide_values(void **state)
{
	/* 32-bit samples spanning more than the table: the per-pixel path;
	 * unsigned ones above INT32_MAX read as unsigned. */
	dcm_dataset *ds = dcm_dataset_create();
	int32_t px[3] = {0, (int32_t)0x80000000u, (int32_t)0xFFFFFFFFu};
	struct pix_frame f = grey_frame(px, 3, 1, 32, false, PIX_MONOCHROME2);
	struct pix_image img;
	float fl[3];
	int32_t iv[3];

	(void)state;
	assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img, NULL),
			 PC_OK);
	assert_int_equal(img.data[0], 0);
	assert_int_equal(img.data[1], 128);
	assert_int_equal(img.data[2], 255);
	pix_image_cleanup(&img);
	f.is_signed = true;
	assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img, NULL),
			 PC_OK);
	assert_int_equal(img.data[0], 255);
	assert_int_equal(img.data[1], 0);
	assert_int_equal(img.data[2], 255); /* -1: (2^31 - 1) / 2^31 */
	pix_image_cleanup(&img);
	/* Modality values: float and rounded int. */
	f.is_signed = false;
	assert_int_equal(pix_frame_modality_f32(&f, ds, fl, NULL), PC_OK);
	assert_true(fl[2] == 4294967295.0f);
	assert_int_equal(pix_frame_modality_i32(&f, ds, iv, NULL), PC_LIMIT);
	dcm_dataset_destroy(ds);
}

static void test_modality_values(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	int32_t px[4] = {-3, 0, 1, 2};
	struct pix_frame f = grey_frame(px, 4, 1, 16, true, PIX_MONOCHROME2);
	float fl[4];
	int32_t iv[4];

	(void)state;
	set_str(ds, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, "0.5");
	set_str(ds, DCM_TAG(0x0028, 0x1052), DCM_VR_DS, "0.25");
	assert_int_equal(pix_frame_modality_f32(&f, ds, fl, NULL), PC_OK);
	assert_true(fl[0] == -1.25f && fl[1] == 0.25f && fl[2] == 0.75f &&
		    fl[3] == 1.25f);
	assert_int_equal(pix_frame_modality_i32(&f, ds, iv, NULL), PC_OK);
	assert_int_equal(iv[0], -1);
	assert_int_equal(iv[1], 0);
	assert_int_equal(iv[2], 1);
	assert_int_equal(iv[3], 1);
	set_str(ds, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, "1e10");
	assert_int_equal(pix_frame_modality_i32(&f, ds, iv, NULL), PC_LIMIT);
	dcm_dataset_destroy(ds);
}

/* ---- palettes ------------------------------------------------------------ */

static void test_segmented_expand(void **state)
{
	/* discrete (10 20 30), linear to 70 in 4, indirect: 1 segment at
	 * offset 0 (the discrete one again), linear down to 0 in 3. */
	uint16_t seg[] = {0, 3, 10, 20, 30, 1, 4, 70, 2, 1, 0, 0, 1, 3, 0};
	uint16_t want[] = {10, 20, 30, 40, 50, 60, 70, 10, 20, 30, 20, 10, 0};
	uint16_t out[32];
	size_t n = 0;
	struct pc_err err = {0};

	(void)state;
	assert_int_equal(pix__segmented_expand(seg, sizeof(seg) / 2, false, out,
					       32, &n, NULL),
			 PC_OK);
	assert_int_equal(n, sizeof(want) / 2);
	assert_memory_equal(out, want, sizeof(want));
	/* The same in 8-bit units: the indirect offset takes 4 bytes. */
	{
		uint16_t seg8[] = {0, 3, 10, 20, 30, 1, 4, 70, 2, 1,
				   0, 0, 0, 0, 1, 3, 0};

		assert_int_equal(pix__segmented_expand(seg8, 17, true, out, 32,
						       &n, NULL),
				 PC_OK);
		assert_int_equal(n, sizeof(want) / 2);
		assert_memory_equal(out, want, sizeof(want));
	}
	/* Rounding of a linear segment: 0 -> 1 in 2 steps: 0.5 -> 0 (half
	 * to even, as numpy.around), then 1. */
	{
		uint16_t s2[] = {0, 1, 0, 1, 2, 1};

		assert_int_equal(pix__segmented_expand(s2, 6, false, out, 32,
						       &n, NULL),
				 PC_OK);
		assert_int_equal(n, 3);
		assert_int_equal(out[1], 0);
		assert_int_equal(out[2], 1);
	}
	/* Output is capped at `max`. */
	assert_int_equal(pix__segmented_expand(seg, sizeof(seg) / 2, false, out,
					       5, &n, NULL),
			 PC_OK);
	assert_int_equal(n, 5);
	/* Errors. */
	{
		uint16_t bad_op[] = {7, 1, 0};
		uint16_t first_linear[] = {1, 3, 9};
		uint16_t past_end[] = {0, 9, 1};
		uint16_t loop[] = {0, 1, 5, 2, 1, 3, 0}; /* indirect to itself */

		assert_int_equal(pix__segmented_expand(bad_op, 3, false, out, 32,
						       &n, &err),
				 PC_PARSE);
		assert_non_null(strstr(err.msg, "unknown segment type 7"));
		assert_int_equal(pix__segmented_expand(first_linear, 3, false,
						       out, 32, &n, NULL),
				 PC_PARSE);
		assert_int_equal(pix__segmented_expand(past_end, 3, false, out,
						       32, &n, NULL),
				 PC_PARSE);
		assert_int_equal(pix__segmented_expand(loop, 7, false, out, 32,
						       &n, NULL),
				 PC_LIMIT);
	}
}

/* A 16x16 PALETTE COLOR image of indices 0..255 with the palette of one of
 * pydicom's well-known palette files; checks its RGB against the sums
 * pydicom's apply_color_lut gives for indices 0..255. */
static void check_palette(const char *name, const long sums[3],
			  const uint8_t e100[3], bool to16)
{
	char path[256];
	struct pc_err err = {0};
	dcm_file *pf;
	dcm_dataset *ds = dcm_dataset_create();
	uint8_t idx[256];
	uint16_t us;
	struct pix_render_opts o = {0};
	struct pc_buf png = PC_BUF_INIT;
	struct spng_ihdr ihdr;
	uint8_t *rgb;
	long got[3] = {0, 0, 0};

	snprintf(path, sizeof(path), PYDICOM_DATA "palettes/%s", name);
	pf = dcm_file_open(path, NULL, &err);
	if (pf == NULL) {
		dcm_dataset_destroy(ds);
		skip();
	}
	for (int i = 0; i < 256; i++)
		idx[i] = (uint8_t)i;
	us = 16;
	set_u16(ds, TAG_ROWS, DCM_VR_US, &us, 1);
	set_u16(ds, TAG_COLS, DCM_VR_US, &us, 1);
	us = 1;
	set_u16(ds, DCM_TAG(0x0028, 0x0002), DCM_VR_US, &us, 1);
	set_str(ds, DCM_TAG(0x0028, 0x0004), DCM_VR_CS, "PALETTE COLOR");
	us = 8;
	set_u16(ds, DCM_TAG(0x0028, 0x0100), DCM_VR_US, &us, 1);
	set_u16(ds, DCM_TAG(0x0028, 0x0101), DCM_VR_US, &us, 1);
	us = 7;
	set_u16(ds, DCM_TAG(0x0028, 0x0102), DCM_VR_US, &us, 1);
	us = 0;
	set_u16(ds, DCM_TAG(0x0028, 0x0103), DCM_VR_US, &us, 1);
	for (int c = 0; c < 3; c++) {
		uint32_t tags[3] = {DCM_TAG(0x0028, 0x1101 + c),
				    DCM_TAG(0x0028, 0x1201 + c),
				    DCM_TAG(0x0028, 0x1221 + c)};

		for (int k = 0; k < 3; k++) {
			const dcm_elem *e =
				dcm_dataset_find(dcm_file_dataset(pf), tags[k]);
			struct pc_span v;

			if (e == NULL)
				continue;
			v = dcm_elem_value(e);
			if (to16 && k == 0) {
				uint16_t d[3] = {256, 0, 16};

				set_u16(ds, tags[k], DCM_VR_US, d, 3);
			} else if (to16 && k == 1) {
				/* 8-bit entries widened to 16 (x 257). */
				uint16_t wide[256];

				for (int i = 0; i < 256; i++)
					wide[i] = (uint16_t)(v.p[i] * 257);
				set_u16(ds, tags[k], DCM_VR_OW, wide, 256);
			} else {
				assert_int_equal(dcm_dataset_set(ds, tags[k],
								 dcm_elem_vr(e),
								 v.p, v.n),
						 PC_OK);
			}
		}
	}
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB, idx,
					 sizeof(idx)),
			 PC_OK);
	assert_int_equal(pix_render(ds, &dcm_ts_explicit_le, &o, &png, &err),
			 PC_OK);
	rgb = png_decode(png.p, png.n, &ihdr);
	assert_int_equal(ihdr.width, 16);
	assert_int_equal(ihdr.color_type, SPNG_COLOR_TYPE_TRUECOLOR);
	for (int i = 0; i < 256; i++)
		for (int c = 0; c < 3; c++)
			got[c] += rgb[3 * i + c];
	for (int c = 0; c < 3; c++) {
		assert_int_equal(got[c], sums[c]);
		assert_int_equal(rgb[300 + c], e100[c]);
	}
	free(rgb);
	pc_buf_cleanup(&png);
	dcm_dataset_destroy(ds);
	dcm_file_destroy(pf);
}

static void test_palette_plain(void **state)
{
	static const long hot[3] = {48896, 16257, 8319};
	static const uint8_t hot100[3] = {200, 0, 0};

	(void)state;
	check_palette("hotiron.dcm", hot, hot100, false);
	/* The same palette with 16-bit entries: shown by the high byte. */
	check_palette("hotiron.dcm", hot, hot100, true);
}

static void test_palette_segmented(void **state)
{
	static const long spring[3] = {65280, 32640, 32640};
	static const uint8_t spring100[3] = {255, 100, 155};
	static const long winter[3] = {8192, 32640, 49024};
	static const uint8_t winter100[3] = {0, 100, 205};

	(void)state;
	check_palette("spring.dcm", spring, spring100, false);
	check_palette("winter.dcm", winter, winter100, false);
}

static void test_palette_first_mapped(void **state)
{
	/* Indices below the first mapped value take entry 0, above the end
	 * the last entry. */
	dcm_dataset *ds = dcm_dataset_create();
	uint16_t desc[3] = {3, 10, 8};
	uint8_t r[4] = {1, 2, 3, 0}, g[4] = {4, 5, 6, 0}, b[4] = {7, 8, 9, 0};
	int32_t px[5] = {0, 10, 11, 12, 200};
	struct pix_frame f = grey_frame(px, 5, 1, 8, false, PIX_PALETTE_COLOR);
	struct pix_image img;
	static const uint8_t want[15] = {1, 4, 7, 1, 4, 7, 2, 5, 8,
					 3, 6, 9, 3, 6, 9};

	(void)state;
	for (int c = 0; c < 3; c++)
		set_u16(ds, DCM_TAG(0x0028, 0x1101 + c), DCM_VR_US, desc, 3);
	/* Packed 8-bit entries (3 bytes, padded to 4). */
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x1201), DCM_VR_OW,
					 r, 4),
			 PC_OK);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x1202), DCM_VR_OW,
					 g, 4),
			 PC_OK);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x1203), DCM_VR_OW,
					 b, 4),
			 PC_OK);
	assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img, NULL),
			 PC_OK);
	assert_int_equal(img.channels, 3);
	assert_memory_equal(img.data, want, sizeof(want));
	pix_image_cleanup(&img);
	render_image_oom(ds, &f, NULL);
	/* Missing tables are an error naming them. */
	{
		struct pc_err err = {0};

		assert_int_equal(dcm_dataset_remove(ds, DCM_TAG(0x0028, 0x1203)),
				 PC_OK);
		assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img,
						  &err),
				 PC_PARSE);
		assert_non_null(strstr(err.msg, "(0028,1203)"));
	}
	dcm_dataset_destroy(ds);
}

/* ---- resize -------------------------------------------------------------- */

static void test_resize(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	/* 0..255 present so that min..max maps values to themselves. */
	int32_t px[16] = {0, 10, 20, 30, 40, 50, 60, 70,
			  80, 90, 100, 110, 120, 130, 140, 255};
	struct pix_frame f = grey_frame(px, 4, 4, 8, false, PIX_MONOCHROME2);
	struct pix_render_opts o = {0};
	struct pix_image img;

	(void)state;
	/* 4x4 -> 2x2: plain 2x2 box averages, rounded half up. */
	o.max_w = 2;
	o.max_h = 2;
	assert_int_equal(pix_render_image(ds, NULL, &f, &o, &img, NULL),
			 PC_OK);
	assert_int_equal(img.w, 2);
	assert_int_equal(img.h, 2);
	assert_int_equal(img.data[0], 25);  /* (0+10+40+50)/4 */
	assert_int_equal(img.data[1], 45);  /* (20+30+60+70)/4 */
	assert_int_equal(img.data[2], 105); /* (80+90+120+130)/4 */
	assert_int_equal(img.data[3], 151); /* 605/4 = 151.25 */
	pix_image_cleanup(&img);
	dcm_dataset_destroy(ds);
}

static void test_resize_fractional(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	/* 3x1 -> 2x1 (bounded by width 2): output 0 covers [0, 1.5):
	 * a*2/3 + b/3; output 1 covers [1.5, 3): b/3 + c*2/3. */
	int32_t px[3] = {0, 90, 255};
	struct pix_frame f = grey_frame(px, 3, 1, 8, false, PIX_MONOCHROME2);
	struct pix_render_opts o = {0};
	struct pix_image img;

	(void)state;
	o.max_w = 2;
	assert_int_equal(pix_render_image(ds, NULL, &f, &o, &img, NULL),
			 PC_OK);
	assert_int_equal(img.w, 2);
	assert_int_equal(img.h, 1);
	assert_int_equal(img.data[0], 30);  /* 90/3 */
	assert_int_equal(img.data[1], 200); /* 30 + 170 */
	pix_image_cleanup(&img);
	render_image_oom(ds, &f, &o);
	dcm_dataset_destroy(ds);
}

static void test_fit_sizes(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	int32_t *px = calloc(512 * 256, sizeof(int32_t));
	struct pix_frame f = grey_frame(px, 512, 256, 8, false, PIX_MONOCHROME2);
	struct pix_render_opts o = {0};
	struct pix_image img;
	static const struct {
		uint32_t w, h, mw, mh, ow, oh;
	} cases[] = {
		{512, 256, 128, 128, 128, 64}, /* width bound */
		{512, 256, 0, 64, 128, 64},    /* height only */
		{512, 256, 1000, 1000, 512, 256}, /* never enlarged */
		{512, 256, 0, 0, 512, 256},
		{256, 512, 100, 100, 50, 100},
		{500, 3, 100, 100, 100, 1},    /* a thin strip keeps 1 row */
		{333, 333, 100, 200, 100, 100},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.cols = cases[i].w;
		f.rows = cases[i].h;
		o.max_w = cases[i].mw;
		o.max_h = cases[i].mh;
		assert_int_equal(pix_render_image(ds, NULL, &f, &o, &img, NULL),
				 PC_OK);
		assert_int_equal(img.w, cases[i].ow);
		assert_int_equal(img.h, cases[i].oh);
		pix_image_cleanup(&img);
	}
	free(px);
	dcm_dataset_destroy(ds);
}

static void test_rgb(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	int32_t px[6] = {0, 4095, 2048, 16, 15, 4000};
	struct pix_frame f = {0};
	struct pix_image img;

	(void)state;
	f.rows = 1;
	f.cols = 2;
	f.samples = 3;
	f.bits_stored = 12;
	f.photometric = PIX_RGB;
	f.data = px;
	/* 12-bit samples shown by their top 8 bits. */
	assert_int_equal(pix_render_image(ds, NULL, &f, NULL, &img, NULL),
			 PC_OK);
	assert_int_equal(img.channels, 3);
	assert_int_equal(img.data[0], 0);
	assert_int_equal(img.data[1], 255);
	assert_int_equal(img.data[2], 128);
	assert_int_equal(img.data[3], 1);
	assert_int_equal(img.data[4], 0);
	assert_int_equal(img.data[5], 250);
	pix_image_cleanup(&img);
	dcm_dataset_destroy(ds);
}

/* ---- encoders ------------------------------------------------------------ */

static void gradient(struct pix_image *img, uint32_t w, uint32_t h,
		     uint16_t ch)
{
	img->w = w;
	img->h = h;
	img->channels = ch;
	img->data = malloc((size_t)w * h * ch);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			for (uint16_t c = 0; c < ch; c++)
				img->data[((size_t)y * w + x) * ch + c] =
					(uint8_t)(x * (255 - 2 * h) / (w - 1) +
						  y * c);
}

static void test_png_roundtrip(void **state)
{
	(void)state;
	for (uint16_t ch = 1; ch <= 3; ch += 2) {
		struct pix_image img;
		struct pc_buf out = PC_BUF_INIT;
		struct spng_ihdr ihdr;
		uint8_t *back;

		gradient(&img, 37, 21, ch);
		pc_buf_puts(&out, "prefix"); /* appended, not replaced */
		assert_int_equal(pix_image_encode(&img, PIX_FORMAT_PNG, 0, &out,
						  NULL),
				 PC_OK);
		assert_memory_equal(out.p, "prefix", 6);
		back = png_decode(out.p + 6, out.n - 6, &ihdr);
		assert_int_equal(ihdr.width, 37);
		assert_int_equal(ihdr.height, 21);
		assert_int_equal(ihdr.bit_depth, 8);
		assert_int_equal(ihdr.color_type,
				 ch == 3 ? SPNG_COLOR_TYPE_TRUECOLOR
					 : SPNG_COLOR_TYPE_GRAYSCALE);
		assert_memory_equal(back, img.data, (size_t)37 * 21 * ch);
		free(back);
		free(img.data);
		pc_buf_cleanup(&out);
	}
}

static void test_jpeg_roundtrip(void **state)
{
	(void)state;
	for (uint16_t ch = 1; ch <= 3; ch += 2) {
		struct pix_image img;
		struct pc_buf out = PC_BUF_INIT;
		uint32_t w, h;
		int n;
		uint8_t *back;
		double sum = 0;
		int worst = 0;

		gradient(&img, 64, 48, ch);
		assert_int_equal(pix_image_encode(&img, PIX_FORMAT_JPEG, 95,
						  &out, NULL),
				 PC_OK);
		back = jpeg_decode(out.p, out.n, &w, &h, &n);
		assert_int_equal(w, 64);
		assert_int_equal(h, 48);
		assert_int_equal(n, ch);
		for (size_t i = 0; i < (size_t)64 * 48 * ch; i++) {
			int d = abs(back[i] - img.data[i]);

			sum += d;
			worst = d > worst ? d : worst;
		}
		if (!(sum / (64.0 * 48 * ch) < 1.0 && worst < 8))
			fprintf(stderr, "mean %g worst %d\n",
				sum / (64.0 * 48 * ch), worst);
		assert_true(sum / (64.0 * 48 * ch) < 1.0);
		assert_true(worst < 8);
		free(back);
		pc_buf_cleanup(&out);
		/* Quality out of range. */
		assert_int_equal(pix_image_encode(&img, PIX_FORMAT_JPEG, 101,
						  &out, NULL),
				 PC_INVAL);
		assert_int_equal(out.n, 0);
		free(img.data);
	}
}

/* ---- real files against pydicom ------------------------------------------ */

struct pin {
	const char *file;
	bool mono1;          /* render as MONOCHROME1 */
	long sum;            /* of every output sample */
	uint8_t px[5];       /* samples 0, 1, 100, 1000 and the last */
};

static void check_pin(const struct pin *p)
{
	char path[256];
	struct pc_err err = {0};
	dcm_file *f;
	struct pix_render_opts o = {0};
	struct pc_buf png = PC_BUF_INIT;
	struct spng_ihdr ihdr;
	uint8_t *img;
	size_t n, at[5];
	long sum = 0;

	snprintf(path, sizeof(path), PYDICOM_DATA "test_files/%s", p->file);
	f = dcm_file_open(path, NULL, &err);
	if (f == NULL)
		skip();
	if (p->mono1)
		set_str(dcm_file_dataset(f), DCM_TAG(0x0028, 0x0004),
			DCM_VR_CS, "MONOCHROME1");
	assert_int_equal(pix_render(dcm_file_dataset(f), dcm_file_ts(f), &o,
				    &png, &err),
			 PC_OK);
	img = png_decode(png.p, png.n, &ihdr);
	n = (size_t)ihdr.width * ihdr.height *
	    (ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR ? 3 : 1);
	for (size_t i = 0; i < n; i++)
		sum += img[i];
	at[0] = 0;
	at[1] = 1;
	at[2] = 100 % n;
	at[3] = 1000 % n;
	at[4] = n - 1;
	for (int i = 0; i < 5; i++)
		assert_int_equal(img[at[i]], p->px[i]);
	assert_int_equal(sum, p->sum);
	free(img);
	pc_buf_cleanup(&png);
	dcm_file_destroy(f);
}

static void test_pydicom_files(void **state)
{
	/* From pydicom 2.3: apply_modality_lut then apply_windowing (or
	 * min..max), scaled as at the top of this file. */
	static const struct pin pins[] = {
		{"CT_small.dcm", false, 1573473, {6, 6, 128, 132, 97}},
		{"CT_small.dcm", true, 128L * 128 * 255 - 1573473,
		 {249, 249, 127, 123, 158}},
		{"MR_small.dcm", false, 463120, {176, 194, 82, 73, 169}},
		{"SC_rgb_small_odd.dcm", false, 3477, {166, 141, 158, 141, 158}},
		{"rtdose.dcm", false, 12155, {252, 252, 252, 252, 2}},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		check_pin(&pins[i]);
}

static void test_render_errors(void **state)
{
	char path[256];
	struct pc_err err = {0};
	dcm_file *f;
	struct pix_render_opts o = {0};
	struct pc_buf out = PC_BUF_INIT;

	(void)state;
	snprintf(path, sizeof(path), PYDICOM_DATA "test_files/CT_small.dcm");
	f = dcm_file_open(path, NULL, &err);
	if (f == NULL)
		skip();
	o.frame = 1;
	assert_int_equal(pix_render(dcm_file_dataset(f), dcm_file_ts(f), &o,
				    &out, &err),
			 PC_NOTFOUND);
	o.frame = 0;
	o.window = true;
	o.width = 0;
	assert_int_equal(pix_render(dcm_file_dataset(f), dcm_file_ts(f), &o,
				    &out, NULL),
			 PC_INVAL);
	assert_int_equal(out.n, 0);
	dcm_file_destroy(f);
}

/* Every allocation of a render, failed in turn: PC_NOMEM, no leak. */
static void test_render_oom(void **state)
{
	char path[256];
	struct pc_err err = {0};
	dcm_file *f;
	struct pix_render_opts o = {0};

	(void)state;
	snprintf(path, sizeof(path), PYDICOM_DATA "test_files/MR_small.dcm");
	f = dcm_file_open(path, NULL, &err);
	if (f == NULL)
		skip();
	for (int fmt = 0; fmt < 2; fmt++) {
		o.format = fmt ? PIX_FORMAT_JPEG : PIX_FORMAT_PNG;
		o.max_w = 40;
		o.max_h = 40;
		for (uint64_t n = 1;; n++) {
			struct pc_buf out = PC_BUF_INIT;
			struct pc_err e = {0};
			enum pc_status st;

			pc_alloc_fail_after(n);
			st = pix_render(dcm_file_dataset(f), dcm_file_ts(f), &o,
					&out, &e);
			pc_alloc_fail_after(0);
			pc_buf_cleanup(&out);
			if (st == PC_OK)
				break;
			if (st != PC_NOMEM)
				fprintf(stderr, "allocation %llu: %s\n",
					(unsigned long long)n, e.msg);
			assert_int_equal(st, PC_NOMEM);
			assert_true(n < 1000);
		}
	}
	dcm_file_destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rescale),
		cmocka_unit_test(test_rescale_functional_groups),
		cmocka_unit_test(test_modality_lut_sequence),
		cmocka_unit_test(test_window_linear),
		cmocka_unit_test(test_window_exact_sigmoid),
		cmocka_unit_test(test_voi_from_dataset),
		cmocka_unit_test(test_voi_lut_sequence),
		cmocka_unit_test(test_minmax_and_monochrome1),
		cmocka_unit_test(test_wide_values),
		cmocka_unit_test(test_modality_values),
		cmocka_unit_test(test_segmented_expand),
		cmocka_unit_test(test_palette_plain),
		cmocka_unit_test(test_palette_segmented),
		cmocka_unit_test(test_palette_first_mapped),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_resize_fractional),
		cmocka_unit_test(test_fit_sizes),
		cmocka_unit_test(test_rgb),
		cmocka_unit_test(test_png_roundtrip),
		cmocka_unit_test(test_jpeg_roundtrip),
		cmocka_unit_test(test_pydicom_files),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_render_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
