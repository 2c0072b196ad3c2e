/*
 * transcode.c - frames and whole instances in the encoding every client
 * can read: native pixel data, Explicit VR Little Endian (PS3.5 A.2). Used
 * by WADO-RS when a client asks for 1.2.840.10008.1.2.1 (the PS3.18 8.7.3.5
 * default) or for uncompressed frames of a compressed instance.
 *
 * DESIGN
 * - A frame's native bytes (pix_frame_native): for native syntaxes a copy of
 *   the frame's slice of Pixel Data with the words put in little endian
 *   order (swapped per pixel cell, Bits Allocated / 8, as write.c does),
 *   and 1-bit frames that start inside a byte moved to bit 0; for
 *   encapsulated syntaxes the frame decoded by pix_frame_decode and packed
 *   back into Bits Allocated words, interleaved (Planar Configuration 0),
 *   stored bits at bit 0 (High Bit = Bits Stored - 1). Colour comes out as
 *   the decoder gives it: every YBR form as RGB.
 * - A whole instance (pix_transcode_native): native syntaxes (implicit VR,
 *   big endian, deflated) need no pixel work, the writer re-encodes the data
 *   set. Encapsulated ones are decoded frame by frame into one buffer that
 *   becomes the Pixel Data value; the File Meta Information and every other
 *   attribute are kept. Memory: the native Pixel Data once plus one decoded
 *   frame; the data set without pixels is written to small side buffers and
 *   the pixel bytes are slid behind it (a memmove, not a second copy).
 * - Attributes changed for decoded pixel data (PS3.3 C.7.6.3, PS3.5 8.2):
 *   Photometric Interpretation (RGB after colour conversion), Planar
 *   Configuration 0, High Bit. Lossy Image Compression (0028,2110) and its
 *   ratio/method stay: once lossy, always lossy (PS3.3 C.7.6.1.1.5).
 *   Dropped: the Extended Offset Table and its lengths (7FE0,0001/0002),
 *   which describe fragments that no longer exist, and (7FE0,0000).
 */
#include "pixel_int.h"

#include <string.h>

#define TAG_PHOTOMETRIC DCM_TAG(0x0028, 0x0004)
#define TAG_PLANAR DCM_TAG(0x0028, 0x0006)
#define TAG_HIGH_BIT DCM_TAG(0x0028, 0x0102)
#define TAG_GROUP_7FE0 DCM_TAG(0x7FE0, 0x0000)
#define TAG_EOT DCM_TAG(0x7FE0, 0x0001)
#define TAG_EOT_LENGTHS DCM_TAG(0x7FE0, 0x0002)

/* PS3.5 7.1.2: a defined 32-bit length is at most 0xFFFFFFFE, and even. */
#define MAX_VALUE_LEN 0xFFFFFFFEu

/* Bits of one native frame as pix_desc_read counts them (4:2:2 forms hold
 * two samples per pixel). False on overflow. */
static bool frame_bits(const struct pix_desc *d, uint64_t *bits)
{
	uint64_t n;

	if (__builtin_mul_overflow((uint64_t)d->rows, d->cols, &n) ||
	    __builtin_mul_overflow(n, d->samples, &n) ||
	    __builtin_mul_overflow(n, d->bits_allocated, &n))
		return false;
	if (!d->ts->encapsulated && d->samples == 3 &&
	    (d->photometric == PIX_YBR_FULL_422 ||
	     d->photometric == PIX_YBR_PARTIAL_422))
		n = n / 3 * 2;
	*bits = n;
	return true;
}

/* Native frame `index`: its slice, byte-swapped or bit-realigned. */
static enum pc_status native_slice(const struct pix_desc *d, uint32_t index,
				   struct pc_buf *out, struct pc_err *err)
{
	struct pc_span v = dcm_elem_value(d->pixels);
	uint64_t bits, start, first, need;
	unsigned unit = d->bits_allocated / 8u;
	unsigned shift;
	uint8_t *dst;
	size_t n;

