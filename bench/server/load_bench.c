/*
 * load_bench.c - the HTTP load driver of bench/server: the same client,
 * byte for byte, against pacsd and against Orthanc.
 *
 * usage: load_bench stow --port P [--host H] [--clients C] [--warmup W]
 *                        [--path /dicom-web/studies] LISTFILE
 *        load_bench get  --port P [--host H] [--clients C] [--repeat R]
 *                        [--warmup W] [--accept TYPE]
 *                        [--expect png|dicom|json] LISTFILE
 *
 * stow: LISTFILE names one DICOM file a line. C client threads share the
 * list; each POSTs one instance per request as a STOW-RS request
 * (PS3.18 10.5: multipart/related; type="application/dicom") to --path
 * (default /dicom-web/studies), on its own keep-alive connection. Only 200
 * counts as stored (202 means some instance failed, PS3.18 10.5.3). The
 * first W files (default 0) are stored untimed as a warm-up; the rest are
 * timed.
 *
 * get: LISTFILE holds one request target ("/dicom-web/...") a line. The
 * first W entries (default 0) are requested once, untimed, as a warm-up;
 * then C clients share the list walked R times (default 1) with GET and
 * the Accept header TYPE. --expect checks each body: png (PNG signature),
 * dicom (a multipart/related body holding a Part 10 file: "DICM"), json
 * (a JSON array; 204 No Content also counts as an empty match, PS3.18
 * 10.6.3). Status 200 is required otherwise.
 *
 * The client is plain POSIX sockets and HTTP/1.1 with keep-alive: request
 * bodies go out with writev, responses are read fully (Content-Length,
 * chunked, or until close) before the next request on the connection. A
 * connection the server closed between requests is reopened and the
 * request sent again once (counted as a reconnect, not an error). Every
 * request is timed from before its first byte is sent to after the last
 * byte of its response is read (CLOCK_MONOTONIC).
 *
 * Output, one machine-readable line on stdout:
 *   mode=M requests=N errors=E seconds=S req_per_s=F mb_per_s=B
 *   mean_us=A p50_us=X p90_us=Y p99_us=Z max_us=M sent_bytes=T
 *   recv_bytes=U items=I reconnects=K
 * (latencies over the successful requests; percentiles are nearest-rank
 * on the sorted list).
 * mb_per_s counts response bodies for get and request bodies (the DICOM
 * files) for stow, MB = 10^6 bytes. items: for --expect json the number of
 * study records ("0020000D" keys) over all responses, else the number of
 * successful requests. The first few errors are described on stderr.
 * Exit status: 0 when every request succeeded, 2 when some failed, 1 on bad
 * usage or an unreadable list (nothing measured).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define BOUNDARY "pacsd-bench-5f0c2a9e7b3d41c8"
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_BODY_BYTES ((size_t)1 << 30)
#define IO_TIMEOUT_S 120
#define MAX_REPORTED_ERRORS 5

enum mode { MODE_STOW, MODE_GET };
enum expect { EXPECT_NONE, EXPECT_PNG, EXPECT_DICOM, EXPECT_JSON };

struct options {
	enum mode mode;
	const char *host;
	const char *port;
	const char *path;      /* stow target */
	const char *accept;    /* get */
	enum expect expect;
	unsigned clients;
	unsigned repeat;
	size_t warmup;
	const char *list;
};

/* Shared state of one run. Workers take job numbers from `next`. */
struct run {
	const struct options *opt;
	struct addrinfo *addr;
	char **items;          /* file paths or request targets */
	size_t n_items;
	size_t first;          /* stow: items before it went to the warm-up */
	size_t n_jobs;         /* n_items * repeat */
	uint32_t *lat_us;      /* per job; UINT32_MAX when it failed */
	atomic_size_t next;
	atomic_ulong errors;
	atomic_ulong reported;
	atomic_ulong reconnects;
	atomic_ullong sent;
	atomic_ullong recv;
	atomic_ullong records;
};

/* A growable byte buffer; `len` bytes used. */
struct bytes {
	char *p;
	size_t len, cap;
};

/* One keep-alive connection with its read buffer: bytes [off, len) of
 * `in` are received and not yet consumed. */
struct conn {
	int fd;
	bool used;             /* a response was read on it */
	struct bytes in;
	size_t off;
};

