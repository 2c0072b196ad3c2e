/*
 * test_ingest.c - the ingest path on a real filesystem blob store and a real
 * SQLite index, one mkdtemp directory per test: store and find again (size,
 * SHA-256, bytes), idempotent duplicates, conflicting duplicates, overwrite,
 * refusals (not DICOM, missing/invalid UIDs, meta mismatch, study mismatch,
 * too large) leaving no blob behind, the metadata (BulkDataURI with item
 * indexes, AvailableTransferSyntaxUID), the start-up sweep, streamed uploads
 * in 1-byte pieces, concurrent ingest and allocation failures. Test files are
 * pydicom's and ones generated here with the dcm writer.
 *
 * PACSD_INGEST_BENCH=N (and PACSD_INGEST_THREADS=T) runs a timing loop of N
 * ingests of 39 KB CT_small variants from T threads instead of the tests.
 */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ingest/ingest_int.h"
#include "tmpdir_test.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PYDICOM "/usr/lib/python3/dist-packages/pydicom/data/test_files/"

#define TAG_PATIENT_NAME DCM_TAG(0x0010, 0x0010)
#define TAG_SOP_CLASS DCM_TAG(0x0008, 0x0016)
#define TAG_SOP_INSTANCE DCM_TAG(0x0008, 0x0018)
#define TAG_STUDY DCM_TAG(0x0020, 0x000D)
#define TAG_SERIES DCM_TAG(0x0020, 0x000E)
#define TAG_MEDIA_SOP_CLASS DCM_TAG(0x0002, 0x0002)
#define TAG_MEDIA_SOP_INSTANCE DCM_TAG(0x0002, 0x0003)
#define TAG_RADIOPHARM_SEQ DCM_TAG(0x0054, 0x0016)
#define TAG_ENCAPSULATED_DOC DCM_TAG(0x0042, 0x0011)

#define CT_SOP "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"

struct fixture {
	char dir[64];  /* the mkdtemp directory */
	char root[96]; /* dir/store */
	char db[96];   /* dir/index.db */
	blob_store *store;
	idx *ix;
	ingest *ig;
};

/* ---- helpers ------------------------------------------------------------ */

static void fixture_close(struct fixture *f)
{
	ingest_destroy(f->ig);
	idx_close(f->ix);
	blob_store_close(f->store);
	tmptest_rm_tree(f->dir);
}

/* Fills `f` (whatever it held) with a new store, index and ingest in a
 * directory of its own; -1 when that fails. */
static int fixture_open(struct fixture *f, const struct ingest_opts *opts)
{
	struct pc_err err = {0};

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/pacsd-ingest-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/store", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/index.db", f->dir);
	f->store = blob_fs_open(f->root, &err);
	if (f->store != NULL)
		f->ix = idx_sqlite_open(f->db, &err);
	if (f->ix != NULL)
		f->ig = ingest_create(f->store, f->ix, opts, &err);
	if (f->ig == NULL) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		fixture_close(f);
		return -1;
	}
	return 0;
}

static int setup_with(void **state, const struct ingest_opts *opts)
{
	struct fixture *f = malloc(sizeof(*f));

	if (f == NULL || fixture_open(f, opts) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, NULL);
}

static int setup_overwrite(void **state)
{
	static const struct ingest_opts o = {.allow_overwrite = true};

	return setup_with(state, &o);
}

static int setup_overwrite_each(void **state)
{
	struct ingest_opts o = {0};

	o.allow_overwrite = true;
	o.sync_each = true;
	return setup_with(state, &o);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fixture_close(f);
	free(f);
	return 0;
}

/* The whole file in a malloc'd buffer. */
static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *p;
	long len;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	assert_true(len > 0);
	rewind(fp);
	p = malloc((size_t)len);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	*n = (size_t)len;
	return p;
}

static enum pc_status count_one(const char *key, void *ctx)
{
	(void)key;
	(*(size_t *)ctx)++;
	return PC_OK;
}

static size_t count_blobs(blob_store *store)
{
	size_t n = 0;

	assert_int_equal(blob_list(store, count_one, &n, NULL), PC_OK);
	return n;
}

static size_t count_temp(const struct fixture *f)
{
	char path[128];
	struct stat sb;
	size_t n = 0;
	FILE *p;
	char line[512];

	/* Entries of root/tmp, counted through ls to keep this short. */
	snprintf(path, sizeof(path), "ls -A %s/tmp", f->root);
	assert_int_equal(stat(f->root, &sb), 0);
	p = popen(path, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p) != NULL)
		n++;
	pclose(p);
	return n;
}

/* The stored blob `key` holds exactly the `n` bytes at `want`. */
static void assert_blob(blob_store *store, const char *key, const void *want,
                        size_t n)
{
	blob_reader *r = blob_open(store, key, NULL);
	uint8_t *p;
	size_t size, got;

	assert_non_null(r);
	size = (size_t)blob_reader_size(r);
	assert_int_equal(size, n);
	p = malloc(size + 1);
	assert_non_null(p);
	assert_int_equal(blob_read(r, p, size + 1, &got, NULL), PC_OK);
	assert_int_equal(got, size);
	assert_memory_equal(p, want, n);
	blob_close(r);
	free(p);
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 0;

	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(len, 32);
}

/* Ingests the `n` bytes at `p` and expects a refusal: a failing status,
 * r->error == `error` and, unless `msg` is NULL, a message in `err`
 * containing `msg`. */
static void expect_refused(struct fixture *f, const void *p, size_t n,
                           enum ingest_error error, const char *msg,
                           struct ingest_result *r, struct pc_err *err)
{
	memset(err, 0, sizeof(*err));
	assert_int_not_equal(ingest_buffer(f->ig, p, n, NULL, r, err), PC_OK);
	assert_int_equal(r->error, error);
	if (msg != NULL && strstr(err->msg, msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err->msg, msg);
}

/* A streamed upload of at most `max_size` bytes (0: unbounded), which
 * must start. */
static ingest_upload *begin(ingest *ig, uint64_t max_size)
{
	ingest_upload *u = ingest_begin(ig, max_size, NULL);

	assert_non_null(u);
	return u;
}

/* Edits of a parsed file, then written back as Part 10 into `out`. */
struct edit {
	const char *sop;      /* new SOPInstanceUID (meta too), NULL: keep */
	const char *study;    /* new StudyInstanceUID, NULL: keep */
	const char *patient;  /* new PatientName, NULL: keep */
	uint32_t remove;      /* tag to remove from the data set, 0: none */
	const char *meta_sop; /* MediaStorageSOPInstanceUID, NULL: as sop */
	size_t ob_size;       /* add an OB value of this size, 0: none */
};

static void variant(const uint8_t *src, size_t n, const struct edit *ed,
                    struct pc_buf *out)
{
	struct pc_err err = {0};
	dcm_file *f = dcm_file_parse(src, n, NULL, &err);
	struct dcm_write_opts wo = {0};
	dcm_dataset *ds, *meta;

