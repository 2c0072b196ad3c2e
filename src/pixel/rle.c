/*
 * rle.c - RLE Lossless (PS3.5 Annex G), our own decoder.
 *
 * A frame is a 64-byte header (G.5: the number of segments, then 15
 * segment offsets, all 32-bit little endian, unused ones 0) followed by
 * the segments. Each segment is one byte plane of one sample, PackBits
 * encoded (G.3.1); a sample of Bits Allocated b has b / 8 segments, most
 * significant byte first (G.2), and the samples' planes follow each other
 * (R then G then B), whatever Planar Configuration says.
 *
 * Behaviour on imperfect input follows pydicom's rle_handler, so that
 * both give the same pixels or both refuse:
 *   - segment i runs from its offset to the next segment's offset (the
 *     last one to the end of the frame);
 *   - PackBits stops at the end of the segment: a literal run cut short
 *     copies what is there, a replicate run without its byte adds nothing;
 *   - the header byte -128 is a no-op (G.3.1);
 *   - a segment that decodes to fewer bytes than the image has pixels is
 *     an error (PC_TRUNC naming the segment); extra bytes are ignored;
 *   - the segment count must be samples * bytes per sample.
 * Offsets pointing before the end of the header, past the end of the
 * frame or backwards are refused (PC_PARSE): pydicom would decode the
 * header or an empty slice as a segment and fail or produce garbage.
 *
 * Decoding writes straight into the int32 output, one plane at a time
 * with the stride of the samples; the first byte plane of a sample stores,
 * the others shift in their byte. No allocation, one pass per segment,
 * runs written with tight loops.
 */
#include "pixel_int.h"

#include <string.h>

#define RLE_HEADER 64u
#define RLE_MAX_SEGMENTS 15u

static inline uint32_t rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * Writes byte `b` into `n` samples at dst[0], dst[stride]...: stored when
 * `first` (the most significant plane), else shifted in below what the
 * previous planes left. always_inline with a constant `first` and stride 1
 * gives the specialised loops the 8-bit monochrome case needs.
 */
static inline __attribute__((always_inline)) void
put_run(int32_t *dst, size_t stride, size_t n, uint8_t b, bool first)
{
	if (first) {
		for (size_t i = 0; i < n; i++)
			dst[i * stride] = b;
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i * stride] =
				(int32_t)((uint32_t)dst[i * stride] << 8 | b);
	}
}

static inline __attribute__((always_inline)) void
put_lit(int32_t *dst, size_t stride, size_t n, const uint8_t *src, bool first)
{
	if (first) {
		for (size_t i = 0; i < n; i++)
			dst[i * stride] = src[i];
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i * stride] =
				(int32_t)((uint32_t)dst[i * stride] << 8 |
					  src[i]);
	}
}

/*
 * PackBits (G.3.1) from src[0..n) into `want` samples of dst. Returns how
 * many samples were produced (== want unless the segment is short).
 */
static inline __attribute__((always_inline)) size_t
unpack(const uint8_t *src, size_t n, int32_t *dst, size_t stride,
       size_t want, bool first)
{
	size_t in = 0, outn = 0;

	while (outn < want && in < n) {
		unsigned h = src[in++];
		size_t len;

		if (h < 128) {
			/* Literal: the next h + 1 bytes, cut at the end of
			 * the segment and of the plane. */
			len = h + 1u;
			if (len > n - in)
				len = n - in;
			if (len > want - outn)
				len = want - outn;
			put_lit(dst + outn * stride, stride, len, src + in,
				first);
			in += h + 1u;
			outn += len;
		} else if (h > 128) {
			/* Replicate: the next byte 257 - h times. */
			if (in >= n)
				break;
			len = 257u - h;
			if (len > want - outn)
				len = want - outn;
			put_run(dst + outn * stride, stride, len, src[in],
				first);
			in++;
			outn += len;
		}
		/* h == 128 (-128): no operation. */
	}
	return outn;
}

static size_t unpack_first(const uint8_t *src, size_t n, int32_t *dst,
			   size_t stride, size_t want)
{
	if (stride == 1)
		return unpack(src, n, dst, 1, want, true);
	return unpack(src, n, dst, stride, want, true);
}

