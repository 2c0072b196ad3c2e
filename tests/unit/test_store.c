/*
 * test_store.c - the blob store with the filesystem back-end: round trips
 * (in memory and streamed), exists/size/delete, key checks, abort, temp
 * sweep, replacement, listing, the reader's descriptor and allocation
 * failures. Every test works in its own mkdtemp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/blob.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY1 "0123456789abcdef0123456789abcdef"
#define KEY2 "0123ffffffffffffffffffffffffffff"
#define KEY3 "abcd000000000000000000000000000a"

struct fixture {
	char dir[64];        /* the mkdtemp directory */
	char root[96];       /* dir/store */
	blob_store *store;
};

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pc_err err = {0};

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pacsd-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/store", f->dir);
	f->store = blob_fs_open(f->root, &err);
	if (f->store == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	blob_store_close(f->store);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static size_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static size_t count_tmp(const struct fixture *f)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/tmp", f->root);
	return count_dir(path);
}

/* Reads the whole blob into a malloc'd buffer. */
static uint8_t *slurp(blob_store *s, const char *key, size_t *n)
{
	struct pc_err err = {0};
	blob_reader *r = blob_open(s, key, &err);
	uint8_t *p;
	size_t got, total = 0;

	assert_non_null(r);
	p = malloc(blob_reader_size(r) + 1);
	assert_non_null(p);
	for (;;) {
		assert_int_equal(blob_read(r, p + total, 1000, &got, &err),
				 PC_OK);
		total += got;
		if (got < 1000)
			break;
		assert_true(total <= blob_reader_size(r));
	}
	assert_int_equal(total, blob_reader_size(r));
	blob_close(r);
	*n = total;
	return p;
}

static void round_trip_small(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	char path[256];
	uint8_t *p;
	size_t n;

	assert_string_equal(blob_store_backend(f->store), "fs");
	assert_int_equal(blob_put(f->store, KEY1, "hello", 5, &err), PC_OK);
	p = slurp(f->store, KEY1, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "hello", 5);
	free(p);
	/* The fan-out layout. */
	snprintf(path, sizeof(path), "%s/blobs/01/%s", f->root, KEY1);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(count_tmp(f), 0);
	/* An empty blob. */
	assert_int_equal(blob_put(f->store, KEY3, NULL, 0, &err), PC_OK);
	p = slurp(f->store, KEY3, &n);
	assert_int_equal(n, 0);
	free(p);
}

