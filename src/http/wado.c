/*
 * wado.c - WADO-RS retrieve of instances and metadata (PS3.18 10.4), and
 * what every WADO handler shares: Accept lists, instance lists, opening
 * stored files and the streamed multipart/related writer.
 *
 * DESIGN
 * - Memory stays bounded by one instance, whatever the size of the study:
 *   the instance list holds ~200 bytes per instance, and parts are made one
 *   at a time while the response streams (a wado_next_fn called from the
 *   server thread when the previous part has gone out). Stored bytes go
 *   from the blob's descriptor to the socket buffer with pread; only an
 *   instance that must be transcoded is built in memory, alone.
 * - Transfer syntax of each instance (PS3.18 8.7.3.2, 8.7.3.5): the first
 *   acceptable media type that can be produced for it wins:
 *     transfer-syntax absent  Explicit VR Little Endian; as stored when the
 *                             stored pixel data is lossy or cannot be
 *                             decoded (8.7.3.3: "unless the origin server
 *                             has only access to ... lossy compressed form")
 *     transfer-syntax=*       as stored, but Implicit VR Little Endian and
 *                             Big Endian become Explicit VR Little Endian
 *                             (8.7.3: they "shall not be used")
 *     a UID                   as stored when equal; Explicit VR Little
 *                             Endian by transcoding; anything else 406.
 *   Producing Explicit VR Little Endian from another native syntax only
 *   re-encodes the data set; from a compressed one it decodes the frames
 *   (pix_transcode_native).
 * - Media types: multipart/related; type="application/dicom" (the default,
 *   also for *\/\*); a plain application/dicom gets one single part for an
 *   instance and the multipart form for a study or series (a lenient
 *   reading: PS3.18 10.4.1.2 allows the single part only for one instance).
 * - Metadata is the DICOM JSON stored by ingest, joined into one array; the
 *   relative BulkDataURI values ("/studies/...") get the request's base URL
 *   and the DICOMweb root prefixed by a memmem scan, without re-parsing.
 */
#include "http/wado_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

/* ---- Accept ------------------------------------------------------------- */

bool wado__is(const struct http_mediatype *m, const char *type)
{
	return strcasecmp(m->type, type) == 0;
}

/* Drops q=0 entries in place (they only exclude, and nothing we produce
 * is chosen by exclusion). */
static size_t drop_q0(struct http_mediatype *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i].q > 0)
			v[k++] = v[i];
	return k;
}

bool wado__accept(struct http_req *req, const char *param_name,
		  struct http_mediatype **out, size_t *n)
{
	struct pc_err err;
	const char *q = http_req_query(req, param_name);
	const char *h;

	pc_err_clear(&err);
	if (q != NULL) {
		if (http_accept_parse(req->arena, q, out, n, &err) != PC_OK) {
			http_respond_error(req, 400,
					   "Invalid %s query parameter: %s",
					   param_name, err.msg);
			return false;
		}
		*n = drop_q0(*out, *n);
		return true;
	}
	h = http_req_header(req, "Accept");
	if (http_accept_parse(req->arena, h, out, n, &err) != PC_OK) {
		pc_log(PC_LOG_DEBUG, "%s: Accept \"%.100s\" ignored: %s",
		       req->path, h, err.msg);
		if (http_accept_parse(req->arena, NULL, out, n, &err) !=
		    PC_OK) {
			http_respond_error(req, 500, "cannot parse Accept: %s",
					   err.msg);
			return false;
		}
	}
	*n = drop_q0(*out, *n);
	return true;
}

/* ---- transfer syntaxes -------------------------------------------------- */

/* PS3.18 table 8.7.3-5 (compressed bulk data media types), plus the lossy
 * flag of each syntax (PS3.5 A.4: JPEG baseline/extended, JPEG-LS near-
 * lossless, JPEG 2000 and HTJ2K irreversible, MPEG/HEVC video). */
