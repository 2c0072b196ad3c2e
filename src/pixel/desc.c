/*
 * desc.c - the Image Pixel Module (PS3.3 C.7.6.3): the attributes that say
 * how the bytes of Pixel Data (7FE0,0010) are laid out, read and checked
 * once so that every decoder can trust them.
 *
 * Invariants of a descriptor returned with PC_OK:
 *   rows, cols, frames >= 1; samples is 1 or 3;
 *   bits_allocated is 1, 8, 16 or 32 (native) or 8, 16, 32 (encapsulated);
 *   1 <= bits_stored <= bits_allocated and
 *   bits_stored - 1 <= high_bit < bits_allocated;
 *   photometric is known and agrees with samples;
 *   native Pixel Data holds at least every frame's bytes.
 * Decoders still check that their codestream agrees with the descriptor:
 * the descriptor describes what the header claims, not what a fragment
 * holds.
 */
#include "pixel_int.h"

#include <string.h>

#define TAG_SAMPLES DCM_TAG(0x0028, 0x0002)
#define TAG_PHOTOMETRIC DCM_TAG(0x0028, 0x0004)
#define TAG_PLANAR DCM_TAG(0x0028, 0x0006)
#define TAG_FRAMES DCM_TAG(0x0028, 0x0008)
#define TAG_ROWS DCM_TAG(0x0028, 0x0010)
#define TAG_COLS DCM_TAG(0x0028, 0x0011)
#define TAG_BITS_ALLOCATED DCM_TAG(0x0028, 0x0100)
#define TAG_BITS_STORED DCM_TAG(0x0028, 0x0101)
#define TAG_HIGH_BIT DCM_TAG(0x0028, 0x0102)
#define TAG_PIXEL_REP DCM_TAG(0x0028, 0x0103)
#define TAG_FLOAT_PIXELS DCM_TAG(0x7FE0, 0x0008)
#define TAG_DOUBLE_PIXELS DCM_TAG(0x7FE0, 0x0009)

static const struct {
	enum pix_photometric p;
	const char *name;
} photometrics[] = {
	{PIX_MONOCHROME1, "MONOCHROME1"},
	{PIX_MONOCHROME2, "MONOCHROME2"},
	{PIX_RGB, "RGB"},
	{PIX_PALETTE_COLOR, "PALETTE COLOR"},
	{PIX_YBR_FULL, "YBR_FULL"},
	{PIX_YBR_FULL_422, "YBR_FULL_422"},
	{PIX_YBR_PARTIAL_422, "YBR_PARTIAL_422"},
	{PIX_YBR_PARTIAL_420, "YBR_PARTIAL_420"},
	{PIX_YBR_ICT, "YBR_ICT"},
	{PIX_YBR_RCT, "YBR_RCT"},
};

enum pix_photometric pix_photometric_parse(struct pc_span value)
{
	size_t n = value.n;

	/* CS values are padded with a trailing space (PS3.5 6.2); tolerate
	 * NUL padding as well, and leading spaces, which CS also allows. */
	while (n > 0 && (value.p[n - 1] == ' ' || value.p[n - 1] == '\0'))
		n--;
	while (n > 0 && value.p[0] == ' ') {
		value.p++;
		n--;
	}
	for (size_t i = 0; i < sizeof(photometrics) / sizeof(photometrics[0]);
	     i++) {
		const char *name = photometrics[i].name;

		if (strlen(name) == n && memcmp(name, value.p, n) == 0)
			return photometrics[i].p;
	}
	return PIX_PHOTO_UNKNOWN;
}

const char *pix_photometric_name(enum pix_photometric p)
{
	for (size_t i = 0; i < sizeof(photometrics) / sizeof(photometrics[0]);
	     i++)
		if (photometrics[i].p == p)
			return photometrics[i].name;
	return "unknown";
}

/*
 * Reads an unsigned attribute of the module. `required` false turns
 * absence (or an empty value) into *present = false instead of an error.
 */
