/*
 * test_rle.c - the RLE Lossless decoder (src/pixel/rle.c, PS3.5 Annex G)
 * on hand-built frames: PackBits runs, byte planes and their assembly into
 * samples, and every way a frame can be broken.
 *
 * Real RLE files (pydicom's and dcmtk's) are compared with pydicom in
 * test_pixel.c; this file pins the rules one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pixel/pixel_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- builders ------------------------------------------------------------ */

struct seg {
	const uint8_t *p;
	size_t n;
};

#define SEG(...)                                                               \
	((struct seg){(const uint8_t[]){__VA_ARGS__},                          \
		      sizeof((const uint8_t[]){__VA_ARGS__})})

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Header (G.5) + segments into `out` (the caller frees); returns size. */
static size_t frame(uint8_t **out, const struct seg *s, unsigned n)
{
	size_t total = 64;
	uint8_t *p;

	for (unsigned i = 0; i < n; i++)
		total += s[i].n;
	p = calloc(1, total);
	assert_non_null(p);
	put32(p, n);
	total = 64;
	for (unsigned i = 0; i < n; i++) {
		put32(p + 4 + 4 * i, (uint32_t)total);
		memcpy(p + total, s[i].p, s[i].n);
		total += s[i].n;
	}
	*out = p;
	return total;
}

static struct pix_desc desc(uint32_t rows, uint32_t cols, uint16_t samples,
			    uint16_t ba, uint16_t bs, bool is_signed)
{
	struct pix_desc d;

	memset(&d, 0, sizeof(d));
	d.rows = rows;
	d.cols = cols;
	d.frames = 1;
	d.samples = samples;
	d.bits_allocated = ba;
	d.bits_stored = bs;
	d.high_bit = (uint16_t)(bs - 1);
	d.is_signed = is_signed;
	d.photometric = samples == 3 ? PIX_RGB : PIX_MONOCHROME2;
	return d;
}

/* Decodes `in`; on success the samples are in f->data (caller frees). */
static enum pc_status decode(const struct pix_desc *d, const uint8_t *in,
			     size_t n, struct pix_frame *f, struct pc_err *err)
{
	size_t count = (size_t)d->rows * d->cols * d->samples;
	enum pc_status st;

	memset(err, 0, sizeof(*err));
	pix__frame_shape(f, d);
	/* Exactly sized, so that ASan sees any write past the frame. */
	f->data = malloc(count * sizeof(int32_t));
	assert_non_null(f->data);
	st = pix__decode_rle(d, pc_span_make(in, n), f, err);
	if (st != PC_OK) {
		assert_int_equal(err->status, st);
		assert_true(err->msg[0] != '\0');
	}
	return st;
}

static void expect(const struct pix_frame *f, const int32_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (f->data[i] != want[i])
			fail_msg("sample %zu: got %d, want %d", i, f->data[i],
				 want[i]);
}

static void expect_error(const struct pix_desc *d, const uint8_t *in,
			 size_t n, enum pc_status st, const char *needle)
{
	struct pix_frame f;
	struct pc_err err;

	assert_int_equal(decode(d, in, n, &f, &err), st);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
	free(f.data);
}

/* ---- PackBits (G.3.1) ----------------------------------------------------- */

static void test_packbits(void **state)
{
	/* Literal of 3 (header 2), replicate 4 (header -3 = 0xFD), no-op
	 * -128, literal of 1, replicate 128 would overflow: 2 (0xFF). */
	struct seg s = SEG(0x02, 10, 20, 30, 0xFD, 7, 0x80, 0x00, 99, 0xFF, 5);
	static const int32_t want[10] = {10, 20, 30, 7, 7, 7, 7, 99, 5, 5};
	struct pix_desc d = desc(2, 5, 1, 8, 8, false);
	struct pix_frame f;
	struct pc_err err;
	uint8_t *in;
	size_t n = frame(&in, &s, 1);

	(void)state;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	expect(&f, want, 10);
	free(f.data);
	free(in);
}

static void test_packbits_long_runs(void **state)
{
	/* The longest runs: replicate 128 (0x81) and literal 128 (0x7F). */
	uint8_t seg[2 + 1 + 128];
	struct seg s = {seg, sizeof(seg)};
	struct pix_desc d = desc(16, 16, 1, 8, 8, false);
	struct pix_frame f;
	struct pc_err err;
	uint8_t *in;
	size_t n;

	(void)state;
	seg[0] = 0x81;
	seg[1] = 42;
	seg[2] = 0x7F;
	for (int i = 0; i < 128; i++)
		seg[3 + i] = (uint8_t)i;
	n = frame(&in, &s, 1);
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	for (int i = 0; i < 128; i++) {
		assert_int_equal(f.data[i], 42);
		assert_int_equal(f.data[128 + i], i);
	}
	free(f.data);
	free(in);
}

