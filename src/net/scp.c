/*
 * scp.c - the DIMSE service provider: listener, one thread per
 * association, presentation context negotiation, and the dispatch of each
 * command to its service handler (C-ECHO here, the others in scp_*.c).
 *
 * DESIGN
 * An association is a conversation of a few messages to hours of C-STORE;
 * its handlers block on the network, the disk and the index, so each gets
 * its own thread (PS3.8 allows one per association and nothing is gained by
 * multiplexing them). The number of live associations is bounded
 * (MAX_ASSOCIATIONS): beyond it a connection is still read for its
 * A-ASSOCIATE-RQ, by a thread of its own, and rejected with "transient,
 * local limit exceeded" (PS3.8 9.3.4), so that a flood of connections gets
 * a DICOM answer rather than a silent close; past a second bound the
 * socket is closed at once. Stopping closes the listener, waits for the
 * associations to end, then shuts their sockets down.
 */
#include "net/net_int.h"

#include "dicom/dcm.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ASSOCIATIONS 100
#define MAX_REJECTING 64     /* threads answering over-limit connections */

#define TS_IMPLICIT_LE "1.2.840.10008.1.2"
#define TS_EXPLICIT_LE "1.2.840.10008.1.2.1"

struct live {                /* one association's socket, for stop() */
	int fd;
	struct live *next, *prev;
};

struct dimse_server {
	struct dimse_services svc;
	int listen_fd;
	int wake[2];             /* pipe: wakes the listener to stop */
	pthread_t listener;
	pthread_mutex_t mu;
	pthread_cond_t idle;     /* signalled when an association ends */
	unsigned active;         /* associations being served */
	unsigned rejecting;      /* over-limit connections being answered */
	bool stopping;
	struct live *lives;      /* sockets of live associations */
};

struct conn_job {
	dimse_server *srv;
	int fd;
	bool over_limit;
	struct live live;
};

/* ---- negotiation -------------------------------------------------------- */

/* Handlers of the Query/Retrieve services (PS3.4 C.4): FIND, MOVE, GET. */
static const struct {
	const char *uid;
	scp_handler_fn fn;
} qr_services[] = {
	{NET_PATIENT_ROOT_FIND, scp__find}, {NET_STUDY_ROOT_FIND, scp__find},
	{NET_PATIENT_ROOT_MOVE, scp__move}, {NET_STUDY_ROOT_MOVE, scp__move},
	{NET_PATIENT_ROOT_GET, scp__get},  {NET_STUDY_ROOT_GET, scp__get},
};

static scp_handler_fn qr_handler(const char *uid)
{
	for (size_t i = 0; i < sizeof(qr_services) / sizeof(*qr_services); i++)
		if (strcmp(qr_services[i].uid, uid) == 0)
			return qr_services[i].fn;
	return NULL;
}

