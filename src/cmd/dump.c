/*
 * dump.c - `pacsd dump FILE...`: every element of each file, one line each
 * in the layout dcmdump uses (tag, VR, value, then "# length, VM keyword"),
 * sequences and items indented; or DICOM JSON with --json.
 *
 * A file that cannot be read prints its error (naming tag and offset) and
 * the others are still dumped; the exit status is then 1.
 */
#include "cmd.h"

#include "dicom/dcm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_COLUMN 40     /* where "# len, vm" starts, as in dcmdump */
#define MAX_BINARY_VALUES 16

struct dump_opts {
	bool json;
	bool header_only;
	bool strict;
	bool inline_binary;
	size_t bulk_threshold;
};

static void indent(struct pc_buf *out, unsigned depth)
{
	for (unsigned i = 0; i < depth; i++)
		pc_buf_puts(out, "  ");
}

static void keyword_of(const dcm_dataset *ds, uint32_t tag, char *buf,
		       size_t size)
{
	const struct dcm_dict_entry *d = dcm_dict_find(tag);
	char creator[72];

	if (d != NULL && d->keyword[0] != '\0') {
		snprintf(buf, size, "%s", d->keyword);
		return;
	}
	if (d != NULL) {
		/* Group lengths and private creators have names only. */
		snprintf(buf, size, "%s",
			 DCM_TAG_ELEM(tag) == 0 ? "GroupLength"
						: "PrivateCreator");
		return;
	}
	if (dcm_dataset_private_creator(ds, tag, creator, sizeof(creator))) {
		d = dcm_dict_find_private(creator, tag);
		snprintf(buf, size, "%s [%s]", d != NULL ? d->name : "Unknown",
			 creator);
		return;
	}
	snprintf(buf, size, "Unknown Tag & Data");
}

/* Pads the line to the value column and prints the "# len, vm kw" tail. */
static void tail(struct pc_buf *out, size_t line_start, unsigned depth,
		 const char *len, size_t vm, const char *keyword)
{
	size_t used = out->n - line_start;
	size_t col = VALUE_COLUMN + 2 * depth + 12;

	while (used < col) {
		pc_buf_putc(out, ' ');
		used++;
	}
	pc_buf_printf(out, " # %4s, %zu %s\n", len, vm, keyword);
}

/* Value i of a binary number element, printed as dcmdump does. */
static enum pc_status print_number(struct pc_buf *out, const dcm_elem *e,
				   enum dcm_vr vr, size_t i)
{
	enum pc_status st;
	uint64_t u;
	int64_t s;
	double d;

	if (vr == DCM_VR_AT) {
		st = dcm_elem_get_uint(e, i, &u);
		if (st == PC_OK)
			pc_buf_printf(out, "(%04llx,%04llx)",
				      (unsigned long long)(u >> 16),
				      (unsigned long long)(u & 0xFFFF));
	} else if (vr == DCM_VR_FL || vr == DCM_VR_FD) {
		st = dcm_elem_get_double(e, i, &d);
		if (st == PC_OK)
			pc_buf_printf(out, "%.*g", vr == DCM_VR_FL ? 9 : 17, d);
	} else if (vr == DCM_VR_UV || vr == DCM_VR_UL || vr == DCM_VR_US) {
		st = dcm_elem_get_uint(e, i, &u);
		if (st == PC_OK)
			pc_buf_printf(out, "%llu", (unsigned long long)u);
	} else {
		st = dcm_elem_get_int(e, i, &s);
		if (st == PC_OK)
			pc_buf_printf(out, "%lld", (long long)s);
	}
	return st;
}

static void print_value(struct pc_buf *out, const dcm_dataset *ds,
			const dcm_elem *e, struct pc_buf *tmp)
{
	enum dcm_vr vr = dcm_elem_vr(e);
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	size_t vm = dcm_elem_vm(e);

	if (vi == NULL || vi->cls == DCM_VRC_BYTES) {
		struct pc_span v = dcm_elem_value(e);
		size_t size = vi != NULL && vi->size > 1 ? vi->size : 1;
		size_t count = v.n / size;

		if (v.n == 0) {
			pc_buf_puts(out, "(no value available)");
			return;
		}
		for (size_t i = 0; i < count && i < MAX_BINARY_VALUES; i++) {
			uint64_t w = 0;

			for (size_t k = 0; k < size; k++) {
				size_t b = dcm_elem_big_endian(e) ? k
								  : size - 1 - k;

				w = w << 8 | v.p[i * size + b];
			}
			pc_buf_printf(out, "%s%0*llx", i ? "\\" : "",
				      (int)(size * 2), (unsigned long long)w);
		}
		if (count > MAX_BINARY_VALUES)
			pc_buf_puts(out, "...");
		return;
	}
	if (vm == 0) {
		pc_buf_puts(out, "(no value available)");
		return;
	}
	if (vi->cls == DCM_VRC_NUMBER) {
		for (size_t i = 0; i < vm; i++) {
			if (i)
				pc_buf_putc(out, '\\');
			if (print_number(out, e, vr, i) != PC_OK)
				pc_buf_puts(out, "?");
		}
		return;
	}
	pc_buf_reset(tmp);
	if (dcm_elem_get_string(ds, e, SIZE_MAX, tmp) != PC_OK) {
		pc_buf_puts(out, "(undecodable value)");
		return;
	}
	pc_buf_putc(out, '[');
	pc_buf_append(out, tmp->p, tmp->n);
	pc_buf_putc(out, ']');
}

