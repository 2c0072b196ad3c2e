/*
 * test_query.c - the query model: QIDO-RS query strings into struct qry
 * (every match kind, keyword / tag / sequence path names, includefield,
 * limit, offset, fuzzymatching, every error and limit), qry_add_key and
 * qry_find_key, qry_key_match (single, wildcard incl. '?' on multibyte
 * UTF-8 and a pathological pattern, ranges, UID lists, fuzzy person names),
 * the level tables, and out of memory at every allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "query/qry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T_PATIENT_NAME 0x00100010u
#define T_PATIENT_ID 0x00100020u
#define T_BIRTH_DATE 0x00100030u
#define T_STUDY_DATE 0x00080020u
#define T_STUDY_TIME 0x00080030u
#define T_ACCESSION 0x00080050u
#define T_MODALITIES 0x00080061u
#define T_STUDY_UID 0x0020000Du
#define T_SERIES_UID 0x0020000Eu
#define T_INSTANCE_NUMBER 0x00200013u
#define T_ACQ_DATETIME 0x0008002Au
#define T_RAS 0x00400275u       /* RequestAttributesSequence */
#define T_SPS_ID 0x00400009u    /* ScheduledProcedureStepID */
#define T_REQ_PROC_ID 0x00401001u /* RequestedProcedureID */

/* Parses `qs` at `level` into `q` and expects success. */
static void parse_ok(struct qry *q, enum qry_level level, const char *qs)
{
	struct pc_err err = {0};

	assert_int_equal(qry_init(q, level), PC_OK);
	if (qry_parse_qido(q, qs, strlen(qs), &err) != PC_OK)
		fail_msg("parse of \"%s\" failed: %s", qs, err.msg);
	assert_int_equal(err.status, PC_OK);
}

/* Parses `qs` and expects `st` with a message containing `want` (and, when
 * non-NULL, `want2`). */
static void parse_fail2(const char *qs, size_t n, enum pc_status st,
			const char *want, const char *want2)
{
	struct qry q;
	struct pc_err err = {0};

	assert_int_equal(qry_init(&q, QRY_LEVEL_STUDY), PC_OK);
	assert_int_equal(qry_parse_qido(&q, qs, n, &err), st);
	assert_int_equal(err.status, st);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
	if (want2 != NULL && strstr(err.msg, want2) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want2);
	qry_cleanup(&q);
}

static void parse_fail(const char *qs, const char *want, const char *want2)
{
	parse_fail2(qs, strlen(qs), PC_INVAL, want, want2);
}

/* The key at `path` (depth entries), or fail. */
static const struct qry_key *key_at(const struct qry *q, const uint32_t *path,
				    size_t depth)
{
	size_t i;

	for (i = 0; i < q->n_keys; i++)
		if (q->keys[i].depth == depth &&
		    memcmp(q->keys[i].path, path, depth * sizeof(*path)) == 0)
			return &q->keys[i];
	fail_msg("no key of depth %zu at %08X", depth, path[0]);
	return NULL;
}

static const struct qry_key *top(const struct qry *q, uint32_t tag)
{
	const struct qry_key *k = qry_find_key(q, tag);

	if (k == NULL)
		fail_msg("no key %08X", tag);
	return k;
}

/* `k` is a range key from `lo` to `hi` ("" for an open end). */
static void assert_range(const struct qry_key *k, const char *lo,
			 const char *hi)
{
	assert_int_equal(k->match, QRY_MATCH_RANGE);
	assert_string_equal(k->value, lo);
	assert_string_equal(k->hi, hi);
}

/* A key made through qry_add_key in `q` (which the caller cleans up). */
static const struct qry_key *mk(struct qry *q, uint32_t tag, enum dcm_vr vr,
				const char *value)
{
	struct pc_err err = {0};

	if (qry_add_key(q, tag, vr, value, &err) != PC_OK)
		fail_msg("qry_add_key(%08X, \"%s\"): %s", tag,
			 value != NULL ? value : "(null)", err.msg);
	return top(q, tag);
}

/* ---- init ---------------------------------------------------------------- */

static void init_cleanup(void **state)
{
	struct qry q;
	struct qry zero;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	qry_cleanup(&zero); /* zeroed struct is fine */
	qry_cleanup(NULL);
	assert_int_equal(qry_init(&q, QRY_LEVEL_SERIES), PC_OK);
	assert_int_equal(q.level, QRY_LEVEL_SERIES);
	assert_int_equal(q.n_keys, 0);
	assert_false(q.has_limit);
	assert_false(q.fuzzy);
	assert_non_null(q.arena);
	qry_cleanup(&q);
	assert_null(q.arena);
	qry_cleanup(&q); /* twice */
	/* Parsing into a struct that qry_init() did not prepare. */
	assert_int_equal(qry_parse_qido(&zero, "a=1", 3, NULL), PC_INVAL);
	assert_int_equal(qry_add_key(&zero, T_PATIENT_ID, DCM_VR_LO, "x",
				     NULL),
			 PC_INVAL);
	assert_null(qry_find_key(NULL, T_PATIENT_ID));
}

/* ---- parsing: match kinds ------------------------------------------------- */

