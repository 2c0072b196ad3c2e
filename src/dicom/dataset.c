/*
 * dataset.c - the in-memory data set and typed value access.
 *
 * Elements are kept in a pointer array sorted by tag. Files are written in
 * ascending tag order (PS3.5 7.1), so the reader's insertions are appends;
 * a binary search finds the place otherwise. Values stay in the byte order
 * they were read in; numeric getters swap on the fly.
 */
#include "dicom_int.h"
#include "charset_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct dcm_charset default_charset = {0, {0}};

const char *dcm__tag_str(uint32_t tag, char *buf, size_t size)
{
	snprintf(buf, size, "(%04X,%04X)", DCM_TAG_GROUP(tag),
		 DCM_TAG_ELEM(tag));
	return buf;
}

dcm_dataset *dcm__dataset_new(pc_arena *arena, const dcm_dataset *parent)
{
	dcm_dataset *ds = pc_arena_alloc(arena, sizeof(*ds));

	if (ds == NULL)
		return NULL;
	memset(ds, 0, sizeof(*ds));
	ds->arena = arena;
	ds->parent = parent;
	return ds;
}

dcm_dataset *dcm_dataset_create(void)
{
	pc_arena *arena = pc_arena_create(16384);
	dcm_dataset *ds;

	if (arena == NULL)
		return NULL;
	ds = dcm__dataset_new(arena, NULL);
	if (ds == NULL) {
		pc_arena_destroy(arena);
		return NULL;
	}
	ds->owns_arena = true;
	return ds;
}

void dcm_dataset_destroy(dcm_dataset *ds)
{
	if (ds == NULL || !ds->owns_arena)
		return;
	pc_arena_destroy(ds->arena);
}

size_t dcm_dataset_count(const dcm_dataset *ds)
{
	return ds->n;
}

const dcm_elem *dcm_dataset_at(const dcm_dataset *ds, size_t i)
{
	return i < ds->n ? ds->elems[i] : NULL;
}

