/*
 * render_bench.c - how fast pacsd turns a DICOM file into a PNG, measured
 * inside one process (no process start-up, no file write).
 *
 * usage: render_bench [--repeat R] [--frame N] [--window C,W]
 *                     [--format png|jpeg] FILE
 *
 * Each repetition does the whole job of one `pacsd render FILE -o OUT`:
 * dcm_file_open() (mmap + parse), pix_desc_read(), pix_frame_decode() of
 * frame N (1-based, default 1), pix_render_image() and pix_image_encode(),
 * then frees everything; only writing the output file is left out. The
 * time of each stage is summed separately so that a slow stage shows.
 *
 * Output, one machine-readable line on stdout:
 *   frames=R seconds=S frames_per_s=F mb_per_s=M pixel_bytes=P
 *   open_s=.. decode_s=.. render_s=.. encode_s=.. out_bytes=O cpu_s=C
 * MB = 10^6 bytes of decoded pixels at their native size (rows x cols x
 * samples x BitsAllocated/8) per frame, the same measure run.sh uses for
 * every tool. out_bytes is the size of the last encoded image. Exit status
 * 1 on bad usage or when a repetition fails (the error is printed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dicom/dcm.h"
#include "pixel/pix.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(void)
{
	fprintf(stderr, "usage: render_bench [--repeat R] [--frame N] "
	                "[--window C,W] [--format png|jpeg] FILE\n");
}

struct stages {
	double open, decode, render, encode;
};

/* One render; returns 0, or -1 with the error printed. */
static int render_once(const char *path, const struct pix_render_opts *o,
                       struct stages *st, uint64_t *pixel_bytes,
                       size_t *out_bytes)
{
	struct pc_err err = {0};
	struct pix_desc d;
	struct pix_frame f = {0};
	struct pix_image img = {0};
	struct pc_buf out = PC_BUF_INIT;
	dcm_file *file = NULL;
	double t0, t1, t2, t3, t4;
	int rc = -1;

	t0 = now();
	file = dcm_file_open(path, NULL, &err);
	if (file == NULL)
		goto cleanup;
	if (pix_desc_read(dcm_file_dataset(file), dcm_file_ts(file), &d,
	                  &err) != PC_OK)
		goto cleanup;
	t1 = now();
	if (pix_frame_decode(&d, o->frame, &f, &err) != PC_OK)
		goto cleanup;
	t2 = now();
	if (pix_render_image(dcm_file_dataset(file), &d, &f, o, &img, &err) !=
	    PC_OK)
		goto cleanup;
	t3 = now();
	if (pix_image_encode(&img, o->format, o->quality, &out, &err) != PC_OK)
		goto cleanup;
	t4 = now();
	st->open += t1 - t0;
	st->decode += t2 - t1;
	st->render += t3 - t2;
	st->encode += t4 - t3;
	*pixel_bytes = (uint64_t)d.rows * d.cols * d.samples *
	               ((d.bits_allocated + 7u) / 8u);
	*out_bytes = out.n;
	rc = 0;
cleanup:
	if (rc != 0)
		fprintf(stderr, "render_bench: %s: %s\n", path, err.msg);
	pc_buf_cleanup(&out);
	pix_image_cleanup(&img);
	pix_frame_cleanup(&f);
	dcm_file_destroy(file);
	return rc;
}

int main(int argc, char **argv)
{
	struct pix_render_opts o = {0};
	struct stages st = {0};
	const char *path = NULL;
	unsigned long repeat = 20;
	uint64_t pixel_bytes = 0;
	size_t out_bytes = 0;
	double t0, c0, s;

	o.format = PIX_FORMAT_PNG;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;

		if (strcmp(a, "--repeat") == 0 && i + 1 < argc) {
			repeat = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || repeat == 0)
				goto bad;
		} else if (strcmp(a, "--frame") == 0 && i + 1 < argc) {
			unsigned long n = strtoul(argv[++i], &end, 10);

			if (*end != '\0' || n == 0 || n > UINT32_MAX)
				goto bad;
			o.frame = (uint32_t)(n - 1);
		} else if (strcmp(a, "--window") == 0 && i + 1 < argc) {
			o.center = strtod(argv[++i], &end);
			if (*end != ',')
				goto bad;
			o.width = strtod(end + 1, &end);
			if (*end != '\0')
				goto bad;
			o.window = true;
		} else if (strcmp(a, "--format") == 0 && i + 1 < argc) {
			a = argv[++i];
			if (strcmp(a, "png") == 0)
				o.format = PIX_FORMAT_PNG;
			else if (strcmp(a, "jpeg") == 0)
				o.format = PIX_FORMAT_JPEG;
			else
				goto bad;
		} else if (a[0] == '-' || path != NULL) {
			goto bad;
		} else {
			path = a;
		}
	}
	if (path == NULL)
		goto bad;

	/* One untimed render: warms the page cache and the libraries. */
	if (render_once(path, &o, &st, &pixel_bytes, &out_bytes) != 0)
		return 1;
	memset(&st, 0, sizeof(st));
	t0 = now();
	c0 = cpu_now();
	for (unsigned long r = 0; r < repeat; r++)
		if (render_once(path, &o, &st, &pixel_bytes, &out_bytes) != 0)
			return 1;
	s = now() - t0;
	c0 = cpu_now() - c0;
	if (s <= 0)
		s = 1e-9;
	printf("frames=%lu seconds=%.6f frames_per_s=%.1f mb_per_s=%.2f "
	       "pixel_bytes=%llu open_s=%.6f decode_s=%.6f render_s=%.6f "
	       "encode_s=%.6f out_bytes=%zu cpu_s=%.6f\n",
	       repeat, s, (double)repeat / s,
	       (double)pixel_bytes * (double)repeat / 1e6 / s,
	       (unsigned long long)pixel_bytes, st.open, st.decode, st.render,
	       st.encode, out_bytes, c0);
	return 0;
bad:
	usage();
	return 1;
}
