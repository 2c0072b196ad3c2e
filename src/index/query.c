/*
 * query.c - searching the SQLite index: a struct qry becomes one SELECT
 * with bound parameters (values are never pasted into SQL text), keys the
 * index has no column for are checked against the representative
 * instance's stored DICOM JSON, and each match is written as a PS3.18 F.2
 * JSON object straight into a reused pc_buf.
 *
 * Matching (PS3.4 C.2.2.2 as PS3.18 8.3.4 applies it):
 *   SINGLE     col = ?  (a '\'-separated key value matches any of its
 *              values: col IN (...)); PN compares the folded column
 *              (case- and accent-insensitive, trailing '^' ignored)
 *   WILDCARD   col GLOB ? ('*' and '?' are GLOB's own; a literal '['
 *              is escaped as "[[]"); PN on the folded column; a key of
 *              only '*' is universal (PS3.4 C.2.2.2.4)
 *   RANGE      DA/TM columns hold normalised text (fold.c) compared with
 *              >= and <=; NULL (empty) never matches
 *   UID_LIST   col IN (...)
 *   fuzzy PN   idx_qry_match(col, key) - qry_key_match() in C, through a
 *              pointer bound with sqlite3_bind_pointer
 * Keys of a level above the query level match through the upward joins;
 * keys of a lower level match when any child matches (EXISTS), which is
 * how ModalitiesInStudy and SOPClassesInStudy work too. The two
 * RequestAttributeSequence sub-keys of PS3.18 table 10.6.1-5 match in one
 * item of series_requests. Every other key is post-filtered in C, and then
 * offset and limit are applied in C as well; otherwise SQL applies them
 * (fetching one row more than the limit to detect truncation).
 *
 * Answers hold qry_level_fields(level) - plus those of the levels above
 * when the query is not scoped to one entity of that level (PS3.18
 * 10.6.3.3: All Series answers carry study attributes, Study's Instances
 * answers series attributes; this is qry_default_fields() for unscoped
 * queries) - the includefield attributes (for "all": the representative
 * instance's top-level attributes except those of lower levels, File Meta
 * and pixel data), the matching keys, the UIDs of the levels above,
 * InstanceAvailability and RetrieveURL. Column values are written
 * directly; the rest is copied from the stored metadata, parsed with
 * jansson only for rows that need it. Text is UTF-8, so
 * SpecificCharacterSet is "ISO_IR 192" when a value is not ASCII and
 * absent otherwise (ASCII is the default repertoire).
 *
 * Query plans: the indexes suit SQLite's planner without statistics (no
 * ANALYZE is run, see sq_close); children in EXISTS are reached through
 * their parent link, never through an index on the matched column.
 */
#include "idx_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_CHARSET DCM_TAG(0x0008, 0x0005)
#define TAG_AVAILABILITY DCM_TAG(0x0008, 0x0056)
#define TAG_RETRIEVE_URL DCM_TAG(0x0008, 0x1190)
#define TAG_MODALITIES DCM_TAG(0x0008, 0x0061)
#define TAG_SOP_CLASSES DCM_TAG(0x0008, 0x0062)
#define TAG_REQUEST_SEQ DCM_TAG(0x0040, 0x0275)
#define TAG_SPS_ID DCM_TAG(0x0040, 0x0009)
#define TAG_RP_ID DCM_TAG(0x0040, 0x1001)
#define TAG_PATIENT_ID DCM_TAG(0x0010, 0x0020)
#define TAG_STUDY_UID DCM_TAG(0x0020, 0x000D)
#define TAG_SERIES_UID DCM_TAG(0x0020, 0x000E)
#define TAG_SOP_UID DCM_TAG(0x0008, 0x0018)
#define TAG_SOP_CLASS DCM_TAG(0x0008, 0x0016)

#define L_PATIENT QRY_LEVEL_PATIENT
#define L_STUDY QRY_LEVEL_STUDY
#define L_SERIES QRY_LEVEL_SERIES
#define L_INSTANCE QRY_LEVEL_INSTANCE

/* ---- columns ----------------------------------------------------------- */

enum col_kind {
	K_TEXT, /* string VR, compared as stored */
	K_UI,   /* UID */
	K_PN,   /* person name with a folded twin */
	K_DA,   /* normalised date */
	K_TM,   /* normalised time */
	K_INT,  /* integer (IS, US, counts) */
	K_LIST, /* '\'-joined list kept for output; matched through children */
	K_JSON, /* a whole element's DICOM JSON, output as is */
};

struct col {
	uint32_t tag;
	int level; /* enum qry_level of the table */
	enum dcm_vr vr;
	enum col_kind kind;
	const char *expr; /* in the FROM clause of the level (aliases p,
	                     st, se, i) */
	const char *fold; /* K_PN: the folded column */
};

