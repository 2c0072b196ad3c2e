/*
 * sync.c - group durability: one syncfs(2) makes a whole group of
 * instances durable (their blobs, the blobs' directory entries and the
 * index commits), where the synchronous path costs three device flushes per
 * instance (blob fsync, directory fsync, WAL fsync).
 *
 * DESIGN
 *
 * Order for one instance in group mode (ingest.c): the blob is renamed
 * into place without a sync, the index row is committed without a sync,
 * then ingest__sync_wait() returns only after a syncfs(2) that STARTED
 * after that commit has returned 0 on every file system involved (the
 * blob store's and the index's, once when they are the same). Only then is
 * the instance acknowledged, so "acknowledged => bytes and row on stable
 * storage" holds as in synchronous mode.
 *
 * What a crash can leave: a blob without its row (an orphan; the sweep
 * removes it), or a row whose blob is missing or partial, since the page
 * cache writes back in any order. Such a row was never acknowledged; to
 * find it without checking every row, each successful sync records the
 * highest index seq it covered (idx_durable_set), and the start-up check
 * (ingest_sweep) compares size and SHA-256 of every row above the stored
 * mark with its blob, deleting those that do not match.
 *
 * Grouping: callers that arrive while a sync runs wait for the next one,
 * which one of them runs for all; with one client each instance gets its
 * own sync, with many the syncs are shared. A generation counter tells a
 * waiter when a sync that started after its commit has finished.
 *
 * Why syncfs and not fsync of each file: the fsyncs are separate device
 * flushes on file systems without a journal, and on ext4 with a journal a
 * file fsync already commits the whole journal; syncfs writes everything
 * dirty on the file system and flushes once. The price: an unrelated
 * process writing heavily to the same file system makes these syncs
 * longer (then run with --sync each). Linux 5.8+ reports writeback errors
 * through syncfs, which this relies on. It reports each error once, to the
 * next syncfs, and the pages that failed may be any upload's written before
 * it: so a failed sync fails every upload that had begun writing when it
 * began (ingest__sync_generation), not only those waiting for it.
 */
#include "ingest/ingest_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ingest_sync {
	idx *index;              /* borrowed */
	int fds[2];              /* distinct file systems to sync */
	dev_t devs[2];           /* their devices */
	size_t n_fds;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t started;        /* generation of the last sync begun */
	uint64_t done;           /* generation of the last sync finished */
	uint64_t failed;         /* generation of the last failed sync */
	bool running;
	int64_t synced_seq;      /* every instance up to it is durable */
	char why[160];           /* the last failure, for the waiters */
};

/* Adds `fd` unless a descriptor on the same file system is there. */
static enum pc_status add_fd(ingest_sync *s, int fd, struct pc_err *err)
{
	struct stat sb;

	if (fd < 0)
		return PC_OK;
	if (fstat(fd, &sb) != 0)
		return pc_err_set(err, PC_IO, 0,
				  "ingest: cannot stat a sync descriptor: %s",
				  strerror(errno));
	for (size_t i = 0; i < s->n_fds; i++)
		if (s->devs[i] == sb.st_dev)
			return PC_OK;
	s->devs[s->n_fds] = sb.st_dev;
	s->fds[s->n_fds++] = fd;
	return PC_OK;
}

enum pc_status ingest__sync_create(blob_store *store, idx *index,
				   ingest_sync **out, struct pc_err *err)
{
	ingest_sync *s;
	int ifd = -1;
	enum pc_status st;

	*out = NULL;
	s = pc_calloc(1, sizeof(*s));
	if (s == NULL)
		return pc_err_set(err, PC_NOMEM, 0, "out of memory");
	s->index = index;
	st = add_fd(s, blob_store_sync_fd(store), err);
	if (st == PC_OK)
		st = idx_defer_sync(index, &ifd, err);
	if (st == PC_OK)
		st = add_fd(s, ifd, err);
	if (st != PC_OK) {
		pc_free(s);
		return st;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->synced_seq = idx_last_seq(index);
	*out = s;
	return PC_OK;
}

void ingest__sync_destroy(ingest_sync *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	pc_free(s);
}

/* One sync of every file system; the caller leads generation `gen`. */
static void lead(ingest_sync *s, uint64_t gen)
{
	/* Read before syncing: every row up to it was committed before the
	 * syncfs below starts, with its blob renamed before the commit. */
	int64_t upto = idx_last_seq(s->index);
	char why[sizeof(s->why)] = "";

	for (size_t i = 0; i < s->n_fds && why[0] == '\0'; i++)
		if (syncfs(s->fds[i]) != 0)
			snprintf(why, sizeof(why), "syncfs failed: %s",
				 strerror(errno));
	pthread_mutex_lock(&s->lock);
	s->running = false;
	s->done = gen;
	if (why[0] != '\0') {
		s->failed = gen;
		memcpy(s->why, why, sizeof(why));
	} else if (upto > s->synced_seq) {
		s->synced_seq = upto;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (why[0] == '\0')
		idx_durable_set(s->index, upto);
}

uint64_t ingest__sync_generation(ingest_sync *s)
{
	uint64_t g;

	/* A sync running now may still write the caller's first pages: it
	 * must count as after the caller began. */
	pthread_mutex_lock(&s->lock);
	g = s->running ? s->started - 1 : s->started;
	pthread_mutex_unlock(&s->lock);
	return g;
}

enum pc_status ingest__sync_wait(ingest_sync *s, int64_t seq, uint64_t since,
				 struct pc_err *err)
{
	uint64_t target;
	enum pc_status st = PC_OK;

	pthread_mutex_lock(&s->lock);
	if (seq > 0 && seq <= s->synced_seq)
		goto out;
	/* A sync running now may have started before the caller's commit:
	 * the one after it is needed. */
	target = s->started + 1;
	while (s->done < target) {
		uint64_t gen;

		if (s->running) {
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		s->running = true;
		gen = ++s->started;
		pthread_mutex_unlock(&s->lock);
		lead(s, gen);
		pthread_mutex_lock(&s->lock);
	}
	/* A failure of any sync begun since the caller started writing: its
	 * bytes may be what failed (see ingest_int.h). */
	if (s->failed > since)
		st = pc_err_set(err, PC_IO, 0, "ingest: %s", s->why);
out:
	pthread_mutex_unlock(&s->lock);
	return st;
}
