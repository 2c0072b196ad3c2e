/*
 * scu.c - the DIMSE service user (PS3.7 9.1, PS3.4 Annexes A, B, C): one
 * association we request, and C-ECHO, C-STORE, C-FIND, C-MOVE and C-GET
 * over it.
 *
 * DESIGN
 * Every operation is synchronous (no asynchronous operations window is
 * negotiated, PS3.7 D.3.3.3): send the request, then read commands until
 * the final response for its Message ID arrives. Message IDs count up per
 * request on the session (PS3.7 9.1.1.1.1 only asks that they be unique
 * among outstanding requests). C-GET is the one service where the peer
 * also sends requests: its C-STORE sub-operations arrive on the storage
 * contexts between the C-GET responses (PS3.4 C.4.3.1.3), and each is
 * answered before the next command is read.
 *
 * Files are sent as stored: the data set bytes after the File Meta
 * Information go out unchanged on a context whose transfer syntax is the
 * file's. The one exception keeps a native file sendable when the peer
 * picked Explicit or Implicit VR Little Endian from the fallbacks we
 * proposed for it (scu_storage_contexts): the data set is then re-encoded
 * in that syntax (values unchanged; compressed pixel data is never
 * touched, PS3.5 A.4).
 *
 * Everything a peer sends is bounded: command sets by DIMSE_CMD_MAX (in
 * msg.c), C-FIND identifiers by IDENTIFIER_MAX here; C-GET instances are
 * gathered whole for the store callback (the contract), bounded by memory.
 */
#include "net/scu.h"

#include "dicom/dcm.h"
#include "net/net_int.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 30000u
#define IDENTIFIER_MAX (16u << 20)
#define TS_IMPLICIT_LE "1.2.840.10008.1.2"
#define TS_EXPLICIT_LE "1.2.840.10008.1.2.1"

#define TAG_MEDIA_SOP_CLASS DCM_TAG(0x0002, 0x0002)
#define TAG_MEDIA_SOP_INSTANCE DCM_TAG(0x0002, 0x0003)
#define TAG_SOP_CLASS DCM_TAG(0x0008, 0x0016)
#define TAG_SOP_INSTANCE DCM_TAG(0x0008, 0x0018)

struct scu_session {
	dul_conn *conn;
	struct dimse_reader rd;
	uint16_t next_id;           /* Message ID of the next request */
};

/* ---- association -------------------------------------------------------- */

/* PS3.8 9.3.4: the reasons of an A-ASSOCIATE-RJ, as words. */
static const char *reject_reason(unsigned source, unsigned reason)
{
	switch (source * 16 + reason) {
	case 0x11: return "no reason given";
	case 0x12: return "application context name not supported";
	case 0x13: return "calling AE title not recognized";
	case 0x17: return "called AE title not recognized";
	case 0x21: return "no reason given (ACSE)";
	case 0x22: return "protocol version not supported";
	case 0x31: return "temporary congestion";
	case 0x32: return "local limit exceeded";
	default: return "reason not defined by PS3.8";
	}
}

/* PS3.8 9.3.3.2: why a presentation context was not accepted. */
static const char *pc_result_text(uint8_t result)
{
	switch (result) {
	case DUL_PC_ACCEPTANCE: return "accepted";
	case DUL_PC_USER_REJECTION: return "user rejection";
	case DUL_PC_NO_REASON: return "no reason (provider rejection)";
	case DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED:
		return "abstract syntax not supported";
	case DUL_PC_TRANSFER_SYNTAXES_NOT_SUPPORTED:
		return "transfer syntaxes not supported";
	default: return "unknown result";
	}
}

/*
 * dul_connect words a rejection as "... (result R, source S, reason N)";
 * the reason is added in words so that a user reading "called AE title
 * not recognized" knows what to fix.
 */
static void report_connect_error(const struct pc_err *e, struct pc_err *err)
{
	unsigned result, source, reason;
	const char *p = strstr(e->msg, "(result ");

	if (e->status == PC_STOP && p != NULL &&
	    sscanf(p, "(result %u, source %u, reason %u)", &result, &source,
		   &reason) == 3) {
		pc_err_set(err, PC_STOP, 0, "%s: %s%s", e->msg,
			   reject_reason(source, reason),
			   result == 2 ? " (transient)" : " (permanent)");
		return;
	}
	pc_err_set(err, e->status, e->offset, "%s", e->msg);
}

