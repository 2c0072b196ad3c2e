/*
 * multipart.c - a streaming parser of multipart bodies (RFC 2046 5.1.1,
 * multipart/related RFC 2387, multipart/form-data RFC 7578).
 *
 * DESIGN. Bytes arrive in chunks of any size; part data leaves through the
 * callbacks as slices of those chunks, never copied. The only state kept
 * between chunks is how far a possible delimiter has been matched: the
 * delimiter is "\n--" + boundary, and since a boundary cannot contain a
 * line feed (RFC 2046 bchars), after a mismatch the search restarts either
 * at the mismatching byte or not at all. The bytes held back are therefore
 * known constants (an optional CR and the first k bytes of the delimiter)
 * and are not stored: a mismatch emits them from the delimiter string.
 *
 *   PREAMBLE --"--b"--> AFTER --CRLF--> HEADERS --CRLFCRLF--> BODY
 *                         |  ^                                  |
 *                         |  +-------- CRLF "--b" --------------+
 *                         +-- "--" --> EPILOGUE (ignored)
 *
 * The preamble is the same matcher with the data dropped, started as if a
 * line feed preceded the body so that a first boundary line at offset 0
 * matches.
 *
 * Deviations tolerated, named:
 *   - bare LF line ends (in header lines, after a boundary and before a
 *     delimiter: "\n--b" ends a part; a CR before it is dropped as part of
 *     the delimiter);
 *   - transport padding (spaces, tabs) after a boundary (RFC 2046 allows it);
 *   - boundaries of 71-200 characters (RFC 2046 says at most 70);
 *   - a preamble, but at most max_header_bytes of it: a body that shows no
 *     boundary line that early is not multipart (PC_PARSE).
 * Header folding is refused (RFC 7578 4.8 forbids it): PC_PARSE.
 */
#include "http/http_int.h"

#include <string.h>
#include <strings.h>

#define BOUNDARY_MAX 200
#define DEFAULT_MAX_HEADER 16384
#define DEFAULT_MAX_PARTS 100000

enum state {
	ST_PREAMBLE,   /* before the first boundary */
	ST_AFTER,      /* after "--boundary": "--", padding, line end */
	ST_AFTER_DASH, /* one '-' seen after the boundary */
	ST_AFTER_CR,   /* CR seen after the boundary (and padding) */
	ST_HEADERS,    /* a part's header block */
	ST_BODY,       /* a part's data */
	ST_EPILOGUE,   /* after the closing boundary */
};

struct http_multipart {
	enum state st;
	enum pc_status status; /* sticky; PC_OK while none */
	const struct http_multipart_cbs *cbs;
	void *ctx;
	char delim[4 + BOUNDARY_MAX]; /* "\n--" + boundary */
	size_t dlen;
	size_t k;        /* delimiter bytes matched, held back */
	bool cr;         /* a CR held back before them */
	bool in_part;    /* part_begin called, part_end not yet */
	size_t parts;    /* parts completed */
	size_t preamble; /* preamble bytes seen */
	uint64_t offset; /* input bytes consumed, for messages */
	struct http_multipart_limits lim;
	char *hdr; /* the header block, max_header + 1 */
	size_t hdr_len;
	size_t line_start; /* where the current header line starts */
};

/* RFC 2046 5.1.1 bchars, and no trailing space. */
static bool boundary_ok(const char *b, size_t n)
{
	if (n == 0 || n > BOUNDARY_MAX || b[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c)))
			return false;
	}
	return true;
}

