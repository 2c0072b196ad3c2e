/*
 * qry.c - the query model: QIDO-RS query strings (PS3.18 8.3.4, 10.6.1)
 * and C-FIND / URL path keys into a struct qry, plus the per-level tables.
 *
 * DESIGN
 * - Everything a struct qry points to lives in its arena. The keys and
 *   include arrays grow by doubling inside the arena; their capacity is not
 *   stored but implied by the count (0, then the next power of two >= 8 or
 *   16), which holds as long as only this file appends to them.
 * - A dotted path "A.B.C" makes the key (A,B,C) and, when missing, the keys
 *   (A) and (A,B) with QRY_MATCH_SEQUENCE, in the order first met, so that
 *   the index sees one key per sequence it has to descend into.
 * - The match kind comes from the dictionary VR and the value (PS3.4
 *   C.2.2.2): empty -> universal; UI -> UID list (',' or '\' separated,
 *   PS3.18 8.3.4.1); DA/TM/DT -> range with a '-', else single, both
 *   validated; '*' or '?' in a text VR -> wildcard; else single. Numeric VRs
 *   (IS, DS, US, ...) are validated as numbers, which is how "a range on a
 *   VR that has none" ("InstanceNumber=1-5") is refused.
 * - Limits (256 parameters, 4096-byte values, 256 includefield tags, paths
 *   of QRY_PATH_MAX) bound what a request can make us allocate.
 * - Callers that add keys from the URL path should parse the query string
 *   first: qry_add_key() replaces, while a query string repeating a key
 *   that is already there is refused as a repeat.
 */
#include "qry_int.h"

#include <stdio.h>
#include <string.h>

#define QRY_MAX_PARAMS 256   /* name=value pairs in one query string */
#define QRY_MAX_VALUE 4096   /* bytes of one decoded value */
#define QRY_MAX_INCLUDE 256  /* distinct includefield tags */
#define QRY_MAX_NAME 128     /* bytes of one path segment we look up */
#define SHOW 64              /* bytes of a name or value shown in messages */

enum pc_status qry_init(struct qry *q, enum qry_level level)
{
	if (q == NULL)
		return PC_INVAL;
	memset(q, 0, sizeof(*q));
	q->level = level;
	q->arena = pc_arena_create(4096);
	return q->arena != NULL ? PC_OK : PC_NOMEM;
}

void qry_cleanup(struct qry *q)
{
	if (q == NULL)
		return;
	pc_arena_destroy(q->arena);
	memset(q, 0, sizeof(*q));
}

/* ---- growing arrays in the arena ---------------------------------------- */

/* The capacity an array of `n` elements has (see DESIGN). */
static size_t implied_cap(size_t n, size_t first)
{
	size_t cap = first;

	if (n == 0)
		return 0;
	while (cap < n)
		cap *= 2;
	return cap;
}

/* Makes room for one more element of `size` bytes in *arr (count `n`). */
static bool grow(pc_arena *a, void **arr, size_t n, size_t size, size_t first)
{
	size_t cap = implied_cap(n, first), bytes;
	void *p;

	if (n < cap)
		return true;
	cap = cap == 0 ? first : cap * 2;
	if (!pc_mul_ok(cap, size, &bytes))
		return false;
	p = pc_arena_alloc(a, bytes);
	if (p == NULL)
		return false;
	if (n > 0)
		memcpy(p, *arr, n * size);
	*arr = p;
	return true;
}

static struct qry_key *key_append(struct qry *q)
{
	struct qry_key *k;
	void *arr = q->keys;

	if (!grow(q->arena, &arr, q->n_keys, sizeof(*k), 8))
		return NULL;
	q->keys = arr;
	k = &q->keys[q->n_keys++];
	memset(k, 0, sizeof(*k));
	return k;
}

/* Appends a key for path[0..depth) with `vr`, nothing else set; NULL when
 * out of memory. */
static struct qry_key *key_new(struct qry *q, const uint32_t *path,
			       size_t depth, enum dcm_vr vr)
{
	struct qry_key *k = key_append(q);

	if (k != NULL) {
		memcpy(k->path, path, depth * sizeof(path[0]));
		k->depth = (uint8_t)depth;
		k->vr = vr;
	}
	return k;
}

static struct qry_key *key_find(struct qry *q, const uint32_t *path,
				size_t depth)
{
	size_t i;

	for (i = 0; i < q->n_keys; i++) {
		struct qry_key *k = &q->keys[i];

		if (k->depth == depth &&
		    memcmp(k->path, path, depth * sizeof(path[0])) == 0)
			return k;
	}
	return NULL;
}

