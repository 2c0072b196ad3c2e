/*
 * fs.c - the filesystem blob back-end: temp file, fsync, rename, fsync of the
 * directories. Layout and durability argument: the DESIGN note in store.c.
 *
 * Thread-safety: the store holds only immutable paths; every operation works
 * on its own descriptors and stack buffers, so any number of threads may use
 * one store. Paths are built in PATH_MAX stack buffers: the root is limited at
 * open so that every path under it fits.
 */
#include "store/blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room left under the root for "/blobs/ab/cd/<key>" and "/tmp/<key>.XXXXXX". */
#define FS_ROOT_MAX (PATH_MAX - BLOB_KEY_MAX - 32)

/* One fan-out level from the first key digits: 256 directories, made at
 * open (see store.c's design note). */
#define FS_FANOUT_DIGITS 2
#define FS_FANOUT_DIRS 256

struct fs_store {
	char root[FS_ROOT_MAX];     /* the root directory, no trailing slash */
	int root_fd;                /* the root, for syncfs(2) by the caller */
};

struct fs_writer {
	struct fs_store *fs;        /* borrowed */
	int fd;                     /* the temporary file, -1 once closed */
	char key[BLOB_KEY_MAX + 1];
	char tmp[PATH_MAX];         /* the temporary file's path */
};

struct fs_reader {
	int fd;
	char key[BLOB_KEY_MAX + 1]; /* for error messages */
};

/* Records an I/O failure naming the operation, the path and errno's text. */
static enum pc_status fs_err(struct pc_err *err, int e, const char *what,
			     const char *path)
{
	char buf[128];
	const char *text = strerror_r(e, buf, sizeof(buf));

	return pc_err_set(err, e == ENOENT ? PC_NOTFOUND : PC_IO, 0,
			  "blob store: cannot %s %s: %s", what, path, text);
}

static void blob_path(const struct fs_store *fs, const char *key, char *out)
{
	snprintf(out, PATH_MAX, "%s/blobs/%.*s/%s", fs->root, FS_FANOUT_DIGITS,
		 key, key);
}

/* Creates `path` unless it exists as a directory. */
static enum pc_status make_dir(const char *path, struct pc_err *err)
{
	struct stat sb;

	if (mkdir(path, 0755) == 0)
		return PC_OK;
	if (errno != EEXIST)
		return fs_err(err, errno, "create directory", path);
	if (stat(path, &sb) != 0)
		return fs_err(err, errno, "stat", path);
	if (!S_ISDIR(sb.st_mode))
		return pc_err_set(err, PC_IO, 0,
				  "blob store: %s is not a directory", path);
	return PC_OK;
}

static enum pc_status sync_dir(const char *path, struct pc_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	enum pc_status st = PC_OK;

	if (fd < 0)
		return fs_err(err, errno, "open directory", path);
	if (fsync(fd) != 0)
		st = fs_err(err, errno, "fsync directory", path);
	close(fd);
	return st;
}

static void fs_close(void *st)
{
	struct fs_store *fs = st;

	if (fs->root_fd >= 0)
		close(fs->root_fd);
	pc_free(fs);
}

static int fs_sync_fd(void *st)
{
	return ((struct fs_store *)st)->root_fd;
}

static void *fs_put_begin(void *st, const char *key, struct pc_err *err)
{
	struct fs_store *fs = st;
	struct fs_writer *w = pc_malloc(sizeof(*w));

	if (w == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory storing blob %s",
			   key);
		return NULL;
	}
	w->fs = fs;
	snprintf(w->key, sizeof(w->key), "%s", key);
	snprintf(w->tmp, sizeof(w->tmp), "%s/tmp/%s.XXXXXX", fs->root, key);
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		fs_err(err, errno, "create temporary file in", w->tmp);
		pc_free(w);
		return NULL;
	}
	return w;
}

static enum pc_status fs_put_write(void *wp, const void *p, size_t n,
				   struct pc_err *err)
{
	struct fs_writer *w = wp;
	const char *c = p;