static void round_trip_streamed(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	size_t total = 3 * 1024 * 1024 + 17, chunk = 65536 + 3, n;
	uint8_t *data = malloc(total), *back;
	blob_writer *w;

	assert_non_null(data);
	for (size_t i = 0; i < total; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	w = blob_put_begin(f->store, KEY2, &err);
	assert_non_null(w);
	for (size_t off = 0; off < total; off += chunk) {
		size_t k = total - off < chunk ? total - off : chunk;

		assert_int_equal(blob_put_write(w, data + off, k, &err), PC_OK);
	}
	assert_int_equal(blob_put_size(w), total);
	/* Invisible until committed. */
	{
		bool ex = true;

		assert_int_equal(blob_exists(f->store, KEY2, &ex, &err), PC_OK);
		assert_false(ex);
	}
	assert_int_equal(blob_put_commit(w, &err), PC_OK);
	back = slurp(f->store, KEY2, &n);
	assert_int_equal(n, total);
	assert_memory_equal(back, data, total);
	free(back);
	free(data);
}

static void exists_size_delete(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	uint64_t size = 99;
	bool ex = true;

	assert_int_equal(blob_exists(f->store, KEY1, &ex, &err), PC_OK);
	assert_false(ex);
	assert_int_equal(blob_size(f->store, KEY1, &size, &err), PC_NOTFOUND);
	assert_non_null(strstr(err.msg, KEY1));
	pc_err_clear(&err);
	assert_null(blob_open(f->store, KEY1, &err));
	assert_int_equal(err.status, PC_NOTFOUND);
	pc_err_clear(&err);
	assert_int_equal(blob_put(f->store, KEY1, "abcdefg", 7, &err), PC_OK);
	assert_int_equal(blob_exists(f->store, KEY1, &ex, &err), PC_OK);
	assert_true(ex);
	assert_int_equal(blob_size(f->store, KEY1, &size, &err), PC_OK);
	assert_int_equal(size, 7);
	assert_int_equal(blob_delete(f->store, KEY1, &err), PC_OK);
	assert_int_equal(blob_exists(f->store, KEY1, &ex, &err), PC_OK);
	assert_false(ex);
	assert_int_equal(blob_delete(f->store, KEY1, &err), PC_NOTFOUND);
	pc_err_clear(&err);
	/* A sibling key in a fan-out directory that never existed. */
	assert_int_equal(blob_delete(f->store, KEY3, &err), PC_NOTFOUND);
}

static void bad_keys(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"", "abc", "../etc/passwd", "..", "0123/../4567",
		"0123456789ABCDEF", "01234567 9", "0123456789abcdeg",
		"/0123456789abcdef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
	};
	blob_writer *w;
	uint64_t size;
	bool ex;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pc_err err = {0};

		assert_int_equal(blob_put(f->store, bad[i], "x", 1, &err),
				 PC_INVAL);
		pc_err_clear(&err);
		w = blob_put_begin(f->store, bad[i], &err);
		assert_null(w);
		assert_int_equal(err.status, PC_INVAL);
		assert_null(blob_open(f->store, bad[i], NULL));
		assert_int_equal(blob_exists(f->store, bad[i], &ex, NULL),
				 PC_INVAL);
		assert_int_equal(blob_size(f->store, bad[i], &size, NULL),
				 PC_INVAL);
		assert_int_equal(blob_delete(f->store, bad[i], NULL), PC_INVAL);
	}
	assert_int_equal(blob_key_check(NULL, NULL), PC_INVAL);
	/* The longest key is fine. */
	assert_int_equal(blob_put(f->store,
				  "0123456789abcdef0123456789abcdef"
				  "0123456789abcdef0123456789abcdef",
				  "x", 1, NULL),
			 PC_OK);
	assert_int_equal(count_tmp(f), 0);
}

static void abort_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	blob_writer *w = blob_put_begin(f->store, KEY1, &err);
	bool ex = true;

	assert_non_null(w);
	assert_int_equal(count_tmp(f), 1);
	assert_int_equal(blob_put_write(w, "partial", 7, &err), PC_OK);
	blob_put_abort(w);
	blob_put_abort(NULL);
	assert_int_equal(count_tmp(f), 0);
	assert_int_equal(blob_exists(f->store, KEY1, &ex, &err), PC_OK);
	assert_false(ex);
}

static void sweep_temp(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	char path[256];
	size_t removed = 0;
	int fd;

	/* Debris of a crash: a half-written upload and an odd file. */
	snprintf(path, sizeof(path), "%s/tmp/%s.abcdef", f->root, KEY1);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "xx", 2), 2);
	close(fd);
	snprintf(path, sizeof(path), "%s/tmp/other", f->root);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(blob_put(f->store, KEY2, "kept", 4, &err), PC_OK);
	assert_int_equal(blob_sweep_temp(f->store, &removed, &err), PC_OK);
	assert_int_equal(removed, 2);
	assert_int_equal(count_tmp(f), 0);
	assert_int_equal(blob_sweep_temp(f->store, NULL, &err), PC_OK);
	{
		uint64_t size;

		assert_int_equal(blob_size(f->store, KEY2, &size, &err), PC_OK);
		assert_int_equal(size, 4);
	}
	/* Reopening an existing store works and keeps its blobs. */
	blob_store_close(f->store);
	f->store = blob_fs_open(f->root, &err);
	assert_non_null(f->store);
	{
		bool ex = false;

		assert_int_equal(blob_exists(f->store, KEY2, &ex, &err), PC_OK);
		assert_true(ex);
	}
}

