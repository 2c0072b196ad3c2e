/*
 * dcm.h - the DICOM core: data model, Part 10 reader and writer, data
 * dictionary, character sets and DICOM JSON.
 *
 * The subject is split the way the standard splits it:
 *   vr.c       value representations (PS3.5 6.2)
 *   dict.c     data dictionary lookups (PS3.6), table in dict_data.c
 *   uid.c      transfer syntaxes (PS3.5 10, PS3.6 Annex A)
 *   charset.c  Specific Character Set to UTF-8 (PS3.5 6.1, PS3.3 C.12.1.1.2)
 *   parse.c    event parser over an encoded data set (PS3.5 7)
 *   dataset.c  the in-memory model and value access
 *   read.c     Part 10 files (PS3.10 7), builds the model from parse events
 *   write.c    the model back to Part 10
 *   json.c     DICOM JSON (PS3.18 Annex F)
 *
 * Ownership: a dataset and every element, item and value in it live in one
 * arena owned by the root (a dcm_file or a dataset from dcm_dataset_create).
 * Values read from a file are slices of the caller's buffer or of the
 * file's mapping: nothing large is copied. Pointers handed out stay valid
 * until the root is destroyed, unless the function says otherwise.
 *
 * Thread-safety: a dataset may be read from several threads at once; any
 * mutation needs exclusive access.
 */
#ifndef PACSD_DICOM_DCM_H
#define PACSD_DICOM_DCM_H

#include "../core/pc.h"

/* ---- tags --------------------------------------------------------------- */

#define DCM_TAG(group, elem) ((uint32_t)(((uint32_t)(group) << 16) | (elem)))
#define DCM_TAG_GROUP(tag) ((uint16_t)((tag) >> 16))
#define DCM_TAG_ELEM(tag) ((uint16_t)((tag)&0xFFFFu))

#define DCM_TAG_ITEM DCM_TAG(0xFFFE, 0xE000)
#define DCM_TAG_ITEM_DELIM DCM_TAG(0xFFFE, 0xE00D)
#define DCM_TAG_SEQ_DELIM DCM_TAG(0xFFFE, 0xE0DD)
#define DCM_TAG_PIXEL_DATA DCM_TAG(0x7FE0, 0x0010)
#define DCM_TAG_SPECIFIC_CHARSET DCM_TAG(0x0008, 0x0005)
#define DCM_TAG_TRANSFER_SYNTAX DCM_TAG(0x0002, 0x0010)

#define DCM_UNDEFINED_LENGTH 0xFFFFFFFFu

/* ---- value representations (vr.c) -------------------------------------- */

/* A VR is its two characters packed big-endian: 'A','E' -> 0x4145. */
#define DCM__VR(a, b) (((unsigned)(a) << 8) | (unsigned)(b))
enum dcm_vr {
	DCM_VR_NONE = 0, /* unknown (implicit VR, tag not in dictionary) */
	DCM_VR_AE = DCM__VR('A', 'E'),
	DCM_VR_AS = DCM__VR('A', 'S'),
	DCM_VR_AT = DCM__VR('A', 'T'),
	DCM_VR_CS = DCM__VR('C', 'S'),
	DCM_VR_DA = DCM__VR('D', 'A'),
	DCM_VR_DS = DCM__VR('D', 'S'),
	DCM_VR_DT = DCM__VR('D', 'T'),
	DCM_VR_FD = DCM__VR('F', 'D'),
	DCM_VR_FL = DCM__VR('F', 'L'),
	DCM_VR_IS = DCM__VR('I', 'S'),
	DCM_VR_LO = DCM__VR('L', 'O'),
	DCM_VR_LT = DCM__VR('L', 'T'),
	DCM_VR_OB = DCM__VR('O', 'B'),
	DCM_VR_OD = DCM__VR('O', 'D'),
	DCM_VR_OF = DCM__VR('O', 'F'),
	DCM_VR_OL = DCM__VR('O', 'L'),
	DCM_VR_OV = DCM__VR('O', 'V'),
	DCM_VR_OW = DCM__VR('O', 'W'),
	DCM_VR_PN = DCM__VR('P', 'N'),
	DCM_VR_SH = DCM__VR('S', 'H'),
	DCM_VR_SL = DCM__VR('S', 'L'),
	DCM_VR_SQ = DCM__VR('S', 'Q'),
	DCM_VR_SS = DCM__VR('S', 'S'),
	DCM_VR_ST = DCM__VR('S', 'T'),
	DCM_VR_SV = DCM__VR('S', 'V'),
	DCM_VR_TM = DCM__VR('T', 'M'),
	DCM_VR_UC = DCM__VR('U', 'C'),
	DCM_VR_UI = DCM__VR('U', 'I'),
	DCM_VR_UL = DCM__VR('U', 'L'),
	DCM_VR_UN = DCM__VR('U', 'N'),
	DCM_VR_UR = DCM__VR('U', 'R'),
	DCM_VR_US = DCM__VR('U', 'S'),
	DCM_VR_UT = DCM__VR('U', 'T'),
	DCM_VR_UV = DCM__VR('U', 'V'),
};

