/*
 * fuzz_mediatype.c - libFuzzer target for media type and Accept parsing
 * (src/http/mediatype.c).
 *
 * Input: byte 0 selects what the rest is parsed as (bit 0: a Content-Type
 * with http_mediatype_parse, else an Accept header with
 * http_accept_parse); the rest is the header value (cut at a NUL for
 * Accept, which takes a C string). Checks the contract on every success:
 * types hold one '/' and are lower case, parameter names are lower case,
 * q-values lie in 0..1 and the Accept list is sorted by q descending;
 * http_mediatype_covers and http_mediatype_param run on every entry.
 */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct http_mediatype *m)
{
	const char *slash = strchr(m->type, '/');

	if (slash == NULL || strchr(slash + 1, '/') != NULL)
		abort();
	for (const char *p = m->type; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
	if (m->n_params > HTTP_MEDIATYPE_PARAMS || !(m->q >= 0.0) ||
	    !(m->q <= 1.0))
		abort();
	for (size_t i = 0; i < m->n_params; i++) {
		for (const char *p = m->params[i].name; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
		if (http_mediatype_param(m, m->params[i].name) == NULL)
			abort();
		(void)strlen(m->params[i].value);
	}
	/* A range always covers a type equal to itself unless wildcard. */
	if (strchr(m->type, '*') == NULL && !http_mediatype_covers(m, m->type))
		abort();
	(void)http_mediatype_covers(m, "application/dicom");
	(void)http_mediatype_covers(m, "image/png");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pc_arena *a;
	char *s;

	if (size < 1)
		return 0;
	a = pc_arena_create(4096);
	s = malloc(size);
	if (a == NULL || s == NULL)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if ((data[0] & 1u) != 0) {
		struct http_mediatype m;
		if (http_mediatype_parse(a, s, size - 1, &m, NULL) == PC_OK)
			check(&m);
	} else {
		struct http_mediatype *v;
		size_t n;
		if (http_accept_parse(a, s, &v, &n, NULL) == PC_OK) {
			if (n == 0)
				abort();
			for (size_t i = 0; i < n; i++) {
				check(&v[i]);
				if (i > 0 && v[i - 1].q < v[i].q)
					abort();
			}
		}
	}
	free(s);
	pc_arena_destroy(a);
	return 0;
}
