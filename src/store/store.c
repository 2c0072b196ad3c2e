/*
 * store.c - the blob store interface: key checks and dispatch to a back-end.
 *
 * DESIGN
 *
 * On disk (fs back-end, src/store/fs.c):
 *
 *   root/blobs/ab/ab0123...        committed blobs; one fan-out level from the
 *                                  first two key digits: 256 directories, all
 *                                  made when the store opens (so that no put
 *                                  pays a mkdir and a parent fsync), 40,000
 *                                  blobs each at ten million, which ext4's
 *                                  hashed directories look up in O(1)
 *   root/tmp/<key>.XXXXXX          uploads in progress (mkostemp, O_EXCL)
 *
 * root/tmp and root/blobs are on the same filesystem, so rename(2) between
 * them is atomic. Empty fan-out directories are never removed (removing them
 * would race with a concurrent put into them); they cost nothing.
 *
 * Durability: a put writes the bytes to the temporary file, renames it to
 * its final name with RENAME_NOREPLACE, fsync(2)s the file (data and size on
 * stable storage; on ext4 and XFS this journal commit carries the rename
 * too) and then its directory (the new entry on stable storage: a no-op
 * when the file's fsync already committed it). Only then does
 * blob_put_commit() return PC_OK and may the caller acknowledge the
 * instance. Naming the file before syncing it is safe because nothing
 * refers to a key before its put returns: a crash in between leaves a name
 * with possibly partial bytes and no index row, an orphan the sweep
 * removes. Replacing an existing key keeps the classic order (fsync, rename,
 * directory fsync) so that the old bytes survive until the new ones are
 * durable. A crash at any point therefore leaves either a temporary file
 * (removed by blob_sweep_temp() at start-up) or a blob without an index
 * row (an orphan, found through blob_list() by ingest's sweep); never an
 * index row without bytes, since the index commits after the blob.
 * Delete is unlink + fsync of the fan-out directory.
 *
 * Group durability (blob_put_commit_deferred): the rename only, no sync;
 * the caller (ingest's sync.c) makes a whole group durable with one
 * syncfs(2) of blob_store_sync_fd(), and checks the bytes of rows that a
 * crash may have cut off at the next start. Only for new keys.
 *
 * S3 back-end (later): put_begin = CreateMultipartUpload (or buffer up to
 * the part size and use one PutObject for small blobs); put_write = buffer to
 * the part size, UploadPart; put_commit = CompleteMultipartUpload (durable
 * when acknowledged: S3 PUTs are atomic and read-after-write consistent);
 * put_abort = AbortMultipartUpload; open = GetObject (HeadObject for the
 * size), read = the streamed response body, reader_fd = none (-1); exists and
 * size = HeadObject; delete = DeleteObject (HeadObject first for NOTFOUND);
 * list = ListObjectsV2 over the key prefix; sweep_temp = ListMultipartUploads
 * + AbortMultipartUpload (plus a bucket lifecycle rule as a back-stop).
 *
 * Thread-safety: this layer holds no mutable shared state; each back-end
 * documents its own (fs keeps only immutable paths in its store).
 */
#include "store/blob.h"

#include <string.h>

struct blob_store {
	const struct blob_ops *ops; /* the back-end */
	void *st;                   /* the back-end's state */
};

struct blob_writer {
	const struct blob_ops *ops;
	void *w;                    /* the back-end's writer */
	uint64_t n;                 /* bytes written so far */
	enum pc_status failed;      /* first write failure, sticky */
};

struct blob_reader {
	const struct blob_ops *ops;
	void *r;                    /* the back-end's reader */
	uint64_t size;              /* blob size at open */
};

enum pc_status blob_key_check(const char *key, struct pc_err *err)
{
	size_t n;

	if (key == NULL)
		return pc_err_set(err, PC_INVAL, 0, "blob key is missing");
	n = strnlen(key, BLOB_KEY_MAX + 1);
	if (n < BLOB_KEY_MIN || n > BLOB_KEY_MAX)
		return pc_err_set(err, PC_INVAL, 0,
				  "blob key must have %d to %d characters",
				  BLOB_KEY_MIN, BLOB_KEY_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = key[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return pc_err_set(err, PC_INVAL, i,
					  "blob key has a character other than "
					  "0-9 a-f at position %zu",
					  i);
	}
	return PC_OK;
}

blob_store *blob__store_create(const struct blob_ops *ops, void *st,
			       struct pc_err *err)
{
	blob_store *store = pc_malloc(sizeof(*store));

	if (store == NULL) {
		ops->close(st);
		pc_err_set(err, PC_NOMEM, 0, "out of memory opening blob store");
		return NULL;
	}
	store->ops = ops;
	store->st = st;
	return store;
}

void blob_store_close(blob_store *store)
{
	if (store == NULL)
		return;
	store->ops->close(store->st);
	pc_free(store);
}

const char *blob_store_backend(const blob_store *store)
{
	return store->ops->name;
}

blob_writer *blob_put_begin(blob_store *store, const char *key,
			    struct pc_err *err)
{
	blob_writer *w;

	if (blob_key_check(key, err) != PC_OK)
		return NULL;
	w = pc_malloc(sizeof(*w));
	if (w == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory storing blob %s",
			   key);
		return NULL;
	}
	w->ops = store->ops;
	w->n = 0;
	w->failed = PC_OK;
	w->w = store->ops->put_begin(store->st, key, err);
	if (w->w == NULL) {
		pc_free(w);
		return NULL;
	}
	return w;
}

