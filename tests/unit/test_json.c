/*
 * test_json.c - DICOM JSON (PS3.18 Annex F): the writer's exact output for
 * each VR class, the reader on good and hostile input, round trips, and
 * out-of-memory behaviour (every allocation failed in turn, jansson's
 * included).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dicom/dcm.h"
#include "dicom/json_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

static const struct dcm_json_opts compact = {0};

/* The compact JSON of `ds`, as a string owned by a static buffer. */
static const char *to_json(const dcm_dataset *ds, const struct dcm_json_opts *o)
{
	static struct pc_buf out = PC_BUF_INIT;
	struct pc_err err = {0};

	pc_buf_reset(&out);
	assert_int_equal(dcm_json_write(ds, o, &out, &err), PC_OK);
	assert_int_equal(pc_buf_status(&out), PC_OK);
	return pc_buf_str(&out);
}

static void set_str(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
                    const char *s)
{
	assert_int_equal(dcm_dataset_set_string(ds, tag, vr, s), PC_OK);
}

static void set_bytes(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
                      const void *p, size_t n)
{
	assert_int_equal(dcm_dataset_set(ds, tag, vr, p, n), PC_OK);
}

static dcm_dataset *parse_ok(const char *json)
{
	struct pc_err err = {0};
	dcm_dataset *ds = dcm_json_read(json, strlen(json), NULL, NULL, &err);

	if (ds == NULL)
		fail_msg("dcm_json_read failed: %s", err.msg);
	return ds;
}

/* JSON text -> data set -> compact JSON must give the text back. */
static void round_trip(const char *json)
{
	dcm_dataset *ds = parse_ok(json);

	assert_string_equal(to_json(ds, &compact), json);
	dcm_dataset_destroy(ds);
}

static void expect_error(const char *json, enum pc_status st,
                         const char *needle)
{
	struct pc_err err = {0};
	dcm_dataset *ds = dcm_json_read(json, strlen(json), NULL, NULL, &err);

	if (ds != NULL)
		fail_msg("accepted bad JSON: %s", json);
	assert_int_equal(err.status, st);
	assert_true(err.msg[0] != '\0');
	if (needle != NULL && strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg,
		         needle);
}

static struct pc_span raw_value(const dcm_dataset *ds, uint32_t tag)
{
	const dcm_elem *e = dcm_dataset_find(ds, tag);

	assert_non_null(e);
	return dcm_elem_value(e);
}

static void assert_value(const dcm_dataset *ds, uint32_t tag, const void *p,
                         size_t n)
{
	struct pc_span v = raw_value(ds, tag);

	assert_int_equal(v.n, n);
	assert_memory_equal(v.p, p, n);
}

/* ---- base64 ------------------------------------------------------------- */

static void test_base64_vectors(void **state)
{
	/* RFC 4648 section 10. */
	static const char *const plain[] = {"",     "f",     "fo",    "foo",
	                                    "foob", "fooba", "foobar"};
	static const char *const coded[] = {
	    "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	struct pc_buf b = PC_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 7; i++) {
		pc_buf_reset(&b);
		dcm__base64_encode(pc_span_make(plain[i], strlen(plain[i])),
		                   &b);
		assert_string_equal(pc_buf_str(&b), coded[i]);
		pc_buf_reset(&b);
		assert_int_equal(
		    dcm__base64_decode(pc_span_make(coded[i], strlen(coded[i])),
		                       &b),
		    PC_OK);
		assert_int_equal(b.n, strlen(plain[i]));
		assert_memory_equal(pc_buf_str(&b), plain[i], b.n);
	}
	/* Padding is optional, whitespace ignored. */
	pc_buf_reset(&b);
	assert_int_equal(dcm__base64_decode(pc_span_make("Zm9v\nYg", 7), &b),
	                 PC_OK);
	assert_string_equal(pc_buf_str(&b), "foob");
	pc_buf_cleanup(&b);
}

static void test_base64_bad(void **state)
{
	static const char *const bad[] = {
	    "Z",     "Zm9vY", "Zg==Zg==", "Zm9v!",
	    "Zg===", "Zm9=v", "====",     "Zm\x80v"};
	struct pc_buf b = PC_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pc_buf_reset(&b);
		if (dcm__base64_decode(pc_span_make(bad[i], strlen(bad[i])),
		                       &b) != PC_PARSE)
			fail_msg("accepted bad base64 \"%s\"", bad[i]);
	}
	pc_buf_cleanup(&b);
}

static void test_fmt_real(void **state)
{
	char s[40];

	(void)state;
	assert_true(dcm__json_fmt_real(0.1, false, s, sizeof(s)));
	assert_string_equal(s, "0.1");
	assert_true(dcm__json_fmt_real((double)0.1f, true, s, sizeof(s)));
	assert_string_equal(s, "0.1");
	assert_true(dcm__json_fmt_real(1.0 / 3, false, s, sizeof(s)));
	assert_string_equal(s, "0.3333333333333333");
	assert_true(dcm__json_fmt_real(-0.0, false, s, sizeof(s)));
	assert_string_equal(s, "-0.0");
	assert_true(dcm__json_fmt_real(1e300, false, s, sizeof(s)));
	assert_string_equal(s, "1e+300");
	assert_true(dcm__json_fmt_real(5e-324, false, s, sizeof(s)));
	assert_true(strtod(s, NULL) == 5e-324);
	assert_false(dcm__json_fmt_real(NAN, false, s, sizeof(s)));
	assert_false(dcm__json_fmt_real(-INFINITY, true, s, sizeof(s)));
}

/* The DS fast path writes exactly what strtod + fmt_real write, for every
 * text it accepts; it declines exponents, -0 and long numbers. */
