/*
 * jpeg.c - JPEG Baseline (1.2.840.10008.1.2.4.50) and Extended
 * (1.2.840.10008.1.2.4.51) frames of 8-bit precision, decoded by
 * libjpeg-turbo (Debian's libjpeg62-turbo 2.1, an 8-bit-only build).
 *
 * DESIGN
 *   The frame is read from memory (jpeg_mem_src). libjpeg reports errors
 *   through error_exit, which by default calls exit(): ours longjmps back
 *   to pix__decode_jpeg with libjpeg's message. Warnings about corrupt
 *   data ("premature end of data segment", "bad Huffman code" ...) are
 *   errors too: libjpeg would fill the rest of the image with grey and
 *   succeed, and a viewer must not show that as the patient's image.
 *   Tolerated, as in ljpeg.c: a missing EOI after complete scan data,
 *   extraneous bytes before a marker, unknown JFIF versions and Adobe
 *   transform codes.
 *   Everything allocated after setjmp comes from libjpeg's own pools, so
 *   jpeg_destroy_decompress frees it on every path.
 *
 *   Before libjpeg sees the frame, a short marker walk finds its SOF:
 *   precision 12 is refused by name (this libjpeg build cannot decode it),
 *   and a lossless SOF3 frame goes to ljpeg.c (a deviation seen in the
 *   field: lossless data under a lossy transfer syntax UID; GDCM too
 *   decodes by the process found in the codestream).
 *
 * Colour (Samples per Pixel 3):
 *   YBR_FULL, YBR_FULL_422   the components are YCbCr whatever the JPEG
 *                            markers say: libjpeg converts them to RGB
 *                            (T.871 full range, as PS3.3 C.7.6.3.1.2
 *                            defines YBR_FULL) and upsamples chroma;
 *                            the frame becomes RGB.
 *   RGB                      no conversion, unless an Adobe APP14 marker
 *                            says transform 1 (YCbCr). A JFIF APP0 marker
 *                            or component IDs 1,2,3 do not count. This is
 *                            what pydicom's Pillow handler does (it hides
 *                            the JPEG colour space from libjpeg unless
 *                            Pillow found an "adobe_transform"), and what
 *                            GDCM does too except that it ignores APP14
 *                            as well. So a frame that an encoder
 *                            transformed to YCbCr while the data set says
 *                            RGB without an APP14 marker (pydicom's
 *                            SC_rgb_jpeg_lossy_gdcm.dcm) decodes to the
 *                            YCbCr values, as in pydicom and GDCM.
 *   YBR_PARTIAL_*, others    the raw components; codec.c converts the
 *                            YBR_PARTIAL forms afterwards.
 *
 * Thread-safety: reentrant; libjpeg keeps no global state.
 */
#include "pixel_int.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/* A progressive frame may hold any number of scans, each a pass over the
 * whole image: a few thousand tiny ones make a slow-decode attack. The
 * standard progressions use about ten; libjpeg-turbo's TurboJPEG API
 * stops at 500 as well. */
#define MAX_SCANS 500

struct jerr {
	struct jpeg_error_mgr pub; /* first: libjpeg casts to it */
	jmp_buf jb;
	bool eof; /* jpeg_mem_src ran out of input */
	enum pc_status status;
	char msg[JMSG_LENGTH_MAX];
};

static void on_error(j_common_ptr c)
{
	struct jerr *e = (struct jerr *)c->err;

	(*c->err->format_message)(c, e->msg);
	/* Past the end libjpeg reads a fake EOI and then complains about
	 * the structure: the real cause is the truncation. */
	e->status = e->eof ? PC_TRUNC : PC_PARSE;
	longjmp(e->jb, 1);
}

