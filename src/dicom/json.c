/*
 * json.c - DICOM JSON (PS3.18 Annex F) in both directions.
 *
 * Writing is on the hot path (QIDO-RS and WADO-RS metadata answer with it),
 * so dcm_json_write formats straight into the caller's pc_buf: no JSON
 * library, no tree, one scratch buffer for decoded text. Reading is rarer
 * (STOW-RS with JSON metadata, tests) and uses jansson.
 *
 * Decisions where the standard leaves room (each one matched against
 * pydicom's to_json_dict, which the corpus test compares us with):
 *   - An element without a value has no "Value" key (F.2.5); a sequence
 *     with no items likewise. Inside a multi-valued element an empty value
 *     is null (F.2.5).
 *   - DS, IS and the binary numbers are JSON numbers (F.2.3). DS and FD
 *     are printed with the fewest digits that read back as the same double,
 *     FL as the same float. A DS or IS that is not a number is kept as a
 *     JSON string rather than dropped; NaN and infinities (not JSON) are
 *     the strings "NaN", "Infinity", "-Infinity", which the reader accepts.
 *   - PN groups are split on '=' after decoding; empty groups are omitted.
 *   - Binary values are base64 of the little-endian bytes (F.2.7): values
 *     read from a big-endian file are swapped word by word first.
 *   - Encapsulated pixel data is inlined as the byte stream pydicom keeps
 *     for it: item tag and length before the offset table and each
 *     fragment, without the closing sequence delimiter. The reader turns
 *     such a stream back into fragments.
 *   - Text that is not valid UTF-8 after decoding never makes the JSON
 *     invalid: each bad byte becomes U+FFFD.
 *
 * Reading: text is encoded into the JSON's own (0008,0005) when every value
 * fits, else the whole data set is read again as ISO_IR 192 (two passes over
 * the jansson tree, so no half-converted data set is ever returned). Limits:
 * sequences nest at most 64 deep (jansson itself stops at 2048 levels of
 * JSON); integers beyond long long are quoted before jansson sees them so
 * that UV values up to 2^64-1 read back. Every error names the tag.
 */
#include "dcm.h"
#include "json_int.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deepest item nesting the writer follows (the path given to the bulk
 * callback is an array of this size). Parsed files stop at 64 by default. */
#define JSON_WRITE_MAX_DEPTH 256
/* Deepest sequence nesting the reader accepts (dcm_limits_default). */
#define JSON_READ_MAX_DEPTH 64

/* ---- base64 (RFC 4648 section 4) ---------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A streaming encoder: the bytes of one value may come in several pieces
 * (encapsulated fragments, byte-swapped chunks), so up to two bytes are
 * carried over to the next piece. */
struct b64enc {
	struct pc_buf *out;
	uint8_t carry[3];
	size_t nc;
};

static void b64_quad(const uint8_t *in, char *dst)
{
	dst[0] = b64_alphabet[in[0] >> 2];
	dst[1] = b64_alphabet[((in[0] & 3) << 4) | (in[1] >> 4)];
	dst[2] = b64_alphabet[((in[1] & 15) << 2) | (in[2] >> 6)];
	dst[3] = b64_alphabet[in[2] & 63];
}

static void b64_feed(struct b64enc *s, const uint8_t *p, size_t n)
{
	size_t groups, outn, i;
	uint8_t *dst;

	while (s->nc > 0 && s->nc < 3 && n > 0) {
		s->carry[s->nc++] = *p++;
		n--;
		if (s->nc == 3) {
			/* The carry is emptied even when the buffer has failed
			 * (its error is sticky and the output lost): a later
			 * call must never find it full. */
			s->nc = 0;
			dst = pc_buf_reserve(s->out, 4);
			if (dst == NULL)
				return;
			b64_quad(s->carry, (char *)dst);
			pc_buf_commit(s->out, 4);
		}
	}
	groups = n / 3;
	if (groups > 0) {
		if (!pc_mul_ok(groups, 4, &outn)) {
			/* Cannot happen for an in-memory value; make the
			 * buffer report it rather than wrap around. */
			(void)pc_buf_reserve(s->out, SIZE_MAX);
			return;
		}
		dst = pc_buf_reserve(s->out, outn);
		if (dst == NULL)
			return;
		for (i = 0; i < groups; i++)
			b64_quad(p + 3 * i, (char *)dst + 4 * i);
		pc_buf_commit(s->out, outn);
		p += 3 * groups;
		n -= 3 * groups;
	}
	for (i = 0; i < n; i++)
		s->carry[s->nc++] = p[i];
}

static void b64_finish(struct b64enc *s)
{
	char q[4];

	if (s->nc == 0)
		return;
	if (s->nc == 1)
		s->carry[1] = 0;
	s->carry[2] = 0;
	b64_quad(s->carry, q);
	if (s->nc == 1)
		q[2] = '=';
	q[3] = '=';
	pc_buf_append(s->out, q, 4);
	s->nc = 0;
}

void dcm__base64_encode(struct pc_span in, struct pc_buf *out)
{
	struct b64enc s = {out, {0}, 0};

	b64_feed(&s, in.p, in.n);
	b64_finish(&s);
}

static int b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum pc_status dcm__base64_decode(struct pc_span in, struct pc_buf *out)
{
	uint8_t *dst;
	size_t i, q = 0, pad = 0, w = 0;
	uint32_t acc = 0;
	int v;

	/* At most 3 bytes per 4 characters (whitespace only shrinks it). */
	dst = pc_buf_reserve(out, in.n / 4 * 3 + 3);
	if (dst == NULL)
		return pc_buf_status(out);
	for (i = 0; i < in.n; i++) {
		uint8_t c = in.p[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad > 0)
			return PC_PARSE;
		acc = (acc << 6) | (uint32_t)v;
		if (++q % 4 == 0) {
			dst[w++] = (uint8_t)(acc >> 16);
			dst[w++] = (uint8_t)(acc >> 8);
			dst[w++] = (uint8_t)acc;
			acc = 0;
		}
	}
	switch (q % 4) {
	case 1:
		return PC_PARSE;
	case 2:
		dst[w++] = (uint8_t)(acc >> 4);
		break;
	case 3:
		dst[w++] = (uint8_t)(acc >> 10);
		dst[w++] = (uint8_t)(acc >> 2);
		break;
	default:
		break;
	}
	if (pad > 2 || (pad > 0 && (q + pad) % 4 != 0))
		return PC_PARSE;
	pc_buf_commit(out, w);
	return PC_OK;
}

/* ---- numbers ------------------------------------------------------------ */

bool dcm__json_fmt_real(double v, bool single, char *out, size_t size)
{
	int prec, last = single ? 9 : 17;

	if (!isfinite(v))
		return false;
	/* "-0" would read back as the integer 0 in most parsers (Python's,
	 * jansson): keep the sign of zero with a fraction. */
	if (v == 0 && signbit(v)) {
		snprintf(out, size, "-0.0");
		return true;
	}
	/* %g drops trailing zeros, so the first precision that reads back
	 * gives the shortest form: 0.1f is "0.1", not 0.100000001490116. */
	for (prec = single ? 6 : 15; prec <= last; prec++) {
		snprintf(out, size, "%.*g", prec, v);
		if (single ? strtof(out, NULL) == (float)v
		           : strtod(out, NULL) == v)
			break;
	}
	return true;
}

