/*
 * wado_frames.c - WADO-RS frames and bulk data (PS3.18 10.4.1.1.4-5,
 * 8.7.3.3).
 *
 * DESIGN
 * - Media types (PS3.18 tables 8.7.3-4 and 8.7.3-5): uncompressed frames
 *   are application/octet-stream with transfer-syntax 1.2.840.10008.1.2.1,
 *   little endian whatever the stored byte order (pix_frame_native);
 *   compressed frames go out as stored (pix_frame_bytes: the codestream
 *   without item headers) as image/jpeg, image/jls, image/jp2, image/jpx,
 *   image/jphc or image/dicom-rle, or as application/octet-stream when the
 *   client asked for octet-stream with transfer-syntax=* or the stored UID.
 *   The first acceptable media type that can be produced wins; with none
 *   given (*\/\*) the default is uncompressed unless the stored pixel data
 *   is lossy or cannot be decoded (8.7.3.3), then as stored.
 * - multipart/related with one part per frame, made one at a time while
 *   the response streams; a plain single-part media type (e.g.
 *   "application/octet-stream") gets a single-part answer when one frame
 *   is asked for, the multipart form otherwise.
 * - Bulk data URIs are those ingest writes: the tag path from the top
 *   data set, 8 hex digits per tag, with the 0-based item index between a
 *   sequence and the tag inside it ("00540016/0/00181074"). A value goes
 *   out as one application/octet-stream part, little endian; the Pixel
 *   Data URI gives the whole native value, or (compressed, as stored) one
 *   part per frame.
 */
#include "http/wado_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MT_OCTET "application/octet-stream"
#define FRAME_LIST_MAX 100000u

/* ---- negotiation -------------------------------------------------------- */

enum fr_mode {
	FR_NONE = 0,
	FR_NATIVE,                    /* decoded / native little endian */
	FR_STORED,                    /* the stored codestream */
};

struct fr_choice {
	enum fr_mode mode;
	const char *media;            /* of each part and of type= */
	const char *ts;               /* transfer-syntax of the parts */
	bool single;                  /* a plain (not multipart) type */
};

/* Old names still sent by clients written before PS3.18 2017. */
static const char *media_alias(const char *t)
{
	if (strcasecmp(t, "image/x-jls") == 0)
		return "image/jls";
	if (strcasecmp(t, "image/x-dicom-rle") == 0)
		return "image/dicom-rle";
	return t;
}

/* Fills `c` for one acceptable media type `mt` (a type or a range) with
 * transfer-syntax `ts`; false if it cannot be produced for `stored`. */
static bool fr_try(const char *mt, const char *ts, const struct dcm_ts *stored,
		   const char *stored_uid, struct fr_choice *c)
{
	bool enc = stored != NULL && stored->encapsulated;
	bool can_decode = stored != NULL && pix_ts_supported(stored);
	const char *smedia = enc ? wado__ts_media(stored_uid) : NULL;
	struct http_mediatype range;

	memset(&range, 0, sizeof(range));
	range.type = mt;
	if (strcasecmp(mt, MT_OCTET) == 0) {
		if (ts == NULL || strcmp(ts, WADO_TS_EXPLICIT_LE) == 0 ||
		    (!enc && strcmp(ts, "*") == 0)) {
			if (!can_decode)
				return false;
			c->mode = FR_NATIVE;
		} else if (enc && (strcmp(ts, "*") == 0 ||
				   strcmp(ts, stored_uid) == 0)) {
			c->mode = FR_STORED;
		} else {
			return false;
		}
		c->media = MT_OCTET;
		return true;
	}
	if (strcmp(mt, "*/*") == 0 || strcasecmp(mt, "multipart/*") == 0 ||
	    strcasecmp(mt, "application/*") == 0) {
		/* The default (PS3.18 8.7.3.3): uncompressed unless the
		 * stored pixel data is lossy or cannot be decoded. */
		bool native;

		if (ts == NULL)
			native = can_decode && !wado__ts_lossy(stored_uid);
		else if (strcmp(ts, "*") == 0 || strcmp(ts, stored_uid) == 0)
			native = !enc;
		else if (strcmp(ts, WADO_TS_EXPLICIT_LE) == 0)
			native = true;
		else
			return false;
		if (native && !can_decode)
			return false;
		if (!native && !enc)
			return false;
		c->mode = native ? FR_NATIVE : FR_STORED;
		c->media = native || smedia == NULL ? MT_OCTET : smedia;
		return true;
	}
	/* A compressed media type or range: only as stored (no encoders). */
	if (smedia == NULL || (ts != NULL && strcmp(ts, "*") != 0 &&
			       strcmp(ts, stored_uid) != 0))
		return false;
	if (!http_mediatype_covers(&range, smedia))
		return false;
	c->mode = FR_STORED;
	c->media = smedia;
	return true;
}

