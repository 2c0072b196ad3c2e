/*
 * dicomweb.c - the DICOMweb route table (PS3.18 10), the Studies Store
 * transaction (STOW-RS, PS3.18 10.5), the Search transactions (QIDO-RS,
 * PS3.18 10.6), DELETE of a study / series / instance (not in PS3.18; the
 * form Orthanc and dcm4chee offer), and the helpers wado.c shares.
 *
 * DESIGN
 * STOW-RS streams: the multipart parser hands each part's bytes to an
 * ingest upload as they arrive, so a 2 GB part costs a buffer, never its
 * size in memory. Each part ends in one ingest_commit(); what was committed
 * stays stored whatever happens to the rest of the body, and the response
 * lists every part: ReferencedSOPSequence for the stored, FailedSOPSequence
 * with a FailureReason for the others (PS3.18 Annex I).
 *
 * QIDO-RS turns the query string and the UIDs of the path into a struct qry
 * and lets the index run it; the index returns one DICOM JSON object per
 * match, which are joined into the JSON array of the response.
 *
 * Every error answer is the JSON {"error": "..."} of http_respond_error.
 * Handlers run on the server's threads; they keep their state in the
 * request (req->state, req->arena) only.
 */
#include "http/dicomweb_int.h"

#include <string.h>
#include <strings.h>

/* Tags used here (PS3.6). */
#define TAG_STUDY_UID 0x0020000Du
#define TAG_SERIES_UID 0x0020000Eu

#define MT_DICOM "application/dicom"
#define MT_DICOM_JSON "application/dicom+json"
#define MT_JSON "application/json"

/* ---- shared helpers ----------------------------------------------------- */

/* PS3.5 9.1: components of digits separated by '.', none empty, no leading
 * zero in a component of more than one digit, 64 characters at most. */
bool dw_uid_valid(const char *s)
{
	size_t n = 0;
	size_t comp = 0; /* digits in the current component */
	bool lead0 = false;

	if (s == NULL || *s == '\0')
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= 64)
			return false;
		if (c == '.') {
			if (comp == 0)
				return false;
			comp = 0;
			continue;
		}
		if (c < '0' || c > '9')
			return false;
		if (comp == 0)
			lead0 = c == '0';
		else if (lead0)
			return false;
		comp++;
	}
	return comp > 0;
}

bool dw_check_uids(struct http_req *req, size_t n_uids)
{
	static const char *const what[] = {
	    "Study Instance UID", "Series Instance UID", "SOP Instance UID"};

	for (size_t i = 0; i < n_uids && i < req->n_params; i++) {
		if (!dw_uid_valid(req->params[i])) {
			http_respond_error(req, 400, "Invalid %s \"%.80s\"",
			                   i < 3 ? what[i] : "UID",
			                   req->params[i]);
			return false;
		}
	}
	return true;
}

/* Appends `s` escaped for the inside of a JSON string (RFC 8259 7). */
static void json_esc(struct pc_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			pc_buf_putc(b, '\\');
			pc_buf_putc(b, (char)c);
		} else if (c < 0x20) {
			pc_buf_printf(b, "\\u%04x", c);
		} else {
			pc_buf_putc(b, (char)c);
		}
	}
}

/* Appends `s` as a JSON string. */
static void json_str(struct pc_buf *b, const char *s)
{
	pc_buf_putc(b, '"');
	json_esc(b, s);
	pc_buf_putc(b, '"');
}

/* Whether an Accept entry with q=0 names `type` exactly (RFC 9110 12.5.1:
 * "not acceptable"). */
static bool accept_excluded(const struct http_mediatype *m, size_t n,
                            const char *type)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i].q <= 0.0 && strcmp(m[i].type, type) == 0)
			return true;
	}
	return false;
}

/*
 * The media type of a DICOM JSON answer (QIDO-RS results, the STOW-RS
 * response) chosen from the Accept header: application/dicom+json (PS3.18
 * 8.7.3.2), or application/json, the same bytes under the name generic
 * clients ask for. Anything else (multipart/related;
 * type="application/dicom+xml", the XML representation we do not produce)
 * gets 406. Returns NULL once it has responded.
 */
