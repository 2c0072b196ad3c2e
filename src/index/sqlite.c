/*
 * sqlite.c - the SQLite back-end of the index: connections, the statement
 * cache, and every operation but searching (query.c).
 *
 * Connections: one writer, guarded by `wlock`, runs every write
 * transaction; readers come from a free list that grows on demand (one per
 * thread that reads at the same moment), so QIDO-RS and WADO-RS lookups
 * run in parallel with ingest. WAL mode lets readers see the last commit
 * while the writer works. Each connection keeps its prepared statements in
 * a small LRU cache keyed by SQL text, so hot paths never re-prepare.
 *
 * Durability: synchronous=FULL by default. In WAL mode NORMAL only syncs
 * the WAL at checkpoints, so a power loss could drop transactions whose
 * instances ingest has already acknowledged; FULL syncs the WAL at every
 * commit, which is what "PC_OK means it survives a crash" needs. With
 * idx_defer_sync() the writer runs NORMAL instead and ingest makes a group
 * of puts durable with one syncfs(2) of the file system (blobs and WAL
 * together); SQLite's WAL checksums keep a commit that a crash cut short out
 * of the database, so NORMAL risks losing the last commits, never
 * corruption. totals.durable_upto records up to which instance id that
 * sync is known to have happened (see idx.h); deletes switch back to FULL
 * for their own transaction, since their callbacks delete blobs.
 *
 * Counts (series and instances per study, instances per series, the
 * totals row, ModalitiesInStudy, SOPClassesInStudy, representative
 * instances) are maintained in the same transaction as the rows they
 * count.
 */
#include "idx_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG_PATIENT_NAME DCM_TAG(0x0010, 0x0010)
#define TAG_PATIENT_ID DCM_TAG(0x0010, 0x0020)
#define TAG_ISSUER DCM_TAG(0x0010, 0x0021)
#define TAG_BIRTH_DATE DCM_TAG(0x0010, 0x0030)
#define TAG_SEX DCM_TAG(0x0010, 0x0040)
#define TAG_STUDY_UID DCM_TAG(0x0020, 0x000D)
#define TAG_STUDY_DATE DCM_TAG(0x0008, 0x0020)
#define TAG_STUDY_TIME DCM_TAG(0x0008, 0x0030)
#define TAG_ACCESSION DCM_TAG(0x0008, 0x0050)
#define TAG_REFERRING DCM_TAG(0x0008, 0x0090)
#define TAG_STUDY_ID DCM_TAG(0x0020, 0x0010)
#define TAG_STUDY_DESC DCM_TAG(0x0008, 0x1030)
#define TAG_TIMEZONE DCM_TAG(0x0008, 0x0201)
#define TAG_SERIES_UID DCM_TAG(0x0020, 0x000E)
#define TAG_MODALITY DCM_TAG(0x0008, 0x0060)
#define TAG_SERIES_NUMBER DCM_TAG(0x0020, 0x0011)
#define TAG_SERIES_DESC DCM_TAG(0x0008, 0x103E)
#define TAG_PPS_DATE DCM_TAG(0x0040, 0x0244)
#define TAG_PPS_TIME DCM_TAG(0x0040, 0x0245)
#define TAG_REQUEST_SEQ DCM_TAG(0x0040, 0x0275)
#define TAG_SPS_ID DCM_TAG(0x0040, 0x0009)
#define TAG_RP_ID DCM_TAG(0x0040, 0x1001)
#define TAG_SOP_UID DCM_TAG(0x0008, 0x0018)
#define TAG_SOP_CLASS DCM_TAG(0x0008, 0x0016)
#define TAG_INSTANCE_NUMBER DCM_TAG(0x0020, 0x0013)
#define TAG_ROWS DCM_TAG(0x0028, 0x0010)
#define TAG_COLUMNS DCM_TAG(0x0028, 0x0011)
#define TAG_BITS_ALLOCATED DCM_TAG(0x0028, 0x0100)
#define TAG_FRAMES DCM_TAG(0x0028, 0x0008)
#define TAG_FLOAT_PIXELS DCM_TAG(0x7FE0, 0x0008)
#define TAG_DOUBLE_PIXELS DCM_TAG(0x7FE0, 0x0009)

static const struct idx_ops sq_ops;

static struct sq_idx *SQ(idx *ix)
{
	return (struct sq_idx *)ix;
}

/* ---- errors, statements, connections --------------------------------- */

enum pc_status idx__sq_fail(struct pc_err *err, sqlite3 *db, int rc,
                            const char *what)
{
	const char *msg;

	if ((rc & 0xFF) == SQLITE_NOMEM)
		return pc_err_set(err, PC_NOMEM, 0, "index: %s: out of memory",
		                  what);
	msg = db != NULL && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db)
	                                              : sqlite3_errstr(rc);
	return pc_err_set(err, PC_IO, 0, "index: %s: %s", what, msg);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h;
}

sqlite3_stmt *idx__sq_stmt(struct sq_conn *c, const char *sql,
                           struct pc_err *err)
{
	uint64_t h = fnv1a(sql);
	struct sq_cached *victim = NULL, *e;
	sqlite3_stmt *st = NULL;
	char *copy;
	size_t i;
	int rc;

	c->clock++;
	for (i = 0; i < SQ_CACHE_SIZE; i++) {
		e = &c->cache[i];
		if (e->st == NULL) {
			if (victim == NULL || victim->st != NULL)
				victim = e;
			continue;
		}
		if (e->hash == h && strcmp(e->sql, sql) == 0) {
			e->used = c->clock;
			sqlite3_reset(e->st);
			sqlite3_clear_bindings(e->st);
			return e->st;
		}
		/* A statement still stepping belongs to a caller up the
		 * stack: never evict it. */
		if (sqlite3_stmt_busy(e->st))
			continue;
		if (victim == NULL ||
		    (victim->st != NULL && e->used < victim->used))
			victim = e;
	}
	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	                        NULL);
	if (rc != SQLITE_OK) {
		idx__sq_fail(err, c->db, rc, "preparing a statement");
		return NULL;
	}
	copy = pc_strdup(sql);
	if (copy == NULL || victim == NULL) {
		sqlite3_finalize(st);
		pc_free(copy);
		pc_err_set(err, PC_NOMEM, 0,
		           "index: no room for a prepared statement");
		return NULL;
	}
	if (victim->st != NULL) {
		sqlite3_finalize(victim->st);
		pc_free(victim->sql);
	}
	victim->st = st;
	victim->sql = copy;
	victim->hash = h;
	victim->used = c->clock;
	return st;
}

void idx__sq_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int idx__sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void conn_close(struct sq_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < SQ_CACHE_SIZE; i++) {
		sqlite3_finalize(c->cache[i].st);
		pc_free(c->cache[i].sql);
	}
	sqlite3_close(c->db);
	pc_free(c);
}

static int journal_mode_cb(void *ctx, int n, char **values, char **names)
{
	(void)names;
	if (n > 0 && values[0] != NULL)
		snprintf(ctx, 16, "%s", values[0]);
	return 0;
}

static struct sq_conn *conn_open(const char *path, bool writer,
                                 struct pc_err *err)
{
	static const char common[] = "PRAGMA foreign_keys = ON;"
	                             "PRAGMA synchronous = FULL;"
	                             "PRAGMA temp_store = MEMORY;"
	                             "PRAGMA cache_size = -16000;";
	struct sq_conn *c = pc_calloc(1, sizeof(*c));
	int flags =
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int rc;

	if (c == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "index: out of memory");
		return NULL;
	}
	if (writer)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &c->db, flags,
	                     idx__walbuf_register() == SQLITE_OK ? IDX_WALBUF_VFS
	                                                        : NULL);
	if (rc != SQLITE_OK) {
		pc_err_set(err, (rc & 0xFF) == SQLITE_NOMEM ? PC_NOMEM : PC_IO,
		           0, "index: cannot open %s: %s", path,
		           c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 10000);
	rc = sqlite3_exec(c->db, common, NULL, NULL, NULL);
	if (rc == SQLITE_OK && writer) {
		/* The mode is persistent in the file; setting it again is
		 * cheap. It fails on a file that is not a database, and
		 * answers the old mode where WAL is impossible (no shared
		 * memory, e.g. some network file systems): readers then wait
		 * for writers, which is slower but still correct. */
		char mode[16] = "";

		rc = sqlite3_exec(c->db, "PRAGMA journal_mode = WAL",
		                  journal_mode_cb, mode, NULL);
		if (rc == SQLITE_OK && strcmp(mode, "wal") != 0)
			pc_log(PC_LOG_WARN,
			       "index: %s: journal mode \"%s\", not WAL: "
			       "searches will wait for writes",
			       path, mode);
	}
	if (rc == SQLITE_OK && !writer)
		rc = sqlite3_exec(c->db, "PRAGMA query_only = ON", NULL, NULL,
		                  NULL);
	if (rc == SQLITE_OK)
		rc = idx__sq_register_functions(c->db);
	if (rc != SQLITE_OK) {
		pc_err_set(err, (rc & 0xFF) == SQLITE_NOMEM ? PC_NOMEM : PC_IO,
		           0, "index: cannot open %s: %s", path,
		           sqlite3_errmsg(c->db));
		goto fail;
	}
	return c;
fail:
	conn_close(c);
	return NULL;
}

struct sq_conn *idx__sq_reader_get(struct sq_idx *s, struct pc_err *err)
{
	struct sq_conn *c;

	pthread_mutex_lock(&s->plock);
	c = s->idle;
	if (c != NULL)
		s->idle = c->next;
	pthread_mutex_unlock(&s->plock);
	if (c != NULL)
		return c;
	c = conn_open(s->path, false, err);
	if (c == NULL)
		return NULL;
	pthread_mutex_lock(&s->plock);
	s->n_readers++;
	pthread_mutex_unlock(&s->plock);
	return c;
}

