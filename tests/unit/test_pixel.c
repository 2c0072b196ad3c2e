/*
 * test_pixel.c - the Image Pixel Module descriptor (desc.c), frame location
 * in encapsulated data (frame.c), native decoding (native.c) and YCbCr to
 * RGB (color.c).
 *
 * Most tests build their data sets and sample buffers here, one rule per
 * test. The real-file test decodes every native and RLE image of pydicom's
 * test_files and compares each frame with what pydicom's pixel_array gives
 * (tests/unit/data/pixel/vectors.txt, written by tools/gen_pixel_vectors.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pixel/pixel_int.h"
#include "pixel_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PYDICOM_TEST_FILES "/usr/lib/python3/dist-packages/pydicom/data/test_files"

#define T_SAMPLES DCM_TAG(0x0028, 0x0002)
#define T_PHOTO DCM_TAG(0x0028, 0x0004)
#define T_PLANAR DCM_TAG(0x0028, 0x0006)
#define T_FRAMES DCM_TAG(0x0028, 0x0008)
#define T_ROWS DCM_TAG(0x0028, 0x0010)
#define T_COLS DCM_TAG(0x0028, 0x0011)
#define T_BA DCM_TAG(0x0028, 0x0100)
#define T_BS DCM_TAG(0x0028, 0x0101)
#define T_HB DCM_TAG(0x0028, 0x0102)
#define T_REP DCM_TAG(0x0028, 0x0103)
#define T_EOT DCM_TAG(0x7FE0, 0x0001)
#define T_EOT_LEN DCM_TAG(0x7FE0, 0x0002)

static const struct dcm_ts *ts_rle, *ts_jpeg, *ts_j2k, *ts_ljpeg,
	*ts_encaps_native;

/* ---- builders ------------------------------------------------------------ */

static void set_us(dcm_dataset *ds, uint32_t tag, unsigned v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	assert_int_equal(dcm_dataset_set(ds, tag, DCM_VR_US, b, 2), PC_OK);
}

static void set_str(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
		    const char *s)
{
	assert_int_equal(dcm_dataset_set_string(ds, tag, vr, s), PC_OK);
}

/* A complete Image Pixel Module; the caller adds Pixel Data. */
static dcm_dataset *image(unsigned rows, unsigned cols, unsigned samples,
			  unsigned ba, unsigned bs, unsigned rep,
			  const char *photo)
{
	dcm_dataset *ds = dcm_dataset_create();

	assert_non_null(ds);
	set_us(ds, T_ROWS, rows);
	set_us(ds, T_COLS, cols);
	set_us(ds, T_SAMPLES, samples);
	set_us(ds, T_BA, ba);
	set_us(ds, T_BS, bs);
	set_us(ds, T_HB, bs - 1);
	set_us(ds, T_REP, rep);
	set_str(ds, T_PHOTO, DCM_VR_CS, photo);
	if (samples == 3)
		set_us(ds, T_PLANAR, 0);
	return ds;
}

static void set_pixels(dcm_dataset *ds, const void *p, size_t n)
{
	assert_int_equal(
		dcm_dataset_set(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OW, p, n),
		PC_OK);
}

static dcm_elem *set_encaps(dcm_dataset *ds, const void *bot, size_t bot_n)
{
	dcm_elem *e = NULL;

	assert_int_equal(dcm_dataset_set_encapsulated(
				 ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB,
				 pc_span_make(bot, bot_n), &e),
			 PC_OK);
	assert_non_null(e);
	return e;
}

static void add_frag(dcm_elem *e, const void *p, size_t n)
{
	assert_int_equal(dcm_elem_add_fragment(e, pc_span_make(p, n)), PC_OK);
}

/* Reads the descriptor and expects `st`, with `needle` in the message. */
static void expect_desc(const dcm_dataset *ds, const struct dcm_ts *ts,
			enum pc_status st, const char *needle)
{
	struct pix_desc d;
	struct pc_err err = {0};

	assert_int_equal(pix_desc_read(ds, ts, &d, &err), st);
	if (st != PC_OK) {
		assert_int_equal(err.status, st);
		if (strstr(err.msg, needle) == NULL)
			fail_msg("message \"%s\" lacks \"%s\"", err.msg,
				 needle);
	}
}

/* ---- photometric names ---------------------------------------------------- */

static void test_photometric(void **state)
{
	static const char *names[] = {
		"MONOCHROME1",     "MONOCHROME2",     "RGB",
		"PALETTE COLOR",   "YBR_FULL",        "YBR_FULL_422",
		"YBR_PARTIAL_422", "YBR_PARTIAL_420", "YBR_ICT",
		"YBR_RCT",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum pix_photometric p = pix_photometric_parse(
			pc_span_make(names[i], strlen(names[i])));

		assert_int_not_equal(p, PIX_PHOTO_UNKNOWN);
		assert_string_equal(pix_photometric_name(p), names[i]);
	}
	assert_int_equal(pix_photometric_parse(pc_span_make("RGB ", 4)),
			 PIX_RGB);
	assert_int_equal(pix_photometric_parse(pc_span_make("RGB\0", 4)),
			 PIX_RGB);
	assert_int_equal(
		pix_photometric_parse(pc_span_make(" MONOCHROME2 ", 13)),
		PIX_MONOCHROME2);
	assert_int_equal(pix_photometric_parse(pc_span_make("rgb", 3)),
			 PIX_PHOTO_UNKNOWN);
	assert_int_equal(pix_photometric_parse(pc_span_make("RGBA", 4)),
			 PIX_PHOTO_UNKNOWN);
	assert_int_equal(pix_photometric_parse(pc_span_make("", 0)),
			 PIX_PHOTO_UNKNOWN);
	assert_int_equal(pix_photometric_parse(pc_span_make("CMYK", 4)),
			 PIX_PHOTO_UNKNOWN);
	assert_string_equal(pix_photometric_name(PIX_PHOTO_UNKNOWN), "unknown");
}

/* ---- descriptor ----------------------------------------------------------- */

