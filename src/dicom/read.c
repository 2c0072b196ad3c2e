/*
 * read.c - Part 10 files (PS3.10 7.1) into the data model.
 *
 * Layout handled:
 *   preamble (128 bytes) "DICM" meta data set   -- the standard form
 *   "DICM" meta data set                        -- preamble missing
 *   meta data set (group 0002) without "DICM"   -- both missing
 *   data set alone                              -- syntax detected
 * The meta is always explicit VR little endian (PS3.10 7.1); the data set
 * is encoded as its Transfer Syntax UID says. A deflated data set (PS3.5
 * A.5) is inflated into a buffer the dcm_file owns, bounded by
 * limits->max_inflated so that a zip bomb is an error, not an OOM.
 *
 * The builder turns parse events into data sets: a stack of open data
 * sets and sequences, bounded by the parser's depth limit.
 */
#include "dicom_int.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_WARNINGS 64

const struct dcm_limits dcm_limits_default = {
	.max_depth = 64,
	.max_elements = 10u * 1000u * 1000u,
	.max_inflated = (uint64_t)1 << 30,
};

struct dcm_file {
	pc_arena *arena;
	dcm_dataset *meta;
	dcm_dataset *ds;
	const struct dcm_ts *ts;
	struct pc_span preamble;
	void *map;                  /* mmap of dcm_file_open, or NULL */
	size_t map_len;
	uint8_t *inflated;          /* deflated data set, inflated */
	uint64_t ds_offset;
	bool truncated;
	const char *warnings[MAX_WARNINGS];
	size_t nwarnings;
};

/* ---- builder ---------------------------------------------------------- */

struct builder {
	dcm_file *f;
	dcm_dataset **ds_stack;     /* open data sets; [0] is the root */
	dcm_elem **seq_stack;       /* open sequences */
	unsigned nds, nseq, cap;
	dcm_elem *pixels;           /* encapsulated element being filled */
	bool implicit;              /* VRs came from the dictionary */
	bool strict;
	enum pc_status oom;
	struct pc_err *err;
};

static dcm_dataset *top(struct builder *b)
{
	return b->ds_stack[b->nds - 1];
}

static void on_warning(void *ctx, uint64_t offset, const char *msg)
{
	struct builder *b = ctx;
	dcm_file *f = b->f;

	(void)offset;
	if (b->strict) {
		pc_err_set(b->err, PC_PARSE, offset, "%s", msg);
		b->oom = PC_PARSE;
		return;
	}
	if (f->nwarnings < MAX_WARNINGS) {
		char *copy = pc_arena_memdup(f->arena, msg, strlen(msg) + 1);

		if (copy != NULL)
			f->warnings[f->nwarnings++] = copy;
	}
}

static enum pc_status nomem(struct builder *b, uint64_t offset)
{
	return pc_err_set(b->err, PC_NOMEM, offset,
			  "out of memory building the data set at offset %llu",
			  (unsigned long long)offset);
}

/* Pixel Representation in force for `ds`: its own, or an ancestor's. */
static bool signed_pixels(const dcm_dataset *ds)
{
	for (; ds != NULL; ds = ds->parent) {
		int64_t v;

		if (dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0103), 0, &v) ==
		    PC_OK)
			return v == 1;
	}
	return false;
}

/*
 * Implicit VR gives no VR: take the dictionary's, settle "US or SS" and
 * "OB or OW" the way PS3.5 A.1 and pydicom do, and look private elements
 * up by their creator.
 */
