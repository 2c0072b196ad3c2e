/*
 * test_jpegls_j2k.c - JPEG-LS (src/pixel/jpegls.c) and JPEG 2000
 * (src/pixel/j2k.c) decoding.
 *
 * Four kinds of checks:
 *  1. pydicom's JPEG-LS / JPEG 2000 test files decoded through
 *     pix_frame_decode and compared with what pydicom's pixel_array returns
 *     (tests/unit/data/jls_j2k/refs.h, made by tools/gen_jls_j2k_refs.py):
 *     bit-exact hash for lossless files, PSNR on a sample grid for lossy.
 *  2. Variants made at test time with dcmtk's dcmcjpls and GDCM's gdcmconv
 *     from uncompressed originals (several interleave modes, near-lossless,
 *     signed 12-bit, RGB 8/16-bit, planar, two frames): lossless decodes
 *     must equal the original exactly, near-lossless within NEAR.
 *     Skipped when the tools are not installed.
 *  3. Codestreams encoded here with OpenJPEG's and CharLS's encoders, to pin
 *     each rule down on its own: sign and precision mismatches, MCT, JP2
 *     wrapper, tiles, subsampling, geometry mismatches; plus the committed
 *     HTJ2K codestreams (made with OpenJPH).
 *  4. Hostile input: every truncation, byte corruptions, garbage and empty
 *     input must give an error (or a frame), never a crash (run under ASan),
 *     and failed allocations must come back as PC_NOMEM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pixel/pixel_int.h"
#include "pixel_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <charls/charls.h>
#include <openjpeg.h>

/* ---- reference tables -------------------------------------------------- */

struct ref_frame {
	uint64_t hash;       /* FNV-1a of the int32 samples, little endian */
	int32_t min, max;
	uint32_t stride;     /* grid: every stride-th interleaved sample */
	uint32_t count;
	const int32_t *grid;
};

struct ref_file {
	const char *name;
	const char *ts;
	enum pc_status status;
	bool lossy;
	uint32_t frames, rows, cols;
	uint16_t samples, bits_stored;
	bool is_signed;
	const char *photometric;
	const struct ref_frame *frame;
};

#include "data/jls_j2k/refs.h"

/* ---- helpers ------------------------------------------------------------- */

static const char *pydicom_dir(void)
{
	const char *d = getenv("PYDICOM_TEST_FILES");

	return d != NULL ? d
			 : "/usr/lib/python3/dist-packages/pydicom/data/"
			   "test_files";
}

static const char *data_dir(char *buf, size_t size)
{
	const char *src = getenv("PACSD_SOURCE_DIR");

	snprintf(buf, size, "%s/tests/unit/data/jls_j2k",
		 src != NULL ? src : ".");
	return buf;
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		p = malloc((size_t)len + 1);
		if (p != NULL && fread(p, 1, (size_t)len, f) != (size_t)len) {
			free(p);
			p = NULL;
		}
		*n = (size_t)len;
	}
	fclose(f);
	return p;
}


static struct pix_desc mkdesc(uint32_t cols, uint32_t rows, uint16_t samples,
			      uint16_t ba, uint16_t bs, bool is_signed,
			      enum pix_photometric pi)
{
	struct pix_desc d;

	memset(&d, 0, sizeof(d));
	d.cols = cols;
	d.rows = rows;
	d.frames = 1;
	d.samples = samples;
	d.bits_allocated = ba;
	d.bits_stored = bs;
	d.high_bit = (uint16_t)(bs - 1);
	d.is_signed = is_signed;
	d.photometric = pi;
	return d;
}

/* What codec.c does around a decoder: the frame filled from the
 * descriptor, its samples allocated. */
static enum pc_status decode_direct(const struct pix_desc *d, bool jls,
				    const void *p, size_t n,
				    struct pix_frame *out, struct pc_err *err)
{
	enum pc_status st;

	pix__frame_shape(out, d);
	out->data = pc_calloc((size_t)d->rows * d->cols * d->samples,
			      sizeof(int32_t));
	if (out->data == NULL)
		return PC_NOMEM;
	st = jls ? pix__decode_jpegls(d, pc_span_make(p, n), out, err)
		 : pix__decode_j2k(d, pc_span_make(p, n), out, err);
	if (st != PC_OK)
		pix_frame_cleanup(out);
	return st;
}

/* PSNR of `got` against `want` over n samples, peak = want's range. */
static double psnr(const int32_t *want, const int32_t *got, size_t n,
		   double peak)
{
	double se = 0;

	for (size_t i = 0; i < n; i++) {
		double e = (double)want[i] - (double)got[i];

		se += e * e;
	}
	if (se == 0)
		return 999.0;
	return 10.0 * log10(peak * peak / (se / (double)n));
}

static int32_t max_abs_diff(const int32_t *a, const int32_t *b, size_t n)
{
	int32_t m = 0;

	for (size_t i = 0; i < n; i++) {
		int32_t e = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];

		if (e > m)
			m = e;
	}
	return m;
}

/* A deterministic test image: smooth ramps plus a texture, in [lo, hi]. */
static void fill_image(int32_t *v, uint32_t w, uint32_t h, uint16_t spp,
		       int32_t lo, int32_t hi, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	double span = (double)hi - (double)lo;

	for (uint32_t r = 0; r < h; r++)
		for (uint32_t c = 0; c < w; c++)
			for (uint16_t s = 0; s < spp; s++) {
				double t = 0.5 + 0.35 * sin((r + 3.0 * s) / 7.0) *
							 cos((c + 5.0 * s) / 9.0);
				int32_t val;

				x = x * 1103515245u + 12345u;
				t += ((double)((x >> 16) & 0xFF) / 255.0 - 0.5) *
				     0.1;
				if (t < 0)
					t = 0;
				if (t > 1)
					t = 1;
				val = lo + (int32_t)(t * span + 0.5);
				if (r == 0 && c == 0)
					val = lo; /* reach both ends */
				if (r == 0 && c == 1)
					val = hi;
				v[((size_t)r * w + c) * spp + s] = val;
			}
}

/* ---- OpenJPEG encoder to memory ----------------------------------------- */

struct wbuf {
	uint8_t *p;
	size_t len, cap, pos;
};

static OPJ_SIZE_T wb_write(void *src, OPJ_SIZE_T n, void *user)
{
	struct wbuf *b = user;

	if (b->pos + n > b->cap) {
		size_t cap = (b->pos + n) * 2 + 4096;
		uint8_t *p = realloc(b->p, cap);

		if (p == NULL)
			return (OPJ_SIZE_T)-1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->pos, src, n);
	b->pos += n;
	if (b->pos > b->len)
		b->len = b->pos;
	return n;
}

static OPJ_OFF_T wb_skip(OPJ_OFF_T n, void *user)
{
	struct wbuf *b = user;

	if ((OPJ_OFF_T)b->pos + n < 0)
		return -1;
	b->pos = (size_t)((OPJ_OFF_T)b->pos + n);
	return n;
}

