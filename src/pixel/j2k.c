/*
 * j2k.c - JPEG 2000 frames through OpenJPEG: lossless (1.2.840.10008.1.2.4.90),
 * lossy (.91) and High-Throughput JPEG 2000 (.201 lossless, .202 RPCL
 * lossless, .203 lossy), PS3.5 8.2.4 and 8.2.9. OpenJPEG 2.5 decodes HT
 * codestreams (ITU-T T.814) with the same API.
 *
 * The frame is read from memory through a custom opj_stream over the span;
 * OpenJPEG's messages go into a per-call context (the first error ends up in
 * the caller's pc_err), never to stderr. Strict mode makes a truncated
 * codestream an error instead of a partly grey image, and the decoder runs
 * on the calling thread only (pacsd decodes frames in parallel already; a
 * per-frame pool would oversubscribe and OPJ_NUM_THREADS must not change
 * that behind our back).
 *
 * Deviations handled, each named:
 *  - JP2 wrapper: PS3.5 8.2.4 requires a bare codestream, but some writers
 *    (GDCM's GDCMJ2K_TextGBR.dcm) store a JP2 file; it is recognised by its
 *    signature box and decoded as JP2.
 *  - Sign mismatch between Pixel Representation and the codestream's SIZ
 *    Ssiz flag, handled the way pydicom does (its gdcm and pillow handlers,
 *    APPLY_J2K_CORRECTIONS): unsigned J2K data with Pixel Representation 1
 *    (J2K_pixelrep_mismatch.dcm) is read as P-bit two's complement; signed
 *    J2K data with Pixel Representation 0 is read as its P-bit pattern.
 *  - Missing EOC marker (FF D9) at the end of a bare codestream: strict
 *    mode refuses it ("Stream too short") even when every tile-part is
 *    complete, so a copy with EOC appended is decoded instead. A tile-part
 *    cut short still fails (its Psot length exceeds the data), and any
 *    failure of such a frame is reported as truncation. (GDCM, and so
 *    pydicom, fail on these frames.)
 *  - Precision above Bits Stored (693_J2KI.dcm: 16-bit codestream, Bits
 *    Stored 14): samples are returned as coded, never masked, and if one
 *    does not fit in Bits Stored the frame's bits_stored is raised to the
 *    precision so that it stays consistent (pydicom returns the same values).
 *    A precision above Bits Allocated is an error.
 *
 * Colour: OpenJPEG undoes the multiple component transform itself when the
 * COD segment says one was applied, so YBR_ICT and YBR_RCT frames come out
 * as RGB and we say so (out->photometric = PIX_RGB). Other photometric
 * interpretations are passed through (codec.c converts YBR_FULL).
 * Subsampled components (XRsiz/YRsiz != 1) are refused: DICOM's J2K
 * syntaxes carry full-resolution components (YBR_FULL_422 is not allowed
 * with them, PS3.5 8.2.4), and no test data uses them.
 *
 * Thread-safety: everything lives in the call; OpenJPEG has no global state.
 */
#include "pixel_int.h"

#include <stdio.h>
#include <string.h>

#include <openjpeg.h>

/* Read position over the span, and the messages OpenJPEG sends. */
struct j2k_ctx {
	struct pc_span in;
	size_t pos;
	char error[160];   /* first error message, "" if none */
	char warning[160]; /* last warning message */
};

static OPJ_SIZE_T mem_read(void *dst, OPJ_SIZE_T n, void *user)
{
	struct j2k_ctx *c = user;
	size_t left = c->in.n - c->pos;

	if (left == 0)
		return (OPJ_SIZE_T)-1; /* end of stream */
	if (n > left)
		n = left;
	memcpy(dst, c->in.p + c->pos, n);
	c->pos += n;
	return n;
}

static OPJ_OFF_T mem_skip(OPJ_OFF_T n, void *user)
{
	struct j2k_ctx *c = user;

	if (n < 0) {
		if ((uint64_t)-n > c->pos)
			return -1;
		c->pos -= (size_t)-n;
		return n;
	}
	if (c->pos == c->in.n && n > 0)
		return -1;
	if ((uint64_t)n > c->in.n - c->pos)
		n = (OPJ_OFF_T)(c->in.n - c->pos);
	c->pos += (size_t)n;
	return n;
}

static OPJ_BOOL mem_seek(OPJ_OFF_T to, void *user)
{
	struct j2k_ctx *c = user;

	if (to < 0 || (uint64_t)to > c->in.n)
		return OPJ_FALSE;
	c->pos = (size_t)to;
	return OPJ_TRUE;
}

