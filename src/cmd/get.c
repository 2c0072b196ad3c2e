/*
 * get.c - `pacsd get [OPTIONS] -k KEY=VALUE... [--out DIR] HOST PORT`:
 * C-GET (PS3.4 C.4.3): the peer sends the matching instances back on the
 * same association as C-STORE sub-operations, which are written to DIR as
 * Part 10 files named by SOP Instance UID.
 *
 * The requestor must have proposed, with the SCP role (PS3.7 D.3.3.4),
 * a context for every instance's SOP class and transfer syntax: the peer
 * sends as stored or fails the sub-operation. Like dcmtk's getscu, the
 * default proposal is the common storage classes with the uncompressed
 * syntaxes (120 of the 128 contexts an association allows); with --class
 * only the named classes are proposed, each also with every common
 * compressed syntax in a context of its own when they fit.
 */
#include "cmd.h"
#include "scu_common.h"

#include "net/net_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_CLASSES 120
#define MAX_STORAGE_CONTEXTS (DUL_MAX_CONTEXTS - 1) /* one for the model */

static const char *const uncompressed[] = {
	SCU_TS_EXPLICIT_LE, SCU_TS_IMPLICIT_LE, SCU_TS_EXPLICIT_BE,
};

/* PS3.5 A.4-A.5 syntaxes most archives hold. */
static const char *const compressed[] = {
	"1.2.840.10008.1.2.1.99",  /* Deflated Explicit VR Little Endian */
	"1.2.840.10008.1.2.4.50",  /* JPEG Baseline (Process 1) */
	"1.2.840.10008.1.2.4.51",  /* JPEG Extended (Process 2 & 4) */
	"1.2.840.10008.1.2.4.57",  /* JPEG Lossless (Process 14) */
	"1.2.840.10008.1.2.4.70",  /* JPEG Lossless SV1 */
	"1.2.840.10008.1.2.4.80",  /* JPEG-LS Lossless */
	"1.2.840.10008.1.2.4.81",  /* JPEG-LS Near-Lossless */
	"1.2.840.10008.1.2.4.90",  /* JPEG 2000 Lossless */
	"1.2.840.10008.1.2.4.91",  /* JPEG 2000 */
	"1.2.840.10008.1.2.5",     /* RLE Lossless */
};
#define N_COMPRESSED (sizeof(compressed) / sizeof(*compressed))

/* Proposed first, before the rest of PS3.6's storage classes. */
static const char *const common_classes[] = {
	"CTImageStorage",
	"EnhancedCTImageStorage",
	"MRImageStorage",
	"EnhancedMRImageStorage",
	"ComputedRadiographyImageStorage",
	"DigitalXRayImageStorageForPresentation",
	"DigitalXRayImageStorageForProcessing",
	"DigitalMammographyXRayImageStorageForPresentation",
	"DigitalMammographyXRayImageStorageForProcessing",
	"UltrasoundImageStorage",
	"UltrasoundMultiFrameImageStorage",
	"SecondaryCaptureImageStorage",
	"MultiFrameGrayscaleByteSecondaryCaptureImageStorage",
	"MultiFrameGrayscaleWordSecondaryCaptureImageStorage",
	"MultiFrameTrueColorSecondaryCaptureImageStorage",
	"NuclearMedicineImageStorage",
	"PositronEmissionTomographyImageStorage",
	"XRayAngiographicImageStorage",
	"XRayRadiofluoroscopicImageStorage",
	"RTImageStorage",
	"RTDoseStorage",
	"RTStructureSetStorage",
	"RTPlanStorage",
	"SegmentationStorage",
	"BasicTextSRStorage",
	"EnhancedSRStorage",
	"ComprehensiveSRStorage",
	"KeyObjectSelectionDocumentStorage",
	"GrayscaleSoftcopyPresentationStateStorage",
	"EncapsulatedPDFStorage",
	"TwelveLeadECGWaveformStorage",
	"VLPhotographicImageStorage",
	"BreastTomosynthesisImageStorage",
};

struct get_out {
	const char *prog;
	const char *dir;
	size_t written;
	size_t write_failed;
};

