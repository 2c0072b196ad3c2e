/*
 * pdu.c - encoding and decoding of the upper-layer PDUs (PS3.8 9.3).
 *
 * Layout reminders (all multi-byte fields big endian, PS3.8 9.3.1):
 *   PDU header     type(1) reserved(1) length(4)
 *   A-ASSOCIATE    version(2) reserved(2) called(16) calling(16)
 *                  reserved(32) then variable items
 *   item header    type(1) reserved(1) length(2)
 *   PDV item       length(4) pc-id(1) control(1) data
 * The decoder walks the body with a cursor and checks each item's length
 * against what remains before reading it; nothing is allocated from a
 * length the peer sent except copies of bytes already known to be there.
 */
#include "dul.h"

#include <string.h>

/* Item types inside A-ASSOCIATE-RQ/AC (PS3.8 9.3.2, PS3.7 Annex D.3.3). */
enum {
	ITEM_APP_CONTEXT = 0x10,
	ITEM_PC_RQ = 0x20,
	ITEM_PC_AC = 0x21,
	ITEM_ABSTRACT_SYNTAX = 0x30,
	ITEM_TRANSFER_SYNTAX = 0x40,
	ITEM_USER_INFO = 0x50,
	SUB_MAX_LENGTH = 0x51,
	SUB_IMPL_CLASS = 0x52,
	SUB_ASYNC = 0x53,
	SUB_ROLE = 0x54,
	SUB_IMPL_VERSION = 0x55,
	SUB_EXT_NEG = 0x56,
};

#define ASSOC_FIXED_LEN 68 /* version .. reserved(32) */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(struct pc_buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	pc_buf_append(b, x, 2);
}

static void put32(struct pc_buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
			(uint8_t)(v >> 8), (uint8_t)v};
	pc_buf_append(b, x, 4);
}

/* Overwrites a big-endian length at `at` once the item's size is known. */
static void patch16(struct pc_buf *b, size_t at, size_t v)
{
	if (pc_buf_status(b) != PC_OK)
		return;
	b->p[at] = (char)(v >> 8);
	b->p[at + 1] = (char)v;
}

static void patch32(struct pc_buf *b, size_t at, size_t v)
{
	if (pc_buf_status(b) != PC_OK)
		return;
	b->p[at] = (char)(v >> 24);
	b->p[at + 1] = (char)(v >> 16);
	b->p[at + 2] = (char)(v >> 8);
	b->p[at + 3] = (char)v;
}

enum pc_status dul_pdu_header(const uint8_t *p, uint8_t *type, uint32_t *len,
			      uint32_t max_len, struct pc_err *err)
{
	*type = p[0];
	*len = rd32(p + 2);
	if (p[0] < DUL_PDU_ASSOCIATE_RQ || p[0] > DUL_PDU_ABORT)
		return pc_err_set(err, PC_PARSE, 0,
				  "unrecognized PDU type 0x%02x", p[0]);
	if (max_len != 0 && *len > max_len)
		return pc_err_set(err, PC_LIMIT, 2,
				  "PDU length %u exceeds the maximum %u", *len,
				  max_len);
	return PC_OK;
}

/* ---- decoding helpers --------------------------------------------------- */

struct cursor {
	const uint8_t *base; /* start of the PDU body, for offsets */
	const uint8_t *p;
	const uint8_t *end;
};

static size_t remain(const struct cursor *c)
{
	return (size_t)(c->end - c->p);
}

/*
 * Reads an item header (type, reserved, 16-bit length) and returns the
 * item's value as a sub-cursor, advancing `c` past it.
 */
static enum pc_status item_next(struct cursor *c, uint8_t *type,
				struct cursor *value, struct pc_err *err)
{
	size_t off = (size_t)(c->p - c->base);

	if (remain(c) < 4)
		return pc_err_set(err, PC_PARSE, off,
				  "item header at offset %zu runs past the end",
				  off);
	*type = c->p[0];
	size_t len = rd16(c->p + 2);
	if (len > remain(c) - 4)
		return pc_err_set(err, PC_PARSE, off,
				  "item 0x%02x at offset %zu: length %zu runs "
				  "past the end (%zu bytes left)",
				  *type, off, len, remain(c) - 4);
	value->base = c->base;
	value->p = c->p + 4;
	value->end = value->p + len;
	c->p = value->end;
	return PC_OK;
}

