/*
 * test_index.c - the SQLite index: every outcome of idx_instance_put,
 * counts, lookups, walking order, entity tags, deletes with their
 * cascades, QIDO queries at every level with every kind of matching
 * (through the real query parser), limits and truncation, JSON answers,
 * persistence across reopening, refusal of a newer schema, a concurrency
 * smoke test and the timing of queries over 10,000 instances. Every test
 * works in its own temporary directory (on /dev/shm when there is one:
 * synchronous=FULL costs an fsync per put, which the timing test does
 * 10,000 times).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "index/idx.h"
#include "index/idx_int.h"
#include "tmpdir_test.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define CT_CLASS "1.2.840.10008.5.1.4.1.1.2"
#define MR_CLASS "1.2.840.10008.5.1.4.1.1.4"
#define SR_CLASS "1.2.840.10008.5.1.4.1.1.88.11"
#define TS_ELE "1.2.840.10008.1.2.1"

/* The database file of the running test, for check_invariants. */
static const char *db_path;

struct fixture {
	char dir[80];
	char path[128];
	idx *ix;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pc_err err = {0};

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/pacsd-index-XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/index.db", f->dir);
	db_path = f->path;
	f->ix = idx_sqlite_open(f->path, &err);
	if (f->ix == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	idx_close(f->ix);
	tmptest_rm_tree(f->dir);
	free(f);
	return 0;
}

/* ---- building instances ---------------------------------------------- */

struct spec {
	const char *pid, *pname, *study, *date, *time, *acc, *sdesc;
	const char *series, *modality, *snum;
	const char *sop, *cls, *inum;
	const char *extra_station; /* StationName (no column) */
	const char *sps, *rp;      /* RequestAttributeSequence item */
	bool utf8;
};

static void set(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, const char *v)
{
	if (v != NULL)
		assert_int_equal(dcm_dataset_set_string(ds, tag, vr, v), PC_OK);
}

static dcm_dataset *make_ds(const struct spec *s)
{
	dcm_dataset *ds = dcm_dataset_create();

	assert_non_null(ds);
	if (s->utf8)
		set(ds, DCM_TAG(0x0008, 0x0005), DCM_VR_CS, "ISO_IR 192");
	set(ds, DCM_TAG(0x0008, 0x0016), DCM_VR_UI, s->cls);
	set(ds, DCM_TAG(0x0008, 0x0018), DCM_VR_UI, s->sop);
	set(ds, DCM_TAG(0x0008, 0x0020), DCM_VR_DA, s->date);
	set(ds, DCM_TAG(0x0008, 0x0030), DCM_VR_TM, s->time);
	set(ds, DCM_TAG(0x0008, 0x0050), DCM_VR_SH, s->acc);
	set(ds, DCM_TAG(0x0008, 0x0060), DCM_VR_CS, s->modality);
	set(ds, DCM_TAG(0x0008, 0x1010), DCM_VR_SH, s->extra_station);
	set(ds, DCM_TAG(0x0008, 0x1030), DCM_VR_LO, s->sdesc);
	set(ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, s->pname);
	set(ds, DCM_TAG(0x0010, 0x0020), DCM_VR_LO, s->pid);
	set(ds, DCM_TAG(0x0020, 0x000D), DCM_VR_UI, s->study);
	set(ds, DCM_TAG(0x0020, 0x000E), DCM_VR_UI, s->series);
	set(ds, DCM_TAG(0x0020, 0x0011), DCM_VR_IS, s->snum);
	set(ds, DCM_TAG(0x0020, 0x0013), DCM_VR_IS, s->inum);
	if (s->cls != NULL && strcmp(s->cls, SR_CLASS) != 0) {
		uint16_t rows = 512, bits = 16;

		assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x0010),
		                                 DCM_VR_US, &rows, 2),
		                 PC_OK);
		assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x0011),
		                                 DCM_VR_US, &rows, 2),
		                 PC_OK);
		assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x0100),
		                                 DCM_VR_US, &bits, 2),
		                 PC_OK);
	}
	if (s->sps != NULL || s->rp != NULL) {
		dcm_elem *seq;
		dcm_dataset *item;

		assert_int_equal(
		    dcm_dataset_set_sequence(ds, DCM_TAG(0x0040, 0x0275), &seq),
		    PC_OK);
		assert_int_equal(dcm_elem_add_item(seq, &item), PC_OK);
		set(item, DCM_TAG(0x0040, 0x0009), DCM_VR_SH, s->sps);
		set(item, DCM_TAG(0x0040, 0x1001), DCM_VR_SH, s->rp);
	}
	return ds;
}

static void handle_of(unsigned n, char out[IDX_HANDLE_LEN + 1])
{
	snprintf(out, IDX_HANDLE_LEN + 1, "%032x", n);
}

/* An idx_put of `ds` (no overwrite) whose SHA-256 is `digest` set to all
 * `sha` bytes and whose metadata is ds's DICOM JSON, written into `md`. */
static struct idx_put put_of(const dcm_dataset *ds, const char *handle,
                             const char *ts_uid, uint64_t size,
                             uint8_t digest[32], uint8_t sha, struct pc_buf *md)
{
	struct idx_put p;

	memset(digest, sha, 32);
	assert_int_equal(dcm_json_write(ds, NULL, md, NULL), PC_OK);
	memset(&p, 0, sizeof(p));
	p.ds = ds;
	p.handle = handle;
	p.ts_uid = ts_uid;
	p.size = size;
	p.sha256 = digest;
	p.metadata = md->p;
	p.metadata_len = md->n;
	p.blob_durable = true;
	return p;
}

/* Puts `s` under handle number `h` with SHA-256 bytes all `sha`. */
static enum pc_status put_ex(idx *ix, const struct spec *s, unsigned h,
                             uint8_t sha, bool overwrite,
                             enum idx_put_outcome *outcome,
                             struct idx_instance *existing)
{
	dcm_dataset *ds = make_ds(s);
	struct pc_buf md = PC_BUF_INIT;
	struct pc_err err = {0};
	char handle[IDX_HANDLE_LEN + 1];
	uint8_t digest[32];
	struct idx_put p;
	enum pc_status st;

	handle_of(h, handle);
	p = put_of(ds, handle, TS_ELE, 1000 + h, digest, sha, &md);
	p.allow_overwrite = overwrite;
	st = idx_instance_put(ix, &p, outcome, existing, &err);
	if (st != PC_OK)
		fprintf(stderr, "put: %s\n", err.msg);
	pc_buf_cleanup(&md);
	dcm_dataset_destroy(ds);
	return st;
}

static void put_new(idx *ix, const struct spec *s, unsigned h)
{
	enum idx_put_outcome o;

	assert_int_equal(put_ex(ix, s, h, (uint8_t)h, false, &o, NULL), PC_OK);
	assert_int_equal(o, IDX_PUT_NEW);
}

/*
 * The corpus:
 *   P1 Smith^John: study 1.2.3.1 (2020-01-05 10:15, ACC1, "CT HEAD")
 *                    series 1.2.3.1.1 CT #1: I1 (#2), I2 (#1)
 *                    series 1.2.3.1.2 SR #2: I3 (request SPS1 / RP1)
 *                  study 1.2.3.2 (2021-03-10 08:00, ACC2)
 *                    series 1.2.3.2.1 MR #5: I4 (#1), I5 (#2)
 *   P2 Müller^Anna: study 1.2.3.3 (2019-01-01, ACC3), station HOSPX
 *                    series 1.2.3.3.1 CT #1: I6
 *   no PatientID:  study 1.2.3.4 series 1.2.3.4.1 OT: I7
 *                  study 1.2.3.5 series 1.2.3.5.1 OT: I8
 */
static const struct spec corpus[] = {
    {"P1", "Smith^John", "1.2.3.1", "20200105", "101500", "ACC1", "CT HEAD",
     "1.2.3.1.1", "CT", "1", "1.2.3.1.1.1", CT_CLASS, "2", "ST1", NULL, NULL,
     false},
    {"P1", "Smith^John", "1.2.3.1", "20200105", "101500", "ACC1", "CT HEAD",
     "1.2.3.1.1", "CT", "1", "1.2.3.1.1.2", CT_CLASS, "1", "ST1", NULL, NULL,
     false},
    {"P1", "Smith^John", "1.2.3.1", "20200105", "101500", "ACC1", "CT HEAD",
     "1.2.3.1.2", "SR", "2", "1.2.3.1.2.1", SR_CLASS, "1", NULL, "SPS1", "RP1",
     false},
    {"P1", "SMITH^JOHN", "1.2.3.2", "20210310", "080000", "ACC2", "MR KNEE",
     "1.2.3.2.1", "MR", "5", "1.2.3.2.1.1", MR_CLASS, "1", NULL, NULL, NULL,
     false},
    {"P1", "Smith^John", "1.2.3.2", "20210310", "080000", "ACC2", "MR KNEE",
     "1.2.3.2.1", "MR", "5", "1.2.3.2.1.2", MR_CLASS, "2", NULL, NULL, NULL,
     false},
    {"P2", "M\xC3\xBCller^Anna", "1.2.3.3", "20190101", NULL, "ACC3", NULL,
     "1.2.3.3.1", "CT", "1", "1.2.3.3.1.1", CT_CLASS, "1", "HOSPX", NULL, NULL,
     true},
    {NULL, "Anon^X", "1.2.3.4", NULL, NULL, NULL, NULL, "1.2.3.4.1", "OT", NULL,
     "1.2.3.4.1.1", CT_CLASS, NULL, NULL, NULL, NULL, false},
    {"", "Anon^Y", "1.2.3.5", NULL, NULL, NULL, NULL, "1.2.3.5.1", "OT", NULL,
     "1.2.3.5.1.1", CT_CLASS, NULL, NULL, NULL, NULL, false},
};
#define N_CORPUS (sizeof(corpus) / sizeof(corpus[0]))