/* Runs that go past the end of the plane are cut (the encoder padded the
 * row); bytes after the plane is full are ignored (pydicom warns). */
static void test_packbits_overrun(void **state)
{
	struct seg s = SEG(0xFB, 1, 0x03, 2, 3, 4, 5, 0x00, 9);
	static const int32_t want[8] = {1, 1, 1, 1, 1, 1, 2, 3};
	struct pix_desc d = desc(2, 4, 1, 8, 8, false);
	struct pix_frame f;
	struct pc_err err;
	uint8_t *in;
	size_t n = frame(&in, &s, 1);

	(void)state;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	expect(&f, want, 8);
	free(f.data);
	free(in);
}

/* A literal run whose count crosses the segment end copies what is there
 * (pydicom's slice); here that is enough for the plane. */
static void test_literal_cut_by_segment(void **state)
{
	struct seg s[2] = {SEG(0x05, 1, 2, 3, 4), SEG(0x03, 5, 6, 7, 8)};
	static const int32_t want[4] = {0x0105, 0x0206, 0x0307, 0x0408};
	struct pix_desc d = desc(1, 4, 1, 16, 16, false);
	struct pix_frame f;
	struct pc_err err;
	uint8_t *in;
	size_t n = frame(&in, s, 2);

	(void)state;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	expect(&f, want, 4);
	free(f.data);
	free(in);

	/* The same run one byte shorter leaves the plane short. */
	s[0] = SEG(0x05, 1, 2, 3);
	n = frame(&in, s, 2);
	expect_error(&d, in, n, PC_TRUNC,
		     "segment 1 (offset 64, 4 bytes) decodes to 3 bytes, 4 "
		     "expected");
	free(in);
}

static void test_short_segments(void **state)
{
	struct pix_desc d = desc(2, 2, 1, 8, 8, false);
	struct seg s;
	uint8_t *in;
	size_t n;

	(void)state;
	/* A replicate header as the last byte adds nothing. */
	s = SEG(0xFE, 1, 0xFF);
	n = frame(&in, &s, 1);
	expect_error(&d, in, n, PC_TRUNC, "decodes to 3 bytes, 4 expected");
	free(in);
	/* Only no-ops. */
	s = SEG(0x80, 0x80);
	n = frame(&in, &s, 1);
	expect_error(&d, in, n, PC_TRUNC, "decodes to 0 bytes, 4 expected");
	free(in);
	/* An empty segment (header only). */
	n = frame(&in, NULL, 0);
	put32(in, 1);
	put32(in + 4, 64);
	expect_error(&d, in, n, PC_TRUNC, "segment 1 (offset 64, 0 bytes)");
	free(in);
}

/* ---- byte planes and samples (G.2) --------------------------------------- */

static void test_planes_16(void **state)
{
	/* MSB plane first: 0x12 0x80 0xFF, LSB plane: 0x34 0x00 0xFF. */
	struct seg s[2] = {SEG(0x02, 0x12, 0x80, 0xFF),
			   SEG(0x02, 0x34, 0x00, 0xFF)};
	static const int32_t u16[3] = {0x1234, 0x8000, 0xFFFF};
	static const int32_t s16[3] = {0x1234, -32768, -1};
	/* Signed 12 in 16: the top nibble is masked, bit 11 extended. */
	static const int32_t s12[3] = {0x234, 0, -1};
	struct pix_desc d = desc(1, 3, 1, 16, 16, false);
	struct pix_frame f;
	struct pc_err err;
	uint8_t *in;
	size_t n = frame(&in, s, 2);

	(void)state;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	expect(&f, u16, 3);
	free(f.data);
	d.is_signed = true;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	expect(&f, s16, 3);
	free(f.data);
	d = desc(1, 3, 1, 16, 12, true);
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	expect(&f, s12, 3);
	free(f.data);
	/* High Bit 15 with 12 bits stored: the value is bits 4..15. */
	d.high_bit = 15;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	assert_int_equal(f.data[0], 0x123);
	assert_int_equal(f.data[1], -2048);
	assert_int_equal(f.data[2], -1);
	free(f.data);
	free(in);
}