static void test_ds_plain(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: declined */
	} cases[] = {
	    {"5", "5"},           {"+5", "5"},         {"-0500", "-500"},
	    {"1.50", "1.5"},      {"1.", "1"},         {".5", "0.5"},
	    {"-.25", "-0.25"},    {"0.000", "0"},      {"000", "0"},
	    {"0.0001234", "0.0001234"},                {"0.00001234", NULL},
	    {"338.6716", "338.6716"},                  {"-0.0", NULL},
	    {"123456789012345", "123456789012345"},    {"1234567890123456", NULL},
	    {"1e5", NULL},        {"", NULL},          {".", NULL},
	    {"1.2.3", NULL},      {" 1", NULL},        {"0.100000000000000", "0.1"},
	};
	char got[40], want[40], text[40];
	unsigned seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = dcm__json_ds_plain(cases[i].in, strlen(cases[i].in),
		                             got, sizeof(got));
		if (cases[i].out == NULL) {
			assert_false(ok);
			continue;
		}
		assert_true(ok);
		assert_string_equal(got, cases[i].out);
	}
	/* Random plain decimals: sign, zero padding, up to 17 digits, the
	 * point anywhere. */
	for (int t = 0; t < 200000; t++) {
		size_t n = 0, digits;

		seed = seed * 1103515245u + 12345u;
		if (seed >> 30 == 1)
			text[n++] = '-';
		else if (seed >> 30 == 2)
			text[n++] = '+';
		digits = 1 + (seed >> 8) % 17;
		size_t point = (seed >> 16) % (digits + 2);
		for (size_t d = 0; d < digits; d++) {
			seed = seed * 1103515245u + 12345u;
			if (d == point)
				text[n++] = '.';
			/* plenty of zeros, the interesting digit */
			text[n++] = (char)('0' + ((seed >> 12) % 3 == 0
			                              ? 0
			                              : (seed >> 16) % 10));
		}
		text[n] = '\0';
		if (!dcm__json_ds_plain(text, n, got, sizeof(got)))
			continue;
		assert_true(dcm__json_fmt_real(strtod(text, NULL), false, want,
		                               sizeof(want)));
		if (strcmp(got, want) != 0)
			fail_msg("DS \"%s\": fast \"%s\", strtod path \"%s\"",
			         text, got, want);
	}
}

/* ---- writer ------------------------------------------------------------- */

static void test_write_strings(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();

	(void)state;
	assert_non_null(ds);
	set_str(ds, DCM_TAG(0x0008, 0x0008), DCM_VR_CS,
	        "ORIGINAL\\PRIMARY\\ AXIAL ");
	set_str(ds, DCM_TAG(0x0008, 0x0016), DCM_VR_UI, "1.2.3");
	set_str(ds, DCM_TAG(0x0008, 0x0020), DCM_VR_DA, "20240101");
	set_str(ds, DCM_TAG(0x0008, 0x0050), DCM_VR_SH, " acc ");
	/* Empty values inside a multi-valued element are null (F.2.5). */
	set_str(ds, DCM_TAG(0x0008, 0x1030), DCM_VR_LO, "a\\\\b\\");
	/* Text VRs: one value; backslash is data, leading spaces kept. */
	set_str(ds, DCM_TAG(0x0020, 0x4000), DCM_VR_LT, "  x\\y\r\n\"q\" ");
	assert_string_equal(
	    to_json(ds, &compact),
	    "{\"00080008\":{\"vr\":\"CS\",\"Value\":[\"ORIGINAL\","
	    "\"PRIMARY\",\"AXIAL\"]},"
	    "\"00080016\":{\"vr\":\"UI\",\"Value\":[\"1.2.3\"]},"
	    "\"00080020\":{\"vr\":\"DA\",\"Value\":[\"20240101\"]},"
	    "\"00080050\":{\"vr\":\"SH\",\"Value\":[\"acc\"]},"
	    "\"00081030\":{\"vr\":\"LO\",\"Value\":[\"a\",null,\"b\","
	    "null]},"
	    "\"00204000\":{\"vr\":\"LT\",\"Value\":[\"  x\\\\y\\r\\n"
	    "\\\"q\\\"\"]}}");
	dcm_dataset_destroy(ds);
}

static void test_write_pretty(void **state)
{
	struct dcm_json_opts o = {0};
	dcm_dataset *ds = dcm_dataset_create(), *item;
	dcm_elem *seq;

	(void)state;
	o.pretty = true;
	assert_non_null(ds);
	assert_string_equal(to_json(ds, &o), "{}");
	set_str(ds, DCM_TAG(0x0010, 0x0020), DCM_VR_LO, "ID1");
	set_str(ds, DCM_TAG(0x0010, 0x0030), DCM_VR_DA, "");
	assert_int_equal(
	    dcm_dataset_set_sequence(ds, DCM_TAG(0x0040, 0x0275), &seq), PC_OK);
	assert_int_equal(dcm_elem_add_item(seq, &item), PC_OK);
	set_str(item, DCM_TAG(0x0040, 0x0009), DCM_VR_SH, "SPS1");
	assert_int_equal(dcm_elem_add_item(seq, &item), PC_OK);
	assert_string_equal(to_json(ds, &o), "{\n"
	                                     "  \"00100020\": {\n"
	                                     "    \"vr\": \"LO\",\n"
	                                     "    \"Value\": [\n"
	                                     "      \"ID1\"\n"
	                                     "    ]\n"
	                                     "  },\n"
	                                     "  \"00100030\": {\n"
	                                     "    \"vr\": \"DA\"\n"
	                                     "  },\n"
	                                     "  \"00400275\": {\n"
	                                     "    \"vr\": \"SQ\",\n"
	                                     "    \"Value\": [\n"
	                                     "      {\n"
	                                     "        \"00400009\": {\n"
	                                     "          \"vr\": \"SH\",\n"
	                                     "          \"Value\": [\n"
	                                     "            \"SPS1\"\n"
	                                     "          ]\n"
	                                     "        }\n"
	                                     "      },\n"
	                                     "      {}\n"
	                                     "    ]\n"
	                                     "  }\n"
	                                     "}");
	dcm_dataset_destroy(ds);
}