static void load_corpus(idx *ix)
{
	size_t i;

	for (i = 0; i < N_CORPUS; i++)
		put_new(ix, &corpus[i], (unsigned)i + 1);
}

static long long sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* What every write transaction must keep true, checked over a separate
 * connection (WAL lets it read beside the index's own). */
static void check_invariants(void)
{
	static const char *const zero[] = {
	    /* counts equal the rows below */
	    "SELECT count(*) FROM studies st WHERE n_series != (SELECT "
	    "count(*) "
	    "FROM series WHERE study_ref = st.id) OR n_instances != (SELECT "
	    "count(*) FROM instances i JOIN series se ON se.id = i.series_ref "
	    "WHERE se.study_ref = st.id)",
	    "SELECT count(*) FROM series se WHERE n_instances != (SELECT "
	    "count(*) FROM instances WHERE series_ref = se.id)",
	    /* no empty parents */
	    "SELECT count(*) FROM series WHERE n_instances = 0",
	    "SELECT count(*) FROM studies WHERE n_series = 0",
	    "SELECT count(*) FROM patients p WHERE NOT EXISTS (SELECT 1 FROM "
	    "studies WHERE patient_ref = p.id)",
	    /* representatives are children */
	    "SELECT count(*) FROM series se WHERE NOT EXISTS (SELECT 1 FROM "
	    "instances i WHERE i.id = se.rep_instance AND i.series_ref = "
	    "se.id)",
	    "SELECT count(*) FROM studies st WHERE NOT EXISTS (SELECT 1 FROM "
	    "instances i JOIN series se ON se.id = i.series_ref WHERE i.id = "
	    "st.rep_instance AND se.study_ref = st.id)",
	    /* lists are the sorted distinct values below */
	    "SELECT count(*) FROM studies st WHERE coalesce(modalities, '') != "
	    "coalesce((SELECT group_concat(m, '\\') FROM (SELECT DISTINCT "
	    "modality m FROM series WHERE study_ref = st.id AND modality IS "
	    "NOT NULL ORDER BY m)), '')",
	    "SELECT count(*) FROM studies st WHERE coalesce(sop_classes, '') "
	    "!= "
	    "coalesce((SELECT group_concat(c, '\\') FROM (SELECT DISTINCT "
	    "i.sop_class_uid c FROM instances i JOIN series se ON se.id = "
	    "i.series_ref WHERE se.study_ref = st.id ORDER BY c)), '')",
	    /* totals */
	    "SELECT count(*) FROM totals WHERE patients != (SELECT count(*) "
	    "FROM patients) OR studies != (SELECT count(*) FROM studies) OR "
	    "series != (SELECT count(*) FROM series) OR instances != (SELECT "
	    "count(*) FROM instances) OR bytes != (SELECT coalesce(sum(size), "
	    "0) FROM instances)",
	    "SELECT count(*) FROM pragma_foreign_key_check",
	};
	sqlite3 *db;
	size_t i;

	assert_int_equal(
	    sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		long long v = sql_int(db, zero[i]);

		if (v != 0)
			fprintf(stderr, "invariant broken (%lld): %s\n", v,
			        zero[i]);
		assert_int_equal(v, 0);
	}
	sqlite3_close(db);
}

static void check_counts(idx *ix, uint64_t pat, uint64_t st, uint64_t se,
                         uint64_t in)
{
	struct idx_counts c;

	check_invariants();
	assert_int_equal(idx_counts(ix, &c, NULL), PC_OK);
	assert_int_equal(c.patients, pat);
	assert_int_equal(c.studies, st);
	assert_int_equal(c.series, se);
	assert_int_equal(c.instances, in);
}

/* ---- queries ------------------------------------------------------------ */

struct answers {
	json_t *arr;
	int stop_after; /* 0 = never */
};

static enum pc_status collect(void *ctx, const char *json, size_t n)
{
	struct answers *a = ctx;
	json_error_t e;
	json_t *o = json_loadb(json, n, 0, &e);

	if (o == NULL) {
		fprintf(stderr, "bad JSON (%s): %.*s\n", e.text, (int)n, json);
		return PC_PARSE;
	}
	json_array_append_new(a->arr, o);
	if (a->stop_after > 0 && (int)json_array_size(a->arr) >= a->stop_after)
		return PC_STOP;
	return PC_OK;
}

/* Runs a QIDO query string at `level` with optional path UIDs. */
static json_t *query_ex(idx *ix, enum qry_level level, const char *study,
                        const char *series, const char *qs,
                        const struct idx_query_opts *opts,
                        struct idx_query_info *info)
{
	struct qry q;
	struct answers a = {json_array(), 0};
	struct pc_err err = {0};
	enum pc_status st;

	assert_int_equal(qry_init(&q, level), PC_OK);
	st = qry_parse_qido(&q, qs, strlen(qs), &err);
	if (st != PC_OK)
		fprintf(stderr, "parse %s: %s\n", qs, err.msg);
	assert_int_equal(st, PC_OK);
	if (study != NULL)
		assert_int_equal(qry_add_key(&q, DCM_TAG(0x0020, 0x000D),
		                             DCM_VR_UI, study, NULL),
		                 PC_OK);
	if (series != NULL)
		assert_int_equal(qry_add_key(&q, DCM_TAG(0x0020, 0x000E),
		                             DCM_VR_UI, series, NULL),
		                 PC_OK);
	st = idx_query(ix, &q, opts, collect, &a, info, &err);
	if (st != PC_OK)
		fprintf(stderr, "query %s: %s\n", qs, err.msg);
	assert_int_equal(st, PC_OK);
	qry_cleanup(&q);
	return a.arr;
}

static json_t *query(idx *ix, enum qry_level level, const char *qs)
{
	return query_ex(ix, level, NULL, NULL, qs, NULL, NULL);
}

/* The first value of attribute `tag` ("0020000D") of answer `i` as text
 * ("" when absent, PN as its Alphabetic group, numbers printed). */
static const char *val(json_t *arr, size_t i, const char *tag)
{
	static char num[32];
	json_t *v = json_array_get(
	    json_object_get(json_object_get(json_array_get(arr, i), tag),
	                    "Value"),
	    0);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld",
		         (long long)json_integer_value(v));
		return num;
	}
	if (json_is_object(v))
		return json_string_value(json_object_get(v, "Alphabetic"));
	return "";
}

static bool has(json_t *arr, size_t i, const char *tag)
{
	return json_object_get(json_array_get(arr, i), tag) != NULL;
}

/* The answers' values of `tag`, in order, joined with ',' into got[512]. */
static void join_values(json_t *arr, const char *tag, char got[512])
{
	size_t i, n = 0;

	got[0] = '\0';
	for (i = 0; i < json_array_size(arr); i++)
		n += (size_t)snprintf(got + n, 512 - n, "%s%s", i ? "," : "",
		                      val(arr, i, tag));
}

/* Asserts the answers' values of `tag`, in order, joined with ','. */
static void expect(json_t *arr, const char *tag, const char *want)
{
	char got[512];

	join_values(arr, tag, got);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "%s: want \"%s\", got \"%s\"\n", tag, want,
		        got);
	assert_string_equal(got, want);
	json_decref(arr);
}

/* A search and what it must answer: the values of `tag`, in order, joined
 * with ','. */
struct search {
	enum qry_level level;
	const char *qs;
	const char *tag;
	const char *want;
};

/* expect() for each of `n` searches; a failure names the search. */
static void expect_searches(idx *ix, const struct search *s, size_t n)
{
	char got[512];
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *a = query(ix, s[i].level, s[i].qs);

		join_values(a, s[i].tag, got);
		json_decref(a);
		if (strcmp(got, s[i].want) != 0)
			fail_msg("search \"%s\" (level %d): %s: want \"%s\", "
			         "got \"%s\"",
			         s[i].qs, (int)s[i].level, s[i].tag, s[i].want,
			         got);
	}
}

