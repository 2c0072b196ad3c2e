/*
 * url.c - percent-decoding and query-string iteration (RFC 3986 2.1,
 * application/x-www-form-urlencoded for '+'). Used on untrusted input: every
 * escape is checked before it is read.
 */
#include "pc.h"

#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum pc_status pc_url_decode(const char *s, size_t n, bool form,
			     struct pc_buf *out, struct pc_err *err)
{
	size_t i = 0;

	while (i < n) {
		/* Copy the run up to the next byte that needs decoding. */
		size_t j = i;
		while (j < n && s[j] != '%' && s[j] != '\0' &&
		       !(form && s[j] == '+'))
			j++;
		pc_buf_append(out, s + i, j - i);
		if (j == n)
			break;
		/* A raw NUL would cut the C string the caller gets, as an
		 * encoded one would. */
		if (s[j] == '\0')
			return pc_err_set(err, PC_INVAL, j,
					  "NUL byte at offset %zu", j);
		if (s[j] == '+') {
			pc_buf_putc(out, ' ');
			i = j + 1;
			continue;
		}
		if (n - j < 3 || hexval(s[j + 1]) < 0 || hexval(s[j + 2]) < 0)
			return pc_err_set(err, PC_INVAL, j,
					  "malformed percent escape at offset %zu",
					  j);
		char c = (char)(hexval(s[j + 1]) * 16 + hexval(s[j + 2]));
		if (c == '\0')
			return pc_err_set(err, PC_INVAL, j,
					  "encoded NUL at offset %zu", j);
		pc_buf_putc(out, c);
		i = j + 3;
	}
	/* An empty result still has to read as "". */
	pc_buf_append(out, "", 0);
	enum pc_status st = pc_buf_status(out);
	if (st != PC_OK)
		return pc_err_set(err, st, 0, "decoding a URL component: %s",
				  pc_status_text(st));
	return PC_OK;
}

bool pc_qs_next(struct pc_qs *it, struct pc_span *name, struct pc_span *value)
{
	while (it->p < it->end) {
		const char *start = it->p;
		const char *amp = memchr(start, '&', (size_t)(it->end - start));
		const char *stop = amp ? amp : it->end;
		it->p = amp ? amp + 1 : it->end;
		if (stop == start)
			continue;
		const char *eq = memchr(start, '=', (size_t)(stop - start));
		if (eq) {
			*name = pc_span_make(start, (size_t)(eq - start));
			*value = pc_span_make(eq + 1, (size_t)(stop - eq - 1));
		} else {
			*name = pc_span_make(start, (size_t)(stop - start));
			*value = pc_span_make(stop, 0);
		}
		return true;
	}
	return false;
}