void idx__sq_reader_put(struct sq_idx *s, struct sq_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&s->plock);
	c->next = s->idle;
	s->idle = c;
	pthread_mutex_unlock(&s->plock);
}

enum pc_status idx__sq_prep_status(const struct pc_err *err)
{
	return err != NULL && err->status != PC_OK ? err->status : PC_IO;
}

/* Steps `st` to the end (a write or a statement without rows) and resets
 * it. A NULL `st` (preparation failed) gives the recorded error. */
static enum pc_status run(struct sq_conn *c, sqlite3_stmt *st, const char *what,
                          struct pc_err *err)
{
	int rc;

	if (st == NULL)
		return idx__sq_prep_status(err);
	do
		rc = sqlite3_step(st);
	while (rc == SQLITE_ROW);
	idx__sq_done(st);
	if (rc != SQLITE_DONE)
		return idx__sq_fail(err, c->db, rc, what);
	return PC_OK;
}

static enum pc_status exec_sql(struct sq_conn *c, const char *sql,
                               struct pc_err *err)
{
	return run(c, idx__sq_stmt(c, sql, err), sql, err);
}

/* Runs `sql` (a write) with ?1 .. ?n bound to the n integers of `v`;
 * errors name `what`. Called through EXEC_INTS, which counts them. */
static enum pc_status exec_intv(struct sq_conn *c, const char *sql,
                                const char *what, struct pc_err *err, size_t n,
                                const int64_t *v)
{
	sqlite3_stmt *st = idx__sq_stmt(c, sql, err);
	size_t i;

	if (st == NULL)
		return idx__sq_prep_status(err);
	for (i = 0; i < n; i++)
		sqlite3_bind_int64(st, (int)i + 1, v[i]);
	return run(c, st, what, err);
}

/* EXEC_INTS(c, sql, what, err, a, b, ...): `sql` with ?1 = a, ?2 = b... */
#define EXEC_INTS(c, sql, what, err, ...)                                      \
	exec_intv((c), (sql), (what), (err),                                   \
	          sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t),    \
	          (const int64_t[]){__VA_ARGS__})

/* The integer in the first column of the one row `sql` answers. */
static enum pc_status scalar_int(struct sq_conn *c, const char *sql,
                                 int64_t *out, struct pc_err *err)
{
	sqlite3_stmt *st = idx__sq_stmt(c, sql, err);
	int rc;

	if (st == NULL)
		return idx__sq_prep_status(err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	idx__sq_done(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE
		           ? pc_err_set(err, PC_IO, 0, "index: %s: no row", sql)
		           : idx__sq_fail(err, c->db, rc, sql);
	return PC_OK;
}

/* Inside a write transaction: stores the wanted durable mark when it moved;
 * *stored receives what the row holds once the transaction commits. */
static enum pc_status mark_write(struct sq_idx *s, int64_t *stored,
                                 struct pc_err *err)
{
	int64_t want = atomic_load(&s->mark_want);

	*stored = s->mark_stored;
	if (want <= s->mark_stored)
		return PC_OK;
	*stored = want;
	return EXEC_INTS(s->writer,
	                 "UPDATE totals SET durable_upto = ?1 WHERE id = 1",
	                 "storing the durability mark", err, want);
}

/* At close: the last mark, in a transaction of its own. */
static void store_mark(struct sq_idx *s)
{
	struct pc_err e = {0};
	int64_t stored;

	if (atomic_load(&s->mark_want) <= s->mark_stored)
		return;
	if (exec_sql(s->writer, "BEGIN IMMEDIATE", &e) != PC_OK)
		return;
	if (mark_write(s, &stored, &e) == PC_OK &&
	    exec_sql(s->writer, "COMMIT", &e) == PC_OK)
		s->mark_stored = stored;
	else
		sqlite3_exec(s->writer->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- opening and closing --------------------------------------------- */

/*
 * CHECKPOINTS. SQLite's automatic checkpoint runs inside the COMMIT that
 * takes the WAL past 1000 pages: that commit copies every page back into
 * the database and syncs twice before it returns, and the instance it
 * holds is acknowledged that much later (every ~60 C-STOREs, several ms
 * each: ~0.1 ms per instance on average, on the critical path of one
 * sending client). Here the writer's WAL hook only asks, and a thread of
 * the index runs the same PASSIVE checkpoint on a connection of its own,
 * beside the next puts; the writer still restarts the WAL from its start
 * once a checkpoint has copied all of it, so the file keeps its size and
 * its blocks (appending to a growing WAL made every sync costlier).
 */
#define CKPT_PAGES 1000 /* SQLite's default autocheckpoint threshold */
#define CKPT_FORCE_PAGES (4 * CKPT_PAGES)

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq_idx *s = arg;

	(void)name;
	/* A writer faster than the checkpoints (each copies only what was
	 * there when it began, and the WAL restarts only once all of it is
	 * copied) would grow the WAL without end: past four times the
	 * threshold this commit checkpoints itself, as SQLite would. */
	if (pages >= CKPT_FORCE_PAGES) {
		/* After the thread's checkpoint, if one runs: the two would
		 * only find each other BUSY and the WAL would go on growing.
		 * (The hook runs after the commit released its locks, so the
		 * thread never waits for this writer.) */
		pthread_mutex_lock(&s->ckpt_run);
		(void)sqlite3_wal_checkpoint_v2(db, NULL,
		                                SQLITE_CHECKPOINT_PASSIVE, NULL,
		                                NULL);
		pthread_mutex_unlock(&s->ckpt_run);
		return SQLITE_OK;
	}
	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&s->clock);
		s->ckpt_wanted = true;
		pthread_cond_signal(&s->ccond);
		pthread_mutex_unlock(&s->clock);
	}
	return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
	struct sq_idx *s = arg;
	int rc;

	pthread_mutex_lock(&s->clock);
	for (;;) {
		while (!s->ckpt_wanted && !s->ckpt_stop)
			pthread_cond_wait(&s->ccond, &s->clock);
		if (s->ckpt_stop)
			break;
		s->ckpt_wanted = false;
		pthread_mutex_unlock(&s->clock);
		/* BUSY (another checkpoint running) is fine: the next commit
		 * asks again. Other errors would repeat with SQLite's own
		 * checkpoint too; they show in the WAL's size, not in puts. */
		pthread_mutex_lock(&s->ckpt_run);
		rc = sqlite3_wal_checkpoint_v2(s->ckpt_conn->db, NULL,
		                               SQLITE_CHECKPOINT_PASSIVE, NULL,
		                               NULL);
		pthread_mutex_unlock(&s->ckpt_run);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			pc_log(PC_LOG_WARN, "index: checkpoint: %s",
			       sqlite3_errmsg(s->ckpt_conn->db));
		pthread_mutex_lock(&s->clock);
	}
	pthread_mutex_unlock(&s->clock);
	return NULL;
}

/* Starts the checkpoint thread; without it (no thread, no connection)
 * SQLite's automatic checkpoints stay on. */
static void ckpt_start(struct sq_idx *s)
{
	struct pc_err e = {0};

	s->ckpt_conn = conn_open(s->path, false, &e);
	if (s->ckpt_conn == NULL) {
		pc_log(PC_LOG_WARN, "index: checkpoints stay in commits: %s",
		       e.msg);
		return;
	}
	if (pthread_create(&s->ckpt, NULL, ckpt_main, s) != 0) {
		pc_log(PC_LOG_WARN, "index: checkpoints stay in commits: no "
		                    "thread");
		conn_close(s->ckpt_conn);
		s->ckpt_conn = NULL;
		return;
	}
	s->ckpt_running = true;
	sqlite3_wal_hook(s->writer->db, wal_hook, s);
}

static void ckpt_stop(struct sq_idx *s)
{
	if (!s->ckpt_running)
		return;
	sqlite3_wal_autocheckpoint(s->writer->db, CKPT_PAGES);
	pthread_mutex_lock(&s->clock);
	s->ckpt_stop = true;
	pthread_cond_signal(&s->ccond);
	pthread_mutex_unlock(&s->clock);
	pthread_join(s->ckpt, NULL);
	conn_close(s->ckpt_conn);
	s->ckpt_conn = NULL;
	s->ckpt_running = false;
}

idx *idx_sqlite_open(const char *path, struct pc_err *err)
{
	struct sq_idx *s;
	enum pc_status st;
	int64_t last = 0;

	if (path == NULL || path[0] == '\0') {
		pc_err_set(err, PC_INVAL, 0, "index: no database path");
		return NULL;
	}
	if (!sqlite3_threadsafe()) {
		pc_err_set(err, PC_UNSUPPORTED, 0,
		           "index: libsqlite3 was built without thread "
		           "support");
		return NULL;
	}
	s = pc_calloc(1, sizeof(*s));
	if (s == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "index: out of memory");
		return NULL;
	}
	s->base.ops = &sq_ops;
	s->sync_fd = -1;
	pthread_mutex_init(&s->wlock, NULL);
	pthread_mutex_init(&s->plock, NULL);
	pthread_mutex_init(&s->glock, NULL);
	pthread_cond_init(&s->gcond, NULL);
	pthread_mutex_init(&s->clock, NULL);
	pthread_cond_init(&s->ccond, NULL);
	pthread_mutex_init(&s->ckpt_run, NULL);
	s->tail = &s->queue;
	s->path = pc_strdup(path);
	if (s->path == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "index: out of memory");
		goto fail;
	}
	s->writer = conn_open(path, true, err);
	if (s->writer == NULL)
		goto fail;
	st = idx__schema_migrate(s->writer->db, &s->version, err);
	if (st == PC_OK)
		st = scalar_int(s->writer,
		                "SELECT COALESCE(MAX(id), 0) FROM instances",
		                &last, err);
	if (st == PC_OK)
		st = scalar_int(s->writer,
		                "SELECT durable_upto FROM totals WHERE id = 1",
		                &s->mark_stored, err);
	if (st != PC_OK)
		goto fail;
	atomic_store(&s->last_seq, last);
	atomic_store(&s->mark_want, s->mark_stored);
	ckpt_start(s);
	return &s->base;
