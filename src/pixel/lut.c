/*
 * lut.c - the grey-scale transforms of PS3.3 C.11 (Modality LUT, VOI LUT)
 * and the Palette Color LUTs of C.7.6.3.1.5 / C.7.9, read from a data set
 * into the small structures of lut_int.h; and the public "values in
 * modality units" functions of pix.h.
 *
 * Every table is copied out of the data set into host-order uint16_t (or
 * expanded to 8-bit RGB for palettes) so that the per-pixel code never
 * thinks about byte order, VR (US vs OW) or packed 8-bit entries.
 *
 * Deviations tolerated, each on purpose:
 *  - An ambiguous first mapped value (LUT Descriptor "US or SS" read as US
 *    in implicit VR) over 32767 is read as signed when the LUT's input can
 *    be negative (the way pydicom resolves it from Pixel Representation).
 *  - A Palette Color LUT whose descriptor says 16 bits per entry but whose
 *    entries all fit in 8 bits is read as 8-bit (dcmtk does the same); its
 *    colours would otherwise be near black.
 *  - An invalid window in the data set (width < 1 for LINEAR) or a
 *    malformed VOI LUT Sequence is skipped (the next VOI source applies)
 *    rather than refusing to render the image: VOI only chooses how to
 *    display values. A malformed Modality LUT or rescale, which changes
 *    what the values mean, is an error.
 */
#include "lut_int.h"

#include <math.h>
#include <string.h>

#define TAG_WINDOW_CENTER DCM_TAG(0x0028, 0x1050)
#define TAG_WINDOW_WIDTH DCM_TAG(0x0028, 0x1051)
#define TAG_RESCALE_INTERCEPT DCM_TAG(0x0028, 0x1052)
#define TAG_RESCALE_SLOPE DCM_TAG(0x0028, 0x1053)
#define TAG_VOI_LUT_FUNCTION DCM_TAG(0x0028, 0x1056)
#define TAG_MODALITY_LUT_SEQ DCM_TAG(0x0028, 0x3000)
#define TAG_LUT_DESCRIPTOR DCM_TAG(0x0028, 0x3002)
#define TAG_LUT_DATA DCM_TAG(0x0028, 0x3006)
#define TAG_VOI_LUT_SEQ DCM_TAG(0x0028, 0x3010)
#define TAG_PALETTE_DESC(c) DCM_TAG(0x0028, 0x1101 + (c))
#define TAG_PALETTE_DATA(c) DCM_TAG(0x0028, 0x1201 + (c))
#define TAG_SEGMENTED_DATA(c) DCM_TAG(0x0028, 0x1221 + (c))
#define TAG_FRAME_VOI_LUT_SEQ DCM_TAG(0x0028, 0x9132)
#define TAG_PIXEL_VALUE_TRANSFORM_SEQ DCM_TAG(0x0028, 0x9145)
#define TAG_SHARED_FG_SEQ DCM_TAG(0x5200, 0x9229)
#define TAG_PER_FRAME_FG_SEQ DCM_TAG(0x5200, 0x9230)

#define MAX_LUT_ENTRIES 65536u
/* Bounds on segmented LUT expansion: indirect segments may point at each
 * other, so both the nesting and the total work are limited. */
#define MAX_INDIRECT_DEPTH 8
#define MAX_SEGMENTS 1000000u

static const char *const colour_name[3] = {"Red", "Green", "Blue"};

/* ---- data set helpers -------------------------------------------------- */

/* First item of sequence `tag` in `ds`, or NULL. */
static const dcm_dataset *first_item(const dcm_dataset *ds, uint32_t tag)
{
	const dcm_elem *e = ds != NULL ? dcm_dataset_find(ds, tag) : NULL;

	if (e == NULL || !dcm_elem_is_sequence(e) ||
	    dcm_elem_item_count(e) == 0)
		return NULL;
	return dcm_elem_item(e, 0);
}

/*
 * The functional group macro `seq` that applies to `frame` of an enhanced
 * multi-frame image (PS3.3 C.7.6.16): the Per-frame Functional Groups
 * item of that frame when it has the macro, else the Shared one. NULL for
 * classic images.
 */