enum dcm_vr_class {
	DCM_VRC_STRING,  /* backslash-separated text values: AE CS DA ... UI */
	DCM_VRC_TEXT,    /* one text value, backslash is data: LT ST UT UR */
	DCM_VRC_NUMBER,  /* fixed-size binary numbers: FL FD SS US SL UL SV UV AT */
	DCM_VRC_BYTES,   /* other-byte/word/...: OB OD OF OL OV OW UN */
	DCM_VRC_SEQUENCE /* SQ */
};

struct dcm_vr_info {
	enum dcm_vr vr;
	char name[3];            /* "AE" */
	enum dcm_vr_class cls;
	uint8_t long_header;     /* explicit VR: 2 reserved bytes + 32-bit length */
	uint8_t size;            /* bytes per binary value (NUMBER, BYTES); 0 text */
	uint8_t swap;            /* byte-swap unit between endians (AT: 2); 0/1 none */
	uint8_t pad;             /* padding byte for odd lengths: ' ' or '\0' */
	uint8_t charset;         /* text affected by Specific Character Set */
	uint32_t max_len;        /* max bytes per value (0 = none) */
};

/* Info for a known VR, or NULL (DCM_VR_NONE and unknown codes). */
const struct dcm_vr_info *dcm_vr_info(enum dcm_vr vr);
/* Parses two characters; DCM_VR_NONE if they are not a known VR. */
enum dcm_vr dcm_vr_from_chars(uint8_t a, uint8_t b);
/* "AE".. or "??" for an unknown VR; never NULL. */
const char *dcm_vr_name(enum dcm_vr vr);

/* ---- data dictionary (dict.c, generated dict_data.c) -------------------- */

struct dcm_dict_entry {
	uint32_t tag;          /* with 'x' digits as 0 (6000,3000 for 60xx,3000) */
	uint32_t mask;         /* bits that must match: 0xFF00FFFF for 60xx */
	enum dcm_vr vr;        /* first VR ("US or SS" -> US) */
	enum dcm_vr vr_alt;    /* second VR or DCM_VR_NONE */
	const char *keyword;   /* "PatientName"; "" for private entries */
	const char *name;      /* "Patient's Name" */
	const char *vm;        /* "1", "1-n", "2-2n" */
	bool retired;
};

/*
 * Standard entry for `tag`, handling repeating groups (50xx, 60xx, 7Fxx,
 * ...), group lengths (gggg,0000 -> UL) and private creators (odd group,
 * element 0010-00FF -> LO). NULL for unknown and for private data elements.
 */
const struct dcm_dict_entry *dcm_dict_find(uint32_t tag);
/* Entry by keyword ("PatientName"), or NULL. */
const struct dcm_dict_entry *dcm_dict_find_keyword(const char *keyword);
/* Private entry for a data element (gggg,xxee) owned by `creator`, or NULL.
 * Only the low byte of the element number is compared (PS3.5 7.8.1). */
const struct dcm_dict_entry *dcm_dict_find_private(const char *creator,
						   uint32_t tag);

/* ---- transfer syntaxes (uid.c) ------------------------------------------ */

struct dcm_ts {
	const char *uid;
	const char *name;      /* "Explicit VR Little Endian" */
	bool explicit_vr;
	bool big_endian;
	bool deflated;
	bool encapsulated;     /* pixel data in fragments */
	bool retired;
};

