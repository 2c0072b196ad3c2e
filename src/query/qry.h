/*
 * qry.h - the query model shared by QIDO-RS and C-FIND: which level is
 * searched, which attributes must match how, which attributes come back.
 *
 * Matching follows PS3.4 C.2.2.2 (single value, universal, wildcard, range,
 * UID list, sequence matching) as PS3.18 8.3.4 applies it to QIDO-RS. The
 * index (src/index/) turns a struct qry into SQL; qry_key_match() evaluates
 * one key against a text value for attributes the index has no column for
 * and for C-FIND against data sets.
 *
 * Ownership: a struct qry owns everything it points to, in its arena;
 * qry_cleanup() frees it all. Not thread-safe; a finished qry may be read
 * from several threads.
 */
#ifndef PACSD_QUERY_QRY_H
#define PACSD_QUERY_QRY_H

#include "core/pc.h"
#include "dicom/dcm.h"

enum qry_level {
	QRY_LEVEL_PATIENT,
	QRY_LEVEL_STUDY,
	QRY_LEVEL_SERIES,
	QRY_LEVEL_INSTANCE,
};

enum qry_match {
	QRY_MATCH_UNIVERSAL, /* empty value: matches all, attribute returned */
	QRY_MATCH_SINGLE,    /* exact value (PN, and every VR but UI/DA/TM/DT) */
	QRY_MATCH_WILDCARD,  /* value holding '*' or '?' (not for UI DA TM DT) */
	QRY_MATCH_RANGE,     /* DA, TM, DT "lo-hi", "lo-", "-hi" */
	QRY_MATCH_UID_LIST,  /* UI: one or more UIDs separated by '\' or ',' */
	QRY_MATCH_SEQUENCE,  /* SQ with sub-keys (their paths start with it) */
};

/* Sequence paths are at most this deep ("00400275.00401001" is depth 2). */
#define QRY_PATH_MAX 4

struct qry_key {
	uint32_t path[QRY_PATH_MAX]; /* sequence tags from the top, then the
	                                attribute: path[depth - 1] */
	uint8_t depth;               /* 1 for a top-level attribute */
	enum dcm_vr vr;              /* the dictionary's VR of the attribute */
	enum qry_match match;
	const char *value;  /* SINGLE, WILDCARD: the value as given (UTF-8,
	                       percent-decoded, PN components kept as written);
	                       RANGE: the lower bound, "" when open */
	const char *hi;     /* RANGE: the upper bound, "" when open; else NULL */
	const char **uids;  /* UID_LIST: the UIDs */
	size_t n_uids;
};

struct qry {
	enum qry_level level;
	struct qry_key *keys;      /* in the order given, one per attribute */
	size_t n_keys;
	uint32_t *include;         /* includefield tags, top-level only */
	size_t n_include;
	bool include_all;          /* includefield=all */
	bool has_limit;
	uint32_t limit;            /* when has_limit */
	uint32_t offset;           /* 0 unless given */
	bool fuzzy;                /* fuzzymatching=true */
	pc_arena *arena;           /* owns keys, include and every string */
};

/* Empties `q` for `level`. PC_NOMEM when the arena cannot be made. */
enum pc_status qry_init(struct qry *q, enum qry_level level) PC_WUR;
/* Frees what `q` owns and zeroes it; a zeroed struct is accepted. */
void qry_cleanup(struct qry *q);

/*
 * Parses a QIDO-RS query string (the raw text after '?', still
 * percent-encoded, '+' meaning space; `n` bytes, need not be NUL-terminated)
 * into `q`, which qry_init() has prepared. Recognised:
 *   {attribute}={value}  attribute as keyword ("PatientName"), 8 hex digits
 *                        ("00100010") or a dotted sequence path of either
 *                        ("RequestAttributesSequence.ScheduledProcedureStepID");
 *                        the match kind comes from the VR and the value
 *   includefield={attr}[,{attr}...] or includefield=all (repeatable)
 *   limit={n} offset={n} fuzzymatching=true|false
 * Repeating an attribute is an error. Unknown parameter names (neither a
 * keyword, nor a tag, nor one of the above) are ignored, as PS3.18 8.3.4
 * allows. Errors (PC_INVAL, message naming the parameter, for a 400): a bad
 * percent escape, a malformed tag or number, a range on a VR that has none,
 * a malformed date/time in a range, a path deeper than QRY_PATH_MAX or
 * through a non-SQ attribute, a value longer than 4096 bytes, more than 256
 * parameters. Also refused: values that are not UTF-8, NUL bytes, a repeated
 * limit/offset/fuzzymatching, an empty UID in a list, more than 256
 * includefield attributes. On error `q` may hold what was parsed before it;
 * qry_cleanup() frees it as usual.
 */
enum pc_status qry_parse_qido(struct qry *q, const char *qs, size_t n,
			      struct pc_err *err) PC_WUR;

/*
 * Adds a key from outside the query string: the UIDs of the URL path
 * (/studies/{study}/series) and C-FIND identifiers. The match kind is
 * derived from `vr` and `value` as for a query string value. Replaces a key
 * with the same top-level tag. `vr` DCM_VR_NONE means the dictionary's (UN
 * for a tag it does not know); `value` NULL means "". On error `q` is left
 * as it was. Call it after qry_parse_qido(), which refuses an attribute
 * already present as a repeat.
 */
enum pc_status qry_add_key(struct qry *q, uint32_t tag, enum dcm_vr vr,
			   const char *value, struct pc_err *err) PC_WUR;

/* The key for top-level `tag`, or NULL. */
const struct qry_key *qry_find_key(const struct qry *q, uint32_t tag);

/*
 * Whether one value matches `k` (SINGLE, WILDCARD, RANGE, UID_LIST;
 * UNIVERSAL always matches). `value` is one UTF-8 value with padding
 * removed; a multi-valued attribute matches when any value does (the caller
 * loops). Wildcards: '*' any run, '?' one character (UTF-8 aware). PN: with
 * `fuzzy`, case- and accent-insensitive and a component of the key matches
 * the start of any name component ("smi" matches "Smith^John"); without,
 * exact per PS3.4. Ranges compare DA/TM/DT lexically after normalising
 * (TM "1010" = "101000", DT with an offset is compared as given).
 */
bool qry_key_match(const struct qry_key *k, const char *value, bool fuzzy);

/*
 * The attributes a QIDO-RS answer carries at `level` without includefield
 * (PS3.18 tables 10.6.3-3, -4, -5: the level's own and those of the levels
 * above that the standard lists). Sorted ascending. Static storage.
 */
const uint32_t *qry_default_fields(enum qry_level level, size_t *n);

/*
 * The level's own attributes only (PS3.18 table 10.6.3-3, -4 or -5 as
 * printed, sorted ascending, static storage). qry_default_fields() adds the
 * levels above (for the All Series and All Instances targets, PS3.18
 * 10.6.3.3.2-3); a caller that knows the target is narrower, e.g.
 * /studies/{study}/series, may use this list and the parents' it needs.
 */
const uint32_t *qry_level_fields(enum qry_level level, size_t *n);

/*
 * The level whose entity an attribute describes for the standard QIDO-RS
 * matching keys (PatientName -> PATIENT, StudyDate -> STUDY, Modality ->
 * SERIES, SOPClassUID -> INSTANCE). Attributes not in those tables return
 * -1: they are matched against each result's stored metadata.
 */
int qry_attr_level(uint32_t tag);

#endif
