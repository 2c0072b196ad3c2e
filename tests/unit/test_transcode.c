/*
 * test_transcode.c - frames as native little endian bytes and whole
 * instances as Explicit VR Little Endian (src/pixel/transcode.c).
 *
 * Each of pydicom's compressed and non-little-endian files is transcoded;
 * the result is parsed again and every frame decoded, and must equal the
 * original's decoded frames sample for sample (our decoders on both sides:
 * the transcoder must not lose or move a bit). Then pydicom reads the
 * results and compares them with its own decoding of the originals
 * (tests/integration/wado/check_transcode.py): exactly for lossless
 * syntaxes, within a tolerance for lossy ones and YBR -> RGB.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pixel/pix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PYDICOM_DATA "/usr/lib/python3/dist-packages/pydicom/data/test_files/"
#define PYTHON "/usr/bin/python3"

#define TAG_PHOTOMETRIC DCM_TAG(0x0028, 0x0004)
#define TAG_PLANAR DCM_TAG(0x0028, 0x0006)
#define TAG_SOP_INSTANCE DCM_TAG(0x0008, 0x0018)

static const char *const files[] = {
	"MR_small_RLE.dcm",              /* RLE 16-bit */
	"SC_rgb_rle.dcm",                /* RLE RGB 8-bit */
	"SC_rgb_rle_16bit_2frame.dcm",   /* RLE RGB 16-bit, 2 frames */
	"SC_rgb_rle_32bit_2frame.dcm",   /* RLE RGB 32-bit, 2 frames */
	"rtdose_rle.dcm",                /* RLE 32-bit, 15 frames */
	"MR_small_jp2klossless.dcm",     /* JPEG 2000 lossless */
	"JPEG2000.dcm",                  /* JPEG 2000 lossy */
	"GDCMJ2K_TextGBR.dcm",           /* JPEG 2000 YBR_RCT */
	"MR_small_jpeg_ls_lossless.dcm", /* JPEG-LS */
	"SC_rgb_jpeg_gdcm.dcm",          /* JPEG lossless SV1 RGB */
	"SC_rgb_jpeg_dcmtk.dcm",         /* JPEG baseline YBR_FULL */
	"SC_rgb_dcmtk_+eb+cy+s2.dcm",    /* JPEG baseline YBR_FULL_422 */
	"SC_rgb_small_odd_jpeg.dcm",     /* 3x3: odd lengths */
	"MR_small_bigendian.dcm",        /* native: byte order */
	"MR_small_implicit.dcm",         /* native: implicit VR */
	"rtdose_expb.dcm",               /* native 32-bit big endian */
	"liver_expb_1frame.dcm",         /* native 1-bit big endian */
	"image_dfl.dcm",                 /* deflated */
	"ExplVR_BigEnd.dcm",             /* RGB big endian */
};
#define N_FILES (sizeof(files) / sizeof(files[0]))

static char tmpdir[] = "/tmp/pacsd-transcode-XXXXXX";

static dcm_file *open_file(const char *name)
{
	char path[512];
	struct pc_err err;
	dcm_file *f;

	snprintf(path, sizeof(path), "%s%s", PYDICOM_DATA, name);
	pc_err_clear(&err);
	f = dcm_file_open(path, NULL, &err);
	if (f == NULL)
		fail_msg("%s: %s", name, err.msg);
	return f;
}

/* Decodes every frame of `f`; frames[i].data owned by the caller. */
static uint32_t decode_all(dcm_file *f, struct pix_frame **out)
{
	struct pix_desc d;
	struct pc_err err;
	uint32_t i;

	pc_err_clear(&err);
	assert_int_equal(pix_desc_read(dcm_file_dataset(f), dcm_file_ts(f), &d,
				       &err),
			 PC_OK);
	*out = calloc(d.frames, sizeof(**out));
	for (i = 0; i < d.frames; i++) {
		if (pix_frame_decode(&d, i, &(*out)[i], &err) != PC_OK)
			fail_msg("frame %u: %s", i, err.msg);
	}
	return d.frames;
}

