/*
 * test_charset.c - Specific Character Set handling (src/dicom/charset.c).
 *
 * The bulk of the expectations comes from pydicom: vectors.txt (written by
 * tools/gen_charset_vectors.py) holds the raw values of pydicom's
 * charset_files and synthetic strings with pydicom's decoding of each. The
 * hand-written cases below cover what those files do not: resets, broken
 * escape sequences, invalid UTF-8, encoding, out-of-memory and threads.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dicom/charset_int.h"
#include "dicom/dcm.h"

/* ---- helpers ------------------------------------------------------------ */

static struct dcm_charset cs_of(const char *s)
{
	struct dcm_charset cs;
	struct pc_err err;

	pc_err_clear(&err);
	if (dcm_charset_parse(pc_span_make(s, strlen(s)), &cs, &err) != PC_OK)
		fail_msg("parse \"%s\": %s", s, err.msg);
	return cs;
}

/* Decodes into `out` (reset first); returns the status. */
static enum pc_status dec(const struct dcm_charset *cs, enum dcm_vr vr,
                          const void *p, size_t n, bool strict,
                          struct pc_buf *out, struct pc_err *err)
{
	pc_buf_reset(out);
	pc_err_clear(err);
	return dcm_charset_decode(cs, vr, pc_span_make(p, n), strict, out, err);
}

static enum pc_status enc(const struct dcm_charset *cs, enum dcm_vr vr,
                          const char *s, size_t n, struct pc_buf *out,
                          struct pc_err *err)
{
	pc_buf_reset(out);
	pc_err_clear(err);
	return dcm_charset_encode(cs, vr, pc_span_make(s, n), out, err);
}

/* Asserts that decoding `raw` (C string) in `csname` gives `want`. */
static void check_dec(const char *csname, enum dcm_vr vr, const char *raw,
                      const char *want)
{
	struct dcm_charset cs = cs_of(csname);
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;

	assert_int_equal(dec(&cs, vr, raw, strlen(raw), false, &out, &err),
	                 PC_OK);
	assert_string_equal(pc_buf_str(&out), want);
	pc_buf_cleanup(&out);
}

/* Asserts that strict decoding fails with PC_CHARSET at `off`, that the
 * lenient output is `want` and that the message contains `needle`. */
static void check_bad(const char *csname, enum dcm_vr vr, const char *raw,
                      size_t n, const char *want, uint64_t off,
                      const char *needle)
{
	struct dcm_charset cs = cs_of(csname);
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;

	assert_int_equal(dec(&cs, vr, raw, n, false, &out, &err), PC_OK);
	assert_string_equal(pc_buf_str(&out), want);
	assert_int_equal(dec(&cs, vr, raw, n, true, &out, &err), PC_CHARSET);
	assert_string_equal(pc_buf_str(&out), want);
	assert_int_equal(err.status, PC_CHARSET);
	assert_int_equal(err.offset, off);
	if (needle != NULL && strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
	pc_buf_cleanup(&out);
}

static void check_enc(const char *csname, enum dcm_vr vr, const char *text,
                      const char *want)
{
	struct dcm_charset cs = cs_of(csname);
	struct pc_buf out = PC_BUF_INIT, back = PC_BUF_INIT;
	struct pc_err err;

	if (enc(&cs, vr, text, strlen(text), &out, &err) != PC_OK)
		fail_msg("encode \"%s\" in %s: %s", text, csname, err.msg);
	assert_int_equal(out.n, strlen(want));
	assert_memory_equal(out.p, want, out.n);
	/* And back. */
	assert_int_equal(dec(&cs, vr, out.p, out.n, true, &back, &err), PC_OK);
	assert_string_equal(pc_buf_str(&back), text);
	pc_buf_cleanup(&out);
	pc_buf_cleanup(&back);
}

static bool utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t b = p[i];
		size_t len, k;
		uint32_t c;

		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xC2 && b <= 0xDF)
			len = 2, c = b & 0x1Fu;
		else if (b >= 0xE0 && b <= 0xEF)
			len = 3, c = b & 0x0Fu;
		else if (b >= 0xF0 && b <= 0xF4)
			len = 4, c = b & 0x07u;
		else
			return false;
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			c = (c << 6) | (p[i + k] & 0x3Fu);
		}
		if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
		    c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

/* ---- vectors.txt -------------------------------------------------------- */

struct vector {
	char src[8];
	char name[96];
	enum dcm_vr vr;
	uint8_t cs[96];
	size_t cs_n;
	uint8_t raw[512];
	size_t raw_n;
	uint8_t want[1024];
	size_t want_n;
};

static struct vector *vectors;
static size_t nvectors;

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Next space-separated field of *line into `buf`; false at the end. */
static bool field(char **line, char *buf, size_t size)
{
	char *p = *line;
	size_t n = 0;

	while (*p == ' ')
		p++;
	if (*p == '\0' || *p == '\n' || *p == '#')
		return false;
	while (*p != '\0' && *p != ' ' && *p != '\n') {
		if (n + 1 < size)
			buf[n++] = *p;
		p++;
	}
	buf[n] = '\0';
	*line = p;
	return true;
}

static bool unhex(const char *s, uint8_t *dst, size_t cap, size_t *n)
{
	size_t len = strlen(s), i;

	*n = 0;
	if (strcmp(s, "-") == 0)
		return true;
	if (len % 2 || len / 2 > cap)
		return false;
	for (i = 0; i < len; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		dst[(*n)++] = (uint8_t)(hi * 16 + lo);
	}
	return true;
}

