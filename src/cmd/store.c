/*
 * store.c - `pacsd store [--aet AE] [--aec AE] HOST PORT FILE|DIR...`:
 * C-STORE (PS3.4 B) of files and, recursively, folders.
 *
 * Each file is sent as stored, on a presentation context proposed from
 * the files themselves (scu_storage_contexts: the file's own transfer
 * syntax first). A first pass reads every file's SOP class and syntax (the
 * File Meta Information only, so a large folder is cheap) and skips what
 * is not DICOM; when there are more distinct (class, syntax) pairs than an
 * association can propose (128, PS3.8 9.3.2.2), the files are sent over
 * several associations, one per group of 128 pairs. Files are mapped, one
 * at a time, never all held in memory.
 */
#include "cmd.h"
#include "scu_common.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONTEXTS_PER_ASSOC 128

struct item {
	char *path;
	size_t pair;          /* index into the pairs */
};

struct job {
	struct scu_cli c;
	pc_arena *arena;      /* pairs' strings */
	struct item *items;
	size_t n_items, cap_items;
	struct scu_context *pairs;
	size_t n_pairs, cap_pairs;
	size_t sent, failed, skipped;
};

static bool add_item(struct job *j, const char *path, size_t pair)
{
	if (j->n_items == j->cap_items) {
		size_t cap = j->cap_items ? j->cap_items * 2 : 64;
		struct item *ni = pc_realloc(j->items, cap * sizeof(*ni));
		if (ni == NULL)
			return false;
		j->items = ni;
		j->cap_items = cap;
	}
	char *p = pc_strdup(path);
	if (p == NULL)
		return false;
	j->items[j->n_items].path = p;
	j->items[j->n_items].pair = pair;
	j->n_items++;
	return true;
}

/* The index of the file's (class, syntax) pair, added if new. */
static bool pair_of(struct job *j, const struct scu_context *ctx,
		    size_t *out)
{
	for (size_t i = 0; i < j->n_pairs; i++) {
		if (strcmp(j->pairs[i].abstract_syntax,
			   ctx->abstract_syntax) == 0 &&
		    strcmp(j->pairs[i].ts[0], ctx->ts[0]) == 0) {
			*out = i;
			return true;
		}
	}
	if (j->n_pairs == j->cap_pairs) {
		size_t cap = j->cap_pairs ? j->cap_pairs * 2 : 16;
		struct scu_context *np = pc_realloc(j->pairs,
						    cap * sizeof(*np));
		if (np == NULL)
			return false;
		j->pairs = np;
		j->cap_pairs = cap;
	}
	/* The context's strings live in the job's arena already. */
	j->pairs[j->n_pairs] = *ctx;
	*out = j->n_pairs++;
	return true;
}

/* First pass over one file: is it DICOM, and what does it need? */
static bool scan_file(struct job *j, const char *path)
{
	struct pc_err err = {0};
	const uint8_t *p;
	size_t n, pair;
	struct scu_context *ctx = NULL;
	size_t n_ctx = 0;

	if (!scu_cli_map(path, &p, &n, &err)) {
		printf("%s: skipped: %s\n", path, err.msg);
		j->skipped++;
		return true;
	}
	struct pc_span span = pc_span_make(p, n);
	enum pc_status st = scu_storage_contexts(j->arena, &span, 1, &ctx,
						 &n_ctx, &err);
	scu_cli_unmap(p, n);
	if (st == PC_NOMEM)
		return false;
	if (st != PC_OK || n_ctx != 1) {
		/* "file 0: ..." names the index in the one-file batch. */
		const char *msg = strncmp(err.msg, "file 0: ", 8) == 0
					  ? err.msg + 8
					  : err.msg;
		printf("%s: skipped: not DICOM (%s)\n", path, msg);
		j->skipped++;
		return true;
	}
	return pair_of(j, ctx, &pair) && add_item(j, path, pair);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Walks a folder in name order (a stable sending order for users). */
static bool scan_path(struct job *j, const char *path, unsigned depth)
{
	struct stat sb;

	if (stat(path, &sb) != 0) {
		printf("%s: skipped: cannot read it\n", path);
		j->skipped++;
		return true;
	}
	if (!S_ISDIR(sb.st_mode))
		return scan_file(j, path);
	if (depth > 64) {
		printf("%s: skipped: folders nested too deep\n", path);
		j->skipped++;
		return true;
	}
	struct dirent **list = NULL;
	int n = scandir(path, &list, NULL, by_name);
	if (n < 0) {
		printf("%s: skipped: cannot list it\n", path);
		j->skipped++;
		return true;
	}
	bool ok = true;
	struct pc_buf sub = PC_BUF_INIT;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (ok && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			pc_buf_reset(&sub);
			pc_buf_printf(&sub, "%s%s%s", path,
				      path[strlen(path) - 1] == '/' ? "" : "/",
				      name);
			ok = pc_buf_status(&sub) == PC_OK &&
			     scan_path(j, pc_buf_str(&sub), depth + 1);
		}
		free(list[i]);
	}
	free(list);
	pc_buf_cleanup(&sub);
	return ok;
}