/*
 * The text dcm__json_fmt_real gives for the DS value s[0..n), written
 * without going through a double when that is exact: a plain decimal
 * ([+-] digits [. digits], no exponent) of at most 15 significant digits
 * whose leading digit is at most 4 places right of the point and at most
 * 14 left of it. Such a number reads back from "%.15g" unchanged (DBL_DIG),
 * and that is the shortest form fmt_real looks for first, in fixed
 * notation, without the zeros "%g" strips: so the answer is the input
 * without its '+', leading zeros and trailing fraction zeros. Anything
 * else (exponents, more digits, -0) is false: the caller takes the
 * strtod path. `out` holds at least 24 bytes.
 */
bool dcm__json_ds_plain(const char *s, size_t n, char *out, size_t size)
{
	size_t i = 0, ib, ie, fb, fe, k, o = 0, sig;
	bool neg = false;
	int x;

	if (size < 24)
		return false;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	ib = i;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	ie = fb = fe = i;
	if (i < n && s[i] == '.') {
		fb = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		fe = i;
	}
	if (i != n || (ie == ib && fe == fb))
		return false;
	while (ib < ie && s[ib] == '0')
		ib++;
	while (fe > fb && s[fe - 1] == '0')
		fe--;
	if (ib < ie) {
		sig = (ie - ib) + (fe - fb);
		x = (int)(ie - ib) - 1;
	} else {
		for (k = fb; k < fe && s[k] == '0'; k++)
			;
		if (k == fe) { /* zero; "-0" keeps its sign the slow way */
			if (neg)
				return false;
			memcpy(out, "0", 2);
			return true;
		}
		sig = fe - k;
		x = -(int)(k - fb) - 1;
	}
	if (sig > 15 || x < -4 || x >= 15)
		return false;
	if (neg)
		out[o++] = '-';
	if (ib == ie)
		out[o++] = '0';
	memcpy(out + o, s + ib, ie - ib);
	o += ie - ib;
	if (fe > fb) {
		out[o++] = '.';
		memcpy(out + o, s + fb, fe - fb);
		o += fe - fb;
	}
	out[o] = '\0';
	return true;
}

/* Appends `v` in decimal, with a '-' before it when `neg`: the integers
 * of the writer, without printf's cost on every value. */
static void put_digits(struct pc_buf *b, unsigned long long v, bool neg)
{
	char d[24];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (neg)
		d[--i] = '-';
	pc_buf_append(b, d + i, sizeof(d) - i);
}

static void put_int(struct pc_buf *b, long long v)
{
	put_digits(b, v < 0 ? 0ULL - (unsigned long long)v
	                    : (unsigned long long)v,
	           v < 0);
}

/* Whether s[0..n) is a decimal number as PS3.5 6.2 allows for DS:
 * [+-] digits [. digits] [eE [+-] digits], digits on at least one side of
 * the point. strtod alone would also take "inf", "nan" and hex floats. */
static bool ds_syntax(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		i++;
		digits++;
	}
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			i++;
			digits++;
		}
	}
	if (digits == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		digits = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			i++;
			digits++;
		}
		if (digits == 0)
			return false;
	}
	return i == n;
}

static bool is_syntax(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i == n)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* ---- writer ------------------------------------------------------------- */

struct jw {
	struct pc_buf *out;
	const struct dcm_json_opts *o;
	struct pc_buf val;                   /* one element's decoded text */
	uint32_t path[JSON_WRITE_MAX_DEPTH]; /* tags from the root to here */
	size_t depth;                        /* entries used in path */
	struct pc_err *err;
};

static void nl(struct jw *w, unsigned level)
{
	uint8_t *p;
	size_t n;

	if (!w->o->pretty)
		return;
	n = 1 + 2 * (size_t)level;
	p = pc_buf_reserve(w->out, n);
	if (p == NULL)
		return;
	p[0] = '\n';
	memset(p + 1, ' ', n - 1);
	pc_buf_commit(w->out, n);
}

/* `"name":` (and a space when pretty). */
static void put_name(struct jw *w, const char *name)
{
	pc_buf_putc(w->out, '"');
	pc_buf_puts(w->out, name);
	pc_buf_puts(w->out, w->o->pretty ? "\": " : "\":");
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), 0 if it is not one. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