fail:
	sq_ops.close(&s->base);
	return NULL;
}

static void sq_close(idx *ix)
{
	struct sq_idx *s = SQ(ix);
	struct sq_conn *c, *next;

	if (s->writer != NULL)
		ckpt_stop(s);
	for (c = s->idle; c != NULL; c = next) {
		next = c->next;
		conn_close(c);
	}
	/* No PRAGMA optimize / ANALYZE: the indexes are laid out for the
	 * planner without statistics, which walks studies_by_date for paged
	 * study lists; with statistics it sorted the whole table instead
	 * (limit=100&offset=1000: 0.8 ms -> 5.5 ms on 2,000 studies). */
	if (s->writer != NULL)
		store_mark(s);
	conn_close(s->writer);
	if (s->sync_fd >= 0)
		close(s->sync_fd);
	pthread_mutex_destroy(&s->wlock);
	pthread_mutex_destroy(&s->plock);
	pthread_mutex_destroy(&s->glock);
	pthread_cond_destroy(&s->gcond);
	pthread_mutex_destroy(&s->clock);
	pthread_cond_destroy(&s->ccond);
	pthread_mutex_destroy(&s->ckpt_run);
	pc_free(s->path);
	pc_free(s);
}

static int sq_schema_version(const idx *ix)
{
	return ((const struct sq_idx *)ix)->version;
}

/* ---- small reads ----------------------------------------------------- */

enum pc_status idx__sq_reader_stmt(struct sq_idx *s, const char *sql,
                                   struct sq_conn **c, sqlite3_stmt **st,
                                   struct pc_err *err)
{
	*st = NULL;
	*c = idx__sq_reader_get(s, err);
	if (*c == NULL)
		return idx__sq_prep_status(err);
	*st = idx__sq_stmt(*c, sql, err);
	if (*st == NULL) {
		idx__sq_reader_put(s, *c);
		*c = NULL;
		return idx__sq_prep_status(err);
	}
	return PC_OK;
}

void idx__sq_reader_done(struct sq_idx *s, struct sq_conn *c, sqlite3_stmt *st)
{
	idx__sq_done(st);
	idx__sq_reader_put(s, c);
}

static enum pc_status sq_ping(idx *ix, struct pc_err *err)
{
	struct sq_idx *s = SQ(ix);
	struct sq_conn *c = idx__sq_reader_get(s, err);
	enum pc_status st;

	if (c == NULL)
		return idx__sq_prep_status(err);
	st = exec_sql(c, "SELECT count(*) FROM totals", err);
	idx__sq_reader_put(s, c);
	return st;
}

static enum pc_status sq_counts(idx *ix, struct idx_counts *out,
                                struct pc_err *err)
{
	struct sq_idx *s = SQ(ix);
	struct sq_conn *c;
	sqlite3_stmt *st;
	enum pc_status r;
	int rc;

	memset(out, 0, sizeof(*out));
	r = idx__sq_reader_stmt(
	    s,
	    "SELECT patients, studies, series, instances, bytes "
	    "FROM totals WHERE id = 1",
	    &c, &st, err);
	if (r != PC_OK)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->patients = (uint64_t)sqlite3_column_int64(st, 0);
		out->studies = (uint64_t)sqlite3_column_int64(st, 1);
		out->series = (uint64_t)sqlite3_column_int64(st, 2);
		out->instances = (uint64_t)sqlite3_column_int64(st, 3);
		out->bytes = (uint64_t)sqlite3_column_int64(st, 4);
	} else {
		r = idx__sq_fail(err, c->db,
		                 rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
		                 "reading the totals");
	}
	idx__sq_reader_done(s, c, st);
	return r;
}

/* Columns that fill a struct idx_instance, and the joins they need. */
#define INST_COLS                                                              \
	"i.handle, st.study_uid, se.series_uid, i.sop_uid, i.sop_class_uid, "  \
	"i.ts_uid, i.size, i.sha256, i.frames, i.id"
#define INST_NCOLS 10
#define INST_FROM                                                              \
	" FROM instances i JOIN series se ON se.id = i.series_ref"             \
	" JOIN studies st ON st.id = se.study_ref"

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void row_instance(sqlite3_stmt *st, int col, struct idx_instance *o)
{
	const void *sha;

	memset(o, 0, sizeof(*o));
	copy_col(o->handle, sizeof(o->handle), st, col);
	copy_col(o->study_uid, sizeof(o->study_uid), st, col + 1);
	copy_col(o->series_uid, sizeof(o->series_uid), st, col + 2);
	copy_col(o->sop_uid, sizeof(o->sop_uid), st, col + 3);
	copy_col(o->sop_class_uid, sizeof(o->sop_class_uid), st, col + 4);
	copy_col(o->ts_uid, sizeof(o->ts_uid), st, col + 5);
	o->size = (uint64_t)sqlite3_column_int64(st, col + 6);
	sha = sqlite3_column_blob(st, col + 7);
	if (sha != NULL && sqlite3_column_bytes(st, col + 7) == 32)
		memcpy(o->sha256, sha, 32);
	o->frames = (uint32_t)sqlite3_column_int64(st, col + 8);
	o->seq = sqlite3_column_int64(st, col + 9);
}

/* One instance by a unique column, on a reader. */
static enum pc_status lookup_one(idx *ix, const char *sql, const char *key,
                                 struct idx_instance *out, const char *what,
                                 struct pc_err *err)
{
	struct sq_idx *s = SQ(ix);
	struct sq_conn *c;
	sqlite3_stmt *st;
	enum pc_status r = idx__sq_reader_stmt(s, sql, &c, &st, err);
	int rc;

	if (r != PC_OK)
		return r;
	idx__sq_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_instance(st, 0, out);
	else if (rc == SQLITE_DONE)
		r = pc_err_set(err, PC_NOTFOUND, 0,
		               "index: no instance with %s %s", what, key);
	else
		r = idx__sq_fail(err, c->db, rc, "looking an instance up");
	idx__sq_reader_done(s, c, st);
	return r;
}

static enum pc_status sq_by_handle(idx *ix, const char *handle,
                                   struct idx_instance *out, struct pc_err *err)
{
	return lookup_one(ix,
	                  "SELECT " INST_COLS INST_FROM " WHERE i.handle = ?1",
	                  handle, out, "handle", err);
}

static enum pc_status sq_by_uid(idx *ix, const char *sop_uid,
                                struct idx_instance *out, struct pc_err *err)
{
	return lookup_one(ix,
	                  "SELECT " INST_COLS INST_FROM " WHERE i.sop_uid = ?1",
	                  sop_uid, out, "SOP Instance UID", err);
}

static enum pc_status sq_handle_exists(idx *ix, const char *handle,
                                       bool *exists, struct pc_err *err)
{
	struct sq_idx *s = SQ(ix);
	struct sq_conn *c;
	sqlite3_stmt *st;
	enum pc_status r;
	int rc;

	*exists = false;
	r = idx__sq_reader_stmt(s, "SELECT 1 FROM instances WHERE handle = ?1",
	                        &c, &st, err);
	if (r != PC_OK)
		return r;
	idx__sq_bind_text(st, 1, handle);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*exists = true;
	else if (rc != SQLITE_DONE)
		r = idx__sq_fail(err, c->db, rc, "looking a handle up");
	idx__sq_reader_done(s, c, st);
	return r;
}

/* The WHERE clause selecting a study, a series in it or an instance in
 * that; parameters ?1 ?2 ?3. */
static const char *scope_where(const char *series_uid, const char *sop_uid)
{
	if (series_uid == NULL)
		return " WHERE st.study_uid = ?1";
	if (sop_uid == NULL)
		return " WHERE st.study_uid = ?1 AND se.series_uid = ?2";
	return " WHERE st.study_uid = ?1 AND se.series_uid = ?2"
	       " AND i.sop_uid = ?3";
}

static void bind_scope(sqlite3_stmt *st, const char *study_uid,
                       const char *series_uid, const char *sop_uid)
{
	idx__sq_bind_text(st, 1, study_uid);
	if (series_uid != NULL)
		idx__sq_bind_text(st, 2, series_uid);
	if (series_uid != NULL && sop_uid != NULL)
		idx__sq_bind_text(st, 3, sop_uid);
}

static enum pc_status sq_instances_each(idx *ix, const char *study_uid,
                                        const char *series_uid,
                                        const char *sop_uid, bool with_metadata,
                                        idx_instance_fn fn, void *ctx,
                                        struct pc_err *err)
{
	struct sq_idx *s = SQ(ix);
	struct sq_conn *c;
	sqlite3_stmt *st;
	struct idx_instance inst;
	enum pc_status r;
	char sql[512];
	size_t n = 0;
	int rc;

	snprintf(sql, sizeof(sql),
	         "SELECT " INST_COLS "%s" INST_FROM "%s ORDER BY "
	         "se.series_number, se.series_uid, i.instance_number, "
	         "i.sop_uid",
	         with_metadata ? ", i.metadata" : "",
	         scope_where(series_uid, sop_uid));
	r = idx__sq_reader_stmt(s, sql, &c, &st, err);
	if (r != PC_OK)
		return r;
	bind_scope(st, study_uid, series_uid, sop_uid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *md = NULL;
		size_t len = 0;

		row_instance(st, 0, &inst);
		if (with_metadata) {
			md = (const char *)sqlite3_column_text(st, INST_NCOLS);
			len = (size_t)sqlite3_column_bytes(st, INST_NCOLS);
		}
		n++;
		r = fn(ctx, &inst, md, len);
		if (r != PC_OK)
			break;
	}
	if (r == PC_OK && rc != SQLITE_DONE)
		r = idx__sq_fail(err, c->db, rc, "listing instances");
	else if (r == PC_OK && n == 0)
		r = pc_err_set(err, PC_NOTFOUND, 0,
		               "index: no instances under %s%s%s%s%s",
		               study_uid, series_uid ? "/" : "",
		               series_uid ? series_uid : "", sop_uid ? "/" : "",
		               sop_uid ? sop_uid : "");
	idx__sq_reader_done(s, c, st);
	return r;
}