static const dcm_dataset *functional_group(const dcm_dataset *ds,
					   uint32_t frame, uint32_t seq)
{
	const dcm_dataset *item = NULL;

	if (frame != UINT32_MAX) {
		const dcm_elem *per = dcm_dataset_find(ds, TAG_PER_FRAME_FG_SEQ);

		if (per != NULL && dcm_elem_is_sequence(per) &&
		    frame < dcm_elem_item_count(per))
			item = first_item(dcm_elem_item(per, frame), seq);
	}
	if (item == NULL)
		item = first_item(first_item(ds, TAG_SHARED_FG_SEQ), seq);
	return item;
}

/*
 * Reads the first value of a DS/FL/... element as a finite double.
 * Returns PC_NOTFOUND when absent or empty, PC_PARSE when unreadable.
 */
static enum pc_status get_number(const dcm_dataset *ds, uint32_t tag,
				 double *out)
{
	const dcm_elem *e = dcm_dataset_find(ds, tag);
	enum pc_status st;

	if (e == NULL || dcm_elem_vm(e) == 0)
		return PC_NOTFOUND;
	st = dcm_elem_get_double(e, 0, out);
	if (st == PC_OK && !isfinite(*out))
		st = PC_PARSE;
	return st;
}

/* Whether the text element `tag` equals `word` (padding ignored). */
static bool string_is(const dcm_dataset *ds, uint32_t tag, const char *word)
{
	struct pc_buf b = PC_BUF_INIT;
	bool same = false;

	if (dcm_dataset_get_string(ds, tag, 0, &b) == PC_OK)
		same = strcmp(pc_buf_str(&b), word) == 0;
	pc_buf_cleanup(&b);
	return same;
}

/*
 * Copies a LUT Data-like element into `n` host-order units: 16-bit words
 * in the element's byte order, or (byte_units) single bytes. Packed 8-bit
 * entries in a big endian OW value sit swapped within each word (PS3.5
 * 7.3), hence the index ^ 1.
 */
static void copy_units(const dcm_elem *e, bool byte_units, uint16_t *out,
		       size_t n)
{
	struct pc_span v = dcm_elem_value(e);
	bool be = dcm_elem_big_endian(e);

	for (size_t i = 0; i < n; i++) {
		if (byte_units) {
			size_t k = be ? i ^ 1u : i;

			out[i] = k < v.n ? v.p[k] : 0;
		} else {
			const uint8_t *w = v.p + 2 * i;

			out[i] = be ? (uint16_t)(w[0] << 8 | w[1])
				    : (uint16_t)(w[1] << 8 | w[0]);
		}
	}
}

/*
 * Reads a LUT Descriptor (PS3.3 C.11.1.1.1): entries (0 = 65536), first
 * mapped value (US or SS), bits per entry.
 */
static enum pc_status read_descriptor(const dcm_dataset *ds, uint32_t tag,
				      bool input_signed, uint32_t *n,
				      int32_t *first, uint16_t *bits,
				      struct pc_err *err)
{
	const dcm_elem *e = dcm_dataset_find(ds, tag);
	int64_t v[3];
	uint16_t raw;

	if (e == NULL)
		return pc_err_set(err, PC_PARSE, 0, "(%04X,%04X) missing",
				  DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag));
	for (size_t i = 0; i < 3; i++)
		if (dcm_elem_get_int(e, i, &v[i]) != PC_OK)
			return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
					  "(%04X,%04X) at offset %llu: LUT "
					  "Descriptor needs 3 numbers",
					  DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag),
					  (unsigned long long)dcm_elem_offset(e));
	*n = (uint16_t)v[0] == 0 ? MAX_LUT_ENTRIES : (uint16_t)v[0];
	raw = (uint16_t)v[1];
	if ((dcm_elem_vr(e) == DCM_VR_SS || input_signed) && raw >= 0x8000u)
		*first = (int32_t)raw - 65536;
	else
		*first = raw;
	if (v[2] < 1 || v[2] > 16)
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
				  "(%04X,%04X) at offset %llu: %lld bits per "
				  "LUT entry (1..16 allowed)",
				  DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag),
				  (unsigned long long)dcm_elem_offset(e),
				  (long long)v[2]);
	*bits = (uint16_t)v[2];
	return PC_OK;
}

/* A LUT Descriptor + LUT Data pair of a Modality or VOI LUT item. */
static enum pc_status read_lut(const dcm_dataset *item, bool input_signed,
			       struct pix__lut *l, struct pc_err *err)
{
	const dcm_elem *data;
	struct pc_span v;
	bool bytes;
	enum pc_status st;

