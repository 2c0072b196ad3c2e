/*
 * encode.c - an 8-bit grey or RGB image to PNG (libspng) or JPEG
 * (libjpeg-turbo), appended to a pc_buf.
 *
 * Both encoders write straight into the caller's buffer (a spng stream
 * callback, a libjpeg destination manager) and allocate through pc_malloc,
 * so there is no intermediate copy and out-of-memory is reported, never
 * fatal. libjpeg reports errors by calling error_exit, which must not
 * return: ours longjmps back to pix_image_encode (the libjpeg documented
 * way); nothing there calls exit().
 *
 * PNG favours speed over size because rendering is on the request path:
 * the single Up filter (no per-row filter search) and zlib's run-length
 * strategy encode a windowed 512x512 CT in about 1 ms, 3-5 times faster
 * than libpng's defaults, and the file is no larger (rendered medical
 * images are mostly long runs once Up-filtered).
 */
#include "pixel_int.h"

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <spng.h>
#include <zlib.h>

#define PNG_ZLIB_LEVEL 1 /* ignored by Z_RLE except that it must be > 0 */
#define JPEG_CHUNK 65536u

void pix_image_cleanup(struct pix_image *img)
{
	if (img == NULL)
		return;
	pc_free(img->data);
	img->data = NULL;
}

/* ---- PNG ----------------------------------------------------------------- */

static int png_write(spng_ctx *ctx, void *user, void *src, size_t length)
{
	struct pc_buf *out = user;

	(void)ctx;
	pc_buf_append(out, src, length);
	return pc_buf_status(out) == PC_OK ? 0 : SPNG_IO_ERROR;
}

static void *png_malloc(size_t n)
{
	return pc_malloc(n);
}
static void *png_realloc(void *p, size_t n)
{
	return pc_realloc(p, n);
}
static void *png_calloc(size_t count, size_t size)
{
	return pc_calloc(count, size);
}

static enum pc_status encode_png(const struct pix_image *img,
				 struct pc_buf *out, struct pc_err *err)
{
	struct spng_alloc alloc = {png_malloc, png_realloc, png_calloc, pc_free};
	struct spng_ihdr ihdr = {0};
	spng_ctx *ctx;
	size_t len = (size_t)img->w * img->h * img->channels;
	int rc;

	ctx = spng_ctx_new2(&alloc, SPNG_CTX_ENCODER);
	if (ctx == NULL)
		return pc_err_set(err, PC_NOMEM, 0,
				  "out of memory for the PNG encoder");
	ihdr.width = img->w;
	ihdr.height = img->h;
	ihdr.bit_depth = 8;
	ihdr.color_type = img->channels == 3 ? SPNG_COLOR_TYPE_TRUECOLOR
					     : SPNG_COLOR_TYPE_GRAYSCALE;
	rc = spng_set_png_stream(ctx, png_write, out);
	if (rc == 0)
		rc = spng_set_ihdr(ctx, &ihdr);
	if (rc == 0)
		rc = spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL,
				     PNG_ZLIB_LEVEL);
	if (rc == 0)
		rc = spng_set_option(ctx, SPNG_IMG_COMPRESSION_STRATEGY, Z_RLE);
	if (rc == 0)
		rc = spng_set_option(ctx, SPNG_FILTER_CHOICE,
				     SPNG_FILTER_CHOICE_UP);
	if (rc == 0)
		rc = spng_encode_image(ctx, img->data, len, SPNG_FMT_PNG,
				       SPNG_ENCODE_FINALIZE);
	spng_ctx_free(ctx);
	if (rc != 0) {
		/* With our fixed parameters zlib's init can only fail for
		 * want of memory. */
		if (pc_buf_status(out) == PC_NOMEM || rc == SPNG_EMEM ||
		    rc == SPNG_EZLIB_INIT)
			return pc_err_set(err, PC_NOMEM, 0,
					  "out of memory encoding PNG");
		return pc_err_set(err, PC_IO, 0, "PNG encoding failed: %s",
				  spng_strerror(rc));
	}
	return PC_OK;
}

/* ---- JPEG ---------------------------------------------------------------- */

struct jpeg_fail {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
};

struct jpeg_dest {
	struct jpeg_destination_mgr pub;
	struct pc_buf *out;
	volatile bool nomem; /* read after longjmp */
};