static void test_desc_ok(void **state)
{
	uint8_t px[2 * 3 * 2 * 2] = {0};
	dcm_dataset *ds = image(3, 2, 1, 16, 12, 1, "MONOCHROME2 ");
	struct pix_desc d;
	struct pc_err err = {0};

	(void)state;
	set_pixels(ds, px, sizeof(px));
	assert_int_equal(pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err),
			 PC_OK);
	assert_int_equal(d.rows, 3);
	assert_int_equal(d.cols, 2);
	assert_int_equal(d.frames, 1);
	assert_int_equal(d.samples, 1);
	assert_int_equal(d.bits_allocated, 16);
	assert_int_equal(d.bits_stored, 12);
	assert_int_equal(d.high_bit, 11);
	assert_true(d.is_signed);
	assert_int_equal(d.planar, 0);
	assert_int_equal(d.photometric, PIX_MONOCHROME2);
	assert_ptr_equal(d.ds, ds);
	assert_ptr_equal(d.ts, &dcm_ts_explicit_le);
	assert_ptr_equal(d.pixels, dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA));

	/* Number of Frames (IS) is read; "0" and empty read as 1 like
	 * pydicom; High Bit defaults to Bits Stored - 1. */
	set_str(ds, T_FRAMES, DCM_VR_IS, " 2 ");
	assert_int_equal(pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err),
			 PC_OK);
	assert_int_equal(d.frames, 2);
	set_str(ds, T_FRAMES, DCM_VR_IS, "0");
	assert_int_equal(pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err),
			 PC_OK);
	assert_int_equal(d.frames, 1);
	set_str(ds, T_FRAMES, DCM_VR_IS, "");
	assert_int_equal(pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err),
			 PC_OK);
	assert_int_equal(d.frames, 1);
	assert_int_equal(dcm_dataset_remove(ds, T_HB), PC_OK);
	assert_int_equal(pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err),
			 PC_OK);
	assert_int_equal(d.high_bit, 11);
	/* High Bit above Bits Stored - 1 (PS3.5 8.1.1) is accepted. */
	set_us(ds, T_HB, 15);
	assert_int_equal(pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err),
			 PC_OK);
	assert_int_equal(d.high_bit, 15);
	dcm_dataset_destroy(ds);

	/* Planar Configuration only means something for 3 samples. */
	ds = image(2, 2, 3, 8, 8, 0, "RGB");
	set_us(ds, T_PLANAR, 1);
	set_pixels(ds, px, 12);
	assert_int_equal(pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err),
			 PC_OK);
	assert_int_equal(d.planar, 1);
	assert_int_equal(d.photometric, PIX_RGB);
	assert_int_equal(dcm_dataset_remove(ds, T_PLANAR), PC_OK);
	assert_int_equal(pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err),
			 PC_OK);
	assert_int_equal(d.planar, 0);
	dcm_dataset_destroy(ds);

	/* 1-bit: Pixel Representation 1 is dropped (bilevel is 0/1). */
	ds = image(3, 3, 1, 1, 1, 1, "MONOCHROME2");
	set_us(ds, T_HB, 0);
	set_pixels(ds, px, 2);
	assert_int_equal(pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err),
			 PC_OK);
	assert_false(d.is_signed);
	dcm_dataset_destroy(ds);
}

/* Each case breaks one attribute of a valid 4x4 16-bit image. */
static void test_desc_errors(void **state)
{
	static const struct {
		uint32_t tag;      /* attribute changed (0: none) */
		int us;            /* new US value, -1 to remove */
		const char *str;   /* or new string value */
		enum pc_status st;
		const char *needle;
	} cases[] = {
		{T_ROWS, -1, NULL, PC_PARSE, "(0028,0010) Rows is missing"},
		{T_COLS, -1, NULL, PC_PARSE, "(0028,0011) Columns is missing"},
		{T_ROWS, 0, NULL, PC_PARSE, "(0028,0010) Rows is 0"},
		{T_COLS, 0, NULL, PC_PARSE, "(0028,0011) Columns is 0"},
		{T_SAMPLES, -1, NULL, PC_PARSE, "Samples per Pixel is missing"},
		{T_SAMPLES, 2, NULL, PC_UNSUPPORTED, "Samples per Pixel 2"},
		{T_SAMPLES, 4, NULL, PC_UNSUPPORTED, "Samples per Pixel 4"},
		{T_BA, -1, NULL, PC_PARSE, "(0028,0100) Bits Allocated is"},
		{T_BA, 12, NULL, PC_UNSUPPORTED, "Bits Allocated 12"},
		{T_BA, 64, NULL, PC_UNSUPPORTED, "Bits Allocated 64"},
		{T_BS, -1, NULL, PC_PARSE, "(0028,0101) Bits Stored is missing"},
		{T_BS, 0, NULL, PC_PARSE, "Bits Stored 0"},
		{T_BS, 17, NULL, PC_PARSE, "Bits Stored 17 with Bits Allocated"},
		{T_HB, 10, NULL, PC_PARSE, "(0028,0102) High Bit 10"},
		{T_HB, 16, NULL, PC_PARSE, "(0028,0102) High Bit 16"},
		{T_REP, -1, NULL, PC_PARSE, "Pixel Representation is missing"},
		{T_REP, 2, NULL, PC_PARSE, "Pixel Representation"},
		{T_PHOTO, -1, NULL, PC_PARSE,
		 "(0028,0004) Photometric Interpretation is missing"},
		{T_PHOTO, 0, "HSV", PC_UNSUPPORTED, "\"HSV\" is not supported"},
		{T_PHOTO, 0, "RGB", PC_PARSE, "RGB with 1 sample"},
		{T_FRAMES, 0, "1A", PC_PARSE, "(0028,0008) Number of Frames"},
		{T_FRAMES, 0, "-2", PC_PARSE, "(0028,0008) Number of Frames"},
		{T_FRAMES, 0, "2", PC_TRUNC, "need 64 bytes, Pixel Data has 32"},
		{DCM_TAG_PIXEL_DATA, -1, NULL, PC_NOTFOUND, "no Pixel Data"},
	};
	uint8_t px[32] = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dcm_dataset *ds = image(4, 4, 1, 16, 12, 0, "MONOCHROME2");

		set_pixels(ds, px, sizeof(px));
		if (cases[i].str != NULL)
			set_str(ds, cases[i].tag,
				cases[i].tag == T_FRAMES ? DCM_VR_IS
							 : DCM_VR_CS,
				cases[i].str);
		else if (cases[i].us < 0)
			assert_int_equal(dcm_dataset_remove(ds, cases[i].tag),
					 PC_OK);
		else
			set_us(ds, cases[i].tag, (unsigned)cases[i].us);
		expect_desc(ds, &dcm_ts_explicit_le, cases[i].st,
			    cases[i].needle);
		dcm_dataset_destroy(ds);
	}
}

static void test_desc_length(void **state)
{
	uint8_t px[64] = {0};
	dcm_dataset *ds;

	(void)state;
	/* 3x5 16-bit: 30 bytes needed; 28 is short, 30 and 64 are fine
	 * (padding after the last frame is tolerated). */
	ds = image(3, 5, 1, 16, 16, 0, "MONOCHROME2");
	set_pixels(ds, px, 28);
	expect_desc(ds, &dcm_ts_explicit_le, PC_TRUNC,
		    "need 30 bytes, Pixel Data has 28");
	set_pixels(ds, px, 30);
	expect_desc(ds, &dcm_ts_explicit_le, PC_OK, NULL);
	set_pixels(ds, px, 64);
	expect_desc(ds, &dcm_ts_explicit_le, PC_OK, NULL);
	dcm_dataset_destroy(ds);

	/* 1-bit: 5x3 x 3 frames = 45 bits = 6 bytes. */
	ds = image(5, 3, 1, 1, 1, 0, "MONOCHROME2");
	set_us(ds, T_HB, 0);
	set_str(ds, T_FRAMES, DCM_VR_IS, "3");
	set_pixels(ds, px, 4);
	expect_desc(ds, &dcm_ts_explicit_le, PC_TRUNC,
		    "need 6 bytes, Pixel Data has 4");
	set_pixels(ds, px, 6);
	expect_desc(ds, &dcm_ts_explicit_le, PC_OK, NULL);
	dcm_dataset_destroy(ds);

	/* YBR_FULL_422 holds two samples per pixel (PS3.3 C.7.6.3.1.2):
	 * 2x4 pixels need 16 bytes, not 24. */
	ds = image(2, 4, 3, 8, 8, 0, "YBR_FULL_422");
	set_pixels(ds, px, 14);
	expect_desc(ds, &dcm_ts_explicit_le, PC_TRUNC,
		    "need 16 bytes, Pixel Data has 14");
	set_pixels(ds, px, 16);
	expect_desc(ds, &dcm_ts_explicit_le, PC_OK, NULL);
	dcm_dataset_destroy(ds);
	/* ... and pairs of pixels. */
	ds = image(3, 3, 3, 8, 8, 0, "YBR_FULL_422");
	set_pixels(ds, px, 18);
	expect_desc(ds, &dcm_ts_explicit_le, PC_UNSUPPORTED,
		    "even number of pixels");
	dcm_dataset_destroy(ds);
	/* Colour models of compressed syntaxes only. */
	ds = image(2, 2, 3, 8, 8, 0, "YBR_ICT");
	set_pixels(ds, px, 12);
	expect_desc(ds, &dcm_ts_explicit_le, PC_UNSUPPORTED,
		    "only defined for compressed");
	dcm_dataset_destroy(ds);
}

