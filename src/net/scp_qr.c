/*
 * scp_qr.c - what the C-MOVE and C-GET service providers share (PS3.4
 * C.4.2, C.4.3): the identifier of a retrieve checked and resolved by the
 * index into the list of instances to send, the stored files mapped for
 * sending, and the sub-operation counts with the responses that carry
 * them.
 *
 * DESIGN
 * A retrieve names entities by their unique keys only (PS3.4 C.4.2.2.1):
 * PatientID, StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, one per
 * level, UID lists allowed at the retrieve level. The keys become a struct
 * qry at the retrieve level (PATIENT is asked as the studies of the
 * patient) so that the index matches them like any C-FIND; each matching
 * study, series or instance is then walked with idx_instances_each(),
 * which gives the storage handle, SOP class and stored transfer syntax of
 * every instance. The whole list is known before the first sub-operation,
 * so that every response can say how many remain. Counts are US (PS3.7
 * E.1): a retrieve of more than 65535 instances is refused (A701) rather
 * than reported with wrong counts.
 *
 * Upper-level unique keys are used as filters when present but not
 * required (the standard requires them; common SCUs omit them at the
 * SERIES and IMAGE levels of the Study Root model). Unique keys below the
 * retrieve level and wildcards in unique keys are refused (A900): a
 * retrieve must never send more than was named.
 */
#include "net/net_int.h"

#include "dicom/dcm.h"
#include "index/idx.h"
#include "query/qry.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define TAG_QR_LEVEL DCM_TAG(0x0008, 0x0052)
#define TAG_PATIENT_ID DCM_TAG(0x0010, 0x0020)
#define TAG_STUDY_UID DCM_TAG(0x0020, 0x000D)
#define TAG_SERIES_UID DCM_TAG(0x0020, 0x000E)
#define TAG_SOP_UID DCM_TAG(0x0008, 0x0018)
#define TAG_FAILED_LIST DCM_TAG(0x0008, 0x0058)

#define IDENTIFIER_MAX (1u << 20)
#define SUBOPS_MAX 65535u      /* counts are US (PS3.7 E.1) */
#define FAILED_LIST_MAX 65534u /* a UI value's 16-bit explicit VR length */

/* The unique key of each level, top down (PS3.4 C.6.1.1, C.6.2.1). */
static const struct {
	uint32_t tag;
	enum dcm_vr vr;
	enum qry_level level;
	const char *name;
} unique_keys[] = {
	{TAG_PATIENT_ID, DCM_VR_LO, QRY_LEVEL_PATIENT, "PatientID"},
	{TAG_STUDY_UID, DCM_VR_UI, QRY_LEVEL_STUDY, "StudyInstanceUID"},
	{TAG_SERIES_UID, DCM_VR_UI, QRY_LEVEL_SERIES, "SeriesInstanceUID"},
	{TAG_SOP_UID, DCM_VR_UI, QRY_LEVEL_INSTANCE, "SOPInstanceUID"},
};
#define N_UNIQUE (sizeof(unique_keys) / sizeof(*unique_keys))

/* An Error Comment (0000,0902) is LO: no backslash or control
 * characters, at most 64 characters. */
static void PC_PRINTF(2, 3) comment_set(char c[DIMSE_COMMENT_MAX + 1],
					 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c, DIMSE_COMMENT_MAX + 1, fmt, ap);
	va_end(ap);
	for (char *p = c; *p; p++)
		if (*p == '\\' || (unsigned char)*p < 0x20)
			*p = ' ';
}

void scp__retrieve_init(struct scp_retrieve *r, struct scp_assoc *a,
			const struct dimse_cmd *rq, uint8_t pc_id,
			const char *what, struct pc_err *err)
{
	memset(r, 0, sizeof(*r));
	r->a = a;
	r->rq = rq;
	r->pc_id = pc_id;
	r->what = what;
	r->err = err;
	pc_buf_init(&r->raw);
	pc_buf_init(&r->failed_uids);
	r->failed_uids.max = FAILED_LIST_MAX;
}

void scp__retrieve_cleanup(struct scp_retrieve *r)
{
	dcm_file_destroy(r->ident);
	pc_buf_cleanup(&r->raw);
	pc_buf_cleanup(&r->failed_uids);
	pc_free(r->items);
	r->ident = NULL;
	r->items = NULL;
}

/* ---- the identifier ----------------------------------------------------- */

/* The whole value of a unique key ("" when absent or empty). */
static enum pc_status key_value(const dcm_dataset *ds, uint32_t tag,
				struct pc_buf *v)
{
	const dcm_elem *e = dcm_dataset_find(ds, tag);

