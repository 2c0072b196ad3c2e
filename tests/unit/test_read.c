/*
 * test_read.c - the Part 10 reader, the event parser and the data model,
 * on byte streams built here element by element, so that each encoding
 * rule and each kind of hostile input is pinned down on its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dicom/dcm.h"

#include <string.h>
#include <zlib.h>

/* ---- byte stream builders ------------------------------------------------ */

static void put16(struct pc_buf *b, uint16_t v, bool be)
{
	uint8_t x[2] = {(uint8_t)(be ? v >> 8 : v), (uint8_t)(be ? v : v >> 8)};

	pc_buf_append(b, x, 2);
}

static void put32(struct pc_buf *b, uint32_t v, bool be)
{
	if (be) {
		put16(b, (uint16_t)(v >> 16), true);
		put16(b, (uint16_t)v, true);
	} else {
		put16(b, (uint16_t)v, false);
		put16(b, (uint16_t)(v >> 16), false);
	}
}

static void tag(struct pc_buf *b, uint32_t t, bool be)
{
	put16(b, DCM_TAG_GROUP(t), be);
	put16(b, DCM_TAG_ELEM(t), be);
}

/* Explicit VR element header (value appended by the caller). */
static void ex_hdr(struct pc_buf *b, uint32_t t, const char *vr, uint32_t len,
		   bool be)
{
	const struct dcm_vr_info *vi =
		dcm_vr_info(dcm_vr_from_chars((uint8_t)vr[0], (uint8_t)vr[1]));

	tag(b, t, be);
	pc_buf_append(b, vr, 2);
	if (vi->long_header) {
		put16(b, 0, be);
		put32(b, len, be);
	} else {
		put16(b, (uint16_t)len, be);
	}
}

static void ex_str(struct pc_buf *b, uint32_t t, const char *vr,
		   const char *s, bool be)
{
	ex_hdr(b, t, vr, (uint32_t)strlen(s), be);
	pc_buf_puts(b, s);
}

static void im_str(struct pc_buf *b, uint32_t t, const char *s)
{
	tag(b, t, false);
	put32(b, (uint32_t)strlen(s), false);
	pc_buf_puts(b, s);
}

static void item(struct pc_buf *b, uint32_t len, bool be)
{
	tag(b, DCM_TAG_ITEM, be);
	put32(b, len, be);
}

static void delim(struct pc_buf *b, uint32_t t, bool be)
{
	tag(b, t, be);
	put32(b, 0, be);
}

/* Preamble + DICM + a meta naming `ts`. */
static void meta(struct pc_buf *b, const char *ts)
{
	struct pc_buf m = PC_BUF_INIT;
	size_t n = strlen(ts) + (strlen(ts) & 1);

	ex_hdr(&m, DCM_TAG(0x0002, 0x0010), "UI", (uint32_t)n, false);
	pc_buf_append(&m, ts, strlen(ts));
	if (n != strlen(ts))
		pc_buf_putc(&m, '\0');
	for (int i = 0; i < 128; i++)
		pc_buf_putc(b, 0);
	pc_buf_puts(b, "DICM");
	ex_hdr(b, DCM_TAG(0x0002, 0x0000), "UL", 4, false);
	put32(b, (uint32_t)m.n, false);
	pc_buf_append(b, m.p, m.n);
	pc_buf_cleanup(&m);
}

static dcm_file *parse(const struct pc_buf *b, unsigned flags,
		       struct pc_err *err)
{
	struct dcm_read_opts o = {flags, NULL};

	pc_err_clear(err);
	return dcm_file_parse((const uint8_t *)b->p, b->n, &o, err);
}

static void assert_string(const dcm_dataset *ds, uint32_t t, size_t idx,
			  const char *want)
{
	struct pc_buf s = PC_BUF_INIT;

	assert_int_equal(dcm_dataset_get_string(ds, t, idx, &s), PC_OK);
	assert_string_equal(pc_buf_str(&s), want);
	pc_buf_cleanup(&s);
}

