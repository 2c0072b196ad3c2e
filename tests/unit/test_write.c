/*
 * test_write.c - the Part 10 writer (write.c): exact bytes of small files
 * in each encoding, round trips through the reader in every transfer
 * syntax, byte-identical rewrite of files read with defined lengths,
 * errors, dcm_file_save, and out-of-memory at every allocation.
 */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dicom/dcm.h"

#define TAG_SOP_CLASS DCM_TAG(0x0008, 0x0016)
#define TAG_SOP_INSTANCE DCM_TAG(0x0008, 0x0018)
#define TAG_PATIENT_NAME DCM_TAG(0x0010, 0x0010)
#define TAG_ROWS DCM_TAG(0x0028, 0x0010)

static const struct dcm_ts *ts_jpeg(void)
{
	const char *uid = "1.2.840.10008.1.2.4.50";
	const struct dcm_ts *ts = dcm_ts_find(uid, strlen(uid));

	assert_non_null(ts);
	return ts;
}

/* ---- the tiny data set and its exact encodings -----------------------------
 */

static dcm_dataset *tiny_dataset(void)
{
	dcm_dataset *ds = dcm_dataset_create();
	uint8_t rows[2] = {0x00, 0x02}; /* 512, little endian */

	assert_non_null(ds);
	assert_int_equal(
	    dcm_dataset_set_string(ds, TAG_SOP_CLASS, DCM_VR_UI, "1.2.3"),
	    PC_OK);
	assert_int_equal(
	    dcm_dataset_set_string(ds, TAG_SOP_INSTANCE, DCM_VR_UI, "1.2.3.4"),
	    PC_OK);
	assert_int_equal(
	    dcm_dataset_set_string(ds, TAG_PATIENT_NAME, DCM_VR_PN, "Doe^J"),
	    PC_OK);
	assert_int_equal(dcm_dataset_set(ds, TAG_ROWS, DCM_VR_US, rows, 2),
	                 PC_OK);
	return ds;
}

/* Written by hand from PS3.10 7.1 and PS3.5 7.1.2; not by the writer. */
/* clang-format off */
static const uint8_t golden_meta[] = {
	'D', 'I', 'C', 'M',
	/* (0002,0000) UL 4: 140 bytes follow in group 0002 */
	0x02, 0x00, 0x00, 0x00, 'U', 'L', 0x04, 0x00, 0x8C, 0x00, 0x00, 0x00,
	/* (0002,0001) OB: reserved, 32-bit length 2, 00 01 */
	0x02, 0x00, 0x01, 0x00, 'O', 'B', 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x01,
	/* (0002,0002) UI "1.2.3\0" */
	0x02, 0x00, 0x02, 0x00, 'U', 'I', 0x06, 0x00,
	'1', '.', '2', '.', '3', 0x00,
	/* (0002,0003) UI "1.2.3.4\0" */
	0x02, 0x00, 0x03, 0x00, 'U', 'I', 0x08, 0x00,
	'1', '.', '2', '.', '3', '.', '4', 0x00,
	/* (0002,0010) UI "1.2.840.10008.1.2.1\0" */
	0x02, 0x00, 0x10, 0x00, 'U', 'I', 0x14, 0x00,
	'1', '.', '2', '.', '8', '4', '0', '.', '1', '0', '0', '0', '8', '.',
	'1', '.', '2', '.', '1', 0x00,
	/* (0002,0012) UI pacsd's implementation class UID, 42 bytes */
	0x02, 0x00, 0x12, 0x00, 'U', 'I', 0x2A, 0x00,
	'2', '.', '2', '5', '.', '2', '9', '9', '6', '4', '7', '5', '1', '9',
	'5', '3', '8', '0', '4', '9', '3', '7', '1', '0', '2', '8', '4', '0',
	'9', '3', '6', '2', '7', '0', '9', '3', '6', '1', '1', '5', '8', '4',
	/* (0002,0013) SH "PACSD_010 " */
	0x02, 0x00, 0x13, 0x00, 'S', 'H', 0x0A, 0x00,
	'P', 'A', 'C', 'S', 'D', '_', '0', '1', '0', ' ',
};