#define STUDY QRY_LEVEL_STUDY
#define SERIES QRY_LEVEL_SERIES
#define INSTANCE QRY_LEVEL_INSTANCE
#define UID "0020000D"
#define SE_UID "0020000E"
#define SOP_UID "00080018"

/* ---- tests ----------------------------------------------------------------
 */

static void put_outcomes(void **state)
{
	struct fixture *f = *state;
	struct spec s = corpus[0], other;
	struct idx_instance ex, got;
	enum idx_put_outcome o;
	struct pc_err err = {0};
	char h1[IDX_HANDLE_LEN + 1];

	put_new(f->ix, &s, 1);
	handle_of(1, h1);
	assert_int_equal(idx_instance_by_uid(f->ix, s.sop, &got, NULL), PC_OK);
	assert_string_equal(got.handle, h1);
	assert_string_equal(got.study_uid, "1.2.3.1");
	assert_string_equal(got.series_uid, "1.2.3.1.1");
	assert_string_equal(got.sop_class_uid, CT_CLASS);
	assert_string_equal(got.ts_uid, TS_ELE);
	assert_int_equal(got.size, 1001);
	assert_int_equal(got.frames, 1);
	assert_int_equal(got.sha256[31], 1);

	/* The same bytes again (other handle): SAME, nothing changes. */
	memset(&ex, 0, sizeof(ex));
	assert_int_equal(put_ex(f->ix, &s, 2, 1, false, &o, &ex), PC_OK);
	assert_int_equal(o, IDX_PUT_SAME);
	assert_string_equal(ex.handle, h1);
	assert_int_equal(ex.seq, got.seq);

	/* Other bytes without overwrite: CONFLICT. */
	assert_int_equal(put_ex(f->ix, &s, 3, 9, false, &o, &ex), PC_OK);
	assert_int_equal(o, IDX_PUT_CONFLICT);
	assert_string_equal(ex.handle, h1);
	check_counts(f->ix, 1, 1, 1, 1);

	/* Other bytes with overwrite: REPLACED, new handle and seq. */
	assert_int_equal(put_ex(f->ix, &s, 4, 9, true, &o, &ex), PC_OK);
	assert_int_equal(o, IDX_PUT_REPLACED);
	assert_string_equal(ex.handle, h1);
	assert_int_equal(idx_instance_by_uid(f->ix, s.sop, &got, NULL), PC_OK);
	handle_of(4, h1);
	assert_string_equal(got.handle, h1);
	assert_true(got.seq > ex.seq);
	assert_int_equal(got.sha256[0], 9);
	check_counts(f->ix, 1, 1, 1, 1);
	{
		struct idx_counts c;

		assert_int_equal(idx_counts(f->ix, &c, NULL), PC_OK);
		assert_int_equal(c.bytes, 1004);
	}

	/* The same SOP Instance UID in another series: CONFLICT, even with
	 * overwrite. */
	other = s;
	other.series = "1.2.3.1.9";
	assert_int_equal(put_ex(f->ix, &other, 5, 7, true, &o, &ex), PC_OK);
	assert_int_equal(o, IDX_PUT_CONFLICT);
	assert_string_equal(ex.series_uid, "1.2.3.1.1");
	/* ... or another study. */
	other = s;
	other.study = "1.2.3.9";
	assert_int_equal(put_ex(f->ix, &other, 5, 7, true, &o, &ex), PC_OK);
	assert_int_equal(o, IDX_PUT_CONFLICT);
	/* A known series UID under another study: CONFLICT. */
	other = s;
	other.study = "1.2.3.9";
	other.sop = "1.2.3.9.9.9";
	assert_int_equal(put_ex(f->ix, &other, 6, 7, false, &o, &ex), PC_OK);
	assert_int_equal(o, IDX_PUT_CONFLICT);
	assert_string_equal(ex.study_uid, "1.2.3.1");
	check_counts(f->ix, 1, 1, 1, 1);

	/* A handle naming another instance: an error, nothing changes. */
	other = s;
	other.sop = "1.2.3.1.1.77";
	assert_int_equal(put_ex(f->ix, &other, 4, 3, false, &o, &ex), PC_INVAL);
	check_counts(f->ix, 1, 1, 1, 1);

	/* Missing SOP Class UID, bad handle: PC_INVAL. */
	other = s;
	other.sop = "1.2.3.1.1.78";
	other.cls = NULL;
	assert_int_equal(put_ex(f->ix, &other, 7, 3, false, &o, &ex), PC_INVAL);
	{
		dcm_dataset *ds = make_ds(&s);
		struct idx_put p = {ds,   "ABC", TS_ELE, 1, (const uint8_t *)h1,
		                    NULL, 0,     false, true};

		assert_int_equal(idx_instance_put(f->ix, &p, &o, NULL, &err),
		                 PC_INVAL);
		dcm_dataset_destroy(ds);
	}
	check_counts(f->ix, 1, 1, 1, 1);
}

static void counts_and_lookups(void **state)
{
	struct fixture *f = *state;
	struct idx_instance in;
	struct idx_counts c;
	char h[IDX_HANDLE_LEN + 1];
	bool ex;

	assert_string_equal(idx_backend(f->ix), "sqlite");
	assert_int_equal(idx_schema_version(f->ix), idx__schema_latest());
	assert_int_equal(idx_ping(f->ix, NULL), PC_OK);
	load_corpus(f->ix);
	/* P1, P2, and one patient for each study without PatientID. */
	check_counts(f->ix, 4, 5, 6, 8);
	assert_int_equal(idx_counts(f->ix, &c, NULL), PC_OK);
	assert_int_equal(c.bytes, 8 * 1000 + 36);

	handle_of(3, h);
	assert_int_equal(idx_instance_by_handle(f->ix, h, &in, NULL), PC_OK);
	assert_string_equal(in.sop_uid, "1.2.3.1.2.1");
	assert_string_equal(in.sop_class_uid, SR_CLASS);
	assert_int_equal(in.frames, 0); /* an SR has no pixel data */
	assert_int_equal(idx_handle_exists(f->ix, h, &ex, NULL), PC_OK);
	assert_true(ex);
	handle_of(99, h);
	assert_int_equal(idx_handle_exists(f->ix, h, &ex, NULL), PC_OK);
	assert_false(ex);
	assert_int_equal(idx_instance_by_handle(f->ix, h, &in, NULL),
	                 PC_NOTFOUND);
	assert_int_equal(idx_instance_by_uid(f->ix, "9.9", &in, NULL),
	                 PC_NOTFOUND);
}

struct walk {
	char order[512];
	size_t n, stop_at;
	bool metadata_ok;
};

static enum pc_status walker(void *ctx, const struct idx_instance *inst,
                             const char *md, size_t len)
{
	struct walk *w = ctx;
	size_t used = strlen(w->order);

	snprintf(w->order + used, sizeof(w->order) - used, "%s%s",
	         used ? "," : "", inst->sop_uid);
	if (md != NULL) {
		json_t *o = json_loadb(md, len, 0, NULL);
		json_t *v = json_array_get(
		    json_object_get(json_object_get(o, "00080018"), "Value"),
		    0);

		w->metadata_ok =
		    w->metadata_ok && v != NULL &&
		    strcmp(json_string_value(v), inst->sop_uid) == 0;
		json_decref(o);
	} else {
		w->metadata_ok = false;
	}
	if (++w->n == w->stop_at)
		return PC_STOP;
	return PC_OK;
}

/* Walks the scope with a fresh `w` that stops after `stop_at` instances
 * (0: never). */
static enum pc_status walk(idx *ix, const char *study, const char *series,
                           const char *sop, bool with_metadata, size_t stop_at,
                           struct walk *w)
{
	memset(w, 0, sizeof(*w));
	w->stop_at = stop_at;
	w->metadata_ok = true;
	return idx_instances_each(ix, study, series, sop, with_metadata, walker,
	                          w, NULL);
}

static void walking(void **state)
{
	struct fixture *f = *state;
	struct walk w;

	load_corpus(f->ix);
	assert_int_equal(walk(f->ix, "1.2.3.1", NULL, NULL, true, 0, &w),
	                 PC_OK);
	/* Series by number, instances by InstanceNumber. */
	assert_string_equal(w.order, "1.2.3.1.1.2,1.2.3.1.1.1,1.2.3.1.2.1");
	assert_true(w.metadata_ok);

	assert_int_equal(
	    walk(f->ix, "1.2.3.2", "1.2.3.2.1", NULL, false, 0, &w), PC_OK);
	assert_string_equal(w.order, "1.2.3.2.1.1,1.2.3.2.1.2");

	assert_int_equal(
	    walk(f->ix, "1.2.3.2", "1.2.3.2.1", "1.2.3.2.1.2", false, 0, &w),
	    PC_OK);
	assert_string_equal(w.order, "1.2.3.2.1.2");

	assert_int_equal(walk(f->ix, "1.2.3.1", NULL, NULL, false, 1, &w),
	                 PC_STOP);
	assert_int_equal(w.n, 1);

	assert_int_equal(
	    walk(f->ix, "1.2.3.1", "1.2.3.2.1", NULL, false, 0, &w),
	    PC_NOTFOUND);
	assert_int_equal(walk(f->ix, "9.9", NULL, NULL, false, 0, &w),
	                 PC_NOTFOUND);
	assert_int_equal(walk(f->ix, "1.2.3.1", NULL, "1.2", false, 0, &w),
	                 PC_INVAL);
}