/* A JSON string (RFC 8259 section 7) from UTF-8 text. */
static void put_str(struct pc_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, start = 0, len;
	char esc[7];

	pc_buf_putc(b, '"');
	while (i < n) {
		uint8_t c = p[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		pc_buf_append(b, p + start, i - start);
		if (c >= 0x80) {
			len = utf8_len(p + i, n - i);
			if (len > 0) {
				pc_buf_append(b, p + i, len);
				i += len;
			} else {
				pc_buf_puts(b, "\xEF\xBF\xBD"); /* U+FFFD */
				i++;
			}
			start = i;
			continue;
		}
		switch (c) {
		case '"':
			pc_buf_puts(b, "\\\"");
			break;
		case '\\':
			pc_buf_puts(b, "\\\\");
			break;
		case '\n':
			pc_buf_puts(b, "\\n");
			break;
		case '\r':
			pc_buf_puts(b, "\\r");
			break;
		case '\t':
			pc_buf_puts(b, "\\t");
			break;
		case '\b':
			pc_buf_puts(b, "\\b");
			break;
		case '\f':
			pc_buf_puts(b, "\\f");
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			pc_buf_append(b, esc, 6);
			break;
		}
		i++;
		start = i;
	}
	pc_buf_append(b, p + start, i - start);
	pc_buf_putc(b, '"');
}

static void put_real(struct pc_buf *b, double v, bool single)
{
	char num[40];

	if (dcm__json_fmt_real(v, single, num, sizeof(num)))
		pc_buf_puts(b, num);
	else if (isnan(v))
		pc_buf_puts(b, "\"NaN\"");
	else
		pc_buf_puts(b, v < 0 ? "\"-Infinity\"" : "\"Infinity\"");
}

/* One DS or IS value as a JSON number, or as a string when it is not a
 * number (kept rather than lost; pydicom would refuse the file). */
static void put_text_number(struct pc_buf *b, enum dcm_vr vr, const char *s,
                            size_t n)
{
	char num[64];
	double d;
	long long ll;

	if (vr == DCM_VR_DS && dcm__json_ds_plain(s, n, num, sizeof(num))) {
		pc_buf_puts(b, num);
		return;
	}
	if (n >= sizeof(num) || !ds_syntax(s, n))
		goto as_string;
	memcpy(num, s, n);
	num[n] = '\0';
	errno = 0;
	if (vr == DCM_VR_IS && is_syntax(s, n)) {
		ll = strtoll(num, NULL, 10);
		if (errno != 0)
			goto as_string;
		put_int(b, ll);
		return;
	}
	d = strtod(num, NULL);
	if (!isfinite(d))
		goto as_string;
	if (vr == DCM_VR_IS) {
		/* "12.0" is an integer written oddly (pydicom reads it as
		 * 12); "12.5" is not an IS at all. */
		if (d != floor(d) || fabs(d) > 9007199254740992.0)
			goto as_string;
		pc_buf_printf(b, "%.0f", d);
		return;
	}
	put_real(b, d, false);
	return;
as_string:
	put_str(b, s, n);
}

/* The "Value" array: opening, separators and closing. */
static void value_begin(struct jw *w, unsigned level)
{
	pc_buf_putc(w->out, ',');
	nl(w, level + 1);
	put_name(w, "Value");
	pc_buf_putc(w->out, '[');
}

static void value_sep(struct jw *w, unsigned level, size_t i)
{
	if (i > 0)
		pc_buf_putc(w->out, ',');
	nl(w, level + 2);
}

static void value_end(struct jw *w, unsigned level)
{
	nl(w, level + 1);
	pc_buf_putc(w->out, ']');
}

/* Drops the VR's insignificant spaces (PS3.5 6.2): trailing spaces (and
 * the NULs some writers pad with) everywhere; leading spaces too where the
 * standard says they are not significant. */
static void trim(enum dcm_vr vr, const char **s, size_t *n)
{
	const char *p = *s;
	size_t len = *n;

	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\0'))
		len--;
	switch (vr) {
	case DCM_VR_AE:
	case DCM_VR_AS:
	case DCM_VR_CS:
	case DCM_VR_DA:
	case DCM_VR_DS:
	case DCM_VR_DT:
	case DCM_VR_IS:
	case DCM_VR_LO:
	case DCM_VR_SH:
	case DCM_VR_TM:
	case DCM_VR_UI:
		while (len > 0 && p[0] == ' ') {
			p++;
			len--;
		}
		break;
	default:
		break;
	}
	*s = p;
	*n = len;
}

/* PS3.18 F.2.2: {"Alphabetic": .., "Ideographic": .., "Phonetic": ..}. */
static void put_pn(struct jw *w, unsigned level, const char *s, size_t n)
{
	static const char *const group[3] = {"Alphabetic", "Ideographic",
	                                     "Phonetic"};
	const char *p = s, *end = s + n, *eq;
	size_t g, len;
	bool first = true;

	pc_buf_putc(w->out, '{');
	for (g = 0; g < 3 && p <= end; g++) {
		eq = g < 2 ? memchr(p, '=', (size_t)(end - p)) : NULL;
		len = eq != NULL ? (size_t)(eq - p) : (size_t)(end - p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len > 0) {
			if (!first)
				pc_buf_putc(w->out, ',');
			nl(w, level + 3);
			put_name(w, group[g]);
			put_str(w->out, p, len);
			first = false;
		}
		if (eq == NULL)
			break;
		p = eq + 1;
	}
	if (!first)
		nl(w, level + 2);
	pc_buf_putc(w->out, '}');
}

/* Text VRs: decode, split, trim, then one JSON value per DICOM value. */
static enum pc_status write_text(struct jw *w, const dcm_dataset *ds,
                                 const dcm_elem *e, enum dcm_vr vr,
                                 const struct dcm_vr_info *vi, unsigned level)
{
	struct pc_span raw;
	enum pc_status st;
	const char *p, *end, *v, *bs;
	size_t n, i;

	pc_buf_reset(&w->val);
	st = dcm_elem_get_string(ds, e, SIZE_MAX, &w->val);
	if (st == PC_NOMEM)
		return st;
	if (st != PC_OK) {
		/* Undecodable: show the bytes (bad ones become U+FFFD in
		 * put_str) rather than fail the whole data set. */
		pc_buf_reset(&w->val);
		raw = dcm_elem_value(e);
		pc_buf_append(&w->val, raw.p, raw.n);
	}
	if (pc_buf_status(&w->val) != PC_OK)
		return pc_buf_status(&w->val);
	p = pc_buf_str(&w->val);
	end = p + w->val.n;

	/* A single value that is empty once trimmed is no value at all. */
	v = p;
	n = w->val.n;
	if (vi->cls == DCM_VRC_TEXT || memchr(p, '\\', n) == NULL) {
		trim(vr, &v, &n);
		if (n == 0)
			return PC_OK;
	}
	value_begin(w, level);
	for (i = 0;; i++) {
		bs = vi->cls == DCM_VRC_TEXT
		         ? NULL
		         : memchr(p, '\\', (size_t)(end - p));
		v = p;
		n = bs != NULL ? (size_t)(bs - p) : (size_t)(end - p);
		trim(vr, &v, &n);
		value_sep(w, level, i);
		if (n == 0)
			pc_buf_puts(w->out, "null"); /* PS3.18 F.2.5 */
		else if (vr == DCM_VR_DS || vr == DCM_VR_IS)
			put_text_number(w->out, vr, v, n);
		else if (vr == DCM_VR_PN)
			put_pn(w, level, v, n);
		else
			put_str(w->out, v, n);
		if (bs == NULL)
			break;
		p = bs + 1;
	}
	value_end(w, level);
	return PC_OK;
}

static uint16_t rd16(const uint8_t *p, bool be)
{
	return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t rd32(const uint8_t *p, bool be)
{
	uint32_t a = rd16(p, be), b = rd16(p + 2, be);

	return be ? a << 16 | b : b << 16 | a;
}

static uint64_t rd64(const uint8_t *p, bool be)
{
	uint64_t a = rd32(p, be), b = rd32(p + 4, be);

	return be ? a << 32 | b : b << 32 | a;
}

/* Binary numbers (PS3.5 6.2: FL FD SS US SL UL SV UV AT). A trailing
 * partial value (a malformed length) is ignored. */
static void write_numbers(struct jw *w, const dcm_elem *e, enum dcm_vr vr,
                          const struct dcm_vr_info *vi, unsigned level)
{
	struct pc_span v = dcm_elem_value(e);
	bool be = dcm_elem_big_endian(e);
	size_t count = vi->size > 0 ? v.n / vi->size : 0, i;
	const uint8_t *p;
	uint32_t u32;
	uint64_t u64;
	float f;
	double d;

	if (count == 0)
		return;
	value_begin(w, level);
	for (i = 0; i < count; i++) {
		p = v.p + i * vi->size;
		value_sep(w, level, i);
		switch (vr) {
		case DCM_VR_US:
			put_digits(w->out, rd16(p, be), false);
			break;
		case DCM_VR_SS:
			put_int(w->out, (int16_t)rd16(p, be));
			break;
		case DCM_VR_UL:
			put_digits(w->out, rd32(p, be), false);
			break;
		case DCM_VR_SL:
			put_int(w->out, (int32_t)rd32(p, be));
			break;
		case DCM_VR_UV:
			put_digits(w->out, rd64(p, be), false);
			break;
		case DCM_VR_SV:
			put_int(w->out, (int64_t)rd64(p, be));
			break;
		case DCM_VR_FL:
			u32 = rd32(p, be);
			memcpy(&f, &u32, sizeof(f));
			put_real(w->out, (double)f, true);
			break;
		case DCM_VR_FD:
			u64 = rd64(p, be);
			memcpy(&d, &u64, sizeof(d));
			put_real(w->out, d, false);
			break;
		default: /* AT: group then element, each in the file's order */
			pc_buf_printf(w->out, "\"%04X%04X\"",
			              (unsigned)rd16(p, be),
			              (unsigned)rd16(p + 2, be));
			break;
		}
	}
	value_end(w, level);
}

/* Feeds `v` to the encoder as little endian: words of `size` bytes are
 * reversed when the value is big endian (PS3.18 F.2.7). */
static void b64_feed_le(struct b64enc *s, struct pc_span v, bool be,
                        size_t size)
{
	/* A multiple of 3 (no base64 group straddles chunks, though the
	 * encoder copes) and of every word size. */
	uint8_t chunk[1536];
	size_t off = 0, n, i, j;

	if (!be || size < 2) {
		b64_feed(s, v.p, v.n);
		return;
	}
	while (off < v.n) {
		n = v.n - off < sizeof(chunk) ? v.n - off : sizeof(chunk);
		for (i = 0; i + size <= n; i += size)
			for (j = 0; j < size; j++)
				chunk[i + j] = v.p[off + i + size - 1 - j];
		/* An odd tail (malformed length) goes as it is. */
		for (; i < n; i++)
			chunk[i] = v.p[off + i];
		b64_feed(s, chunk, n);
		off += n;
	}
}

static void put_item_header(struct b64enc *s, size_t len)
{
	uint8_t h[8] = {0xFE,
	                0xFF,
	                0x00,
	                0xE0,
	                (uint8_t)len,
	                (uint8_t)(len >> 8),
	                (uint8_t)(len >> 16),
	                (uint8_t)(len >> 24)};

	b64_feed(s, h, sizeof(h));
}

/* OB OD OF OL OV OW UN, and encapsulated pixel data. */
static enum pc_status write_bytes(struct jw *w, const dcm_elem *e,
                                  const struct dcm_vr_info *vi, unsigned level)
{
	bool enc = dcm_elem_is_encapsulated(e);
	struct pc_span v = dcm_elem_value(e), frag;
	struct b64enc s = {w->out, {0}, 0};
	const char *uri = NULL;
	size_t len = v.n, i, nfrag = 0;

	if (enc) {
		/* Offset table item + one item per fragment (PS3.5 A.4). */
		v = dcm_elem_offset_table(e);
		nfrag = dcm_elem_fragment_count(e);
		len = 8 + v.n;
		for (i = 0; i < nfrag; i++)
			if (!pc_add_ok(len, 8 + dcm_elem_fragment(e, i).n,
			               &len))
				return PC_LIMIT;
	}
	if (len == 0)
		return PC_OK;
	if (w->o->bulk != NULL &&
	    (w->o->bulk_threshold == 0 || len > w->o->bulk_threshold))
		uri = w->o->bulk(w->o->bulk_ctx, w->path, w->depth, e);
	pc_buf_putc(w->out, ',');
	nl(w, level + 1);
	if (uri != NULL) {
		put_name(w, "BulkDataURI");
		put_str(w->out, uri, strlen(uri));
		return PC_OK;
	}
	put_name(w, "InlineBinary");
	pc_buf_putc(w->out, '"');
	if (enc) {
		put_item_header(&s, v.n);
		b64_feed(&s, v.p, v.n);
		for (i = 0; i < nfrag; i++) {
			frag = dcm_elem_fragment(e, i);
			put_item_header(&s, frag.n);
			b64_feed(&s, frag.p, frag.n);
		}
	} else {
		b64_feed_le(&s, v, dcm_elem_big_endian(e), vi->size);
	}
	b64_finish(&s);
	pc_buf_putc(w->out, '"');
	return PC_OK;
}

static enum pc_status write_dataset(struct jw *w, const dcm_dataset *ds,
                                    unsigned level);

static enum pc_status write_elem(struct jw *w, const dcm_dataset *ds,
                                 const dcm_elem *e, unsigned level)
{
	enum dcm_vr vr = dcm_elem_vr(e);
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	enum pc_status st = PC_OK;
	size_t i, n;

	/* An element whose VR is unknown (implicit VR, tag not in the
	 * dictionary) is UN (PS3.5 6.2.2); one parsed into items is SQ
	 * whatever its header said (UN of undefined length, PS3.5 6.2.2
	 * note 4). */
	if (dcm_elem_is_sequence(e))
		vr = DCM_VR_SQ;
	else if (vi == NULL)
		vr = DCM_VR_UN;
	vi = dcm_vr_info(vr);

	pc_buf_putc(w->out, '{');
	nl(w, level + 1);
	put_name(w, "vr");
	pc_buf_putc(w->out, '"');
	pc_buf_puts(w->out, vi->name);
	pc_buf_putc(w->out, '"');

	switch (vi->cls) {
	case DCM_VRC_STRING:
	case DCM_VRC_TEXT:
		st = write_text(w, ds, e, vr, vi, level);
		break;
	case DCM_VRC_NUMBER:
		write_numbers(w, e, vr, vi, level);
		break;
	case DCM_VRC_BYTES:
		st = write_bytes(w, e, vi, level);
		break;
	case DCM_VRC_SEQUENCE:
		n = dcm_elem_is_sequence(e) ? dcm_elem_item_count(e) : 0;
		if (n == 0)
			break;
		value_begin(w, level);
		for (i = 0; i < n && st == PC_OK; i++) {
			value_sep(w, level, i);
			st = write_dataset(w, dcm_elem_item(e, i), level + 2);
		}
		value_end(w, level);
		break;
	}
	nl(w, level);
	pc_buf_putc(w->out, '}');
	return st;
}

static enum pc_status write_dataset(struct jw *w, const dcm_dataset *ds,
                                    unsigned level)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = dcm_dataset_count(ds), k;
	enum pc_status st;
	const dcm_elem *e;
	uint32_t tag;
	char key[12];
	bool first = true;

	if (w->depth >= JSON_WRITE_MAX_DEPTH)
		return pc_err_set(w->err, PC_LIMIT, 0,
		                  "items nested deeper than %d levels",
		                  JSON_WRITE_MAX_DEPTH);
	pc_buf_putc(w->out, '{');
	for (i = 0; i < n; i++) {
		e = dcm_dataset_at(ds, i);
		tag = dcm_elem_tag(e);
		if (w->o->skip_group_length && DCM_TAG_ELEM(tag) == 0)
			continue;
		if (!first)
			pc_buf_putc(w->out, ',');
		first = false;
		nl(w, level + 1);
		/* PS3.18 F.2.1.1: eight upper-case hex digits. */
		key[0] = '"';
		for (k = 0; k < 8; k++)
			key[1 + k] = hex[(tag >> (28 - 4 * k)) & 15];
		key[9] = '"';
		key[10] = ':';
		key[11] = ' ';
		pc_buf_append(w->out, key, w->o->pretty ? 12 : 11);
		w->path[w->depth++] = tag;
		st = write_elem(w, ds, e, level + 1);
		w->depth--;
		if (st != PC_OK) {
			char ts[16];

			snprintf(ts, sizeof(ts), "(%04X,%04X)",
			         (unsigned)DCM_TAG_GROUP(tag),
			         (unsigned)DCM_TAG_ELEM(tag));
			return pc_err_set(w->err, st, dcm_elem_offset(e),
			                  "%s: cannot write as JSON: %s", ts,
			                  pc_status_text(st));
		}
	}
	if (!first)
		nl(w, level);
	pc_buf_putc(w->out, '}');
	return PC_OK;
}

enum pc_status dcm_json_write(const dcm_dataset *ds,
                              const struct dcm_json_opts *opts,
                              struct pc_buf *out, struct pc_err *err)
{
	static const struct dcm_json_opts defaults = {0};
	struct jw *w;
	enum pc_status st;

	if (ds == NULL || out == NULL)
		return pc_err_set(err, PC_INVAL, 0,
		                  "dcm_json_write: no data set or buffer");
	/* The path array makes the state too big for some thread stacks. */
	w = pc_calloc(1, sizeof(*w));
	if (w == NULL)
		return pc_err_set(err, PC_NOMEM, 0,
		                  "out of memory writing JSON");
	w->out = out;
	w->o = opts != NULL ? opts : &defaults;
	w->err = err;
	pc_buf_init(&w->val);
	st = write_dataset(w, ds, 0);
	if (st == PC_OK && pc_buf_status(out) != PC_OK)
		st = pc_err_set(err, pc_buf_status(out), 0, "writing JSON: %s",
		                pc_status_text(pc_buf_status(out)));
	pc_buf_cleanup(&w->val);
	pc_free(w);
	return st;
}

/* ---- reader ------------------------------------------------------------- */

struct jr {
	dcm_json_resolve_fn resolve;
	void *ctx;
	struct pc_err *err;
	bool force_utf8;     /* second pass: every text value as UTF-8 */
	bool charset_failed; /* first pass met text its charset cannot hold */
	struct pc_buf val;   /* the element value being built */
	struct pc_buf tmp;   /* encoded text, decoded base64 */
};

static enum pc_status fail(struct jr *r, enum pc_status st, uint32_t tag,
                           const char *fmt, ...) PC_PRINTF(4, 5);

/* Records "(gggg,eeee): message" and returns st. */
static enum pc_status fail(struct jr *r, enum pc_status st, uint32_t tag,
                           const char *fmt, ...)
{
	char where[16];
	va_list ap;

	snprintf(where, sizeof(where), "(%04X,%04X)",
	         (unsigned)DCM_TAG_GROUP(tag), (unsigned)DCM_TAG_ELEM(tag));
	va_start(ap, fmt);
	st = pc_err_vsetp(r->err, st, 0, where, fmt, ap);
	va_end(ap);
	return st;
}

static enum pc_status nomem(struct jr *r, uint32_t tag)
{
	return fail(r, PC_NOMEM, tag, "out of memory");
}

/* Status of a dataset mutation, with the tag in the message. */
static enum pc_status set_status(struct jr *r, enum pc_status st, uint32_t tag)
{
	if (st == PC_OK)
		return st;
	if (st == PC_NOMEM)
		return nomem(r, tag);
	return fail(r, st, tag, "cannot set element: %s", pc_status_text(st));
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static bool parse_tag_key(const char *k, uint32_t *tag)
{
	uint32_t t = 0;
	size_t i;
	int d;

	for (i = 0; i < 8; i++) {
		char c = k[i];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return false;
		t = t << 4 | (uint32_t)d;
	}
	if (k[8] != '\0')
		return false;
	*tag = t;
	return true;
}

static bool is_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/*
 * VRs outside Specific Character Set's reach (AE, CS, DA, UI...) hold the
 * default repertoire only. Readers decode stray bytes 0x80-0xFF there as
 * ISO 8859-1 (charset.c, like pydicom), so non-ASCII text is stored that
 * way: code points up to U+00FF as one byte, anything else as '?'. This
 * keeps write -> read -> write stable instead of re-encoding UTF-8 bytes
 * as Latin-1 characters on every round.
 */
static void to_latin1(const char *s, size_t n, struct pc_buf *out)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	while (i < n) {
		if (p[i] < 0x80) {
			pc_buf_putc(out, (char)p[i++]);
		} else if ((p[i] == 0xC2 || p[i] == 0xC3) && i + 1 < n &&
		           (p[i + 1] & 0xC0) == 0x80) {
			pc_buf_putc(
			    out, (char)(((p[i] & 3) << 6) | (p[i + 1] & 63)));
			i += 2;
		} else {
			/* Skip the whole sequence (jansson gave us valid
			 * UTF-8): one '?' per character. */
			pc_buf_putc(out, '?');
			i++;
			while (i < n && (p[i] & 0xC0) == 0x80)
				i++;
		}
	}
}

/* Stores r->val (UTF-8) as the value of a text element, encoded in the
 * data set's character set. PC_CHARSET (without touching r->err) when a
 * character has no encoding there: the caller starts again in UTF-8. */
static enum pc_status store_text(struct jr *r, dcm_dataset *ds, uint32_t tag,
                                 enum dcm_vr vr, const struct dcm_vr_info *vi)
{
	struct pc_err lerr = {PC_OK, 0, ""};
	enum pc_status st;
	const char *s = pc_buf_str(&r->val);
	size_t n = r->val.n;

	if (pc_buf_status(&r->val) != PC_OK)
		return nomem(r, tag);
	/* Every DICOM character set keeps ASCII as it is (G0 of ISO 2022
	 * included), so pure ASCII needs no conversion. */
	if (!vi->charset && !is_ascii(s, n)) {
		pc_buf_reset(&r->tmp);
		to_latin1(s, n, &r->tmp);
		if (pc_buf_status(&r->tmp) != PC_OK)
			return nomem(r, tag);
		s = pc_buf_str(&r->tmp);
		n = r->tmp.n;
	} else if (vi->charset && !r->force_utf8 && !is_ascii(s, n)) {
		pc_buf_reset(&r->tmp);
		st = dcm_charset_encode(dcm_dataset_charset(ds), vr,
		                        pc_span_make(s, n), &r->tmp, &lerr);
		if (st == PC_CHARSET) {
			r->charset_failed = true;
			return st;
		}
		if (st == PC_OK && pc_buf_status(&r->tmp) != PC_OK)
			st = pc_buf_status(&r->tmp);
		if (st == PC_NOMEM)
			return nomem(r, tag);
		if (st != PC_OK)
			return fail(r, st, tag, "%s", lerr.msg);
		s = pc_buf_str(&r->tmp);
		n = r->tmp.n;
	}
	return set_status(r, dcm_dataset_set(ds, tag, vr, s, n), tag);
}

/* Formats a DS from a double in at most 16 characters (PS3.5 6.2),
 * shortest first so that 1.5 stays "1.5". */
static bool fmt_ds(double v, char *out, size_t size)
{
	char best[40] = "";
	int prec;

	if (!isfinite(v))
		return false;
	for (prec = 1; prec <= 17; prec++) {
		char cand[40];
		int len = snprintf(cand, sizeof(cand), "%.*g", prec, v);

		if (len < 0 || len > 16)
			break;
		memcpy(best, cand, (size_t)len + 1);
		if (strtod(cand, NULL) == v)
			break;
	}
	if (best[0] == '\0')
		return false;
	snprintf(out, size, "%s", best);
	return true;
}

/* One value of a PN: the object's groups joined with '=', trailing empty
 * groups dropped (PS3.5 6.2.1). */
static enum pc_status append_pn(struct jr *r, uint32_t tag, size_t idx,
                                json_t *v)
{
	static const char *const group[3] = {"Alphabetic", "Ideographic",
	                                     "Phonetic"};
	const char *s[3] = {"", "", ""};
	size_t len[3] = {0, 0, 0}, g, last = 0;
	json_t *x;

	if (json_is_string(v)) {
		/* Not the standard's form, but some services send it. */
		pc_buf_append(&r->val, json_string_value(v),
		              json_string_length(v));
		return PC_OK;
	}
	if (!json_is_object(v))
		return fail(r, PC_PARSE, tag,
		            "PN value %zu is %s, not an object", idx + 1,
		            json_type_name(v));
	for (g = 0; g < 3; g++) {
		x = json_object_get(v, group[g]);
		if (x == NULL || json_is_null(x))
			continue;
		if (!json_is_string(x))
			return fail(r, PC_PARSE, tag,
			            "PN value %zu: \"%s\" is %s, not a string",
			            idx + 1, group[g], json_type_name(x));
		s[g] = json_string_value(x);
		len[g] = json_string_length(x);
		if (len[g] > 0)
			last = g + 1;
	}
	for (g = 0; g < last; g++) {
		if (g > 0)
			pc_buf_putc(&r->val, '=');
		pc_buf_append(&r->val, s[g], len[g]);
	}
	return PC_OK;
}

/* One value of a DS or IS: a number, or a string taken as written. */
static enum pc_status append_text_number(struct jr *r, uint32_t tag,
                                         enum dcm_vr vr, size_t idx, json_t *v)
{
	char num[40];
	double d;

	if (json_is_string(v)) {
		pc_buf_append(&r->val, json_string_value(v),
		              json_string_length(v));
		return PC_OK;
	}
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld",
		         (long long)json_integer_value(v));
		if (vr == DCM_VR_DS && strlen(num) > 16 &&
		    !fmt_ds((double)json_integer_value(v), num, sizeof(num)))
			return fail(r, PC_PARSE, tag, "value %zu does not fit",
			            idx + 1);
		pc_buf_puts(&r->val, num);
		return PC_OK;
	}
	if (!json_is_real(v))
		return fail(r, PC_PARSE, tag,
		            "%s value %zu is %s, not a number", dcm_vr_name(vr),
		            idx + 1, json_type_name(v));
	d = json_real_value(v);
	if (vr == DCM_VR_IS) {
		if (d != floor(d) || fabs(d) > 9007199254740992.0)
			return fail(r, PC_PARSE, tag,
			            "IS value %zu (%g) is not an integer",
			            idx + 1, d);
		snprintf(num, sizeof(num), "%.0f", d);
	} else if (!fmt_ds(d, num, sizeof(num))) {
		return fail(r, PC_PARSE, tag, "DS value %zu is not finite",
		            idx + 1);
	}
	pc_buf_puts(&r->val, num);
	return PC_OK;
}