/* Sends the files whose pairs are in [first, first + count). */
static void send_group(struct job *j, size_t first, size_t count)
{
	struct pc_err err = {0};
	scu_session *s = scu_open(&j->c.peer, j->pairs + first, count, &err);
	bool broken = s == NULL;

	if (s == NULL)
		fprintf(stderr, "%s: %s\n", j->c.prog, err.msg);
	for (size_t i = 0; i < j->n_items; i++) {
		const struct item *it = &j->items[i];
		const uint8_t *p;
		size_t n;
		uint16_t status = 0;

		if (it->pair < first || it->pair >= first + count)
			continue;
		if (broken) {
			printf("%s: FAILED: not sent (no association)\n",
			       it->path);
			j->failed++;
			continue;
		}
		pc_err_clear(&err);
		if (!scu_cli_map(it->path, &p, &n, &err)) {
			printf("%s: FAILED: %s\n", it->path, err.msg);
			j->failed++;
			continue;
		}
		enum pc_status st = scu_store(s, p, n, NULL, 0, &status, &err);
		scu_cli_unmap(p, n);
		if (st != PC_OK) {
			printf("%s: FAILED: %s\n", it->path, err.msg);
			j->failed++;
			/* A file the peer has no context for, or that cannot
			 * be read, leaves the association usable; a network
			 * or protocol error does not. */
			if (!scu_established(s)) {
				broken = true;
				scu_abort(s);
				s = NULL;
			}
			continue;
		}
		if (scu_status_is_failure(status)) {
			printf("%s: FAILED: status 0x%04X (%s)\n", it->path,
			       status, scu_status_text(status));
			j->failed++;
		} else {
			printf("%s: sent, status 0x%04X (%s)\n", it->path,
			       status, scu_status_text(status));
			j->sent++;
		}
	}
	if (s != NULL) {
		pc_err_clear(&err);
		if (scu_close(s, &err) != PC_OK)
			fprintf(stderr, "%s: release: %s\n", j->c.prog,
				err.msg);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pacsd store [OPTIONS] HOST PORT FILE|DIR...\n"
		"Sends DICOM files (folders recursively) with C-STORE, each "
		"in its own\ntransfer syntax. Files that are not DICOM are "
		"reported and skipped.\n\n");
	scu_cli_usage_common(out, false);
	fprintf(out, "Exit status: 0 all sent, 1 some failed, 2 usage.\n");
}

int cmd_store(int argc, char **argv)
{
	struct job j;
	int rc = 2;

	memset(&j, 0, sizeof(j));
	scu_cli_init(&j.c, "pacsd store", false);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			rc = 0;
			goto out;
		}
		if (strcmp(argv[i], "--") == 0) {
			for (i++; i < argc; i++)
				if (!scu_cli_positional(&j.c, argv[i]))
					goto out;
			break;
		}
		if (!scu_cli_arg(&j.c, argc, argv, &i, usage))
			goto out;
	}
	if (j.c.n_pos < 3 || !scu_cli_peer(&j.c)) {
		usage(stderr);
		goto out;
	}
	rc = 1;
	j.arena = pc_arena_create(16384);
	if (j.arena == NULL) {
		fprintf(stderr, "pacsd store: out of memory\n");
		goto out;
	}
	for (size_t k = 2; k < j.c.n_pos; k++) {
		if (!scan_path(&j, j.c.pos[k], 0)) {
			fprintf(stderr, "pacsd store: out of memory\n");
			goto out;
		}
	}
	if (j.n_items == 0) {
		fprintf(stderr, "pacsd store: no DICOM files to send\n");
		goto out;
	}
	for (size_t first = 0; first < j.n_pairs; first += CONTEXTS_PER_ASSOC)
		send_group(&j, first,
			   j.n_pairs - first < CONTEXTS_PER_ASSOC
				   ? j.n_pairs - first
				   : CONTEXTS_PER_ASSOC);
	printf("%zu sent, %zu failed", j.sent, j.failed);
	if (j.skipped > 0)
		printf(", %zu skipped (not DICOM)", j.skipped);
	printf("\n");
	rc = j.failed > 0 ? 1 : 0;
out:
	for (size_t k = 0; k < j.n_items; k++)
		pc_free(j.items[k].path);
	pc_free(j.items);
	pc_free(j.pairs);
	pc_arena_destroy(j.arena);
	scu_cli_cleanup(&j.c);
	return rc;
}