static const char *json_media_type(struct http_req *req)
{
	static const char *const offer[] = {MT_DICOM_JSON, MT_JSON};
	const char *accept = http_req_header(req, "Accept");
	struct http_mediatype *m = NULL;
	size_t n = 0;
	struct pc_err err = {0};

	if (accept == NULL)
		accept = "";
	if (http_accept_parse(req->arena, accept, &m, &n, &err) != PC_OK) {
		http_respond_error(req, 400, "Malformed Accept header: %s",
		                   err.msg);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (m[i].q <= 0.0)
			continue;
		for (size_t k = 0; k < sizeof offer / sizeof offer[0]; k++) {
			if (http_mediatype_covers(&m[i], offer[k]) &&
			    !accept_excluded(m, n, offer[k]))
				return offer[k];
		}
	}
	http_respond_error(req, 406,
	                   "Not acceptable: this server answers with "
	                   "application/dicom+json or application/json only");
	return NULL;
}

/* ---- QIDO-RS (PS3.18 10.6) ---------------------------------------------- */

struct qido_out {
	struct pc_buf body;
	size_t n;
};

static enum pc_status qido_match(void *ctx, const char *json, size_t n)
{
	struct qido_out *o = ctx;

	pc_buf_putc(&o->body, o->n == 0 ? '[' : ',');
	pc_buf_append(&o->body, json, n);
	o->n++;
	return pc_buf_status(&o->body);
}

/* "host:port" of the base URL, the warn-agent of a Warning (RFC 7234
 * 5.5); the pseudonym "pacsd" when the Host header gave something that is
 * not a plain host and port. */
static const char *warn_agent(const char *base)
{
	const char *p = strstr(base, "://");

	p = p != NULL ? p + 3 : base;
	if (*p == '\0' ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	              "0123456789.-_:[]") != strlen(p))
		return "pacsd";
	return p;
}

/*
 * Search at `level`; req->params hold the Study (and Series) Instance UID
 * of the path, which become UID keys (PS3.18 10.6.1.2: /studies/{study}/
 * series searches the series of that study).
 */
static void qido(struct http_req *req, enum qry_level level)
{
	const struct http_services *svc = req->svc;
	struct qry q = {0};
	struct qido_out out = {PC_BUF_INIT, 0};
	struct pc_buf base = PC_BUF_INIT;
	struct pc_err err = {0};
	struct idx_query_info info = {0};
	struct idx_query_opts opts = {0};
	const char *ctype;
	enum pc_status st;

	if (!dw_check_uids(req, req->n_params))
		goto cleanup;
	ctype = json_media_type(req);
	if (ctype == NULL)
		goto cleanup;
	if (qry_init(&q, level) != PC_OK) {
		http_respond_error(req, 500, "QIDO-RS: out of memory");
		goto cleanup;
	}
	if (qry_parse_qido(&q, req->query, req->query_len, &err) != PC_OK) {
		http_respond_error(req, err.status == PC_NOMEM ? 500 : 400,
		                   "%s", err.msg);
		goto cleanup;
	}
	if (req->n_params >= 1 && qry_add_key(&q, TAG_STUDY_UID, DCM_VR_UI,
	                                      req->params[0], &err) != PC_OK) {
		http_respond_error(req, 400, "%s", err.msg);
		goto cleanup;
	}
	if (req->n_params >= 2 && qry_add_key(&q, TAG_SERIES_UID, DCM_VR_UI,
	                                      req->params[1], &err) != PC_OK) {
		http_respond_error(req, 400, "%s", err.msg);
		goto cleanup;
	}

	pc_buf_printf(&base, "%s%s", req->base_url, DICOMWEB_ROOT);
	if (pc_buf_status(&base) != PC_OK) {
		http_respond_error(req, 500, "QIDO-RS: out of memory");
		goto cleanup;
	}
	opts.retrieve_base = pc_buf_str(&base);
	opts.max_results = svc->cfg->qido_max_results;

	st = idx_query(svc->index, &q, &opts, qido_match, &out, &info, &err);
	if (st == PC_OK)
		st = pc_buf_status(&out.body);
	if (st != PC_OK) {
		if (st == PC_INVAL || st == PC_UNSUPPORTED)
			http_respond_error(req, 400, "%s", err.msg);
		else if (st == PC_NOMEM || err.msg[0] == '\0')
			http_respond_error(req, 500, "QIDO-RS: %s",
			                   pc_status_text(st));
		else
			http_respond_error(req, 500, "QIDO-RS: %s", err.msg);
		goto cleanup;
	}

	/* PS3.18 8.3.4.4.1: the server maximum cut the list short. */
	if (info.truncated) {
		struct pc_buf w = PC_BUF_INIT;

		pc_buf_printf(&w,
		              "299 %s \"There are additional results that "
		              "can be requested\"",
		              warn_agent(req->base_url));
		if (pc_buf_status(&w) == PC_OK)
			http_header_add(req, "Warning", pc_buf_str(&w));
		pc_buf_cleanup(&w);
	}
	if (out.n == 0) {
		/* PS3.18 10.6.3.1: no match is 204 with no payload. */
		http_respond_mem(req, 204, NULL, NULL, 0);
		goto cleanup;
	}
	pc_buf_putc(&out.body, ']');
	if (pc_buf_status(&out.body) != PC_OK) {
		http_respond_error(req, 500, "QIDO-RS: out of memory");
		goto cleanup;
	}
	http_respond_buf(req, 200, ctype, &out.body);
cleanup:
	pc_buf_cleanup(&out.body);
	pc_buf_cleanup(&base);
	qry_cleanup(&q);
}

