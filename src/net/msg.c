/*
 * msg.c - DIMSE messages over an association (PS3.7 9.3, PS3.8 E.2):
 * command fragments gathered, data set fragments streamed to the caller.
 *
 * A message is a command set in one or more command PDVs (control bit 0
 * set), the last flagged; then, if the command says so, the data set in
 * data PDVs on the same presentation context, the last flagged. PDVs of
 * one message may share a P-DATA-TF with the next message's, so the reader
 * keeps its place in the current PDU between calls.
 */
#include "dimse.h"

#include <string.h>

void dimse_reader_init(struct dimse_reader *r, dul_conn *conn)
{
	memset(r, 0, sizeof(*r));
	r->conn = conn;
	pc_buf_init(&r->cmd);
	r->cmd.max = DIMSE_CMD_MAX;
}

void dimse_reader_cleanup(struct dimse_reader *r)
{
	pc_buf_cleanup(&r->cmd);
}

/*
 * The next PDV, reading a new PDU when the current one is used up.
 * Returns PC_OK with *pdv, or PC_STOP with *next set for a release or
 * abort (no PDV), or an error.
 */
static enum pc_status next_pdv(struct dimse_reader *r, struct dul_pdv *pdv,
			       enum dimse_next *next, struct pc_err *err)
{
	for (;;) {
		if (r->have) {
			enum pc_status st = dul_pdv_next(r->ev.body, r->ev.n,
							 &r->pos, pdv, err);
			if (st == PC_OK)
				return PC_OK;
			r->have = false;
			if (st != PC_STOP) {
				dul_abort(r->conn, true, 6);
				return st;
			}
		}
		enum pc_status st = dul_next(r->conn, &r->ev, err);
		if (st != PC_OK)
			return st;
		switch (r->ev.kind) {
		case DUL_EV_DATA:
			r->have = true;
			r->pos = 0;
			break;
		case DUL_EV_RELEASE:
		case DUL_EV_RELEASED:
			*next = DIMSE_NEXT_RELEASE;
			return PC_STOP;
		case DUL_EV_ABORTED:
			*next = DIMSE_NEXT_ABORTED;
			return PC_STOP;
		}
	}
}

static enum pc_status protocol_error(struct dimse_reader *r,
				     struct pc_err *err, const char *what)
{
	/* PS3.8 7.1: an A-P-ABORT (provider, unexpected PDU parameter). */
	dul_abort(r->conn, true, 5);
	return pc_err_set(err, PC_PARSE, 0, "%s: %s",
			  dul_conn_peer(r->conn), what);
}

enum pc_status dimse_recv_command(struct dimse_reader *r, struct dimse_cmd *cmd,
				  uint8_t *pc_id, enum dimse_next *next,
				  struct pc_err *err)
{
	struct dul_pdv pdv;
	bool started = false;

	pc_buf_reset(&r->cmd);
	for (;;) {
		enum pc_status st = next_pdv(r, &pdv, next, err);
		if (st == PC_STOP) {
			if (started)
				return pc_err_set(err, PC_IO, 0,
						  "%s: association ended inside "
						  "a command",
						  dul_conn_peer(r->conn));
			return PC_OK;
		}
		if (st != PC_OK)
			return st;
		if (!pdv.command)
			return protocol_error(r, err,
					      "data fragment where a command "
					      "was expected");
		if (dul_conn_ts(r->conn, pdv.pc_id) == NULL)
			return protocol_error(r, err,
					      "command on a presentation "
					      "context that was not accepted");
		if (started && pdv.pc_id != *pc_id)
			return protocol_error(r, err,
					      "command fragments on two "
					      "presentation contexts");
		started = true;
		*pc_id = pdv.pc_id;
		pc_buf_append(&r->cmd, pdv.data.p, pdv.data.n);
		if (pc_buf_status(&r->cmd) != PC_OK) {
			dul_abort(r->conn, true, 0);
			return pc_err_set(err, PC_LIMIT, 0,
					  "%s: command set larger than %d bytes",
					  dul_conn_peer(r->conn), DIMSE_CMD_MAX);
		}
		if (pdv.last)
			break;
	}
	if (dimse_cmd_decode((const uint8_t *)r->cmd.p, r->cmd.n, cmd, err) !=
	    PC_OK) {
		dul_abort(r->conn, true, 6);
		return err ? err->status : PC_PARSE;
	}
	*next = DIMSE_NEXT_COMMAND;
	return PC_OK;
}