static void study_queries(void **state)
{
	static const struct search searches[] = {
	    /* Order: date descending, then time, then UID (descending);
	     * empty dates last. */
	    {STUDY, "", UID, "1.2.3.2,1.2.3.1,1.2.3.3,1.2.3.5,1.2.3.4"},
	    /* PN: case-insensitive, trailing '^' ignored, wildcards. */
	    {STUDY, "PatientName=smith%5Ejohn", UID, "1.2.3.2,1.2.3.1"},
	    {STUDY, "PatientName=SMITH%5EJOHN%5E%5E", UID, "1.2.3.2,1.2.3.1"},
	    {STUDY, "PatientName=SMI*", UID, "1.2.3.2,1.2.3.1"},
	    {STUDY, "PatientName=*%5Ej?hn", UID, "1.2.3.2,1.2.3.1"},
	    {STUDY, "PatientName=m%C3%BCl*", UID, "1.2.3.3"},
	    {STUDY, "PatientName=MUL*", UID, "1.2.3.3"},
	    {STUDY, "PatientName=*", UID,
	     "1.2.3.2,1.2.3.1,1.2.3.3,1.2.3.5,1.2.3.4"},
	    {STUDY, "PatientName=mul&fuzzymatching=true", UID, "1.2.3.3"},
	    {STUDY, "PatientName=joh&fuzzymatching=true", UID,
	     "1.2.3.2,1.2.3.1"},
	    {STUDY, "PatientName=Smith", UID, ""},
	    /* Text: exact and case-sensitive. */
	    {STUDY, "PatientID=P1", UID, "1.2.3.2,1.2.3.1"},
	    {STUDY, "PatientID=p1", UID, ""},
	    {STUDY, "AccessionNumber=ACC2", UID, "1.2.3.2"},
	    {STUDY, "AccessionNumber=ACC*", UID, "1.2.3.2,1.2.3.1,1.2.3.3"},
	    {STUDY, "AccessionNumber=AC%5B1", UID, ""},
	    {STUDY, "StudyDescription=*KNEE", UID, "1.2.3.2"},
	    /* Dates and times: single, closed and open ranges. */
	    {STUDY, "StudyDate=20190101", UID, "1.2.3.3"},
	    {STUDY, "StudyDate=20200101-20201231", UID, "1.2.3.1"},
	    {STUDY, "StudyDate=20200101-", UID, "1.2.3.2,1.2.3.1"},
	    {STUDY, "StudyDate=-20191231", UID, "1.2.3.3"},
	    {STUDY, "StudyTime=1000-1100", UID, "1.2.3.1"},
	    {STUDY, "StudyTime=-0800", UID, "1.2.3.2"},
	    {STUDY, "StudyTime=101500", UID, "1.2.3.1"},
	    /* UID lists. */
	    {STUDY, "StudyInstanceUID=1.2.3.3,1.2.3.1", UID, "1.2.3.1,1.2.3.3"},
	    {STUDY, "StudyInstanceUID=1.2.3.4%5C1.2.3.9", UID, "1.2.3.4"},
	    /* ModalitiesInStudy: any series. */
	    {STUDY, "ModalitiesInStudy=MR", UID, "1.2.3.2"},
	    {STUDY, "ModalitiesInStudy=CT", UID, "1.2.3.1,1.2.3.3"},
	    {STUDY, "ModalitiesInStudy=SR%5CMR", UID, "1.2.3.2,1.2.3.1"},
	    /* A lower-level key matches when any child does. */
	    {STUDY, "Modality=SR", UID, "1.2.3.1"},
	    {STUDY, "SOPClassUID=" MR_CLASS, UID, "1.2.3.2"},
	    /* A key without a column: post-filtered on stored metadata. */
	    {STUDY, "StationName=HOSP*", UID, "1.2.3.3"},
	    {STUDY, "StationName=ST1", UID, "1.2.3.1"},
	    {STUDY, "StationName=ST1&PatientID=P2", UID, ""},
	    /* Combined keys. */
	    {STUDY,
	     "PatientName=smith*&StudyDate=20210101-&AccessionNumber=ACC2", UID,
	     "1.2.3.2"},
	};
	struct fixture *f = *state;
	json_t *a, *m;

	load_corpus(f->ix);
	expect_searches(f->ix, searches,
	                sizeof(searches) / sizeof(searches[0]));
	/* The answer lists every modality of the study, and its counts. */
	a = query(f->ix, STUDY, "StudyInstanceUID=1.2.3.1");
	m = json_object_get(json_object_get(json_array_get(a, 0), "00080061"),
	                    "Value");
	assert_int_equal(json_array_size(m), 2);
	assert_string_equal(json_string_value(json_array_get(m, 0)), "CT");
	assert_string_equal(json_string_value(json_array_get(m, 1)), "SR");
	expect(a, "00201206", "2");
	expect(query(f->ix, STUDY, "StudyInstanceUID=1.2.3.1"), "00201208",
	       "3");
}

static void answers(void **state)
{
	struct fixture *f = *state;
	struct idx_query_opts opts = {"http://h:1/dicom-web", 0};
	json_t *a, *o, *pn;

	load_corpus(f->ix);
	a = query_ex(f->ix, STUDY, NULL, NULL, "StudyInstanceUID=1.2.3.1",
	             &opts, NULL);
	assert_int_equal(json_array_size(a), 1);
	o = json_array_get(a, 0);
	/* Defaults of PS3.18 table 10.6.3-3, with VRs and JSON types. */
	assert_string_equal(val(a, 0, "00080020"), "20200105");
	assert_string_equal(val(a, 0, "00080030"), "101500");
	assert_string_equal(val(a, 0, "00080050"), "ACC1");
	assert_string_equal(val(a, 0, "00080056"), "ONLINE");
	assert_string_equal(val(a, 0, "00081190"),
	                    "http://h:1/dicom-web/studies/1.2.3.1");
	assert_string_equal(val(a, 0, "00100020"), "P1");
	pn = json_object_get(o, "00100010");
	assert_string_equal(json_string_value(json_object_get(pn, "vr")), "PN");
	assert_string_equal(val(a, 0, "00100010"), "Smith^John");
	assert_true(json_is_integer(json_array_get(
	    json_object_get(json_object_get(o, "00201208"), "Value"), 0)));
	/* No value: the VR alone. */
	assert_non_null(json_object_get(o, "00080090"));
	assert_null(json_object_get(json_object_get(o, "00080090"), "Value"));
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(o, "00080090"), "vr")),
	                    "PN");
	/* ASCII only: no SpecificCharacterSet. Not an instance attribute. */
	assert_false(has(a, 0, "00080005"));
	assert_false(has(a, 0, "00080018"));
	assert_false(has(a, 0, "00081010"));
	json_decref(a);

	/* UTF-8 text: ISO_IR 192, first member. */
	a = query(f->ix, STUDY, "PatientID=P2");
	assert_string_equal(val(a, 0, "00080005"), "ISO_IR 192");
	assert_string_equal(val(a, 0, "00100010"), "M\xC3\xBCller^Anna");
	json_decref(a);

	/* includefield: a column, a metadata attribute, all. */
	a = query(f->ix, STUDY,
	          "StudyInstanceUID=1.2.3.1&includefield=StudyDescription,"
	          "00081010");
	assert_string_equal(val(a, 0, "00081030"), "CT HEAD");
	assert_string_equal(val(a, 0, "00081010"), "ST1");
	json_decref(a);
	a = query(f->ix, STUDY, "StudyInstanceUID=1.2.3.1&includefield=all");
	assert_string_equal(val(a, 0, "00081010"), "ST1");
	assert_string_equal(val(a, 0, "00081030"), "CT HEAD");
	assert_false(has(a, 0, "00080018")); /* instance level */
	assert_false(has(a, 0, "00280010")); /* pixel module */
	json_decref(a);

	/* Series answers: unscoped carry study attributes, scoped not. */
	a = query_ex(f->ix, SERIES, NULL, NULL, "Modality=MR", &opts, NULL);
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(val(a, 0, UID), "1.2.3.2");
	assert_string_equal(val(a, 0, "00100010"), "Smith^John");
	assert_string_equal(val(a, 0, "00081190"),
	                    "http://h:1/dicom-web/studies/1.2.3.2/series/"
	                    "1.2.3.2.1");
	assert_string_equal(val(a, 0, "00200011"), "5");
	assert_string_equal(val(a, 0, "00201209"), "2");
	json_decref(a);
	a = query_ex(f->ix, SERIES, "1.2.3.1", NULL, "", NULL, NULL);
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(val(a, 0, UID), "1.2.3.1");
	assert_false(has(a, 0, "00100010"));
	assert_false(has(a, 0, "00081190"));
	/* RequestAttributesSequence comes from the stored metadata. */
	assert_true(has(a, 1, "00400275"));
	json_decref(a);

	/* Instance answers. */
	a = query_ex(f->ix, INSTANCE, "1.2.3.1", "1.2.3.1.1", "", &opts, NULL);
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(val(a, 0, SOP_UID), "1.2.3.1.1.2");
	assert_string_equal(val(a, 0, SE_UID), "1.2.3.1.1");
	assert_string_equal(val(a, 0, UID), "1.2.3.1");
	assert_string_equal(val(a, 0, "00280010"), "512");
	assert_string_equal(val(a, 0, "00280100"), "16");
	assert_string_equal(val(a, 0, "00280008"), "1");
	assert_string_equal(val(a, 0, "00080016"), CT_CLASS);
	assert_string_equal(val(a, 0, "00081190"),
	                    "http://h:1/dicom-web/studies/1.2.3.1/series/"
	                    "1.2.3.1.1/instances/1.2.3.1.1.2");
	assert_false(has(a, 0, "00080060")); /* scoped to the series */
	json_decref(a);
}