	memset(l, 0, sizeof(*l));
	st = read_descriptor(item, TAG_LUT_DESCRIPTOR, input_signed, &l->n,
			     &l->first, &l->bits, err);
	if (st != PC_OK)
		return st;
	data = dcm_dataset_find(item, TAG_LUT_DATA);
	if (data == NULL)
		return pc_err_set(err, PC_PARSE, 0, "(0028,3006) LUT Data "
						    "missing");
	v = dcm_elem_value(data);
	/* Entries are 16-bit words; 8-bit tables are sometimes packed two
	 * per word, which only the length tells. */
	if (v.n >= (size_t)l->n * 2)
		bytes = false;
	else if (v.n >= l->n && l->bits <= 8)
		bytes = true;
	else
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(data),
				  "(0028,3006) at offset %llu: LUT Data has "
				  "%zu bytes, the LUT Descriptor declares %u "
				  "entries",
				  (unsigned long long)dcm_elem_offset(data),
				  v.n, l->n);
	l->data = pc_malloc(sizeof(uint16_t) * l->n);
	if (l->data == NULL)
		return pc_err_set(err, PC_NOMEM, 0, "out of memory for a LUT");
	copy_units(data, bytes, l->data, l->n);
	return PC_OK;
}

/* ---- Modality LUT (PS3.3 C.11.1) --------------------------------------- */

enum pc_status pix__modality_init(struct pix__modality *m,
				  const dcm_dataset *ds, uint32_t frame,
				  bool is_signed, struct pc_err *err)
{
	const dcm_dataset *src, *item;
	enum pc_status st;

	memset(m, 0, sizeof(*m));
	m->slope = 1;
	m->intercept = 0;
	item = first_item(ds, TAG_MODALITY_LUT_SEQ);
	if (item != NULL) {
		st = read_lut(item, is_signed, &m->lut, err);
		if (st != PC_OK)
			return st;
		m->has_lut = true;
		return PC_OK;
	}
	/* Enhanced images carry the rescale in the Pixel Value
	 * Transformation macro (PS3.3 C.7.6.16.2.9). */
	src = functional_group(ds, frame, TAG_PIXEL_VALUE_TRANSFORM_SEQ);
	if (src == NULL || dcm_dataset_find(src, TAG_RESCALE_SLOPE) == NULL)
		src = ds;
	st = get_number(src, TAG_RESCALE_SLOPE, &m->slope);
	if (st == PC_NOTFOUND)
		m->slope = 1;
	else if (st != PC_OK)
		return pc_err_set(err, PC_PARSE, 0,
				  "(0028,1053) Rescale Slope is not a number");
	st = get_number(src, TAG_RESCALE_INTERCEPT, &m->intercept);
	if (st == PC_NOTFOUND)
		m->intercept = 0;
	else if (st != PC_OK)
		return pc_err_set(err, PC_PARSE, 0,
				  "(0028,1052) Rescale Intercept is not a "
				  "number");
	return PC_OK;
}

void pix__modality_cleanup(struct pix__modality *m)
{
	pc_free(m->lut.data);
	m->lut.data = NULL;
}

void pix__modality_range(const struct pix__modality *m, int64_t lo,
			 int64_t hi, double *out_lo, double *out_hi)
{
	if (m->has_lut) {
		/* The table's values over the part of it lo..hi can reach. */
		int64_t a = lo - m->lut.first;
		int64_t b = hi - m->lut.first;
		uint16_t mn = UINT16_MAX, mx = 0;

		a = a < 0 ? 0 : a >= m->lut.n ? m->lut.n - 1 : a;
		b = b < 0 ? 0 : b >= m->lut.n ? m->lut.n - 1 : b;
		for (int64_t i = a; i <= b; i++) {
			uint16_t y = m->lut.data[i];

			mn = y < mn ? y : mn;
			mx = y > mx ? y : mx;
		}
		*out_lo = mn;
		*out_hi = mx;
		return;
	}
	double y0 = pix__modality_apply(m, (double)lo);
	double y1 = pix__modality_apply(m, (double)hi);

	*out_lo = y0 < y1 ? y0 : y1;
	*out_hi = y0 < y1 ? y1 : y0;
}

/* ---- VOI LUT (PS3.3 C.11.2) -------------------------------------------- */

