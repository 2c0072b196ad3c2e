/*
 * server.c - the HTTP glue of `pacsd serve` on libmicrohttpd: listening,
 * routing, the request life cycle of http_int.h, responses, CORS, body
 * limits, one log line per request and the graceful stop.
 *
 * DESIGN
 *
 * Threading. MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION
 * | MHD_USE_POLL: one thread accepts, each connection gets its own thread
 * for its whole life. Handlers block: an upload waits for its sync and
 * the SQLite writer, a render decodes a frame. In MHD's thread-pool
 * mode every pool thread multiplexes many connections, so one blocked
 * handler stalls the unrelated connections that happen to share its thread;
 * with a thread per connection a slow request delays nobody but its own
 * client, and 8 concurrent uploads are 8 threads blocking independently in
 * fsync. The cost (a thread and its stack per open connection) is bounded
 * by CONN_LIMIT; poll() instead of select() lifts the FD_SETSIZE cap.
 * Measured on a shared 2-core machine (load ~6, so rough): /health 13-25k
 * req/s with 1 or 8 keep-alive clients in both models; uploads of distinct
 * CT_small instances (curl, keep-alive) 70-100/s with 1 client, 270-400/s
 * with 8 here against 160-280/s with a pool of 8 epoll threads, where
 * clients that land on the same pool thread wait for each other's fsync.
 * A 200 MB upload streams at ~480 MB/s with a 14 MB peak RSS.
 *
 * Request state. MHD's URI log callback runs first for every request and
 * gets the raw URI (path and query still percent-encoded): it creates the
 * struct http_conn and MHD then guarantees the completed callback for it.
 * The access handler is called (1) once the headers are in, (2) once per
 * body chunk, (3) once at the end of the body; the completed callback (4)
 * after the response went out or the connection died. These map onto the
 * route's begin/body/end/done.
 *
 * Responses. MHD accepts a response only in (1) or (3), and one queued in
 * (1) makes MHD close the connection afterwards (it will not read what
 * follows). So a response made in (1) is queued in (3) when there is no
 * body (keep-alive survives), queued at once for a large or announced
 * (Expect: 100-continue) body, which MHD then never reads. For a small body
 * (<= EARLY_DRAIN) the response waits until the body was read and dropped,
 * so that the client, which may be sending it already, reads the answer
 * instead of a connection reset. A response made in (2) waits for (3);
 * meanwhile at most DRAIN_MAX more body bytes are read and dropped before
 * the connection is cut.
 *
 * Lifetimes. The arena and the http_conn live until the completed callback
 * ran AND a streamed response's free callback ran (a reference count):
 * MHD destroys a response after the completed callback on some paths
 * (client gone), so a stream context allocated in the arena stays valid
 * until its free_ctx. Consequence for handlers: done() may run before a
 * stream's free_ctx; free_ctx must not use what done() released (the
 * stream's read is never called after done()).
 *
 * CORS (Fetch standard, "CORS protocol"). An Origin listed in
 * cfg->cors_origins ("*" allows any) gets Access-Control-Allow-Origin
 * (the origin echoed, or "*"), Vary: Origin and Access-Control-Expose-
 * Headers: ETag, Warning, Content-Location, Location, Content-Disposition
 * (what DICOMweb clients read: entity tags, QIDO's truncation Warning,
 * STOW's locations, download names). OPTIONS on any routed path is the
 * preflight: 204 with Allow and, for an allowed origin, Allow-Methods,
 * Allow-Headers (the requested ones) and Max-Age 600.
 */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_LIMIT 256    /* open connections (= threads) */
#define CONN_TIMEOUT_S 60 /* idle connection timeout */
/* MHD's per-connection pool holds the headers and the read buffer: a
 * larger one hands the body over in larger chunks (fewer write calls). */
#define CONN_MEMORY (256u * 1024u)
#define STREAM_BLOCK (256u * 1024u) /* streamed responses' block size */
#define EARLY_DRAIN (1u << 20)      /* see "Responses" above */
#define DRAIN_MAX (64u << 20)
#define ARENA_CHUNK 4096
#define MAX_SEGMENTS 64 /* path segments matched */
#define LOG_URI_MAX 400 /* characters of path?query logged */
#define CORS_MAX_AGE "600"
#define CORS_EXPOSE                                                            \
	"ETag, Warning, Content-Location, Location, Content-Disposition"