static bool copy_ae(char *dst, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n == 0 || n > DUL_AE_MAX)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

scu_session *scu_open(const struct scu_peer *peer,
		      const struct scu_context *ctx, size_t n_ctx,
		      struct pc_err *err)
{
	struct dul_assoc rq;
	struct dul_conn_opts opts = {0};
	struct pc_err cerr = {0};
	struct dul_pc *pcs = NULL;
	struct dul_role *roles = NULL;
	scu_session *s = NULL;
	dul_conn *c = NULL;

	memset(&rq, 0, sizeof(rq));
	if (n_ctx == 0 || n_ctx > DUL_MAX_CONTEXTS) {
		pc_err_set(err, PC_INVAL, 0,
			   "%zu presentation contexts: 1 to %d can be proposed",
			   n_ctx, DUL_MAX_CONTEXTS);
		return NULL;
	}
	if (!copy_ae(rq.called_ae, peer->called_ae) ||
	    !copy_ae(rq.calling_ae, peer->calling_ae)) {
		pc_err_set(err, PC_INVAL, 0,
			   "AE titles must have 1 to %d characters",
			   DUL_AE_MAX);
		return NULL;
	}
	pcs = pc_calloc(n_ctx, sizeof(*pcs));
	roles = pc_calloc(n_ctx, sizeof(*roles));
	s = pc_calloc(1, sizeof(*s));
	if (pcs == NULL || roles == NULL || s == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		goto fail;
	}
	rq.protocol_version = 1;
	for (size_t i = 0; i < n_ctx; i++) {
		if (ctx[i].n_ts == 0 || ctx[i].n_ts > DUL_MAX_TS_PER_CONTEXT) {
			pc_err_set(err, PC_INVAL, 0,
				   "context %zu: %zu transfer syntaxes", i,
				   ctx[i].n_ts);
			goto fail;
		}
		/* PS3.8 9.3.2.2: odd ids 1..255 in proposal order. */
		pcs[i].id = (uint8_t)(2 * i + 1);
		pcs[i].abstract_syntax = ctx[i].abstract_syntax;
		pcs[i].ts = (const char **)ctx[i].ts; /* only read */
		pcs[i].n_ts = ctx[i].n_ts;
		if (!ctx[i].scp_role)
			continue;
		/* PS3.7 D.3.3.4: one role item per SOP class; as a C-GET
		 * requestor we act only as the storage SCP. */
		bool seen = false;
		for (size_t k = 0; k < rq.n_roles && !seen; k++)
			seen = strcmp(roles[k].sop_class,
				      ctx[i].abstract_syntax) == 0;
		if (!seen) {
			roles[rq.n_roles].sop_class = ctx[i].abstract_syntax;
			roles[rq.n_roles].scu = false;
			roles[rq.n_roles].scp = true;
			rq.n_roles++;
		}
	}
	rq.pcs = pcs;
	rq.n_pcs = n_ctx;
	rq.roles = rq.n_roles > 0 ? roles : NULL;
	opts.artim_ms = peer->timeout_ms ? peer->timeout_ms : DEFAULT_TIMEOUT_MS;
	opts.idle_ms = opts.artim_ms;
	c = dul_connect(peer->host, peer->port, &rq, &opts, &cerr);
	if (c == NULL) {
		report_connect_error(&cerr, err);
		goto fail;
	}
	/* dul_connect kept what it needs of the proposal. */
	pc_free(pcs);
	pc_free(roles);
	pcs = NULL;
	roles = NULL;

	size_t accepted = 0;
	const struct dul_assoc *ac = dul_conn_ac(c);
	for (size_t i = 0; i < n_ctx; i++)
		if (dul_conn_ts(c, (uint8_t)(2 * i + 1)) != NULL)
			accepted++;
	if (accepted == 0) {
		uint8_t result = ac->n_pcs > 0 ? ac->pcs[0].result
					       : DUL_PC_NO_REASON;
		pc_err_set(err, PC_UNSUPPORTED, 0,
			   "%s accepted no presentation context (%s%s: %s)",
			   dul_conn_peer(c), ctx[0].abstract_syntax,
			   n_ctx > 1 ? " and others" : "",
			   pc_result_text(result));
		/* Nothing to do together: end it politely. */
		if (dul_release(c, NULL) != PC_OK)
			dul_abort(c, false, 0);
		dul_close(c);
		c = NULL;
		goto fail;
	}
	s->conn = c;
	s->next_id = 1;
	dimse_reader_init(&s->rd, c);
	return s;
fail:
	pc_free(pcs);
	pc_free(roles);
	pc_free(s);
	return NULL;
}

