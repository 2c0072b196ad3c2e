/*
 * test_mediatype.c - media types and Accept headers (src/http/mediatype.c):
 * quoted and unquoted parameters, escapes, case, whitespace, malformed
 * input, q-values and the stable sort, and http_mediatype_covers().
 */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http_int.h"

#include <string.h>

static int setup(void **state)
{
	*state = pc_arena_create(4096);
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	pc_arena_destroy(*state);
	return 0;
}

static enum pc_status parse(pc_arena *a, const char *s,
                            struct http_mediatype *m)
{
	struct pc_err err = {0};
	enum pc_status st = http_mediatype_parse(a, s, strlen(s), m, &err);

	if (st != PC_OK)
		assert_int_equal(err.status, st);
	return st;
}

static void test_simple(void **state)
{
	struct http_mediatype m;

	assert_int_equal(parse(*state, "application/dicom", &m), PC_OK);
	assert_string_equal(m.type, "application/dicom");
	assert_int_equal(m.n_params, 0);
	assert_true(m.q == 1.0);
	assert_int_equal(parse(*state, "  Image/PNG  ", &m), PC_OK);
	assert_string_equal(m.type, "image/png");
	/* Only the first n bytes count. */
	{
		struct pc_err err = {0};
		assert_int_equal(
		    http_mediatype_parse(*state, "text/plainXYZ", 10, &m, &err),
		    PC_OK);
		assert_string_equal(m.type, "text/plain");
	}
}

static void test_params(void **state)
{
	struct http_mediatype m;

	assert_int_equal(
	    parse(*state,
	          "multipart/related; type=\"application/dicom\"; "
	          "Boundary=AbC-123;transfer-syntax=1.2.840.10008.1.2.1",
	          &m),
	    PC_OK);
	assert_string_equal(m.type, "multipart/related");
	assert_int_equal(m.n_params, 3);
	assert_string_equal(m.params[1].name, "boundary");
	assert_string_equal(http_mediatype_param(&m, "type"),
	                    "application/dicom");
	assert_string_equal(http_mediatype_param(&m, "BOUNDARY"), "AbC-123");
	assert_string_equal(http_mediatype_param(&m, "transfer-syntax"),
	                    "1.2.840.10008.1.2.1");
	assert_null(http_mediatype_param(&m, "charset"));

	/* Escapes in quoted strings; ';' and ',' inside quotes. */
	assert_int_equal(parse(*state, "a/b; x=\"q\\\"u\\\\o;t,e\"", &m),
	                 PC_OK);
	assert_string_equal(http_mediatype_param(&m, "x"), "q\"u\\o;t,e");
	/* Empty quoted value; empty parameters; spaces around '='. */
	assert_int_equal(parse(*state, "a/b;; x=\"\" ;y = 2;", &m), PC_OK);
	assert_int_equal(m.n_params, 2);
	assert_string_equal(http_mediatype_param(&m, "x"), "");
	assert_string_equal(http_mediatype_param(&m, "y"), "2");
	/* Unquoted values with characters outside token (tolerated). */
	assert_int_equal(
	    parse(*state, "multipart/form-data; boundary=a/b=c?d", &m), PC_OK);
	assert_string_equal(http_mediatype_param(&m, "boundary"), "a/b=c?d");
	/* q in a Content-Type is a plain parameter. */
	assert_int_equal(parse(*state, "a/b; q=0.5", &m), PC_OK);
	assert_string_equal(http_mediatype_param(&m, "q"), "0.5");
	assert_true(m.q == 1.0);
	/* Eight parameters fit, nine do not. */
	assert_int_equal(
	    parse(*state, "a/b;a=1;b=2;c=3;d=4;e=5;f=6;g=7;h=8", &m), PC_OK);
	assert_int_equal(m.n_params, 8);
	assert_int_equal(
	    parse(*state, "a/b;a=1;b=2;c=3;d=4;e=5;f=6;g=7;h=8;i=9", &m),
	    PC_INVAL);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "application",
	    "application/",
	    "/dicom",
	    "a/b c",
	    "a/b; x",
	    "a/b; x=",
	    "a/b; =1",
	    "a/b; x=\"open",
	    "a/b; x=\"esc\\",
	    "a/b; x=1 2",
	    "a/b, c/d",
	    "*/png",
	    "*",
	    "a/b; x=\"1\"junk",
	};
	struct http_mediatype m;
	struct pc_err err = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(*state, bad[i], &m) != PC_INVAL)
			fail_msg("accepted: '%s'", bad[i]);
	}
	assert_int_equal(http_mediatype_parse(*state, NULL, 0, &m, &err),
	                 PC_INVAL);
}

static void test_accept(void **state)
{
	struct http_mediatype *v;
	size_t n;
	struct pc_err err = {0};

	assert_int_equal(
	    http_accept_parse(
	        *state,
	        "image/jpeg;q=0.5, multipart/related; "
	        "type=\"application/dicom, x\"; transfer-syntax=*, "
	        "application/dicom;q=0.5, image/*;q=0.9 , "
	        "text/html;level=1;q=0, application/json",
	        &v, &n, &err),
	    PC_OK);
	assert_int_equal(n, 6);
	/* q descending; equal q in header order. */
	assert_string_equal(v[0].type, "multipart/related");
	assert_string_equal(http_mediatype_param(&v[0], "type"),
	                    "application/dicom, x");
	assert_string_equal(http_mediatype_param(&v[0], "transfer-syntax"),
	                    "*");
	assert_string_equal(v[1].type, "application/json");
	assert_string_equal(v[2].type, "image/*");
	assert_true(v[2].q == 0.9);
	assert_string_equal(v[3].type, "image/jpeg");
	assert_string_equal(v[4].type, "application/dicom");
	assert_string_equal(v[5].type, "text/html");
	assert_true(v[5].q == 0.0);
	assert_int_equal(v[5].n_params, 1);
	assert_null(http_mediatype_param(&v[5], "q"));
}

