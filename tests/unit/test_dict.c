/*
 * test_dict.c - the PS3.6 data dictionary: standard, repeating-group,
 * group-length, private-creator and private lookups, keywords, and the
 * invariants of the generated tables (dict_int.h) that the binary searches
 * rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dicom/dict_int.h"

static int popcount32(uint32_t x)
{
	return __builtin_popcount(x);
}

static void test_patient_name(void **state)
{
	const struct dcm_dict_entry *e = dcm_dict_find(DCM_TAG(0x0010, 0x0010));

	(void)state;
	assert_non_null(e);
	assert_int_equal(e->tag, DCM_TAG(0x0010, 0x0010));
	assert_int_equal(e->mask, 0xFFFFFFFFu);
	assert_int_equal(e->vr, DCM_VR_PN);
	assert_int_equal(e->vr_alt, DCM_VR_NONE);
	assert_string_equal(e->keyword, "PatientName");
	assert_string_equal(e->name, "Patient's Name");
	assert_string_equal(e->vm, "1");
	assert_false(e->retired);
}

static void test_multi_vr(void **state)
{
	const struct dcm_dict_entry *e;

	(void)state;
	e = dcm_dict_find(DCM_TAG_PIXEL_DATA);
	assert_non_null(e);
	assert_string_equal(e->keyword, "PixelData");
	assert_int_equal(e->vr, DCM_VR_OB);
	assert_int_equal(e->vr_alt, DCM_VR_OW);

	/* "US or SS" */
	e = dcm_dict_find(DCM_TAG(0x0028, 0x0106));
	assert_non_null(e);
	assert_string_equal(e->keyword, "SmallestImagePixelValue");
	assert_int_equal(e->vr, DCM_VR_US);
	assert_int_equal(e->vr_alt, DCM_VR_SS);

	/* "US or SS or OW" keeps the first two. */
	e = dcm_dict_find(DCM_TAG(0x0028, 0x1200));
	assert_non_null(e);
	assert_string_equal(e->keyword, "GrayLookupTableData");
	assert_int_equal(e->vr, DCM_VR_US);
	assert_int_equal(e->vr_alt, DCM_VR_SS);
	assert_true(e->retired);

	/* "US or OW" */
	e = dcm_dict_find(DCM_TAG(0x0028, 0x3006));
	assert_non_null(e);
	assert_string_equal(e->keyword, "LUTData");
	assert_int_equal(e->vr, DCM_VR_US);
	assert_int_equal(e->vr_alt, DCM_VR_OW);

	/* Items and delimiters have no VR (pydicom "NONE"). */
	e = dcm_dict_find(DCM_TAG_ITEM);
	assert_non_null(e);
	assert_string_equal(e->keyword, "Item");
	assert_int_equal(e->vr, DCM_VR_NONE);
	e = dcm_dict_find(DCM_TAG_SEQ_DELIM);
	assert_non_null(e);
	assert_string_equal(e->keyword, "SequenceDelimitationItem");

	/* Multi-valued VM strings. */
	e = dcm_dict_find(DCM_TAG(0x0020, 0x0037));
	assert_non_null(e);
	assert_string_equal(e->keyword, "ImageOrientationPatient");
	assert_string_equal(e->vm, "6");
	assert_int_equal(e->vr, DCM_VR_DS);
}

static void test_repeating_groups(void **state)
{
	const struct dcm_dict_entry *e;

	(void)state;
	e = dcm_dict_find(DCM_TAG(0x6002, 0x3000));
	assert_non_null(e);
	assert_string_equal(e->keyword, "OverlayData");
	assert_int_equal(e->tag, DCM_TAG(0x6000, 0x3000));
	assert_int_equal(e->mask, 0xFF00FFFFu);
	assert_int_equal(e->vr, DCM_VR_OB);
	assert_int_equal(e->vr_alt, DCM_VR_OW);
	assert_false(e->retired);

	e = dcm_dict_find(DCM_TAG(0x6000, 0x0010));
	assert_non_null(e);
	assert_string_equal(e->keyword, "OverlayRows");

	e = dcm_dict_find(DCM_TAG(0x5004, 0x0005));
	assert_non_null(e);
	assert_string_equal(e->keyword, "CurveDimensions");
	assert_true(e->retired);

	/* 7Fxx,0010 is Variable Pixel Data, but (7FE0,0010) is exact. */
	e = dcm_dict_find(DCM_TAG(0x7F02, 0x0010));
	assert_non_null(e);
	assert_string_equal(e->keyword, "VariablePixelData");
	e = dcm_dict_find(DCM_TAG(0x7FE0, 0x0010));
	assert_non_null(e);
	assert_string_equal(e->keyword, "PixelData");

	/* Masks in the element number: 1000xxx3, 1010xxxx, 002804x2. */
	e = dcm_dict_find(DCM_TAG(0x1000, 0x1233));
	assert_non_null(e);
	assert_string_equal(e->keyword, "HuffmanTableTriplet");
	e = dcm_dict_find(DCM_TAG(0x1010, 0xABCD));
	assert_non_null(e);
	assert_string_equal(e->keyword, "ZonalMap");
	e = dcm_dict_find(DCM_TAG(0x0028, 0x0432));
	assert_non_null(e);
	assert_string_equal(e->keyword, "CoefficientCoding");

	/* Odd groups are private even where the mask would match. */
	assert_null(dcm_dict_find(DCM_TAG(0x6001, 0x3000)));
	assert_null(dcm_dict_find(DCM_TAG(0x5001, 0x0005)));
}