static void match_kinds(void **state)
{
	struct qry q;
	const struct qry_key *k;

	(void)state;
	parse_ok(&q, QRY_LEVEL_STUDY,
		 "PatientName=&StudyDate=20200101&StudyTime=1010-1200"
		 "&StudyInstanceUID=1.2.3,1.2.4%5C1.2.5&AccessionNumber=A*"
		 "&PatientID=123&ModalitiesInStudy=CT&00100030=19700101"
		 "&ReferringPhysicianName=D%3Fe&limit=5");
	assert_int_equal(q.n_keys, 9);
	/* In the order given. */
	assert_int_equal(q.keys[0].path[0], T_PATIENT_NAME);
	assert_int_equal(q.keys[8].path[0], 0x00080090u);

	k = top(&q, T_PATIENT_NAME);
	assert_int_equal(k->match, QRY_MATCH_UNIVERSAL);
	assert_int_equal(k->vr, DCM_VR_PN);
	assert_int_equal(k->depth, 1);
	assert_string_equal(k->value, "");
	assert_null(k->hi);

	k = top(&q, T_STUDY_DATE);
	assert_int_equal(k->match, QRY_MATCH_SINGLE);
	assert_int_equal(k->vr, DCM_VR_DA);
	assert_string_equal(k->value, "20200101");

	assert_range(top(&q, T_STUDY_TIME), "1010", "1200");

	k = top(&q, T_STUDY_UID);
	assert_int_equal(k->match, QRY_MATCH_UID_LIST);
	assert_int_equal(k->n_uids, 3);
	assert_string_equal(k->uids[0], "1.2.3");
	assert_string_equal(k->uids[1], "1.2.4");
	assert_string_equal(k->uids[2], "1.2.5");

	k = top(&q, T_ACCESSION);
	assert_int_equal(k->match, QRY_MATCH_WILDCARD);
	assert_string_equal(k->value, "A*");

	assert_int_equal(top(&q, T_PATIENT_ID)->match, QRY_MATCH_SINGLE);
	assert_string_equal(top(&q, T_PATIENT_ID)->value, "123");
	assert_int_equal(top(&q, T_MODALITIES)->match, QRY_MATCH_SINGLE);
	k = top(&q, T_BIRTH_DATE); /* by tag */
	assert_int_equal(k->vr, DCM_VR_DA);
	assert_int_equal(k->match, QRY_MATCH_SINGLE);
	k = top(&q, 0x00080090u);
	assert_int_equal(k->match, QRY_MATCH_WILDCARD); /* '?' */
	assert_string_equal(k->value, "D?e");
	assert_true(q.has_limit);
	assert_int_equal(q.limit, 5);
	qry_cleanup(&q);

	/* A single UID is a list of one; lower-case hex tags. */
	parse_ok(&q, QRY_LEVEL_SERIES, "0020000e=1.2.840.1");
	k = top(&q, T_SERIES_UID);
	assert_int_equal(k->match, QRY_MATCH_UID_LIST);
	assert_int_equal(k->n_uids, 1);
	assert_string_equal(k->uids[0], "1.2.840.1");
	assert_string_equal(k->value, "1.2.840.1");
	qry_cleanup(&q);

	/* Wildcards are literal where PS3.4 C.2.2.2.4 allows none (UI),
	 * '-' is literal in text VRs, and '*' alone is still a wildcard. */
	parse_ok(&q, QRY_LEVEL_STUDY,
		 "StudyInstanceUID=1.2*&PatientID=12-34&PatientName=*");
	assert_int_equal(top(&q, T_STUDY_UID)->match, QRY_MATCH_UID_LIST);
	assert_int_equal(top(&q, T_PATIENT_ID)->match, QRY_MATCH_SINGLE);
	assert_int_equal(top(&q, T_PATIENT_NAME)->match, QRY_MATCH_WILDCARD);
	qry_cleanup(&q);

	/* A name without '=' is an empty value: universal. */
	parse_ok(&q, QRY_LEVEL_STUDY, "PatientName&StudyDate");
	assert_int_equal(top(&q, T_PATIENT_NAME)->match, QRY_MATCH_UNIVERSAL);
	assert_int_equal(top(&q, T_STUDY_DATE)->match, QRY_MATCH_UNIVERSAL);
	qry_cleanup(&q);

	/* An empty query string. */
	parse_ok(&q, QRY_LEVEL_STUDY, "");
	assert_int_equal(q.n_keys, 0);
	assert_false(q.has_limit);
	assert_int_equal(q.offset, 0);
	qry_cleanup(&q);
}

static void parse_dates_and_times(void **state)
{
	struct qry q;
	const struct qry_key *k;

	(void)state;
	parse_ok(&q, QRY_LEVEL_STUDY,
		 "StudyDate=20200101-&StudyTime=-0930&PatientBirthDate=-");
	assert_range(top(&q, T_STUDY_DATE), "20200101", "");
	assert_range(top(&q, T_STUDY_TIME), "", "0930");
	assert_range(top(&q, T_BIRTH_DATE), "", "");
	qry_cleanup(&q);

	/* TM forms. */
	parse_ok(&q, QRY_LEVEL_STUDY, "StudyTime=23");
	assert_int_equal(top(&q, T_STUDY_TIME)->match, QRY_MATCH_SINGLE);
	qry_cleanup(&q);
	parse_ok(&q, QRY_LEVEL_STUDY, "StudyTime=235960.123456-235960.9");
	assert_int_equal(top(&q, T_STUDY_TIME)->match, QRY_MATCH_RANGE);
	qry_cleanup(&q);

	/* DT: an offset's '-' is not a range; a range may have offsets. */
	parse_ok(&q, QRY_LEVEL_STUDY, "AcquisitionDateTime=20200101120000-0500");
	k = top(&q, T_ACQ_DATETIME);
	assert_int_equal(k->vr, DCM_VR_DT);
	assert_int_equal(k->match, QRY_MATCH_SINGLE);
	qry_cleanup(&q);
	parse_ok(&q, QRY_LEVEL_STUDY, "AcquisitionDateTime=2020-2021");
	assert_range(top(&q, T_ACQ_DATETIME), "2020", "2021");
	qry_cleanup(&q);
	parse_ok(&q, QRY_LEVEL_STUDY,
		 "AcquisitionDateTime=20200101120000-0500-20200102120000%2B0100");
	assert_range(top(&q, T_ACQ_DATETIME), "20200101120000-0500",
		     "20200102120000+0100");
	qry_cleanup(&q);
	parse_ok(&q, QRY_LEVEL_STUDY,
		 "AcquisitionDateTime=20200101120000.5-");
	assert_int_equal(top(&q, T_ACQ_DATETIME)->match, QRY_MATCH_RANGE);
	qry_cleanup(&q);

	/* Malformed: every message names the parameter. */
	parse_fail("StudyDate=2020-01-01", "\"StudyDate\"", "YYYYMMDD");
	parse_fail("StudyDate=20201301", "\"StudyDate\"", "malformed DA");
	parse_fail("StudyDate=20200132", "StudyDate", NULL);
	parse_fail("StudyDate=202001", "StudyDate", NULL);
	parse_fail("StudyDate=2020010a", "StudyDate", NULL);
	parse_fail("StudyDate=20200101-2020", "StudyDate", "range");
	parse_fail("StudyDate=20200101--20200102", "StudyDate", "range");
	parse_fail("StudyDate=20200101+", "StudyDate", NULL);
	parse_fail("StudyTime=24", "\"StudyTime\"", "malformed TM");
	parse_fail("StudyTime=1060", "StudyTime", NULL);
	parse_fail("StudyTime=101061", "StudyTime", NULL);
	parse_fail("StudyTime=101", "StudyTime", NULL);
	parse_fail("StudyTime=1010.5", "StudyTime", NULL);
	parse_fail("StudyTime=101010.", "StudyTime", NULL);
	parse_fail("StudyTime=101010.1234567", "StudyTime", NULL);
	parse_fail("StudyTime=10:10:10", "StudyTime", NULL);
	parse_fail("StudyTime=1010-12x", "StudyTime", "range");
	parse_fail("AcquisitionDateTime=2020-13", "AcquisitionDateTime",
		   "range");
	parse_fail("AcquisitionDateTime=20201", "AcquisitionDateTime", NULL);
	parse_fail("AcquisitionDateTime=2020010112.5", "AcquisitionDateTime",
		   NULL);
	parse_fail("AcquisitionDateTime=20200101120000%2B1500",
		   "AcquisitionDateTime", NULL);
	parse_fail("AcquisitionDateTime=20200101120000%2B05",
		   "AcquisitionDateTime", NULL);
	/* Wildcards are not for dates (PS3.4 C.2.2.2.4). */
	parse_fail("StudyDate=2020*", "StudyDate", NULL);
}

