/*
 * codec.c - which decoder handles which transfer syntax, and the glue that
 * turns "frame N of this data set" into a decoded frame.
 *
 * The registry is a table, not a chain of ifs, so that adding a codec is
 * one line (the pattern of DCMTK's codec list, written small).
 */
#include "pixel_int.h"

#include <string.h>

#define PIX_MAX_FRAME_SAMPLES ((size_t)1 << 28)

static enum pc_status decode_encapsulated_native(const struct pix_desc *d,
						 struct pc_span in,
						 struct pix_frame *out,
						 struct pc_err *err)
{
	/* Encapsulated Uncompressed (1.2.840.10008.1.2.1.98): each frame is
	 * a fragment holding native little endian samples. */
	return pix__decode_native(d, in, 0, false, out, err);
}

static const struct codec {
	const char *uid;
	pix__decode_fn decode;
} codecs[] = {
	{"1.2.840.10008.1.2.1.98", decode_encapsulated_native},
	{"1.2.840.10008.1.2.5", pix__decode_rle},
	{"1.2.840.10008.1.2.4.50", pix__decode_jpeg},
	{"1.2.840.10008.1.2.4.51", pix__decode_jpeg},
	{"1.2.840.10008.1.2.4.57", pix__decode_ljpeg},
	{"1.2.840.10008.1.2.4.70", pix__decode_ljpeg},
	{"1.2.840.10008.1.2.4.80", pix__decode_jpegls},
	{"1.2.840.10008.1.2.4.81", pix__decode_jpegls},
	{"1.2.840.10008.1.2.4.90", pix__decode_j2k},
	{"1.2.840.10008.1.2.4.91", pix__decode_j2k},
	{"1.2.840.10008.1.2.4.201", pix__decode_j2k},
	{"1.2.840.10008.1.2.4.202", pix__decode_j2k},
	{"1.2.840.10008.1.2.4.203", pix__decode_j2k},
};

static pix__decode_fn find_codec(const struct dcm_ts *ts)
{
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		if (strcmp(codecs[i].uid, ts->uid) == 0)
			return codecs[i].decode;
	return NULL;
}

bool pix_ts_supported(const struct dcm_ts *ts)
{
	return ts != NULL && (!ts->encapsulated || find_codec(ts) != NULL);
}

void pix__frame_shape(struct pix_frame *f, const struct pix_desc *d)
{
	memset(f, 0, sizeof(*f));
	f->rows = d->rows;
	f->cols = d->cols;
	f->samples = d->samples;
	f->bits_stored = d->bits_stored;
	f->is_signed = d->is_signed;
	f->photometric = d->photometric;
}

void pix_frame_cleanup(struct pix_frame *f)
{
	if (f == NULL)
		return;
	pc_free(f->data);
	f->data = NULL;
}

/* Native frame `index`: a slice of the value at a bit offset. */
static enum pc_status decode_native_frame(const struct pix_desc *d,
					  uint32_t index, struct pix_frame *out,
					  struct pc_err *err)
{
	struct pc_span v = dcm_elem_value(d->pixels);
	/* PS3.3 C.7.6.3.1.2: native 4:2:2 data keeps two samples per pixel
	 * (Y Y Cb Cr for each pair), not three. */
	bool is422 = d->photometric == PIX_YBR_FULL_422 ||
		     d->photometric == PIX_YBR_PARTIAL_422;
	unsigned per_pixel = is422 && d->samples == 3 ? 2 : d->samples;
	uint64_t frame_bits = (uint64_t)d->rows * d->cols * per_pixel *
			      d->bits_allocated;
	uint64_t start = frame_bits * index;
	uint64_t first = start / 8, last = (start + frame_bits + 7) / 8;

	if (last > v.n)
		return pc_err_set(err, PC_TRUNC, dcm_elem_offset(d->pixels),
				  "(7FE0,0010): frame %u needs bytes %llu..%llu "
				  "but Pixel Data has %zu",
				  index + 1, (unsigned long long)first,
				  (unsigned long long)last, v.n);
	return pix__decode_native(d, pc_span_make(v.p + first, last - first),
				  (unsigned)(start % 8),
				  dcm_elem_big_endian(d->pixels), out, err);
}

enum pc_status pix_frame_decode(const struct pix_desc *d, uint32_t index,
				struct pix_frame *out, struct pc_err *err)
{
	struct pc_buf scratch = PC_BUF_INIT;
	struct pc_span bytes;
	pix__decode_fn decode = NULL;
	size_t count;
	enum pc_status st;

	memset(out, 0, sizeof(*out));
	if (index >= d->frames)
		return pc_err_set(err, PC_NOTFOUND, 0,
				  "frame %u requested, the image has %u",
				  index + 1, d->frames);
	if (d->ts->encapsulated) {
		decode = find_codec(d->ts);
		if (decode == NULL)
			return pc_err_set(err, PC_UNSUPPORTED, 0,
					  "unsupported transfer syntax %s (%s)",
					  d->ts->uid, d->ts->name);
	}
	/* A frame is decoded whole: bound it (1 GiB of samples) so that a
	 * hostile Rows x Columns fails fast instead of exhausting memory. */
	if (!pc_mul_ok((size_t)d->rows * d->cols, d->samples, &count) ||
	    count > PIX_MAX_FRAME_SAMPLES ||
	    !pc_mul_ok(count, sizeof(int32_t), &count))
		return pc_err_set(err, PC_LIMIT, 0, "frame of %ux%u too large",
				  d->cols, d->rows);
	pix__frame_shape(out, d);
	out->data = pc_malloc(count);
	if (out->data == NULL)
		return pc_err_set(err, PC_NOMEM, 0, "out of memory for a frame");
	if (decode == NULL) {
		st = decode_native_frame(d, index, out, err);
	} else {
		st = pix_frame_bytes(d, index, &scratch, &bytes, err);
		if (st == PC_OK)
			st = decode(d, bytes, out, err);
	}
	pc_buf_cleanup(&scratch);
	if (st != PC_OK) {
		pix_frame_cleanup(out);
		return st;
	}
	switch (out->photometric) {
	case PIX_YBR_FULL:
	case PIX_YBR_FULL_422:
	case PIX_YBR_PARTIAL_422:
	case PIX_YBR_PARTIAL_420:
		if (out->samples == 3)
			pix__ybr_to_rgb(out);
		break;
	default:
		break;
	}
	return PC_OK;
}