static int load_vectors(void **state)
{
	const char *dir = getenv("PACSD_SOURCE_DIR");
	char path[1024], line[8192], f[3][4096];
	FILE *fp;
	size_t cap = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/unit/data/charset/vectors.txt",
	         dir != NULL ? dir : ".");
	fp = fopen(path, "r");
	if (fp == NULL) {
		fprintf(stderr, "cannot open %s (set PACSD_SOURCE_DIR)\n",
		        path);
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line, vr[4];
		struct vector *v;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (nvectors == cap) {
			struct vector *grown;

			cap = cap ? cap * 2 : 64;
			grown = realloc(vectors, cap * sizeof(*vectors));
			if (grown == NULL) {
				fclose(fp);
				return -1;
			}
			vectors = grown;
		}
		v = &vectors[nvectors];
		memset(v, 0, sizeof(*v));
		if (!field(&p, v->src, sizeof(v->src)) ||
		    !field(&p, v->name, sizeof(v->name)) ||
		    !field(&p, vr, sizeof(vr)) || strlen(vr) != 2 ||
		    !field(&p, f[0], sizeof(f[0])) ||
		    !field(&p, f[1], sizeof(f[1])) ||
		    !field(&p, f[2], sizeof(f[2]))) {
			fprintf(stderr, "bad vector line: %s", line);
			fclose(fp);
			return -1;
		}
		/* A VR is its two characters packed (dcm.h). */
		v->vr = (enum dcm_vr)DCM__VR(vr[0], vr[1]);
		if (!unhex(f[0], v->cs, sizeof(v->cs), &v->cs_n) ||
		    !unhex(f[1], v->raw, sizeof(v->raw), &v->raw_n) ||
		    !unhex(f[2], v->want, sizeof(v->want), &v->want_n)) {
			fprintf(stderr, "bad hex in vector %s\n", v->name);
			fclose(fp);
			return -1;
		}
		nvectors++;
	}
	fclose(fp);
	return nvectors > 0 ? 0 : -1;
}

static int free_vectors(void **state)
{
	(void)state;
	free(vectors);
	vectors = NULL;
	nvectors = 0;
	return 0;
}

static bool is_table(const struct vector *v)
{
	return strncmp(v->name, "table:", 6) == 0;
}

static struct dcm_charset vector_cs(const struct vector *v)
{
	struct dcm_charset cs;
	struct pc_err err;

	pc_err_clear(&err);
	if (dcm_charset_parse(pc_span_make(v->cs, v->cs_n), &cs, &err) != PC_OK)
		fail_msg("%s: charset: %s", v->name, err.msg);
	return cs;
}

/* Our decoding equals pydicom's for every vector. */
static void test_vectors_decode(void **state)
{
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;
	size_t i, nfile = 0;

	(void)state;
	for (i = 0; i < nvectors; i++) {
		const struct vector *v = &vectors[i];
		struct dcm_charset cs = vector_cs(v);
		enum pc_status st;

		st = dec(&cs, v->vr, v->raw, v->raw_n, false, &out, &err);
		if (st != PC_OK)
			fail_msg("%s: %s", v->name, err.msg);
		if (out.n != v->want_n ||
		    memcmp(pc_buf_str(&out), v->want, out.n) != 0)
			fail_msg("%s: got \"%s\", want \"%.*s\"", v->name,
			         pc_buf_str(&out), (int)v->want_n,
			         (const char *)v->want);
		/* Real data and pydicom-encoded strings are well formed. */
		if (!is_table(v)) {
			st =
			    dec(&cs, v->vr, v->raw, v->raw_n, true, &out, &err);
			if (st != PC_OK)
				fail_msg("%s: strict: %s", v->name, err.msg);
		}
		nfile += strcmp(v->src, "file") == 0;
	}
	assert_true(nfile >= 100);
	print_message("%zu vectors (%zu from charset_files) match\n", nvectors,
	              nfile);
	pc_buf_cleanup(&out);
}

/*
 * Encoding the expected text gives the original bytes, except where the
 * original chose another valid encoding:
 *  - pydicom designates value 1's G1 set explicitly at the start ("ESC - A"
 *    before "Müller") and never designates G1 back before delimiters and
 *    the end, which PS3.5 6.1.2.5.3 asks for and we do;
 *  - chrKoreanMulti ends each value with a redundant ESC ( B (G0 was never
 *    changed);
 *  - chrSQEncoding* (made by pydicom) return from JIS X 0208 with ESC ( B
 *    (ASCII) where value 1 (ISO 2022 IR 13) has ISO-IR 14 in G0, whose
 *    escape is ESC ( J as in chrH32 and PS3.5 H.3.2; we write ESC ( J.
 * Everything decodes back to the same text.
 */
static void test_vectors_encode(void **state)
{
	static const char *const differ[] = {
	    "encode:ISO_2022_IR_100\\ISO_2022_IR_126",
	    "encode:ISO_2022_IR_100\\ISO_2022_IR_144",
	    "chrKoreanMulti.dcm:00081070",
	    "chrKoreanMulti.dcm:00100010",
	    "chrKoreanMulti.dcm:00101001",
	    "chrKoreanMulti.dcm:001021B0",
	    "chrSQEncoding.dcm:00321064.0.00100010",
	    "chrSQEncoding1.dcm:00321064.0.00100010",
	};
	struct pc_buf out = PC_BUF_INIT, back = PC_BUF_INIT;
	struct pc_err err;
	size_t i, k, same = 0, total = 0;

	(void)state;
	for (i = 0; i < nvectors; i++) {
		const struct vector *v = &vectors[i];
		struct dcm_charset cs = vector_cs(v);
		bool expect_same = true;

		if (is_table(v))
			continue;
		total++;
		if (enc(&cs, v->vr, (const char *)v->want, v->want_n, &out,
		        &err) != PC_OK)
			fail_msg("%s: encode: %s", v->name, err.msg);
		assert_int_equal(
		    dec(&cs, v->vr, out.p, out.n, true, &back, &err), PC_OK);
		assert_int_equal(back.n, v->want_n);
		assert_memory_equal(back.p, v->want, back.n);
		for (k = 0; k < sizeof(differ) / sizeof(differ[0]); k++)
			if (strcmp(v->name, differ[k]) == 0)
				expect_same = false;
		if (out.n == v->raw_n && memcmp(out.p, v->raw, out.n) == 0) {
			same++;
		} else if (expect_same) {
			fail_msg("%s: encoding differs from the original",
			         v->name);
		}
	}
	print_message("%zu/%zu values re-encode to identical bytes\n", same,
	              total);
	pc_buf_cleanup(&out);
	pc_buf_cleanup(&back);
}