static void qido_studies(struct http_req *req)
{
	qido(req, QRY_LEVEL_STUDY);
}

static void qido_series(struct http_req *req)
{
	qido(req, QRY_LEVEL_SERIES);
}

static void qido_instances(struct http_req *req)
{
	qido(req, QRY_LEVEL_INSTANCE);
}

/* ---- STOW-RS (PS3.18 10.5) ---------------------------------------------- */

/* One part of the request and what became of it. */
struct stow_item {
	struct stow_item *next;
	bool stored;
	uint16_t reason;       /* FailureReason (0008,1197) when !stored */
	const char *sop_class; /* "" when unknown */
	const char *sop_uid;
	const char *study_uid;
	const char *series_uid;
};

struct stow {
	struct http_req *req;
	const char *ctype;          /* media type of the response */
	const char *expected_study; /* the {study} of the URL, or NULL */
	uint64_t max_size;          /* per instance */
	http_multipart *mp;         /* NULL for a bare application/dicom body */
	ingest_upload *up;          /* the part being received, or NULL */
	enum ingest_error part_error; /* why the current part already failed */
	struct pc_err part_err;       /* its detail */
	size_t parts;                 /* parts begun */
	struct stow_item *head, **tail;
	size_t n_stored, n_failed;
	size_t n_storage;   /* failures for INGEST_STORAGE */
	size_t n_too_large; /* failures for INGEST_TOO_LARGE */
};

/* PS3.18 I.2.2 Table I.2-2, and PS3.7 C.5 for the duplicate. */
static uint16_t failure_reason(enum ingest_error e)
{
	switch (e) {
	case INGEST_NOT_DICOM:
		return 0xC000; /* Error: Cannot understand */
	case INGEST_MISSING_UID:
	case INGEST_STUDY_MISMATCH:
		return 0xA900; /* Error: Data Set does not match SOP Class */
	case INGEST_DUPLICATE:
		return 0x0111; /* Duplicate SOP Instance */
	case INGEST_TOO_LARGE:
	case INGEST_STORAGE:
		return 0xA700; /* Refused: Out of Resources */
	case INGEST_OK:
		break;
	}
	return 0x0110; /* Processing failure */
}

static const char *arena_str(struct http_req *req, const char *s)
{
	return pc_arena_memdup(req->arena, s, strlen(s) + 1);
}

