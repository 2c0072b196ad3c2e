/*
 * charset.c - Specific Character Set (0008,0005) to and from UTF-8
 * (PS3.3 C.12.1.1.2, PS3.5 6.1).
 *
 * DESIGN
 *
 * Terms. Every defined term we accept is one row of `terms[]` below; a
 * parsed `struct dcm_charset` holds row indexes, one per value of (0008,0005)
 * in order. Row 0 is the empty term "" (the default repertoire), so a
 * zeroed struct and a leading empty value ("\ISO 2022 IR 87") both mean
 * ISO-IR 6 for value 1. Spelling mistakes seen in the wild ("ISO IR 100",
 * "ISO-IR 192", "iso_ir_100", "ISO_IR192") are matched by comparing terms
 * with case, spaces, '_' and '-' ignored, a superset of what pydicom
 * corrects. Terms that forbid code extensions (ISO_IR 192, GB18030, GBK;
 * PS3.5 6.1.2.5.4 d) win when first and are dropped when later, as pydicom
 * does.
 *
 * Three kinds of terms:
 *  - UTF-8 (ISO_IR 192): validated, invalid sequences become U+FFFD.
 *  - GB18030 and GBK: converted whole by glibc's iconv; no code extensions,
 *    so no state.
 *  - everything else follows the ISO 2022 model of PS3.5 6.1.2.5: a term
 *    designates a graphic set into G0 (bytes 0x21-0x7E, "GL") and/or G1
 *    (bytes 0xA0-0xFF, "GR"); table `gsets[]` lists every set with its
 *    designation escape sequence (PS3.3 tables C.12-3 and C.12-4). Decoding
 *    keeps the current G0 and G1 designations; an escape sequence changes
 *    one of them. A single-valued "ISO_IR 100" is just the case where no
 *    escape ever occurs.
 *
 * Initial state and resets. The initial state is value 1's G0 and G1 (ASCII
 * when value 1 has no G0 or designates a multi-byte G0 such as ISO 2022 IR
 * 87, which cannot sensibly be active before its escape). PS3.5 6.1.2.5.3
 * requires value 1's sets to be active again before CR, LF and any other
 * control character except ESC, before the value delimiter '\' of multi-
 * valued VRs, and before '^' and '=' in PN; so the decoder resets to the
 * initial state at those characters. Delimiters are single-byte GL
 * characters: while G0 holds a two-byte set (JIS X 0208/0212) the bytes
 * 0x5C, 0x5E and 0x3D are halves of characters ("ma" is 0x24 0x5E) and do
 * not reset. The encoder mirrors this: it emits the escape sequences back to
 * the initial sets before each such delimiter and at the end of the value.
 *
 * Tables. Single-byte G1 sets are 128-entry tables (bytes 0x80-0xFF to code
 * points) built once under pthread_once by asking iconv for each byte:
 * decoding them is then a table lookup with no iconv_t to share between
 * threads. 0x80-0x9F are the C1 controls in every ISO 8859 set (glibc's
 * TIS-620 leaves them out; Python maps them, and so do we). Latin-1 and the
 * JIS X 0201 katakana are computed. Multi-byte sets (JIS X 0208/0212 via
 * EUC-JP, KS X 1001 via EUC-KR, GB 2312 via EUC-CN, GB18030, GBK) open an
 * iconv_t per call because iconv_t is not thread-safe.
 *
 * Fast path. Text whose bytes are all below 0x80 with no ESC decodes and
 * encodes to itself in every supported set; that is the indexing hot path
 * and it is a copy.
 *
 * Deviations, each deliberate:
 *  - Bytes 0x80-0xFF with no G1 set (no (0008,0005), or ISO 2022 IR 6) are
 *    decoded as ISO 8859-1, like pydicom and most viewers: such files are
 *    common and the text is almost always Latin-1. `strict` reports it.
 *  - ISO-IR 14 (JIS X 0201 Romaji, G0 of ISO_IR 13) is decoded as ASCII:
 *    0x5C stays '\' and 0x7E stays '~' rather than YEN SIGN and OVERLINE,
 *    as pydicom and Japanese DICOM practice do.
 *  - An escape sequence designating a set that (0008,0005) does not list is
 *    still honoured (the text is readable); `strict` reports it.
 */
#include "charset_int.h"
#include "dcm.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ESC 0x1B
#define REPLACEMENT 0xFFFDu

/* ---- graphic character sets (PS3.3 tables C.12-3 and C.12-4) ---------- */

enum gset {
	GS_NONE,
	GS_ASCII,     /* ISO-IR 6, G0 */
	GS_JIS_ROMAN, /* ISO-IR 14, G0 */
	GS_JIS_X0208, /* ISO-IR 87, G0, two bytes */
	GS_JIS_X0212, /* ISO-IR 159, G0, two bytes */
	GS_LATIN1,    /* ISO-IR 100, G1 */
	GS_LATIN2,
	GS_LATIN3,
	GS_LATIN4,
	GS_CYRILLIC,
	GS_ARABIC,
	GS_GREEK,
	GS_HEBREW,
	GS_LATIN5,
	GS_LATIN9,
	GS_THAI,
	GS_KATAKANA, /* ISO-IR 13, G1 */
	GS_KS_X1001, /* ISO-IR 149, G1, two bytes */
	GS_GB2312,   /* ISO-IR 58, G1, two bytes */
	GS_COUNT
};

/* iconv converters for the two-byte sets, one slot each per call. */
enum conv { CONV_NONE, CONV_EUC_JP, CONV_EUC_KR, CONV_EUC_CN, CONV_COUNT };
static const char *const conv_names[CONV_COUNT] = {NULL, "EUC-JP", "EUC-KR",
                                                   "EUC-CN"};

struct gset_info {
	const char *name;  /* for messages */
	const char *esc;   /* designation, the bytes after ESC */
	uint8_t g;         /* 0: designated into G0 (GL); 1: G1 (GR) */
	uint8_t width;     /* bytes per character */
	uint8_t conv;      /* enum conv, two-byte sets */
	const char *table; /* iconv name of a single-byte G1 set's table */
};

