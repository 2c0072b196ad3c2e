/*
 * frame.c - the compressed bytes of frame N of encapsulated pixel data
 * (PS3.5 A.4).
 *
 * Encapsulated Pixel Data is an offset table item followed by fragment
 * items; a frame is one fragment or several consecutive ones (never part
 * of one: A.4 "a fragment shall not contain data of more than one frame").
 * Where the frames start is found, in this order:
 *   1. the Extended Offset Table (7FE0,0001) with its lengths (7FE0,0002),
 *      64-bit, when present (A.4, PS3.3 C.7.6.3.1.8);
 *   2. the Basic Offset Table, when not empty (A.4 table A.4-1);
 *   3. one fragment per frame when the counts match;
 *   4. every fragment joined for a single frame;
 *   5. else by scanning: a fragment that begins with the codestream's
 *      start marker (JPEG SOI FFD8 for JPEG and JPEG-LS, J2K SOC FF4F or a
 *      JP2 signature box for JPEG 2000, a plausible header for RLE) starts
 *      a new frame.
 * Both offset tables count from the first byte of the first fragment's
 * item tag, each fragment taking 8 + length bytes; an offset must land on
 * a fragment's item tag.
 *
 * A frame of one fragment is returned as a slice of the data set's bytes;
 * a frame of several is joined into the caller's scratch buffer.
 */
#include "pixel_int.h"

#include <string.h>

#define TAG_EOT DCM_TAG(0x7FE0, 0x0001)
#define TAG_EOT_LENGTHS DCM_TAG(0x7FE0, 0x0002)

/* A frame as a run of fragments [first, end), optionally cut to `len`
 * bytes (the Extended Offset Table gives exact lengths). */
struct run {
	size_t first, end;
	bool has_len;
	uint64_t len;
};

static uint64_t rd_u64(const uint8_t *p, bool be)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[be ? 7 - i : i] << (8 * i);
	return v;
}

static uint32_t rd_u32(const uint8_t *p, bool be)
{
	return be ? (uint32_t)p[3] | (uint32_t)p[2] << 8 |
			    (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24
		  : (uint32_t)p[0] | (uint32_t)p[1] << 8 |
			    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The fragment whose item tag is at `offset` (counted as the offset
 * tables count). False when no fragment starts there. Linear: a frame
 * lookup costs one walk over the fragments, which is nothing next to
 * decoding them.
 */
static bool fragment_at(const dcm_elem *e, size_t nfrag, uint64_t offset,
			size_t *index)
{
	uint64_t pos = 0;

	for (size_t k = 0; k < nfrag; k++) {
		if (pos == offset) {
			*index = k;
			return true;
		}
		if (pos > offset)
			return false;
		pos += 8u + (uint64_t)dcm_elem_fragment(e, k).n;
	}
	return false;
}

/* Frame `index` located through an offset table: it starts at `this_off`
 * and, unless it is the last frame, ends where the next frame starts at
 * `next_off`. */
static enum pc_status run_from_offsets(const struct pix_desc *d,
				       uint32_t index, uint64_t this_off,
				       bool has_next, uint64_t next_off,
				       const char *table, struct run *r,
				       struct pc_err *err)
{
	const dcm_elem *e = d->pixels;
	size_t nfrag = dcm_elem_fragment_count(e);

	if (!fragment_at(e, nfrag, this_off, &r->first))
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
				  "(7FE0,0010): %s gives frame %u the offset "
				  "%llu, where no fragment starts",
				  table, index + 1,
				  (unsigned long long)this_off);
	if (!has_next) {
		r->end = nfrag;
		return PC_OK;
	}
	if (next_off <= this_off ||
	    !fragment_at(e, nfrag, next_off, &r->end))
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
				  "(7FE0,0010): %s gives frame %u the offset "
				  "%llu, where no fragment after frame %u's "
				  "starts",
				  table, index + 2,
				  (unsigned long long)next_off, index + 1);
	return PC_OK;
}

static enum pc_status find_by_eot(const struct pix_desc *d, uint32_t index,
				  const dcm_elem *eot, struct run *r,
				  struct pc_err *err)
{
	const dcm_elem *lens = dcm_dataset_find(d->ds, TAG_EOT_LENGTHS);
	struct pc_span ov = dcm_elem_value(eot);
	bool be = dcm_elem_big_endian(eot);
	size_t count = ov.n / 8;
	enum pc_status st;