/* Index of the first element with tag >= `tag`. */
static uint32_t lower_bound(const dcm_dataset *ds, uint32_t tag)
{
	uint32_t lo = 0, hi = ds->n;

	/* Appends are the common case: check the end first. */
	if (hi > 0 && ds->elems[hi - 1]->tag < tag)
		return hi;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ds->elems[mid]->tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

dcm_elem *dcm_dataset_find_mut(dcm_dataset *ds, uint32_t tag)
{
	uint32_t i = lower_bound(ds, tag);

	return i < ds->n && ds->elems[i]->tag == tag ? ds->elems[i] : NULL;
}

const dcm_elem *dcm_dataset_find(const dcm_dataset *ds, uint32_t tag)
{
	return dcm_dataset_find_mut((dcm_dataset *)ds, tag);
}

const struct dcm_charset *dcm_dataset_charset(const dcm_dataset *ds)
{
	/* PS3.5 6.1.2.5.3: an item without its own Specific Character Set
	 * inherits the one of the data set that contains it. */
	while (ds != NULL && !ds->has_charset)
		ds = ds->parent;
	return ds != NULL ? &ds->cs : &default_charset;
}

const dcm_dataset *dcm_dataset_parent(const dcm_dataset *ds)
{
	return ds->parent;
}

void dcm__dataset_update_charset(dcm_dataset *ds)
{
	const dcm_elem *e = dcm_dataset_find(ds, DCM_TAG_SPECIFIC_CHARSET);

	ds->has_charset = false;
	if (e == NULL || (e->flags & (ELEM_SEQUENCE | ELEM_ENCAPS)))
		return;
	/* An unknown term falls back to the default repertoire: text is
	 * still readable where it is ASCII, which beats refusing the file. */
	if (dcm_charset_parse(e->u.value, &ds->cs, NULL) != PC_OK)
		ds->cs = default_charset;
	ds->has_charset = true;
}

static void trim_span(struct pc_span *s, bool leading)
{
	while (s->n > 0 && (s->p[s->n - 1] == ' ' || s->p[s->n - 1] == '\0'))
		s->n--;
	if (leading)
		while (s->n > 0 && s->p[0] == ' ') {
			s->p++;
			s->n--;
		}
}

bool dcm_dataset_private_creator(const dcm_dataset *ds, uint32_t tag,
				 char *out, size_t size)
{
	uint16_t group = DCM_TAG_GROUP(tag), elem = DCM_TAG_ELEM(tag);
	const dcm_elem *c;
	struct pc_span v;
	size_t n;

	/* PS3.5 7.8.1: (gggg,xxee) is reserved by creator (gggg,00xx). */
	if ((group & 1) == 0 || elem < 0x1000 || size == 0)
		return false;
	c = dcm_dataset_find(ds, DCM_TAG(group, elem >> 8));
	if (c == NULL || (c->flags & (ELEM_SEQUENCE | ELEM_ENCAPS)))
		return false;
	v = c->u.value;
	trim_span(&v, true);
	n = v.n < size - 1 ? v.n : size - 1;
	memcpy(out, v.p, n);
	out[n] = '\0';
	return true;
}

/* ---- elements ------------------------------------------------------------ */

uint32_t dcm_elem_tag(const dcm_elem *e) { return e->tag; }
enum dcm_vr dcm_elem_vr(const dcm_elem *e) { return (enum dcm_vr)e->vr; }
enum dcm_vr dcm_elem_vr_encoded(const dcm_elem *e)
{
	return (enum dcm_vr)(e->vr_enc != 0 ? e->vr_enc : e->vr);
}
uint32_t dcm_elem_length(const dcm_elem *e) { return e->length; }
uint64_t dcm_elem_offset(const dcm_elem *e) { return e->offset; }
bool dcm_elem_big_endian(const dcm_elem *e)
{
	return (e->flags & ELEM_BIG_ENDIAN) != 0;
}

struct pc_span dcm_elem_value(const dcm_elem *e)
{
	struct pc_span none = {NULL, 0};

	if (e->flags & (ELEM_SEQUENCE | ELEM_ENCAPS))
		return none;
	return e->u.value;
}

/* Character set deciding where values split: 0x5C may be half of a
 * two-byte character in some sets (see charset_int.h). */
static const struct dcm_charset *split_charset(const dcm_elem *e)
{
	const struct dcm_vr_info *vi = dcm_vr_info((enum dcm_vr)e->vr);

	if (vi == NULL || !vi->charset || e->owner == NULL)
		return NULL;
	return dcm_dataset_charset(e->owner);
}

static size_t count_values(const dcm_elem *e)
{
	if (e->u.value.n == 0)
		return 0;
	return dcm__charset_split(split_charset(e), e->u.value, SIZE_MAX, NULL);
}

size_t dcm_elem_vm(const dcm_elem *e)
{
	const struct dcm_vr_info *vi;

	if (e->flags & ELEM_SEQUENCE)
		return e->u.seq.n;
	if (e->flags & ELEM_ENCAPS)
		return 1;
	vi = dcm_vr_info((enum dcm_vr)e->vr);
	if (vi == NULL)
		return e->u.value.n > 0;
	switch (vi->cls) {
	case DCM_VRC_NUMBER:
		return e->u.value.n / vi->size;
	case DCM_VRC_STRING: {
		/* A value of only padding is empty (VM 0). */
		struct pc_span v = e->u.value;

		size_t n = count_values(e);

		trim_span(&v, true);
		return v.n == 0 && n <= 1 ? 0 : n;
	}
	default:
		return e->u.value.n > 0;
	}
}

bool dcm_elem_is_sequence(const dcm_elem *e)
{
	return (e->flags & ELEM_SEQUENCE) != 0;
}

size_t dcm_elem_item_count(const dcm_elem *e)
{
	return (e->flags & ELEM_SEQUENCE) ? e->u.seq.n : 0;
}

const dcm_dataset *dcm_elem_item(const dcm_elem *e, size_t i)
{
	if (!(e->flags & ELEM_SEQUENCE) || i >= e->u.seq.n)
		return NULL;
	return e->u.seq.items[i];
}

dcm_dataset *dcm_elem_item_mut(dcm_elem *e, size_t i)
{
	return (dcm_dataset *)dcm_elem_item(e, i);
}

bool dcm_elem_undefined_length(const dcm_elem *e)
{
	return (e->flags & ELEM_UNDEF_LEN) != 0;
}

bool dcm_elem_item_undefined_length(const dcm_elem *e, size_t i)
{
	const dcm_dataset *item = dcm_elem_item(e, i);

	return item != NULL && item->item_undef_len;
}

bool dcm_elem_is_encapsulated(const dcm_elem *e)
{
	return (e->flags & ELEM_ENCAPS) != 0;
}

struct pc_span dcm_elem_offset_table(const dcm_elem *e)
{
	struct pc_span none = {NULL, 0};

	return (e->flags & ELEM_ENCAPS) ? e->u.enc.bot : none;
}

size_t dcm_elem_fragment_count(const dcm_elem *e)
{
	return (e->flags & ELEM_ENCAPS) ? e->u.enc.n : 0;
}

struct pc_span dcm_elem_fragment(const dcm_elem *e, size_t i)
{
	struct pc_span none = {NULL, 0};

	if (!(e->flags & ELEM_ENCAPS) || i >= e->u.enc.n)
		return none;
	return e->u.enc.frags[i].data;
}

uint64_t dcm_elem_fragment_offset(const dcm_elem *e, size_t i)
{
	if (!(e->flags & ELEM_ENCAPS) || i >= e->u.enc.n)
		return 0;
	return e->u.enc.frags[i].offset;
}

/* ---- typed values --------------------------------------------------------- */

static uint64_t load(const uint8_t *p, unsigned size, bool big_endian)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++) {
		unsigned shift = big_endian ? 8 * (size - 1 - i) : 8 * i;

		v |= (uint64_t)p[i] << shift;
	}
	return v;
}