	if (!frame_bits(d, &bits) ||
	    __builtin_mul_overflow(bits, (uint64_t)index, &start) ||
	    bits / 8 + 1 > SIZE_MAX / 2)
		return pc_err_set(err, PC_LIMIT, 0, "frame of %ux%u too large",
				  d->cols, d->rows);
	first = start / 8;
	shift = (unsigned)(start % 8);
	n = (size_t)(bits / 8 + (bits % 8 != 0));
	if (__builtin_add_overflow(start, bits + 7, &need))
		return pc_err_set(err, PC_LIMIT, 0, "frame %u out of range",
				  index + 1);
	need /= 8;
	if (need > v.n)
		return pc_err_set(err, PC_TRUNC, dcm_elem_offset(d->pixels),
				  "(7FE0,0010): frame %u needs bytes up to %llu "
				  "but Pixel Data has %zu",
				  index + 1, (unsigned long long)need, v.n);
	dst = pc_buf_reserve(out, n);
	if (dst == NULL)
		return pc_err_set(err, PC_NOMEM, 0,
				  "out of memory for a frame of %zu bytes", n);
	if (shift != 0) {
		/* PS3.5 8.1.1: bits are packed LSB first, frames unpadded. */
		for (size_t i = 0; i < n; i++) {
			unsigned lo = v.p[first + i] >> shift;
			unsigned hi = first + i + 1 < v.n
					  ? (unsigned)v.p[first + i + 1]
						    << (8 - shift)
					  : 0;
			dst[i] = (uint8_t)(lo | hi);
		}
	} else if (unit >= 2 && dcm_elem_big_endian(d->pixels)) {
		for (size_t i = 0; i + unit <= n; i += unit)
			for (unsigned k = 0; k < unit; k++)
				dst[i + k] = v.p[first + i + unit - 1 - k];
	} else {
		memcpy(dst, v.p + first, n);
	}
	/* The last byte of a 1-bit frame may hold bits of the next one. */
	if (bits % 8 != 0)
		dst[n - 1] &= (uint8_t)((1u << (bits % 8)) - 1u);
	pc_buf_commit(out, n);
	return PC_OK;
}

/* Decoded samples packed into Bits Allocated little endian words. */
static enum pc_status pack_frame(const struct pix_desc *d,
				 const struct pix_frame *f, struct pc_buf *out,
				 struct pc_err *err)
{
	size_t count = (size_t)f->rows * f->cols * f->samples, n;
	unsigned unit = d->bits_allocated / 8u;
	uint8_t *dst;

	if (unit != 1 && unit != 2 && unit != 4)
		return pc_err_set(err, PC_UNSUPPORTED, 0,
				  "Bits Allocated %u cannot be packed",
				  d->bits_allocated);
	if (!pc_mul_ok(count, unit, &n))
		return pc_err_set(err, PC_LIMIT, 0, "frame too large");
	dst = pc_buf_reserve(out, n);
	if (dst == NULL)
		return pc_err_set(err, PC_NOMEM, 0,
				  "out of memory for a frame of %zu bytes", n);
	/* Samples are masked to Bits Stored and sign-extended: truncating
	 * the two's complement pattern to the word keeps both right. */
	switch (unit) {
	case 1:
		for (size_t i = 0; i < count; i++)
			dst[i] = (uint8_t)f->data[i];
		break;
	case 2:
		for (size_t i = 0; i < count; i++) {
			uint32_t w = (uint32_t)f->data[i];
			dst[2 * i] = (uint8_t)w;
			dst[2 * i + 1] = (uint8_t)(w >> 8);
		}
		break;
	default:
		for (size_t i = 0; i < count; i++) {
			uint32_t w = (uint32_t)f->data[i];
			dst[4 * i] = (uint8_t)w;
			dst[4 * i + 1] = (uint8_t)(w >> 8);
			dst[4 * i + 2] = (uint8_t)(w >> 16);
			dst[4 * i + 3] = (uint8_t)(w >> 24);
		}
		break;
	}
	pc_buf_commit(out, n);
	return PC_OK;
}

enum pc_status pix_frame_native(const struct pix_desc *d, uint32_t index,
				struct pc_buf *out,
				enum pix_photometric *photometric,
				struct pc_err *err)
{
	struct pix_frame f;
	enum pc_status st;

