/*
 * render.c - `pacsd render FILE -o OUT`: one frame of a DICOM image as PNG
 * or JPEG through the display pipeline of the pixel module (Modality LUT,
 * VOI window or LUT, MONOCHROME1 inversion, palette colour), optionally
 * shrunk; or, with --format raw, the decoded samples before any LUT (for
 * tests that compare our decoders with other toolkits).
 *
 * Frame numbers on the command line count from 1, as DICOM numbers frames
 * (Referenced Frame Number, WADO's frame list); the library counts from 0.
 */
#include "cmd.h"

#include "pixel/pix.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum out_format { OUT_AUTO, OUT_PNG, OUT_JPEG, OUT_RAW };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pacsd render [OPTIONS] FILE -o OUT\n"
		"Renders one frame of a DICOM image for display.\n\n"
		"  -o, --output OUT     where to write ('-' = standard output)\n"
		"  --frame N            frame number, counted from 1 (default 1)\n"
		"  --window C,W         window center and width in modality\n"
		"                       units, LINEAR function (default: the\n"
		"                       file's first window, else its VOI LUT,\n"
		"                       else the frame's min..max)\n"
		"  --size WxH           shrink to fit inside W x H, keeping the\n"
		"                       aspect ratio (0 = no bound on that side)\n"
		"  --format F           png, jpeg or raw (default from OUT's\n"
		"                       extension: .jpg/.jpeg JPEG, else PNG);\n"
		"                       raw = the decoded samples before any LUT,\n"
		"                       little endian int32, rows*cols*samples,\n"
		"                       colour interleaved (R,G,B,R,...)\n"
		"  --quality Q          JPEG quality 1..100 (default 90)\n"
		"Exit status: 0 written, 1 the file could not be rendered, 2 "
		"usage.\n");
}

static bool parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_window(const char *s, double *c, double *w)
{
	char *end;

	errno = 0;
	*c = strtod(s, &end);
	if (errno != 0 || end == s || *end != ',')
		return false;
	s = end + 1;
	*w = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0';
}

static bool parse_size(const char *s, uint32_t *w, uint32_t *h)
{
	char buf[64];
	char *x;

	if (strlen(s) >= sizeof(buf))
		return false;
	memcpy(buf, s, strlen(s) + 1);
	x = strchr(buf, 'x');
	if (x == NULL)
		return false;
	*x = '\0';
	return parse_u32(buf, w) && parse_u32(x + 1, h);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* Writes the bytes to `path` ('-' = stdout); false with errno set. */
static bool write_out(const char *path, const void *p, size_t n)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	bool ok;

	if (fp == NULL)
		return false;
	ok = fwrite(p, 1, n, fp) == n;
	if (fp == stdout)
		ok = fflush(fp) == 0 && ok;
	else
		ok = fclose(fp) == 0 && ok;
	return ok;
}

/* The decoded samples of one frame as little endian int32. */
static enum pc_status render_raw(const dcm_dataset *ds, const struct dcm_ts *ts,
				 uint32_t frame, struct pc_buf *out,
				 struct pc_err *err)
{
	struct pix_desc d;
	struct pix_frame f = {0};
	size_t n;
	uint8_t *p;
	enum pc_status st;