/* Aliases: p patients, st studies, se series, i instances. */
static const struct col cols[] = {
    {DCM_TAG(0x0010, 0x0010), L_PATIENT, DCM_VR_PN, K_PN, "p.patient_name",
     "p.patient_name_fold"},
    {TAG_PATIENT_ID, L_PATIENT, DCM_VR_LO, K_TEXT, "p.patient_id", NULL},
    {DCM_TAG(0x0010, 0x0021), L_PATIENT, DCM_VR_LO, K_TEXT, "p.issuer", NULL},
    {DCM_TAG(0x0010, 0x0030), L_PATIENT, DCM_VR_DA, K_DA, "p.birth_date", NULL},
    {DCM_TAG(0x0010, 0x0040), L_PATIENT, DCM_VR_CS, K_TEXT, "p.sex", NULL},
    {DCM_TAG(0x0020, 0x1200), L_PATIENT, DCM_VR_IS, K_INT,
     "(SELECT count(*) FROM studies x WHERE x.patient_ref = p.id)", NULL},
    {DCM_TAG(0x0020, 0x1202), L_PATIENT, DCM_VR_IS, K_INT,
     "(SELECT sum(x.n_series) FROM studies x WHERE x.patient_ref = p.id)",
     NULL},
    {DCM_TAG(0x0020, 0x1204), L_PATIENT, DCM_VR_IS, K_INT,
     "(SELECT sum(x.n_instances) FROM studies x WHERE x.patient_ref = "
     "p.id)",
     NULL},
    {TAG_STUDY_UID, L_STUDY, DCM_VR_UI, K_UI, "st.study_uid", NULL},
    {DCM_TAG(0x0008, 0x0020), L_STUDY, DCM_VR_DA, K_DA, "st.study_date", NULL},
    {DCM_TAG(0x0008, 0x0030), L_STUDY, DCM_VR_TM, K_TM, "st.study_time", NULL},
    {DCM_TAG(0x0008, 0x0050), L_STUDY, DCM_VR_SH, K_TEXT, "st.accession", NULL},
    {DCM_TAG(0x0008, 0x0090), L_STUDY, DCM_VR_PN, K_PN,
     "st.referring_physician", "st.referring_physician_fold"},
    {DCM_TAG(0x0020, 0x0010), L_STUDY, DCM_VR_SH, K_TEXT, "st.study_id", NULL},
    {DCM_TAG(0x0008, 0x1030), L_STUDY, DCM_VR_LO, K_TEXT,
     "st.study_description", NULL},
    {DCM_TAG(0x0008, 0x0201), L_STUDY, DCM_VR_SH, K_TEXT, "st.timezone", NULL},
    {TAG_MODALITIES, L_STUDY, DCM_VR_CS, K_LIST, "st.modalities", NULL},
    {TAG_SOP_CLASSES, L_STUDY, DCM_VR_UI, K_LIST, "st.sop_classes", NULL},
    {DCM_TAG(0x0020, 0x1206), L_STUDY, DCM_VR_IS, K_INT, "st.n_series", NULL},
    {DCM_TAG(0x0020, 0x1208), L_STUDY, DCM_VR_IS, K_INT, "st.n_instances",
     NULL},
    {TAG_SERIES_UID, L_SERIES, DCM_VR_UI, K_UI, "se.series_uid", NULL},
    {DCM_TAG(0x0008, 0x0060), L_SERIES, DCM_VR_CS, K_TEXT, "se.modality", NULL},
    {DCM_TAG(0x0020, 0x0011), L_SERIES, DCM_VR_IS, K_INT, "se.series_number",
     NULL},
    {DCM_TAG(0x0008, 0x103E), L_SERIES, DCM_VR_LO, K_TEXT,
     "se.series_description", NULL},
    {DCM_TAG(0x0040, 0x0244), L_SERIES, DCM_VR_DA, K_DA, "se.pps_start_date",
     NULL},
    {DCM_TAG(0x0040, 0x0245), L_SERIES, DCM_VR_TM, K_TM, "se.pps_start_time",
     NULL},
    {DCM_TAG(0x0020, 0x1209), L_SERIES, DCM_VR_IS, K_INT, "se.n_instances",
     NULL},
    {TAG_REQUEST_SEQ, L_SERIES, DCM_VR_SQ, K_JSON, "se.request_attrs", NULL},
    {TAG_SOP_UID, L_INSTANCE, DCM_VR_UI, K_UI, "i.sop_uid", NULL},
    {TAG_SOP_CLASS, L_INSTANCE, DCM_VR_UI, K_UI, "i.sop_class_uid", NULL},
    {DCM_TAG(0x0020, 0x0013), L_INSTANCE, DCM_VR_IS, K_INT, "i.instance_number",
     NULL},
    {DCM_TAG(0x0028, 0x0010), L_INSTANCE, DCM_VR_US, K_INT, "i.n_rows", NULL},
    {DCM_TAG(0x0028, 0x0011), L_INSTANCE, DCM_VR_US, K_INT, "i.n_columns",
     NULL},
    {DCM_TAG(0x0028, 0x0100), L_INSTANCE, DCM_VR_US, K_INT, "i.bits_allocated",
     NULL},
    {DCM_TAG(0x0028, 0x0008), L_INSTANCE, DCM_VR_IS, K_INT,
     "nullif(i.frames, 0)", NULL},
};
#define N_COLS (sizeof(cols) / sizeof(cols[0]))

static const struct col *col_find(uint32_t tag)
{
	size_t i;

	for (i = 0; i < N_COLS; i++)
		if (cols[i].tag == tag)
			return &cols[i];
	return NULL;
}

/* FROM clause, ORDER BY and representative instance of each level. */
static const char *const level_from[] = {
    [L_PATIENT] = " FROM patients p",
    [L_STUDY] = " FROM studies st JOIN patients p ON p.id = st.patient_ref",
    [L_SERIES] = " FROM series se JOIN studies st ON st.id = se.study_ref"
                 " JOIN patients p ON p.id = st.patient_ref",
    [L_INSTANCE] = " FROM instances i JOIN series se ON se.id = i.series_ref"
                   " JOIN studies st ON st.id = se.study_ref"
                   " JOIN patients p ON p.id = st.patient_ref",
};
static const char *const level_order[] = {
    [L_PATIENT] = " ORDER BY p.patient_id, p.id",
    [L_STUDY] = (" ORDER BY st.study_date DESC, st.study_time DESC,"
                 " st.study_uid DESC"),
    [L_SERIES] = " ORDER BY se.series_number, se.series_uid",
    [L_INSTANCE] = " ORDER BY i.instance_number, i.sop_uid",
};
static const char *const level_rep[] = {
    [L_PATIENT] = ("(SELECT min(x.rep_instance) FROM studies x WHERE "
                   "x.patient_ref = p.id)"),
    [L_STUDY] = "st.rep_instance",
    [L_SERIES] = "se.rep_instance",
    [L_INSTANCE] = "i.id",
};
/* Tables below a level, for EXISTS over children: the table with its
 * alias and its link to the level above. */
static const char *const child_table[] = {
    [L_STUDY] = "studies st",
    [L_SERIES] = "series se",
    [L_INSTANCE] = "instances i",
};
static const char *const child_link[] = {
    [L_STUDY] = "st.patient_ref = p.id",
    [L_SERIES] = "se.study_ref = st.id",
    [L_INSTANCE] = "i.series_ref = se.id",
};

/* ---- SQL functions ------------------------------------------------------- */

static void fn_fold(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const unsigned char *s = sqlite3_value_text(argv[0]);
	struct pc_buf b = PC_BUF_INIT;

	(void)argc;
	if (s == NULL) {
		sqlite3_result_null(cx);
		return;
	}
	idx__fold((const char *)s, (size_t)sqlite3_value_bytes(argv[0]), &b);
	if (pc_buf_status(&b) != PC_OK) {
		pc_buf_cleanup(&b);
		sqlite3_result_error_nomem(cx);
		return;
	}
	sqlite3_result_text(cx, pc_buf_str(&b), (int)b.n, SQLITE_TRANSIENT);
	pc_buf_cleanup(&b);
}

#define KEY_PTR_TYPE "pacsd_qry_key"

/* Whether any '\'-separated value of `s` matches. */
static bool match_values(const struct qry_key *k, const char *s, size_t n,
                         bool fuzzy)
{
	char small[256];
	const char *p = s, *end = s + n;

	while (p <= end) {
		const char *q = memchr(p, '\\', (size_t)(end - p));
		size_t len = q ? (size_t)(q - p) : (size_t)(end - p);
		bool ok;

		if (len < sizeof(small)) {
			memcpy(small, p, len);
			small[len] = '\0';
			ok = qry_key_match(k, small, fuzzy);
		} else {
			char *big = pc_malloc(len + 1);

			if (big == NULL)
				return false;
			memcpy(big, p, len);
			big[len] = '\0';
			ok = qry_key_match(k, big, fuzzy);
			pc_free(big);
		}
		if (ok)
			return true;
		if (q == NULL)
			break;
		p = q + 1;
	}
	return false;
}

static void fn_qry_match(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const struct qry_key *k = sqlite3_value_pointer(argv[1], KEY_PTR_TYPE);
	const unsigned char *s = sqlite3_value_text(argv[0]);

	(void)argc;
	if (k == NULL || s == NULL) {
		sqlite3_result_int(cx, 0);
		return;
	}
	sqlite3_result_int(cx,
	                   match_values(k, (const char *)s,
	                                (size_t)sqlite3_value_bytes(argv[0]),
	                                sqlite3_value_int(argv[2]) != 0));
}