static void session_free(scu_session *s)
{
	dimse_reader_cleanup(&s->rd);
	dul_close(s->conn);
	pc_free(s);
}

enum pc_status scu_close(scu_session *s, struct pc_err *err)
{
	enum pc_status st;

	if (s == NULL)
		return PC_OK;
	if (dul_conn_established(s->conn))
		st = dul_release(s->conn, err);
	else
		st = pc_err_set(err, PC_IO, 0,
				"association with %s had already ended",
				dul_conn_peer(s->conn));
	session_free(s);
	return st;
}

void scu_abort(scu_session *s)
{
	if (s == NULL)
		return;
	dul_abort(s->conn, false, 0);
	session_free(s);
}

bool scu_established(const scu_session *s)
{
	return dul_conn_established(s->conn);
}

uint8_t scu_context_for(const scu_session *s, const char *abstract_syntax,
			const char *ts)
{
	const struct dul_assoc *rq = dul_conn_rq(s->conn);

	for (size_t i = 0; i < rq->n_pcs; i++) {
		uint8_t id = rq->pcs[i].id;
		const char *acc = dul_conn_ts(s->conn, id);
		if (acc == NULL ||
		    strcmp(rq->pcs[i].abstract_syntax, abstract_syntax) != 0)
			continue;
		if (ts == NULL || strcmp(acc, ts) == 0)
			return id;
	}
	return 0;
}

const char *scu_context_ts(const scu_session *s, uint8_t pc_id)
{
	return dul_conn_ts(s->conn, pc_id);
}

/* ---- messages ----------------------------------------------------------- */

/* A request's command set: PS3.7 9.3 fields every request carries. */
static void request(scu_session *s, uint16_t command, const char *sop_class,
		    bool with_data, struct dimse_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->command = command;
	cmd->present = DIMSE_F_AFFECTED_CLASS | DIMSE_F_MESSAGE_ID;
	snprintf(cmd->affected_class, sizeof(cmd->affected_class), "%s",
		 sop_class);
	cmd->message_id = s->next_id++;
	if (s->next_id == 0)
		s->next_id = 1;
	if (command != DIMSE_C_ECHO_RQ) {
		cmd->present |= DIMSE_F_PRIORITY;
		cmd->priority = 0; /* medium */
	}
	/* PS3.7 E.1: 0x0101 is "no data set"; we use 0x0000 otherwise. */
	cmd->data_set_type = with_data ? 0x0000 : DIMSE_NO_DATA_SET;
}

/* The next command from the peer; the association ending is an error. */
static enum pc_status next_command(scu_session *s, struct dimse_cmd *cmd,
				   uint8_t *pc_id, struct pc_err *err)
{
	enum dimse_next next = DIMSE_NEXT_COMMAND;
	enum pc_status st = dimse_recv_command(&s->rd, cmd, pc_id, &next, err);

	if (st != PC_OK)
		return st;
	if (next == DIMSE_NEXT_RELEASE) {
		/* PS3.8 allows it; we answer but the operation is lost. */
		if (dul_release_respond(s->conn, NULL) != PC_OK)
			dul_abort(s->conn, false, 0);
		return pc_err_set(err, PC_IO, 0,
				  "%s released the association before the "
				  "final response", dul_conn_peer(s->conn));
	}
	if (next == DIMSE_NEXT_ABORTED)
		return pc_err_set(err, PC_IO, 0,
				  "%s aborted the association (source %u, "
				  "reason %u)", dul_conn_peer(s->conn),
				  s->rd.ev.abort.source, s->rd.ev.abort.reason);
	return PC_OK;
}

/* A command that is not the response we wait for: PS3.7 forbids it
 * without an asynchronous window, so the association is aborted. */