static void test_desc_kinds(void **state)
{
	uint8_t px[32] = {0};
	uint8_t f32[4] = {0};
	dcm_dataset *ds;
	dcm_elem *e;

	(void)state;
	/* Float Pixel Data is refused by name. */
	ds = image(1, 1, 1, 32, 32, 0, "MONOCHROME2");
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x7FE0, 0x0008),
					 DCM_VR_OF, f32, 4),
			 PC_OK);
	expect_desc(ds, &dcm_ts_explicit_le, PC_UNSUPPORTED,
		    "Float Pixel Data (7FE0,0008)");
	dcm_dataset_destroy(ds);
	ds = image(1, 1, 1, 64, 64, 0, "MONOCHROME2");
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x7FE0, 0x0009),
					 DCM_VR_OD, px, 8),
			 PC_OK);
	expect_desc(ds, &dcm_ts_explicit_le, PC_UNSUPPORTED,
		    "Double Float Pixel Data");
	dcm_dataset_destroy(ds);

	/* Native value in an encapsulated syntax, and the reverse. */
	ds = image(2, 2, 1, 8, 8, 0, "MONOCHROME2");
	set_pixels(ds, px, 4);
	expect_desc(ds, ts_rle, PC_PARSE, "requires encapsulated Pixel Data");
	e = set_encaps(ds, NULL, 0);
	add_frag(e, px, 8);
	expect_desc(ds, &dcm_ts_explicit_le, PC_PARSE,
		    "encapsulated Pixel Data in Explicit VR Little Endian");
	expect_desc(ds, ts_rle, PC_OK, NULL);
	/* Encapsulated data is not length-checked, and 1-bit is refused. */
	set_us(ds, T_ROWS, 100);
	expect_desc(ds, ts_rle, PC_OK, NULL);
	set_us(ds, T_BA, 1);
	set_us(ds, T_BS, 1);
	set_us(ds, T_HB, 0);
	expect_desc(ds, ts_rle, PC_UNSUPPORTED, "Bits Allocated 1");
	dcm_dataset_destroy(ds);

	/* 1-bit colour does not exist. */
	ds = image(2, 2, 3, 1, 1, 0, "RGB");
	set_pixels(ds, px, 2);
	expect_desc(ds, &dcm_ts_explicit_le, PC_UNSUPPORTED,
		    "Bits Allocated 1 with 3 samples");
	dcm_dataset_destroy(ds);

	expect_desc(NULL, &dcm_ts_explicit_le, PC_INVAL, "no data set");
}

/* ---- native decoding ------------------------------------------------------ */

static struct pix_desc ndesc(uint32_t rows, uint32_t cols, uint16_t samples,
			     uint16_t ba, uint16_t bs, uint16_t hb,
			     bool is_signed, enum pix_photometric photo)
{
	struct pix_desc d;

	memset(&d, 0, sizeof(d));
	d.rows = rows;
	d.cols = cols;
	d.frames = 1;
	d.samples = samples;
	d.bits_allocated = ba;
	d.bits_stored = bs;
	d.high_bit = hb;
	d.is_signed = is_signed;
	d.photometric = photo;
	d.ts = &dcm_ts_explicit_le;
	return d;
}

/* Decodes `in` natively into a fresh frame; the caller frees data. */
static enum pc_status native(const struct pix_desc *d, const void *in,
			     size_t n, unsigned bit_offset, bool be,
			     struct pix_frame *f)
{
	size_t count = (size_t)d->rows * d->cols * d->samples;
	struct pc_err err = {0};
	enum pc_status st;

	pix__frame_shape(f, d);
	f->data = calloc(count ? count : 1, sizeof(int32_t));
	assert_non_null(f->data);
	st = pix__decode_native(d, pc_span_make(in, n), bit_offset, be, f,
				&err);
	if (st != PC_OK)
		assert_true(err.msg[0] != '\0');
	return st;
}

static void expect_samples(const struct pix_frame *f, const int32_t *want,
			   size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (f->data[i] != want[i])
			fail_msg("sample %zu: got %d, want %d", i, f->data[i],
				 want[i]);
}

static void test_native_8(void **state)
{
	static const uint8_t in[6] = {0, 1, 127, 128, 200, 255};
	static const int32_t u8[6] = {0, 1, 127, 128, 200, 255};
	static const int32_t s8[6] = {0, 1, 127, -128, -56, -1};
	/* Bits Stored 6, High Bit 5: the top two bits are ignored. */
	static const int32_t u6[6] = {0, 1, 63, 0, 8, 63};
	/* Bits Stored 6, High Bit 7, signed: bits 2..7 hold the value. */
	static const int32_t s6h7[6] = {0, 0, 31, -32, -14, -1};
	struct pix_desc d;
	struct pix_frame f;

	(void)state;
	d = ndesc(2, 3, 1, 8, 8, 7, false, PIX_MONOCHROME2);
	assert_int_equal(native(&d, in, 6, 0, false, &f), PC_OK);
	expect_samples(&f, u8, 6);
	free(f.data);
	d.is_signed = true;
	assert_int_equal(native(&d, in, 6, 0, false, &f), PC_OK);
	expect_samples(&f, s8, 6);
	free(f.data);
	d = ndesc(2, 3, 1, 8, 6, 5, false, PIX_MONOCHROME2);
	assert_int_equal(native(&d, in, 6, 0, true, &f), PC_OK);
	expect_samples(&f, u6, 6);
	free(f.data);
	d = ndesc(2, 3, 1, 8, 6, 7, true, PIX_MONOCHROME2);
	assert_int_equal(native(&d, in, 6, 0, false, &f), PC_OK);
	expect_samples(&f, s6h7, 6);
	free(f.data);
	/* One byte short. */
	assert_int_equal(native(&d, in, 5, 0, false, &f), PC_TRUNC);
	free(f.data);
}

