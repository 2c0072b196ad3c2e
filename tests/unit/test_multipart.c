/*
 * test_multipart.c - the streaming multipart parser (src/http/multipart.c):
 * a 3-part body cut at every position (and fed byte by byte) gives the same
 * parts; preamble, epilogue, transport padding and bare LF; data that looks
 * like a boundary; Content-Disposition parameters; truncation, garbage and
 * malformed headers; limits; callback errors; allocation failures.
 */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTS 8

/* What the callbacks saw. */
struct seen {
	size_t n;
	struct {
		char ctype[128];
		char name[64];
		char filename[64];
		char location[64];
		struct pc_buf data;
		bool ended;
	} part[MAX_PARTS];
	enum pc_status fail_at_data; /* returned by part_data when != OK */
	size_t data_calls;
	bool in_part;
	bool order_error; /* a callback out of order */
};

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src);
}

static enum pc_status on_begin(void *ctx, const struct http_part *p)
{
	struct seen *s = ctx;

	if (s->in_part || s->n == MAX_PARTS) {
		s->order_error = true;
		return PC_INVAL;
	}
	s->in_part = true;
	copy(s->part[s->n].ctype, sizeof(s->part[0].ctype), p->content_type);
	copy(s->part[s->n].name, sizeof(s->part[0].name), p->disposition_name);
	copy(s->part[s->n].filename, sizeof(s->part[0].filename), p->filename);
	copy(s->part[s->n].location, sizeof(s->part[0].location),
	     p->content_location);
	pc_buf_init(&s->part[s->n].data);
	return PC_OK;
}

static enum pc_status on_data(void *ctx, const uint8_t *p, size_t n)
{
	struct seen *s = ctx;

	if (!s->in_part || n == 0) {
		s->order_error = true;
		return PC_INVAL;
	}
	s->data_calls++;
	if (s->fail_at_data != PC_OK)
		return s->fail_at_data;
	pc_buf_append(&s->part[s->n].data, p, n);
	return PC_OK;
}

static enum pc_status on_end(void *ctx)
{
	struct seen *s = ctx;

	if (!s->in_part) {
		s->order_error = true;
		return PC_INVAL;
	}
	s->part[s->n].ended = true;
	s->in_part = false;
	s->n++;
	return PC_OK;
}

static const struct http_multipart_cbs cbs = {on_begin, on_data, on_end};

static void seen_cleanup(struct seen *s)
{
	for (size_t i = 0; i < MAX_PARTS; i++)
		pc_buf_cleanup(&s->part[i].data);
	memset(s, 0, sizeof(*s));
}

/* Feeds `body` in the chunks given by `cuts` (ascending offsets). Returns
 * the first failing status, or finish()'s. */
static enum pc_status run(const char *boundary, const void *body, size_t n,
                          const size_t *cuts, size_t n_cuts, struct seen *s,
                          const struct http_multipart_limits *lim,
                          struct pc_err *err)
{
	http_multipart *m = http_multipart_create(boundary, &cbs, s, lim, err);
	enum pc_status st = PC_OK;
	size_t pos = 0;

	assert_non_null(m);
	for (size_t i = 0; i <= n_cuts && st == PC_OK; i++) {
		size_t end = i < n_cuts ? cuts[i] : n;
		st = http_multipart_feed(m, (const uint8_t *)body + pos,
		                         end - pos, err);
		pos = end;
	}
	if (st == PC_OK)
		st = http_multipart_finish(m, err);
	http_multipart_destroy(m);
	return st;
}

/* A body with CR/LF, dashes and boundary prefixes inside the data. */
static const char body3[] = "--XyZ_b0undary\r\n"
                            "Content-Disposition: form-data; name=\"meta\"\r\n"
                            "\r\n"
                            "hello\r\n--XyZ_b0und\r\n--XyZ\r\n"
                            "\r\n--XyZ_b0undary\r\n"
                            "Content-Disposition: form-data; name=\"file\"; "
                            "filename=\"a \\\"q\\\".dcm\"\r\n"
                            "Content-Type: application/dicom\r\n"
                            "Content-Location: x/y\r\n"
                            "\r\n"
                            "\r\r\n\n--\r\n-- --XyZ_b0undary\r\r"
                            "\r\n--XyZ_b0undary\r\n"
                            "\r\n"
                            "\r\n--XyZ_b0undary--\r\n";

