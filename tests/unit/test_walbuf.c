/*
 * test_walbuf.c - the WAL write-batching VFS (src/index/walbuf.c): what a
 * commit leaves in the files is what SQLite wrote, at the moment SQLite
 * expects it.
 *
 * "In the files" is checked the way a crash would see them: the database
 * and its WAL are copied byte for byte while the writer still has them
 * open (nothing closed, nothing checkpointed) and the copy is opened with
 * SQLite's own VFS. A reader connection without the shim checks that
 * every commit is visible at once.
 */
#include "index/idx_int.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir_test.h"

struct fixture {
	char dir[80];
	char path[128];
	sqlite3 *w; /* through the shim */
	sqlite3 *r; /* SQLite's default VFS */
};

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, msg ? msg : "?");
	sqlite3_free(msg);
	assert_int_equal(rc, SQLITE_OK);
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/pacsd-walbuf-XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (idx__walbuf_register() != SQLITE_OK ||
	    sqlite3_open_v2(f->path, &f->w,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                    IDX_WALBUF_VFS) != SQLITE_OK)
		return -1;
	exec(f->w, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	           "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);");
	if (sqlite3_open_v2(f->path, &f->r, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sqlite3_close(f->r);
	sqlite3_close(f->w);
	tmptest_rm_tree(f->dir);
	free(f);
	return 0;
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/* Rows and bytes a copy of the files holds right now. */
static void copy_counts(struct fixture *f, int64_t *rows, int64_t *bytes)
{
	char db[160], wal[168], from[168];
	sqlite3 *c = NULL;

	snprintf(db, sizeof(db), "%s/copy.db", f->dir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	snprintf(from, sizeof(from), "%s-wal", f->path);
	unlink(wal);
	copy_file(f->path, db);
	copy_file(from, wal);
	assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL),
	                 SQLITE_OK);
	*rows = scalar(c, "SELECT count(*) FROM t");
	*bytes = scalar(c, "SELECT COALESCE(sum(length(v)), 0) FROM t");
	sqlite3_close(c);
}

static void insert(sqlite3 *db, int rows, int size)
{
	sqlite3_stmt *st = NULL;
	void *b = malloc((size_t)size);

	assert_non_null(b);
	memset(b, 0x5a, (size_t)size);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (?)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	for (int i = 0; i < rows; i++) {
		assert_int_equal(sqlite3_bind_blob(st, 1, b, size, SQLITE_STATIC),
		                 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	free(b);
}

/* Every commit is in the files, and visible to a reader, when COMMIT
 * returns: small ones (one run per commit) and ones larger than the
 * buffer and than one underlying write. */
static void commits_reach_the_files(void **state)
{
	struct fixture *f = *state;
	static const int sizes[] = {100, 5000, 70000, 300000};
	int64_t rows = 0, bytes = 0, got_rows, got_bytes;

	for (int round = 0; round < 3; round++) {
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			exec(f->w, "BEGIN IMMEDIATE");
			insert(f->w, 4, sizes[k]);
			exec(f->w, "COMMIT");
			rows += 4;
			bytes += 4 * (int64_t)sizes[k];
			assert_int_equal(
			    scalar(f->r, "SELECT count(*) FROM t"), rows);
			copy_counts(f, &got_rows, &got_bytes);
			assert_int_equal(got_rows, rows);
			assert_int_equal(got_bytes, bytes);
		}
	}
	/* A transaction far above the 1 MiB buffer (the cache spills frames
	 * before the commit, and some are rewritten in place). */
	exec(f->w, "PRAGMA cache_size = 20");
	exec(f->w, "BEGIN IMMEDIATE");
	insert(f->w, 40, 100000);
	exec(f->w, "UPDATE t SET v = zeroblob(2000) WHERE id % 7 = 0");
	exec(f->w, "COMMIT");
	rows += 40;
	bytes = scalar(f->w, "SELECT sum(length(v)) FROM t");
	copy_counts(f, &got_rows, &got_bytes);
	assert_int_equal(got_rows, rows);
	assert_int_equal(got_bytes, bytes);
	assert_int_equal(scalar(f->r, "SELECT sum(length(v)) FROM t"), bytes);
}

/* A rolled-back transaction that spilled frames leaves nothing visible;
 * a checkpoint (which reads the WAL back) and the reuse of the WAL from
 * its start after it keep every committed row. */
static void rollback_and_checkpoint(void **state)
{
	struct fixture *f = *state;
	int64_t rows, bytes;

	exec(f->w, "BEGIN IMMEDIATE");
	insert(f->w, 10, 1000);
	exec(f->w, "COMMIT");
	exec(f->w, "PRAGMA cache_size = 10");
	exec(f->w, "BEGIN IMMEDIATE");
	insert(f->w, 30, 50000);
	exec(f->w, "ROLLBACK");
	assert_int_equal(scalar(f->r, "SELECT count(*) FROM t"), 10);
	exec(f->w, "PRAGMA wal_checkpoint(RESTART)");
	exec(f->w, "BEGIN IMMEDIATE");
	insert(f->w, 5, 3000);
	exec(f->w, "COMMIT");
	copy_counts(f, &rows, &bytes);
	assert_int_equal(rows, 15);
	assert_int_equal(bytes, 10 * 1000 + 5 * 3000);
	assert_int_equal(scalar(f->r, "SELECT count(*) FROM t"), 15);
	assert_string_equal(sqlite3_db_filename(f->w, "main"), f->path);
	assert_string_equal(sqlite3_vfs_find(IDX_WALBUF_VFS)->zName,
	                    IDX_WALBUF_VFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(commits_reach_the_files, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(rollback_and_checkpoint, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
