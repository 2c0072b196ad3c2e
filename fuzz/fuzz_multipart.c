/*
 * fuzz_multipart.c - libFuzzer target for the streaming multipart parser
 * (src/http/multipart.c).
 *
 * Input layout:
 *   byte 0        bits 0-2: boundary length - 1 (1..8 bytes)
 *                 bit 3: small limits (max_header_bytes 16 + 4 * byte 2,
 *                 max_parts 1 + (byte 2 >> 4))
 *   bytes 1..L    the boundary (invalid ones are rejected, nothing else)
 *   byte L+1      chunking seed
 *   byte L+2      limits byte (used when bit 3 of byte 0 is set)
 *   the rest      the body
 * The body is parsed twice: in one piece, and cut into pseudo-random chunks
 * (1 to 64 bytes, sizes from the seed). Both runs must report the same
 * status and the same events (part headers, part data concatenated, part
 * ends): chunk boundaries must never change what the parser sees. Every
 * pointer handed to a callback is read fully (ASan checks it).
 */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct log {
	struct pc_buf b;
	bool data_open; /* the last event was data: append to it */
};

static void put_str(struct pc_buf *b, const char *s)
{
	pc_buf_append(b, s, strlen(s) + 1);
}

static enum pc_status on_begin(void *ctx, const struct http_part *p)
{
	struct log *l = ctx;

	l->data_open = false;
	pc_buf_putc(&l->b, 'B');
	put_str(&l->b, p->content_type);
	put_str(&l->b, p->disposition_name);
	put_str(&l->b, p->filename);
	put_str(&l->b, p->content_location);
	return PC_OK;
}

static enum pc_status on_data(void *ctx, const uint8_t *p, size_t n)
{
	struct log *l = ctx;

	if (n == 0)
		abort(); /* the parser never emits empty data */
	if (!l->data_open)
		pc_buf_putc(&l->b, 'D');
	l->data_open = true;
	pc_buf_append(&l->b, p, n);
	return PC_OK;
}

static enum pc_status on_end(void *ctx)
{
	struct log *l = ctx;

	l->data_open = false;
	pc_buf_putc(&l->b, 'E');
	return PC_OK;
}

static const struct http_multipart_cbs cbs = {on_begin, on_data, on_end};

static enum pc_status parse(const char *boundary,
                            const struct http_multipart_limits *lim,
                            const uint8_t *body, size_t n, uint32_t seed,
                            struct log *l, size_t *parts)
{
	http_multipart *m = http_multipart_create(boundary, &cbs, l, lim, NULL);
	enum pc_status st = PC_OK;
	size_t pos = 0;

	if (m == NULL)
		abort(); /* the boundary was checked valid by the first run */
	while (pos < n && st == PC_OK) {
		size_t len = n - pos;
		if (seed != 0) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			size_t want = 1 + seed % 64;
			if (want < len)
				len = want;
		}
		st = http_multipart_feed(m, body + pos, len, NULL);
		pos += len;
	}
	if (st == PC_OK)
		st = http_multipart_finish(m, NULL);
	*parts = http_multipart_count(m);
	http_multipart_destroy(m);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_multipart_limits lim = {0, 0};
	struct log one = {PC_BUF_INIT, false}, many = {PC_BUF_INIT, false};
	char boundary[9];
	size_t blen, parts1, parts2;
	enum pc_status st1, st2;
	http_multipart *probe;
	uint32_t seed;

	if (size < 1)
		return 0;
	blen = 1 + (data[0] & 7u);
	if (size < 1 + blen + 2)
		return 0;
	memcpy(boundary, data + 1, blen);
	boundary[blen] = '\0';
	if (strlen(boundary) != blen)
		return 0;
	if ((data[0] & 8u) != 0) {
		lim.max_header_bytes = 16 + 4u * data[blen + 2];
		lim.max_parts = 1 + (data[blen + 2] >> 4);
	}
	seed = 0x9E3779B9u ^ data[blen + 1];
	probe = http_multipart_create(boundary, &cbs, &one, &lim, NULL);
	if (probe == NULL)
		return 0;
	http_multipart_destroy(probe);
	data += blen + 3;
	size -= blen + 3;

	st1 = parse(boundary, &lim, data, size, 0, &one, &parts1);
	st2 = parse(boundary, &lim, data, size, seed, &many, &parts2);
	if (st1 != st2 || parts1 != parts2 || one.b.n != many.b.n ||
	    (one.b.n > 0 && memcmp(one.b.p, many.b.p, one.b.n) != 0))
		abort();
	if (st1 != PC_OK && st1 != PC_PARSE && st1 != PC_TRUNC &&
	    st1 != PC_LIMIT && st1 != PC_NOMEM)
		abort();
	pc_buf_cleanup(&one.b);
	pc_buf_cleanup(&many.b);
	return 0;
}