/* Value idx of a backslash-separated string, untrimmed. */
static bool string_value(const dcm_elem *e, size_t idx, struct pc_span *out)
{
	return idx < dcm__charset_split(split_charset(e), e->u.value, idx, out);
}

/* Copies a text number into a NUL-terminated buffer, trimmed. */
static enum pc_status text_number(const dcm_elem *e, size_t idx, char *buf,
				  size_t size)
{
	struct pc_span v;

	if (idx >= dcm_elem_vm(e) || !string_value(e, idx, &v))
		return PC_NOTFOUND;
	trim_span(&v, true);
	if (v.n == 0 || v.n >= size)
		return PC_PARSE;
	memcpy(buf, v.p, v.n);
	buf[v.n] = '\0';
	return PC_OK;
}

/* Reads a binary number as the widest type, reporting its kind. */
enum num_kind { NUM_UNSIGNED, NUM_SIGNED, NUM_FLOAT };

static enum pc_status binary_number(const dcm_elem *e, size_t idx,
				    enum num_kind *kind, uint64_t *u,
				    int64_t *s, double *d)
{
	const struct dcm_vr_info *vi = dcm_vr_info((enum dcm_vr)e->vr);
	bool be = (e->flags & ELEM_BIG_ENDIAN) != 0;
	size_t off;
	uint64_t raw;

	if (vi == NULL || vi->cls != DCM_VRC_NUMBER)
		return PC_INVAL;
	if (!pc_mul_ok(idx, vi->size, &off) || off + vi->size > e->u.value.n)
		return PC_NOTFOUND;
	if (e->vr == DCM_VR_AT) {
		/* Two 16-bit words, group then element (PS3.5 6.2). */
		raw = load(e->u.value.p + off, 2, be) << 16 |
		      load(e->u.value.p + off + 2, 2, be);
	} else {
		raw = load(e->u.value.p + off, vi->size, be);
	}
	switch (e->vr) {
	case DCM_VR_SS:
		*kind = NUM_SIGNED;
		*s = (int16_t)raw;
		break;
	case DCM_VR_SL:
		*kind = NUM_SIGNED;
		*s = (int32_t)raw;
		break;
	case DCM_VR_SV:
		*kind = NUM_SIGNED;
		memcpy(s, &raw, sizeof(*s));
		break;
	case DCM_VR_FL: {
		uint32_t r32 = (uint32_t)raw;
		float f;

		memcpy(&f, &r32, sizeof(f));
		*kind = NUM_FLOAT;
		*d = f;
		break;
	}
	case DCM_VR_FD:
		*kind = NUM_FLOAT;
		memcpy(d, &raw, sizeof(*d));
		break;
	default:
		*kind = NUM_UNSIGNED;
		*u = raw;
		break;
	}
	return PC_OK;
}