/* Copies a UID or text value into the arena, dropping the trailing NUL or
 * space padding some implementations send (PS3.8 9.3.2.1 says UIDs are not
 * padded, but DCMTK tolerates it and so do we). */
static enum pc_status copy_str(pc_arena *a, struct cursor v, size_t max,
			       const char *what, const char **out,
			       struct pc_err *err)
{
	size_t n = remain(&v);

	while (n > 0 && (v.p[n - 1] == '\0' || v.p[n - 1] == ' '))
		n--;
	if (n > max)
		return pc_err_set(err, PC_PARSE, (uint64_t)(v.p - v.base),
				  "%s longer than %zu bytes", what, max);
	if (memchr(v.p, '\0', n) != NULL)
		return pc_err_set(err, PC_PARSE, (uint64_t)(v.p - v.base),
				  "%s holds a NUL byte", what);
	char *s = pc_arena_alloc(a, n + 1);
	if (s == NULL)
		return pc_err_set(err, PC_NOMEM, 0, "out of memory");
	memcpy(s, v.p, n);
	s[n] = '\0';
	*out = s;
	return PC_OK;
}

/* A copy of an opaque sub-item value in the arena (never NULL for n = 0). */
static struct pc_span dup_span(pc_arena *a, struct cursor v)
{
	size_t n = remain(&v);
	uint8_t *p = pc_arena_alloc(a, n + 1);

	if (p == NULL)
		return pc_span_make(NULL, 0);
	memcpy(p, v.p, n);
	return pc_span_make(p, n);
}

/*
 * An AE title field: 16 bytes, leading and trailing spaces insignificant
 * (PS3.5 6.2, AE). Trailing NULs are tolerated as padding; any other
 * control character or a backslash makes the title invalid.
 */
static enum pc_status copy_ae(char out[DUL_AE_MAX + 1], const uint8_t *p,
			      const char *what, struct pc_err *err)
{
	size_t a = 0, b = DUL_AE_MAX;

	while (a < b && p[a] == ' ')
		a++;
	while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\0'))
		b--;
	for (size_t i = a; i < b; i++)
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\')
			return pc_err_set(err, PC_PARSE, 0,
					  "%s AE title holds byte 0x%02x, "
					  "which PS3.5 6.2 does not allow",
					  what, p[i]);
	memcpy(out, p + a, b - a);
	out[b - a] = '\0';
	return PC_OK;
}

/*
 * Grows an arena array by one element. Arrays are small (bounded by the
 * DUL_MAX_* limits) so doubling with a copy in the arena is fine.
 */
static void *grow(pc_arena *a, void *arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 4;
	void *p = pc_arena_alloc(a, ncap * size);
	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, arr, n * size);
	*cap = ncap;
	return p;
}

static enum pc_status decode_pc(uint8_t type, struct cursor v, pc_arena *a,
				struct dul_pc *pc, struct pc_err *err)
{
	size_t off = (size_t)(v.p - v.base);
	size_t cap = 0;

	if (remain(&v) < 4)
		return pc_err_set(err, PC_PARSE, off,
				  "presentation context item at offset %zu "
				  "shorter than 4 bytes", off);
	memset(pc, 0, sizeof(*pc));
	pc->id = v.p[0];
	pc->result = type == ITEM_PC_AC ? v.p[2] : 0;
	v.p += 4;
	if (pc->id % 2 == 0)
		return pc_err_set(err, PC_PARSE, off,
				  "presentation context id %u is not odd",
				  pc->id);
	while (remain(&v) > 0) {
		uint8_t st = 0;
		struct cursor sv = {0};
		enum pc_status s = item_next(&v, &st, &sv, err);
		if (s != PC_OK)
			return s;
		if (st == ITEM_ABSTRACT_SYNTAX && type == ITEM_PC_RQ) {
			if (pc->abstract_syntax != NULL)
				return pc_err_set(err, PC_PARSE, off,
						  "presentation context %u: "
						  "two abstract syntaxes",
						  pc->id);
			s = copy_str(a, sv, DUL_UID_MAX, "abstract syntax",
				     &pc->abstract_syntax, err);
			if (s != PC_OK)
				return s;
		} else if (st == ITEM_TRANSFER_SYNTAX) {
			if (pc->n_ts == DUL_MAX_TS_PER_CONTEXT)
				return pc_err_set(err, PC_LIMIT, off,
						  "presentation context %u: "
						  "more than %d transfer "
						  "syntaxes",
						  pc->id,
						  DUL_MAX_TS_PER_CONTEXT);
			const char **ts = grow(a, pc->ts, pc->n_ts, &cap,
					       sizeof(*ts));
			if (ts == NULL)
				return pc_err_set(err, PC_NOMEM, 0,
						  "out of memory");
			pc->ts = ts;
			s = copy_str(a, sv, DUL_UID_MAX, "transfer syntax",
				     &ts[pc->n_ts], err);
			if (s != PC_OK)
				return s;
			pc->n_ts++;
		} else {
			return pc_err_set(err, PC_PARSE,
					  (uint64_t)(sv.p - sv.base) - 4,
					  "presentation context %u: "
					  "unexpected sub-item 0x%02x",
					  pc->id, st);
		}
	}
	if (type == ITEM_PC_RQ &&
	    (pc->abstract_syntax == NULL || pc->n_ts == 0))
		return pc_err_set(err, PC_PARSE, off,
				  "presentation context %u lacks an abstract "
				  "or a transfer syntax", pc->id);
	if (type == ITEM_PC_AC && pc->n_ts > 1)
		return pc_err_set(err, PC_PARSE, off,
				  "accepted presentation context %u names %zu "
				  "transfer syntaxes", pc->id, pc->n_ts);
	return PC_OK;
}

