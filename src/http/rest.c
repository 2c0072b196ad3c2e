/*
 * rest.c - the seed REST API, compatible with PocketHealth's file server,
 * and /health.
 *
 *   POST /upload_file                multipart/form-data, part "file"
 *        201 {"storage_handle": "<32 hex>"}, Location: /uploads/dicom/<h>
 *        An identical repeat (same SOP Instance UID, same bytes) also
 *        answers 201 with the handle already stored: the file is stored
 *        under that handle, which is what the client asked for, and clients
 *        written against the original server expect 201 from every
 *        successful upload. Other bytes under a stored SOP Instance UID:
 *        409 (unless allow_overwrite, then 201 with a new handle).
 *        400 {"error": "Invalid file."} when there is no "file" part or it
 *        is not DICOM with the four UIDs; 400 for a malformed multipart
 *        body; 413 over max_body; 415 when the body is not
 *        multipart/form-data; 500 when storing fails (logged).
 *   GET  /uploads/dicom/{handle}     the stored file, application/dicom
 *   GET  /uploads/image/{handle}[?frame=N]
 *        the frame rendered to PNG. N counts from 1 like DICOMweb frames
 *        (PS3.18 8.3.5.1.2), default 1. 400 when the file has no Pixel
 *        Data, N is out of range or the pixel data is corrupt; 415 when
 *        pacsd has no decoder for the stored transfer syntax (the stored
 *        file's media type is the unsupported one).
 *   GET  /header_attributes/{handle}[?tags=0x00100010,0x00080005]
 *        the top-level attributes of the data set (not the file meta
 *        information), in tag order, as
 *        {"0x00100010": {"VR": "PN", "name": "Patient's Name",
 *                        "value": "Doe^John"}, ...}
 *        "value" is a string, or a number for IS DS and binary numbers, an
 *        array when VM > 1, an array of item objects for SQ, "" or null
 *        when empty; binary VRs (OB OW OF OD OL OV UN) give "length"
 *        instead of a value. Names come from the dictionary; private data
 *        elements from the private dictionary of their creator, else
 *        "Private tag"; unknown public tags "Unknown tag". Tags: a
 *        comma-separated list of 8 hex digits with or without "0x", or
 *        keywords ("PatientName"); the same list may come as a JSON body
 *        {"tags": [...]} (a GET with a body). A requested tag that the file
 *        lacks is left out. Anything else in the list: 400
 *        {"error": "Invalid tags."}.
 *   GET  /health                     200, or 503 when storage or index fail
 * Unknown or malformed handles: 404 {"error": "File not found."}.
 */
#include "http/http_int.h"
#include "pixel/pix.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#define TAGS_BODY_MAX 65536 /* a JSON {"tags": [...]} body */
#define TAGS_MAX 4096       /* tags in one request */
#define FILE_NOT_FOUND "File not found."
#define INVALID_FILE "Invalid file."
#define INVALID_TAGS "Invalid tags."

/* ---- shared ------------------------------------------------------------- */