double pix__voi_apply(const struct pix__voi *v, double x)
{
	double c = v->center, w = v->width;

	switch (v->kind) {
	case PIX__VOI_WINDOW:
		switch (v->func) {
		case PIX__VOI_LINEAR:
			/* PS3.3 C.11.2.1.2.1: the window is shifted by half
			 * a value and narrowed by one so that width w maps
			 * exactly w input values onto the output range. */
			c -= 0.5;
			w -= 1;
			if (x <= c - w / 2)
				return 0;
			if (x > c + w / 2)
				return 1;
			return (x - c) / w + 0.5;
		case PIX__VOI_LINEAR_EXACT: /* C.11.2.1.3.2 */
			if (x <= c - w / 2)
				return 0;
			if (x > c + w / 2)
				return 1;
			return (x - c) / w + 0.5;
		case PIX__VOI_SIGMOID: /* C.11.2.1.3.1 */
			return 1 / (1 + exp(-4 * (x - c) / w));
		}
		return 0;
	case PIX__VOI_LUT: {
		double max = (double)((1u << v->lut.bits) - 1);
		double y = pix__lut_at(&v->lut, x);

		return y >= max ? 1 : y / max;
	}
	case PIX__VOI_MINMAX:
		if (!(v->hi > v->lo))
			return 0;
		if (x <= v->lo)
			return 0;
		if (x >= v->hi)
			return 1;
		return (x - v->lo) / (v->hi - v->lo);
	case PIX__VOI_NONE:
		break;
	}
	return 0;
}

static enum pix__voi_func read_function(const dcm_dataset *src)
{
	if (string_is(src, TAG_VOI_LUT_FUNCTION, "LINEAR_EXACT"))
		return PIX__VOI_LINEAR_EXACT;
	if (string_is(src, TAG_VOI_LUT_FUNCTION, "SIGMOID"))
		return PIX__VOI_SIGMOID;
	return PIX__VOI_LINEAR; /* the default (C.11.2.1.3), and unknowns */
}

static bool width_ok(enum pix__voi_func f, double w)
{
	/* C.11.2.1.2.1: width >= 1 for LINEAR; > 0 for the others. */
	return f == PIX__VOI_LINEAR ? w >= 1 : w > 0;
}

enum pc_status pix__voi_init(struct pix__voi *v, const dcm_dataset *ds,
			     uint32_t frame, const struct pix_render_opts *o,
			     double in_lo, double in_hi, struct pc_err *err)
{
	const dcm_dataset *src, *item;
	double c, w;

	(void)in_hi;
	memset(v, 0, sizeof(*v));
	v->kind = PIX__VOI_NONE;
	src = functional_group(ds, frame, TAG_FRAME_VOI_LUT_SEQ);
	if (src == NULL || dcm_dataset_find(src, TAG_WINDOW_CENTER) == NULL)
		src = ds;
	v->func = read_function(src);
	if (o != NULL && o->window) {
		if (!isfinite(o->center) || !isfinite(o->width) ||
		    !width_ok(PIX__VOI_LINEAR, o->width))
			return pc_err_set(err, PC_INVAL, 0,
					  "window width %g is invalid (>= 1 "
					  "needed)",
					  o->width);
		v->kind = PIX__VOI_WINDOW;
		v->func = PIX__VOI_LINEAR;
		v->center = o->center;
		v->width = o->width;
		return PC_OK;
	}
	if (get_number(src, TAG_WINDOW_CENTER, &c) == PC_OK &&
	    get_number(src, TAG_WINDOW_WIDTH, &w) == PC_OK &&
	    width_ok(v->func, w)) {
		v->kind = PIX__VOI_WINDOW;
		v->center = c;
		v->width = w;
		return PC_OK;
	}
	item = first_item(ds, TAG_VOI_LUT_SEQ);
	if (item != NULL) {
		/* A malformed VOI LUT is skipped like a bad window (see the
		 * top of the file); only running out of memory is an error. */
		enum pc_status st = read_lut(item, in_lo < 0, &v->lut, NULL);

		if (st == PC_NOMEM)
			return pc_err_set(err, PC_NOMEM, 0,
					  "out of memory for a VOI LUT");
		if (st == PC_OK)
			v->kind = PIX__VOI_LUT;
	}
	return PC_OK;
}

void pix__voi_cleanup(struct pix__voi *v)
{
	pc_free(v->lut.data);
	v->lut.data = NULL;
}