static enum pc_status nomem(struct pc_err *err)
{
	return pc_err_set(err, PC_NOMEM, 0, "query: out of memory");
}

/* ---- values -------------------------------------------------------------- */

static bool is_text_vr(enum dcm_vr vr)
{
	/* PS3.4 C.2.2.2.4: wildcards apply to the string VRs that are not
	 * dates, times, numbers, ages or UIDs. */
	switch (vr) {
	case DCM_VR_AE:
	case DCM_VR_CS:
	case DCM_VR_LO:
	case DCM_VR_LT:
	case DCM_VR_PN:
	case DCM_VR_SH:
	case DCM_VR_ST:
	case DCM_VR_UC:
	case DCM_VR_UR:
	case DCM_VR_UT:
		return true;
	default:
		return false;
	}
}

static bool is_int_vr(enum dcm_vr vr)
{
	return vr == DCM_VR_IS || vr == DCM_VR_SS || vr == DCM_VR_US ||
	       vr == DCM_VR_SL || vr == DCM_VR_UL || vr == DCM_VR_SV ||
	       vr == DCM_VR_UV;
}

static bool is_float_vr(enum dcm_vr vr)
{
	return vr == DCM_VR_DS || vr == DCM_VR_FL || vr == DCM_VR_FD;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Cursor steps for the number VRs below: each advances *i within s[0..n). */
static void skip_spaces(const char *s, size_t n, size_t *i)
{
	while (*i < n && s[*i] == ' ')
		(*i)++;
}

static void skip_sign(const char *s, size_t n, size_t *i)
{
	if (*i < n && (s[*i] == '+' || s[*i] == '-'))
		(*i)++;
}

/* Returns how many digits it passed. */
static size_t skip_digits(const char *s, size_t n, size_t *i)
{
	size_t d = 0;

	while (*i < n && is_digit(s[*i])) {
		(*i)++;
		d++;
	}
	return d;
}

/* PS3.5 6.2 IS (and the binary integer VRs written in decimal):
 * [spaces][+|-]digits[spaces]. */
static bool int_ok(const char *s, size_t n)
{
	size_t i = 0, d;

	skip_spaces(s, n, &i);
	skip_sign(s, n, &i);
	d = skip_digits(s, n, &i);
	skip_spaces(s, n, &i);
	return d > 0 && i == n;
}

/* PS3.5 6.2 DS: a fixed or floating point number, spaces around. */
static bool float_ok(const char *s, size_t n)
{
	size_t i = 0, d;

	skip_spaces(s, n, &i);
	skip_sign(s, n, &i);
	d = skip_digits(s, n, &i);
	if (i < n && s[i] == '.') {
		i++;
		d += skip_digits(s, n, &i);
	}
	if (d == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		skip_sign(s, n, &i);
		if (skip_digits(s, n, &i) == 0)
			return false;
	}
	skip_spaces(s, n, &i);
	return i == n;
}

static const char *dt_format(enum dcm_vr vr)
{
	switch (vr) {
	case DCM_VR_DA:
		return "YYYYMMDD";
	case DCM_VR_TM:
		return "HH[MM[SS[.FFFFFF]]]";
	default:
		return "YYYY[MM[DD[HH[MM[SS[.FFFFFF]]]]]][+/-ZZXX]";
	}
}

/* A bound of a range: empty (open) or a well-formed value. */
static bool bound_ok(enum dcm_vr vr, const char *s, size_t n)
{
	char out[QRY__NORM_SIZE];

	return n == 0 || qry__dt_norm(vr, s, n, '0', false, out);
}

/*
 * Sets k->match, value, hi and uids from `v` (`n` bytes, no NUL inside) for
 * k->vr (PS3.4 C.2.2.2, PS3.18 8.3.4). `what` names the key in messages.
 */
static enum pc_status key_set_value(struct qry *q, struct qry_key *k,
				    const char *what, const char *v, size_t n,
				    uint64_t off, struct pc_err *err)
{
	char out[QRY__NORM_SIZE];
	const char *dash;
	size_t i, a, count;
	int sw = n > SHOW ? SHOW : (int)n;

	k->hi = NULL;
	k->uids = NULL;
	k->n_uids = 0;
	if (!qry__utf8_valid(v, n))
		return pc_err_set(err, PC_INVAL, off,
				  "%s: value is not valid UTF-8", what);
	if (n == 0) {
		k->match = QRY_MATCH_UNIVERSAL;
		k->value = "";
		return PC_OK;
	}
	if (k->vr == DCM_VR_SQ)
		return pc_err_set(err, PC_INVAL, off,
				  "%s: a sequence takes no value (\"%.*s\"); "
				  "match its items' attributes with a dotted "
				  "path",
				  what, sw, v);
	k->value = pc_arena_strndup(q->arena, v, n);
	if (k->value == NULL)
		return nomem(err);

	if (k->vr == DCM_VR_UI) {
		/* PS3.18 8.3.4.1: a list of UIDs, ',' or '\' between them. */
		count = 1;
		for (i = 0; i < n; i++)
			if (v[i] == ',' || v[i] == '\\')
				count++;
		k->uids = pc_arena_alloc(q->arena, count * sizeof(k->uids[0]));
		if (k->uids == NULL)
			return nomem(err);
		a = 0;
		for (i = 0; i <= n; i++) {
			if (i < n && v[i] != ',' && v[i] != '\\')
				continue;
			if (i == a)
				return pc_err_set(err, PC_INVAL, off,
						  "%s: empty UID in list "
						  "\"%.*s\"",
						  what, sw, v);
			k->uids[k->n_uids] =
				pc_arena_strndup(q->arena, v + a, i - a);
			if (k->uids[k->n_uids] == NULL)
				return nomem(err);
			k->n_uids++;
			a = i + 1;
		}
		k->match = QRY_MATCH_UID_LIST;
		return PC_OK;
	}

	if (k->vr == DCM_VR_DA || k->vr == DCM_VR_TM || k->vr == DCM_VR_DT) {
		/* PS3.4 C.2.2.2.5. A DT offset also has a '-': a value that
		 * reads as one DT is a single value; else the first '-' that
		 * leaves two well-formed (or empty) bounds splits the range. */
		if (qry__dt_norm(k->vr, v, n, '0', false, out)) {
			k->match = QRY_MATCH_SINGLE;
			return PC_OK;
		}
		dash = memchr(v, '-', n);
		while (dash != NULL) {
			size_t lo = (size_t)(dash - v);

			if (bound_ok(k->vr, v, lo) &&
			    bound_ok(k->vr, dash + 1, n - lo - 1)) {
				k->match = QRY_MATCH_RANGE;
				k->value = pc_arena_strndup(q->arena, v, lo);
				k->hi = pc_arena_strndup(q->arena, dash + 1,
						      n - lo - 1);
				if (k->value == NULL || k->hi == NULL)
					return nomem(err);
				return PC_OK;
			}
			dash = memchr(dash + 1, '-', n - lo - 1);
		}
		if (memchr(v, '-', n) != NULL)
			return pc_err_set(err, PC_INVAL, off,
					  "%s: malformed %s range \"%.*s\" "
					  "(bounds must be %s)",
					  what, dcm_vr_name(k->vr), sw, v,
					  dt_format(k->vr));
		return pc_err_set(err, PC_INVAL, off,
				  "%s: malformed %s \"%.*s\" (expected %s)",
				  what, dcm_vr_name(k->vr), sw, v,
				  dt_format(k->vr));
	}

	if (is_int_vr(k->vr) || is_float_vr(k->vr)) {
		bool ok = is_int_vr(k->vr) ? int_ok(v, n) : float_ok(v, n);

		if (!ok) {
			/* A '-' past the sign can only be a range attempt. */
			i = 0;
			while (i < n && v[i] == ' ')
				i++;
			if (memchr(v + i + (i < n), '-', n - i - (i < n)))
				return pc_err_set(err, PC_INVAL, off,
						  "%s: range matching is not "
						  "defined for VR %s (\"%.*s\")",
						  what, dcm_vr_name(k->vr), sw,
						  v);
			return pc_err_set(err, PC_INVAL, off,
					  "%s: malformed %s number \"%.*s\"",
					  what, dcm_vr_name(k->vr), sw, v);
		}
		k->match = QRY_MATCH_SINGLE;
		return PC_OK;
	}

	if (is_text_vr(k->vr) &&
	    (memchr(v, '*', n) != NULL || memchr(v, '?', n) != NULL))
		k->match = QRY_MATCH_WILDCARD;
	else
		k->match = QRY_MATCH_SINGLE;
	return PC_OK;
}

/* ---- names --------------------------------------------------------------- */

/* Whether the `n` bytes at `s` are all hex digits. */
static bool all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!is_digit(c) && !(c >= 'a' && c <= 'f') &&
		    !(c >= 'A' && c <= 'F'))
			return false;
	}
	return true;
}