	assert_non_null(f);
	ds = dcm_file_dataset(f);
	meta = dcm_file_meta_mut(f);
	if (ed->sop != NULL) {
		assert_int_equal(dcm_dataset_set_string(ds, TAG_SOP_INSTANCE,
		                                        DCM_VR_UI, ed->sop),
		                 PC_OK);
		assert_int_equal(dcm_dataset_set_string(meta,
		                                        TAG_MEDIA_SOP_INSTANCE,
		                                        DCM_VR_UI, ed->sop),
		                 PC_OK);
	}
	if (ed->meta_sop != NULL)
		assert_int_equal(
		    dcm_dataset_set_string(meta, TAG_MEDIA_SOP_INSTANCE,
		                           DCM_VR_UI, ed->meta_sop),
		    PC_OK);
	if (ed->study != NULL)
		assert_int_equal(
		    dcm_dataset_set_string(ds, TAG_STUDY, DCM_VR_UI, ed->study),
		    PC_OK);
	if (ed->patient != NULL)
		assert_int_equal(dcm_dataset_set_string(ds, TAG_PATIENT_NAME,
		                                        DCM_VR_PN, ed->patient),
		                 PC_OK);
	if (ed->remove != 0)
		assert_int_equal(dcm_dataset_remove(ds, ed->remove), PC_OK);
	if (ed->ob_size != 0) {
		uint8_t *ob = malloc(ed->ob_size);

		assert_non_null(ob);
		for (size_t i = 0; i < ed->ob_size; i++)
			ob[i] = (uint8_t)(i * 31 + 7);
		assert_int_equal(dcm_dataset_set(ds, TAG_ENCAPSULATED_DOC,
		                                 DCM_VR_OB, ob, ed->ob_size),
		                 PC_OK);
		free(ob);
	}
	wo.ts = dcm_file_ts(f);
	wo.preamble = dcm_file_preamble(f);
	pc_buf_reset(out);
	assert_int_equal(dcm_file_write(meta, ds, &wo, out, &err), PC_OK);
	dcm_file_destroy(f);
}

/* Fetches the stored metadata of one instance into a jansson object. */
struct meta_ctx {
	json_t *root;
	size_t calls;
};

static enum pc_status meta_one(void *ctx, const struct idx_instance *inst,
                               const char *metadata, size_t len)
{
	struct meta_ctx *m = ctx;
	json_error_t je;

	(void)inst;
	m->calls++;
	assert_non_null(metadata);
	m->root = json_loadb(metadata, len, 0, &je);
	if (m->root == NULL)
		fail_msg("metadata is not JSON: %s", je.text);
	return PC_OK;
}

static json_t *stored_metadata(struct fixture *f, const struct ingest_result *r)
{
	struct meta_ctx m = {NULL, 0};

	assert_int_equal(idx_instances_each(f->ix, r->study_uid, r->series_uid,
	                                    r->sop_uid, true, meta_one, &m,
	                                    NULL),
	                 PC_OK);
	assert_int_equal(m.calls, 1);
	return m.root;
}

/* The string at obj[tag][field] (or obj[tag].Value[0] for "Value"). */
static const char *member_str(json_t *obj, const char *tag, const char *field)
{
	json_t *e = json_object_get(obj, tag), *v;

	if (e == NULL)
		return NULL;
	v = json_object_get(e, field);
	if (json_is_array(v))
		v = json_array_get(v, 0);
	return json_string_value(v);
}

/* ---- pure helpers ------------------------------------------------------- */

static void test_uid_valid(void **state)
{
	static const char *good[] = {"0", "1.2", "1.2.840.10008.1.2.1", "1.0.3",
	                             "2.25.1234567890123"};
	static const char *bad[] = {"",     ".",    "1.",   ".1",
	                            "1..2", "1.02", "01.2", "1.2a",
	                            "1.2 ", "-1.2", "1,2"};
	char longest[IDX_UID_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(ingest__uid_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(ingest__uid_valid(bad[i], strlen(bad[i])));
	memset(longest, '1', sizeof(longest));
	assert_true(ingest__uid_valid(longest, IDX_UID_MAX));
	assert_false(ingest__uid_valid(longest, IDX_UID_MAX + 1));
}

static void test_new_handle(void **state)
{
	char a[IDX_HANDLE_LEN + 1], b[IDX_HANDLE_LEN + 1];
	size_t i;

	(void)state;
	assert_int_equal(ingest_new_handle(a, NULL), PC_OK);
	assert_int_equal(ingest_new_handle(b, NULL), PC_OK);
	assert_int_equal(strlen(a), IDX_HANDLE_LEN);
	for (i = 0; i < IDX_HANDLE_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
	assert_int_equal(blob_key_check(a, NULL), PC_OK);
}

/* ---- storing ------------------------------------------------------------ */

static void test_store_and_find(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r;
	struct idx_instance inst;
	struct pc_err err = {0};
	uint8_t sha[32];
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);

	assert_int_equal(ingest_buffer(f->ig, p, n, NULL, &r, &err), PC_OK);
	assert_int_equal(r.error, INGEST_OK);
	assert_false(r.duplicate);
	assert_false(r.replaced);
	assert_int_equal(r.size, n);
	assert_int_equal(strlen(r.handle), IDX_HANDLE_LEN);
	assert_string_equal(r.sop_uid, CT_SOP);
	assert_string_equal(r.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
	assert_string_equal(r.study_uid,
	                    "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322");
	assert_string_equal(r.series_uid,
	                    "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322");

	assert_int_equal(idx_instance_by_uid(f->ix, CT_SOP, &inst, NULL),
	                 PC_OK);
	assert_string_equal(inst.handle, r.handle);
	assert_int_equal(inst.size, n);
	sha256(p, n, sha);
	assert_memory_equal(inst.sha256, sha, 32);
	assert_string_equal(inst.ts_uid, "1.2.840.10008.1.2.1");
	assert_string_equal(inst.study_uid, r.study_uid);

	assert_blob(f->store, r.handle, p, n);
	assert_int_equal(count_blobs(f->store), 1);
	assert_int_equal(count_temp(f), 0);
	free(p);
}

/* Every encoding the reader knows is stored with its own syntax. */
static void test_store_encodings(void **state)
{
	static const struct {
		const char *file;
		const char *ts;
	} cases[] = {
	    {"MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"},
	    {"MR_small_implicit.dcm", "1.2.840.10008.1.2"},
	    {"image_dfl.dcm", "1.2.840.10008.1.2.1.99"},
	    {"JPEG2000.dcm", "1.2.840.10008.1.2.4.91"},
	    {"MR_small_RLE.dcm", "1.2.840.10008.1.2.5"},
	    {"ExplVR_LitEndNoMeta.dcm", "1.2.840.10008.1.2.1"},
	};
	struct ingest_result r;
	struct idx_instance inst;
	char path[256];
	size_t i, n;
	uint8_t *p;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pc_err err = {0};
		struct fixture f;

		/* Several are the same instance in other encodings: one
		 * store each. */
		assert_int_equal(fixture_open(&f, NULL), 0);
		snprintf(path, sizeof(path), PYDICOM "%s", cases[i].file);
		p = slurp(path, &n);
		if (ingest_buffer(f.ig, p, n, NULL, &r, &err) != PC_OK)
			fail_msg("%s: %s", cases[i].file, err.msg);
		assert_int_equal(
		    idx_instance_by_uid(f.ix, r.sop_uid, &inst, NULL), PC_OK);
		assert_string_equal(inst.ts_uid, cases[i].ts);
		assert_int_equal(inst.size, n);
		free(p);
		fixture_close(&f);
	}
}

static void test_duplicate_same_bytes(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r1, r2;
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);

	assert_int_equal(ingest_buffer(f->ig, p, n, NULL, &r1, NULL), PC_OK);
	assert_int_equal(ingest_buffer(f->ig, p, n, NULL, &r2, NULL), PC_OK);
	assert_int_equal(r2.error, INGEST_OK);
	assert_true(r2.duplicate);
	assert_false(r2.replaced);
	assert_string_equal(r2.handle, r1.handle);
	assert_string_equal(r2.sop_uid, CT_SOP);
	assert_int_equal(count_blobs(f->store), 1);
	free(p);
}

/* syncfs(2) failing on demand: the test binary links with
 * -Wl,--wrap=syncfs (CMakeLists.txt), so ingest's calls land here. */
static int syncfs_failures; /* the next this many calls fail with EIO */
int __real_syncfs(int fd);
int __wrap_syncfs(int fd);
int __wrap_syncfs(int fd)
{
	if (syncfs_failures > 0) {
		syncfs_failures--;
		errno = EIO;
		return -1;
	}
	return __real_syncfs(fd);
}

/*
 * A sync that fails reports a write-back error once, and the failed pages
 * may belong to any upload written before it: B, begun before C's sync
 * failed and committed after, is refused although its own sync works;
 * D, begun after, is stored.
 */
static void test_sync_failure_reaches_writers(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r;
	struct pc_err err = {0};
	struct pc_buf c = PC_BUF_INIT, d = PC_BUF_INIT;
	struct edit ec = {.sop = "1.2.826.0.1.3680043.10.99.3"};
	struct edit ed = {.sop = "1.2.826.0.1.3680043.10.99.4"};
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);
	ingest_upload *b;

	variant(p, n, &ec, &c);
	variant(p, n, &ed, &d);
	b = begin(f->ig, 0);
	assert_int_equal(ingest_write(b, p, n, NULL), PC_OK);
	syncfs_failures = 1;
	assert_int_not_equal(ingest_buffer(f->ig, c.p, c.n, NULL, &r, &err),
	                     PC_OK);
	assert_int_equal(r.error, INGEST_STORAGE);
	assert_non_null(strstr(err.msg, "syncfs failed"));
	assert_int_equal(syncfs_failures, 0);
	memset(&err, 0, sizeof(err));
	assert_int_not_equal(ingest_commit(b, NULL, &r, &err), PC_OK);
	assert_int_equal(r.error, INGEST_STORAGE);
	assert_int_equal(ingest_buffer(f->ig, d.p, d.n, NULL, &r, NULL), PC_OK);
	assert_int_equal(r.error, INGEST_OK);
	pc_buf_cleanup(&c);
	pc_buf_cleanup(&d);
	free(p);
}

static void test_duplicate_other_bytes(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r1, r2;
	struct idx_instance inst;
	struct pc_buf other = PC_BUF_INIT;
	struct edit ed = {.patient = "Other^Name"};
	struct pc_err err;
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);