#define PATIENT_NAME DCM_TAG(0x0010, 0x0010)
#define PATIENT_ID DCM_TAG(0x0010, 0x0020)
#define ROWS DCM_TAG(0x0028, 0x0010)
#define IMAGE_TYPE DCM_TAG(0x0008, 0x0008)
#define REF_SEQ DCM_TAG(0x0008, 0x1140)
#define REF_UID DCM_TAG(0x0008, 0x1155)

/* ---- tests ------------------------------------------------------------------ */

static void explicit_le_basic(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err;
	dcm_file *f;
	const dcm_dataset *ds;
	const dcm_elem *e;
	int64_t v;

	(void)state;
	meta(&b, "1.2.840.10008.1.2.1");
	ex_str(&b, IMAGE_TYPE, "CS", "ORIGINAL\\PRIMARY ", false);
	ex_str(&b, PATIENT_NAME, "PN", "Doe^John", false);
	ex_str(&b, PATIENT_ID, "LO", " ID42 ", false);
	ex_hdr(&b, ROWS, "US", 2, false);
	put16(&b, 512, false);
	f = parse(&b, 0, &err);
	assert_non_null(f);
	assert_ptr_equal(dcm_file_ts(f), &dcm_ts_explicit_le);
	assert_int_equal(dcm_file_preamble(f).n, 128);
	ds = dcm_file_dataset(f);
	assert_int_equal(dcm_dataset_count(ds), 4);
	assert_string(ds, PATIENT_NAME, 0, "Doe^John");
	/* LO: leading and trailing spaces are insignificant (PS3.5 6.2). */
	assert_string(ds, PATIENT_ID, 0, "ID42");
	e = dcm_dataset_find(ds, IMAGE_TYPE);
	assert_int_equal(dcm_elem_vm(e), 2);
	assert_string(ds, IMAGE_TYPE, 1, "PRIMARY");
	assert_string(ds, IMAGE_TYPE, SIZE_MAX, "ORIGINAL\\PRIMARY");
	assert_int_equal(dcm_dataset_get_int(ds, ROWS, 0, &v), PC_OK);
	assert_int_equal(v, 512);
	assert_int_equal(dcm_dataset_get_int(ds, ROWS, 1, &v), PC_NOTFOUND);
	assert_null(dcm_dataset_find(ds, DCM_TAG(0x0010, 0x0030)));
	assert_int_equal(dcm_dataset_count(dcm_file_meta(f)), 2);
	dcm_file_destroy(f);
	pc_buf_cleanup(&b);
}

static void implicit_and_big_endian(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err;
	dcm_file *f;
	int64_t v;

	(void)state;
	/* Implicit VR: the VR comes from the dictionary. */
	meta(&b, "1.2.840.10008.1.2");
	im_str(&b, PATIENT_NAME, "Roe^Jane");
	tag(&b, ROWS, false);
	put32(&b, 2, false);
	put16(&b, 256, false);
	f = parse(&b, 0, &err);
	assert_non_null(f);
	assert_int_equal(dcm_elem_vr(dcm_dataset_find(dcm_file_dataset(f),
						      PATIENT_NAME)),
			 DCM_VR_PN);
	assert_int_equal(dcm_dataset_get_int(dcm_file_dataset(f), ROWS, 0, &v),
			 PC_OK);
	assert_int_equal(v, 256);
	dcm_file_destroy(f);

	/* Explicit VR big endian: numbers swap on access. */
	pc_buf_reset(&b);
	meta(&b, "1.2.840.10008.1.2.2");
	ex_str(&b, PATIENT_NAME, "PN", "Big^Endian", true);
	ex_hdr(&b, ROWS, "US", 2, true);
	put16(&b, 0x1234, true);
	f = parse(&b, 0, &err);
	assert_non_null(f);
	assert_true(dcm_elem_big_endian(
		dcm_dataset_find(dcm_file_dataset(f), ROWS)));
	assert_int_equal(dcm_dataset_get_int(dcm_file_dataset(f), ROWS, 0, &v),
			 PC_OK);
	assert_int_equal(v, 0x1234);
	assert_string(dcm_file_dataset(f), PATIENT_NAME, 0, "Big^Endian");
	dcm_file_destroy(f);
	pc_buf_cleanup(&b);
}

