/*
 * wado_render.c - rendered images: WADO-RS rendered and thumbnail
 * resources (PS3.18 10.4.1.1.3, 10.4.1.1.6, parameters 8.3.5) and the URI
 * service, WADO-URI (PS3.18 9).
 *
 * DESIGN
 * - Media types (PS3.18 8.7.4): image/jpeg (the default, also for image/\*
 *   and *\/\*) and image/png; anything else is 406.
 * - What is rendered: an instance's first frame (multi-frame instances are
 *   not turned into GIF or video), or the frame named in the URL. A series
 *   or study "rendered" resource is every image instance of it rendered,
 *   one multipart/related part each, made while the response streams;
 *   instances that cannot be rendered are skipped with a warning. A
 *   thumbnail is one image: of the instance, or for a series / study of
 *   the middle image instance of its first series (in index order), fitted
 *   into 128 x 128 unless a viewport is given.
 * - Parameters: window=center,width[,linear] (PS3.3 C.11.2.1.2; the other
 *   functions are refused with 400), viewport=vw,vh (fitted inside,
 *   aspect kept; the cropping form with six values is refused), quality=
 *   1..100 for JPEG. The rendering itself is pix_render.
 * - WADO-URI: requestType=WADO, studyUID, seriesUID, objectUID required;
 *   contentType (a list) defaults to image/jpeg for an instance with
 *   pixel data and application/dicom otherwise; application/dicom honours
 *   transferSyntax like WADO-RS; images honour frameNumber, windowCenter +
 *   windowWidth, rows, columns and imageQuality. anonymize, region and the
 *   presentation state parameters are not supported: 400 rather than a
 *   result the client did not ask for.
 */
#include "http/wado_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define THUMB_SIZE 128u
#define VIEWPORT_MAX 8192u

/* ---- parameters --------------------------------------------------------- */

/* Parses a decimal number filling the whole of [s, end). */
static bool parse_double(const char *s, size_t n, double *out)
{
	char tmp[64], *end;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*out = strtod(tmp, &end);
	return end == tmp + n && isfinite(*out);
}