/* Every prefix of every vector (cut escape sequences, half characters)
 * decodes without crashing to valid UTF-8, strict or not. */
static void test_vectors_prefixes(void **state)
{
	struct pc_buf out = PC_BUF_INIT, out2 = PC_BUF_INIT;
	struct pc_err err;
	size_t i, k;

	(void)state;
	for (i = 0; i < nvectors; i++) {
		const struct vector *v = &vectors[i];
		struct dcm_charset cs = vector_cs(v);

		for (k = 0; k <= v->raw_n; k++) {
			enum pc_status st;

			assert_int_equal(
			    dec(&cs, v->vr, v->raw, k, false, &out, &err),
			    PC_OK);
			assert_true(utf8_valid((const uint8_t *)out.p, out.n));
			st = dec(&cs, v->vr, v->raw, k, true, &out2, &err);
			assert_true(st == PC_OK || st == PC_CHARSET);
			assert_int_equal(out.n, out2.n);
			assert_memory_equal(pc_buf_str(&out), pc_buf_str(&out2),
			                    out.n);
		}
	}
	pc_buf_cleanup(&out);
	pc_buf_cleanup(&out2);
}

/* ---- parsing ------------------------------------------------------------ */

static void test_parse_terms(void **state)
{
	static const char *const names[] = {
	    "ISO_IR 6",        "ISO_IR 100",
	    "ISO_IR 101",      "ISO_IR 109",
	    "ISO_IR 110",      "ISO_IR 144",
	    "ISO_IR 127",      "ISO_IR 126",
	    "ISO_IR 138",      "ISO_IR 148",
	    "ISO_IR 203",      "ISO_IR 13",
	    "ISO_IR 166",      "ISO_IR 192",
	    "GB18030",         "GBK",
	    "ISO 2022 IR 6",   "ISO 2022 IR 100",
	    "ISO 2022 IR 101", "ISO 2022 IR 109",
	    "ISO 2022 IR 110", "ISO 2022 IR 144",
	    "ISO 2022 IR 127", "ISO 2022 IR 126",
	    "ISO 2022 IR 138", "ISO 2022 IR 148",
	    "ISO 2022 IR 203", "ISO 2022 IR 13",
	    "ISO 2022 IR 166", "ISO 2022 IR 87",
	    "ISO 2022 IR 159", "ISO 2022 IR 149",
	    "ISO 2022 IR 58",
	};
	struct dcm_charset cs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cs = cs_of(names[i]);
		assert_int_equal(cs.n, 1);
		assert_string_equal(dcm_charset_term(&cs, 0), names[i]);
		assert_string_equal(dcm_charset_term(&cs, 1), "");
	}

	cs = cs_of("");
	assert_int_equal(cs.n, 0);
	assert_string_equal(dcm_charset_term(&cs, 0), "");
	cs = cs_of("  ");
	assert_int_equal(cs.n, 0);
	cs = cs_of("ISO_IR 100 ");
	assert_string_equal(dcm_charset_term(&cs, 0), "ISO_IR 100");
	cs = cs_of("ISO_IR 100\0"); /* NUL padding: strlen stops anyway */
	assert_int_equal(cs.n, 1);
	{
		static const char padded[] = "ISO_IR 192\0";
		struct pc_err err;

		assert_int_equal(
		    dcm_charset_parse(pc_span_make(padded, 11), &cs, &err),
		    PC_OK);
		assert_string_equal(dcm_charset_term(&cs, 0), "ISO_IR 192");
	}

	/* A leading empty value is the default repertoire for value 1. */
	cs = cs_of("\\ISO 2022 IR 87");
	assert_int_equal(cs.n, 2);
	assert_string_equal(dcm_charset_term(&cs, 0), "");
	assert_string_equal(dcm_charset_term(&cs, 1), "ISO 2022 IR 87");
	cs = cs_of("ISO 2022 IR 13\\ISO 2022 IR 87\\ISO 2022 IR 159");
	assert_int_equal(cs.n, 3);
	assert_string_equal(dcm_charset_term(&cs, 2), "ISO 2022 IR 159");
	/* Later empty values are ignored. */
	cs = cs_of("ISO 2022 IR 100\\\\ISO 2022 IR 126\\");
	assert_int_equal(cs.n, 2);
	assert_string_equal(dcm_charset_term(&cs, 1), "ISO 2022 IR 126");

	/* Stand-alone sets: first wins alone, later ones are dropped. */
	cs = cs_of("ISO_IR 192\\ISO 2022 IR 87");
	assert_int_equal(cs.n, 1);
	assert_string_equal(dcm_charset_term(&cs, 0), "ISO_IR 192");
	cs = cs_of("ISO 2022 IR 100\\GB18030");
	assert_int_equal(cs.n, 1);
	assert_string_equal(dcm_charset_term(&cs, 0), "ISO 2022 IR 100");

	assert_string_equal(dcm_charset_term(NULL, 0), "");
	cs.n = 1;
	cs.term[0] = 250;
	assert_string_equal(dcm_charset_term(&cs, 0), "");
}