struct response {
	int status;
	bool close;            /* the server will close after this response */
	char content_type[128];
	struct bytes body;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bytes_reserve(struct bytes *b, size_t extra)
{
	size_t cap;
	char *p;

	if (extra > MAX_BODY_BYTES || b->len > MAX_BODY_BYTES - extra)
		return -1;
	if (b->len + extra <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Describes a failed request on stderr, for the first few only. */
__attribute__((format(printf, 2, 3)))
static void report_error(struct run *r, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&r->errors, 1);
	if (atomic_fetch_add(&r->reported, 1) >= MAX_REPORTED_ERRORS)
		return;
	fputs("load_bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->used = false;
	c->in.len = 0;
	c->off = 0;
}

static int conn_open(struct conn *c, const struct addrinfo *ai)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int one = 1;

	conn_close(c);
	for (; ai != NULL; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			       ai->ai_protocol);
		if (c->fd < 0)
			continue;
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(c->fd);
		c->fd = -1;
	}
	if (c->fd < 0)
		return -1;
	/* Requests are written whole; without NODELAY the small header
	 * segment of a GET could wait for a delayed ACK. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

static int send_all(int fd, struct iovec *iov, int n, uint64_t *sent)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		*sent += (uint64_t)w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Reads more bytes into c->in. Returns the count, 0 at EOF, -1 on error. */
static ssize_t conn_fill(struct conn *c)
{
	ssize_t n;

	if (c->off > 0 && c->off == c->in.len) {
		c->off = 0;
		c->in.len = 0;
	}
	if (c->in.cap - c->in.len < 16384 && bytes_reserve(&c->in, 65536) != 0)
		return -1;
	do
		n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		c->in.len += (size_t)n;
	return n;
}

/* Moves up to `want` buffered or received bytes into `body` (NULL:
 * discards). Returns 0 once `want` bytes are moved, -1 on EOF or error. */
static int conn_take(struct conn *c, size_t want, struct bytes *body)
{
	while (want > 0) {
		size_t avail = c->in.len - c->off, k;

		if (avail == 0) {
			if (conn_fill(c) <= 0)
				return -1;
			continue;
		}
		k = avail < want ? avail : want;
		if (body != NULL) {
			if (bytes_reserve(body, k) != 0)
				return -1;
			memcpy(body->p + body->len, c->in.p + c->off, k);
			body->len += k;
		}
		c->off += k;
		want -= k;
	}
	return 0;
}

/* Reads one CRLF-terminated line (without the CRLF) into `line` (cap
 * bytes, NUL-terminated). Returns 0, or -1 on EOF, error or a line too
 * long. */
static int conn_line(struct conn *c, char *line, size_t cap)
{
	for (;;) {
		const char *s = c->in.p + c->off;
		size_t avail = c->in.len - c->off;
		const char *nl = avail ? memchr(s, '\n', avail) : NULL;

		if (nl != NULL) {
			size_t k = (size_t)(nl - s);

			if (k > 0 && s[k - 1] == '\r')
				k--;
			if (k >= cap)
				return -1;
			memcpy(line, s, k);
			line[k] = '\0';
			c->off += (size_t)(nl - s) + 1;
			return 0;
		}
		if (avail >= cap)
			return -1;
		if (c->off > 0) {
			memmove(c->in.p, s, avail);
			c->in.len = avail;
			c->off = 0;
		}
		if (conn_fill(c) <= 0)
			return -1;
	}
}

static bool header_is(const char *line, const char *name, const char **value)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	*value = line;
	return true;
}

static int parse_size(const char *s, int base, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, base);
	if (end == s || errno != 0 || v > MAX_BODY_BYTES)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != '\0' && !(base == 16 && *end == ';'))
		return -1;
	*out = (size_t)v;
	return 0;
}

/*
 * Reads one response (skipping 1xx interim responses) into `r`.
 * Returns 0; -1 on a malformed response or I/O error; -2 when the
 * connection was closed before the first byte of the status line (a
 * keep-alive connection the server dropped: the caller may retry).
 */
