/*
 * test_jpeg.c - src/pixel/ljpeg.c (JPEG Lossless, our own decoder) and
 * src/pixel/jpeg.c (JPEG Baseline / Extended through libjpeg-turbo).
 *
 * Four sources of truth:
 *   1. A small JPEG Lossless encoder below, written from T.81 Annex H
 *      like the one of fuzz/make_ljpeg_corpus.py (whose streams GDCM
 *      decodes to the same images, see its --check): every predictor,
 *      precision 2..16, point transforms, restart intervals, separate
 *      scans, long Huffman codes, the difference 32768. Decoding must give
 *      back the image exactly.
 *   2. dcmtk's dcmcjpeg, a real encoder, run at test time on images built
 *      here and on pydicom's CT_small / MR_small (skipped when dcmcjpeg is
 *      missing): decode(compressed) == decode(native original), exactly.
 *   3. pydicom's JPEG test files against tools/gen_jpeg_refs.py's tables
 *      (what pydicom + GDCM return): lossless exactly, lossy within 2
 *      levels and PSNR > 45 dB.
 *   4. Hostile streams: every prefix, every bit flipped, hand-broken
 *      segments (errors name the marker and offset), allocation failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include "pixel/pixel_int.h"
#include "pixel_test.h"

struct jref_frame {
	uint64_t hash;
	int32_t min, max;
	uint32_t stride, n;
	const int32_t *grid;
};
struct jref_file {
	const char *name, *ts;
	enum pc_status status;
	bool lossy;
	uint32_t frames, rows, cols;
	uint16_t samples, bits;
	bool is_signed;
	const char *photometric;
	const struct jref_frame *frame;
};
#include "data/jpeg/refs.h"

#define PYDICOM_TEST_FILES                                                     \
	"/usr/lib/python3/dist-packages/pydicom/data/test_files"

static const struct dcm_ts *ts_57, *ts_70, *ts_50, *ts_51;

static int setup(void **state)
{
	(void)state;
	ts_57 = dcm_ts_find("1.2.840.10008.1.2.4.57", 22);
	ts_70 = dcm_ts_find("1.2.840.10008.1.2.4.70", 22);
	ts_50 = dcm_ts_find("1.2.840.10008.1.2.4.50", 22);
	ts_51 = dcm_ts_find("1.2.840.10008.1.2.4.51", 22);
	return ts_57 && ts_70 && ts_50 && ts_51 ? 0 : -1;
}

static const char *pydicom_dir(void)
{
	const char *d = getenv("PYDICOM_TEST_FILES");

	return d != NULL ? d : PYDICOM_TEST_FILES;
}

/* ---- a JPEG Lossless encoder (T.81 Annex H) -------------------------------
 */

struct bw {
	uint8_t *p;
	size_t n, cap;
	uint32_t acc;
	int nb;
};

static void bw_byte(struct bw *b, uint8_t c)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 256;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	b->p[b->n++] = c;
}

static void bw_raw(struct bw *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bw_byte(b, p[i]);
}

static void bw_u16(struct bw *b, unsigned v)
{
	bw_byte(b, (uint8_t)(v >> 8));
	bw_byte(b, (uint8_t)v);
}

/* Entropy-coded bits, MSB first, with FF 00 stuffing (T.81 F.1.2.3). */
static void bw_put(struct bw *b, uint32_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		b->acc = (b->acc << 1) | ((v >> i) & 1);
		if (++b->nb == 8) {
			bw_byte(b, (uint8_t)b->acc);
			if ((b->acc & 0xFF) == 0xFF)
				bw_byte(b, 0);
			b->acc = 0;
			b->nb = 0;
		}
	}
}

static void bw_flush(struct bw *b)
{
	if (b->nb)
		bw_put(b, (1u << (8 - b->nb)) - 1, 8 - b->nb);
}

struct enc {
	unsigned P, pred, pt;
	unsigned restart; /* MCUs per interval, 0 = none */
	bool separate;    /* one scan per component */
	bool skewed;      /* codes up to 16 bits instead of 5-bit ones */
};

/* The table: BITS and HUFFVAL, and each symbol's code. */
struct table {
	uint8_t bits[17];
	uint8_t vals[17];
	unsigned nvals;
	uint16_t code[17];
	uint8_t len[17];
};

static void make_table(struct table *t, bool skewed)
{
	unsigned code = 0, k = 0;

	memset(t, 0, sizeof(*t));
	if (skewed) {
		/* Symbol s: s+1 bits for s < 14, 16 bits for 14..16. */
		for (unsigned l = 1; l <= 14; l++)
			t->bits[l] = 1;
		t->bits[16] = 3;
	} else {
		t->bits[5] = 17;
	}
	for (unsigned s = 0; s < 17; s++)
		t->vals[s] = (uint8_t)s;
	t->nvals = 17;
	for (unsigned l = 1; l <= 16; l++) {
		for (unsigned i = 0; i < t->bits[l]; i++, k++) {
			t->code[t->vals[k]] = (uint16_t)code++;
			t->len[t->vals[k]] = (uint8_t)l;
		}
		code <<= 1;
	}
}

static int32_t predict(unsigned sel, int32_t ra, int32_t rb, int32_t rc)
{
	switch (sel) {
	case 1:
		return ra;
	case 2:
		return rb;
	case 3:
		return rc;
	case 4:
		return ra + rb - rc;
	case 5:
		return ra + ((rb - rc) >> 1);
	case 6:
		return rb + ((ra - rc) >> 1);
	default:
		return (ra + rb) >> 1;
	}
}

static void put_diff(struct bw *b, const struct table *t, int32_t d)
{
	unsigned s = 0;
	uint32_t m;

	if (d == -32768) {
		bw_put(b, t->code[16], t->len[16]);
		return;
	}
	for (m = (uint32_t)(d < 0 ? -d : d); m; m >>= 1)
		s++;
	bw_put(b, t->code[s], t->len[s]);
	if (s)
		bw_put(b, (uint32_t)(d > 0 ? d : d + (1 << s) - 1), (int)s);
}

/*
 * Encodes `img` (h x w x nc values in 0..2^P-1, interleaved) and returns
 * the codestream (malloc'd, *n bytes).
 */
