/*
 * parse.c - event parser over an encoded data set (PS3.5 section 7).
 *
 * The parser walks the bytes once with a cursor and reports elements,
 * sequences, items and encapsulated fragments to callbacks; it allocates
 * nothing. The object model (read.c) is one consumer; an indexer that
 * needs a few attributes can be another and stop early.
 *
 * Every length is checked against the bytes that remain before anything is
 * read through it, and sequence nesting is bounded by limits->max_depth, so
 * hostile input yields an error naming the tag and offset, never a crash or
 * unbounded recursion.
 *
 * Tolerated deviations (reported through cb->warning, never silently):
 *   - odd value lengths (PS3.5 7.1.1 requires even ones);
 *   - UN with undefined length is a sequence in implicit VR little endian
 *     (PS3.5 6.2.2 note; CP-246), also inside an explicit VR data set;
 *   - UN with a defined length whose dictionary VR is SQ is read as an
 *     implicit VR little endian sequence (what pydicom and dcmtk do).
 */
#include "dicom_int.h"

#include <stdio.h>
#include <string.h>

struct parser {
	const uint8_t *start;
	const uint8_t *end;           /* end of the whole input */
	uint64_t base;
	unsigned flags;
	const struct dcm_limits *lim;
	const struct dcm__parse_cb *cb;
	void *ctx;
	struct pc_err *err;
	uint64_t count;               /* elements + items so far */
};

struct enc {
	bool explicit_vr;
	bool big_endian;
};

static const struct enc implicit_le = {false, false};

struct hdr {
	uint32_t tag;
	enum dcm_vr vr;
	uint32_t len;
	size_t hlen;                  /* header bytes */
};

static uint64_t off(const struct parser *P, const uint8_t *p)
{
	return P->base + (uint64_t)(p - P->start);
}