	if (index >= d->frames)
		return pc_err_set(err, PC_NOTFOUND, 0,
				  "frame %u requested, the image has %u",
				  index + 1, d->frames);
	if (!d->ts->encapsulated) {
		if (photometric != NULL)
			*photometric = d->photometric;
		return native_slice(d, index, out, err);
	}
	st = pix_frame_decode(d, index, &f, err);
	if (st != PC_OK)
		return st;
	if (photometric != NULL)
		*photometric = f.photometric;
	st = pack_frame(d, &f, out, err);
	pix_frame_cleanup(&f);
	return st;
}

/* Little endian 16/32-bit stores for the element header. */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* The meta to write: NULL (the writer makes one) for a bare data set. */
static const dcm_dataset *meta_of(const dcm_file *f)
{
	const dcm_dataset *meta = dcm_file_meta(f);

	return meta != NULL && dcm_dataset_count(meta) > 0 ? meta : NULL;
}

/*
 * Every top-level element after Pixel Data (Data Set Trailing Padding,
 * Digital Signatures, private groups above 7FE0) is written after the new
 * Pixel Data too: the data set is written with them (`full`) and without
 * them (`head`); `full` minus `head` is their encoding.
 */
static enum pc_status write_around_pixels(dcm_file *f, struct pc_buf *head,
					  struct pc_buf *full,
					  struct pc_err *err)
{
	dcm_dataset *ds = dcm_file_dataset(f);
	struct dcm_write_opts wo;
	enum pc_status st;
	size_t i;

	memset(&wo, 0, sizeof(wo));
	wo.ts = &dcm_ts_explicit_le;
	wo.preamble = dcm_file_preamble(f);
	st = dcm_file_write(meta_of(f), ds, &wo, full, err);
	if (st != PC_OK)
		return st;
	/* Elements are in ascending tag order; remove from the end. */
	for (i = dcm_dataset_count(ds); i > 0; i--) {
		uint32_t tag = dcm_elem_tag(dcm_dataset_at(ds, i - 1));

		if (tag <= DCM_TAG_PIXEL_DATA)
			break;
		(void)dcm_dataset_remove(ds, tag);
	}
	st = dcm_file_write(meta_of(f), ds, &wo, head, err);
	if (st != PC_OK)
		return st;
	if (head->n > full->n)
		return pc_err_set(err, PC_INVAL, 0,
				  "internal: data set head longer than the "
				  "whole");
	return PC_OK;
}

/* Sets the pixel attributes of `ds` for native interleaved samples. */
static enum pc_status fix_attributes(dcm_dataset *ds, const struct pix_desc *d,
				     enum pix_photometric photo,
				     struct pc_err *err)
{
	enum pc_status st = PC_OK;
	uint8_t w[2];

	if (photo != d->photometric)
		st = dcm_dataset_set_string(ds, TAG_PHOTOMETRIC, DCM_VR_CS,
					    pix_photometric_name(photo));
	if (st == PC_OK && d->samples == 3) {
		put16(w, 0);
		st = dcm_dataset_set(ds, TAG_PLANAR, DCM_VR_US, w, 2);
	}
	if (st == PC_OK && d->high_bit + 1u != d->bits_stored) {
		put16(w, (uint16_t)(d->bits_stored - 1u));
		st = dcm_dataset_set(ds, TAG_HIGH_BIT, DCM_VR_US, w, 2);
	}
	if (st != PC_OK)
		return pc_err_set(err, st, 0,
				  "cannot set the pixel attributes: %s",
				  pc_status_text(st));
	(void)dcm_dataset_remove(ds, TAG_EOT);
	(void)dcm_dataset_remove(ds, TAG_EOT_LENGTHS);
	(void)dcm_dataset_remove(ds, TAG_GROUP_7FE0);
	(void)dcm_dataset_remove(ds, DCM_TAG_PIXEL_DATA);
	return PC_OK;
}

enum pc_status pix_transcode_native(dcm_file *f, struct pc_buf *out,
				    struct pc_err *err)
{
	dcm_dataset *ds = dcm_file_dataset(f);
	const struct dcm_ts *ts = dcm_file_ts(f);
	struct pc_buf px = PC_BUF_INIT, head = PC_BUF_INIT, full = PC_BUF_INIT;
	enum pix_photometric photo = PIX_PHOTO_UNKNOWN, p;
	struct dcm_write_opts wo;
	struct pix_desc d;
	enum pc_status st;
	uint8_t hdr[12];
	size_t value_len, tail, total;
	uint8_t *dst;