	while (n > 0) {
		ssize_t k = write(w->fd, c, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return fs_err(err, errno, "write", w->tmp);
		}
		c += k;
		n -= (size_t)k;
	}
	return PC_OK;
}

static int fs_writer_fd(void *wp)
{
	return ((struct fs_writer *)wp)->fd;
}

/* Queues the file's dirty pages for writeback (no waiting): the fsync in
 * commit then has less left to wait for. */
static void fs_put_start_sync(void *wp)
{
	struct fs_writer *w = wp;

	(void)sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

static void fs_put_abort(void *wp)
{
	struct fs_writer *w = wp;

	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp);
	pc_free(w);
}

/*
 * Two orders, both durable when they return PC_OK:
 *  - a new key (the server's case: every handle is fresh): rename first
 *    with RENAME_NOREPLACE, then fsync the file, then its directory. On
 *    ext4 and XFS the file's fsync commits the journal transaction that
 *    also holds the rename, so the directory fsync that follows finds
 *    nothing left to do: one journal commit per blob instead of two. A
 *    crash before the fsync can leave the name with partial bytes; nothing
 *    refers to it until this returns (the index row comes after), and the
 *    start-up sweep removes such orphans.
 *  - an existing key: fsync, then rename over it, then the directory, so
 *    that the old bytes stay until the new ones are durable.
 */
static enum pc_status fs_put_commit(void *wp, struct pc_err *err)
{
	struct fs_writer *w = wp;
	char dir[PATH_MAX], final[PATH_MAX];
	enum pc_status st;
	int fd = w->fd;
	bool renamed = false;

	w->fd = -1;
	snprintf(dir, sizeof(dir), "%s/blobs/%.*s", w->fs->root,
		 FS_FANOUT_DIGITS, w->key);
	blob_path(w->fs, w->key, final);
	if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, final, RENAME_NOREPLACE) ==
	    0) {
		renamed = true;
	} else if (errno != EEXIST && errno != EINVAL && errno != ENOSYS) {
		st = fs_err(err, errno, "rename into place", final);
		goto fail_fd;
	}
	/* The data and the size reach stable storage. */
	if (fsync(fd) != 0) {
		st = fs_err(err, errno, "fsync", renamed ? final : w->tmp);
		goto fail_fd;
	}
	if (close(fd) != 0) {
		st = fs_err(err, errno, "close", renamed ? final : w->tmp);
		goto fail;
	}
	/* Atomic: readers see the old blob or the new one, never a part. */
	if (!renamed && rename(w->tmp, final) != 0) {
		st = fs_err(err, errno, "rename into place", final);
		goto fail;
	}
	/* The new name reaches stable storage. */
	st = sync_dir(dir, err);
	pc_free(w);
	return st;
fail_fd:
	close(fd);
fail:
	/* A name made by this put is withdrawn: it was never durable. */
	unlink(renamed ? final : w->tmp);
	pc_free(w);
	return st;
}

/*
 * Group durability: the new name is made, nothing is synced. The caller's
 * syncfs(2) of the root then writes the data, the inode, both directory
 * entries and the index's WAL with one device flush, where the synchronous
 * path above costs one flush each for the file and its directory.
 */
static enum pc_status fs_put_commit_deferred(void *wp, struct pc_err *err)
{
	struct fs_writer *w = wp;
	char final[PATH_MAX];
	enum pc_status st = PC_OK;

	blob_path(w->fs, w->key, final);
	if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, final, RENAME_NOREPLACE) !=
	    0) {
		if (errno == EINVAL || errno == ENOSYS) /* no NOREPLACE here */
			return fs_put_commit(wp, err);
		if (errno == EEXIST)
			st = pc_err_set(err, PC_INVAL, 0,
					"blob store: key %s exists", w->key);
		else
			st = fs_err(err, errno, "rename into place", final);
		close(w->fd);
		unlink(w->tmp);
		pc_free(w);
		return st;
	}
	if (close(w->fd) != 0) {
		st = fs_err(err, errno, "close", final);
		unlink(final);
	}
	pc_free(w);
	return st;
}

