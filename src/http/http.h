/*
 * http.h - the HTTP face of pacsd: libmicrohttpd glue, routing, errors,
 * CORS, request logs, and the APIs served through it (the seed REST API in
 * rest.c, DICOMweb in dicomweb.c).
 *
 * Thread-safety: one server per process; start and stop from one thread.
 */
#ifndef PACSD_HTTP_HTTP_H
#define PACSD_HTTP_HTTP_H

#include "core/config.h"
#include "core/pc.h"
#include "index/idx.h"
#include "ingest/ingest.h"
#include "store/blob.h"

/* The services a server calls; all borrowed and outliving the server. */
struct http_services {
	const struct pc_config *cfg;
	blob_store *store;
	idx *index;
	ingest *ingest;
};

typedef struct http_server http_server;

/*
 * Starts listening on cfg->http and serving on the server's own threads.
 * Returns NULL with the cause (PC_IO "cannot listen on 127.0.0.1:8080:
 * Address already in use") before anything listens when it cannot start.
 */
http_server *http_server_start(const struct http_services *svc,
			       struct pc_err *err) PC_WUR;

/*
 * Graceful stop: stops accepting, lets requests in flight finish (up to
 * `grace_ms`, then closes what remains), frees the server. NULL is a no-op.
 */
void http_server_stop(http_server *srv, unsigned grace_ms);

#endif