http_multipart *http_multipart_create(
    const char *boundary, const struct http_multipart_cbs *cbs, void *ctx,
    const struct http_multipart_limits *limits, struct pc_err *err)
{
	http_multipart *m;
	size_t n = boundary != NULL ? strlen(boundary) : 0;

	if (!boundary_ok(boundary != NULL ? boundary : "", n)) {
		pc_err_set(err, PC_INVAL, 0,
		           "invalid multipart boundary (1-%d characters of "
		           "letters, digits and '()+_,-./:=? expected)",
		           BOUNDARY_MAX);
		return NULL;
	}
	m = pc_calloc(1, sizeof(*m));
	if (m == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	m->lim.max_header_bytes = DEFAULT_MAX_HEADER;
	m->lim.max_parts = DEFAULT_MAX_PARTS;
	if (limits != NULL) {
		if (limits->max_header_bytes != 0)
			m->lim.max_header_bytes = limits->max_header_bytes;
		if (limits->max_parts != 0)
			m->lim.max_parts = limits->max_parts;
	}
	m->hdr = pc_malloc(m->lim.max_header_bytes + 1);
	if (m->hdr == NULL) {
		pc_free(m);
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	memcpy(m->delim, "\n--", 3);
	memcpy(m->delim + 3, boundary, n);
	m->dlen = 3 + n;
	m->cbs = cbs;
	m->ctx = ctx;
	m->st = ST_PREAMBLE;
	/* As if a line feed came first: a boundary line at offset 0 counts. */
	m->k = 1;
	return m;
}

void http_multipart_destroy(http_multipart *m)
{
	if (m == NULL)
		return;
	pc_free(m->hdr);
	pc_free(m);
}

size_t http_multipart_count(const http_multipart *m)
{
	return m->parts;
}

/* Records a sticky failure. */
static enum pc_status fail(http_multipart *m, enum pc_status st,
                           struct pc_err *err, const char *what)
{
	m->status = st;
	return pc_err_set(err, st, m->offset,
	                  "multipart body at offset %llu: %s",
	                  (unsigned long long)m->offset, what);
}

/* A callback refused: its status stops the parse. */
static enum pc_status cb_fail(http_multipart *m, enum pc_status st,
                              struct pc_err *err)
{
	m->status = st;
	return pc_err_set(err, st, m->offset,
	                  "multipart body at offset %llu: stopped by the "
	                  "handler (%s)",
	                  (unsigned long long)m->offset, pc_status_text(st));
}

/* Part data out; dropped in the preamble. */
static enum pc_status emit(http_multipart *m, const void *p, size_t n,
                           struct pc_err *err)
{
	enum pc_status st;

	if (n == 0)
		return PC_OK;
	if (m->st == ST_PREAMBLE) {
		m->preamble += n;
		if (m->preamble > m->lim.max_header_bytes)
			return fail(
			    m, PC_PARSE, err,
			    "no boundary line at the start of the body");
		return PC_OK;
	}
	if (m->cbs->part_data == NULL)
		return PC_OK;
	st = m->cbs->part_data(m->ctx, p, n);
	if (st != PC_OK)
		return cb_fail(m, st, err);
	return PC_OK;
}

/* The held-back bytes turned out to be data. */
static enum pc_status emit_held(http_multipart *m, struct pc_err *err)
{
	enum pc_status st = PC_OK;

	if (m->cr)
		st = emit(m, "\r", 1, err);
	/* In the preamble the first '\n' held is the virtual one. */
	if (st == PC_OK && m->k > 0)
		st = emit(m, m->delim, m->k, err);
	m->cr = false;
	m->k = 0;
	return st;
}

/* A whole delimiter was matched: the part (if any) ends. */
static enum pc_status delimiter_seen(http_multipart *m, struct pc_err *err)
{
	m->k = 0;
	m->cr = false;
	if (m->in_part) {
		m->in_part = false;
		m->parts++;
		if (m->cbs->part_end != NULL) {
			enum pc_status st = m->cbs->part_end(m->ctx);
			if (st != PC_OK)
				return cb_fail(m, st, err);
		}
	}
	m->st = ST_AFTER;
	return PC_OK;
}

/*
 * Data of the preamble or of a part: emits it up to a delimiter. Returns
 * the bytes consumed (all of them unless a delimiter ended the state), or
 * SIZE_MAX after a failure.
 */
static size_t scan_data(http_multipart *m, const uint8_t *p, size_t n,
                        struct pc_err *err)
{
	size_t i = 0, run;

	/* Continue a match held back from the previous chunk, byte by byte. */
	while (i < n && (m->cr || m->k > 0)) {
		if (m->k == 0) {
			/* Only a CR is held: it is data unless LF follows. */
			if (p[i] == '\n') {
				m->k = 1;
				i++;
				continue;
			}
			if (emit_held(m, err) != PC_OK)
				return SIZE_MAX;
			break;
		}
		if ((uint8_t)m->delim[m->k] == p[i]) {
			m->k++;
			i++;
			if (m->k == m->dlen) {
				if (delimiter_seen(m, err) != PC_OK)
					return SIZE_MAX;
				return i;
			}
			continue;
		}
		if (emit_held(m, err) != PC_OK)
			return SIZE_MAX;
		/* p[i] is examined afresh below. */
	}
	run = i;
	while (i < n) {
		const uint8_t *q = memchr(p + i, '\n', n - i);
		if (q == NULL) {
			size_t end = n;
			if (p[n - 1] == '\r' && n - 1 >= run) {
				m->cr = true;
				end = n - 1;
			}
			if (emit(m, p + run, end - run, err) != PC_OK)
				return SIZE_MAX;
			return n;
		}
		size_t j = (size_t)(q - p);
		size_t avail = n - j < m->dlen ? n - j : m->dlen;
		if (memcmp(p + j, m->delim, avail) != 0) {
			i = j + 1;
			continue;
		}
		bool cr = j > run && p[j - 1] == '\r';
		if (emit(m, p + run, j - run - (cr ? 1 : 0), err) != PC_OK)
			return SIZE_MAX;
		if (avail < m->dlen) {
			/* The chunk ends inside a possible delimiter. */
			m->cr = cr;
			m->k = avail;
			return n;
		}
		if (delimiter_seen(m, err) != PC_OK)
			return SIZE_MAX;
		return j + m->dlen;
	}
	return n;
}

/* Trims spaces and tabs on both ends, in place. */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	return s;
}

/*
 * Reads Content-Disposition parameters (RFC 7578 4.2, RFC 6266 4.1) in
 * place: `form-data; name="file"; filename="x.dcm"`. Quoted values are
 * unescaped where they are. Unknown parameters (filename*) are skipped.
 */
static bool parse_disposition(char *v, struct http_part *part)
{
	char *p = strchr(v, ';');

	while (p != NULL) {
		char *name, *val, *w;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return true;
		if (*p == ';')
			continue;
		name = p;
		while (*p != '\0' && *p != '=' && *p != ';' && *p != ' ' &&
		       *p != '\t')
			p++;
		size_t nlen = (size_t)(p - name);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			return false;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			val = w = ++p;
			while (*p != '\0' && *p != '"') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				*w++ = *p++;
			}
			if (*p != '"')
				return false;
			p++;
		} else {
			val = w = p;
			while (*p != '\0' && *p != ';' && *p != ' ' &&
			       *p != '\t')
				w = ++p;
		}
		char *next = strchr(p, ';');
		/* Only spaces may follow a value. */
		for (char *s = p; s != (next != NULL ? next : p + strlen(p));
		     s++)
			if (*s != ' ' && *s != '\t')
				return false;
		*w = '\0';
		if (nlen == 4 && strncasecmp(name, "name", 4) == 0)
			part->disposition_name = val;
		else if (nlen == 8 && strncasecmp(name, "filename", 8) == 0)
			part->filename = val;
		p = next;
	}
	return true;
}