/* The known transfer syntax with this UID (trailing NUL/space padding is
 * ignored), or NULL. */
const struct dcm_ts *dcm_ts_find(const char *uid, size_t len);
extern const struct dcm_ts dcm_ts_implicit_le; /* 1.2.840.10008.1.2 */
extern const struct dcm_ts dcm_ts_explicit_le; /* 1.2.840.10008.1.2.1 */
extern const struct dcm_ts dcm_ts_explicit_be; /* 1.2.840.10008.1.2.2 */
extern const struct dcm_ts dcm_ts_deflated_le; /* 1.2.840.10008.1.2.1.99 */

/* ---- character sets (charset.c) ----------------------------------------- */

/*
 * The parsed value of Specific Character Set (0008,0005): up to 8 defined
 * terms (several only with ISO 2022 code extensions). n == 0 means the
 * default repertoire (ISO-IR 6). A small value type, copied freely.
 */
#define DCM_CHARSET_MAX 8
struct dcm_charset {
	uint8_t n;
	uint8_t term[DCM_CHARSET_MAX]; /* indexes into charset.c's table */
};

/*
 * Parses the raw bytes of (0008,0005). Unknown defined terms are an error
 * (PC_CHARSET, naming the term); the caller decides whether to fall back.
 */
enum pc_status dcm_charset_parse(struct pc_span value, struct dcm_charset *out,
				 struct pc_err *err) PC_WUR;
/*
 * Appends `in`, encoded in `cs`, to `out` as UTF-8. `vr` selects the rules
 * for ISO 2022 escape resets (PN resets at '^' and '=', every string VR at
 * '\\', CR, LF, TAB, FF). Bytes that cannot be decoded are replaced by
 * U+FFFD and reported through the return value only if `strict`.
 */
enum pc_status dcm_charset_decode(const struct dcm_charset *cs, enum dcm_vr vr,
				  struct pc_span in, bool strict,
				  struct pc_buf *out, struct pc_err *err) PC_WUR;
/*
 * Appends UTF-8 text `in` encoded in `cs`. PC_CHARSET when a character has
 * no encoding in `cs` (the caller may then switch the data set to ISO_IR 192).
 */
enum pc_status dcm_charset_encode(const struct dcm_charset *cs, enum dcm_vr vr,
				  struct pc_span in, struct pc_buf *out,
				  struct pc_err *err) PC_WUR;
/* The defined term of term index `i` of `cs` ("ISO_IR 100"); "" for the
 * default repertoire. */
const char *dcm_charset_term(const struct dcm_charset *cs, size_t i);

/* ---- data model (dataset.c) --------------------------------------------- */

typedef struct dcm_dataset dcm_dataset;
typedef struct dcm_elem dcm_elem;

/* Creates an empty root data set with its own arena. NULL on OOM. */
dcm_dataset *dcm_dataset_create(void) PC_WUR;
/* Frees a root created by dcm_dataset_create (and everything in it).
 * NULL is a no-op; items and file data sets must not be passed here. */
void dcm_dataset_destroy(dcm_dataset *ds);

/* Elements in ascending tag order. */
size_t dcm_dataset_count(const dcm_dataset *ds);
const dcm_elem *dcm_dataset_at(const dcm_dataset *ds, size_t i);
/* Element with this tag or NULL (binary search). */
const dcm_elem *dcm_dataset_find(const dcm_dataset *ds, uint32_t tag);
dcm_elem *dcm_dataset_find_mut(dcm_dataset *ds, uint32_t tag);
/* The character set in force for text in this data set: its own (0008,0005)
 * or the one inherited from the enclosing data set. */
const struct dcm_charset *dcm_dataset_charset(const dcm_dataset *ds);
/* The enclosing data set of an item, NULL for a root. */
const dcm_dataset *dcm_dataset_parent(const dcm_dataset *ds);
/*
 * The private creator of private data element `tag` (gggg,xxee with odd
 * gggg and xx >= 0x10): the value of (gggg,00xx), trimmed, written into
 * `out` (NUL-terminated, truncated to `size`). False if there is none.
 */
bool dcm_dataset_private_creator(const dcm_dataset *ds, uint32_t tag,
				 char *out, size_t size);

