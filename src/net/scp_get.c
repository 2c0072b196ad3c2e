/*
 * scp_get.c - the C-GET service provider (PS3.4 C.4.3, PS3.7 9.1.3) for
 * the Patient Root and Study Root Query/Retrieve information models.
 *
 * The instances the identifier names (scp_qr.c) go back to the requestor
 * as C-STORE sub-operations on the same association, each on a context
 * the requestor proposed for the instance's SOP class with the instance's
 * own transfer syntax and with the SCP role for that class (PS3.7
 * D.3.3.4): nothing is transcoded, so an instance without such a context
 * is a failed sub-operation and the others still go. Between two
 * sub-operations we wait for the C-STORE-RSP; a C-CANCEL-RQ may arrive
 * before it, and stops the C-GET once that sub-operation is answered.
 */
#include "net/net_int.h"

#include <string.h>

/* Whether the requestor took the SCP role for `sop_class` and we agreed
 * (scp.c echoes the proposed roles). Without a role item the requestor is
 * only SCU (PS3.7 D.3.3.4) and cannot receive C-STORE from us. */
static bool peer_is_scp(dul_conn *c, const char *sop_class)
{
	const struct dul_assoc *ac = dul_conn_ac(c);

	for (size_t i = 0; i < ac->n_roles; i++)
		if (ac->roles[i].sop_class != NULL &&
		    strcmp(ac->roles[i].sop_class, sop_class) == 0)
			return ac->roles[i].scp;
	return false;
}

/* An accepted context for the instance's SOP class whose transfer syntax
 * is the stored one; 0 when there is none. */
static uint8_t context_for(dul_conn *c, const struct scp_qr_item *it)
{
	const struct dul_assoc *ac = dul_conn_ac(c);

	if (!peer_is_scp(c, it->sop_class))
		return 0;
	for (size_t i = 0; i < ac->n_pcs; i++) {
		uint8_t id = ac->pcs[i].id;
		const char *abstract = dul_conn_abstract(c, id);
		const char *ts = dul_conn_ts(c, id);
		if (ac->pcs[i].result == DUL_PC_ACCEPTANCE && abstract &&
		    ts && strcmp(abstract, it->sop_class) == 0 &&
		    strcmp(ts, it->ts) == 0)
			return id;
	}
	return 0;
}

/*
 * Waits for the C-STORE-RSP to `msg_id`. A C-CANCEL-RQ for the C-GET may
 * come first (PS3.7 9.3.3.3): noted, and the wait goes on. Anything else
 * is a protocol error (no asynchronous operations were negotiated).
 */
static enum pc_status wait_store_rsp(struct scp_retrieve *r, uint16_t msg_id,
				     uint16_t *status)
{
	struct scp_assoc *a = r->a;

	for (;;) {
		struct dimse_cmd rsp;
		enum dimse_next next;
		uint8_t pc_id;
		enum pc_status st = dimse_recv_command(&a->rd, &rsp, &pc_id,
						       &next, r->err);
		if (st != PC_OK)
			return st;
		if (next == DIMSE_NEXT_ABORTED)
			return pc_err_set(r->err, PC_IO, 0, "the peer aborted "
					  "during the C-GET");
		if (next == DIMSE_NEXT_RELEASE) {
			/* Releasing with a C-STORE outstanding: no answer
			 * will come; the final C-GET-RSP still may go. */
			r->release_asked = true;
			r->cancelled = true;
			*status = DIMSE_PROCESSING_FAILURE;
			return PC_OK;
		}
		if (dimse_cmd_has_data(&rsp)) {
			st = dimse_recv_discard(&a->rd, pc_id, r->err);
			if (st != PC_OK)
				return st;
		}
		if (rsp.command == DIMSE_C_CANCEL_RQ) {
			if (rsp.message_id_rsp == r->rq->message_id)
				r->cancelled = true;
			continue;
		}
		if (rsp.command == DIMSE_C_STORE_RSP &&
		    rsp.message_id_rsp == msg_id) {
			*status = (rsp.present & DIMSE_F_STATUS)
					  ? rsp.status
					  : DIMSE_PROCESSING_FAILURE;
			return PC_OK;
		}
		dul_abort(a->conn, true, 2);
		return pc_err_set(r->err, PC_PARSE, 0,
				  "%s: %s (message %u) while waiting for the "
				  "C-STORE-RSP to message %u", a->peer,
				  dimse_command_name(rsp.command),
				  rsp.message_id_rsp, msg_id);
	}
}