static void series_instance_queries(void **state)
{
	static const struct search searches[] = {
	    /* Series: number then UID. */
	    {SERIES, "Modality=CT", SE_UID, "1.2.3.1.1,1.2.3.3.1"},
	    {SERIES, "SeriesNumber=5", SE_UID, "1.2.3.2.1"},
	    {SERIES, "PatientName=smith*", SE_UID,
	     "1.2.3.1.1,1.2.3.1.2,1.2.3.2.1"},
	    {SERIES, "StudyDate=20190101-20201231", SE_UID,
	     "1.2.3.1.1,1.2.3.3.1,1.2.3.1.2"},
	    {SERIES, "00400275.00400009=SPS1", SE_UID, "1.2.3.1.2"},
	    {SERIES, "00400275.00401001=RP*", SE_UID, "1.2.3.1.2"},
	    {SERIES, "00400275.00400009=SPS1&00400275.00401001=RP2", SE_UID,
	     ""},
	    {STUDY, "00400275.00400009=SPS1", UID, "1.2.3.1"},
	    {SERIES, "ModalitiesInStudy=SR", SE_UID, "1.2.3.1.1,1.2.3.1.2"},
	    /* Patients (C-FIND patient root). */
	    {QRY_LEVEL_PATIENT, "PatientName=smi*&includefield=00201200",
	     "00201200", "2"},
	    /* Universal: every patient, by PatientID (none first). */
	    {QRY_LEVEL_PATIENT, "NumberOfPatientRelatedInstances=", "00201204",
	     "1,1,5,1"},
	    {QRY_LEVEL_PATIENT, "PatientID=P*", "00100020", "P1,P2"},
	    {QRY_LEVEL_PATIENT, "StudyDate=20190101", "00100020", "P2"},
	    /* Instances: InstanceNumber then UID. */
	    {INSTANCE, "SOPClassUID=" SR_CLASS, SOP_UID, "1.2.3.1.2.1"},
	    {INSTANCE, "InstanceNumber=2", SOP_UID, "1.2.3.1.1.1,1.2.3.2.1.2"},
	    {INSTANCE, "StudyInstanceUID=1.2.3.2", SOP_UID,
	     "1.2.3.2.1.1,1.2.3.2.1.2"},
	    {INSTANCE, "SOPInstanceUID=1.2.3.3.1.1", UID, "1.2.3.3"},
	    {INSTANCE, "PatientID=P2&Modality=CT", SOP_UID, "1.2.3.3.1.1"},
	    {INSTANCE, "StationName=ST1", SOP_UID, "1.2.3.1.1.2,1.2.3.1.1.1"},
	};
	struct fixture *f = *state;

	load_corpus(f->ix);
	expect_searches(f->ix, searches,
	                sizeof(searches) / sizeof(searches[0]));
	/* Scoped by the URL path: series by number, instances by
	 * InstanceNumber. */
	expect(query_ex(f->ix, SERIES, "1.2.3.1", NULL, "", NULL, NULL), SE_UID,
	       "1.2.3.1.1,1.2.3.1.2");
	expect(
	    query_ex(f->ix, INSTANCE, "1.2.3.1", "1.2.3.1.1", "", NULL, NULL),
	    SOP_UID, "1.2.3.1.1.2,1.2.3.1.1.1");
}

/* expect() for `qs` at `level` under `opts`, and whether the server's
 * maximum cut the answers short; returns the query's info. */
static struct idx_query_info expect_cut(idx *ix, enum qry_level level,
                                        const char *qs,
                                        const struct idx_query_opts *opts,
                                        const char *tag, const char *want,
                                        bool truncated)
{
	struct idx_query_info info;

	expect(query_ex(ix, level, NULL, NULL, qs, opts, &info), tag, want);
	assert_int_equal(info.truncated, truncated);
	return info;
}

static void limits(void **state)
{
	struct fixture *f = *state;
	struct idx_query_opts opts = {NULL, 2};
	struct idx_query_opts big = {NULL, 10};
	struct idx_query_opts five = {NULL, 5};
	struct idx_query_info info;
	struct answers a = {NULL, 2};
	struct qry q;

	load_corpus(f->ix);
	expect(query(f->ix, STUDY, "limit=2"), UID, "1.2.3.2,1.2.3.1");
	expect(query(f->ix, STUDY, "limit=2&offset=2"), UID, "1.2.3.3,1.2.3.5");
	expect(query(f->ix, STUDY, "offset=4"), UID, "1.2.3.4");
	expect(query(f->ix, STUDY, "offset=9"), UID, "");
	expect(query(f->ix, STUDY, "limit=0"), UID, "");
	/* The server maximum cuts: truncated. */
	info =
	    expect_cut(f->ix, STUDY, "", &opts, UID, "1.2.3.2,1.2.3.1", true);
	assert_int_equal(info.returned, 2);
	expect_cut(f->ix, STUDY, "limit=3", &opts, UID, "1.2.3.2,1.2.3.1",
	           true);
	/* The client's limit cuts: not truncated. */
	expect_cut(f->ix, STUDY, "limit=2", &big, UID, "1.2.3.2,1.2.3.1",
	           false);
	info = expect_cut(f->ix, STUDY, "", &five, UID,
	                  "1.2.3.2,1.2.3.1,1.2.3.3,1.2.3.5,1.2.3.4", false);
	assert_int_equal(info.returned, 5);
	/* Post-filtered keys: offset and limit in C. StationName is absent
	 * in three studies, so "*" (universal) keeps all five. */
	expect(query(f->ix, INSTANCE, "StationName=ST1&limit=1&offset=1"),
	       SOP_UID, "1.2.3.1.1.1");
	expect_cut(f->ix, INSTANCE, "StationName=*T*", &opts, SOP_UID,
	           "1.2.3.1.1.2,1.2.3.1.1.1", false);
	expect_cut(f->ix, INSTANCE, "StationName=*S*", &opts, SOP_UID,
	           "1.2.3.1.1.2,1.2.3.3.1.1", true);
	/* The callback stops the search. */
	a.arr = json_array();
	assert_int_equal(qry_init(&q, STUDY), PC_OK);
	assert_int_equal(idx_query(f->ix, &q, NULL, collect, &a, &info, NULL),
	                 PC_STOP);
	assert_int_equal(json_array_size(a.arr), 2);
	qry_cleanup(&q);
	json_decref(a.arr);
}

static unsigned n_deleted;
static char last_deleted[IDX_HANDLE_LEN + 1];

static void on_delete(void *ctx, const char *handle)
{
	(void)ctx;
	n_deleted++;
	snprintf(last_deleted, sizeof(last_deleted), "%s", handle);
}