static uint32_t hex32(const char *s)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 8; i++) {
		char c = s[i];
		uint32_t d = is_digit(c)          ? (uint32_t)(c - '0')
			     : (c >= 'a' && c <= 'f') ? (uint32_t)(c - 'a' + 10)
						      : (uint32_t)(c - 'A' + 10);

		v = (v << 4) | d;
	}
	return v;
}

enum seg_result { SEG_OK, SEG_UNKNOWN, SEG_BAD_TAG };

/*
 * Resolves one path segment: 8 hex digits (PS3.18 8.3.4: "gggg eeee"), or
 * a dictionary keyword (case-sensitive). A tag the dictionary does not know
 * is accepted as UN; hex digits of the wrong count are a malformed tag;
 * anything else is an unknown name.
 */
static enum seg_result resolve_segment(const char *s, size_t n, uint32_t *tag,
				       enum dcm_vr *vr)
{
	char kw[QRY_MAX_NAME];
	const struct dcm_dict_entry *e;
	size_t i;
	bool digit = false;

	if (n == 8 && all_hex(s, n)) {
		*tag = hex32(s);
		e = dcm_dict_find(*tag);
		*vr = e != NULL && e->vr != DCM_VR_NONE ? e->vr : DCM_VR_UN;
		return SEG_OK;
	}
	if (n == 0 || n >= sizeof(kw))
		return SEG_UNKNOWN;
	memcpy(kw, s, n);
	kw[n] = '\0';
	e = dcm_dict_find_keyword(kw);
	if (e != NULL) {
		*tag = e->tag;
		*vr = e->vr != DCM_VR_NONE ? e->vr : DCM_VR_UN;
		return SEG_OK;
	}
	/* "0010001" or "001000100": meant as a tag, but not 8 digits. */
	for (i = 0; i < n; i++)
		if (is_digit(s[i]))
			digit = true;
	return digit && all_hex(s, n) ? SEG_BAD_TAG : SEG_UNKNOWN;
}