static void test_write_pn(void **state)
{
	struct dcm_json_opts o = {0};
	dcm_dataset *ds = dcm_dataset_create();

	(void)state;
	assert_non_null(ds);
	set_str(ds, DCM_TAG(0x0008, 0x0005), DCM_VR_CS, "ISO_IR 192");
	set_str(ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN,
	        "Yamada^Tarou=\xE5\xB1\xB1\xE7\x94\xB0^\xE5\xA4\xAA\xE9\x83\x8E"
	        "=\xE3\x82\x84\xE3\x81\xBE\xE3\x81\xA0^\xE3\x81\x9F\xE3\x82\x8D"
	        "\xE3\x81\x86");
	/* Empty groups are left out; an empty value is null. */
	set_str(ds, DCM_TAG(0x0010, 0x1001), DCM_VR_PN,
	        "Doe^John==JD\\\\=Ideo=");
	assert_string_equal(
	    to_json(ds, &compact),
	    "{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 192\"]},"
	    "\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":"
	    "\"Yamada^Tarou\",\"Ideographic\":\"\xE5\xB1\xB1\xE7\x94\xB0^"
	    "\xE5\xA4\xAA\xE9\x83\x8E\",\"Phonetic\":\"\xE3\x82\x84\xE3\x81"
	    "\xBE\xE3\x81\xA0^\xE3\x81\x9F\xE3\x82\x8D\xE3\x81\x86\"}]},"
	    "\"00101001\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":"
	    "\"Doe^John\",\"Phonetic\":\"JD\"},null,{\"Ideographic\":"
	    "\"Ideo\"}]}}");
	o.pretty = true;
	assert_non_null(strstr(to_json(ds, &o),
	                       "      {\n"
	                       "        \"Alphabetic\": \"Doe^John\",\n"
	                       "        \"Phonetic\": \"JD\"\n"
	                       "      },\n"
	                       "      null,\n"));
	dcm_dataset_destroy(ds);
}

static void test_write_ds_is(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();

	(void)state;
	assert_non_null(ds);
	set_str(ds, DCM_TAG(0x0018, 0x0050), DCM_VR_DS,
	        "1.50\\ 2 \\-0.0\\1e3\\.5\\abc\\\\+7");
	set_str(ds, DCM_TAG(0x0020, 0x0013), DCM_VR_IS,
	        "12\\ -3\\+4\\1.0\\1.5\\x");
	set_str(ds, DCM_TAG(0x0028, 0x1050), DCM_VR_DS, "0.1000000000000000");
	set_str(ds, DCM_TAG(0x0028, 0x1051), DCM_VR_DS, "  ");
	assert_string_equal(
	    to_json(ds, &compact),
	    "{\"00180050\":{\"vr\":\"DS\",\"Value\":[1.5,2,-0.0,1000,0.5,"
	    "\"abc\",null,7]},"
	    "\"00200013\":{\"vr\":\"IS\",\"Value\":[12,-3,4,1,\"1.5\","
	    "\"x\"]},"
	    "\"00281050\":{\"vr\":\"DS\",\"Value\":[0.1]},"
	    "\"00281051\":{\"vr\":\"DS\"}}");
	dcm_dataset_destroy(ds);
}

static void test_write_binary_numbers(void **state)
{
	static const uint8_t us[] = {1, 0, 0xFF, 0xFF};
	static const uint8_t ss[] = {0xFE, 0xFF};
	static const uint8_t ul[] = {0xFF, 0xFF, 0xFF, 0xFF};
	static const uint8_t sl[] = {0, 0, 0, 0x80};
	static const uint8_t uv[] = {0xFF, 0xFF, 0xFF, 0xFF,
	                             0xFF, 0xFF, 0xFF, 0xFF};
	static const uint8_t sv[] = {0, 0, 0, 0, 0, 0, 0, 0x80};
	static const uint8_t at[] = {0x10, 0x00, 0x10, 0x00,
	                             0xE0, 0x7F, 0x10, 0x00};
	float fl[4] = {0.1f, -2.5f, NAN, INFINITY};
	double fd[3] = {0.1, 1e-300, -INFINITY};
	dcm_dataset *ds = dcm_dataset_create();

	(void)state;
	assert_non_null(ds);
	set_bytes(ds, DCM_TAG(0x0028, 0x0010), DCM_VR_US, us, sizeof(us));
	set_bytes(ds, DCM_TAG(0x0028, 0x0106), DCM_VR_SS, ss, sizeof(ss));
	set_bytes(ds, DCM_TAG(0x0028, 0x0107), DCM_VR_UL, ul, sizeof(ul));
	set_bytes(ds, DCM_TAG(0x0018, 0x6020), DCM_VR_SL, sl, sizeof(sl));
	set_bytes(ds, DCM_TAG(0x0072, 0x0082), DCM_VR_UV, uv, sizeof(uv));
	set_bytes(ds, DCM_TAG(0x0072, 0x0081), DCM_VR_SV, sv, sizeof(sv));
	set_bytes(ds, DCM_TAG(0x0020, 0x5000), DCM_VR_AT, at, sizeof(at));
	set_bytes(ds, DCM_TAG(0x0018, 0x9089), DCM_VR_FD, fd, sizeof(fd));
	set_bytes(ds, DCM_TAG(0x0018, 0x9219), DCM_VR_FL, fl, sizeof(fl));
	assert_string_equal(
	    to_json(ds, &compact),
	    "{\"00186020\":{\"vr\":\"SL\",\"Value\":[-2147483648]},"
	    "\"00189089\":{\"vr\":\"FD\",\"Value\":[0.1,1e-300,"
	    "\"-Infinity\"]},"
	    "\"00189219\":{\"vr\":\"FL\",\"Value\":[0.1,-2.5,\"NaN\","
	    "\"Infinity\"]},"
	    "\"00205000\":{\"vr\":\"AT\",\"Value\":[\"00100010\","
	    "\"7FE00010\"]},"
	    "\"00280010\":{\"vr\":\"US\",\"Value\":[1,65535]},"
	    "\"00280106\":{\"vr\":\"SS\",\"Value\":[-2]},"
	    "\"00280107\":{\"vr\":\"UL\",\"Value\":[4294967295]},"
	    "\"00720081\":{\"vr\":\"SV\",\"Value\":[-9223372036854775808]},"
	    "\"00720082\":{\"vr\":\"UV\",\"Value\":[18446744073709551615]}}");
	dcm_dataset_destroy(ds);
}