static const struct net_sop_class *class_by_name(const char *s)
{
	for (size_t i = 0; i < net_storage_class_count; i++)
		if (strcmp(net_storage_classes[i].keyword, s) == 0 ||
		    strcmp(net_storage_classes[i].uid, s) == 0)
			return &net_storage_classes[i];
	return NULL;
}

/* A UID as PS3.5 9.1 allows it: digits and dots, at most 64. Anything
 * else could walk out of the output folder. */
static bool safe_uid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
			return false;
	return true;
}

static uint16_t on_store(void *ctx, const struct dimse_cmd *rq,
			 const uint8_t *part10, size_t n)
{
	struct get_out *o = ctx;
	struct pc_buf path = PC_BUF_INIT;
	uint16_t status = 0x0000;

	if (!safe_uid(rq->affected_instance)) {
		fprintf(stderr, "%s: refused an instance with SOP Instance "
			"UID '%s'\n", o->prog, rq->affected_instance);
		o->write_failed++;
		return 0xC000; /* cannot understand */
	}
	pc_buf_printf(&path, "%s/%s.dcm", o->dir, rq->affected_instance);
	FILE *f = pc_buf_status(&path) == PC_OK ? fopen(pc_buf_str(&path), "wb")
						: NULL;
	bool ok = f != NULL && fwrite(part10, 1, n, f) == n;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (ok) {
		const struct net_sop_class *k =
			net__storage_class_find(rq->affected_class);
		printf("received %s (%s) -> %s\n", rq->affected_instance,
		       k != NULL ? k->keyword : rq->affected_class,
		       pc_buf_str(&path));
		o->written++;
	} else {
		fprintf(stderr, "%s: cannot write %s: %s\n", o->prog,
			pc_buf_str(&path), strerror(errno));
		o->write_failed++;
		status = 0xA700; /* out of resources */
	}
	fflush(stdout);
	pc_buf_cleanup(&path);
	return status;
}

static void on_progress(void *ctx, const struct dimse_cmd *rsp)
{
	(void)ctx;
	if (rsp->status != 0xFF00 && rsp->status != 0xFF01)
		return;
	printf("pending: %u remaining, %u completed, %u failed, %u warning\n",
	       rsp->remaining, rsp->completed, rsp->failed, rsp->warning);
	fflush(stdout);
}

/* The default proposal: common classes first, then the others of PS3.6
 * (retired ones last of all), up to DEFAULT_CLASSES. */
static size_t default_classes(const char **out)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(common_classes) / sizeof(*common_classes);
	     i++) {
		const struct net_sop_class *k = class_by_name(common_classes[i]);
		if (k != NULL && n < DEFAULT_CLASSES)
			out[n++] = k->uid;
	}
	for (int retired = 0; retired < 2; retired++) {
		for (size_t i = 0; i < net_storage_class_count; i++) {
			const struct net_sop_class *k = &net_storage_classes[i];
			bool dup = false;
			if (n >= DEFAULT_CLASSES || k->retired != retired)
				continue;
			for (size_t j = 0; j < n && !dup; j++)
				dup = strcmp(out[j], k->uid) == 0;
			if (!dup)
				out[n++] = k->uid;
		}
	}
	return n;
}

/* The storage contexts, each with the SCP role (PS3.4 C.4.3). */
static size_t build_contexts(const char **classes, size_t n_classes,
			     bool with_compressed, const char *const *first,
			     struct scu_context *ctx)
{
	size_t n = 0;

	for (size_t i = 0; i < n_classes; i++) {
		ctx[n++] = first != NULL
				   ? (struct scu_context){classes[i], first,
							  4, true}
				   : (struct scu_context){classes[i],
							  uncompressed, 3,
							  true};
		for (size_t k = 0; with_compressed && k < N_COMPRESSED; k++)
			ctx[n++] = (struct scu_context){classes[i],
							&compressed[k], 1,
							true};
	}
	return n;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pacsd get [OPTIONS] -k KEY=VALUE... HOST PORT\n"
		"Retrieves the matching instances with C-GET into a folder, "
		"one file\nper instance named SOP_INSTANCE_UID.dcm.\n\n");
	scu_cli_usage_common(out, true);
	fprintf(out,
		"  --out DIR       where to write the files (default .)\n"
		"  --class C       propose only this storage class (keyword "
		"or UID;\n"
		"                  repeatable), with compressed syntaxes too "
		"for up\n"
		"                  to 11 classes\n"
		"  --prefer TS     propose transfer syntax TS (a UID) first "
		"in every\n"
		"                  context, before the uncompressed ones (as "
		"getscu +x...;\n"
		"                  for peers that use one context per class)\n"
		"The level defaults to the one of the most specific UID key.\n"
		"Exit status: 0 all received, 1 a failure or failed "
		"sub-operations, 2 usage.\n");
}

