/*
 * pix.h - pixel data: frame access, decoding of every common transfer
 * syntax, the display pipeline (PS3.3 C.11: Modality LUT, VOI LUT,
 * Presentation) and PNG / JPEG output.
 *
 * Files of the module:
 *   desc.c     the Image Pixel Module attributes (PS3.3 C.7.6.3)
 *   frame.c    locating frame N: native slices, encapsulated fragments via
 *              the Basic or Extended Offset Table or by scanning (PS3.5 A.4)
 *   codec.c    the codec registry (transfer syntax -> decoder), decode glue
 *   native.c   native pixel data: 1/8/16/32 bits, masks, sign, planar
 *   color.c    YBR_FULL / YBR_FULL_422 / YBR_PARTIAL_* to RGB
 *   rle.c      RLE Lossless (PS3.5 Annex G), our own
 *   ljpeg.c    JPEG Lossless process 14 and SV1 (ITU T.81 annex H), our own
 *   jpeg.c     JPEG baseline / extended 8-bit through libjpeg-turbo
 *   jpegls.c   JPEG-LS lossless and near-lossless through CharLS
 *   j2k.c      JPEG 2000 through OpenJPEG
 *   lut.c      Modality LUT, VOI LUT / window, palette colour LUTs
 *   render.c   frame -> 8-bit grey or RGB image, resizing
 *   encode.c   8-bit image -> PNG (libspng) or JPEG (libjpeg-turbo)
 *
 * Decoded frames hold every sample as an int32_t, interleaved (R,G,B,R...),
 * masked to Bits Stored and sign-extended when Pixel Representation is 1.
 * One sample type keeps every codec and the LUT pipeline simple; the cost
 * (4 bytes per sample) is paid once per frame, not per pixel operation.
 *
 * Thread-safety: every function is reentrant; nothing here has global
 * state except libraries' own one-time initialisation.
 */
#ifndef PACSD_PIXEL_PIX_H
#define PACSD_PIXEL_PIX_H

#include "../dicom/dcm.h"

enum pix_photometric {
	PIX_PHOTO_UNKNOWN = 0,
	PIX_MONOCHROME1,
	PIX_MONOCHROME2,
	PIX_RGB,
	PIX_PALETTE_COLOR,
	PIX_YBR_FULL,
	PIX_YBR_FULL_422,
	PIX_YBR_PARTIAL_422,
	PIX_YBR_PARTIAL_420,
	PIX_YBR_ICT,
	PIX_YBR_RCT,
};

/* The Image Pixel Module of a data set, plus its transfer syntax. */
struct pix_desc {
	uint32_t rows, cols;
	uint32_t frames;              /* Number of Frames, 1 when absent */
	uint16_t samples;             /* Samples per Pixel: 1 or 3 */
	uint16_t bits_allocated;      /* 1, 8, 16, 32 (64 refused) */
	uint16_t bits_stored;
	uint16_t high_bit;
	bool is_signed;               /* Pixel Representation 1 */
	uint16_t planar;              /* Planar Configuration: 0 or 1 */
	enum pix_photometric photometric;
	const struct dcm_ts *ts;      /* of the data set */
	const dcm_dataset *ds;        /* the data set read (borrowed) */
	const dcm_elem *pixels;       /* its (7FE0,0010) */
};

/*
 * Reads and checks the Image Pixel Module of `ds` (encoded in `ts`); `out`
 * borrows `ds`, which must outlive it. Errors
 * name the attribute: missing Rows, Bits Stored > Bits Allocated, a High
 * Bit that is not Bits Stored - 1, samples other than 1 or 3, native pixel
 * data shorter than rows*cols*samples*bits*frames ...
 */
enum pc_status pix_desc_read(const dcm_dataset *ds, const struct dcm_ts *ts,
			     struct pix_desc *out, struct pc_err *err) PC_WUR;
/* "MONOCHROME2" -> PIX_MONOCHROME2 (trailing spaces ignored). */
enum pix_photometric pix_photometric_parse(struct pc_span value);
const char *pix_photometric_name(enum pix_photometric p);

/* A decoded frame. `data` is owned (pc_free via pix_frame_cleanup). */
struct pix_frame {
	uint32_t rows, cols;
	uint16_t samples;             /* 1 or 3 */
	uint16_t bits_stored;         /* significant bits per sample */
	bool is_signed;
	/* Of the decoded samples: MONOCHROME1/2, RGB (all YBR forms are
	 * converted), or PALETTE_COLOR (indices). */
	enum pix_photometric photometric;
	int32_t *data;                /* rows * cols * samples, interleaved */
};

void pix_frame_cleanup(struct pix_frame *f);

/*
 * Decodes frame `index` (0-based) of the pixel data described by `d` into
 * `out` (which the caller then cleans up). PC_UNSUPPORTED naming the
 * transfer syntax UID for syntaxes without a decoder; PC_PARSE / PC_TRUNC
 * for corrupt codestreams; PC_NOTFOUND for an index past the last frame.
 */
enum pc_status pix_frame_decode(const struct pix_desc *d, uint32_t index,
				struct pix_frame *out,
				struct pc_err *err) PC_WUR;

/* Whether pacsd can decode this transfer syntax. */
bool pix_ts_supported(const struct dcm_ts *ts);