enum pc_status dcm_elem_get_int(const dcm_elem *e, size_t idx, int64_t *out)
{
	enum num_kind kind;
	uint64_t u = 0;
	int64_t s = 0;
	double d = 0;
	enum pc_status st;

	if (e->vr == DCM_VR_IS || e->vr == DCM_VR_DS) {
		char buf[64], *end;

		st = text_number(e, idx, buf, sizeof(buf));
		if (st != PC_OK)
			return st;
		errno = 0;
		s = strtoll(buf, &end, 10);
		if (*end != '\0') {
			/* DS, or IS written with a decimal point. */
			d = strtod(buf, &end);
			if (*end != '\0' || d != floor(d))
				return PC_PARSE;
			if (d < -9.2e18 || d > 9.2e18)
				return PC_LIMIT;
			s = (int64_t)d;
		} else if (errno == ERANGE) {
			return PC_LIMIT;
		}
		*out = s;
		return PC_OK;
	}
	st = binary_number(e, idx, &kind, &u, &s, &d);
	if (st != PC_OK)
		return st;
	if (kind == NUM_FLOAT) {
		if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
			return PC_LIMIT;
		s = (int64_t)d;
	} else if (kind == NUM_UNSIGNED) {
		if (u > INT64_MAX)
			return PC_LIMIT;
		s = (int64_t)u;
	}
	*out = s;
	return PC_OK;
}

enum pc_status dcm_elem_get_uint(const dcm_elem *e, size_t idx,
				 uint64_t *out)
{
	enum num_kind kind;
	uint64_t u = 0;
	int64_t s = 0;
	double d = 0;
	enum pc_status st;

	if (e->vr == DCM_VR_UV || e->vr == DCM_VR_UL || e->vr == DCM_VR_US ||
	    e->vr == DCM_VR_AT) {
		st = binary_number(e, idx, &kind, &u, &s, &d);
		if (st == PC_OK)
			*out = u;
		return st;
	}
	st = dcm_elem_get_int(e, idx, &s);
	if (st != PC_OK)
		return st;
	if (s < 0)
		return PC_LIMIT;
	*out = (uint64_t)s;
	return PC_OK;
}

enum pc_status dcm_elem_get_double(const dcm_elem *e, size_t idx,
				   double *out)
{
	enum num_kind kind;
	uint64_t u = 0;
	int64_t s = 0;
	double d = 0;
	enum pc_status st;

	if (e->vr == DCM_VR_IS || e->vr == DCM_VR_DS) {
		char buf[64], *end;

		st = text_number(e, idx, buf, sizeof(buf));
		if (st != PC_OK)
			return st;
		d = strtod(buf, &end);
		if (*end != '\0')
			return PC_PARSE;
		*out = d;
		return PC_OK;
	}
	st = binary_number(e, idx, &kind, &u, &s, &d);
	if (st != PC_OK)
		return st;
	*out = kind == NUM_FLOAT ? d : kind == NUM_SIGNED ? (double)s : (double)u;
	return PC_OK;
}

/* PS3.5 6.2: leading spaces are insignificant for these VRs as well. */
static bool trims_leading(enum dcm_vr vr)
{
	switch (vr) {
	case DCM_VR_AE:
	case DCM_VR_CS:
	case DCM_VR_DS:
	case DCM_VR_IS:
	case DCM_VR_LO:
	case DCM_VR_SH:
		return true;
	default:
		return false;
	}
}

enum pc_status dcm_elem_get_string(const dcm_dataset *ds, const dcm_elem *e,
				   size_t idx, struct pc_buf *out)
{
	const struct dcm_vr_info *vi = dcm_vr_info((enum dcm_vr)e->vr);
	struct pc_span v = e->u.value;
	enum pc_status st;

	if (vi == NULL || (e->flags & (ELEM_SEQUENCE | ELEM_ENCAPS)) ||
	    (vi->cls != DCM_VRC_STRING && vi->cls != DCM_VRC_TEXT))
		return PC_INVAL;
	if (idx != SIZE_MAX) {
		if (vi->cls == DCM_VRC_TEXT) {
			if (idx != 0)
				return PC_NOTFOUND;
		} else if (!string_value(e, idx, &v)) {
			return PC_NOTFOUND;
		}
	}
	trim_span(&v, idx != SIZE_MAX && trims_leading((enum dcm_vr)e->vr));
	st = dcm_charset_decode(vi->charset ? dcm_dataset_charset(ds)
					    : &default_charset,
				(enum dcm_vr)e->vr, v, false, out, NULL);
	if (st != PC_OK)
		return st;
	return pc_buf_status(out);
}

