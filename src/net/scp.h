/*
 * scp.h - the DICOM network service of `pacsd serve`: listens on
 * cfg->dicom, accepts associations for our AE title, and answers C-ECHO,
 * C-STORE (through the one ingest path), C-FIND, C-MOVE and C-GET.
 *
 * Thread-safety: one server per process; start and stop from one thread.
 */
#ifndef PACSD_NET_SCP_H
#define PACSD_NET_SCP_H

#include "core/config.h"
#include "core/pc.h"
#include "index/idx.h"
#include "ingest/ingest.h"
#include "store/blob.h"

/* The services the SCP calls; all borrowed and outliving the server. */
struct dimse_services {
	const struct pc_config *cfg;
	blob_store *store;
	idx *index;
	ingest *ingest;
};

typedef struct dimse_server dimse_server;

/* Starts listening. NULL with the cause (PC_IO naming the address) when it
 * cannot. */
dimse_server *dimse_server_start(const struct dimse_services *svc,
				 struct pc_err *err) PC_WUR;
/* Stops accepting, lets associations finish for up to `grace_ms`, then
 * aborts the rest and frees. NULL is a no-op. */
void dimse_server_stop(dimse_server *srv, unsigned grace_ms);

#endif
