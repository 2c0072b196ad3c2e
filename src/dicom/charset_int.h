/*
 * charset_int.h - charset.c internals that other files of the DICOM module
 * may use. Not part of the API.
 */
#ifndef PACSD_DICOM_CHARSET_INT_H
#define PACSD_DICOM_CHARSET_INT_H

#include "dcm.h"

/*
 * Splits a multi-valued string value `v` at its '\' delimiters (PS3.5 6.2)
 * the way character set `cs` reads the bytes. Returns the number of values
 * (backslash delimiters + 1, so 1 for an empty value) and, when idx is
 * below that and `out` is not NULL, stores value `idx` (a slice of `v`) in
 * *out.
 *
 * Why not memchr: 0x5C is not always a delimiter. While ISO 2022 IR 87 or
 * 159 has a two-byte set in G0 it is half of a character (JIS X 0208 0x245C
 * is hiragana "bo"), and in GBK and GB18030 it may be the second byte of a
 * character. PS3.5 6.1.2.5.3 makes the encoder return to value 1's sets
 * before a delimiter, so each value decodes on its own from the initial
 * state. For every other set this is memchr. `cs` may be NULL (default).
 * Thread-safe; never allocates.
 */
size_t dcm__charset_split(const struct dcm_charset *cs, struct pc_span v,
                          size_t idx, struct pc_span *out);

#endif