static void test_native_16(void **state)
{
	/* Words 0x0000, 0x0FFF, 0xF800, 0x1234, 0x8001, 0xFFFF (LE). */
	static const uint8_t le[12] = {0x00, 0x00, 0xFF, 0x0F, 0x00, 0xF8,
				       0x34, 0x12, 0x01, 0x80, 0xFF, 0xFF};
	static const uint8_t be[12] = {0x00, 0x00, 0x0F, 0xFF, 0xF8, 0x00,
				       0x12, 0x34, 0x80, 0x01, 0xFF, 0xFF};
	static const int32_t u16[6] = {0, 0x0FFF, 0xF800, 0x1234, 0x8001,
				       0xFFFF};
	static const int32_t s16[6] = {0, 0x0FFF, -2048, 0x1234, -32767, -1};
	/* Signed 12 in 16 (High Bit 11): garbage in the top nibble is
	 * masked off before the sign bit (bit 11) is extended. */
	static const int32_t s12[6] = {0, -1, -2048, 0x234, 1, -1};
	static const int32_t u12[6] = {0, 0xFFF, 0x800, 0x234, 1, 0xFFF};
	/* Signed 12 in 16 with High Bit 15: value in bits 4..15. */
	static const int32_t s12h15[6] = {0, 0xFF, -128, 0x123, -2048, -1};
	struct pix_desc d;
	struct pix_frame f;

	(void)state;
	d = ndesc(3, 2, 1, 16, 16, 15, false, PIX_MONOCHROME2);
	assert_int_equal(native(&d, le, 12, 0, false, &f), PC_OK);
	expect_samples(&f, u16, 6);
	free(f.data);
	assert_int_equal(native(&d, be, 12, 0, true, &f), PC_OK);
	expect_samples(&f, u16, 6);
	free(f.data);
	d.is_signed = true;
	assert_int_equal(native(&d, le, 12, 0, false, &f), PC_OK);
	expect_samples(&f, s16, 6);
	free(f.data);
	assert_int_equal(native(&d, be, 12, 0, true, &f), PC_OK);
	expect_samples(&f, s16, 6);
	free(f.data);
	d = ndesc(3, 2, 1, 16, 12, 11, true, PIX_MONOCHROME2);
	assert_int_equal(native(&d, le, 12, 0, false, &f), PC_OK);
	expect_samples(&f, s12, 6);
	free(f.data);
	assert_int_equal(native(&d, be, 12, 0, true, &f), PC_OK);
	expect_samples(&f, s12, 6);
	free(f.data);
	d.is_signed = false;
	assert_int_equal(native(&d, le, 12, 0, false, &f), PC_OK);
	expect_samples(&f, u12, 6);
	free(f.data);
	d = ndesc(3, 2, 1, 16, 12, 15, true, PIX_MONOCHROME2);
	assert_int_equal(native(&d, le, 12, 0, false, &f), PC_OK);
	expect_samples(&f, s12h15, 6);
	free(f.data);
	assert_int_equal(native(&d, le, 11, 0, false, &f), PC_TRUNC);
	free(f.data);
}

static void test_native_32(void **state)
{
	static const uint8_t le[12] = {0x01, 0x00, 0x00, 0x00, 0xFF, 0xFF,
				       0xFF, 0xFF, 0x00, 0x00, 0x80, 0x00};
	static const uint8_t be[12] = {0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF,
				       0xFF, 0xFF, 0x00, 0x80, 0x00, 0x00};
	static const int32_t s32[3] = {1, -1, 0x800000};
	static const int32_t s24[3] = {1, -1, -0x800000};
	struct pix_desc d;
	struct pix_frame f;

	(void)state;
	d = ndesc(1, 3, 1, 32, 32, 31, true, PIX_MONOCHROME2);
	assert_int_equal(native(&d, le, 12, 0, false, &f), PC_OK);
	expect_samples(&f, s32, 3);
	free(f.data);
	assert_int_equal(native(&d, be, 12, 0, true, &f), PC_OK);
	expect_samples(&f, s32, 3);
	free(f.data);
	/* Unsigned 32-bit: the int32 holds the bit pattern (pix.h). */
	d.is_signed = false;
	assert_int_equal(native(&d, le, 12, 0, false, &f), PC_OK);
	assert_int_equal((uint32_t)f.data[1], UINT32_MAX);
	free(f.data);
	d = ndesc(1, 3, 1, 32, 24, 23, true, PIX_MONOCHROME2);
	assert_int_equal(native(&d, le, 12, 0, false, &f), PC_OK);
	expect_samples(&f, s24, 3);
	free(f.data);
}

static void test_native_planar(void **state)
{
	/* 2 pixels: R 10 11, G 20 21, B 30 31. */
	static const uint8_t p8[6] = {10, 11, 20, 21, 30, 31};
	static const uint8_t i8[6] = {10, 20, 30, 11, 21, 31};
	static const uint8_t p16be[12] = {0x01, 0x0A, 0x01, 0x0B, 0x02, 0x14,
					  0x02, 0x15, 0x03, 0x1E, 0x03, 0x1F};
	static const int32_t rgb[6] = {10, 20, 30, 11, 21, 31};
	static const int32_t rgb16[6] = {0x10A, 0x214, 0x31E,
					 0x10B, 0x215, 0x31F};
	struct pix_desc d;
	struct pix_frame f;

	(void)state;
	d = ndesc(1, 2, 3, 8, 8, 7, false, PIX_RGB);
	assert_int_equal(native(&d, i8, 6, 0, false, &f), PC_OK);
	expect_samples(&f, rgb, 6);
	free(f.data);
	d.planar = 1;
	assert_int_equal(native(&d, p8, 6, 0, false, &f), PC_OK);
	expect_samples(&f, rgb, 6);
	free(f.data);
	d = ndesc(1, 2, 3, 16, 16, 15, false, PIX_RGB);
	d.planar = 1;
	assert_int_equal(native(&d, p16be, 12, 0, true, &f), PC_OK);
	expect_samples(&f, rgb16, 6);
	free(f.data);
}

static void test_native_1bit(void **state)
{
	/* Bits LSB first: byte 0xA5 = 1,0,1,0,0,1,0,1. */
	static const uint8_t in[3] = {0xA5, 0x0F, 0x80};
	static const int32_t all[20] = {1, 0, 1, 0, 0, 1, 0, 1, 1, 1,
					1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
	struct pix_desc d;
	struct pix_frame f;

	(void)state;
	d = ndesc(4, 5, 1, 1, 1, 0, false, PIX_MONOCHROME2);
	assert_int_equal(native(&d, in, 3, 0, false, &f), PC_OK);
	expect_samples(&f, all, 20);
	free(f.data);
	/* A frame starting at bit 3 of its first byte. */
	d = ndesc(1, 6, 1, 1, 1, 0, false, PIX_MONOCHROME2);
	assert_int_equal(native(&d, in, 2, 3, false, &f), PC_OK);
	expect_samples(&f, all + 3, 6);
	free(f.data);
	/* Bits 5..14, crossing a byte: 10 pixels in 2 bytes. */
	d = ndesc(2, 5, 1, 1, 1, 0, false, PIX_MONOCHROME2);
	assert_int_equal(native(&d, in, 2, 5, false, &f), PC_OK);
	expect_samples(&f, all + 5, 10);
	free(f.data);
	/* Big endian data sets do not reorder bits or bytes. */
	assert_int_equal(native(&d, in, 2, 5, true, &f), PC_OK);
	expect_samples(&f, all + 5, 10);
	free(f.data);
	/* 12 pixels from bit 5 need 3 bytes. */
	d = ndesc(3, 4, 1, 1, 1, 0, false, PIX_MONOCHROME2);
	assert_int_equal(native(&d, in, 2, 5, false, &f), PC_TRUNC);
	free(f.data);
	assert_int_equal(native(&d, in, 3, 5, false, &f), PC_OK);
	free(f.data);
	assert_int_equal(native(&d, in, 3, 8, false, &f), PC_INVAL);
	free(f.data);
}

static void test_native_422(void **state)
{
	/* Y1 Y2 Cb Cr for each pair (PS3.3 C.7.6.3.1.2). */
	static const uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const int32_t want[12] = {1, 3, 4, 2, 3, 4, 5, 7, 8, 6, 7, 8};
	static const uint8_t in16[8] = {0x01, 0x00, 0x02, 0x00,
					0x03, 0x01, 0x04, 0x01};
	static const int32_t want16[6] = {1, 0x103, 0x104, 2, 0x103, 0x104};
	struct pix_desc d;
	struct pix_frame f;

	(void)state;
	d = ndesc(2, 2, 3, 8, 8, 7, false, PIX_YBR_FULL_422);
	assert_int_equal(native(&d, in, 8, 0, false, &f), PC_OK);
	expect_samples(&f, want, 12);
	free(f.data);
	assert_int_equal(native(&d, in, 7, 0, false, &f), PC_TRUNC);
	free(f.data);
	d = ndesc(1, 2, 3, 16, 16, 15, false, PIX_YBR_PARTIAL_422);
	assert_int_equal(native(&d, in16, 8, 0, false, &f), PC_OK);
	expect_samples(&f, want16, 6);
	free(f.data);
	d = ndesc(1, 3, 3, 8, 8, 7, false, PIX_YBR_FULL_422);
	assert_int_equal(native(&d, in, 8, 0, false, &f), PC_UNSUPPORTED);
	free(f.data);
}

/* Whole path: data set -> descriptor -> pix_frame_decode. */
static void test_native_frames(void **state)
{
	/* 5x3 1-bit frames of 15 bits: frame 1 starts at bit 15, frame 2
	 * at bit 30 (byte 3, bit 6). */
	uint8_t px[6];
	struct pix_desc d;
	struct pix_frame f;
	struct pc_err err = {0};
	dcm_dataset *ds = image(5, 3, 1, 1, 1, 0, "MONOCHROME2");

	(void)state;
	set_us(ds, T_HB, 0);
	set_str(ds, T_FRAMES, DCM_VR_IS, "3");
	/* Bit k set when k % 3 == 0 or k == 44. */
	memset(px, 0, sizeof(px));
	for (unsigned k = 0; k < 45; k++)
		if (k % 3 == 0 || k == 44)
			px[k / 8] |= (uint8_t)(1u << (k % 8));
	set_pixels(ds, px, sizeof(px));
	assert_int_equal(pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err),
			 PC_OK);
	for (uint32_t fr = 0; fr < 3; fr++) {
		assert_int_equal(pix_frame_decode(&d, fr, &f, &err), PC_OK);
		assert_int_equal(f.rows, 5);
		assert_int_equal(f.cols, 3);
		for (unsigned i = 0; i < 15; i++) {
			unsigned k = fr * 15 + i;

			assert_int_equal(f.data[i], k % 3 == 0 || k == 44);
		}
		pix_frame_cleanup(&f);
	}
	assert_int_equal(pix_frame_decode(&d, 3, &f, &err), PC_NOTFOUND);
	assert_null(f.data);
	dcm_dataset_destroy(ds);
}