static const uint8_t golden_explicit_le[] = {
	0x08, 0x00, 0x16, 0x00, 'U', 'I', 0x06, 0x00,
	'1', '.', '2', '.', '3', 0x00,
	0x08, 0x00, 0x18, 0x00, 'U', 'I', 0x08, 0x00,
	'1', '.', '2', '.', '3', '.', '4', 0x00,
	0x10, 0x00, 0x10, 0x00, 'P', 'N', 0x06, 0x00,
	'D', 'o', 'e', '^', 'J', ' ',
	0x28, 0x00, 0x10, 0x00, 'U', 'S', 0x02, 0x00, 0x00, 0x02,
};

static const uint8_t golden_implicit_le[] = {
	0x08, 0x00, 0x16, 0x00, 0x06, 0x00, 0x00, 0x00,
	'1', '.', '2', '.', '3', 0x00,
	0x08, 0x00, 0x18, 0x00, 0x08, 0x00, 0x00, 0x00,
	'1', '.', '2', '.', '3', '.', '4', 0x00,
	0x10, 0x00, 0x10, 0x00, 0x06, 0x00, 0x00, 0x00,
	'D', 'o', 'e', '^', 'J', ' ',
	0x28, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
};

static const uint8_t golden_explicit_be[] = {
	0x00, 0x08, 0x00, 0x16, 'U', 'I', 0x00, 0x06,
	'1', '.', '2', '.', '3', 0x00,
	0x00, 0x08, 0x00, 0x18, 'U', 'I', 0x00, 0x08,
	'1', '.', '2', '.', '3', '.', '4', 0x00,
	0x00, 0x10, 0x00, 0x10, 'P', 'N', 0x00, 0x06,
	'D', 'o', 'e', '^', 'J', ' ',
	0x00, 0x28, 0x00, 0x10, 'U', 'S', 0x00, 0x02, 0x02, 0x00,
};
/* clang-format on */

static void assert_bytes(const struct pc_buf *b, size_t off,
                         const uint8_t *want, size_t n)
{
	size_t i;

	assert_true(b->n >= off + n);
	for (i = 0; i < n; i++) {
		if ((uint8_t)b->p[off + i] != want[i])
			fail_msg("byte %zu: got %02X, want %02X", off + i,
			         (uint8_t)b->p[off + i], want[i]);
	}
}

static void test_golden_explicit_file(void **state)
{
	dcm_dataset *ds = tiny_dataset();
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;
	size_t i;

	(void)state;
	assert_int_equal(dcm_file_write(NULL, ds, NULL, &out, &err), PC_OK);
	assert_int_equal(out.n, 128 + sizeof(golden_meta) +
	                            sizeof(golden_explicit_le));
	for (i = 0; i < 128; i++)
		assert_int_equal(out.p[i], 0);
	assert_bytes(&out, 128, golden_meta, sizeof(golden_meta));
	assert_bytes(&out, 128 + sizeof(golden_meta), golden_explicit_le,
	             sizeof(golden_explicit_le));
	pc_buf_cleanup(&out);
	dcm_dataset_destroy(ds);
}

static void test_golden_bare(void **state)
{
	static const struct {
		const struct dcm_ts *ts;
		const uint8_t *want;
		size_t n;
	} cases[] = {
	    {&dcm_ts_explicit_le, golden_explicit_le,
	     sizeof(golden_explicit_le)},
	    {&dcm_ts_implicit_le, golden_implicit_le,
	     sizeof(golden_implicit_le)},
	    {&dcm_ts_explicit_be, golden_explicit_be,
	     sizeof(golden_explicit_be)},
	};
	dcm_dataset *ds = tiny_dataset();
	struct dcm_write_opts wo;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pc_buf out = PC_BUF_INIT;

		memset(&wo, 0, sizeof(wo));
		wo.ts = cases[i].ts;
		wo.no_preamble = true;
		assert_int_equal(dcm_file_write(NULL, ds, &wo, &out, NULL),
		                 PC_OK);
		assert_int_equal(out.n, cases[i].n);
		assert_bytes(&out, 0, cases[i].want, cases[i].n);
		pc_buf_cleanup(&out);
	}
	dcm_dataset_destroy(ds);
}

/* The golden file, read and written back, comes out the same; so does its
 * big-endian form written as little endian. */