static void test_planes_32(void **state)
{
	struct seg s[4] = {SEG(0x01, 0xFF, 0x00), SEG(0x01, 0xFE, 0x01),
			   SEG(0x01, 0xFD, 0x02), SEG(0x01, 0xFC, 0x03)};
	struct pix_desc d = desc(1, 2, 1, 32, 32, false);
	struct pix_frame f;
	struct pc_err err;
	uint8_t *in;
	size_t n = frame(&in, s, 4);

	(void)state;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	/* Unsigned 32-bit: the bit pattern (pix.h). */
	assert_int_equal((uint32_t)f.data[0], 0xFFFEFDFCu);
	assert_int_equal(f.data[1], 0x00010203);
	free(f.data);
	d.is_signed = true;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	assert_int_equal(f.data[0], (int32_t)-66052);
	free(f.data);
	free(in);
}

static void test_planes_rgb(void **state)
{
	/* R plane, G plane, B plane -> interleaved R G B. */
	struct seg s8[3] = {SEG(0xFF, 10), SEG(0x01, 20, 21),
			    SEG(0x01, 30, 31)};
	static const int32_t rgb8[6] = {10, 20, 30, 10, 21, 31};
	/* 16-bit: R msb, R lsb, G msb, G lsb, B msb, B lsb. */
	struct seg s16[6] = {SEG(0x00, 0x01), SEG(0x00, 0x02),
			     SEG(0x00, 0x03), SEG(0x00, 0x04),
			     SEG(0x00, 0x05), SEG(0x00, 0x06)};
	static const int32_t rgb16[3] = {0x0102, 0x0304, 0x0506};
	struct pix_desc d = desc(1, 2, 3, 8, 8, false);
	struct pix_frame f;
	struct pc_err err;
	uint8_t *in;
	size_t n = frame(&in, s8, 3);

	(void)state;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	expect(&f, rgb8, 6);
	free(f.data);
	/* Planar Configuration does not change RLE's layout. */
	d.planar = 1;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	expect(&f, rgb8, 6);
	free(f.data);
	free(in);
	d = desc(1, 1, 3, 16, 16, false);
	n = frame(&in, s16, 6);
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	expect(&f, rgb16, 3);
	free(f.data);
	free(in);
}

/* ---- broken frames -------------------------------------------------------- */

static void test_header_errors(void **state)
{
	struct seg s[2] = {SEG(0x00, 1), SEG(0x00, 2)};
	struct pix_desc d = desc(1, 1, 1, 16, 16, false);
	uint8_t *in;
	size_t n = frame(&in, s, 2);

	(void)state;
	expect_error(&d, in, 63, PC_TRUNC, "shorter than the 64-byte header");
	expect_error(&d, in, 0, PC_TRUNC, "frame of 0 bytes");
	put32(in, 16);
	expect_error(&d, in, n, PC_PARSE, "declares 16 segments, at most 15");
	put32(in, 0xFFFFFFFFu);
	expect_error(&d, in, n, PC_PARSE, "declares 4294967295 segments");
	put32(in, 1);
	expect_error(&d, in, n, PC_PARSE,
		     "declares 1 segments, 1 samples of 16 bits need 2");
	put32(in, 2);
	put32(in + 8, 60);
	expect_error(&d, in, n, PC_PARSE, "segment 2 offset 60 is outside");
	put32(in + 8, (uint32_t)n + 1);
	expect_error(&d, in, n, PC_PARSE, "segment 2 offset 69 is outside");
	put32(in + 4, 66);
	put32(in + 8, 64);
	expect_error(&d, in, n, PC_PARSE, "segment 2 offset 64 is outside 66");
	put32(in + 4, 0);
	expect_error(&d, in, n, PC_PARSE, "segment 1 offset 0");
	/* Offset equal to the frame size: an empty last segment. */
	put32(in + 4, 64);
	put32(in + 8, (uint32_t)n);
	expect_error(&d, in, n, PC_TRUNC, "segment 2 (offset 68, 0 bytes)");
	free(in);

	d = desc(1, 1, 1, 8, 8, false);
	d.bits_allocated = 1;
	expect_error(&d, NULL, 0, PC_UNSUPPORTED, "Bits Allocated 1");
	d.bits_allocated = 12;
	expect_error(&d, NULL, 0, PC_UNSUPPORTED, "Bits Allocated 12");
	d = desc(1, 1, 2, 8, 8, false);
	expect_error(&d, NULL, 0, PC_UNSUPPORTED, "2 samples");
}

/* The last segment runs to the end of the frame, and a segment ends where
 * the next begins even if its runs say more. */