static size_t unpack_next(const uint8_t *src, size_t n, int32_t *dst,
			  size_t stride, size_t want)
{
	if (stride == 1)
		return unpack(src, n, dst, 1, want, false);
	return unpack(src, n, dst, stride, want, false);
}

/* Masks to Bits Stored (shifting High Bit down) and sign-extends, the same
 * transform as native.c's: ((w >> shift) & mask ^ sign) - sign. */
static void finish(const struct pix_desc *d, int32_t *p, size_t n)
{
	unsigned shift = (unsigned)(d->high_bit + 1u - d->bits_stored);
	uint32_t mask = d->bits_stored >= 32
				? UINT32_MAX
				: (UINT32_C(1) << d->bits_stored) - 1u;
	uint32_t sign = d->is_signed ? UINT32_C(1) << (d->bits_stored - 1u) : 0;

	if (shift == 0 && sign == 0 && d->bits_stored == d->bits_allocated)
		return;
	for (size_t i = 0; i < n; i++)
		p[i] = (int32_t)(((((uint32_t)p[i] >> shift) & mask) ^ sign) -
				 sign);
}

enum pc_status pix__decode_rle(const struct pix_desc *d, struct pc_span in,
			       struct pix_frame *out, struct pc_err *err)
{
	uint32_t nseg, off[RLE_MAX_SEGMENTS + 1];
	unsigned bytes = d->bits_allocated / 8u;
	size_t npix = (size_t)d->rows * d->cols;

	if (d->bits_allocated != 8 && d->bits_allocated != 16 &&
	    d->bits_allocated != 32)
		return pc_err_set(err, PC_UNSUPPORTED, 0,
				  "RLE: Bits Allocated %u is not supported",
				  d->bits_allocated);
	if (d->samples != 1 && d->samples != 3)
		return pc_err_set(err, PC_UNSUPPORTED, 0,
				  "RLE: %u samples per pixel", d->samples);
	if (in.n < RLE_HEADER)
		return pc_err_set(err, PC_TRUNC, 0,
				  "RLE: frame of %zu bytes is shorter than "
				  "the 64-byte header (PS3.5 G.5)",
				  in.n);
	nseg = rd32le(in.p);
	if (nseg > RLE_MAX_SEGMENTS)
		return pc_err_set(err, PC_PARSE, 0,
				  "RLE: header declares %u segments, at most "
				  "15 are allowed (PS3.5 G.5)",
				  nseg);
	if (nseg != (uint32_t)d->samples * bytes)
		return pc_err_set(err, PC_PARSE, 0,
				  "RLE: header declares %u segments, %u "
				  "samples of %u bits need %u",
				  nseg, d->samples, d->bits_allocated,
				  d->samples * bytes);
	for (uint32_t s = 0; s < nseg; s++) {
		off[s] = rd32le(in.p + 4 + 4 * s);
		if (off[s] < RLE_HEADER || off[s] > in.n ||
		    (s > 0 && off[s] < off[s - 1]))
			return pc_err_set(err, PC_PARSE, 4 + 4 * s,
					  "RLE: segment %u offset %u is outside "
					  "%u..%zu",
					  s + 1, off[s],
					  s > 0 ? off[s - 1] : RLE_HEADER,
					  in.n);
	}
	off[nseg] = (uint32_t)(in.n > UINT32_MAX ? UINT32_MAX : in.n);

	for (uint32_t s = 0; s < nseg; s++) {
		unsigned sample = s / bytes;
		bool first = s % bytes == 0;
		const uint8_t *src = in.p + off[s];
		size_t n = off[s + 1] - off[s];
		int32_t *dst = out->data + sample;
		size_t got;

		got = first ? unpack_first(src, n, dst, d->samples, npix)
			    : unpack_next(src, n, dst, d->samples, npix);
		if (got < npix)
			return pc_err_set(err, PC_TRUNC, off[s],
					  "RLE: segment %u (offset %u, %zu "
					  "bytes) decodes to %zu bytes, %zu "
					  "expected",
					  s + 1, off[s], n, got, npix);
	}
	finish(d, out->data, npix * d->samples);
	return PC_OK;
}