	pc_buf_reset(v);
	if (e == NULL || dcm_elem_length(e) == 0)
		return PC_OK;
	return dcm_elem_get_string(ds, e, SIZE_MAX, v);
}

enum pc_status scp__retrieve_read(struct scp_retrieve *r, bool patient_root,
				  uint16_t *status,
				  char comment[DIMSE_COMMENT_MAX + 1])
{
	struct scp_assoc *a = r->a;
	struct pc_err qerr = {0};
	struct pc_buf v = PC_BUF_INIT;
	enum pc_status st = PC_OK;
	const char *ts_uid = dul_conn_ts(a->conn, r->pc_id);

	*status = DIMSE_SUCCESS;
	comment[0] = '\0';
	if (!dimse_cmd_has_data(r->rq)) {
		/* PS3.7 9.1.3.1.4 / 9.1.4.1.5: the identifier is mandatory. */
		*status = DIMSE_DATASET_MISMATCH;
		comment_set(comment, "%s-RQ without an identifier", r->what);
		return PC_OK;
	}
	/* The identifier is small: read it whole (bounded), behind a Part 10
	 * header so that the parser knows its transfer syntax. */
	dimse_part10_header(&r->raw, r->rq->affected_class, "1.2",
			    ts_uid ? ts_uid : "1.2.840.10008.1.2", "");
	size_t head = r->raw.n;
	st = dimse_recv_data_buf(&a->rd, r->pc_id, &r->raw,
				 IDENTIFIER_MAX + head, &qerr);
	if (st == PC_LIMIT || st == PC_NOMEM) {
		/* The rest of the data set was read and dropped: the
		 * association is still in step. */
		*status = DIMSE_OUT_OF_RESOURCES;
		comment_set(comment, "identifier too large");
		return PC_OK;
	}
	if (st != PC_OK)
		return pc_err_set(r->err, qerr.status, 0, "%s", qerr.msg);
	r->ident = dcm_file_parse((const uint8_t *)r->raw.p, r->raw.n, NULL,
				  &qerr);
	if (r->ident == NULL) {
		*status = DIMSE_CANNOT_UNDERSTAND;
		comment_set(comment, "%s", qerr.msg);
		return PC_OK;
	}
	const dcm_dataset *ds = dcm_file_dataset(r->ident);
	if (dcm_dataset_get_string(ds, TAG_QR_LEVEL, 0, &v) != PC_OK ||
	    !scp__level_of(pc_buf_str(&v), patient_root, &r->qlevel)) {
		/* PS3.4 C.4.2.1.5: identifier does not match SOP class. */
		*status = DIMSE_DATASET_MISMATCH;
		comment_set(comment, "missing or invalid QueryRetrieveLevel");
		goto out;
	}
	snprintf(r->level, sizeof(r->level), "%s", pc_buf_str(&v));
	for (size_t i = 0; i < N_UNIQUE; i++) {
		const char *name = unique_keys[i].name;
		if (key_value(ds, unique_keys[i].tag, &v) != PC_OK) {
			*status = DIMSE_DATASET_MISMATCH;
			comment_set(comment, "%s cannot be read", name);
			goto out;
		}
		const char *s = pc_buf_str(&v);
		if (unique_keys[i].level > r->qlevel) {
			/* A key below the level would be ignored by the
			 * walk: more would be sent than was named. */
			if (s[0] != '\0') {
				*status = DIMSE_DATASET_MISMATCH;
				comment_set(comment, "%s below the %s level",
					    name, r->level);
				goto out;
			}
			continue;
		}
		if (unique_keys[i].level == r->qlevel && s[0] == '\0') {
			*status = DIMSE_DATASET_MISMATCH;
			comment_set(comment, "%s missing at the %s level", name,
				    r->level);
			goto out;
		}
		/* PS3.4 C.4.2.2.1: single values or UID lists, never
		 * wildcards; PatientID is one value. */
		if (strpbrk(s, "*?") != NULL ||
		    (unique_keys[i].vr != DCM_VR_UI && strchr(s, '\\'))) {
			*status = DIMSE_DATASET_MISMATCH;
			comment_set(comment, "%s must be a single value", name);
			goto out;
		}
	}
out:
	pc_buf_cleanup(&v);
	return PC_OK;
}

/* ---- resolving ---------------------------------------------------------- */