static bool handle_ok(const char *h)
{
	size_t n = strlen(h);

	if (n != IDX_HANDLE_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= '0' && h[i] <= '9') ||
		      (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return true;
}

/* A stored instance, mapped and parsed. */
struct loaded {
	struct idx_instance inst;
	void *map;     /* mmap of the blob, or NULL */
	uint8_t *heap; /* the blob read into memory (no descriptor) */
	size_t size;
	dcm_file *file;
};

static void unload(struct loaded *l)
{
	dcm_file_destroy(l->file);
	if (l->map != NULL)
		munmap(l->map, l->size);
	pc_free(l->heap);
	memset(l, 0, sizeof(*l));
}

/*
 * Finds, maps and parses the instance `handle`; on failure responds (404,
 * 400 for a file that does not parse any more, 500) and returns false.
 */
static bool load(struct http_req *req, const char *handle, unsigned flags,
                 struct loaded *l)
{
	const struct http_services *svc = req->svc;
	struct pc_err err = {0};
	struct dcm_read_opts opts = {flags, NULL};
	blob_reader *r = NULL;
	enum pc_status st;
	const uint8_t *data;
	int fd;

	memset(l, 0, sizeof(*l));
	if (!handle_ok(handle)) {
		http_respond_error(req, 404, FILE_NOT_FOUND);
		return false;
	}
	st = idx_instance_by_handle(svc->index, handle, &l->inst, &err);
	if (st == PC_NOTFOUND) {
		http_respond_error(req, 404, FILE_NOT_FOUND);
		return false;
	}
	if (st != PC_OK) {
		http_respond_error(req, 500, "index lookup of %s: %s", handle,
		                   err.msg);
		return false;
	}
	r = blob_open(svc->store, handle, &err);
	if (r == NULL) {
		if (err.status == PC_NOTFOUND)
			http_respond_error(req, 404, FILE_NOT_FOUND);
		else
			http_respond_error(req, 500, "opening blob %s: %s",
			                   handle, err.msg);
		return false;
	}
	if (blob_reader_size(r) > SIZE_MAX) {
		http_respond_error(req, 500, "blob %s too large to map",
		                   handle);
		goto fail;
	}
	l->size = (size_t)blob_reader_size(r);
	if (l->size == 0) {
		http_respond_error(req, 400, "The stored file is empty.");
		goto fail;
	}
	fd = blob_reader_fd(r);
	if (fd >= 0) {
		l->map = mmap(NULL, l->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (l->map == MAP_FAILED) {
			l->map = NULL;
			http_respond_error(req, 500, "mapping blob %s: %s",
			                   handle, strerror(errno));
			goto fail;
		}
		data = l->map;
	} else {
		size_t got = 0;
		l->heap = pc_malloc(l->size);
		if (l->heap == NULL) {
			http_respond_error(req, 500, "out of memory reading %s",
			                   handle);
			goto fail;
		}
		if (blob_read(r, l->heap, l->size, &got, &err) != PC_OK ||
		    got != l->size) {
			http_respond_error(req, 500, "reading blob %s: %s",
			                   handle, err.msg);
			goto fail;
		}
		data = l->heap;
	}
	blob_close(r);
	r = NULL;
	l->file = dcm_file_parse(data, l->size, &opts, &err);
	if (l->file == NULL) {
		/* Stored files parsed at ingest; this one no longer does. */
		http_respond_error(
		    req, 400, "The stored file does not parse: %s", err.msg);
		unload(l);
		return false;
	}
	return true;
fail:
	blob_close(r);
	unload(l);
	return false;
}

/* ---- POST /upload_file -------------------------------------------------- */

struct upload {
	http_multipart *mp;
	ingest_upload *u;
	bool in_file;      /* the current part is the file */
	bool got_file;     /* a whole "file" part was read */
	enum pc_status st; /* why the ingest side failed, PC_OK if not */
	struct pc_err err; /* its detail */
};

static enum pc_status part_begin(void *ctx, const struct http_part *part)
{
	struct http_req *req = ctx;
	struct upload *up = req->state;

	/* The first part named "file" is the upload; others are ignored. */
	if (up->u != NULL || up->got_file ||
	    strcmp(part->disposition_name, "file") != 0)
		return PC_OK;
	up->u =
	    ingest_begin(req->svc->ingest, req->svc->cfg->max_body, &up->err);
	if (up->u == NULL) {
		up->st = up->err.status != PC_OK ? up->err.status : PC_IO;
		return up->st;
	}
	up->in_file = true;
	return PC_OK;
}

static enum pc_status part_data(void *ctx, const uint8_t *p, size_t n)
{
	struct http_req *req = ctx;
	struct upload *up = req->state;

	if (!up->in_file)
		return PC_OK;
	up->st = ingest_write(up->u, p, n, &up->err);
	return up->st;
}

static enum pc_status part_end(void *ctx)
{
	struct http_req *req = ctx;
	struct upload *up = req->state;

	if (up->in_file) {
		up->in_file = false;
		up->got_file = true;
	}
	return PC_OK;
}

static const struct http_multipart_cbs upload_cbs = {part_begin, part_data,
                                                     part_end};

static void upload_begin(struct http_req *req)
{
	const char *ctype = http_req_header(req, "Content-Type");
	struct http_mediatype mt;
	struct pc_err err = {0};
	struct upload *up;
	const char *boundary;

	if (ctype == NULL ||
	    http_mediatype_parse(req->arena, ctype, strlen(ctype), &mt, &err) !=
	        PC_OK ||
	    strcmp(mt.type, "multipart/form-data") != 0) {
		http_respond_error(req, 415,
		                   "Expected a multipart/form-data body.");
		return;
	}
	boundary = http_mediatype_param(&mt, "boundary");
	up = http_alloc(req, sizeof(*up));
	if (up == NULL) {
		http_respond_error(req, 500, "out of memory");
		return;
	}
	memset(up, 0, sizeof(*up));
	req->state = up;
	up->mp = http_multipart_create(boundary, &upload_cbs, req, NULL, &err);
	if (up->mp == NULL) {
		if (err.status == PC_NOMEM)
			http_respond_error(req, 500, "%s", err.msg);
		else
			http_respond_error(req, 400,
			                   "Invalid multipart boundary.");
	}
}

/* The multipart parse stopped: say why. */
static void upload_failed(struct http_req *req, enum pc_status st,
                          const struct pc_err *err)
{
	struct upload *up = req->state;

	if (up->st == PC_LIMIT)
		http_respond_error(req, 413,
		                   "File too large (limit %llu bytes).",
		                   (unsigned long long)req->svc->cfg->max_body);
	else if (up->st != PC_OK)
		http_respond_error(req, 500, "storing the upload: %s",
		                   up->err.msg);
	else if (st == PC_NOMEM)
		http_respond_error(req, 500, "%s", err->msg);
	else
		http_respond_error(req, 400, "Malformed multipart body: %s",
		                   err->msg);
}

static void upload_body(struct http_req *req, const uint8_t *p, size_t n)
{
	struct upload *up = req->state;
	struct pc_err err = {0};
	enum pc_status st;

	st = http_multipart_feed(up->mp, p, n, &err);
	if (st != PC_OK)
		upload_failed(req, st, &err);
}

static void upload_end(struct http_req *req)
{
	struct upload *up = req->state;
	struct ingest_result res;
	struct pc_err err = {0};
	struct pc_buf body = PC_BUF_INIT;
	char loc[64];
	enum pc_status st;

	st = http_multipart_finish(up->mp, &err);
	if (st != PC_OK) {
		upload_failed(req, st, &err);
		return;
	}
	if (!up->got_file) {
		http_respond_error(req, 400, INVALID_FILE);
		return;
	}
	memset(&res, 0, sizeof(res));
	st = ingest_commit(up->u, NULL, &res, &err);
	up->u = NULL; /* consumed */
	if (st != PC_OK) {
		switch (res.error) {
		case INGEST_NOT_DICOM:
		case INGEST_MISSING_UID:
		case INGEST_STUDY_MISMATCH:
			/* The body stays terse (compatibility); the log says
			 * why. */
			pc_log(PC_LOG_INFO, "upload rejected: %s", err.msg);
			http_respond_error(req, 400, INVALID_FILE);
			return;
		case INGEST_DUPLICATE:
			http_respond_error(req, 409,
			                   "An instance with SOP Instance UID "
			                   "%s is stored with other content.",
			                   res.sop_uid);
			return;
		case INGEST_TOO_LARGE:
			http_respond_error(req, 413, "File too large.");
			return;
		case INGEST_OK:
		case INGEST_STORAGE:
		default:
			http_respond_error(req, 500, "storing the upload: %s",
			                   err.msg);
			return;
		}
	}
	snprintf(loc, sizeof(loc), "/uploads/dicom/%s", res.handle);
	http_header_add(req, "Location", loc);
	pc_buf_puts(&body, "{\"storage_handle\": ");
	http_json_escape(&body, res.handle, strlen(res.handle));
	pc_buf_putc(&body, '}');
	if (pc_buf_status(&body) != PC_OK) {
		pc_buf_cleanup(&body);
		http_respond_error(req, 500, "out of memory");
		return;
	}
	http_respond_buf(req, 201, "application/json", &body);
}

static void upload_done(struct http_req *req)
{
	struct upload *up = req->state;

	if (up == NULL)
		return;
	ingest_abort(up->u);
	http_multipart_destroy(up->mp);
}

/* ---- GET /uploads/dicom/{handle} ---------------------------------------- */

static ssize_t blob_stream(void *ctx, uint64_t pos, char *buf, size_t max)
{
	size_t got = 0;
	struct pc_err err = {0};

	(void)pos; /* MHD asks for consecutive positions */
	if (blob_read(ctx, buf, max, &got, &err) != PC_OK) {
		pc_log(PC_LOG_ERROR, "reading a blob for download: %s",
		       err.msg);
		return HTTP_STREAM_ERROR;
	}
	return got == 0 ? HTTP_STREAM_END : (ssize_t)got;
}

static void blob_stream_free(void *ctx)
{
	blob_close(ctx);
}

/* Names the download after the SOP Instance UID (digits and dots: safe in
 * a quoted name), else the handle. */
static void content_disposition(struct http_req *req,
                                const struct idx_instance *inst)
{
	char disp[128];

	snprintf(disp, sizeof(disp), "attachment; filename=\"%s.dcm\"",
	         inst->sop_uid[0] != '\0' ? inst->sop_uid : inst->handle);
	http_header_add(req, "Content-Disposition", disp);
}

static void dicom_get(struct http_req *req)
{
	const struct http_services *svc = req->svc;
	const char *handle = req->params[0];
	struct idx_instance inst;
	struct pc_err err = {0};
	blob_reader *r;
	enum pc_status st;
	int fd;

	if (!handle_ok(handle)) {
		http_respond_error(req, 404, FILE_NOT_FOUND);
		return;
	}
	st = idx_instance_by_handle(svc->index, handle, &inst, &err);
	if (st == PC_NOTFOUND) {
		http_respond_error(req, 404, FILE_NOT_FOUND);
		return;
	}
	if (st != PC_OK) {
		http_respond_error(req, 500, "index lookup of %s: %s", handle,
		                   err.msg);
		return;
	}
	r = blob_open(svc->store, handle, &err);
	if (r == NULL) {
		if (err.status == PC_NOTFOUND)
			http_respond_error(req, 404, FILE_NOT_FOUND);
		else
			http_respond_error(req, 500, "opening blob %s: %s",
			                   handle, err.msg);
		return;
	}
	fd = blob_reader_fd(r);
	if (fd >= 0) {
		/* The response outlives the reader: it takes its own fd. */
		int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		uint64_t size = blob_reader_size(r);
		blob_close(r);
		if (own < 0) {
			http_respond_error(req, 500, "dup of blob %s: %s",
			                   handle, strerror(errno));
			return;
		}
		content_disposition(req, &inst);
		http_respond_fd(req, 200, "application/dicom", own, 0, size);
		return;
	}
	content_disposition(req, &inst);
	http_respond_stream(req, 200, "application/dicom", blob_reader_size(r),
	                    blob_stream, r, blob_stream_free);
}

/* ---- GET /uploads/image/{handle} ---------------------------------------- */

static void image_get(struct http_req *req)
{
	const char *fq = http_req_query(req, "frame");
	struct pix_render_opts o;
	struct pix_desc d;
	struct pc_buf png = PC_BUF_INIT;
	struct pc_err err = {0};
	struct loaded l;
	unsigned long frame = 1;
	enum pc_status st;
	dcm_dataset *ds;

	if (fq != NULL) {
		char *end;
		errno = 0;
		frame = strtoul(fq, &end, 10);
		if (errno != 0 || end == fq || *end != '\0' || fq[0] == '-' ||
		    fq[0] == '+' || frame == 0 || frame > UINT32_MAX) {
			http_respond_error(req, 400,
			                   "Invalid frame (a number from 1).");
			return;
		}
	}
	if (!load(req, req->params[0], 0, &l))
		return;
	ds = dcm_file_dataset(l.file);
	if (dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA) == NULL) {
		http_respond_error(req, 400,
		                   "The file has no image (no Pixel Data).");
		goto out;
	}
	st = pix_desc_read(ds, dcm_file_ts(l.file), &d, &err);
	if (st != PC_OK) {
		http_respond_error(req, st == PC_NOMEM ? 500 : 400,
		                   "Cannot render the image: %s", err.msg);
		goto out;
	}
	if (frame > d.frames) {
		http_respond_error(req, 400, "Frame %lu out of range (1-%u).",
		                   frame, d.frames);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.frame = (uint32_t)(frame - 1);
	o.format = PIX_FORMAT_PNG;
	st = pix_render(ds, dcm_file_ts(l.file), &o, &png, &err);
	if (st == PC_UNSUPPORTED)
		http_respond_error(req, 415, "Cannot render the image: %s",
		                   err.msg);
	else if (st == PC_NOMEM || st == PC_IO)
		http_respond_error(req, 500, "rendering %s: %s", req->params[0],
		                   err.msg);
	else if (st != PC_OK)
		http_respond_error(req, 400, "Cannot render the image: %s",
		                   err.msg);
	else
		http_respond_buf(req, 200, "image/png", &png);
out:
	pc_buf_cleanup(&png);
	unload(&l);
}

/* ---- GET /header_attributes/{handle} ------------------------------------ */

struct attrs {
	struct pc_buf body; /* a JSON {"tags": [...]} body */
	bool too_long;
};

static void attrs_begin(struct http_req *req)
{
	struct attrs *a = http_alloc(req, sizeof(*a));

	if (a == NULL) {
		http_respond_error(req, 500, "out of memory");
		return;
	}
	pc_buf_init(&a->body);
	a->too_long = false;
	req->state = a;
}

static void attrs_body(struct http_req *req, const uint8_t *p, size_t n)
{
	struct attrs *a = req->state;

	if (a->body.n + n > TAGS_BODY_MAX) {
		a->too_long = true;
		return;
	}
	pc_buf_append(&a->body, p, n);
}

static void attrs_done(struct http_req *req)
{
	struct attrs *a = req->state;

	if (a != NULL)
		pc_buf_cleanup(&a->body);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "0x00100010", "00100010" or a keyword ("PatientName"). */
static bool parse_tag(const char *s, size_t n, uint32_t *tag)
{
	uint32_t v = 0;

	if (n == 10 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	if (n == 8) {
		bool hex = true;
		for (size_t i = 0; i < 8 && hex; i++) {
			int h = hexval(s[i]);
			hex = h >= 0;
			v = (v << 4) | (uint32_t)(h < 0 ? 0 : h);
		}
		if (hex) {
			*tag = v;
			return true;
		}
	}
	if (n == 0 || n > 64)
		return false;
	char kw[65];
	memcpy(kw, s, n);
	kw[n] = '\0';
	const struct dcm_dict_entry *e = dcm_dict_find_keyword(kw);
	if (e == NULL || e->mask != 0xFFFFFFFFu)
		return false;
	*tag = e->tag;
	return true;
}

static int tag_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Adds a tag to the selection; false when it is malformed or too many. */
static bool add_tag(uint32_t *tags, size_t *n, const char *s, size_t len)
{
	uint32_t t;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (*n == TAGS_MAX || !parse_tag(s, len, &t))
		return false;
	tags[(*n)++] = t;
	return true;
}

/* Emits one JSON number from DICOM text (IS, DS), else the string. */
static void put_text_number(struct pc_buf *out, const char *s)
{
	const char *p = s;

	/* JSON number grammar (RFC 8259 6). */
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		goto not_json;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			goto not_json;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			goto not_json;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == '\0') {
		pc_buf_puts(out, s);
		return;
	}
not_json:;
	/* "+1", ".5", "1." are valid DS but not JSON numbers. */
	char *end;
	double d = strtod(s, &end);
	if (end != s && *end == '\0' && isfinite(d))
		pc_buf_printf(out, "%.17g", d);
	else
		http_json_escape(out, s, strlen(s));
}

static void put_value(struct pc_buf *out, const dcm_dataset *ds,
                      const dcm_elem *e, enum dcm_vr vr, size_t i,
                      struct pc_buf *tmp)
{
	int64_t iv;
	uint64_t uv;
	double dv;

	pc_buf_reset(tmp);
	switch (vr) {
	case DCM_VR_US:
	case DCM_VR_UL:
	case DCM_VR_UV:
		if (dcm_elem_get_uint(e, i, &uv) == PC_OK)
			pc_buf_printf(out, "%llu", (unsigned long long)uv);
		else
			pc_buf_puts(out, "null");
		return;
	case DCM_VR_SS:
	case DCM_VR_SL:
	case DCM_VR_SV:
		if (dcm_elem_get_int(e, i, &iv) == PC_OK)
			pc_buf_printf(out, "%lld", (long long)iv);
		else
			pc_buf_puts(out, "null");
		return;
	case DCM_VR_FL:
	case DCM_VR_FD:
		if (dcm_elem_get_double(e, i, &dv) == PC_OK && isfinite(dv))
			pc_buf_printf(out, vr == DCM_VR_FL ? "%.9g" : "%.17g",
			              dv);
		else
			pc_buf_puts(out, "null");
		return;
	case DCM_VR_AT: {
		struct pc_span v = dcm_elem_value(e);
		if (v.n < (i + 1) * 4) {
			pc_buf_puts(out, "null");
			return;
		}
		const uint8_t *b = v.p + i * 4;
		uint16_t g, el;
		if (dcm_elem_big_endian(e)) {
			g = (uint16_t)(b[0] << 8 | b[1]);
			el = (uint16_t)(b[2] << 8 | b[3]);
		} else {
			g = (uint16_t)(b[1] << 8 | b[0]);
			el = (uint16_t)(b[3] << 8 | b[2]);
		}
		pc_buf_printf(out, "\"0x%04X%04X\"", g, el);
		return;
	}
	default:
		break;
	}
	if (dcm_elem_get_string(ds, e, i, tmp) != PC_OK) {
		pc_buf_puts(out, "null");
		return;
	}
	if (vr == DCM_VR_IS || vr == DCM_VR_DS) {
		if (tmp->n == 0)
			pc_buf_puts(out, "null");
		else
			put_text_number(out, pc_buf_str(tmp));
		return;
	}
	http_json_escape(out, pc_buf_str(tmp), tmp->n);
}

static const char *elem_name(const dcm_dataset *ds, uint32_t tag)
{
	const struct dcm_dict_entry *d;
	char creator[65];

	if ((DCM_TAG_GROUP(tag) & 1u) != 0 && DCM_TAG_ELEM(tag) >= 0x1000) {
		if (dcm_dataset_private_creator(ds, tag, creator,
		                                sizeof(creator))) {
			d = dcm_dict_find_private(creator, tag);
			if (d != NULL)
				return d->name;
		}
		return "Private tag";
	}
	d = dcm_dict_find(tag);
	if (d != NULL)
		return d->name;
	return (DCM_TAG_GROUP(tag) & 1u) != 0 ? "Private tag" : "Unknown tag";
}

static bool binary_vr(enum dcm_vr vr)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);

	return vi == NULL || vi->cls == DCM_VRC_BYTES;
}

static void put_dataset(struct pc_buf *out, const dcm_dataset *ds,
                        const uint32_t *sel, size_t n_sel, struct pc_buf *tmp);

/* One attribute's {"VR": ..., "name": ..., "value"/"length": ...}. */
static void put_elem(struct pc_buf *out, const dcm_dataset *ds,
                     const dcm_elem *e, struct pc_buf *tmp)
{
	uint32_t tag = dcm_elem_tag(e);
	enum dcm_vr vr = dcm_elem_vr(e);
	const char *name = elem_name(ds, tag);
	size_t vm;

	pc_buf_puts(out, "{\"VR\": ");
	pc_buf_printf(out, "\"%s\"",
	              vr == DCM_VR_NONE ? "UN" : dcm_vr_name(vr));
	pc_buf_puts(out, ", \"name\": ");
	http_json_escape(out, name, strlen(name));
	if (dcm_elem_is_sequence(e)) {
		pc_buf_puts(out, ", \"value\": [");
		for (size_t i = 0; i < dcm_elem_item_count(e); i++) {
			if (i > 0)
				pc_buf_puts(out, ", ");
			put_dataset(out, dcm_elem_item(e, i), NULL, 0, tmp);
		}
		pc_buf_puts(out, "]}");
		return;
	}
	if (binary_vr(vr)) {
		uint64_t len = dcm_elem_length(e);
		if (dcm_elem_is_encapsulated(e)) {
			len = dcm_elem_offset_table(e).n;
			for (size_t i = 0; i < dcm_elem_fragment_count(e); i++)
				len += dcm_elem_fragment(e, i).n;
		}
		pc_buf_printf(out, ", \"length\": %llu}",
		              (unsigned long long)len);
		return;
	}
	pc_buf_puts(out, ", \"value\": ");
	vm = dcm_elem_vm(e);
	if (vm == 0) {
		const struct dcm_vr_info *vi = dcm_vr_info(vr);
		pc_buf_puts(out, vi != NULL && vi->cls == DCM_VRC_NUMBER
		                     ? "null"
		                     : "\"\"");
	} else if (vm == 1) {
		put_value(out, ds, e, vr, 0, tmp);
	} else {
		pc_buf_putc(out, '[');
		for (size_t i = 0; i < vm; i++) {
			if (i > 0)
				pc_buf_puts(out, ", ");
			put_value(out, ds, e, vr, i, tmp);
		}
		pc_buf_putc(out, ']');
	}
	pc_buf_putc(out, '}');
}

/* The data set as an object; `sel` (sorted) limits it when n_sel > 0. */
static void put_dataset(struct pc_buf *out, const dcm_dataset *ds,
                        const uint32_t *sel, size_t n_sel, struct pc_buf *tmp)
{
	bool first = true;

	pc_buf_putc(out, '{');
	for (size_t i = 0; i < dcm_dataset_count(ds); i++) {
		const dcm_elem *e = dcm_dataset_at(ds, i);
		uint32_t tag = dcm_elem_tag(e);

		if (sel != NULL &&
		    bsearch(&tag, sel, n_sel, sizeof(*sel), tag_cmp) == NULL)
			continue;
		if (!first)
			pc_buf_puts(out, ", ");
		first = false;
		pc_buf_printf(out, "\"0x%08X\": ", tag);
		put_elem(out, ds, e, tmp);
	}
	pc_buf_putc(out, '}');
}

/* Reads the selection from ?tags= or the JSON body; false: invalid. */
static bool read_selection(struct http_req *req, struct attrs *a,
                           uint32_t **sel, size_t *n_sel)
{
	const char *q = http_req_query(req, "tags");
	uint32_t *tags;
	size_t n = 0;

	*sel = NULL;
	*n_sel = 0;
	if (q == NULL && a->body.n == 0 && !a->too_long)
		return true; /* everything */
	tags = http_alloc(req, TAGS_MAX * sizeof(*tags));
	if (tags == NULL)
		return false;
	if (q != NULL) {
		const char *p = q;
		if (*p == '\0')
			return false;
		for (;;) {
			const char *comma = strchr(p, ',');
			size_t len =
			    comma != NULL ? (size_t)(comma - p) : strlen(p);
			if (!add_tag(tags, &n, p, len))
				return false;
			if (comma == NULL)
				break;
			p = comma + 1;
		}
	} else {
		json_error_t jerr;
		json_t *root, *list, *v;
		size_t i;
		bool ok = !a->too_long;

		root = ok ? json_loadb(a->body.p, a->body.n, 0, &jerr) : NULL;
		list =
		    json_is_object(root) ? json_object_get(root, "tags") : NULL;
		ok = json_is_array(list) && json_array_size(list) > 0;
		json_array_foreach(list, i, v)
		{
			if (!ok)
				break;
			ok = json_is_string(v) &&
			     add_tag(tags, &n, json_string_value(v),
			             json_string_length(v));
		}
		json_decref(root);
		if (!ok)
			return false;
	}
	qsort(tags, n, sizeof(*tags), tag_cmp);
	*sel = tags;
	*n_sel = n;
	return true;
}

static void attrs_end(struct http_req *req)
{
	struct attrs *a = req->state;
	struct pc_buf out = PC_BUF_INIT, tmp = PC_BUF_INIT;
	struct loaded l;
	uint32_t *sel;
	size_t n_sel;
	unsigned flags = DCM_READ_HEADER_ONLY;

	if (!read_selection(req, a, &sel, &n_sel)) {
		http_respond_error(req, 400, INVALID_TAGS);
		return;
	}
	/* The whole file only when what is asked lies at or past Pixel Data. */
	if (sel == NULL || (n_sel > 0 && sel[n_sel - 1] >= DCM_TAG_PIXEL_DATA))
		flags = 0;
	if (!load(req, req->params[0], flags, &l))
		return;
	put_dataset(&out, dcm_file_dataset(l.file), sel, n_sel, &tmp);
	unload(&l);
	pc_buf_cleanup(&tmp);
	if (pc_buf_status(&out) != PC_OK) {
		pc_buf_cleanup(&out);
		http_respond_error(req, 500, "out of memory");
		return;
	}
	http_respond_buf(req, 200, "application/json", &out);
}

/* ---- GET /health -------------------------------------------------------- */

static void health(struct http_req *req)
{
	const struct http_services *svc = req->svc;
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err serr = {0}, ierr = {0};
	struct idx_counts counts;
	bool exists, sok, iok;

	/* A stat in the store: proves the directory answers. */
	sok = blob_exists(svc->store, "0000", &exists, &serr) == PC_OK;
	iok = idx_ping(svc->index, &ierr) == PC_OK &&
	      idx_counts(svc->index, &counts, &ierr) == PC_OK;

	pc_buf_printf(&b, "{\"status\": \"%s\", \"version\": \"%s\", ",
	              sok && iok ? "ok" : "error", PACSD_VERSION);
	pc_buf_printf(&b, "\"storage\": {\"backend\": \"%s\", \"ok\": %s",
	              blob_store_backend(svc->store), sok ? "true" : "false");
	if (!sok) {
		pc_buf_puts(&b, ", \"error\": ");
		http_json_escape(&b, serr.msg, strlen(serr.msg));
	}
	pc_buf_printf(&b,
	              "}, \"index\": {\"backend\": \"%s\", \"ok\": %s, "
	              "\"schema\": %d",
	              idx_backend(svc->index), iok ? "true" : "false",
	              idx_schema_version(svc->index));
	if (iok)
		pc_buf_printf(&b,
		              ", \"patients\": %llu, \"studies\": %llu, "
		              "\"series\": %llu, \"instances\": %llu, "
		              "\"bytes\": %llu",
		              (unsigned long long)counts.patients,
		              (unsigned long long)counts.studies,
		              (unsigned long long)counts.series,
		              (unsigned long long)counts.instances,
		              (unsigned long long)counts.bytes);
	else {
		pc_buf_puts(&b, ", \"error\": ");
		http_json_escape(&b, ierr.msg, strlen(ierr.msg));
	}
	pc_buf_printf(&b,
	              "}, \"libraries\": {\"sqlite\": \"%s\", "
	              "\"libmicrohttpd\": \"%s\", \"openssl\": \"%s\", "
	              "\"jansson\": \"%s\", \"zlib\": \"%s\"}}",
	              sqlite3_libversion(), MHD_get_version(),
	              OpenSSL_version(OPENSSL_VERSION), jansson_version_str(),
	              zlibVersion());
	if (!sok || !iok)
		pc_log(PC_LOG_ERROR, "health check failed: %s%s%s",
		       sok ? "" : serr.msg, !sok && !iok ? "; " : "",
		       iok ? "" : ierr.msg);
	if (pc_buf_status(&b) != PC_OK) {
		pc_buf_cleanup(&b);
		http_respond_error(req, 500, "out of memory");
		return;
	}
	http_header_add(req, "Cache-Control", "no-store");
	http_respond_buf(req, sok && iok ? 200 : 503, "application/json", &b);
}

const struct http_route http_rest_routes[] = {
    {HTTP_POST, "/upload_file", upload_begin, upload_body, upload_end,
     upload_done},
    {HTTP_GET, "/uploads/dicom/{}", dicom_get, NULL, NULL, NULL},
    {HTTP_GET, "/uploads/image/{}", image_get, NULL, NULL, NULL},
    {HTTP_GET, "/header_attributes/{}", attrs_begin, attrs_body, attrs_end,
     attrs_done},
    {HTTP_GET, "/health", health, NULL, NULL, NULL},
    {0, NULL, NULL, NULL, NULL, NULL},
};