static const struct ts_info {
	const char *uid;
	const char *media;
	bool lossy;
} ts_table[] = {
	{"1.2.840.10008.1.2.4.50", "image/jpeg", true},
	{"1.2.840.10008.1.2.4.51", "image/jpeg", true},
	{"1.2.840.10008.1.2.4.57", "image/jpeg", false},
	{"1.2.840.10008.1.2.4.70", "image/jpeg", false},
	{"1.2.840.10008.1.2.4.80", "image/jls", false},
	{"1.2.840.10008.1.2.4.81", "image/jls", true},
	{"1.2.840.10008.1.2.4.90", "image/jp2", false},
	{"1.2.840.10008.1.2.4.91", "image/jp2", true},
	{"1.2.840.10008.1.2.4.92", "image/jpx", false},
	{"1.2.840.10008.1.2.4.93", "image/jpx", true},
	{"1.2.840.10008.1.2.4.201", "image/jphc", false},
	{"1.2.840.10008.1.2.4.202", "image/jphc", false},
	{"1.2.840.10008.1.2.4.203", "image/jphc", true},
	{"1.2.840.10008.1.2.5", "image/dicom-rle", false},
	{"1.2.840.10008.1.2.4.100", "video/mpeg2", true},
	{"1.2.840.10008.1.2.4.101", "video/mpeg2", true},
	{"1.2.840.10008.1.2.4.102", "video/mp4", true},
	{"1.2.840.10008.1.2.4.103", "video/mp4", true},
	{"1.2.840.10008.1.2.4.104", "video/mp4", true},
	{"1.2.840.10008.1.2.4.105", "video/mp4", true},
	{"1.2.840.10008.1.2.4.106", "video/mp4", true},
	{"1.2.840.10008.1.2.4.107", "video/H265", true},
	{"1.2.840.10008.1.2.4.108", "video/H265", true},
};

static const struct ts_info *ts_info(const char *uid)
{
	for (size_t i = 0; i < sizeof(ts_table) / sizeof(ts_table[0]); i++)
		if (strcmp(ts_table[i].uid, uid) == 0)
			return &ts_table[i];
	return NULL;
}

bool wado__ts_lossy(const char *uid)
{
	const struct ts_info *t = ts_info(uid);

	return t != NULL && t->lossy;
}

const char *wado__ts_media(const char *uid)
{
	const struct ts_info *t = ts_info(uid);

	return t != NULL ? t->media : NULL;
}

/* ---- instance lists ----------------------------------------------------- */