/* A sub-item value starting with a 16-bit length and a UID (roles and
 * extended negotiation, PS3.7 D.3.3.4-5); `rest` receives what follows. */
static enum pc_status sub_uid(struct cursor *v, pc_arena *a,
			      const char *what, const char **out,
			      struct pc_err *err)
{
	size_t off = (size_t)(v->p - v->base);

	if (remain(v) < 2)
		return pc_err_set(err, PC_PARSE, off, "%s sub-item too short",
				  what);
	size_t n = rd16(v->p);
	if (n > remain(v) - 2)
		return pc_err_set(err, PC_PARSE, off,
				  "%s sub-item: UID length %zu runs past the "
				  "end", what, n);
	struct cursor u = {v->base, v->p + 2, v->p + 2 + n};
	v->p = u.end;
	return copy_str(a, u, DUL_UID_MAX, what, out, err);
}

static enum pc_status decode_user_info(struct cursor v, pc_arena *a,
				       struct dul_assoc *out,
				       struct pc_err *err)
{
	size_t cap_roles = 0, cap_ext = 0, cap_other = 0;

	while (remain(&v) > 0) {
		uint8_t st = 0;
		struct cursor sv = {0};
		enum pc_status s = item_next(&v, &st, &sv, err);
		if (s != PC_OK)
			return s;
		size_t off = (size_t)(sv.p - sv.base) - 4;
		switch (st) {
		case SUB_MAX_LENGTH:
			if (remain(&sv) != 4)
				return pc_err_set(err, PC_PARSE, off,
						  "maximum length sub-item of "
						  "%zu bytes (4 expected)",
						  remain(&sv));
			out->max_pdu = rd32(sv.p);
			break;
		case SUB_IMPL_CLASS:
			s = copy_str(a, sv, DUL_UID_MAX,
				     "implementation class UID",
				     &out->impl_class_uid, err);
			if (s != PC_OK)
				return s;
			break;
		case SUB_IMPL_VERSION:
			s = copy_str(a, sv, 16, "implementation version",
				     &out->impl_version, err);
			if (s != PC_OK)
				return s;
			break;
		case SUB_ASYNC:
			if (remain(&sv) != 4)
				return pc_err_set(err, PC_PARSE, off,
						  "asynchronous operations "
						  "sub-item of %zu bytes",
						  remain(&sv));
			out->has_async = true;
			out->async_invoked = rd16(sv.p);
			out->async_performed = rd16(sv.p + 2);
			break;
		case SUB_ROLE: {
			if (out->n_roles == DUL_MAX_ROLES)
				return pc_err_set(err, PC_LIMIT, off,
						  "more than %d role selection "
						  "sub-items", DUL_MAX_ROLES);
			struct dul_role *r = grow(a, out->roles, out->n_roles,
						  &cap_roles, sizeof(*r));
			if (r == NULL)
				return pc_err_set(err, PC_NOMEM, 0,
						  "out of memory");
			out->roles = r;
			r += out->n_roles;
			s = sub_uid(&sv, a, "role selection", &r->sop_class,
				    err);
			if (s != PC_OK)
				return s;
			if (remain(&sv) != 2)
				return pc_err_set(err, PC_PARSE, off,
						  "role selection sub-item: "
						  "%zu bytes after the UID "
						  "(2 expected)", remain(&sv));
			r->scu = sv.p[0] != 0;
			r->scp = sv.p[1] != 0;
			out->n_roles++;
			break;
		}
		case SUB_EXT_NEG: {
			if (out->n_ext == DUL_MAX_EXT)
				return pc_err_set(err, PC_LIMIT, off,
						  "more than %d extended "
						  "negotiation sub-items",
						  DUL_MAX_EXT);
			struct dul_ext_neg *e = grow(a, out->ext, out->n_ext,
						     &cap_ext, sizeof(*e));
			if (e == NULL)
				return pc_err_set(err, PC_NOMEM, 0,
						  "out of memory");
			out->ext = e;
			e += out->n_ext;
			s = sub_uid(&sv, a, "extended negotiation",
				    &e->sop_class, err);
			if (s != PC_OK)
				return s;
			e->info = dup_span(a, sv);
			if (e->info.p == NULL)
				return pc_err_set(err, PC_NOMEM, 0,
						  "out of memory");
			out->n_ext++;
			break;
		}
		default: {
			if (out->n_other == DUL_MAX_EXT)
				return pc_err_set(err, PC_LIMIT, off,
						  "more than %d unknown user "
						  "information sub-items",
						  DUL_MAX_EXT);
			void *o = grow(a, out->other, out->n_other, &cap_other,
				       sizeof(*out->other));
			if (o == NULL)
				return pc_err_set(err, PC_NOMEM, 0,
						  "out of memory");
			out->other = o;
			out->other[out->n_other].type = st;
			out->other[out->n_other].value = dup_span(a, sv);
			if (out->other[out->n_other].value.p == NULL)
				return pc_err_set(err, PC_NOMEM, 0,
						  "out of memory");
			out->n_other++;
			break;
		}
		}
	}
	return PC_OK;
}