static void bare_dataset_detection(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err;
	dcm_file *f;

	(void)state;
	im_str(&b, PATIENT_ID, "ABC1");
	f = parse(&b, 0, &err);
	assert_non_null(f);
	assert_ptr_equal(dcm_file_ts(f), &dcm_ts_implicit_le);
	assert_int_equal(dcm_file_preamble(f).n, 0);
	assert_string(dcm_file_dataset(f), PATIENT_ID, 0, "ABC1");
	dcm_file_destroy(f);

	pc_buf_reset(&b);
	ex_str(&b, PATIENT_ID, "LO", "BE01", true);
	f = parse(&b, 0, &err);
	assert_non_null(f);
	assert_ptr_equal(dcm_file_ts(f), &dcm_ts_explicit_be);
	assert_string(dcm_file_dataset(f), PATIENT_ID, 0, "BE01");
	dcm_file_destroy(f);
	pc_buf_cleanup(&b);
}

/* A sequence of defined length holding one item of undefined length, and a
 * sequence of undefined length holding one item of defined length. */
static void sequences(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err;
	dcm_file *f;
	const dcm_elem *seq;
	const dcm_dataset *it;

	(void)state;
	meta(&b, "1.2.840.10008.1.2.1");
	ex_hdr(&b, REF_SEQ, "SQ", 8 + 8 + 4 + 8, false);
	item(&b, DCM_UNDEFINED_LENGTH, false);
	ex_hdr(&b, REF_UID, "UI", 4, false);
	pc_buf_append(&b, "1.2", 4);
	delim(&b, DCM_TAG_ITEM_DELIM, false);
	ex_hdr(&b, DCM_TAG(0x0040, 0x0275), "SQ", DCM_UNDEFINED_LENGTH, false);
	item(&b, 8 + 4, false);
	ex_str(&b, PATIENT_ID, "LO", "NEST", false);
	delim(&b, DCM_TAG_SEQ_DELIM, false);
	ex_str(&b, DCM_TAG(0x0040, 0x0280), "ST", "after", false);
	f = parse(&b, 0, &err);
	assert_non_null(f);
	seq = dcm_dataset_find(dcm_file_dataset(f), REF_SEQ);
	assert_true(dcm_elem_is_sequence(seq));
	assert_false(dcm_elem_undefined_length(seq));
	assert_int_equal(dcm_elem_item_count(seq), 1);
	assert_true(dcm_elem_item_undefined_length(seq, 0));
	it = dcm_elem_item(seq, 0);
	assert_ptr_equal(dcm_dataset_parent(it), dcm_file_dataset(f));
	assert_string(it, REF_UID, 0, "1.2");
	seq = dcm_dataset_find(dcm_file_dataset(f), DCM_TAG(0x0040, 0x0275));
	assert_true(dcm_elem_undefined_length(seq));
	assert_false(dcm_elem_item_undefined_length(seq, 0));
	assert_string(dcm_elem_item(seq, 0), PATIENT_ID, 0, "NEST");
	assert_string(dcm_file_dataset(f), DCM_TAG(0x0040, 0x0280), 0, "after");
	dcm_file_destroy(f);
	pc_buf_cleanup(&b);
}