struct entity {                /* one match of the retrieve-level query */
	char study[IDX_UID_MAX + 1];
	char series[IDX_UID_MAX + 1];
	char sop[IDX_UID_MAX + 1];
};

struct entities {
	struct entity *v;
	size_t n, cap;
	struct pc_err *err;
};

static void copy_uid(char dst[IDX_UID_MAX + 1], const dcm_dataset *ds,
		     uint32_t tag, struct pc_buf *v)
{
	dst[0] = '\0';
	if (key_value(ds, tag, v) == PC_OK)
		snprintf(dst, IDX_UID_MAX + 1, "%s", pc_buf_str(v));
}

static enum pc_status on_entity(void *ctx, const char *json, size_t n)
{
	struct entities *es = ctx;
	struct pc_err jerr = {0};
	struct pc_buf v = PC_BUF_INIT;

	if (es->n == SUBOPS_MAX)
		return PC_LIMIT;
	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 16;
		struct entity *nv = pc_realloc(es->v, cap * sizeof(*nv));
		if (nv == NULL)
			return pc_err_set(es->err, PC_NOMEM, 0,
					  "out of memory");
		es->v = nv;
		es->cap = cap;
	}
	dcm_dataset *ds = dcm_json_read(json, n, NULL, NULL, &jerr);
	if (ds == NULL)
		return pc_err_set(es->err, jerr.status, 0,
				  "index answer unreadable: %s", jerr.msg);
	struct entity *e = &es->v[es->n];
	copy_uid(e->study, ds, TAG_STUDY_UID, &v);
	copy_uid(e->series, ds, TAG_SERIES_UID, &v);
	copy_uid(e->sop, ds, TAG_SOP_UID, &v);
	dcm_dataset_destroy(ds);
	pc_buf_cleanup(&v);
	if (e->study[0] != '\0')
		es->n++;
	return PC_OK;
}

static enum pc_status on_instance(void *ctx, const struct idx_instance *inst,
				  const char *metadata, size_t len)
{
	struct scp_retrieve *r = ctx;

	(void)metadata;
	(void)len;
	if (r->n_items == SUBOPS_MAX)
		return PC_LIMIT;
	if (r->n_items == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct scp_qr_item *nv = pc_realloc(r->items,
						    cap * sizeof(*nv));
		if (nv == NULL)
			return PC_NOMEM;
		r->items = nv;
		r->cap = cap;
	}
	struct scp_qr_item *it = &r->items[r->n_items++];
	memcpy(it->handle, inst->handle, sizeof(it->handle));
	memcpy(it->sop_uid, inst->sop_uid, sizeof(it->sop_uid));
	memcpy(it->sop_class, inst->sop_class_uid, sizeof(it->sop_class));
	memcpy(it->ts, inst->ts_uid, sizeof(it->ts));
	it->handle[IDX_HANDLE_LEN] = '\0';
	it->sop_uid[IDX_UID_MAX] = it->sop_class[IDX_UID_MAX] = '\0';
	it->ts[IDX_UID_MAX] = '\0';
	return PC_OK;
}

/* The query at the retrieve level with the unique keys given; the UIDs of
 * the levels down to it are asked for (universal keys) so that each match
 * names its study, series and instance. */
static enum pc_status build_query(struct scp_retrieve *r, struct qry *q,
				  struct pc_err *err)
{
	const dcm_dataset *ds = dcm_file_dataset(r->ident);
	enum qry_level ql = r->qlevel == QRY_LEVEL_PATIENT ? QRY_LEVEL_STUDY
							   : r->qlevel;
	struct pc_buf v = PC_BUF_INIT;
	enum pc_status st = qry_init(q, ql);

	for (size_t i = 0; i < N_UNIQUE && st == PC_OK; i++) {
		if (unique_keys[i].level > ql)
			break;
		st = key_value(ds, unique_keys[i].tag, &v);
		if (st != PC_OK)
			break;
		const char *s = pc_buf_str(&v);
		if (s[0] != '\0' || unique_keys[i].level >= QRY_LEVEL_STUDY)
			st = qry_add_key(q, unique_keys[i].tag,
					 unique_keys[i].vr, s, err);
	}
	pc_buf_cleanup(&v);
	return st;
}