	if (ov.n % 8 != 0 || count < d->frames)
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(eot),
				  "(7FE0,0001) Extended Offset Table of %zu "
				  "bytes does not hold %u 64-bit offsets",
				  ov.n, d->frames);
	st = run_from_offsets(d, index, rd_u64(ov.p + 8u * index, be),
			      index + 1u < d->frames,
			      index + 1u < d->frames
				      ? rd_u64(ov.p + 8u * (index + 1u), be)
				      : 0,
			      "(7FE0,0001) Extended Offset Table", r, err);
	/* An empty Lengths element is read as absent, like an empty table. */
	if (st != PC_OK || lens == NULL || dcm_elem_value(lens).n == 0)
		return st;
	ov = dcm_elem_value(lens);
	if (ov.n % 8 != 0 || ov.n / 8 < d->frames)
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(lens),
				  "(7FE0,0002) Extended Offset Table Lengths "
				  "of %zu bytes does not hold %u 64-bit "
				  "lengths",
				  ov.n, d->frames);
	r->has_len = true;
	r->len = rd_u64(ov.p + 8u * index, dcm_elem_big_endian(lens));
	return PC_OK;
}

static enum pc_status find_by_bot(const struct pix_desc *d, uint32_t index,
				  struct pc_span bot, struct run *r,
				  struct pc_err *err)
{
	bool be = dcm_elem_big_endian(d->pixels);

	return run_from_offsets(d, index, rd_u32(bot.p + 4u * index, be),
				index + 1u < d->frames,
				index + 1u < d->frames
					? rd_u32(bot.p + 4u * (index + 1u), be)
					: 0,
				"the Basic Offset Table", r, err);
}

enum scan_kind { SCAN_NONE, SCAN_JPEG, SCAN_J2K, SCAN_RLE };

static enum scan_kind scan_kind_of(const struct dcm_ts *ts)
{
	static const struct {
		const char *uid;
		enum scan_kind kind;
	} kinds[] = {
		{"1.2.840.10008.1.2.4.50", SCAN_JPEG},
		{"1.2.840.10008.1.2.4.51", SCAN_JPEG},
		{"1.2.840.10008.1.2.4.57", SCAN_JPEG},
		{"1.2.840.10008.1.2.4.70", SCAN_JPEG},
		{"1.2.840.10008.1.2.4.80", SCAN_JPEG},
		{"1.2.840.10008.1.2.4.81", SCAN_JPEG},
		{"1.2.840.10008.1.2.4.90", SCAN_J2K},
		{"1.2.840.10008.1.2.4.91", SCAN_J2K},
		{"1.2.840.10008.1.2.4.201", SCAN_J2K},
		{"1.2.840.10008.1.2.4.202", SCAN_J2K},
		{"1.2.840.10008.1.2.4.203", SCAN_J2K},
		{"1.2.840.10008.1.2.5", SCAN_RLE},
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].uid, ts->uid) == 0)
			return kinds[i].kind;
	return SCAN_NONE;
}

/* Whether fragment `f` begins a codestream of this kind. */
static bool starts_frame(enum scan_kind kind, struct pc_span f)
{
	/* ISO/IEC 15444-1 I.5.1: the JP2 signature box. */
	static const uint8_t jp2[12] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50,
					0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};

	switch (kind) {
	case SCAN_JPEG:
		return f.n >= 2 && f.p[0] == 0xFF && f.p[1] == 0xD8;
	case SCAN_J2K:
		return (f.n >= 2 && f.p[0] == 0xFF && f.p[1] == 0x4F) ||
		       (f.n >= 12 && memcmp(f.p, jp2, 12) == 0);
	case SCAN_RLE:
		/* PS3.5 G.5: 1..15 segments, the first right after the
		 * 64-byte header. */
		return f.n >= 64 && rd_u32(f.p, false) >= 1 &&
		       rd_u32(f.p, false) <= 15 && rd_u32(f.p + 4, false) == 64;
	default:
		return false;
	}
}

static enum pc_status find_by_scan(const struct pix_desc *d, uint32_t index,
				   size_t nfrag, struct run *r,
				   struct pc_err *err)
{
	const dcm_elem *e = d->pixels;
	enum scan_kind kind = scan_kind_of(d->ts);
	uint32_t frame = 0;

	if (kind == SCAN_NONE)
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
				  "(7FE0,0010): %u frames in %zu fragments "
				  "without an offset table, and %s frames "
				  "cannot be found by their content",
				  d->frames, nfrag, d->ts->name);
	if (!starts_frame(kind, dcm_elem_fragment(e, 0)))
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
				  "(7FE0,0010): the first fragment does not "
				  "begin a %s codestream",
				  d->ts->name);
	r->first = 0;
	for (size_t k = 1; k < nfrag; k++) {
		if (!starts_frame(kind, dcm_elem_fragment(e, k)))
			continue;
		if (frame == index) {
			r->end = k;
			return PC_OK;
		}
		frame++;
		r->first = k;
	}
	if (frame == index) {
		r->end = nfrag;
		return PC_OK;
	}
	return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
			  "(7FE0,0010): frame %u not found: the %zu fragments "
			  "begin only %u %s codestreams and there is no "
			  "offset table",
			  index + 1, nfrag, frame + 1, d->ts->name);
}