/* ---- colour --------------------------------------------------------------- */

/* YCbCr triplets and the RGB pydicom's convert_color_space gives for them
 * (YBR_FULL); our conversion is identical for all 2^24 inputs. */
static const struct {
	uint8_t ybr[3], rgb[3];
} ybr_full_vectors[] = {
	{{0, 128, 128}, {0, 0, 0}},
	{{255, 128, 128}, {255, 255, 255}},
	{{128, 128, 128}, {128, 128, 128}},
	{{76, 85, 255}, {254, 0, 0}},
	{{150, 44, 21}, {0, 255, 1}},
	{{29, 255, 107}, {0, 0, 254}},
	{{0, 0, 0}, {0, 135, 0}},
	{{255, 255, 255}, {255, 121, 255}},
	{{100, 200, 50}, {0, 131, 228}},
	{{17, 3, 250}, {188, 0, 0}},
	{{201, 99, 160}, {246, 188, 150}},
};

static void test_ybr_full(void **state)
{
	size_t n = sizeof(ybr_full_vectors) / sizeof(ybr_full_vectors[0]);
	int32_t data[3 * 16];
	struct pix_frame f = {1, (uint32_t)n, 3, 8, false, PIX_YBR_FULL,
			      data};

	(void)state;
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < 3; c++)
			data[3 * i + c] = ybr_full_vectors[i].ybr[c];
	pix__ybr_to_rgb(&f);
	assert_int_equal(f.photometric, PIX_RGB);
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < 3; c++)
			if (data[3 * i + c] != ybr_full_vectors[i].rgb[c])
				fail_msg("YCbCr %u,%u,%u: channel %d is %d, "
					 "pydicom gives %u",
					 ybr_full_vectors[i].ybr[0],
					 ybr_full_vectors[i].ybr[1],
					 ybr_full_vectors[i].ybr[2], c,
					 data[3 * i + c],
					 ybr_full_vectors[i].rgb[c]);
	/* YBR_FULL_422 (expanded) uses the same equations. */
	data[0] = 76;
	data[1] = 85;
	data[2] = 255;
	f.cols = 1;
	f.photometric = PIX_YBR_FULL_422;
	pix__ybr_to_rgb(&f);
	assert_int_equal(f.photometric, PIX_RGB);
	assert_int_equal(data[0], 254);
	assert_int_equal(data[1], 0);
	assert_int_equal(data[2], 0);
}

static void test_ybr_other(void **state)
{
	/* BT.601 studio range: black 16, white 235, grey 126. */
	int32_t data[9] = {16, 128, 128, 235, 128, 128, 126, 128, 128};
	struct pix_frame f = {1, 3, 3, 8, false, PIX_YBR_PARTIAL_422, data};
	/* 16-bit full range: offsets scale to 32768. */
	int32_t d16[6] = {65535, 32768, 32768, 19456, 21760, 65280};
	struct pix_frame g = {1, 2, 3, 16, false, PIX_YBR_FULL, d16};
	/* Not YCbCr: untouched. */
	int32_t rgb[3] = {1, 2, 3};
	struct pix_frame h = {1, 1, 3, 8, false, PIX_RGB, rgb};

	(void)state;
	pix__ybr_to_rgb(&f);
	assert_int_equal(f.photometric, PIX_RGB);
	assert_int_equal(data[0], 0);
	assert_int_equal(data[1], 0);
	assert_int_equal(data[2], 0);
	assert_int_equal(data[3], 255);
	assert_int_equal(data[4], 255);
	assert_int_equal(data[5], 255);
	assert_int_equal(data[6], 128);
	assert_int_equal(data[7], 128);
	f.photometric = PIX_YBR_PARTIAL_420;
	data[0] = 81;
	data[1] = 90;
	data[2] = 240;
	f.cols = 1;
	pix__ybr_to_rgb(&f);
	/* BT.601 red: 81, 90, 240 -> 255, 0, 0 (within rounding). */
	assert_true(data[0] >= 254);
	assert_true(data[1] <= 1);
	assert_true(data[2] <= 1);

	pix__ybr_to_rgb(&g);
	assert_int_equal(g.photometric, PIX_RGB);
	assert_int_equal(d16[0], 65535);
	assert_int_equal(d16[1], 65535);
	assert_int_equal(d16[2], 65535);
	/* 8-bit (76, 85, 255) scaled by 256: red. */
	assert_true(d16[3] >= 65000);
	assert_true(d16[4] <= 256);
	assert_true(d16[5] <= 256);

	pix__ybr_to_rgb(&h);
	assert_int_equal(h.photometric, PIX_RGB);
	assert_int_equal(rgb[0], 1);
	assert_int_equal(rgb[2], 3);
}

/* ---- frames of encapsulated data ----------------------------------------- */

struct encaps {
	dcm_dataset *ds;
	dcm_elem *e;
	struct pix_desc d;
};