static void on_message(j_common_ptr c, int level)
{
	struct jerr *e = (struct jerr *)c->err;
	int code = c->err->msg_code;

	if (level >= 0)
		return; /* trace messages */
	/* Harmless header oddities, and bytes left over before a marker
	 * (libjpeg skips them; ljpeg.c tolerates them the same way). */
	if (code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM ||
	    code == JWRN_EXTRANEOUS_DATA)
		return;
	/* jpeg_mem_src warns when it runs dry, which the Huffman decoder's
	 * read-ahead also makes it do on a complete frame without EOI; data
	 * really missing is reported next as "premature end of data
	 * segment" (JWRN_HIT_MARKER). So a missing EOI is tolerated, as in
	 * ljpeg.c. */
	if (code == JWRN_JPEG_EOF) {
		e->eof = true;
		return;
	}
	(*c->err->format_message)(c, e->msg);
	e->status = e->eof ? PC_TRUNC : PC_PARSE;
	longjmp(e->jb, 1);
}

static void on_progress(j_common_ptr c)
{
	j_decompress_ptr d = (j_decompress_ptr)c;

	if (c->is_decompressor && d->input_scan_number > MAX_SCANS) {
		struct jerr *e = (struct jerr *)c->err;

		snprintf(e->msg, sizeof(e->msg),
		         "progressive frame has more than %d scans", MAX_SCANS);
		e->status = PC_LIMIT;
		longjmp(e->jb, 1);
	}
}

/*
 * Finds the frame's SOF marker: *marker is its code (0xC0..0xCF, not
 * DHT/JPG/DAC) and *precision its P, or *marker = 0 when there is none
 * before the first SOS or the end. Segment lengths are checked against
 * the input; a walk that goes wrong just reports "none" and leaves the
 * diagnosis to libjpeg.
 */
static void find_sof(struct pc_span in, unsigned *marker, unsigned *precision,
                     size_t *offset)
{
	size_t i = 2;

	*marker = 0;
	*precision = 0;
	*offset = 0;
	if (in.n < 4 || in.p[0] != 0xFF || in.p[1] != 0xD8)
		return;
	while (i + 4 <= in.n && in.p[i] == 0xFF) {
		unsigned m = in.p[i + 1];
		size_t len = (size_t)((in.p[i + 2] << 8) | in.p[i + 3]);

		if (m == 0xFF) {
			i++; /* fill byte */
			continue;
		}
		if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 &&
		    m != 0xCC) {
			if (i + 5 <= in.n) {
				*marker = m;
				*precision = in.p[i + 4];
				*offset = i;
			}
			return;
		}
		if (m == 0xDA || m == 0xD9 || len < 2)
			return;
		i += 2 + len;
	}
}

/* The state that survives a longjmp lives here, not in locals. */
struct ctx {
	struct jpeg_decompress_struct cinfo;
	struct jerr jerr;
	struct jpeg_progress_mgr progress;
};

static enum pc_status run(struct ctx *x, const struct pix_desc *d,
                          struct pc_span in, struct pix_frame *out,
                          struct pc_err *err)
{
	struct jpeg_decompress_struct *ci = &x->cinfo;
	bool to_rgb = false;
	JSAMPARRAY row;
	unsigned bs = d->bits_stored;
	uint32_t mask = bs >= 32 ? 0xFFFFFFFFu : (1u << bs) - 1;
	uint32_t sign = 1u << (bs - 1);
	uint32_t ext = d->is_signed ? ~mask : 0;
	size_t stride;

	jpeg_create_decompress(ci);
	x->progress.progress_monitor = on_progress;
	ci->progress = &x->progress;
	jpeg_mem_src(ci, in.p, (unsigned long)in.n);
	jpeg_read_header(ci, TRUE);

