/*
 * mediatype.c - media types with parameters (RFC 9110 8.3.1) and Accept
 * headers (RFC 9110 12.5.1), parsed from untrusted request headers.
 *
 *   media-type = type "/" subtype *( OWS ";" OWS [ parameter ] )
 *   parameter  = token "=" ( token / quoted-string )
 *   Accept     = #( media-range [ weight ] )
 *
 * Type, subtype and parameter names are lower-cased (they are
 * case-insensitive); parameter values keep their case (a boundary is
 * case-sensitive). Everything parsed lives in the caller's arena.
 *
 * Deviations tolerated, because real clients send them:
 *   - an unquoted value may hold any visible character but ; , and ",
 *     not only token characters (boundaries with '/' or '=' unquoted);
 *   - an Accept range "*" reads as "*\/\*" (old Java clients send it);
 *   - a q-value may omit the leading 0 (".2") and have more than 3
 *     decimals; it must lie in 0..1.
 */
#include "http/http_int.h"

#include <string.h>
#include <strings.h>

/* More media ranges than this in one Accept header is refused: sorting is
 * quadratic and no real client sends so many. */
#define ACCEPT_MAX_RANGES 100

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* A cursor over the header value. */
struct cur {
	const char *p;
	const char *end;
};

static void skip_ows(struct cur *c)
{
	while (c->p < c->end && is_ows((unsigned char)*c->p))
		c->p++;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Copies `n` bytes into the arena, lower-cased when asked, NUL-terminated. */
static char *arena_str(pc_arena *a, const char *s, size_t n, bool lc)
{
	char *out = pc_arena_alloc(a, n + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = lc ? lower(s[i]) : s[i];
	out[n] = '\0';
	return out;
}

/* A run of token characters; its length (0 if none). */
static size_t token_len(const struct cur *c)
{
	const char *q = c->p;

	while (q < c->end && is_tchar((unsigned char)*q))
		q++;
	return (size_t)(q - c->p);
}

/*
 * A parameter value at the cursor: a quoted-string (RFC 9110 5.6.4,
 * backslash escapes any octet) or an unquoted run. Stores it unescaped in
 * the arena. PC_INVAL when a quote is not closed or the value is empty.
 */
static enum pc_status param_value(pc_arena *a, struct cur *c, const char **out,
                                  struct pc_err *err)
{
	if (c->p < c->end && *c->p == '"') {
		const char *start = ++c->p;
		size_t n = 0;
		char *v;

		/* First pass: find the closing quote and the unescaped size. */
		const char *q = start;
		while (q < c->end && *q != '"') {
			if (*q == '\\') {
				q++;
				if (q == c->end)
					break;
			}
			q++;
			n++;
		}
		if (q >= c->end)
			return pc_err_set(err, PC_INVAL, 0,
			                  "unterminated quoted string");
		v = pc_arena_alloc(a, n + 1);
		if (v == NULL)
			return pc_err_set(err, PC_NOMEM, 0, "out of memory");
		n = 0;
		for (const char *s = start; s < q; s++) {
			if (*s == '\\')
				s++;
			v[n++] = *s;
		}
		v[n] = '\0';
		c->p = q + 1;
		*out = v;
		return PC_OK;
	}
	const char *start = c->p;
	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p;
		if (ch == ';' || ch == ',' || ch == '"' || ch <= ' ' ||
		    ch == 0x7F)
			break;
		c->p++;
	}
	if (c->p == start)
		return pc_err_set(err, PC_INVAL, 0, "empty parameter value");
	*out = arena_str(a, start, (size_t)(c->p - start), false);
	if (*out == NULL)
		return pc_err_set(err, PC_NOMEM, 0, "out of memory");
	return PC_OK;
}

/* RFC 9110 12.4.2 qvalue, leniently (see the file comment). */
static bool parse_q(const char *s, double *q)
{
	double v = 0.0, scale = 1.0;
	bool digits = false;

	while (*s >= '0' && *s <= '9') {
		v = v * 10.0 + (*s - '0');
		digits = true;
		if (v > 1.0)
			return false;
		s++;
	}
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			scale /= 10.0;
			v += (*s - '0') * scale;
			digits = true;
			s++;
		}
	}
	if (*s != '\0' || !digits || v > 1.0)
		return false;
	*q = v;
	return true;
}

/*
 * One media type (or range, with `accept`) at the cursor, up to the end or
 * (with `accept`) a ',' outside quotes. With `accept` the "q" parameter is
 * the weight and is not stored.
 */
static enum pc_status parse_one(pc_arena *a, struct cur *c, bool accept,
                                struct http_mediatype *out, struct pc_err *err)
{
	size_t n1, n2;
	const char *type;

	memset(out, 0, sizeof(*out));
	out->q = 1.0;
	skip_ows(c);
	type = c->p;
	n1 = token_len(c);
	if (n1 == 0)
		return pc_err_set(err, PC_INVAL, 0, "media type expected");
	c->p += n1;
	if (c->p < c->end && *c->p == '/') {
		c->p++;
		n2 = token_len(c);
		if (n2 == 0)
			return pc_err_set(err, PC_INVAL, 0,
			                  "media type without a subtype");
		c->p += n2;
		/* "*\/png" is no range (RFC 9110 12.5.1). */
		if (n1 == 1 && type[0] == '*' && !(n2 == 1 && c->p[-1] == '*'))
			return pc_err_set(err, PC_INVAL, 0,
			                  "media range '*/subtype' is invalid");
		out->type = arena_str(a, type, n1 + 1 + n2, true);
	} else if (accept && n1 == 1 && type[0] == '*') {
		out->type = arena_str(a, "*/*", 3, false);
	} else {
		return pc_err_set(err, PC_INVAL, 0, "media type without '/'");
	}
	if (out->type == NULL)
		return pc_err_set(err, PC_NOMEM, 0, "out of memory");