struct http_server {
	struct http_services svc;
	struct MHD_Daemon *daemon;
	char listen_url[128]; /* "http://127.0.0.1:8080" */
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when inflight drops to 0 */
	unsigned inflight;   /* requests between URI log and free */
};

/* A response header waiting for the response. */
struct hdr {
	struct hdr *next;
	const char *name;
	const char *value;
};

struct http_conn {
	struct http_server *srv;
	struct MHD_Connection *mc;
	struct http_req req;
	const struct http_route *route;
	char *uri;          /* raw request target, owned */
	const char *method; /* as sent ("HEAD") */
	struct timespec t0;
	atomic_int refs;           /* completed callback + stream */
	bool started;              /* the access handler saw the headers */
	bool begun;                /* route->begin ran: done() is owed */
	bool ended;                /* the end of the body was seen */
	bool queued;               /* the response went to MHD */
	bool closed;               /* we cut the connection */
	struct MHD_Response *resp; /* made, not queued yet */
	unsigned status;
	uint64_t resp_bytes;  /* body bytes of the response */
	uint64_t body_bytes;  /* request body bytes received */
	uint64_t drained;     /* ... of which dropped after a response */
	struct hdr *hdrs;     /* headers added before the response */
	http_stream_fn sread; /* streamed response */
	void *sctx;
	void (*sfree)(void *ctx);
};

/* ---- small helpers ------------------------------------------------------ */

static double ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Length of the UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		cp = s[0] & 0x1Fu;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		cp = s[0] & 0x0Fu;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

void http_json_escape(struct pc_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	pc_buf_putc(out, '"');
	while (i < n) {
		size_t run = i;
		/* Copy the run that needs no escaping in one append. */
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		       p[run] != '"' && p[run] != '\\')
			run++;
		pc_buf_append(out, p + i, run - i);
		i = run;
		if (i == n)
			break;
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			pc_buf_putc(out, '\\');
			pc_buf_putc(out, (char)c);
			i++;
		} else if (c == '\n') {
			pc_buf_puts(out, "\\n");
			i++;
		} else if (c == '\r') {
			pc_buf_puts(out, "\\r");
			i++;
		} else if (c == '\t') {
			pc_buf_puts(out, "\\t");
			i++;
		} else if (c < 0x20) {
			pc_buf_printf(out, "\\u%04x", c);
			i++;
		} else {
			size_t len = utf8_len(p + i, n - i);
			if (len == 0) {
				/* Not UTF-8: U+FFFD keeps the JSON valid. */
				pc_buf_puts(out, "\xEF\xBF\xBD");
				i++;
			} else {
				pc_buf_append(out, p + i, len);
				i += len;
			}
		}
	}
	pc_buf_putc(out, '"');
}

/* Percent-decodes into the arena; NULL on a malformed escape or OOM. */
static const char *arena_decode(pc_arena *a, const char *s, size_t n, bool form)
{
	struct pc_buf b = PC_BUF_INIT;
	const char *out = NULL;

	if (pc_url_decode(s, n, form, &b, NULL) == PC_OK)
		out = pc_arena_strndup(a, pc_buf_str(&b), b.n);
	pc_buf_cleanup(&b);
	return out;
}

/* ---- reference counting ------------------------------------------------- */

static void conn_unref(struct http_conn *c)
{
	struct http_server *srv = c->srv;

	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	pc_arena_destroy(c->req.arena);
	pc_free(c->uri);
	pc_free(c);
	pthread_mutex_lock(&srv->lock);
	if (--srv->inflight == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
}

/* ---- request accessors -------------------------------------------------- */

const char *http_req_header(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn->mc, MHD_HEADER_KIND,
	                                   name);
}

const char *http_req_query(const struct http_req *req, const char *name)
{
	struct pc_qs it = pc_qs_make(req->query, req->query_len);
	struct pc_span k, v;
	size_t nlen = strlen(name);

	while (pc_qs_next(&it, &k, &v)) {
		/* Names are compared decoded; most are plain already. */
		if (memchr(k.p, '%', k.n) != NULL ||
		    memchr(k.p, '+', k.n) != NULL) {
			const char *dk = arena_decode(
			    req->arena, (const char *)k.p, k.n, true);
			if (dk == NULL || strcmp(dk, name) != 0)
				continue;
		} else if (k.n != nlen || memcmp(k.p, name, nlen) != 0) {
			continue;
		}
		return arena_decode(req->arena, (const char *)v.p, v.n, true);
	}
	return NULL;
}