/* ---- parameters ---------------------------------------------------------- */

struct parse_state {
	bool seen_limit, seen_offset, seen_fuzzy;
};

static bool include_has(const struct qry *q, uint32_t tag)
{
	size_t i;

	for (i = 0; i < q->n_include; i++)
		if (q->include[i] == tag)
			return true;
	return false;
}

/* includefield={attr}[,{attr}...] | all (PS3.18 8.3.4.3). An item that is a
 * dotted path includes its top-level sequence; unknown keywords are
 * ignored like unknown parameters. */
static enum pc_status param_include(struct qry *q, const char *v, size_t n,
				    uint64_t off, struct pc_err *err)
{
	size_t i = 0;

	while (i < n) {
		size_t a, e, top;
		uint32_t tag;
		enum dcm_vr vr;
		enum seg_result r;
		const char *dot;
		void *arr;

		while (i < n && (v[i] == ',' || v[i] == ' '))
			i++;
		a = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > a && v[e - 1] == ' ')
			e--;
		if (e == a)
			continue;
		if (e - a == 3 && memcmp(v + a, "all", 3) == 0) {
			q->include_all = true;
			continue;
		}
		dot = memchr(v + a, '.', e - a);
		top = dot != NULL ? (size_t)(dot - (v + a)) : e - a;
		r = resolve_segment(v + a, top, &tag, &vr);
		if (r == SEG_BAD_TAG)
			return pc_err_set(err, PC_INVAL, off,
					  "includefield: malformed tag "
					  "\"%.*s\" (expected 8 hex digits)",
					  (int)(top > SHOW ? SHOW : top), v + a);
		if (r == SEG_UNKNOWN || include_has(q, tag))
			continue;
		if (q->n_include == QRY_MAX_INCLUDE)
			return pc_err_set(err, PC_INVAL, off,
					  "includefield: more than %d "
					  "attributes",
					  QRY_MAX_INCLUDE);
		arr = q->include;
		if (!grow(q->arena, &arr, q->n_include, sizeof(uint32_t), 16))
			return nomem(err);
		q->include = arr;
		q->include[q->n_include++] = tag;
	}
	return PC_OK;
}

/* A decimal number for limit/offset (PS3.18 8.3.4.4): digits only. */
static enum pc_status param_number(const char *name, const char *v, size_t n,
				   uint32_t *out, uint64_t off,
				   struct pc_err *err)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0)
		return pc_err_set(err, PC_INVAL, off, "%s: empty value", name);
	for (i = 0; i < n; i++) {
		if (!is_digit(v[i]))
			return pc_err_set(err, PC_INVAL, off,
					  "%s: \"%.*s\" is not a non-negative "
					  "decimal number",
					  name, (int)(n > SHOW ? SHOW : n), v);
		x = x * 10 + (uint64_t)(v[i] - '0');
		if (x > UINT32_MAX)
			return pc_err_set(err, PC_INVAL, off,
					  "%s: %.*s is too large (at most "
					  "%u)",
					  name, (int)(n > SHOW ? SHOW : n), v,
					  (unsigned)UINT32_MAX);
	}
	*out = (uint32_t)x;
	return PC_OK;
}