	if (ts == NULL)
		return pc_err_set(err, PC_INVAL, 0, "unknown transfer syntax");
	if (dcm_file_truncated(f))
		return pc_err_set(err, PC_INVAL, 0,
				  "the file was read header only");
	if (!ts->encapsulated ||
	    dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA) == NULL) {
		/* PS3.5 A.1-A.3: only the encoding of the data set changes;
		 * the writer swaps big endian values and adds VRs. */
		memset(&wo, 0, sizeof(wo));
		wo.ts = &dcm_ts_explicit_le;
		wo.preamble = dcm_file_preamble(f);
		return dcm_file_write(meta_of(f), ds, &wo, out, err);
	}

	st = pix_desc_read(ds, ts, &d, err);
	if (st != PC_OK)
		goto done;
	for (uint32_t i = 0; i < d.frames; i++) {
		st = pix_frame_native(&d, i, &px, &p, err);
		if (st != PC_OK)
			goto done;
		if (i == 0)
			photo = p;
		if (p != photo) {
			st = pc_err_set(err, PC_PARSE, 0,
					"frame %u decodes as %s, frame 1 as %s",
					i + 1, pix_photometric_name(p),
					pix_photometric_name(photo));
			goto done;
		}
	}
	if (px.n > MAX_VALUE_LEN - 1) {
		st = pc_err_set(err, PC_LIMIT, 0,
				"native Pixel Data of %zu bytes exceeds the "
				"32-bit length of Explicit VR Little Endian",
				px.n);
		goto done;
	}
	/* PS3.5 7.1.1: values have even length; OB pads with 00. */
	if (px.n % 2 != 0)
		pc_buf_putc(&px, 0);
	st = pc_buf_status(&px);
	if (st != PC_OK) {
		st = pc_err_set(err, st, 0, "out of memory for Pixel Data");
		goto done;
	}
	value_len = px.n;

	st = fix_attributes(ds, &d, photo, err);
	if (st == PC_OK)
		st = write_around_pixels(f, &head, &full, err);
	if (st != PC_OK)
		goto done;

	/* PS3.5 A.2 + 7.1.2: tag, VR, 2 reserved bytes, 32-bit length. OW
	 * for words, OB for bytes (PS3.5 8.1.1). */
	put16(hdr, 0x7FE0);
	put16(hdr + 2, 0x0010);
	hdr[4] = 'O';
	hdr[5] = d.bits_allocated > 8 ? 'W' : 'B';
	put16(hdr + 6, 0);
	put32(hdr + 8, (uint32_t)value_len);
	tail = full.n - head.n;
	if (!pc_add_ok(head.n + sizeof(hdr), tail, &total)) {
		st = pc_err_set(err, PC_LIMIT, 0, "file too large");
		goto done;
	}
	/* The pixel bytes slide behind the head in their own buffer, which
	 * becomes `out` when `out` is empty: no second copy of them. */
	dst = pc_buf_reserve(&px, total);
	if (dst == NULL) {
		st = pc_err_set(err, PC_NOMEM, 0,
				"out of memory for a %zu-byte file",
				total + value_len);
		goto done;
	}
	dst = (uint8_t *)px.p;
	memmove(dst + head.n + sizeof(hdr), dst, value_len);
	memcpy(dst, head.p, head.n);
	memcpy(dst + head.n, hdr, sizeof(hdr));
	memcpy(dst + head.n + sizeof(hdr) + value_len, full.p + head.n, tail);
	pc_buf_commit(&px, total);
	if (out->n == 0 && out->st == PC_OK && out->max == 0) {
		pc_buf_cleanup(out);
		*out = px;
		pc_buf_init(&px);
	} else {
		pc_buf_append(out, px.p, px.n);
		st = pc_buf_status(out);
		if (st != PC_OK)
			st = pc_err_set(err, st, 0,
					"out of memory for a %zu-byte file",
					px.n);
	}
done:
	pc_buf_cleanup(&px);
	pc_buf_cleanup(&head);
	pc_buf_cleanup(&full);
	return st;
}