static void test_write_empty(void **state)
{
	struct dcm_json_opts o = {0};
	dcm_dataset *ds = dcm_dataset_create();

	(void)state;
	assert_non_null(ds);
	set_bytes(ds, DCM_TAG(0x0008, 0x0000), DCM_VR_UL, "\x04\0\0\0", 4);
	set_bytes(ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, NULL, 0);
	set_bytes(ds, DCM_TAG(0x0028, 0x0010), DCM_VR_US, NULL, 0);
	set_bytes(ds, DCM_TAG(0x0028, 0x1052), DCM_VR_DS, NULL, 0);
	set_bytes(ds, DCM_TAG(0x7FE0, 0x0010), DCM_VR_OB, NULL, 0);
	assert_int_equal(
	    dcm_dataset_set_sequence(ds, DCM_TAG(0x0008, 0x1140), NULL), PC_OK);
	assert_string_equal(to_json(ds, &compact),
	                    "{\"00080000\":{\"vr\":\"UL\",\"Value\":[4]},"
	                    "\"00081140\":{\"vr\":\"SQ\"},"
	                    "\"00100010\":{\"vr\":\"PN\"},"
	                    "\"00280010\":{\"vr\":\"US\"},"
	                    "\"00281052\":{\"vr\":\"DS\"},"
	                    "\"7FE00010\":{\"vr\":\"OB\"}}");
	o.skip_group_length = true;
	assert_null(strstr(to_json(ds, &o), "00080000"));
	dcm_dataset_destroy(ds);
}

static void test_write_escapes(void **state)
{
	dcm_dataset *ds = dcm_dataset_create();

	(void)state;
	assert_non_null(ds);
	set_str(ds, DCM_TAG(0x0008, 0x0005), DCM_VR_CS, "ISO_IR 192");
	/* Control characters escaped; a byte that is not UTF-8 becomes
	 * U+FFFD, so the output stays valid JSON. */
	set_bytes(ds, DCM_TAG(0x0020, 0x4000), DCM_VR_LT,
	          "a\x01\x1F\x7F\tb\xFF"
	          "c\xC3\xA9",
	          10);
	assert_string_equal(to_json(ds, &compact),
	                    "{\"00080005\":{\"vr\":\"CS\",\"Value\":"
	                    "[\"ISO_IR 192\"]},"
	                    "\"00204000\":{\"vr\":\"LT\",\"Value\":[\"a\\u0001"
	                    "\\u001f\x7F\\tb\xEF\xBF\xBD"
	                    "c\xC3\xA9\"]}}");
	dcm_dataset_destroy(ds);
}

static const char *bulk_uri(void *ctx, const uint32_t *path, size_t depth,
                            const dcm_elem *e)
{
	static char uri[64];
	int *calls = ctx;

	(*calls)++;
	assert_int_equal(path[depth - 1], dcm_elem_tag(e));
	if (dcm_elem_tag(e) == DCM_TAG(0x0009, 0x1001))
		return NULL; /* declined: stays inline */
	snprintf(uri, sizeof(uri), "http://x/%zu/%08X", depth,
	         (unsigned)path[0]);
	return uri;
}

static void test_write_binary(void **state)
{
	/* Odd lengths are padded when set: 3 bytes become 01 02 03 00. */
	static const uint8_t ob[] = {1, 2, 3};
	static const uint8_t ow[] = {1, 2, 3, 4, 5, 6};
	struct dcm_json_opts o = {0};
	dcm_dataset *ds = dcm_dataset_create(), *item;
	dcm_elem *seq;
	int calls = 0;

	(void)state;
	assert_non_null(ds);
	set_bytes(ds, DCM_TAG(0x0009, 0x1001), DCM_VR_UN, ob, sizeof(ob));
	set_bytes(ds, DCM_TAG(0x0028, 0x1201), DCM_VR_OW, ow, sizeof(ow));
	assert_int_equal(
	    dcm_dataset_set_sequence(ds, DCM_TAG(0x0088, 0x0200), &seq), PC_OK);
	assert_int_equal(dcm_elem_add_item(seq, &item), PC_OK);
	set_bytes(item, DCM_TAG(0x7FE0, 0x0010), DCM_VR_OB, ob, sizeof(ob));
	assert_string_equal(
	    to_json(ds, &compact),
	    "{\"00091001\":{\"vr\":\"UN\",\"InlineBinary\":"
	    "\"AQIDAA==\"},"
	    "\"00281201\":{\"vr\":\"OW\",\"InlineBinary\":"
	    "\"AQIDBAUG\"},"
	    "\"00880200\":{\"vr\":\"SQ\",\"Value\":[{\"7FE00010\":"
	    "{\"vr\":\"OB\",\"InlineBinary\":\"AQIDAA==\"}}]}}");
	/* Over the threshold the callback decides; at or under it, inline. */
	o.bulk = bulk_uri;
	o.bulk_ctx = &calls;
	o.bulk_threshold = 4;
	assert_string_equal(
	    to_json(ds, &o),
	    "{\"00091001\":{\"vr\":\"UN\",\"InlineBinary\":"
	    "\"AQIDAA==\"},"
	    "\"00281201\":{\"vr\":\"OW\",\"BulkDataURI\":"
	    "\"http://x/1/00281201\"},"
	    "\"00880200\":{\"vr\":\"SQ\",\"Value\":[{\"7FE00010\":"
	    "{\"vr\":\"OB\",\"InlineBinary\":\"AQIDAA==\"}}]}}");
	assert_int_equal(calls, 1);
	o.bulk_threshold = 0; /* everything is offered */
	assert_string_equal(
	    to_json(ds, &o),
	    "{\"00091001\":{\"vr\":\"UN\",\"InlineBinary\":"
	    "\"AQIDAA==\"},"
	    "\"00281201\":{\"vr\":\"OW\",\"BulkDataURI\":"
	    "\"http://x/1/00281201\"},"
	    "\"00880200\":{\"vr\":\"SQ\",\"Value\":[{\"7FE00010\":"
	    "{\"vr\":\"OB\",\"BulkDataURI\":"
	    "\"http://x/2/00880200\"}}]}}");
	assert_int_equal(calls, 4);
	dcm_dataset_destroy(ds);
}