int idx__sq_register_functions(sqlite3 *db)
{
	int rc = sqlite3_create_function(db, "idx_fold", 1,
	                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC |
	                                     SQLITE_INNOCUOUS,
	                                 NULL, fn_fold, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "idx_qry_match", 3,
		                             SQLITE_UTF8 | SQLITE_DIRECTONLY,
		                             NULL, fn_qry_match, NULL, NULL);
	return rc;
}

/* ---- compiling a qry ------------------------------------------------------
 */

enum bind_type { BT_TEXT, BT_INT, BT_PTR };

struct bind {
	enum bind_type t;
	const char *s;
	int64_t i;
	const void *p;
};

struct compiled {
	pc_arena *arena; /* strings bound to the statement */
	struct pc_buf sql;
	struct bind *binds;
	size_t n_binds, cap_binds;
	const struct qry_key **post; /* keys checked against metadata */
	size_t n_post;
	struct pc_buf tmp;
	enum pc_status st; /* sticky failure */
};

static const char *adup(struct compiled *c, const char *s, size_t n)
{
	char *p;

	if (c->st != PC_OK)
		return "";
	p = pc_arena_strndup(c->arena, s, n);
	if (p == NULL) {
		c->st = PC_NOMEM;
		return "";
	}
	return p;
}

/* Appends "?N" to the SQL and records the value for it. */
static void param(struct compiled *c, enum bind_type t, const char *s,
                  int64_t i, const void *p)
{
	struct bind *b;

	if (c->st != PC_OK)
		return;
	if (c->n_binds == c->cap_binds) {
		size_t cap = c->cap_binds ? c->cap_binds * 2 : 16;
		void *v = pc_realloc(c->binds, cap * sizeof(*c->binds));

		if (v == NULL) {
			c->st = PC_NOMEM;
			return;
		}
		c->binds = v;
		c->cap_binds = cap;
	}
	b = &c->binds[c->n_binds++];
	b->t = t;
	b->s = s;
	b->i = i;
	b->p = p;
	pc_buf_printf(&c->sql, "?%zu", c->n_binds);
}

static void param_text(struct compiled *c, const char *s)
{
	param(c, BT_TEXT, s, 0, NULL);
}

/* The stored form of one key value for a column kind: folded (PN),
 * normalised (DA, TM) or as given. */
static const char *stored_form(struct compiled *c, enum col_kind kind,
                               const char *v, size_t n, bool glob, char fill)
{
	struct pc_buf *t = &c->tmp;
	const char *s;
	size_t i;

	/* A NUL-terminated copy: `v` is a slice of a longer value. */
	s = adup(c, v, n);
	if (c->st != PC_OK)
		return "";
	pc_buf_reset(t);
	if (kind == K_PN) {
		if (glob)
			idx__fold(s, n, t);
		else if (memchr(s, '=', n) != NULL)
			idx__fold(s, n, t);
		else
			idx__fold_pn(s, t);
	} else if (kind == K_DA) {
		idx__norm_da(s, t);
	} else if (kind == K_TM) {
		idx__norm_tm(s, fill, t);
	} else {
		pc_buf_append(t, s, n);
	}
	if (glob) {
		/* '[' starts a character class in GLOB: "[[]" is a literal
		 * one. DICOM wildcards are GLOB's '*' and '?'. */
		const char *f = adup(c, t->p ? t->p : "", t->n);
		size_t fn = strlen(f);

		if (c->st != PC_OK)
			return "";
		pc_buf_reset(t);
		for (i = 0; i < fn; i++) {
			if (f[i] == '[')
				pc_buf_puts(t, "[[]");
			else
				pc_buf_putc(t, f[i]);
		}
	}
	if (pc_buf_status(t) != PC_OK) {
		c->st = PC_NOMEM;
		return "";
	}
	return adup(c, t->p ? t->p : "", t->n);
}

static bool only_stars(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s != '*')
			return false;
	return true;
}

/* The generic form: qry_key_match() in C on every row. */
static void cond_generic(struct compiled *c, const char *expr,
                         const struct qry_key *k, bool fuzzy)
{
	pc_buf_printf(&c->sql, "idx_qry_match(%s, ", expr);
	param(c, BT_PTR, NULL, 0, k);
	pc_buf_printf(&c->sql, ", %d)", fuzzy ? 1 : 0);
}