static void check3(const struct seen *s)
{
	assert_false(s->order_error);
	assert_int_equal(s->n, 3);
	assert_string_equal(s->part[0].name, "meta");
	assert_string_equal(s->part[0].ctype, "");
	assert_string_equal(pc_buf_str(&s->part[0].data),
	                    "hello\r\n--XyZ_b0und\r\n--XyZ\r\n");
	assert_string_equal(s->part[1].name, "file");
	assert_string_equal(s->part[1].filename, "a \"q\".dcm");
	assert_string_equal(s->part[1].ctype, "application/dicom");
	assert_string_equal(s->part[1].location, "x/y");
	assert_int_equal(s->part[1].data.n, 27);
	assert_memory_equal(s->part[1].data.p,
	                    "\r\r\n\n--\r\n-- --XyZ_b0undary\r\r", 27);
	/* A part with no headers and empty content. */
	assert_string_equal(s->part[2].name, "");
	assert_int_equal(s->part[2].data.n, 0);
	for (size_t i = 0; i < 3; i++)
		assert_true(s->part[i].ended);
}

static void test_every_split(void **state)
{
	size_t n = sizeof(body3) - 1;
	struct seen s;
	struct pc_err err = {0};

	(void)state;
	/* One cut at every position. */
	for (size_t cut = 0; cut <= n; cut++) {
		memset(&s, 0, sizeof(s));
		assert_int_equal(
		    run("XyZ_b0undary", body3, n, &cut, 1, &s, NULL, &err),
		    PC_OK);
		check3(&s);
		seen_cleanup(&s);
	}
	/* Two cuts at every pair of positions. */
	for (size_t a = 0; a <= n; a += 3)
		for (size_t b = a; b <= n; b++) {
			size_t cuts[2] = {a, b};
			memset(&s, 0, sizeof(s));
			assert_int_equal(run("XyZ_b0undary", body3, n, cuts, 2,
			                     &s, NULL, &err),
			                 PC_OK);
			check3(&s);
			seen_cleanup(&s);
		}
}

static void test_byte_by_byte(void **state)
{
	size_t n = sizeof(body3) - 1;
	size_t *cuts = malloc(n * sizeof(*cuts));
	struct seen s;
	struct pc_err err = {0};

	(void)state;
	assert_non_null(cuts);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i;
	memset(&s, 0, sizeof(s));
	assert_int_equal(run("XyZ_b0undary", body3, n, cuts, n, &s, NULL, &err),
	                 PC_OK);
	check3(&s);
	seen_cleanup(&s);
	free(cuts);
}

static void test_preamble_epilogue_padding(void **state)
{
	static const char body[] =
	    "This is the preamble.\r\n-- b\r\n-b\r\nignored\r\n"
	    "--b \t \r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "one\r\n--b\t\r\n\r\ntwo\r\n--b--  trailing\r\n"
	    "epilogue --b\r\n junk";
	struct seen s;
	struct pc_err err = {0};

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    run("b", body, sizeof(body) - 1, NULL, 0, &s, NULL, &err), PC_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.part[0].ctype, "text/plain");
	assert_string_equal(pc_buf_str(&s.part[0].data), "one");
	assert_string_equal(pc_buf_str(&s.part[1].data), "two");
	seen_cleanup(&s);
}

static void test_bare_lf(void **state)
{
	static const char body[] = "--b\nContent-Type: a/b\n\ndata\r\nmore"
	                           "\n--b\n\nx\r\n--b--";
	struct seen s;
	struct pc_err err = {0};

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    run("b", body, sizeof(body) - 1, NULL, 0, &s, NULL, &err), PC_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.part[0].ctype, "a/b");
	assert_string_equal(pc_buf_str(&s.part[0].data), "data\r\nmore");
	assert_string_equal(pc_buf_str(&s.part[1].data), "x");
	seen_cleanup(&s);
}