static void test_group_length(void **state)
{
	const struct dcm_dict_entry *e;
	const struct dcm_dict_entry *g;

	(void)state;
	g = dcm_dict_find(DCM_TAG(0x0009, 0x0000));
	assert_non_null(g);
	assert_int_equal(g->vr, DCM_VR_UL);
	assert_string_equal(g->keyword, "");
	assert_string_equal(g->name, "Group Length");

	e = dcm_dict_find(DCM_TAG(0x0010, 0x0000));
	assert_ptr_equal(e, g);
	/* Not claimed by the 1010,xxxx Zonal Map repeater. */
	e = dcm_dict_find(DCM_TAG(0x1010, 0x0000));
	assert_ptr_equal(e, g);
	e = dcm_dict_find(DCM_TAG(0x6000, 0x0000));
	assert_ptr_equal(e, g);

	/* Real dictionary entries win. */
	e = dcm_dict_find(DCM_TAG(0x0002, 0x0000));
	assert_non_null(e);
	assert_string_equal(e->keyword, "FileMetaInformationGroupLength");
	assert_int_equal(e->vr, DCM_VR_UL);
	e = dcm_dict_find(DCM_TAG(0x0000, 0x0000));
	assert_non_null(e);
	assert_string_equal(e->keyword, "CommandGroupLength");
}

static void test_private_creator_element(void **state)
{
	const struct dcm_dict_entry *e;

	(void)state;
	e = dcm_dict_find(DCM_TAG(0x0009, 0x0010));
	assert_non_null(e);
	assert_int_equal(e->vr, DCM_VR_LO);
	assert_string_equal(e->name, "Private Creator");
	assert_string_equal(e->keyword, "");
	assert_ptr_equal(dcm_dict_find(DCM_TAG(0x0029, 0x00FF)), e);
	assert_ptr_equal(dcm_dict_find(DCM_TAG(0xFFFD, 0x0010)), e);

	/* Private data elements need their creator. */
	assert_null(dcm_dict_find(DCM_TAG(0x0009, 0x1001)));
	assert_null(dcm_dict_find(DCM_TAG(0x0029, 0x1010)));
	/* Not creators: (gggg,0001-000F), (gggg,0100-0FFF). */
	assert_null(dcm_dict_find(DCM_TAG(0x0009, 0x0001)));
	assert_null(dcm_dict_find(DCM_TAG(0x0009, 0x0100)));
	/* Groups 0001-0007 and FFFF are not private (PS3.5 7.8.1). */
	assert_null(dcm_dict_find(DCM_TAG(0x0003, 0x0010)));
	assert_null(dcm_dict_find(DCM_TAG(0xFFFF, 0x0010)));
}