static void test_golden_reread(void **state)
{
	uint8_t file[128 + sizeof(golden_meta) + sizeof(golden_explicit_be)];
	struct pc_buf out = PC_BUF_INIT;
	struct dcm_write_opts wo;
	struct pc_err err;
	dcm_file *f;

	(void)state;
	memset(file, 0xA5, 128); /* a preamble that must be kept */
	memcpy(file + 128, golden_meta, sizeof(golden_meta));
	memcpy(file + 128 + sizeof(golden_meta), golden_explicit_le,
	       sizeof(golden_explicit_le));
	f = dcm_file_parse(file, sizeof(file), NULL, &err);
	assert_non_null(f);
	memset(&wo, 0, sizeof(wo));
	wo.ts = dcm_file_ts(f);
	wo.preamble = dcm_file_preamble(f);
	assert_int_equal(dcm_file_write(dcm_file_meta(f), dcm_file_dataset(f),
	                                &wo, &out, &err),
	                 PC_OK);
	assert_int_equal(out.n, sizeof(file));
	assert_memory_equal(out.p, file, sizeof(file));
	dcm_file_destroy(f);
	pc_buf_cleanup(&out);

	/* Bare big-endian data set -> little endian. */
	f = dcm_file_parse(golden_explicit_be, sizeof(golden_explicit_be), NULL,
	                   &err);
	assert_non_null(f);
	assert_true(dcm_file_ts(f)->big_endian);
	memset(&wo, 0, sizeof(wo));
	wo.no_preamble = true;
	assert_int_equal(
	    dcm_file_write(NULL, dcm_file_dataset(f), &wo, &out, &err), PC_OK);
	assert_int_equal(out.n, sizeof(golden_explicit_le));
	assert_memory_equal(out.p, golden_explicit_le,
	                    sizeof(golden_explicit_le));
	dcm_file_destroy(f);
	pc_buf_cleanup(&out);
}

/* ---- a rich data set in every syntax
 * ------------------------------------------- */

static void set_u16(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	assert_int_equal(dcm_dataset_set(ds, tag, vr, b, 2), PC_OK);
}

static dcm_dataset *rich_dataset(void)
{
	dcm_dataset *ds = tiny_dataset();
	dcm_dataset *item, *inner;
	dcm_elem *seq, *seq2;
	uint8_t ul[8] = {1, 2, 3, 4, 5, 6, 7, 8};       /* two UL values */
	uint8_t fd[8] = {0, 0, 0, 0, 0, 0, 0xF0, 0x3F}; /* 1.0 */
	uint8_t fl[4] = {0, 0, 0x80, 0x3F};             /* 1.0f */
	uint8_t at[4] = {0x10, 0x00, 0x20, 0x00};       /* (0010,0020) */
	uint8_t ob[5] = {0xDE, 0xAD, 0xBE, 0xEF, 0x01}; /* odd: padded */
	uint8_t ow[6] = {1, 2, 3, 4, 5, 6};

	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0005),
	                                        DCM_VR_CS, "ISO_IR 100"),
	                 PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0010, 0x1010),
	                                        DCM_VR_AS, "042Y"),
	                 PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0018, 0x0050),
	                                        DCM_VR_DS, "1.5\\2"),
	                 PC_OK);
	assert_int_equal(
	    dcm_dataset_set_string(ds, DCM_TAG(0x0020, 0x0013), DCM_VR_IS, "7"),
	    PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x2111),
	                                        DCM_VR_ST, "a\\b text"),
	                 PC_OK);
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG(0x0018, 0x6020), DCM_VR_SL, ul, 4),
	    PC_OK);
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG(0x0028, 0x0034), DCM_VR_IS, "1\\1", 3),
	    PC_OK);
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG(0x0018, 0x9219), DCM_VR_SS, ul, 2),
	    PC_OK);
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG(0x0040, 0xA132), DCM_VR_UL, ul, 8),
	    PC_OK);
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG(0x0018, 0x9087), DCM_VR_FD, fd, 8),
	    PC_OK);
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG(0x0018, 0x1311), DCM_VR_FL, fl, 4),
	    PC_OK);
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG(0x0020, 0x9165), DCM_VR_AT, at, 4),
	    PC_OK);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0042, 0x0011), DCM_VR_OB,
	                                 ob, sizeof(ob)),
	                 PC_OK);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x5400, 0x1010), DCM_VR_OW,
	                                 ow, sizeof(ow)),
	                 PC_OK);
	set_u16(ds, DCM_TAG(0x0028, 0x0100), DCM_VR_US, 8);
	/* A private block: creator and one element. */
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0009, 0x0010),
	                                        DCM_VR_LO, "ACME 1.0"),
	                 PC_OK);
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG(0x0009, 0x1001), DCM_VR_OB, ob, 4),
	    PC_OK);
	/* A sequence of two items, the second holding another sequence. */
	assert_int_equal(
	    dcm_dataset_set_sequence(ds, DCM_TAG(0x0008, 0x1140), &seq), PC_OK);
	assert_int_equal(dcm_elem_add_item(seq, &item), PC_OK);
	assert_int_equal(dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x1150),
	                                        DCM_VR_UI, "1.2.840.1"),
	                 PC_OK);
	assert_int_equal(dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x1155),
	                                        DCM_VR_UI, "1.2.3.4.5.6"),
	                 PC_OK);
	assert_int_equal(dcm_elem_add_item(seq, &item), PC_OK);
	assert_int_equal(dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x1160),
	                                        DCM_VR_IS, "1"),
	                 PC_OK);
	assert_int_equal(
	    dcm_dataset_set_sequence(item, DCM_TAG(0x0040, 0xA730), &seq2),
	    PC_OK);
	assert_int_equal(dcm_elem_add_item(seq2, &inner), PC_OK);
	assert_int_equal(dcm_dataset_set_string(inner, DCM_TAG(0x0040, 0xA160),
	                                        DCM_VR_UT, "deep text"),
	                 PC_OK);
	set_u16(inner, DCM_TAG(0x0028, 0x0011), DCM_VR_US, 0x1234);
	/* An empty item and an empty sequence. */
	assert_int_equal(dcm_elem_add_item(seq2, &inner), PC_OK);
	assert_int_equal(
	    dcm_dataset_set_sequence(ds, DCM_TAG(0x0040, 0x0275), &seq), PC_OK);
	/* Native pixel data, 8 bits. */
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OW, ow, sizeof(ow)),
	    PC_OK);
	return ds;
}