	variant(p, n, &ed, &other);
	assert_int_equal(ingest_buffer(f->ig, p, n, NULL, &r1, NULL), PC_OK);
	expect_refused(f, other.p, other.n, INGEST_DUPLICATE, CT_SOP, &r2,
	               &err);
	assert_string_equal(r2.sop_uid, CT_SOP);
	assert_int_equal(count_blobs(f->store), 1);
	assert_int_equal(idx_instance_by_uid(f->ix, CT_SOP, &inst, NULL),
	                 PC_OK);
	assert_string_equal(inst.handle, r1.handle);
	pc_buf_cleanup(&other);
	free(p);
}

static void test_overwrite(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r1, r2;
	struct idx_instance inst;
	struct pc_buf other = PC_BUF_INIT;
	struct edit ed = {.patient = "Other^Name"};
	bool exists = true;
	uint8_t sha[32];
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);

	variant(p, n, &ed, &other);
	assert_int_equal(ingest_buffer(f->ig, p, n, NULL, &r1, NULL), PC_OK);
	assert_int_equal(
	    ingest_buffer(f->ig, other.p, other.n, NULL, &r2, NULL), PC_OK);
	assert_true(r2.replaced);
	assert_false(r2.duplicate);
	assert_string_not_equal(r2.handle, r1.handle);
	assert_int_equal(idx_instance_by_uid(f->ix, CT_SOP, &inst, NULL),
	                 PC_OK);
	assert_string_equal(inst.handle, r2.handle);
	sha256(other.p, other.n, sha);
	assert_memory_equal(inst.sha256, sha, 32);
	assert_int_equal(blob_exists(f->store, r1.handle, &exists, NULL),
	                 PC_OK);
	assert_false(exists);
	assert_int_equal(count_blobs(f->store), 1);
	/* The same bytes again are still an idempotent repeat. */
	assert_int_equal(
	    ingest_buffer(f->ig, other.p, other.n, NULL, &r1, NULL), PC_OK);
	assert_true(r1.duplicate);
	assert_int_equal(count_blobs(f->store), 1);
	pc_buf_cleanup(&other);
	free(p);
}

/* ---- refusals ----------------------------------------------------------- */

static void test_not_dicom(void **state)
{
	static const char text[] =
	    "<html><body>This is certainly not a DICOM file, whatever "
	    "its extension says.</body></html>\n";
	struct fixture *f = *state;
	struct ingest_result r;
	struct pc_err err;
	uint8_t junk[4096];
	size_t i;

	expect_refused(f, text, sizeof(text) - 1, INGEST_NOT_DICOM,
	               "not a DICOM", &r, &err);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 2654435761u >> 13);
	expect_refused(f, junk, sizeof(junk), INGEST_NOT_DICOM, NULL, &r, &err);
	expect_refused(f, "", 0, INGEST_NOT_DICOM, NULL, &r, &err);
	assert_int_equal(count_blobs(f->store), 0);
	assert_int_equal(count_temp(f), 0);
}

