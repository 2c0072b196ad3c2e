/*
 * test_core.c - the core services: status names, error detail, buffers
 * (sticky errors, limits), arenas and the allocation-failure hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/pc.h"

#include <string.h>

static void status_and_err(void **state)
{
	struct pc_err err = {0};

	(void)state;
	assert_string_equal(pc_status_name(PC_TRUNC), "TRUNC");
	assert_string_equal(pc_status_text(PC_NOMEM), "out of memory");
	assert_string_equal(pc_status_name((enum pc_status)999), "UNKNOWN");
	assert_int_equal(pc_err_set(&err, PC_PARSE, 42, "bad %s at %d", "tag",
				    7),
			 PC_PARSE);
	assert_string_equal(err.msg, "bad tag at 7");
	assert_int_equal(err.offset, 42);
	/* The first error wins. */
	assert_int_equal(pc_err_set(&err, PC_IO, 1, "later"), PC_IO);
	assert_int_equal(err.status, PC_PARSE);
	assert_int_equal(pc_err_set(NULL, PC_IO, 0, "ignored"), PC_IO);
	pc_err_clear(&err);
	assert_int_equal(err.status, PC_OK);
	assert_string_equal(err.msg, "");
}

static void buffers(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	char *s;
	size_t n;

	(void)state;
	assert_string_equal(pc_buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		pc_buf_putc(&b, (char)('a' + i % 26));
	pc_buf_printf(&b, "[%d:%s]", 12, "x");
	assert_int_equal(pc_buf_status(&b), PC_OK);
	assert_int_equal(b.n, 1000 + 6);
	assert_string_equal(pc_buf_str(&b) + 1000, "[12:x]");
	/* A formatted piece longer than the internal scratch buffer. */
	pc_buf_reset(&b);
	pc_buf_printf(&b, "%0600d", 5);
	assert_int_equal(b.n, 600);
	pc_buf_truncate(&b, 590);
	assert_string_equal(pc_buf_str(&b), "0000000000");
	s = pc_buf_steal(&b, &n);
	assert_int_equal(n, 10);
	assert_null(b.p);
	pc_free(s);

	/* Errors are sticky and the limit is enforced. */
	b.max = 8;
	pc_buf_puts(&b, "12345678");
	assert_int_equal(pc_buf_status(&b), PC_OK);
	pc_buf_putc(&b, '9');
	assert_int_equal(pc_buf_status(&b), PC_LIMIT);
	pc_buf_puts(&b, "more");
	assert_int_equal(b.n, 8);
	pc_buf_reset(&b);
	assert_int_equal(pc_buf_status(&b), PC_OK);
	pc_buf_cleanup(&b);
}

static void arena(void **state)
{
	pc_arena *a = pc_arena_create(1024);
	uint8_t *small[100], *big;

	(void)state;
	assert_non_null(a);
	for (int i = 0; i < 100; i++) {
		small[i] = pc_arena_alloc(a, 24);
		assert_non_null(small[i]);
		assert_int_equal((uintptr_t)small[i] % 16, 0);
		memset(small[i], i, 24);
	}
	big = pc_arena_alloc(a, 100000);
	assert_non_null(big);
	memset(big, 0xAB, 100000);
	for (int i = 0; i < 100; i++)
		assert_int_equal(small[i][23], i);
	assert_true(pc_arena_size(a) > 100000);
	assert_memory_equal(pc_arena_memdup(a, "dup", 4), "dup", 4);
	pc_arena_destroy(a);
	pc_arena_destroy(NULL);
}

static void allocation_hook(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	void *p;

	(void)state;
	pc_alloc_fail_after(2);
	p = pc_malloc(10);
	assert_non_null(p);
	assert_null(pc_malloc(10));
	assert_null(pc_calloc(1, 10));
	pc_buf_puts(&b, "x");
	assert_int_equal(pc_buf_status(&b), PC_NOMEM);
	assert_int_equal(pc_alloc_fail_after(0), 4);
	pc_free(p);
	pc_buf_cleanup(&b);
	p = pc_strdup("works again");
	assert_string_equal(p, "works again");
	pc_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_and_err),
		cmocka_unit_test(buffers),
		cmocka_unit_test(arena),
		cmocka_unit_test(allocation_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
