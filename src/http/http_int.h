/*
 * http_int.h - what the API files (rest.c, dicomweb.c) need from the HTTP
 * glue (server.c), the multipart parser (multipart.c) and media types
 * (mediatype.c). Private to src/http/.
 *
 * Request life cycle, driven by server.c on libmicrohttpd's callbacks:
 *   1. the headers are in: the route is found, the request's arena made,
 *      CORS and the body limit (cfg->max_body, Content-Length -> 413)
 *      checked; route->begin(req) runs;
 *   2. each chunk of the body goes to route->body(req, p, n) (never called
 *      once a response exists: the rest of the body is read and dropped);
 *   3. at the end of the body, route->end(req) runs if no response exists;
 *   4. after the response is sent, or when the client went away at any
 *      point, route->done(req) runs (it must release what begin made, e.g.
 *      abort an ingest upload), then the arena is freed and one log line
 *      "METHOD /path?query STATUS BYTES MSms" is written.
 * A handler responds exactly once, with one of the http_respond_*
 * functions, from begin, body or end; if none did by the end of step 3 the
 * client gets a 500 and the log says which route forgot.
 * HEAD is routed as GET (libmicrohttpd drops the body). OPTIONS preflight
 * is answered by server.c for every route.
 */
#ifndef PACSD_HTTP_HTTP_INT_H
#define PACSD_HTTP_HTTP_INT_H

#include "http/http.h"

#include <sys/types.h>

enum http_method {
	HTTP_GET = 1u << 0,   /* HEAD included */
	HTTP_POST = 1u << 1,
	HTTP_PUT = 1u << 2,
	HTTP_DELETE = 1u << 3,
};

#define HTTP_MAX_PARAMS 6

struct http_conn; /* server.c's private per-request state */

struct http_req {
	enum http_method method;
	const char *path;        /* percent-decoded path, without the query */
	const char *query;       /* raw query string after '?' (percent-encoded),
	                            "" when none */
	size_t query_len;
	const char *params[HTTP_MAX_PARAMS]; /* the route's {} captures, in order,
	                                        percent-decoded */
	size_t n_params;
	const char *base_url;    /* "http://Host-header" (or the listen address),
	                            no trailing slash: for RetrieveURL and
	                            BulkDataURI */
	uint64_t content_length; /* UINT64_MAX when not given (chunked) */
	const struct http_services *svc;
	pc_arena *arena;         /* per request; freed after done() */
	void *state;             /* the handler's own */
	struct http_conn *conn;  /* private to server.c */
};

struct http_route {
	unsigned methods;        /* enum http_method bits */
	/* Literal segments and captures: "{}" one segment, "{*}" (last only)
	 * the rest of the path with its slashes. "/dicom-web/studies/{}". */
	const char *pattern;
	void (*begin)(struct http_req *req);
	void (*body)(struct http_req *req, const uint8_t *p, size_t n);
	void (*end)(struct http_req *req);   /* NULL: begin always responds */
	void (*done)(struct http_req *req);  /* may be NULL */
};

/* Route tables, each ended by an entry with pattern NULL. */
extern const struct http_route http_rest_routes[];      /* rest.c */
extern const struct http_route http_dicomweb_routes[];  /* dicomweb.c */

/* ---- request (server.c) ------------------------------------------------- */

/* A request header (case-insensitive name), or NULL. Valid for the request. */
const char *http_req_header(const struct http_req *req, const char *name);

/*
 * The first query parameter `name`, percent-decoded ('+' = space) into the
 * arena; NULL when absent or malformed. For simple parameters (frame,
 * tags, window...); QIDO-RS parses req->query with qry_parse_qido().
 */
const char *http_req_query(const struct http_req *req, const char *name);

/* Arena allocation that cannot fail the request silently: NULL only on
 * out of memory, which the caller turns into a 500. */
void *http_alloc(struct http_req *req, size_t n) PC_WUR;

/* ---- responses (server.c) ----------------------------------------------- */

/* Adds a response header (both strings copied) to the coming response. */
void http_header_add(struct http_req *req, const char *name,
		     const char *value);

/* A response whose body is the contents of `body`, taken over (the buffer
 * is left empty). `ctype` NULL: no Content-Type. */
void http_respond_buf(struct http_req *req, unsigned status, const char *ctype,
		      struct pc_buf *body);
/* A response with a copy of `n` bytes at `p` (n may be 0). */
void http_respond_mem(struct http_req *req, unsigned status, const char *ctype,
		      const void *p, size_t n);
/* A JSON error {"error": "<message>"} (escaped). Statuses >= 500 also log
 * the message at error level: it must say the cause. */
void http_respond_error(struct http_req *req, unsigned status,
			const char *fmt, ...) PC_PRINTF(3, 4);
/* `n` bytes of the open file `fd` from `offset`, sent with sendfile where
 * possible. Takes `fd` (closed after sending, or now on failure). */
void http_respond_fd(struct http_req *req, unsigned status, const char *ctype,
		     int fd, uint64_t offset, uint64_t n);