enum pc_status dcm_dataset_get_int(const dcm_dataset *ds, uint32_t tag,
				   size_t idx, int64_t *out)
{
	const dcm_elem *e = dcm_dataset_find(ds, tag);

	if (e == NULL)
		return PC_NOTFOUND;
	return dcm_elem_get_int(e, idx, out);
}

enum pc_status dcm_dataset_get_string(const dcm_dataset *ds, uint32_t tag,
				      size_t idx, struct pc_buf *out)
{
	const dcm_elem *e = dcm_dataset_find(ds, tag);

	if (e == NULL)
		return PC_NOTFOUND;
	return dcm_elem_get_string(ds, e, idx, out);
}

/* ---- mutation ------------------------------------------------------------- */

dcm_elem *dcm__dataset_add(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
			   bool *replaced)
{
	uint32_t i = lower_bound(ds, tag);
	dcm_elem *e;

	*replaced = false;
	e = pc_arena_alloc(ds->arena, sizeof(*e));
	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->tag = tag;
	e->vr = (uint16_t)vr;
	e->owner = ds;
	if (i < ds->n && ds->elems[i]->tag == tag) {
		ds->elems[i] = e;
		*replaced = true;
		return e;
	}
	if (ds->n == ds->cap) {
		uint32_t cap = ds->cap ? ds->cap * 2 : 16;
		dcm_elem **grown;

		if (cap < ds->cap)
			return NULL;
		grown = pc_arena_alloc(ds->arena, (size_t)cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		if (ds->n > 0)
			memcpy(grown, ds->elems, ds->n * sizeof(*grown));
		ds->elems = grown;
		ds->cap = cap;
	}
	if (i < ds->n)
		memmove(&ds->elems[i + 1], &ds->elems[i],
			(ds->n - i) * sizeof(*ds->elems));
	ds->elems[i] = e;
	ds->n++;
	return e;
}

enum pc_status dcm__seq_push_item(dcm_elem *seq, dcm_dataset *item)
{
	if (seq->u.seq.n == seq->u.seq.cap) {
		uint32_t cap = seq->u.seq.cap ? seq->u.seq.cap * 2 : 4;
		dcm_dataset **grown;

		if (cap < seq->u.seq.cap)
			return PC_LIMIT;
		grown = pc_arena_alloc(item->arena, (size_t)cap * sizeof(*grown));
		if (grown == NULL)
			return PC_NOMEM;
		if (seq->u.seq.n > 0)
			memcpy(grown, seq->u.seq.items,
			       seq->u.seq.n * sizeof(*grown));
		seq->u.seq.items = grown;
		seq->u.seq.cap = cap;
	}
	seq->u.seq.items[seq->u.seq.n++] = item;
	return PC_OK;
}

enum pc_status dcm__enc_push_frag(pc_arena *arena, dcm_elem *e,
				  struct pc_span frag, uint64_t offset)
{
	if (e->u.enc.n == e->u.enc.cap) {
		uint32_t cap = e->u.enc.cap ? e->u.enc.cap * 2 : 4;
		struct dcm_frag *grown;

		if (cap < e->u.enc.cap)
			return PC_LIMIT;
		grown = pc_arena_alloc(arena, (size_t)cap * sizeof(*grown));
		if (grown == NULL)
			return PC_NOMEM;
		if (e->u.enc.n > 0)
			memcpy(grown, e->u.enc.frags,
			       e->u.enc.n * sizeof(*grown));
		e->u.enc.frags = grown;
		e->u.enc.cap = cap;
	}
	e->u.enc.frags[e->u.enc.n].data = frag;
	e->u.enc.frags[e->u.enc.n].offset = offset;
	e->u.enc.n++;
	return PC_OK;
}

enum pc_status dcm_dataset_set(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
			       const void *value, size_t n)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	size_t padded = n + (n & 1);
	uint8_t *copy;
	dcm_elem *e;
	bool replaced;

	if (vi == NULL || vi->cls == DCM_VRC_SEQUENCE || padded > UINT32_MAX - 1 ||
	    padded < n)
		return PC_INVAL;
	copy = pc_arena_alloc(ds->arena, padded);
	if (copy == NULL)
		return PC_NOMEM;
	if (n > 0)
		memcpy(copy, value, n);
	if (padded != n)
		copy[n] = vi->pad;
	e = dcm__dataset_add(ds, tag, vr, &replaced);
	if (e == NULL)
		return PC_NOMEM;
	e->length = (uint32_t)padded;
	e->u.value = pc_span_make(copy, padded);
	if (tag == DCM_TAG_SPECIFIC_CHARSET)
		dcm__dataset_update_charset(ds);
	return PC_OK;
}