static void test_missing_uid(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r;
	struct pc_buf v = PC_BUF_INIT;
	struct edit no_sop = {.remove = TAG_SOP_INSTANCE, .meta_sop = "1.2"};
	struct edit no_series = {.remove = TAG_SERIES};
	struct edit bad_sop = {.sop = "1.2.03.4"};
	struct edit bad_study = {.study = "1.2.x"};
	struct pc_err err;
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);

	variant(p, n, &no_sop, &v);
	expect_refused(f, v.p, v.n, INGEST_MISSING_UID,
	               "SOPInstanceUID (0008,0018)", &r, &err);
	assert_non_null(strstr(err.msg, "missing"));
	/* What is known is reported even on refusal. */
	assert_string_equal(r.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
	assert_string_equal(r.study_uid,
	                    "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322");
	assert_string_equal(r.sop_uid, "");

	variant(p, n, &no_series, &v);
	expect_refused(f, v.p, v.n, INGEST_MISSING_UID,
	               "SeriesInstanceUID (0020,000E)", &r, &err);
	assert_string_equal(r.sop_uid, CT_SOP);

	variant(p, n, &bad_sop, &v);
	expect_refused(f, v.p, v.n, INGEST_MISSING_UID,
	               "'1.2.03.4' is not a valid UID", &r, &err);

	variant(p, n, &bad_study, &v);
	expect_refused(f, v.p, v.n, INGEST_MISSING_UID,
	               "StudyInstanceUID (0020,000D)", &r, &err);

	assert_int_equal(count_blobs(f->store), 0);
	pc_buf_cleanup(&v);
	free(p);
}

/* The meta names another instance than the data set: refused (rtplan.dcm
 * from pydicom is such a file). */
static void test_meta_mismatch(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r;
	struct pc_buf v = PC_BUF_INIT;
	struct edit ed = {.meta_sop = "1.2.3.4"};
	struct pc_err err;
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);

	variant(p, n, &ed, &v);
	expect_refused(f, v.p, v.n, INGEST_MISSING_UID,
	               "MediaStorageSOPInstanceUID", &r, &err);
	assert_non_null(strstr(err.msg, "'1.2.3.4'"));
	free(p);

	p = slurp(PYDICOM "rtplan.dcm", &n);
	expect_refused(f, p, n, INGEST_MISSING_UID, NULL, &r, &err);
	assert_int_equal(count_blobs(f->store), 0);
	pc_buf_cleanup(&v);
	free(p);
}

static void test_study_mismatch(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r;
	struct pc_err err = {0};
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);

	assert_int_not_equal(ingest_buffer(f->ig, p, n, "1.2.3", &r, &err),
	                     PC_OK);
	assert_int_equal(r.error, INGEST_STUDY_MISMATCH);
	assert_non_null(strstr(err.msg, "1.2.3"));
	assert_string_equal(r.sop_uid, CT_SOP);
	assert_int_equal(count_blobs(f->store), 0);
	assert_int_equal(
	    ingest_buffer(f->ig, p, n,
	                  "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322", &r,
	                  NULL),
	    PC_OK);
	assert_int_equal(count_blobs(f->store), 1);
	free(p);
}

/* The same SOP Instance UID in another study: a conflict that names it. */
static void test_conflict_other_study(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r;
	struct pc_buf v = PC_BUF_INIT;
	struct edit ed = {.study = "1.2.826.0.1.3680043.2.1125.99"};
	struct pc_err err;
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);

	variant(p, n, &ed, &v);
	assert_int_equal(ingest_buffer(f->ig, p, n, NULL, &r, NULL), PC_OK);
	expect_refused(f, v.p, v.n, INGEST_STUDY_MISMATCH,
	               "already stored in study "
	               "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
	               &r, &err);
	assert_int_equal(count_blobs(f->store), 1);
	pc_buf_cleanup(&v);
	free(p);
}

static void test_too_large(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r;
	struct pc_err err = {0};
	ingest_upload *u;
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);

	/* One write over the limit. */
	u = begin(f->ig, n - 1);
	assert_int_equal(ingest_write(u, p, n, &err), PC_LIMIT);
	assert_int_equal(count_temp(f), 0); /* discarded at once */
	memset(&err, 0, sizeof(err));
	assert_int_not_equal(ingest_commit(u, NULL, &r, &err), PC_OK);
	assert_int_equal(r.error, INGEST_TOO_LARGE);
	assert_non_null(strstr(err.msg, "limit"));

	/* Small writes crossing it; later writes keep failing. */
	u = begin(f->ig, 1000);
	assert_int_equal(ingest_write(u, p, 600, NULL), PC_OK);
	assert_int_equal(ingest_write(u, p + 600, 600, NULL), PC_LIMIT);
	assert_int_equal(ingest_write(u, p, 1, NULL), PC_LIMIT);
	assert_int_not_equal(ingest_commit(u, NULL, &r, NULL), PC_OK);
	assert_int_equal(r.error, INGEST_TOO_LARGE);

	/* Exactly at the limit is fine. */
	u = begin(f->ig, n);
	assert_int_equal(ingest_write(u, p, n, NULL), PC_OK);
	assert_int_equal(ingest_commit(u, NULL, &r, NULL), PC_OK);
	assert_int_equal(count_blobs(f->store), 1);
	assert_int_equal(count_temp(f), 0);

	/* Aborting leaves nothing. */
	u = begin(f->ig, 0);
	assert_int_equal(ingest_write(u, p, 100, NULL), PC_OK);
	ingest_abort(u);
	ingest_abort(NULL);
	assert_int_equal(count_blobs(f->store), 1);
	assert_int_equal(count_temp(f), 0);
	free(p);
}

/* ---- metadata ----------------------------------------------------------- */

/* Top-level keys in ascending order (PS3.18 F.2: sorted by tag). */
static void assert_sorted(json_t *root)
{
	const char *key, *prev = "";
	json_t *v;

	json_object_foreach(root, key, v)
	{
		(void)v;
		assert_true(strcmp(prev, key) < 0);
		prev = key;
	}
}

/* Ingests pydicom's `file` and returns its stored metadata, checked for
 * what every image's holds: Pixel Data as a BulkDataURI under the
 * instance's URL, AvailableTransferSyntaxUID `ts`, keys in order. */
static json_t *ingest_metadata(struct fixture *f, const char *file,
                               const char *ts)
{
	struct ingest_result r;
	char path[256], uri[512];
	json_t *m;
	size_t n;
	uint8_t *p;

	snprintf(path, sizeof(path), PYDICOM "%s", file);
	p = slurp(path, &n);
	assert_int_equal(ingest_buffer(f->ig, p, n, NULL, &r, NULL), PC_OK);
	m = stored_metadata(f, &r);
	snprintf(uri, sizeof(uri),
	         "/studies/%s/series/%s/instances/%s/bulkdata/7FE00010",
	         r.study_uid, r.series_uid, r.sop_uid);
	assert_string_equal(member_str(m, "7FE00010", "BulkDataURI"), uri);
	assert_string_equal(member_str(m, "00083002", "Value"), ts);
	assert_sorted(m);
	free(p);
	return m;
}

