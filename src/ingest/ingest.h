/*
 * ingest.h - the one path every receiver uses (REST upload, STOW-RS,
 * C-STORE): take the bytes, make them durable, validate, index, and only
 * then say "stored".
 *
 * Order of events for one instance (the durability argument):
 *   1. bytes stream into a blob writer under a fresh random handle while
 *      their SHA-256 is computed (nothing is held in memory: a 2 GB upload
 *      costs a 64 KiB buffer);
 *   2. where the back-end can show the bytes before the commit (fs), they
 *      are mapped and parsed; it must be DICOM with SOP Class, SOP
 *      Instance, Study and Series Instance UIDs (and the expected study when
 *      the caller names one); the DICOM JSON metadata is built. An invalid
 *      upload, or an identical repeat of a stored instance, is answered
 *      here and its bytes are never made durable;
 *   3. commit: the blob is renamed into place (then read back and checked
 *      as in 2 on back-ends that cannot show it earlier);
 *   4. one index transaction inserts the rows;
 *   5. the caller acknowledges.
 * Durability, two modes (ingest_opts.sync_each):
 *   - group (default): 3 renames without a sync and 4 commits without a
 *     sync; before 5 one syncfs(2) that started after 4 covers the blob,
 *     its name and the row, shared by every upload committed meanwhile
 *     (sync.c). A crash before that sync can leave a row whose bytes did
 *     not survive: never acknowledged, and found by ingest_sweep()
 *     through the index's durable mark;
 *   - each: 3 fsyncs the blob and its directory, 4 syncs the WAL.
 * A failure after 3 deletes the new blob; a crash after 3 and before 4
 * leaves an orphan blob that ingest_sweep() removes at the next start.
 * An acknowledged instance therefore always has its bytes and its row on
 * stable storage.
 *
 * Thread-safety: an ingest may be used by any number of threads; an
 * ingest_upload belongs to one thread.
 *
 * Validation (step 3): SOPClassUID (0008,0016), SOPInstanceUID (0008,0018),
 * StudyInstanceUID (0020,000D) and SeriesInstanceUID (0020,000E) must be
 * present and valid UIDs (PS3.5 9.1: digits and dots, at most 64
 * characters, no empty component, no leading zero in a component other
 * than "0"; trailing NUL or space padding is ignored), else
 * INGEST_MISSING_UID naming the attribute. A File Meta Information whose
 * MediaStorageSOPInstanceUID (0002,0003) is present, non-empty and differs
 * from SOPInstanceUID is refused as INGEST_MISSING_UID too, as dcm4chee
 * does (serving such a file back would contradict itself).
 *
 * Metadata (what idx_instance_put stores): the data set's DICOM JSON
 * (PS3.18 F.2) without File Meta Information and group lengths, plus
 * AvailableTransferSyntaxUID (0008,3002) = the stored transfer syntax (the
 * meta's, else the one detected). Binary values (OB OD OF OL OV OW UN)
 * longer than bulk_threshold, and the top-level Pixel Data (7FE0,0010),
 * Float Pixel Data (7FE0,0008) and Double Float Pixel Data (7FE0,0009)
 * whatever their size, are BulkDataURI values
 *   /studies/{study}/series/{series}/instances/{sop}/bulkdata/{path}
 * where {path} is the tag path from the root: tags as 8 upper-case hex
 * digits, and between two tags the 0-based index of the item taken in the
 * sequence: "7FE00010", "00540016/0/00181074", "0040A730/3/0040A730/0/
 * 00420011". The HTTP layer resolves a path by walking the parsed blob the
 * same way.
 */
#ifndef PACSD_INGEST_INGEST_H
#define PACSD_INGEST_INGEST_H

#include "core/pc.h"
#include "index/idx.h"
#include "store/blob.h"

typedef struct ingest ingest;
typedef struct ingest_upload ingest_upload;

struct ingest_opts {
	bool allow_overwrite;     /* same SOP Instance UID, other bytes */
	size_t bulk_threshold;    /* metadata: binary values longer than this
	                             become BulkDataURI; 0 = default (1024) */
	bool sync_each;           /* sync every blob, directory and index
	                             commit on its own, instead of one syncfs
	                             per group of instances (sync.c) */
};

/* Why an instance was not stored; maps to HTTP statuses, STOW-RS failure
 * reasons (PS3.18 10.5.3) and C-STORE statuses (PS3.4 B.2.3). */
enum ingest_error {
	INGEST_OK = 0,
	INGEST_NOT_DICOM,        /* not parseable as DICOM (0xC000 / 400) */
	INGEST_MISSING_UID,      /* a required UID is absent or invalid
	                            (0xA900 / 400) */
	INGEST_STUDY_MISMATCH,   /* not in the study the request named
	                            (0xA900 / 409 for STOW) */
	INGEST_DUPLICATE,        /* SOP Instance UID stored with other bytes
	                            and overwrite off (0x0111 / 409) */
	INGEST_TOO_LARGE,        /* over the size limit (0xA700 / 413) */
	INGEST_STORAGE,          /* blob store or index failed (0xA700 / 500;
	                            logged with its cause) */
};