static enum pc_status sq_etag(idx *ix, const char *study_uid,
                              const char *series_uid, const char *sop_uid,
                              char out[IDX_ETAG_MAX], struct pc_err *err)
{
	struct sq_idx *s = SQ(ix);
	struct sq_conn *c;
	sqlite3_stmt *st;
	enum pc_status r;
	char sql[320];
	int rc;

	out[0] = '\0';
	snprintf(sql, sizeof(sql),
	         "SELECT count(*), max(i.id), sum(i.id)" INST_FROM "%s",
	         scope_where(series_uid, sop_uid));
	r = idx__sq_reader_stmt(s, sql, &c, &st, err);
	if (r != PC_OK)
		return r;
	bind_scope(st, study_uid, series_uid, sop_uid);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = idx__sq_fail(err, c->db, rc, "computing an entity tag");
	} else if (sqlite3_column_int64(st, 0) == 0) {
		r = pc_err_set(err, PC_NOTFOUND, 0,
		               "index: no instances under study %s", study_uid);
	} else {
		/* Ids are never reused (AUTOINCREMENT), so any insert raises
		 * the maximum and any delete lowers the count: the triple
		 * changes with every change of the set. */
		uint64_t count = (uint64_t)sqlite3_column_int64(st, 0);
		uint64_t max = (uint64_t)sqlite3_column_int64(st, 1);
		uint64_t sum = (uint64_t)sqlite3_column_int64(st, 2);

		snprintf(out, IDX_ETAG_MAX, "%" PRIx64 "-%" PRIx64 "-%" PRIx32,
		         count, max, (uint32_t)sum);
	}
	idx__sq_reader_done(s, c, st);
	return r;
}

/* ---- attributes of a data set ---------------------------------------- */

enum attr_slot {
	A_PID,
	A_PNAME,
	A_BIRTH,
	A_SEX,
	A_ISSUER,
	A_DATE,
	A_TIME,
	A_ACCESSION,
	A_REFERRING,
	A_STUDY_ID,
	A_STUDY_DESC,
	A_TIMEZONE,
	A_MODALITY,
	A_SERIES_DESC,
	A_PPS_DATE,
	A_PPS_TIME,
	A_STUDY_UID,
	A_SERIES_UID,
	A_SOP_UID,
	A_SOP_CLASS,
	A_PNAME_FOLD, /* derived */
	A_REF_FOLD,   /* derived */
	A_COUNT
};

enum attr_how { H_FIRST, H_WHOLE, H_DA, H_TM };

static const struct {
	uint32_t tag;
	enum attr_how how;
} attr_src[A_PNAME_FOLD] = {
    [A_PID] = {TAG_PATIENT_ID, H_FIRST},
    [A_PNAME] = {TAG_PATIENT_NAME, H_WHOLE},
    [A_BIRTH] = {TAG_BIRTH_DATE, H_DA},
    [A_SEX] = {TAG_SEX, H_FIRST},
    [A_ISSUER] = {TAG_ISSUER, H_FIRST},
    [A_DATE] = {TAG_STUDY_DATE, H_DA},
    [A_TIME] = {TAG_STUDY_TIME, H_TM},
    [A_ACCESSION] = {TAG_ACCESSION, H_FIRST},
    [A_REFERRING] = {TAG_REFERRING, H_WHOLE},
    [A_STUDY_ID] = {TAG_STUDY_ID, H_FIRST},
    [A_STUDY_DESC] = {TAG_STUDY_DESC, H_FIRST},
    [A_TIMEZONE] = {TAG_TIMEZONE, H_FIRST},
    [A_MODALITY] = {TAG_MODALITY, H_FIRST},
    [A_SERIES_DESC] = {TAG_SERIES_DESC, H_FIRST},
    [A_PPS_DATE] = {TAG_PPS_DATE, H_DA},
    [A_PPS_TIME] = {TAG_PPS_TIME, H_TM},
    [A_STUDY_UID] = {TAG_STUDY_UID, H_FIRST},
    [A_SERIES_UID] = {TAG_SERIES_UID, H_FIRST},
    [A_SOP_UID] = {TAG_SOP_UID, H_FIRST},
    [A_SOP_CLASS] = {TAG_SOP_CLASS, H_FIRST},
};

enum int_slot {
	N_SERIES_NUMBER,
	N_INSTANCE_NUMBER,
	N_ROWS,
	N_COLUMNS,
	N_BITS,
	N_FRAMES,
	N_COUNT
};

static const uint32_t int_src[N_COUNT] = {
    TAG_SERIES_NUMBER, TAG_INSTANCE_NUMBER, TAG_ROWS,
    TAG_COLUMNS,       TAG_BITS_ALLOCATED,  TAG_FRAMES,
};

struct attrs {
	struct pc_buf text;  /* every value, NUL-separated */
	size_t off[A_COUNT]; /* SIZE_MAX: absent or empty */
	int64_t num[N_COUNT];
	bool has_num[N_COUNT];
	uint32_t frames;
};

static const char *A(const struct attrs *a, enum attr_slot i)
{
	return a->off[i] == SIZE_MAX ? NULL : a->text.p + a->off[i];
}

/* Ends the value started at `start` in a->text, or drops it if empty. */
static void attr_end(struct attrs *a, enum attr_slot i, size_t start)
{
	if (a->text.n == start) {
		a->off[i] = SIZE_MAX;
		return;
	}
	pc_buf_putc(&a->text, '\0');
	a->off[i] = start;
}

/* Stores the folded form of PN slot `from` (idx__fold_pn) as slot `to`;
 * an absent name gives an absent twin. Offsets, not pointers: a->text may
 * move while it grows. */
static void fold_twin(struct attrs *a, enum attr_slot from, enum attr_slot to,
                      struct pc_buf *tmp)
{
	size_t start;

	pc_buf_reset(tmp);
	if (a->off[from] != SIZE_MAX)
		idx__fold_pn(A(a, from), tmp);
	start = a->text.n;
	pc_buf_append(&a->text, tmp->p ? tmp->p : "", tmp->n);
	attr_end(a, to, start);
}

static enum pc_status read_attrs(const dcm_dataset *ds, struct attrs *a,
                                 struct pc_buf *tmp, struct pc_err *err)
{
	enum pc_status st;
	size_t i, start;

	for (i = 0; i < A_PNAME_FOLD; i++) {
		pc_buf_reset(tmp);
		st = dcm_dataset_get_string(
		    ds, attr_src[i].tag,
		    attr_src[i].how == H_WHOLE ? SIZE_MAX : 0, tmp);
		if (st == PC_NOMEM || pc_buf_status(tmp) == PC_NOMEM)
			return pc_err_set(err, PC_NOMEM, 0,
			                  "index: out of memory");
		start = a->text.n;
		if (st == PC_OK && tmp->n > 0) {
			if (attr_src[i].how == H_DA)
				idx__norm_da(tmp->p, &a->text);
			else if (attr_src[i].how == H_TM)
				idx__norm_tm(tmp->p, '0', &a->text);
			else
				pc_buf_append(&a->text, tmp->p, tmp->n);
		}
		attr_end(a, (enum attr_slot)i, start);
	}
	/* The folded twins are computed from the values above. */
	fold_twin(a, A_PNAME, A_PNAME_FOLD, tmp);
	fold_twin(a, A_REFERRING, A_REF_FOLD, tmp);
	if (pc_buf_status(&a->text) != PC_OK || pc_buf_status(tmp) != PC_OK)
		return pc_err_set(err, PC_NOMEM, 0, "index: out of memory");

	for (i = 0; i < N_COUNT; i++)
		a->has_num[i] =
		    dcm_dataset_get_int(ds, int_src[i], 0, &a->num[i]) == PC_OK;
	/* Header-only parses stop before Pixel Data, so Rows (Image Pixel
	 * module, PS3.3 C.7.6.3) also tells that there are frames. */
	if (dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA) != NULL ||
	    dcm_dataset_find(ds, TAG_FLOAT_PIXELS) != NULL ||
	    dcm_dataset_find(ds, TAG_DOUBLE_PIXELS) != NULL ||
	    (a->has_num[N_ROWS] && a->num[N_ROWS] > 0))
		a->frames = a->has_num[N_FRAMES] && a->num[N_FRAMES] > 0 &&
		                    a->num[N_FRAMES] <= UINT32_MAX
		                ? (uint32_t)a->num[N_FRAMES]
		                : 1;
	else
		a->frames = 0;
	return PC_OK;
}

static void bind_num(sqlite3_stmt *st, int col, const struct attrs *a,
                     enum int_slot i)
{
	if (a->has_num[i])
		sqlite3_bind_int64(st, col, a->num[i]);
	else
		sqlite3_bind_null(st, col);
}

/* Binds the values of slots[0..n) to ?first, ?first + 1, ... in order
 * (an absent value binds NULL). */
static void bind_slots(sqlite3_stmt *st, int first, const struct attrs *a,
                       const enum attr_slot *slots, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		idx__sq_bind_text(st, first + (int)i, A(a, slots[i]));
}

/* Whether the '\'-separated `list` holds `item`. */
static bool list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p = list;

	if (list == NULL)
		return false;
	while (*p) {
		size_t len = strcspn(p, "\\");

		if (len == n && memcmp(p, item, n) == 0)
			return true;
		p += len;
		if (*p == '\\')
			p++;
	}
	return false;
}

/* ---- writing ----------------------------------------------------------- */