static const struct gset_info gsets[GS_COUNT] = {
    [GS_NONE] = {"no set", "", 0, 0, CONV_NONE, NULL},
    [GS_ASCII] = {"ISO-IR 6", "(B", 0, 1, CONV_NONE, NULL},
    [GS_JIS_ROMAN] = {"ISO-IR 14", "(J", 0, 1, CONV_NONE, NULL},
    [GS_JIS_X0208] = {"ISO-IR 87", "$B", 0, 2, CONV_EUC_JP, NULL},
    [GS_JIS_X0212] = {"ISO-IR 159", "$(D", 0, 2, CONV_EUC_JP, NULL},
    [GS_LATIN1] = {"ISO-IR 100", "-A", 1, 1, CONV_NONE, NULL},
    [GS_LATIN2] = {"ISO-IR 101", "-B", 1, 1, CONV_NONE, "ISO-8859-2"},
    [GS_LATIN3] = {"ISO-IR 109", "-C", 1, 1, CONV_NONE, "ISO-8859-3"},
    [GS_LATIN4] = {"ISO-IR 110", "-D", 1, 1, CONV_NONE, "ISO-8859-4"},
    [GS_CYRILLIC] = {"ISO-IR 144", "-L", 1, 1, CONV_NONE, "ISO-8859-5"},
    [GS_ARABIC] = {"ISO-IR 127", "-G", 1, 1, CONV_NONE, "ISO-8859-6"},
    [GS_GREEK] = {"ISO-IR 126", "-F", 1, 1, CONV_NONE, "ISO-8859-7"},
    [GS_HEBREW] = {"ISO-IR 138", "-H", 1, 1, CONV_NONE, "ISO-8859-8"},
    [GS_LATIN5] = {"ISO-IR 148", "-M", 1, 1, CONV_NONE, "ISO-8859-9"},
    [GS_LATIN9] = {"ISO-IR 203", "-b", 1, 1, CONV_NONE, "ISO-8859-15"},
    [GS_THAI] = {"ISO-IR 166", "-T", 1, 1, CONV_NONE, "TIS-620"},
    [GS_KATAKANA] = {"ISO-IR 13", ")I", 1, 1, CONV_NONE, NULL},
    [GS_KS_X1001] = {"ISO-IR 149", "$)C", 1, 2, CONV_EUC_KR, NULL},
    [GS_GB2312] = {"ISO-IR 58", "$)A", 1, 2, CONV_EUC_CN, NULL},
};

/* ---- defined terms (PS3.3 C.12.1.1.2) ----------------------------------- */

enum term_kind {
	TK_2022,  /* G0/G1 model, with or without code extensions */
	TK_UTF8,  /* ISO_IR 192 */
	TK_ICONV, /* GB18030, GBK: whole value through iconv */
};

struct term {
	const char *name;  /* the defined term, as written back */
	uint8_t kind;      /* enum term_kind */
	uint8_t g0, g1;    /* sets the term designates (TK_2022) */
	bool ext;          /* "ISO 2022 ...": code extensions allowed */
	const char *iconv; /* TK_ICONV converter */
};

#define TERM_DEFAULT 0

static const struct term terms[] = {
    {"", TK_2022, GS_ASCII, GS_NONE, false, NULL},
    /* Not a defined term (the default is expressed by absence), but
     * written by many implementations and accepted by pydicom. */
    {"ISO_IR 6", TK_2022, GS_ASCII, GS_NONE, false, NULL},
    {"ISO_IR 100", TK_2022, GS_ASCII, GS_LATIN1, false, NULL},
    {"ISO_IR 101", TK_2022, GS_ASCII, GS_LATIN2, false, NULL},
    {"ISO_IR 109", TK_2022, GS_ASCII, GS_LATIN3, false, NULL},
    {"ISO_IR 110", TK_2022, GS_ASCII, GS_LATIN4, false, NULL},
    {"ISO_IR 144", TK_2022, GS_ASCII, GS_CYRILLIC, false, NULL},
    {"ISO_IR 127", TK_2022, GS_ASCII, GS_ARABIC, false, NULL},
    {"ISO_IR 126", TK_2022, GS_ASCII, GS_GREEK, false, NULL},
    {"ISO_IR 138", TK_2022, GS_ASCII, GS_HEBREW, false, NULL},
    {"ISO_IR 148", TK_2022, GS_ASCII, GS_LATIN5, false, NULL},
    {"ISO_IR 203", TK_2022, GS_ASCII, GS_LATIN9, false, NULL},
    {"ISO_IR 13", TK_2022, GS_JIS_ROMAN, GS_KATAKANA, false, NULL},
    {"ISO_IR 166", TK_2022, GS_ASCII, GS_THAI, false, NULL},
    {"ISO_IR 192", TK_UTF8, GS_NONE, GS_NONE, false, NULL},
    {"GB18030", TK_ICONV, GS_NONE, GS_NONE, false, "GB18030"},
    {"GBK", TK_ICONV, GS_NONE, GS_NONE, false, "GBK"},
    {"ISO 2022 IR 6", TK_2022, GS_ASCII, GS_NONE, true, NULL},
    {"ISO 2022 IR 100", TK_2022, GS_ASCII, GS_LATIN1, true, NULL},
    {"ISO 2022 IR 101", TK_2022, GS_ASCII, GS_LATIN2, true, NULL},
    {"ISO 2022 IR 109", TK_2022, GS_ASCII, GS_LATIN3, true, NULL},
    {"ISO 2022 IR 110", TK_2022, GS_ASCII, GS_LATIN4, true, NULL},
    {"ISO 2022 IR 144", TK_2022, GS_ASCII, GS_CYRILLIC, true, NULL},
    {"ISO 2022 IR 127", TK_2022, GS_ASCII, GS_ARABIC, true, NULL},
    {"ISO 2022 IR 126", TK_2022, GS_ASCII, GS_GREEK, true, NULL},
    {"ISO 2022 IR 138", TK_2022, GS_ASCII, GS_HEBREW, true, NULL},
    {"ISO 2022 IR 148", TK_2022, GS_ASCII, GS_LATIN5, true, NULL},
    {"ISO 2022 IR 203", TK_2022, GS_ASCII, GS_LATIN9, true, NULL},
    {"ISO 2022 IR 13", TK_2022, GS_JIS_ROMAN, GS_KATAKANA, true, NULL},
    {"ISO 2022 IR 166", TK_2022, GS_ASCII, GS_THAI, true, NULL},
    {"ISO 2022 IR 87", TK_2022, GS_JIS_X0208, GS_NONE, true, NULL},
    {"ISO 2022 IR 159", TK_2022, GS_JIS_X0212, GS_NONE, true, NULL},
    {"ISO 2022 IR 149", TK_2022, GS_NONE, GS_KS_X1001, true, NULL},
    {"ISO 2022 IR 58", TK_2022, GS_NONE, GS_GB2312, true, NULL},
};
#define TERM_COUNT (sizeof(terms) / sizeof(terms[0]))