const struct net_sop_class *net__storage_class_find(const char *uid)
{
	size_t lo = 0, hi = net_storage_class_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(uid, net_storage_classes[mid].uid);
		if (c == 0)
			return &net_storage_classes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The first proposed syntax among `accept` (in the proposer's order). */
static const char *pick_ts(const struct dul_pc *pc, bool any_known)
{
	for (size_t i = 0; i < pc->n_ts; i++) {
		const char *ts = pc->ts[i];
		if (strcmp(ts, TS_EXPLICIT_LE) == 0 ||
		    strcmp(ts, TS_IMPLICIT_LE) == 0)
			return ts;
		if (any_known) {
			const struct dcm_ts *t = dcm_ts_find(ts, strlen(ts));
			/* Big endian is retired and never needed: a sender
			 * proposing it proposes a little-endian one too. */
			if (t != NULL && !t->big_endian)
				return ts;
		}
	}
	return NULL;
}

static enum pc_status negotiate(void *ctx, pc_arena *arena,
				const char *peer_host,
				const struct dul_assoc *rq,
				struct dul_assoc *ac, struct dul_reject *rj)
{
	const dimse_server *srv = ctx;

	if (!pc_config_ae_allowed(srv->svc.cfg, rq->calling_ae, peer_host)) {
		/* PS3.8 9.3.4: permanent, service user, calling AE title not
		 * recognized. */
		*rj = (struct dul_reject){1, 1, 3};
		return PC_STOP;
	}

	for (size_t i = 0; i < rq->n_pcs; i++) {
		const struct dul_pc *p = &rq->pcs[i];
		struct dul_pc *a = &ac->pcs[i];
		bool storage = net__storage_class_find(p->abstract_syntax) !=
			       NULL;
		bool known = storage ||
			     strcmp(p->abstract_syntax, NET_VERIFICATION) ==
				     0 ||
			     qr_handler(p->abstract_syntax) != NULL;
		a->id = p->id;
		if (!known) {
			a->result = DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED;
			continue;
		}
		const char *ts = pick_ts(p, storage);
		if (ts == NULL) {
			a->result = DUL_PC_TRANSFER_SYNTAXES_NOT_SUPPORTED;
			continue;
		}
		const char **one = pc_arena_alloc(arena, sizeof(*one));
		if (one == NULL)
			return PC_NOMEM;
		*one = ts;
		a->result = DUL_PC_ACCEPTANCE;
		a->ts = one;
		a->n_ts = 1;
	}
	/* SCP/SCU role selection (PS3.7 D.3.3.4): a C-GET requestor asks to
	 * be SCP of the storage classes; we agree to what it proposes for
	 * classes we store, as the standard lets the acceptor do. */
	if (rq->n_roles > 0) {
		ac->roles = pc_arena_alloc(arena,
					   rq->n_roles * sizeof(*ac->roles));
		if (ac->roles == NULL)
			return PC_NOMEM;
		for (size_t i = 0; i < rq->n_roles; i++) {
			ac->roles[ac->n_roles] = rq->roles[i];
			ac->n_roles++;
		}
	}
	/* With no context accepted the association is still accepted, as
	 * PS3.8 allows: the peer learns per context why (result 3 or 4). */
	return PC_OK;
}

/* ---- responses and C-ECHO ----------------------------------------------- */

void scp__response(const struct dimse_cmd *rq, uint16_t status,
		   struct dimse_cmd *rsp)
{
	memset(rsp, 0, sizeof(*rsp));
	rsp->command = (uint16_t)(rq->command | 0x8000);
	rsp->data_set_type = DIMSE_NO_DATA_SET;
	rsp->present = DIMSE_F_MESSAGE_ID_RSP | DIMSE_F_STATUS;
	rsp->message_id_rsp = rq->message_id;
	rsp->status = status;
	if (rq->present & DIMSE_F_AFFECTED_CLASS) {
		rsp->present |= DIMSE_F_AFFECTED_CLASS;
		memcpy(rsp->affected_class, rq->affected_class,
		       sizeof(rsp->affected_class));
	}
	if (rq->present & DIMSE_F_AFFECTED_INSTANCE) {
		rsp->present |= DIMSE_F_AFFECTED_INSTANCE;
		memcpy(rsp->affected_instance, rq->affected_instance,
		       sizeof(rsp->affected_instance));
	}
}

/* PS3.7 9.3.5: C-ECHO answers Success; a data set would be an error. */
static enum pc_status scp_echo(struct scp_assoc *a, const struct dimse_cmd *cmd,
			       uint8_t pc_id, struct pc_err *err)
{
	struct dimse_cmd rsp;
	uint16_t status = DIMSE_SUCCESS;

	if (dimse_cmd_has_data(cmd)) {
		if (dimse_recv_discard(&a->rd, pc_id, err) !=
		    PC_OK)
			return err ? err->status : PC_IO;
		status = DIMSE_CANNOT_UNDERSTAND;
	}
	scp__response(cmd, status, &rsp);
	return dimse_send(a->conn, pc_id, &rsp, NULL, 0, err);
}

/* A command we do not serve: read its data set, answer "unrecognized
 * operation" (0x0211, PS3.7 C.4.2), keep the association. */
static enum pc_status scp_unsupported(struct scp_assoc *a,
				      const struct dimse_cmd *cmd,
				      uint8_t pc_id, struct pc_err *err)
{
	struct dimse_cmd rsp;

	if (dimse_cmd_has_data(cmd) &&
	    dimse_recv_discard(&a->rd, pc_id, err) != PC_OK)
		return err ? err->status : PC_IO;
	scp__response(cmd, 0x0211, &rsp);
	return dimse_send(a->conn, pc_id, &rsp, NULL, 0, err);
}

static scp_handler_fn handler_for(const struct dimse_cmd *cmd,
				  const char *abstract)
{
	switch (cmd->command) {
	case DIMSE_C_ECHO_RQ:
		return strcmp(abstract, NET_VERIFICATION) == 0 ? scp_echo
							       : NULL;
	case DIMSE_C_STORE_RQ:
		return net__storage_class_find(abstract) ? scp__store : NULL;
	case DIMSE_C_FIND_RQ:
	case DIMSE_C_MOVE_RQ:
	case DIMSE_C_GET_RQ:
		return qr_handler(abstract);
	default:
		return NULL;
	}
}

/* ---- one association ---------------------------------------------------- */

static void serve_association(dimse_server *srv, dul_conn *conn)
{
	struct scp_assoc a = {0};
	struct pc_err err = {0};
	unsigned count = 0;

	a.conn = conn;
	a.svc = &srv->svc;
	a.calling_ae = dul_conn_rq(conn)->calling_ae;
	a.peer = dul_conn_peer(conn);
	dimse_reader_init(&a.rd, conn);
	pc_log(PC_LOG_INFO, "dimse: association from \"%s\" at %s to \"%s\"",
	       a.calling_ae, a.peer, dul_conn_rq(conn)->called_ae);

	for (;;) {
		struct dimse_cmd cmd;
		uint8_t pc_id = 0;
		enum dimse_next next;
		pc_err_clear(&err);
		if (dimse_recv_command(&a.rd, &cmd, &pc_id, &next, &err) !=
		    PC_OK) {
			pc_log(PC_LOG_WARN, "dimse: %s", err.msg);
			break;
		}
		if (next == DIMSE_NEXT_RELEASE) {
			if (dul_release_respond(conn, &err) != PC_OK)
				pc_log(PC_LOG_WARN, "dimse: %s: release: %s",
				       a.peer, err.msg);
			pc_log(PC_LOG_INFO,
			       "dimse: association from \"%s\" released after "
			       "%u messages", a.calling_ae, count);
			break;
		}
		if (next == DIMSE_NEXT_ABORTED) {
			pc_log(PC_LOG_INFO, "dimse: \"%s\" aborted", a.calling_ae);
			break;
		}
		count++;
		if (cmd.command == DIMSE_C_CANCEL_RQ)
			continue; /* nothing in progress to cancel */
		const char *abstract = dul_conn_abstract(conn, pc_id);
		scp_handler_fn fn = handler_for(&cmd, abstract ? abstract : "");
		if (fn == NULL)
			fn = scp_unsupported;
		if (fn(&a, &cmd, pc_id, &err) != PC_OK) {
			pc_log(PC_LOG_WARN, "dimse: %s %s: %s", a.peer,
			       dimse_command_name(cmd.command), err.msg);
			dul_abort(conn, true, 0);
			break;
		}
	}
	dimse_reader_cleanup(&a.rd);
}

static void live_add(dimse_server *srv, struct live *l)
{
	l->prev = NULL;
	l->next = srv->lives;
	if (srv->lives)
		srv->lives->prev = l;
	srv->lives = l;
}

static void live_remove(dimse_server *srv, struct live *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		srv->lives = l->next;
	if (l->next)
		l->next->prev = l->prev;
}

static void *conn_thread(void *arg)
{
	struct conn_job *job = arg;
	dimse_server *srv = job->srv;
	struct pc_err err = {0};

	if (job->over_limit) {
		/* Read the RQ and answer "transient, local limit exceeded"
		 * (PS3.8 9.3.4: result 2, source 3, reason 2). */
		dul_conn *c = dul_accept(job->fd, NULL,
					 /* reject everything */
					 NULL, NULL, &err);
		dul_close(c);
	} else {
		dul_conn *c = dul_accept(job->fd, NULL, negotiate, srv, &err);
		if (c == NULL) {
			if (err.status != PC_STOP)
				pc_log(PC_LOG_WARN, "dimse: %s", err.msg);
			else
				pc_log(PC_LOG_INFO, "dimse: %s", err.msg);
		} else {
			serve_association(srv, c);
			dul_close(c);
		}
	}
	pthread_mutex_lock(&srv->mu);
	if (job->over_limit) {
		srv->rejecting--;
	} else {
		srv->active--;
		live_remove(srv, &job->live);
	}
	pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->mu);
	pc_free(job);
	return NULL;
}

static void *listener_thread(void *arg)
{
	dimse_server *srv = arg;

	for (;;) {
		struct pollfd p[2] = {{srv->listen_fd, POLLIN, 0},
				      {srv->wake[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pc_log(PC_LOG_ERROR, "dimse: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ECONNABORTED) {
				pc_log(PC_LOG_WARN, "dimse: accept: %s",
				       strerror(errno));
				/* EMFILE and friends: do not spin. */
				struct timespec ts = {0, 50 * 1000000};
				nanosleep(&ts, NULL);
			}
			continue;
		}
		struct conn_job *job = pc_calloc(1, sizeof(*job));
		if (job == NULL) {
			close(fd);
			continue;
		}
		job->srv = srv;
		job->fd = fd;
		job->live.fd = fd;
		pthread_mutex_lock(&srv->mu);
		if (srv->active < MAX_ASSOCIATIONS) {
			srv->active++;
			live_add(srv, &job->live);
		} else if (srv->rejecting < MAX_REJECTING) {
			srv->rejecting++;
			job->over_limit = true;
		} else {
			pthread_mutex_unlock(&srv->mu);
			pc_log(PC_LOG_WARN, "dimse: too many connections, "
			       "closing one");
			close(fd);
			pc_free(job);
			continue;
		}
		pthread_mutex_unlock(&srv->mu);

		pthread_attr_t attr;
		pthread_t t;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 512 * 1024);
		int rc = pthread_create(&t, &attr, conn_thread, job);
		pthread_attr_destroy(&attr);
		if (rc != 0) {
			pc_log(PC_LOG_WARN, "dimse: cannot start a thread: %s",
			       strerror(rc));
			pthread_mutex_lock(&srv->mu);
			if (job->over_limit) {
				srv->rejecting--;
			} else {
				srv->active--;
				live_remove(srv, &job->live);
			}
			pthread_mutex_unlock(&srv->mu);
			close(fd);
			pc_free(job);
		}
	}
	return NULL;
}

/* ---- start / stop ------------------------------------------------------- */

static int listen_on(const struct pc_config_addr *addr, struct pc_err *err)
{
	struct addrinfo hints = {0}, *res = NULL;
	char port[8];
	int fd = -1, last = 0;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", addr->port);
	int gr = getaddrinfo(addr->host[0] ? addr->host : NULL, port, &hints,
			     &res);
	if (gr != 0) {
		pc_err_set(err, PC_IO, 0, "cannot resolve %s: %s", addr->host,
			   gai_strerror(gr));
		return -1;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last = errno;
			continue;
		}
		int one = 1;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 256) == 0)
			break;
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		pc_err_set(err, PC_IO, 0, "cannot listen on %s:%u: %s",
			   addr->host, addr->port, strerror(last));
	return fd;
}

