/*
 * dict_int.h - the tables behind dict.c, generated into dict_data.c by
 * tools/gen_dict.py. Private to the dictionary and its unit test.
 *
 * Invariants the generator guarantees and tests/unit/test_dict.c checks:
 *   dcm__dict_std[0 .. exact_count)      exact tags (mask 0xFFFFFFFF),
 *                                        strictly ascending by tag;
 *   dcm__dict_std[exact_count .. count)  repeating groups, tag & mask == tag,
 *                                        most specific mask first;
 *   dcm__dict_keyword_index              indexes of every entry with a
 *                                        non-empty keyword, in strcmp order;
 *   dcm__dict_creators                   creator names in memcmp order, each
 *                                        owning dcm__dict_private[first ..
 *                                        first + count), whose entries are
 *                                        grouped in runs of equal mask (most
 *                                        specific first), each run ascending
 *                                        by tag.
 */
#ifndef PACSD_DICOM_DICT_INT_H
#define PACSD_DICOM_DICT_INT_H

#include "dcm.h"

struct dcm__dict_creator {
	const char *name;  /* "GEMS_IDEN_01", as written in (gggg,00xx) */
	uint16_t len;      /* strlen(name) */
	uint16_t first;    /* first entry in dcm__dict_private */
	uint16_t count;    /* entries of this creator */
};

extern const struct dcm_dict_entry dcm__dict_std[];
extern const size_t dcm__dict_exact_count;
extern const size_t dcm__dict_std_count;

extern const uint16_t dcm__dict_keyword_index[];
extern const size_t dcm__dict_keyword_count;

extern const struct dcm_dict_entry dcm__dict_private[];
extern const size_t dcm__dict_private_count;

extern const struct dcm__dict_creator dcm__dict_creators[];
extern const size_t dcm__dict_creator_count;

#endif
