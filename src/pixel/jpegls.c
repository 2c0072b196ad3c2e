/*
 * jpegls.c - JPEG-LS lossless (1.2.840.10008.1.2.4.80) and near-lossless
 * (1.2.840.10008.1.2.4.81) frames through CharLS's C API (PS3.5 8.2.3,
 * ISO/IEC 14495-1).
 *
 * CharLS hands back 2..8-bit samples as bytes and 9..16-bit samples as
 * native-endian uint16, one plane after another for interleave mode "none"
 * and pixel-interleaved for modes "line" and "sample". We turn them into the
 * module's int32 samples.
 *
 * Signed data: JPEG-LS has no notion of sign; a DICOM writer encodes the two's
 * complement bit pattern of each sample as an unsigned P-bit value (PS3.5
 * 8.2.3), so we mask the pattern to Bits Stored and sign-extend it when Pixel
 * Representation is 1. dcmtk's dcmcjpls and GDCM write P = Bits Allocated
 * (16) even for 12-bit data, and for signed data the pattern may then be
 * the sign-extended 16-bit one. That case is told apart from the normal one
 * by the bits above Bits Stored: if any decoded sample has one set, the
 * frame is read at the codestream's precision P (sign-extended from bit P-1
 * when signed) instead of being silently masked, and if the values then do
 * not fit in Bits Stored the frame's bits_stored is raised to P so that it
 * stays consistent with its samples (values as coded, never truncated, as
 * pydicom returns them). One known difference: for signed data coded with
 * P = Bits Stored < Bits Allocated (12-bit patterns, P = 12) pydicom 2.3.1
 * through GDCM returns the patterns unsigned (0..4095), which breaks Pixel
 * Representation 1; we sign-extend them, which gives the intended values.
 *
 * Codestreams without an EOI marker: CharLS 2.4.1's bit reader, on reaching
 * the end of its buffer with a negative bit count (which happens on any
 * truncated scan), does not stop but spins through ~2^32 iterations
 * (15 s per frame) before failing: a denial of service on a cut or hostile
 * file. It does stop at once on a marker. So the decoder is always given a
 * buffer that ends with EOI (FF D9, ISO/IEC 14495-1 C.1.3): when the frame
 * does not (trailing 0x00 padding aside), a copy with EOI appended is
 * decoded instead, and a failure is then reported as truncation. Inside
 * entropy-coded data an FF is always followed by a byte below 0x80, so the
 * final FF D9 is a real marker.
 *
 * Thread-safety: one CharLS decoder per call, nothing shared.
 */
#include "pixel_int.h"

#include <string.h>

#include <charls/charls.h>

/* CharLS error -> our status and message. Running out of input is TRUNC
 * (a cut file); everything else is a malformed codestream. */
static enum pc_status jls_error(struct pc_err *err, charls_jpegls_errc ec,
				const char *what, bool no_eoi)
{
	enum pc_status st = PC_PARSE;

	if (no_eoi || ec == CHARLS_JPEGLS_ERRC_SOURCE_BUFFER_TOO_SMALL ||
	    ec == CHARLS_JPEGLS_ERRC_END_OF_IMAGE_MARKER_NOT_FOUND)
		st = PC_TRUNC;
	else if (ec == CHARLS_JPEGLS_ERRC_NOT_ENOUGH_MEMORY)
		st = PC_NOMEM;
	return pc_err_set(err, st, 0, "JPEG-LS %s: %s (CharLS error %d)%s",
			  what, charls_get_error_message(ec), (int)ec,
			  no_eoi ? "; the frame has no EOI marker: truncated?"
				 : "");
}

/* Whether the frame ends with EOI, ignoring trailing 0x00 padding. */
static bool ends_with_eoi(struct pc_span in)
{
	size_t n = in.n;

	while (n > 0 && in.p[n - 1] == 0x00)
		n--;
	return n >= 2 && in.p[n - 2] == 0xFF && in.p[n - 1] == 0xD9;
}

/*
 * Converts CharLS's output `buf` (P-bit samples, `wide` = 16-bit words) to
 * out->data following the rules in the file comment.
 */
static void jls_convert(const struct pix_desc *d, const uint8_t *buf,
			bool wide, bool planar, unsigned precision,
			struct pix_frame *out)
{
	size_t npix = (size_t)d->rows * d->cols;
	size_t nsamp = npix * d->samples;
	unsigned width = d->bits_stored;
	uint32_t seen = 0, mask;
	int32_t *dst = out->data;

	/* Pass 1: raw samples into place, interleaved. */
	for (size_t i = 0; i < npix; i++) {
		for (unsigned c = 0; c < d->samples; c++) {
			size_t src = planar ? c * npix + i : i * d->samples + c;
			uint32_t v;

			if (wide) {
				uint16_t w16;

				memcpy(&w16, buf + 2 * src, 2);
				v = w16;
			} else {
				v = buf[src];
			}
			seen |= v;
			dst[i * d->samples + c] = (int32_t)v;
		}
	}

	/* Bits above Bits Stored in use: the codestream's precision rules. */
	if (width < 32 && (seen >> width) != 0 && precision > width)
		width = precision;
	mask = width >= 32 ? 0xFFFFFFFFu : (1u << width) - 1u;