static bool parse_int(const char *s, size_t n, int64_t *out)
{
	char buf[32], *end;
	long long v;

	while (n > 0 && *s == ' ') {
		s++;
		n--;
	}
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

/*
 * Appends the condition of key `k` on a column with expression `expr`
 * (and folded twin `fold` for PN) of kind `kind`. Appends "1" when the
 * key does not restrict.
 */
static void cond_col(struct compiled *c, const struct qry_key *k,
                     enum col_kind kind, const char *expr, const char *fold,
                     bool fuzzy)
{
	const char *v = k->value ? k->value : "";
	size_t i, n, len;
	const char *p;
	int64_t num;

	switch (k->match) {
	case QRY_MATCH_UNIVERSAL:
	case QRY_MATCH_SEQUENCE:
		pc_buf_puts(&c->sql, "1");
		return;
	case QRY_MATCH_UID_LIST:
		if (k->n_uids == 0) {
			pc_buf_puts(&c->sql, "1");
			return;
		}
		if (kind == K_INT || kind == K_PN) {
			cond_generic(c, expr, k, fuzzy);
			return;
		}
		pc_buf_printf(&c->sql, "%s IN (", expr);
		for (i = 0; i < k->n_uids; i++) {
			if (i > 0)
				pc_buf_puts(&c->sql, ", ");
			param_text(c, k->uids[i]);
		}
		pc_buf_putc(&c->sql, ')');
		return;
	case QRY_MATCH_RANGE:
		if (kind != K_DA && kind != K_TM) {
			cond_generic(c, expr, k, fuzzy);
			return;
		}
		pc_buf_puts(&c->sql, "(");
		n = 0;
		if (k->value != NULL && k->value[0] != '\0') {
			pc_buf_printf(&c->sql, "%s >= ", expr);
			param_text(c,
			           stored_form(c, kind, k->value,
			                       strlen(k->value), false, '0'));
			n++;
		}
		if (k->hi != NULL && k->hi[0] != '\0') {
			pc_buf_printf(&c->sql, "%s%s <= ", n ? " AND " : "",
			              expr);
			param_text(c, stored_form(c, kind, k->hi, strlen(k->hi),
			                          false, '9'));
			n++;
		}
		if (n == 0)
			pc_buf_printf(&c->sql, "%s IS NOT NULL", expr);
		pc_buf_puts(&c->sql, ")");
		return;
	case QRY_MATCH_SINGLE:
	case QRY_MATCH_WILDCARD:
		break;
	}
	if (k->match == QRY_MATCH_WILDCARD && only_stars(v)) {
		pc_buf_puts(&c->sql, "1");
		return;
	}
	if ((kind == K_PN && fuzzy) ||
	    (k->match == QRY_MATCH_WILDCARD &&
	     (kind == K_INT || kind == K_DA || kind == K_TM))) {
		cond_generic(c, expr, k, fuzzy);
		return;
	}
	/* One condition per '\'-separated value, any of them matching. */
	pc_buf_puts(&c->sql, "(");
	for (p = v, i = 0;; i++) {
		const char *sep = strchr(p, '\\');
		const char *col = expr;
		bool wild;

		len = sep ? (size_t)(sep - p) : strlen(p);
		wild =
		    memchr(p, '*', len) != NULL || memchr(p, '?', len) != NULL;
		wild = wild && k->match == QRY_MATCH_WILDCARD;
		if (i > 0)
			pc_buf_puts(&c->sql, " OR ");
		if (kind == K_INT) {
			if (!parse_int(p, len, &num)) {
				pc_buf_puts(&c->sql, "0");
			} else {
				pc_buf_printf(&c->sql, "%s = ", expr);
				param(c, BT_INT, NULL, num, NULL);
			}
		} else {
			if (kind == K_PN) {
				/* A key with '=' names the ideographic or
				 * phonetic groups too: fold the whole stored
				 * value (no index, rare). */
				if (memchr(p, '=', len) != NULL) {
					pc_buf_printf(&c->sql, "idx_fold(%s)",
					              expr);
					col = NULL;
				} else {
					col = fold;
				}
			}
			if (col != NULL)
				pc_buf_puts(&c->sql, col);
			pc_buf_puts(&c->sql, wild ? " GLOB " : " = ");
			param_text(c, stored_form(c, kind, p, len, wild, '0'));
		}
		if (sep == NULL)
			break;
		p = sep + 1;
	}
	pc_buf_puts(&c->sql, ")");
}

/*
 * "+expr": a column SQLite will not use an index for. Inside a correlated
 * EXISTS the children of one parent are few and reached through the link
 * index; an index on the matched column instead (which the planner picks
 * without statistics) visits every matching child of every parent:
 * ModalitiesInStudy=MR took 35 ms instead of 1 ms on 2,000 studies.
 */
static const char *unindexed(struct compiled *c, const char *expr)
{
	size_t n = strlen(expr);
	char *p;

	if (c->st != PC_OK)
		return expr;
	p = pc_arena_alloc(c->arena, n + 2);
	if (p == NULL) {
		c->st = PC_NOMEM;
		return expr;
	}
	p[0] = '+';
	memcpy(p + 1, expr, n + 1);
	return p;
}

/* Opens "EXISTS (SELECT 1 FROM <children of `from` down to `to`> WHERE
 * <link> AND " for a key of a lower level. */
static void open_exists(struct compiled *c, int from, int to)
{
	int l;

	pc_buf_puts(&c->sql, "EXISTS (SELECT 1 FROM ");
	for (l = from + 1; l <= to; l++) {
		if (l > from + 1)
			pc_buf_printf(&c->sql, " JOIN %s ON %s", child_table[l],
			              child_link[l]);
		else
			pc_buf_puts(&c->sql, child_table[l]);
	}
	pc_buf_printf(&c->sql, " WHERE %s AND ", child_link[from + 1]);
}

/* ModalitiesInStudy / SOPClassesInStudy: any series / instance of the
 * study matches (PS3.4 C.6.1.1.5.1 matches them per value). */
static void cond_in_study(struct compiled *c, const struct qry_key *k,
                          int level, bool classes)
{
	const char *expr = classes ? "+z.sop_class_uid" : "+x.modality";

	pc_buf_puts(&c->sql, "EXISTS (SELECT 1 FROM ");
	if (level == L_PATIENT)
		pc_buf_puts(&c->sql, "studies y JOIN series x ON x.study_ref = "
		                     "y.id");
	else
		pc_buf_puts(&c->sql, "series x");
	if (classes)
		pc_buf_puts(&c->sql,
		            " JOIN instances z ON z.series_ref = x.id");
	pc_buf_puts(&c->sql, level == L_PATIENT
	                         ? " WHERE y.patient_ref = p.id AND "
	                         : " WHERE x.study_ref = st.id AND ");
	cond_col(c, k, classes ? K_UI : K_TEXT, expr, NULL, false);
	pc_buf_puts(&c->sql, ")");
}

static bool is_request_key(const struct qry_key *k)
{
	return k->depth == 2 && k->path[0] == TAG_REQUEST_SEQ &&
	       (k->path[1] == TAG_SPS_ID || k->path[1] == TAG_RP_ID);
}

/* The RequestAttributeSequence sub-keys, all in one item. */
static void cond_requests(struct compiled *c, const struct qry *q)
{
	size_t i;

	if (q->level >= L_SERIES)
		pc_buf_puts(&c->sql, "EXISTS (SELECT 1 FROM series_requests r "
		                     "WHERE r.series_ref = se.id");
	else if (q->level == L_STUDY)
		pc_buf_puts(&c->sql,
		            "EXISTS (SELECT 1 FROM series se JOIN "
		            "series_requests r ON r.series_ref = se.id WHERE "
		            "se.study_ref = st.id");
	else
		pc_buf_puts(
		    &c->sql,
		    "EXISTS (SELECT 1 FROM studies st JOIN series se ON "
		    "se.study_ref = st.id JOIN series_requests r ON "
		    "r.series_ref = se.id WHERE st.patient_ref = p.id");
	for (i = 0; i < q->n_keys; i++) {
		const struct qry_key *k = &q->keys[i];

		if (!is_request_key(k))
			continue;
		pc_buf_puts(&c->sql, " AND ");
		cond_col(c, k, K_TEXT,
		         k->path[1] == TAG_SPS_ID ? "+r.sps_id" : "+r.rp_id",
		         NULL, false);
	}
	pc_buf_puts(&c->sql, ")");
}

static bool key_restricts(const struct qry_key *k)
{
	if (k->match == QRY_MATCH_UNIVERSAL || k->match == QRY_MATCH_SEQUENCE)
		return false;
	if (k->match == QRY_MATCH_UID_LIST && k->n_uids == 0)
		return false;
	if (k->match == QRY_MATCH_WILDCARD && k->value != NULL &&
	    only_stars(k->value))
		return false;
	return true;
}

static void add_post(struct compiled *c, const struct qry_key *k, size_t cap)
{
	if (c->post == NULL) {
		c->post = pc_calloc(cap, sizeof(*c->post));
		if (c->post == NULL) {
			c->st = PC_NOMEM;
			return;
		}
	}
	c->post[c->n_post++] = k;
}

/* Appends " AND <condition>" for every key that SQL can evaluate and
 * collects the others for post-filtering. */
static void compile_where(struct compiled *c, const struct qry *q)
{
	bool requests = false;
	size_t i;

	for (i = 0; i < q->n_keys; i++) {
		const struct qry_key *k = &q->keys[i];
		const struct col *col;
		uint32_t tag = k->path[0];

		if (k->depth == 0 || k->depth > QRY_PATH_MAX)
			continue;
		if (tag == TAG_CHARSET || tag == TAG_AVAILABILITY ||
		    tag == TAG_RETRIEVE_URL)
			continue; /* not matching keys (PS3.18 8.3.4.1) */
		if (is_request_key(k)) {
			requests = requests || key_restricts(k);
			continue;
		}
		if (!key_restricts(k))
			continue;
		if (k->depth > 1) {
			add_post(c, k, q->n_keys);
			continue;
		}
		col = col_find(tag);
		if (col == NULL || col->kind == K_JSON) {
			add_post(c, k, q->n_keys);
			continue;
		}
		pc_buf_puts(&c->sql, " AND ");
		if (col->kind == K_LIST) {
			cond_in_study(c, k, (int)q->level,
			              tag == TAG_SOP_CLASSES);
		} else if (col->level <= (int)q->level) {
			cond_col(c, k, col->kind, col->expr, col->fold,
			         q->fuzzy);
		} else {
			open_exists(c, (int)q->level, col->level);
			cond_col(c, k, col->kind, unindexed(c, col->expr),
			         col->fold ? unindexed(c, col->fold) : NULL,
			         q->fuzzy);
			pc_buf_puts(&c->sql, ")");
		}
	}
	if (requests) {
		pc_buf_puts(&c->sql, " AND ");
		cond_requests(c, q);
	}
}

/* ---- the answer's attributes -------------------------------------------- */

enum src { S_COL, S_META, S_AVAIL, S_URL };

struct out_attr {
	uint32_t tag;
	enum src src;
	int sel; /* S_COL: result column */
	const struct col *col;
};

struct plan {
	struct out_attr *v;
	size_t n;
	bool need_meta;  /* an attribute comes from stored metadata */
	int sel[N_COLS]; /* result column of each cols[] entry, or -1 */
	int n_sel;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether the query names exactly one entity through the key of `tag`
 * (a URL path UID). */
static bool scoped(const struct qry *q, uint32_t tag)
{
	const struct qry_key *k = qry_find_key(q, tag);

	if (k == NULL) {
		size_t i;

		for (i = 0; i < q->n_keys; i++)
			if (q->keys[i].depth == 1 && q->keys[i].path[0] == tag)
				k = &q->keys[i];
	}
	if (k == NULL)
		return false;
	if (k->match == QRY_MATCH_UID_LIST)
		return k->n_uids == 1;
	return k->match == QRY_MATCH_SINGLE;
}

static enum pc_status make_plan(struct plan *pl, const struct qry *q,
                                const struct idx_query_opts *opts)
{
	uint32_t *tags = NULL;
	const uint32_t *def;
	size_t n = 0, cap, nd, i, j;
	int level = (int)q->level;

	/* Result columns: the representative instance, then every column of
	 * this level and the levels above. */
	pl->n_sel = 1;
	for (i = 0; i < N_COLS; i++)
		pl->sel[i] = cols[i].level <= level ? pl->n_sel++ : -1;

	cap = q->n_keys + q->n_include + 16;
	for (i = 0; i <= (size_t)L_INSTANCE; i++) {
		qry_level_fields((enum qry_level)i, &nd);
		cap += nd;
	}
	tags = pc_malloc(cap * sizeof(*tags));
	if (tags == NULL)
		return PC_NOMEM;
#define ADD(t) (tags[n++] = (t))
#define ADD_LEVEL(l)                                                           \
	do {                                                                   \
		def = qry_level_fields(l, &nd);                                \
		for (i = 0; i < nd; i++)                                       \
			ADD(def[i]);                                           \
	} while (0)
	/* PS3.18 10.6.3.3: the level's own attributes, and those of the
	 * levels above unless the target is inside one entity of that level
	 * (/studies/{study}/series needs no study attributes). */
	ADD_LEVEL(q->level);
	if (level >= L_SERIES && !scoped(q, TAG_STUDY_UID))
		ADD_LEVEL(QRY_LEVEL_STUDY);
	if (level == L_INSTANCE && !scoped(q, TAG_SERIES_UID))
		ADD_LEVEL(QRY_LEVEL_SERIES);
	if (level == L_PATIENT)
		ADD(TAG_PATIENT_ID);
	if (level >= L_STUDY) {
		ADD(TAG_STUDY_UID);
		ADD(TAG_AVAILABILITY);
		if (opts->retrieve_base != NULL)
			ADD(TAG_RETRIEVE_URL);
	}
	if (level >= L_SERIES)
		ADD(TAG_SERIES_UID);
	if (level >= L_INSTANCE) {
		ADD(TAG_SOP_UID);
		ADD(TAG_SOP_CLASS);
	}
	for (i = 0; i < q->n_include; i++)
		ADD(q->include[i]);
	for (i = 0; i < q->n_keys; i++)
		if (q->keys[i].depth >= 1)
			ADD(q->keys[i].path[0]);
#undef ADD
#undef ADD_LEVEL
	qsort(tags, n, sizeof(*tags), cmp_u32);

	pl->v = pc_calloc(n ? n : 1, sizeof(*pl->v));
	if (pl->v == NULL) {
		pc_free(tags);
		return PC_NOMEM;
	}
	pl->n = 0;
	for (i = 0; i < n; i++) {
		struct out_attr *a;
		const struct col *col;

		if (i > 0 && tags[i] == tags[i - 1])
			continue;
		if (tags[i] == TAG_CHARSET)
			continue; /* written from what the answer holds */
		if (tags[i] == TAG_RETRIEVE_URL &&
		    (opts->retrieve_base == NULL || level == L_PATIENT))
			continue;
		if (tags[i] == TAG_AVAILABILITY && level == L_PATIENT)
			continue;
		a = &pl->v[pl->n++];
		a->tag = tags[i];
		col = col_find(tags[i]);
		if (tags[i] == TAG_AVAILABILITY) {
			a->src = S_AVAIL;
		} else if (tags[i] == TAG_RETRIEVE_URL) {
			a->src = S_URL;
		} else if (col != NULL && col->level <= level) {
			a->src = S_COL;
			a->col = col;
			j = (size_t)(col - cols);
			a->sel = pl->sel[j];
		} else {
			a->src = S_META;
			pl->need_meta = true;
		}
	}
	pc_free(tags);
	return PC_OK;
}

/* ---- writing JSON ------------------------------------------------------- */

struct writer {
	struct pc_buf *out;
	bool nonascii; /* a value outside ASCII was written */
	bool first;    /* no member written yet */
};

static void put_json_str(struct writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	struct pc_buf *b = w->out;
	size_t i, run = 0;

	pc_buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[6];

		if (ch >= 0x20 && ch != '"' && ch != '\\') {
			if (ch >= 0x80)
				w->nonascii = true;
			continue;
		}
		pc_buf_append(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (ch) {
		case '"':
		case '\\':
			esc[1] = (char)ch;
			pc_buf_append(b, esc, 2);
			break;
		case '\n':
			pc_buf_append(b, "\\n", 2);
			break;
		case '\r':
			pc_buf_append(b, "\\r", 2);
			break;
		case '\t':
			pc_buf_append(b, "\\t", 2);
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			pc_buf_append(b, esc, 6);
			break;
		}
	}
	pc_buf_append(b, s + run, n - run);
	pc_buf_putc(b, '"');
}

static void put_key(struct writer *w, uint32_t tag)
{
	pc_buf_printf(w->out, "%s\"%08" PRIX32 "\":", w->first ? "" : ",", tag);
	w->first = false;
}

static void put_vr_only(struct writer *w, enum dcm_vr vr)
{
	pc_buf_printf(w->out, "{\"vr\":\"%s\"}", dcm_vr_name(vr));
}

/* One PN value as {"Alphabetic":..,"Ideographic":..,"Phonetic":..}
 * (PS3.18 F.2.2), empty groups omitted. */
static void put_pn(struct writer *w, const char *s, size_t n)
{
	static const char *const group[] = {"Alphabetic", "Ideographic",
	                                    "Phonetic"};
	size_t g = 0, len;
	bool any = false;
	const char *end = s + n;

	pc_buf_putc(w->out, '{');
	while (g < 3) {
		const char *eq = memchr(s, '=', (size_t)(end - s));

		len = eq ? (size_t)(eq - s) : (size_t)(end - s);
		if (len > 0) {
			pc_buf_printf(w->out, "%s\"%s\":", any ? "," : "",
			              group[g]);
			put_json_str(w, s, len);
			any = true;
		}
		if (eq == NULL)
			break;
		s = eq + 1;
		g++;
	}
	pc_buf_putc(w->out, '}');
}

/* A string column's element: values split at '\' for the string VRs. */
static void put_text_elem(struct writer *w, enum dcm_vr vr, const char *s,
                          size_t n)
{
	const char *p = s, *end = s + n;
	bool first = true;

	if (s == NULL || n == 0) {
		put_vr_only(w, vr);
		return;
	}
	pc_buf_printf(w->out, "{\"vr\":\"%s\",\"Value\":[", dcm_vr_name(vr));
	for (;;) {
		const char *sep = memchr(p, '\\', (size_t)(end - p));
		size_t len = sep ? (size_t)(sep - p) : (size_t)(end - p);

		if (!first)
			pc_buf_putc(w->out, ',');
		first = false;
		if (len == 0)
			pc_buf_puts(w->out, "null");
		else if (vr == DCM_VR_PN)
			put_pn(w, p, len);
		else
			put_json_str(w, p, len);
		if (sep == NULL)
			break;
		p = sep + 1;
	}
	pc_buf_puts(w->out, "]}");
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
	struct writer *w = data;
	size_t i;

	for (i = 0; i < size && !w->nonascii; i++)
		if ((unsigned char)buffer[i] >= 0x80)
			w->nonascii = true;
	pc_buf_append(w->out, buffer, size);
	return pc_buf_status(w->out) == PC_OK ? 0 : -1;
}

static void put_col(struct writer *w, const struct col *col, sqlite3_stmt *st,
                    int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL) {
		put_vr_only(w, col->vr);
		return;
	}
	if (col->kind == K_JSON) {
		const char *t = (const char *)sqlite3_column_text(st, i);

		dump_cb(t, (size_t)sqlite3_column_bytes(st, i), w);
		return;
	}
	if (col->kind == K_INT) {
		pc_buf_printf(w->out, "{\"vr\":\"%s\",\"Value\":[%lld]}",
		              dcm_vr_name(col->vr),
		              (long long)sqlite3_column_int64(st, i));
		return;
	}
	if (col->kind == K_TM) {
		/* Stored as "HHMMSS.FFFFFF": drop the zeros the normalisation
		 * added to the fraction. */
		const char *t = (const char *)sqlite3_column_text(st, i);
		size_t n = (size_t)sqlite3_column_bytes(st, i);

		while (n > 0 && memchr(t, '.', n) != NULL && t[n - 1] == '0')
			n--;
		if (n > 0 && t[n - 1] == '.')
			n--;
		put_text_elem(w, col->vr, t, n);
		return;
	}
	put_text_elem(w, col->vr, (const char *)sqlite3_column_text(st, i),
	              (size_t)sqlite3_column_bytes(st, i));
}

/* Makes relative BulkDataURIs absolute (the HTTP layer does it for WADO
 * metadata; QIDO answers are written here). */
static void absolute_bulk(json_t *v, const char *base, int depth)
{
	const char *key;
	json_t *child;
	size_t i;

	if (depth > 64)
		return;
	if (json_is_array(v)) {
		json_array_foreach(v, i, child)
		{
			absolute_bulk(child, base, depth + 1);
		}
		return;
	}
	if (!json_is_object(v))
		return;
	json_object_foreach(v, key, child)
	{
		if (strcmp(key, "BulkDataURI") == 0 && json_is_string(child) &&
		    json_string_value(child)[0] == '/') {
			char *abs = NULL;
			size_t nb = strlen(base),
			       nu = strlen(json_string_value(child));

			abs = pc_malloc(nb + nu + 1);
			if (abs == NULL)
				continue;
			memcpy(abs, base, nb);
			memcpy(abs + nb, json_string_value(child), nu + 1);
			json_string_set(child, abs);
			pc_free(abs);
		} else {
			absolute_bulk(child, base, depth + 1);
		}
	}
}

static void put_meta(struct writer *w, json_t *meta, uint32_t tag,
                     const char *base)
{
	char key[9];
	json_t *el;
	const struct dcm_dict_entry *d;

	snprintf(key, sizeof(key), "%08" PRIX32, tag);
	el = meta ? json_object_get(meta, key) : NULL;
	if (el != NULL && json_is_object(el)) {
		if (base != NULL)
			absolute_bulk(el, base, 0);
		if (json_dump_callback(el, dump_cb, w, JSON_COMPACT) == 0)
			return;
		pc_buf_puts(w->out, "null"); /* keeps the JSON whole */
		return;
	}
	d = dcm_dict_find(tag);
	put_vr_only(w, d ? d->vr : DCM_VR_UN);
}

/* ---- metadata of the representative instance ----------------------------- */

/* Whether the stored text can hold a value for every post-filter key: a
 * key whose top-level tag does not appear cannot match (an absent
 * attribute matches no restricting key), and most rows are dropped
 * without parsing the JSON. */
static bool may_match(const struct compiled *c, const char *t, size_t n)
{
	char key[11];
	size_t i;

	for (i = 0; i < c->n_post; i++) {
		snprintf(key, sizeof(key), "\"%08" PRIX32 "\"",
		         c->post[i]->path[0]);
		if (memmem(t, n, key, 10) == NULL)
			return false;
	}
	return true;
}

/* The parsed metadata of the row's representative instance; NULL when
 * there is none, or (*skip) when `c` shows that post-filtering would
 * reject it. */
static json_t *load_meta(struct sq_conn *conn, sqlite3_stmt *row,
                         const struct compiled *c, bool *skip,
                         struct pc_err *err, enum pc_status *st)
{
	sqlite3_stmt *ms;
	json_t *meta = NULL;
	json_error_t jerr;
	int rc;

	*st = PC_OK;
	*skip = false;
	if (sqlite3_column_type(row, 0) == SQLITE_NULL)
		return NULL;
	ms = idx__sq_stmt(conn, "SELECT metadata FROM instances WHERE id = ?1",
	                  err);
	if (ms == NULL) {
		*st = idx__sq_prep_status(err);
		return NULL;
	}
	sqlite3_bind_int64(ms, 1, sqlite3_column_int64(row, 0));
	rc = sqlite3_step(ms);
	if (rc == SQLITE_ROW && sqlite3_column_type(ms, 0) != SQLITE_NULL) {
		const char *t = (const char *)sqlite3_column_text(ms, 0);
		size_t n = (size_t)sqlite3_column_bytes(ms, 0);

		if (c != NULL && !may_match(c, t, n)) {
			*skip = true;
			idx__sq_done(ms);
			return NULL;
		}
		meta = json_loadb(t, n, 0, &jerr);
		/* jansson refuses integers beyond long long (UV values):
		 * read them as reals rather than losing the whole object. */
		if (meta == NULL)
			meta = json_loadb(t, n, JSON_DECODE_INT_AS_REAL, &jerr);
		if (meta != NULL && !json_is_object(meta)) {
			json_decref(meta);
			meta = NULL;
		}
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*st = idx__sq_fail(err, conn->db, rc, "reading metadata");
	}
	idx__sq_done(ms);
	return meta;
}

/* Whether one JSON value of an element matches. */
static bool json_value_match(const struct qry_key *k, json_t *v, bool fuzzy)
{
	char num[64];

	if (json_is_string(v))
		return qry_key_match(k, json_string_value(v), fuzzy);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		         json_integer_value(v));
		return qry_key_match(k, num, fuzzy);
	}
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return qry_key_match(k, num, fuzzy);
	}
	if (json_is_object(v)) {
		json_t *a = json_object_get(v, "Alphabetic");

		return json_is_string(a) &&
		       qry_key_match(k, json_string_value(a), fuzzy);
	}
	return false;
}

