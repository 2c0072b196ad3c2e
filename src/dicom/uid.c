/*
 * uid.c - transfer syntaxes (PS3.5 section 10, PS3.6 Annex A).
 *
 * The table tells the parser how a data set is encoded: VR explicit or
 * implicit, byte order, deflate, and whether pixel data is encapsulated.
 * Codecs (which ones pacsd can decode) are the pixel module's business.
 */
#include "dcm.h"

#include <string.h>

/* uid, name, explicit, big endian, deflated, encapsulated, retired */
const struct dcm_ts dcm_ts_implicit_le = {
	"1.2.840.10008.1.2", "Implicit VR Little Endian", 0, 0, 0, 0, 0};
const struct dcm_ts dcm_ts_explicit_le = {
	"1.2.840.10008.1.2.1", "Explicit VR Little Endian", 1, 0, 0, 0, 0};
const struct dcm_ts dcm_ts_explicit_be = {
	"1.2.840.10008.1.2.2", "Explicit VR Big Endian", 1, 1, 0, 0, 1};
const struct dcm_ts dcm_ts_deflated_le = {
	"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian",
	1, 0, 1, 0, 0};

#define ENC(uid, name, retired) {uid, name, 1, 0, 0, 1, retired}
static const struct dcm_ts encapsulated[] = {
	ENC("1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian", 0),
	ENC("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", 0),
	ENC("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", 0),
	ENC("1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5)", 1),
	ENC("1.2.840.10008.1.2.4.53", "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)", 1),
	ENC("1.2.840.10008.1.2.4.54", "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9)", 1),
	ENC("1.2.840.10008.1.2.4.55", "JPEG Full Progression, Non-Hierarchical (Process 10 & 12)", 1),
	ENC("1.2.840.10008.1.2.4.56", "JPEG Full Progression, Non-Hierarchical (Process 11 & 13)", 1),
	ENC("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", 0),
	ENC("1.2.840.10008.1.2.4.58", "JPEG Lossless, Non-Hierarchical (Process 15)", 1),
	ENC("1.2.840.10008.1.2.4.59", "JPEG Extended, Hierarchical (Process 16 & 18)", 1),
	ENC("1.2.840.10008.1.2.4.60", "JPEG Extended, Hierarchical (Process 17 & 19)", 1),
	ENC("1.2.840.10008.1.2.4.61", "JPEG Spectral Selection, Hierarchical (Process 20 & 22)", 1),
	ENC("1.2.840.10008.1.2.4.62", "JPEG Spectral Selection, Hierarchical (Process 21 & 23)", 1),
	ENC("1.2.840.10008.1.2.4.63", "JPEG Full Progression, Hierarchical (Process 24 & 26)", 1),
	ENC("1.2.840.10008.1.2.4.64", "JPEG Full Progression, Hierarchical (Process 25 & 27)", 1),
	ENC("1.2.840.10008.1.2.4.65", "JPEG Lossless, Hierarchical (Process 28)", 1),
	ENC("1.2.840.10008.1.2.4.66", "JPEG Lossless, Hierarchical (Process 29)", 1),
	ENC("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])", 0),
	ENC("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression", 0),
	ENC("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression", 0),
	ENC("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)", 0),
	ENC("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression", 0),
	ENC("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)", 0),
	ENC("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression", 0),
	ENC("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level", 0),
	ENC("1.2.840.10008.1.2.4.100.1", "Fragmentable MPEG2 Main Profile / Main Level", 0),
	ENC("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level", 0),
	ENC("1.2.840.10008.1.2.4.101.1", "Fragmentable MPEG2 Main Profile / High Level", 0),
	ENC("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", 0),
	ENC("1.2.840.10008.1.2.4.102.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1", 0),
	ENC("1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", 0),
	ENC("1.2.840.10008.1.2.4.103.1", "Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", 0),
	ENC("1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", 0),
	ENC("1.2.840.10008.1.2.4.104.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", 0),
	ENC("1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", 0),
	ENC("1.2.840.10008.1.2.4.105.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", 0),
	ENC("1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", 0),
	ENC("1.2.840.10008.1.2.4.106.1", "Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", 0),
	ENC("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1", 0),
	ENC("1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1", 0),
	ENC("1.2.840.10008.1.2.4.110", "JPEG XL Lossless", 0),
	ENC("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression", 0),
	ENC("1.2.840.10008.1.2.4.112", "JPEG XL", 0),
	ENC("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)", 0),
	ENC("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)", 0),
	ENC("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression", 0),
	ENC("1.2.840.10008.1.2.5", "RLE Lossless", 0),
	ENC("1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression", 0),
};
#undef ENC

/* Native, not encapsulated, but no pixel data in the data set itself. */
static const struct dcm_ts other[] = {
	{"1.2.840.10008.1.2.4.94", "JPIP Referenced", 1, 0, 0, 0, 0},
	{"1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate", 1, 0, 1, 0, 0},
	{"1.2.840.10008.1.2.4.204", "JPIP HTJ2K Referenced", 1, 0, 0, 0, 0},
	{"1.2.840.10008.1.2.4.205", "JPIP HTJ2K Referenced Deflate", 1, 0, 1, 0, 0},
	{"1.2.840.10008.1.2.7.1", "SMPTE ST 2110-20 Uncompressed Progressive Active Video", 1, 0, 0, 0, 0},
	{"1.2.840.10008.1.2.7.2", "SMPTE ST 2110-20 Uncompressed Interlaced Active Video", 1, 0, 0, 0, 0},
	{"1.2.840.10008.1.2.7.3", "SMPTE ST 2110-30 PCM Digital Audio", 1, 0, 0, 0, 0},
};

static bool uid_eq(const char *known, const char *uid, size_t len)
{
	size_t k = strlen(known);

	return k == len && memcmp(known, uid, len) == 0;
}

const struct dcm_ts *dcm_ts_find(const char *uid, size_t len)
{
	static const struct dcm_ts *const basic[] = {
		&dcm_ts_explicit_le, &dcm_ts_implicit_le, &dcm_ts_explicit_be,
		&dcm_ts_deflated_le};
	size_t i;

	/* UI values are padded with NUL to even length (PS3.5 6.2); some
	 * writers pad with a space instead. */
	while (len > 0 && (uid[len - 1] == '\0' || uid[len - 1] == ' '))
		len--;
	for (i = 0; i < sizeof(basic) / sizeof(basic[0]); i++)
		if (uid_eq(basic[i]->uid, uid, len))
			return basic[i];
	for (i = 0; i < sizeof(encapsulated) / sizeof(encapsulated[0]); i++)
		if (uid_eq(encapsulated[i].uid, uid, len))
			return &encapsulated[i];
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (uid_eq(other[i].uid, uid, len))
			return &other[i];
	return NULL;
}