/* ---- Palette Color LUTs (PS3.3 C.7.6.3.1.5, C.7.9) ----------------------- */

/* Reads the low-word-first 32-bit offset of an indirect segment. */
static uint32_t indirect_offset(const uint16_t *u, size_t at, bool byte_units)
{
	if (byte_units)
		return (uint32_t)u[at] | (uint32_t)u[at + 1] << 8 |
		       (uint32_t)u[at + 2] << 16 | (uint32_t)u[at + 3] << 24;
	return (uint32_t)u[at] | (uint32_t)u[at + 1] << 16;
}

struct seg_state {
	const uint16_t *u;
	size_t n_units;
	bool byte_units;
	uint16_t *out;
	size_t max, count;
	size_t segments;   /* visited so far, against MAX_SEGMENTS */
	bool have_last;    /* a value precedes (for linear segments) */
	uint16_t last;
};

/*
 * Expands segments starting at unit `pos`, at most `limit` of them
 * (SIZE_MAX: until the data ends). PS3.3 C.7.9.2.
 */
static enum pc_status expand_segments(struct seg_state *s, size_t pos,
				      size_t limit, int depth,
				      struct pc_err *err)
{
	size_t done = 0;
	size_t words_per_offset = s->byte_units ? 4 : 2;

	/* pos + 1 < n: a trailing pad unit is not a segment. */
	while (done < limit && pos + 1 < s->n_units) {
		uint16_t op = s->u[pos], len = s->u[pos + 1];

		if (++s->segments > MAX_SEGMENTS)
			return pc_err_set(err, PC_LIMIT, 0,
					  "segmented LUT: more than %u "
					  "segments",
					  MAX_SEGMENTS);
		pos += 2;
		if (op == 0) {
			/* C.7.9.2.1 discrete: `len` values follow. */
			if (len > s->n_units - pos)
				return pc_err_set(err, PC_PARSE, 0,
						  "segmented LUT: discrete "
						  "segment of %u runs past the "
						  "data",
						  len);
			for (size_t i = 0; i < len; i++)
				if (s->count < s->max)
					s->out[s->count++] = s->u[pos + i];
			if (len > 0) {
				s->last = s->u[pos + len - 1];
				s->have_last = true;
			}
			pos += len;
		} else if (op == 1) {
			/* C.7.9.2.2 linear: from the previous value to y1
			 * in `len` steps, the previous value excluded. */
			double y0, y1;

			if (pos >= s->n_units)
				return pc_err_set(err, PC_PARSE, 0,
						  "segmented LUT: linear segment "
						  "runs past the data");
			if (!s->have_last)
				return pc_err_set(err, PC_PARSE, 0,
						  "segmented LUT: linear segment "
						  "with no previous value");
			y0 = s->last;
			y1 = s->u[pos++];
			for (size_t i = 1; i <= len; i++) {
				/* Rounded half to even like numpy.around,
				 * which pydicom uses. */
				double y = y0 == y1 ? y1
						    : nearbyint(y0 + (y1 - y0) *
									(double)i /
									len);

				if (s->count < s->max)
					s->out[s->count++] = (uint16_t)y;
			}
			if (len > 0)
				s->last = (uint16_t)y1;
		} else if (op == 2) {
			/* C.7.9.2.3 indirect: replay `len` segments found
			 * at an offset (counted in units, as pydicom and
			 * the published palettes read it). */
			uint32_t off;
			enum pc_status st;

			if (words_per_offset > s->n_units - pos)
				return pc_err_set(err, PC_PARSE, 0,
						  "segmented LUT: indirect "
						  "segment runs past the data");
			if (!s->have_last)
				return pc_err_set(err, PC_PARSE, 0,
						  "segmented LUT: indirect "
						  "segment with no previous "
						  "value");
			if (depth >= MAX_INDIRECT_DEPTH)
				return pc_err_set(err, PC_LIMIT, 0,
						  "segmented LUT: indirect "
						  "segments nested deeper than "
						  "%d",
						  MAX_INDIRECT_DEPTH);
			off = indirect_offset(s->u, pos, s->byte_units);
			pos += words_per_offset;
			if (off >= s->n_units)
				return pc_err_set(err, PC_PARSE, 0,
						  "segmented LUT: indirect "
						  "offset %u past the data",
						  off);
			st = expand_segments(s, off, len, depth + 1, err);
			if (st != PC_OK)
				return st;
		} else {
			return pc_err_set(err, PC_PARSE, 0,
					  "segmented LUT: unknown segment type "
					  "%u",
					  op);
		}
		done++;
	}
	return PC_OK;
}