static void parse_numbers(void **state)
{
	struct qry q;

	(void)state;
	parse_ok(&q, QRY_LEVEL_INSTANCE,
		 "InstanceNumber=-5&SliceThickness=1.5e3&Rows=+512");
	assert_int_equal(top(&q, T_INSTANCE_NUMBER)->match, QRY_MATCH_SINGLE);
	assert_int_equal(top(&q, T_INSTANCE_NUMBER)->vr, DCM_VR_IS);
	assert_int_equal(top(&q, 0x00180050u)->match, QRY_MATCH_SINGLE);
	assert_int_equal(top(&q, 0x00280010u)->vr, DCM_VR_US);
	qry_cleanup(&q);

	parse_fail("InstanceNumber=1-5", "\"InstanceNumber\"",
		   "range matching is not defined for VR IS");
	parse_fail("Rows=1-5", "Rows", "range matching");
	parse_fail("InstanceNumber=abc", "InstanceNumber", "malformed IS");
	parse_fail("InstanceNumber=1*", "InstanceNumber", "malformed");
	parse_fail("SliceThickness=1.5.5", "SliceThickness", "malformed DS");
	parse_fail("SliceThickness=1e", "SliceThickness", NULL);
	parse_fail("SliceThickness=.", "SliceThickness", NULL);
}

/* ---- parsing: names ------------------------------------------------------- */

static void sequence_paths(void **state)
{
	struct qry q;
	const struct qry_key *k;
	const uint32_t p1[] = {T_RAS};
	const uint32_t p2[] = {T_RAS, T_SPS_ID};
	const uint32_t p3[] = {T_RAS, T_REQ_PROC_ID};
	const uint32_t p4[] = {T_RAS, T_RAS, T_RAS, T_SPS_ID};

	(void)state;
	parse_ok(&q, QRY_LEVEL_SERIES,
		 "RequestAttributesSequence.ScheduledProcedureStepID=S1"
		 "&00400275.00401001=R*");
	assert_int_equal(q.n_keys, 3); /* parent made once */
	k = key_at(&q, p1, 1);
	assert_int_equal(k->match, QRY_MATCH_SEQUENCE);
	assert_int_equal(k->vr, DCM_VR_SQ);
	assert_ptr_equal(k, &q.keys[0]); /* before its sub-keys */
	assert_ptr_equal(qry_find_key(&q, T_RAS), k);
	k = key_at(&q, p2, 2);
	assert_int_equal(k->match, QRY_MATCH_SINGLE);
	assert_int_equal(k->vr, DCM_VR_SH);
	assert_string_equal(k->value, "S1");
	k = key_at(&q, p3, 2);
	assert_int_equal(k->match, QRY_MATCH_WILDCARD);
	/* qry_find_key sees top-level keys only. */
	assert_null(qry_find_key(&q, T_SPS_ID));
	qry_cleanup(&q);

	/* The sequence named alone, before or after a path into it. */
	parse_ok(&q, QRY_LEVEL_SERIES,
		 "RequestAttributesSequence=&RequestAttributesSequence."
		 "ScheduledProcedureStepID=");
	assert_int_equal(q.n_keys, 2);
	assert_int_equal(key_at(&q, p1, 1)->match, QRY_MATCH_SEQUENCE);
	assert_int_equal(key_at(&q, p2, 2)->match, QRY_MATCH_UNIVERSAL);
	qry_cleanup(&q);
	parse_ok(&q, QRY_LEVEL_SERIES,
		 "RequestAttributesSequence.ScheduledProcedureStepID=x"
		 "&RequestAttributesSequence=");
	assert_int_equal(q.n_keys, 2);
	assert_int_equal(key_at(&q, p1, 1)->match, QRY_MATCH_SEQUENCE);
	qry_cleanup(&q);
	parse_ok(&q, QRY_LEVEL_SERIES, "RequestAttributesSequence=");
	assert_int_equal(top(&q, T_RAS)->match, QRY_MATCH_UNIVERSAL);
	qry_cleanup(&q);

	/* Depth QRY_PATH_MAX is fine, one more is not. */
	parse_ok(&q, QRY_LEVEL_SERIES,
		 "RequestAttributesSequence.RequestAttributesSequence."
		 "RequestAttributesSequence.ScheduledProcedureStepID=1");
	assert_int_equal(q.n_keys, 4);
	k = key_at(&q, p4, 4);
	assert_int_equal(k->depth, 4);
	assert_string_equal(k->value, "1");
	qry_cleanup(&q);
	parse_fail("RequestAttributesSequence.RequestAttributesSequence."
		   "RequestAttributesSequence.RequestAttributesSequence."
		   "ScheduledProcedureStepID=1",
		   "deeper than 4", "RequestAttributesSequence");
	parse_fail("PatientName.PatientID=x", "\"PatientName.PatientID\"",
		   "(0010,0010) is not a sequence");
	parse_fail("00091001.00100010=x", "(0009,1001) is not a sequence",
		   NULL);
	parse_fail("RequestAttributesSequence=abc", "RequestAttributesSequence",
		   "sequence takes no value");
	parse_fail("RequestAttributesSequence.ScheduledProcedureStepID=1&"
		   "00400275.00400009=2",
		   "more than once", NULL);
}

static void unknown_and_repeated(void **state)
{
	struct qry q;
	const struct qry_key *k;

	(void)state;
	/* PS3.18 8.3.4: unknown names are ignored, keywords and control
	 * names are case-sensitive. */
	parse_ok(&q, QRY_LEVEL_STUDY,
		 "foo=bar&PatientNam=x&charset=utf-8&includeField=x"
		 "&patientname=x&PatientName.Foo=1&=x&justaname&LIMIT=abc"
		 "&Fuzzymatching=maybe&x.y.z.w.v.u=1&(0010,0010)=x");
	assert_int_equal(q.n_keys, 0);
	assert_int_equal(q.n_include, 0);
	assert_false(q.has_limit);
	qry_cleanup(&q);

	/* A tag unknown to the dictionary: UN, single or universal. */
	parse_ok(&q, QRY_LEVEL_STUDY, "00091001=abc*&00091002=");
	k = top(&q, 0x00091001u);
	assert_int_equal(k->vr, DCM_VR_UN);
	assert_int_equal(k->match, QRY_MATCH_SINGLE);
	assert_int_equal(top(&q, 0x00091002u)->match, QRY_MATCH_UNIVERSAL);
	qry_cleanup(&q);

	parse_fail("PatientID=1&PatientID=2", "\"PatientID\"",
		   "more than once");
	parse_fail("00100020=1&PatientID=2", "more than once", NULL);
	parse_fail("PatientID=&PatientID=", "more than once", NULL);
	parse_fail("0010001=x", "\"0010001\"", "malformed tag");
	parse_fail("001000100=x", "malformed tag", NULL);
	parse_fail("RequestAttributesSequence.0040009=x", "malformed tag",
		   NULL);
}