static uint8_t *encode(const int32_t *img, unsigned h, unsigned w, unsigned nc,
                       const struct enc *o, size_t *n)
{
	struct bw b = {0};
	struct table t;
	unsigned nscans = o->separate ? nc : 1;

	make_table(&t, o->skewed);
	bw_raw(&b, (const uint8_t *)"\xFF\xD8\xFF\xC3", 4);
	bw_u16(&b, 8 + 3 * nc);
	bw_byte(&b, (uint8_t)o->P);
	bw_u16(&b, h);
	bw_u16(&b, w);
	bw_byte(&b, (uint8_t)nc);
	for (unsigned c = 0; c < nc; c++) {
		bw_byte(&b, (uint8_t)(c + 1));
		bw_byte(&b, 0x11);
		bw_byte(&b, 0);
	}
	if (o->restart) {
		bw_raw(&b, (const uint8_t *)"\xFF\xDD\x00\x04", 4);
		bw_u16(&b, o->restart);
	}
	for (unsigned s = 0; s < nscans; s++) {
		unsigned c0 = o->separate ? s : 0, ns = o->separate ? 1 : nc;
		unsigned rst = 0;

		bw_raw(&b, (const uint8_t *)"\xFF\xC4", 2);
		bw_u16(&b, 2 + 17 + t.nvals);
		bw_byte(&b, 0);
		bw_raw(&b, t.bits + 1, 16);
		bw_raw(&b, t.vals, t.nvals);
		bw_raw(&b, (const uint8_t *)"\xFF\xDA", 2);
		bw_u16(&b, 6 + 2 * ns);
		bw_byte(&b, (uint8_t)ns);
		for (unsigned c = 0; c < ns; c++) {
			bw_byte(&b, (uint8_t)(c0 + c + 1));
			bw_byte(&b, 0);
		}
		bw_byte(&b, (uint8_t)o->pred);
		bw_byte(&b, 0);
		bw_byte(&b, (uint8_t)o->pt);
		for (unsigned y = 0; y < h; y++) {
			for (unsigned x = 0; x < w; x++) {
				size_t m = (size_t)y * w + x;
				size_t k0 = o->restart
				                ? m / o->restart * o->restart
				                : 0;

				if (o->restart && m && m == k0) {
					bw_flush(&b);
					bw_byte(&b, 0xFF);
					bw_byte(&b, (uint8_t)(0xD0 + rst));
					rst = (rst + 1) & 7;
				}
				for (unsigned c = c0; c < c0 + ns; c++) {
#define PX(yy, xx) (img[((size_t)(yy)*w + (xx)) * nc + c] >> o->pt)
					int32_t px, d;

					if (m == k0)
						px = 1 << (o->P - o->pt - 1);
					else if (y == k0 / w)
						px = PX(y, x - 1);
					else if (x == 0)
						px = PX(y - 1, x);
					else
						px = predict(o->pred,
						             PX(y, x - 1),
						             PX(y - 1, x),
						             PX(y - 1, x - 1));
					d = (PX(y, x) - px) & 0xFFFF;
#undef PX
					if (d >= 32768)
						d -= 65536;
					put_diff(&b, &t, d);
				}
			}
		}
		bw_flush(&b);
	}
	bw_raw(&b, (const uint8_t *)"\xFF\xD9", 2);
	*n = b.n;
	return b.p;
}

/* A test image: gradients, noise, the extremes 0 and 2^P-1 and jumps of
 * half the range (the largest differences, SSSS = P). */
static int32_t *make_image(unsigned h, unsigned w, unsigned nc, unsigned P,
                           uint32_t seed)
{
	int32_t *img = malloc((size_t)h * w * nc * sizeof(int32_t));
	uint32_t hi = (1u << P) - 1, r = seed * 2654435761u + 1;

	assert_non_null(img);
	for (size_t i = 0; i < (size_t)h * w * nc; i++) {
		size_t px = i / nc, x = px % w, y = px / w;
		uint32_t v =
		    (uint32_t)((x * 5 + y * 3 + i % nc * 17) % 61) * hi / 60;

		r = r * 1103515245u + 12345u;
		switch ((r >> 16) % 16) {
		case 0:
			v = 0;
			break;
		case 1:
			v = hi;
			break;
		case 2:
			v ^= 1u << (P - 1);
			break;
		default:
			v = (v + (r >> 20) % (hi / 16 + 2)) & hi;
			break;
		}
		img[i] = (int32_t)v;
	}
	return img;
}

static struct pix_desc desc(const struct dcm_ts *ts, unsigned h, unsigned w,
                            unsigned nc, unsigned bits, bool is_signed)
{
	struct pix_desc d;

	memset(&d, 0, sizeof(d));
	d.rows = h;
	d.cols = w;
	d.frames = 1;
	d.samples = (uint16_t)nc;
	d.bits_allocated = bits > 8 ? 16 : 8;
	d.bits_stored = (uint16_t)bits;
	d.high_bit = (uint16_t)(bits - 1);
	d.is_signed = is_signed;
	d.photometric = nc == 3 ? PIX_RGB : PIX_MONOCHROME2;
	d.ts = ts;
	return d;
}

/* Decodes `in` with the decoder of d->ts, as pix_frame_decode would. */
static enum pc_status decode(const struct pix_desc *d, const uint8_t *p,
                             size_t n, struct pix_frame *f, struct pc_err *err)
{
	size_t count = (size_t)d->rows * d->cols * d->samples;
	enum pc_status st;

	pix__frame_shape(f, d);
	f->data = pc_malloc(count * sizeof(int32_t) + 1);
	assert_non_null(f->data);
	if (err != NULL)
		pc_err_clear(err);
	if (d->ts == ts_50 || d->ts == ts_51)
		st = pix__decode_jpeg(d, pc_span_make(p, n), f, err);
	else
		st = pix__decode_ljpeg(d, pc_span_make(p, n), f, err);
	if (st != PC_OK)
		pix_frame_cleanup(f);
	return st;
}

static int32_t sext(uint32_t v, unsigned bits, bool is_signed)
{
	uint32_t mask = bits >= 32 ? 0xFFFFFFFFu : (1u << bits) - 1;

	v &= mask;
	if (is_signed && (v & (1u << (bits - 1))))
		v |= ~mask;
	return (int32_t)v;
}

/* Encodes, decodes, and compares with the image (after the point
 * transform), for one set of options. */