enum pc_status scp__retrieve_resolve(struct scp_retrieve *r,
				     uint16_t *status,
				     char comment[DIMSE_COMMENT_MAX + 1])
{
	idx *ix = r->a->svc->index;
	struct entities es = {NULL, 0, 0, NULL};
	struct idx_query_opts qo = {NULL, 0};
	struct pc_err qerr = {0};
	struct qry q = {0};
	enum pc_status st;

	*status = DIMSE_SUCCESS;
	comment[0] = '\0';
	es.err = &qerr;
	st = build_query(r, &q, &qerr);
	if (st != PC_OK) {
		/* A key the query model refuses (an empty UID in a list):
		 * the identifier is wrong, the association is fine. */
		*status = st == PC_NOMEM ? DIMSE_OUT_OF_RESOURCES
					 : DIMSE_DATASET_MISMATCH;
		comment_set(comment, "%s", qerr.msg);
		st = PC_OK;
		goto out;
	}
	st = idx_query(ix, &q, &qo, on_entity, &es, NULL, &qerr);
	for (size_t i = 0; i < es.n && st == PC_OK; i++) {
		const struct entity *e = &es.v[i];
		bool series = r->qlevel >= QRY_LEVEL_SERIES;
		bool sop = r->qlevel == QRY_LEVEL_INSTANCE;
		st = idx_instances_each(ix, e->study,
					series ? e->series : NULL,
					sop ? e->sop : NULL, false,
					on_instance, r, &qerr);
		if (st == PC_NOTFOUND) /* deleted meanwhile */
			st = PC_OK;
	}
	if (st == PC_LIMIT) {
		/* PS3.4 C.4.2.1.5: A701, cannot count the matches in a US. */
		*status = DIMSE_OUT_OF_RESOURCES_MATCHES;
		comment_set(comment, "more than %u instances match",
			    SUBOPS_MAX);
	} else if (st != PC_OK) {
		pc_log(PC_LOG_ERROR, "dimse: %s from \"%s\": %s", r->what,
		       r->a->calling_ae,
		       qerr.msg[0] ? qerr.msg : pc_status_text(st));
		*status = st == PC_NOMEM ? DIMSE_OUT_OF_RESOURCES
					 : DIMSE_CANNOT_UNDERSTAND;
		comment_set(comment, "the index could not be searched");
	} else {
		r->counting = true;
		r->remaining = (uint16_t)r->n_items;
	}
	st = PC_OK;
out:
	qry_cleanup(&q);
	pc_free(es.v);
	return st;
}

/* ---- counting and responding -------------------------------------------- */

/* PS3.7 C.1-C.3: 0000 success; 0001 and Bxxx warnings (0107 and 0116 are
 * the warnings of PS3.7 C.4 some peers use for C-STORE); the rest fail. */
static bool is_warning(uint16_t s)
{
	return s == 0x0001 || s == 0x0107 || s == 0x0116 ||
	       (s & 0xF000) == 0xB000;
}

void scp__retrieve_count(struct scp_retrieve *r, size_t i,
			 uint16_t store_status)
{
	if (r->remaining > 0)
		r->remaining--;
	if (store_status == DIMSE_SUCCESS) {
		r->completed++;
	} else if (is_warning(store_status)) {
		r->warning++;
	} else {
		r->failed++;
		/* The list is bounded (a UI value's length): past it, the
		 * count still says how many failed. */
		const char *uid = r->items[i].sop_uid;
		size_t need = strlen(uid) + (r->failed_uids.n ? 1 : 0);
		if (r->failed_uids.n + need <= FAILED_LIST_MAX) {
			if (r->failed_uids.n)
				pc_buf_putc(&r->failed_uids, '\\');
			pc_buf_puts(&r->failed_uids, uid);
		}
	}
}

/* The Failed SOP Instance UID List as a data set in the context's
 * transfer syntax (PS3.4 C.4.2.1.3.1, C.4.3.1.3.1). */
static enum pc_status failed_list(struct scp_retrieve *r, struct pc_buf *out)
{
	const char *ts_uid = dul_conn_ts(r->a->conn, r->pc_id);
	const struct dcm_ts *ts = ts_uid ? dcm_ts_find(ts_uid, strlen(ts_uid))
					 : NULL;
	dcm_dataset *ds = dcm_dataset_create();
	enum pc_status st;

	if (ds == NULL)
		return PC_NOMEM;
	st = pc_buf_status(&r->failed_uids);
	if (st == PC_OK)
		st = dcm_dataset_set_string(ds, TAG_FAILED_LIST, DCM_VR_UI,
					    pc_buf_str(&r->failed_uids));
	if (st == PC_OK) {
		struct dcm_write_opts wo = {.ts = ts, .no_preamble = true};
		st = dcm_file_write(NULL, ds, &wo, out, NULL);
	}
	dcm_dataset_destroy(ds);
	return st;
}

