/*
 * alloc.c - the one allocator every module uses, with a failure-injection
 * hook for tests (curl's torture mode): library code must turn a failed
 * allocation into PC_NOMEM, and tests prove it by failing each one in turn.
 */
#include "pc.h"

#include <stdlib.h>
#include <string.h>

/* Shared by every thread of the server: relaxed atomics keep them free of
 * data races (the hook itself is for single-threaded tests). */
static uint64_t alloc_count;     /* allocations since the last hook call */
static uint64_t fail_at;         /* 0 = never fail; else fail from this one */

static bool should_fail(void)
{
	uint64_t n = __atomic_add_fetch(&alloc_count, 1, __ATOMIC_RELAXED);
	uint64_t at = __atomic_load_n(&fail_at, __ATOMIC_RELAXED);

	return at != 0 && n >= at;
}

uint64_t pc_alloc_fail_after(uint64_t n)
{
	uint64_t made = __atomic_exchange_n(&alloc_count, 0, __ATOMIC_RELAXED);

	__atomic_store_n(&fail_at, n, __ATOMIC_RELAXED);
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
