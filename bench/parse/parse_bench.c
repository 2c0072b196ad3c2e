/*
 * parse_bench.c - how fast pacsd's Part 10 reader goes through many files.
 *
 * usage: parse_bench [--header-only] [--repeat R] [--list-errors]
 *                    FILE... | @LISTFILE
 *
 * Each file is opened with dcm_file_open() (mmap + parse), its top-level
 * element count is read, and it is destroyed: the same work an indexer does
 * per file, and what `dcmread` and `dcmdump` are timed doing in run.sh.
 * --header-only stops at Pixel Data (DCM_READ_HEADER_ONLY). The list is
 * walked R times (default 1). Building the file list and stat()ing the files
 * happen before the clock starts; opening, mapping, parsing and unmapping
 * are timed with CLOCK_MONOTONIC.
 *
 * Output, one machine-readable line on stdout:
 *   files=N bytes=B seconds=S files_per_s=F mb_per_s=M errors=E elements=X
 * N and B count every parse (files x repeats), B in file bytes whatever the
 * mode, MB = 10^6 bytes. Files that fail to parse are counted in `errors`
 * (and in files and bytes: the reader still did the work of rejecting them);
 * --list-errors prints each failure on stderr once. Exit status 1 on bad
 * usage or an unreadable list, else 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dicom/dcm.h"

struct file_list {
	char **path;
	uint64_t *size;
	size_t n, cap;
};

static int list_add(struct file_list *l, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "parse_bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		char **p = realloc(l->path, cap * sizeof(*p));
		uint64_t *s;

		if (p == NULL)
			return -1;
		l->path = p;
		s = realloc(l->size, cap * sizeof(*s));
		if (s == NULL)
			return -1;
		l->size = s;
		l->cap = cap;
	}
	l->path[l->n] = strdup(path);
	if (l->path[l->n] == NULL)
		return -1;
	l->size[l->n] = (uint64_t)st.st_size;
	l->n++;
	return 0;
}

/* One path per line; empty lines and lines starting with '#' are skipped. */
static int list_read(struct file_list *l, const char *listfile)
{
	FILE *fp = fopen(listfile, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	if (fp == NULL) {
		fprintf(stderr, "parse_bench: %s: %s\n", listfile,
		        strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) >= 0) {
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (list_add(l, line) != 0) {
			rc = -1;
			break;
		}
	}
	free(line);
	fclose(fp);
	return rc;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	struct file_list list = {0};
	struct dcm_read_opts opts = {0};
	unsigned long repeat = 1;
	bool list_errors = false;
	uint64_t bytes = 0, errors = 0, files = 0;
	/* volatile: the element counts are the result the compiler must not
	 * discard, and with it the parse that produced them. */
	volatile uint64_t elements = 0;
	double t0, t1;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--header-only") == 0) {
			opts.flags |= DCM_READ_HEADER_ONLY;
		} else if (strcmp(a, "--repeat") == 0 && i + 1 < argc) {
			char *end;

			repeat = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || repeat == 0) {
				fprintf(stderr, "parse_bench: bad --repeat\n");
				goto cleanup;
			}
		} else if (strcmp(a, "--list-errors") == 0) {
			list_errors = true;
		} else if (a[0] == '@') {
			if (list_read(&list, a + 1) != 0)
				goto cleanup;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(
			    stderr,
			    "usage: parse_bench [--header-only] [--repeat R] "
			    "[--list-errors] FILE...|@LISTFILE\n");
			goto cleanup;
		} else if (list_add(&list, a) != 0) {
			goto cleanup;
		}
	}
	if (list.n == 0) {
		fprintf(stderr, "parse_bench: no input files\n");
		goto cleanup;
	}

	t0 = now();
	for (unsigned long r = 0; r < repeat; r++) {
		for (size_t i = 0; i < list.n; i++) {
			struct pc_err err = {0};
			dcm_file *f = dcm_file_open(list.path[i], &opts, &err);

			files++;
			bytes += list.size[i];
			if (f == NULL) {
				errors++;
				if (list_errors && r == 0)
					fprintf(stderr, "parse_bench: %s: %s\n",
					        list.path[i], err.msg);
				continue;
			}
			elements += dcm_dataset_count(dcm_file_dataset(f));
			dcm_file_destroy(f);
		}
	}
	t1 = now();

	{
		double s = t1 - t0 > 0 ? t1 - t0 : 1e-9;

		printf("files=%llu bytes=%llu seconds=%.6f files_per_s=%.1f "
		       "mb_per_s=%.2f errors=%llu elements=%llu\n",
		       (unsigned long long)files, (unsigned long long)bytes, s,
		       (double)files / s, (double)bytes / 1e6 / s,
		       (unsigned long long)errors,
		       (unsigned long long)elements);
	}
	rc = 0;
cleanup:
	for (size_t i = 0; i < list.n; i++)
		free(list.path[i]);
	free(list.path);
	free(list.size);
	return rc;
}