/* Misspellings that the normalized comparison does not catch, keyed by
 * their normalized form. pydicom accepts the first two from early drafts
 * of CP 1234 and any Python codec name (of which UTF-8 is the one seen). */
static const struct {
	const char *key;
	const char *term;
} term_aliases[] = {
    {"ISO2022GBK", "GBK"},
    {"ISO202258", "ISO 2022 IR 58"},
    {"UTF8", "ISO_IR 192"},
};

/* ---- single-byte tables ------------------------------------------------- */

/* Code point of bytes 0x80-0xFF per G1 set; 0 = undefined. */
static uint16_t sb_table[GS_COUNT][128];
static bool sb_missing[GS_COUNT]; /* iconv lacks the converter */
static pthread_once_t sb_once = PTHREAD_ONCE_INIT;

static void sb_fill_iconv(enum gset gs)
{
	iconv_t cd = iconv_open("UTF-32BE", gsets[gs].table);
	unsigned b;

	if (cd == (iconv_t)-1) {
		sb_missing[gs] = true;
		return;
	}
	for (b = 0xA0; b <= 0xFF; b++) {
		char in[1] = {(char)b};
		unsigned char u[4];
		char *ip = in, *op = (char *)u;
		size_t il = 1, ol = sizeof(u);

		iconv(cd, NULL, NULL, NULL, NULL);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || ol != 0)
			continue;
		/* Every single-byte set maps into the BMP. */
		if (u[0] == 0 && u[1] == 0)
			sb_table[gs][b - 0x80] = (uint16_t)((u[2] << 8) | u[3]);
	}
	iconv_close(cd);
}

static void sb_init(void)
{
	unsigned gs, b;

	for (gs = 0; gs < GS_COUNT; gs++) {
		if (gsets[gs].g != 1 || gsets[gs].width != 1)
			continue;
		if (gs == GS_KATAKANA) {
			/* JIS X 0201 katakana are the half-width forms. */
			for (b = 0xA1; b <= 0xDF; b++)
				sb_table[gs][b - 0x80] =
				    (uint16_t)(0xFF61 + (b - 0xA1));
			continue;
		}
		/* ISO 2022 C1 controls (ISO 6429), the same in every set. */
		for (b = 0x80; b <= 0x9F; b++)
			sb_table[gs][b - 0x80] = (uint16_t)b;
		if (gs == GS_LATIN1) {
			for (b = 0xA0; b <= 0xFF; b++)
				sb_table[gs][b - 0x80] = (uint16_t)b;
			continue;
		}
		sb_fill_iconv((enum gset)gs);
	}
}

/* ---- small helpers ------------------------------------------------------ */

/* True when every byte is below 0x80 and none is ESC: such text is the same
 * in every supported set. Eight bytes at a time (the indexing hot path). */
static bool is_plain(const uint8_t *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101u;
	const uint64_t highs = 0x8080808080808080u;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w, x;

		memcpy(&w, p + i, 8);
		x = w ^ (ones * ESC); /* a zero byte where w has ESC */
		if ((w | ((x - ones) & ~x)) & highs)
			return false;
	}
	for (; i < n; i++)
		if (p[i] >= 0x80 || p[i] == ESC)
			return false;
	return true;
}

static void put_cp(struct pc_buf *out, uint32_t cp)
{
	uint8_t b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xC0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xE0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xF0 | (cp >> 18));
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 4;
	}
	pc_buf_append(out, b, n);
}

/*
 * Reads one UTF-8 sequence at p (n > 0 bytes available). Returns its length
 * and sets *cp; for an ill-formed sequence sets *cp = UINT32_MAX and returns
 * the length of its maximal subpart (at least 1), which is what one U+FFFD
 * replaces (Unicode 15 section 3.9, "U+FFFD substitution of maximal
 * subparts"; Python does the same).
 */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t b = p[0], lo = 0x80, hi = 0xBF;
	size_t len, i;
	uint32_t c;

	*cp = UINT32_MAX;
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xC2 && b <= 0xDF) {
		len = 2;
		c = b & 0x1Fu;
	} else if (b >= 0xE0 && b <= 0xEF) {
		len = 3;
		c = b & 0x0Fu;
		if (b == 0xE0)
			lo = 0xA0; /* overlong */
		else if (b == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		len = 4;
		c = b & 0x07u;
		if (b == 0xF0)
			lo = 0x90; /* overlong */
		else if (b == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 1;
	}
	for (i = 1; i < len; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			return i;
		c = (c << 6) | (p[i] & 0x3Fu);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = c;
	return len;
}

/* Text VRs hold one value in which '\' is data (PS3.5 6.2). */
static bool vr_is_text(enum dcm_vr vr)
{
	return vr == DCM_VR_LT || vr == DCM_VR_ST || vr == DCM_VR_UT ||
	       vr == DCM_VR_UR;
}

static bool cs_valid(const struct dcm_charset *cs)
{
	size_t i;

	if (cs->n > DCM_CHARSET_MAX)
		return false;
	for (i = 0; i < cs->n; i++)
		if (cs->term[i] >= TERM_COUNT)
			return false;
	return true;
}

static const struct term *cs_first(const struct dcm_charset *cs)
{
	return cs->n > 0 ? &terms[cs->term[0]] : &terms[TERM_DEFAULT];
}

/* "ISO 2022 IR 13\ISO 2022 IR 87" for messages. */
static void cs_describe(const struct dcm_charset *cs, char *s, size_t size)
{
	size_t i, used = 0;
	int k;

	s[0] = '\0';
	if (cs->n == 0) {
		snprintf(s, size, "the default repertoire");
		return;
	}
	for (i = 0; i < cs->n && used < size; i++) {
		k = snprintf(s + used, size - used, "%s%s", i ? "\\" : "",
		             terms[cs->term[i]].name);
		if (k < 0)
			return;
		used += (size_t)k;
	}
}

/* ---- parsing (0008,0005) ------------------------------------------------ */

/*
 * The comparison key of a term: upper case, with ' ', '_' and '-' dropped.
 * False when the text is too long or not printable ASCII (then it matches
 * nothing).
 */
static bool term_key(const uint8_t *s, size_t n, char *key, size_t size)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c == ' ' || c == '_' || c == '-')
			continue;
		if (c <= 0x20 || c >= 0x7F || k + 1 >= size)
			return false;
		if (c >= 'a' && c <= 'z')
			c = (uint8_t)(c - 'a' + 'A');
		key[k++] = (char)c;
	}
	key[k] = '\0';
	return true;
}