static enum pc_status list_add(void *ctx, const struct idx_instance *inst,
			       const char *metadata, size_t len)
{
	struct wado_list *l = ctx;
	struct wado_ref *r;

	(void)metadata;
	(void)len;
	if (l->n == l->cap) {
		size_t cap = l->cap != 0 ? l->cap * 2 : 16;
		struct wado_ref *v = pc_realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return PC_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	r = &l->v[l->n];
	memcpy(r->handle, inst->handle, sizeof(r->handle));
	memcpy(r->ts_uid, inst->ts_uid, sizeof(r->ts_uid));
	memcpy(r->sop_uid, inst->sop_uid, sizeof(r->sop_uid));
	r->frames = inst->frames;
	r->series_no = l->n == 0 ? 0 : l->v[l->n - 1].series_no;
	if (l->n > 0 && strcmp(l->last_series, inst->series_uid) != 0)
		r->series_no++;
	memcpy(l->last_series, inst->series_uid, sizeof(l->last_series));
	l->n++;
	return PC_OK;
}

bool wado__list(struct http_req *req, size_t levels, struct wado_list *out)
{
	const char *uid[3] = {NULL, NULL, NULL};
	struct pc_err err;
	enum pc_status st;

	memset(out, 0, sizeof(*out));
	if (!dw_check_uids(req, levels))
		return false;
	for (size_t i = 0; i < levels && i < 3 && i < req->n_params; i++)
		uid[i] = req->params[i];
	pc_err_clear(&err);
	st = idx_instances_each(req->svc->index, uid[0], uid[1], uid[2], false,
				list_add, out, &err);
	if (st == PC_OK && out->n == 0)
		st = PC_NOTFOUND;
	if (st == PC_OK)
		return true;
	wado__list_free(out);
	if (st == PC_NOTFOUND)
		http_respond_error(req, 404, "No such %s",
				   levels >= 3   ? "instance"
				   : levels == 2 ? "series"
						 : "study");
	else
		http_respond_error(req, 500, "index lookup failed: %s",
				   err.msg[0] ? err.msg : pc_status_text(st));
	return false;
}

void wado__list_free(struct wado_list *l)
{
	pc_free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- stored files ------------------------------------------------------- */

enum pc_status wado__file_open(blob_store *store, const char *handle,
			       struct wado_file *wf, struct pc_err *err)
{
	uint64_t size;
	size_t got;
	int fd;
	enum pc_status st;

	memset(wf, 0, sizeof(*wf));
	wf->r = blob_open(store, handle, err);
	if (wf->r == NULL)
		return err != NULL && err->status != PC_OK ? err->status
							   : PC_IO;
	size = blob_reader_size(wf->r);
	if (size == 0 || size > SIZE_MAX / 2) {
		st = pc_err_set(err, PC_PARSE, 0,
				"stored blob %s has %llu bytes", handle,
				(unsigned long long)size);
		goto fail;
	}
	wf->n = (size_t)size;
	fd = blob_reader_fd(wf->r);
	if (fd >= 0) {
		wf->map = mmap(NULL, wf->n, PROT_READ, MAP_PRIVATE, fd, 0);
		if (wf->map == MAP_FAILED) {
			wf->map = NULL;
			st = pc_err_set(err, PC_IO, 0, "mmap of blob %s: %s",
					handle, strerror(errno));
			goto fail;
		}
		wf->data = wf->map;
	} else {
		wf->owned = pc_malloc(wf->n);
		if (wf->owned == NULL) {
			st = pc_err_set(err, PC_NOMEM, 0,
					"out of memory reading blob %s",
					handle);
			goto fail;
		}
		st = blob_read(wf->r, wf->owned, wf->n, &got, err);
		if (st == PC_OK && got != wf->n)
			st = pc_err_set(err, PC_TRUNC, 0,
					"blob %s: %zu of %zu bytes read",
					handle, got, wf->n);
		if (st != PC_OK)
			goto fail;
		wf->data = wf->owned;
	}
	wf->f = dcm_file_parse(wf->data, wf->n, NULL, err);
	if (wf->f == NULL) {
		st = err != NULL && err->status != PC_OK ? err->status
							 : PC_PARSE;
		goto fail;
	}
	return PC_OK;
fail:
	wado__file_close(wf);
	return st;
}

void wado__file_close(struct wado_file *wf)
{
	dcm_file_destroy(wf->f);
	if (wf->map != NULL)
		munmap(wf->map, wf->n);
	pc_free(wf->owned);
	blob_close(wf->r);
	memset(wf, 0, sizeof(*wf));
}

void wado__respond_status(struct http_req *req, enum pc_status st,
			  const struct pc_err *err, const char *what)
{
	const char *msg = err != NULL && err->msg[0] ? err->msg
						     : pc_status_text(st);

	switch (st) {
	case PC_NOTFOUND:
		http_respond_error(req, 404, "%s: %s", what, msg);
		break;
	case PC_UNSUPPORTED:
		http_respond_error(req, 406, "%s: %s", what, msg);
		break;
	case PC_INVAL:
		http_respond_error(req, 400, "%s: %s", what, msg);
		break;
	default:
		http_respond_error(req, 500, "%s: %s", what, msg);
		break;
	}
}

/* ---- multipart/related streams ------------------------------------------ */

struct mp {
	char boundary[48];
	wado_next_fn next;
	void *ctx;
	void (*free_ctx)(void *);
	struct pc_buf head;           /* boundary line + part headers */
	size_t head_off;
	struct wado_part part;        /* the part being sent */
	size_t body_off;
	unsigned parts;
	bool done;                    /* the closing boundary is in head */
	uint64_t pos;                 /* bytes produced so far */
	char what[120];               /* the request, for logs */
};

static void part_release(struct wado_part *p)
{
	blob_close(p->r);
	pc_buf_cleanup(&p->body);
	pc_buf_cleanup(&p->ctype);
	pc_buf_cleanup(&p->location);
	memset(p, 0, sizeof(*p));
}

static void mp_free(void *ctx)
{
	struct mp *m = ctx;

	if (m == NULL)
		return;
	part_release(&m->part);
	pc_buf_cleanup(&m->head);
	if (m->free_ctx != NULL)
		m->free_ctx(m->ctx);
	pc_free(m);
}

/* Makes the next part current and its headers pending (PS3.18 8.6.1.2:
 * each part has Content-Type, Content-Location is optional). */
static enum pc_status mp_advance(struct mp *m, struct pc_err *err)
{
	enum pc_status st;

	part_release(&m->part);
	pc_buf_reset(&m->head);
	m->head_off = 0;
	m->body_off = 0;
	st = m->next(m->ctx, &m->part, err);
	if (st == PC_STOP) {
		/* RFC 2046 5.1.1: the close delimiter. */
		pc_buf_printf(&m->head, "%s--%s--\r\n",
			      m->parts > 0 ? "\r\n" : "", m->boundary);
		m->done = true;
		return pc_buf_status(&m->head) == PC_OK ? PC_STOP : PC_NOMEM;
	}
	if (st != PC_OK)
		return st;
	pc_buf_printf(&m->head, "%s--%s\r\nContent-Type: %s\r\n",
		      m->parts > 0 ? "\r\n" : "", m->boundary,
		      pc_buf_str(&m->part.ctype));
	if (m->part.location.n > 0)
		pc_buf_printf(&m->head, "Content-Location: %s\r\n",
			      pc_buf_str(&m->part.location));
	if (m->part.r == NULL && m->part.body.n == 0 && m->part.span.n == 0)
		pc_buf_puts(&m->head, "Content-Length: 0\r\n");
	pc_buf_puts(&m->head, "\r\n");
	m->parts++;
	if (pc_buf_status(&m->head) != PC_OK)
		return pc_err_set(err, PC_NOMEM, 0,
				  "out of memory for part headers");
	return PC_OK;
}

static ssize_t mp_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct mp *m = ctx;
	struct wado_part *p = &m->part;
	struct pc_err err;
	size_t n = 0, k;
	enum pc_status st;

	if (pos != m->pos) {
		pc_log(PC_LOG_ERROR, "%s: stream read at %llu, expected %llu",
		       m->what, (unsigned long long)pos,
		       (unsigned long long)m->pos);
		return HTTP_STREAM_ERROR;
	}
	pc_err_clear(&err);
	while (n < max) {
		if (m->head_off < m->head.n) {
			k = m->head.n - m->head_off;
			k = k < max - n ? k : max - n;
			memcpy(buf + n, m->head.p + m->head_off, k);
			m->head_off += k;
			n += k;
			continue;
		}
		if (m->done)
			break;
		if (p->r != NULL && p->len > 0) {
			int fd = blob_reader_fd(p->r);
			size_t want = max - n;
			ssize_t got;

			if (want > p->len)
				want = (size_t)p->len;
			if (fd >= 0) {
				got = pread(fd, buf + n, want, (off_t)p->off);
				if (got < 0 && errno == EINTR)
					continue;
			} else {
				size_t g = 0;

				got = blob_read(p->r, buf + n, want, &g,
						&err) == PC_OK
					      ? (ssize_t)g
					      : -1;
			}
			if (got <= 0) {
				pc_log(PC_LOG_ERROR,
				       "%s: reading a stored blob: %s",
				       m->what,
				       got < 0 ? (fd >= 0 ? strerror(errno)
							  : err.msg)
					       : "unexpected end of file");
				return HTTP_STREAM_ERROR;
			}
			p->off += (uint64_t)got;
			p->len -= (uint64_t)got;
			n += (size_t)got;
			continue;
		}
		if (m->body_off < p->body.n) {
			k = p->body.n - m->body_off;
			k = k < max - n ? k : max - n;
			memcpy(buf + n, p->body.p + m->body_off, k);
			m->body_off += k;
			n += k;
			continue;
		}
		if (m->body_off < p->span.n) {
			k = p->span.n - m->body_off;
			k = k < max - n ? k : max - n;
			memcpy(buf + n, p->span.p + m->body_off, k);
			m->body_off += k;
			n += k;
			continue;
		}
		st = mp_advance(m, &err);
		if (st != PC_OK && st != PC_STOP) {
			pc_log(PC_LOG_ERROR, "%s: response cut after %u "
			       "part(s): %s", m->what, m->parts,
			       err.msg[0] ? err.msg : pc_status_text(st));
			return HTTP_STREAM_ERROR;
		}
	}
	if (n == 0 && m->done)
		return HTTP_STREAM_END;
	m->pos += n;
	return (ssize_t)n;
}

enum pc_status wado__respond_multipart(struct http_req *req, const char *type,
				       const char *extra, wado_next_fn next,
				       void *ctx, void (*free_ctx)(void *),
				       struct pc_err *err)
{
	struct pc_buf ct = PC_BUF_INIT;
	uint8_t rnd[12];
	struct mp *m;
	enum pc_status st;

	m = pc_calloc(1, sizeof(*m));
	if (m == NULL) {
		if (free_ctx != NULL)
			free_ctx(ctx);
		return pc_err_set(err, PC_NOMEM, 0, "out of memory");
	}
	m->next = next;
	m->ctx = ctx;
	m->free_ctx = free_ctx;
	snprintf(m->what, sizeof(m->what), "GET %.100s", req->path);
	/* A boundary that cannot occur in the parts by chance: 96 random
	 * bits (RFC 2046 5.1.1 leaves the choice to the sender). */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (uint8_t)((uintptr_t)m >> (i % 8) ^ i * 131u);
	memcpy(m->boundary, "pacsd-", 6);
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(m->boundary + 6 + 2 * i, 3, "%02x", rnd[i]);

	st = mp_advance(m, err);
	if (st != PC_OK) {
		mp_free(m);
		return st;
	}
	pc_buf_printf(&ct, "multipart/related; type=\"%s\"", type);
	if (extra != NULL && extra[0] != '\0')
		pc_buf_printf(&ct, "; %s", extra);
	pc_buf_printf(&ct, "; boundary=%s", m->boundary);
	if (pc_buf_status(&ct) != PC_OK) {
		pc_buf_cleanup(&ct);
		mp_free(m);
		return pc_err_set(err, PC_NOMEM, 0, "out of memory");
	}
	http_respond_stream(req, 200, pc_buf_str(&ct), UINT64_MAX, mp_read, m,
			    mp_free);
	pc_buf_cleanup(&ct);
	return PC_OK;
}

/* ---- retrieve instances (PS3.18 10.4.1.1.1) ----------------------------- */

/* One acceptable DICOM media type: the transfer-syntax wanted. */
struct dicom_choice {
	const char *ts;               /* NULL: default; "*": as stored; UID */
	bool single;                  /* plain application/dicom */
};

static bool is_web_forbidden(const struct dcm_ts *ts)
{
	/* PS3.18 8.7.3: never Implicit VR LE nor (retired) Big Endian. */
	return ts == &dcm_ts_implicit_le || ts == &dcm_ts_explicit_be;
}

/* Whether we can decode the stored syntax (native counts as decodable). */
static bool decodable(const struct dcm_ts *ts)
{
	return ts != NULL && pix_ts_supported(ts);
}

enum wado_plan wado__plan(const char *stored_uid, const char *want)
{
	const struct dcm_ts *stored = dcm_ts_find(stored_uid,
						  strlen(stored_uid));
	const struct dcm_ts *w;

	if (want == NULL) {
		/* PS3.18 8.7.3.3: Explicit VR LE unless only lossy (or, for
		 * us, undecodable) pixel data is available. */
		if (stored == &dcm_ts_explicit_le)
			return WADO_PLAN_STORED;
		if (!decodable(stored) || wado__ts_lossy(stored_uid))
			return is_web_forbidden(stored) ? WADO_PLAN_EXPLICIT
							: WADO_PLAN_STORED;
		return WADO_PLAN_PREFER_EXPLICIT;
	}
	if (strcmp(want, "*") == 0)
		return is_web_forbidden(stored) ? WADO_PLAN_EXPLICIT : WADO_PLAN_STORED;
	w = dcm_ts_find(want, strlen(want));
	if (w == NULL || is_web_forbidden(w))
		return WADO_PLAN_NONE;
	if (strcmp(w->uid, stored_uid) == 0)
		return WADO_PLAN_STORED;
	if (w == &dcm_ts_explicit_le && decodable(stored))
		return WADO_PLAN_EXPLICIT;
	return WADO_PLAN_NONE;
}

/* The DICOM media types of the Accept list, in order. */
static size_t dicom_choices(const struct http_mediatype *acc, size_t n,
			    struct dicom_choice *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const struct http_mediatype *m = &acc[i];
		const char *inner;

		if (wado__is(m, "application/dicom")) {
			out[k].single = true;
		} else if (wado__is(m, "multipart/related")) {
			inner = http_mediatype_param(m, "type");
			if (inner != NULL &&
			    strcasecmp(inner, "application/dicom") != 0 &&
			    strcasecmp(inner, "application/*") != 0 &&
			    strcasecmp(inner, "*/*") != 0)
				continue;
			out[k].single = false;
		} else if (http_mediatype_covers(m, "application/dicom") ||
			   http_mediatype_covers(m, "multipart/related")) {
			out[k].single = false;
		} else {
			continue;
		}
		out[k].ts = http_mediatype_param(m, "transfer-syntax");
		k++;
	}
	return k;
}