static enum pc_status read_text(struct jr *r, dcm_dataset *ds, uint32_t tag,
                                enum dcm_vr vr, const struct dcm_vr_info *vi,
                                json_t *arr)
{
	enum pc_status st = PC_OK;
	size_t i;
	json_t *v;

	pc_buf_reset(&r->val);
	json_array_foreach(arr, i, v)
	{
		if (i > 0)
			pc_buf_putc(&r->val, '\\');
		if (json_is_null(v))
			continue; /* an empty value (PS3.18 F.2.5) */
		if (vr == DCM_VR_PN)
			st = append_pn(r, tag, i, v);
		else if (vr == DCM_VR_DS || vr == DCM_VR_IS)
			st = append_text_number(r, tag, vr, i, v);
		else if (json_is_string(v))
			pc_buf_append(&r->val, json_string_value(v),
			              json_string_length(v));
		else
			st = fail(r, PC_PARSE, tag,
			          "%s value %zu is %s, not a string",
			          dcm_vr_name(vr), i + 1, json_type_name(v));
		if (st != PC_OK)
			return st;
	}
	return store_text(r, ds, tag, vr, vi);
}

static void put_le(struct pc_buf *b, uint64_t v, size_t size)
{
	uint8_t x[8];
	size_t i;

	for (i = 0; i < size; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	pc_buf_append(b, x, size);
}

/* A JSON number that must be an integer in [lo, hi] (hi may exceed
 * INT64_MAX only through `uhi` for UV). */
static enum pc_status get_int(struct jr *r, uint32_t tag, enum dcm_vr vr,
                              size_t idx, json_t *v, bool is_unsigned,
                              uint64_t *out)
{
	const char *s;
	char *end;
	double d;

	if (json_is_integer(v)) {
		long long ll = json_integer_value(v);

		if (is_unsigned && ll < 0)
			goto range;
		*out = (uint64_t)ll;
		return PC_OK;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d != floor(d))
			return fail(r, PC_PARSE, tag,
			            "%s value %zu (%g) is not an integer",
			            dcm_vr_name(vr), idx + 1, d);
		if (is_unsigned ? (d < 0 || d >= 18446744073709551616.0)
		                : (d < -9223372036854775808.0 ||
		                   d >= 9223372036854775808.0))
			goto range;
		*out = is_unsigned ? (uint64_t)d : (uint64_t)(int64_t)d;
		return PC_OK;
	}
	if (json_is_string(v) && (vr == DCM_VR_UV || vr == DCM_VR_SV)) {
		/* 64-bit values beyond what a JSON parser keeps exactly may
		 * come as decimal strings. */
		s = json_string_value(v);
		errno = 0;
		if (is_unsigned) {
			if (s[0] == '-')
				goto range;
			*out = strtoull(s, &end, 10);
		} else {
			*out = (uint64_t)strtoll(s, &end, 10);
		}
		if (end == s || *end != '\0')
			return fail(r, PC_PARSE, tag,
			            "%s value %zu \"%.40s\" is not a number",
			            dcm_vr_name(vr), idx + 1, s);
		if (errno != 0)
			goto range;
		return PC_OK;
	}
	return fail(r, PC_PARSE, tag, "%s value %zu is %s, not a number",
	            dcm_vr_name(vr), idx + 1, json_type_name(v));
range:
	return fail(r, PC_PARSE, tag, "%s value %zu is out of range",
	            dcm_vr_name(vr), idx + 1);
}