static void roundtrip(unsigned h, unsigned w, unsigned nc, const struct enc *o,
                      uint32_t seed, unsigned bits_stored, bool is_signed)
{
	int32_t *img = make_image(h, w, nc, o->P, seed);
	struct pix_desc d = desc(ts_57, h, w, nc, bits_stored, is_signed);
	struct pix_frame f;
	struct pc_err err = {0};
	size_t n;
	uint8_t *s = encode(img, h, w, nc, o, &n);

	if (o->P > d.bits_allocated)
		d.bits_allocated = 16;
	if (decode(&d, s, n, &f, &err) != PC_OK)
		fail_msg("P=%u pred=%u pt=%u rst=%u sep=%d %ux%ux%u: %s", o->P,
		         o->pred, o->pt, o->restart, o->separate, w, h, nc,
		         err.msg);
	for (size_t i = 0; i < (size_t)h * w * nc; i++) {
		uint32_t v = (uint32_t)(img[i] >> o->pt) << o->pt;
		int32_t want = sext(v, bits_stored, is_signed);

		if (f.data[i] != want)
			fail_msg("P=%u pred=%u pt=%u rst=%u sep=%d: sample %zu "
			         "is %d, want %d",
			         o->P, o->pred, o->pt, o->restart, o->separate,
			         i, f.data[i], want);
	}
	pix_frame_cleanup(&f);
	free(s);
	free(img);
}

/* ---- lossless: our encoder ---------------------------------------------- */

static void test_ljpeg_predictors(void **state)
{
	static const unsigned precisions[] = {2, 3, 8, 12, 15, 16};

	(void)state;
	for (size_t i = 0; i < sizeof(precisions) / sizeof(*precisions); i++)
		for (unsigned pred = 1; pred <= 7; pred++)
			for (unsigned nc = 1; nc <= 3; nc += 2) {
				struct enc o = {.P = precisions[i],
				                .pred = pred};

				roundtrip(13, 17, nc, &o, pred * 31 + nc, o.P,
				          false);
				o.skewed = true;
				roundtrip(5, 9, nc, &o, pred, o.P, false);
			}
}

static void test_ljpeg_point_transform(void **state)
{
	(void)state;
	for (unsigned pt = 1; pt < 8; pt += 3)
		for (unsigned pred = 1; pred <= 7; pred += 3) {
			struct enc o = {.P = 12, .pred = pred, .pt = pt};

			roundtrip(11, 10, 1, &o, pt + pred, 12, false);
			o.P = 16;
			roundtrip(11, 10, 3, &o, pt * pred, 16, true);
		}
}

static void test_ljpeg_restart(void **state)
{
	static const struct {
		unsigned w, h, nc, restart;
		bool separate;
	} cases[] = {
	    {12, 8, 1, 12, false}, /* every line */
	    {12, 8, 1, 36, false}, /* every 3 lines: 8 intervals + */
	    {5, 40, 3, 5, false},  /* RST0..7 wrap around */
	    {9, 6, 3, 18, true},   /* per scan, separate components */
	    {7, 3, 1, 700, false}, /* longer than the image */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		for (unsigned pred = 1; pred <= 7; pred++) {
			struct enc o = {.P = 10,
			                .pred = pred,
			                .restart = cases[i].restart,
			                .separate = cases[i].separate,
			                .skewed = pred & 1};

			roundtrip(cases[i].h, cases[i].w, cases[i].nc, &o,
			          (uint32_t)i * 7 + pred, 10, false);
		}
}

static void test_ljpeg_separate_scans_and_four(void **state)
{
	struct enc o = {.P = 8, .pred = 6, .separate = true};

	(void)state;
	roundtrip(9, 14, 3, &o, 3, 8, false);
	o.separate = false;
	roundtrip(6, 7, 4, &o, 4, 8, false);
	o.separate = true;
	roundtrip(6, 7, 4, &o, 5, 8, false);
}

/* Samples 32768 apart: the difference 32768, coded as SSSS = 16 with no
 * extra bits (T.81 H.1.2.2), with every predictor. */
static void test_ljpeg_ssss16(void **state)
{
	enum { H = 6, W = 8 };
	int32_t img[H * W];
	struct pix_desc d = desc(ts_57, H, W, 1, 16, false);

	(void)state;
	for (unsigned i = 0; i < H * W; i++)
		img[i] = (int32_t)(((i & 1) ? 32768u : 0u) ^
		                   ((i / W) % 3 == 1 ? 0x7FFFu : 0u));
	for (unsigned pred = 1; pred <= 7; pred++) {
		struct enc o = {.P = 16, .pred = pred, .skewed = pred > 4};
		struct pix_frame f;
		size_t n;
		uint8_t *s = encode(img, H, W, 1, &o, &n);

		assert_int_equal(decode(&d, s, n, &f, NULL), PC_OK);
		assert_memory_equal(f.data, img, sizeof(img));
		pix_frame_cleanup(&f);
		free(s);
	}
}

/* The codestream holds the stored bit pattern: signed images come out
 * sign-extended, and a precision above Bits Stored (seen in the field)
 * is masked to Bits Stored. */
static void test_ljpeg_signed_and_masking(void **state)
{
	struct enc o = {.P = 12, .pred = 1};

	(void)state;
	roundtrip(7, 9, 1, &o, 1, 12, true);
	o.P = 16;
	roundtrip(7, 9, 1, &o, 2, 16, true);
	roundtrip(7, 9, 1, &o, 3, 12, true); /* P 16 > Bits Stored 12 */
	roundtrip(7, 9, 1, &o, 4, 12, false);
	o.P = 8;
	roundtrip(7, 9, 3, &o, 5, 8, true);
	o.P = 6;
	roundtrip(7, 9, 1, &o, 6, 8, false); /* P 6 < Bits Stored 8 */
}

static void test_ljpeg_tiny_shapes(void **state)
{
	struct enc o = {.P = 8, .pred = 4};

	(void)state;
	roundtrip(1, 1, 1, &o, 1, 8, false);
	roundtrip(1, 1, 3, &o, 2, 8, false);
	roundtrip(1, 33, 1, &o, 3, 8, false);
	roundtrip(33, 1, 1, &o, 4, 8, false);
	o.restart = 1;
	roundtrip(9, 1, 1, &o, 5, 8, false); /* RST after every line */
}

/* ---- lossless: hostile input ------------------------------------------- */

/* A valid stream to break: 3 components in separate scans with restart
 * markers every 2 lines. */
struct sample_stream {
	int32_t *img;
	uint8_t *s;
	size_t n;
	struct pix_desc d;
};

static void sample_make(struct sample_stream *x, bool separate)
{
	struct enc o = {
	    .P = 12, .pred = 7, .restart = 16, .separate = separate};

	x->img = make_image(8, 8, 3, 12, 99);
	x->s = encode(x->img, 8, 8, 3, &o, &x->n);
	x->d = desc(ts_57, 8, 8, 3, 12, false);
}

static void sample_free(struct sample_stream *x)
{
	free(x->s);
	free(x->img);
}

static size_t find(const uint8_t *s, size_t n, uint8_t a, uint8_t b)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == a && s[i + 1] == b)
			return i;
	fail_msg("marker %02X%02X not found", a, b);
	return 0;
}

