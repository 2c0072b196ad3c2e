/*
 * fuzz_dicom_read.c - libFuzzer target for the Part 10 reader and everything
 * that consumes its output: value accessors, the writer and DICOM JSON.
 *
 * For each input:
 *   1. dcm_file_parse() with small limits, then again header-only, strict
 *      and meta-only (each takes its own paths through the reader);
 *   2. on success, every element of the meta and the data set is visited
 *      recursively and every accessor of dcm.h is called on it, so that a
 *      span or count that lies about the input shows up under ASan;
 *   3. the parsed file is written back with dcm_file_write() in its own
 *      transfer syntax and the output is parsed again. Our own output must
 *      parse, and writing that second parse must give the same bytes (the
 *      writer is idempotent once it has normalized an input): either
 *      failure is a real bug and aborts so that libFuzzer records it;
 *   4. dcm_json_write() of both data sets, and dcm_json_read() of the JSON.
 *
 * Input is never trusted; `abort()` here only guards invariants that the
 * library promises in dcm.h (STYLE.md: assert guards our own invariants).
 * Everything is freed on every path so that LeakSanitizer sees real leaks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/dcm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Work caps per element: a string with 500k backslashes must not turn one
 * input into a quadratic walk and a libFuzzer timeout. */
#define MAX_VALUES_PER_ELEM 64
#define MAX_ITEMS_PER_SEQ 256
#define MAX_FRAGMENTS 256
/* Output buffers are bounded so that a hostile input cannot make the JSON
 * writer allocate gigabytes; hitting the bound is a PC_LIMIT, not a bug. */
#define MAX_OUTPUT (64u << 20)

/* Small limits keep each execution fast; they are part of what is fuzzed. */
static const struct dcm_limits fuzz_limits = {
    .max_depth = 32,
    .max_elements = 200000,
    .max_inflated = 4u << 20,
};

/* Sink that the optimizer cannot remove: every byte we are handed is read. */
static volatile uint64_t sink;

static void die(const char *what, const struct pc_err *err)
{
	if (err != NULL)
		fprintf(stderr, "fuzz_dicom_read: %s: %s (%s at offset %llu)\n",
		        what, err->msg, pc_status_name(err->status),
		        (unsigned long long)err->offset);
	else
		fprintf(stderr, "fuzz_dicom_read: %s\n", what);
	abort();
}

/* Reads every byte of a span the library claims is valid. */
static void touch_span(struct pc_span s)
{
	uint64_t acc = 0;

	if (s.n == 0)
		return;
	if (s.p == NULL)
		die("non-empty span with NULL pointer", NULL);
	for (size_t i = 0; i < s.n; i++)
		acc += s.p[i];
	sink += acc;
}

static void walk_dataset(const dcm_dataset *ds, unsigned depth,
                         struct pc_buf *tmp);

static void walk_numbers(const dcm_elem *e, size_t vm)
{
	size_t n = vm < MAX_VALUES_PER_ELEM ? vm : MAX_VALUES_PER_ELEM;
	int64_t i64;
	uint64_t u64;
	double d;

	/* idx == n also asks one past the end (PC_NOTFOUND when n == vm). */
	for (size_t i = 0; i <= n; i++) {
		if (dcm_elem_get_int(e, i, &i64) == PC_OK)
			sink += (uint64_t)i64;
		if (dcm_elem_get_uint(e, i, &u64) == PC_OK)
			sink += u64;
		if (dcm_elem_get_double(e, i, &d) == PC_OK)
			sink += d == d ? 1 : 0;
	}
	if (dcm_elem_get_int(e, SIZE_MAX, &i64) == PC_OK)
		sink += (uint64_t)i64;
}

static void walk_strings(const dcm_dataset *ds, const dcm_elem *e, size_t vm,
                         struct pc_buf *tmp)
{
	size_t n = vm < MAX_VALUES_PER_ELEM ? vm : MAX_VALUES_PER_ELEM;

	pc_buf_reset(tmp);
	if (dcm_elem_get_string(ds, e, SIZE_MAX, tmp) == PC_OK)
		touch_span(pc_span_make(tmp->p, tmp->n));
	for (size_t i = 0; i <= n; i++) {
		pc_buf_reset(tmp);
		if (dcm_elem_get_string(ds, e, i, tmp) == PC_OK)
			touch_span(pc_span_make(tmp->p, tmp->n));
	}
	pc_buf_reset(tmp);
}

static void walk_sequence(const dcm_dataset *ds, const dcm_elem *e,
                          unsigned depth, struct pc_buf *tmp)
{
	size_t n = dcm_elem_item_count(e);

	if (n > MAX_ITEMS_PER_SEQ)
		n = MAX_ITEMS_PER_SEQ;
	sink += dcm_elem_undefined_length(e);
	for (size_t i = 0; i < n; i++) {
		const dcm_dataset *item = dcm_elem_item(e, i);

		if (item == NULL)
			die("dcm_elem_item returned NULL below item_count",
			    NULL);
		if (dcm_dataset_parent(item) != ds)
			die("item's parent is not the sequence's data set",
			    NULL);
		sink += dcm_elem_item_undefined_length(e, i);
		walk_dataset(item, depth + 1, tmp);
	}
}