static void test_private(void **state)
{
	const struct dcm_dict_entry *e;

	(void)state;
	/* GEMS_IDEN_01 (0009,xx01) in any block. */
	e = dcm_dict_find_private("GEMS_IDEN_01", DCM_TAG(0x0009, 0x1001));
	assert_non_null(e);
	assert_string_equal(e->name, "Full fidelity");
	assert_int_equal(e->vr, DCM_VR_LO);
	assert_int_equal(e->tag, DCM_TAG(0x0009, 0x0001));
	assert_int_equal(e->mask, 0xFFFF00FFu);
	assert_string_equal(e->keyword, "");
	assert_ptr_equal(
		dcm_dict_find_private("GEMS_IDEN_01", DCM_TAG(0x0009, 0x2301)),
		e);
	/* Padding of the LO value is not significant. */
	assert_ptr_equal(
		dcm_dict_find_private("GEMS_IDEN_01  ", DCM_TAG(0x0009, 0x1001)),
		e);
	assert_ptr_equal(
		dcm_dict_find_private(" GEMS_IDEN_01", DCM_TAG(0x0009, 0x1001)),
		e);
	/* Case and the rest of the name are. */
	assert_null(dcm_dict_find_private("gems_iden_01", DCM_TAG(0x0009, 0x1001)));
	assert_null(dcm_dict_find_private("GEMS_IDEN_0", DCM_TAG(0x0009, 0x1001)));
	assert_null(dcm_dict_find_private("GEMS_IDEN_011", DCM_TAG(0x0009, 0x1001)));
	/* Wrong group or element, unknown creator, NULL. */
	assert_null(dcm_dict_find_private("GEMS_IDEN_01", DCM_TAG(0x0011, 0x1001)));
	assert_null(dcm_dict_find_private("GEMS_IDEN_01", DCM_TAG(0x0009, 0x10FE)));
	assert_null(dcm_dict_find_private("NO SUCH CREATOR", DCM_TAG(0x0009, 0x1001)));
	assert_null(dcm_dict_find_private("", DCM_TAG(0x0009, 0x1001)));
	assert_null(dcm_dict_find_private(NULL, DCM_TAG(0x0009, 0x1001)));

	e = dcm_dict_find_private("SIEMENS CSA HEADER", DCM_TAG(0x0029, 0x1010));
	assert_non_null(e);
	assert_int_equal(e->vr, DCM_VR_OB);

	/* Private "OB_OW" is read like "OB or OW". */
	e = dcm_dict_find_private("TOSHIBA_MEC_OT3", DCM_TAG(0x7019, 0x1080));
	assert_non_null(e);
	assert_int_equal(e->vr, DCM_VR_OB);
	assert_int_equal(e->vr_alt, DCM_VR_OW);

	/* Group wildcards: DLX_LKUP_01 (60xx,xx01). */
	e = dcm_dict_find_private("DLX_LKUP_01", DCM_TAG(0x6002, 0x1101));
	assert_non_null(e);
	assert_int_equal(e->mask, 0xFF0000FFu);
	assert_string_equal(e->vm, "3");

	/* GDCM's "PMTF INFORMATION DATA^10" is the creator reserved at block
	 * 10: element (0019,1001) differs from (0019,1101) of block 11, and
	 * block-bound entries win over the creator's (gggg,xxee) ones. */
	e = dcm_dict_find_private("PMTF INFORMATION DATA",
				  DCM_TAG(0x0019, 0x1001));
	assert_non_null(e);
	assert_int_equal(e->mask, 0xFFFFFFFFu);
	assert_int_equal(e->tag, DCM_TAG(0x0019, 0x1001));
	assert_int_equal(e->vr, DCM_VR_UL);
	e = dcm_dict_find_private("PMTF INFORMATION DATA",
				  DCM_TAG(0x0019, 0x1202));
	assert_non_null(e);
	assert_int_equal(e->tag, DCM_TAG(0x0019, 0x1202));
}

static void test_keyword(void **state)
{
	static const struct {
		const char *kw;
		uint32_t tag;
	} cases[] = {
		{"PatientName", DCM_TAG(0x0010, 0x0010)},
		{"PatientID", DCM_TAG(0x0010, 0x0020)},
		{"StudyInstanceUID", DCM_TAG(0x0020, 0x000D)},
		{"SOPClassUID", DCM_TAG(0x0008, 0x0016)},
		{"TransferSyntaxUID", DCM_TAG(0x0002, 0x0010)},
		{"PixelData", DCM_TAG(0x7FE0, 0x0010)},
		{"SpecificCharacterSet", DCM_TAG(0x0008, 0x0005)},
		{"CommandGroupLength", DCM_TAG(0x0000, 0x0000)},
		{"OverlayData", DCM_TAG(0x6000, 0x3000)},
		{"ZonalMap", DCM_TAG(0x1010, 0x0000)},
		{"SequenceDelimitationItem", DCM_TAG(0xFFFE, 0xE0DD)},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcm_dict_entry *e = dcm_dict_find_keyword(cases[i].kw);

		assert_non_null(e);
		assert_string_equal(e->keyword, cases[i].kw);
		assert_int_equal(e->tag, cases[i].tag);
	}
	assert_null(dcm_dict_find_keyword("patientname"));
	assert_null(dcm_dict_find_keyword("PatientName "));
	assert_null(dcm_dict_find_keyword("PatientNam"));
	assert_null(dcm_dict_find_keyword("NoSuchKeyword"));
	assert_null(dcm_dict_find_keyword("AAAAAAAA"));
	assert_null(dcm_dict_find_keyword("zzzzzzzz"));
	assert_null(dcm_dict_find_keyword(""));
	assert_null(dcm_dict_find_keyword(NULL));
}

static void test_unknown(void **state)
{
	(void)state;
	assert_null(dcm_dict_find(DCM_TAG(0x0010, 0x0011)));
	assert_null(dcm_dict_find(DCM_TAG(0x0008, 0x0003)));
	assert_null(dcm_dict_find(DCM_TAG(0x4000, 0x1234)));
	assert_null(dcm_dict_find(DCM_TAG(0xFFFE, 0xE001)));
	assert_null(dcm_dict_find(0xFFFFFFFFu));
	assert_null(dcm_dict_find(DCM_TAG(0x0000, 0x0004)));
}

