/*
 * ljpeg.c - JPEG Lossless, Non-Hierarchical, Huffman coded (ITU-T T.81
 * Annex H, process 14): transfer syntaxes 1.2.840.10008.1.2.4.57 (any
 * predictor) and 1.2.840.10008.1.2.4.70 (Selection Value 1). Our own
 * decoder: Debian's libjpeg-turbo 2.1 has no lossless mode.
 *
 * DESIGN
 *   Markers are parsed with a cursor over `in` (every segment length is
 *   checked against what remains). Each scan is decoded row by row into
 *   two row buffers (previous and current line, components interleaved as
 *   in the scan) that hold the reconstructed values of the point-
 *   transformed samples; a finished row is shifted left by Pt, masked to
 *   Bits Stored, sign-extended and stored into the frame.
 *
 *   The bit reader keeps up to 64 bits left-aligned in an accumulator and
 *   removes byte stuffing (FF 00), eight bytes at a time when none is FF.
 *   At a marker or at the end of the input it appends zero bits and
 *   counts them as "fake": the decoding loops never test for the end, and
 *   at the end of every line one comparison tells whether fake bits were
 *   consumed, which turns into PC_TRUNC (end of input) or PC_PARSE (a
 *   marker came early). Wasted work on a hostile stream is thus bounded by
 *   one line. An invalid Huffman code sets a sticky flag, checked at the
 *   same place.
 *
 *   Huffman decoding uses a 12-bit look-up table that gives, for a code
 *   and its extra bits that fit in 12 bits (nearly every difference of a
 *   real image), the difference itself in one step; longer ones take the
 *   T.81 F.2.2.3 MAXCODE/VALPTR walk. The hot loop runs on a local copy of
 *   the reader (see HOT below). About 1 ms for a 512x512 16-bit CT frame
 *   (some 260 M samples/s) on the build machine, against 7.5 ms for GDCM
 *   through pydicom.
 *
 *   Prediction follows H.1.2.1: 2^(P-Pt-1) for the first sample of the
 *   scan and of each restart interval, Ra for the rest of that first line,
 *   Rb for the first sample of every other line, the selected predictor
 *   (1-7) elsewhere. Reconstruction is modulo 2^16 (H.1.2.1), which also
 *   gives the special difference 32768 of SSSS = 16 (H.1.2.2) its meaning.
 *   A restart interval must be a whole number of lines (as libjpeg and
 *   GDCM require): a restart inside a line would leave the first-line
 *   rule without a meaning.
 *
 * Tolerated deviations (named, as decoders in the field accept them):
 *   - a .70 stream whose predictor is not 1 is decoded with its predictor;
 *   - SOF precision P different from Bits Stored (seen with P = 16 for
 *     12-bit data): samples are masked to Bits Stored; P > Bits Allocated
 *     is an error;
 *   - a missing EOI after the last scan;
 *   - extra entropy-coded bytes before a marker (libjpeg warns and goes on);
 *   - a lossy frame (SOF0/1/2) under a lossless transfer syntax is handed
 *     to the libjpeg decoder of jpeg.c, as GDCM decodes by the actual
 *     process found in the codestream.
 * Not supported (PC_UNSUPPORTED): arithmetic coding, hierarchical mode,
 * interleaved scans with sampling factors other than 1x1, components of
 * different sizes.
 *
 * Thread-safety: reentrant, no global state.
 */
#include "pixel_int.h"

#include <string.h>

#define MAX_COMPONENTS 4

/* JPEG markers (T.81 Table B.1) used here. */
enum {
	M_SOF0 = 0xC0,
	M_SOF1 = 0xC1,
	M_SOF2 = 0xC2,
	M_SOF3 = 0xC3,
	M_DHT = 0xC4,
	M_SOF15 = 0xCF,
	M_DAC = 0xCC,
	M_RST0 = 0xD0,
	M_RST7 = 0xD7,
	M_SOI = 0xD8,
	M_EOI = 0xD9,
	M_SOS = 0xDA,
	M_DNL = 0xDC,
	M_DRI = 0xDD,
	M_TEM = 0x01,
};

/*
 * One Huffman table (T.81 C and F.2.2.3). `lut` is indexed by the next
 * LUT_BITS bits of the stream; an entry is
 *   (diff << 8) | length          the code and its extra bits fit: the
 *                                 difference itself (H.1.2.2), length =
 *                                 code + extra bits;
 *   (ssss << 8) | LUT_SYM | len   the code fits, its extra bits do not;
 *   0                             the code is longer than LUT_BITS.
 * The table is filled when a scan starts (not at each DHT), so that a
 * stream of thousands of DHT segments costs no more than their bytes.
 */
#define LUT_BITS 12
#define LUT_SYM 32
struct huff {
	bool defined;
	bool lut_ready;      /* lut matches the tables below */
	int32_t maxcode[17]; /* largest code of length l, -1 if none */
	int32_t valoff[17]; /* vals index of a code of length l = code+valoff */
	uint8_t bits[17];   /* BITS: codes of each length */
	uint16_t nvals;
	uint8_t vals[256]; /* HUFFVAL */
	int32_t lut[1 << LUT_BITS];
};

