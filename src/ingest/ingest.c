/*
 * ingest.c - the one path every receiver uses: stream the bytes into the blob
 * store while hashing them, commit, parse, validate, build the DICOM JSON
 * metadata, index, and only then report "stored". The durability argument is
 * in ingest.h.
 *
 * DESIGN
 *
 * Memory: an upload holds one pc_buf of 64 KiB that first batches small
 * writes (a STOW multipart parser or a C-STORE PDV stream hands over small
 * pieces; the fs back-end does one write(2) per call) and then, once the
 * bytes are committed, receives the JSON metadata, so that one allocation
 * serves both. The committed blob is mapped once (or, for ingest_buffer,
 * the caller's bytes are parsed in place: they are the stored bytes) and
 * parsed in full into the parser's arena; values are slices of the mapping,
 * so pixel data is never copied or even touched (the SHA-256 was computed
 * while streaming).
 *
 * Metadata (PS3.18 F.2): every binary value (OB OD OF OL OV OW UN) longer
 * than the bulk threshold, and the top-level Pixel Data / Float Pixel Data /
 * Double Float Pixel Data whatever their size, become BulkDataURI values
 * relative to the DICOMweb root (see ingest.h for the path format).
 * AvailableTransferSyntaxUID (0008,3002) is set in the parsed data set
 * before the JSON is written, so that it lands at its sorted place at the
 * cost of one arena element.
 *
 * Thread-safety: struct ingest is read-only after creation (the fetched
 * SHA-256 implementation is reference-counted and shareable by OpenSSL's
 * rules); each upload owns its writer, digest context and buffer.
 */
#include "ingest/ingest_int.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#define INGEST_WBUF 65536 /* write-behind buffer (bytes) */
/* Uploads up to this size are held in memory until the commit: one write
 * to the blob, and the parse reads the memory instead of mapping the file
 * (an mmap, a page fault per page and an munmap that flushes the other
 * threads' TLBs, per instance). Larger ones stream through INGEST_WBUF. */
#define INGEST_HOLD_MAX (1u << 20)
#define INGEST_BULK_DEFAULT 1024
#define INGEST_PATH_MAX 256 /* dcm_json_write's deepest path */
#define INGEST_URI_MAX 8192

#define TAG_MEDIA_SOP_INSTANCE DCM_TAG(0x0002, 0x0003)
#define TAG_SOP_CLASS DCM_TAG(0x0008, 0x0016)
#define TAG_SOP_INSTANCE DCM_TAG(0x0008, 0x0018)
#define TAG_AVAILABLE_TS DCM_TAG(0x0008, 0x3002)
#define TAG_STUDY DCM_TAG(0x0020, 0x000D)
#define TAG_SERIES DCM_TAG(0x0020, 0x000E)
#define TAG_FLOAT_PIXEL_DATA DCM_TAG(0x7FE0, 0x0008)
#define TAG_DOUBLE_PIXEL_DATA DCM_TAG(0x7FE0, 0x0009)

struct ingest {
	blob_store *store; /* borrowed */
	idx *index;        /* borrowed */
	EVP_MD *sha256;    /* fetched once: an implicit fetch per
	                      upload would take OpenSSL's store lock */
	bool allow_overwrite;
	size_t bulk_threshold;
	ingest_sync *sync; /* group durability; NULL: every step syncs */
};

/* The bulk callback's state: the URI is built in place after its fixed
 * "/studies/../bulkdata/" prefix. */
struct bulk_ctx {
	const dcm_dataset *root;
	size_t threshold;
	size_t prefix_len;
	size_t items[INGEST_PATH_MAX];
	char uri[INGEST_URI_MAX];
};

struct ingest_upload {
	ingest *ig;
	blob_writer *w; /* NULL once committed or aborted */
	EVP_MD_CTX *md;
	uint64_t max_size; /* 0 = unbounded */
	uint64_t n;        /* bytes accepted */
	enum pc_status st; /* first failure, sticky */
	bool too_large;
	struct pc_err why;  /* detail of `st` */
	struct pc_span mem; /* ingest_buffer: the bytes, in memory */
	struct pc_buf held; /* the bytes so far, while <= INGEST_HOLD_MAX */
	bool spilled;       /* held went to the blob: streaming via buf */
	struct pc_buf buf;  /* write-behind buffer, then the JSON */
	uint64_t sync_since; /* ingest__sync_generation before any write */
	struct bulk_ctx bulk;
	char handle[IDX_HANDLE_LEN + 1];
};

/* ---- small helpers ------------------------------------------------------ */

bool ingest__uid_valid(const char *s, size_t n)
{
	size_t i, start = 0;

	if (n == 0 || n > IDX_UID_MAX)
		return false;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			/* PS3.5 9.1: no empty component, no leading zero
			 * unless the component is "0". */
			if (i == start)
				return false;
			if (s[start] == '0' && i - start > 1)
				return false;
			start = i + 1;
		} else if (s[i] < '0' || s[i] > '9') {
			return false;
		}
	}
	return true;
}

/* Copies up to 64 bytes of untrusted text for a message, '?' for anything
 * that is not printable ASCII (messages reach JSON responses and logs). */
static const char *printable(const void *p, size_t n, char out[68])
{
	const uint8_t *s = p;
	size_t i, k = n > 64 ? 64 : n;

	for (i = 0; i < k; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7F) ? (char)s[i] : '?';
	if (n > k) {
		out[k++] = '.';
		out[k++] = '.';
	}
	out[k] = '\0';
	return out;
}

/* A UI value without its padding (PS3.5 6.2: trailing NUL; spaces are
 * common in the wild). */
static struct pc_span uid_trim(struct pc_span v)
{
	while (v.n > 0 && (v.p[v.n - 1] == '\0' || v.p[v.n - 1] == ' '))
		v.n--;
	return v;
}

enum uid_state { UID_OK, UID_ABSENT, UID_EMPTY, UID_BAD };

/* Reads a UI element's value into `out` (NUL-terminated) when valid; `raw`
 * receives the trimmed bytes whatever their validity. */