	if (ci->image_width != d->cols || ci->image_height != d->rows)
		return pc_err_set(err, PC_PARSE, 0,
		                  "JPEG: the frame is %ux%u, the data set says "
		                  "Columns %u Rows %u",
		                  ci->image_width, ci->image_height, d->cols,
		                  d->rows);
	if (ci->num_components != d->samples)
		return pc_err_set(err, PC_PARSE, 0,
		                  "JPEG: the frame has %d components, the data "
		                  "set says Samples per Pixel %u",
		                  ci->num_components, d->samples);
	if (d->samples == 1) {
		ci->out_color_space = JCS_GRAYSCALE;
	} else if (d->photometric == PIX_YBR_FULL ||
	           d->photometric == PIX_YBR_FULL_422) {
		ci->jpeg_color_space = JCS_YCbCr;
		ci->out_color_space = JCS_RGB;
		to_rgb = true;
	} else if (d->photometric == PIX_RGB) {
		if (ci->saw_Adobe_marker && ci->Adobe_transform == 1) {
			ci->jpeg_color_space = JCS_YCbCr;
			ci->out_color_space = JCS_RGB;
		} else {
			ci->jpeg_color_space = JCS_RGB;
			ci->out_color_space = JCS_RGB;
		}
	} else {
		/* YBR_PARTIAL_* and anything else: raw components. */
		ci->jpeg_color_space = JCS_YCbCr;
		ci->out_color_space = JCS_YCbCr;
	}
	/* The accurate integer IDCT, which GDCM, dcmtk and Pillow use. */
	ci->dct_method = JDCT_ISLOW;
	jpeg_start_decompress(ci);
	if (ci->output_components != d->samples ||
	    ci->output_width != d->cols || ci->output_height != d->rows)
		return pc_err_set(err, PC_PARSE, 0,
		                  "JPEG: libjpeg produces %ux%u with %d "
		                  "components, expected %ux%u with %u",
		                  ci->output_width, ci->output_height,
		                  ci->output_components, d->cols, d->rows,
		                  d->samples);
	stride = (size_t)d->cols * d->samples;
	row = (*ci->mem->alloc_sarray)((j_common_ptr)ci, JPOOL_IMAGE,
	                               (JDIMENSION)stride, 1);
	while (ci->output_scanline < ci->output_height) {
		size_t y = ci->output_scanline;
		int32_t *o = out->data + y * stride;

		if (jpeg_read_scanlines(ci, row, 1) != 1)
			return pc_err_set(err, PC_PARSE, 0,
			                  "JPEG: libjpeg returned no data for "
			                  "line %zu",
			                  y + 1);
		for (size_t i = 0; i < stride; i++) {
			uint32_t v = row[0][i] & mask;

			if (v & sign)
				v |= ext;
			o[i] = (int32_t)v;
		}
	}
	jpeg_finish_decompress(ci);
	if (to_rgb)
		out->photometric = PIX_RGB;
	return PC_OK;
}

enum pc_status pix__decode_jpeg(const struct pix_desc *d, struct pc_span in,
                                struct pix_frame *out, struct pc_err *err)
{
	struct ctx *x;
	unsigned marker, precision;
	size_t at;
	enum pc_status st;

	find_sof(in, &marker, &precision, &at);
	if (marker == 0xC3)
		return pix__decode_ljpeg(d, in, out, err);
	if (marker != 0 && precision != 8) {
		if (precision == 12)
			return pc_err_set(
			    err, PC_UNSUPPORTED, at,
			    "JPEG Extended 12-bit (SOF%u at "
			    "offset %zu, precision 12) is not "
			    "supported by libjpeg-turbo 2.1 as "
			    "packaged by Debian (libjpeg62-turbo, "
			    "8-bit only)",
			    marker - 0xC0, at);
		return pc_err_set(err, PC_PARSE, at,
		                  "JPEG: SOF%u at offset %zu has precision %u "
		                  "(8 or 12 expected)",
		                  marker - 0xC0, at, precision);
	}
	if (in.n == 0)
		return pc_err_set(err, PC_TRUNC, 0, "JPEG: empty frame");
	if (d->bits_stored < 1 || d->bits_stored > 32)
		return pc_err_set(err, PC_INVAL, 0, "JPEG: Bits Stored %u",
		                  d->bits_stored);
	/* libjpeg's structures are large: on the heap, not the stack. */
	x = pc_calloc(1, sizeof(*x));
	if (x == NULL)
		return pc_err_set(err, PC_NOMEM, 0, "JPEG: out of memory");
	x->cinfo.err = jpeg_std_error(&x->jerr.pub);
	x->jerr.pub.error_exit = on_error;
	x->jerr.pub.emit_message = on_message;
	if (setjmp(x->jerr.jb) == 0) {
		st = run(x, d, in, out, err);
	} else {
		/* libjpeg gave up (on_error, on_message or on_progress). */
		st =
		    pc_err_set(err, x->jerr.status, 0, "JPEG: %s", x->jerr.msg);
	}
	jpeg_destroy_decompress(&x->cinfo);
	pc_free(x);
	return st;
}
