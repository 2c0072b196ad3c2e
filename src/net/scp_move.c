/*
 * scp_move.c - the C-MOVE service provider (PS3.4 C.4.2, PS3.7 9.1.4) for
 * the Patient Root and Study Root Query/Retrieve information models.
 *
 * The instances the identifier names (scp_qr.c) go to the Move
 * Destination, which must be one of the configured remote AEs (an AE
 * title alone says nothing of where it listens: PS3.4 C.4.2.3.1 leaves
 * the mapping to the SCP's configuration). One sub-association carries
 * every C-STORE: it proposes one context per (SOP class, stored transfer
 * syntax) of the instances, so that each file goes as stored, never
 * transcoded. After each sub-operation the originator gets a Pending
 * response with the counts, and a C-CANCEL-RQ is looked for.
 */
#include "net/net_int.h"

#include "net/scu.h"

#include <string.h>

/* PS3.8 9.3.2.2: at most 128 presentation contexts per association. */
#define MAX_PAIRS DUL_MAX_CONTEXTS

/*
 * The contexts to propose: one header-only Part 10 file (preamble and
 * meta naming the SOP class and transfer syntax) per distinct pair of the
 * instances, handed to scu_storage_contexts(), which applies the one
 * proposal policy of the SCU. Pairs beyond MAX_PAIRS are not proposed:
 * their sub-operations fail for want of a context.
 */
static enum pc_status contexts(const struct scp_retrieve *r, pc_arena *arena,
			       struct scu_context **ctx, size_t *n_ctx,
			       struct pc_err *err)
{
	size_t first[MAX_PAIRS], n = 0;
	struct pc_buf heads[MAX_PAIRS];
	struct pc_span spans[MAX_PAIRS];
	enum pc_status st = PC_OK;

	for (size_t i = 0; i < r->n_items && n < MAX_PAIRS; i++) {
		const struct scp_qr_item *it = &r->items[i];
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strcmp(r->items[first[k]].sop_class,
				      it->sop_class) == 0 &&
			       strcmp(r->items[first[k]].ts, it->ts) == 0;
		if (!seen)
			first[n++] = i;
	}
	for (size_t k = 0; k < n; k++) {
		const struct scp_qr_item *it = &r->items[first[k]];
		pc_buf_init(&heads[k]);
		dimse_part10_header(&heads[k], it->sop_class, it->sop_uid,
				    it->ts, "");
		if (pc_buf_status(&heads[k]) != PC_OK)
			st = PC_NOMEM;
		spans[k] = pc_span_make(heads[k].p, heads[k].n);
	}
	if (st == PC_OK)
		st = scu_storage_contexts(arena, spans, n, ctx, n_ctx, err);
	else
		pc_err_set(err, st, 0, "out of memory");
	for (size_t k = 0; k < n; k++)
		pc_buf_cleanup(&heads[k]);
	return st;
}

/* Opens the sub-association to the Move Destination; NULL with the
 * reason in `err`. */
static scu_session *open_sub(struct scp_retrieve *r,
			     const struct pc_config_remote_ae *dest,
			     struct pc_err *err)
{
	pc_arena *arena = pc_arena_create(4096);
	struct scu_context *ctx = NULL;
	size_t n_ctx = 0;
	scu_session *s = NULL;