/*
 * A streamed body: `read` fills `buf` with up to `max` bytes at position
 * `pos` and returns the count, HTTP_STREAM_END at the end, or
 * HTTP_STREAM_ERROR to cut the connection (log the cause first). Called on
 * a server thread after the handler returned; `free_ctx` (may be NULL) runs
 * when the response is destroyed. `size` is the total, or UINT64_MAX for
 * chunked transfer. When the client goes away, done() may run before
 * `free_ctx` (never before the last `read`): `ctx` may live in the arena,
 * which is freed after both, but `free_ctx` must not use what done()
 * released.
 */
#define HTTP_STREAM_END ((ssize_t)-1)
#define HTTP_STREAM_ERROR ((ssize_t)-2)
typedef ssize_t (*http_stream_fn)(void *ctx, uint64_t pos, char *buf,
				  size_t max);
void http_respond_stream(struct http_req *req, unsigned status,
			 const char *ctype, uint64_t size, http_stream_fn read,
			 void *ctx, void (*free_ctx)(void *ctx));

/* Whether the request has a response already. */
bool http_responded(const struct http_req *req);

/* Appends `n` bytes of `s` as a quoted JSON string: quotes, backslashes and
 * control characters escaped, invalid UTF-8 replaced by U+FFFD. */
void http_json_escape(struct pc_buf *out, const char *s, size_t n);

/* ---- media types (mediatype.c) ------------------------------------------ */

#define HTTP_MEDIATYPE_PARAMS 8

struct http_mediatype {
	const char *type;        /* "multipart/related", lower-cased */
	struct {
		const char *name;    /* lower-cased */
		const char *value;   /* unquoted, unescaped, case kept */
	} params[HTTP_MEDIATYPE_PARAMS];
	size_t n_params;
	double q;                /* Accept weight, 1.0 unless given */
};

/*
 * Parses one media type with parameters, quoted or not
 * (`multipart/related; type="application/dicom"; boundary=x`), strings in
 * `arena`. PC_INVAL for a malformed one (no '/', bad quoting, too many
 * parameters).
 */
enum pc_status http_mediatype_parse(pc_arena *arena, const char *s, size_t n,
				    struct http_mediatype *out,
				    struct pc_err *err) PC_WUR;
/*
 * Parses an Accept header (comma-separated media ranges, commas inside
 * quotes kept) into an array sorted by q descending, stable for equal q.
 * Entries with q=0 are kept (they exclude). An absent or empty header gives
 * one entry "*\/\*". PC_INVAL when malformed.
 */
enum pc_status http_accept_parse(pc_arena *arena, const char *s,
				 struct http_mediatype **out, size_t *n,
				 struct pc_err *err) PC_WUR;
/* Value of parameter `name` (case-insensitive), or NULL. */
const char *http_mediatype_param(const struct http_mediatype *m,
				 const char *name);
/* Whether a media range ("image/\*", "\*\/\*", "application/dicom") covers
 * the concrete type `type`. */
bool http_mediatype_covers(const struct http_mediatype *range,
			   const char *type);

/* ---- multipart bodies (multipart.c) ------------------------------------- */

/* Headers of one part; strings valid until the part's end callback. */
struct http_part {
	const char *content_type;     /* "" when absent */
	const char *disposition_name; /* Content-Disposition name="", or "" */
	const char *filename;         /* filename="", or "" */
	const char *content_location; /* "" when absent */
};

struct http_multipart_cbs {
	/* Any status but PC_OK stops the parse; feed() returns it. */
	enum pc_status (*part_begin)(void *ctx, const struct http_part *part);
	enum pc_status (*part_data)(void *ctx, const uint8_t *p, size_t n);
	enum pc_status (*part_end)(void *ctx);
};

struct http_multipart_limits {
	size_t max_header_bytes;  /* per part; default 16 KiB */
	size_t max_parts;         /* default 100000 */
};

typedef struct http_multipart http_multipart;

/*
 * A streaming parser of multipart bodies (RFC 2046 5.1, RFC 2387; form-data
 * RFC 7578): bytes go in as they arrive in chunks of any size, part data
 * comes out through the callbacks without being held (only a boundary's
 * length is kept back between chunks). `boundary` is the Content-Type's
 * boundary parameter (1-70 characters). `limits` may be NULL.
 */
http_multipart *http_multipart_create(const char *boundary,
				      const struct http_multipart_cbs *cbs,
				      void *ctx,
				      const struct http_multipart_limits *limits,
				      struct pc_err *err) PC_WUR;
/* Feeds bytes. PC_PARSE (malformed: no boundary line first, bad header
 * line), PC_LIMIT (limits), or a callback's status. Sticky. */
enum pc_status http_multipart_feed(http_multipart *m, const uint8_t *p,
				   size_t n, struct pc_err *err) PC_WUR;
/* End of input: PC_TRUNC unless the closing boundary was seen. */
enum pc_status http_multipart_finish(http_multipart *m,
				     struct pc_err *err) PC_WUR;
/* Parts completed so far. */
size_t http_multipart_count(const http_multipart *m);
void http_multipart_destroy(http_multipart *m);

#endif