static bool parse_uint(const char *s, size_t n, uint32_t min, uint32_t max,
		       uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Splits `s` at commas into at most `max` fields; returns the count, or
 * max + 1 when there are more. */
static size_t split(const char *s, struct pc_span *f, size_t max)
{
	size_t k = 0;
	const char *p = s;

	for (;;) {
		const char *c = strchr(p, ',');
		size_t n = c != NULL ? (size_t)(c - p) : strlen(p);

		if (k == max)
			return max + 1;
		f[k++] = pc_span_make(p, n);
		if (c == NULL)
			return k;
		p = c + 1;
	}
}

/* PS3.3 C.11.2.1.2: width >= 1 for the linear function. */
static bool window_ok(double center, double width)
{
	return isfinite(center) && isfinite(width) && width >= 1.0;
}

/*
 * Reads the PS3.18 8.3.5 rendering parameters into `o`. Responds 400 and
 * returns false on a malformed or unsupported value.
 */
static bool render_params(struct http_req *req, struct pix_render_opts *o)
{
	const char *w = http_req_query(req, "window");
	const char *v = http_req_query(req, "viewport");
	const char *q = http_req_query(req, "quality");
	struct pc_span f[7];
	size_t n;

	if (w != NULL) {
		n = split(w, f, 3);
		if (n < 2 || n > 3 ||
		    !parse_double((const char *)f[0].p, f[0].n, &o->center) ||
		    !parse_double((const char *)f[1].p, f[1].n, &o->width) ||
		    !window_ok(o->center, o->width)) {
			http_respond_error(req, 400,
					   "Invalid window \"%.60s\": expected "
					   "center,width[,function] with "
					   "width >= 1",
					   w);
			return false;
		}
		if (n == 3 && !(f[2].n == 6 &&
				strncasecmp((const char *)f[2].p, "linear",
					    6) == 0)) {
			http_respond_error(req, 400,
					   "Unsupported window function "
					   "\"%.*s\": only linear",
					   (int)(f[2].n < 40 ? f[2].n : 40),
					   (const char *)f[2].p);
			return false;
		}
		o->window = true;
	}
	if (v != NULL) {
		n = split(v, f, 6);
		if (n == 6) {
			http_respond_error(req, 400,
					   "viewport with a source rectangle "
					   "is not supported");
			return false;
		}
		if (n != 2 ||
		    !parse_uint((const char *)f[0].p, f[0].n, 1, VIEWPORT_MAX,
				&o->max_w) ||
		    !parse_uint((const char *)f[1].p, f[1].n, 1, VIEWPORT_MAX,
				&o->max_h)) {
			http_respond_error(req, 400,
					   "Invalid viewport \"%.60s\": "
					   "expected vw,vh from 1 to %u",
					   v, VIEWPORT_MAX);
			return false;
		}
	}
	if (q != NULL) {
		uint32_t qv;

		if (!parse_uint(q, strlen(q), 1, 100, &qv)) {
			http_respond_error(req, 400,
					   "Invalid quality \"%.20s\": 1 to 100",
					   q);
			return false;
		}
		o->quality = (int)qv;
	}
	return true;
}

/* The image format of the first acceptable rendered media type. */
static bool render_format(const struct http_mediatype *acc, size_t n,
			  enum pix_format *fmt)
{
	for (size_t i = 0; i < n; i++) {
		struct http_mediatype range = acc[i];

		if (wado__is(&acc[i], "multipart/related")) {
			range.type = http_mediatype_param(&acc[i], "type");
			if (range.type == NULL)
				range.type = "*/*";
		} else if (strcasecmp(acc[i].type, "multipart/*") == 0) {
			range.type = "*/*";
		}
		if (http_mediatype_covers(&range, "image/jpeg")) {
			*fmt = PIX_FORMAT_JPEG;
			return true;
		}
		if (http_mediatype_covers(&range, "image/png")) {
			*fmt = PIX_FORMAT_PNG;
			return true;
		}
	}
	return false;
}

static const char *format_type(enum pix_format fmt)
{
	return fmt == PIX_FORMAT_PNG ? "image/png" : "image/jpeg";
}

/* ---- rendering ---------------------------------------------------------- */

/* Renders frame o->frame of the stored instance `handle` into `out`. */
static enum pc_status render_one(blob_store *store, const char *handle,
				 const struct pix_render_opts *o,
				 struct pc_buf *out, struct pc_err *err)
{
	struct wado_file wf;
	enum pc_status st = wado__file_open(store, handle, &wf, err);

	if (st != PC_OK)
		return st;
	st = pix_render(dcm_file_dataset(wf.f), dcm_file_ts(wf.f), o, out,
			err);
	wado__file_close(&wf);
	return st;
}

/* Renders one instance and responds with it. */
static void respond_render(struct http_req *req, const struct wado_ref *ref,
			   const struct pix_render_opts *o)
{
	struct pc_buf out = PC_BUF_INIT;
	struct pc_err err;
	enum pc_status st;

	pc_err_clear(&err);
	st = render_one(req->svc->store, ref->handle, o, &out, &err);
	if (st == PC_OK)
		http_respond_buf(req, 200, format_type(o->format), &out);
	else if (st == PC_UNSUPPORTED)
		/* A syntax or photometric without a decoder is a limit of
		 * ours, not an error of the client nor a fault. */
		http_respond_error(req, 501, "Cannot render instance %s: %s",
				   ref->sop_uid, err.msg);
	else
		http_respond_error(req, 500, "rendering instance %s: %s",
				   ref->sop_uid, err.msg);
	pc_buf_cleanup(&out);
}

/* A frame number from the URL (frames/{n}/...): exactly one, 1-based.
 * Responds and returns false when invalid or past the last frame. */
static bool url_frame(struct http_req *req, const struct wado_ref *ref,
		      uint32_t *frame)
{
	const char *s = req->params[3];

	if (!parse_uint(s, strlen(s), 1, UINT32_MAX, frame)) {
		http_respond_error(req, 400,
				   "Invalid frame \"%.40s\": one frame number "
				   "from 1",
				   s);
		return false;
	}
	if (*frame > ref->frames) {
		http_respond_error(req, 404,
				   "Frame %u requested, instance %s has %u",
				   *frame, ref->sop_uid, ref->frames);
		return false;
	}
	(*frame)--;
	return true;
}

struct renders {
	blob_store *store;
	struct wado_list list;
	struct pix_render_opts o;
	size_t next;
};

static void renders_free(void *ctx)
{
	struct renders *r = ctx;

	if (r == NULL)
		return;
	wado__list_free(&r->list);
	pc_free(r);
}

static enum pc_status renders_next(void *ctx, struct wado_part *part,
				   struct pc_err *err)
{
	struct renders *r = ctx;
	struct pc_err e;

	while (r->next < r->list.n) {
		const struct wado_ref *ref = &r->list.v[r->next++];
		enum pc_status st;

		if (ref->frames == 0)
			continue;
		pc_err_clear(&e);
		st = render_one(r->store, ref->handle, &r->o, &part->body, &e);
		if (st == PC_NOMEM)
			return pc_err_set(err, st, 0, "%s", e.msg);
		if (st != PC_OK) {
			pc_log(PC_LOG_WARN, "rendered: instance %s skipped: %s",
			       ref->sop_uid, e.msg);
			pc_buf_reset(&part->body);
			continue;
		}
		pc_buf_puts(&part->ctype, format_type(r->o.format));
		return pc_buf_status(&part->ctype);
	}
	return PC_STOP;
}

/* The image instance standing for a study or series (see DESIGN). */
static const struct wado_ref *representative(const struct wado_list *l)
{
	size_t first = SIZE_MAX, count = 0, k = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].frames == 0)
			continue;
		if (first == SIZE_MAX)
			first = i;
		if (l->v[i].series_no == l->v[first].series_no)
			count++;
	}
	if (first == SIZE_MAX)
		return NULL;
	for (size_t i = first; i < l->n; i++) {
		if (l->v[i].frames == 0 ||
		    l->v[i].series_no != l->v[first].series_no)
			continue;
		if (k++ == count / 2)
			return &l->v[i];
	}
	return &l->v[first];
}