static void expect_error(const struct pix_desc *d, const uint8_t *s, size_t n,
                         enum pc_status st, const char *needle)
{
	struct pix_frame f;
	struct pc_err err = {0};
	enum pc_status got = decode(d, s, n, &f, &err);

	if (got != st || strstr(err.msg, needle) == NULL)
		fail_msg("want %s with \"%s\", got %s: %s", pc_status_name(st),
		         needle, pc_status_name(got), err.msg);
	assert_int_equal(err.status, st);
	assert_null(f.data);
}

/* Every prefix is refused (TRUNC or PARSE), except the complete data
 * without (part of) its EOI, which is tolerated. */
static void test_ljpeg_every_prefix(void **state)
{
	struct sample_stream x;

	(void)state;
	for (int sep = 0; sep < 2; sep++) {
		sample_make(&x, sep);
		for (size_t n = 0; n < x.n; n++) {
			struct pix_frame f;
			struct pc_err err = {0};
			enum pc_status st = decode(&x.d, x.s, n, &f, &err);

			if (n >= x.n - 2) {
				assert_int_equal(st, PC_OK);
				pix_frame_cleanup(&f);
				continue;
			}
			if (st != PC_TRUNC && st != PC_PARSE)
				fail_msg("prefix %zu/%zu: %s %s", n, x.n,
				         pc_status_name(st), err.msg);
			assert_true(err.msg[0] != '\0');
			assert_true(err.offset <= n);
		}
		sample_free(&x);
	}
}

/* Every bit flipped in turn: any status, but no crash (ASan), a message
 * with every error, and samples inside the Bits Stored range. */