/* Whether the element at k->path[d..] of `obj` matches (any item of a
 * sequence on the way, any value at the end). */
static bool meta_match(json_t *obj, const struct qry_key *k, size_t d,
                       bool fuzzy)
{
	char key[9];
	json_t *el, *vals, *v;
	size_t i;

	if (obj == NULL || !json_is_object(obj))
		return false;
	snprintf(key, sizeof(key), "%08" PRIX32, k->path[d]);
	el = json_object_get(obj, key);
	if (el == NULL)
		return false;
	vals = json_object_get(el, "Value");
	if (!json_is_array(vals))
		return false;
	json_array_foreach(vals, i, v)
	{
		if (d + 1 < k->depth) {
			if (meta_match(v, k, d + 1, fuzzy))
				return true;
		} else if (json_value_match(k, v, fuzzy)) {
			return true;
		}
	}
	return false;
}

/* Whether an attribute of the stored metadata belongs in an
 * includefield=all answer at `level`: not File Meta, not pixel data, not
 * an attribute of a lower level (a study answer showing one instance's
 * SOP Instance UID or Rows would mislead). */
static bool meta_tag_wanted(uint32_t tag, int level)
{
	const struct col *col;
	int al;

	if (DCM_TAG_GROUP(tag) == 0x0002 || DCM_TAG_GROUP(tag) == 0x7FE0 ||
	    DCM_TAG_GROUP(tag) == 0xFFFA)
		return false;
	if (tag == TAG_CHARSET || tag == TAG_RETRIEVE_URL ||
	    tag == TAG_AVAILABILITY)
		return false;
	if (level < L_INSTANCE && DCM_TAG_GROUP(tag) == 0x0028)
		return false;
	col = col_find(tag);
	if (col != NULL && col->level > level)
		return false;
	al = qry_attr_level(tag);
	return al < 0 || al <= level;
}