static void replace_existing(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	blob_reader *old;
	uint8_t *p;
	char buf[16];
	size_t n;

	assert_int_equal(blob_put(f->store, KEY1, "first version", 13, &err),
			 PC_OK);
	old = blob_open(f->store, KEY1, &err);
	assert_non_null(old);
	assert_int_equal(blob_put(f->store, KEY1, "second", 6, &err), PC_OK);
	p = slurp(f->store, KEY1, &n);
	assert_int_equal(n, 6);
	assert_memory_equal(p, "second", 6);
	free(p);
	/* A reader opened before keeps the old bytes. */
	assert_int_equal(blob_read(old, buf, sizeof(buf), &n, &err), PC_OK);
	assert_int_equal(n, 13);
	assert_memory_equal(buf, "first version", 13);
	blob_close(old);
	assert_int_equal(count_tmp(f), 0);
}

struct seen {
	char keys[8][BLOB_KEY_MAX + 1];
	size_t n;
	size_t stop_after;  /* 0 = never */
};

static enum pc_status collect(const char *key, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 8)
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
	s->n++;
	if (s->stop_after != 0 && s->n >= s->stop_after)
		return PC_STOP;
	return PC_OK;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void list_keys(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	struct seen s = {0};
	char path[256];
	int fd;

	assert_int_equal(blob_list(f->store, collect, &s, &err), PC_OK);
	assert_int_equal(s.n, 0);
	assert_int_equal(blob_put(f->store, KEY1, "1", 1, &err), PC_OK);
	assert_int_equal(blob_put(f->store, KEY2, "2", 1, &err), PC_OK);
	assert_int_equal(blob_put(f->store, KEY3, "3", 1, &err), PC_OK);
	/* Files that do not fit the layout are skipped. */
	snprintf(path, sizeof(path), "%s/blobs/01/stray", f->root);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/blobs/01/ffff0000", f->root);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(blob_list(f->store, collect, &s, &err), PC_OK);
	assert_int_equal(s.n, 3);
	qsort(s.keys, s.n, sizeof(s.keys[0]), cmp_key);
	assert_string_equal(s.keys[0], KEY1);
	assert_string_equal(s.keys[1], KEY2);
	assert_string_equal(s.keys[2], KEY3);
	/* The callback stops the walk. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	assert_int_equal(blob_list(f->store, collect, &s, &err), PC_STOP);
	assert_int_equal(s.n, 2);
}

static void reader_fd(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	blob_reader *r;
	char buf[16];
	int fd;

	assert_int_equal(blob_put(f->store, KEY1, "descriptor", 10, &err),
			 PC_OK);
	r = blob_open(f->store, KEY1, &err);
	assert_non_null(r);
	assert_int_equal(blob_reader_size(r), 10);
	fd = blob_reader_fd(r);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), 10);
	assert_memory_equal(buf, "descriptor", 10);
	blob_close(r);
	blob_close(NULL);
}

static void open_errors(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	char path[256];
	int fd;

	(void)state;
	assert_null(blob_fs_open("", &err));
	assert_int_equal(err.status, PC_INVAL);
	pc_err_clear(&err);
	/* A root that is a file. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_null(blob_fs_open(path, &err));
	assert_int_equal(err.status, PC_IO);
	assert_non_null(strstr(err.msg, path));
	blob_store_close(NULL);
}

struct worker {
	blob_store *store;
	int id;
	int failures;
};

/* Puts, reads back and deletes its own keys; counts mismatches. */
static void *worker_main(void *arg)
{
	struct worker *wk = arg;

	for (int i = 0; i < 50; i++) {
		char key[33], data[64], back[64];
		blob_reader *r;
		size_t got = 0;

		snprintf(key, sizeof(key), "%02x%02x%028x", wk->id, i % 4, i);
		snprintf(data, sizeof(data), "worker %d item %d", wk->id, i);
		if (blob_put(wk->store, key, data, strlen(data), NULL) != PC_OK) {
			wk->failures++;
			continue;
		}
		r = blob_open(wk->store, key, NULL);
		if (r == NULL ||
		    blob_read(r, back, sizeof(back), &got, NULL) != PC_OK ||
		    got != strlen(data) || memcmp(back, data, got) != 0)
			wk->failures++;
		blob_close(r);
		if (i % 2 == 0 && blob_delete(wk->store, key, NULL) != PC_OK)
			wk->failures++;
	}
	return NULL;
}

static void concurrent_threads(void **state)
{
	struct fixture *f = *state;
	struct worker wk[4];
	pthread_t th[4];
	struct seen s = {0};

	for (int i = 0; i < 4; i++) {
		wk[i].store = f->store;
		wk[i].id = i;
		wk[i].failures = 0;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main,
						&wk[i]),
				 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(wk[i].failures, 0);
	}
	assert_int_equal(blob_list(f->store, collect, &s, NULL), PC_OK);
	assert_int_equal(s.n, 4 * 25);
	assert_int_equal(count_tmp(f), 0);
}