static void includefield(void **state)
{
	struct qry q;
	char *qs;
	size_t i, o;

	(void)state;
	parse_ok(&q, QRY_LEVEL_STUDY,
		 "includefield=PatientAge,00101030&includefield=PatientAge"
		 "&includefield=Bogus,RequestAttributesSequence."
		 "ScheduledProcedureStepID&includefield=&includefield=,,"
		 "&includefield=00081030%2C+00081032");
	assert_false(q.include_all);
	assert_int_equal(q.n_include, 5);
	assert_int_equal(q.include[0], 0x00101010u);
	assert_int_equal(q.include[1], 0x00101030u);
	assert_int_equal(q.include[2], T_RAS); /* top-level of the path */
	assert_int_equal(q.include[3], 0x00081030u);
	assert_int_equal(q.include[4], 0x00081032u);
	assert_int_equal(q.n_keys, 0);
	qry_cleanup(&q);

	parse_ok(&q, QRY_LEVEL_STUDY, "includefield=all");
	assert_true(q.include_all);
	assert_int_equal(q.n_include, 0);
	qry_cleanup(&q);
	parse_ok(&q, QRY_LEVEL_STUDY, "includefield=PatientAge,all");
	assert_true(q.include_all);
	assert_int_equal(q.n_include, 1);
	qry_cleanup(&q);

	parse_fail("includefield=0010101", "includefield", "malformed tag");

	/* 256 distinct tags are fine, 257 are not. */
	qs = malloc(20 + 257 * 9);
	assert_non_null(qs);
	o = (size_t)snprintf(qs, 20, "includefield=");
	for (i = 0; i < 256; i++)
		o += (size_t)snprintf(qs + o, 10, "%08zX,", 0x00110000u + i);
	qs[o - 1] = '\0';
	parse_ok(&q, QRY_LEVEL_STUDY, qs);
	assert_int_equal(q.n_include, 256);
	assert_int_equal(q.include[255], 0x001100FFu);
	qry_cleanup(&q);
	o = strlen(qs);
	snprintf(qs + o, 10, ",%08X", 0x00120000u);
	parse_fail(qs, "includefield", "more than 256");
	free(qs);
}

/* Parses `qs`, which must give a limit, and checks the paging and
 * fuzzymatching it asks for. */
static void paging_ok(const char *qs, uint32_t limit, uint32_t offset,
		      bool fuzzy)
{
	struct qry q;

	parse_ok(&q, QRY_LEVEL_STUDY, qs);
	assert_true(q.has_limit);
	assert_true(q.limit == limit);
	assert_int_equal(q.offset, offset);
	assert_int_equal(q.fuzzy, fuzzy);
	qry_cleanup(&q);
}

static void limit_offset_fuzzy(void **state)
{
	(void)state;
	paging_ok("limit=10&offset=20&fuzzymatching=true", 10, 20, true);
	/* limit=0 is kept as asked: the index returns nothing. */
	paging_ok("limit=0&fuzzymatching=false&offset=007", 0, 7, false);
	paging_ok("limit=4294967295", 4294967295u, 0, false);

	parse_fail("limit=-1", "limit", "not a non-negative");
	parse_fail("limit=abc", "limit", NULL);
	parse_fail("limit=", "limit", "empty");
	parse_fail("limit", "limit", "empty");
	parse_fail("limit=1.5", "limit", NULL);
	parse_fail("limit=+3", "limit", NULL);
	parse_fail("limit=%201", "limit", NULL);
	parse_fail("limit=4294967296", "limit", "too large");
	parse_fail("limit=99999999999999999999999", "limit", "too large");
	parse_fail("offset=-3", "offset", NULL);
	parse_fail("offset=x", "offset", NULL);
	parse_fail("limit=1&limit=2", "limit", "more than once");
	parse_fail("offset=1&offset=1", "offset", "more than once");
	parse_fail("fuzzymatching=yes", "fuzzymatching", "neither");
	parse_fail("fuzzymatching=TRUE", "fuzzymatching", NULL);
	parse_fail("fuzzymatching=", "fuzzymatching", NULL);
	parse_fail("fuzzymatching=true&fuzzymatching=true", "fuzzymatching",
		   "more than once");
}

static void escapes_and_limits(void **state)
{
	struct qry q;
	const struct qry_key *k;
	char *qs;
	size_t i, o;
	const char raw[] = "PatientID=12&StudyDate=20200101";

	(void)state;
	parse_ok(&q, QRY_LEVEL_STUDY,
		 "PatientName=Smith%5EJohn&%50atientID=a+b%2Bc"
		 "&StudyDescription=%C3%89tude");
	assert_string_equal(top(&q, T_PATIENT_NAME)->value, "Smith^John");
	assert_string_equal(top(&q, T_PATIENT_ID)->value, "a b+c");
	assert_string_equal(top(&q, 0x00081030u)->value, "\xC3\x89tude");
	qry_cleanup(&q);

	/* Not NUL-terminated: only n bytes count. */
	parse_ok(&q, QRY_LEVEL_STUDY, "");
	assert_int_equal(qry_parse_qido(&q, raw, 12, NULL), PC_OK);
	assert_int_equal(q.n_keys, 1);
	assert_string_equal(top(&q, T_PATIENT_ID)->value, "12");
	qry_cleanup(&q);

	parse_fail("PatientName=%ZZ", "\"PatientName\"",
		   "malformed percent escape");
	parse_fail("PatientName=ab%4", "PatientName", "malformed");
	parse_fail("Patient%4Name=x", "malformed", NULL);
	parse_fail("PatientName=a%00b", "PatientName", "NUL");
	parse_fail2("PatientName=a\0b", 14, PC_INVAL, "PatientName", "NUL");
	parse_fail("PatientName=%C3%28", "PatientName", "UTF-8");
	parse_fail("PatientName=%ED%A0%80", "PatientName", "UTF-8");
	parse_fail("StudyInstanceUID=1.2,,1.3", "StudyInstanceUID",
		   "empty UID");
	parse_fail("StudyInstanceUID=1.2,", "empty UID", NULL);
	parse_fail("StudyInstanceUID=%5C", "empty UID", NULL);

	/* Values up to 4096 bytes. */
	qs = malloc(32 + 3 * 4200);
	assert_non_null(qs);
	o = (size_t)snprintf(qs, 32, "PatientID=");
	memset(qs + o, 'x', 4096);
	qs[o + 4096] = '\0';
	parse_ok(&q, QRY_LEVEL_STUDY, qs);
	assert_int_equal(strlen(top(&q, T_PATIENT_ID)->value), 4096);
	qry_cleanup(&q);
	qs[o + 4096] = 'x';
	qs[o + 4097] = '\0';
	parse_fail(qs, "\"PatientID\"", "longer than 4096");
	/* Raw length far over the limit is refused before decoding. */
	for (i = 0; i < 4100; i++)
		memcpy(qs + o + 3 * i, "%41", 3);
	qs[o + 3 * 4100] = '\0';
	parse_fail(qs, "PatientID", "longer than 4096");
	free(qs);

	/* 256 parameters, then 257. */
	qs = malloc(8 * 260);
	assert_non_null(qs);
	o = 0;
	for (i = 0; i < 256; i++)
		o += (size_t)snprintf(qs + o, 8, "x%zu=1&", i % 10);
	qs[o] = '\0';
	parse_ok(&q, QRY_LEVEL_STUDY, qs);
	qry_cleanup(&q);
	snprintf(qs + o, 8, "y=2");
	parse_fail(qs, "more than 256 parameters", NULL);
	free(qs);

	/* Empty pairs do not count. */
	parse_ok(&q, QRY_LEVEL_STUDY, "&&&PatientID=1&&");
	k = top(&q, T_PATIENT_ID);
	assert_string_equal(k->value, "1");
	qry_cleanup(&q);
}