/* Copies an OpenJPEG message without its trailing newline. */
static void keep_msg(char *dst, size_t size, const char *msg)
{
	size_t n;

	snprintf(dst, size, "%s", msg != NULL ? msg : "");
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == '\r'))
		dst[--n] = '\0';
}

static void on_error(const char *msg, void *user)
{
	struct j2k_ctx *c = user;

	if (c->error[0] == '\0')
		keep_msg(c->error, sizeof(c->error), msg);
}

static void on_warning(const char *msg, void *user)
{
	struct j2k_ctx *c = user;

	keep_msg(c->warning, sizeof(c->warning), msg);
}

static void on_info(const char *msg, void *user)
{
	(void)msg;
	(void)user;
}

/* The failure of `step`, with OpenJPEG's own words when it gave some.
 * OpenJPEG has no error codes; the messages it uses for a codestream cut
 * short ("Stream too short", "Tile part length size inconsistent with
 * stream length", "... end of stream ...") make it TRUNC. */
static enum pc_status j2k_fail(struct pc_err *err, const struct j2k_ctx *c,
			       const char *step, bool no_eoc)
{
	const char *why = c->error[0] != '\0' ? c->error : c->warning;
	enum pc_status st = PC_PARSE;

	if (no_eoc)
		return pc_err_set(err, PC_TRUNC, 0,
				  "JPEG 2000 %s failed: %s; the codestream "
				  "has no EOC marker: truncated?",
				  step, why[0] != '\0' ? why : "no detail");
	if (strstr(why, "too short") != NULL ||
	    strstr(why, "stream length") != NULL ||
	    strstr(why, "end of stream") != NULL ||
	    strstr(why, "truncated") != NULL)
		st = PC_TRUNC;
	return pc_err_set(err, st, 0, "JPEG 2000 %s failed: %s", step,
			  why[0] != '\0' ? why : "no detail from OpenJPEG");
}

/* JP2 signature box (ISO/IEC 15444-1 I.5.1) and SOC+SIZ (A.4.1, A.5.1). */
static const uint8_t jp2_sig[12] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50,
				    0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
static const uint8_t j2k_soc[4] = {0xFF, 0x4F, 0xFF, 0x51};

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * Reads the SIZ segment (ISO/IEC 15444-1 A.5.1) ourselves and checks the
 * image size and component count against the descriptor before OpenJPEG
 * sees the codestream: opj_read_header sets up per-tile structures for the
 * size SIZ claims, which costs seconds for a hostile 16711936x256 header.
 * For JP2, the codestream is the contents of the first 'jp2c' box (I.5.4).
 */
static enum pc_status check_siz(const struct pix_desc *d, struct pc_span in,
				bool jp2, struct pc_err *err)
{
	const uint8_t *p = in.p;
	size_t n = in.n, at = 0;

	if (jp2) {
		for (;;) {
			uint64_t len;
			size_t hdr = 8;

			if (n - at < 8)
				return pc_err_set(err, PC_TRUNC, at,
						  "JP2 file without a "
						  "codestream box ('jp2c')");
			len = be32(p + at);
			if (len == 1) {
				if (n - at < 16)
					return pc_err_set(err, PC_TRUNC, at,
							  "JP2 box header cut");
				len = (uint64_t)be32(p + at + 8) << 32 |
				      be32(p + at + 12);
				hdr = 16;
			} else if (len == 0) {
				len = n - at;
			}
			if (len < hdr || len > n - at)
				return pc_err_set(err, PC_PARSE, at,
						  "JP2 box at offset %zu has "
						  "length %llu, %zu bytes left",
						  at, (unsigned long long)len,
						  n - at);
			if (memcmp(p + at + 4, "jp2c", 4) == 0) {
				at += hdr;
				break;
			}
			at += (size_t)len;
		}
	}
	if (n - at < 4 + 38)
		return pc_err_set(err, PC_TRUNC, at,
				  "JPEG 2000 codestream of %zu bytes is too "
				  "short for its SIZ segment",
				  n - at);
	if (be16(p + at) != 0xFF4F || be16(p + at + 2) != 0xFF51)
		return pc_err_set(err, PC_PARSE, at,
				  "JPEG 2000 codestream does not start with "
				  "SOC and SIZ (FF4F FF51)");
	const uint8_t *siz = p + at + 4; /* at Lsiz */
	uint32_t xsiz = be32(siz + 4), ysiz = be32(siz + 8);
	uint32_t x0 = be32(siz + 12), y0 = be32(siz + 16);
	uint32_t csiz = be16(siz + 36);

	if (xsiz <= x0 || ysiz <= y0 || xsiz - x0 != d->cols ||
	    ysiz - y0 != d->rows)
		return pc_err_set(err, PC_PARSE, at,
				  "JPEG 2000 image is %ux%u but Columns x Rows "
				  "(0028,0011)x(0028,0010) is %ux%u",
				  xsiz - x0, ysiz - y0, d->cols, d->rows);
	if (csiz != d->samples)
		return pc_err_set(err, PC_PARSE, at,
				  "JPEG 2000 image has %u components but "
				  "Samples per Pixel (0028,0002) is %u",
				  csiz, d->samples);
	return PC_OK;
}