void *http_alloc(struct http_req *req, size_t n)
{
	return pc_arena_alloc(req->arena, n);
}

bool http_responded(const struct http_req *req)
{
	return req->conn->resp != NULL || req->conn->queued;
}

/* ---- responses ---------------------------------------------------------- */

/* The allowed origin to answer with, or NULL. */
static const char *cors_origin(const struct http_conn *c)
{
	const struct pc_config *cfg = c->srv->svc.cfg;
	const char *origin;

	if (cfg->n_cors_origins == 0)
		return NULL;
	origin = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, "Origin");
	if (origin == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_cors_origins; i++) {
		if (strcmp(cfg->cors_origins[i], "*") == 0)
			return "*";
		if (strcmp(cfg->cors_origins[i], origin) == 0)
			return origin;
	}
	return NULL;
}

/* Adds the pending headers, the type and CORS, and keeps the response. */
static void set_response(struct http_conn *c, unsigned status,
                         const char *ctype, struct MHD_Response *r)
{
	const char *origin;

	for (const struct hdr *h = c->hdrs; h != NULL; h = h->next)
		MHD_add_response_header(r, h->name, h->value);
	c->hdrs = NULL;
	if (ctype != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	origin = cors_origin(c);
	if (origin != NULL) {
		MHD_add_response_header(r, "Access-Control-Allow-Origin",
		                        origin);
		MHD_add_response_header(r, "Access-Control-Expose-Headers",
		                        CORS_EXPOSE);
	}
	if (c->srv->svc.cfg->n_cors_origins > 0)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
	c->resp = r;
	c->status = status;
}

/* Whether a handler may respond now; logs a second response. */
static bool can_respond(struct http_conn *c)
{
	if (c->resp == NULL && !c->queued)
		return true;
	pc_log(PC_LOG_ERROR, "%s %s: a handler responded twice (kept %u)",
	       c->method, c->req.path != NULL ? c->req.path : "?", c->status);
	return false;
}

/* Out of memory while making a response: the connection is cut. */
static void respond_failed(struct http_conn *c, const char *what)
{
	pc_log(PC_LOG_ERROR, "%s %s: cannot create the %s response", c->method,
	       c->req.path != NULL ? c->req.path : "?", what);
	c->closed = true;
}

void http_header_add(struct http_req *req, const char *name, const char *value)
{
	struct http_conn *c = req->conn;
	struct hdr *h;

	if (c->queued)
		return;
	if (c->resp != NULL) {
		MHD_add_response_header(c->resp, name, value);
		return;
	}
	h = pc_arena_alloc(req->arena, sizeof(*h));
	if (h == NULL)
		return;
	h->name = pc_arena_strndup(req->arena, name, strlen(name));
	h->value = pc_arena_strndup(req->arena, value, strlen(value));
	if (h->name == NULL || h->value == NULL)
		return;
	/* Keep the order they were added in. */
	h->next = NULL;
	struct hdr **tail = &c->hdrs;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = h;
}

void http_respond_buf(struct http_req *req, unsigned status, const char *ctype,
                      struct pc_buf *body)
{
	struct http_conn *c = req->conn;
	struct MHD_Response *r;
	size_t n = 0;
	char *p;

	if (!can_respond(c)) {
		pc_buf_cleanup(body);
		return;
	}
	p = pc_buf_steal(body, &n);
	if (p == NULL || n == 0) {
		pc_free(p);
		r = MHD_create_response_from_buffer(0, NULL,
		                                    MHD_RESPMEM_PERSISTENT);
	} else {
		r = MHD_create_response_from_buffer_with_free_callback(n, p,
		                                                       pc_free);
		if (r == NULL)
			pc_free(p);
	}
	if (r == NULL) {
		respond_failed(c, "buffer");
		return;
	}
	c->resp_bytes = n;
	set_response(c, status, ctype, r);
}

void http_respond_mem(struct http_req *req, unsigned status, const char *ctype,
                      const void *p, size_t n)
{
	struct http_conn *c = req->conn;
	struct MHD_Response *r;

	if (!can_respond(c))
		return;
	r = MHD_create_response_from_buffer(n, n > 0 ? (void *)p : NULL,
	                                    n > 0 ? MHD_RESPMEM_MUST_COPY
	                                          : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		respond_failed(c, "memory");
		return;
	}
	c->resp_bytes = n;
	set_response(c, status, ctype, r);
}

void http_respond_error(struct http_req *req, unsigned status, const char *fmt,
                        ...)
{
	struct pc_buf body = PC_BUF_INIT;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status >= 500)
		pc_log(PC_LOG_ERROR, "%s %s: %u %s", req->conn->method,
		       req->path != NULL ? req->path : "?", status, msg);
	pc_buf_puts(&body, "{\"error\": ");
	http_json_escape(&body, msg, strlen(msg));
	pc_buf_putc(&body, '}');
	if (pc_buf_status(&body) != PC_OK) {
		pc_buf_cleanup(&body);
		http_respond_mem(req, status, "application/json", "{}", 2);
		return;
	}
	http_respond_buf(req, status, "application/json", &body);
}