static int term_lookup_exact(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < TERM_COUNT; i++)
		if (strlen(terms[i].name) == n &&
		    memcmp(terms[i].name, s, n) == 0)
			return (int)i;
	return -1;
}

static int term_lookup(const uint8_t *s, size_t n)
{
	char key[40], canon[40];
	int t = term_lookup_exact(s, n);
	size_t i;

	if (t >= 0)
		return t;
	if (!term_key(s, n, key, sizeof(key)) || key[0] == '\0')
		return -1;
	for (i = 0; i < sizeof(term_aliases) / sizeof(term_aliases[0]); i++)
		if (strcmp(key, term_aliases[i].key) == 0)
			return term_lookup_exact(
			    (const uint8_t *)term_aliases[i].term,
			    strlen(term_aliases[i].term));
	/* The keys of all terms are distinct ("ISOIR100" vs "ISO2022IR100"). */
	for (i = 1; i < TERM_COUNT; i++) {
		const char *name = terms[i].name;

		if (term_key((const uint8_t *)name, strlen(name), canon,
		             sizeof(canon)) &&
		    strcmp(key, canon) == 0)
			return (int)i;
	}
	return -1;
}

/* Copies `s` for an error message, non-printable bytes as '?'. */
static void printable(const uint8_t *s, size_t n, char *dst, size_t size)
{
	size_t i;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7F) ? (char)s[i] : '?';
	dst[n] = '\0';
}

enum pc_status dcm_charset_parse(struct pc_span value, struct dcm_charset *out,
                                 struct pc_err *err)
{
	struct dcm_charset cs;
	size_t pos = 0, nval = 0;
	char shown[48];

	if (out == NULL || (value.p == NULL && value.n > 0))
		return pc_err_set(err, PC_INVAL, 0,
		                  "dcm_charset_parse: NULL argument");
	memset(&cs, 0, sizeof(cs));
	memset(out, 0, sizeof(*out));
	while (pos <= value.n) {
		size_t start = pos, end;
		int t;

		while (pos < value.n && value.p[pos] != '\\')
			pos++;
		end = pos;
		pos++; /* past the '\' (or past the end) */
		/* CS: leading and trailing spaces are insignificant; NUL is
		 * a common wrong padding byte. */
		while (start < end &&
		       (value.p[start] == ' ' || value.p[start] == '\0'))
			start++;
		while (end > start &&
		       (value.p[end - 1] == ' ' || value.p[end - 1] == '\0'))
			end--;
		nval++;
		if (start == end) {
			/* An empty value 1 is the default repertoire
			 * (PS3.3 C.12.1.1.2); later empty values say nothing.
			 */
			if (nval != 1)
				continue;
			t = TERM_DEFAULT;
		} else {
			t = term_lookup(value.p + start, end - start);
		}
		if (t < 0) {
			printable(value.p + start, end - start, shown,
			          sizeof(shown));
			return pc_err_set(err, PC_CHARSET, start,
			                  "Specific Character Set value %zu "
			                  "\"%s\" is not a known defined term",
			                  nval, shown);
		}
		if (terms[t].kind != TK_2022) {
			/* No code extensions with these (PS3.5 6.1.2.5.4 d):
			 * first wins alone, later ones are ignored. */
			if (cs.n == 0 && nval == 1) {
				cs.term[cs.n++] = (uint8_t)t;
				break;
			}
			continue;
		}
		if (cs.n == DCM_CHARSET_MAX)
			return pc_err_set(err, PC_CHARSET, start,
			                  "Specific Character Set has more "
			                  "than %d values",
			                  DCM_CHARSET_MAX);
		cs.term[cs.n++] = (uint8_t)t;
	}
	if (cs.n == 1 && cs.term[0] == TERM_DEFAULT)
		cs.n = 0;
	*out = cs;
	return PC_OK;
}

const char *dcm_charset_term(const struct dcm_charset *cs, size_t i)
{
	if (cs == NULL || i >= cs->n || i >= DCM_CHARSET_MAX ||
	    cs->term[i] >= TERM_COUNT)
		return "";
	return terms[cs->term[i]].name;
}

/* ---- decoding ----------------------------------------------------------- */

struct dec {
	const uint8_t *p; /* input */
	size_t n;
	struct pc_buf *out;
	const struct dcm_charset *cs;
	uint8_t g0, g1; /* current designations (enum gset) */
	uint8_t init_g0, init_g1;
	uint32_t declared;    /* bit per gset listed by (0008,0005) */
	bool ext;             /* some term allows code extensions */
	bool pn;              /* '^' and '=' reset */
	bool multi;           /* '\' resets */
	bool bad;             /* a decoding error was seen */
	uint64_t bad_off;     /* offset of the first one */
	char bad_msg[120];    /* and what it was */
	enum pc_status fatal; /* converter missing or out of memory */
	iconv_t cd[CONV_COUNT];
};

static void dec_note(struct dec *d, size_t off, const char *fmt, ...)
    PC_PRINTF(3, 4);

/* Records the first decoding error; the output is not changed. */
static void dec_note(struct dec *d, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (d->bad)
		return;
	d->bad = true;
	d->bad_off = off;
	va_start(ap, fmt);
	vsnprintf(d->bad_msg, sizeof(d->bad_msg), fmt, ap);
	va_end(ap);
}

static void dec_reset(struct dec *d)
{
	d->g0 = d->init_g0;
	d->g1 = d->init_g1;
}

static bool dec_is_delim(const struct dec *d, uint8_t b)
{
	if (b == '\\')
		return d->multi;
	if (b == '^' || b == '=')
		return d->pn;
	return false;
}

static iconv_t get_conv(iconv_t *slot, const char *to, const char *from,
                        enum pc_status *fatal)
{
	if (*slot == (iconv_t)-1) {
		*slot = iconv_open(to, from);
		if (*slot == (iconv_t)-1 && *fatal == PC_OK)
			*fatal = errno == ENOMEM ? PC_NOMEM : PC_UNSUPPORTED;
	}
	return *slot;
}

/*
 * Decodes `npairs` two-byte characters of set `gs` at offset `off` by
 * handing them to iconv in EUC form: JIS X 0208 and the G1 sets as two
 * bytes with the high bit set, JIS X 0212 behind SS3 (0x8F).
 */