static enum pc_status unexpected(scu_session *s, const struct dimse_cmd *cmd,
				 uint16_t want, uint16_t id,
				 struct pc_err *err)
{
	dul_abort(s->conn, true, 2);
	return pc_err_set(err, PC_PARSE, 0,
			  "%s: %s (message %u) while waiting for the %s to "
			  "message %u", dul_conn_peer(s->conn),
			  dimse_command_name(cmd->command), cmd->message_id_rsp,
			  dimse_command_name(want), id);
}

static bool is_response_to(const struct dimse_cmd *cmd, uint16_t want,
			   uint16_t id)
{
	return cmd->command == want &&
	       (!(cmd->present & DIMSE_F_MESSAGE_ID_RSP) ||
		cmd->message_id_rsp == id);
}

/* PS3.7 C.1.3: pending responses carry 0xFF00 or 0xFF01. */
static bool is_pending(uint16_t status)
{
	return status == DIMSE_PENDING || status == DIMSE_PENDING_WARNING;
}

/* Waits for the single response of a C-ECHO or C-STORE. */
static enum pc_status await_response(scu_session *s, uint16_t want,
				     uint16_t id, struct dimse_cmd *rsp,
				     struct pc_err *err)
{
	uint8_t pc_id;
	enum pc_status st = next_command(s, rsp, &pc_id, err);

	if (st != PC_OK)
		return st;
	if (!is_response_to(rsp, want, id))
		return unexpected(s, rsp, want, id, err);
	if (dimse_cmd_has_data(rsp))
		return dimse_recv_discard(&s->rd, pc_id, err);
	return PC_OK;
}

enum pc_status scu_echo(scu_session *s, uint16_t *status, struct pc_err *err)
{
	struct dimse_cmd cmd, rsp;
	uint8_t pc = scu_context_for(s, NET_VERIFICATION, NULL);
	enum pc_status st;

	if (pc == 0)
		return pc_err_set(err, PC_UNSUPPORTED, 0,
				  "%s did not accept the Verification SOP "
				  "class", dul_conn_peer(s->conn));
	request(s, DIMSE_C_ECHO_RQ, NET_VERIFICATION, false, &cmd);
	st = dimse_send(s->conn, pc, &cmd, NULL, 0, err);
	if (st == PC_OK)
		st = await_response(s, DIMSE_C_ECHO_RSP, cmd.message_id, &rsp,
				    err);
	if (st == PC_OK)
		*status = rsp.status;
	return st;
}

/* ---- C-STORE ------------------------------------------------------------ */

/* What is needed of a Part 10 file to send it. */
struct file_info {
	char sop_class[DIMSE_UID_MAX + 1];
	char sop_instance[DIMSE_UID_MAX + 1];
	char ts[DIMSE_UID_MAX + 1];
	size_t ds_offset;             /* where the data set starts */
};

static void get_uid(const dcm_dataset *ds, uint32_t tag, char *out,
		    size_t size, struct pc_buf *tmp)
{
	pc_buf_reset(tmp);
	if (out[0] != '\0' || ds == NULL ||
	    dcm_dataset_get_string(ds, tag, 0, tmp) != PC_OK || tmp->n >= size)
		return;
	memcpy(out, pc_buf_str(tmp), tmp->n + 1);
}

/*
 * Reads the UIDs and the transfer syntax from the meta; a file without
 * them (a bare data set, a meta without Transfer Syntax UID) is parsed up
 * to its Pixel Data for the data set's own UIDs and detected encoding.
 */
static enum pc_status file_info(const uint8_t *data, size_t n,
				struct file_info *fi, struct pc_err *err)
{
	struct dcm_read_opts ro = {DCM_READ_META_ONLY, NULL};
	struct pc_buf tmp = PC_BUF_INIT;
	struct pc_err perr = {0};
	dcm_file *f;