static void test_metadata(void **state)
{
	struct fixture *f = *state;
	json_t *m = ingest_metadata(f, "CT_small.dcm", "1.2.840.10008.1.2.1");

	assert_string_equal(member_str(m, "7FE00010", "vr"), "OW");
	assert_null(
	    json_object_get(json_object_get(m, "7FE00010"), "InlineBinary"));
	assert_string_equal(member_str(m, "00083002", "vr"), "UI");
	assert_string_equal(member_str(m, "00080018", "Value"), CT_SOP);
	/* No File Meta Information and no group lengths. */
	assert_null(json_object_get(m, "00020010"));
	assert_null(json_object_get(m, "00080000"));
	json_decref(m);

	/* Encapsulated pixel data: bulk too; the stored syntax is J2K. */
	json_decref(
	    ingest_metadata(f, "JPEG2000.dcm", "1.2.840.10008.1.2.4.91"));
}

/* A Part 10 file with a sequence of items holding binary values of several
 * sizes (and empty items), and a small top-level Pixel Data. */
static void make_nested(struct pc_buf *out)
{
	static const size_t sizes[] = {2000, 0, 10, 1500, 0, 3000};
	dcm_dataset *ds = dcm_dataset_create(), *item;
	dcm_elem *seq;
	struct dcm_write_opts wo = {0};
	uint8_t *bytes = calloc(1, 3000);
	uint16_t px[4] = {1, 2, 3, 4};
	size_t i;

	assert_non_null(ds);
	assert_non_null(bytes);
	assert_int_equal(dcm_dataset_set_string(ds, TAG_SOP_CLASS, DCM_VR_UI,
	                                        "1.2.840.10008.5.1.4.1.1.7"),
	                 PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, TAG_SOP_INSTANCE, DCM_VR_UI,
	                                        "1.2.3.4.5.6"),
	                 PC_OK);
	assert_int_equal(
	    dcm_dataset_set_string(ds, TAG_STUDY, DCM_VR_UI, "1.2.3.4"), PC_OK);
	assert_int_equal(
	    dcm_dataset_set_string(ds, TAG_SERIES, DCM_VR_UI, "1.2.3.4.5"),
	    PC_OK);
	assert_int_equal(dcm_dataset_set_sequence(ds, TAG_RADIOPHARM_SEQ, &seq),
	                 PC_OK);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(dcm_elem_add_item(seq, &item), PC_OK);
		if (sizes[i] == 0)
			continue;
		memset(bytes, (int)i, sizes[i]);
		assert_int_equal(dcm_dataset_set(item, TAG_ENCAPSULATED_DOC,
		                                 DCM_VR_OB, bytes, sizes[i]),
		                 PC_OK);
		assert_int_equal(dcm_dataset_set_string(item,
		                                        DCM_TAG(0x0018, 0x1070),
		                                        DCM_VR_LO, "FDG"),
		                 PC_OK);
	}
	assert_int_equal(
	    dcm_dataset_set(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OW, px, sizeof(px)),
	    PC_OK);
	assert_int_equal(dcm_file_write(NULL, ds, &wo, out, NULL), PC_OK);
	dcm_dataset_destroy(ds);
	free(bytes);
}

static void test_metadata_nested_bulk(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r;
	struct pc_buf v = PC_BUF_INIT;
	/* The items of make_nested() over the threshold: 2000, 1500 and
	 * 3000 bytes. */
	static const size_t bulk_items[] = {0, 3, 5};
	const char *base = "/studies/1.2.3.4/series/1.2.3.4.5/instances/"
	                   "1.2.3.4.5.6/bulkdata/";
	char want[256];
	json_t *m, *items;
	size_t i;

	make_nested(&v);
	assert_int_equal(ingest_buffer(f->ig, v.p, v.n, NULL, &r, NULL), PC_OK);
	m = stored_metadata(f, &r);
	/* Pixel Data is bulk whatever its size. */
	snprintf(want, sizeof(want), "%s7FE00010", base);
	assert_string_equal(member_str(m, "7FE00010", "BulkDataURI"), want);
	items = json_object_get(json_object_get(m, "00540016"), "Value");
	assert_int_equal(json_array_size(items), 6);
	for (i = 0; i < sizeof(bulk_items) / sizeof(bulk_items[0]); i++) {
		snprintf(want, sizeof(want), "%s00540016/%zu/00420011", base,
		         bulk_items[i]);
		assert_string_equal(
		    member_str(json_array_get(items, bulk_items[i]), "00420011",
		               "BulkDataURI"),
		    want);
	}
	/* 10 bytes: under the threshold, inline. */
	assert_non_null(
	    member_str(json_array_get(items, 2), "00420011", "InlineBinary"));
	json_decref(m);
	pc_buf_cleanup(&v);
}

/* ingest__locate on its own, including its exhaustive fallback. */
static void test_locate(void **state)
{
	struct pc_buf v = PC_BUF_INIT;
	dcm_file *file;
	const dcm_dataset *ds;
	const dcm_elem *seq, *e;
	uint32_t path[2] = {TAG_RADIOPHARM_SEQ, TAG_ENCAPSULATED_DOC};
	size_t items[2], i;

	(void)state;
	make_nested(&v);
	file = dcm_file_parse((const uint8_t *)v.p, v.n, NULL, NULL);
	assert_non_null(file);
	ds = dcm_file_dataset(file);
	seq = dcm_dataset_find(ds, TAG_RADIOPHARM_SEQ);
	assert_non_null(seq);
	for (i = 0; i < dcm_elem_item_count(seq); i++) {
		e = dcm_dataset_find(dcm_elem_item(seq, i),
		                     TAG_ENCAPSULATED_DOC);
		if (e == NULL)
			continue;
		items[0] = 99;
		assert_true(ingest__locate(ds, path, 2, e, items));
		assert_int_equal(items[0], i);
	}
	/* An element that is not there. */
	e = dcm_dataset_find(ds, DCM_TAG_PIXEL_DATA);
	assert_false(ingest__locate(ds, path, 2, e, items));
	assert_true(ingest__locate(ds, &path[0] + 0, 1, seq, items));
	dcm_file_destroy(file);
	pc_buf_cleanup(&v);
}

static enum pc_status find_path(const dcm_dataset *ds, const char *path,
                                const dcm_elem **e)
{
	return ingest_bulkdata_find(ds, path, strlen(path), e);
}