/* The generated tables keep the orders the searches rely on. */
static void test_table_invariants(void **state)
{
	(void)state;
	assert_true(dcm__dict_exact_count > 4000);
	assert_true(dcm__dict_std_count > dcm__dict_exact_count);
	for (size_t i = 0; i < dcm__dict_std_count; i++) {
		const struct dcm_dict_entry *e = &dcm__dict_std[i];

		assert_int_equal(e->tag & e->mask, e->tag);
		assert_non_null(e->keyword);
		assert_non_null(e->name);
		assert_non_null(e->vm);
		assert_true(e->vm[0] != '\0');
		if (i < dcm__dict_exact_count) {
			assert_int_equal(e->mask, 0xFFFFFFFFu);
			if (i > 0)
				assert_true(dcm__dict_std[i - 1].tag < e->tag);
		} else {
			assert_true(e->mask != 0xFFFFFFFFu);
			if (i > dcm__dict_exact_count)
				assert_true(popcount32(dcm__dict_std[i - 1].mask) >=
					    popcount32(e->mask));
		}
	}
	assert_true(dcm__dict_keyword_count > 4000);
	for (size_t i = 0; i < dcm__dict_keyword_count; i++) {
		assert_true(dcm__dict_keyword_index[i] < dcm__dict_std_count);
		assert_true(dcm__dict_std[dcm__dict_keyword_index[i]].keyword[0] !=
			    '\0');
		if (i > 0)
			assert_true(strcmp(dcm__dict_std[dcm__dict_keyword_index[i - 1]]
						   .keyword,
					   dcm__dict_std[dcm__dict_keyword_index[i]]
						   .keyword) < 0);
	}
	size_t total = 0;
	for (size_t i = 0; i < dcm__dict_creator_count; i++) {
		const struct dcm__dict_creator *c = &dcm__dict_creators[i];

		assert_int_equal(strlen(c->name), c->len);
		assert_int_equal(c->first, total);
		assert_true(c->count > 0);
		total += c->count;
		if (i > 0)
			assert_true(strcmp(dcm__dict_creators[i - 1].name, c->name) < 0);
		for (size_t k = c->first + 1u; k < (size_t)c->first + c->count; k++) {
			const struct dcm_dict_entry *a = &dcm__dict_private[k - 1];
			const struct dcm_dict_entry *b = &dcm__dict_private[k];

			if (a->mask == b->mask)
				assert_true(a->tag < b->tag);
			else
				assert_true(popcount32(a->mask) > popcount32(b->mask));
		}
	}
	assert_int_equal(total, dcm__dict_private_count);
}

/*
 * Every standard entry is found again by its tag (repeaters with their 'x'
 * digits filled in) and by its keyword.
 */
static void test_round_trip(void **state)
{
	size_t found = 0;

	(void)state;
	for (size_t i = 0; i < dcm__dict_std_count; i++) {
		const struct dcm_dict_entry *e = &dcm__dict_std[i];
		/* 2 in each 'x' digit: even groups, non-zero elements. */
		uint32_t tag = e->tag | (0x22222222u & ~e->mask);
		const struct dcm_dict_entry *r = dcm_dict_find(tag);

		assert_non_null(r);
		assert_string_equal(r->keyword, e->keyword);
		assert_string_equal(r->name, e->name);
		if (e->keyword[0] != '\0') {
			assert_ptr_equal(dcm_dict_find_keyword(e->keyword), e);
			found++;
		}
	}
	assert_int_equal(found, dcm__dict_keyword_count);
}

/* Every private entry is found by its creator, or shadowed by a more
 * specific entry of the same creator. */
static void test_private_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < dcm__dict_creator_count; i++) {
		const struct dcm__dict_creator *c = &dcm__dict_creators[i];

		for (size_t k = c->first; k < (size_t)c->first + c->count; k++) {
			const struct dcm_dict_entry *e = &dcm__dict_private[k];
			/* Block 0x10 and group 0x11 where the key has 'x'. */
			uint32_t tag = e->tag | (0x00111000u & ~e->mask);
			const struct dcm_dict_entry *r =
				dcm_dict_find_private(c->name, tag);

			assert_non_null(r);
			assert_int_equal(tag & r->mask, r->tag);
			if (r != e)
				assert_true(popcount32(r->mask) > popcount32(e->mask));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patient_name),
		cmocka_unit_test(test_multi_vr),
		cmocka_unit_test(test_repeating_groups),
		cmocka_unit_test(test_group_length),
		cmocka_unit_test(test_private_creator_element),
		cmocka_unit_test(test_private),
		cmocka_unit_test(test_keyword),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_table_invariants),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_private_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