struct retrieve {
	blob_store *store;
	struct wado_list list;
	uint8_t *plan;                /* enum wado_plan per instance */
	size_t next;
};

static void retrieve_free(void *ctx)
{
	struct retrieve *r = ctx;

	if (r == NULL)
		return;
	wado__list_free(&r->list);
	pc_free(r->plan);
	pc_free(r);
}

/* The instance as Explicit VR Little Endian Part 10 bytes in `out`. */
static enum pc_status transcode(blob_store *store, const char *handle,
				struct pc_buf *out, struct pc_err *err)
{
	struct wado_file wf;
	enum pc_status st = wado__file_open(store, handle, &wf, err);

	if (st != PC_OK)
		return st;
	st = pix_transcode_native(wf.f, out, err);
	wado__file_close(&wf);
	return st;
}

static enum pc_status retrieve_next(void *ctx, struct wado_part *part,
				    struct pc_err *err)
{
	struct retrieve *r = ctx;
	const struct wado_ref *ref;
	enum pc_status st;

	if (r->next >= r->list.n)
		return PC_STOP;
	ref = &r->list.v[r->next];
	if (r->plan[r->next] != WADO_PLAN_STORED) {
		st = transcode(r->store, ref->handle, &part->body, err);
		if (st == PC_OK) {
			pc_buf_puts(&part->ctype,
				    "application/dicom; transfer-syntax="
				    WADO_TS_EXPLICIT_LE);
		} else if (st == PC_UNSUPPORTED &&
			   r->plan[r->next] == WADO_PLAN_PREFER_EXPLICIT) {
			pc_log(PC_LOG_WARN, "instance %s sent as stored (%s): "
			       "%s", ref->sop_uid, ref->ts_uid,
			       err != NULL ? err->msg : "");
			pc_buf_reset(&part->body);
			pc_err_clear(err);
		} else {
			pc_log(PC_LOG_ERROR, "instance %s: cannot transcode "
			       "to Explicit VR Little Endian: %s",
			       ref->sop_uid, err != NULL ? err->msg : "");
			return st;
		}
	}
	if (part->ctype.n == 0) {
		part->r = blob_open(r->store, ref->handle, err);
		if (part->r == NULL)
			return err != NULL && err->status != PC_OK
				       ? err->status
				       : PC_IO;
		part->off = 0;
		part->len = blob_reader_size(part->r);
		pc_buf_printf(&part->ctype,
			      "application/dicom; transfer-syntax=%s",
			      ref->ts_uid);
	}
	r->next++;
	return pc_buf_status(&part->ctype);
}