/* The inverse of the URIs: every path written resolves to its element. */
static void test_bulkdata_find(void **state)
{
	struct pc_buf v = PC_BUF_INIT;
	dcm_file *file;
	const dcm_dataset *ds;
	const dcm_elem *e;

	(void)state;
	make_nested(&v);
	file = dcm_file_parse((const uint8_t *)v.p, v.n, NULL, NULL);
	assert_non_null(file);
	ds = dcm_file_dataset(file);
	assert_int_equal(find_path(ds, "7FE00010", &e), PC_OK);
	assert_int_equal(dcm_elem_value(e).n, 8);
	assert_int_equal(find_path(ds, "00540016/3/00420011", &e), PC_OK);
	assert_int_equal(dcm_elem_value(e).n, 1500);
	assert_int_equal(find_path(ds, "00540016/5/00420011", &e), PC_OK);
	assert_int_equal(dcm_elem_value(e).n, 3000);
	assert_int_equal(find_path(ds, "00540016/0/00420011", &e), PC_OK);
	assert_int_equal(dcm_elem_value(e).n, 2000);
	assert_int_equal(find_path(ds, "7fe00010", &e), PC_OK);
	assert_int_equal(find_path(ds, "00540016", &e), PC_OK);
	assert_true(dcm_elem_is_sequence(e));
	/* Not there. */
	assert_int_equal(find_path(ds, "00540016/1/00420011", &e), PC_NOTFOUND);
	assert_null(e);
	assert_int_equal(find_path(ds, "00540016/6/00420011", &e), PC_NOTFOUND);
	assert_int_equal(find_path(ds, "7FE00010/0/00420011", &e), PC_NOTFOUND);
	assert_int_equal(find_path(ds, "00420011", &e), PC_NOTFOUND);
	/* Malformed. */
	assert_int_equal(find_path(ds, "", &e), PC_INVAL);
	assert_int_equal(find_path(ds, "7FE0001", &e), PC_INVAL);
	assert_int_equal(find_path(ds, "7FE0001G", &e), PC_INVAL);
	assert_int_equal(find_path(ds, "7FE00010/", &e), PC_INVAL);
	assert_int_equal(find_path(ds, "00540016/0", &e), PC_INVAL);
	assert_int_equal(find_path(ds, "00540016/03/00420011", &e), PC_INVAL);
	assert_int_equal(find_path(ds, "00540016//00420011", &e), PC_INVAL);
	assert_int_equal(find_path(ds, "00540016/x/00420011", &e), PC_INVAL);
	assert_int_equal(find_path(ds, "/7FE00010", &e), PC_INVAL);
	dcm_file_destroy(file);
	pc_buf_cleanup(&v);
}

static void test_bulk_threshold_option(void **state)
{
	struct fixture f2;
	struct ingest_opts o = {.bulk_threshold = 5};
	struct ingest_result r;
	struct pc_buf v = PC_BUF_INIT;
	json_t *m, *items;

	(void)state;
	assert_int_equal(fixture_open(&f2, &o), 0);
	make_nested(&v);
	assert_int_equal(ingest_buffer(f2.ig, v.p, v.n, NULL, &r, NULL), PC_OK);
	m = stored_metadata(&f2, &r);
	items = json_object_get(json_object_get(m, "00540016"), "Value");
	assert_non_null(
	    member_str(json_array_get(items, 2), "00420011", "BulkDataURI"));
	json_decref(m);
	pc_buf_cleanup(&v);
	fixture_close(&f2);
}

/* ---- sweep -------------------------------------------------------------- */

static void test_sweep(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r;
	char path[160];
	size_t n, temp = 99, orphans = 99;
	bool exists = false;
	int fd;
	uint8_t *p = slurp(PYDICOM "MR_small.dcm", &n);

	assert_int_equal(ingest_buffer(f->ig, p, n, NULL, &r, NULL), PC_OK);
	/* A blob no row names (a crash between commit and index) and an
	 * unfinished upload. */
	assert_int_equal(
	    blob_put(f->store, "0123456789abcdef0123456789abcdef", p, n, NULL),
	    PC_OK);
	snprintf(path, sizeof(path),
	         "%s/tmp/abcdabcdabcdabcdabcdabcdabcdabcd.X1Y2Z3", f->root);
	fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "DICM", 4), 4);
	close(fd);
	assert_int_equal(count_blobs(f->store), 2);
	assert_int_equal(count_temp(f), 1);

	assert_int_equal(ingest_sweep(f->ig, &temp, &orphans, NULL), PC_OK);
	assert_int_equal(temp, 1);
	assert_int_equal(orphans, 1);
	assert_int_equal(count_blobs(f->store), 1);
	assert_int_equal(count_temp(f), 0);
	assert_int_equal(blob_exists(f->store, r.handle, &exists, NULL), PC_OK);
	assert_true(exists);
	/* Nothing left to do the second time. */
	assert_int_equal(ingest_sweep(f->ig, &temp, &orphans, NULL), PC_OK);
	assert_int_equal(temp, 0);
	assert_int_equal(orphans, 0);
	assert_int_equal(ingest_sweep(f->ig, NULL, NULL, NULL), PC_OK);
	free(p);
}

/*
 * Group durability's crash check: rows above the stored durable mark whose
 * blob is missing or not the bytes the row describes (what a power loss
 * between the commits and the sync can leave) are removed by the sweep;
 * intact ones stay. The crash is simulated by moving the mark back and
 * damaging two blobs.
 */
static void test_sweep_recheck(void **state)
{
	struct fixture *f = *state;
	static const char *files[3] = {PYDICOM "CT_small.dcm",
	                               PYDICOM "MR_small.dcm",
	                               PYDICOM "rtstruct.dcm"};
	struct ingest_result r[3];
	struct idx_instance got;
	char path[256];
	size_t n, temp = 9, orphans = 9;
	sqlite3 *db;

	for (int i = 0; i < 3; i++) {
		uint8_t *p = slurp(files[i], &n);

		assert_int_equal(ingest_buffer(f->ig, p, n, NULL, &r[i], NULL),
		                 PC_OK);
		free(p);
	}
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE totals SET durable_upto = 0",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	/* MR's blob cut short, rtstruct's gone. */
	snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", f->root, r[1].handle,
	         r[1].handle);
	assert_int_equal(truncate(path, 100), 0);
	snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", f->root, r[2].handle,
	         r[2].handle);
	assert_int_equal(unlink(path), 0);

	assert_int_equal(ingest_sweep(f->ig, &temp, &orphans, NULL), PC_OK);
	assert_int_equal(temp, 0);
	assert_int_equal(orphans, 1); /* MR's short blob */
	assert_int_equal(idx_instance_by_uid(f->ix, r[0].sop_uid, &got, NULL),
	                 PC_OK);
	assert_int_equal(idx_instance_by_uid(f->ix, r[1].sop_uid, &got, NULL),
	                 PC_NOTFOUND);
	assert_int_equal(idx_instance_by_uid(f->ix, r[2].sop_uid, &got, NULL),
	                 PC_NOTFOUND);
	assert_int_equal(count_blobs(f->store), 1);
	/* The mark moved past the checked rows: the next sweep checks none,
	 * and the lost instances can be stored again. */
	assert_int_equal(ingest_sweep(f->ig, &temp, &orphans, NULL), PC_OK);
	assert_int_equal(orphans, 0);
	{
		uint8_t *p = slurp(files[1], &n);
		struct ingest_result again;

		assert_int_equal(
		    ingest_buffer(f->ig, p, n, NULL, &again, NULL), PC_OK);
		assert_false(again.duplicate);
		free(p);
	}
}

