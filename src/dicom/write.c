/*
 * write.c - the data model back to a DICOM Part 10 file (PS3.10 7.1).
 *
 * Layout written: 128-byte preamble, "DICM", the File Meta Information
 * (group 0002, always explicit VR little endian, PS3.10 7.1), then the data
 * set in the target transfer syntax (PS3.5 7, Annex A).
 *
 * DESIGN
 * - One pass with back-patching: a defined length (sequence, item, group
 *   length) is written as a placeholder, the content after it, and the
 *   placeholder is then overwritten with the number of bytes written. This
 *   gives the same result as computing sizes first, in linear time and
 *   without a second encoder that could disagree with the first.
 * - Round-trip fidelity: sequences and items keep the defined/undefined
 *   length they were read with, values are copied verbatim (they are slices
 *   of the input), and the meta is written as given except for its group
 *   length and transfer syntax. So reading a well-formed explicit VR little
 *   endian file and writing it back gives the same bytes. What is
 *   normalised on purpose: odd-length values are padded (PS3.5 7.1.1), group
 *   lengths are recomputed, (0002,0000) is always present.
 * - Byte order: binary values carry the byte order they were read in
 *   (dcm_elem_big_endian); they are swapped per value unit when the target
 *   order differs. Native Pixel Data is swapped per pixel cell (Bits
 *   Allocated / 8), and in Explicit VR Big Endian its VR follows Bits
 *   Allocated: OB up to 8 bits, else OW (PS3.5 A.3, 8.1.1).
 * - A sequence whose VR is UN holds items encoded in Implicit VR Little
 *   Endian whatever the transfer syntax (PS3.5 6.2.2, CP-246); it is written
 *   back that way so that such files also round-trip.
 * - Nothing here allocates besides the output buffer (and zlib's state for
 *   deflate), so every failure is reported as a status, never a crash.
 */
#include "dcm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Nesting bound for data sets built in memory (files are bounded by the
 * reader's dcm_limits); keeps recursion off the end of the stack. */
#define WRITE_MAX_DEPTH 256u

/* Largest defined 32-bit length: 0xFFFFFFFF means undefined (PS3.5 7.1). */
#define MAX_LEN32 0xFFFFFFFEu
/* Largest even 16-bit length of an explicit VR short header (PS3.5 7.1.2). */
#define MAX_LEN16 0xFFFEu

#define TAG_META_GROUP_LENGTH DCM_TAG(0x0002, 0x0000)
#define TAG_META_VERSION DCM_TAG(0x0002, 0x0001)
#define TAG_MEDIA_SOP_CLASS DCM_TAG(0x0002, 0x0002)
#define TAG_MEDIA_SOP_INSTANCE DCM_TAG(0x0002, 0x0003)
#define TAG_IMPL_CLASS_UID DCM_TAG(0x0002, 0x0012)
#define TAG_IMPL_VERSION DCM_TAG(0x0002, 0x0013)
#define TAG_SOP_CLASS DCM_TAG(0x0008, 0x0016)
#define TAG_SOP_INSTANCE DCM_TAG(0x0008, 0x0018)
#define TAG_BITS_ALLOCATED DCM_TAG(0x0028, 0x0100)

/*
 * Implementation Class UID of pacsd (PS3.7 D.3.3.2). We have no registered
 * root, so it is a UUID-derived UID under "2.25" (PS3.5 B.2): the decimal
 * form of a fixed random 128-bit number. It names the implementation, not
 * the version, and must stay stable across releases.
 */
#define PACSD_IMPL_CLASS_UID "2.25.2996475195380493710284093627093611584"
/* Implementation Version Name (SH, at most 16 characters). */
#define PACSD_IMPL_VERSION "PACSD_010"

/* How the bytes of a data set are laid out. */
struct enc {
	bool explicit_vr;
	bool big_endian;
};

static const struct enc ENC_EXPLICIT_LE = {true, false};
static const struct enc ENC_IMPLICIT_LE = {false, false};

struct writer {
	struct pc_buf *out;
	struct pc_err *err;
};

/* ---- low-level output ---------------------------------------------------- */

static void put16(struct writer *w, struct enc enc, uint16_t v)
{
	uint8_t b[2];

	if (enc.big_endian) {
		b[0] = (uint8_t)(v >> 8);
		b[1] = (uint8_t)v;
	} else {
		b[0] = (uint8_t)v;
		b[1] = (uint8_t)(v >> 8);
	}
	pc_buf_append(w->out, b, 2);
}