/* ---- qry_add_key / qry_find_key ------------------------------------------ */

static void add_key(void **state)
{
	struct qry q;
	struct pc_err err = {0};
	const struct qry_key *k;

	(void)state;
	parse_ok(&q, QRY_LEVEL_SERIES,
		 "StudyInstanceUID=9.9&Modality=CT&PatientName=A*");
	assert_int_equal(q.n_keys, 3);
	/* The URL path's UID replaces the query's, in place. */
	k = mk(&q, T_STUDY_UID, DCM_VR_UI, "1.2.3");
	assert_int_equal(q.n_keys, 3);
	assert_ptr_equal(k, &q.keys[0]);
	assert_int_equal(k->match, QRY_MATCH_UID_LIST);
	assert_int_equal(k->n_uids, 1);
	assert_string_equal(k->uids[0], "1.2.3");
	/* New keys are appended; DCM_VR_NONE takes the dictionary's VR. */
	k = mk(&q, T_SERIES_UID, DCM_VR_NONE, "1.2.3.4\\1.2.3.5");
	assert_int_equal(q.n_keys, 4);
	assert_int_equal(k->vr, DCM_VR_UI);
	assert_int_equal(k->n_uids, 2);
	k = mk(&q, 0x00091001u, DCM_VR_NONE, "x");
	assert_int_equal(k->vr, DCM_VR_UN);
	k = mk(&q, T_STUDY_DATE, DCM_VR_DA, "20200101-20201231");
	assert_int_equal(k->match, QRY_MATCH_RANGE);
	k = mk(&q, T_PATIENT_ID, DCM_VR_LO, NULL);
	assert_int_equal(k->match, QRY_MATCH_UNIVERSAL);
	assert_int_equal(q.n_keys, 7);

	/* A failure leaves the query as it was and names the tag. */
	assert_int_equal(qry_add_key(&q, T_STUDY_DATE, DCM_VR_DA, "2020-01-01",
				     &err),
			 PC_INVAL);
	assert_non_null(strstr(err.msg, "(0008,0020)"));
	assert_int_equal(q.n_keys, 7);
	k = top(&q, T_STUDY_DATE);
	assert_int_equal(k->match, QRY_MATCH_RANGE);
	assert_string_equal(k->value, "20200101");
	pc_err_clear(&err);
	assert_int_equal(qry_add_key(&q, T_STUDY_TIME, DCM_VR_TM, "99", &err),
			 PC_INVAL);
	assert_int_equal(q.n_keys, 7);
	assert_null(qry_find_key(&q, T_STUDY_TIME));
	qry_cleanup(&q);
}

/* ---- matching -------------------------------------------------------------- */

static void match_single(void **state)
{
	struct qry q;
	const struct qry_key *k;

	(void)state;
	assert_int_equal(qry_init(&q, QRY_LEVEL_STUDY), PC_OK);
	k = mk(&q, T_PATIENT_ID, DCM_VR_LO, "ABC");
	assert_true(qry_key_match(k, "ABC", false));
	assert_false(qry_key_match(k, "abc", false));
	assert_false(qry_key_match(k, "ABCD", false));
	assert_false(qry_key_match(k, "", false));
	assert_false(qry_key_match(k, NULL, false));
	assert_false(qry_key_match(k, "abc", true)); /* fuzzy is PN only */

	/* PN, not fuzzy: exact and case-sensitive; trailing empty
	 * components do not count (PS3.5 6.2). */
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "Smith^John");
	assert_true(qry_key_match(k, "Smith^John", false));
	assert_true(qry_key_match(k, "Smith^John^^^", false));
	assert_false(qry_key_match(k, "smith^john", false));
	assert_false(qry_key_match(k, "Smith", false));
	assert_false(qry_key_match(k, "Smith^Johnny", false));

	/* DA/TM/DT single values compare normalised. */
	k = mk(&q, T_STUDY_TIME, DCM_VR_TM, "1010");
	assert_true(qry_key_match(k, "101000", false));
	assert_true(qry_key_match(k, "101000.000", false));
	assert_true(qry_key_match(k, "10:10", false)); /* ACR-NEMA */
	assert_false(qry_key_match(k, "101001", false));
	assert_false(qry_key_match(k, "garbage", false));
	k = mk(&q, T_STUDY_DATE, DCM_VR_DA, "20200101");
	assert_true(qry_key_match(k, "20200101", false));
	assert_true(qry_key_match(k, "2020.01.01", false));
	assert_false(qry_key_match(k, "20200102", false));

	/* Universal and sequence keys match anything. */
	k = mk(&q, T_ACCESSION, DCM_VR_SH, "");
	assert_true(qry_key_match(k, "", false));
	assert_true(qry_key_match(k, "x", false));
	assert_true(qry_key_match(k, NULL, false));
	assert_false(qry_key_match(NULL, "x", false));
	qry_cleanup(&q);

	parse_ok(&q, QRY_LEVEL_SERIES,
		 "RequestAttributesSequence.ScheduledProcedureStepID=1");
	assert_true(qry_key_match(top(&q, T_RAS), "anything", false));
	qry_cleanup(&q);
}

static void match_uid_list(void **state)
{
	struct qry q;
	const struct qry_key *k;

	(void)state;
	parse_ok(&q, QRY_LEVEL_STUDY, "StudyInstanceUID=1.2.3,1.2.44");
	k = top(&q, T_STUDY_UID);
	assert_true(qry_key_match(k, "1.2.3", false));
	assert_true(qry_key_match(k, "1.2.44", false));
	assert_false(qry_key_match(k, "1.2.4", false)); /* not a prefix */
	assert_false(qry_key_match(k, "1.2.3,1.2.44", false));
	assert_false(qry_key_match(k, "", false));
	qry_cleanup(&q);
}