/* Records one part's outcome; `res` may be NULL (nothing known of it). */
static enum pc_status stow_record(struct stow *st, bool stored,
                                  enum ingest_error error,
                                  const struct ingest_result *res)
{
	struct stow_item *it = http_alloc(st->req, sizeof *it);

	if (it == NULL)
		return PC_NOMEM;
	memset(it, 0, sizeof *it);
	it->stored = stored;
	it->reason = stored ? 0 : failure_reason(error);
	it->sop_class =
	    arena_str(st->req, res != NULL ? res->sop_class_uid : "");
	it->sop_uid = arena_str(st->req, res != NULL ? res->sop_uid : "");
	it->study_uid = arena_str(st->req, res != NULL ? res->study_uid : "");
	it->series_uid = arena_str(st->req, res != NULL ? res->series_uid : "");
	if (it->sop_class == NULL || it->sop_uid == NULL ||
	    it->study_uid == NULL || it->series_uid == NULL)
		return PC_NOMEM;
	*st->tail = it;
	st->tail = &it->next;
	if (stored) {
		st->n_stored++;
	} else {
		st->n_failed++;
		if (error == INGEST_STORAGE)
			st->n_storage++;
		else if (error == INGEST_TOO_LARGE)
			st->n_too_large++;
	}
	return PC_OK;
}

static enum pc_status stow_fail(struct stow *st, enum ingest_error error,
                                const struct pc_err *err)
{
	pc_log(error == INGEST_STORAGE ? PC_LOG_ERROR : PC_LOG_INFO,
	       "STOW-RS part %zu not stored: %s", st->parts,
	       err != NULL && err->msg[0] != '\0' ? err->msg : "(no detail)");
	return stow_record(st, false, error, NULL);
}

/* Commits the upload of the current part and records the outcome. */
static enum pc_status stow_commit(struct stow *st)
{
	struct ingest_result res;
	struct pc_err err = {0};
	enum pc_status s;
	ingest_upload *up = st->up;

	st->up = NULL; /* consumed by the commit whatever happens */
	memset(&res, 0, sizeof res);
	s = ingest_commit(up, st->expected_study, &res, &err);
	if (s == PC_OK)
		return stow_record(st, true, INGEST_OK, &res);
	if (res.error == INGEST_OK)
		res.error = INGEST_STORAGE;
	pc_log(res.error == INGEST_STORAGE ? PC_LOG_ERROR : PC_LOG_INFO,
	       "STOW-RS part %zu not stored: %s", st->parts,
	       err.msg[0] != '\0' ? err.msg : pc_status_text(s));
	return stow_record(st, false, res.error, &res);
}

/* Whether a part is to be stored: application/dicom, with any parameters
 * (transfer-syntax=...), or no Content-Type at all, which the request's
 * type="application/dicom" then gives (RFC 2387 3.1). */
static bool part_is_dicom(struct stow *st, const struct http_part *part)
{
	struct http_mediatype m;

	if (part->content_type == NULL || part->content_type[0] == '\0')
		return true;
	if (http_mediatype_parse(st->req->arena, part->content_type,
	                         strlen(part->content_type), &m, NULL) != PC_OK)
		return false;
	return strcmp(m.type, MT_DICOM) == 0;
}

static enum pc_status part_begin(void *ctx, const struct http_part *part)
{
	struct stow *st = ctx;

	st->parts++;
	st->part_error = INGEST_OK;
	pc_err_clear(&st->part_err);
	if (!part_is_dicom(st, part)) {
		st->part_error = INGEST_NOT_DICOM;
		pc_err_set(&st->part_err, PC_UNSUPPORTED, 0,
		           "part has Content-Type \"%.80s\"; only "
		           "application/dicom is stored",
		           part->content_type);
		return PC_OK;
	}
	st->up =
	    ingest_begin(st->req->svc->ingest, st->max_size, &st->part_err);
	if (st->up == NULL)
		st->part_error = INGEST_STORAGE;
	return PC_OK;
}

static enum pc_status part_data(void *ctx, const uint8_t *p, size_t n)
{
	struct stow *st = ctx;
	enum pc_status s;