static void free_frames(struct pix_frame *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		pix_frame_cleanup(&v[i]);
	free(v);
}

/* Transcodes `name`, checks it against our own decoding, and writes the
 * result to tmpdir for pydicom. */
static void transcode_one(const char *name, FILE *manifest)
{
	dcm_file *ref = open_file(name), *src = open_file(name), *got;
	struct pix_frame *a, *b;
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;
	uint32_t na, nb;
	char path[512];
	FILE *fp;
	const dcm_elem *e;

	na = decode_all(ref, &a);
	pc_err_clear(&err);
	if (pix_transcode_native(src, &out, &err) != PC_OK)
		fail_msg("%s: %s", name, err.msg);
	got = dcm_file_parse((const uint8_t *)out.p, out.n, NULL, &err);
	if (got == NULL)
		fail_msg("%s: result does not parse: %s", name, err.msg);
	assert_ptr_equal(dcm_file_ts(got), &dcm_ts_explicit_le);
	e = dcm_dataset_find(dcm_file_dataset(got), DCM_TAG_PIXEL_DATA);
	assert_non_null(e);
	assert_false(dcm_elem_is_encapsulated(e));
	assert_int_equal(dcm_elem_length(e) % 2, 0);
	assert_null(dcm_dataset_find(dcm_file_dataset(got),
				     DCM_TAG(0x7FE0, 0x0001)));
	/* Attributes outside the pixel module are untouched. */
	{
		struct pc_buf u1 = PC_BUF_INIT, u2 = PC_BUF_INIT;

		assert_int_equal(dcm_dataset_get_string(dcm_file_dataset(ref),
							TAG_SOP_INSTANCE, 0,
							&u1),
				 PC_OK);
		assert_int_equal(dcm_dataset_get_string(dcm_file_dataset(got),
							TAG_SOP_INSTANCE, 0,
							&u2),
				 PC_OK);
		assert_string_equal(pc_buf_str(&u1), pc_buf_str(&u2));
		pc_buf_cleanup(&u1);
		pc_buf_cleanup(&u2);
	}

	nb = decode_all(got, &b);
	assert_int_equal(na, nb);
	for (uint32_t i = 0; i < na; i++) {
		size_t n = (size_t)a[i].rows * a[i].cols * a[i].samples;

		assert_int_equal(a[i].rows, b[i].rows);
		assert_int_equal(a[i].cols, b[i].cols);
		assert_int_equal(a[i].samples, b[i].samples);
		assert_int_equal(a[i].photometric, b[i].photometric);
		if (memcmp(a[i].data, b[i].data, n * sizeof(int32_t)) != 0)
			fail_msg("%s frame %u: samples differ", name, i + 1);
	}

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(out.p, 1, out.n, fp), out.n);
	fclose(fp);
	fprintf(manifest, "%s%s\t%s\n", PYDICOM_DATA, name, path);

	free_frames(a, na);
	free_frames(b, nb);
	dcm_file_destroy(got);
	dcm_file_destroy(src);
	dcm_file_destroy(ref);
	pc_buf_cleanup(&out);
}

static void test_transcode_files(void **state)
{
	char manifest[600], cmd[1400];
	const char *srcdir = getenv("PACSD_SOURCE_DIR");
	FILE *m;
	int rc;

	(void)state;
	snprintf(manifest, sizeof(manifest), "%s/manifest.txt", tmpdir);
	m = fopen(manifest, "w");
	assert_non_null(m);
	for (size_t i = 0; i < N_FILES; i++)
		transcode_one(files[i], m);
	fclose(m);

	/* pydicom's view, when Debian's python with pydicom is there. */
	if (srcdir == NULL || access(PYTHON, X_OK) != 0) {
		print_message("pydicom check skipped (no %s or "
			      "PACSD_SOURCE_DIR)\n", PYTHON);
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 PYTHON " %s/tests/integration/wado/check_transcode.py %s",
		 srcdir, manifest);
	rc = system(cmd);
	assert_int_equal(rc, 0);
}