struct ingest_result {
	enum ingest_error error;                 /* INGEST_OK on success */
	bool duplicate;                          /* idempotent repeat: the
	                                            bytes were already stored */
	bool replaced;                           /* overwrote other bytes */
	char handle[IDX_HANDLE_LEN + 1];         /* stored (or existing) */
	char study_uid[IDX_UID_MAX + 1];         /* "" when unknown */
	char series_uid[IDX_UID_MAX + 1];
	char sop_uid[IDX_UID_MAX + 1];
	char sop_class_uid[IDX_UID_MAX + 1];
	uint64_t size;
};

/* Borrows `store` and `index`, which must outlive the ingest. */
ingest *ingest_create(blob_store *store, idx *index,
		      const struct ingest_opts *opts,
		      struct pc_err *err) PC_WUR;
void ingest_destroy(ingest *ig);

/*
 * Start-up recovery, before any upload: removes unfinished uploads
 * (blob_sweep_temp), then the rows a crash cut off before their sync
 * (group mode: rows above the index's durable mark whose blob is missing
 * or differs in size or SHA-256; logged), then every blob no index row
 * names (the debris of a crash between steps 3 and 4). Counts go to *temp_removed and
 * *orphans_removed (either may be NULL). Must not run while uploads are
 * in flight: a blob committed but not yet indexed looks like an orphan.
 */
enum pc_status ingest_sweep(ingest *ig, size_t *temp_removed,
			    size_t *orphans_removed,
			    struct pc_err *err) PC_WUR;

/* Starts a streamed upload. `max_size` bounds it (0 = unbounded). */
ingest_upload *ingest_begin(ingest *ig, uint64_t max_size,
			    struct pc_err *err) PC_WUR;
/* Appends bytes. Past `max_size`: PC_LIMIT (the upload must be aborted or
 * committed, which then reports INGEST_TOO_LARGE). Errors are sticky. */
enum pc_status ingest_write(ingest_upload *u, const void *p, size_t n,
			    struct pc_err *err) PC_WUR;
/*
 * Steps 2-4 for the bytes written. `expected_study` (may be NULL) is the
 * Study Instance UID the request named. Consumes `u` whatever the outcome.
 * Returns PC_OK when the instance is stored or was already stored with the
 * same bytes (res->duplicate: res->handle is then the stored copy's and the
 * new bytes are deleted); otherwise a status with res->error saying why and
 * `err` the detail (for the response and the log). Switch on res->error,
 * not on the status (PC_PARSE/TRUNC.. for NOT_DICOM, PC_INVAL for
 * MISSING_UID, STUDY_MISMATCH and DUPLICATE, PC_LIMIT for TOO_LARGE, the
 * cause's status for STORAGE). The UIDs in `res` are filled whenever they
 * were read, refusals included (STOW-RS FailedSOPSequence). A same SOP
 * Instance UID already stored in another study or series is
 * INGEST_STUDY_MISMATCH ("... is already stored in study x"), with other
 * bytes in the same series INGEST_DUPLICATE (unless allow_overwrite:
 * res->replaced, the old blob is deleted). Nothing but the stored blob of
 * an acknowledged instance is left in the store. `res` may be NULL.
 */
enum pc_status ingest_commit(ingest_upload *u, const char *expected_study,
			     struct ingest_result *res,
			     struct pc_err *err) PC_WUR;
/* Discards an upload; NULL is a no-op. */
void ingest_abort(ingest_upload *u);

/* begin + write + commit for bytes already in memory (C-STORE). The bytes
 * are parsed where they are instead of being mapped back from the store
 * (they are the committed bytes). */
enum pc_status ingest_buffer(ingest *ig, const void *p, size_t n,
			     const char *expected_study,
			     struct ingest_result *res,
			     struct pc_err *err) PC_WUR;

/*
 * The element a bulkdata {path} (see the top of this file; `n` bytes, not
 * NUL-terminated, without the ".../bulkdata/" prefix) names in `root`, for
 * WADO-RS bulkdata retrieval. PC_INVAL for a malformed path (bad tag
 * digits, bad index, a tag not followed by an index before the next tag),
 * PC_NOTFOUND when the element or item is not there. `*out` is borrowed
 * from `root`.
 */
enum pc_status ingest_bulkdata_find(const dcm_dataset *root, const char *path,
				    size_t n, const dcm_elem **out) PC_WUR;

/* A fresh storage handle: 32 lowercase hex digits from 128 random bits
 * (getrandom), NUL-terminated. */
enum pc_status ingest_new_handle(char out[IDX_HANDLE_LEN + 1],
				 struct pc_err *err) PC_WUR;

#endif