static void test_accept_defaults_and_lenient(void **state)
{
	struct http_mediatype *v;
	size_t n;

	assert_int_equal(http_accept_parse(*state, NULL, &v, &n, NULL), PC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].type, "*/*");
	assert_int_equal(http_accept_parse(*state, "", &v, &n, NULL), PC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].type, "*/*");
	assert_int_equal(http_accept_parse(*state, " , ,", &v, &n, NULL),
	                 PC_OK);
	assert_int_equal(n, 1);
	/* What old Java clients send. */
	assert_int_equal(http_accept_parse(*state,
	                                   "text/html, image/gif, *; q=.2, "
	                                   "*/*; q=.2",
	                                   &v, &n, NULL),
	                 PC_OK);
	assert_int_equal(n, 4);
	assert_string_equal(v[2].type, "*/*");
	assert_true(v[2].q > 0.19 && v[2].q < 0.21);
	assert_int_equal(
	    http_accept_parse(*state, "a/b;q=1.000, c/d;Q=0.001", &v, &n, NULL),
	    PC_OK);
	assert_true(v[1].q > 0.0009 && v[1].q < 0.0011);
}

static void test_accept_malformed(void **state)
{
	static const char *const bad[] = {
	    "a/b;q=2", "a/b;q=-1", "a/b;q=x", "a/b;q=", "a/b;q=1.5",
	    "a/b;q=.", "text",     "a/b;x",   "a/b, c", "a/b;q=0.5x",
	};
	struct http_mediatype *v;
	size_t n;
	struct pc_err err;
	char many[2000];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (http_accept_parse(*state, bad[i], &v, &n, &err) != PC_INVAL)
			fail_msg("accepted: '%s'", bad[i]);
		assert_int_equal(err.status, PC_INVAL);
	}
	for (int i = 0; i < 101; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len,
		                        "a/b%d,", i);
	assert_int_equal(http_accept_parse(*state, many, &v, &n, NULL),
	                 PC_INVAL);
	/* 100 fit. */
	len = 0;
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len,
		                        "a/b%d;q=0.%d,", i, i % 10);
	assert_int_equal(http_accept_parse(*state, many, &v, &n, NULL), PC_OK);
	assert_int_equal(n, 100);
	for (size_t i = 1; i < n; i++)
		assert_true(v[i - 1].q >= v[i].q);
	/* Stability among equal q: the order of the header. */
	assert_string_equal(v[0].type, "a/b9");
	assert_string_equal(v[1].type, "a/b19");
}

static void test_covers(void **state)
{
	struct http_mediatype m;

	assert_int_equal(parse(*state, "*/*", &m), PC_OK);
	assert_true(http_mediatype_covers(&m, "application/dicom"));
	assert_int_equal(parse(*state, "image/*", &m), PC_OK);
	assert_true(http_mediatype_covers(&m, "image/png"));
	assert_true(http_mediatype_covers(&m, "IMAGE/jpeg"));
	assert_false(http_mediatype_covers(&m, "image"));
	assert_false(http_mediatype_covers(&m, "image/"));
	assert_false(http_mediatype_covers(&m, "imagex/png"));
	assert_false(http_mediatype_covers(&m, "application/dicom"));
	assert_int_equal(
	    parse(*state, "application/dicom; transfer-syntax=*", &m), PC_OK);
	assert_true(http_mediatype_covers(&m, "application/dicom"));
	assert_true(http_mediatype_covers(&m, "Application/DICOM"));
	assert_true(http_mediatype_covers(&m, "application/dicom; x=y"));
	assert_false(http_mediatype_covers(&m, "application/dicom+json"));
	assert_false(http_mediatype_covers(&m, "application/dico"));
}

static void test_alloc_failures(void **state)
{
	struct http_mediatype m;
	struct http_mediatype *v;
	size_t n;
	struct pc_err err;

	(void)state;
	for (uint64_t i = 1; i <= 6; i++) {
		pc_arena *a;
		enum pc_status st = PC_OK, st2 = PC_OK;
		memset(&err, 0, sizeof(err));
		pc_alloc_fail_after(i);
		a = pc_arena_create(256);
		if (a != NULL) {
			st = http_mediatype_parse(a, "a/b; x=\"yy\"; z=w", 16,
			                          &m, &err);
			st2 = http_accept_parse(a, "a/b;q=0.1, c/d", &v, &n,
			                        NULL);
		}
		pc_alloc_fail_after(0);
		assert_true(st == PC_OK || st == PC_NOMEM);
		assert_true(st2 == PC_OK || st2 == PC_NOMEM);
		pc_arena_destroy(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_simple, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_params, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accept_defaults_and_lenient,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accept_malformed, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_covers, setup, teardown),
	    cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
