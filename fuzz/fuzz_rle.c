/*
 * fuzz_rle.c - libFuzzer target for the RLE Lossless decoder (rle.c), and
 * on the same bytes the native decoder (native.c) and the YCbCr
 * conversion (color.c).
 *
 * Input layout: 4 shape bytes, then one RLE frame (PS3.5 G.5: 64-byte
 * header and segments).
 *   byte 0   rows - 1                    (1..256)
 *   byte 1   columns - 1                 (1..256)
 *   byte 2   bits 0-1: Bits Allocated 8, 16, 32, 8
 *            bit 2: 3 samples per pixel (else 1)
 *            bit 3: Pixel Representation 1
 *            bits 4-7: Bits Allocated - Bits Stored (clamped)
 *   byte 3   bits 0-5: High Bit above Bits Stored - 1 (clamped)
 *            bit 6: Planar Configuration 1
 *            bit 7: YBR_FULL instead of MONOCHROME2 / RGB
 * The shape always satisfies what pix_desc_read() guarantees, so every
 * crash is a decoder bug. The frame's samples are checked against the
 * pix.h contract: masked to Bits Stored, sign-extended when signed, and
 * RGB in range after colour conversion.
 *
 * The native decoder then reads the same frame bytes as uncompressed
 * samples (with Bits Allocated 1 and a bit offset in a few shapes).
 *
 * Last, frame.c: the frame bytes are cut into fragments (each a length
 * byte and that many bytes) of encapsulated Pixel Data, with a Basic or
 * Extended Offset Table taken from the input when the shape bytes say so,
 * and every frame is asked for: a span handed back must lie inside the
 * fragments or the scratch buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sink that the optimizer cannot remove: frame bytes handed back are read. */
static volatile uint64_t sink;

static void die(const char *what, const struct pix_desc *d, size_t i, int32_t v)
{
	fprintf(stderr,
	        "fuzz_rle: %s: sample %zu = %d (%ux%u, %u samples, %u/%u/%u "
	        "bits, signed %d)\n",
	        what, i, v, d->cols, d->rows, d->samples, d->bits_allocated,
	        d->bits_stored, d->high_bit, d->is_signed);
	abort();
}

/* Every sample lies in the range Bits Stored allows (pix.h). */
static void check_range(const struct pix_desc *d, const struct pix_frame *f)
{
	size_t n = (size_t)f->rows * f->cols * f->samples;
	int64_t lo, hi;

	if (d->bits_stored >= 32)
		return;
	lo = d->is_signed ? -((int64_t)1 << (d->bits_stored - 1)) : 0;
	hi = d->is_signed ? ((int64_t)1 << (d->bits_stored - 1)) - 1
	                  : ((int64_t)1 << d->bits_stored) - 1;
	if (f->photometric == PIX_RGB && d->photometric != PIX_RGB) {
		/* Converted from YCbCr: unsigned, within the sample range. */
		lo = 0;
		hi = ((int64_t)1 << d->bits_stored) - 1;
	}
	for (size_t i = 0; i < n; i++)
		if (f->data[i] < lo || f->data[i] > hi)
			die("sample out of range", d, i, f->data[i]);
}

static void shape(const uint8_t *s, struct pix_desc *d)
{
	static const uint16_t ba[4] = {8, 16, 32, 8};
	unsigned drop, extra;

	memset(d, 0, sizeof(*d));
	d->rows = s[0] + 1u;
	d->cols = s[1] + 1u;
	d->frames = 1;
	d->bits_allocated = ba[s[2] & 3];
	d->samples = (s[2] & 4) ? 3 : 1;
	d->is_signed = (s[2] & 8) != 0;
	drop = s[2] >> 4;
	if (drop >= d->bits_allocated)
		drop = d->bits_allocated - 1u;
	d->bits_stored = (uint16_t)(d->bits_allocated - drop);
	extra = s[3] & 0x3F;
	if (extra > drop)
		extra = drop;
	d->high_bit = (uint16_t)(d->bits_stored - 1u + extra);
	d->planar = (s[3] & 0x40) && d->samples == 3 ? 1 : 0;
	if (d->samples == 3)
		d->photometric = (s[3] & 0x80) ? PIX_YBR_FULL : PIX_RGB;
	else
		d->photometric = PIX_MONOCHROME2;
	if (d->is_signed && d->bits_stored == 1)
		d->is_signed = false;
}

static bool frame_init(const struct pix_desc *d, struct pix_frame *f)
{
	size_t n = (size_t)d->rows * d->cols * d->samples;

	pix__frame_shape(f, d);
	/* Exactly sized so that ASan catches a write one past the end. */
	f->data = malloc(n * sizeof(int32_t));
	return f->data != NULL;
}

static void run_rle(const struct pix_desc *d, struct pc_span in)
{
	struct pix_frame f;
	struct pc_err err = {0};
	enum pc_status st;

	if (!frame_init(d, &f))
		return;
	st = pix__decode_rle(d, in, &f, &err);
	if (st != PC_OK) {
		if (err.msg[0] == '\0' || err.status != st)
			die("error without a message", d, 0, (int32_t)st);
	} else {
		check_range(d, &f);
		if (f.samples == 3 && d->photometric == PIX_YBR_FULL) {
			pix__ybr_to_rgb(&f);
			if (d->bits_stored >= 2 && d->bits_stored <= 31 &&
			    f.photometric != PIX_RGB)
				die("YCbCr not converted", d, 0, 0);
			check_range(d, &f);
		}
	}
	free(f.data);
}

