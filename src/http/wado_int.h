/*
 * wado_int.h - what the WADO files share (private to src/http/wado*.c):
 *   wado.c         Accept lists, instance lists, opening stored files, the
 *                  streamed multipart/related writer; retrieve, metadata
 *   wado_frames.c  frames and bulk data (PS3.18 10.4, 8.7.3.3)
 *   wado_render.c  rendered, thumbnail (PS3.18 8.3.5, 10.4) and WADO-URI
 *                  (PS3.18 9)
 */
#ifndef PACSD_HTTP_WADO_INT_H
#define PACSD_HTTP_WADO_INT_H

#include "http/dicomweb_int.h"
#include "pixel/pix.h"

#define WADO_TS_EXPLICIT_LE "1.2.840.10008.1.2.1"

/* ---- Accept ------------------------------------------------------------- */

/*
 * The request's acceptable media types, best first, entries with q=0
 * dropped: those of the `accept` query parameter when it is present
 * (PS3.18 8.3.3.1: it narrows the Accept header, which is then not
 * consulted), else those of the Accept header (absent: one "*\/\*"). A
 * malformed Accept header is ignored like an absent one (PS3.18 8.7.7: "not
 * valid ... shall be ignored"); a malformed query parameter is answered
 * with 400 and false is returned.
 */
bool wado__accept(struct http_req *req, const char *param_name,
		  struct http_mediatype **out, size_t *n);

/* Whether `m` is `type` exactly (no wildcard). */
bool wado__is(const struct http_mediatype *m, const char *type);

/* ---- instances ---------------------------------------------------------- */

/* What a response needs of one instance; small, for lists of thousands. */
struct wado_ref {
	char handle[IDX_HANDLE_LEN + 1];
	char ts_uid[IDX_UID_MAX + 1];
	char sop_uid[IDX_UID_MAX + 1];
	uint32_t frames;              /* 0: no pixel data */
	uint32_t series_no;           /* 0 for the first series met, ... */
};

struct wado_list {
	struct wado_ref *v;
	size_t n, cap;
	char last_series[IDX_UID_MAX + 1];
};

/*
 * The instances under the request's UIDs (req->params[0..levels-1]: study,
 * series, instance) in index order. Answers 400 (bad UID), 404 (nothing
 * stored) or 500 itself and returns false then.
 */
bool wado__list(struct http_req *req, size_t levels, struct wado_list *out);
void wado__list_free(struct wado_list *l);

/* ---- stored files ------------------------------------------------------- */

/* A stored instance mapped (or read, for back-ends without descriptors) and
 * parsed whole; values are slices of the mapping. */
struct wado_file {
	blob_reader *r;
	const uint8_t *data;
	size_t n;
	void *map;                    /* mmap'ed, or NULL */
	uint8_t *owned;               /* read into memory, or NULL */
	dcm_file *f;
};

/* Opens and parses the blob `handle`. PC_NOTFOUND when the blob is gone,
 * PC_PARSE & co when it does not parse (err says why). */
enum pc_status wado__file_open(blob_store *store, const char *handle,
			       struct wado_file *wf, struct pc_err *err);
void wado__file_close(struct wado_file *wf);

/* Responds with the status that suits `st` (404 NOTFOUND, 406
 * UNSUPPORTED, 400 INVAL, 500 otherwise with `what` and the cause logged). */
void wado__respond_status(struct http_req *req, enum pc_status st,
			  const struct pc_err *err, const char *what);

/* ---- multipart/related streams ------------------------------------------ */

/* One part, filled by a wado_next_fn. Exactly one body source is set. */
struct wado_part {
	struct pc_buf ctype;          /* the part's Content-Type (required) */
	struct pc_buf location;       /* Content-Location, or empty */
	blob_reader *r;               /* taken: bytes [off, off+len) */
	uint64_t off, len;
	struct pc_buf body;           /* or these bytes (taken over) */
	struct pc_span span;          /* or borrowed bytes, valid until the
	                                 next call of the wado_next_fn */
};

/* Fills `part` (all zero on entry) with the next part; PC_STOP at the end;
 * any other status cuts the response (logged with err). */
typedef enum pc_status (*wado_next_fn)(void *ctx, struct wado_part *part,
				       struct pc_err *err);

/*
 * Responds 200 with a streamed multipart/related body (RFC 2387) whose
 * root type is `type` ("application/dicom"); `extra` (may be NULL) adds
 * parameters to the Content-Type ("transfer-syntax=..."). The first part
 * is made before responding so that its failure still gets a status: on
 * any failure nothing is sent, `ctx` is freed and the status returned
 * (PC_STOP when there was not a single part) for the caller to answer.
 * Takes `ctx` (freed with free_ctx when the response is done).
 */
enum pc_status wado__respond_multipart(struct http_req *req, const char *type,
				       const char *extra, wado_next_fn next,
				       void *ctx, void (*free_ctx)(void *),
				       struct pc_err *err);

/* ---- transfer syntaxes and media types ---------------------------------- */

/* Whether pixel data in this syntax has lost information (PS3.5 A.4). */
bool wado__ts_lossy(const char *uid);
/* The bulk data media type of a compressed syntax (PS3.18 table 8.7.3-5):
 * "image/jpeg" ...; NULL for native and unknown syntaxes. */
const char *wado__ts_media(const char *uid);

/* ---- instances as Part 10 (wado.c) ------------------------------------- */

enum wado_plan {
	WADO_PLAN_NONE = 0,           /* cannot be produced */
	WADO_PLAN_STORED,             /* the stored bytes */
	WADO_PLAN_EXPLICIT,           /* transcoded to Explicit VR LE */
	WADO_PLAN_PREFER_EXPLICIT,    /* the same, or the stored bytes when
	                                 the decoder refuses the pixel data
	                                 (no transfer syntax was named) */
};

/*
 * How an instance stored as `stored_uid` goes out when the client asks for
 * transfer syntax `want` (NULL: none named; "*": any), PS3.18 8.7.3.
 */
enum wado_plan wado__plan(const char *stored_uid, const char *want);

/* Responds with the instance as one application/dicom body (sendfile for
 * the stored bytes; transcoded in memory otherwise). A transcoding the
 * decoders refuse is 406 (the syntax asked for cannot be had), or the
 * stored bytes for WADO_PLAN_PREFER_EXPLICIT. */
void wado__send_instance(struct http_req *req, const struct wado_ref *ref,
			 enum wado_plan plan);

#endif