enum pc_status dcm_dataset_set_string(dcm_dataset *ds, uint32_t tag,
				      enum dcm_vr vr, const char *s)
{
	return dcm_dataset_set(ds, tag, vr, s, strlen(s));
}

enum pc_status dcm_dataset_set_sequence(dcm_dataset *ds, uint32_t tag,
					dcm_elem **out)
{
	bool replaced;
	dcm_elem *e = dcm__dataset_add(ds, tag, DCM_VR_SQ, &replaced);

	if (e == NULL)
		return PC_NOMEM;
	e->flags = ELEM_SEQUENCE | ELEM_UNDEF_LEN;
	e->length = DCM_UNDEFINED_LENGTH;
	e->u.seq.owner = ds;
	if (out != NULL)
		*out = e;
	return PC_OK;
}

enum pc_status dcm_elem_add_item(dcm_elem *seq, dcm_dataset **out)
{
	dcm_dataset *item;
	enum pc_status st;

	if (!(seq->flags & ELEM_SEQUENCE) || seq->u.seq.owner == NULL)
		return PC_INVAL;
	item = dcm__dataset_new(seq->u.seq.owner->arena, seq->u.seq.owner);
	if (item == NULL)
		return PC_NOMEM;
	item->item_undef_len = true;
	st = dcm__seq_push_item(seq, item);
	if (st != PC_OK)
		return st;
	if (out != NULL)
		*out = item;
	return PC_OK;
}

enum pc_status dcm_dataset_set_encapsulated(dcm_dataset *ds, uint32_t tag,
					    enum dcm_vr vr,
					    struct pc_span offset_table,
					    dcm_elem **out)
{
	bool replaced;
	dcm_elem *e;
	uint8_t *copy = NULL;

	if (offset_table.n > 0) {
		copy = pc_arena_memdup(ds->arena, offset_table.p,
				       offset_table.n);
		if (copy == NULL)
			return PC_NOMEM;
	}
	e = dcm__dataset_add(ds, tag, vr, &replaced);
	if (e == NULL)
		return PC_NOMEM;
	e->flags = ELEM_ENCAPS | ELEM_UNDEF_LEN;
	e->length = DCM_UNDEFINED_LENGTH;
	e->u.enc.bot = pc_span_make(copy, offset_table.n);
	e->u.enc.arena = ds->arena;
	if (out != NULL)
		*out = e;
	return PC_OK;
}

enum pc_status dcm_elem_add_fragment(dcm_elem *e, struct pc_span frag)
{
	uint8_t *copy = NULL;

	if (!(e->flags & ELEM_ENCAPS) || e->u.enc.arena == NULL)
		return PC_INVAL;
	if (frag.n > 0) {
		copy = pc_arena_memdup(e->u.enc.arena, frag.p, frag.n);
		if (copy == NULL)
			return PC_NOMEM;
	}
	return dcm__enc_push_frag(e->u.enc.arena, e, pc_span_make(copy, frag.n),
				  0);
}

enum pc_status dcm_dataset_remove(dcm_dataset *ds, uint32_t tag)
{
	uint32_t i = lower_bound(ds, tag);

	if (i >= ds->n || ds->elems[i]->tag != tag)
		return PC_NOTFOUND;
	memmove(&ds->elems[i], &ds->elems[i + 1],
		(ds->n - i - 1) * sizeof(*ds->elems));
	ds->n--;
	if (tag == DCM_TAG_SPECIFIC_CHARSET)
		dcm__dataset_update_charset(ds);
	return PC_OK;
}