static void dec_pairs(struct dec *d, enum gset gs, size_t off, size_t npairs)
{
	const uint8_t *q = d->p + off;
	iconv_t cd = get_conv(&d->cd[gsets[gs].conv], "UTF-8",
	                      conv_names[gsets[gs].conv], &d->fatal);
	size_t per = gs == GS_JIS_X0212 ? 3 : 2;
	size_t k = 0;

	while (k < npairs) {
		char tmp[3 * 64];
		size_t m = npairs - k, t = 0, j, room, il, ol, done;
		uint8_t *dst;
		char *ip = tmp, *op;

		if (cd == (iconv_t)-1) {
			dec_note(d, off + 2 * k, "no converter for %s",
			         gsets[gs].name);
			put_cp(d->out, REPLACEMENT);
			k++;
			continue;
		}
		if (m > 64)
			m = 64;
		for (j = 0; j < m; j++) {
			if (gs == GS_JIS_X0212)
				tmp[t++] = (char)0x8F;
			tmp[t++] = (char)(q[2 * (k + j)] | 0x80);
			tmp[t++] = (char)(q[2 * (k + j) + 1] | 0x80);
		}
		/* One BMP character is at most 3 bytes of UTF-8; 8 leaves
		 * room for any converter that emits two code points. */
		room = m * 8;
		dst = pc_buf_reserve(d->out, room);
		if (dst == NULL)
			return;
		op = (char *)dst;
		il = t;
		ol = room;
		if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1) {
			pc_buf_commit(d->out, room - ol);
			k += m;
			continue;
		}
		pc_buf_commit(d->out, room - ol);
		iconv(cd, NULL, NULL, NULL, NULL);
		done = (t - il) / per;
		k += done;
		dec_note(d, off + 2 * k,
		         "bytes 0x%02X 0x%02X at offset %zu are not a "
		         "character of %s",
		         q[2 * k], q[2 * k + 1], off + 2 * k, gsets[gs].name);
		put_cp(d->out, REPLACEMENT);
		k++;
	}
}

/* A run of two-byte characters of set `gs` starting at `i`; returns where
 * it ends. */
static size_t dec_mb_run(struct dec *d, enum gset gs, size_t i)
{
	uint8_t lo = gsets[gs].g == 0 ? 0x21 : 0xA1;
	uint8_t hi = gsets[gs].g == 0 ? 0x7E : 0xFE;
	size_t start = i, len;

	while (i < d->n && d->p[i] >= lo && d->p[i] <= hi)
		i++;
	len = i - start;
	dec_pairs(d, gs, start, len / 2);
	if (len % 2) {
		dec_note(d, i - 1,
		         "byte 0x%02X at offset %zu is half of a "
		         "%s character",
		         d->p[i - 1], i - 1, gsets[gs].name);
		put_cp(d->out, REPLACEMENT);
	}
	return i;
}

/* An escape sequence at `i` (ISO 2022: ESC, intermediates 0x20-0x2F, a
 * final byte 0x30-0x7E); returns where decoding continues. */
static size_t dec_escape(struct dec *d, size_t i)
{
	size_t j = i + 1, len;
	unsigned gs;

	while (j < d->n && d->p[j] >= 0x20 && d->p[j] <= 0x2F)
		j++;
	if (j >= d->n) {
		dec_note(d, i, "truncated escape sequence at offset %zu", i);
		put_cp(d->out, REPLACEMENT);
		return d->n;
	}
	if (d->p[j] < 0x30 || d->p[j] > 0x7E) {
		dec_note(d, i, "malformed escape sequence at offset %zu", i);
		put_cp(d->out, REPLACEMENT);
		return j;
	}
	len = j - i; /* bytes after ESC, final included */
	for (gs = GS_ASCII; gs < GS_COUNT; gs++) {
		const char *e = gsets[gs].esc;

		if (strlen(e) == len && memcmp(e, d->p + i + 1, len) == 0)
			break;
	}
	if (gs == GS_COUNT) {
		dec_note(d, i, "unknown escape sequence at offset %zu", i);
		put_cp(d->out, REPLACEMENT);
		return j + 1;
	}
	if (!d->ext)
		dec_note(d, i,
		         "escape sequence at offset %zu but the character "
		         "set has no code extensions",
		         i);
	else if (!(d->declared & (1u << gs)))
		dec_note(d, i,
		         "escape sequence at offset %zu designates %s, which "
		         "Specific Character Set does not list",
		         i, gsets[gs].name);
	if (gsets[gs].g == 0)
		d->g0 = (uint8_t)gs;
	else
		d->g1 = (uint8_t)gs;
	return j + 1;
}

static void dec_2022(struct dec *d)
{
	const uint8_t *p = d->p;
	size_t i = 0, start;

	while (i < d->n && pc_buf_status(d->out) == PC_OK) {
		uint8_t b = p[i];
		const struct gset_info *g1 = &gsets[d->g1];

		if (b == ESC) {
			i = dec_escape(d, i);
		} else if (b < 0x20 || b == 0x7F) {
			/* PS3.5 6.1.2.5.3: value 1's sets are active again
			 * before CR, LF and every other control but ESC. */
			dec_reset(d);
			pc_buf_putc(d->out, (char)b);
			i++;
		} else if (b < 0x80 && gsets[d->g0].width == 2) {
			/* SPACE is SPACE in every 94^n set (ISO 2022 6.3). */
			if (b == 0x20) {
				pc_buf_putc(d->out, ' ');
				i++;
			} else {
				i = dec_mb_run(d, (enum gset)d->g0, i);
			}
		} else if (b < 0x80) {
			/* ASCII, or JIS X 0201 Romaji read as ASCII (see the
			 * top of the file); copy a run at once. */
			start = i;
			while (i < d->n && p[i] >= 0x20 && p[i] < 0x7F &&
			       !dec_is_delim(d, p[i]))
				i++;
			if (i > start)
				pc_buf_append(d->out, p + start, i - start);
			if (i < d->n && dec_is_delim(d, p[i])) {
				dec_reset(d);
				pc_buf_putc(d->out, (char)p[i]);
				i++;
			}
		} else if (d->g1 == GS_NONE) {
			/* No G1 set: read as ISO 8859-1 (see the top). */
			dec_note(d, i,
			         "byte 0x%02X at offset %zu is not in the "
			         "default repertoire",
			         b, i);
			put_cp(d->out, b);
			i++;
		} else if (g1->width == 2) {
			if (b >= 0xA1 && b <= 0xFE) {
				i = dec_mb_run(d, (enum gset)d->g1, i);
			} else {
				dec_note(d, i,
				         "byte 0x%02X at offset %zu is not "
				         "in %s",
				         b, i, g1->name);
				put_cp(d->out, REPLACEMENT);
				i++;
			}
		} else {
			uint16_t cp = sb_table[d->g1][b - 0x80];

			if (cp == 0) {
				if (sb_missing[d->g1] && d->fatal == PC_OK)
					d->fatal = PC_UNSUPPORTED;
				dec_note(d, i,
				         "byte 0x%02X at offset %zu is not "
				         "defined in %s",
				         b, i, g1->name);
				cp = REPLACEMENT;
			}
			put_cp(d->out, cp);
			i++;
		}
	}
}