static void test_write_encapsulated(void **state)
{
	static const uint8_t bot[] = {0, 0, 0, 0};
	dcm_dataset *ds = dcm_dataset_create(), *back;
	const dcm_elem *e;
	dcm_elem *pix;
	struct pc_span f;
	char json[256];

	(void)state;
	assert_non_null(ds);
	assert_int_equal(
	    dcm_dataset_set_encapsulated(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB,
	                                 pc_span_make(bot, sizeof(bot)), &pix),
	    PC_OK);
	assert_int_equal(dcm_elem_add_fragment(pix, pc_span_make("abcd", 4)),
	                 PC_OK);
	assert_int_equal(dcm_elem_add_fragment(pix, pc_span_make("ef", 2)),
	                 PC_OK);
	/* FEFF00E0 04000000 00000000 FEFF00E0 04000000 "abcd"
	 * FEFF00E0 02000000 "ef": the stream pydicom keeps, without the
	 * sequence delimiter. */
	snprintf(json, sizeof(json), "%s", to_json(ds, &compact));
	assert_string_equal(
	    json, "{\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":"
	          "\"/v8A4AQAAAAAAAAA/v8A4AQAAABhYmNk/v8A4AIAAABlZg==\"}}");
	/* And back into fragments. */
	back = parse_ok(json);
	e = dcm_dataset_find(back, DCM_TAG_PIXEL_DATA);
	assert_non_null(e);
	assert_true(dcm_elem_is_encapsulated(e));
	assert_int_equal(dcm_elem_offset_table(e).n, 4);
	assert_int_equal(dcm_elem_fragment_count(e), 2);
	f = dcm_elem_fragment(e, 0);
	assert_int_equal(f.n, 4);
	assert_memory_equal(f.p, "abcd", 4);
	f = dcm_elem_fragment(e, 1);
	assert_int_equal(f.n, 2);
	assert_memory_equal(f.p, "ef", 2);
	assert_string_equal(to_json(back, &compact), json);
	dcm_dataset_destroy(back);
	dcm_dataset_destroy(ds);
}

/* A Part 10 file in explicit VR big endian: numbers and OW words must come
 * out little endian (PS3.18 F.2.7). */
static void test_write_big_endian(void **state)
{
	static const char ts[] = "1.2.840.10008.1.2.2";
	uint8_t file[256];
	size_t n = 0, i;
	struct pc_err err = {0};
	dcm_file *f;

	(void)state;
	memset(file, 0, 128);
	n = 128;
	memcpy(file + n, "DICM", 4);
	n += 4;
	/* (0002,0010) UI, explicit VR little endian as every meta is. */
	memcpy(file + n, "\x02\x00\x10\x00UI\x14\x00", 8);
	n += 8;
	memcpy(file + n, ts, 19);
	file[n + 19] = '\0';
	n += 20;
	/* (0028,0010) US 2 = 0x0100 big endian. */
	memcpy(file + n, "\x00\x28\x00\x10US\x00\x02\x01\x00", 10);
	n += 10;
	/* (0028,1201) OW 4 bytes 01 02 03 04 = words 0x0102 0x0304. */
	memcpy(file + n, "\x00\x28\x12\x01OW\x00\x00\x00\x00\x00\x04", 12);
	n += 12;
	for (i = 1; i <= 4; i++)
		file[n++] = (uint8_t)i;
	/* (0020,5000) AT (0010,0020) big endian. */
	memcpy(file + n,
	       "\x00\x20\x50\x00"
	       "AT\x00\x04\x00\x10\x00\x20",
	       12);
	n += 12;
	f = dcm_file_parse(file, n, NULL, &err);
	if (f == NULL)
		fail_msg("parse: %s", err.msg);
	assert_string_equal(
	    to_json(dcm_file_dataset(f), &compact),
	    "{\"00205000\":{\"vr\":\"AT\",\"Value\":[\"00100020\"]},"
	    "\"00280010\":{\"vr\":\"US\",\"Value\":[256]},"
	    "\"00281201\":{\"vr\":\"OW\",\"InlineBinary\":\"AgEEAw==\"}}");
	dcm_file_destroy(f);
}

/* ---- reader ------------------------------------------------------------- */

static void test_read_round_trip(void **state)
{
	(void)state;
	round_trip("{}");
	round_trip(
	    "{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 192\"]},"
	    "\"00080008\":{\"vr\":\"CS\",\"Value\":[\"ORIGINAL\",null,"
	    "\"AXIAL\"]},"
	    "\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":"
	    "\"Yamada^Tarou\",\"Ideographic\":\"\xE5\xB1\xB1\xE7\x94\xB0\","
	    "\"Phonetic\":\"\xE3\x82\x84\"},null,{\"Phonetic\":\"x\"}]},"
	    "\"00100020\":{\"vr\":\"LO\"},"
	    "\"00180050\":{\"vr\":\"DS\",\"Value\":[1.5,-0.0,1e+20,"
	    "0.33333333333333,12]},"
	    "\"00186020\":{\"vr\":\"SL\",\"Value\":[-2147483648,7]},"
	    "\"00189219\":{\"vr\":\"FL\",\"Value\":[0.1,\"NaN\","
	    "\"-Infinity\"]},"
	    "\"00200013\":{\"vr\":\"IS\",\"Value\":[-12,null]},"
	    "\"00204000\":{\"vr\":\"LT\",\"Value\":[\"a\\\\b\\n\\\"\"]},"
	    "\"00205000\":{\"vr\":\"AT\",\"Value\":[\"7FE00010\"]},"
	    "\"00280010\":{\"vr\":\"US\",\"Value\":[0,65535]},"
	    "\"00400275\":{\"vr\":\"SQ\",\"Value\":[{},{\"00400009\":"
	    "{\"vr\":\"SH\",\"Value\":[\"S\"]},\"00400100\":{\"vr\":"
	    "\"SQ\",\"Value\":[{\"00080100\":{\"vr\":\"SH\"}}]}}]},"
	    "\"00720081\":{\"vr\":\"SV\",\"Value\":[-9223372036854775808]},"
	    "\"00720082\":{\"vr\":\"UV\",\"Value\":[9223372036854775807,"
	    "18446744073709551615]},"
	    "\"7FE00010\":{\"vr\":\"OW\",\"InlineBinary\":\"AAECAw==\"}}");
}

