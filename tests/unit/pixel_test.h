/*
 * pixel_test.h - helpers shared by the pixel unit tests.
 */
#ifndef PACSD_TESTS_PIXEL_TEST_H
#define PACSD_TESTS_PIXEL_TEST_H

#include <stddef.h>
#include <stdint.h>

/*
 * FNV-1a over the samples' 32-bit patterns, little-endian byte by byte:
 * the same hash the reference generators (tools/gen_*_refs.py,
 * tools/gen_pixel_vectors.py) compute from pydicom's pixel_array.
 */
static inline uint64_t pixtest_fnv1a(const int32_t *v, size_t n)
{
	uint64_t h = 0xCBF29CE484222325ull;

	for (size_t i = 0; i < n; i++) {
		uint32_t u = (uint32_t)v[i];

		for (int k = 0; k < 4; k++) {
			h ^= (u >> (8 * k)) & 0xFF;
			h *= 0x100000001B3ull;
		}
	}
	return h;
}

#endif