static int read_response(struct conn *c, struct response *r)
{
	char line[8192];
	bool chunked, have_len, first = true;
	size_t len = 0;

	r->body.len = 0;
	for (;;) {
		const char *v;

		if (first && c->off == c->in.len) {
			ssize_t n = conn_fill(c);

			if (n == 0 || (n < 0 && errno == ECONNRESET))
				return -2;
			if (n < 0)
				return -1;
		}
		first = false;
		if (conn_line(c, line, sizeof(line)) != 0)
			return -1;
		if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12 ||
		    line[8] != ' ')
			return -1;
		r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
			    (line[11] - '0');
		r->close = line[7] == '0';
		r->content_type[0] = '\0';
		chunked = false;
		have_len = false;
		for (size_t total = 0;;) {
			if (conn_line(c, line, sizeof(line)) != 0)
				return -1;
			total += strlen(line) + 2;
			if (total > MAX_HEADER_BYTES)
				return -1;
			if (line[0] == '\0')
				break;
			if (header_is(line, "Content-Length", &v)) {
				if (parse_size(v, 10, &len) != 0)
					return -1;
				have_len = true;
			} else if (header_is(line, "Transfer-Encoding", &v)) {
				chunked = strcasestr(v, "chunked") != NULL;
			} else if (header_is(line, "Connection", &v)) {
				if (strcasestr(v, "close") != NULL)
					r->close = true;
				else if (strcasestr(v, "keep-alive") != NULL)
					r->close = false;
			} else if (header_is(line, "Content-Type", &v)) {
				size_t k = strlen(v);

				/* Only the start of the type is checked. */
				if (k >= sizeof(r->content_type))
					k = sizeof(r->content_type) - 1;
				memcpy(r->content_type, v, k);
				r->content_type[k] = '\0';
			}
		}
		if (r->status >= 200 || r->status == 101)
			break;
	}
	/* RFC 9112 6.3: no body for 204 and 304. */
	if (r->status == 204 || r->status == 304)
		return 0;
	if (chunked) {
		for (;;) {
			size_t n;

			if (conn_line(c, line, sizeof(line)) != 0 ||
			    parse_size(line, 16, &n) != 0)
				return -1;
			if (n == 0)
				break;
			if (conn_take(c, n, &r->body) != 0 ||
			    conn_line(c, line, sizeof(line)) != 0 ||
			    line[0] != '\0')
				return -1;
		}
		do { /* trailer section */
			if (conn_line(c, line, sizeof(line)) != 0)
				return -1;
		} while (line[0] != '\0');
		return 0;
	}
	if (have_len)
		return conn_take(c, len, &r->body);
	/* No length: the body runs to the end of the connection. */
	r->close = true;
	for (;;) {
		size_t avail = c->in.len - c->off;
		ssize_t n;

		if (avail > 0 && conn_take(c, avail, &r->body) != 0)
			return -1;
		n = conn_fill(c);
		if (n == 0)
			return 0;
		if (n < 0)
			return -1;
	}
}

static size_t count_substr(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle), count = 0;
	const char *end = p + n;

	while ((size_t)(end - p) >= k) {
		const char *hit = memmem(p, (size_t)(end - p), needle, k);

		if (hit == NULL)
			break;
		count++;
		p = hit + k;
	}
	return count;
}

/* Checks a response against what the request expects; returns NULL when
 * it is good, else why not. Adds found study records to *records. */
static const char *check(const struct options *opt, const struct response *r,
			 uint64_t *records)
{
	const char *b = r->body.p;
	size_t n = r->body.len;

	switch (opt->mode == MODE_STOW ? EXPECT_NONE : opt->expect) {
	case EXPECT_PNG:
		if (r->status != 200)
			return "status";
		if (n < 8 || memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0)
			return "body is not a PNG";
		return NULL;
	case EXPECT_DICOM:
		if (r->status != 200)
			return "status";
		if (strncasecmp(r->content_type, "multipart/related", 17) != 0)
			return "Content-Type is not multipart/related";
		if (n < 132 || memmem(b, n < 65536 ? n : 65536, "DICM", 4) == NULL)
			return "no Part 10 file in the body";
		return NULL;
	case EXPECT_JSON:
		if (r->status == 204)
			return NULL;
		if (r->status != 200)
			return "status";
		while (n > 0 && (*b == ' ' || *b == '\r' || *b == '\n')) {
			b++;
			n--;
		}
		if (n == 0 || *b != '[')
			return "body is not a JSON array";
		*records += count_substr(b, n, "\"0020000D\"");
		return NULL;
	case EXPECT_NONE:
		break;
	}
	return r->status == 200 ? NULL : "status";
}