enum pc_status dimse_recv_data(struct dimse_reader *r, uint8_t pc_id,
			       dimse_data_fn fn, void *ctx, struct pc_err *err)
{
	struct dul_pdv pdv;
	enum dimse_next next;
	enum pc_status failed = PC_OK;

	for (;;) {
		enum pc_status st = next_pdv(r, &pdv, &next, err);
		if (st == PC_STOP)
			return pc_err_set(err, PC_IO, 0,
					  "%s: association ended inside a data "
					  "set", dul_conn_peer(r->conn));
		if (st != PC_OK)
			return st;
		if (pdv.command)
			return protocol_error(r, err,
					      "command fragment inside a data "
					      "set");
		if (pdv.pc_id != pc_id)
			return protocol_error(r, err,
					      "data set fragment on another "
					      "presentation context");
		/* After the callback failed, keep reading to the end of the
		 * data set so that the next message starts cleanly. */
		if (failed == PC_OK)
			failed = fn(ctx, pdv.data.p, pdv.data.n, pdv.last);
		if (pdv.last)
			return failed;
	}
}

struct gather {
	struct pc_buf *out;
	size_t max;
};

static enum pc_status gather_fn(void *ctx, const uint8_t *p, size_t n,
				bool last)
{
	struct gather *g = ctx;

	(void)last;
	if (g->out->n + n > g->max)
		return PC_LIMIT;
	pc_buf_append(g->out, p, n);
	return pc_buf_status(g->out);
}

enum pc_status dimse_recv_data_buf(struct dimse_reader *r, uint8_t pc_id,
				   struct pc_buf *out, size_t max,
				   struct pc_err *err)
{
	struct gather g = {out, max};
	enum pc_status st = dimse_recv_data(r, pc_id, gather_fn, &g, err);

	if (st == PC_LIMIT)
		return pc_err_set(err, PC_LIMIT, 0,
				  "data set larger than %zu bytes", max);
	if (st == PC_NOMEM)
		return pc_err_set(err, PC_NOMEM, 0, "out of memory");
	return st;
}

static enum pc_status drop_fn(void *ctx, const uint8_t *p, size_t n,
			      bool last)
{
	(void)ctx;
	(void)p;
	(void)n;
	(void)last;
	return PC_OK;
}

enum pc_status dimse_recv_discard(struct dimse_reader *r, uint8_t pc_id,
				  struct pc_err *err)
{
	return dimse_recv_data(r, pc_id, drop_fn, NULL, err);
}

enum pc_status dimse_send(dul_conn *c, uint8_t pc_id,
			  const struct dimse_cmd *cmd, const void *data,
			  size_t n, struct pc_err *err)
{
	struct pc_buf b = PC_BUF_INIT;
	enum pc_status st;

	dimse_cmd_encode(cmd, &b);
	st = pc_buf_status(&b);
	if (st != PC_OK) {
		pc_buf_cleanup(&b);
		return pc_err_set(err, st, 0, "encoding a command: %s",
				  pc_status_text(st));
	}
	st = dul_send_pdv(c, pc_id, true, b.p, b.n, true, err);
	pc_buf_cleanup(&b);
	if (st == PC_OK && data != NULL)
		st = dul_send_pdv(c, pc_id, false, data, n, true, err);
	return st;
}