static void deletes(void **state)
{
	struct fixture *f = *state;
	char h[IDX_HANDLE_LEN + 1];
	struct idx_counts c;

	load_corpus(f->ix);
	/* The only instance of a series: the series goes, the study stays
	 * with its counts and lists updated. */
	n_deleted = 0;
	assert_int_equal(idx_delete(f->ix, "1.2.3.1", "1.2.3.1.2",
	                            "1.2.3.1.2.1", on_delete, NULL, NULL),
	                 PC_OK);
	assert_int_equal(n_deleted, 1);
	handle_of(3, h);
	assert_string_equal(last_deleted, h);
	check_counts(f->ix, 4, 5, 5, 7);
	expect(query(f->ix, STUDY, "StudyInstanceUID=1.2.3.1"), "00080061",
	       "CT");
	expect(query(f->ix, STUDY, "StudyInstanceUID=1.2.3.1"), "00201206",
	       "1");
	expect(query(f->ix, STUDY, "StudyInstanceUID=1.2.3.1"), "00201208",
	       "2");
	expect(query(f->ix, STUDY, "ModalitiesInStudy=SR"), UID, "");
	expect(query(f->ix, SERIES, "00400275.00400009=SPS1"), SE_UID, "");

	/* One instance of two: the series stays, its representative moves. */
	assert_int_equal(idx_delete(f->ix, "1.2.3.1", "1.2.3.1.1",
	                            "1.2.3.1.1.1", on_delete, NULL, NULL),
	                 PC_OK);
	check_counts(f->ix, 4, 5, 5, 6);
	expect(query(f->ix, SERIES, "SeriesInstanceUID=1.2.3.1.1"), "00201209",
	       "1");
	expect(query(f->ix, STUDY, "StationName=ST1"), UID, "1.2.3.1");

	/* The only series of a study: the study goes, the patient stays. */
	n_deleted = 0;
	assert_int_equal(idx_delete(f->ix, "1.2.3.2", "1.2.3.2.1", NULL,
	                            on_delete, NULL, NULL),
	                 PC_OK);
	assert_int_equal(n_deleted, 2);
	check_counts(f->ix, 4, 4, 4, 4);
	expect(query(f->ix, STUDY, "PatientID=P1"), UID, "1.2.3.1");

	/* A whole study: its patient goes with it. */
	assert_int_equal(
	    idx_delete(f->ix, "1.2.3.3", NULL, NULL, on_delete, NULL, NULL),
	    PC_OK);
	check_counts(f->ix, 3, 3, 3, 3);
	assert_int_equal(idx_counts(f->ix, &c, NULL), PC_OK);
	assert_int_equal(c.bytes, 1002 + 1007 + 1008);

	/* Nothing there. */
	assert_int_equal(
	    idx_delete(f->ix, "1.2.3.3", NULL, NULL, on_delete, NULL, NULL),
	    PC_NOTFOUND);
	assert_int_equal(idx_delete(f->ix, "1.2.3.1", "1.2.3.1.1", "9.9",
	                            on_delete, NULL, NULL),
	                 PC_NOTFOUND);
	assert_int_equal(idx_delete(f->ix, "1.2.3.1", "1.2.3.2.1", NULL,
	                            on_delete, NULL, NULL),
	                 PC_NOTFOUND);

	/* Everything: empty tables, zero totals. */
	assert_int_equal(
	    idx_delete(f->ix, "1.2.3.1", NULL, NULL, NULL, NULL, NULL), PC_OK);
	assert_int_equal(
	    idx_delete(f->ix, "1.2.3.4", NULL, NULL, NULL, NULL, NULL), PC_OK);
	assert_int_equal(idx_delete(f->ix, "1.2.3.5", "1.2.3.5.1",
	                            "1.2.3.5.1.1", NULL, NULL, NULL),
	                 PC_OK);
	check_counts(f->ix, 0, 0, 0, 0);
	assert_int_equal(idx_counts(f->ix, &c, NULL), PC_OK);
	assert_int_equal(c.bytes, 0);
	expect(query(f->ix, STUDY, ""), UID, "");
	/* A deleted instance can come back. */
	put_new(f->ix, &corpus[0], 1);
	check_counts(f->ix, 1, 1, 1, 1);
}

static void etags(void **state)
{
	struct fixture *f = *state;
	char a[IDX_ETAG_MAX], b[IDX_ETAG_MAX], c[IDX_ETAG_MAX];
	enum idx_put_outcome o;
	struct spec s;

	load_corpus(f->ix);
	assert_int_equal(idx_etag(f->ix, "1.2.3.1", NULL, NULL, a, NULL),
	                 PC_OK);
	assert_true(strlen(a) > 0);
	assert_null(strchr(a, '"'));
	assert_int_equal(idx_etag(f->ix, "1.2.3.1", NULL, NULL, b, NULL),
	                 PC_OK);
	assert_string_equal(a, b);
	/* Per series and instance too; other studies are independent. */
	assert_int_equal(idx_etag(f->ix, "1.2.3.1", "1.2.3.1.1", NULL, c, NULL),
	                 PC_OK);
	assert_string_not_equal(a, c);
	assert_int_equal(idx_etag(f->ix, "1.2.3.2", NULL, NULL, c, NULL),
	                 PC_OK);
	/* An insert changes it. */
	s = corpus[0];
	s.sop = "1.2.3.1.1.3";
	put_new(f->ix, &s, 50);
	assert_int_equal(idx_etag(f->ix, "1.2.3.1", NULL, NULL, b, NULL),
	                 PC_OK);
	assert_string_not_equal(a, b);
	memcpy(a, b, sizeof(a));
	/* A replace changes it. */
	assert_int_equal(put_ex(f->ix, &s, 51, 77, true, &o, NULL), PC_OK);
	assert_int_equal(o, IDX_PUT_REPLACED);
	assert_int_equal(idx_etag(f->ix, "1.2.3.1", NULL, NULL, b, NULL),
	                 PC_OK);
	assert_string_not_equal(a, b);
	memcpy(a, b, sizeof(a));
	/* A delete changes it; an untouched study keeps its own. */
	assert_int_equal(idx_etag(f->ix, "1.2.3.2", NULL, NULL, b, NULL),
	                 PC_OK);
	assert_string_equal(b, c);
	assert_int_equal(idx_delete(f->ix, "1.2.3.1", "1.2.3.1.1",
	                            "1.2.3.1.1.3", NULL, NULL, NULL),
	                 PC_OK);
	assert_int_equal(idx_etag(f->ix, "1.2.3.1", NULL, NULL, b, NULL),
	                 PC_OK);
	assert_string_not_equal(a, b);
	assert_int_equal(idx_etag(f->ix, "9.9", NULL, NULL, b, NULL),
	                 PC_NOTFOUND);
	assert_int_equal(
	    idx_etag(f->ix, "1.2.3.1", "1.2.3.1.1", "1.2.3.1.1.1", b, NULL),
	    PC_OK);
}

static enum pc_status count_inst(void *ctx, const struct idx_instance *inst,
                                 const char *md, size_t len)
{
	(void)inst;
	(void)md;
	(void)len;
	(*(size_t *)ctx)++;
	return PC_OK;
}

/* Collects the seqs idx_undurable_each reports. */
struct seqs {
	int64_t v[16];
	size_t n;
};

static enum pc_status collect_seq(void *ctx, const struct idx_instance *inst,
                                  const char *md, size_t len)
{
	struct seqs *q = ctx;

	(void)md;
	(void)len;
	if (q->n < 16)
		q->v[q->n] = inst->seq;
	q->n++;
	return PC_OK;
}

/*
 * Deferred durability: puts commit without syncing, the durable mark moves
 * only when the caller says so and is stored with the next write (or at
 * close); rows above it are reported for the start-up check; a replacement
 * waits for a durable blob.
 */
static void deferred_durability(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	struct seqs q = {{0}, 0};
	struct spec s = corpus[0];
	enum idx_put_outcome o;
	int fd = -1;
	int64_t first, second;

	assert_int_equal(idx_defer_sync(f->ix, &fd, &err), PC_OK);
	assert_true(fd >= 0);
	assert_int_equal(idx_last_seq(f->ix), 0);
	put_new(f->ix, &corpus[0], 1);
	first = idx_last_seq(f->ix);
	assert_true(first > 0);
	put_new(f->ix, &corpus[1], 2);
	second = idx_last_seq(f->ix);
	assert_true(second > first);

	/* Nothing was said durable: both rows are reported, in order. */
	assert_int_equal(idx_undurable_each(f->ix, collect_seq, &q, &err),
	                 PC_OK);
	assert_int_equal(q.n, 2);
	assert_int_equal(q.v[0], first);
	assert_int_equal(q.v[1], second);

	/* The first is durable: stored with the next put. */
	idx_durable_set(f->ix, first);
	put_new(f->ix, &corpus[2], 3);
	q.n = 0;
	assert_int_equal(idx_undurable_each(f->ix, collect_seq, &q, &err),
	                 PC_OK);
	assert_int_equal(q.n, 2);
	assert_int_equal(q.v[0], second);
	/* Backwards is ignored. */
	idx_durable_set(f->ix, 1);

	/* Other bytes with overwrite, blob not durable: NEED_DURABLE and
	 * nothing changed; durable: REPLACED. */
	{
		dcm_dataset *ds = make_ds(&s);
		struct pc_buf md = PC_BUF_INIT;
		char handle[IDX_HANDLE_LEN + 1];
		uint8_t digest[32];
		struct idx_put p;

		handle_of(9, handle);
		p = put_of(ds, handle, TS_ELE, 1009, digest, 9, &md);
		p.allow_overwrite = true;
		p.blob_durable = false;
		assert_int_equal(idx_instance_put(f->ix, &p, &o, NULL, &err),
		                 PC_OK);
		assert_int_equal(o, IDX_PUT_NEED_DURABLE);
		p.blob_durable = true;
		assert_int_equal(idx_instance_put(f->ix, &p, &o, NULL, &err),
		                 PC_OK);
		assert_int_equal(o, IDX_PUT_REPLACED);
		pc_buf_cleanup(&md);
		dcm_dataset_destroy(ds);
	}

	/* Everything durable; the mark is written at close and read back. */
	idx_durable_set(f->ix, idx_last_seq(f->ix));
	idx_close(f->ix);
	f->ix = idx_sqlite_open(f->path, &err);
	assert_non_null(f->ix);
	q.n = 0;
	assert_int_equal(idx_undurable_each(f->ix, collect_seq, &q, &err),
	                 PC_OK);
	assert_int_equal(q.n, 0);

	/* Deletes still work (they sync on their own) in deferred mode. */
	assert_int_equal(idx_defer_sync(f->ix, &fd, &err), PC_OK);
	assert_int_equal(idx_delete(f->ix, "1.2.3.1", NULL, NULL, NULL, NULL,
	                            &err),
	                 PC_OK);
	put_new(f->ix, &corpus[0], 10);
	q.n = 0;
	assert_int_equal(idx_undurable_each(f->ix, collect_seq, &q, &err),
	                 PC_OK);
	assert_int_equal(q.n, 1);
}