	if (arena == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	if (contexts(r, arena, &ctx, &n_ctx, err) == PC_OK) {
		struct scu_peer peer = {
			.host = dest->addr.host,
			.port = dest->addr.port,
			.called_ae = dest->aet,
			.calling_ae = r->a->svc->cfg->aet,
			.timeout_ms = 0,
		};
		if (n_ctx > DUL_MAX_CONTEXTS)
			n_ctx = DUL_MAX_CONTEXTS;
		s = scu_open(&peer, ctx, n_ctx, err);
	}
	pc_arena_destroy(arena);
	return s;
}

/* One C-STORE sub-operation on the sub-association. *status gets the
 * destination's status; *broken says the sub-association is lost. */
static void store_one(struct scp_retrieve *r, scu_session *s, size_t i,
		      uint16_t *status, bool *broken)
{
	struct scp_assoc *a = r->a;
	const struct scp_qr_item *it = &r->items[i];
	struct pc_err serr = {0};
	struct scp_qr_file f;
	enum pc_status st;

	*status = DIMSE_PROCESSING_FAILURE;
	*broken = false;
	if (scp__qr_file_open(a->svc->store, it, &f, &serr) != PC_OK) {
		pc_log(PC_LOG_ERROR, "dimse: C-MOVE from \"%s\": %s",
		       a->calling_ae, serr.msg);
		return;
	}
	/* PS3.7 9.3.1.1: the sub-operation names the C-MOVE it serves. */
	st = scu_store(s, f.p, f.n, a->calling_ae, r->rq->message_id, status,
		       &serr);
	scp__qr_file_close(&f);
	if (st == PC_OK)
		return;
	*status = DIMSE_PROCESSING_FAILURE;
	if (st == PC_UNSUPPORTED) {
		pc_log(PC_LOG_DEBUG, "dimse: C-MOVE to \"%s\": %s %s: %s",
		       r->dest, it->sop_class, it->ts, serr.msg);
		return;
	}
	pc_log(PC_LOG_WARN, "dimse: C-MOVE to \"%s\": %s", r->dest, serr.msg);
	/* Anything but "no context" may have left the sub-association
	 * out of step: it is not used again. */
	*broken = true;
}

enum pc_status scp__move(struct scp_assoc *a, const struct dimse_cmd *cmd,
			 uint8_t pc_id, struct pc_err *err)
{
	struct scp_retrieve r;
	char comment[DIMSE_COMMENT_MAX + 1];
	struct pc_err serr = {0};
	scu_session *s = NULL;
	uint16_t status;
	enum pc_status st;
	size_t i = 0;

	scp__retrieve_init(&r, a, cmd, pc_id, "C-MOVE", err);
	r.dest = cmd->move_dest;
	st = scp__retrieve_read(&r, strcmp(cmd->affected_class,
					   NET_PATIENT_ROOT_MOVE) == 0,
				&status, comment);
	if (st != PC_OK)
		goto out;
	if (status != DIMSE_SUCCESS) {
		st = scp__retrieve_refuse(&r, status, comment);
		goto out;
	}
	const struct pc_config_remote_ae *dest =
		(cmd->present & DIMSE_F_MOVE_DEST)
			? pc_config_find_remote_ae(a->svc->cfg, cmd->move_dest)
			: NULL;
	if (dest == NULL) {
		/* PS3.4 C.4.2.1.5: Refused, Move Destination unknown. */
		st = scp__retrieve_refuse(&r, DIMSE_MOVE_DEST_UNKNOWN,
					  "unknown Move Destination");
		goto out;
	}
	st = scp__retrieve_resolve(&r, &status, comment);
	if (st != PC_OK)
		goto out;
	if (status != DIMSE_SUCCESS) {
		st = scp__retrieve_refuse(&r, status, comment);
		goto out;
	}
	if (r.n_items > 0) {
		s = open_sub(&r, dest, &serr);
		if (s == NULL) {
			/* No sub-operation can be performed: each counts as
			 * failed, and the final status is A702 (PS3.4
			 * C.4.2.1.5). */
			pc_log(PC_LOG_WARN, "dimse: C-MOVE to \"%s\" at %s:%u: "
			       "%s", dest->aet, dest->addr.host,
			       dest->addr.port, serr.msg);
			for (i = 0; i < r.n_items; i++)
				scp__retrieve_count(&r, i,
						    DIMSE_PROCESSING_FAILURE);
			st = scp__retrieve_finish(&r, "cannot associate with "
						  "the Move Destination");
			goto out;
		}
	}
	for (i = 0; i < r.n_items; i++) {
		bool stop = false, broken = false;
		uint16_t sub;
		st = scp__retrieve_poll(&r, &stop);
		if (st != PC_OK)
			goto out;
		if (stop)
			break;
		store_one(&r, s, i, &sub, &broken);
		scp__retrieve_count(&r, i, sub);
		if (broken) {
			/* The rest cannot go: they fail too. */
			scu_abort(s);
			s = NULL;
			for (i++; i < r.n_items; i++)
				scp__retrieve_count(&r, i,
						    DIMSE_PROCESSING_FAILURE);
			break;
		}
		if (r.remaining > 0) {
			st = scp__retrieve_pending(&r);
			if (st != PC_OK)
				goto out;
		}
	}
	if (s != NULL) {
		if (scu_close(s, &serr) != PC_OK)
			pc_log(PC_LOG_WARN, "dimse: C-MOVE to \"%s\": release: "
			       "%s", r.dest, serr.msg);
		s = NULL;
	}
	st = scp__retrieve_finish(&r, NULL);
out:
	if (s != NULL)
		scu_abort(s);
	scp__retrieve_cleanup(&r);
	return st;
}