static void test_parse_corrections(void **state)
{
	static const struct {
		const char *in, *term;
	} cases[] = {
	    {"ISO IR 100", "ISO_IR 100"}, /* pydicom corrects these */
	    {"ISO-IR 100", "ISO_IR 100"},
	    {"ISO-IR 192", "ISO_IR 192"},
	    {"ISO_2022_IR_87", "ISO 2022 IR 87"},
	    {"ISO-2022-IR-149", "ISO 2022 IR 149"},
	    {"iso_ir_100", "ISO_IR 100"}, /* pydicom: Python codec name */
	    {"ISO_IR192", "ISO_IR 192"},  /* seen in the wild */
	    {"ISO_IR 100  ", "ISO_IR 100"},
	    {"UTF-8", "ISO_IR 192"},
	    {"utf8", "ISO_IR 192"},
	    {"ISO 2022 GBK", "GBK"}, /* pydicom: early CP 1234 */
	    {"ISO 2022 58", "ISO 2022 IR 58"},
	    {"gb18030", "GB18030"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dcm_charset cs = cs_of(cases[i].in);

		assert_int_equal(cs.n, 1);
		assert_string_equal(dcm_charset_term(&cs, 0), cases[i].term);
	}
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *in, *needle;
		uint64_t off;
	} cases[] = {
	    {"ISO_IR 999", "\"ISO_IR 999\"", 0},
	    {"ISO 2022 IR 100\\FOO", "value 2 \"FOO\"", 16},
	    {"ISO_IR 87", "ISO_IR 87", 0}, /* only with code extensions */
	    {"ISO 2022 IR 192", "ISO 2022 IR 192", 0},
	    {"\x01\xff", "\"??\"", 0},
	    {"ISO 2022 IR 6\\ISO 2022 IR 100\\ISO 2022 IR 101\\"
	     "ISO 2022 IR 109\\ISO 2022 IR 110\\ISO 2022 IR 144\\"
	     "ISO 2022 IR 127\\ISO 2022 IR 126\\ISO 2022 IR 138",
	     "more than 8", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dcm_charset cs = {3, {1, 2, 3}};
		struct pc_err err;

		pc_err_clear(&err);
		assert_int_equal(
		    dcm_charset_parse(
		        pc_span_make(cases[i].in, strlen(cases[i].in)), &cs,
		        &err),
		    PC_CHARSET);
		assert_int_equal(cs.n, 0); /* left as the default */
		if (strstr(err.msg, cases[i].needle) == NULL)
			fail_msg("\"%s\" lacks \"%s\"", err.msg,
			         cases[i].needle);
		if (cases[i].off != 0)
			assert_int_equal(err.offset, cases[i].off);
	}
	/* NULL err is allowed; NULL out is not. */
	{
		struct dcm_charset cs;

		assert_int_equal(
		    dcm_charset_parse(pc_span_make("X", 1), &cs, NULL),
		    PC_CHARSET);
		assert_int_equal(
		    dcm_charset_parse(pc_span_make("X", 1), NULL, NULL),
		    PC_INVAL);
	}
}

/* ---- decoding by hand --------------------------------------------------- */

static void test_decode_single_byte(void **state)
{
	(void)state;
	check_dec("ISO_IR 100", DCM_VR_PN, "Buc^J\xe9r\xf4me", "Buc^Jérôme");
	/* chrRuss: Cyrillic with ASCII look-alikes ("ce", "yp"). */
	check_dec("ISO_IR 144", DCM_VR_PN,
	          "\xbb\xee\xda"
	          "ce\xdc\xd1yp\xd3",
	          "\u041b\u044e\u043a"
	          "ce\u043c\u0431yp\u0433");
	check_dec("ISO_IR 126", DCM_VR_PN,
	          "\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", "Διονυσιος");
	check_dec("ISO_IR 203", DCM_VR_LO, "\xa4 \xbc", "€ Œ");
	check_dec("ISO_IR 13", DCM_VR_PN, "\xd4\xcf\xc0\xde^\xc0\xdb\xb3",
	          "ﾔﾏﾀﾞ^ﾀﾛｳ");
	check_dec("ISO_IR 166", DCM_VR_LO, "\xca\xc7\xd1\xca\xb4\xd5", "สวัสดี");
	/* Pure ASCII is copied whatever the set, escapes aside. */
	check_dec("ISO_IR 192", DCM_VR_LO, "plain ASCII\\x", "plain ASCII\\x");
	check_dec("GB18030", DCM_VR_LO, "", "");
	/* A NULL charset is the default repertoire. */
	{
		struct pc_buf out = PC_BUF_INIT;
		struct pc_err err;

		assert_int_equal(
		    dec(NULL, DCM_VR_LO, "abc", 3, true, &out, &err), PC_OK);
		assert_string_equal(pc_buf_str(&out), "abc");
		pc_buf_cleanup(&out);
	}
}

static void test_decode_japanese(void **state)
{
	(void)state;
	/* chrH31: value 1 empty, ISO 2022 IR 87 by escapes. */
	check_dec("\\ISO 2022 IR 87", DCM_VR_PN,
	          "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B="
	          "\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
	          "Yamada^Tarou=山田^太郎=やまだ^たろう");
	/* chrH32: value 1 ISO 2022 IR 13 (katakana in G1, Romaji in G0). */
	check_dec("ISO 2022 IR 13\\ISO 2022 IR 87", DCM_VR_PN,
	          "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:"
	          "\x1b(J=\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J",
	          "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう");
	/* '^' (0x5E) is the second byte of "ma" while G0 is JIS X 0208:
	 * not a delimiter, no reset. Same for '=' in "so" (0x243D) and '\'
	 * in "bo" (0x245C). */
	check_dec("\\ISO 2022 IR 87", DCM_VR_PN, "\x1b$B$^\x1b(B", "ま");
	check_dec("\\ISO 2022 IR 87", DCM_VR_PN, "\x1b$B$=\x1b(B", "そ");
	check_dec("\\ISO 2022 IR 87", DCM_VR_LO, "\x1b$B$X$\\\x1b(B", "へぼ");
	/* JIS X 0212 and a space inside the two-byte state. */
	check_dec("\\ISO 2022 IR 87\\ISO 2022 IR 159", DCM_VR_LO,
	          "\x1b$(D0!\x1b$B ;3\x1b(B", "丂 山");
	/* Control characters end the two-byte state (PS3.5 6.1.2.5.3). */
	check_dec("\\ISO 2022 IR 87", DCM_VR_LT, "\x1b$B;3\r\n;3", "山\r\n;3");
}

static void test_decode_resets(void **state)
{
	const char *cs = "ISO 2022 IR 100\\ISO 2022 IR 126";

	(void)state;
	/* '\' resets G1 for multi-valued VRs only. */
	check_dec(cs, DCM_VR_LO, "\x1b-F\xc4\\\xc4", "Δ\\Ä");
	check_dec(cs, DCM_VR_SH, "\x1b-F\xc4\\\xc4", "Δ\\Ä");
	check_dec(cs, DCM_VR_LT, "\x1b-F\xc4\\\xc4", "Δ\\Δ");
	check_dec(cs, DCM_VR_UT, "\x1b-F\xc4\\\xc4", "Δ\\Δ");
	/* '^' and '=' reset in PN only. */
	check_dec(cs, DCM_VR_PN, "\x1b-F\xc4^\xc4=\x1b-F\xc4=\xc4", "Δ^Ä=Δ=Ä");
	check_dec(cs, DCM_VR_LO, "\x1b-F\xc4^\xc4=\xc4", "Δ^Δ=Δ");
	/* CR, LF, FF, TAB reset everywhere. */
	check_dec(cs, DCM_VR_LT, "\x1b-F\xc4\r\n\xc4", "Δ\r\nÄ");
	check_dec(cs, DCM_VR_LT, "\x1b-F\xc4\t\xc4", "Δ\tÄ");
	check_dec(cs, DCM_VR_ST, "\x1b-F\xc4\f\xc4", "Δ\fÄ");
	check_dec(cs, DCM_VR_LO, "\x1b-F\xc4\n\xc4", "Δ\nÄ");
	/* Korean: G1 reset to value 1 (no G1): the byte after '^' is not
	 * KS X 1001 any more, so it reads as Latin-1 and strict says so. */
	check_dec("\\ISO 2022 IR 149", DCM_VR_PN,
	          "\x1b$)C\xb1\xe8^\x1b$)C\xb1\xe8", "김^김");
	check_bad("\\ISO 2022 IR 149", DCM_VR_PN, "\x1b$)C\xb1\xe8^\xb1\xe8", 9,
	          "김^±è", 7, "default repertoire");
	/* A single-valued ISO 2022 IR 149 starts in KS X 1001 (EUC-KR). */
	check_dec("ISO 2022 IR 149", DCM_VR_LO, "\xb1\xe8 Kim", "김 Kim");
	/* Greek via explicit designation and back to ASCII-only G0. */
	check_dec(cs, DCM_VR_LO, "\x1b-F\xc4\x1b(Bx\x1b-A\xc4", "ΔxÄ");
}

static void test_decode_errors(void **state)
{
	(void)state;
	/* Truncated escape sequences: U+FFFD, no read past the end. */
	check_bad("\\ISO 2022 IR 87", DCM_VR_PN, "\x1b", 1, "\xef\xbf\xbd", 0,
	          "truncated");
	check_bad("\\ISO 2022 IR 87", DCM_VR_PN, "ab\x1b$", 4, "ab\xef\xbf\xbd",
	          2, "truncated");
	check_bad("\\ISO 2022 IR 159", DCM_VR_PN, "ab\x1b$(", 5,
	          "ab\xef\xbf\xbd", 2, "truncated");
	/* Unknown and malformed escapes: replaced, decoding goes on. */
	check_bad("\\ISO 2022 IR 87", DCM_VR_LO, "a\x1b(Zb", 5,
	          "a\xef\xbf\xbd"
	          "b",
	          1, "unknown escape");
	check_bad("\\ISO 2022 IR 87", DCM_VR_LO, "a\x1b\x01z", 4,
	          "a\xef\xbf\xbd\x01z", 1, "malformed");
	/* A designation the charset does not list still works; strict
	 * reports it. */
	check_bad("\\ISO 2022 IR 87", DCM_VR_LO, "\x1b-F\xc4", 4, "Δ", 0,
	          "does not list");
	check_bad("ISO_IR 100", DCM_VR_LO, "\x1b-F\xc4", 4, "Δ", 0,
	          "no code extensions");
	/* Half a character and an unassigned JIS X 0208 code point. */
	check_bad("\\ISO 2022 IR 87", DCM_VR_LO, "\x1b$B;3E\x1b(B", 9,
	          "山\xef\xbf\xbd", 5, "half");
	check_bad("\\ISO 2022 IR 87", DCM_VR_LO, "\x1b$B;3~~;3\x1b(B", 12,
	          "山\xef\xbf\xbd山", 5, "0x7E 0x7E");
	/* A GR byte that cannot start a KS X 1001 character. */
	check_bad("ISO 2022 IR 149", DCM_VR_LO, "\xa0x", 2, "\xef\xbf\xbdx", 0,
	          "0xA0");
	/* Unassigned byte of ISO 8859-3. */
	check_bad("ISO_IR 109", DCM_VR_LO, "a\xa5", 2, "a\xef\xbf\xbd", 1,
	          "0xA5");
	/* Katakana set: 0xE0 is not JIS X 0201. */
	check_bad("ISO_IR 13", DCM_VR_LO, "\xb1\xe0", 2, "ｱ\xef\xbf\xbd", 1,
	          NULL);
	/* No (0008,0005) but Latin-1 bytes: read as Latin-1, strict says
	 * so. */
	check_bad("", DCM_VR_PN, "J\xe9r\xf4me", 6, "Jérôme", 1,
	          "default repertoire");
	/* GB18030 / GBK: truncated and invalid sequences. */
	check_bad("GB18030", DCM_VR_LO, "ab\x81", 3, "ab\xef\xbf\xbd", 2,
	          "truncated");
	check_bad("GBK", DCM_VR_LO, "\xffz", 2, "\xef\xbf\xbdz", 0, "invalid");
	/* Invalid arguments. */
	{
		struct dcm_charset cs = {1, {200}};
		struct pc_buf out = PC_BUF_INIT;
		struct pc_err err;

		assert_int_equal(
		    dec(&cs, DCM_VR_LO, "\xe9", 1, false, &out, &err),
		    PC_INVAL);
		cs.n = 9;
		cs.term[0] = 0;
		assert_int_equal(dec(&cs, DCM_VR_LO, "a", 1, false, &out, &err),
		                 PC_INVAL);
		assert_int_equal(dcm_charset_decode(NULL, DCM_VR_LO,
		                                    pc_span_make("a", 1), false,
		                                    NULL, NULL),
		                 PC_INVAL);
		pc_buf_cleanup(&out);
	}
}

static void test_decode_utf8(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
		uint64_t off;
	} bad[] = {
	    {"a\xff"
	     "b",
	     3,
	     "a\xef\xbf\xbd"
	     "b",
	     1},
	    /* Maximal subparts: one U+FFFD per truncated sequence. */
	    {"\xe2\x82"
	     "x",
	     3, "\xef\xbf\xbdx", 0},
	    {"\xf0\x9f\x98", 3, "\xef\xbf\xbd", 0},
	    /* Surrogates and overlongs: one U+FFFD per byte. */
	    {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0},
	    {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 0},
	    {"ok \xf4\x90\x80\x80", 7,
	     "ok \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3},
	};
	size_t i;

	(void)state;
	check_dec("ISO_IR 192", DCM_VR_PN,
	          "Wang^XiaoDong=王^小東=", "Wang^XiaoDong=王^小東=");
	check_dec("ISO_IR 192", DCM_VR_LT, "😀 \x1b", "😀 \x1b");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad("ISO_IR 192", DCM_VR_LO, bad[i].in, bad[i].n,
		          bad[i].want, bad[i].off, "invalid UTF-8");
}

/* ---- encoding ----------------------------------------------------------- */

static void test_encode(void **state)
{
	(void)state;
	check_enc("ISO_IR 100", DCM_VR_PN, "Buc^Jérôme", "Buc^J\xe9r\xf4me");
	check_enc("ISO_IR 144", DCM_VR_PN, "Иванов^Иван",
	          "\xb8\xd2\xd0\xdd\xde\xd2^\xb8\xd2\xd0\xdd");
	check_enc("ISO_IR 126", DCM_VR_LO, "Διονυσιος",
	          "\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2");
	check_enc("ISO_IR 203", DCM_VR_LO, "€", "\xa4");
	check_enc("ISO_IR 13", DCM_VR_PN, "ﾔﾏﾀﾞ^ﾀﾛｳ",
	          "\xd4\xcf\xc0\xde^\xc0\xdb\xb3");
	check_enc("ISO_IR 192", DCM_VR_LO, "王 😀", "王 😀");
	check_enc("GB18030", DCM_VR_PN, "Wang^XiaoDong=王^小东",
	          "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab");
	check_enc("GB18030", DCM_VR_LO, "plain", "plain");
	check_enc("GBK", DCM_VR_LO, "中文", "\xd6\xd0\xce\xc4");
	check_enc("", DCM_VR_LO, "ASCII only", "ASCII only");
	/* ISO 2022: the bytes of chrH31, chrH32 and chrI2. */
	check_enc("\\ISO 2022 IR 87", DCM_VR_PN,
	          "Yamada^Tarou=山田^太郎=やまだ^たろう",
	          "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B="
	          "\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B");
	check_enc("ISO 2022 IR 13\\ISO 2022 IR 87", DCM_VR_PN,
	          "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう",
	          "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:"
	          "\x1b(J=\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J");
	check_enc("\\ISO 2022 IR 149", DCM_VR_PN,
	          "Hong^Gildong=洪^吉洞=홍^길동",
	          "Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7="
	          "\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf");
	check_enc("\\ISO 2022 IR 58", DCM_VR_LO, "中文",
	          "\x1b$)A\xd6\xd0\xce\xc4");
	check_enc("\\ISO 2022 IR 87\\ISO 2022 IR 159", DCM_VR_LO, "丂山",
	          "\x1b$(D0!\x1b$B;3\x1b(B");
	/* G1 designated back to value 1's before delimiters and the end. */
	check_enc("ISO 2022 IR 100\\ISO 2022 IR 126", DCM_VR_PN, "Ä^Δ",
	          "\xc4^\x1b-F\xc4\x1b-A");
	check_enc("ISO 2022 IR 100\\ISO 2022 IR 126", DCM_VR_LO, "Δ\\Ä",
	          "\x1b-F\xc4\x1b-A\\\xc4");
	check_enc("ISO 2022 IR 100\\ISO 2022 IR 126", DCM_VR_LT, "Δ\\Δ",
	          "\x1b-F\xc4\\\xc4\x1b-A");
	check_enc("ISO 2022 IR 100\\ISO 2022 IR 126", DCM_VR_LT, "Δ\r\nÄ",
	          "\x1b-F\xc4\x1b-A\r\n\xc4");
}

static void test_encode_errors(void **state)
{
	static const struct {
		const char *cs, *text, *needle;
		uint64_t off;
	} cases[] = {
	    {"", "Jé", "U+00E9", 1},
	    {"ISO 2022 IR 6", "Jé", "U+00E9", 1},
	    {"ISO_IR 100", "ab中", "U+4E2D at offset 2", 2},
	    {"ISO_IR 13", "山", "U+5C71", 0},
	    {"\\ISO 2022 IR 87", "한", "U+D55C", 0},
	    {"GBK", "x😀", "offset 1", 1},
	    {"ISO_IR 100", "a\xff", "invalid UTF-8", 1},
	    {"ISO_IR 192", "a\xc3", "invalid UTF-8", 1},
	    {"GB18030", "\xed\xa0\x80", "invalid UTF-8", 0},
	    {"\\ISO 2022 IR 87", "a\x1b$B", "ESC", 1},
	};
	struct pc_buf out = PC_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dcm_charset cs = cs_of(cases[i].cs);
		struct pc_err err;

		pc_buf_reset(&out);
		pc_buf_puts(&out, "keep");
		pc_err_clear(&err);
		assert_int_equal(
		    dcm_charset_encode(
		        &cs, DCM_VR_LO,
		        pc_span_make(cases[i].text, strlen(cases[i].text)),
		        &out, &err),
		    PC_CHARSET);
		/* Nothing half-encoded is left behind. */
		assert_string_equal(pc_buf_str(&out), "keep");
		assert_int_equal(err.offset, cases[i].off);
		if (strstr(err.msg, cases[i].needle) == NULL)
			fail_msg("\"%s\" lacks \"%s\"", err.msg,
			         cases[i].needle);
	}
	pc_buf_cleanup(&out);
}