enum pc_status pix__segmented_expand(const uint16_t *units, size_t n_units,
				     bool byte_units, uint16_t *out,
				     size_t max, size_t *count,
				     struct pc_err *err)
{
	struct seg_state s = {0};
	enum pc_status st;

	s.u = units;
	s.n_units = n_units;
	s.byte_units = byte_units;
	s.out = out;
	s.max = max;
	st = expand_segments(&s, 0, SIZE_MAX, 0, err);
	*count = s.count;
	return st;
}

/* One colour's table as 16-bit values: plain or segmented data. */
static enum pc_status read_palette_channel(const dcm_dataset *ds, int c,
					   uint32_t n, uint16_t bits,
					   uint16_t *vals, struct pc_err *err)
{
	const dcm_elem *e = dcm_dataset_find(ds, TAG_PALETTE_DATA(c));
	uint16_t *units = NULL;
	size_t n_units, count = 0;
	bool byte_units;
	struct pc_span v;
	enum pc_status st;

	if (e != NULL && dcm_elem_value(e).n > 0) {
		v = dcm_elem_value(e);
		/* C.7.6.3.1.6: 16-bit words, or 8-bit entries packed two per
		 * word; the length says which (as pydicom decides it). */
		if (v.n >= (size_t)n * 2)
			byte_units = false;
		else if (v.n >= n)
			byte_units = true;
		else
			return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
					  "(0028,%04X) at offset %llu: %s "
					  "Palette Color LUT Data has %zu "
					  "bytes for %u entries",
					  0x1201 + c,
					  (unsigned long long)dcm_elem_offset(e),
					  colour_name[c], v.n, n);
		copy_units(e, byte_units, vals, n);
		return PC_OK;
	}
	e = dcm_dataset_find(ds, TAG_SEGMENTED_DATA(c));
	if (e == NULL || dcm_elem_value(e).n == 0)
		return pc_err_set(err, PC_PARSE, 0,
				  "PALETTE COLOR image without (0028,%04X) %s "
				  "Palette Color LUT Data or (0028,%04X) its "
				  "segmented form",
				  0x1201 + c, colour_name[c], 0x1221 + c);
	v = dcm_elem_value(e);
	/* Segments are in units of the entry size (C.7.9.2). */
	byte_units = bits <= 8;
	n_units = byte_units ? v.n : v.n / 2;
	units = pc_malloc(sizeof(uint16_t) * (n_units ? n_units : 1));
	if (units == NULL)
		return pc_err_set(err, PC_NOMEM, 0,
				  "out of memory for a palette");
	copy_units(e, byte_units, units, n_units);
	st = pix__segmented_expand(units, n_units, byte_units, vals, n, &count,
				   err);
	pc_free(units);
	if (st != PC_OK)
		return st;
	if (count == 0)
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
				  "(0028,%04X): segmented %s palette is empty",
				  0x1221 + c, colour_name[c]);
	/* A table shorter than its descriptor repeats its last entry. */
	for (size_t i = count; i < n; i++)
		vals[i] = vals[count - 1];
	return PC_OK;
}