static enum pc_status step_row(struct sq_conn *c, sqlite3_stmt *st, bool *found,
                               const char *what, struct pc_err *err)
{
	int rc = sqlite3_step(st);

	*found = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return idx__sq_fail(err, c->db, rc, what);
	return PC_OK;
}

/* The first column of the first row of `sql` as an integer, with ?1 bound
 * to the text `key`, or to `id` when `key` is NULL. *found tells whether
 * there was a row; *out is 0 when there was none. */
static enum pc_status first_int(struct sq_conn *c, const char *sql,
                                const char *key, int64_t id, int64_t *out,
                                bool *found, const char *what,
                                struct pc_err *err)
{
	sqlite3_stmt *st = idx__sq_stmt(c, sql, err);
	enum pc_status r;

	*out = 0;
	*found = false;
	if (st == NULL)
		return idx__sq_prep_status(err);
	if (key != NULL)
		idx__sq_bind_text(st, 1, key);
	else
		sqlite3_bind_int64(st, 1, id);
	r = step_row(c, st, found, what, err);
	if (*found)
		*out = sqlite3_column_int64(st, 0);
	idx__sq_done(st);
	return r;
}

/* Recomputes ModalitiesInStudy (which != 0) or SOPClassesInStudy of a
 * study: sorted, distinct, '\'-joined (PS3.18 10.6.3 lists them). */
static enum pc_status study_list(struct sq_conn *c, int64_t study,
                                 bool modalities, struct pc_buf *tmp,
                                 struct pc_err *err)
{
	sqlite3_stmt *st;
	int rc;

	st = idx__sq_stmt(
	    c,
	    modalities
	        ? "SELECT modality FROM series WHERE study_ref = ?1 AND "
	          "modality IS NOT NULL GROUP BY modality ORDER BY modality"
	        : "SELECT i.sop_class_uid FROM instances i JOIN series se ON "
	          "se.id = i.series_ref WHERE se.study_ref = ?1 GROUP BY 1 "
	          "ORDER BY 1",
	    err);
	if (st == NULL)
		return idx__sq_prep_status(err);
	pc_buf_reset(tmp);
	sqlite3_bind_int64(st, 1, study);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (tmp->n > 0)
			pc_buf_putc(tmp, '\\');
		pc_buf_puts(tmp, (const char *)sqlite3_column_text(st, 0));
	}
	idx__sq_done(st);
	if (rc != SQLITE_DONE)
		return idx__sq_fail(err, c->db, rc, "listing a study's values");
	if (pc_buf_status(tmp) != PC_OK)
		return pc_err_set(err, PC_NOMEM, 0, "index: out of memory");
	st = idx__sq_stmt(
	    c,
	    modalities ? "UPDATE studies SET modalities = ?2 WHERE id = ?1"
	               : "UPDATE studies SET sop_classes = ?2 WHERE id = ?1",
	    err);
	if (st == NULL)
		return idx__sq_prep_status(err);
	sqlite3_bind_int64(st, 1, study);
	idx__sq_bind_text(st, 2, tmp->n > 0 ? tmp->p : NULL);
	return run(c, st, "updating a study's values", err);
}

/* Whether the study's stored list (modalities or SOP classes) holds
 * `item`. */
static enum pc_status study_list_has(struct sq_conn *c, int64_t study,
                                     bool modalities, const char *item,
                                     bool *has, struct pc_err *err)
{
	sqlite3_stmt *st = idx__sq_stmt(
	    c,
	    modalities ? "SELECT modalities FROM studies WHERE id = ?1"
	               : "SELECT sop_classes FROM studies WHERE id = ?1",
	    err);
	bool found;
	enum pc_status r;

	*has = false;
	if (st == NULL)
		return idx__sq_prep_status(err);
	sqlite3_bind_int64(st, 1, study);
	r = step_row(c, st, &found, "reading a study", err);
	if (r == PC_OK && found)
		*has = list_has((const char *)sqlite3_column_text(st, 0), item);
	idx__sq_done(st);
	return r;
}

static enum pc_status totals_add(struct sq_conn *c, int64_t patients,
                                 int64_t studies, int64_t series,
                                 int64_t instances, int64_t bytes,
                                 struct pc_err *err)
{
	return EXEC_INTS(
	    c,
	    "UPDATE totals SET patients = patients + ?1, studies = "
	    "studies + ?2, series = series + ?3, instances = "
	    "instances + ?4, bytes = bytes + ?5 WHERE id = 1",
	    "updating the totals", err, patients, studies, series, instances,
	    bytes);
}

static enum pc_status insert_instance(struct sq_conn *c, int64_t series,
                                      const struct idx_put *p,
                                      const struct attrs *a, int64_t *id,
                                      struct pc_err *err)
{
	sqlite3_stmt *st = idx__sq_stmt(
	    c,
	    "INSERT INTO instances (series_ref, sop_uid, sop_class_uid, "
	    "instance_number, n_rows, n_columns, bits_allocated, frames, "
	    "ts_uid, handle, size, sha256, metadata) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	    err);
	int rc;

	if (st == NULL)
		return idx__sq_prep_status(err);
	sqlite3_bind_int64(st, 1, series);
	idx__sq_bind_text(st, 2, A(a, A_SOP_UID));
	idx__sq_bind_text(st, 3, A(a, A_SOP_CLASS));
	bind_num(st, 4, a, N_INSTANCE_NUMBER);
	bind_num(st, 5, a, N_ROWS);
	bind_num(st, 6, a, N_COLUMNS);
	bind_num(st, 7, a, N_BITS);
	sqlite3_bind_int64(st, 8, a->frames);
	idx__sq_bind_text(st, 9, p->ts_uid);
	idx__sq_bind_text(st, 10, p->handle);
	sqlite3_bind_int64(st, 11, (int64_t)p->size);
	sqlite3_bind_blob(st, 12, p->sha256, 32, SQLITE_STATIC);
	if (p->metadata != NULL)
		sqlite3_bind_text(st, 13, p->metadata, (int)p->metadata_len,
		                  SQLITE_STATIC);
	rc = sqlite3_step(st);
	idx__sq_done(st);
	if ((rc & 0xFF) == SQLITE_CONSTRAINT)
		return pc_err_set(err, PC_INVAL, 0,
		                  "index: handle %s already names another "
		                  "instance",
		                  p->handle);
	if (rc != SQLITE_DONE)
		return idx__sq_fail(err, c->db, rc, "inserting an instance");
	*id = sqlite3_last_insert_rowid(c->db);
	return PC_OK;
}

/* Adds the SOP class of a new instance to its study's list unless it is
 * there already (recomputing only then keeps inserts O(1)). */
static enum pc_status note_class(struct sq_conn *c, int64_t study,
                                 const char *cls, struct pc_buf *tmp,
                                 struct pc_err *err)
{
	bool has;
	enum pc_status r = study_list_has(c, study, false, cls, &has, err);

	if (r != PC_OK || has)
		return r;
	return study_list(c, study, false, tmp, err);
}

/* Looks the patient up by PatientID or creates it; *created tells. */
static enum pc_status find_patient(struct sq_conn *c, const struct attrs *a,
                                   int64_t *id, bool *created,
                                   struct pc_err *err)
{
	/* The values of the INSERT below, in order. */
	static const enum attr_slot cols[] = {A_PID,   A_PNAME, A_PNAME_FOLD,
	                                      A_BIRTH, A_SEX,   A_ISSUER};
	sqlite3_stmt *st;
	enum pc_status r;
	bool found = false;

	*created = false;
	if (A(a, A_PID) != NULL) {
		r = first_int(c,
		              "SELECT id FROM patients WHERE patient_id = ?1 "
		              "ORDER BY id LIMIT 1",
		              A(a, A_PID), 0, id, &found,
		              "looking a patient up", err);
		if (r != PC_OK || found)
			return r;
	}
	/* No PatientID: a patient of its own for this study (matching
	 * unrelated studies by an empty key would merge strangers). */
	st = idx__sq_stmt(c,
	                  "INSERT INTO patients (patient_id, patient_name, "
	                  "patient_name_fold, birth_date, sex, issuer) VALUES "
	                  "(?1, ?2, ?3, ?4, ?5, ?6)",
	                  err);
	if (st == NULL)
		return idx__sq_prep_status(err);
	bind_slots(st, 1, a, cols, sizeof(cols) / sizeof(cols[0]));
	r = run(c, st, "inserting a patient", err);
	if (r == PC_OK) {
		*id = sqlite3_last_insert_rowid(c->db);
		*created = true;
	}
	return r;
}

static enum pc_status insert_study(struct sq_conn *c, int64_t patient,
                                   const struct attrs *a, int64_t *id,
                                   struct pc_err *err)
{
	/* The values of ?2 .. ?10 below, in order. */
	static const enum attr_slot cols[] = {
	    A_STUDY_UID, A_DATE,     A_TIME,       A_ACCESSION, A_REFERRING,
	    A_REF_FOLD,  A_STUDY_ID, A_STUDY_DESC, A_TIMEZONE};
	sqlite3_stmt *st = idx__sq_stmt(
	    c,
	    "INSERT INTO studies (patient_ref, study_uid, study_date, "
	    "study_time, accession, referring_physician, "
	    "referring_physician_fold, study_id, study_description, timezone) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	    err);
	enum pc_status r;

	if (st == NULL)
		return idx__sq_prep_status(err);
	sqlite3_bind_int64(st, 1, patient);
	bind_slots(st, 2, a, cols, sizeof(cols) / sizeof(cols[0]));
	r = run(c, st, "inserting a study", err);
	if (r == PC_OK)
		*id = sqlite3_last_insert_rowid(c->db);
	return r;
}

/* The items of RequestAttributeSequence (PS3.18 10.6.1.2.2 lists two of
 * their attributes as series matching keys). */
static enum pc_status insert_requests(struct sq_conn *c, int64_t series,
                                      const dcm_dataset *ds, struct pc_buf *tmp,
                                      struct pc_err *err)
{
	const dcm_elem *seq = dcm_dataset_find(ds, TAG_REQUEST_SEQ);
	size_t i, n, sep;
	enum pc_status r;