static enum uid_state uid_get(const dcm_dataset *ds, uint32_t tag,
                              char out[IDX_UID_MAX + 1], struct pc_span *raw)
{
	const dcm_elem *e = dcm_dataset_find(ds, tag);
	struct pc_span v;

	out[0] = '\0';
	raw->p = NULL;
	raw->n = 0;
	if (e == NULL)
		return UID_ABSENT;
	if (dcm_elem_is_sequence(e) || dcm_elem_is_encapsulated(e))
		return UID_BAD;
	v = uid_trim(dcm_elem_value(e));
	*raw = v;
	if (v.n == 0)
		return UID_EMPTY;
	if (!ingest__uid_valid((const char *)v.p, v.n))
		return UID_BAD;
	memcpy(out, v.p, v.n);
	out[v.n] = '\0';
	return UID_OK;
}

/* pc_err_set with a va_list (pc_err_vsetp wants a prefix). */
static void err_vset(struct pc_err *err, enum pc_status st, const char *fmt,
                     va_list ap) PC_PRINTF(3, 0);
static void err_vset(struct pc_err *err, enum pc_status st, const char *fmt,
                     va_list ap)
{
	char msg[sizeof(err->msg)];

	if (err == NULL || err->status != PC_OK)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pc_err_set(err, st, 0, "%s", msg);
}

/* Records why the instance is not stored: res->error and `err`. */
static enum pc_status refuse(struct ingest_result *res, struct pc_err *err,
                             enum ingest_error why, enum pc_status st,
                             const char *fmt, ...) PC_PRINTF(5, 6);
static enum pc_status refuse(struct ingest_result *res, struct pc_err *err,
                             enum ingest_error why, enum pc_status st,
                             const char *fmt, ...)
{
	va_list ap;

	res->error = why;
	va_start(ap, fmt);
	err_vset(err, st, fmt, ap);
	va_end(ap);
	return st;
}

/* ---- handles, create, destroy ------------------------------------------- */

enum pc_status ingest_new_handle(char out[IDX_HANDLE_LEN + 1],
                                 struct pc_err *err)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[IDX_HANDLE_LEN / 2];
	size_t got = 0;
	ssize_t k;

	out[0] = '\0';
	while (got < sizeof(rnd)) {
		k = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return pc_err_set(err, PC_IO, 0, "getrandom failed: %s",
			                  strerror(errno));
		}
		got += (size_t)k;
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 15];
	}
	out[IDX_HANDLE_LEN] = '\0';
	return PC_OK;
}

ingest *ingest_create(blob_store *store, idx *index,
                      const struct ingest_opts *opts, struct pc_err *err)
{
	ingest *ig;

	if (store == NULL || index == NULL) {
		pc_err_set(err, PC_INVAL, 0,
		           "ingest needs a blob store and an index");
		return NULL;
	}
	ig = pc_calloc(1, sizeof(*ig));
	if (ig == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	ig->store = store;
	ig->index = index;
	ig->bulk_threshold = INGEST_BULK_DEFAULT;
	if (opts != NULL) {
		ig->allow_overwrite = opts->allow_overwrite;
		if (opts->bulk_threshold != 0)
			ig->bulk_threshold = opts->bulk_threshold;
	}
	ig->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (ig->sha256 == NULL) {
		pc_err_set(err, PC_UNSUPPORTED, 0,
		           "OpenSSL offers no SHA-256 implementation");
		pc_free(ig);
		return NULL;
	}
	if ((opts == NULL || !opts->sync_each) &&
	    ingest__sync_create(store, index, &ig->sync, err) != PC_OK) {
		ingest_destroy(ig);
		return NULL;
	}
	return ig;
}

void ingest_destroy(ingest *ig)
{
	if (ig == NULL)
		return;
	ingest__sync_destroy(ig->sync);
	EVP_MD_free(ig->sha256);
	pc_free(ig);
}

/* ---- the sweep ---------------------------------------------------------- */

struct sweep_ctx {
	idx *index;
	char (*keys)[BLOB_KEY_MAX + 1]; /* orphans found by the walk */
	size_t n, cap;
	struct pc_err *err;
};

static enum pc_status sweep_one(const char *key, void *ctxp)
{
	struct sweep_ctx *c = ctxp;
	bool exists = false;
	enum pc_status st;

	st = idx_handle_exists(c->index, key, &exists, c->err);
	if (st != PC_OK || exists)
		return st;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64, bytes;
		void *p;

		if (!pc_mul_ok(cap, sizeof(*c->keys), &bytes))
			return pc_err_set(c->err, PC_NOMEM, 0, "out of memory");
		p = pc_realloc(c->keys, bytes);
		if (p == NULL)
			return pc_err_set(c->err, PC_NOMEM, 0, "out of memory");
		c->keys = p;
		c->cap = cap;
	}
	snprintf(c->keys[c->n++], sizeof(c->keys[0]), "%s", key);
	return PC_OK;
}

/* ---- the start-up check of unsynced rows (group mode, sync.c) ---------- */

struct recheck_ctx {
	struct idx_instance *v; /* rows above the durable mark */
	size_t n, cap;
};

static enum pc_status recheck_add(void *ctxp, const struct idx_instance *inst,
                                  const char *md, size_t len)
{
	struct recheck_ctx *c = ctxp;

	(void)md;
	(void)len;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16, bytes;
		void *p;

		if (!pc_mul_ok(cap, sizeof(*c->v), &bytes))
			return PC_NOMEM;
		p = pc_realloc(c->v, bytes);
		if (p == NULL)
			return PC_NOMEM;
		c->v = p;
		c->cap = cap;
	}
	c->v[c->n++] = *inst;
	return PC_OK;
}