static void encode32(uint8_t *b, struct enc enc, uint32_t v)
{
	if (enc.big_endian) {
		b[0] = (uint8_t)(v >> 24);
		b[1] = (uint8_t)(v >> 16);
		b[2] = (uint8_t)(v >> 8);
		b[3] = (uint8_t)v;
	} else {
		b[0] = (uint8_t)v;
		b[1] = (uint8_t)(v >> 8);
		b[2] = (uint8_t)(v >> 16);
		b[3] = (uint8_t)(v >> 24);
	}
}

static void put32(struct writer *w, struct enc enc, uint32_t v)
{
	uint8_t b[4];

	encode32(b, enc, v);
	pc_buf_append(w->out, b, 4);
}

static void put_tag(struct writer *w, struct enc enc, uint32_t tag)
{
	put16(w, enc, DCM_TAG_GROUP(tag));
	put16(w, enc, DCM_TAG_ELEM(tag));
}

/* Status of the output buffer, reported through err when it failed. */
static enum pc_status out_status(struct writer *w, uint32_t tag)
{
	enum pc_status st = pc_buf_status(w->out);

	if (st == PC_OK)
		return PC_OK;
	return pc_err_set(w->err, st, w->out->n,
	                  "(%04X,%04X): cannot append to the output: %s",
	                  DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag),
	                  pc_status_text(st));
}

/*
 * A 32-bit length to be filled in later: returns the placeholder's offset.
 * patch_len() writes the number of bytes from `start` to the current end.
 */
static size_t put_len_placeholder(struct writer *w, struct enc enc)
{
	size_t at = w->out->n;

	put32(w, enc, 0);
	return at;
}

static enum pc_status patch_len(struct writer *w, struct enc enc, size_t at,
                                size_t start, uint32_t tag, const char *what)
{
	size_t len;
	enum pc_status st = out_status(w, tag);

	if (st != PC_OK)
		return st;
	len = w->out->n - start;
	if (len > MAX_LEN32)
		return pc_err_set(w->err, PC_LIMIT, start,
		                  "(%04X,%04X): %s of %zu bytes does not fit a "
		                  "32-bit length",
		                  DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag), what,
		                  len);
	encode32((uint8_t *)w->out->p + at, enc, (uint32_t)len);
	return PC_OK;
}

/*
 * Element header (PS3.5 7.1.1-7.1.3). `len` is the value length or
 * DCM_UNDEFINED_LENGTH. With `len_at` non-NULL the length is a placeholder
 * whose offset is stored there (32-bit lengths only).
 */
static enum pc_status put_header(struct writer *w, struct enc enc, uint32_t tag,
                                 enum dcm_vr vr, uint32_t len, size_t *len_at)
{
	const struct dcm_vr_info *vi;

	put_tag(w, enc, tag);
	if (enc.explicit_vr) {
		vi = dcm_vr_info(vr);
		if (vi == NULL) {
			vr = DCM_VR_UN;
			vi = dcm_vr_info(vr);
		}
		pc_buf_putc(w->out, (char)(vr >> 8));
		pc_buf_putc(w->out, (char)(vr & 0xFF));
		if (vi == NULL || !vi->long_header) {
			/* PS3.5 7.1.2: short VRs have a 16-bit length and
			 * cannot be of undefined length. */
			if (len_at != NULL || len > MAX_LEN16)
				return pc_err_set(
				    w->err, PC_LIMIT, w->out->n,
				    "(%04X,%04X): value of %lu bytes is too "
				    "long for VR %s in explicit VR (at most "
				    "%u)",
				    DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag),
				    (unsigned long)len, dcm_vr_name(vr),
				    MAX_LEN16);
			put16(w, enc, (uint16_t)len);
			return PC_OK;
		}
		put16(w, enc, 0); /* reserved (PS3.5 7.1.2) */
	}
	if (len_at != NULL)
		*len_at = put_len_placeholder(w, enc);
	else
		put32(w, enc, len);
	return PC_OK;
}

/* ---- values ----------------------------------------------------------------
 */

/* Bytes per unit that changes order with the byte order (PS3.5 7.3). AT is
 * a pair of 16-bit words, group then element, each in the byte order. */