uint32_t dcm_elem_tag(const dcm_elem *e);
/* The VR as interpreted: an explicit UN whose tag the dictionary knows
 * reads as the dictionary's VR (SQ included), as pydicom and dcmtk do. */
enum dcm_vr dcm_elem_vr(const dcm_elem *e);
/* The VR as it was encoded in the input (UN for such elements), which the
 * writer keeps so that a file is written back as it was read. */
enum dcm_vr dcm_elem_vr_encoded(const dcm_elem *e);
/* Value length as encoded; DCM_UNDEFINED_LENGTH for SQ and encapsulated
 * pixel data read with undefined length. */
uint32_t dcm_elem_length(const dcm_elem *e);
/* Offset of the element's tag in the parsed input (0 for built elements). */
uint64_t dcm_elem_offset(const dcm_elem *e);
/* Raw value bytes in the element's byte order (see dcm_elem_big_endian).
 * Empty for SQ and encapsulated pixel data. */
struct pc_span dcm_elem_value(const dcm_elem *e);
bool dcm_elem_big_endian(const dcm_elem *e);
/* Value multiplicity: values in the element (0 when empty). Binary numbers:
 * length / size; strings: backslash count + 1; text, bytes: 1; SQ: items. */
size_t dcm_elem_vm(const dcm_elem *e);

/* Sequences: items are data sets whose parent is the element's data set. */
bool dcm_elem_is_sequence(const dcm_elem *e);
size_t dcm_elem_item_count(const dcm_elem *e);
const dcm_dataset *dcm_elem_item(const dcm_elem *e, size_t i);
dcm_dataset *dcm_elem_item_mut(dcm_elem *e, size_t i);
/* Whether the sequence / item i was encoded with undefined length (kept so
 * that a file is written back as it was read). */
bool dcm_elem_undefined_length(const dcm_elem *e);
bool dcm_elem_item_undefined_length(const dcm_elem *e, size_t i);

/* Encapsulated pixel data (PS3.5 A.4): a Basic Offset Table item (may be
 * empty) followed by fragments. */
bool dcm_elem_is_encapsulated(const dcm_elem *e);
struct pc_span dcm_elem_offset_table(const dcm_elem *e);
size_t dcm_elem_fragment_count(const dcm_elem *e);
struct pc_span dcm_elem_fragment(const dcm_elem *e, size_t i);
/* Offset in the input of fragment i's item tag (for frame extraction). */
uint64_t dcm_elem_fragment_offset(const dcm_elem *e, size_t i);

/*
 * Typed value access. `idx` counts values (0-based). Numbers convert
 * between binary (US SS UL SL UV SV FL FD AT) and text (IS DS) VRs where the
 * value fits; PC_NOTFOUND when idx >= VM, PC_PARSE when a text number does
 * not parse, PC_LIMIT when it does not fit, PC_INVAL for other VRs.
 */
enum pc_status dcm_elem_get_int(const dcm_elem *e, size_t idx,
				int64_t *out) PC_WUR;
enum pc_status dcm_elem_get_uint(const dcm_elem *e, size_t idx,
				 uint64_t *out) PC_WUR;
enum pc_status dcm_elem_get_double(const dcm_elem *e, size_t idx,
				   double *out) PC_WUR;
/*
 * Appends value `idx` of a STRING or TEXT element as UTF-8 to `out`,
 * decoded with the character set of `ds` (the data set holding `e`), with
 * the VR's padding and insignificant spaces removed (PS3.5 6.2: leading
 * and trailing for most string VRs, trailing only for text VRs and PN...).
 * Pass idx = SIZE_MAX for the whole value, backslashes included.
 */
enum pc_status dcm_elem_get_string(const dcm_dataset *ds, const dcm_elem *e,
				   size_t idx, struct pc_buf *out) PC_WUR;

/* Convenience: dcm_dataset_find + dcm_elem_get_*. PC_NOTFOUND if absent. */
enum pc_status dcm_dataset_get_int(const dcm_dataset *ds, uint32_t tag,
				   size_t idx, int64_t *out) PC_WUR;
enum pc_status dcm_dataset_get_string(const dcm_dataset *ds, uint32_t tag,
				      size_t idx, struct pc_buf *out) PC_WUR;