void http_respond_fd(struct http_req *req, unsigned status, const char *ctype,
                     int fd, uint64_t offset, uint64_t n)
{
	struct http_conn *c = req->conn;
	struct MHD_Response *r;

	if (!can_respond(c)) {
		close(fd);
		return;
	}
	/* MHD sends it with sendfile(2) and closes fd with the response. */
	r = MHD_create_response_from_fd_at_offset64(n, fd, offset);
	if (r == NULL) {
		close(fd);
		respond_failed(c, "file");
		return;
	}
	c->resp_bytes = n;
	set_response(c, status, ctype, r);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_conn *c = cls;
	ssize_t got = c->sread(c->sctx, pos, buf, max);

	if (got == HTTP_STREAM_END || got == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (got < 0 || (size_t)got > max)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	c->resp_bytes += (uint64_t)got;
	return got;
}

static void stream_free(void *cls)
{
	struct http_conn *c = cls;

	if (c->sfree != NULL)
		c->sfree(c->sctx);
	conn_unref(c);
}

void http_respond_stream(struct http_req *req, unsigned status,
                         const char *ctype, uint64_t size, http_stream_fn read,
                         void *ctx, void (*free_ctx)(void *ctx))
{
	struct http_conn *c = req->conn;
	struct MHD_Response *r;

	if (!can_respond(c)) {
		if (free_ctx != NULL)
			free_ctx(ctx);
		return;
	}
	c->sread = read;
	c->sctx = ctx;
	c->sfree = free_ctx;
	atomic_fetch_add(&c->refs, 1);
	r = MHD_create_response_from_callback(
	    size == UINT64_MAX ? MHD_SIZE_UNKNOWN : size, STREAM_BLOCK,
	    stream_read, c, stream_free);
	if (r == NULL) {
		stream_free(c);
		respond_failed(c, "streamed");
		return;
	}
	c->resp_bytes = 0;
	set_response(c, status, ctype, r);
}

/* ---- routing ------------------------------------------------------------ */

struct path_segs {
	size_t n;
	const char *raw[MAX_SEGMENTS]; /* start of each raw segment */
	size_t raw_len[MAX_SEGMENTS];
	const char *dec[MAX_SEGMENTS]; /* decoded, in the arena */
	const char *raw_end;
};

/* Splits the raw path "/a/b%20c" into segments and decodes each. False
 * for a malformed escape or too many segments. */
static bool split_path(pc_arena *a, const char *raw, size_t n,
                       struct path_segs *s)
{
	const char *p = raw + 1, *end = raw + n;

	s->n = 0;
	s->raw_end = end;
	while (true) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *stop = slash != NULL ? slash : end;
		if (s->n == MAX_SEGMENTS)
			return false;
		s->raw[s->n] = p;
		s->raw_len[s->n] = (size_t)(stop - p);
		s->dec[s->n] = arena_decode(a, p, (size_t)(stop - p), false);
		if (s->dec[s->n] == NULL)
			return false;
		s->n++;
		if (slash == NULL)
			return true;
		p = slash + 1;
	}
}

/*
 * Whether `pattern` matches; with `req`, the captures are stored in it.
 */
static bool route_match(const char *pattern, const struct path_segs *s,
                        struct http_req *req)
{
	const char *p = pattern + 1;
	size_t i = 0, np = 0;