static enum pc_status get_real(struct jr *r, uint32_t tag, enum dcm_vr vr,
                               size_t idx, json_t *v, double *out)
{
	const char *s;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return PC_OK;
	}
	if (json_is_string(v)) {
		/* What the writer emits for values JSON cannot hold. */
		s = json_string_value(v);
		if (strcmp(s, "NaN") == 0) {
			*out = NAN;
			return PC_OK;
		}
		if (strcmp(s, "Infinity") == 0) {
			*out = INFINITY;
			return PC_OK;
		}
		if (strcmp(s, "-Infinity") == 0) {
			*out = -INFINITY;
			return PC_OK;
		}
	}
	return fail(r, PC_PARSE, tag, "%s value %zu is %s, not a number",
	            dcm_vr_name(vr), idx + 1, json_type_name(v));
}

static enum pc_status read_numbers(struct jr *r, dcm_dataset *ds, uint32_t tag,
                                   enum dcm_vr vr, json_t *arr)
{
	enum pc_status st = PC_OK;
	uint64_t u = 0;
	int64_t s;
	double d = 0;
	float f;
	uint32_t u32, at;
	size_t i;
	json_t *v;

	pc_buf_reset(&r->val);
	json_array_foreach(arr, i, v)
	{
		switch (vr) {
		case DCM_VR_AT:
			if (!json_is_string(v) ||
			    !parse_tag_key(json_string_value(v), &at))
				return fail(r, PC_PARSE, tag,
				            "AT value %zu is not a string of "
				            "8 hex digits",
				            i + 1);
			put_le(&r->val, DCM_TAG_GROUP(at), 2);
			put_le(&r->val, DCM_TAG_ELEM(at), 2);
			break;
		case DCM_VR_US:
		case DCM_VR_UL:
		case DCM_VR_UV:
			st = get_int(r, tag, vr, i, v, true, &u);
			if (st != PC_OK)
				return st;
			if ((vr == DCM_VR_US && u > UINT16_MAX) ||
			    (vr == DCM_VR_UL && u > UINT32_MAX))
				return fail(r, PC_PARSE, tag,
				            "%s value %zu is out of range",
				            dcm_vr_name(vr), i + 1);
			put_le(&r->val, u,
			       vr == DCM_VR_US   ? 2
			       : vr == DCM_VR_UL ? 4
			                         : 8);
			break;
		case DCM_VR_SS:
		case DCM_VR_SL:
		case DCM_VR_SV:
			st = get_int(r, tag, vr, i, v, false, &u);
			if (st != PC_OK)
				return st;
			s = (int64_t)u;
			if ((vr == DCM_VR_SS &&
			     (s < INT16_MIN || s > INT16_MAX)) ||
			    (vr == DCM_VR_SL &&
			     (s < INT32_MIN || s > INT32_MAX)))
				return fail(r, PC_PARSE, tag,
				            "%s value %zu is out of range",
				            dcm_vr_name(vr), i + 1);
			put_le(&r->val, u,
			       vr == DCM_VR_SS   ? 2
			       : vr == DCM_VR_SL ? 4
			                         : 8);
			break;
		case DCM_VR_FL:
			st = get_real(r, tag, vr, i, v, &d);
			if (st != PC_OK)
				return st;
			f = (float)d;
			memcpy(&u32, &f, sizeof(u32));
			put_le(&r->val, u32, 4);
			break;
		default: /* FD */
			st = get_real(r, tag, vr, i, v, &d);
			if (st != PC_OK)
				return st;
			memcpy(&u, &d, sizeof(u));
			put_le(&r->val, u, 8);
			break;
		}
	}
	if (pc_buf_status(&r->val) != PC_OK)
		return nomem(r, tag);
	return set_status(r, dcm_dataset_set(ds, tag, vr, r->val.p, r->val.n),
	                  tag);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Whether `b` is a whole encapsulated pixel data stream (PS3.5 A.4): items
 * (FFFE,E000) of defined length, the first one the offset table, up to the
 * end or a final sequence delimiter. Counts the items into *items. */
static bool encapsulated_shape(struct pc_span b, size_t *items)
{
	size_t pos = 0, n = 0;
	uint32_t len;

	while (b.n - pos >= 8) {
		if (le32(b.p + pos) == 0xE0DDFFFEu)
			break;
		if (le32(b.p + pos) != 0xE000FFFEu)
			return false;
		len = le32(b.p + pos + 4);
		if (len > b.n - pos - 8)
			return false;
		pos += 8 + (size_t)len;
		n++;
	}
	if (n == 0)
		return false;
	if (pos != b.n && !(b.n - pos == 8 && le32(b.p + pos + 4) == 0))
		return false;
	*items = n;
	return true;
}

static enum pc_status store_encapsulated(struct jr *r, dcm_dataset *ds,
                                         uint32_t tag, enum dcm_vr vr,
                                         struct pc_span b, size_t items)
{
	dcm_elem *e = NULL;
	enum pc_status st;
	size_t pos = 0, i;
	uint32_t len;