static void persistence_and_migrations(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	sqlite3 *db;

	load_corpus(f->ix);
	idx_close(f->ix);
	f->ix = idx_sqlite_open(f->path, &err);
	assert_non_null(f->ix);
	check_counts(f->ix, 4, 5, 6, 8);
	expect(query(f->ix, STUDY, "PatientName=smi*"), UID, "1.2.3.2,1.2.3.1");
	idx_close(f->ix);
	f->ix = NULL;

	/* A newer schema than this binary knows: refused, untouched. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_null(idx_sqlite_open(f->path, &err));
	assert_int_equal(err.status, PC_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "999"));

	/* Back to version 1 (the first release's schema, without the
	 * durability mark): it migrates and opens with its data, every row
	 * below the mark (version 1 synced each one). */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "ALTER TABLE totals DROP COLUMN"
	                              " durable_upto;"
	                              "PRAGMA user_version = 1",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	f->ix = idx_sqlite_open(f->path, NULL);
	assert_non_null(f->ix);
	assert_int_equal(idx_schema_version(f->ix), 2);
	check_counts(f->ix, 4, 5, 6, 8);
	assert_true(idx_last_seq(f->ix) >= 8);
	{
		size_t n = 0;

		assert_int_equal(idx_undurable_each(f->ix, count_inst, &n, &err),
		                 PC_OK);
		assert_int_equal(n, 0);
	}

	/* Not a database: an error naming the path. */
	{
		char bad[160];
		FILE *fp;

		snprintf(bad, sizeof(bad), "%s/bad.db", f->dir);
		fp = fopen(bad, "w");
		assert_non_null(fp);
		fputs("this is not an SQLite database, not even close......"
		      "..........................................",
		      fp);
		fclose(fp);
		memset(&err, 0, sizeof(err));
		assert_null(idx_sqlite_open(bad, &err));
		assert_int_equal(err.status, PC_IO);
		assert_non_null(strstr(err.msg, "bad.db"));
	}
}

static enum pc_status count_cb(void *ctx, const char *json, size_t n);

/* Puts a real file (header only, as ingest parses it). */
static bool put_file(idx *ix, const char *path, unsigned h)
{
	struct dcm_read_opts ro = {DCM_READ_HEADER_ONLY, NULL};
	struct pc_buf md = PC_BUF_INIT;
	struct pc_err err = {0};
	char handle[IDX_HANDLE_LEN + 1];
	enum idx_put_outcome o;
	uint8_t sha[32];
	struct idx_put p;
	dcm_file *f = dcm_file_open(path, &ro, &err);

	if (f == NULL)
		return false;
	handle_of(h, handle);
	p = put_of(dcm_file_dataset(f), handle, dcm_file_ts(f)->uid, 5000, sha,
	           (uint8_t)h, &md);
	assert_int_equal(idx_instance_put(ix, &p, &o, NULL, &err), PC_OK);
	assert_int_equal(o, IDX_PUT_NEW);
	pc_buf_cleanup(&md);
	dcm_file_destroy(f);
	return true;
}

static void real_files(void **state)
{
	static const char *const files[] = {
	    "test_files/CT_small.dcm", "test_files/MR_small.dcm",
	    "charset_files/chrFren.dcm", "charset_files/chrGreek.dcm",
	    "charset_files/chrRuss.dcm"};
	struct fixture *f = *state;
	struct idx_instance in;
	char path[256];
	json_t *a;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path),
		         "/usr/lib/python3/dist-packages/pydicom/data/%s",
		         files[i]);
		if (!put_file(f->ix, path, (unsigned)i + 1)) {
			skip();
			return;
		}
	}
	check_counts(f->ix, 5, 5, 5, 5);
	assert_int_equal(idx_instance_by_uid(f->ix,
	                                     "1.3.6.1.4.1.5962.1.1.1.1.1."
	                                     "20040119072730.12322",
	                                     &in, NULL),
	                 PC_OK);
	assert_int_equal(in.frames, 1);
	assert_string_equal(in.sop_class_uid, CT_CLASS);
	expect(query(f->ix, STUDY, "PatientName=compressedsamples*"),
	       "00100020", "4MR1,1CT1");
	expect(query(f->ix, STUDY, "ModalitiesInStudy=CT"), "00100020", "1CT1");
	expect(query(f->ix, INSTANCE, "PatientID=1CT1"), "00280010", "128");
	expect(query(f->ix, SERIES, "PatientID=4MR1"), "00080060", "MR");
	/* Latin-1, Greek and Cyrillic names decoded to UTF-8 and folded. */
	a = query(f->ix, STUDY, "PatientName=buc%5Ejerome");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(val(a, 0, "00100010"), "Buc^J\xC3\xA9r\xC3\xB4me");
	assert_string_equal(val(a, 0, "00080005"), "ISO_IR 192");
	json_decref(a);
	/* "ΔΙΟΝΥΣΙΟΣ" matches "Διονυσιος" (final sigma too). */
	expect(query(f->ix, STUDY,
	             "PatientName=%CE%94%CE%99%CE%9F%CE%9D%CE%A5%CE%A3%CE%99"
	             "%CE%9F%CE%A3"),
	       "00100020", "SCSGREEK");
	/* "ЛЮК*" */
	expect(query(f->ix, STUDY, "PatientName=%D0%9B%D0%AE%D0%9A*"),
	       "00100020", "SCSRUSS");
	expect(query(f->ix, STUDY, "PatientName=jer&fuzzymatching=true"),
	       "00100020", "SCSFREN");
}

/* Every allocation of a put and of a query fails in turn: the answer is
 * PC_NOMEM (or PC_OK once enough succeed), nothing leaks, the database
 * stays consistent (SQLite's own allocator is not affected). */
static void alloc_failures(void **state)
{
	struct fixture *f = *state;
	struct spec s = corpus[3];
	dcm_dataset *ds;
	struct pc_buf md = PC_BUF_INIT;
	uint8_t sha[32];
	struct idx_put p;
	enum idx_put_outcome o;
	enum pc_status st = PC_NOMEM;
	uint64_t n;
	int level;

	load_corpus(f->ix);
	s.sop = "1.2.3.2.1.9";
	s.series = "1.2.3.2.7"; /* a new series: the longest path */
	s.sps = "SPS9";
	ds = make_ds(&s);
	p = put_of(ds, "0123456789abcdef0123456789abcdef", TS_ELE, 77, sha,
	           0x42, &md);
	for (n = 1; n < 1000 && st != PC_OK; n++) {
		pc_alloc_fail_after(n);
		st = idx_instance_put(f->ix, &p, &o, NULL, NULL);
		pc_alloc_fail_after(0);
		if (st != PC_OK) {
			assert_int_equal(st, PC_NOMEM);
			check_counts(f->ix, 4, 5, 6, 8);
		}
	}
	assert_int_equal(st, PC_OK);
	assert_int_equal(o, IDX_PUT_NEW);
	check_counts(f->ix, 4, 5, 7, 9);
	pc_buf_cleanup(&md);
	dcm_dataset_destroy(ds);

	for (level = STUDY; level <= INSTANCE; level++) {
		struct qry q;
		struct idx_query_opts opts = {"http://x", 3};
		int seen = 0;
		const char *qs =
		    "PatientName=smi*&StationName=*&includefield=all"
		    "&ModalitiesInStudy=CT%5CMR";

		assert_int_equal(qry_init(&q, (enum qry_level)level), PC_OK);
		assert_int_equal(qry_parse_qido(&q, qs, strlen(qs), NULL),
		                 PC_OK);
		st = PC_NOMEM;
		for (n = 1; n < 1000 && st != PC_OK; n++) {
			seen = 0;
			pc_alloc_fail_after(n);
			st = idx_query(f->ix, &q, &opts, count_cb, &seen, NULL,
			               NULL);
			pc_alloc_fail_after(0);
			if (st != PC_OK)
				assert_int_equal(st, PC_NOMEM);
		}
		assert_int_equal(st, PC_OK);
		assert_true(seen > 0);
		qry_cleanup(&q);
	}
}

