/*
 * test_scu.c - the DIMSE service user (src/net/scu.c) against a scripted
 * peer in a thread of the test (dul_accept + the message reader): the
 * contexts proposed for files, C-ECHO, C-STORE sending the file's data set
 * bytes unchanged (and the deflate pad byte), C-FIND with a C-CANCEL when
 * the caller stops, C-GET with C-STORE sub-operations interleaved between
 * the responses, rejection and "no context accepted", and out-of-memory.
 */
#include "dicom/dcm.h"
#include "net/dimse.h"
#include "net/scu.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CT_CLASS "1.2.840.10008.5.1.4.1.1.2"
#define MR_CLASS "1.2.840.10008.5.1.4.1.1.4"
#define FIND_MODEL "1.2.840.10008.5.1.4.1.2.2.1"
#define GET_MODEL "1.2.840.10008.5.1.4.1.2.2.3"
#define TS_IMPL "1.2.840.10008.1.2"
#define TS_EXPL "1.2.840.10008.1.2.1"
#define TS_BIG "1.2.840.10008.1.2.2"
#define TS_DEFL "1.2.840.10008.1.2.1.99"
#define TS_RLE "1.2.840.10008.1.2.5"

/* A small Part 10 file of `cls` in `ts` (native syntaxes), or for RLE
 * one with an encapsulated Pixel Data. */
static void make_file(const char *cls, const char *uid, const char *ts_uid,
		      struct pc_buf *out)
{
	dcm_dataset *ds = dcm_dataset_create();
	struct pc_err err = {0};
	struct dcm_write_opts wo = {0};

	assert_non_null(ds);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0016),
						DCM_VR_UI, cls), PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0018),
						DCM_VR_UI, uid), PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0010, 0x0010),
						DCM_VR_PN, "Doe^Jane"), PC_OK);
	uint16_t rows = 2;
	assert_int_equal(dcm_dataset_set(ds, DCM_TAG(0x0028, 0x0010),
					 DCM_VR_US, &rows, 2), PC_OK);
	if (strcmp(ts_uid, TS_RLE) == 0) {
		dcm_elem *px;
		static const uint8_t frag[4] = {1, 2, 3, 4};
		assert_int_equal(dcm_dataset_set_encapsulated(
					 ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB,
					 pc_span_make(NULL, 0), &px),
				 PC_OK);
		assert_int_equal(dcm_elem_add_fragment(
					 px, pc_span_make(frag, sizeof(frag))),
				 PC_OK);
	}
	wo.ts = dcm_ts_find(ts_uid, strlen(ts_uid));
	assert_non_null(wo.ts);
	assert_int_equal(dcm_file_write(NULL, ds, &wo, out, &err), PC_OK);
	dcm_dataset_destroy(ds);
}

/* ---- scu_storage_contexts ---------------------------------------------- */