static void dec_utf8(struct dec *d)
{
	size_t i = 0, start;

	while (i < d->n && pc_buf_status(d->out) == PC_OK) {
		uint32_t cp;
		size_t len;

		start = i;
		while (i < d->n && d->p[i] < 0x80)
			i++;
		if (i > start)
			pc_buf_append(d->out, d->p + start, i - start);
		if (i >= d->n)
			break;
		len = utf8_next(d->p + i, d->n - i, &cp);
		if (cp == UINT32_MAX) {
			dec_note(d, i, "invalid UTF-8 at offset %zu", i);
			put_cp(d->out, REPLACEMENT);
		} else {
			pc_buf_append(d->out, d->p + i, len);
		}
		i += len;
	}
}

/* GB18030 and GBK: the whole value through iconv. A '\' may be the second
 * byte of a character here, which is why values are split after decoding. */
static void dec_iconv(struct dec *d, const char *name)
{
	iconv_t cd = get_conv(&d->cd[CONV_NONE], "UTF-8", name, &d->fatal);
	char *ip = (char *)(uintptr_t)d->p;
	size_t il = d->n;

	if (cd == (iconv_t)-1) {
		dec_note(d, 0, "no converter for %s", name);
		put_cp(d->out, REPLACEMENT);
		return;
	}
	while (il > 0) {
		size_t room = il < 1024 ? il * 4 + 8 : 4096, ol = room, r;
		uint8_t *dst = pc_buf_reserve(d->out, room);
		char *op;
		int e;

		if (dst == NULL)
			return;
		op = (char *)dst;
		r = iconv(cd, &ip, &il, &op, &ol);
		e = errno;
		pc_buf_commit(d->out, room - ol);
		if (r != (size_t)-1 || e == E2BIG)
			continue;
		iconv(cd, NULL, NULL, NULL, NULL);
		dec_note(d, d->n - il, "%s sequence at offset %zu in %s",
		         e == EINVAL ? "truncated" : "invalid", d->n - il,
		         name);
		put_cp(d->out, REPLACEMENT);
		if (e == EINVAL)
			break;
		/* Skip one byte and resynchronize, as Python does. */
		ip++;
		il--;
	}
}

enum pc_status dcm_charset_decode(const struct dcm_charset *cs, enum dcm_vr vr,
                                  struct pc_span in, bool strict,
                                  struct pc_buf *out, struct pc_err *err)
{
	static const struct dcm_charset dflt;
	const struct term *first;
	struct dec d;
	enum pc_status st;
	char desc[160];
	size_t i;

	if (cs == NULL)
		cs = &dflt;
	if (out == NULL || (in.p == NULL && in.n > 0) || !cs_valid(cs))
		return pc_err_set(err, PC_INVAL, 0,
		                  "dcm_charset_decode: invalid argument");
	if (is_plain(in.p, in.n)) {
		pc_buf_append(out, in.p, in.n);
		return pc_buf_status(out);
	}
	pthread_once(&sb_once, sb_init);

	memset(&d, 0, sizeof(d));
	d.p = in.p;
	d.n = in.n;
	d.out = out;
	d.cs = cs;
	d.pn = vr == DCM_VR_PN;
	d.multi = !vr_is_text(vr);
	d.fatal = PC_OK;
	for (i = 0; i < CONV_COUNT; i++)
		d.cd[i] = (iconv_t)-1;
	d.declared = 1u << GS_ASCII;
	for (i = 0; i < cs->n; i++) {
		const struct term *t = &terms[cs->term[i]];

		d.declared |= (1u << t->g0) | (1u << t->g1);
		d.ext = d.ext || t->ext;
	}
	first = cs_first(cs);
	d.init_g0 = (first->g0 == GS_NONE || gsets[first->g0].width == 2)
	                ? GS_ASCII
	                : first->g0;
	d.init_g1 = first->g1;
	dec_reset(&d);

	if (first->kind == TK_UTF8)
		dec_utf8(&d);
	else if (first->kind == TK_ICONV)
		dec_iconv(&d, first->iconv);
	else
		dec_2022(&d);

	for (i = 0; i < CONV_COUNT; i++)
		if (d.cd[i] != (iconv_t)-1)
			iconv_close(d.cd[i]);

	st = pc_buf_status(out);
	if (st != PC_OK)
		return pc_err_set(err, st, 0, "decoding text: %s",
		                  pc_status_text(st));
	cs_describe(cs, desc, sizeof(desc));
	if (d.fatal == PC_NOMEM)
		return pc_err_set(err, PC_NOMEM, 0,
		                  "out of memory opening an iconv converter");
	if (d.fatal != PC_OK)
		return pc_err_set(err, d.fatal, d.bad_off,
		                  "%s: glibc iconv cannot convert %s",
		                  d.bad_msg, desc);
	if (strict && d.bad)
		return pc_err_set(err, PC_CHARSET, d.bad_off, "%s (%s)",
		                  d.bad_msg, desc);
	return PC_OK;
}

/* ---- encoding ----------------------------------------------------------- */

struct enc {
	struct pc_buf *out;
	const struct dcm_charset *cs;
	uint8_t g0, g1, init_g0, init_g1;
	enum pc_status fatal;
	iconv_t cd[CONV_COUNT];
};

static void enc_designate(struct enc *e, enum gset gs)
{
	pc_buf_putc(e->out, ESC);
	pc_buf_puts(e->out, gsets[gs].esc);
	if (gsets[gs].g == 0)
		e->g0 = (uint8_t)gs;
	else
		e->g1 = (uint8_t)gs;
}

/* Makes value 1's sets active again (PS3.5 6.1.2.5.3). G1 can only be
 * designated back when value 1 has a G1 set; otherwise nothing reads GR
 * after the reset anyway. */
static void enc_restore(struct enc *e)
{
	if (e->g0 != e->init_g0)
		enc_designate(e, (enum gset)e->init_g0);
	if (e->g1 != e->init_g1 && e->init_g1 != GS_NONE)
		enc_designate(e, (enum gset)e->init_g1);
	e->g0 = e->init_g0;
	e->g1 = e->init_g1;
}