static void run_native(const struct pix_desc *d0, struct pc_span in,
                       uint8_t sel)
{
	struct pix_desc d = *d0;
	struct pix_frame f;
	struct pc_err err = {0};
	unsigned bit_offset = 0;
	enum pc_status st;

	if ((sel & 3) == 3) {
		/* A 1-bit frame starting inside its first byte. */
		d.bits_allocated = 1;
		d.bits_stored = 1;
		d.high_bit = 0;
		d.samples = 1;
		d.is_signed = false;
		d.planar = 0;
		d.photometric = PIX_MONOCHROME2;
		bit_offset = (sel >> 2) & 7;
	} else if ((sel & 3) == 2 && d.samples == 3 && d.bits_allocated >= 8) {
		d.photometric = PIX_YBR_FULL_422;
		d.planar = 0;
	}
	if (!frame_init(&d, &f))
		return;
	st =
	    pix__decode_native(&d, in, bit_offset, (sel & 0x80) != 0, &f, &err);
	if (st == PC_OK) {
		check_range(&d, &f);
		if (f.samples == 3 && d.photometric == PIX_YBR_FULL_422)
			pix__ybr_to_rgb(&f);
	} else if (err.msg[0] == '\0') {
		die("native error without a message", &d, 0, (int32_t)st);
	}
	free(f.data);
}

static bool inside(struct pc_span s, const uint8_t *p, size_t n)
{
	return s.n == 0 ||
	       (s.p >= p && s.n <= n && s.p - p <= (ptrdiff_t)(n - s.n));
}

static void run_frames(const uint8_t *shape_bytes, struct pc_span in)
{
	static const char *uids[4] = {
	    "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50",
	    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.1.98"};
	uint8_t mode = shape_bytes[0] ^ shape_bytes[1];
	unsigned frames = (mode & 7u) + 1u;
	size_t table = (mode & 0x08)   ? 4u * frames
	               : (mode & 0x10) ? 8u * frames
	                               : 0;
	struct pc_buf scratch = PC_BUF_INIT;
	struct pix_desc d;
	dcm_dataset *ds = NULL;
	dcm_elem *e = NULL;
	size_t pos = 0;

	memset(&d, 0, sizeof(d));
	d.ts =
	    dcm_ts_find(uids[(mode >> 6) & 3], strlen(uids[(mode >> 6) & 3]));
	if (d.ts == NULL || in.n < table)
		return;
	ds = dcm_dataset_create();
	if (ds == NULL)
		return;
	if (dcm_dataset_set_encapsulated(
	        ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB,
	        pc_span_make(in.p, (mode & 0x08) ? table : 0), &e) != PC_OK)
		goto done;
	if (mode & 0x10) {
		/* Extended Offset Table, and its lengths when the input has
		 * room for them too. */
		if (dcm_dataset_set(ds, DCM_TAG(0x7FE0, 0x0001), DCM_VR_OV,
		                    in.p, table) != PC_OK)
			goto done;
		if ((mode & 0x20) && in.n >= 2 * table) {
			if (dcm_dataset_set(ds, DCM_TAG(0x7FE0, 0x0002),
			                    DCM_VR_OV, in.p + table,
			                    table) != PC_OK)
				goto done;
			table *= 2;
		}
	}
	pos = table;
	for (unsigned k = 0; k < 64 && pos < in.n; k++) {
		size_t len = in.p[pos++];

		if (len > in.n - pos)
			len = in.n - pos;
		if (dcm_elem_add_fragment(e, pc_span_make(in.p + pos, len)) !=
		    PC_OK)
			goto done;
		pos += len;
	}
	d.ds = ds;
	d.pixels = dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA);
	d.frames = frames;
	for (uint32_t i = 0; i <= frames; i++) {
		struct pc_span out;
		struct pc_err err = {0};
		enum pc_status st =
		    pix_frame_bytes(&d, i, &scratch, &out, &err);
		bool ok = false;

		if (st != PC_OK) {
			if (err.msg[0] == '\0')
				die("frame error without a message", &d, i,
				    (int32_t)st);
			if (i == frames && st != PC_NOTFOUND)
				die("frame past the last not PC_NOTFOUND", &d,
				    i, (int32_t)st);
			continue;
		}
		if (i == frames)
			die("frame past the last found", &d, i, 0);
		/* The span is the scratch buffer or inside one fragment. */
		ok = inside(out, (const uint8_t *)scratch.p, scratch.n);
		for (size_t k = 0; !ok && k < dcm_elem_fragment_count(d.pixels);
		     k++) {
			struct pc_span f = dcm_elem_fragment(d.pixels, k);

			ok = inside(out, f.p, f.n);
		}
		if (!ok)
			die("frame bytes outside the fragments", &d, i, 0);
		for (size_t k = 0; k < out.n; k++)
			sink += out.p[k];
	}
done:
	pc_buf_cleanup(&scratch);
	dcm_dataset_destroy(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pix_desc d;
	struct pc_span in;

	if (size < 4)
		return 0;
	shape(data, &d);
	in = pc_span_make(data + 4, size - 4);
	run_rle(&d, in);
	run_native(&d, in, data[3] ^ data[2]);
	run_frames(data, in);
	return 0;
}
