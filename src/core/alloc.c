/*
 * alloc.c - the one allocator every module uses, with a failure-injection
 * hook for tests (curl's torture mode): library code must turn a failed
 * allocation into PC_NOMEM, and tests prove it by failing each one in turn.
 */
#include "pc.h"

#include <stdlib.h>
#include <string.h>

static uint64_t alloc_count;     /* allocations since the last hook call */
static uint64_t fail_at;         /* 0 = never fail; else fail from this one */

static bool should_fail(void)
{
	alloc_count++;
	return fail_at != 0 && alloc_count >= fail_at;
}

uint64_t pc_alloc_fail_after(uint64_t n)
{
	uint64_t made = alloc_count;

	alloc_count = 0;
	fail_at = n;
	return made;
}

void *pc_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *pc_calloc(size_t count, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(count ? count : 1, size ? size : 1);
}

void *pc_realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

void pc_free(void *p)
{
	free(p);
}

char *pc_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = pc_malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}