void wado__send_instance(struct http_req *req, const struct wado_ref *ref,
			    enum wado_plan plan)
{
	struct pc_buf body = PC_BUF_INIT, ct = PC_BUF_INIT;
	struct pc_err err;
	blob_reader *r;
	enum pc_status st;
	int fd;

	pc_err_clear(&err);
	if (plan != WADO_PLAN_STORED) {
		st = transcode(req->svc->store, ref->handle, &body, &err);
		if (st == PC_OK) {
			http_respond_buf(req, 200,
					 "application/dicom; transfer-syntax="
					 WADO_TS_EXPLICIT_LE,
					 &body);
			pc_buf_cleanup(&body);
			return;
		}
		pc_buf_cleanup(&body);
		if (st != PC_UNSUPPORTED || plan != WADO_PLAN_PREFER_EXPLICIT) {
			/* A decoder refusing the data: the syntax asked
			 * for cannot be produced after all (406). */
			wado__respond_status(req, st, &err, "transcoding");
			return;
		}
		pc_log(PC_LOG_WARN, "instance %s sent as stored (%s): %s",
		       ref->sop_uid, ref->ts_uid, err.msg);
		pc_err_clear(&err);
	}
	pc_buf_printf(&ct, "application/dicom; transfer-syntax=%s",
		      ref->ts_uid);
	r = blob_open(req->svc->store, ref->handle, &err);
	if (r == NULL) {
		http_respond_error(req, 500, "stored instance %s: %s",
				   ref->sop_uid, err.msg);
		pc_buf_cleanup(&ct);
		return;
	}
	fd = blob_reader_fd(r);
	fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (fd >= 0) {
		http_respond_fd(req, 200, pc_buf_str(&ct), fd, 0,
				blob_reader_size(r));
	} else {
		/* No descriptor (object store): read it whole, an instance
		 * is the unit of memory here anyway. */
		uint64_t size = blob_reader_size(r);
		size_t got = 0;
		uint8_t *dst = size < SIZE_MAX / 2
				       ? pc_buf_reserve(&body, (size_t)size)
				       : NULL;

		if (dst == NULL ||
		    blob_read(r, dst, (size_t)size, &got, &err) != PC_OK ||
		    got != size) {
			http_respond_error(req, 500,
					   "reading stored instance %s: %s",
					   ref->sop_uid,
					   dst == NULL ? "out of memory"
						       : err.msg);
		} else {
			pc_buf_commit(&body, got);
			http_respond_buf(req, 200, pc_buf_str(&ct), &body);
		}
	}
	blob_close(r);
	pc_buf_cleanup(&ct);
	pc_buf_cleanup(&body);
}

