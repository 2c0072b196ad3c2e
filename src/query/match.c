/*
 * match.c - matching one value against one query key (PS3.4 C.2.2.2), and
 * the DA/TM/DT normalisation the parser uses to validate query values.
 *
 * Wildcards ('*' any run, '?' one character) use the greedy two-pointer
 * algorithm that remembers only the last '*': a failed attempt resumes one
 * character after where that '*' last started, never further back. That is
 * O(pattern x value) in the worst case and linear in practice; a
 * backtracking matcher would be exponential on "a*a*a*a*b". '?' steps over
 * one UTF-8 character, not one byte.
 *
 * Fuzzy person-name matching (PS3.18 8.3.4.6: "fuzzymatching=true"; the
 * method is the server's choice) folds both names to lower-case ASCII where
 * a table knows the letter (Latin-1 Supplement and Latin Extended-A, e.g.
 * "É" -> "e", "ß" -> "ss"), leaves other code points as they are, and then
 * accepts the value when every component of the key (split on '^', '=' and
 * spaces) matches the start of some component of the value, in any order:
 * "smi" and "joh smi" both match "Smith^John". A key that matches the whole
 * folded value also matches, so a '*' may span components.
 *
 * qry_key_match() does not allocate for values up to a few hundred bytes;
 * longer ones in fuzzy mode take a heap buffer, and if that fails the value
 * is reported as not matching (the function has no error channel).
 */
#include "qry_int.h"

#include <string.h>

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Decodes one character of the `n` (>= 1) bytes at `p` into `*cp`. Returns
 * its length, or 0 when the bytes are not well-formed UTF-8. */
