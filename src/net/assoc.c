/*
 * assoc.c - one DICOM association over TCP, driven by the upper-layer
 * state machine of PS3.8 9.2 (table 9-10).
 *
 * DESIGN
 * The state table below is the standard's, transcribed cell by cell: for
 * each event (rows, Evt1-Evt19) and state (columns, Sta1-Sta13) the action
 * to run; an empty cell is an event that cannot happen in that state (for
 * local primitives: a programming error, reported as PC_INVAL). Every PDU
 * received goes through the table, so a peer that sends, say, an
 * A-ASSOCIATE-RQ in the middle of a transfer gets the A-ABORT the standard
 * prescribes (AA-8) instead of confusing us.
 *
 * One thread owns a dul_conn and blocks in it: reads wait with poll() for
 * at most ARTIM (states where the standard runs that timer) or the idle
 * timeout (established association), writes are bounded by SO_SNDTIMEO, so
 * a stalled peer costs a thread for a bounded time only. PDUs are read
 * whole into one buffer sized by the maximum we announced; a length above
 * it is refused before anything is read (the peer's length never sizes an
 * allocation beyond that bound). Outgoing data is split into PDVs that fit
 * the peer's maximum and written with sendmsg() straight from the caller's
 * memory.
 */
#include "dimse.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_PDU 262144u
#define DEFAULT_ARTIM_MS 30000u
#define DEFAULT_IDLE_MS 300000u
/* A-ASSOCIATE-RQ/AC may be larger than a data PDU (a C-GET proposal with
 * every storage class is ~20 KB); this bounds them. */
#define ASSOC_PDU_MAX (1u << 20)
#define APP_CONTEXT "1.2.840.10008.3.1.1.1"

/* PS3.8 9.2.1 states (index 0 unused). */
enum {
	STA1 = 1, STA2, STA3, STA4, STA5, STA6, STA7, STA8, STA9, STA10,
	STA11, STA12, STA13, NSTATES
};

/* PS3.8 9.2.2 events. */
enum {
	EVT1 = 1, /* A-ASSOCIATE request (local user) */
	EVT2,     /* transport connect confirmation */
	EVT3,     /* A-ASSOCIATE-AC PDU received */
	EVT4,     /* A-ASSOCIATE-RJ PDU received */
	EVT5,     /* transport connection indication */
	EVT6,     /* A-ASSOCIATE-RQ PDU received */
	EVT7,     /* A-ASSOCIATE response primitive (accept) */
	EVT8,     /* A-ASSOCIATE response primitive (reject) */
	EVT9,     /* P-DATA request primitive */
	EVT10,    /* P-DATA-TF PDU received */
	EVT11,    /* A-RELEASE request primitive */
	EVT12,    /* A-RELEASE-RQ PDU received */
	EVT13,    /* A-RELEASE-RP PDU received */
	EVT14,    /* A-RELEASE response primitive */
	EVT15,    /* A-ABORT request primitive */
	EVT16,    /* A-ABORT PDU received */
	EVT17,    /* transport connection closed indication */
	EVT18,    /* ARTIM timer expired */
	EVT19,    /* unrecognized or invalid PDU received */
	NEVENTS
};

/* PS3.8 9.2.3 actions. */
enum action {
	NONE = 0,
	AE_1, AE_2, AE_3, AE_4, AE_5, AE_6, AE_7, AE_8,
	DT_1, DT_2,
	AR_1, AR_2, AR_3, AR_4, AR_5, AR_6, AR_7, AR_8, AR_9, AR_10,
	AA_1, AA_2, AA_3, AA_4, AA_5, AA_6, AA_7, AA_8,
};

/*
 * PS3.8 table 9-10, one row per event, one column per state; NA marks the
 * cells the standard leaves empty.
 */