static enum pc_status get_uint(const dcm_dataset *ds, uint32_t tag,
			       const char *name, bool required, uint64_t max,
			       uint64_t *out, bool *present, struct pc_err *err)
{
	const dcm_elem *e = dcm_dataset_find(ds, tag);
	enum pc_status st;
	int64_t v;

	*present = false;
	if (e == NULL || dcm_elem_vm(e) == 0) {
		if (!required)
			return PC_OK;
		return pc_err_set(err, PC_PARSE, e ? dcm_elem_offset(e) : 0,
				  "(%04X,%04X) %s is %s", DCM_TAG_GROUP(tag),
				  DCM_TAG_ELEM(tag), name,
				  e ? "empty" : "missing");
	}
	/* Signed read: a US holding 0xFFFF stays 65535, and an IS holding
	 * "-1" is reported as negative rather than wrapped. */
	st = dcm_elem_get_int(e, 0, &v);
	if (st != PC_OK || v < 0 || (uint64_t)v > max)
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
				  "(%04X,%04X) %s at offset %llu: %s",
				  DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag), name,
				  (unsigned long long)dcm_elem_offset(e),
				  st != PC_OK ? "value is not a number"
					      : "value out of range");
	*out = (uint64_t)v;
	*present = true;
	return PC_OK;
}

#define GET(tag, name, required, max, dst)                                     \
	do {                                                                   \
		st = get_uint(ds, tag, name, required, max, &v, &present,      \
			      err);                                            \
		if (st != PC_OK)                                               \
			return st;                                             \
		if (present)                                                   \
			dst = v;                                               \
	} while (0)

/* Bytes of one native frame: PS3.5 8.1.1 packs 1-bit frames without
 * padding, so they are counted in bits; the 4:2:2 forms store two samples
 * per pixel (PS3.3 C.7.6.3.1.2). False on overflow. */
static bool native_bits(const struct pix_desc *d, uint64_t frames,
			uint64_t *bits)
{
	uint64_t n;

	if (__builtin_mul_overflow((uint64_t)d->rows, d->cols, &n) ||
	    __builtin_mul_overflow(n, d->samples, &n) ||
	    __builtin_mul_overflow(n, d->bits_allocated, &n) ||
	    __builtin_mul_overflow(n, frames, &n))
		return false;
	if (d->photometric == PIX_YBR_FULL_422 ||
	    d->photometric == PIX_YBR_PARTIAL_422)
		n = n / 3 * 2;
	*bits = n;
	return true;
}

static enum pc_status check_native_length(const struct pix_desc *d,
					  struct pc_err *err)
{
	struct pc_span v = dcm_elem_value(d->pixels);
	uint64_t bits, need;

	if (!native_bits(d, d->frames, &bits))
		return pc_err_set(err, PC_LIMIT, dcm_elem_offset(d->pixels),
				  "(7FE0,0010): %u frames of %ux%ux%u at %u "
				  "bits overflow 64 bits",
				  d->frames, d->cols, d->rows, d->samples,
				  d->bits_allocated);
	need = bits / 8 + (bits % 8 != 0);
	/* Extra bytes are fine: the odd-length pad byte (PS3.5 7.1.1) and
	 * encoders that pad frames are both met in the wild. */
	if ((uint64_t)v.n < need)
		return pc_err_set(err, PC_TRUNC, dcm_elem_offset(d->pixels),
				  "(7FE0,0010) at offset %llu: %u frame(s) of "
				  "%ux%u, %u sample(s) of %u bits need %llu "
				  "bytes, Pixel Data has %zu",
				  (unsigned long long)dcm_elem_offset(d->pixels),
				  d->frames, d->cols, d->rows, d->samples,
				  d->bits_allocated, (unsigned long long)need,
				  v.n);
	return PC_OK;
}

enum pc_status pix_desc_read(const dcm_dataset *ds, const struct dcm_ts *ts,
			     struct pix_desc *out, struct pc_err *err)
{
	const dcm_elem *e;
	enum pc_status st;
	uint64_t v;
	bool present;
	uint64_t rows = 0, cols = 0, samples = 0, frames = 1, ba = 0, bs = 0;
	uint64_t hb = 0, rep = 0, planar = 0;
	bool have_hb = false;
	struct pc_buf photo = PC_BUF_INIT;
	struct pix_desc d;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	if (ds == NULL || ts == NULL)
		return pc_err_set(err, PC_INVAL, 0,
				  "no data set or transfer syntax");

