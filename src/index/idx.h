/*
 * idx.h - the metadata index: patients, studies, series and instances, the
 * attributes QIDO-RS and C-FIND match on, counts, and each instance's DICOM
 * JSON metadata so that WADO-RS /metadata never reads a file.
 *
 * One interface, back-ends as `const struct idx_ops`-style tables in their
 * own file (sqlite.c now, pg.c later); callers never know which one they
 * talk to. The schema is versioned; opening an index migrates it forward.
 *
 * An instance row exists only for bytes already durable in the blob store
 * (ingest commits the blob first). Every write is one transaction: when a
 * write function returns PC_OK the change survives a crash.
 *
 * Thread-safety: an idx may be shared by any number of threads; reads run
 * concurrently (SQLite WAL, one connection per thread from a pool), writes
 * are serialised inside the index.
 *
 * Every function taking a `struct pc_err *` accepts NULL. UIDs are
 * NUL-terminated, at most 64 characters, without padding.
 */
#ifndef PACSD_INDEX_IDX_H
#define PACSD_INDEX_IDX_H

#include "core/pc.h"
#include "dicom/dcm.h"
#include "query/qry.h"

#define IDX_UID_MAX 64
#define IDX_HANDLE_LEN 32 /* storage handle: 32 lowercase hex digits */

typedef struct idx idx;

/* ---- opening ------------------------------------------------------------ */

/*
 * Opens (creating when missing) the SQLite index at `path` in WAL mode,
 * applies pending schema migrations in one transaction each, and checks
 * that the schema is not newer than this binary knows (PC_UNSUPPORTED).
 * Returns NULL on failure with the cause (PC_IO naming the path and
 * SQLite's message).
 */
idx *idx_sqlite_open(const char *path, struct pc_err *err) PC_WUR;
/* Closes the index; NULL is a no-op. No call may be running. */
void idx_close(idx *ix);
/* "sqlite"; for logs, /health and metrics. */
const char *idx_backend(const idx *ix);
/* Schema version in use (after migrations). */
int idx_schema_version(const idx *ix);
/* PC_OK when the index answers a trivial read; for /health. */
enum pc_status idx_ping(idx *ix, struct pc_err *err) PC_WUR;

struct idx_counts {
	uint64_t patients, studies, series, instances;
	uint64_t bytes; /* sum of stored instance sizes */
};
enum pc_status idx_counts(idx *ix, struct idx_counts *out,
			  struct pc_err *err) PC_WUR;

/* ---- one instance ------------------------------------------------------- */

/* What the index knows of one stored instance; small, copied by value. */
struct idx_instance {
	char handle[IDX_HANDLE_LEN + 1];     /* blob key */
	char study_uid[IDX_UID_MAX + 1];
	char series_uid[IDX_UID_MAX + 1];
	char sop_uid[IDX_UID_MAX + 1];
	char sop_class_uid[IDX_UID_MAX + 1];
	char ts_uid[IDX_UID_MAX + 1];        /* transfer syntax as stored */
	uint64_t size;                       /* bytes of the stored file */
	uint8_t sha256[32];                  /* of the stored file */
	uint32_t frames;                     /* NumberOfFrames, 1 if absent,
	                                        0 without pixel data */
	int64_t seq;                         /* increases with every insert */
};

/* What ingest hands over for one instance. */
struct idx_put {
	const dcm_dataset *ds;   /* the parsed data set (attributes are read
	                            from it: patient/study/series/instance
	                            columns, counts, ModalitiesInStudy...) */
	const char *handle;      /* blob key of the bytes, already durable */
	const char *ts_uid;      /* transfer syntax of the stored file */
	uint64_t size;
	const uint8_t *sha256;   /* 32 bytes */
	const char *metadata;    /* the instance's DICOM JSON object (see
	                            below), `metadata_len` bytes, stored as is */
	size_t metadata_len;
	bool allow_overwrite;    /* replace an instance with other bytes */
	bool blob_durable;       /* the blob is on stable storage already;
	                            false (deferred durability) makes a
	                            replacement answer IDX_PUT_NEED_DURABLE */
};