	if (seq == NULL || !dcm_elem_is_sequence(seq))
		return PC_OK;
	n = dcm_elem_item_count(seq);
	for (i = 0; i < n; i++) {
		const dcm_dataset *item = dcm_elem_item(seq, i);
		sqlite3_stmt *st;
		bool sps, rp;

		pc_buf_reset(tmp);
		sps =
		    dcm_dataset_get_string(item, TAG_SPS_ID, 0, tmp) == PC_OK &&
		    tmp->n > 0;
		sep = tmp->n;
		pc_buf_putc(tmp, '\0');
		rp = dcm_dataset_get_string(item, TAG_RP_ID, 0, tmp) == PC_OK &&
		     tmp->n > sep + 1;
		if (pc_buf_status(tmp) != PC_OK)
			return pc_err_set(err, PC_NOMEM, 0,
			                  "index: out of memory");
		if (!sps && !rp)
			continue;
		st = idx__sq_stmt(c,
		                  "INSERT INTO series_requests (series_ref, "
		                  "sps_id, rp_id) VALUES (?1, ?2, ?3)",
		                  err);
		if (st == NULL)
			return idx__sq_prep_status(err);
		sqlite3_bind_int64(st, 1, series);
		idx__sq_bind_text(st, 2, sps ? tmp->p : NULL);
		idx__sq_bind_text(st, 3, rp ? tmp->p + sep + 1 : NULL);
		r = run(c, st, "inserting a request attribute item", err);
		if (r != PC_OK)
			return r;
	}
	return PC_OK;
}

/* The DICOM JSON of RequestAttributesSequence in the instance's metadata
 * (compact, in `out`), or nothing. Read once per new series. */
static void request_json(const struct idx_put *p, struct pc_buf *out)
{
	json_t *root, *el;
	char *text;

	pc_buf_reset(out);
	if (p->metadata == NULL ||
	    dcm_dataset_find(p->ds, TAG_REQUEST_SEQ) == NULL)
		return;
	root = json_loadb(p->metadata, p->metadata_len, 0, NULL);
	el = json_object_get(root, "00400275");
	if (json_is_object(el)) {
		text = json_dumps(el, JSON_COMPACT);
		if (text != NULL)
			pc_buf_puts(out, text);
		free(text);
	}
	json_decref(root);
}

static enum pc_status insert_series(struct sq_conn *c, int64_t study,
                                    const struct attrs *a,
                                    const struct idx_put *p, int64_t *id,
                                    struct pc_buf *tmp, struct pc_err *err)
{
	sqlite3_stmt *st;
	enum pc_status r;
	bool has;

	request_json(p, tmp);
	if (pc_buf_status(tmp) != PC_OK)
		return pc_err_set(err, PC_NOMEM, 0, "index: out of memory");
	st = idx__sq_stmt(
	    c,
	    "INSERT INTO series (study_ref, series_uid, modality, "
	    "series_number, series_description, pps_start_date, "
	    "pps_start_time, request_attrs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8)",
	    err);
	if (st == NULL)
		return idx__sq_prep_status(err);
	sqlite3_bind_int64(st, 1, study);
	idx__sq_bind_text(st, 2, A(a, A_SERIES_UID));
	idx__sq_bind_text(st, 3, A(a, A_MODALITY));
	bind_num(st, 4, a, N_SERIES_NUMBER);
	idx__sq_bind_text(st, 5, A(a, A_SERIES_DESC));
	idx__sq_bind_text(st, 6, A(a, A_PPS_DATE));
	idx__sq_bind_text(st, 7, A(a, A_PPS_TIME));
	idx__sq_bind_text(st, 8, tmp->n > 0 ? tmp->p : NULL);
	r = run(c, st, "inserting a series", err);
	if (r != PC_OK)
		return r;
	*id = sqlite3_last_insert_rowid(c->db);
	r = insert_requests(c, *id, p->ds, tmp, err);
	if (r != PC_OK || A(a, A_MODALITY) == NULL)
		return r;
	r = study_list_has(c, study, true, A(a, A_MODALITY), &has, err);
	if (r != PC_OK || has)
		return r;
	return study_list(c, study, true, tmp, err);
}

/* Adds `instances` to a series' and its study's counts (and `series` to
 * the study's), and makes `rep` their representative instance when they
 * have none. */
static enum pc_status bump_counts(struct sq_conn *c, int64_t series,
                                  int64_t study, int64_t instances,
                                  int64_t n_series, int64_t rep,
                                  struct pc_err *err)
{
	enum pc_status r;

	r = EXEC_INTS(c,
	              "UPDATE series SET n_instances = n_instances + ?2, "
	              "rep_instance = coalesce(rep_instance, ?3) WHERE id = ?1",
	              "updating series counts", err, series, instances, rep);
	if (r != PC_OK)
		return r;
	return EXEC_INTS(c,
	                 "UPDATE studies SET n_instances = n_instances + ?2, "
	                 "n_series = n_series + ?3, rep_instance = "
	                 "coalesce(rep_instance, ?4) WHERE id = ?1",
	                 "updating study counts", err, study, instances,
	                 n_series, rep);
}

/* Replaces the bytes of an existing instance: a new row (so that `seq`
 * and entity tags change) in the same series. */
static enum pc_status replace_instance(struct sq_conn *c, int64_t old_id,
                                       int64_t series, int64_t study,
                                       uint64_t old_size, bool class_changed,
                                       const struct idx_put *p,
                                       const struct attrs *a,
                                       struct pc_buf *tmp, struct pc_err *err)
{
	enum pc_status r;
	int64_t id;

	r = EXEC_INTS(c, "DELETE FROM instances WHERE id = ?1",
	              "removing the replaced instance", err, old_id);
	if (r != PC_OK)
		return r;
	r = insert_instance(c, series, p, a, &id, err);
	if (r != PC_OK)
		return r;
	r = EXEC_INTS(c,
	              "UPDATE series SET rep_instance = ?3 WHERE id = ?1 AND "
	              "rep_instance = ?2",
	              "updating the series", err, series, old_id, id);
	if (r != PC_OK)
		return r;
	r = EXEC_INTS(c,
	              "UPDATE studies SET rep_instance = ?3 WHERE id = ?1 AND "
	              "rep_instance = ?2",
	              "updating the study", err, study, old_id, id);
	if (r != PC_OK)
		return r;
	if (class_changed) {
		r = study_list(c, study, false, tmp, err);
		if (r != PC_OK)
			return r;
	}
	return totals_add(c, 0, 0, 0, 0, (int64_t)p->size - (int64_t)old_size,
	                  err);
}

/* The body of idx_instance_put inside its transaction. *changed tells
 * whether to commit. */
static enum pc_status put_txn(struct sq_conn *c, const struct idx_put *p,
                              const struct attrs *a,
                              enum idx_put_outcome *outcome,
                              struct idx_instance *existing, bool *changed,
                              struct pc_buf *tmp, struct pc_err *err)
{
	sqlite3_stmt *st;
	enum pc_status r;
	bool found, created_patient = false, new_study = false,
	            new_series = false;
	int64_t old_id = 0, series = 0, study = 0, patient = 0, id;
	struct idx_instance old;

	*changed = false;
	st = idx__sq_stmt(
	    c,
	    "SELECT i.series_ref, se.study_ref, " INST_COLS INST_FROM
	    " WHERE i.sop_uid = ?1",
	    err);
	if (st == NULL)
		return idx__sq_prep_status(err);
	idx__sq_bind_text(st, 1, A(a, A_SOP_UID));
	r = step_row(c, st, &found, "looking the instance up", err);
	if (found) {
		series = sqlite3_column_int64(st, 0);
		study = sqlite3_column_int64(st, 1);
		row_instance(st, 2, &old);
		old_id = old.seq;
	}
	idx__sq_done(st);
	if (r != PC_OK)
		return r;

	if (found) {
		if (existing != NULL)
			*existing = old;
		if (strcmp(old.study_uid, A(a, A_STUDY_UID)) != 0 ||
		    strcmp(old.series_uid, A(a, A_SERIES_UID)) != 0) {
			*outcome = IDX_PUT_CONFLICT;
			return PC_OK;
		}
		if (memcmp(old.sha256, p->sha256, 32) == 0) {
			*outcome = IDX_PUT_SAME;
			return PC_OK;
		}
		if (!p->allow_overwrite) {
			*outcome = IDX_PUT_CONFLICT;
			return PC_OK;
		}
		if (!p->blob_durable) {
			*outcome = IDX_PUT_NEED_DURABLE;
			return PC_OK;
		}
		r = replace_instance(
		    c, old_id, series, study, old.size,
		    strcmp(old.sop_class_uid, A(a, A_SOP_CLASS)) != 0, p, a,
		    tmp, err);
		if (r == PC_OK) {
			*outcome = IDX_PUT_REPLACED;
			*changed = true;
		}
		return r;
	}

	/* A new instance. Its series may exist, but only in its study. */
	st = idx__sq_stmt(c,
	                  "SELECT se.id, st.id, st.study_uid, (SELECT "
	                  "min(id) FROM instances WHERE series_ref = se.id) "
	                  "FROM series se JOIN studies st ON st.id = "
	                  "se.study_ref WHERE se.series_uid = ?1",
	                  err);
	if (st == NULL)
		return idx__sq_prep_status(err);
	idx__sq_bind_text(st, 1, A(a, A_SERIES_UID));
	r = step_row(c, st, &found, "looking the series up", err);
	if (found) {
		const char *in = (const char *)sqlite3_column_text(st, 2);

		series = sqlite3_column_int64(st, 0);
		study = sqlite3_column_int64(st, 1);
		old_id = sqlite3_column_int64(st, 3);
		if (in == NULL || strcmp(in, A(a, A_STUDY_UID)) != 0)
			*outcome = IDX_PUT_CONFLICT;
		else
			*outcome = IDX_PUT_NEW;
	}
	idx__sq_done(st);
	if (r != PC_OK)
		return r;
	if (found && *outcome == IDX_PUT_CONFLICT) {
		/* The series belongs to another study: report one of its
		 * instances as what the new one clashes with. */
		if (existing != NULL) {
			memset(existing, 0, sizeof(*existing));
			st = idx__sq_stmt(
			    c, "SELECT " INST_COLS INST_FROM " WHERE i.id = ?1",
			    err);
			if (st == NULL)
				return idx__sq_prep_status(err);
			sqlite3_bind_int64(st, 1, old_id);
			r = step_row(c, st, &found, "reading an instance", err);
			if (found)
				row_instance(st, 0, existing);
			idx__sq_done(st);
		}
		return r;
	}