	if (st->up == NULL)
		return PC_OK; /* failed already: the bytes are dropped */
	s = ingest_write(st->up, p, n, &st->part_err);
	if (s != PC_OK) {
		st->part_error =
		    s == PC_LIMIT ? INGEST_TOO_LARGE : INGEST_STORAGE;
		ingest_abort(st->up);
		st->up = NULL;
	}
	return PC_OK;
}

static enum pc_status part_end(void *ctx)
{
	struct stow *st = ctx;

	if (st->up != NULL)
		return stow_commit(st);
	return stow_fail(st, st->part_error, &st->part_err);
}

/* Appends {"vr":"UI","Value":["uid"]} under `tag`, or nothing when the
 * UID is unknown. */
static void json_uid(struct pc_buf *b, bool *first, const char *tag,
                     const char *vr, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	pc_buf_printf(b, "%s\"%s\":{\"vr\":\"%s\",\"Value\":[",
	              *first ? "" : ",", tag, vr);
	json_str(b, value);
	pc_buf_puts(b, "]}");
	*first = false;
}

/* The study every stored instance belongs to, or NULL when several. */
static const char *stow_single_study(const struct stow *st)
{
	const char *study = st->expected_study;

	for (const struct stow_item *it = st->head; it != NULL; it = it->next) {
		if (!it->stored)
			continue;
		if (study == NULL)
			study = it->study_uid;
		else if (strcmp(study, it->study_uid) != 0)
			return NULL;
	}
	return study;
}

/*
 * The Store Instances Response Module (PS3.18 10.5.3, Annex I) as DICOM
 * JSON, with the status of Table 10.5.3-1: 200 all stored, 202 some, 409
 * none (500 / 413 when every failure was the server's storage or the size
 * limit), 400 for a request without any part.
 */
static void stow_respond(struct http_req *req, struct stow *st)
{
	struct pc_buf b = PC_BUF_INIT;
	const char *study = stow_single_study(st);
	unsigned status;
	bool first;

	if (st->n_stored == 0 && st->n_failed == 0) {
		http_respond_error(req, 400,
		                   "STOW-RS request without any instance");
		return;
	}
	if (st->n_failed == 0)
		status = 200;
	else if (st->n_stored > 0)
		status = 202;
	else if (st->n_storage == st->n_failed)
		status = 500;
	else if (st->n_too_large == st->n_failed)
		status = 413;
	else
		status = 409;

	/* Retrieve URL (0008,1190) is type 2: empty unless one study. */
	pc_buf_puts(&b, "{\"00081190\":{\"vr\":\"UR\"");
	if (study != NULL && study[0] != '\0') {
		pc_buf_puts(&b, ",\"Value\":[\"");
		json_esc(&b, req->base_url);
		pc_buf_puts(&b, DICOMWEB_ROOT "/studies/");
		json_esc(&b, study);
		pc_buf_puts(&b, "\"]");
	}
	pc_buf_puts(&b, "}");

	if (st->n_failed > 0) {
		pc_buf_puts(&b, ",\"00081198\":{\"vr\":\"SQ\",\"Value\":[");
		first = true;
		for (const struct stow_item *it = st->head; it != NULL;
		     it = it->next) {
			bool f = true;

			if (it->stored)
				continue;
			pc_buf_puts(&b, first ? "{" : ",{");
			first = false;
			json_uid(&b, &f, "00081150", "UI", it->sop_class);
			json_uid(&b, &f, "00081155", "UI", it->sop_uid);
			pc_buf_printf(&b,
			              "%s\"00081197\":{\"vr\":\"US\","
			              "\"Value\":[%u]}}",
			              f ? "" : ",", (unsigned)it->reason);
		}
		pc_buf_puts(&b, "]}");
	}
	if (st->n_stored > 0) {
		pc_buf_puts(&b, ",\"00081199\":{\"vr\":\"SQ\",\"Value\":[");
		first = true;
		for (const struct stow_item *it = st->head; it != NULL;
		     it = it->next) {
			bool f = true;

			if (!it->stored)
				continue;
			pc_buf_puts(&b, first ? "{" : ",{");
			first = false;
			json_uid(&b, &f, "00081150", "UI", it->sop_class);
			json_uid(&b, &f, "00081155", "UI", it->sop_uid);
			pc_buf_printf(&b,
			              "%s\"00081190\":{\"vr\":\"UR\","
			              "\"Value\":[\"",
			              f ? "" : ",");
			json_esc(&b, req->base_url);
			pc_buf_puts(&b, DICOMWEB_ROOT "/studies/");
			json_esc(&b, it->study_uid);
			pc_buf_puts(&b, "/series/");
			json_esc(&b, it->series_uid);
			pc_buf_puts(&b, "/instances/");
			json_esc(&b, it->sop_uid);
			pc_buf_puts(&b, "\"]}}");
		}
		pc_buf_puts(&b, "]}");
	}
	pc_buf_puts(&b, "}");
	if (pc_buf_status(&b) != PC_OK) {
		pc_buf_cleanup(&b);
		http_respond_error(req, 500, "STOW-RS: out of memory");
		return;
	}
	http_respond_buf(req, status, st->ctype, &b);
	pc_buf_cleanup(&b);
}

