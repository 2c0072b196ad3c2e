/* buf.c - growable byte buffer with a sticky error (see pc.h). */
#include "pc.h"

#include <stdio.h>
#include <string.h>

void pc_buf_init(struct pc_buf *b)
{
	struct pc_buf empty = PC_BUF_INIT;

	*b = empty;
}

void pc_buf_cleanup(struct pc_buf *b)
{
	pc_free(b->p);
	pc_buf_init(b);
}

void pc_buf_reset(struct pc_buf *b)
{
	b->n = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
	b->st = PC_OK;
}

uint8_t *pc_buf_reserve(struct pc_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->st != PC_OK)
		return NULL;
	/* One byte more than asked for the NUL terminator. */
	if (!pc_add_ok(b->n, n, &need) || !pc_add_ok(need, 1, &need)) {
		b->st = PC_LIMIT;
		return NULL;
	}
	if (b->max != 0 && need - 1 > b->max) {
		b->st = PC_LIMIT;
		return NULL;
	}
	if (need > b->cap) {
		cap = b->cap ? b->cap : 64;
		while (cap < need) {
			if (!pc_mul_ok(cap, 2, &cap)) {
				cap = need;
				break;
			}
		}
		p = pc_realloc(b->p, cap);
		if (p == NULL) {
			b->st = PC_NOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	return (uint8_t *)b->p + b->n;
}

void pc_buf_commit(struct pc_buf *b, size_t n)
{
	if (b->st != PC_OK || b->p == NULL)
		return;
	b->n += n;
	b->p[b->n] = '\0';
}

void pc_buf_append(struct pc_buf *b, const void *p, size_t n)
{
	uint8_t *dst = pc_buf_reserve(b, n);

	if (dst == NULL)
		return;
	if (n > 0)
		memcpy(dst, p, n);
	pc_buf_commit(b, n);
}

void pc_buf_puts(struct pc_buf *b, const char *s)
{
	pc_buf_append(b, s, strlen(s));
}

void pc_buf_putc(struct pc_buf *b, char c)
{
	/* Fast path: no function call chain for the common case. */
	if (b->st == PC_OK && b->n + 2 <= b->cap &&
	    (b->max == 0 || b->n + 1 <= b->max)) {
		b->p[b->n++] = c;
		b->p[b->n] = '\0';
		return;
	}
	pc_buf_append(b, &c, 1);
}

void pc_buf_vprintf(struct pc_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	char small[256];
	int len;
	uint8_t *dst;

	va_copy(ap2, ap);
	len = vsnprintf(small, sizeof(small), fmt, ap);
	if (len < 0) {
		if (b->st == PC_OK)
			b->st = PC_INVAL;
		goto out;
	}
	if ((size_t)len < sizeof(small)) {
		pc_buf_append(b, small, (size_t)len);
		goto out;
	}
	dst = pc_buf_reserve(b, (size_t)len);
	if (dst == NULL)
		goto out;
	vsnprintf((char *)dst, (size_t)len + 1, fmt, ap2);
	pc_buf_commit(b, (size_t)len);
out:
	va_end(ap2);
}

void pc_buf_printf(struct pc_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pc_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void pc_buf_truncate(struct pc_buf *b, size_t n)
{
	if (n > b->n)
		n = b->n;
	b->n -= n;
	if (b->p != NULL)
		b->p[b->n] = '\0';
}

enum pc_status pc_buf_status(const struct pc_buf *b)
{
	return b->st;
}

const char *pc_buf_str(const struct pc_buf *b)
{
	return b->p != NULL ? b->p : "";
}

char *pc_buf_steal(struct pc_buf *b, size_t *len)
{
	char *p = b->p;

	if (len != NULL)
		*len = b->n;
	pc_buf_init(b);
	return p;
}