	if (!found) {
		r = first_int(c, "SELECT id FROM studies WHERE study_uid = ?1",
		              A(a, A_STUDY_UID), 0, &study, &found,
		              "looking the study up", err);
		if (r != PC_OK)
			return r;
		if (!found) {
			r = find_patient(c, a, &patient, &created_patient, err);
			if (r != PC_OK)
				return r;
			r = insert_study(c, patient, a, &study, err);
			if (r != PC_OK)
				return r;
			new_study = true;
		}
		r = insert_series(c, study, a, p, &series, tmp, err);
		if (r != PC_OK)
			return r;
		new_series = true;
	}

	r = insert_instance(c, series, p, a, &id, err);
	if (r == PC_OK)
		r = bump_counts(c, series, study, 1, new_series ? 1 : 0, id,
		                err);
	if (r == PC_OK)
		r = note_class(c, study, A(a, A_SOP_CLASS), tmp, err);
	if (r == PC_OK)
		r = totals_add(c, created_patient ? 1 : 0, new_study ? 1 : 0,
		               new_series ? 1 : 0, 1, (int64_t)p->size, err);
	if (r == PC_OK) {
		*outcome = IDX_PUT_NEW;
		*changed = true;
	}
	return r;
}

static enum pc_status check_uid(const struct attrs *a, enum attr_slot i,
                                const char *name, struct pc_err *err)
{
	const char *v = A(a, i);

	if (v == NULL)
		return pc_err_set(err, PC_INVAL, 0,
		                  "index: the data set has no %s", name);
	if (strlen(v) > IDX_UID_MAX)
		return pc_err_set(err, PC_INVAL, 0,
		                  "index: %s is longer than %d characters",
		                  name, IDX_UID_MAX);
	return PC_OK;
}

/*
 * GROUP COMMIT. With synchronous=FULL every commit costs an fsync of the
 * WAL, and concurrent uploads would each wait for their own. Instead each
 * put queues a request; the first thread to find no batch running becomes
 * the leader, takes the whole queue, runs every request in one transaction
 * (each inside its own savepoint, so that one failing undoes only itself),
 * commits once and wakes the others with their results. A put still
 * returns only after the commit that holds it: durability is unchanged,
 * the fsync is shared. With one client the batch is that one put.
 */
struct sq_put_req {
	const struct idx_put *p;
	const struct attrs *a;
	enum idx_put_outcome *outcome;
	struct idx_instance *existing;
	struct pc_buf *tmp;
	struct pc_err *err;
	enum pc_status r;
	bool changed;
	bool done;
	struct sq_put_req *next;
};

/* Runs a batch on the writer connection; fills each request's result. */
static void run_batch(struct sq_idx *s, struct sq_put_req *batch)
{
	struct sq_conn *c = s->writer;
	struct pc_err berr = {0};
	int64_t last = 0, stored = 0;
	bool any = false;

	pthread_mutex_lock(&s->wlock);
	enum pc_status r = exec_sql(c, "BEGIN IMMEDIATE", &berr);
	for (struct sq_put_req *q = batch; q != NULL; q = q->next) {
		q->r = r;
		if (r != PC_OK)
			continue;
		q->r = exec_sql(c, "SAVEPOINT put", q->err);
		if (q->r == PC_OK)
			q->r = put_txn(c, q->p, q->a, q->outcome, q->existing,
				       &q->changed, q->tmp, q->err);
		if (q->r != PC_OK || !q->changed)
			sqlite3_exec(c->db, "ROLLBACK TO put", NULL, NULL,
				     NULL);
		sqlite3_exec(c->db, "RELEASE put", NULL, NULL, NULL);
		any |= q->r == PC_OK && q->changed;
	}
	if (r == PC_OK && any)
		r = scalar_int(c, "SELECT COALESCE(MAX(id), 0) FROM instances",
		               &last, &berr);
	/* Synchronous mode: every row committed here had its blob synced
	 * before, and the commit syncs the row, so the mark follows. */
	if (r == PC_OK && any && !s->deferred)
		atomic_store(&s->mark_want, last);
	if (r == PC_OK && any)
		r = mark_write(s, &stored, &berr);
	if (r == PC_OK && any)
		r = exec_sql(c, "COMMIT", &berr);
	if (r != PC_OK || !any)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	if (r == PC_OK && any) {
		atomic_store(&s->last_seq, last);
		s->mark_stored = stored;
	}
	pthread_mutex_unlock(&s->wlock);
	if (r == PC_OK)
		return;
	/* BEGIN or COMMIT failed: nothing of the batch is stored. */
	for (struct sq_put_req *q = batch; q != NULL; q = q->next) {
		q->r = berr.status;
		pc_err_set(q->err, berr.status, 0, "%s", berr.msg);
	}
}

static enum pc_status sq_put(idx *ix, const struct idx_put *p,
                             enum idx_put_outcome *outcome,
                             struct idx_instance *existing, struct pc_err *err)
{
	struct sq_idx *s = SQ(ix);
	struct attrs a;
	struct pc_buf tmp = PC_BUF_INIT;
	struct sq_put_req me;
	enum pc_status r;

	memset(&a, 0, sizeof(a));
	pc_buf_init(&a.text);
	r = read_attrs(p->ds, &a, &tmp, err);
	if (r == PC_OK)
		r = check_uid(&a, A_STUDY_UID, "StudyInstanceUID", err);
	if (r == PC_OK)
		r = check_uid(&a, A_SERIES_UID, "SeriesInstanceUID", err);
	if (r == PC_OK)
		r = check_uid(&a, A_SOP_UID, "SOPInstanceUID", err);
	if (r == PC_OK)
		r = check_uid(&a, A_SOP_CLASS, "SOPClassUID", err);
	if (r != PC_OK)
		goto out;

	memset(&me, 0, sizeof(me));
	me.p = p;
	me.a = &a;
	me.outcome = outcome;
	me.existing = existing;
	me.tmp = &tmp;
	me.err = err;
	pthread_mutex_lock(&s->glock);
	*s->tail = &me;
	s->tail = &me.next;
	while (!me.done) {
		if (s->leading) {
			pthread_cond_wait(&s->gcond, &s->glock);
			continue;
		}
		/* Lead: take everything queued so far (this put included). */
		struct sq_put_req *batch = s->queue;
		s->queue = NULL;
		s->tail = &s->queue;
		s->leading = true;
		pthread_mutex_unlock(&s->glock);
		run_batch(s, batch);
		pthread_mutex_lock(&s->glock);
		for (struct sq_put_req *q = batch; q != NULL;) {
			struct sq_put_req *next = q->next;
			q->done = true; /* q may be gone once this is seen */
			q = next;
		}
		s->leading = false;
		pthread_cond_broadcast(&s->gcond);
	}
	pthread_mutex_unlock(&s->glock);
	r = me.r;
out:
	pc_buf_cleanup(&tmp);
	pc_buf_cleanup(&a.text);
	return r;
}

/* ---- deleting ---------------------------------------------------------- */

struct handles {
	char (*v)[IDX_HANDLE_LEN + 1];
	size_t n, cap;
};

static enum pc_status handles_add(struct handles *h, const char *s,
                                  struct pc_err *err)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16, bytes;
		void *v;

		if (!pc_mul_ok(cap, sizeof(*h->v), &bytes))
			return pc_err_set(err, PC_NOMEM, 0,
			                  "index: out of memory");
		v = pc_realloc(h->v, bytes);
		if (v == NULL)
			return pc_err_set(err, PC_NOMEM, 0,
			                  "index: out of memory");
		h->v = v;
		h->cap = cap;
	}
	snprintf(h->v[h->n++], IDX_HANDLE_LEN + 1, "%s", s ? s : "");
	return PC_OK;
}

/* Runs a statement with ?1 bound to `id`; errors name the statement. */
static enum pc_status run_id(struct sq_conn *c, const char *sql, int64_t id,
                             struct pc_err *err)
{
	return EXEC_INTS(c, sql, sql, err, id);
}

/* Reads one integer column from a statement with ?1 = id; 0 when there is
 * no row. */
static enum pc_status int_id(struct sq_conn *c, const char *sql, int64_t id,
                             int64_t *out, struct pc_err *err)
{
	bool found;

	return first_int(c, sql, NULL, id, out, &found, sql, err);
}

static enum pc_status delete_txn(struct sq_conn *c, const char *study_uid,
                                 const char *series_uid, const char *sop_uid,
                                 struct handles *h, struct pc_buf *tmp,
                                 struct pc_err *err)
{
	sqlite3_stmt *st;
	enum pc_status r;
	int64_t study = 0, patient = 0, series = 0, inst = 0, left = 0;
	int64_t bytes = 0, d_series = 0, d_studies = 0, d_patients = 0;
	char sql[400];
	bool found, drop_series;
	int rc = SQLITE_DONE;