/* The first acceptable media type that can be produced. */
static bool fr_negotiate(const struct http_mediatype *acc, size_t n,
			 const char *stored_uid, struct fr_choice *c)
{
	const struct dcm_ts *stored = dcm_ts_find(stored_uid,
						  strlen(stored_uid));

	for (size_t i = 0; i < n; i++) {
		const char *mt = acc[i].type;
		bool single = true;

		memset(c, 0, sizeof(*c));
		if (wado__is(&acc[i], "multipart/related")) {
			mt = http_mediatype_param(&acc[i], "type");
			if (mt == NULL)
				mt = "*/*";
			single = false;
		}
		mt = media_alias(mt);
		if (!fr_try(mt, http_mediatype_param(&acc[i],
						     "transfer-syntax"),
			    stored, stored_uid, c))
			continue;
		c->single = single && strcmp(mt, "*/*") != 0;
		c->ts = c->mode == FR_NATIVE ? WADO_TS_EXPLICIT_LE : stored_uid;
		return true;
	}
	return false;
}

/* ---- frames ------------------------------------------------------------- */

struct frames {
	blob_store *store;
	struct wado_file wf;
	struct pix_desc d;
	struct fr_choice c;
	uint32_t *list;               /* 0-based frame indexes */
	size_t n, next;
	struct pc_buf scratch;        /* joined fragments of one frame */
	char ts[IDX_UID_MAX + 1];
	char what[IDX_UID_MAX + 16];  /* for logs */
};

static void frames_free(void *ctx)
{
	struct frames *f = ctx;

	if (f == NULL)
		return;
	wado__file_close(&f->wf);
	pc_buf_cleanup(&f->scratch);
	pc_free(f->list);
	pc_free(f);
}

/* The bytes of frame `i` into `part` (body or span). */
static enum pc_status frame_part(struct frames *f, uint32_t i,
				 struct wado_part *part, struct pc_err *err)
{
	enum pc_status st;

	if (f->c.mode == FR_NATIVE) {
		st = pix_frame_native(&f->d, i, &part->body, NULL, err);
	} else {
		pc_buf_reset(&f->scratch);
		st = pix_frame_bytes(&f->d, i, &f->scratch, &part->span, err);
	}
	if (st != PC_OK)
		return st;
	pc_buf_printf(&part->ctype, "%s; transfer-syntax=%s", f->c.media,
		      f->c.ts);
	return pc_buf_status(&part->ctype);
}

static enum pc_status frames_next(void *ctx, struct wado_part *part,
				  struct pc_err *err)
{
	struct frames *f = ctx;
	enum pc_status st;

	if (f->next >= f->n)
		return PC_STOP;
	st = frame_part(f, f->list[f->next], part, err);
	if (st != PC_OK) {
		pc_log(PC_LOG_ERROR, "%s frame %u: %s", f->what,
		       f->list[f->next] + 1, err != NULL ? err->msg : "");
		return st;
	}
	f->next++;
	return PC_OK;
}

/*
 * Parses "1,3,5" (PS3.18 10.4.1.1.4: 1-based, comma-separated) into
 * 0-based indexes. False with a message on garbage, 0 or overflow.
 */
