/*
 * scp_find.c - the C-FIND service provider (PS3.4 C.4.1, PS3.7 9.3.2) for
 * the Patient Root and Study Root Query/Retrieve information models.
 *
 * The identifier becomes a struct qry, the same query model QIDO-RS uses,
 * and the index answers it: one matching engine for both protocols. Each
 * match arrives as DICOM JSON, is read back into a data set, trimmed to the
 * attributes the identifier asked for (PS3.4 C.4.1.1.3.2) and sent as a
 * pending response in the context's transfer syntax. A C-CANCEL-RQ is
 * looked for between responses.
 */
#include "net/net_int.h"

#include "dicom/dcm.h"
#include "index/idx.h"
#include "query/qry.h"

#include <string.h>

#define TAG_QR_LEVEL DCM_TAG(0x0008, 0x0052)
#define TAG_RETRIEVE_AE DCM_TAG(0x0008, 0x0054)
#define IDENTIFIER_MAX (1u << 20)

struct find_ctx {
	struct scp_assoc *a;
	const struct dimse_cmd *rq;
	uint8_t pc_id;
	const struct dcm_ts *ts;
	const dcm_dataset *ident;   /* what was asked for */
	const char *level;          /* the QueryRetrieveLevel text */
	size_t sent;
	bool cancelled;
	struct pc_buf out;          /* one encoded response data set */
	struct pc_err *err;
};

/* PS3.4 C.6.1.1.1 / C.6.2.1.1: the levels each model has. Shared with
 * C-MOVE and C-GET (scp_qr.c). */
bool scp__level_of(const char *text, bool patient_root, enum qry_level *out)
{
	if (strcmp(text, "PATIENT") == 0 && patient_root)
		*out = QRY_LEVEL_PATIENT;
	else if (strcmp(text, "STUDY") == 0)
		*out = QRY_LEVEL_STUDY;
	else if (strcmp(text, "SERIES") == 0)
		*out = QRY_LEVEL_SERIES;
	else if (strcmp(text, "IMAGE") == 0)
		*out = QRY_LEVEL_INSTANCE;
	else
		return false;
	return true;
}

/* Whether an attribute of the identifier takes part in matching: text
 * values do; binary ones and sequences are only returned. */
static bool matchable(enum dcm_vr vr)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);

	return vi != NULL &&
	       (vi->cls == DCM_VRC_STRING || vi->cls == DCM_VRC_TEXT ||
		vi->cls == DCM_VRC_NUMBER) && vr != DCM_VR_AT;
}

static enum pc_status build_query(const dcm_dataset *ident, struct qry *q,
				  struct pc_err *err)
{
	struct pc_buf v = PC_BUF_INIT;
	enum pc_status st = PC_OK;

	for (size_t i = 0; i < dcm_dataset_count(ident) && st == PC_OK; i++) {
		const dcm_elem *e = dcm_dataset_at(ident, i);
		uint32_t tag = dcm_elem_tag(e);
		enum dcm_vr vr = dcm_elem_vr(e);
		if (DCM_TAG_GROUP(tag) == 0x0002 ||
		    tag == DCM_TAG_SPECIFIC_CHARSET || tag == TAG_QR_LEVEL ||
		    tag == TAG_RETRIEVE_AE)
			continue;
		pc_buf_reset(&v);
		if (matchable(vr) && dcm_elem_length(e) > 0) {
			/* The whole value, backslashes kept: a UID list or
			 * several values (PS3.4 C.2.2.2.2). */
			st = dcm_elem_get_string(ident, e, SIZE_MAX, &v);
			if (st != PC_OK) {
				pc_err_set(err, st, 0,
					   "identifier (%04X,%04X): cannot "
					   "read its value",
					   DCM_TAG_GROUP(tag),
					   DCM_TAG_ELEM(tag));
				break;
			}
		}
		/* An empty or non-matchable key is a universal match: the
		 * attribute is only returned. */
		st = qry_add_key(q, tag, vr, pc_buf_str(&v), err);
	}
	pc_buf_cleanup(&v);
	return st;
}

/* Removes from `ds` what the identifier did not ask for, and adds the
 * Query/Retrieve Level and the Retrieve AE Title (when asked). */
static enum pc_status trim(struct find_ctx *f, dcm_dataset *ds)
{
	uint32_t drop[512];
	size_t n = 0;

	for (size_t i = 0; i < dcm_dataset_count(ds); i++) {
		uint32_t tag = dcm_elem_tag(dcm_dataset_at(ds, i));
		if (tag == DCM_TAG_SPECIFIC_CHARSET)
			continue;
		if (dcm_dataset_find(f->ident, tag) != NULL &&
		    tag != TAG_RETRIEVE_AE)
			continue;
		if (n < sizeof(drop) / sizeof(*drop))
			drop[n++] = tag;
	}
	for (size_t i = 0; i < n; i++)
		(void)dcm_dataset_remove(ds, drop[i]);
	enum pc_status st = dcm_dataset_set_string(ds, TAG_QR_LEVEL,
						   DCM_VR_CS, f->level);
	if (st == PC_OK && dcm_dataset_find(f->ident, TAG_RETRIEVE_AE))
		st = dcm_dataset_set_string(ds, TAG_RETRIEVE_AE, DCM_VR_AE,
					    f->a->svc->cfg->aet);
	return st;
}

static enum pc_status on_match(void *ctx, const char *json, size_t n)
{
	struct find_ctx *f = ctx;
	struct pc_err jerr = {0};
	struct dimse_cmd rsp;
	enum dimse_next next;
	enum pc_status st;