static unsigned unit_of(enum dcm_vr vr)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);

	return vi != NULL && vi->swap > 1 ? vi->swap : 1;
}

/* Compares `got` (read back) with `want` (built): same tags, values equal
 * in the byte order of each side; VRs equal when the syntax carries them. */
static void assert_same(const dcm_dataset *want, const dcm_dataset *got,
                        bool explicit_vr)
{
	size_t i, j, k, n = dcm_dataset_count(want);

	assert_int_equal(dcm_dataset_count(got), n);
	for (i = 0; i < n; i++) {
		const dcm_elem *a = dcm_dataset_at(want, i);
		const dcm_elem *b = dcm_dataset_at(got, i);
		struct pc_span va, vb;
		enum dcm_vr vr = dcm_elem_vr(a);
		unsigned u = unit_of(vr);

		assert_int_equal(dcm_elem_tag(a), dcm_elem_tag(b));
		if (explicit_vr && dcm_elem_tag(a) != DCM_TAG_PIXEL_DATA)
			assert_int_equal(dcm_elem_vr(a), dcm_elem_vr(b));
		assert_int_equal(dcm_elem_is_sequence(a),
		                 dcm_elem_is_sequence(b));
		if (dcm_elem_is_sequence(a)) {
			assert_int_equal(dcm_elem_item_count(a),
			                 dcm_elem_item_count(b));
			for (j = 0; j < dcm_elem_item_count(a); j++)
				assert_same(dcm_elem_item(a, j),
				            dcm_elem_item(b, j), explicit_vr);
			continue;
		}
		va = dcm_elem_value(a);
		vb = dcm_elem_value(b);
		/* Pixel data of 8 bits is never swapped. */
		if (dcm_elem_tag(a) == DCM_TAG_PIXEL_DATA)
			u = 1;
		assert_int_equal(vb.n, va.n + va.n % 2);
		if (dcm_elem_big_endian(a) == dcm_elem_big_endian(b) ||
		    u == 1) {
			assert_memory_equal(va.p, vb.p, va.n);
			continue;
		}
		for (j = 0; j + u <= va.n; j += u)
			for (k = 0; k < u; k++)
				assert_int_equal(va.p[j + k],
				                 vb.p[j + u - 1 - k]);
	}
}