static void encapsulated_and_header_only(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err;
	dcm_file *f;
	const dcm_elem *px;

	(void)state;
	meta(&b, "1.2.840.10008.1.2.5");
	ex_hdr(&b, ROWS, "US", 2, false);
	put16(&b, 4, false);
	ex_hdr(&b, DCM_TAG_PIXEL_DATA, "OB", DCM_UNDEFINED_LENGTH, false);
	item(&b, 4, false);
	put32(&b, 0, false);
	item(&b, 6, false);
	pc_buf_append(&b, "frame1", 6);
	item(&b, 2, false);
	pc_buf_append(&b, "f2", 2);
	delim(&b, DCM_TAG_SEQ_DELIM, false);
	f = parse(&b, 0, &err);
	assert_non_null(f);
	assert_true(dcm_file_ts(f)->encapsulated);
	px = dcm_dataset_find(dcm_file_dataset(f), DCM_TAG_PIXEL_DATA);
	assert_true(dcm_elem_is_encapsulated(px));
	assert_int_equal(dcm_elem_offset_table(px).n, 4);
	assert_int_equal(dcm_elem_fragment_count(px), 2);
	assert_memory_equal(dcm_elem_fragment(px, 0).p, "frame1", 6);
	assert_int_equal(dcm_elem_fragment(px, 1).n, 2);
	dcm_file_destroy(f);

	f = parse(&b, DCM_READ_HEADER_ONLY, &err);
	assert_non_null(f);
	assert_true(dcm_file_truncated(f));
	assert_null(dcm_dataset_find(dcm_file_dataset(f), DCM_TAG_PIXEL_DATA));
	assert_non_null(dcm_dataset_find(dcm_file_dataset(f), ROWS));
	dcm_file_destroy(f);
	pc_buf_cleanup(&b);
}

static void deflated(void **state)
{
	struct pc_buf ds = PC_BUF_INIT, b = PC_BUF_INIT;
	struct pc_err err;
	uint8_t out[512];
	z_stream zs;
	dcm_file *f;

	(void)state;
	ex_str(&ds, PATIENT_NAME, "PN", "Deflated^Data", false);
	ex_str(&ds, PATIENT_ID, "LO", "ZIP1", false);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8,
				      Z_DEFAULT_STRATEGY),
			 Z_OK);
	zs.next_in = (Bytef *)ds.p;
	zs.avail_in = (uInt)ds.n;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	meta(&b, "1.2.840.10008.1.2.1.99");
	pc_buf_append(&b, out, sizeof(out) - zs.avail_out);
	deflateEnd(&zs);
	f = parse(&b, 0, &err);
	assert_non_null(f);
	assert_true(dcm_file_ts(f)->deflated);
	assert_string(dcm_file_dataset(f), PATIENT_NAME, 0, "Deflated^Data");
	dcm_file_destroy(f);

	/* A broken stream is an error naming its offset. */
	b.p[b.n - 3] ^= 0xFF;
	b.p[b.n - 8] ^= 0x55;
	pc_buf_truncate(&b, 2);
	f = parse(&b, 0, &err);
	assert_null(f);
	assert_true(err.status == PC_PARSE || err.status == PC_TRUNC);
	pc_buf_cleanup(&ds);
	pc_buf_cleanup(&b);
}

static void numbers(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	const uint8_t fl[8] = {0, 0, 0xC0, 0x3F, 0, 0, 0x20, 0xC1};
	const uint8_t ss[4] = {0xFE, 0xFF, 0x02, 0x00};
	const uint8_t at[4] = {0x10, 0x00, 0x20, 0x00};
	const dcm_elem *e;
	double d;
	int64_t v;
	uint64_t u;

	(void)state;
	assert_non_null(ds);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0030),
						DCM_VR_DS, " 0.5\\-1e2 "),
			 PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0020, 0x0013),
						DCM_VR_IS, "-12"),
			 PC_OK);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0018, 0x0088),
					 DCM_VR_FL, fl, sizeof(fl)),
			 PC_OK);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x0106),
					 DCM_VR_SS, ss, sizeof(ss)),
			 PC_OK);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0020, 0x9165),
					 DCM_VR_AT, at, sizeof(at)),
			 PC_OK);
	e = dcm_dataset_find(ds, DCM_TAG(0x0028, 0x0030));
	assert_int_equal(dcm_elem_vm(e), 2);
	assert_int_equal(dcm_elem_get_double(e, 1, &d), PC_OK);
	assert_true(d == -100.0);
	assert_int_equal(dcm_elem_get_int(e, 0, &v), PC_PARSE);
	assert_int_equal(dcm_dataset_get_int(ds, DCM_TAG(0x0020, 0x0013), 0,
					     &v),
			 PC_OK);
	assert_int_equal(v, -12);
	e = dcm_dataset_find(ds, DCM_TAG(0x0018, 0x0088));
	assert_int_equal(dcm_elem_vm(e), 2);
	assert_int_equal(dcm_elem_get_double(e, 0, &d), PC_OK);
	assert_true(d == 1.5);
	assert_int_equal(dcm_elem_get_double(e, 1, &d), PC_OK);
	assert_true(d == -10.0);
	e = dcm_dataset_find(ds, DCM_TAG(0x0028, 0x0106));
	assert_int_equal(dcm_elem_get_int(e, 0, &v), PC_OK);
	assert_int_equal(v, -2);
	assert_int_equal(dcm_elem_get_uint(e, 0, &u), PC_LIMIT);
	e = dcm_dataset_find(ds, DCM_TAG(0x0020, 0x9165));
	assert_int_equal(dcm_elem_get_uint(e, 0, &u), PC_OK);
	assert_int_equal(u, 0x00100020);
	/* Odd-length strings are padded with the VR's pad byte. */
	assert_int_equal(dcm_dataset_set_string(ds, REF_UID, DCM_VR_UI, "1.2.3"),
			 PC_OK);
	e = dcm_dataset_find(ds, REF_UID);
	assert_int_equal(dcm_elem_length(e), 6);
	assert_int_equal(dcm_elem_value(e).p[5], '\0');
	assert_int_equal(dcm_dataset_remove(ds, REF_UID), PC_OK);
	assert_int_equal(dcm_dataset_remove(ds, REF_UID), PC_NOTFOUND);
	dcm_dataset_destroy(ds);
}