/* The bytes of fragments [r->first, r->end), cut to r->len if given. */
static enum pc_status gather(const struct pix_desc *d, uint32_t index,
			     const struct run *r, struct pc_buf *scratch,
			     struct pc_span *out, struct pc_err *err)
{
	const dcm_elem *e = d->pixels;
	struct pc_span f = dcm_elem_fragment(e, r->first);
	uint64_t want = r->len, total = 0;
	size_t end = r->end;

	if (r->has_len && want <= f.n) {
		*out = pc_span_make(f.p, (size_t)want);
		return PC_OK;
	}
	if (!r->has_len && end == r->first + 1) {
		*out = f;
		return PC_OK;
	}
	/* With an exact length, the frame may run past the fragment the
	 * next offset points at only if the table lies: stop there too. */
	for (size_t k = r->first; k < end; k++)
		total += dcm_elem_fragment(e, k).n;
	if (r->has_len && want > total)
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
				  "(7FE0,0002): frame %u is %llu bytes long, "
				  "its fragments hold %llu",
				  index + 1, (unsigned long long)want,
				  (unsigned long long)total);
	if (!r->has_len)
		want = total;
	pc_buf_reset(scratch);
	for (size_t k = r->first; k < end && want > 0; k++) {
		f = dcm_elem_fragment(e, k);
		if (f.n > want)
			f.n = (size_t)want;
		pc_buf_append(scratch, f.p, f.n);
		want -= f.n;
	}
	if (pc_buf_status(scratch) != PC_OK)
		return pc_err_set(err, pc_buf_status(scratch), 0,
				  "joining the %zu fragments of frame %u: %s",
				  end - r->first, index + 1,
				  pc_status_text(pc_buf_status(scratch)));
	*out = pc_span_make(scratch->p, scratch->n);
	return PC_OK;
}

enum pc_status pix_frame_bytes(const struct pix_desc *d, uint32_t index,
			       struct pc_buf *scratch, struct pc_span *out,
			       struct pc_err *err)
{
	const dcm_elem *e = d->pixels;
	const dcm_elem *eot;
	struct pc_span bot;
	size_t nfrag;
	struct run r = {0, 0, false, 0};
	enum pc_status st;

	*out = pc_span_make(NULL, 0);
	if (e == NULL || !dcm_elem_is_encapsulated(e))
		return pc_err_set(err, PC_INVAL, 0,
				  "(7FE0,0010) is not encapsulated");
	if (index >= d->frames)
		return pc_err_set(err, PC_NOTFOUND, 0,
				  "frame %u requested, the image has %u",
				  index + 1, d->frames);
	nfrag = dcm_elem_fragment_count(e);
	if (nfrag == 0)
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
				  "(7FE0,0010) at offset %llu: encapsulated "
				  "Pixel Data without fragments",
				  (unsigned long long)dcm_elem_offset(e));

	eot = dcm_dataset_find(d->ds, TAG_EOT);
	bot = dcm_elem_offset_table(e);
	if (eot != NULL && dcm_elem_value(eot).n > 0) {
		st = find_by_eot(d, index, eot, &r, err);
	} else if (bot.n > 0) {
		/* A table with fewer entries than frames (or a stray odd
		 * length) is unusable; PS3.5 A.4 requires one entry per
		 * frame. */
		if (bot.n % 4 != 0 || bot.n / 4 < d->frames)
			return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
					  "(7FE0,0010): Basic Offset Table of "
					  "%zu bytes for %u frames",
					  bot.n, d->frames);
		st = find_by_bot(d, index, bot, &r, err);
	} else if (nfrag == d->frames) {
		r.first = index;
		r.end = index + 1u;
		st = PC_OK;
	} else if (d->frames == 1) {
		r.first = 0;
		r.end = nfrag;
		st = PC_OK;
	} else if (nfrag < d->frames) {
		return pc_err_set(err, PC_PARSE, dcm_elem_offset(e),
				  "(7FE0,0010): %u frames but only %zu "
				  "fragments",
				  d->frames, nfrag);
	} else {
		st = find_by_scan(d, index, nfrag, &r, err);
	}
	if (st != PC_OK)
		return st;
	return gather(d, index, &r, scratch, out, err);
}