enum idx_put_outcome {
	IDX_PUT_NEW,        /* inserted */
	IDX_PUT_SAME,       /* same SOP Instance UID and same sha256: nothing
	                       changed; `existing` is the stored instance */
	IDX_PUT_REPLACED,   /* allow_overwrite and other bytes: the row now
	                       names the new handle; `existing` is the old one,
	                       whose blob the caller deletes after this returns */
	IDX_PUT_NEED_DURABLE, /* allow_overwrite and other bytes, but the new
	                       blob is not durable yet (!blob_durable): nothing
	                       changed; the caller syncs and puts again, so
	                       that the old instance, acknowledged long ago,
	                       never depends on bytes a crash could lose */
	IDX_PUT_CONFLICT,   /* other bytes without allow_overwrite, or the SOP
	                       Instance UID is stored under another study or
	                       series: nothing changed; `existing` is the stored
	                       instance */
};

/*
 * Inserts one instance with its patient, study and series (created or
 * updated: counts, ModalitiesInStudy, SOP classes in study...) in one
 * transaction. The data set must hold StudyInstanceUID, SeriesInstanceUID,
 * SOPInstanceUID and SOPClassUID (PC_INVAL otherwise). Patient rows are
 * keyed by PatientID (empty PatientID: one patient per study). Study and
 * series attributes are taken from the first instance stored in them.
 * Returns PC_OK for every outcome in *outcome; `existing` (may be NULL) is
 * filled for SAME, REPLACED and CONFLICT.
 *
 * `metadata` is the DICOM JSON object of the instance as ingest made it:
 * binary values longer than a threshold are replaced by BulkDataURI values
 * relative to the DICOMweb root ("/studies/1.2/series/1.3/instances/1.4/
 * bulkdata/7FE00010"); the HTTP layer prefixes its base URL when serving.
 */
enum pc_status idx_instance_put(idx *ix, const struct idx_put *p,
				enum idx_put_outcome *outcome,
				struct idx_instance *existing,
				struct pc_err *err) PC_WUR;

/* Looks an instance up by storage handle; PC_NOTFOUND when unknown. */
enum pc_status idx_instance_by_handle(idx *ix, const char *handle,
				      struct idx_instance *out,
				      struct pc_err *err) PC_WUR;
/* Looks an instance up by SOP Instance UID; PC_NOTFOUND when unknown. */
enum pc_status idx_instance_by_uid(idx *ix, const char *sop_uid,
				   struct idx_instance *out,
				   struct pc_err *err) PC_WUR;
/* Whether a handle is named by a row (start-up orphan sweep). */
enum pc_status idx_handle_exists(idx *ix, const char *handle, bool *exists,
				 struct pc_err *err) PC_WUR;

/* ---- walking a study / series ------------------------------------------- */

/*
 * The instances under a study (series_uid NULL), a series (sop_uid NULL)
 * or one instance, for WADO-RS and C-GET/C-MOVE. Order: series by
 * SeriesNumber then UID, instances by InstanceNumber then UID (stable).
 * `fn` is called once per instance; any status but PC_OK stops the walk and
 * is returned. `metadata` is the stored DICOM JSON text (NULL unless
 * `with_metadata`), valid during the call only. PC_NOTFOUND when nothing
 * matches the UIDs.
 */
typedef enum pc_status (*idx_instance_fn)(void *ctx,
					  const struct idx_instance *inst,
					  const char *metadata, size_t len);
enum pc_status idx_instances_each(idx *ix, const char *study_uid,
				  const char *series_uid, const char *sop_uid,
				  bool with_metadata, idx_instance_fn fn,
				  void *ctx, struct pc_err *err) PC_WUR;

/*
 * An entity tag for the metadata of a study / series / instance (same UID
 * arguments as idx_instances_each): changes whenever an instance under it
 * is added, replaced or deleted. Written NUL-terminated into `out`.
 * PC_NOTFOUND when nothing matches.
 */
#define IDX_ETAG_MAX 48
enum pc_status idx_etag(idx *ix, const char *study_uid, const char *series_uid,
			const char *sop_uid, char out[IDX_ETAG_MAX],
			struct pc_err *err) PC_WUR;

/* ---- deferred durability (ingest's group sync) ------------------------- */