/*
 * The body cannot be read as multipart any further (malformed, truncated,
 * a limit): the part in progress is dropped and reported; what was stored
 * before stays stored and is reported too (202). With nothing stored, the
 * request was bad syntax: 400 (PS3.18 Table 10.5.3-1).
 */
static void stow_broken(struct http_req *req, struct stow *st, enum pc_status s,
                        const struct pc_err *err)
{
	const char *msg = err->msg[0] != '\0' ? err->msg : pc_status_text(s);

	if (s == PC_NOMEM) {
		http_respond_error(req, 500, "STOW-RS: out of memory");
		return;
	}
	if (st->up != NULL) {
		ingest_abort(st->up);
		st->up = NULL;
	}
	if (st->n_stored == 0) {
		http_respond_error(req, s == PC_LIMIT ? 413 : 400,
		                   "Malformed multipart body: %s", msg);
		return;
	}
	pc_log(PC_LOG_INFO, "STOW-RS: multipart body broken after part %zu: %s",
	       st->parts, msg);
	if (stow_record(st, false, INGEST_NOT_DICOM, NULL) != PC_OK) {
		http_respond_error(req, 500, "STOW-RS: out of memory");
		return;
	}
	stow_respond(req, st);
}

static void stow_begin(struct http_req *req)
{
	static const struct http_multipart_cbs cbs = {part_begin, part_data,
	                                              part_end};
	const char *ct = http_req_header(req, "Content-Type");
	struct http_mediatype m;
	struct pc_err err = {0};
	struct stow *st;
	const char *type;
	const char *boundary;

	if (!dw_check_uids(req, req->n_params))
		return;
	if (ct == NULL) {
		http_respond_error(req, 415,
		                   "STOW-RS needs Content-Type: multipart/"
		                   "related; type=\"application/dicom\"");
		return;
	}
	if (http_mediatype_parse(req->arena, ct, strlen(ct), &m, &err) !=
	    PC_OK) {
		http_respond_error(req, 415, "Malformed Content-Type: %s",
		                   err.msg);
		return;
	}
	st = http_alloc(req, sizeof *st);
	if (st == NULL) {
		http_respond_error(req, 500, "STOW-RS: out of memory");
		return;
	}
	memset(st, 0, sizeof *st);
	st->req = req;
	st->tail = &st->head;
	st->expected_study = req->n_params >= 1 ? req->params[0] : NULL;
	st->max_size = req->svc->cfg->max_body;
	st->ctype = json_media_type(req);
	if (st->ctype == NULL)
		return;

	if (strcmp(m.type, MT_DICOM) == 0) {
		/* Not PS3.18: one instance as the whole body, which curl
		 * --data-binary and simple scripts send. */
		st->up = ingest_begin(req->svc->ingest, st->max_size, &err);
		if (st->up == NULL) {
			http_respond_error(req, 500, "STOW-RS: %s", err.msg);
			return;
		}
		st->parts = 1;
		req->state = st;
		return;
	}
	if (strcmp(m.type, "multipart/related") != 0) {
		http_respond_error(req, 415,
		                   "STOW-RS accepts multipart/related; "
		                   "type=\"application/dicom\", not %.80s",
		                   m.type);
		return;
	}
	/* PS3.18 10.5.1.2: type="application/dicom", quoted or not (the
	 * media type parser unquotes). A missing type is accepted: each
	 * part's own Content-Type decides. The metadata and bulk data form
	 * (application/dicom+json, +xml) is not supported. */
	type = http_mediatype_param(&m, "type");
	if (type != NULL && strcasecmp(type, MT_DICOM) != 0) {
		http_respond_error(
		    req, 415,
		    "STOW-RS supports only multipart/related; "
		    "type=\"application/dicom\" (got type=\"%.80s\")",
		    type);
		return;
	}
	boundary = http_mediatype_param(&m, "boundary");
	if (boundary == NULL) {
		http_respond_error(req, 400,
		                   "multipart/related without a boundary");
		return;
	}
	st->mp = http_multipart_create(boundary, &cbs, st, NULL, &err);
	if (st->mp == NULL) {
		http_respond_error(req, err.status == PC_NOMEM ? 500 : 400,
		                   "%s", err.msg);
		return;
	}
	req->state = st;
}