/*
 * The compressed bytes of frame `index` of encapsulated pixel data: a
 * slice of the input when the frame is one fragment, else the fragments
 * joined into `scratch` (and the span points there). Uses the Extended
 * Offset Table (7FE0,0001) when present, the Basic Offset Table when not
 * empty, one fragment per frame when the counts match, and otherwise
 * scans fragments for frame boundaries (JPEG EOI / J2K EOC markers).
 */
enum pc_status pix_frame_bytes(const struct pix_desc *d, uint32_t index,
			       struct pc_buf *scratch, struct pc_span *out,
			       struct pc_err *err) PC_WUR;

/* ---- values for analysis -------------------------------------------------- */

/*
 * Frame values in modality units (PS3.3 C.11.1: Rescale Slope/Intercept,
 * or the Modality LUT Sequence), one per sample: `out` holds rows * cols *
 * samples values. Colour frames are returned as decoded (no LUT applies).
 */
enum pc_status pix_frame_modality_f32(const struct pix_frame *f,
				      const dcm_dataset *ds, float *out,
				      struct pc_err *err) PC_WUR;
enum pc_status pix_frame_modality_i32(const struct pix_frame *f,
				      const dcm_dataset *ds, int32_t *out,
				      struct pc_err *err) PC_WUR;

/* ---- rendering -------------------------------------------------------------- */

enum pix_format { PIX_FORMAT_PNG, PIX_FORMAT_JPEG };

struct pix_render_opts {
	uint32_t frame;               /* 0-based */
	bool window;                  /* use center/width below */
	double center, width;         /* PS3.3 C.11.2.1.2 linear function */
	uint32_t max_w, max_h;        /* fit inside, keeping aspect; 0 = any */
	enum pix_format format;
	int quality;                  /* JPEG 1..100, 0 = 90 */
};

/* An 8-bit image: grey (channels 1) or RGB (channels 3), rows packed. */
struct pix_image {
	uint32_t w, h;
	uint16_t channels;
	uint8_t *data;                /* owned */
};
void pix_image_cleanup(struct pix_image *img);

/*
 * The display pipeline for one frame: Modality LUT, then VOI (the caller's
 * window; else the data set's first Window Center/Width; else its VOI LUT
 * Sequence; else the frame's own min..max), MONOCHROME1 inverted, palette
 * colour expanded to RGB, RGB passed through; then resized to fit
 * max_w x max_h (area averaging when shrinking).
 */
enum pc_status pix_render_image(const dcm_dataset *ds,
				const struct pix_desc *d,
				const struct pix_frame *f,
				const struct pix_render_opts *o,
				struct pix_image *out,
				struct pc_err *err) PC_WUR;
/* Encodes an image as PNG or JPEG, appended to `out`. */
enum pc_status pix_image_encode(const struct pix_image *img,
				enum pix_format format, int quality,
				struct pc_buf *out, struct pc_err *err) PC_WUR;
/* Everything above in one call: data set -> PNG/JPEG bytes. */
enum pc_status pix_render(const dcm_dataset *ds, const struct dcm_ts *ts,
			  const struct pix_render_opts *o, struct pc_buf *out,
			  struct pc_err *err) PC_WUR;

/* ---- transcoding (transcode.c) ------------------------------------------- */

/*
 * Appends frame `index` (0-based) of `d` to `out` as native little endian
 * bytes, laid out as Explicit VR Little Endian Pixel Data holds one frame
 * (PS3.5 8.1.1, 8.2; the "uncompressed" frames of PS3.18 8.7.3.5.2):
 * native syntaxes give the frame's slice (words swapped from big endian,
 * a 1-bit frame moved to start at bit 0, unused bits of its last byte
 * cleared), encapsulated ones the decoded frame packed in Bits Allocated
 * words, interleaved, stored bits from bit 0. `photometric` (may be NULL)
 * receives the interpretation of the bytes: the stored one for native
 * syntaxes, the decoder's (RGB for every YBR form) otherwise. Errors as
 * pix_frame_decode; PC_NOMEM with `out` left as it was (its sticky status
 * set).
 */
enum pc_status pix_frame_native(const struct pix_desc *d, uint32_t index,
				struct pc_buf *out,
				enum pix_photometric *photometric,
				struct pc_err *err) PC_WUR;

/*
 * Appends the instance `f` (read whole, not header-only) to `out` as an
 * Explicit VR Little Endian Part 10 file (PS3.5 A.2), whatever its
 * transfer syntax: native ones (implicit VR, big endian, deflated) are
 * re-encoded; encapsulated ones decoded frame by frame (PC_UNSUPPORTED for
 * syntaxes without a decoder, see pix_ts_supported) with Photometric
 * Interpretation, Planar Configuration and High Bit set to match the
 * native samples and the Extended Offset Table dropped. The preamble, the
 * File Meta Information (but its transfer syntax) and every other
 * attribute are kept.
 * MODIFIES the data set of `f` (pixel attributes, Pixel Data removed): use
 * `f` for nothing else afterwards but dcm_file_destroy. Memory: about the
 * native Pixel Data once (it becomes `out`'s buffer when `out` is empty)
 * plus one decoded frame. PC_LIMIT when the native Pixel Data would not
 * fit a 32-bit length.
 */
enum pc_status pix_transcode_native(dcm_file *f, struct pc_buf *out,
				    struct pc_err *err) PC_WUR;

#endif