static void test_read_values(void **state)
{
	dcm_dataset *ds;

	(void)state;
	/* An array holding one object; lower-case keys; InlineBinary as a
	 * one-string array (PS3.18 F.4's example); IS and DS from reals;
	 * UV beyond INT64_MAX as a string. */
	ds = parse_ok("[{\"0020000d\":{\"vr\":\"UI\",\"Value\":[\"1.2\"]},"
	              "\"00200013\":{\"vr\":\"IS\",\"Value\":[3.0]},"
	              "\"00180050\":{\"vr\":\"DS\",\"Value\":[0.1,\"007\","
	              "123456789012345678]},"
	              "\"00720082\":{\"vr\":\"UV\",\"Value\":"
	              "[\"18446744073709551615\"]},"
	              "\"00091010\":{\"vr\":\"OB\",\"InlineBinary\":"
	              "[\"AQID\"]},"
	              "\"00100010\":{\"vr\":\"PN\",\"Value\":[\"Doe^J\"]},"
	              "\"00189089\":{\"vr\":\"FD\",\"Value\":"
	              "[1.12345678901234567890123e-1234567890123456789]}}]");
	assert_value(ds, DCM_TAG(0x0020, 0x000D), "1.2\0", 4);
	assert_value(ds, DCM_TAG(0x0020, 0x0013), "3 ", 2);
	assert_value(ds, DCM_TAG(0x0018, 0x0050), "0.1\\007\\1.2345678901e+17",
	             24);
	assert_value(ds, DCM_TAG(0x0072, 0x0082),
	             "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8);
	assert_value(ds, DCM_TAG(0x0009, 0x1010), "\x01\x02\x03\x00", 4);
	assert_value(ds, DCM_TAG(0x0010, 0x0010), "Doe^J ", 6);
	assert_value(ds, DCM_TAG(0x0018, 0x9089), "\0\0\0\0\0\0\0\0", 8);
	dcm_dataset_destroy(ds);
}

static enum pc_status resolve(void *ctx, const char *uri, struct pc_buf *out)
{
	(void)ctx;
	if (strcmp(uri, "bad") == 0)
		return PC_NOTFOUND;
	pc_buf_puts(out, uri);
	return PC_OK;
}

static void test_read_bulk(void **state)
{
	static const char json[] =
	    "{\"00420011\":{\"vr\":\"OB\",\"BulkDataURI\":\"abcd\"}}";
	static const char bad[] =
	    "{\"00420011\":{\"vr\":\"OB\",\"BulkDataURI\":\"bad\"}}";
	struct pc_err err = {0};
	dcm_dataset *ds;

	(void)state;
	/* Without a resolver the element is there, empty. */
	ds = parse_ok(json);
	assert_value(ds, DCM_TAG(0x0042, 0x0011), "", 0);
	dcm_dataset_destroy(ds);
	ds = dcm_json_read(json, strlen(json), resolve, NULL, &err);
	assert_non_null(ds);
	assert_value(ds, DCM_TAG(0x0042, 0x0011), "abcd", 4);
	dcm_dataset_destroy(ds);
	ds = dcm_json_read(bad, strlen(bad), resolve, NULL, &err);
	assert_null(ds);
	assert_int_equal(err.status, PC_NOTFOUND);
	assert_non_null(strstr(err.msg, "(0042,0011)"));
}

static void test_read_charset(void **state)
{
	dcm_dataset *ds;
	struct pc_buf b = PC_BUF_INIT;

	(void)state;
	/* Latin-1 can hold it: stored in ISO_IR 100. */
	ds =
	    parse_ok("{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 100\"]},"
	             "\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":"
	             "\"M\xC3\xBCller\"}]}}");
	assert_value(ds, DCM_TAG(0x0010, 0x0010), "M\xFCller", 6);
	assert_value(ds, DCM_TAG(0x0008, 0x0005), "ISO_IR 100", 10);
	assert_int_equal(
	    dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0010), 0, &b), PC_OK);
	assert_string_equal(pc_buf_str(&b), "M\xC3\xBCller");
	dcm_dataset_destroy(ds);

	/* Latin-1 cannot: the whole data set switches to UTF-8. */
	ds =
	    parse_ok("{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 100\"]},"
	             "\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":"
	             "\"M\xC3\xBCller\"}]},"
	             "\"00100020\":{\"vr\":\"LO\",\"Value\":"
	             "[\"\xE5\xB1\xB1\"]}}");
	assert_value(ds, DCM_TAG(0x0008, 0x0005), "ISO_IR 192", 10);
	assert_value(ds, DCM_TAG(0x0010, 0x0010), "M\xC3\xBCller ", 8);
	assert_value(ds, DCM_TAG(0x0010, 0x0020), "\xE5\xB1\xB1 ", 4);
	dcm_dataset_destroy(ds);

	/* No Specific Character Set and non-ASCII text: one is added. */
	ds = parse_ok("{\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":"
	              "\"\xC3\xA9\"}]}}");
	assert_value(ds, DCM_TAG(0x0008, 0x0005), "ISO_IR 192", 10);
	assert_value(ds, DCM_TAG(0x0010, 0x0010), "\xC3\xA9", 2);
	dcm_dataset_destroy(ds);

	/* Plain ASCII: nothing changes. */
	ds = parse_ok("{\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":"
	              "\"Doe\"}]}}");
	assert_null(dcm_dataset_find(ds, DCM_TAG(0x0008, 0x0005)));
	dcm_dataset_destroy(ds);
	pc_buf_cleanup(&b);
}