static enum pc_status respond(struct scp_retrieve *r, uint16_t status,
			      const char *comment)
{
	struct pc_buf data = PC_BUF_INIT;
	struct dimse_cmd rsp;
	bool pending = status == DIMSE_PENDING;
	enum pc_status st;

	scp__response(r->rq, status, &rsp);
	if (comment != NULL && comment[0] != '\0') {
		size_t n = strnlen(comment, DIMSE_COMMENT_MAX);
		rsp.present |= DIMSE_F_ERROR_COMMENT;
		memcpy(rsp.error_comment, comment, n);
		rsp.error_comment[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (rsp.error_comment[i] == '\\' ||
			    (unsigned char)rsp.error_comment[i] < 0x20)
				rsp.error_comment[i] = ' ';
	}
	if (r->counting) {
		/* PS3.4 C.4.2.1.6: Remaining only while pending and in a
		 * Cancel (those not started); the others in every response
		 * once sub-operations were counted (C.4.2.1.7-9). */
		if (pending || status == DIMSE_CANCEL) {
			rsp.present |= DIMSE_F_REMAINING;
			rsp.remaining = r->remaining;
		}
		rsp.present |= DIMSE_F_COMPLETED | DIMSE_F_FAILED |
			       DIMSE_F_WARNING;
		rsp.completed = r->completed;
		rsp.failed = r->failed;
		rsp.warning = r->warning;
	}
	/* PS3.4 C.4.2.1.4.2: Pending responses carry no data set; Cancel,
	 * Failure, Refused and Warning carry the Failed SOP Instance UID
	 * List, which is absent (no data set) when nothing failed. */
	if (!pending && status != DIMSE_SUCCESS && r->failed_uids.n > 0) {
		if (failed_list(r, &data) == PC_OK) {
			rsp.data_set_type = 0x0000;
		} else {
			pc_log(PC_LOG_WARN, "dimse: %s from \"%s\": cannot "
			       "encode the Failed SOP Instance UID List",
			       r->what, r->a->calling_ae);
			pc_buf_reset(&data);
		}
	}
	st = dimse_send(r->a->conn, r->pc_id, &rsp,
			dimse_cmd_has_data(&rsp) ? data.p : NULL, data.n,
			r->err);
	pc_buf_cleanup(&data);
	return st;
}

enum pc_status scp__retrieve_pending(struct scp_retrieve *r)
{
	return respond(r, DIMSE_PENDING, NULL);
}

enum pc_status scp__retrieve_poll(struct scp_retrieve *r, bool *stop)
{
	enum dimse_next next = DIMSE_NEXT_COMMAND;
	bool cancelled = false;
	enum pc_status st;

	*stop = false;
	st = dimse_poll_cancel(&r->a->rd, r->rq->message_id, &cancelled,
			       &next, r->err);
	if (st != PC_OK)
		return st;
	if (next == DIMSE_NEXT_ABORTED)
		return pc_err_set(r->err, PC_IO, 0, "the peer aborted during "
				  "the %s", r->what);
	if (next == DIMSE_NEXT_RELEASE)
		/* PS3.8 Sta8 still carries P-DATA: the final response goes
		 * out before the release is answered. */
		r->release_asked = true;
	if (cancelled) {
		r->cancelled = true;
		*stop = true;
	}
	return PC_OK;
}

static void log_line(const struct scp_retrieve *r, uint16_t status,
		     const char *comment)
{
	char dest[DIMSE_AE_MAX + 8] = "";

	if (r->dest != NULL)
		snprintf(dest, sizeof(dest), " to \"%s\"", r->dest);
	pc_log(status == DIMSE_SUCCESS || status == DIMSE_CANCEL
		       ? PC_LOG_INFO
		       : PC_LOG_WARN,
	       "dimse: %s %s from \"%s\"%s: %zu instance(s), %u completed, "
	       "%u failed, %u warning%s: status 0x%04X%s%s", r->what,
	       r->level[0] ? r->level : "-", r->a->calling_ae, dest,
	       r->n_items, r->completed, r->failed, r->warning,
	       r->cancelled ? ", cancelled" : "", status,
	       comment && comment[0] ? ": " : "", comment ? comment : "");
}

enum pc_status scp__retrieve_refuse(struct scp_retrieve *r, uint16_t status,
				    const char *comment)
{
	log_line(r, status, comment);
	return respond(r, status, comment);
}

enum pc_status scp__retrieve_finish(struct scp_retrieve *r,
				    const char *comment)
{
	uint16_t status;
	enum pc_status st;

	if (r->cancelled)
		status = DIMSE_CANCEL;
	else if (r->failed == 0 && r->warning == 0)
		status = DIMSE_SUCCESS;
	else if (r->completed == 0 && r->warning == 0)
		/* PS3.4 C.4.2.2.1: Failure or Refused when every
		 * sub-operation failed; A702 is the refusal that says so. */
		status = DIMSE_OUT_OF_RESOURCES_SUBOPS;
	else
		status = DIMSE_WARNING_SUBOPS;
	char text[DIMSE_COMMENT_MAX + 1] = "";
	if (status == DIMSE_SUCCESS || status == DIMSE_CANCEL) {
		comment = NULL;
	} else if (comment == NULL) {
		if (r->failed == 0)
			comment_set(text, "%u sub-operation(s) with a warning",
				    r->warning);
		else if (status == DIMSE_OUT_OF_RESOURCES_SUBOPS)
			comment_set(text, "all %u sub-operation(s) failed",
				    r->failed);
		else
			comment_set(text, "%u of %zu sub-operation(s) failed",
				    r->failed, r->n_items);
		comment = text;
	}
	log_line(r, status, comment);
	st = respond(r, status, comment);
	if (st != PC_OK || !r->release_asked)
		return st;
	struct pc_err rerr = {0};
	if (dul_release_respond(r->a->conn, &rerr) != PC_OK)
		pc_log(PC_LOG_WARN, "dimse: %s: release: %s", r->a->peer,
		       rerr.msg);
	return pc_err_set(r->err, PC_STOP, 0, "released by the peer during "
			  "the %s", r->what);
}

/* ---- stored files ------------------------------------------------------- */

enum pc_status scp__qr_file_open(blob_store *bs, const struct scp_qr_item *it,
				 struct scp_qr_file *f, struct pc_err *err)
{
	struct dcm_read_opts ro = {DCM_READ_META_ONLY, NULL};
	struct pc_err perr = {0};
	enum pc_status st = PC_OK;

	memset(f, 0, sizeof(*f));
	f->br = blob_open(bs, it->handle, err);
	if (f->br == NULL)
		return err && err->status ? err->status : PC_IO;
	uint64_t size = blob_reader_size(f->br);
	if (size > SIZE_MAX / 2 || size == 0) {
		st = pc_err_set(err, PC_LIMIT, 0, "stored file %s: size %llu",
				it->handle, (unsigned long long)size);
		goto fail;
	}
	f->n = (size_t)size;
	/* Map read-only: a multi-gigabyte instance is sent from the page
	 * cache without a copy. */
	int fd = blob_reader_fd(f->br);
	if (fd >= 0) {
		void *m = mmap(NULL, f->n, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			(void)madvise(m, f->n, MADV_SEQUENTIAL);
			f->map = m;
			f->p = m;
		}
	}
	if (f->p == NULL) {
		size_t got = 0, total = 0;
		f->copy = pc_malloc(f->n);
		if (f->copy == NULL) {
			st = pc_err_set(err, PC_NOMEM, 0, "out of memory for "
					"%zu bytes", f->n);
			goto fail;
		}
		do {
			st = blob_read(f->br, f->copy + total, f->n - total,
				       &got, err);
			total += got;
		} while (st == PC_OK && got > 0 && total < f->n);
		if (st == PC_OK && total != f->n)
			st = pc_err_set(err, PC_IO, 0, "stored file %s: short "
					"read", it->handle);
		if (st != PC_OK)
			goto fail;
		f->p = f->copy;
	}
	/* Where the data set starts: C-GET sends it without the meta. */
	dcm_file *df = dcm_file_parse(f->p, f->n, &ro, &perr);
	if (df == NULL) {
		st = pc_err_set(err, PC_PARSE, 0, "stored file %s: %s",
				it->handle, perr.msg);
		goto fail;
	}
	uint64_t off = dcm_file_dataset_offset(df);
	dcm_file_destroy(df);
	if (off > f->n) {
		st = pc_err_set(err, PC_PARSE, 0, "stored file %s: no data "
				"set", it->handle);
		goto fail;
	}
	f->data_off = (size_t)off;
	return PC_OK;
fail:
	scp__qr_file_close(f);
	return st;
}

void scp__qr_file_close(struct scp_qr_file *f)
{
	if (f->map != NULL)
		munmap(f->map, f->n);
	pc_free(f->copy);
	blob_close(f->br);
	memset(f, 0, sizeof(*f));
}