static size_t u8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned c = p[0];
	size_t len, k;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1Fu;
		min = 0x80;
	} else if ((c & 0xF0u) == 0xE0) {
		len = 3;
		v = c & 0x0Fu;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (k = 1; k < len; k++) {
		if ((p[k] & 0xC0u) != 0x80)
			return 0;
		v = (v << 6) | (p[k] & 0x3Fu);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

bool qry__utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		size_t len = u8_decode(p + i, n - i, &cp);

		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

/* Bytes of the character starting at `s` in a NUL-terminated string: its
 * UTF-8 length when the continuation bytes are there, else 1 (a stray byte
 * counts as one character). Never steps over the terminating NUL. */
static size_t u8_charlen(const char *s)
{
	unsigned c = (unsigned char)s[0];
	size_t len, k;

	if (c < 0xC0)
		len = 1;
	else if (c < 0xE0)
		len = 2;
	else if (c < 0xF0)
		len = 3;
	else if (c < 0xF8)
		len = 4;
	else
		len = 1;
	for (k = 1; k < len; k++)
		if (((unsigned char)s[k] & 0xC0u) != 0x80)
			return 1;
	return len;
}

/* ---- wildcards ---------------------------------------------------------- */

/* PS3.4 C.2.2.2.4 on NUL-terminated UTF-8 strings, case-sensitive. */
static bool wild_utf8(const char *p, const char *s)
{
	const char *star = NULL; /* pattern just after the last '*' */
	const char *resume = s;  /* where that '*' match currently ends */

	while (*s != '\0') {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return true;
			star = p;
			resume = s;
			continue;
		}
		if (*p == '?') {
			p++;
			s += u8_charlen(s);
			continue;
		}
		if (*p != '\0' && *p == *s) {
			p++;
			s++;
			continue;
		}
		if (star == NULL)
			return false;
		/* Let the last '*' swallow one more character and retry. */
		resume += u8_charlen(resume);
		s = resume;
		p = star;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* The same on code point arrays. With `prefix`, the pattern is followed by
 * an implied '*' (it need only match the start of `s`). */
static bool wild_cp(const uint32_t *p, size_t pn, const uint32_t *s, size_t sn,
		    bool prefix)
{
	size_t i = 0, j = 0, resume = 0;
	bool star = false;
	size_t star_i = 0;

	while (j < sn) {
		if (i < pn && p[i] == '*') {
			while (i < pn && p[i] == '*')
				i++;
			if (i == pn)
				return true;
			star = true;
			star_i = i;
			resume = j;
			continue;
		}
		if (i == pn && prefix)
			return true;
		if (i < pn && (p[i] == '?' || p[i] == s[j])) {
			i++;
			j++;
			continue;
		}
		if (!star)
			return false;
		i = star_i;
		j = ++resume;
	}
	while (i < pn && p[i] == '*')
		i++;
	return i == pn;
}

/* ---- folding for fuzzy person names -------------------------------------- */

/* Latin-1 Supplement and Latin Extended-A letters and what they fold to;
 * code points in neither a range here nor ASCII are compared as they are. */
static const struct fold_range {
	uint16_t lo, hi;
	char to[3];
} fold_table[] = {
	{0x00C0, 0x00C5, "a"}, {0x00C6, 0x00C6, "ae"}, {0x00C7, 0x00C7, "c"},
	{0x00C8, 0x00CB, "e"}, {0x00CC, 0x00CF, "i"},  {0x00D0, 0x00D0, "d"},
	{0x00D1, 0x00D1, "n"}, {0x00D2, 0x00D6, "o"},  {0x00D8, 0x00D8, "o"},
	{0x00D9, 0x00DC, "u"}, {0x00DD, 0x00DD, "y"},  {0x00DE, 0x00DE, "th"},
	{0x00DF, 0x00DF, "ss"}, {0x00E0, 0x00E5, "a"}, {0x00E6, 0x00E6, "ae"},
	{0x00E7, 0x00E7, "c"}, {0x00E8, 0x00EB, "e"},  {0x00EC, 0x00EF, "i"},
	{0x00F0, 0x00F0, "d"}, {0x00F1, 0x00F1, "n"},  {0x00F2, 0x00F6, "o"},
	{0x00F8, 0x00F8, "o"}, {0x00F9, 0x00FC, "u"},  {0x00FD, 0x00FD, "y"},
	{0x00FE, 0x00FE, "th"}, {0x00FF, 0x00FF, "y"}, {0x0100, 0x0105, "a"},
	{0x0106, 0x010D, "c"}, {0x010E, 0x0111, "d"},  {0x0112, 0x011B, "e"},
	{0x011C, 0x0123, "g"}, {0x0124, 0x0127, "h"},  {0x0128, 0x0131, "i"},
	{0x0132, 0x0133, "ij"}, {0x0134, 0x0135, "j"}, {0x0136, 0x0138, "k"},
	{0x0139, 0x0142, "l"}, {0x0143, 0x014B, "n"},  {0x014C, 0x0151, "o"},
	{0x0152, 0x0153, "oe"}, {0x0154, 0x0159, "r"}, {0x015A, 0x0161, "s"},
	{0x0162, 0x0167, "t"}, {0x0168, 0x0173, "u"},  {0x0174, 0x0175, "w"},
	{0x0176, 0x0178, "y"}, {0x0179, 0x017E, "z"},  {0x017F, 0x017F, "s"},
};

/* Folds `n` bytes at `s` into `out`, which has room for 2 * n code points
 * (no character folds to more than two). Returns the count. Malformed bytes
 * become U+DC00 + byte, which no well-formed character decodes to. */
static size_t fold(const char *s, size_t n, uint32_t *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, t;
	uint32_t cp;

	while (i < n) {
		size_t len = u8_decode(p + i, n - i, &cp);

		if (len == 0) {
			cp = 0xDC00u | p[i];
			len = 1;
		}
		i += len;
		if (cp >= 'A' && cp <= 'Z') {
			out[o++] = cp + ('a' - 'A');
			continue;
		}
		if (cp >= 0xC0 && cp <= 0x17F) {
			for (t = 0; t < sizeof(fold_table) / sizeof(fold_table[0]);
			     t++) {
				const struct fold_range *r = &fold_table[t];

				if (cp >= r->lo && cp <= r->hi) {
					out[o++] = (unsigned char)r->to[0];
					if (r->to[1] != '\0')
						out[o++] = (unsigned char)r->to[1];
					break;
				}
			}
			if (t < sizeof(fold_table) / sizeof(fold_table[0]))
				continue;
		}
		out[o++] = cp;
	}
	return o;
}

static bool pn_sep(uint32_t c)
{
	return c == '^' || c == '=' || c == ' ';
}

/* Whether key component `kc` matches the start of some component of `v`. */
static bool component_found(const uint32_t *kc, size_t kn, const uint32_t *v,
			    size_t vn)
{
	size_t i = 0;

	while (i < vn) {
		size_t a;

		while (i < vn && pn_sep(v[i]))
			i++;
		a = i;
		while (i < vn && !pn_sep(v[i]))
			i++;
		if (i > a && wild_cp(kc, kn, v + a, i - a, true))
			return true;
	}
	return false;
}

/* Stack room for folded names; PN values are at most 3 x 64 characters. */
#define FOLD_STACK 512

/* Room for the folded form of `n` bytes, 2 code points per byte (see
 * fold()): `stack` (FOLD_STACK entries) when it fits, else allocated;
 * NULL when that fails. */
static uint32_t *fold_room(size_t n, uint32_t *stack)
{
	size_t bytes;

	if (n <= FOLD_STACK / 2)
		return stack;
	if (!pc_mul_ok(n, 2 * sizeof(uint32_t), &bytes))
		return NULL;
	return pc_malloc(bytes);
}

static bool pn_fuzzy(const char *key, const char *value)
{
	uint32_t kst[FOLD_STACK], vst[FOLD_STACK];
	uint32_t *k, *v = vst; /* v is freed at out: set before any goto */
	size_t kn = strlen(key), vn = strlen(value), kl, vl, i;
	bool ok = false;

	k = fold_room(kn, kst);
	if (k == NULL)
		goto out;
	v = fold_room(vn, vst);
	if (v == NULL)
		goto out;
	kl = fold(key, kn, k);
	vl = fold(value, vn, v);
	if (wild_cp(k, kl, v, vl, false)) {
		ok = true;
		goto out;
	}
	ok = true;
	i = 0;
	while (i < kl) {
		size_t a;

		while (i < kl && pn_sep(k[i]))
			i++;
		if (i == kl)
			break;
		a = i;
		while (i < kl && !pn_sep(k[i]))
			i++;
		if (!component_found(k + a, i - a, v, vl)) {
			ok = false;
			break;
		}
	}
out:
	if (k != kst && k != NULL)
		pc_free(k);
	if (v != vst && v != NULL)
		pc_free(v);
	return ok;
}

/* Length of a PN value without trailing empty components and padding:
 * "Smith^John^^" and "Smith^John" are the same name (PS3.5 6.2). */
static size_t pn_trimmed(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '^' || s[n - 1] == '=' || s[n - 1] == ' '))
		n--;
	return n;
}

/* ---- DA, TM, DT ---------------------------------------------------------- */

struct dt_field {
	uint8_t width;
	uint16_t min, max;
};

/* PS3.5 6.2: year, month, day, hours, minutes, seconds (60: leap second). */
static const struct dt_field dt_fields[] = {
	{4, 0, 9999}, {2, 1, 12}, {2, 1, 31}, {2, 0, 23}, {2, 0, 59}, {2, 0, 60},
};

/* Value of `w` decimal digits at `s`, or -1. */
static int digits(const char *s, size_t w)
{
	int v = 0;
	size_t i;

	for (i = 0; i < w; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * Parses fields f[0..nf) of `s` (the first `required` mandatory, later ones
 * optional but in order), then an optional ".F{1,6}" when `frac` and every
 * field is present, then for DT an optional offset; writes the fixed-width
 * form with missing parts set to `fill`.
 */
static bool norm_fields(const char *s, size_t n, const struct dt_field *f,
			size_t nf, size_t required, bool frac, bool offset,
			char fill, char *out)
{
	size_t i = 0, o = 0, k, d, given;
	int v;

	for (k = 0; k < nf; k++) {
		if (i == n || s[i] < '0' || s[i] > '9')
			break;
		if (n - i < f[k].width)
			return false;
		v = digits(s + i, f[k].width);
		if (v < 0 || v < f[k].min || v > f[k].max)
			return false;
		memcpy(out + o, s + i, f[k].width);
		o += f[k].width;
		i += f[k].width;
	}
	given = k;
	if (given < required)
		return false;
	for (; k < nf; k++) {
		memset(out + o, fill, f[k].width);
		o += f[k].width;
	}
	if (frac) {
		out[o++] = '.';
		d = 0;
		if (i < n && s[i] == '.') {
			/* A fraction only follows the seconds. */
			if (given != nf)
				return false;
			i++;
			while (i < n && s[i] >= '0' && s[i] <= '9' && d < 6) {
				out[o++] = s[i++];
				d++;
			}
			if (d == 0)
				return false;
		}
		for (; d < 6; d++)
			out[o++] = fill;
	}
	if (offset && i < n && (s[i] == '+' || s[i] == '-')) {
		/* PS3.5 6.2 DT &ZZXX: -1200 to +1400. */
		if (n - i != 5)
			return false;
		v = digits(s + i + 1, 2);
		if (v < 0 || v > 14 || digits(s + i + 3, 2) < 0 ||
		    digits(s + i + 3, 2) > 59)
			return false;
		i += 5;
	}
	out[o] = '\0';
	return i == n;
}

bool qry__dt_norm(enum dcm_vr vr, const char *s, size_t n, char fill,
		  bool lenient, char out[QRY__NORM_SIZE])
{
	char tmp[QRY__NORM_SIZE];
	size_t i, t = 0;

	if (lenient && vr == DCM_VR_DA && n == 10 && s[4] == '.' &&
	    s[7] == '.') {
		/* ACR-NEMA "YYYY.MM.DD". */
		memcpy(tmp, s, 4);
		memcpy(tmp + 4, s + 5, 2);
		memcpy(tmp + 6, s + 8, 2);
		s = tmp;
		n = 8;
	} else if (lenient && vr == DCM_VR_TM && memchr(s, ':', n) != NULL) {
		/* ACR-NEMA "HH:MM:SS.frac". */
		for (i = 0; i < n; i++) {
			if (s[i] == ':')
				continue;
			if (t == sizeof(tmp))
				return false;
			tmp[t++] = s[i];
		}
		s = tmp;
		n = t;
	}
	switch (vr) {
	case DCM_VR_DA:
		return n == 8 && norm_fields(s, n, dt_fields, 3, 3, false,
					     false, fill, out);
	case DCM_VR_TM:
		/* A fraction needs the seconds: "1010.5" is malformed. */
		return norm_fields(s, n, dt_fields + 3, 3, 1, true, false, fill,
				   out);
	case DCM_VR_DT:
		return norm_fields(s, n, dt_fields, 6, 1, true, true, fill,
				   out);
	default:
		return false;
	}
}

/* ---- matching ------------------------------------------------------------ */

static bool is_dt_vr(enum dcm_vr vr)
{
	return vr == DCM_VR_DA || vr == DCM_VR_TM || vr == DCM_VR_DT;
}

/* PS3.4 C.2.2.2.5: lo <= value <= hi, either bound open when empty. */
static bool range_match(const struct qry_key *k, const char *value)
{
	char v[QRY__NORM_SIZE], b[QRY__NORM_SIZE];

	if (!qry__dt_norm(k->vr, value, strlen(value), '0', true, v))
		return false;
	if (k->value != NULL && k->value[0] != '\0') {
		if (!qry__dt_norm(k->vr, k->value, strlen(k->value), '0', false,
				  b) ||
		    strcmp(v, b) < 0)
			return false;
	}
	if (k->hi != NULL && k->hi[0] != '\0') {
		if (!qry__dt_norm(k->vr, k->hi, strlen(k->hi), '9', false, b) ||
		    strcmp(v, b) > 0)
			return false;
	}
	return true;
}

/* PS3.4 C.2.2.2.1. */
static bool single_match(const struct qry_key *k, const char *value,
			 bool fuzzy)
{
	const char *key = k->value != NULL ? k->value : "";
	char a[QRY__NORM_SIZE], b[QRY__NORM_SIZE];
	size_t kn, vn;

	if (is_dt_vr(k->vr) &&
	    qry__dt_norm(k->vr, key, strlen(key), '0', false, a)) {
		/* TM "1010" is "101000": compare the normalised forms. */
		return qry__dt_norm(k->vr, value, strlen(value), '0', true, b) &&
		       strcmp(a, b) == 0;
	}
	if (k->vr == DCM_VR_PN) {
		if (fuzzy)
			return pn_fuzzy(key, value);
		kn = pn_trimmed(key);
		vn = pn_trimmed(value);
		return kn == vn && memcmp(key, value, kn) == 0;
	}
	return strcmp(key, value) == 0;
}

static bool all_stars(const char *s)
{
	while (*s == '*')
		s++;
	return *s == '\0';
}

bool qry_key_match(const struct qry_key *k, const char *value, bool fuzzy)
{
	size_t i;

	if (k == NULL)
		return false;
	if (value == NULL)
		value = "";
	switch (k->match) {
	case QRY_MATCH_UNIVERSAL:
	case QRY_MATCH_SEQUENCE:
		return true;
	case QRY_MATCH_SINGLE:
		return single_match(k, value, fuzzy);
	case QRY_MATCH_WILDCARD:
		if (k->value == NULL || all_stars(k->value))
			return true; /* "*" alone is universal (C.2.2.2.4) */
		if (k->vr == DCM_VR_PN && fuzzy)
			return pn_fuzzy(k->value, value);
		return wild_utf8(k->value, value);
	case QRY_MATCH_RANGE:
		return range_match(k, value);
	case QRY_MATCH_UID_LIST:
		for (i = 0; i < k->n_uids; i++)
			if (k->uids[i] != NULL && strcmp(k->uids[i], value) == 0)
				return true;
		return false;
	}
	return false;
}