static void roundtrip(const struct dcm_ts *ts)
{
	dcm_dataset *ds = rich_dataset();
	struct pc_buf out = PC_BUF_INIT;
	struct dcm_write_opts wo;
	struct pc_err err;
	dcm_file *f;
	int64_t v;

	memset(&wo, 0, sizeof(wo));
	wo.ts = ts;
	pc_err_clear(&err);
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &out, &err), PC_OK);
	f = dcm_file_parse((const uint8_t *)out.p, out.n, NULL, &err);
	if (f == NULL)
		fail_msg("%s: reading back: %s", ts->name, err.msg);
	assert_ptr_equal(dcm_file_ts(f), ts);
	assert_same(ds, dcm_file_dataset(f), ts->explicit_vr);
	/* Typed access sees the same numbers whatever the byte order. */
	assert_int_equal(
	    dcm_dataset_get_int(dcm_file_dataset(f), TAG_ROWS, 0, &v), PC_OK);
	assert_int_equal(v, 512);
	assert_int_equal(dcm_dataset_get_int(dcm_file_dataset(f),
	                                     DCM_TAG(0x0040, 0xA132), 1, &v),
	                 PC_OK);
	assert_int_equal(v, 0x08070605);
	/* The meta is made from the data set. */
	assert_non_null(
	    dcm_dataset_find(dcm_file_meta(f), DCM_TAG(0x0002, 0x0003)));
	dcm_file_destroy(f);
	pc_buf_cleanup(&out);
	dcm_dataset_destroy(ds);
}

static void test_roundtrip_explicit_le(void **state)
{
	(void)state;
	roundtrip(&dcm_ts_explicit_le);
}

static void test_roundtrip_implicit_le(void **state)
{
	(void)state;
	roundtrip(&dcm_ts_implicit_le);
}

static void test_roundtrip_explicit_be(void **state)
{
	(void)state;
	roundtrip(&dcm_ts_explicit_be);
}

static void test_roundtrip_deflated(void **state)
{
	(void)state;
	roundtrip(&dcm_ts_deflated_le);
}

/* The deflated data set inflates to exactly the explicit LE encoding. */
static void test_deflated_bytes(void **state)
{
	dcm_dataset *ds = rich_dataset();
	struct pc_buf expl = PC_BUF_INIT, defl = PC_BUF_INIT;
	struct dcm_write_opts wo;
	uint8_t *inflated;
	z_stream zs;

	(void)state;
	memset(&wo, 0, sizeof(wo));
	wo.no_preamble = true;
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &expl, NULL), PC_OK);
	wo.ts = &dcm_ts_deflated_le;
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &defl, NULL), PC_OK);
	assert_int_equal(defl.n % 2, 0);
	inflated = malloc(expl.n + 16);
	assert_non_null(inflated);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, -MAX_WBITS), Z_OK);
	zs.next_in = (Bytef *)defl.p;
	zs.avail_in = (uInt)defl.n;
	zs.next_out = inflated;
	zs.avail_out = (uInt)(expl.n + 16);
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.total_out, expl.n);
	assert_memory_equal(inflated, expl.p, expl.n);
	inflateEnd(&zs);
	free(inflated);
	pc_buf_cleanup(&expl);
	pc_buf_cleanup(&defl);
	dcm_dataset_destroy(ds);
}

/* ---- defined lengths and group lengths
 * ----------------------------------------- */

/* A bare explicit LE data set with a defined-length sequence and item and a
 * correct group length: read and written back, byte for byte. */
/* clang-format off */
static const uint8_t defined_lengths[] = {
	/* (0008,0000) UL 4 = 60: (0008,0060) 10 bytes + (0008,1140) 50 */
	0x08, 0x00, 0x00, 0x00, 'U', 'L', 0x04, 0x00, 0x3C, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x60, 0x00, 'C', 'S', 0x02, 0x00, 'C', 'T',
	/* (0008,1140) SQ, 32-bit length 38 */
	0x08, 0x00, 0x40, 0x11, 'S', 'Q', 0x00, 0x00, 0x26, 0x00, 0x00, 0x00,
	/* item, length 14 */
	0xFE, 0xFF, 0x00, 0xE0, 0x0E, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x50, 0x11, 'U', 'I', 0x06, 0x00,
	'1', '.', '2', '.', '3', 0x00,
	/* item of undefined length, with its delimiter */
	0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFE, 0xFF, 0x0D, 0xE0, 0x00, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x10, 0x00, 'P', 'N', 0x02, 0x00, 'A', '^',
};
/* clang-format on */