/* rendered (thumb false) and thumbnail (thumb true) at every level. */
static void rendered(struct http_req *req, bool thumb)
{
	struct http_mediatype *acc;
	struct pix_render_opts o;
	struct wado_list l;
	const struct wado_ref *ref;
	struct renders *r;
	struct pc_err err;
	size_t n_acc, levels = req->n_params < 3 ? req->n_params : 3;
	enum pc_status st;

	memset(&o, 0, sizeof(o));
	if (!wado__accept(req, "accept", &acc, &n_acc))
		return;
	if (!render_format(acc, n_acc, &o.format)) {
		http_respond_error(req, 406,
				   "Rendered images are available as "
				   "image/jpeg or image/png");
		return;
	}
	if (thumb) {
		o.max_w = THUMB_SIZE;
		o.max_h = THUMB_SIZE;
	}
	if (!render_params(req, &o) || !wado__list(req, levels, &l))
		return;
	if (levels == 3 || thumb) {
		ref = levels == 3 ? &l.v[0] : representative(&l);
		if (ref == NULL || ref->frames == 0) {
			http_respond_error(req, 404, "No image in this %s",
					   levels >= 3   ? "instance"
					   : levels == 2 ? "series"
							 : "study");
		} else if (req->n_params < 4 ||
			   url_frame(req, ref, &o.frame)) {
			respond_render(req, ref, &o);
		}
		wado__list_free(&l);
		return;
	}
	r = pc_calloc(1, sizeof(*r));
	if (r == NULL) {
		wado__list_free(&l);
		http_respond_error(req, 500, "out of memory");
		return;
	}
	r->store = req->svc->store;
	r->list = l;
	r->o = o;
	pc_err_clear(&err);
	st = wado__respond_multipart(req, format_type(o.format), NULL,
				     renders_next, r, renders_free, &err);
	if (st == PC_STOP)
		http_respond_error(req, 404, "No renderable image in this %s",
				   levels == 2 ? "series" : "study");
	else if (st != PC_OK)
		wado__respond_status(req, st == PC_UNSUPPORTED ? PC_IO : st,
				     &err, "rendered");
}