static bool parse_frame_list(const char *s, uint32_t **out, size_t *n,
			     char *msg, size_t msg_size)
{
	size_t count = 1, k = 0;
	uint32_t *v;
	const char *p;

	for (p = s; *p != '\0'; p++)
		count += *p == ',';
	if (*s == '\0' || count > FRAME_LIST_MAX) {
		snprintf(msg, msg_size, "frame list must hold 1 to %u numbers",
			 FRAME_LIST_MAX);
		return false;
	}
	v = pc_malloc(count * sizeof(*v));
	if (v == NULL) {
		snprintf(msg, msg_size, "out of memory");
		return false;
	}
	for (p = s;;) {
		uint64_t x = 0;
		const char *start = p;

		while (*p >= '0' && *p <= '9' && p - start < 11)
			x = x * 10 + (uint64_t)(*p++ - '0');
		if (p == start || x == 0 || x > UINT32_MAX ||
		    (*p != ',' && *p != '\0')) {
			snprintf(msg, msg_size,
				 "invalid frame list \"%.60s\": frame numbers "
				 "are positive integers separated by commas",
				 s);
			pc_free(v);
			return false;
		}
		v[k++] = (uint32_t)(x - 1);
		if (*p == '\0')
			break;
		p++;
	}
	*out = v;
	*n = k;
	return true;
}

/* Opens the instance named by the request's three UIDs. Responds itself and
 * returns false on failure. */
static bool open_instance(struct http_req *req, struct wado_ref *ref,
			  struct wado_file *wf)
{
	struct wado_list l;
	struct pc_err err;
	enum pc_status st;

	if (!wado__list(req, 3, &l))
		return false;
	*ref = l.v[0];
	wado__list_free(&l);
	pc_err_clear(&err);
	st = wado__file_open(req->svc->store, ref->handle, wf, &err);
	if (st != PC_OK) {
		http_respond_error(req, 500, "stored instance %s: %s",
				   ref->sop_uid, err.msg);
		return false;
	}
	return true;
}

/* The pixel description of an opened instance; 404 without pixel data. */
static bool read_desc(struct http_req *req, struct wado_file *wf,
		      const char *sop_uid, struct pix_desc *d)
{
	struct pc_err err;
	const struct dcm_ts *ts = dcm_file_ts(wf->f);
	dcm_dataset *ds = dcm_file_dataset(wf->f);

	if (dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA) == NULL) {
		http_respond_error(req, 404, "Instance %s has no pixel data",
				   sop_uid);
		return false;
	}
	pc_err_clear(&err);
	if (pix_desc_read(ds, ts, d, &err) != PC_OK) {
		http_respond_error(req, 500, "instance %s: %s", sop_uid,
				   err.msg);
		return false;
	}
	return true;
}

/* Responds with frames f->list of an opened instance, as negotiated. */
static void respond_frames(struct http_req *req, struct frames *f)
{
	struct wado_part part;
	struct pc_buf top = PC_BUF_INIT;
	struct pc_err err;
	enum pc_status st;

	pc_err_clear(&err);
	if (f->c.single && f->n == 1) {
		memset(&part, 0, sizeof(part));
		st = frame_part(f, f->list[0], &part, &err);
		if (st != PC_OK) {
			wado__respond_status(req, st, &err, "frame");
		} else if (part.span.n > 0) {
			http_respond_mem(req, 200, pc_buf_str(&part.ctype),
					 part.span.p, part.span.n);
		} else {
			http_respond_buf(req, 200, pc_buf_str(&part.ctype),
					 &part.body);
		}
		pc_buf_cleanup(&part.body);
		pc_buf_cleanup(&part.ctype);
		frames_free(f);
		return;
	}
	pc_buf_printf(&top, "transfer-syntax=%s", f->c.ts);
	st = pc_buf_status(&top);
	if (st == PC_OK) {
		st = wado__respond_multipart(req, f->c.media, pc_buf_str(&top),
					     frames_next, f, frames_free,
					     &err);
	} else {
		frames_free(f);
	}
	if (st != PC_OK)
		wado__respond_status(req, st, &err, "frames");
	pc_buf_cleanup(&top);
}