static unsigned swap_unit(enum dcm_vr vr)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);

	return vi != NULL && vi->swap > 1 ? vi->swap : 1;
}

static uint8_t pad_byte(enum dcm_vr vr)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);

	return vi != NULL ? vi->pad : 0;
}

/*
 * Appends `v`, reversing each `unit`-byte group when `swap`, then the pad
 * byte if the length is odd (PS3.5 7.1.1: values have even length). A
 * trailing partial unit (malformed input) is copied as it is.
 */
static void put_value(struct writer *w, struct pc_span v, bool swap,
                      unsigned unit, uint8_t pad)
{
	uint8_t *dst;
	size_t i, full;
	unsigned k;

	if (!swap || unit < 2) {
		pc_buf_append(w->out, v.p, v.n);
	} else {
		dst = pc_buf_reserve(w->out, v.n);
		if (dst == NULL)
			return;
		full = v.n - v.n % unit;
		for (i = 0; i < full; i += unit)
			for (k = 0; k < unit; k++)
				dst[i + k] = v.p[i + unit - 1 - k];
		if (full < v.n)
			memcpy(dst + full, v.p + full, v.n - full);
		pc_buf_commit(w->out, v.n);
	}
	if (v.n % 2 != 0)
		pc_buf_append(w->out, &pad, 1);
}

/* ---- data sets -------------------------------------------------------------
 */

static enum pc_status write_dataset(struct writer *w, struct enc enc,
                                    const dcm_dataset *ds, unsigned depth);

/*
 * The VR to write: the one the element was encoded with (UN, for elements
 * read as UN and interpreted through the dictionary), so that a file is
 * written back as read; but the interpreted VR when the byte order
 * changes, because UN bytes stay in the order of the file they came from
 * (and UN sequences would mix implicit little endian items into a big
 * endian file, which some readers reject).
 */
static enum dcm_vr vr_to_write(const dcm_elem *e, struct enc enc)
{
	if (dcm_elem_vr_encoded(e) == DCM_VR_UN &&
	    !enc.big_endian && !dcm_elem_big_endian(e))
		return DCM_VR_UN;
	return dcm_elem_vr(e);
}

/* A sequence (PS3.5 7.5). Items of a UN sequence are implicit VR little
 * endian (PS3.5 6.2.2). */
static enum pc_status write_sequence(struct writer *w, struct enc enc,
                                     const dcm_elem *e, unsigned depth)
{
	uint32_t tag = dcm_elem_tag(e);
	enum dcm_vr vr = vr_to_write(e, enc) == DCM_VR_UN ? DCM_VR_UN : DCM_VR_SQ;
	bool undefined = dcm_elem_undefined_length(e);
	struct enc ienc = enc;
	size_t seq_len_at = 0, seq_start, item_len_at = 0, item_start, i, n;
	enum pc_status st;

	if (vr == DCM_VR_UN && enc.explicit_vr)
		ienc = ENC_IMPLICIT_LE;
	st = put_header(w, enc, tag, vr, DCM_UNDEFINED_LENGTH,
	                undefined ? NULL : &seq_len_at);
	if (st != PC_OK)
		return st;
	seq_start = w->out->n;
	n = dcm_elem_item_count(e);
	for (i = 0; i < n; i++) {
		bool item_undef = dcm_elem_item_undefined_length(e, i);

		put_tag(w, ienc, DCM_TAG_ITEM);
		if (item_undef)
			put32(w, ienc, DCM_UNDEFINED_LENGTH);
		else
			item_len_at = put_len_placeholder(w, ienc);
		item_start = w->out->n;
		st = write_dataset(w, ienc, dcm_elem_item(e, i), depth + 1);
		if (st != PC_OK)
			return st;
		if (item_undef) {
			put_tag(w, ienc, DCM_TAG_ITEM_DELIM);
			put32(w, ienc, 0);
		} else {
			st = patch_len(w, ienc, item_len_at, item_start, tag,
			               "sequence item");
			if (st != PC_OK)
				return st;
		}
	}
	if (undefined) {
		put_tag(w, ienc, DCM_TAG_SEQ_DELIM);
		put32(w, ienc, 0);
		return out_status(w, tag);
	}
	return patch_len(w, enc, seq_len_at, seq_start, tag, "sequence");
}