enum pc_status dul_assoc_decode(uint8_t type, const uint8_t *body, size_t n,
				pc_arena *arena, struct dul_assoc *out,
				struct pc_err *err)
{
	struct cursor c = {body, body, body + n};
	size_t cap_pcs = 0;
	bool seen_user_info = false;
	uint8_t pc_type = type == DUL_PDU_ASSOCIATE_RQ ? ITEM_PC_RQ : ITEM_PC_AC;

	memset(out, 0, sizeof(*out));
	if (type != DUL_PDU_ASSOCIATE_RQ && type != DUL_PDU_ASSOCIATE_AC)
		return pc_err_set(err, PC_INVAL, 0,
				  "PDU type 0x%02x is not an A-ASSOCIATE", type);
	if (n < ASSOC_FIXED_LEN)
		return pc_err_set(err, PC_PARSE, 0,
				  "A-ASSOCIATE of %zu bytes is shorter than "
				  "its fixed fields (%d)", n, ASSOC_FIXED_LEN);
	out->protocol_version = rd16(body);
	enum pc_status st = copy_ae(out->called_ae, body + 4, "called", err);
	if (st == PC_OK)
		st = copy_ae(out->calling_ae, body + 20, "calling", err);
	if (st != PC_OK)
		return st;
	c.p += ASSOC_FIXED_LEN;

	while (remain(&c) > 0) {
		uint8_t it = 0;
		struct cursor v = {0};
		enum pc_status s = item_next(&c, &it, &v, err);
		if (s != PC_OK)
			return s;
		if (it == ITEM_APP_CONTEXT) {
			s = copy_str(arena, v, DUL_UID_MAX,
				     "application context", &out->app_context,
				     err);
			if (s != PC_OK)
				return s;
		} else if (it == pc_type) {
			if (out->n_pcs == DUL_MAX_CONTEXTS)
				return pc_err_set(err, PC_LIMIT, 0,
						  "more than %d presentation "
						  "contexts", DUL_MAX_CONTEXTS);
			struct dul_pc *pcs = grow(arena, out->pcs, out->n_pcs,
						  &cap_pcs, sizeof(*pcs));
			if (pcs == NULL)
				return pc_err_set(err, PC_NOMEM, 0,
						  "out of memory");
			out->pcs = pcs;
			s = decode_pc(pc_type, v, arena, &pcs[out->n_pcs], err);
			if (s != PC_OK)
				return s;
			out->n_pcs++;
		} else if (it == ITEM_USER_INFO) {
			if (seen_user_info)
				return pc_err_set(err, PC_PARSE, 0,
						  "two user information items");
			seen_user_info = true;
			s = decode_user_info(v, arena, out, err);
			if (s != PC_OK)
				return s;
		} else {
			size_t off = (size_t)(v.p - body) - 4;
			return pc_err_set(err, PC_PARSE, off,
					  "unexpected item 0x%02x at offset %zu "
					  "of an A-ASSOCIATE", it, off);
		}
	}
	if (out->app_context == NULL)
		return pc_err_set(err, PC_PARSE, 0,
				  "A-ASSOCIATE without an application context");
	return PC_OK;
}