static void stow_body(struct http_req *req, const uint8_t *p, size_t n)
{
	struct stow *st = req->state;
	struct pc_err err = {0};
	enum pc_status s;

	if (st == NULL)
		return;
	if (st->mp == NULL) {
		/* A bare application/dicom body is one part. */
		(void)part_data(st, p, n); /* records failures in st */
		return;
	}
	s = http_multipart_feed(st->mp, p, n, &err);
	if (s != PC_OK)
		stow_broken(req, st, s, &err);
}

static void stow_end(struct http_req *req)
{
	struct stow *st = req->state;
	struct pc_err err = {0};
	enum pc_status s = PC_OK;

	if (st == NULL) {
		http_respond_error(req, 500, "STOW-RS: lost its state");
		return;
	}
	if (st->mp == NULL) {
		s = st->up != NULL
		        ? stow_commit(st)
		        : stow_fail(st, st->part_error, &st->part_err);
	} else {
		s = http_multipart_finish(st->mp, &err);
		if (s != PC_OK) {
			stow_broken(req, st, s, &err);
			return;
		}
	}
	if (s != PC_OK) {
		http_respond_error(req, 500, "STOW-RS: out of memory");
		return;
	}
	stow_respond(req, st);
}

static void stow_done(struct http_req *req)
{
	struct stow *st = req->state;

	if (st == NULL)
		return;
	ingest_abort(st->up);
	st->up = NULL;
	http_multipart_destroy(st->mp);
	st->mp = NULL;
	req->state = NULL;
}

/* ---- DELETE ------------------------------------------------------------- */

struct del_ctx {
	blob_store *store;
	size_t n;
	size_t failed;
};

/* After the index commit: the bytes go. A failure leaves an orphan that
 * the start-up sweep (ingest_sweep) removes. */
static void del_blob(void *ctx, const char *handle)
{
	struct del_ctx *d = ctx;
	struct pc_err err = {0};
	enum pc_status s = blob_delete(d->store, handle, &err);

	d->n++;
	if (s != PC_OK && s != PC_NOTFOUND) {
		d->failed++;
		pc_log(PC_LOG_WARN, "DELETE: blob %s left as an orphan: %s",
		       handle, err.msg);
	}
}

/* DELETE /studies/{s}[/series/{se}[/instances/{i}]]: 204, or 404 when
 * nothing matches. */