	/* The rows named, each under the one above. */
	snprintf(sql, sizeof(sql),
	         "SELECT st.id, st.patient_ref, %s, %s FROM studies st%s%s%s",
	         series_uid ? "se.id" : "0", sop_uid ? "i.id" : "0",
	         series_uid ? " JOIN series se ON se.study_ref = st.id" : "",
	         sop_uid ? " JOIN instances i ON i.series_ref = se.id" : "",
	         scope_where(series_uid, sop_uid));
	st = idx__sq_stmt(c, sql, err);
	if (st == NULL)
		return idx__sq_prep_status(err);
	bind_scope(st, study_uid, series_uid, sop_uid);
	r = step_row(c, st, &found, "looking up what to delete", err);
	if (found) {
		study = sqlite3_column_int64(st, 0);
		patient = sqlite3_column_int64(st, 1);
		series = sqlite3_column_int64(st, 2);
		inst = sqlite3_column_int64(st, 3);
	}
	idx__sq_done(st);
	if (r != PC_OK)
		return r;
	if (!found)
		return pc_err_set(err, PC_NOTFOUND, 0,
		                  "index: nothing stored under %s%s%s%s%s",
		                  study_uid, series_uid ? "/" : "",
		                  series_uid ? series_uid : "",
		                  sop_uid ? "/" : "", sop_uid ? sop_uid : "");

	/* The handles to give back after the commit, and their bytes. */
	if (sop_uid != NULL)
		st = idx__sq_stmt(
		    c, "SELECT handle, size FROM instances WHERE id = ?1", err);
	else if (series_uid != NULL)
		st = idx__sq_stmt(c,
		                  "SELECT handle, size FROM instances WHERE "
		                  "series_ref = ?1",
		                  err);
	else
		st = idx__sq_stmt(
		    c,
		    "SELECT i.handle, i.size FROM instances i JOIN "
		    "series se ON se.id = i.series_ref WHERE "
		    "se.study_ref = ?1",
		    err);
	if (st == NULL)
		return idx__sq_prep_status(err);
	sqlite3_bind_int64(st, 1, sop_uid ? inst : series_uid ? series : study);
	r = PC_OK;
	while (r == PC_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		bytes += sqlite3_column_int64(st, 1);
		r = handles_add(h, (const char *)sqlite3_column_text(st, 0),
		                err);
	}
	idx__sq_done(st);
	if (r != PC_OK)
		return r;
	if (rc != SQLITE_DONE)
		return idx__sq_fail(err, c->db, rc, "listing what to delete");

	/* Delete downwards; cascades take the rows below. Then climb while
	 * the parent is left empty. */
	drop_series = sop_uid == NULL && series_uid != NULL;
	if (sop_uid != NULL) {
		r = run_id(c, "DELETE FROM instances WHERE id = ?1", inst, err);
		if (r == PC_OK)
			r = run_id(
			    c,
			    "UPDATE series SET n_instances = n_instances "
			    "- 1 WHERE id = ?1",
			    series, err);
		if (r == PC_OK)
			r = int_id(
			    c, "SELECT n_instances FROM series WHERE id = ?1",
			    series, &left, err);
		if (r != PC_OK)
			return r;
		drop_series = left <= 0;
	}
	if (drop_series) {
		r = run_id(c, "DELETE FROM series WHERE id = ?1", series, err);
		if (r != PC_OK)
			return r;
		d_series = 1;
	}
	if (series_uid == NULL) {
		/* The whole study. */
		r = int_id(c, "SELECT n_series FROM studies WHERE id = ?1",
		           study, &d_series, err);
		if (r == PC_OK)
			r = run_id(c, "DELETE FROM studies WHERE id = ?1",
			           study, err);
		if (r != PC_OK)
			return r;
		d_studies = 1;
	} else {
		r = EXEC_INTS(c,
		              "UPDATE studies SET n_series = n_series - ?2, "
		              "n_instances = n_instances - ?3 WHERE id = ?1",
		              "updating study counts", err, study, d_series,
		              (int64_t)h->n);
		if (r == PC_OK)
			r = int_id(c,
			           "SELECT n_series FROM studies WHERE id = ?1",
			           study, &left, err);
		if (r != PC_OK)
			return r;
		if (left <= 0) {
			r = run_id(c, "DELETE FROM studies WHERE id = ?1",
			           study, err);
			if (r != PC_OK)
				return r;
			d_studies = 1;
		}
	}

	if (d_studies == 0) {
		/* The study stays: its lists and representatives follow. */
		if (d_series == 0)
			r = run_id(c,
			           "UPDATE series SET rep_instance = (SELECT "
			           "min(id) FROM instances WHERE series_ref = "
			           "?1) WHERE id = ?1",
			           series, err);
		if (r == PC_OK)
			r = run_id(
			    c,
			    "UPDATE studies SET rep_instance = (SELECT "
			    "min(i.id) FROM instances i JOIN series se ON "
			    "se.id = i.series_ref WHERE se.study_ref = "
			    "?1) WHERE id = ?1",
			    study, err);
		if (r == PC_OK && d_series > 0)
			r = study_list(c, study, true, tmp, err);
		if (r == PC_OK)
			r = study_list(c, study, false, tmp, err);
	} else {
		r = int_id(
		    c, "SELECT count(*) FROM studies WHERE patient_ref = ?1",
		    patient, &left, err);
		if (r == PC_OK && left == 0) {
			r = run_id(c, "DELETE FROM patients WHERE id = ?1",
			           patient, err);
			d_patients = 1;
		}
	}
	if (r != PC_OK)
		return r;
	return totals_add(c, -d_patients, -d_studies, -d_series, -(int64_t)h->n,
	                  -bytes, err);
}

static enum pc_status sq_delete(idx *ix, const char *study_uid,
                                const char *series_uid, const char *sop_uid,
                                idx_handle_fn fn, void *ctx, struct pc_err *err)
{
	struct sq_idx *s = SQ(ix);
	struct sq_conn *c = s->writer;
	struct handles h = {NULL, 0, 0};
	struct pc_buf tmp = PC_BUF_INIT;
	enum pc_status r;
	size_t i;

	pthread_mutex_lock(&s->wlock);
	/* The callbacks delete blobs: the commit must be on stable storage
	 * first, whatever the mode of puts. */
	if (s->deferred)
		r = exec_sql(c, "PRAGMA synchronous = FULL", err);
	else
		r = PC_OK;
	if (r == PC_OK)
		r = exec_sql(c, "BEGIN IMMEDIATE", err);
	if (r == PC_OK) {
		r = delete_txn(c, study_uid, series_uid, sop_uid, &h, &tmp,
		               err);
		if (r == PC_OK)
			r = exec_sql(c, "COMMIT", err);
		if (r != PC_OK)
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	}
	if (s->deferred &&
	    sqlite3_exec(c->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
	                 NULL) != SQLITE_OK)
		pc_log(PC_LOG_WARN, "index: cannot restore synchronous=NORMAL "
		                    "after a delete: puts will sync each commit");
	pthread_mutex_unlock(&s->wlock);
	if (r == PC_OK && fn != NULL)
		for (i = 0; i < h.n; i++)
			fn(ctx, h.v[i]);
	pc_free(h.v);
	pc_buf_cleanup(&tmp);
	return r;
}

/* ---- deferred durability ------------------------------------------------ */

static enum pc_status sq_defer_sync(idx *ix, int *sync_fd, struct pc_err *err)
{
	struct sq_idx *s = SQ(ix);
	char dir[4096];
	const char *slash = strrchr(s->path, '/');
	enum pc_status r;

	*sync_fd = -1;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == s->path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - s->path),
		         s->path);
	pthread_mutex_lock(&s->wlock);
	if (s->sync_fd < 0) {
		s->sync_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->sync_fd < 0) {
			r = pc_err_set(err, PC_IO, 0,
			               "index: cannot open directory %s: %s",
			               dir, strerror(errno));
			goto out;
		}
	}
	r = exec_sql(s->writer, "PRAGMA synchronous = NORMAL", err);
	if (r == PC_OK) {
		s->deferred = true;
		*sync_fd = s->sync_fd;
	}
out:
	pthread_mutex_unlock(&s->wlock);
	return r;
}

static int64_t sq_last_seq(idx *ix)
{
	return atomic_load(&SQ(ix)->last_seq);
}

static void sq_durable_set(idx *ix, int64_t upto)
{
	struct sq_idx *s = SQ(ix);
	int64_t cur = atomic_load(&s->mark_want);

	/* Only forward: syncs finish in order, but be safe against a late
	 * caller. */
	while (upto > cur &&
	       !atomic_compare_exchange_weak(&s->mark_want, &cur, upto))
		;
}

static enum pc_status sq_undurable_each(idx *ix, idx_instance_fn fn,
                                        void *ctx, struct pc_err *err)
{
	struct sq_idx *s = SQ(ix);
	struct sq_conn *c;
	sqlite3_stmt *st;
	struct idx_instance inst;
	enum pc_status r;
	int rc;

	r = idx__sq_reader_stmt(s,
	                        "SELECT " INST_COLS INST_FROM
	                        " WHERE i.id > (SELECT durable_upto FROM"
	                        " totals WHERE id = 1) ORDER BY i.id",
	                        &c, &st, err);
	if (r != PC_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_instance(st, 0, &inst);
		r = fn(ctx, &inst, NULL, 0);
		if (r != PC_OK)
			break;
	}
	if (r == PC_OK && rc != SQLITE_DONE)
		r = idx__sq_fail(err, c->db, rc, "listing unsynced instances");
	idx__sq_reader_done(s, c, st);
	return r;
}

static const struct idx_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .ping = sq_ping,
    .counts = sq_counts,
    .instance_put = sq_put,
    .instance_by_handle = sq_by_handle,
    .instance_by_uid = sq_by_uid,
    .handle_exists = sq_handle_exists,
    .instances_each = sq_instances_each,
    .etag = sq_etag,
    .del = sq_delete,
    .defer_sync = sq_defer_sync,
    .last_seq = sq_last_seq,
    .durable_set = sq_durable_set,
    .undurable_each = sq_undurable_each,
    .query = idx__sq_query,
};
