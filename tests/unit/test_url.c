/*
 * test_url.c - pc_url_decode (RFC 3986 2.1 percent-decoding, form '+') and
 * pc_qs_next (query string pairs): plain runs, escapes in both cases, every
 * malformed escape, NUL bytes, appending, out of memory; pair splitting,
 * empty pairs, missing '=', '=' inside values, non-terminated input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/pc.h"

#include <string.h>

/* Decodes `s` (strlen bytes) and expects `want`. */
static void dec_ok(const char *s, bool form, const char *want)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err = {0};

	assert_int_equal(pc_url_decode(s, strlen(s), form, &b, &err), PC_OK);
	assert_int_equal(err.status, PC_OK);
	assert_non_null(b.p); /* "" still reads as a C string */
	assert_string_equal(pc_buf_str(&b), want);
	assert_int_equal(b.n, strlen(want));
	pc_buf_cleanup(&b);
}

/* Decodes `n` bytes and expects PC_INVAL at `offset`; returns nothing but
 * checks the message mentions `word`. */
static void dec_bad(const char *s, size_t n, uint64_t offset, const char *word)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err = {0};

	assert_int_equal(pc_url_decode(s, n, true, &b, &err), PC_INVAL);
	assert_int_equal(err.status, PC_INVAL);
	assert_int_equal(err.offset, offset);
	assert_non_null(strstr(err.msg, word));
	pc_buf_cleanup(&b);
}

static void decode_plain_and_escapes(void **state)
{
	(void)state;
	dec_ok("", true, "");
	dec_ok("abc", true, "abc");
	dec_ok("a%20b", true, "a b");
	dec_ok("%41%62%7a%7A", true, "Abzz");
	dec_ok("%2B%2b", true, "++");
	dec_ok("%25", true, "%");
	dec_ok("%5E%3d", true, "^=");
	dec_ok("a+b+", true, "a b ");
	dec_ok("a+b", false, "a+b"); /* '+' only means space in forms */
	dec_ok("%C3%89ric", true, "\xC3\x89ric");
	dec_ok("%FF", true, "\xFF"); /* bytes, not characters */
}

static void decode_errors(void **state)
{
	(void)state;
	dec_bad("%", 1, 0, "malformed percent escape");
	dec_bad("ab%4", 4, 2, "malformed percent escape");
	dec_bad("%G0", 3, 0, "malformed");
	dec_bad("%0G", 3, 0, "malformed");
	dec_bad("ok%2", 4, 2, "malformed");
	dec_bad("a%%41", 5, 1, "malformed");
	dec_bad("a%00b", 5, 1, "encoded NUL");
	dec_bad("a\0b", 3, 1, "NUL byte");
	/* The length is what counts: "%4" cut out of "%41" is malformed. */
	dec_bad("%41", 2, 0, "malformed");
}

static void decode_appends_and_bounds(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err = {0};
	const char s[] = {'%', '4', '1', '%', '4', '2'}; /* no NUL after */

	(void)state;
	pc_buf_puts(&b, "x=");
	assert_int_equal(pc_url_decode(s, sizeof(s), true, &b, &err), PC_OK);
	assert_string_equal(pc_buf_str(&b), "x=AB");
	/* Only the first 3 bytes: "%41". */
	pc_buf_reset(&b);
	assert_int_equal(pc_url_decode(s, 3, true, &b, &err), PC_OK);
	assert_string_equal(pc_buf_str(&b), "A");
	/* A buffer with a maximum reports LIMIT. */
	pc_buf_reset(&b);
	b.max = 4;
	assert_int_equal(pc_url_decode("abcdefgh", 8, true, &b, &err),
			 PC_LIMIT);
	assert_int_equal(err.status, PC_LIMIT);
	pc_buf_cleanup(&b);
}

static void decode_out_of_memory(void **state)
{
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err err = {0};
	enum pc_status st;
	uint64_t n;

	(void)state;
	for (n = 1;; n++) {
		pc_buf_init(&b);
		pc_err_clear(&err);
		pc_alloc_fail_after(n);
		st = pc_url_decode("a%20b", 5, true, &b, &err);
		pc_alloc_fail_after(0);
		if (st == PC_OK)
			break;
		assert_int_equal(st, PC_NOMEM);
		assert_non_null(strstr(err.msg, "out of memory"));
		pc_buf_cleanup(&b);
	}
	assert_true(n >= 2);
	assert_string_equal(pc_buf_str(&b), "a b");
	pc_buf_cleanup(&b);
}

/* Collects the pairs of `s` as "name|value;" into `out`. */
static void pairs(const char *s, size_t n, char *out, size_t cap)
{
	struct pc_qs it = pc_qs_make(s, n);
	struct pc_span name, value;
	size_t o = 0;

	out[0] = '\0';
	while (pc_qs_next(&it, &name, &value)) {
		assert_true(o + name.n + value.n + 3 < cap);
		memcpy(out + o, name.p, name.n);
		o += name.n;
		out[o++] = '|';
		memcpy(out + o, value.p, value.n);
		o += value.n;
		out[o++] = ';';
		out[o] = '\0';
	}
	/* Exhausted stays exhausted. */
	assert_false(pc_qs_next(&it, &name, &value));
}

static void qs_iteration(void **state)
{
	char out[256];

	(void)state;
	pairs("", 0, out, sizeof(out));
	assert_string_equal(out, "");
	pairs("a=1", 3, out, sizeof(out));
	assert_string_equal(out, "a|1;");
	pairs("a=1&b=2", 7, out, sizeof(out));
	assert_string_equal(out, "a|1;b|2;");
	pairs("&&a=1&&b=2&", 11, out, sizeof(out));
	assert_string_equal(out, "a|1;b|2;");
	pairs("flag&x=", 7, out, sizeof(out));
	assert_string_equal(out, "flag|;x|;");
	pairs("x=a=b&=v", 8, out, sizeof(out));
	assert_string_equal(out, "x|a=b;|v;");
	pairs("p=%26&q=%3D", 11, out, sizeof(out));
	assert_string_equal(out, "p|%26;q|%3D;"); /* still encoded */
	/* Only n bytes are read: "a=1&b=2" cut to "a=1&b". */
	pairs("a=1&b=2", 5, out, sizeof(out));
	assert_string_equal(out, "a|1;b|;");
}

static void qs_spans_point_into_input(void **state)
{
	const char s[] = "limit=10&offset=5";
	struct pc_qs it = pc_qs_make(s, strlen(s));
	struct pc_span name, value;

	(void)state;
	assert_true(pc_qs_next(&it, &name, &value));
	assert_ptr_equal(name.p, (const uint8_t *)s);
	assert_int_equal(name.n, 5);
	assert_ptr_equal(value.p, (const uint8_t *)s + 6);
	assert_int_equal(value.n, 2);
	assert_true(pc_qs_next(&it, &name, &value));
	assert_ptr_equal(name.p, (const uint8_t *)s + 9);
	assert_int_equal(value.n, 1);
	assert_false(pc_qs_next(&it, &name, &value));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_plain_and_escapes),
		cmocka_unit_test(decode_errors),
		cmocka_unit_test(decode_appends_and_bounds),
		cmocka_unit_test(decode_out_of_memory),
		cmocka_unit_test(qs_iteration),
		cmocka_unit_test(qs_spans_point_into_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
