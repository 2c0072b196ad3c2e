/*
 * blob.h - the blob store: where the bytes of every stored instance live.
 *
 * One interface, interchangeable back-ends (src/store/fs.c today, s3.c later)
 * filled in as `const struct blob_ops` tables; callers never know which one
 * they talk to. The design note (on-disk layout, durability argument, S3
 * mapping) opens src/store/store.c.
 *
 * Keys are opaque strings of 4 to BLOB_KEY_MAX lowercase hexadecimal digits
 * (the server uses 32-digit storage handles). Anything else is rejected with
 * PC_INVAL before a back-end sees it, so that a key can never name a path
 * outside the store.
 *
 * Thread-safety: a blob_store may be shared by any number of threads that put,
 * read, delete and list concurrently. A blob_writer or blob_reader belongs to
 * one thread at a time.
 *
 * Every function taking a `struct pc_err *` accepts NULL.
 */
#ifndef PACSD_STORE_BLOB_H
#define PACSD_STORE_BLOB_H

#include "core/pc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOB_KEY_MIN 4   /* the fs back-end fans out on the first 4 digits */
#define BLOB_KEY_MAX 64

typedef struct blob_store blob_store;
typedef struct blob_writer blob_writer;
typedef struct blob_reader blob_reader;

/* PC_OK when `key` is a valid key, else PC_INVAL with a message. */
enum pc_status blob_key_check(const char *key, struct pc_err *err) PC_WUR;

/* ---- opening ------------------------------------------------------------ */

/*
 * Opens the filesystem store rooted at the directory `root`, creating root,
 * root/blobs and root/tmp when missing. Returns NULL on failure (PC_IO naming
 * the path, PC_LIMIT for an over-long root, PC_NOMEM). Does not sweep
 * root/tmp: call blob_sweep_temp() at start-up, before any put.
 */
blob_store *blob_fs_open(const char *root, struct pc_err *err) PC_WUR;

/* Closes the store; NULL is a no-op. Every writer and reader must be closed
 * first. */
void blob_store_close(blob_store *store);

/* The back-end's name ("fs"), for logs and metrics. */
const char *blob_store_backend(const blob_store *store);

/* ---- writing (streamed) ------------------------------------------------- */

/*
 * Starts storing `key`. Nothing is visible under the key before
 * blob_put_commit() is called; it is durable once that returns PC_OK.
 * Returns NULL on failure.
 */
blob_writer *blob_put_begin(blob_store *store, const char *key,
			    struct pc_err *err) PC_WUR;

/*
 * Appends `n` bytes. On failure the writer stays owned by the caller, who
 * must still call blob_put_commit() (which then fails) or blob_put_abort();
 * the error is sticky.
 */
enum pc_status blob_put_write(blob_writer *w, const void *p, size_t n,
			      struct pc_err *err) PC_WUR;

/*
 * Makes the blob durable and visible under its key, replacing any previous
 * blob with that key atomically (the caller decides whether that is allowed).
 * When this returns PC_OK the bytes survive a crash or power loss. Consumes
 * `w` whatever the outcome. A NEW key may become visible to readers while
 * this runs, with all its bytes (the fs back-end names it before syncing it,
 * to save a journal commit): callers publish a key only after PC_OK, as
 * ingest does with its index row, and a crash meanwhile leaves an orphan for
 * the sweep. On failure the caller must not acknowledge: the key holds its
 * previous blob (or none) or, when only the final directory fsync failed,
 * the new bytes without the durability guarantee (an orphan for the sweep).
 */
enum pc_status blob_put_commit(blob_writer *w, struct pc_err *err) PC_WUR;

/* Discards the writer and its partial data; NULL is a no-op. */
void blob_put_abort(blob_writer *w);

/*
 * Group durability (ingest's one sync per group of instances): like
 * blob_put_commit(), except that it does not wait for stable storage. The
 * blob is visible under its key when this returns PC_OK and durable once
 * syncfs(2) on blob_store_sync_fd() has returned 0 after that. The key must
 * be new: PC_EXISTS otherwise (replacing bytes without a sync could lose the
 * old ones before the new ones are safe). A crash before the sync may leave
 * the key with partial bytes or none: the caller must not let anything
 * refer to it as durable until the sync, and its crash recovery checks the
 * bytes (ingest compares size and SHA-256). Back-ends without a sync
 * descriptor commit exactly as blob_put_commit() does. Consumes `w`.
 */
enum pc_status blob_put_commit_deferred(blob_writer *w,
					struct pc_err *err) PC_WUR;

/*
 * A descriptor on the file system that holds the blobs, for the caller's
 * syncfs(2) after deferred commits; owned by the store, valid until it is
 * closed. -1 when every commit is durable by itself (S3).
 */
int blob_store_sync_fd(const blob_store *store);

/*
 * Optional capability: a file descriptor holding the bytes written so far
 * (after every blob_put_write), so that the caller can map and parse them
 * before committing, e.g. to refuse an invalid upload without making it
 * durable. Borrowed, valid until commit or abort; never write to it or
 * close it. -1 when the back-end has none (S3).
 */
int blob_writer_fd(const blob_writer *w);

/*
 * A hint: starts moving the bytes written so far to stable storage without
 * waiting, so that the caller's work before blob_put_commit() overlaps the
 * I/O (commit still waits for it). A no-op where the back-end has nothing
 * to start.
 */
