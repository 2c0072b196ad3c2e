/*
 * idx_int.h - internals of the index module: the back-end vtable that
 * index.c dispatches through, and what the SQLite back-end's files
 * (sqlite.c, schema.c, query.c, fold.c) share.
 *
 * Not part of the public interface: only src/index/ and its unit test
 * include this file.
 */
#ifndef PACSD_INDEX_IDX_INT_H
#define PACSD_INDEX_IDX_INT_H

#include "index/idx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>

/* ---- WAL write batching (walbuf.c) ---------------------------------- */

/* The VFS name to open databases with once idx__walbuf_register() said
 * SQLITE_OK: the default VFS, with each commit's WAL frames written by one
 * pwrite(2) instead of two per page. */
#define IDX_WALBUF_VFS "pacsd-walbuf"

/* Registers that VFS once (thread-safe); SQLITE_OK or SQLite's error. */
int idx__walbuf_register(void);

/* ---- back-end vtable ------------------------------------------------- */

/*
 * One table per back-end (sqlite.c now, pg.c later). index.c checks the
 * arguments common to every back-end and then calls through here, so a
 * back-end may assume non-NULL `ix` and well-formed UIDs and handles, and
 * an `err` that is never NULL and starts empty (index.c copies it to the
 * caller's): a callee's recorded status can be read back from it.
 */
struct idx_ops {
	const char *name;
	void (*close)(idx *ix);
	int (*schema_version)(const idx *ix);
	enum pc_status (*ping)(idx *ix, struct pc_err *err);
	enum pc_status (*counts)(idx *ix, struct idx_counts *out,
	                         struct pc_err *err);
	enum pc_status (*instance_put)(idx *ix, const struct idx_put *p,
	                               enum idx_put_outcome *outcome,
	                               struct idx_instance *existing,
	                               struct pc_err *err);
	enum pc_status (*instance_by_handle)(idx *ix, const char *handle,
	                                     struct idx_instance *out,
	                                     struct pc_err *err);
	enum pc_status (*instance_by_uid)(idx *ix, const char *sop_uid,
	                                  struct idx_instance *out,
	                                  struct pc_err *err);
	enum pc_status (*handle_exists)(idx *ix, const char *handle,
	                                bool *exists, struct pc_err *err);
	enum pc_status (*instances_each)(idx *ix, const char *study_uid,
	                                 const char *series_uid,
	                                 const char *sop_uid,
	                                 bool with_metadata, idx_instance_fn fn,
	                                 void *ctx, struct pc_err *err);
	enum pc_status (*etag)(idx *ix, const char *study_uid,
	                       const char *series_uid, const char *sop_uid,
	                       char out[IDX_ETAG_MAX], struct pc_err *err);
	enum pc_status (*del)(idx *ix, const char *study_uid,
	                      const char *series_uid, const char *sop_uid,
	                      idx_handle_fn fn, void *ctx, struct pc_err *err);
	enum pc_status (*defer_sync)(idx *ix, int *sync_fd,
	                             struct pc_err *err);
	int64_t (*last_seq)(idx *ix);
	void (*durable_set)(idx *ix, int64_t upto);
	enum pc_status (*undurable_each)(idx *ix, idx_instance_fn fn,
	                                 void *ctx, struct pc_err *err);
	enum pc_status (*query)(idx *ix, const struct qry *q,
	                        const struct idx_query_opts *opts,
	                        idx_match_fn fn, void *ctx,
	                        struct idx_query_info *info,
	                        struct pc_err *err);
};

/* Every back-end's handle starts with this. */
struct idx {
	const struct idx_ops *ops;
};

/* ---- SQLite back-end ------------------------------------------------- */

/* Prepared statements kept per connection, looked up by SQL text. */
#define SQ_CACHE_SIZE 48

struct sq_cached {
	char *sql;     /* owned copy of the statement's text */
	uint64_t hash; /* FNV-1a of sql */
	sqlite3_stmt *st;
	uint64_t used; /* LRU clock value of the last use */
};

/* One SQLite connection, used by one thread at a time. */
struct sq_conn {
	sqlite3 *db;
	struct sq_cached cache[SQ_CACHE_SIZE];
	uint64_t clock;       /* LRU clock */
	struct sq_conn *next; /* free list of idle readers */
};

struct sq_put_req;