#define NA NONE
static const uint8_t table[NEVENTS][NSTATES] = {
	/*           Sta1  Sta2  Sta3  Sta4  Sta5  Sta6  Sta7  Sta8  Sta9  Sta10 Sta11 Sta12 Sta13 */
	[EVT1]  = {0, AE_1, NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA},
	[EVT2]  = {0, NA,   NA,   NA,   AE_2, NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA},
	[EVT3]  = {0, NA,   AA_1, AA_8, NA,   AE_3, AA_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_6},
	[EVT4]  = {0, NA,   AA_1, AA_8, NA,   AE_4, AA_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_6},
	[EVT5]  = {0, AE_5, NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA},
	[EVT6]  = {0, NA,   AE_6, AA_8, NA,   AA_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_7},
	[EVT7]  = {0, NA,   NA,   AE_7, NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA},
	[EVT8]  = {0, NA,   NA,   AE_8, NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA},
	[EVT9]  = {0, NA,   NA,   NA,   NA,   NA,   DT_1, NA,   AR_7, NA,   NA,   NA,   NA,   NA},
	[EVT10] = {0, NA,   AA_1, AA_8, NA,   AA_8, DT_2, AR_6, AA_8, AA_8, AA_8, AA_8, AA_8, AA_6},
	[EVT11] = {0, NA,   NA,   NA,   NA,   NA,   AR_1, NA,   NA,   NA,   NA,   NA,   NA,   NA},
	[EVT12] = {0, NA,   AA_1, AA_8, NA,   AA_8, AR_2, AR_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_6},
	[EVT13] = {0, NA,   AA_1, AA_8, NA,   AA_8, AA_8, AR_3, AA_8, AA_8, AR_10,AR_3, AA_8, AA_6},
	[EVT14] = {0, NA,   NA,   NA,   NA,   NA,   NA,   NA,   AR_4, AR_9, NA,   NA,   AR_4, NA},
	[EVT15] = {0, NA,   NA,   AA_1, AA_2, AA_1, AA_1, AA_1, AA_1, AA_1, AA_1, AA_1, AA_1, NA},
	[EVT16] = {0, NA,   AA_2, AA_3, NA,   AA_3, AA_3, AA_3, AA_3, AA_3, AA_3, AA_3, AA_3, AA_2},
	[EVT17] = {0, NA,   AA_5, AA_4, AA_4, AA_4, AA_4, AA_4, AA_4, AA_4, AA_4, AA_4, AA_4, AR_5},
	[EVT18] = {0, NA,   AA_2, NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   NA,   AR_5},
	[EVT19] = {0, NA,   AA_1, AA_8, NA,   AA_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_8, AA_7},
};
#undef NA

struct dul_conn {
	int fd;
	int state;
	bool requestor;
	struct dul_conn_opts opts;   /* defaults applied */
	pc_arena *arena;             /* rq, ac and their strings */
	struct dul_assoc rq, ac;
	uint32_t peer_max;           /* the peer's maximum PDU length */
	uint8_t *buf;                /* one received PDU body */
	size_t cap;
	char peer[80];
	char peer_host[64];
	const char *ts_by_id[256];   /* accepted syntax per context id */
	const char *as_by_id[256];   /* proposed abstract syntax per id */
};

static enum action lookup(const dul_conn *c, int event)
{
	return (enum action)table[event][c->state];
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void close_transport(dul_conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->state = STA1;
}

/* Writes the iovecs completely (bounded by SO_SNDTIMEO). */
static enum pc_status send_all(dul_conn *c, struct iovec *iov, int n,
			       struct pc_err *err)
{
	while (n > 0) {
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return pc_err_set(err, PC_IO, 0, "sending to %s: %s",
					  c->peer,
					  errno == EAGAIN ? "timed out"
							  : strerror(errno));
		}
		size_t left = (size_t)w;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return PC_OK;
}

static enum pc_status send_buf(dul_conn *c, const struct pc_buf *b,
			       struct pc_err *err)
{
	struct iovec iov = {b->p, b->n};

	if (pc_buf_status(b) != PC_OK)
		return pc_err_set(err, pc_buf_status(b), 0,
				  "encoding a PDU: %s",
				  pc_status_text(pc_buf_status(b)));
	return send_all(c, &iov, 1, err);
}

static void send_abort(dul_conn *c, bool provider, uint8_t reason)
{
	struct dul_abort ab = {provider ? 2 : 0, provider ? reason : 0};
	struct pc_buf b = PC_BUF_INIT;

	/* Best effort: the association is over whatever happens. */
	dul_abort_encode(&ab, &b);
	if (pc_buf_status(&b) == PC_OK) {
		struct iovec iov = {b.p, b.n};
		(void)send_all(c, &iov, 1, NULL);
	}
	pc_buf_cleanup(&b);
}

enum rd {
	RD_OK,
	RD_TIMEOUT,
	RD_CLOSED,
	RD_INVALID,   /* unknown type or oversized: Evt19 */
};

/* Reads exactly `n` bytes before `deadline`. Most reads find their bytes
 * waiting (a C-STORE's PDUs arrive back to back): each tries first and
 * polls only when nothing is there, a system call less per read. */
static enum rd read_full(dul_conn *c, uint8_t *p, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t r = recv(c->fd, p, n, MSG_DONTWAIT);

		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0)
			return RD_CLOSED;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return RD_CLOSED;
		uint64_t t = now_ms();
		if (t >= deadline)
			return RD_TIMEOUT;
		struct pollfd pfd = {c->fd, POLLIN, 0};
		int pr = poll(&pfd, 1, (int)(deadline - t));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			return RD_TIMEOUT;
		if (pr < 0)
			return RD_CLOSED;
	}
	return RD_OK;
}

