/*
 * walbuf.c - a SQLite VFS shim that gathers the writes to a WAL file into
 * one pwrite(2) per commit.
 *
 * Why: SQLite appends each WAL frame with two writes, its 24-byte header
 * and then the page, so a put that changes 17 pages costs 34 system
 * calls. On the virtual machines we run on a system call costs ~2 us, and
 * 34 small pwrites of those pages took ~70 us where one pwrite of the same
 * 70 KB took ~4 us (measured: bench/README.md, "Index writes"). The bytes,
 * their order and the moment they reach the file system stay what SQLite
 * asked for, only batched:
 *
 * - Writes that extend the pending run are appended to a buffer; any
 *   other write, or one that would overflow it, first writes the run out.
 * - The run is written before every other operation on the file (read,
 *   sync, truncate, size, close, file control), so SQLite never observes
 *   the file without its own writes.
 * - It is also written as soon as a commit frame is complete: a frame
 *   header whose "database size" field (bytes 4-7, see sqlite.org/
 *   fileformat2.html#walformat) is non-zero marks a commit, and the
 *   page written next ends it. SQLite publishes a commit to readers (the
 *   wal-index in shared memory) only after the frames' writes returned,
 *   and readers read the WAL through their own descriptors: so by the
 *   time any reader can know of a frame, it is in the file.
 *
 * Only files opened as WAL (SQLITE_OPEN_WAL) are buffered; the database
 * and everything else go straight to the underlying VFS. A write error
 * found when the run is written is returned by the call that triggered
 * it, which for a commit is the commit frame's write: SQLite then fails
 * the transaction as it would for its own write.
 */
#include "idx_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_CAP (1u << 20) /* bytes gathered at most before a write */
#define WALBUF_CHUNK 0x1f000u  /* bytes per underlying write, see wb_flush */
#define WAL_FRAME_HEADER 24

struct wb_file {
	sqlite3_file base;       /* our methods */
	sqlite3_file *real;      /* the underlying file, after this struct */
	unsigned char *buf;      /* pending run, WALBUF_CAP bytes, lazy */
	size_t len;              /* bytes pending */
	sqlite3_int64 off;       /* file offset of buf[0] */
	int commit_next;         /* the next write ends a commit frame */
};

static sqlite3_vfs wb_vfs;
static sqlite3_io_methods wb_methods;
static sqlite3_vfs *wb_real_vfs;
static int wb_init_rc = SQLITE_ERROR;
static pthread_once_t wb_once = PTHREAD_ONCE_INIT;

/* Writes the pending run out; SQLITE_OK or the underlying error. The unix
 * VFS writes at most 128 KiB - 1 per call (seekAndWrite masks the length
 * with 0x1ffff), hence the chunks. */
static int wb_flush(struct wb_file *f)
{
	size_t done = 0, n;
	int rc = SQLITE_OK;

	while (rc == SQLITE_OK && done < f->len) {
		n = f->len - done < WALBUF_CHUNK ? f->len - done : WALBUF_CHUNK;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
					       f->off + (sqlite3_int64)done);
		done += n;
	}
	f->len = 0;
	return rc;
}

static int wb_close(sqlite3_file *p)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);
	int rc2 = f->real->pMethods->xClose(f->real);

	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *p, void *out, int n, sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);

	if (rc != SQLITE_OK)
		return rc;
	return f->real->pMethods->xRead(f->real, out, n, off);
}

static int wb_write(sqlite3_file *p, const void *src, int n,
		    sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)p;
	const unsigned char *b = src;
	int rc = SQLITE_OK, ends_commit = f->commit_next;

	f->commit_next = 0;
	if (n <= 0)
		return f->real->pMethods->xWrite(f->real, src, n, off);
	if (f->buf == NULL) {
		f->buf = malloc(WALBUF_CAP);
		if (f->buf == NULL) { /* no buffer: write through */
			rc = f->real->pMethods->xWrite(f->real, src, n, off);
			goto out;
		}
	}
	if (f->len > 0 &&
	    (off != f->off + (sqlite3_int64)f->len ||
	     (size_t)n > WALBUF_CAP - f->len)) {
		rc = wb_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if ((size_t)n > WALBUF_CHUNK) { /* never from SQLite's WAL code */
		rc = f->real->pMethods->xWrite(f->real, src, n, off);
		goto out;
	}
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, b, (size_t)n);
	f->len += (size_t)n;
	if (n == WAL_FRAME_HEADER &&
	    (b[4] | b[5] | b[6] | b[7]) != 0)
		f->commit_next = 1; /* the commit frame's page follows */
out:
	if (rc == SQLITE_OK && ends_commit)
		rc = wb_flush(f);
	return rc;
}

static int wb_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *p, int flags)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wb_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);

	return rc != SQLITE_OK ? rc
			       : f->real->pMethods->xFileSize(f->real, size);
}

