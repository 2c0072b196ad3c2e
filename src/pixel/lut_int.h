/*
 * lut_int.h - the grey-scale and palette transforms of PS3.3 C.11 and
 * C.7.9, shared by lut.c (which reads them from a data set) and render.c
 * (which applies them). Not part of the API.
 *
 * The pipeline for monochrome frames, in the order of PS3.4 N.2.1.1:
 *   stored value --Modality LUT--> modality value (HU, ...)
 *                --VOI LUT------> fraction 0..1 of the display range
 *                --Presentation-> inverted for MONOCHROME1
 * The VOI stage is expressed as a fraction so that one definition serves
 * every output depth; render.c multiplies by 255 and rounds.
 */
#ifndef PACSD_PIXEL_LUT_INT_H
#define PACSD_PIXEL_LUT_INT_H

#include "pixel_int.h"

#include <math.h>

/* A lookup table from a LUT Descriptor + LUT Data pair (PS3.3 C.11.1.1.1):
 * input values below `first` map to entry 0, above the last to entry n-1. */
struct pix__lut {
	uint32_t n;        /* entries: 1..65536 (descriptor value 0 = 65536) */
	int32_t first;     /* first input value mapped */
	uint16_t bits;     /* bits per entry, from the descriptor: 1..16 */
	uint16_t *data;    /* n entries, owned */
};

static inline uint16_t pix__lut_at(const struct pix__lut *l, double x)
{
	/* Integer inputs index directly; a fractional one (a VOI LUT after
	 * a fractional rescale) takes the nearest entry. */
	double i = floor(x - (double)l->first + 0.5);

	if (!(i > 0))
		return l->data[0];
	if (i >= (double)(l->n - 1))
		return l->data[l->n - 1];
	return l->data[(uint32_t)i];
}

/*
 * Sample `v` of frame `f` as a number: frames hold int32_t, so unsigned
 * 32-bit samples above INT32_MAX arrive as their bit pattern.
 */
static inline bool pix__frame_u32(const struct pix_frame *f)
{
	return !f->is_signed && f->bits_stored > 31;
}
static inline int64_t pix__sample(const struct pix_frame *f, int32_t v)
{
	return pix__frame_u32(f) ? (int64_t)(uint32_t)v : (int64_t)v;
}

/* PS3.3 C.11.1: Rescale Slope/Intercept, or a Modality LUT. */
struct pix__modality {
	bool has_lut;            /* Modality LUT Sequence present */
	struct pix__lut lut;
	double slope, intercept; /* 1 and 0 when absent */
};

static inline double pix__modality_apply(const struct pix__modality *m,
					 double x)
{
	if (m->has_lut)
		return pix__lut_at(&m->lut, x);
	return x * m->slope + m->intercept;
}

enum pix__voi_kind {
	PIX__VOI_NONE,    /* nothing in the data set: min..max of the frame */
	PIX__VOI_WINDOW,  /* Window Center / Width and a VOI LUT Function */
	PIX__VOI_LUT,     /* VOI LUT Sequence, first item */
	PIX__VOI_MINMAX,  /* the range lo..hi mapped linearly (render.c) */
};

enum pix__voi_func {
	PIX__VOI_LINEAR,       /* PS3.3 C.11.2.1.2.1 */
	PIX__VOI_LINEAR_EXACT, /* PS3.3 C.11.2.1.3.2 */
	PIX__VOI_SIGMOID,      /* PS3.3 C.11.2.1.3.1 */
};

struct pix__voi {
	enum pix__voi_kind kind;
	enum pix__voi_func func;
	double center, width;    /* WINDOW */
	struct pix__lut lut;     /* LUT */
	double lo, hi;           /* MINMAX */
};

/* The VOI transform of modality value x, as a fraction 0..1. */
double pix__voi_apply(const struct pix__voi *v, double x);

/* A palette expanded to 8-bit RGB triplets (PS3.3 C.7.6.3.1.5-6, C.7.9). */
struct pix__palette {
	uint32_t n[3];      /* entries of the red, green, blue tables */
	int32_t first[3];   /* first index mapped, per table */
	uint8_t *rgb[3];    /* n[c] 8-bit entries each, owned */
};

/*
 * Reads the Modality LUT of `ds` for frame `frame` (0-based; UINT32_MAX
 * for "no particular frame": only the top level and the Shared Functional
 * Groups are consulted). `is_signed` is the Pixel Representation, which
 * decides how an ambiguous first mapped value is read. Errors name the
 * attribute (PC_PARSE) or PC_NOMEM. Clean up with pix__modality_cleanup.
 */
enum pc_status pix__modality_init(struct pix__modality *m,
				  const dcm_dataset *ds, uint32_t frame,
				  bool is_signed, struct pc_err *err);
void pix__modality_cleanup(struct pix__modality *m);
/* The smallest and largest modality value of stored values lo..hi. */
void pix__modality_range(const struct pix__modality *m, int64_t lo,
			 int64_t hi, double *out_lo, double *out_hi);

/*
 * Reads the VOI transform: the caller's window if `o` asks for one (always
 * LINEAR: the data set's VOI LUT Function describes the data set's
 * windows), else the data set's first Window Center/Width with its VOI
 * LUT Function, else its VOI LUT Sequence, else kind NONE. `in_lo`/`in_hi` bound the modality values (to read an
 * ambiguous first mapped value). A data set window that PS3.3 forbids
 * (width < 1 for LINEAR, <= 0 otherwise) or a malformed VOI LUT is
 * skipped; a caller's bad window is PC_INVAL.
 */
enum pc_status pix__voi_init(struct pix__voi *v, const dcm_dataset *ds,
			     uint32_t frame, const struct pix_render_opts *o,
			     double in_lo, double in_hi, struct pc_err *err);
void pix__voi_cleanup(struct pix__voi *v);

/* Reads and expands the Palette Color LUTs; PC_PARSE naming the attribute
 * when they are missing or malformed. */
enum pc_status pix__palette_init(struct pix__palette *p, const dcm_dataset *ds,
				 bool is_signed, struct pc_err *err);
void pix__palette_cleanup(struct pix__palette *p);

/*
 * Expands Segmented Palette Color LUT Data (PS3.3 C.7.9.2): `units` are the
 * data's 8- or 16-bit words; at most `max` entries are written to `out`;
 * *count receives how many. PC_PARSE for an unknown segment type, a
 * segment running past the data, a linear or indirect segment with no
 * previous value, or indirection nested too deep.
 */
enum pc_status pix__segmented_expand(const uint16_t *units, size_t n_units,
				     bool byte_units, uint16_t *out,
				     size_t max, size_t *count,
				     struct pc_err *err);

#endif
