/*
 * pixel_int.h - internals of the pixel module shared between its files.
 * Not part of the API: other modules use pix.h.
 */
#ifndef PACSD_PIXEL_INT_H
#define PACSD_PIXEL_INT_H

#include "pix.h"

/*
 * A decoder of one compressed frame. The caller has filled `out` from the
 * descriptor and allocated out->data for rows * cols * samples int32_t
 * samples. The decoder writes them interleaved, masked to Bits Stored and
 * sign-extended when d->is_signed, checks that the codestream's size,
 * components and precision match `d` (an error naming both otherwise),
 * and sets out->photometric when the codec itself converted colour (for
 * example libjpeg's YCbCr -> RGB). It never reads outside `in`.
 */
typedef enum pc_status (*pix__decode_fn)(const struct pix_desc *d,
					 struct pc_span in,
					 struct pix_frame *out,
					 struct pc_err *err);

/* Zeroes `f` and copies the frame shape (size, samples, bits, sign,
 * photometric) from `d`; the caller allocates f->data. */
void pix__frame_shape(struct pix_frame *f, const struct pix_desc *d);

/*
 * Native (uncompressed) samples of one frame (native.c). `in` holds the
 * frame's bytes starting at bit `bit_offset` of in.p[0] (only Bits
 * Allocated 1 frames start inside a byte). `big_endian` tells the byte
 * order of the words. Handles Planar Configuration 1.
 */
enum pc_status pix__decode_native(const struct pix_desc *d, struct pc_span in,
				  unsigned bit_offset, bool big_endian,
				  struct pix_frame *out, struct pc_err *err);

enum pc_status pix__decode_rle(const struct pix_desc *d, struct pc_span in,
			       struct pix_frame *out, struct pc_err *err);
enum pc_status pix__decode_jpeg(const struct pix_desc *d, struct pc_span in,
				struct pix_frame *out, struct pc_err *err);
enum pc_status pix__decode_ljpeg(const struct pix_desc *d, struct pc_span in,
				 struct pix_frame *out, struct pc_err *err);
enum pc_status pix__decode_jpegls(const struct pix_desc *d, struct pc_span in,
				  struct pix_frame *out, struct pc_err *err);
enum pc_status pix__decode_j2k(const struct pix_desc *d, struct pc_span in,
			       struct pix_frame *out, struct pc_err *err);

/*
 * color.c: converts a frame whose photometric is one of the YBR forms to
 * RGB in place (PS3.3 C.7.6.3.1.2; full range for YBR_FULL*, ITU-R BT.601
 * studio range for YBR_PARTIAL_*), clamped to the sample range. ICT and
 * RCT frames are converted by their codec, so they never reach here.
 */
void pix__ybr_to_rgb(struct pix_frame *f);

#endif