/* A 406 naming what can be had for this instance. */
static void not_acceptable(struct http_req *req, const char *stored_uid)
{
	const char *media = wado__ts_media(stored_uid);

	http_respond_error(req, 406,
			   "Pixel data stored as %s is available as "
			   "application/octet-stream (transfer-syntax %s)%s%s",
			   stored_uid, WADO_TS_EXPLICIT_LE,
			   media != NULL ? " or as stored: " : "",
			   media != NULL ? media : "");
}

void wado_frames(struct http_req *req)
{
	struct http_mediatype *acc;
	size_t n_acc;
	struct frames *f;
	struct wado_ref ref;
	char msg[160];

	if (req->n_params < 4) {
		http_respond_error(req, 400, "no frame list");
		return;
	}
	if (!wado__accept(req, "accept", &acc, &n_acc))
		return;
	f = pc_calloc(1, sizeof(*f));
	if (f == NULL) {
		http_respond_error(req, 500, "out of memory");
		return;
	}
	if (!dw_check_uids(req, 3)) {
		frames_free(f);
		return;
	}
	if (!parse_frame_list(req->params[3], &f->list, &f->n, msg,
			      sizeof(msg))) {
		http_respond_error(req, 400, "%s", msg);
		frames_free(f);
		return;
	}
	if (!open_instance(req, &ref, &f->wf) ||
	    !read_desc(req, &f->wf, ref.sop_uid, &f->d)) {
		frames_free(f);
		return;
	}
	for (size_t i = 0; i < f->n; i++) {
		if (f->list[i] >= f->d.frames) {
			http_respond_error(req, 404,
					   "Frame %u requested, instance %s "
					   "has %u",
					   f->list[i] + 1, ref.sop_uid,
					   f->d.frames);
			frames_free(f);
			return;
		}
	}
	snprintf(f->ts, sizeof(f->ts), "%s", ref.ts_uid);
	snprintf(f->what, sizeof(f->what), "instance %s", ref.sop_uid);
	if (!fr_negotiate(acc, n_acc, f->ts, &f->c)) {
		not_acceptable(req, f->ts);
		frames_free(f);
		return;
	}
	f->c.ts = f->c.mode == FR_NATIVE ? WADO_TS_EXPLICIT_LE : f->ts;
	respond_frames(req, f);
}

/* ---- bulk data ---------------------------------------------------------- */

/* Resolves "TAG(/N/TAG)*" in `ds`; NULL when a step does not exist or the
 * path is malformed (*bad set then). */
static const dcm_elem *resolve(const dcm_dataset *ds, const char *path,
			       bool *bad, bool *top)
{
	const dcm_elem *e = NULL;
	const char *p = path;
	unsigned depth = 0;

	*bad = false;
	for (;;) {
		uint32_t tag = 0;
		uint64_t item = 0;
		int i;

		for (i = 0; i < 8; i++) {
			char c = p[i];
			unsigned v;

			if (c >= '0' && c <= '9')
				v = (unsigned)(c - '0');
			else if (c >= 'A' && c <= 'F')
				v = (unsigned)(c - 'A' + 10);
			else if (c >= 'a' && c <= 'f')
				v = (unsigned)(c - 'a' + 10);
			else
				break;
			tag = tag << 4 | v;
		}
		if (i != 8 || (p[8] != '\0' && p[8] != '/')) {
			*bad = true;
			return NULL;
		}
		e = dcm_dataset_find(ds, tag);
		if (e == NULL)
			return NULL;
		*top = depth == 0;
		p += 8;
		if (*p == '\0')
			return e;
		p++;
		if (*p < '0' || *p > '9') {
			*bad = true;
			return NULL;
		}
		while (*p >= '0' && *p <= '9' && item < UINT32_MAX)
			item = item * 10 + (uint64_t)(*p++ - '0');
		if (*p != '/' || ++depth > 64) {
			*bad = true;
			return NULL;
		}
		p++;
		if (!dcm_elem_is_sequence(e) || item >= dcm_elem_item_count(e))
			return NULL;
		ds = dcm_elem_item(e, (size_t)item);
	}
}