/* ---- splitting values (charset_int.h) ------------------------------------ */

static void check_split(const char *csname, const char *v, size_t n,
                        size_t want_count, const char *const *want)
{
	struct dcm_charset cs = cs_of(csname);
	struct pc_span part;
	size_t i;

	assert_int_equal(dcm__charset_split(&cs, pc_span_make(v, n), 0, NULL),
	                 want_count);
	for (i = 0; i < want_count; i++) {
		part.p = NULL;
		part.n = 99;
		assert_int_equal(
		    dcm__charset_split(&cs, pc_span_make(v, n), i, &part),
		    want_count);
		assert_int_equal(part.n, strlen(want[i]));
		assert_memory_equal(part.p, want[i], part.n);
	}
	/* Past the end: *out is left alone. */
	part.n = 99;
	assert_int_equal(
	    dcm__charset_split(&cs, pc_span_make(v, n), want_count, &part),
	    want_count);
	assert_int_equal(part.n, 99);
}

static void test_split(void **state)
{
	static const char *const plain[] = {"a", "", "b"};
	static const char *const empty[] = {""};
	static const char *const jis[] = {"\x1b$B$\\$X\x1b(B", "x"};
	static const char *const jis_bad[] = {"\x1b$B$\\\n", ""};
	static const char *const gbk[] = {"\x81\\", "x"};
	static const char *const gb18030[] = {"\x81\x30\x81\x30", "y",
	                                      "\xcd\\"};
	static const char *const greek[] = {"\x1b-F\xc4", "\xc4"};
	struct pc_span part;

	(void)state;
	check_split("", "a\\\\b", 4, 3, plain);
	check_split("ISO_IR 192", "", 0, 1, empty);
	check_split("ISO 2022 IR 100\\ISO 2022 IR 126", "\x1b-F\xc4\\\xc4", 6,
	            2, greek);
	/* JIS X 0208 "bo" is 0x24 0x5C: not a delimiter inside ESC $ B. */
	check_split("\\ISO 2022 IR 87", "\x1b$B$\\$X\x1b(B\\x", 12, 2, jis);
	/* A truncated pair at the end, and a control resets G0. */
	check_split("\\ISO 2022 IR 87", "\x1b$B$\\\n\\", 7, 2, jis_bad);
	/* GBK: 0x5C as second byte. */
	check_split("GBK", "\x81\\\\x", 4, 2, gbk);
	/* GB18030: four-byte character, then a two-byte one ending in 0x5C
	 * is cut at the end of the value. */
	check_split("GB18030", "\x81\x30\x81\x30\\y\\\xcd\\", 9, 3, gb18030);
	/* NULL charset = default; NULL out allowed. */
	assert_int_equal(
	    dcm__charset_split(NULL, pc_span_make("a\\b", 3), 1, &part), 2);
	assert_int_equal(part.n, 1);
	assert_int_equal(part.p[0], 'b');
}