/* The bytes of `cp` in set `gs` (GL bytes for G0 sets, GR for G1), or 0. */
static size_t enc_try(struct enc *e, enum gset gs, uint32_t cp, uint8_t *b)
{
	const struct gset_info *g = &gsets[gs];
	unsigned i;

	if (gs == GS_NONE || gs == GS_ASCII || gs == GS_JIS_ROMAN)
		return 0;
	if (g->width == 1) {
		for (i = 0; i < 128; i++) {
			if (sb_table[gs][i] == cp && cp != 0) {
				b[0] = (uint8_t)(0x80 + i);
				return 1;
			}
		}
		return 0;
	} else {
		iconv_t cd = get_conv(&e->cd[g->conv], conv_names[g->conv],
		                      "UTF-8", &e->fatal);
		uint8_t u[4], euc[8];
		char *ip = (char *)u, *op = (char *)euc;
		size_t il, ol = sizeof(euc), n;

		if (cd == (iconv_t)-1)
			return 0;
		/* cp >= 0x80 here: ASCII never reaches enc_try. */
		if (cp < 0x800) {
			u[0] = (uint8_t)(0xC0 | (cp >> 6));
			u[1] = (uint8_t)(0x80 | (cp & 0x3F));
			il = 2;
		} else if (cp < 0x10000) {
			u[0] = (uint8_t)(0xE0 | (cp >> 12));
			u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
			u[2] = (uint8_t)(0x80 | (cp & 0x3F));
			il = 3;
		} else {
			u[0] = (uint8_t)(0xF0 | (cp >> 18));
			u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
			u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
			u[3] = (uint8_t)(0x80 | (cp & 0x3F));
			il = 4;
		}
		iconv(cd, NULL, NULL, NULL, NULL);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
			return 0;
		n = sizeof(euc) - ol;
		/* EUC-JP also holds JIS X 0212 (behind 0x8F) and half-width
		 * katakana (behind 0x8E): keep only the asked-for set. */
		if (gs == GS_JIS_X0212) {
			if (n != 3 || euc[0] != 0x8F)
				return 0;
			memmove(euc, euc + 1, 2);
			n = 2;
		}
		if (n != 2 || euc[0] < 0xA1 || euc[0] > 0xFE || euc[1] < 0xA1 ||
		    euc[1] > 0xFE)
			return 0;
		for (i = 0; i < 2; i++)
			b[i] = g->g == 0 ? (uint8_t)(euc[i] & 0x7F) : euc[i];
		return 2;
	}
}

/* Finds a set of `cs` holding `cp`, designates it and writes the bytes. */
static bool enc_char(struct enc *e, uint32_t cp)
{
	uint8_t cand[2 + 2 * DCM_CHARSET_MAX];
	size_t nc = 0, i, len = 0;
	uint8_t b[2];

	/* What is designated now first, to avoid needless escapes; then the
	 * terms in the order (0008,0005) lists them. */
	cand[nc++] = e->g1;
	cand[nc++] = e->g0;
	for (i = 0; i < e->cs->n; i++) {
		cand[nc++] = terms[e->cs->term[i]].g1;
		cand[nc++] = terms[e->cs->term[i]].g0;
	}
	if (e->cs->n == 0) {
		cand[nc++] = GS_NONE;
		cand[nc++] = GS_NONE;
	}
	for (i = 0; i < nc; i++) {
		len = enc_try(e, (enum gset)cand[i], cp, b);
		if (len > 0)
			break;
	}
	if (len == 0)
		return false;
	if (gsets[cand[i]].g == 0 && e->g0 != cand[i])
		enc_designate(e, (enum gset)cand[i]);
	else if (gsets[cand[i]].g == 1 && e->g1 != cand[i])
		enc_designate(e, (enum gset)cand[i]);
	pc_buf_append(e->out, b, len);
	return true;
}

static enum pc_status enc_2022(struct enc *e, enum dcm_vr vr, struct pc_span in,
                               struct pc_err *err)
{
	bool pn = vr == DCM_VR_PN, multi = !vr_is_text(vr);
	const struct term *first = cs_first(e->cs);
	char desc[160];
	size_t i = 0;

	e->init_g0 = (first->g0 == GS_NONE || gsets[first->g0].width == 2)
	                 ? GS_ASCII
	                 : first->g0;
	e->init_g1 = first->g1;
	e->g0 = e->init_g0;
	e->g1 = e->init_g1;
	while (i < in.n) {
		uint32_t cp;
		size_t len = utf8_next(in.p + i, in.n - i, &cp);

		if (cp == UINT32_MAX)
			return pc_err_set(err, PC_CHARSET, i,
			                  "invalid UTF-8 at offset %zu", i);
		if (cp == ESC) {
			cs_describe(e->cs, desc, sizeof(desc));
			return pc_err_set(err, PC_CHARSET, i,
			                  "ESC at offset %zu cannot be encoded "
			                  "in %s",
			                  i, desc);
		}
		if (cp < 0x20 || cp == 0x7F || (cp == '\\' && multi) ||
		    ((cp == '^' || cp == '=') && pn)) {
			enc_restore(e);
			pc_buf_putc(e->out, (char)cp);
		} else if (cp < 0x80) {
			if (gsets[e->g0].width != 1)
				enc_designate(e, (enum gset)e->init_g0);
			pc_buf_putc(e->out, (char)cp);
		} else if (!enc_char(e, cp)) {
			cs_describe(e->cs, desc, sizeof(desc));
			if (e->fatal != PC_OK)
				return pc_err_set(err, e->fatal, i,
				                  "U+%04X at offset %zu: glibc "
				                  "iconv cannot convert to %s",
				                  (unsigned)cp, i, desc);
			return pc_err_set(err, PC_CHARSET, i,
			                  "U+%04X at offset %zu has no "
			                  "encoding in %s",
			                  (unsigned)cp, i, desc);
		}
		i += len;
	}
	enc_restore(e);
	return PC_OK;
}

static enum pc_status enc_iconv(struct enc *e, const char *name,
                                struct pc_span in, struct pc_err *err)
{
	iconv_t cd = get_conv(&e->cd[CONV_NONE], name, "UTF-8", &e->fatal);
	char *ip = (char *)(uintptr_t)in.p;
	size_t il = in.n;