	st = pix_desc_read(ds, ts, &d, err);
	if (st != PC_OK)
		return st;
	st = pix_frame_decode(&d, frame, &f, err);
	if (st != PC_OK)
		return st;
	n = (size_t)f.rows * f.cols * f.samples;
	p = pc_buf_reserve(out, n * 4);
	if (p == NULL) {
		pix_frame_cleanup(&f);
		return pc_err_set(err, PC_NOMEM, 0, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t v = (uint32_t)f.data[i];

		p[4 * i] = (uint8_t)v;
		p[4 * i + 1] = (uint8_t)(v >> 8);
		p[4 * i + 2] = (uint8_t)(v >> 16);
		p[4 * i + 3] = (uint8_t)(v >> 24);
	}
	pc_buf_commit(out, n * 4);
	pix_frame_cleanup(&f);
	return PC_OK;
}

int cmd_render(int argc, char **argv)
{
	struct pix_render_opts o = {0};
	enum out_format fmt = OUT_AUTO;
	const char *in = NULL, *outp = NULL;
	struct pc_buf buf = PC_BUF_INIT;
	struct pc_err err = {0};
	struct dcm_read_opts ro = {0};
	const struct dcm_ts *ts;
	uint32_t frame = 1;
	dcm_file *f = NULL;
	enum pc_status st;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (a[0] != '-' || strcmp(a, "-") == 0) {
			if (in != NULL) {
				fprintf(stderr, "pacsd render: one FILE only\n");
				return 2;
			}
			in = a;
			continue;
		}
		if (strcmp(a, "-o") != 0 && strcmp(a, "--output") != 0 &&
		    strcmp(a, "--frame") != 0 && strcmp(a, "--window") != 0 &&
		    strcmp(a, "--size") != 0 && strcmp(a, "--format") != 0 &&
		    strcmp(a, "--quality") != 0) {
			fprintf(stderr, "pacsd render: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
		if (val == NULL) {
			fprintf(stderr, "pacsd render: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			outp = val;
		} else if (strcmp(a, "--frame") == 0) {
			ok = parse_u32(val, &frame) && frame >= 1;
		} else if (strcmp(a, "--window") == 0) {
			ok = parse_window(val, &o.center, &o.width);
			o.window = true;
		} else if (strcmp(a, "--size") == 0) {
			ok = parse_size(val, &o.max_w, &o.max_h);
		} else if (strcmp(a, "--quality") == 0) {
			uint32_t q = 0;

			ok = parse_u32(val, &q) && q >= 1 && q <= 100;
			o.quality = (int)q;
		} else {
			if (strcmp(val, "png") == 0)
				fmt = OUT_PNG;
			else if (strcmp(val, "jpeg") == 0 ||
				 strcmp(val, "jpg") == 0)
				fmt = OUT_JPEG;
			else if (strcmp(val, "raw") == 0)
				fmt = OUT_RAW;
			else
				ok = false;
		}
		if (!ok) {
			fprintf(stderr, "pacsd render: bad value '%s' for %s\n",
				val, a);
			return 2;
		}
	}
	if (in == NULL || outp == NULL) {
		usage(stderr);
		return 2;
	}
	if (fmt == OUT_AUTO)
		fmt = ends_with(outp, ".jpg") || ends_with(outp, ".jpeg")
			      ? OUT_JPEG
			      : OUT_PNG;
	o.format = fmt == OUT_JPEG ? PIX_FORMAT_JPEG : PIX_FORMAT_PNG;
	o.frame = frame - 1;

	f = dcm_file_open(in, &ro, &err);
	if (f == NULL)
		goto fail;
	ts = dcm_file_ts(f);
	if (ts == NULL) {
		pc_err_set(&err, PC_UNSUPPORTED, 0, "unknown transfer syntax");
		goto fail;
	}
	if (fmt == OUT_RAW)
		st = render_raw(dcm_file_dataset(f), ts, o.frame, &buf, &err);
	else
		st = pix_render(dcm_file_dataset(f), ts, &o, &buf, &err);
	if (st != PC_OK)
		goto fail;
	if (!write_out(outp, buf.p, buf.n)) {
		fprintf(stderr, "pacsd render: %s: %s\n", outp, strerror(errno));
		goto done;
	}
	rc = 0;
	goto done;
fail:
	fprintf(stderr, "pacsd render: %s: %s\n", in,
		err.msg[0] ? err.msg : pc_status_text(err.status));
done:
	dcm_file_destroy(f);
	pc_buf_cleanup(&buf);
	return rc;
}