	for (i = 0; i < items; i++) {
		struct pc_span item;

		len = le32(b.p + pos + 4);
		item = pc_span_make(b.p + pos + 8, len);
		pos += 8 + (size_t)len;
		if (i == 0)
			st =
			    dcm_dataset_set_encapsulated(ds, tag, vr, item, &e);
		else
			st = dcm_elem_add_fragment(e, item);
		if (st != PC_OK)
			return set_status(r, st, tag);
	}
	return PC_OK;
}

/* InlineBinary / BulkDataURI accept a string or (as in PS3.18 F.4's
 * example) an array holding one. */
static json_t *single_string(json_t *v)
{
	if (json_is_array(v) && json_array_size(v) == 1)
		v = json_array_get(v, 0);
	return json_is_string(v) ? v : NULL;
}

static enum pc_status read_binary(struct jr *r, dcm_dataset *ds, uint32_t tag,
                                  enum dcm_vr vr, json_t *v, bool bulk)
{
	struct pc_span b;
	enum pc_status st;
	json_t *s = single_string(v);
	size_t items;

	if (s == NULL)
		return fail(r, PC_PARSE, tag, "%s is %s, not a string",
		            bulk ? "BulkDataURI" : "InlineBinary",
		            json_type_name(v));
	if (vr == DCM_VR_SQ)
		return fail(r, PC_PARSE, tag, "a sequence cannot have %s",
		            bulk ? "BulkDataURI" : "InlineBinary");
	pc_buf_reset(&r->tmp);
	if (bulk) {
		if (r->resolve == NULL)
			return set_status(
			    r, dcm_dataset_set(ds, tag, vr, NULL, 0), tag);
		st = r->resolve(r->ctx, json_string_value(s), &r->tmp);
		if (st == PC_OK && pc_buf_status(&r->tmp) != PC_OK)
			st = pc_buf_status(&r->tmp);
		if (st == PC_NOMEM)
			return nomem(r, tag);
		if (st != PC_OK)
			return fail(r, st, tag, "BulkDataURI \"%.60s\": %s",
			            json_string_value(s), pc_status_text(st));
	} else {
		st = dcm__base64_decode(
		    pc_span_make(json_string_value(s), json_string_length(s)),
		    &r->tmp);
		if (st == PC_NOMEM)
			return nomem(r, tag);
		if (st != PC_OK)
			return fail(r, st, tag, "InlineBinary is not base64");
	}
	b = pc_span_make(r->tmp.p, r->tmp.n);
	if (tag == DCM_TAG_PIXEL_DATA && (vr == DCM_VR_OB || vr == DCM_VR_OW) &&
	    encapsulated_shape(b, &items))
		return store_encapsulated(r, ds, tag, vr, b, items);
	return set_status(r, dcm_dataset_set(ds, tag, vr, b.p, b.n), tag);
}

static enum pc_status read_object(struct jr *r, json_t *obj, dcm_dataset *ds,
                                  unsigned depth);

static enum pc_status read_sequence(struct jr *r, dcm_dataset *ds, uint32_t tag,
                                    json_t *arr, unsigned depth)
{
	dcm_elem *seq = NULL;
	dcm_dataset *item = NULL;
	enum pc_status st;
	size_t i;
	json_t *v;

	if (depth + 1 > JSON_READ_MAX_DEPTH)
		return fail(r, PC_LIMIT, tag,
		            "sequences nested deeper than %d levels",
		            JSON_READ_MAX_DEPTH);
	st = dcm_dataset_set_sequence(ds, tag, &seq);
	if (st != PC_OK)
		return set_status(r, st, tag);
	if (arr == NULL)
		return PC_OK;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_object(v) && !json_is_null(v))
			return fail(r, PC_PARSE, tag,
			            "item %zu is %s, not an object", i + 1,
			            json_type_name(v));
		st = dcm_elem_add_item(seq, &item);
		if (st != PC_OK)
			return set_status(r, st, tag);
		if (json_is_object(v)) {
			st = read_object(r, v, item, depth + 1);
			if (st != PC_OK)
				return st;
		}
	}
	return PC_OK;
}