	if (cd == (iconv_t)-1)
		return pc_err_set(err, e->fatal, 0,
		                  "glibc iconv cannot convert to %s", name);
	while (il > 0) {
		size_t room = il < 1024 ? il * 4 + 8 : 4096, ol = room, r;
		uint8_t *dst = pc_buf_reserve(e->out, room);
		char *op;
		int en;

		if (dst == NULL)
			return pc_buf_status(e->out);
		op = (char *)dst;
		r = iconv(cd, &ip, &il, &op, &ol);
		en = errno;
		pc_buf_commit(e->out, room - ol);
		if (r != (size_t)-1 || en == E2BIG)
			continue;
		return pc_err_set(err, PC_CHARSET, in.n - il,
		                  "character at offset %zu has no encoding "
		                  "in %s",
		                  in.n - il, name);
	}
	return PC_OK;
}

enum pc_status dcm_charset_encode(const struct dcm_charset *cs, enum dcm_vr vr,
                                  struct pc_span in, struct pc_buf *out,
                                  struct pc_err *err)
{
	static const struct dcm_charset dflt;
	const struct term *first;
	struct enc e;
	enum pc_status st;
	size_t start, i, bad;
	uint32_t cp;

	if (cs == NULL)
		cs = &dflt;
	if (out == NULL || (in.p == NULL && in.n > 0) || !cs_valid(cs))
		return pc_err_set(err, PC_INVAL, 0,
		                  "dcm_charset_encode: invalid argument");
	first = cs_first(cs);
	if (is_plain(in.p, in.n)) {
		pc_buf_append(out, in.p, in.n);
		return pc_buf_status(out);
	}
	if (first->kind == TK_UTF8) {
		for (i = 0; i < in.n; i += bad) {
			bad = utf8_next(in.p + i, in.n - i, &cp);
			if (cp == UINT32_MAX)
				return pc_err_set(err, PC_CHARSET, i,
				                  "invalid UTF-8 at offset %zu",
				                  i);
		}
		pc_buf_append(out, in.p, in.n);
		return pc_buf_status(out);
	}
	pthread_once(&sb_once, sb_init);

	memset(&e, 0, sizeof(e));
	e.out = out;
	e.cs = cs;
	e.fatal = PC_OK;
	for (i = 0; i < CONV_COUNT; i++)
		e.cd[i] = (iconv_t)-1;
	start = out->n;
	if (first->kind == TK_ICONV) {
		/* Validate first: iconv's EILSEQ does not tell bad UTF-8
		 * from a character the target lacks. */
		st = PC_OK;
		for (i = 0; i < in.n && st == PC_OK; i += bad) {
			bad = utf8_next(in.p + i, in.n - i, &cp);
			if (cp == UINT32_MAX)
				st = pc_err_set(err, PC_CHARSET, i,
				                "invalid UTF-8 at offset %zu",
				                i);
		}
		if (st == PC_OK)
			st = enc_iconv(&e, first->iconv, in, err);
	} else {
		st = enc_2022(&e, vr, in, err);
	}
	for (i = 0; i < CONV_COUNT; i++)
		if (e.cd[i] != (iconv_t)-1)
			iconv_close(e.cd[i]);
	if (st == PC_OK) {
		st = pc_buf_status(out);
		if (st != PC_OK)
			return pc_err_set(err, st, 0, "encoding text: %s",
			                  pc_status_text(st));
	} else if (pc_buf_status(out) == PC_OK && out->n >= start) {
		/* Leave `out` as it was: no half-encoded value. */
		pc_buf_truncate(out, out->n - start);
	}
	return st;
}

/* ---- splitting values --------------------------------------------------- */

enum split_mode { SPLIT_PLAIN, SPLIT_2022, SPLIT_GBK, SPLIT_GB18030 };

/* The next '\' delimiter at or after `i`, or v.n. `two` tracks whether G0
 * holds a two-byte set (SPLIT_2022). */
static size_t next_delim(enum split_mode mode, struct pc_span v, size_t i,
                         bool *two)
{
	const uint8_t *p = v.p, *bs;

	if (mode == SPLIT_PLAIN) {
		bs = i < v.n ? memchr(p + i, '\\', v.n - i) : NULL;
		return bs != NULL ? (size_t)(bs - p) : v.n;
	}
	while (i < v.n) {
		uint8_t b = p[i];

		if (b == '\\' && !(mode == SPLIT_2022 && *two))
			return i;
		if (mode != SPLIT_2022) {
			/* GBK/GB18030: a lead byte takes the next one (or,
			 * GB18030 with a digit second, the next three). */
			if (b >= 0x81 && b <= 0xFE) {
				size_t len = 2;

				if (mode == SPLIT_GB18030 && i + 1 < v.n &&
				    p[i + 1] >= 0x30 && p[i + 1] <= 0x39)
					len = 4;
				i = v.n - i > len ? i + len : v.n;
			} else {
				i++;
			}
		} else if (b == ESC) {
			size_t j = i + 1;
			unsigned gs;

			while (j < v.n && p[j] >= 0x20 && p[j] <= 0x2F)
				j++;
			if (j >= v.n)
				return v.n;
			for (gs = GS_ASCII; gs < GS_COUNT; gs++)
				if (strlen(gsets[gs].esc) == j - i &&
				    memcmp(gsets[gs].esc, p + i + 1, j - i) ==
				        0)
					break;
			if (gs < GS_COUNT && gsets[gs].g == 0)
				*two = gsets[gs].width == 2;
			i = j + 1;
		} else if (b < 0x20 || b == 0x7F) {
			*two = false; /* PS3.5 6.1.2.5.3 */
			i++;
		} else if (*two && b >= 0x21 && b <= 0x7E) {
			i = v.n - i > 2 ? i + 2 : v.n;
		} else {
			i++;
		}
	}
	return v.n;
}

size_t dcm__charset_split(const struct dcm_charset *cs, struct pc_span v,
                          size_t idx, struct pc_span *out)
{
	enum split_mode mode = SPLIT_PLAIN;
	size_t count = 0, start = 0, d, i;
	bool two = false;

	if (cs != NULL && cs_valid(cs)) {
		const struct term *first = cs_first(cs);

		if (first->kind == TK_ICONV)
			mode = strcmp(first->iconv, "GBK") == 0 ? SPLIT_GBK
			                                        : SPLIT_GB18030;
		for (i = 0; i < cs->n && mode == SPLIT_PLAIN; i++)
			if (gsets[terms[cs->term[i]].g0].width == 2)
				mode = SPLIT_2022;
	}
	if (v.p == NULL)
		v.n = 0;
	for (;;) {
		d = next_delim(mode, v, start, &two);
		if (count == idx && out != NULL) {
			out->p = v.p + start;
			out->n = d - start;
		}
		count++;
		if (d >= v.n)
			break;
		start = d + 1;
		two = false;
	}
	return count;
}