static enum dcm_vr resolve_vr(struct builder *b, const dcm_dataset *ds,
			      const struct dcm__token *t)
{
	const struct dcm_dict_entry *d;
	char creator[72];

	if (t->vr != DCM_VR_NONE && t->vr != DCM_VR_UN && !b->implicit)
		return t->vr;
	if (t->vr == DCM_VR_NONE || t->vr == DCM_VR_UN) {
		d = dcm_dict_find(t->tag);
		if (d == NULL &&
		    dcm_dataset_private_creator(ds, t->tag, creator,
						sizeof(creator)))
			d = dcm_dict_find_private(creator, t->tag);
		if (d == NULL || d->vr == DCM_VR_NONE || d->vr == DCM_VR_SQ)
			return t->vr == DCM_VR_NONE ? DCM_VR_UN : t->vr;
	} else {
		d = dcm_dict_find(t->tag);
		if (d == NULL)
			return t->vr;
	}
	if (d->vr_alt == DCM_VR_NONE)
		return d->vr;
	if (d->vr_alt == DCM_VR_OW || d->vr == DCM_VR_OW)
		/* PS3.5 A.1: native pixel data in implicit VR is OW. */
		return DCM_VR_OW;
	if (t->tag == DCM_TAG(0x0028, 0x3006)) {
		/* LUT Data: US unless the LUT has entries wider than 8
		 * bits stored as words (PS3.3 C.11.1.1.1); US either way
		 * reads the same bytes. */
		return DCM_VR_US;
	}
	if (d->vr == DCM_VR_US && d->vr_alt == DCM_VR_SS)
		return signed_pixels(ds) ? DCM_VR_SS : DCM_VR_US;
	return d->vr;
}

static dcm_elem *add_elem(struct builder *b, const struct dcm__token *t,
			  enum dcm_vr vr)
{
	dcm_dataset *ds = top(b);
	bool replaced;
	dcm_elem *e = dcm__dataset_add(ds, t->tag, vr, &replaced);

	if (e == NULL)
		return NULL;
	e->length = t->length;
	e->offset = t->offset;
	if (t->big_endian)
		e->flags |= ELEM_BIG_ENDIAN;
	if (t->undefined_length)
		e->flags |= ELEM_UNDEF_LEN;
	if (replaced)
		on_warning(b, t->offset, "duplicate element: the later one is kept");
	return e;
}

static enum pc_status on_element(void *ctx, const struct dcm__token *t)
{
	struct builder *b = ctx;
	enum dcm_vr vr;
	dcm_elem *e;

	if (b->oom != PC_OK)
		return b->oom;
	vr = resolve_vr(b, top(b), t);
	e = add_elem(b, t, vr);
	if (e == NULL)
		return nomem(b, t->offset);
	if (t->vr == DCM_VR_UN && vr != DCM_VR_UN)
		e->vr_enc = DCM_VR_UN;
	e->u.value = t->value;
	if (t->tag == DCM_TAG_SPECIFIC_CHARSET)
		dcm__dataset_update_charset(top(b));
	return b->oom;
}

static enum pc_status on_seq_begin(void *ctx, const struct dcm__token *t)
{
	struct builder *b = ctx;
	dcm_elem *e;

	if (b->nseq >= b->cap)
		return pc_err_set(b->err, PC_LIMIT, t->offset,
				  "sequence nesting too deep");
	e = add_elem(b, t, DCM_VR_SQ);
	if (e == NULL)
		return nomem(b, t->offset);
	if (t->vr == DCM_VR_UN && !b->implicit)
		e->vr_enc = DCM_VR_UN;
	e->flags |= ELEM_SEQUENCE;
	e->u.seq.owner = top(b);
	b->seq_stack[b->nseq++] = e;
	return b->oom;
}

static enum pc_status on_seq_end(void *ctx)
{
	struct builder *b = ctx;

	b->nseq--;
	return PC_OK;
}

static enum pc_status on_item_begin(void *ctx, uint32_t length,
				    uint64_t offset, bool undefined)
{
	struct builder *b = ctx;
	dcm_dataset *item;

	(void)length;
	if (b->nds >= b->cap)
		return pc_err_set(b->err, PC_LIMIT, offset,
				  "sequence nesting too deep");
	item = dcm__dataset_new(b->f->arena, top(b));
	if (item == NULL)
		return nomem(b, offset);
	item->item_undef_len = undefined;
	item->offset = offset;
	if (dcm__seq_push_item(b->seq_stack[b->nseq - 1], item) != PC_OK)
		return nomem(b, offset);
	b->ds_stack[b->nds++] = item;
	return PC_OK;
}

