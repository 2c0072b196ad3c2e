/*
 * index.c - the public idx_* functions: argument checks common to every
 * back-end, then a call through the back-end's `struct idx_ops`.
 *
 * DESIGN
 *
 * Back-ends. An idx is a `struct idx` whose first member points to a
 * const ops table; sqlite.c fills one (idx_sqlite_open), a PostgreSQL one
 * would fill another. Callers never learn which one they use. The SQLite
 * back-end is split as its subject is:
 *   schema.c  the schema as ordered migration steps (PRAGMA user_version),
 *             one transaction each; newer databases are refused
 *   sqlite.c  connections (one writer behind a mutex, a free list of
 *             readers, WAL, synchronous=FULL or deferred durability
 *             with a durable mark), a per-connection cache of
 *             prepared statements, put/lookup/walk/etag/delete
 *   query.c   struct qry -> SQL with bound parameters, post-filtering of
 *             keys without a column, DICOM JSON answers
 *   fold.c    normalised column values (folded names, DA, TM)
 *
 * Data model. patients 1-n studies 1-n series 1-n instances, plus
 * series_requests (RequestAttributeSequence items) and a one-row totals
 * table. Study and series rows hold the attributes of the first instance
 * stored in them (later instances never rewrite them: an instance with a
 * different PatientName does not rename the study), their counts, and a
 * representative instance whose stored DICOM JSON supplies attributes the
 * index has no column for. Patient rows are keyed by PatientID; an empty
 * PatientID gets a patient row per study.
 *
 * Invariants kept in every write transaction: counts equal the rows
 * below; ModalitiesInStudy and SOPClassesInStudy are the sorted distinct
 * values of the rows below; every study has >= 1 series and every series
 * >= 1 instance (deleting the last child deletes the parent); instance ids
 * (`seq`) are never reused, which entity tags rely on.
 *
 * Entity tags are "<count>-<max seq>-<sum of seq mod 2^32>" in lowercase
 * hex, without quotes: the HTTP layer adds them.
 */
#include "idx_int.h"

#include <string.h>

static bool uid_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strlen(s);
	return n > 0 && n <= IDX_UID_MAX;
}

static bool handle_ok(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < IDX_HANDLE_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[IDX_HANDLE_LEN] == '\0';
}

/*
 * Back-ends always get an error record of their own, empty, so that a
 * status they recorded can be read back (prep_status in sqlite.c) even
 * when the caller passed NULL or an err holding an older error; it is then
 * copied to the caller's (first error wins there as everywhere).
 */
static enum pc_status pass(struct pc_err *err, const struct pc_err *mine,
                           enum pc_status st)
{
	if (st != PC_OK && err != NULL && mine->status != PC_OK)
		pc_err_set(err, mine->status, mine->offset, "%s", mine->msg);
	return st;
}

/* A study, a series in it or an instance in that. */
static enum pc_status scope_ok(const char *study, const char *series,
                               const char *sop, struct pc_err *err)
{
	if (!uid_ok(study))
		return pc_err_set(err, PC_INVAL, 0,
		                  "index: a study UID of 1 to %d characters "
		                  "is required",
		                  IDX_UID_MAX);
	if (series != NULL && !uid_ok(series))
		return pc_err_set(err, PC_INVAL, 0, "index: bad series UID");
	if (sop != NULL && (series == NULL || !uid_ok(sop)))
		return pc_err_set(err, PC_INVAL, 0,
		                  "index: an instance UID needs a series UID "
		                  "and at most %d characters",
		                  IDX_UID_MAX);
	return PC_OK;
}

void idx_close(idx *ix)
{
	if (ix != NULL)
		ix->ops->close(ix);
}

const char *idx_backend(const idx *ix)
{
	return ix != NULL ? ix->ops->name : "none";
}

int idx_schema_version(const idx *ix)
{
	return ix != NULL ? ix->ops->schema_version(ix) : 0;
}

enum pc_status idx_ping(idx *ix, struct pc_err *err)
{
	struct pc_err mine = {0};

	if (ix == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: not open");
	return pass(err, &mine, ix->ops->ping(ix, &mine));
}

enum pc_status idx_counts(idx *ix, struct idx_counts *out, struct pc_err *err)
{
	struct pc_err mine = {0};

	if (ix == NULL || out == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	return pass(err, &mine, ix->ops->counts(ix, out, &mine));
}

enum pc_status idx_instance_put(idx *ix, const struct idx_put *p,
                                enum idx_put_outcome *outcome,
                                struct idx_instance *existing,
                                struct pc_err *err)
{
	struct pc_err mine = {0};

	if (ix == NULL || p == NULL || p->ds == NULL || outcome == NULL ||
	    p->sha256 == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	if (!handle_ok(p->handle))
		return pc_err_set(err, PC_INVAL, 0,
		                  "index: a handle is %d lowercase hex digits",
		                  IDX_HANDLE_LEN);
	if (!uid_ok(p->ts_uid))
		return pc_err_set(err, PC_INVAL, 0,
		                  "index: bad transfer syntax UID");
	if (p->metadata != NULL && p->metadata_len > (size_t)INT32_MAX)
		return pc_err_set(err, PC_LIMIT, 0,
		                  "index: metadata of %zu bytes is too large",
		                  p->metadata_len);
	if (p->size > (uint64_t)INT64_MAX)
		return pc_err_set(err, PC_LIMIT, 0, "index: size too large");
	return pass(err, &mine,
	            ix->ops->instance_put(ix, p, outcome, existing, &mine));
}

enum pc_status idx_instance_by_handle(idx *ix, const char *handle,
                                      struct idx_instance *out,
                                      struct pc_err *err)
{
	struct pc_err mine = {0};