static enum pc_status read_elem(struct jr *r, dcm_dataset *ds, uint32_t tag,
                                json_t *obj, unsigned depth)
{
	static const char *const keys[3] = {"Value", "InlineBinary",
	                                    "BulkDataURI"};
	const struct dcm_vr_info *vi;
	json_t *jvr, *val = NULL, *x;
	const char *s;
	enum dcm_vr vr;
	size_t k, which = 3;

	if (!json_is_object(obj))
		return fail(r, PC_PARSE, tag, "attribute is %s, not an object",
		            json_type_name(obj));
	jvr = json_object_get(obj, "vr");
	if (jvr == NULL)
		return fail(r, PC_PARSE, tag, "no \"vr\"");
	if (!json_is_string(jvr))
		return fail(r, PC_PARSE, tag, "\"vr\" is %s, not a string",
		            json_type_name(jvr));
	s = json_string_value(jvr);
	vr = json_string_length(jvr) == 2
	         ? dcm_vr_from_chars((uint8_t)s[0], (uint8_t)s[1])
	         : DCM_VR_NONE;
	vi = dcm_vr_info(vr);
	if (vi == NULL)
		return fail(r, PC_PARSE, tag, "unknown VR \"%.16s\"", s);
	for (k = 0; k < 3; k++) {
		x = json_object_get(obj, keys[k]);
		if (x == NULL)
			continue;
		if (val != NULL)
			return fail(r, PC_PARSE, tag, "both \"%s\" and \"%s\"",
			            keys[which], keys[k]);
		val = x;
		which = k;
	}

	if (vr == DCM_VR_SQ && which != 1 && which != 2) {
		if (val != NULL && !json_is_array(val))
			return fail(r, PC_PARSE, tag,
			            "\"Value\" is %s, not an array",
			            json_type_name(val));
		return read_sequence(r, ds, tag, val, depth);
	}
	if (val == NULL) /* F.2.5: no value */
		return set_status(r, dcm_dataset_set(ds, tag, vr, NULL, 0),
		                  tag);
	if (which > 0)
		return read_binary(r, ds, tag, vr, val, which == 2);
	if (!json_is_array(val))
		return fail(r, PC_PARSE, tag, "\"Value\" is %s, not an array",
		            json_type_name(val));
	switch (vi->cls) {
	case DCM_VRC_STRING:
	case DCM_VRC_TEXT:
		return read_text(r, ds, tag, vr, vi, val);
	case DCM_VRC_NUMBER:
		return read_numbers(r, ds, tag, vr, val);
	default:
		return fail(r, PC_PARSE, tag,
		            "VR %s takes InlineBinary or BulkDataURI, "
		            "not \"Value\"",
		            vi->name);
	}
}