static void test_ljpeg_bit_flips(void **state)
{
	struct sample_stream x;

	(void)state;
	sample_make(&x, false);
	for (size_t i = 0; i < x.n * 8; i++) {
		struct pix_frame f;
		struct pc_err err = {0};
		enum pc_status st;

		x.s[i / 8] ^= (uint8_t)(1u << (i % 8));
		st = decode(&x.d, x.s, x.n, &f, &err);
		x.s[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (st != PC_OK) {
			assert_int_equal(err.status, st);
			assert_true(err.msg[0] != '\0');
			continue;
		}
		for (size_t k = 0; k < 8 * 8 * 3; k++)
			assert_true(f.data[k] >= 0 && f.data[k] < 4096);
		pix_frame_cleanup(&f);
	}
	sample_free(&x);
}

static void test_ljpeg_broken_segments(void **state)
{
	struct sample_stream x;
	uint8_t *b;
	size_t sof, dht, sos, rst;
	struct pix_desc d;

	(void)state;
	sample_make(&x, false);
	b = malloc(x.n + 64);
	assert_non_null(b);
	sof = find(x.s, x.n, 0xFF, 0xC3);
	dht = find(x.s, x.n, 0xFF, 0xC4);
	sos = find(x.s, x.n, 0xFF, 0xDA);
	rst = find(x.s + sos, x.n - sos, 0xFF, 0xD1) + sos;

#define RESET() memcpy(b, x.s, x.n)
	RESET();
	expect_error(&x.d, b + 2, x.n - 2, PC_PARSE, "SOI");
	expect_error(&x.d, b, 0, PC_PARSE, "SOI");

	/* The descriptor disagrees with SOF3: both sides are named. */
	d = x.d;
	d.rows = 9;
	expect_error(&d, b, x.n, PC_PARSE,
	             "is 8x8, the data set says Columns "
	             "8 Rows 9");
	d = x.d;
	d.samples = 1;
	expect_error(&d, b, x.n, PC_PARSE,
	             "3 components, the data set says "
	             "Samples per Pixel 1");
	d = x.d;
	d.bits_allocated = 8;
	expect_error(&d, b, x.n, PC_PARSE,
	             "precision 12 does not fit Bits Allocated 8");

	b[sof + 4] = 17;
	expect_error(&x.d, b, x.n, PC_PARSE, "precision 17 outside 2..16");
	RESET();
	b[sof + 3] = 0x20;
	expect_error(&x.d, b, x.n, PC_PARSE, "SOF3 at offset 2 has length");
	RESET();
	b[sof + 2] = 0x7F;
	expect_error(&x.d, b, x.n, PC_TRUNC,
	             "FFC3 at offset 2: segment "
	             "length runs past the end");
	RESET();
	b[sof + 14] = 0x21; /* component 2 subsampled */
	expect_error(&x.d, b, x.n, PC_UNSUPPORTED, "subsampled");
	RESET();
	b[sof + 1] = 0xCB;
	expect_error(&x.d, b, x.n, PC_UNSUPPORTED,
	             "SOF11 (arithmetic "
	             "lossless) at offset 2");
	RESET();
	b[sof + 1] = 0xC7;
	expect_error(&x.d, b, x.n, PC_UNSUPPORTED, "differential lossless");
	RESET();
	b[sof + 1] = 0xC1; /* lossy, 12-bit: handed to jpeg.c */
	expect_error(&x.d, b, x.n, PC_UNSUPPORTED, "JPEG Extended 12-bit");

	/* Huffman tables. */
	RESET();
	b[dht + 4] = 0x05;
	expect_error(&x.d, b, x.n, PC_PARSE, "defines table class 0 number 5");
	RESET();
	b[dht + 5] = 3; /* three codes of length 1 (and 14 of length 5) */
	b[dht + 9] = 14;
	expect_error(&x.d, b, x.n, PC_PARSE, "not a valid Huffman code");
	RESET();
	b[dht + 10] = 200;
	expect_error(&x.d, b, x.n, PC_PARSE, "is shorter than its tables");

	/* Scan headers. */
	RESET();
	b[sos + 6] = 0x10;
	expect_error(&x.d, b, x.n, PC_PARSE, "undefined Huffman table 1");
	RESET();
	b[sos + 5] = 9;
	expect_error(&x.d, b, x.n, PC_PARSE, "component 9 is not in SOF3");
	RESET();
	b[sos + 7] = 1;
	expect_error(&x.d, b, x.n, PC_PARSE, "component 1 is coded twice");
	RESET();
	b[sos + 11] = 0;
	expect_error(&x.d, b, x.n, PC_PARSE, "predictor 0");
	RESET();
	b[sos + 13] = 12;
	expect_error(&x.d, b, x.n, PC_PARSE,
	             "Pt 12 are not a lossless scan "
	             "of 12-bit samples");
	RESET();
	b[sos + 12] = 1;
	expect_error(&x.d, b, x.n, PC_PARSE, "Se 1");
	RESET();
	expect_error(&x.d, b, sos + 8, PC_TRUNC, "FFDA at offset");

	/* Restart markers. */
	RESET();
	b[rst + 1] = 0xD3;
	expect_error(&x.d, b, x.n, PC_PARSE, "marker FFD3 at offset");
	RESET();
	b[rst + 1] = 0xD9;
	expect_error(&x.d, b, x.n, PC_PARSE,
	             "where RST1 was expected (line 5 "
	             "of 8)");
	RESET();
	b[find(b, x.n, 0xFF, 0xDD) + 5] = 7; /* 7 is not a whole line */
	expect_error(&x.d, b, x.n, PC_PARSE,
	             "restart interval 7 is not a "
	             "multiple of the 8 samples");
	RESET();
	b[find(b, x.n, 0xFF, 0xDD) + 3] = 3;
	expect_error(&x.d, b, x.n, PC_PARSE, "DRI at offset");

	/* Scan data: a marker in the middle, a corrupt code, truncation. */
	RESET();
	b[sos + 20] = 0xFF;
	b[sos + 21] = 0xD9;
	expect_error(&x.d, b, x.n, PC_PARSE, "interrupts the scan data");
	RESET();
	memset(b + sos + 14, 0xFE, 8); /* 11111...: no such 5-bit code */
	expect_error(&x.d, b, x.n, PC_PARSE, "invalid Huffman code");
	RESET();
	expect_error(&x.d, b, sos + 30, PC_TRUNC, "codestream ends at offset");
	RESET();
	expect_error(&x.d, b, rst, PC_TRUNC, "before RST1");

	/* Structure. */
	RESET();
	memcpy(b + 2, x.s + sos, x.n - sos);
	expect_error(&x.d, b, 2 + x.n - sos, PC_PARSE,
	             "SOS at offset 2 before "
	             "SOF3");
	RESET();
	b[2] = 0x12;
	expect_error(&x.d, b, x.n, PC_PARSE,
	             "byte 12 at offset 2 where a "
	             "marker was expected");
	RESET();
	b[sof + 1] = 0xD0;
	expect_error(&x.d, b, x.n, PC_PARSE,
	             "unexpected marker FFD0 at "
	             "offset 2");
	RESET();
	b[sof + 1] = 0xCC;
	expect_error(&x.d, b, x.n, PC_UNSUPPORTED, "arithmetic coding");
	{
		/* Second SOF3. */
		size_t k = 0;

		memcpy(b, x.s, sos);
		k = sos;
		memcpy(b + k, x.s + sof, dht - sof);
		k += dht - sof;
		memcpy(b + k, x.s + sos, x.n - sos);
		k += x.n - sos;
		expect_error(&x.d, b, k, PC_PARSE, "second SOF3");
	}
	/* EOI before any frame; EOI before the last component's scan. */
	expect_error(&x.d, (const uint8_t *)"\xFF\xD8\xFF\xD9", 4, PC_PARSE,
	             "EOI at offset 4 before any SOF3");
	expect_error(&x.d, (const uint8_t *)"\xFF\xD8", 2, PC_TRUNC,
	             "ends at offset 2 before EOI");
	sample_free(&x);

	sample_make(&x, true);
	sos = find(x.s, x.n, 0xFF, 0xDA);
	{
		/* Drop the last scan (and its DHT). */
		size_t last = sos;

		for (size_t i = sos + 2; i + 1 < x.n; i++)
			if (x.s[i] == 0xFF && x.s[i + 1] == 0xC4)
				last = i;
		memcpy(b, x.s, last);
		b[last] = 0xFF;
		b[last + 1] = 0xD9;
		expect_error(&x.d, b, last + 2, PC_PARSE,
		             "no scan codes component 3");
	}
	sample_free(&x);
	free(b);
#undef RESET
}

/* A table mapping a code to SSSS 17: refused while decoding. */
static void test_ljpeg_ssss17(void **state)
{
	uint8_t s[] = {
	    0xFF,
	    0xD8,
	    0xFF,
	    0xC3,
	    0x00,
	    0x0B,
	    0x08,
	    0x00,
	    0x01,
	    0x00,
	    0x02,
	    0x01,
	    0x01,
	    0x11,
	    0x00,
	    /* DHT: table 0, one 1-bit code ('0') for the symbol 17. */
	    0xFF,
	    0xC4,
	    0x00,
	    0x14,
	    0x00,
	    0x01,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x11,
	    0xFF,
	    0xDA,
	    0x00,
	    0x08,
	    0x01,
	    0x01,
	    0x00,
	    0x01,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0xFF,
	    0xD9,
	};
	struct pix_desc d = desc(ts_57, 1, 2, 1, 8, false);

	(void)state;
	expect_error(&d, s, sizeof(s), PC_PARSE, "invalid Huffman code");
}

static void test_ljpeg_out_of_memory(void **state)
{
	struct sample_stream x;
	uint64_t count;

	(void)state;
	sample_make(&x, true);
	pc_alloc_fail_after(0);
	{
		struct pix_frame f;

		assert_int_equal(decode(&x.d, x.s, x.n, &f, NULL), PC_OK);
		pix_frame_cleanup(&f);
	}
	/* decode() itself allocates the frame first: count from there. */
	count = pc_alloc_fail_after(0);
	for (uint64_t i = 2; i <= count; i++) {
		struct pix_frame f;
		struct pc_err err = {0};
		enum pc_status st;

		memset(&f, 0, sizeof(f));
		f.data = malloc(8 * 8 * 3 * sizeof(int32_t));
		assert_non_null(f.data);
		f.rows = f.cols = 8;
		f.samples = 3;
		pc_alloc_fail_after(i - 1);
		st = pix__decode_ljpeg(&x.d, pc_span_make(x.s, x.n), &f, &err);
		pc_alloc_fail_after(0);
		assert_int_equal(st, PC_NOMEM);
		assert_int_equal(err.status, PC_NOMEM);
		free(f.data);
	}
	sample_free(&x);
}

/* ---- dcmcjpeg: a real encoder ------------------------------------------- */

static bool have_dcmcjpeg(void)
{
	return system("command -v dcmcjpeg >/dev/null 2>&1") == 0;
}

static void set_us(dcm_dataset *ds, uint16_t elem, unsigned v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG(0x0028, elem), DCM_VR_US, b, 2), PC_OK);
}