static enum pc_status on_item_end(void *ctx)
{
	struct builder *b = ctx;

	b->nds--;
	return PC_OK;
}

static enum pc_status on_pixel_begin(void *ctx, const struct dcm__token *t)
{
	struct builder *b = ctx;
	dcm_elem *e = add_elem(b, t, t->vr == DCM_VR_NONE ? DCM_VR_OB : t->vr);

	if (e == NULL)
		return nomem(b, t->offset);
	e->flags |= ELEM_ENCAPS;
	e->u.enc.arena = b->f->arena;
	b->pixels = e;
	return PC_OK;
}

static enum pc_status on_fragment(void *ctx, struct pc_span data,
				  uint64_t offset, bool is_offset_table)
{
	struct builder *b = ctx;

	if (is_offset_table) {
		b->pixels->u.enc.bot = data;
		return PC_OK;
	}
	if (dcm__enc_push_frag(b->f->arena, b->pixels, data, offset) != PC_OK)
		return nomem(b, offset);
	return PC_OK;
}

static enum pc_status on_pixel_end(void *ctx)
{
	struct builder *b = ctx;

	b->pixels = NULL;
	return PC_OK;
}

static const struct dcm__parse_cb build_cb = {
	.element = on_element,
	.seq_begin = on_seq_begin,
	.seq_end = on_seq_end,
	.item_begin = on_item_begin,
	.item_end = on_item_end,
	.pixel_begin = on_pixel_begin,
	.fragment = on_fragment,
	.pixel_end = on_pixel_end,
	.warning = on_warning,
};

/* Parses bytes into `root` with the given encoding. */
static enum pc_status build(dcm_file *f, dcm_dataset *root,
			    const struct dcm__parse_in *in, bool strict,
			    size_t *consumed, struct pc_err *err)
{
	struct builder b = {0};
	unsigned cap = in->limits->max_depth + 2;

	b.f = f;
	b.cap = cap;
	b.implicit = !in->explicit_vr;
	b.strict = strict;
	b.err = err;
	b.ds_stack = pc_arena_alloc(f->arena, cap * sizeof(*b.ds_stack));
	b.seq_stack = pc_arena_alloc(f->arena, cap * sizeof(*b.seq_stack));
	if (b.ds_stack == NULL || b.seq_stack == NULL)
		return pc_err_set(err, PC_NOMEM, 0, "out of memory");
	b.ds_stack[b.nds++] = root;
	return dcm__parse(in, &build_cb, &b, consumed, err);
}

/* ---- framing ------------------------------------------------------------ */

/*
 * Guesses the encoding of a data set from its first element (for files
 * without meta): the group number is small in the right byte order, and an
 * explicit VR shows two upper-case letters naming a VR after the tag.
 */
static void detect_encoding(const uint8_t *p, size_t n, bool *explicit_vr,
			    bool *big_endian)
{
	uint16_t g_le, g_be;

	*explicit_vr = true;
	*big_endian = false;
	if (n < 8)
		return;
	g_le = (uint16_t)(p[1] << 8 | p[0]);
	g_be = (uint16_t)(p[0] << 8 | p[1]);
	*big_endian = g_be < g_le;
	*explicit_vr = dcm_vr_from_chars(p[4], p[5]) != DCM_VR_NONE;
}

static enum pc_status inflate_all(dcm_file *f, const uint8_t *p, size_t n,
				  uint64_t max, uint64_t at, size_t *out_n,
				  struct pc_err *err)
{
	z_stream zs;
	size_t cap = n * 4 + 4096, used = 0;
	uint8_t *buf;
	int zr;
	enum pc_status st = PC_OK;