	e = dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA);
	if (e == NULL) {
		if (dcm_dataset_find(ds, TAG_FLOAT_PIXELS) != NULL ||
		    dcm_dataset_find(ds, TAG_DOUBLE_PIXELS) != NULL)
			return pc_err_set(err, PC_UNSUPPORTED, 0,
					  "Float Pixel Data (7FE0,0008) and "
					  "Double Float Pixel Data (7FE0,0009) "
					  "are not supported");
		return pc_err_set(err, PC_NOTFOUND, 0,
				  "no Pixel Data (7FE0,0010) in the data set");
	}
	d.pixels = e;
	d.ds = ds;
	d.ts = ts;

	GET(TAG_ROWS, "Rows", true, UINT16_MAX, rows);
	GET(TAG_COLS, "Columns", true, UINT16_MAX, cols);
	GET(TAG_SAMPLES, "Samples per Pixel", true, UINT16_MAX, samples);
	GET(TAG_BITS_ALLOCATED, "Bits Allocated", true, UINT16_MAX, ba);
	GET(TAG_BITS_STORED, "Bits Stored", true, UINT16_MAX, bs);
	GET(TAG_PIXEL_REP, "Pixel Representation", true, 1, rep);
	/* Optional: High Bit defaults to Bits Stored - 1 when absent (pydicom
	 * never reads it), Number of Frames to 1 (PS3.3 C.7.6.6: present in
	 * multi-frame IODs only), Planar Configuration to 0. */
	GET(TAG_HIGH_BIT, "High Bit", false, UINT16_MAX, hb);
	have_hb = present;
	GET(TAG_FRAMES, "Number of Frames", false, UINT32_MAX, frames);
	GET(TAG_PLANAR, "Planar Configuration", false, 1, planar);

	if (rows == 0 || cols == 0)
		return pc_err_set(err, PC_PARSE, 0, "(%s) %s is 0",
				  rows == 0 ? "0028,0010" : "0028,0011",
				  rows == 0 ? "Rows" : "Columns");
	/* pydicom reads "0" frames as 1: an empty or zero IS is a common
	 * slip of encoders writing single-frame images. */
	if (frames == 0)
		frames = 1;
	if (samples != 1 && samples != 3)
		return pc_err_set(err, PC_UNSUPPORTED, 0,
				  "(0028,0002) Samples per Pixel %llu: only 1 "
				  "and 3 are supported",
				  (unsigned long long)samples);
	if (ts->encapsulated ? (ba != 8 && ba != 16 && ba != 32)
			     : (ba != 1 && ba != 8 && ba != 16 && ba != 32))
		return pc_err_set(err, PC_UNSUPPORTED, 0,
				  "(0028,0100) Bits Allocated %llu is not "
				  "supported for %s",
				  (unsigned long long)ba, ts->name);
	if (ba == 1 && samples != 1)
		return pc_err_set(err, PC_UNSUPPORTED, 0,
				  "(0028,0100) Bits Allocated 1 with %llu "
				  "samples per pixel",
				  (unsigned long long)samples);
	if (bs == 0 || bs > ba)
		return pc_err_set(err, PC_PARSE, 0,
				  "(0028,0101) Bits Stored %llu with Bits "
				  "Allocated %llu",
				  (unsigned long long)bs,
				  (unsigned long long)ba);
	if (!have_hb)
		hb = bs - 1;
	/* PS3.5 8.1.1 allows the stored bits anywhere in the allocated
	 * ones; most IODs require High Bit = Bits Stored - 1 but the
	 * general form costs nothing in the decoders (a shift). */
	if (hb + 1 < bs || hb >= ba)
		return pc_err_set(err, PC_PARSE, 0,
				  "(0028,0102) High Bit %llu does not fit Bits "
				  "Stored %llu in Bits Allocated %llu",
				  (unsigned long long)hb,
				  (unsigned long long)bs,
				  (unsigned long long)ba);

	d.rows = (uint32_t)rows;
	d.cols = (uint32_t)cols;
	d.frames = (uint32_t)frames;
	d.samples = (uint16_t)samples;
	d.bits_allocated = (uint16_t)ba;
	d.bits_stored = (uint16_t)bs;
	d.high_bit = (uint16_t)hb;
	/* A signed 1-bit sample would be 0 or -1; bilevel images are
	 * always 0/1 (PS3.3 C.7.6.3.1.1), so the sign is dropped. */
	d.is_signed = rep == 1 && bs > 1;
	d.planar = samples == 3 ? (uint16_t)planar : 0;

	st = dcm_dataset_get_string(ds, TAG_PHOTOMETRIC, 0, &photo);
	if (st == PC_NOTFOUND && dcm_dataset_find(ds, TAG_PHOTOMETRIC) == NULL) {
		pc_buf_cleanup(&photo);
		return pc_err_set(err, PC_PARSE, 0,
				  "(0028,0004) Photometric Interpretation is "
				  "missing");
	}
	if (st != PC_OK && st != PC_NOTFOUND) {
		pc_buf_cleanup(&photo);
		return pc_err_set(err, st, 0,
				  "(0028,0004) Photometric Interpretation "
				  "cannot be read: %s",
				  pc_status_text(st));
	}
	d.photometric = pix_photometric_parse(pc_span_make(photo.p, photo.n));
	if (d.photometric == PIX_PHOTO_UNKNOWN) {
		st = pc_err_set(err, PC_UNSUPPORTED, 0,
				"(0028,0004) Photometric Interpretation "
				"\"%.40s\" is not supported",
				pc_buf_str(&photo));
		pc_buf_cleanup(&photo);
		return st;
	}
	pc_buf_cleanup(&photo);
	if ((d.samples == 1) !=
	    (d.photometric == PIX_MONOCHROME1 ||
	     d.photometric == PIX_MONOCHROME2 ||
	     d.photometric == PIX_PALETTE_COLOR))
		return pc_err_set(err, PC_PARSE, 0,
				  "(0028,0004) Photometric Interpretation %s "
				  "with %u sample(s) per pixel",
				  pix_photometric_name(d.photometric),
				  d.samples);

	if (ts->encapsulated) {
		if (!dcm_elem_is_encapsulated(e))
			return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
					  "(7FE0,0010) at offset %llu: %s "
					  "requires encapsulated Pixel Data, "
					  "found a native value",
					  (unsigned long long)dcm_elem_offset(e),
					  ts->name);
	} else {
		if (dcm_elem_is_encapsulated(e))
			return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
					  "(7FE0,0010) at offset %llu: "
					  "encapsulated Pixel Data in %s",
					  (unsigned long long)dcm_elem_offset(e),
					  ts->name);
		/* PS3.5 8.2: the 4:2:2 forms subsample pairs of pixels;
		 * YBR_PARTIAL_420 is not allowed in native encodings. */
		if (d.photometric == PIX_YBR_PARTIAL_420 ||
		    d.photometric == PIX_YBR_ICT ||
		    d.photometric == PIX_YBR_RCT)
			return pc_err_set(err, PC_UNSUPPORTED, 0,
					  "(0028,0004) %s is only defined for "
					  "compressed transfer syntaxes",
					  pix_photometric_name(d.photometric));
		if ((d.photometric == PIX_YBR_FULL_422 ||
		     d.photometric == PIX_YBR_PARTIAL_422) &&
		    (((uint64_t)d.rows * d.cols) % 2 != 0 || d.bits_allocated < 8))
			return pc_err_set(err, PC_UNSUPPORTED, 0,
					  "(0028,0004) native %s needs an even "
					  "number of pixels of 8 bits or more",
					  pix_photometric_name(d.photometric));
		st = check_native_length(&d, err);
		if (st != PC_OK)
			return st;
	}
	*out = d;
	return PC_OK;
}
