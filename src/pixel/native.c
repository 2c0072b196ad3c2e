/*
 * native.c - native (uncompressed) pixel data to int32 samples (PS3.5 8.1
 * and 8.2, PS3.3 C.7.6.3).
 *
 * Layout handled:
 *   Bits Allocated 1: bits packed LSB first within each byte, frames and
 *     rows not padded, so a frame may start inside a byte (PS3.5 8.1.1 and
 *     8.2 "Native Format");
 *   Bits Allocated 8, 16, 32: one word per sample in the data set's byte
 *     order; the stored bits are bits [High Bit - Bits Stored + 1 ..
 *     High Bit] of the word (PS3.5 8.1.1), shifted down, masked and
 *     sign-extended when Pixel Representation is 1;
 *   Planar Configuration 1 (RRR..GGG..BBB, PS3.3 C.7.6.3.1.3) turned into
 *     interleaved samples;
 *   YBR_FULL_422 / YBR_PARTIAL_422 (Y1 Y2 Cb Cr for each pair of pixels,
 *     PS3.3 C.7.6.3.1.2) expanded to three samples per pixel; colour
 *     conversion is left to color.c.
 *
 * Byte order follows pydicom: words of 16 and 32 bits are swapped in big
 * endian data sets, bytes (8-bit and 1-bit data) never are, whatever the
 * VR (OB or OW).
 *
 * Unsigned 32-bit samples with Bits Stored 32 do not fit an int32_t: their
 * bit pattern is stored (so (uint32_t)data[i] gives the value back); a
 * consumer sees bits_stored == 32 && !is_signed in the frame.
 *
 * This is the hot path of rendering: the conversion loops below have no
 * per-sample branch on the layout; everything is decided once per frame.
 */
#include "pixel_int.h"

#include <string.h>

/* How a word becomes a sample: ((w >> shift) & mask ^ sign) - sign, the
 * classic branch-free sign extension (sign is 0 for unsigned data). */
struct conv {
	unsigned shift;
	uint32_t mask;
	uint32_t sign;
};

static struct conv conv_of(const struct pix_desc *d)
{
	struct conv c;

	c.shift = (unsigned)(d->high_bit + 1u - d->bits_stored);
	c.mask = d->bits_stored >= 32 ? UINT32_MAX
				      : (UINT32_C(1) << d->bits_stored) - 1u;
	c.sign = d->is_signed ? UINT32_C(1) << (d->bits_stored - 1u) : 0;
	return c;
}

static inline int32_t apply(uint32_t w, struct conv c)
{
	/* Conversion of an out-of-range uint32_t to int32_t is modulo 2^32
	 * in GCC and Clang (documented implementation-defined behaviour),
	 * which is the two's-complement reinterpretation wanted here. */
	return (int32_t)((((w >> c.shift) & c.mask) ^ c.sign) - c.sign);
}

static inline uint32_t rd16le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static inline uint32_t rd16be(const uint8_t *p)
{
	return (uint32_t)p[1] | (uint32_t)p[0] << 8;
}
static inline uint32_t rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline uint32_t rd32be(const uint8_t *p)
{
	return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[0] << 24;
}

/*
 * Converts `n` words at `src` to samples at dst[0], dst[stride], ...
 * One loop per word size and byte order; `c` is loop-invariant. The
 * unit-stride 8-bit and 16-bit loops are the ones that matter for speed
 * (monochrome CT/MR/CR and interleaved RGB) and vectorize.
 */
static void convert(const uint8_t *src, size_t n, unsigned bytes, bool be,
		    struct conv c, int32_t *dst, size_t stride)
{
	size_t i;

	switch (bytes) {
	case 1:
		if (c.shift == 0 && c.mask == 0xFFu && c.sign == 0 &&
		    stride == 1) {
			for (i = 0; i < n; i++)
				dst[i] = src[i];
		} else {
			for (i = 0; i < n; i++)
				dst[i * stride] = apply(src[i], c);
		}
		break;
	case 2:
		if (stride == 1 && !be) {
			for (i = 0; i < n; i++)
				dst[i] = apply(rd16le(src + 2 * i), c);
		} else if (!be) {
			for (i = 0; i < n; i++)
				dst[i * stride] = apply(rd16le(src + 2 * i), c);
		} else {
			for (i = 0; i < n; i++)
				dst[i * stride] = apply(rd16be(src + 2 * i), c);
		}
		break;
	default:
		if (!be) {
			for (i = 0; i < n; i++)
				dst[i * stride] = apply(rd32le(src + 4 * i), c);
		} else {
			for (i = 0; i < n; i++)
				dst[i * stride] = apply(rd32be(src + 4 * i), c);
		}
		break;
	}
}