	memset(fi, 0, sizeof(*fi));
	f = dcm_file_parse(data, n, &ro, &perr);
	if (f == NULL) {
		pc_buf_cleanup(&tmp);
		return pc_err_set(err, perr.status, perr.offset, "%s",
				  perr.msg);
	}
	get_uid(dcm_file_meta(f), TAG_MEDIA_SOP_CLASS, fi->sop_class,
		sizeof(fi->sop_class), &tmp);
	get_uid(dcm_file_meta(f), TAG_MEDIA_SOP_INSTANCE, fi->sop_instance,
		sizeof(fi->sop_instance), &tmp);
	get_uid(dcm_file_meta(f), DCM_TAG_TRANSFER_SYNTAX, fi->ts,
		sizeof(fi->ts), &tmp);
	fi->ds_offset = (size_t)dcm_file_dataset_offset(f);
	dcm_file_destroy(f);
	if (fi->sop_class[0] == '\0' || fi->sop_instance[0] == '\0' ||
	    fi->ts[0] == '\0') {
		ro.flags = DCM_READ_HEADER_ONLY;
		f = dcm_file_parse(data, n, &ro, &perr);
		if (f == NULL) {
			pc_buf_cleanup(&tmp);
			return pc_err_set(err, perr.status, perr.offset, "%s",
					  perr.msg);
		}
		const dcm_dataset *ds = dcm_file_dataset(f);
		get_uid(ds, TAG_SOP_CLASS, fi->sop_class, sizeof(fi->sop_class),
			&tmp);
		get_uid(ds, TAG_SOP_INSTANCE, fi->sop_instance,
			sizeof(fi->sop_instance), &tmp);
		if (fi->ts[0] == '\0' && dcm_file_ts(f) != NULL)
			snprintf(fi->ts, sizeof(fi->ts), "%s",
				 dcm_file_ts(f)->uid);
		fi->ds_offset = (size_t)dcm_file_dataset_offset(f);
		dcm_file_destroy(f);
	}
	pc_buf_cleanup(&tmp);
	if (fi->sop_class[0] == '\0' || fi->sop_instance[0] == '\0')
		return pc_err_set(err, PC_PARSE, 0,
				  "not a DICOM instance: no SOP %s UID",
				  fi->sop_class[0] == '\0' ? "Class"
							   : "Instance");
	if (fi->ds_offset > n)
		return pc_err_set(err, PC_PARSE, 0, "data set offset past "
				  "the end of the file");
	return PC_OK;
}

/* Whether the syntax encodes pixel data natively (no compressed frames),
 * so the data set can be re-encoded without touching pixel values. */
static bool native_ts(const char *uid)
{
	const struct dcm_ts *t = dcm_ts_find(uid, strlen(uid));

	return t != NULL && !t->encapsulated;
}

/* The data set of `data` re-encoded in `ts_uid` (a native syntax). */
static enum pc_status reencode(const uint8_t *data, size_t n,
			       const char *ts_uid, struct pc_buf *out,
			       struct pc_err *err)
{
	struct pc_err perr = {0};
	dcm_file *f = dcm_file_parse(data, n, NULL, &perr);
	enum pc_status st;

	if (f == NULL)
		return pc_err_set(err, perr.status, perr.offset, "%s",
				  perr.msg);
	struct dcm_write_opts wo = {0};
	wo.ts = dcm_ts_find(ts_uid, strlen(ts_uid));
	wo.no_preamble = true;
	st = dcm_file_write(NULL, dcm_file_dataset(f), &wo, out, err);
	dcm_file_destroy(f);
	return st;
}

/*
 * Sends a C-STORE-RQ and its data set. PDVs carry whole 16-bit words
 * (PS3.8 E.2 via PS3.5 7.1: every data set is of even length), but a
 * deflated data set is a byte stream that files often store with an odd
 * length; PS3.5 A.5 pads it with one trailing zero byte, added here.
 */
static enum pc_status send_data_set(scu_session *s, uint8_t pc,
				    const struct dimse_cmd *cmd,
				    const uint8_t *p, size_t n,
				    struct pc_err *err)
{
	enum pc_status st;

	if ((n & 1) == 0)
		return dimse_send(s->conn, pc, cmd, p, n, err);
	st = dimse_send(s->conn, pc, cmd, NULL, 0, err);
	if (st == PC_OK)
		st = dul_send_pdv(s->conn, pc, false, p, n - 1, false, err);
	if (st == PC_OK) {
		uint8_t tail[2] = {p[n - 1], 0};
		st = dul_send_pdv(s->conn, pc, false, tail, 2, true, err);
	}
	return st;
}