/* Whether a bare codestream ends with EOC (A.4.4), trailing 0x00 padding
 * aside; *len is its length without that padding. */
static bool ends_with_eoc(struct pc_span in, size_t *len)
{
	size_t n = in.n;

	while (n > 0 && in.p[n - 1] == 0x00)
		n--;
	*len = n;
	return n >= 2 && in.p[n - 2] == 0xFF && in.p[n - 1] == 0xD9;
}

/* Checks the header against the descriptor before anything is decoded, so
 * that a lying codestream cannot make OpenJPEG allocate a huge image. */
static enum pc_status check_header(const struct pix_desc *d,
				   const opj_image_t *img, struct pc_err *err)
{
	uint32_t w = img->x1 - img->x0, h = img->y1 - img->y0;

	if (img->x1 < img->x0 || img->y1 < img->y0 || w != d->cols ||
	    h != d->rows)
		return pc_err_set(err, PC_PARSE, 0,
				  "JPEG 2000 image is %ux%u but Columns x Rows "
				  "(0028,0011)x(0028,0010) is %ux%u",
				  w, h, d->cols, d->rows);
	if (img->numcomps != d->samples)
		return pc_err_set(err, PC_PARSE, 0,
				  "JPEG 2000 image has %u components but "
				  "Samples per Pixel (0028,0002) is %u",
				  img->numcomps, d->samples);
	for (uint32_t c = 0; c < img->numcomps; c++) {
		const opj_image_comp_t *k = &img->comps[c];

		if (k->dx != 1 || k->dy != 1)
			return pc_err_set(err, PC_UNSUPPORTED, 0,
					  "JPEG 2000 component %u is subsampled "
					  "(%ux%u): subsampled components not "
					  "supported",
					  c, k->dx, k->dy);
		if (k->prec < 1 || k->prec > 31 || k->prec > d->bits_allocated)
			return pc_err_set(err, PC_PARSE, 0,
					  "JPEG 2000 component %u has %u-bit "
					  "precision but Bits Allocated "
					  "(0028,0100) is %u",
					  c, k->prec, d->bits_allocated);
	}
	return PC_OK;
}

/* Decoded components -> out->data, with the sign rules of the file comment. */
static enum pc_status convert(const struct pix_desc *d, const opj_image_t *img,
			      struct pix_frame *out, struct pc_err *err)
{
	size_t npix = (size_t)d->rows * d->cols;
	unsigned need = d->bits_stored;
	int64_t min = d->is_signed ? -((int64_t)1 << (need - 1)) : 0;
	int64_t max = d->is_signed ? ((int64_t)1 << (need - 1)) - 1
				   : ((int64_t)1 << need) - 1;

	for (uint32_t c = 0; c < img->numcomps; c++) {
		const opj_image_comp_t *k = &img->comps[c];
		const OPJ_INT32 *src = k->data;
		int32_t *dst = out->data + c;
		int64_t span = (int64_t)1 << k->prec;
		bool fits = true;

		if (src == NULL || k->w != d->cols || k->h != d->rows)
			return pc_err_set(err, PC_PARSE, 0,
					  "JPEG 2000 component %u decoded as "
					  "%ux%u, expected %ux%u",
					  c, k->w, k->h, d->cols, d->rows);
		for (size_t i = 0; i < npix; i++) {
			int64_t v = src[i];

			if (!k->sgnd && d->is_signed && v >= span / 2)
				v -= span; /* pydicom: unsigned J2K, PR 1 */
			else if (k->sgnd && !d->is_signed && v < 0)
				v += span; /* the P-bit pattern */
			if (v < min || v > max)
				fits = false;
			dst[i * d->samples] = (int32_t)v;
		}
		if (!fits && k->prec > need)
			need = k->prec;
	}
	out->bits_stored = (uint16_t)need;
	return PC_OK;
}