static void walk_encapsulated(const dcm_elem *e)
{
	size_t n = dcm_elem_fragment_count(e);

	touch_span(dcm_elem_offset_table(e));
	if (n > MAX_FRAGMENTS)
		n = MAX_FRAGMENTS;
	for (size_t i = 0; i < n; i++) {
		touch_span(dcm_elem_fragment(e, i));
		sink += dcm_elem_fragment_offset(e, i);
	}
}

static void walk_elem(const dcm_dataset *ds, const dcm_elem *e, unsigned depth,
                      struct pc_buf *tmp)
{
	uint32_t tag = dcm_elem_tag(e);
	enum dcm_vr vr = dcm_elem_vr(e);
	const struct dcm_vr_info *info = dcm_vr_info(vr);
	size_t vm = dcm_elem_vm(e);
	char creator[65];

	sink +=
	    dcm_elem_length(e) + dcm_elem_offset(e) + dcm_elem_big_endian(e);
	sink += (uintptr_t)dcm_vr_name(vr);
	sink += (uintptr_t)dcm_dict_find(tag);
	touch_span(dcm_elem_value(e));

	if ((DCM_TAG_GROUP(tag) & 1u) != 0 &&
	    dcm_dataset_private_creator(ds, tag, creator, sizeof(creator))) {
		if (memchr(creator, '\0', sizeof(creator)) == NULL)
			die("private creator not NUL-terminated", NULL);
		sink += (uintptr_t)dcm_dict_find_private(creator, tag);
	}

	if (dcm_elem_is_sequence(e)) {
		walk_sequence(ds, e, depth, tmp);
		return;
	}
	if (dcm_elem_is_encapsulated(e)) {
		walk_encapsulated(e);
		return;
	}
	/* Every VR is offered to the number accessors: the non-number ones
	 * must say PC_INVAL, not misread their bytes. */
	walk_numbers(e, vm);
	if (info != NULL &&
	    (info->cls == DCM_VRC_STRING || info->cls == DCM_VRC_TEXT))
		walk_strings(ds, e, vm, tmp);
	else if (info == NULL)
		/* Unknown VR: get_string must refuse or cope, never overrun. */
		walk_strings(ds, e, vm < 2 ? vm : 2, tmp);
}

static void walk_dataset(const dcm_dataset *ds, unsigned depth,
                         struct pc_buf *tmp)
{
	size_t n = dcm_dataset_count(ds);
	uint32_t prev = 0;
	struct pc_buf scratch = PC_BUF_INIT;
	const struct dcm_charset *cs;

	if (depth > fuzz_limits.max_depth + 2)
		die("data set nested deeper than max_depth", NULL);
	cs = dcm_dataset_charset(ds);
	if (cs == NULL)
		die("dcm_dataset_charset returned NULL", NULL);
	for (size_t i = 0; i < cs->n && i < DCM_CHARSET_MAX; i++)
		sink += strlen(dcm_charset_term(cs, i));
	for (size_t i = 0; i < n; i++) {
		const dcm_elem *e = dcm_dataset_at(ds, i);
		uint32_t tag;

		if (e == NULL)
			die("dcm_dataset_at returned NULL below count", NULL);
		tag = dcm_elem_tag(e);
		/* dcm.h: "Elements in ascending tag order", found by binary
		 * search. */
		if (i > 0 && tag < prev)
			die("elements not in ascending tag order", NULL);
		prev = tag;
		if (dcm_dataset_find(ds, tag) == NULL ||
		    dcm_elem_tag(dcm_dataset_find(ds, tag)) != tag)
			die("dcm_dataset_find misses an element of the data "
			    "set",
			    NULL);
		walk_elem(ds, e, depth, tmp);
	}
	/* The convenience getters on a few common tags. */
	if (dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0010), 0, &scratch) ==
	    PC_OK)
		touch_span(pc_span_make(scratch.p, scratch.n));
	{
		int64_t v;

		if (dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0010), 0, &v) ==
		    PC_OK)
			sink += (uint64_t)v;
	}
	pc_buf_cleanup(&scratch);
}

/* `meta_only`: a DCM_READ_META_ONLY parse, which has not looked for the
 * data set's transfer syntax yet. */
static void walk_file(dcm_file *f, bool meta_only, struct pc_buf *tmp)
{
	const struct dcm_ts *ts = dcm_file_ts(f);
	size_t nwarn = dcm_file_warning_count(f);

	if (dcm_file_meta(f) == NULL || dcm_file_dataset(f) == NULL)
		die("parsed file without meta or data set", NULL);
	if (!meta_only && (ts == NULL || ts->uid == NULL))
		die("parsed file without transfer syntax", NULL);
	if (nwarn > 64)
		die("more than 64 warnings kept", NULL);
	for (size_t i = 0; i < nwarn; i++) {
		const char *w = dcm_file_warning(f, i);

		if (w == NULL)
			die("dcm_file_warning returned NULL below count", NULL);
		sink += strlen(w);
	}
	touch_span(dcm_file_preamble(f));
	sink += dcm_file_truncated(f) + dcm_file_dataset_offset(f);
	walk_dataset(dcm_file_meta(f), 0, tmp);
	walk_dataset(dcm_file_dataset(f), 0, tmp);
}