/* Ensures the sequence key for path[0..depth) exists and is SEQUENCE. */
static enum pc_status ensure_sequence(struct qry *q, const uint32_t *path,
				      size_t depth, struct pc_err *err)
{
	struct qry_key *k = key_find(q, path, depth);

	if (k == NULL) {
		k = key_new(q, path, depth, DCM_VR_SQ);
		if (k == NULL)
			return nomem(err);
		k->value = "";
	}
	k->match = QRY_MATCH_SEQUENCE;
	return PC_OK;
}

/* {attribute}={value} (PS3.18 8.3.4.1). */
static enum pc_status param_attr(struct qry *q, const char *name,
				 const char *v, size_t n, uint64_t off,
				 struct pc_err *err)
{
	uint32_t path[QRY_PATH_MAX];
	enum dcm_vr vrs[QRY_PATH_MAX], vr = DCM_VR_NONE;
	size_t depth = 0, i, len = strlen(name), a = 0;
	bool too_deep = false;
	char what[SHOW + 32];
	struct qry_key *k;
	enum pc_status st;

	snprintf(what, sizeof(what), "query parameter \"%.*s\"",
		 (int)(len > SHOW ? SHOW : len), name);
	for (i = 0; i <= len; i++) {
		uint32_t tag;
		enum seg_result r;

		if (i < len && name[i] != '.')
			continue;
		r = resolve_segment(name + a, i - a, &tag, &vr);
		if (r == SEG_BAD_TAG)
			return pc_err_set(err, PC_INVAL, off,
					  "%s: malformed tag \"%.*s\" "
					  "(expected 8 hex digits)",
					  what,
					  (int)(i - a > SHOW ? SHOW : i - a),
					  name + a);
		if (r == SEG_UNKNOWN)
			return PC_OK; /* PS3.18 8.3.4: ignore it */
		if (depth == QRY_PATH_MAX)
			too_deep = true;
		else {
			path[depth] = tag;
			vrs[depth] = vr;
			depth++;
		}
		a = i + 1;
	}
	if (too_deep)
		return pc_err_set(err, PC_INVAL, off,
				  "%s: sequence path deeper than %d", what,
				  QRY_PATH_MAX);
	for (i = 0; i + 1 < depth; i++)
		if (vrs[i] != DCM_VR_SQ)
			return pc_err_set(err, PC_INVAL, off,
					  "%s: (%04X,%04X) is not a sequence",
					  what, (unsigned)(path[i] >> 16),
					  (unsigned)(path[i] & 0xFFFF));

	k = key_find(q, path, depth);
	if (k != NULL) {
		/* A sequence named alone beside paths into it: nothing new. */
		if (vr == DCM_VR_SQ && n == 0)
			return PC_OK;
		return pc_err_set(err, PC_INVAL, off,
				  "%s: attribute given more than once", what);
	}
	for (i = 1; i < depth; i++) {
		st = ensure_sequence(q, path, i, err);
		if (st != PC_OK)
			return st;
	}
	k = key_new(q, path, depth, vr);
	if (k == NULL)
		return nomem(err);
	st = key_set_value(q, k, what, v, n, off, err);
	if (st != PC_OK) {
		q->n_keys--; /* drop the half-made key */
		return st;
	}
	/* An SQ named alone but already opened by a path stays SEQUENCE. */
	return PC_OK;
}

static enum pc_status param(struct qry *q, struct parse_state *ps,
			    const char *name, const char *v, size_t n,
			    uint64_t off, struct pc_err *err)
{
	if (strcmp(name, "includefield") == 0)
		return param_include(q, v, n, off, err);
	if (strcmp(name, "limit") == 0 || strcmp(name, "offset") == 0) {
		bool lim = name[0] == 'l';
		bool *seen = lim ? &ps->seen_limit : &ps->seen_offset;
		enum pc_status st;

		if (*seen)
			return pc_err_set(err, PC_INVAL, off,
					  "%s: given more than once", name);
		*seen = true;
		st = param_number(name, v, n, lim ? &q->limit : &q->offset,
				  off, err);
		if (st == PC_OK && lim)
			q->has_limit = true;
		return st;
	}
	if (strcmp(name, "fuzzymatching") == 0) {
		/* PS3.18 8.3.4.6. */
		if (ps->seen_fuzzy)
			return pc_err_set(err, PC_INVAL, off,
					  "fuzzymatching: given more than "
					  "once");
		ps->seen_fuzzy = true;
		if (n == 4 && memcmp(v, "true", 4) == 0)
			q->fuzzy = true;
		else if (n == 5 && memcmp(v, "false", 5) == 0)
			q->fuzzy = false;
		else
			return pc_err_set(err, PC_INVAL, off,
					  "fuzzymatching: \"%.*s\" is neither "
					  "true nor false",
					  (int)(n > SHOW ? SHOW : n), v);
		return PC_OK;
	}
	return param_attr(q, name, v, n, off, err);
}