static void dump_dataset(struct pc_buf *out, const dcm_dataset *ds,
			 unsigned depth, struct pc_buf *tmp);

static void dump_element(struct pc_buf *out, const dcm_dataset *ds,
			 const dcm_elem *e, unsigned depth, struct pc_buf *tmp)
{
	uint32_t tag = dcm_elem_tag(e);
	char kw[160], len[16];
	size_t start;

	keyword_of(ds, tag, kw, sizeof(kw));
	if (dcm_elem_length(e) == DCM_UNDEFINED_LENGTH)
		snprintf(len, sizeof(len), "u/l");
	else
		snprintf(len, sizeof(len), "%u", dcm_elem_length(e));
	indent(out, depth);
	start = out->n;
	pc_buf_printf(out, "(%04x,%04x) %s ", DCM_TAG_GROUP(tag),
		      DCM_TAG_ELEM(tag), dcm_vr_name(dcm_elem_vr(e)));
	if (dcm_elem_is_sequence(e)) {
		size_t n = dcm_elem_item_count(e);

		pc_buf_printf(out, "(Sequence with %s length #=%zu)",
			      dcm_elem_undefined_length(e) ? "undefined"
							   : "explicit",
			      n);
		tail(out, start, depth, len, n, kw);
		for (size_t i = 0; i < n; i++) {
			const dcm_dataset *item = dcm_elem_item(e, i);

			indent(out, depth + 1);
			start = out->n;
			pc_buf_printf(out,
				      "(fffe,e000) na (Item with %s length "
				      "#=%zu)",
				      dcm_elem_item_undefined_length(e, i)
					      ? "undefined"
					      : "explicit",
				      dcm_dataset_count(item));
			tail(out, start, depth + 1, "", 1, "Item");
			dump_dataset(out, item, depth + 2, tmp);
		}
		return;
	}
	if (dcm_elem_is_encapsulated(e)) {
		size_t n = dcm_elem_fragment_count(e);

		pc_buf_printf(out, "(PixelSequence #=%zu)", n + 1);
		tail(out, start, depth, len, 1, kw);
		indent(out, depth + 1);
		start = out->n;
		snprintf(len, sizeof(len), "%zu", dcm_elem_offset_table(e).n);
		pc_buf_puts(out, "(fffe,e000) pi (offset table)");
		tail(out, start, depth + 1, len, 1, "Item");
		for (size_t i = 0; i < n; i++) {
			indent(out, depth + 1);
			start = out->n;
			snprintf(len, sizeof(len), "%zu",
				 dcm_elem_fragment(e, i).n);
			pc_buf_printf(out, "(fffe,e000) pi (fragment %zu)", i + 1);
			tail(out, start, depth + 1, len, 1, "Item");
		}
		return;
	}
	print_value(out, ds, e, tmp);
	tail(out, start, depth, len, dcm_elem_vm(e), kw);
}

static void dump_dataset(struct pc_buf *out, const dcm_dataset *ds,
			 unsigned depth, struct pc_buf *tmp)
{
	size_t n = dcm_dataset_count(ds);

	for (size_t i = 0; i < n; i++)
		dump_element(out, ds, dcm_dataset_at(ds, i), depth, tmp);
}

/* BulkDataURI for values above the threshold: the tag path, so that a
 * reader can find the value again in the file. */
static const char *bulk_uri(void *ctx, const uint32_t *path, size_t depth,
			    const dcm_elem *e)
{
	struct pc_buf *uri = ctx;

	(void)e;
	pc_buf_reset(uri);
	pc_buf_puts(uri, "bulkdata:");
	for (size_t i = 0; i < depth; i++)
		pc_buf_printf(uri, "%s%08X", i ? "/" : "", path[i]);
	return pc_buf_status(uri) == PC_OK ? pc_buf_str(uri) : NULL;
}