enum pc_status dul_reject_decode(const uint8_t *body, size_t n,
				 struct dul_reject *out, struct pc_err *err)
{
	if (n != 4)
		return pc_err_set(err, PC_PARSE, 0,
				  "A-ASSOCIATE-RJ of %zu bytes (4 expected)", n);
	out->result = body[1];
	out->source = body[2];
	out->reason = body[3];
	return PC_OK;
}

enum pc_status dul_abort_decode(const uint8_t *body, size_t n,
				struct dul_abort *out, struct pc_err *err)
{
	if (n != 4)
		return pc_err_set(err, PC_PARSE, 0,
				  "A-ABORT of %zu bytes (4 expected)", n);
	out->source = body[2];
	out->reason = body[3];
	return PC_OK;
}

enum pc_status dul_pdv_next(const uint8_t *body, size_t n, size_t *pos,
			    struct dul_pdv *out, struct pc_err *err)
{
	size_t at = *pos;

	if (at >= n)
		return PC_STOP;
	if (n - at < 6)
		return pc_err_set(err, PC_PARSE, at,
				  "PDV item header at offset %zu runs past the "
				  "end", at);
	uint32_t len = rd32(body + at);
	if (len < 2 || len > n - at - 4)
		return pc_err_set(err, PC_PARSE, at,
				  "PDV item at offset %zu: length %u is invalid "
				  "(%zu bytes left)", at, len, n - at - 4);
	out->pc_id = body[at + 4];
	if (out->pc_id % 2 == 0)
		return pc_err_set(err, PC_PARSE, at,
				  "PDV item at offset %zu: presentation context "
				  "id %u is not odd", at, out->pc_id);
	out->command = (body[at + 5] & 0x01) != 0;
	out->last = (body[at + 5] & 0x02) != 0;
	out->data = pc_span_make(body + at + 6, len - 2);
	*pos = at + 4 + len;
	return PC_OK;
}

/* ---- encoding ----------------------------------------------------------- */

static size_t pdu_begin(struct pc_buf *b, uint8_t type)
{
	size_t at = b->n;
	uint8_t h[6] = {type, 0, 0, 0, 0, 0};

	pc_buf_append(b, h, sizeof(h));
	return at;
}

static void pdu_end(struct pc_buf *b, size_t at)
{
	patch32(b, at + 2, b->n - at - DUL_PDU_HEADER_LEN);
}

static size_t item_begin(struct pc_buf *b, uint8_t type)
{
	size_t at = b->n;
	uint8_t h[4] = {type, 0, 0, 0};

	pc_buf_append(b, h, sizeof(h));
	return at;
}

static void item_end(struct pc_buf *b, size_t at)
{
	size_t len = b->n - at - 4;

	/* Items are 16-bit sized; our own values never come near it, and a
	 * too-long one fails the whole PDU rather than wrap. */
	if (len > 0xFFFF) {
		b->st = PC_LIMIT;
		return;
	}
	patch16(b, at + 2, len);
}

static void item_str(struct pc_buf *b, uint8_t type, const char *s)
{
	size_t at = item_begin(b, type);

	pc_buf_puts(b, s);
	item_end(b, at);
}

static void put_ae(struct pc_buf *b, const char *ae)
{
	char f[DUL_AE_MAX];
	size_t n = strlen(ae);

	if (n > DUL_AE_MAX)
		n = DUL_AE_MAX;
	memset(f, ' ', sizeof(f));
	memcpy(f, ae, n);
	pc_buf_append(b, f, sizeof(f));
}

void dul_assoc_encode(uint8_t type, const struct dul_assoc *a,
		      struct pc_buf *out)
{
	static const uint8_t zeros[32];
	size_t pdu = pdu_begin(out, type);