static OPJ_BOOL wb_seek(OPJ_OFF_T to, void *user)
{
	struct wbuf *b = user;

	if (to < 0)
		return OPJ_FALSE;
	b->pos = (size_t)to;
	return OPJ_TRUE;
}

static void quiet(const char *msg, void *user)
{
	(void)msg;
	(void)user;
}

struct j2k_opts {
	uint32_t prec;
	bool sgnd;
	bool irreversible;
	bool mct;
	bool jp2;
	bool tiles;        /* 32x32 tiles */
	uint32_t sub;      /* dx = dy of components 1.. (1 = none) */
	float rate;        /* compression ratio for lossy, 0 = lossless */
	uint32_t numres;   /* 0 = 3 */
};

/* Encodes `v` (interleaved w x h x ncomp) into b->p[0..len). */
static void j2k_encode(const int32_t *v, uint32_t w, uint32_t h,
		       uint32_t ncomp, const struct j2k_opts *o,
		       struct wbuf *b)
{
	opj_cparameters_t p;
	opj_image_cmptparm_t cp[4];
	opj_image_t *img;
	opj_codec_t *codec;
	opj_stream_t *s;
	uint32_t sub = o->sub ? o->sub : 1;

	memset(b, 0, sizeof(*b));
	opj_set_default_encoder_parameters(&p);
	p.tcp_numlayers = 1;
	p.tcp_rates[0] = o->rate;
	p.cp_disto_alloc = 1;
	p.irreversible = o->irreversible ? 1 : 0;
	p.tcp_mct = o->mct ? 1 : 0;
	p.numresolution = o->numres ? (int)o->numres : 3;
	if (o->tiles) {
		p.tile_size_on = OPJ_TRUE;
		p.cp_tdx = 32;
		p.cp_tdy = 32;
	}
	memset(cp, 0, sizeof(cp));
	for (uint32_t c = 0; c < ncomp; c++) {
		uint32_t d = c == 0 ? 1 : sub;

		cp[c].dx = d;
		cp[c].dy = d;
		cp[c].w = (w + d - 1) / d;
		cp[c].h = (h + d - 1) / d;
		cp[c].prec = o->prec;
		cp[c].sgnd = o->sgnd;
	}
	img = opj_image_create(ncomp, cp,
			       ncomp == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
	assert_non_null(img);
	img->x0 = 0;
	img->y0 = 0;
	img->x1 = w;
	img->y1 = h;
	for (uint32_t c = 0; c < ncomp; c++)
		for (uint32_t y = 0; y < cp[c].h; y++)
			for (uint32_t x = 0; x < cp[c].w; x++)
				img->comps[c].data[y * cp[c].w + x] =
					v[((size_t)(y * cp[c].dy) * w +
					   x * cp[c].dx) *
						  ncomp +
					  c];
	codec = opj_create_compress(o->jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
	assert_non_null(codec);
	opj_set_error_handler(codec, quiet, NULL);
	opj_set_warning_handler(codec, quiet, NULL);
	opj_set_info_handler(codec, quiet, NULL);
	assert_true(opj_setup_encoder(codec, &p, img));
	s = opj_stream_create(1 << 16, OPJ_FALSE);
	assert_non_null(s);
	opj_stream_set_user_data(s, b, NULL);
	opj_stream_set_write_function(s, wb_write);
	opj_stream_set_skip_function(s, wb_skip);
	opj_stream_set_seek_function(s, wb_seek);
	assert_true(opj_start_compress(codec, img, s));
	assert_true(opj_encode(codec, s));
	assert_true(opj_end_compress(codec, s));
	opj_stream_destroy(s);
	opj_destroy_codec(codec);
	opj_image_destroy(img);
	assert_true(b->len > 0);
}

/* ---- CharLS encoder -------------------------------------------------------- */

struct jls_opts {
	int32_t bits;        /* P */
	int32_t near;
	charls_interleave_mode ilv;
	charls_color_transformation transform;
};

/* Encodes P-bit patterns `u` (interleaved w x h x ncomp, as unsigned
 * values already) into a malloc'ed buffer. */
static uint8_t *jls_encode(const uint32_t *u, uint32_t w, uint32_t h,
			   int32_t ncomp, const struct jls_opts *o, size_t *n)
{
	charls_jpegls_encoder *enc = charls_jpegls_encoder_create();
	charls_frame_info fi = {w, h, o->bits, ncomp};
	size_t npix = (size_t)w * h, bps = o->bits > 8 ? 2 : 1, cap = 0;
	size_t total = npix * (size_t)ncomp;
	uint8_t *src = malloc(total * bps), *dst;
	bool planar = o->ilv == CHARLS_INTERLEAVE_MODE_NONE;

	assert_non_null(enc);
	assert_non_null(src);
	for (size_t i = 0; i < npix; i++)
		for (int32_t c = 0; c < ncomp; c++) {
			size_t at = planar ? (size_t)c * npix + i
					   : i * (size_t)ncomp + (size_t)c;
			uint32_t val = u[i * (size_t)ncomp + (size_t)c];

			if (bps == 2) {
				uint16_t w16 = (uint16_t)val;

				memcpy(src + 2 * at, &w16, 2);
			} else {
				src[at] = (uint8_t)val;
			}
		}
	assert_int_equal(charls_jpegls_encoder_set_frame_info(enc, &fi), 0);
	assert_int_equal(charls_jpegls_encoder_set_near_lossless(enc, o->near),
			 0);
	if (ncomp > 1)
		assert_int_equal(
			charls_jpegls_encoder_set_interleave_mode(enc, o->ilv), 0);
	if (o->transform != CHARLS_COLOR_TRANSFORMATION_NONE)
		assert_int_equal(charls_jpegls_encoder_set_color_transformation(
					 enc, o->transform),
				 0);
	assert_int_equal(
		charls_jpegls_encoder_get_estimated_destination_size(enc, &cap),
		0);
	dst = malloc(cap);
	assert_non_null(dst);
	assert_int_equal(
		charls_jpegls_encoder_set_destination_buffer(enc, dst, cap), 0);
	assert_int_equal(charls_jpegls_encoder_encode_from_buffer(
				 enc, src, total * bps, 0),
			 0);
	assert_int_equal(charls_jpegls_encoder_get_bytes_written(enc, n), 0);
	charls_jpegls_encoder_destroy(enc);
	free(src);
	return dst;
}

/* ---- 1. pydicom's test files ---------------------------------------------- */

static void test_pydicom_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ref_files) / sizeof(ref_files[0]); i++) {
		const struct ref_file *r = &ref_files[i];
		char path[1024];
		struct pc_err err = {0};
		dcm_file *f;
		struct pix_desc d;

		snprintf(path, sizeof(path), "%s/%s", pydicom_dir(), r->name);
		if (access(path, R_OK) != 0) {
			print_message("skipping %s: not installed\n", r->name);
			continue;
		}
		f = dcm_file_open(path, NULL, &err);
		assert_non_null(f);
		assert_int_equal(pix_desc_read(dcm_file_dataset(f), dcm_file_ts(f),
					       &d, &err),
				 PC_OK);
		assert_string_equal(d.ts->uid, r->ts);
		assert_int_equal(d.frames, r->frames);
		for (uint32_t fr = 0; fr < r->frames; fr++) {
			struct pix_frame pf;
			enum pc_status st;
			const struct ref_frame *rf = &r->frame[fr];
			size_t n;

			pc_err_clear(&err);
			st = pix_frame_decode(&d, fr, &pf, &err);
			if (st != r->status)
				print_message("%s frame %u: %s: %s\n", r->name,
					      fr, pc_status_name(st), err.msg);
			assert_int_equal(st, r->status);
			if (st != PC_OK) {
				assert_true(err.msg[0] != '\0');
				continue;
			}
			assert_int_equal(pf.rows, r->rows);
			assert_int_equal(pf.cols, r->cols);
			assert_int_equal(pf.samples, r->samples);
			assert_int_equal(pf.bits_stored, r->bits_stored);
			assert_int_equal(pf.is_signed, r->is_signed);
			assert_string_equal(pix_photometric_name(pf.photometric),
					    r->photometric);
			n = (size_t)pf.rows * pf.cols * pf.samples;
			if (!r->lossy || pixtest_fnv1a(pf.data, n) == rf->hash) {
				assert_true(pixtest_fnv1a(pf.data, n) == rf->hash);
			} else {
				/* Lossy and not bit-identical to pydicom's
				 * decoder: compare the grid by PSNR. */
				int32_t got[1100];
				double q;

				for (uint32_t k = 0; k < rf->count; k++)
					got[k] = pf.data[(size_t)k * rf->stride];
				q = psnr(rf->grid, got, rf->count,
					 (double)rf->max - rf->min);
				print_message("%s: not bit-identical to pydicom, "
					      "grid PSNR %.1f dB\n",
					      r->name, q);
				assert_true(q >= 45.0);
			}
			for (uint32_t k = 0; k < rf->count; k++)
				if (!r->lossy)
					assert_int_equal(
						pf.data[(size_t)k * rf->stride],
						rf->grid[k]);
			pix_frame_cleanup(&pf);
		}
		dcm_file_destroy(f);
	}
}