/* One value: a copy in `body`, or a slice of the mapped file `wf`. */
struct one_part {
	struct pc_buf body;
	struct wado_file wf;
	struct pc_span span;
	bool sent;
	char location[1024];
};

static void one_free(void *ctx)
{
	struct one_part *o = ctx;

	if (o != NULL) {
		pc_buf_cleanup(&o->body);
		wado__file_close(&o->wf);
	}
	pc_free(o);
}

/* The value of `e` little endian (PS3.18 8.7.3.3.1): a slice of the
 * mapped file in o->span when it is little endian already (o takes `wf`,
 * which the slice lives in), else a swapped copy in o->body. `unit`
 * overrides the VR's swap unit (native Pixel Data: Bits Allocated / 8). */
static enum pc_status value_le(const dcm_elem *e, unsigned unit,
			       struct wado_file *wf, struct one_part *o)
{
	struct pc_span v = dcm_elem_value(e);
	struct pc_buf *out = &o->body;
	uint8_t *dst;

	if (unit == 0) {
		const struct dcm_vr_info *vi = dcm_vr_info(dcm_elem_vr(e));

		unit = vi != NULL && vi->swap > 1 ? vi->swap : 1;
	}
	if (v.n == 0)
		return PC_OK;
	if (!dcm_elem_big_endian(e) || unit == 1) {
		o->span = v;
		o->wf = *wf;
		memset(wf, 0, sizeof(*wf));
		return PC_OK;
	}
	dst = pc_buf_reserve(out, v.n);
	if (dst == NULL)
		return PC_NOMEM;
	if (dcm_elem_big_endian(e) && unit > 1) {
		size_t i;

		for (i = 0; i + unit <= v.n; i += unit)
			for (unsigned k = 0; k < unit; k++)
				dst[i + k] = v.p[i + unit - 1 - k];
		memcpy(dst + i, v.p + i, v.n - i);
	} else {
		memcpy(dst, v.p, v.n);
	}
	pc_buf_commit(out, v.n);
	return PC_OK;
}

/* Whether the Accept list takes application/octet-stream; *single when
 * the first such entry is the plain type. */
static bool accepts_octet(const struct http_mediatype *acc, size_t n,
			  bool *single)
{
	for (size_t i = 0; i < n; i++) {
		const char *mt = acc[i].type;
		struct http_mediatype range;

		*single = true;
		if (wado__is(&acc[i], "multipart/related")) {
			mt = http_mediatype_param(&acc[i], "type");
			if (mt == NULL)
				mt = "*/*";
			*single = false;
		}
		memset(&range, 0, sizeof(range));
		range.type = mt;
		if (http_mediatype_covers(&range, MT_OCTET) ||
		    strcasecmp(mt, "multipart/*") == 0) {
			*single = *single && strcasecmp(mt, MT_OCTET) == 0;
			return true;
		}
	}
	return false;
}

static enum pc_status one_next(void *ctx, struct wado_part *part,
			       struct pc_err *err)
{
	struct one_part *o = ctx;

	(void)err;
	if (o->sent)
		return PC_STOP;
	o->sent = true;
	part->body = o->body;
	pc_buf_init(&o->body);
	part->span = o->span;
	pc_buf_puts(&part->ctype, MT_OCTET);
	pc_buf_puts(&part->location, o->location);
	return pc_buf_status(&part->ctype);
}

/* Sends `o->body` as one octet-stream part, or single part. */
static void respond_value(struct http_req *req, struct one_part *o,
			  bool single)
{
	struct pc_err err;
	enum pc_status st;

	if (single) {
		if (o->span.n > 0)
			http_respond_mem(req, 200, MT_OCTET, o->span.p,
					 o->span.n);
		else
			http_respond_buf(req, 200, MT_OCTET, &o->body);
		one_free(o);
		return;
	}
	pc_err_clear(&err);
	st = wado__respond_multipart(req, MT_OCTET, NULL, one_next, o,
				     one_free, &err);
	if (st != PC_OK)
		wado__respond_status(req, st, &err, "bulk data");
}