/* The header block is complete in m->hdr: parse it and begin the part. */
static enum pc_status headers_done(http_multipart *m, struct pc_err *err)
{
	struct http_part part = {"", "", "", ""};
	char *line = m->hdr;
	char *end = m->hdr + m->hdr_len;

	*end = '\0';
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *next = nl != NULL ? nl + 1 : end;
		char *eol = nl != NULL ? nl : end;

		if (eol > line && eol[-1] == '\r')
			eol--;
		*eol = '\0';
		if (*line == '\0')
			break; /* the empty line ending the block */
		if (*line == ' ' || *line == '\t')
			return fail(m, PC_PARSE, err,
			            "folded part header line");
		char *colon = strchr(line, ':');
		if (colon == NULL || colon == line)
			return fail(m, PC_PARSE, err,
			            "part header line without a name and ':'");
		*colon = '\0';
		char *value = trim(colon + 1);
		if (strcasecmp(line, "Content-Type") == 0) {
			part.content_type = value;
		} else if (strcasecmp(line, "Content-Location") == 0) {
			part.content_location = value;
		} else if (strcasecmp(line, "Content-Disposition") == 0) {
			if (!parse_disposition(value, &part))
				return fail(m, PC_PARSE, err,
				            "malformed Content-Disposition");
		}
		line = next;
	}
	if (m->parts >= m->lim.max_parts)
		return fail(m, PC_LIMIT, err, "too many parts");
	m->in_part = true;
	m->st = ST_BODY;
	m->k = 0;
	m->cr = false;
	if (m->cbs->part_begin != NULL) {
		enum pc_status st = m->cbs->part_begin(m->ctx, &part);
		if (st != PC_OK)
			return cb_fail(m, st, err);
	}
	return PC_OK;
}