/* Writes a native Secondary Capture image of `img` to `path`. */
static void write_native(const char *path, const int32_t *img, unsigned h,
                         unsigned w, unsigned nc, unsigned ba, unsigned bs,
                         bool is_signed)
{
	dcm_dataset *ds = dcm_dataset_create();
	struct dcm_write_opts wo = {0};
	size_t n = (size_t)h * w * nc;
	uint8_t *px = malloc(n * 2);
	struct pc_err err = {0};

	assert_non_null(ds);
	assert_non_null(px);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0016),
	                                        DCM_VR_UI,
	                                        "1.2.840.10008.5.1.4.1.1.7"),
	                 PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0018),
	                                        DCM_VR_UI,
	                                        "1.2.826.0.1.3680043.2.1"),
	                 PC_OK);
	assert_int_equal(
	    dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0004), DCM_VR_CS,
	                           nc == 3 ? "RGB" : "MONOCHROME2"),
	    PC_OK);
	set_us(ds, 0x0002, nc);
	if (nc == 3)
		set_us(ds, 0x0006, 0);
	set_us(ds, 0x0010, h);
	set_us(ds, 0x0011, w);
	set_us(ds, 0x0100, ba);
	set_us(ds, 0x0101, bs);
	set_us(ds, 0x0102, bs - 1);
	set_us(ds, 0x0103, is_signed);
	for (size_t i = 0; i < n; i++) {
		if (ba == 8) {
			px[i] = (uint8_t)img[i];
		} else {
			px[2 * i] = (uint8_t)img[i];
			px[2 * i + 1] = (uint8_t)(img[i] >> 8);
		}
	}
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG_PIXEL_DATA,
	                                 ba == 8 ? DCM_VR_OB : DCM_VR_OW, px,
	                                 n * (ba / 8)),
	                 PC_OK);
	wo.ts = &dcm_ts_explicit_le;
	if (dcm_file_save(NULL, ds, &wo, path, &err) != PC_OK)
		fail_msg("%s: %s", path, err.msg);
	free(px);
	dcm_dataset_destroy(ds);
}

/* Decodes frame 0 of a file with pix_frame_decode. */
static enum pc_status decode_file(const char *path, struct pix_frame *f,
                                  struct pc_err *err, const char **ts_uid)
{
	dcm_file *file = dcm_file_open(path, NULL, err);
	struct pix_desc d;
	enum pc_status st;

	memset(f, 0, sizeof(*f));
	if (file == NULL)
		return err->status;
	st = pix_desc_read(dcm_file_dataset(file), dcm_file_ts(file), &d, err);
	if (st == PC_OK) {
		if (ts_uid != NULL)
			*ts_uid = d.ts->uid; /* static table entry */
		st = pix_frame_decode(&d, 0, f, err);
	}
	dcm_file_destroy(file);
	return st;
}

static const char *const dcmcjpeg_options[] = {
    "+e1",       "+el +sv 1", "+el +sv 2", "+el +sv 3", "+el +sv 4",
    "+el +sv 5", "+el +sv 6", "+el +sv 7", "+e1 +pt 2", "+el +sv 6 +pl",
};

/* Compresses `src` with each option set and checks decode(compressed) ==
 * decode(native) (with the low Pt bits cleared for +pt). */
static void dcmcjpeg_check(const char *dir, const char *src, const char *label)
{
	struct pix_frame orig, got;
	struct pc_err err = {0};
	char dst[512], cmd[1400];

	if (decode_file(src, &orig, &err, NULL) != PC_OK)
		fail_msg("%s: %s", src, err.msg);
	for (size_t i = 0;
	     i < sizeof(dcmcjpeg_options) / sizeof(*dcmcjpeg_options); i++) {
		const char *opt = dcmcjpeg_options[i];
		const char *uid = "";
		unsigned pt = strstr(opt, "+pt 2") ? 2 : 0;
		size_t n = (size_t)orig.rows * orig.cols * orig.samples;

		/* The pseudo-lossless codec rescales some images: only the
		 * exact ones are compared below. */
		snprintf(dst, sizeof(dst), "%s/%s_%zu.dcm", dir, label, i);
		snprintf(cmd, sizeof(cmd), "dcmcjpeg %s '%s' '%s'", opt, src,
		         dst);
		assert_int_equal(system(cmd), 0);
		if (decode_file(dst, &got, &err, &uid) != PC_OK)
			fail_msg("%s %s: %s", label, opt, err.msg);
		assert_string_equal(uid, strstr(opt, "+e1")
		                             ? "1.2.840.10008.1.2.4.70"
		                             : "1.2.840.10008.1.2.4.57");
		assert_int_equal(got.rows, orig.rows);
		assert_int_equal(got.cols, orig.cols);
		assert_int_equal(got.samples, orig.samples);
		if (strstr(opt, "+pl") &&
		    (orig.is_signed ||
		     (orig.bits_stored != 8 && orig.bits_stored != 12 &&
		      orig.bits_stored != 16))) {
			pix_frame_cleanup(&got);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			uint32_t mask = (1u << orig.bits_stored) - 1;
			int32_t want = sext((uint32_t)orig.data[k] & mask &
			                        ~((1u << pt) - 1),
			                    orig.bits_stored, orig.is_signed);

			if (got.data[k] != want)
				fail_msg("%s dcmcjpeg %s: sample %zu is %d, "
				         "want %d",
				         label, opt, k, got.data[k], want);
		}
		pix_frame_cleanup(&got);
	}
	pix_frame_cleanup(&orig);
}