	if (cap > max)
		cap = (size_t)max;
	buf = pc_malloc(cap);
	if (buf == NULL)
		return pc_err_set(err, PC_NOMEM, at, "out of memory inflating");
	memset(&zs, 0, sizeof(zs));
	/* PS3.5 A.5: raw deflate (RFC 1951), no zlib header. */
	if (inflateInit2(&zs, -15) != Z_OK) {
		pc_free(buf);
		return pc_err_set(err, PC_NOMEM, at, "cannot start inflate");
	}
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
	for (;;) {
		if (used == cap) {
			size_t ncap = cap * 2;
			uint8_t *grown;

			if (cap >= max) {
				st = pc_err_set(err, PC_LIMIT, at,
						"at offset %llu: inflated data "
						"set exceeds the limit of %llu "
						"bytes",
						(unsigned long long)at,
						(unsigned long long)max);
				goto out;
			}
			if (ncap > max)
				ncap = (size_t)max;
			grown = pc_realloc(buf, ncap);
			if (grown == NULL) {
				st = pc_err_set(err, PC_NOMEM, at,
						"out of memory inflating");
				goto out;
			}
			buf = grown;
			cap = ncap;
		}
		zs.next_out = buf + used;
		zs.avail_out = (uInt)(cap - used > UINT32_MAX ? UINT32_MAX
							      : cap - used);
		zr = inflate(&zs, Z_NO_FLUSH);
		used = (size_t)(zs.next_out - buf);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && zs.avail_in == 0) {
			st = pc_err_set(err, PC_TRUNC, at,
					"at offset %llu: deflated data set is "
					"truncated",
					(unsigned long long)at);
			goto out;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			st = pc_err_set(err, PC_PARSE, at,
					"at offset %llu: broken deflate stream "
					"(%s)",
					(unsigned long long)at,
					zs.msg != NULL ? zs.msg : "zlib error");
			goto out;
		}
	}
	f->inflated = buf;
	buf = NULL;
	*out_n = used;
out:
	inflateEnd(&zs);
	pc_free(buf);
	return st;
}

static dcm_file *file_new(void)
{
	pc_arena *arena = pc_arena_create(32768);
	dcm_file *f;

	if (arena == NULL)
		return NULL;
	f = pc_arena_alloc(arena, sizeof(*f));
	if (f == NULL) {
		pc_arena_destroy(arena);
		return NULL;
	}
	memset(f, 0, sizeof(*f));
	f->arena = arena;
	f->meta = dcm__dataset_new(arena, NULL);
	f->ds = dcm__dataset_new(arena, NULL);
	if (f->meta == NULL || f->ds == NULL) {
		pc_arena_destroy(arena);
		return NULL;
	}
	return f;
}

static enum pc_status read_meta(dcm_file *f, const uint8_t *data, size_t n,
				size_t *pos, const struct dcm_limits *lim,
				bool strict, struct pc_err *err)
{
	struct dcm__parse_in in = {0};
	size_t consumed = 0;
	bool explicit_vr, big_endian;
	enum pc_status st;

	/* PS3.10 7.1: the meta is explicit VR little endian. Some writers
	 * used implicit VR: detect it rather than misread every length. */
	detect_encoding(data + *pos, n - *pos, &explicit_vr, &big_endian);
	in.p = data + *pos;
	in.n = n - *pos;
	in.base = *pos;
	in.explicit_vr = explicit_vr;
	in.big_endian = false;
	in.flags = DCM__PARSE_META;
	in.limits = lim;
	if (!explicit_vr) {
		struct builder tmp = {.f = f, .strict = strict, .err = err};

		on_warning(&tmp, *pos,
			   "File Meta Information encoded in implicit VR");
		if (tmp.oom != PC_OK)
			return tmp.oom;
	}
	st = build(f, f->meta, &in, strict, &consumed, err);
	*pos += consumed;
	return st;
}

/*
 * Named deviation: the meta announces explicit VR but the data set is
 * implicit, or the other way round (seen from some converters; pydicom
 * reads such files too). The first element tells: trust it, and warn.
 */
static enum pc_status vr_mismatch(dcm_file *f, const struct dcm__parse_in *in,
				  bool *explicit_vr, bool strict,
				  struct pc_err *err)
{
	bool seen_explicit, seen_be;
	struct builder tmp = {.f = f, .strict = strict, .err = err};
	char msg[128];