void wado_retrieve(struct http_req *req)
{
	struct http_mediatype *acc;
	struct dicom_choice *ch;
	struct retrieve *r = NULL;
	struct pc_err err;
	size_t n_acc, n_ch, levels = req->n_params < 3 ? req->n_params : 3;
	bool single = false;
	enum pc_status st;

	if (!wado__accept(req, "accept", &acc, &n_acc))
		return;
	ch = http_alloc(req, (n_acc + 1) * sizeof(*ch));
	r = pc_calloc(1, sizeof(*r));
	if (ch == NULL || r == NULL) {
		pc_free(r);
		http_respond_error(req, 500, "out of memory");
		return;
	}
	n_ch = dicom_choices(acc, n_acc, ch);
	if (n_ch == 0) {
		pc_free(r);
		http_respond_error(req, 406,
				   "Instances are available as "
				   "multipart/related; type=\"application/"
				   "dicom\" or application/dicom");
		return;
	}
	if (!wado__list(req, levels, &r->list)) {
		pc_free(r);
		return;
	}
	r->store = req->svc->store;
	r->plan = pc_calloc(r->list.n, 1);
	if (r->plan == NULL) {
		retrieve_free(r);
		http_respond_error(req, 500, "out of memory");
		return;
	}
	/* PS3.18 8.7.3.5: per instance, the first acceptable syntax that
	 * can be produced. */
	for (size_t i = 0; i < r->list.n; i++) {
		const struct wado_ref *ref = &r->list.v[i];

		for (size_t k = 0; k < n_ch && r->plan[i] == WADO_PLAN_NONE; k++) {
			r->plan[i] = (uint8_t)wado__plan(ref->ts_uid, ch[k].ts);
			if (r->plan[i] != WADO_PLAN_NONE && i == 0)
				single = ch[k].single;
		}
		if (r->plan[i] == WADO_PLAN_NONE) {
			http_respond_error(req, 406,
					   "Instance %s is stored as %s and "
					   "cannot be provided in any of the "
					   "accepted transfer syntaxes",
					   ref->sop_uid, ref->ts_uid);
			retrieve_free(r);
			return;
		}
	}
	if (single && levels == 3 && r->list.n == 1) {
		wado__send_instance(req, &r->list.v[0], (enum wado_plan)r->plan[0]);
		retrieve_free(r);
		return;
	}
	pc_err_clear(&err);
	st = wado__respond_multipart(req, "application/dicom", NULL,
				     retrieve_next, r, retrieve_free, &err);
	if (st != PC_OK)
		wado__respond_status(req, st, &err, "retrieve");
}