static void jpeg_fail_exit(j_common_ptr c)
{
	struct jpeg_fail *f = (struct jpeg_fail *)c->err;

	(*c->err->format_message)(c, f->msg);
	longjmp(f->jump, 1);
}

static void jpeg_quiet(j_common_ptr c)
{
	(void)c; /* warnings are not printed by a library */
}

static void dest_reserve(j_compress_ptr c)
{
	struct jpeg_dest *d = (struct jpeg_dest *)c->dest;
	uint8_t *p = pc_buf_reserve(d->out, JPEG_CHUNK);

	if (p == NULL) {
		d->nomem = true;
		c->err->msg_code = JERR_OUT_OF_MEMORY;
		c->err->msg_parm.i[0] = 0; /* "(case %d)" in its message */
		(*c->err->error_exit)((j_common_ptr)c);
	}
	d->pub.next_output_byte = p;
	d->pub.free_in_buffer = JPEG_CHUNK;
}

static void dest_init(j_compress_ptr c)
{
	dest_reserve(c);
}

static boolean dest_empty(j_compress_ptr c)
{
	struct jpeg_dest *d = (struct jpeg_dest *)c->dest;

	/* libjpeg calls this with the whole chunk filled. */
	pc_buf_commit(d->out, JPEG_CHUNK);
	dest_reserve(c);
	return TRUE;
}

static void dest_term(j_compress_ptr c)
{
	struct jpeg_dest *d = (struct jpeg_dest *)c->dest;

	pc_buf_commit(d->out, JPEG_CHUNK - d->pub.free_in_buffer);
}

static enum pc_status encode_jpeg(const struct pix_image *img, int quality,
				  struct pc_buf *out, struct pc_err *err)
{
	struct jpeg_compress_struct c;
	struct jpeg_fail fail;
	struct jpeg_dest dest;
	size_t stride = (size_t)img->w * img->channels;

	if (quality == 0)
		quality = 90;
	if (quality < 1 || quality > 100)
		return pc_err_set(err, PC_INVAL, 0,
				  "JPEG quality %d out of 1..100", quality);
	if (img->w > JPEG_MAX_DIMENSION || img->h > JPEG_MAX_DIMENSION)
		return pc_err_set(err, PC_LIMIT, 0,
				  "%ux%u is too large for JPEG", img->w, img->h);
	memset(&c, 0, sizeof(c));
	memset(&dest, 0, sizeof(dest));
	c.err = jpeg_std_error(&fail.pub);
	fail.pub.error_exit = jpeg_fail_exit;
	fail.pub.output_message = jpeg_quiet;
	fail.msg[0] = '\0';
	dest.out = out;
	if (setjmp(fail.jump)) {
		jpeg_destroy_compress(&c);
		if (dest.nomem)
			return pc_err_set(err, PC_NOMEM, 0,
					  "out of memory encoding JPEG");
		return pc_err_set(err, PC_IO, 0, "JPEG encoding failed: %s",
				  fail.msg);
	}
	jpeg_create_compress(&c);
	dest.pub.init_destination = dest_init;
	dest.pub.empty_output_buffer = dest_empty;
	dest.pub.term_destination = dest_term;
	c.dest = &dest.pub;
	c.image_width = img->w;
	c.image_height = img->h;
	c.input_components = img->channels;
	c.in_color_space = img->channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = img->data + (size_t)c.next_scanline * stride;

		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return PC_OK;
}

/* ---- public -------------------------------------------------------------- */

enum pc_status pix_image_encode(const struct pix_image *img,
				enum pix_format format, int quality,
				struct pc_buf *out, struct pc_err *err)
{
	size_t start = out->n;
	enum pc_status st;

	if (img == NULL || img->data == NULL || img->w == 0 || img->h == 0 ||
	    (img->channels != 1 && img->channels != 3))
		return pc_err_set(err, PC_INVAL, 0, "no image to encode");
	if (pc_buf_status(out) != PC_OK)
		return pc_err_set(err, pc_buf_status(out), 0,
				  "output buffer already failed");
	switch (format) {
	case PIX_FORMAT_PNG:
		st = encode_png(img, out, err);
		break;
	case PIX_FORMAT_JPEG:
		st = encode_jpeg(img, quality, out, err);
		break;
	default:
		return pc_err_set(err, PC_INVAL, 0, "unknown image format %d",
				  (int)format);
	}
	if (st != PC_OK && pc_buf_status(out) == PC_OK)
		pc_buf_truncate(out, out->n - start);
	return st;
}