/* Encapsulated pixel data (PS3.5 A.4): undefined length, the Basic Offset
 * Table item, one item per fragment, the sequence delimiter. */
static enum pc_status write_encapsulated(struct writer *w, struct enc enc,
                                         const dcm_elem *e)
{
	uint32_t tag = dcm_elem_tag(e);
	enum dcm_vr vr = dcm_elem_vr(e);
	struct pc_span v;
	size_t i, n;
	enum pc_status st;

	if (vr != DCM_VR_OB && vr != DCM_VR_OW)
		vr = DCM_VR_OB;
	st = put_header(w, enc, tag, vr, DCM_UNDEFINED_LENGTH, NULL);
	if (st != PC_OK)
		return st;
	n = dcm_elem_fragment_count(e);
	for (i = 0; i <= n; i++) {
		v = i == 0 ? dcm_elem_offset_table(e)
		           : dcm_elem_fragment(e, i - 1);
		/* Items have even length (PS3.5 A.4); an odd fragment gets a
		 * trailing zero, which decoders ignore after the end marker. */
		if (v.n + v.n % 2 > MAX_LEN32)
			return pc_err_set(w->err, PC_LIMIT, w->out->n,
			                  "(%04X,%04X): fragment %zu of %zu "
			                  "bytes does not fit a 32-bit length",
			                  DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag),
			                  i, v.n);
		put_tag(w, enc, DCM_TAG_ITEM);
		put32(w, enc, (uint32_t)(v.n + v.n % 2));
		put_value(w, v, false, 1, 0);
	}
	put_tag(w, enc, DCM_TAG_SEQ_DELIM);
	put32(w, enc, 0);
	return out_status(w, tag);
}

/*
 * How native Pixel Data (7FE0,0010) is written: its pixel cell size decides
 * the swap unit, and in big endian the VR too (PS3.5 A.3: OB for 8 bits or
 * fewer, OW above). Little endian targets keep the VR as read.
 */
static void pixel_data_layout(const dcm_dataset *ds, struct enc enc,
                              enum dcm_vr *vr, unsigned *unit)
{
	int64_t bits = 0;

	if (*vr != DCM_VR_OB && *vr != DCM_VR_OW)
		return;
	if (dcm_dataset_get_int(ds, TAG_BITS_ALLOCATED, 0, &bits) != PC_OK)
		return;
	if (bits == 16 || bits == 32 || bits == 64)
		*unit = (unsigned)(bits / 8);
	else if (bits > 0 && bits <= 8)
		*unit = 1;
	else
		return;
	if (enc.big_endian)
		*vr = *unit > 1 ? DCM_VR_OW : DCM_VR_OB;
}

static enum pc_status write_element(struct writer *w, struct enc enc,
                                    const dcm_dataset *ds, const dcm_elem *e,
                                    unsigned depth)
{
	uint32_t tag = dcm_elem_tag(e);
	enum dcm_vr vr = vr_to_write(e, enc);
	struct pc_span v;
	unsigned unit;
	size_t len;
	enum pc_status st;

	if (dcm_elem_is_sequence(e))
		return write_sequence(w, enc, e, depth);
	if (dcm_elem_is_encapsulated(e))
		return write_encapsulated(w, enc, e);
	if (dcm_vr_info(vr) == NULL)
		vr = DCM_VR_UN; /* PS3.5 6.2.2: unknown VR */
	unit = swap_unit(vr);
	if (tag == DCM_TAG_PIXEL_DATA)
		pixel_data_layout(ds, enc, &vr, &unit);
	v = dcm_elem_value(e);
	len = v.n + v.n % 2;
	if (len > MAX_LEN32)
		return pc_err_set(
		    w->err, PC_LIMIT, w->out->n,
		    "(%04X,%04X): value of %zu bytes does not fit "
		    "a 32-bit length",
		    DCM_TAG_GROUP(tag), DCM_TAG_ELEM(tag), v.n);
	st = put_header(w, enc, tag, vr, (uint32_t)len, NULL);
	if (st != PC_OK)
		return st;
	put_value(w, v, dcm_elem_big_endian(e) != enc.big_endian, unit,
	          pad_byte(vr));
	return out_status(w, tag);
}

