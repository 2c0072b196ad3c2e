/*
 * fold.c - normalised forms of values stored in index columns: folded
 * person names for case- and accent-insensitive matching, and DA / TM in
 * forms that compare lexically.
 *
 * The query module has its own folding inside qry_key_match() (not
 * exported); this one only has to agree with itself, because both the
 * stored column and the key are folded here.
 */
#include "idx_int.h"

#include <string.h>

/* Base letters of U+00C0..U+00FF; 0 keeps the code point (U+00D7 and
 * U+00F7, the multiplication and division signs). */
static const char latin1[64] = {
    'a', 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'e', 'e', 'e', 'e', 'i',
    'i', 'i', 'i', 'd', 'n', 'o', 'o', 'o', 'o', 'o', 0,   'o', 'u',
    'u', 'u', 'u', 'y', 't', 's', 'a', 'a', 'a', 'a', 'a', 'a', 'a',
    'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i', 'd', 'n', 'o', 'o',
    'o', 'o', 'o', 0,   'o', 'u', 'u', 'u', 'u', 'y', 't', 'y'};

/* Base letters of U+0100..U+017F (Latin Extended-A), in code point order. */
static const char latin_ext_a[] = "aaaaaa"
                                  "cccccccc"
                                  "dddd"
                                  "eeeeeeeeee"
                                  "gggggggg"
                                  "hhhh"
                                  "iiiiiiiiii"
                                  "ii"
                                  "jj"
                                  "kkk"
                                  "llllllllll"
                                  "nnnnnnnnn"
                                  "oooooo"
                                  "oo"
                                  "rrrrrr"
                                  "ssssssss"
                                  "tttttt"
                                  "uuuuuuuuuuuu"
                                  "ww"
                                  "yyy"
                                  "zzzzzz"
                                  "s";
_Static_assert(sizeof(latin_ext_a) == 129, "one letter per code point");

/* Decodes one UTF-8 sequence at s[0..n); returns its length, or 0 when it
 * is malformed (the caller copies one byte). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2;
		c = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3;
		c = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && c < 0x10000) || c > 0x10FFFF)
		return 0;
	*cp = c;
	return len;
}

static void put_utf8(struct pc_buf *out, uint32_t c)
{
	char b[4];

	if (c < 0x80) {
		pc_buf_putc(out, (char)c);
	} else if (c < 0x800) {
		b[0] = (char)(0xC0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3F));
		pc_buf_append(out, b, 2);
	} else if (c < 0x10000) {
		b[0] = (char)(0xE0 | c >> 12);
		b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		b[2] = (char)(0x80 | (c & 0x3F));
		pc_buf_append(out, b, 3);
	} else {
		b[0] = (char)(0xF0 | c >> 18);
		b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
		b[3] = (char)(0x80 | (c & 0x3F));
		pc_buf_append(out, b, 4);
	}
}

void idx__fold(const char *s, size_t n, struct pc_buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	uint32_t c;

	while (i < n) {
		if (p[i] < 0x80) { /* fast path: ASCII */
			char ch = (char)p[i++];

			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			pc_buf_putc(out, ch);
			continue;
		}
		len = utf8_next(p + i, n - i, &c);
		if (len == 0) {
			pc_buf_putc(out, (char)p[i++]);
			continue;
		}
		i += len;
		if (c >= 0xC0 && c <= 0xFF && latin1[c - 0xC0] != 0) {
			pc_buf_putc(out, latin1[c - 0xC0]);
		} else if (c >= 0x100 && c <= 0x17F) {
			pc_buf_putc(out, latin_ext_a[c - 0x100]);
		} else if (c >= 0x300 && c <= 0x36F) {
			/* combining diacritical mark: dropped */
		} else if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) {
			put_utf8(out, c + 0x20); /* Greek capitals */
		} else if (c == 0x3C2) {
			put_utf8(out, 0x3C3); /* final sigma */
		} else if (c >= 0x410 && c <= 0x42F) {
			put_utf8(out, c + 0x20); /* Cyrillic capitals */
		} else if (c >= 0x400 && c <= 0x40F) {
			put_utf8(out, c + 0x50);
		} else {
			put_utf8(out, c);
		}
	}
}

void idx__fold_pn(const char *s, struct pc_buf *out)
{
	size_t n = strcspn(s, "=");
	size_t start = out->n;

	idx__fold(s, n, out);
	while (out->n > start && out->st == PC_OK &&
	       (out->p[out->n - 1] == '^' || out->p[out->n - 1] == ' '))
		pc_buf_truncate(out, 1);
}

void idx__norm_da(const char *s, struct pc_buf *out)
{
	for (; *s; s++)
		if (*s >= '0' && *s <= '9')
			pc_buf_putc(out, *s);
}

void idx__norm_tm(const char *s, char fill, struct pc_buf *out)
{
	size_t digits = 0;

	for (; *s && *s != '.'; s++) {
		if (*s >= '0' && *s <= '9' && digits < 6) {
			pc_buf_putc(out, *s);
			digits++;
		}
	}
	for (; digits < 6; digits++)
		pc_buf_putc(out, fill);
	pc_buf_putc(out, '.');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9' && digits < 12; s++, digits++)
			pc_buf_putc(out, *s);
	for (; digits < 12; digits++)
		pc_buf_putc(out, fill);
}