enum pc_status scu_store(scu_session *s, const uint8_t *data, size_t n,
			 const char *move_orig_ae, uint16_t move_orig_id,
			 uint16_t *status, struct pc_err *err)
{
	struct file_info fi;
	struct dimse_cmd cmd, rsp;
	struct pc_buf re = PC_BUF_INIT;
	const uint8_t *body;
	size_t body_n;
	enum pc_status st;

	st = file_info(data, n, &fi, err);
	if (st != PC_OK)
		return st;
	body = data + fi.ds_offset;
	body_n = n - fi.ds_offset;
	uint8_t pc = scu_context_for(s, fi.sop_class, fi.ts);
	if (pc == 0 && native_ts(fi.ts)) {
		/* The fallbacks scu_storage_contexts proposes. */
		static const char *const fallback[] = {TS_EXPLICIT_LE,
						       TS_IMPLICIT_LE};
		for (size_t i = 0; i < 2 && pc == 0; i++) {
			pc = scu_context_for(s, fi.sop_class, fallback[i]);
			if (pc == 0)
				continue;
			st = reencode(data, n, fallback[i], &re, err);
			if (st != PC_OK)
				goto out;
			body = (const uint8_t *)re.p;
			body_n = re.n;
		}
	}
	if (pc == 0) {
		st = pc_err_set(err, PC_UNSUPPORTED, 0,
				"%s accepted no presentation context for SOP "
				"class %s in transfer syntax %s",
				dul_conn_peer(s->conn), fi.sop_class, fi.ts);
		goto out;
	}
	request(s, DIMSE_C_STORE_RQ, fi.sop_class, true, &cmd);
	cmd.present |= DIMSE_F_AFFECTED_INSTANCE;
	memcpy(cmd.affected_instance, fi.sop_instance,
	       sizeof(cmd.affected_instance));
	if (move_orig_ae != NULL && move_orig_ae[0] != '\0') {
		/* PS3.7 9.3.1.1: set when a C-MOVE caused this store. */
		cmd.present |= DIMSE_F_MOVE_ORIG_AE | DIMSE_F_MOVE_ORIG_ID;
		snprintf(cmd.move_orig_ae, sizeof(cmd.move_orig_ae), "%s",
			 move_orig_ae);
		cmd.move_orig_id = move_orig_id;
	}
	st = send_data_set(s, pc, &cmd, body, body_n, err);
	if (st == PC_OK)
		st = await_response(s, DIMSE_C_STORE_RSP, cmd.message_id, &rsp,
				    err);
	if (st == PC_OK)
		*status = rsp.status;
out:
	pc_buf_cleanup(&re);
	return st;
}

static const char *arena_str(pc_arena *a, const char *s)
{
	return pc_arena_memdup(a, s, strlen(s) + 1);
}

enum pc_status scu_storage_contexts(pc_arena *arena,
				    const struct pc_span *files, size_t n,
				    struct scu_context **out, size_t *n_out,
				    struct pc_err *err)
{
	struct scu_context *ctx = NULL;
	size_t count = 0;