/*
 * Writes every element of `ds`. A group length (gggg,0000) is recomputed
 * for this encoding: its value is the number of bytes of the elements of
 * its group that follow it (PS3.5 7.2).
 */
static enum pc_status write_dataset(struct writer *w, struct enc enc,
                                    const dcm_dataset *ds, unsigned depth)
{
	size_t i, n = dcm_dataset_count(ds);
	size_t gl_at = 0, gl_start = 0;
	uint32_t gl_tag = 0;
	bool gl_open = false;
	enum pc_status st;

	if (depth > WRITE_MAX_DEPTH)
		return pc_err_set(w->err, PC_LIMIT, w->out->n,
		                  "sequences nested deeper than %u",
		                  WRITE_MAX_DEPTH);
	for (i = 0; i < n; i++) {
		const dcm_elem *e = dcm_dataset_at(ds, i);
		uint32_t tag = dcm_elem_tag(e);

		/* Group 0002 belongs to the meta (PS3.10 7.1): written in the
		 * data set, a reader would take it for a second meta. */
		if (depth == 0 && DCM_TAG_GROUP(tag) == 0x0002)
			continue;
		if (gl_open && DCM_TAG_GROUP(tag) != DCM_TAG_GROUP(gl_tag)) {
			st =
			    patch_len(w, enc, gl_at, gl_start, gl_tag, "group");
			if (st != PC_OK)
				return st;
			gl_open = false;
		}
		/* A group length (UL) is recomputed; an element of another
		 * VR at (gggg,0000) is not a group length and is written as
		 * it was read. */
		if (DCM_TAG_ELEM(tag) == 0 && vr_to_write(e, enc) == DCM_VR_UL) {
			st = put_header(w, enc, tag, DCM_VR_UL, 4, NULL);
			if (st != PC_OK)
				return st;
			gl_at = put_len_placeholder(w, enc);
			gl_start = w->out->n;
			gl_tag = tag;
			gl_open = true;
			continue;
		}
		st = write_element(w, enc, ds, e, depth);
		if (st != PC_OK)
			return st;
	}
	if (gl_open)
		return patch_len(w, enc, gl_at, gl_start, gl_tag, "group");
	return PC_OK;
}

/* ---- File Meta Information --------------------------------------------------
 */

/* A UI value with its trailing padding (NUL or space) removed. */
static struct pc_span trim_uid(struct pc_span v)
{
	while (v.n > 0 && (v.p[v.n - 1] == '\0' || v.p[v.n - 1] == ' '))
		v.n--;
	return v;
}

static enum pc_status put_text(struct writer *w, uint32_t tag, enum dcm_vr vr,
                               struct pc_span v)
{
	enum pc_status st;

	st = put_header(w, ENC_EXPLICIT_LE, tag, vr, (uint32_t)(v.n + v.n % 2),
	                NULL);
	if (st != PC_OK)
		return st;
	put_value(w, v, false, 1, pad_byte(vr));
	return out_status(w, tag);
}

/*
 * (0002,0010): the meta's own value when it already names `ts` (so that its
 * padding is kept byte for byte), else the UID of `ts`.
 */
static enum pc_status put_ts_uid(struct writer *w, const dcm_elem *old,
                                 const struct dcm_ts *ts)
{
	struct pc_span uid = pc_span_make(ts->uid, strlen(ts->uid));
	struct pc_span v;

	if (old != NULL && !dcm_elem_is_sequence(old) &&
	    dcm_elem_vr(old) == DCM_VR_UI) {
		v = dcm_elem_value(old);
		if (v.n % 2 == 0 && trim_uid(v).n == uid.n &&
		    memcmp(v.p, uid.p, uid.n) == 0)
			return put_text(w, DCM_TAG_TRANSFER_SYNTAX, DCM_VR_UI,
			                v);
	}
	return put_text(w, DCM_TAG_TRANSFER_SYNTAX, DCM_VR_UI, uid);
}