static void check_json(const dcm_dataset *ds)
{
	struct pc_buf json = PC_BUF_INIT;
	struct dcm_json_opts opts = {0};
	dcm_dataset *back;

	json.max = MAX_OUTPUT;
	if (dcm_json_write(ds, NULL, &json, NULL) == PC_OK && json.n > 0) {
		back = dcm_json_read(json.p, json.n, NULL, NULL, NULL);
		dcm_dataset_destroy(back);
	}
	/* The pretty printer and the bulk-data threshold take other paths. */
	pc_buf_reset(&json);
	opts.pretty = true;
	opts.skip_group_length = true;
	opts.bulk_threshold = 16;
	if (dcm_json_write(ds, &opts, &json, NULL) == PC_OK)
		touch_span(pc_span_make(json.p, json.n));
	pc_buf_cleanup(&json);
}

/*
 * Writes `f` in its own transfer syntax into `out`. Returns false when the
 * writer declines (PC_UNSUPPORTED, or a value the syntax cannot encode,
 * such as a 70000-byte LO read from an implicit VR file): declining is
 * allowed, producing unreadable bytes is not.
 */
static bool write_file(dcm_file *f, struct pc_buf *out)
{
	struct dcm_write_opts wo = {0};

	wo.ts = dcm_file_ts(f);
	out->max = MAX_OUTPUT;
	return dcm_file_write(dcm_file_meta(f), dcm_file_dataset(f), &wo, out,
	                      NULL) == PC_OK;
}

/* Top-level elements that the writer keeps: File Meta Information elements
 * found in the data set are reported by the reader and not written back. */
static size_t written_count(const dcm_dataset *ds)
{
	size_t n = 0;

	for (size_t i = 0; i < dcm_dataset_count(ds); i++)
		if (DCM_TAG_GROUP(dcm_elem_tag(dcm_dataset_at(ds, i))) !=
		    0x0002)
			n++;
	return n;
}

static void check_roundtrip(dcm_file *f, const struct dcm_read_opts *ro)
{
	struct pc_buf out1 = PC_BUF_INIT;
	struct pc_buf out2 = PC_BUF_INIT;
	struct pc_buf tmp = PC_BUF_INIT;
	struct pc_err err = {0};
	dcm_file *g = NULL;

	if (!write_file(f, &out1))
		goto cleanup;
	g = dcm_file_parse((const uint8_t *)out1.p, out1.n, ro, &err);
	if (g == NULL)
		die("re-parsing our own output failed", &err);
	walk_file(g, false, &tmp);
	if (dcm_dataset_count(dcm_file_dataset(g)) !=
	    written_count(dcm_file_dataset(f)))
		die("round trip changed the number of elements", NULL);
	if (!write_file(g, &out2))
		die("writer refused its own output", NULL);
	if (out1.n != out2.n || memcmp(out1.p, out2.p, out1.n) != 0)
		die("writing is not idempotent: write(parse(write(x))) != "
		    "write(x)",
		    NULL);
cleanup:
	dcm_file_destroy(g);
	pc_buf_cleanup(&tmp);
	pc_buf_cleanup(&out2);
	pc_buf_cleanup(&out1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dcm_read_opts ro = {0};
	struct pc_buf tmp = PC_BUF_INIT;
	struct pc_err err = {0};
	dcm_file *f;

	ro.limits = &fuzz_limits;

	/* Full parse: accessors, writer round trip, JSON. */
	f = dcm_file_parse(data, size, &ro, &err);
	if (f != NULL) {
		walk_file(f, false, &tmp);
		check_roundtrip(f, &ro);
		check_json(dcm_file_meta(f));
		check_json(dcm_file_dataset(f));
		dcm_file_destroy(f);
	} else if (err.msg[0] == '\0' || err.status == PC_OK) {
		die("dcm_file_parse failed without an error message", &err);
	}

	/* Header-only: the stop at (7FE0,0010) must leave a usable file. */
	pc_err_clear(&err);
	ro.flags = DCM_READ_HEADER_ONLY;
	f = dcm_file_parse(data, size, &ro, &err);
	if (f != NULL) {
		walk_file(f, false, &tmp);
		dcm_file_destroy(f);
	}

	/* Strict mode turns tolerated deviations into errors: other paths. */
	pc_err_clear(&err);
	ro.flags = DCM_READ_STRICT;
	f = dcm_file_parse(data, size, &ro, &err);
	if (f != NULL) {
		walk_file(f, false, &tmp);
		dcm_file_destroy(f);
	}

	pc_err_clear(&err);
	ro.flags = DCM_READ_META_ONLY;
	f = dcm_file_parse(data, size, &ro, &err);
	if (f != NULL) {
		walk_file(f, true, &tmp);
		dcm_file_destroy(f);
	}

	pc_buf_cleanup(&tmp);
	return 0;
}