	for (;; i++) {
		const char *slash = strchr(p, '/');
		size_t plen = slash != NULL ? (size_t)(slash - p) : strlen(p);

		if (plen == 3 && memcmp(p, "{*}", 3) == 0) {
			/* The rest, slashes included (may be empty). */
			if (i >= s->n)
				return false;
			if (req != NULL) {
				const char *v = arena_decode(
				    req->arena, s->raw[i],
				    (size_t)(s->raw_end - s->raw[i]), false);
				if (v == NULL || np == HTTP_MAX_PARAMS)
					return false;
				req->params[np++] = v;
				req->n_params = np;
			}
			return true;
		}
		if (i >= s->n)
			return false;
		if (plen == 2 && memcmp(p, "{}", 2) == 0) {
			if (s->dec[i][0] == '\0')
				return false;
			if (req != NULL) {
				if (np == HTTP_MAX_PARAMS)
					return false;
				req->params[np++] = s->dec[i];
			}
		} else if (strlen(s->dec[i]) != plen ||
		           memcmp(s->dec[i], p, plen) != 0) {
			return false;
		}
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	if (i + 1 != s->n)
		return false;
	if (req != NULL)
		req->n_params = np;
	return true;
}

static const struct http_route *const route_tables[] = {
    http_rest_routes,
    http_dicomweb_routes,
};

/*
 * Finds the route for the path and method. *allowed receives the methods
 * any route of this path takes (0: no such path).
 */
static const struct http_route *route_find(const struct path_segs *s,
                                           unsigned method, unsigned *allowed)
{
	const struct http_route *found = NULL;

	*allowed = 0;
	for (size_t t = 0; t < sizeof(route_tables) / sizeof(route_tables[0]);
	     t++) {
		for (const struct http_route *r = route_tables[t];
		     r->pattern != NULL; r++) {
			if (!route_match(r->pattern, s, NULL))
				continue;
			*allowed |= r->methods;
			if (found == NULL && (r->methods & method) != 0)
				found = r;
		}
	}
	return found;
}

/* "GET, HEAD, POST, OPTIONS" for a method set. */
static void allow_list(unsigned m, char *out, size_t n)
{
	static const struct {
		unsigned bit;
		const char *names;
	} names[] = {
	    {HTTP_GET, "GET, HEAD"},
	    {HTTP_POST, "POST"},
	    {HTTP_PUT, "PUT"},
	    {HTTP_DELETE, "DELETE"},
	};
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((m & names[i].bit) != 0)
			len += (size_t)snprintf(out + len, n - len, "%s, ",
			                        names[i].names);
	snprintf(out + len, n - len, "OPTIONS");
}

/* ---- the request life cycle --------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	struct http_server *srv = cls;
	struct http_conn *c = pc_calloc(1, sizeof(*c));

	(void)mc;
	if (c == NULL)
		return NULL;
	c->uri = pc_strdup(uri != NULL ? uri : "");
	c->req.arena = pc_arena_create(ARENA_CHUNK);
	if (c->uri == NULL || c->req.arena == NULL) {
		pc_arena_destroy(c->req.arena);
		pc_free(c->uri);
		pc_free(c);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	c->srv = srv;
	c->method = "?";
	c->req.svc = &srv->svc;
	c->req.conn = c;
	c->req.query = "";
	c->req.content_length = UINT64_MAX;
	atomic_init(&c->refs, 1);
	pthread_mutex_lock(&srv->lock);
	srv->inflight++;
	pthread_mutex_unlock(&srv->lock);
	return c;
}

/* Queues the response made; false when MHD refused it. */
static bool queue(struct http_conn *c)
{
	enum MHD_Result ok;

	if (c->resp == NULL)
		return false;
	ok = MHD_queue_response(c->mc, c->status, c->resp);
	MHD_destroy_response(c->resp);
	c->resp = NULL;
	c->queued = ok == MHD_YES;
	if (!c->queued)
		pc_log(PC_LOG_ERROR,
		       "%s %s: libmicrohttpd refused the %u "
		       "response",
		       c->method, c->req.path, c->status);
	return c->queued;
}

/* The Host header when it is a plausible host[:port], else NULL. */
static const char *host_header(struct http_conn *c)
{
	const char *h = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND,
	                                            MHD_HTTP_HEADER_HOST);
	size_t n;

	if (h == NULL)
		return NULL;
	n = strlen(h);
	if (n == 0 || n > 255)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z') || strchr(".-_:[]", ch)))
			return NULL;
	}
	return h;
}