	/* Pass 2: mask, sign-extend, and check the range of Bits Stored. */
	int64_t lo = 0, hi = 0;
	for (size_t k = 0; k < nsamp; k++) {
		uint32_t u = (uint32_t)dst[k] & mask;
		int64_t v = u;

		if (d->is_signed && width < 32 && (u >> (width - 1)) != 0)
			v = (int64_t)u - ((int64_t)1 << width);
		if (v < lo)
			lo = v;
		if (v > hi)
			hi = v;
		dst[k] = (int32_t)v;
	}
	if (width != d->bits_stored) {
		int64_t min = d->is_signed
				      ? -((int64_t)1 << (d->bits_stored - 1))
				      : 0;
		int64_t max = d->is_signed
				      ? ((int64_t)1 << (d->bits_stored - 1)) - 1
				      : ((int64_t)1 << d->bits_stored) - 1;

		if (lo < min || hi > max)
			out->bits_stored = (uint16_t)width;
	}
}

enum pc_status pix__decode_jpegls(const struct pix_desc *d, struct pc_span in,
				  struct pix_frame *out, struct pc_err *err)
{
	charls_jpegls_decoder *dec = NULL;
	charls_frame_info fi;
	charls_interleave_mode ilv = CHARLS_INTERLEAVE_MODE_NONE;
	charls_jpegls_errc ec;
	uint8_t *buf = NULL, *copy = NULL;
	size_t need = 0, expect;
	enum pc_status st = PC_OK;
	bool no_eoi;

	if (in.n == 0)
		return pc_err_set(err, PC_TRUNC, 0, "JPEG-LS frame is empty");
	no_eoi = !ends_with_eoi(in);
	if (no_eoi) {
		/* See the file comment: never let CharLS run off the end. */
		copy = pc_malloc(in.n + 2);
		if (copy == NULL)
			return pc_err_set(err, PC_NOMEM, 0,
					  "out of memory for a JPEG-LS frame");
		memcpy(copy, in.p, in.n);
		copy[in.n] = 0xFF;
		copy[in.n + 1] = 0xD9;
		in = pc_span_make(copy, in.n + 2);
	}
	dec = charls_jpegls_decoder_create();
	if (dec == NULL) {
		st = pc_err_set(err, PC_NOMEM, 0,
				"out of memory for a JPEG-LS decoder");
		goto cleanup;
	}
	ec = charls_jpegls_decoder_set_source_buffer(dec, in.p, in.n);
	if (ec == CHARLS_JPEGLS_ERRC_SUCCESS)
		ec = charls_jpegls_decoder_read_header(dec);
	if (ec == CHARLS_JPEGLS_ERRC_SUCCESS)
		ec = charls_jpegls_decoder_get_frame_info(dec, &fi);
	if (ec == CHARLS_JPEGLS_ERRC_SUCCESS)
		ec = charls_jpegls_decoder_get_interleave_mode(dec, &ilv);
	if (ec != CHARLS_JPEGLS_ERRC_SUCCESS) {
		st = jls_error(err, ec, "header", no_eoi);
		goto cleanup;
	}

	/* The codestream must describe the image the data set describes
	 * (PS3.5 8.2.3): same size, same number of components. */
	if (fi.width != d->cols || fi.height != d->rows) {
		st = pc_err_set(err, PC_PARSE, 0,
				"JPEG-LS frame is %ux%u but Columns x Rows "
				"(0028,0011)x(0028,0010) is %ux%u",
				fi.width, fi.height, d->cols, d->rows);
		goto cleanup;
	}
	if (fi.component_count != (int32_t)d->samples) {
		st = pc_err_set(err, PC_PARSE, 0,
				"JPEG-LS frame has %d components but Samples "
				"per Pixel (0028,0002) is %u",
				(int)fi.component_count, d->samples);
		goto cleanup;
	}
	if (fi.bits_per_sample < 2 || fi.bits_per_sample > 16 ||
	    fi.bits_per_sample > (int32_t)d->bits_allocated) {
		st = pc_err_set(err, PC_PARSE, 0,
				"JPEG-LS precision is %d bits but Bits "
				"Allocated (0028,0100) is %u",
				(int)fi.bits_per_sample, d->bits_allocated);
		goto cleanup;
	}

	/* CharLS sizes its output from the header just checked, so `need`
	 * is bounded by the descriptor; it must be exactly what we expect. */
	expect = (size_t)d->rows * d->cols * d->samples *
		 (fi.bits_per_sample > 8 ? 2u : 1u);
	ec = charls_jpegls_decoder_get_destination_size(dec, 0, &need);
	if (ec != CHARLS_JPEGLS_ERRC_SUCCESS) {
		st = jls_error(err, ec, "header", no_eoi);
		goto cleanup;
	}
	if (need != expect) {
		st = pc_err_set(err, PC_PARSE, 0,
				"JPEG-LS decoder wants %zu bytes for a %ux%ux%u "
				"frame, expected %zu",
				need, d->cols, d->rows, d->samples, expect);
		goto cleanup;
	}
	buf = pc_malloc(need);
	if (buf == NULL) {
		st = pc_err_set(err, PC_NOMEM, 0,
				"out of memory for a JPEG-LS frame");
		goto cleanup;
	}
	ec = charls_jpegls_decoder_decode_to_buffer(dec, buf, need, 0);
	if (ec != CHARLS_JPEGLS_ERRC_SUCCESS) {
		st = jls_error(err, ec, "data", no_eoi);
		goto cleanup;
	}
	jls_convert(d, buf, fi.bits_per_sample > 8,
		    d->samples > 1 && ilv == CHARLS_INTERLEAVE_MODE_NONE,
		    (unsigned)fi.bits_per_sample, out);

cleanup:
	pc_free(buf);
	pc_free(copy);
	charls_jpegls_decoder_destroy(dec);
	return st;
}