static void test_quoted_boundary(void **state)
{
	/* The boundary comes out of Content-Type, quoted, with a space. */
	static const char ctype[] = "multipart/form-data; boundary=\"a b:c=d\"";
	static const char body[] = "--a b:c=d\r\n\r\nX\r\n--a b:c=d--";
	struct http_mediatype mt;
	pc_arena *a = pc_arena_create(1024);
	struct seen s;
	struct pc_err err = {0};

	(void)state;
	assert_int_equal(
	    http_mediatype_parse(a, ctype, sizeof(ctype) - 1, &mt, &err),
	    PC_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(run(http_mediatype_param(&mt, "boundary"), body,
	                     sizeof(body) - 1, NULL, 0, &s, NULL, &err),
	                 PC_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(pc_buf_str(&s.part[0].data), "X");
	seen_cleanup(&s);
	pc_arena_destroy(a);
}

static void test_truncated(void **state)
{
	static const char *const bodies[] = {
	    "--b\r\n\r\ndata",              /* no closing boundary */
	    "--b\r\n\r\ndata\r\n--b",       /* boundary, no "--" */
	    "--b\r\nContent-Type: x/y\r\n", /* headers unfinished */
	    "--b\r\n\r\ndata\r\n--b\r\n",   /* a new part, no headers */
	    "--b\r\n\r\ndata\r\n--b-",      /* half a close */
	};
	struct pc_err err;
	struct seen s;

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		memset(&s, 0, sizeof(s));
		memset(&err, 0, sizeof(err));
		assert_int_equal(run("b", bodies[i], strlen(bodies[i]), NULL, 0,
		                     &s, NULL, &err),
		                 PC_TRUNC);
		assert_int_equal(err.status, PC_TRUNC);
		assert_false(s.order_error);
		seen_cleanup(&s);
	}
}

static void test_garbage(void **state)
{
#define B(lit)                                                                 \
	{                                                                      \
		lit, sizeof(lit) - 1                                           \
	}
	static const struct {
		const char *p;
		size_t n;
	} bodies[] = {
	    B(""),                            /* empty body */
	    B("just some text, no boundary"), /* not multipart */
	    B("--bb\r\n\r\nx\r\n--bb--"),     /* another boundary */
	    B("--bx\r\n\r\nx\r\n--b--"),      /* boundary + garbage */
	    B("--b\r\nno colon here\r\n\r\nx\r\n--b--"),
	    B("--b\r\nA: b\r\n folded\r\n\r\nx\r\n--b--"),
	    B("--b\r\n\r\nx\r\n--b-x"), /* single dash */
	    B("--b\rx"),                /* CR without LF */
	    B("--b\r\nContent-Disposition: form-data; name=\"x\r\n\r\n"
	      "--b--"),                           /* unclosed quote */
	    B("--b\r\nA\0: b\r\n\r\nx\r\n--b--"), /* NUL in headers */
	};
#undef B
	struct pc_err err;
	struct seen s;

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		memset(&s, 0, sizeof(s));
		memset(&err, 0, sizeof(err));
		assert_int_equal(
		    run("b", bodies[i].p, bodies[i].n, NULL, 0, &s, NULL, &err),
		    PC_PARSE);
		assert_int_equal(err.status, PC_PARSE);
		seen_cleanup(&s);
	}
	/* A long preamble without a boundary stops early. */
	{
		char big[40000];
		http_multipart *m;
		memset(big, 'a', sizeof(big));
		memset(&s, 0, sizeof(s));
		memset(&err, 0, sizeof(err));
		m = http_multipart_create("b", &cbs, &s, NULL, &err);
		assert_non_null(m);
		assert_int_equal(http_multipart_feed(m, (const uint8_t *)big,
		                                     sizeof(big), &err),
		                 PC_PARSE);
		/* Sticky. */
		assert_int_equal(
		    http_multipart_feed(m, (const uint8_t *)"x", 1, NULL),
		    PC_PARSE);
		assert_int_equal(http_multipart_finish(m, NULL), PC_PARSE);
		http_multipart_destroy(m);
	}
}