/* Percent-decodes one name or value into `b`, naming it in errors. */
static enum pc_status decode(struct pc_buf *b, struct pc_span s,
			     const char *what, struct pc_span pname,
			     uint64_t off, struct pc_err *err)
{
	struct pc_err e = {0};
	enum pc_status st;

	pc_buf_reset(b);
	st = pc_url_decode((const char *)s.p, s.n, true, b, &e);
	if (st != PC_OK)
		return pc_err_set(err, st, off + e.offset,
				  "query parameter \"%.*s\": %s: %s",
				  (int)(pname.n > SHOW ? SHOW : pname.n),
				  (const char *)pname.p, what, e.msg);
	/* pc_url_decode refuses NUL bytes; a C string must not hide any. */
	if (strlen(pc_buf_str(b)) != b->n)
		return pc_err_set(err, PC_INVAL, off,
				  "query parameter \"%.*s\": NUL byte in %s",
				  (int)(pname.n > SHOW ? SHOW : pname.n),
				  (const char *)pname.p, what);
	return PC_OK;
}

/* The error for a value over QRY_MAX_VALUE bytes; `name` is the decoded
 * parameter name. */
static enum pc_status value_too_long(const struct pc_buf *name, uint64_t off,
				     struct pc_err *err)
{
	return pc_err_set(err, PC_INVAL, off,
			  "query parameter \"%.*s\": value longer than %d "
			  "bytes",
			  (int)(name->n > SHOW ? SHOW : name->n),
			  pc_buf_str(name), QRY_MAX_VALUE);
}

enum pc_status qry_parse_qido(struct qry *q, const char *qs, size_t n,
			      struct pc_err *err)
{
	struct pc_qs it;
	struct pc_span name, value;
	struct pc_buf nb = PC_BUF_INIT, vb = PC_BUF_INIT;
	struct parse_state ps = {false, false, false};
	size_t count = 0;
	enum pc_status st = PC_OK;

	if (q == NULL || q->arena == NULL)
		return pc_err_set(err, PC_INVAL, 0,
				  "query: qry_init() was not called");
	if (qs == NULL) {
		qs = "";
		n = 0;
	}
	it = pc_qs_make(qs, n);
	while (pc_qs_next(&it, &name, &value)) {
		uint64_t off = (uint64_t)((const char *)name.p - qs);

		if (++count > QRY_MAX_PARAMS) {
			st = pc_err_set(err, PC_INVAL, off,
					"query: more than %d parameters",
					QRY_MAX_PARAMS);
			goto out;
		}
		st = decode(&nb, name, "name", name, off, err);
		if (st != PC_OK)
			goto out;
		/* Each encoded byte decodes to at least a third of one: a
		 * longer raw value is over the limit without decoding it. */
		if (value.n / 3 > QRY_MAX_VALUE) {
			st = value_too_long(&nb, off, err);
			goto out;
		}
		st = decode(&vb, value, "value", name,
			    (uint64_t)((const char *)value.p - qs), err);
		if (st != PC_OK)
			goto out;
		if (vb.n > QRY_MAX_VALUE) {
			st = value_too_long(&nb, off, err);
			goto out;
		}
		st = param(q, &ps, pc_buf_str(&nb), pc_buf_str(&vb), vb.n, off,
			   err);
		if (st != PC_OK)
			goto out;
	}
out:
	pc_buf_cleanup(&nb);
	pc_buf_cleanup(&vb);
	return st;
}