	for (;;) {
		skip_ows(c);
		if (c->p == c->end || (accept && *c->p == ','))
			return PC_OK;
		if (*c->p != ';')
			return pc_err_set(err, PC_INVAL, 0,
			                  "unexpected '%c' in media type",
			                  *c->p);
		c->p++;
		skip_ows(c);
		/* Empty parameters are allowed: "text/plain;" */
		if (c->p == c->end || *c->p == ';' || (accept && *c->p == ','))
			continue;
		const char *name = c->p;
		size_t nn = token_len(c);
		if (nn == 0)
			return pc_err_set(err, PC_INVAL, 0,
			                  "parameter name expected");
		c->p += nn;
		skip_ows(c); /* tolerated: "a = b" */
		if (c->p == c->end || *c->p != '=')
			return pc_err_set(err, PC_INVAL, 0,
			                  "parameter without '='");
		c->p++;
		skip_ows(c);
		const char *value;
		enum pc_status st = param_value(a, c, &value, err);
		if (st != PC_OK)
			return st;
		if (accept && nn == 1 && lower(name[0]) == 'q') {
			if (!parse_q(value, &out->q))
				return pc_err_set(err, PC_INVAL, 0,
				                  "bad q-value '%s'", value);
			continue;
		}
		if (out->n_params == HTTP_MEDIATYPE_PARAMS)
			return pc_err_set(err, PC_INVAL, 0,
			                  "more than %d media type parameters",
			                  HTTP_MEDIATYPE_PARAMS);
		out->params[out->n_params].name = arena_str(a, name, nn, true);
		if (out->params[out->n_params].name == NULL)
			return pc_err_set(err, PC_NOMEM, 0, "out of memory");
		out->params[out->n_params].value = value;
		out->n_params++;
	}
}

enum pc_status http_mediatype_parse(pc_arena *arena, const char *s, size_t n,
                                    struct http_mediatype *out,
                                    struct pc_err *err)
{
	struct cur c;

	if (s == NULL)
		return pc_err_set(err, PC_INVAL, 0, "no media type");
	c.p = s;
	c.end = s + n;
	return parse_one(arena, &c, false, out, err);
}

enum pc_status http_accept_parse(pc_arena *arena, const char *s,
                                 struct http_mediatype **out, size_t *n,
                                 struct pc_err *err)
{
	struct http_mediatype *v;
	size_t count = 0, cap = 0;
	struct cur c;

	*out = NULL;
	*n = 0;
	if (s != NULL) {
		/* An upper bound of the entries: commas + 1. */
		cap = 1;
		for (const char *q = s; *q != '\0'; q++)
			cap += *q == ',';
		if (cap > ACCEPT_MAX_RANGES)
			cap = ACCEPT_MAX_RANGES + 1;
	}
	v = pc_arena_alloc(arena, (cap + 1) * sizeof(*v));
	if (v == NULL)
		return pc_err_set(err, PC_NOMEM, 0, "out of memory");
	c.p = s;
	c.end = s;
	if (s != NULL)
		c.end = s + strlen(s);
	while (s != NULL && c.p < c.end) {
		skip_ows(&c);
		/* Empty list elements are allowed (RFC 9110 5.6.1). */
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		if (c.p == c.end)
			break;
		if (count == ACCEPT_MAX_RANGES)
			return pc_err_set(err, PC_INVAL, 0,
			                  "more than %d media ranges in Accept",
			                  ACCEPT_MAX_RANGES);
		enum pc_status st = parse_one(arena, &c, true, &v[count], err);
		if (st != PC_OK)
			return st;
		count++;
	}
	if (count == 0) {
		memset(&v[0], 0, sizeof(v[0]));
		v[0].type = "*/*";
		v[0].q = 1.0;
		count = 1;
	}
	/* Insertion sort: stable, and count is small. */
	for (size_t i = 1; i < count; i++) {
		struct http_mediatype t = v[i];
		size_t j = i;
		while (j > 0 && v[j - 1].q < t.q) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = t;
	}
	*out = v;
	*n = count;
	return PC_OK;
}

const char *http_mediatype_param(const struct http_mediatype *m,
                                 const char *name)
{
	for (size_t i = 0; i < m->n_params; i++)
		if (strcasecmp(m->params[i].name, name) == 0)
			return m->params[i].value;
	return NULL;
}

bool http_mediatype_covers(const struct http_mediatype *range, const char *type)
{
	const char *r = range->type;
	const char *slash = strchr(r, '/');
	size_t tn = strcspn(type, "; \t");

	if (slash == NULL)
		return false;
	if (strcmp(r, "*/*") == 0)
		return true;
	if (strcmp(slash, "/*") == 0) {
		size_t major = (size_t)(slash - r) + 1; /* "image/" */
		return tn > major && strncasecmp(type, r, major) == 0;
	}
	return strlen(r) == tn && strncasecmp(type, r, tn) == 0;
}