struct worker {
	struct run *run;
	pthread_t thread;
	struct conn conn;
	struct response resp;
	struct bytes file;     /* stow: the file being sent */
};

/* Loads item `i`'s file into w->file for stow. */
static int load_file(struct worker *w, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc = -1;

	w->file.len = 0;
	if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_size > MAX_BODY_BYTES)
		goto out;
	if (bytes_reserve(&w->file, (size_t)st.st_size) != 0)
		goto out;
	while (w->file.len < (size_t)st.st_size) {
		ssize_t n = read(fd, w->file.p + w->file.len,
				 (size_t)st.st_size - w->file.len);

		if (n <= 0)
			goto out;
		w->file.len += (size_t)n;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Runs job `job` on the worker's connection; records its latency. */
static void do_job(struct worker *w, size_t job)
{
	struct run *r = w->run;
	const struct options *opt = r->opt;
	const char *item = r->items[r->first + job % (r->n_items - r->first)];
	static const char pre[] = "--" BOUNDARY "\r\n"
				  "Content-Type: application/dicom\r\n\r\n";
	static const char post[] = "\r\n--" BOUNDARY "--\r\n";
	char head[2048];
	struct iovec iov[4];
	int niov, hl, attempt, rc = -1;
	uint64_t records = 0, sent = 0;
	const char *why;
	double t0;

	r->lat_us[job] = UINT32_MAX;
	if (opt->mode == MODE_STOW && load_file(w, item) != 0) {
		report_error(r, "%s: cannot read: %s", item, strerror(errno));
		return;
	}
	if (opt->mode == MODE_STOW)
		hl = snprintf(head, sizeof(head),
			      "POST %s HTTP/1.1\r\nHost: %s:%s\r\n"
			      "Content-Type: multipart/related; "
			      "type=\"application/dicom\"; boundary=" BOUNDARY "\r\n"
			      "Accept: application/dicom+json\r\n"
			      "Content-Length: %zu\r\n\r\n",
			      opt->path, opt->host, opt->port,
			      sizeof(pre) - 1 + w->file.len + sizeof(post) - 1);
	else
		hl = snprintf(head, sizeof(head),
			      "GET %s HTTP/1.1\r\nHost: %s:%s\r\n"
			      "Accept: %s\r\n\r\n",
			      item, opt->host, opt->port, opt->accept);
	if (hl < 0 || (size_t)hl >= sizeof(head)) {
		report_error(r, "%s: request target too long", item);
		return;
	}

	t0 = now_s();
	for (attempt = 0; attempt < 2; attempt++) {
		bool reused = w->conn.fd >= 0 && w->conn.used;

		if (w->conn.fd < 0 && conn_open(&w->conn, r->addr) != 0) {
			report_error(r, "%s: cannot connect: %s", item,
				     strerror(errno));
			return;
		}
		iov[0] = (struct iovec){ head, (size_t)hl };
		niov = 1;
		if (opt->mode == MODE_STOW) {
			iov[1] = (struct iovec){ (void *)pre, sizeof(pre) - 1 };
			iov[2] = (struct iovec){ w->file.p, w->file.len };
			iov[3] = (struct iovec){ (void *)post, sizeof(post) - 1 };
			niov = 4;
		}
		rc = send_all(w->conn.fd, iov, niov, &sent) == 0 ? 0 : -2;
		if (rc == 0)
			rc = read_response(&w->conn, &w->resp);
		if (rc == -2 && reused) {
			/* The server closed the idle connection: retry. */
			atomic_fetch_add(&r->reconnects, 1);
			conn_close(&w->conn);
			sent = 0;
			continue;
		}
		break;
	}
	if (rc != 0) {
		report_error(r, "%s: %s", item,
			     rc == -2 ? "connection closed" :
			     "bad response or I/O error");
		conn_close(&w->conn);
		return;
	}
	w->conn.used = true;
	if (w->resp.close)
		conn_close(&w->conn);
	atomic_fetch_add(&r->sent, opt->mode == MODE_STOW ? w->file.len : 0);
	atomic_fetch_add(&r->recv, w->resp.body.len);
	why = check(opt, &w->resp, &records);
	if (why != NULL) {
		int shown = (int)(w->resp.body.len < 300 ? w->resp.body.len : 300);

		report_error(r, "%s: HTTP %d: %s: %.*s", item, w->resp.status,
			     why, shown, w->resp.body.p ? w->resp.body.p : "");
		return;
	}
	if (opt->expect == EXPECT_JSON && opt->mode == MODE_GET)
		atomic_fetch_add(&r->records, records);
	else
		atomic_fetch_add(&r->records, 1);
	{
		double us = (now_s() - t0) * 1e6;

		r->lat_us[job] = us >= (double)UINT32_MAX - 1 ?
				 UINT32_MAX - 1 : (uint32_t)us;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;

	for (;;) {
		size_t job = atomic_fetch_add(&r->next, 1);

		if (job >= r->n_jobs)
			break;
		do_job(w, job);
	}
	conn_close(&w->conn);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int read_list(const char *path, struct run *r)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0, alloc = 0;
	ssize_t len;

	if (f == NULL) {
		fprintf(stderr, "load_bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (n == alloc) {
			size_t a = alloc ? alloc * 2 : 1024;
			char **p = realloc(r->items, a * sizeof(*p));

			if (p == NULL)
				break;
			r->items = p;
			alloc = a;
		}
		r->items[n] = strdup(line);
		if (r->items[n] == NULL)
			break;
		n++;
	}
	free(line);
	fclose(f);
	r->n_items = n;
	if (n == 0) {
		fprintf(stderr, "load_bench: %s: empty list\n", path);
		return -1;
	}
	return 0;
}

static void usage(void)
{
	fputs("usage: load_bench stow --port P [--host H] [--clients C] "
	      "[--warmup W] "
	      "[--path TARGET] LISTFILE\n"
	      "       load_bench get --port P [--host H] [--clients C] "
	      "[--repeat R] [--warmup W] [--accept TYPE] "
	      "[--expect png|dicom|json] LISTFILE\n", stderr);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return end == s || *end != '\0' || errno != 0 || *out > max ? -1 : 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	unsigned long v;

	*o = (struct options){ .host = "127.0.0.1", .clients = 1,
			       .repeat = 1, .path = "/dicom-web/studies",
			       .accept = "*/*" };
	if (argc < 2)
		return -1;
	if (strcmp(argv[1], "stow") == 0)
		o->mode = MODE_STOW;
	else if (strcmp(argv[1], "get") == 0)
		o->mode = MODE_GET;
	else
		return -1;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (a[0] != '-') {
			if (o->list != NULL)
				return -1;
			o->list = a;
			continue;
		}
		if (val == NULL)
			return -1;
		i++;
		if (strcmp(a, "--host") == 0) {
			o->host = val;
		} else if (strcmp(a, "--port") == 0) {
			o->port = val;
		} else if (strcmp(a, "--path") == 0) {
			o->path = val;
		} else if (strcmp(a, "--accept") == 0) {
			o->accept = val;
		} else if (strcmp(a, "--clients") == 0) {
			if (parse_uint(val, 256, &v) != 0 || v == 0)
				return -1;
			o->clients = (unsigned)v;
		} else if (strcmp(a, "--repeat") == 0) {
			if (parse_uint(val, 100000, &v) != 0 || v == 0)
				return -1;
			o->repeat = (unsigned)v;
		} else if (strcmp(a, "--warmup") == 0) {
			if (parse_uint(val, 1000000, &v) != 0)
				return -1;
			o->warmup = v;
		} else if (strcmp(a, "--expect") == 0) {
			if (strcmp(val, "png") == 0)
				o->expect = EXPECT_PNG;
			else if (strcmp(val, "dicom") == 0)
				o->expect = EXPECT_DICOM;
			else if (strcmp(val, "json") == 0)
				o->expect = EXPECT_JSON;
			else
				return -1;
		} else {
			return -1;
		}
	}
	return o->port != NULL && o->list != NULL ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct run run = { 0 };
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM };
	struct worker *w = NULL;
	unsigned started = 0;
	size_t ok = 0;
	uint32_t *sorted = NULL;
	double t0, secs, sum_us = 0;
	uint64_t bytes;
	int rc = 1, gai;

	if (parse_args(argc, argv, &opt) != 0) {
		usage();
		return 1;
	}
	/* A write to a connection the server closed must fail with EPIPE
	 * (and be retried), not kill the driver. */
	signal(SIGPIPE, SIG_IGN);
	run.opt = &opt;
	gai = getaddrinfo(opt.host, opt.port, &hints, &run.addr);
	if (gai != 0) {
		fprintf(stderr, "load_bench: %s:%s: %s\n", opt.host, opt.port,
			gai_strerror(gai));
		return 1;
	}
	if (read_list(opt.list, &run) != 0)
		goto out;
	w = calloc(opt.clients, sizeof(*w));
	if (w == NULL)
		goto out;
	for (unsigned i = 0; i < opt.clients; i++) {
		w[i].run = &run;
		w[i].conn.fd = -1;
	}

	/* Warm-up: untimed, on the first worker's connection; its errors
	 * count like any other. A stored instance cannot be stored again, so
	 * stow times the rest of the list only. */
	if (opt.warmup > 0) {
		size_t n = opt.warmup < run.n_items ? opt.warmup : run.n_items;

		if (opt.mode == MODE_STOW && n == run.n_items)
			n = run.n_items - 1;

		run.n_jobs = n;
		run.lat_us = calloc(n, sizeof(*run.lat_us));
		if (run.lat_us == NULL)
			goto out;
		for (size_t j = 0; j < n; j++)
			do_job(&w[0], j);
		conn_close(&w[0].conn);
		free(run.lat_us);
		run.lat_us = NULL;
		run.records = 0;
		run.sent = 0;
		run.recv = 0;
		if (opt.mode == MODE_STOW)
			run.first = n;
	}

	run.n_jobs = (run.n_items - run.first) * opt.repeat;
	run.lat_us = calloc(run.n_jobs, sizeof(*run.lat_us));
	sorted = calloc(run.n_jobs, sizeof(*sorted));
	if (run.lat_us == NULL || sorted == NULL)
		goto out;
	t0 = now_s();
	for (; started < opt.clients; started++)
		if (pthread_create(&w[started].thread, NULL, worker_main,
				   &w[started]) != 0)
			break;
	for (unsigned i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	secs = now_s() - t0;
	if (started == 0) {
		fputs("load_bench: cannot start threads\n", stderr);
		goto out;
	}

	for (size_t j = 0; j < run.n_jobs; j++)
		if (run.lat_us[j] != UINT32_MAX)
			sorted[ok++] = run.lat_us[j];
	qsort(sorted, ok, sizeof(*sorted), cmp_u32);
	bytes = opt.mode == MODE_STOW ? run.sent : run.recv;
	for (size_t j = 0; j < ok; j++)
		sum_us += sorted[j];
	printf("mode=%s requests=%zu errors=%lu seconds=%.6f req_per_s=%.2f "
	       "mb_per_s=%.3f mean_us=%.0f p50_us=%u p90_us=%u p99_us=%u "
	       "max_us=%u sent_bytes=%llu "
	       "recv_bytes=%llu items=%llu reconnects=%lu\n",
	       opt.mode == MODE_STOW ? "stow" : "get", run.n_jobs,
	       (unsigned long)run.errors, secs, (double)run.n_jobs / secs,
	       (double)bytes / 1e6 / secs, ok ? sum_us / (double)ok : 0.0,
	       ok ? sorted[(ok - 1) / 2] : 0,
	       ok ? sorted[(size_t)((double)(ok - 1) * 0.90)] : 0,
	       ok ? sorted[(size_t)((double)(ok - 1) * 0.99)] : 0,
	       ok ? sorted[ok - 1] : 0,
	       (unsigned long long)run.sent, (unsigned long long)run.recv,
	       (unsigned long long)run.records,
	       (unsigned long)run.reconnects);
	rc = run.errors ? 2 : 0;
out:
	if (w != NULL) {
		for (unsigned i = 0; i < opt.clients; i++) {
			conn_close(&w[i].conn);
			free(w[i].conn.in.p);
			free(w[i].resp.body.p);
			free(w[i].file.p);
		}
		free(w);
	}
	for (size_t i = 0; i < run.n_items; i++)
		free(run.items[i]);
	free(run.items);
	free(run.lat_us);
	free(sorted);
	freeaddrinfo(run.addr);
	return rc;
}