/* ---- metadata (PS3.18 10.4.1.1.2, F.2) ---------------------------------- */

struct meta {
	struct pc_buf out;
	const char *prefix;           /* base URL + DICOMweb root, escaped */
	size_t prefix_len;
	size_t count;
};

/* Appends one stored object with its relative BulkDataURI values made
 * absolute: each `"BulkDataURI":"/` gets the prefix after its quote. */
static enum pc_status meta_add(void *ctx, const struct idx_instance *inst,
			       const char *json, size_t len)
{
	static const char key[] = "\"BulkDataURI\"";
	struct meta *m = ctx;
	const char *p, *end, *hit, *q;

	(void)inst;
	if (json == NULL)
		return PC_OK;
	p = json;
	end = json + len;
	if (m->count > 0)
		pc_buf_putc(&m->out, ',');
	while ((hit = memmem(p, (size_t)(end - p), key, sizeof(key) - 1)) !=
	       NULL) {
		q = hit + sizeof(key) - 1;
		while (q < end && (*q == ' ' || *q == ':' || *q == '\n' ||
				   *q == '\t' || *q == '\r'))
			q++;
		if (q + 1 < end && q[0] == '"' && q[1] == '/') {
			pc_buf_append(&m->out, p, (size_t)(q + 1 - p));
			pc_buf_append(&m->out, m->prefix, m->prefix_len);
			p = q + 1;
		} else {
			pc_buf_append(&m->out, p, (size_t)(q - p));
			p = q;
		}
	}
	pc_buf_append(&m->out, p, (size_t)(end - p));
	m->count++;
	return pc_buf_status(&m->out);
}