	*out = NULL;
	*n_out = 0;
	if (n > 0) {
		size_t bytes;
		if (!pc_mul_ok(n, sizeof(*ctx), &bytes))
			return pc_err_set(err, PC_NOMEM, 0, "out of memory");
		ctx = pc_arena_alloc(arena, bytes);
		if (ctx == NULL)
			return pc_err_set(err, PC_NOMEM, 0, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct file_info fi;
		struct pc_err ferr = {0};
		bool seen = false;

		if (file_info(files[i].p, files[i].n, &fi, &ferr) != PC_OK)
			return pc_err_set(err, ferr.status, ferr.offset,
					  "file %zu: %s", i, ferr.msg);
		for (size_t k = 0; k < count && !seen; k++)
			seen = strcmp(ctx[k].abstract_syntax, fi.sop_class) ==
				       0 &&
			       strcmp(ctx[k].ts[0], fi.ts) == 0;
		if (seen)
			continue;
		/* The file's own syntax first, then for native ones the two
		 * every SCP supports (PS3.5 10.1), without duplicates. */
		const char *list[3] = {fi.ts, NULL, NULL};
		size_t n_ts = 1;
		if (native_ts(fi.ts)) {
			if (strcmp(fi.ts, TS_EXPLICIT_LE) != 0)
				list[n_ts++] = TS_EXPLICIT_LE;
			if (strcmp(fi.ts, TS_IMPLICIT_LE) != 0)
				list[n_ts++] = TS_IMPLICIT_LE;
		}
		const char **ts = pc_arena_alloc(arena, sizeof(*ts) * n_ts);
		const char *as = arena_str(arena, fi.sop_class);
		if (ts == NULL || as == NULL)
			return pc_err_set(err, PC_NOMEM, 0, "out of memory");
		for (size_t k = 0; k < n_ts; k++) {
			ts[k] = arena_str(arena, list[k]);
			if (ts[k] == NULL)
				return pc_err_set(err, PC_NOMEM, 0,
						  "out of memory");
		}
		ctx[count].abstract_syntax = as;
		ctx[count].ts = ts;
		ctx[count].n_ts = n_ts;
		ctx[count].scp_role = false;
		count++;
	}
	*out = ctx;
	*n_out = count;
	return PC_OK;
}

/* ---- C-FIND, C-MOVE, C-GET ---------------------------------------------- */

/* PS3.7 9.3.2.3: C-CANCEL-RQ naming the request being answered. */
static enum pc_status send_cancel(scu_session *s, uint8_t pc, uint16_t id,
				  struct pc_err *err)
{
	struct dimse_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.command = DIMSE_C_CANCEL_RQ;
	cmd.present = DIMSE_F_MESSAGE_ID_RSP;
	cmd.message_id_rsp = id;
	cmd.data_set_type = DIMSE_NO_DATA_SET;
	return dimse_send(s->conn, pc, &cmd, NULL, 0, err);
}

/* The context of a Query/Retrieve model, or PC_UNSUPPORTED. */
static enum pc_status model_context(scu_session *s, const char *model,
				    uint8_t *pc, struct pc_err *err)
{
	*pc = scu_context_for(s, model, NULL);
	if (*pc == 0)
		return pc_err_set(err, PC_UNSUPPORTED, 0,
				  "%s did not accept SOP class %s",
				  dul_conn_peer(s->conn), model);
	return PC_OK;
}

enum pc_status scu_find(scu_session *s, const char *model,
			const uint8_t *identifier, size_t n,
			scu_match_fn fn, void *ctx, uint16_t *status,
			struct pc_err *err)
{
	struct dimse_cmd cmd, rsp;
	struct pc_buf ident = PC_BUF_INIT;
	enum pc_status st, failed = PC_OK;
	uint8_t pc, rpc;

	st = model_context(s, model, &pc, err);
	if (st != PC_OK)
		return st;
	const char *ts = dul_conn_ts(s->conn, pc);
	request(s, DIMSE_C_FIND_RQ, model, true, &cmd);
	st = dimse_send(s->conn, pc, &cmd, identifier, n, err);
	while (st == PC_OK) {
		st = next_command(s, &rsp, &rpc, err);
		if (st != PC_OK)
			break;
		if (!is_response_to(&rsp, DIMSE_C_FIND_RSP, cmd.message_id)) {
			st = unexpected(s, &rsp, DIMSE_C_FIND_RSP,
					cmd.message_id, err);
			break;
		}
		if (!is_pending(rsp.status)) {
			/* PS3.4 C.4.1.1.4: the final response has no
			 * identifier; one sent anyway is dropped. */
			if (dimse_cmd_has_data(&rsp))
				st = dimse_recv_discard(&s->rd, rpc, err);
			*status = rsp.status;
			break;
		}
		if (!dimse_cmd_has_data(&rsp))
			continue;
		pc_buf_reset(&ident);
		st = dimse_recv_data_buf(&s->rd, rpc, &ident, IDENTIFIER_MAX,
					 err);
		if (st != PC_OK)
			break;
		if (failed != PC_OK)
			continue; /* cancelled: drain until the final one */
		failed = fn(ctx, (const uint8_t *)ident.p, ident.n, ts);
		if (failed != PC_OK)
			st = send_cancel(s, pc, cmd.message_id, err);
	}
	pc_buf_cleanup(&ident);
	if (st == PC_OK && failed != PC_OK && failed != PC_STOP)
		st = failed;
	return st;
}

/* Answers a C-STORE sub-operation of a C-GET (PS3.4 C.4.3.1.3). */
static enum pc_status get_store(scu_session *s, const struct dimse_cmd *rq,
				uint8_t pc, scu_store_fn store, void *store_ctx,
				struct pc_err *err)
{
	struct dimse_cmd rsp;
	struct pc_buf b = PC_BUF_INIT;
	struct pc_err rerr = {0};
	uint16_t status;
	enum pc_status st = PC_OK;
	const char *ts = dul_conn_ts(s->conn, pc);