static void *fs_open(void *st, const char *key, uint64_t *size,
		     struct pc_err *err)
{
	char path[PATH_MAX];
	struct fs_reader *r;
	struct stat sb;
	int fd;

	blob_path(st, key, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fs_err(err, errno, "open", path);
		return NULL;
	}
	if (fstat(fd, &sb) != 0) {
		fs_err(err, errno, "stat", path);
		goto fail;
	}
	r = pc_malloc(sizeof(*r));
	if (r == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory reading blob %s",
			   key);
		goto fail;
	}
	r->fd = fd;
	snprintf(r->key, sizeof(r->key), "%s", key);
	*size = (uint64_t)sb.st_size;
	return r;
fail:
	close(fd);
	return NULL;
}

static enum pc_status fs_read(void *rp, void *p, size_t n, size_t *got,
			      struct pc_err *err)
{
	struct fs_reader *r = rp;
	char *c = p;

	while (*got < n) {
		ssize_t k = read(r->fd, c + *got, n - *got);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return fs_err(err, errno, "read blob", r->key);
		}
		if (k == 0)
			break;
		*got += (size_t)k;
	}
	return PC_OK;
}

static int fs_reader_fd(void *rp)
{
	return ((struct fs_reader *)rp)->fd;
}

static void fs_reader_close(void *rp)
{
	struct fs_reader *r = rp;

	close(r->fd);
	pc_free(r);
}

static enum pc_status fs_size(void *st, const char *key, uint64_t *size,
			      struct pc_err *err)
{
	char path[PATH_MAX];
	struct stat sb;

	blob_path(st, key, path);
	if (stat(path, &sb) != 0)
		return fs_err(err, errno == ENOTDIR ? ENOENT : errno, "stat",
			      path);
	*size = (uint64_t)sb.st_size;
	return PC_OK;
}

static enum pc_status fs_exists(void *st, const char *key, bool *exists,
				struct pc_err *err)
{
	char path[PATH_MAX];
	struct stat sb;

	blob_path(st, key, path);
	if (stat(path, &sb) == 0) {
		*exists = true;
		return PC_OK;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return PC_OK;
	return fs_err(err, errno, "stat", path);
}

static enum pc_status fs_del(void *st, const char *key, struct pc_err *err)
{
	char path[PATH_MAX], leaf[PATH_MAX];

	blob_path(st, key, path);
	if (unlink(path) != 0)
		return fs_err(err, errno == ENOTDIR ? ENOENT : errno, "delete",
			      path);
	snprintf(leaf, sizeof(leaf), "%s", path);
	*strrchr(leaf, '/') = '\0';
	return sync_dir(leaf, err);
}

static enum pc_status fs_sweep_temp(void *st, size_t *removed,
				    struct pc_err *err)
{
	struct fs_store *fs = st;
	char dir[PATH_MAX];
	struct dirent *e;
	enum pc_status ret = PC_OK;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tmp", fs->root);
	d = opendir(dir);
	if (d == NULL)
		return fs_err(err, errno, "open directory", dir);
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			(*removed)++;
		else if (errno != ENOENT && ret == PC_OK)
			ret = fs_err(err, errno, "remove temporary file in",
				     dir);
		errno = 0;
	}
	if (errno != 0 && ret == PC_OK)
		ret = fs_err(err, errno, "read directory", dir);
	closedir(d);
	return ret;
}

