/*
 * dicom_int.h - internals of the DICOM module shared between its files
 * (dataset.c, parse.c, read.c). Not part of the API: other modules use dcm.h.
 *
 * Model: a data set holds an array of element pointers sorted by tag; the
 * elements, the array, items and any copied values all live in the root's
 * arena, so element pointers are stable until the root is destroyed.
 */
#ifndef PACSD_DICOM_INT_H
#define PACSD_DICOM_INT_H

#include "dcm.h"

enum {
	ELEM_BIG_ENDIAN = 1u << 0,  /* value bytes in big-endian order */
	ELEM_UNDEF_LEN = 1u << 1,   /* SQ / pixel data read with undefined length */
	ELEM_SEQUENCE = 1u << 2,    /* u.seq is valid */
	ELEM_ENCAPS = 1u << 3,      /* u.enc is valid */
};

struct dcm_frag {
	struct pc_span data;
	uint64_t offset;            /* of the fragment's item tag in the input */
};

struct dcm_elem {
	uint32_t tag;
	uint16_t vr;                /* enum dcm_vr, as interpreted */
	uint16_t vr_enc;            /* VR as encoded when it differs (UN), or 0 */
	uint8_t flags;              /* ELEM_* */
	uint32_t length;            /* as encoded */
	uint64_t offset;            /* of the tag in the input */
	const dcm_dataset *owner;   /* data set holding it: its charset */
	union {
		struct pc_span value;
		struct {
			dcm_dataset **items;
			uint32_t n, cap;
			dcm_dataset *owner;   /* data set holding this element */
		} seq;
		struct {
			struct pc_span bot;   /* basic offset table */
			struct dcm_frag *frags;
			uint32_t n, cap;
			pc_arena *arena;      /* for fragments added later */
		} enc;
	} u;
};

struct dcm_dataset {
	pc_arena *arena;            /* shared with the whole tree */
	const dcm_dataset *parent;  /* enclosing data set of an item */
	dcm_elem **elems;
	uint32_t n, cap;
	bool owns_arena;            /* root from dcm_dataset_create */
	bool has_charset;           /* cs came from this data set's (0008,0005) */
	bool item_undef_len;        /* as an item: encoded with undefined length */
	struct dcm_charset cs;
	uint64_t offset;            /* of the item tag, for items */
};

/* A data set allocated in `arena` (not owning it). NULL on OOM. */
dcm_dataset *dcm__dataset_new(pc_arena *arena, const dcm_dataset *parent);
/* A new element appended at its sorted place (replacing an element with
 * the same tag, in which case *replaced is set). NULL on OOM. */
dcm_elem *dcm__dataset_add(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
			   bool *replaced);
/* Re-reads (0008,0005) of this data set into ds->cs. */
void dcm__dataset_update_charset(dcm_dataset *ds);
enum pc_status dcm__seq_push_item(dcm_elem *seq, dcm_dataset *item);
enum pc_status dcm__enc_push_frag(pc_arena *arena, dcm_elem *e,
				  struct pc_span frag, uint64_t offset);

/* ---- event parser (parse.c) --------------------------------------------- */

struct dcm__token {
	uint32_t tag;
	enum dcm_vr vr;             /* DCM_VR_NONE: implicit, private, unknown */
	uint32_t length;            /* as encoded */
	uint64_t offset;            /* of the tag */
	struct pc_span value;       /* element value (non-SQ) */
	bool big_endian;
	bool undefined_length;
};

/*
 * Callbacks of the event parser. Each returns PC_OK to go on, PC_STOP to
 * end parsing without error, or an error (with pc_err filled) to abort.
 */
struct dcm__parse_cb {
	enum pc_status (*element)(void *ctx, const struct dcm__token *t);
	/* t->vr is SQ, or UN / NONE for a UN sequence (PS3.5 6.2.2). */
	enum pc_status (*seq_begin)(void *ctx, const struct dcm__token *t);
	enum pc_status (*seq_end)(void *ctx);
	enum pc_status (*item_begin)(void *ctx, uint32_t length, uint64_t offset,
				     bool undefined_length);
	enum pc_status (*item_end)(void *ctx);
	enum pc_status (*pixel_begin)(void *ctx, const struct dcm__token *t);
	enum pc_status (*fragment)(void *ctx, struct pc_span data,
				   uint64_t offset, bool is_offset_table);
	enum pc_status (*pixel_end)(void *ctx);
	/* A tolerated deviation from the standard (odd length, ...). */
	void (*warning)(void *ctx, uint64_t offset, const char *msg);
};

enum {
	DCM__PARSE_STOP_AT_PIXELS = 1u << 0, /* top level, at (7FE0,0010) */
	DCM__PARSE_META = 1u << 1,           /* group 0002 only, then stop */
};

struct dcm__parse_in {
	const uint8_t *p;           /* data set bytes */
	size_t n;
	uint64_t base;              /* offset of p[0] in the original input */
	bool explicit_vr;
	bool big_endian;
	unsigned flags;             /* DCM__PARSE_* */
	const struct dcm_limits *limits;
};

/*
 * Parses the data set in `in`, reporting events to `cb`. *consumed is set
 * to the bytes parsed (less than in->n when stopped early). Returns PC_OK
 * (also when a callback or a flag stopped it) or an error.
 */
enum pc_status dcm__parse(const struct dcm__parse_in *in,
			  const struct dcm__parse_cb *cb, void *ctx,
			  size_t *consumed, struct pc_err *err);

/* "(0010,0010)" into buf (at least 12 bytes). */
const char *dcm__tag_str(uint32_t tag, char *buf, size_t size);

#endif