/*
 * Mutation. Values are copied into the data set's arena. Binary values are
 * given little endian. dcm_dataset_set replaces an element with the same
 * tag. For text VRs the caller passes already-encoded bytes; an odd length
 * is padded with the VR's pad byte. Setting (0008,0005) updates the
 * character set of this data set and the items below it.
 */
enum pc_status dcm_dataset_set(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
			       const void *value, size_t n) PC_WUR;
/* Sets a text element from a C string (already in the data set's charset). */
enum pc_status dcm_dataset_set_string(dcm_dataset *ds, uint32_t tag,
				      enum dcm_vr vr, const char *s) PC_WUR;
/* Adds (or replaces with) an empty sequence; *out is the new element. */
enum pc_status dcm_dataset_set_sequence(dcm_dataset *ds, uint32_t tag,
					dcm_elem **out) PC_WUR;
/* Appends an empty item to a sequence element; *out is the item. */
enum pc_status dcm_elem_add_item(dcm_elem *seq, dcm_dataset **out) PC_WUR;
/* Adds (or replaces with) encapsulated pixel data with this offset table. */
enum pc_status dcm_dataset_set_encapsulated(dcm_dataset *ds, uint32_t tag,
					    enum dcm_vr vr,
					    struct pc_span offset_table,
					    dcm_elem **out) PC_WUR;
enum pc_status dcm_elem_add_fragment(dcm_elem *e, struct pc_span frag) PC_WUR;
/* Removes the element with this tag; PC_NOTFOUND if there is none. */
enum pc_status dcm_dataset_remove(dcm_dataset *ds, uint32_t tag);

/* ---- reading Part 10 (read.c) ------------------------------------------- */

/* Bounds that turn hostile input into errors instead of exhaustion. */
struct dcm_limits {
	uint32_t max_depth;       /* sequence nesting; default 64 */
	uint32_t max_elements;    /* elements + items in the whole file; 10M */
	uint64_t max_inflated;    /* deflated data set after inflating; 1 GiB */
};
extern const struct dcm_limits dcm_limits_default;

enum dcm_read_flags {
	/* Stop at Pixel Data (7FE0,0010) of the top-level data set; elements
	 * after it are not read. For indexing. */
	DCM_READ_HEADER_ONLY = 1u << 0,
	/* Stop after the File Meta Information. */
	DCM_READ_META_ONLY = 1u << 1,
	/* Turn tolerated deviations (odd value lengths, duplicate tags,
	 * unknown transfer syntax UID, ...) into errors. */
	DCM_READ_STRICT = 1u << 2,
};

struct dcm_read_opts {
	unsigned flags;                   /* enum dcm_read_flags */
	const struct dcm_limits *limits;  /* NULL = dcm_limits_default */
};

typedef struct dcm_file dcm_file;

/*
 * Parses a Part 10 file held in memory: 128-byte preamble + "DICM" + File
 * Meta Information (PS3.10 7.1), or a bare data set without them whose
 * transfer syntax is detected from its first bytes. `data` is borrowed and
 * must outlive the dcm_file (values are slices of it), except for deflated
 * files whose inflated bytes the dcm_file owns. `opts` may be NULL.
 * Returns NULL on error with `err` naming the tag, offset and reason.
 */
dcm_file *dcm_file_parse(const uint8_t *data, size_t n,
			 const struct dcm_read_opts *opts,
			 struct pc_err *err) PC_WUR;
/* Maps `path` read-only and parses it; the dcm_file owns the mapping. */
dcm_file *dcm_file_open(const char *path, const struct dcm_read_opts *opts,
			struct pc_err *err) PC_WUR;
void dcm_file_destroy(dcm_file *f);

/* File Meta Information (group 0002); empty data set for a bare data set. */
const dcm_dataset *dcm_file_meta(const dcm_file *f);
dcm_dataset *dcm_file_meta_mut(dcm_file *f);
dcm_dataset *dcm_file_dataset(dcm_file *f);
/* Transfer syntax of the data set (from the meta, or detected). */
const struct dcm_ts *dcm_file_ts(const dcm_file *f);
/* The 128-byte preamble, or an empty span when the input had none. */
struct pc_span dcm_file_preamble(const dcm_file *f);
/* Whether reading stopped early (header-only / meta-only). */
bool dcm_file_truncated(const dcm_file *f);
/* Tolerated deviations from the standard met while reading, one sentence
 * each naming the tag and offset ("(0010,0010) at offset 342: odd value
 * length 7"). At most 64 are kept. */