static void test_storage_contexts(void **state)
{
	(void)state;
	struct pc_buf f[5] = {PC_BUF_INIT, PC_BUF_INIT, PC_BUF_INIT,
			      PC_BUF_INIT, PC_BUF_INIT};
	struct pc_span spans[5];
	struct scu_context *ctx;
	size_t n;
	struct pc_err err = {0};
	pc_arena *arena = pc_arena_create(4096);

	make_file(CT_CLASS, "1.2.3.1", TS_EXPL, &f[0]);
	make_file(CT_CLASS, "1.2.3.2", TS_EXPL, &f[1]); /* same pair */
	make_file(MR_CLASS, "1.2.3.3", TS_BIG, &f[2]);
	make_file(MR_CLASS, "1.2.3.4", TS_RLE, &f[3]);
	make_file(CT_CLASS, "1.2.3.5", TS_IMPL, &f[4]);
	for (size_t i = 0; i < 5; i++)
		spans[i] = pc_span_make(f[i].p, f[i].n);
	assert_int_equal(scu_storage_contexts(arena, spans, 5, &ctx, &n, &err),
			 PC_OK);
	assert_int_equal(n, 4);
	/* Native: own syntax, then explicit and implicit LE, no repeats. */
	assert_string_equal(ctx[0].abstract_syntax, CT_CLASS);
	assert_int_equal(ctx[0].n_ts, 2);
	assert_string_equal(ctx[0].ts[0], TS_EXPL);
	assert_string_equal(ctx[0].ts[1], TS_IMPL);
	assert_string_equal(ctx[1].abstract_syntax, MR_CLASS);
	assert_int_equal(ctx[1].n_ts, 3);
	assert_string_equal(ctx[1].ts[0], TS_BIG);
	assert_string_equal(ctx[1].ts[1], TS_EXPL);
	assert_string_equal(ctx[1].ts[2], TS_IMPL);
	/* Compressed: only its own. */
	assert_int_equal(ctx[2].n_ts, 1);
	assert_string_equal(ctx[2].ts[0], TS_RLE);
	assert_int_equal(ctx[3].n_ts, 2);
	assert_string_equal(ctx[3].ts[0], TS_IMPL);
	assert_string_equal(ctx[3].ts[1], TS_EXPL);
	assert_false(ctx[0].scp_role);

	/* Not DICOM: an error naming the file. */
	struct pc_span junk[2] = {spans[0], pc_span_make("hello", 5)};
	pc_err_clear(&err);
	assert_int_not_equal(scu_storage_contexts(arena, junk, 2, &ctx, &n,
						  &err), PC_OK);
	assert_non_null(strstr(err.msg, "file 1"));

	/* A bare data set (no meta): UIDs and syntax from the data set. */
	struct pc_buf bare = PC_BUF_INIT;
	dcm_dataset *ds = dcm_dataset_create();
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0016),
						DCM_VR_UI, MR_CLASS), PC_OK);
	assert_int_equal(dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0018),
						DCM_VR_UI, "1.2.3.9"), PC_OK);
	struct dcm_write_opts wo = {.ts = &dcm_ts_implicit_le,
				    .no_preamble = true};
	assert_int_equal(dcm_file_write(NULL, ds, &wo, &bare, &err), PC_OK);
	dcm_dataset_destroy(ds);
	struct pc_span one = pc_span_make(bare.p, bare.n);
	assert_int_equal(scu_storage_contexts(arena, &one, 1, &ctx, &n, &err),
			 PC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ctx[0].abstract_syntax, MR_CLASS);
	assert_string_equal(ctx[0].ts[0], TS_IMPL);
	pc_buf_cleanup(&bare);

	/* Out of memory at each allocation in turn: a status, no crash. */
	for (uint64_t k = 1; k < 200; k++) {
		pc_arena *a = pc_arena_create(64);
		if (a == NULL)
			continue;
		pc_alloc_fail_after(k);
		enum pc_status st = scu_storage_contexts(a, spans, 5, &ctx, &n,
							 NULL);
		uint64_t made = pc_alloc_fail_after(0);
		pc_arena_destroy(a);
		if (st == PC_OK && made < k)
			break;
		assert_true(st == PC_OK || st == PC_NOMEM);
	}
	for (size_t i = 0; i < 5; i++)
		pc_buf_cleanup(&f[i]);
	pc_arena_destroy(arena);
}

/* ---- a scripted peer ----------------------------------------------------- */

struct peer {
	int listen_fd;
	uint16_t port;
	pthread_t thread;
	bool reject;                /* answer A-ASSOCIATE-RJ */
	bool refuse_all;            /* accept no context */
	/* what the peer saw */
	unsigned echoes, stores, finds, cancels, gets;
	uint16_t last_message_id;
	uint16_t last_priority;
	char store_ts[65];
	struct pc_buf stored;       /* data set bytes of the last C-STORE */
	char failure[200];          /* first thing the peer found wrong */
};

static enum pc_status accept_all(void *ctx, pc_arena *arena,
				 const char *peer_host,
				 const struct dul_assoc *rq,
				 struct dul_assoc *ac, struct dul_reject *rj)
{
	struct peer *p = ctx;

	(void)peer_host;
	if (p->reject) {
		rj->result = 1;
		rj->source = 1;
		rj->reason = 7;
		return PC_STOP;
	}
	for (size_t i = 0; i < rq->n_pcs; i++) {
		ac->pcs[i].id = rq->pcs[i].id;
		if (p->refuse_all) {
			ac->pcs[i].result = DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED;
			continue;
		}
		/* The proposer's first syntax, as an SCP that stores as is. */
		const char **one = pc_arena_alloc(arena, sizeof(*one));
		if (one == NULL)
			return PC_NOMEM;
		*one = rq->pcs[i].ts[0];
		ac->pcs[i].result = DUL_PC_ACCEPTANCE;
		ac->pcs[i].ts = one;
		ac->pcs[i].n_ts = 1;
	}
	ac->roles = rq->roles;
	ac->n_roles = rq->n_roles;
	return PC_OK;
}

