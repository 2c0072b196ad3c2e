/*
 * qry_int.h - internals shared by the query module's files: UTF-8 helpers
 * and the DA/TM/DT validation that both the parser (qry.c, checking query
 * values) and the matcher (match.c, normalising stored values) need.
 */
#ifndef PACSD_QUERY_QRY_INT_H
#define PACSD_QUERY_QRY_INT_H

#include "qry.h"

/* Room for the longest normalised form, DT "YYYYMMDDHHMMSS.FFFFFF", + NUL. */
#define QRY__NORM_SIZE 32

/*
 * Validates `n` bytes at `s` as a DA, TM or DT value (PS3.5 6.2: DA
 * YYYYMMDD; TM HH[MM[SS[.F{1,6}]]]; DT YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]]
 * with an optional &ZZXX offset) and writes its fixed-width comparison form
 * to `out`: DA "YYYYMMDD", TM "HHMMSS.FFFFFF", DT "YYYYMMDDHHMMSS.FFFFFF"
 * (the DT offset is dropped: values are compared as given). Missing trailing
 * components are filled with `fill` ('0' for a value or a lower bound, '9'
 * for an upper bound, so that "10" as an upper bound covers 10:59:59.999999).
 * With `lenient`, the ACR-NEMA forms a stored value may still have are
 * accepted too (DA "YYYY.MM.DD", TM with ':' separators). False when `s` is
 * malformed or `vr` is none of the three.
 */
bool qry__dt_norm(enum dcm_vr vr, const char *s, size_t n, char fill,
		  bool lenient, char out[QRY__NORM_SIZE]);

/* Whether `n` bytes at `s` are well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
bool qry__utf8_valid(const char *s, size_t n);

#endif