static void match_wildcards(void **state)
{
	struct qry q;
	const struct qry_key *k;

	(void)state;
	assert_int_equal(qry_init(&q, QRY_LEVEL_STUDY), PC_OK);
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "Sm?th*");
	assert_int_equal(k->match, QRY_MATCH_WILDCARD);
	assert_true(qry_key_match(k, "Smith", false));
	assert_true(qry_key_match(k, "Smyth^John", false));
	assert_false(qry_key_match(k, "smith", false));
	assert_false(qry_key_match(k, "Smth", false));

	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "*");
	assert_true(qry_key_match(k, "", false));
	assert_true(qry_key_match(k, "anything", false));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "***");
	assert_true(qry_key_match(k, "", true));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "a*");
	assert_false(qry_key_match(k, "", false));
	assert_true(qry_key_match(k, "a", false));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "*b");
	assert_true(qry_key_match(k, "ab", false));
	assert_true(qry_key_match(k, "abbb", false));
	assert_false(qry_key_match(k, "aba", false));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "a*b*c");
	assert_true(qry_key_match(k, "abc", false));
	assert_true(qry_key_match(k, "aXbYbZc", false));
	assert_false(qry_key_match(k, "aXbYbZ", false));
	assert_false(qry_key_match(k, "abcd", false));

	/* '?' is one character, however many bytes it takes. */
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "Ren?");
	assert_true(qry_key_match(k, "Ren\xC3\xA9", false));   /* René */
	assert_false(qry_key_match(k, "Ren\xC3\xA9s", false));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "Ren??");
	assert_false(qry_key_match(k, "Ren\xC3\xA9", false));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "?");
	assert_true(qry_key_match(k, "\xC3\xA9", false));          /* é */
	assert_true(qry_key_match(k, "\xE2\x82\xAC", false));      /* € */
	assert_true(qry_key_match(k, "\xF0\x9D\x84\x9E", false));  /* 𝄞 */
	assert_true(qry_key_match(k, "\xFF", false)); /* stray byte */
	assert_false(qry_key_match(k, "\xE2\x82\xAC" "a", false));
	assert_false(qry_key_match(k, "", false));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "*?\xE6\x9D\xB1");    /* ?東 */
	assert_true(qry_key_match(k, "\xE5\xB1\xB1\xE6\x9D\xB1", false));
	assert_false(qry_key_match(k, "\xE6\x9D\xB1", false));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "*\xC3\xA9?");
	assert_true(qry_key_match(k, "caf\xC3\xA9s", false));
	assert_true(qry_key_match(k, "\xC3\xA9\xC3\xA9\xC3\xA9", false));

	/* Wildcards in other text VRs. */
	k = mk(&q, T_ACCESSION, DCM_VR_SH, "A?C*");
	assert_true(qry_key_match(k, "ABC123", false));
	assert_false(qry_key_match(k, "AC", false));
	qry_cleanup(&q);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void match_pathological(void **state)
{
	struct qry q;
	const struct qry_key *k, *k2;
	size_t n = 200000;
	char *s = malloc(n + 2);
	double t0, t;
	int i;

	(void)state;
	assert_non_null(s);
	memset(s, 'a', n);
	s[n] = '\0';
	assert_int_equal(qry_init(&q, QRY_LEVEL_STUDY), PC_OK);
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "a*a*a*a*a*b");
	k2 = mk(&q, T_PATIENT_ID, DCM_VR_LO, "*a*a*a*a*a*a*a*a*a*a*b*");
	t0 = now();
	for (i = 0; i < 5; i++) {
		assert_false(qry_key_match(k, s, false));
		assert_false(qry_key_match(k, s, true)); /* fuzzy path too */
		assert_false(qry_key_match(k2, s, false));
	}
	s[n] = 'b';
	s[n + 1] = '\0';
	assert_true(qry_key_match(k, s, false));
	assert_true(qry_key_match(k, s, true));
	assert_true(qry_key_match(k2, s, false));
	t = now() - t0;
	/* A backtracking matcher would never finish; ours takes
	 * milliseconds (generous bound for sanitizer builds). */
	if (t > 3.0)
		fail_msg("pathological wildcard took %.2f s", t);
	qry_cleanup(&q);
	free(s);
}

static void match_fuzzy_pn(void **state)
{
	struct qry q;
	const struct qry_key *k;
	char *longname;

	(void)state;
	assert_int_equal(qry_init(&q, QRY_LEVEL_STUDY), PC_OK);
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "smi");
	assert_true(qry_key_match(k, "Smith^John", true));
	assert_true(qry_key_match(k, "Doe^Smithers", true));
	assert_false(qry_key_match(k, "Smith^John", false)); /* exact */
	assert_false(qry_key_match(k, "Sm^John", true));
	assert_false(qry_key_match(k, "", true));

	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "joh smi");
	assert_true(qry_key_match(k, "Smith^John", true));
	assert_true(qry_key_match(k, "SMITH^JOHNNY^^DR", true));
	assert_false(qry_key_match(k, "Smith^Jack", true));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "jo^sm");
	assert_true(qry_key_match(k, "Smith^John", true));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "ohn");
	assert_false(qry_key_match(k, "Smith^John", true)); /* not a start */

	/* Accents and case: É, ß, Ø, Ł, Œ. */
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "\xC3\x89RIC"); /* ÉRIC */
	assert_true(qry_key_match(k, "eric", true));
	assert_true(qry_key_match(k, "Dupont^Eric", true));
	assert_true(qry_key_match(k, "Dupont^\xC3\xA9ric", true)); /* éric */
	assert_false(qry_key_match(k, "eric", false));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "stra\xC3\x9F" "e"); /* straße */
	assert_true(qry_key_match(k, "STRASSE^Anna", true));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "S\xC3\xB8rensen"); /* Sørensen */
	assert_true(qry_key_match(k, "sorensen^k", true));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "\xC5\x81" "od\xC5\xBA"); /* Łódź-ish */
	assert_true(qry_key_match(k, "LODZ", true));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "\xC5\x92uvre"); /* Œuvre */
	assert_true(qry_key_match(k, "OEUVRE", true));
	/* Other scripts are compared as they are. */
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "\xE5\xB1\xB1\xE7\x94\xB0"); /* 山田 */
	assert_true(qry_key_match(k, "Yamada^Tarou=\xE5\xB1\xB1\xE7\x94\xB0^"
				     "\xE5\xA4\xAA\xE9\x83\x8E",
				  true));
	assert_false(qry_key_match(k, "Yamada^Tarou", true));
	/* Cyrillic capitals are not folded (no table for them). */
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "\xD0\x98"); /* И */
	assert_false(qry_key_match(k, "\xD0\xB8", true));  /* и */

	/* Wildcards still work, per component and across components. */
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "s*h");
	assert_true(qry_key_match(k, "Smith^John", true));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "SM?TH^J*");
	assert_true(qry_key_match(k, "smyth^jack", true));
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "smi*ohn");
	assert_true(qry_key_match(k, "Smith^John", true));
	assert_false(qry_key_match(k, "Smith^Jack", true));
	/* A key of separators only names no component. */
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "^");
	assert_true(qry_key_match(k, "Anyone", true));
	assert_false(qry_key_match(k, "Anyone", false));
	/* Malformed UTF-8 in a stored value does not confuse folding. */
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "ab");
	assert_true(qry_key_match(k, "AB\xFF^x", true));
	assert_false(qry_key_match(k, "A\xFF" "B", true));

	/* A value too long for the stack buffers takes the heap; failing
	 * that allocation means "no match", never a crash. */
	longname = malloc(3000);
	assert_non_null(longname);
	memset(longname, 'x', 2999);
	longname[2999] = '\0';
	memcpy(longname + 2000, "^Smith", 6);
	k = mk(&q, T_PATIENT_NAME, DCM_VR_PN, "smi");
	assert_true(qry_key_match(k, longname, true));
	pc_alloc_fail_after(1);
	assert_false(qry_key_match(k, longname, true));
	pc_alloc_fail_after(0);
	free(longname);
	qry_cleanup(&q);
}