	if (ix == NULL || out == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	if (!handle_ok(handle))
		return pc_err_set(err, PC_NOTFOUND, 0,
		                  "index: no instance with that handle");
	return pass(err, &mine,
	            ix->ops->instance_by_handle(ix, handle, out, &mine));
}

enum pc_status idx_instance_by_uid(idx *ix, const char *sop_uid,
                                   struct idx_instance *out, struct pc_err *err)
{
	struct pc_err mine = {0};

	if (ix == NULL || out == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	if (!uid_ok(sop_uid))
		return pc_err_set(err, PC_NOTFOUND, 0,
		                  "index: no instance with that UID");
	return pass(err, &mine,
	            ix->ops->instance_by_uid(ix, sop_uid, out, &mine));
}

enum pc_status idx_defer_sync(idx *ix, int *sync_fd, struct pc_err *err)
{
	struct pc_err mine = {0};

	if (ix == NULL || sync_fd == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	return pass(err, &mine, ix->ops->defer_sync(ix, sync_fd, &mine));
}

int64_t idx_last_seq(idx *ix)
{
	return ix != NULL ? ix->ops->last_seq(ix) : 0;
}

void idx_durable_set(idx *ix, int64_t upto)
{
	if (ix != NULL)
		ix->ops->durable_set(ix, upto);
}

enum pc_status idx_undurable_each(idx *ix, idx_instance_fn fn, void *ctx,
                                  struct pc_err *err)
{
	struct pc_err mine = {0};

	if (ix == NULL || fn == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	return pass(err, &mine, ix->ops->undurable_each(ix, fn, ctx, &mine));
}

enum pc_status idx_handle_exists(idx *ix, const char *handle, bool *exists,
                                 struct pc_err *err)
{
	struct pc_err mine = {0};

	if (ix == NULL || exists == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	if (!handle_ok(handle)) {
		*exists = false;
		return PC_OK;
	}
	return pass(err, &mine,
	            ix->ops->handle_exists(ix, handle, exists, &mine));
}

enum pc_status idx_instances_each(idx *ix, const char *study_uid,
                                  const char *series_uid, const char *sop_uid,
                                  bool with_metadata, idx_instance_fn fn,
                                  void *ctx, struct pc_err *err)
{
	struct pc_err mine = {0};
	enum pc_status st;

	if (ix == NULL || fn == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	st = scope_ok(study_uid, series_uid, sop_uid, err);
	if (st != PC_OK)
		return st;
	return pass(err, &mine,
	            ix->ops->instances_each(ix, study_uid, series_uid, sop_uid,
	                                    with_metadata, fn, ctx, &mine));
}

enum pc_status idx_etag(idx *ix, const char *study_uid, const char *series_uid,
                        const char *sop_uid, char out[IDX_ETAG_MAX],
                        struct pc_err *err)
{
	struct pc_err mine = {0};
	enum pc_status st;

	if (ix == NULL || out == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	out[0] = '\0';
	st = scope_ok(study_uid, series_uid, sop_uid, err);
	if (st != PC_OK)
		return st;
	return pass(
	    err, &mine,
	    ix->ops->etag(ix, study_uid, series_uid, sop_uid, out, &mine));
}

enum pc_status idx_delete(idx *ix, const char *study_uid,
                          const char *series_uid, const char *sop_uid,
                          idx_handle_fn fn, void *ctx, struct pc_err *err)
{
	struct pc_err mine = {0};
	enum pc_status st;

	if (ix == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	st = scope_ok(study_uid, series_uid, sop_uid, err);
	if (st != PC_OK)
		return st;
	return pass(
	    err, &mine,
	    ix->ops->del(ix, study_uid, series_uid, sop_uid, fn, ctx, &mine));
}

enum pc_status idx_query(idx *ix, const struct qry *q,
                         const struct idx_query_opts *opts, idx_match_fn fn,
                         void *ctx, struct idx_query_info *info,
                         struct pc_err *err)
{
	static const struct idx_query_opts none = {NULL, 0};
	struct pc_err mine = {0};

	if (info != NULL) {
		info->returned = 0;
		info->truncated = false;
	}
	if (ix == NULL || q == NULL || fn == NULL)
		return pc_err_set(err, PC_INVAL, 0, "index: bad arguments");
	if (q->level < QRY_LEVEL_PATIENT || q->level > QRY_LEVEL_INSTANCE)
		return pc_err_set(err, PC_INVAL, 0,
		                  "index: unknown query level %d",
		                  (int)q->level);
	return pass(
	    err, &mine,
	    ix->ops->query(ix, q, opts ? opts : &none, fn, ctx, info, &mine));
}