void wado_bulkdata(struct http_req *req)
{
	struct http_mediatype *acc;
	size_t n_acc;
	struct frames *f = NULL;
	struct one_part *o = NULL;
	struct wado_ref ref;
	const dcm_elem *e;
	bool bad = false, top = false, single = false;
	enum pc_status st = PC_OK;

	if (req->n_params < 4) {
		http_respond_error(req, 400, "no bulk data path");
		return;
	}
	if (!wado__accept(req, "accept", &acc, &n_acc))
		return;
	f = pc_calloc(1, sizeof(*f));
	o = pc_calloc(1, sizeof(*o));
	if (f == NULL || o == NULL) {
		pc_free(f);
		pc_free(o);
		http_respond_error(req, 500, "out of memory");
		return;
	}
	snprintf(o->location, sizeof(o->location), "%s%s", req->base_url,
		 req->path);
	if (!dw_check_uids(req, 3) || !open_instance(req, &ref, &f->wf))
		goto done;
	e = resolve(dcm_file_dataset(f->wf.f), req->params[3], &bad, &top);
	if (e == NULL || dcm_elem_is_sequence(e)) {
		if (bad)
			http_respond_error(req, 400,
					   "Invalid bulk data path \"%.80s\"",
					   req->params[3]);
		else
			http_respond_error(req, 404,
					   "No bulk data at \"%.80s\"",
					   req->params[3]);
		goto done;
	}
	snprintf(f->ts, sizeof(f->ts), "%s", ref.ts_uid);
	snprintf(f->what, sizeof(f->what), "instance %s", ref.sop_uid);
	if (top && dcm_elem_tag(e) == DCM_TAG_PIXEL_DATA) {
		if (!read_desc(req, &f->wf, ref.sop_uid, &f->d))
			goto done;
		if (!fr_negotiate(acc, n_acc, f->ts, &f->c)) {
			not_acceptable(req, f->ts);
			goto done;
		}
		if (f->c.mode == FR_STORED) {
			/* Compressed: every frame, one part each. */
			f->list = pc_malloc((size_t)f->d.frames *
					    sizeof(*f->list));
			if (f->list == NULL) {
				http_respond_error(req, 500, "out of memory");
				goto done;
			}
			for (uint32_t i = 0; i < f->d.frames; i++)
				f->list[i] = i;
			f->n = f->d.frames;
			f->c.single = false;
			respond_frames(req, f);
			f = NULL;
			goto done;
		}
		/* Uncompressed: the value Explicit VR LE would hold. */
		if (!f->d.ts->encapsulated) {
			st = value_le(e, f->d.bits_allocated >= 16
						 ? f->d.bits_allocated / 8u
						 : 1u,
				      &f->wf, o);
		} else {
			struct pc_err err;

			pc_err_clear(&err);
			for (uint32_t i = 0; i < f->d.frames && st == PC_OK;
			     i++)
				st = pix_frame_native(&f->d, i, &o->body, NULL,
						      &err);
			if (st != PC_OK && st != PC_NOMEM) {
				http_respond_error(req, 500,
						   "instance %s: %s",
						   ref.sop_uid, err.msg);
				goto done;
			}
		}
		single = f->c.single;
	} else {
		if (!accepts_octet(acc, n_acc, &single)) {
			http_respond_error(req, 406,
					   "Bulk data is available as "
					   "application/octet-stream");
			goto done;
		}
		st = value_le(e, 0, &f->wf, o);
	}
	if (st != PC_OK) {
		http_respond_error(req, 500, "out of memory for bulk data");
		goto done;
	}
	respond_value(req, o, single);
	o = NULL;
done:
	frames_free(f);
	one_free(o);
}