/* ---- concurrency ----------------------------------------------------------
 */

struct worker {
	idx *ix;
	int id;
	int n;
	int failures;
};

static void *writer_main(void *arg)
{
	struct worker *w = arg;
	char study[64], series[64], sop[64];
	int i;

	for (i = 0; i < w->n; i++) {
		struct spec s = corpus[0];
		enum idx_put_outcome o;

		snprintf(study, sizeof(study), "2.%d.%d", w->id, i / 10);
		snprintf(series, sizeof(series), "2.%d.%d.1", w->id, i / 10);
		snprintf(sop, sizeof(sop), "2.%d.%d.1.%d", w->id, i / 10, i);
		s.study = study;
		s.series = series;
		s.sop = sop;
		if (put_ex(w->ix, &s, (unsigned)(w->id * 100000 + i + 1000),
		           (uint8_t)i, false, &o, NULL) != PC_OK ||
		    o != IDX_PUT_NEW)
			w->failures++;
	}
	return NULL;
}

static enum pc_status count_cb(void *ctx, const char *json, size_t n)
{
	(void)json;
	(void)n;
	(*(int *)ctx)++;
	return PC_OK;
}

static void *reader_main(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < w->n; i++) {
		struct qry q;
		struct idx_instance in;
		int seen = 0;

		if (qry_init(&q, QRY_LEVEL_STUDY) != PC_OK ||
		    qry_parse_qido(&q, "PatientName=smi*&limit=50", 25, NULL) !=
		        PC_OK ||
		    idx_query(w->ix, &q, NULL, count_cb, &seen, NULL, NULL) !=
		        PC_OK)
			w->failures++;
		qry_cleanup(&q);
		if (idx_instance_by_uid(w->ix, "1.2.3.1.1.1", &in, NULL) !=
		    PC_OK)
			w->failures++;
	}
	return NULL;
}

static void concurrency(void **state)
{
	struct fixture *f = *state;
	struct worker w[4];
	pthread_t th[4];
	int i;

	load_corpus(f->ix);
	for (i = 0; i < 4; i++) {
		w[i].ix = f->ix;
		w[i].id = i;
		w[i].n = i < 2 ? 100 : 60;
		w[i].failures = 0;
		assert_int_equal(
		    pthread_create(&th[i], NULL,
		                   i < 2 ? writer_main : reader_main, &w[i]),
		    0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	check_counts(f->ix, 4, 5 + 20, 6 + 20, 8 + 200);
	expect(query(f->ix, STUDY, "StudyInstanceUID=2.1.3"), "00201208", "10");
}

/* ---- timing ----------------------------------------------------------------
 */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *const surnames[] = {
    "Smith",    "Jones",   "Taylor", "Brown",    "Williams",
    "Wilson",   "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans",   "Walker", "White",    "Roberts",
    "Green",    "Hall",    "Wood",   "Jackson",  "Clarke"};

static const char *const level_names[] = {
    [QRY_LEVEL_PATIENT] = "patient",
    [QRY_LEVEL_STUDY] = "study",
    [QRY_LEVEL_SERIES] = "series",
    [QRY_LEVEL_INSTANCE] = "instance",
};

/* Runs `qs` at `level` `reps` times, prints the best time and asserts it
 * is under `budget` ms (0: no bound); returns the number of matches. */
static int timed(idx *ix, enum qry_level level, const char *qs, int reps,
                 double budget)
{
	double t0, best = 1e9;
	int r, matches = 0;

	for (r = 0; r < reps; r++) {
		struct qry q;
		int seen = 0;

		assert_int_equal(qry_init(&q, level), PC_OK);
		assert_int_equal(qry_parse_qido(&q, qs, strlen(qs), NULL),
		                 PC_OK);
		t0 = now_ms();
		assert_int_equal(
		    idx_query(ix, &q, NULL, count_cb, &seen, NULL, NULL),
		    PC_OK);
		t0 = now_ms() - t0;
		if (t0 < best)
			best = t0;
		matches = seen;
		qry_cleanup(&q);
	}
	fprintf(stderr, "[ timing ] %s %s: %d matches, %.3f ms\n",
	        level_names[level], qs, matches, best);
	if (budget > 0)
		assert_true(best < budget);
	return matches;
}

static void timing_10k(void **state)
{
	struct fixture *f = *state;
	char study[64], series[64], sop[64], pid[32], name[64], date[16],
	    acc[32], inum[16];
	double t0, t_put;
	int i;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	double budget = 50.0; /* sanitizers: correctness, not speed */
#else
	double budget = 5.0;
#endif

	/* 2,000 studies of 5 instances, 1,000 patients, dates over 5 years. */
	t0 = now_ms();
	for (i = 0; i < 10000; i++) {
		struct spec s = corpus[0];
		int st = i / 5;

		snprintf(study, sizeof(study), "1.9.%d", st);
		snprintf(series, sizeof(series), "1.9.%d.1", st);
		snprintf(sop, sizeof(sop), "1.9.%d.1.%d", st, i % 5);
		snprintf(pid, sizeof(pid), "PID%04d", st / 2);
		snprintf(name, sizeof(name), "%s^Pat%04d",
		         surnames[(st / 2) % 20], st / 2);
		snprintf(date, sizeof(date), "20%02d%02d%02d", 18 + st % 5,
		         1 + st % 12, 1 + st % 28);
		snprintf(acc, sizeof(acc), "A%06d", st);
		snprintf(inum, sizeof(inum), "%d", i % 5 + 1);
		s.study = study;
		s.series = series;
		s.sop = sop;
		s.pid = pid;
		s.pname = name;
		s.date = date;
		s.acc = acc;
		s.inum = inum;
		s.modality = st % 3 ? "CT" : "MR";
		put_new(f->ix, &s, (unsigned)i + 1);
	}
	t_put = now_ms() - t0;
	check_counts(f->ix, 1000, 2000, 2000, 10000);
	/* Checkpoints ran beside the puts (sqlite.c, CHECKPOINTS): the pages
	 * reached the database file while it is open, and the WAL was
	 * restarted rather than grown (at most 4000 pages before a commit
	 * checkpoints itself, plus that commit's). */
	{
		char wal[160];
		struct stat sb;

		snprintf(wal, sizeof(wal), "%s-wal", f->path);
		assert_int_equal(stat(f->path, &sb), 0);
		assert_true(sb.st_size > 1000 * 4096);
		assert_int_equal(stat(wal, &sb), 0);
		assert_true(sb.st_size < 4100 * 4120);
	}
	fprintf(stderr, "[ timing ] 10000 puts: %.0f ms (%.2f ms each)\n",
	        t_put, t_put / 10000);

	assert_int_equal(timed(f->ix, STUDY, "PatientName=wri*", 20, budget),
	                 100);
	assert_int_equal(
	    timed(f->ix, STUDY, "PatientName=*son*&limit=25", 20, budget), 25);
	assert_true(
	    timed(f->ix, STUDY, "StudyDate=20200301-20200331", 20, budget) > 0);
	/* The newest studies. */
	assert_int_equal(timed(f->ix, STUDY, "limit=100", 20, budget), 100);
	assert_int_equal(
	    timed(f->ix, STUDY, "AccessionNumber=A000777", 20, budget), 1);
	timed(f->ix, STUDY, "ModalitiesInStudy=MR&StudyDate=20190101-20191231",
	      20, 0);
	timed(f->ix, SERIES, "PatientName=wri*&Modality=CT", 20, budget);
	/* The instances of one study. */
	assert_int_equal(
	    timed(f->ix, INSTANCE, "StudyInstanceUID=1.9.1234", 20, budget), 5);
	timed(f->ix, STUDY, "PatientName=wri*&fuzzymatching=true", 5, 0);
	/* Post-filtered on the stored metadata. */
	timed(f->ix, STUDY, "StationName=ST1&limit=10", 5, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(put_outcomes, setup, teardown),
	    cmocka_unit_test_setup_teardown(counts_and_lookups, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(walking, setup, teardown),
	    cmocka_unit_test_setup_teardown(study_queries, setup, teardown),
	    cmocka_unit_test_setup_teardown(answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(series_instance_queries, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(deletes, setup, teardown),
	    cmocka_unit_test_setup_teardown(etags, setup, teardown),
	    cmocka_unit_test_setup_teardown(deferred_durability, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(persistence_and_migrations, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(real_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(alloc_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrency, setup, teardown),
	    cmocka_unit_test_setup_teardown(timing_10k, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