static void private_creator(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err;
	dcm_file *f;
	char creator[64];

	(void)state;
	meta(&b, "1.2.840.10008.1.2");
	im_str(&b, DCM_TAG(0x0009, 0x0010), "GEMS_IDEN_01");
	im_str(&b, DCM_TAG(0x0009, 0x1001), "GE_GENESIS_FF ");
	f = parse(&b, 0, &err);
	assert_non_null(f);
	assert_true(dcm_dataset_private_creator(dcm_file_dataset(f),
						DCM_TAG(0x0009, 0x1001),
						creator, sizeof(creator)));
	assert_string_equal(creator, "GEMS_IDEN_01");
	/* Implicit VR private element: VR from the private dictionary. */
	assert_int_equal(dcm_elem_vr(dcm_dataset_find(dcm_file_dataset(f),
						      DCM_TAG(0x0009, 0x1001))),
			 DCM_VR_LO);
	dcm_file_destroy(f);
	pc_buf_cleanup(&b);
}

/* Each hostile input gives an error naming the reason; none crashes. */
static void hostile(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err;
	dcm_file *f;
	struct dcm_limits lim = {8, 1000, 1 << 20};
	struct dcm_read_opts o = {0, &lim};

	(void)state;
	/* Value length past the end. */
	meta(&b, "1.2.840.10008.1.2.1");
	ex_hdr(&b, PATIENT_NAME, "PN", 200, false);
	pc_buf_puts(&b, "short");
	assert_null(parse(&b, 0, &err));
	assert_int_equal(err.status, PC_TRUNC);
	assert_non_null(strstr(err.msg, "(0010,0010)"));
	assert_non_null(strstr(err.msg, "runs past the end"));

	/* Truncated inside a tag. */
	pc_buf_reset(&b);
	meta(&b, "1.2.840.10008.1.2.1");
	pc_buf_append(&b, "\x10\x00\x10", 3);
	assert_null(parse(&b, 0, &err));
	assert_int_equal(err.status, PC_TRUNC);

	/* Unknown VR. */
	pc_buf_reset(&b);
	meta(&b, "1.2.840.10008.1.2.1");
	ex_str(&b, PATIENT_NAME, "PN", "ok", false);
	tag(&b, PATIENT_ID, false);
	pc_buf_append(&b, "zz\x02\x00" "ab", 6);
	assert_null(parse(&b, 0, &err));
	assert_int_equal(err.status, PC_PARSE);
	assert_non_null(strstr(err.msg, "unknown VR"));

	/* Undefined length on a VR that cannot have it. */
	pc_buf_reset(&b);
	meta(&b, "1.2.840.10008.1.2.1");
	ex_hdr(&b, PATIENT_NAME, "UT", DCM_UNDEFINED_LENGTH, false);
	assert_null(parse(&b, 0, &err));
	assert_int_equal(err.status, PC_PARSE);

	/* Nesting deeper than the limit. */
	pc_buf_reset(&b);
	meta(&b, "1.2.840.10008.1.2.1");
	for (int i = 0; i < 20; i++) {
		ex_hdr(&b, REF_SEQ, "SQ", DCM_UNDEFINED_LENGTH, false);
		item(&b, DCM_UNDEFINED_LENGTH, false);
	}
	pc_err_clear(&err);
	f = dcm_file_parse((const uint8_t *)b.p, b.n, &o, &err);
	assert_null(f);
	assert_int_equal(err.status, PC_LIMIT);

	/* A sequence that never ends. */
	pc_buf_reset(&b);
	meta(&b, "1.2.840.10008.1.2.1");
	ex_hdr(&b, REF_SEQ, "SQ", DCM_UNDEFINED_LENGTH, false);
	item(&b, DCM_UNDEFINED_LENGTH, false);
	ex_str(&b, PATIENT_ID, "LO", "xx", false);
	assert_null(parse(&b, 0, &err));
	assert_int_equal(err.status, PC_TRUNC);

	/* Empty input and garbage. */
	pc_buf_reset(&b);
	pc_buf_puts(&b, "not a dicom file at all, just text");
	assert_null(parse(&b, 0, &err));
	assert_null(dcm_file_parse((const uint8_t *)"", 0, NULL, &err));
	assert_int_equal(err.status, PC_TRUNC);
	pc_buf_cleanup(&b);
}