static void peer_fail(struct peer *p, const char *what)
{
	if (p->failure[0] == '\0')
		snprintf(p->failure, sizeof(p->failure), "%s", what);
}

static void respond(dul_conn *c, uint8_t pc, const struct dimse_cmd *rq,
		    uint16_t status, const void *data, size_t n)
{
	struct dimse_cmd rsp = {0};

	rsp.command = (uint16_t)(rq->command | 0x8000);
	rsp.present = DIMSE_F_AFFECTED_CLASS | DIMSE_F_MESSAGE_ID_RSP |
		      DIMSE_F_STATUS;
	memcpy(rsp.affected_class, rq->affected_class,
	       sizeof(rsp.affected_class));
	rsp.message_id_rsp = rq->message_id;
	rsp.status = status;
	rsp.data_set_type = data != NULL ? 0x0000 : DIMSE_NO_DATA_SET;
	if (rq->command == DIMSE_C_GET_RQ) {
		rsp.present |= DIMSE_F_REMAINING | DIMSE_F_COMPLETED |
			       DIMSE_F_FAILED | DIMSE_F_WARNING;
		rsp.remaining = status == DIMSE_PENDING ? 1 : 0;
		rsp.completed = status == DIMSE_PENDING ? 1 : 2;
	}
	if (dimse_send(c, pc, &rsp, data, n, NULL) != PC_OK)
		fprintf(stderr, "peer: cannot send a response\n");
}

/* C-FIND: two matches, but the user cancels after the first. */
static void serve_find(struct peer *p, struct dimse_reader *rd, dul_conn *c,
		       uint8_t pc, const struct dimse_cmd *rq)
{
	struct pc_buf ident = PC_BUF_INIT;
	struct dimse_cmd cmd;
	enum dimse_next next;
	uint8_t id;

	p->finds++;
	if (dimse_recv_data_buf(rd, pc, &ident, 4096, NULL) != PC_OK)
		peer_fail(p, "C-FIND identifier unreadable");
	/* Echo the identifier back as the match. */
	respond(c, pc, rq, DIMSE_PENDING, ident.p, ident.n);
	if (dimse_recv_command(rd, &cmd, &id, &next, NULL) != PC_OK ||
	    next != DIMSE_NEXT_COMMAND || cmd.command != DIMSE_C_CANCEL_RQ ||
	    cmd.message_id_rsp != rq->message_id)
		peer_fail(p, "no C-CANCEL-RQ after the first match");
	else
		p->cancels++;
	respond(c, pc, rq, DIMSE_CANCEL, NULL, 0);
	pc_buf_cleanup(&ident);
}

/* C-GET: a C-STORE-RQ sub-operation, its response, a pending C-GET-RSP,
 * a second sub-operation, then the final response (PS3.4 C.4.3.1.3). */