static void test_dcmcjpeg_roundtrip(void **state)
{
	static const struct {
		const char *label;
		unsigned nc, ba, bs;
		bool is_signed;
	} shapes[] = {
	    {"m8", 1, 8, 8, false},    {"m10", 1, 16, 10, false},
	    {"m12", 1, 16, 12, false}, {"m12s", 1, 16, 12, true},
	    {"m16", 1, 16, 16, false}, {"m16s", 1, 16, 16, true},
	    {"rgb8", 3, 8, 8, false},  {"rgb16", 3, 16, 16, false},
	};
	static const char *const real[] = {"CT_small.dcm", "MR_small.dcm"};
	char dir[] = "/tmp/pacsd_test_jpeg_XXXXXX";
	char path[512], cmd[600];

	(void)state;
	if (!have_dcmcjpeg())
		skip();
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++) {
		int32_t *img =
		    make_image(33, 47, shapes[i].nc, shapes[i].bs, (uint32_t)i);

		snprintf(path, sizeof(path), "%s/%s.dcm", dir, shapes[i].label);
		write_native(path, img, 33, 47, shapes[i].nc, shapes[i].ba,
		             shapes[i].bs, shapes[i].is_signed);
		dcmcjpeg_check(dir, path, shapes[i].label);
		free(img);
	}
	for (size_t i = 0; i < sizeof(real) / sizeof(*real); i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", pydicom_dir(), real[i]);
		if (stat(path, &st) != 0)
			continue;
		dcmcjpeg_check(dir, path, real[i]);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- pydicom's files ------------------------------------------------------
 */


static void test_pydicom_files(void **state)
{
	unsigned checked = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(jref_files) / sizeof(*jref_files); i++) {
		const struct jref_file *r = &jref_files[i];
		char path[512];
		struct stat sb;
		dcm_file *file;
		struct pix_desc d;
		struct pc_err err = {0};

		snprintf(path, sizeof(path), "%s/%s", pydicom_dir(), r->name);
		if (stat(path, &sb) != 0) {
			print_message("skipped (missing): %s\n", path);
			continue;
		}
		file = dcm_file_open(path, NULL, &err);
		if (file == NULL)
			fail_msg("%s: %s", r->name, err.msg);
		assert_int_equal(pix_desc_read(dcm_file_dataset(file),
		                               dcm_file_ts(file), &d, &err),
		                 PC_OK);
		assert_string_equal(d.ts->uid, r->ts);
		for (uint32_t k = 0; k < r->frames; k++) {
			const struct jref_frame *rf = &r->frame[k];
			struct pix_frame f;
			enum pc_status st = pix_frame_decode(&d, k, &f, &err);
			size_t n;
			double se = 0, peak;
			int32_t maxdiff = 0, lo, hi;

			if (st != r->status)
				fail_msg("%s frame %u: %s (%s), want %s",
				         r->name, k, pc_status_name(st),
				         err.msg, pc_status_name(r->status));
			if (st != PC_OK) {
				if (st == PC_UNSUPPORTED)
					assert_non_null(strstr(
					    err.msg, "libjpeg-turbo 2.1"));
				continue;
			}
			assert_int_equal(f.rows, r->rows);
			assert_int_equal(f.cols, r->cols);
			assert_int_equal(f.samples, r->samples);
			assert_string_equal(pix_photometric_name(f.photometric),
			                    r->photometric);
			n = (size_t)f.rows * f.cols * f.samples;
			lo = hi = f.data[0];
			for (size_t j = 0; j < n; j++) {
				lo = f.data[j] < lo ? f.data[j] : lo;
				hi = f.data[j] > hi ? f.data[j] : hi;
			}
			if (!r->lossy) {
				assert_int_equal(lo, rf->min);
				assert_int_equal(hi, rf->max);
				if (pixtest_fnv1a(f.data, n) != rf->hash)
					fail_msg("%s: hash differs", r->name);
			}
			/* Lossy: another IDCT or colour conversion may be off
			 * by a level or two, never more. */
			for (uint32_t j = 0; j < rf->n; j++) {
				int32_t a = f.data[(size_t)j * rf->stride];
				int32_t dlt = abs(a - rf->grid[j]);

				maxdiff = dlt > maxdiff ? dlt : maxdiff;
				se += (double)dlt * dlt;
			}
			peak = (double)((1u << r->bits) - 1);
			if (!r->lossy)
				assert_int_equal(maxdiff, 0);
			else if (maxdiff > 2 ||
			         (se > 0 &&
			          10 * log10(peak * peak * rf->n / se) < 45))
				fail_msg("%s: max difference %d, squared "
				         "error %.0f",
				         r->name, maxdiff, se);
			pix_frame_cleanup(&f);
			checked++;
		}
		dcm_file_destroy(file);
	}
	print_message("%u pydicom JPEG frames checked\n", checked);
}

/* ---- jpeg.c ----------------------------------------------------------------
 */

/* The first fragment of a pydicom file, copied. NULL when missing. */
static uint8_t *pydicom_frame(const char *name, size_t *n, struct pix_desc *d,
                              dcm_file **keep)
{
	char path[512];
	struct pc_err err = {0};
	struct pc_buf scratch = PC_BUF_INIT;
	struct pc_span s;
	uint8_t *copy;

	snprintf(path, sizeof(path), "%s/%s", pydicom_dir(), name);
	*keep = dcm_file_open(path, NULL, &err);
	if (*keep == NULL)
		return NULL;
	assert_int_equal(
	    pix_desc_read(dcm_file_dataset(*keep), dcm_file_ts(*keep), d, &err),
	    PC_OK);
	assert_int_equal(pix_frame_bytes(d, 0, &scratch, &s, &err), PC_OK);
	copy = malloc(s.n);
	assert_non_null(copy);
	memcpy(copy, s.p, s.n);
	*n = s.n;
	pc_buf_cleanup(&scratch);
	return copy;
}