/* ---- 2. variants made by dcmtk and GDCM ------------------------------------- */

static bool have_tool(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static int run(const char *fmt, ...) PC_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Decodes every frame of `path`; frames are concatenated into *out. */
static enum pc_status decode_file(const char *path, int32_t **out, size_t *n,
				  struct pix_desc *dout, char *why,
				  size_t whysize)
{
	struct pc_err err = {0};
	dcm_file *f = dcm_file_open(path, NULL, &err);
	struct pix_desc d;
	enum pc_status st;
	size_t per;

	*out = NULL;
	*n = 0;
	if (f == NULL) {
		snprintf(why, whysize, "open: %s", err.msg);
		return err.status;
	}
	st = pix_desc_read(dcm_file_dataset(f), dcm_file_ts(f), &d, &err);
	if (st != PC_OK) {
		snprintf(why, whysize, "desc: %s", err.msg);
		dcm_file_destroy(f);
		return st;
	}
	per = (size_t)d.rows * d.cols * d.samples;
	*out = calloc(per * d.frames, sizeof(int32_t));
	assert_non_null(*out);
	for (uint32_t fr = 0; fr < d.frames; fr++) {
		struct pix_frame pf;

		st = pix_frame_decode(&d, fr, &pf, &err);
		if (st != PC_OK) {
			snprintf(why, whysize, "frame %u: %s", fr, err.msg);
			break;
		}
		memcpy(*out + per * fr, pf.data, per * sizeof(int32_t));
		pix_frame_cleanup(&pf);
	}
	*n = per * d.frames;
	*dout = d;
	dcm_file_destroy(f);
	return st;
}

/* CT_small.dcm rewritten as 12-bit signed (values -2048..2047) or unsigned
 * 12-bit data, to cover Bits Stored < Bits Allocated both ways. */
static void make_12bit(const char *dir, bool is_signed)
{
	char in[1024], out[1024];
	struct pc_err err = {0};
	dcm_file *f;
	dcm_dataset *ds;
	struct pc_span v;
	uint8_t *px;
	uint16_t bs = 12, hb = 11, pr = is_signed ? 1 : 0;

	snprintf(in, sizeof(in), "%s/CT_small.dcm", pydicom_dir());
	snprintf(out, sizeof(out), "%s/%s.dcm", dir, is_signed ? "s12" : "u12");
	f = dcm_file_open(in, NULL, &err);
	assert_non_null(f);
	ds = dcm_file_dataset(f);
	v = dcm_elem_value(dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA));
	px = malloc(v.n);
	assert_non_null(px);
	for (size_t i = 0; i + 1 < v.n; i += 2) {
		int32_t s = (int16_t)(v.p[i] | v.p[i + 1] << 8);
		uint16_t w;

		s -= 1200;
		s = s < -2048 ? -2048 : s > 2047 ? 2047 : s;
		w = is_signed ? (uint16_t)(int16_t)s : (uint16_t)(s + 2048);
		px[i] = (uint8_t)w;
		px[i + 1] = (uint8_t)(w >> 8);
	}
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x0101),
					 DCM_VR_US, &bs, 2),
			 PC_OK);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x0102),
					 DCM_VR_US, &hb, 2),
			 PC_OK);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x0103),
					 DCM_VR_US, &pr, 2),
			 PC_OK);
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OW, px,
					 v.n),
			 PC_OK);
	assert_int_equal(dcm_file_save(dcm_file_meta(f), ds, NULL, out, &err),
			 PC_OK);
	free(px);
	dcm_file_destroy(f);
}

struct variant {
	const char *tag;    /* output name part */
	const char *cmd;    /* command; input and output paths follow */
	int near;           /* 0 lossless, else max error */
	bool signed_ok;     /* dcmcjpls refuses near-lossless for signed */
};