static uint16_t rd16(const uint8_t *p, bool be)
{
	return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t rd32(const uint8_t *p, bool be)
{
	if (be)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

static enum pc_status fail(struct parser *P, enum pc_status st,
			   const uint8_t *at, uint32_t tag, const char *what)
{
	char t[16];

	if (tag == 0xFFFFFFFFu)
		return pc_err_set(P->err, st, off(P, at), "at offset %llu: %s",
				  (unsigned long long)off(P, at), what);
	return pc_err_set(P->err, st, off(P, at), "%s at offset %llu: %s",
			  dcm__tag_str(tag, t, sizeof(t)),
			  (unsigned long long)off(P, at), what);
}

static void warn(struct parser *P, const uint8_t *at, uint32_t tag,
		 const char *what)
{
	char t[16], msg[160];

	if (P->cb->warning == NULL)
		return;
	snprintf(msg, sizeof(msg), "%s at offset %llu: %s",
		 dcm__tag_str(tag, t, sizeof(t)),
		 (unsigned long long)off(P, at), what);
	P->cb->warning(P->ctx, off(P, at), msg);
}

static enum pc_status read_hdr(struct parser *P, const uint8_t *p,
			       const uint8_t *end, struct enc enc,
			       struct hdr *h)
{
	size_t left = (size_t)(end - p);
	char what[96];

	if (left < 8) {
		snprintf(what, sizeof(what),
			 "element header needs 8 bytes, %zu left", left);
		return fail(P, PC_TRUNC, p, 0xFFFFFFFFu, what);
	}
	h->tag = (uint32_t)rd16(p, enc.big_endian) << 16 |
		 rd16(p + 2, enc.big_endian);
	/* Items and delimiters have no VR in any syntax (PS3.5 7.5). */
	if (DCM_TAG_GROUP(h->tag) == 0xFFFE || !enc.explicit_vr) {
		h->vr = DCM_VR_NONE;
		h->len = rd32(p + 4, enc.big_endian);
		h->hlen = 8;
		return PC_OK;
	}
	h->vr = dcm_vr_from_chars(p[4], p[5]);
	if (h->vr == DCM_VR_NONE) {
		snprintf(what, sizeof(what), "unknown VR bytes %02X %02X",
			 p[4], p[5]);
		return fail(P, PC_PARSE, p, h->tag, what);
	}
	if (dcm_vr_info(h->vr)->long_header) {
		/* PS3.5 7.1.2: 2 reserved bytes, then a 32-bit length. */
		if (left < 12) {
			snprintf(what, sizeof(what),
				 "element header needs 12 bytes, %zu left",
				 left);
			return fail(P, PC_TRUNC, p, h->tag, what);
		}
		h->len = rd32(p + 8, enc.big_endian);
		h->hlen = 12;
	} else {
		h->len = rd16(p + 6, enc.big_endian);
		h->hlen = 8;
	}
	return PC_OK;
}

static enum pc_status count_one(struct parser *P, const uint8_t *at,
				uint32_t tag)
{
	if (++P->count > P->lim->max_elements)
		return fail(P, PC_LIMIT, at, tag,
			    "more elements than the configured limit");
	return PC_OK;
}

/* VR of an element read in implicit VR, from the data dictionary. */
static enum dcm_vr implicit_vr(uint32_t tag)
{
	const struct dcm_dict_entry *d = dcm_dict_find(tag);

	return d != NULL ? d->vr : DCM_VR_NONE;
}

static enum pc_status parse_elements(struct parser *P, const uint8_t **pp,
				     const uint8_t *end, struct enc enc,
				     unsigned depth, bool undefined_item);

/*
 * Items of a sequence, up to `end` (defined length) or to the sequence
 * delimiter (undefined length, `end` then bounds the search).
 */
static enum pc_status parse_sequence(struct parser *P, const uint8_t **pp,
				     const uint8_t *end, struct enc enc,
				     unsigned depth, bool undefined,
				     uint32_t seq_tag)
{
	const uint8_t *p = *pp;
	enum pc_status st;
	char what[128];

	if (depth + 1 > P->lim->max_depth) {
		snprintf(what, sizeof(what),
			 "sequences nested deeper than the limit of %u",
			 P->lim->max_depth);
		return fail(P, PC_LIMIT, p, seq_tag, what);
	}
	for (;;) {
		uint32_t tag, len;
		const uint8_t *item = p;

		if (!undefined && p == end)
			break;
		if ((size_t)(end - p) < 8) {
			snprintf(what, sizeof(what),
				 "sequence ends without %s (%zu bytes left)",
				 undefined ? "a sequence delimiter"
					   : "a complete item",
				 (size_t)(end - p));
			return fail(P, PC_TRUNC, p, seq_tag, what);
		}
		tag = (uint32_t)rd16(p, enc.big_endian) << 16 |
		      rd16(p + 2, enc.big_endian);
		len = rd32(p + 4, enc.big_endian);
		p += 8;
		if (tag == DCM_TAG_SEQ_DELIM) {
			if (!undefined) {
				warn(P, item, seq_tag,
				     "sequence delimiter in a sequence of "
				     "defined length");
				if (p != end)
					return fail(P, PC_PARSE, item, seq_tag,
						    "sequence delimiter before "
						    "the sequence's end");
			}
			break;
		}
		if (tag != DCM_TAG_ITEM) {
			snprintf(what, sizeof(what),
				 "found (%04X,%04X) where an item was expected",
				 DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag));
			return fail(P, PC_PARSE, item, seq_tag, what);
		}
		st = count_one(P, item, seq_tag);
		if (st != PC_OK)
			return st;
		if (len == DCM_UNDEFINED_LENGTH) {
			st = P->cb->item_begin(P->ctx, len, off(P, item), true);
			if (st == PC_OK)
				st = parse_elements(P, &p, end, enc, depth + 1,
						    true);
		} else {
			const uint8_t *item_end;

			if (len > (size_t)(end - p) && end != P->end) {
				snprintf(what, sizeof(what),
					 "item length %u runs past the end of "
					 "its sequence (%zu bytes left)",
					 len, (size_t)(end - p));
				return fail(P, PC_TRUNC, item, seq_tag, what);
			}
			if (len > (size_t)(end - p)) {
				/* Named deviation: the last item's length
				 * overruns the input; its elements are read
				 * to the end and must be complete (dcmtk and
				 * pydicom accept such files). */
				warn(P, item, seq_tag,
				     "item length runs past the end of the "
				     "input: read to the end");
				len = (uint32_t)(end - p);
			}
			item_end = p + len;
			st = P->cb->item_begin(P->ctx, len, off(P, item), false);
			if (st == PC_OK)
				st = parse_elements(P, &p, item_end, enc,
						    depth + 1, false);
		}
		if (st == PC_OK)
			st = P->cb->item_end(P->ctx);
		if (st != PC_OK)
			return st;
	}
	*pp = p;
	return PC_OK;
}

/* Encapsulated pixel data (PS3.5 A.4): offset table item, fragments,
 * sequence delimiter. Items here always have defined lengths. */
static enum pc_status parse_fragments(struct parser *P, const uint8_t **pp,
				      const uint8_t *end, struct enc enc,
				      uint32_t pix_tag)
{
	const uint8_t *p = *pp;
	bool first = true;
	enum pc_status st;
	char what[128];

	for (;;) {
		uint32_t tag, len;
		const uint8_t *item = p;

		if ((size_t)(end - p) < 8)
			return fail(P, PC_TRUNC, p, pix_tag,
				    "encapsulated pixel data ends without a "
				    "sequence delimiter");
		tag = (uint32_t)rd16(p, enc.big_endian) << 16 |
		      rd16(p + 2, enc.big_endian);
		len = rd32(p + 4, enc.big_endian);
		p += 8;
		if (tag == DCM_TAG_SEQ_DELIM)
			break;
		if (tag != DCM_TAG_ITEM) {
			snprintf(what, sizeof(what),
				 "found (%04X,%04X) where a fragment item was "
				 "expected",
				 DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag));
			return fail(P, PC_PARSE, item, pix_tag, what);
		}
		if (len > (size_t)(end - p)) {
			snprintf(what, sizeof(what),
				 "fragment length %u runs past the end of data "
				 "(%zu bytes left)",
				 len, (size_t)(end - p));
			return fail(P, PC_TRUNC, item, pix_tag, what);
		}
		st = count_one(P, item, pix_tag);
		if (st != PC_OK)
			return st;
		if (len & 1)
			warn(P, item, pix_tag, "odd fragment length");
		st = P->cb->fragment(P->ctx, pc_span_make(p, len), off(P, item),
				     first);
		if (st != PC_OK)
			return st;
		first = false;
		p += len;
	}
	*pp = p;
	return P->cb->pixel_end(P->ctx);
}