/* Native frames: the big endian file's frame bytes equal the little
 * endian file's (same pixels in pydicom's MR_small variants). */
static void test_frame_native_byte_order(void **state)
{
	dcm_file *le = open_file("MR_small.dcm");
	dcm_file *be = open_file("MR_small_bigendian.dcm");
	struct pix_desc dl, db;
	struct pc_buf bl = PC_BUF_INIT, bb = PC_BUF_INIT;
	enum pix_photometric p;
	struct pc_span v;

	(void)state;
	assert_int_equal(pix_desc_read(dcm_file_dataset(le), dcm_file_ts(le),
				       &dl, NULL),
			 PC_OK);
	assert_int_equal(pix_desc_read(dcm_file_dataset(be), dcm_file_ts(be),
				       &db, NULL),
			 PC_OK);
	assert_int_equal(pix_frame_native(&dl, 0, &bl, &p, NULL), PC_OK);
	assert_int_equal(p, PIX_MONOCHROME2);
	assert_int_equal(pix_frame_native(&db, 0, &bb, NULL, NULL), PC_OK);
	assert_int_equal(bl.n, 64 * 64 * 2);
	assert_int_equal(bb.n, bl.n);
	assert_memory_equal(bl.p, bb.p, bl.n);
	/* Little endian native: the slice itself. */
	v = dcm_elem_value(dl.pixels);
	assert_memory_equal(bl.p, v.p, bl.n);
	assert_int_equal(pix_frame_native(&dl, 1, &bl, NULL, NULL),
			 PC_NOTFOUND);
	pc_buf_cleanup(&bl);
	pc_buf_cleanup(&bb);
	dcm_file_destroy(le);
	dcm_file_destroy(be);
}

static void set_u16(dcm_dataset *ds, uint32_t tag, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	assert_int_equal(dcm_dataset_set(ds, tag, DCM_VR_US, b, 2), PC_OK);
}

/* 1-bit frames are not byte aligned (PS3.5 8.1.1): frame 2 of 3x3 pixel
 * frames starts at bit 9 and comes out moved to bit 0, its last byte
 * holding only its own bit. */
static void test_frame_native_1bit(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();
	/* 3 frames x 9 bits = 27 bits: frame 1 = 1 0 1 0 1 0 1 0 1,
	 * frame 2 = 1 1 0 0 1 1 0 0 1, frame 3 = 0 ... 0 1. */
	uint8_t px[4] = {0, 0, 0, 0};
	const char *bits = "101010101" "110011001" "000000001";
	struct pix_desc d;
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;

	(void)state;
	for (int i = 0; i < 27; i++)
		if (bits[i] == '1')
			px[i / 8] |= (uint8_t)(1u << (i % 8));
	set_u16(ds, DCM_TAG(0x0028, 0x0002), 1);
	assert_int_equal(dcm_dataset_set_string(ds, TAG_PHOTOMETRIC, DCM_VR_CS,
						"MONOCHROME2"),
			 PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0008),
						DCM_VR_IS, "3"),
			 PC_OK);
	set_u16(ds, DCM_TAG(0x0028, 0x0010), 3);
	set_u16(ds, DCM_TAG(0x0028, 0x0011), 3);
	set_u16(ds, DCM_TAG(0x0028, 0x0100), 1);
	set_u16(ds, DCM_TAG(0x0028, 0x0101), 1);
	set_u16(ds, DCM_TAG(0x0028, 0x0102), 0);
	set_u16(ds, DCM_TAG(0x0028, 0x0103), 0);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB, px,
					 4),
			 PC_OK);
	pc_err_clear(&err);
	if (pix_desc_read(ds, &dcm_ts_explicit_le, &d, &err) != PC_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(pix_frame_native(&d, 1, &out, NULL, &err), PC_OK);
	assert_int_equal(out.n, 2);
	/* 1 1 0 0 1 1 0 0 | 1 -> 0x33, 0x01 */
	assert_int_equal((uint8_t)out.p[0], 0x33);
	assert_int_equal((uint8_t)out.p[1], 0x01);
	pc_buf_reset(&out);
	assert_int_equal(pix_frame_native(&d, 0, &out, NULL, &err), PC_OK);
	assert_int_equal((uint8_t)out.p[0], 0x55);
	assert_int_equal((uint8_t)out.p[1], 0x01);
	pc_buf_reset(&out);
	assert_int_equal(pix_frame_native(&d, 2, &out, NULL, &err), PC_OK);
	assert_int_equal((uint8_t)out.p[0], 0x00);
	assert_int_equal((uint8_t)out.p[1], 0x01);
	pc_buf_cleanup(&out);
	dcm_dataset_destroy(ds);
}