int cmd_get(int argc, char **argv)
{
	struct get_out o = {"pacsd get", ".", 0, 0};
	struct pc_buf ident = PC_BUF_INIT;
	struct pc_err err = {0};
	struct dimse_cmd final;
	struct scu_cli c;
	scu_session *s = NULL;
	const char *classes[MAX_STORAGE_CONTEXTS + 1];
	struct scu_context ctx[MAX_STORAGE_CONTEXTS];
	size_t n_classes = 0;
	const char *preferred[4] = {NULL, SCU_TS_EXPLICIT_LE, SCU_TS_IMPLICIT_LE,
				    SCU_TS_EXPLICIT_BE};
	int rc = 2;

	memset(&final, 0, sizeof(final));
	scu_cli_init(&c, "pacsd get", true);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			rc = 0;
			goto out;
		}
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			o.dir = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--prefer") == 0 && i + 1 < argc) {
			const char *ts = argv[++i];
			if (dcm_ts_find(ts, strlen(ts)) == NULL) {
				fprintf(stderr, "pacsd get: --prefer %s: not "
					"a known transfer syntax UID\n", ts);
				goto out;
			}
			preferred[0] = ts;
			continue;
		}
		if (strcmp(argv[i], "--class") == 0 && i + 1 < argc) {
			const struct net_sop_class *k = class_by_name(argv[++i]);
			if (k == NULL) {
				fprintf(stderr, "pacsd get: --class %s: not a "
					"storage SOP class\n", argv[i]);
				goto out;
			}
			if (n_classes >= MAX_STORAGE_CONTEXTS) {
				fprintf(stderr, "pacsd get: at most %d "
					"classes\n", MAX_STORAGE_CONTEXTS);
				goto out;
			}
			classes[n_classes++] = k->uid;
			continue;
		}
		if (!scu_cli_arg(&c, argc, argv, &i, usage))
			goto out;
	}
	if (c.n_pos != 2 || !scu_cli_peer(&c)) {
		usage(stderr);
		goto out;
	}
	rc = 1;
	if (mkdir(o.dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "pacsd get: cannot create %s: %s\n", o.dir,
			strerror(errno));
		goto out;
	}
	bool with_compressed = false;
	if (n_classes == 0)
		n_classes = default_classes(classes);
	else
		with_compressed = n_classes * (1 + N_COMPRESSED) <=
				  MAX_STORAGE_CONTEXTS;
	/* A preferred syntax replaces the per-syntax contexts. */
	if (preferred[0] != NULL)
		with_compressed = false;
	size_t n_ctx = build_contexts(classes, n_classes, with_compressed,
				      preferred[0] != NULL ? preferred : NULL,
				      ctx);
	const char *model = scu_cli_model(&c, 'G');
	s = scu_cli_qr_open(&c, model, ctx, n_ctx, NULL, &ident);
	if (s == NULL)
		goto out;
	if (scu_get(s, model, (const uint8_t *)ident.p, ident.n, on_store, &o,
		    on_progress, NULL, &final, &err) != PC_OK) {
		fprintf(stderr, "pacsd get: %s\n", err.msg);
		scu_abort(s);
		s = NULL;
		goto out;
	}
	scu_cli_print_final("C-GET", &final);
	rc = scu_status_is_failure(final.status) || final.status == 0xFE00 ||
			     ((final.present & DIMSE_F_FAILED) &&
			      final.failed > 0) ||
			     o.write_failed > 0
		     ? 1
		     : 0;
out:
	if (s != NULL && scu_close(s, &err) != PC_OK)
		fprintf(stderr, "pacsd get: release: %s\n", err.msg);
	pc_buf_cleanup(&ident);
	scu_cli_cleanup(&c);
	return rc;
}