static void match_ranges(void **state)
{
	struct qry q;
	const struct qry_key *k;

	(void)state;
	assert_int_equal(qry_init(&q, QRY_LEVEL_STUDY), PC_OK);
	/* DA, inclusive bounds. */
	k = mk(&q, T_STUDY_DATE, DCM_VR_DA, "20200101-20200131");
	assert_true(qry_key_match(k, "20200101", false));
	assert_true(qry_key_match(k, "20200115", false));
	assert_true(qry_key_match(k, "20200131", false));
	assert_false(qry_key_match(k, "20191231", false));
	assert_false(qry_key_match(k, "20200201", false));
	assert_false(qry_key_match(k, "", false));
	assert_false(qry_key_match(k, "2020011", false));
	assert_false(qry_key_match(k, "2020-01-15", false));
	assert_true(qry_key_match(k, "2020.01.15", false)); /* ACR-NEMA */
	k = mk(&q, T_STUDY_DATE, DCM_VR_DA, "20200101-");
	assert_true(qry_key_match(k, "29991231", false));
	assert_false(qry_key_match(k, "19991231", false));
	k = mk(&q, T_STUDY_DATE, DCM_VR_DA, "-20200101");
	assert_true(qry_key_match(k, "19000101", false));
	assert_false(qry_key_match(k, "20200102", false));
	k = mk(&q, T_STUDY_DATE, DCM_VR_DA, "-");
	assert_true(qry_key_match(k, "19000101", false));
	assert_false(qry_key_match(k, "junk", false));
	/* A reversed range matches nothing. */
	k = mk(&q, T_STUDY_DATE, DCM_VR_DA, "20200201-20200101");
	assert_false(qry_key_match(k, "20200115", false));

	/* TM: lower bound padded with 0, upper with 9. */
	k = mk(&q, T_STUDY_TIME, DCM_VR_TM, "1010-12");
	assert_true(qry_key_match(k, "101000", false));
	assert_true(qry_key_match(k, "1010", false));
	assert_true(qry_key_match(k, "11", false));
	assert_true(qry_key_match(k, "125959.999999", false));
	assert_true(qry_key_match(k, "12:30:00", false)); /* ACR-NEMA */
	assert_false(qry_key_match(k, "100959.999999", false));
	assert_false(qry_key_match(k, "1300", false));
	assert_false(qry_key_match(k, "13", false));
	k = mk(&q, T_STUDY_TIME, DCM_VR_TM, "101010.5-101010.5");
	assert_true(qry_key_match(k, "101010.5", false));
	assert_true(qry_key_match(k, "101010.59", false));
	assert_false(qry_key_match(k, "101010.6", false));
	assert_false(qry_key_match(k, "101010.4999", false));

	/* DT: offsets are ignored, partial values padded. */
	k = mk(&q, T_ACQ_DATETIME, DCM_VR_DT, "2020-2021");
	assert_true(qry_key_match(k, "2020", false));
	assert_true(qry_key_match(k, "20210615", false));
	assert_true(qry_key_match(k, "20211231235959.999999", false));
	assert_false(qry_key_match(k, "2022", false));
	assert_false(qry_key_match(k, "20191231235959", false));
	k = mk(&q, T_ACQ_DATETIME, DCM_VR_DT, "20200101-20200101");
	assert_true(qry_key_match(k, "20200101120000+0100", false));
	assert_true(qry_key_match(k, "20200101235959.5-1200", false));
	assert_false(qry_key_match(k, "20200102", false));
	k = mk(&q, T_ACQ_DATETIME, DCM_VR_DT,
	       "20200101120000-0500-20200101130000+0100");
	assert_true(qry_key_match(k, "20200101123000", false));
	assert_false(qry_key_match(k, "20200101130001", false));
	qry_cleanup(&q);

	/* A hand-made key with a bad bound or a wrong VR matches nothing. */
	{
		struct qry_key hk;

		memset(&hk, 0, sizeof(hk));
		hk.depth = 1;
		hk.path[0] = T_STUDY_DATE;
		hk.vr = DCM_VR_DA;
		hk.match = QRY_MATCH_RANGE;
		hk.value = "2020";
		hk.hi = "";
		assert_false(qry_key_match(&hk, "20200101", false));
		hk.value = "";
		hk.hi = NULL;
		assert_true(qry_key_match(&hk, "20200101", false));
		hk.vr = DCM_VR_LO;
		assert_false(qry_key_match(&hk, "20200101", false));
		hk.match = QRY_MATCH_WILDCARD;
		hk.value = NULL;
		assert_true(qry_key_match(&hk, "x", false));
	}
}

/* ---- tables ---------------------------------------------------------------- */

static bool has(const uint32_t *a, size_t n, uint32_t tag)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] == tag)
			return true;
	return false;
}

static void check_sorted(const uint32_t *a, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (a[i - 1] >= a[i])
			fail_msg("not ascending at %zu: %08X %08X", i,
				 a[i - 1], a[i]);
}

/* `all` must be exactly the union of `parts`. */
static void check_union(const uint32_t *all, size_t n,
			const enum qry_level *parts, size_t np)
{
	size_t i, j, m, total = 0;
	const uint32_t *p;

	for (j = 0; j < np; j++) {
		p = qry_level_fields(parts[j], &m);
		for (i = 0; i < m; i++)
			assert_true(has(all, n, p[i]));
	}
	for (i = 0; i < n; i++) {
		bool found = false;

		for (j = 0; j < np && !found; j++) {
			p = qry_level_fields(parts[j], &m);
			found = has(p, m, all[i]);
		}
		assert_true(found);
		total++;
	}
	assert_int_equal(total, n);
}

