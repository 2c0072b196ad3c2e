/*
 * scp_store.c - the C-STORE service provider (PS3.4 B.2, PS3.7 9.3.1):
 * the data set streams from the network into the one ingest path, behind
 * a File Meta Information header we write for it (PS3.10 7.1), and the
 * response says Success only once ingest has made the instance durable
 * and indexed.
 */
#include "net/net_int.h"

#include <string.h>

struct store_ctx {
	ingest_upload *up;
	struct pc_err *err;
};

static enum pc_status write_fragment(void *ctx, const uint8_t *p, size_t n,
				     bool last)
{
	struct store_ctx *s = ctx;

	(void)last;
	return ingest_write(s->up, p, n, s->err);
}

/* PS3.4 B.2.3 statuses for the reasons ingest refuses an instance. */
static uint16_t status_of(enum ingest_error e)
{
	switch (e) {
	case INGEST_OK: return DIMSE_SUCCESS;
	case INGEST_NOT_DICOM: return DIMSE_CANNOT_UNDERSTAND;
	case INGEST_MISSING_UID:
	case INGEST_STUDY_MISMATCH: return DIMSE_DATASET_MISMATCH;
	case INGEST_DUPLICATE: return DIMSE_DUPLICATE_SOP;
	case INGEST_TOO_LARGE:
	case INGEST_STORAGE: return DIMSE_OUT_OF_RESOURCES;
	}
	return DIMSE_PROCESSING_FAILURE;
}

enum pc_status scp__store(struct scp_assoc *a, const struct dimse_cmd *cmd,
			  uint8_t pc_id, struct pc_err *err)
{
	struct dimse_cmd rsp;
	struct pc_buf head = PC_BUF_INIT;
	struct pc_err ierr = {0};
	struct ingest_result res;
	uint16_t status = DIMSE_SUCCESS;
	struct store_ctx s = {NULL, &ierr};
	enum pc_status st;

	memset(&res, 0, sizeof(res));
	if (!dimse_cmd_has_data(cmd) ||
	    !(cmd->present & DIMSE_F_AFFECTED_CLASS) ||
	    !(cmd->present & DIMSE_F_AFFECTED_INSTANCE)) {
		/* PS3.7 9.1.1.1: both UIDs and a data set are mandatory. */
		if (dimse_cmd_has_data(cmd)) {
			st = dimse_recv_discard(&a->rd, pc_id, err);
			if (st != PC_OK)
				return st;
		}
		scp__response(cmd, DIMSE_CANNOT_UNDERSTAND, &rsp);
		return dimse_send(a->conn, pc_id, &rsp, NULL, 0, err);
	}

	/* PS3.7 9.1.1.1: the Affected SOP Class names the context's abstract
	 * syntax; an instance of another class on it is refused as a class
	 * not supported on this context. */
	const char *abstract = dul_conn_abstract(a->conn, pc_id);
	if (abstract == NULL || strcmp(abstract, cmd->affected_class) != 0) {
		st = dimse_recv_discard(&a->rd, pc_id, err);
		if (st != PC_OK)
			return st;
		scp__response(cmd, DIMSE_SOP_CLASS_NOT_SUPPORTED, &rsp);
		return dimse_send(a->conn, pc_id, &rsp, NULL, 0, err);
	}

	s.up = ingest_begin(a->svc->ingest, a->svc->cfg->max_body, &ierr);
	if (s.up != NULL) {
		dimse_part10_header(&head, cmd->affected_class,
				    cmd->affected_instance,
				    dul_conn_ts(a->conn, pc_id),
				    a->calling_ae);
		st = pc_buf_status(&head);
		if (st == PC_OK)
			st = ingest_write(s.up, head.p, head.n, &ierr);
	} else {
		st = ierr.status;
	}
	/* Read the whole data set even when ingest failed, so that the
	 * association stays in step; fragments then go nowhere. */
	if (st == PC_OK) {
		st = dimse_recv_data(&a->rd, pc_id, write_fragment, &s, err);
	} else {
		enum pc_status rs = dimse_recv_discard(&a->rd, pc_id, err);
		if (rs != PC_OK) {
			ingest_abort(s.up);
			pc_buf_cleanup(&head);
			return rs;
		}
		status = DIMSE_OUT_OF_RESOURCES;
	}
	pc_buf_cleanup(&head);
	if (st == PC_IO || st == PC_PARSE) {
		/* The association broke mid-data set: nothing to answer. */
		ingest_abort(s.up);
		return st;
	}
	if (status == DIMSE_SUCCESS && st != PC_OK) {
		/* ingest_write failed (too large, disk): refuse. */
		ingest_abort(s.up);
		s.up = NULL;
		status = st == PC_LIMIT ? DIMSE_OUT_OF_RESOURCES
					: DIMSE_PROCESSING_FAILURE;
		pc_log(PC_LOG_WARN, "dimse: C-STORE %s from \"%s\": %s",
		       cmd->affected_instance, a->calling_ae, ierr.msg);
	} else if (status == DIMSE_SUCCESS) {
		st = ingest_commit(s.up, NULL, &res, &ierr);
		s.up = NULL;
		status = status_of(st == PC_OK ? INGEST_OK : res.error);
		if (st != PC_OK)
			pc_log(res.error == INGEST_STORAGE ? PC_LOG_ERROR
							   : PC_LOG_WARN,
			       "dimse: C-STORE %s from \"%s\" refused: %s",
			       cmd->affected_instance, a->calling_ae,
			       ierr.msg);
	} else {
		ingest_abort(s.up);
		s.up = NULL;
	}
	scp__response(cmd, status, &rsp);
	if (status != DIMSE_SUCCESS && ierr.msg[0] != '\0') {
		/* PS3.7 C.4: the reason, for the sender's log. */
		rsp.present |= DIMSE_F_ERROR_COMMENT;
		size_t n = strnlen(ierr.msg, DIMSE_COMMENT_MAX);
		memcpy(rsp.error_comment, ierr.msg, n);
		rsp.error_comment[n] = '\0';
		/* LO allows no backslash or control characters. */
		for (size_t i = 0; i < n; i++)
			if (rsp.error_comment[i] == '\\' ||
			    (unsigned char)rsp.error_comment[i] < 0x20)
				rsp.error_comment[i] = ' ';
	}
	return dimse_send(a->conn, pc_id, &rsp, NULL, 0, err);
}
