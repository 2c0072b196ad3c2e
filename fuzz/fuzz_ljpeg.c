/*
 * fuzz_ljpeg.c - libFuzzer target for the JPEG Lossless decoder (ljpeg.c)
 * and, through its SOF0/1/2 hand-over, the libjpeg glue of jpeg.c.
 *
 * The input is one codestream (a frame as found in a DICOM fragment). The
 * descriptor the decoder checks the stream against is taken from the
 * first SOF marker when one can be found, so that most inputs get past the
 * header checks into the scan decoder; the last input byte varies it
 * (signedness, Bits Stored, a deliberately wrong size) so that the
 * mismatch paths are fuzzed too. Without a SOF a fixed 8x8 shape is used.
 *
 * Invariants checked (abort = a bug): an error comes with a message and a
 * non-OK status; a success leaves every sample inside the Bits Stored
 * range (sign-extended when signed). ASan/UBSan catch reads outside the
 * input and the frame.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames larger than this are not decoded: the work per input must stay
 * small for libFuzzer (and the decoder's cost is linear in the frame). */
#define MAX_SAMPLES (1u << 18)

static void die(const char *what, const struct pc_err *err)
{
	fprintf(stderr, "fuzz_ljpeg: %s (%s: %s)\n", what,
	        err ? pc_status_name(err->status) : "-", err ? err->msg : "");
	abort();
}

/* Shape from the first SOFn segment: 1 if found. */
static int sof_shape(const uint8_t *p, size_t n, unsigned *prec, uint32_t *rows,
                     uint32_t *cols, unsigned *nc)
{
	for (size_t i = 0; i + 9 < n; i++) {
		if (p[i] != 0xFF || p[i + 1] < 0xC0 || p[i + 1] > 0xCF ||
		    p[i + 1] == 0xC4 || p[i + 1] == 0xC8 || p[i + 1] == 0xCC)
			continue;
		*prec = p[i + 4];
		*rows = (uint32_t)(p[i + 5] << 8 | p[i + 6]);
		*cols = (uint32_t)(p[i + 7] << 8 | p[i + 8]);
		*nc = p[i + 9];
		return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dcm_ts ts = {
	    .uid = "1.2.840.10008.1.2.4.57",
	    .name = "JPEG Lossless, Non-Hierarchical (Process 14)",
	    .explicit_vr = true,
	    .encapsulated = true,
	};
	struct pix_desc d;
	struct pix_frame f;
	struct pc_err err = {0};
	unsigned prec = 8, nc = 1, knob = size ? data[size - 1] : 0;
	uint32_t rows = 8, cols = 8;
	size_t n;
	enum pc_status st;

	if (!sof_shape(data, size, &prec, &rows, &cols, &nc) || prec < 2 ||
	    prec > 16 || nc < 1 || nc > 4) {
		prec = 8;
		rows = cols = 8;
		nc = 1;
	}
	if (rows == 0)
		rows = 1 + (knob & 7); /* SOF Y = 0: the rows come from here */
	if (cols == 0 || (uint64_t)rows * cols * nc > MAX_SAMPLES)
		return 0;

	memset(&d, 0, sizeof(d));
	d.rows = rows;
	d.cols = cols;
	d.frames = 1;
	d.samples = (uint16_t)nc;
	d.bits_allocated = prec > 8 ? 16 : 8;
	d.bits_stored = (uint16_t)prec;
	if ((knob & 0x18) == 0x08 && prec > 2)
		d.bits_stored = (uint16_t)(prec - 1); /* P > Bits Stored */
	d.high_bit = (uint16_t)(d.bits_stored - 1);
	d.is_signed = (knob & 1) != 0;
	d.photometric =
	    nc == 3 ? ((knob & 2) ? PIX_YBR_FULL : PIX_RGB) : PIX_MONOCHROME2;
	d.ts = &ts;
	if ((knob & 0xE0) == 0xE0)
		d.cols += 1; /* a size mismatch, normally refused */

	n = (size_t)d.rows * d.cols * d.samples;
	memset(&f, 0, sizeof(f));
	f.rows = d.rows;
	f.cols = d.cols;
	f.samples = d.samples;
	f.bits_stored = d.bits_stored;
	f.is_signed = d.is_signed;
	f.photometric = d.photometric;
	f.data = malloc(n * sizeof(int32_t));
	if (f.data == NULL)
		return 0;

	st = pix__decode_ljpeg(&d, pc_span_make(data, size), &f, &err);
	if (st != PC_OK) {
		if (err.status != st || err.msg[0] == '\0')
			die("error without matching status and message", &err);
	} else {
		int64_t lo =
		    d.is_signed ? -(INT64_C(1) << (d.bits_stored - 1)) : 0;
		int64_t hi = d.is_signed
		                 ? (INT64_C(1) << (d.bits_stored - 1)) - 1
		                 : (INT64_C(1) << d.bits_stored) - 1;

		for (size_t i = 0; i < n; i++)
			if (f.data[i] < lo || f.data[i] > hi)
				die("sample outside the Bits Stored range",
				    &err);
	}
	free(f.data);
	return 0;
}