enum pc_status pix__decode_j2k(const struct pix_desc *d, struct pc_span in,
			       struct pix_frame *out, struct pc_err *err)
{
	struct j2k_ctx ctx;
	opj_dparameters_t params;
	opj_codec_t *codec = NULL;
	opj_stream_t *stream = NULL;
	opj_image_t *img = NULL;
	OPJ_CODEC_FORMAT fmt;
	enum pc_status st = PC_OK;
	uint8_t *copy = NULL;
	bool no_eoc = false;
	size_t len;

	memset(&ctx, 0, sizeof(ctx));
	ctx.in = in;
	if (in.n >= sizeof(jp2_sig) && memcmp(in.p, jp2_sig, 12) == 0) {
		fmt = OPJ_CODEC_JP2; /* non-conformant JP2 wrapper */
	} else if (in.n >= sizeof(j2k_soc) && memcmp(in.p, j2k_soc, 4) == 0) {
		fmt = OPJ_CODEC_J2K;
	} else {
		uint8_t head[4] = {0, 0, 0, 0};

		memcpy(head, in.p, in.n < 4 ? in.n : 4);
		return pc_err_set(err, in.n < 4 ? PC_TRUNC : PC_PARSE, 0,
				  "not a JPEG 2000 codestream: %zu bytes "
				  "starting %02X %02X %02X %02X (expected SOC "
				  "FF 4F, SIZ FF 51)",
				  in.n, head[0], head[1], head[2], head[3]);
	}

	st = check_siz(d, in, fmt == OPJ_CODEC_JP2, err);
	if (st != PC_OK)
		return st;
	if (fmt == OPJ_CODEC_J2K && !ends_with_eoc(in, &len)) {
		/* The EOC goes where the codestream ends, before any padding. */
		no_eoc = true;
		copy = pc_malloc(len + 2);
		if (copy == NULL)
			return pc_err_set(err, PC_NOMEM, 0,
					  "out of memory for a JPEG 2000 frame");
		memcpy(copy, in.p, len);
		copy[len] = 0xFF;
		copy[len + 1] = 0xD9;
		ctx.in = pc_span_make(copy, len + 2);
	}

	codec = opj_create_decompress(fmt);
	if (codec == NULL) {
		st = pc_err_set(err, PC_NOMEM, 0,
				"out of memory for a JPEG 2000 decoder");
		goto cleanup;
	}
	opj_set_error_handler(codec, on_error, &ctx);
	opj_set_warning_handler(codec, on_warning, &ctx);
	opj_set_info_handler(codec, on_info, &ctx);
	opj_set_default_decoder_parameters(&params);
	if (!opj_setup_decoder(codec, &params)) {
		st = j2k_fail(err, &ctx, "setup", no_eoc);
		goto cleanup;
	}
	/* Full resolution, every layer, no partial images. */
	(void)opj_decoder_set_strict_mode(codec, OPJ_TRUE);
	if (opj_has_thread_support())
		(void)opj_codec_set_threads(codec, 0);

	stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
	if (stream == NULL) {
		st = pc_err_set(err, PC_NOMEM, 0,
				"out of memory for a JPEG 2000 stream");
		goto cleanup;
	}
	opj_stream_set_user_data(stream, &ctx, NULL);
	opj_stream_set_user_data_length(stream, ctx.in.n);
	opj_stream_set_read_function(stream, mem_read);
	opj_stream_set_skip_function(stream, mem_skip);
	opj_stream_set_seek_function(stream, mem_seek);

	if (!opj_read_header(stream, codec, &img) || img == NULL) {
		st = j2k_fail(err, &ctx, "header", no_eoc);
		goto cleanup;
	}
	st = check_header(d, img, err);
	if (st != PC_OK)
		goto cleanup;
	if (!opj_set_decoded_resolution_factor(codec, 0)) {
		st = j2k_fail(err, &ctx, "setup", no_eoc);
		goto cleanup;
	}
	if (!opj_decode(codec, stream, img) ||
	    !opj_end_decompress(codec, stream)) {
		st = j2k_fail(err, &ctx, "decoding", no_eoc);
		goto cleanup;
	}
	st = convert(d, img, out, err);
	if (st != PC_OK)
		goto cleanup;
	if (d->photometric == PIX_YBR_ICT || d->photometric == PIX_YBR_RCT)
		out->photometric = PIX_RGB; /* OpenJPEG applied the inverse MCT */

cleanup:
	opj_image_destroy(img);
	opj_stream_destroy(stream);
	opj_destroy_codec(codec);
	pc_free(copy);
	return st;
}