/* ---- robustness --------------------------------------------------------- */

/* Every allocation fails in turn: PC_NOMEM, never a crash or a leak. */
static void test_out_of_memory(void **state)
{
	static const struct {
		const char *cs;
		enum dcm_vr vr;
		const char *raw, *text;
	} cases[] = {
	    {"\\ISO 2022 IR 87", DCM_VR_PN,
	     "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B",
	     "Yamada^Tarou=山田^太郎"},
	    {"ISO_IR 100", DCM_VR_LO, "J\xe9r\xf4me", "Jérôme"},
	    {"GB18030", DCM_VR_LO, "\xd6\xd0\xce\xc4", "中文"},
	    {"ISO_IR 192", DCM_VR_LO, "\xe4\xb8\xad", "中"},
	};
	size_t i;
	uint64_t n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dcm_charset cs = cs_of(cases[i].cs);

		for (n = 1;; n++) {
			struct pc_buf out = PC_BUF_INIT;
			enum pc_status st;

			pc_alloc_fail_after(n);
			st = dcm_charset_decode(
			    &cs, cases[i].vr,
			    pc_span_make(cases[i].raw, strlen(cases[i].raw)),
			    false, &out, NULL);
			pc_alloc_fail_after(0);
			pc_buf_cleanup(&out);
			if (st == PC_OK)
				break;
			assert_int_equal(st, PC_NOMEM);
			assert_true(n < 100);
		}
		for (n = 1;; n++) {
			struct pc_buf out = PC_BUF_INIT;
			enum pc_status st;

			pc_alloc_fail_after(n);
			st = dcm_charset_encode(
			    &cs, cases[i].vr,
			    pc_span_make(cases[i].text, strlen(cases[i].text)),
			    &out, NULL);
			pc_alloc_fail_after(0);
			pc_buf_cleanup(&out);
			if (st == PC_OK)
				break;
			assert_int_equal(st, PC_NOMEM);
			assert_true(n < 100);
		}
	}
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