size_t dcm_file_warning_count(const dcm_file *f);
const char *dcm_file_warning(const dcm_file *f, size_t i);
/* Offset in the input where the data set starts (after the meta). For
 * deflated files offsets of data set elements count in the inflated data. */
uint64_t dcm_file_dataset_offset(const dcm_file *f);

/* ---- writing Part 10 (write.c) ------------------------------------------ */

struct dcm_write_opts {
	const struct dcm_ts *ts;      /* NULL = explicit VR little endian */
	struct pc_span preamble;      /* 128 bytes, or empty for zeros */
	bool no_preamble;             /* write a bare data set (no meta either) */
};

/*
 * Writes `meta` (may be NULL: one is made from the data set's SOP Class and
 * Instance UIDs) and `ds` as a Part 10 file appended to `out`. The meta's
 * (0002,0000) group length and (0002,0010) transfer syntax are set to match
 * what is written; the rest of the meta is written as given. Sequences and
 * items keep the defined/undefined length encoding they were read with;
 * built ones use undefined length. Reading an explicit VR little endian file
 * and writing it back with its own preamble gives identical bytes.
 * PC_UNSUPPORTED when `ds` holds encapsulated pixel data and opts->ts is not
 * an encapsulated syntax, or the other way round.
 */
enum pc_status dcm_file_write(const dcm_dataset *meta, const dcm_dataset *ds,
			      const struct dcm_write_opts *opts,
			      struct pc_buf *out, struct pc_err *err) PC_WUR;
/* The same, to a file: written to `path`.tmp, fsynced, renamed. */
enum pc_status dcm_file_save(const dcm_dataset *meta, const dcm_dataset *ds,
			     const struct dcm_write_opts *opts,
			     const char *path, struct pc_err *err) PC_WUR;

/* ---- DICOM JSON (json.c) ------------------------------------------------ */

/*
 * Decides how a binary value appears in JSON: return a URI (copied by the
 * caller before the next call) to emit "BulkDataURI", or NULL to emit
 * "InlineBinary". `path` lists the tags from the root down to `e`.
 */
typedef const char *(*dcm_json_bulk_fn)(void *ctx, const uint32_t *path,
					size_t depth, const dcm_elem *e);

struct dcm_json_opts {
	dcm_json_bulk_fn bulk;        /* NULL = everything InlineBinary */
	void *bulk_ctx;
	/* Binary values longer than this go to `bulk` (if set), others are
	 * inlined; 0 = every binary value is offered to `bulk`. */
	size_t bulk_threshold;
	bool pretty;                  /* indented output for people */
	bool skip_group_length;       /* drop (gggg,0000) elements */
};

/*
 * Appends the PS3.18 F.2 JSON object for `ds` to `out`: keys are 8 upper-case
 * hex digits, numbers (IS DS SS US SL UL SV UV FL FD) are JSON numbers, PN
 * values are {"Alphabetic","Ideographic","Phonetic"} objects, AT values are
 * hex strings, text is UTF-8, binary is InlineBinary (base64) or
 * BulkDataURI. `opts` may be NULL.
 */
enum pc_status dcm_json_write(const dcm_dataset *ds,
			      const struct dcm_json_opts *opts,
			      struct pc_buf *out, struct pc_err *err) PC_WUR;
/*
 * Parses DICOM JSON (an object, or an array holding one object) into a new
 * root data set. Text is stored in the character set named by the JSON's
 * (0008,0005) where it can be, else the data set is switched to ISO_IR 192.
 * BulkDataURI values become empty elements unless `resolve` fills them.
 */
typedef enum pc_status (*dcm_json_resolve_fn)(void *ctx, const char *uri,
					      struct pc_buf *value);
dcm_dataset *dcm_json_read(const char *json, size_t n,
			   dcm_json_resolve_fn resolve, void *ctx,
			   struct pc_err *err) PC_WUR;

#endif