static void serve_get(struct peer *p, struct dimse_reader *rd, dul_conn *c,
		      uint8_t pc, const struct dimse_cmd *rq)
{
	const struct dul_assoc *a = dul_conn_rq(c);
	uint8_t store_pc = 0;
	struct pc_buf file = PC_BUF_INIT;

	p->gets++;
	if (dimse_recv_discard(rd, pc, NULL) != PC_OK)
		peer_fail(p, "C-GET identifier unreadable");
	for (size_t i = 0; i < a->n_pcs; i++)
		if (strcmp(a->pcs[i].abstract_syntax, CT_CLASS) == 0)
			store_pc = a->pcs[i].id;
	make_file(CT_CLASS, "1.2.3.77", TS_EXPL, &file);
	for (int k = 0; k < 2; k++) {
		struct dimse_cmd st = {0}, rsp;
		enum dimse_next next;
		uint8_t id;
		st.command = DIMSE_C_STORE_RQ;
		st.present = DIMSE_F_AFFECTED_CLASS | DIMSE_F_MESSAGE_ID |
			     DIMSE_F_PRIORITY | DIMSE_F_AFFECTED_INSTANCE;
		snprintf(st.affected_class, sizeof(st.affected_class), "%s",
			 CT_CLASS);
		snprintf(st.affected_instance, sizeof(st.affected_instance),
			 "1.2.3.%d", 77 + k);
		st.message_id = (uint16_t)(100 + k);
		st.data_set_type = 0;
		/* The data set: what follows the 132+meta bytes. */
		size_t meta_end = 132 + 12 +
				  (size_t)((uint8_t)file.p[140] |
					   (uint8_t)file.p[141] << 8);
		if (dimse_send(c, store_pc, &st, file.p + meta_end,
			       file.n - meta_end, NULL) != PC_OK)
			peer_fail(p, "cannot send the C-STORE-RQ");
		if (dimse_recv_command(rd, &rsp, &id, &next, NULL) != PC_OK ||
		    rsp.command != DIMSE_C_STORE_RSP ||
		    rsp.message_id_rsp != st.message_id || rsp.status != 0)
			peer_fail(p, "no C-STORE-RSP success for the sub-operation");
		respond(c, pc, rq, k == 0 ? DIMSE_PENDING : DIMSE_SUCCESS,
			NULL, 0);
	}
	pc_buf_cleanup(&file);
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	struct dimse_reader rd;
	int fd = accept(p->listen_fd, NULL, NULL);
	dul_conn *c;

	if (fd < 0)
		return NULL;
	c = dul_accept(fd, NULL, accept_all, p, NULL);
	if (c == NULL)
		return NULL;
	dimse_reader_init(&rd, c);
	for (;;) {
		struct dimse_cmd cmd;
		enum dimse_next next;
		uint8_t pc;
		if (dimse_recv_command(&rd, &cmd, &pc, &next, NULL) != PC_OK)
			break;
		if (next == DIMSE_NEXT_RELEASE) {
			if (dul_release_respond(c, NULL) != PC_OK)
				peer_fail(p, "release failed");
			break;
		}
		if (next != DIMSE_NEXT_COMMAND)
			break;
		p->last_message_id = cmd.message_id;
		p->last_priority = cmd.priority;
		switch (cmd.command) {
		case DIMSE_C_ECHO_RQ:
			p->echoes++;
			respond(c, pc, &cmd, 0, NULL, 0);
			break;
		case DIMSE_C_STORE_RQ:
			p->stores++;
			snprintf(p->store_ts, sizeof(p->store_ts), "%s",
				 dul_conn_ts(c, pc));
			pc_buf_reset(&p->stored);
			if (dimse_recv_data_buf(&rd, pc, &p->stored, 1 << 20,
						NULL) != PC_OK)
				peer_fail(p, "C-STORE data set unreadable");
			respond(c, pc, &cmd, 0, NULL, 0);
			break;
		case DIMSE_C_FIND_RQ:
			serve_find(p, &rd, c, pc, &cmd);
			break;
		case DIMSE_C_GET_RQ:
			serve_get(p, &rd, c, pc, &cmd);
			break;
		default:
			peer_fail(p, "unexpected command");
			break;
		}
	}
	dimse_reader_cleanup(&rd);
	dul_close(c);
	return NULL;
}

static void peer_start(struct peer *p)
{
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);

	p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->listen_fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&sa,
			      sizeof(sa)), 0);
	assert_int_equal(listen(p->listen_fd, 4), 0);
	assert_int_equal(getsockname(p->listen_fd, (struct sockaddr *)&sa,
				     &sl), 0);
	p->port = ntohs(sa.sin_port);
	pc_buf_init(&p->stored);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void peer_stop(struct peer *p)
{
	pthread_join(p->thread, NULL);
	close(p->listen_fd);
	pc_buf_cleanup(&p->stored);
	if (p->failure[0] != '\0')
		fail_msg("peer: %s", p->failure);
}

static const char *const native_ts[] = {TS_EXPL, TS_IMPL};

/* ---- sessions ------------------------------------------------------------ */