static void test_defined_lengths_identical(void **state)
{
	struct pc_buf out = PC_BUF_INIT;
	struct dcm_write_opts wo;
	struct pc_err err;
	dcm_file *f;

	(void)state;
	f = dcm_file_parse(defined_lengths, sizeof(defined_lengths), NULL,
	                   &err);
	if (f == NULL)
		fail_msg("parse: %s", err.msg);
	assert_false(dcm_elem_undefined_length(
	    dcm_dataset_find(dcm_file_dataset(f), DCM_TAG(0x0008, 0x1140))));
	memset(&wo, 0, sizeof(wo));
	wo.no_preamble = true;
	assert_int_equal(
	    dcm_file_write(NULL, dcm_file_dataset(f), &wo, &out, &err), PC_OK);
	assert_int_equal(out.n, sizeof(defined_lengths));
	assert_memory_equal(out.p, defined_lengths, sizeof(defined_lengths));
	pc_buf_cleanup(&out);

	/* Implicit: the SQ header loses 4 bytes (no VR, no reserved
	 * bytes) and the group length follows. */
	wo.ts = &dcm_ts_implicit_le;
	assert_int_equal(
	    dcm_file_write(NULL, dcm_file_dataset(f), &wo, &out, &err), PC_OK);
	/* (0008,0000) value: (0008,0060) = 8 + 2 and (0008,1140) = 8 + 38. */
	assert_int_equal((uint8_t)out.p[8], 10 + 46);
	/* (0008,1140) length stays 38: items hold 8-byte headers only. */
	assert_int_equal((uint8_t)out.p[12 + 10 + 4], 38);
	pc_buf_cleanup(&out);
	dcm_file_destroy(f);
}

/* A stale group length in the data set is recomputed. */
static void test_group_length_recomputed(void **state)
{
	dcm_dataset *ds = tiny_dataset();
	struct pc_buf out = PC_BUF_INIT;
	struct dcm_write_opts wo;
	uint8_t zero[4] = {0};

	(void)state;
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG(0x0008, 0x0000), DCM_VR_UL, zero, 4),
	    PC_OK);
	memset(&wo, 0, sizeof(wo));
	wo.no_preamble = true;
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &out, NULL), PC_OK);
	/* Group 0008 after its length: 14 + 16 bytes. */
	assert_int_equal((uint8_t)out.p[8], 30);
	assert_memory_equal(out.p + 12, golden_explicit_le,
	                    sizeof(golden_explicit_le));
	pc_buf_cleanup(&out);
	dcm_dataset_destroy(ds);
}

/* ---- meta, preamble
 * ---------------------------------------------------------------- */

static void test_given_meta_and_preamble(void **state)
{
	dcm_dataset *ds = tiny_dataset();
	dcm_dataset *meta = dcm_dataset_create();
	struct pc_buf out = PC_BUF_INIT;
	struct dcm_write_opts wo;
	struct pc_buf s = PC_BUF_INIT;
	uint8_t pre[128];
	struct pc_err err;
	const dcm_elem *e;
	dcm_file *f;
	int64_t gl;

	(void)state;
	assert_non_null(meta);
	/* Claims implicit; the writer must say what it writes instead and
	 * leave the caller's meta alone. No group length given either. */
	assert_int_equal(dcm_dataset_set_string(meta, DCM_TAG_TRANSFER_SYNTAX,
	                                        DCM_VR_UI, "1.2.840.10008.1.2"),
	                 PC_OK);
	assert_int_equal(dcm_dataset_set_string(meta, DCM_TAG(0x0002, 0x0016),
	                                        DCM_VR_AE, "SENDER"),
	                 PC_OK);
	memset(pre, 'P', sizeof(pre));
	memset(&wo, 0, sizeof(wo));
	wo.ts = &dcm_ts_explicit_be;
	wo.preamble = pc_span_make(pre, sizeof(pre));
	assert_int_equal(dcm_file_write(meta, ds, &wo, &out, &err), PC_OK);
	assert_memory_equal(out.p, pre, 128);
	f = dcm_file_parse((const uint8_t *)out.p, out.n, NULL, &err);
	assert_non_null(f);
	assert_ptr_equal(dcm_file_ts(f), &dcm_ts_explicit_be);
	assert_int_equal(dcm_dataset_get_int(dcm_file_meta(f),
	                                     DCM_TAG(0x0002, 0x0000), 0, &gl),
	                 PC_OK);
	/* TS: 8 + 20, AE: 8 + 6. */
	assert_int_equal(gl, 28 + 14);
	assert_int_equal(dcm_dataset_get_string(dcm_file_meta(f),
	                                        DCM_TAG(0x0002, 0x0016), 0, &s),
	                 PC_OK);
	assert_string_equal(pc_buf_str(&s), "SENDER");
	e = dcm_dataset_find(meta, DCM_TAG_TRANSFER_SYNTAX);
	assert_int_equal(dcm_elem_value(e).n, 18);
	assert_memory_equal(dcm_elem_value(e).p, "1.2.840.10008.1.2", 17);
	assert_null(dcm_dataset_find(meta, DCM_TAG(0x0002, 0x0000)));
	pc_buf_cleanup(&s);
	dcm_file_destroy(f);
	pc_buf_cleanup(&out);
	dcm_dataset_destroy(meta);
	dcm_dataset_destroy(ds);
}