static void test_read_bad(void **state)
{
	static const struct {
		const char *json;
		enum pc_status st;
		const char *needle;
	} cases[] = {
	    {"", PC_PARSE, "JSON"},
	    {"{", PC_PARSE, "line 1"},
	    {"42", PC_PARSE, NULL},
	    {"[]", PC_PARSE, "object"},
	    {"[{},{}]", PC_PARSE, "object"},
	    {"[1]", PC_PARSE, "object"},
	    {"{\"0010\":{\"vr\":\"PN\"}}", PC_PARSE, "\"0010\""},
	    {"{\"0010001G\":{\"vr\":\"PN\"}}", PC_PARSE, "0010001G"},
	    {"{\"001000100\":{\"vr\":\"PN\"}}", PC_PARSE, "001000100"},
	    {"{\"00100010\":{\"vr\":\"PN\"},\"00100010\":{\"vr\":\"PN\"}}",
	     PC_PARSE, "duplicate"},
	    {"{\"00100010\":[]}", PC_PARSE, "(0010,0010)"},
	    {"{\"00100010\":{}}", PC_PARSE, "(0010,0010): no \"vr\""},
	    {"{\"00100010\":{\"vr\":\"XX\"}}", PC_PARSE, "XX"},
	    {"{\"00100010\":{\"vr\":\"PNX\"}}", PC_PARSE, "(0010,0010)"},
	    {"{\"00100010\":{\"vr\":7}}", PC_PARSE, "(0010,0010)"},
	    {"{\"00100010\":{\"vr\":\"PN\",\"Value\":\"x\"}}", PC_PARSE,
	     "(0010,0010)"},
	    {"{\"00100010\":{\"vr\":\"PN\",\"Value\":[1]}}", PC_PARSE,
	     "(0010,0010)"},
	    {"{\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":1}]}}",
	     PC_PARSE, "Alphabetic"},
	    {"{\"00100020\":{\"vr\":\"LO\",\"Value\":[true]}}", PC_PARSE,
	     "(0010,0020)"},
	    {"{\"00280010\":{\"vr\":\"US\",\"Value\":[\"1\"]}}", PC_PARSE,
	     "(0028,0010)"},
	    {"{\"00280010\":{\"vr\":\"US\",\"Value\":[65536]}}", PC_PARSE,
	     "range"},
	    {"{\"00280010\":{\"vr\":\"US\",\"Value\":[-1]}}", PC_PARSE,
	     "range"},
	    {"{\"00280010\":{\"vr\":\"US\",\"Value\":[1.5]}}", PC_PARSE,
	     "integer"},
	    {"{\"00280010\":{\"vr\":\"US\",\"Value\":[null]}}", PC_PARSE,
	     "(0028,0010)"},
	    {"{\"00280106\":{\"vr\":\"SS\",\"Value\":[40000]}}", PC_PARSE,
	     "range"},
	    {"{\"00186020\":{\"vr\":\"SL\",\"Value\":[3000000000]}}", PC_PARSE,
	     "range"},
	    {"{\"00720082\":{\"vr\":\"UV\",\"Value\":[\"-1\"]}}", PC_PARSE,
	     "range"},
	    {"{\"00720082\":{\"vr\":\"UV\",\"Value\":"
	     "[18446744073709551616]}}",
	     PC_PARSE, "range"},
	    {"{\"00720081\":{\"vr\":\"SV\",\"Value\":"
	     "[-9223372036854775809]}}",
	     PC_PARSE, "range"},
	    {"{\"00280010\":{\"vr\":\"US\",\"Value\":"
	     "[99999999999999999999]}}",
	     PC_PARSE, "(0028,0010)"},
	    {"{\"00280010\":{\"vr\":\"US\",\"Value\":"
	     "[012345678901234567890]}}",
	     PC_PARSE, "JSON"},
	    {"{\"00720082\":{\"vr\":\"UV\",\"Value\":[\"1x\"]}}", PC_PARSE,
	     "(0072,0082)"},
	    {"{\"00189219\":{\"vr\":\"FL\",\"Value\":[\"nan\"]}}", PC_PARSE,
	     "(0018,9219)"},
	    {"{\"00200013\":{\"vr\":\"IS\",\"Value\":[1.5]}}", PC_PARSE,
	     "integer"},
	    {"{\"00200013\":{\"vr\":\"IS\",\"Value\":[{}]}}", PC_PARSE,
	     "(0020,0013)"},
	    {"{\"00205000\":{\"vr\":\"AT\",\"Value\":[\"0010001\"]}}", PC_PARSE,
	     "(0020,5000)"},
	    {"{\"00205000\":{\"vr\":\"AT\",\"Value\":[16]}}", PC_PARSE,
	     "(0020,5000)"},
	    {"{\"7FE00010\":{\"vr\":\"OB\",\"Value\":[1]}}", PC_PARSE,
	     "InlineBinary"},
	    {"{\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":\"!!!!\"}}",
	     PC_PARSE, "base64"},
	    {"{\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":5}}", PC_PARSE,
	     "(7FE0,0010)"},
	    {"{\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":\"AQID\","
	     "\"BulkDataURI\":\"x\"}}",
	     PC_PARSE, "both"},
	    {"{\"00400275\":{\"vr\":\"SQ\",\"Value\":[1]}}", PC_PARSE,
	     "(0040,0275)"},
	    {"{\"00400275\":{\"vr\":\"SQ\",\"Value\":{}}}", PC_PARSE,
	     "(0040,0275)"},
	    {"{\"00400275\":{\"vr\":\"SQ\",\"InlineBinary\":\"AQID\"}}",
	     PC_PARSE, "(0040,0275)"},
	    {"{\"00400275\":{\"vr\":\"SQ\",\"Value\":[{\"x\":1}]}}", PC_PARSE,
	     "\"x\""},
	    {"{\"FFFEE000\":{\"vr\":\"OB\"}}", PC_PARSE, "(FFFE,E000)"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].json, cases[i].st, cases[i].needle);
	/* NULL text. */
	{
		struct pc_err err = {0};

		assert_null(dcm_json_read(NULL, 0, NULL, NULL, &err));
		assert_int_equal(err.status, PC_INVAL);
		assert_null(dcm_json_read(NULL, 0, NULL, NULL, NULL));
	}
}

/* Nesting far past the limits: an error, never a stack overflow. */
static void test_read_deep(void **state)
{
	static const char open[] = "{\"00400275\":{\"vr\":\"SQ\",\"Value\":[";
	static const char close[] = "]}}";
	struct pc_buf b = PC_BUF_INIT;
	size_t i, levels[] = {64, 65, 1000};
	size_t k;
	dcm_dataset *ds;
	struct pc_err err;

	(void)state;
	for (k = 0; k < 3; k++) {
		pc_buf_reset(&b);
		for (i = 0; i < levels[k]; i++)
			pc_buf_puts(&b, open);
		pc_buf_puts(&b, "{}");
		for (i = 0; i < levels[k]; i++)
			pc_buf_puts(&b, close);
		assert_int_equal(pc_buf_status(&b), PC_OK);
		pc_err_clear(&err);
		ds = dcm_json_read(pc_buf_str(&b), b.n, NULL, NULL, &err);
		if (levels[k] <= 64) {
			if (ds == NULL)
				fail_msg("64 levels rejected: %s", err.msg);
			dcm_dataset_destroy(ds);
		} else {
			assert_null(ds);
			assert_true(err.status == PC_LIMIT ||
			            err.status == PC_PARSE);
		}
	}
	/* Plain JSON nesting, no DICOM at all. */
	pc_buf_reset(&b);
	for (i = 0; i < 100000; i++)
		pc_buf_putc(&b, '[');
	pc_err_clear(&err);
	assert_null(dcm_json_read(pc_buf_str(&b), b.n, NULL, NULL, &err));
	assert_int_equal(err.status, PC_PARSE);
	pc_buf_cleanup(&b);
}