static void test_echo_store(void **state)
{
	(void)state;
	struct peer p = {0};
	struct pc_err err = {0};
	struct pc_buf f1 = PC_BUF_INIT, f2 = PC_BUF_INIT;
	pc_arena *arena = pc_arena_create(4096);
	struct scu_context *sctx;
	size_t n_sctx;
	uint16_t status = 0xFFFF;

	make_file(CT_CLASS, "1.2.3.10", TS_EXPL, &f1);
	make_file(MR_CLASS, "1.2.3.11", TS_DEFL, &f2);
	struct pc_span spans[2] = {pc_span_make(f1.p, f1.n),
				   pc_span_make(f2.p, f2.n)};
	assert_int_equal(scu_storage_contexts(arena, spans, 2, &sctx, &n_sctx,
					      &err), PC_OK);
	struct scu_context ctx[3] = {{"1.2.840.10008.1.1", native_ts, 2,
				      false}, sctx[0], sctx[1]};
	peer_start(&p);
	struct scu_peer peer = {"127.0.0.1", p.port, "PEER", "ME", 5000};
	scu_session *s = scu_open(&peer, ctx, 3, &err);
	assert_non_null(s);
	assert_true(scu_established(s));
	assert_int_not_equal(scu_context_for(s, CT_CLASS, TS_EXPL), 0);
	assert_int_equal(scu_context_for(s, CT_CLASS, TS_IMPL), 0);
	assert_string_equal(scu_context_ts(s, scu_context_for(s, MR_CLASS,
							      NULL)),
			    TS_DEFL);

	assert_int_equal(scu_echo(s, &status, &err), PC_OK);
	assert_int_equal(status, 0);
	assert_int_equal(p.last_message_id, 1);

	/* The data set bytes after the meta, unchanged. */
	assert_int_equal(scu_store(s, spans[0].p, spans[0].n, NULL, 0, &status,
				   &err), PC_OK);
	assert_int_equal(status, 0);
	assert_int_equal(p.last_message_id, 2);
	assert_int_equal(p.last_priority, 0);
	assert_string_equal(p.store_ts, TS_EXPL);
	size_t meta_end = 144 + (size_t)((uint8_t)f1.p[140] |
					 (uint8_t)f1.p[141] << 8);
	assert_int_equal(p.stored.n, f1.n - meta_end);
	assert_memory_equal(p.stored.p, f1.p + meta_end, p.stored.n);

	/* Deflated: sent as stored, padded to even length. */
	assert_int_equal(scu_store(s, spans[1].p, spans[1].n, "MOVER", 7,
				   &status, &err), PC_OK);
	assert_string_equal(p.store_ts, TS_DEFL);
	meta_end = 144 + (size_t)((uint8_t)f2.p[140] |
				  (uint8_t)f2.p[141] << 8);
	size_t body = f2.n - meta_end;
	assert_int_equal(p.stored.n, body + (body & 1));
	assert_memory_equal(p.stored.p, f2.p + meta_end, body);

	/* A file without an accepted context: refused, session usable. */
	struct pc_buf f3 = PC_BUF_INIT;
	make_file("1.2.840.10008.5.1.4.1.1.7", "1.2.3.12", TS_EXPL, &f3);
	pc_err_clear(&err);
	assert_int_equal(scu_store(s, (const uint8_t *)f3.p, f3.n, NULL, 0,
				   &status, &err), PC_UNSUPPORTED);
	assert_true(scu_established(s));
	assert_int_equal(scu_echo(s, &status, &err), PC_OK);

	assert_int_equal(scu_close(s, &err), PC_OK);
	peer_stop(&p);
	assert_int_equal(p.echoes, 2);
	assert_int_equal(p.stores, 2);
	pc_buf_cleanup(&f1);
	pc_buf_cleanup(&f2);
	pc_buf_cleanup(&f3);
	pc_arena_destroy(arena);
}

static enum pc_status stop_after_first(void *ctx, const uint8_t *p, size_t n,
				       const char *ts)
{
	unsigned *count = ctx;

	(void)p;
	assert_true(n > 0);
	assert_string_equal(ts, TS_EXPL);
	(*count)++;
	return PC_STOP;
}

static uint16_t keep(void *ctx, const struct dimse_cmd *rq,
		     const uint8_t *part10, size_t n)
{
	unsigned *count = ctx;
	struct pc_err err = {0};

	/* A Part 10 file our reader accepts, with the meta we add. */
	dcm_file *f = dcm_file_parse(part10, n, NULL, &err);
	assert_non_null(f);
	assert_string_equal(rq->affected_class, CT_CLASS);
	struct pc_buf v = PC_BUF_INIT;
	assert_int_equal(dcm_dataset_get_string(dcm_file_dataset(f),
						DCM_TAG(0x0010, 0x0010), 0,
						&v), PC_OK);
	assert_string_equal(pc_buf_str(&v), "Doe^Jane");
	assert_int_equal(dcm_dataset_get_string(dcm_file_meta(f),
						DCM_TAG(0x0002, 0x0016), 0,
						&v), PC_OK);
	pc_buf_cleanup(&v);
	dcm_file_destroy(f);
	(*count)++;
	return 0;
}