/* Specific Character Set first, so that text after it is encoded in it.
 * In the UTF-8 pass every data set that names one (and the root) says
 * ISO_IR 192 instead. */
static enum pc_status read_charset(struct jr *r, json_t *obj, dcm_dataset *ds,
                                   unsigned depth)
{
	const uint32_t tag = DCM_TAG_SPECIFIC_CHARSET;
	json_t *el = json_object_get(obj, "00080005");
	struct dcm_charset cs;
	enum pc_status st;

	if (r->force_utf8) {
		if (el == NULL && depth > 0)
			return PC_OK;
		return set_status(
		    r, dcm_dataset_set_string(ds, tag, DCM_VR_CS, "ISO_IR 192"),
		    tag);
	}
	if (el == NULL)
		return PC_OK;
	pc_buf_reset(&r->val);
	st = read_elem(r, ds, tag, el, depth);
	if (st != PC_OK)
		return st;
	/* A term we cannot encode to: store the text as UTF-8 instead. */
	if (dcm_charset_parse(pc_span_make(r->val.p, r->val.n), &cs, NULL) !=
	    PC_OK) {
		r->charset_failed = true;
		return PC_CHARSET;
	}
	return PC_OK;
}

static enum pc_status read_object(struct jr *r, json_t *obj, dcm_dataset *ds,
                                  unsigned depth)
{
	enum pc_status st;
	const char *key;
	uint32_t tag;
	json_t *v;

	st = read_charset(r, obj, ds, depth);
	if (st != PC_OK)
		return st;
	json_object_foreach(obj, key, v)
	{
		if (!parse_tag_key(key, &tag))
			return pc_err_set(r->err, PC_PARSE, 0,
			                  "key \"%.40s\" is not a tag "
			                  "(8 hex digits)",
			                  key);
		if (tag == DCM_TAG_SPECIFIC_CHARSET)
			continue;
		if (DCM_TAG_GROUP(tag) == 0xFFFE)
			return fail(r, PC_PARSE, tag,
			            "item delimitation tags are not "
			            "attributes");
		st = read_elem(r, ds, tag, v, depth);
		if (st != PC_OK)
			return st;
	}
	return PC_OK;
}

/* Whether the JSON integer s[0..n) (optional '-', digits) is outside the
 * range of jansson's json_int_t (long long). */
static bool beyond_int64(const char *s, size_t n)
{
	const char *lim = "9223372036854775807";
	size_t d = n;

	if (s[0] == '-') {
		s++;
		d--;
		lim = "9223372036854775808";
	}
	if (d != 19)
		return d > 19;
	return memcmp(s, lim, 19) > 0;
}

/*
 * jansson rejects the whole text when an integer does not fit in a long
 * long ("too big integer"), but UV values up to 2^64-1 are legitimate JSON
 * numbers (and our writer emits them). One linear pass copies the text with
 * each such integer quoted; UV and SV accept decimal strings. Returns false
 * (and leaves `out` empty) when nothing needed quoting.
 */
static bool quote_big_integers(const char *s, size_t n, struct pc_buf *out)
{
	size_t i = 0, start, copied = 0;
	bool in_str = false;

	while (i < n) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			i++;
			continue;
		}
		if (c == '"') {
			in_str = true;
			i++;
			continue;
		}
		if (c != '-' && (c < '0' || c > '9')) {
			i++;
			continue;
		}
		/* Outside strings a digit or '-' can only start a number. */
		start = i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) {
			/* A real (jansson takes any magnitude): skip all of
			 * it so that its fraction is not seen as a number. */
			while (i < n &&
			       ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			        s[i] == 'e' || s[i] == 'E' || s[i] == '+' ||
			        s[i] == '-'))
				i++;
			continue;
		}
		if (!beyond_int64(s + start, i - start) ||
		    s[start + (s[start] == '-')] == '0')
			continue;
		pc_buf_append(out, s + copied, start - copied);
		pc_buf_putc(out, '"');
		pc_buf_append(out, s + start, i - start);
		pc_buf_putc(out, '"');
		copied = i;
	}
	if (copied == 0)
		return false;
	pc_buf_append(out, s + copied, n - copied);
	return true;
}

dcm_dataset *dcm_json_read(const char *json, size_t n,
                           dcm_json_resolve_fn resolve, void *ctx,
                           struct pc_err *err)
{
	struct jr r = {resolve, ctx,         err,        false,
	               false,   PC_BUF_INIT, PC_BUF_INIT};
	dcm_dataset *ds = NULL;
	json_t *root = NULL, *obj;
	json_error_t jerr;
	enum pc_status st = PC_OK;
	int pass;

	if (json == NULL) {
		pc_err_set(err, PC_INVAL, 0, "no JSON text");
		goto out;
	}
	if (quote_big_integers(json, n, &r.tmp)) {
		if (pc_buf_status(&r.tmp) != PC_OK) {
			pc_err_set(err, PC_NOMEM, 0,
			           "out of memory parsing JSON");
			goto out;
		}
		root =
		    json_loadb(r.tmp.p, r.tmp.n,
		               JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
		pc_buf_reset(&r.tmp);
	} else {
		root = json_loadb(
		    json, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	}
	if (root == NULL) {
		/* jansson leaves the message empty when its very first
		 * allocation (the lexer's buffer) fails. */
		if (json_error_code(&jerr) == json_error_out_of_memory ||
		    jerr.text[0] == '\0')
			pc_err_set(err, PC_NOMEM, 0,
			           "out of memory parsing JSON");
		else
			pc_err_set(err, PC_PARSE, (uint64_t)jerr.position,
			           "JSON syntax error at line %d column %d: %s",
			           jerr.line, jerr.column, jerr.text);
		goto out;
	}
	obj = root;
	if (json_is_array(obj) && json_array_size(obj) == 1)
		obj = json_array_get(obj, 0);
	if (!json_is_object(obj)) {
		pc_err_set(err, PC_PARSE, 0,
		           "DICOM JSON must be an object or an array holding "
		           "one object, not %s",
		           json_type_name(obj));
		goto out;
	}
	/* Text goes in the named character set; if some value cannot be
	 * encoded there, start again storing everything as UTF-8. */
	for (pass = 0; pass < 2; pass++) {
		ds = dcm_dataset_create();
		if (ds == NULL) {
			pc_err_set(err, PC_NOMEM, 0,
			           "out of memory reading JSON");
			goto out;
		}
		r.force_utf8 = pass == 1;
		r.charset_failed = false;
		st = read_object(&r, obj, ds, 0);
		if (st == PC_OK)
			break;
		dcm_dataset_destroy(ds);
		ds = NULL;
		if (st != PC_CHARSET || !r.charset_failed)
			break;
	}
	if (ds == NULL && st == PC_CHARSET && r.charset_failed)
		pc_err_set(err, PC_CHARSET, 0, "text cannot be stored");
out:
	json_decref(root);
	pc_buf_cleanup(&r.val);
	pc_buf_cleanup(&r.tmp);
	return ds;
}