static void test_tool_variants(void **state)
{
	static const char *originals[] = {
		"mr", "ct", "s12", "u12", "rgb8", "rgb8_planar", "rgb16",
		"rgb8_2f", "mono8",
	};
	static const struct variant variants[] = {
		{"jls_il", "dcmcjpls -q +il", 0, true},
		{"jls_in", "dcmcjpls -q +in", 0, true},
		{"jls_is", "dcmcjpls -q +is", 0, true},
		{"jls_n2", "dcmcjpls -q +en", 2, false},
		{"jls_n5", "dcmcjpls -q +en +md 5 +in", 5, false},
		{"gjls", "gdcmconv --quiet --jpegls", 0, true},
		{"gj2k", "gdcmconv --quiet --j2k", 0, true},
	};
	char tmpl[] = "/tmp/pacsd-jlsj2k-XXXXXX";
	const char *dir, *T = pydicom_dir();
	int checked = 0;

	(void)state;
	if (!have_tool("dcmcjpls") || !have_tool("gdcmconv") ||
	    !have_tool("dcmdrle")) {
		print_message("dcmtk / gdcm tools missing: skipped\n");
		skip();
	}
	dir = mkdtemp(tmpl);
	assert_non_null(dir);
	assert_int_equal(run("cp %s/MR_small.dcm %s/mr.dcm && "
			     "cp %s/CT_small.dcm %s/ct.dcm && "
			     "cp %s/SC_rgb_jpeg_dcmd.dcm %s/rgb8.dcm && "
			     "dcmconv -q +te %s/ExplVR_BigEnd.dcm "
			     "%s/rgb8_planar.dcm && "
			     "dcmdrle -q %s/SC_rgb_rle_16bit.dcm %s/rgb16.dcm && "
			     "dcmdrle -q %s/SC_rgb_rle_2frame.dcm "
			     "%s/rgb8_2f.dcm && "
			     "dcmconv -q +te %s/image_dfl.dcm %s/mono8.dcm",
			     T, dir, T, dir, T, dir, T, dir, T, dir, T, dir, T,
			     dir),
			 0);
	make_12bit(dir, true);
	make_12bit(dir, false);

	for (size_t o = 0; o < sizeof(originals) / sizeof(originals[0]); o++) {
		char src[1024], why[300];
		int32_t *want;
		size_t nwant;
		struct pix_desc dw;

		snprintf(src, sizeof(src), "%s/%s.dcm", dir, originals[o]);
		assert_int_equal(decode_file(src, &want, &nwant, &dw, why,
					     sizeof(why)),
				 PC_OK);
		for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]);
		     v++) {
			const struct variant *va = &variants[v];
			char dst[1024];
			int32_t *got;
			size_t ngot;
			struct pix_desc dg;
			enum pc_status st;
			int32_t err;

			if (va->near && dw.is_signed && !va->signed_ok)
				continue;
			snprintf(dst, sizeof(dst), "%s/%s.%s.dcm", dir,
				 originals[o], va->tag);
			if (run("%s %s %s", va->cmd, src, dst) != 0) {
				print_message("%s: %s failed\n", originals[o],
					      va->tag);
				fail();
			}
			st = decode_file(dst, &got, &ngot, &dg, why,
					 sizeof(why));
			if (st != PC_OK)
				print_message("%s.%s: %s\n", originals[o],
					      va->tag, why);
			assert_int_equal(st, PC_OK);
			assert_true(dg.ts->encapsulated);
			assert_int_equal(ngot, nwant);
			err = max_abs_diff(want, got, nwant);
			if (err > va->near)
				print_message("%s.%s: max error %d > %d\n",
					      originals[o], va->tag, err,
					      va->near);
			assert_true(err <= va->near);
			checked++;
			free(got);
		}
		free(want);
	}
	print_message("%d tool-made variants decoded as expected\n", checked);
	assert_true(checked >= 50);
	assert_int_equal(run("rm -rf %s", dir), 0);
}

/* ---- 3a. JPEG 2000 rules on synthetic codestreams ----------------------- */

/* Encodes `v`, decodes with `d`, returns the frame (caller cleans up). */
static enum pc_status j2k_roundtrip(const int32_t *v, uint32_t ncomp,
				    const struct j2k_opts *o,
				    const struct pix_desc *d,
				    struct pix_frame *pf, struct pc_err *err)
{
	struct wbuf b;
	enum pc_status st;

	j2k_encode(v, d->cols, d->rows, ncomp, o, &b);
	st = decode_direct(d, false, b.p, b.len, pf, err);
	free(b.p);
	return st;
}

static void test_j2k_lossless_mono(void **state)
{
	static const struct {
		uint16_t ba, bs;
		bool sgnd;
		int32_t lo, hi;
	} cases[] = {
		{8, 8, false, 0, 255},       {16, 16, false, 0, 65535},
		{16, 12, false, 0, 4095},    {16, 16, true, -32768, 32767},
		{16, 12, true, -2048, 2047}, {32, 24, true, -8388608, 8388607},
		{16, 1 + 1, false, 0, 3},
	};
	int32_t *v = malloc(40 * 33 * sizeof(int32_t));

	(void)state;
	assert_non_null(v);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pix_desc d = mkdesc(40, 33, 1, cases[i].ba, cases[i].bs,
					   cases[i].sgnd, PIX_MONOCHROME2);
		struct j2k_opts o = {.prec = cases[i].bs, .sgnd = cases[i].sgnd};
		struct pix_frame pf;
		struct pc_err err = {0};

		fill_image(v, 40, 33, 1, cases[i].lo, cases[i].hi, (uint32_t)i);
		for (int variant = 0; variant < 3; variant++) {
			o.tiles = variant == 1;
			o.jp2 = variant == 2;
			assert_int_equal(
				j2k_roundtrip(v, 1, &o, &d, &pf, &err), PC_OK);
			assert_int_equal(max_abs_diff(v, pf.data, 40 * 33), 0);
			assert_int_equal(pf.bits_stored, cases[i].bs);
			pix_frame_cleanup(&pf);
		}
	}
	free(v);
}

static void test_j2k_colour(void **state)
{
	enum { W = 48, H = 40, N = W * H * 3 };
	int32_t *v = malloc(N * sizeof(int32_t));
	struct pix_frame pf;
	struct pc_err err = {0};

	(void)state;
	assert_non_null(v);
	fill_image(v, W, H, 3, 0, 255, 7);

	/* Reversible colour transform: YBR_RCT in, RGB out, exact. */
	struct pix_desc d = mkdesc(W, H, 3, 8, 8, false, PIX_YBR_RCT);
	struct j2k_opts o = {.prec = 8, .mct = true};
	assert_int_equal(j2k_roundtrip(v, 3, &o, &d, &pf, &err), PC_OK);
	assert_int_equal(pf.photometric, PIX_RGB);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	pix_frame_cleanup(&pf);

	/* RGB with the MCT flag set anyway (seen in the wild): still RGB. */
	d.photometric = PIX_RGB;
	assert_int_equal(j2k_roundtrip(v, 3, &o, &d, &pf, &err), PC_OK);
	assert_int_equal(pf.photometric, PIX_RGB);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	pix_frame_cleanup(&pf);

	/* No MCT, RGB. */
	o.mct = false;
	assert_int_equal(j2k_roundtrip(v, 3, &o, &d, &pf, &err), PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	pix_frame_cleanup(&pf);

	/* YBR_FULL without MCT passes through as YBR_FULL for codec.c. */
	d.photometric = PIX_YBR_FULL;
	assert_int_equal(j2k_roundtrip(v, 3, &o, &d, &pf, &err), PC_OK);
	assert_int_equal(pf.photometric, PIX_YBR_FULL);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	pix_frame_cleanup(&pf);

	/* Irreversible colour transform, lossy: RGB out, close. */
	d.photometric = PIX_YBR_ICT;
	o.mct = true;
	o.irreversible = true;
	o.rate = 4;
	assert_int_equal(j2k_roundtrip(v, 3, &o, &d, &pf, &err), PC_OK);
	assert_int_equal(pf.photometric, PIX_RGB);
	print_message("ICT 4:1 PSNR %.1f dB\n", psnr(v, pf.data, N, 255));
	assert_true(psnr(v, pf.data, N, 255) >= 30.0); /* noisy image */
	pix_frame_cleanup(&pf);

	/* Subsampled chroma: refused with a clear message. */
	o = (struct j2k_opts){.prec = 8, .sub = 2};
	d.photometric = PIX_YBR_FULL;
	assert_int_equal(j2k_roundtrip(v, 3, &o, &d, &pf, &err),
			 PC_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "subsampled"));
	free(v);
}