struct component {
	uint8_t id;   /* Ci */
	uint8_t h, v; /* sampling factors */
};

/* Bit reader over entropy-coded data (see DESIGN). */
struct bitrd {
	uint64_t acc;     /* left-aligned: next bit is bit 63 */
	int nbits;        /* valid bits in acc, fake ones included */
	int fake;         /* zero bits appended past a marker or the end */
	bool bad;         /* an invalid code was met */
	const uint8_t *p; /* next byte to load */
	const uint8_t *end;
};

struct decoder {
	const struct pix_desc *d;
	struct pix_frame *out;
	struct pc_err *err;
	const uint8_t *base; /* start of the codestream, for offsets */
	const uint8_t *end;
	struct huff huff[4]; /* DC tables 0-3 (the only class used here) */
	struct component comp[MAX_COMPONENTS];
	bool comp_done[MAX_COMPONENTS];
	unsigned ncomp;     /* Nf */
	unsigned precision; /* P */
	uint32_t width, height;
	uint32_t restart; /* Ri: MCUs per restart interval, 0 = none */
	bool have_sof;
	int32_t *rows; /* two row buffers of width * ncomp */
};

static uint64_t off(const struct decoder *dec, const uint8_t *p)
{
	return (uint64_t)(p - dec->base);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* ---- Huffman tables ------------------------------------------------------ */

/*
 * Takes table `h` from BITS (counts of codes of each length 1..16) and
 * HUFFVAL (T.81 C.2, F.2.2.3) and computes MAXCODE / VALPTR. A set of
 * counts that cannot form a prefix code is an error; unlike libjpeg we
 * accept the all-ones code, which some encoders emit and which decodes
 * unambiguously.
 */
static bool huff_define(struct huff *h, const uint8_t bits[17],
                        const uint8_t *vals, unsigned nvals)
{
	uint32_t code = 0;
	unsigned k = 0;

	memcpy(h->bits, bits, 17);
	memcpy(h->vals, vals, nvals);
	h->nvals = (uint16_t)nvals;
	h->defined = false;
	h->lut_ready = false;
	for (unsigned l = 1; l <= 16; l++) {
		h->valoff[l] = (int32_t)k - (int32_t)code;
		/* The l-bit codes must fit in l bits. */
		if (code + bits[l] > (1u << l))
			return false;
		code += bits[l];
		k += bits[l];
		h->maxcode[l] = bits[l] ? (int32_t)code - 1 : -1;
		code <<= 1;
	}
	h->defined = true;
	return true;
}

/* EXTEND (T.81 F.2.2.1): a leading 0 bit means a negative difference. */
static int32_t extend(uint32_t v, unsigned s)
{
	if (v < (1u << (s - 1)))
		return (int32_t)v - (int32_t)(1u << s) + 1;
	return (int32_t)v;
}

/* Fills h->lut (see struct huff). */
static void huff_fill_lut(struct huff *h)
{
	uint32_t code = 0;
	unsigned k = 0;

	memset(h->lut, 0, sizeof(h->lut));
	for (unsigned l = 1; l <= LUT_BITS; l++) {
		for (unsigned i = 0; i < h->bits[l]; i++, k++, code++) {
			unsigned s = h->vals[k], free_bits = LUT_BITS - l;
			uint32_t first = code << free_bits;

			for (uint32_t j = 0; j < (1u << free_bits); j++) {
				int32_t e;

				if (s == 0)
					e = (int32_t)l;
				else if (s == 16)
					e = (int32_t)((32768u << 8) | l);
				else if (s < 16 && l + s <= LUT_BITS)
					e = (int32_t)(((uint32_t)extend(
					                   (j >>
					                    (free_bits - s)) &
					                       ((1u << s) - 1),
					                   s)
					               << 8) |
					              (l + s));
				else
					e = (int32_t)((s << 8) | LUT_SYM | l);
				h->lut[first + j] = e;
			}
		}
		code <<= 1;
	}
	h->lut_ready = true;
}

/* ---- bit reader ---------------------------------------------------------- */

/*
 * The hot helpers below are forced inline into decode_line, which works on
 * a local copy of the reader: nothing takes its address out of line, so
 * the compiler keeps it in registers instead of reloading it after each
 * int32 store into the row (which it must assume could alias `nbits`).
 */
#define HOT static inline __attribute__((always_inline))

/* Loads bytes until more than 56 bits are held (see DESIGN). Called with
 * fewer than 32 bits held, so that 4 to 8 bytes are wanted. */
HOT void br_fill(struct bitrd *b)
{
	if (b->end - b->p >= 8) {
		/* Fast path: the n bytes that fit hold no FF (no stuffing,
		 * no marker), which the zero-byte test of ~w tells at once. */
		unsigned n = (unsigned)(64 - b->nbits) >> 3;
		uint64_t w, x;

		memcpy(&w, b->p, 8);
		w = __builtin_bswap64(w) >> (64 - 8 * n);
		x = ~w;
		if (((x - 0x0101010101010101u) & ~x & 0x8080808080808080u) ==
		    0) {
			b->acc |= (w << (64 - 8 * n)) >> b->nbits;
			b->p += n;
			b->nbits += (int)(8 * n);
			return;
		}
	}
	while (b->nbits <= 56) {
		unsigned c;

		if (b->p >= b->end)
			goto pad;
		c = *b->p;
		if (c == 0xFF) {
			/* FF 00 is a stuffed FF data byte (T.81 F.1.2.3);
			 * FF followed by anything else starts a marker. */
			if (b->end - b->p < 2 || b->p[1] != 0x00)
				goto pad;
			b->p += 2;
		} else {
			b->p++;
		}
		b->acc |= (uint64_t)c << (56 - b->nbits);
		b->nbits += 8;
	}
	return;
pad:
	b->fake += 64 - b->nbits;
	b->nbits = 64;
}

static void br_reset(struct bitrd *b, const uint8_t *p, const uint8_t *end)
{
	b->acc = 0;
	b->nbits = 0;
	b->fake = 0;
	b->bad = false;
	b->p = p;
	b->end = end;
}

/*
 * Codes longer than LUT_BITS (T.81 F.2.2.3 DECODE), given the next 64
 * bits: (length << 8) | symbol, or 0 when no code matches.
 */
static unsigned huff_slow(uint64_t acc, const struct huff *h)
{
	for (unsigned l = LUT_BITS + 1; l <= 16; l++) {
		int32_t code = (int32_t)(acc >> (64 - l));

		if (code <= h->maxcode[l]) {
			int32_t i = code + h->valoff[l];

			if (i < 0 || i >= h->nvals)
				return 0;
			return (l << 8) | h->vals[i];
		}
	}
	return 0;
}

/*
 * Decodes one difference (T.81 H.1.2.2, F.2.2.1): a Huffman-coded SSSS
 * then SSSS extra bits, or 32768 for SSSS = 16 with no extra bits.
 * Needs no more than 32 bits, which br_fill guarantees.
 */
HOT int32_t decode_diff(struct bitrd *b, const struct huff *h)
{
	int32_t e;
	unsigned l, s;
	uint32_t v;

	if (b->nbits < 32)
		br_fill(b);
	e = h->lut[b->acc >> (64 - LUT_BITS)];
	if (__builtin_expect(e != 0 && (e & LUT_SYM) == 0, 1)) {
		/* The common case: code and extra bits in one look-up. */
		l = (unsigned)e & 31;
		b->acc <<= l;
		b->nbits -= (int)l;
		return e >> 8;
	}
	if (e != 0) {
		l = (unsigned)e & 31;
		s = ((unsigned)e >> 8) & 0xFF;
	} else {
		unsigned r = huff_slow(b->acc, h);

		if (r == 0) {
			/* No code matches: poison the reader and consume
			 * one bit so that the line loop keeps moving; the
			 * error is reported at the line's end. */
			b->bad = true;
			r = 1u << 8;
		}
		l = r >> 8;
		s = r & 0xFF;
	}
	b->acc <<= l;
	b->nbits -= (int)l;
	if (s == 0)
		return 0;
	if (s >= 16) {
		if (s > 16)
			b->bad = true;
		return 32768;
	}
	v = (uint32_t)(b->acc >> (64 - s));
	b->acc <<= s;
	b->nbits -= (int)s;
	return extend(v, s);
}

/* ---- scan decoding ------------------------------------------------------- */

struct scan {
	unsigned ns;                  /* components in the scan */
	unsigned idx[MAX_COMPONENTS]; /* their index in the frame */
	const struct huff *tab[MAX_COMPONENTS];
	bool in_order; /* all components, frame order */
	unsigned pred; /* Ss: predictor 1-7 */
	unsigned pt;   /* Al: point transform */
};

/*
 * The predictors of T.81 Table H.1 over int32 values in 0..65535 (no
 * overflow); >> of a negative value is an arithmetic shift in GCC and
 * Clang, as H.1.2.1 requires.
 */
#define PRED_1 ra
#define PRED_2 rb
#define PRED_3 rc
#define PRED_4 (ra + rb - rc)
#define PRED_5 (ra + ((rb - rc) >> 1))
#define PRED_6 (rb + ((ra - rc) >> 1))
#define PRED_7 ((ra + rb) >> 1)

/* Samples x0..x1-1 of one line, all of them predicted by PRED (the first
 * sample of the line is handled by the caller). NS is the number of
 * interleaved components; for 1 the compiler drops the inner loop. */
#define SPAN_LOOP(PRED, NS)                                                    \
	for (size_t x = x0; x < x1; x++) {                                     \
		for (unsigned c = 0; c < (NS); c++) {                          \
			size_t i = x * (NS) + c;                               \
			int32_t ra = cur[i - (NS)];                            \
			int32_t rb = prev[i];                                  \
			int32_t rc = prev[i - (NS)];                           \
			(void)ra;                                              \
			(void)rb;                                              \
			(void)rc;                                              \
			cur[i] =                                               \
			    (int32_t)(((uint32_t)(PRED) +                      \
			               (uint32_t)decode_diff(b, tab[c])) &     \
			              0xFFFFu);                                \
		}                                                              \
	}

#define SPAN_SWITCH(NS)                                                        \
	switch (pred) {                                                        \
	case 1:                                                                \
		SPAN_LOOP(PRED_1, NS) break;                                   \
	case 2:                                                                \
		SPAN_LOOP(PRED_2, NS) break;                                   \
	case 3:                                                                \
		SPAN_LOOP(PRED_3, NS) break;                                   \
	case 4:                                                                \
		SPAN_LOOP(PRED_4, NS) break;                                   \
	case 5:                                                                \
		SPAN_LOOP(PRED_5, NS) break;                                   \
	case 6:                                                                \
		SPAN_LOOP(PRED_6, NS) break;                                   \
	default:                                                               \
		SPAN_LOOP(PRED_7, NS) break;                                   \
	}

/*
 * Decodes one line of `w` samples per component. The first sample of each
 * component is predicted by `first` (2^(P-Pt-1) on the first line of the
 * scan or of a restart interval, else -1 for Rb); the others by `pred`
 * (1 on such a first line).
 */
static void decode_line(struct bitrd *bp, const struct scan *sc, int32_t *cur,
                        const int32_t *prev, size_t w, int32_t first,
                        unsigned pred)
{
	const struct huff *const *tab = sc->tab;
	unsigned ns = sc->ns;
	size_t x0 = 1, x1 = w;
	struct bitrd r = *bp, *b = &r;

	for (unsigned c = 0; c < ns; c++) {
		int32_t px = first >= 0 ? first : prev[c];

		cur[c] = (int32_t)(((uint32_t)px +
		                    (uint32_t)decode_diff(b, tab[c])) &
		                   0xFFFFu);
	}
	if (ns == 1) {
		SPAN_SWITCH(1)
	} else if (ns == 3) {
		SPAN_SWITCH(3)
	} else {
		SPAN_SWITCH(ns)
	}
	*bp = r;
}

/* Stores line `y` of the scan's components into the frame: shifted by
 * Pt, masked to Bits Stored and sign-extended. */
static void emit_row(const struct decoder *dec, const struct scan *sc,
                     const int32_t *cur, uint32_t y)
{
	const struct pix_desc *d = dec->d;
	unsigned bs = d->bits_stored;
	uint32_t mask = bs >= 32 ? 0xFFFFFFFFu : (1u << bs) - 1;
	uint32_t sign = bs >= 1 && bs <= 32 ? 1u << (bs - 1) : 0;
	uint32_t ext = d->is_signed ? ~mask : 0;
	unsigned ns = sc->ns, samples = d->samples, pt = sc->pt;
	size_t w = dec->width;
	int32_t *o = dec->out->data + (size_t)y * w * samples;

	if (sc->in_order) {
		/* Every component, in frame order: one contiguous run. */
		for (size_t i = 0; i < w * ns; i++) {
			uint32_t v = ((uint32_t)cur[i] << pt) & mask;

			if (v & sign)
				v |= ext;
			o[i] = (int32_t)v;
		}
		return;
	}
	for (unsigned c = 0; c < ns; c++) {
		unsigned k = sc->idx[c];

		for (size_t x = 0; x < w; x++) {
			uint32_t v = ((uint32_t)cur[x * ns + c] << pt) & mask;

			if (v & sign)
				v |= ext;
			o[x * samples + k] = (int32_t)v;
		}
	}
}

/* The next marker at or after `p` (skipping entropy bytes and fill FFs),
 * or NULL when the input ends first. */
static const uint8_t *find_marker(const uint8_t *p, const uint8_t *end)
{
	while (end - p >= 2) {
		if (p[0] == 0xFF && p[1] != 0x00 && p[1] != 0xFF)
			return p;
		p++;
	}
	return NULL;
}

/* After a line or before a restart marker: did the decoder use bits it
 * did not have, or meet an invalid code? */
static enum pc_status check_reader(struct decoder *dec, const struct bitrd *b,
                                   uint32_t y)
{
	if (b->bad)
		return pc_err_set(
		    dec->err, PC_PARSE, off(dec, b->p),
		    "JPEG Lossless: invalid Huffman code in the "
		    "scan data before offset %llu (line %u of %u)",
		    (unsigned long long)off(dec, b->p), y + 1, dec->height);
	if (b->nbits >= b->fake)
		return PC_OK;
	if (b->p >= b->end)
		return pc_err_set(dec->err, PC_TRUNC, off(dec, b->p),
		                  "JPEG Lossless: codestream ends at offset "
		                  "%llu in the scan data of line %u of %u",
		                  (unsigned long long)off(dec, b->p), y + 1,
		                  dec->height);
	return pc_err_set(dec->err, PC_PARSE, off(dec, b->p),
	                  "JPEG Lossless: marker FF%02X at offset %llu "
	                  "interrupts the scan data in line %u of %u",
	                  b->end - b->p >= 2 ? b->p[1] : 0xFF,
	                  (unsigned long long)off(dec, b->p), y + 1,
	                  dec->height);
}

/*
 * Decodes the entropy-coded data of a scan starting at *pp; on success *pp
 * is the marker that follows it (or the end of the input).
 */
static enum pc_status decode_scan(struct decoder *dec, const struct scan *sc,
                                  const uint8_t **pp)
{
	struct bitrd b;
	size_t w = dec->width, ns = sc->ns;
	int32_t *prev = dec->rows, *cur = dec->rows + w * ns;
	int32_t init = (int32_t)(1u << (dec->precision - sc->pt - 1));
	/* Lines per restart interval (parse_sos checked that the interval
	 * is a whole number of lines); 0 = no restarts. */
	uint32_t lines = dec->restart ? (uint32_t)(dec->restart / w) : 0;
	uint32_t next_rst = 0;
	enum pc_status st;

	br_reset(&b, *pp, dec->end);
	for (uint32_t y = 0; y < dec->height; y++) {
		bool first_line = y == 0;

		if (lines != 0 && y != 0 && y % lines == 0) {
			/* T.81 E.2.4, H.1.2.1: the interval ends at a byte
			 * boundary, RSTm follows, and prediction restarts
			 * as on the first line. */
			const uint8_t *m = find_marker(b.p, dec->end);

			if (m == NULL)
				return pc_err_set(dec->err, PC_TRUNC,
				                  off(dec, b.p),
				                  "JPEG Lossless: codestream "
				                  "ends before RST%u (line %u "
				                  "of %u)",
				                  next_rst, y + 1, dec->height);
			if (m[1] != M_RST0 + next_rst)
				return pc_err_set(
				    dec->err, PC_PARSE, off(dec, m),
				    "JPEG Lossless: marker FF%02X "
				    "at offset %llu where RST%u "
				    "was expected (line %u of %u)",
				    m[1], (unsigned long long)off(dec, m),
				    next_rst, y + 1, dec->height);
			next_rst = (next_rst + 1) & 7;
			br_reset(&b, m + 2, dec->end);
			first_line = true;
		}
		if (first_line)
			decode_line(&b, sc, cur, prev, w, init, 1);
		else
			decode_line(&b, sc, cur, prev, w, -1, sc->pred);
		st = check_reader(dec, &b, y);
		if (st != PC_OK)
			return st;
		emit_row(dec, sc, cur, y);
		{
			int32_t *t = prev;

			prev = cur;
			cur = t;
		}
	}
	/* Leave the bits of the last byte (padding) and any extra bytes. */
	*pp = find_marker(b.p, dec->end);
	if (*pp == NULL)
		*pp = dec->end;
	return PC_OK;
}

/* ---- marker segments ----------------------------------------------------- */

static enum pc_status parse_sof(struct decoder *dec, const uint8_t *seg,
                                size_t len, const uint8_t *at)
{
	const struct pix_desc *d = dec->d;
	size_t nf;

	if (dec->have_sof)
		return pc_err_set(dec->err, PC_PARSE, off(dec, at),
		                  "JPEG Lossless: second SOF3 at offset %llu",
		                  (unsigned long long)off(dec, at));
	if (len < 6 || len != 6 + 3 * (size_t)seg[5])
		return pc_err_set(dec->err, PC_PARSE, off(dec, at),
		                  "JPEG Lossless: SOF3 at offset %llu has "
		                  "length %zu for %u components",
		                  (unsigned long long)off(dec, at), len + 2,
		                  len >= 6 ? seg[5] : 0);
	dec->precision = seg[0];
	dec->height = be16(seg + 1);
	dec->width = be16(seg + 3);
	nf = seg[5];
	if (dec->precision < 2 || dec->precision > 16)
		return pc_err_set(dec->err, PC_PARSE, off(dec, at),
		                  "JPEG Lossless: SOF3 at offset %llu: "
		                  "precision %u outside 2..16",
		                  (unsigned long long)off(dec, at),
		                  dec->precision);
	if (dec->precision > d->bits_allocated)
		return pc_err_set(dec->err, PC_PARSE, off(dec, at),
		                  "JPEG Lossless: SOF3 at offset %llu: "
		                  "precision %u does not fit Bits Allocated %u",
		                  (unsigned long long)off(dec, at),
		                  dec->precision, d->bits_allocated);
	/* T.81 B.2.5: Y = 0 means "defined by a DNL marker"; the data set
	 * knows the rows, so we take them from there. */
	if (dec->height == 0)
		dec->height = d->rows;
	if (dec->width != d->cols || dec->height != d->rows)
		return pc_err_set(dec->err, PC_PARSE, off(dec, at),
		                  "JPEG Lossless: SOF3 at offset %llu is "
		                  "%ux%u, the data set says Columns %u Rows %u",
		                  (unsigned long long)off(dec, at), dec->width,
		                  dec->height, d->cols, d->rows);
	if (nf != d->samples || nf == 0 || nf > MAX_COMPONENTS)
		return pc_err_set(dec->err, PC_PARSE, off(dec, at),
		                  "JPEG Lossless: SOF3 at offset %llu has %zu "
		                  "components, the data set says Samples per "
		                  "Pixel %u",
		                  (unsigned long long)off(dec, at), nf,
		                  d->samples);
	dec->ncomp = (unsigned)nf;
	for (size_t i = 0; i < nf; i++) {
		const uint8_t *c = seg + 6 + 3 * i;

		dec->comp[i].id = c[0];
		dec->comp[i].h = c[1] >> 4;
		dec->comp[i].v = c[1] & 15;
		for (size_t j = 0; j < i; j++)
			if (dec->comp[j].id == c[0])
				return pc_err_set(
				    dec->err, PC_PARSE, off(dec, at),
				    "JPEG Lossless: SOF3 at offset %llu names "
				    "component %u twice",
				    (unsigned long long)off(dec, at), c[0]);
		if (dec->comp[i].h < 1 || dec->comp[i].h > 4 ||
		    dec->comp[i].v < 1 || dec->comp[i].v > 4)
			return pc_err_set(dec->err, PC_PARSE, off(dec, at),
			                  "JPEG Lossless: SOF3 at offset %llu: "
			                  "sampling factors %ux%u of component "
			                  "%u",
			                  (unsigned long long)off(dec, at),
			                  dec->comp[i].h, dec->comp[i].v, c[0]);
		if (dec->comp[i].h != dec->comp[0].h ||
		    dec->comp[i].v != dec->comp[0].v)
			return pc_err_set(dec->err, PC_UNSUPPORTED,
			                  off(dec, at),
			                  "JPEG Lossless: SOF3 at offset %llu: "
			                  "subsampled components are not "
			                  "supported",
			                  (unsigned long long)off(dec, at));
	}
	dec->have_sof = true;
	return PC_OK;
}

static enum pc_status parse_dht(struct decoder *dec, const uint8_t *seg,
                                size_t len, const uint8_t *at)
{
	/* One segment may define several tables (T.81 B.2.4.2). */
	while (len > 0) {
		uint8_t bits[17] = {0};
		unsigned total = 0, tc, th;

		if (len < 17)
			goto bad;
		tc = seg[0] >> 4;
		th = seg[0] & 15;
		if (tc > 1 || th > 3)
			return pc_err_set(dec->err, PC_PARSE, off(dec, at),
			                  "JPEG Lossless: DHT at offset %llu "
			                  "defines table class %u number %u",
			                  (unsigned long long)off(dec, at), tc,
			                  th);
		for (unsigned l = 1; l <= 16; l++) {
			bits[l] = seg[l];
			total += seg[l];
		}
		if (total > 256 || len < 17 + (size_t)total)
			goto bad;
		/* Lossless uses DC tables only; an AC table is ignored. */
		if (tc == 0 &&
		    !huff_define(&dec->huff[th], bits, seg + 17, total))
			return pc_err_set(
			    dec->err, PC_PARSE, off(dec, at),
			    "JPEG Lossless: DHT at offset %llu: "
			    "table %u is not a valid Huffman code",
			    (unsigned long long)off(dec, at), th);
		seg += 17 + total;
		len -= 17 + total;
	}
	return PC_OK;
bad:
	return pc_err_set(dec->err, PC_PARSE, off(dec, at),
	                  "JPEG Lossless: DHT at offset %llu is shorter than "
	                  "its tables",
	                  (unsigned long long)off(dec, at));
}

static enum pc_status parse_sos(struct decoder *dec, const uint8_t *seg,
                                size_t len, const uint8_t *at, struct scan *sc)
{
	unsigned ns;
	bool in_order = true;

	if (!dec->have_sof)
		return pc_err_set(dec->err, PC_PARSE, off(dec, at),
		                  "JPEG Lossless: SOS at offset %llu before "
		                  "SOF3",
		                  (unsigned long long)off(dec, at));
	ns = len >= 1 ? seg[0] : 0;
	if (ns < 1 || ns > dec->ncomp || len != 4 + 2 * (size_t)ns)
		return pc_err_set(dec->err, PC_PARSE, off(dec, at),
		                  "JPEG Lossless: SOS at offset %llu: length "
		                  "%zu for %u components (frame has %u)",
		                  (unsigned long long)off(dec, at), len + 2, ns,
		                  dec->ncomp);
	sc->ns = ns;
	for (unsigned i = 0; i < ns; i++) {
		uint8_t id = seg[1 + 2 * i], td = seg[2 + 2 * i] >> 4;
		unsigned k = 0;

		while (k < dec->ncomp && dec->comp[k].id != id)
			k++;
		if (k == dec->ncomp || dec->comp_done[k])
			return pc_err_set(dec->err, PC_PARSE, off(dec, at),
			                  "JPEG Lossless: SOS at offset %llu: "
			                  "component %u %s",
			                  (unsigned long long)off(dec, at), id,
			                  k == dec->ncomp ? "is not in SOF3"
			                                  : "is coded twice");
		if (td > 3 || !dec->huff[td].defined)
			return pc_err_set(dec->err, PC_PARSE, off(dec, at),
			                  "JPEG Lossless: SOS at offset %llu: "
			                  "component %u uses undefined Huffman "
			                  "table %u",
			                  (unsigned long long)off(dec, at), id,
			                  td);
		dec->comp_done[k] = true;
		sc->idx[i] = k;
		sc->tab[i] = &dec->huff[td];
		if (!dec->huff[td].lut_ready)
			huff_fill_lut(&dec->huff[td]);
		if (k != i)
			in_order = false;
	}
	sc->pred = seg[1 + 2 * ns];
	sc->pt = seg[3 + 2 * ns] & 15;
	if (sc->pred < 1 || sc->pred > 7 || seg[2 + 2 * ns] != 0 ||
	    (seg[3 + 2 * ns] >> 4) != 0 || sc->pt >= dec->precision)
		return pc_err_set(dec->err, PC_PARSE, off(dec, at),
		                  "JPEG Lossless: SOS at offset %llu: "
		                  "predictor %u, Se %u, Ah %u, Pt %u are not "
		                  "a lossless scan of %u-bit samples",
		                  (unsigned long long)off(dec, at), sc->pred,
		                  seg[2 + 2 * ns], seg[3 + 2 * ns] >> 4, sc->pt,
		                  dec->precision);
	if (ns > 1 && (dec->comp[0].h != 1 || dec->comp[0].v != 1))
		return pc_err_set(dec->err, PC_UNSUPPORTED, off(dec, at),
		                  "JPEG Lossless: SOS at offset %llu: "
		                  "interleaved scan with sampling factors "
		                  "%ux%u is not supported",
		                  (unsigned long long)off(dec, at),
		                  dec->comp[0].h, dec->comp[0].v);
	/* libjpeg and GDCM refuse the same: a restart inside a line leaves
	 * the first-line rule of H.1.2.1 without a meaning. */
	if (dec->restart != 0 && dec->restart % dec->width != 0)
		return pc_err_set(dec->err, PC_PARSE, off(dec, at),
		                  "JPEG Lossless: restart interval %u is not a "
		                  "multiple of the %u samples of a line",
		                  dec->restart, dec->width);
	sc->in_order = in_order && ns == dec->ncomp;
	return PC_OK;
}

/* ---- entry point --------------------------------------------------------- */

static const char *sof_name(unsigned m)
{
	static const char *const names[16] = {
	    "baseline",
	    "extended sequential",
	    "progressive",
	    "lossless",
	    "",
	    "differential sequential",
	    "differential progressive",
	    "differential lossless",
	    "",
	    "arithmetic extended sequential",
	    "arithmetic progressive",
	    "arithmetic lossless",
	    "",
	    "arithmetic differential sequential",
	    "arithmetic differential progressive",
	    "arithmetic differential lossless"};

	return names[m - M_SOF0];
}

enum pc_status pix__decode_ljpeg(const struct pix_desc *d, struct pc_span in,
                                 struct pix_frame *out, struct pc_err *err)
{
	struct decoder *dec = NULL;
	const uint8_t *p = in.p, *end = in.p + in.n;
	bool done = false;
	enum pc_status st = PC_OK;
	size_t nrow;

	if (in.n < 2 || p[0] != 0xFF || p[1] != M_SOI)
		return pc_err_set(
		    err, PC_PARSE, 0,
		    "JPEG Lossless: the frame (%zu bytes) does not "
		    "start with an SOI marker",
		    in.n);
	dec = pc_calloc(1, sizeof(*dec));
	if (dec == NULL)
		return pc_err_set(err, PC_NOMEM, 0,
		                  "JPEG Lossless: out of memory");
	dec->d = d;
	dec->out = out;
	dec->err = err;
	dec->base = in.p;
	dec->end = end;
	p += 2;

	while (!done) {
		const uint8_t *at;
		unsigned m;
		size_t len;
		struct scan sc;

		/* T.81 B.1.1.2: any marker may be preceded by fill FFs. */
		if (p >= end) {
			if (dec->have_sof) {
				bool all = true;

				for (unsigned k = 0; k < dec->ncomp; k++)
					all = all && dec->comp_done[k];
				if (all)
					break; /* EOI missing: tolerated */
			}
			st = pc_err_set(err, PC_TRUNC, in.n,
			                "JPEG Lossless: codestream ends at "
			                "offset %zu before EOI",
			                in.n);
			goto cleanup;
		}
		if (p[0] != 0xFF) {
			st = pc_err_set(err, PC_PARSE, off(dec, p),
			                "JPEG Lossless: byte %02X at offset "
			                "%llu where a marker was expected",
			                p[0], (unsigned long long)off(dec, p));
			goto cleanup;
		}
		while (p < end && p[0] == 0xFF)
			p++;
		if (p >= end)
			continue;
		at = p - 1;
		m = *p++;
		if (m == M_EOI) {
			done = true;
			break;
		}
		if ((m >= M_RST0 && m <= M_RST7) || m == M_TEM || m == M_SOI ||
		    m == 0x00) {
			st = pc_err_set(err, PC_PARSE, off(dec, at),
			                "JPEG Lossless: unexpected marker "
			                "FF%02X at offset %llu",
			                m, (unsigned long long)off(dec, at));
			goto cleanup;
		}
		if (end - p < 2 || be16(p) < 2 || (size_t)(end - p) < be16(p)) {
			st = pc_err_set(err, PC_TRUNC, off(dec, at),
			                "JPEG Lossless: marker FF%02X at "
			                "offset %llu: segment length runs past "
			                "the end of the codestream (%zu bytes)",
			                m, (unsigned long long)off(dec, at),
			                in.n);
			goto cleanup;
		}
		len = be16(p) - 2u;
		p += 2;
		switch (m) {
		case M_SOF3:
			st = parse_sof(dec, p, len, at);
			break;
		case M_SOF0:
		case M_SOF1:
		case M_SOF2:
			if (!dec->have_sof) {
				/* A lossy frame under a lossless syntax:
				 * decode what is there (see DESIGN). */
				pc_free(dec);
				return pix__decode_jpeg(d, in, out, err);
			}
			/* fallthrough */
		case 0xC5:
		case 0xC6:
		case 0xC7:
		case 0xC9:
		case 0xCA:
		case 0xCB:
		case 0xCD:
		case 0xCE:
		case M_SOF15:
			st = pc_err_set(err, PC_UNSUPPORTED, off(dec, at),
			                "JPEG Lossless: SOF%u (%s) at offset "
			                "%llu is not supported here",
			                m - M_SOF0, sof_name(m),
			                (unsigned long long)off(dec, at));
			break;
		case M_DAC:
			st = pc_err_set(err, PC_UNSUPPORTED, off(dec, at),
			                "JPEG Lossless: arithmetic coding (DAC "
			                "at offset %llu) is not supported",
			                (unsigned long long)off(dec, at));
			break;
		case M_DHT:
			st = parse_dht(dec, p, len, at);
			break;
		case M_DRI:
			if (len != 2)
				st = pc_err_set(
				    err, PC_PARSE, off(dec, at),
				    "JPEG Lossless: DRI at offset "
				    "%llu has length %zu",
				    (unsigned long long)off(dec, at), len + 2);
			else
				dec->restart = be16(p);
			break;
		case M_SOS:
			st = parse_sos(dec, p, len, at, &sc);
			if (st != PC_OK)
				break;
			if (dec->rows == NULL) {
				if (!pc_mul_ok(dec->width, 2u * dec->ncomp,
				               &nrow) ||
				    !pc_mul_ok(nrow, sizeof(int32_t), &nrow)) {
					st = pc_err_set(err, PC_LIMIT, 0,
					                "JPEG Lossless: image "
					                "too wide");
					break;
				}
				/* Zeroed: a first line's loop loads (and
				 * ignores) the previous line. */
				dec->rows = pc_calloc(1, nrow);
				if (dec->rows == NULL) {
					st = pc_err_set(err, PC_NOMEM, 0,
					                "JPEG Lossless: out of "
					                "memory");
					break;
				}
			}
			p += len;
			st = decode_scan(dec, &sc, &p);
			if (st != PC_OK)
				goto cleanup;
			continue;
		default:
			/* APPn, COM, DQT, DNL, JPGn...: not needed here. */
			break;
		}
		if (st != PC_OK)
			goto cleanup;
		p += len;
	}
	if (!dec->have_sof) {
		st = pc_err_set(err, PC_PARSE, off(dec, p),
		                "JPEG Lossless: EOI at offset %llu before any "
		                "SOF3 frame",
		                (unsigned long long)off(dec, p));
		goto cleanup;
	}
	for (unsigned k = 0; k < dec->ncomp; k++) {
		if (!dec->comp_done[k]) {
			st = pc_err_set(
			    err, PC_PARSE, off(dec, p),
			    "JPEG Lossless: no scan codes component "
			    "%u before EOI at offset %llu",
			    dec->comp[k].id, (unsigned long long)off(dec, p));
			goto cleanup;
		}
	}
cleanup:
	if (dec != NULL) {
		pc_free(dec->rows);
		pc_free(dec);
	}
	return st;
}