enum pc_status blob_put_write(blob_writer *w, const void *p, size_t n,
			      struct pc_err *err)
{
	enum pc_status st;

	if (w->failed != PC_OK)
		return pc_err_set(err, w->failed, w->n,
				  "blob write after an earlier failure");
	if (n == 0)
		return PC_OK;
	st = w->ops->put_write(w->w, p, n, err);
	if (st != PC_OK) {
		w->failed = st;
		return st;
	}
	w->n += n;
	return PC_OK;
}

/* Commits `w` through the back-end's `commit` (which consumes its writer),
 * or aborts it after a failed write; frees `w` either way. */
static enum pc_status commit_with(blob_writer *w,
				  enum pc_status (*commit)(void *, struct pc_err *),
				  struct pc_err *err)
{
	enum pc_status st;

	if (w->failed != PC_OK) {
		st = pc_err_set(err, w->failed, w->n,
				"blob commit after a failed write");
		w->ops->put_abort(w->w);
	} else {
		st = commit(w->w, err);
	}
	pc_free(w);
	return st;
}

enum pc_status blob_put_commit(blob_writer *w, struct pc_err *err)
{
	return commit_with(w, w->ops->put_commit, err);
}

enum pc_status blob_put_commit_deferred(blob_writer *w, struct pc_err *err)
{
	return commit_with(w,
			   w->ops->put_commit_deferred != NULL
				   ? w->ops->put_commit_deferred
				   : w->ops->put_commit,
			   err);
}

int blob_store_sync_fd(const blob_store *store)
{
	return store->ops->sync_fd != NULL ? store->ops->sync_fd(store->st)
					   : -1;
}

void blob_put_abort(blob_writer *w)
{
	if (w == NULL)
		return;
	w->ops->put_abort(w->w);
	pc_free(w);
}

uint64_t blob_put_size(const blob_writer *w)
{
	return w->n;
}

enum pc_status blob_put(blob_store *store, const char *key, const void *p,
			size_t n, struct pc_err *err)
{
	struct pc_err local = {0};
	blob_writer *w;

	/* The status of a NULL return is only known through an error. */
	if (err == NULL)
		err = &local;
	w = blob_put_begin(store, key, err);
	if (w == NULL)
		return err->status;
	if (blob_put_write(w, p, n, err) != PC_OK) {
		enum pc_status st = w->failed;

		blob_put_abort(w);
		return st;
	}
	return blob_put_commit(w, err);
}

blob_reader *blob_open(blob_store *store, const char *key, struct pc_err *err)
{
	blob_reader *r;

	if (blob_key_check(key, err) != PC_OK)
		return NULL;
	r = pc_malloc(sizeof(*r));
	if (r == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory reading blob %s",
			   key);
		return NULL;
	}
	r->ops = store->ops;
	r->size = 0;
	r->r = store->ops->open(store->st, key, &r->size, err);
	if (r->r == NULL) {
		pc_free(r);
		return NULL;
	}
	return r;
}

enum pc_status blob_read(blob_reader *r, void *p, size_t n, size_t *got,
			 struct pc_err *err)
{
	*got = 0;
	if (n == 0)
		return PC_OK;
	return r->ops->read(r->r, p, n, got, err);
}

uint64_t blob_reader_size(const blob_reader *r)
{
	return r->size;
}

int blob_writer_fd(const blob_writer *w)
{
	if (w->failed != PC_OK || w->ops->writer_fd == NULL)
		return -1;
	return w->ops->writer_fd(w->w);
}

void blob_put_start_sync(blob_writer *w)
{
	if (w->failed == PC_OK && w->ops->put_start_sync != NULL)
		w->ops->put_start_sync(w->w);
}

int blob_reader_fd(const blob_reader *r)
{
	if (r->ops->reader_fd == NULL)
		return -1;
	return r->ops->reader_fd(r->r);
}

void blob_close(blob_reader *r)
{
	if (r == NULL)
		return;
	r->ops->reader_close(r->r);
	pc_free(r);
}

enum pc_status blob_exists(blob_store *store, const char *key, bool *exists,
			   struct pc_err *err)
{
	enum pc_status st;

	*exists = false;
	st = blob_key_check(key, err);
	if (st != PC_OK)
		return st;
	return store->ops->exists(store->st, key, exists, err);
}

enum pc_status blob_size(blob_store *store, const char *key, uint64_t *size,
			 struct pc_err *err)
{
	enum pc_status st;

	*size = 0;
	st = blob_key_check(key, err);
	if (st != PC_OK)
		return st;
	return store->ops->size(store->st, key, size, err);
}

enum pc_status blob_delete(blob_store *store, const char *key,
			   struct pc_err *err)
{
	enum pc_status st = blob_key_check(key, err);

	if (st != PC_OK)
		return st;
	return store->ops->del(store->st, key, err);
}

enum pc_status blob_sweep_temp(blob_store *store, size_t *removed,
			       struct pc_err *err)
{
	size_t dummy;

	if (removed == NULL)
		removed = &dummy;
	*removed = 0;
	return store->ops->sweep_temp(store->st, removed, err);
}

enum pc_status blob_list(blob_store *store, blob_list_fn fn, void *ctx,
			 struct pc_err *err)
{
	return store->ops->list(store->st, fn, ctx, err);
}