static bool parse_hex_tag(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < 8; i++) {
		char ch = s[i];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (uint32_t)(ch - '0');
		else if (ch >= 'A' && ch <= 'F')
			v |= (uint32_t)(ch - 'A' + 10);
		else if (ch >= 'a' && ch <= 'f')
			v |= (uint32_t)(ch - 'a' + 10);
		else
			return false;
	}
	if (s[8] != '\0')
		return false;
	*out = v;
	return true;
}

/* The tags of `meta` wanted for includefield=all, sorted, in *tags. */
static size_t meta_tags(json_t *meta, int level, uint32_t **tags)
{
	const char *key;
	json_t *v;
	size_t n = 0;
	uint32_t tag;

	*tags = NULL;
	if (meta == NULL || json_object_size(meta) == 0)
		return 0;
	*tags = pc_malloc(json_object_size(meta) * sizeof(**tags));
	if (*tags == NULL)
		return 0;
	json_object_foreach(meta, key, v)
	{
		if (parse_hex_tag(key, &tag) && meta_tag_wanted(tag, level))
			(*tags)[n++] = tag;
	}
	qsort(*tags, n, sizeof(**tags), cmp_u32);
	return n;
}

/* ---- one answer ------------------------------------------------------------
 */

static const char *col_text(sqlite3_stmt *st, const struct plan *pl,
                            uint32_t tag)
{
	const struct col *col = col_find(tag);
	int i;

	if (col == NULL)
		return NULL;
	i = pl->sel[col - cols];
	if (i < 0)
		return NULL;
	return (const char *)sqlite3_column_text(st, i);
}