static int wb_lock(sqlite3_file *p, int lock)
{
	struct wb_file *f = (struct wb_file *)p;

	return f->real->pMethods->xLock(f->real, lock);
}

static int wb_unlock(sqlite3_file *p, int lock)
{
	struct wb_file *f = (struct wb_file *)p;

	return f->real->pMethods->xUnlock(f->real, lock);
}

static int wb_check_lock(sqlite3_file *p, int *out)
{
	struct wb_file *f = (struct wb_file *)p;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wb_file_control(sqlite3_file *p, int op, void *arg)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);

	return rc != SQLITE_OK ? rc
			       : f->real->pMethods->xFileControl(f->real, op,
								  arg);
}

static int wb_sector_size(sqlite3_file *p)
{
	struct wb_file *f = (struct wb_file *)p;

	return f->real->pMethods->xSectorSize(f->real);
}

static int wb_device_characteristics(sqlite3_file *p)
{
	struct wb_file *f = (struct wb_file *)p;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* Shared memory and memory mapping belong to the database file, which is
 * never wrapped; a WAL file does not get these calls, but the methods
 * table must be complete for its version. */
static int wb_shm_map(sqlite3_file *p, int pg, int sz, int extend,
		      void volatile **out)
{
	struct wb_file *f = (struct wb_file *)p;

	return f->real->pMethods->xShmMap(f->real, pg, sz, extend, out);
}

static int wb_shm_lock(sqlite3_file *p, int off, int n, int flags)
{
	struct wb_file *f = (struct wb_file *)p;

	return f->real->pMethods->xShmLock(f->real, off, n, flags);
}

static void wb_shm_barrier(sqlite3_file *p)
{
	struct wb_file *f = (struct wb_file *)p;

	f->real->pMethods->xShmBarrier(f->real);
}

static int wb_shm_unmap(sqlite3_file *p, int del)
{
	struct wb_file *f = (struct wb_file *)p;

	return f->real->pMethods->xShmUnmap(f->real, del);
}

static int wb_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc = wb_flush(f);

	return rc != SQLITE_OK ? rc
			       : f->real->pMethods->xFetch(f->real, off, n, out);
}

static int wb_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
	struct wb_file *f = (struct wb_file *)p;

	return f->real->pMethods->xUnfetch(f->real, off, page);
}

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *p,
		   int flags, int *out_flags)
{
	struct wb_file *f = (struct wb_file *)p;
	int rc;

	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		/* Not buffered: the underlying file fills our whole slot
		 * (szOsFile covers it) with its own methods. */
		return wb_real_vfs->xOpen(wb_real_vfs, name, p, flags,
					  out_flags);
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	rc = wb_real_vfs->xOpen(wb_real_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		f->base.pMethods = NULL; /* SQLite must not call xClose */
		return rc;
	}
	if (f->real->pMethods == NULL || f->real->pMethods->iVersion < 3) {
		/* An underlying VFS older than our methods table: do without
		 * the batching rather than call what it lacks. */
		if (f->real->pMethods != NULL)
			f->real->pMethods->xClose(f->real);
		return wb_real_vfs->xOpen(wb_real_vfs, name, p, flags,
					  out_flags);
	}
	f->base.pMethods = &wb_methods;
	return SQLITE_OK;
}

static void wb_setup(void)
{
	wb_real_vfs = sqlite3_vfs_find(NULL);
	if (wb_real_vfs == NULL)
		return;
	wb_vfs = *wb_real_vfs;
	wb_vfs.zName = IDX_WALBUF_VFS;
	wb_vfs.pNext = NULL;
	wb_vfs.szOsFile =
	    (int)sizeof(struct wb_file) + wb_real_vfs->szOsFile;
	wb_vfs.xOpen = wb_open;

	/* Version 3, as the unix VFS's files; wb_open checks the underlying
	 * file has as much before wrapping it. */
	wb_methods = (sqlite3_io_methods){
	    .iVersion = 3,
	    .xClose = wb_close,
	    .xRead = wb_read,
	    .xWrite = wb_write,
	    .xTruncate = wb_truncate,
	    .xSync = wb_sync,
	    .xFileSize = wb_file_size,
	    .xLock = wb_lock,
	    .xUnlock = wb_unlock,
	    .xCheckReservedLock = wb_check_lock,
	    .xFileControl = wb_file_control,
	    .xSectorSize = wb_sector_size,
	    .xDeviceCharacteristics = wb_device_characteristics,
	    .xShmMap = wb_shm_map,
	    .xShmLock = wb_shm_lock,
	    .xShmBarrier = wb_shm_barrier,
	    .xShmUnmap = wb_shm_unmap,
	    .xFetch = wb_fetch,
	    .xUnfetch = wb_unfetch,
	};
	wb_init_rc = sqlite3_vfs_register(&wb_vfs, 0);
}

int idx__walbuf_register(void)
{
	pthread_once(&wb_once, wb_setup);
	return wb_init_rc;
}