static void odd_length_is_warning_or_strict_error(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err;
	dcm_file *f;

	(void)state;
	meta(&b, "1.2.840.10008.1.2.1");
	ex_str(&b, PATIENT_NAME, "PN", "Odd", false);
	f = parse(&b, 0, &err);
	assert_non_null(f);
	assert_int_equal(dcm_file_warning_count(f), 1);
	assert_non_null(strstr(dcm_file_warning(f, 0), "odd value length"));
	dcm_file_destroy(f);
	assert_null(parse(&b, DCM_READ_STRICT, &err));
	assert_non_null(strstr(err.msg, "(0010,0010)"));
	pc_buf_cleanup(&b);
}

/* Every allocation the reader makes can fail: each failure is reported as
 * an error and leaks nothing (ASan checks the latter). */
static void allocation_failures(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err;
	uint64_t total, n;
	dcm_file *f;

	(void)state;
	meta(&b, "1.2.840.10008.1.2.1");
	for (int i = 0; i < 40; i++) {
		ex_hdr(&b, REF_SEQ, "SQ", DCM_UNDEFINED_LENGTH, false);
		item(&b, DCM_UNDEFINED_LENGTH, false);
		ex_str(&b, PATIENT_ID, "LO", "ABCDEFGHIJ", false);
		delim(&b, DCM_TAG_ITEM_DELIM, false);
		delim(&b, DCM_TAG_SEQ_DELIM, false);
	}
	pc_alloc_fail_after(0);
	f = parse(&b, 0, &err);
	total = pc_alloc_fail_after(0);
	assert_non_null(f);
	dcm_file_destroy(f);
	for (n = 1; n <= total; n++) {
		pc_alloc_fail_after(n);
		f = parse(&b, 0, &err);
		pc_alloc_fail_after(0);
		assert_null(f);
		assert_int_equal(err.status, PC_NOMEM);
	}
	pc_buf_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(explicit_le_basic),
		cmocka_unit_test(implicit_and_big_endian),
		cmocka_unit_test(bare_dataset_detection),
		cmocka_unit_test(sequences),
		cmocka_unit_test(encapsulated_and_header_only),
		cmocka_unit_test(deflated),
		cmocka_unit_test(numbers),
		cmocka_unit_test(private_creator),
		cmocka_unit_test(hostile),
		cmocka_unit_test(odd_length_is_warning_or_strict_error),
		cmocka_unit_test(allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
