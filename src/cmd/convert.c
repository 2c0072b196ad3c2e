/*
 * convert.c - `pacsd convert IN OUT [--ts SYNTAX]`: reads a DICOM file and
 * writes it again in another (or the same) transfer syntax.
 *
 * Only the encoding of the data set changes: pixel data is never transcoded,
 * so a file with encapsulated (compressed) pixel data can only be written in
 * its own transfer syntax, and native pixel data only in a native one.
 * Written without --ts, an explicit VR little endian file comes out
 * byte-identical (the writer's round-trip guarantee, see dcm.h).
 */
#include "cmd.h"

#include "../dicom/dcm.h"

#include <stdio.h>
#include <string.h>

/* Media Storage Directory Storage: a DICOMDIR (PS3.10 8.2, PS3.3 F). */
#define DICOMDIR_SOP_CLASS "1.2.840.10008.1.3.10"

/* Whether the file is a DICOMDIR, from its meta or its data set. */
static bool is_dicomdir(dcm_file *f)
{
	static const uint32_t tags[2] = {DCM_TAG(0x0002, 0x0002),
	                                 DCM_TAG(0x0008, 0x0016)};
	const size_t n = sizeof(DICOMDIR_SOP_CLASS) - 1;
	const dcm_elem *e;
	struct pc_span v;
	size_t i;

	for (i = 0; i < 2; i++) {
		e = dcm_dataset_find(
		    i == 0 ? dcm_file_meta(f) : dcm_file_dataset(f), tags[i]);
		if (e == NULL)
			continue;
		v = dcm_elem_value(e);
		while (v.n > 0 && (v.p[v.n - 1] == '\0' || v.p[v.n - 1] == ' '))
			v.n--;
		return v.n == n && memcmp(v.p, DICOMDIR_SOP_CLASS, n) == 0;
	}
	return false;
}

static void usage(FILE *to)
{
	fputs(
	    "usage: pacsd convert [--ts SYNTAX] IN OUT\n"
	    "\n"
	    "Reads the DICOM file IN and writes it to OUT (written to "
	    "OUT.tmp,\n"
	    "then renamed) in transfer syntax SYNTAX, by default IN's own:\n"
	    "  explicit   Explicit VR Little Endian   1.2.840.10008.1.2.1\n"
	    "  implicit   Implicit VR Little Endian   1.2.840.10008.1.2\n"
	    "  big        Explicit VR Big Endian      1.2.840.10008.1.2.2\n"
	    "  deflated   Deflated Explicit VR LE     1.2.840.10008.1.2.1.99\n"
	    "  UID        any known transfer syntax UID\n"
	    "Pixel data is not transcoded: compressed pixel data can only be\n"
	    "written in its own transfer syntax, and so can a DICOMDIR.\n",
	    to);
}

/* The transfer syntax named by a --ts argument, or NULL. */
static const struct dcm_ts *ts_by_name(const char *name)
{
	if (strcmp(name, "explicit") == 0)
		return &dcm_ts_explicit_le;
	if (strcmp(name, "implicit") == 0)
		return &dcm_ts_implicit_le;
	if (strcmp(name, "big") == 0)
		return &dcm_ts_explicit_be;
	if (strcmp(name, "deflated") == 0)
		return &dcm_ts_deflated_le;
	return dcm_ts_find(name, strlen(name));
}

int cmd_convert(int argc, char **argv)
{
	const char *in = NULL, *out = NULL, *ts_arg = NULL;
	const struct dcm_ts *ts = NULL, *src_ts;
	struct dcm_write_opts wo;
	struct pc_err err;
	const dcm_dataset *meta;
	dcm_dataset *ds;
	dcm_file *f = NULL;
	bool options = true;
	int i, rc = 1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (options && strcmp(a, "--") == 0) {
			options = false;
		} else if (options &&
		           (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			usage(stdout);
			return 0;
		} else if (options && strcmp(a, "--ts") == 0) {
			if (i + 1 >= argc) {
				fputs("pacsd convert: --ts needs a value\n",
				      stderr);
				return 2;
			}
			ts_arg = argv[++i];
		} else if (options && strncmp(a, "--ts=", 5) == 0) {
			ts_arg = a + 5;
		} else if (options && a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "pacsd convert: unknown option %s\n",
			        a);
			usage(stderr);
			return 2;
		} else if (in == NULL) {
			in = a;
		} else if (out == NULL) {
			out = a;
		} else {
			fprintf(stderr,
			        "pacsd convert: unexpected argument %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (in == NULL || out == NULL) {
		usage(stderr);
		return 2;
	}
	if (ts_arg != NULL) {
		ts = ts_by_name(ts_arg);
		if (ts == NULL) {
			fprintf(stderr,
			        "pacsd convert: unknown transfer syntax %s\n",
			        ts_arg);
			return 2;
		}
	}

	pc_err_clear(&err);
	f = dcm_file_open(in, NULL, &err);
	if (f == NULL)
		goto fail;
	ds = dcm_file_dataset(f);
	src_ts = dcm_file_ts(f);
	if (ts == NULL)
		ts = src_ts != NULL ? src_ts : &dcm_ts_explicit_le;

	/* The writer checks native against encapsulated; it cannot know that
	 * JPEG fragments labelled as RLE would be wrong, so that is caught
	 * here, where the source syntax is known. */
	if (src_ts != NULL && src_ts->encapsulated && ts->encapsulated &&
	    src_ts != ts && dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA) != NULL) {
		pc_err_set(&err, PC_UNSUPPORTED, 0,
		           "transcoding pixel data from %s to %s is not "
		           "supported",
		           src_ts->name, ts->name);
		goto fail;
	}

	/* The offsets in a DICOMDIR's records ((0004,1200), (0004,1202),
	 * (0004,1400), (0004,1420)) count bytes of its encoding: in another
	 * syntax they would point into the middle of elements. */
	if (src_ts != NULL && ts != src_ts && is_dicomdir(f)) {
		pc_err_set(&err, PC_UNSUPPORTED, 0,
		           "a DICOMDIR cannot change transfer syntax: its "
		           "record offsets would no longer be right");
		goto fail;
	}

	memset(&wo, 0, sizeof(wo));
	wo.ts = ts;
	wo.preamble = dcm_file_preamble(f);
	/* A bare data set (no meta) gets a File Meta Information made from
	 * its SOP Class and Instance UIDs. */
	meta = dcm_file_meta(f);
	if (meta != NULL && dcm_dataset_count(meta) == 0)
		meta = NULL;
	if (dcm_file_save(meta, ds, &wo, out, &err) != PC_OK)
		goto fail;
	rc = 0;
	goto done;

fail:
	fprintf(stderr, "pacsd convert: %s: %s\n", in,
	        err.msg[0] != '\0' ? err.msg : pc_status_text(err.status));
done:
	dcm_file_destroy(f);
	return rc;
}
