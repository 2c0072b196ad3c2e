/*
 * vr.c - value representations (PS3.5 6.2, table 6.2-1).
 *
 * A VR code is its two characters packed big-endian. Lookup maps the two
 * letters to a slot of a 26x26 index so that the parser's hot path is two
 * subtractions and a table load.
 */
#include "dcm.h"

#define L(c) ((c) - 'A')
#define SLOT(a, b) (L(a) * 26 + L(b))

enum { NONE, TEXT_PAD = ' ', NUL_PAD = '\0' };

/* vr, name, class, long header, size, swap, pad, charset, max length */
static const struct dcm_vr_info vr_table[] = {
	{0, "??", DCM_VRC_BYTES, 1, 1, 0, NUL_PAD, 0, 0},
	{DCM_VR_AE, "AE", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 0, 16},
	{DCM_VR_AS, "AS", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 0, 4},
	{DCM_VR_AT, "AT", DCM_VRC_NUMBER, 0, 4, 2, NUL_PAD, 0, 0},
	{DCM_VR_CS, "CS", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 0, 16},
	{DCM_VR_DA, "DA", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 0, 8},
	{DCM_VR_DS, "DS", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 0, 16},
	{DCM_VR_DT, "DT", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 0, 26},
	{DCM_VR_FD, "FD", DCM_VRC_NUMBER, 0, 8, 8, NUL_PAD, 0, 0},
	{DCM_VR_FL, "FL", DCM_VRC_NUMBER, 0, 4, 4, NUL_PAD, 0, 0},
	{DCM_VR_IS, "IS", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 0, 12},
	{DCM_VR_LO, "LO", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 1, 64},
	{DCM_VR_LT, "LT", DCM_VRC_TEXT, 0, 0, 0, TEXT_PAD, 1, 10240},
	{DCM_VR_OB, "OB", DCM_VRC_BYTES, 1, 1, 0, NUL_PAD, 0, 0},
	{DCM_VR_OD, "OD", DCM_VRC_BYTES, 1, 8, 8, NUL_PAD, 0, 0},
	{DCM_VR_OF, "OF", DCM_VRC_BYTES, 1, 4, 4, NUL_PAD, 0, 0},
	{DCM_VR_OL, "OL", DCM_VRC_BYTES, 1, 4, 4, NUL_PAD, 0, 0},
	{DCM_VR_OV, "OV", DCM_VRC_BYTES, 1, 8, 8, NUL_PAD, 0, 0},
	{DCM_VR_OW, "OW", DCM_VRC_BYTES, 1, 2, 2, NUL_PAD, 0, 0},
	{DCM_VR_PN, "PN", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 1, 64},
	{DCM_VR_SH, "SH", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 1, 16},
	{DCM_VR_SL, "SL", DCM_VRC_NUMBER, 0, 4, 4, NUL_PAD, 0, 0},
	{DCM_VR_SQ, "SQ", DCM_VRC_SEQUENCE, 1, 0, 0, NUL_PAD, 0, 0},
	{DCM_VR_SS, "SS", DCM_VRC_NUMBER, 0, 2, 2, NUL_PAD, 0, 0},
	{DCM_VR_ST, "ST", DCM_VRC_TEXT, 0, 0, 0, TEXT_PAD, 1, 1024},
	{DCM_VR_SV, "SV", DCM_VRC_NUMBER, 1, 8, 8, NUL_PAD, 0, 0},
	{DCM_VR_TM, "TM", DCM_VRC_STRING, 0, 0, 0, TEXT_PAD, 0, 16},
	{DCM_VR_UC, "UC", DCM_VRC_STRING, 1, 0, 0, TEXT_PAD, 1, 0},
	{DCM_VR_UI, "UI", DCM_VRC_STRING, 0, 0, 0, NUL_PAD, 0, 64},
	{DCM_VR_UL, "UL", DCM_VRC_NUMBER, 0, 4, 4, NUL_PAD, 0, 0},
	{DCM_VR_UN, "UN", DCM_VRC_BYTES, 1, 1, 0, NUL_PAD, 0, 0},
	{DCM_VR_UR, "UR", DCM_VRC_TEXT, 1, 0, 0, TEXT_PAD, 0, 0},
	{DCM_VR_US, "US", DCM_VRC_NUMBER, 0, 2, 2, NUL_PAD, 0, 0},
	{DCM_VR_UT, "UT", DCM_VRC_TEXT, 1, 0, 0, TEXT_PAD, 1, 0},
	{DCM_VR_UV, "UV", DCM_VRC_NUMBER, 1, 8, 8, NUL_PAD, 0, 0},
};

/* Slot of each two-letter code in vr_table; 0 = not a VR. */
static const uint8_t vr_slot[26 * 26] = {
	[SLOT('A', 'E')] = 1,  [SLOT('A', 'S')] = 2,  [SLOT('A', 'T')] = 3,
	[SLOT('C', 'S')] = 4,  [SLOT('D', 'A')] = 5,  [SLOT('D', 'S')] = 6,
	[SLOT('D', 'T')] = 7,  [SLOT('F', 'D')] = 8,  [SLOT('F', 'L')] = 9,
	[SLOT('I', 'S')] = 10, [SLOT('L', 'O')] = 11, [SLOT('L', 'T')] = 12,
	[SLOT('O', 'B')] = 13, [SLOT('O', 'D')] = 14, [SLOT('O', 'F')] = 15,
	[SLOT('O', 'L')] = 16, [SLOT('O', 'V')] = 17, [SLOT('O', 'W')] = 18,
	[SLOT('P', 'N')] = 19, [SLOT('S', 'H')] = 20, [SLOT('S', 'L')] = 21,
	[SLOT('S', 'Q')] = 22, [SLOT('S', 'S')] = 23, [SLOT('S', 'T')] = 24,
	[SLOT('S', 'V')] = 25, [SLOT('T', 'M')] = 26, [SLOT('U', 'C')] = 27,
	[SLOT('U', 'I')] = 28, [SLOT('U', 'L')] = 29, [SLOT('U', 'N')] = 30,
	[SLOT('U', 'R')] = 31, [SLOT('U', 'S')] = 32, [SLOT('U', 'T')] = 33,
	[SLOT('U', 'V')] = 34,
};

static unsigned slot_of(unsigned a, unsigned b)
{
	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
		return 0;
	return vr_slot[SLOT(a, b)];
}

enum dcm_vr dcm_vr_from_chars(uint8_t a, uint8_t b)
{
	return vr_table[slot_of(a, b)].vr;
}

const struct dcm_vr_info *dcm_vr_info(enum dcm_vr vr)
{
	unsigned s = slot_of((unsigned)vr >> 8, (unsigned)vr & 0xFF);

	if (s == 0 || (unsigned)vr > 0xFFFF)
		return NULL;
	return &vr_table[s];
}

const char *dcm_vr_name(enum dcm_vr vr)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);

	return vi != NULL ? vi->name : "??";
}