static int dump_one(const char *path, const struct dump_opts *o,
		    struct pc_buf *out, struct pc_buf *tmp)
{
	struct dcm_read_opts ro = {0};
	struct pc_err err = {0};
	dcm_file *f;
	int rc = 0;

	if (o->header_only)
		ro.flags |= DCM_READ_HEADER_ONLY;
	if (o->strict)
		ro.flags |= DCM_READ_STRICT;
	f = dcm_file_open(path, &ro, &err);
	if (f == NULL) {
		fprintf(stderr, "pacsd dump: %s: %s\n", path, err.msg);
		return 1;
	}
	for (size_t i = 0; i < dcm_file_warning_count(f); i++)
		fprintf(stderr, "pacsd dump: %s: warning: %s\n", path,
			dcm_file_warning(f, i));
	pc_buf_reset(out);
	if (o->json) {
		struct pc_buf uri = PC_BUF_INIT;
		struct dcm_json_opts jo = {0};

		jo.pretty = true;
		jo.bulk = o->inline_binary ? NULL : bulk_uri;
		jo.bulk_ctx = &uri;
		jo.bulk_threshold = o->bulk_threshold;
		if (dcm_json_write(dcm_file_dataset(f), &jo, out, &err) !=
		    PC_OK) {
			fprintf(stderr, "pacsd dump: %s: %s\n", path,
				err.msg[0] ? err.msg : "cannot write JSON");
			rc = 1;
		}
		pc_buf_putc(out, '\n');
		pc_buf_cleanup(&uri);
	} else {
		const struct dcm_ts *ts = dcm_file_ts(f);

		pc_buf_printf(out, "\n# Dicom-File-Format (%s)\n", path);
		if (dcm_dataset_count(dcm_file_meta(f)) > 0) {
			pc_buf_puts(out, "\n# Dicom-Meta-Information-Header\n"
					 "# Used TransferSyntax: Little Endian "
					 "Explicit\n");
			dump_dataset(out, dcm_file_meta(f), 0, tmp);
		}
		pc_buf_printf(out, "\n# Dicom-Data-Set\n# Used TransferSyntax: "
				   "%s\n",
			      ts != NULL ? ts->name : "unknown");
		dump_dataset(out, dcm_file_dataset(f), 0, tmp);
		if (dcm_file_truncated(f))
			pc_buf_puts(out, "# (stopped before Pixel Data)\n");
	}
	if (pc_buf_status(out) != PC_OK) {
		fprintf(stderr, "pacsd dump: %s: out of memory\n", path);
		rc = 1;
	} else {
		fwrite(out->p, 1, out->n, stdout);
	}
	dcm_file_destroy(f);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pacsd dump [OPTIONS] FILE...\n"
		"Prints every element of each DICOM file like dcmdump.\n\n"
		"  --json               DICOM JSON (PS3.18 Annex F) instead\n"
		"  --bulk-threshold N   JSON: values over N bytes become a\n"
		"                       BulkDataURI (default 1024)\n"
		"  --inline-binary      JSON: every binary value inline\n"
		"  --header-only        stop before Pixel Data\n"
		"  --strict             deviations from the standard are "
		"errors\n"
		"Exit status: 0 all files read, 1 some file failed, 2 usage.\n");
}

int cmd_dump(int argc, char **argv)
{
	struct dump_opts o = {.bulk_threshold = 1024};
	struct pc_buf out = PC_BUF_INIT, tmp = PC_BUF_INIT;
	int i, rc = 0, files = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (strcmp(a, "--header-only") == 0) {
			o.header_only = true;
		} else if (strcmp(a, "--strict") == 0) {
			o.strict = true;
		} else if (strcmp(a, "--inline-binary") == 0) {
			o.inline_binary = true;
		} else if (strcmp(a, "--bulk-threshold") == 0 && i + 1 < argc) {
			char *end;

			o.bulk_threshold = strtoull(argv[++i], &end, 10);
			if (*end != '\0') {
				fprintf(stderr, "pacsd dump: bad number '%s'\n",
					argv[i]);
				return 2;
			}
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "pacsd dump: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	for (; i < argc; i++, files++)
		if (dump_one(argv[i], &o, &out, &tmp) != 0)
			rc = 1;
	pc_buf_cleanup(&out);
	pc_buf_cleanup(&tmp);
	if (files == 0) {
		usage(stderr);
		return 2;
	}
	return rc;
}