static uint32_t rd_word(const uint8_t *p, unsigned bytes, bool be)
{
	switch (bytes) {
	case 1:
		return p[0];
	case 2:
		return be ? rd16be(p) : rd16le(p);
	default:
		return be ? rd32be(p) : rd32le(p);
	}
}

/* PS3.3 C.7.6.3.1.2: each pair of pixels is stored as Y1 Y2 Cb Cr; both
 * pixels share the chrominance. `npix` is even (checked by desc.c and
 * again by the caller). */
static void expand_422(const uint8_t *src, size_t npix, unsigned bytes,
		       bool be, struct conv c, int32_t *dst)
{
	for (size_t i = 0; i < npix; i += 2) {
		int32_t y1 = apply(rd_word(src, bytes, be), c);
		int32_t y2 = apply(rd_word(src + bytes, bytes, be), c);
		int32_t cb = apply(rd_word(src + 2 * bytes, bytes, be), c);
		int32_t cr = apply(rd_word(src + 3 * bytes, bytes, be), c);

		dst[0] = y1;
		dst[1] = cb;
		dst[2] = cr;
		dst[3] = y2;
		dst[4] = cb;
		dst[5] = cr;
		src += 4 * bytes;
		dst += 6;
	}
}

/* PS3.5 8.1.1: bit k of the stream is bit (k % 8) of byte k / 8. */
static void unpack_bits(const uint8_t *src, unsigned bit_offset, size_t n,
			int32_t *dst)
{
	size_t i = 0;

	/* Leading bits up to the first byte boundary, then whole bytes. */
	while (i < n && bit_offset != 0 && bit_offset < 8) {
		dst[i++] = (src[0] >> bit_offset) & 1;
		bit_offset++;
	}
	if (bit_offset == 8)
		src++;
	while (n - i >= 8) {
		uint8_t b = *src++;

		for (unsigned k = 0; k < 8; k++)
			dst[i + k] = (b >> k) & 1;
		i += 8;
	}
	for (unsigned k = 0; i < n; k++)
		dst[i++] = (src[0] >> k) & 1;
}

enum pc_status pix__decode_native(const struct pix_desc *d, struct pc_span in,
				  unsigned bit_offset, bool big_endian,
				  struct pix_frame *out, struct pc_err *err)
{
	uint64_t npix = (uint64_t)d->rows * d->cols;
	uint64_t nsamples = npix * d->samples;
	unsigned bytes = d->bits_allocated / 8u;
	bool is422 = d->photometric == PIX_YBR_FULL_422 ||
		     d->photometric == PIX_YBR_PARTIAL_422;
	uint64_t need;
	struct conv c;

	if (d->bits_allocated == 1) {
		if (d->samples != 1 || bit_offset > 7)
			return pc_err_set(err, PC_INVAL, 0,
					  "1-bit native data with %u samples "
					  "at bit offset %u",
					  d->samples, bit_offset);
		need = (bit_offset + nsamples + 7) / 8;
	} else if (d->bits_allocated == 8 || d->bits_allocated == 16 ||
		   d->bits_allocated == 32) {
		if (d->bits_stored == 0 || d->bits_stored > d->bits_allocated ||
		    d->high_bit >= d->bits_allocated ||
		    d->high_bit + 1u < d->bits_stored)
			return pc_err_set(err, PC_INVAL, 0,
					  "Bits Stored %u, High Bit %u do not "
					  "fit Bits Allocated %u",
					  d->bits_stored, d->high_bit,
					  d->bits_allocated);
		if (is422 && (d->samples != 3 || npix % 2 != 0))
			return pc_err_set(err, PC_UNSUPPORTED, 0,
					  "native %s needs 3 samples and an "
					  "even number of pixels",
					  pix_photometric_name(d->photometric));
		need = (is422 ? npix * 2 : nsamples) * bytes;
	} else {
		return pc_err_set(err, PC_UNSUPPORTED, 0,
				  "native Bits Allocated %u is not supported",
				  d->bits_allocated);
	}
	if ((uint64_t)in.n < need)
		return pc_err_set(err, PC_TRUNC, 0,
				  "native frame of %ux%u needs %llu bytes, %zu "
				  "available",
				  d->cols, d->rows, (unsigned long long)need,
				  in.n);

	if (d->bits_allocated == 1) {
		unpack_bits(in.p, bit_offset, (size_t)nsamples, out->data);
		return PC_OK;
	}
	c = conv_of(d);
	if (is422) {
		expand_422(in.p, (size_t)npix, bytes, big_endian, c, out->data);
	} else if (d->samples == 3 && d->planar == 1) {
		size_t plane = (size_t)npix * bytes;

		for (unsigned s = 0; s < 3; s++)
			convert(in.p + s * plane, (size_t)npix, bytes,
				big_endian, c, out->data + s, 3);
	} else {
		convert(in.p, (size_t)nsamples, bytes, big_endian, c, out->data,
			1);
	}
	return PC_OK;
}