static unsigned method_bit(const char *m, bool *options)
{
	*options = false;
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		return HTTP_GET;
	if (strcmp(m, "POST") == 0)
		return HTTP_POST;
	if (strcmp(m, "PUT") == 0)
		return HTTP_PUT;
	if (strcmp(m, "DELETE") == 0)
		return HTTP_DELETE;
	if (strcmp(m, "OPTIONS") == 0)
		*options = true;
	return 0;
}

/* OPTIONS on a routed path: the CORS preflight (or a plain 204). */
static void preflight(struct http_conn *c, const char *allow)
{
	struct http_req *req = &c->req;
	const char *origin = cors_origin(c);

	http_header_add(req, "Allow", allow);
	if (origin != NULL) {
		const char *want = MHD_lookup_connection_value(
		    c->mc, MHD_HEADER_KIND, "Access-Control-Request-Headers");
		bool ok = want != NULL && strlen(want) < 1024;
		for (const char *p = want; ok && *p != '\0'; p++)
			ok = (*p >= 'a' && *p <= 'z') ||
			     (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') ||
			     strchr("-_, ", *p) != NULL;
		http_header_add(req, "Access-Control-Allow-Methods", allow);
		http_header_add(req, "Access-Control-Allow-Headers",
		                ok ? want
		                   : "Accept, Content-Type, Authorization");
		http_header_add(req, "Access-Control-Max-Age", CORS_MAX_AGE);
	}
	http_respond_mem(req, 204, NULL, NULL, 0);
}

/* Step 1: the headers are in. */
static enum MHD_Result start(struct http_conn *c, const char *method)
{
	struct http_server *srv = c->srv;
	struct http_req *req = &c->req;
	const struct pc_config *cfg = srv->svc.cfg;
	struct path_segs *segs;
	const char *raw = c->uri, *q, *v, *host;
	size_t path_len;
	unsigned allowed = 0, bit;
	bool options, has_body;

	c->started = true;
	c->method = method;
	bit = method_bit(method, &options);
	req->method = (enum http_method)bit;

	/* The request target: origin-form "/path?query" (RFC 9112 3.2.1), or
	 * absolute-form "http://host/path?query" (3.2.2), which servers must
	 * accept: its path is used. */
	if (strncasecmp(raw, "http://", 7) == 0 ||
	    strncasecmp(raw, "https://", 8) == 0) {
		const char *auth = strstr(raw, "//") + 2;
		const char *slash = strpbrk(auth, "/?");
		raw = slash != NULL && *slash == '/' ? slash : "/";
	}
	q = strchr(raw, '?');
	path_len = q != NULL ? (size_t)(q - raw) : strlen(raw);
	if (q != NULL) {
		const char *hash = strchr(q + 1, '#');
		req->query = q + 1;
		req->query_len =
		    hash != NULL ? (size_t)(hash - (q + 1)) : strlen(q + 1);
	}
	req->path = arena_decode(req->arena, raw, path_len, false);
	if (raw[0] != '/' || req->path == NULL) {
		if (req->path == NULL)
			req->path = "?";
		http_respond_error(req, 400, "Malformed request target.");
		goto respond;
	}

	v = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND,
	                                MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v != NULL && MHD_lookup_connection_value(
	                     c->mc, MHD_HEADER_KIND,
	                     MHD_HTTP_HEADER_TRANSFER_ENCODING) == NULL) {
		char *endp;
		errno = 0;
		unsigned long long cl = strtoull(v, &endp, 10);
		if (errno == 0 && endp != v && *endp == '\0' && v[0] != '-')
			req->content_length = cl;
	}

	host = host_header(c);
	if (host != NULL) {
		char *b = pc_arena_alloc(req->arena, strlen(host) + 8);
		if (b != NULL)
			snprintf(b, strlen(host) + 8, "http://%s", host);
		req->base_url = b != NULL ? b : srv->listen_url;
	} else {
		req->base_url = srv->listen_url;
	}

	segs = pc_arena_alloc(req->arena, sizeof(*segs));
	if (segs == NULL) {
		http_respond_error(req, 500, "Out of memory.");
		goto respond;
	}
	if (!split_path(req->arena, raw, path_len, segs)) {
		http_respond_error(req, 404, "Not found.");
		goto respond;
	}
	c->route = route_find(segs, bit, &allowed);
	if (allowed == 0) {
		c->route = NULL;
		http_respond_error(req, 404, "Not found.");
		goto respond;
	}
	if (options || c->route == NULL) {
		char allow[64];
		allow_list(allowed, allow, sizeof(allow));
		c->route = NULL;
		if (options) {
			preflight(c, allow);
		} else {
			http_header_add(req, "Allow", allow);
			http_respond_error(req, 405, "Method not allowed.");
		}
		goto respond;
	}
	if (!route_match(c->route->pattern, segs, req)) {
		/* Only an out-of-memory can make the capture fail. */
		c->route = NULL;
		http_respond_error(req, 500, "Out of memory.");
		goto respond;
	}
	if (req->content_length != UINT64_MAX &&
	    req->content_length > cfg->max_body) {
		c->route = NULL;
		http_respond_error(req, 413,
		                   "Request body too large (limit %llu bytes).",
		                   (unsigned long long)cfg->max_body);
		goto respond;
	}
	c->begun = true;
	c->route->begin(req);
	if (!http_responded(req) && !c->closed)
		return MHD_YES;

respond:
	if (c->closed)
		return MHD_NO;
	/* See "Responses" in the file comment. */
	has_body = req->content_length != 0 &&
	           (req->content_length != UINT64_MAX ||
	            MHD_lookup_connection_value(
	                c->mc, MHD_HEADER_KIND,
	                MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL);
	if (!has_body)
		return MHD_YES; /* answered on the next call: keeps alive */
	if (req->content_length <= EARLY_DRAIN &&
	    MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND,
	                                MHD_HTTP_HEADER_EXPECT) == NULL)
		return MHD_YES; /* read and drop the body, then answer */
	return queue(c) ? MHD_YES : MHD_NO;
}