/* The meta made for a data set that comes without one (PS3.10 7.1). */
static enum pc_status write_new_meta(struct writer *w, const dcm_dataset *ds,
                                     const struct dcm_ts *ts)
{
	static const uint8_t version[2] = {0x00, 0x01};
	static const uint32_t from[2] = {TAG_SOP_CLASS, TAG_SOP_INSTANCE};
	static const uint32_t to[2] = {TAG_MEDIA_SOP_CLASS,
	                               TAG_MEDIA_SOP_INSTANCE};
	const dcm_elem *e;
	enum pc_status st;
	size_t i;

	st = put_text(w, TAG_META_VERSION, DCM_VR_OB,
	              pc_span_make(version, sizeof(version)));
	for (i = 0; st == PC_OK && i < 2; i++) {
		/* Type 1 in the meta, but a data set without them can still
		 * be written: the elements are left out rather than made up. */
		e = dcm_dataset_find(ds, from[i]);
		if (e == NULL || dcm_elem_is_sequence(e))
			continue;
		st = put_text(w, to[i], DCM_VR_UI, trim_uid(dcm_elem_value(e)));
	}
	if (st == PC_OK)
		st = put_ts_uid(w, NULL, ts);
	if (st == PC_OK)
		st = put_text(w, TAG_IMPL_CLASS_UID, DCM_VR_UI,
		              pc_span_make(PACSD_IMPL_CLASS_UID,
		                           strlen(PACSD_IMPL_CLASS_UID)));
	if (st == PC_OK)
		st = put_text(w, TAG_IMPL_VERSION, DCM_VR_SH,
		              pc_span_make(PACSD_IMPL_VERSION,
		                           strlen(PACSD_IMPL_VERSION)));
	return st;
}

/* The caller's meta with (0002,0010) set to `ts`; const, so substituted on
 * the fly rather than changed. */
static enum pc_status write_given_meta(struct writer *w,
                                       const dcm_dataset *meta,
                                       const struct dcm_ts *ts)
{
	const dcm_elem *old = dcm_dataset_find(meta, DCM_TAG_TRANSFER_SYNTAX);
	size_t i, n = dcm_dataset_count(meta);
	bool ts_done = false;
	enum pc_status st;

	for (i = 0; i < n; i++) {
		const dcm_elem *e = dcm_dataset_at(meta, i);
		uint32_t tag = dcm_elem_tag(e);

		if (tag == TAG_META_GROUP_LENGTH)
			continue;
		if (!ts_done && tag >= DCM_TAG_TRANSFER_SYNTAX) {
			st = put_ts_uid(w, old, ts);
			if (st != PC_OK)
				return st;
			ts_done = true;
			if (tag == DCM_TAG_TRANSFER_SYNTAX)
				continue;
		}
		st = write_element(w, ENC_EXPLICIT_LE, meta, e, 0);
		if (st != PC_OK)
			return st;
	}
	if (!ts_done)
		return put_ts_uid(w, old, ts);
	return PC_OK;
}

/* "DICM" and group 0002 with its group length first (PS3.10 7.1). */
static enum pc_status write_meta(struct writer *w, const dcm_dataset *meta,
                                 const dcm_dataset *ds, const struct dcm_ts *ts)
{
	size_t gl_at, gl_start;
	enum pc_status st;

	pc_buf_append(w->out, "DICM", 4);
	st = put_header(w, ENC_EXPLICIT_LE, TAG_META_GROUP_LENGTH, DCM_VR_UL, 4,
	                NULL);
	if (st != PC_OK)
		return st;
	gl_at = put_len_placeholder(w, ENC_EXPLICIT_LE);
	gl_start = w->out->n;
	if (meta == NULL)
		st = write_new_meta(w, ds, ts);
	else
		st = write_given_meta(w, meta, ts);
	if (st != PC_OK)
		return st;
	return patch_len(w, ENC_EXPLICIT_LE, gl_at, gl_start,
	                 TAG_META_GROUP_LENGTH, "File Meta Information");
}

/* ---- pixel data compatibility
 * ------------------------------------------------- */

/* Whether `ds` or any item below it holds encapsulated pixel data. */
static bool has_encapsulated(const dcm_dataset *ds, unsigned depth)
{
	size_t i, j, n = dcm_dataset_count(ds);

	if (depth > WRITE_MAX_DEPTH)
		return false; /* write_dataset reports the depth */
	for (i = 0; i < n; i++) {
		const dcm_elem *e = dcm_dataset_at(ds, i);

		if (dcm_elem_is_encapsulated(e))
			return true;
		if (!dcm_elem_is_sequence(e))
			continue;
		for (j = 0; j < dcm_elem_item_count(e); j++)
			if (has_encapsulated(dcm_elem_item(e, j), depth + 1))
				return true;
	}
	return false;
}