static void level_tables(void **state)
{
	const uint32_t *f;
	size_t n;
	const enum qry_level ss[] = {QRY_LEVEL_STUDY, QRY_LEVEL_SERIES};
	const enum qry_level ssi[] = {QRY_LEVEL_STUDY, QRY_LEVEL_SERIES,
				      QRY_LEVEL_INSTANCE};
	enum qry_level l;

	(void)state;
	f = qry_level_fields(QRY_LEVEL_STUDY, &n);
	assert_int_equal(n, 17);
	check_sorted(f, n);
	assert_true(has(f, n, 0x00080061u));
	assert_true(has(f, n, 0x00201208u));
	assert_false(has(f, n, 0x00080060u));
	f = qry_level_fields(QRY_LEVEL_SERIES, &n);
	assert_int_equal(n, 11);
	check_sorted(f, n);
	assert_true(has(f, n, 0x00400275u));
	assert_false(has(f, n, T_STUDY_UID));
	f = qry_level_fields(QRY_LEVEL_INSTANCE, &n);
	assert_int_equal(n, 11);
	check_sorted(f, n);
	assert_true(has(f, n, 0x00280008u));
	f = qry_level_fields(QRY_LEVEL_PATIENT, &n);
	assert_int_equal(n, 5);
	check_sorted(f, n);

	/* Defaults add the levels above (PS3.18 10.6.3.3.2-3). */
	f = qry_default_fields(QRY_LEVEL_STUDY, &n);
	assert_int_equal(n, 17);
	f = qry_default_fields(QRY_LEVEL_SERIES, &n);
	assert_int_equal(n, 25);
	check_sorted(f, n);
	check_union(f, n, ss, 2);
	f = qry_default_fields(QRY_LEVEL_INSTANCE, &n);
	assert_int_equal(n, 32);
	check_sorted(f, n);
	check_union(f, n, ssi, 3);
	f = qry_default_fields(QRY_LEVEL_PATIENT, &n);
	assert_int_equal(n, 5);
	check_sorted(f, n);
	l = (enum qry_level)99;
	assert_null(qry_default_fields(l, &n));
	assert_int_equal(n, 0);
	assert_null(qry_level_fields(l, &n));
	assert_non_null(qry_default_fields(QRY_LEVEL_STUDY, NULL));

	assert_int_equal(qry_attr_level(T_PATIENT_NAME), QRY_LEVEL_PATIENT);
	assert_int_equal(qry_attr_level(0x00100040u), QRY_LEVEL_PATIENT);
	assert_int_equal(qry_attr_level(T_STUDY_DATE), QRY_LEVEL_STUDY);
	assert_int_equal(qry_attr_level(0x00081030u), QRY_LEVEL_STUDY);
	assert_int_equal(qry_attr_level(T_STUDY_UID), QRY_LEVEL_STUDY);
	assert_int_equal(qry_attr_level(0x00080060u), QRY_LEVEL_SERIES);
	assert_int_equal(qry_attr_level(T_RAS), QRY_LEVEL_SERIES);
	assert_int_equal(qry_attr_level(0x00400245u), QRY_LEVEL_SERIES);
	assert_int_equal(qry_attr_level(0x00080016u), QRY_LEVEL_INSTANCE);
	assert_int_equal(qry_attr_level(0x00280100u), QRY_LEVEL_INSTANCE);
	assert_int_equal(qry_attr_level(0x00080201u), -1);
	assert_int_equal(qry_attr_level(0x00101010u), -1);
	assert_int_equal(qry_attr_level(0x00080005u), -1);
}

/* ---- out of memory --------------------------------------------------------- */

static const char rich_qs[] =
	"PatientName=Sm*&StudyDate=20200101-20201231&StudyTime=1010"
	"&StudyInstanceUID=1.2.3,1.2.4,1.2.5&AccessionNumber=A1"
	"&RequestAttributesSequence.ScheduledProcedureStepID=S1"
	"&RequestAttributesSequence.RequestAttributesSequence.RequestedProcedureID="
	"&00091001=x&includefield=PatientAge,00101030,StudyDescription"
	"&includefield=00080080,00080081,00080082,00080090,00080092,00080094,"
	"00080096,00081010,00081040,00081048,00081050,00081060,00081070,"
	"00081080,00081084,00081090,00081110,00081111,00081115,00081120"
	"&limit=10&offset=5&fuzzymatching=true&PatientID=P%201"
	"&OtherPatientIDs=a&IssuerOfPatientID=b&PatientBirthTime=1200"
	"&PatientComments=c&EthnicGroup=d&Occupation=e&PatientWeight=70.5";

static void out_of_memory(void **state)
{
	struct qry q;
	struct pc_err err;
	enum pc_status st;
	uint64_t n;

	(void)state;
	for (n = 1;; n++) {
		pc_err_clear(&err);
		pc_alloc_fail_after(n);
		st = qry_init(&q, QRY_LEVEL_STUDY);
		if (st == PC_OK)
			st = qry_parse_qido(&q, rich_qs, strlen(rich_qs), &err);
		if (st == PC_OK)
			st = qry_add_key(&q, T_STUDY_UID, DCM_VR_UI,
					 "9.8.7\\9.8.6", &err);
		pc_alloc_fail_after(0);
		if (st == PC_OK)
			break;
		assert_int_equal(st, PC_NOMEM);
		if (q.arena != NULL)
			assert_non_null(strstr(err.msg, "out of memory"));
		qry_cleanup(&q);
	}
	assert_true(n > 5);
	assert_int_equal(q.n_keys, 18);
	assert_int_equal(q.n_include, 23);
	assert_true(q.fuzzy);
	assert_int_equal(top(&q, T_STUDY_UID)->n_uids, 2);
	assert_true(qry_key_match(top(&q, T_PATIENT_NAME), "Smith", true));
	qry_cleanup(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_cleanup),
		cmocka_unit_test(match_kinds),
		cmocka_unit_test(parse_dates_and_times),
		cmocka_unit_test(parse_numbers),
		cmocka_unit_test(sequence_paths),
		cmocka_unit_test(unknown_and_repeated),
		cmocka_unit_test(includefield),
		cmocka_unit_test(limit_offset_fuzzy),
		cmocka_unit_test(escapes_and_limits),
		cmocka_unit_test(add_key),
		cmocka_unit_test(match_single),
		cmocka_unit_test(match_uid_list),
		cmocka_unit_test(match_wildcards),
		cmocka_unit_test(match_pathological),
		cmocka_unit_test(match_fuzzy_pn),
		cmocka_unit_test(match_ranges),
		cmocka_unit_test(level_tables),
		cmocka_unit_test(out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