/*
 * Elements of a data set (top level or an item) until `end`, or until the
 * item delimiter when `undefined_item`. Leaves *pp after what it consumed.
 */
static enum pc_status parse_elements(struct parser *P, const uint8_t **pp,
				     const uint8_t *end, struct enc enc,
				     unsigned depth, bool undefined_item)
{
	const uint8_t *p = *pp;
	enum pc_status st = PC_OK;
	char what[128];

	while (p < end) {
		struct hdr h = {0};
		struct dcm__token t;
		const uint8_t *at = p;

		/* The stop conditions look at the tag alone: what follows it
		 * may be in another encoding (the data set after the meta). */
		if (depth == 0 && (P->flags & (DCM__PARSE_META |
					       DCM__PARSE_STOP_AT_PIXELS)) &&
		    end - p >= 4) {
			uint32_t tag = (uint32_t)rd16(p, enc.big_endian) << 16 |
				       rd16(p + 2, enc.big_endian);

			if ((P->flags & DCM__PARSE_META) &&
			    DCM_TAG_GROUP(tag) != 0x0002)
				break;
			if ((P->flags & DCM__PARSE_STOP_AT_PIXELS) &&
			    tag >= DCM_TAG_PIXEL_DATA)
				break;
		}
		st = read_hdr(P, p, end, enc, &h);
		if (st != PC_OK)
			return st;
		if (h.tag == DCM_TAG_ITEM_DELIM) {
			if (!undefined_item)
				return fail(P, PC_PARSE, p, h.tag,
					    "item delimiter outside an item of "
					    "undefined length");
			*pp = p + 8;
			return PC_OK;
		}
		if (h.tag == DCM_TAG_ITEM || h.tag == DCM_TAG_SEQ_DELIM)
			return fail(P, PC_PARSE, p, h.tag,
				    "item or sequence delimiter outside a "
				    "sequence");
		/* PS3.5 7.5: group FFFE holds only items and delimiters. */
		if (DCM_TAG_GROUP(h.tag) == 0xFFFE)
			return fail(P, PC_PARSE, p, h.tag,
				    "not a data element tag (group FFFE is "
				    "reserved for items and delimiters)");
		if (depth == 0 && !(P->flags & DCM__PARSE_META) &&
		    DCM_TAG_GROUP(h.tag) == 0x0002)
			warn(P, p, h.tag,
			     "File Meta Information element in the data set "
			     "(not written back)");
		st = count_one(P, p, h.tag);
		if (st != PC_OK)
			return st;
		p += h.hlen;
		t.tag = h.tag;
		t.vr = enc.explicit_vr ? h.vr : implicit_vr(h.tag);
		t.length = h.len;
		t.offset = off(P, at);
		t.value = pc_span_make(NULL, 0);
		t.big_endian = enc.big_endian;
		t.undefined_length = h.len == DCM_UNDEFINED_LENGTH;

		if (h.len == DCM_UNDEFINED_LENGTH) {
			if (h.tag == DCM_TAG_PIXEL_DATA && t.vr != DCM_VR_SQ &&
			    t.vr != DCM_VR_UN) {
				st = P->cb->pixel_begin(P->ctx, &t);
				if (st == PC_OK)
					st = parse_fragments(P, &p, end, enc,
							     h.tag);
			} else if (t.vr == DCM_VR_SQ || t.vr == DCM_VR_UN ||
				   t.vr == DCM_VR_NONE) {
				/* PS3.5 6.2.2: UN of undefined length holds
				 * implicit VR little endian items. */
				struct enc inner =
					t.vr == DCM_VR_SQ ? enc : implicit_le;

				st = P->cb->seq_begin(P->ctx, &t);
				if (st == PC_OK)
					st = parse_sequence(P, &p, end, inner,
							    depth, true, h.tag);
				if (st == PC_OK)
					st = P->cb->seq_end(P->ctx);
			} else {
				snprintf(what, sizeof(what),
					 "undefined length is not allowed for "
					 "VR %s",
					 dcm_vr_name(t.vr));
				return fail(P, PC_PARSE, at, h.tag, what);
			}
		} else if (h.len > (size_t)(end - p)) {
			snprintf(what, sizeof(what),
				 "length %u runs past the end of data (%zu "
				 "bytes left)",
				 h.len, (size_t)(end - p));
			return fail(P, PC_TRUNC, at, h.tag, what);
		} else if (t.vr == DCM_VR_SQ ||
			   (t.vr == DCM_VR_UN && implicit_vr(h.tag) == DCM_VR_SQ)) {
			struct enc inner = t.vr == DCM_VR_SQ ? enc : implicit_le;

			if (t.vr == DCM_VR_UN)
				warn(P, at, h.tag,
				     "UN whose dictionary VR is SQ read as an "
				     "implicit VR sequence");
			st = P->cb->seq_begin(P->ctx, &t);
			if (st == PC_OK)
				st = parse_sequence(P, &p, p + h.len, inner,
						    depth, false, h.tag);
			if (st == PC_OK)
				st = P->cb->seq_end(P->ctx);
		} else {
			if (h.len & 1)
				warn(P, at, h.tag, "odd value length");
			t.value = pc_span_make(p, h.len);
			p += h.len;
			st = P->cb->element(P->ctx, &t);
		}
		if (st != PC_OK)
			return st;
	}
	if (undefined_item && p >= end)
		return fail(P, PC_TRUNC, p, DCM_TAG_ITEM,
			    "item of undefined length ends without an item "
			    "delimiter");
	*pp = p;
	return PC_OK;
}

enum pc_status dcm__parse(const struct dcm__parse_in *in,
			  const struct dcm__parse_cb *cb, void *ctx,
			  size_t *consumed, struct pc_err *err)
{
	struct parser P = {
		.start = in->p,
		.end = in->p + in->n,
		.base = in->base,
		.flags = in->flags,
		.lim = in->limits != NULL ? in->limits : &dcm_limits_default,
		.cb = cb,
		.ctx = ctx,
		.err = err,
	};
	struct enc enc = {in->explicit_vr, in->big_endian};
	const uint8_t *p = in->p;
	enum pc_status st;

	st = parse_elements(&P, &p, in->p + in->n, enc, 0, false);
	*consumed = (size_t)(p - in->p);
	return st == PC_STOP ? PC_OK : st;
}