/* ---- errors
 * ------------------------------------------------------------------------- */

static void test_errors(void **state)
{
	dcm_dataset *ds = tiny_dataset();
	struct pc_buf out = PC_BUF_INIT;
	struct dcm_write_opts wo;
	struct pc_err err;
	uint8_t frag[4] = {0xFF, 0xD8, 0xFF, 0xD9};
	uint8_t pre[10] = {0};
	char *big;
	dcm_elem *px;

	(void)state;
	/* Wrong preamble size. */
	memset(&wo, 0, sizeof(wo));
	wo.preamble = pc_span_make(pre, sizeof(pre));
	pc_err_clear(&err);
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &out, &err), PC_INVAL);
	assert_int_equal(out.n, 0);

	/* A short-VR value longer than a 16-bit length: an error in
	 * explicit VR naming the tag, fine in implicit VR. */
	big = malloc(70001);
	assert_non_null(big);
	memset(big, 'x', 70000);
	big[70000] = '\0';
	assert_int_equal(
	    dcm_dataset_set_string(ds, DCM_TAG(0x0010, 0x4000), DCM_VR_LO, big),
	    PC_OK);
	free(big);
	memset(&wo, 0, sizeof(wo));
	pc_err_clear(&err);
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &out, &err), PC_LIMIT);
	assert_non_null(strstr(err.msg, "(0010,4000)"));
	assert_int_equal(out.n, 0); /* nothing half-written is left */
	assert_int_equal(pc_buf_status(&out), PC_OK);
	wo.ts = &dcm_ts_implicit_le;
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &out, &err), PC_OK);
	pc_buf_cleanup(&out);
	assert_int_equal(dcm_dataset_remove(ds, DCM_TAG(0x0010, 0x4000)),
	                 PC_OK);

	/* Native pixel data cannot go into an encapsulated syntax. */
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB, frag, 4), PC_OK);
	wo.ts = ts_jpeg();
	pc_err_clear(&err);
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &out, &err),
	                 PC_UNSUPPORTED);
	assert_int_equal(out.n, 0);

	/* Encapsulated pixel data: only into an encapsulated syntax. */
	assert_int_equal(
	    dcm_dataset_set_encapsulated(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB,
	                                 pc_span_make(NULL, 0), &px),
	    PC_OK);
	assert_int_equal(dcm_elem_add_fragment(px, pc_span_make(frag, 3)),
	                 PC_OK);
	wo.ts = &dcm_ts_explicit_le;
	pc_err_clear(&err);
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &out, &err),
	                 PC_UNSUPPORTED);
	wo.ts = &dcm_ts_deflated_le;
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &out, &err),
	                 PC_UNSUPPORTED);
	assert_int_equal(out.n, 0);
	wo.ts = ts_jpeg();
	wo.no_preamble = true;
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &out, &err), PC_OK);
	{
		/* Header, empty offset table item, the fragment padded to
		 * even length, sequence delimiter (PS3.5 A.4). */
		/* clang-format off */
		static const uint8_t want[] = {
			0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0,
			0xFF, 0xFF, 0xFF, 0xFF,
			0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0,
			0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0,
			0xFF, 0xD8, 0xFF, 0x00,
			0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0,
		};
		/* clang-format on */
		assert_true(out.n > sizeof(want));
		assert_memory_equal(out.p + out.n - sizeof(want), want,
		                    sizeof(want));
	}
	pc_buf_cleanup(&out);
	dcm_dataset_destroy(ds);
}