void wado_rendered(struct http_req *req)
{
	rendered(req, false);
}

void wado_thumbnail(struct http_req *req)
{
	rendered(req, true);
}

/* ---- WADO-URI (PS3.18 9) ------------------------------------------------ */

/* A required UID parameter; responds 400 and returns NULL when absent or
 * invalid. */
static const char *uri_uid(struct http_req *req, const char *name)
{
	const char *v = http_req_query(req, name);

	if (v == NULL || v[0] == '\0') {
		http_respond_error(req, 400, "Missing %s", name);
		return NULL;
	}
	if (!dw_uid_valid(v)) {
		http_respond_error(req, 400, "Invalid %s \"%.80s\"", name, v);
		return NULL;
	}
	return v;
}

static enum pc_status uri_collect(void *ctx, const struct idx_instance *inst,
				  const char *metadata, size_t len)
{
	struct idx_instance *out = ctx;

	(void)metadata;
	(void)len;
	*out = *inst;
	return PC_OK;
}

/* WADO-URI rendering parameters (PS3.18 9.5.1). */
static bool uri_render_params(struct http_req *req,
			      const struct wado_ref *ref,
			      struct pix_render_opts *o)
{
	const char *fr = http_req_query(req, "frameNumber");
	const char *wc = http_req_query(req, "windowCenter");
	const char *ww = http_req_query(req, "windowWidth");
	const char *rows = http_req_query(req, "rows");
	const char *cols = http_req_query(req, "columns");
	const char *q = http_req_query(req, "imageQuality");

	if (fr != NULL) {
		uint32_t f;

		/* PS3.18 9.5.2: 400 for a frame that does not exist. */
		if (!parse_uint(fr, strlen(fr), 1, UINT32_MAX, &f) ||
		    f > ref->frames) {
			http_respond_error(req, 400,
					   "Invalid frameNumber \"%.20s\": the "
					   "instance has %u frame(s)",
					   fr, ref->frames);
			return false;
		}
		o->frame = f - 1;
	}
	if ((wc == NULL) != (ww == NULL)) {
		http_respond_error(req, 400,
				   "windowCenter and windowWidth go together");
		return false;
	}
	if (wc != NULL) {
		if (!parse_double(wc, strlen(wc), &o->center) ||
		    !parse_double(ww, strlen(ww), &o->width) ||
		    !window_ok(o->center, o->width)) {
			http_respond_error(req, 400,
					   "Invalid windowCenter/windowWidth");
			return false;
		}
		o->window = true;
	}
	if ((rows != NULL &&
	     !parse_uint(rows, strlen(rows), 1, VIEWPORT_MAX, &o->max_h)) ||
	    (cols != NULL &&
	     !parse_uint(cols, strlen(cols), 1, VIEWPORT_MAX, &o->max_w))) {
		http_respond_error(req, 400,
				   "Invalid rows/columns: 1 to %u",
				   VIEWPORT_MAX);
		return false;
	}
	if (q != NULL) {
		uint32_t qv;

		if (!parse_uint(q, strlen(q), 1, 100, &qv)) {
			http_respond_error(req, 400,
					   "Invalid imageQuality \"%.20s\": "
					   "1 to 100",
					   q);
			return false;
		}
		o->quality = (int)qv;
	}
	return true;
}