static void encaps_init(struct encaps *x, const struct dcm_ts *ts,
			unsigned frames, const uint32_t *bot, size_t nbot)
{
	uint8_t b[4 * 16];
	char fr[16];

	x->ds = image(2, 2, 1, 8, 8, 0, "MONOCHROME2");
	snprintf(fr, sizeof(fr), "%u", frames);
	set_str(x->ds, T_FRAMES, DCM_VR_IS, fr);
	for (size_t i = 0; i < nbot; i++) {
		b[4 * i] = (uint8_t)bot[i];
		b[4 * i + 1] = (uint8_t)(bot[i] >> 8);
		b[4 * i + 2] = (uint8_t)(bot[i] >> 16);
		b[4 * i + 3] = (uint8_t)(bot[i] >> 24);
	}
	x->e = set_encaps(x->ds, b, 4 * nbot);
	(void)ts;
}

static void encaps_desc(struct encaps *x, const struct dcm_ts *ts)
{
	struct pc_err err = {0};

	assert_int_equal(pix_desc_read(x->ds, ts, &x->d, &err), PC_OK);
}

static void expect_frame(struct encaps *x, uint32_t index, const char *want)
{
	struct pc_buf scratch = PC_BUF_INIT;
	struct pc_span out;
	struct pc_err err = {0};
	enum pc_status st;

	st = pix_frame_bytes(&x->d, index, &scratch, &out, &err);
	if (st != PC_OK)
		fail_msg("frame %u: %s", index, err.msg);
	if (out.n != strlen(want) || memcmp(out.p, want, out.n) != 0)
		fail_msg("frame %u: got \"%.*s\", want \"%s\"", index,
			 (int)out.n, (const char *)out.p, want);
	pc_buf_cleanup(&scratch);
}

static void expect_frame_error(struct encaps *x, uint32_t index,
			       enum pc_status st, const char *needle)
{
	struct pc_buf scratch = PC_BUF_INIT;
	struct pc_span out;
	struct pc_err err = {0};

	assert_int_equal(pix_frame_bytes(&x->d, index, &scratch, &out, &err),
			 st);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
	pc_buf_cleanup(&scratch);
}

static void test_frames_bot(void **state)
{
	/* Fragments "AAAA" "BB" | "CCCCCC" | "DD": item sizes 12, 10, 14,
	 * 10, so frames start at offsets 0, 22, 36. */
	static const uint32_t bot[3] = {0, 22, 36};
	static const uint32_t bad_mid[3] = {0, 12 + 4, 36};
	static const uint32_t bad_past[3] = {0, 22, 46};
	static const uint32_t bad_order[3] = {0, 36, 22};
	struct encaps x;

	(void)state;
	encaps_init(&x, ts_rle, 3, bot, 3);
	add_frag(x.e, "AAAA", 4);
	add_frag(x.e, "BB", 2);
	add_frag(x.e, "CCCCCC", 6);
	add_frag(x.e, "DD", 2);
	encaps_desc(&x, ts_jpeg);
	expect_frame(&x, 0, "AAAABB");
	expect_frame(&x, 1, "CCCCCC");
	expect_frame(&x, 2, "DD");
	expect_frame_error(&x, 3, PC_NOTFOUND, "frame 4 requested");
	dcm_dataset_destroy(x.ds);

	encaps_init(&x, ts_rle, 3, bad_mid, 3);
	add_frag(x.e, "AAAA", 4);
	add_frag(x.e, "BB", 2);
	add_frag(x.e, "CCCCCC", 6);
	add_frag(x.e, "DD", 2);
	encaps_desc(&x, ts_jpeg);
	expect_frame_error(&x, 0, PC_PARSE, "frame 2 the offset 16");
	expect_frame_error(&x, 1, PC_PARSE,
			   "gives frame 2 the offset 16, where no fragment");
	expect_frame(&x, 2, "DD");
	dcm_dataset_destroy(x.ds);

	encaps_init(&x, ts_rle, 3, bad_past, 3);
	add_frag(x.e, "AAAA", 4);
	add_frag(x.e, "BB", 2);
	add_frag(x.e, "CCCCCC", 6);
	add_frag(x.e, "DD", 2);
	encaps_desc(&x, ts_jpeg);
	expect_frame_error(&x, 2, PC_PARSE, "frame 3 the offset 46");
	dcm_dataset_destroy(x.ds);

	encaps_init(&x, ts_rle, 3, bad_order, 3);
	add_frag(x.e, "AAAA", 4);
	add_frag(x.e, "BB", 2);
	add_frag(x.e, "CCCCCC", 6);
	add_frag(x.e, "DD", 2);
	encaps_desc(&x, ts_jpeg);
	expect_frame_error(&x, 1, PC_PARSE, "frame 3 the offset 22");
	dcm_dataset_destroy(x.ds);

	/* A table with fewer entries than frames is refused. */
	encaps_init(&x, ts_rle, 3, bot, 2);
	add_frag(x.e, "AAAA", 4);
	add_frag(x.e, "BB", 2);
	add_frag(x.e, "CC", 2);
	encaps_desc(&x, ts_jpeg);
	expect_frame_error(&x, 0, PC_PARSE,
			   "Basic Offset Table of 8 bytes for 3 frames");
	dcm_dataset_destroy(x.ds);
}

static void test_frames_no_bot(void **state)
{
	struct encaps x;

	(void)state;
	/* One fragment per frame. */
	encaps_init(&x, ts_rle, 2, NULL, 0);
	add_frag(x.e, "AA", 2);
	add_frag(x.e, "BBBB", 4);
	encaps_desc(&x, ts_rle);
	expect_frame(&x, 0, "AA");
	expect_frame(&x, 1, "BBBB");
	dcm_dataset_destroy(x.ds);

	/* One frame: every fragment joined. */
	encaps_init(&x, ts_rle, 1, NULL, 0);
	add_frag(x.e, "AA", 2);
	add_frag(x.e, "BBBB", 4);
	add_frag(x.e, "", 0);
	add_frag(x.e, "CC", 2);
	encaps_desc(&x, ts_jpeg);
	expect_frame(&x, 0, "AABBBBCC");
	dcm_dataset_destroy(x.ds);

	/* Fewer fragments than frames. */
	encaps_init(&x, ts_rle, 3, NULL, 0);
	add_frag(x.e, "AA", 2);
	add_frag(x.e, "BB", 2);
	encaps_desc(&x, ts_jpeg);
	expect_frame_error(&x, 0, PC_PARSE, "3 frames but only 2 fragments");
	dcm_dataset_destroy(x.ds);

	/* No fragment at all. */
	encaps_init(&x, ts_rle, 1, NULL, 0);
	encaps_desc(&x, ts_jpeg);
	expect_frame_error(&x, 0, PC_PARSE, "without fragments");
	dcm_dataset_destroy(x.ds);
}