/*
 * Reads one PDU into c->buf. The header's length is checked against the
 * bound for the current state before the body is read.
 */
static enum rd read_pdu(dul_conn *c, unsigned timeout_ms, uint8_t *type,
			size_t *len, struct pc_err *err)
{
	uint8_t h[DUL_PDU_HEADER_LEN];
	uint64_t deadline = now_ms() + timeout_ms;
	enum rd r;

	/*
	 * Acknowledge at once what arrives next. A sender with Nagle's
	 * algorithm on (dcmtk's default) holds a C-STORE's data PDU until the
	 * command PDU is acknowledged, and Linux delays that ACK by up to
	 * 40 ms: without this, such a sender stores ~25 instances/s. The flag
	 * does not stick, hence once per PDU.
	 */
	int one = 1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	r = read_full(c, h, sizeof(h), deadline);

	if (r != RD_OK)
		return r;
	uint32_t max = c->state == STA6 || c->state == STA7 ||
				       c->state >= STA8
			       ? c->opts.max_pdu + 64
			       : ASSOC_PDU_MAX;
	uint32_t n;
	if (dul_pdu_header(h, type, &n, max, err) != PC_OK)
		return RD_INVALID;
	if (n > c->cap) {
		size_t ncap = c->cap ? c->cap : 65536;
		while (ncap < n)
			ncap *= 2;
		uint8_t *nb = pc_realloc(c->buf, ncap);
		if (nb == NULL) {
			pc_err_set(err, PC_NOMEM, 0,
				   "out of memory for a PDU of %u bytes", n);
			return RD_INVALID;
		}
		c->buf = nb;
		c->cap = ncap;
	}
	/* Before the association is established the whole PDU must arrive
	 * within ARTIM (PS3.8 9.1.5): a peer stalling inside an A-ASSOCIATE-RQ
	 * must not hold a slot longer. Afterwards the body also gets the idle
	 * time, for a large PDU on a slow link. */
	bool established = c->state >= STA6 && c->state != STA13;
	r = read_full(c, c->buf, n,
		      established ? deadline + c->opts.idle_ms : deadline);
	if (r == RD_TIMEOUT)
		pc_err_set(err, PC_IO, 0, "%s: PDU of %u bytes not complete "
			   "in time", c->peer, n);
	*len = n;
	return r;
}

static int event_of_type(uint8_t type)
{
	switch (type) {
	case DUL_PDU_ASSOCIATE_RQ: return EVT6;
	case DUL_PDU_ASSOCIATE_AC: return EVT3;
	case DUL_PDU_ASSOCIATE_RJ: return EVT4;
	case DUL_PDU_P_DATA_TF: return EVT10;
	case DUL_PDU_RELEASE_RQ: return EVT12;
	case DUL_PDU_RELEASE_RP: return EVT13;
	case DUL_PDU_ABORT: return EVT16;
	default: return EVT19;
	}
}

static void conn_free(dul_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	pc_arena_destroy(c->arena);
	pc_free(c->buf);
	pc_free(c);
}

static dul_conn *conn_new(int fd, const struct dul_conn_opts *opts,
			  struct pc_err *err)
{
	dul_conn *c = pc_calloc(1, sizeof(*c));