enum pc_status pix__palette_init(struct pix__palette *p, const dcm_dataset *ds,
				 bool is_signed, struct pc_err *err)
{
	uint16_t *vals[3] = {NULL, NULL, NULL};
	uint16_t bits[3];
	uint16_t max = 0;
	enum pc_status st = PC_OK;

	memset(p, 0, sizeof(*p));
	for (int c = 0; c < 3 && st == PC_OK; c++) {
		if (dcm_dataset_find(ds, TAG_PALETTE_DESC(c)) == NULL) {
			st = pc_err_set(err, PC_PARSE, 0,
					"PALETTE COLOR image without (0028,%04X) "
					"%s Palette Color LUT Descriptor",
					0x1101 + c, colour_name[c]);
			break;
		}
		st = read_descriptor(ds, TAG_PALETTE_DESC(c), is_signed,
				     &p->n[c], &p->first[c], &bits[c], err);
		if (st != PC_OK)
			break;
		vals[c] = pc_malloc(sizeof(uint16_t) * p->n[c]);
		p->rgb[c] = pc_malloc(p->n[c]);
		if (vals[c] == NULL || p->rgb[c] == NULL) {
			st = pc_err_set(err, PC_NOMEM, 0,
					"out of memory for a palette");
			break;
		}
		st = read_palette_channel(ds, c, p->n[c], bits[c], vals[c], err);
	}
	if (st != PC_OK)
		goto cleanup;
	for (int c = 0; c < 3; c++)
		for (uint32_t i = 0; i < p->n[c]; i++)
			max = vals[c][i] > max ? vals[c][i] : max;
	for (int c = 0; c < 3; c++) {
		/* 16-bit entries are shown by their high byte; see the
		 * deviation at the top for 16-bit tables holding 8-bit
		 * values. */
		unsigned shift = bits[c] > 8 && max > 255 ? 8 : 0;

		for (uint32_t i = 0; i < p->n[c]; i++) {
			unsigned y = vals[c][i] >> shift;

			p->rgb[c][i] = (uint8_t)(y > 255 ? 255 : y);
		}
	}
cleanup:
	for (int c = 0; c < 3; c++)
		pc_free(vals[c]);
	if (st != PC_OK)
		pix__palette_cleanup(p);
	return st;
}

void pix__palette_cleanup(struct pix__palette *p)
{
	for (int c = 0; c < 3; c++) {
		pc_free(p->rgb[c]);
		p->rgb[c] = NULL;
	}
}

/* ---- values in modality units (pix.h) ------------------------------------ */

static bool is_colour(const struct pix_frame *f)
{
	return f->samples != 1 || f->photometric == PIX_PALETTE_COLOR;
}

static enum pc_status check_frame(const struct pix_frame *f, size_t *count,
				  struct pc_err *err)
{
	if (f == NULL || f->data == NULL || f->rows == 0 || f->cols == 0 ||
	    (f->samples != 1 && f->samples != 3))
		return pc_err_set(err, PC_INVAL, 0, "no decoded frame");
	*count = (size_t)f->rows * f->cols * f->samples;
	return PC_OK;
}

enum pc_status pix_frame_modality_f32(const struct pix_frame *f,
				      const dcm_dataset *ds, float *out,
				      struct pc_err *err)
{
	struct pix__modality m;
	size_t count = 0;
	enum pc_status st;

	st = check_frame(f, &count, err);
	if (st != PC_OK)
		return st;
	if (is_colour(f)) {
		for (size_t i = 0; i < count; i++)
			out[i] = (float)pix__sample(f, f->data[i]);
		return PC_OK;
	}
	st = pix__modality_init(&m, ds, UINT32_MAX, f->is_signed, err);
	if (st != PC_OK)
		return st;
	for (size_t i = 0; i < count; i++)
		out[i] = (float)pix__modality_apply(
			&m, (double)pix__sample(f, f->data[i]));
	pix__modality_cleanup(&m);
	return PC_OK;
}

enum pc_status pix_frame_modality_i32(const struct pix_frame *f,
				      const dcm_dataset *ds, int32_t *out,
				      struct pc_err *err)
{
	struct pix__modality m;
	size_t count = 0;
	enum pc_status st;

	st = check_frame(f, &count, err);
	if (st != PC_OK)
		return st;
	if (is_colour(f)) {
		for (size_t i = 0; i < count; i++) {
			if (pix__frame_u32(f) && f->data[i] < 0)
				return pc_err_set(err, PC_LIMIT, 0,
						  "sample %u of pixel %zu does "
						  "not fit in 31 bits",
						  (uint32_t)f->data[i], i);
			out[i] = f->data[i];
		}
		return PC_OK;
	}
	st = pix__modality_init(&m, ds, UINT32_MAX, f->is_signed, err);
	if (st != PC_OK)
		return st;
	for (size_t i = 0; i < count; i++) {
		double y = round(pix__modality_apply(
			&m, (double)pix__sample(f, f->data[i])));

		if (!(y >= INT32_MIN && y <= INT32_MAX)) {
			st = pc_err_set(err, PC_LIMIT, 0,
					"modality value %g of pixel %zu does "
					"not fit in 32 bits",
					y, i);
			break;
		}
		out[i] = (int32_t)y;
	}
	pix__modality_cleanup(&m);
	return st;
}