static void test_frames_scan(void **state)
{
	struct encaps x;
	uint8_t rle[2][68];
	struct pc_buf scratch = PC_BUF_INIT;
	struct pc_span out;

	(void)state;
	/* JPEG: a frame begins at each fragment starting with SOI. */
	encaps_init(&x, ts_jpeg, 3, NULL, 0);
	add_frag(x.e, "\xFF\xD8" "a1", 4);
	add_frag(x.e, "a2", 2);
	add_frag(x.e, "\xFF\xD8" "b1", 4);
	add_frag(x.e, "\xFF\xD8" "c1", 4);
	add_frag(x.e, "c2", 2);
	add_frag(x.e, "c3", 2);
	encaps_desc(&x, ts_jpeg);
	expect_frame(&x, 0, "\xFF\xD8" "a1a2");
	expect_frame(&x, 1, "\xFF\xD8" "b1");
	expect_frame(&x, 2, "\xFF\xD8" "c1c2c3");
	dcm_dataset_destroy(x.ds);
	/* The same for JPEG Lossless, whose frames also begin with SOI. */
	encaps_init(&x, ts_ljpeg, 2, NULL, 0);
	add_frag(x.e, "\xFF\xD8" "a1", 4);
	add_frag(x.e, "a2", 2);
	add_frag(x.e, "\xFF\xD8" "b1", 4);
	encaps_desc(&x, ts_ljpeg);
	expect_frame(&x, 1, "\xFF\xD8" "b1");
	dcm_dataset_destroy(x.ds);

	/* JPEG 2000: SOC, or a JP2 signature box. */
	encaps_init(&x, ts_j2k, 2, NULL, 0);
	add_frag(x.e, "\xFF\x4F\xFF\x51", 4);
	add_frag(x.e, "xx", 2);
	add_frag(x.e, "\x00\x00\x00\x0C\x6A\x50\x20\x20\x0D\x0A\x87\x0A",
		 12);
	add_frag(x.e, "yy", 2);
	encaps_desc(&x, ts_j2k);
	expect_frame(&x, 0, "\xFF\x4F\xFF\x51xx");
	assert_int_equal(pix_frame_bytes(&x.d, 1, &scratch, &out, NULL),
			 PC_OK);
	assert_int_equal(out.n, 14);
	assert_memory_equal(out.p + 12, "yy", 2);
	dcm_dataset_destroy(x.ds);

	/* RLE: a header with 1..15 segments, the first at 64. */
	memset(rle, 0, sizeof(rle));
	for (int i = 0; i < 2; i++) {
		rle[i][0] = 1;
		rle[i][4] = 64;
		rle[i][64] = (uint8_t)('a' + i);
	}
	encaps_init(&x, ts_rle, 2, NULL, 0);
	add_frag(x.e, rle[0], 66);
	add_frag(x.e, "zz", 2);
	add_frag(x.e, rle[1], 68);
	encaps_desc(&x, ts_rle);
	assert_int_equal(pix_frame_bytes(&x.d, 0, &scratch, &out, NULL),
			 PC_OK);
	assert_int_equal(out.n, 68);
	assert_int_equal(out.p[64], 'a');
	assert_memory_equal(out.p + 66, "zz", 2);
	assert_int_equal(pix_frame_bytes(&x.d, 1, &scratch, &out, NULL),
			 PC_OK);
	assert_int_equal(out.n, 68);
	assert_int_equal(out.p[64], 'b');
	dcm_dataset_destroy(x.ds);

	/* Too few frame starts; first fragment not a codestream. */
	encaps_init(&x, ts_jpeg, 3, NULL, 0);
	add_frag(x.e, "\xFF\xD8" "a1", 4);
	add_frag(x.e, "a2", 2);
	add_frag(x.e, "\xFF\xD8" "b1", 4);
	add_frag(x.e, "b2", 2);
	encaps_desc(&x, ts_jpeg);
	expect_frame(&x, 1, "\xFF\xD8" "b1b2");
	expect_frame_error(&x, 2, PC_PARSE,
			   "frame 3 not found: the 4 fragments begin only 2");
	dcm_dataset_destroy(x.ds);
	encaps_init(&x, ts_jpeg, 2, NULL, 0);
	add_frag(x.e, "a1", 2);
	add_frag(x.e, "\xFF\xD8" "b1", 4);
	add_frag(x.e, "b2", 2);
	encaps_desc(&x, ts_jpeg);
	expect_frame_error(&x, 0, PC_PARSE, "first fragment does not begin");
	dcm_dataset_destroy(x.ds);
	/* Encapsulated uncompressed frames have no marker. */
	encaps_init(&x, ts_encaps_native, 2, NULL, 0);
	add_frag(x.e, "aaaa", 4);
	add_frag(x.e, "bbbb", 4);
	add_frag(x.e, "cccc", 4);
	encaps_desc(&x, ts_encaps_native);
	expect_frame_error(&x, 0, PC_PARSE, "cannot be found by their content");
	dcm_dataset_destroy(x.ds);
	pc_buf_cleanup(&scratch);
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_frames_eot(void **state)
{
	/* Fragments "AAAA" "BBBBBB" "CC" "DD": offsets 0, 12, 26, 36. */
	uint8_t eot[3 * 8], len[3 * 8];
	struct encaps x;

	(void)state;
	put64(eot, 0);
	put64(eot + 8, 12);
	put64(eot + 16, 26);
	put64(len, 4);
	put64(len + 8, 5);
	put64(len + 16, 4);
	encaps_init(&x, ts_rle, 3, NULL, 0);
	add_frag(x.e, "AAAA", 4);
	add_frag(x.e, "BBBBBB", 6);
	add_frag(x.e, "CC", 2);
	add_frag(x.e, "DD", 2);
	assert_int_equal(dcm_dataset_set(x.ds, T_EOT, DCM_VR_OV, eot, 24),
			 PC_OK);
	encaps_desc(&x, ts_jpeg);
	/* Without lengths: up to the next frame's fragment. */
	expect_frame(&x, 0, "AAAA");
	expect_frame(&x, 1, "BBBBBB");
	expect_frame(&x, 2, "CCDD");
	/* With lengths: exactly that many bytes (a fragment may be padded;
	 * the last frame here runs over two fragments). */
	assert_int_equal(dcm_dataset_set(x.ds, T_EOT_LEN, DCM_VR_OV, len, 24),
			 PC_OK);
	expect_frame(&x, 0, "AAAA");
	expect_frame(&x, 1, "BBBBB");
	expect_frame(&x, 2, "CCDD");
	put64(len + 16, 5);
	assert_int_equal(dcm_dataset_set(x.ds, T_EOT_LEN, DCM_VR_OV, len, 24),
			 PC_OK);
	expect_frame_error(&x, 2, PC_PARSE,
			   "frame 3 is 5 bytes long, its fragments hold 4");
	assert_int_equal(dcm_dataset_set(x.ds, T_EOT_LEN, DCM_VR_OV, len, 16),
			 PC_OK);
	expect_frame_error(&x, 0, PC_PARSE,
			   "(7FE0,0002) Extended Offset Table Lengths of 16");
	/* Offsets that miss a fragment, and a short table. */
	put64(eot + 8, 13);
	assert_int_equal(dcm_dataset_set(x.ds, T_EOT, DCM_VR_OV, eot, 24),
			 PC_OK);
	expect_frame_error(&x, 1, PC_PARSE, "frame 2 the offset 13");
	put64(eot + 8, 1000);
	assert_int_equal(dcm_dataset_set(x.ds, T_EOT, DCM_VR_OV, eot, 24),
			 PC_OK);
	expect_frame_error(&x, 1, PC_PARSE, "frame 2 the offset 1000");
	assert_int_equal(dcm_dataset_set(x.ds, T_EOT, DCM_VR_OV, eot, 20),
			 PC_OK);
	expect_frame_error(&x, 0, PC_PARSE,
			   "Extended Offset Table of 20 bytes");
	dcm_dataset_destroy(x.ds);
}

static void test_frames_nomem(void **state)
{
	struct encaps x;
	struct pc_buf scratch = PC_BUF_INIT;
	struct pc_span out;
	struct pc_err err = {0};
	enum pc_status st;

	(void)state;
	encaps_init(&x, ts_jpeg, 1, NULL, 0);
	add_frag(x.e, "\xFF\xD8" "a1", 4);
	add_frag(x.e, "a2", 2);
	encaps_desc(&x, ts_jpeg);
	pc_alloc_fail_after(1);
	st = pix_frame_bytes(&x.d, 0, &scratch, &out, &err);
	pc_alloc_fail_after(0);
	assert_int_equal(st, PC_NOMEM);
	assert_non_null(strstr(err.msg, "joining the 2 fragments of frame 1"));
	pc_buf_cleanup(&scratch);
	dcm_dataset_destroy(x.ds);
}

/* ---- pydicom's test files ------------------------------------------------- */


static const char *files_dir(void)
{
	const char *dir = getenv("PYDICOM_TEST_FILES");

	return dir != NULL ? dir : PYDICOM_TEST_FILES;
}

static void test_pydicom_files(void **state)
{
	const char *src = getenv("PACSD_SOURCE_DIR");
	char path[1024], line[512], prev[256] = "";
	FILE *fp;
	dcm_file *file = NULL;
	struct pix_desc d;
	unsigned frames = 0, files = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/unit/data/pixel/vectors.txt",
		 src != NULL ? src : ".");
	fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open %s (set PACSD_SOURCE_DIR)", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char name[256], photo[64];
		unsigned frame;
		size_t count;
		unsigned long long hash;
		long long min, max;
		struct pix_frame f;
		struct pc_err err = {0};

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%255s %u %zu %63s %llx %lld %lld", name,
			   &frame, &count, photo, &hash, &min, &max) != 7)
			fail_msg("bad vector line: %s", line);
		if (strcmp(name, prev) != 0) {
			dcm_file_destroy(file);
			snprintf(path, sizeof(path), "%s/%s", files_dir(),
				 name);
			file = dcm_file_open(path, NULL, &err);
			if (file == NULL)
				fail_msg("%s: %s", path, err.msg);
			if (pix_desc_read(dcm_file_dataset(file),
					  dcm_file_ts(file), &d, &err) != PC_OK)
				fail_msg("%s: %s", name, err.msg);
			snprintf(prev, sizeof(prev), "%s", name);
			files++;
		}
		if (pix_frame_decode(&d, frame, &f, &err) != PC_OK)
			fail_msg("%s frame %u: %s", name, frame, err.msg);
		if ((size_t)f.rows * f.cols * f.samples != count)
			fail_msg("%s frame %u: %u x %u x %u samples, pydicom "
				 "has %zu",
				 name, frame, f.rows, f.cols, f.samples, count);
		for (char *c = photo; *c; c++)
			if (*c == '_' && strncmp(photo, "PALETTE", 7) == 0)
				*c = ' ';
		if (strcmp(pix_photometric_name(f.photometric), photo) != 0)
			fail_msg("%s frame %u: photometric %s, want %s", name,
				 frame, pix_photometric_name(f.photometric),
				 photo);
		if (pixtest_fnv1a(f.data, count) != hash) {
			int32_t lo = INT32_MAX, hi = INT32_MIN;

			for (size_t i = 0; i < count; i++) {
				lo = f.data[i] < lo ? f.data[i] : lo;
				hi = f.data[i] > hi ? f.data[i] : hi;
			}
			fail_msg("%s frame %u differs from pydicom (min %d max "
				 "%d, pydicom %lld %lld)",
				 name, frame, lo, hi, min, max);
		}
		pix_frame_cleanup(&f);
		frames++;
	}
	fclose(fp);
	dcm_file_destroy(file);
	print_message("%u frames of %u files identical to pydicom\n", frames,
		      files);
	assert_true(files >= 25);
}