static bool is_hex_name(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/*
 * Walks one level of blobs/: `depth` 0 is the fan-out level, 1 the blobs.
 * `prefix` holds the fan-out digits; names not fitting the layout (debris,
 * foreign files) are skipped.
 */
static enum pc_status list_dir(const char *dir, int depth, const char *prefix,
			       blob_list_fn fn, void *ctx, struct pc_err *err)
{
	enum pc_status st = PC_OK;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return errno == ENOENT ? PC_OK
				       : fs_err(err, errno, "open directory",
						dir);
	errno = 0;
	while (st == PC_OK && (e = readdir(d)) != NULL) {
		const char *name = e->d_name;

		if (depth == 0) {
			char sub[PATH_MAX];

			if (!is_hex_name(name, FS_FANOUT_DIGITS))
				goto next;
			/* A path that does not fit cannot be a fan-out
			 * directory of ours. */
			if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir,
					     name) >= sizeof(sub))
				goto next;
			st = list_dir(sub, 1, name, fn, ctx, err);
		} else {
			size_t n = strnlen(name, BLOB_KEY_MAX + 1);

			if (n < BLOB_KEY_MIN || !is_hex_name(name, n) ||
			    strncmp(name, prefix, FS_FANOUT_DIGITS) != 0)
				goto next;
			st = fn(name, ctx);
		}
next:
		errno = 0;
	}
	if (st == PC_OK && errno != 0)
		st = fs_err(err, errno, "read directory", dir);
	closedir(d);
	return st;
}

static enum pc_status fs_list(void *st, blob_list_fn fn, void *ctx,
			      struct pc_err *err)
{
	struct fs_store *fs = st;
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/blobs", fs->root);
	return list_dir(dir, 0, "", fn, ctx, err);
}

static const struct blob_ops fs_ops = {
	.name = "fs",
	.close = fs_close,
	.put_begin = fs_put_begin,
	.put_write = fs_put_write,
	.put_commit = fs_put_commit,
	.put_abort = fs_put_abort,
	.put_commit_deferred = fs_put_commit_deferred,
	.sync_fd = fs_sync_fd,
	.writer_fd = fs_writer_fd,
	.put_start_sync = fs_put_start_sync,
	.open = fs_open,
	.read = fs_read,
	.reader_fd = fs_reader_fd,
	.reader_close = fs_reader_close,
	.exists = fs_exists,
	.size = fs_size,
	.del = fs_del,
	.sweep_temp = fs_sweep_temp,
	.list = fs_list,
};

blob_store *blob_fs_open(const char *root, struct pc_err *err)
{
	struct fs_store *fs;
	char path[PATH_MAX];
	size_t n;

	if (root == NULL || root[0] == '\0') {
		pc_err_set(err, PC_INVAL, 0,
			   "blob store: root directory is missing");
		return NULL;
	}
	n = strnlen(root, FS_ROOT_MAX);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n >= FS_ROOT_MAX - 1) {
		pc_err_set(err, PC_LIMIT, 0,
			   "blob store: root directory path is too long");
		return NULL;
	}
	fs = pc_calloc(1, sizeof(*fs));
	if (fs == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory opening blob store");
		return NULL;
	}
	memcpy(fs->root, root, n);
	fs->root[n] = '\0';
	fs->root_fd = -1;
	if (make_dir(fs->root, err) != PC_OK)
		goto fail;
	fs->root_fd = open(fs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->root_fd < 0) {
		fs_err(err, errno, "open directory", fs->root);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/blobs", fs->root);
	if (make_dir(path, err) != PC_OK)
		goto fail;
	snprintf(path, sizeof(path), "%s/tmp", fs->root);
	if (make_dir(path, err) != PC_OK)
		goto fail;
	/* The fan-out directories are made (and blobs/ synced) here, once,
	 * so that a put never has to make one: a mkdir costs as much as the
	 * rest of a put together. */
	for (unsigned i = 0; i < FS_FANOUT_DIRS; i++) {
		snprintf(path, sizeof(path), "%s/blobs/%0*x", fs->root,
			 FS_FANOUT_DIGITS, i);
		if (make_dir(path, err) != PC_OK)
			goto fail;
	}
	snprintf(path, sizeof(path), "%s/blobs", fs->root);
	if (sync_dir(path, err) != PC_OK)
		goto fail;
	return blob__store_create(&fs_ops, fs, err);
fail:
	fs_close(fs);
	return NULL;
}