void blob_put_start_sync(blob_writer *w);

/* Bytes written to `w` so far. */
uint64_t blob_put_size(const blob_writer *w);

/* begin + write + commit for a blob already in memory. */
enum pc_status blob_put(blob_store *store, const char *key, const void *p,
			size_t n, struct pc_err *err) PC_WUR;

/* ---- reading ------------------------------------------------------------ */

/*
 * Opens `key` for reading. Returns NULL on failure: PC_NOTFOUND when the key
 * is absent. The reader sees the blob as it was when opened, even if it is
 * replaced or deleted meanwhile.
 */
blob_reader *blob_open(blob_store *store, const char *key,
		       struct pc_err *err) PC_WUR;

/*
 * Reads up to `n` bytes into `p` and stores the count in `*got`. A count
 * smaller than `n` means the end of the blob was reached (0 at the end).
 */
enum pc_status blob_read(blob_reader *r, void *p, size_t n, size_t *got,
			 struct pc_err *err) PC_WUR;

/* The blob's size in bytes, known at open. */
uint64_t blob_reader_size(const blob_reader *r);

/*
 * Optional capability: a file descriptor holding the blob's bytes, for
 * sendfile(2) or mmap(2) (use explicit offsets: blob_read() moves the file
 * position). Borrowed: valid until blob_close(), never close it. Returns -1
 * when the back-end has no descriptor (S3); callers then use blob_read().
 */
int blob_reader_fd(const blob_reader *r);

/* Closes the reader; NULL is a no-op. */
void blob_close(blob_reader *r);

/* ---- other operations --------------------------------------------------- */

/* Stores in `*exists` whether `key` is present. */
enum pc_status blob_exists(blob_store *store, const char *key, bool *exists,
			   struct pc_err *err) PC_WUR;

/* Stores the size of `key` in `*size`; PC_NOTFOUND when absent. */
enum pc_status blob_size(blob_store *store, const char *key, uint64_t *size,
			 struct pc_err *err) PC_WUR;

/* Removes `key` durably; PC_NOTFOUND when absent. */
enum pc_status blob_delete(blob_store *store, const char *key,
			   struct pc_err *err) PC_WUR;

/*
 * Removes every unfinished upload (the debris of a crash). Call at start-up
 * before any put: it also removes the temporary files of uploads in flight.
 * `removed` (may be NULL) receives the count.
 */
enum pc_status blob_sweep_temp(blob_store *store, size_t *removed,
			       struct pc_err *err) PC_WUR;

/*
 * Called by blob_list() once per key; any status but PC_OK stops the walk and
 * is returned by blob_list() (PC_STOP by convention).
 */
typedef enum pc_status (*blob_list_fn)(const char *key, void *ctx);

/*
 * Calls `fn` for every committed key, in no particular order. Keys committed
 * or deleted during the walk may or may not be seen.
 */
enum pc_status blob_list(blob_store *store, blob_list_fn fn, void *ctx,
			 struct pc_err *err) PC_WUR;

/* ---- back-end interface ------------------------------------------------- */

/*
 * What a back-end implements. `st`, `w` and `r` are the back-end's own
 * objects; store.c wraps them in the public handles and has already checked
 * every key. Contracts are those of the public functions above, except:
 * put_commit consumes `w` on every outcome; put_write is not called again
 * after it fails; reader_fd, writer_fd and put_start_sync may be NULL.
 */
struct blob_ops {
	const char *name;
	void (*close)(void *st);
	void *(*put_begin)(void *st, const char *key, struct pc_err *err);
	enum pc_status (*put_write)(void *w, const void *p, size_t n,
				    struct pc_err *err);
	enum pc_status (*put_commit)(void *w, struct pc_err *err);
	/* no sync, new keys only; NULL: put_commit serves */
	enum pc_status (*put_commit_deferred)(void *w, struct pc_err *err);
	int (*sync_fd)(void *st);               /* may be NULL: -1 */
	void (*put_abort)(void *w);
	int (*writer_fd)(void *w);              /* may be NULL */
	void (*put_start_sync)(void *w);        /* may be NULL */
	void *(*open)(void *st, const char *key, uint64_t *size,
		      struct pc_err *err);
	enum pc_status (*read)(void *r, void *p, size_t n, size_t *got,
			       struct pc_err *err);
	int (*reader_fd)(void *r);
	void (*reader_close)(void *r);
	enum pc_status (*exists)(void *st, const char *key, bool *exists,
				 struct pc_err *err);
	enum pc_status (*size)(void *st, const char *key, uint64_t *size,
			       struct pc_err *err);
	enum pc_status (*del)(void *st, const char *key, struct pc_err *err);
	enum pc_status (*sweep_temp)(void *st, size_t *removed,
				     struct pc_err *err);
	enum pc_status (*list)(void *st, blob_list_fn fn, void *ctx,
			       struct pc_err *err);
};

/*
 * For back-ends: wraps the back-end state `st` in a store. On failure (only
 * PC_NOMEM) calls ops->close(st) and returns NULL, so `st` is consumed either
 * way.
 */
blob_store *blob__store_create(const struct blob_ops *ops, void *st,
			       struct pc_err *err) PC_WUR;

#endif