/* ---- dcm_file_save
 * -------------------------------------------------------------- */

static void test_save(void **state)
{
	char dir[] = "/tmp/test_write_XXXXXX";
	char path[256], tmp[300];
	dcm_dataset *ds = tiny_dataset();
	struct pc_err err;
	struct stat sb;
	dcm_file *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.dcm", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	pc_err_clear(&err);
	assert_int_equal(dcm_file_save(NULL, ds, NULL, path, &err), PC_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 128 + sizeof(golden_meta) +
	                                 sizeof(golden_explicit_le));
	assert_int_equal((int)(sb.st_mode & 0777) & ~0644, 0);
	assert_int_not_equal(stat(tmp, &sb), 0);
	f = dcm_file_open(path, NULL, &err);
	assert_non_null(f);
	assert_int_equal(dcm_dataset_count(dcm_file_dataset(f)), 4);
	dcm_file_destroy(f);

	/* A directory that does not exist: PC_IO naming the path. */
	snprintf(path, sizeof(path), "%s/missing/out.dcm", dir);
	pc_err_clear(&err);
	assert_int_equal(dcm_file_save(NULL, ds, NULL, path, &err), PC_IO);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "No such file"));

	snprintf(path, sizeof(path), "%s/out.dcm", dir);
	unlink(path);
	rmdir(dir);
	dcm_dataset_destroy(ds);
}

/* ---- out of memory
 * ---------------------------------------------------------------- */

/* Fails each allocation in turn: every failure is PC_NOMEM with the buffer
 * left as it was, and a late enough failure point lets the write through. */
static void nomem_loop(const struct dcm_ts *ts)
{
	dcm_dataset *ds = rich_dataset();
	struct dcm_write_opts wo;
	struct pc_err err;
	enum pc_status st;
	uint64_t n;
	int failures = 0;

	memset(&wo, 0, sizeof(wo));
	wo.ts = ts;
	for (n = 1; n < 1000; n++) {
		struct pc_buf out = PC_BUF_INIT;

		pc_err_clear(&err);
		pc_alloc_fail_after(n);
		st = dcm_file_write(NULL, ds, &wo, &out, &err);
		pc_alloc_fail_after(0);
		if (st == PC_OK) {
			pc_buf_cleanup(&out);
			break;
		}
		failures++;
		assert_int_equal(st, PC_NOMEM);
		assert_int_equal(err.status, PC_NOMEM);
		assert_int_equal(out.n, 0);
		pc_buf_cleanup(&out);
	}
	assert_true(failures > 0);
	assert_true(n < 1000);
	dcm_dataset_destroy(ds);
}

static void test_nomem(void **state)
{
	(void)state;
	nomem_loop(&dcm_ts_explicit_le);
	nomem_loop(&dcm_ts_explicit_be);
	nomem_loop(&dcm_ts_deflated_le);
}

static void test_nomem_save(void **state)
{
	char dir[] = "/tmp/test_write_XXXXXX";
	char path[256];
	dcm_dataset *ds = rich_dataset();
	struct pc_err err;
	enum pc_status st;
	uint64_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.dcm", dir);
	for (n = 1; n < 1000; n++) {
		pc_err_clear(&err);
		pc_alloc_fail_after(n);
		st = dcm_file_save(NULL, ds, NULL, path, &err);
		pc_alloc_fail_after(0);
		if (st == PC_OK)
			break;
		assert_int_equal(st, PC_NOMEM);
		assert_int_not_equal(access(path, F_OK), 0);
	}
	assert_true(n < 1000);
	unlink(path);
	rmdir(dir);
	dcm_dataset_destroy(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_explicit_file),
	    cmocka_unit_test(test_golden_bare),
	    cmocka_unit_test(test_golden_reread),
	    cmocka_unit_test(test_roundtrip_explicit_le),
	    cmocka_unit_test(test_roundtrip_implicit_le),
	    cmocka_unit_test(test_roundtrip_explicit_be),
	    cmocka_unit_test(test_roundtrip_deflated),
	    cmocka_unit_test(test_deflated_bytes),
	    cmocka_unit_test(test_defined_lengths_identical),
	    cmocka_unit_test(test_group_length_recomputed),
	    cmocka_unit_test(test_given_meta_and_preamble),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_save),
	    cmocka_unit_test(test_nomem),
	    cmocka_unit_test(test_nomem_save),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