/* Appends `s` escaped for the inside of a JSON string (RFC 8259 7): the
 * Host header is the client's and may hold anything. */
static void json_escape(struct pc_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			pc_buf_putc(b, '\\');
		if (c < 0x20)
			pc_buf_printf(b, "\\u%04x", c);
		else
			pc_buf_putc(b, (char)c);
	}
}

/* Whether If-None-Match names `etag` (RFC 9110 13.1.2: weak comparison,
 * "*" matches any current representation). */
static bool etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = inm;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (strncmp(p, etag, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' ' ||
		     p[n] == '\t'))
			return true;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return false;
}

void wado_metadata(struct http_req *req)
{
	struct http_mediatype *acc;
	size_t n_acc, levels = req->n_params < 3 ? req->n_params : 3;
	const char *uid[3] = {NULL, NULL, NULL};
	const char *ctype = NULL, *inm;
	char tag[IDX_ETAG_MAX], quoted[IDX_ETAG_MAX + 2];
	struct pc_buf prefix = PC_BUF_INIT;
	struct meta m;
	struct pc_err err;
	enum pc_status st;

	if (!wado__accept(req, "accept", &acc, &n_acc))
		return;
	/* PS3.18 8.7.3.1: application/dicom+json (default); plain JSON is
	 * what browsers and generic tools ask for. */
	for (size_t i = 0; i < n_acc && ctype == NULL; i++) {
		if (http_mediatype_covers(&acc[i], "application/dicom+json"))
			ctype = "application/dicom+json";
		else if (wado__is(&acc[i], "application/json"))
			ctype = "application/json";
	}
	if (ctype == NULL) {
		http_respond_error(req, 406,
				   "Metadata is available as "
				   "application/dicom+json");
		return;
	}
	if (!dw_check_uids(req, levels))
		return;
	for (size_t i = 0; i < levels; i++)
		uid[i] = req->params[i];

	pc_err_clear(&err);
	st = idx_etag(req->svc->index, uid[0], uid[1], uid[2], tag, &err);
	if (st == PC_NOTFOUND) {
		http_respond_error(req, 404, "No such %s",
				   levels >= 3   ? "instance"
				   : levels == 2 ? "series"
						 : "study");
		return;
	}
	if (st != PC_OK) {
		http_respond_error(req, 500, "index etag: %s", err.msg);
		return;
	}
	snprintf(quoted, sizeof(quoted), "\"%s\"", tag);
	inm = http_req_header(req, "If-None-Match");
	if (inm != NULL && etag_matches(inm, quoted)) {
		/* RFC 9110 15.4.5: 304 repeats the ETag, has no body. */
		http_header_add(req, "ETag", quoted);
		http_respond_mem(req, 304, NULL, NULL, 0);
		return;
	}

	json_escape(&prefix, req->base_url);
	pc_buf_puts(&prefix, DICOMWEB_ROOT);
	memset(&m, 0, sizeof(m));
	pc_buf_init(&m.out);
	m.prefix = pc_buf_str(&prefix);
	m.prefix_len = prefix.n;
	pc_buf_putc(&m.out, '[');
	st = pc_buf_status(&prefix);
	if (st == PC_OK)
		st = idx_instances_each(req->svc->index, uid[0], uid[1],
					uid[2], true, meta_add, &m, &err);
	pc_buf_putc(&m.out, ']');
	if (st == PC_OK)
		st = pc_buf_status(&m.out);
	if (st == PC_NOTFOUND) {
		http_respond_error(req, 404, "No such %s",
				   levels >= 3   ? "instance"
				   : levels == 2 ? "series"
						 : "study");
	} else if (st != PC_OK) {
		http_respond_error(req, 500, "metadata: %s",
				   err.msg[0] ? err.msg : pc_status_text(st));
	} else {
		http_header_add(req, "ETag", quoted);
		http_respond_buf(req, 200, ctype, &m.out);
	}
	pc_buf_cleanup(&m.out);
	pc_buf_cleanup(&prefix);
}