/* Step 2: a chunk of the body. */
static enum MHD_Result body_chunk(struct http_conn *c, const char *p, size_t n)
{
	struct http_req *req = &c->req;
	uint64_t max = c->srv->svc.cfg->max_body;

	c->body_bytes += n;
	if (c->body_bytes > max && !http_responded(req))
		http_respond_error(req, 413,
		                   "Request body too large (limit %llu bytes).",
		                   (unsigned long long)max);
	if (c->closed)
		return MHD_NO;
	if (http_responded(req)) {
		c->drained += n;
		if (c->drained > DRAIN_MAX) {
			c->closed = true;
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (c->route != NULL && c->route->body != NULL)
		c->route->body(req, (const uint8_t *)p, n);
	return c->closed ? MHD_NO : MHD_YES;
}

/* Step 3: the body is complete. */
static enum MHD_Result finish(struct http_conn *c)
{
	struct http_req *req = &c->req;

	if (c->queued)
		return MHD_YES;
	if (!c->ended) {
		c->ended = true;
		if (!http_responded(req) && c->route != NULL &&
		    c->route->end != NULL)
			c->route->end(req);
		if (!http_responded(req) && !c->closed)
			http_respond_error(
			    req, 500, "The handler of %s did not respond.",
			    c->route != NULL ? c->route->pattern : "?");
	}
	if (c->closed)
		return MHD_NO;
	return queue(c) ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct http_conn *c = *con_cls;

	(void)cls;
	(void)url;
	(void)version;
	if (c == NULL)
		return MHD_NO; /* on_uri ran out of memory */
	c->mc = mc;
	if (!c->started)
		return start(c, method);
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		return body_chunk(c, upload_data, n);
	}
	return finish(c);
}

/* Writes "path?query" for the log: truncated, control bytes as '?'. */
static void log_uri(const char *uri, char *out, size_t n)
{
	size_t i = 0, len = strlen(uri);

	for (; i < len && i + 1 < n && i < LOG_URI_MAX; i++) {
		unsigned char ch = (unsigned char)uri[i];
		out[i] = (ch < 0x20 || ch >= 0x7F) ? '?' : (char)ch;
	}
	out[i] = '\0';
	if (i < len && n > 4)
		memcpy(out + (i > n - 4 ? n - 4 : i), "...", 4);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	static const char *const why[] = {
	    [MHD_REQUEST_TERMINATED_COMPLETED_OK] = "",
	    [MHD_REQUEST_TERMINATED_WITH_ERROR] = " (connection error)",
	    [MHD_REQUEST_TERMINATED_TIMEOUT_REACHED] = " (timed out)",
	    [MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN] = " (server stopping)",
	    [MHD_REQUEST_TERMINATED_READ_ERROR] = " (client went away)",
	    [MHD_REQUEST_TERMINATED_CLIENT_ABORT] = " (client went away)",
	};
	struct http_conn *c = *con_cls;
	char uri[LOG_URI_MAX + 8];
	const char *reason = "";

	(void)cls;
	(void)mc;
	if (c == NULL)
		return;
	*con_cls = NULL;
	if (c->begun && c->route != NULL && c->route->done != NULL)
		c->route->done(&c->req);
	if (c->resp != NULL) {
		/* Made but never queued (the connection died first). */
		MHD_destroy_response(c->resp);
		c->resp = NULL;
	}
	if ((unsigned)toe < sizeof(why) / sizeof(why[0]) && why[toe] != NULL)
		reason = why[toe];
	if (c->closed && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		reason = " (connection cut)";
	log_uri(c->uri, uri, sizeof(uri));
	pc_log(PC_LOG_INFO, "%s %s %u %llu %.1fms%s",
	       c->started ? c->method : "-", uri, c->status,
	       (unsigned long long)c->resp_bytes, ms_since(&c->t0), reason);
	conn_unref(c);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) PC_PRINTF(2, 0);
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	pc_log(PC_LOG_WARN, "libmicrohttpd: %s", msg);
}

/* ---- start and stop ----------------------------------------------------- */

/* Binds and listens on cfg->http; the socket, or -1 with the cause. */
static int open_listener(const struct pc_config_addr *a, char *url,
                         size_t url_size, struct pc_err *err)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	int fd = -1, rc, saved = 0;
	const char *host =
	    a->host != NULL && a->host[0] != '\0' ? a->host : NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)a->port);
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		pc_err_set(err, PC_IO, 0, "cannot listen on %s:%u: %s",
		           host != NULL ? host : "*", (unsigned)a->port,
		           gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int one = 1;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		/* Restart without waiting for TIME_WAIT to pass. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 128) == 0) {
			bool v6 = ai->ai_family == AF_INET6;
			snprintf(url, url_size, "http://%s%s%s:%u",
			         v6 ? "[" : "",
			         host != NULL ? host : "localhost",
			         v6 ? "]" : "", (unsigned)a->port);
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		pc_err_set(err, PC_IO, 0, "cannot listen on %s%s%s:%u: %s",
		           host != NULL && strchr(host, ':') ? "[" : "",
		           host != NULL ? host : "*",
		           host != NULL && strchr(host, ':') ? "]" : "",
		           (unsigned)a->port, strerror(saved));
	return fd;
}

http_server *http_server_start(const struct http_services *svc,
                               struct pc_err *err)
{
	struct http_server *srv;
	pthread_condattr_t ca;
	int fd;

	srv = pc_calloc(1, sizeof(*srv));
	if (srv == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	srv->svc = *svc;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->idle, &ca);
	pthread_condattr_destroy(&ca);

	fd = open_listener(&svc->cfg->http, srv->listen_url,
	                   sizeof(srv->listen_url), err);
	if (fd < 0)
		goto fail;
	srv->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	        MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
	    MHD_OPTION_END);
	if (srv->daemon == NULL) {
		close(fd);
		pc_err_set(err, PC_IO, 0,
		           "cannot start the HTTP server on %s (libmicrohttpd "
		           "refused its options)",
		           srv->listen_url);
		goto fail;
	}
	return srv;
fail:
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->lock);
	pc_free(srv);
	return NULL;
}

void http_server_stop(http_server *srv, unsigned grace_ms)
{
	struct timespec deadline;
	MHD_socket lfd;
	unsigned left;

	if (srv == NULL)
		return;
	/* Stop accepting; connections already open are still served. */
	lfd = MHD_quiesce_daemon(srv->daemon);
	/* MHD leaves the socket listening (connections would queue in the
	 * backlog and hang until the stop); it may not be closed before
	 * MHD_stop_daemon, but shutdown(2) of a listening socket makes Linux
	 * refuse new connections while the descriptor stays valid. */
	if (lfd != MHD_INVALID_SOCKET)
		shutdown(lfd, SHUT_RDWR);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += grace_ms / 1000;
	deadline.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&srv->lock);
	while (srv->inflight > 0)
		if (pthread_cond_timedwait(&srv->idle, &srv->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	left = srv->inflight;
	pthread_mutex_unlock(&srv->lock);
	if (left > 0)
		pc_log(PC_LOG_WARN,
		       "closing %u request(s) still in flight "
		       "after %u ms",
		       left, grace_ms);
	MHD_stop_daemon(srv->daemon);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->lock);
	pc_free(srv);
}