static void dw_delete(struct http_req *req)
{
	struct del_ctx d = {req->svc->store, 0, 0};
	struct pc_err err = {0};
	const char *series = req->n_params >= 2 ? req->params[1] : NULL;
	const char *sop = req->n_params >= 3 ? req->params[2] : NULL;
	enum pc_status s;

	if (!dw_check_uids(req, req->n_params))
		return;
	if (req->n_params < 1) {
		http_respond_error(req, 500, "DELETE route without a study");
		return;
	}
	s = idx_delete(req->svc->index, req->params[0], series, sop, del_blob,
	               &d, &err);
	if (s == PC_NOTFOUND) {
		http_respond_error(req, 404, "No such %s",
		                   sop != NULL      ? "instance"
		                   : series != NULL ? "series"
		                                    : "study");
		return;
	}
	if (s != PC_OK) {
		http_respond_error(req, 500, "DELETE failed: %s",
		                   err.msg[0] != '\0' ? err.msg
		                                      : pc_status_text(s));
		return;
	}
	pc_log(PC_LOG_INFO,
	       "DELETE %s: %zu instance(s) removed, %zu blob(s) "
	       "left for the sweep",
	       req->path, d.n, d.failed);
	http_respond_mem(req, 204, NULL, NULL, 0);
}

/* ---- routes ------------------------------------------------------------- */

#define DW DICOMWEB_ROOT
#define ST DW "/studies/{}"
#define SE ST "/series/{}"
#define IN SE "/instances/{}"
#define GET_ROUTE(pattern, fn)                                                 \
	{                                                                      \
		HTTP_GET, pattern, fn, NULL, NULL, NULL                        \
	}

/*
 * PS3.18 10.4 (retrieve), 10.5 (store), 10.6 (search), 9 (WADO-URI).
 * Patterns differ in segment count or in a literal segment, so no two can
 * match the same path with the same method; "/studies/{}/series" (search)
 * and "/studies/{}/series/{}" (retrieve) differ by one segment.
 */
const struct http_route http_dicomweb_routes[] = {
    /* Search (QIDO-RS) */
    GET_ROUTE(DW "/studies", qido_studies),
    GET_ROUTE(DW "/series", qido_series),
    GET_ROUTE(DW "/instances", qido_instances),
    GET_ROUTE(ST "/series", qido_series),
    GET_ROUTE(ST "/instances", qido_instances),
    GET_ROUTE(SE "/instances", qido_instances),

    /* Store (STOW-RS) */
    {HTTP_POST, DW "/studies", stow_begin, stow_body, stow_end, stow_done},
    {HTTP_POST, ST, stow_begin, stow_body, stow_end, stow_done},

    /* Retrieve (WADO-RS) */
    GET_ROUTE(ST, wado_retrieve),
    GET_ROUTE(SE, wado_retrieve),
    GET_ROUTE(IN, wado_retrieve),
    GET_ROUTE(ST "/metadata", wado_metadata),
    GET_ROUTE(SE "/metadata", wado_metadata),
    GET_ROUTE(IN "/metadata", wado_metadata),
    GET_ROUTE(IN "/frames/{}", wado_frames),
    GET_ROUTE(ST "/rendered", wado_rendered),
    GET_ROUTE(SE "/rendered", wado_rendered),
    GET_ROUTE(IN "/rendered", wado_rendered),
    GET_ROUTE(IN "/frames/{}/rendered", wado_rendered),
    GET_ROUTE(ST "/thumbnail", wado_thumbnail),
    GET_ROUTE(SE "/thumbnail", wado_thumbnail),
    GET_ROUTE(IN "/thumbnail", wado_thumbnail),
    GET_ROUTE(IN "/frames/{}/thumbnail", wado_thumbnail),
    GET_ROUTE(IN "/bulkdata/{*}", wado_bulkdata),

    /* Delete (not PS3.18) */
    {HTTP_DELETE, ST, dw_delete, NULL, NULL, NULL},
    {HTTP_DELETE, SE, dw_delete, NULL, NULL, NULL},
    {HTTP_DELETE, IN, dw_delete, NULL, NULL, NULL},

    /* WADO-URI (PS3.18 9) */
    GET_ROUTE("/wado", wado_uri),

    {0, NULL, NULL, NULL, NULL, NULL},
};