	put16(out, a->protocol_version ? a->protocol_version : 1);
	put16(out, 0);
	put_ae(out, a->called_ae);
	put_ae(out, a->calling_ae);
	pc_buf_append(out, zeros, sizeof(zeros));
	item_str(out, ITEM_APP_CONTEXT,
		 a->app_context ? a->app_context : "1.2.840.10008.3.1.1.1");

	for (size_t i = 0; i < a->n_pcs; i++) {
		const struct dul_pc *pc = &a->pcs[i];
		bool rq = type == DUL_PDU_ASSOCIATE_RQ;
		size_t it = item_begin(out, rq ? ITEM_PC_RQ : ITEM_PC_AC);
		uint8_t h[4] = {pc->id, 0, rq ? 0 : pc->result, 0};
		pc_buf_append(out, h, sizeof(h));
		if (rq && pc->abstract_syntax)
			item_str(out, ITEM_ABSTRACT_SYNTAX,
				 pc->abstract_syntax);
		for (size_t t = 0; t < pc->n_ts; t++)
			item_str(out, ITEM_TRANSFER_SYNTAX, pc->ts[t]);
		item_end(out, it);
	}

	size_t ui = item_begin(out, ITEM_USER_INFO);
	size_t ml = item_begin(out, SUB_MAX_LENGTH);
	put32(out, a->max_pdu);
	item_end(out, ml);
	if (a->impl_class_uid)
		item_str(out, SUB_IMPL_CLASS, a->impl_class_uid);
	if (a->has_async) {
		size_t as = item_begin(out, SUB_ASYNC);
		put16(out, a->async_invoked);
		put16(out, a->async_performed);
		item_end(out, as);
	}
	for (size_t i = 0; i < a->n_roles; i++) {
		size_t rs = item_begin(out, SUB_ROLE);
		put16(out, (uint16_t)strlen(a->roles[i].sop_class));
		pc_buf_puts(out, a->roles[i].sop_class);
		pc_buf_putc(out, (char)a->roles[i].scu);
		pc_buf_putc(out, (char)a->roles[i].scp);
		item_end(out, rs);
	}
	if (a->impl_version)
		item_str(out, SUB_IMPL_VERSION, a->impl_version);
	for (size_t i = 0; i < a->n_ext; i++) {
		size_t en = item_begin(out, SUB_EXT_NEG);
		put16(out, (uint16_t)strlen(a->ext[i].sop_class));
		pc_buf_puts(out, a->ext[i].sop_class);
		pc_buf_append(out, a->ext[i].info.p, a->ext[i].info.n);
		item_end(out, en);
	}
	for (size_t i = 0; i < a->n_other; i++) {
		size_t ot = item_begin(out, a->other[i].type);
		pc_buf_append(out, a->other[i].value.p, a->other[i].value.n);
		item_end(out, ot);
	}
	item_end(out, ui);
	pdu_end(out, pdu);
}

void dul_reject_encode(const struct dul_reject *rj, struct pc_buf *out)
{
	uint8_t pdu[10] = {DUL_PDU_ASSOCIATE_RJ, 0, 0, 0, 0, 4,
			   0, rj->result, rj->source, rj->reason};

	pc_buf_append(out, pdu, sizeof(pdu));
}

void dul_abort_encode(const struct dul_abort *ab, struct pc_buf *out)
{
	uint8_t pdu[10] = {DUL_PDU_ABORT, 0, 0, 0, 0, 4,
			   0, 0, ab->source, ab->reason};

	pc_buf_append(out, pdu, sizeof(pdu));
}

void dul_release_encode(uint8_t type, struct pc_buf *out)
{
	uint8_t pdu[10] = {type, 0, 0, 0, 0, 4, 0, 0, 0, 0};

	pc_buf_append(out, pdu, sizeof(pdu));
}

void dul_pdata_header_encode(uint8_t pc_id, bool command, bool last,
			     size_t n, struct pc_buf *out)
{
	if (n > UINT32_MAX - 6) {
		out->st = PC_LIMIT;
		return;
	}
	size_t pdu = pdu_begin(out, DUL_PDU_P_DATA_TF);
	put32(out, (uint32_t)(n + 2));
	pc_buf_putc(out, (char)pc_id);
	pc_buf_putc(out, (char)((command ? 1 : 0) | (last ? 2 : 0)));
	/* The PDU length covers the PDV the caller appends next. */
	patch32(out, pdu + 2, n + 6);
}
