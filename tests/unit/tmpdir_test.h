/*
 * tmpdir_test.h - helpers shared by the unit tests that work in a
 * temporary directory of their own (test_index, test_ingest).
 */
#ifndef PACSD_TESTS_TMPDIR_TEST_H
#define PACSD_TESTS_TMPDIR_TEST_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int tmptest_rm_entry(const char *path, const struct stat *sb,
                                   int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes `dir` and everything below it, depth first, without following
 * symbolic links; errors are ignored (a test's leftovers are harmless). */
static inline void tmptest_rm_tree(const char *dir)
{
	nftw(dir, tmptest_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
