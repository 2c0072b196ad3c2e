/*
 * arena.c - bump allocator. Chunks are chained; a request larger than the
 * chunk size gets a chunk of its own so that big values do not waste the
 * rest of a normal chunk.
 */
#include "pc.h"

#include <string.h>

#define ARENA_ALIGN 16u

struct chunk {
	struct chunk *next;
	size_t used;
	size_t cap;
	_Alignas(16) unsigned char data[];
};

struct pc_arena {
	struct chunk *head;   /* chunk being filled */
	size_t chunk_size;    /* data bytes of a normal chunk */
	size_t total;         /* bytes obtained from pc_malloc */
};

pc_arena *pc_arena_create(size_t chunk_size)
{
	pc_arena *a = pc_malloc(sizeof(*a));

	if (a == NULL)
		return NULL;
	a->head = NULL;
	a->chunk_size = chunk_size < 256 ? 256 : chunk_size;
	a->total = sizeof(*a);
	return a;
}

void pc_arena_destroy(pc_arena *a)
{
	struct chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		pc_free(c);
	}
	pc_free(a);
}

static struct chunk *chunk_new(pc_arena *a, size_t cap)
{
	size_t bytes;
	struct chunk *c;

	if (!pc_add_ok(sizeof(struct chunk), cap, &bytes))
		return NULL;
	c = pc_malloc(bytes);
	if (c == NULL)
		return NULL;
	c->used = 0;
	c->cap = cap;
	a->total += bytes;
	return c;
}

void *pc_arena_alloc(pc_arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t need;

	if (!pc_add_ok(n, ARENA_ALIGN - 1, &need))
		return NULL;
	need &= ~(size_t)(ARENA_ALIGN - 1);
	if (need == 0)
		need = ARENA_ALIGN;
	if (c != NULL && c->cap - c->used >= need) {
		void *p = c->data + c->used;

		c->used += need;
		return p;
	}
	if (need > a->chunk_size / 4) {
		/* Large: its own chunk, linked behind the current one so the
		 * current chunk keeps filling. */
		struct chunk *big = chunk_new(a, need);

		if (big == NULL)
			return NULL;
		big->used = need;
		if (c != NULL) {
			big->next = c->next;
			c->next = big;
		} else {
			big->next = NULL;
			a->head = big;
		}
		return big->data;
	}
	c = chunk_new(a, a->chunk_size);
	if (c == NULL)
		return NULL;
	c->next = a->head;
	a->head = c;
	c->used = need;
	return c->data;
}

void *pc_arena_memdup(pc_arena *a, const void *p, size_t n)
{
	void *d = pc_arena_alloc(a, n);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

char *pc_arena_strndup(pc_arena *a, const char *s, size_t n)
{
	char *d = pc_arena_alloc(a, n + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

size_t pc_arena_size(const pc_arena *a)
{
	return a->total;
}