/* The output buffer already holds bytes: the file is appended after them,
 * and the planar configuration of RLE RGB (1 in the file) becomes 0. */
static void test_transcode_appends(void **state)
{
	dcm_file *f = open_file("SC_rgb_rle.dcm"), *got;
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;
	int64_t planar = -1;

	(void)state;
	pc_buf_puts(&out, "prefix");
	pc_err_clear(&err);
	assert_int_equal(pix_transcode_native(f, &out, &err), PC_OK);
	assert_memory_equal(out.p, "prefix", 6);
	got = dcm_file_parse((const uint8_t *)out.p + 6, out.n - 6, NULL,
			     &err);
	assert_non_null(got);
	assert_int_equal(dcm_dataset_get_int(dcm_file_dataset(got), TAG_PLANAR,
					     0, &planar),
			 PC_OK);
	assert_int_equal(planar, 0);
	dcm_file_destroy(got);
	dcm_file_destroy(f);
	pc_buf_cleanup(&out);
}

/* A frame the decoders refuse (12-bit JPEG: Debian's libjpeg-turbo is
 * 8-bit only) fails the transcoding with the decoder's status. */
static void test_transcode_undecodable(void **state)
{
	dcm_file *f = open_file("JPGExtended.dcm");
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;

	(void)state;
	pc_err_clear(&err);
	assert_int_equal(pix_transcode_native(f, &out, &err), PC_UNSUPPORTED);
	assert_int_equal(out.n, 0);
	dcm_file_destroy(f);
	pc_buf_cleanup(&out);
}

/* Every allocation failing in turn: PC_NOMEM (or success), never a crash
 * or a leak (ASan runs this). */
static void test_transcode_nomem(void **state)
{
	unsigned nomem = 0;

	(void)state;
	for (uint64_t n = 1; n < 400; n++) {
		dcm_file *f = open_file("SC_rgb_rle_2frame.dcm");
		struct pc_buf out = PC_BUF_INIT;
		enum pc_status st;
		uint64_t made;

		pc_alloc_fail_after(n);
		st = pix_transcode_native(f, &out, NULL);
		made = pc_alloc_fail_after(0);
		pc_buf_cleanup(&out);
		dcm_file_destroy(f);
		if (st == PC_OK && made < n) {
			/* Every allocation has been failed once. */
			assert_true(nomem > 3);
			return;
		}
		assert_true(st == PC_NOMEM || st == PC_OK);
		nomem += st == PC_NOMEM;
	}
	fail_msg("more than 400 allocations for a small file");
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transcode_files),
		cmocka_unit_test(test_frame_native_byte_order),
		cmocka_unit_test(test_frame_native_1bit),
		cmocka_unit_test(test_transcode_appends),
		cmocka_unit_test(test_transcode_undecodable),
		cmocka_unit_test(test_transcode_nomem),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