	if (in->n < 8 || f->ts->big_endian)
		return PC_OK;
	detect_encoding(in->p, in->n, &seen_explicit, &seen_be);
	if (seen_be || seen_explicit == *explicit_vr)
		return PC_OK;
	snprintf(msg, sizeof(msg),
		 "data set is %s VR although the transfer syntax %s says %s",
		 seen_explicit ? "explicit" : "implicit", f->ts->uid,
		 *explicit_vr ? "explicit" : "implicit");
	on_warning(&tmp, in->base, msg);
	*explicit_vr = seen_explicit;
	return tmp.oom;
}

static dcm_file *parse_file(dcm_file *f, const uint8_t *data, size_t n,
			    const struct dcm_read_opts *opts,
			    struct pc_err *err)
{
	static const struct dcm_read_opts no_opts = {0};
	const struct dcm_limits *lim;
	struct dcm__parse_in in = {0};
	size_t pos = 0, consumed = 0;
	bool has_meta = false, explicit_vr, big_endian, strict;
	const dcm_elem *ts_elem;
	enum pc_status st;

	if (opts == NULL)
		opts = &no_opts;
	lim = opts->limits != NULL ? opts->limits : &dcm_limits_default;
	strict = (opts->flags & DCM_READ_STRICT) != 0;
	if (n == 0) {
		pc_err_set(err, PC_TRUNC, 0, "empty input: not a DICOM file");
		goto fail;
	}
	if (n >= 132 && memcmp(data + 128, "DICM", 4) == 0) {
		f->preamble = pc_span_make(data, 128);
		pos = 132;
		has_meta = true;
	} else if (n >= 4 && memcmp(data, "DICM", 4) == 0) {
		pos = 4;
		has_meta = true;
	} else if (n >= 8 && data[0] == 0x02 && data[1] == 0x00) {
		/* Group 0002 without preamble and prefix. */
		has_meta = true;
	}
	if (has_meta) {
		st = read_meta(f, data, n, &pos, lim, strict, err);
		if (st != PC_OK)
			goto fail;
	}
	if (opts->flags & DCM_READ_META_ONLY) {
		f->truncated = true;
		f->ds_offset = pos;
		return f;
	}

	ts_elem = dcm_dataset_find(f->meta, DCM_TAG_TRANSFER_SYNTAX);
	if (ts_elem != NULL) {
		struct pc_span v = dcm_elem_value(ts_elem);

		f->ts = dcm_ts_find((const char *)v.p, v.n);
		if (f->ts == NULL) {
			char msg[128];
			int len = (int)(v.n > 64 ? 64 : v.n);
			struct builder tmp = {.f = f, .strict = strict,
					      .err = err};

			snprintf(msg, sizeof(msg),
				 "unknown Transfer Syntax UID '%.*s': encoding "
				 "detected from the data",
				 len, (const char *)v.p);
			on_warning(&tmp, dcm_elem_offset(ts_elem), msg);
			if (tmp.oom != PC_OK)
				goto fail;
		}
	} else if (has_meta && pos < n) {
		struct builder tmp = {.f = f, .strict = strict, .err = err};

		on_warning(&tmp, pos,
			   "no Transfer Syntax UID in the meta: encoding "
			   "detected from the data");
		if (tmp.oom != PC_OK)
			goto fail;
	}
	f->ds_offset = pos;
	if (f->ts != NULL && f->ts->deflated) {
		size_t inflated_n = 0;

		st = inflate_all(f, data + pos, n - pos, lim->max_inflated, pos,
				 &inflated_n, err);
		if (st != PC_OK)
			goto fail;
		in.p = f->inflated;
		in.n = inflated_n;
		in.base = 0;
		explicit_vr = true;
		big_endian = false;
	} else {
		in.p = data + pos;
		in.n = n - pos;
		in.base = pos;
		if (f->ts != NULL) {
			explicit_vr = f->ts->explicit_vr;
			big_endian = f->ts->big_endian;
			if (vr_mismatch(f, &in, &explicit_vr, strict, err) !=
			    PC_OK)
				goto fail;
		} else {
			detect_encoding(in.p, in.n, &explicit_vr, &big_endian);
			f->ts = !explicit_vr   ? &dcm_ts_implicit_le
				: big_endian   ? &dcm_ts_explicit_be
					       : &dcm_ts_explicit_le;
		}
	}
	if (!has_meta && in.n > 0 && in.n < 8) {
		pc_err_set(err, PC_TRUNC, 0,
			   "%zu bytes: too short to be a DICOM data set", n);
		goto fail;
	}
	in.explicit_vr = explicit_vr;
	in.big_endian = big_endian;
	in.limits = lim;
	if (opts->flags & DCM_READ_HEADER_ONLY)
		in.flags |= DCM__PARSE_STOP_AT_PIXELS;
	st = build(f, f->ds, &in, strict, &consumed, err);
	if (st != PC_OK && !has_meta && dcm_dataset_count(f->ds) == 0 &&
	    err != NULL) {
		/* Nothing parsed and no "DICM": say what the input is not
		 * before the detail of where the guess failed. */
		static const char prefix[] = "not a DICOM file: ";
		size_t keep = sizeof(err->msg) - sizeof(prefix);

		memmove(err->msg + sizeof(prefix) - 1, err->msg, keep);
		err->msg[sizeof(err->msg) - 1] = '\0';
		memcpy(err->msg, prefix, sizeof(prefix) - 1);
	}
	if (st != PC_OK)
		goto fail;
	f->truncated = consumed < in.n;
	if (!has_meta && dcm_dataset_count(f->ds) == 0) {
		pc_err_set(err, PC_PARSE, 0, "no DICOM data set found");
		goto fail;
	}
	return f;
fail:
	dcm_file_destroy(f);
	return NULL;
}