enum pc_status qry_add_key(struct qry *q, uint32_t tag, enum dcm_vr vr,
			   const char *value, struct pc_err *err)
{
	struct qry_key *k = NULL, saved;
	const struct dcm_dict_entry *e;
	char what[48];
	size_t i;
	enum pc_status st;
	bool added = false;

	if (q == NULL || q->arena == NULL)
		return pc_err_set(err, PC_INVAL, 0,
				  "query: qry_init() was not called");
	if (value == NULL)
		value = "";
	if (vr == DCM_VR_NONE) {
		e = dcm_dict_find(tag);
		vr = e != NULL && e->vr != DCM_VR_NONE ? e->vr : DCM_VR_UN;
	}
	snprintf(what, sizeof(what), "key (%04X,%04X)", (unsigned)(tag >> 16),
		 (unsigned)(tag & 0xFFFF));
	for (i = 0; i < q->n_keys; i++) {
		if (q->keys[i].depth == 1 && q->keys[i].path[0] == tag) {
			k = &q->keys[i];
			break;
		}
	}
	if (k == NULL) {
		k = key_append(q);
		if (k == NULL)
			return nomem(err);
		added = true;
	}
	saved = *k;
	memset(k, 0, sizeof(*k));
	k->path[0] = tag;
	k->depth = 1;
	k->vr = vr;
	st = key_set_value(q, k, what, value, strlen(value), 0, err);
	if (st != PC_OK) {
		/* Leave q as it was. */
		if (added)
			q->n_keys--;
		else
			*k = saved;
	}
	return st;
}

const struct qry_key *qry_find_key(const struct qry *q, uint32_t tag)
{
	size_t i;

	if (q == NULL)
		return NULL;
	for (i = 0; i < q->n_keys; i++)
		if (q->keys[i].depth == 1 && q->keys[i].path[0] == tag)
			return &q->keys[i];
	return NULL;
}

/* ---- levels -------------------------------------------------------------- */

/* PS3.18 10.6.3.3: each level's own return attributes, sorted. */
static const uint32_t patient_fields[] = {
	0x00080005, /* SpecificCharacterSet */
	0x00100010, /* PatientName */
	0x00100020, /* PatientID */
	0x00100030, /* PatientBirthDate */
	0x00100040, /* PatientSex */
};

/* Table 10.6.3-3 Study Resources Search Response Payload. */
static const uint32_t study_fields[] = {
	0x00080005, /* SpecificCharacterSet */
	0x00080020, /* StudyDate */
	0x00080030, /* StudyTime */
	0x00080050, /* AccessionNumber */
	0x00080056, /* InstanceAvailability */
	0x00080061, /* ModalitiesInStudy */
	0x00080090, /* ReferringPhysicianName */
	0x00080201, /* TimezoneOffsetFromUTC */
	0x00081190, /* RetrieveURL */
	0x00100010, /* PatientName */
	0x00100020, /* PatientID */
	0x00100030, /* PatientBirthDate */
	0x00100040, /* PatientSex */
	0x0020000D, /* StudyInstanceUID */
	0x00200010, /* StudyID */
	0x00201206, /* NumberOfStudyRelatedSeries */
	0x00201208, /* NumberOfStudyRelatedInstances */
};

/* Table 10.6.3-4 Series Resources Search Response Payload. */
static const uint32_t series_fields[] = {
	0x00080005, /* SpecificCharacterSet */
	0x00080060, /* Modality */
	0x00080201, /* TimezoneOffsetFromUTC */
	0x0008103E, /* SeriesDescription */
	0x00081190, /* RetrieveURL */
	0x0020000E, /* SeriesInstanceUID */
	0x00200011, /* SeriesNumber */
	0x00201209, /* NumberOfSeriesRelatedInstances */
	0x00400244, /* PerformedProcedureStepStartDate */
	0x00400245, /* PerformedProcedureStepStartTime */
	0x00400275, /* RequestAttributesSequence */
};

/* Table 10.6.3-5 Instance Resources Search Response Payload. */
static const uint32_t instance_fields[] = {
	0x00080005, /* SpecificCharacterSet */
	0x00080016, /* SOPClassUID */
	0x00080018, /* SOPInstanceUID */
	0x00080056, /* InstanceAvailability */
	0x00080201, /* TimezoneOffsetFromUTC */
	0x00081190, /* RetrieveURL */
	0x00200013, /* InstanceNumber */
	0x00280008, /* NumberOfFrames */
	0x00280010, /* Rows */
	0x00280011, /* Columns */
	0x00280100, /* BitsAllocated */
};

/* Study + series: PS3.18 10.6.3.3.2, "If the Target Resource is All
 * Series, then include all Study Level Attributes". */