	dcm_dataset *ds = dcm_json_read(json, n, NULL, NULL, &jerr);
	if (ds == NULL)
		return pc_err_set(f->err, jerr.status, 0,
				  "index answer unreadable: %s", jerr.msg);
	st = trim(f, ds);
	pc_buf_reset(&f->out);
	if (st == PC_OK) {
		struct dcm_write_opts wo = {.ts = f->ts, .no_preamble = true};
		st = dcm_file_write(NULL, ds, &wo, &f->out, f->err);
	}
	dcm_dataset_destroy(ds);
	if (st != PC_OK)
		return st;
	scp__response(f->rq, DIMSE_PENDING, &rsp);
	rsp.data_set_type = 0x0000;
	st = dimse_send(f->a->conn, f->pc_id, &rsp, f->out.p, f->out.n,
			f->err);
	if (st != PC_OK)
		return st;
	f->sent++;
	st = dimse_poll_cancel(&f->a->rd, f->rq->message_id, &f->cancelled,
			       &next, f->err);
	if (st != PC_OK)
		return st;
	return f->cancelled ? PC_STOP : PC_OK;
}

static enum pc_status respond(struct find_ctx *f, uint16_t status,
			      const char *comment)
{
	struct dimse_cmd rsp;

	scp__response(f->rq, status, &rsp);
	if (comment != NULL) {
		size_t n = strnlen(comment, DIMSE_COMMENT_MAX);
		rsp.present |= DIMSE_F_ERROR_COMMENT;
		memcpy(rsp.error_comment, comment, n);
		rsp.error_comment[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (rsp.error_comment[i] == '\\' ||
			    (unsigned char)rsp.error_comment[i] < 0x20)
				rsp.error_comment[i] = ' ';
	}
	return dimse_send(f->a->conn, f->pc_id, &rsp, NULL, 0, f->err);
}

enum pc_status scp__find(struct scp_assoc *a, const struct dimse_cmd *cmd,
			 uint8_t pc_id, struct pc_err *err)
{
	struct find_ctx f = {a, cmd, pc_id, NULL, NULL, "", 0, false,
			     PC_BUF_INIT, err};
	struct pc_buf raw = PC_BUF_INIT, v = PC_BUF_INIT;
	struct pc_err qerr = {0};
	struct qry q = {0};
	dcm_file *file = NULL;
	enum pc_status st;
	enum qry_level level;
	const char *ts_uid = dul_conn_ts(a->conn, pc_id);

	if (!dimse_cmd_has_data(cmd))
		return respond(&f, DIMSE_CANNOT_UNDERSTAND,
			       "C-FIND-RQ without an identifier");
	/* The identifier is small; read it whole (bounded). */
	dimse_part10_header(&raw, cmd->affected_class, "1.2", ts_uid, "");
	size_t head = raw.n;
	st = dimse_recv_data_buf(&a->rd, pc_id, &raw, IDENTIFIER_MAX + head,
				 &qerr);
	if (st == PC_LIMIT) {
		st = respond(&f, DIMSE_OUT_OF_RESOURCES,
			     "identifier too large");
		goto out;
	}
	if (st != PC_OK) {
		pc_err_set(err, qerr.status, 0, "%s", qerr.msg);
		goto out;
	}
	f.ts = dcm_ts_find(ts_uid, strlen(ts_uid));
	file = dcm_file_parse((const uint8_t *)raw.p, raw.n, NULL, &qerr);
	if (file == NULL) {
		st = respond(&f, DIMSE_CANNOT_UNDERSTAND, qerr.msg);
		goto out;
	}
	f.ident = dcm_file_dataset(file);
	if (dcm_dataset_get_string(f.ident, TAG_QR_LEVEL, 0, &v) != PC_OK ||
	    !scp__level_of(pc_buf_str(&v),
		      strcmp(cmd->affected_class, NET_PATIENT_ROOT_FIND) == 0,
		      &level)) {
		/* PS3.4 C.4.1.1.4: identifier does not match SOP class. */
		st = respond(&f, DIMSE_DATASET_MISMATCH,
			     "missing or invalid QueryRetrieveLevel");
		goto out;
	}
	f.level = pc_buf_str(&v);
	st = qry_init(&q, level);
	if (st == PC_OK)
		st = build_query(f.ident, &q, &qerr);
	if (st != PC_OK) {
		st = respond(&f, st == PC_NOMEM ? DIMSE_OUT_OF_RESOURCES
						: DIMSE_DATASET_MISMATCH,
			     qerr.msg);
		goto out;
	}
	struct idx_query_opts qo = {NULL, 0};
	st = idx_query(a->svc->index, &q, &qo, on_match, &f, NULL, err);
	if (st == PC_STOP) {
		/* C-CANCEL-RQ (or a release/abort, which ends us anyway). */
		st = dul_conn_established(a->conn)
			     ? respond(&f, DIMSE_CANCEL, NULL)
			     : PC_OK;
	} else if (st == PC_OK) {
		st = respond(&f, DIMSE_SUCCESS, NULL);
	} else if (dul_conn_established(a->conn)) {
		pc_log(PC_LOG_ERROR, "dimse: C-FIND from \"%s\": %s",
		       a->calling_ae, err ? err->msg : "");
		st = respond(&f, DIMSE_OUT_OF_RESOURCES,
			     "the query could not be run");
	}
	pc_log(PC_LOG_INFO, "dimse: C-FIND %s from \"%s\": %zu match(es)%s",
	       f.level, a->calling_ae, f.sent, f.cancelled ? ", cancelled" : "");
out:
	qry_cleanup(&q);
	dcm_file_destroy(file);
	pc_buf_cleanup(&raw);
	pc_buf_cleanup(&v);
	pc_buf_cleanup(&f.out);
	return st;
}