/* PC_UNSUPPORTED when writing `ds` in `ts` would need pixel data
 * transcoding, which is not the writer's job. */
static enum pc_status check_pixel_data(const dcm_dataset *ds,
                                       const struct dcm_ts *ts,
                                       struct pc_err *err)
{
	const dcm_elem *px = dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA);

	if (ts->encapsulated) {
		if (px != NULL && !dcm_elem_is_encapsulated(px))
			return pc_err_set(err, PC_UNSUPPORTED, 0,
			                  "(7FE0,0010): native pixel data "
			                  "cannot be written in %s without "
			                  "compressing it",
			                  ts->name);
		return PC_OK;
	}
	if (has_encapsulated(ds, 0))
		return pc_err_set(err, PC_UNSUPPORTED, 0,
		                  "encapsulated pixel data cannot be written "
		                  "in %s without decompressing it",
		                  ts->name);
	return PC_OK;
}

/* ---- deflate (PS3.5 A.5)
 * ---------------------------------------------------------- */

/* zlib's allocations go through pc_malloc so that failure injection covers
 * them too. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	return pc_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	pc_free(p);
}

/* Appends `in` compressed as a raw deflate stream (no zlib header), padded
 * to even length with a zero byte as DCMTK and pydicom do. */
static enum pc_status deflate_into(struct writer *w, const struct pc_buf *in)
{
	enum { CHUNK_IN = 1u << 30, CHUNK_OUT = 1u << 16 };
	z_stream zs;
	const uint8_t *p = (const uint8_t *)in->p;
	size_t left = in->n, before = w->out->n;
	uint8_t *dst;
	int zr = Z_OK, flush;
	enum pc_status st = PC_OK;

	memset(&zs, 0, sizeof(zs));
	zs.zalloc = z_alloc;
	zs.zfree = z_free;
	/* Raw deflate: negative window bits, no zlib header (PS3.5 A.5).
	 * With these constant arguments only allocation can fail. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8,
	                 Z_DEFAULT_STRATEGY) != Z_OK)
		return pc_err_set(w->err, PC_NOMEM, 0,
		                  "cannot start deflate: out of memory");
	do {
		if (zs.avail_in == 0 && left > 0) {
			zs.next_in = (Bytef *)(uintptr_t)p;
			zs.avail_in = left > CHUNK_IN ? CHUNK_IN : (uInt)left;
			p += zs.avail_in;
			left -= zs.avail_in;
		}
		flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
		dst = pc_buf_reserve(w->out, CHUNK_OUT);
		if (dst == NULL) {
			st = out_status(w, 0);
			goto done;
		}
		zs.next_out = dst;
		zs.avail_out = CHUNK_OUT;
		zr = deflate(&zs, flush);
		/* Z_BUF_ERROR only says no progress was possible this call;
		 * with fresh output space each turn it cannot repeat. */
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			st = pc_err_set(w->err, PC_INVAL, 0,
			                "deflate failed: %s",
			                zs.msg != NULL ? zs.msg : "zlib error");
			goto done;
		}
		pc_buf_commit(w->out, CHUNK_OUT - zs.avail_out);
	} while (zr != Z_STREAM_END);
	if ((w->out->n - before) % 2 != 0)
		pc_buf_putc(w->out, '\0');
	st = out_status(w, 0);
done:
	deflateEnd(&zs);
	return st;
}

/* ---- public
 * ---------------------------------------------------------------------- */

enum pc_status dcm_file_write(const dcm_dataset *meta, const dcm_dataset *ds,
                              const struct dcm_write_opts *opts,
                              struct pc_buf *out, struct pc_err *err)
{
	static const uint8_t zeros[128];
	const struct dcm_ts *ts = &dcm_ts_explicit_le;
	struct writer w = {out, err};
	struct pc_buf tmp = PC_BUF_INIT;
	struct enc enc;
	size_t start;
	enum pc_status st;