static void put_url(struct writer *w, sqlite3_stmt *st, const struct plan *pl,
                    int level, const char *base)
{
	const char *study = col_text(st, pl, TAG_STUDY_UID);
	const char *series = col_text(st, pl, TAG_SERIES_UID);
	const char *sop = col_text(st, pl, TAG_SOP_UID);
	struct pc_buf *b = w->out;
	size_t start;

	pc_buf_puts(b, "{\"vr\":\"UR\",\"Value\":[");
	/* Built in place, then escaped by moving it into a string. */
	start = b->n;
	pc_buf_printf(b, "%s/studies/%s", base, study ? study : "");
	if (level >= L_SERIES)
		pc_buf_printf(b, "/series/%s", series ? series : "");
	if (level >= L_INSTANCE)
		pc_buf_printf(b, "/instances/%s", sop ? sop : "");
	if (pc_buf_status(b) == PC_OK) {
		size_t len = b->n - start;
		char *copy = pc_malloc(len + 1);

		if (copy != NULL) {
			memcpy(copy, b->p + start, len);
			pc_buf_truncate(b, len);
			put_json_str(w, copy, len);
			pc_free(copy);
		} else {
			pc_buf_truncate(b, len);
			pc_buf_puts(b, "\"\"");
		}
	}
	pc_buf_puts(b, "]}");
}