/* One complete workload; returns the first failure. */
static enum pc_status workload(const char *root, struct pc_err *err)
{
	blob_store *s = blob_fs_open(root, err);
	blob_writer *w;
	blob_reader *r;
	enum pc_status st;
	char buf[8];
	size_t got;

	if (s == NULL)
		return err->status;
	w = blob_put_begin(s, KEY1, err);
	if (w == NULL) {
		st = err->status;
		goto out;
	}
	st = blob_put_write(w, "abc", 3, err);
	if (st != PC_OK) {
		blob_put_abort(w);
		goto out;
	}
	st = blob_put_commit(w, err);
	if (st != PC_OK)
		goto out;
	st = blob_put(s, KEY2, "xyz", 3, err);
	if (st != PC_OK)
		goto out;
	r = blob_open(s, KEY1, err);
	if (r == NULL) {
		st = err->status;
		goto out;
	}
	st = blob_read(r, buf, sizeof(buf), &got, err);
	blob_close(r);
	if (st != PC_OK)
		goto out;
	st = blob_delete(s, KEY1, err);
	if (st == PC_OK)
		st = blob_delete(s, KEY2, err);
out:
	blob_store_close(s);
	return st;
}

static void alloc_failures(void **state)
{
	struct fixture *f = *state;
	struct pc_err err = {0};
	char root[128];
	uint64_t count;

	snprintf(root, sizeof(root), "%s/nomem", f->dir);
	pc_alloc_fail_after(0);
	assert_int_equal(workload(root, &err), PC_OK);
	count = pc_alloc_fail_after(0);
	assert_true(count > 3);
	for (uint64_t i = 1; i <= count; i++) {
		enum pc_status st;

		pc_err_clear(&err);
		pc_alloc_fail_after(i);
		st = workload(root, &err);
		pc_alloc_fail_after(0);
		assert_int_equal(st, PC_NOMEM);
		assert_int_equal(err.status, PC_NOMEM);
		/* Nothing half-done is left behind. */
		{
			char tmp[160];

			snprintf(tmp, sizeof(tmp), "%s/tmp", root);
			assert_int_equal(count_dir(tmp), 0);
		}
		/* Clean up blobs a failed run may have committed. */
		{
			blob_store *s = blob_fs_open(root, NULL);

			assert_non_null(s);
			enum pc_status st1 = blob_delete(s, KEY1, NULL);
			enum pc_status st2 = blob_delete(s, KEY2, NULL);

			assert_true(st1 == PC_OK || st1 == PC_NOTFOUND);
			assert_true(st2 == PC_OK || st2 == PC_NOTFOUND);
			blob_store_close(s);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip_small, setup,
						teardown),
		cmocka_unit_test_setup_teardown(round_trip_streamed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(exists_size_delete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bad_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(abort_leaves_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(sweep_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(replace_existing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(list_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(reader_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_threads, setup,
						teardown),
		cmocka_unit_test_setup_teardown(alloc_failures, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