	if (ds == NULL || out == NULL)
		return pc_err_set(err, PC_INVAL, 0,
		                  "no data set or output buffer given");
	if (opts != NULL && opts->ts != NULL)
		ts = opts->ts;
	if (opts != NULL && opts->preamble.n != 0 && opts->preamble.n != 128)
		return pc_err_set(err, PC_INVAL, 0,
		                  "preamble of %zu bytes given, it must have "
		                  "128 (PS3.10 7.1)",
		                  opts->preamble.n);
	st = pc_buf_status(out);
	if (st != PC_OK)
		return pc_err_set(err, st, 0,
		                  "output buffer already failed: %s",
		                  pc_status_text(st));
	st = check_pixel_data(ds, ts, err);
	if (st != PC_OK)
		return st;

	/* On failure the output is cut back to where it was, so that a
	 * caller's buffer never ends with half a file. */
	start = out->n;
	if (opts == NULL || !opts->no_preamble) {
		pc_buf_append(out,
		              opts != NULL && opts->preamble.n == 128
		                  ? opts->preamble.p
		                  : zeros,
		              128);
		st = write_meta(&w, meta, ds, ts);
		if (st != PC_OK)
			goto fail;
	}
	enc.explicit_vr = ts->explicit_vr;
	enc.big_endian = ts->big_endian;
	if (!ts->deflated) {
		st = write_dataset(&w, enc, ds, 0);
		if (st != PC_OK)
			goto fail;
		return PC_OK;
	}
	/* PS3.5 A.5: the data set is encoded explicit VR little endian and
	 * the whole of it deflated; the meta stays as it is. */
	w.out = &tmp;
	st = write_dataset(&w, enc, ds, 0);
	w.out = out;
	if (st == PC_OK)
		st = deflate_into(&w, &tmp);
	pc_buf_cleanup(&tmp);
	if (st != PC_OK)
		goto fail;
	return PC_OK;

fail:
	/* The buffer was healthy on entry (checked above), so a sticky error
	 * in it is ours to clear; a failed append never commits, so out->n
	 * still counts valid bytes. */
	out->st = PC_OK;
	if (out->n > start)
		pc_buf_truncate(out, out->n - start);
	return st;
}

/* Writes all of `p` to `fd`, retrying on EINTR and short writes. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* fsync of the directory holding `path`, so that the rename is durable. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	size_t n;
	int fd, r;

	if (slash == NULL) {
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	/* Some file systems cannot fsync a directory; the data is safe. */
	if (r < 0 && (errno == EINVAL || errno == EBADF))
		r = 0;
	close(fd);
	return r;
}

enum pc_status dcm_file_save(const dcm_dataset *meta, const dcm_dataset *ds,
                             const struct dcm_write_opts *opts,
                             const char *path, struct pc_err *err)
{
	struct pc_buf buf = PC_BUF_INIT;
	char *tmp = NULL;
	size_t plen;
	int fd = -1;
	bool created = false;
	enum pc_status st;

	if (path == NULL)
		return pc_err_set(err, PC_INVAL, 0, "no path given");
	st = dcm_file_write(meta, ds, opts, &buf, err);
	if (st != PC_OK)
		goto done;
	plen = strlen(path);
	tmp = pc_malloc(plen + 5);
	if (tmp == NULL) {
		st = pc_err_set(err, PC_NOMEM, 0, "%s: out of memory", path);
		goto done;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);

	fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0) {
		st = pc_err_set(err, PC_IO, 0, "%s: cannot create: %s", tmp,
		                strerror(errno));
		goto done;
	}
	created = true;
	if (write_all(fd, (const uint8_t *)buf.p, buf.n) != 0) {
		st = pc_err_set(err, PC_IO, 0, "%s: write failed: %s", tmp,
		                strerror(errno));
		goto done;
	}
	if (fsync(fd) != 0) {
		st = pc_err_set(err, PC_IO, 0, "%s: fsync failed: %s", tmp,
		                strerror(errno));
		goto done;
	}
	if (close(fd) != 0) {
		fd = -1;
		st = pc_err_set(err, PC_IO, 0, "%s: close failed: %s", tmp,
		                strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		st = pc_err_set(err, PC_IO, 0, "%s: cannot rename to %s: %s",
		                tmp, path, strerror(errno));
		goto done;
	}
	created = false;
	if (sync_dir(path) != 0) {
		st = pc_err_set(err, PC_IO, 0,
		                "%s: fsync of its directory failed: %s", path,
		                strerror(errno));
		goto done;
	}
	st = PC_OK;
done:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	pc_free(tmp);
	pc_buf_cleanup(&buf);
	return st;
}
