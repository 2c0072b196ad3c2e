/*
 * json_int.h - internals of json.c reachable from its unit tests: the
 * base64 codec (RFC 4648 section 4, the alphabet PS3.18 F.2.7 names for
 * InlineBinary) and the number formatting shared by the writer and reader.
 */
#ifndef PACSD_DICOM_JSON_INT_H
#define PACSD_DICOM_JSON_INT_H

#include "dcm.h"

/* Appends the base64 encoding of `in` (with '=' padding) to `out`. */
void dcm__base64_encode(struct pc_span in, struct pc_buf *out);
/*
 * Appends the bytes `in` (base64, padding optional, ASCII whitespace
 * ignored) decodes to. PC_PARSE on a character outside the alphabet, on
 * data after padding or on a final group of a single character.
 */
enum pc_status dcm__base64_decode(struct pc_span in, struct pc_buf *out) PC_WUR;

/*
 * Shortest text that reads back as the same double (or float when
 * `single`), as a JSON number, into `out` (at least 32 bytes). False for
 * NaN and infinities, which JSON cannot hold.
 */
bool dcm__json_fmt_real(double v, bool single, char *out, size_t size);

/*
 * What dcm__json_fmt_real(strtod(s)) writes for the DS text s[0..n),
 * found without the double when the text is a plain decimal of at most 15
 * significant digits (into `out`, at least 24 bytes); false otherwise.
 */
bool dcm__json_ds_plain(const char *s, size_t n, char *out, size_t size);

#endif