dcm_file *dcm_file_parse(const uint8_t *data, size_t n,
			 const struct dcm_read_opts *opts, struct pc_err *err)
{
	dcm_file *f = file_new();

	if (f == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	return parse_file(f, data, n, opts, err);
}

dcm_file *dcm_file_open(const char *path, const struct dcm_read_opts *opts,
			struct pc_err *err)
{
	struct stat sb;
	void *map = NULL;
	int fd;
	dcm_file *f = NULL;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pc_err_set(err, PC_IO, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) != 0) {
		pc_err_set(err, PC_IO, 0, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		pc_err_set(err, PC_IO, 0, "not a regular file");
		goto out;
	}
	if (sb.st_size == 0) {
		pc_err_set(err, PC_TRUNC, 0, "empty file: not a DICOM file");
		goto out;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		pc_err_set(err, PC_IO, 0, "cannot map: %s", strerror(errno));
		goto out;
	}
	f = file_new();
	if (f == NULL) {
		munmap(map, (size_t)sb.st_size);
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		goto out;
	}
	f->map = map;
	f->map_len = (size_t)sb.st_size;
	f = parse_file(f, map, (size_t)sb.st_size, opts, err);
out:
	close(fd);
	return f;
}

void dcm_file_destroy(dcm_file *f)
{
	if (f == NULL)
		return;
	if (f->map != NULL)
		munmap(f->map, f->map_len);
	pc_free(f->inflated);
	pc_arena_destroy(f->arena);
}

const dcm_dataset *dcm_file_meta(const dcm_file *f) { return f->meta; }
dcm_dataset *dcm_file_meta_mut(dcm_file *f) { return f->meta; }
dcm_dataset *dcm_file_dataset(dcm_file *f) { return f->ds; }
const struct dcm_ts *dcm_file_ts(const dcm_file *f) { return f->ts; }
struct pc_span dcm_file_preamble(const dcm_file *f) { return f->preamble; }
bool dcm_file_truncated(const dcm_file *f) { return f->truncated; }
uint64_t dcm_file_dataset_offset(const dcm_file *f) { return f->ds_offset; }
size_t dcm_file_warning_count(const dcm_file *f) { return f->nwarnings; }

const char *dcm_file_warning(const dcm_file *f, size_t i)
{
	return i < f->nwarnings ? f->warnings[i] : NULL;
}