/*
 * Random bytes, biased towards escape sequences, delimiters and high bytes,
 * in every character set: decoding gives valid UTF-8, the same with or
 * without `strict`; when that text encodes, it decodes back to itself.
 */
static void test_random(void **state)
{
	static const char *const sets[] = {
	    "",
	    "ISO_IR 100",
	    "ISO_IR 109",
	    "ISO_IR 13",
	    "ISO_IR 166",
	    "ISO_IR 192",
	    "GB18030",
	    "GBK",
	    "ISO 2022 IR 6",
	    "\\ISO 2022 IR 87",
	    "ISO 2022 IR 13\\ISO 2022 IR 87",
	    "\\ISO 2022 IR 87\\ISO 2022 IR 159",
	    "\\ISO 2022 IR 149",
	    "\\ISO 2022 IR 58",
	    "ISO 2022 IR 100\\ISO 2022 IR 126\\"
	    "ISO 2022 IR 144\\ISO 2022 IR 13",
	};
	static const char *const pieces[] = {
	    "\x1b(B",
	    "\x1b(J",
	    "\x1b)I",
	    "\x1b$B",
	    "\x1b$(D",
	    "\x1b$)C",
	    "\x1b$)A",
	    "\x1b-A",
	    "\x1b-F",
	    "\x1b-L",
	    "\x1b",
	    "\x1b$",
	    "\\",
	    "^",
	    "=",
	    "\r\n",
	    "\t",
	    " ",
	    ";3",
	    "$^",
	    "\xb1\xe8",
	    "\xd6\xd0",
	    "\xe4\xb8\xad",
	    "\xf0\x9f\x98\x80",
	    "\x81\x30",
	};
	static const enum dcm_vr vrs[] = {DCM_VR_PN, DCM_VR_LO, DCM_VR_LT};
	struct pc_buf out = PC_BUF_INIT, out2 = PC_BUF_INIT, back = PC_BUF_INIT;
	size_t iter, roundtrips = 0;

	(void)state;
	for (iter = 0; iter < 30000; iter++) {
		struct dcm_charset cs =
		    cs_of(sets[iter % (sizeof(sets) / sizeof(sets[0]))]);
		enum dcm_vr vr = vrs[rnd() % 3];
		uint8_t buf[96];
		size_t n = 0, len = rnd() % 40;
		struct pc_err err;
		enum pc_status st;

		while (n < len) {
			if (rnd() % 3 == 0) {
				const char *p =
				    pieces[rnd() % (sizeof(pieces) /
				                    sizeof(pieces[0]))];
				size_t k = strlen(p);

				if (n + k > sizeof(buf))
					break;
				memcpy(buf + n, p, k);
				n += k;
			} else {
				buf[n++] =
				    (uint8_t)(rnd() % 2 ? rnd() % 256
				                        : 0x20 + rnd() % 0x60);
			}
		}
		assert_int_equal(dec(&cs, vr, buf, n, false, &out, &err),
		                 PC_OK);
		assert_true(utf8_valid((const uint8_t *)out.p, out.n));
		st = dec(&cs, vr, buf, n, true, &out2, &err);
		assert_true(st == PC_OK || st == PC_CHARSET);
		assert_int_equal(out.n, out2.n);
		assert_memory_equal(pc_buf_str(&out), pc_buf_str(&out2), out.n);
		if (enc(&cs, vr, pc_buf_str(&out), out.n, &out2, &err) != PC_OK)
			continue;
		assert_int_equal(
		    dec(&cs, vr, out2.p, out2.n, true, &back, &err), PC_OK);
		if (back.n != out.n ||
		    memcmp(pc_buf_str(&back), pc_buf_str(&out), out.n) != 0)
			fail_msg("round trip in %s: \"%s\" -> \"%s\"",
			         dcm_charset_term(&cs, cs.n ? cs.n - 1 : 0),
			         pc_buf_str(&out), pc_buf_str(&back));
		roundtrips++;
	}
	print_message("30000 random values decoded, %zu round-tripped\n",
	              roundtrips);
	pc_buf_cleanup(&out);
	pc_buf_cleanup(&out2);
	pc_buf_cleanup(&back);
}