/*
 * Switches the index to deferred durability: instance puts then commit
 * without waiting for stable storage, and are durable once syncfs(2) on
 * `*sync_fd` (a descriptor on the file system holding the index, owned by
 * the index, valid until idx_close) has returned 0 after the put. Deletes
 * keep waiting for stable storage (their callbacks delete blobs). *sync_fd
 * is -1 when the back-end's commits are durable by themselves (a database
 * server): nothing changes then. Call once, before any put.
 *
 * Crash recovery rests on a mark: the caller records, after each successful
 * sync, the highest `seq` it covered (idx_durable_set); at start-up it
 * checks every instance above the stored mark against its blob
 * (idx_undurable_each) and deletes those whose bytes did not survive. In
 * the default (synchronous) mode every put moves the mark itself.
 */
enum pc_status idx_defer_sync(idx *ix, int *sync_fd,
			      struct pc_err *err) PC_WUR;

/* The seq of the newest committed instance; 0 when none. Thread-safe. */
int64_t idx_last_seq(idx *ix);

/*
 * Records that every instance with seq <= `upto` is on stable storage with
 * its blob. Kept in memory and written with the next write transaction
 * (or at close): it survives a crash once that transaction does, so after
 * a crash the stored mark may lag, and recovery checks a few more rows.
 */
void idx_durable_set(idx *ix, int64_t upto);

/* Calls `fn` (metadata NULL) for every instance whose seq is above the
 * stored mark, in seq order; stops at the first status but PC_OK. */
enum pc_status idx_undurable_each(idx *ix, idx_instance_fn fn, void *ctx,
				  struct pc_err *err) PC_WUR;

/* ---- deleting ----------------------------------------------------------- */

/*
 * Deletes a study (series_uid NULL), a series (sop_uid NULL) or one
 * instance in one transaction, with the series, studies and patients left
 * empty, and updates counts. After the commit, calls `fn` with the handle of
 * every removed instance so that the caller deletes the blobs (a crash
 * between leaves orphans the start-up sweep removes). PC_NOTFOUND when
 * nothing matches.
 */
typedef void (*idx_handle_fn)(void *ctx, const char *handle);
enum pc_status idx_delete(idx *ix, const char *study_uid,
			  const char *series_uid, const char *sop_uid,
			  idx_handle_fn fn, void *ctx,
			  struct pc_err *err) PC_WUR;

/* ---- searching (QIDO-RS, C-FIND) ---------------------------------------- */

struct idx_query_opts {
	const char *retrieve_base; /* "http://host:port/dicom-web": emit
	                              RetrieveURL (0008,1190); NULL: omit */
	uint32_t max_results;      /* server maximum; 0 = unbounded */
};

struct idx_query_info {
	size_t returned;   /* matches passed to fn */
	bool truncated;    /* more matches exist beyond what was returned
	                      because of the server maximum (-> Warning 299) */
};

/*
 * Called once per match with one DICOM JSON object (PS3.18 F.2) holding
 * the level's return attributes: qry_default_fields(q->level), the
 * includefield attributes (all stored top-level attributes for
 * include_all), and every attribute used as a matching key. Counts
 * (NumberOfStudyRelatedSeries/Instances, NumberOfSeriesRelatedInstances,
 * ModalitiesInStudy, SOPClassesInStudy) are computed by the index.
 * Attributes not in the index's columns are taken from the stored metadata
 * of a representative instance of the study/series. `json` is valid during
 * the call only. Any status but PC_OK stops the search and is returned.
 */
typedef enum pc_status (*idx_match_fn)(void *ctx, const char *json,
				       size_t n);

/*
 * Runs `q` at q->level. Keys the index has columns for are matched in SQL;
 * other keys are matched with qry_key_match() against stored metadata.
 * Order is stable for a given content: studies by StudyDate, StudyTime,
 * then UID, all descending on date; series by SeriesNumber, UID; instances
 * by InstanceNumber, UID. q->offset and the smaller of q->limit and
 * opts->max_results apply after matching. `info` may be NULL.
 */
enum pc_status idx_query(idx *ix, const struct qry *q,
			 const struct idx_query_opts *opts, idx_match_fn fn,
			 void *ctx, struct idx_query_info *info,
			 struct pc_err *err) PC_WUR;

#endif