/* Whether the blob of `inst` holds exactly the bytes its row describes. */
static bool blob_intact(ingest *ig, const struct idx_instance *inst)
{
	uint8_t buf[65536], sha[32];
	unsigned sha_len = 0;
	blob_reader *r = blob_open(ig->store, inst->handle, NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t total = 0;
	bool ok = false;
	size_t got;

	if (r == NULL || md == NULL || blob_reader_size(r) != inst->size ||
	    EVP_DigestInit_ex(md, ig->sha256, NULL) != 1)
		goto out;
	for (;;) {
		if (blob_read(r, buf, sizeof(buf), &got, NULL) != PC_OK)
			goto out;
		if (got == 0)
			break;
		total += got;
		if (EVP_DigestUpdate(md, buf, got) != 1)
			goto out;
	}
	ok = total == inst->size && EVP_DigestFinal_ex(md, sha, &sha_len) == 1 &&
	     sha_len == 32 && memcmp(sha, inst->sha256, 32) == 0;
out:
	EVP_MD_CTX_free(md);
	blob_close(r);
	return ok;
}

/*
 * Rows committed after the last sync known to have finished may name
 * bytes a crash did not keep (sync.c): each is compared with its blob,
 * and a row whose blob is missing, short or different is deleted (it was
 * never acknowledged). Its blob, if any, is left for the orphan sweep.
 */
static enum pc_status recheck(ingest *ig, struct pc_err *err)
{
	struct recheck_ctx c = {NULL, 0, 0};
	struct pc_err e;
	enum pc_status st;

	st = idx_undurable_each(ig->index, recheck_add, &c, err);
	if (st == PC_NOMEM)
		pc_err_set(err, st, 0, "out of memory");
	for (size_t i = 0; st == PC_OK && i < c.n; i++) {
		const struct idx_instance *in = &c.v[i];

		if (blob_intact(ig, in))
			continue;
		pc_err_clear(&e);
		st = idx_delete(ig->index, in->study_uid, in->series_uid,
		                in->sop_uid, NULL, NULL, &e);
		if (st == PC_NOTFOUND) {
			st = PC_OK;
			continue;
		}
		if (st != PC_OK) {
			pc_err_set(err, st, 0, "%s", e.msg);
			break;
		}
		pc_log(PC_LOG_WARN,
		       "ingest sweep: instance %s was cut off by a crash "
		       "before it was acknowledged; its row is removed",
		       in->sop_uid);
	}
	/* The rows read back intact may still be only in the page cache (a
	 * process crash, not a power loss): synced before the mark moves. */
	if (st == PC_OK && ig->sync != NULL)
		st = ingest__sync_wait(ig->sync, 0, 0, err);
	else if (st == PC_OK && c.n > 0)
		sync();
	if (st == PC_OK)
		idx_durable_set(ig->index, idx_last_seq(ig->index));
	pc_free(c.v);
	return st;
}

enum pc_status ingest_sweep(ingest *ig, size_t *temp_removed,
                            size_t *orphans_removed, struct pc_err *err)
{
	struct sweep_ctx c = {ig->index, NULL, 0, 0, err};
	enum pc_status st, dst;
	struct pc_err derr;
	size_t removed = 0, i;

	if (temp_removed != NULL)
		*temp_removed = 0;
	if (orphans_removed != NULL)
		*orphans_removed = 0;
	st = blob_sweep_temp(ig->store, temp_removed, err);
	if (st != PC_OK)
		return st;
	st = recheck(ig, err);
	if (st != PC_OK)
		return st;
	/* Orphans are collected during the walk and deleted after it, so the
	 * walk never sees the directories change under it. */
	st = blob_list(ig->store, sweep_one, &c, err);
	if (st != PC_OK)
		goto out;
	for (i = 0; i < c.n; i++) {
		pc_err_clear(&derr);
		dst = blob_delete(ig->store, c.keys[i], &derr);
		if (dst == PC_OK) {
			removed++;
			pc_log(PC_LOG_INFO,
			       "ingest sweep: removed orphan blob %s",
			       c.keys[i]);
		} else if (dst != PC_NOTFOUND && st == PC_OK) {
			st = pc_err_set(err, dst, 0, "%s", derr.msg);
		}
	}
out:
	pc_free(c.keys);
	if (orphans_removed != NULL)
		*orphans_removed = removed;
	return st;
}

/* ---- uploads ------------------------------------------------------------ */

/* Makes the upload fail for good: records the first failure and discards
 * the partial blob now (an over-large upload stops costing disk at once). */
static enum pc_status upload_fail(ingest_upload *u, enum pc_status st,
                                  const char *fmt, ...) PC_PRINTF(3, 4);
static enum pc_status upload_fail(ingest_upload *u, enum pc_status st,
                                  const char *fmt, ...)
{
	va_list ap;

	if (u->st == PC_OK) {
		u->st = st;
		va_start(ap, fmt);
		err_vset(&u->why, st, fmt, ap);
		va_end(ap);
	}
	blob_put_abort(u->w);
	u->w = NULL;
	return u->st;
}

ingest_upload *ingest_begin(ingest *ig, uint64_t max_size, struct pc_err *err)
{
	ingest_upload *u = pc_malloc(sizeof(*u));

	if (u == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	memset(u, 0, offsetof(struct ingest_upload, bulk));
	u->ig = ig;
	u->max_size = max_size;
	if (ig->sync != NULL)
		u->sync_since = ingest__sync_generation(ig->sync);
	pc_buf_init(&u->buf);
	pc_buf_init(&u->held);
	if (ingest_new_handle(u->handle, err) != PC_OK)
		goto fail;
	u->md = EVP_MD_CTX_new();
	if (u->md == NULL || EVP_DigestInit_ex(u->md, ig->sha256, NULL) != 1) {
		pc_err_set(err, PC_NOMEM, 0, "cannot start a SHA-256 digest");
		goto fail;
	}
	u->w = blob_put_begin(ig->store, u->handle, err);
	if (u->w == NULL)
		goto fail;
	return u;
fail:
	EVP_MD_CTX_free(u->md);
	pc_free(u);
	return NULL;
}

/* Writes `b` to the blob and empties it. */
static enum pc_status write_out(ingest_upload *u, struct pc_buf *b)
{
	struct pc_err e;
	enum pc_status st;

	if (u->st != PC_OK || b->n == 0)
		return u->st;
	pc_err_clear(&e);
	st = blob_put_write(u->w, b->p, b->n, &e);
	b->n = 0;
	if (st != PC_OK)
		return upload_fail(u, st, "%s", e.msg);
	return PC_OK;
}

/* Everything accepted goes to the blob. Held bytes stay in memory as the
 * bytes to parse (u->mem). */
static enum pc_status flush(ingest_upload *u)
{
	size_t n = u->held.n;

	if (n > 0 && write_out(u, &u->held) == PC_OK)
		u->mem = pc_span_make(u->held.p, n);
	return write_out(u, &u->buf);
}

/* Holds `p` if the upload still fits in memory; false once it does not
 * (then what was held has gone to the blob). */
static bool hold(ingest_upload *u, const void *p, size_t n)
{
	if (u->spilled || u->mem.p != NULL)
		return false;
	if (n <= INGEST_HOLD_MAX - u->held.n) {
		/* The first reserve covers most instances at once. */
		if (u->held.p == NULL)
			(void)pc_buf_reserve(&u->held, INGEST_WBUF);
		pc_buf_append(&u->held, p, n);
		if (pc_buf_status(&u->held) != PC_OK)
			upload_fail(u, PC_NOMEM, "out of memory");
		return true;
	}
	u->spilled = true;
	(void)write_out(u, &u->held);
	pc_buf_cleanup(&u->held);
	return false;
}

enum pc_status ingest_write(ingest_upload *u, const void *p, size_t n,
                            struct pc_err *err)
{
	struct pc_err e;
	enum pc_status st;

	if (u->st != PC_OK)
		goto failed;
	if (n == 0)
		return PC_OK;
	if (u->max_size != 0 && (n > u->max_size || u->n > u->max_size - n)) {
		u->too_large = true;
		upload_fail(u, PC_LIMIT,
		            "instance larger than the limit of %llu bytes",
		            (unsigned long long)u->max_size);
		goto failed;
	}
	if (EVP_DigestUpdate(u->md, p, n) != 1) {
		upload_fail(u, PC_IO, "SHA-256 update failed");
		goto failed;
	}
	u->n += n;
	bool held = hold(u, p, n);
	if (u->st != PC_OK)
		goto failed;
	if (held)
		return PC_OK;
	if (n < INGEST_WBUF - u->buf.n) {
		/* The first reserve sizes the buffer once for good. */
		if (u->buf.p == NULL)
			(void)pc_buf_reserve(&u->buf, INGEST_WBUF - 1);
		pc_buf_append(&u->buf, p, n);
		if (pc_buf_status(&u->buf) != PC_OK) {
			upload_fail(u, PC_NOMEM, "out of memory");
			goto failed;
		}
		return PC_OK;
	}
	if (flush(u) != PC_OK)
		goto failed;
	pc_err_clear(&e);
	st = blob_put_write(u->w, p, n, &e);
	if (st != PC_OK) {
		upload_fail(u, st, "%s", e.msg);
		goto failed;
	}
	return PC_OK;
failed:
	return pc_err_set(err, u->st, 0, "%s", u->why.msg);
}

void ingest_abort(ingest_upload *u)
{
	if (u == NULL)
		return;
	blob_put_abort(u->w);
	EVP_MD_CTX_free(u->md);
	pc_buf_cleanup(&u->buf);
	pc_buf_cleanup(&u->held);
	pc_free(u);
}

/* ---- bulk data URIs ----------------------------------------------------- */

/* The item of `seq` whose elements span input offset `off`: the last item
 * whose first element starts at or before it (items lie in file order).
 * Empty items hold nothing and are stepped over. SIZE_MAX if none. */
static size_t item_at_offset(const dcm_elem *seq, uint64_t off)
{
	size_t lo = 0, hi = dcm_elem_item_count(seq), mid, j, best = SIZE_MAX;
	const dcm_dataset *it;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		j = mid + 1;
		it = NULL;
		while (j > lo) {
			it = dcm_elem_item(seq, j - 1);
			if (dcm_dataset_count(it) > 0)
				break;
			it = NULL;
			j--;
		}
		if (it == NULL) {
			lo = mid + 1;
			continue;
		}
		j--; /* the non-empty item at or before mid */
		if (dcm_elem_offset(dcm_dataset_at(it, 0)) <= off) {
			best = j;
			lo = mid + 1;
		} else {
			hi = j;
		}
	}
	return best;
}

/* Tries every item: correct whatever the offsets say, O(items) per call. */
static bool locate_walk(const dcm_dataset *ds, const uint32_t *path,
                        size_t depth, const dcm_elem *e, size_t *items)
{
	const dcm_elem *x = dcm_dataset_find(ds, path[0]);
	size_t i, n;

	if (x == NULL)
		return false;
	if (depth == 1)
		return x == e;
	if (!dcm_elem_is_sequence(x))
		return false;
	n = dcm_elem_item_count(x);
	for (i = 0; i < n; i++) {
		items[0] = i;
		if (locate_walk(dcm_elem_item(x, i), path + 1, depth - 1, e,
		                items + 1))
			return true;
	}
	return false;
}

bool ingest__locate(const dcm_dataset *root, const uint32_t *path, size_t depth,
                    const dcm_elem *e, size_t *items)
{
	const dcm_dataset *ds = root;
	uint64_t off = dcm_elem_offset(e);
	const dcm_elem *x;
	size_t k, i;

	if (depth == 0)
		return false;
	for (k = 0; k + 1 < depth; k++) {
		x = dcm_dataset_find(ds, path[k]);
		if (x == NULL || !dcm_elem_is_sequence(x))
			return false;
		i = item_at_offset(x, off);
		if (i == SIZE_MAX)
			break;
		items[k] = i;
		ds = dcm_elem_item(x, i);
	}
	if (k + 1 == depth && dcm_dataset_find(ds, path[k]) == e)
		return true;
	return locate_walk(root, path, depth, e, items);
}

/* The value's size as the JSON writer counts it: encapsulated pixel data
 * with its item headers (PS3.5 A.4). Saturates instead of wrapping. */
static size_t bulk_len(const dcm_elem *e)
{
	size_t len, i, n;

	if (!dcm_elem_is_encapsulated(e))
		return dcm_elem_value(e).n;
	len = 8 + dcm_elem_offset_table(e).n;
	n = dcm_elem_fragment_count(e);
	for (i = 0; i < n; i++)
		if (!pc_add_ok(len, 8 + dcm_elem_fragment(e, i).n, &len))
			return SIZE_MAX;
	return len;
}

static bool is_pixel_tag(uint32_t tag)
{
	return tag == DCM_TAG_PIXEL_DATA || tag == TAG_FLOAT_PIXEL_DATA ||
	       tag == TAG_DOUBLE_PIXEL_DATA;
}

/* dcm_json_bulk_fn: the URI of a bulk value, or NULL to inline it. */
static const char *bulk_uri(void *ctxp, const uint32_t *path, size_t depth,
                            const dcm_elem *e)
{
	static const char hex[] = "0123456789ABCDEF";
	struct bulk_ctx *b = ctxp;
	size_t pos = b->prefix_len, k, d;
	int w;

	if (depth == 0 || depth > INGEST_PATH_MAX)
		return NULL;
	if (!(depth == 1 && is_pixel_tag(path[0])) &&
	    bulk_len(e) <= b->threshold)
		return NULL;
	if (depth > 1 && !ingest__locate(b->root, path, depth, e, b->items))
		return NULL; /* cannot happen: inline rather than lie */
	for (k = 0; k < depth; k++) {
		if (k > 0) {
			w = snprintf(b->uri + pos, sizeof(b->uri) - pos,
			             "/%zu/", b->items[k - 1]);
			if (w < 0 || (size_t)w >= sizeof(b->uri) - pos)
				return NULL;
			pos += (size_t)w;
		}
		if (sizeof(b->uri) - pos < 9)
			return NULL;
		for (d = 0; d < 8; d++)
			b->uri[pos++] = hex[(path[k] >> (28 - 4 * d)) & 15];
	}
	b->uri[pos] = '\0';
	return b->uri;
}

/* ---- commit ------------------------------------------------------------- */

/* The bytes to parse: the caller's (ingest_buffer) or the committed blob,
 * mapped when the back-end has a descriptor, else read into memory. */
static enum pc_status load(ingest_upload *u, const uint8_t **data, void **map,
                           uint8_t **copy, struct pc_err *err)
{
	blob_reader *r;
	uint64_t size;
	size_t got, off = 0;
	enum pc_status st = PC_OK;
	int fd;

	if (u->mem.p != NULL) {
		*data = u->mem.p;
		return PC_OK;
	}
	r = blob_open(u->ig->store, u->handle, err);
	if (r == NULL)
		return err->status != PC_OK ? err->status : PC_IO;
	size = blob_reader_size(r);
	if (size != u->n || size > SIZE_MAX) {
		st = pc_err_set(err, PC_IO, 0,
		                "blob %s holds %llu bytes, %llu were written",
		                u->handle, (unsigned long long)size,
		                (unsigned long long)u->n);
		goto out;
	}
	fd = blob_reader_fd(r);
	if (fd >= 0) {
		*map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (*map == MAP_FAILED) {
			*map = NULL;
			st = pc_err_set(err, PC_IO, 0, "cannot map blob %s: %s",
			                u->handle, strerror(errno));
			goto out;
		}
		*data = *map;
		goto out;
	}
	*copy = pc_malloc((size_t)size);
	if (*copy == NULL) {
		st = pc_err_set(err, PC_NOMEM, 0, "out of memory");
		goto out;
	}
	while (off < size) {
		st = blob_read(r, *copy + off, (size_t)size - off, &got, err);
		if (st != PC_OK)
			goto out;
		if (got == 0) {
			st = pc_err_set(err, PC_IO, 0, "blob %s is truncated",
			                u->handle);
			goto out;
		}
		off += got;
	}
	*data = *copy;
out:
	blob_close(r);
	return st;
}

/* The four UIDs every instance needs, in the order they are reported. */
static const struct {
	uint32_t tag;
	const char *name;
	size_t field;
} required_uids[] = {
    {TAG_SOP_CLASS, "SOPClassUID (0008,0016)",
     offsetof(struct ingest_result, sop_class_uid)},
    {TAG_SOP_INSTANCE, "SOPInstanceUID (0008,0018)",
     offsetof(struct ingest_result, sop_uid)},
    {TAG_STUDY, "StudyInstanceUID (0020,000D)",
     offsetof(struct ingest_result, study_uid)},
    {TAG_SERIES, "SeriesInstanceUID (0020,000E)",
     offsetof(struct ingest_result, series_uid)},
};

/* What step 3 leaves for step 4: the parsed instance (its values are
 * slices of the bytes, which must stay mapped) and its stored syntax; the
 * metadata JSON is in u->buf. */
struct prepared {
	dcm_file *f;
	char ts_uid[IDX_UID_MAX + 1];
};

/* Step 3: parse, validate, build the metadata. On failure the result says
 * why and nothing needs undoing; on success p->f is the caller's. */
static enum pc_status prepare(ingest_upload *u, const uint8_t *data,
                              const char *expected_study,
                              struct ingest_result *res, struct prepared *p,
                              struct pc_err *err)
{
	ingest *ig = u->ig;
	enum uid_state us[4], ms;
	struct pc_span raw[4], mraw;
	struct pc_err e;
	struct dcm_json_opts jo;
	char *ts_uid = p->ts_uid, tmp[IDX_UID_MAX + 1], p1[68];
	const struct dcm_ts *ts;
	dcm_file *f = NULL;
	dcm_dataset *ds;
	enum pc_status st;
	size_t i;
	int w;

	p->f = NULL;
	/* Full parse, not header-only: elements after the pixel data stay
	 * in the metadata, and values are slices of `data`. */
	pc_err_clear(&e);
	f = dcm_file_parse(data, (size_t)u->n, NULL, &e);
	if (f == NULL) {
		if (e.status == PC_NOMEM)
			return refuse(res, err, INGEST_STORAGE, PC_NOMEM,
			              "out of memory parsing the instance");
		st = e.status != PC_OK ? e.status : PC_PARSE;
		pc_err_set(err, st, e.offset, "not a DICOM instance: %s",
		           e.msg);
		res->error = INGEST_NOT_DICOM;
		return st;
	}
	ds = dcm_file_dataset(f);

	/* UIDs are copied into the result first so that even a refusal can
	 * name them (STOW-RS FailedSOPSequence). */
	for (i = 0; i < 4; i++)
		us[i] = uid_get(ds, required_uids[i].tag,
		                (char *)res + required_uids[i].field, &raw[i]);
	for (i = 0; i < 4; i++) {
		const char *name = required_uids[i].name;

		if (us[i] == UID_ABSENT) {
			st = refuse(res, err, INGEST_MISSING_UID, PC_INVAL,
			            "%s is missing", name);
			goto out;
		}
		if (us[i] == UID_EMPTY) {
			st = refuse(res, err, INGEST_MISSING_UID, PC_INVAL,
			            "%s is empty", name);
			goto out;
		}
		if (us[i] == UID_BAD) {
			st = refuse(res, err, INGEST_MISSING_UID, PC_INVAL,
			            "%s '%s' is not a valid UID", name,
			            printable(raw[i].p, raw[i].n, p1));
			goto out;
		}
	}
	/*
	 * PS3.10 7.1: the meta's Media Storage SOP Instance UID names the
	 * instance. A file whose meta names another instance is refused (as
	 * dcm4chee does): serving it back would hand out a meta that
	 * contradicts the data set.
	 */
	ms = uid_get(dcm_file_meta(f), TAG_MEDIA_SOP_INSTANCE, tmp, &mraw);
	if (ms != UID_ABSENT && ms != UID_EMPTY &&
	    (mraw.n != strlen(res->sop_uid) ||
	     memcmp(mraw.p, res->sop_uid, mraw.n) != 0)) {
		st = refuse(res, err, INGEST_MISSING_UID, PC_INVAL,
		            "MediaStorageSOPInstanceUID (0002,0003) '%s' "
		            "differs from SOPInstanceUID (0008,0018) '%s'",
		            printable(mraw.p, mraw.n, p1), res->sop_uid);
		goto out;
	}
	if (expected_study != NULL && expected_study[0] != '\0' &&
	    strcmp(expected_study, res->study_uid) != 0) {
		st = refuse(
		    res, err, INGEST_STUDY_MISMATCH, PC_INVAL,
		    "instance belongs to study %s, not to study %s "
		    "named by the request",
		    res->study_uid,
		    printable(expected_study, strlen(expected_study), p1));
		goto out;
	}

	/* The stored syntax is the one the meta names, even one the parser
	 * only tolerated; else the one detected from the data. */
	ms = uid_get(dcm_file_meta(f), DCM_TAG_TRANSFER_SYNTAX, ts_uid, &mraw);
	if (ms != UID_OK) {
		ts = dcm_file_ts(f);
		snprintf(ts_uid, sizeof(p->ts_uid), "%s",
		         ts != NULL ? ts->uid : dcm_ts_explicit_le.uid);
	}
	/* PS3.18 10.4.1.2: tells clients how the instance is stored. */
	if (dcm_dataset_set(ds, TAG_AVAILABLE_TS, DCM_VR_UI, ts_uid,
	                    strlen(ts_uid)) != PC_OK) {
		st = refuse(res, err, INGEST_STORAGE, PC_NOMEM,
		            "out of memory building the metadata");
		goto out;
	}

	u->bulk.root = ds;
	u->bulk.threshold = ig->bulk_threshold;
	w = snprintf(u->bulk.uri, sizeof(u->bulk.uri),
	             "/studies/%s/series/%s/instances/%s/bulkdata/",
	             res->study_uid, res->series_uid, res->sop_uid);
	u->bulk.prefix_len = (size_t)w; /* UIDs are short: always fits */
	memset(&jo, 0, sizeof(jo));
	jo.bulk = bulk_uri;
	jo.bulk_ctx = &u->bulk;
	jo.bulk_threshold = 0; /* bulk_uri applies the threshold itself */
	jo.skip_group_length = true;
	pc_buf_reset(&u->buf);
	pc_err_clear(&e);
	st = dcm_json_write(ds, &jo, &u->buf, &e);
	if (st == PC_OK)
		st = pc_buf_status(&u->buf);
	if (st != PC_OK) {
		if (st == PC_NOMEM)
			st = refuse(res, err, INGEST_STORAGE, st,
			            "out of memory building the metadata");
		else
			st = refuse(res, err, INGEST_NOT_DICOM, st,
			            "cannot build the metadata: %s",
			            e.msg[0] ? e.msg : pc_status_text(st));
		goto out;
	}

	p->f = f;
	return PC_OK;
out:
	dcm_file_destroy(f);
	return st;
}

/* Makes what was committed so far durable (group mode; a no-op
 * otherwise); `seq` as for ingest__sync_wait. */
static enum pc_status make_durable(ingest_upload *u, int64_t seq,
                                   struct ingest_result *res,
                                   struct pc_err *err)
{
	struct pc_err e;

	if (u->ig->sync == NULL)
		return PC_OK;
	pc_err_clear(&e);
	if (ingest__sync_wait(u->ig->sync, seq, u->sync_since, &e) == PC_OK)
		return PC_OK;
	return refuse(res, err, INGEST_STORAGE, e.status, "%s", e.msg);
}

/* Step 4: the index transaction, then (group mode) the sync that makes it
 * and the blob durable. Sets *keep when the new blob is named by the index
 * afterwards. */
static enum pc_status publish(ingest_upload *u, const struct prepared *pr,
                              const uint8_t sha[32], struct ingest_result *res,
                              bool *keep, struct pc_err *err)
{
	ingest *ig = u->ig;
	struct pc_err e;
	struct idx_put put;
	struct idx_instance ex;
	enum idx_put_outcome outcome;
	char p2[68];
	enum pc_status st;

	*keep = false;
	memset(&put, 0, sizeof(put));
	put.ds = dcm_file_dataset(pr->f);
	put.handle = u->handle;
	put.ts_uid = pr->ts_uid;
	put.size = u->n;
	put.sha256 = sha;
	put.metadata = u->buf.p;
	put.metadata_len = u->buf.n;
	put.allow_overwrite = ig->allow_overwrite;
	put.blob_durable = ig->sync == NULL;
again:
	memset(&ex, 0, sizeof(ex));
	pc_err_clear(&e);
	st = idx_instance_put(ig->index, &put, &outcome, &ex, &e);
	if (st != PC_OK) {
		refuse(res, err, INGEST_STORAGE, st, "index: %s", e.msg);
		goto out;
	}
	switch (outcome) {
	case IDX_PUT_NEW:
		*keep = true;
		st = make_durable(u, 0, res, err);
		if (st != PC_OK)
			goto out;
		break;
	case IDX_PUT_SAME:
		/* The same bytes are stored: the new copy goes (once the
		 * stored one is durable, if a concurrent upload just put
		 * it). */
		res->duplicate = true;
		snprintf(res->handle, sizeof(res->handle), "%s", ex.handle);
		st = make_durable(u, ex.seq, res, err);
		if (st != PC_OK)
			goto out;
		break;
	case IDX_PUT_NEED_DURABLE:
		/* The old instance's row must never depend on unsynced
		 * bytes: sync the new blob, then replace. */
		st = make_durable(u, 0, res, err);
		if (st != PC_OK)
			goto out;
		put.blob_durable = true;
		goto again;
	case IDX_PUT_REPLACED:
		*keep = true;
		res->replaced = true;
		/* The old bytes go only once the new row is durable. */
		st = make_durable(u, 0, res, err);
		if (st != PC_OK)
			goto out;
		pc_err_clear(&e);
		if (blob_delete(ig->store, ex.handle, &e) != PC_OK &&
		    e.status != PC_NOTFOUND)
			pc_log(PC_LOG_WARN,
			       "ingest: replaced blob %s not deleted (left "
			       "for the sweep): %s",
			       ex.handle, e.msg);
		break;
	case IDX_PUT_CONFLICT:
	default:
		if (strcmp(ex.study_uid, res->study_uid) != 0)
			st = refuse(
			    res, err, INGEST_STUDY_MISMATCH, PC_INVAL,
			    "SOP Instance UID %s is already stored in "
			    "study %s",
			    res->sop_uid,
			    printable(ex.study_uid, strlen(ex.study_uid), p2));
		else if (strcmp(ex.series_uid, res->series_uid) != 0)
			st = refuse(res, err, INGEST_STUDY_MISMATCH, PC_INVAL,
			            "SOP Instance UID %s is already stored in "
			            "series %s",
			            res->sop_uid,
			            printable(ex.series_uid,
			                      strlen(ex.series_uid), p2));
		else
			st = refuse(res, err, INGEST_DUPLICATE, PC_INVAL,
			            "SOP Instance UID %s is already stored "
			            "with other content",
			            res->sop_uid);
		goto out;
	}
	if (!res->duplicate)
		snprintf(res->handle, sizeof(res->handle), "%s", u->handle);
	res->error = INGEST_OK;
	st = PC_OK;
out:
	return st;
}

/* The uploaded bytes before the commit: the caller's (ingest_buffer) or
 * the writer's file mapped. NULL data when the back-end has no descriptor
 * (then they are read back after the commit, see load()). */
static enum pc_status map_pending(ingest_upload *u, const uint8_t **data,
                                  void **map, struct pc_err *err)
{
	int fd;

	*data = NULL;
	if (u->mem.p != NULL) {
		*data = u->mem.p;
		return PC_OK;
	}
	fd = blob_writer_fd(u->w);
	if (fd < 0 || u->n > SIZE_MAX)
		return PC_OK;
	*map = mmap(NULL, (size_t)u->n, PROT_READ, MAP_SHARED, fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return pc_err_set(err, PC_IO, 0, "cannot map upload %s: %s",
		                  u->handle, strerror(errno));
	}
	*data = *map;
	return PC_OK;
}

/*
 * The same SOP Instance UID already stored with the same bytes: an
 * idempotent repeat, answered without making the new copy durable at all.
 * (The index decides again under its lock if two copies race.)
 */
static bool already_stored(ingest_upload *u, const uint8_t sha[32],
                           struct ingest_result *res, int64_t *seq)
{
	struct idx_instance ex;

	if (idx_instance_by_uid(u->ig->index, res->sop_uid, &ex, NULL) !=
	        PC_OK ||
	    memcmp(ex.sha256, sha, 32) != 0 ||
	    strcmp(ex.study_uid, res->study_uid) != 0 ||
	    strcmp(ex.series_uid, res->series_uid) != 0)
		return false;
	res->duplicate = true;
	res->error = INGEST_OK;
	snprintf(res->handle, sizeof(res->handle), "%s", ex.handle);
	*seq = ex.seq;
	return true;
}

/*
 * Steps 2-4. Where the upload can be read before it is committed (held in
 * memory, or the fs store's file mapped), step 3 runs first, overlapping
 * the writeback the commit then waits for, and an invalid upload (with
 * per-file syncs, a repeated one too) is dropped without ever being made
 * durable. Otherwise the bytes are committed, read back and then checked.
 */
enum pc_status ingest_commit(ingest_upload *u, const char *expected_study,
                             struct ingest_result *res, struct pc_err *err)
{
	struct ingest_result local;
	struct pc_err why, e;
	struct prepared pr = {0};
	uint8_t sha[32];
	unsigned sha_len = 0;
	const uint8_t *data = NULL;
	void *map = NULL;
	uint8_t *copy = NULL;
	blob_writer *w;
	bool committed = false, keep = false;
	int64_t seq = 0;
	enum pc_status st;

	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	res->size = u->n;
	pc_err_clear(&why);
	(void)flush(u);
	if (u->st != PC_OK) {
		st = refuse(res, &why,
		            u->too_large ? INGEST_TOO_LARGE : INGEST_STORAGE,
		            u->st, "%s", u->why.msg);
		goto out;
	}
	if (EVP_DigestFinal_ex(u->md, sha, &sha_len) != 1 || sha_len != 32) {
		st = refuse(res, &why, INGEST_STORAGE, PC_IO,
		            "SHA-256 computation failed");
		goto out;
	}
	if (u->n == 0) {
		st = refuse(res, &why, INGEST_NOT_DICOM, PC_PARSE,
		            "empty body: not a DICOM instance");
		goto out;
	}
	/* Per-file syncs: start the writeback now, the fsync at the commit
	 * then waits less. Group mode skips it: the syncfs after the index
	 * commit writes the blob anyway, and starting it here cost ~40 us of
	 * I/O submission per instance on the critical path for no shorter
	 * sync (bench/README.md, "C-STORE"). */
	if (u->ig->sync == NULL)
		blob_put_start_sync(u->w);
	pc_err_clear(&e);
	st = map_pending(u, &data, &map, &e);
	if (st != PC_OK) {
		refuse(res, &why, INGEST_STORAGE, st, "%s", e.msg);
		goto out;
	}
	if (data != NULL) {
		st = prepare(u, data, expected_study, res, &pr, &why);
		if (st != PC_OK)
			goto out;
		/* Group mode leaves repeats to the put (IDX_PUT_SAME): the
		 * new copy then costs a rename and an unlink, less than this
		 * lookup costs every new instance. */
		if (u->ig->sync == NULL && already_stored(u, sha, res, &seq)) {
			/* Acknowledged only once durable, like a new one. */
			st = make_durable(u, seq, res, &why);
			goto out;
		}
	}
	/* Step 2: named before the index names it; durable before that
	 * (synchronous mode) or with the index row (group mode: publish). */
	w = u->w;
	u->w = NULL;
	pc_err_clear(&e);
	st = u->ig->sync != NULL ? blob_put_commit_deferred(w, &e)
	                         : blob_put_commit(w, &e);
	committed = true; /* even a failed commit may leave the bytes */
	if (st != PC_OK) {
		refuse(res, &why, INGEST_STORAGE, st, "%s", e.msg);
		goto out;
	}
	if (data == NULL) {
		pc_err_clear(&e);
		st = load(u, &data, &map, &copy, &e);
		if (st != PC_OK) {
			refuse(res, &why, INGEST_STORAGE, st, "%s", e.msg);
			goto out;
		}
		st = prepare(u, data, expected_study, res, &pr, &why);
		if (st != PC_OK)
			goto out;
	}
	st = publish(u, &pr, sha, res, &keep, &why);
out:
	dcm_file_destroy(pr.f);
	if (map != NULL)
		munmap(map, (size_t)u->n);
	pc_free(copy);
	if (committed && !keep) {
		pc_err_clear(&e);
		if (blob_delete(u->ig->store, u->handle, &e) != PC_OK &&
		    e.status != PC_NOTFOUND)
			pc_log(PC_LOG_WARN,
			       "ingest: blob %s not deleted (left for the "
			       "sweep): %s",
			       u->handle, e.msg);
	}
	if (st != PC_OK) {
		if (res->error == INGEST_OK)
			res->error = INGEST_STORAGE; /* cannot happen */
		if (res->error == INGEST_STORAGE)
			pc_log(PC_LOG_ERROR,
			       "ingest: instance %s not stored: %s",
			       res->sop_uid[0] ? res->sop_uid : u->handle,
			       why.msg);
		pc_err_set(err, st, why.offset, "%s", why.msg);
	}
	ingest_abort(u); /* aborts the writer when it was not committed */
	return st;
}

enum pc_status ingest_buffer(ingest *ig, const void *p, size_t n,
                             const char *expected_study,
                             struct ingest_result *res, struct pc_err *err)
{
	ingest_upload *u;
	struct pc_err e;

	if (res != NULL) {
		memset(res, 0, sizeof(*res));
		res->error = INGEST_STORAGE;
		res->size = n;
	}
	pc_err_clear(&e);
	u = ingest_begin(ig, 0, &e);
	if (u == NULL) {
		pc_log(PC_LOG_ERROR, "ingest: cannot start: %s", e.msg);
		return pc_err_set(err, e.status != PC_OK ? e.status : PC_IO, 0,
		                  "%s", e.msg);
	}
	/* The committed bytes are these: parse them in place (and do not
	 * hold a copy). */
	u->mem = pc_span_make(p, n);
	if (ingest_write(u, p, n, NULL) != PC_OK) {
		/* Sticky: the commit below reports it. */
	}
	return ingest_commit(u, expected_study, res, err);
}

/* ---- resolving bulkdata paths ------------------------------------------- */

/* One '/'-separated component of `s[*pos..n)`; advances past the slash. */
static struct pc_span next_part(const char *s, size_t n, size_t *pos)
{
	size_t start = *pos, i = start;

	while (i < n && s[i] != '/')
		i++;
	*pos = i < n ? i + 1 : i;
	return pc_span_make(s + start, i - start);
}

static bool parse_tag(struct pc_span t, uint32_t *tag)
{
	uint32_t v = 0;
	size_t i;

	if (t.n != 8)
		return false;
	for (i = 0; i < 8; i++) {
		uint8_t c = t.p[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (uint32_t)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else
			return false;
	}
	*tag = v;
	return true;
}

static bool parse_index(struct pc_span t, size_t *out)
{
	size_t v = 0, i;

	/* Decimal without leading zeros, as bulk_uri writes it. */
	if (t.n == 0 || t.n > 9 || (t.p[0] == '0' && t.n > 1))
		return false;
	for (i = 0; i < t.n; i++) {
		if (t.p[i] < '0' || t.p[i] > '9')
			return false;
		v = v * 10 + (size_t)(t.p[i] - '0');
	}
	*out = v;
	return true;
}

enum pc_status ingest_bulkdata_find(const dcm_dataset *root, const char *path,
                                    size_t n, const dcm_elem **out)
{
	const dcm_dataset *ds = root;
	const dcm_elem *e = NULL;
	size_t pos = 0, item;
	uint32_t tag;

	*out = NULL;
	if (n == 0 || path[n - 1] == '/')
		return PC_INVAL;
	for (;;) {
		if (!parse_tag(next_part(path, n, &pos), &tag))
			return PC_INVAL;
		e = dcm_dataset_find(ds, tag);
		if (pos >= n)
			break;
		if (!parse_index(next_part(path, n, &pos), &item) || pos >= n)
			return PC_INVAL;
		if (e == NULL || !dcm_elem_is_sequence(e) ||
		    item >= dcm_elem_item_count(e))
			return PC_NOTFOUND;
		ds = dcm_elem_item(e, item);
	}
	if (e == NULL)
		return PC_NOTFOUND;
	*out = e;
	return PC_OK;
}