/* The single-byte tables are built once, on first use, by any thread. */
static void *thread_main(void *arg)
{
	struct dcm_charset cs = cs_of((const char *)arg);
	struct pc_buf out = PC_BUF_INIT;
	uint8_t all[128];
	char first[1024];
	size_t i, firstn = 0;
	bool ok = true;

	for (i = 0; i < 128; i++)
		all[i] = (uint8_t)(0x80 + i);
	for (i = 0; i < 200 && ok; i++) {
		pc_buf_reset(&out);
		if (dcm_charset_decode(&cs, DCM_VR_LT, pc_span_make(all, 128),
		                       false, &out, NULL) != PC_OK)
			ok = false;
		else if (i == 0 && out.n < sizeof(first)) {
			firstn = out.n;
			memcpy(first, out.p, firstn);
		} else if (out.n != firstn || memcmp(out.p, first, firstn) != 0)
			ok = false;
	}
	pc_buf_cleanup(&out);
	return ok ? arg : NULL;
}

static void test_threads(void **state)
{
	static const char *const sets[] = {"ISO_IR 101", "ISO_IR 144",
	                                   "ISO_IR 126", "ISO_IR 166"};
	pthread_t t[4];
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_main,
		                                (void *)(uintptr_t)sets[i]),
		                 0);
	for (i = 0; i < 4; i++) {
		void *r;

		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_non_null(r);
	}
}

int main(void)
{
	/* The thread test runs first so that it, not another test, builds
	 * the tables. */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_parse_terms),
	    cmocka_unit_test(test_parse_corrections),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_decode_single_byte),
	    cmocka_unit_test(test_decode_japanese),
	    cmocka_unit_test(test_decode_resets),
	    cmocka_unit_test(test_decode_errors),
	    cmocka_unit_test(test_decode_utf8),
	    cmocka_unit_test(test_encode),
	    cmocka_unit_test(test_encode_errors),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_out_of_memory),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_vectors_decode),
	    cmocka_unit_test(test_vectors_encode),
	    cmocka_unit_test(test_vectors_prefixes),
	};

	return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