static int setup_sync_each(void **state)
{
	struct ingest_opts o = {0};

	o.sync_each = true;
	return setup_with(state, &o);
}

/* ---- streaming ---------------------------------------------------------- */

static void test_streamed_bytewise(void **state)
{
	struct fixture *f = *state, f2;
	struct ingest_result r1, r2;
	struct idx_instance a, b;
	json_t *m1, *m2;
	char *s1, *s2;
	ingest_upload *u;
	size_t n, i;
	uint8_t *p = slurp(PYDICOM "MR_small.dcm", &n);

	u = begin(f->ig, 0);
	for (i = 0; i < n; i++)
		assert_int_equal(ingest_write(u, p + i, 1, NULL), PC_OK);
	assert_int_equal(ingest_commit(u, NULL, &r1, NULL), PC_OK);

	assert_int_equal(fixture_open(&f2, NULL), 0);
	assert_int_equal(ingest_buffer(f2.ig, p, n, NULL, &r2, NULL), PC_OK);

	assert_int_equal(r1.size, r2.size);
	assert_string_equal(r1.sop_uid, r2.sop_uid);
	assert_string_equal(r1.study_uid, r2.study_uid);
	assert_int_equal(idx_instance_by_uid(f->ix, r1.sop_uid, &a, NULL),
	                 PC_OK);
	assert_int_equal(idx_instance_by_uid(f2.ix, r2.sop_uid, &b, NULL),
	                 PC_OK);
	assert_memory_equal(a.sha256, b.sha256, 32);
	assert_int_equal(a.size, b.size);
	assert_string_equal(a.ts_uid, b.ts_uid);
	assert_int_equal(a.frames, b.frames);
	m1 = stored_metadata(f, &r1);
	m2 = stored_metadata(&f2, &r2);
	s1 = json_dumps(m1, JSON_SORT_KEYS | JSON_COMPACT);
	s2 = json_dumps(m2, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	json_decref(m1);
	json_decref(m2);
	assert_blob(f->store, r1.handle, p, n);

	/* Mixed piece sizes: held in memory up to 1 MiB, then written out
	 * and streamed through the 64 KiB write-behind buffer. */
	{
		size_t off = 0, step = 1;
		struct pc_buf big = PC_BUF_INIT;
		struct edit ed = {.sop = "1.2.3.999",
		                  .ob_size = (1u << 20) + 3 * 65536 + 123};
		struct ingest_result r3;

		/* MR_small with a long OB value added. */
		variant(p, n, &ed, &big);
		u = begin(f->ig, 0);
		while (off < big.n) {
			size_t k = step < big.n - off ? step : big.n - off;

			assert_int_equal(ingest_write(u, big.p + off, k, NULL),
			                 PC_OK);
			off += k;
			step = step * 7 % 70001 + 1;
		}
		assert_int_equal(ingest_commit(u, NULL, &r3, NULL), PC_OK);
		assert_blob(f->store, r3.handle, big.p, big.n);
		pc_buf_cleanup(&big);
	}
	fixture_close(&f2);
	free(p);
}

/* ---- a back-end without descriptors (like S3) --------------------------- */

/* Wraps an fs store through the public API, minus reader_fd: ingest must
 * then read the committed blob instead of mapping it. */
static void w_close(void *st)
{
	blob_store_close(st);
}
static void *w_put_begin(void *st, const char *key, struct pc_err *err)
{
	return blob_put_begin(st, key, err);
}
static enum pc_status w_put_write(void *w, const void *p, size_t n,
                                  struct pc_err *err)
{
	return blob_put_write(w, p, n, err);
}
static enum pc_status w_put_commit(void *w, struct pc_err *err)
{
	return blob_put_commit(w, err);
}
static void w_put_abort(void *w)
{
	blob_put_abort(w);
}
static void *w_open(void *st, const char *key, uint64_t *size,
                    struct pc_err *err)
{
	blob_reader *r = blob_open(st, key, err);

	if (r != NULL)
		*size = blob_reader_size(r);
	return r;
}
static enum pc_status w_read(void *r, void *p, size_t n, size_t *got,
                             struct pc_err *err)
{
	/* Short reads, as a network body gives them. */
	return blob_read(r, p, n > 1000 ? 1000 : n, got, err);
}
static void w_reader_close(void *r)
{
	blob_close(r);
}
static enum pc_status w_exists(void *st, const char *key, bool *exists,
                               struct pc_err *err)
{
	return blob_exists(st, key, exists, err);
}
static enum pc_status w_size(void *st, const char *key, uint64_t *size,
                             struct pc_err *err)
{
	return blob_size(st, key, size, err);
}
static enum pc_status w_del(void *st, const char *key, struct pc_err *err)
{
	return blob_delete(st, key, err);
}
static enum pc_status w_sweep(void *st, size_t *removed, struct pc_err *err)
{
	return blob_sweep_temp(st, removed, err);
}
static enum pc_status w_list(void *st, blob_list_fn fn, void *ctx,
                             struct pc_err *err)
{
	return blob_list(st, fn, ctx, err);
}

static const struct blob_ops fdless_ops = {
    .name = "fdless",
    .close = w_close,
    .put_begin = w_put_begin,
    .put_write = w_put_write,
    .put_commit = w_put_commit,
    .put_abort = w_put_abort,
    .open = w_open,
    .read = w_read,
    .reader_fd = NULL,
    .reader_close = w_reader_close,
    .exists = w_exists,
    .size = w_size,
    .del = w_del,
    .sweep_temp = w_sweep,
    .list = w_list,
};

static void test_store_without_fd(void **state)
{
	struct fixture *f = *state;
	blob_store *fdless = blob__store_create(&fdless_ops, f->store, NULL);
	ingest *ig;
	ingest_upload *u;
	struct ingest_result r;
	struct pc_err err = {0};
	json_t *m;
	size_t n;
	uint8_t *p = slurp(PYDICOM "MR_small.dcm", &n);

	assert_non_null(fdless);
	f->store = fdless; /* closing it closes the fs store inside */
	ig = ingest_create(fdless, f->ix, NULL, NULL);
	assert_non_null(ig);
	u = begin(ig, 0);
	assert_int_equal(ingest_write(u, p, n, NULL), PC_OK);
	if (ingest_commit(u, NULL, &r, &err) != PC_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(count_blobs(fdless), 1);
	m = stored_metadata(f, &r);
	assert_non_null(member_str(m, "7FE00010", "BulkDataURI"));
	json_decref(m);
	/* A refusal deletes through the wrapper too. */
	u = begin(ig, 0);
	assert_int_equal(ingest_write(u, "not dicom at all", 16, NULL), PC_OK);
	assert_int_not_equal(ingest_commit(u, NULL, &r, NULL), PC_OK);
	assert_int_equal(r.error, INGEST_NOT_DICOM);
	assert_int_equal(count_blobs(fdless), 1);
	ingest_destroy(ig);
	free(p);
}

/* ---- concurrency -------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 8
#define MAX_THREADS 64

/* `count` copies of the `n` bytes at `p`, SOPInstanceUIDs <prefix>.1 to
 * <prefix>.<count>; give them back with files_free(). */
static struct pc_buf *variants(const uint8_t *p, size_t n, const char *prefix,
                               size_t count)
{
	struct pc_buf *files = calloc(count, sizeof(*files));
	char sop[64];
	size_t i;

	assert_non_null(files);
	for (i = 0; i < count; i++) {
		struct edit ed = {.sop = sop};

		snprintf(sop, sizeof(sop), "%s.%zu", prefix, i + 1);
		pc_buf_init(&files[i]);
		variant(p, n, &ed, &files[i]);
	}
	return files;
}

static void files_free(struct pc_buf *files, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		pc_buf_cleanup(&files[i]);
	free(files);
}

struct worker {
	ingest *ig;
	const struct pc_buf *files;
	size_t from, to; /* its slice: files[from..to) */
	size_t stored;   /* of them, stored as new instances */
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct ingest_result r;
	struct pc_err err;
	size_t i;

	for (i = w->from; i < w->to; i++) {
		memset(&err, 0, sizeof(err));
		if (ingest_buffer(w->ig, w->files[i].p, w->files[i].n, NULL, &r,
		                  &err) == PC_OK &&
		    !r.duplicate)
			w->stored++;
		else
			fprintf(stderr, "worker: %s\n", err.msg);
	}
	return NULL;
}

/* Ingests files[0..count) from `threads` threads, a slice each; returns
 * how many were stored as new instances. */
static size_t ingest_parallel(ingest *ig, const struct pc_buf *files,
                              size_t count, size_t threads)
{
	struct worker w[MAX_THREADS];
	pthread_t t[MAX_THREADS];
	size_t i, stored = 0;

	assert_true(threads >= 1 && threads <= MAX_THREADS);
	for (i = 0; i < threads; i++) {
		w[i] = (struct worker){ig, files, count * i / threads,
		                       count * (i + 1) / threads, 0};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < threads; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		stored += w[i].stored;
	}
	return stored;
}

static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	struct pc_buf *files;
	struct idx_counts c;
	size_t n;
	uint8_t *p = slurp(PYDICOM "CT_small.dcm", &n);

	files = variants(p, n, "1.2.826.0.1.3680043.2.1", THREADS * PER_THREAD);
	assert_int_equal(
	    ingest_parallel(f->ig, files, THREADS * PER_THREAD, THREADS),
	    THREADS * PER_THREAD);
	files_free(files, THREADS * PER_THREAD);
	assert_int_equal(idx_counts(f->ix, &c, NULL), PC_OK);
	assert_int_equal(c.instances, THREADS * PER_THREAD);
	assert_int_equal(c.studies, 1);
	assert_int_equal(count_blobs(f->store), THREADS * PER_THREAD);
	free(p);
}

/* ---- allocation failures ------------------------------------------------ */

/* Every pc_malloc failing in turn: never a crash or a leak, never an
 * acknowledged instance without its blob, never a refused one with it. */
static void test_alloc_failures(void **state)
{
	struct fixture *f = *state;
	struct ingest_result r;
	struct idx_instance inst;
	struct pc_err err;
	enum pc_status st;
	uint64_t total, k;
	size_t n;
	bool exists;
	uint8_t *p = slurp(PYDICOM "MR_small.dcm", &n);

	pc_alloc_fail_after(0);
	assert_int_equal(ingest_buffer(f->ig, p, n, NULL, &r, NULL), PC_OK);
	total = pc_alloc_fail_after(0);
	/* Start from an empty store and index each time: a new fixture. */
	for (k = 1; k <= total + 1; k++) {
		struct fixture g;

		assert_int_equal(fixture_open(&g, NULL), 0);
		memset(&err, 0, sizeof(err));
		pc_alloc_fail_after(k);
		st = ingest_buffer(g.ig, p, n, NULL, &r, &err);
		pc_alloc_fail_after(0);
		if (st == PC_OK) {
			assert_int_equal(
			    idx_instance_by_uid(g.ix, r.sop_uid, &inst, NULL),
			    PC_OK);
			assert_int_equal(
			    blob_exists(g.store, inst.handle, &exists, NULL),
			    PC_OK);
			assert_true(exists);
			assert_int_equal(count_blobs(g.store), 1);
		} else {
			assert_int_not_equal(r.error, INGEST_OK);
			assert_int_equal(count_blobs(g.store), 0);
		}
		fixture_close(&g);
	}
	free(p);
}

/* ---- timing loop (not a test) ------------------------------------------- */

/* `count` ingests of distinct CT_small variants from `threads` threads
 * into a fresh store; prints instances/s. */
static int bench(long count, long threads)
{
	struct fixture f;
	struct pc_buf *files;
	struct timespec t0, t1;
	size_t n, stored;
	double s;
	uint8_t *p;

	if (count < 1 || threads < 1 || threads > MAX_THREADS)
		return 1;
	p = slurp(PYDICOM "CT_small.dcm", &n);
	files = variants(p, n, "1.2.826.0.1.3680043.2.9", (size_t)count);
	if (fixture_open(&f, NULL) != 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stored = ingest_parallel(f.ig, files, (size_t)count, (size_t)threads);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%ld ingests of %zu bytes, %ld threads, in %.3f s: "
	       "%.0f instances/s\n",
	       count, n, threads, s, (double)count / s);
	fixture_close(&f);
	files_free(files, (size_t)count);
	free(p);
	return stored != (size_t)count;
}

int main(void)
{
	const char *b = getenv("PACSD_INGEST_BENCH");
	const char *th = getenv("PACSD_INGEST_THREADS");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uid_valid),
	    cmocka_unit_test(test_new_handle),
	    cmocka_unit_test(test_locate),
	    cmocka_unit_test_setup_teardown(test_store_and_find, setup,
	                                    teardown),
	    cmocka_unit_test(test_store_encodings),
	    cmocka_unit_test_setup_teardown(test_sync_failure_reaches_writers,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_same_bytes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_other_bytes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_overwrite, setup_overwrite,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_not_dicom, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_uid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_meta_mismatch, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_study_mismatch, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_conflict_other_study, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metadata_nested_bulk, setup,
	                                    teardown),
	    cmocka_unit_test(test_bulk_threshold_option),
	    cmocka_unit_test(test_bulkdata_find),
	    cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep, setup_sync_each,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_recheck, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_store_and_find,
	                                    setup_sync_each, teardown),
	    cmocka_unit_test_setup_teardown(test_overwrite, setup_overwrite_each,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_streamed_bytewise, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_store_without_fd, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alloc_failures, setup,
	                                    teardown),
	};

	if (b != NULL)
		return bench(strtol(b, NULL, 10),
		             th != NULL ? strtol(th, NULL, 10) : 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