	if (c == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	c->fd = fd;
	if (opts)
		c->opts = *opts;
	if (c->opts.max_pdu == 0)
		c->opts.max_pdu = DEFAULT_MAX_PDU;
	if (c->opts.artim_ms == 0)
		c->opts.artim_ms = DEFAULT_ARTIM_MS;
	if (c->opts.idle_ms == 0)
		c->opts.idle_ms = DEFAULT_IDLE_MS;
	if (c->opts.impl_class_uid == NULL)
		c->opts.impl_class_uid = DIMSE_IMPL_CLASS_UID;
	if (c->opts.impl_version == NULL)
		c->opts.impl_version = DIMSE_IMPL_VERSION;
	c->arena = pc_arena_create(8192);
	if (c->arena == NULL) {
		pc_free(c);
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	c->state = STA1;

	/* Small PDUs (responses, C-ECHO) must not wait for Nagle; writes to a
	 * peer that stops reading give up after the idle time. */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = {(time_t)(c->opts.idle_ms / 1000),
			     (suseconds_t)(c->opts.idle_ms % 1000) * 1000};
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64] = "?", port[16] = "?";
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		(void)getnameinfo((struct sockaddr *)&ss, sl, host,
				  sizeof(host), port, sizeof(port),
				  NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(c->peer, sizeof(c->peer), "%s:%s", host, port);
	snprintf(c->peer_host, sizeof(c->peer_host), "%s", host);
	return c;
}

/* Remembers what was negotiated, per presentation context id. */
static void index_contexts(dul_conn *c)
{
	for (size_t i = 0; i < c->rq.n_pcs; i++)
		c->as_by_id[c->rq.pcs[i].id] = c->rq.pcs[i].abstract_syntax;
	for (size_t i = 0; i < c->ac.n_pcs; i++) {
		const struct dul_pc *pc = &c->ac.pcs[i];
		if (pc->result == DUL_PC_ACCEPTANCE && pc->n_ts == 1 &&
		    c->as_by_id[pc->id] != NULL)
			c->ts_by_id[pc->id] = pc->ts[0];
	}
}

/* Our user information, filled into an RQ or AC we send. */
static void fill_user_info(dul_conn *c, struct dul_assoc *a)
{
	a->max_pdu = c->opts.max_pdu;
	a->impl_class_uid = c->opts.impl_class_uid;
	a->impl_version = c->opts.impl_version;
	if (a->app_context == NULL)
		a->app_context = APP_CONTEXT;
}

/*
 * The actions that end an association on a bad or unexpected PDU, or on a
 * timer. Returns the status dul_next reports.
 */
static enum pc_status run_abort_action(dul_conn *c, enum action a,
				       struct pc_err *err, const char *why)
{
	switch (a) {
	case AA_1: /* send A-ABORT, start ARTIM -> Sta13 */
	case AA_7:
		send_abort(c, a == AA_7, 0);
		close_transport(c);
		break;
	case AA_8: /* A-ABORT (provider), A-P-ABORT indication -> Sta13 */
		send_abort(c, true, 2 /* unexpected PDU */);
		close_transport(c);
		break;
	default: /* AA-2, AA-4, AA-5, AR-5: transport gone or closing */
		close_transport(c);
		break;
	}
	return pc_err_set(err, PC_PARSE, 0, "%s: %s", c->peer, why);
}

/* ---- acceptor ----------------------------------------------------------- */

static bool app_context_ok(const struct dul_assoc *rq)
{
	return rq->app_context != NULL &&
	       strcmp(rq->app_context, APP_CONTEXT) == 0;
}

dul_conn *dul_accept(int fd, const struct dul_conn_opts *opts,
		     dul_negotiate_fn negotiate, void *ctx,
		     struct pc_err *err)
{
	dul_conn *c = conn_new(fd, opts, err);
	struct pc_buf out = PC_BUF_INIT;
	uint8_t type;
	size_t len;

	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->state = STA2; /* AE-5: connection accepted, ARTIM started */
	enum rd r = read_pdu(c, c->opts.artim_ms, &type, &len, err);
	if (r == RD_TIMEOUT || r == RD_CLOSED) {
		/* Evt18 / Evt17 in Sta2: AA-2 / AA-5 */
		pc_err_set(err, PC_IO, 0,
			   "%s: no A-ASSOCIATE-RQ (%s)", c->peer,
			   r == RD_TIMEOUT ? "ARTIM expired"
					   : "connection closed");
		goto fail;
	}
	int ev = r == RD_INVALID ? EVT19 : event_of_type(type);
	enum action a = lookup(c, ev);
	if (a != AE_6) {
		run_abort_action(c, a, err,
				 "expected an A-ASSOCIATE-RQ first");
		goto fail;
	}
	/* AE-6: stop ARTIM, decide. */
	struct pc_err derr = {0};
	if (dul_assoc_decode(type, c->buf, len, c->arena, &c->rq, &derr) !=
	    PC_OK) {
		pc_err_set(err, derr.status, derr.offset, "%s: %s", c->peer,
			   derr.msg);
		send_abort(c, true, 6 /* invalid PDU parameter value */);
		goto fail;
	}
	struct dul_reject rj = {1, 1, 1};
	enum pc_status st;
	if ((c->rq.protocol_version & 1) == 0) {
		rj = (struct dul_reject){1, 2, 2}; /* protocol version */
		st = PC_STOP;
	} else if (!app_context_ok(&c->rq)) {
		rj = (struct dul_reject){1, 1, 2}; /* app context */
		st = PC_STOP;
	} else if (negotiate == NULL) {
		rj = (struct dul_reject){2, 3, 2}; /* local limit exceeded */
		st = PC_STOP;
	} else {
		c->ac.pcs = pc_arena_alloc(c->arena,
					   (c->rq.n_pcs ? c->rq.n_pcs : 1) *
						   sizeof(struct dul_pc));
		if (c->ac.pcs == NULL) {
			pc_err_set(err, PC_NOMEM, 0, "out of memory");
			send_abort(c, true, 0);
			goto fail;
		}
		memset(c->ac.pcs, 0, c->rq.n_pcs * sizeof(struct dul_pc));
		c->ac.n_pcs = c->rq.n_pcs;
		c->state = STA3;
		st = negotiate(ctx, c->arena, c->peer_host, &c->rq, &c->ac,
			       &rj);
	}
	if (st != PC_OK) {
		/* Evt8 AE-8 (or AE-6's own reject): send RJ -> Sta13, then
		 * the peer closes. */
		dul_reject_encode(&rj, &out);
		(void)send_buf(c, &out, NULL);
		pc_err_set(err, PC_STOP, 0,
			   "%s: association from \"%s\" to \"%s\" rejected "
			   "(result %u, source %u, reason %u)",
			   c->peer, c->rq.calling_ae, c->rq.called_ae,
			   rj.result, rj.source, rj.reason);
		c->state = STA13;
		(void)read_pdu(c, 1000, &type, &len, NULL);
		goto fail;
	}
	/* Evt7 AE-7: send AC -> Sta6. */
	memcpy(c->ac.called_ae, c->rq.called_ae, sizeof(c->ac.called_ae));
	memcpy(c->ac.calling_ae, c->rq.calling_ae, sizeof(c->ac.calling_ae));
	c->ac.protocol_version = 1;
	fill_user_info(c, &c->ac);
	dul_assoc_encode(DUL_PDU_ASSOCIATE_AC, &c->ac, &out);
	if (send_buf(c, &out, err) != PC_OK)
		goto fail;
	pc_buf_cleanup(&out);
	c->peer_max = c->rq.max_pdu;
	index_contexts(c);
	c->state = STA6;
	return c;
fail:
	pc_buf_cleanup(&out);
	conn_free(c);
	return NULL;
}

/* ---- requestor ---------------------------------------------------------- */

static int connect_to(const char *host, uint16_t port, unsigned timeout_ms,
		      struct pc_err *err)
{
	struct addrinfo hints = {0}, *res = NULL;
	char ps[8];
	int fd = -1;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	snprintf(ps, sizeof(ps), "%u", port);
	int gr = getaddrinfo(host, ps, &hints, &res);
	if (gr != 0) {
		pc_err_set(err, PC_IO, 0, "cannot resolve %s: %s", host,
			   gai_strerror(gr));
		return -1;
	}
	int last = 0;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		/* A connect that hangs is bounded by ARTIM too. */
		struct timeval tv = {(time_t)(timeout_ms / 1000),
				     (suseconds_t)(timeout_ms % 1000) * 1000};
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		pc_err_set(err, PC_IO, 0, "cannot connect to %s:%u: %s", host,
			   port, strerror(last));
	return fd;
}

dul_conn *dul_connect(const char *host, uint16_t port,
		      const struct dul_assoc *rq,
		      const struct dul_conn_opts *opts, struct pc_err *err)
{
	struct dul_conn_opts o = opts ? *opts : (struct dul_conn_opts){0};
	struct pc_buf out = PC_BUF_INIT;
	uint8_t type;
	size_t len;

	/* Evt1 AE-1: open the transport -> Sta4. */
	int fd = connect_to(host, port, o.artim_ms ? o.artim_ms
						   : DEFAULT_ARTIM_MS, err);
	if (fd < 0)
		return NULL;
	dul_conn *c = conn_new(fd, &o, err);
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->requestor = true;
	c->state = STA4;
	/* Evt2 AE-2: send the RQ -> Sta5. */
	c->rq = *rq;
	fill_user_info(c, &c->rq);
	dul_assoc_encode(DUL_PDU_ASSOCIATE_RQ, &c->rq, &out);
	if (send_buf(c, &out, err) != PC_OK)
		goto fail;
	c->state = STA5;
	enum rd r = read_pdu(c, c->opts.artim_ms, &type, &len, err);
	if (r == RD_TIMEOUT || r == RD_CLOSED) {
		pc_err_set(err, PC_IO, 0, "%s: no answer to A-ASSOCIATE-RQ (%s)",
			   c->peer, r == RD_TIMEOUT ? "timed out"
						    : "connection closed");
		goto fail;
	}
	int ev = r == RD_INVALID ? EVT19 : event_of_type(type);
	enum action a = lookup(c, ev);
	if (a == AE_4) {
		struct dul_reject rj = {0};
		if (dul_reject_decode(c->buf, len, &rj, err) == PC_OK)
			pc_err_set(err, PC_STOP, 0,
				   "%s rejected the association (result %u, "
				   "source %u, reason %u)", c->peer,
				   rj.result, rj.source, rj.reason);
		goto fail;
	}
	if (a == AA_3) {
		pc_err_set(err, PC_IO, 0, "%s aborted the association",
			   c->peer);
		goto fail;
	}
	if (a != AE_3) {
		run_abort_action(c, a, err, "unexpected answer to A-ASSOCIATE-RQ");
		goto fail;
	}
	struct pc_err derr = {0};
	if (dul_assoc_decode(type, c->buf, len, c->arena, &c->ac, &derr) !=
	    PC_OK) {
		pc_err_set(err, derr.status, 0, "%s: %s", c->peer, derr.msg);
		send_abort(c, true, 6);
		goto fail;
	}
	/* Copy the proposal into our arena: the caller's may not outlive us
	 * and index_contexts() points into it. */
	struct dul_pc *pcs = pc_arena_alloc(c->arena, (rq->n_pcs ? rq->n_pcs
								  : 1) *
							      sizeof(*pcs));
	if (pcs == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		send_abort(c, false, 0);
		goto fail;
	}
	for (size_t i = 0; i < rq->n_pcs; i++) {
		pcs[i] = rq->pcs[i];
		size_t n = strlen(rq->pcs[i].abstract_syntax) + 1;
		char *as = pc_arena_memdup(c->arena,
					   rq->pcs[i].abstract_syntax, n);
		if (as == NULL) {
			pc_err_set(err, PC_NOMEM, 0, "out of memory");
			send_abort(c, false, 0);
			goto fail;
		}
		pcs[i].abstract_syntax = as;
		pcs[i].ts = NULL; /* only the accepted one is kept */
		pcs[i].n_ts = 0;
	}
	c->rq.pcs = pcs;
	c->rq.roles = NULL;
	c->rq.n_roles = 0;
	c->rq.ext = NULL;
	c->rq.n_ext = 0;
	c->rq.other = NULL;
	c->rq.n_other = 0;
	c->peer_max = c->ac.max_pdu;
	index_contexts(c);
	c->state = STA6;
	pc_buf_cleanup(&out);
	return c;
fail:
	pc_buf_cleanup(&out);
	conn_free(c);
	return NULL;
}

/* ---- established association -------------------------------------------- */

enum pc_status dul_next(dul_conn *c, struct dul_event *ev, struct pc_err *err)
{
	for (;;) {
		uint8_t type = 0;
		size_t len = 0;
		if (c->fd < 0)
			return pc_err_set(err, PC_IO, 0,
					  "association with %s is closed",
					  c->peer);
		bool artim = c->state == STA2 || c->state == STA13 ||
			     c->state == STA7;
		struct pc_err rerr = {0};
		enum rd r = read_pdu(c, artim ? c->opts.artim_ms
					      : c->opts.idle_ms,
				     &type, &len, &rerr);
		if (r == RD_TIMEOUT) {
			/* The idle timeout is ours, not PS3.8's: end the
			 * association as a service user would (A-ABORT). */
			if (lookup(c, EVT18) == NONE)
				send_abort(c, false, 0);
			close_transport(c);
			return pc_err_set(err, PC_IO, 0,
					  "%s: no PDU for %u ms, association "
					  "aborted", c->peer,
					  artim ? c->opts.artim_ms
						: c->opts.idle_ms);
		}
		int e = r == RD_CLOSED    ? EVT17
			: r == RD_INVALID ? EVT19
					  : event_of_type(type);
		enum action a = lookup(c, e);
		switch (a) {
		case DT_2: /* P-DATA indication, stay in Sta6 */
		case AR_6: /* P-DATA while awaiting our release RP */
			ev->kind = DUL_EV_DATA;
			ev->body = c->buf;
			ev->n = len;
			return PC_OK;
		case AR_2: /* A-RELEASE indication -> Sta8 */
			c->state = STA8;
			ev->kind = DUL_EV_RELEASE;
			return PC_OK;
		case AR_3: /* release confirmed: close -> Sta1 */
			close_transport(c);
			ev->kind = DUL_EV_RELEASED;
			return PC_OK;
		case AR_8: /* release collision (PS3.8 9.2.4) */
			c->state = c->requestor ? STA9 : STA10;
			if (c->requestor) {
				/* Evt14 AR-9: answer first -> Sta11. */
				struct pc_buf b = PC_BUF_INIT;
				dul_release_encode(DUL_PDU_RELEASE_RP, &b);
				enum pc_status s = send_buf(c, &b, err);
				pc_buf_cleanup(&b);
				if (s != PC_OK) {
					close_transport(c);
					return s;
				}
				c->state = STA11;
			}
			continue;
		case AR_10: /* acceptor side of a collision -> Sta12 */
			c->state = STA12;
			ev->kind = DUL_EV_RELEASE;
			return PC_OK;
		case AA_3: {
			struct dul_abort ab = {0, 0};
			if (dul_abort_decode(c->buf, len, &ab, NULL) != PC_OK)
				ab = (struct dul_abort){2, 0};
			close_transport(c);
			ev->kind = DUL_EV_ABORTED;
			ev->abort = ab;
			return PC_OK;
		}
		case AA_6: /* ignore the PDU (Sta13) */
			continue;
		case AA_4:
		case AA_5:
		case AR_5:
			close_transport(c);
			return pc_err_set(err, PC_IO, 0,
					  "%s closed the connection", c->peer);
		case NONE:
			/* Not reachable for received PDUs: every cell of the
			 * PDU rows is filled for states 2-13. */
			close_transport(c);
			return pc_err_set(err, PC_PARSE, 0,
					  "%s: event %d in state %d", c->peer,
					  e, c->state);
		default:
			if (rerr.status == PC_LIMIT)
				pc_err_set(err, PC_LIMIT, 0, "%s: %s", c->peer,
					   rerr.msg);
			return run_abort_action(
				c, a, err,
				e == EVT19 ? "invalid PDU"
					   : "PDU not allowed in this state");
		}
	}
}

enum pc_status dul_send_pdv(dul_conn *c, uint8_t pc_id, bool command,
			    const void *p, size_t n, bool last,
			    struct pc_err *err)
{
	enum action a = lookup(c, EVT9);

	if (a != DT_1 && a != AR_7)
		return pc_err_set(err, PC_INVAL, 0,
				  "P-DATA in state %d", c->state);
	/* The peer's maximum bounds the PDU's variable field: one PDV of
	 * 4 + 2 header bytes and the data (PS3.8 9.3.5, D.1). 0 means no
	 * limit; we still cut at 1 MiB to keep writes reasonable. */
	size_t max = c->peer_max == 0 ? (1u << 20) : c->peer_max;
	size_t chunk = max > 6 ? max - 6 : 1;
	const uint8_t *q = p;

	do {
		size_t part = n < chunk ? n : chunk;
		bool final = last && part == n;
		uint8_t h[12];
		uint32_t pdu_len = (uint32_t)(part + 6);
		uint32_t pdv_len = (uint32_t)(part + 2);
		h[0] = DUL_PDU_P_DATA_TF;
		h[1] = 0;
		h[2] = (uint8_t)(pdu_len >> 24);
		h[3] = (uint8_t)(pdu_len >> 16);
		h[4] = (uint8_t)(pdu_len >> 8);
		h[5] = (uint8_t)pdu_len;
		h[6] = (uint8_t)(pdv_len >> 24);
		h[7] = (uint8_t)(pdv_len >> 16);
		h[8] = (uint8_t)(pdv_len >> 8);
		h[9] = (uint8_t)pdv_len;
		h[10] = pc_id;
		h[11] = (uint8_t)((command ? 1 : 0) | (final ? 2 : 0));
		struct iovec iov[2] = {{h, sizeof(h)}, {(void *)q, part}};
		enum pc_status st = send_all(c, iov, part ? 2 : 1, err);
		if (st != PC_OK) {
			close_transport(c);
			return st;
		}
		q += part;
		n -= part;
	} while (n > 0);
	return PC_OK;
}

enum pc_status dul_release(dul_conn *c, struct pc_err *err)
{
	struct pc_buf b = PC_BUF_INIT;
	struct dul_event ev;

	if (lookup(c, EVT11) != AR_1)
		return pc_err_set(err, PC_INVAL, 0, "A-RELEASE in state %d",
				  c->state);
	dul_release_encode(DUL_PDU_RELEASE_RQ, &b);
	enum pc_status st = send_buf(c, &b, err);
	pc_buf_cleanup(&b);
	if (st != PC_OK) {
		close_transport(c);
		return st;
	}
	c->state = STA7;
	for (;;) {
		st = dul_next(c, &ev, err);
		if (st != PC_OK)
			return st;
		if (ev.kind == DUL_EV_RELEASED)
			return PC_OK;
		if (ev.kind == DUL_EV_ABORTED)
			return pc_err_set(err, PC_IO, 0,
					  "%s aborted instead of releasing",
					  c->peer);
		if (ev.kind == DUL_EV_RELEASE) {
			/* Acceptor side of a collision (Sta12): answer. */
			return dul_release_respond(c, err);
		}
		/* DUL_EV_DATA while releasing: late responses, dropped. */
	}
}

enum pc_status dul_release_respond(dul_conn *c, struct pc_err *err)
{
	struct pc_buf b = PC_BUF_INIT;
	uint8_t type;
	size_t len;

	if (lookup(c, EVT14) != AR_4)
		return pc_err_set(err, PC_INVAL, 0,
				  "A-RELEASE response in state %d", c->state);
	dul_release_encode(DUL_PDU_RELEASE_RP, &b);
	enum pc_status st = send_buf(c, &b, err);
	pc_buf_cleanup(&b);
	/* AR-4 -> Sta13: the requestor closes; wait for it within ARTIM so
	 * that it, not we, ends in TIME_WAIT. */
	c->state = STA13;
	if (st == PC_OK)
		(void)read_pdu(c, c->opts.artim_ms, &type, &len, NULL);
	close_transport(c);
	return st;
}

void dul_abort(dul_conn *c, bool provider, uint8_t reason)
{
	if (c == NULL || c->fd < 0)
		return;
	if (lookup(c, EVT15) != NONE && c->state != STA4)
		send_abort(c, provider, reason);
	close_transport(c);
}

void dul_close(dul_conn *c)
{
	conn_free(c);
}

const struct dul_assoc *dul_conn_rq(const dul_conn *c)
{
	return &c->rq;
}

const struct dul_assoc *dul_conn_ac(const dul_conn *c)
{
	return &c->ac;
}

const char *dul_conn_ts(const dul_conn *c, uint8_t pc_id)
{
	return c->ts_by_id[pc_id];
}

const char *dul_conn_abstract(const dul_conn *c, uint8_t pc_id)
{
	return c->as_by_id[pc_id];
}

const char *dul_conn_peer(const dul_conn *c)
{
	return c->peer;
}

bool dul_conn_readable(const dul_conn *c)
{
	struct pollfd p = {c->fd, POLLIN, 0};

	return c->fd >= 0 && poll(&p, 1, 0) > 0;
}

bool dul_conn_established(const dul_conn *c)
{
	return c->fd >= 0 && c->state == STA6;
}

int dul_conn_state(const dul_conn *c)
{
	return c->state;
}