static void progress(void *ctx, const struct dimse_cmd *rsp)
{
	unsigned *count = ctx;

	(void)rsp;
	(*count)++;
}

static void test_find_get(void **state)
{
	(void)state;
	static const char *const ct_ts[] = {TS_EXPL, TS_IMPL};
	struct peer p = {0};
	struct pc_err err = {0};
	struct scu_context ctx[3] = {{FIND_MODEL, native_ts, 2, false},
				     {GET_MODEL, native_ts, 2, false},
				     {CT_CLASS, ct_ts, 2, true}};
	struct dimse_cmd final;
	unsigned matches = 0, stored = 0, responses = 0;
	uint16_t status = 0;

	peer_start(&p);
	struct scu_peer peer = {"127.0.0.1", p.port, "PEER", "ME", 5000};
	scu_session *s = scu_open(&peer, ctx, 3, &err);
	assert_non_null(s);

	const uint8_t ident[] = {0x08, 0x00, 0x52, 0x00, 'C', 'S', 6, 0,
				 'S', 'T', 'U', 'D', 'Y', ' '};
	assert_int_equal(scu_find(s, FIND_MODEL, ident, sizeof(ident),
				  stop_after_first, &matches, &status, &err),
			 PC_OK);
	assert_int_equal(matches, 1);
	assert_int_equal(status, DIMSE_CANCEL);

	memset(&final, 0, sizeof(final));
	assert_int_equal(scu_get(s, GET_MODEL, ident, sizeof(ident), keep,
				 &stored, progress, &responses, &final, &err),
			 PC_OK);
	assert_int_equal(stored, 2);
	assert_int_equal(responses, 2);
	assert_int_equal(final.status, 0);
	assert_int_equal(final.completed, 2);
	assert_int_equal(scu_close(s, &err), PC_OK);
	peer_stop(&p);
	assert_int_equal(p.cancels, 1);
	assert_int_equal(p.gets, 1);
}

static void test_reject_and_refuse(void **state)
{
	(void)state;
	struct peer p = {0};
	struct pc_err err = {0};
	struct scu_context ctx = {"1.2.840.10008.1.1", native_ts, 2, false};

	p.reject = true;
	peer_start(&p);
	struct scu_peer peer = {"127.0.0.1", p.port, "PEER", "ME", 5000};
	assert_null(scu_open(&peer, &ctx, 1, &err));
	assert_int_equal(err.status, PC_STOP);
	assert_non_null(strstr(err.msg, "called AE title not recognized"));
	peer_stop(&p);

	memset(&p, 0, sizeof(p));
	p.refuse_all = true;
	peer_start(&p);
	peer.port = p.port;
	pc_err_clear(&err);
	assert_null(scu_open(&peer, &ctx, 1, &err));
	assert_int_equal(err.status, PC_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "abstract syntax not supported"));
	peer_stop(&p);

	/* Nobody listening. */
	pc_err_clear(&err);
	assert_null(scu_open(&peer, &ctx, 1, &err));
	assert_int_equal(err.status, PC_IO);
	assert_non_null(strstr(err.msg, "cannot connect"));

	/* Bad arguments. */
	struct scu_peer bad = {"127.0.0.1", 1, "A_TITLE_LONGER_THAN_16", "ME",
			       0};
	pc_err_clear(&err);
	assert_null(scu_open(&bad, &ctx, 1, &err));
	assert_int_equal(err.status, PC_INVAL);
	pc_err_clear(&err);
	assert_null(scu_open(&peer, &ctx, 0, &err));
	assert_int_equal(err.status, PC_INVAL);
	scu_abort(NULL);
	assert_int_equal(scu_close(NULL, NULL), PC_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_storage_contexts),
		cmocka_unit_test(test_echo_store),
		cmocka_unit_test(test_find_get),
		cmocka_unit_test(test_reject_and_refuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