enum pc_status dimse_poll_cancel(struct dimse_reader *r, uint16_t message_id,
				 bool *cancelled, enum dimse_next *next,
				 struct pc_err *err)
{
	struct dimse_cmd cmd;
	uint8_t pc_id;

	*next = DIMSE_NEXT_COMMAND;
	/* Only PDVs left in the current PDU, or bytes on the socket, mean a
	 * command is there; otherwise reading would block. */
	bool buffered = r->have && r->pos < r->ev.n;
	if (!buffered && !dul_conn_readable(r->conn))
		return PC_OK;
	enum pc_status st = dimse_recv_command(r, &cmd, &pc_id, next, err);
	if (st != PC_OK)
		return st;
	if (*next != DIMSE_NEXT_COMMAND) {
		*cancelled = true;
		return PC_OK;
	}
	if (cmd.command != DIMSE_C_CANCEL_RQ) {
		dul_abort(r->conn, true, 2);
		return pc_err_set(err, PC_PARSE, 0,
				  "%s: %s while a request is in progress "
				  "(asynchronous operations were not "
				  "negotiated)", dul_conn_peer(r->conn),
				  dimse_command_name(cmd.command));
	}
	if (cmd.message_id_rsp == message_id)
		*cancelled = true;
	return PC_OK;
}

/* Appends an explicit VR little endian element of group 0002. */
static void meta_elem(struct pc_buf *b, uint16_t elem, const char vr[2],
		      const void *v, size_t n, char pad)
{
	size_t padded = n + (n & 1);
	bool long_form = vr[0] == 'O' && vr[1] == 'B';
	uint8_t h[12] = {0x02, 0x00, (uint8_t)elem, (uint8_t)(elem >> 8),
			 (uint8_t)vr[0], (uint8_t)vr[1]};

	if (long_form) {
		h[6] = h[7] = 0;
		h[8] = (uint8_t)padded;
		h[9] = (uint8_t)(padded >> 8);
		h[10] = (uint8_t)(padded >> 16);
		h[11] = (uint8_t)(padded >> 24);
		pc_buf_append(b, h, 12);
	} else {
		h[6] = (uint8_t)padded;
		h[7] = (uint8_t)(padded >> 8);
		pc_buf_append(b, h, 8);
	}
	pc_buf_append(b, v, n);
	if (padded != n)
		pc_buf_putc(b, pad);
}

static void meta_str(struct pc_buf *b, uint16_t elem, const char vr[2],
		     const char *s)
{
	meta_elem(b, elem, vr, s, strlen(s), vr[0] == 'U' ? '\0' : ' ');
}

void dimse_part10_header(struct pc_buf *b, const char *sop_class,
			 const char *sop_instance, const char *ts,
			 const char *source_ae)
{
	static const uint8_t version[2] = {0x00, 0x01};
	static const uint8_t zeros[128];

	pc_buf_append(b, zeros, sizeof(zeros));
	pc_buf_append(b, "DICM", 4);
	size_t gl = b->n;
	meta_elem(b, 0x0000, "UL", "\0\0\0\0", 4, 0);
	size_t start = b->n;
	meta_elem(b, 0x0001, "OB", version, 2, 0);
	meta_str(b, 0x0002, "UI", sop_class);
	meta_str(b, 0x0003, "UI", sop_instance);
	meta_str(b, 0x0010, "UI", ts);
	meta_str(b, 0x0012, "UI", DIMSE_IMPL_CLASS_UID);
	meta_str(b, 0x0013, "SH", DIMSE_IMPL_VERSION);
	if (source_ae[0] != '\0')
		meta_str(b, 0x0016, "AE", source_ae);
	if (pc_buf_status(b) != PC_OK)
		return;
	/* (0002,0000) counts the bytes after itself (PS3.10 7.1). */
	uint32_t len = (uint32_t)(b->n - start);
	uint8_t *p = (uint8_t *)b->p + gl + 8;
	p[0] = (uint8_t)len;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 24);
}