/* One C-STORE sub-operation: its status in *status, or an error when the
 * association broke. */
static enum pc_status store_one(struct scp_retrieve *r, size_t i,
				uint16_t msg_id, uint16_t *status)
{
	struct scp_assoc *a = r->a;
	const struct scp_qr_item *it = &r->items[i];
	struct pc_err ferr = {0};
	struct scp_qr_file f;
	struct dimse_cmd rq;
	enum pc_status st;

	*status = DIMSE_PROCESSING_FAILURE;
	uint8_t pc = context_for(a->conn, it);
	if (pc == 0) {
		pc_log(PC_LOG_DEBUG, "dimse: C-GET from \"%s\": no accepted "
		       "context with the SCP role for %s in %s", a->calling_ae,
		       it->sop_class, it->ts);
		return PC_OK;
	}
	if (scp__qr_file_open(a->svc->store, it, &f, &ferr) != PC_OK) {
		pc_log(PC_LOG_ERROR, "dimse: C-GET from \"%s\": %s",
		       a->calling_ae, ferr.msg);
		return PC_OK;
	}
	/* PS3.7 9.3.1.1: C-STORE-RQ. */
	memset(&rq, 0, sizeof(rq));
	rq.command = DIMSE_C_STORE_RQ;
	rq.data_set_type = 0x0000;
	rq.present = DIMSE_F_AFFECTED_CLASS | DIMSE_F_AFFECTED_INSTANCE |
		     DIMSE_F_MESSAGE_ID | DIMSE_F_PRIORITY;
	memcpy(rq.affected_class, it->sop_class, sizeof(rq.affected_class));
	memcpy(rq.affected_instance, it->sop_uid,
	       sizeof(rq.affected_instance));
	rq.message_id = msg_id;
	rq.priority = r->rq->priority;
	st = dimse_send(a->conn, pc, &rq, f.p + f.data_off,
			f.n - f.data_off, r->err);
	scp__qr_file_close(&f);
	if (st != PC_OK)
		return st;
	return wait_store_rsp(r, msg_id, status);
}

enum pc_status scp__get(struct scp_assoc *a, const struct dimse_cmd *cmd,
			uint8_t pc_id, struct pc_err *err)
{
	struct scp_retrieve r;
	char comment[DIMSE_COMMENT_MAX + 1];
	uint16_t status;
	enum pc_status st;
	uint16_t msg_id = cmd->message_id;

	scp__retrieve_init(&r, a, cmd, pc_id, "C-GET", err);
	st = scp__retrieve_read(&r, strcmp(cmd->affected_class,
					   NET_PATIENT_ROOT_GET) == 0,
				&status, comment);
	if (st == PC_OK && status == DIMSE_SUCCESS)
		st = scp__retrieve_resolve(&r, &status, comment);
	if (st != PC_OK)
		goto out;
	if (status != DIMSE_SUCCESS) {
		st = scp__retrieve_refuse(&r, status, comment);
		goto out;
	}
	for (size_t i = 0; i < r.n_items; i++) {
		bool stop = false;
		st = scp__retrieve_poll(&r, &stop);
		if (st != PC_OK)
			goto out;
		if (stop)
			break;
		/* Sub-operation message ids: any that is not the C-GET's
		 * own, which is outstanding. */
		msg_id = (uint16_t)(msg_id + 1);
		if (msg_id == cmd->message_id)
			msg_id = (uint16_t)(msg_id + 1);
		uint16_t sub;
		st = store_one(&r, i, msg_id, &sub);
		if (st != PC_OK)
			goto out;
		scp__retrieve_count(&r, i, sub);
		if (r.cancelled)
			break;
		if (r.remaining > 0) {
			st = scp__retrieve_pending(&r);
			if (st != PC_OK)
				goto out;
		}
	}
	st = scp__retrieve_finish(&r, NULL);
out:
	scp__retrieve_cleanup(&r);
	return st;
}
