/* test_dicomweb.c - the DICOMweb route table and UID checks (dicomweb.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* After the headers it needs. */
#include <cmocka.h>

#include "http/dicomweb_int.h"

static void test_uid_valid(void **state)
{
	static const char *const good[] = {
	    "1",
	    "0",
	    "1.2",
	    "1.2.840.10008.1.2.1",
	    "2.25.0",
	    "1.2.3.0.10",
	    "1.23456789012345678901234567890123456789012345678901234567890123"};
	static const char *const bad[] = {
	    "",
	    ".",
	    "1.",
	    ".1",
	    "1..2",
	    "1.02",
	    "01.2",
	    "1.2a",
	    "1.2 ",
	    "1,2",
	    "1.2.-3",
	    "1."
	    "234567890123456789012345678901234567890123456789012345678901234"};

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!dw_uid_valid(good[i]))
			fail_msg("rejected valid UID \"%s\"", good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (dw_uid_valid(bad[i]))
			fail_msg("accepted invalid UID \"%s\"", bad[i]);
	}
	assert_int_equal(strlen(good[6]), 64);
	assert_int_equal(strlen(bad[11]), 65);
	assert_false(dw_uid_valid(NULL));
}

/* Every route is complete; no two routes share a pattern and a method
 * (the server takes the first match, a twin would be dead). */
static void test_routes(void **state)
{
	const struct http_route *r;
	size_t n = 0, posts = 0, deletes = 0;

	(void)state;
	for (r = http_dicomweb_routes; r->pattern != NULL; r++, n++) {
		assert_non_null(r->begin);
		assert_true(r->methods != 0);
		assert_true(r->pattern[0] == '/');
		if (r->methods & HTTP_POST) {
			posts++;
			assert_non_null(r->body);
			assert_non_null(r->end);
			assert_non_null(r->done);
		}
		if (r->methods & HTTP_DELETE)
			deletes++;
		for (const struct http_route *q = http_dicomweb_routes; q != r;
		     q++) {
			if (strcmp(q->pattern, r->pattern) == 0 &&
			    (q->methods & r->methods) != 0)
				fail_msg("duplicate route %s", r->pattern);
		}
	}
	assert_int_equal(posts, 2);
	assert_int_equal(deletes, 3);
	assert_int_equal(n, 28);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uid_valid),
	    cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