static const uint32_t series_all_fields[] = {
	0x00080005, 0x00080020, 0x00080030, 0x00080050, 0x00080056,
	0x00080060, 0x00080061, 0x00080090, 0x00080201, 0x0008103E,
	0x00081190, 0x00100010, 0x00100020, 0x00100030, 0x00100040,
	0x0020000D, 0x0020000E, 0x00200010, 0x00200011, 0x00201206,
	0x00201208, 0x00201209, 0x00400244, 0x00400245, 0x00400275,
};

/* Study + series + instance: PS3.18 10.6.3.3.3, "If the Target Resource
 * is All Instances, then include all Study Level Attributes and all Series
 * Level Attributes". */
static const uint32_t instance_all_fields[] = {
	0x00080005, 0x00080016, 0x00080018, 0x00080020, 0x00080030,
	0x00080050, 0x00080056, 0x00080060, 0x00080061, 0x00080090,
	0x00080201, 0x0008103E, 0x00081190, 0x00100010, 0x00100020,
	0x00100030, 0x00100040, 0x0020000D, 0x0020000E, 0x00200010,
	0x00200011, 0x00200013, 0x00201206, 0x00201208, 0x00201209,
	0x00280008, 0x00280010, 0x00280011, 0x00280100, 0x00400244,
	0x00400245, 0x00400275,
};

struct field_list {
	const uint32_t *tags;
	size_t n;
};

#define LIST(a) {(a), sizeof(a) / sizeof((a)[0])}

/* Each level's own attributes, and the defaults of an unscoped query of
 * that level (the levels above included); indexed by enum qry_level. */
static const struct field_list level_lists[] = {
	[QRY_LEVEL_PATIENT] = LIST(patient_fields),
	[QRY_LEVEL_STUDY] = LIST(study_fields),
	[QRY_LEVEL_SERIES] = LIST(series_fields),
	[QRY_LEVEL_INSTANCE] = LIST(instance_fields),
};
static const struct field_list default_lists[] = {
	[QRY_LEVEL_PATIENT] = LIST(patient_fields),
	[QRY_LEVEL_STUDY] = LIST(study_fields),
	[QRY_LEVEL_SERIES] = LIST(series_all_fields),
	[QRY_LEVEL_INSTANCE] = LIST(instance_all_fields),
};

/* lists[level], or NULL and 0 for a level outside the enum. */
static const uint32_t *pick(const struct field_list *lists,
			    enum qry_level level, size_t *n)
{
	bool known = level >= QRY_LEVEL_PATIENT && level <= QRY_LEVEL_INSTANCE;

	if (n != NULL)
		*n = known ? lists[level].n : 0;
	return known ? lists[level].tags : NULL;
}

const uint32_t *qry_default_fields(enum qry_level level, size_t *n)
{
	return pick(default_lists, level, n);
}

const uint32_t *qry_level_fields(enum qry_level level, size_t *n)
{
	return pick(level_lists, level, n);
}

int qry_attr_level(uint32_t tag)
{
	/* PS3.18 10.6.1.2.3 tables 10.6.1-5 (study), -6 (series) and -7
	 * (instance) matching keys; patient attributes belong to the Patient
	 * IE even though QIDO-RS searches them at the study level. */
	switch (tag) {
	case 0x00100010: /* PatientName */
	case 0x00100020: /* PatientID */
	case 0x00100030: /* PatientBirthDate */
	case 0x00100040: /* PatientSex */
		return QRY_LEVEL_PATIENT;
	case 0x00080020: /* StudyDate */
	case 0x00080030: /* StudyTime */
	case 0x00080050: /* AccessionNumber */
	case 0x00080061: /* ModalitiesInStudy */
	case 0x00080090: /* ReferringPhysicianName */
	case 0x00081030: /* StudyDescription */
	case 0x0020000D: /* StudyInstanceUID */
	case 0x00200010: /* StudyID */
		return QRY_LEVEL_STUDY;
	case 0x00080060: /* Modality */
	case 0x0008103E: /* SeriesDescription */
	case 0x0020000E: /* SeriesInstanceUID */
	case 0x00200011: /* SeriesNumber */
	case 0x00400244: /* PerformedProcedureStepStartDate */
	case 0x00400245: /* PerformedProcedureStepStartTime */
	case 0x00400275: /* RequestAttributesSequence */
		return QRY_LEVEL_SERIES;
	case 0x00080016: /* SOPClassUID */
	case 0x00080018: /* SOPInstanceUID */
	case 0x00200013: /* InstanceNumber */
	case 0x00280008: /* NumberOfFrames */
	case 0x00280010: /* Rows */
	case 0x00280011: /* Columns */
	case 0x00280100: /* BitsAllocated */
		return QRY_LEVEL_INSTANCE;
	default:
		return -1;
	}
}