static enum pc_status write_answer(struct pc_buf *out, sqlite3_stmt *st,
                                   const struct plan *pl, const struct qry *q,
                                   const struct idx_query_opts *opts,
                                   json_t *meta)
{
	static const char cs[] =
	    "\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 192\"]}";
	struct writer w = {out, false, true};
	uint32_t *mt = NULL;
	size_t nm = 0, i = 0, j = 0;
	int level = (int)q->level;

	pc_buf_reset(out);
	pc_buf_putc(out, '{');
	if (q->include_all)
		nm = meta_tags(meta, level, &mt);
	/* Merge the plan and the metadata tags, both sorted. */
	while (i < pl->n || j < nm) {
		const struct out_attr *a;

		if (j < nm && (i >= pl->n || mt[j] < pl->v[i].tag)) {
			put_key(&w, mt[j]);
			put_meta(&w, meta, mt[j], opts->retrieve_base);
			j++;
			continue;
		}
		if (j < nm && mt[j] == pl->v[i].tag)
			j++;
		a = &pl->v[i++];
		put_key(&w, a->tag);
		switch (a->src) {
		case S_COL:
			put_col(&w, a->col, st, a->sel);
			break;
		case S_META:
			put_meta(&w, meta, a->tag, opts->retrieve_base);
			break;
		case S_AVAIL:
			/* PS3.18 10.6.3: everything stored here is online. */
			pc_buf_puts(out,
			            "{\"vr\":\"CS\",\"Value\":[\"ONLINE\"]}");
			break;
		case S_URL:
			put_url(&w, st, pl, level, opts->retrieve_base);
			break;
		}
	}
	pc_free(mt);
	pc_buf_putc(out, '}');
	if (w.nonascii && pc_buf_status(out) == PC_OK) {
		/* PS3.18 F.2: text is UTF-8; say so in the first member. */
		size_t add = sizeof(cs) - 1 + (w.first ? 0 : 1);
		size_t old = out->n;

		if (pc_buf_reserve(out, add) != NULL) {
			memmove(out->p + 1 + add, out->p + 1, old - 1);
			memcpy(out->p + 1, cs, sizeof(cs) - 1);
			if (!w.first)
				out->p[add] = ',';
			pc_buf_commit(out, add);
		}
	}
	return pc_buf_status(out);
}

/* ---- running a query
 * ---------------------------------------------------------- */

static void bind_all(sqlite3_stmt *st, const struct compiled *c)
{
	size_t i;

	for (i = 0; i < c->n_binds; i++) {
		const struct bind *b = &c->binds[i];
		int at = (int)i + 1;

		if (b->t == BT_TEXT)
			idx__sq_bind_text(st, at, b->s);
		else if (b->t == BT_INT)
			sqlite3_bind_int64(st, at, b->i);
		else
			sqlite3_bind_pointer(st, at, (void *)b->p, KEY_PTR_TYPE,
			                     NULL);
	}
}

static bool post_ok(const struct compiled *c, json_t *meta, bool fuzzy)
{
	size_t i;

	for (i = 0; i < c->n_post; i++)
		if (!meta_match(meta, c->post[i], 0, fuzzy))
			return false;
	return true;
}

enum pc_status idx__sq_query(idx *ix, const struct qry *q,
                             const struct idx_query_opts *opts, idx_match_fn fn,
                             void *ctx, struct idx_query_info *info,
                             struct pc_err *err)
{
	struct sq_idx *s = (struct sq_idx *)ix;
	struct compiled c;
	struct plan pl;
	struct pc_buf out = PC_BUF_INIT;
	struct sq_conn *conn = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t lim = UINT64_MAX, matched = 0, returned = 0;
	bool cap = false, truncated = false, post;
	enum pc_status r = PC_OK;
	int level = (int)q->level, rc = SQLITE_DONE;
	size_t i;

	memset(&c, 0, sizeof(c));
	memset(&pl, 0, sizeof(pl));
	pc_buf_init(&c.sql);
	pc_buf_init(&c.tmp);
	if (q->has_limit)
		lim = q->limit;
	if (opts->max_results != 0 && opts->max_results < lim) {
		lim = opts->max_results;
		cap = true;
	}
	c.arena = pc_arena_create(1024);
	if (c.arena == NULL) {
		r = pc_err_set(err, PC_NOMEM, 0, "index: out of memory");
		goto out;
	}
	r = make_plan(&pl, q, opts);
	if (r != PC_OK) {
		r = pc_err_set(err, r, 0, "index: out of memory");
		goto out;
	}

	/* SELECT <rep>, <columns> FROM <level> WHERE ... ORDER BY ... */
	pc_buf_printf(&c.sql, "SELECT %s", level_rep[level]);
	for (i = 0; i < N_COLS; i++)
		if (pl.sel[i] >= 0)
			pc_buf_printf(&c.sql, ", %s", cols[i].expr);
	pc_buf_printf(&c.sql, "%s WHERE 1", level_from[level]);
	compile_where(&c, q);
	post = c.n_post > 0;
	pc_buf_puts(&c.sql, level_order[level]);
	if (!post && lim != UINT64_MAX) {
		/* One row beyond the limit tells whether it cut the answer. */
		pc_buf_puts(&c.sql, " LIMIT ");
		param(&c, BT_INT, NULL, (int64_t)(lim + 1), NULL);
		pc_buf_puts(&c.sql, " OFFSET ");
		param(&c, BT_INT, NULL, (int64_t)q->offset, NULL);
	} else if (!post && q->offset > 0) {
		pc_buf_puts(&c.sql, " LIMIT -1 OFFSET ");
		param(&c, BT_INT, NULL, (int64_t)q->offset, NULL);
	}
	if (c.st != PC_OK || pc_buf_status(&c.sql) != PC_OK ||
	    pc_buf_status(&c.tmp) != PC_OK) {
		r = pc_err_set(err, PC_NOMEM, 0, "index: out of memory");
		goto out;
	}

	r = idx__sq_reader_stmt(s, pc_buf_str(&c.sql), &conn, &st, err);
	if (r != PC_OK)
		goto out;
	bind_all(st, &c);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *meta = NULL;
		bool skip = false;

		if (post || pl.need_meta || q->include_all) {
			meta = load_meta(conn, st, post ? &c : NULL, &skip, err,
			                 &r);
			if (r != PC_OK)
				break;
		}
		if (post) {
			if (skip || !post_ok(&c, meta, q->fuzzy)) {
				json_decref(meta);
				continue;
			}
			if (matched++ < q->offset) {
				json_decref(meta);
				continue;
			}
		}
		if (returned == lim) {
			truncated = cap;
			json_decref(meta);
			break;
		}
		r = write_answer(&out, st, &pl, q, opts, meta);
		json_decref(meta);
		if (r != PC_OK) {
			r = pc_err_set(err, r, 0,
			               "index: cannot write a query answer");
			break;
		}
		returned++;
		r = fn(ctx, pc_buf_str(&out), out.n);
		if (r != PC_OK)
			break;
	}
	if (r == PC_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = idx__sq_fail(err, conn->db, rc, "searching");
out:
	if (conn != NULL)
		idx__sq_reader_done(s, conn, st);
	if (info != NULL) {
		info->returned = (size_t)returned;
		info->truncated = truncated;
	}
	pc_free(pl.v);
	pc_free(c.binds);
	pc_free(c.post);
	pc_buf_cleanup(&c.sql);
	pc_buf_cleanup(&c.tmp);
	pc_buf_cleanup(&out);
	pc_arena_destroy(c.arena);
	return r;
}
