/*
 * replay_main.c - runs a libFuzzer target over files, without libFuzzer.
 *
 * Normal (gcc, ASan) builds link every fuzz/fuzz_*.c with this driver and
 * ctest runs it on the target's committed corpus as fuzz_replay_<name>, so
 * each seed and each crasher ever found stays a regression test (the idea
 * of stb's tests/fuzz_main.c and sqlite's test/fuzzcheck.c).
 *
 * Usage: fuzz_<name> PATH...   (files, or directories walked recursively)
 * Each input is read into a heap buffer of exactly its size, so that
 * reading one byte past the end is caught by AddressSanitizer as it would
 * be under libFuzzer. Exit status: 0 when every path was replayed, 1 when a
 * path is missing or unreadable (a typo in the corpus path must not pass
 * silently). A bug in the target aborts the process, which ctest reports as a
 * failure.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long replayed;
/* The input being replayed, named on stderr if the target aborts. */
static const char *volatile current;

static void on_abort(int sig)
{
	const char *p = current;

	if (p != NULL) {
		/* Async-signal-safe: write(2) only. */
		static const char msg[] = "replay: target aborted on input ";
		ssize_t ignored = write(2, msg, sizeof(msg) - 1);

		ignored = write(2, p, strlen(p));
		ignored = write(2, "\n", 1);
		(void)ignored;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int replay_file(const char *path, const struct stat *st)
{
	FILE *fp;
	uint8_t *buf;
	size_t n = (size_t)st->st_size;
	int rc = 1;

	fp = fopen(path, "rb");
	if (fp == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* malloc(0) may return NULL: an empty input gets a 1-byte buffer
	 * and size 0. */
	buf = malloc(n ? n : 1);
	if (buf == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto cleanup;
	}
	if (n > 0 && fread(buf, 1, n, fp) != n) {
		fprintf(stderr, "replay: %s: short read\n", path);
		goto cleanup;
	}
	if (getenv("REPLAY_VERBOSE") != NULL)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	/* buf holds exactly n bytes: an over-read is a heap overflow. */
	current = path;
	LLVMFuzzerTestOneInput(buf, n);
	current = NULL;
	replayed++;
	rc = 0;
cleanup:
	free(buf);
	fclose(fp);
	return rc;
}

static int replay_path(const char *path)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (S_ISREG(st.st_mode))
		return replay_file(path, &st);
	if (!S_ISDIR(st.st_mode))
		return 0;

	dir = opendir(path);
	if (dir == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((de = readdir(dir)) != NULL) {
		char *child;
		size_t len;

		/* Skip ".", ".." and hidden files (editor and VCS litter). */
		if (de->d_name[0] == '.')
			continue;
		len = strlen(path) + 1 + strlen(de->d_name) + 1;
		child = malloc(len);
		if (child == NULL) {
			rc = 1;
			break;
		}
		snprintf(child, len, "%s/%s", path, de->d_name);
		if (replay_path(child) != 0)
			rc = 1;
		free(child);
	}
	closedir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;

	signal(SIGABRT, on_abort);
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 1;
	}
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i]) != 0)
			rc = 1;
	printf("replayed %lu inputs\n", replayed);
	return rc;
}