dimse_server *dimse_server_start(const struct dimse_services *svc,
				 struct pc_err *err)
{
	dimse_server *srv = pc_calloc(1, sizeof(*srv));

	if (srv == NULL) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	srv->svc = *svc;
	srv->wake[0] = srv->wake[1] = -1;
	srv->listen_fd = listen_on(&svc->cfg->dicom, err);
	if (srv->listen_fd < 0)
		goto fail;
	if (pipe2(srv->wake, O_CLOEXEC) != 0) {
		pc_err_set(err, PC_IO, 0, "pipe: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&srv->mu, NULL);
	pthread_cond_init(&srv->idle, NULL);
	if (pthread_create(&srv->listener, NULL, listener_thread, srv) != 0) {
		pc_err_set(err, PC_IO, 0, "cannot start the DICOM listener");
		pthread_mutex_destroy(&srv->mu);
		pthread_cond_destroy(&srv->idle);
		goto fail;
	}
	return srv;
fail:
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->wake[0] >= 0) {
		close(srv->wake[0]);
		close(srv->wake[1]);
	}
	pc_free(srv);
	return NULL;
}

static bool wait_idle(dimse_server *srv, unsigned ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	while (srv->active + srv->rejecting > 0)
		if (pthread_cond_timedwait(&srv->idle, &srv->mu, &dl) != 0)
			return false;
	return true;
}

void dimse_server_stop(dimse_server *srv, unsigned grace_ms)
{
	if (srv == NULL)
		return;
	char c = 1;
	if (write(srv->wake[1], &c, 1) < 0)
		pc_log(PC_LOG_WARN, "dimse: waking the listener: %s",
		       strerror(errno));
	pthread_join(srv->listener, NULL);
	close(srv->listen_fd);

	pthread_mutex_lock(&srv->mu);
	srv->stopping = true;
	if (!wait_idle(srv, grace_ms)) {
		/* Shut the remaining sockets down: their threads see the
		 * connection close and end. */
		for (struct live *l = srv->lives; l; l = l->next)
			shutdown(l->fd, SHUT_RDWR);
		/* The threads end as soon as their reads fail; the server
		 * must not be freed under them. */
		while (!wait_idle(srv, 1000))
			pc_log(PC_LOG_WARN, "dimse: waiting for %u "
			       "associations to end", srv->active);
	}
	pthread_mutex_unlock(&srv->mu);
	pthread_mutex_destroy(&srv->mu);
	pthread_cond_destroy(&srv->idle);
	close(srv->wake[0]);
	close(srv->wake[1]);
	pc_free(srv);
}