void wado_uri(struct http_req *req)
{
	static const char *const unsupported[] = {
	    "anonymize", "region", "presentationUID",
	    "presentationSeriesUID"};
	const char *rt = http_req_query(req, "requestType");
	const char *study, *series, *object, *ct, *tsp;
	struct http_mediatype *acc = NULL;
	struct idx_instance inst;
	struct wado_ref ref;
	struct pix_render_opts o;
	struct pc_err err;
	size_t n_acc = 0;
	enum pc_status st;
	int want = 0; /* 1 dicom, 2 jpeg, 3 png */

	if (rt == NULL || strcmp(rt, "WADO") != 0) {
		http_respond_error(req, 400,
				   "requestType must be WADO (PS3.18 9.1.2.1)");
		return;
	}
	study = uri_uid(req, "studyUID");
	series = study != NULL ? uri_uid(req, "seriesUID") : NULL;
	object = series != NULL ? uri_uid(req, "objectUID") : NULL;
	if (object == NULL)
		return;
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(*unsupported);
	     i++) {
		if (http_req_query(req, unsupported[i]) != NULL) {
			http_respond_error(req, 400, "%s is not supported",
					   unsupported[i]);
			return;
		}
	}
	ct = http_req_query(req, "contentType");
	pc_err_clear(&err);
	if (ct != NULL &&
	    http_accept_parse(req->arena, ct, &acc, &n_acc, &err) != PC_OK) {
		http_respond_error(req, 400, "Invalid contentType: %s",
				   err.msg);
		return;
	}

	memset(&inst, 0, sizeof(inst));
	st = idx_instances_each(req->svc->index, study, series, object, false,
				uri_collect, &inst, &err);
	if (st == PC_NOTFOUND || (st == PC_OK && inst.handle[0] == '\0')) {
		http_respond_error(req, 404, "No such instance");
		return;
	}
	if (st != PC_OK) {
		http_respond_error(req, 500, "index lookup failed: %s",
				   err.msg);
		return;
	}
	memset(&ref, 0, sizeof(ref));
	memcpy(ref.handle, inst.handle, sizeof(ref.handle));
	memcpy(ref.ts_uid, inst.ts_uid, sizeof(ref.ts_uid));
	memcpy(ref.sop_uid, inst.sop_uid, sizeof(ref.sop_uid));
	ref.frames = inst.frames;

	/* PS3.18 9.4.2 / 9.5.2: the first supported type of the list;
	 * without one, a JPEG of an image, the object itself otherwise. */
	if (ct == NULL)
		want = ref.frames > 0 ? 2 : 1;
	for (size_t i = 0; i < n_acc && want == 0; i++) {
		if (wado__is(&acc[i], "application/dicom"))
			want = 1;
		else if (ref.frames > 0 &&
			 http_mediatype_covers(&acc[i], "image/jpeg"))
			want = 2;
		else if (ref.frames > 0 &&
			 http_mediatype_covers(&acc[i], "image/png"))
			want = 3;
		else if (strcmp(acc[i].type, "*/*") == 0)
			want = ref.frames > 0 ? 2 : 1;
	}
	if (want == 0) {
		http_respond_error(req, 406,
				   "contentType \"%.80s\" is not available: "
				   "application/dicom%s",
				   ct, ref.frames > 0
					       ? ", image/jpeg or image/png"
					       : "");
		return;
	}
	if (want == 1) {
		enum wado_plan plan;

		tsp = http_req_query(req, "transferSyntax");
		plan = wado__plan(ref.ts_uid, tsp);
		if (plan == WADO_PLAN_NONE) {
			http_respond_error(req, 406,
					   "Instance stored as %s cannot be "
					   "provided as %.64s",
					   ref.ts_uid, tsp != NULL ? tsp : "");
			return;
		}
		wado__send_instance(req, &ref, plan);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.format = want == 3 ? PIX_FORMAT_PNG : PIX_FORMAT_JPEG;
	if (!uri_render_params(req, &ref, &o))
		return;
	respond_render(req, &ref, &o);
}
