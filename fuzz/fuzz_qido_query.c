/*
 * fuzz_qido_query.c - libFuzzer target for the query model (src/query/).
 *
 * The input is a raw QIDO-RS query string. It is parsed at every level
 * (qry_parse_qido), and each key of a successful parse is matched
 * (qry_key_match, fuzzy and not) against a few fixed values and against the
 * input itself. The input, cut at its first NUL, is also handed to
 * qry_add_key as the value of keys of each interesting VR, which reaches the
 * value classification (DA/TM/DT ranges, UID lists, numbers) without the
 * query-string layer in the way; those keys are matched too.
 *
 * Invariants checked (abort on violation): a failed call returns the
 * status it recorded with a message; a parsed query respects its limits
 * (depth 1..QRY_PATH_MAX, at most 256 includefield tags, values of at most
 * 4096 bytes); RANGE keys have both bounds, UID_LIST keys at least one
 * non-empty UID, WILDCARD keys a '*' or '?'; UNIVERSAL and SEQUENCE keys
 * match anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/qry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

static const char *const fixed_values[] = {
	"",
	"Smith^John",
	"SMITH^JOHN^^^DR",
	"\xC3\x89ric^Dupont",
	"\xE5\xB1\xB1\xE7\x94\xB0^\xE5\xA4\xAA\xE9\x83\x8E",
	"20200101",
	"2020.01.01",
	"101010.5",
	"10:10:10",
	"20200101120000-0500",
	"1.2.840.10008.5.1.4.1.1.2",
	"CT",
	"-5",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
	"\xFF\xFE\xC3",
};

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_qido_query: invariant broken: %s\n",
			what);
		abort();
	}
}

static void check_key(const struct qry_key *k, const char *input)
{
	size_t i;
	bool m;

	check(k->depth >= 1 && k->depth <= QRY_PATH_MAX, "key depth");
	switch (k->match) {
	case QRY_MATCH_UNIVERSAL:
	case QRY_MATCH_SEQUENCE:
		check(qry_key_match(k, "whatever", false), "universal matches");
		break;
	case QRY_MATCH_SINGLE:
		check(k->value != NULL && k->value[0] != '\0', "single value");
		check(strlen(k->value) <= 4096, "value length");
		break;
	case QRY_MATCH_WILDCARD:
		check(k->value != NULL && (strchr(k->value, '*') != NULL ||
					   strchr(k->value, '?') != NULL),
		      "wildcard has * or ?");
		check(strlen(k->value) <= 4096, "value length");
		break;
	case QRY_MATCH_RANGE:
		check(k->value != NULL && k->hi != NULL, "range bounds");
		break;
	case QRY_MATCH_UID_LIST:
		check(k->n_uids >= 1 && k->uids != NULL, "uid list");
		for (i = 0; i < k->n_uids; i++)
			check(k->uids[i] != NULL && k->uids[i][0] != '\0',
			      "non-empty uid");
		break;
	default:
		check(false, "match kind");
	}
	for (i = 0; i < sizeof(fixed_values) / sizeof(fixed_values[0]); i++) {
		m = qry_key_match(k, fixed_values[i], false);
		m ^= qry_key_match(k, fixed_values[i], true);
		sink += m;
	}
	sink += qry_key_match(k, input, false);
	sink += qry_key_match(k, input, true);
	/* A key's own single value matches itself. */
	if (k->match == QRY_MATCH_SINGLE && k->vr == DCM_VR_PN)
		check(qry_key_match(k, k->value, false), "PN matches itself");
}

static void parse_at(enum qry_level level, const char *qs, size_t n,
		     const char *input)
{
	struct qry q;
	struct pc_err err = {0};
	enum pc_status st;
	size_t i;

	if (qry_init(&q, level) != PC_OK)
		return;
	st = qry_parse_qido(&q, qs, n, &err);
	if (st != PC_OK) {
		check(err.status == st && err.msg[0] != '\0', "error message");
	} else {
		check(err.status == PC_OK, "no error recorded");
		check(q.n_include <= 256, "include count");
		check(q.n_keys <= 4 * 256, "key count");
		for (i = 0; i < q.n_keys; i++)
			check_key(&q.keys[i], input);
		for (i = 0; i < q.n_keys; i++)
			if (q.keys[i].depth == 1)
				check(qry_find_key(&q, q.keys[i].path[0]) !=
					      NULL,
				      "find top-level key");
	}
	qry_cleanup(&q);
}

static void add_keys(const char *value, const char *input)
{
	static const struct {
		uint32_t tag;
		enum dcm_vr vr;
	} keys[] = {
		{0x00080020, DCM_VR_DA}, {0x00080030, DCM_VR_TM},
		{0x0008002A, DCM_VR_DT}, {0x0020000D, DCM_VR_UI},
		{0x00100010, DCM_VR_PN}, {0x00200013, DCM_VR_IS},
		{0x00180050, DCM_VR_DS}, {0x00100020, DCM_VR_LO},
		{0x00400275, DCM_VR_SQ}, {0x00091001, DCM_VR_NONE},
	};
	struct qry q;
	size_t i;

	if (qry_init(&q, QRY_LEVEL_STUDY) != PC_OK)
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct pc_err err = {0};
		enum pc_status st =
			qry_add_key(&q, keys[i].tag, keys[i].vr, value, &err);
		const struct qry_key *k = qry_find_key(&q, keys[i].tag);

		if (st == PC_OK) {
			check(k != NULL, "added key found");
			check_key(k, input);
		} else {
			check(err.status == st && err.msg[0] != '\0',
			      "add_key error message");
			check(k == NULL, "failed add leaves no key");
		}
	}
	qry_cleanup(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;
	enum qry_level l;

	/* A NUL-terminated copy, cut at the first NUL, for C-string uses;
	 * the parser itself gets the raw bytes and length. */
	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (l = QRY_LEVEL_PATIENT; l <= QRY_LEVEL_INSTANCE; l++)
		parse_at(l, (const char *)data, size, copy);
	if (size <= 4096)
		add_keys(copy, copy);
	free(copy);
	return 0;
}