/* Files pydicom refuses are refused here too, with a reason. */
static void test_pydicom_refused(void **state)
{
	static const struct {
		const char *name;
		enum pc_status st;
		const char *needle;
	} cases[] = {
		{"badVR.dcm", PC_PARSE, "(0028,0008) Number of Frames"},
		{"nested_priv_SQ.dcm", PC_PARSE, "(0028,0010) Rows is missing"},
		{"rtplan.dcm", PC_NOTFOUND, "no Pixel Data"},
	};
	char path[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pc_err err = {0};
		struct pix_desc d;
		dcm_file *f;

		snprintf(path, sizeof(path), "%s/%s", files_dir(),
			 cases[i].name);
		f = dcm_file_open(path, NULL, &err);
		if (f == NULL)
			fail_msg("%s: %s", path, err.msg);
		assert_int_equal(pix_desc_read(dcm_file_dataset(f),
					       dcm_file_ts(f), &d, &err),
				 cases[i].st);
		if (strstr(err.msg, cases[i].needle) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].name,
				 err.msg, cases[i].needle);
		dcm_file_destroy(f);
	}
}

/* Every allocation of a decode fails in turn: PC_NOMEM, nothing leaked. */
static void test_decode_nomem(void **state)
{
	char path[1024];
	struct pc_err err = {0};
	struct pix_desc d;
	struct pix_frame f;
	dcm_file *file;
	enum pc_status st;

	(void)state;
	snprintf(path, sizeof(path), "%s/SC_rgb_rle_2frame.dcm", files_dir());
	file = dcm_file_open(path, NULL, &err);
	assert_non_null(file);
	assert_int_equal(pix_desc_read(dcm_file_dataset(file),
				       dcm_file_ts(file), &d, &err),
			 PC_OK);
	for (uint64_t n = 1;; n++) {
		pc_alloc_fail_after(n);
		st = pix_frame_decode(&d, 1, &f, &err);
		pc_alloc_fail_after(0);
		if (st == PC_OK) {
			pix_frame_cleanup(&f);
			break;
		}
		assert_int_equal(st, PC_NOMEM);
		assert_null(f.data);
		assert_true(n < 10);
	}
	dcm_file_destroy(file);
}

static int setup(void **state)
{
	(void)state;
	ts_rle = dcm_ts_find("1.2.840.10008.1.2.5", 19);
	ts_jpeg = dcm_ts_find("1.2.840.10008.1.2.4.50", 22);
	ts_ljpeg = dcm_ts_find("1.2.840.10008.1.2.4.70", 22);
	ts_j2k = dcm_ts_find("1.2.840.10008.1.2.4.90", 22);
	ts_encaps_native = dcm_ts_find("1.2.840.10008.1.2.1.98", 22);
	return ts_rle && ts_jpeg && ts_ljpeg && ts_j2k && ts_encaps_native
		       ? 0
		       : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_photometric),
		cmocka_unit_test(test_desc_ok),
		cmocka_unit_test(test_desc_errors),
		cmocka_unit_test(test_desc_length),
		cmocka_unit_test(test_desc_kinds),
		cmocka_unit_test(test_native_8),
		cmocka_unit_test(test_native_16),
		cmocka_unit_test(test_native_32),
		cmocka_unit_test(test_native_planar),
		cmocka_unit_test(test_native_1bit),
		cmocka_unit_test(test_native_422),
		cmocka_unit_test(test_native_frames),
		cmocka_unit_test(test_ybr_full),
		cmocka_unit_test(test_ybr_other),
		cmocka_unit_test(test_frames_bot),
		cmocka_unit_test(test_frames_no_bot),
		cmocka_unit_test(test_frames_scan),
		cmocka_unit_test(test_frames_eot),
		cmocka_unit_test(test_frames_nomem),
		cmocka_unit_test(test_pydicom_files),
		cmocka_unit_test(test_pydicom_refused),
		cmocka_unit_test(test_decode_nomem),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