	if (!dimse_cmd_has_data(rq)) {
		status = DIMSE_CANNOT_UNDERSTAND;
	} else {
		dimse_part10_header(&b, rq->affected_class,
				    rq->affected_instance, ts,
				    dul_conn_rq(s->conn)->called_ae);
		st = dimse_recv_data_buf(&s->rd, pc, &b, SIZE_MAX / 2, &rerr);
		if (st == PC_OK) {
			status = store(store_ctx, rq, (const uint8_t *)b.p,
				       b.n);
		} else if (st == PC_NOMEM || st == PC_LIMIT) {
			/* The rest of the data set was read and dropped: the
			 * association is still in step. */
			status = DIMSE_OUT_OF_RESOURCES;
			st = PC_OK;
		} else {
			pc_buf_cleanup(&b);
			return pc_err_set(err, rerr.status, 0, "%s", rerr.msg);
		}
	}
	pc_buf_cleanup(&b);
	scp__response(rq, status, &rsp);
	return dimse_send(s->conn, pc, &rsp, NULL, 0, err);
}

/* The response loop shared by C-MOVE and C-GET. */
static enum pc_status retrieve(scu_session *s, uint16_t command,
			       const char *model, const char *dest_ae,
			       const uint8_t *identifier, size_t n,
			       scu_store_fn store, void *store_ctx,
			       scu_progress_fn progress, void *ctx,
			       struct dimse_cmd *final, struct pc_err *err)
{
	struct dimse_cmd cmd, rsp;
	uint16_t want = (uint16_t)(command | 0x8000);
	uint8_t pc, rpc;
	enum pc_status st;

	st = model_context(s, model, &pc, err);
	if (st != PC_OK)
		return st;
	request(s, command, model, true, &cmd);
	if (dest_ae != NULL) {
		cmd.present |= DIMSE_F_MOVE_DEST;
		snprintf(cmd.move_dest, sizeof(cmd.move_dest), "%s", dest_ae);
	}
	st = dimse_send(s->conn, pc, &cmd, identifier, n, err);
	while (st == PC_OK) {
		st = next_command(s, &rsp, &rpc, err);
		if (st != PC_OK)
			break;
		if (rsp.command == DIMSE_C_STORE_RQ && store != NULL) {
			st = get_store(s, &rsp, rpc, store, store_ctx, err);
			continue;
		}
		if (!is_response_to(&rsp, want, cmd.message_id)) {
			st = unexpected(s, &rsp, want, cmd.message_id, err);
			break;
		}
		/* A failed or warning final response may list the Failed
		 * SOP Instance UIDs (PS3.4 C.4.2.1.3); not needed here. */
		if (dimse_cmd_has_data(&rsp)) {
			st = dimse_recv_discard(&s->rd, rpc, err);
			if (st != PC_OK)
				break;
		}
		if (progress != NULL)
			progress(ctx, &rsp);
		if (!is_pending(rsp.status)) {
			*final = rsp;
			break;
		}
	}
	return st;
}

enum pc_status scu_move(scu_session *s, const char *model,
			const char *dest_ae, const uint8_t *identifier,
			size_t n, scu_progress_fn progress, void *ctx,
			struct dimse_cmd *final, struct pc_err *err)
{
	if (dest_ae == NULL || dest_ae[0] == '\0' ||
	    strlen(dest_ae) > DIMSE_AE_MAX)
		return pc_err_set(err, PC_INVAL, 0,
				  "C-MOVE destination must have 1 to %d "
				  "characters", DIMSE_AE_MAX);
	return retrieve(s, DIMSE_C_MOVE_RQ, model, dest_ae, identifier, n,
			NULL, NULL, progress, ctx, final, err);
}

enum pc_status scu_get(scu_session *s, const char *model,
		       const uint8_t *identifier, size_t n,
		       scu_store_fn store, void *store_ctx,
		       scu_progress_fn progress, void *ctx,
		       struct dimse_cmd *final, struct pc_err *err)
{
	if (store == NULL)
		return pc_err_set(err, PC_INVAL, 0,
				  "C-GET needs a store callback");
	return retrieve(s, DIMSE_C_GET_RQ, model, NULL, identifier, n, store,
			store_ctx, progress, ctx, final, err);
}