static void test_limits(void **state)
{
	struct http_multipart_limits lim = {64, 2};
	static const char many[] =
	    "--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3"
	    "\r\n--b--";
	char big[256];
	struct pc_err err = {0};
	struct seen s;
	int len;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    run("b", many, sizeof(many) - 1, NULL, 0, &s, &lim, &err),
	    PC_LIMIT);
	assert_int_equal(s.n, 2);
	seen_cleanup(&s);

	len = snprintf(big, sizeof(big),
	               "--b\r\nContent-Type: %070d\r\n\r\nx\r\n--b--", 0);
	memset(&s, 0, sizeof(s));
	memset(&err, 0, sizeof(err));
	assert_int_equal(run("b", big, (size_t)len, NULL, 0, &s, &lim, &err),
	                 PC_LIMIT);
	seen_cleanup(&s);
	/* The same fits with the default limits. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(run("b", big, (size_t)len, NULL, 0, &s, NULL, NULL),
	                 PC_OK);
	assert_int_equal(s.n, 1);
	seen_cleanup(&s);
}

static void test_bad_boundaries(void **state)
{
	static const char *const bad[] = {"",          "a\nb",      "a\rb",
	                                  "trailing ", "tab\there", "quote\""};
	char longb[202];
	struct seen s;
	struct pc_err err;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_null(
		    http_multipart_create(bad[i], &cbs, &s, NULL, &err));
		assert_int_equal(err.status, PC_INVAL);
	}
	assert_null(http_multipart_create(NULL, &cbs, &s, NULL, NULL));
	memset(longb, 'x', sizeof(longb) - 1);
	longb[sizeof(longb) - 1] = '\0';
	assert_null(http_multipart_create(longb, &cbs, &s, NULL, NULL));
	longb[70] = '\0';
	http_multipart *m = http_multipart_create(longb, &cbs, &s, NULL, NULL);
	assert_non_null(m);
	http_multipart_destroy(m);
	http_multipart_destroy(NULL);
}

static void test_callback_error(void **state)
{
	struct seen s;
	struct pc_err err = {0};
	size_t n = sizeof(body3) - 1;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.fail_at_data = PC_LIMIT;
	assert_int_equal(run("XyZ_b0undary", body3, n, NULL, 0, &s, NULL, &err),
	                 PC_LIMIT);
	assert_int_equal(s.data_calls, 1);
	assert_int_equal(err.status, PC_LIMIT);
	seen_cleanup(&s);
}

/* Big random-ish binary data with CR, LF and dashes survives intact. */
static void test_binary_data(void **state)
{
	size_t dn = 200000, n;
	uint8_t *data = malloc(dn);
	struct pc_buf body = PC_BUF_INIT;
	uint32_t x = 12345;
	struct seen s;
	struct pc_err err = {0};
	size_t cuts[64];

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < dn; i++) {
		x = x * 1103515245u + 12345u;
		uint8_t v = (uint8_t)(x >> 16);
		/* Make CR, LF and '-' frequent. */
		data[i] = (v & 3) == 0 ? "\r\n-"[v % 3] : v;
	}
	pc_buf_puts(&body, "--0123\r\nContent-Disposition: form-data; "
	                   "name=file; filename=x.dcm\r\n\r\n");
	pc_buf_append(&body, data, dn);
	pc_buf_puts(&body, "\r\n--0123--\r\n");
	assert_int_equal(pc_buf_status(&body), PC_OK);
	n = body.n;
	for (size_t i = 0; i < 64; i++)
		cuts[i] = (n / 64) * i + (i * 7) % 13;
	memset(&s, 0, sizeof(s));
	assert_int_equal(run("0123", body.p, n, cuts, 64, &s, NULL, &err),
	                 PC_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.part[0].name, "file");
	assert_string_equal(s.part[0].filename, "x.dcm");
	assert_int_equal(s.part[0].data.n, dn);
	assert_memory_equal(s.part[0].data.p, data, dn);
	seen_cleanup(&s);
	pc_buf_cleanup(&body);
	free(data);
}

static void test_count_and_no_callbacks(void **state)
{
	static const struct http_multipart_cbs none = {NULL, NULL, NULL};
	static const char body[] = "--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b--";
	http_multipart *m = http_multipart_create("b", &none, NULL, NULL, NULL);

	(void)state;
	assert_non_null(m);
	assert_int_equal(http_multipart_feed(m, (const uint8_t *)body,
	                                     sizeof(body) - 1, NULL),
	                 PC_OK);
	assert_int_equal(http_multipart_finish(m, NULL), PC_OK);
	assert_int_equal(http_multipart_count(m), 2);
	http_multipart_destroy(m);
}

static void test_alloc_failures(void **state)
{
	struct pc_err err;
	http_multipart *m;

	(void)state;
	for (uint64_t i = 1; i <= 2; i++) {
		memset(&err, 0, sizeof(err));
		pc_alloc_fail_after(i);
		m = http_multipart_create("b", &cbs, NULL, NULL, &err);
		pc_alloc_fail_after(0);
		assert_null(m);
		assert_int_equal(err.status, PC_NOMEM);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_byte_by_byte),
	    cmocka_unit_test(test_preamble_epilogue_padding),
	    cmocka_unit_test(test_bare_lf),
	    cmocka_unit_test(test_quoted_boundary),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_bad_boundaries),
	    cmocka_unit_test(test_callback_error),
	    cmocka_unit_test(test_binary_data),
	    cmocka_unit_test(test_count_and_no_callbacks),
	    cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