static void test_segment_bounds(void **state)
{
	/* Segment 1 claims a literal of 4 but is 3 bytes long; its plane is
	 * 2 bytes, so the cut run suffices. Segment 2 follows. */
	struct seg s[2] = {SEG(0x03, 1, 2), SEG(0x01, 3, 4)};
	static const int32_t want[2] = {0x0103, 0x0204};
	struct pix_desc d = desc(1, 2, 1, 16, 16, false);
	struct pix_frame f;
	struct pc_err err;
	uint8_t *in;
	size_t n = frame(&in, s, 2);

	(void)state;
	assert_int_equal(decode(&d, in, n, &f, &err), PC_OK);
	expect(&f, want, 2);
	free(f.data);
	/* The last segment cut by the end of the input. */
	expect_error(&d, in, n - 1, PC_TRUNC,
		     "segment 2 (offset 67, 2 bytes) decodes to 1 bytes");
	free(in);
}

/* ---- through the codec registry ------------------------------------------- */

static void set_us(dcm_dataset *ds, uint32_t tag, unsigned v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	assert_int_equal(dcm_dataset_set(ds, tag, DCM_VR_US, b, 2), PC_OK);
}

static void test_rle_data_set(void **state)
{
	const struct dcm_ts *ts = dcm_ts_find("1.2.840.10008.1.2.5", 19);
	/* Two YBR_FULL frames of 1x2 pixels: Y, Cb, Cr planes. */
	struct seg f0[3] = {SEG(0xFF, 76), SEG(0xFF, 85), SEG(0xFF, 255)};
	struct seg f1[3] = {SEG(0x01, 0, 255), SEG(0xFF, 128),
			    SEG(0xFF, 128)};
	dcm_dataset *ds = dcm_dataset_create();
	dcm_elem *e = NULL;
	struct pix_desc d;
	struct pix_frame f;
	struct pc_err err = {0};
	uint8_t *in;
	size_t n;

	(void)state;
	assert_non_null(ts);
	assert_non_null(ds);
	set_us(ds, DCM_TAG(0x0028, 0x0010), 1);
	set_us(ds, DCM_TAG(0x0028, 0x0011), 2);
	set_us(ds, DCM_TAG(0x0028, 0x0002), 3);
	set_us(ds, DCM_TAG(0x0028, 0x0100), 8);
	set_us(ds, DCM_TAG(0x0028, 0x0101), 8);
	set_us(ds, DCM_TAG(0x0028, 0x0102), 7);
	set_us(ds, DCM_TAG(0x0028, 0x0103), 0);
	set_us(ds, DCM_TAG(0x0028, 0x0006), 0);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0004),
						DCM_VR_CS, "YBR_FULL"),
			 PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0008),
						DCM_VR_IS, "2"),
			 PC_OK);
	assert_int_equal(dcm_dataset_set_encapsulated(
				 ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB,
				 pc_span_make(NULL, 0), &e),
			 PC_OK);
	n = frame(&in, f0, 3);
	assert_int_equal(dcm_elem_add_fragment(e, pc_span_make(in, n)), PC_OK);
	free(in);
	n = frame(&in, f1, 3);
	assert_int_equal(dcm_elem_add_fragment(e, pc_span_make(in, n)), PC_OK);
	free(in);

	assert_int_equal(pix_desc_read(ds, ts, &d, &err), PC_OK);
	assert_true(pix_ts_supported(ts));
	assert_int_equal(pix_frame_decode(&d, 0, &f, &err), PC_OK);
	/* YBR_FULL is converted to RGB after decoding. */
	assert_int_equal(f.photometric, PIX_RGB);
	assert_int_equal(f.data[0], 254);
	assert_int_equal(f.data[1], 0);
	assert_int_equal(f.data[2], 0);
	assert_int_equal(f.data[3], 254);
	pix_frame_cleanup(&f);
	assert_int_equal(pix_frame_decode(&d, 1, &f, &err), PC_OK);
	assert_int_equal(f.data[0], 0);
	assert_int_equal(f.data[3], 255);
	assert_int_equal(f.data[5], 255);
	pix_frame_cleanup(&f);
	assert_int_equal(pix_frame_decode(&d, 2, &f, &err), PC_NOTFOUND);
	dcm_dataset_destroy(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packbits),
		cmocka_unit_test(test_packbits_long_runs),
		cmocka_unit_test(test_packbits_overrun),
		cmocka_unit_test(test_literal_cut_by_segment),
		cmocka_unit_test(test_short_segments),
		cmocka_unit_test(test_planes_16),
		cmocka_unit_test(test_planes_32),
		cmocka_unit_test(test_planes_rgb),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_segment_bounds),
		cmocka_unit_test(test_rle_data_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
