/*
 * ingest_int.h - internals of the ingest module shared with its unit test.
 */
#ifndef PACSD_INGEST_INGEST_INT_H
#define PACSD_INGEST_INGEST_INT_H

#include "ingest/ingest.h"

/*
 * Whether the `n` bytes at `s` are a valid UID (PS3.5 9.1): 1 to 64
 * characters, components of digits separated by single dots, no empty
 * component, no leading zero in a component other than "0" itself.
 */
bool ingest__uid_valid(const char *s, size_t n);

/*
 * Finds, for the element `e` reached from `root` through the tags
 * path[0..depth-1] (as dcm_json_write hands them to its bulk callback),
 * the index of the item taken inside each sequence on the way:
 * items[k] is the item of the sequence path[k], for k < depth - 1. Uses
 * the elements' offsets in the parsed input to pick each item in O(log n),
 * and an exhaustive walk when offsets do not settle it (items whose
 * elements were not in tag order in the file). False when `e` is not
 * there.
 */
bool ingest__locate(const dcm_dataset *root, const uint32_t *path, size_t depth,
                    const dcm_elem *e, size_t *items);

/*
 * Group durability (sync.c). ingest__sync_create switches the index to
 * deferred commits (idx_defer_sync) and keeps the descriptors to sync;
 * *out stays NULL when there is nothing to sync (every commit durable by
 * itself). ingest__sync_wait returns PC_OK once everything committed before
 * the call is on stable storage; `seq` > 0 names the instance the caller
 * needs, which skips the sync when an earlier one covered it already.
 * `since` is ingest__sync_generation() from before the caller wrote its
 * bytes (the newest sync that cannot have seen them): a sync that failed
 * after that one fails the caller too, since
 * the write-back error it reported may have been one of the caller's
 * pages (syncfs reports each error once, to whichever sync runs next).
 */
typedef struct ingest_sync ingest_sync;
enum pc_status ingest__sync_create(blob_store *store, idx *index,
                                   ingest_sync **out, struct pc_err *err);
void ingest__sync_destroy(ingest_sync *s);
uint64_t ingest__sync_generation(ingest_sync *s);
enum pc_status ingest__sync_wait(ingest_sync *s, int64_t seq, uint64_t since,
                                 struct pc_err *err);

#endif