struct sq_idx {
	struct idx base;
	char *path;
	int version;           /* schema version after migrations */
	pthread_mutex_t wlock; /* serialises writes on `writer` */
	struct sq_conn *writer;
	/* Group commit of idx_instance_put (see sqlite.c): puts queue here;
	 * one of them, the leader, runs the whole queue in one transaction. */
	pthread_mutex_t glock;
	pthread_cond_t gcond;
	struct sq_put_req *queue;   /* waiting puts, in arrival order */
	struct sq_put_req **tail;
	bool leading;               /* a leader is running a batch */
	/* Durability (idx_defer_sync). `deferred` and `sync_fd` are set once
	 * before any put; the marks are guarded by `wlock`, except that
	 * `mark_want` and `last_seq` are atomics read and set without it. */
	bool deferred;              /* commits do not sync the WAL */
	int sync_fd;                /* the database's directory, or -1 */
	_Atomic int64_t last_seq;   /* newest committed instance id */
	_Atomic int64_t mark_want;  /* durable mark to store next */
	int64_t mark_stored;        /* durable mark as last committed */
	/* Background checkpoints (sqlite.c, CHECKPOINTS): the writer's WAL
	 * hook asks, `ckpt` runs them on its own connection. */
	pthread_mutex_t clock;
	pthread_cond_t ccond;
	pthread_mutex_t ckpt_run; /* held while either side checkpoints */
	bool ckpt_wanted, ckpt_stop, ckpt_running;
	pthread_t ckpt;
	struct sq_conn *ckpt_conn;
	pthread_mutex_t plock; /* guards the reader free list */
	struct sq_conn *idle;  /* idle reader connections */
	size_t n_readers;      /* readers opened, idle or busy */
};

/* Records SQLite's last error on `db` as PC_IO ("index: what: message"),
 * or PC_NOMEM for SQLITE_NOMEM; returns the status. */
enum pc_status idx__sq_fail(struct pc_err *err, sqlite3 *db, int rc,
                            const char *what);

/*
 * The cached prepared statement for `sql` on `c`, prepared on first use,
 * reset and with its bindings cleared. The caller binds, steps and then
 * calls idx__sq_done(). NULL on error (recorded in `err`).
 */
sqlite3_stmt *idx__sq_stmt(struct sq_conn *c, const char *sql,
                           struct pc_err *err);
/* Resets a statement from idx__sq_stmt so that it releases its read
 * snapshot and the pointers bound to it. NULL is a no-op. */
void idx__sq_done(sqlite3_stmt *st);

/* A reader connection from the pool (opened on demand); NULL on error.
 * Give it back with idx__sq_reader_put(). */
struct sq_conn *idx__sq_reader_get(struct sq_idx *s, struct pc_err *err);
void idx__sq_reader_put(struct sq_idx *s, struct sq_conn *c);

/*
 * A reader connection and the cached statement for `sql` on it, for a read
 * that the caller binds and steps; give both back with
 * idx__sq_reader_done(). On error *c and *st are NULL, nothing is held and
 * the recorded status is returned.
 */
enum pc_status idx__sq_reader_stmt(struct sq_idx *s, const char *sql,
                                   struct sq_conn **c, sqlite3_stmt **st,
                                   struct pc_err *err);
/* Resets `st` (NULL is a no-op) and gives the reader `c` back. */
void idx__sq_reader_done(struct sq_idx *s, struct sq_conn *c, sqlite3_stmt *st);

/* The status after idx__sq_stmt() or idx__sq_reader_get() returned NULL:
 * the one recorded in `err`, or PC_IO when none was. */
enum pc_status idx__sq_prep_status(const struct pc_err *err);

/* Binds a text parameter; NULL binds SQL NULL. */
int idx__sq_bind_text(sqlite3_stmt *st, int i, const char *s);

/* schema.c: brings the database on `db` to the newest schema, one
 * transaction per step; *version receives the version in use. */
enum pc_status idx__schema_migrate(sqlite3 *db, int *version,
                                   struct pc_err *err);
/* The newest schema version this binary knows. */
int idx__schema_latest(void);

/* query.c: registers the SQL functions idx_fold() and idx_qry_match() on
 * a new connection. */
int idx__sq_register_functions(sqlite3 *db);
/* query.c: idx_query for the SQLite back-end. */
enum pc_status idx__sq_query(idx *ix, const struct qry *q,
                             const struct idx_query_opts *opts, idx_match_fn fn,
                             void *ctx, struct idx_query_info *info,
                             struct pc_err *err);

/* ---- text helpers (fold.c) ----------------------------------------- */

/*
 * Appends the folded form of `n` bytes of UTF-8 at `s` used for
 * case- and accent-insensitive matching of person names: ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic letters lowercased, accents of
 * Latin letters removed, combining marks dropped; '*', '?', '^', '=' and
 * '\\' are kept. Invalid UTF-8 bytes are copied unchanged.
 */
void idx__fold(const char *s, size_t n, struct pc_buf *out);
/*
 * The folded column value of a PN: the first (alphabetic) group only,
 * folded, with trailing '^' and spaces removed (PS3.5 6.2.1: trailing
 * empty components may be omitted, so "Smith^John^^" == "Smith^John").
 */
void idx__fold_pn(const char *s, struct pc_buf *out);
/* Appends DA `s` with everything but digits removed ("2020.01.02" from
 * ACR-NEMA becomes "20200102"). */
void idx__norm_da(const char *s, struct pc_buf *out);
/* Appends TM `s` in the fixed-width form "HHMMSS.FFFFFF" that compares
 * lexically (the form qry_key_match() compares too): ':' removed (ACR-NEMA),
 * missing digits set to `fill` - '0' for stored values and lower bounds,
 * '9' for upper bounds ("-1010" includes 10:10:59). */
void idx__norm_tm(const char *s, char fill, struct pc_buf *out);

#endif