/* Header bytes: returns the count consumed, or SIZE_MAX on failure. */
static size_t scan_headers(http_multipart *m, const uint8_t *p, size_t n,
                           struct pc_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (m->hdr_len >= m->lim.max_header_bytes) {
			fail(m, PC_LIMIT, err, "part headers too long");
			return SIZE_MAX;
		}
		m->hdr[m->hdr_len++] = (char)p[i];
		if (p[i] == '\0') {
			fail(m, PC_PARSE, err, "NUL byte in part headers");
			return SIZE_MAX;
		}
		if (p[i] != '\n')
			continue;
		size_t len = m->hdr_len - 1 - m->line_start;
		if (len == 0 || (len == 1 && m->hdr[m->line_start] == '\r')) {
			if (headers_done(m, err) != PC_OK)
				return SIZE_MAX;
			return i + 1;
		}
		m->line_start = m->hdr_len;
	}
	return n;
}

static void start_headers(http_multipart *m)
{
	m->st = ST_HEADERS;
	m->hdr_len = 0;
	m->line_start = 0;
}

enum pc_status http_multipart_feed(http_multipart *m, const uint8_t *p,
                                   size_t n, struct pc_err *err)
{
	size_t i = 0;

	if (m->status != PC_OK)
		return pc_err_set(err, m->status, m->offset,
		                  "multipart parse failed earlier (%s)",
		                  pc_status_text(m->status));
	while (i < n) {
		size_t used = 1;
		uint8_t c = p[i];

		switch (m->st) {
		case ST_PREAMBLE:
		case ST_BODY:
			used = scan_data(m, p + i, n - i, err);
			break;
		case ST_HEADERS:
			used = scan_headers(m, p + i, n - i, err);
			break;
		case ST_AFTER:
			if (c == '-') {
				m->st = ST_AFTER_DASH;
			} else if (c == ' ' || c == '\t') {
				/* transport padding, RFC 2046 5.1.1 */
			} else if (c == '\r') {
				m->st = ST_AFTER_CR;
			} else if (c == '\n') {
				start_headers(m);
			} else {
				fail(m, PC_PARSE, err,
				     "boundary followed by other characters");
				used = SIZE_MAX;
			}
			break;
		case ST_AFTER_DASH:
			if (c == '-') {
				m->st = ST_EPILOGUE;
			} else {
				fail(m, PC_PARSE, err,
				     "boundary followed by a single '-'");
				used = SIZE_MAX;
			}
			break;
		case ST_AFTER_CR:
			if (c == '\n') {
				start_headers(m);
			} else {
				fail(m, PC_PARSE, err,
				     "CR without LF after a boundary");
				used = SIZE_MAX;
			}
			break;
		case ST_EPILOGUE:
			used = n - i; /* RFC 2046: ignored */
			break;
		}
		if (used == SIZE_MAX)
			return m->status;
		i += used;
		m->offset += used;
	}
	return PC_OK;
}

enum pc_status http_multipart_finish(http_multipart *m, struct pc_err *err)
{
	if (m->status != PC_OK)
		return pc_err_set(err, m->status, m->offset,
		                  "multipart parse failed earlier (%s)",
		                  pc_status_text(m->status));
	switch (m->st) {
	case ST_EPILOGUE:
		return PC_OK;
	case ST_PREAMBLE:
		return fail(m, PC_PARSE, err, "no boundary line in the body");
	default:
		return fail(m, PC_TRUNC, err,
		            "the body ends before the closing boundary");
	}
}