static void test_jpeg_baseline_hostile(void **state)
{
	static const char *const names[] = {"SC_rgb_jpeg_dcmtk.dcm",
	                                    "SC_rgb_dcmtk_+eb+cy+np.dcm"};

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct pix_desc d;
		dcm_file *file;
		size_t n, eoi;
		uint8_t *s = pydicom_frame(names[k], &n, &d, &file);
		struct pix_frame f;
		struct pc_err err = {0};
		struct pix_desc bad;

		if (s == NULL)
			skip();
		eoi = n;
		while (eoi >= 2 && !(s[eoi - 2] == 0xFF && s[eoi - 1] == 0xD9))
			eoi--;
		assert_true(eoi >= 2);
		assert_int_equal(decode(&d, s, n, &f, &err), PC_OK);
		assert_int_equal(f.photometric, PIX_RGB);
		pix_frame_cleanup(&f);
		/* Without EOI: tolerated, as in ljpeg.c. */
		assert_int_equal(decode(&d, s, eoi - 2, &f, &err), PC_OK);
		pix_frame_cleanup(&f);
		/* Every shorter prefix is an error, never a grey image. */
		for (size_t m = 0; m + 2 < eoi; m += (m < 700 ? 1 : 7)) {
			enum pc_status st = decode(&d, s, m, &f, &err);

			if (st != PC_TRUNC && st != PC_PARSE)
				fail_msg("%s prefix %zu: %s %s", names[k], m,
				         pc_status_name(st), err.msg);
			assert_true(err.msg[0] != '\0');
		}
		/* Bit flips: no crash; errors carry a message. */
		for (size_t i = 0; i < n * 8; i += 5) {
			enum pc_status st;

			s[i / 8] ^= (uint8_t)(1u << (i % 8));
			st = decode(&d, s, n, &f, &err);
			s[i / 8] ^= (uint8_t)(1u << (i % 8));
			if (st == PC_OK)
				pix_frame_cleanup(&f);
			else
				assert_true(err.msg[0] != '\0');
		}
		bad = d;
		bad.cols = 99;
		assert_int_equal(decode(&bad, s, n, &f, &err), PC_PARSE);
		assert_non_null(strstr(err.msg,
		                       "the frame is 100x100, the data "
		                       "set says Columns 99 Rows 100"));
		bad = d;
		bad.samples = 1;
		assert_int_equal(decode(&bad, s, n, &f, &err), PC_PARSE);
		assert_non_null(strstr(err.msg, "3 components"));
		free(s);
		dcm_file_destroy(file);
	}
}

static void test_jpeg_12bit_unsupported(void **state)
{
	struct pix_desc d;
	dcm_file *file;
	size_t n;
	uint8_t *s = pydicom_frame("JPGExtended.dcm", &n, &d, &file);
	struct pix_frame f;
	struct pc_err err = {0};

	(void)state;
	if (s == NULL)
		skip();
	assert_int_equal(decode(&d, s, n, &f, &err), PC_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "JPEG Extended 12-bit"));
	assert_non_null(strstr(err.msg, "libjpeg-turbo 2.1 as packaged by "
	                                "Debian"));
	free(s);
	dcm_file_destroy(file);
}

/* Lossless data under a lossy syntax UID: decoded by ljpeg.c. */
static void test_jpeg_sof3_under_baseline(void **state)
{
	int32_t *img = make_image(6, 5, 1, 8, 77);
	struct enc o = {.P = 8, .pred = 5};
	struct pix_desc d = desc(ts_50, 6, 5, 1, 8, false);
	struct pix_frame f;
	size_t n;
	uint8_t *s = encode(img, 6, 5, 1, &o, &n);

	(void)state;
	assert_int_equal(decode(&d, s, n, &f, NULL), PC_OK);
	assert_memory_equal(f.data, img, 30 * sizeof(int32_t));
	pix_frame_cleanup(&f);
	free(s);
	free(img);
}

static void test_jpeg_garbage(void **state)
{
	struct pix_desc d = desc(ts_50, 8, 8, 1, 8, false);
	struct pix_frame f;
	struct pc_err err = {0};
	static const uint8_t junk[] = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B,
	                               0x08, 0x00, 0x08, 0x00, 0x08, 0x01,
	                               0x01, 0x11, 0x00, 0xFF, 0xD9};

	(void)state;
	assert_int_equal(decode(&d, (const uint8_t *)"", 0, &f, &err),
	                 PC_TRUNC);
	assert_int_not_equal(decode(&d, (const uint8_t *)"hello", 5, &f, &err),
	                     PC_OK);
	assert_non_null(strstr(err.msg, "JPEG: "));
	assert_int_not_equal(decode(&d, junk, sizeof(junk), &f, &err), PC_OK);
	assert_true(err.msg[0] != '\0');
}

static void test_jpeg_out_of_memory(void **state)
{
	struct pix_desc d;
	dcm_file *file;
	size_t n;
	uint8_t *s = pydicom_frame("SC_rgb_jpeg_dcmtk.dcm", &n, &d, &file);
	uint64_t count;

	(void)state;
	if (s == NULL)
		skip();
	pc_alloc_fail_after(0);
	{
		struct pix_frame f;

		assert_int_equal(decode(&d, s, n, &f, NULL), PC_OK);
		pix_frame_cleanup(&f);
	}
	count = pc_alloc_fail_after(0);
	for (uint64_t i = 2; i <= count; i++) {
		struct pix_frame f;
		struct pc_err err = {0};

		memset(&f, 0, sizeof(f));
		f.data = malloc((size_t)d.rows * d.cols * d.samples *
		                sizeof(int32_t));
		assert_non_null(f.data);
		pc_alloc_fail_after(i - 1);
		assert_int_equal(
		    pix__decode_jpeg(&d, pc_span_make(s, n), &f, &err),
		    PC_NOMEM);
		pc_alloc_fail_after(0);
		free(f.data);
	}
	free(s);
	dcm_file_destroy(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ljpeg_predictors),
	    cmocka_unit_test(test_ljpeg_point_transform),
	    cmocka_unit_test(test_ljpeg_restart),
	    cmocka_unit_test(test_ljpeg_separate_scans_and_four),
	    cmocka_unit_test(test_ljpeg_ssss16),
	    cmocka_unit_test(test_ljpeg_signed_and_masking),
	    cmocka_unit_test(test_ljpeg_tiny_shapes),
	    cmocka_unit_test(test_ljpeg_every_prefix),
	    cmocka_unit_test(test_ljpeg_bit_flips),
	    cmocka_unit_test(test_ljpeg_broken_segments),
	    cmocka_unit_test(test_ljpeg_ssss17),
	    cmocka_unit_test(test_ljpeg_out_of_memory),
	    cmocka_unit_test(test_dcmcjpeg_roundtrip),
	    cmocka_unit_test(test_pydicom_files),
	    cmocka_unit_test(test_jpeg_baseline_hostile),
	    cmocka_unit_test(test_jpeg_12bit_unsupported),
	    cmocka_unit_test(test_jpeg_sof3_under_baseline),
	    cmocka_unit_test(test_jpeg_garbage),
	    cmocka_unit_test(test_jpeg_out_of_memory),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