/* ---- out of memory ------------------------------------------------------ */

/* Set when an allocation made by jansson fails: jansson reports some of
 * those as syntax errors ("string or '}' expected"), not out of memory. */
static bool jansson_alloc_failed;

static void *test_json_malloc(size_t n)
{
	void *p = pc_malloc(n);

	if (p == NULL)
		jansson_alloc_failed = true;
	return p;
}

static const char oom_json[] =
    "{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 100\"]},"
    "\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"M\xC3\xBCller\","
    "\"Ideographic\":\"\xE5\xB1\xB1\"}]},"
    "\"00180050\":{\"vr\":\"DS\",\"Value\":[1.5,2]},"
    "\"00280010\":{\"vr\":\"US\",\"Value\":[512]},"
    "\"00400275\":{\"vr\":\"SQ\",\"Value\":[{\"00400009\":{\"vr\":\"SH\","
    "\"Value\":[\"S\"]}},{}]},"
    "\"00720082\":{\"vr\":\"UV\",\"Value\":[18446744073709551615]},"
    "\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":"
    "\"/v8A4AAAAAD+/wDgAgAAAGVm\"}}";

static void test_oom_read(void **state)
{
	uint64_t n;
	dcm_dataset *ds;
	struct pc_err err;

	(void)state;
	for (n = 1;; n++) {
		pc_err_clear(&err);
		jansson_alloc_failed = false;
		pc_alloc_fail_after(n);
		ds =
		    dcm_json_read(oom_json, strlen(oom_json), NULL, NULL, &err);
		pc_alloc_fail_after(0);
		if (ds != NULL)
			break;
		if (err.status != PC_NOMEM &&
		    !(err.status == PC_PARSE && jansson_alloc_failed))
			fail_msg("allocation %llu: %s (%s)",
			         (unsigned long long)n,
			         pc_status_name(err.status), err.msg);
		assert_true(n < 100000);
	}
	assert_true(n > 3);
	print_message("read: failed each of %llu allocations in turn\n",
	              (unsigned long long)(n - 1));
	dcm_dataset_destroy(ds);
}

static void test_oom_write(void **state)
{
	struct dcm_json_opts o = {0};
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;
	dcm_dataset *ds = parse_ok(oom_json);
	enum pc_status st;
	uint64_t n;

	(void)state;
	o.pretty = true;
	for (n = 1;; n++) {
		pc_err_clear(&err);
		pc_buf_cleanup(&out);
		pc_alloc_fail_after(n);
		st = dcm_json_write(ds, &o, &out, &err);
		pc_alloc_fail_after(0);
		if (st == PC_OK)
			break;
		if (st != PC_NOMEM || err.status != PC_NOMEM)
			fail_msg("allocation %llu: %s (%s)",
			         (unsigned long long)n, pc_status_name(st),
			         err.msg);
		assert_true(n < 100000);
	}
	assert_true(n > 1);
	print_message("write: failed each of %llu allocations in turn\n",
	              (unsigned long long)(n - 1));
	assert_non_null(strstr(pc_buf_str(&out), "\"Alphabetic\": "
	                                         "\"M\xC3\xBCller\""));
	pc_buf_cleanup(&out);
	dcm_dataset_destroy(ds);
}

/* An output bound hit at every possible byte: PC_LIMIT each time, and the
 * buffer's sticky error never lets a half-written base64 group overflow. */
static void test_write_limit(void **state)
{
	dcm_dataset *ds = parse_ok(oom_json);
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;
	size_t full, max;

	(void)state;
	full = strlen(to_json(ds, &compact));
	for (max = 1; max < full; max++) {
		pc_buf_cleanup(&out);
		out.max = max;
		pc_err_clear(&err);
		assert_int_equal(dcm_json_write(ds, NULL, &out, &err),
		                 PC_LIMIT);
		assert_int_equal(err.status, PC_LIMIT);
	}
	pc_buf_cleanup(&out);
	out.max = full;
	assert_int_equal(dcm_json_write(ds, NULL, &out, &err), PC_OK);
	pc_buf_cleanup(&out);
	dcm_dataset_destroy(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_vectors),
	    cmocka_unit_test(test_base64_bad),
	    cmocka_unit_test(test_fmt_real),
	    cmocka_unit_test(test_ds_plain),
	    cmocka_unit_test(test_write_strings),
	    cmocka_unit_test(test_write_pretty),
	    cmocka_unit_test(test_write_pn),
	    cmocka_unit_test(test_write_ds_is),
	    cmocka_unit_test(test_write_binary_numbers),
	    cmocka_unit_test(test_write_empty),
	    cmocka_unit_test(test_write_escapes),
	    cmocka_unit_test(test_write_binary),
	    cmocka_unit_test(test_write_encapsulated),
	    cmocka_unit_test(test_write_big_endian),
	    cmocka_unit_test(test_read_round_trip),
	    cmocka_unit_test(test_read_values),
	    cmocka_unit_test(test_read_bulk),
	    cmocka_unit_test(test_read_charset),
	    cmocka_unit_test(test_read_bad),
	    cmocka_unit_test(test_read_deep),
	    cmocka_unit_test(test_oom_read),
	    cmocka_unit_test(test_oom_write),
	    cmocka_unit_test(test_write_limit),
	};

	/* jansson's allocations go through pc_malloc too, so that the
	 * out-of-memory tests fail them as well. */
	json_set_alloc_funcs(test_json_malloc, pc_free);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