static void test_j2k_lossy(void **state)
{
	enum { W = 64, H = 64, N = W * H };
	int32_t *v = malloc(N * sizeof(int32_t));
	struct pix_desc d = mkdesc(W, H, 1, 16, 12, true, PIX_MONOCHROME2);
	struct j2k_opts o = {.prec = 12, .sgnd = true, .irreversible = true,
			     .rate = 3};
	struct pix_frame pf;
	struct pc_err err = {0};
	double q;

	(void)state;
	assert_non_null(v);
	fill_image(v, W, H, 1, -2048, 2047, 3);
	assert_int_equal(j2k_roundtrip(v, 1, &o, &d, &pf, &err), PC_OK);
	q = psnr(v, pf.data, N, 4095);
	print_message("9/7 3:1 12-bit PSNR %.1f dB\n", q);
	assert_true(q >= 45.0);
	for (size_t i = 0; i < N; i++)
		assert_true(pf.data[i] >= -2048 && pf.data[i] <= 2047);
	pix_frame_cleanup(&pf);
	free(v);
}

/* Sign and precision rules (see j2k.c's file comment). */
static void test_j2k_sign_rules(void **state)
{
	enum { W = 20, H = 10, N = W * H };
	int32_t v[N], pat[N];
	struct pix_frame pf;
	struct pc_err err = {0};
	struct pix_desc d;
	struct j2k_opts o;

	(void)state;
	/* Unsigned 13-bit J2K, Pixel Representation 1 (J2K_pixelrep_mismatch
	 * .dcm): the 13-bit pattern is two's complement. */
	fill_image(v, W, H, 1, -4096, 4095, 11);
	for (size_t i = 0; i < N; i++)
		pat[i] = v[i] & 0x1FFF;
	d = mkdesc(W, H, 1, 16, 13, true, PIX_MONOCHROME2);
	o = (struct j2k_opts){.prec = 13, .sgnd = false};
	assert_int_equal(j2k_roundtrip(pat, 1, &o, &d, &pf, &err), PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	assert_int_equal(pf.bits_stored, 13);
	pix_frame_cleanup(&pf);

	/* Signed 12-bit J2K, Pixel Representation 0: the 12-bit pattern. */
	fill_image(v, W, H, 1, -2048, 2047, 12);
	d = mkdesc(W, H, 1, 16, 12, false, PIX_MONOCHROME2);
	o = (struct j2k_opts){.prec = 12, .sgnd = true};
	assert_int_equal(j2k_roundtrip(v, 1, &o, &d, &pf, &err), PC_OK);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(pf.data[i], v[i] & 0xFFF);
	pix_frame_cleanup(&pf);

	/* Signed 16-bit J2K, Bits Stored 14, values within 14 bits
	 * (693_J2KI.dcm): as coded, bits_stored stays 14. */
	fill_image(v, W, H, 1, -8192, 8191, 13);
	d = mkdesc(W, H, 1, 16, 14, true, PIX_MONOCHROME2);
	o = (struct j2k_opts){.prec = 16, .sgnd = true};
	assert_int_equal(j2k_roundtrip(v, 1, &o, &d, &pf, &err), PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	assert_int_equal(pf.bits_stored, 14);
	pix_frame_cleanup(&pf);

	/* ... and values beyond 14 bits: kept, bits_stored raised to 16. */
	fill_image(v, W, H, 1, -30000, 30000, 14);
	assert_int_equal(j2k_roundtrip(v, 1, &o, &d, &pf, &err), PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	assert_int_equal(pf.bits_stored, 16);
	pix_frame_cleanup(&pf);

	/* Unsigned precision below Bits Stored: values as coded. */
	fill_image(v, W, H, 1, 0, 1023, 15);
	d = mkdesc(W, H, 1, 16, 16, false, PIX_MONOCHROME2);
	o = (struct j2k_opts){.prec = 10};
	assert_int_equal(j2k_roundtrip(v, 1, &o, &d, &pf, &err), PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	assert_int_equal(pf.bits_stored, 16);
	pix_frame_cleanup(&pf);

	/* Precision above Bits Allocated: an error naming both. */
	fill_image(v, W, H, 1, 0, 4095, 16);
	d = mkdesc(W, H, 1, 8, 8, false, PIX_MONOCHROME2);
	o = (struct j2k_opts){.prec = 12};
	pc_err_clear(&err);
	assert_int_equal(j2k_roundtrip(v, 1, &o, &d, &pf, &err), PC_PARSE);
	assert_non_null(strstr(err.msg, "12-bit"));
	assert_non_null(strstr(err.msg, "Bits Allocated"));
}

static void test_j2k_geometry_mismatch(void **state)
{
	enum { W = 20, H = 10 };
	int32_t v[W * H * 3];
	struct wbuf b;
	struct pix_frame pf;
	struct pc_err err;
	struct j2k_opts o = {.prec = 8};
	struct pix_desc d;

	(void)state;
	fill_image(v, W, H, 1, 0, 255, 1);
	j2k_encode(v, W, H, 1, &o, &b);

	/* Codestream larger than the descriptor, and smaller. */
	d = mkdesc(W - 1, H, 1, 8, 8, false, PIX_MONOCHROME2);
	pc_err_clear(&err);
	assert_int_equal(decode_direct(&d, false, b.p, b.len, &pf, &err),
			 PC_PARSE);
	assert_non_null(strstr(err.msg, "20x10"));
	assert_non_null(strstr(err.msg, "19x10"));
	d = mkdesc(W, H + 5, 1, 8, 8, false, PIX_MONOCHROME2);
	assert_int_equal(decode_direct(&d, false, b.p, b.len, &pf, &err),
			 PC_PARSE);
	/* One component where the data set says three. */
	d = mkdesc(W, H, 3, 8, 8, false, PIX_RGB);
	pc_err_clear(&err);
	assert_int_equal(decode_direct(&d, false, b.p, b.len, &pf, &err),
			 PC_PARSE);
	assert_non_null(strstr(err.msg, "Samples per Pixel"));
	free(b.p);
}

/* A codestream whose EOC marker is missing (complete tile-parts): decoded;
 * one cut inside a tile-part: TRUNC. JP2 files without a codestream box or
 * with a lying SIZ: errors before OpenJPEG runs. */
static void test_j2k_missing_eoc(void **state)
{
	enum { W = 32, H = 24, N = W * H };
	int32_t v[N];
	struct wbuf b;
	struct pix_frame pf;
	struct pc_err err = {0};
	struct pix_desc d = mkdesc(W, H, 1, 16, 16, false, PIX_MONOCHROME2);
	struct j2k_opts o = {.prec = 16};
	uint8_t *cut;

	(void)state;
	fill_image(v, W, H, 1, 0, 65535, 41);
	j2k_encode(v, W, H, 1, &o, &b);
	assert_true(b.p[b.len - 2] == 0xFF && b.p[b.len - 1] == 0xD9);
	cut = malloc(b.len);
	assert_non_null(cut);
	memcpy(cut, b.p, b.len);
	assert_int_equal(decode_direct(&d, false, cut, b.len - 2, &pf, &err),
			 PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	pix_frame_cleanup(&pf);
	/* ... also with a DICOM padding byte where EOC was. */
	cut[b.len - 2] = 0x00;
	assert_int_equal(decode_direct(&d, false, cut, b.len - 1, &pf, &err),
			 PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	pix_frame_cleanup(&pf);
	assert_int_equal(decode_direct(&d, false, cut, b.len - 40, &pf, &err),
			 PC_TRUNC);
	assert_non_null(strstr(err.msg, "EOC"));
	free(cut);
	free(b.p);

	/* JP2: a lying SIZ is caught before decoding; no 'jp2c' box. */
	o.jp2 = true;
	j2k_encode(v, W, H, 1, &o, &b);
	d.cols = W * 4;
	pc_err_clear(&err);
	assert_int_equal(decode_direct(&d, false, b.p, b.len, &pf, &err),
			 PC_PARSE);
	assert_non_null(strstr(err.msg, "32x24"));
	for (size_t i = 0; i + 4 <= b.len; i++)
		if (memcmp(b.p + i, "jp2c", 4) == 0)
			b.p[i + 3] = 'x';
	d.cols = W;
	pc_err_clear(&err);
	assert_true(decode_direct(&d, false, b.p, b.len, &pf, &err) != PC_OK);
	assert_non_null(strstr(err.msg, "jp2c"));
	free(b.p);
}

/* The committed HTJ2K codestreams against their uncompressed originals. */
static void test_htj2k(void **state)
{
	static const struct {
		const char *file, *orig;
		double min_psnr;    /* 0 = exact */
	} cases[] = {
		{"ht_mr_lossless.j2c", "MR_small.dcm", 0},
		{"ht_rgb_lossless.j2c", "SC_rgb_jpeg_dcmd.dcm", 0},
		{"ht_rgb_lossy.j2c", "SC_rgb_jpeg_dcmd.dcm", 45.0},
	};
	char dir[1024];

	(void)state;
	data_dir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[1200], why[300];
		uint8_t *cs;
		size_t n, nwant;
		int32_t *want;
		struct pix_desc d;
		struct pix_frame pf;
		struct pc_err err = {0};

		snprintf(path, sizeof(path), "%s/%s", pydicom_dir(),
			 cases[i].orig);
		assert_int_equal(decode_file(path, &want, &nwant, &d, why,
					     sizeof(why)),
				 PC_OK);
		snprintf(path, sizeof(path), "%s/%s", dir, cases[i].file);
		cs = slurp(path, &n);
		assert_non_null(cs);
		/* The descriptor of the original, as a .201/.203 file would
		 * carry it. */
		assert_int_equal(decode_direct(&d, false, cs, n, &pf, &err),
				 PC_OK);
		if (cases[i].min_psnr == 0) {
			assert_int_equal(max_abs_diff(want, pf.data, nwant), 0);
		} else {
			double q = psnr(want, pf.data, nwant, 255);

			print_message("%s PSNR %.1f dB\n", cases[i].file, q);
			assert_true(q >= cases[i].min_psnr);
		}
		pix_frame_cleanup(&pf);
		free(cs);
		free(want);
	}
}

/* HTJ2K through the whole path: a .201 Part 10 file built here. */
static void test_htj2k_file(void **state)
{
	char dir[1024], path[1200];
	uint8_t *cs;
	size_t n;
	struct pc_err err = {0};
	dcm_file *f, *g;
	dcm_elem *px = NULL;
	struct pc_buf out = PC_BUF_INIT;
	struct dcm_write_opts wo;
	struct pix_desc d;
	struct pix_frame pf;
	const struct dcm_ts *ts =
		dcm_ts_find("1.2.840.10008.1.2.4.201", 23);
	int32_t *want;
	size_t nwant;
	char why[300];

	(void)state;
	assert_non_null(ts);
	snprintf(path, sizeof(path), "%s/MR_small.dcm", pydicom_dir());
	assert_int_equal(decode_file(path, &want, &nwant, &d, why, sizeof(why)),
			 PC_OK);
	f = dcm_file_open(path, NULL, &err);
	assert_non_null(f);
	snprintf(path, sizeof(path), "%s/ht_mr_lossless.j2c",
		 data_dir(dir, sizeof(dir)));
	cs = slurp(path, &n);
	assert_non_null(cs);
	assert_int_equal(dcm_dataset_set_encapsulated(dcm_file_dataset(f),
						      DCM_TAG_PIXEL_DATA,
						      DCM_VR_OB,
						      pc_span_make(NULL, 0),
						      &px),
			 PC_OK);
	assert_int_equal(dcm_elem_add_fragment(px, pc_span_make(cs, n)), PC_OK);
	memset(&wo, 0, sizeof(wo));
	wo.ts = ts;
	assert_int_equal(dcm_file_write(dcm_file_meta(f), dcm_file_dataset(f),
					&wo, &out, &err),
			 PC_OK);
	g = dcm_file_parse((const uint8_t *)out.p, out.n, NULL, &err);
	assert_non_null(g);
	assert_int_equal(pix_desc_read(dcm_file_dataset(g), dcm_file_ts(g), &d,
				       &err),
			 PC_OK);
	assert_true(pix_ts_supported(d.ts));
	assert_int_equal(pix_frame_decode(&d, 0, &pf, &err), PC_OK);
	assert_int_equal(max_abs_diff(want, pf.data, nwant), 0);
	pix_frame_cleanup(&pf);
	dcm_file_destroy(g);
	dcm_file_destroy(f);
	pc_buf_cleanup(&out);
	free(cs);
	free(want);
}

/* ---- 3b. JPEG-LS rules on synthetic codestreams ------------------------- */

static enum pc_status jls_roundtrip(const uint32_t *u, const struct pix_desc *d,
				    const struct jls_opts *o,
				    struct pix_frame *pf, struct pc_err *err)
{
	size_t n;
	uint8_t *cs = jls_encode(u, d->cols, d->rows, d->samples, o, &n);
	enum pc_status st = decode_direct(d, true, cs, n, pf, err);

	free(cs);
	return st;
}

static void test_jls_interleave(void **state)
{
	enum { W = 37, H = 21, N = W * H * 3 };
	static const charls_interleave_mode modes[] = {
		CHARLS_INTERLEAVE_MODE_NONE, CHARLS_INTERLEAVE_MODE_LINE,
		CHARLS_INTERLEAVE_MODE_SAMPLE};
	int32_t v[N];
	uint32_t u[N];
	struct pix_frame pf;
	struct pc_err err = {0};

	(void)state;
	for (int bits = 8; bits <= 16; bits += 8) {
		struct pix_desc d = mkdesc(W, H, 3, (uint16_t)bits,
					   (uint16_t)bits, false, PIX_RGB);

		fill_image(v, W, H, 3, 0, (1 << bits) - 1, (uint32_t)bits);
		for (size_t i = 0; i < N; i++)
			u[i] = (uint32_t)v[i];
		for (size_t m = 0; m < 3; m++) {
			struct jls_opts o = {.bits = bits, .ilv = modes[m]};

			assert_int_equal(jls_roundtrip(u, &d, &o, &pf, &err),
					 PC_OK);
			assert_int_equal(max_abs_diff(v, pf.data, N), 0);
			pix_frame_cleanup(&pf);
		}
	}
	/* HP1 colour transformation (CharLS undoes it). */
	{
		struct pix_desc d = mkdesc(W, H, 3, 8, 8, false, PIX_RGB);
		struct jls_opts o = {.bits = 8,
				     .ilv = CHARLS_INTERLEAVE_MODE_LINE,
				     .transform = CHARLS_COLOR_TRANSFORMATION_HP1};

		fill_image(v, W, H, 3, 0, 255, 99);
		for (size_t i = 0; i < N; i++)
			u[i] = (uint32_t)v[i];
		assert_int_equal(jls_roundtrip(u, &d, &o, &pf, &err), PC_OK);
		assert_int_equal(max_abs_diff(v, pf.data, N), 0);
		pix_frame_cleanup(&pf);
	}
}

static void test_jls_near_lossless(void **state)
{
	enum { W = 64, H = 48, N = W * H };
	int32_t v[N];
	uint32_t u[N];
	struct pix_frame pf;
	struct pc_err err = {0};
	struct pix_desc d = mkdesc(W, H, 1, 16, 12, false, PIX_MONOCHROME2);

	(void)state;
	fill_image(v, W, H, 1, 0, 4095, 5);
	for (size_t i = 0; i < N; i++)
		u[i] = (uint32_t)v[i];
	for (int32_t near = 1; near <= 7; near += 3) {
		struct jls_opts o = {.bits = 12, .near = near};

		assert_int_equal(jls_roundtrip(u, &d, &o, &pf, &err), PC_OK);
		assert_true(max_abs_diff(v, pf.data, N) <= near);
		pix_frame_cleanup(&pf);
	}
}

/* Sign and precision rules (see jpegls.c's file comment). */
static void test_jls_sign_rules(void **state)
{
	enum { W = 30, H = 12, N = W * H };
	int32_t v[N];
	uint32_t u[N];
	struct pix_frame pf;
	struct pc_err err = {0};
	struct pix_desc d = mkdesc(W, H, 1, 16, 12, true, PIX_MONOCHROME2);
	struct jls_opts o = {.bits = 12};

	(void)state;
	fill_image(v, W, H, 1, -2048, 2047, 21);
	/* 12-bit patterns, P = 12: the standard case. */
	for (size_t i = 0; i < N; i++)
		u[i] = (uint32_t)v[i] & 0xFFF;
	assert_int_equal(jls_roundtrip(u, &d, &o, &pf, &err), PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	pix_frame_cleanup(&pf);

	/* Sign-extended 16-bit patterns, P = 16: same values. */
	for (size_t i = 0; i < N; i++)
		u[i] = (uint32_t)v[i] & 0xFFFF;
	o.bits = 16;
	assert_int_equal(jls_roundtrip(u, &d, &o, &pf, &err), PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	assert_int_equal(pf.bits_stored, 12);
	pix_frame_cleanup(&pf);

	/* 12-bit patterns inside a P = 16 stream: masked as usual. */
	for (size_t i = 0; i < N; i++)
		u[i] = (uint32_t)v[i] & 0xFFF;
	assert_int_equal(jls_roundtrip(u, &d, &o, &pf, &err), PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	pix_frame_cleanup(&pf);

	/* Unsigned values beyond Bits Stored (P = 16, Bits Stored 12):
	 * kept, not masked, and bits_stored says so. */
	d.is_signed = false;
	fill_image(v, W, H, 1, 0, 60000, 22);
	for (size_t i = 0; i < N; i++)
		u[i] = (uint32_t)v[i];
	assert_int_equal(jls_roundtrip(u, &d, &o, &pf, &err), PC_OK);
	assert_int_equal(max_abs_diff(v, pf.data, N), 0);
	assert_int_equal(pf.bits_stored, 16);
	pix_frame_cleanup(&pf);

	/* Low precisions decode as bytes. */
	for (int32_t bits = 2; bits <= 8; bits += 3) {
		struct pix_desc d8 = mkdesc(W, H, 1, 8, (uint16_t)bits, false,
					    PIX_MONOCHROME2);
		struct jls_opts o8 = {.bits = bits};

		fill_image(v, W, H, 1, 0, (1 << bits) - 1, 30);
		for (size_t i = 0; i < N; i++)
			u[i] = (uint32_t)v[i];
		assert_int_equal(jls_roundtrip(u, &d8, &o8, &pf, &err), PC_OK);
		assert_int_equal(max_abs_diff(v, pf.data, N), 0);
		pix_frame_cleanup(&pf);
	}
}

static void test_jls_mismatch(void **state)
{
	enum { W = 16, H = 8, N = W * H };
	uint32_t u[N];
	struct jls_opts o = {.bits = 12};
	struct pix_frame pf;
	struct pc_err err;
	struct pix_desc d;
	size_t n;
	uint8_t *cs;

	(void)state;
	for (size_t i = 0; i < N; i++)
		u[i] = (uint32_t)(i * 31) & 0xFFF;
	cs = jls_encode(u, W, H, 1, &o, &n);

	d = mkdesc(W + 1, H, 1, 16, 12, false, PIX_MONOCHROME2);
	pc_err_clear(&err);
	assert_int_equal(decode_direct(&d, true, cs, n, &pf, &err), PC_PARSE);
	assert_non_null(strstr(err.msg, "16x8"));
	assert_non_null(strstr(err.msg, "17x8"));
	d = mkdesc(W, H - 1, 1, 16, 12, false, PIX_MONOCHROME2);
	assert_int_equal(decode_direct(&d, true, cs, n, &pf, &err), PC_PARSE);
	d = mkdesc(W, H, 3, 16, 12, false, PIX_RGB);
	pc_err_clear(&err);
	assert_int_equal(decode_direct(&d, true, cs, n, &pf, &err), PC_PARSE);
	assert_non_null(strstr(err.msg, "components"));
	d = mkdesc(W, H, 1, 8, 8, false, PIX_MONOCHROME2);
	pc_err_clear(&err);
	assert_int_equal(decode_direct(&d, true, cs, n, &pf, &err), PC_PARSE);
	assert_non_null(strstr(err.msg, "Bits Allocated"));
	free(cs);
}

/* ---- 4. hostile input ----------------------------------------------------- */

/* Every prefix of `cs` cut before its last `tail_ok` bytes must fail with
 * a message; flipped bytes must never crash. */
static void hostile(const struct pix_desc *d, bool jls, const uint8_t *cs,
		    size_t n, size_t tail_ok)
{
	uint8_t *copy = malloc(n);
	uint32_t x = 12345;
	struct pix_frame pf;
	struct pc_err err;

	assert_non_null(copy);
	for (size_t len = 0; len < n; len++) {
		enum pc_status st;
		uint8_t *exact = malloc(len ? len : 1);

		/* A heap block of exactly len bytes, so that ASan sees any
		 * read past the end. */
		assert_non_null(exact);
		memcpy(exact, cs, len);
		pc_err_clear(&err);
		st = decode_direct(d, jls, exact, len, &pf, &err);
		if (st == PC_OK) {
			pix_frame_cleanup(&pf);
			if (len + tail_ok < n)
				print_message("%s: prefix %zu of %zu decoded\n",
					      jls ? "JPEG-LS" : "J2K", len, n);
			assert_true(len + tail_ok >= n);
		} else {
			assert_true(err.msg[0] != '\0');
		}
		free(exact);
	}
	for (int k = 0; k < 400; k++) {
		memcpy(copy, cs, n);
		for (int j = 0; j < 1 + k % 3; j++) {
			x = x * 1103515245u + 12345u;
			copy[(x >> 8) % n] ^= (uint8_t)(1u << ((x >> 4) % 8));
		}
		if (decode_direct(d, jls, copy, n, &pf, &err) == PC_OK)
			pix_frame_cleanup(&pf);
	}
	free(copy);
}

static void test_hostile_j2k(void **state)
{
	enum { W = 24, H = 20, N = W * H * 3 };
	int32_t v[N];
	struct wbuf b;
	struct pix_frame pf;
	struct pc_err err = {0};
	static const uint8_t junk[] = {0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x02};
	struct pix_desc d = mkdesc(W, H, 3, 8, 8, false, PIX_RGB);
	struct j2k_opts o = {.prec = 8, .mct = true};

	(void)state;
	fill_image(v, W, H, 3, 0, 255, 77);
	j2k_encode(v, W, H, 3, &o, &b);
	hostile(&d, false, b.p, b.len, 2); /* EOC may be missing */
	free(b.p);
	o = (struct j2k_opts){.prec = 8, .jp2 = true, .irreversible = true,
			      .rate = 8, .mct = true};
	j2k_encode(v, W, H, 3, &o, &b);
	hostile(&d, false, b.p, b.len, 2);
	free(b.p);

	assert_int_equal(decode_direct(&d, false, "", 0, &pf, &err), PC_TRUNC);
	pc_err_clear(&err);
	assert_int_equal(decode_direct(&d, false, "\xFF\xD8\xFF\xE0", 4, &pf,
				       &err),
			 PC_PARSE);
	assert_non_null(strstr(err.msg, "FF D8"));
	assert_true(decode_direct(&d, false, junk, sizeof(junk), &pf, &err) !=
		    PC_OK);
}

static void test_hostile_jls(void **state)
{
	enum { W = 24, H = 20, N = W * H * 3 };
	int32_t v[N];
	uint32_t u[N];
	struct pix_frame pf;
	struct pc_err err = {0};
	struct pix_desc d = mkdesc(W, H, 3, 16, 12, false, PIX_RGB);
	struct jls_opts o = {.bits = 12, .ilv = CHARLS_INTERLEAVE_MODE_LINE};
	size_t n;
	uint8_t *cs;

	(void)state;
	fill_image(v, W, H, 3, 0, 4095, 78);
	for (size_t i = 0; i < N; i++)
		u[i] = (uint32_t)v[i];
	cs = jls_encode(u, W, H, 3, &o, &n);
	hostile(&d, true, cs, n, 3); /* EOI and a byte of padding bits */
	free(cs);
	o.near = 2;
	o.ilv = CHARLS_INTERLEAVE_MODE_NONE;
	cs = jls_encode(u, W, H, 3, &o, &n);
	hostile(&d, true, cs, n, 3);
	free(cs);

	assert_int_equal(decode_direct(&d, true, "", 0, &pf, &err), PC_TRUNC);
	pc_err_clear(&err);
	/* Without EOI the frame counts as truncated; with it, as corrupt. */
	assert_int_equal(decode_direct(&d, true, "\xFF\xD8\xFF\xE0\x00\x10", 6,
				       &pf, &err),
			 PC_TRUNC);
	assert_non_null(strstr(err.msg, "JPEG-LS"));
	assert_non_null(strstr(err.msg, "EOI"));
	pc_err_clear(&err);
	assert_int_equal(decode_direct(&d, true,
				       "\xFF\xD8\xFF\xE0\x00\x04\x00\x00\xFF\xD9",
				       10, &pf, &err),
			 PC_PARSE);
	assert_non_null(strstr(err.msg, "CharLS"));
}

/* Every allocation made while decoding a JPEG-LS and a JPEG 2000 file may
 * fail: the result is PC_NOMEM (or the frame), never a crash or a leak. */
static void test_alloc_failures(void **state)
{
	static const char *files[] = {"MR_small_jpeg_ls_lossless.dcm",
				      "MR_small_jp2klossless.dcm"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char path[1024];
		struct pc_err err = {0};
		dcm_file *f;
		struct pix_desc d;
		struct pix_frame pf;
		uint64_t count;

		snprintf(path, sizeof(path), "%s/%s", pydicom_dir(), files[i]);
		f = dcm_file_open(path, NULL, &err);
		assert_non_null(f);
		assert_int_equal(pix_desc_read(dcm_file_dataset(f),
					       dcm_file_ts(f), &d, &err),
				 PC_OK);
		(void)pc_alloc_fail_after(0);
		assert_int_equal(pix_frame_decode(&d, 0, &pf, &err), PC_OK);
		pix_frame_cleanup(&pf);
		count = pc_alloc_fail_after(0);
		for (uint64_t k = 1; k <= count; k++) {
			enum pc_status st;

			(void)pc_alloc_fail_after(k);
			pc_err_clear(&err);
			st = pix_frame_decode(&d, 0, &pf, &err);
			(void)pc_alloc_fail_after(0);
			assert_int_equal(st, PC_NOMEM);
		}
		dcm_file_destroy(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pydicom_files),
		cmocka_unit_test(test_tool_variants),
		cmocka_unit_test(test_j2k_lossless_mono),
		cmocka_unit_test(test_j2k_colour),
		cmocka_unit_test(test_j2k_lossy),
		cmocka_unit_test(test_j2k_sign_rules),
		cmocka_unit_test(test_j2k_geometry_mismatch),
		cmocka_unit_test(test_j2k_missing_eoc),
		cmocka_unit_test(test_htj2k),
		cmocka_unit_test(test_htj2k_file),
		cmocka_unit_test(test_jls_interleave),
		cmocka_unit_test(test_jls_near_lossless),
		cmocka_unit_test(test_jls_sign_rules),
		cmocka_unit_test(test_jls_mismatch),
		cmocka_unit_test(test_hostile_j2k),
		cmocka_unit_test(test_hostile_jls),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
